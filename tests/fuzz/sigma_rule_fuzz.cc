// Fuzz target: the Sigma rule loader and compiler (YAML, detection, condition grammar,
// modifiers, correlations, filters, Hyperscan compilation) on arbitrary rule files, and the
// processing pipeline loader on the same bytes (a pipeline that loads is then applied to a fixed
// rule, filter and correlation). Every input loads or yields located diagnostics; nothing
// crashes.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "tuttle/rules/pipeline.h"
#include "tuttle/rules/sigma_loader.h"

namespace {

constexpr const char* kFixedRules = R"(title: Curl to tmp
name: curl_tmp
tags: [attack.execution]
logsource: {product: linux, category: process_creation}
detection:
    sel:
        Image|endswith: /curl
        CommandLine|contains: /tmp/
    kw:
        - evil
    condition: sel or kw
---
title: Not the builder
logsource: {product: linux}
filter:
    rules: [curl_tmp]
    f:
        User: builder
    condition: not f
---
title: Curl burst
correlation:
    type: value_count
    rules: curl_tmp
    group-by: [User]
    timespan: 5m
    condition: {gte: 3, field: CommandLine}
)";

void CheckFiles(const tuttle::rules::CompileReport& report, const char* a, const char* b) {
  for (const auto& d : report.diagnostics) {
    if (d.file != a && d.file != b) __builtin_trap();  // every diagnostic names its file
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // rule files are small; keep each run fast
  const std::string text(reinterpret_cast<const char*>(data), size);
  {
    std::vector<tuttle::rules::RuleSource> sources = {{"fuzz.yml", text}};
    auto catalog = std::make_shared<tuttle::FieldCatalog>();
    tuttle::rules::CompileOptions options;
    options.compile_threads = 1;
    tuttle::rules::CompileReport report;
    auto rules = tuttle::rules::CompileRules(sources, catalog, options, report);
    CheckFiles(report, "fuzz.yml", "fuzz.yml");
  }
  tuttle::Diagnostics diagnostics;
  auto pipeline = tuttle::rules::LoadPipeline({"pipeline.yml", text}, diagnostics);
  for (const auto& d : diagnostics) {
    if (d.file != "pipeline.yml") __builtin_trap();
  }
  if (!pipeline.ok()) return 0;
  auto catalog = std::make_shared<tuttle::FieldCatalog>();
  tuttle::rules::CompileOptions options;
  options.compile_threads = 1;
  options.pipelines.push_back(std::move(*pipeline));
  tuttle::rules::CompileReport report;
  auto rules = tuttle::rules::CompileRules({{"rules.yml", kFixedRules}}, catalog, options, report);
  CheckFiles(report, "rules.yml", "pipeline.yml");
  return 0;
}
