// The match stage: parse + Hyperscan match of every record of the bundled sample, with the
// bundled rule pack and with the whole SigmaHQ corpus loaded beside it. The cost per record
// should grow with the record, not with the number of rules.

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench_support.h"
#include "tuttle/engine/inventory.h"
#include "tuttle/engine/record.h"
#include "tuttle/ingest/json_record_parser.h"
#include "tuttle/rules/sigma_loader.h"

namespace {

using namespace tuttle;


class Counter final : public RecordParser::EventHandler {
 public:
  explicit Counter(Detector::Worker& d) : detector_(d) {}
  void OnEvent(const Event& e) override {
    matched_.clear();
    detector_.Match(e, matched_);
    matches += matched_.size();
    if (inventory != nullptr) inventory->Observe(e, record);
  }
  size_t matches = 0;
  InventoryCollector* inventory = nullptr;  // the inventory's parallel half, when measured
  uint32_t record = 0;

 private:
  Detector::Worker& detector_;
  std::vector<uint32_t> matched_;
};

// `with_inventory`: also the inventory's two halves (inventory.h), the collector per record and
// the merge per batch, as the pipeline runs them.
void RunMatch(benchmark::State& state, const std::vector<std::string>& rule_paths,
              bool with_inventory = false) {
  const auto records = bench::ReadLines();
  auto sources = rules::ReadRuleSources(rule_paths);
  if (!sources.ok()) {
    state.SkipWithError(sources.error().message().c_str());
    return;
  }
  auto catalog = std::make_shared<FieldCatalog>();
  ingest::RegisterAdapterFields(*catalog);
  rules::CompileReport report;
  auto rs = rules::CompileRules(*sources, catalog, {}, report);
  if (!rs.ok()) {
    state.SkipWithError(rs.error().message().c_str());
    return;
  }
  ingest::JsonRecordParser parser(rs->catalog);
  auto pw = parser.NewWorker();
  auto dw = rs->detector->NewWorker();
  RecordBatch batch;
  const int64_t bytes = bench::FillBatch(records, batch);
  Counter counter(*dw);
  InventoryCollector collector;
  Inventory inventory;
  if (with_inventory) counter.inventory = &collector;
  std::vector<Alert> alerts;
  std::vector<std::pair<std::string, std::string>> changes;
  for (auto _ : state) {
    for (size_t i = 0; i < batch.size(); ++i) {
      counter.record = static_cast<uint32_t>(i);
      benchmark::DoNotOptimize(pw->Parse(batch.bytes(i), batch.meta(i), counter).ok());
    }
    if (with_inventory) {
      inventory.Apply(collector, batch, [](uint32_t) { return false; }, alerts);
      inventory.TakeChanges(changes);  // as without checkpoints: every batch
      collector.Clear();
      changes.clear();
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch.size()));
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["rules"] = static_cast<double>(report.rules_loaded);
  state.counters["patterns"] = static_cast<double>(report.patterns);
  state.counters["compile_s"] = report.compile_seconds;
}

// Arg: without (0) and with (1) the inventory.
void BM_ParseAndMatchBundledPack(benchmark::State& state) {
  RunMatch(state, {std::string(TUTTLE_SOURCE_DIR) + "/rules/pack"}, state.range(0) != 0);
}
BENCHMARK(BM_ParseAndMatchBundledPack)->ArgName("inventory")->Arg(0)->Arg(1);

void BM_ParseAndMatchWithSigmaHQCorpus(benchmark::State& state) {
  const std::string corpus = std::string(TUTTLE_SOURCE_DIR) + "/../shared/sigma/rules-corpus";
  if (!std::filesystem::is_directory(corpus)) {
    state.SkipWithError("../shared/sigma/rules-corpus is absent");
    return;
  }
  RunMatch(state, {std::string(TUTTLE_SOURCE_DIR) + "/rules/pack", corpus});
}
BENCHMARK(BM_ParseAndMatchWithSigmaHQCorpus);

}  // namespace
