// Hot reload end to end (docs/reload.md): `tuttle run --follow` on a Kafka-protocol broker
// (librdkafka's mock cluster, in this test process) reloads its rules when a rule file changes
// and on SIGHUP; refuses a rule set with errors, with file:line:col, and keeps running the old
// one; and keeps the window state of a correlation rule that did not change, so a threshold
// reached by events from both sides of the reload still fires.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.h"
#include "support/test_support.h"
#include "tuttle/ingest/kafka.h"

namespace tuttle::tools {
namespace {

using testing::MetricsPort;
using testing::ReadIfExists;
using testing::TempDir;

// Waits up to `seconds` for `text` to appear in the file; whether it did.
bool WaitFor(const std::string& path, const std::string& text, int seconds = 30,
             size_t count = 1) {
  for (int i = 0; i < seconds * 20; ++i) {
    const std::string now = ReadIfExists(path);
    size_t n = 0;
    for (size_t at = now.find(text); at != std::string::npos; at = now.find(text, at + 1)) ++n;
    if (n >= count) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

double Sample(const std::string& text, const std::string& series) {
  const std::string line = "\n" + series + " ";
  const size_t at = text.find(line);
  if (at == std::string::npos) return std::numeric_limits<double>::quiet_NaN();
  return std::strtod(text.c_str() + at + line.size(), nullptr);
}

std::string Scrape(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(std::chrono::seconds(5));
  auto r = client.Get("/metrics");
  return r && r->status == 200 ? r->body : std::string();
}

// A single-event rule on one verb, and a correlation: 5 reads of secrets by one user in 10
// minutes.
std::string SingleRule(const char* verb) {
  return fmt::format(R"(title: Secrets {0}
id: 3e7a0000-0000-4000-8000-000000000001
name: secrets_verb
status: test
logsource: {{product: kubernetes, service: audit}}
detection:
    sel: {{verb: {0}, objectRef.resource: secrets}}
    condition: sel
level: low
)",
                     verb);
}

constexpr const char* kCorrelation = R"(title: Secret read
id: 3e7a0000-0000-4000-8000-000000000002
name: secret_get
status: test
logsource: {product: kubernetes, service: audit}
detection:
    sel: {verb: get, objectRef.resource: secrets}
    condition: sel
level: low
---
title: Many secret reads by one user
id: 3e7a0000-0000-4000-8000-000000000003
status: test
correlation:
    type: event_count
    rules: [secret_get]
    group-by: [user.username]
    timespan: 10m
    condition: {gte: 5}
level: high
)";

std::string AuditEvent(int i, const char* verb, const std::string& user) {
  return fmt::format(
      R"({{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"r-{}",)"
      R"("stage":"ResponseComplete","verb":"{}","user":{{"username":"{}"}},)"
      R"("objectRef":{{"resource":"secrets","namespace":"shop"}},"responseStatus":{{"code":200}},)"
      R"("stageTimestamp":"2026-03-14T09:{:02}:{:02}.000000Z"}})",
      i, verb, user, i / 60, i % 60);
}

// Alerts printed as JSON lines, by rule title.
std::vector<std::string> AlertTitles(const std::string& out) {
  std::vector<std::string> titles;
  size_t start = 0;
  for (size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    auto j = nlohmann::json::parse(out.substr(start, nl - start), nullptr, false);
    if (j.is_discarded()) continue;
    titles.push_back(j["finding_info"]["title"].get<std::string>());
  }
  return titles;
}

size_t Count(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<size_t>(std::count(v.begin(), v.end(), s));
}

TEST(ReloadEndToEnd, FileChangesAndSighupReloadKeepingUnchangedWindowsAndRefusingErrors) {
  auto cluster = ingest::MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.error().message();
  ASSERT_TRUE((*cluster)->CreateTopic("audit", 1).ok());
  auto producer = ingest::KafkaProducer::Open((*cluster)->bootstrap_servers());
  ASSERT_TRUE(producer.ok()) << producer.error().message();
  int next = 0;
  auto produce = [&](const char* verb, const std::string& user, int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE((*producer)->Produce("audit", 0, {}, AuditEvent(next++, verb, user)).ok());
    }
    ASSERT_TRUE((*producer)->Flush(std::chrono::seconds(30)).ok());
  };

  TempDir dir;
  const std::filesystem::path rules = dir.path() / "rules";
  std::filesystem::create_directories(rules);
  std::ofstream(rules / "single.yml") << SingleRule("list");
  std::ofstream(rules / "correlation.yml") << kCorrelation;
  const std::string out = (dir.path() / "out.txt").string();
  const std::string err = (dir.path() / "err.txt").string();

  // Before the reload: 3 of alice's 5 reads, and 2 lists.
  produce("get", "alice", 3);
  produce("list", "bob", 2);
  testing::ChildProcess tuttle(
      {testing::TuttleBinary(), "run", "-b", (*cluster)->bootstrap_servers(), "--topic", "audit",
       "-g", "reload-e2e", "-r", rules.string(), "--json", "--follow", "--lateness", "0s",
       "--store", (dir.path() / "store").string(), "--alert-retention", "0", "-X",
       "fetch.wait.max.ms=10", "--metrics-listen", "127.0.0.1:0"},
      out, err);
  const int port = MetricsPort(err);
  ASSERT_GT(port, 0) << ReadIfExists(err);
  ASSERT_TRUE(WaitFor(out, "Secrets list", 60, 2)) << ReadIfExists(err);

  // 1. A rule file with an error: refused, located, and the old rules keep running.
  std::ofstream(rules / "single.yml") << SingleRule("list") << "    unknown|contians: x\n";
  ASSERT_TRUE(WaitFor(err, "refused", 30)) << ReadIfExists(err);
  const std::string log = ReadIfExists(err);
  EXPECT_NE(log.find("single.yml:"), std::string::npos) << log;
  EXPECT_NE(log.find("the running rules stay"), std::string::npos) << log;
  produce("list", "bob", 1);
  ASSERT_TRUE(WaitFor(out, "Secrets list", 30, 3)) << "old rules stopped after a refused reload";

  // 2. Fixed, and the single-event rule now watches deletes: reloaded on the file change; the
  //    correlation is unchanged and keeps alice's 3 reads.
  std::ofstream(rules / "single.yml") << SingleRule("delete");
  ASSERT_TRUE(WaitFor(err, "rules reloaded (file change): generation 1", 30)) << ReadIfExists(err);
  EXPECT_TRUE(WaitFor(err, "windows kept for 1 correlation rules (1 groups)", 1))
      << ReadIfExists(err);
  produce("get", "alice", 2);   // 3 + 2 = 5: fires only if the window survived
  produce("list", "bob", 2);    // no longer alerts
  produce("delete", "bob", 1);  // now alerts
  ASSERT_TRUE(WaitFor(out, "Secrets delete", 30)) << ReadIfExists(err);
  ASSERT_TRUE(WaitFor(out, "Many secret reads by one user", 30)) << ReadIfExists(out);

  // 3. SIGHUP reloads the same files again.
  tuttle.Signal(SIGHUP);
  ASSERT_TRUE(WaitFor(err, "rules reloaded (SIGHUP): generation 2", 30)) << ReadIfExists(err);
  const std::string metrics = Scrape(port);
  EXPECT_EQ(Sample(metrics, "tuttle_rules_reloads_total{result=\"applied\"}"), 2) << metrics;
  EXPECT_EQ(Sample(metrics, "tuttle_rules_reloads_total{result=\"refused\"}"), 1) << metrics;
  EXPECT_EQ(Sample(metrics, "tuttle_rules_generation"), 2) << metrics;
  // The per-rule series: records by topic, matches, alerts and cost by rule, open groups.
  EXPECT_EQ(Sample(metrics, "tuttle_source_records_total{source=\"audit\"}"), next) << metrics;
  EXPECT_EQ(Sample(metrics, "tuttle_rule_matches_total{rule_id=\"3e7a0000-0000-4000-8000-"
                            "000000000002\",rule=\"Secret read\"}"),
            5)
      << metrics;
  EXPECT_EQ(Sample(metrics, "tuttle_rule_alerts_total{rule_id=\"3e7a0000-0000-4000-8000-"
                            "000000000003\",rule=\"Many secret reads by one user\","
                            "severity=\"high\"}"),
            1)
      << metrics;
  // Evaluated for every secrets event of its verb, across the three generations.
  EXPECT_GE(Sample(metrics, "tuttle_rule_evaluations_total{rule_id=\"3e7a0000-0000-4000-8000-"
                            "000000000002\",rule=\"Secret read\"}"),
            5)
      << metrics;
  EXPECT_NE(metrics.find("tuttle_rule_evaluation_seconds_total{rule_id=\"3e7a0000-0000-4000-8000-"
                         "000000000002\""),
            std::string::npos)
      << metrics;
  // (alice's group closed when it fired: the series is there, at 0.)
  EXPECT_EQ(Sample(metrics, "tuttle_correlation_open_groups{rule_id=\"3e7a0000-0000-4000-8000-"
                            "000000000003\",rule=\"Many secret reads by one user\"}"),
            0)
      << metrics;

  tuttle.Signal(SIGINT);
  EXPECT_EQ(tuttle.Wait(std::chrono::seconds(60)), 0) << ReadIfExists(err);
  const std::vector<std::string> titles = AlertTitles(ReadIfExists(out));
  EXPECT_EQ(Count(titles, "Secrets list"), 3u);
  EXPECT_EQ(Count(titles, "Secrets delete"), 1u);
  EXPECT_EQ(Count(titles, "Many secret reads by one user"), 1u);
  EXPECT_NE(ReadIfExists(err).find("2 rule reloads"), std::string::npos) << ReadIfExists(err);
}

}  // namespace
}  // namespace tuttle::tools
