#pragma once
// Signal: a detection rule's match, on its way to the correlation rules that reference it, with
// the group-by and counted values read from the matching record. In a chain, the alert of a
// correlation rule becomes a Signal for each correlation that references it (see
// Correlator::ChainSignals).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tuttle/engine/hash.h"
#include "tuttle/engine/record.h"
#include "tuttle/engine/time.h"

namespace tuttle {

struct Alert;

struct Signal {
  uint32_t correlation = 0;  // index into RuleSet::correlations
  uint32_t step = 0;         // index into CorrelationRule::rules
  uint32_t detection = 0;    // the detection rule that matched
  TimeNs time = kNoTime;
  Hash128 record_id;
  SourcePosition position;
  std::vector<std::string> group;  // values, in the correlation's group_by order
  bool missing_group = false;      // the record lacked a group-by field
  bool missing_value = false;      // value types: the record lacked the field
  std::string value;               // value types: the field's value, as text
  // Chains: the alert of the referenced correlation this signal stands for (its evidence becomes
  // the evidence of the referencing correlation's alerts); null for a detection rule's match.
  // `record_id` is then the alert's id and `detection` is unused.
  std::shared_ptr<const Alert> alert;
};

}  // namespace tuttle
