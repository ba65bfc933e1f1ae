// Fuzz target: the Sigma rule loader and compiler (YAML, detection, condition grammar,
// modifiers, correlations, Hyperscan compilation) on arbitrary rule files. Every input loads or
// yields located diagnostics; nothing crashes.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "tuttle/rules/sigma_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // rule files are small; keep each run fast
  std::vector<tuttle::rules::RuleSource> sources = {
      {"fuzz.yml", std::string(reinterpret_cast<const char*>(data), size)}};
  auto catalog = std::make_shared<tuttle::FieldCatalog>();
  tuttle::rules::CompileOptions options;
  options.compile_threads = 1;
  tuttle::rules::CompileReport report;
  auto rules = tuttle::rules::CompileRules(sources, catalog, options, report);
  for (const auto& d : report.diagnostics) {
    if (d.file != "fuzz.yml") __builtin_trap();  // every diagnostic names its file
  }
  return 0;
}
