#pragma once
// Dead letters as operators see them: listed with filters (`tuttle dead-letters`), and re-driven
// through the pipeline after a fix (`tuttle dead-letters redrive`) by a RecordSource that
// yields the stored raw records at their original positions.

#include <atomic>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tuttle/engine/alert_sink.h"
#include "tuttle/engine/record_source.h"
#include "tuttle/engine/result.h"

namespace tuttle::storage {

class Store;

struct DeadLetterFilter {
  std::optional<DeadLetter::Kind> kind;  // nullopt: every kind
  std::string reason;  // a part of the reason (ASCII case-insensitive); empty: any
  std::string source;  // the topic or file, exactly; empty: any
  size_t limit = 0;    // 0: all
};

struct DeadLetterRow {
  std::string key;  // its dead_letters key (key_codec.h DeadLetterKey)
  DeadLetter letter;
  TimeNs stored_at = kNoTime;  // kNoTime for dead letters stored before it was recorded
};

// Dead letters in key order: kind, source, partition, offset.
Result<std::vector<DeadLetterRow>> ListDeadLetters(const Store& store,
                                                   const DeadLetterFilter& filter);

// Deletes the dead letters with these keys, in one write. REQUIRES: a writable store.
Status DeleteDeadLetters(Store& store, const std::vector<std::string>& keys);

std::optional<DeadLetter::Kind> ParseDeadLetterKind(std::string_view name);  // "parse", "late"
// A stored dead letter's JSON value, read back; nullopt when it is not a JSON object.
// `stored_at`, when given, receives the time it was stored (kNoTime if the value has none).
std::optional<DeadLetter> DeadLetterFromJson(std::string_view json, TimeNs* stored_at = nullptr);

// Yields the records of `rows` at their original positions (source, partition, offset), so
// what they produce (alerts, new dead letters) is named as it would have been the first time.
// Each stream is reported idle after its last record. `formats` pins formats as
// FileSourceOptions::formats does, by source name ("" for all).
class DeadLetterSource final : public RecordSource {
 public:
  DeadLetterSource(std::vector<DeadLetterRow> rows, std::map<std::string, uint16_t> formats,
                   size_t batch_records = 1024);

  Result<bool> Next(RecordBatch& batch) override;
  Status Commit(const std::vector<SourcePosition>&) override { return Ok(); }
  void Stop() override { stop_.store(true); }

 private:
  std::vector<DeadLetterRow> rows_;
  std::map<std::string, uint16_t> formats_;
  size_t batch_records_;
  size_t next_ = 0;
  std::atomic<bool> stop_{false};
};

}  // namespace tuttle::storage
