#pragma once
// The rules the signals-topic codec tests and fuzz target encode signals for: a detection rule
// and a value_count over it, grouped by two fields.

#include <memory>
#include <string>

#include "tuttle/rules/sigma_loader.h"

namespace tuttle::testing {

inline constexpr const char* kSignalRules = R"(title: Secrets listed
id: 5e7a0000-0000-4000-8000-000000000001
name: listed
logsource: {product: kubernetes, service: audit}
detection:
    sel: {verb: list}
    condition: sel
---
title: Listed often
id: 5e7a0000-0000-4000-8000-000000000002
correlation:
    type: value_count
    rules: listed
    group-by: [user.username, objectRef.namespace]
    timespan: 5m
    condition: {gte: 3, field: objectRef.name}
)";

// Compiles `text` (one file, rules.yml) on one thread; an error yields nothing.
inline Result<RuleSet> CompileRulesText(const std::string& text) {
  rules::CompileOptions options;
  options.compile_threads = 1;
  rules::CompileReport report;
  return rules::CompileRules({{"rules.yml", text}}, std::make_shared<FieldCatalog>(), options,
                             report);
}

}  // namespace tuttle::testing
