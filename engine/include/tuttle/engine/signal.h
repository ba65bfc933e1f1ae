#pragma once
// Signal: a detection rule's match, on its way to the correlation rules that reference it, with
// the group-by and counted values read from the matching record.

#include <cstdint>
#include <string>
#include <vector>

#include "tuttle/engine/hash.h"
#include "tuttle/engine/record.h"
#include "tuttle/engine/time.h"

namespace tuttle {

struct Signal {
  uint32_t correlation = 0;  // index into RuleSet::correlations
  uint32_t step = 0;         // index into CorrelationRule::rules
  uint32_t detection = 0;    // the detection rule that matched
  TimeNs time = kNoTime;
  Hash128 record_id;
  SourcePosition position;
  std::vector<std::string> group;  // values, in the correlation's group_by order
  bool missing_group = false;      // the record lacked a group-by field
  bool missing_value = false;      // value_count: the record lacked the counted field
  std::string value;               // value_count: the counted field's value
};

}  // namespace tuttle
