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
  }
  size_t matches = 0;

 private:
  Detector::Worker& detector_;
  std::vector<uint32_t> matched_;
};

void RunMatch(benchmark::State& state, const std::vector<std::string>& rule_paths) {
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
  for (auto _ : state) {
    for (size_t i = 0; i < batch.size(); ++i) {
      benchmark::DoNotOptimize(pw->Parse(batch.bytes(i), batch.meta(i), counter).ok());
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch.size()));
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["rules"] = static_cast<double>(report.rules_loaded);
  state.counters["patterns"] = static_cast<double>(report.patterns);
  state.counters["compile_s"] = report.compile_seconds;
}

void BM_ParseAndMatchBundledPack(benchmark::State& state) {
  RunMatch(state, {std::string(TUTTLE_SOURCE_DIR) + "/rules/pack"});
}
BENCHMARK(BM_ParseAndMatchBundledPack);

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
