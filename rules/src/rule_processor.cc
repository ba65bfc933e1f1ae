#include "rule_processor.h"

#include <algorithm>
#include <optional>
#include <set>

#include "text_util.h"

namespace tuttle::rules {
namespace {

bool FieldConditionHolds(const FieldNameCondition& c, const std::string& name) {
  bool listed = false;
  if (c.regex) {
    for (const std::regex& re : c.patterns) {
      if (std::regex_search(name, re, std::regex_constants::match_continuous)) {
        listed = true;
        break;
      }
    }
  } else {
    listed = std::find(c.fields.begin(), c.fields.end(), name) != c.fields.end();
  }
  return c.exclude ? !listed : listed;
}

void Rename(const ProcessingItem& item, const std::string& name, std::vector<std::string>& out) {
  switch (item.type) {
    case TransformationType::kFieldNameMapping:
      for (const auto& [from, to] : item.mapping) {
        if (from == name) {
          out.insert(out.end(), to.begin(), to.end());
          return;
        }
      }
      break;
    case TransformationType::kFieldNamePrefixMapping:
      for (const auto& [from, to] : item.mapping) {
        if (name.starts_with(from)) {
          for (const std::string& t : to) out.push_back(t + name.substr(from.size()));
          return;
        }
      }
      break;
    case TransformationType::kFieldNamePrefix:
      out.push_back(item.affix + name);
      return;
    case TransformationType::kFieldNameSuffix:
      out.push_back(name + item.affix);
      return;
    default:
      break;
  }
  out.push_back(name);
}

}  // namespace

bool LogSourceContains(const LogSourceSpec& general, const LogSourceSpec& specific) {
  return (general.product.empty() || EqualsIgnoreCase(general.product, specific.product)) &&
         (general.service.empty() || EqualsIgnoreCase(general.service, specific.service)) &&
         (general.category.empty() || EqualsIgnoreCase(general.category, specific.category));
}

PipelineSet::PipelineSet(const std::vector<ProcessingPipeline>& pipelines) {
  std::vector<const ProcessingPipeline*> order;
  for (const ProcessingPipeline& p : pipelines) {
    if (p.program != nullptr) order.push_back(&p);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const ProcessingPipeline* a, const ProcessingPipeline* b) {
                     return a->priority < b->priority;
                   });
  for (const ProcessingPipeline* p : order) {
    const PipelineProgram& program = *p->program;
    // yaml-cpp nodes rebind on copy construction only (assignment writes through), so the
    // document lives in an optional.
    std::optional<YAML::Node> root;
    for (const ProcessingItem& item : program.items) {
      Entry entry{&program, &item, YAML::Node(YAML::NodeType::Undefined)};
      if (item.type == TransformationType::kAddCondition) {
        // LoadPipeline parsed this text, so it parses again; should it not, the node stays
        // undefined and the parser reports that against the rule.
        try {
          if (!root) root.emplace(YAML::Load(program.source.text));
          const YAML::Node transformations = (*root)["transformations"];
          const YAML::Node conditions = transformations[item.index]["conditions"];
          entry.conditions.reset(conditions);
        } catch (const YAML::Exception&) {
        }
      }
      entries_.push_back(std::move(entry));
    }
  }
}

std::shared_ptr<const RuleTransform> PipelineSet::ForRule(const RuleInfo& info,
                                                          const LogSourceSpec& logsource) const {
  auto t = std::make_shared<RuleTransform>(*this);
  t->logsource = logsource;
  std::set<std::string> applied;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const ProcessingItem& item = *entries_[i].item;
    const bool holds = item.rule_conditions.Holds([&](const RuleCondition& c) {
      switch (c.kind) {
        case RuleCondition::Kind::kLogsource:
          return LogSourceContains(LogSourceSpec{c.product, c.service, c.category}, t->logsource);
        case RuleCondition::Kind::kTag:
          return std::any_of(info.tags.begin(), info.tags.end(), [&](const std::string& tag) {
            return EqualsIgnoreCase(tag, c.value);
          });
        case RuleCondition::Kind::kIsSigmaRule:
          return true;
        case RuleCondition::Kind::kIsSigmaCorrelationRule:
          return false;
        case RuleCondition::Kind::kProcessingItemApplied:
          return applied.count(c.value) > 0;
      }
      return false;
    });
    if (!holds) continue;
    if (!item.id.empty()) applied.insert(item.id);
    switch (item.type) {
      case TransformationType::kChangeLogsource:
        // The whole log source, as pySigma: what the item leaves out is cleared.
        t->logsource = LogSourceSpec{item.product, item.service, item.category};
        break;
      case TransformationType::kRuleFailure:
        t->failures.push_back(&entries_[i]);
        break;
      case TransformationType::kAddCondition:
        t->add_conditions.push_back(i);
        break;
      case TransformationType::kValuePlaceholders:
        break;  // vars reach `expand` through CompileOptions::placeholders
      default:
        if (IsFieldTransformation(item.type)) t->field_items.push_back(i);
        break;
    }
  }
  return t;
}

FieldMapping RuleTransform::Map(const std::string& field, long after, bool renaming_only) const {
  FieldMapping out;
  out.names.push_back(field);
  std::vector<std::string> next;
  for (const size_t position : field_items) {
    if (static_cast<long>(position) <= after) continue;
    const PipelineSet::Entry& entry = set_.entries()[position];
    const ProcessingItem& item = *entry.item;
    if (renaming_only && !IsFieldRenaming(item.type)) continue;
    next.clear();
    for (const std::string& name : out.names) {
      const bool holds = item.field_conditions.Holds(
          [&](const FieldNameCondition& c) { return FieldConditionHolds(c, name); });
      if (!holds) {
        next.push_back(name);
      } else if (item.type == TransformationType::kDropDetectionItem) {
        // dropped: not carried on
      } else if (item.type == TransformationType::kDetectionItemFailure) {
        out.failure = &entry;
        out.names.clear();
        return out;
      } else {
        Rename(item, name, next);
      }
    }
    // A one-to-many mapping may name a target twice (A -> [x, y], B -> [x]): keep one.
    out.names.clear();
    for (std::string& n : next) {
      if (std::find(out.names.begin(), out.names.end(), n) == out.names.end()) {
        out.names.push_back(std::move(n));
      }
    }
    if (out.names.empty()) break;
  }
  return out;
}

}  // namespace tuttle::rules
