#include "engine_setup.h"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "embedded.h"
#include "tuttle/engine/group_entities.h"
#include "tuttle/rules/sigma_loader.h"

namespace tuttle::tools {
namespace {

std::atomic<RecordSource*> g_stop_target{nullptr};

void OnSignal(int) {
  RecordSource* s = g_stop_target.load();
  if (s != nullptr) s->Stop();  // sets an atomic flag: async-signal-safe
}

std::string Thousands(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

// "; dead letters by reason: malformed JSON 2, no event time 1", or nothing.
std::string DeadLetterReasons(const PipelineStats& s) {
  if (s.dead_letter_reasons.empty()) return {};
  std::string out = "; dead letters by reason:";
  bool first = true;
  for (const auto& [reason, n] : s.dead_letter_reasons) {
    out += first ? " " : ", ";
    out += reason;
    out += ' ';
    out += Thousands(n);
    first = false;
  }
  return out;
}

}  // namespace

const std::map<std::string, std::vector<std::string>>& PackPlaceholders() {
  static const std::map<std::string, std::vector<std::string>> defaults = {
      {"production_namespaces",
       {"prod", "production", "prod-*", "*-prod", "production-*", "*-production"}},
  };
  return defaults;
}

Status AddPipelines(const std::vector<std::string>& files, rules::CompileOptions& options) {
  // The pack's defaults first: a pipeline's vars of the same name replace them.
  for (const auto& [name, values] : PackPlaceholders()) options.placeholders.emplace(name, values);
  for (const std::string& file : files) {
    auto read = rules::ReadRuleSources({file});
    if (!read.ok()) return Error("--pipeline: " + read.error().message());
    if (read->size() != 1) {
      return Error(fmt::format("--pipeline '{}': expected one pipeline file, found {} files",
                               file, read->size()));
    }
    Diagnostics diagnostics;
    auto pipeline = rules::LoadPipeline(read->front(), diagnostics);
    for (const Diagnostic& d : diagnostics) fmt::print(stderr, "{}\n", d.ToString());
    if (!pipeline.ok()) return pipeline.error();
    options.pipelines.push_back(std::move(*pipeline));
  }
  rules::MergePipelineVars(options.pipelines, options.placeholders);
  return Ok();
}

Result<std::shared_ptr<const contracts::ContractSet>> LoadContracts(
    const std::vector<std::string>& files) {
  if (files.empty()) return std::shared_ptr<const contracts::ContractSet>();
  Diagnostics diagnostics;
  auto set = contracts::ContractSet::LoadFiles(files, diagnostics);
  if (set.ok()) {
    // A format no adapter has selects nothing: surely a typo.
    const auto formats = ingest::JsonRecordParser::FormatNames();
    for (const contracts::Contract& c : (*set)->contracts()) {
      const std::string& f = c.select.format;
      if (f.empty() || f.find_first_of("*?") != std::string::npos) continue;
      if (std::find(formats.begin(), formats.end(), f) != formats.end()) continue;
      Diagnostic d;
      d.file = c.file;  // file:line:col already
      d.message = fmt::format("contract '{}': unknown format '{}'", c.name, f);
      d.hint = fmt::format("one of {}", fmt::join(formats, ", "));
      fmt::print(stderr, "{}: error: {} (hint: {})\n", d.file, d.message, d.hint);
      return Error("1 error in the contracts");
    }
  }
  for (const Diagnostic& d : diagnostics) fmt::print(stderr, "{}\n", d.ToString());
  if (!set.ok()) return Error("--contracts: " + set.error().message());
  return *set;
}

Result<std::map<std::string, uint16_t>> ParseFormatPins(const std::vector<std::string>& values) {
  std::map<std::string, uint16_t> pins;
  for (const std::string& v : values) {
    const size_t eq = v.rfind('=');
    const std::string source = eq == std::string::npos ? std::string() : v.substr(0, eq);
    const std::string format = eq == std::string::npos ? v : v.substr(eq + 1);
    auto id = format == "auto" ? std::optional<uint16_t>(0)
                               : ingest::JsonRecordParser::FormatId(format);
    if (!id) {
      return Error(fmt::format("--format '{}': unknown format '{}' (known: {}, or auto)", v,
                               format, fmt::join(ingest::JsonRecordParser::FormatNames(), ", ")));
    }
    pins[source] = *id;
  }
  return pins;
}

Result<TenantPins> ParseTenantPins(const std::vector<std::string>& values) {
  TenantPins pins;
  for (const std::string& v : values) {
    const size_t eq = v.rfind('=');
    const std::string source = eq == std::string::npos ? std::string() : v.substr(0, eq);
    const std::string name = eq == std::string::npos ? v : v.substr(eq + 1);
    if (name.empty()) return Error(fmt::format("--tenant '{}': empty tenant name", v));
    auto known = std::find(pins.names.begin(), pins.names.end(), name);
    if (known == pins.names.end()) {
      if (pins.names.size() == UINT16_MAX) return Error("--tenant: too many tenants");
      pins.names.push_back(name);
      known = pins.names.end() - 1;
    }
    pins.ids[source] = static_cast<uint16_t>(known - pins.names.begin() + 1);
  }
  return pins;
}

Result<Engine> LoadEngine(const std::vector<std::string>& paths,
                          const std::vector<std::string>& pipeline_files, bool strict,
                          ingest::JsonRecordParserOptions parser_options,
                          Diagnostics* diagnostics, bool quiet) {
  Engine engine;
  rules::CompileOptions options;
  options.strict = strict;
  if (Status st = AddPipelines(pipeline_files, options); !st.ok()) return st.error();
  std::vector<rules::RuleSource> sources;
  if (paths.empty()) {
    for (const EmbeddedFile& f : DefaultRules()) {
      sources.push_back(rules::RuleSource{"<embedded>/rules/pack/" + std::string(f.path),
                                          std::string(f.data)});
    }
    engine.rules_origin = "embedded pack";
  } else {
    auto read = rules::ReadRuleSources(paths);
    if (!read.ok()) return read.error();
    sources = std::move(*read);
    for (const auto& p : paths) {
      if (!engine.rules_origin.empty()) engine.rules_origin += ", ";
      engine.rules_origin += p;
    }
  }
  auto catalog = std::make_shared<FieldCatalog>();
  ingest::RegisterAdapterFields(*catalog);
  rules::CompileReport report;
  auto compiled = rules::CompileRules(sources, catalog, options, report);
  if (diagnostics != nullptr) {
    diagnostics->insert(diagnostics->end(), report.diagnostics.begin(), report.diagnostics.end());
  }
  if (!compiled.ok()) return compiled.error();  // the message lists the diagnostics
  if (!quiet) {
    for (const Diagnostic& d : report.diagnostics) fmt::print(stderr, "{}\n", d.ToString());
  }
  engine.rules = std::move(*compiled);
  AssignGroupEntityRoles(engine.rules, ingest::EntityRoleOfPath);
  engine.parser =
      std::make_unique<ingest::JsonRecordParser>(engine.rules.catalog, parser_options);
  if (quiet) return engine;
  fmt::print(stderr, "tuttle: rules: {} detection, {} correlation ({}){}\n",
             engine.rules.detections.size(), engine.rules.correlations.size(),
             engine.rules_origin,
             report.rules_skipped > 0 ? fmt::format(", {} skipped", report.rules_skipped) : "");
  return engine;
}

std::string Summary(const PipelineStats& s, int threads) {
  const double rate = s.seconds > 0 ? static_cast<double>(s.events) / s.seconds : 0;
  return fmt::format(
      "{} records ({:.1f} KB), {} events, {} matched, {} alerts ({} correlated), {} dead "
      "letters ({} unreadable, {} late); {} events/s over {:.3f} s with {} thread{}",
      Thousands(s.records), static_cast<double>(s.bytes) / 1024.0, Thousands(s.events),
      Thousands(s.matched_events), Thousands(s.alerts), Thousands(s.correlation_alerts),
      Thousands(s.dead_letters), Thousands(s.parse_errors), Thousands(s.late_records),
      Thousands(static_cast<uint64_t>(rate)), s.seconds, threads, threads == 1 ? "" : "s") +
         DeadLetterReasons(s) +
         (s.evicted_groups > 0
              ? fmt::format("\ntuttle: warning: {} correlation groups were evicted at the cap "
                            "on open groups per rule: their windows restarted empty (raise "
                            "--max-groups, or group by fewer values)",
                            Thousands(s.evicted_groups))
              : std::string());
}

void StopOnSignal(RecordSource* source) {
  g_stop_target.store(source);
  if (source != nullptr) {
    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);
  } else {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  }
}

}  // namespace tuttle::tools
