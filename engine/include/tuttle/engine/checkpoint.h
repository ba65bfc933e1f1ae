#pragma once
// Checkpoints: what the pipeline hands its store so that a restarted engine carries on exactly
// where a crashed one left off (docs/storage.md, "Checkpoints").
//
// A checkpoint is taken in the correlate stage, between two batches, so it describes the state
// after a known prefix of every stream. It holds:
//   - the window state that changed since the previous checkpoint: correlation groups and
//     suppression state put or deleted, and the stream/watermark record (StateChanges);
//   - per stream, the last record of the prefix (`last`) and where a restart reads from
//     (`resume`): the oldest record whose signals are still waiting for the watermark, or the
//     record after `last`. Records in [resume, last] are read again after a restart only to
//     rebuild those waiting signals; their alerts and dead letters were already written, so the
//     pipeline drops them (PipelineOptions::replay_until).
// The store writes the checkpoint, the alerts and dead letters of every batch up to it, and the
// positions in one atomic write, so what it holds is always the result of one stream prefix.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tuttle/engine/result.h"

namespace tuttle {

// Changes to the state column family, in order: deletes, then puts.
struct StateChanges {
  std::vector<std::string> deletes;
  std::vector<std::pair<std::string, std::string>> puts;

  bool empty() const { return deletes.empty() && puts.empty(); }
};

struct StreamCheckpoint {
  std::string source;
  int32_t partition = -1;
  int64_t last = -1;    // the last record of the prefix (offset, or line for files)
  int64_t resume = 0;   // where a restarted reader starts: <= last + 1
};

struct Checkpoint {
  uint64_t number = 0;   // counts checkpoints of this run, from 1
  StateChanges state;
  std::vector<StreamCheckpoint> streams;
};

// Where a pipeline restores its state from: every entry of the state column family.
class CheckpointReader {
 public:
  virtual ~CheckpointReader() = default;
  virtual Status ForEachState(
      const std::function<Status(std::string_view key, std::string_view value)>& fn) const = 0;
};

}  // namespace tuttle
