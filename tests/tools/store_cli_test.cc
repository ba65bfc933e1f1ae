// The store's commands through the real `tuttle` binary: the bundled story replayed into a store,
// then queried (`tuttle alerts`, table and JSON, filters, pages), acknowledged and closed, its
// dead letters listed and re-driven, its column families counted and compacted.

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "support/json_lines.h"
#include "support/test_support.h"
#include "tuttle/storage/store.h"

namespace tuttle {
namespace {

using nlohmann::json;
using testing::ProcessResult;
using testing::RunProcess;
using testing::JsonLines;
using testing::SamplePath;
using testing::TuttleBinary;

std::vector<std::string> Lines(const std::string& out) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::vector<std::string> UidList(const std::vector<json>& alerts) {
  std::vector<std::string> out;
  for (const auto& a : alerts) out.push_back(a["finding_info"]["uid"].get<std::string>());
  return out;
}

std::multiset<std::string> Uids(const std::vector<json>& alerts) {
  const auto list = UidList(alerts);
  return {list.begin(), list.end()};
}

// The story replayed into a fresh store, once for the whole suite (the tests that change the
// store make their own).
class StoreCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    store_ = new std::string((dir_->path() / "store").string());
    ProcessResult r = RunProcess({TuttleBinary(), "replay", "--store", *store_, SamplePath()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    replayed_ = new std::vector<json>(JsonLines(r.out));
    ASSERT_EQ(replayed_->size(), 52u);
  }
  static void TearDownTestSuite() {
    delete replayed_;
    delete store_;
    delete dir_;
  }

  static ProcessResult Tuttle(std::vector<std::string> args) {
    args.insert(args.begin(), TuttleBinary());
    return RunProcess(args);
  }

  // The replayed alerts `keep` admits, as a multiset of ids.
  template <typename F>
  static std::multiset<std::string> Replayed(F keep) {
    std::multiset<std::string> out;
    for (const auto& a : *replayed_) {
      if (keep(a)) out.insert(a["finding_info"]["uid"].get<std::string>());
    }
    return out;
  }

  static testing::TempDir* dir_;
  static std::string* store_;
  static std::vector<json>* replayed_;
};

testing::TempDir* StoreCli::dir_ = nullptr;
std::string* StoreCli::store_ = nullptr;
std::vector<json>* StoreCli::replayed_ = nullptr;

TEST_F(StoreCli, ListsTheReplayedAlertsNewestFirstAsJsonAndAsATable) {
  ProcessResult r = Tuttle({"alerts", "--store", *store_, "--output", "json", "--limit", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto alerts = JsonLines(r.out);
  EXPECT_EQ(Uids(alerts), Uids(*replayed_));
  for (size_t i = 0; i < alerts.size(); ++i) {
    EXPECT_EQ(alerts[i]["status"], "New");
    EXPECT_EQ(alerts[i]["class_uid"], 2004);
    if (i > 0) {
      EXPECT_LE(alerts[i]["time"], alerts[i - 1]["time"]);
    }
  }

  r = Tuttle({"alerts", "--store", *store_, "-n", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 53u);  // header and 52 alerts (-n 0: no limit; the default is 50)
  EXPECT_TRUE(lines[0].starts_with("TIME")) << lines[0];
  for (const char* column : {"SEVERITY", "STATUS", "RULE", "ENTITY", "COUNT", "ID"}) {
    EXPECT_NE(lines[0].find(column), std::string::npos) << column;
  }
  // Aligned: the id column starts at the same place on every line.
  const size_t id_at = lines[0].find("ID");
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].substr(id_at), alerts[i - 1]["finding_info"]["uid"]) << lines[i];
    EXPECT_NE(lines[i].find(" new "), std::string::npos) << lines[i];
  }
  EXPECT_EQ(r.err.find("--page-token"), std::string::npos) << "one page only: no token";
}

TEST_F(StoreCli, FiltersByRuleEntitySeverityAndTime) {
  // One rule, by id and by a part of its title.
  const json& miner = *std::find_if(replayed_->begin(), replayed_->end(), [](const json& a) {
    return a["finding_info"]["title"] == "Falco Cryptocurrency Miner Activity";
  });
  const std::string rule_id = miner["finding_info"]["analytic"]["uid"];
  const auto want =
      Replayed([&](const json& a) { return a["finding_info"]["analytic"]["uid"] == rule_id; });
  ASSERT_GE(want.size(), 2u);
  for (const std::string& rule : {rule_id, std::string("cryptocurrency miner")}) {
    ProcessResult r =
        Tuttle({"alerts", "--store", *store_, "-o", "json", "--rule", rule, "--explain"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Uids(JsonLines(r.out)), want) << rule;
    EXPECT_NE(r.err.find("plan: index r:"), std::string::npos) << r.err;
  }

  // An entity under one name: the namespace of single alerts or a correlation's group-by.
  ProcessResult r = Tuttle(
      {"alerts", "--store", *store_, "-o", "json", "--entity", "namespace=payments", "--explain"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto payments = Replayed([](const json& a) {
    const json& t = a["unmapped"]["tuttle"];
    return (t.contains("entity") && t["entity"].value("namespace", "") == "payments") ||
           (t.contains("group_by") && t["group_by"].value("namespace", "") == "payments");
  });
  ASSERT_FALSE(payments.empty());
  EXPECT_EQ(Uids(JsonLines(r.out)), payments);
  EXPECT_NE(r.err.find("plan: index e:payments"), std::string::npos) << r.err;

  r = Tuttle({"alerts", "--store", *store_, "-o", "json", "--min-severity", "critical"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Uids(JsonLines(r.out)),
            Replayed([](const json& a) { return a["severity_id"].get<int>() >= 5; }));

  // Event time: RFC 3339 bounds, since inclusive, until exclusive.
  const int64_t since_ms = 1773482400000;  // 2026-03-14T10:00:00Z
  r = Tuttle({"alerts", "--store", *store_, "-o", "json", "--since", "2026-03-14T10:00:00Z"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto late = Replayed([&](const json& a) { return a["time"].get<int64_t>() >= since_ms; });
  ASSERT_FALSE(late.empty());
  EXPECT_EQ(Uids(JsonLines(r.out)), late);
  r = Tuttle({"alerts", "--store", *store_, "-o", "json", "--until", "2026-03-14T10:00:00Z"});
  EXPECT_EQ(JsonLines(r.out).size() + late.size(), replayed_->size());

  r = Tuttle({"alerts", "--store", *store_, "--severity", "severe"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--severity 'severe'"), std::string::npos) << r.err;
}

TEST_F(StoreCli, PagesCoverEveryAlertOnceInEitherOrder) {
  for (bool reverse : {false, true}) {
    std::vector<std::string> all_args = {"alerts", "--store", *store_, "-o", "json", "-n", "0"};
    if (reverse) all_args.push_back("--reverse");
    const auto all = UidList(JsonLines(Tuttle(all_args).out));
    ASSERT_EQ(all.size(), 52u);
    std::vector<std::string> got;
    std::string token;
    int pages = 0;
    do {
      std::vector<std::string> args = {"alerts", "--store", *store_, "-o", "json", "-n", "7"};
      if (reverse) args.push_back("--reverse");
      if (!token.empty()) {
        args.push_back("--page-token");
        args.push_back(token);
      }
      ProcessResult r = Tuttle(args);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      for (const auto& id : UidList(JsonLines(r.out))) got.push_back(id);
      const size_t at = r.err.find("--page-token ");
      token = at == std::string::npos ? "" : r.err.substr(at + 13, r.err.find('\n', at) - at - 13);
      ASSERT_LT(++pages, 10);
    } while (!token.empty());
    EXPECT_EQ(pages, 8);  // 7 pages of 7, then 3
    EXPECT_EQ(got, all) << "reverse=" << reverse;
  }
  // --after ID continues after that alert.
  const auto all = UidList(JsonLines(Tuttle({"alerts", "--store", *store_, "-o", "json"}).out));
  ProcessResult r =
      Tuttle({"alerts", "--store", *store_, "-o", "json", "-n", "2", "--after", all[3]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(UidList(JsonLines(r.out)), (std::vector<std::string>{all[4], all[5]}));
}

TEST(StoreCliStatus, AcknowledgedAlertsStaySoAfterAReplayAndAWriterLocksStatusOut) {
  testing::TempDir dir;
  const std::string store = (dir.path() / "store").string();
  ProcessResult r = RunProcess({TuttleBinary(), "replay", "--store", store, SamplePath()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto ids = UidList(JsonLines(r.out));
  r = RunProcess({TuttleBinary(), "alerts", "ack", ids[0], ids[1], "--store", store, "--by",
                  "alice", "--note", "looking into it"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProcess({TuttleBinary(), "alerts", "--store", store, "close", ids[1], "--by", "bob"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The engine writes the same alerts again (a restart re-reads its input).
  r = RunProcess({TuttleBinary(), "replay", "--store", store, SamplePath()});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = RunProcess(
      {TuttleBinary(), "alerts", "--store", store, "--status", "acknowledged", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto acked = JsonLines(r.out);
  ASSERT_EQ(acked.size(), 1u);
  EXPECT_EQ(acked[0]["finding_info"]["uid"], ids[0]);
  EXPECT_EQ(acked[0]["status_id"], 2);
  EXPECT_EQ(acked[0]["status"], "In Progress");
  EXPECT_EQ(acked[0]["comment"], "looking into it");
  EXPECT_EQ(acked[0]["unmapped"]["tuttle"]["status_history"][0]["actor"]["user"]["name"], "alice");
  r = RunProcess({TuttleBinary(), "alerts", "--store", store, "--status", "closed"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Lines(r.out).size(), 2u);
  EXPECT_NE(Lines(r.out)[1].find(" closed "), std::string::npos) << r.out;
  EXPECT_NE(Lines(r.out)[1].find(ids[1]), std::string::npos) << r.out;

  // While another process writes the store, queries work and status changes say why they can't.
  auto writer = storage::Store::Open(store);
  ASSERT_TRUE(writer.ok()) << writer.error().message();
  r = RunProcess({TuttleBinary(), "alerts", "--store", store, "-o", "json", "-n", "0"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonLines(r.out).size(), ids.size());
  r = RunProcess({TuttleBinary(), "alerts", "reopen", ids[1], "--store", store, "--by", "bob"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("single writer"), std::string::npos) << r.err;
  r = RunProcess({TuttleBinary(), "alerts", "ack", "00000000-0000-0000-0000-000000000000",
                  "--store", (dir.path() / "absent").string(), "--by", "bob"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no store"), std::string::npos) << r.err;
}

TEST(StoreCliDeadLetters, RedriveRecoversRecordsOnceTheLimitIsRaised) {
  testing::TempDir dir;
  const std::string store = (dir.path() / "store").string();
  const ProcessResult normal = RunProcess({TuttleBinary(), "replay", SamplePath()});
  ASSERT_EQ(normal.exit_code, 0) << normal.err;
  // Too small a record limit: every record is dead-lettered, no alert.
  ProcessResult r = RunProcess(
      {TuttleBinary(), "replay", "--store", store, "--max-record-bytes", "64", SamplePath()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  r = RunProcess({TuttleBinary(), "dead-letters", "--store", store, "-o", "json", "-n", "0",
                  "--reason", "too large"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto dead = JsonLines(r.out);
  ASSERT_EQ(dead.size(), 538u);  // the malformed line is too large as well
  EXPECT_EQ(dead[0]["kind"], "parse");
  EXPECT_EQ(dead[0]["offset"], 1);
  EXPECT_EQ(dead[0]["size"], dead[0]["record"].get<std::string>().size());
  r = RunProcess({TuttleBinary(), "dead-letters", "--store", store, "-n", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Lines(r.out).size(), 3u);
  EXPECT_NE(Lines(r.out)[1].find("record too large"), std::string::npos) << r.out;

  // Re-driven with the default limit: the same alerts as a normal replay, stored and printed.
  r = RunProcess({TuttleBinary(), "dead-letters", "redrive", "--store", store});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Uids(JsonLines(r.out)), Uids(JsonLines(normal.out)));
  EXPECT_NE(r.err.find("re-drove 538 dead letters: 537 processed and removed, 1 still "
                       "dead-lettered; 52 alerts"),
            std::string::npos)
      << r.err;
  r = RunProcess({TuttleBinary(), "dead-letters", "--store", store, "-o", "json"});
  const auto left = JsonLines(r.out);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_NE(left[0]["reason"].get<std::string>().find("malformed JSON"), std::string::npos);
  r = RunProcess({TuttleBinary(), "alerts", "--store", store, "-o", "json", "-n", "0"});
  EXPECT_EQ(Uids(JsonLines(r.out)), Uids(JsonLines(normal.out)));
}

TEST(StoreCliDb, StatsCountTheStoreAndCompactAppliesRetention) {
  testing::TempDir dir;
  const std::string store = (dir.path() / "store").string();
  ProcessResult r = RunProcess({TuttleBinary(), "replay", "--store", store, "--alert-retention",
                                "0", "--dead-letter-retention", "1d", SamplePath()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProcess({TuttleBinary(), "replay", "--dead-letter-retention", "a week", SamplePath()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--dead-letter-retention 'a week'"), std::string::npos) << r.err;
  r = RunProcess({TuttleBinary(), "db", "stats", "--store", store, "--exact"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::vector<std::string>> rows;
  for (const auto& line : Lines(r.out)) {
    std::istringstream in(line);
    std::vector<std::string> cells;
    std::string cell;
    while (in >> cell) cells.push_back(cell);
    if (!cells.empty()) rows[cells[0]] = cells;
  }
  ASSERT_TRUE(rows.contains("alerts")) << r.out;
  EXPECT_EQ(rows["alerts"][2], "52") << r.out;  // exact count
  EXPECT_EQ(rows["dead_letters"][2], "1") << r.out;
  EXPECT_TRUE(rows.contains("alert_index")) << r.out;
  EXPECT_TRUE(rows.contains("total")) << r.out;
  EXPECT_NE(r.out.find("on disk: "), std::string::npos) << r.out;

  // Retention 0 keeps everything; 1 day drops the story's alerts (March 2026, by event time)
  // with their index entries; the dead letter was stored today and stays.
  r = RunProcess({TuttleBinary(), "db", "compact", "--store", store, "--alert-retention", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(0 removed)"), std::string::npos) << r.out;
  r = RunProcess({TuttleBinary(), "alerts", "--store", store, "-o", "json", "-n", "0"});
  EXPECT_EQ(JsonLines(r.out).size(), 52u);
  r = RunProcess({TuttleBinary(), "db", "compact", "--store", store, "--alert-retention", "1d"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(52 removed)"), std::string::npos) << r.out;
  r = RunProcess({TuttleBinary(), "alerts", "--store", store, "-o", "json", "-n", "0"});
  EXPECT_TRUE(JsonLines(r.out).empty()) << r.out;
  r = RunProcess({TuttleBinary(), "dead-letters", "--store", store, "-o", "json"});
  EXPECT_EQ(JsonLines(r.out).size(), 1u);
  r = RunProcess({TuttleBinary(), "db", "compact", "--store", store, "--alert-retention", "soon"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--alert-retention 'soon'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tuttle
