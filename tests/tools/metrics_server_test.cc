// The metrics endpoint: the HTTP server on its own (tokens, health), and `tuttle run --follow
// --metrics-listen` end to end against a Kafka-protocol broker (librdkafka's mock cluster) that
// runs in this test process, scraped as Prometheus would (docs/metrics.md).

#include "metrics_server.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
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

httplib::Result Get(int port, const std::string& path, const std::string& token = "") {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(5));
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", token);
  return client.Get(path.c_str(), headers);
}

TEST(MetricsServer, ServesTheRegistryAndHealth) {
  MetricsRegistry registry;
  registry.AddCounter("tuttle_test_total", "Test").With().Add(7);
  auto server = MetricsServer::Start(registry, MetricsServerOptions{"127.0.0.1", 0, ""});
  ASSERT_TRUE(server.ok()) << server.error().message();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);
  EXPECT_EQ((*server)->Url(), fmt::format("http://127.0.0.1:{}/metrics", port));

  auto metrics = Get(port, "/metrics");
  ASSERT_TRUE(metrics) << httplib::to_string(metrics.error());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(metrics->body, registry.Expose());
  EXPECT_NE(metrics->body.find("\ntuttle_test_total 7\n"), std::string::npos);

  auto health = Get(port, "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
  auto other = Get(port, "/");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);

  (*server)->Stop();
  EXPECT_FALSE(Get(port, "/healthz")) << "still answering after Stop()";
}

TEST(MetricsServer, WithATokenMetricsNeedTheBearerHeader) {
  MetricsRegistry registry;
  registry.AddCounter("tuttle_secret_total", "Secret").With().Add(1);
  auto server =
      MetricsServer::Start(registry, MetricsServerOptions{"127.0.0.1", 0, "s3cr3t-t0ken"});
  ASSERT_TRUE(server.ok()) << server.error().message();
  const int port = (*server)->port();

  for (const std::string& wrong :
       {std::string(), std::string("Bearer s3cr3t-t0keN"), std::string("Bearer s3cr3t"),
        std::string("Bearer s3cr3t-t0ken-and-more"), std::string("Basic s3cr3t-t0ken"),
        std::string("s3cr3t-t0ken")}) {
    auto r = Get(port, "/metrics", wrong);
    ASSERT_TRUE(r) << wrong;
    EXPECT_EQ(r->status, 401) << wrong;
    EXPECT_EQ(r->body.find("tuttle_secret_total"), std::string::npos) << wrong;
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer realm=\"tuttle\"");
  }
  for (const std::string right : {"Bearer s3cr3t-t0ken", "bearer s3cr3t-t0ken"}) {
    auto r = Get(port, "/metrics", right);
    ASSERT_TRUE(r) << right;
    EXPECT_EQ(r->status, 200) << right;
    EXPECT_NE(r->body.find("\ntuttle_secret_total 1\n"), std::string::npos);
  }
  // Liveness probes need no token; they learn nothing but that the process is up.
  auto health = Get(port, "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST(MetricsServer, RefusesAPortInUse) {
  MetricsRegistry registry;
  auto first = MetricsServer::Start(registry, MetricsServerOptions{"127.0.0.1", 0, ""});
  ASSERT_TRUE(first.ok());
  auto second =
      MetricsServer::Start(registry, MetricsServerOptions{"127.0.0.1", (*first)->port(), ""});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message().find("cannot listen on 127.0.0.1:"), std::string::npos)
      << second.error().message();
}

TEST(MetricsServer, ListenAddressesTokenFilesAndComparison) {
  using Address = std::pair<std::string, int>;
  EXPECT_EQ(*ParseListenAddress("127.0.0.1:9464"), (Address{"127.0.0.1", 9464}));
  EXPECT_EQ(*ParseListenAddress(":0"), (Address{"0.0.0.0", 0}));
  EXPECT_EQ(*ParseListenAddress("[::1]:80"), (Address{"::1", 80}));
  EXPECT_EQ(*ParseListenAddress("localhost:65535"), (Address{"localhost", 65535}));
  for (const char* bad : {"9464", "::1:80", "host:", "host:http", "host:65536", "host:-1"}) {
    EXPECT_FALSE(ParseListenAddress(bad).ok()) << bad;
  }

  TempDir dir;
  const std::string token_path = (dir.path() / "token").string();
  std::ofstream(token_path) << "  abc123\n";
  EXPECT_EQ(*ReadTokenFile(token_path), "abc123");
  std::ofstream(token_path) << "\n";
  EXPECT_FALSE(ReadTokenFile(token_path).ok());
  EXPECT_FALSE(ReadTokenFile((dir.path() / "missing").string()).ok());

  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
}

// ---------------------------------------------------------------------------------------------
// End to end

constexpr const char* kRules = R"(title: Secrets listed
id: 3e7a0000-0000-4000-8000-000000000001
status: test
logsource: {product: kubernetes, service: audit}
detection:
    sel: {verb: list, objectRef.resource: secrets}
    condition: sel
level: low
)";

std::string AuditEvent(int i, const char* verb) {
  return fmt::format(
      R"({{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"m-{}",)"
      R"("stage":"ResponseComplete","verb":"{}","user":{{"username":"user-{}"}},)"
      R"("objectRef":{{"resource":"secrets","namespace":"shop"}},"responseStatus":{{"code":200}},)"
      R"("stageTimestamp":"2026-03-14T09:00:{:02}.{:03}000Z"}})",
      i, verb, i % 5, (i / 1000) % 60, i % 1000);
}

// The value of the sample `series` (name and labels) in a scrape, or NaN when it is absent.
double Sample(const std::string& text, const std::string& series) {
  std::string line = "\n";
  line += series;
  line += ' ';
  const size_t at = text.find(line);
  if (at == std::string::npos) return std::numeric_limits<double>::quiet_NaN();
  return std::strtod(text.c_str() + at + line.size(), nullptr);
}

std::string Partition(const char* name, int p) {
  return fmt::format("{}{{topic=\"audit\",partition=\"{}\"}}", name, p);
}

using Child = testing::ChildProcess;

// `tuttle run` on topic "audit" of `brokers`, quiet, serving metrics on a free port.
std::vector<std::string> RunArgv(const std::string& brokers, const std::string& group,
                                 const std::string& rules, const std::filesystem::path& store) {
  return {testing::TuttleBinary(),
          "run",
          "-b",
          brokers,
          "--topic",
          "audit",
          "-g",
          group,
          "-r",
          rules,
          "--strict",
          "--quiet",
          "--store",
          store.string(),
          "--alert-retention",
          "0",
          "-X",
          "fetch.wait.max.ms=10",
          "--metrics-listen",
          "127.0.0.1:0"};
}

TEST(MetricsEndToEnd, RunFollowServesLagOwnedPartitionsAndPipelineCounters) {
  auto cluster = ingest::MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.error().message();
  ASSERT_TRUE((*cluster)->CreateTopic("audit", 3).ok());
  constexpr int kRecords = 600;
  int lists = 0;
  {
    auto producer = ingest::KafkaProducer::Open((*cluster)->bootstrap_servers());
    ASSERT_TRUE(producer.ok()) << producer.error().message();
    for (int i = 0; i < kRecords; ++i) {
      const char* verb = i % 4 == 0 ? "list" : "get";
      lists += i % 4 == 0 ? 1 : 0;
      ASSERT_TRUE((*producer)->Produce("audit", i % 3, {}, AuditEvent(i, verb)).ok());
    }
    ASSERT_TRUE((*producer)->Produce("audit", 0, {}, "not json").ok());
    ASSERT_TRUE((*producer)->Flush(std::chrono::seconds(30)).ok());
  }
  TempDir dir;
  const std::string rules = (dir.path() / "rules.yml").string();
  std::ofstream(rules) << kRules;
  const std::string token_file = (dir.path() / "token").string();
  std::ofstream(token_file) << "e2e-token\n";
  const std::string out = (dir.path() / "out.txt").string();
  const std::string err = (dir.path() / "err.txt").string();

  std::vector<std::string> argv =
      RunArgv((*cluster)->bootstrap_servers(), "metrics-e2e", rules, dir.path() / "store");
  argv.insert(argv.end(), {"--follow", "--metrics-token-file", token_file});
  Child tuttle(argv, out, err);

  const int port = MetricsPort(err);
  ASSERT_GT(port, 0) << ReadIfExists(err);
  auto unauthorized = Get(port, "/metrics");
  ASSERT_TRUE(unauthorized);
  EXPECT_EQ(unauthorized->status, 401);

  // Scrape until every record is through the pipeline and the group's committed offsets have
  // caught up with the end of each partition.
  std::string text;
  bool caught_up = false;
  const auto started = std::chrono::steady_clock::now();
  while (!caught_up && std::chrono::steady_clock::now() - started < std::chrono::seconds(90)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto r = Get(port, "/metrics", "Bearer e2e-token");
    ASSERT_TRUE(r) << httplib::to_string(r.error()) << ReadIfExists(err);
    ASSERT_EQ(r->status, 200);
    text = r->body;
    caught_up = Sample(text, "tuttle_pipeline_records_total") == kRecords + 1;
    for (int p = 0; p < 3; ++p) {
      caught_up = caught_up && Sample(text, Partition("tuttle_kafka_consumer_lag", p)) == 0;
    }
  }
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(caught_up) << text << ReadIfExists(err);
  std::printf("lag reached 0 on every partition %.1f s after the first scrape\n", waited);

  EXPECT_EQ(Sample(text, "tuttle_kafka_assigned_partitions"), 3) << text;
  EXPECT_EQ(Sample(text, "tuttle_kafka_rebalances_total{kind=\"assign\"}"), 1) << text;
  EXPECT_EQ(Sample(text, "tuttle_kafka_rebalances_total{kind=\"revoke\"}"), 0) << text;
  for (int p = 0; p < 3; ++p) {
    EXPECT_EQ(Sample(text, Partition("tuttle_kafka_partition_owned", p)), 1) << text;
    EXPECT_EQ(Sample(text, Partition("tuttle_kafka_committed_offset", p)),
              kRecords / 3 + (p == 0 ? 1 : 0))
        << text;
  }
  EXPECT_EQ(Sample(text, "tuttle_pipeline_events_total"), kRecords) << text;
  EXPECT_EQ(Sample(text, "tuttle_pipeline_alerts_total{kind=\"single\"}"), lists) << text;
  EXPECT_EQ(Sample(text, "tuttle_pipeline_dead_letters_total{reason=\"malformed JSON\"}"), 1)
      << text;
  EXPECT_GE(Sample(text, "tuttle_pipeline_checkpoints_total"), 1) << text;
  // Every batch with records, not the empty ones of the idle follow.
  EXPECT_GE(Sample(text, "tuttle_pipeline_batch_latency_seconds_count"), 1) << text;
  EXPECT_LT(Sample(text, "tuttle_pipeline_batch_latency_seconds_count"),
            Sample(text, "tuttle_pipeline_batches_total"))
      << text;
  EXPECT_EQ(Sample(text, "tuttle_build_info{version=\"" TUTTLE_VERSION "\"}"), 1) << text;
  EXPECT_NE(text.find("# TYPE tuttle_kafka_consumer_lag gauge\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE tuttle_pipeline_batch_latency_seconds histogram\n"),
            std::string::npos);

  // Ctrl-C: the run ends cleanly and the endpoint goes with it.
  tuttle.Signal(SIGINT);
  EXPECT_EQ(tuttle.Wait(std::chrono::seconds(60)), 0) << ReadIfExists(err);
  EXPECT_FALSE(Get(port, "/healthz"));
}

// A scale-out member (docs/scaling.md) shows its correlation tasks: the signals partitions it
// owns, their lag, the messages it applied and the checkpoints it wrote.
TEST(MetricsEndToEnd, ScaleOutMemberShowsItsCorrelationTasks) {
  auto cluster = ingest::MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.error().message();
  ASSERT_TRUE((*cluster)->CreateTopic("audit", 2).ok());
  // The mock cluster does not serve CreateTopics; real brokers do.
  ASSERT_TRUE((*cluster)->CreateTopic("m-signals", 4).ok());
  ASSERT_TRUE((*cluster)->CreateTopic("m-changelog", 4).ok());
  constexpr int kRecords = 400;
  {
    auto producer = ingest::KafkaProducer::Open((*cluster)->bootstrap_servers());
    ASSERT_TRUE(producer.ok()) << producer.error().message();
    for (int i = 0; i < kRecords; ++i) {
      ASSERT_TRUE((*producer)->Produce("audit", i % 2, {}, AuditEvent(i, "list")).ok());
    }
    // A minute later on both partitions: the watermark passes the windows.
    for (int p = 0; p < 2; ++p) {
      ASSERT_TRUE((*producer)->Produce("audit", p, {}, AuditEvent(59'000 + p, "get")).ok());
    }
    ASSERT_TRUE((*producer)->Flush(std::chrono::seconds(30)).ok());
  }
  TempDir dir;
  const std::string rules = (dir.path() / "rules.yml").string();
  std::ofstream(rules) << kRules << R"(---
title: Secrets listed twice
id: 3e7a0000-0000-4000-8000-000000000002
status: test
correlation:
    type: event_count
    rules: [3e7a0000-0000-4000-8000-000000000001]
    group-by: [user.username]
    timespan: 10s
    condition: {gte: 2}
level: medium
)";
  const std::string err = (dir.path() / "err.txt").string();
  std::vector<std::string> argv =
      RunArgv((*cluster)->bootstrap_servers(), "m", rules, dir.path() / "store");
  argv.insert(argv.end(), {"--scale-out", "--signals-partitions", "4"});
  Child tuttle(argv, (dir.path() / "out.txt").string(), err);
  const int port = MetricsPort(err);
  ASSERT_GT(port, 0) << ReadIfExists(err);
  std::string text;
  bool caught_up = false;
  const auto started = std::chrono::steady_clock::now();
  while (!caught_up && std::chrono::steady_clock::now() - started < std::chrono::seconds(90)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto r = Get(port, "/metrics");
    ASSERT_TRUE(r) << ReadIfExists(err);
    text = r->body;
    caught_up = Sample(text, "tuttle_pipeline_records_total") == kRecords + 2 &&
                Sample(text, "tuttle_correlation_messages_total{outcome=\"applied\"}") > 0 &&
                Sample(text, "tuttle_correlation_alerts_total") > 0 &&
                Sample(text, "tuttle_correlation_checkpoints_total") > 0;
    for (int p = 0; p < 4; ++p) {
      caught_up = caught_up &&
                  Sample(text, fmt::format("tuttle_correlation_lag{{partition=\"{}\"}}", p)) == 0;
    }
  }
  ASSERT_TRUE(caught_up) << text << ReadIfExists(err);
  for (int p = 0; p < 4; ++p) {
    EXPECT_EQ(
        Sample(text, fmt::format("tuttle_correlation_partition_owned{{partition=\"{}\"}}", p)), 1)
        << text;
  }
  EXPECT_EQ(Sample(text, "tuttle_correlation_rebalances_total{kind=\"assign\"}"), 1) << text;
  EXPECT_EQ(Sample(text, "tuttle_kafka_assigned_partitions"), 2) << text;
  EXPECT_GT(Sample(text, "tuttle_correlation_alerts_total"), 0) << text;
  EXPECT_GE(Sample(text, "tuttle_correlation_checkpoints_total"), 1) << text;
  tuttle.Signal(SIGINT);
  EXPECT_EQ(tuttle.Wait(std::chrono::seconds(60)), 0) << ReadIfExists(err);
}

}  // namespace
}  // namespace tuttle::tools
