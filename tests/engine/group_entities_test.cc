// Entities of correlation alerts: which group-by names are entities is settled when rules load,
// and an alert takes them from its group values.

#include "tuttle/engine/group_entities.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace tuttle {
namespace {

// The roles of a few real adapter paths (the ingest library has the full table).
EntityRole RoleOf(std::string_view path) {
  if (path == "user.username" || path == "userIdentity.arn") return EntityRole::kPrincipal;
  if (path == "objectRef.namespace") return EntityRole::kNamespace;
  if (path == "recipientAccountId") return EntityRole::kTenant;
  if (path == "tuttle.tenant") return EntityRole::kOwner;
  if (path == "requestParameters.functionName") return EntityRole::kFunctionName;
  return EntityRole::kNone;
}

class GroupEntitiesTest : public ::testing::Test {
 protected:
  GroupEntitiesTest() {
    auto c = std::make_shared<FieldCatalog>();
    for (const char* p : {"user.username", "userIdentity.arn", "objectRef.namespace", "verb",
                          "recipientAccountId", "requestParameters.functionName",
                          "tuttle.tenant"}) {
      c->Intern(p);
    }
    rules_.catalog = c;
  }
  PathId P(const char* path) const { return rules_.catalog->Find(path); }

  // A correlation over `steps` detection steps, group_by_paths[k] per step.
  CorrelationRule& Add(std::vector<std::string> group_by,
                       std::vector<std::vector<PathId>> paths,
                       std::vector<StepKind> kinds = {}, std::vector<uint32_t> refs = {}) {
    CorrelationRule c;
    c.info = std::make_shared<RuleInfo>();
    c.group_by = std::move(group_by);
    c.group_by_paths = std::move(paths);
    c.step_kinds = std::move(kinds);
    c.rules = refs.empty() ? std::vector<uint32_t>(c.group_by_paths.size(), 0) : refs;
    rules_.correlations.push_back(std::move(c));
    return rules_.correlations.back();
  }

  RuleSet rules_;
};

TEST_F(GroupEntitiesTest, GroupByFieldsThatAreEntitiesGetTheirRoleAtLoadTime) {
  Add({"user.username", "objectRef.namespace", "verb"},
      {{P("user.username"), P("objectRef.namespace"), P("verb")}});
  // An alias `actor` that reads the principal of both formats; an alias `who` that reads a
  // principal in one step and a namespace in the other: not one entity.
  Add({"actor", "who"}, {{P("user.username"), P("user.username")},
                         {P("userIdentity.arn"), P("objectRef.namespace")}});
  AssignGroupEntityRoles(rules_, RoleOf);
  EXPECT_EQ(rules_.correlations[0].group_roles,
            (std::vector<EntityRole>{EntityRole::kPrincipal, EntityRole::kNamespace,
                                     EntityRole::kNone}));
  EXPECT_EQ(rules_.correlations[1].group_roles,
            (std::vector<EntityRole>{EntityRole::kPrincipal, EntityRole::kNone}));
}

TEST_F(GroupEntitiesTest, AChainTakesTheRolesOfTheInnerCorrelationsGroupBy) {
  Add({"recipientAccountId", "userIdentity.arn", "requestParameters.functionName"},
      {{P("recipientAccountId"), P("userIdentity.arn"), P("requestParameters.functionName")}});
  // The outer correlation's first step is the inner one: its group-by names are read from the
  // inner's (indices 1 and 2); its second step is a detection rule.
  Add({"userIdentity.arn", "requestParameters.functionName"},
      {{1, 2}, {P("userIdentity.arn"), P("requestParameters.functionName")}},
      {StepKind::kCorrelation, StepKind::kDetection}, {0, 0});
  AssignGroupEntityRoles(rules_, RoleOf);
  EXPECT_EQ(rules_.correlations[1].group_roles,
            (std::vector<EntityRole>{EntityRole::kPrincipal, EntityRole::kFunctionName}));
  // Read from the inner's tenant: no longer the principal the detection step reads.
  rules_.correlations[1].group_by_paths[0][0] = 0;
  AssignGroupEntityRoles(rules_, RoleOf);
  EXPECT_EQ(rules_.correlations[1].group_roles[0], EntityRole::kNone);
}

TEST_F(GroupEntitiesTest, AlertsCarryTheEntitiesAndTenantOfTheirGroupValues) {
  CorrelationRule& c =
      Add({"recipientAccountId", "userIdentity.arn", "requestParameters.functionName", "verb"},
          {{P("recipientAccountId"), P("userIdentity.arn"), P("requestParameters.functionName"),
            P("verb")}});
  AssignGroupEntityRoles(rules_, RoleOf);
  Alert a;
  a.rule = c.info;
  a.kind = "event_count";
  a.group = {{"recipientAccountId", "111122223333"},
             {"userIdentity.arn", "arn:aws:sts::111122223333:assumed-role/ci/x"},
             {"requestParameters.functionName",
              "arn:aws:lambda:eu-west-1:111122223333:function:payments"},
             {"verb", "create"}};
  SetGroupEntities(c, a);
  EXPECT_EQ(a.tenant, "111122223333");
  EXPECT_EQ(a.entities.tenant, "111122223333");
  EXPECT_EQ(a.entities.principal, "arn:aws:sts::111122223333:assumed-role/ci/x");
  // A function name that is an ARN is the function's ARN.
  EXPECT_EQ(a.entities.function_arn, "arn:aws:lambda:eu-west-1:111122223333:function:payments");
  EXPECT_EQ(a.entities.function_name, "");
  a.id = ComputeAlertId(a);
  const auto j = nlohmann::json::parse(AlertToOcsfJson(a));
  EXPECT_EQ(j["metadata"]["tenant_uid"], "111122223333");
  EXPECT_EQ(j["unmapped"]["tuttle"]["tenant"], "111122223333");
  EXPECT_EQ(j["unmapped"]["tuttle"]["entity"]["principal"],
            "arn:aws:sts::111122223333:assumed-role/ci/x");
  EXPECT_FALSE(j["unmapped"]["tuttle"]["entity"].contains("verb"));

  // Grouped by the events' own tenant too: that is the alert's, the account stays an entity.
  CorrelationRule copy = c;  // `c` dangles once the vector grows
  CorrelationRule& owned = rules_.correlations.emplace_back(std::move(copy));
  owned.group_by.push_back("tuttle.tenant");
  owned.group_by_paths[0].push_back(P("tuttle.tenant"));
  AssignGroupEntityRoles(rules_, RoleOf);
  Alert b = a;
  b.tenant.clear();
  b.entities = {};
  b.group.emplace_back("tuttle.tenant", "platform-team");
  SetGroupEntities(rules_.correlations.back(), b);
  EXPECT_EQ(b.tenant, "platform-team");
  EXPECT_EQ(b.entities.tenant, "111122223333");

  // Rules loaded without roles (or groups without values) carry no entities.
  Alert plain;
  plain.group = {{"recipientAccountId", ""}};
  SetGroupEntities(rules_.correlations[0], plain);
  EXPECT_TRUE(plain.entities.empty());
  EXPECT_TRUE(plain.tenant.empty());
}

}  // namespace
}  // namespace tuttle
