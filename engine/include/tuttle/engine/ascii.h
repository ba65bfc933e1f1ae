#pragma once
// ASCII case folding for names that records and rules spell in any case (log sources, Azure
// resource ids). Bytes outside A-Z compare as they are.

#include <algorithm>
#include <string_view>

namespace tuttle {

inline char AsciiFold(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool AsciiEqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiFold(a[i]) != AsciiFold(b[i])) return false;
  }
  return true;
}

// Whether `needle` occurs in `haystack`, ignoring ASCII case; an empty needle always does.
inline bool AsciiContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                     [](char a, char b) { return AsciiFold(a) == AsciiFold(b); }) !=
             haystack.end() ||
         needle.empty();
}

}  // namespace tuttle
