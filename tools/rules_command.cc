#include "rules_command.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine_setup.h"
#include "rule_tests.h"
#include "tuttle/engine/attack.h"
#include "tuttle/engine/group_entities.h"
#include "tuttle/rules/log_sources.h"
#include "tuttle/ingest/json_record_parser.h"
#include "tuttle/rules/sigma_loader.h"

namespace tuttle::tools {
namespace {

struct Loaded {
  RuleSet rules;
  rules::CompileReport report;
  size_t files = 0;
};

Result<Loaded> Load(const std::vector<std::string>& paths,
                    const std::vector<std::string>& pipelines) {
  rules::CompileOptions options;
  if (Status st = AddPipelines(pipelines, options); !st.ok()) return st.error();
  auto sources = rules::ReadRuleSources(paths);
  if (!sources.ok()) return sources.error();
  Loaded out;
  out.files = sources->size();
  auto catalog = std::make_shared<FieldCatalog>();
  ingest::RegisterAdapterFields(*catalog);
  auto rs = rules::CompileRules(*sources, catalog, options, out.report);
  if (!rs.ok()) return rs.error();
  out.rules = std::move(*rs);
  AssignGroupEntityRoles(out.rules, ingest::EntityRoleOfPath);
  return out;
}

std::string LogSourceText(const LogSourceSpec& l) {
  std::string s;
  for (const auto& part : {l.product, l.service, l.category}) {
    if (part.empty()) continue;
    if (!s.empty()) s += "/";
    s += part;
  }
  return s.empty() ? "any" : s;
}

// "1.2 MiB", for sizes in a summary line.
std::string HumanBytes(size_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024);
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

}  // namespace

int RulesCheck(const RulesCheckOptions& o) {
  auto loaded = Load(o.paths, o.pipelines);
  if (!loaded.ok()) {
    fmt::print(stderr, "tuttle: error: {}\n", loaded.error().message());
    return 1;
  }
  const auto& r = loaded->report;
  for (const Diagnostic& d : r.diagnostics) fmt::print("{}\n", d.ToString());
  if (o.list) {
    for (const auto& d : loaded->rules.detections) {
      fmt::print("detection    {}  {:<40} {}  [{}]  {}:{}{}\n", d.info->id, d.info->name,
                 d.info->title, LogSourceText(d.logsource), d.info->file, d.info->line,
                 d.emits_alerts ? "" : "  (no alerts of its own)");
    }
    for (const auto& c : loaded->rules.correlations) {
      fmt::print("correlation  {}  {:<40} {}  [{} by {}]  {}:{}\n", c.info->id, c.info->name,
                 c.info->title, CorrelationTypeName(c.type), fmt::join(c.group_by, ", "),
                 c.info->file, c.info->line);
    }
  }
  // One line for rules no adapter feeds (SigmaHQ has thousands of Windows rules), not a warning
  // per rule; near misses of the built-in log sources are warned per rule by the compiler.
  std::map<std::string, size_t> unfed;  // log source -> rules
  size_t unfed_total = 0;
  for (const auto& d : loaded->rules.detections) {
    if (rules::FitsBuiltinLogSource(d.logsource)) continue;
    ++unfed_total;
    ++unfed[LogSourceText(d.logsource)];
  }
  if (unfed_total > 0) {
    std::vector<std::pair<size_t, std::string>> top;
    for (const auto& [source, n] : unfed) top.emplace_back(n, source);
    std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::string> shown;
    for (size_t i = 0; i < top.size() && i < 3; ++i) {
      shown.push_back(fmt::format("{} {}", top[i].first, top[i].second));
    }
    fmt::print(
        "-- {} of {} detection rules target log sources no built-in adapter produces ({}{}); "
        "they match nothing unless a processing pipeline (--pipeline) rewrites their log "
        "source\n",
        unfed_total, r.rules_loaded, fmt::join(shown, ", "), top.size() > 3 ? ", ..." : "");
  }
  fmt::print(
      "-- {} files: {} detection rules and {} correlations loaded{}, {} skipped ({} errors, {} "
      "warnings); {} Hyperscan patterns in {} databases of {} (largest {}); {} value checks; "
      "compiled in {:.3f} s\n",
      loaded->files, r.rules_loaded, r.correlations_loaded,
      r.filters_loaded > 0 ? fmt::format(", {} filters", r.filters_loaded) : "", r.rules_skipped,
      r.errors(), r.warnings(), r.patterns, r.databases, HumanBytes(r.database_bytes),
      HumanBytes(r.largest_database_bytes), r.value_checks, r.compile_seconds);
  return r.errors() > 0 ? 1 : 0;
}

int RulesTest(const RulesTestOptions& o) {
  auto loaded = Load(o.paths, o.pipelines);
  if (!loaded.ok()) {
    fmt::print(stderr, "tuttle: error: {}\n", loaded.error().message());
    return 1;
  }
  for (const Diagnostic& d : loaded->report.diagnostics) fmt::print("{}\n", d.ToString());
  auto files = FindRuleTestFiles(o.paths);
  if (!files.ok()) {
    fmt::print(stderr, "tuttle: error: {}\n", files.error().message());
    return 1;
  }
  ingest::JsonRecordParser parser(loaded->rules.catalog);
  Diagnostics diagnostics;
  const auto outcomes = RunRuleTests(*files, loaded->rules, parser, diagnostics);
  for (const Diagnostic& d : diagnostics) fmt::print("{}\n", d.ToString());
  size_t passed = 0;
  for (const auto& t : outcomes) {
    if (t.passed) {
      ++passed;
      if (o.verbose) fmt::print("PASS {}:{}: {}\n", t.file, t.line, t.name);
      continue;
    }
    fmt::print("FAIL {}:{}: {}\n", t.file, t.line, t.name);
    for (const auto& f : t.failures) fmt::print("     {}\n", f);
  }
  const size_t failed = outcomes.size() - passed;
  fmt::print("-- {} test files, {} tests: {} passed, {} failed; {} rule errors\n", files->size(),
             outcomes.size(), passed, failed, loaded->report.errors());
  if (files->empty()) {
    fmt::print(stderr, "tuttle: no rule tests (*.test.yml) found under the given paths\n");
    return 1;
  }
  return failed > 0 || loaded->report.errors() > 0 ? 1 : 0;
}

std::string RulesJson(const RuleSet& rules) {
  using nlohmann::json;
  auto base = [](const RuleInfo& info, std::string_view kind) {
    const AttackTags attack = ParseAttackTags(info.tags);
    json tactics = json::array();
    for (const AttackTactic& t : attack.tactics) tactics.push_back({{"uid", t.uid}, {"name", t.name}});
    json techniques = json::array();
    for (const AttackTechnique& t : attack.techniques) {
      techniques.push_back({{"uid", t.uid}, {"name", t.name}});
    }
    return json{{"id", info.id},
                {"name", info.name},
                {"title", info.title},
                {"description", info.description},
                {"level", LevelName(info.level)},
                {"status", info.status},
                {"kind", kind},
                {"tags", info.tags},
                {"tactics", std::move(tactics)},
                {"techniques", std::move(techniques)},
                {"file", info.file},
                {"line", info.line}};
  };
  json out = json::array();
  for (const DetectionRule& d : rules.detections) {
    json j = base(*d.info, "detection");
    j["type"] = "detection";
    j["logsource"] = {{"product", d.logsource.product},
                      {"service", d.logsource.service},
                      {"category", d.logsource.category}};
    j["emits_alerts"] = d.emits_alerts;
    out.push_back(std::move(j));
  }
  for (const CorrelationRule& c : rules.correlations) {
    json j = base(*c.info, "correlation");
    j["type"] = CorrelationTypeName(c.type);
    j["group_by"] = c.group_by;
    j["timespan_seconds"] = static_cast<double>(c.timespan) / 1e9;
    j["emits_alerts"] = c.emits_alerts;
    out.push_back(std::move(j));
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace tuttle::tools
