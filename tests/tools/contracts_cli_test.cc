// Data contracts and rule coverage through the real `tuttle` binary: `tuttle replay --contracts`
// on Lambda log envelopes raises the violation finding (naming field and keyword) and the burst
// correlation of the embedded pack; `tuttle coverage` prints the Containers-matrix table and
// writes an ATT&CK Navigator layer.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>
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

void Write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string RuleName(const json& alert) {
  return alert["unmapped"]["tuttle"].value("rule_name", "");
}

// One CloudWatch Logs envelope of `function` whose log events carry `messages` (application JSON
// logs), a second apart from 2026-11-29T10:00:00Z.
std::string Envelope(const std::string& function, const std::vector<json>& messages) {
  json events = json::array();
  const int64_t t0 = 1795946400000;  // 2026-11-29T10:00:00Z in ms
  for (size_t i = 0; i < messages.size(); ++i) {
    events.push_back({{"id", std::to_string(i + 1)},
                      {"timestamp", t0 + static_cast<int64_t>(i) * 1000},
                      {"message", messages[i].dump()}});
  }
  return json{{"messageType", "DATA_MESSAGE"},
              {"owner", "123456789012"},
              {"logGroup", std::string("/aws/lambda/").append(function)},
              {"logStream", "2026/11/29/[$LATEST]5d2f0c1e"},
              {"subscriptionFilters", {"to-kafka"}},
              {"logEvents", std::move(events)}}
      .dump();
}

constexpr const char* kContracts = R"(contracts:
  - name: orders-api
    function: "orders-*"
    format: lambda
    path: json
    schema:
      type: object
      required: [order_id, amount, currency]
      properties:
        order_id: {type: string, pattern: '^ord-[0-9]{6}$'}
        amount: {type: number, minimum: 0, maximum: 10000}
        currency: {enum: [EUR, USD]}
)";

TEST(TuttleContracts, ReplayRaisesViolationFindingsNamingTheFieldAndTheBurst) {
  testing::TempDir dir;
  Write(dir.path() / "contracts.yml", kContracts);
  std::vector<json> orders;
  orders.push_back({{"order_id", "ord-000001"}, {"amount", 25}, {"currency", "EUR"}});  // keeps it
  for (int i = 0; i < 11; ++i) {
    orders.push_back({{"order_id", std::string("ord-").append(std::to_string(i))},
                      {"amount", 12000},
                      {"currency", "GBP"}});
  }
  orders.push_back({{"amount", 5}, {"currency", "USD"}});  // no order_id
  const std::string lines = Envelope("orders-api", orders) + "\n" +
                            // A function no contract selects, breaking everything.
                            Envelope("payments-api", {json{{"amount", "x"}}}) + "\n";
  Write(dir.path() / "lambda.jsonl", lines);
  const std::string file = (dir.path() / "lambda.jsonl").string();
  const ProcessResult r =
      RunProcess({TuttleBinary(), "replay", "--contracts", (dir.path() / "contracts.yml").string(),
                  "--format", file + "=lambda", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto alerts = JsonLines(r.out);

  std::vector<json> findings, bursts;
  for (const json& a : alerts) {
    if (RuleName(a) == "tuttle_contract_violation") findings.push_back(a);
    if (RuleName(a) == "mr_fn_contract_violation_burst") bursts.push_back(a);
  }
  ASSERT_EQ(findings.size(), 12u) << r.out;
  // The finding names each field and the keyword broken, in the message and in details.
  const json& first = findings.front();
  EXPECT_EQ(first["message"],
            "Function Output Breaks Its Data Contract: json.order_id: \"ord-0\" does not "
            "match the pattern '^ord-[0-9]{6}$'; json.amount: 12000 is above the maximum 10000; "
            "json.currency: \"GBP\" is not one of [EUR, USD]");
  EXPECT_EQ(first["unmapped"]["tuttle"]["details"],
            json::array({"json.order_id: \"ord-0\" does not match the pattern "
                         "'^ord-[0-9]{6}$'",
                         "json.amount: 12000 is above the maximum 10000",
                         "json.currency: \"GBP\" is not one of [EUR, USD]"}));
  EXPECT_EQ(first["unmapped"]["tuttle"]["log_source"],
            (json{{"product", "tuttle"}, {"service", "contracts"}}));
  EXPECT_EQ(findings.back()["unmapped"]["tuttle"]["details"],
            json::array({"json.order_id: required field missing"}));
  EXPECT_FALSE(first["finding_info"]["attacks"].empty());

  // Ten violations within five minutes from one function: one burst (the eleventh and twelfth
  // start a new window that never reaches ten).
  ASSERT_EQ(bursts.size(), 1u) << r.out;
  const json& t = bursts[0]["unmapped"]["tuttle"];
  EXPECT_EQ(t["count"], 10);
  EXPECT_EQ(t["group_by"], (json{{"tuttle.tenant", "123456789012"},
                                 {"tuttle.contract.name", "orders-api"},
                                 {"tuttle.contract.function", "orders-api"}}));
  EXPECT_EQ(bursts[0]["evidences"].size(), 10u);
  EXPECT_EQ(alerts.size(), 13u) << r.out;  // nothing for the function without a contract
}

// Per topic or file: `source` selects the records of one input, whatever else they are.
TEST(TuttleContracts, ASourceSelectorChecksTheRecordsOfOneFileOnly) {
  testing::TempDir dir;
  Write(dir.path() / "contracts.yml", R"(contracts:
  - name: orders-topic
    source: "*orders.jsonl"
    schema:
      required: [order_id]
      properties:
        amount: {type: number, maximum: 10000}
)");
  // The same CloudTrail-shaped business events in two files; only orders.jsonl has a contract.
  const std::string record =
      R"({"eventVersion":"1.09","eventSource":"orders.example.com","eventName":"OrderPlaced","eventTime":"2026-11-29T10:00:00Z","userIdentity":{"arn":"arn:aws:iam::123456789012:role/orders"},"recipientAccountId":"123456789012","amount":12000})";
  Write(dir.path() / "orders.jsonl", record + "\n");
  Write(dir.path() / "refunds.jsonl", record + "\n");
  const ProcessResult r = RunProcess(
      {TuttleBinary(), "replay", "--contracts", (dir.path() / "contracts.yml").string(),
       (dir.path() / "orders.jsonl").string(), (dir.path() / "refunds.jsonl").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> findings;
  for (const json& a : JsonLines(r.out)) {
    if (RuleName(a) == "tuttle_contract_violation") findings.push_back(a);
  }
  ASSERT_EQ(findings.size(), 1u) << r.out;
  EXPECT_EQ(findings[0]["unmapped"]["tuttle"]["details"],
            json::array({"order_id: required field missing",
                         "amount: 12000 is above the maximum 10000"}));
  EXPECT_NE(findings[0].dump().find("orders.jsonl"), std::string::npos) << findings[0].dump();
  EXPECT_EQ(findings[0].dump().find("refunds.jsonl"), std::string::npos) << findings[0].dump();
}

TEST(TuttleContracts, ReplayWithoutContractsRaisesNoContractFinding) {
  testing::TempDir dir;
  const std::string file = (dir.path() / "lambda.jsonl").string();
  Write(file, Envelope("orders-api", {json{{"amount", 12000}}}) + "\n");
  const ProcessResult r = RunProcess({TuttleBinary(), "replay", "--format", "lambda", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(JsonLines(r.out).empty()) << r.out;
}

TEST(TuttleContracts, ABrokenContractsFileStopsWithLocatedErrors) {
  testing::TempDir dir;
  Write(dir.path() / "bad.yml",
        "contracts:\n  - name: a\n    function: f\n    format: lamda\n    schema: {}\n");
  Write(dir.path() / "worse.yml",
        "contracts:\n  - name: a\n    function: f\n    schema:\n      maximum: lots\n");
  const std::string bad = (dir.path() / "bad.yml").string();
  const std::string worse = (dir.path() / "worse.yml").string();
  ProcessResult r = RunProcess({TuttleBinary(), "replay", "--contracts", worse, "-"}, "");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(worse + ":5:16: error: schema.maximum: expected a number, got 'lots'"),
            std::string::npos)
      << r.err;
  r = RunProcess({TuttleBinary(), "replay", "--contracts", bad, "-"}, "");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad + ":2:5: error: contract 'a': unknown format 'lamda'"),
            std::string::npos)
      << r.err;
}

// Rows of the coverage table: technique id -> the line.
std::map<std::string, std::vector<std::string>> Rows(const std::string& out) {
  std::map<std::string, std::vector<std::string>> rows;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    const std::string line = out.substr(start, end - start);
    start = end + 1;
    const size_t t = line.find_first_not_of(' ');
    if (t != std::string::npos && line.compare(t, 1, "T") == 0 && t <= 4) {
      rows[line.substr(t, line.find(' ', t) - t)].push_back(line);
    }
  }
  return rows;
}

TEST(TuttleCoverage, PrintsTheContainersMatrixAndWritesANavigatorLayer) {
  testing::TempDir dir;
  Write(dir.path() / "rules/a.yml", R"(title: Exec Into Pod
name: rule_a
logsource: {product: kubernetes, service: audit}
tags: [attack.execution, attack.t1609, attack.t1552.007]
detection:
    selection: {verb: create, objectRef.subresource: exec}
    condition: selection
level: medium
)");
  Write(dir.path() / "rules/b.yml", R"(title: Shell In Container
name: rule_b
logsource: {product: falco}
tags: [attack.t1609, attack.t1648]
detection:
    selection: {rule: Terminal shell in container}
    condition: selection
level: low
)");
  const std::string layer = (dir.path() / "layer.json").string();
  const ProcessResult r = RunProcess({TuttleBinary(), "coverage", "--no-inventory", "--rules",
                                      (dir.path() / "rules").string(), "--navigator", layer});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ATT&CK v18 Containers matrix: coverage by 2 rules"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\nExecution (TA0002)\n"), std::string::npos) << r.out;
  const auto rows = Rows(r.out);
  ASSERT_TRUE(rows.count("T1609")) << r.out;
  EXPECT_EQ(rows.at("T1609")[0],
            "  T1609        Container Administration Command               2  rule_a, rule_b");
  ASSERT_TRUE(rows.count("T1552.007"));
  EXPECT_EQ(rows.at("T1552.007")[0],
            "    T1552.007    Container API                                1  rule_a");
  ASSERT_TRUE(rows.count("T1611"));
  EXPECT_NE(rows.at("T1611")[0].find("UNCOVERED"), std::string::npos);
  // The parent of a covered sub-technique is not covered by it.
  EXPECT_NE(rows.at("T1552")[0].find("UNCOVERED"), std::string::npos);
  ASSERT_TRUE(rows.count("T1648"));  // the serverless section
  EXPECT_NE(rows.at("T1648")[0].find("1  rule_b"), std::string::npos);

  // The layer: format 4.5, Containers, one entry per technique and tactic.
  const json l = json::parse(testing::ReadFile(layer));
  EXPECT_EQ(l["versions"]["layer"], "4.5");
  EXPECT_EQ(l["versions"]["attack"], "18");
  EXPECT_EQ(l["domain"], "enterprise-attack");
  EXPECT_EQ(l["filters"]["platforms"], json::array({"Containers"}));
  ASSERT_TRUE(l["gradient"].contains("colors"));
  ASSERT_FALSE(l["legendItems"].empty());
  std::map<std::pair<std::string, std::string>, int> scores;
  std::set<std::string> containers;
  for (const json& t : l["techniques"]) {
    scores[{t["techniqueID"], t["tactic"]}] = t["score"];
    bool serverless = false;
    for (const json& m : t["metadata"]) serverless = serverless || m["name"] == "note";
    if (!serverless) containers.insert(t["techniqueID"]);
  }
  EXPECT_EQ((scores[{"T1609", "execution"}]), 2);
  EXPECT_EQ((scores[{"T1552.007", "credential-access"}]), 1);
  EXPECT_EQ((scores[{"T1611", "privilege-escalation"}]), 0);
  EXPECT_EQ((scores[{"T1648", "execution"}]), 1);
  // The summary counts distinct Containers-matrix techniques: the layer lists them all.
  std::string summary = "-- 2 of ";
  summary += std::to_string(containers.size());
  summary += " Containers-matrix techniques covered";
  EXPECT_NE(r.out.find(summary),
            std::string::npos)
      << r.out;
  EXPECT_GT(containers.size(), 40u);
}

TEST(TuttleCoverage, JsonGivesEachTechniqueItsRules) {
  testing::TempDir dir;
  Write(dir.path() / "rules/a.yml", R"(title: Exec Into Pod
name: rule_a
logsource: {product: kubernetes, service: audit}
tags: [attack.t1609, attack.t1648]
detection:
    selection: {verb: create}
    condition: selection
)");
  const ProcessResult r =
      RunProcess({TuttleBinary(), "coverage", "--no-inventory", "--json", "--rules", (dir.path() / "rules").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["attack_version"], "18");
  EXPECT_EQ(doc["rules"], 1);
  EXPECT_EQ(doc["containers"]["covered"], 1);
  EXPECT_EQ(doc["serverless"]["covered"], 1);
  std::map<std::string, json> execution;
  for (const json& tactic : doc["containers"]["tactics"]) {
    if (tactic["tactic"] != "execution") continue;
    for (const json& t : tactic["techniques"]) execution[t["id"]] = t["rules"];
  }
  EXPECT_EQ(execution["T1609"], json::array({"rule_a"}));
  EXPECT_EQ(execution["T1610"], json::array());
}

TEST(TuttleCoverage, CoversTheEmbeddedPack) {
  const ProcessResult r = RunProcess({TuttleBinary(), "coverage"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(embedded pack)"), std::string::npos) << r.out;
  const auto rows = Rows(r.out);
  ASSERT_TRUE(rows.count("T1609"));
  EXPECT_NE(rows.at("T1609")[0].find("k8s_pod_exec_or_attach"), std::string::npos);
  ASSERT_TRUE(rows.count("T1611"));
  EXPECT_EQ(rows.at("T1611")[0].find("UNCOVERED"), std::string::npos);
  EXPECT_NE(r.out.find(" Containers-matrix techniques covered ("), std::string::npos);
}

}  // namespace
}  // namespace tuttle
