#pragma once
// Sigma value modifiers (`field|contains|all`): the names Sigma 2.1 defines, which of them may be
// chained together, and the ValueSpec a chain is read into.
//
// Modifiers that say what a value *is* (a regular expression, a number to compare, a CIDR
// network, a field name, a time part) exclude each other; string transformations (windash,
// base64, utf16, ...) apply to plain string values only, in the order written; all and neq apply
// to anything. CheckCombination() says which pairs conflict and why; the parser reports the first
// conflict of each modifier, at that modifier.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tuttle::rules {

enum class Modifier : uint8_t {
  kContains,
  kStartswith,
  kEndswith,
  kAll,
  kNeq,
  kRe,
  kReCaseless,   // `i` after `re`
  kReMultiline,  // `m` after `re`
  kReDotall,     // `s` after `re`
  kExists,
  kCased,
  kWindash,
  kBase64,
  kBase64Offset,
  kUtf16le,  // also `wide`
  kUtf16be,
  kUtf16,  // UTF-16LE after a byte order mark
  kExpand,
  kLt,
  kLte,
  kGt,
  kGte,
  kCidr,
  kFieldref,
  kMinute,
  kHour,
  kDay,
  kWeek,
  kMonth,
  kYear,
};

enum class ModifierStatus { kSupported, kUnknown };

struct ModifierLookup {
  ModifierStatus status = ModifierStatus::kUnknown;
  Modifier modifier = Modifier::kContains;  // when kSupported
  std::string hint;                         // kUnknown: "did you mean 'contains'?"
};

// Looks up one modifier name as written after a '|' (case-sensitive, as pySigma).
ModifierLookup LookupModifier(std::string_view name);

struct ModifierConflict {
  std::string message;
  std::string hint;  // may be empty
};

// Whether `later` may follow `earlier` in one chain, both written as `earlier_name` and
// `later_name`. Order matters for some pairs: base64 must come before contains, since wildcards
// cannot be encoded. `exists` and the re flags are checked elsewhere (they conflict with
// everything, or depend on position).
std::optional<ModifierConflict> CheckCombination(Modifier earlier, std::string_view earlier_name,
                                                 Modifier later, std::string_view later_name);

// A string transformation, applied to plain values in the order written.
enum class Transform : uint8_t { kWindash, kBase64, kBase64Offset, kUtf16le, kUtf16be, kUtf16 };
// The transformation of windash, base64, base64offset, utf16le (wide), utf16be, utf16.
// REQUIRES: `m` is one of them.
Transform TransformOf(Modifier m);

// What a value is compared as, when it is not a plain string.
enum class ValueType : uint8_t {
  kString,    // plain Sigma string: wildcards, then a Hyperscan literal or pattern
  kRegex,     // `re`
  kExists,    // `exists`: true/false, field presence
  kCompare,   // `lt`, `lte`, `gt`, `gte`: a number
  kCidr,      // `cidr`: an IPv4 or IPv6 network
  kFieldref,  // `fieldref`: the name of another field
  kTimePart,  // `minute` .. `year`: a number compared to a part of a timestamp
};

enum class CompareOp : uint8_t { kEq, kLt, kLte, kGt, kGte };
enum class TimePart : uint8_t { kMinute, kHour, kDay, kWeek, kMonth, kYear };

// How a field's values are compared, after reading its modifier chain.
struct ValueSpec {
  enum class Position { kWhole, kContains, kStartswith, kEndswith };
  ValueType type = ValueType::kString;
  Position position = Position::kWhole;
  bool all = false;  // values are ANDed instead of ORed
  bool neq = false;  // the whole clause is negated
  bool re_caseless = false;
  bool re_multiline = false;
  bool re_dotall = false;
  bool cased = false;   // case-sensitive string comparison
  bool expand = false;  // `%name%` in values are placeholders
  std::vector<Transform> transforms;
  CompareOp compare = CompareOp::kEq;  // kCompare
  TimePart time_part = TimePart::kMinute;  // kTimePart

  bool re() const { return type == ValueType::kRegex; }
  bool exists() const { return type == ValueType::kExists; }
};

}  // namespace tuttle::rules
