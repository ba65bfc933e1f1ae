#include "modifiers.h"

#include <fmt/format.h>

#include <array>

#include "text_util.h"

namespace tuttle::rules {
namespace {

struct Known {
  std::string_view name;
  Modifier modifier;
};

// The modifiers of the Sigma modifiers appendix (v2.1.0).
constexpr std::array kKnown = {
    Known{"contains", Modifier::kContains},
    Known{"startswith", Modifier::kStartswith},
    Known{"endswith", Modifier::kEndswith},
    Known{"all", Modifier::kAll},
    Known{"neq", Modifier::kNeq},
    Known{"re", Modifier::kRe},
    Known{"i", Modifier::kReCaseless},
    Known{"m", Modifier::kReMultiline},
    Known{"s", Modifier::kReDotall},
    // pySigma's long names of the re flags.
    Known{"ignorecase", Modifier::kReCaseless},
    Known{"multiline", Modifier::kReMultiline},
    Known{"dotall", Modifier::kReDotall},
    Known{"exists", Modifier::kExists},
    Known{"cased", Modifier::kCased},
    Known{"windash", Modifier::kWindash},
    Known{"base64", Modifier::kBase64},
    Known{"base64offset", Modifier::kBase64Offset},
    Known{"utf16le", Modifier::kUtf16le},
    Known{"wide", Modifier::kUtf16le},
    Known{"utf16be", Modifier::kUtf16be},
    Known{"utf16", Modifier::kUtf16},
    Known{"expand", Modifier::kExpand},
    Known{"lt", Modifier::kLt},
    Known{"lte", Modifier::kLte},
    Known{"gt", Modifier::kGt},
    Known{"gte", Modifier::kGte},
    Known{"cidr", Modifier::kCidr},
    Known{"fieldref", Modifier::kFieldref},
    Known{"minute", Modifier::kMinute},
    Known{"hour", Modifier::kHour},
    Known{"day", Modifier::kDay},
    Known{"week", Modifier::kWeek},
    Known{"month", Modifier::kMonth},
    Known{"year", Modifier::kYear},
};

// What a modifier does, for deciding which ones go together.
enum class Group {
  kPosition,  // contains, startswith, endswith
  kFree,      // all, neq, exists, the re flags: checked elsewhere or always fine
  kRe,
  kCased,
  kWindash,
  kBase64,  // base64, base64offset
  kUtf16,   // utf16le, utf16be, utf16, wide
  kExpand,
  kTyped,  // lt, lte, gt, gte, cidr, fieldref, minute .. year
};

Group GroupOf(Modifier m) {
  switch (m) {
    case Modifier::kContains:
    case Modifier::kStartswith:
    case Modifier::kEndswith:
      return Group::kPosition;
    case Modifier::kAll:
    case Modifier::kNeq:
    case Modifier::kExists:
    case Modifier::kReCaseless:
    case Modifier::kReMultiline:
    case Modifier::kReDotall:
      return Group::kFree;
    case Modifier::kRe:
      return Group::kRe;
    case Modifier::kCased:
      return Group::kCased;
    case Modifier::kWindash:
      return Group::kWindash;
    case Modifier::kBase64:
    case Modifier::kBase64Offset:
      return Group::kBase64;
    case Modifier::kUtf16le:
    case Modifier::kUtf16be:
    case Modifier::kUtf16:
      return Group::kUtf16;
    case Modifier::kExpand:
      return Group::kExpand;
    case Modifier::kLt:
    case Modifier::kLte:
    case Modifier::kGt:
    case Modifier::kGte:
    case Modifier::kCidr:
    case Modifier::kFieldref:
    case Modifier::kMinute:
    case Modifier::kHour:
    case Modifier::kDay:
    case Modifier::kWeek:
    case Modifier::kMonth:
    case Modifier::kYear:
      return Group::kTyped;
  }
  return Group::kFree;
}

bool IsStringModifier(Group g) {
  return g == Group::kPosition || g == Group::kCased || g == Group::kWindash ||
         g == Group::kBase64 || g == Group::kUtf16 || g == Group::kExpand;
}

// What a typed modifier compares, for hints.
std::string TypedHint(Modifier m, std::string_view name) {
  switch (m) {
    case Modifier::kCidr:
      return "'cidr' matches IP addresses against networks, not text";
    case Modifier::kLt:
    case Modifier::kLte:
    case Modifier::kGt:
    case Modifier::kGte:
      return fmt::format("'{}' compares numbers, not text", name);
    case Modifier::kFieldref:
      return "'fieldref' takes the name of another field";
    default:
      return fmt::format("'{}' compares a part of a timestamp with a number", name);
  }
}

}  // namespace

ModifierLookup LookupModifier(std::string_view name) {
  ModifierLookup out;
  for (const Known& k : kKnown) {
    if (k.name == name) {
      out.status = ModifierStatus::kSupported;
      out.modifier = k.modifier;
      return out;
    }
  }
  // Suggest only multi-letter names: the one-letter re flags are near everything short.
  std::vector<std::string_view> candidates;
  for (const Known& k : kKnown) {
    if (k.name.size() > 1) candidates.push_back(k.name);
  }
  out.hint = DidYouMean(name, candidates);
  return out;
}

std::optional<ModifierConflict> CheckCombination(Modifier earlier, std::string_view earlier_name,
                                                 Modifier later, std::string_view later_name) {
  const Group a = GroupOf(earlier), b = GroupOf(later);
  if (a == Group::kFree || b == Group::kFree) return std::nullopt;
  auto conflict = [&](std::string hint = {}) {
    return ModifierConflict{
        fmt::format("modifier '{}' cannot be combined with '{}'", later_name, earlier_name),
        std::move(hint)};
  };
  // Order-independent checks look at the pair as {x, y}.
  auto either = [&](Group x, Group y) { return (a == x && b == y) || (a == y && b == x); };

  if (a == Group::kPosition && b == Group::kPosition) return conflict();
  if (a == Group::kRe || b == Group::kRe) {
    if (either(Group::kRe, Group::kCased)) {
      return ModifierConflict{"modifier 'cased' does not apply to 're'",
                              "regular expressions are case-sensitive unless '|re|i'"};
    }
    if (either(Group::kRe, Group::kPosition)) {
      return conflict("write the regular expression accordingly");
    }
    if (a == Group::kTyped || b == Group::kTyped) return conflict();
    return conflict("'re' takes a regular expression as written");
  }
  if (a == Group::kTyped && b == Group::kTyped) {
    if (earlier == later) return std::nullopt;  // reported as "given twice"
    // A time part compares like a number: `|hour|gte: 22`.
    if (earlier >= Modifier::kMinute && later >= Modifier::kLt && later <= Modifier::kGte) {
      return std::nullopt;
    }
    return conflict(earlier >= Modifier::kLt && earlier <= Modifier::kGte &&
                            later >= Modifier::kLt && later <= Modifier::kGte
                        ? "a range needs two clauses, e.g. 'a: {x|gte: 1}' and 'b: {x|lte: 9}'"
                        : "");
  }
  if (a == Group::kTyped || b == Group::kTyped) {
    const bool typed_first = a == Group::kTyped;
    const Modifier typed = typed_first ? earlier : later;
    const Group other = typed_first ? b : a;
    // A field reference can be searched for inside the other field's value, case-sensitively.
    if (typed == Modifier::kFieldref && (other == Group::kPosition || other == Group::kCased)) {
      return std::nullopt;
    }
    if (IsStringModifier(other)) {
      return conflict(TypedHint(typed, typed_first ? earlier_name : later_name));
    }
    return conflict();
  }
  // Both are string modifiers from here on.
  if (b == Group::kBase64 && a == Group::kPosition) {
    return ModifierConflict{
        fmt::format("modifier '{}' must come before '{}'", later_name, earlier_name),
        fmt::format("wildcards cannot be encoded: write '|{}|{}'", later_name, earlier_name)};
  }
  if (either(Group::kExpand, Group::kBase64) || either(Group::kExpand, Group::kUtf16)) {
    return conflict("placeholders are replaced by plain values, which are not encoded");
  }
  return std::nullopt;
}

Transform TransformOf(Modifier m) {
  switch (m) {
    case Modifier::kBase64:
      return Transform::kBase64;
    case Modifier::kBase64Offset:
      return Transform::kBase64Offset;
    case Modifier::kUtf16le:
      return Transform::kUtf16le;
    case Modifier::kUtf16be:
      return Transform::kUtf16be;
    case Modifier::kUtf16:
      return Transform::kUtf16;
    default:
      return Transform::kWindash;
  }
}

}  // namespace tuttle::rules
