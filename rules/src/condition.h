#pragma once
// The Sigma condition language: `selection and not 1 of filter_*`.
//
// Precedence, least to most binding: or, and, not, `x of`, parentheses. `1 of` (or `any of`)
// ORs and `all of` ANDs the search identifiers that a pattern with `*` wildcards names; `them`
// names every identifier that does not start with `_` (so does a pattern, unless it starts with
// `_` itself). Keywords are case-insensitive; identifiers are not.

#include <string>
#include <string_view>
#include <vector>

#include "predicate.h"

namespace tuttle::rules {

struct ConditionError {
  size_t offset = 0;  // byte offset in the condition text
  std::string message;
  std::string hint;
};

// Parses `text` into an expression whose kPredicate leaves are indices into `identifiers`.
// Returns false and fills `error` on a syntax error or an identifier or pattern that names
// nothing.
bool ParseCondition(std::string_view text, const std::vector<std::string>& identifiers,
                    BoolExpr& out, ConditionError& error);

// Replaces each leaf i of `condition` by definitions[i].
BoolExpr SubstituteIdentifiers(const BoolExpr& condition, const std::vector<BoolExpr>& definitions);

}  // namespace tuttle::rules
