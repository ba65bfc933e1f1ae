#include "tuttle/engine/rule_set.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

#include "tuttle/engine/ascii.h"

namespace tuttle {
std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kInformational: return "informational";
    case Level::kLow: return "low";
    case Level::kMedium: return "medium";
    case Level::kHigh: return "high";
    case Level::kCritical: return "critical";
  }
  return "medium";
}

bool LogSourceSpec::Matches(const LogSource& event) const {
  return (product.empty() || AsciiEqualsIgnoreCase(product, event.product)) &&
         (service.empty() || AsciiEqualsIgnoreCase(service, event.service)) &&
         (category.empty() || AsciiEqualsIgnoreCase(category, event.category));
}

std::string_view CorrelationTypeName(CorrelationType type) {
  switch (type) {
    case CorrelationType::kEventCount: return "event_count";
    case CorrelationType::kValueCount: return "value_count";
    case CorrelationType::kTemporal: return "temporal";
    case CorrelationType::kTemporalOrdered: return "temporal_ordered";
    case CorrelationType::kValueSum: return "value_sum";
    case CorrelationType::kValueAvg: return "value_avg";
    case CorrelationType::kValuePercentile: return "value_percentile";
  }
  return "event_count";
}

bool IsMetricType(CorrelationType type) {
  return type == CorrelationType::kValueSum || type == CorrelationType::kValueAvg ||
         type == CorrelationType::kValuePercentile;
}

bool CountCondition::Holds(double n) const {
  if (gt && !(n > *gt)) return false;
  if (gte && !(n >= *gte)) return false;
  if (lt && !(n < *lt)) return false;
  if (lte && !(n <= *lte)) return false;
  if (eq && !(n == *eq)) return false;
  if (neq && !(n != *neq)) return false;
  return true;
}

std::string CountCondition::ToString() const {
  std::string out;
  auto add = [&out](const char* op, const std::optional<double>& v) {
    if (!v) return;
    if (!out.empty()) out += " and ";
    out += fmt::format("{} {}", op, *v);
  };
  add(">", gt);
  add(">=", gte);
  add("<", lt);
  add("<=", lte);
  add("==", eq);
  add("!=", neq);
  return out;
}

bool StepExpr::Holds(const std::vector<bool>& present) const {
  switch (op) {
    case Op::kStep: return step < present.size() && present[step];
    case Op::kNot: return children.empty() || !children[0].Holds(present);
    case Op::kAnd:
      for (const auto& c : children) {
        if (!c.Holds(present)) return false;
      }
      return true;
    case Op::kOr:
      for (const auto& c : children) {
        if (c.Holds(present)) return true;
      }
      return false;
  }
  return false;
}

bool StepExpr::Monotone() const {
  if (op == Op::kNot) return false;
  for (const auto& c : children) {
    if (!c.Monotone()) return false;
  }
  return true;
}

bool CorrelationRule::HasAbsentSteps() const {
  for (const bool a : absent) {
    if (a) return true;
  }
  return false;
}

void RuleSet::Link() {
  uses.assign(detections.size(), {});
  correlation_uses.assign(correlations.size(), {});
  for (auto& d : detections) d.emits_alerts = true;
  std::vector<bool> referenced(detections.size(), false);
  std::vector<bool> generated(detections.size(), false);
  std::vector<bool> c_referenced(correlations.size(), false);
  std::vector<bool> c_generated(correlations.size(), false);
  for (uint32_t c = 0; c < correlations.size(); ++c) {
    CorrelationRule& rule = correlations[c];
    rule.level = 0;
    for (uint32_t step = 0; step < rule.rules.size(); ++step) {
      const uint32_t r = rule.rules[step];
      if (rule.StepIsCorrelation(step)) {
        assert(r < c && "correlations must come after the correlations they reference");
        correlation_uses[r].push_back(CorrelationUse{c, step});
        c_referenced[r] = true;
        if (rule.generate) c_generated[r] = true;
        rule.level = std::max(rule.level, correlations[r].level + 1);
      } else {
        uses[r].push_back(CorrelationUse{c, step});
        referenced[r] = true;
        if (rule.generate) generated[r] = true;
      }
    }
  }
  for (size_t d = 0; d < detections.size(); ++d) {
    detections[d].emits_alerts = !referenced[d] || generated[d];
  }
  for (size_t c = 0; c < correlations.size(); ++c) {
    correlations[c].emits_alerts = !c_referenced[c] || c_generated[c];
  }
}

namespace {

void AppendStepExpr(const StepExpr& e, std::string& out) {
  switch (e.op) {
    case StepExpr::Op::kStep: out += fmt::format("s{}", e.step); return;
    case StepExpr::Op::kAnd: out += "and("; break;
    case StepExpr::Op::kOr: out += "or("; break;
    case StepExpr::Op::kNot: out += "not("; break;
  }
  for (const StepExpr& c : e.children) {
    AppendStepExpr(c, out);
    out += ',';
  }
  out += ')';
}

}  // namespace

std::string CorrelationFingerprint(const RuleSet& rules, uint32_t correlation) {
  const CorrelationRule& c = rules.correlations[correlation];
  // Length-prefixed fields, so that no two different rules print the same text.
  std::string out;
  auto field = [&](std::string_view v) { out += fmt::format("{}:{};", v.size(), v); };
  field(CorrelationTypeName(c.type));
  for (size_t k = 0; k < c.rules.size(); ++k) {
    const bool inner = c.StepIsCorrelation(k);
    const auto& info = inner ? rules.correlations[c.rules[k]].info : rules.detections[c.rules[k]].info;
    field(inner ? "c" : "d");
    field(info->id);
    for (const PathId p : k < c.group_by_paths.size() ? c.group_by_paths[k] : std::vector<PathId>{}) {
      field(inner || p == kNoPath || !rules.catalog ? fmt::format("#{}", p) : rules.catalog->Path(p));
    }
    if (k < c.absent.size()) field(c.absent[k] ? "absent" : "present");
  }
  for (const std::string& g : c.group_by) field(g);
  field(c.value_field);
  field(fmt::format("{}", c.timespan));
  field(c.condition.ToString());
  field(fmt::format("{}", c.percentile));
  std::string expr;
  if (c.step_condition) AppendStepExpr(*c.step_condition, expr);
  field(expr);
  field(fmt::format("{}", c.suppress));
  field(c.generate ? "generate" : "");
  return out;
}

}  // namespace tuttle
