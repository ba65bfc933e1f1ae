#pragma once
// Raw records as sources deliver them, in batches. A RecordBatch owns the bytes of its records,
// each followed by kRecordPadding zero bytes so parsers (simdjson) may read past the end.
//
// Thread-safety: a batch is filled by one thread (the source), then read by many.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tuttle/engine/time.h"

namespace tuttle {

// Bytes readable past the end of each record (at least SIMDJSON_PADDING).
inline constexpr size_t kRecordPadding = 64;

// Where a record came from: a Kafka topic partition and offset, or a file and line (partition -1).
struct SourcePosition {
  std::string source;  // topic name, or file path ("-" for stdin)
  int32_t partition = -1;
  int64_t offset = -1;  // Kafka offset, or 1-based line number

  friend bool operator==(const SourcePosition&, const SourcePosition&) = default;
};

struct RecordMeta {
  uint32_t source = 0;      // index into RecordBatch::sources()
  int32_t partition = -1;   // -1 for files
  int64_t offset = -1;      // Kafka offset or 1-based line number
  TimeNs transport_time = kNoTime;  // Kafka message timestamp; a fallback when the record has none
};

// A source stream's progress note: the stream (source, partition) has no more data for now
// (Kafka partition EOF) or for good (end of file). Watermarks use it to stop waiting on a stream.
struct StreamIdle {
  uint32_t source = 0;
  int32_t partition = -1;
  uint32_t before_record = 0;  // position in the batch: set by RecordBatch::AddIdle
};

class RecordBatch {
 public:
  void Clear();

  // Returns the index of `name` in sources(), adding it if new.
  uint32_t InternSource(std::string_view name);
  const std::vector<std::string>& sources() const { return sources_; }

  // Copies `bytes` into the batch, followed by zero padding.
  void Add(std::string_view bytes, const RecordMeta& meta);
  // Notes that a stream went idle after the records added so far.
  void AddIdle(StreamIdle idle) {
    idle.before_record = static_cast<uint32_t>(metas_.size());
    idle_.push_back(idle);
  }
  void SetIdle(std::vector<StreamIdle> idle) { idle_ = std::move(idle); }

  size_t size() const { return metas_.size(); }
  bool empty() const { return metas_.empty(); }
  // The record's bytes; data()[size()] .. data()[size() + kRecordPadding - 1] are readable zeros.
  std::string_view bytes(size_t i) const {
    return std::string_view(arena_.data() + offsets_[i], lengths_[i]);
  }
  const RecordMeta& meta(size_t i) const { return metas_[i]; }
  SourcePosition Position(size_t i) const;
  const std::vector<StreamIdle>& idle() const { return idle_; }
  size_t byte_size() const { return arena_.size(); }

  // Set by the source on the last batch of a finite input.
  bool end_of_input = false;
  // Sequence number assigned by the pipeline.
  uint64_t sequence = 0;

 private:
  std::vector<char> arena_;
  std::vector<size_t> offsets_;
  std::vector<uint32_t> lengths_;
  std::vector<RecordMeta> metas_;
  std::vector<std::string> sources_;
  std::vector<StreamIdle> idle_;
};

}  // namespace tuttle
