#pragma once
// Pipeline: the oneTBB parallel_pipeline every record goes through.
//
//   read (serial, in order)       RecordSource::Next() fills a RecordBatch
//   parse + match (parallel)      RecordParser and Detector per thread: events, single-event
//                                 alerts, signals, dead letters
//   correlate (serial, in order)  the watermark, then the correlation shards in parallel (each
//                                 serial: windows need no locks), merged in a fixed order
//   emit (serial, in order)       AlertSinks write the batch, then the source commits positions
//
// Stages keep batch order, so results do not depend on the number of threads. Backpressure
// comes from the token limit: at most `tokens` batches are in flight.

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tuttle/engine/alert_sink.h"
#include "tuttle/engine/checkpoint.h"
#include "tuttle/engine/correlator.h"
#include "tuttle/engine/inventory.h"
#include "tuttle/engine/metrics.h"
#include "tuttle/engine/record_parser.h"
#include "tuttle/engine/record_source.h"
#include "tuttle/engine/result.h"
#include "tuttle/engine/rule_set.h"

namespace tuttle {

inline constexpr size_t kDefaultCorrelationShards = 8;

// Checkpoints (checkpoint.h): every `interval` of wall time or every `records` records, whichever
// comes first, the correlate stage hands the emit stage the window state that changed and the
// positions it belongs to; sinks write both with the alerts since the previous checkpoint.
struct CheckpointOptions {
  bool enabled = false;
  std::chrono::milliseconds interval{1000};
  uint64_t records = 100'000;
};

struct PipelineOptions {
  // Worker threads; 0 means one per core.
  int threads = 0;
  // Batches in flight; 0 means 2 x threads + 2.
  int tokens = 0;
  // Correlation shards: each holds the windows of the groups whose key hashes to it, and the
  // shards of a batch run in parallel. 0 means kDefaultCorrelationShards. Fixed rather than
  // derived from `threads`, so that the per-shard group cap (max_groups_per_rule / shards), and
  // so the alerts, do not depend on the thread count.
  int correlation_shards = 0;
  CorrelatorOptions correlator;
  CheckpointOptions checkpoint;
  // Scale-out mode (docs/scaling.md): the correlate stage does not correlate; it hands each
  // matched record's signals and each stream's progress to the sinks (BatchOutput::exported,
  // ::marks), which send them to the correlation stage of whichever process owns their groups.
  // Single-event alerts and dead letters are as usual. With checkpoints, positions are committed
  // at each checkpoint (which holds no window state), so sinks may batch until then.
  bool export_signals = false;
  // Restart: the state to start from (a store's checkpoint), and per stream (source,
  // partition) the last record the checkpoint covers (StreamCheckpoint::last). The source
  // resumes at StreamCheckpoint::resume; records up to `replay_until` only rebuild the signals
  // waiting for the watermark: their alerts and dead letters were written before the restart.
  const CheckpointReader* restore = nullptr;
  std::map<std::pair<std::string, int32_t>, int64_t> replay_until;
  // Where the running counters of PipelineStats go (`tuttle_pipeline_*`, docs/metrics.md), with
  // the latency of each batch from read to written. Updated by the serial stages once per batch,
  // never per record. Default: none. REQUIRES: outlives Run().
  MetricsRegistry* metrics = nullptr;
  // The inventory (inventory.h) the events update, restored from the store by the caller; its
  // findings join the batch's alerts and its changed items BatchOutput::inventory. Used by the
  // correlate stage only. Default: none (no inventory). REQUIRES: outlives Run().
  Inventory* inventory = nullptr;
};

struct PipelineStats {
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t events = 0;          // records can hold several events (or none)
  uint64_t matched_events = 0;  // events at least one detection rule matched
  uint64_t rule_matches = 0;
  uint64_t signals = 0;
  uint64_t alerts = 0;             // all alerts
  uint64_t correlation_alerts = 0;
  uint64_t dead_letters = 0;
  uint64_t parse_errors = 0;     // records (or delivery-batch sub-records) dead-lettered unread
  // Dead letters per reason: the reason up to its first ':' ("malformed JSON", "invalid UTF-8",
  // "no event time", "record too large", ...), and "late" for late records.
  std::map<std::string, uint64_t> dead_letter_reasons;
  uint64_t late_signals = 0;
  uint64_t late_records = 0;
  uint64_t evicted_groups = 0;       // correlation groups dropped at the per-rule cap
  uint64_t peak_open_groups = 0;     // most correlation groups open at once (after a batch)
  uint64_t missing_group_field = 0;  // signals whose record lacked a group-by field
  double seconds = 0;  // wall time from the first record read to the last batch written
  uint64_t checkpoints = 0;
  uint64_t checkpoint_bytes = 0;   // state written by checkpoints (keys and values)
  uint64_t restored_groups = 0;    // correlation groups read back at start
  uint64_t dropped_state = 0;      // checkpointed groups of rules no longer loaded, or changed
  uint64_t replayed_records = 0;   // records read again after a restart, already accounted for
};

// The reason of a late record's dead letter: how late, and the windows of which correlations it
// missed.
std::string LateReason(const RuleSet& rules, const std::set<uint32_t>& correlations,
                       TimeNs event_time, TimeNs watermark);

class Pipeline {
 public:
  Pipeline(const RuleSet& rules, const RecordParser& parser, PipelineOptions options);

  // Runs until the source ends, Stop() is called on it, or a sink fails.
  Result<PipelineStats> Run(RecordSource& source, const std::vector<AlertSink*>& sinks);

 private:
  const RuleSet& rules_;
  const RecordParser& parser_;
  PipelineOptions options_;
};

}  // namespace tuttle
