#pragma once
// SigmaParser: YAML rule files to the intermediate form the compiler links and compiles.
// Detection rules come out as boolean expressions over interned predicates; correlation rules
// keep their references (ids or names) unresolved, since they may point into later files.
//
// Every problem is a located diagnostic. A document with an error is skipped (and counted); the
// parser carries on with the next one, reporting as many errors per rule as it can find.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "predicate.h"
#include "tuttle/engine/diagnostic.h"
#include "tuttle/engine/rule_set.h"
#include "tuttle/rules/sigma_loader.h"
#include "yaml_util.h"

namespace tuttle::rules {

class PipelineSet;
class RuleTransform;

struct ParsedDetection {
  std::shared_ptr<RuleInfo> info;
  LogSourceSpec logsource;          // after the pipelines' change_logsource
  LogSourceSpec written_logsource;  // as written: what filters are matched against
  SourceLocation logsource_at;      // of the `logsource` map, when written
  // What the processing pipelines do to the rule; null when there are none. Filters applied to
  // the rule and correlation fields read from its events go through its field transformations.
  std::shared_ptr<const RuleTransform> transform;
  BoolExpr expr;  // over PredicateTable ids
  // Where each pattern predicate is first written in the rule, for errors found when Hyperscan
  // compiles the databases.
  std::vector<std::pair<uint32_t, SourceLocation>> pattern_sites;
};

// A name as written in a correlation rule, with its place for diagnostics.
struct NameRef {
  std::string text;
  SourceLocation where;
};

struct ParsedCorrelation {
  std::shared_ptr<RuleInfo> info;
  CorrelationType type = CorrelationType::kEventCount;
  std::vector<NameRef> rules;     // ids or names, as written
  std::vector<NameRef> group_by;  // field or alias names
  struct AliasField {
    NameRef rule;  // the name (or id) of a referenced rule
    std::string field;
  };
  struct Alias {
    NameRef name;
    std::vector<AliasField> fields;
  };
  std::vector<Alias> aliases;
  std::optional<NameRef> value_field;  // value_count, value_sum, value_avg, value_percentile
  TimeNs timespan = 0;
  CountCondition condition;
  double percentile = 50;  // value_percentile: `condition.percentile`
  // temporal: pySigma's boolean condition (`condition: a and not b`), leaves are indices into
  // `rules`; condition_text is the text as written.
  std::optional<StepExpr> step_condition;
  std::string condition_text;
  // Tuttle extensions, under `correlation.tuttle`: per step of `rules`, whether it must not occur
  // (temporal_ordered); suppression of repeated alerts per group.
  std::vector<bool> absent;
  TimeNs suppress = 0;
  bool generate = false;
};

// A Sigma filter (sigma-filters-specification.md), checked; applied to the rules it names once
// every file is parsed, since it may name rules of later files.
struct ParsedFilter {
  std::shared_ptr<RuleInfo> info;  // title, id, file, line
  LogSourceSpec logsource;
  bool all_rules = false;  // `rules: any` (or `all`), as pySigma reads it
  std::vector<NameRef> rules;
  const RuleSource* source = nullptr;
  YAML::Node filter;  // the `filter` map, parsed again for each rule it applies to
};

// A rule document skipped for errors, as far as it was read: references to it can say why they
// fail.
struct SkippedRule {
  std::shared_ptr<RuleInfo> info;
};

class SigmaParser {
 public:
  // `placeholders` fill `expand` values; `pipelines` apply to every detection rule and may be
  // null. Both must outlive the parser.
  SigmaParser(PredicateTable& predicates, Diagnostics& diagnostics,
              const Placeholders& placeholders, const PipelineSet* pipelines = nullptr)
      : predicates_(predicates),
        diagnostics_(diagnostics),
        placeholders_(placeholders),
        pipelines_(pipelines) {}

  // Parses every document of `source`; rules without errors are appended to detections(),
  // correlations() and filters(). REQUIRES: `source` outlives the parser (filters keep it).
  void Parse(const RuleSource& source);

  // ANDs the condition of `filter` to `target`'s detection, its fields mapped by the target's
  // pipelines. Returns false (with located errors) when a pipeline refuses a field of the filter.
  bool ApplyFilter(const ParsedFilter& filter, ParsedDetection& target);

  std::vector<ParsedDetection>& detections() { return detections_; }
  std::vector<ParsedCorrelation>& correlations() { return correlations_; }
  const std::vector<ParsedFilter>& filters() const { return filters_; }
  // Documents skipped because of an error (a file whose YAML does not parse counts once).
  size_t skipped() const { return skipped_; }
  // The skipped rules whose metadata could be read.
  const std::vector<SkippedRule>& skipped_rules() const { return skipped_rules_; }

 private:
  PredicateTable& predicates_;
  Diagnostics& diagnostics_;
  const Placeholders& placeholders_;
  const PipelineSet* pipelines_;
  std::vector<ParsedDetection> detections_;
  std::vector<ParsedCorrelation> correlations_;
  std::vector<ParsedFilter> filters_;
  size_t skipped_ = 0;
  std::vector<SkippedRule> skipped_rules_;
};

// Parses `map` as a map of fields (clauses ANDed) in a rule read from `source`, e.g. the
// `conditions` of add_condition. Field names go through `transform`'s field transformations
// after position `after` (see RuleTransform::Map); `transform` may be null. Pattern sites are
// appended to `sites` when not null.
BoolExpr ParseFieldMapNode(const RuleSource& source, const YAML::Node& map, FileDiagnostics& diag,
                           PredicateTable& predicates, const RuleTransform* transform, long after,
                           std::vector<std::pair<uint32_t, SourceLocation>>* sites);

// The id given to a rule that has none (see sigma_loader.h).
std::string DerivedRuleId(std::string_view path, std::string_view title);

}  // namespace tuttle::rules
