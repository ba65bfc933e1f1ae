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
  // Inline: it runs once per signal in the correlate stage.
  size_t Of(uint32_t correlation, const std::vector<std::string>& group, size_t n) const {
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

 private:
  // For each correlation, its chain: the smallest correlation connected to it by references,
  // or -1 when it is in none.
  std::vector<int64_t> chains_;
};

}  // namespace tuttle
