// The condition language: operators, precedence, quantifiers.
#include <gtest/gtest.h>

#include "rule_harness.h"

namespace tuttle::rules::testing {
namespace {

// Three search identifiers a, b, c, each true when field a, b or c is "1".
Harness Abc(std::string_view condition, std::string_view extra = "") {
  std::string detection = "a:\n    a: 1\nb:\n    b: 1\nc:\n    c: 1\n" + std::string(extra) +
                          "condition: " + std::string(condition);
  Harness h(Rule("r", detection));
  EXPECT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().errors(), 0u) << h.Diagnostics();
  return h;
}

// Truth table of the rule over a, b, c: bit i of the result is the outcome for input i, where
// bit 0 of i sets a, bit 1 sets b and bit 2 sets c.
int TruthTable(const Harness& h) {
  int table = 0;
  for (int i = 0; i < 8; ++i) {
    std::vector<Field> fields;
    if (i & 1) fields.push_back({"a", "1"});
    if (i & 2) fields.push_back({"b", "1"});
    if (i & 4) fields.push_back({"c", "1"});
    if (h.Matches(fields)) table |= 1 << i;
  }
  return table;
}

int Expected(bool (*f)(bool, bool, bool)) {
  int table = 0;
  for (int i = 0; i < 8; ++i) {
    if (f(i & 1, i & 2, i & 4)) table |= 1 << i;
  }
  return table;
}

TEST(SigmaCondition, AndBindsTighterThanOr) {
  EXPECT_EQ(TruthTable(Abc("a or b and c")),
            Expected([](bool a, bool b, bool c) { return a || (b && c); }));
  EXPECT_EQ(TruthTable(Abc("a and b or c")),
            Expected([](bool a, bool b, bool c) { return (a && b) || c; }));
}

TEST(SigmaCondition, NotBindsTighterThanAnd) {
  EXPECT_EQ(TruthTable(Abc("not a and b")), Expected([](bool a, bool b, bool) { return !a && b; }));
  EXPECT_EQ(TruthTable(Abc("not not a")), Expected([](bool a, bool, bool) { return a; }));
}

TEST(SigmaCondition, ParenthesesOverridePrecedence) {
  EXPECT_EQ(TruthTable(Abc("(a or b) and c")),
            Expected([](bool a, bool b, bool c) { return (a || b) && c; }));
  EXPECT_EQ(TruthTable(Abc("not (a or b)")),
            Expected([](bool a, bool b, bool) { return !(a || b); }));
}

// The detector only evaluates rules one of whose trigger predicates is set; negations must not
// hide a rule that holds.
TEST(SigmaCondition, NegatedCompoundsMatchExactlyWhenTheyHold) {
  EXPECT_EQ(TruthTable(Abc("not (not a or not b)")),
            Expected([](bool a, bool b, bool) { return a && b; }));
  EXPECT_EQ(TruthTable(Abc("not (a and not b) and c")),
            Expected([](bool a, bool b, bool c) { return !(a && !b) && c; }));
  EXPECT_EQ(TruthTable(Abc("(a and not b) or (not a and b)")),
            Expected([](bool a, bool b, bool) { return a != b; }));
  EXPECT_EQ(TruthTable(Abc("not (a or b) or c")),
            Expected([](bool a, bool b, bool c) { return !(a || b) || c; }));
}

TEST(SigmaCondition, KeywordsAreCaseInsensitive) {
  EXPECT_EQ(TruthTable(Abc("a AND NOT b")), Expected([](bool a, bool b, bool) { return a && !b; }));
}

TEST(SigmaCondition, OneOfPatternOrsTheMatchingIdentifiers) {
  Harness h(Rule("r",
                 "sel_a:\n    a: 1\nsel_b:\n    b: 1\nother:\n    c: 1\n"
                 "condition: 1 of sel_*"));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h.Matches({{"a", "1"}}));
  EXPECT_TRUE(h.Matches({{"b", "1"}}));
  EXPECT_FALSE(h.Matches({{"c", "1"}}));
}

TEST(SigmaCondition, AllOfPatternAndsTheMatchingIdentifiers) {
  Harness h(Rule("r",
                 "sel_a:\n    a: 1\nsel_b:\n    b: 1\nother:\n    c: 1\n"
                 "condition: all of sel_*"));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h.Matches({{"a", "1"}, {"b", "1"}}));
  EXPECT_FALSE(h.Matches({{"a", "1"}, {"c", "1"}}));
}

TEST(SigmaCondition, NotOneOfFiltersExcludesAnyFilter) {
  Harness h(Rule("r",
                 "selection:\n    a: 1\nfilter_x:\n    b: 1\nfilter_y:\n    c: 1\n"
                 "condition: selection and not 1 of filter*"));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h.Matches({{"a", "1"}}));
  EXPECT_FALSE(h.Matches({{"a", "1"}, {"b", "1"}}));
  EXPECT_FALSE(h.Matches({{"a", "1"}, {"c", "1"}}));
}

TEST(SigmaCondition, AllOfThemExcludesUnderscoreIdentifiers) {
  Harness h(Rule("r", "a:\n    a: 1\nb:\n    b: 1\n_x:\n    c: 1\ncondition: all of them"));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h.Matches({{"a", "1"}, {"b", "1"}}));
  EXPECT_FALSE(h.Matches({{"a", "1"}}));
}

TEST(SigmaCondition, OneOfThemExcludesUnderscoreIdentifiers) {
  Harness h(Rule("r", "a:\n    a: 1\n_x:\n    c: 1\ncondition: 1 of them"));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h.Matches({{"a", "1"}}));
  EXPECT_FALSE(h.Matches({{"c", "1"}}));
}

TEST(SigmaCondition, PatternStartingWithUnderscoreNamesUnderscoreIdentifiers) {
  Harness h(Rule("r", "a:\n    a: 1\n_x:\n    c: 1\ncondition: a and 1 of _*"));
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().errors(), 0u) << h.Diagnostics();
  EXPECT_TRUE(h.Matches({{"a", "1"}, {"c", "1"}}));
  EXPECT_FALSE(h.Matches({{"a", "1"}}));
}

TEST(SigmaCondition, QuantifierBindsTighterThanNot) {
  EXPECT_EQ(TruthTable(Abc("not 1 of a* and c")),
            Expected([](bool a, bool, bool c) { return !a && c; }));
}

TEST(SigmaCondition, ListOfConditionsMatchesWhenAnyHolds) {
  Harness h(Rule("r", "a:\n    a: 1\nb:\n    b: 1\ncondition:\n    - a\n    - b"));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h.Matches({{"a", "1"}}));
  EXPECT_TRUE(h.Matches({{"b", "1"}}));
  EXPECT_FALSE(h.Matches({{"c", "1"}}));
}

TEST(SigmaCondition, NegatedRuleMatchesEventsWithoutAnyTestedField) {
  // No predicate is set by such an event, so the rule must be evaluated anyway.
  Harness h(Rule("r", "filter:\n    user: admin\ncondition: not filter"));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h.Matches({}));
  EXPECT_TRUE(h.Matches({{"user", "bob"}}));
  EXPECT_FALSE(h.Matches({{"user", "admin"}}));
}

TEST(SigmaCondition, MultilineConditionParses) {
  Harness h(Rule("r", "a:\n    a: 1\nb:\n    b: 1\ncondition: a and\n    not b"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.report().errors(), 0u) << h.Diagnostics();
  EXPECT_TRUE(h.Matches({{"a", "1"}}));
  EXPECT_FALSE(h.Matches({{"a", "1"}, {"b", "1"}}));
}

}  // namespace
}  // namespace tuttle::rules::testing
