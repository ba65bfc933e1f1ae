#include "tuttle/engine/record.h"

#include <algorithm>

namespace tuttle {

void RecordBatch::Clear() {
  arena_.clear();
  offsets_.clear();
  lengths_.clear();
  metas_.clear();
  sources_.clear();
  stream_events_.clear();
  rejected_.clear();
  end_of_input = false;
  sequence = 0;
}

uint32_t RecordBatch::InternSource(std::string_view name) {
  for (size_t i = 0; i < sources_.size(); ++i) {
    if (sources_[i] == name) return static_cast<uint32_t>(i);
  }
  sources_.emplace_back(name);
  return static_cast<uint32_t>(sources_.size() - 1);
}

void RecordBatch::Add(std::string_view bytes, const RecordMeta& meta) {
  offsets_.push_back(arena_.size());
  lengths_.push_back(static_cast<uint32_t>(bytes.size()));
  metas_.push_back(meta);
  arena_.insert(arena_.end(), bytes.begin(), bytes.end());
  arena_.insert(arena_.end(), kRecordPadding, '\0');
}

SourcePosition RecordBatch::Position(size_t i) const {
  const RecordMeta& m = metas_[i];
  return SourcePosition{sources_[m.source], m.partition, m.offset};
}

}  // namespace tuttle
