// The public SigmaHQ corpus (../shared/sigma/rules-corpus) loads: at least 99% of its rules
// compile, each rule that does not is listed with its reason (which must be on the known list
// below), and the whole corpus compiles in under 10 s.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <regex>

#include "support/test_support.h"
#include "tuttle/rules/pipeline.h"
#include "tuttle/rules/sigma_loader.h"

namespace tuttle::rules {
namespace {

// Why a corpus rule may fail. Anything else is a bug in the loader. Placeholders need values
// from a processing pipeline's `vars`, which the plain corpus load does not give.
const char* const kKnownReasons[] = {
    "placeholder .%[A-Za-z0-9_]+%. has no values",
    "regular expression refused by Hyperscan: .*",
};

bool KnownReason(const Diagnostic& d) {
  for (const char* reason : kKnownReasons) {
    if (std::regex_match(d.message, std::regex(reason))) return true;
  }
  return false;
}

// `pipeline`: a processing pipeline file to load with the rules, or null.
void LoadCorpus(const char* name, const std::vector<std::string>& dirs, [[maybe_unused]] bool whole,
                const char* pipeline = nullptr, double at_least = 0.99) {
  const auto shared = tuttle::testing::SharedDir();
  if (!shared) GTEST_SKIP() << "../shared is absent: no SigmaHQ corpus to load";
  const auto corpus = *shared / "sigma" / "rules-corpus";
  if (!std::filesystem::is_directory(corpus)) {
    GTEST_SKIP() << "no SigmaHQ corpus at " << corpus;
  }
  std::vector<std::string> paths;
  for (const std::string& d : dirs) paths.push_back((corpus / d).string());

  const auto start = std::chrono::steady_clock::now();
  Result<std::vector<RuleSource>> sources = ReadRuleSources(paths);
  ASSERT_TRUE(sources.ok()) << sources.error().message();
  const double read_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  CompileOptions options;
  if (pipeline != nullptr) {
    Result<std::vector<RuleSource>> file = ReadRuleSources({pipeline});
    ASSERT_TRUE(file.ok()) << file.error().message();
    Diagnostics diagnostics;
    Result<ProcessingPipeline> loaded = LoadPipeline(file->front(), diagnostics);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message();
    options.pipelines.push_back(std::move(*loaded));
    MergePipelineVars(options.pipelines, options.placeholders);
  }
  auto catalog = std::make_shared<FieldCatalog>();
  CompileReport report;
  Result<RuleSet> set = CompileRules(*sources, catalog, options, report);
  ASSERT_TRUE(set.ok()) << set.error().message();

  std::map<std::string, size_t> reasons;  // error message -> count
  size_t unexpected = 0;
  for (const Diagnostic& d : report.diagnostics) {
    if (d.severity != Diagnostic::Severity::kError) continue;
    if (KnownReason(d)) {
      ++reasons[d.message];
    } else if (++unexpected <= 30) {
      ADD_FAILURE() << "unexpected error: " << d.ToString();
    }
  }
  std::printf(
      "SigmaHQ %s: %zu files read in %.2fs; %zu rules loaded, %zu skipped, "
      "%zu correlations; %zu patterns in %zu databases; compiled in %.2fs; "
      "%zu warnings\n",
      name, sources->size(), read_seconds, report.rules_loaded, report.rules_skipped,
      report.correlations_loaded, report.patterns, report.databases, report.compile_seconds,
      report.warnings());
  for (const auto& [reason, count] : reasons) std::printf("  %5zu x %s\n", count, reason.c_str());
  std::printf("Rules not loaded, with their errors:\n");
  for (const Diagnostic& d : report.diagnostics) {
    if (d.severity == Diagnostic::Severity::kError) std::printf("  %s\n", d.ToString().c_str());
  }
  EXPECT_GT(report.rules_loaded, 0u);
  EXPECT_EQ(report.rules_loaded + report.rules_skipped, sources->size());
  const double loaded = static_cast<double>(report.rules_loaded) /
                        static_cast<double>(report.rules_loaded + report.rules_skipped);
  std::printf("%.2f%% of the rules compile\n", 100 * loaded);
  EXPECT_GE(loaded, at_least);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // Sanitizer builds are several times slower; the budget is for release builds.
  if (whole) {
    EXPECT_LT(report.compile_seconds, 10.0);
  }
#endif

  // The detector runs on an event from every log source without tripping over anything.
  auto worker = set->detector->NewWorker();
  FieldTable table;
  Event event;
  event.fields = &table;
  std::vector<uint32_t> matched;
  worker->Match(event, matched);
}

TEST(SigmaCorpus, CloudAndLinuxRulesLoad) {
  LoadCorpus("rules/cloud + rules/linux", {"rules/cloud", "rules/linux"}, false);
}

TEST(SigmaCorpus, WholeCorpusLoadsInUnderTenSeconds) {
  LoadCorpus("corpus",
             {"rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder"},
             true);
}

// With values for its placeholders (the example pipeline of rules/pipelines/), every rule of the
// corpus compiles.
TEST(SigmaCorpus, WithPlaceholderValuesEveryRuleCompiles) {
  LoadCorpus("corpus + placeholder values",
             {"rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder"}, false,
             TUTTLE_SOURCE_DIR "/rules/pipelines/sigmahq-placeholders.example.yml", 1.0);
}

}  // namespace
}  // namespace tuttle::rules
