// The inventory end to end through the `tuttle` binary: `replay --approved-inventory` raises a
// first-seen finding once per unapproved item, also across runs on the same store; `tuttle
// inventory` lists, filters and exports (CSV, JSON); a bad approved-inventory file is a located
// error.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/json_lines.h"
#include "support/test_support.h"

namespace tuttle {
namespace {

using nlohmann::json;
using testing::JsonLines;
using testing::RunProcess;
using testing::TempDir;
using testing::TuttleBinary;

std::string PodCreate(int n, std::string_view ns, std::string_view image, std::string_view time) {
  return fmt::format(
      R"({{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"5e1c0000-0000-4000-8000-{:012d}","stage":"ResponseComplete","requestURI":"/apis/apps/v1/namespaces/{}/deployments","verb":"create","user":{{"username":"dev-alice","groups":["developers","system:authenticated"]}},"sourceIPs":["203.0.113.45"],"objectRef":{{"resource":"deployments","namespace":"{}","name":"app-{}","apiGroup":"apps","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":201}},"requestObject":{{"kind":"Deployment","metadata":{{"name":"app-{}","namespace":"{}"}},"spec":{{"template":{{"spec":{{"containers":[{{"name":"app","image":"{}"}}]}}}}}}}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}"}})",
      n, ns, ns, n, n, ns, image, time, time);
}

std::string Invoke(int n, std::string_view principal, std::string_view time) {
  return fmt::format(
      R"({{"eventVersion":"1.09","userIdentity":{{"type":"AssumedRole","arn":"{}","accountId":"111122223333"}},"eventTime":"{}","eventSource":"lambda.amazonaws.com","eventName":"Invoke","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.7","requestParameters":{{"functionName":"arn:aws:lambda:eu-west-1:111122223333:function:payments-refund"}},"responseElements":null,"requestID":"0000-{}","eventID":"1111-{}","readOnly":false,"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333","eventCategory":"Data"}})",
      principal, time, n, n);
}

void WriteLines(const std::filesystem::path& path, const std::vector<std::string>& lines) {
  std::ofstream out(path);
  for (const auto& l : lines) out << l << "\n";
}

// Rule name -> the inventory items of its findings.
std::multimap<std::string, std::string> Findings(const std::string& out) {
  std::multimap<std::string, std::string> found;
  for (const json& a : JsonLines(out)) {
    const std::string rule = a["unmapped"]["tuttle"].value("rule_name", "");
    if (rule.rfind("tuttle_", 0) != 0) continue;
    found.emplace(rule, a["unmapped"]["tuttle"]["group_by"].value("inventory.item", ""));
  }
  return found;
}

class InventoryCli : public ::testing::Test {
 protected:
  void SetUp() override {
    approved_ = dir_.path() / "approved.yaml";
    std::ofstream(approved_) << "# the estate we know\n"
                                "images: [\"registry.example.com/*\"]\n"
                                "registries: [\"*.dkr.ecr.*.amazonaws.com\"]\n"
                                "workloads: [\"payments/app-1\", \"payments/app-2\"]\n"
                                "functions: [\"payments-*\"]\n";
    store_ = (dir_.path() / "store").string();
  }

  testing::ProcessResult Replay(const std::vector<std::string>& lines, const std::string& name) {
    const auto file = dir_.path() / name;
    WriteLines(file, lines);
    return RunProcess({TuttleBinary(), "replay", "--store", store_, "--approved-inventory",
                       approved_.string(), file.string()});
  }

  testing::ProcessResult Inventory(std::vector<std::string> args) {
    args.insert(args.begin(), {TuttleBinary(), "inventory", "--store", store_});
    return RunProcess(args);
  }

  TempDir dir_;
  std::filesystem::path approved_;
  std::string store_;
};

TEST_F(InventoryCli, UnapprovedItemsAlertOnceAcrossRunsAndTheListingShowsThem) {
  const std::vector<std::string> day1 = {
      PodCreate(1, "payments", "registry.example.com/payments/api:1.4.2", "2026-03-14T09:00:00Z"),
      PodCreate(2, "payments", "docker.io/xmrig/xmrig:6.21.0", "2026-03-14T09:05:00Z"),
      PodCreate(3, "payments", "docker.io/xmrig/xmrig:6.21.0", "2026-03-14T09:06:00Z"),
      Invoke(1, "arn:aws:sts::111122223333:assumed-role/api/i-0a", "2026-03-14T09:10:00Z"),
      Invoke(2, "arn:aws:sts::111122223333:assumed-role/api/i-0a", "2026-03-14T09:11:00Z"),
  };
  auto r = Replay(day1, "day1.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::multimap<std::string, std::string> want1 = {
      {"tuttle_inventory_unapproved_image", "docker.io/xmrig/xmrig:6.21.0"},
      {"tuttle_inventory_unapproved_workload", "payments/app-3"},
  };
  EXPECT_EQ(Findings(r.out), want1);
  EXPECT_NE(r.err.find("-- inventory: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 not in the approved inventory"), std::string::npos) << r.err;

  // The next run, on the same store: what was seen stays seen; only new items alert.
  const std::vector<std::string> day2 = {
      PodCreate(3, "payments", "docker.io/xmrig/xmrig:6.21.0", "2026-03-15T09:06:00Z"),
      PodCreate(4, "payments", "ghcr.io/evil/tool:latest", "2026-03-15T09:07:00Z"),
      Invoke(3, "arn:aws:iam::111122223333:user/mallory", "2026-03-15T09:12:00Z"),
      Invoke(4, "arn:aws:iam::111122223333:user/mallory", "2026-03-15T09:13:00Z"),
  };
  r = Replay(day2, "day2.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("items restored from"), std::string::npos) << r.err;
  const std::multimap<std::string, std::string> want2 = {
      {"tuttle_inventory_unapproved_image", "ghcr.io/evil/tool:latest"},
      {"tuttle_inventory_unapproved_workload", "payments/app-4"},
      {"tuttle_function_new_invoker",
       "payments-refund by arn:aws:iam::111122223333:user/mallory"},
  };
  EXPECT_EQ(Findings(r.out), want2);

  // The stored findings are queryable like any alert.
  auto alerts = RunProcess({TuttleBinary(), "alerts", "--store", store_, "--rule",
                            "tuttle_inventory_unapproved_image", "-o", "json"});
  ASSERT_EQ(alerts.exit_code, 0) << alerts.err;
  EXPECT_EQ(JsonLines(alerts.out).size(), 2u) << alerts.out;

  // Listing: every image, with first and last seen across both runs.
  auto list = Inventory({"--kind", "image", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::map<std::string, json> images;
  for (const json& j : JsonLines(list.out)) images[j["item"].get<std::string>()] = j;
  ASSERT_EQ(images.size(), 3u) << list.out;
  const json& miner = images["docker.io/xmrig/xmrig:6.21.0"];
  EXPECT_EQ(miner["first_seen"], "2026-03-14T09:05:00.000000000Z");
  EXPECT_EQ(miner["last_seen"], "2026-03-15T09:06:00.000000000Z");
  EXPECT_EQ(miner["events"], 3);
  EXPECT_EQ(miner["approved"], false);
  EXPECT_EQ(miner["source"], "k8s_audit");
  EXPECT_EQ(images["registry.example.com/payments/api:1.4.2"]["approved"], true);

  // Filters: unapproved only; a glob; new since a time.
  list = Inventory({"--unapproved", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(JsonLines(list.out).size(), 4u) << list.out;  // 2 images, 2 workloads
  list = Inventory({"--match", "payments/*", "--kind", "workload", "-o", "json"});
  EXPECT_EQ(JsonLines(list.out).size(), 4u) << list.out;
  list = Inventory({"--first-since", "2026-03-15T00:00:00Z", "--kind", "principal", "-o", "json"});
  ASSERT_EQ(JsonLines(list.out).size(), 1u) << list.out;
  EXPECT_EQ(JsonLines(list.out)[0]["item"], "arn:aws:iam::111122223333:user/mallory");
  list = Inventory({"--kind", "function", "-o", "json"});
  ASSERT_EQ(JsonLines(list.out).size(), 1u) << list.out;
  EXPECT_EQ(JsonLines(list.out)[0]["arn"],
            "arn:aws:lambda:eu-west-1:111122223333:function:payments-refund");
  EXPECT_EQ(JsonLines(list.out)[0]["events"], 4);

  // CSV: a header and one row per item, quoted where needed.
  list = Inventory({"--kind", "invoker", "-o", "csv"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out.rfind("kind,item,tenant,cluster,namespace,name,principal,", 0), 0u) << list.out;
  EXPECT_NE(list.out.find("invoker,payments-refund by arn:aws:iam::111122223333:user/mallory,"
                          "111122223333,,,payments-refund,arn:aws:iam::111122223333:user/mallory,"),
            std::string::npos)
      << list.out;
  // The table.
  list = Inventory({"--kind", "workload"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("payments/app-3"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("-- 4 items"), std::string::npos) << list.out;
}

TEST_F(InventoryCli, WithoutAnApprovedInventoryNothingIsCheckedButEverythingIsRecorded) {
  const auto file = dir_.path() / "a.jsonl";
  WriteLines(file, {PodCreate(1, "payments", "docker.io/xmrig/xmrig:6.21.0",
                              "2026-03-14T09:05:00Z")});
  auto r = RunProcess({TuttleBinary(), "replay", "--store", store_, file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Findings(r.out).empty()) << r.out;
  auto list = Inventory({"-o", "json"});
  std::map<std::string, int> kinds;
  for (const json& j : JsonLines(list.out)) ++kinds[j["kind"].get<std::string>()];
  EXPECT_EQ(kinds, (std::map<std::string, int>{
                       {"image", 1}, {"namespace", 1}, {"principal", 1}, {"workload", 1}}));
  // --no-inventory builds none.
  const std::string other = (dir_.path() / "other").string();
  r = RunProcess({TuttleBinary(), "replay", "--no-inventory", "--store", other, file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("-- inventory"), std::string::npos) << r.err;
  list = RunProcess({TuttleBinary(), "inventory", "--store", other, "-o", "json"});
  EXPECT_TRUE(JsonLines(list.out).empty()) << list.out;
}

TEST_F(InventoryCli, TheExampleInDeployLoadsAndFlagsTheSampleStorysShadowItems) {
  const std::string example =
      (testing::SourceDir() / "deploy/approved-inventory.example.yaml").string();
  auto r = RunProcess({TuttleBinary(), "replay", "--approved-inventory", example,
                       testing::SamplePath()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The story's attacker runs images from public registries nobody approved.
  const auto found = Findings(r.out);
  EXPECT_GE(found.count("tuttle_inventory_unapproved_image"), 1u) << r.out;
  EXPECT_NE(r.err.find("not in the approved inventory"), std::string::npos) << r.err;
}

TEST_F(InventoryCli, CoverageCountsTheBuiltInFindings) {
  auto r = RunProcess({TuttleBinary(), "coverage"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("tuttle_function_new_invoker"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tuttle_inventory_unapproved_image"), std::string::npos) << r.out;
  r = RunProcess({TuttleBinary(), "coverage", "--no-inventory"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("tuttle_inventory_"), std::string::npos) << r.out;
}

TEST_F(InventoryCli, ABadApprovedInventoryFileIsALocatedError) {
  std::ofstream(approved_) << "images: [\"registry.example.com/*\"]\n"
                              "imgaes: [x]\n"
                              "functions: notalist\n";
  const auto file = dir_.path() / "a.jsonl";
  WriteLines(file, {PodCreate(1, "payments", "nginx:1.25", "2026-03-14T09:05:00Z")});
  auto r = RunProcess({TuttleBinary(), "replay", "--approved-inventory", approved_.string(),
                       file.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(approved_.string() + ":2:1: error: unknown key 'imgaes'"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(approved_.string() + ":3:12: error: functions: expected a list"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("2 errors"), std::string::npos) << r.err;
  r = RunProcess({TuttleBinary(), "replay", "--approved-inventory",
                  (dir_.path() / "missing.yaml").string(), file.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot open approved-inventory file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tuttle
