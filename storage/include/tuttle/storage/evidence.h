#pragma once
// Evidence records: the raw records behind alerts, in the `evidence` column family, so that an
// alert's evidence can be read back (`GET /api/v1/alerts/{id}`, `tuttle alerts show`) long after
// the source dropped them (Kafka retention, rotated files).
//
// The pipeline hands the store every record that raised a single-event alert or fed a
// correlation window (BatchOutput::evidence); the store writes them with the batch's alerts (in
// the same atomic write, at checkpoints too), so an alert's evidence is stored no later than the
// alert. A correlation window may hold records that never end up in an alert: they are stored
// anyway, since which will is not known when they arrive. Matching records are a small share of
// the input (1% in the bench), so this costs little space; retention drops them with the alerts
// (StoreOptions::alert_retention, by event time).
//
//   key    record id (Hash128: hi, lo; 16 bytes big-endian)
//   value  event time (i64) | partition (i32) | offset (i64) | source size (i32) | source |
//          record bytes
//
// Thread-safety: as Store's reads.

#include <optional>
#include <string>
#include <string_view>

#include "tuttle/engine/alert_sink.h"
#include "tuttle/engine/hash.h"
#include "tuttle/engine/result.h"

namespace tuttle::storage {

class Store;

struct StoredEvidence {
  std::string record_id;  // Hash128::Hex()
  TimeNs time = kNoTime;
  SourcePosition position;
  std::string record;  // the raw bytes
};

std::string EvidenceKey(const Hash128& record_id);
std::string EncodeEvidence(const EvidenceRecord& evidence);
// Fails on a value too short for its fields.
Result<StoredEvidence> DecodeEvidence(std::string_view key, std::string_view value);
// The event time at the head of an encoded value, or kNoTime when too short (retention).
TimeNs EvidenceTime(std::string_view value);

// Parses 32 hex digits (Hash128::Hex(), as `record_uid` in a finding's evidences).
std::optional<Hash128> ParseRecordId(std::string_view hex);

// The stored record with this id (32 hex digits); nullopt when the store has none (it was
// written before evidence was kept, or retention dropped it). A malformed id is an error.
Result<std::optional<StoredEvidence>> FindEvidence(const Store& store,
                                                   std::string_view record_id_hex);

}  // namespace tuttle::storage
