// The end-to-end bench's harness (bench/e2e.cc, docs/bench.md) on a small generated stream: from
// files with 1 and 2 threads, paced, from the Kafka mock cluster, and the simdjson ceiling. Each
// run must read every record, raise the planted stories' alerts (the check passes), and report
// its measurements; a story alert that was not raised must fail the run.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace tuttle {
namespace {

using nlohmann::json;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;
using testing::TuttleBinary;

constexpr int kRecords = 20'000;

class BenchE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    // 100 records per second of event time: the stories (90 s each) fit inside the stream's
    // 200 s instead of trailing past its end, where, split over Kafka partitions read unevenly,
    // their last records could come after the watermark passed them.
    const ProcessResult g =
        RunProcess({TuttleBinary(), "generate", "-n", std::to_string(kRecords), "--stories", "2",
                    "--events-per-second", "100", "-o", Events(), "--expect", Expect()});
    ASSERT_EQ(g.exit_code, 0) << g.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string Events() { return (dir_->path() / "events.jsonl").string(); }
  static std::string Expect() { return (dir_->path() / "expect.json").string(); }

  // Runs tuttle_e2e with `args`; its one line of JSON.
  static json Run(const std::vector<std::string>& args, int want_exit = 0) {
    std::vector<std::string> argv = {TUTTLE_E2E_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    const ProcessResult r = RunProcess(argv);
    EXPECT_EQ(r.exit_code, want_exit) << r.err << r.out;
    json out = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(out.is_discarded()) << r.out;
    return out;
  }

  // `opens_groups`: false when the allowed lateness outlasts the stream, so that every signal
  // waits for the end of the input.
  static void ExpectMeasured(const json& r, bool opens_groups = true) {
    EXPECT_EQ(r.value("records", 0), kRecords);
    EXPECT_EQ(r.value("events", 0), kRecords);
    EXPECT_EQ(r.value("dead_letters", -1), 0);
    EXPECT_GT(r.value("seconds", 0.0), 0.0);
    EXPECT_GT(r.value("events_per_s", 0.0), 0.0);
    EXPECT_GT(r.value("rss_kb", 0), 0);
    if (opens_groups) {
      EXPECT_GT(r.value("peak_open_groups", 0), 0);
    }
    ASSERT_TRUE(r.contains("check"));
    EXPECT_TRUE(r["check"].value("ok", false)) << r["check"].dump();
    EXPECT_EQ(r["check"].value("burst_alerts", 0), 2);
    EXPECT_EQ(r["check"].value("planted", 0), 6);
  }

  static TempDir* dir_;
};

TempDir* BenchE2e::dir_ = nullptr;

TEST_F(BenchE2e, FilesWithOneAndTwoThreadsRaiseTheSameAlertsAndMeasureLatency) {
  const json one = Run({"files", Events(), "-t", "1", "--expect", Expect()});
  const json two = Run({"files", Events(), "-t", "2", "--expect", Expect()});
  ExpectMeasured(one);
  ExpectMeasured(two);
  EXPECT_EQ(one["alerts"], two["alerts"]);
  EXPECT_EQ(one["correlation_alerts"], two["correlation_alerts"]);
  EXPECT_EQ(one["peak_open_groups"], two["peak_open_groups"]);
  // Every alert's latency measured, from a record read a moment before, but for correlation
  // alerts released only by the end of the input (no record triggered them).
  EXPECT_GE(one["latency_alerts"].get<int>(),
            one["alerts"].get<int>() - one["correlation_alerts"].get<int>());
  EXPECT_LE(one["latency_alerts"].get<int>(), one["alerts"].get<int>());
  EXPECT_GT(one["latency_p50_ms"].get<double>(), 0.0);
  EXPECT_GE(one["latency_p99_ms"].get<double>(), one["latency_p50_ms"].get<double>());
  EXPECT_LT(one["latency_p99_ms"].get<double>(), 60'000.0);
}

TEST_F(BenchE2e, PacedInputTakesAsLongAsItsRateSays) {
  // 20,000 records at 40,000/s: half a second at least.
  const json r = Run({"files", Events(), "-t", "2", "--rate", "40000", "--batch-records", "128",
                      "--expect", Expect()});
  ExpectMeasured(r);
  EXPECT_GE(r["seconds"].get<double>(), 0.45);
  EXPECT_LE(r["events_per_s"].get<double>(), 45'000.0);
}

TEST_F(BenchE2e, KafkaMockClusterDeliversEveryRecord) {
  const TempDir store;
  // Partitions are read unevenly (a fetch brings up to 1 MB of one partition, here 90 s of event
  // time), and a partition at its end stops holding the watermark back: 5 minutes of allowed
  // lateness keep every record in its windows, which is what this test is about.
  const json r = Run({"kafka", Events(), "-t", "2", "--partitions", "4", "--prefill-mb", "4",
                      "--lateness", "300", "--store", (store.path() / "store").string(),
                      "--expect", Expect()});
  ExpectMeasured(r, false);
  EXPECT_FALSE(r.contains("lost"));
  EXPECT_FALSE(r.contains("latency_p99_ms"));  // pre-filled: the records waited for the join
}

TEST_F(BenchE2e, CeilingParsesEveryRecord) {
  const json r = Run({"ceiling", Events()});
  EXPECT_EQ(r.value("records", 0), kRecords);
  EXPECT_EQ(r.value("unreadable", -1), 0);
  EXPECT_GT(r.value("checksum", 0), 0);
  EXPECT_GT(r.value("events_per_s", 0.0), 0.0);
}

TEST_F(BenchE2e, AStoryAlertNotRaisedFailsTheRun) {
  std::ifstream in(Expect());
  json expect = json::parse(in);
  expect["alerts"].push_back(
      {{"rule", "mr_aws_lambda_invoke_denied_burst"}, {"group", {{"sourceIPAddress", "192.0.2.1"}}}});
  expect["bursts"] = expect["bursts"].get<int>() + 1;
  const std::string wrong = (dir_->path() / "wrong-expect.json").string();
  std::ofstream(wrong) << expect.dump();
  const json r = Run({"files", Events(), "-t", "2", "--expect", wrong}, 2);
  ASSERT_TRUE(r.contains("check"));
  EXPECT_FALSE(r["check"].value("ok", true));
  EXPECT_EQ(r["check"]["errors"].size(), 2u) << r["check"].dump();
}

}  // namespace
}  // namespace tuttle
