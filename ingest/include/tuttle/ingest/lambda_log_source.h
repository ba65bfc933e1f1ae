#pragma once
// LambdaLogSource: a RecordSource decorator that turns AWS Lambda logs read by another source
// into JSON records (LambdaLogConverter; docs/formats.md, "AWS Lambda logs"). Each input record
// is one of:
//
//   - a CloudWatch Logs subscription envelope
//       {"messageType": "DATA_MESSAGE", "logGroup": "/aws/lambda/<function>", "logStream": ...,
//        "logEvents": [{"id": ..., "timestamp": <ms>, "message": ...}, ...]}
//     which becomes one record per log event, each at the envelope's position, carrying the
//     function name, log group and stream, event id and time. CONTROL_MESSAGE envelopes (the
//     subscription's health checks) become nothing;
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
// An input that cannot be read (an envelope that is not JSON or lacks its fields, gzip bytes, a
// REPORT line with a non-number, ...) is rejected into the batch with its reason, which the
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
  std::unique_ptr<RecordSource> inner_;
  LambdaLogSourceOptions options_;
  LambdaLogConverter converter_;
  std::unique_ptr<internal::LambdaEnvelopeDom> dom_;
  RecordBatch in_;
  std::string record_;
  std::string time_;
};

}  // namespace tuttle::ingest
