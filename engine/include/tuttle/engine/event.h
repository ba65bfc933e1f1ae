#pragma once
// Event: one record after its adapter has read it: event time, log source, entity fields and the
// catalogued field values. Views only; valid during the call that hands it out.

#include <cstdint>
#include <string_view>

#include "tuttle/engine/field_table.h"
#include "tuttle/engine/hash.h"
#include "tuttle/engine/record.h"
#include "tuttle/engine/time.h"

namespace tuttle {

// A Sigma log source: which product and service a record comes from (Sigma's `logsource`).
struct LogSource {
  std::string_view product;
  std::string_view service;
  std::string_view category;
};

struct Event {
  std::string_view raw;          // the record's bytes (the batch keeps them padded)
  const RecordMeta* meta = nullptr;
  uint32_t record_index = 0;     // in its batch
  Hash128 record_id;             // hash of the raw bytes: names the record in evidence and ids
  TimeNs time = kNoTime;         // event time from the record (or the transport, see adapters)
  std::string_view format;       // adapter name: "k8s_audit", "falco", "cloudtrail"
  LogSource log_source;
  std::string_view tenant;       // empty: the instance's only tenant
  const FieldTable* fields = nullptr;
};

}  // namespace tuttle
