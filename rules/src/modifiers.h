#pragma once
// Sigma value modifiers (`field|contains|all`): which exist, which Tuttle supports so far, and
// how a chain of them is read into one ValueSpec.
//
// To support another modifier: move it from the "not supported yet" list in modifiers.cc to the
// supported ones, give ValueSpec whatever it needs, and teach the value compiler
// (sigma_value.cc) to turn it into Hyperscan patterns. The parser needs no change.

#include <string>
#include <string_view>
#include <vector>

namespace tuttle::rules {

enum class Modifier {
  kContains,
  kStartswith,
  kEndswith,
  kAll,
  kRe,
  kReCaseless,   // `i` after `re`
  kReMultiline,  // `m` after `re`
  kReDotall,     // `s` after `re`
  kExists,
  kCased,
};

enum class ModifierStatus { kSupported, kNotSupportedYet, kUnknown };

struct ModifierLookup {
  ModifierStatus status = ModifierStatus::kUnknown;
  Modifier modifier = Modifier::kContains;  // when kSupported
  std::string hint;                         // kUnknown: "did you mean 'contains'?"
};

// Looks up one modifier name as written after a '|' (case-sensitive, as pySigma).
ModifierLookup LookupModifier(std::string_view name);

// How a field's values are compared, after reading its modifier chain.
struct ValueSpec {
  enum class Position { kWhole, kContains, kStartswith, kEndswith };
  Position position = Position::kWhole;
  bool all = false;  // values are ANDed instead of ORed
  bool re = false;   // values are regular expressions
  bool re_caseless = false;
  bool re_multiline = false;
  bool re_dotall = false;
  bool exists = false;  // the value is true/false: field presence
  bool cased = false;   // case-sensitive string comparison
};

}  // namespace tuttle::rules
