#include "tuttle/engine/correlator.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <charconv>
#include <cmath>
#include <list>
#include <map>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "tuttle/engine/state_codec.h"
#include "tuttle/engine/group_entities.h"

namespace tuttle {
namespace {

using state_codec::Reader;
using state_codec::Writer;

constexpr uint64_t kStateVersion = 1;

std::string GroupKey(const std::vector<std::string>& values) {
  std::string key;
  for (const auto& v : values) {
    const auto n = static_cast<uint32_t>(v.size());
    key.append(reinterpret_cast<const char*>(&n), sizeof(n));
    key.append(v);
  }
  return key;
}

bool DecodeGroupKey(std::string_view key, std::vector<std::string>& values) {
  values.clear();
  while (!key.empty()) {
    uint32_t n;
    if (key.size() < sizeof(n)) return false;
    std::memcpy(&n, key.data(), sizeof(n));
    key.remove_prefix(sizeof(n));
    if (n > key.size()) return false;
    values.emplace_back(key.substr(0, n));
    key.remove_prefix(n);
  }
  return true;
}

// kind | rule id | 0x00 | group key: rule ids hold no NUL, and the group key is length-prefixed.
std::string StateKeyFor(char kind, std::string_view rule_id, std::string_view group_key) {
  std::string k;
  k.reserve(2 + rule_id.size() + group_key.size());
  k.push_back(kind);
  k.append(rule_id);
  k.push_back('\0');
  k.append(group_key);
  return k;
}

// Interns strings that repeat within one encoded group (sources, rule ids) as small indexes. A
// group names one to a few of each, so a linear search beats hashing.
class Dictionary {
 public:
  uint64_t Index(const std::string& s) {
    for (size_t i = 0; i < items_.size(); ++i) {
      if (*items_[i] == s) return i;
    }
    items_.push_back(&s);
    return items_.size() - 1;
  }
  void Write(Writer& w) const {
    w.U64(items_.size());
    for (const std::string* s : items_) w.Str(*s);
  }

 private:
  std::vector<const std::string*> items_;  // point into the group being encoded
};

bool ReadDictionary(Reader& r, std::vector<std::string>& out) {
  size_t n;
  if (!r.Count(n)) return false;
  out.resize(n);
  for (auto& s : out) {
    if (!r.Str(s)) return false;
  }
  return true;
}

void WriteHash(Writer& w, const Hash128& h) {
  w.Double(std::bit_cast<double>(h.hi));
  w.Double(std::bit_cast<double>(h.lo));
}

bool ReadHash(Reader& r, Hash128& h) {
  double hi, lo;
  if (!r.Double(hi) || !r.Double(lo)) return false;
  h.hi = std::bit_cast<uint64_t>(hi);
  h.lo = std::bit_cast<uint64_t>(lo);
  return true;
}

// A field value as a number: a JSON number, or a string that is a decimal number in full.
// Infinities and NaN are not numbers here.
bool ParseNumber(std::string_view text, double& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(out);
}

// The p-th percentile (0..100) of sorted values, by linear interpolation between closest ranks
// (Hyndman and Fan's type 7; numpy.percentile's and Excel PERCENTILE.INC's default).
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double h = static_cast<double>(sorted.size() - 1) * p / 100.0;
  const auto lo = static_cast<size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted.back();
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

// Neumaier's compensated sum: adding and removing values as the window slides keeps the sum
// exact for integers below 2^53 and within a rounding error of the exact sum otherwise.
struct CompensatedSum {
  double sum = 0;
  double compensation = 0;

  void Add(double x) {
    const double t = sum + x;
    if (std::fabs(sum) >= std::fabs(x)) {
      compensation += (sum - t) + x;
    } else {
      compensation += (x - t) + sum;
    }
    sum = t;
  }
  double Value() const { return sum + compensation; }
};

}  // namespace

// A window's entries, oldest first: a vector with a moving head. (A std::deque allocates a
// 512-byte block for its first entry, and most groups hold a few entries.)
template <class T>
class EntryQueue {
 public:
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }
  T& back() { return items_.back(); }
  const T& back() const { return items_.back(); }
  void push_back(T item) { items_.push_back(std::move(item)); }
  void pop_front() {
    items_[head_] = T{};  // let go of what it holds now
    if (++head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    } else if (head_ >= 16 && 2 * head_ >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  auto begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() const { return items_.end(); }

 private:
  std::vector<T> items_;
  size_t head_ = 0;
};

// The windows of one correlation rule, per group.
class Correlator::Window {
 public:
  // How the condition is checked (docs/correlation.md, "Windows and episodes").
  enum class Mode {
    kEager,     // on each signal, over the last `timespan`
    kAtClose,   // once, when the watermark passes the episode's window
    kSequence,  // temporal_ordered with absent steps
  };

  Window(const RuleSet& rules, uint32_t index, size_t max_groups)
      : rules_(rules), rule_(rules.correlations[index]), index_(index), max_groups_(max_groups) {
    mode_ = ChooseMode();
    if (mode_ == Mode::kSequence) {
      uint32_t gap = 0;
      gap_of_.assign(rule_.rules.size(), 0);
      for (uint32_t k = 0; k < rule_.rules.size(); ++k) {
        if (IsAbsent(k)) {
          gap_of_[k] = gap;
        } else {
          present_.push_back(k);
          ++gap;
        }
      }
      for (uint32_t k = 0; k < rule_.rules.size(); ++k) {
        if (IsAbsent(k) && gap_of_[k] == present_.size()) trailing_ = true;
      }
    }
  }

  Mode mode() const { return mode_; }

  // Applies a signal to its group's window; may fire, or schedule the window's check.
  void Apply(Signal& s, Correlator& c, std::vector<Alert>& alerts) {
    CorrelatorStats& stats = c.stats_;
    if (s.missing_group) {
      ++stats.missing_group_field;
      return;
    }
    double number = 0;
    if (IsMetricType(rule_.type)) {
      if (s.missing_value) {
        ++stats.missing_value_field;
        return;
      }
      if (!ParseNumber(s.value, number)) {
        ++stats.non_numeric_values;
        return;
      }
    }
    std::string key = GroupKey(s.group);
    auto it = groups_.find(key);
    if (it == groups_.end()) {
      if (groups_.size() >= max_groups_) EvictOldest(stats);
      it = groups_.emplace(key, Group{}).first;
      it->second.lru = lru_.insert(lru_.end(), &it->first);
    } else {
      lru_.splice(lru_.end(), lru_, it->second.lru);  // now the most recently updated
    }
    Group& g = it->second;
    g.last_time = s.time;
    g.touched = ++touch_seq_;
    MarkChanged(it);
    if (mode_ != Mode::kAtClose) {
      // The window is [t - timespan, t], both ends inclusive.
      const TimeNs low = s.time - rule_.timespan;
      while (!g.entries.empty() && g.entries.front().time < low) PopFront(g);
    }
    Push(g, Entry{s.time, s.record_id, Intern(s.position), s.step, s.detection,
                  s.missing_value ? std::string() : std::move(s.value), s.missing_value, number,
                  std::move(s.alert)});

    switch (mode_) {
      case Mode::kEager: {
        double measure = 0;
        if (!Holds(g, measure)) return;
        Alert a = MakeAlert(key, g, measure, g.entries.front().time, g.entries.back().time,
                            g.entries.back().time);
        Erase(it);  // the episode ends
        c.Fired(index_, std::move(a), key, alerts);
        return;
      }
      case Mode::kAtClose:
        if (g.episode_end == kNoTime) {
          g.episode_start = s.time;
          g.episode_end = s.time + rule_.timespan;
          c.timers_.insert(Timer{g.episode_end, rule_.level, index_, key});
        }
        return;
      case Mode::kSequence:
        if (!trailing_ && s.step == present_.back()) {
          c.timers_.insert(Timer{s.time, rule_.level, index_, key});
        } else if (trailing_ && s.step == present_.front()) {
          c.timers_.insert(Timer{s.time + rule_.timespan, rule_.level, index_, key});
        }
        return;
    }
  }

  // The watermark passed `t`: checks the window of group `key` that ends at `t`, if it is still
  // open.
  void Close(TimeNs t, const std::string& key, Correlator& c, std::vector<Alert>& alerts) {
    auto it = groups_.find(key);
    if (it == groups_.end()) return;  // fired, evicted or expired since
    Group& g = it->second;
    if (mode_ == Mode::kAtClose) {
      if (g.episode_end != t) return;
      double measure = 0;
      const bool fire = Holds(g, measure);
      Alert a;
      if (fire) a = MakeAlert(key, g, measure, g.episode_start, g.episode_end, g.episode_end);
      Erase(it);  // the episode ends, with or without an alert
      if (fire) c.Fired(index_, std::move(a), key, alerts);
      return;
    }
    // A sequence with absent steps: the window ends at the last step (absent steps before or
    // between) or starts at the first (absent steps after).
    const TimeNs start = t - rule_.timespan;
    const TimeNs end = t;
    if (SequenceHolds(g, trailing_ ? start : kNoTime, start, end)) {
      Alert a = MakeAlert(key, g, static_cast<double>(present_.size()), start, end, end);
      Erase(it);  // the episode ends
      c.Fired(index_, std::move(a), key, alerts);
      return;
    }
    while (!g.entries.empty() && g.entries.front().time < start) PopFront(g);
    if (g.entries.empty()) {
      Erase(it);
    } else {
      MarkChanged(it);
    }
  }

  // Drops groups whose newest signal has left the window at `watermark` and whose windows have
  // all been checked.
  //
  // Signals of a rule are applied in event-time order, so `lru_` (least recently updated first)
  // is in order of last_time too: expiry looks only at the groups it drops, plus those whose
  // window check is still due.
  void Expire(TimeNs watermark) {
    if (watermark == kNoTime) return;
    for (auto l = lru_.begin(); l != lru_.end();) {
      auto it = groups_.find(**l);
      ++l;
      const Group& g = it->second;
      if (g.last_time >= watermark - rule_.timespan) break;
      if (g.episode_end == kNoTime) Erase(it);
    }
  }

  size_t groups() const { return groups_.size(); }

  // Checkpoints -------------------------------------------------------------------------------

  void TrackChanges() { track_ = true; }

  void TakeChanges(StateChanges& out) {
    const std::string& rule_id = rule_.info->id;
    for (const std::string& key : erased_) out.deletes.push_back(StateKeyFor('g', rule_id, key));
    erased_.clear();
    for (const std::string& key : changed_) {
      auto it = groups_.find(key);
      if (it == groups_.end() || !it->second.changed) continue;
      std::string value;
      Encode(it->second, value);
      out.puts.emplace_back(StateKeyFor('g', rule_id, key), std::move(value));
      it->second.changed = false;
      it->second.persisted = true;
    }
    changed_.clear();
  }

  // Every group, as TakeChanges would put it, without touching the change tracking.
  void SaveAll(StateChanges& out) const {
    const std::string& rule_id = rule_.info->id;
    for (const auto& [key, g] : groups_) {
      std::string value;
      Encode(g, value);
      out.puts.emplace_back(StateKeyFor('g', rule_id, key), std::move(value));
    }
  }

  // Returns false on damaged bytes; `shape_ok` false (and nothing restored) when the entry was
  // written for a rule of another type, steps or group-by.
  bool Restore(const std::vector<std::string>& values, std::string_view blob,
               const Correlator& c, bool& shape_ok) {
    Reader r(blob);
    uint64_t version, type, steps, group_by;
    if (!r.U64(version) || version != kStateVersion) return false;
    if (!r.U64(type) || !r.U64(steps) || !r.U64(group_by)) return false;
    shape_ok = type == static_cast<uint64_t>(rule_.type) && steps == rule_.rules.size() &&
               group_by == rule_.group_by.size() && values.size() == group_by;
    if (!shape_ok) return true;
    Group g;
    double sum, compensation;
    if (!r.U64(g.touched) || !r.I64(g.last_time) || !r.I64(g.episode_start) ||
        !r.I64(g.episode_end) || !r.Double(sum) || !r.Double(compensation)) {
      return false;
    }
    std::vector<std::string> sources, rule_ids;
    if (!ReadDictionary(r, sources) || !ReadDictionary(r, rule_ids)) return false;
    std::vector<uint32_t> detections(rule_ids.size(), UINT32_MAX);
    std::vector<std::shared_ptr<const RuleInfo>> infos(rule_ids.size());
    for (size_t i = 0; i < rule_ids.size(); ++i) {
      auto d = c.detection_by_id_.find(rule_ids[i]);
      if (d == c.detection_by_id_.end()) continue;  // a rule since removed: its evidence stays
      detections[i] = d->second;
      infos[i] = rules_.detections[d->second].info;
    }
    auto read_position = [&](SourcePosition& p) {
      uint64_t src;
      if (!r.U64(src) || src >= sources.size()) return false;
      p.source = sources[src];
      return r.I32(p.partition) && r.I64(p.offset);
    };
    size_t n;
    if (!r.Count(n)) return false;
    for (size_t i = 0; i < n; ++i) {
      Entry e{};
      uint64_t detection = 0;
      bool has_alert = false;
      SourcePosition position;
      if (!r.I64(e.time) || !ReadHash(r, e.record_id) || !read_position(position) ||
          !r.U32(e.step) || !r.U64(detection) || !r.Str(e.value) || !r.Bool(e.missing_value) ||
          !r.Double(e.number) || !r.Bool(has_alert)) {
        return false;
      }
      if (e.step >= rule_.rules.size()) return false;
      e.position = Intern(position);
      e.detection = UINT32_MAX;
      if (detection > 0) {
        if (detection > detections.size()) return false;
        // UINT32_MAX when the rule is gone: the entry still counts, its evidence has no rule.
        e.detection = detections[detection - 1];
      }
      if (has_alert) {
        auto a = std::make_shared<Alert>();
        a->rule = rule_.StepIsCorrelation(e.step)
                      ? rules_.correlations[rule_.rules[e.step]].info
                      : nullptr;
        size_t k;
        if (!ReadHash(r, a->id) || !r.I64(a->time) || !r.Count(k)) return false;
        for (size_t j = 0; j < k; ++j) {
          Evidence ev;
          uint64_t rule;
          if (!read_position(ev.position) || !r.I64(ev.time) || !ReadHash(r, ev.record_id) ||
              !r.U64(rule) || rule > infos.size()) {
            return false;
          }
          if (rule > 0) ev.rule = infos[rule - 1];
          a->evidence.push_back(std::move(ev));
        }
        e.alert = std::move(a);
      }
      Push(g, std::move(e));
    }
    // The running sum as it was: recomputing it would round differently.
    g.sum.sum = sum;
    g.sum.compensation = compensation;
    if (!r.done()) return false;
    if (groups_.size() >= max_groups_) return true;  // a smaller cap than before: keep the first
    g.persisted = true;
    std::string key = GroupKey(values);
    auto [it, fresh] = groups_.insert_or_assign(std::move(key), std::move(g));
    (void)fresh;
    return true;
  }

  // After Restore: the update order, and the timers of windows the watermark has not passed.
  void FinishRestore(TimeNs watermark, Correlator& c) {
    std::vector<std::pair<uint64_t, std::unordered_map<std::string, Group>::iterator>> order;
    order.reserve(groups_.size());
    for (auto it = groups_.begin(); it != groups_.end(); ++it) {
      order.emplace_back(it->second.touched, it);
    }
    std::sort(order.begin(), order.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    lru_.clear();
    for (auto& [touched, it] : order) {
      it->second.lru = lru_.insert(lru_.end(), &it->first);
      touch_seq_ = std::max(touch_seq_, touched);
      const Group& g = it->second;
      auto timer = [&](TimeNs t) {
        if (watermark == kNoTime || t >= watermark) {
          c.timers_.insert(Timer{t, rule_.level, index_, it->first});
        }
      };
      if (mode_ == Mode::kAtClose && g.episode_end != kNoTime) timer(g.episode_end);
      if (mode_ == Mode::kSequence) {
        for (const Entry& e : g.entries) {
          if (!trailing_ && e.step == present_.back()) timer(e.time);
          if (trailing_ && e.step == present_.front()) timer(e.time + rule_.timespan);
        }
      }
    }
  }

 private:
  // A stream position whose source name is kept once per window (sources_), not per entry: an
  // open group holds at least one entry, and names of files and topics are often too long for
  // the small-string buffer.
  struct EntryPosition {
    const std::string* source = nullptr;
    int32_t partition = -1;
    int64_t offset = -1;
  };
  EntryPosition Intern(const SourcePosition& p) {
    return EntryPosition{&*sources_.insert(p.source).first, p.partition, p.offset};
  }

  struct Entry {
    TimeNs time;
    Hash128 record_id;
    EntryPosition position;
    uint32_t step;
    uint32_t detection;
    std::string value;
    bool missing_value;
    double number;                       // metric types
    std::shared_ptr<const Alert> alert;  // chains
  };
  struct Aggregates {
    std::map<std::string, int64_t> value_counts;  // value_count: distinct values in the window
    std::map<uint32_t, int64_t> step_counts;      // temporal: referenced rules in the window
    std::vector<double> sorted;                   // value_percentile: the values, sorted
  };
  // The group-by values are not kept apart: the group's key encodes them (GroupKey).
  struct Group {
    EntryQueue<Entry> entries;
    // Its place in `lru_`.
    std::list<const std::string*>::iterator lru;
    // value_count, temporal and value_percentile only: made by the first signal that needs them,
    // so the groups of other types (most open groups) do not carry empty maps.
    std::unique_ptr<Aggregates> aggregates;
    Aggregates& agg() {
      if (!aggregates) aggregates = std::make_unique<Aggregates>();
      return *aggregates;
    }
    const Aggregates& agg() const {
      static const Aggregates kNone;
      return aggregates ? *aggregates : kNone;
    }
    CompensatedSum sum;                           // metric types
    TimeNs last_time = kNoTime;
    TimeNs episode_start = kNoTime;  // kAtClose: the open episode's window
    TimeNs episode_end = kNoTime;
    uint64_t touched = 0;    // the window's update count when it was last updated
    bool changed = false;    // checkpoints: updated since the last TakeChanges
    bool persisted = false;  // checkpoints: in the stored state
  };

  using GroupIt = std::unordered_map<std::string, Group>::iterator;

  void MarkChanged(GroupIt it) {
    if (track_ && !it->second.changed) {
      it->second.changed = true;
      changed_.push_back(it->first);
    }
  }

  void Encode(const Group& g, std::string& out) const {
    Writer w(out);
    w.U64(kStateVersion);
    w.U64(static_cast<uint64_t>(rule_.type));
    w.U64(rule_.rules.size());
    w.U64(rule_.group_by.size());
    w.U64(g.touched);
    w.I64(g.last_time);
    w.I64(g.episode_start);
    w.I64(g.episode_end);
    w.Double(g.sum.sum);
    w.Double(g.sum.compensation);
    // Dictionaries of the sources and rule ids the entries name, written before the entries.
    Dictionary sources, rule_ids;
    std::string body;
    Writer b(body);
    auto position = [&](const auto& p) {
      if constexpr (std::is_same_v<std::decay_t<decltype(p)>, EntryPosition>) {
        b.U64(sources.Index(*p.source));
      } else {
        b.U64(sources.Index(p.source));
      }
      b.I64(p.partition);
      b.I64(p.offset);
    };
    auto rule_index = [&](const RuleInfo* info) -> uint64_t {
      return info == nullptr ? 0 : rule_ids.Index(info->id) + 1;
    };
    b.U64(g.entries.size());
    for (const Entry& e : g.entries) {
      b.I64(e.time);
      WriteHash(b, e.record_id);
      position(e.position);
      b.U64(e.step);
      b.U64(e.detection < rules_.detections.size()
                ? rule_index(rules_.detections[e.detection].info.get())
                : 0);
      b.Str(e.value);
      b.Bool(e.missing_value);
      b.Double(e.number);
      b.Bool(e.alert != nullptr);
      if (e.alert) {
        // What an outer window uses of a chained alert: its id and evidence.
        WriteHash(b, e.alert->id);
        b.I64(e.alert->time);
        b.U64(e.alert->evidence.size());
        for (const Evidence& ev : e.alert->evidence) {
          position(ev.position);
          b.I64(ev.time);
          WriteHash(b, ev.record_id);
          b.U64(rule_index(ev.rule.get()));
        }
      }
    }
    sources.Write(w);
    rule_ids.Write(w);
    out.append(body);
  }

  bool IsAbsent(size_t k) const { return k < rule_.absent.size() && rule_.absent[k]; }

  Mode ChooseMode() const {
    const auto& c = rule_.condition;
    switch (rule_.type) {
      case CorrelationType::kEventCount:
      case CorrelationType::kValueCount:
      case CorrelationType::kValueSum:
        return c.LowerBoundsOnly() ? Mode::kEager : Mode::kAtClose;
      case CorrelationType::kTemporal:
        if (rule_.step_condition) {
          return rule_.step_condition->Monotone() ? Mode::kEager : Mode::kAtClose;
        }
        return !c.Any() || c.LowerBoundsOnly() ? Mode::kEager : Mode::kAtClose;
      case CorrelationType::kTemporalOrdered:
        if (rule_.HasAbsentSteps()) return Mode::kSequence;
        return !c.Any() || c.LowerBoundsOnly() ? Mode::kEager : Mode::kAtClose;
      case CorrelationType::kValueAvg:
      case CorrelationType::kValuePercentile:
        return Mode::kAtClose;
    }
    return Mode::kAtClose;
  }

  void Push(Group& g, Entry e) {
    if (!e.missing_value && rule_.type == CorrelationType::kValueCount) {
      ++g.agg().value_counts[e.value];
    }
    if (IsMetricType(rule_.type)) {
      g.sum.Add(e.number);
      if (rule_.type == CorrelationType::kValuePercentile) {
        std::vector<double>& sorted = g.agg().sorted;
        sorted.insert(std::upper_bound(sorted.begin(), sorted.end(), e.number), e.number);
      }
    }
    if (rule_.type == CorrelationType::kTemporal) ++g.agg().step_counts[e.step];
    g.entries.push_back(std::move(e));
  }

  void PopFront(Group& g) {
    Entry& e = g.entries.front();
    if (!e.missing_value && rule_.type == CorrelationType::kValueCount) {
      auto& counts = g.agg().value_counts;
      auto v = counts.find(e.value);
      if (v != counts.end() && --v->second == 0) counts.erase(v);
    }
    if (IsMetricType(rule_.type)) {
      g.sum.Add(-e.number);
      if (rule_.type == CorrelationType::kValuePercentile) {
        std::vector<double>& sorted = g.agg().sorted;
        auto v = std::lower_bound(sorted.begin(), sorted.end(), e.number);
        if (v != sorted.end()) sorted.erase(v);
      }
    }
    if (rule_.type == CorrelationType::kTemporal) {
      auto& counts = g.agg().step_counts;
      auto s = counts.find(e.step);
      if (s != counts.end() && --s->second == 0) counts.erase(s);
    }
    g.entries.pop_front();
    // An empty window sums to exactly zero, whatever rounding the removals left.
    if (g.entries.empty()) g.sum = CompensatedSum{};
  }

  // Whether the condition holds for the group's window; `measure` is what it compared.
  bool Holds(const Group& g, double& measure) const {
    const size_t steps = rule_.rules.size();
    switch (rule_.type) {
      case CorrelationType::kEventCount:
        measure = static_cast<double>(g.entries.size());
        return rule_.condition.Holds(measure);
      case CorrelationType::kValueCount:
        measure = static_cast<double>(g.agg().value_counts.size());
        return rule_.condition.Holds(measure);
      case CorrelationType::kTemporal:
        measure = static_cast<double>(g.agg().step_counts.size());
        if (rule_.step_condition) {
          std::vector<bool> present(steps, false);
          for (const auto& [step, n] : g.agg().step_counts) {
            if (step < steps) present[step] = true;
          }
          return rule_.step_condition->Holds(present);
        }
        return rule_.condition.Any() ? rule_.condition.Holds(measure)
                                     : g.agg().step_counts.size() == steps;
      case CorrelationType::kTemporalOrdered:
        measure = static_cast<double>(OrderedSteps(g));
        return rule_.condition.Any() ? rule_.condition.Holds(measure)
                                     : static_cast<size_t>(measure) == steps;
      case CorrelationType::kValueSum:
        measure = g.sum.Value();
        return rule_.condition.Holds(measure);
      case CorrelationType::kValueAvg:
        if (g.entries.empty()) return false;
        measure = g.sum.Value() / static_cast<double>(g.entries.size());
        return rule_.condition.Holds(measure);
      case CorrelationType::kValuePercentile:
        if (g.agg().sorted.empty()) return false;
        measure = Percentile(g.agg().sorted, rule_.percentile);
        return rule_.condition.Holds(measure);
    }
    return false;
  }

  // temporal_ordered: how many leading steps occur in order within the window.
  int64_t OrderedSteps(const Group& g) const {
    uint32_t next = 0;
    for (const Entry& e : g.entries) {
      if (next < rule_.rules.size() && e.step == next) ++next;
    }
    return next;
  }

  // A sequence with absent steps over the signals in [start, end]: the present steps occur in
  // order, and no absent step occurs in its gap (inclusive of the neighbouring steps' times):
  // before the first present step (from `start`), between two, or after the last (to `end`).
  // With trailing absent steps the first present step must be at `anchor`; otherwise the last
  // must be at `end`.
  bool SequenceHolds(const Group& g, TimeNs anchor, TimeNs start, TimeNs end) const {
    const size_t m = present_.size();
    std::vector<bool> alive(m + 1, false);
    alive[0] = true;
    bool reached_at_end = false;
    std::vector<bool> seen(rule_.rules.size(), false);
    auto it = g.entries.begin();
    while (it != g.entries.end() && it->time < start) ++it;
    while (it != g.entries.end() && it->time <= end) {
      // One batch of signals with equal event time: their order within it is arbitrary, so an
      // absent step at the same time as a present one counts as in the gap.
      const TimeNs t = it->time;
      std::fill(seen.begin(), seen.end(), false);
      for (; it != g.entries.end() && it->time == t; ++it) seen[it->step] = true;
      auto kill = [&] {
        for (uint32_t k = 0; k < seen.size(); ++k) {
          if (seen[k] && IsAbsent(k)) alive[gap_of_[k]] = false;
        }
      };
      kill();
      for (size_t k = 0; k < m; ++k) {
        if (!alive[k] || !seen[present_[k]]) continue;
        if (k == 0 && anchor != kNoTime && t != anchor) continue;
        alive[k + 1] = true;
        if (k + 1 == m && t == end) reached_at_end = true;
      }
      kill();
      if (t == end && reached_at_end && !alive[m]) reached_at_end = false;
    }
    return trailing_ ? alive[m] : reached_at_end;
  }

  // Drops the least recently updated group (the oldest last signal; among equals, the one
  // updated first).
  void EvictOldest(CorrelatorStats& stats) {
    if (lru_.empty()) return;
    Erase(groups_.find(*lru_.front()));
    ++stats.evicted_groups;
  }

  void Erase(std::unordered_map<std::string, Group>::iterator it) {
    if (track_ && it->second.persisted) erased_.push_back(it->first);
    lru_.erase(it->second.lru);
    groups_.erase(it);
  }

  std::string StepName(size_t k) const {
    const RuleInfo* info = rule_.StepIsCorrelation(k)
                               ? rules_.correlations[rule_.rules[k]].info.get()
                               : rules_.detections[rule_.rules[k]].info.get();
    if (info == nullptr) return fmt::format("step {}", k + 1);
    return info->name.empty() ? info->id : info->name;
  }

  std::string ConditionText() const {
    if (rule_.step_condition) return rule_.condition_text;
    if (mode_ == Mode::kSequence) {
      std::string out;
      for (size_t k = 0; k < rule_.rules.size(); ++k) {
        if (!out.empty()) out += " -> ";
        if (IsAbsent(k)) out += "not ";
        out += StepName(k);
      }
      return out;
    }
    std::string bounds = rule_.condition.ToString();
    switch (rule_.type) {
      case CorrelationType::kValueSum:
        return fmt::format("sum({}) {}", rule_.value_field, bounds);
      case CorrelationType::kValueAvg:
        return fmt::format("avg({}) {}", rule_.value_field, bounds);
      case CorrelationType::kValuePercentile:
        return fmt::format("p{}({}) {}", rule_.percentile, rule_.value_field, bounds);
      default:
        break;
    }
    return bounds.empty() ? "all rules" : bounds;
  }

  Alert MakeAlert(const std::string& key, const Group& g, double measure, TimeNs window_start,
                  TimeNs window_end, TimeNs time) const {
    Alert a;
    a.rule = rule_.info;
    a.kind = std::string(CorrelationTypeName(rule_.type));
    a.time = time;
    a.window_start = window_start;
    a.window_end = window_end;
    std::vector<std::string> values;
    DecodeGroupKey(key, values);  // keys are made by GroupKey: they decode
    for (size_t i = 0; i < rule_.group_by.size() && i < values.size(); ++i) {
      a.group.emplace_back(rule_.group_by[i], std::move(values[i]));
    }
    SetGroupEntities(rule_, a);
    for (const Entry& e : g.entries) {
      if (e.time < window_start || e.time > window_end) continue;
      if (e.alert) {
        a.evidence.insert(a.evidence.end(), e.alert->evidence.begin(), e.alert->evidence.end());
        a.chained.push_back(e.alert->id);
      } else {
        a.evidence.push_back(Evidence{SourcePosition{*e.position.source, e.position.partition,
                                                     e.position.offset},
                                      e.time, e.record_id,
                                      e.detection < rules_.detections.size()
                                          ? rules_.detections[e.detection].info
                                          : nullptr});
      }
    }
    a.condition = ConditionText();
    if (IsMetricType(rule_.type)) {
      a.field = rule_.value_field;
      a.value = measure;
      a.numeric = static_cast<int64_t>(g.entries.size());
      a.count = a.numeric;
    } else {
      a.count = static_cast<int64_t>(measure);
    }
    if (rule_.type == CorrelationType::kValueCount) {
      for (const auto& [value, count] : g.agg().value_counts) a.values.push_back(value);
    }
    a.id = ComputeAlertId(a);
    return a;
  }

  const RuleSet& rules_;
  const CorrelationRule& rule_;
  uint32_t index_;
  size_t max_groups_;
  Mode mode_ = Mode::kEager;
  std::vector<uint32_t> present_;  // kSequence: the steps that must occur
  std::vector<uint32_t> gap_of_;   // kSequence: for an absent step, how many present ones precede
  bool trailing_ = false;          // kSequence: an absent step follows the last present one
  std::unordered_map<std::string, Group> groups_;
  // The source names entries point to (EntryPosition); a few topics or files, never erased.
  std::unordered_set<std::string> sources_;
  // Group keys (pointing into groups_, whose nodes do not move), least recently updated first.
  std::list<const std::string*> lru_;
  uint64_t touch_seq_ = 0;
  // Checkpoints: groups changed, and stored groups erased, since TakeChanges.
  bool track_ = false;
  std::vector<std::string> changed_;
  std::vector<std::string> erased_;
};

bool Correlator::PendingOrder::operator()(const Pending& x, const Pending& y) const {
  // std heaps keep the largest on top; "greater" puts the earliest signal there.
  const Signal& a = x.signal;
  const Signal& b = y.signal;
  if (a.time != b.time) return a.time > b.time;
  if (x.level != y.level) return x.level > y.level;
  if (a.record_id != b.record_id) return a.record_id > b.record_id;
  if (a.correlation != b.correlation) return a.correlation > b.correlation;
  return a.step > b.step;
}

Correlator::Correlator(const RuleSet& rules, CorrelatorOptions options)
    : rules_(rules), options_(std::move(options)) {
  for (uint32_t i = 0; i < rules.correlations.size(); ++i) {
    windows_.push_back(std::make_unique<Window>(rules, i, options_.max_groups_per_rule));
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

void Correlator::Push(Signal signal) {
  const uint32_t level = rules_.correlations[signal.correlation].level;
  pending_.push_back(Pending{std::move(signal), level});
  std::push_heap(pending_.begin(), pending_.end(), PendingOrder{});
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
  Push(std::move(signal));
  return true;
}

void Correlator::AddChained(Signal signal) { Push(std::move(signal)); }

void Correlator::ChainSignals(const RuleSet& rules, uint32_t correlation,
                              const std::shared_ptr<const Alert>& alert, std::vector<Signal>& out) {
  if (correlation >= rules.correlation_uses.size()) return;
  for (const CorrelationUse& use : rules.correlation_uses[correlation]) {
    const CorrelationRule& outer = rules.correlations[use.correlation];
    Signal s;
    s.correlation = use.correlation;
    s.step = use.step;
    s.detection = UINT32_MAX;
    s.time = alert->time;
    s.record_id = alert->id;
    s.alert = alert;
    auto read = [&](PathId index, std::string& value) {
      if (index >= alert->group.size()) return false;
      value = alert->group[index].second;
      return true;
    };
    if (use.step < outer.group_by_paths.size()) {
      for (const PathId index : outer.group_by_paths[use.step]) {
        s.group.emplace_back();
        if (!read(index, s.group.back())) s.missing_group = true;
      }
    }
    if (use.step < outer.value_paths.size()) {
      s.missing_value = !read(outer.value_paths[use.step], s.value);
    } else {
      s.missing_value = true;
    }
    out.push_back(std::move(s));
  }
}

void Correlator::Fired(uint32_t correlation, Alert alert, const std::string& group,
                       std::vector<Alert>& alerts) {
  const CorrelationRule& rule = rules_.correlations[correlation];
  if (correlation < rules_.correlation_uses.size() &&
      !rules_.correlation_uses[correlation].empty()) {
    ++stats_.chained_alerts;
    auto shared = std::make_shared<const Alert>(alert);
    chained_.clear();
    ChainSignals(rules_, correlation, shared, chained_);
    for (Signal& s : chained_) {
      if (options_.chain_router) {
        options_.chain_router(std::move(s));
      } else {
        Push(std::move(s));
      }
    }
  }
  if (!rule.emits_alerts) return;
  if (rule.suppress > 0) {
    Suppression& s = suppression_[correlation][group];
    if (track_changes_) suppression_changed_.emplace_back(correlation, group);
    if (s.last_emitted != kNoTime && alert.time <= s.last_emitted + rule.suppress) {
      if (s.count++ == 0) s.first = alert.time;
      s.last = alert.time;
      ++stats_.suppressed_alerts;
      return;
    }
    alert.suppressed = s.count;
    alert.suppressed_first = s.count > 0 ? s.first : kNoTime;
    alert.suppressed_last = s.count > 0 ? s.last : kNoTime;
    s = Suppression{alert.time, 0, kNoTime, kNoTime};
  }
  ++stats_.alerts;
  alerts.push_back(std::move(alert));
}

void Correlator::Release(TimeNs below, bool all, std::vector<Alert>& alerts) {
  for (;;) {
    const bool signal_ready = !pending_.empty() && (all || pending_.front().signal.time < below);
    const bool timer_ready = !timers_.empty() && (all || timers_.begin()->time < below);
    if (!signal_ready && !timer_ready) break;
    bool take_signal = signal_ready;
    if (signal_ready && timer_ready) {
      // Signals before window closings at equal time and level: a window includes its end.
      const Pending& p = pending_.front();
      const Timer& t = *timers_.begin();
      take_signal = std::tie(p.signal.time, p.level) <= std::tie(t.time, t.level);
    }
    if (take_signal) {
      std::pop_heap(pending_.begin(), pending_.end(), PendingOrder{});
      Signal s = std::move(pending_.back().signal);
      pending_.pop_back();
      windows_[s.correlation]->Apply(s, *this, alerts);
    } else {
      const Timer t = *timers_.begin();
      timers_.erase(timers_.begin());
      windows_[t.correlation]->Close(t.time, t.group, *this, alerts);
    }
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
    ExpireSuppression(watermark);
    last_expiry_ = watermark;
  }
}

void Correlator::Flush(std::vector<Alert>& alerts) { Release(0, true, alerts); }

void Correlator::ExpireSuppression(TimeNs watermark) {
  for (auto& [correlation, groups] : suppression_) {
    const TimeNs suppress = rules_.correlations[correlation].suppress;
    for (auto it = groups.begin(); it != groups.end();) {
      // Kept while it holds alerts back, and while it has suppressed alerts to report.
      if (it->second.count == 0 && it->second.last_emitted + suppress < watermark) {
        if (track_changes_) suppression_changed_.emplace_back(correlation, it->first);
        it = groups.erase(it);
      } else {
        ++it;
      }
    }
  }
}

// Checkpoints ---------------------------------------------------------------------------------

bool ParseStateKey(std::string_view key, StateKey& out) {
  out = StateKey{};
  if (key.empty()) return false;
  out.kind = key[0];
  if (out.kind == 'm') return key == kStreamsStateKey;
  if (out.kind != 'g' && out.kind != 's') return false;
  const size_t nul = key.find('\0', 1);
  if (nul == std::string_view::npos) return false;
  out.rule_id = std::string(key.substr(1, nul - 1));
  return DecodeGroupKey(key.substr(nul + 1), out.group);
}

void Correlator::TrackChanges() {
  track_changes_ = true;
  for (auto& w : windows_) w->TrackChanges();
}

void Correlator::TakeChanges(StateChanges& out) {
  for (auto& w : windows_) w->TakeChanges(out);
  std::sort(suppression_changed_.begin(), suppression_changed_.end());
  suppression_changed_.erase(std::unique(suppression_changed_.begin(), suppression_changed_.end()),
                             suppression_changed_.end());
  for (const auto& [correlation, group] : suppression_changed_) {
    std::string key = StateKeyFor('s', rules_.correlations[correlation].info->id, group);
    const Suppression* found = nullptr;
    if (auto g = suppression_.find(correlation); g != suppression_.end()) {
      if (auto it = g->second.find(group); it != g->second.end()) found = &it->second;
    }
    if (found == nullptr) {
      out.deletes.push_back(std::move(key));
      continue;
    }
    out.puts.emplace_back(std::move(key), EncodeSuppression(*found));
  }
  suppression_changed_.clear();
}

std::string Correlator::EncodeSuppression(const Suppression& s) {
  std::string value;
  Writer w(value);
  w.U64(kStateVersion);
  w.I64(s.last_emitted);
  w.I64(s.count);
  w.I64(s.first);
  w.I64(s.last);
  return value;
}

void Correlator::SaveAll(StateChanges& out) const {
  for (const auto& w : windows_) w->SaveAll(out);
  for (const auto& [correlation, groups] : suppression_) {
    for (const auto& [group, s] : groups) {
      out.puts.emplace_back(StateKeyFor('s', rules_.correlations[correlation].info->id, group),
                            EncodeSuppression(s));
    }
  }
}

void Correlator::TakePending(std::vector<Signal>& out) {
  for (Pending& p : pending_) out.push_back(std::move(p.signal));
  pending_.clear();
}

std::string Correlator::SaveStreams(TimeNs watermark, TimeNs last_expiry) const {
  std::string out;
  Writer w(out);
  w.U64(kStateVersion);
  w.I64(watermark);
  w.I64(last_expiry);
  w.U64(streams_.size());
  for (const auto& [key, stream] : streams_) {
    w.Str(key.first);
    w.I64(key.second);
    w.I64(stream.max_time);
    w.Bool(stream.idle);
  }
  return out;
}

bool Correlator::RestoreStreams(std::string_view blob, TimeNs& last_expiry) {
  Reader r(blob);
  uint64_t version;
  TimeNs watermark;
  size_t n;
  if (!r.U64(version) || version != kStateVersion || !r.I64(watermark) || !r.I64(last_expiry) ||
      !r.Count(n)) {
    return false;
  }
  std::map<std::pair<std::string, int32_t>, Stream> streams;
  for (size_t i = 0; i < n; ++i) {
    std::string source;
    int32_t partition;
    Stream s;
    if (!r.Str(source) || !r.I32(partition) || !r.I64(s.max_time) || !r.Bool(s.idle)) {
      return false;
    }
    streams[{std::move(source), partition}] = s;
  }
  if (!r.done()) return false;
  streams_ = std::move(streams);
  watermark_ = watermark;
  return true;
}

Status Correlator::RestoreEntry(const StateKey& key, std::string_view value) {
  if (correlation_by_id_.empty()) {
    for (uint32_t i = 0; i < rules_.correlations.size(); ++i) {
      correlation_by_id_.emplace(rules_.correlations[i].info->id, i);
    }
    for (uint32_t i = 0; i < rules_.detections.size(); ++i) {
      detection_by_id_.emplace(rules_.detections[i].info->id, i);
    }
  }
  auto c = correlation_by_id_.find(key.rule_id);
  if (c == correlation_by_id_.end()) {
    ++stats_.dropped_state;
    return Ok();
  }
  if (key.kind == 's') {
    Reader r(value);
    uint64_t version;
    Suppression s;
    if (!r.U64(version) || version != kStateVersion || !r.I64(s.last_emitted) ||
        !r.I64(s.count) || !r.I64(s.first) || !r.I64(s.last) || !r.done()) {
      return Error(fmt::format("checkpoint: damaged suppression state of rule '{}'", key.rule_id));
    }
    if (rules_.correlations[c->second].suppress > 0) {
      suppression_[c->second][GroupKey(key.group)] = s;
    } else {
      ++stats_.dropped_state;
    }
    return Ok();
  }
  bool shape_ok = true;
  if (!windows_[c->second]->Restore(key.group, value, *this, shape_ok)) {
    return Error(fmt::format("checkpoint: damaged window state of rule '{}'", key.rule_id));
  }
  if (shape_ok) {
    ++stats_.restored_groups;
  } else {
    ++stats_.dropped_state;
  }
  return Ok();
}

void Correlator::FinishRestore(TimeNs watermark, TimeNs last_expiry) {
  watermark_ = watermark;
  last_expiry_ = last_expiry;
  for (auto& w : windows_) w->FinishRestore(watermark, *this);
}

void Correlator::PendingFloor(std::map<std::pair<std::string, int32_t>, int64_t>& floor) const {
  for (const Pending& p : pending_) {
    if (p.signal.alert) continue;  // chained: made from alerts, not read from a stream
    const SourcePosition& pos = p.signal.position;
    auto [it, fresh] = floor.try_emplace({pos.source, pos.partition}, pos.offset);
    if (!fresh) it->second = std::min(it->second, pos.offset);
  }
}

void Correlator::OpenGroupsByCorrelation(std::vector<uint64_t>& per_correlation) const {
  for (size_t c = 0; c < windows_.size() && c < per_correlation.size(); ++c) {
    per_correlation[c] += windows_[c]->groups();
  }
}

size_t Correlator::open_groups() const {
  size_t n = 0;
  for (const auto& w : windows_) n += w->groups();
  return n;
}

}  // namespace tuttle
