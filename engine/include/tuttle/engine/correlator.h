#pragma once
// Correlator: Sigma correlation windows on event time.
//
// Signals arrive in record order. Each stream (a Kafka partition, a file) reports the event
// times it has seen; the watermark is the minimum over active streams of their latest event time,
// minus the allowed lateness. An assigned stream that has delivered nothing yet holds the
// watermark where it is; a stream that reported idle stops holding it back.
// Signals wait until the watermark passes them and are then applied to the windows in a total
// order that does not depend on arrival order, thread count or batching: event time, then the
// correlation's chain level, then signals before window closings, then record id, correlation
// and step. A signal older than the watermark when it arrives is late: it is counted and
// returned as a dead letter; single-event alerts do not pass through here and are unaffected.
//
// Window semantics (docs/correlation.md):
//   - A condition that can only become true as signals are added (gt/gte bounds on a count or a
//     sum; temporal conditions without `not`) is checked on each signal, over the group's
//     signals of the last `timespan` (inclusive). When it holds, one alert fires and the group's
//     window is cleared: the episode ends.
//   - Other conditions (lt, lte, eq, neq bounds; value_avg, value_percentile; `not` in a
//     temporal condition) are checked once, when the watermark passes the end of the episode's
//     window [first signal, first signal + timespan]; the episode ends either way.
//   - temporal_ordered with absent steps (Tuttle extension) is checked when the watermark passes
//     the end of the sequence's window.
// Chains: an alert of a correlation that other correlations reference becomes a Signal for each
// of them (ChainSignals), at the alert's event time, applied here in the same total order. The
// chain level in the order makes that exact: a level-k correlation only receives signals from
// levels below k, which at equal event time all come first.
//
// Sharding (one Correlator per shard, signals routed by a hash of (correlation, group)): the
// chained signals of a level-k alert must reach the shard that owns the referencing
// correlation's group, and every shard must have applied all signals of levels < k up to the
// watermark before it applies level k. A router can take them from `chain_router` and add them
// on their shard with AddChained().
//
// Thread-safety: not thread-safe; the pipeline calls it from one serial stage.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tuttle/engine/alert.h"
#include "tuttle/engine/alert_sink.h"
#include "tuttle/engine/checkpoint.h"
#include "tuttle/engine/rule_set.h"
#include "tuttle/engine/signal.h"

namespace tuttle {

struct CorrelatorOptions {
  // How far behind the newest event time a record may arrive and still count in windows.
  // Default: 30 s.
  TimeNs allowed_lateness = 30 * kNsPerSecond;
  // Open groups kept per correlation rule; past it the least recently updated group is evicted
  // and counted. Default: 100,000.
  size_t max_groups_per_rule = 100'000;
  // Chains in a sharded deployment: when set, the signals made from a correlation alert for the
  // correlations that reference it are handed here instead of being applied by this Correlator;
  // the caller adds each with AddChained() on the shard that owns its group. Default: unset,
  // applied here.
  std::function<void(Signal)> chain_router;
};

struct CorrelatorStats {
  uint64_t signals = 0;
  uint64_t late_signals = 0;
  uint64_t missing_group_field = 0;  // signals whose record lacked a group-by field
  uint64_t evicted_groups = 0;
  uint64_t missing_value_field = 0;  // value types: signals whose record lacked the field
  uint64_t non_numeric_values = 0;   // metric types: values that are not numbers, ignored
  uint64_t alerts = 0;               // alerts emitted (after generate and suppression)
  uint64_t suppressed_alerts = 0;    // alerts held back by `suppress`, reported in later alerts
  uint64_t chained_alerts = 0;       // alerts of correlations that other correlations reference
  uint64_t restored_groups = 0;      // groups read back from a checkpoint
  uint64_t dropped_state = 0;        // checkpointed groups of rules no longer loaded, or changed
};

// What a key of the state column family names (Correlator::TakeChanges): a correlation group
// ('g') or a group's suppression state ('s') of the rule `rule_id`, or the streams record ('m').
struct StateKey {
  char kind = 0;
  std::string rule_id;
  std::vector<std::string> group;  // the group-by values
};
bool ParseStateKey(std::string_view key, StateKey& out);
// The key of the streams and watermark record.
inline constexpr std::string_view kStreamsStateKey = "m";

class Correlator {
 public:
  Correlator(const RuleSet& rules, CorrelatorOptions options);
  ~Correlator();
  Correlator(const Correlator&) = delete;
  Correlator& operator=(const Correlator&) = delete;

  // The source now reads stream (source, partition): until its first record (or until it goes
  // idle) the watermark waits for it.
  void Assign(const std::string& source, int32_t partition);
  // The source no longer reads the stream.
  void Revoke(const std::string& source, int32_t partition);
  // A record with event time `time` was read from stream (source, partition).
  void Observe(const std::string& source, int32_t partition, TimeNs time);
  // The stream has no more records for now; it no longer holds the watermark back.
  void MarkIdle(const std::string& source, int32_t partition);

  // Adds a signal. Returns false (and counts it) when it is late; the caller dead-letters it.
  bool Add(Signal signal);

  // Applies every waiting signal older than the watermark to its windows; appends alerts.
  void Advance(std::vector<Alert>& alerts);

  // The same, for a sharded correlation stage, where one Correlator tracks the streams and the
  // watermark (Assign .. MarkIdle, CurrentWatermark) and the shards, each holding the windows
  // of some groups, are handed the watermark:
  //   the watermark as of the stream calls so far;
  TimeNs CurrentWatermark();
  //   Add() against a given watermark;
  bool AddAt(Signal signal, TimeNs watermark);
  //   Advance() to a given watermark (kNoTime: nothing to do).
  void AdvanceTo(TimeNs watermark, std::vector<Alert>& alerts);
  // End of input: applies every waiting signal, whatever its time, and closes every window, as
  // if the watermark had passed them all.
  void Flush(std::vector<Alert>& alerts);

  // Adds a chained signal (see `chain_router`); it is never late.
  void AddChained(Signal signal);

  // The signals an alert of correlation `correlation` gives the correlations that reference it:
  // one per referencing step, with that correlation's group-by values read from the alert's.
  static void ChainSignals(const RuleSet& rules, uint32_t correlation,
                           const std::shared_ptr<const Alert>& alert, std::vector<Signal>& out);

  // Checkpoints (checkpoint.h, docs/storage.md). Tracking is off by default; on, it costs a flag
  // test per applied signal.
  void TrackChanges();
  // The groups and suppression state changed since the previous call, as state entries keyed
  // by rule id and group values, so they restore into any number of shards.
  void TakeChanges(StateChanges& out);
  // The tracker's record: the streams, `watermark` (the one the shards were last advanced to,
  // which a restart's replay may hold below the tracker's own), and `last_expiry` (the shards').
  std::string SaveStreams(TimeNs watermark, TimeNs last_expiry) const;
  // Reads it back. Returns false on damaged bytes.
  bool RestoreStreams(std::string_view blob, TimeNs& last_expiry);
  // One group or suppression entry of a checkpoint. Entries of rules no longer loaded, or whose
  // type, steps or group-by changed, are skipped and counted (stats().dropped_state); damaged
  // bytes are an error.
  Status RestoreEntry(const StateKey& key, std::string_view value);
  // After the entries: rebuilds the window timers the watermark has not passed yet, and the
  // groups' update order.
  void FinishRestore(TimeNs watermark, TimeNs last_expiry);
  // Hot reload (Pipeline, RuleSwitch): every group and suppression state, as state entries (as
  // TakeChanges puts them, whether changed or not); and the signals waiting for the watermark,
  // moved out (so the correlator holds none after).
  void SaveAll(StateChanges& out) const;
  void TakePending(std::vector<Signal>& out);
  // Per stream, the lowest offset among the signals waiting for the watermark.
  void PendingFloor(std::map<std::pair<std::string, int32_t>, int64_t>& floor) const;
  TimeNs last_expiry() const { return last_expiry_; }

  TimeNs watermark() const { return watermark_; }
  size_t pending() const { return pending_.size(); }
  size_t open_groups() const;
  // Adds each correlation's open groups to per_correlation[c]. REQUIRES: sized to the rules'.
  void OpenGroupsByCorrelation(std::vector<uint64_t>& per_correlation) const;
  const CorrelatorStats& stats() const { return stats_; }

 private:
  struct Stream {
    TimeNs max_time = kNoTime;
    bool idle = false;
  };
  struct Pending {
    Signal signal;
    uint32_t level = 0;
  };
  struct PendingOrder {
    bool operator()(const Pending& a, const Pending& b) const;  // min-heap on the total order
  };
  // A window to check when the watermark passes `time`.
  struct Timer {
    TimeNs time = kNoTime;
    uint32_t level = 0;
    uint32_t correlation = 0;
    std::string group;  // the group's key
    friend auto operator<=>(const Timer&, const Timer&) = default;
  };
  // Suppression state of one group of a correlation with `suppress`.
  struct Suppression {
    TimeNs last_emitted = kNoTime;
    int64_t count = 0;  // alerts suppressed since
    TimeNs first = kNoTime;
    TimeNs last = kNoTime;
  };
  class Window;
  static std::string EncodeSuppression(const Suppression& s);

  void UpdateWatermark();
  void Release(TimeNs below, bool all, std::vector<Alert>& alerts);
  void ExpireSuppression(TimeNs watermark);
  void Push(Signal signal);
  // A correlation fired: feeds its chains, then emits it unless generate or suppression holds
  // it back.
  void Fired(uint32_t correlation, Alert alert, const std::string& group,
             std::vector<Alert>& alerts);

  const RuleSet& rules_;
  CorrelatorOptions options_;
  std::map<std::pair<std::string, int32_t>, Stream> streams_;
  TimeNs watermark_ = kNoTime;
  TimeNs last_expiry_ = kNoTime;
  std::vector<Pending> pending_;  // a heap in PendingOrder
  std::set<Timer> timers_;
  std::vector<std::unique_ptr<Window>> windows_;  // one per correlation rule
  std::vector<Signal> chained_;                   // scratch for ChainSignals
  // correlation -> group key -> suppression state
  std::map<uint32_t, std::unordered_map<std::string, Suppression>> suppression_;
  CorrelatorStats stats_;
  bool track_changes_ = false;
  // (correlation, group key) whose suppression state changed since TakeChanges.
  std::vector<std::pair<uint32_t, std::string>> suppression_changed_;
  std::unordered_map<std::string, uint32_t> detection_by_id_;  // for restoring
  std::unordered_map<std::string, uint32_t> correlation_by_id_;
};

}  // namespace tuttle
