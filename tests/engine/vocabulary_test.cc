// Field catalog, hashes, ATT&CK tags, conditions: the vocabulary every module shares.

#include <gtest/gtest.h>

#include "tuttle/engine/attack.h"
#include "tuttle/engine/diagnostic.h"
#include "tuttle/engine/field_catalog.h"
#include "tuttle/engine/hash.h"
#include "tuttle/engine/rule_set.h"

namespace tuttle {
namespace {

TEST(FieldCatalog, InternsDottedPathsOnce) {
  FieldCatalog c;
  const PathId a = c.Intern("objectRef.namespace");
  EXPECT_EQ(c.Intern("objectRef.namespace"), a);
  EXPECT_NE(c.Intern("objectRef.name"), a);
  EXPECT_EQ(c.Find("objectRef.namespace"), a);
  EXPECT_EQ(c.Find("objectRef"), kNoPath);  // an inner node, not a path of its own
  EXPECT_EQ(c.Path(a), "objectRef.namespace");
}

TEST(FieldCatalog, KeysWithDotsWalkTheSameTrieAsNestedObjects) {
  FieldCatalog c;
  const PathId cmd = c.Intern("output_fields.proc.cmdline");
  const auto of = c.Child(FieldCatalog::kRoot, "output_fields");
  ASSERT_NE(of, FieldCatalog::kNoNode);
  // Falco's {"output_fields": {"proc.cmdline": ...}}
  EXPECT_EQ(c.PathAt(c.Child(of, "proc.cmdline")), cmd);
  // and the nested spelling {"output_fields": {"proc": {"cmdline": ...}}}
  const auto proc = c.Child(of, "proc");
  ASSERT_NE(proc, FieldCatalog::kNoNode);
  EXPECT_TRUE(c.HasChildren(proc));
  EXPECT_EQ(c.PathAt(c.Child(proc, "cmdline")), cmd);
  EXPECT_EQ(c.Child(of, "proc.name"), FieldCatalog::kNoNode);
}

TEST(Hasher, SeparatesFieldsSoConcatenationsDiffer) {
  EXPECT_NE(Hasher().Add("ab").Add("c").Finish(), Hasher().Add("a").Add("bc").Finish());
  EXPECT_EQ(Hasher().Add("ab").Add(int64_t{7}).Finish(),
            Hasher().Add("ab").Add(int64_t{7}).Finish());
  EXPECT_EQ(HashBytes("tuttle"), HashBytes("tuttle"));
}

TEST(Hash128, PrintsAsUuidLayout) {
  const Hash128 h{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  EXPECT_EQ(h.Hex(), "0123456789abcdeffedcba9876543210");
  EXPECT_EQ(h.Uuid(), "01234567-89ab-cdef-fedc-ba9876543210");
}

TEST(HashBytes, IsStableAcrossReleases) {
  // XXH3-128 of "" is fixed by the xxHash specification; ids stored in RocksDB depend on it.
  EXPECT_EQ(HashBytes("").Hex(), "99aa06d3014798d86001c324468d497f");
}

TEST(ParseAttackTags, ReadsTacticsTechniquesAndSubTechniques) {
  const AttackTags t = ParseAttackTags(
      {"attack.execution", "attack.t1609", "attack.t1552.007", "attack.privilege_escalation",
       "attack.T1609", "cve.2021-44228", "attack.g0096"});
  ASSERT_EQ(t.tactics.size(), 2u);
  EXPECT_EQ(t.tactics[0].uid, "TA0002");
  EXPECT_EQ(t.tactics[0].name, "Execution");
  EXPECT_EQ(t.tactics[1].uid, "TA0004");
  ASSERT_EQ(t.techniques.size(), 2u);
  EXPECT_EQ(t.techniques[0].uid, "T1609");
  EXPECT_EQ(t.techniques[0].name, "Container Administration Command");
  EXPECT_EQ(t.techniques[1].uid, "T1552.007");
  EXPECT_EQ(t.techniques[1].name, "Container API");
  EXPECT_EQ(t.techniques[1].parent_uid, "T1552");
  EXPECT_EQ(t.techniques[1].parent_name, "Unsecured Credentials");
}

TEST(CountCondition, CombinesBoundsAsARange) {
  CountCondition c;
  c.gt = 100;
  c.lte = 200;
  EXPECT_FALSE(c.Holds(100));
  EXPECT_TRUE(c.Holds(101));
  EXPECT_TRUE(c.Holds(200));
  EXPECT_FALSE(c.Holds(201));
  EXPECT_EQ(c.ToString(), "> 100 and <= 200");
}

TEST(LogSourceSpec, MatchesWhenEverySetFieldEqualsIgnoringCase) {
  LogSourceSpec spec{"kubernetes", "audit", ""};
  EXPECT_TRUE(spec.Matches(LogSource{"kubernetes", "audit", {}}));
  EXPECT_TRUE(spec.Matches(LogSource{"Kubernetes", "AUDIT", "x"}));
  EXPECT_FALSE(spec.Matches(LogSource{"kubernetes", "container_logs", {}}));
  EXPECT_TRUE(LogSourceSpec{}.Matches(LogSource{"aws", "cloudtrail", {}}));
}

TEST(RuleSetLink, ReferencedRulesAlertOnlyWhenACorrelationSaysGenerate) {
  RuleSet rs;
  for (int i = 0; i < 3; ++i) rs.detections.push_back(DetectionRule{});
  CorrelationRule quiet;
  quiet.rules = {0};
  CorrelationRule loud;
  loud.rules = {1};
  loud.generate = true;
  rs.correlations = {quiet, loud};
  rs.Link();
  EXPECT_FALSE(rs.detections[0].emits_alerts);
  EXPECT_TRUE(rs.detections[1].emits_alerts);
  EXPECT_TRUE(rs.detections[2].emits_alerts);  // stands alone
  ASSERT_EQ(rs.uses[1].size(), 1u);
  EXPECT_EQ(rs.uses[1][0].correlation, 1u);
}

TEST(Diagnostic, PrintsLikeACompiler) {
  Diagnostic d{"rules/k8s/exec.yml", 14, 9, Diagnostic::Severity::kError,
               "unknown modifier 'contians'", "did you mean 'contains'?"};
  EXPECT_EQ(d.ToString(),
            "rules/k8s/exec.yml:14:9: error: unknown modifier 'contians' (hint: did you mean "
            "'contains'?)");
}

}  // namespace
}  // namespace tuttle
