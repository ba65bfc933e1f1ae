#include "tuttle/engine/ascii.h"
#include "tuttle/storage/dead_letters.h"

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "tuttle/storage/store.h"

namespace tuttle::storage {

std::optional<DeadLetter::Kind> ParseDeadLetterKind(std::string_view name) {
  for (auto k : {DeadLetter::Kind::kParse, DeadLetter::Kind::kLate}) {
    if (name == DeadLetterKindName(k)) return k;
  }
  return std::nullopt;
}

std::optional<DeadLetter> DeadLetterFromJson(std::string_view json, TimeNs* stored_at) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  DeadLetter d;
  d.kind = ParseDeadLetterKind(j.value("kind", "parse")).value_or(DeadLetter::Kind::kParse);
  d.position.source = j.value("source", "");
  d.position.partition = j.value("partition", -1);
  d.position.offset = j.value("offset", int64_t{-1});
  d.reason = j.value("reason", "");
  d.record = j.value("record", "");
  d.event_time = j.value("event_time", kNoTime);
  if (stored_at != nullptr) *stored_at = j.value("stored_at", kNoTime);
  return d;
}

Result<std::vector<DeadLetterRow>> ListDeadLetters(const Store& store,
                                                   const DeadLetterFilter& filter) {
  std::vector<DeadLetterRow> out;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.dead_letters_handle()));
  // Keys start with the kind: one kind is one range.
  if (filter.kind) {
    it->Seek(std::string(1, static_cast<char>(*filter.kind)));
  } else {
    it->SeekToFirst();
  }
  for (; it->Valid() && (filter.limit == 0 || out.size() < filter.limit); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (filter.kind && (key.empty() || key[0] != static_cast<char>(*filter.kind))) break;
    DeadLetterRow row;
    std::optional<DeadLetter> letter = DeadLetterFromJson(it->value().ToStringView(), &row.stored_at);
    if (!letter) continue;
    row.key.assign(key);
    row.letter = std::move(*letter);
    const DeadLetter& d = row.letter;
    if (!filter.source.empty() && d.position.source != filter.source) continue;
    if (!AsciiContainsIgnoreCase(d.reason, filter.reason)) continue;
    out.push_back(std::move(row));
  }
  if (!it->status().ok()) {
    return Error(fmt::format("store: reading dead letters: {}", it->status().ToString()));
  }
  return out;
}

Status DeleteDeadLetters(Store& store, const std::vector<std::string>& keys) {
  if (keys.empty()) return Ok();
  rocksdb::WriteBatch wb;
  for (const auto& k : keys) wb.Delete(store.dead_letters_handle(), k);
  rocksdb::WriteOptions wo;
  wo.sync = store.options().sync;
  rocksdb::Status s = store.db()->Write(wo, &wb);
  if (!s.ok()) return Error(fmt::format("store: deleting dead letters: {}", s.ToString()));
  return Ok();
}

DeadLetterSource::DeadLetterSource(std::vector<DeadLetterRow> rows,
                                   std::map<std::string, uint16_t> formats, size_t batch_records)
    : rows_(std::move(rows)), formats_(std::move(formats)), batch_records_(batch_records) {}

Result<bool> DeadLetterSource::Next(RecordBatch& batch) {
  if (stop_.load() || next_ >= rows_.size()) return false;
  while (next_ < rows_.size() && batch.size() < batch_records_) {
    const DeadLetter& d = rows_[next_].letter;
    const uint32_t source = batch.InternSource(d.position.source);
    RecordMeta meta{source, d.position.partition, d.position.offset, kNoTime};
    auto pin = formats_.find(d.position.source);
    if (pin == formats_.end()) pin = formats_.find("");
    meta.format = pin == formats_.end() ? 0 : pin->second;
    batch.Add(d.record, meta);
    ++next_;
    // Rows come in key order, so a stream's records are contiguous: past its last, it is idle
    // and no longer holds the watermark back.
    const bool last_of_stream = next_ == rows_.size() ||
                                rows_[next_].letter.position.source != d.position.source ||
                                rows_[next_].letter.position.partition != d.position.partition;
    if (last_of_stream) {
      batch.AddStreamEvent(StreamEvent{source, d.position.partition, StreamEvent::Kind::kIdle});
    }
  }
  batch.end_of_input = next_ >= rows_.size();
  return true;
}

}  // namespace tuttle::storage
