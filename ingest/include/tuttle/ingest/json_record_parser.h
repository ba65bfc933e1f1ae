#pragma once
// JsonRecordParser: reads JSON records with simdjson On-Demand, recognises their format and turns
// them into Events.
//
// One pass over each record: the walker follows the FieldCatalog trie, so it descends only into
// the parts of the record that an adapter or a rule reads, and fills the thread's FieldTable with
// views of those values. The adapter then reads the event time and log source from that table:
//
//   format      recognised by                          event time          log source
//   k8s_audit   kind "Event" and auditID               stageTimestamp,     kubernetes / audit
//                                                      requestReceived..., timestamp
//   falco       output_fields object, rule, priority   time                falco
//   cloudtrail  eventVersion, eventSource, eventTime   eventTime           aws / cloudtrail
//
// A record without an event time of its own takes the Kafka message timestamp when there is one.
// Anything else is an error naming the reason; the pipeline dead-letters the record.
//
// Thread-safety: the parser is immutable and shared; each thread uses its own Worker.

#include <memory>

#include "tuttle/engine/field_catalog.h"
#include "tuttle/engine/record_parser.h"

namespace tuttle::ingest {

// Interns the paths the adapters read. Call before the rules intern theirs and the catalog is
// frozen.
void RegisterAdapterFields(FieldCatalog& catalog);

class JsonRecordParser final : public RecordParser {
 public:
  // The simdjson kernel the On-Demand walker was compiled for ("haswell", "fallback", ...).
  static std::string_view SimdKernel();

  // REQUIRES: RegisterAdapterFields(*catalog) was called.
  explicit JsonRecordParser(std::shared_ptr<const FieldCatalog> catalog);

  std::unique_ptr<Worker> NewWorker() const override;

  // The adapters' path ids in the catalog.
  struct Paths {
    PathId kind, api_version, audit_id, stage_timestamp, request_received_timestamp, timestamp;
    PathId output_fields, rule, priority, time;
    PathId event_version, event_source, event_time, records;
  };

 private:
  std::shared_ptr<const FieldCatalog> catalog_;
  Paths paths_;
};

}  // namespace tuttle::ingest
