#include "coverage_command.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "engine_setup.h"
#include "tuttle/engine/attack.h"
#include "tuttle/engine/inventory.h"

namespace tuttle::tools {
namespace {

using nlohmann::json;

// Technique id -> the rules (names, else ids) that tag it, in load order.
using RulesByTechnique = std::map<std::string, std::vector<std::string>, std::less<>>;

RulesByTechnique TaggedTechniques(const RuleSet& rules, bool inventory) {
  RulesByTechnique out;
  auto add = [&](const RuleInfo& info) {
    const std::string label = info.name.empty() ? info.id : info.name;
    for (const AttackTechnique& t : ParseAttackTags(info.tags).techniques) {
      out[t.uid].push_back(label);
    }
  };
  for (const DetectionRule& d : rules.detections) add(*d.info);
  for (const CorrelationRule& c : rules.correlations) add(*c.info);
  // The inventory's findings run beside the rules in `run` and `replay` (docs/inventory.md).
  if (inventory) {
    for (const auto& info : Inventory::BuiltInRules()) add(*info);
  }
  return out;
}

const std::vector<std::string>& RulesOf(const RulesByTechnique& by, std::string_view uid) {
  static const std::vector<std::string> kNone;
  const auto it = by.find(uid);
  return it == by.end() ? kNone : it->second;
}

struct Counted {
  size_t covered = 0;
  size_t total = 0;
};

// Prints one matrix, tactic by tactic; counts distinct techniques (a technique listed under
// several tactics counts once).
Counted PrintMatrix(std::FILE* out, const std::vector<MatrixColumn>& columns,
                    const RulesByTechnique& by) {
  std::set<std::string_view> all, covered;
  for (const MatrixColumn& column : columns) {
    fmt::print(out, "\n{} ({})\n", column.tactic_name, column.tactic_uid);
    std::string_view parent;  // the last technique listed: sub-techniques indent under it
    for (const MatrixTechnique& t : column.techniques) {
      const bool sub = t.uid.size() > 5 && t.uid.substr(0, 5) == parent;
      if (t.uid.size() == 5) parent = t.uid;
      const auto& rules = RulesOf(by, t.uid);
      all.insert(t.uid);
      if (!rules.empty()) covered.insert(t.uid);
      const std::string id = fmt::format("{}{}", sub ? "  " : "", t.uid);
      const std::string name = fmt::format("{}{}", sub ? "  " : "", t.name);
      if (rules.empty()) {
        fmt::print(out, "  {:<12} {:<44} {:>3}  UNCOVERED\n", id, name, "-");
      } else {
        fmt::print(out, "  {:<12} {:<44} {:>3}  {}\n", id, name, rules.size(),
                   fmt::join(rules, ", "));
      }
    }
  }
  return Counted{covered.size(), all.size()};
}

json Technique(const MatrixColumn& column, const MatrixTechnique& t,
               const std::vector<std::string>& rules, bool serverless) {
  json metadata = json::array();
  for (const std::string& r : rules) metadata.push_back({{"name", "rule"}, {"value", r}});
  if (serverless) {
    metadata.push_back({{"name", "note"}, {"value", "serverless (IaaS/SaaS), not Containers"}});
  }
  return json{
      {"techniqueID", t.uid},
      {"tactic", column.shortname},
      {"score", rules.size()},
      {"comment", rules.empty() ? std::string("no Tuttle rule")
                                : fmt::format("{}", fmt::join(rules, ", "))},
      {"enabled", true},
      {"metadata", std::move(metadata)},
      {"showSubtechniques", t.uid.size() == 5},
  };
}

// The matrix for machines: its columns with each technique's rules.
json MatrixJson(const std::vector<MatrixColumn>& columns, const RulesByTechnique& by) {
  json out = json::array();
  for (const MatrixColumn& column : columns) {
    json techniques = json::array();
    for (const MatrixTechnique& t : column.techniques) {
      techniques.push_back(
          {{"id", t.uid}, {"name", t.name}, {"rules", RulesOf(by, t.uid)}});
    }
    out.push_back({{"tactic", column.shortname},
                   {"tactic_id", column.tactic_uid},
                   {"tactic_name", column.tactic_name},
                   {"techniques", std::move(techniques)}});
  }
  return out;
}

// Distinct techniques of `columns`, and those with a rule.
Counted Count(const std::vector<MatrixColumn>& columns, const RulesByTechnique& by) {
  std::set<std::string_view> all, covered;
  for (const MatrixColumn& column : columns) {
    for (const MatrixTechnique& t : column.techniques) {
      all.insert(t.uid);
      if (!RulesOf(by, t.uid).empty()) covered.insert(t.uid);
    }
  }
  return Counted{covered.size(), all.size()};
}

json NavigatorLayer(const std::vector<MatrixColumn>& containers,
                    const std::vector<MatrixColumn>& serverless, const RulesByTechnique& by,
                    const std::string& origin, const Counted& counted) {
  json techniques = json::array();
  size_t max_score = 1;
  for (const MatrixColumn& c : containers) {
    for (const MatrixTechnique& t : c.techniques) {
      techniques.push_back(Technique(c, t, RulesOf(by, t.uid), false));
      max_score = std::max(max_score, RulesOf(by, t.uid).size());
    }
  }
  // Cloud techniques around functions are not on the Containers platform: the layer lists those
  // the rules cover, so the Navigator shows them once the platform filter is widened.
  for (const MatrixColumn& c : serverless) {
    for (const MatrixTechnique& t : c.techniques) {
      const auto& rules = RulesOf(by, t.uid);
      if (rules.empty()) continue;
      techniques.push_back(Technique(c, t, rules, true));
      max_score = std::max(max_score, rules.size());
    }
  }
  return json{
      {"name", "Tuttle rule coverage (Containers)"},
      {"versions", {{"attack", std::string(kAttackVersion)}, {"navigator", "5.1.0"},
                    {"layer", "4.5"}}},
      {"domain", "enterprise-attack"},
      {"description",
       fmt::format("Techniques of the ATT&CK v{} Containers matrix tagged by the Tuttle rules of "
                   "{}: {} of {} covered. Score: the number of rules.",
                   kAttackVersion, origin, counted.covered, counted.total)},
      {"filters", {{"platforms", json::array({"Containers"})}}},
      {"sorting", 0},
      {"layout", {{"layout", "side"}, {"showID", true}, {"showName", true}}},
      {"hideDisabled", false},
      {"techniques", std::move(techniques)},
      {"gradient",
       {{"colors", json::array({"#ff6666ff", "#ffe766ff", "#8ec843ff"})},
        {"minValue", 0},
        {"maxValue", max_score}}},
      {"legendItems",
       json::array({json{{"label", "no Tuttle rule"}, {"color", "#ff6666ff"}},
                    json{{"label", "covered by Tuttle rules (score: how many)"},
                         {"color", "#8ec843ff"}}})},
      {"showTacticRowBackground", true},
      {"tacticRowBackground", "#dddddd"},
      {"selectTechniquesAcrossTactics", true},
      {"selectSubtechniquesWithParent", false},
  };
}

// Writes the Navigator layer to `path` (nothing when empty).
Status WriteLayer(const std::string& path, const std::vector<MatrixColumn>& containers,
                  const std::vector<MatrixColumn>& serverless, const RulesByTechnique& by,
                  const std::string& origin, const Counted& counted) {
  if (path.empty()) return Ok();
  const json layer = NavigatorLayer(containers, serverless, by, origin, counted);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << layer.dump(2) << '\n';
  f.close();
  if (!f) return Error(fmt::format("cannot write the Navigator layer to '{}'", path));
  fmt::print(stderr, "tuttle: ATT&CK Navigator layer written to {}\n", path);
  return Ok();
}

}  // namespace

std::string CoverageJson(const RuleSet& rules, const std::string& origin, bool inventory) {
  const RulesByTechnique by = TaggedTechniques(rules, inventory);
  const auto containers = AttackMatrixColumns(AttackMatrix::kContainers);
  const auto serverless = AttackMatrixColumns(AttackMatrix::kServerless);
  const size_t rule_count = rules.detections.size() + rules.correlations.size() +
                            (inventory ? Inventory::BuiltInRules().size() : 0);
  const Counted counted = Count(containers, by);
  const Counted cloud = Count(serverless, by);
  const json doc = {
      {"attack_version", std::string(kAttackVersion)},
      {"rules", rule_count},
      {"rules_origin", origin},
      {"containers", {{"covered", counted.covered}, {"total", counted.total},
                      {"tactics", MatrixJson(containers, by)}}},
      {"serverless", {{"covered", cloud.covered}, {"total", cloud.total},
                      {"tactics", MatrixJson(serverless, by)}}},
  };
  return doc.dump();
}

int Coverage(const CoverageOptions& o) {
  auto engine = LoadEngine(o.rules, o.pipelines, /*strict=*/false);
  if (!engine.ok()) {
    fmt::print(stderr, "tuttle: error: {}\n", engine.error().message());
    return 1;
  }
  const RulesByTechnique by = TaggedTechniques(engine->rules, o.inventory);
  const auto containers = AttackMatrixColumns(AttackMatrix::kContainers);
  const auto serverless = AttackMatrixColumns(AttackMatrix::kServerless);
  const size_t rule_count = engine->rules.detections.size() + engine->rules.correlations.size() +
                            (o.inventory ? Inventory::BuiltInRules().size() : 0);

  const Counted counted = Count(containers, by);
  if (Status st = WriteLayer(o.navigator, containers, serverless, by, engine->rules_origin,
                             counted);
      !st.ok()) {
    fmt::print(stderr, "tuttle: error: {}\n", st.error().message());
    return 1;
  }
  if (o.json) {
    fmt::print("{}\n", CoverageJson(engine->rules, engine->rules_origin, o.inventory));
    return 0;
  }
  fmt::print("ATT&CK v{} Containers matrix: coverage by {} rules ({})\n", kAttackVersion,
             rule_count, engine->rules_origin);
  PrintMatrix(stdout, containers, by);
  fmt::print("\nServerless (IaaS/SaaS): cloud techniques around functions, outside the "
             "Containers matrix\n");
  const Counted cloud = PrintMatrix(stdout, serverless, by);

  // Tags of techniques in neither table: still worth knowing they are there.
  std::set<std::string_view> listed;
  for (const auto* columns : {&containers, &serverless}) {
    for (const MatrixColumn& c : *columns) {
      for (const MatrixTechnique& t : c.techniques) listed.insert(t.uid);
    }
  }
  std::vector<std::string> other;
  for (const auto& [uid, rules] : by) {
    if (listed.count(uid) == 0) other.push_back(fmt::format("{} ({})", uid, rules.size()));
  }
  if (!other.empty()) {
    fmt::print("\nOther techniques tagged (not in these tables): {}\n", fmt::join(other, ", "));
  }
  fmt::print("\n-- {} of {} Containers-matrix techniques covered ({:.0f}%); {} of {} serverless "
             "techniques\n",
             counted.covered, counted.total,
             counted.total == 0 ? 0.0 : 100.0 * static_cast<double>(counted.covered) /
                                            static_cast<double>(counted.total),
             cloud.covered, cloud.total);
  return 0;
}

}  // namespace tuttle::tools
