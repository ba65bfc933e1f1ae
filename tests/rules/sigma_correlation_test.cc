// Correlation rules: parsing, references by id and name across files, aliases, conditions,
// and how they link to detection rules.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "rule_harness.h"
#include "tuttle/engine/correlator.h"

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

TEST(SigmaCorrelation, ChainsReferenceCorrelationsAndReadTheirGroupBy) {
  // The outer rule comes first in the file: the loader orders inner before outer.
  Harness h = WithCorrelation(R"(title: outer
generate: true
correlation:
    type: temporal_ordered
    rules:
        - inner
        - successful_login
    group-by:
        - account
    aliases:
        account:
            inner: user
            successful_login: user.name
    timespan: 1h
---
title: inner
name: inner
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - host
        - user
    timespan: 10m
    condition:
        gte: 3
)");
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.Diagnostics(), "");
  const auto& cs = h.set().correlations;
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].info->title, "inner");
  EXPECT_EQ(cs[1].info->title, "outer");
  EXPECT_EQ(cs[0].level, 0u);
  EXPECT_EQ(cs[1].level, 1u);
  EXPECT_TRUE(cs[1].StepIsCorrelation(0));
  EXPECT_FALSE(cs[1].StepIsCorrelation(1));
  EXPECT_EQ(cs[1].rules, (std::vector<uint32_t>{0, 1}));
  // Step 0 reads the inner alert's second group-by value (user); step 1 a field of the record.
  EXPECT_EQ(cs[1].group_by_paths[0], (std::vector<PathId>{1}));
  EXPECT_EQ(PathOf(h, cs[1].group_by_paths[1][0]), "user.name");
  // generate: true on the outer rule lets the inner correlation alert on its own.
  EXPECT_TRUE(cs[0].emits_alerts);
  EXPECT_TRUE(cs[1].emits_alerts);
  ASSERT_EQ(h.set().correlation_uses[0].size(), 1u);
  EXPECT_EQ(h.set().correlation_uses[0][0].correlation, 1u);
  // The inner correlation's own rule stays quiet: the inner does not say generate.
  EXPECT_FALSE(h.set().detections[0].emits_alerts);
}

TEST(SigmaCorrelation, AnIntermediateCorrelationIsQuietWithoutGenerate) {
  Harness h = WithCorrelation(R"(title: inner
name: inner
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [user]
    timespan: 10m
    condition: {gte: 3}
---
title: outer
correlation:
    type: event_count
    rules: [inner]
    group-by: [user]
    timespan: 1h
    condition: {gte: 2}
)");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h.set().correlations.size(), 2u);
  EXPECT_FALSE(h.set().correlations[0].emits_alerts);
  EXPECT_TRUE(h.set().correlations[1].emits_alerts);
}

TEST(SigmaCorrelation, ChainFieldsMustBeGroupByFieldsOfTheInnerCorrelation) {
  Harness h = WithCorrelation(R"(title: inner
name: inner
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [user]
    timespan: 10m
    condition: {gte: 3}
---
title: outer
correlation:
    type: event_count
    rules: [inner]
    group-by:
        - host
    timespan: 1h
    condition: {gte: 2}
)");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.set().correlations.size(), 1u);
  EXPECT_EQ(h.Diagnostics(),
            "rules/correlation.yml:15:11: error: 'inner' is a correlation rule: its alerts carry "
            "only its group-by fields (user), not 'host' (hint: group 'inner' by 'host' too, or "
            "map it with an alias)\n");
}

TEST(SigmaCorrelation, CyclesAreLocatedErrors) {
  Harness h = WithCorrelation(R"(title: a
name: corr_a
correlation:
    type: temporal
    rules: [corr_b, failed_login]
    timespan: 1h
---
title: b
name: corr_b
correlation:
    type: temporal
    rules: [corr_a, successful_login]
    timespan: 1h
---
title: self
name: corr_self
correlation:
    type: temporal
    rules: [corr_self]
    timespan: 1h
---
title: user of the cycle
correlation:
    type: temporal
    rules: [corr_a]
    timespan: 1h
)");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.report().correlations_loaded, 0u);
  EXPECT_EQ(h.Diagnostics(),
            "rules/correlation.yml:12:13: error: correlation cycle: 'corr_a' -> 'corr_b' -> "
            "'corr_a' (hint: a correlation cannot reference itself, directly or through other "
            "correlations)\n"
            "rules/correlation.yml:19:13: error: correlation cycle: 'corr_self' -> 'corr_self' "
            "(hint: a correlation cannot reference itself, directly or through other "
            "correlations)\n"
            "rules/correlation.yml:25:13: error: rule 'corr_a' (rules/correlation.yml:1) was not "
            "loaded because of errors\n");
}

TEST(SigmaCorrelation, MetricTypesReadANumericFieldAndDecimalBounds) {
  Harness h = WithCorrelation(R"(title: Exfiltration
correlation:
    type: value_percentile
    rules: [failed_login, successful_login]
    group-by: [user]
    aliases:
        bytes:
            failed_login: net.bytes_out
            successful_login: bytes
    timespan: 1h
    condition:
        field: bytes
        percentile: 99.5
        gt: 1500.25
)");
  const CorrelationRule& c = Only(h);
  EXPECT_EQ(c.type, CorrelationType::kValuePercentile);
  EXPECT_EQ(c.value_field, "bytes");
  EXPECT_EQ(c.percentile, 99.5);
  ASSERT_EQ(c.value_paths.size(), 2u);
  EXPECT_EQ(PathOf(h, c.value_paths[0]), "net.bytes_out");
  EXPECT_EQ(PathOf(h, c.value_paths[1]), "bytes");
  EXPECT_EQ(c.condition.ToString(), "> 1500.25");
  for (const char* type : {"value_sum", "value_avg"}) {
    Harness m = WithCorrelation(fmt::format(R"(title: m
correlation:
    type: {}
    rules: [failed_login]
    group-by: [user]
    timespan: 1h
    condition: {{field: bytes, gte: 1e6}}
)",
                                            type));
    EXPECT_EQ(Only(m).condition.gte, 1e6) << type;
  }
}

TEST(SigmaCorrelation, MetricTypesNeedFieldAndPercentile) {
  EXPECT_EQ(CorrelationErrors(R"(title: c
correlation:
    type: value_avg
    rules: [failed_login]
    group-by: [user]
    timespan: 1h
    condition:
        gt: 500
)"),
            "rules/correlation.yml:8:9: error: a value_avg correlation needs 'field' in its "
            "condition (hint: name the numeric field the condition is computed from)\n");
  EXPECT_EQ(CorrelationErrors(R"(title: c
correlation:
    type: value_percentile
    rules: [failed_login]
    group-by: [user]
    timespan: 1h
    condition:
        field: image
        lte: 1
)"),
            "rules/correlation.yml:8:9: error: a value_percentile correlation needs 'percentile' "
            "in its condition (hint: which percentile of the values to compare, 0 to 100, e.g. "
            "'percentile: 95' (50 is the median))\n");
  EXPECT_EQ(CorrelationErrors(R"(title: c
correlation:
    type: value_percentile
    rules: [failed_login]
    timespan: 1h
    condition: {field: x, percentile: 101, lte: 1}
)"),
            "rules/correlation.yml:6:39: error: 'percentile' takes a number from 0 to 100, not "
            "'101' (hint: e.g. 'percentile: 95'; 50 is the median)\n");
  EXPECT_EQ(CorrelationErrors(R"(title: c
correlation:
    type: event_count
    rules: [failed_login]
    timespan: 1h
    condition: {field: x, percentile: 5, gte: 1.5}
)"),
            "rules/correlation.yml:6:17: error: 'field' does not apply to event_count "
            "correlations (hint: only value_count, value_sum, value_avg and value_percentile "
            "read a field)\n"
            "rules/correlation.yml:6:27: error: 'percentile' applies only to value_percentile "
            "correlations\n"
            "rules/correlation.yml:6:47: error: 'gte' takes an integer, not '1.5'\n");
}

TEST(SigmaCorrelation, BooleanTemporalConditionsNameTheRules) {
  Harness h = WithCorrelation(R"(title: c
correlation:
    type: temporal
    group-by: [user]
    timespan: 1h
    condition: failed_login and not (successful_login or Unrelated)
)");
  ASSERT_TRUE(h.ok());
  // 'Unrelated' is a title, not a name or an id: the condition names an unknown rule.
  EXPECT_EQ(h.Diagnostics(), "rules/correlation.yml:6:58: error: unknown rule 'Unrelated'\n");
  Harness ok = WithCorrelation(R"(title: c
correlation:
    type: temporal
    group-by: [user]
    timespan: 1h
    condition: failed_login and not successful_login
)");
  const CorrelationRule& c = Only(ok);
  // Without 'rules', the rules are the names of the condition, in order.
  EXPECT_EQ(c.rules, (std::vector<uint32_t>{0, 1}));
  ASSERT_TRUE(c.step_condition.has_value());
  EXPECT_FALSE(c.step_condition->Monotone());
  EXPECT_TRUE(c.step_condition->Holds({true, false}));
  EXPECT_FALSE(c.step_condition->Holds({true, true}));
  EXPECT_EQ(c.condition_text, "failed_login and not successful_login");
}

TEST(SigmaCorrelation, BooleanConditionErrorsAreLocated) {
  EXPECT_EQ(CorrelationErrors(R"(title: c
correlation:
    type: temporal
    rules: [failed_login, successful_login]
    timespan: 1h
    condition: failed_login
)"),
            "rules/correlation.yml:4:27: error: rule 'successful_login' is listed but the "
            "condition does not use it (hint: name it in the condition, or remove it from "
            "'rules')\n");
  EXPECT_EQ(CorrelationErrors(R"(title: c
correlation:
    type: temporal
    rules: [failed_login, successful_login]
    timespan: 1h
    condition: failed_login and not failed_logins
)"),
            "rules/correlation.yml:6:37: error: condition: undefined rule 'failed_logins' (hint: "
            "did you mean 'failed_login'?)\n");
  EXPECT_EQ(CorrelationErrors(R"(title: c
correlation:
    type: temporal_ordered
    rules: [failed_login, successful_login]
    timespan: 1h
    condition: failed_login and not successful_login
)"),
            "rules/correlation.yml:6:16: error: a boolean condition applies only to temporal "
            "correlations, not temporal_ordered (hint: for a step that must not occur in a "
            "sequence, use 'tuttle: {absent: [rule]}')\n");
}

TEST(SigmaCorrelation, TuttleExtensionsAbsentAndSuppress) {
  Harness h = WithCorrelation(R"(title: Login without a prior failure
correlation:
    type: temporal_ordered
    rules: [failed_login, successful_login]
    group-by: [user]
    timespan: 24h
    tuttle:
        absent: [failed_login]
        suppress: 15m
)");
  const CorrelationRule& c = Only(h);
  EXPECT_EQ(c.absent, (std::vector<bool>{true, false}));
  EXPECT_TRUE(c.HasAbsentSteps());
  EXPECT_EQ(c.suppress, 15 * 60 * kNsPerSecond);
}

TEST(SigmaCorrelation, TuttleExtensionErrorsAreLocated) {
  EXPECT_EQ(CorrelationErrors(R"(title: c
correlation:
    type: temporal_ordered
    rules: [failed_login, successful_login]
    timespan: 1h
    tuttle:
        absent: [failed_logn]
        supress: 15m
)"),
            "rules/correlation.yml:7:18: error: absent step 'failed_logn' is not listed in "
            "'rules' (hint: did you mean 'failed_login'?)\n"
            "rules/correlation.yml:8:9: error: unknown Tuttle extension 'supress' (hint: did you "
            "mean 'suppress'?)\n");
  EXPECT_EQ(CorrelationErrors(R"(title: c
correlation:
    type: temporal_ordered
    rules: [failed_login, successful_login]
    timespan: 1h
    tuttle:
        absent: [failed_login, successful_login]
        suppress: soon
)"),
            "rules/correlation.yml:7:17: error: every step is absent (hint: a sequence needs at "
            "least one step that occurs)\n"
            "rules/correlation.yml:8:19: error: invalid suppress duration 'soon' (hint: a "
            "positive number followed by s, m, h or d, e.g. '15m')\n");
  EXPECT_EQ(CorrelationErrors(R"(title: c
correlation:
    type: event_count
    rules: [failed_login]
    timespan: 1h
    condition: {gte: 2}
    tuttle: {absent: [failed_login]}
)"),
            "rules/correlation.yml:7:14: error: 'absent' applies only to temporal_ordered "
            "correlations (hint: a step that must not occur is a step of a sequence)\n");
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

TEST(SigmaCorrelation, BadTimespansBoundsAndOperatorsAreLocated) {
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
            "rules/correlation.yml:6:15: error: invalid timespan '1hour' "
            "(hint: a positive number followed by s, m, h or d, e.g. '90m')\n"
            "rules/correlation.yml:9:14: error: 'gte' takes a number, not 'many'\n"
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

// The specification's own chain example, loaded from YAML and run through the Correlator on
// event time: ten failed logins of a user, then a successful login, within ten minutes.
TEST(SigmaCorrelation, TheSpecificationsChainExampleFiresThroughTheCorrelator) {
  Harness h(R"(title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
---
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 529
            - 4625
    condition: selection
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
name: successful_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 528
            - 4624
    condition: selection
)");
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_EQ(h.Diagnostics(), "");
  const RuleSet& rs = h.set();
  ASSERT_EQ(rs.correlations.size(), 2u);
  // Neither the detection rules nor the intermediate correlation alert on their own.
  EXPECT_FALSE(rs.detections[0].emits_alerts);
  EXPECT_FALSE(rs.detections[1].emits_alerts);
  EXPECT_FALSE(rs.correlations[0].emits_alerts);

  constexpr TimeNs kS = kNsPerSecond;
  const TimeNs t0 = 1'700'000'000 * kS;
  Correlator c(rs, {});
  std::vector<Alert> alerts;
  int64_t offset = 0;
  auto record = [&](TimeNs t, uint32_t detection, const std::string& user) {
    c.Observe("security", 0, t);
    for (const CorrelationUse& use : rs.uses[detection]) {
      Signal s;
      s.correlation = use.correlation;
      s.step = use.step;
      s.detection = detection;
      s.time = t;
      s.position = SourcePosition{"security", 0, offset};
      s.record_id = Hasher().Add(offset).Finish();
      s.group = {user};
      c.Add(std::move(s));
    }
    ++offset;
    c.Advance(alerts);
  };
  for (int i = 0; i < 10; ++i) record(t0 + i * kS, 0, "alice");  // failed logins
  for (int i = 0; i < 9; ++i) record(t0 + i * kS, 0, "bob");     // one short
  record(t0 + 60 * kS, 1, "bob");
  record(t0 + 9 * kS + 600 * kS, 1, "alice");  // exactly ten minutes after the 10th failure
  c.Flush(alerts);
  ASSERT_EQ(alerts.size(), 1u);
  const Alert& a = alerts[0];
  EXPECT_EQ(a.rule->id, "b180ead8-d58f-40b2-ae54-c8940995b9b6");
  EXPECT_EQ(a.group[0], (std::pair<std::string, std::string>{"User", "alice"}));
  EXPECT_EQ(a.evidence.size(), 11u) << "ten failures through the inner alert, then the success";
  EXPECT_EQ(a.evidence.back().rule->name, "successful_login");
  EXPECT_EQ(a.chained.size(), 1u);
}

}  // namespace
}  // namespace tuttle::rules::testing
