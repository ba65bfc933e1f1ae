#pragma once
// Entities of correlation alerts. A correlation groups its signals by field values; when a
// group-by field is one an adapter reads an entity from (`user.username` is the principal of a
// Kubernetes audit event, `recipientAccountId` the tenant of a CloudTrail record), the group's
// value is that entity. Which fields those are is decided once, when rules are loaded
// (AssignGroupEntityRoles); an alert then takes its entities from its group values
// (SetGroupEntities), so signals carry nothing more than they did.
//
// The engine does not know the formats: the caller passes the mapping from field path to entity
// (ingest::EntityRoleOfPath for the JSON parser's adapters). docs/correlation.md, "Entities".

#include <string_view>

#include "tuttle/engine/alert.h"
#include "tuttle/engine/event.h"
#include "tuttle/engine/rule_set.h"

namespace tuttle {

// Fills CorrelationRule::group_roles of every correlation. Group-by name g gets role R when every
// step reads R through it: a detection step reads a field path that role_of_path maps to R, a
// correlation step (a chain) reads a group-by name of the inner correlation whose role is R.
// Steps that disagree, or a path without a role, leave g without one.
// REQUIRES: rules.catalog is set; a correlation step references only correlations with a smaller
// index (as for RuleSet::Link).
void AssignGroupEntityRoles(RuleSet& rules, EntityRole (*role_of_path)(std::string_view path));

// Sets alert.entities from alert.group (in rule.group_by order) for the names with a role, and
// alert.tenant from the kOwner value (the events' own Event::tenant), else from the kTenant value
// (the account the records name, which a tenant fixed per source does not change). A
// function-name value that is an ARN ("arn:...") is the function's ARN. Empty values are not
// entities.
void SetGroupEntities(const CorrelationRule& rule, Alert& alert);

}  // namespace tuttle
