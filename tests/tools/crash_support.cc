// Shared by the crash tests and the scale-out tests (crash_support.h).

#include "crash_support.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <stdexcept>

#include "tuttle/storage/store.h"

namespace tuttle::crash {

using testing::TempDir;

const char* const kCrashRules = R"(title: Secrets listed
id: 7c1e0000-0000-4000-8000-000000000001
name: crash_list_secrets
status: test
logsource: {product: kubernetes, service: audit}
detection:
    sel: {verb: list, objectRef.resource: secrets}
    condition: sel
level: low
---
title: Pod created
id: 7c1e0000-0000-4000-8000-000000000002
name: crash_create_pod
status: test
logsource: {product: kubernetes, service: audit}
detection:
    sel: {verb: create, objectRef.resource: pods}
    condition: sel
level: low
---
title: Something deleted
id: 7c1e0000-0000-4000-8000-000000000003
name: crash_delete
status: test
logsource: {product: kubernetes, service: audit}
detection:
    sel: {verb: delete}
    condition: sel
level: low
---
title: Secrets listed three times
id: 7c1e0000-0000-4000-8000-000000000011
name: crash_secret_burst
status: test
correlation:
    type: event_count
    rules: [crash_list_secrets]
    group-by: [user.username]
    timespan: 20s
    condition: {gte: 3}
level: medium
---
title: Pods with many names
id: 7c1e0000-0000-4000-8000-000000000012
status: test
correlation:
    type: value_count
    rules: [crash_create_pod]
    group-by: [user.username]
    timespan: 30s
    condition: {field: objectRef.name, gte: 3}
level: medium
---
title: Secrets then pod
id: 7c1e0000-0000-4000-8000-000000000013
status: test
correlation:
    type: temporal_ordered
    rules: [crash_list_secrets, crash_create_pod]
    group-by: [user.username]
    timespan: 15s
level: high
---
title: A lone delete
id: 7c1e0000-0000-4000-8000-000000000014
status: test
correlation:
    type: event_count
    rules: [crash_delete]
    group-by: [user.username]
    timespan: 10s
    condition: {lt: 2}
tuttle:
    suppress: 20s
level: low
---
title: Repeated secret bursts
id: 7c1e0000-0000-4000-8000-000000000015
status: test
correlation:
    type: event_count
    rules: [crash_secret_burst]
    group-by: [user.username]
    timespan: 2m
    condition: {gte: 2}
level: high
)";

// Kubernetes audit events from 40 users over about `n` x 20 ms of event time, delivered up to 2 s
// out of order. Deterministic.
std::vector<std::string> Stream(int n) {
  std::mt19937 rng(20261129);
  std::vector<std::pair<int64_t, std::string>> records;
  const char* verbs[] = {"list", "list", "create", "delete", "get", "get", "watch"};
  const char* resources[] = {"secrets", "pods", "configmaps"};
  for (int i = 0; i < n; ++i) {
    const int64_t ms = int64_t{i} * 20;
    const std::string verb = verbs[rng() % 7];
    const std::string resource = verb == "delete"   ? resources[rng() % 3]
                                 : verb == "create" ? "pods"
                                                    : resources[rng() % 2];
    const int64_t delivered = ms + static_cast<int64_t>(rng() % 2000);
    const int64_t sec = ms / 1000;
    records.emplace_back(
        delivered,
        fmt::format(R"({{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata",)"
                    R"("auditID":"a-{}","stage":"ResponseComplete","verb":"{}",)"
                    R"("user":{{"username":"user-{}"}},"objectRef":{{"resource":"{}",)"
                    R"("namespace":"ns-{}","name":"obj-{}"}},"responseStatus":{{"code":200}},)"
                    R"("stageTimestamp":"2026-03-14T{:02}:{:02}:{:02}.{:03}000Z"}})",
                    i, verb, rng() % 40, resource, rng() % 3, rng() % 6, 9 + sec / 3600,
                    (sec / 60) % 60, sec % 60, ms % 1000));
  }
  std::stable_sort(records.begin(), records.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& r : records) out.push_back(std::move(r.second));
  return out;
}

// Runs `argv`; with `kill_after_lines` > 0, kills it with SIGKILL once it has printed that many
// alert lines (so the kill lands mid-stream, whatever the machine's speed).
Outcome RunAndMaybeKill(const std::vector<std::string>& argv, size_t kill_after_lines,
                        const std::string& stderr_path) {
  int out_pipe[2];
  if (pipe(out_pipe) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(err, 2);
    close(out_pipe[0]);
    close(out_pipe[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  Outcome o;
  char buf[65536];
  bool killed = false;
  for (;;) {
    const ssize_t got = read(out_pipe[0], buf, sizeof(buf));
    if (got <= 0) break;
    for (ssize_t i = 0; i < got; ++i) o.lines += buf[i] == '\n' ? 1 : 0;
    if (kill_after_lines > 0 && !killed && o.lines >= kill_after_lines) {
      kill(pid, SIGKILL);
      killed = true;
    }
  }
  close(out_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return o;
}

// id -> OCSF JSON of every stored alert; fails the test on an id stored twice.
std::map<std::string, std::string> StoredAlerts(const std::string& path) {
  std::map<std::string, std::string> out;
  storage::StoreOptions options;
  options.create_if_missing = false;
  options.alert_retention = 0;  // the stream's event times are in March 2026
  auto store = storage::Store::Open(path, options);
  EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message());
  if (!store.ok()) return out;
  auto alerts = (*store)->Alerts();
  EXPECT_TRUE(alerts.ok());
  if (!alerts.ok()) return out;
  for (const auto& a : *alerts) {
    EXPECT_TRUE(out.emplace(a.id, a.json).second) << "alert stored twice: " << a.id;
  }
  return out;
}

void ExpectSameAlerts(const std::map<std::string, std::string>& want,
                      const std::map<std::string, std::string>& got) {
  size_t missing = 0, extra = 0, different = 0;
  for (const auto& [id, json] : want) {
    auto it = got.find(id);
    if (it == got.end()) {
      if (++missing <= 3) ADD_FAILURE() << "alert lost: " << json;
    } else if (it->second != json) {
      if (++different <= 3) ADD_FAILURE() << "alert differs:\n" << json << "\n" << it->second;
    }
  }
  for (const auto& [id, json] : got) {
    if (want.find(id) == want.end() && ++extra <= 3) ADD_FAILURE() << "extra alert: " << json;
  }
  EXPECT_EQ(missing + extra + different, 0u) << missing << " lost, " << extra << " extra, "
                                             << different << " different, of " << want.size();
}

// Kills a run `kills` times at random alert counts, restarting it each time, then lets it
// finish; returns how many runs were really killed mid-stream.
// `argv(i)` is the command of run i; each run's stderr is appended to `log`.
int RunWithCrashes(const std::function<std::vector<std::string>(int)>& argv, size_t total_lines,
                   int kills, uint32_t seed, const std::string& log) {
  std::mt19937 rng(seed);
  int killed = 0;
  for (int i = 0; i <= kills + 5; ++i) {
    // Each restart prints the alerts it has not stored yet, so later kills come sooner.
    const size_t at = i < kills ? 1 + rng() % std::max<size_t>(1, total_lines / (kills + 1)) : 0;
    const Outcome o = RunAndMaybeKill(argv(i), at, log);
    if (o.exit_code == 128 + SIGKILL) {
      ++killed;
      continue;
    }
    EXPECT_EQ(o.exit_code, 0) << "run " << i << ": " << testing::ReadFile(log);
    if (i >= kills) return killed;
  }
  ADD_FAILURE() << "the run never finished";
  return killed;
}

std::string WriteRules(const TempDir& dir) {
  const std::string path = (dir.path() / "crash_rules.yml").string();
  std::ofstream(path) << kCrashRules;
  return path;
}

}  // namespace tuttle::crash
