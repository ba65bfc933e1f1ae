#include "tuttle/engine/rule_set.h"

#include <fmt/format.h>

namespace tuttle {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

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
  return (product.empty() || EqualsIgnoreCase(product, event.product)) &&
         (service.empty() || EqualsIgnoreCase(service, event.service)) &&
         (category.empty() || EqualsIgnoreCase(category, event.category));
}

std::string_view CorrelationTypeName(CorrelationType type) {
  switch (type) {
    case CorrelationType::kEventCount: return "event_count";
    case CorrelationType::kValueCount: return "value_count";
    case CorrelationType::kTemporal: return "temporal";
    case CorrelationType::kTemporalOrdered: return "temporal_ordered";
  }
  return "event_count";
}

bool CountCondition::Holds(int64_t n) const {
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
  auto add = [&out](const char* op, const std::optional<int64_t>& v) {
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

void RuleSet::Link() {
  uses.assign(detections.size(), {});
  for (auto& d : detections) d.emits_alerts = true;
  std::vector<bool> referenced(detections.size(), false);
  std::vector<bool> generated(detections.size(), false);
  for (uint32_t c = 0; c < correlations.size(); ++c) {
    const CorrelationRule& rule = correlations[c];
    for (uint32_t step = 0; step < rule.rules.size(); ++step) {
      const uint32_t d = rule.rules[step];
      uses[d].push_back(CorrelationUse{c, step});
      referenced[d] = true;
      if (rule.generate) generated[d] = true;
    }
  }
  for (size_t d = 0; d < detections.size(); ++d) {
    detections[d].emits_alerts = !referenced[d] || generated[d];
  }
}

}  // namespace tuttle
