// Located diagnostics: every error names the file, line and column, with a hint where one helps.
#include <gtest/gtest.h>

#include "rule_harness.h"

namespace tuttle::rules::testing {
namespace {

// Lines 1-4 of every rule below; the detection's first line is line 5.
constexpr std::string_view kHeader =
    "title: t\n"
    "logsource:\n"
    "    product: test\n"
    "detection:\n";

std::string Doc(std::string_view detection) {
  return std::string(kHeader) + std::string(detection);
}

// Compiles `yaml` and returns its diagnostics; expects the one rule to be skipped.
std::string Errors(std::string_view yaml) {
  Harness h{std::string(yaml)};
  EXPECT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().rules_loaded, 0u);
  EXPECT_EQ(h.report().rules_skipped, 1u);
  return h.Diagnostics();
}

TEST(SigmaDiagnostics, UnknownModifierPointsAtItWithADidYouMeanHint) {
  EXPECT_EQ(Errors(Doc("    sel:\n"
                       "        Image|contians: x\n"
                       "    condition: sel\n")),
            "rules/test.yml:6:15: error: unknown modifier 'contians' "
            "(hint: did you mean 'contains'?)\n");
}

TEST(SigmaDiagnostics, UnknownModifierInQuotedKeyCountsTheQuote) {
  EXPECT_EQ(Errors(Doc("    sel:\n"
                       "        'Image|endswith|al': x\n"
                       "    condition: sel\n")),
            "rules/test.yml:6:25: error: unknown modifier 'al' (hint: did you mean 'all'?)\n");
}

TEST(SigmaDiagnostics, ConflictingAndMisplacedModifiersAreErrors) {
  EXPECT_EQ(Errors(Doc("    sel:\n"
                       "        a|contains|endswith: x\n"
                       "        b|i: x\n"
                       "        c|exists|cased: true\n"
                       "    condition: sel\n")),
            "rules/test.yml:6:20: error: modifier 'endswith' cannot be combined with 'contains'\n"
            "rules/test.yml:7:11: error: modifier 'i' is a flag of 're' and must follow it "
            "(hint: write '|re|i')\n"
            "rules/test.yml:8:11: error: modifier 'exists' cannot be combined with other "
            "modifiers\n");
}

TEST(SigmaDiagnostics, UndefinedIdentifierPointsAtItsColumnInTheCondition) {
  EXPECT_EQ(Errors(Doc("    selection:\n"
                       "        a: x\n"
                       "    filter:\n"
                       "        b: y\n"
                       "    condition: selection and not filtr\n")),
            "rules/test.yml:9:34: error: condition: undefined search identifier 'filtr' "
            "(hint: did you mean 'filter'?)\n");
}

TEST(SigmaDiagnostics, QuotedConditionColumnsCountTheQuote) {
  EXPECT_EQ(Errors(Doc("    sel:\n"
                       "        a: x\n"
                       "    condition: 'sel or nope'\n")),
            "rules/test.yml:7:24: error: condition: undefined search identifier 'nope'\n");
}

TEST(SigmaDiagnostics, PatternMatchingNoIdentifierIsAnError) {
  EXPECT_EQ(Errors(Doc("    sel:\n"
                       "        a: x\n"
                       "    condition: sel and not 1 of filter_*\n")),
            "rules/test.yml:7:33: error: condition: 'filter_*' matches no search identifier\n");
}

TEST(SigmaDiagnostics, ConditionSyntaxErrorsPointAtTheOffendingToken) {
  EXPECT_EQ(Errors(Doc("    sel:\n"
                       "        a: x\n"
                       "    condition: (sel or sel\n")),
            "rules/test.yml:7:27: error: condition: missing ')'\n");
  EXPECT_EQ(Errors(Doc("    sel:\n"
                       "        a: x\n"
                       "    condition: sel and or sel\n")),
            "rules/test.yml:7:24: error: condition: unexpected 'or' "
            "(hint: an identifier is missing)\n");
  EXPECT_EQ(Errors(Doc("    sel:\n"
                       "        a: x\n"
                       "    condition: sel sel\n")),
            "rules/test.yml:7:20: error: condition: expected 'and', 'or' or the end of the "
            "condition, found 'sel'\n");
  EXPECT_EQ(Errors(Doc("    sel:\n"
                       "        a: x\n"
                       "    condition: sel | count() by a > 5\n")),
            "rules/test.yml:7:20: error: condition: aggregation expressions ('| count() ...') "
            "are not supported (hint: write a Sigma correlation rule instead)\n");
  EXPECT_EQ(Errors(Doc("    sel:\n"
                       "        a: x\n"
                       "    condition: 2 of sel*\n")),
            "rules/test.yml:7:16: error: condition: unsupported quantifier '2' "
            "(hint: Sigma allows '1 of' and 'all of')\n");
}

TEST(SigmaDiagnostics, InvalidYamlIsLocated) {
  EXPECT_EQ(Errors("title: t\n"
                   "detection:\n"
                   "    sel: [a, b\n"
                   "    condition: sel\n"),
            "rules/test.yml:4:14: error: invalid YAML: end of sequence flow not found\n");
}

TEST(SigmaDiagnostics, RegexRefusedByHyperscanPointsAtTheValue) {
  EXPECT_EQ(Errors(Doc("    sel:\n"
                       "        cmd|re: '(a)\\1'\n"
                       "    condition: sel\n")),
            "rules/test.yml:6:17: error: regular expression refused by Hyperscan: "
            "Back-references are unsupported. "
            "(hint: Hyperscan supports PCRE without back-references or lookaround)\n");
}

TEST(SigmaDiagnostics, ValueShapesSigmaDoesNotAllowAreErrors) {
  EXPECT_EQ(Errors(Doc("    sel:\n"
                       "        a|exists: maybe\n"
                       "        b|contains: null\n"
                       "        c:\n"
                       "            d: e\n"
                       "        f: []\n"
                       "    empty:\n"
                       "    condition: sel and empty\n")),
            "rules/test.yml:6:19: error: 'exists' takes true or false\n"
            "rules/test.yml:7:21: error: null cannot be combined with modifiers "
            "(hint: 'field: null' alone tests that the field is absent or null)\n"
            "rules/test.yml:9:13: error: 'c' must have a value or a list of values, not a map "
            "(hint: nested maps are not Sigma; use a dotted field name such as 'a.b')\n"
            "rules/test.yml:10:12: error: 'f' has an empty list of values\n"
            "rules/test.yml:11:5: error: search identifier 'empty' is empty "
            "(hint: give it a map of fields or a list of keywords)\n");
}

TEST(SigmaDiagnostics, MissingConditionAndDuplicateKeysAreErrors) {
  EXPECT_EQ(Errors(Doc("    sel:\n"
                       "        a: x\n"
                       "        a: y\n")),
            "rules/test.yml:4:1: error: the detection has no 'condition' "
            "(hint: e.g. 'condition: sel')\n"
            "rules/test.yml:7:9: error: duplicate key 'a' (first at line 6) "
            "(hint: YAML keeps only one of them; merge the two or rename one)\n");
}

TEST(SigmaDiagnostics, DocumentThatIsNoRuleIsAnError) {
  EXPECT_EQ(Errors("title: t\nfoo: bar\n"),
            "rules/test.yml:1:1: error: the document is neither a detection rule nor a "
            "correlation rule (hint: a rule needs a 'detection' or a 'correlation' section)\n");
}

TEST(SigmaDiagnostics, MisspeltSectionGetsAHint) {
  EXPECT_EQ(Errors("title: t\ndetections:\n    sel:\n        a: x\n    condition: sel\n"),
            "rules/test.yml:1:1: error: the document is neither a detection rule nor a "
            "correlation rule (hint: 'detections': did you mean 'detection'?)\n");
}

TEST(SigmaDiagnostics, MissingLogsourceIsAWarningAndTheRuleAppliesEverywhere) {
  Harness h("title: t\ndetection:\n    sel:\n        a: x\n    condition: sel\n");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.report().rules_loaded, 1u);
  EXPECT_EQ(h.Diagnostics(),
            "rules/test.yml:1:1: warning: the rule has no 'logsource'; it applies to events of "
            "every source\n");
  EXPECT_EQ(h.Match({{"a", "x"}}, "", LogSource{"anything", "at", "all"}).size(), 1u);
}

TEST(SigmaDiagnostics, NonStrictModeSkipsBadRulesAndLoadsTheOthers) {
  const std::string yaml = Rule("good", "sel:\n    a: x\ncondition: sel") + "---\n" +
                           Rule("bad", "sel:\n    a|nope: x\ncondition: sel");
  Harness h(yaml);
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().rules_loaded, 1u);
  EXPECT_EQ(h.report().rules_skipped, 1u);
  EXPECT_EQ(h.report().errors(), 1u);
  EXPECT_EQ(h.Match({{"a", "x"}}), (std::vector<std::string>{"good"}));
}

TEST(SigmaDiagnostics, StrictModeFailsTheWholeCompileListingTheErrors) {
  const std::string yaml = Rule("good", "sel:\n    a: x\ncondition: sel") + "---\n" +
                           Rule("bad", "sel:\n    a|nope: x\ncondition: sel");
  Harness h(yaml, /*strict=*/true);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error(),
            "1 error in Sigma rules (strict mode):\n"
            "rules/test.yml:14:11: error: unknown modifier 'nope'");
  EXPECT_EQ(h.report().errors(), 1u);
}

TEST(SigmaDiagnostics, StrictModeAcceptsWarnings) {
  Harness h(Rule("r", "sel:\n    a: x\ncondition: sel") + "level: loud\n", /*strict=*/true);
  EXPECT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().warnings(), 1u);
}

TEST(SigmaDiagnostics, DiagnosticsComeFileByFileInSourceOrder) {
  Harness h(std::vector<RuleSource>{
      {"b.yml", Rule("b", "sel:\n    a|x: 1\ncondition: sel")},
      {"a.yml", Rule("a", "sel:\n    a|y: 1\ncondition: sel")},
  });
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.Diagnostics(),
            "b.yml:6:11: error: unknown modifier 'x'\n"
            "a.yml:6:11: error: unknown modifier 'y'\n");
}

}  // namespace
}  // namespace tuttle::rules::testing
