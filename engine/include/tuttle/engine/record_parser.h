#pragma once
// RecordParser: turns a raw record into Events (format adapters live in the ingest library).
// One record may hold several events (a CloudTrail delivery batch), or none.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tuttle/engine/event.h"
#include "tuttle/engine/result.h"

namespace tuttle {

class RecordParser {
 public:
  virtual ~RecordParser() = default;

  class EventHandler {
   public:
    virtual ~EventHandler() = default;
    // `event` and everything it points to are valid only during the call.
    virtual void OnEvent(const Event& event) = 0;
    // A part of the record that cannot be read while the rest can (a sub-record of a delivery
    // batch without an event time, say): `part` is its bytes, `reason` says why, as Parse()'s
    // errors do. The pipeline dead-letters the part alone. Default: ignored.
    virtual void OnRejectedPart(std::string_view part, const std::string& reason) {
      (void)part;
      (void)reason;
    }
  };

  // Per-thread parsing state. Not thread-safe; one per thread.
  class Worker {
   public:
    virtual ~Worker() = default;
    // Parses `record` (followed by kRecordPadding readable bytes) and calls `handler` for each
    // event. An error names why the record cannot be read (it is then dead-lettered); events
    // already handed out stay valid results.
    virtual Status Parse(std::string_view record, const RecordMeta& meta,
                         EventHandler& handler) = 0;
    // The names of the sources of the records about to be parsed (RecordBatch::sources(), which
    // RecordMeta::source indexes), so events can say where they came from (Event::source).
    // REQUIRES: `sources` outlives the Parse calls until the next BeginBatch. Default: ignored.
    virtual void BeginBatch(const std::vector<std::string>& sources) { (void)sources; }
  };

  virtual std::unique_ptr<Worker> NewWorker() const = 0;
};

}  // namespace tuttle
