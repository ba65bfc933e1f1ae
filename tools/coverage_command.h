#pragma once
// `tuttle coverage`: which techniques of the ATT&CK Containers matrix the loaded rules cover
// (by their `attack.tXXXX` tags), as a table, and as an ATT&CK Navigator layer (docs/rules.md,
// "Coverage").

#include <string>
#include <vector>

#include "tuttle/engine/rule_set.h"

namespace tuttle::tools {

struct CoverageOptions {
  std::vector<std::string> rules;      // files or folders; empty: the embedded pack
  std::vector<std::string> pipelines;  // processing pipeline files
  std::string navigator;               // write the Navigator layer JSON here; empty: don't
  bool json = false;                   // print the coverage as one JSON document, not a table
  bool inventory = true;  // count the inventory's built-in findings (docs/inventory.md) too
};

// Prints the coverage table (or, with `json`, a JSON document) to stdout. Returns the exit code:
// 0, or 1 when the rules cannot be loaded or the layer cannot be written.
int Coverage(const CoverageOptions& options);

// The document `tuttle coverage --json` prints, for `rules` loaded from `origin` (with the
// inventory's built-in findings when `inventory`): GET /api/v1/coverage serves it.
std::string CoverageJson(const RuleSet& rules, const std::string& origin, bool inventory);

}  // namespace tuttle::tools
