// The alert sinks of tools/: the JSON-lines file with rotation (alert_file_sink.h) and the
// webhook (webhook_sink.h) against a real HTTP server in this process that fails on purpose.

#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "alert_file_sink.h"
#include "alert_outputs.h"
#include "support/test_support.h"
#include "tuttle/engine/metrics.h"
#include "webhook_sink.h"

namespace tuttle::tools {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::shared_ptr<const RuleInfo> TestRule() {
  static const auto rule = [] {
    auto r = std::make_shared<RuleInfo>();
    r->id = "00000000-0000-4000-8000-00000000beef";
    r->title = "Test rule";
    r->level = Level::kHigh;
    r->tags = {"attack.execution", "attack.t1609"};
    return r;
  }();
  return rule;
}

// Alerts 0..n-1 (ids differ), each with one piece of evidence at line i+1.
std::vector<Alert> MakeAlerts(int n, int first = 0) {
  std::vector<Alert> out;
  for (int i = first; i < first + n; ++i) {
    Alert a;
    a.rule = TestRule();
    a.kind = "single";
    a.time = 1'700'000'000'000'000'000 + i * kNsPerSecond;
    a.window_start = a.window_end = a.time;
    Evidence e;
    e.position = {"events.jsonl", -1, i + 1};
    e.time = a.time;
    e.record_id = Hash128{static_cast<uint64_t>(i), 42};
    e.rule = a.rule;
    a.evidence.push_back(e);
    a.id = ComputeAlertId(a);
    out.push_back(std::move(a));
  }
  return out;
}

BatchOutput Batch(std::vector<Alert> alerts, bool checkpointing = false) {
  BatchOutput b;
  b.alerts = std::move(alerts);
  b.checkpointing = checkpointing;
  return b;
}

std::vector<std::string> Lines(const std::filesystem::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// The line number of the evidence of an OCSF alert line: which alert it is.
int AlertIndex(const std::string& line) {
  const json j = json::parse(line);
  return j["evidences"][0]["data"]["line"].get<int>() - 1;
}

TEST(AlertFileSink, RotatesAtTheSizeKeepsNFilesAndNeverSplitsALine) {
  testing::TempDir dir;
  const auto path = dir.path() / "alerts.jsonl";
  const auto alerts = MakeAlerts(60);
  const size_t line_size = AlertToOcsfJson(alerts[0]).size() + 1;
  AlertFileSinkOptions o;
  o.path = path.string();
  o.max_bytes = line_size * 4 + line_size / 2;  // four lines per file
  o.keep = 3;
  o.sync = false;
  auto sink = AlertFileSink::Open(o);
  ASSERT_TRUE(sink.ok()) << sink.error().message();
  for (int i = 0; i < 60; i += 7) {
    const int n = std::min(7, 60 - i);
    std::vector<Alert> part(alerts.begin() + i, alerts.begin() + i + n);
    ASSERT_TRUE((*sink)->Write(Batch(part)).ok());
  }
  ASSERT_TRUE((*sink)->Finish().ok());

  // PATH.3 (oldest kept) .. PATH.1, PATH: the newest alerts, in order, no gap, no torn line.
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "alerts.jsonl.4"));
  std::vector<int> seen;
  for (const auto& name : {"alerts.jsonl.3", "alerts.jsonl.2", "alerts.jsonl.1", "alerts.jsonl"}) {
    const auto p = dir.path() / name;
    ASSERT_TRUE(std::filesystem::exists(p)) << name;
    EXPECT_LE(std::filesystem::file_size(p), o.max_bytes) << name;
    const auto lines = Lines(p);
    EXPECT_LE(lines.size(), 4u) << name;
    for (const auto& l : lines) seen.push_back(AlertIndex(l));
  }
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), 59);
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_EQ(seen[i], seen[i - 1] + 1);
  EXPECT_EQ(seen.size(), 60u - 4 * ((*sink)->rotations() - 3));
  EXPECT_EQ((*sink)->lines(), 60u);

  // Keeping enough files keeps every alert.
  testing::TempDir all;
  o.path = (all.path() / "a.jsonl").string();
  o.keep = 100;
  auto keep_all = AlertFileSink::Open(o);
  ASSERT_TRUE(keep_all.ok());
  ASSERT_TRUE((*keep_all)->Write(Batch(alerts)).ok());
  std::multiset<int> every;
  for (const auto& f : std::filesystem::directory_iterator(all.path())) {
    for (const auto& l : Lines(f.path())) every.insert(AlertIndex(l));
  }
  EXPECT_EQ(every.size(), 60u);
  EXPECT_EQ(std::set<int>(every.begin(), every.end()).size(), 60u);
}

TEST(AlertFileSink, RotatesDailyAtUtcMidnight) {
  testing::TempDir dir;
  TimeNs now = TimeNs{1'700'000'000} * kNsPerSecond;  // 2023-11-14T22:13:20Z
  AlertFileSinkOptions o;
  o.path = (dir.path() / "a.jsonl").string();
  o.max_bytes = 0;
  o.daily = true;
  o.sync = false;
  o.now = [&now] { return now; };
  auto sink = AlertFileSink::Open(o);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write(Batch(MakeAlerts(3))).ok());
  now += TimeNs{3600} * kNsPerSecond;  // 23:13, the same day
  ASSERT_TRUE((*sink)->Write(Batch(MakeAlerts(2, 3))).ok());
  EXPECT_EQ((*sink)->rotations(), 0u);
  now += TimeNs{3600} * kNsPerSecond;  // 00:13 the next day
  ASSERT_TRUE((*sink)->Write(Batch(MakeAlerts(1, 5))).ok());
  EXPECT_EQ((*sink)->rotations(), 1u);
  EXPECT_EQ(Lines(dir.path() / "a.jsonl.1").size(), 5u);
  EXPECT_EQ(Lines(dir.path() / "a.jsonl").size(), 1u);
}

TEST(AlertFileSink, UnwritablePathFailsAtOpenAndATornLineIsEnded) {
  testing::TempDir dir;
  AlertFileSinkOptions o;
  o.path = (dir.path() / "missing" / "a.jsonl").string();
  auto bad = AlertFileSink::Open(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("cannot open it for writing"), std::string::npos);

  o.path = (dir.path() / "a.jsonl").string();
  std::ofstream(o.path) << "{\"torn\":";
  auto sink = AlertFileSink::Open(o);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write(Batch(MakeAlerts(2))).ok());
  const auto lines = Lines(o.path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "{\"torn\":");
  EXPECT_EQ(AlertIndex(lines[1]), 0);
  EXPECT_EQ(AlertIndex(lines[2]), 1);
}

TEST(AlertOutputOptions, SizesAndDurationsParse) {
  EXPECT_EQ(ParseByteSize("100MB"), 100'000'000u);
  EXPECT_EQ(ParseByteSize("1KiB"), 1024u);
  EXPECT_EQ(ParseByteSize("512"), 512u);
  EXPECT_EQ(ParseByteSize("0"), 0u);
  EXPECT_FALSE(ParseByteSize("10 parsecs").has_value());
  EXPECT_FALSE(ParseByteSize("MB").has_value());
  EXPECT_EQ(ParseMillis("250ms"), milliseconds(250));
  EXPECT_EQ(ParseMillis("2s"), milliseconds(2000));
  EXPECT_FALSE(ParseMillis("0ms").has_value());
  AlertOutputOptions o;
  EXPECT_TRUE(CheckAlertOutputOptions(o).ok());
  o.format = "cef";
  EXPECT_FALSE(CheckAlertOutputOptions(o).ok());
  o.format = "falco";
  o.webhook = "ftp://x";
  EXPECT_FALSE(CheckAlertOutputOptions(o).ok());
}

// An HTTP server on 127.0.0.1 (a free port) whose answer to the n-th request (from 0) `answer`
// decides; it records what it received.
class Endpoint {
 public:
  struct Received {
    std::string body;
    httplib::Headers headers;
    Clock::time_point at;
  };
  using Answer = std::function<void(int n, const httplib::Request&, httplib::Response&)>;

  explicit Endpoint(Answer answer) : answer_(std::move(answer)) {
    server_.new_task_queue = [] { return new httplib::ThreadPool(2); };
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      int n;
      {
        std::lock_guard<std::mutex> lock(mu_);
        n = static_cast<int>(received_.size());
        received_.push_back({req.body, req.headers, Clock::now()});
      }
      res.status = 200;
      answer_(n, req, res);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Endpoint() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<Received> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 private:
  Answer answer_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<Received> received_;
};

WebhookSinkOptions Options(const Endpoint& e, const testing::TempDir& dir,
                           MetricsRegistry* metrics) {
  WebhookSinkOptions o;
  o.url = e.url();
  o.initial_backoff = milliseconds(40);
  o.max_backoff = milliseconds(400);
  o.timeout = milliseconds(2000);
  o.max_attempts = 6;
  o.dead_letter_path = (dir.path() / "dead.jsonl").string();
  o.metrics = metrics;
  return o;
}

std::string Id(const std::string& body) { return json::parse(body)["finding_info"]["uid"]; }

std::set<std::string> Ids(const std::vector<Alert>& alerts) {
  std::set<std::string> out;
  for (const Alert& a : alerts) out.insert(a.id.Uuid());
  return out;
}

// The metric's value in the exposition, or -1 when absent.
double Metric(const MetricsRegistry& m, const std::string& series) {
  std::istringstream in(m.Expose());
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

TEST(Webhook, RetriesUnavailableWithBackoffUntilEveryAlertArrives) {
  // The first three requests get 503 (no Retry-After): the backoff applies.
  Endpoint endpoint([](int n, const httplib::Request&, httplib::Response& res) {
    if (n < 3) res.status = 503;
  });
  testing::TempDir dir;
  MetricsRegistry metrics;
  auto sink = WebhookSink::Open(Options(endpoint, dir, &metrics));
  ASSERT_TRUE(sink.ok()) << sink.error().message();
  const auto alerts = MakeAlerts(5);
  ASSERT_TRUE((*sink)->Write(Batch(alerts)).ok());
  // A batch of a run that does not checkpoint is settled when Write() returns.
  EXPECT_EQ((*sink)->stats().delivered, 5u);
  ASSERT_TRUE((*sink)->Finish().ok());

  const auto got = endpoint.received();
  ASSERT_EQ(got.size(), 8u);
  std::set<std::string> accepted;
  for (size_t i = 3; i < got.size(); ++i) accepted.insert(Id(got[i].body));
  EXPECT_EQ(accepted, Ids(alerts));
  // The same alert was retried, with the exponential delays (at least half of 40, 80, 160 ms).
  EXPECT_EQ(Id(got[0].body), Id(got[3].body));
  EXPECT_GE(got[1].at - got[0].at, milliseconds(20));
  EXPECT_GE(got[2].at - got[1].at, milliseconds(40));
  EXPECT_GE(got[3].at - got[2].at, milliseconds(80));
  // One alert per request: a JSON object, the alert id as idempotency key.
  for (const auto& r : got) {
    EXPECT_TRUE(json::parse(r.body).is_object());
    EXPECT_EQ(r.headers.find("Idempotency-Key")->second, Id(r.body));
    EXPECT_EQ(r.headers.find("Content-Type")->second, "application/json");
    EXPECT_EQ(r.headers.count("Authorization"), 0u);
  }
  const WebhookStats s = (*sink)->stats();
  EXPECT_EQ(s.retries, 3u);
  EXPECT_EQ(s.requests, 8u);
  EXPECT_EQ(s.dead_lettered, 0u);
  EXPECT_EQ(Metric(metrics, "tuttle_webhook_retries_total"), 3);
  EXPECT_EQ(Metric(metrics, "tuttle_webhook_requests_total{code=\"503\"}"), 3);
  EXPECT_EQ(Metric(metrics, "tuttle_webhook_requests_total{code=\"200\"}"), 5);
  EXPECT_EQ(Metric(metrics, "tuttle_webhook_queue_depth"), 0);
  EXPECT_EQ(Lines(dir.path() / "dead.jsonl").size(), 0u);
}

TEST(Webhook, HonoursRetryAfterOnTooManyRequests) {
  Endpoint endpoint([](int n, const httplib::Request&, httplib::Response& res) {
    if (n == 0) {
      res.status = 429;
      res.set_header("Retry-After", "1");
    }
  });
  testing::TempDir dir;
  auto o = Options(endpoint, dir, nullptr);
  o.initial_backoff = milliseconds(5);
  auto sink = WebhookSink::Open(o);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write(Batch(MakeAlerts(1))).ok());
  ASSERT_TRUE((*sink)->Finish().ok());
  const auto got = endpoint.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_GE(got[1].at - got[0].at, milliseconds(950));
  EXPECT_EQ((*sink)->stats().delivered, 1u);
}

TEST(Webhook, RetriesWhenTheConnectionBreaks) {
  // The first two answers are cut off after their headers: the client sees a broken connection.
  Endpoint endpoint([](int n, const httplib::Request&, httplib::Response& res) {
    if (n < 2) {
      res.set_content_provider(100, "application/json",
                               [](size_t, size_t, httplib::DataSink&) { return false; });
    }
  });
  testing::TempDir dir;
  MetricsRegistry metrics;
  auto sink = WebhookSink::Open(Options(endpoint, dir, &metrics));
  ASSERT_TRUE(sink.ok());
  const auto alerts = MakeAlerts(3);
  ASSERT_TRUE((*sink)->Write(Batch(alerts)).ok());
  ASSERT_TRUE((*sink)->Finish().ok());
  const WebhookStats s = (*sink)->stats();
  EXPECT_EQ(s.delivered, 3u);
  EXPECT_EQ(s.retries, 2u);
  EXPECT_EQ(s.dead_lettered, 0u);
  EXPECT_EQ(Metric(metrics, "tuttle_webhook_requests_total{code=\"error\"}"), 2);
}

TEST(Webhook, GivesUpAfterMaxAttemptsAndDeadLettersEachAlertWithTheReason) {
  Endpoint endpoint([](int, const httplib::Request&, httplib::Response& res) {
    res.status = 500;
    res.set_content("database on fire", "text/plain");
  });
  testing::TempDir dir;
  MetricsRegistry metrics;
  auto o = Options(endpoint, dir, &metrics);
  o.max_attempts = 3;
  o.initial_backoff = milliseconds(5);
  o.format = AlertFormat::kEcs;
  auto sink = WebhookSink::Open(o);
  ASSERT_TRUE(sink.ok());
  const auto alerts = MakeAlerts(4);
  ASSERT_TRUE((*sink)->Write(Batch(alerts, /*checkpointing=*/true)).ok());
  ASSERT_TRUE((*sink)->Finish().ok());
  EXPECT_EQ(endpoint.received().size(), 12u);
  const auto lines = Lines(dir.path() / "dead.jsonl");
  ASSERT_EQ(lines.size(), 4u);
  std::set<std::string> ids;
  for (const auto& l : lines) {
    const json d = json::parse(l);
    EXPECT_EQ(d["url"], o.url);
    EXPECT_EQ(d["attempts"], 3);
    EXPECT_EQ(d["status"], 500);
    EXPECT_EQ(d["error"], "HTTP 500: database on fire");
    EXPECT_EQ(d["alert"]["event"]["kind"], "alert");  // the document posted, in ECS
    EXPECT_EQ(d["alert"]["event"]["id"], d["alert_id"]);
    ids.insert(d["alert_id"].get<std::string>());
  }
  EXPECT_EQ(ids, Ids(alerts));
  EXPECT_EQ(Metric(metrics, "tuttle_webhook_dead_letters_total"), 4);
  EXPECT_EQ(Metric(metrics, "tuttle_webhook_retries_total"), 8);
}

TEST(Webhook, DoesNotRetryABadRequest) {
  Endpoint endpoint([](int, const httplib::Request&, httplib::Response& res) { res.status = 400; });
  testing::TempDir dir;
  auto sink = WebhookSink::Open(Options(endpoint, dir, nullptr));
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write(Batch(MakeAlerts(2))).ok());
  ASSERT_TRUE((*sink)->Finish().ok());
  EXPECT_EQ(endpoint.received().size(), 2u);
  EXPECT_EQ((*sink)->stats().retries, 0u);
  const auto lines = Lines(dir.path() / "dead.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(json::parse(lines[0])["status"], 400);
  EXPECT_EQ(json::parse(lines[0])["attempts"], 1);
}

TEST(Webhook, SlowEndpointBackpressuresAndFinishDrainsEverything) {
  std::atomic<int> concurrent{0}, most{0};
  Endpoint endpoint([&](int, const httplib::Request&, httplib::Response&) {
    const int c = ++concurrent;
    most = std::max(most.load(), c);
    std::this_thread::sleep_for(milliseconds(15));
    --concurrent;
  });
  testing::TempDir dir;
  MetricsRegistry metrics;
  auto o = Options(endpoint, dir, &metrics);
  o.queue_capacity = 2;
  o.batch = 3;
  o.token = "s3cret";
  auto sink = WebhookSink::Open(o);
  ASSERT_TRUE(sink.ok());
  const auto alerts = MakeAlerts(20);
  // Checkpointing batches without a checkpoint are only queued: Write() waits for room only.
  for (int i = 0; i < 20; i += 5) {
    std::vector<Alert> part(alerts.begin() + i, alerts.begin() + i + 5);
    ASSERT_TRUE((*sink)->Write(Batch(part, /*checkpointing=*/true)).ok());
  }
  EXPECT_LE(Metric(metrics, "tuttle_webhook_queue_depth"), 2 + 3);
  ASSERT_TRUE((*sink)->Finish().ok());
  EXPECT_EQ((*sink)->stats().delivered, 20u);
  std::set<std::string> ids;
  for (const auto& r : endpoint.received()) {
    const json body = json::parse(r.body);
    ASSERT_TRUE(body.is_array());
    EXPECT_GE(body.size(), 1u);
    EXPECT_LE(body.size(), 3u);
    for (const auto& a : body) ids.insert(a["finding_info"]["uid"].get<std::string>());
    EXPECT_EQ(r.headers.find("Authorization")->second, "Bearer s3cret");
    EXPECT_EQ(r.headers.find("X-Tuttle-Alert-Count")->second, std::to_string(body.size()));
  }
  EXPECT_EQ(ids, Ids(alerts));
  EXPECT_EQ(most.load(), 1);  // one delivery thread, requests in order
}

TEST(Webhook, WriteAtACheckpointWaitsUntilQueuedAlertsAreSettled) {
  Endpoint endpoint([](int, const httplib::Request&, httplib::Response&) {
    std::this_thread::sleep_for(milliseconds(10));
  });
  testing::TempDir dir;
  auto sink = WebhookSink::Open(Options(endpoint, dir, nullptr));
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write(Batch(MakeAlerts(4), true)).ok());
  BatchOutput at_checkpoint = Batch(MakeAlerts(2, 4), true);
  at_checkpoint.checkpoint = std::make_shared<Checkpoint>();
  ASSERT_TRUE((*sink)->Write(at_checkpoint).ok());
  EXPECT_EQ((*sink)->stats().delivered, 6u);
  ASSERT_TRUE((*sink)->Finish().ok());
  // Written after Finish() (scale-out's correlation stage outlives the pipeline): delivered too.
  ASSERT_TRUE((*sink)->Write(Batch(MakeAlerts(1, 6))).ok());
  EXPECT_EQ((*sink)->stats().delivered, 7u);
  ASSERT_TRUE((*sink)->Finish().ok());
  EXPECT_EQ(endpoint.received().size(), 7u);
}

TEST(Webhook, BadUrlAndUnwritableDeadLetterFailAtOpen) {
  testing::TempDir dir;
  WebhookSinkOptions o;
  o.dead_letter_path = (dir.path() / "dead.jsonl").string();
  o.url = "ftp://example.com/x";
  EXPECT_FALSE(WebhookSink::Open(o).ok());
  o.url = "http://127.0.0.1:9/x";
  o.dead_letter_path = (dir.path() / "no" / "dead.jsonl").string();
  auto bad = WebhookSink::Open(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("dead-letter"), std::string::npos);
}

TEST(Webhook, UnreachableEndpointDeadLettersWithTheConnectionError) {
  testing::TempDir dir;
  WebhookSinkOptions o;
  // Port 9 (discard) on loopback: nothing listens in a test environment; connections are refused.
  o.url = "http://127.0.0.1:9/hook";
  o.max_attempts = 2;
  o.initial_backoff = milliseconds(5);
  o.dead_letter_path = (dir.path() / "dead.jsonl").string();
  auto sink = WebhookSink::Open(o);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write(Batch(MakeAlerts(1))).ok());
  ASSERT_TRUE((*sink)->Finish().ok());
  const auto lines = Lines(dir.path() / "dead.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  const json d = json::parse(lines[0]);
  EXPECT_EQ(d["status"], 0);
  EXPECT_EQ(d["attempts"], 2);
  EXPECT_FALSE(d["error"].get<std::string>().empty());
}

}  // namespace
}  // namespace tuttle::tools
