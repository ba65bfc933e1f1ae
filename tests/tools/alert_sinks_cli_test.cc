// The alert sinks and formats through the real `tuttle` binary: `replay --webhook` against an
// HTTP server in this process, `--alert-format ecs|falco`, `--alerts-file` with rotation, and the
// progress line on a terminal (a pseudo-terminal) but not in a pipe. docs/alerts.md.

#include <gtest/gtest.h>
#include <httplib.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "support/json_lines.h"
#include "support/test_support.h"
#include "tuttle/engine/time.h"

namespace tuttle {
namespace {

using nlohmann::json;
using testing::JsonLines;
using testing::ProcessResult;
using testing::RunProcess;
using testing::SamplePath;
using testing::TuttleBinary;

// Accepts every POST to /hook, keeping the bodies; the first `fail` get 503.
class Receiver {
 public:
  explicit Receiver(int fail = 0) : fail_(fail) {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      if (requests_++ < fail_) {
        res.status = 503;
        return;
      }
      bodies_.push_back(req.body);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<std::string> bodies() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  int requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  int fail_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  int requests_ = 0;
  std::vector<std::string> bodies_;
};

std::multiset<std::string> EcsIds(const std::vector<json>& alerts) {
  std::multiset<std::string> out;
  for (const auto& a : alerts) out.insert(a["event"]["id"].get<std::string>());
  return out;
}

TEST(TuttleAlertSinks, ReplayWebhookDeliversTheSameAlertsAsJsonStdoutInEcs) {
  Receiver receiver(/*fail=*/2);
  testing::TempDir dir;
  const std::string dead = (dir.path() / "dead.jsonl").string();
  const ProcessResult r =
      RunProcess({TuttleBinary(), "replay", "--webhook", receiver.url(), "--alert-format", "ecs",
                  "--webhook-backoff", "10ms", "--webhook-dead-letter", dead, SamplePath()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto printed = JsonLines(r.out);
  ASSERT_EQ(printed.size(), 52u);
  for (const auto& a : printed) {
    EXPECT_EQ(a["event"]["kind"], "alert");
    EXPECT_EQ(a["rule"]["ruleset"], "tuttle");
  }
  std::vector<json> posted;
  for (const auto& b : receiver.bodies()) posted.push_back(json::parse(b));
  EXPECT_EQ(posted.size(), printed.size());
  EXPECT_EQ(EcsIds(posted), EcsIds(printed));
  EXPECT_EQ(receiver.requests(), 54);
  EXPECT_NE(r.err.find("52 alerts delivered, 54 requests (2 retries), 0 alerts dead-lettered"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::filesystem::file_size(dead), 0u);
}

TEST(TuttleAlertSinks, RunOnTheEmbeddedDemoFeedsTheWebhookAndTheFileInTheChosenFormat) {
  Receiver receiver;
  testing::TempDir dir;
  const std::string file = (dir.path() / "alerts.jsonl").string();
  const ProcessResult r = RunProcess(
      {TuttleBinary(), "run", "-q", "--store", (dir.path() / "store").string(), "--webhook",
       receiver.url(), "--alerts-file", file, "--alert-format", "falco", "--webhook-batch", "10"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::multiset<std::string> posted, written;
  for (const auto& b : receiver.bodies()) {
    const json batch = json::parse(b);
    ASSERT_TRUE(batch.is_array());
    for (const auto& a : batch) posted.insert(a["output_fields"]["tuttle.alert_id"]);
  }
  for (const auto& a : JsonLines(testing::ReadFile(file))) {
    EXPECT_TRUE(a.contains("priority"));
    written.insert(a["output_fields"]["tuttle.alert_id"]);
  }
  EXPECT_EQ(posted.size(), 52u);
  EXPECT_EQ(posted, written);
  // The default dead-letter file sits in the store folder, empty.
  EXPECT_EQ(std::filesystem::file_size(dir.path() / "store" / "webhook-dead-letters.jsonl"), 0u);
  EXPECT_NE(r.out.find("-- webhook " + receiver.url() + ": 52 alerts delivered"),
            std::string::npos)
      << r.out;
}

TEST(TuttleAlertSinks, FalcoFormatLinesParseAsFalcoJsonOutput) {
  const ProcessResult r =
      RunProcess({TuttleBinary(), "replay", "--alert-format", "falco", SamplePath()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto alerts = JsonLines(r.out);
  ASSERT_EQ(alerts.size(), 52u);
  const std::set<std::string> priorities = {"Emergency", "Alert",  "Critical",      "Error",
                                            "Warning",   "Notice", "Informational", "Debug"};
  std::set<std::string> sources;
  for (const auto& a : alerts) {
    ASSERT_TRUE(a["time"].is_string());
    EXPECT_TRUE(ParseTimestamp(a["time"].get<std::string>()).has_value()) << a["time"];
    EXPECT_TRUE(a["rule"].is_string());
    EXPECT_TRUE(priorities.contains(a["priority"].get<std::string>())) << a["priority"];
    EXPECT_TRUE(a["source"].is_string());
    sources.insert(a["source"].get<std::string>());
    // Falco's output line starts with the event time and the priority.
    const std::string output = a["output"];
    EXPECT_EQ(output.substr(0, 19), a["time"].get<std::string>().substr(0, 19)) << output;
    EXPECT_NE(output.find(": " + a["priority"].get<std::string>() + " "), std::string::npos);
    ASSERT_TRUE(a["output_fields"].is_object());
    for (const auto& [k, v] : a["output_fields"].items()) EXPECT_FALSE(v.is_object()) << k;
    EXPECT_TRUE(a["output_fields"]["tuttle.alert_id"].is_string());
    ASSERT_TRUE(a["tags"].is_array());
    EXPECT_TRUE(a["hostname"].is_string());
  }
  // The story spans Kubernetes audit and CloudTrail.
  EXPECT_TRUE(sources.contains("k8s_audit"));
  EXPECT_TRUE(sources.contains("aws_cloudtrail"));
}

TEST(TuttleAlertSinks, AlertsFileRotatesAndTheFilesHoldEveryAlertOnce) {
  testing::TempDir dir;
  const std::string file = (dir.path() / "alerts.jsonl").string();
  const ProcessResult r =
      RunProcess({TuttleBinary(), "replay", "--alerts-file", file, "--alerts-file-max-size", "16KB",
                  "--alerts-file-keep", "100", SamplePath()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::multiset<std::string> printed, written;
  for (const auto& a : JsonLines(r.out)) printed.insert(a["finding_info"]["uid"]);
  int files = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
    ++files;
    EXPECT_LE(std::filesystem::file_size(f.path()), 16'000u) << f.path();
    for (const auto& a : JsonLines(testing::ReadFile(f.path()))) {
      written.insert(a["finding_info"]["uid"]);
    }
  }
  EXPECT_GT(files, 2);
  EXPECT_EQ(written, printed);
  EXPECT_NE(r.err.find("-- 52 alerts written to " + file), std::string::npos) << r.err;
}

TEST(TuttleAlertSinks, BadOutputOptionsFailBeforeReading) {
  testing::TempDir dir;
  const ProcessResult format =
      RunProcess({TuttleBinary(), "replay", "--alert-format", "cef", SamplePath()});
  EXPECT_EQ(format.exit_code, 1);
  EXPECT_NE(format.err.find("--alert-format 'cef'"), std::string::npos) << format.err;
  const ProcessResult file = RunProcess({TuttleBinary(), "replay", "--alerts-file",
                                         (dir.path() / "no/a.jsonl").string(), SamplePath()});
  EXPECT_EQ(file.exit_code, 1);
  EXPECT_NE(file.err.find("cannot open it for writing"), std::string::npos) << file.err;
  EXPECT_TRUE(file.out.empty());
}

// Runs `argv` with a pseudo-terminal as its stdin, stdout and stderr; returns what it wrote.
std::string RunOnTerminal(const std::vector<std::string>& argv) {
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  EXPECT_GT(pid, 0);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(master, buf, sizeof(buf));
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EIO once the child has exited and closed the terminal
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  close(master);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  return out;
}

TEST(TuttleAlertSinks, ReplayShowsProgressOnATerminalAndNothingWhenPiped) {
  const std::string tty = RunOnTerminal({TuttleBinary(), "replay", SamplePath()});
  EXPECT_NE(tty.find("rec/s"), std::string::npos) << tty;
  EXPECT_NE(tty.find("% of "), std::string::npos) << tty;  // a file: its size is known
  EXPECT_NE(tty.find("\r\x1b[K"), std::string::npos);      // the line is cleared at the end

  const ProcessResult piped = RunProcess({TuttleBinary(), "replay", SamplePath()});
  ASSERT_EQ(piped.exit_code, 0);
  EXPECT_EQ(piped.err.find("rec/s"), std::string::npos) << piped.err;
  EXPECT_EQ(piped.err.find('\r'), std::string::npos);

  // Forced either way.
  const ProcessResult forced = RunProcess({TuttleBinary(), "replay", "--progress", SamplePath()});
  EXPECT_NE(forced.err.find("rec/s"), std::string::npos) << forced.err;
  EXPECT_EQ(forced.out.find("rec/s"), std::string::npos);
  const std::string off = RunOnTerminal({TuttleBinary(), "replay", "--no-progress", SamplePath()});
  EXPECT_EQ(off.find("rec/s"), std::string::npos);
}

}  // namespace
}  // namespace tuttle
