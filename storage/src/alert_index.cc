#include "tuttle/storage/alert_index.h"

#include <rocksdb/write_batch.h>

#include <algorithm>
#include <map>
#include <set>

#include "tuttle/storage/key_codec.h"
#include "tuttle/storage/store.h"

namespace tuttle::storage {
namespace {


int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string IndexPrefix(IndexKind kind, std::string_view value) {
  std::string key(1, static_cast<char>(kind));
  key += value;
  key.push_back('\0');
  return key;
}

std::string IndexKey(IndexKind kind, std::string_view value, TimeNs time, const Hash128& id) {
  std::string key = IndexPrefix(kind, value);
  key += AlertKey(time, id);
  return key;
}

std::string IdIndexKey(const Hash128& id) {
  std::string key(1, static_cast<char>(IndexKind::kId));
  key += AlertIdBytes(id);
  return key;
}

std::vector<IndexEntry> AlertIndexEntries(const Alert& alert) {
  std::vector<IndexEntry> out;
  if (alert.rule) {
    out.push_back({IndexKey(IndexKind::kRule, alert.rule->id, alert.time, alert.id), {}});
    out.push_back(
        {IndexKey(IndexKind::kSeverity, LevelName(alert.rule->level), alert.time, alert.id), {}});
  }
  // One entry per distinct value, naming every field that carries it: a pod name that is also
  // the group-by value is one entry. std::map/set keep the order, so the bytes, fixed.
  std::map<std::string, std::set<std::string>> entities;
  alert.entities.ForEach([&](std::string_view name, const std::string& value) {
    if (!value.empty()) entities[value].insert(std::string(name));
  });
  for (const auto& [name, value] : alert.group) {
    if (!value.empty()) entities[value].insert(name);
  }
  for (const auto& [value, names] : entities) {
    std::string list;
    for (const auto& n : names) {
      if (!list.empty()) list.push_back('\n');
      list += n;
    }
    out.push_back({IndexKey(IndexKind::kEntity, value, alert.time, alert.id), std::move(list)});
  }
  if (!alert.tenant.empty()) {
    out.push_back({IndexKey(IndexKind::kTenant, alert.tenant, alert.time, alert.id), {}});
  }
  out.push_back({IdIndexKey(alert.id), EncodeI64(alert.time)});
  return out;
}

std::optional<Hash128> ParseAlertId(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c == '-') continue;
    if (HexDigit(c) < 0) return std::nullopt;
    hex.push_back(c);
  }
  if (hex.size() != 32) return std::nullopt;
  Hash128 id;
  for (size_t i = 0; i < 16; ++i) id.hi = (id.hi << 4) | static_cast<uint64_t>(HexDigit(hex[i]));
  for (size_t i = 16; i < 32; ++i) id.lo = (id.lo << 4) | static_cast<uint64_t>(HexDigit(hex[i]));
  return id;
}


void Store::PutAlert(rocksdb::WriteBatch& wb, const Alert& alert, const std::string& json,
                     const std::vector<IndexEntry>& index) {
  wb.Put(alerts_, AlertKey(alert.time, alert.id), json);
  for (const IndexEntry& e : index) wb.Put(alert_index_, e.key, e.value);
}

}  // namespace tuttle::storage
