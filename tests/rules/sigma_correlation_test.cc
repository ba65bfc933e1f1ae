// Correlation rules: parsing, references by id and name across files, aliases, conditions,
// and how they link to detection rules.
#include <gtest/gtest.h>

#include "rule_harness.h"

namespace tuttle::rules::testing {
namespace {

// Two detection rules in their own file: referenced by id and by name.
const RuleSource kDetections{"rules/detections.yml", R"(title: Failed login
id: 11111111-1111-4111-8111-111111111111
name: failed_login
logsource:
    product: test
detection:
    sel:
        outcome: failure
    condition: sel
---
title: Successful login
id: 22222222-2222-4222-8222-222222222222
name: successful_login
logsource:
    product: test
detection:
    sel:
        outcome: success
    condition: sel
---
title: Unrelated
logsource:
    product: test
detection:
    sel:
        outcome: other
    condition: sel
)"};

Harness WithCorrelation(const std::string& correlation, bool strict = false) {
  return Harness({kDetections, RuleSource{"rules/correlation.yml", correlation}}, strict);
}

const CorrelationRule& Only(const Harness& h) {
  EXPECT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.set().correlations.size(), 1u) << h.Diagnostics();
  return h.set().correlations.front();
}

std::string PathOf(const Harness& h, PathId id) { return h.set().catalog->Path(id); }

TEST(SigmaCorrelation, EventCountReferencesARuleByIdAndGroupsByFields) {
  Harness h = WithCorrelation(R"(title: Brute force
id: 33333333-3333-4333-8333-333333333333
level: high
tags:
    - attack.t1110
correlation:
    type: event_count
    rules:
        - 11111111-1111-4111-8111-111111111111
    group-by:
        - user
        - source.ip
    timespan: 5m
    condition:
        gte: 10
)");
  const CorrelationRule& c = Only(h);
  EXPECT_EQ(c.info->title, "Brute force");
  EXPECT_EQ(c.info->id, "33333333-3333-4333-8333-333333333333");
  EXPECT_EQ(c.info->level, Level::kHigh);
  EXPECT_EQ(c.info->tags, (std::vector<std::string>{"attack.t1110"}));
  EXPECT_EQ(c.info->file, "rules/correlation.yml");
  EXPECT_EQ(c.type, CorrelationType::kEventCount);
  EXPECT_EQ(c.rules, (std::vector<uint32_t>{0}));
  EXPECT_EQ(c.group_by, (std::vector<std::string>{"user", "source.ip"}));
  ASSERT_EQ(c.group_by_paths.size(), 1u);
  ASSERT_EQ(c.group_by_paths[0].size(), 2u);
  EXPECT_EQ(PathOf(h, c.group_by_paths[0][0]), "user");
  EXPECT_EQ(PathOf(h, c.group_by_paths[0][1]), "source.ip");
  EXPECT_EQ(c.timespan, 5 * 60 * kNsPerSecond);
  EXPECT_EQ(c.condition.ToString(), ">= 10");
  EXPECT_FALSE(c.generate);
  EXPECT_EQ(h.report().correlations_loaded, 1u);
  EXPECT_EQ(h.report().rules_loaded, 3u);
}

TEST(SigmaCorrelation, ReferencedRulesStopEmittingAlertsUnlessGenerateIsSet) {
  const std::string correlation = R"(title: c
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - user
    timespan: 1h
    condition:
        gte: 3
)";
  Harness quiet = WithCorrelation(correlation);
  ASSERT_TRUE(quiet.ok());
  EXPECT_FALSE(quiet.set().detections[0].emits_alerts);
  EXPECT_TRUE(quiet.set().detections[1].emits_alerts);
  ASSERT_EQ(quiet.set().uses[0].size(), 1u);
  EXPECT_EQ(quiet.set().uses[0][0].correlation, 0u);

  Harness loud = WithCorrelation(correlation + "generate: true\n");
  ASSERT_TRUE(loud.ok());
  EXPECT_TRUE(loud.set().correlations[0].generate);
  EXPECT_TRUE(loud.set().detections[0].emits_alerts);
}

TEST(SigmaCorrelation, TemporalOrderedReferencesRulesByNameWithAliases) {
  Harness h = WithCorrelation(R"(title: Brute force then success
correlation:
    type: temporal_ordered
    rules:
        - failed_login
        - successful_login
    group-by:
        - account
        - host
    aliases:
        account:
            failed_login: target.user
            successful_login: user.name
    timespan: 10m
)");
  const CorrelationRule& c = Only(h);
  EXPECT_EQ(c.type, CorrelationType::kTemporalOrdered);
  EXPECT_EQ(c.rules, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(c.group_by, (std::vector<std::string>{"account", "host"}));
  ASSERT_EQ(c.group_by_paths.size(), 2u);
  EXPECT_EQ(PathOf(h, c.group_by_paths[0][0]), "target.user");
  EXPECT_EQ(PathOf(h, c.group_by_paths[0][1]), "host");
  EXPECT_EQ(PathOf(h, c.group_by_paths[1][0]), "user.name");
  EXPECT_EQ(PathOf(h, c.group_by_paths[1][1]), "host");
  // No condition: the engine requires every step.
  EXPECT_EQ(c.condition.ToString(), "");
  ASSERT_EQ(h.set().uses[1].size(), 1u);
  EXPECT_EQ(h.set().uses[1][0].step, 1u);
}

TEST(SigmaCorrelation, ValueCountReadsItsFieldPerRuleThroughAliases) {
  Harness h = WithCorrelation(R"(title: Password spraying
correlation:
    type: value_count
    rules:
        - failed_login
        - 22222222-2222-4222-8222-222222222222
    group-by:
        - source.ip
    aliases:
        account:
            failed_login: target.user
            successful_login: user.name
    timespan: 1h
    condition:
        field: account
        gt: 10
        lte: 200
)");
  const CorrelationRule& c = Only(h);
  EXPECT_EQ(c.type, CorrelationType::kValueCount);
  EXPECT_EQ(c.value_field, "account");
  ASSERT_EQ(c.value_paths.size(), 2u);
  EXPECT_EQ(PathOf(h, c.value_paths[0]), "target.user");
  EXPECT_EQ(PathOf(h, c.value_paths[1]), "user.name");
  EXPECT_EQ(c.condition.ToString(), "> 10 and <= 200");
  EXPECT_FALSE(c.condition.Holds(10));
  EXPECT_TRUE(c.condition.Holds(11));
  EXPECT_TRUE(c.condition.Holds(200));
  EXPECT_FALSE(c.condition.Holds(201));
}

TEST(SigmaCorrelation, CorrelationAndItsRulesCanShareOneFile) {
  Harness h(R"(title: Many failures
correlation:
    type: event_count
    rules:
        - failing
    group-by:
        - user
    timespan: 10m
    condition:
        eq: 3
        neq: 4
---
title: Failure
name: failing
logsource:
    product: test
detection:
    sel:
        outcome: failure
    condition: sel
)");
  const CorrelationRule& c = Only(h);
  EXPECT_EQ(c.rules, (std::vector<uint32_t>{0}));
  EXPECT_EQ(c.condition.ToString(), "== 3 and != 4");
}

// The correlation's errors, with the detections file loaded alongside.
std::string CorrelationErrors(const std::string& correlation) {
  Harness h = WithCorrelation(correlation);
  EXPECT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().correlations_loaded, 0u);
  EXPECT_EQ(h.report().rules_loaded, 3u);
  EXPECT_EQ(h.report().rules_skipped, 1u);
  return h.Diagnostics();
}

TEST(SigmaCorrelation, UnknownRuleReferenceIsLocatedWithAHint) {
  EXPECT_EQ(CorrelationErrors(R"(title: c
correlation:
    type: event_count
    rules:
        - failed_logins
    timespan: 1h
    condition:
        gte: 3
)"),
            "rules/correlation.yml:5:11: error: unknown rule 'failed_logins' "
            "(hint: did you mean 'failed_login'?)\n");
}

TEST(SigmaCorrelation, ChainsAreNotSupportedYet) {
  Harness h = WithCorrelation(R"(title: inner
name: inner
correlation:
    type: event_count
    rules:
        - failed_login
    timespan: 1h
    condition:
        gte: 3
---
title: outer
correlation:
    type: temporal
    rules:
        - inner
        - successful_login
    timespan: 1h
)");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.report().correlations_loaded, 1u);
  EXPECT_EQ(h.Diagnostics(),
            "rules/correlation.yml:15:11: error: correlation chains are not supported yet "
            "(hint: 'inner' is a correlation rule)\n");
}

TEST(SigmaCorrelation, ReferenceToASkippedRuleSaysWhy) {
  Harness h(std::vector<RuleSource>{
      {"bad.yml", Rule("bad", "sel:\n    a|nope: x\ncondition: sel") + "name: broken\n"},
      {"c.yml",
       "title: c\ncorrelation:\n    type: temporal\n    rules:\n        - broken\n"
       "    timespan: 1h\n"}});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.Diagnostics(),
            "bad.yml:6:11: error: unknown modifier 'nope'\n"
            "c.yml:5:11: error: rule 'broken' (bad.yml:1) was not loaded because of errors\n");
}

TEST(SigmaCorrelation, UnsupportedTypesAndBadFieldsAreLocated) {
  EXPECT_EQ(CorrelationErrors(R"(title: c
correlation:
    type: value_sum
    rules:
        - failed_login
    timespan: 1hour
    condition:
        field: bytes
        gte: many
        above: 3
)"),
            "rules/correlation.yml:3:11: error: correlation type 'value_sum' is not supported "
            "yet\n"
            "rules/correlation.yml:6:15: error: invalid timespan '1hour' "
            "(hint: a positive number followed by s, m, h or d, e.g. '90m')\n"
            "rules/correlation.yml:9:14: error: 'gte' takes an integer, not 'many'\n"
            "rules/correlation.yml:10:9: error: unknown condition operator 'above'\n");
}

TEST(SigmaCorrelation, EventCountNeedsACondition) {
  EXPECT_EQ(CorrelationErrors("title: c\ncorrelation:\n    type: event_count\n    rules:\n"
                              "        - failed_login\n    timespan: 1h\n"),
            "rules/correlation.yml:2:1: error: a correlation of type 'event_count' needs a "
            "'condition' "
            "(hint: e.g. 'condition: {gte: 10}')\n");
}

TEST(SigmaCorrelation, AliasesMustCoverEveryReferencedRule) {
  EXPECT_EQ(CorrelationErrors(R"(title: c
correlation:
    type: temporal
    rules:
        - failed_login
        - successful_login
    group-by:
        - account
    aliases:
        account:
            failed_login: target.user
    timespan: 10m
)"),
            "rules/correlation.yml:10:9: error: alias 'account' gives no field for rule "
            "'successful_login' (hint: give a field for every rule of the correlation)\n");
  EXPECT_EQ(CorrelationErrors(R"(title: c
correlation:
    type: temporal
    rules:
        - failed_login
    group-by:
        - account
    aliases:
        account:
            failed_logn: target.user
    timespan: 10m
)"),
            "rules/correlation.yml:10:13: error: alias 'account' names rule 'failed_logn', which "
            "the correlation does not reference (hint: did you mean 'failed_login'?)\n");
}

TEST(SigmaCorrelation, DuplicateIdsAreErrors) {
  Harness h(std::vector<RuleSource>{kDetections,
                                    {"dup.yml",
                                     "title: again\nid: 11111111-1111-4111-8111-111111111111\n"
                                     "logsource:\n    product: test\ndetection:\n"
                                     "    sel:\n        a: 1\n    condition: sel\n"}});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.report().rules_loaded, 3u);
  EXPECT_EQ(h.report().rules_skipped, 1u);
  EXPECT_EQ(h.Diagnostics(),
            "dup.yml:1:1: error: rule id '11111111-1111-4111-8111-111111111111' is already used "
            "by 'Failed login' (rules/detections.yml:1) (hint: ids and names must be unique "
            "across all loaded rules)\n");
}

}  // namespace
}  // namespace tuttle::rules::testing
