// Crash safety, end to end: the real `tuttle` process is killed with SIGKILL at several random
// points of a stream and restarted each time; the alerts it stores in the end must equal those
// of an uninterrupted run, with no alert lost and none stored twice (docs/storage.md).
//
// Two streams: a file (`tuttle replay --resume`) and Kafka (`tuttle run` against a
// Kafka-protocol broker, librdkafka's mock cluster, running in this test process).
//
// The rules cover each way a window can end: eager event_count, value_count, temporal_ordered,
// an event_count that is checked when its window closes (lt), suppression, and a chain.
// Records arrive out of order (up to 2 s, within the allowed lateness), so some signals are
// always waiting for the watermark when a checkpoint is taken.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "crash_support.h"
#include "support/test_support.h"
#include "tuttle/ingest/kafka.h"
#include "tuttle/storage/store.h"

namespace tuttle::crash {
namespace {

using testing::TempDir;
using testing::TuttleBinary;

TEST(CrashTest, FileStreamKilledAtRandomPointsStoresTheSameAlerts) {
  TempDir dir;
  const std::string rules = WriteRules(dir);
  const std::string input = (dir.path() / "stream.jsonl").string();
  {
    std::ofstream f(input);
    for (const auto& r : Stream(40'000)) f << r << '\n';
  }
  auto argv = [&](const std::string& store) {
    return std::vector<std::string>{TuttleBinary(), "replay", "--resume", "-r", rules,
                                    "--store", store, "--batch-records", "200",
                                    "--checkpoint-records", "1000", "--checkpoint-interval",
                                    "50ms", "--strict",
                                    // The stream's event times are in March 2026.
                                    "--alert-retention", "0", input};
  };
  const std::string clean = (dir.path() / "clean").string();
  const Outcome reference = RunAndMaybeKill(argv(clean), 0);
  ASSERT_EQ(reference.exit_code, 0);
  const auto want = StoredAlerts(clean);
  ASSERT_GT(want.size(), 100u) << "the stream should raise many alerts";
  ASSERT_EQ(reference.lines, want.size());

  const std::string crashed = (dir.path() / "crashed").string();
  const int killed = RunWithCrashes([&](int) { return argv(crashed); }, want.size(), 4, 7,
                                    (dir.path() / "crashed.log").string());
  EXPECT_GE(killed, 3) << "most kills should land mid-stream";
  std::printf("%zu alerts; %d runs killed mid-stream\n", want.size(), killed);
  ExpectSameAlerts(want, StoredAlerts(crashed));
}

TEST(CrashTest, KafkaStreamKilledAtRandomPointsStoresTheSameAlerts) {
  auto cluster = ingest::MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.error().message();
  ASSERT_TRUE((*cluster)->CreateTopic("audit", 3).ok());
  {
    auto producer = ingest::KafkaProducer::Open((*cluster)->bootstrap_servers());
    ASSERT_TRUE(producer.ok()) << producer.error().message();
    // 24,000 records of ~330 bytes over 3 partitions: well under the mock broker's ~5 MB per
    // partition.
    const auto records = Stream(24'000);
    for (size_t i = 0; i < records.size(); ++i) {
      ASSERT_TRUE((*producer)->Produce("audit", static_cast<int32_t>(i % 3), {}, records[i]).ok());
    }
    ASSERT_TRUE((*producer)->Flush(std::chrono::seconds(30)).ok());
  }
  TempDir dir;
  const std::string rules = WriteRules(dir);
  auto argv = [&](const std::string& store, const std::string& group) {
    return std::vector<std::string>{TuttleBinary(), "run", "-b", (*cluster)->bootstrap_servers(),
                                    "--topic", "audit", "-g", group, "--json", "-r", rules,
                                    "--store", store, "--batch-records", "200",
                                    "--checkpoint-records", "1000", "--checkpoint-interval",
                                    "50ms", "--strict", "-X", "fetch.wait.max.ms=10",
                                    "--alert-retention", "0"};
  };
  const std::string clean = (dir.path() / "clean").string();
  const Outcome reference = RunAndMaybeKill(argv(clean, "clean"), 0);
  ASSERT_EQ(reference.exit_code, 0);
  const auto want = StoredAlerts(clean);
  ASSERT_GT(want.size(), 50u);

  const std::string crashed = (dir.path() / "crashed").string();
  // A new consumer group per run: a killed member would hold its partitions until its session
  // times out, and where to resume comes from the store, not from the group's offsets.
  const int killed = RunWithCrashes(
      [&](int i) { return argv(crashed, fmt::format("crashed-{}", i)); }, want.size(), 3, 11,
      (dir.path() / "crashed.log").string());
  EXPECT_GE(killed, 2);
  std::printf("%zu alerts; %d runs killed mid-stream\n", want.size(), killed);
  ExpectSameAlerts(want, StoredAlerts(crashed));
  if (HasFailure()) std::printf("%s\n", testing::ReadFile(dir.path() / "crashed.log").c_str());
}

}  // namespace
}  // namespace tuttle::crash
