// Data contracts through the real `tuttle` binary: `tuttle replay --contracts` on Lambda log
// envelopes raises the violation finding (naming field and keyword) and the burst correlation
// of the embedded pack.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
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

}  // namespace
}  // namespace tuttle
