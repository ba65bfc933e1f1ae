// rules/pipelines/falco.yml end to end: a SigmaHQ Linux process_creation rule, unchanged, matches
// a Falco alert read by the JSON record parser, through the pipeline.
#include <gtest/gtest.h>

#include "support/test_support.h"
#include "tuttle/engine/record.h"
#include "tuttle/ingest/json_record_parser.h"
#include "tuttle/rules/pipeline.h"
#include "tuttle/rules/sigma_loader.h"

namespace tuttle::rules {
namespace {

// A Falco alert for a process spawn, as in ingest/samples/attack-story.jsonl; `{cmdline}`,
// `{exepath}` and `{evt}` are filled in.
std::string FalcoAlert(const std::string& exepath, const std::string& cmdline,
                       const std::string& evt_type) {
  return R"({"hostname":"ip-10-0-12-57.eu-west-1.compute.internal","output":"Package management process launched in container","output_fields":{"container.id":"5e9a2b7c41d0","container.name":"runner","evt.time":1773479893403893368,"evt.type":")" +
         evt_type + R"(","k8s.ns.name":"ci","proc.cmdline":")" + cmdline + R"(","proc.exepath":")" +
         exepath +
         R"(","proc.name":"apt-get","proc.pname":"sh","proc.tty":0,"user.loginuid":-1,"user.name":"root","user.uid":0},"priority":"Error","rule":"Launch Package Management Process in Container","source":"syscall","tags":["T1505","container","process"],"time":"2026-03-14T09:18:13.403893368Z"})";
}

class Matcher : public RecordParser::EventHandler {
 public:
  explicit Matcher(const RuleSet& rules) : rules_(rules), worker_(rules.detector->NewWorker()) {}
  void OnEvent(const Event& event) override {
    matched_.clear();
    worker_->Match(event, matched_);
    for (const uint32_t r : matched_) titles.push_back(rules_.detections[r].info->title);
  }
  std::vector<std::string> titles;

 private:
  const RuleSet& rules_;
  std::unique_ptr<Detector::Worker> worker_;
  std::vector<uint32_t> matched_;
};

class FalcoPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto shared = tuttle::testing::SharedDir();
    if (!shared) GTEST_SKIP() << "../shared is absent: no SigmaHQ rule to run through falco.yml";
    const auto rule = *shared /
                      "sigma/rules-corpus/rules/linux/process_creation/"
                      "proc_creation_lnx_install_suspicious_packages.yml";
    if (!std::filesystem::exists(rule)) GTEST_SKIP() << "no SigmaHQ rule at " << rule;
    const auto pipeline_path = tuttle::testing::SourceDir() / "rules/pipelines/falco.yml";
    Diagnostics diagnostics;
    Result<ProcessingPipeline> pipeline = LoadPipeline(
        RuleSource{pipeline_path.string(), tuttle::testing::ReadFile(pipeline_path)}, diagnostics);
    ASSERT_TRUE(pipeline.ok()) << pipeline.error().message();
    ASSERT_TRUE(diagnostics.empty()) << diagnostics.front().ToString();

    CompileOptions options;
    options.pipelines.push_back(std::move(*pipeline));
    auto catalog = std::make_shared<FieldCatalog>();
    ingest::RegisterAdapterFields(*catalog);
    Result<RuleSet> set = CompileRules({RuleSource{rule.string(), tuttle::testing::ReadFile(rule)}},
                                       catalog, options, report_);
    ASSERT_TRUE(set.ok()) << set.error().message();
    ASSERT_EQ(report_.errors(), 0u) << report_.diagnostics.front().ToString();
    rules_ = std::make_unique<RuleSet>(std::move(*set));
    parser_ = std::make_unique<ingest::JsonRecordParser>(rules_->catalog);
    worker_ = parser_->NewWorker();
  }

  std::vector<std::string> Match(const std::string& record) {
    std::string padded = record + std::string(kRecordPadding, ' ');
    Matcher matcher(*rules_);
    Status st =
        worker_->Parse(std::string_view(padded.data(), record.size()), RecordMeta{}, matcher);
    EXPECT_TRUE(st.ok()) << st.error().message();
    return matcher.titles;
  }

  CompileReport report_;
  std::unique_ptr<RuleSet> rules_;
  std::unique_ptr<ingest::JsonRecordParser> parser_;
  std::unique_ptr<RecordParser::Worker> worker_;
};

TEST_F(FalcoPipeline, SigmaHQLinuxRuleMatchesAFalcoProcessSpawn) {
  ASSERT_EQ(rules_->detections.size(), 1u);
  EXPECT_EQ(rules_->detections[0].logsource.product, "falco");
  EXPECT_EQ(Match(FalcoAlert("/usr/bin/apt-get", "apt-get install -y nmap", "execve")),
            std::vector<std::string>{"Suspicious Package Installed - Linux"});
}

TEST_F(FalcoPipeline, OtherPackagesOrOtherEventsDoNotMatch) {
  // The sample's own record: jq is not on the rule's list.
  EXPECT_TRUE(Match(FalcoAlert("/usr/bin/apt-get", "apt-get install -y --no-install-recommends jq",
                               "execve"))
                  .empty());
  // Not a process spawn (the pipeline's add_condition).
  EXPECT_TRUE(Match(FalcoAlert("/usr/bin/apt-get", "apt-get install -y nmap", "openat")).empty());
  // The Sigma field Image maps to proc.exepath: another tool does not match.
  EXPECT_TRUE(Match(FalcoAlert("/usr/bin/pip", "pip install nmap", "execve")).empty());
}

}  // namespace
}  // namespace tuttle::rules
