#include "tuttle/engine/pipeline.h"

#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <set>

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
  BatchOutput out;
  BatchCounters counters;

  void Reset() {
    batch.Clear();
    events.clear();
    signals.clear();
    singles.clear();
    out = BatchOutput{};
    counters = BatchCounters{};
  }
};

// Per-thread state of the parallel stage.
struct ThreadState {
  std::unique_ptr<RecordParser::Worker> parser;
  std::unique_ptr<Detector::Worker> detector;
  std::vector<uint32_t> matched;
};

// Turns each event of a record into single-event alerts and signals.
class MatchHandler final : public RecordParser::EventHandler {
 public:
  MatchHandler(const RuleSet& rules, ThreadState& state, Work& work, uint32_t record)
      : rules_(rules), state_(state), work_(work), record_(record) {}

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
    }
    for (const uint32_t r : state_.matched) {
      const DetectionRule& rule = rules_.detections[r];
      if (rule.emits_alerts) EmitSingle(event, rule);
      for (const CorrelationUse& use : rules_.uses[r]) EmitSignal(event, r, use);
    }
    result.signal_end = static_cast<uint32_t>(w.signals.size());
    result.single_end = static_cast<uint32_t>(w.singles.size());
    w.events.push_back(result);
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

}  // namespace

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
  Correlator correlator(rules_, options_.correlator);
  tbb::enumerable_thread_specific<ThreadState> thread_states([this] {
    ThreadState s;
    s.parser = parser_.NewWorker();
    if (rules_.detector) s.detector = rules_.detector->NewWorker();
    return s;
  });

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

  auto read = [&](tbb::flow_control& fc) -> Work* {
    if (state.failed.load()) {
      fc.stop();
      return nullptr;
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
      if (!*more && w->batch.empty() && w->batch.stream_events().empty()) {
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
    return w.release();
  };

  auto parse_and_match = [&](Work* w) -> Work* {
    if (w == nullptr || state.failed.load()) return w;
    try {
      ThreadState& ts = thread_states.local();
      for (uint32_t i = 0; i < w->batch.size(); ++i) {
        MatchHandler handler(rules_, ts, *w, i);
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

  auto correlate = [&](Work* w) -> Work* {
    if (w == nullptr || state.failed.load()) return w;
    try {
      // Record by record, so that the alerts and their order depend only on the sequence of
      // records, not on where batches begin and end: a record's single-event alerts, then the
      // correlation alerts its arrival released.
      const RecordBatch& b = w->batch;
      std::map<uint32_t, std::set<uint32_t>> late_rules;
      std::map<uint32_t, std::pair<TimeNs, TimeNs>> late_times;  // event time, watermark
      const auto& changes = b.stream_events();
      size_t next_change = 0;
      auto apply_stream_events = [&](uint32_t up_to_record) {
        bool any = false;
        while (next_change < changes.size() && changes[next_change].before_record <= up_to_record) {
          const StreamEvent& e = changes[next_change++];
          const std::string& stream = b.sources()[e.source];
          switch (e.kind) {
            case StreamEvent::Kind::kAssigned: correlator.Assign(stream, e.partition); break;
            case StreamEvent::Kind::kIdle: correlator.MarkIdle(stream, e.partition); break;
            case StreamEvent::Kind::kRevoked: correlator.Revoke(stream, e.partition); break;
          }
          any = true;
        }
        if (any) correlator.Advance(w->out.alerts);
      };
      for (const EventResult& ev : w->events) {
        apply_stream_events(ev.record);
        for (uint32_t a = ev.single_begin; a < ev.single_end; ++a) {
          w->out.alerts.push_back(std::move(w->singles[a]));
        }
        const RecordMeta& m = b.meta(ev.record);
        correlator.Observe(b.sources()[m.source], m.partition, ev.time);
        for (uint32_t s = ev.signal_begin; s < ev.signal_end; ++s) {
          Signal& sig = w->signals[s];
          const uint32_t c = sig.correlation;
          if (!correlator.Add(std::move(sig))) {
            late_rules[ev.record].insert(c);
            late_times[ev.record] = {ev.time, correlator.watermark()};
          }
        }
        correlator.Advance(w->out.alerts);
      }
      apply_stream_events(UINT32_MAX);
      for (const auto& [record, correlations] : late_rules) {
        DeadLetter d;
        d.kind = DeadLetter::Kind::kLate;
        d.position = b.Position(record);
        const auto [event_time, watermark] = late_times[record];
        d.event_time = event_time;
        d.reason = LateReason(rules_, correlations, event_time, watermark);
        d.record = std::string(b.bytes(record));
        w->out.dead_letters.push_back(std::move(d));
      }
      stats.late_records += late_rules.size();
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
        // The last position of each stream in the batch.
        std::map<std::pair<uint32_t, int32_t>, int64_t> last;
        for (size_t i = 0; i < b.size(); ++i) {
          const RecordMeta& m = b.meta(i);
          auto& off = last[{m.source, m.partition}];
          off = std::max(off, m.offset);
        }
        for (const auto& [key, offset] : last) {
          w->out.positions.push_back(SourcePosition{b.sources()[key.first], key.second, offset});
        }
        w->out.sequence = b.sequence;
        if (write_sinks(w->out)) {
          Status st = source.Commit(w->out.positions);
          if (!st.ok()) state.Fail(st.error().message());
        }
        stats.batches += 1;
        stats.records += b.size();
        stats.bytes += b.byte_size() - b.size() * kRecordPadding;
        stats.events += w->counters.events;
        stats.matched_events += w->counters.matched_events;
        stats.rule_matches += w->counters.rule_matches;
        stats.parse_errors += w->counters.parse_errors;
        stats.alerts += w->out.alerts.size();
        stats.dead_letters += w->out.dead_letters.size();
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
    // End of input: every waiting signal is applied, whatever the watermark.
    BatchOutput last;
    last.sequence = sequence;
    correlator.Flush(last.alerts);
    stats.alerts += last.alerts.size();
    if (!last.alerts.empty()) write_sinks(last);
    for (AlertSink* sink : sinks) {
      Status st = sink->Finish();
      if (!st.ok()) state.Fail(st.error().message());
    }
  }
  if (started_set) {
    stats.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  }
  const CorrelatorStats& cs = correlator.stats();
  stats.signals = cs.signals;
  stats.late_signals = cs.late_signals;
  stats.correlation_alerts = cs.alerts;
  if (state.failed.load()) return Error(state.error);
  return stats;
}

}  // namespace tuttle
