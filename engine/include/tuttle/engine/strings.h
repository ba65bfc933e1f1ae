#pragma once
// Small string helpers shared by the libraries and their tests.

#include <string>
#include <string_view>

namespace tuttle {

// "literal" + value, without GCC 12's false -Wrestrict warning on operator+ at -O3.
inline std::string Cat(std::string a, std::string_view b) {
  a += b;
  return a;
}

}  // namespace tuttle
