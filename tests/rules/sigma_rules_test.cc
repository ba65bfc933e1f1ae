// Rule documents: metadata, log sources, several rules and documents, matching output.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "rule_harness.h"

namespace tuttle::rules::testing {
namespace {

TEST(SigmaRules, MetadataFillsRuleInfo) {
  Harness h(R"(title: Exec into pod
id: 5c6b1c1e-0000-4000-8000-000000000001
name: k8s_exec
status: experimental
description: Someone ran a command in a container
author: Jane, John
level: high
tags:
    - attack.t1609
    - attack.execution
references:
    - https://example.com/a
falsepositives:
    - Debugging
fields:
    - user.username
logsource:
    product: kubernetes
    service: audit
detection:
    sel:
        objectRef.subresource: exec
    condition: sel
)");
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().diagnostics.size(), 0u) << h.Diagnostics();
  ASSERT_EQ(h.set().detections.size(), 1u);
  const DetectionRule& rule = h.set().detections[0];
  const RuleInfo& info = *rule.info;
  EXPECT_EQ(info.title, "Exec into pod");
  EXPECT_EQ(info.id, "5c6b1c1e-0000-4000-8000-000000000001");
  EXPECT_EQ(info.name, "k8s_exec");
  EXPECT_EQ(info.status, "experimental");
  EXPECT_EQ(info.author, "Jane, John");
  EXPECT_EQ(info.level, Level::kHigh);
  EXPECT_EQ(info.tags, (std::vector<std::string>{"attack.t1609", "attack.execution"}));
  EXPECT_EQ(info.references, (std::vector<std::string>{"https://example.com/a"}));
  EXPECT_EQ(info.falsepositives, (std::vector<std::string>{"Debugging"}));
  EXPECT_EQ(info.file, "rules/test.yml");
  EXPECT_EQ(info.line, 1);
  EXPECT_EQ(rule.logsource.product, "kubernetes");
  EXPECT_EQ(rule.logsource.service, "audit");
  EXPECT_TRUE(rule.emits_alerts);
}

TEST(SigmaRules, LevelDefaultsToMedium) {
  Harness h(Rule("r", "sel:\n    a: 1\ncondition: sel"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.set().detections[0].info->level, Level::kMedium);
}

TEST(SigmaRules, UnknownLevelWarnsAndDefaultsToMedium) {
  Harness h(Rule("r", "sel:\n    a: 1\ncondition: sel") + "level: hihg\n");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.set().detections.size(), 1u);
  EXPECT_EQ(h.set().detections[0].info->level, Level::kMedium);
  EXPECT_EQ(h.Diagnostics(),
            "rules/test.yml:8:8: warning: unknown level 'hihg'; using medium "
            "(hint: did you mean 'high'?)\n");
}

TEST(SigmaRules, MissingIdIsDerivedStablyFromPathAndTitle) {
  const std::string yaml = Rule("No id here", "sel:\n    a: 1\ncondition: sel");
  Harness first(yaml, false, "rules/a.yml");
  Harness again(yaml, false, "rules/a.yml");
  Harness moved(yaml, false, "rules/b.yml");
  ASSERT_TRUE(first.ok() && again.ok() && moved.ok());
  const std::string& id = first.set().detections[0].info->id;
  EXPECT_EQ(id.size(), 36u);  // UUID layout
  EXPECT_EQ(id, again.set().detections[0].info->id);
  EXPECT_NE(id, moved.set().detections[0].info->id);
}

TEST(SigmaRules, LogsourceRestrictsRulesToMatchingEvents) {
  Harness h(Rule("k8s", "sel:\n    verb: create\ncondition: sel",
                 "product: kubernetes\n    service: audit") +
            "---\n" + Rule("any", "sel:\n    verb: create\ncondition: sel", "category: any") +
            "---\n" + Rule("all", "sel:\n    verb: create\ncondition: sel", "{}"));
  ASSERT_TRUE(h.ok()) << h.error();
  const std::vector<Field> event = {{"verb", "create"}};
  EXPECT_EQ(h.Match(event, "", LogSource{"Kubernetes", "AUDIT", ""}),
            (std::vector<std::string>{"k8s", "all"}));
  EXPECT_EQ(h.Match(event, "", LogSource{"kubernetes", "", ""}), (std::vector<std::string>{"all"}));
  EXPECT_EQ(h.Match(event, "", LogSource{"aws", "cloudtrail", "any"}),
            (std::vector<std::string>{"any", "all"}));
}

TEST(SigmaRules, SeveralDocumentsAndFilesLoadInOrder) {
  std::vector<RuleSource> sources = {
      {"b.yml", Rule("b1", "sel:\n    x: 1\ncondition: sel") + "---\n" +
                    Rule("b2", "sel:\n    x: 1\ncondition: sel") + "---\n"},
      {"a.yml", Rule("a1", "sel:\n    x: 1\ncondition: sel")},
  };
  Harness h(sources);
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h.report().rules_loaded, 3u);
  EXPECT_EQ(h.Match({{"x", "1"}}), (std::vector<std::string>{"b1", "b2", "a1"}));
  EXPECT_EQ(h.set().detections[1].info->line, 9);
}

TEST(SigmaRules, MatchedRuleIndicesAreAscendingAndUnique) {
  std::string yaml;
  for (int i = 0; i < 5; ++i) {
    if (i > 0) yaml += "---\n";
    // Every rule shares the predicate verb=create; the last ones also match through others.
    yaml += Rule(fmt::format("r{}", i),
                 "a:\n    verb: create\nb:\n    user|contains: li\ncondition: a or b");
  }
  Harness h(yaml);
  ASSERT_TRUE(h.ok());
  auto worker = h.set().detector->NewWorker();
  FieldTable table;
  table.Add(h.set().catalog->Find("verb"), ValueKind::kString, "create");
  table.Add(h.set().catalog->Find("user"), ValueKind::kString, "alice");
  Event event;
  event.log_source = LogSource{"test", "", ""};
  event.fields = &table;
  std::vector<uint32_t> matched;
  worker->Match(event, matched);
  EXPECT_EQ(matched, (std::vector<uint32_t>{0, 1, 2, 3, 4}));
  // A worker is reusable: the next event starts from a clean slate.
  matched.clear();
  FieldTable empty;
  event.fields = &empty;
  worker->Match(event, matched);
  EXPECT_TRUE(matched.empty());
}

TEST(SigmaRules, IdenticalValuesAcrossRulesShareOnePattern) {
  Harness h(Rule("r1", "sel:\n    verb: create\ncondition: sel") + "---\n" +
            Rule("r2", "sel:\n    verb: CREATE\n    user: x\ncondition: sel"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.report().patterns, 2u);   // create (caseless, so CREATE is the same) and x
  EXPECT_EQ(h.report().databases, 2u);  // verb, user
}

TEST(SigmaRules, RuleFieldsAreInternedIntoTheGivenCatalog) {
  auto catalog = std::make_shared<FieldCatalog>();
  const PathId adapter_path = catalog->Intern("metadata.time");
  CompileReport report;
  Result<RuleSet> set =
      CompileRules({{"r.yml", Rule("r", "sel:\n    objectRef.resource: pods\ncondition: sel")}},
                   catalog, CompileOptions{}, report);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->catalog.get(), catalog.get());
  EXPECT_EQ(catalog->Find("metadata.time"), adapter_path);
  EXPECT_NE(catalog->Find("objectRef.resource"), kNoPath);
}

TEST(SigmaRules, WorkersOnSeveralThreadsMatchIndependently) {
  Harness h(Rule("r", "sel:\n    cmd|endswith: /sh\ncondition: sel"));
  ASSERT_TRUE(h.ok());
  const RuleSet& set = h.set();
  std::vector<std::thread> threads;
  std::atomic<int> matches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto worker = set.detector->NewWorker();
      FieldTable table;
      table.Add(set.catalog->Find("cmd"), ValueKind::kString, "/bin/sh");
      Event event;
      event.log_source = LogSource{"test", "", ""};
      event.fields = &table;
      std::vector<uint32_t> matched;
      for (int i = 0; i < 1000; ++i) {
        matched.clear();
        worker->Match(event, matched);
        if (matched.size() == 1) ++matches;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(matches.load(), 4000);
}

}  // namespace
}  // namespace tuttle::rules::testing
