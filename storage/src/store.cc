#include "tuttle/storage/store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "tuttle/storage/key_codec.h"
#include "retention.h"

namespace tuttle::storage {
namespace {

constexpr const char* kAlerts = "alerts";
constexpr const char* kDeadLetters = "dead_letters";
constexpr const char* kPositions = "positions";
constexpr const char* kAlertIndex = "alert_index";
constexpr const char* kAlertStatus = "alert_status";

Error RocksError(std::string_view what, const rocksdb::Status& s) {
  return Error(fmt::format("store: {}: {}", what, s.ToString()));
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, StoreOptions options) {
  std::unique_ptr<Store> store(new Store());
  store->path_ = path;
  store->options_ = options;
  std::error_code ec;
  if (options.create_if_missing && !options.read_only) {
    std::filesystem::create_directories(path, ec);
    if (ec) return Error(fmt::format("store: cannot create '{}': {}", path, ec.message()));
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 4;

  // Open every column family the database has (later versions add some) plus ours.
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, path, &names);
  if (!s.ok()) names.clear();
  // A read-only open can only open the column families that exist.
  if (options.read_only && names.empty()) return RocksError(fmt::format("opening '{}'", path), s);
  for (const char* name : {rocksdb::kDefaultColumnFamilyName.c_str(), kAlerts, kDeadLetters,
                           kPositions, kAlertIndex, kAlertStatus}) {
    if (options.read_only) break;
    if (std::find(names.begin(), names.end(), name) == names.end()) names.emplace_back(name);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, ColumnFamilyOptionsFor(n, *store));

  rocksdb::DB* db = nullptr;
  s = options.read_only ? rocksdb::DB::OpenForReadOnly(db_options, path, descriptors,
                                                         &store->handles_, &db)
                        : rocksdb::DB::Open(db_options, path, descriptors, &store->handles_, &db);
  if (!s.ok()) return RocksError(fmt::format("opening '{}'", path), s);
  store->db_.reset(db);
  for (auto* h : store->handles_) {
    if (h->GetName() == kAlerts) store->alerts_ = h;
    if (h->GetName() == kDeadLetters) store->dead_letters_ = h;
    if (h->GetName() == kPositions) store->positions_ = h;
    if (h->GetName() == kAlertIndex) store->alert_index_ = h;
    if (h->GetName() == kAlertStatus) store->alert_status_ = h;
  }
  return store;
}

Store::~Store() {
  if (db_) {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }
}

Status Store::Write(const BatchOutput& batch) {
  if (batch.alerts.empty() && batch.dead_letters.empty() && batch.positions.empty()) return Ok();
  rocksdb::WriteBatch wb;
  for (const Alert& a : batch.alerts) {
    PutAlert(wb, a);
  }
  for (const DeadLetter& d : batch.dead_letters) {
    nlohmann::json j = {
        {"kind", DeadLetterKindName(d.kind)},
        {"source", d.position.source},
        {"partition", d.position.partition},
        {"offset", d.position.offset},
        {"reason", d.reason},
        {"record", d.record},
    };
    if (d.event_time != kNoTime) j["event_time"] = d.event_time;
    j["stored_at"] = Now();  // what dead-letter retention ages by
    wb.Put(dead_letters_, DeadLetterKey(d.kind, d.position),
           j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  for (const SourcePosition& p : batch.positions) {
    wb.Put(positions_, PositionKey(p.source, p.partition), EncodeI64(p.offset));
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  rocksdb::Status s = db_->Write(wo, &wb);
  if (!s.ok()) return RocksError("writing a batch", s);
  return Ok();
}

Status Store::Finish() {
  rocksdb::Status s = db_->FlushWAL(true);
  if (!s.ok()) return RocksError("flushing the WAL", s);
  return Ok();
}

Result<std::vector<StoredAlert>> Store::Alerts(size_t limit) const {
  std::vector<StoredAlert> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), alerts_));
  for (it->SeekToFirst(); it->Valid() && (limit == 0 || out.size() < limit); it->Next()) {
    StoredAlert a;
    DecodeAlertKey(it->key().ToStringView(), a.time, a.id);
    a.json = it->value().ToString();
    out.push_back(std::move(a));
  }
  if (!it->status().ok()) return RocksError("reading alerts", it->status());
  return out;
}

Result<std::vector<StoredDeadLetter>> Store::DeadLetters(size_t limit) const {
  std::vector<StoredDeadLetter> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), dead_letters_));
  for (it->SeekToFirst(); it->Valid() && (limit == 0 || out.size() < limit); it->Next()) {
    auto j = nlohmann::json::parse(it->value().ToStringView(), nullptr, false);
    if (j.is_discarded()) continue;
    StoredDeadLetter d;
    d.kind = j.value("kind", "");
    d.position.source = j.value("source", "");
    d.position.partition = j.value("partition", -1);
    d.position.offset = j.value("offset", int64_t{-1});
    d.reason = j.value("reason", "");
    d.record = j.value("record", "");
    d.event_time = j.value("event_time", kNoTime);
    out.push_back(std::move(d));
  }
  if (!it->status().ok()) return RocksError("reading dead letters", it->status());
  return out;
}

Result<std::optional<int64_t>> Store::Position(const std::string& source, int32_t partition) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), positions_, PositionKey(source, partition), &value);
  if (s.IsNotFound()) return std::optional<int64_t>();
  if (!s.ok()) return RocksError("reading a position", s);
  return std::optional<int64_t>(DecodeI64(value));
}

}  // namespace tuttle::storage
