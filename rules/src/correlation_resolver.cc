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

bool CorrelationResolver::Resolve(const ParsedCorrelation& c, CorrelationRule& out,
                                  CorrelationFields& fields) {
  const std::string& file = c.info->file;
  bool ok = true;
  std::vector<size_t> steps;  // parsed detection indices
  for (const NameRef& ref : c.rules) {
    auto it = targets_.find(ref.text);
    if (it == targets_.end()) {
      diagnostics_.push_back(ErrorAt(file, ref.where, fmt::format("unknown rule '{}'", ref.text),
                                     DidYouMean(ref.text, KnownNames())));
      ok = false;
      continue;
    }
    const RuleTarget& target = it->second;
    if (target.kind == RuleTarget::Kind::kCorrelation) {
      diagnostics_.push_back(ErrorAt(file, ref.where, "correlation chains are not supported yet",
                                     fmt::format("'{}' is a correlation rule", ref.text)));
      ok = false;
    } else if (target.kind == RuleTarget::Kind::kSkipped || !alive_[target.index]) {
      const RuleInfo& info = target.kind == RuleTarget::Kind::kSkipped
                                 ? *skipped_[target.index].info
                                 : *detections_[target.index].info;
      diagnostics_.push_back(
          ErrorAt(file, ref.where,
                  fmt::format("rule '{}' ({}:{}) was not loaded because of errors", ref.text,
                              info.file, info.line)));
      ok = false;
    } else {
      steps.push_back(target.index);
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
  fields.value.clear();
  for (size_t k = 0; k < steps.size(); ++k) {
    for (const NameRef& g : c.group_by) {
      std::string field;
      if (!FieldFor(c, g, steps[k], field)) ok = false;
      fields.group_by[k].push_back(std::move(field));
    }
    if (c.value_field) {
      std::string field;
      if (!FieldFor(c, *c.value_field, steps[k], field)) ok = false;
      fields.value.push_back(std::move(field));
    }
  }
  if (!ok) return false;

  out.info = c.info;
  out.type = c.type;
  for (const size_t s : steps) out.rules.push_back(final_index_[s]);
  for (const NameRef& g : c.group_by) out.group_by.push_back(g.text);
  if (c.value_field) out.value_field = c.value_field->text;
  out.timespan = c.timespan;
  out.condition = c.condition;
  out.generate = c.generate;
  return true;
}

int CorrelationResolver::StepOf(const std::vector<size_t>& steps, const std::string& name) const {
  for (size_t k = 0; k < steps.size(); ++k) {
    const RuleInfo& info = *detections_[steps[k]].info;
    if (info.name == name || info.id == name) return static_cast<int>(k);
  }
  return -1;
}

bool CorrelationResolver::FieldFor(const ParsedCorrelation& c, const NameRef& name,
                                   size_t detection, std::string& out) {
  if (!FieldAsWritten(c, name, detection, out)) return false;
  // The field is read from the rule's events: renamed as the pipelines rename the rule's fields.
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
                                         size_t detection, std::string& out) {
  for (const auto& alias : c.aliases) {
    if (alias.name.text != name.text) continue;
    const RuleInfo& info = *detections_[detection].info;
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

std::vector<std::string_view> CorrelationResolver::KnownNames() const {
  std::vector<std::string_view> names;
  for (const auto& [name, target] : targets_) names.push_back(name);
  std::sort(names.begin(), names.end());  // deterministic hints
  return names;
}

}  // namespace tuttle::rules
