// Micro benchmarks per stage: parsing (simdjson + adapters), correlation windows, store writes.
// Each reports items/s and, where it reads records, bytes/s.

#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "bench_support.h"
#include "tuttle/engine/correlator.h"
#include "tuttle/engine/record.h"
#include "tuttle/ingest/json_record_parser.h"
#include "tuttle/storage/store.h"

namespace {

using namespace tuttle;


class CountHandler final : public RecordParser::EventHandler {
 public:
  void OnEvent(const Event& e) override {
    fields += e.fields->size();
    ++events;
  }
  size_t fields = 0;
  int64_t events = 0;
};

// The per-format samples (ingest/samples/formats), in the parser's format order, then the
// CloudTrail delivery batch.
std::vector<std::string> BenchFormats() {
  std::vector<std::string> out;
  for (const std::string_view f : ingest::JsonRecordParser::FormatNames()) out.emplace_back(f);
  out.emplace_back("cloudtrail_batch");
  return out;
}

// Parses `records` over and over, with the adapters' fields and `rule_paths` in the catalog.
// Items are events (a delivery batch is several), bytes are over the records. With
// `must_parse`, a record that does not parse stops the bench with an error.
void RunParse(benchmark::State& state, const std::vector<std::string>& records,
              std::initializer_list<const char*> rule_paths, bool must_parse) {
  auto catalog = std::make_shared<FieldCatalog>();
  ingest::RegisterAdapterFields(*catalog);
  for (const char* p : rule_paths) catalog->Intern(p);
  ingest::JsonRecordParser parser(catalog);
  auto worker = parser.NewWorker();
  RecordBatch batch;
  const int64_t bytes = bench::FillBatch(records, batch);
  CountHandler handler;
  for (auto _ : state) {
    for (size_t i = 0; i < batch.size(); ++i) {
      const bool ok = worker->Parse(batch.bytes(i), batch.meta(i), handler).ok();
      if (must_parse && !ok) {
        state.SkipWithError("a sample did not parse");
        return;
      }
      benchmark::DoNotOptimize(ok);
    }
  }
  state.SetItemsProcessed(handler.events);
  state.SetBytesProcessed(state.iterations() * bytes);
}

// One adapter at a time: its real-shaped samples, parsed with the adapters' fields and a few
// rule fields of that format: events/s per adapter.
void BM_ParseFormat(benchmark::State& state) {
  const auto formats = BenchFormats();
  if (static_cast<size_t>(state.range(0)) >= formats.size()) {
    state.SkipWithError("no such format");
    return;
  }
  const std::string format = formats[static_cast<size_t>(state.range(0))];
  state.SetLabel(format);
  const auto records = bench::ReadLines(std::string(TUTTLE_SOURCE_DIR) +
                                        "/ingest/samples/formats/" + format + ".jsonl");
  if (records.empty()) {
    state.SkipWithError("no samples for this format");
    return;
  }
  RunParse(state, records,
           {"objectRef.subresource", "verb", "output_fields.proc.cmdline", "userIdentity.type",
            "protoPayload.methodName", "Action", "operationName", "properties.message",
            "Results.Vulnerabilities.PkgName", "json.msg", "initDurationMs"},
           true);
}
BENCHMARK(BM_ParseFormat)->DenseRange(0, static_cast<int>(BenchFormats().size()) - 1);

// Parse and walk each record of the bundled sample with the adapters' fields and a typical set of
// rule fields.
void BM_ParseSample(benchmark::State& state) {
  const auto records = bench::ReadLines();
  if (records.empty()) {
    state.SkipWithError("ingest/samples/attack-story.jsonl is missing");
    return;
  }
  RunParse(state, records,
           {"objectRef.resource", "objectRef.subresource", "objectRef.namespace",
            "user.username", "verb", "responseStatus.code",
            "requestObject.spec.containers.securityContext.privileged",
            "output_fields.proc.cmdline", "output_fields.k8s.ns.name", "eventName",
            "userIdentity.arn", "sourceIPAddress", "errorCode"},
           false);
}
BENCHMARK(BM_ParseSample);

// 100,000 signals of a correlation of `type` over `groups` groups, 1 ms apart in event time, two
// referenced rules taking turns; value types read a value cycling through 0..99, so value_count's
// distinct set and the metric windows do real work. Conditions are high enough to keep windows
// filling (alerts are the exception): `gte` for the count types, far above for the metric ones.
void RunWindows(benchmark::State& state, CorrelationType type, int64_t groups, double gte) {
  RuleSet rs;
  for (const char* id : {"a", "b"}) {
    DetectionRule d;
    d.info = std::make_shared<RuleInfo>(
        RuleInfo{id, "", id, "", "", "", Level::kLow, {}, {}, {}, "", 0});
    rs.detections.push_back(d);
  }
  CorrelationRule c;
  c.info = std::make_shared<RuleInfo>(
      RuleInfo{"c", "", "c", "", "", "", Level::kHigh, {}, {}, {}, "", 0});
  c.type = type;
  c.rules = {0, 1};
  c.group_by = {"user"};
  c.group_by_paths = {{0}};
  c.timespan = 60 * kNsPerSecond;
  // temporal and temporal_ordered: every step present fires, then the episode starts afresh.
  if (type == CorrelationType::kValueCount || IsMetricType(type)) {
    c.value_field = "v";
    c.value_paths = {1, 1};
  }
  if (type != CorrelationType::kTemporal && type != CorrelationType::kTemporalOrdered) {
    c.condition.gte = IsMetricType(type) ? 1e12 : gte;
  }
  rs.correlations.push_back(c);
  rs.Link();
  constexpr int64_t kSignals = 100'000;
  std::vector<std::string> names, values;
  for (int64_t g = 0; g < groups; ++g) names.push_back("user-" + std::to_string(g));
  for (int v = 0; v < 100; ++v) values.push_back(std::to_string(v));
  int64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Correlator corr(rs, {});
    std::vector<Alert> alerts;
    state.ResumeTiming();
    for (int64_t i = 0; i < kSignals; ++i) {
      Signal sig;
      sig.step = static_cast<uint32_t>(i % 2);
      sig.detection = sig.step;
      sig.time = 1'700'000'000 * kNsPerSecond + i * kNsPerMs;
      sig.record_id = Hash128{static_cast<uint64_t>(i), 7};
      sig.position = SourcePosition{"bench", 0, i};
      sig.group = {names[static_cast<size_t>((i / 2) % groups)]};
      if (!c.value_field.empty()) sig.value = values[static_cast<size_t>(i % 100)];
      corr.Observe("bench", 0, sig.time);
      corr.Add(std::move(sig));
      if (i % 1024 == 0) corr.Advance(alerts);
    }
    corr.Flush(alerts);
    n += kSignals;
    benchmark::DoNotOptimize(alerts.size());
  }
  state.SetItemsProcessed(n);
  state.SetLabel(std::string(CorrelationTypeName(type)));
}

// event_count windows by number of groups (arg).
void BM_CorrelateEventCount(benchmark::State& state) {
  RunWindows(state, CorrelationType::kEventCount, state.range(0), 50);
}
BENCHMARK(BM_CorrelateEventCount)->Arg(10)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);

// The window update of each correlation type (arg: CorrelationType), 1,000 groups.
void BM_CorrelateType(benchmark::State& state) {
  RunWindows(state, static_cast<CorrelationType>(state.range(0)), 1000, 150);
}
BENCHMARK(BM_CorrelateType)->DenseRange(0, 6)->Unit(benchmark::kMillisecond);

// One WriteBatch per pipeline batch: 1,000 alerts and the positions.
void BM_StoreWriteBatch(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / "tuttle-bench-store";
  std::filesystem::remove_all(dir);
  auto store = storage::Store::Open(dir.string());
  if (!store.ok()) {
    state.SkipWithError(store.error().message().c_str());
    return;
  }
  auto info = std::make_shared<RuleInfo>();
  info->id = "bench";
  info->title = "Bench rule";
  int64_t t = 0;
  for (auto _ : state) {
    BatchOutput out;
    for (int i = 0; i < 1000; ++i, ++t) {
      Alert a;
      a.rule = info;
      a.kind = "single";
      a.time = a.window_start = a.window_end = t;
      a.evidence.push_back(Evidence{SourcePosition{"bench", 0, t}, t, Hash128{1, static_cast<uint64_t>(t)}, info});
      a.id = ComputeAlertId(a);
      out.alerts.push_back(std::move(a));
    }
    out.positions.push_back(SourcePosition{"bench", 0, t});
    benchmark::DoNotOptimize((*store)->Write(out).ok());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  store->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_StoreWriteBatch)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
