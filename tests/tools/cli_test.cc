// End to end through the real `tuttle` binary: the bundled sample through `tuttle replay`
// (files, stdin) and through `tuttle run` on the embedded Kafka cluster (librdkafka's mock
// broker, consumer group, three partitions), checked against the alerts the story is built to
// raise (ingest/samples/attack-story.expected.json, worked out independently by
// ingest/samples/check_story.py).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <fstream>
#include <sstream>

#include "support/kafka_reader.h"
#include "support/json_lines.h"
#include "support/test_support.h"
#include "tuttle/ingest/kafka.h"
#include "tuttle/storage/store.h"

namespace tuttle {
namespace {

using nlohmann::json;
using testing::ProcessResult;
using testing::RunProcess;
using testing::JsonLines;
using testing::SamplePath;
using testing::TuttleBinary;

json Expected() {
  return json::parse(testing::ReadFile(testing::SourceDir() /
                                       "ingest/samples/attack-story.expected.json"));
}

std::string RuleName(const json& alert) {
  return alert["unmapped"]["tuttle"].value("rule_name", "");
}

std::multiset<std::string> Uids(const std::vector<json>& alerts) {
  std::multiset<std::string> out;
  for (const auto& a : alerts) out.insert(a["finding_info"]["uid"].get<std::string>());
  return out;
}

// Lines of the sample, as `tuttle run` feeds them: line L goes to partition (L-1) % 3 at offset
// (L-1) / 3.
int LineOf(const json& evidence) {
  const json& d = evidence["data"];
  if (d.contains("line")) return d["line"].get<int>();
  return d["offset"].get<int>() * 3 + d["partition"].get<int>() + 1;
}

// Compares alerts with the story's expected alerts: every single-event alert (rule and line) and
// every correlation alert (group, count, condition, window and each piece of evidence, in order).
void ExpectStoryAlerts(const std::vector<json>& alerts) {
  const json expected = Expected();
  std::multiset<std::pair<std::string, int>> singles, expected_singles;
  std::vector<json> correlations;
  for (const auto& a : alerts) {
    EXPECT_EQ(a["class_uid"], 2004);
    EXPECT_EQ(a["type_uid"], 200401);
    EXPECT_FALSE(a["finding_info"]["attacks"].empty()) << RuleName(a) << " has no ATT&CK mapping";
    if (a["unmapped"]["tuttle"]["kind"] == "single") {
      ASSERT_EQ(a["evidences"].size(), 1u);
      singles.insert({RuleName(a), LineOf(a["evidences"][0])});
    } else {
      correlations.push_back(a);
    }
  }
  for (const auto& s : expected["single_event_alerts"]) {
    expected_singles.insert({s["rule"].get<std::string>(), s["line"].get<int>()});
  }
  EXPECT_EQ(singles, expected_singles);

  ASSERT_EQ(correlations.size(), expected["correlation_alerts"].size());
  std::map<std::string, json> by_rule;
  for (const auto& c : correlations) by_rule[RuleName(c)] = c;
  for (const auto& e : expected["correlation_alerts"]) {
    const std::string rule = e["rule"];
    ASSERT_TRUE(by_rule.contains(rule)) << "missing correlation alert " << rule;
    const json& a = by_rule[rule];
    const json& t = a["unmapped"]["tuttle"];
    EXPECT_EQ(t["kind"], e["type"]) << rule;
    EXPECT_EQ(t["group_by"], e["group"]) << rule;
    EXPECT_EQ(t["count"], e["count"]) << rule;
    EXPECT_EQ(t["condition"], e["condition"]) << rule;
    EXPECT_EQ(t["window"]["start"], e["window_start"]) << rule;
    EXPECT_EQ(t["window"]["end"], e["time"]) << rule;
    EXPECT_EQ(a["severity"].get<std::string>().size() > 0, true);
    ASSERT_EQ(a["evidences"].size(), e["evidence"].size()) << rule;
    for (size_t i = 0; i < a["evidences"].size(); ++i) {
      const json& got = a["evidences"][i];
      const json& want = e["evidence"][i];
      EXPECT_EQ(LineOf(got), want["line"].get<int>()) << rule << " evidence " << i;
      EXPECT_EQ(got["data"]["event_time"], want["time"]) << rule << " evidence " << i;
      EXPECT_EQ(got["data"]["rule_name"], want["rule"]) << rule << " evidence " << i;
    }
    if (e.contains("values")) {
      EXPECT_EQ(t["values"], e["values"]) << rule;
    }
  }
}

TEST(TuttleReplay, RaisesExactlyTheAlertsOfTheBundledStory) {
  const ProcessResult r = RunProcess({TuttleBinary(), "replay", SamplePath()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto alerts = JsonLines(r.out);
  EXPECT_EQ(alerts.size(), 52u);
  ExpectStoryAlerts(alerts);
  // The embedded pack loads whole, without its rule tests or any diagnostic.
  EXPECT_NE(r.err.find("rules: 100 detection, 27 correlation (embedded pack)\n"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("error"), std::string::npos) << r.err;
  // Diagnostics and the summary go to stderr, never to stdout.
  EXPECT_NE(r.err.find("538 records"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("52 alerts (11 correlated), 1 dead letters (1 unreadable, 0 late)"),
            std::string::npos)
      << r.err;
}

TEST(TuttleReplay, OutputDoesNotDependOnThreadsOrInput) {
  const ProcessResult one = RunProcess({TuttleBinary(), "replay", "--threads", "1", SamplePath()});
  const ProcessResult two = RunProcess({TuttleBinary(), "replay", "--threads", "2", SamplePath()});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_EQ(one.out, two.out);
  // From stdin the evidence says "-" instead of the path; the alert ids are the same.
  const ProcessResult in = RunProcess({TuttleBinary(), "replay", "-"},
                                      testing::ReadFile(SamplePath()));
  ASSERT_EQ(in.exit_code, 0) << in.err;
  EXPECT_EQ(Uids(JsonLines(in.out)), Uids(JsonLines(one.out)));
}

TEST(TuttleRun, EmbeddedKafkaRaisesTheStoryAlertsAndStoresEachOnce) {
  testing::TempDir dir;
  const std::string store = (dir.path() / "store").string();
  const ProcessResult r = RunProcess({TuttleBinary(), "run", "--json", "--store", store});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto alerts = JsonLines(r.out);
  ExpectStoryAlerts(alerts);
  for (const auto& a : alerts) {
    for (const auto& e : a["evidences"]) {
      EXPECT_EQ(e["data"]["source"], "telemetry");
      EXPECT_TRUE(e["data"].contains("partition"));
    }
  }
  // Kafka and a file replay name the same alerts with the same ids.
  const ProcessResult replay = RunProcess({TuttleBinary(), "replay", SamplePath()});
  EXPECT_EQ(Uids(alerts), Uids(JsonLines(replay.out)));

  // A second run over the same store writes the same alerts again: still one of each.
  const ProcessResult again = RunProcess({TuttleBinary(), "run", "--json", "--store", store});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Uids(JsonLines(again.out)), Uids(alerts));

  auto s = storage::Store::Open(store);
  ASSERT_TRUE(s.ok()) << s.error().message();
  auto stored = (*s)->Alerts();
  ASSERT_TRUE(stored.ok());
  std::multiset<std::string> stored_ids;
  for (const auto& a : *stored) stored_ids.insert(a.id);
  EXPECT_EQ(stored_ids, Uids(alerts));
  auto dead = (*s)->DeadLetters();
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].kind, "parse");
  EXPECT_EQ((*dead)[0].position.offset * 3 + (*dead)[0].position.partition + 1,
            Expected()["malformed_lines"][0].get<int>());
  EXPECT_NE((*dead)[0].reason.find("malformed JSON"), std::string::npos);
  // The consumed positions: 538 records over 3 partitions, 180 + 179 + 179.
  EXPECT_EQ(**(*s)->Position("telemetry", 0), 179);
  EXPECT_EQ(**(*s)->Position("telemetry", 1), 178);
  EXPECT_EQ(**(*s)->Position("telemetry", 2), 178);
}

TEST(TuttleRun, PrintsOneReadableLinePerAlertThenASummary) {
  testing::TempDir dir;
  const ProcessResult r =
      RunProcess({TuttleBinary(), "run", "--store", (dir.path() / "store").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  std::string line;
  int alert_lines = 0, summary_lines = 0;
  while (std::getline(in, line)) {
    if (line.rfind("-- ", 0) == 0) {
      ++summary_lines;
    } else {
      ++alert_lines;
      EXPECT_EQ(line.rfind("2026-03-14T", 0), 0u) << line;
    }
  }
  EXPECT_EQ(alert_lines, 52);
  EXPECT_EQ(summary_lines, 4);  // counts, checkpoints, where it stored them, inventory
  EXPECT_NE(r.out.find(" checkpoints ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Exec Into Pod, Shell, Then Its Service Account Reads Secrets"),
            std::string::npos);
  EXPECT_NE(r.out.find("namespace=payments"), std::string::npos);
  EXPECT_NE(r.out.find("events/s"), std::string::npos);
}

TEST(TuttleRun, FollowKeepsConsumingUntilInterrupted) {
  testing::TempDir dir;
  // The sample is read within ~4 s; --follow keeps the consumer up until Ctrl-C at 8 s, and
  // then the run ends cleanly with the windows flushed and everything stored.
  const auto started = std::chrono::steady_clock::now();
  const ProcessResult r = RunProcess(
      {TuttleBinary(), "run", "--follow", "--json", "--store", (dir.path() / "store").string()}, "",
      8000);
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(seconds.count(), 7.9);
  ExpectStoryAlerts(JsonLines(r.out));
  EXPECT_NE(r.err.find("52 alerts (11 correlated)"), std::string::npos) << r.err;
}

// A Kafka-protocol broker in this process holding the sample in topic `telemetry` as `tuttle
// run` feeds its embedded cluster (line L at partition (L-1) % 3), and an empty alerts topic.
std::unique_ptr<ingest::MockCluster> SampleCluster(const std::string& alerts_topic) {
  auto cluster = ingest::MockCluster::Start(1);
  EXPECT_TRUE(cluster.ok()) << cluster.error().message();
  if (!cluster.ok()) return nullptr;
  EXPECT_TRUE((*cluster)->CreateTopic("telemetry", 3).ok());
  EXPECT_TRUE((*cluster)->CreateTopic(alerts_topic, 3).ok());
  auto producer = ingest::KafkaProducer::Open((*cluster)->bootstrap_servers());
  EXPECT_TRUE(producer.ok());
  if (!producer.ok()) return nullptr;
  std::istringstream in(testing::ReadFile(SamplePath()));
  std::string line;
  int32_t i = 0;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    EXPECT_TRUE((*producer)->Produce("telemetry", i % 3, {}, line).ok());
    ++i;
  }
  EXPECT_TRUE((*producer)->Flush(std::chrono::seconds(30)).ok());
  return std::move(*cluster);
}

TEST(TuttleRun, ConfigFileRunsAgainstKafkaAndTheAlertsTopicHoldsTheStoredAlerts) {
  auto cluster = SampleCluster("soc-alerts");
  ASSERT_NE(cluster, nullptr);
  testing::TempDir dir;
  const auto config = dir.path() / "tuttle.yaml";
  std::ofstream(config) << "kafka:\n"
                        << "  brokers: " << cluster->bootstrap_servers() << "\n"
                        << "  group_id: e2e\n"
                        << "  topics: [telemetry]\n"
                        << "  consumer_properties: {fetch.wait.max.ms: 10}\n"
                        << "  alerts_topic: soc-alerts\n"
                        << "store: {path: var/store, checkpoint_interval: 100ms}\n"
                        << "output: {json: true}\n";
  const ProcessResult r = RunProcess({TuttleBinary(), "run", "--config", config.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto printed = JsonLines(r.out);
  ExpectStoryAlerts(printed);
  EXPECT_NE(r.err.find("-- 52 alerts acknowledged by topic 'soc-alerts'"), std::string::npos)
      << r.err;

  // The store path was relative to the config file's folder.
  auto s = storage::Store::Open((dir.path() / "var/store").string());
  ASSERT_TRUE(s.ok()) << s.error().message();
  auto stored = (*s)->Alerts();
  ASSERT_TRUE(stored.ok());
  std::multiset<std::string> stored_ids;
  for (const auto& a : *stored) stored_ids.insert(a.id);
  EXPECT_EQ(stored_ids, Uids(printed));

  // Each alert once in the topic, keyed by its id, its value the stored OCSF finding.
  std::map<std::string, std::string> stored_json;
  for (const auto& a : *stored) stored_json[a.id] = a.json;
  const auto messages = testing::ReadTopic(cluster->bootstrap_servers(), "soc-alerts");
  std::multiset<std::string> keys;
  std::vector<json> values;
  for (const auto& m : messages) {
    keys.insert(m.key);
    values.push_back(json::parse(m.value));
    EXPECT_EQ(values.back()["finding_info"]["uid"], m.key);
    EXPECT_EQ(values.back(), json::parse(stored_json[m.key])) << m.key;
    EXPECT_EQ(m.headers.at("tuttle.rule"), values.back()["finding_info"]["analytic"]["uid"]);
    EXPECT_TRUE(m.headers.contains("tuttle.tenant"));
  }
  EXPECT_EQ(keys, stored_ids);
  ExpectStoryAlerts(values);
}

// At least once: when the alerts topic's brokers cannot take the alerts, the run stops with an
// error before its checkpoint moves past them, and the next run produces them (with the same
// keys) once the brokers are back.
TEST(TuttleRun, AlertsTheTopicCouldNotTakeAreProducedByTheNextRun) {
  auto cluster = SampleCluster("unused");
  ASSERT_NE(cluster, nullptr);
  // The alerts go to a cluster of their own (producer_properties override bootstrap.servers),
  // so it can be down while the records stay readable.
  auto alerts = ingest::MockCluster::Start(1);
  ASSERT_TRUE(alerts.ok()) << alerts.error().message();
  ASSERT_TRUE((*alerts)->CreateTopic("soc-alerts", 3).ok());
  rd_kafka_mock_broker_set_down((*alerts)->handle(), 1);
  testing::TempDir dir;
  const auto config = dir.path() / "tuttle.yaml";
  std::ofstream(config) << "kafka:\n"
                        << "  brokers: " << cluster->bootstrap_servers() << "\n"
                        << "  topics: [telemetry]\n"
                        << "  consumer_properties: {fetch.wait.max.ms: 10}\n"
                        << "  producer_properties:\n"
                        << "    bootstrap.servers: " << (*alerts)->bootstrap_servers() << "\n"
                        << "    message.timeout.ms: 1000\n"
                        << "  alerts_topic: soc-alerts\n"
                        << "store: {path: store, checkpoint_interval: 100ms}\n"
                        << "output: {quiet: true}\n";
  const ProcessResult failed = RunProcess({TuttleBinary(), "run", "--config", config.string()});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find("tuttle: error: alerts topic 'soc-alerts': Kafka: "),
            std::string::npos)
      << failed.err;
  EXPECT_NE(failed.err.find("not delivered"), std::string::npos) << failed.err;

  rd_kafka_mock_broker_set_up((*alerts)->handle(), 1);
  // Another group: the mock coordinator would wait for the stopped member's session to time
  // out (45 s) before assigning its partitions. Where to resume comes from the store.
  const ProcessResult again =
      RunProcess({TuttleBinary(), "run", "--config", config.string(), "-g", "second"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto s = storage::Store::Open((dir.path() / "store").string());
  ASSERT_TRUE(s.ok()) << s.error().message();
  auto stored = (*s)->Alerts();
  ASSERT_TRUE(stored.ok());
  std::set<std::string> stored_ids;
  for (const auto& a : *stored) stored_ids.insert(a.id);
  EXPECT_EQ(stored_ids.size(), 52u);
  std::set<std::string> keys;
  for (const auto& m : testing::ReadTopic((*alerts)->bootstrap_servers(), "soc-alerts")) {
    keys.insert(m.key);
  }
  EXPECT_EQ(keys, stored_ids);
}

TEST(TuttleRun, CheckConfigPrintsTheEffectiveConfigurationFlagsFirstAndFailsOnErrors) {
  testing::TempDir dir;
  const auto config = dir.path() / "tuttle.yaml";
  std::ofstream(config) << "kafka:\n  brokers: b:9092\n  topics: [audit]\n"
                        << "  properties: {sasl.password: hunter2}\n"
                        << "engine: {threads: 2, lateness: 1m}\n";
  const ProcessResult ok = RunProcess({TuttleBinary(), "run", "--config", config.string(),
                                       "--threads", "5", "--check-config"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("threads: 5"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("lateness: 1m"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("brokers: b:9092"), std::string::npos) << ok.out;
  EXPECT_EQ(ok.out.find("hunter2"), std::string::npos) << ok.out;

  std::ofstream(config, std::ios::app) << "store: {checkpoint_intervall: 1s}\n";
  const ProcessResult bad =
      RunProcess({TuttleBinary(), "run", "--config", config.string(), "--check-config"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find(config.string() + ":6:9: error: store.checkpoint_intervall: unknown key"),
            std::string::npos)
      << bad.err;
  EXPECT_NE(bad.err.find("did you mean 'checkpoint_interval'?"), std::string::npos) << bad.err;
  EXPECT_TRUE(bad.out.empty()) << bad.out;

  // A flag's mistake is caught too, before anything connects.
  const ProcessResult flag = RunProcess(
      {TuttleBinary(), "run", "--brokers", "b:9092", "--topic", "t", "--format", "t=nope",
       "--check-config"});
  EXPECT_EQ(flag.exit_code, 1);
  EXPECT_NE(flag.err.find("--format 't=nope': unknown format 'nope'"), std::string::npos)
      << flag.err;
}

TEST(TuttleRules, CheckReportsLocatedErrorsAndCounts) {
  testing::TempDir dir;
  {
    std::ofstream(dir.path() / "good.yml")
        << "title: Shell\nname: shell\nlogsource:\n  product: falco\ndetection:\n  sel:\n"
           "    rule|contains: shell\n  condition: sel\n";
    std::ofstream(dir.path() / "bad.yml")
        << "title: Bad\nlogsource:\n  product: falco\ndetection:\n  sel:\n"
           "    rule|contians: shell\n  condition: sel\n";
  }
  const ProcessResult r =
      RunProcess({TuttleBinary(), "rules", "check", "--list", dir.path().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("bad.yml:6:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("did you mean 'contains'?"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("detection"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shell"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 files: 1 detection rules and 0 correlations loaded, 1 skipped"),
            std::string::npos)
      << r.out;

  const ProcessResult pack = RunProcess(
      {TuttleBinary(), "rules", "check", (testing::SourceDir() / "rules/pack").string()});
  EXPECT_EQ(pack.exit_code, 0) << pack.out;
}

TEST(TuttleRules, TestRunsFixturesAndReportsWhatDiffered) {
  testing::TempDir dir;
  {
    std::ofstream(dir.path() / "shell.yml")
        << "title: Shell\nname: shell\nlogsource:\n  product: falco\ndetection:\n  sel:\n"
           "    rule|contains: shell\n  condition: sel\n";
    std::ofstream(dir.path() / "shell.test.yml")
        << "rules: [shell]\ntests:\n"
           "  - name: a shell alerts\n    records:\n"
           "      - {\"rule\":\"Terminal shell in container\",\"priority\":\"Notice\","
           "\"time\":\"2026-03-14T09:00:00Z\",\"output_fields\":{}}\n"
           "    alerts:\n      - rule: shell\n        records: [1]\n"
           "  - name: a wrong expectation fails\n    records:\n"
           "      - {\"rule\":\"Terminal shell in container\",\"priority\":\"Notice\","
           "\"time\":\"2026-03-14T09:00:00Z\",\"output_fields\":{}}\n"
           "      - 'not json'\n"
           "    dead_letters: 1\n"
           "    alerts: []\n";
  }
  const ProcessResult r = RunProcess({TuttleBinary(), "rules", "test", dir.path().string()});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.out.find("FAIL " + (dir.path() / "shell.test.yml").string() + ":4"),
            std::string::npos)
      << "the first test passes: " << r.out;
  EXPECT_NE(r.out.find("a wrong expectation fails"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unexpected alert: shell with evidence records [1]"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("2 tests: 1 passed, 1 failed"), std::string::npos) << r.out;
}

TEST(TuttleCli, ReportsBadInputClearly) {
  const ProcessResult missing = RunProcess({TuttleBinary(), "replay", "/nonexistent.jsonl"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("cannot open '/nonexistent.jsonl'"), std::string::npos)
      << missing.err;

  testing::TempDir dir;
  const auto rule = dir.path() / "bad.yml";
  {
    std::ofstream out(rule);
    out << "title: Bad\nlogsource:\n  product: falco\ndetection:\n  sel:\n"
           "    rule|contians: shell\n  condition: sel\n";
  }
  const ProcessResult strict = RunProcess(
      {TuttleBinary(), "replay", "--strict", "--rules", dir.path().string(), SamplePath()});
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_NE(strict.err.find("bad.yml:6:"), std::string::npos) << strict.err;
  EXPECT_NE(strict.err.find("contians"), std::string::npos) << strict.err;
  EXPECT_TRUE(strict.out.empty());

  const ProcessResult lateness =
      RunProcess({TuttleBinary(), "replay", "--lateness", "soon", SamplePath()});
  EXPECT_EQ(lateness.exit_code, 1);
  EXPECT_NE(lateness.err.find("--lateness 'soon'"), std::string::npos) << lateness.err;

  const ProcessResult usage = RunProcess({TuttleBinary(), "frobnicate"});
  EXPECT_NE(usage.exit_code, 0);
}

// A Sigma rule in the Linux process_creation taxonomy, run on a Falco alert through
// rules/pipelines/falco.yml.
TEST(TuttlePipelines, ReplayAppliesThePipelineToTheRules) {
  testing::TempDir dir;
  {
    std::ofstream(dir.path() / "nmap.yml")
        << "title: Nmap installed\nname: nmap_installed\nlogsource:\n  product: linux\n"
           "  category: process_creation\ndetection:\n  sel:\n    Image|endswith: /apt-get\n"
           "    CommandLine|contains: nmap\n  condition: sel\nlevel: high\n";
    std::ofstream(dir.path() / "records.jsonl")
        << R"({"hostname":"node-1","output":"x","output_fields":{"evt.type":"execve","proc.cmdline":"apt-get install -y nmap","proc.exepath":"/usr/bin/apt-get","user.name":"root"},"priority":"Error","rule":"Launch Package Management Process in Container","source":"syscall","time":"2026-03-14T09:18:13.403893368Z"})"
        << "\n"
        << R"({"hostname":"node-1","output":"x","output_fields":{"evt.type":"execve","proc.cmdline":"apt-get install -y jq","proc.exepath":"/usr/bin/apt-get","user.name":"root"},"priority":"Error","rule":"Launch Package Management Process in Container","source":"syscall","time":"2026-03-14T09:18:14Z"})"
        << "\n";
  }
  const std::string pipeline = (testing::SourceDir() / "rules/pipelines/falco.yml").string();
  const std::string rules = (dir.path() / "nmap.yml").string();
  const std::string records = (dir.path() / "records.jsonl").string();
  const ProcessResult with = RunProcess(
      {TuttleBinary(), "replay", "--pipeline", pipeline, "--rules", rules, records});
  ASSERT_EQ(with.exit_code, 0) << with.err;
  const auto alerts = JsonLines(with.out);
  ASSERT_EQ(alerts.size(), 1u) << with.out;
  EXPECT_EQ(RuleName(alerts[0]), "nmap_installed");
  // Without the pipeline the rule reads fields and a log source Falco records do not have.
  const ProcessResult without = RunProcess({TuttleBinary(), "replay", "--rules", rules, records});
  ASSERT_EQ(without.exit_code, 0) << without.err;
  EXPECT_TRUE(JsonLines(without.out).empty()) << without.out;
  // rules check and rules test take it too.
  const ProcessResult check =
      RunProcess({TuttleBinary(), "rules", "check", "--pipeline", pipeline, rules});
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_EQ(check.out.find("no built-in adapter"), std::string::npos) << check.out;
}

// SigmaHQ's Kubernetes audit rules, unchanged (most say `category: application`), raise alerts
// on the real audit records of ../shared/samples/falco-k8s-audit.
TEST(TuttleReplay, SigmaHQKubernetesRulesRunUnchangedOnRealAuditRecords) {
  const auto shared = testing::SharedDir();
  if (!shared) GTEST_SKIP() << "../shared is absent: no SigmaHQ rules or audit samples";
  const auto rules = *shared / "sigma/rules-corpus/rules/application/kubernetes";
  const auto samples = *shared / "samples/falco-k8s-audit";
  if (!std::filesystem::is_directory(rules) || !std::filesystem::is_directory(samples)) {
    GTEST_SKIP() << "no " << rules << " or " << samples;
  }
  testing::TempDir dir;
  const auto records = dir.path() / "audit.jsonl";
  {
    std::ofstream out(records);
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(samples)) {
      if (e.path().extension() == ".json") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    // A file holds one pretty-printed record, or several as JSON lines.
    for (const auto& f : files) {
      const std::string text = testing::ReadFile(f);
      if (json::accept(text)) {
        out << json::parse(text).dump() << "\n";
      } else {
        out << text << (text.ends_with('\n') ? "" : "\n");
      }
    }
  }
  const ProcessResult r =
      RunProcess({TuttleBinary(), "replay", "--rules", rules.string(), records.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::multiset<std::string> titles;
  for (const json& a : JsonLines(r.out)) titles.insert(a["finding_info"]["title"].get<std::string>());
  // Rules filed under category: application, matching records of the samples.
  EXPECT_EQ(titles.count("Creation Of Pod In System Namespace"), 1u) << r.out;
  EXPECT_EQ(titles.count("Potential Remote Command Execution In Pod Container"), 1u) << r.out;
  EXPECT_EQ(titles.count("New Kubernetes Service Account Created"), 3u) << r.out;
  // And one without a category.
  EXPECT_EQ(titles.count("Kubernetes Secrets Modified or Deleted"), 4u) << r.out;
}

// Text logs: CRI container log lines (partial lines joined, a JSON message parsed) and a
// CloudWatch Logs envelope of Lambda lines, each read through --format.
TEST(TuttleReplay, ReadsCriAndLambdaLogsPinnedWithFormat) {
  testing::TempDir dir;
  const std::string cri =
      (dir.path() / "web-7d9f_prod_app-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.log")
          .string();
  const std::string lambda = (dir.path() / "lambda.jsonl").string();
  const std::string rules = (dir.path() / "rules.yml").string();
  std::ofstream(cri)
      << "2026-03-14T09:18:13.403893368Z stdout F GET /healthz 200\n"
         "2026-03-14T09:18:14.000000001Z stderr P {\"level\":\"error\",\"msg\":\"curl "
         "http://169.254.169.254/latest/meta-data/\",\n"
         "2026-03-14T09:18:14.000000002Z stderr F \"user\":{\"id\":\"u-7\"}}\n";
  std::ofstream(lambda)
      << R"({"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/payments","logStream":"2026/03/14/[$LATEST]abcdef","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1773479893000,"message":"START RequestId: 8f5d Version: $LATEST\n"},{"id":"2","timestamp":1773479893500,"message":"REPORT RequestId: 8f5d\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tInit Duration: 150.12 ms\t\n"}]})"
      << "\n";
  std::ofstream(rules) << "title: Metadata service from a container\n"
                          "logsource: {product: kubernetes, service: container_logs}\n"
                          "detection:\n  sel:\n    json.msg|contains: 169.254.169.254\n"
                          "  condition: sel\nlevel: high\n---\n"
                          "title: Lambda cold start over 100 ms\n"
                          "logsource: {product: aws, service: lambda}\n"
                          "detection:\n  sel:\n    type: REPORT\n    initDurationMs|gt: 100\n"
                          "  condition: sel\nlevel: low\n";
  const ProcessResult r =
      RunProcess({TuttleBinary(), "replay", "-r", rules, "--format", cri + "=cri", "--format",
                  lambda + "=lambda", cri, lambda});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto alerts = JsonLines(r.out);
  ASSERT_EQ(alerts.size(), 2u) << r.out << r.err;
  std::map<std::string, json> by_title;
  for (const json& a : alerts) by_title[a["finding_info"]["title"].get<std::string>()] = a;
  const json& meta = by_title.at("Metadata service from a container");
  EXPECT_EQ(meta["unmapped"]["tuttle"]["entity"]["pod"], "web-7d9f") << meta.dump();
  EXPECT_EQ(meta["unmapped"]["tuttle"]["entity"]["namespace"], "prod") << meta.dump();
  const json& cold = by_title.at("Lambda cold start over 100 ms");
  EXPECT_EQ(cold["unmapped"]["tuttle"]["entity"]["function_name"], "payments") << cold.dump();
  // Without the pin, CRI lines are not JSON: dead letters, counted.
  const ProcessResult unpinned = RunProcess({TuttleBinary(), "replay", "-r", rules, cri});
  EXPECT_TRUE(JsonLines(unpinned.out).empty());
  EXPECT_NE(unpinned.err.find("3 dead letters (3 unreadable"), std::string::npos) << unpinned.err;
}

TEST(TuttleReplay, AlertsCarryTheirTenantAndCorrelationAlertsTheirGroupEntities) {
  testing::TempDir dir;
  const std::string k8s = (dir.path() / "k8s-audit.jsonl").string();
  const std::string trail = (dir.path() / "cloudtrail.jsonl").string();
  const std::string rules = (dir.path() / "rules.yml").string();
  {
    std::ofstream out(k8s);
    for (int i = 0; i < 3; ++i) {
      out << R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a-)"
          << i
          << R"(","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/payments/secrets",)"
             R"("verb":"list","user":{"username":"alice@example.com","groups":["devs"]},)"
             R"("sourceIPs":["203.0.113.7"],"userAgent":"kubectl/v1.29.2","objectRef":)"
             R"({"resource":"secrets","namespace":"payments","apiVersion":"v1"},)"
             R"("responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":)"
             R"("2026-03-14T09:0)"
          << i << R"(:00.000000Z","stageTimestamp":"2026-03-14T09:0)" << i
          << R"(:00.010000Z"})" << "\n";
    }
  }
  {
    std::ofstream out(trail);
    for (int i = 0; i < 2; ++i) {
      out << R"({"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":)"
             R"("AROAEXAMPLEID:gh-actions","arn":"arn:aws:sts::111122223333:assumed-role/)"
             R"(ci-deployer/gh-actions","accountId":"111122223333"},"eventTime":)"
             R"("2026-03-14T09:1)"
          << i
          << R"(:00Z","eventSource":"lambda.amazonaws.com","eventName":)"
             R"("UpdateFunctionCode20150331v2","awsRegion":"eu-west-1","sourceIPAddress":)"
             R"("198.51.100.23","userAgent":"aws-cli/2.15.0","requestParameters":)"
             R"({"functionName":"payments","publish":true},"responseElements":null,)"
             R"("requestID":"r-)"
          << i
          << R"(","eventID":"e-)" << i
          << R"(","eventType":"AwsApiCall","recipientAccountId":"111122223333"})" << "\n";
    }
  }
  std::ofstream(rules)
      << "title: Secrets listed\nname: k8s_secret_list\n"
         "logsource: {product: kubernetes, service: audit}\n"
         "detection:\n  sel:\n    verb: list\n    objectRef.resource: secrets\n"
         "  condition: sel\nlevel: low\n---\n"
         "title: Secrets listed repeatedly\nname: k8s_secret_list_burst\n"
         "correlation:\n  type: event_count\n  rules: [k8s_secret_list]\n"
         "  group-by: [user.username, objectRef.namespace, tuttle.tenant]\n"
         "  timespan: 10m\n  condition: {gte: 3}\nlevel: high\n---\n"
         "title: Lambda code updated\nname: aws_lambda_code_update\n"
         "logsource: {product: aws, service: cloudtrail}\n"
         "detection:\n  sel:\n    eventNameBase: UpdateFunctionCode\n"
         "  condition: sel\nlevel: low\n---\n"
         "title: Lambda code updated twice\nname: aws_lambda_code_update_twice\n"
         "correlation:\n  type: event_count\n  rules: [aws_lambda_code_update]\n"
         "  group-by: [userIdentity.arn, recipientAccountId, requestParameters.functionName]\n"
         "  timespan: 10m\n  condition: {gte: 2}\n  generate: true\nlevel: medium\n";
  const ProcessResult r = RunProcess({TuttleBinary(), "replay", "-r", rules, "--tenant",
                                      k8s + "=platform-team", k8s, trail});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::vector<json>> by_rule;
  for (const json& a : JsonLines(r.out)) by_rule[RuleName(a)].push_back(a);

  // The Kubernetes audit events name no account: the tenant fixed for their file.
  ASSERT_EQ(by_rule["k8s_secret_list_burst"].size(), 1u) << r.out;
  const json& burst = by_rule["k8s_secret_list_burst"][0];
  EXPECT_EQ(burst["metadata"]["tenant_uid"], "platform-team");
  const json& entity = burst["unmapped"]["tuttle"]["entity"];
  EXPECT_EQ(entity["principal"], "alice@example.com") << burst.dump();
  EXPECT_EQ(entity["namespace"], "payments");
  EXPECT_FALSE(entity.contains("tenant"));  // no cloud account among the group's values
  EXPECT_EQ(burst["evidences"][0]["actor"]["user"]["name"], "alice@example.com");

  // CloudTrail: the account that received the calls, on the single-event alerts and on the
  // correlation grouped by it.
  ASSERT_EQ(by_rule["aws_lambda_code_update"].size(), 2u) << r.out;
  for (const json& a : by_rule["aws_lambda_code_update"]) {
    EXPECT_EQ(a["metadata"]["tenant_uid"], "111122223333");
  }
  ASSERT_EQ(by_rule["aws_lambda_code_update_twice"].size(), 1u) << r.out;
  const json& twice = by_rule["aws_lambda_code_update_twice"][0];
  EXPECT_EQ(twice["metadata"]["tenant_uid"], "111122223333");
  EXPECT_EQ(twice["unmapped"]["tuttle"]["entity"]["principal"],
            "arn:aws:sts::111122223333:assumed-role/ci-deployer/gh-actions");
  EXPECT_EQ(twice["unmapped"]["tuttle"]["entity"]["function_name"], "payments");
  EXPECT_EQ(twice["resources"][0]["type"], "function");

  // Fixed for every source, the tenant wins over CloudTrail's account.
  const ProcessResult all =
      RunProcess({TuttleBinary(), "replay", "-r", rules, "--tenant", "acme", trail});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  for (const json& a : JsonLines(all.out)) {
    if (a["unmapped"]["tuttle"]["kind"] == "single") {
      EXPECT_EQ(a["metadata"]["tenant_uid"], "acme");
    }
  }

  const ProcessResult unknown =
      RunProcess({TuttleBinary(), "replay", "-r", rules, "--tenant", "nosuch.jsonl=x", trail});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("--tenant 'nosuch.jsonl=...': no file 'nosuch.jsonl' is read"),
            std::string::npos)
      << unknown.err;
  const ProcessResult empty =
      RunProcess({TuttleBinary(), "replay", "-r", rules, "--tenant", trail + "=", trail});
  EXPECT_NE(empty.exit_code, 0);
  EXPECT_NE(empty.err.find("empty tenant name"), std::string::npos) << empty.err;
}

TEST(TuttlePipelines, BadPipelineFileIsALocatedErrorAndFails) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "p.yml")
      << "name: broken\ntransformations:\n  - type: field_name_mapping\n    mappin: {a: b}\n";
  const std::string pipeline = (dir.path() / "p.yml").string();
  const std::string pack = (testing::SourceDir() / "rules/pack").string();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"rules", "check", "--pipeline", pipeline, pack},
        std::vector<std::string>{"rules", "test", "--pipeline", pipeline, pack},
        std::vector<std::string>{"replay", "--pipeline", pipeline, "-"}}) {
    std::vector<std::string> argv = {TuttleBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    const ProcessResult r = RunProcess(argv);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_NE(r.err.find(pipeline + ":4:5: error: 'mappin' is not a parameter of transformation "
                                    "'field_name_mapping' (hint: its parameters: mapping)"),
              std::string::npos)
        << r.err;
  }
  const ProcessResult missing =
      RunProcess({TuttleBinary(), "rules", "check", "--pipeline", "/nonexistent.yml", pack});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("/nonexistent.yml"), std::string::npos) << missing.err;
}

TEST(TuttleRules, CheckSummarizesUnfedLogSourcesAndWarnsNearMisses) {
  testing::TempDir dir;
  {
    std::ofstream(dir.path() / "win.yml")
        << "title: W1\nlogsource: {product: windows, category: process_creation}\n"
           "detection:\n  sel:\n    Image: x\n  condition: sel\n---\n"
           "title: W2\nlogsource: {product: windows, category: process_creation}\n"
           "detection:\n  sel:\n    Image: y\n  condition: sel\n";
    std::ofstream(dir.path() / "k8s.yml")
        << "title: Typo\nlogsource:\n  product: kubernetes\n  service: adit\n"
           "detection:\n  sel:\n    verb: create\n  condition: sel\n";
  }
  const ProcessResult r = RunProcess({TuttleBinary(), "rules", "check", dir.path().string()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("k8s.yml:3:3: warning: log source {product: kubernetes, service: adit}: "
                       "no built-in source has service 'adit' (hint: did you mean 'service: "
                       "audit'?)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("-- 3 of 3 detection rules target log sources no built-in adapter "
                       "produces (2 windows/process_creation, 1 kubernetes/adit)"),
            std::string::npos)
      << r.out;
  // One summary line, not a warning per Windows rule.
  EXPECT_EQ(r.out.find("win.yml"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace tuttle
