#pragma once
// `tuttle rules check` and `tuttle rules test`.

#include <string>
#include <vector>

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

}  // namespace tuttle::tools
