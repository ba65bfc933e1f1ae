#pragma once
// Test helpers for the rules library: compile Sigma YAML from strings and match hand-built
// events (a FieldTable filled the way an adapter's JSON walker would fill it).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tuttle/engine/event.h"
#include "tuttle/engine/rule_set.h"
#include "tuttle/rules/sigma_loader.h"

namespace tuttle::rules::testing {

// One value of an event field. Arrays are several values of the same path, as the walker gives
// them.
struct Field {
  std::string path;
  std::string text;
  ValueKind kind = ValueKind::kString;
};

Field Number(std::string path, std::string text);
Field Bool(std::string path, bool value);
Field Null(std::string path);

// A detection rule document titled `title`. `detection` is the body of the detection section
// without indentation; each line is indented by four spaces. The log source is product: test.
std::string Rule(std::string_view title, std::string_view detection,
                 std::string_view logsource = "product: test");

class Harness {
 public:
  // Compiles one file named `path` holding `yaml`.
  explicit Harness(const std::string& yaml, bool strict = false,
                   const std::string& path = "rules/test.yml");
  explicit Harness(const std::vector<RuleSource>& sources, bool strict = false);
  // Compiles one file "rules/test.yml" holding `yaml` with `options`.
  Harness(const std::string& yaml, const CompileOptions& options);
  // With processing pipelines and other options.
  Harness(const std::vector<RuleSource>& sources, const CompileOptions& options);

  bool ok() const { return set_ != nullptr; }
  const std::string& error() const { return error_; }
  const CompileReport& report() const { return report_; }
  const RuleSet& set() const { return *set_; }
  // Every diagnostic, one per line, as compilers print them.
  std::string Diagnostics() const;

  // The titles of the detection rules matching an event with `fields` from `source` (product
  // "test" by default), in rule order. `raw` is the record keywords search.
  std::vector<std::string> Match(const std::vector<Field>& fields, std::string_view raw = "",
                                 LogSource source = LogSource{"test", "", ""}) const;
  // True when the rule set's only (or first) rule matches.
  bool Matches(const std::vector<Field>& fields, std::string_view raw = "") const {
    return !Match(fields, raw).empty();
  }

 private:
  void Compile(const std::vector<RuleSource>& sources, const CompileOptions& options);

  std::unique_ptr<RuleSet> set_;
  std::string error_;
  CompileReport report_;
  std::unique_ptr<Detector::Worker> worker_;
};

}  // namespace tuttle::rules::testing
