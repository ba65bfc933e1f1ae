#pragma once
// Raw records as sources deliver them, in batches. A RecordBatch owns the bytes of its records,
// each followed by kRecordPadding zero bytes so parsers (simdjson) may read past the end.
//
// Thread-safety: a batch is filled by one thread (the source), then read by many.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tuttle/engine/time.h"

namespace tuttle {

// Bytes readable past the end of each record (at least SIMDJSON_PADDING).
inline constexpr size_t kRecordPadding = 64;

// Where a record came from: a Kafka topic partition and offset, or a file and line (partition -1).
struct SourcePosition {
  std::string source;  // topic name, or file path ("-" for stdin)
  int32_t partition = -1;
  int64_t offset = -1;  // Kafka offset, or 1-based line number

  friend bool operator==(const SourcePosition&, const SourcePosition&) = default;
};

struct RecordMeta {
  uint32_t source = 0;      // index into RecordBatch::sources()
  int32_t partition = -1;   // -1 for files
  int64_t offset = -1;      // Kafka offset or 1-based line number
  TimeNs transport_time = kNoTime;  // Kafka message timestamp; a fallback when the record has none
  // The record's format when the configuration pins it for the record's topic or file (an id of
  // the parser's formats, e.g. ingest::JsonRecordParser::FormatId); 0: detect it.
  uint16_t format = 0;
  // The tenant the configuration fixes for the record's topic or file (an id of the parser's
  // tenants, e.g. ingest::JsonRecordParserOptions::tenants, 1-based); 0: the record's own.
  uint16_t tenant = 0;
};

// A change in the set of streams a source reads, which watermarks follow:
//   kAssigned  the source now reads stream (source, partition), e.g. a Kafka partition assigned
//              to this consumer: the watermark waits for its records (or for it to go idle);
//   kIdle      the stream has no more records for now (Kafka partition EOF) or for good (end of
//              file): it stops holding the watermark back until its next record;
//   kRevoked   the source no longer reads the stream (a Kafka partition moved elsewhere).
struct StreamEvent {
  enum class Kind : uint8_t { kAssigned, kIdle, kRevoked };
  uint32_t source = 0;
  int32_t partition = -1;
  Kind kind = Kind::kIdle;
  uint32_t before_record = 0;  // position in the batch: set by RecordBatch::AddStreamEvent
  // kIdle from Kafka: the partition's end (the offset the next record will get), -1 unknown.
  int64_t end_offset = -1;
};

// A record that its source (a decorator such as the CRI assembler) could not turn into a record
// for the parser: the pipeline dead-letters it with this reason, at this position.
struct RejectedRecord {
  RecordMeta meta;
  std::string reason;  // for humans: "truncated CRI sequence: ..."
  std::string bytes;   // the raw input, for re-drive
};

class RecordBatch {
 public:
  void Clear();

  // Returns the index of `name` in sources(), adding it if new.
  uint32_t InternSource(std::string_view name);
  const std::vector<std::string>& sources() const { return sources_; }

  // Copies `bytes` into the batch, followed by zero padding.
  void Add(std::string_view bytes, const RecordMeta& meta);
  // Notes a stream change after the records added so far.
  void AddStreamEvent(StreamEvent event) {
    event.before_record = static_cast<uint32_t>(metas_.size());
    stream_events_.push_back(event);
  }
  void SetStreamEvents(std::vector<StreamEvent> events) { stream_events_ = std::move(events); }
  // Notes input the source could not read; the pipeline dead-letters it with `reason`.
  void Reject(std::string_view bytes, const RecordMeta& meta, std::string reason) {
    rejected_.push_back(RejectedRecord{meta, std::move(reason), std::string(bytes)});
  }
  const std::vector<RejectedRecord>& rejected() const { return rejected_; }
  // Adds the rejected input of `from` (a decorated source's batch), its sources interned here.
  void RejectAllOf(const RecordBatch& from) {
    for (const RejectedRecord& r : from.rejected_) {
      RecordMeta m = r.meta;
      m.source = InternSource(from.sources()[r.meta.source]);
      Reject(r.bytes, m, r.reason);
    }
  }

  size_t size() const { return metas_.size(); }
  bool empty() const { return metas_.empty(); }
  // The record's bytes; data()[size()] .. data()[size() + kRecordPadding - 1] are readable zeros.
  std::string_view bytes(size_t i) const {
    return std::string_view(arena_.data() + offsets_[i], lengths_[i]);
  }
  const RecordMeta& meta(size_t i) const { return metas_[i]; }
  SourcePosition Position(size_t i) const;
  const std::vector<StreamEvent>& stream_events() const { return stream_events_; }
  size_t byte_size() const { return arena_.size(); }

  // Set by the source on the last batch of a finite input.
  bool end_of_input = false;
  // Sequence number assigned by the pipeline.
  uint64_t sequence = 0;

 private:
  std::vector<char> arena_;
  std::vector<size_t> offsets_;
  std::vector<uint32_t> lengths_;
  std::vector<RecordMeta> metas_;
  std::vector<std::string> sources_;
  std::vector<StreamEvent> stream_events_;
  std::vector<RejectedRecord> rejected_;
};

}  // namespace tuttle
