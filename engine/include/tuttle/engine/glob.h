#pragma once
// Glob patterns as operators write them in config files (approved inventory, contract
// selectors): `*` any run of characters (slashes included, possibly none), `?` one character,
// everything else literal and case-sensitive.

#include <string_view>

namespace tuttle {

// Iterative with one backtrack point: linear in practice, never exponential on `*a*a*a...b`.
inline bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace tuttle
