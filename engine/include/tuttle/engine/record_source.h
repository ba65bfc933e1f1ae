#pragma once
// RecordSource: where records come from (Kafka, files, stdin; implemented in ingest).
//
// Thread-safety: the pipeline calls Next() and Commit() from its serial stages only, never
// concurrently.

#include <vector>

#include "tuttle/engine/record.h"
#include "tuttle/engine/result.h"

namespace tuttle {

class RecordSource {
 public:
  virtual ~RecordSource() = default;

  // Fills `batch` (cleared by the caller) with the next records. Returns false when the input is
  // finished and `batch` holds nothing more; a batch may be empty while a live source waits.
  virtual Result<bool> Next(RecordBatch& batch) = 0;

  // Everything up to and including these positions is durably processed: a restarted reader
  // may resume after them. Called in batch order.
  virtual Status Commit(const std::vector<SourcePosition>& positions) = 0;

  // Asks a live source to finish: Next() returns false soon after. Safe from any thread.
  virtual void Stop() = 0;
  // Whether Stop() was called: the input did not end, it was interrupted.
  virtual bool Stopped() const { return false; }
};

}  // namespace tuttle
