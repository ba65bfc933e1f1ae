#include "tuttle/storage/evidence.h"

#include <rocksdb/db.h>

#include <fmt/format.h>

#include "tuttle/storage/alert_index.h"
#include "tuttle/storage/key_codec.h"
#include "tuttle/storage/store.h"

namespace tuttle::storage {
namespace {

constexpr size_t kFixed = 8 + 4 + 8 + 4;

}  // namespace

std::string EvidenceKey(const Hash128& record_id) {
  return EncodeI64(static_cast<int64_t>(record_id.hi)) +
         EncodeI64(static_cast<int64_t>(record_id.lo));
}

std::string EncodeEvidence(const tuttle::EvidenceRecord& e) {
  std::string v;
  v.reserve(kFixed + e.position.source.size() + e.record.size());
  v += EncodeI64(e.time);
  v += EncodeI32(e.position.partition);
  v += EncodeI64(e.position.offset);
  v += EncodeI32(static_cast<int32_t>(e.position.source.size()));
  v += e.position.source;
  v += e.record;
  return v;
}

TimeNs EvidenceTime(std::string_view value) {
  return value.size() >= kFixed ? DecodeI64(value) : kNoTime;
}

Result<StoredEvidence> DecodeEvidence(std::string_view key, std::string_view value) {
  if (key.size() != 16 || value.size() < kFixed) return Error("evidence: damaged entry");
  const int32_t source_size = DecodeI32(value.substr(20));
  if (source_size < 0 || value.size() - kFixed < static_cast<size_t>(source_size)) {
    return Error("evidence: damaged entry");
  }
  StoredEvidence out;
  const Hash128 id{static_cast<uint64_t>(DecodeI64(key)),
                   static_cast<uint64_t>(DecodeI64(key.substr(8)))};
  out.record_id = id.Hex();
  out.time = DecodeI64(value);
  out.position.partition = DecodeI32(value.substr(8));
  out.position.offset = DecodeI64(value.substr(12));
  out.position.source = std::string(value.substr(kFixed, static_cast<size_t>(source_size)));
  out.record = std::string(value.substr(kFixed + static_cast<size_t>(source_size)));
  return out;
}

std::optional<Hash128> ParseRecordId(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;  // no dashes: Hash128::Hex()
  return ParseAlertId(hex);
}

Result<std::optional<StoredEvidence>> FindEvidence(const Store& store,
                                                     std::string_view record_id_hex) {
  const std::optional<Hash128> id = ParseRecordId(record_id_hex);
  if (!id) {
    return Error(fmt::format("'{}' is not a record id (32 hex digits)", record_id_hex));
  }
  return store.ReadEvidence(EvidenceKey(*id));
}

}  // namespace tuttle::storage
