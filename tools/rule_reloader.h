#pragma once
// RuleReloader: hot reload of `tuttle run`'s rules (docs/reload.md).
//
// A reload reads the rule files and processing pipelines again (the same `-r` and `-p` the run
// started with), compiles them strictly, and only when nothing has an error hands the new rule
// set to the running pipeline (RuleSwitch): the old set keeps running until the new one is in
// force, and a rule set with errors is refused with its diagnostics, leaving the old one in
// place. Correlation rules whose definition did not change keep their windows (Pipeline,
// RuleSwitch, CorrelationFingerprint).
//
// Three triggers, all serialised (one reload at a time):
//   - SIGHUP (InstallSighupHandler; the handler only sets a flag);
//   - a change to the rule files or pipelines, polled every `poll_interval` (size, mtime and
//     names of every file under the paths): edits, new files, deletions, and the symlink swap a
//     Kubernetes ConfigMap update makes;
//   - Reload() itself, which the HTTP API's POST /api/v1/rules/reload calls.
//
// Thread-safety: every public method may be called from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine_setup.h"
#include "tuttle/engine/diagnostic.h"
#include "tuttle/engine/metrics.h"
#include "tuttle/engine/pipeline.h"

namespace tuttle::tools {

struct RuleReloaderOptions {
  // What to load: rule files or folders (empty: the embedded pack, which never changes, so it is
  // not watched), processing pipeline files, and the parser's options (formats, tenants,
  // contracts), as the run loaded them.
  std::vector<std::string> rule_paths;
  std::vector<std::string> pipeline_files;
  ingest::JsonRecordParserOptions parser_options;
  // Poll the files for changes. Default: true.
  bool watch = true;
  // How often the files are polled and the SIGHUP flag is checked. Default: 1 s.
  std::chrono::milliseconds poll_interval{1000};
  // How long a reload waits for the pipeline to take the new rules (it does so before its next
  // batch; an idle Kafka consumer still turns over every poll). Default: 10 s.
  std::chrono::milliseconds apply_timeout{10'000};
  // `tuttle_rules_*` metrics (docs/metrics.md). Default: none.
  MetricsRegistry* metrics = nullptr;
};

// What a reload did, for the log line, the API's answer and the tests.
struct ReloadResult {
  enum class Status { kApplied, kRefused, kPending };
  Status status = Status::kRefused;
  std::string trigger;         // "SIGHUP", "file change", "api"
  uint64_t generation = 0;     // the rule generation now in force (or posted, when pending)
  size_t detection_rules = 0;  // in the new rule set
  size_t correlation_rules = 0;
  Diagnostics diagnostics;     // errors (refused) and warnings
  std::string error;           // refused: why, in one line
  ReloadReport report;         // applied: what happened to the windows
  double seconds = 0;          // from reading the files to the pipeline taking the rules

  // {"status": "applied", "generation": 2, "rules": {...}, "correlation_state": {...},
  //  "diagnostics": [{"file", "line", "column", "severity", "message", "hint"}], ...}
  std::string ToJson() const;
  // One line for stderr: "tuttle: rules reloaded (SIGHUP): generation 2, 101 detection, ..."
  std::string ToText() const;
};
std::string_view ReloadStatusName(ReloadResult::Status status);  // "applied", ...

class RuleReloader {
 public:
  // `rules`: the rule set the pipeline started with (generation 0), shared for rules().
  // REQUIRES: `rule_switch` outlives the reloader, and is the pipeline's
  // (PipelineOptions::rule_switch).
  RuleReloader(RuleReloaderOptions options, RuleSwitch& rule_switch,
               std::shared_ptr<const RuleSet> rules);
  ~RuleReloader();
  RuleReloader(const RuleReloader&) = delete;
  RuleReloader& operator=(const RuleReloader&) = delete;

  // Starts the thread that watches the files and the SIGHUP flag. Call once.
  void Start();
  // Stops and joins it. Idempotent.
  void Stop();

  // Loads, validates and applies the rules now; waits for the pipeline to take them.
  ReloadResult Reload(const std::string& trigger);

  // The rule set in force (or posted last).
  std::shared_ptr<const RuleSet> rules() const;
  uint64_t generation() const;

 private:
  // Names, sizes and modification times of every file under the watched paths.
  std::string Snapshot() const;
  void Loop();

  RuleReloaderOptions options_;
  RuleSwitch& switch_;
  mutable std::mutex mu_;      // guards rules_, generation_, snapshot_
  std::mutex reload_mu_;       // one reload at a time
  std::shared_ptr<const RuleSet> rules_;
  uint64_t generation_ = 0;
  std::string snapshot_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  Counter* applied_ = nullptr;
  Counter* refused_ = nullptr;
  Gauge* generation_gauge_ = nullptr;
};

// SIGHUP sets a flag the reloaders' threads read (and clear). Installed by `tuttle run`.
void InstallSighupHandler();
// Whether SIGHUP came since the last call; clears the flag.
bool TakeSighup();

}  // namespace tuttle::tools
