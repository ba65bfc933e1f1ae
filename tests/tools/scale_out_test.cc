// Scale-out, end to end (docs/scaling.md): `tuttle run --scale-out` processes in one consumer
// group on a Kafka-protocol broker (librdkafka's mock cluster, in this test process). Records are
// produced while they run; one process is killed with SIGKILL mid-stream and another joins later.
// The union of the alerts they store must equal a single process's alerts: every alert, byte for
// byte, and none that a single process would not raise.
//
// The stream is crash_support's: rules of every window kind (eager and at-close counts,
// value_count, temporal_ordered, suppression, a chain) and records up to 2 s out of order. It
// ends with one record per partition an hour later, which matches no rule and pushes every
// watermark past every window, so the long-running processes close the windows a single run
// closes at its end of input.

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crash_support.h"
#include "support/child_process.h"
#include "support/test_support.h"
#include "tuttle/ingest/kafka.h"

namespace tuttle::crash {
namespace {

using testing::TempDir;
using testing::TuttleBinary;

constexpr int kInputPartitions = 4;
constexpr int kSignalsPartitions = 8;

using Child = testing::ChildProcess;

// Alert ids a `tuttle run --json` printed so far (one OCSF finding per line).
std::set<std::string> Printed(const Child& child) {
  std::set<std::string> ids;
  std::ifstream in(child.out_path());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.contains("finding_info")) {
      ids.insert(j["finding_info"]["uid"].get<std::string>());
    }
  }
  return ids;
}

std::set<std::string> Ids(const std::map<std::string, std::string>& alerts) {
  std::set<std::string> ids;
  for (const auto& [id, json] : alerts) {
    ids.insert(nlohmann::json::parse(json)["finding_info"]["uid"].get<std::string>());
  }
  return ids;
}

class ScaleOutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = ingest::MockCluster::Start(3);
    ASSERT_TRUE(c.ok()) << c.error().message();
    cluster_ = std::move(*c);
    ASSERT_TRUE(cluster_->CreateTopic("audit", kInputPartitions).ok());
    // librdkafka's mock cluster does not serve CreateTopics; real brokers do, and `tuttle`
    // creates these itself there.
    ASSERT_TRUE(cluster_->CreateTopic("scaled-signals", kSignalsPartitions).ok());
    ASSERT_TRUE(cluster_->CreateTopic("scaled-changelog", kSignalsPartitions).ok());
    rules_ = WriteRules(dir_);
    // 16,000 records of ~330 bytes over 4 partitions (1.3 MB each), and the signals topic
    // gets about as much: well under the mock broker's ~5 MB per partition.
    records_ = Stream(16'000);
    const std::string end =
        R"({{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"end-{}",)"
        R"("stage":"ResponseComplete","verb":"get","user":{{"username":"nobody"}},)"
        R"("objectRef":{{"resource":"configmaps","namespace":"ns","name":"end"}},)"
        R"("responseStatus":{{"code":200}},"stageTimestamp":"2026-03-14T11:00:00.000000Z"}})";
    for (int p = 0; p < kInputPartitions; ++p)
      records_.push_back(fmt::format(fmt::runtime(end), p));
  }

  // `lateness`: 2m covers the skew between partitions of this stream, whose event time runs
  // 25 times faster than the wall clock while it is produced.
  std::vector<std::string> Argv(const std::string& name, bool scale_out,
                                const std::string& lateness = "2m") const {
    std::vector<std::string> argv = {
        TuttleBinary(), "run", "-b", cluster_->bootstrap_servers(), "--topic", "audit", "--json",
        "-r", rules_, "--store", (dir_.path() / name).string(), "--strict", "--batch-records",
        "200", "--alert-retention", "0", "--lateness", lateness, "-X", "fetch.wait.max.ms=10",
        // A killed member's partitions move after its session times out.
        "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500"};
    if (scale_out) {
      argv.insert(argv.end(), {"-g", "scaled", "--scale-out", "--signals-partitions", "8",
                               "--checkpoint-interval", "200ms"});
    } else {
      argv.insert(argv.end(), {"-g", "single"});
    }
    return argv;
  }

  // The same member as Argv(name, true), configured by a file (tuttle run --config).
  std::vector<std::string> ConfigArgv(const std::string& name) const {
    const std::string path = (dir_.path() / (name + ".yaml")).string();
    std::ofstream(path) << fmt::format(R"(kafka:
  brokers: {}
  group_id: scaled
  topics: [{{name: audit}}]
  properties: {{fetch.wait.max.ms: 10}}
  consumer_properties: {{session.timeout.ms: 6000, heartbeat.interval.ms: 500}}
  scale_out: {{enabled: true, partitions: {}}}
engine: {{rules: [{}], lateness: 2m, strict: true, batch_records: 200}}
store: {{path: {}, checkpoint_interval: 200ms, alert_retention: 0}}
output: {{json: true}}
)",
                                       cluster_->bootstrap_servers(), kSignalsPartitions, rules_,
                                       (dir_.path() / name).string());
    return {TuttleBinary(), "run", "--config", path};
  }

  // Produces records [from, to) round-robin over the partitions, `per_second` at most.
  void Produce(size_t from, size_t to, int per_second) {
    auto producer = ingest::KafkaProducer::Open(cluster_->bootstrap_servers());
    ASSERT_TRUE(producer.ok()) << producer.error().message();
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = from; i < to; ++i) {
      const int32_t partition = i + kInputPartitions >= records_.size()
                                    ? static_cast<int32_t>(records_.size() - 1 - i)
                                    : static_cast<int32_t>(i % kInputPartitions);
      ASSERT_TRUE((*producer)->Produce("audit", partition, {}, records_[i]).ok());
      if (per_second > 0 && (i - from) % 100 == 99) {
        std::this_thread::sleep_until(
            start + std::chrono::milliseconds((i - from + 1) * 1000 / per_second));
      }
    }
    ASSERT_TRUE((*producer)->Flush(std::chrono::seconds(30)).ok());
  }

  // The alerts of one uninterrupted single process over the whole stream.
  std::map<std::string, std::string> Reference(const std::string& lateness = "2m") {
    const Outcome o = RunAndMaybeKill(Argv("single", false, lateness), 0);
    EXPECT_EQ(o.exit_code, 0);
    return StoredAlerts((dir_.path() / "single").string());
  }

  TempDir dir_;
  std::unique_ptr<ingest::MockCluster> cluster_;
  std::string rules_;
  std::vector<std::string> records_;
};

// Waits until the printed alerts of `children` cover `want` (or the time is up).
bool WaitForAlerts(const std::vector<Child*>& children, const std::set<std::string>& want,
                   std::set<std::string>& seen, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const Child* c : children) {
      const auto ids = Printed(*c);
      seen.insert(ids.begin(), ids.end());
    }
    if (std::includes(seen.begin(), seen.end(), want.begin(), want.end())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return false;
}

TEST_F(ScaleOutTest, ThreeProcessesOneKilledOneJoiningLaterGiveTheSingleProcessAlerts) {
  const size_t half = records_.size() / 2;
  Child first(Argv("first", true), (dir_.path() / "first.out").string(),
              (dir_.path() / "first.err").string());
  Child second(Argv("second", true), (dir_.path() / "second.out").string(),
               (dir_.path() / "second.err").string());
  // The first half while the two run; the first is killed once it has printed some alerts.
  Produce(0, half, 1000);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (Printed(first).size() < 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const size_t printed_before_kill = Printed(first).size();
  first.Signal(SIGKILL);
  EXPECT_EQ(first.Wait(), 128 + SIGKILL) << first.Log();
  // The second half, with a third process joining partway.
  std::thread producer([&] { Produce(half, records_.size(), 1000); });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  // The third is configured by a file, as a deployment would be.
  Child third(ConfigArgv("third"), (dir_.path() / "third.out").string(),
              (dir_.path() / "third.err").string());
  producer.join();
  ASSERT_FALSE(HasFailure());

  const auto want = Reference();
  ASSERT_GT(want.size(), 100u);
  const std::set<std::string> want_ids = Ids(want);
  std::set<std::string> seen;
  const bool complete =
      WaitForAlerts({&first, &second, &third}, want_ids, seen, std::chrono::seconds(120));
  // Let the survivors settle, then stop them as an operator would.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  second.Signal(SIGINT);
  third.Signal(SIGINT);
  EXPECT_EQ(second.Wait(), 0) << second.Log();
  EXPECT_EQ(third.Wait(), 0) << third.Log();
  EXPECT_TRUE(complete) << "alerts printed: " << seen.size() << " of " << want_ids.size();

  // The union of the three stores equals the single process's alerts.
  std::map<std::string, std::string> all;
  size_t stored = 0, again = 0;
  for (const char* name : {"first", "second", "third"}) {
    for (auto& [id, json] : StoredAlerts((dir_.path() / name).string())) {
      ++stored;
      auto [it, fresh] = all.emplace(id, json);
      if (!fresh) {
        ++again;
        EXPECT_EQ(it->second, json) << "the same alert id with different content";
      }
    }
  }
  ExpectSameAlerts(want, all);
  std::printf(
      "%zu alerts; the first process printed %zu before it was killed; %zu stored in all, %zu "
      "of them again by another process (re-done work after the kill, same ids)\n",
      want.size(), printed_before_kill, stored, again);
  std::printf("second: %s\nthird: %s\n", second.Log().c_str(), third.Log().c_str());
}

// Broker faults while two processes share the work: request errors on produce, fetch, offset
// commit and heartbeat; both groups' coordinators moving; partition leaders moving; a broker
// down for two seconds. librdkafka retries; the union of the alerts is still a single
// process's. A partition whose leader is down stalls for as long as librdkafka's reconnect
// backoff (up to 10 s), which is minutes of this stream's event time, so the lateness here is
// 10 minutes, and the records go at 500/s (about 8 s of stall is then 10 minutes of event time):
// the check is that nothing is lost or doubled, not how late a stalled partition is. Under a
// loaded machine a longer stall made signals late (counted, dead-lettered) and failed the test,
// so the suite also runs these tests alone (SERIAL in CMakeLists.txt).
TEST_F(ScaleOutTest, BrokerFaultsLoseNothing) {
  const std::string lateness = "10m";
  Child first(Argv("first", true, lateness), (dir_.path() / "first.out").string(),
              (dir_.path() / "first.err").string());
  Child second(Argv("second", true, lateness), (dir_.path() / "second.out").string(),
               (dir_.path() / "second.err").string());
  rd_kafka_mock_cluster_t* mock = cluster_->handle();
  std::thread producer([&] { Produce(0, records_.size(), 500); });
  const auto at = [](int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
  at(3000);
  // Retriable errors on the next requests of each kind.
  rd_kafka_mock_push_request_errors(
      mock, 0 /* Produce */, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  rd_kafka_mock_push_request_errors(
      mock, 1 /* Fetch */, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
      RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  rd_kafka_mock_push_request_errors(mock, 8 /* OffsetCommit */, 2,
                                    RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                                    RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
  rd_kafka_mock_push_request_errors(mock, 12 /* Heartbeat */, 2, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                                    RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
  at(2000);
  // The coordinators move, and so do some partitions' leaders.
  rd_kafka_mock_coordinator_set(mock, "group", "scaled", 2);
  rd_kafka_mock_coordinator_set(mock, "group", "scaled-correlate", 3);
  rd_kafka_mock_partition_set_leader(mock, "audit", 0, 2);
  rd_kafka_mock_partition_set_leader(mock, "scaled-signals", 1, 3);
  rd_kafka_mock_partition_set_leader(mock, "scaled-changelog", 2, 2);
  at(2000);
  // A broker down for two seconds: its partitions and groups are unreachable meanwhile.
  rd_kafka_mock_broker_set_down(mock, 1);
  at(2000);
  rd_kafka_mock_broker_set_up(mock, 1);
  producer.join();
  ASSERT_FALSE(HasFailure());

  const auto want = Reference(lateness);
  ASSERT_GT(want.size(), 100u);
  std::set<std::string> seen;
  const bool complete =
      WaitForAlerts({&first, &second}, Ids(want), seen, std::chrono::seconds(120));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  first.Signal(SIGINT);
  second.Signal(SIGINT);
  EXPECT_EQ(first.Wait(), 0) << first.Log();
  EXPECT_EQ(second.Wait(), 0) << second.Log();
  EXPECT_TRUE(complete) << "alerts printed: " << seen.size() << " of " << want.size();
  std::map<std::string, std::string> all;
  for (const char* name : {"first", "second"}) {
    for (auto& [id, json] : StoredAlerts((dir_.path() / name).string())) all.emplace(id, json);
  }
  ExpectSameAlerts(want, all);
  std::printf("%zu alerts\nfirst: %s\nsecond: %s\n", want.size(), first.Log().c_str(),
              second.Log().c_str());
}

}  // namespace
}  // namespace tuttle::crash
