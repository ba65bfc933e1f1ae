// Sigma filters (sigma-filters-specification.md): a filter document ANDs its condition into the
// detection rules it names, when its log source fits theirs.
#include <gtest/gtest.h>

#include "rule_harness.h"

namespace tuttle::rules::testing {
namespace {

const RuleSource kRules{"rules/rules.yml", R"(title: Shell spawned
id: 6f3e2987-db24-4c78-a860-b4f4095a7095
name: shell_spawned
logsource:
    product: test
    category: process_creation
detection:
    sel:
        image|endswith: /bash
    condition: sel
---
title: Curl run
name: curl_run
logsource:
    product: test
    category: process_creation
detection:
    sel:
        image|endswith: /curl
    condition: sel
---
title: Other product
name: other_product
logsource:
    product: other
detection:
    sel:
        image|endswith: /bash
    condition: sel
)"};

Harness WithFilter(const std::string& filter, const std::string& path = "filters/mf.yml") {
  return Harness({kRules, RuleSource{path, filter}});
}

std::vector<std::string> Match(const Harness& h, const std::vector<Field>& fields,
                               std::string_view product = "test") {
  return h.Match(fields, "", LogSource{product, "", "process_creation"});
}

using Titles = std::vector<std::string>;

TEST(SigmaFilters, FilterByIdSuppressesMatchesOfTheNamedRuleOnly) {
  Harness h = WithFilter(R"(title: Admins are fine
logsource:
    product: test
filter:
    rules:
        - 6f3e2987-db24-4c78-a860-b4f4095a7095
    admins:
        user|startswith: adm_
    condition: not admins
)");
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().errors() + h.report().warnings(), 0u) << h.Diagnostics();
  EXPECT_EQ(h.report().filters_loaded, 1u);
  // Filtered: the admin's shell no longer alerts, anyone else's still does.
  EXPECT_TRUE(Match(h, {{"image", "/bin/bash"}, {"user", "adm_alice"}}).empty());
  EXPECT_EQ(Match(h, {{"image", "/bin/bash"}, {"user", "bob"}}), Titles{"Shell spawned"});
  EXPECT_EQ(Match(h, {{"image", "/bin/bash"}}), Titles{"Shell spawned"});
  // Not named: untouched.
  EXPECT_EQ(Match(h, {{"image", "/usr/bin/curl"}, {"user", "adm_alice"}}), Titles{"Curl run"});
}

TEST(SigmaFilters, FilterByNameAndPositiveConditionAsInTheSpecExample) {
  // The specification's example writes `condition: selection`: the rule then matches only
  // where the filter's selection holds too.
  Harness h = WithFilter(R"(title: Only on jump hosts
logsource:
    product: test
    category: process_creation
filter:
    rules: [curl_run]
    selection:
        host: jump
    condition: selection
)");
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().errors(), 0u) << h.Diagnostics();
  EXPECT_EQ(Match(h, {{"image", "/usr/bin/curl"}, {"host", "jump"}}), Titles{"Curl run"});
  EXPECT_TRUE(Match(h, {{"image", "/usr/bin/curl"}, {"host", "web"}}).empty());
}

TEST(SigmaFilters, RulesAnyAppliesToEveryRuleWhoseLogSourceFits) {
  Harness h = WithFilter(R"(title: Ignore the build user
logsource:
    product: test
filter:
    rules: any
    build:
        user: builder
    condition: not build
)");
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_TRUE(Match(h, {{"image", "/bin/bash"}, {"user", "builder"}}).empty());
  EXPECT_TRUE(Match(h, {{"image", "/bin/curl"}, {"user", "builder"}}).empty());
  EXPECT_EQ(Match(h, {{"image", "/bin/curl"}, {"user", "alice"}}), Titles{"Curl run"});
  // product: other does not fit the filter's product: test.
  EXPECT_EQ(Match(h, {{"image", "/bin/bash"}, {"user", "builder"}}, "other"),
            Titles{"Other product"});
}

TEST(SigmaFilters, NamedRuleWhoseLogSourceDoesNotFitIsWarnedAndLeftAlone) {
  Harness h = WithFilter(R"(title: Wrong source
logsource:
    product: test
filter:
    rules:
        - other_product
    f:
        user: root
    condition: not f
)");
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.Diagnostics(),
            "filters/mf.yml:6:11: warning: filter 'Wrong source' does not apply to rule "
            "'other_product' (rules/rules.yml:22): the rule's log source {product: other} does "
            "not fit the filter's {product: test} (hint: each field the filter's logsource sets "
            "must equal the rule's)\n");
  EXPECT_EQ(Match(h, {{"image", "/bin/bash"}, {"user", "root"}}, "other"), Titles{"Other product"});
}

TEST(SigmaFilters, UnknownRuleIsAWarningWithAHintAndTheOtherReferencesApply) {
  Harness h = WithFilter(R"(title: Typo
logsource:
    product: test
filter:
    rules:
        - curl_runn
        - shell_spawned
    f:
        user: root
    condition: not f
)");
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().errors(), 0u);
  EXPECT_EQ(h.Diagnostics(),
            "filters/mf.yml:6:11: warning: filter 'Typo' names rule 'curl_runn', which is not "
            "loaded (hint: did you mean 'curl_run'?)\n");
  EXPECT_TRUE(Match(h, {{"image", "/bin/bash"}, {"user", "root"}}).empty());
  EXPECT_EQ(Match(h, {{"image", "/bin/curl"}, {"user", "root"}}), Titles{"Curl run"});
}

TEST(SigmaFilters, FilterMayComeBeforeTheRulesItNames) {
  Harness h({RuleSource{"a/filter.yml", R"(title: First
logsource:
    product: test
filter:
    rules: shell_spawned
    f:
        user: root
    condition: not f
)"},
             kRules});
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().errors() + h.report().warnings(), 0u) << h.Diagnostics();
  EXPECT_TRUE(Match(h, {{"image", "/bin/bash"}, {"user", "root"}}).empty());
  EXPECT_EQ(Match(h, {{"image", "/bin/bash"}, {"user", "x"}}), Titles{"Shell spawned"});
}

TEST(SigmaFilters, SeveralFiltersOnOneRuleAllApply) {
  Harness h({kRules, RuleSource{"filters/a.yml", R"(title: A
logsource:
    product: test
filter:
    rules: shell_spawned
    f:
        user: root
    condition: not f
---
title: B
logsource:
    product: test
filter:
    rules: shell_spawned
    f:
        host: ci
    condition: not f
)"}});
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().filters_loaded, 2u);
  EXPECT_TRUE(Match(h, {{"image", "/bin/bash"}, {"user", "root"}}).empty());
  EXPECT_TRUE(Match(h, {{"image", "/bin/bash"}, {"host", "ci"}}).empty());
  EXPECT_EQ(Match(h, {{"image", "/bin/bash"}, {"host", "web"}, {"user", "x"}}),
            Titles{"Shell spawned"});
}

TEST(SigmaFilters, BadFilterIsALocatedErrorAndTheRulesStayUnfiltered) {
  Harness h = WithFilter(R"(title: Broken
logsource:
    product: test
filter:
    rules: [shell_spawned]
    f:
        user|startswih: adm_
    condition: not f
)");
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.Diagnostics(),
            "filters/mf.yml:7:14: error: unknown modifier 'startswih' (hint: did you mean "
            "'startswith'?)\n");
  EXPECT_EQ(h.report().rules_skipped, 1u);
  EXPECT_EQ(h.report().filters_loaded, 0u);
  EXPECT_EQ(Match(h, {{"image", "/bin/bash"}, {"user", "adm_x"}}), Titles{"Shell spawned"});
}

TEST(SigmaFilters, MissingPartsAreLocatedErrors) {
  Harness no_rules = WithFilter(
      "title: T\nlogsource:\n    product: test\nfilter:\n    f:\n        a: 1\n"
      "    condition: not f\n");
  EXPECT_EQ(no_rules.Diagnostics(),
            "filters/mf.yml:4:1: error: the filter has no 'rules' (hint: name the rules it "
            "applies to by id or name, or write 'rules: any')\n");
  Harness no_condition = WithFilter(
      "title: T\nlogsource:\n    product: test\nfilter:\n    rules: any\n"
      "    f:\n        a: 1\n");
  EXPECT_EQ(no_condition.Diagnostics(),
            "filters/mf.yml:4:1: error: the filter has no 'condition' (hint: e.g. 'condition: "
            "not f')\n");
  Harness no_logsource = WithFilter(
      "title: T\nfilter:\n    rules: any\n    f:\n        a: 1\n"
      "    condition: not f\n");
  EXPECT_EQ(no_logsource.Diagnostics(),
            "filters/mf.yml:1:1: error: the filter has no 'logsource' (hint: give the log "
            "source of the rules it tunes, e.g. {product: falco})\n");
  Harness bad_condition = WithFilter(
      "title: T\nlogsource:\n    product: test\nfilter:\n    rules: any\n"
      "    f:\n        a: 1\n    condition: not g\n");
  EXPECT_EQ(bad_condition.Diagnostics(),
            "filters/mf.yml:8:20: error: condition: undefined search identifier 'g' (hint: did "
            "you mean 'f'?)\n");
  EXPECT_TRUE(bad_condition.set().detections.size() == 3);
}

TEST(SigmaFilters, FilterNamingACorrelationIsWarned) {
  Harness h({kRules, RuleSource{"rules/c.yml", R"(title: Many shells
name: many_shells
correlation:
    type: event_count
    rules: shell_spawned
    group-by: [user]
    timespan: 5m
    condition: {gte: 3}
---
title: F
logsource:
    product: test
filter:
    rules: many_shells
    f:
        user: root
    condition: not f
)"}});
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.Diagnostics(),
            "rules/c.yml:14:12: warning: filter 'F' names correlation rule 'many_shells' (hint: "
            "filters apply to detection rules; name the rules the correlation references)\n");
}

}  // namespace
}  // namespace tuttle::rules::testing
