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

}  // namespace tuttle
