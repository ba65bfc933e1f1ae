#include "rule_harness.h"

#include <sstream>

namespace tuttle::rules::testing {

Field Number(std::string path, std::string text) {
  return Field{std::move(path), std::move(text), ValueKind::kNumber};
}
Field Bool(std::string path, bool value) {
  return Field{std::move(path), value ? "true" : "false", ValueKind::kBool};
}
Field Null(std::string path) { return Field{std::move(path), "", ValueKind::kNull}; }

std::string Rule(std::string_view title, std::string_view detection, std::string_view logsource) {
  std::string out = "title: " + std::string(title) + "\nlogsource:\n    " + std::string(logsource) +
                    "\ndetection:\n";
  std::istringstream lines{std::string(detection)};
  for (std::string line; std::getline(lines, line);) out += "    " + line + "\n";
  return out;
}

namespace {
CompileOptions Strict(bool strict) {
  CompileOptions options;
  options.strict = strict;
  return options;
}
}  // namespace

Harness::Harness(const std::string& yaml, bool strict, const std::string& path) {
  Compile({RuleSource{path, yaml}}, Strict(strict));
}

Harness::Harness(const std::vector<RuleSource>& sources, bool strict) {
  Compile(sources, Strict(strict));
}

Harness::Harness(const std::string& yaml, const CompileOptions& options) {
  Compile({RuleSource{"rules/test.yml", yaml}}, options);
}

Harness::Harness(const std::vector<RuleSource>& sources, const CompileOptions& options) {
  Compile(sources, options);
}

void Harness::Compile(const std::vector<RuleSource>& sources, const CompileOptions& options) {
  auto catalog = std::make_shared<FieldCatalog>();
  Result<RuleSet> set = CompileRules(sources, catalog, options, report_);
  if (!set.ok()) {
    error_ = set.error().message();
    return;
  }
  set_ = std::make_unique<RuleSet>(std::move(*set));
  worker_ = set_->detector->NewWorker();
}

std::string Harness::Diagnostics() const {
  std::string out;
  for (const Diagnostic& d : report_.diagnostics) out += d.ToString() + "\n";
  return out;
}

std::vector<std::string> Harness::Match(const std::vector<Field>& fields, std::string_view raw,
                                        LogSource source) const {
  FieldTable table;
  for (const Field& f : fields) {
    // The walker only extracts catalogued paths.
    const PathId path = set_->catalog->Find(f.path);
    if (path != kNoPath) table.Add(path, f.kind, f.text);
  }
  Event event;
  event.raw = raw;
  event.log_source = source;
  event.fields = &table;
  std::vector<uint32_t> matched;
  worker_->Match(event, matched);
  std::vector<std::string> titles;
  for (const uint32_t r : matched) titles.push_back(set_->detections[r].info->title);
  return titles;
}

}  // namespace tuttle::rules::testing
