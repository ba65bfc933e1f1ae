// The modifiers of the Sigma modifiers appendix (v2.1.0) beyond the basic string ones: one test
// per modifier, positive and negative, each quoting the sentence of the appendix it checks.
// (contains, startswith, endswith, all, cased, re, exists: sigma_matching_test.cc.)
#include <gtest/gtest.h>

#include "rule_harness.h"

namespace tuttle::rules::testing {
namespace {

using namespace std::string_literals;

Harness One(std::string_view detection) {
  Harness h(Rule("r", detection));
  EXPECT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().errors(), 0u) << h.Diagnostics();
  return h;
}

// The diagnostics of one rule expected to be skipped.
std::string Errors(std::string_view detection) {
  Harness h(Rule("r", detection));
  EXPECT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().rules_skipped, 1u);
  return h.Diagnostics();
}

// --- windash ------------------------------------------------------------------------------------
// "Creates all possible permutations of the -, /, – (en dash), — (em dash), and ― (horizontal
// bar) characters."
TEST(SigmaWindash, AnyDashOrSlashStandsForTheOthers) {
  Harness h = One("sel:\n    cmd|windash|contains: ' -enc '\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"cmd", "powershell -enc AAAA"}}));
  EXPECT_TRUE(h.Matches({{"cmd", "powershell /enc AAAA"}}));
  EXPECT_TRUE(h.Matches({{"cmd", "powershell \xe2\x80\x93" "enc AAAA"}}));  // en dash
  EXPECT_TRUE(h.Matches({{"cmd", "powershell \xe2\x80\x94" "enc AAAA"}}));  // em dash
  EXPECT_TRUE(h.Matches({{"cmd", "powershell \xe2\x80\x95" "enc AAAA"}}));  // horizontal bar
  EXPECT_TRUE(h.Matches({{"cmd", "POWERSHELL /ENC AAAA"}}));
  EXPECT_FALSE(h.Matches({{"cmd", "powershell +enc AAAA"}}));
  EXPECT_FALSE(h.Matches({{"cmd", "powershell enc AAAA"}}));
}

// pySigma's reading, which SigmaHQ rules rely on: only a dash that starts a word is a flag
// character; "-param-name" varies its first dash, not the second.
TEST(SigmaWindash, OnlyDashesThatStartAWordVary) {
  Harness h = One("sel:\n    cmd|windash: '-param-name'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"cmd", "-param-name"}}));
  EXPECT_TRUE(h.Matches({{"cmd", "/param-name"}}));
  EXPECT_FALSE(h.Matches({{"cmd", "/param/name"}}));
  EXPECT_FALSE(h.Matches({{"cmd", "-param-name2"}}));  // still a whole-value comparison
}

TEST(SigmaWindash, ValuesWithManyDashesStillMatchEveryForm) {
  Harness h = One("sel:\n    cmd|windash|contains: ' -a -b -c -d -e'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"cmd", "x /a -b \xe2\x80\x94" "c /d -e"}}));
  EXPECT_FALSE(h.Matches({{"cmd", "x /a -b +c /d -e"}}));
}

// --- base64, base64offset -----------------------------------------------------------------------
// "base64: The value is encoded with Base64."
TEST(SigmaBase64, ValueIsEncodedWithBase64) {
  Harness h = One("sel:\n    data|base64: cmd\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"data", "Y21k"}}));
  EXPECT_FALSE(h.Matches({{"data", "cmd"}}));
  EXPECT_FALSE(h.Matches({{"data", "Y21kZA=="}}));  // "cmdd": the whole value must be it
}

TEST(SigmaBase64, ContainsFindsTheEncodedValueInside) {
  Harness h = One("sel:\n    cmd|base64|contains: 'IEX (New-Object'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"cmd", "powershell -e SUVYIChOZXctT2JqZWN0"}}));
  EXPECT_FALSE(h.Matches({{"cmd", "powershell -e eElFWCAoTmV3LU9iamVjdCBOZXQ="}}));  // offset 1
}

// "If a value might appear somewhere in a base64-encoded string the representation might change
// depending on the position of the value in the overall string. There are three variants for
// shifts by zero to two bytes".
TEST(SigmaBase64, Base64offsetFindsTheValueAtEachOfTheThreeShifts) {
  Harness h = One("sel:\n    cmd|base64offset|contains: 'http://'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"cmd", "-e Y3VybCBodHRwOi8veA=="}}));  // "curl http://x"
  EXPECT_TRUE(h.Matches({{"cmd", "-e Y3VybCAgaHR0cDovL3g="}}));  // "curl  http://x"
  EXPECT_TRUE(h.Matches({{"cmd", "-e Y3VybCAgIGh0dHA6Ly94"}}));  // "curl   http://x"
  EXPECT_FALSE(h.Matches({{"cmd", "-e Y3VybCBodHRwczovL3g="}}));  // "curl https://x"
  EXPECT_FALSE(h.Matches({{"cmd", "curl http://x"}}));
}

TEST(SigmaBase64, WildcardsCannotBeEncoded) {
  EXPECT_EQ(Errors("sel:\n    cmd|base64offset|contains: 'http*'\ncondition: sel"),
            "rules/test.yml:6:36: error: Base64 cannot encode wildcards or dash alternatives "
            "(hint: escape '*' and '?' as '\\*' and '\\?' to encode them as characters)\n");
  EXPECT_EQ(Errors("sel:\n    cmd|contains|base64: http\ncondition: sel"),
            "rules/test.yml:6:22: error: modifier 'base64' must come before 'contains' "
            "(hint: wildcards cannot be encoded: write '|base64|contains')\n");
}

// --- utf16le, utf16be, utf16, wide --------------------------------------------------------------
// "utf16le: Transforms value to UTF16-LE encoding, e.g. cmd > 63 00 6d 00 64 00"
TEST(SigmaUtf16, Utf16leAndItsAliasWide) {
  for (const char* m : {"utf16le", "wide"}) {
    Harness h = One(std::string("sel:\n    data|") + m + ": cmd\ncondition: sel");
    EXPECT_TRUE(h.Matches({{"data", "c\0m\0d\0"s}})) << m;
    EXPECT_TRUE(h.Matches({{"data", "C\0M\0D\0"s}})) << m;  // still case-insensitive
    EXPECT_FALSE(h.Matches({{"data", "cmd"}})) << m;
    EXPECT_FALSE(h.Matches({{"data", "\0c\0m\0d"s}})) << m;
  }
}

// "utf16be: Transforms value to UTF16-BE encoding, e.g. cmd > 00 63 00 6d 00 64"
TEST(SigmaUtf16, Utf16be) {
  Harness h = One("sel:\n    data|utf16be: cmd\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"data", "\0c\0m\0d"s}}));
  EXPECT_FALSE(h.Matches({{"data", "c\0m\0d\0"s}}));
}

// "utf16: Prepends a byte order mark and encodes UTF16, e.g. cmd > FF FE 63 00 6d 00 64 00"
TEST(SigmaUtf16, Utf16PrependsAByteOrderMark) {
  Harness h = One("sel:\n    data|utf16: cmd\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"data", "\xff\xfe" "c\0m\0d\0"s}}));
  EXPECT_FALSE(h.Matches({{"data", "c\0m\0d\0"s}}));
}

TEST(SigmaUtf16, WildcardsSurviveAndNonAsciiIsEncoded) {
  Harness h = One("sel:\n    data|wide|contains: 'é*z'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"data", "x\0\xe9\0y\0z\0"s}}));
  EXPECT_FALSE(h.Matches({{"data", "\xc3\xa9yz"}}));
}

TEST(SigmaUtf16, Base64OfUtf16AsPowerShellEncodesCommands) {
  // powershell -EncodedCommand takes Base64 of UTF-16LE: "IEX" -> SQBFAFgA
  Harness h = One("sel:\n    cmd|wide|base64offset|contains: 'IEX'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"cmd", "powershell -enc SQBFAFgAIAAoAA=="}}));
  EXPECT_FALSE(h.Matches({{"cmd", "powershell -enc SUVYIChO"}}));
}

// --- lt, lte, gt, gte ---------------------------------------------------------------------------
// "lt: Field is less than the value" (and lte, gt, gte)
TEST(SigmaNumeric, ComparisonsAgainstNumbers) {
  Harness lt = One("sel:\n    size|lt: 10\ncondition: sel");
  Harness lte = One("sel:\n    size|lte: 10\ncondition: sel");
  Harness gt = One("sel:\n    size|gt: 10\ncondition: sel");
  Harness gte = One("sel:\n    size|gte: 10\ncondition: sel");
  EXPECT_TRUE(lt.Matches({Number("size", "9.5")}));
  EXPECT_FALSE(lt.Matches({Number("size", "10")}));
  EXPECT_TRUE(lte.Matches({Number("size", "10")}));
  EXPECT_FALSE(lte.Matches({Number("size", "10.01")}));
  EXPECT_TRUE(gt.Matches({Number("size", "1e3")}));
  EXPECT_FALSE(gt.Matches({Number("size", "10")}));
  EXPECT_TRUE(gte.Matches({Number("size", "10.0")}));
  EXPECT_FALSE(gte.Matches({Number("size", "-11")}));
}

TEST(SigmaNumeric, NumericStringsCompareAndOtherValuesNever) {
  Harness h = One("sel:\n    code|gte: 400\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"code", "403"}}));
  EXPECT_FALSE(h.Matches({{"code", "forbidden"}}));
  EXPECT_FALSE(h.Matches({{"code", " 403"}}));
  EXPECT_FALSE(h.Matches({Bool("code", true)}));
  EXPECT_FALSE(h.Matches({Null("code")}));
  EXPECT_FALSE(h.Matches({}));
}

TEST(SigmaNumeric, ARangeIsTwoClauses) {
  Harness h = One("sel:\n    port|gte: 1024\nsel2:\n    port|lt: 2048\ncondition: sel and sel2");
  EXPECT_TRUE(h.Matches({Number("port", "1024")}));
  EXPECT_FALSE(h.Matches({Number("port", "2048")}));
  EXPECT_FALSE(h.Matches({Number("port", "80")}));
}

TEST(SigmaNumeric, ValueMustBeANumber) {
  EXPECT_EQ(Errors("sel:\n    size|gt: big\ncondition: sel"),
            "rules/test.yml:6:18: error: 'gt' compares numbers, and 'big' is not one\n");
  EXPECT_EQ(Errors("sel:\n    size|gt|contains: 1\ncondition: sel"),
            "rules/test.yml:6:17: error: modifier 'contains' cannot be combined with 'gt' "
            "(hint: 'gt' compares numbers, not text)\n");
}

// --- neq ----------------------------------------------------------------------------------------
// "neq: The field is different from the specified values."
TEST(SigmaNeq, FieldDiffersFromEveryValue) {
  Harness h = One("sel:\n    verb|neq:\n        - get\n        - list\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"verb", "delete"}}));
  EXPECT_FALSE(h.Matches({{"verb", "get"}}));
  EXPECT_FALSE(h.Matches({{"verb", "LIST"}}));  // case-insensitive, as every plain value
  EXPECT_FALSE(h.Matches({}));                  // an absent field is not "different"
  EXPECT_FALSE(h.Matches({Null("verb")}));
}

// "neq: Field is not equal than the value" (numeric modifiers).
TEST(SigmaNeq, NumbersCompareAsNumbers) {
  Harness h = One("sel:\n    port|neq: 443\ncondition: sel");
  EXPECT_TRUE(h.Matches({Number("port", "8443")}));
  EXPECT_FALSE(h.Matches({Number("port", "443")}));
  EXPECT_FALSE(h.Matches({Number("port", "443.0")}));
  EXPECT_FALSE(h.Matches({{"port", "443"}}));
}

TEST(SigmaNeq, CombinesWithStringModifiers) {
  Harness h = One("sel:\n    image|neq|endswith: /bin/sh\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"image", "/usr/bin/bash"}}));
  EXPECT_FALSE(h.Matches({{"image", "/usr/bin/sh"}}));
}

// --- cidr ---------------------------------------------------------------------------------------
// "The value is handled as a CIDR network range specification by backends. Supports both IPv4
// and IPv6 notations. Example: DestinationIp|cidr: 10.0.0.0/8"
TEST(SigmaCidr, Ipv4Networks) {
  Harness h = One("sel:\n    DestinationIp|cidr: 10.0.0.0/8\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"DestinationIp", "10.1.2.3"}}));
  EXPECT_TRUE(h.Matches({{"DestinationIp", "10.255.255.255"}}));
  EXPECT_TRUE(h.Matches({{"DestinationIp", "::ffff:10.9.8.7"}}));  // IPv4-mapped
  EXPECT_FALSE(h.Matches({{"DestinationIp", "11.0.0.1"}}));
  EXPECT_FALSE(h.Matches({{"DestinationIp", "10.1.2.3x"}}));
  EXPECT_FALSE(h.Matches({{"DestinationIp", "host.10.example"}}));
  EXPECT_FALSE(h.Matches({}));
}

TEST(SigmaCidr, Ipv6NetworksAndOddPrefixes) {
  Harness h = One("sel:\n    ip|cidr:\n        - '2001:db8::/32'\n        - 192.168.0.0/23\n"
                  "condition: sel");
  EXPECT_TRUE(h.Matches({{"ip", "2001:db8::1"}}));
  EXPECT_TRUE(h.Matches({{"ip", "2001:DB8:ffff::1"}}));
  EXPECT_FALSE(h.Matches({{"ip", "2001:db9::1"}}));
  EXPECT_TRUE(h.Matches({{"ip", "192.168.1.200"}}));
  EXPECT_FALSE(h.Matches({{"ip", "192.168.2.1"}}));
}

TEST(SigmaCidr, ArraysMatchWhenAnyElementIsInTheNetwork) {
  Harness h = One("sel:\n    sourceIPs|cidr: 172.16.0.0/12\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"sourceIPs", "8.8.8.8"}, {"sourceIPs", "172.20.1.1"}}));
  EXPECT_FALSE(h.Matches({{"sourceIPs", "8.8.8.8"}, {"sourceIPs", "172.32.0.1"}}));
}

TEST(SigmaCidr, BadNetworksAreLocatedErrors) {
  EXPECT_EQ(Errors("sel:\n    ip|cidr: 10.0.0.0/33\ncondition: sel"),
            "rules/test.yml:6:18: error: bad CIDR network: '33' is not a prefix length (0 to "
            "32) (hint: write an IPv4 or IPv6 network, e.g. '10.0.0.0/8' or 'fd00::/8')\n");
  EXPECT_EQ(Errors("sel:\n    ip|cidr: 10.1.0.0/8\ncondition: sel"),
            "rules/test.yml:6:18: error: bad CIDR network: '10.1.0.0/8' has host bits set "
            "(hint: write an IPv4 or IPv6 network, e.g. '10.0.0.0/8' or 'fd00::/8')\n");
  EXPECT_EQ(Errors("sel:\n    ip|cidr: intranet\ncondition: sel"),
            "rules/test.yml:6:18: error: bad CIDR network: 'intranet' is not an IPv4 or IPv6 "
            "address (hint: write an IPv4 or IPv6 network, e.g. '10.0.0.0/8' or 'fd00::/8')\n");
}

// --- expand -------------------------------------------------------------------------------------
// "Modifier for expansion of placeholders in values. The final behavior of the replacement is
// determined by processing pipeline transformations": Tuttle expands to the value list.
TEST(SigmaExpand, PlaceholdersExpandToTheirValues) {
  CompileOptions options;
  options.placeholders["admins"] = {"root", "admin*"};
  options.placeholders["ns"] = {"kube-system", "prod"};
  Harness h(Rule("r",
                 "sel:\n    user|expand: '%admins%'\n    ns|expand: 'tenant-%ns%'\ncondition: sel"),
            options);
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_EQ(h.report().errors(), 0u) << h.Diagnostics();
  EXPECT_TRUE(h.Matches({{"user", "root"}, {"ns", "tenant-prod"}}));
  EXPECT_TRUE(h.Matches({{"user", "administrator"}, {"ns", "TENANT-kube-system"}}));
  EXPECT_FALSE(h.Matches({{"user", "alice"}, {"ns", "tenant-prod"}}));
  EXPECT_FALSE(h.Matches({{"user", "root"}, {"ns", "tenant-dev"}}));
  EXPECT_FALSE(h.Matches({{"user", "%admins%"}, {"ns", "tenant-prod"}}));
}

TEST(SigmaExpand, WithoutExpandPercentSignsAreLiteral) {
  Harness h = One("sel:\n    path: '%TEMP%\\x.exe'\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"path", "%temp%\\x.exe"}}));
}

TEST(SigmaExpand, AMissingPlaceholderIsALocatedError) {
  EXPECT_EQ(Errors("sel:\n    user|expand: '%admins%'\ncondition: sel"),
            "rules/test.yml:6:22: error: placeholder '%admins%' has no values (hint: give it "
            "values under 'vars' in a processing pipeline, e.g. 'vars: {admins: [...]}', and "
            "load it with --pipeline)\n");
}

// --- fieldref -----------------------------------------------------------------------------------
// "Modifies a plain string into a field reference. A field reference can be used to compare
// fields of matched events directly at query/matching time. Can be combined with the neq
// modifier."
TEST(SigmaFieldref, ComparesTwoFieldsOfTheEvent) {
  Harness h = One("sel:\n    user.username|fieldref: impersonatedUser.username\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"user.username", "alice"}, {"impersonatedUser.username", "Alice"}}));
  EXPECT_FALSE(h.Matches({{"user.username", "alice"}, {"impersonatedUser.username", "bob"}}));
  EXPECT_FALSE(h.Matches({{"user.username", "alice"}}));
}

TEST(SigmaFieldref, CombinedWithNeq) {
  Harness h = One("sel:\n    src|neq|fieldref: dst\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"src", "a"}, {"dst", "b"}}));
  EXPECT_FALSE(h.Matches({{"src", "a"}, {"dst", "a"}}));
}

TEST(SigmaFieldref, WithPositionAndCase) {
  Harness h = One("sel:\n    cmd|contains|cased|fieldref: file\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"cmd", "cat /etc/Shadow"}, {"file", "/etc/Shadow"}}));
  EXPECT_FALSE(h.Matches({{"cmd", "cat /etc/shadow"}, {"file", "/etc/Shadow"}}));
  EXPECT_EQ(Errors("sel:\n    cmd|fieldref: 'a*'\ncondition: sel"),
            "rules/test.yml:6:23: error: 'fieldref' takes a field name, not 'a*' (hint: field "
            "references cannot contain wildcards or modifiers)\n");
}

// --- minute, hour, day, week, month, year ---------------------------------------------------------
// "it extracts a numeric value from a date ... It is not designed to handle timezone or format
// conversions."
TEST(SigmaTimeParts, EachPartOfAnIsoTimestamp) {
  const Field t{"ts", "2024-05-01T22:15:30.5+02:00"};  // a Wednesday, ISO week 18
  EXPECT_TRUE(One("sel:\n    ts|minute: 15\ncondition: sel").Matches({t}));
  EXPECT_TRUE(One("sel:\n    ts|hour: 22\ncondition: sel").Matches({t}));  // no zone conversion
  EXPECT_TRUE(One("sel:\n    ts|day: 1\ncondition: sel").Matches({t}));
  EXPECT_TRUE(One("sel:\n    ts|week: 18\ncondition: sel").Matches({t}));
  EXPECT_TRUE(One("sel:\n    ts|month: 5\ncondition: sel").Matches({t}));
  EXPECT_TRUE(One("sel:\n    ts|year: 2024\ncondition: sel").Matches({t}));
  EXPECT_FALSE(One("sel:\n    ts|minute: 16\ncondition: sel").Matches({t}));
  EXPECT_FALSE(One("sel:\n    ts|hour: 20\ncondition: sel").Matches({t}));
  EXPECT_FALSE(One("sel:\n    ts|week: 17\ncondition: sel").Matches({t}));
  EXPECT_FALSE(One("sel:\n    ts|year: 2025\ncondition: sel").Matches({t}));
}

TEST(SigmaTimeParts, EpochNumbersAreUtc) {
  Harness h = One("sel:\n    ts|hour: 3\ncondition: sel");
  EXPECT_TRUE(h.Matches({Number("ts", "1700017200")}));     // 2023-11-15T03:00:00Z
  EXPECT_TRUE(h.Matches({Number("ts", "1700017200123")}));  // the same in milliseconds
  EXPECT_FALSE(h.Matches({Number("ts", "1700020800")}));    // 04:00
  EXPECT_FALSE(h.Matches({{"ts", "not a date"}}));
  EXPECT_FALSE(h.Matches({{"ts", "2023-11-15"}}));  // a date has no hour
}

TEST(SigmaTimeParts, IsoWeeksAtYearBoundaries) {
  Harness w1 = One("sel:\n    ts|week: 1\ncondition: sel");
  Harness w53 = One("sel:\n    ts|week: 53\ncondition: sel");
  EXPECT_TRUE(w1.Matches({{"ts", "2024-12-30T00:00:00Z"}}));  // Monday of 2025-W01
  EXPECT_TRUE(w53.Matches({{"ts", "2021-01-03 10:00"}}));     // Sunday of 2020-W53
}

TEST(SigmaTimeParts, PartsCompareWithLtGt) {
  Harness h = One("sel:\n    ts|hour|gte: 22\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"ts", "2024-05-01T23:59:00Z"}}));
  EXPECT_FALSE(h.Matches({{"ts", "2024-05-01T21:59:00Z"}}));
}

TEST(SigmaTimeParts, OutOfRangeValuesAreErrors) {
  EXPECT_EQ(Errors("sel:\n    ts|hour: 24\ncondition: sel"),
            "rules/test.yml:6:18: error: 'hour' takes a whole number from 0 to 23, not '24'\n");
}

// --- re flag names, combinations ----------------------------------------------------------------
TEST(SigmaModifierChains, PySigmaLongNamesOfReFlags) {
  Harness h = One("sel:\n    cmd|re|ignorecase: '^CURL '\ncondition: sel");
  EXPECT_TRUE(h.Matches({{"cmd", "curl x"}}));
  EXPECT_FALSE(h.Matches({{"cmd", "wget x"}}));
}

TEST(SigmaModifierChains, TypedModifiersExcludeEachOther) {
  EXPECT_EQ(Errors("sel:\n    a|cidr|re: x\ncondition: sel"),
            "rules/test.yml:6:16: error: modifier 're' cannot be combined with 'cidr'\n");
  EXPECT_EQ(Errors("sel:\n    a|lt|gt: 1\ncondition: sel"),
            "rules/test.yml:6:14: error: modifier 'gt' cannot be combined with 'lt' (hint: a "
            "range needs two clauses, e.g. 'a: {x|gte: 1}' and 'b: {x|lte: 9}')\n");
  EXPECT_EQ(Errors("sel:\n    a|windash|cidr: 10.0.0.0/8\ncondition: sel"),
            "rules/test.yml:6:19: error: modifier 'cidr' cannot be combined with 'windash' "
            "(hint: 'cidr' matches IP addresses against networks, not text)\n");
}

}  // namespace
}  // namespace tuttle::rules::testing
