#pragma once
// Turning one Sigma value into one Hyperscan pattern.
//
// Sigma strings (not `re`) become literal byte patterns: every byte that is not an ASCII letter
// or digit is written `\xHH`, so no value can inject regex syntax; `*` becomes `.*` and `?`
// becomes `.` (with HS_FLAG_DOTALL, since values may span lines).
//
// Anchors. A value with wildcards is anchored in the expression: `^` at the start, `\z` at the
// end (not `$`: Hyperscan's `$` also matches before a final newline, and "foo\n" does not equal
// "foo"). A plain literal is not: Hyperscan compiles anchored literals far slower than floating
// ones (SigmaHQ's 479 `DestinationHostname` values: 0.87 s anchored, 0.015 s floating; its 1,100
// `ImageLoaded|endswith` values: 2.7 s against 0.17 s). So a literal is compiled floating,
// without HS_FLAG_SINGLEMATCH, and the detector keeps the matches whose end offset proves the
// anchor: a literal of length L starts the value when it ends at L, and ends it when it ends at
// the value's length. (With wildcards it is the other way round: `8...\z` compiles in 1 ms, a
// floating `8...` that must report every match in 20 ms.)

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "modifiers.h"
#include "tuttle/engine/result.h"

namespace tuttle::rules {

// Where a match must lie for a floating literal to count (see above).
enum class Anchor : uint8_t {
  kNone,   // anywhere
  kStart,  // ending at offset literal_length
  kEnd,    // ending at the end of the value
  kWhole,  // both: the value is the literal
};

struct HsPattern {
  std::string expression;
  unsigned flags = 0;  // HS_FLAG_*
  Anchor anchor = Anchor::kNone;
  uint32_t literal_length = 0;  // kStart, kWhole

  friend bool operator==(const HsPattern&, const HsPattern&) = default;
};

// Placeholder name (without the `%`) -> values, for `expand`.
using Placeholders = std::map<std::string, std::vector<std::string>>;

// Why a value cannot be compiled, for a located diagnostic.
struct ValueProblem {
  std::string message;
  std::string hint;
};

// The pattern for a plain Sigma string value compared as `spec` says (position, cased), with no
// transformations.
// REQUIRES: spec.type == ValueType::kString, spec.transforms.empty(), !spec.expand
HsPattern SigmaStringPattern(std::string_view value, const ValueSpec& spec);

// The patterns of a Sigma string value with its whole modifier chain: `expand` replaces each
// `%name%` with each value of the placeholder (several placeholders: every combination), then
// the transformations apply in the order written:
//   windash       `-` or `/` that starts a word (pySigma's `\B[-/]\b`) matches any of `-`, `/`,
//                 en dash, em dash and horizontal bar;
//   base64        the value's bytes, Base64-encoded (no wildcards);
//   base64offset  the three Base64 forms of the value at offsets 0, 1 and 2 of an encoded
//                 string, without the characters that depend on the neighbouring bytes;
//   utf16le/wide, utf16be, utf16 (little-endian after a byte order mark): the value's UTF-8 text
//                 re-encoded, wildcards kept;
// then position (contains, startswith, endswith) and case. The value matches when any pattern
// does. Returns false and fills `problem` when the value cannot be compiled.
// REQUIRES: spec.type == ValueType::kString
bool SigmaStringPatterns(std::string_view value, const ValueSpec& spec,
                         const Placeholders& placeholders, std::vector<HsPattern>& out,
                         ValueProblem& problem);

// The pattern for a `re` value: the expression as written, with the flags of its sub-modifiers.
// Fails with Hyperscan's reason when Hyperscan cannot compile it.
// REQUIRES: spec.re()
Result<HsPattern> RegexPattern(std::string_view value, const ValueSpec& spec);

}  // namespace tuttle::rules
