// The correlation stage through the whole oneTBB pipeline, with 10 and 1,000 correlation rules,
// on 1 and 2 threads; and the memory an open group costs.
//
// Records are pre-parsed: the "parser" reads a user index and a detection rule index from fixed
// offsets, so the parse + match stage is nearly free and the numbers are the correlation stage's
// (signals routed to shards, windows, alerts, merge). Each record matches one of 100 detection
// rules; each correlation rule references one detection rule (so 1,000 rules means each record
// feeds 10 correlations) and groups by user (1,000 users).

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <chrono>
#include <thread>
#include <filesystem>
#include <malloc.h>

#include <cstring>
#include <string>
#include <vector>

#include "tuttle/engine/correlator.h"
#include "tuttle/engine/pipeline.h"
#include "tuttle/ingest/kafka.h"
#include "tuttle/ingest/scale_out.h"
#include "tuttle/storage/store.h"

namespace tuttle::bench {
namespace {

constexpr int kDetections = 100;
constexpr int kUsers = 1000;
constexpr size_t kRecords = 200'000;

// "<seconds:10><user:4><rule:3>" -> path 0: the user name; the event matches rule <rule>.
class FixedParser final : public RecordParser {
 public:
  class W final : public Worker {
   public:
    Status Parse(std::string_view r, const RecordMeta& meta, EventHandler& handler) override {
      table_.Clear();
      table_.Add(0, ValueKind::kString, r.substr(10, 4));
      Event e;
      e.raw = r;
      e.meta = &meta;
      e.record_id = HashBytes(r);
      e.time = (std::stoll(std::string(r.substr(0, 10))) * 1000 + meta.offset % 1000) * kNsPerMs;
      e.fields = &table_;
      handler.OnEvent(e);
      return Ok();
    }

   private:
    FieldTable table_;
  };
  std::unique_ptr<Worker> NewWorker() const override { return std::make_unique<W>(); }
};

class FixedDetector final : public Detector {
 public:
  class W final : public Worker {
   public:
    void Match(const Event& e, std::vector<uint32_t>& matched) override {
      matched.push_back(static_cast<uint32_t>(std::stoi(std::string(e.raw.substr(14, 3)))));
    }
  };
  std::unique_ptr<Worker> NewWorker() const override { return std::make_unique<W>(); }
};

class LinesSource final : public RecordSource {
 public:
  explicit LinesSource(const std::vector<std::string>& lines, size_t batch = 1024)
      : lines_(lines), batch_(batch) {}
  Result<bool> Next(RecordBatch& b) override {
    if (next_ >= lines_.size()) return false;
    const uint32_t src = b.InternSource("bench");
    while (next_ < lines_.size() && b.size() < batch_) {
      b.Add(lines_[next_], RecordMeta{src, 0, static_cast<int64_t>(next_), kNoTime});
      ++next_;
    }
    return true;
  }
  Status Commit(const std::vector<SourcePosition>&) override { return Ok(); }
  void Stop() override {}

 private:
  const std::vector<std::string>& lines_;
  size_t batch_;
  size_t next_ = 0;
};

class CountSink final : public AlertSink {
 public:
  Status Write(const BatchOutput& b) override {
    alerts += b.alerts.size();
    return Ok();
  }
  size_t alerts = 0;
};

// `prefix` and a number: "d7".
std::string Name(const char* prefix, int64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

std::shared_ptr<RuleInfo> Info(std::string id) {
  auto info = std::make_shared<RuleInfo>();
  info->id = id;
  info->title = std::move(id);
  return info;
}

RuleSet MakeRules(int correlations) {
  RuleSet rs;
  auto catalog = std::make_shared<FieldCatalog>();
  catalog->Intern("user");
  rs.catalog = catalog;
  for (int d = 0; d < kDetections; ++d) {
    DetectionRule rule;
    rule.info = Info(Name("d", d));
    rs.detections.push_back(rule);
  }
  for (int c = 0; c < correlations; ++c) {
    CorrelationRule rule;
    rule.info = Info(Name("c", c));
    rule.type = c % 2 == 0 ? CorrelationType::kEventCount : CorrelationType::kValueCount;
    rule.rules = {static_cast<uint32_t>(c % kDetections)};
    rule.group_by = {"user"};
    rule.group_by_paths = {{0}};
    rule.value_field = "user";
    rule.value_paths = {0};
    rule.timespan = 60 * kNsPerSecond;
    rule.condition.gte = 20;
    rs.correlations.push_back(std::move(rule));
  }
  rs.detector = std::make_unique<FixedDetector>();
  rs.Link();
  return rs;
}

const std::vector<std::string>& Records() {
  static const std::vector<std::string> lines = [] {
    std::vector<std::string> out;
    out.reserve(kRecords);
    char buf[32];
    for (size_t i = 0; i < kRecords; ++i) {
      // 1,000 records per second of event time.
      std::snprintf(buf, sizeof(buf), "%010zu%04zu%03zu", 1'700'000'000 + i / 1000,
                    (i * 7919) % kUsers, (i * 31) % kDetections);
      out.emplace_back(buf);
    }
    return out;
  }();
  return lines;
}

// Args: correlation rules, threads.
void BM_CorrelationStage(benchmark::State& state) {
  const RuleSet rules = MakeRules(static_cast<int>(state.range(0)));
  FixedParser parser;
  PipelineOptions o;
  o.threads = static_cast<int>(state.range(1));
  uint64_t signals = 0, alerts = 0, records = 0;
  for (auto _ : state) {
    Pipeline p(rules, parser, o);
    LinesSource source(Records());
    CountSink sink;
    Result<PipelineStats> stats = p.Run(source, {&sink});
    if (!stats.ok()) {
      state.SkipWithError(stats.error().message().c_str());
      return;
    }
    signals += stats->signals;
    alerts += stats->correlation_alerts;
    records += stats->records;
  }
  state.SetItemsProcessed(static_cast<int64_t>(records));
  state.counters["signals_per_s"] =
      benchmark::Counter(static_cast<double>(signals), benchmark::Counter::kIsRate);
  state.counters["alerts"] = benchmark::Counter(static_cast<double>(alerts),
                                                benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_CorrelationStage)
    ->ArgNames({"rules", "threads"})
    ->Args({10, 1})
    ->Args({10, 2})
    ->Args({1000, 1})
    ->Args({1000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The cost of publishing metrics (PipelineOptions::metrics): the same run as
// BM_CorrelationStage with 10 rules and 2 threads, without (0) and with (1) a registry.
// Batches of 256 records, so the per-batch publishing is not amortised over the default 1,024.
void BM_PipelineMetrics(benchmark::State& state) {
  const RuleSet rules = MakeRules(10);
  FixedParser parser;
  MetricsRegistry registry;
  PipelineOptions o;
  o.threads = 2;
  if (state.range(0) != 0) o.metrics = &registry;
  uint64_t records = 0;
  for (auto _ : state) {
    Pipeline p(rules, parser, o);
    LinesSource source(Records(), 256);
    CountSink sink;
    Result<PipelineStats> stats = p.Run(source, {&sink});
    if (!stats.ok()) {
      state.SkipWithError(stats.error().message().c_str());
      return;
    }
    records += stats->records;
  }
  state.SetItemsProcessed(static_cast<int64_t>(records));
}
BENCHMARK(BM_PipelineMetrics)
    ->ArgName("metrics")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Heap bytes per open group: state.range(0) groups of an event_count rule, each holding one
// signal (the smallest open group), measured with mallinfo2 before and after.
void BM_BytesPerOpenGroup(benchmark::State& state) {
  const RuleSet rules = MakeRules(1);
  const int64_t groups = state.range(0);
  double per_group = 0;
  for (auto _ : state) {
    const size_t before = mallinfo2().uordblks;
    {
      Correlator c(rules, {});
      std::vector<Alert> alerts;
      for (int64_t g = 0; g < groups; ++g) {
        Signal s;
        s.time = 1'700'000'000 * kNsPerSecond + g;
        s.record_id = Hash128{static_cast<uint64_t>(g), 1};
        s.position = SourcePosition{"bench", 0, g};
        s.group = {Name("user-", g)};
        c.Observe("bench", 0, s.time);
        c.Add(std::move(s));
      }
      c.Flush(alerts);
      const size_t after = mallinfo2().uordblks;
      per_group = static_cast<double>(after - before) / static_cast<double>(groups);
      if (c.open_groups() != static_cast<size_t>(groups)) state.SkipWithError("groups lost");
    }
  }
  state.counters["bytes_per_group"] = per_group;
}
BENCHMARK(BM_BytesPerOpenGroup)->Arg(100'000)->Iterations(1)->Unit(benchmark::kMillisecond);

// Checkpoint cost on the stream: the correlation stage with 10 rules, 2 threads, writing into a
// real RocksDB store, without checkpoints (arg 0: alerts and positions per batch) and with a
// checkpoint every N records (arg: N; 200,000 records is 200 s of event time here, so 1,000
// records is a checkpoint per second of stream).
void BM_CheckpointStream(benchmark::State& state) {
  const RuleSet rules = MakeRules(10);
  FixedParser parser;
  PipelineOptions o;
  o.threads = 2;
  if (state.range(0) > 0) {
    o.checkpoint.enabled = true;
    o.checkpoint.records = static_cast<uint64_t>(state.range(0));
    o.checkpoint.interval = std::chrono::hours(1);
  }
  uint64_t records = 0, checkpoints = 0, bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("tuttle-bench-cp-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    auto store = storage::Store::Open(dir.string());
    if (!store.ok()) {
      state.SkipWithError(store.error().message().c_str());
      return;
    }
    state.ResumeTiming();
    Pipeline p(rules, parser, o);
    LinesSource source(Records());
    Result<PipelineStats> stats = p.Run(source, {store->get()});
    state.PauseTiming();
    store->reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
    if (!stats.ok()) {
      state.SkipWithError(stats.error().message().c_str());
      return;
    }
    records += stats->records;
    checkpoints += stats->checkpoints;
    bytes += stats->checkpoint_bytes;
  }
  state.SetItemsProcessed(static_cast<int64_t>(records));
  state.counters["checkpoints"] =
      benchmark::Counter(static_cast<double>(checkpoints), benchmark::Counter::kAvgIterations);
  state.counters["state_bytes_per_checkpoint"] =
      checkpoints > 0 ? static_cast<double>(bytes) / static_cast<double>(checkpoints) : 0.0;
}
BENCHMARK(BM_CheckpointStream)
    ->ArgName("every")
    ->Arg(0)
    ->Arg(1'000)
    ->Arg(10'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// A checkpoint of state.range(0) open groups (event_count, one signal each): how long taking
// the changes takes, how many bytes they are, and how long restoring them takes.
void BM_CheckpointOpenGroups(benchmark::State& state) {
  const RuleSet rules = MakeRules(1);
  const int64_t groups = state.range(0);
  double take_s = 0, restore_s = 0;
  size_t bytes = 0;
  CorrelatorOptions options;
  options.max_groups_per_rule = 10'000'000;
  for (auto _ : state) {
    Correlator c(rules, options);
    c.TrackChanges();
    std::vector<Alert> alerts;
    for (int64_t g = 0; g < groups; ++g) {
      Signal s;
      s.time = 1'700'000'000 * kNsPerSecond + g;
      s.record_id = Hash128{static_cast<uint64_t>(g), 1};
      s.position = SourcePosition{"telemetry", static_cast<int32_t>(g % 12), g};
      s.group = {Name("user-", g)};
      c.AddChained(std::move(s));
    }
    c.AdvanceTo(1'700'000'000 * kNsPerSecond + groups, alerts);
    using Clock = std::chrono::steady_clock;
    auto t0 = Clock::now();
    StateChanges changes;
    c.TakeChanges(changes);
    take_s = std::chrono::duration<double>(Clock::now() - t0).count();
    bytes = 0;
    for (const auto& [k, v] : changes.puts) bytes += k.size() + v.size();
    t0 = Clock::now();
    Correlator restored(rules, options);
    StateKey key;
    for (const auto& [k, v] : changes.puts) {
      if (!ParseStateKey(k, key) || !restored.RestoreEntry(key, v).ok()) {
        state.SkipWithError("restore failed");
        return;
      }
    }
    restored.FinishRestore(c.watermark(), kNoTime);
    restore_s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (restored.open_groups() != static_cast<size_t>(groups)) state.SkipWithError("groups lost");
  }
  state.counters["take_s"] = take_s;
  state.counters["restore_s"] = restore_s;
  state.counters["checkpoint_MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["bytes_per_group"] = static_cast<double>(bytes) / static_cast<double>(groups);
}
BENCHMARK(BM_CheckpointOpenGroups)->Arg(1'000'000)->Iterations(1)->Unit(benchmark::kMillisecond);

// Scale-out (docs/scaling.md), both stages against a Kafka-protocol broker in this process
// (librdkafka's mock cluster), with 10 correlation rules as BM_CorrelationStage{rules:10}:
//   match_records_per_s   the match stage exporting signals and progress marks to the signals
//                         topic (arg: its partitions), acknowledged at each checkpoint (1 s);
//   correlate_msgs_per_s  one correlation member consuming that topic from its assignment to its
//                         last message, with a changelog checkpoint per task every second.
// One iteration: a fresh cluster and group each time (a group takes ~3 s to form, not counted).
void BM_ScaleOutStages(benchmark::State& state) {
  const RuleSet rules = MakeRules(10);
  FixedParser parser;
  const int partitions = static_cast<int>(state.range(0));
  double match_seconds = 0, correlate_seconds = 0;
  uint64_t records = 0, messages = 0, alerts = 0, checkpoints = 0;
  for (auto _ : state) {
    auto cluster = ingest::MockCluster::Start(1);
    if (!cluster.ok()) {
      state.SkipWithError(cluster.error().message().c_str());
      return;
    }
    const std::string brokers = (*cluster)->bootstrap_servers();
    (void)(*cluster)->CreateTopic("bench-signals", partitions);
    (void)(*cluster)->CreateTopic("bench-changelog", partitions);
    auto exporter =
        ingest::SignalExporter::Open(rules, brokers, {{"linger.ms", "2"}}, "bench-signals",
                                     partitions);
    if (!exporter.ok()) {
      state.SkipWithError(exporter.error().message().c_str());
      return;
    }
    PipelineOptions o;
    o.threads = 1;
    o.export_signals = true;
    o.checkpoint.enabled = true;  // offsets committed (and signals flushed) once a second
    Pipeline p(rules, parser, o);
    LinesSource source(Records());
    auto t0 = std::chrono::steady_clock::now();
    Result<PipelineStats> stats = p.Run(source, {exporter->get()});
    match_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!stats.ok()) {
      state.SkipWithError(stats.error().message().c_str());
      return;
    }
    records += stats->records;
    const uint64_t sent = (*exporter)->messages();

    ingest::CorrelationWorkerOptions wo;
    wo.brokers = brokers;
    wo.properties = {{"fetch.wait.max.ms", "10"}};
    wo.group_id = "bench-correlate";
    wo.signals_topic = "bench-signals";
    wo.changelog_topic = "bench-changelog";
    wo.inputs = {{"bench", 0}};
    CountSink sink;
    auto worker = ingest::CorrelationWorker::Open(rules, wo, {&sink});
    if (!worker.ok()) {
      state.SkipWithError(worker.error().message().c_str());
      return;
    }
    Status run_status = Ok();
    std::thread t([&] { run_status = (*worker)->Run(); });
    while ((*worker)->Owned().size() < static_cast<size_t>(partitions)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    t0 = std::chrono::steady_clock::now();
    while ((*worker)->stats().messages < sent) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    correlate_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    (*worker)->Stop();
    t.join();
    if (!run_status.ok()) {
      state.SkipWithError(run_status.error().message().c_str());
      return;
    }
    messages += sent;
    alerts += sink.alerts;
    checkpoints += (*worker)->stats().checkpoints;
  }
  state.counters["match_records_per_s"] = static_cast<double>(records) / match_seconds;
  state.counters["correlate_msgs_per_s"] = static_cast<double>(messages) / correlate_seconds;
  state.counters["messages"] =
      benchmark::Counter(static_cast<double>(messages), benchmark::Counter::kAvgIterations);
  state.counters["alerts"] =
      benchmark::Counter(static_cast<double>(alerts), benchmark::Counter::kAvgIterations);
  state.counters["checkpoints"] =
      benchmark::Counter(static_cast<double>(checkpoints), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_ScaleOutStages)
    ->ArgName("partitions")
    ->Arg(1)
    ->Arg(8)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace tuttle::bench
