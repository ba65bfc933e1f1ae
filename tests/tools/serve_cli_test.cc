// `tuttle serve` through the binary (docs/api.md, "serve and run"): a store from `tuttle replay`
// of the bundled sample served with tokens, and the same store served while another process
// holds its write lock.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "support/child_process.h"
#include "support/test_support.h"
#include "tuttle/engine/alert.h"
#include "tuttle/engine/strings.h"
#include "tuttle/storage/store.h"

namespace tuttle {
namespace {

using nlohmann::json;
using testing::ChildProcess;
using testing::TempDir;

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = (dir_.path() / "store").string();
    auto replay = testing::RunProcess(
        {testing::TuttleBinary(), "replay", "-s", store_,
         (testing::SourceDir() / "ingest/samples/attack-story.jsonl").string()});
    ASSERT_EQ(replay.exit_code, 0) << replay.err;
    std::ofstream(dir_.path() / "tokens.yaml") << R"(tokens:
  - name: analyst
    token: analyst-token
    tenants: ["*"]
    role: write
  - name: viewer
    token: viewer-token
    tenants: [nobody]
  - name: lead
    token: lead-token
    tenants: ["*"]
    role: admin
)";
  }

  // Starts `tuttle serve` on a free port; returns its base URL's port, 0 on failure.
  int StartServe(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {testing::TuttleBinary(),
                                     "serve",
                                     "-s",
                                     store_,
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--api-tokens",
                                     (dir_.path() / "tokens.yaml").string(),
                                     "--reopen-interval-ms",
                                     "200"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    serve_ = std::make_unique<ChildProcess>(argv, (dir_.path() / "serve.out").string(),
                                            (dir_.path() / "serve.err").string());
    for (int i = 0; i < 300; ++i) {
      // The child creates the file: it may not be there yet.
      std::ifstream in(dir_.path() / "serve.out");
      const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const size_t at = out.find("listening http://127.0.0.1:");
      if (at != std::string::npos && out.find('\n', at) != std::string::npos) {
        return std::stoi(out.substr(at + std::string("listening http://127.0.0.1:").size()));
      }
      if (serve_->Wait(std::chrono::milliseconds(50)) >= 0) break;
    }
    ADD_FAILURE() << "serve did not start: " << serve_->Log();
    return 0;
  }

  httplib::Result Get(int port, const std::string& path, const std::string& token) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(std::chrono::seconds(10));
    return c.Get(path.c_str(), {{"Authorization", "Bearer " + token}});
  }
  httplib::Result Post(int port, const std::string& path, const std::string& body) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(std::chrono::seconds(10));
    return c.Post(path.c_str(), {{"Authorization", "Bearer analyst-token"}}, body,
                  "application/json");
  }

  TempDir dir_;
  std::string store_;
  std::unique_ptr<ChildProcess> serve_;
};

TEST_F(ServeTest, ServesTheReplayedStoreWithRulesCoverageAndInventory) {
  const int port = StartServe();
  ASSERT_GT(port, 0);
  auto r = Get(port, "/api/v1/alerts?limit=1000", "analyst-token");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json alerts = json::parse(r->body)["alerts"];
  ASSERT_GT(alerts.size(), 3u);
  // A scoped token sees none of them.
  r = Get(port, "/api/v1/alerts", "viewer-token");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["alerts"].size(), 0u);
  r = Get(port, "/api/v1/alerts", "nobody");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);

  r = Get(port, "/api/v1/rules", "analyst-token");
  ASSERT_TRUE(r);
  const json rules = json::parse(r->body)["rules"];
  EXPECT_GT(rules.size(), 20u);
  bool correlation = false;
  for (const json& rule : rules) correlation |= rule["kind"] == "correlation";
  EXPECT_TRUE(correlation);
  r = Get(port, "/api/v1/coverage", "analyst-token");
  ASSERT_TRUE(r);
  const json coverage = json::parse(r->body);
  EXPECT_GT(coverage["containers"]["covered"].get<int>(), 5);
  EXPECT_EQ(coverage["alerts"]["counted"].get<size_t>(), alerts.size());
  EXPECT_FALSE(coverage["alerts"]["by_technique"].empty());
  r = Get(port, "/api/v1/inventory", "analyst-token");
  ASSERT_TRUE(r);
  EXPECT_GT(json::parse(r->body)["items"].size(), 3u);
  r = Get(port, "/readyz", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);

  // Writable: an analyst's status change lands in the store.
  const std::string id = alerts[0]["finding_info"]["uid"];
  r = Post(port, "/api/v1/alerts/" + id + "/status", R"({"status":"closed","note":"benign"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  r = Get(port, "/api/v1/alerts?status=closed", "analyst-token");
  ASSERT_TRUE(r);
  ASSERT_EQ(json::parse(r->body)["alerts"].size(), 1u);

  // Reload reads the rules again (the embedded pack: valid).
  httplib::Client c("127.0.0.1", port);
  auto reload = c.Post("/api/v1/rules/reload", {{"Authorization", "Bearer analyst-token"}}, "",
                       "application/json");
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->status, 403) << "a write token reloaded rules";

  serve_->Signal(SIGTERM);
  EXPECT_EQ(serve_->Wait(std::chrono::milliseconds(10000)), 0) << serve_->Log();
}

TEST_F(ServeTest, BesideAWriterItServesReadOnlyAndSeesNewAlerts) {
  // This process holds the write lock, as a running `tuttle run` would.
  auto writer = storage::Store::Open(store_);
  ASSERT_TRUE(writer.ok()) << writer.error().message();
  const int port = StartServe();
  ASSERT_GT(port, 0);
  EXPECT_NE(serve_->Log().find("read-only"), std::string::npos) << serve_->Log();
  auto r = Get(port, "/api/v1/alerts?limit=1000", "analyst-token");
  ASSERT_TRUE(r);
  const json before = json::parse(r->body)["alerts"];
  ASSERT_FALSE(before.empty());
  const std::string id = before[0]["finding_info"]["uid"];
  r = Post(port, "/api/v1/alerts/" + id + "/status", R"({"status":"closed"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
  EXPECT_NE(r->body.find("tuttle run"), std::string::npos) << r->body;

  // A new alert written by the writer shows up after a reopen.
  auto info = std::make_shared<RuleInfo>();
  info->id = "late-rule";
  info->title = "Written while serving";
  Alert a;
  a.rule = info;
  a.kind = "single";
  a.time = a.window_start = a.window_end = TimeNs{1'900'000'000} * 1'000'000'000;
  a.evidence.push_back(Evidence{SourcePosition{"live", 0, 1}, a.time, HashBytes("late"), info});
  a.id = ComputeAlertId(a);
  BatchOutput batch;
  batch.alerts.push_back(a);
  ASSERT_TRUE((*writer)->Write(batch).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  bool seen = false;
  for (int i = 0; i < 100 && !seen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    r = Get(port, "/api/v1/alerts?rule=late-rule", "analyst-token");
    seen = r && r->status == 200 && json::parse(r->body)["alerts"].size() == 1;
  }
  EXPECT_TRUE(seen) << "the new alert never appeared";
}

TEST_F(ServeTest, ReloadReadsTheRulesAgainAndRefusesBrokenOnes) {
  const auto rules = dir_.path() / "rules";
  std::filesystem::create_directories(rules);
  const std::string rule = R"(title: Exec into a pod
id: 11111111-2222-3333-4444-555555555555
level: high
tags: [attack.execution, attack.t1609]
logsource: {product: kubernetes, service: audit}
detection:
    selection: {verb: create, objectRef.subresource: exec}
    condition: selection
)";
  std::ofstream(rules / "exec.yml") << rule;
  const int port = StartServe({"-r", rules.string()});
  ASSERT_GT(port, 0);
  auto r = Get(port, "/api/v1/rules", "analyst-token");
  ASSERT_TRUE(r);
  ASSERT_EQ(json::parse(r->body)["rules"].size(), 1u);

  httplib::Client c("127.0.0.1", port);
  const httplib::Headers admin = {{"Authorization", "Bearer lead-token"}};
  std::ofstream(rules / "second.yml") << R"(title: Broken
id: 22222222-2222-3333-4444-555555555555
logsource: {product: kubernetes, service: audit}
detection:
    selection: {verb|contians: create}
    condition: selection
)";
  auto reload = c.Post("/api/v1/rules/reload", admin, "", "application/json");
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->status, 422) << reload->body;
  const json refused = json::parse(reload->body, nullptr, false);
  ASSERT_TRUE(refused.contains("diagnostics")) << reload->body;
  EXPECT_NE(reload->body.find("second.yml"), std::string::npos) << reload->body;
  // The old rules stay.
  r = Get(port, "/api/v1/rules", "analyst-token");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["rules"].size(), 1u);

  std::ofstream(rules / "second.yml") << R"(title: Fixed
id: 22222222-2222-3333-4444-555555555555
logsource: {product: kubernetes, service: audit}
detection:
    selection: {verb|contains: create}
    condition: selection
)";
  reload = c.Post("/api/v1/rules/reload", admin, "", "application/json");
  ASSERT_TRUE(reload);
  ASSERT_EQ(reload->status, 200) << reload->body;
  EXPECT_EQ(json::parse(reload->body)["requested_by"], "lead");
  r = Get(port, "/api/v1/rules", "analyst-token");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["rules"].size(), 2u);
}

// `tuttle run --listen`: the same API beside the pipeline (the embedded demo: an in-process
// Kafka cluster fed with the bundled sample), over the store it writes, status changes included.
TEST_F(ServeTest, RunListenServesTheApiOverItsOwnStore) {
  const std::string store = (dir_.path() / "run-store").string();
  ChildProcess run({testing::TuttleBinary(), "run", "-q", "-f", "-s", store, "--listen",
                    "127.0.0.1:0", "--api-tokens", (dir_.path() / "tokens.yaml").string()},
                   (dir_.path() / "run.out").string(), (dir_.path() / "run.err").string());
  int port = 0;
  const std::string marker = "API and console at http://127.0.0.1:";
  for (int i = 0; i < 600 && port == 0; ++i) {
    std::ifstream in(dir_.path() / "run.err");
    const std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t at = err.find(marker);
    if (at != std::string::npos) port = std::stoi(err.substr(at + marker.size()));
    if (port == 0) {
      ASSERT_LT(run.Wait(std::chrono::milliseconds(50)), 0) << run.Log();
    }
  }
  ASSERT_GT(port, 0) << run.Log();
  json alerts;
  for (int i = 0; i < 300 && alerts.size() < 10; ++i) {
    auto r = Get(port, "/api/v1/alerts?limit=1000", "analyst-token");
    if (r && r->status == 200) alerts = json::parse(r->body)["alerts"];
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GE(alerts.size(), 10u) << run.Log();
  const std::string id = alerts[0]["finding_info"]["uid"];
  auto r = Post(port, "/api/v1/alerts/" + id + "/status", R"({"status":"acknowledged"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = Get(port, "/metrics", "lead-token");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("tuttle_build_info"), std::string::npos);
  EXPECT_NE(r->body.find("tuttle_rules_generation"), std::string::npos);
  r = Get(port, "/readyz", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // The API's reload is the pipeline's hot reload (docs/reload.md).
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(std::chrono::seconds(30));
  auto reload =
      c.Post("/api/v1/rules/reload", {{"Authorization", "Bearer lead-token"}}, "", "application/json");
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->status, 200) << reload->body;
  const json report = json::parse(reload->body, nullptr, false);
  EXPECT_EQ(report.value("trigger", ""), "api: lead") << reload->body;
  EXPECT_EQ(report.value("status", ""), "applied") << reload->body;
  run.Signal(SIGINT);
  EXPECT_EQ(run.Wait(std::chrono::milliseconds(20000)), 0) << run.Log();
}

TEST(Serve, RefusesAMissingStoreAndAnOpenAddressWithoutTokens) {
  TempDir dir;
  auto missing = testing::RunProcess(
      {testing::TuttleBinary(), "serve", "-s", (dir.path() / "nothing").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no store at"), std::string::npos) << missing.err;
  const std::string store = (dir.path() / "store").string();
  auto replay =
      testing::RunProcess({testing::TuttleBinary(), "replay", "-s", store,
                           (testing::SourceDir() / "ingest/samples/attack-story.jsonl").string()});
  ASSERT_EQ(replay.exit_code, 0);
  auto open =
      testing::RunProcess({testing::TuttleBinary(), "serve", "-s", store, "--listen", "0.0.0.0:0"});
  EXPECT_EQ(open.exit_code, 1);
  EXPECT_NE(open.err.find("--api-insecure"), std::string::npos) << open.err;
}

}  // namespace
}  // namespace tuttle
