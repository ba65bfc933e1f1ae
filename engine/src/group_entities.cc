#include "tuttle/engine/group_entities.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tuttle {

void AssignGroupEntityRoles(RuleSet& rules, EntityRole (*role_of_path)(std::string_view path)) {
  const FieldCatalog* catalog = rules.catalog.get();
  for (CorrelationRule& c : rules.correlations) {
    c.group_roles.assign(c.group_by.size(), EntityRole::kNone);
    for (size_t g = 0; g < c.group_by.size(); ++g) {
      EntityRole agreed = EntityRole::kNone;
      bool first = true;
      for (size_t k = 0; k < c.group_by_paths.size(); ++k) {
        if (g >= c.group_by_paths[k].size()) {
          agreed = EntityRole::kNone;
          break;
        }
        const PathId p = c.group_by_paths[k][g];
        EntityRole role = EntityRole::kNone;
        if (c.StepIsCorrelation(k)) {
          const CorrelationRule& inner = rules.correlations[c.rules[k]];
          if (p < inner.group_roles.size()) role = inner.group_roles[p];
        } else if (p != kNoPath && catalog != nullptr && p < catalog->size()) {
          role = role_of_path(catalog->Path(p));
        }
        if (first) {
          agreed = role;
          first = false;
        } else if (role != agreed) {
          agreed = EntityRole::kNone;
        }
        if (agreed == EntityRole::kNone) break;
      }
      c.group_roles[g] = agreed;
    }
  }
}

void SetGroupEntities(const CorrelationRule& rule, Alert& alert) {
  const size_t n = std::min(rule.group_roles.size(), alert.group.size());
  bool owner = false;
  for (size_t g = 0; g < n; ++g) {
    EntityRole role = rule.group_roles[g];
    const std::string& value = alert.group[g].second;
    if (role == EntityRole::kNone || value.empty()) continue;
    if (role == EntityRole::kOwner) {
      alert.tenant = value;
      owner = true;
      continue;
    }
    if (role == EntityRole::kFunctionName && value.starts_with("arn:")) {
      role = EntityRole::kFunctionArn;
    }
    *alert.entities.Slot(role) = value;
    if (role == EntityRole::kTenant && !owner) alert.tenant = value;
  }
}

}  // namespace tuttle
