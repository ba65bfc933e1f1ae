#include "modifiers.h"

#include <array>

#include "text_util.h"

namespace tuttle::rules {
namespace {

struct Known {
  std::string_view name;
  Modifier modifier;
};

constexpr std::array kSupported = {
    Known{"contains", Modifier::kContains},
    Known{"startswith", Modifier::kStartswith},
    Known{"endswith", Modifier::kEndswith},
    Known{"all", Modifier::kAll},
    Known{"re", Modifier::kRe},
    Known{"i", Modifier::kReCaseless},
    Known{"m", Modifier::kReMultiline},
    Known{"s", Modifier::kReDotall},
    Known{"exists", Modifier::kExists},
    Known{"cased", Modifier::kCased},
};

// Named in the Sigma modifiers appendix (v2.1.0), not implemented yet.
constexpr std::string_view kNotSupportedYet[] = {
    "windash",  "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide",
    "lt",       "lte",    "gt",           "gte",     "neq",     "cidr",  "expand",
    "fieldref", "minute", "hour",         "day",     "week",    "month", "year",
};

}  // namespace

ModifierLookup LookupModifier(std::string_view name) {
  ModifierLookup out;
  for (const Known& k : kSupported) {
    if (k.name == name) {
      out.status = ModifierStatus::kSupported;
      out.modifier = k.modifier;
      return out;
    }
  }
  for (const std::string_view n : kNotSupportedYet) {
    if (n == name) {
      out.status = ModifierStatus::kNotSupportedYet;
      return out;
    }
  }
  // Suggest only multi-letter names: the one-letter re flags are near everything short.
  std::vector<std::string_view> candidates;
  for (const Known& k : kSupported) {
    if (k.name.size() > 1) candidates.push_back(k.name);
  }
  for (const std::string_view n : kNotSupportedYet) candidates.push_back(n);
  out.hint = DidYouMean(name, candidates);
  return out;
}

}  // namespace tuttle::rules
