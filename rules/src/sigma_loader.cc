#include "tuttle/rules/sigma_loader.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include "correlation_resolver.h"
#include "database_builder.h"
#include "hyperscan_detector.h"
#include "rule_processor.h"
#include "sigma_parser.h"
#include "text_util.h"
#include "tuttle/rules/log_sources.h"

namespace tuttle::rules {
namespace {

namespace fs = std::filesystem;

Result<std::string> ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(fmt::format("cannot read '{}'", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error(fmt::format("cannot read '{}'", path.string()));
  return text.str();
}

// Rule files in a folder: *.yml and *.yaml, except rule tests (*.test.yml, *.test.yaml; see
// docs/rule-tests.md), which `tuttle rules test` reads from the same folders.
bool IsRuleFile(const fs::path& path) {
  const std::string ext = AsciiLower(path.extension().string());
  if (ext != ".yml" && ext != ".yaml") return false;
  return AsciiLower(path.stem().extension().string()) != ".test";
}

std::string StrictFailure(const Diagnostics& diagnostics) {
  constexpr size_t kListed = 50;
  size_t errors = 0;
  std::string listed;
  for (const Diagnostic& d : diagnostics) {
    if (d.severity != Diagnostic::Severity::kError) continue;
    if (++errors > kListed) continue;
    listed += '\n';
    listed += d.ToString();
  }
  if (errors > kListed) listed += fmt::format("\n... and {} more", errors - kListed);
  return fmt::format("{} error{} in Sigma rules (strict mode):{}", errors, errors == 1 ? "" : "s",
                     listed);
}

// Diagnostics come from several passes; readers want them file by file, top to bottom.
void SortDiagnostics(const std::vector<RuleSource>& sources, Diagnostics& diagnostics) {
  std::unordered_map<std::string_view, size_t> order;
  for (size_t i = 0; i < sources.size(); ++i) order.emplace(sources[i].path, i);
  auto rank = [&](const Diagnostic& d) {
    auto it = order.find(d.file);
    return std::make_tuple(it == order.end() ? sources.size() : it->second, d.line, d.column);
  };
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) { return rank(a) < rank(b); });
}

// Builds the detector from the live rules: dense predicate ids (database patterns first, then
// the others), and each database, presence bit and value check attached to its field path.
Result<std::unique_ptr<HyperscanDetector>> BuildDetector(const PredicateTable& predicates,
                                                         std::vector<ParsedDetection>& detections,
                                                         const std::vector<bool>& alive,
                                                         DatabaseBuilder& databases,
                                                         FieldCatalog& catalog,
                                                         CompileReport& report) {
  std::vector<uint32_t> dense(predicates.size(), kNoPredicate);
  DetectorSpec spec;
  std::vector<std::pair<PathId, int32_t>> path_databases;
  for (auto& [target, group] : databases.groups()) {
    DetectorSpec::Database db;
    for (const uint32_t id : group.predicates) {
      dense[id] = spec.predicate_count++;
      db.predicates.push_back(dense[id]);
      const HsPattern& pattern = predicates.at(id).pattern;
      db.checks.push_back({pattern.anchor, pattern.literal_length});
    }
    db.db = std::move(group.db);
    const auto index = static_cast<int32_t>(spec.databases.size());
    if (target.raw) {
      spec.raw_database = index;
    } else {
      path_databases.emplace_back(catalog.Intern(target.path), index);
    }
    report.patterns += group.predicates.size();
    size_t bytes = 0;
    if (hs_database_size(db.db.get(), &bytes) == HS_SUCCESS) {
      report.database_bytes += bytes;
      report.largest_database_bytes = std::max(report.largest_database_bytes, bytes);
    }
    spec.databases.push_back(std::move(db));
  }
  report.databases = spec.databases.size();

  struct Presence {
    PathId path;
    bool nonnull;
    uint32_t predicate;
  };
  std::vector<Presence> presence;
  std::vector<uint32_t> ids;
  for (size_t i = 0; i < detections.size(); ++i) {
    if (!alive[i]) continue;
    ids.clear();
    detections[i].expr.CollectPredicates(ids);
    for (const uint32_t id : ids) {
      if (dense[id] != kNoPredicate) continue;
      const Predicate& p = predicates.at(id);
      dense[id] = spec.predicate_count++;
      switch (p.kind) {
        case PredicateKind::kPresent:
        case PredicateKind::kNonNull:
          presence.push_back(
              {catalog.Intern(p.path), p.kind == PredicateKind::kNonNull, dense[id]});
          break;
        case PredicateKind::kValue:
          spec.value_checks.push_back({catalog.Intern(p.path), dense[id], p.test});
          break;
        case PredicateKind::kFieldref:
          spec.fieldref_checks.push_back(
              {catalog.Intern(p.path), catalog.Intern(p.ref.other), dense[id], p.ref});
          break;
        case PredicateKind::kPattern:
          break;  // in a database, numbered above
      }
    }
  }

  spec.path_database.assign(catalog.size(), -1);
  spec.path_present.assign(catalog.size(), kNoPredicate);
  spec.path_nonnull.assign(catalog.size(), kNoPredicate);
  report.value_checks = spec.value_checks.size() + spec.fieldref_checks.size();
  for (const auto& [path, database] : path_databases) spec.path_database[path] = database;
  for (const Presence& p : presence) {
    (p.nonnull ? spec.path_nonnull : spec.path_present)[p.path] = p.predicate;
  }
  for (size_t i = 0; i < detections.size(); ++i) {
    if (!alive[i]) continue;
    BoolExpr expr = std::move(detections[i].expr);
    expr.Remap(dense);
    spec.rules.push_back(std::move(expr));
    spec.logsources.push_back(detections[i].logsource);
  }
  return HyperscanDetector::Create(std::move(spec));
}

std::string LogSourceText(const LogSourceSpec& l) {
  std::vector<std::string> parts;
  if (!l.product.empty()) parts.push_back("product: " + l.product);
  if (!l.service.empty()) parts.push_back("service: " + l.service);
  if (!l.category.empty()) parts.push_back("category: " + l.category);
  return parts.empty() ? std::string("{}") : fmt::format("{{{}}}", fmt::join(parts, ", "));
}

// Sigma filters: each one ANDs its condition into the detection rules it names whose log source
// (as written, before pipelines, as pySigma applies filters) it contains. A rule whose filter a
// pipeline refuses is dropped.
void ApplyFilters(SigmaParser& parser, const std::unordered_map<std::string, RuleTarget>& targets,
                  std::vector<bool>& alive, Diagnostics& diagnostics) {
  std::vector<ParsedDetection>& detections = parser.detections();
  std::vector<std::string_view> known;
  for (const auto& [name, target] : targets) {
    if (target.kind == RuleTarget::Kind::kDetection) known.push_back(name);
  }
  std::sort(known.begin(), known.end());  // deterministic hints
  for (const ParsedFilter& f : parser.filters()) {
    auto warn = [&](const NameRef& ref, std::string message, std::string hint) {
      diagnostics.push_back(Diagnostic{f.info->file, ref.where.line, ref.where.column,
                                       Diagnostic::Severity::kWarning, std::move(message),
                                       std::move(hint)});
    };
    std::vector<bool> done(detections.size(), false);
    auto apply = [&](size_t i) {
      if (done[i] || !alive[i]) return;
      done[i] = true;
      if (!parser.ApplyFilter(f, detections[i])) alive[i] = false;
    };
    if (f.all_rules) {
      for (size_t i = 0; i < detections.size(); ++i) {
        if (LogSourceContains(f.logsource, detections[i].written_logsource)) apply(i);
      }
      continue;
    }
    for (const NameRef& ref : f.rules) {
      auto it = targets.find(ref.text);
      if (it == targets.end()) {
        std::string hint = DidYouMean(ref.text, known);
        warn(ref, fmt::format("filter '{}' names rule '{}', which is not loaded", f.info->title,
                              ref.text),
             hint.empty() ? "the filter applies to the rules it names that are loaded" : hint);
        continue;
      }
      const RuleTarget& target = it->second;
      if (target.kind == RuleTarget::Kind::kCorrelation) {
        warn(ref, fmt::format("filter '{}' names correlation rule '{}'", f.info->title, ref.text),
             "filters apply to detection rules; name the rules the correlation references");
        continue;
      }
      if (target.kind == RuleTarget::Kind::kSkipped) continue;  // its errors are reported
      const ParsedDetection& d = detections[target.index];
      if (!LogSourceContains(f.logsource, d.written_logsource)) {
        warn(ref,
             fmt::format("filter '{}' does not apply to rule '{}' ({}:{}): the rule's log source "
                         "{} does not fit the filter's {}",
                         f.info->title, ref.text, d.info->file, d.info->line,
                         LogSourceText(d.written_logsource), LogSourceText(f.logsource)),
             "each field the filter's logsource sets must equal the rule's");
        continue;
      }
      apply(target.index);
    }
  }
}

}  // namespace

size_t CompileReport::errors() const {
  return static_cast<size_t>(std::count_if(
      diagnostics.begin(), diagnostics.end(),
      [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::kError; }));
}

size_t CompileReport::warnings() const { return diagnostics.size() - errors(); }

Result<std::vector<RuleSource>> ReadRuleSources(const std::vector<std::string>& paths) {
  std::vector<RuleSource> out;
  std::set<std::string> seen;
  auto add = [&](const fs::path& file) -> Status {
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(file, ec);
    if (!seen.insert(ec ? file.lexically_normal().string() : canonical.string()).second) {
      return Ok();
    }
    Result<std::string> text = ReadWholeFile(file);
    if (!text.ok()) return text.error();
    out.push_back(RuleSource{file.string(), std::move(*text)});
    return Ok();
  };
  for (const std::string& path : paths) {
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec == std::errc::no_such_file_or_directory || (!ec && !fs::exists(status))) {
      return Error(fmt::format("cannot read rules from '{}': no such file or directory", path));
    }
    if (ec) return Error(fmt::format("cannot read rules from '{}': {}", path, ec.message()));
    if (!fs::is_directory(status)) {
      if (Status s = add(path); !s.ok()) return s.error();
      continue;
    }
    std::vector<fs::path> files;
    fs::recursive_directory_iterator it(path, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const fs::path& p = it->path();
      if (p.filename().string().starts_with('.')) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec) && IsRuleFile(p)) files.push_back(p);
    }
    if (ec) return Error(fmt::format("cannot list rules in '{}': {}", path, ec.message()));
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      if (Status s = add(f); !s.ok()) return s.error();
    }
  }
  return out;
}

Result<RuleSet> CompileRules(const std::vector<RuleSource>& sources,
                             std::shared_ptr<FieldCatalog> catalog, const CompileOptions& options,
                             CompileReport& report) {
  const auto start = std::chrono::steady_clock::now();
  report = CompileReport{};
  if (catalog == nullptr) return Error("CompileRules needs a FieldCatalog");
  auto finish = [&] {
    SortDiagnostics(sources, report.diagnostics);
    report.compile_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };

  // 1. Parse every document of every file.
  PredicateTable predicates;
  const PipelineSet pipelines(options.pipelines);
  SigmaParser parser(predicates, report.diagnostics, options.placeholders, &pipelines);
  for (const RuleSource& source : sources) parser.Parse(source);
  std::vector<ParsedDetection>& detections = parser.detections();
  const std::vector<ParsedCorrelation>& correlations = parser.correlations();
  report.rules_skipped = parser.skipped();

  // 2. Ids and names, which correlations refer to.
  std::vector<bool> alive(detections.size(), true);
  std::vector<bool> correlation_alive(correlations.size(), true);
  std::unordered_map<std::string, RuleTarget> targets;
  IndexRules(detections, correlations, parser.skipped_rules(), alive, correlation_alive, targets,
             report.diagnostics);
  report.filters_loaded = parser.filters().size();
  ApplyFilters(parser, targets, alive, report.diagnostics);
  for (size_t i = 0; i < detections.size(); ++i) {
    if (!alive[i]) continue;
    if (auto miss = NearMissLogSource(detections[i].logsource)) {
      const ParsedDetection& d = detections[i];
      const SourceLocation at = d.logsource_at.line > 0 ? d.logsource_at
                                                         : SourceLocation{d.info->line, 1};
      report.diagnostics.push_back(Diagnostic{d.info->file, at.line, at.column,
                                              Diagnostic::Severity::kWarning, miss->message,
                                              miss->hint});
    }
  }

  // 3. Hyperscan databases; rules whose patterns Hyperscan refuses are dropped.
  DatabaseBuilder databases(predicates, detections, alive, report.diagnostics,
                            options.compile_threads);
  if (Result<size_t> built = databases.Build(); !built.ok()) {
    finish();
    return built.error();
  }

  RuleSet set;
  std::vector<uint32_t> final_index(detections.size(), UINT32_MAX);
  for (size_t i = 0; i < detections.size(); ++i) {
    if (!alive[i]) continue;
    final_index[i] = static_cast<uint32_t>(set.detections.size());
    set.detections.push_back(DetectionRule{detections[i].info, detections[i].logsource, true});
  }
  report.rules_skipped += detections.size() - set.detections.size();

  // 4. Correlations, now that the detection rules they name have their final indices; a
  // correlation comes after the correlations it references (chains), so cycles are errors.
  const std::vector<size_t> order =
      ChainOrder(correlations, targets, correlation_alive, report.diagnostics);
  std::vector<uint32_t> correlation_final(correlations.size(), UINT32_MAX);
  CorrelationResolver resolver(targets, detections, correlations, parser.skipped_rules(), alive,
                               final_index, correlation_final, set.correlations,
                               report.diagnostics);
  for (const size_t i : order) {
    CorrelationRule rule;
    CorrelationFields fields;
    if (!correlation_alive[i] || !resolver.Resolve(correlations[i], rule, fields)) {
      ++report.rules_skipped;
      continue;
    }
    for (size_t k = 0; k < fields.group_by.size(); ++k) {
      auto& paths = rule.group_by_paths.emplace_back();
      for (size_t g = 0; g < fields.group_by[k].size(); ++g) {
        paths.push_back(rule.StepIsCorrelation(k) ? fields.inner_group_by[k][g]
                                                  : catalog->Intern(fields.group_by[k][g]));
      }
    }
    for (size_t k = 0; k < fields.value.size(); ++k) {
      rule.value_paths.push_back(rule.StepIsCorrelation(k) ? fields.inner_value[k]
                                                           : catalog->Intern(fields.value[k]));
    }
    correlation_final[i] = static_cast<uint32_t>(set.correlations.size());
    set.correlations.push_back(std::move(rule));
  }

  // 5. The detector.
  Result<std::unique_ptr<HyperscanDetector>> detector =
      BuildDetector(predicates, detections, alive, databases, *catalog, report);
  if (!detector.ok()) {
    finish();
    return detector.error();
  }
  set.detector = std::move(*detector);
  set.catalog = std::move(catalog);
  set.Link();
  report.rules_loaded = set.detections.size();
  report.correlations_loaded = set.correlations.size();
  finish();
  if (options.strict && report.errors() > 0) return Error(StrictFailure(report.diagnostics));
  return set;
}

}  // namespace tuttle::rules
