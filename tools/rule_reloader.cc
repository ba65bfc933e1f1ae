#include "rule_reloader.h"

#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tuttle::tools {
namespace {

volatile std::sig_atomic_t g_sighup = 0;

void OnSighup(int) { g_sighup = 1; }

void AddFile(const std::filesystem::path& p, std::vector<std::string>& out) {
  struct stat st {};
  // stat() follows symlinks: a ConfigMap's `..data` swap changes what the names resolve to.
  if (::stat(p.c_str(), &st) != 0) {
    out.push_back(p.string() + " missing");
    return;
  }
  out.push_back(fmt::format("{} {} {}.{}", p.string(), st.st_size, st.st_mtim.tv_sec,
                            st.st_mtim.tv_nsec));
}

nlohmann::json DiagnosticJson(const Diagnostic& d) {
  nlohmann::json j = {{"file", d.file},
                      {"line", d.line},
                      {"column", d.column},
                      {"severity", d.severity == Diagnostic::Severity::kError ? "error" : "warning"},
                      {"message", d.message},
                      {"text", d.ToString()}};
  if (!d.hint.empty()) j["hint"] = d.hint;
  return j;
}

}  // namespace

void InstallSighupHandler() { std::signal(SIGHUP, OnSighup); }

bool TakeSighup() {
  if (g_sighup == 0) return false;
  g_sighup = 0;
  return true;
}

std::string_view ReloadStatusName(ReloadResult::Status status) {
  switch (status) {
    case ReloadResult::Status::kApplied: return "applied";
    case ReloadResult::Status::kRefused: return "refused";
    case ReloadResult::Status::kPending: return "pending";
  }
  return "?";
}

std::string ReloadResult::ToJson() const {
  nlohmann::json j = {{"status", ReloadStatusName(status)},
                      {"trigger", trigger},
                      {"generation", generation},
                      {"seconds", seconds}};
  if (status == Status::kRefused) {
    j["error"] = error;
  } else {
    j["rules"] = {{"detection", detection_rules}, {"correlation", correlation_rules}};
  }
  if (status == Status::kApplied) {
    j["correlation_state"] = {
        {"kept_rules", report.kept_rules},       {"changed_rules", report.changed_rules},
        {"removed_rules", report.removed_rules}, {"added_rules", report.added_rules},
        {"kept_groups", report.kept_groups},     {"dropped_groups", report.dropped_groups},
        {"kept_signals", report.kept_signals},   {"dropped_signals", report.dropped_signals}};
  }
  nlohmann::json diags = nlohmann::json::array();
  for (const Diagnostic& d : diagnostics) diags.push_back(DiagnosticJson(d));
  j["diagnostics"] = std::move(diags);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ReloadResult::ToText() const {
  switch (status) {
    case Status::kApplied:
      return fmt::format(
          "tuttle: rules reloaded ({}): generation {}, {} detection, {} correlation; windows "
          "kept for {} correlation rules ({} groups), restarted for {} changed, dropped for {} "
          "removed, {} added; {:.2f} s",
          trigger, generation, detection_rules, correlation_rules, report.kept_rules.size(),
          report.kept_groups, report.changed_rules.size(), report.removed_rules.size(),
          report.added_rules.size(), seconds);
    case Status::kPending:
      return fmt::format(
          "tuttle: rules reloaded ({}): generation {} posted; the pipeline takes it before its "
          "next batch",
          trigger, generation);
    case Status::kRefused:
      break;
  }
  std::string out = fmt::format("tuttle: rules reload ({}) refused, the running rules stay: {}",
                                trigger, error);
  for (const Diagnostic& d : diagnostics) {
    if (d.severity == Diagnostic::Severity::kError) out += "\n" + d.ToString();
  }
  return out;
}

RuleReloader::RuleReloader(RuleReloaderOptions options, RuleSwitch& rule_switch,
                           std::shared_ptr<const RuleSet> rules)
    : options_(std::move(options)), switch_(rule_switch), rules_(std::move(rules)) {
  snapshot_ = Snapshot();
  if (options_.metrics != nullptr) {
    auto& reloads = options_.metrics->AddCounter(
        "tuttle_rules_reloads_total",
        "Rule reloads by result: applied, or refused because the new rules had errors",
        {"result"});
    applied_ = &reloads.With({"applied"});
    refused_ = &reloads.With({"refused"});
    generation_gauge_ = &options_.metrics->AddGauge(
                            "tuttle_rules_generation",
                            "The rule generation in force: 0 at start, 1 more per applied reload")
                            .With();
  }
}

RuleReloader::~RuleReloader() { Stop(); }

void RuleReloader::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void RuleReloader::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const RuleSet> RuleReloader::rules() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rules_;
}

uint64_t RuleReloader::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

std::string RuleReloader::Snapshot() const {
  std::vector<std::string> entries;
  auto add_path = [&](const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      for (auto it = std::filesystem::recursive_directory_iterator(
               path, std::filesystem::directory_options::follow_directory_symlink, ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.starts_with(".")) {
          // Hidden entries (editors' swap files, a ConfigMap's `..2024_...` folders) are not
          // rules; the visible names resolve through them.
          if (it->is_directory(ec)) it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file(ec)) AddFile(it->path(), entries);
      }
    } else {
      AddFile(path, entries);
    }
  };
  for (const std::string& p : options_.rule_paths) add_path(p);
  for (const std::string& p : options_.pipeline_files) add_path(p);
  std::sort(entries.begin(), entries.end());
  std::string out;
  for (const std::string& e : entries) out += e + "\n";
  return out;
}

ReloadResult RuleReloader::Reload(const std::string& trigger) {
  std::lock_guard<std::mutex> one_at_a_time(reload_mu_);
  const auto started = std::chrono::steady_clock::now();
  ReloadResult result;
  result.trigger = trigger;
  {
    // What the files look like now: a reload caused by them is not triggered again.
    const std::string snapshot = Snapshot();
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_ = snapshot;
    result.generation = generation_;
  }
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  // Strict: a rule with an error refuses the whole set, so a typo cannot silently drop a rule
  // that is running now.
  auto engine = LoadEngine(options_.rule_paths, options_.pipeline_files, /*strict=*/true,
                           options_.parser_options, &result.diagnostics, /*quiet=*/true);
  if (!engine.ok()) {
    result.status = ReloadResult::Status::kRefused;
    result.error = engine.error().message();
    // The compiler's message repeats every diagnostic: the first line says enough.
    if (const size_t nl = result.error.find('\n'); nl != std::string::npos) {
      result.error.resize(nl);
    }
    result.seconds = seconds();
    if (refused_ != nullptr) refused_->Add();
    return result;
  }
  result.detection_rules = engine->rules.detections.size();
  result.correlation_rules = engine->rules.correlations.size();
  RuleGeneration next;
  next.rules = std::make_shared<const RuleSet>(std::move(engine->rules));
  next.parser = std::shared_ptr<const RecordParser>(std::move(engine->parser));
  {
    std::lock_guard<std::mutex> lock(mu_);
    next.number = ++generation_;
    rules_ = next.rules;
  }
  result.generation = next.number;
  switch_.Post(next);
  // Waits in slices, so that stopping the run is not held up by a pipeline that has ended.
  std::optional<ReloadReport> report;
  const auto deadline = std::chrono::steady_clock::now() + options_.apply_timeout;
  while (!report && !stop_.load() && std::chrono::steady_clock::now() < deadline) {
    report = switch_.WaitApplied(next.number, std::chrono::milliseconds(100));
  }
  result.seconds = seconds();
  if (applied_ != nullptr) applied_->Add();
  if (generation_gauge_ != nullptr) generation_gauge_->Set(static_cast<double>(next.number));
  if (!report) {
    result.status = ReloadResult::Status::kPending;
    return result;
  }
  result.status = ReloadResult::Status::kApplied;
  result.report = std::move(*report);
  return result;
}

void RuleReloader::Loop() {
  const auto tick = std::chrono::milliseconds(100);
  auto next_poll = std::chrono::steady_clock::now() + options_.poll_interval;
  std::string pending;  // a changed snapshot seen once: reload when it holds still
  while (!stop_.load()) {
    std::this_thread::sleep_for(tick);
    std::string trigger;
    if (TakeSighup()) trigger = "SIGHUP";
    if (trigger.empty() && options_.watch && !options_.rule_paths.empty() &&
        std::chrono::steady_clock::now() >= next_poll) {
      next_poll = std::chrono::steady_clock::now() + options_.poll_interval;
      std::string now = Snapshot();
      bool changed;
      {
        std::lock_guard<std::mutex> lock(mu_);
        changed = now != snapshot_;
      }
      // An editor or `kubectl cp` may be half-way through writing: wait for two equal polls.
      if (!changed) {
        pending.clear();
      } else if (now == pending) {
        trigger = "file change";
        pending.clear();
      } else {
        pending = std::move(now);
      }
    }
    if (trigger.empty()) continue;
    const ReloadResult r = Reload(trigger);
    fmt::print(stderr, "{}\n", r.ToText());
  }
}

}  // namespace tuttle::tools
