#pragma once
// CriAssembler: turns CRI container log lines into JSON records for the JSON parser, joining the
// partial lines (tag P) of one stream until its F line.
//
// A stream is (source, partition, stdout|stderr): a file's stdout and stderr, or a Kafka topic
// partition's. Lines must be fed in their order within each stream, so the assembler runs where
// record order is known: in the serial read stage (CriLogSource wraps a RecordSource with one).
//
// Each finished message becomes one record (docs/formats.md, "CRI container logs"):
//
//   {"format":"cri","time":"<first line's timestamp>","stream":"stdout","log":"<message>",
//    "lines":<CRI lines joined>,
//    "kubernetes":{"pod_name":..,"namespace_name":..,"container_name":..,"container_id":..},
//    "json":{<the message, when it is a JSON object>}}
//
// ("kubernetes" only when the source is a file named like /var/log/containers/*.log.) The record
// takes the position (source, partition, offset) of its last line, so committing it covers all
// its lines.
//
// Bad input is rejected into the output batch (RecordBatch::Reject), with its reason: a line
// that is not CRI, a bad timestamp, invalid UTF-8, a message over the size limit, or a truncated
// sequence (P lines cut off by the end of input or by the size limit; its position is that of
// its first line).
//
// Thread-safety: none; one assembler per source, used from one thread at a time.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tuttle/engine/record.h"
#include "tuttle/ingest/cri_log.h"

namespace tuttle::ingest {

namespace internal {
class JsonObjectChecker;
}

struct CriAssemblerOptions {
  // Largest message, in bytes, after joining partial lines; a sequence that grows past it is
  // rejected as truncated and the rest of it, up to its F line, dropped. Default: 1 MiB.
  size_t max_message_bytes = 1u << 20;
  // Add the "kubernetes" object read from /var/log/containers/<pod>_<ns>_<container>-<id>.log
  // file names (sources with partition -1). Default: true.
  bool container_from_path = true;
  // Parse a message that is a JSON object into the record's "json" field. Default: true.
  bool parse_json_messages = true;
};

class CriAssembler {
 public:
  explicit CriAssembler(CriAssemblerOptions options = {});
  ~CriAssembler();
  CriAssembler(const CriAssembler&) = delete;
  CriAssembler& operator=(const CriAssembler&) = delete;

  // Reads one CRI line from stream (source, meta.partition) at meta.offset, and adds to `out`
  // the record it completes, if any, or rejects it. meta.source is ignored: `source` is interned
  // into `out`.
  void AddLine(std::string_view source, std::string_view line, const RecordMeta& meta,
               RecordBatch& out);

  // The stream has ended for good (end of file): its unfinished sequences are rejected as
  // truncated.
  void EndStream(std::string_view source, int32_t partition, RecordBatch& out);
  // The stream is no longer read here (a revoked Kafka partition): its unfinished sequences are
  // forgotten without error (whoever reads the partition next resumes before them, see
  // CommitLimit).
  void DropStream(std::string_view source, int32_t partition);
  // End of input: every unfinished sequence is rejected as truncated.
  void EndAll(RecordBatch& out);

  // Unfinished sequences held.
  size_t pending() const { return pending_.size(); }

  // For Kafka streams (partition >= 0): the offset up to which (source, partition) may be
  // committed when the pipeline has processed every record up to `offset`: just before the first
  // line of a sequence that was still unfinished when that record was emitted. Forgets sequences
  // that end at or before the result.
  int64_t CommitLimit(std::string_view source, int32_t partition, int64_t offset);

 private:
  struct Pending {
    std::string source;
    int32_t partition = -1;
    bool is_stderr = false;
    int64_t first_offset = -1;
    int64_t last_offset = -1;
    TimeNs transport_time = kNoTime;
    uint16_t tenant = 0;  // RecordMeta::tenant of its lines (one per source)
    std::string timestamp;  // of the first line
    std::string message;
    size_t lines = 0;
    bool discarding = false;  // over the limit: already rejected, dropping lines up to the F line
  };
  // A sequence of a Kafka stream: [first, last], last = INT64_MAX while unfinished.
  struct Span {
    int64_t first;
    int64_t last;
  };
  using StreamKey = std::pair<std::string, int32_t>;

  void MakeKey(std::string_view source, int32_t partition, bool is_stderr);
  void Emit(std::string_view source, int32_t partition, int64_t offset, TimeNs transport_time,
            uint16_t tenant, std::string_view timestamp, bool is_stderr, std::string_view message,
            size_t lines, RecordBatch& out);
  void RejectTruncated(const Pending& p, std::string_view why, RecordBatch& out);
  void OpenSpan(std::string_view source, int32_t partition, int64_t first);
  void CloseSpan(std::string_view source, int32_t partition, int64_t first, int64_t last);

  CriAssemblerOptions options_;
  std::unordered_map<std::string, Pending> pending_;
  std::map<StreamKey, std::vector<Span>> spans_;
  std::string key_;     // scratch: the stream key of the current line
  std::string record_;  // scratch: the record being written
  std::unique_ptr<internal::JsonObjectChecker> json_;
  // The last source whose file name was read, and what it said.
  std::string path_source_;
  std::string path_kubernetes_;  // ,"kubernetes":{...} or empty
};

}  // namespace tuttle::ingest
