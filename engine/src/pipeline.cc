#include "tuttle/engine/pipeline.h"

#include "tuttle/engine/partitioning.h"

#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

namespace tuttle {
namespace {

// One event's part of a batch: its time, and the range of signals it produced.
struct EventResult {
  uint32_t record = 0;
  TimeNs time = kNoTime;
  uint32_t signal_begin = 0;
  uint32_t signal_end = 0;
  uint32_t single_begin = 0;  // its single-event alerts in Work::singles
  uint32_t single_end = 0;
};

struct BatchCounters {
  uint64_t events = 0;
  uint64_t matched_events = 0;
  uint64_t rule_matches = 0;
  uint64_t parse_errors = 0;
};

// A token: one batch on its way through the stages.
struct Work {
  RecordBatch batch;
  std::vector<EventResult> events;
  std::vector<Signal> signals;
  std::vector<Alert> singles;
  std::vector<uint32_t> matched_rules;  // with metrics: every match's detection rule
  InventoryCollector inventory;
  BatchOutput out;
  BatchCounters counters;
  std::chrono::steady_clock::time_point read_at{};  // for the batch latency
  // The rule generation the batch is read, matched and correlated under.
  std::shared_ptr<const RuleSet> rules;
  std::shared_ptr<const RecordParser> parser;
  uint64_t generation = 0;

  void Reset() {
    batch.Clear();
    events.clear();
    signals.clear();
    singles.clear();
    matched_rules.clear();
    inventory.Clear();
    out = BatchOutput{};
    counters = BatchCounters{};
  }
};

// Per-thread state of the parallel stage.
struct ThreadState {
  std::unique_ptr<RecordParser::Worker> parser;
  std::unique_ptr<Detector::Worker> detector;
  std::vector<uint32_t> matched;
  // What `parser` and `detector` were made from: rebuilt when a batch of another generation
  // comes.
  const RecordParser* parser_of = nullptr;
  const RuleSet* rules_of = nullptr;
};

// Turns each event of a record into single-event alerts and signals.
class MatchHandler final : public RecordParser::EventHandler {
 public:
  MatchHandler(const RuleSet& rules, ThreadState& state, Work& work, uint32_t record,
               bool inventory, bool evidence, bool count_rules)
      : rules_(rules),
        state_(state),
        work_(work),
        record_(record),
        inventory_(inventory),
        evidence_(evidence),
        count_rules_(count_rules) {}

  void OnEvent(const Event& event) override {
    Work& w = work_;
    ++w.counters.events;
    EventResult result;
    result.record = record_;
    result.time = event.time;
    result.signal_begin = static_cast<uint32_t>(w.signals.size());
    result.single_begin = static_cast<uint32_t>(w.singles.size());
    state_.matched.clear();
    if (rules_.detector) state_.detector->Match(event, state_.matched);
    if (!state_.matched.empty()) {
      ++w.counters.matched_events;
      w.counters.rule_matches += state_.matched.size();
      if (count_rules_) {
        w.matched_rules.insert(w.matched_rules.end(), state_.matched.begin(),
                               state_.matched.end());
      }
    }
    for (const uint32_t r : state_.matched) {
      const DetectionRule& rule = rules_.detections[r];
      if (rule.emits_alerts) EmitSingle(event, rule);
      for (const CorrelationUse& use : rules_.uses[r]) EmitSignal(event, r, use);
    }
    result.signal_end = static_cast<uint32_t>(w.signals.size());
    result.single_end = static_cast<uint32_t>(w.singles.size());
    if (evidence_ && (result.signal_end > result.signal_begin ||
                      result.single_end > result.single_begin)) {
      w.out.evidence.push_back(EvidenceRecord{event.record_id, event.time, Position(),
                                              std::string(w.batch.bytes(record_))});
    }
    w.events.push_back(result);
    if (inventory_ && !event.derived) w.inventory.Observe(event, record_);
  }

  void OnRejectedPart(std::string_view part, const std::string& reason) override {
    ++work_.counters.parse_errors;
    DeadLetter d;
    d.kind = DeadLetter::Kind::kParse;
    d.position = Position();
    d.reason = reason;
    d.record = std::string(part);
    work_.out.dead_letters.push_back(std::move(d));
  }

 private:
  SourcePosition Position() const { return work_.batch.Position(record_); }

  void EmitSingle(const Event& event, const DetectionRule& rule) {
    Alert a;
    a.rule = rule.info;
    a.kind = "single";
    a.time = event.time;
    a.window_start = event.time;
    a.window_end = event.time;
    a.count = 1;
    a.product = std::string(event.log_source.product);
    a.service = std::string(event.log_source.service);
    a.tenant = std::string(event.tenant);
    a.entities = ToOwned(event.entities);
    a.details.assign(event.details.begin(), event.details.end());
    a.evidence.push_back(Evidence{Position(), event.time, event.record_id, rule.info});
    a.id = ComputeAlertId(a);
    work_.singles.push_back(std::move(a));
  }

  void EmitSignal(const Event& event, uint32_t detection, const CorrelationUse& use) {
    const CorrelationRule& c = rules_.correlations[use.correlation];
    Signal s;
    s.correlation = use.correlation;
    s.step = use.step;
    s.detection = detection;
    s.time = event.time;
    s.record_id = event.record_id;
    s.position = Position();
    const auto& paths = c.group_by_paths[use.step];
    s.group.reserve(paths.size());
    for (const PathId p : paths) {
      const FieldValue* v = p == kNoPath ? nullptr : event.fields->FindScalar(p);
      if (v == nullptr) {
        s.missing_group = true;
        s.group.emplace_back();
      } else {
        s.group.emplace_back(v->text);
      }
    }
    if (c.type == CorrelationType::kValueCount || IsMetricType(c.type)) {
      const PathId p = use.step < c.value_paths.size() ? c.value_paths[use.step] : kNoPath;
      const FieldValue* v = p == kNoPath ? nullptr : event.fields->FindScalar(p);
      if (v == nullptr) {
        s.missing_value = true;
      } else {
        s.value = std::string(v->text);
      }
    }
    work_.signals.push_back(std::move(s));
  }

  const RuleSet& rules_;
  ThreadState& state_;
  Work& work_;
  uint32_t record_;
  bool inventory_;
  bool evidence_;
  bool count_rules_;
};

// Shared by the stages: the first error stops the pipeline.
struct RunState {
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::string error;

  void Fail(const std::string& message) {
    std::lock_guard<std::mutex> lock(mu);
    if (!failed.exchange(true)) error = message;
  }
};


// A step of the correlate stage: the watermark after it, and the single-event alerts that come
// before the correlation alerts it releases (those of the record it is for).
struct Tick {
  TimeNs watermark = kNoTime;
  uint32_t single_begin = 0;
  uint32_t single_end = 0;
};

using StreamKey = std::pair<std::string, int32_t>;

// The last position of each stream in a batch, records and rejected input alike.
void LastPositions(const RecordBatch& b, std::vector<SourcePosition>& out) {
  std::map<std::pair<uint32_t, int32_t>, int64_t> last;
  for (size_t i = 0; i < b.size(); ++i) {
    const RecordMeta& m = b.meta(i);
    auto [it, fresh] = last.try_emplace({m.source, m.partition}, m.offset);
    if (!fresh) it->second = std::max(it->second, m.offset);
  }
  for (const RejectedRecord& r : b.rejected()) {
    auto [it, fresh] = last.try_emplace({r.meta.source, r.meta.partition}, r.meta.offset);
    if (!fresh) it->second = std::max(it->second, r.meta.offset);
  }
  for (const auto& [key, offset] : last) {
    out.push_back(SourcePosition{b.sources()[key.first], key.second, offset});
  }
}

// Scale-out mode: the batch's single-event alerts in record order, its signals by record, and
// where each stream got to.
void ExportBatch(Work& w) {
  const RecordBatch& b = w.batch;
  for (const EventResult& ev : w.events) {
    for (uint32_t a = ev.single_begin; a < ev.single_end; ++a) {
      w.out.alerts.push_back(std::move(w.singles[a]));
    }
    if (ev.signal_begin == ev.signal_end) continue;
    auto& exported = w.out.exported;
    const SourcePosition position = b.Position(ev.record);
    if (exported.empty() || exported.back().position != position) {
      exported.push_back(ExportedRecord{position, std::string(b.bytes(ev.record)), {}});
    }
    for (uint32_t s = ev.signal_begin; s < ev.signal_end; ++s) {
      exported.back().signals.push_back(std::move(w.signals[s]));
    }
  }
  // Per stream: newest event time, last record, and whether it went idle after its last record.
  struct Progress {
    TimeNs time = kNoTime;
    int64_t offset = -1;
    int64_t last_record = -1;  // index in the batch
    bool idle = false;
    bool released = false;
  };
  std::map<std::pair<uint32_t, int32_t>, Progress> streams;
  for (const EventResult& ev : w.events) {
    const RecordMeta& m = b.meta(ev.record);
    Progress& p = streams[{m.source, m.partition}];
    if (ev.time != kNoTime && (p.time == kNoTime || ev.time > p.time)) p.time = ev.time;
  }
  for (size_t i = 0; i < b.size(); ++i) {
    const RecordMeta& m = b.meta(i);
    Progress& p = streams[{m.source, m.partition}];
    p.offset = std::max(p.offset, m.offset);
    p.last_record = static_cast<int64_t>(i);
  }
  for (const StreamEvent& e : b.stream_events()) {
    if (e.kind == StreamEvent::Kind::kAssigned) continue;
    Progress& p = streams[{e.source, e.partition}];
    if (static_cast<int64_t>(e.before_record) <= p.last_record) continue;
    p.idle = e.kind == StreamEvent::Kind::kIdle;
    p.released = e.kind == StreamEvent::Kind::kRevoked;
    // An idle stream's mark names its last record, so a reader elsewhere can tell whether
    // records came since.
    if (p.idle && e.end_offset > 0) p.offset = std::max(p.offset, e.end_offset - 1);
  }
  for (const auto& [key, p] : streams) {
    if (p.time == kNoTime && !p.idle && !p.released) continue;
    w.out.marks.push_back(
        StreamMark{b.sources()[key.first], key.second, p.offset, p.time, p.idle, p.released});
  }
}

// The order of correlation alerts released together, whatever shard they come from: event time,
// then the record that completed them, then the rule.
bool AlertOrder(const Alert& a, const Alert& b) {
  if (a.time != b.time) return a.time < b.time;
  const Hash128 ra = a.evidence.empty() ? Hash128{} : a.evidence.back().record_id;
  const Hash128 rb = b.evidence.empty() ? Hash128{} : b.evidence.back().record_id;
  if (ra != rb) return ra < rb;
  const std::string_view ida = a.rule ? std::string_view(a.rule->id) : std::string_view();
  const std::string_view idb = b.rule ? std::string_view(b.rule->id) : std::string_view();
  if (ida != idb) return ida < idb;
  return a.id < b.id;
}

// The running counters of PipelineStats in a registry, looked up once per run.
struct PipelineMetrics {
  explicit PipelineMetrics(MetricsRegistry& r)
      : batches(r.AddCounter("tuttle_pipeline_batches_total", "Batches written").With()),
        records(r.AddCounter("tuttle_pipeline_records_total", "Records read and written").With()),
        bytes(r.AddCounter("tuttle_pipeline_bytes_total", "Bytes of the records read").With()),
        events(r.AddCounter("tuttle_pipeline_events_total",
                            "Events parsed from the records (a record may hold several, or none)")
                   .With()),
        matched_events(r.AddCounter("tuttle_pipeline_matched_events_total",
                                    "Events at least one detection rule matched")
                           .With()),
        rule_matches(
            r.AddCounter("tuttle_pipeline_rule_matches_total", "Detection rule matches").With()),
        alerts(r.AddCounter("tuttle_pipeline_alerts_total",
                            "Alerts written, by kind: single (one event) or correlation",
                            {"kind"})),
        single_alerts(alerts.With({"single"})),
        correlation_alerts(alerts.With({"correlation"})),
        dead_letters(r.AddCounter("tuttle_pipeline_dead_letters_total",
                                  "Dead letters written, by reason (the reason up to its first "
                                  "':', or late)",
                                  {"reason"})),
        late_records(r.AddCounter("tuttle_pipeline_late_records_total",
                                  "Records older than the watermark: they missed correlation "
                                  "windows")
                         .With()),
        signals(r.AddCounter("tuttle_pipeline_signals_total",
                             "Signals (rule matches that feed correlation rules) correlated")
                    .With()),
        late_signals(r.AddCounter("tuttle_pipeline_late_signals_total",
                                  "Signals older than the watermark, left out of their windows")
                         .With()),
        evicted_groups(r.AddCounter("tuttle_pipeline_evicted_groups_total",
                                    "Correlation groups dropped at the per-rule cap "
                                    "(--max-groups)")
                           .With()),
        checkpoints(r.AddCounter("tuttle_pipeline_checkpoints_total", "Checkpoints taken").With()),
        checkpoint_bytes(r.AddCounter("tuttle_pipeline_checkpoint_bytes_total",
                                      "Bytes of window state written by checkpoints")
                             .With()),
        batch_latency(r.AddHistogram("tuttle_pipeline_batch_latency_seconds",
                                     "Seconds from reading a batch to its results written and "
                                     "its positions committed",
                                     LatencyBuckets())
                          .With()),
        records_by_source(r.AddCounter("tuttle_source_records_total",
                                       "Records read, by source (Kafka topic, or file)",
                                       {"source"})),
        matches_by_rule(r.AddCounter("tuttle_rule_matches_total",
                                     "Events each detection rule matched", {"rule_id", "rule"})),
        alerts_by_rule(r.AddCounter("tuttle_rule_alerts_total",
                                    "Alerts written, by rule and severity",
                                    {"rule_id", "rule", "severity"})),
        open_groups(r.AddGauge("tuttle_pipeline_open_groups",
                               "Correlation groups open (windows being filled), after the last "
                               "batch")
                        .With()),
        open_groups_by_rule(r.AddGauge("tuttle_correlation_open_groups",
                                       "Open correlation groups, by correlation rule",
                                       {"rule_id", "rule"})) {}

  // Series per rule of one rule generation, looked up once per generation.
  Counter& Source(const std::string& source) {
    auto it = source_series.find(source);
    if (it == source_series.end()) {
      it = source_series.emplace(source, &records_by_source.With({source})).first;
    }
    return *it->second;
  }
  Counter& Matches(const RuleSet& rules, uint32_t detection) {
    return PerRule(rules, rules.detections, detection, match_series, match_series_of,
                   matches_by_rule);
  }
  // tuttle_rule_alerts_total for each alert.
  void CountAlerts(const std::vector<Alert>& written) {
    for (const Alert& a : written) {
      if (!a.rule) continue;
      auto it = alert_series.find(a.rule.get());
      if (it == alert_series.end()) {
        const RuleInfo& info = *a.rule;
        alert_infos.push_back(a.rule);
        it = alert_series
                 .emplace(&info, &alerts_by_rule.With({info.id, info.title, LevelName(info.level)}))
                 .first;
      }
      it->second->Add();
    }
  }
  Gauge& OpenGroups(const RuleSet& rules, uint32_t correlation) {
    if (group_series_of != &rules) {
      // A reload: rules no longer loaded have no open groups.
      for (Gauge* g : group_series) {
        if (g != nullptr) g->Set(0);
      }
    }
    return PerRule(rules, rules.correlations, correlation, group_series, group_series_of,
                   open_groups_by_rule);
  }

  // The series of rule `i` of `rules` (labelled rule id and title), cached per rule generation.
  template <class T, class Rules>
  static T& PerRule(const RuleSet& rules, const Rules& list, uint32_t i, std::vector<T*>& cache,
                    const RuleSet*& cache_of, MetricFamily<T>& family) {
    if (cache_of != &rules) {
      cache.assign(list.size(), nullptr);
      cache_of = &rules;
    }
    T*& series = cache[i];
    if (series == nullptr) series = &family.With({list[i].info->id, list[i].info->title});
    return *series;
  }

  Counter& batches;
  Counter& records;
  Counter& bytes;
  Counter& events;
  Counter& matched_events;
  Counter& rule_matches;
  MetricFamily<Counter>& alerts;
  Counter& single_alerts;
  Counter& correlation_alerts;
  MetricFamily<Counter>& dead_letters;
  Counter& late_records;
  Counter& signals;
  Counter& late_signals;
  Counter& evicted_groups;
  Counter& checkpoints;
  Counter& checkpoint_bytes;
  Histogram& batch_latency;
  MetricFamily<Counter>& records_by_source;
  MetricFamily<Counter>& matches_by_rule;
  MetricFamily<Counter>& alerts_by_rule;
  Gauge& open_groups;
  MetricFamily<Gauge>& open_groups_by_rule;
  std::map<std::string, Counter*, std::less<>> source_series;
  const RuleSet* match_series_of = nullptr;
  std::vector<Counter*> match_series;
  // By the address of the alerts' RuleInfo; `alert_infos` keeps them alive, so that an address
  // is never reused for another rule.
  std::map<const RuleInfo*, Counter*> alert_series;
  std::vector<std::shared_ptr<const RuleInfo>> alert_infos;
  const RuleSet* group_series_of = nullptr;
  std::vector<Gauge*> group_series;
  // A dead-letter reason's series, looked up in the family once per run and reason.
  Counter& DeadLetters(const std::string& reason) {
    auto it = dead_letter_series.find(reason);
    if (it == dead_letter_series.end()) {
      it = dead_letter_series.emplace(reason, &dead_letters.With({reason})).first;
    }
    return *it->second;
  }
  std::map<std::string, Counter*, std::less<>> dead_letter_series;
  // The correlators' totals last published; their stats are cumulative.
  uint64_t published_signals = 0;
  uint64_t published_late_signals = 0;
  uint64_t published_evicted = 0;
};

}  // namespace

std::string LateReason(const RuleSet& rules, const std::set<uint32_t>& correlations,
                       TimeNs event_time, TimeNs watermark) {
  std::string titles;
  for (const uint32_t c : correlations) {
    if (!titles.empty()) titles += "; ";
    titles += rules.correlations[c].info->title;
  }
  return fmt::format("late by {:.3f} s (event time {} < watermark {}); missed windows of: {}",
                     static_cast<double>(watermark - event_time) / kNsPerSecond,
                     FormatTimestamp(event_time), FormatTimestamp(watermark), titles);
}

// Per-rule cost (`tuttle_rule_evaluations_total`, `tuttle_rule_evaluation_seconds_total`),
// summed from the detector's workers when scraped. A reload retires a detector: its totals are
// kept by rule id, so the counters carry on across generations.
class RuleCostCollector {
 public:
  explicit RuleCostCollector(std::shared_ptr<const RuleSet> rules) : rules_(std::move(rules)) {}

  // The correlate stage's first batch under `next`: every batch of the old rules is matched.
  void Retire(std::shared_ptr<const RuleSet> next) {
    std::lock_guard<std::mutex> lock(mu_);
    Sum(retired_);
    rules_ = std::move(next);
  }

  void Collect(std::string& out) const {
    std::map<std::string, Entry> totals;
    {
      std::lock_guard<std::mutex> lock(mu_);
      totals = retired_;
      Sum(totals);
    }
    if (totals.empty()) return;
    out += "# HELP tuttle_rule_evaluations_total Evaluations of each detection rule's condition "
           "(events its Hyperscan literals or log source made it a candidate for)\n"
           "# TYPE tuttle_rule_evaluations_total counter\n";
    for (const auto& [id, e] : totals) {
      out += fmt::format("tuttle_rule_evaluations_total{{rule_id=\"{}\",rule=\"{}\"}} {}\n",
                         EscapeLabelValue(id), EscapeLabelValue(e.title), e.cost.evaluations);
    }
    out += "# HELP tuttle_rule_evaluation_seconds_total CPU seconds spent evaluating each "
           "detection rule's condition (every 64th event timed, scaled)\n"
           "# TYPE tuttle_rule_evaluation_seconds_total counter\n";
    for (const auto& [id, e] : totals) {
      out += fmt::format(
          "tuttle_rule_evaluation_seconds_total{{rule_id=\"{}\",rule=\"{}\"}} {}\n",
          EscapeLabelValue(id), EscapeLabelValue(e.title), FormatMetricValue(e.cost.seconds));
    }
  }

 private:
  struct Entry {
    std::string title;
    Detector::RuleCost cost;
  };
  // Adds the current detector's totals. REQUIRES: mu_ held.
  void Sum(std::map<std::string, Entry>& into) const {
    if (!rules_ || !rules_->detector) return;
    std::vector<Detector::RuleCost> costs;
    rules_->detector->Costs(costs);
    for (size_t r = 0; r < costs.size() && r < rules_->detections.size(); ++r) {
      const RuleInfo& info = *rules_->detections[r].info;
      Entry& e = into[info.id];
      e.title = info.title;
      e.cost.evaluations += costs[r].evaluations;
      e.cost.seconds += costs[r].seconds;
    }
  }

  mutable std::mutex mu_;
  std::shared_ptr<const RuleSet> rules_;
  std::map<std::string, Entry> retired_;
};

void RuleSwitch::Post(RuleGeneration next) {
  std::lock_guard<std::mutex> lock(mu_);
  posted_ = std::move(next);
}

std::optional<RuleGeneration> RuleSwitch::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<RuleGeneration> out = std::move(posted_);
  posted_.reset();
  return out;
}

void RuleSwitch::Applied(ReloadReport report) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    applied_ = report.generation;
    last_report_ = std::move(report);
  }
  cv_.notify_all();
}

uint64_t RuleSwitch::applied() const {
  std::lock_guard<std::mutex> lock(mu_);
  return applied_;
}

std::optional<ReloadReport> RuleSwitch::WaitApplied(uint64_t number,
                                                    std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return applied_ >= number && last_report_; })) {
    return std::nullopt;
  }
  return last_report_;
}

Pipeline::Pipeline(const RuleSet& rules, const RecordParser& parser, PipelineOptions options)
    : rules_(rules), parser_(parser), options_(options) {}

Result<PipelineStats> Pipeline::Run(RecordSource& source, const std::vector<AlertSink*>& sinks) {
  const int threads = options_.threads > 0 ? options_.threads
                                           : std::max(1, tbb::info::default_concurrency());
  const int tokens = options_.tokens > 0 ? options_.tokens : 2 * threads + 2;
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism,
                                  static_cast<size_t>(threads));

  PipelineStats stats;
  RunState state;
  tbb::enumerable_thread_specific<ThreadState> thread_states([this] {
    ThreadState s;
    s.parser = parser_.NewWorker();
    s.parser_of = &parser_;
    if (rules_.detector) s.detector = rules_.detector->NewWorker();
    s.rules_of = &rules_;
    return s;
  });
  // The generation the read stage hands batches: the constructor's rules (not owned), until the
  // rule switch posts another.
  RuleGeneration read_generation;
  read_generation.rules = std::shared_ptr<const RuleSet>(&rules_, [](const RuleSet*) {});
  read_generation.parser = std::shared_ptr<const RecordParser>(&parser_, [](const RecordParser*) {});

  // Tokens are recycled through a free list so batches keep their buffers.
  std::mutex pool_mu;
  std::vector<std::unique_ptr<Work>> pool;
  auto acquire = [&] {
    std::lock_guard<std::mutex> lock(pool_mu);
    if (pool.empty()) return std::make_unique<Work>();
    auto w = std::move(pool.back());
    pool.pop_back();
    return w;
  };
  auto release = [&](Work* w) {
    w->Reset();
    std::lock_guard<std::mutex> lock(pool_mu);
    pool.emplace_back(w);
  };

  using Clock = std::chrono::steady_clock;
  std::unique_ptr<PipelineMetrics> metrics;
  if (options_.metrics != nullptr) metrics = std::make_unique<PipelineMetrics>(*options_.metrics);
  // Registered below, once the first generation is known; removed when Run() returns.
  std::unique_ptr<RuleCostCollector> costs;
  uint64_t costs_id = 0;
  struct RemoveCollector {
    MetricsRegistry* registry;
    const uint64_t& id;
    ~RemoveCollector() {
      if (registry != nullptr && id != 0) registry->RemoveCollector(id);
    }
  } remove_collector{options_.metrics, costs_id};
  if (options_.metrics != nullptr) {
    costs = std::make_unique<RuleCostCollector>(read_generation.rules);
    costs_id = options_.metrics->AddCollector(
        [c = costs.get()](std::string& out) { c->Collect(out); });
  }
  Clock::time_point started{};
  bool started_set = false;
  uint64_t sequence = 0;

  auto write_sinks = [&](const BatchOutput& out) -> bool {
    for (AlertSink* sink : sinks) {
      Status st = sink->Write(out);
      if (!st.ok()) {
        state.Fail(st.error().message());
        source.Stop();
        return false;
      }
    }
    return true;
  };

  // Positions go back to the source once sinks hold the batch; with checkpoints, only at a
  // checkpoint, and there the positions a restarted reader starts from.
  auto commit = [&](const BatchOutput& out) {
    Status st = Ok();
    if (!out.checkpointing) {
      st = source.Commit(out.positions);
    } else if (out.checkpoint) {
      std::vector<SourcePosition> resume;
      for (const StreamCheckpoint& s : out.checkpoint->streams) {
        resume.push_back(SourcePosition{s.source, s.partition, s.resume - 1});
      }
      st = source.Commit(resume);
    }
    if (!st.ok()) state.Fail(st.error().message());
  };

  auto read = [&](tbb::flow_control& fc) -> Work* {
    if (state.failed.load()) {
      fc.stop();
      return nullptr;
    }
    if (options_.rule_switch != nullptr) {
      if (std::optional<RuleGeneration> next = options_.rule_switch->Take()) {
        read_generation = std::move(*next);
      }
    }
    auto w = acquire();
    try {
      Result<bool> more = source.Next(w->batch);
      if (!more.ok()) {
        state.Fail(more.error().message());
        release(w.release());
        fc.stop();
        return nullptr;
      }
      if (!*more && w->batch.empty() && w->batch.stream_events().empty() &&
          w->batch.rejected().empty()) {
        release(w.release());
        fc.stop();
        return nullptr;
      }
    } catch (const std::exception& e) {
      state.Fail(fmt::format("reading records: {}", e.what()));
      release(w.release());
      fc.stop();
      return nullptr;
    }
    if (!started_set && !w->batch.empty()) {
      started = Clock::now();
      started_set = true;
    }
    w->batch.sequence = sequence++;
    if (metrics) w->read_at = Clock::now();
    w->rules = read_generation.rules;
    w->parser = read_generation.parser;
    w->generation = read_generation.number;
    return w.release();
  };

  // Evidence records are copied only for a sink that stores them.
  const bool keep_evidence = std::any_of(sinks.begin(), sinks.end(),
                                         [](const AlertSink* s) { return s->StoresEvidence(); });
  auto parse_and_match = [&](Work* w) -> Work* {
    if (w == nullptr || state.failed.load()) return w;
    try {
      ThreadState& ts = thread_states.local();
      const RuleSet& rules = *w->rules;
      if (ts.parser_of != w->parser.get()) {
        ts.parser = w->parser->NewWorker();
        ts.parser_of = w->parser.get();
      }
      if (ts.rules_of != &rules) {
        ts.detector = rules.detector ? rules.detector->NewWorker() : nullptr;
        ts.rules_of = &rules;
      }
      // Input the source could not frame (a truncated CRI sequence, a bad Lambda envelope).
      for (const RejectedRecord& r : w->batch.rejected()) {
        ++w->counters.parse_errors;
        DeadLetter d;
        d.kind = DeadLetter::Kind::kParse;
        d.position = SourcePosition{w->batch.sources()[r.meta.source], r.meta.partition,
                                    r.meta.offset};
        d.reason = r.reason;
        d.record = r.bytes;
        w->out.dead_letters.push_back(std::move(d));
      }
      ts.parser->BeginBatch(w->batch.sources());
      for (uint32_t i = 0; i < w->batch.size(); ++i) {
        MatchHandler handler(rules, ts, *w, i, options_.inventory != nullptr, keep_evidence,
                             metrics != nullptr);
        const std::string_view bytes = w->batch.bytes(i);
        Status st = ts.parser->Parse(bytes, w->batch.meta(i), handler);
        if (!st.ok()) {
          ++w->counters.parse_errors;
          DeadLetter d;
          d.kind = DeadLetter::Kind::kParse;
          d.position = w->batch.Position(i);
          d.reason = st.error().message();
          d.record = std::string(bytes);
          w->out.dead_letters.push_back(std::move(d));
        }
      }
    } catch (const std::exception& e) {
      state.Fail(fmt::format("parse and match: {}", e.what()));
    }
    return w;
  };

  // Correlation runs in shards, each holding the windows of the groups whose key hashes to it;
  // `tracker` follows the streams and the watermark for all of them.
  const size_t shard_count = options_.correlation_shards > 0
                                 ? static_cast<size_t>(options_.correlation_shards)
                                 : kDefaultCorrelationShards;
  CorrelatorOptions shard_options = options_.correlator;
  shard_options.max_groups_per_rule =
      std::max<size_t>(1, (options_.correlator.max_groups_per_rule + shard_count - 1) / shard_count);
  // The rules the correlators are built for: the read stage's first generation, until a batch
  // of another comes (see `reload` below).
  std::shared_ptr<const RuleSet> correlate_rules = read_generation.rules;
  auto tracker = std::make_unique<Correlator>(rules_, options_.correlator);
  auto partitioner = std::make_unique<CorrelationPartitioner>(rules_);
  std::vector<std::unique_ptr<Correlator>> shards;
  for (size_t i = 0; i < shard_count; ++i) {
    shards.push_back(std::make_unique<Correlator>(rules_, shard_options));
  }

  // Checkpoints: changes are tracked in the shards; the tracker's streams are saved whole.
  const bool checkpointing = options_.checkpoint.enabled;
  // The inventory's changed items are encoded only for a sink that stores them.
  if (options_.inventory != nullptr) {
    options_.inventory->TrackChanges(std::any_of(
        sinks.begin(), sinks.end(), [](const AlertSink* s) { return s->StoresInventory(); }));
  }
  if (checkpointing) {
    for (auto& shard : shards) shard->TrackChanges();
  }
  if (options_.restore != nullptr) {
    std::unordered_map<std::string, uint32_t> correlation_by_id;
    for (uint32_t i = 0; i < rules_.correlations.size(); ++i) {
      correlation_by_id.emplace(rules_.correlations[i].info->id, i);
    }
    TimeNs last_expiry = kNoTime;
    StateKey key;
    Status st = options_.restore->ForEachState(
        [&](std::string_view k, std::string_view v) -> Status {
          if (!ParseStateKey(k, key)) return Error("checkpoint: damaged state key");
          if (key.kind == 'm') {
            if (!tracker->RestoreStreams(v, last_expiry)) {
              return Error("checkpoint: damaged streams record");
            }
            return Ok();
          }
          // A group lives in the shard its key hashes to, whatever the shard count was.
          auto c = correlation_by_id.find(key.rule_id);
          const size_t shard =
              c == correlation_by_id.end() ? 0 : partitioner->Of(c->second, key.group, shard_count);
          return shards[shard]->RestoreEntry(key, v);
        });
    if (!st.ok()) return st.error();
    for (auto& shard : shards) shard->FinishRestore(tracker->watermark(), last_expiry);
  }
  // Replay after a restart: per stream, the last record whose results are already stored.
  // Until every stream has replayed, the watermark is held where the checkpoint left it: a
  // stream that runs ahead must not push it past signals another stream has yet to re-read.
  std::map<StreamKey, int64_t> replay_until = options_.replay_until;
  const TimeNs held_watermark = tracker->watermark();
  auto held = [&](TimeNs watermark) {
    return replay_until.empty() ? watermark : std::min(watermark, held_watermark);
  };
  // The watermark the shards were last advanced to: what a checkpoint's state is as of.
  TimeNs shard_watermark = held_watermark;
  std::vector<uint8_t> replayed;
  // Per stream, the last record correlated so far; and the checkpoint cadence.
  std::map<StreamKey, int64_t> last_positions;
  uint64_t records_since_checkpoint = 0;
  Clock::time_point last_checkpoint = Clock::now();
  // State changes a hot reload took from the correlators it replaced (their changes since the
  // last checkpoint, and the entries of rules whose windows it dropped), for the next checkpoint.
  StateChanges carried;
  auto make_checkpoint = [&]() {
    auto cp = std::make_shared<Checkpoint>();
    cp->number = ++stats.checkpoints;
    for (auto& shard : shards) shard->TakeChanges(cp->state);
    if (!carried.empty()) {
      // The store applies deletes before puts: a carried put of a group the new correlators
      // have since changed or erased must not outlive their own entry.
      std::set<std::string> fresh;
      for (const auto& k : cp->state.deletes) fresh.insert(k);
      for (const auto& [k, v] : cp->state.puts) fresh.insert(k);
      for (auto& [k, v] : carried.puts) {
        if (fresh.count(k) == 0) cp->state.puts.emplace_back(std::move(k), std::move(v));
      }
      for (auto& k : carried.deletes) cp->state.deletes.push_back(std::move(k));
      carried = StateChanges{};
    }
    // The watermark the shards have reached, which the replay after a restart may hold below
    // the tracker's.
    cp->state.puts.emplace_back(
        std::string(kStreamsStateKey),
        tracker->SaveStreams(shard_watermark, shards.front()->last_expiry()));
    std::map<StreamKey, int64_t> floor;
    for (const auto& shard : shards) shard->PendingFloor(floor);
    for (const auto& [stream, last] : last_positions) {
      int64_t resume = last + 1;
      if (auto f = floor.find(stream); f != floor.end()) resume = std::min(resume, f->second);
      cp->streams.push_back(StreamCheckpoint{stream.first, stream.second, last, resume});
    }
    const uint64_t bytes_before = stats.checkpoint_bytes;
    for (const auto& k : cp->state.deletes) stats.checkpoint_bytes += k.size();
    for (const auto& [k, v] : cp->state.puts) stats.checkpoint_bytes += k.size() + v.size();
    if (metrics) {
      metrics->checkpoints.Add();
      metrics->checkpoint_bytes.Add(stats.checkpoint_bytes - bytes_before);
    }
    records_since_checkpoint = 0;
    last_checkpoint = Clock::now();
    return cp;
  };

  // With checkpoints, a batch's output waits in the sinks until one is due.
  auto checkpoint_if_due = [&](Work& w) {
    w.out.checkpointing = checkpointing;
    // The inventory's changed items go with the checkpoint that covers them (the store writes
    // both at once), or with each batch without checkpoints.
    if (!checkpointing) {
      if (options_.inventory != nullptr) options_.inventory->TakeChanges(w.out.inventory);
      return;
    }
    records_since_checkpoint += w.batch.size() + w.batch.rejected().size();
    if (records_since_checkpoint >= options_.checkpoint.records ||
        Clock::now() - last_checkpoint >= options_.checkpoint.interval) {
      w.out.checkpoint = make_checkpoint();
      if (options_.inventory != nullptr) options_.inventory->TakeChanges(w.out.inventory);
    }
  };

  // Per shard, the alerts of the batch being correlated, with the tick that released them.
  std::vector<std::vector<std::pair<uint32_t, Alert>>> shard_alerts(shard_count);
  std::vector<Tick> ticks;
  std::vector<Alert> released;

  // Statistics of correlators a hot reload retired, so that totals and metrics keep growing.
  CorrelatorStats retired;
  uint64_t migrated_groups = 0, migrated_drops = 0;
  auto add_stats = [](CorrelatorStats& into, const CorrelatorStats& s) {
    into.signals += s.signals;
    into.late_signals += s.late_signals;
    into.alerts += s.alerts;
    into.evicted_groups += s.evicted_groups;
    into.missing_group_field += s.missing_group_field;
    into.missing_value_field += s.missing_value_field;
    into.non_numeric_values += s.non_numeric_values;
    into.suppressed_alerts += s.suppressed_alerts;
    into.chained_alerts += s.chained_alerts;
    into.restored_groups += s.restored_groups;
    into.dropped_state += s.dropped_state;
  };

  // Hot reload, in the correlate stage between two batches: correlators for the new rules take
  // the windows, suppression state and waiting signals of every correlation rule whose
  // fingerprint is unchanged; those of changed and removed rules are dropped (and deleted from
  // the store at the next checkpoint). The watermark and the streams carry over as they are.
  auto reload = [&](const std::shared_ptr<const RuleSet>& next, uint64_t generation,
                    uint64_t batch) {
    const RuleSet& old_rules = *correlate_rules;
    const RuleSet& new_rules = *next;
    ReloadReport report;
    report.generation = generation;
    report.batch = batch;
    std::unordered_map<std::string, uint32_t> new_by_id;
    for (uint32_t i = 0; i < new_rules.correlations.size(); ++i) {
      new_by_id.emplace(new_rules.correlations[i].info->id, i);
    }
    std::unordered_map<std::string, uint32_t> new_detection_by_id;
    for (uint32_t i = 0; i < new_rules.detections.size(); ++i) {
      new_detection_by_id.emplace(new_rules.detections[i].info->id, i);
    }
    std::set<std::string> keep;  // correlation rule ids whose windows carry over
    std::set<std::string> old_ids;
    for (uint32_t i = 0; i < old_rules.correlations.size(); ++i) {
      const std::string& id = old_rules.correlations[i].info->id;
      old_ids.insert(id);
      auto it = new_by_id.find(id);
      if (it == new_by_id.end()) {
        report.removed_rules.push_back(id);
      } else if (CorrelationFingerprint(old_rules, i) ==
                 CorrelationFingerprint(new_rules, it->second)) {
        keep.insert(id);
        report.kept_rules.push_back(id);
      } else {
        report.changed_rules.push_back(id);
      }
    }
    for (const auto& c : new_rules.correlations) {
      if (old_ids.count(c.info->id) == 0) report.added_rules.push_back(c.info->id);
    }

    // 1. Everything the old correlators hold.
    if (checkpointing) {
      for (auto& shard : shards) shard->TakeChanges(carried);
    }
    StateChanges all;
    std::vector<Signal> waiting;
    for (auto& shard : shards) {
      shard->SaveAll(all);
      shard->TakePending(waiting);
      add_stats(retired, shard->stats());
    }
    const TimeNs last_expiry_before = shards.front()->last_expiry();
    const std::string streams = tracker->SaveStreams(shard_watermark, last_expiry_before);

    // 2. Correlators for the new rules, given what carries over.
    auto next_tracker = std::make_unique<Correlator>(new_rules, options_.correlator);
    TimeNs last_expiry = kNoTime;
    next_tracker->RestoreStreams(streams, last_expiry);
    auto next_partitioner = std::make_unique<CorrelationPartitioner>(new_rules);
    std::vector<std::unique_ptr<Correlator>> next_shards;
    for (size_t i = 0; i < shard_count; ++i) {
      next_shards.push_back(std::make_unique<Correlator>(new_rules, shard_options));
      if (checkpointing) next_shards.back()->TrackChanges();
    }
    std::set<std::string> dropped_keys;
    StateKey key;
    for (auto& [k, v] : all.puts) {
      bool kept = false;
      if (ParseStateKey(k, key) && keep.count(key.rule_id) != 0) {
        const uint32_t c = new_by_id.at(key.rule_id);
        Correlator& shard = *next_shards[next_partitioner->Of(c, key.group, shard_count)];
        const uint64_t dropped_before = shard.stats().dropped_state;
        Status st = shard.RestoreEntry(key, v);
        kept = st.ok() && shard.stats().dropped_state == dropped_before;
        if (kept && key.kind == 'g') ++report.kept_groups;
      }
      if (!kept) {
        ++report.dropped_groups;
        dropped_keys.insert(k);
      }
    }
    for (auto& shard : next_shards) shard->FinishRestore(next_tracker->watermark(), last_expiry);
    for (Signal& sig : waiting) {
      const std::string& id = old_rules.correlations[sig.correlation].info->id;
      bool carry = keep.count(id) != 0;
      if (carry && !sig.alert) {
        auto d = new_detection_by_id.find(old_rules.detections[sig.detection].info->id);
        carry = d != new_detection_by_id.end();
        if (carry) sig.detection = d->second;
      }
      if (!carry) {
        ++report.dropped_signals;
        continue;
      }
      sig.correlation = new_by_id.at(id);
      const size_t shard = next_partitioner->Of(sig.correlation, sig.group, shard_count);
      next_shards[shard]->AddChained(std::move(sig));  // accepted before: never late now
      ++report.kept_signals;
    }
    if (checkpointing && !dropped_keys.empty()) {
      auto& puts = carried.puts;
      puts.erase(std::remove_if(puts.begin(), puts.end(),
                                [&](const auto& kv) { return dropped_keys.count(kv.first) != 0; }),
                 puts.end());
      for (const std::string& k : dropped_keys) carried.deletes.push_back(k);
    }
    for (const auto& shard : next_shards) {
      migrated_groups += shard->stats().restored_groups;
      migrated_drops += shard->stats().dropped_state;
    }
    tracker = std::move(next_tracker);
    partitioner = std::move(next_partitioner);
    shards = std::move(next_shards);
    correlate_rules = next;
    if (costs) costs->Retire(next);
    ++stats.reloads;
    if (options_.rule_switch != nullptr) options_.rule_switch->Applied(std::move(report));
  };

  auto correlate = [&](Work* w) -> Work* {
    if (w == nullptr || state.failed.load()) return w;
    try {
      if (w->rules != correlate_rules) reload(w->rules, w->generation, w->batch.sequence);
      // 1. Serially, record by record: stream events and event times move the watermark; each
      //    signal goes to its shard (or is late). Each step that may release alerts is a tick.
      const RecordBatch& b = w->batch;
      if (options_.export_signals) {
        ExportBatch(*w);
        if (options_.inventory != nullptr) {
          options_.inventory->Apply(
              w->inventory, b, [](uint32_t) { return false; }, w->out.alerts);
        }
        LastPositions(b, w->out.positions);
        for (const SourcePosition& p : w->out.positions) {
          auto [it, fresh] = last_positions.try_emplace({p.source, p.partition}, p.offset);
          if (!fresh) it->second = std::max(it->second, p.offset);
        }
        checkpoint_if_due(*w);
        return w;
      }
      // After a restart, records whose results are already stored only rebuild waiting signals.
      const bool replaying = !replay_until.empty();
      if (replaying) {
        replayed.assign(b.size(), 0);
        for (size_t i = 0; i < b.size(); ++i) {
          const RecordMeta& m = b.meta(i);
          auto it = replay_until.find({b.sources()[m.source], m.partition});
          if (it != replay_until.end() && m.offset <= it->second) replayed[i] = 1;
        }
        auto& dls = w->out.dead_letters;
        dls.erase(std::remove_if(dls.begin(), dls.end(),
                                 [&](const DeadLetter& d) {
                                   auto it = replay_until.find({d.position.source,
                                                                d.position.partition});
                                   return it != replay_until.end() &&
                                          d.position.offset <= it->second;
                                 }),
                  dls.end());
      }
      std::map<uint32_t, std::set<uint32_t>> late_rules;
      std::map<uint32_t, std::pair<TimeNs, TimeNs>> late_times;  // event time, watermark
      const auto& changes = b.stream_events();
      size_t next_change = 0;
      ticks.clear();
      auto apply_stream_events = [&](uint32_t up_to_record) {
        bool any = false;
        while (next_change < changes.size() && changes[next_change].before_record <= up_to_record) {
          const StreamEvent& e = changes[next_change++];
          const std::string& stream = b.sources()[e.source];
          switch (e.kind) {
            case StreamEvent::Kind::kAssigned: tracker->Assign(stream, e.partition); break;
            case StreamEvent::Kind::kIdle: tracker->MarkIdle(stream, e.partition); break;
            case StreamEvent::Kind::kRevoked: tracker->Revoke(stream, e.partition); break;
          }
          // A stream at its end (or gone) has nothing more to replay.
          if (e.kind != StreamEvent::Kind::kAssigned) replay_until.erase({stream, e.partition});
          any = true;
        }
        if (any) ticks.push_back(Tick{held(tracker->CurrentWatermark()), 0, 0});
      };
      for (const EventResult& ev : w->events) {
        apply_stream_events(ev.record);
        const RecordMeta& m = b.meta(ev.record);
        tracker->Observe(b.sources()[m.source], m.partition, ev.time);
        const TimeNs watermark = held(tracker->CurrentWatermark());
        for (uint32_t s = ev.signal_begin; s < ev.signal_end; ++s) {
          Signal& sig = w->signals[s];
          const uint32_t c = sig.correlation;
          const size_t shard = partitioner->Of(sig.correlation, sig.group, shard_count);
          if (!shards[shard]->AddAt(std::move(sig), watermark) &&
              !(replaying && replayed[ev.record])) {
            late_rules[ev.record].insert(c);
            late_times[ev.record] = {ev.time, watermark};
          }
        }
        if (replaying && replayed[ev.record]) {
          ticks.push_back(Tick{watermark, 0, 0});
        } else {
          ticks.push_back(Tick{watermark, ev.single_begin, ev.single_end});
        }
      }
      apply_stream_events(UINT32_MAX);

      // 2. The shards in parallel, each serially through the ticks: no locks on window state.
      tbb::parallel_for(size_t{0}, shard_count, [&](size_t s) {
        auto& out = shard_alerts[s];
        out.clear();
        std::vector<Alert> alerts;
        for (uint32_t t = 0; t < ticks.size(); ++t) {
          alerts.clear();
          shards[s]->AdvanceTo(ticks[t].watermark, alerts);
          for (Alert& a : alerts) out.emplace_back(t, std::move(a));
        }
      });

      for (const Tick& t : ticks) {
        if (t.watermark != kNoTime) shard_watermark = std::max(shard_watermark, t.watermark);
      }
      uint64_t open_groups = 0;
      for (const auto& shard : shards) open_groups += shard->open_groups();
      stats.peak_open_groups = std::max(stats.peak_open_groups, open_groups);
      if (metrics) {
        metrics->open_groups.Set(static_cast<double>(open_groups));
        std::vector<uint64_t> by_rule(correlate_rules->correlations.size(), 0);
        for (const auto& shard : shards) shard->OpenGroupsByCorrelation(by_rule);
        for (uint32_t c = 0; c < by_rule.size(); ++c) {
          metrics->OpenGroups(*correlate_rules, c).Set(static_cast<double>(by_rule[c]));
        }
      }

      // 3. Merge in tick order: a record's single-event alerts, then the correlation alerts its
      //    arrival released, in an order that does not depend on the shards. So the alerts and
      //    their order depend only on the sequence of records, not on batches or threads.
      std::vector<size_t> cursor(shard_count, 0);
      for (uint32_t t = 0; t < ticks.size(); ++t) {
        for (uint32_t a = ticks[t].single_begin; a < ticks[t].single_end; ++a) {
          w->out.alerts.push_back(std::move(w->singles[a]));
        }
        released.clear();
        for (size_t s = 0; s < shard_count; ++s) {
          auto& out = shard_alerts[s];
          while (cursor[s] < out.size() && out[cursor[s]].first == t) {
            released.push_back(std::move(out[cursor[s]++].second));
          }
        }
        std::sort(released.begin(), released.end(), AlertOrder);
        for (Alert& a : released) w->out.alerts.push_back(std::move(a));
      }
      // The inventory's findings: after the batch's others (their set, not their place in the
      // batch, is what does not depend on batching).
      if (options_.inventory != nullptr) {
        options_.inventory->Apply(
            w->inventory, b, [&](uint32_t r) { return replaying && replayed[r] != 0; },
            w->out.alerts);
      }
      for (const auto& [record, correlations] : late_rules) {
        DeadLetter d;
        d.kind = DeadLetter::Kind::kLate;
        d.position = b.Position(record);
        const auto [event_time, watermark] = late_times[record];
        d.event_time = event_time;
        d.reason = LateReason(*correlate_rules, correlations, event_time, watermark);
        d.record = std::string(b.bytes(record));
        w->out.dead_letters.push_back(std::move(d));
      }
      stats.late_records += late_rules.size();
      if (metrics) {
        metrics->late_records.Add(late_rules.size());
        uint64_t signals = retired.signals, late_signals = retired.late_signals,
                 evicted = retired.evicted_groups;
        for (const auto& shard : shards) {
          signals += shard->stats().signals;
          late_signals += shard->stats().late_signals;
          evicted += shard->stats().evicted_groups;
        }
        metrics->signals.Add(signals - metrics->published_signals);
        metrics->late_signals.Add(late_signals - metrics->published_late_signals);
        metrics->evicted_groups.Add(evicted - metrics->published_evicted);
        metrics->published_signals = signals;
        metrics->published_late_signals = late_signals;
        metrics->published_evicted = evicted;
      }

      // 4. Positions, and the checkpoint when one is due.
      LastPositions(b, w->out.positions);
      for (const SourcePosition& p : w->out.positions) {
        const StreamKey key{p.source, p.partition};
        auto [it, fresh] = last_positions.try_emplace(key, p.offset);
        if (!fresh) it->second = std::max(it->second, p.offset);
        if (replaying) {
          auto r = replay_until.find(key);
          if (r != replay_until.end() && p.offset > r->second) replay_until.erase(r);
        }
      }
      if (replaying) {
        stats.replayed_records += static_cast<uint64_t>(
            std::count(replayed.begin(), replayed.end(), uint8_t{1}));
      }
      checkpoint_if_due(*w);
    } catch (const std::exception& e) {
      state.Fail(fmt::format("correlate: {}", e.what()));
    }
    return w;
  };

  auto emit = [&](Work* w) {
    if (w == nullptr) return;
    if (!state.failed.load()) {
      try {
        const RecordBatch& b = w->batch;
        w->out.sequence = b.sequence;
        if (write_sinks(w->out)) commit(w->out);
        stats.batches += 1;
        stats.records += b.size();
        stats.bytes += b.byte_size() - b.size() * kRecordPadding;
        stats.events += w->counters.events;
        stats.matched_events += w->counters.matched_events;
        for (const ExportedRecord& e : w->out.exported) stats.signals += e.signals.size();
        stats.rule_matches += w->counters.rule_matches;
        stats.parse_errors += w->counters.parse_errors;
        stats.alerts += w->out.alerts.size();
        stats.dead_letters += w->out.dead_letters.size();
        for (const DeadLetter& d : w->out.dead_letters) {
          const std::string reason = d.kind == DeadLetter::Kind::kLate
                                         ? std::string("late")
                                         : d.reason.substr(0, d.reason.find(':'));
          ++stats.dead_letter_reasons[reason];
          if (metrics) metrics->DeadLetters(reason).Add();
        }
        if (metrics) {
          PipelineMetrics& m = *metrics;
          m.batches.Add();
          m.records.Add(b.size());
          m.bytes.Add(b.byte_size() - b.size() * kRecordPadding);
          m.events.Add(w->counters.events);
          m.matched_events.Add(w->counters.matched_events);
          m.rule_matches.Add(w->counters.rule_matches);
          if (!b.empty()) {
            std::vector<uint64_t> per_source(b.sources().size(), 0);
            for (size_t i = 0; i < b.size(); ++i) ++per_source[b.meta(i).source];
            for (size_t src = 0; src < per_source.size(); ++src) {
              if (per_source[src] > 0) m.Source(b.sources()[src]).Add(per_source[src]);
            }
          }
          for (const uint32_t r : w->matched_rules) m.Matches(*w->rules, r).Add();
          m.CountAlerts(w->out.alerts);
          uint64_t singles = 0;
          for (const Alert& a : w->out.alerts) singles += a.kind == "single" ? 1 : 0;
          m.single_alerts.Add(singles);
          m.correlation_alerts.Add(w->out.alerts.size() - singles);
          // Batches that only carry stream events (a follow run idling) would dilute it.
          if (!b.empty() || !b.rejected().empty()) {
            m.batch_latency.Observe(
                std::chrono::duration<double>(Clock::now() - w->read_at).count());
          }
        }
      } catch (const std::exception& e) {
        state.Fail(fmt::format("emit: {}", e.what()));
      }
    }
    release(w);
  };

  tbb::parallel_pipeline(
      static_cast<size_t>(tokens),
      tbb::make_filter<void, Work*>(tbb::filter_mode::serial_in_order, read) &
          tbb::make_filter<Work*, Work*>(tbb::filter_mode::parallel, parse_and_match) &
          tbb::make_filter<Work*, Work*>(tbb::filter_mode::serial_in_order, correlate) &
          tbb::make_filter<Work*, void>(tbb::filter_mode::serial_in_order, emit));

  if (!state.failed.load()) {
    BatchOutput last;
    last.sequence = sequence;
    last.checkpointing = checkpointing;
    // End of input: every waiting signal is applied, whatever the watermark. A stopped run that
    // checkpoints keeps its windows open instead, for the next run to carry on.
    if (!(checkpointing && source.Stopped())) {
      for (auto& shard : shards) shard->Flush(last.alerts);
      std::sort(last.alerts.begin(), last.alerts.end(), AlertOrder);
    }
    stats.alerts += last.alerts.size();
    if (metrics) {
      metrics->correlation_alerts.Add(last.alerts.size());
      metrics->CountAlerts(last.alerts);
    }
    if (checkpointing) {
      last.checkpoint = make_checkpoint();
      if (options_.inventory != nullptr) options_.inventory->TakeChanges(last.inventory);
    }
    if (!last.alerts.empty() || last.checkpoint) {
      if (write_sinks(last)) commit(last);
    }
    for (AlertSink* sink : sinks) {
      Status st = sink->Finish();
      if (!st.ok()) state.Fail(st.error().message());
    }
  }
  if (started_set) {
    stats.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  }
  CorrelatorStats totals = retired;
  for (const auto& shard : shards) add_stats(totals, shard->stats());
  // Groups a reload carried over were not restored from a checkpoint.
  totals.restored_groups -= migrated_groups;
  totals.dropped_state -= migrated_drops;
  {
    const CorrelatorStats& cs = totals;
    stats.restored_groups += cs.restored_groups;
    stats.dropped_state += cs.dropped_state;
    stats.signals += cs.signals;
    stats.late_signals += cs.late_signals;
    stats.correlation_alerts += cs.alerts;
    stats.evicted_groups += cs.evicted_groups;
    stats.missing_group_field += cs.missing_group_field;
  }
  if (state.failed.load()) return Error(state.error);
  return stats;
}

}  // namespace tuttle
