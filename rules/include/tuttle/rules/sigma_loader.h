#pragma once
// Loading Sigma rules: reading rule files and compiling their detection and correlation rules
// into a tuttle::RuleSet whose Detector matches every detection rule at once with Hyperscan.
//
// What is supported (Sigma 2.1): detection rules with maps, lists of maps, keywords (also the
// `'|all':` form), null values, the modifiers contains, startswith, endswith, all, re (with i, m,
// s), exists and cased, and the full condition grammar; correlation rules of every Sigma 2.1
// type (event_count, value_count, temporal, temporal_ordered, value_sum, value_avg,
// value_percentile) with group-by, aliases, timespan, condition ranges, generate and chains
// (correlations of correlations, resolved inner first; a cycle is a located error), pySigma's
// boolean temporal conditions, and the Tuttle extensions under `correlation.tuttle` (absent
// steps, suppress); Sigma filters (ANDed into the rules they name, see docs/rules.md); processing
// pipelines (pipeline.h, CompileOptions::pipelines). See docs/correlation.md.
//
// Matching semantics, where Sigma leaves them to the backend:
//   - Plain values match the whole field value, ASCII case-insensitively, with `*` and `?`
//     wildcards. Numbers and booleans compare as text against the field's text as written.
//   - `re` is an unanchored PCRE search in Hyperscan's dialect (no back-references, no
//     lookaround), case-sensitive unless `|re|i`.
//   - Keywords are case-insensitive substring searches over the raw record bytes (so JSON
//     escaping applies: a backslash in a value is `\\` in the record).
//   - A field that holds an array matches when any element matches; with `|all`, each value must
//     match some element.
//   - `field: null` holds when the field is absent or JSON null; `field|exists: true` when the
//     field is present with any value, null included.
//
// Rule ids: a rule without `id` gets one derived from the file path (as passed in) and its title:
// the UUID layout of tuttle::Hasher over ("sigma-rule", path, title). Moving the file changes it.
//
// Thread-safety: the functions are reentrant; each call builds its own state.

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tuttle/engine/diagnostic.h"
#include "tuttle/engine/field_catalog.h"
#include "tuttle/engine/result.h"
#include "tuttle/engine/rule_set.h"
#include "tuttle/rules/pipeline.h"
#include "tuttle/rules/rule_source.h"

namespace tuttle::rules {

// Reads rule files. Each entry of `paths` is a file (read whatever its extension) or a
// directory, searched recursively for *.yml and *.yaml files (names starting with '.' and rule
// tests, *.test.yml and *.test.yaml, are skipped). Files of a directory come sorted by path, so loading is deterministic; a file named
// twice is read once. Fails on the first path that does not exist or cannot be read.
Result<std::vector<RuleSource>> ReadRuleSources(const std::vector<std::string>& paths);

struct CompileOptions {
  // false (default): a rule with an error is skipped, reported in CompileReport::diagnostics and
  // counted in rules_skipped; the others load. true: any error fails the whole compile.
  bool strict = false;
  // Threads compiling Hyperscan databases (one database per field path, so at most that many
  // help). 0 (default): one per core.
  unsigned compile_threads = 0;
  // Processing pipelines (pipeline.h) applied to every rule and filter before it is compiled, in
  // ascending priority (equal priorities in this order). Default: none, rules run as written.
  std::vector<ProcessingPipeline> pipelines;
  // Placeholder name -> values, for the `expand` modifier: `%name%` in a value stands for each of
  // them. Processing pipelines give them as `vars` (MergePipelineVars).
  std::map<std::string, std::vector<std::string>> placeholders;
};

struct CompileReport {
  // Errors and warnings, located (file:line:column), in source order.
  Diagnostics diagnostics;
  size_t rules_loaded = 0;         // detection rules in the rule set
  size_t correlations_loaded = 0;  // correlation rules in the rule set
  size_t filters_loaded = 0;       // Sigma filters read without error (applied or not)
  // Rule documents not loaded because of an error (a file whose YAML does not parse counts once).
  size_t rules_skipped = 0;
  size_t patterns = 0;         // distinct Hyperscan patterns, over all databases
  size_t databases = 0;        // Hyperscan databases: one per field path, one for keywords
  size_t database_bytes = 0;   // their size in memory (hs_database_size), all together
  size_t largest_database_bytes = 0;
  // Predicates evaluated in C++ rather than by Hyperscan: numeric comparisons, CIDR networks,
  // time parts (one test per value of their field) and field references (one per event).
  size_t value_checks = 0;
  double compile_seconds = 0;  // wall time of CompileRules

  // Diagnostics of each severity.
  size_t errors() const;
  size_t warnings() const;
};

// Parses the Sigma rules of `sources` and compiles them into a RuleSet: detections,
// correlations, the Hyperscan detector and the field catalog, with RuleSet::Link() done.
//
// Field paths the rules read (detection fields, group-by and alias fields, value_count fields)
// are interned into `catalog`, which may already hold the adapters' paths; the RuleSet keeps it.
// REQUIRES: `catalog` is not null, and nobody mutates it once this returns (the RuleSet shares
// it read-only).
//
// `report` is filled in both outcomes. Returns an Error when options.strict and any rule has an
// error (its message lists the diagnostics), or when Hyperscan fails as a whole (out of memory).
Result<RuleSet> CompileRules(const std::vector<RuleSource>& sources,
                             std::shared_ptr<FieldCatalog> catalog, const CompileOptions& options,
                             CompileReport& report);

}  // namespace tuttle::rules
