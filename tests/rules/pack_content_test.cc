// The bundled rule pack (rules/pack/) as content a SOC switches on: every rule carries what an
// analyst needs (ATT&CK tactic and technique tags, level, false positives, references, an id),
// names and ids are unique, every rule has a test file with a record that alerts and one that
// does not, and the pack is as large and as broad as docs/rules.md says. `tuttle rules test
// rules/pack` (ctest rules.pack.test) runs those tests; this checks they exist and what they hold.

#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace tuttle {
namespace {

namespace fs = std::filesystem;

struct PackRule {
  fs::path file;
  YAML::Node doc;
  bool correlation = false;
};

std::vector<PackRule> LoadPack() {
  std::vector<PackRule> out;
  const fs::path root = testing::SourceDir() / "rules/pack";
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || entry.path().extension() != ".yml" ||
        name.ends_with(".test.yml")) {
      continue;
    }
    for (const YAML::Node& doc : YAML::LoadAllFromFile(entry.path().string())) {
      out.push_back(PackRule{entry.path(), doc, static_cast<bool>(doc["correlation"])});
    }
  }
  return out;
}

std::vector<std::string> Strings(const YAML::Node& n) {
  std::vector<std::string> out;
  if (!n || !n.IsSequence()) return out;
  for (const YAML::Node& v : n) {
    if (v.IsScalar()) out.push_back(v.Scalar());
  }
  return out;
}

TEST(PackContent, EveryRuleCarriesWhatAnAnalystNeeds) {
  const std::vector<PackRule> pack = LoadPack();
  ASSERT_FALSE(pack.empty());
  const std::regex uuid("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  const std::regex technique("^attack\\.t[0-9]{4}(\\.[0-9]{3})?$");
  const std::set<std::string> tactics = {
      "attack.reconnaissance",        "attack.resource-development", "attack.initial-access",
      "attack.execution",             "attack.persistence",          "attack.privilege-escalation",
      "attack.defense-evasion",       "attack.credential-access",    "attack.discovery",
      "attack.lateral-movement",      "attack.collection",           "attack.command-and-control",
      "attack.exfiltration",          "attack.impact"};
  const std::set<std::string> levels = {"informational", "low", "medium", "high", "critical"};
  std::map<std::string, fs::path> ids, names;
  for (const PackRule& r : pack) {
    SCOPED_TRACE(r.file.string());
    for (const char* key : {"title", "id", "name", "status", "description", "author", "date",
                            "level"}) {
      EXPECT_TRUE(r.doc[key] && r.doc[key].IsScalar() && !r.doc[key].Scalar().empty())
          << "missing " << key;
    }
    const std::string id = r.doc["id"] ? r.doc["id"].Scalar() : "";
    const std::string name = r.doc["name"] ? r.doc["name"].Scalar() : "";
    EXPECT_TRUE(std::regex_match(id, uuid)) << "id " << id;
    EXPECT_TRUE(ids.emplace(id, r.file).second) << "id " << id << " also in " << ids[id];
    EXPECT_TRUE(names.emplace(name, r.file).second) << "name " << name << " also in "
                                                    << names[name];
    EXPECT_EQ(r.file.stem().string(), name) << "the file is named after the rule";
    EXPECT_TRUE(levels.count(r.doc["level"] ? r.doc["level"].Scalar() : "")) << "level";
    const auto tags = Strings(r.doc["tags"]);
    bool has_technique = false, has_tactic = false;
    for (const std::string& t : tags) {
      has_technique = has_technique || std::regex_match(t, technique);
      has_tactic = has_tactic || tactics.count(t) > 0;
    }
    EXPECT_TRUE(has_technique) << "no ATT&CK technique tag (attack.tNNNN)";
    EXPECT_TRUE(has_tactic) << "no ATT&CK tactic tag";
    EXPECT_FALSE(Strings(r.doc["falsepositives"]).empty()) << "no false positives";
    const auto refs = Strings(r.doc["references"]);
    EXPECT_FALSE(refs.empty()) << "no references";
    for (const std::string& ref : refs) EXPECT_EQ(ref.rfind("https://", 0), 0u) << ref;
  }
}

TEST(PackContent, EveryRuleHasTestsThatAlertAndTestsThatDoNot) {
  const fs::path tests = testing::SourceDir() / "rules/pack/tests";
  for (const PackRule& r : LoadPack()) {
    const std::string name = r.doc["name"] ? r.doc["name"].Scalar() : "";
    const fs::path file = tests / (name + ".test.yml");
    SCOPED_TRACE(file.string());
    ASSERT_TRUE(fs::exists(file)) << "no rule test file for " << name;
    const YAML::Node doc = YAML::LoadFile(file.string());
    size_t alerting = 0, quiet = 0;
    for (const YAML::Node& t : doc["tests"]) {
      const YAML::Node alerts = t["alerts"];
      if (alerts && alerts.IsSequence() && alerts.size() > 0) {
        ++alerting;
      } else {
        ++quiet;
      }
    }
    EXPECT_GE(alerting, 1u) << "no test with a record that alerts";
    EXPECT_GE(quiet, 1u) << "no test with records that must not alert";
  }
}

TEST(PackContent, ThePackIsAsLargeAndAsBroadAsDocumented) {
  size_t detections = 0, correlations = 0;
  std::set<std::string> techniques;
  for (const PackRule& r : LoadPack()) {
    (r.correlation ? correlations : detections) += 1;
    for (const std::string& t : Strings(r.doc["tags"])) {
      if (t.rfind("attack.t", 0) == 0) techniques.insert(t.substr(7));
    }
  }
  EXPECT_GE(detections, 40u);
  EXPECT_GE(correlations, 12u);
  // The Containers matrix of ATT&CK v18 and serverless execution: each by at least one rule.
  for (const char* t : {"t1609", "t1610", "t1611", "t1612", "t1613", "t1525", "t1552.007",
                        "t1053.007", "t1204.003", "t1543.005", "t1098.006", "t1059.013", "t1496",
                        "t1078.001", "t1190", "t1133", "t1648"}) {
    EXPECT_TRUE(techniques.count(t)) << "no rule tagged attack." << t;
  }
}

}  // namespace
}  // namespace tuttle
