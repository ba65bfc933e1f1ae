#pragma once
// `tuttle rules check` and `tuttle rules test`.

#include <string>
#include <vector>

#include "tuttle/engine/rule_set.h"

namespace tuttle::tools {

struct RulesCheckOptions {
  std::vector<std::string> paths;
  std::vector<std::string> pipelines;  // processing pipeline files
  bool list = false;                   // print every loaded rule
};
// Validates rule files; prints diagnostics and a report. Returns the exit code: 0, or 1 when any
// rule has an error.
int RulesCheck(const RulesCheckOptions& options);

struct RulesTestOptions {
  std::vector<std::string> paths;  // rules and *.test.yml files, found together
  std::vector<std::string> pipelines;  // processing pipeline files
  bool verbose = false;                // print passing tests too
};
// Loads the rules under `paths` and runs the rule tests found there. Returns the exit code: 0,
// or 1 when a rule has an error or a test fails.
int RulesTest(const RulesTestOptions& options);

// The rules of `rules` as a JSON array, for GET /api/v1/rules: per rule its id, name, title,
// level, kind (detection or correlation), type (correlation type), status, ATT&CK tactics and
// techniques, tags, source file and line, and log source (detections) or group-by and timespan
// (correlations). Detection rules that only feed correlations say `emits_alerts: false`.
std::string RulesJson(const RuleSet& rules);

}  // namespace tuttle::tools
