#include "tuttle/storage/alert_status.h"

#include <fmt/format.h>
#include <rocksdb/db.h>

#include <nlohmann/json.hpp>

#include "tuttle/storage/alert_index.h"
#include "tuttle/storage/key_codec.h"
#include "tuttle/storage/store.h"

namespace tuttle::storage {
namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::string_view AlertStatusName(AlertStatus status) {
  switch (status) {
    case AlertStatus::kNew:
      return "New";
    case AlertStatus::kInProgress:
      return "In Progress";
    case AlertStatus::kSuppressed:
      return "Suppressed";
    case AlertStatus::kResolved:
      return "Resolved";
  }
  return "Unknown";
}

std::string_view AlertStatusWord(AlertStatus status) {
  switch (status) {
    case AlertStatus::kNew: return "new";
    case AlertStatus::kInProgress: return "acknowledged";
    case AlertStatus::kSuppressed: return "suppressed";
    case AlertStatus::kResolved: return "closed";
  }
  return "?";
}

std::optional<AlertStatus> ParseAlertStatus(std::string_view word) {
  std::string w;
  for (char c : word) w.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  if (w == "new" || w == "open") return AlertStatus::kNew;
  if (w == "acknowledged" || w == "ack" || w == "in-progress" || w == "in progress") {
    return AlertStatus::kInProgress;
  }
  if (w == "closed" || w == "close" || w == "resolved") return AlertStatus::kResolved;
  if (w == "suppressed") return AlertStatus::kSuppressed;
  return std::nullopt;
}

Result<std::string> UpdateAlertStatus(Store& store, const Hash128& id, const StatusChange& change) {
  if (store.alert_status_handle() == nullptr || store.alert_index_handle() == nullptr) {
    return Error("store: this store has no alert status yet; open it for writing first");
  }
  // The alert's time: the status ages with its alert (retention), and an unknown id is a typo.
  std::string time_bytes;
  rocksdb::Status s = store.db()->Get(rocksdb::ReadOptions(), store.alert_index_handle(),
                                      IdIndexKey(id), &time_bytes);
  if (s.IsNotFound()) return Error(fmt::format("no alert {} in the store", id.Uuid()));
  if (!s.ok()) return Error(fmt::format("store: reading alert {}: {}", id.Uuid(), s.ToString()));

  std::string old;
  s = store.db()->Get(rocksdb::ReadOptions(), store.alert_status_handle(), AlertIdBytes(id), &old);
  json doc = json::object();
  if (s.ok()) {
    doc = json::parse(old, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) doc = json::object();
  } else if (!s.IsNotFound()) {
    return Error(fmt::format("store: reading the status of {}: {}", id.Uuid(), s.ToString()));
  }
  const TimeNs now = store.Now();
  json entry = {
      {"activity_id", 2},
      {"activity_name", "Update"},
      {"status_id", static_cast<int>(change.status)},
      {"status", AlertStatusName(change.status)},
      {"time", now / kNsPerMs},
      {"time_dt", FormatTimestamp(now)},
      {"actor", {{"user", {{"name", change.by}}}}},
  };
  if (!change.note.empty()) entry["comment"] = change.note;
  doc["alert_time"] = DecodeI64(time_bytes);
  doc["status_id"] = static_cast<int>(change.status);
  doc["status"] = AlertStatusName(change.status);
  if (!doc.contains("history") || !doc["history"].is_array()) doc["history"] = json::array();
  doc["history"].push_back(std::move(entry));
  const std::string value = Dump(doc);
  s = store.db()->Put(rocksdb::WriteOptions(), store.alert_status_handle(), AlertIdBytes(id),
                      value);
  if (!s.ok())
    return Error(fmt::format("store: writing the status of {}: {}", id.Uuid(), s.ToString()));
  return value;
}

Result<std::optional<std::string>> AlertStatusDocument(const Store& store, const Hash128& id) {
  if (store.alert_status_handle() == nullptr) return std::optional<std::string>();
  std::string value;
  rocksdb::Status s = store.db()->Get(rocksdb::ReadOptions(), store.alert_status_handle(),
                                      AlertIdBytes(id), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok())
    return Error(fmt::format("store: reading the status of {}: {}", id.Uuid(), s.ToString()));
  return std::optional<std::string>(std::move(value));
}

AlertStatus CurrentStatus(std::string_view document) {
  auto j = json::parse(document, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return AlertStatus::kNew;
  const int id = j.value("status_id", 1);
  if (id < 1 || id > 4) return AlertStatus::kNew;
  return static_cast<AlertStatus>(id);
}

std::string MergeStatus(std::string_view finding, std::string_view status_document) {
  json doc = json::parse(finding, nullptr, false);
  const json st = json::parse(status_document, nullptr, false);
  if (doc.is_discarded() || st.is_discarded() || !st.is_object()) return std::string(finding);
  doc["status_id"] = st.value("status_id", 1);
  doc["status"] = st.value("status", "New");
  const json history = st.value("history", json::array());
  if (!history.empty()) {
    doc["activity_id"] = 2;
    doc["activity_name"] = "Update";
    doc["type_uid"] = 200402;
    doc["type_name"] = "Detection Finding: Update";
    const json& last = history.back();
    if (last.contains("comment")) doc["comment"] = last["comment"];
    doc["unmapped"]["tuttle"]["status_history"] = history;
  }
  return Dump(doc);
}

}  // namespace tuttle::storage
