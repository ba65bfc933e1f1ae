#pragma once
// Correlator: Sigma correlation windows on event time.
//
// Signals arrive in record order. Each stream (a Kafka partition, a file) reports the event
// times it has seen; the watermark is the minimum over active streams of their latest event time,
// minus the allowed lateness. An assigned stream that has delivered nothing yet holds the
// watermark where it is; a stream that reported idle stops holding it back.
// Signals wait until the watermark passes them and are then applied to the windows in a total
// order (event time, then record id, then rule) that does not depend on arrival order, thread
// count or batching. A signal older than the watermark when it arrives is late: it is counted and
// returned as a dead letter; single-event alerts do not pass through here and are unaffected.
//
// Window semantics (docs/correlation.md): a group's window holds its signals of the last
// `timespan` (inclusive) before the newest one. When the condition holds, one alert fires and the
// group's window is cleared: the episode ends, and the next alert needs the condition to hold
// again on later signals.
//
// Thread-safety: not thread-safe; the pipeline calls it from one serial stage.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tuttle/engine/alert.h"
#include "tuttle/engine/alert_sink.h"
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
};

struct CorrelatorStats {
  uint64_t signals = 0;
  uint64_t late_signals = 0;
  uint64_t missing_group_field = 0;  // signals whose record lacked a group-by field
  uint64_t evicted_groups = 0;
  uint64_t alerts = 0;
};

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
  // End of input: applies every waiting signal, whatever its time.
  void Flush(std::vector<Alert>& alerts);

  TimeNs watermark() const { return watermark_; }
  size_t pending() const { return pending_.size(); }
  size_t open_groups() const;
  const CorrelatorStats& stats() const { return stats_; }

 private:
  struct Stream {
    TimeNs max_time = kNoTime;
    bool idle = false;
  };
  struct PendingOrder {
    bool operator()(const Signal& a, const Signal& b) const;  // min-heap on the total order
  };
  class Window;

  void UpdateWatermark();
  void Release(TimeNs below, bool all, std::vector<Alert>& alerts);

  const RuleSet& rules_;
  CorrelatorOptions options_;
  std::map<std::pair<std::string, int32_t>, Stream> streams_;
  TimeNs watermark_ = kNoTime;
  TimeNs last_expiry_ = kNoTime;
  std::vector<Signal> pending_;  // a heap in PendingOrder
  std::vector<std::unique_ptr<Window>> windows_;  // one per correlation rule
  CorrelatorStats stats_;
};

}  // namespace tuttle
