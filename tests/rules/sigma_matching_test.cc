// How Sigma values and modifiers match field values.
#include <gtest/gtest.h>

#include "rule_harness.h"

namespace tuttle::rules::testing {
namespace {

Harness One(std::string_view detection) {
  Harness h(Rule("r", detection));
  EXPECT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().errors(), 0u) << h.Diagnostics();
  return h;
}

TEST(SigmaValues, PlainValueMatchesTheWholeValueIgnoringCase) {
  Harness h(Rule("r", "sel:\n    verb: Create\ncondition: sel"));
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_TRUE(h.Matches({{"verb", "create"}}));
  EXPECT_TRUE(h.Matches({{"verb", "CREATE"}}));
  EXPECT_FALSE(h.Matches({{"verb", "create2"}}));
  EXPECT_FALSE(h.Matches({{"verb", "recreate"}}));
  EXPECT_FALSE(h.Matches({{"other", "create"}}));
}

TEST(SigmaValues, ValueWithTrailingNewlineIsNotEqual) {
  Harness h(Rule("r", "sel:\n    verb: create\ncondition: sel"));
  EXPECT_FALSE(h.Matches({{"verb", "create\n"}}));
}

TEST(SigmaValues, ListOfValuesMatchesAnyOfThem) {
  Harness h(Rule("r", "sel:\n    verb:\n        - get\n        - list\ncondition: sel"));
  EXPECT_TRUE(h.Matches({{"verb", "get"}}));
  EXPECT_TRUE(h.Matches({{"verb", "list"}}));
  EXPECT_FALSE(h.Matches({{"verb", "watch"}}));
}

TEST(SigmaValues, FieldsOfOneMapMustAllMatch) {
  Harness h(Rule("r", "sel:\n    verb: create\n    objectRef.resource: pods\ncondition: sel"));
  EXPECT_TRUE(h.Matches({{"verb", "create"}, {"objectRef.resource", "pods"}}));
  EXPECT_FALSE(h.Matches({{"verb", "create"}, {"objectRef.resource", "secrets"}}));
  EXPECT_FALSE(h.Matches({{"verb", "create"}}));
}

TEST(SigmaValues, ListOfMapsMatchesWhenAnyMapMatches) {
  Harness h(Rule("r", "sel:\n    - verb: create\n    - user: alice\ncondition: sel"));
  EXPECT_TRUE(h.Matches({{"verb", "create"}}));
  EXPECT_TRUE(h.Matches({{"user", "alice"}}));
  EXPECT_FALSE(h.Matches({{"verb", "get"}, {"user", "bob"}}));
}

TEST(SigmaModifiers, ContainsMatchesAnywhereInTheValue) {
  Harness h = One("sel:\n    cmd|contains: 'curl '\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"cmd", "curl http://x"}}));
  EXPECT_TRUE(h.Matches({{"cmd", "sh -c 'CURL http://x'"}}));
  EXPECT_FALSE(h.Matches({{"cmd", "curl"}}));
}

TEST(SigmaModifiers, StartswithMatchesOnlyTheStartOfTheValue) {
  Harness h = One("sel:\n    image|startswith: /tmp/\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"image", "/tmp/x"}}));
  EXPECT_TRUE(h.Matches({{"image", "/TMP/"}}));
  EXPECT_FALSE(h.Matches({{"image", "/var/tmp/x"}}));
}

TEST(SigmaModifiers, EndswithMatchesOnlyTheEndOfTheValue) {
  Harness h = One("sel:\n    Image|endswith: '\\cmd.exe'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"Image", "C:\\Windows\\System32\\cmd.exe"}}));
  EXPECT_TRUE(h.Matches({{"Image", "C:\\WINDOWS\\CMD.EXE"}}));
  EXPECT_FALSE(h.Matches({{"Image", "C:\\cmd.exe.bak"}}));
  EXPECT_FALSE(h.Matches({{"Image", "C:\\xcmd.exe"}}));
}

TEST(SigmaModifiers, AllRequiresEveryValueOfTheList) {
  Harness h =
      One("sel:\n    cmd|contains|all:\n        - ' -enc '\n        - powershell\n"
          "condition: sel");
  EXPECT_TRUE(h.Matches({{"cmd", "powershell -nop -enc AAAA"}}));
  EXPECT_FALSE(h.Matches({{"cmd", "powershell -nop"}}));
  EXPECT_FALSE(h.Matches({{"cmd", "pwsh -enc AAAA"}}));
}

TEST(SigmaModifiers, CasedMatchesOnlyTheExactCase) {
  Harness h = One("sel:\n    name|cased: Secret\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"name", "Secret"}}));
  EXPECT_FALSE(h.Matches({{"name", "secret"}}));
  Harness c = One("sel:\n    name|contains|cased: Key\ncondition: sel");
  EXPECT_TRUE(c.Matches({{"name", "myKey1"}}));
  EXPECT_FALSE(c.Matches({{"name", "mykey1"}}));
}

TEST(SigmaModifiers, ReIsAnUnanchoredCaseSensitiveSearch) {
  Harness h = One("sel:\n    cmd|re: 'nc(at)? -[el]'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"cmd", "/bin/ncat -e /bin/sh"}}));
  EXPECT_TRUE(h.Matches({{"cmd", "nc -l 4444"}}));
  EXPECT_FALSE(h.Matches({{"cmd", "NC -l 4444"}}));
  EXPECT_FALSE(h.Matches({{"cmd", "nc -x"}}));
}

TEST(SigmaModifiers, ReWithIIgnoresCase) {
  Harness h = One("sel:\n    cmd|re|i: '^whoami$'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"cmd", "WHOAMI"}}));
  EXPECT_FALSE(h.Matches({{"cmd", "whoami2"}}));
}

TEST(SigmaModifiers, ReWithMAnchorsAtLineBreaks) {
  Harness plain = One("sel:\n    script|re: '^rm -rf'\ncondition: sel");
  Harness multi = One("sel:\n    script|re|m: '^rm -rf'\ncondition: sel");
  const std::vector<Field> event = {{"script", "cd /\nrm -rf /"}};
  EXPECT_FALSE(plain.Matches(event));
  EXPECT_TRUE(multi.Matches(event));
}

TEST(SigmaModifiers, ReWithSLetsDotMatchNewlines) {
  Harness plain = One("sel:\n    script|re: 'begin.end'\ncondition: sel");
  Harness dotall = One("sel:\n    script|re|s: 'begin.end'\ncondition: sel");
  const std::vector<Field> event = {{"script", "begin\nend"}};
  EXPECT_FALSE(plain.Matches(event));
  EXPECT_TRUE(dotall.Matches(event));
}

TEST(SigmaModifiers, ReThatMatchesTheEmptyStringMatchesEveryValue) {
  Harness h = One("sel:\n    x|re: 'a*'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"x", ""}}));
  EXPECT_TRUE(h.Matches({{"x", "bbb"}}));
  EXPECT_FALSE(h.Matches({}));
}

TEST(SigmaModifiers, ExistsTestsPresenceWhateverTheValue) {
  Harness yes = One("sel:\n    user|exists: true\ncondition: sel");
  EXPECT_TRUE(yes.Matches({{"user", "alice"}}));
  EXPECT_TRUE(yes.Matches({{"user", ""}}));
  EXPECT_TRUE(yes.Matches({Null("user")}));
  EXPECT_FALSE(yes.Matches({{"verb", "get"}}));
  Harness no = One("sel:\n    user|exists: false\ncondition: sel");
  EXPECT_FALSE(no.Matches({{"user", "alice"}}));
  EXPECT_TRUE(no.Matches({{"verb", "get"}}));
  EXPECT_TRUE(no.Matches({}));
}

TEST(SigmaWildcards, StarMatchesAnyRunAndQuestionMarkOneCharacter) {
  Harness h = One("sel:\n    image: '/usr/bin/py*3.?'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"image", "/usr/bin/python3.9"}}));
  EXPECT_TRUE(h.Matches({{"image", "/usr/bin/py3.1"}}));
  EXPECT_FALSE(h.Matches({{"image", "/usr/bin/python3.10"}}));
  EXPECT_FALSE(h.Matches({{"image", "/usr/bin/python3."}}));
}

TEST(SigmaWildcards, WildcardsMatchAcrossLineBreaks) {
  Harness h = One("sel:\n    body: 'a*b'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"body", "a\n\nb"}}));
}

TEST(SigmaWildcards, LoneStarMatchesAnyValueButNotAnAbsentField) {
  Harness h = One("sel:\n    user: '*'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"user", "x"}}));
  EXPECT_TRUE(h.Matches({{"user", ""}}));
  EXPECT_FALSE(h.Matches({{"verb", "x"}}));
}

TEST(SigmaWildcards, EscapedWildcardsMatchLiterally) {
  Harness h = One("sel:\n    a: 'what\\?'\n    b: '\\*star'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"a", "what?"}, {"b", "*star"}}));
  EXPECT_FALSE(h.Matches({{"a", "whatx"}, {"b", "*star"}}));
  EXPECT_FALSE(h.Matches({{"a", "what?"}, {"b", "xstar"}}));
}

TEST(SigmaWildcards, BackslashesFollowTheSpecEscapingRules) {
  // Plain `\` is literal; `\\*` is a backslash then a wildcard; `\\\*` a backslash and a star.
  Harness plain = One("sel:\n    p: 'C:\\Windows\\x.exe'\ncondition: sel");
  EXPECT_TRUE(plain.Matches({{"p", "C:\\Windows\\x.exe"}}));
  Harness wildcard = One("sel:\n    p: 'dir\\\\*'\ncondition: sel");
  EXPECT_TRUE(wildcard.Matches({{"p", "dir\\anything"}}));
  EXPECT_FALSE(wildcard.Matches({{"p", "dir*"}}));
  Harness literal = One("sel:\n    p: 'dir\\\\\\*'\ncondition: sel");
  EXPECT_TRUE(literal.Matches({{"p", "dir\\*"}}));
  EXPECT_FALSE(literal.Matches({{"p", "dir\\x"}}));
  Harness four = One("sel:\n    p: 'a\\\\\\\\b'\ncondition: sel");
  EXPECT_TRUE(four.Matches({{"p", "a\\\\b"}}));
  EXPECT_FALSE(four.Matches({{"p", "a\\b"}}));
}

TEST(SigmaWildcards, RegexSyntaxInPlainValuesIsLiteral) {
  Harness h = One("sel:\n    v: 'a.b(c)+[d]$'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"v", "a.b(c)+[d]$"}}));
  EXPECT_FALSE(h.Matches({{"v", "axbcc[d]"}}));
}

TEST(SigmaValues, NonAsciiValuesMatchByteForByte) {
  Harness h = One("sel:\n    v|contains: 'café'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"v", "le café noir"}}));
  EXPECT_FALSE(h.Matches({{"v", "le cafe noir"}}));
}

TEST(SigmaValues, NumbersCompareAsTextAgainstTheFieldText) {
  Harness h = One("sel:\n    EventID: 4624\ncondition: sel");
  EXPECT_TRUE(h.Matches({Number("EventID", "4624")}));
  EXPECT_TRUE(h.Matches({{"EventID", "4624"}}));
  EXPECT_FALSE(h.Matches({Number("EventID", "46240")}));
  Harness c = One("sel:\n    code|startswith: 40\ncondition: sel");
  EXPECT_TRUE(c.Matches({Number("code", "403")}));
  EXPECT_FALSE(c.Matches({Number("code", "500")}));
}

TEST(SigmaValues, BooleansCompareAsText) {
  Harness h = One("sel:\n    privileged: true\ncondition: sel");
  EXPECT_TRUE(h.Matches({Bool("privileged", true)}));
  EXPECT_FALSE(h.Matches({Bool("privileged", false)}));
}

TEST(SigmaValues, NullMatchesAnAbsentOrNullField) {
  Harness h = One("sel:\n    verb: get\nempty:\n    user: null\ncondition: sel and empty");
  EXPECT_TRUE(h.Matches({{"verb", "get"}}));
  EXPECT_TRUE(h.Matches({{"verb", "get"}, Null("user")}));
  EXPECT_FALSE(h.Matches({{"verb", "get"}, {"user", "alice"}}));
  EXPECT_FALSE(h.Matches({{"verb", "get"}, {"user", ""}}));
}

TEST(SigmaValues, EmptyStringMatchesOnlyAnEmptyValue) {
  Harness h = One("sel:\n    user: ''\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"user", ""}}));
  EXPECT_FALSE(h.Matches({{"user", "x"}}));
  EXPECT_FALSE(h.Matches({}));
  EXPECT_FALSE(h.Matches({Null("user")}));
}

TEST(SigmaArrays, AClauseMatchesWhenAnyElementMatches) {
  Harness h = One("sel:\n    groups: system:masters\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"groups", "system:authenticated"}, {"groups", "system:masters"}}));
  EXPECT_FALSE(h.Matches({{"groups", "system:authenticated"}, {"groups", "dev"}}));
}

TEST(SigmaArrays, AllNeedsEachValueInSomeElement) {
  Harness h = One("sel:\n    caps|all:\n        - SYS_ADMIN\n        - NET_ADMIN\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"caps", "NET_ADMIN"}, {"caps", "CHOWN"}, {"caps", "SYS_ADMIN"}}));
  EXPECT_FALSE(h.Matches({{"caps", "NET_ADMIN"}, {"caps", "CHOWN"}}));
}

TEST(SigmaKeywords, KeywordsSearchTheRawRecordIgnoringCase) {
  Harness h = One("keywords:\n    - 'event::clear'\n    - mimikatz\ncondition: keywords");
  EXPECT_TRUE(h.Matches({}, R"({"cmd":"Mimikatz.exe"})"));
  EXPECT_TRUE(h.Matches({}, R"({"cmd":"x event::clear y"})"));
  EXPECT_FALSE(h.Matches({}, R"({"cmd":"event:clear"})"));
}

TEST(SigmaKeywords, AllKeyRequiresEveryKeyword) {
  Harness h =
      One("keywords:\n    '|all':\n        - OabVirtualDirectory\n"
          "        - ' -ExternalUrl '\ncondition: keywords");
  EXPECT_TRUE(h.Matches({}, "Set-OabVirtualDirectory -ExternalUrl http://x"));
  EXPECT_FALSE(h.Matches({}, "Set-OabVirtualDirectory -InternalUrl http://x"));
}

TEST(SigmaKeywords, KeywordRulesApplyOnlyToTheirLogSource) {
  Harness h(Rule("k8s", "kw:\n    - secret\ncondition: kw", "product: kubernetes") + "---\n" +
            Rule("aws", "kw:\n    - secret\ncondition: kw", "product: aws"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.Match({}, "my secret", LogSource{"aws", "", ""}), (std::vector<std::string>{"aws"}));
  EXPECT_TRUE(h.Match({}, "my secret", LogSource{"gcp", "", ""}).empty());
}

TEST(SigmaKeywords, KeywordsCombineWithFieldSelections) {
  Harness h = One("sel:\n    verb: create\nkw:\n    - secret\ncondition: sel and kw");
  EXPECT_TRUE(h.Matches({{"verb", "create"}}, R"({"verb":"create","r":"Secrets"})"));
  EXPECT_FALSE(h.Matches({{"verb", "create"}}, R"({"verb":"create","r":"pods"})"));
}

}  // namespace
}  // namespace tuttle::rules::testing
