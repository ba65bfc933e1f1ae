#pragma once
// Small string helpers the Sigma parser shares: ASCII case folding and "did you mean" hints.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tuttle::rules {

char AsciiLower(char c);
std::string AsciiLower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Optimal string alignment distance: edits are insertions, deletions, substitutions and
// transpositions of adjacent characters ("contians" is one edit from "contains").
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a plausible typo: at most
// max(1, size/3) edits. Ties go to the earliest candidate.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string_view>& candidates);

// "did you mean 'x'?" for the closest candidate, or empty.
std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace tuttle::rules
