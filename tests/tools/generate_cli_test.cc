// `tuttle generate` through the binary (docs/bench.md): the same seed gives the same bytes, every
// record is read by `tuttle replay` (no dead letters) and sized 300..1500 bytes, the planted
// stories raise the alerts the expect file names, the burst rule fires exactly once per story,
// the match rate holds, and --groups spreads the group-by values.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/json_lines.h"
#include "support/test_support.h"

namespace tuttle {
namespace {

using nlohmann::json;
using testing::JsonLines;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TuttleBinary;

// The numbers of replay's summary line: "-- N records (...), E events, M matched, A alerts (C
// correlated), D dead letters (U unreadable, L late); ...".
struct Summary {
  uint64_t records = 0, events = 0, matched = 0, alerts = 0, correlated = 0, dead = 0;
};

uint64_t Number(const std::string& s) {
  std::string digits;
  for (char c : s) {
    if (c >= '0' && c <= '9') digits.push_back(c);
  }
  return digits.empty() ? 0 : std::stoull(digits);
}

Summary ParseSummary(const std::string& err) {
  static const std::regex re(
      R"(-- ([\d,]+) records \([^)]*\), ([\d,]+) events, ([\d,]+) matched, ([\d,]+) alerts \(([\d,]+) correlated\), ([\d,]+) dead letters)");
  std::smatch m;
  Summary s;
  EXPECT_TRUE(std::regex_search(err, m, re)) << "no summary line in:\n" << err;
  if (m.empty()) return s;
  s.records = Number(m[1]);
  s.events = Number(m[2]);
  s.matched = Number(m[3]);
  s.alerts = Number(m[4]);
  s.correlated = Number(m[5]);
  s.dead = Number(m[6]);
  return s;
}

ProcessResult Generate(std::vector<std::string> args) {
  args.insert(args.begin(), {TuttleBinary(), "generate"});
  return RunProcess(args);
}

// One 50,000-record stream with three stories, generated and replayed once for the suite.
class TuttleGenerate : public ::testing::Test {
 protected:
  static constexpr uint64_t kRecords = 50'000;
  static constexpr uint64_t kStories = 3;

  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    records_ = (dir_->path() / "records.jsonl").string();
    expect_ = (dir_->path() / "expect.json").string();
    generated_ = new ProcessResult(Generate({"-n", std::to_string(kRecords), "--stories",
                                             std::to_string(kStories), "-o", records_,
                                             "--expect", expect_}));
    replayed_ = new ProcessResult(RunProcess({TuttleBinary(), "replay", records_}));
  }
  static void TearDownTestSuite() {
    delete replayed_;
    delete generated_;
    delete dir_;
  }

  static testing::TempDir* dir_;
  static std::string records_, expect_;
  static ProcessResult* generated_;
  static ProcessResult* replayed_;
};

testing::TempDir* TuttleGenerate::dir_ = nullptr;
std::string TuttleGenerate::records_, TuttleGenerate::expect_;
ProcessResult* TuttleGenerate::generated_ = nullptr;
ProcessResult* TuttleGenerate::replayed_ = nullptr;

TEST_F(TuttleGenerate, SameSeedGivesTheSameBytesAndAnotherSeedOthers) {
  const ProcessResult a = Generate({"-n", "3000", "--seed", "7"});
  const ProcessResult b = Generate({"-n", "3000", "--seed", "7"});
  const ProcessResult c = Generate({"-n", "3000", "--seed", "8"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(std::count(a.out.begin(), a.out.end(), '\n'), 3000);
  EXPECT_TRUE(a.out == b.out) << "seed 7 gave different bytes twice";
  EXPECT_FALSE(a.out == c.out) << "seeds 7 and 8 gave the same bytes";
  // The file and stdout hold the same bytes.
  const std::string file = (dir_->path() / "seed7.jsonl").string();
  ASSERT_EQ(Generate({"-n", "3000", "--seed", "7", "-o", file}).exit_code, 0);
  EXPECT_TRUE(testing::ReadFile(file) == a.out);
}

TEST_F(TuttleGenerate, EveryRecordIsReadWithNoDeadLettersAndSizedForTheBench) {
  ASSERT_EQ(generated_->exit_code, 0) << generated_->err;
  ASSERT_EQ(replayed_->exit_code, 0) << replayed_->err;
  const Summary s = ParseSummary(replayed_->err);
  EXPECT_EQ(s.records, kRecords);
  EXPECT_EQ(s.events, kRecords);
  EXPECT_EQ(s.dead, 0u) << replayed_->err;

  std::ifstream in(records_);
  std::string line;
  uint64_t lines = 0, small = 0, large = 0;
  while (std::getline(in, line)) {
    ++lines;
    EXPECT_GE(line.size(), 300u) << "line " << lines << ": " << line;
    EXPECT_LE(line.size(), 1500u) << "line " << lines << ": " << line;
    if (line.size() < 700) ++small;
    if (line.size() > 1200) ++large;
    if (HasFailure()) break;
  }
  EXPECT_EQ(lines, kRecords);
  // A spread, not one size.
  EXPECT_GT(small, kRecords / 50);
  EXPECT_GT(large, kRecords / 10);
}

TEST_F(TuttleGenerate, PlantedStoriesRaiseTheExpectedAlertsAndOneBurstEach) {
  ASSERT_EQ(replayed_->exit_code, 0) << replayed_->err;
  const json expect = json::parse(testing::ReadFile(expect_));
  EXPECT_EQ(expect["records"], kRecords);
  EXPECT_EQ(expect["bursts"], kStories);
  ASSERT_EQ(expect["alerts"].size(), 3 * kStories);

  std::multiset<std::string> raised;  // rule + group, as JSON text
  uint64_t bursts = 0;
  for (const json& a : JsonLines(replayed_->out)) {
    const json& t = a["unmapped"]["tuttle"];
    const std::string rule = t.value("rule_name", "");
    if (rule == expect["burst_rule"]) ++bursts;
    if (t.contains("group_by")) raised.insert(rule + " " + t["group_by"].dump());
  }
  for (const json& e : expect["alerts"]) {
    const std::string key = e["rule"].get<std::string>() + " " + e["group"].dump();
    EXPECT_EQ(raised.count(key), 1u) << "expected alert not raised once: " << key;
  }
  EXPECT_EQ(bursts, expect["bursts"].get<uint64_t>());
}

TEST_F(TuttleGenerate, MatchRateIsHeldAndZeroMatchesNothing) {
  const Summary s = ParseSummary(replayed_->err);
  const uint64_t story_records = 18 * kStories;
  const uint64_t background = kRecords - story_records;
  ASSERT_GE(s.matched, story_records);
  const uint64_t matched_background = s.matched - story_records;
  // 1% of 49,946 is 499; the binomial spread is about 22.
  EXPECT_GT(matched_background, background / 100 * 7 / 10) << replayed_->err;
  EXPECT_LT(matched_background, background / 100 * 13 / 10) << replayed_->err;

  const std::string quiet = (dir_->path() / "quiet.jsonl").string();
  const ProcessResult g =
      Generate({"-n", "20000", "--match-rate", "0", "--stories", "0", "-o", quiet});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  const ProcessResult r = RunProcess({TuttleBinary(), "replay", quiet});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Summary q = ParseSummary(r.err);
  EXPECT_EQ(q.events, 20000u);
  EXPECT_EQ(q.dead, 0u);
  EXPECT_EQ(q.matched, 0u) << r.out.substr(0, 4000);
  // Only the inventory's first-seen findings (each function's first caller), no rule alerts.
  EXPECT_EQ(q.correlated, 0u);
  for (const json& a : JsonLines(r.out)) {
    EXPECT_EQ(a["unmapped"]["tuttle"].value("rule_name", ""), "tuttle_function_new_invoker");
  }
}

// Distinct users, addresses and namespaces of the groups pool in the output.
size_t DistinctGroupValues(const std::string& out) {
  static const std::regex re(
      R"(dev\d{7}@corp\.example\.com|team-\d{7}|"100\.\d+\.\d+\.\d+")");
  std::set<std::string> values;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), re); it != std::sregex_iterator();
       ++it) {
    values.insert(it->str());
  }
  return values.size();
}

TEST_F(TuttleGenerate, MoreGroupsGiveMoreDistinctGroupByValues) {
  const ProcessResult few =
      Generate({"-n", "10000", "--match-rate", "0.2", "--stories", "0", "--groups", "10"});
  const ProcessResult many =
      Generate({"-n", "10000", "--match-rate", "0.2", "--stories", "0", "--groups", "1000000"});
  ASSERT_EQ(few.exit_code, 0) << few.err;
  ASSERT_EQ(many.exit_code, 0) << many.err;
  // Ten values per kind: users, addresses, namespaces.
  EXPECT_LE(DistinctGroupValues(few.out), 30u);
  EXPECT_GT(DistinctGroupValues(many.out), 1000u);
}

TEST_F(TuttleGenerate, RefusesStoriesThatDoNotFit) {
  const ProcessResult r = Generate({"-n", "20", "--stories", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--stories"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tuttle
