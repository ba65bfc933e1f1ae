#pragma once
// Applying processing pipelines (tuttle/rules/pipeline.h) to rules, as one compile sees them.
//
// PipelineSet flattens the pipelines of CompileOptions::pipelines into one list of processing
// items in application order (ascending priority, then file order). For each rule, ForRule walks
// that list once, as pySigma applies items one after the other: an item applies when its rule
// conditions hold for the rule as the items before it left it (log source, applied item ids).
// The result, a RuleTransform, says what the parser must do: the rewritten log source, rule
// failures, conditions to add, and the field transformations through which every field name of
// the rule (and of the filters applied to it) goes.
//
// Thread-safety: a PipelineSet holds yaml-cpp nodes (add_condition's `conditions`, re-read from
// the pipeline text); it belongs to one compile, on one thread.

#include <memory>
#include <string>
#include <vector>

#include "pipeline_program.h"
#include "tuttle/engine/rule_set.h"
#include "tuttle/rules/pipeline.h"

namespace tuttle::rules {

class RuleTransform;

class PipelineSet {
 public:
  struct Entry {
    const PipelineProgram* program = nullptr;
    const ProcessingItem* item = nullptr;
    YAML::Node conditions;  // add_condition: its `conditions` map
  };

  explicit PipelineSet(const std::vector<ProcessingPipeline>& pipelines);

  bool empty() const { return entries_.empty(); }
  const std::vector<Entry>& entries() const { return entries_; }

  // What the pipelines do to a detection rule with `info` and `logsource` (as written).
  std::shared_ptr<const RuleTransform> ForRule(const RuleInfo& info,
                                               const LogSourceSpec& logsource) const;

 private:
  std::vector<Entry> entries_;
};

// One field name after the field transformations.
struct FieldMapping {
  // The names the field becomes; several mean OR (one-to-many mappings). Empty: the detection
  // item is dropped (drop_detection_item), unless `failure` is set.
  std::vector<std::string> names;
  // detection_item_failure that applies to it, or null.
  const PipelineSet::Entry* failure = nullptr;
};

class RuleTransform {
 public:
  explicit RuleTransform(const PipelineSet& set) : set_(set) {}

  // The rule's log source after change_logsource.
  LogSourceSpec logsource;
  // rule_failure items that apply.
  std::vector<const PipelineSet::Entry*> failures;
  // add_condition items that apply, in order (positions in PipelineSet::entries()).
  std::vector<size_t> add_conditions;
  // Field transformations that apply, in order (positions in PipelineSet::entries()).
  std::vector<size_t> field_items;

  // Maps `field` through the field transformations at positions after `after` (-1: all of
  // them; a condition added by an add_condition goes only through the items after it).
  // `renaming_only`: only the transformations that rename (for correlation fields).
  FieldMapping Map(const std::string& field, long after = -1, bool renaming_only = false) const;

  const PipelineSet& set() const { return set_; }

 private:
  const PipelineSet& set_;
};

// True when a log source condition or a filter with `general` fits a rule with `specific`: each
// field `general` sets equals the rule's, ASCII case-insensitively.
bool LogSourceContains(const LogSourceSpec& general, const LogSourceSpec& specific);

}  // namespace tuttle::rules
