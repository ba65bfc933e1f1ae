#pragma once
// Stable 128-bit content hashes (XXH3-128, whose output is fixed across platforms and releases).
// They name records and alerts: the same input always yields the same ids.

#include <cstdint>
#include <string>
#include <string_view>

namespace tuttle {

struct Hash128 {
  uint64_t hi = 0;
  uint64_t lo = 0;

  friend bool operator==(const Hash128&, const Hash128&) = default;
  friend auto operator<=>(const Hash128&, const Hash128&) = default;

  // 32 lowercase hex digits.
  std::string Hex() const;
  // UUID layout (8-4-4-4-12) of the same 128 bits; not a random UUID, a name.
  std::string Uuid() const;
};

Hash128 HashBytes(std::string_view bytes);

// Incremental hashing of a sequence of fields. Each field is length-prefixed, so ("ab","c") and
// ("a","bc") hash differently.
class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  Hasher& Add(std::string_view field);
  Hasher& Add(int64_t value);
  Hasher& Add(const Hash128& value);
  Hash128 Finish() const;

 private:
  void* state_;  // XXH3_state_t, kept out of this header
};

}  // namespace tuttle
