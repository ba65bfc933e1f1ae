#include "correlation_resolver.h"

#include <fmt/format.h>

#include <algorithm>

#include "rule_processor.h"
#include "text_util.h"

namespace tuttle::rules {
namespace {

Diagnostic ErrorAt(const std::string& file, SourceLocation at, std::string message,
                   std::string hint = {}) {
  return Diagnostic{
      file, at.line, at.column, Diagnostic::Severity::kError, std::move(message), std::move(hint)};
}

}  // namespace

void IndexRules(const std::vector<ParsedDetection>& detections,
                const std::vector<ParsedCorrelation>& correlations,
                const std::vector<SkippedRule>& skipped, std::vector<bool>& detection_alive,
                std::vector<bool>& correlation_alive,
                std::unordered_map<std::string, RuleTarget>& targets, Diagnostics& diagnostics) {
  auto info_of = [&](const RuleTarget& t) -> const RuleInfo& {
    switch (t.kind) {
      case RuleTarget::Kind::kDetection:
        return *detections[t.index].info;
      case RuleTarget::Kind::kCorrelation:
        return *correlations[t.index].info;
      case RuleTarget::Kind::kSkipped:
        break;
    }
    return *skipped[t.index].info;
  };
  auto claim = [&](const RuleInfo& info, RuleTarget target) {
    bool ok = true;
    for (const std::string* key : {&info.id, &info.name}) {
      if (key->empty()) continue;
      auto [it, inserted] = targets.emplace(*key, target);
      if (inserted || (it->second.kind == target.kind && it->second.index == target.index)) {
        continue;
      }
      const RuleInfo& first = info_of(it->second);
      diagnostics.push_back(ErrorAt(
          info.file, SourceLocation{info.line, 1},
          fmt::format("rule {} '{}' is already used by '{}' ({}:{})",
                      key == &info.id ? "id" : "name", *key, first.title, first.file, first.line),
          "ids and names must be unique across all loaded rules"));
      ok = false;
    }
    return ok;
  };
  for (size_t i = 0; i < detections.size(); ++i) {
    if (!claim(*detections[i].info, {RuleTarget::Kind::kDetection, i})) {
      detection_alive[i] = false;
    }
  }
  for (size_t i = 0; i < correlations.size(); ++i) {
    if (!claim(*correlations[i].info, {RuleTarget::Kind::kCorrelation, i})) {
      correlation_alive[i] = false;
    }
  }
  // Skipped rules already have their errors: take only what is still free, silently.
  for (size_t i = 0; i < skipped.size(); ++i) {
    for (const std::string* key : {&skipped[i].info->id, &skipped[i].info->name}) {
      if (!key->empty()) targets.emplace(*key, RuleTarget{RuleTarget::Kind::kSkipped, i});
    }
  }
}

namespace {

std::string DisplayName(const RuleInfo& info) {
  if (!info.name.empty()) return info.name;
  if (!info.id.empty()) return info.id;
  return info.title;
}

class ChainSorter {
 public:
  ChainSorter(const std::vector<ParsedCorrelation>& correlations,
              const std::unordered_map<std::string, RuleTarget>& targets, std::vector<bool>& alive,
              Diagnostics& diagnostics)
      : correlations_(correlations),
        targets_(targets),
        alive_(alive),
        diagnostics_(diagnostics),
        state_(correlations.size(), kNew) {}

  std::vector<size_t> Sort() {
    for (size_t i = 0; i < correlations_.size(); ++i) Visit(i);
    return std::move(order_);
  }

 private:
  enum State { kNew, kOnPath, kDone };

  void Visit(size_t i) {
    if (state_[i] != kNew) return;
    state_[i] = kOnPath;
    path_.push_back(i);
    for (const NameRef& ref : correlations_[i].rules) {
      auto it = targets_.find(ref.text);
      if (it == targets_.end() || it->second.kind != RuleTarget::Kind::kCorrelation) continue;
      const size_t j = it->second.index;
      if (state_[j] == kOnPath) {
        ReportCycle(i, j, ref);
      } else {
        Visit(j);
      }
    }
    path_.pop_back();
    state_[i] = kDone;
    order_.push_back(i);
  }

  void ReportCycle(size_t from, size_t to, const NameRef& ref) {
    const auto start = std::find(path_.begin(), path_.end(), to);
    std::string cycle;
    for (auto it = start; it != path_.end(); ++it) {
      cycle += fmt::format("'{}' -> ", DisplayName(*correlations_[*it].info));
      alive_[*it] = false;
    }
    cycle += fmt::format("'{}'", DisplayName(*correlations_[to].info));
    diagnostics_.push_back(ErrorAt(correlations_[from].info->file, ref.where,
                                   fmt::format("correlation cycle: {}", cycle),
                                   "a correlation cannot reference itself, directly or through "
                                   "other correlations"));
  }

  const std::vector<ParsedCorrelation>& correlations_;
  const std::unordered_map<std::string, RuleTarget>& targets_;
  std::vector<bool>& alive_;
  Diagnostics& diagnostics_;
  std::vector<State> state_;
  std::vector<size_t> path_;
  std::vector<size_t> order_;
};

}  // namespace

std::vector<size_t> ChainOrder(const std::vector<ParsedCorrelation>& correlations,
                               const std::unordered_map<std::string, RuleTarget>& targets,
                               std::vector<bool>& correlation_alive, Diagnostics& diagnostics) {
  return ChainSorter(correlations, targets, correlation_alive, diagnostics).Sort();
}

const RuleInfo& CorrelationResolver::InfoOf(const Step& step) const {
  return step.correlation ? *correlations_[step.index].info : *detections_[step.index].info;
}

bool CorrelationResolver::Resolve(const ParsedCorrelation& c, CorrelationRule& out,
                                  CorrelationFields& fields) {
  const std::string& file = c.info->file;
  bool ok = true;
  std::vector<Step> steps;
  for (const NameRef& ref : c.rules) {
    auto it = targets_.find(ref.text);
    if (it == targets_.end()) {
      diagnostics_.push_back(ErrorAt(file, ref.where, fmt::format("unknown rule '{}'", ref.text),
                                     DidYouMean(ref.text, KnownNames())));
      ok = false;
      continue;
    }
    const RuleTarget& target = it->second;
    const bool failed = target.kind == RuleTarget::Kind::kSkipped ||
                        (target.kind == RuleTarget::Kind::kDetection && !alive_[target.index]) ||
                        (target.kind == RuleTarget::Kind::kCorrelation &&
                         correlation_final_[target.index] == UINT32_MAX);
    if (failed) {
      const RuleInfo& info =
          target.kind == RuleTarget::Kind::kSkipped       ? *skipped_[target.index].info
          : target.kind == RuleTarget::Kind::kCorrelation ? *correlations_[target.index].info
                                                          : *detections_[target.index].info;
      diagnostics_.push_back(
          ErrorAt(file, ref.where,
                  fmt::format("rule '{}' ({}:{}) was not loaded because of errors", ref.text,
                              info.file, info.line)));
      ok = false;
    } else {
      steps.push_back(Step{target.kind == RuleTarget::Kind::kCorrelation, target.index});
    }
  }
  if (!ok) return false;

  // Every alias entry must name a referenced rule.
  std::vector<std::string_view> referenced;
  for (const NameRef& ref : c.rules) referenced.push_back(ref.text);
  for (const auto& alias : c.aliases) {
    for (const auto& field : alias.fields) {
      if (StepOf(steps, field.rule.text) >= 0) continue;
      diagnostics_.push_back(ErrorAt(
          file, field.rule.where,
          fmt::format("alias '{}' names rule '{}', which the correlation does not reference",
                      alias.name.text, field.rule.text),
          DidYouMean(field.rule.text, referenced)));
      ok = false;
    }
  }
  if (!ok) return false;

  fields.group_by.assign(steps.size(), {});
  fields.inner_group_by.assign(steps.size(), {});
  fields.value.assign(c.value_field ? steps.size() : 0, {});
  fields.inner_value.assign(c.value_field ? steps.size() : 0, 0);
  for (size_t k = 0; k < steps.size(); ++k) {
    for (const NameRef& g : c.group_by) {
      std::string field;
      uint32_t index = 0;
      if (!FieldFor(c, g, steps[k], field)) {
        ok = false;
      } else if (steps[k].correlation && !InnerField(c, g, field, steps[k], index)) {
        ok = false;
      }
      fields.group_by[k].push_back(std::move(field));
      fields.inner_group_by[k].push_back(index);
    }
    if (c.value_field) {
      std::string field;
      uint32_t index = 0;
      if (!FieldFor(c, *c.value_field, steps[k], field)) {
        ok = false;
      } else if (steps[k].correlation && !InnerField(c, *c.value_field, field, steps[k], index)) {
        ok = false;
      }
      fields.value[k] = std::move(field);
      fields.inner_value[k] = index;
    }
  }
  if (!ok) return false;

  out.info = c.info;
  out.type = c.type;
  for (const Step& s : steps) {
    out.rules.push_back(s.correlation ? correlation_final_[s.index] : final_index_[s.index]);
    out.step_kinds.push_back(s.correlation ? StepKind::kCorrelation : StepKind::kDetection);
  }
  for (const NameRef& g : c.group_by) out.group_by.push_back(g.text);
  if (c.value_field) out.value_field = c.value_field->text;
  out.timespan = c.timespan;
  out.condition = c.condition;
  out.percentile = c.percentile;
  out.step_condition = c.step_condition;
  out.condition_text = c.condition_text;
  out.absent = c.absent;
  out.suppress = c.suppress;
  out.generate = c.generate;
  return true;
}

int CorrelationResolver::StepOf(const std::vector<Step>& steps, const std::string& name) const {
  for (size_t k = 0; k < steps.size(); ++k) {
    const RuleInfo& info = InfoOf(steps[k]);
    if (info.name == name || info.id == name) return static_cast<int>(k);
  }
  return -1;
}

bool CorrelationResolver::FieldFor(const ParsedCorrelation& c, const NameRef& name,
                                   const Step& step, std::string& out) {
  if (!FieldAsWritten(c, name, step, out)) return false;
  // A detection rule's field is read from its events: renamed as the pipelines rename the rule's
  // fields. (An inner correlation's fields are its group-by names: InnerField.)
  if (step.correlation) return true;
  const size_t detection = step.index;
  const RuleTransform* transform = detections_[detection].transform.get();
  if (transform == nullptr) return true;
  FieldMapping mapped = transform->Map(out, -1, /*renaming_only=*/true);
  if (mapped.names.size() > 1) {
    const RuleInfo& info = *detections_[detection].info;
    diagnostics_.push_back(Diagnostic{
        c.info->file, name.where.line, name.where.column, Diagnostic::Severity::kWarning,
        fmt::format("a pipeline maps field '{}' of rule '{}' to {} fields; the correlation reads "
                    "the first, '{}'",
                    out, info.name.empty() ? info.id : info.name, mapped.names.size(),
                    mapped.names.front()),
        "map correlation fields one-to-one, or use an alias"});
  }
  if (!mapped.names.empty()) out = std::move(mapped.names.front());
  return true;
}

bool CorrelationResolver::FieldAsWritten(const ParsedCorrelation& c, const NameRef& name,
                                         const Step& step, std::string& out) {
  for (const auto& alias : c.aliases) {
    if (alias.name.text != name.text) continue;
    const RuleInfo& info = InfoOf(step);
    for (const auto& field : alias.fields) {
      if (field.rule.text == info.name || field.rule.text == info.id) {
        out = field.field;
        return true;
      }
    }
    diagnostics_.push_back(
        ErrorAt(c.info->file, alias.name.where,
                fmt::format("alias '{}' gives no field for rule '{}'", alias.name.text,
                            info.name.empty() ? info.id : info.name),
                "give a field for every rule of the correlation"));
    return false;
  }
  out = name.text;
  return true;
}

bool CorrelationResolver::InnerField(const ParsedCorrelation& c, const NameRef& name,
                                     const std::string& field, const Step& step, uint32_t& out) {
  const CorrelationRule& inner = resolved_[correlation_final_[step.index]];
  for (uint32_t i = 0; i < inner.group_by.size(); ++i) {
    if (inner.group_by[i] == field) {
      out = i;
      return true;
    }
  }
  std::string carried;
  std::vector<std::string_view> names;
  for (const std::string& g : inner.group_by) {
    if (!carried.empty()) carried += ", ";
    carried += g;
    names.push_back(g);
  }
  std::string hint = DidYouMean(field, names);
  if (hint.empty()) {
    hint = fmt::format("group '{}' by '{}' too, or map it with an alias", DisplayName(*inner.info),
                       field);
  }
  diagnostics_.push_back(ErrorAt(
      c.info->file, name.where,
      fmt::format("'{}' is a correlation rule: its alerts carry only its group-by fields ({}), "
                  "not '{}'",
                  DisplayName(*inner.info), carried.empty() ? "none" : carried, field),
      std::move(hint)));
  return false;
}

std::vector<std::string_view> CorrelationResolver::KnownNames() const {
  std::vector<std::string_view> names;
  for (const auto& [name, target] : targets_) names.push_back(name);
  std::sort(names.begin(), names.end());  // deterministic hints
  return names;
}

}  // namespace tuttle::rules
