#pragma once
// What the crash tests and the scale-out tests share: rules of every window kind, a
// deterministic Kubernetes audit stream, running the binary (and killing it mid-stream), and
// comparing stored alerts.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace tuttle::crash {

// Eager and at-close event_count, value_count, temporal_ordered, suppression and a chain.
extern const char* const kCrashRules;
// Writes kCrashRules into `dir`; returns the file's path.
std::string WriteRules(const testing::TempDir& dir);

// Kubernetes audit events from 40 users over about `n` x 20 ms of event time, delivered up to 2 s
// out of order. Deterministic.
std::vector<std::string> Stream(int n);

struct Outcome {
  int exit_code = -1;  // 128 + signal when killed
  size_t lines = 0;    // alert lines printed before the end or the kill
};

// Runs `argv`; with `kill_after_lines` > 0, kills it with SIGKILL once it has printed that many
// alert lines (so the kill lands mid-stream, whatever the machine's speed).
Outcome RunAndMaybeKill(const std::vector<std::string>& argv, size_t kill_after_lines,
                        const std::string& stderr_path = "/dev/null");

// id -> OCSF JSON of every stored alert; fails the test on an id stored twice.
std::map<std::string, std::string> StoredAlerts(const std::string& path);

// Fails the test on each alert lost, extra or different.
void ExpectSameAlerts(const std::map<std::string, std::string>& want,
                      const std::map<std::string, std::string>& got);

// Kills a run `kills` times at random alert counts, restarting it each time, then lets it
// finish; returns how many runs were really killed mid-stream.
// `argv(i)` is the command of run i; each run's stderr is appended to `log`.
int RunWithCrashes(const std::function<std::vector<std::string>(int)>& argv, size_t total_lines,
                   int kills, uint32_t seed, const std::string& log);

}  // namespace tuttle::crash
