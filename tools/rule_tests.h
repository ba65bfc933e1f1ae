#pragma once
// Rule tests: sample records with the alerts a rule set must (and must not) raise on them, run
// through the real pipeline (adapters, Hyperscan matching, correlation windows). The file format
// is documented in docs/rule-tests.md; `tuttle rules test PATH...` runs them.

#include <string>
#include <vector>

#include "tuttle/engine/diagnostic.h"
#include "tuttle/engine/record_parser.h"
#include "tuttle/engine/result.h"
#include "tuttle/engine/rule_set.h"

namespace tuttle::tools {

struct RuleTestOutcome {
  std::string file;
  int line = 0;       // where the test starts
  std::string name;
  bool passed = false;
  std::vector<std::string> failures;  // what differed, one line each
};

// The rule test files under `paths`: *.test.yml and *.test.yaml in folders (recursively, sorted),
// and files named directly.
Result<std::vector<std::string>> FindRuleTestFiles(const std::vector<std::string>& paths);

// Runs every test of `files` against `rules`. Malformed test files give located diagnostics
// (and count as failures); each test gets an outcome.
std::vector<RuleTestOutcome> RunRuleTests(const std::vector<std::string>& files,
                                          const RuleSet& rules, const RecordParser& parser,
                                          Diagnostics& diagnostics);

}  // namespace tuttle::tools
