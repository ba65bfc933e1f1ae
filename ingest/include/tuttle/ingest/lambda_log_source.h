#pragma once
// LambdaLogSource: a RecordSource decorator that turns AWS Lambda logs read by another source
// into JSON records (LambdaLogConverter; docs/formats.md, "AWS Lambda logs"). Each input record
// is one of:
//
//   - a CloudWatch Logs subscription envelope
//       {"messageType": "DATA_MESSAGE", "owner": "<account>", "logGroup": "/aws/lambda/<function>",
//        "logStream": ..., "logEvents": [{"id": ..., "timestamp": <ms>, "message": ...}, ...]}
//     which becomes one record per log event, each at the envelope's position, carrying the
//     function name, owner, log group and stream, event id and time. CONTROL_MESSAGE envelopes
//     (the subscription's health checks) become nothing. The envelope may be gzip-compressed
//     (as subscriptions deliver it to Kinesis, Firehose and Lambda), several gzip members back
//     to back (Firehose), and the gzip bytes base64-encoded; decompressed, it may be at most
//     max_decompressed_bytes long;
//   - a Lambda platform event {"time", "type": "platform.*", "record": {...}} (JSON log format,
//     Telemetry API);
//   - a text line (START, END, REPORT, INIT_START, application logs), with an optional leading
//     RFC 3339 time;
//   - any other JSON object, passed through unchanged for the JSON parser's own formats.
//
// Why a decorator: one envelope becomes several records, and a RecordBatch is the place where
// records are counted, positioned and hashed; the parser's one-record-many-events path would
// give all events of an envelope the envelope's bytes and id. Conversion is cheap next to
// parsing (see bench/), so running it in the serial read stage costs little.
//
// An input that cannot be read (an envelope that is not JSON or lacks its fields, malformed or
// over-large gzip, a REPORT line with a non-number, ...) is rejected into the batch with its reason, which the
// pipeline dead-letters; a bad log event of an envelope is rejected alone, the others are kept.
//
// Thread-safety: as for any RecordSource; Stop() is safe from any thread.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "tuttle/engine/record_source.h"
#include "tuttle/ingest/lambda_log.h"

namespace tuttle::ingest {

namespace internal {
struct LambdaEnvelopeDom;
}

struct LambdaLogSourceOptions {
  // Which sources (file paths, Kafka topics) hold Lambda logs; records of the others pass
  // through unchanged. Empty: all of them.
  std::function<bool(std::string_view source)> applies_to;
  // The longest a gzip-compressed input may be once decompressed (all its members together), in
  // bytes; longer ones (decompression bombs among them) are rejected as "record too large:
  // decompressed ...". Default: 16 MiB; `tuttle` sets 16 times --max-record-bytes.
  size_t max_decompressed_bytes = size_t{16} << 20;
};

class LambdaLogSource final : public RecordSource {
 public:
  explicit LambdaLogSource(std::unique_ptr<RecordSource> inner,
                           LambdaLogSourceOptions options = {});
  ~LambdaLogSource() override;

  Result<bool> Next(RecordBatch& batch) override;
  Status Commit(const std::vector<SourcePosition>& positions) override {
    return inner_->Commit(positions);
  }
  void Stop() override { inner_->Stop(); }
  bool Stopped() const override { return inner_->Stopped(); }

  // Converts one input record (envelope, platform event or line) into `out`, for callers that
  // frame records themselves (and for the fuzz target and benchmarks). `meta.source` must be an
  // index into `out`.
  void Convert(std::string_view bytes, const RecordMeta& meta, RecordBatch& out);

 private:
  // Decompresses gzip members (`gzip`, from the input `original`) and converts each.
  void ConvertGzip(std::string_view gzip, std::string_view original, const RecordMeta& meta,
                   RecordBatch& out);
  // Converts uncompressed input.
  void ConvertPlain(std::string_view bytes, const RecordMeta& meta, RecordBatch& out);

  std::unique_ptr<RecordSource> inner_;
  LambdaLogSourceOptions options_;
  LambdaLogConverter converter_;
  std::unique_ptr<internal::LambdaEnvelopeDom> dom_;
  RecordBatch in_;
  std::string record_;
  std::string time_;
  std::string decoded_;   // base64-decoded input
  std::string inflated_;  // one decompressed gzip member
};

}  // namespace tuttle::ingest
