#pragma once
// Linking correlation rules to the rules they name: ids and names, aliases, the field each
// group-by name reads in the events of each referenced rule, and chains: the order in which
// correlations that reference correlations are resolved, and their cycles.

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
// For a step that is a correlation rule, the fields are already resolved into indices of that
// correlation's group-by names (its alerts carry no other fields) and the strings are unused.
struct CorrelationFields {
  std::vector<std::vector<std::string>> group_by;  // [step][group-by name]
  std::vector<std::string> value;                  // [step], value types
  std::vector<std::vector<uint32_t>> inner_group_by;  // [step][group-by name], correlation steps
  std::vector<uint32_t> inner_value;                  // [step], correlation steps
};

// The order in which to resolve correlations so that every correlation comes after the
// correlations it references (depth first, in file order otherwise). A cycle is an error at the
// reference that closes it; the correlations on a cycle are marked dead in `correlation_alive`.
std::vector<size_t> ChainOrder(const std::vector<ParsedCorrelation>& correlations,
                               const std::unordered_map<std::string, RuleTarget>& targets,
                               std::vector<bool>& correlation_alive, Diagnostics& diagnostics);

class CorrelationResolver {
 public:
  // `final_index[d]`: the RuleSet index of parsed detection d, when `detection_alive[d]`.
  // `correlation_final[c]`: the RuleSet index of parsed correlation c once it is resolved
  // (UINT32_MAX before, or when it failed); `resolved` holds the resolved correlations.
  CorrelationResolver(const std::unordered_map<std::string, RuleTarget>& targets,
                      const std::vector<ParsedDetection>& detections,
                      const std::vector<ParsedCorrelation>& correlations,
                      const std::vector<SkippedRule>& skipped,
                      const std::vector<bool>& detection_alive,
                      const std::vector<uint32_t>& final_index,
                      const std::vector<uint32_t>& correlation_final,
                      const std::vector<CorrelationRule>& resolved, Diagnostics& diagnostics)
      : targets_(targets),
        detections_(detections),
        correlations_(correlations),
        skipped_(skipped),
        alive_(detection_alive),
        final_index_(final_index),
        correlation_final_(correlation_final),
        resolved_(resolved),
        diagnostics_(diagnostics) {}

  // Fills everything of `out` but the paths; returns false (with located errors) when a
  // reference cannot be resolved.
  bool Resolve(const ParsedCorrelation& c, CorrelationRule& out, CorrelationFields& fields);

 private:
  struct Step {
    bool correlation = false;
    size_t index = 0;  // parsed detection or parsed correlation
  };
  const RuleInfo& InfoOf(const Step& step) const;
  int StepOf(const std::vector<Step>& steps, const std::string& name) const;
  // The field read for group-by or value name `name` in events of `step`: the alias's field or
  // the name itself (FieldAsWritten), renamed by a detection rule's pipelines.
  bool FieldFor(const ParsedCorrelation& c, const NameRef& name, const Step& step,
                std::string& out);
  bool FieldAsWritten(const ParsedCorrelation& c, const NameRef& name, const Step& step,
                      std::string& out);
  // A correlation step's field: the index of the inner correlation's group-by name.
  bool InnerField(const ParsedCorrelation& c, const NameRef& name, const std::string& field,
                  const Step& step, uint32_t& out);
  std::vector<std::string_view> KnownNames() const;

  const std::unordered_map<std::string, RuleTarget>& targets_;
  const std::vector<ParsedDetection>& detections_;
  const std::vector<ParsedCorrelation>& correlations_;
  const std::vector<SkippedRule>& skipped_;
  const std::vector<bool>& alive_;
  const std::vector<uint32_t>& final_index_;
  const std::vector<uint32_t>& correlation_final_;
  const std::vector<CorrelationRule>& resolved_;
  Diagnostics& diagnostics_;
};

}  // namespace tuttle::rules
