#pragma once
// Linking correlation rules to the detection rules they name: ids and names, aliases, and the
// field each group-by name reads in the events of each referenced rule.

#include <string>
#include <unordered_map>
#include <vector>

#include "sigma_parser.h"
#include "tuttle/engine/diagnostic.h"
#include "tuttle/engine/rule_set.h"

namespace tuttle::rules {

// What a rule id or name refers to.
struct RuleTarget {
  enum class Kind { kDetection, kCorrelation, kSkipped };
  Kind kind = Kind::kDetection;
  size_t index = 0;  // into the parsed detections, correlations, or the skipped rules
};

// Ids and names form one namespace over all detection and correlation rules. Registers them in
// `targets`; a rule that reuses an id or name taken by another is an error (the first keeps it)
// and is marked dead in `detection_alive` / `correlation_alive`. The ids and names of rules the
// parser skipped are registered too, so references to them say why they fail.
void IndexRules(const std::vector<ParsedDetection>& detections,
                const std::vector<ParsedCorrelation>& correlations,
                const std::vector<SkippedRule>& skipped, std::vector<bool>& detection_alive,
                std::vector<bool>& correlation_alive,
                std::unordered_map<std::string, RuleTarget>& targets, Diagnostics& diagnostics);

// The field paths one correlation reads, as written (the caller interns them once it resolves).
struct CorrelationFields {
  std::vector<std::vector<std::string>> group_by;  // [step][group-by name]
  std::vector<std::string> value;                  // [step], value_count
};

class CorrelationResolver {
 public:
  // `final_index[d]`: the RuleSet index of parsed detection d, when `detection_alive[d]`.
  CorrelationResolver(const std::unordered_map<std::string, RuleTarget>& targets,
                      const std::vector<ParsedDetection>& detections,
                      const std::vector<SkippedRule>& skipped,
                      const std::vector<bool>& detection_alive,
                      const std::vector<uint32_t>& final_index, Diagnostics& diagnostics)
      : targets_(targets),
        detections_(detections),
        skipped_(skipped),
        alive_(detection_alive),
        final_index_(final_index),
        diagnostics_(diagnostics) {}

  // Fills everything of `out` but the paths; returns false (with located errors) when a
  // reference cannot be resolved.
  bool Resolve(const ParsedCorrelation& c, CorrelationRule& out, CorrelationFields& fields);

 private:
  int StepOf(const std::vector<size_t>& steps, const std::string& name) const;
  // The field read for group-by or value name `name` in events of `detection`: the alias's
  // field or the name itself (FieldAsWritten), renamed by the rule's pipelines.
  bool FieldFor(const ParsedCorrelation& c, const NameRef& name, size_t detection,
                std::string& out);
  bool FieldAsWritten(const ParsedCorrelation& c, const NameRef& name, size_t detection,
                      std::string& out);
  std::vector<std::string_view> KnownNames() const;

  const std::unordered_map<std::string, RuleTarget>& targets_;
  const std::vector<ParsedDetection>& detections_;
  const std::vector<SkippedRule>& skipped_;
  const std::vector<bool>& alive_;
  const std::vector<uint32_t>& final_index_;
  Diagnostics& diagnostics_;
};

}  // namespace tuttle::rules
