#pragma once
// The parsed form of a processing pipeline (tuttle/rules/pipeline.h): its transformations
// (pySigma's processing items) with their conditions and parameters, checked by LoadPipeline so
// that applying them to rules cannot fail for reasons of the pipeline file itself.
//
// No YAML nodes are kept: yaml-cpp nodes are not safe to read from several threads, and a
// ProcessingPipeline may be shared by concurrent compiles. add_condition keeps the index of its
// item; each compile re-reads the pipeline text for its `conditions` node (rule_processor.cc).

#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "predicate.h"
#include "tuttle/rules/pipeline.h"
#include "tuttle/rules/rule_source.h"
#include "yaml_util.h"

namespace tuttle::rules {

enum class TransformationType : uint8_t {
  kFieldNameMapping,
  kFieldNamePrefixMapping,
  kFieldNamePrefix,
  kFieldNameSuffix,
  kDropDetectionItem,
  kAddCondition,
  kChangeLogsource,
  kValuePlaceholders,
  kRuleFailure,
  kDetectionItemFailure,
};

// Transformations that act on field names of detection items (and so are ordered with respect to
// each other per field), as opposed to whole-rule ones.
bool IsFieldTransformation(TransformationType type);
// Those of them that rename fields, and so also apply to correlation fields.
bool IsFieldRenaming(TransformationType type);

struct RuleCondition {
  enum class Kind : uint8_t {
    kLogsource,
    kTag,
    kIsSigmaRule,
    kIsSigmaCorrelationRule,
    kProcessingItemApplied,
  };
  Kind kind = Kind::kLogsource;
  // kLogsource: the fields it sets (empty: any).
  std::string product, service, category;
  // kTag: the tag (compared case-insensitively); kProcessingItemApplied: the item id.
  std::string value;
};

struct FieldNameCondition {
  bool exclude = false;  // exclude_fields: holds when the name is not listed
  bool regex = false;    // mode: re (a pattern must match at the start of the name)
  std::vector<std::string> fields;
  std::vector<std::regex> patterns;  // regex
};

// Conditions of one kind and how they are joined: all of them (rule_cond_op: and, the default),
// any (or), or an expression over their names (rule_cond_expr); then negated with rule_cond_not.
template <class Condition>
struct ConditionSet {
  std::vector<Condition> conditions;
  bool any = false;
  bool negate = false;
  std::optional<BoolExpr> expr;  // leaves: indices into `conditions`

  // True when there are no conditions, else the joined result of `test(condition)`.
  template <class Test>
  bool Holds(const Test& test) const;
};

struct ProcessingItem {
  std::string id;  // may be empty
  TransformationType type = TransformationType::kFieldNameMapping;
  std::string type_name;  // as written
  size_t index = 0;       // in the pipeline's `transformations`
  SourceLocation where;   // of the item in the pipeline file
  ConditionSet<RuleCondition> rule_conditions;
  ConditionSet<FieldNameCondition> field_conditions;

  // field_name_mapping, field_name_prefix_mapping: source -> targets, in file order.
  std::vector<std::pair<std::string, std::vector<std::string>>> mapping;
  // field_name_prefix, field_name_suffix.
  std::string affix;
  // add_condition: `negated` (the `conditions` node is re-read per compile, see above).
  bool negated = false;
  // change_logsource.
  std::string product, service, category;
  // rule_failure, detection_item_failure.
  std::string message;
};

struct PipelineProgram {
  RuleSource source;  // for diagnostics located in the pipeline, and add_condition nodes
  std::string name;   // the pipeline's name, or its path when it has none
  std::vector<ProcessingItem> items;
};

// "transformation 'id' (type) of pipeline 'name' (path:line)", for hints.
std::string DescribeItem(const PipelineProgram& program, const ProcessingItem& item);

// Evaluates a parsed condition expression whose leaves are indices, with `leaf(i)`.
template <class Leaf>
bool EvaluateExpr(const BoolExpr& e, const Leaf& leaf) {
  switch (e.op) {
    case BoolExpr::Op::kPredicate:
      return leaf(e.predicate);
    case BoolExpr::Op::kTrue:
      return true;
    case BoolExpr::Op::kFalse:
      return false;
    case BoolExpr::Op::kNot:
      return !EvaluateExpr(e.children.front(), leaf);
    case BoolExpr::Op::kAnd:
      for (const BoolExpr& c : e.children) {
        if (!EvaluateExpr(c, leaf)) return false;
      }
      return true;
    case BoolExpr::Op::kOr:
      for (const BoolExpr& c : e.children) {
        if (EvaluateExpr(c, leaf)) return true;
      }
      return false;
  }
  return false;
}

template <class Condition>
template <class Test>
bool ConditionSet<Condition>::Holds(const Test& test) const {
  if (conditions.empty()) return true;
  bool result;
  if (expr) {
    result = EvaluateExpr(*expr, [&](uint32_t i) { return test(conditions[i]); });
  } else if (any) {
    result = false;
    for (const Condition& c : conditions) result = result || test(c);
  } else {
    result = true;
    for (const Condition& c : conditions) result = result && test(c);
  }
  return negate ? !result : result;
}

}  // namespace tuttle::rules
