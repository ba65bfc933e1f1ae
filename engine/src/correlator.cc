#include "tuttle/engine/correlator.h"

#include <algorithm>
#include <deque>
#include <map>
#include <unordered_map>

namespace tuttle {
namespace {

std::string GroupKey(const std::vector<std::string>& values) {
  std::string key;
  for (const auto& v : values) {
    const auto n = static_cast<uint32_t>(v.size());
    key.append(reinterpret_cast<const char*>(&n), sizeof(n));
    key.append(v);
  }
  return key;
}

}  // namespace

// The windows of one correlation rule: per group, the signals of the last `timespan`.
class Correlator::Window {
 public:
  Window(const RuleSet& rules, uint32_t index, size_t max_groups)
      : rules_(rules), rule_(rules.correlations[index]), max_groups_(max_groups) {}

  void Apply(Signal& s, std::vector<Alert>& alerts, CorrelatorStats& stats) {
    if (s.missing_group) {
      ++stats.missing_group_field;
      return;
    }
    std::string key = GroupKey(s.group);
    auto it = groups_.find(key);
    if (it == groups_.end()) {
      if (groups_.size() >= max_groups_) EvictOldest(stats);
      it = groups_.emplace(std::move(key), Group{}).first;
      it->second.values = s.group;
    }
    Group& g = it->second;
    // The window is [t - timespan, t], both ends inclusive.
    const TimeNs low = s.time - rule_.timespan;
    while (!g.entries.empty() && g.entries.front().time < low) PopFront(g);
    Entry e{s.time, s.record_id, std::move(s.position), s.step, s.detection,
            s.missing_value ? std::string() : std::move(s.value), s.missing_value};
    if (!e.missing_value && rule_.type == CorrelationType::kValueCount) ++g.value_counts[e.value];
    ++g.step_counts[e.step];
    g.entries.push_back(std::move(e));
    g.last_time = s.time;

    int64_t n = 0;
    bool fire = false;
    switch (rule_.type) {
      case CorrelationType::kEventCount:
        n = static_cast<int64_t>(g.entries.size());
        fire = rule_.condition.Holds(n);
        break;
      case CorrelationType::kValueCount:
        n = static_cast<int64_t>(g.value_counts.size());
        fire = rule_.condition.Holds(n);
        break;
      case CorrelationType::kTemporal:
        n = static_cast<int64_t>(g.step_counts.size());
        fire = HasCondition() ? rule_.condition.Holds(n)
                              : n == static_cast<int64_t>(rule_.rules.size());
        break;
      case CorrelationType::kTemporalOrdered:
        n = OrderedSteps(g);
        fire = HasCondition() ? rule_.condition.Holds(n)
                              : n == static_cast<int64_t>(rule_.rules.size());
        break;
    }
    if (!fire) return;
    alerts.push_back(MakeAlert(g, n));
    ++stats.alerts;
    // The episode ends: the next alert for this group needs the condition to hold again on
    // later signals.
    groups_.erase(it);
  }

  // Drops groups whose newest signal has left the window at `watermark`.
  void Expire(TimeNs watermark) {
    if (watermark == kNoTime) return;
    for (auto it = groups_.begin(); it != groups_.end();) {
      if (it->second.last_time < watermark - rule_.timespan) {
        it = groups_.erase(it);
      } else {
        ++it;
      }
    }
  }

  size_t groups() const { return groups_.size(); }

 private:
  struct Entry {
    TimeNs time;
    Hash128 record_id;
    SourcePosition position;
    uint32_t step;
    uint32_t detection;
    std::string value;
    bool missing_value;
  };
  struct Group {
    std::vector<std::string> values;
    std::deque<Entry> entries;
    std::map<std::string, int64_t> value_counts;  // value_count: distinct values in the window
    std::map<uint32_t, int64_t> step_counts;      // temporal: referenced rules in the window
    TimeNs last_time = kNoTime;
  };

  bool HasCondition() const {
    const auto& c = rule_.condition;
    return c.gt || c.gte || c.lt || c.lte || c.eq || c.neq;
  }

  void PopFront(Group& g) {
    Entry& e = g.entries.front();
    if (!e.missing_value && rule_.type == CorrelationType::kValueCount) {
      auto v = g.value_counts.find(e.value);
      if (v != g.value_counts.end() && --v->second == 0) g.value_counts.erase(v);
    }
    auto s = g.step_counts.find(e.step);
    if (s != g.step_counts.end() && --s->second == 0) g.step_counts.erase(s);
    g.entries.pop_front();
  }

  // temporal_ordered: how many leading steps occur in order within the window.
  int64_t OrderedSteps(const Group& g) const {
    uint32_t next = 0;
    for (const Entry& e : g.entries) {
      if (next < rule_.rules.size() && e.step == next) ++next;
    }
    return next;
  }

  void EvictOldest(CorrelatorStats& stats) {
    auto oldest = groups_.begin();
    for (auto it = groups_.begin(); it != groups_.end(); ++it) {
      if (it->second.last_time < oldest->second.last_time ||
          (it->second.last_time == oldest->second.last_time && it->first < oldest->first)) {
        oldest = it;
      }
    }
    if (oldest != groups_.end()) {
      groups_.erase(oldest);
      ++stats.evicted_groups;
    }
  }

  Alert MakeAlert(const Group& g, int64_t n) const {
    Alert a;
    a.rule = rule_.info;
    a.kind = std::string(CorrelationTypeName(rule_.type));
    a.time = g.entries.back().time;
    a.window_start = g.entries.front().time;
    a.window_end = g.entries.back().time;
    for (size_t i = 0; i < rule_.group_by.size() && i < g.values.size(); ++i) {
      a.group.emplace_back(rule_.group_by[i], g.values[i]);
    }
    for (const Entry& e : g.entries) {
      a.evidence.push_back(Evidence{e.position, e.time, e.record_id,
                                    rules_.detections[e.detection].info});
    }
    a.count = n;
    a.condition = rule_.condition.ToString();
    if (a.condition.empty()) a.condition = "all rules";
    if (rule_.type == CorrelationType::kValueCount) {
      for (const auto& [value, count] : g.value_counts) a.values.push_back(value);
    }
    a.id = ComputeAlertId(a);
    return a;
  }

  const RuleSet& rules_;
  const CorrelationRule& rule_;
  size_t max_groups_;
  std::unordered_map<std::string, Group> groups_;
};

bool Correlator::PendingOrder::operator()(const Signal& a, const Signal& b) const {
  // std heaps keep the largest on top; "greater" puts the earliest signal there.
  if (a.time != b.time) return a.time > b.time;
  if (a.record_id != b.record_id) return a.record_id > b.record_id;
  if (a.correlation != b.correlation) return a.correlation > b.correlation;
  return a.step > b.step;
}

Correlator::Correlator(const RuleSet& rules, CorrelatorOptions options)
    : rules_(rules), options_(options) {
  for (uint32_t i = 0; i < rules.correlations.size(); ++i) {
    windows_.push_back(std::make_unique<Window>(rules, i, options.max_groups_per_rule));
  }
}

Correlator::~Correlator() = default;

void Correlator::Assign(const std::string& source, int32_t partition) {
  streams_.try_emplace({source, partition});
}

void Correlator::Revoke(const std::string& source, int32_t partition) {
  streams_.erase({source, partition});
}

void Correlator::Observe(const std::string& source, int32_t partition, TimeNs time) {
  Stream& s = streams_[{source, partition}];
  s.idle = false;
  if (time != kNoTime && (s.max_time == kNoTime || time > s.max_time)) s.max_time = time;
}

void Correlator::MarkIdle(const std::string& source, int32_t partition) {
  auto it = streams_.find({source, partition});
  if (it != streams_.end()) it->second.idle = true;
}

void Correlator::UpdateWatermark() {
  TimeNs min_active = kNoTime;
  TimeNs max_all = kNoTime;
  for (const auto& [key, s] : streams_) {
    if (s.max_time == kNoTime) {
      if (!s.idle) return;  // an assigned stream that has not spoken yet: wait for it
      continue;
    }
    if (max_all == kNoTime || s.max_time > max_all) max_all = s.max_time;
    if (!s.idle && (min_active == kNoTime || s.max_time < min_active)) min_active = s.max_time;
  }
  const TimeNs newest = min_active != kNoTime ? min_active : max_all;
  if (newest == kNoTime) return;
  const TimeNs candidate = newest - options_.allowed_lateness;
  if (watermark_ == kNoTime || candidate > watermark_) watermark_ = candidate;
}

bool Correlator::Add(Signal signal) {
  UpdateWatermark();
  return AddAt(std::move(signal), watermark_);
}

TimeNs Correlator::CurrentWatermark() {
  UpdateWatermark();
  return watermark_;
}

bool Correlator::AddAt(Signal signal, TimeNs watermark) {
  ++stats_.signals;
  if (watermark != kNoTime && signal.time < watermark) {
    ++stats_.late_signals;
    return false;
  }
  pending_.push_back(std::move(signal));
  std::push_heap(pending_.begin(), pending_.end(), PendingOrder{});
  return true;
}

void Correlator::Release(TimeNs below, bool all, std::vector<Alert>& alerts) {
  while (!pending_.empty() && (all || pending_.front().time < below)) {
    std::pop_heap(pending_.begin(), pending_.end(), PendingOrder{});
    Signal s = std::move(pending_.back());
    pending_.pop_back();
    windows_[s.correlation]->Apply(s, alerts, stats_);
  }
}

void Correlator::Advance(std::vector<Alert>& alerts) {
  UpdateWatermark();
  AdvanceTo(watermark_, alerts);
}

void Correlator::AdvanceTo(TimeNs watermark, std::vector<Alert>& alerts) {
  if (watermark == kNoTime) return;
  Release(watermark, false, alerts);
  // Expiring scans every group: do it once per second of event-time progress.
  if (last_expiry_ == kNoTime || watermark - last_expiry_ >= kNsPerSecond) {
    for (auto& w : windows_) w->Expire(watermark);
    last_expiry_ = watermark;
  }
}

void Correlator::Flush(std::vector<Alert>& alerts) { Release(0, true, alerts); }

size_t Correlator::open_groups() const {
  size_t n = 0;
  for (const auto& w : windows_) n += w->groups();
  return n;
}

}  // namespace tuttle
