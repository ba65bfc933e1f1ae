#pragma once
// Where a correlation group lives: its shard in the correlate stage, and, in scale-out mode
// (docs/scaling.md), its partition of the signals (repartition) topic.
//
// A group goes by a hash of its correlation and group-by values, so one group's signals always
// meet in one place. A chain (correlations whose alerts feed other correlations, grouped by other
// fields) lives in one place as a whole, chosen by its smallest correlation: its inner alerts
// become signals of the outer correlations right there, in the order an unsharded correlator
// gives them. Chains do not spread; each chain is serial.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tuttle/engine/rule_set.h"

namespace tuttle {

class CorrelationPartitioner {
 public:
  explicit CorrelationPartitioner(const RuleSet& rules);

  // The place (0 .. n-1) of the group of `correlation` with these group-by values. FNV-1a over
  // the correlation index and values: the same on every platform and in every process that
  // loaded the same rules in the same order.
  size_t Of(uint32_t correlation, const std::vector<std::string>& group, size_t n) const;

 private:
  // For each correlation, its chain: the smallest correlation connected to it by references,
  // or -1 when it is in none.
  std::vector<int64_t> chains_;
};

}  // namespace tuttle
