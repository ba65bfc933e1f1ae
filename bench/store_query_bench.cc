// `tuttle alerts` queries on a store of 100,000 alerts (20 rules, 1,000 pods, 2% critical): the
// first page of 50 through each plan, and the write cost of alerts with their index entries.

#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <string>

#include "tuttle/storage/alert_query.h"
#include "tuttle/storage/store.h"

namespace tuttle {
namespace {

constexpr int kAlerts = 100'000;
constexpr TimeNs kBase = TimeNs{1'770'000'000} * kNsPerSecond;

std::string Cat(std::string a, std::string_view b) {
  a += b;
  return a;
}

Alert MakeAlert(int i, const std::vector<std::shared_ptr<RuleInfo>>& rules) {
  Alert a;
  a.rule = rules[static_cast<size_t>(i % 20)];
  a.kind = "single";
  a.time = a.window_start = a.window_end = kBase + TimeNs{i} * kNsPerMs;
  a.entities.namespace_name = Cat("ns-", std::to_string(i % 10));
  a.entities.pod = Cat("pod-", std::to_string(i % 1000));
  a.entities.principal = Cat("user-", std::to_string(i % 50));
  a.evidence.push_back(Evidence{SourcePosition{"bench", 0, i}, a.time,
                                Hash128{7, static_cast<uint64_t>(i)}, a.rule});
  a.id = ComputeAlertId(a);
  return a;
}

std::vector<std::shared_ptr<RuleInfo>> Rules() {
  std::vector<std::shared_ptr<RuleInfo>> rules;
  for (int r = 0; r < 20; ++r) {
    auto info = std::make_shared<RuleInfo>();
    info->id = Cat("rule-", std::to_string(r));
    info->title = Cat("Bench rule ", std::to_string(r));
    // Rule 0 (5% of alerts) is critical, the rest medium or high.
    info->level = r == 0 ? Level::kCritical : (r % 2 ? Level::kHigh : Level::kMedium);
    rules.push_back(info);
  }
  return rules;
}

// The store, filled once for every query bench.
storage::Store* QueryStore() {
  static std::unique_ptr<storage::Store> store = [] {
    const auto dir = std::filesystem::temp_directory_path() / "tuttle-bench-query-store";
    std::filesystem::remove_all(dir);
    storage::StoreOptions o;
    o.alert_retention = 0;
    auto s = storage::Store::Open(dir.string(), o);
    if (!s.ok()) return std::unique_ptr<storage::Store>();
    const auto rules = Rules();
    for (int b = 0; b < kAlerts / 1000; ++b) {
      BatchOutput out;
      for (int i = b * 1000; i < (b + 1) * 1000; ++i) out.alerts.push_back(MakeAlert(i, rules));
      if (!(*s)->Write(out).ok()) return std::unique_ptr<storage::Store>();
    }
    return std::move(*s);
  }();
  return store.get();
}

void BM_QueryFirstPage(benchmark::State& state) {
  storage::Store* store = QueryStore();
  if (store == nullptr) {
    state.SkipWithError("cannot fill the store");
    return;
  }
  storage::AlertQuery q;
  q.limit = 50;
  switch (state.range(0)) {
    case 0:
      state.SetLabel("no filter (scan alerts)");
      break;
    case 1:
      q.filter.rule = "rule-7";
      state.SetLabel("--rule rule-7 (5%)");
      break;
    case 2:
      q.filter.rule = "bench rule 7";
      state.SetLabel("--rule 'bench rule 7' (title)");
      break;
    case 3:
      q.filter.entity = "pod=pod-123";
      state.SetLabel("--entity pod=pod-123 (0.1%)");
      break;
    case 4:
      q.filter.min_severity = Level::kCritical;
      q.filter.entity = "ns-3";
      state.SetLabel("--min-severity critical --entity ns-3");
      break;
    case 5:
      q.filter.rule = "rule-7";
      q.filter.entity = "user-3";  // rule 7 never meets user 3: reads all of the smaller index
      state.SetLabel("--rule rule-7 --entity user-3 (no match)");
      break;
  }
  uint64_t examined = 0;
  for (auto _ : state) {
    auto page = storage::QueryAlerts(*store, q);
    if (!page.ok()) {
      state.SkipWithError(page.error().message().c_str());
      return;
    }
    examined += page->examined;
    benchmark::DoNotOptimize(page->alerts.data());
  }
  state.counters["examined"] =
      benchmark::Counter(static_cast<double>(examined), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_QueryFirstPage)->DenseRange(0, 5)->Unit(benchmark::kMicrosecond);

// One WriteBatch of 1,000 alerts with three entities each: the alerts and ~7 index entries each.
void BM_StoreWriteIndexedAlerts(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / "tuttle-bench-index-store";
  std::filesystem::remove_all(dir);
  auto store = storage::Store::Open(dir.string());
  if (!store.ok()) {
    state.SkipWithError(store.error().message().c_str());
    return;
  }
  const auto rules = Rules();
  int i = 0;
  for (auto _ : state) {
    state.PauseTiming();
    BatchOutput out;
    for (int n = 0; n < 1000; ++n, ++i) out.alerts.push_back(MakeAlert(i, rules));
    state.ResumeTiming();
    benchmark::DoNotOptimize((*store)->Write(out).ok());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  store->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_StoreWriteIndexedAlerts)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tuttle
