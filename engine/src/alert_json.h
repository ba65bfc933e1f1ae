#pragma once
// What the alert documents share (engine/src only): the facts every format carries under its
// Tuttle extension (OCSF `unmapped.tuttle`, ECS `tuttle`).

#include <nlohmann/json.hpp>

#include "tuttle/engine/alert.h"

namespace tuttle::detail {

// Adds to `tuttle`: rule_name, count (correlations), condition, values, field, value and
// numeric_values, suppressed, chained_alerts, log_source, rule_file, tenant, details; each only
// when the alert has it.
void AddAlertFacts(const Alert& alert, nlohmann::json& tuttle);

}  // namespace tuttle::detail
