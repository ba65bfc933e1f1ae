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
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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

// Hot reload (docs/reload.md): a rule set, and the parser over its field catalog, to replace a
// running pipeline's. Both immutable; shared with the batches still being processed under them.
struct RuleGeneration {
  uint64_t number = 0;  // increasing; 0 is the rule set the pipeline started with
  std::shared_ptr<const RuleSet> rules;
  std::shared_ptr<const RecordParser> parser;
};

// What applying a generation did to the correlation state.
struct ReloadReport {
  uint64_t generation = 0;
  // Correlation rules by id: kept their windows (same CorrelationFingerprint), restarted with
  // empty windows (changed), no longer loaded, or new.
  std::vector<std::string> kept_rules, changed_rules, removed_rules, added_rules;
  uint64_t kept_groups = 0;     // correlation groups carried over, with their entries
  uint64_t dropped_groups = 0;  // groups and suppression states of changed or removed rules
  uint64_t kept_signals = 0;    // signals waiting for the watermark, carried over
  uint64_t dropped_signals = 0;
  uint64_t batch = 0;           // the first batch read under the new rules
};

// Hands rule generations to a running pipeline (PipelineOptions::rule_switch). The pipeline
// reads each batch under one generation: the read stage takes the newest posted generation
// before reading a batch, the parse stage matches that batch with its rules, and the correlate
// stage, on the first batch of a new generation, moves the windows of every correlation rule
// whose fingerprint did not change (and the signals waiting for the watermark) into correlators
// built for the new rules, then reports. Records read before the swap keep the matches they
// had; a record is never matched by two generations.
//
// Thread-safety: every method may be called from any thread.
class RuleSwitch {
 public:
  // Queues `next` for the pipeline's next batch; a newer post replaces one not yet taken.
  // REQUIRES: next.number greater than every number posted before; rules and parser set.
  void Post(RuleGeneration next);
  // Waits until generation `number` (or a newer one) is applied, at most `timeout`; its report,
  // or nullopt on timeout (the pipeline reads no batch, e.g. it has stopped).
  std::optional<ReloadReport> WaitApplied(uint64_t number, std::chrono::milliseconds timeout);
  // The generation in force: the last one applied (0 before any).
  uint64_t applied() const;

  // The pipeline's side: the posted generation not yet taken, if any; and its report once the
  // correlate stage applied it.
  std::optional<RuleGeneration> Take();
  void Applied(ReloadReport report);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<RuleGeneration> posted_;
  uint64_t applied_ = 0;
  std::optional<ReloadReport> last_report_;
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
  // Hot reload: where new rule generations come from. Not with export_signals (scale-out
  // members restart one by one instead). Default: none. REQUIRES: outlives Run().
  RuleSwitch* rule_switch = nullptr;
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
  uint64_t reloads = 0;            // rule generations applied (hot reload)
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
