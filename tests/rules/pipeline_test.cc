// Processing pipelines (tuttle/rules/pipeline.h): loading them, with located errors, and what
// each transformation and condition does to the rules they are applied to.
#include "tuttle/rules/pipeline.h"

#include <gtest/gtest.h>

#include "rule_harness.h"

namespace tuttle::rules::testing {
namespace {

using Titles = std::vector<std::string>;

// Loads `yaml` as pipelines/p.yml; the diagnostics, one per line.
std::string LoadErrors(const std::string& yaml) {
  Diagnostics diagnostics;
  Result<ProcessingPipeline> p = LoadPipeline(RuleSource{"pipelines/p.yml", yaml}, diagnostics);
  std::string out;
  for (const Diagnostic& d : diagnostics) out += d.ToString() + "\n";
  if (p.ok() == (diagnostics.end() !=
                 std::find_if(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& d) {
                   return d.severity == Diagnostic::Severity::kError;
                 }))) {
    out += "(load result disagrees with the diagnostics)\n";
  }
  return out;
}

ProcessingPipeline Load(const std::string& yaml, const std::string& path = "pipelines/p.yml") {
  Diagnostics diagnostics;
  Result<ProcessingPipeline> p = LoadPipeline(RuleSource{path, yaml}, diagnostics);
  EXPECT_TRUE(p.ok()) << (diagnostics.empty() ? "" : diagnostics.front().ToString());
  return p.ok() ? std::move(*p) : ProcessingPipeline{};
}

Harness With(const std::vector<std::string>& pipelines, const std::vector<RuleSource>& rules) {
  CompileOptions options;
  for (size_t i = 0; i < pipelines.size(); ++i) {
    options.pipelines.push_back(Load(pipelines[i], "pipelines/p" + std::to_string(i) + ".yml"));
  }
  return Harness(rules, options);
}

const char* const kLinuxRule = R"(title: Curl to tmp
name: curl_tmp
tags: [attack.execution]
logsource:
    product: linux
    category: process_creation
detection:
    sel:
        Image|endswith: /curl
        CommandLine|contains: /tmp/
    condition: sel
)";

const char* const kWindowsRule = R"(title: Windows rule
logsource:
    product: windows
    category: process_creation
detection:
    sel:
        Image|endswith: /curl
    condition: sel
)";

const LogSource kLinux{"linux", "", "process_creation"};
const LogSource kFalco{"falco", "", ""};

TEST(Pipeline, FieldNameMappingRenamesFieldsOfRulesItsConditionSelects) {
  Harness h = With({R"(name: m
transformations:
  - type: field_name_mapping
    mapping:
      Image: proc.exepath
      CommandLine: proc.cmdline
    rule_conditions:
      - type: logsource
        product: linux
)"},
                   {{"rules/r.yml", kLinuxRule}, {"rules/w.yml", kWindowsRule}});
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().errors(), 0u) << h.Diagnostics();
  EXPECT_EQ(
      h.Match({{"proc.exepath", "/usr/bin/curl"}, {"proc.cmdline", "curl -o /tmp/x"}}, "", kLinux),
      Titles{"Curl to tmp"});
  // The old names no longer match.
  EXPECT_TRUE(
      h.Match({{"Image", "/usr/bin/curl"}, {"CommandLine", "curl -o /tmp/x"}}, "", kLinux).empty());
  // The Windows rule is not selected by the condition: it keeps `Image`.
  EXPECT_EQ(h.Match({{"Image", "C:/curl"}}, "", LogSource{"windows", "", "process_creation"}),
            Titles{"Windows rule"});
}

TEST(Pipeline, OneToManyMappingMatchesAnyOfTheTargets) {
  Harness h = With({R"(transformations:
  - type: field_name_mapping
    mapping:
      Image: [proc.exepath, proc.exe]
      CommandLine: proc.cmdline
)"},
                   {{"rules/r.yml", kLinuxRule}});
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.Match({{"proc.exe", "/usr/bin/curl"}, {"proc.cmdline", "/tmp/"}}, "", kLinux),
            Titles{"Curl to tmp"});
  EXPECT_EQ(h.Match({{"proc.exepath", "/usr/bin/curl"}, {"proc.cmdline", "/tmp/"}}, "", kLinux),
            Titles{"Curl to tmp"});
  EXPECT_TRUE(h.Match({{"proc.exe", "/usr/bin/wget"},
                       {"proc.exepath", "/usr/bin/wget"},
                       {"proc.cmdline", "/tmp/"}},
                      "", kLinux)
                  .empty());
}

TEST(Pipeline, PrefixMappingPrefixAndSuffix) {
  Harness h = With({R"(transformations:
  - type: field_name_prefix_mapping
    mapping:
      Command: proc.cmd
  - type: field_name_prefix
    prefix: output_fields.
    field_name_conditions:
      - type: include_fields
        fields: ['proc\..*']
        mode: re
  - type: field_name_suffix
    suffix: .keyword
    field_name_conditions:
      - type: exclude_fields
        fields: [output_fields.proc.cmdLine, output_fields.proc.exepath]
)"},
                   {{"rules/r.yml", R"(title: r
logsource: {product: test}
detection:
    sel:
        CommandLine: x
        user: y
    condition: sel
)"}});
  ASSERT_TRUE(h.ok()) << h.error();
  // CommandLine -> proc.cmdLine (prefix mapping) -> output_fields.proc.cmdLine (prefix, by regex);
  // user -> user.keyword (suffix: not excluded).
  EXPECT_EQ(h.Match({{"output_fields.proc.cmdLine", "x"}, {"user.keyword", "y"}}), Titles{"r"});
  EXPECT_TRUE(h.Match({{"output_fields.proc.cmdLine", "x"}, {"user", "y"}}).empty());
}

TEST(Pipeline, AddConditionAndChangeLogsource) {
  Harness h = With({R"(transformations:
  - id: spawn
    type: add_condition
    conditions:
      evt.type: [execve, execveat]
    rule_conditions: [{type: logsource, product: linux}]
  - type: add_condition
    negated: true
    conditions:
      user: root
    rule_conditions: [{type: logsource, product: linux}]
  - type: change_logsource
    product: falco
    rule_conditions: [{type: logsource, product: linux, category: process_creation}]
)"},
                   {{"rules/r.yml", kLinuxRule}});
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_EQ(h.set().detections.size(), 1u);
  // change_logsource replaces the whole log source, as pySigma: the category is gone.
  EXPECT_EQ(h.set().detections[0].logsource.product, "falco");
  EXPECT_EQ(h.set().detections[0].logsource.category, "");
  const std::vector<Field> spawn = {
      {"Image", "/usr/bin/curl"}, {"CommandLine", "/tmp/"}, {"evt.type", "execve"}};
  EXPECT_EQ(h.Match(spawn, "", kFalco), Titles{"Curl to tmp"});
  EXPECT_TRUE(h.Match(spawn, "", kLinux).empty());  // no longer linux
  EXPECT_TRUE(h.Match({{"Image", "/usr/bin/curl"}, {"CommandLine", "/tmp/"}, {"evt.type", "open"}},
                      "", kFalco)
                  .empty());
  std::vector<Field> as_root = spawn;
  as_root.push_back({"user", "root"});
  EXPECT_TRUE(h.Match(as_root, "", kFalco).empty());  // the negated condition
}

TEST(Pipeline, AddedConditionGoesThroughLaterMappingsOnly) {
  Harness h = With({R"(transformations:
  - type: field_name_mapping
    mapping: {kind: wrong.kind}
  - type: add_condition
    conditions: {kind: spawn}
  - type: field_name_mapping
    mapping: {kind: evt.kind, Image: proc.exepath, CommandLine: proc.cmdline}
)"},
                   {{"rules/r.yml", kLinuxRule}});
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.Match({{"proc.exepath", "/curl"}, {"proc.cmdline", "/tmp/"}, {"evt.kind", "spawn"}},
                    "", kLinux),
            Titles{"Curl to tmp"});
  EXPECT_TRUE(
      h.Match({{"proc.exepath", "/curl"}, {"proc.cmdline", "/tmp/"}, {"wrong.kind", "spawn"}}, "",
              kLinux)
          .empty());
}

TEST(Pipeline, DropDetectionItemRemovesTheItemFromItsMap) {
  Harness h = With({R"(transformations:
  - type: drop_detection_item
    field_name_conditions:
      - type: include_fields
        fields: [EventID]
)"},
                   {{"rules/r.yml", R"(title: r
logsource: {product: test}
detection:
    sel:
        EventID: 1
        Image|endswith: /curl
    only_id:
        EventID: 4688
    condition: sel and only_id
)"}});
  ASSERT_TRUE(h.ok()) << h.error();
  // `only_id` had nothing left: it requires nothing.
  EXPECT_EQ(h.Match({{"Image", "/bin/curl"}}), Titles{"r"});
  EXPECT_TRUE(h.Match({{"Image", "/bin/wget"}, {"EventID", "1"}}).empty());
}

TEST(Pipeline, RuleFailureRefusesTheRuleWithTheMessage) {
  Harness h = With({R"(transformations:
  - id: no_windows
    type: rule_failure
    message: Windows rules cannot run on these records
    rule_conditions: [{type: logsource, product: windows}]
)"},
                   {{"rules/r.yml", kLinuxRule}, {"rules/w.yml", kWindowsRule}});
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.Diagnostics(),
            "rules/w.yml:1:1: error: Windows rules cannot run on these records (hint: the rule is "
            "refused by transformation 'no_windows' (rule_failure) of pipeline "
            "'pipelines/p0.yml' (pipelines/p0.yml:2))\n");
  EXPECT_EQ(h.report().rules_loaded, 1u);
  EXPECT_EQ(h.report().rules_skipped, 1u);
}

TEST(Pipeline, DetectionItemFailureIsLocatedAtTheField) {
  Harness h = With({R"(name: strict
transformations:
  - type: detection_item_failure
    message: no CommandLine in these records
    field_name_conditions: [{type: include_fields, fields: CommandLine}]
)"},
                   {{"rules/r.yml", kLinuxRule}});
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.Diagnostics(),
            "rules/r.yml:10:9: error: no CommandLine in these records (hint: the field is "
            "refused by transformation (detection_item_failure) of pipeline 'strict' "
            "(pipelines/p0.yml:3))\n");
}

TEST(Pipeline, ConditionsJoinedByOrNotExprTagAndProcessingItemApplied) {
  Harness h = With({R"(transformations:
  - id: mapped
    type: field_name_mapping
    mapping: {Image: proc.exepath}
    rule_conditions:
      - type: tag
        tag: ATTACK.Execution
      - type: logsource
        product: nothing
    rule_cond_op: or
  - type: field_name_mapping
    mapping: {CommandLine: proc.cmdline}
    rule_conditions:
      applied: {type: processing_item_applied, processing_item_id: mapped}
      win: {type: logsource, product: windows}
    rule_cond_expr: applied and not win
  - type: rule_failure
    message: not a Sigma rule
    rule_conditions: [{type: is_sigma_rule}]
    rule_cond_not: true
)"},
                   {{"rules/r.yml", kLinuxRule}});
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().errors(), 0u) << h.Diagnostics();
  EXPECT_EQ(h.Match({{"proc.exepath", "/curl"}, {"proc.cmdline", "/tmp/"}}, "", kLinux),
            Titles{"Curl to tmp"});
}

TEST(Pipeline, PipelinesApplyInAscendingPriority) {
  // p0 (priority 50) maps what p1 (priority 10) produced.
  Harness h = With({"priority: 50\ntransformations:\n  - type: field_name_mapping\n"
                    "    mapping: {mid: final}\n",
                    "priority: 10\ntransformations:\n  - type: field_name_mapping\n"
                    "    mapping: {Image: mid, CommandLine: cmd}\n"},
                   {{"rules/r.yml", kLinuxRule}});
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.Match({{"final", "/curl"}, {"cmd", "/tmp/"}}, "", kLinux), Titles{"Curl to tmp"});
}

TEST(Pipeline, FiltersGoThroughThePipelinesOfTheRuleTheyApplyTo) {
  Harness h = With({R"(transformations:
  - type: field_name_mapping
    mapping: {Image: proc.exepath, CommandLine: proc.cmdline, User: user.name}
)"},
                   {{"rules/r.yml", kLinuxRule}, {"filters/f.yml", R"(title: Not the builder
logsource:
    product: linux
filter:
    rules: [curl_tmp]
    builder:
        User: builder
    condition: not builder
)"}});
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().errors(), 0u) << h.Diagnostics();
  EXPECT_TRUE(
      h.Match({{"proc.exepath", "/curl"}, {"proc.cmdline", "/tmp/"}, {"user.name", "builder"}}, "",
              kLinux)
          .empty());
  EXPECT_EQ(h.Match({{"proc.exepath", "/curl"}, {"proc.cmdline", "/tmp/"}, {"user.name", "eve"}},
                    "", kLinux),
            Titles{"Curl to tmp"});
}

TEST(Pipeline, CorrelationFieldsAreRenamedPerReferencedRule) {
  Harness h = With({R"(transformations:
  - type: field_name_mapping
    mapping: {Image: proc.exepath, CommandLine: proc.cmdline, User: user.name}
    rule_conditions: [{type: logsource, product: linux}]
)"},
                   {{"rules/r.yml", std::string(kLinuxRule) + R"(---
title: Curl burst
correlation:
    type: value_count
    rules: curl_tmp
    group-by: [User]
    timespan: 5m
    condition: {gte: 3, field: CommandLine}
)"}});
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_EQ(h.set().correlations.size(), 1u);
  const CorrelationRule& c = h.set().correlations[0];
  EXPECT_EQ(c.group_by, std::vector<std::string>{"User"});  // the name as written
  EXPECT_EQ(h.set().catalog->Path(c.group_by_paths[0][0]), "user.name");
  EXPECT_EQ(h.set().catalog->Path(c.value_paths[0]), "proc.cmdline");
}

TEST(Pipeline, VarsMergeWithTheHigherPriorityWinning) {
  std::vector<ProcessingPipeline> pipelines = {
      Load("priority: 30\nvars:\n  admins: [root]\n"),
      Load("priority: 10\nvars:\n  admins: [alice, bob]\n  hosts: web\n")};
  std::map<std::string, std::vector<std::string>> placeholders;
  MergePipelineVars(pipelines, placeholders);
  EXPECT_EQ(placeholders["admins"], std::vector<std::string>{"root"});
  EXPECT_EQ(placeholders["hosts"], std::vector<std::string>{"web"});
}

TEST(PipelineLoad, ErrorsAreLocatedWithHints) {
  EXPECT_EQ(LoadErrors("transformations:\n  - type: field_name_maping\n    mapping: {a: b}\n"),
            "pipelines/p.yml:2:11: error: unknown transformation type 'field_name_maping' "
            "(hint: did you mean 'field_name_mapping'?)\n");
  EXPECT_EQ(LoadErrors("transformations:\n  - type: replace_string\n"),
            "pipelines/p.yml:2:11: error: transformation type 'replace_string' is not supported "
            "by Tuttle (hint: supported: field_name_mapping, field_name_prefix_mapping, "
            "field_name_prefix, field_name_suffix, drop_detection_item, add_condition, "
            "change_logsource, value_placeholders, rule_failure, detection_item_failure)\n");
  EXPECT_EQ(LoadErrors("transformations:\n  - type: field_name_mapping\n    mapping: {a: b}\n"
                       "    mappings: {c: d}\n"),
            "pipelines/p.yml:4:5: error: 'mappings' is not a parameter of transformation "
            "'field_name_mapping' (hint: its parameters: mapping)\n");
  EXPECT_EQ(LoadErrors("transformations:\n  - type: field_name_mapping\n"),
            "pipelines/p.yml:2:5: error: transformation 'field_name_mapping' needs 'mapping' "
            "(hint: e.g. 'mapping: {Image: proc.exepath}')\n");
  EXPECT_EQ(
      LoadErrors("transformations:\n  - type: field_name_mapping\n    mapping: {a: {b: c}}\n"),
      "pipelines/p.yml:3:18: error: 'a' must map to a field name or a list of field names "
      "(hint: a list means: any of these fields)\n");
  EXPECT_EQ(LoadErrors("transformations:\n  - type: change_logsource\n    product: falco\n"
                       "    rule_conditions:\n      - type: logsorce\n"),
            "pipelines/p.yml:5:15: error: unknown rule condition 'logsorce' (hint: did you mean "
            "'logsource'?)\n");
  EXPECT_EQ(LoadErrors("transformations:\n  - type: add_condition\n    conditions:\n"
                       "      evt.type|contians: exec\n"),
            "pipelines/p.yml:4:16: error: unknown modifier 'contians' (hint: did you mean "
            "'contains'?)\n");
  EXPECT_EQ(LoadErrors("priority: high\n"),
            "pipelines/p.yml:1:11: error: 'priority' takes an integer, not 'high' (hint: "
            "pySigma's convention: 10 log sources, 20 field names, 50+ environment)\n");
  EXPECT_EQ(LoadErrors("name: a\n---\nname: b\n"),
            "pipelines/p.yml:3:1: error: a processing pipeline file holds one YAML document "
            "(hint: write each pipeline to a file of its own)\n");
  EXPECT_EQ(LoadErrors("transformations: [\n"),
            "pipelines/p.yml:2:1: error: invalid YAML: end of sequence flow not found\n");
  EXPECT_EQ(LoadErrors("transformatons: []\n"),
            "pipelines/p.yml:1:1: error: unknown key 'transformatons' in a processing pipeline "
            "(hint: did you mean 'transformations'?)\n");
  EXPECT_EQ(LoadErrors("transformations:\n  - type: change_logsource\n"),
            "pipelines/p.yml:2:5: error: change_logsource sets nothing (hint: give 'product', "
            "'service' or 'category')\n");
  EXPECT_EQ(LoadErrors("transformations:\n  - type: field_name_prefix\n    prefix: x\n"
                       "    field_name_conditions:\n      - type: include_fields\n"
                       "        fields: ['(']\n        mode: re\n")
                .substr(0, 60),
            "pipelines/p.yml:6:17: error: invalid regular expression '(':");
  EXPECT_EQ(LoadErrors(""),
            "pipelines/p.yml:1:1: error: the processing pipeline is empty (hint: give it 'name', "
            "'priority' and 'transformations')\n");
}

TEST(PipelineLoad, PySigmaOnlyKeysAreWarnings) {
  EXPECT_EQ(LoadErrors("name: x\npostprocessing: []\n"),
            "pipelines/p.yml:2:1: warning: 'postprocessing' is ignored (hint: it shapes query "
            "text for pySigma backends; Tuttle compiles rules itself)\n");
}

TEST(PipelineLoad, NeverCrashesOnOddShapes) {
  for (const char* yaml :
       {"[]", "- a\n- b\n", "transformations: 3\n", "transformations:\n  - 3\n",
        "transformations:\n  - type: [a]\n",
        "transformations:\n  - {type: add_condition, "
        "conditions: [a]}\n",
        "transformations:\n  - {type: field_name_mapping, mapping: {a: b}, rule_conditions: {x: "
        "{type: tag, tag: t}}, rule_cond_expr: 'x and'}\n",
        "vars: [a]\n", "vars: {a: {b: c}}\n", "transformations:\n  - {type: rule_failure}\n",
        "transformations:\n  - {type: field_name_mapping, mapping: {a: b}, "
        "field_name_conditions: [{type: include_fields}]}\n",
        "transformations:\n  - {type: change_logsource, product: x, field_name_conditions: []}\n",
        "? [a]\n: b\n", "&a [*a]\n"}) {
    const std::string errors = LoadErrors(yaml);
    EXPECT_NE(errors.find("error:"), std::string::npos) << yaml;
    EXPECT_EQ(errors.find("disagrees"), std::string::npos) << yaml << errors;
  }
}

}  // namespace
}  // namespace tuttle::rules::testing
