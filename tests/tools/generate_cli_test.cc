// `tuttle generate` through the binary (docs/bench.md): the same seed gives the same bytes, every
// record is read by `tuttle replay` (no dead letters) and sized 300..1500 bytes, the planted
// stories raise the alerts the expect file names, the burst rule fires exactly once per story,
// the match rate holds, and --groups spreads the group-by values.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
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

// One 50,000-record stream with three stories, generated and replayed once, by the first test
// that needs it (ctest runs each test in its own process).
constexpr uint64_t kRecords = 50'000;
constexpr uint64_t kStories = 3;

struct Stream {
  testing::TempDir dir;
  std::string records = (dir.path() / "records.jsonl").string();
  std::string expect = (dir.path() / "expect.json").string();
  ProcessResult generated;
  ProcessResult replayed;
};

const Stream& TheStream() {
  static Stream stream;  // its folder is removed at exit
  [[maybe_unused]] static const bool done = [] {
    stream.generated =
        Generate({"-n", std::to_string(kRecords), "--stories", std::to_string(kStories), "-o",
                  stream.records, "--expect", stream.expect});
    stream.replayed = RunProcess({TuttleBinary(), "replay", stream.records});
    return true;
  }();
  return stream;
}

TEST(TuttleGenerate, SameSeedGivesTheSameBytesAndAnotherSeedOthers) {
  const ProcessResult a = Generate({"-n", "3000", "--seed", "7"});
  const ProcessResult b = Generate({"-n", "3000", "--seed", "7"});
  const ProcessResult c = Generate({"-n", "3000", "--seed", "8"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(std::count(a.out.begin(), a.out.end(), '\n'), 3000);
  EXPECT_TRUE(a.out == b.out) << "seed 7 gave different bytes twice";
  EXPECT_FALSE(a.out == c.out) << "seeds 7 and 8 gave the same bytes";
  // The file and stdout hold the same bytes.
  const testing::TempDir dir;
  const std::string file = (dir.path() / "seed7.jsonl").string();
  ASSERT_EQ(Generate({"-n", "3000", "--seed", "7", "-o", file}).exit_code, 0);
  EXPECT_TRUE(testing::ReadFile(file) == a.out);
}

TEST(TuttleGenerate, EveryRecordIsReadWithNoDeadLettersAndSizedForTheBench) {
  const Stream& stream = TheStream();
  const ProcessResult& generated = stream.generated;
  const ProcessResult& replayed = stream.replayed;
  ASSERT_EQ(generated.exit_code, 0) << generated.err;
  ASSERT_EQ(replayed.exit_code, 0) << replayed.err;
  const Summary s = ParseSummary(replayed.err);
  EXPECT_EQ(s.records, kRecords);
  EXPECT_EQ(s.events, kRecords);
  EXPECT_EQ(s.dead, 0u) << replayed.err;

  std::ifstream in(stream.records);
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

TEST(TuttleGenerate, PlantedStoriesRaiseTheExpectedAlertsAndOneBurstEach) {
  const Stream& stream = TheStream();
  const ProcessResult& replayed = stream.replayed;
  ASSERT_EQ(replayed.exit_code, 0) << replayed.err;
  const json expect = json::parse(testing::ReadFile(stream.expect));
  EXPECT_EQ(expect["records"], kRecords);
  EXPECT_EQ(expect["bursts"], kStories);
  ASSERT_EQ(expect["alerts"].size(), 3 * kStories);

  std::multiset<std::string> raised;  // rule + group, as JSON text
  uint64_t bursts = 0;
  for (const json& a : JsonLines(replayed.out)) {
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

TEST(TuttleGenerate, MatchRateIsHeldAndZeroMatchesNothing) {
  const ProcessResult& replayed = TheStream().replayed;
  const Summary s = ParseSummary(replayed.err);
  const uint64_t story_records = 18 * kStories;
  const uint64_t background = kRecords - story_records;
  ASSERT_GE(s.matched, story_records);
  const uint64_t matched_background = s.matched - story_records;
  // 1% of 49,946 is 499; the binomial spread is about 22.
  EXPECT_GT(matched_background, background / 100 * 7 / 10) << replayed.err;
  EXPECT_LT(matched_background, background / 100 * 13 / 10) << replayed.err;

  const testing::TempDir dir;
  const std::string quiet = (dir.path() / "quiet.jsonl").string();
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
  static const std::regex re(R"(dev\d{7}@corp\.example\.com|team-\d{7}|"100\.\d+\.\d+\.\d+")");
  std::set<std::string> values;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), re); it != std::sregex_iterator();
       ++it) {
    values.insert(it->str());
  }
  return values.size();
}

TEST(TuttleGenerate, MoreGroupsGiveMoreDistinctGroupByValues) {
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

TEST(TuttleGenerate, RefusesStoriesThatDoNotFit) {
  const ProcessResult r = Generate({"-n", "20", "--stories", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--stories"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tuttle
