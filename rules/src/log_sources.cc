#include "tuttle/rules/log_sources.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "text_util.h"

namespace tuttle::rules {
namespace {

bool Fits(const LogSourceSpec& logsource, const BuiltinLogSource& b) {
  return logsource.Matches(LogSource{b.product, b.service, b.category});
}

std::string Describe(const LogSourceSpec& l) {
  std::vector<std::string> parts;
  if (!l.product.empty()) parts.push_back("product: " + l.product);
  if (!l.service.empty()) parts.push_back("service: " + l.service);
  if (!l.category.empty()) parts.push_back("category: " + l.category);
  return fmt::format("{{{}}}", fmt::join(parts, ", "));
}

}  // namespace

bool FitsBuiltinLogSource(const LogSourceSpec& logsource) {
  for (const BuiltinLogSource& b : kBuiltinLogSources) {
    if (!b.format.empty() && Fits(logsource, b)) return true;
  }
  return false;
}

std::optional<LogSourceNearMiss> NearMissLogSource(const LogSourceSpec& logsource) {
  if (logsource.product.empty()) return std::nullopt;
  std::vector<std::string_view> products;
  for (const BuiltinLogSource& b : kBuiltinLogSources) {
    if (std::find(products.begin(), products.end(), b.product) == products.end()) {
      products.push_back(b.product);
    }
  }
  bool known_product = false;
  std::vector<std::string_view> services;  // of the rule's product
  for (const BuiltinLogSource& b : kBuiltinLogSources) {
    if (!EqualsIgnoreCase(b.product, logsource.product)) continue;
    known_product = true;
    if (Fits(logsource, b)) return std::nullopt;
    if (!b.service.empty()) services.push_back(b.service);
  }
  if (!known_product) {
    // A typo of a built-in product: at most one edit, two for long names.
    const size_t max_edits = logsource.product.size() >= 8 ? 2 : 1;
    for (const std::string_view p : products) {
      if (EditDistance(AsciiLower(logsource.product), p) <= max_edits) {
        return LogSourceNearMiss{
            fmt::format("log source {} names no product Tuttle reads", Describe(logsource)),
            fmt::format("did you mean 'product: {}'?", p)};
      }
    }
    return std::nullopt;
  }
  std::vector<std::string_view> categories;  // of the rule's product and service
  for (const BuiltinLogSource& b : kBuiltinLogSources) {
    if (EqualsIgnoreCase(b.product, logsource.product) &&
        (logsource.service.empty() || EqualsIgnoreCase(b.service, logsource.service))) {
      if (!b.category.empty()) categories.push_back(b.category);
    }
  }
  if (!logsource.category.empty() &&
      (logsource.service.empty() || std::find_if(services.begin(), services.end(), [&](auto s) {
                                      return EqualsIgnoreCase(s, logsource.service);
                                    }) != services.end())) {
    return LogSourceNearMiss{
        fmt::format("log source {}: no {} records carry category '{}', so the rule matches "
                    "nothing",
                    Describe(logsource), logsource.product, logsource.category),
        categories.empty()
            ? "remove 'category', or rewrite it with a processing pipeline's change_logsource"
            : fmt::format("their category is {}", fmt::join(categories, ", "))};
  }
  // A service one typo away from a built-in one. Other services of a product Tuttle reads
  // (SigmaHQ's azure signinlogs, say) are, like other products, for a pipeline or another tool.
  std::string hint;
  if (auto closest = ClosestMatch(logsource.service, services)) {
    hint = fmt::format("did you mean 'service: {}'?", *closest);
  } else {
    return std::nullopt;
  }
  return LogSourceNearMiss{fmt::format("log source {}: no built-in source has service '{}'",
                                       Describe(logsource), logsource.service),
                           std::move(hint)};
}

}  // namespace tuttle::rules
