#pragma once
// AlertSink: where a batch's results go (the RocksDB store, the terminal, later Kafka and
// webhooks). The pipeline calls sinks from its last, serial stage, in batch order; a batch's
// source positions are committed only after every sink accepted it.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tuttle/engine/alert.h"
#include "tuttle/engine/checkpoint.h"
#include "tuttle/engine/record.h"
#include "tuttle/engine/result.h"
#include "tuttle/engine/signal.h"

namespace tuttle {

// A record, or a record's part in the correlation windows, that could not be processed.
struct DeadLetter {
  enum class Kind : uint8_t {
    kParse,  // unreadable: malformed JSON, unknown format, no event time
    kLate,   // older than the watermark: single-event rules ran, the windows listed did not
  };
  Kind kind = Kind::kParse;
  SourcePosition position;
  std::string reason;  // for humans: "malformed JSON: ...", "late by 42.1 s for: <rule titles>"
  std::string record;  // the raw bytes, for re-drive
  TimeNs event_time = kNoTime;
};
std::string_view DeadLetterKindName(DeadLetter::Kind kind);  // "parse", "late"

// A record that raised an alert or fed a correlation window, kept so that an analyst can read
// what an alert's evidence says (`GET /api/v1/alerts/{id}`): Evidence::record_id names it.
struct EvidenceRecord {
  Hash128 record_id;  // the event's record id (a record holding several events has several)
  TimeNs time = kNoTime;
  SourcePosition position;
  std::string record;  // the raw bytes
};

// Scale-out mode (PipelineOptions::export_signals, docs/scaling.md): a matched record's signals,
// on their way to the correlation stage of whichever process owns their groups.
struct ExportedRecord {
  SourcePosition position;
  std::string bytes;            // the raw record: a late signal's dead letter carries it
  std::vector<Signal> signals;  // of all the record's events, in order
};

// How far a stream has got, for the watermarks of a correlation stage elsewhere: after this
// batch, its newest event time and last position; or that it has gone idle (no more records for
// now); or that this reader released it (a rebalance moved it), so that it holds watermarks
// until its next reader speaks.
struct StreamMark {
  std::string source;
  int32_t partition = -1;
  int64_t offset = -1;
  TimeNs time = kNoTime;
  bool idle = false;
  bool released = false;
};

struct BatchOutput {
  uint64_t sequence = 0;
  std::vector<Alert> alerts;
  std::vector<DeadLetter> dead_letters;
  // The last position of each stream in the batch: committed once sinks have written the batch.
  std::vector<SourcePosition> positions;
  // Checkpointing runs (PipelineOptions::checkpoint): a durable store keeps this batch's alerts
  // and dead letters until a batch that carries a checkpoint, and writes them all with it.
  bool checkpointing = false;
  std::shared_ptr<const Checkpoint> checkpoint;
  // Inventory items this batch changed (PipelineOptions::inventory): store key and value
  // (inventory.h), for the `inventory` column family; a durable store writes them with the
  // batch's alerts, so a first-seen finding and the item that records it land together.
  std::vector<std::pair<std::string, std::string>> inventory;
  // The records behind this batch's single-event alerts and signals, when a sink stores them
  // (AlertSink::StoresEvidence); a correlation alert's evidence came in the batches before.
  std::vector<EvidenceRecord> evidence;
  // Scale-out mode: the signals, instead of alerts of correlations, and each stream's progress.
  std::vector<ExportedRecord> exported;
  std::vector<StreamMark> marks;
};

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual Status Write(const BatchOutput& batch) = 0;
  // Called once after the last batch.
  virtual Status Finish() { return Ok(); }
  // Whether the sink reads BatchOutput::inventory; when none does, the pipeline does not encode
  // the inventory's changed items.
  virtual bool StoresInventory() const { return false; }
  // Whether the sink reads BatchOutput::evidence; when none does, the pipeline copies no
  // evidence records.
  virtual bool StoresEvidence() const { return false; }
};

}  // namespace tuttle
