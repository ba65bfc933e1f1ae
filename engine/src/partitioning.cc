#include "tuttle/engine/partitioning.h"

#include <algorithm>

namespace tuttle {

CorrelationPartitioner::CorrelationPartitioner(const RuleSet& rules) {
  const size_t n = rules.correlations.size();
  std::vector<size_t> parent(n);
  for (size_t i = 0; i < n; ++i) parent[i] = i;
  auto find = [&](size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  std::vector<bool> chained(n, false);
  for (size_t inner = 0; inner < rules.correlation_uses.size() && inner < n; ++inner) {
    for (const CorrelationUse& use : rules.correlation_uses[inner]) {
      chained[inner] = chained[use.correlation] = true;
      const size_t a = find(inner), b = find(use.correlation);
      parent[std::max(a, b)] = std::min(a, b);
    }
  }
  chains_.assign(n, -1);
  for (size_t i = 0; i < n; ++i) {
    if (chained[i]) chains_[i] = static_cast<int64_t>(find(i));
  }
}

size_t CorrelationPartitioner::Of(uint32_t correlation, const std::vector<std::string>& group,
                                  size_t n) const {
  if (n <= 1) return 0;
  if (correlation < chains_.size() && chains_[correlation] >= 0) {
    return static_cast<size_t>(chains_[correlation]) % n;
  }
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ULL;
  };
  for (int i = 0; i < 4; ++i) mix(static_cast<unsigned char>(correlation >> (8 * i)));
  for (const std::string& v : group) {
    for (const char c : v) mix(static_cast<unsigned char>(c));
    mix(0xff);  // not a byte of UTF-8 text: separates values
  }
  return static_cast<size_t>(h % n);
}

}  // namespace tuttle
