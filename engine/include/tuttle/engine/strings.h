#pragma once
// Small string helpers shared by the libraries and their tests.

#include <optional>
#include <string>
#include <string_view>

namespace tuttle {

// "literal" + value, without GCC 12's false -Wrestrict warning on operator+ at -O3.
inline std::string Cat(std::string a, std::string_view b) {
  a += b;
  return a;
}

// Bytes as lowercase hex, and back (opaque page tokens); FromHex fails on odd lengths and on
// anything but 0-9 and a-f.
inline std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

inline std::optional<std::string> FromHex(std::string_view hex) {
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace tuttle
