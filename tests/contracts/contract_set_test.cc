// Data contracts (docs/contracts.md): selection, each schema keyword on records that keep and
// break it, the messages that name field and keyword, and the loader's located diagnostics.

#include "tuttle/contracts/contract_set.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tuttle/engine/record.h"

namespace tuttle::contracts {
namespace {

std::shared_ptr<const ContractSet> Load(const std::string& yaml) {
  Diagnostics d;
  auto set = ContractSet::Parse(yaml, "c.yml", d);
  std::string all;
  for (const Diagnostic& x : d) all += x.ToString() + "\n";
  EXPECT_TRUE(set.ok()) << all;
  return set.ok() ? *set : nullptr;
}

// A contract for function "orders-*" whose record part `path` must keep `schema` (YAML flow).
std::string Contract(const std::string& schema, const std::string& path = "") {
  std::string out = "contracts:\n  - name: orders\n    function: 'orders-*'\n";
  if (!path.empty()) {
    out += "    path: ";
    out += path;
    out += '\n';
  }
  out += "    schema: ";
  out += schema;
  out += '\n';
  return out;
}

struct Checked {
  bool selected = false;
  std::vector<std::string> violations;
};

// Checks `record` as an event of `function` (format "lambda").
Checked Check(const ContractSet& set, const std::string& record,
              const std::string& function = "orders-api") {
  std::string padded = record;
  padded.append(kRecordPadding, '\0');
  Event e;
  e.raw = std::string_view(padded.data(), record.size());
  e.format = "lambda";
  e.entities.function_name = function;
  auto checker = set.NewChecker();
  Checked out;
  out.selected = checker->Check(e, out.violations) != nullptr;
  return out;
}

std::vector<std::string> Violations(const std::string& schema, const std::string& record) {
  auto set = Load(Contract(schema));
  if (!set) return {"(not loaded)"};
  return Check(*set, record).violations;
}

using V = std::vector<std::string>;

TEST(ContractCheck, RecordsNoContractSelectsAreNotChecked) {
  auto set = Load(Contract("{required: [order_id]}"));
  ASSERT_TRUE(set);
  const Checked c = Check(*set, R"({"amount": 1})", "payments-api");
  EXPECT_FALSE(c.selected);
  EXPECT_TRUE(c.violations.empty());
  EXPECT_TRUE(Check(*set, R"({"amount": 1})", "orders-api").selected);
}

TEST(ContractCheck, SelectorsMustAllMatch) {
  auto set = Load(
      "contracts:\n  - name: web\n    format: cri\n    workload: 'web*'\n    namespace: prod\n"
      "    schema: {required: [level]}\n");
  ASSERT_TRUE(set);
  std::string record = R"({"x": 1})";
  record.append(kRecordPadding, '\0');
  Event e;
  e.raw = std::string_view(record.data(), 8);
  e.format = "cri";
  e.entities.workload = "web-frontend";
  e.entities.namespace_name = "prod";
  auto checker = set->NewChecker();
  std::vector<std::string> v;
  EXPECT_NE(checker->Check(e, v), nullptr);
  EXPECT_EQ(v, V{"level: required field missing"});
  e.entities.namespace_name = "staging";
  v.clear();
  EXPECT_EQ(checker->Check(e, v), nullptr);
}

TEST(ContractCheck, SourceSelectsTheTopicOrFileTheRecordCameFrom) {
  auto set = Load("contracts:\n  - name: orders\n    source: 'orders*'\n"
                  "    schema: {required: [order_id]}\n");
  ASSERT_TRUE(set);
  std::string record = R"({"x": 1})";
  record.append(kRecordPadding, '\0');
  Event e;
  e.raw = std::string_view(record.data(), 8);
  e.format = "cloudtrail";
  e.source = "orders-eu";
  auto checker = set->NewChecker();
  std::vector<std::string> v;
  EXPECT_NE(checker->Check(e, v), nullptr);
  EXPECT_EQ(v, V{"order_id: required field missing"});
  e.source = "payments";
  v.clear();
  EXPECT_EQ(checker->Check(e, v), nullptr);
  e.source = {};  // a parser that was not told the source: not selected
  EXPECT_EQ(checker->Check(e, v), nullptr);
}

TEST(ContractCheck, RequiredFieldMissingIsNamed) {
  EXPECT_EQ(Violations("{required: [order_id, amount]}", R"({"amount": 5})"),
            V{"order_id: required field missing"});
  EXPECT_TRUE(Violations("{required: [order_id]}", R"({"order_id": null})").empty());
}

TEST(ContractCheck, TypeMismatchNamesExpectedAndActualTypes) {
  EXPECT_EQ(Violations("{properties: {amount: {type: number}}}", R"({"amount": "12"})"),
            V{"amount: expected number, got string"});
  EXPECT_EQ(Violations("{properties: {n: {type: [string, 'null']}}}", R"({"n": 3})"),
            V{"n: expected string or null, got integer"});
  EXPECT_TRUE(Violations("{properties: {n: {type: [string, 'null']}}}", R"({"n": null})").empty());
  EXPECT_EQ(Violations("{type: object}", R"({"a": 1})"), V{});
}

TEST(ContractCheck, IntegerAcceptsWholeNumbersOnly) {
  const std::string schema = "{properties: {qty: {type: integer}}}";
  EXPECT_TRUE(Violations(schema, R"({"qty": 3})").empty());
  EXPECT_TRUE(Violations(schema, R"({"qty": 3.0})").empty());
  EXPECT_EQ(Violations(schema, R"({"qty": 3.5})"), V{"qty: expected integer, got number"});
  EXPECT_EQ(Violations(schema, R"({"qty": true})"), V{"qty: expected integer, got boolean"});
}

TEST(ContractCheck, EnumListsTheAllowedValues) {
  const std::string schema = "{properties: {currency: {enum: [EUR, USD]}}}";
  EXPECT_TRUE(Violations(schema, R"({"currency": "EUR"})").empty());
  EXPECT_EQ(Violations(schema, R"({"currency": "GBP"})"),
            V{"currency: \"GBP\" is not one of [EUR, USD]"});
  // Types count: the number 1 is not the string "1"; a quoted YAML scalar is a string.
  EXPECT_EQ(Violations("{properties: {v: {enum: ['1', 2, true, null]}}}", R"({"v": 1})"),
            V{"v: 1 is not one of [1, 2, true, null]"});
  EXPECT_TRUE(Violations("{properties: {v: {enum: ['1', 2, true, null]}}}", R"({"v": 2.0})").empty());
  EXPECT_TRUE(Violations("{properties: {v: {enum: ['1', 2, true, null]}}}", R"({"v": null})").empty());
}

TEST(ContractCheck, ConstComparesTypeAndValue) {
  EXPECT_TRUE(Violations("{properties: {v: {const: 2}}}", R"({"v": 2})").empty());
  EXPECT_EQ(Violations("{properties: {v: {const: 2}}}", R"({"v": "2"})"),
            V{"v: \"2\" is not the constant 2"});
}

TEST(ContractCheck, NumericRangesNameTheBound) {
  const std::string schema =
      "{properties: {amount: {minimum: 0, maximum: 10000}, rate: {exclusiveMinimum: 0, "
      "exclusiveMaximum: 1}}}";
  EXPECT_TRUE(Violations(schema, R"({"amount": 10000, "rate": 0.5})").empty());
  EXPECT_EQ(Violations(schema, R"({"amount": 12000})"),
            V{"amount: 12000 is above the maximum 10000"});
  EXPECT_EQ(Violations(schema, R"({"amount": -1})"), V{"amount: -1 is below the minimum 0"});
  EXPECT_EQ(Violations(schema, R"({"rate": 0})"),
            V{"rate: 0 is not above the exclusiveMinimum 0"});
  EXPECT_EQ(Violations(schema, R"({"rate": 1})"),
            V{"rate: 1 is not below the exclusiveMaximum 1"});
  // Range keywords apply to numbers only; a string there is the type's business.
  EXPECT_TRUE(Violations(schema, R"({"amount": "lots"})").empty());
}

TEST(ContractCheck, StringLengthsCountCodePoints) {
  const std::string schema = "{properties: {name: {minLength: 2, maxLength: 3}}}";
  EXPECT_TRUE(Violations(schema, R"({"name": "élan"})").size() == 1);  // 4 code points
  EXPECT_TRUE(Violations(schema, R"({"name": "éé"})").empty());        // 2 code points, 4 bytes
  EXPECT_EQ(Violations(schema, R"({"name": "a"})"), V{"name: length 1 is below minLength 2"});
  EXPECT_EQ(Violations(schema, R"({"name": "abcd"})"), V{"name: length 4 is above maxLength 3"});
}

TEST(ContractCheck, PatternIsAnUnanchoredSearchInHyperscan) {
  const std::string schema = "{properties: {id: {pattern: '^ord-[0-9]{6}$'}, note: {pattern: 'x+'}}}";
  EXPECT_TRUE(Violations(schema, R"({"id": "ord-000123", "note": "aaxa"})").empty());
  EXPECT_EQ(Violations(schema, R"({"id": "ord-12"})"),
            V{"id: \"ord-12\" does not match the pattern '^ord-[0-9]{6}$'"});
  EXPECT_EQ(Violations(schema, R"({"note": "abc"})"),
            V{"note: \"abc\" does not match the pattern 'x+'"});
  // A pattern that backtracks exponentially elsewhere is linear here.
  const std::string evil = "{properties: {s: {pattern: '^(a+)+$'}}}";
  std::string long_a = "{\"s\": \"";
  long_a.append(5000, 'a');
  long_a += "b\"}";
  EXPECT_EQ(Violations(evil, long_a).size(), 1u);
}

TEST(ContractCheck, NestedObjectsNameTheDottedPath) {
  const std::string schema =
      "{properties: {customer: {type: object, required: [id], properties: {address: "
      "{properties: {country: {pattern: '^[A-Z]{2}$'}}}}}}}";
  EXPECT_EQ(Violations(schema, R"({"customer": {"address": {"country": "france"}}})"),
            (V{"customer.id: required field missing",
               "customer.address.country: \"france\" does not match the pattern '^[A-Z]{2}$'"}));
}

TEST(ContractCheck, ArrayItemsAreCheckedEachWithItsIndex) {
  const std::string schema =
      "{properties: {lines: {type: array, minItems: 1, maxItems: 2, items: {type: object, "
      "required: [sku], properties: {qty: {type: integer, minimum: 1}}}}}}";
  EXPECT_TRUE(Violations(schema, R"({"lines": [{"sku": "a", "qty": 1}]})").empty());
  EXPECT_EQ(Violations(schema, R"({"lines": [{"sku": "a", "qty": 0}, {"qty": 2}]})"),
            (V{"lines[0].qty: 0 is below the minimum 1", "lines[1].sku: required field missing"}));
  EXPECT_EQ(Violations(schema, R"({"lines": []})"), V{"lines: 0 items, below minItems 1"});
  EXPECT_EQ(Violations(schema, R"({"lines": [{"sku": "a"}, {"sku": "b"}, {"sku": "c"}]})"),
            V{"lines: 3 items, above maxItems 2"});
}

TEST(ContractCheck, AdditionalPropertiesFalseNamesEachExtraField) {
  EXPECT_EQ(Violations("{additionalProperties: false, properties: {a: {}}}",
                       R"({"a": 1, "debug": true, "b": 2})"),
            (V{"debug: not allowed (additionalProperties: false)",
               "b: not allowed (additionalProperties: false)"}));
}

TEST(ContractCheck, PathSelectsThePartCheckedAndNamesFieldsFromTheRecordRoot) {
  auto set = Load(Contract("{required: [order_id], properties: {amount: {maximum: 10}}}", "json"));
  ASSERT_TRUE(set);
  EXPECT_EQ(Check(*set, R"({"format": "lambda", "json": {"amount": 12}})").violations,
            (V{"json.order_id: required field missing", "json.amount: 12 is above the maximum 10"}));
  // A record without the part (a START line, a text log line) is not checked.
  const Checked start = Check(*set, R"({"format": "lambda", "type": "START"})");
  EXPECT_TRUE(start.selected);
  EXPECT_TRUE(start.violations.empty());
  // The part itself of the wrong type.
  auto typed = Load(Contract("{type: object}", "json"));
  ASSERT_TRUE(typed);
  EXPECT_EQ(Check(*typed, R"({"json": [1]})").violations, V{"json: expected object, got array"});
}

TEST(ContractCheck, TheFirstContractThatSelectsTheRecordApplies) {
  auto set = Load(
      "contracts:\n"
      "  - {name: specific, function: orders-api, schema: {required: [a]}}\n"
      "  - {name: general, function: '*', schema: {required: [b]}}\n");
  ASSERT_TRUE(set);
  EXPECT_EQ(Check(*set, "{}", "orders-api").violations, V{"a: required field missing"});
  EXPECT_EQ(Check(*set, "{}", "billing").violations, V{"b: required field missing"});
}

TEST(ContractCheck, ViolationsAreCappedPerRecord) {
  std::string record = "{";
  for (int i = 0; i < 30; ++i) {
    if (i > 0) record += ',';
    record += "\"f";
    record += std::to_string(i);
    record += "\": 1";
  }
  record += "}";
  const auto v = Violations("{additionalProperties: false}", record);
  ASSERT_EQ(v.size(), kMaxViolations + 1);
  EXPECT_EQ(v.back(), "... more violations, only the first 20 are listed");
}

// Loader errors: located at file:line:col, with a hint.
std::vector<std::string> Errors(const std::string& yaml) {
  Diagnostics d;
  auto set = ContractSet::Parse(yaml, "c.yml", d);
  EXPECT_FALSE(set.ok());
  std::vector<std::string> out;
  for (const Diagnostic& x : d) out.push_back(x.ToString());
  return out;
}

TEST(ContractLoader, UnknownKeywordIsLocatedWithASuggestion) {
  EXPECT_EQ(Errors("contracts:\n  - name: a\n    function: f\n    schema:\n      maxmum: 3\n"),
            V{"c.yml:5:7: error: schema: unknown schema keyword 'maxmum' (hint: did you mean "
              "'maximum'?)"});
}

TEST(ContractLoader, UnsupportedJsonSchemaKeywordsAreNamedAsSuch) {
  const auto e = Errors(
      "contracts:\n  - name: a\n    function: f\n    schema:\n      properties:\n"
      "        x: {oneOf: [{type: string}]}\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0],
            "c.yml:6:13: error: schema.properties.x: JSON Schema keyword 'oneOf' is not supported "
            "(hint: docs/contracts.md lists the subset Tuttle checks)");
}

TEST(ContractLoader, BadValuesAreLocatedAtTheValue) {
  const auto e = Errors(
      "contracts:\n  - name: a\n    function: f\n    schema:\n      type: strng\n"
      "      minimum: ten\n      pattern: '(a)\\1'\n");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0], "c.yml:5:13: error: schema.type: unknown type 'strng' (hint: did you mean "
                  "'string'?)");
  EXPECT_EQ(e[1], "c.yml:6:16: error: schema.minimum: expected a number, got 'ten'");
  EXPECT_NE(e[2].find("c.yml:7:16: error: schema.pattern: pattern '(a)\\1' does not compile"),
            std::string::npos)
      << e[2];
}

TEST(ContractLoader, ContractsNeedANameASelectorAndASchema) {
  const auto e = Errors("contracts:\n  - description: x\n");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0], "c.yml:2:5: error: contract without a 'name' (hint: name it: findings and "
                  "groups use it)");
  EXPECT_NE(e[1].find("selects no records"), std::string::npos);
  EXPECT_NE(e[2].find("without a 'schema'"), std::string::npos);
  const auto dup = Errors(
      "contracts:\n  - {name: a, function: f, schema: {}}\n  - {name: a, function: g, schema: "
      "{}}\n");
  ASSERT_EQ(dup.size(), 1u);
  EXPECT_EQ(dup[0], "c.yml:3:5: error: duplicate contract name 'a'");
}

TEST(ContractLoader, UnknownContractKeyAndYamlSyntaxErrors) {
  const auto e = Errors("contracts:\n  - name: a\n    fuction: f\n    schema: {}\n");
  ASSERT_GE(e.size(), 1u);
  EXPECT_EQ(e[0], "c.yml:3:5: error: unknown contract key 'fuction' (hint: did you mean "
                  "'function'?)");
  const auto syntax = Errors("contracts:\n  - name: [a\n");
  ASSERT_EQ(syntax.size(), 1u);
  EXPECT_EQ(syntax[0].rfind("c.yml:", 0), 0u) << syntax[0];
  EXPECT_NE(syntax[0].find("error:"), std::string::npos);
  EXPECT_EQ(Errors("rules: []\n").size(), 2u);  // unknown key, and no contracts list
}

TEST(ContractLoader, ReportsUnreadableFiles) {
  Diagnostics d;
  auto set = ContractSet::LoadFiles({"/nonexistent/contracts.yml"}, d);
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.error().message().find("cannot read contracts file"), std::string::npos);
}

}  // namespace
}  // namespace tuttle::contracts
