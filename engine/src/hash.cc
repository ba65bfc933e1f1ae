#include "tuttle/engine/hash.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <fmt/format.h>

namespace tuttle {

std::string Hash128::Hex() const { return fmt::format("{:016x}{:016x}", hi, lo); }

std::string Hash128::Uuid() const {
  const std::string h = Hex();
  return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4),
                     h.substr(16, 4), h.substr(20, 12));
}

Hash128 HashBytes(std::string_view bytes) {
  const XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  return Hash128{h.high64, h.low64};
}

Hasher::Hasher() : state_(XXH3_createState()) { XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_)); }

Hasher::~Hasher() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

Hasher& Hasher::Add(std::string_view field) {
  auto* s = static_cast<XXH3_state_t*>(state_);
  const uint64_t len = field.size();
  XXH3_128bits_update(s, &len, sizeof(len));
  XXH3_128bits_update(s, field.data(), field.size());
  return *this;
}

Hasher& Hasher::Add(int64_t value) {
  XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), &value, sizeof(value));
  return *this;
}

Hasher& Hasher::Add(const Hash128& value) {
  auto* s = static_cast<XXH3_state_t*>(state_);
  XXH3_128bits_update(s, &value.hi, sizeof(value.hi));
  XXH3_128bits_update(s, &value.lo, sizeof(value.lo));
  return *this;
}

Hash128 Hasher::Finish() const {
  const XXH128_hash_t h = XXH3_128bits_digest(static_cast<XXH3_state_t*>(state_));
  return Hash128{h.high64, h.low64};
}

}  // namespace tuttle
