#include "tuttle/storage/store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <oneapi/tbb/parallel_for.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "tuttle/storage/dead_letters.h"
#include "tuttle/storage/key_codec.h"
#include "retention.h"

namespace tuttle::storage {
namespace {

constexpr const char* kAlerts = "alerts";
constexpr const char* kDeadLetters = "dead_letters";
constexpr const char* kPositions = "positions";
constexpr const char* kState = "state";
constexpr const char* kAlertIndex = "alert_index";
constexpr const char* kAlertStatus = "alert_status";
constexpr const char* kInventory = "inventory";
constexpr const char* kEvidence = "evidence";

Error RocksError(std::string_view what, const rocksdb::Status& s) {
  return Error(fmt::format("store: {}: {}", what, s.ToString()));
}

// Errors a store can recover from once their cause is gone: I/O errors, disk full.
bool Retriable(const rocksdb::Status& s) {
  return s.IsIOError() || s.IsNoSpace() || s.IsBusy() || s.IsTryAgain() ||
         s.IsIncomplete();
}

}  // namespace

Store::Store() : pending_(std::make_unique<rocksdb::WriteBatch>()) {}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, StoreOptions options) {
  std::unique_ptr<Store> store(new Store());
  store->path_ = path;
  store->options_ = options;
  std::error_code ec;
  if (options.create_if_missing && !options.read_only) {
    std::filesystem::create_directories(path, ec);
    if (ec) return Error(fmt::format("store: cannot create '{}': {}", path, ec.message()));
  }

  Status st = store->OpenDb();
  if (!st.ok()) return st.error();
  return store;
}

Status Store::OpenDb() {
  std::unique_lock lock(db_mu_);
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options_.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 4;
  if (options_.env != nullptr) db_options.env = options_.env;

  // Open every column family the database has (later versions add some) plus ours.
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, path_, &names);
  if (!s.ok()) names.clear();
  // A read-only open can only open the column families that exist.
  if (options_.read_only && names.empty()) return RocksError(fmt::format("opening '{}'", path_), s);
  for (const char* name : {rocksdb::kDefaultColumnFamilyName.c_str(), kAlerts, kDeadLetters,
                           kPositions, kState, kAlertIndex, kAlertStatus, kInventory, kEvidence}) {
    if (options_.read_only) break;
    if (std::find(names.begin(), names.end(), name) == names.end()) names.emplace_back(name);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, ColumnFamilyOptionsFor(n, *this));

  rocksdb::DB* db = nullptr;
  s = options_.read_only ? rocksdb::DB::OpenForReadOnly(db_options, path_, descriptors,
                                                         &handles_, &db)
                        : rocksdb::DB::Open(db_options, path_, descriptors, &handles_, &db);
  if (!s.ok()) return RocksError(fmt::format("opening '{}'", path_), s);
  db_.reset(db);
  for (auto* h : handles_) {
    if (h->GetName() == kAlerts) alerts_ = h;
    if (h->GetName() == kDeadLetters) dead_letters_ = h;
    if (h->GetName() == kPositions) positions_ = h;
    if (h->GetName() == kState) state_ = h;
    if (h->GetName() == kAlertIndex) alert_index_ = h;
    if (h->GetName() == kAlertStatus) alert_status_ = h;
    if (h->GetName() == kInventory) inventory_ = h;
    if (h->GetName() == kEvidence) evidence_ = h;
  }
  return Ok();
}

void Store::CloseDb() {
  std::unique_lock lock(db_mu_);
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  alerts_ = dead_letters_ = positions_ = state_ = alert_index_ = alert_status_ = inventory_ =
      evidence_ = nullptr;
  db_->Close();
  db_.reset();
}

Store::~Store() { CloseDb(); }

void Store::AddAlertsAndDeadLetters(rocksdb::WriteBatch& wb, const BatchOutput& batch) {
  // Serialising findings and their index keys is most of a write's CPU: it runs in parallel
  // (the pipeline's last stage is serial), then the WriteBatch is filled in order.
  const size_t n = batch.alerts.size();
  std::vector<std::string> json(n);
  std::vector<std::vector<IndexEntry>> index(n);
  auto encode = [&](size_t i) {
    json[i] = AlertToOcsfJson(batch.alerts[i]);
    index[i] = AlertIndexEntries(batch.alerts[i]);
  };
  if (n >= 32) {
    tbb::parallel_for(size_t{0}, n, encode);
  } else {
    for (size_t i = 0; i < n; ++i) encode(i);
  }
  for (size_t i = 0; i < n; ++i) PutAlert(wb, batch.alerts[i], json[i], index[i]);
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
  for (const auto& [k, v] : batch.inventory) wb.Put(inventory_, k, v);
  for (const EvidenceRecord& e : batch.evidence) {
    wb.Put(evidence_, EvidenceKey(e.record_id), EncodeEvidence(e));
  }
}

Status Store::Write(const BatchOutput& batch) {
  if (batch.checkpointing) {
    AddAlertsAndDeadLetters(*pending_, batch);
    if (!batch.checkpoint) return Ok();
    rocksdb::WriteBatch& wb = *pending_;
    for (const std::string& k : batch.checkpoint->state.deletes) wb.Delete(state_, k);
    for (const auto& [k, v] : batch.checkpoint->state.puts) wb.Put(state_, k, v);
    for (const StreamCheckpoint& p : batch.checkpoint->streams) {
      wb.Put(positions_, PositionKey(p.source, p.partition),
             EncodeI64(p.last) + EncodeI64(p.resume));
    }
    Status st = Commit(wb, "writing a checkpoint");
    if (st.ok()) wb.Clear();
    return st;
  }
  if (batch.alerts.empty() && batch.dead_letters.empty() && batch.positions.empty() &&
      batch.inventory.empty() && batch.evidence.empty()) {
    return Ok();
  }
  rocksdb::WriteBatch wb;
  AddAlertsAndDeadLetters(wb, batch);
  for (const SourcePosition& p : batch.positions) {
    wb.Put(positions_, PositionKey(p.source, p.partition), EncodeI64(p.offset));
  }
  return Commit(wb, "writing a batch");
}

Status Store::Commit(rocksdb::WriteBatch& wb, std::string_view what) {
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  using Clock = std::chrono::steady_clock;
  const Clock::time_point started = Clock::now();
  std::chrono::milliseconds wait = options_.retry_initial;
  for (int attempt = 0;; ++attempt) {
    rocksdb::Status s;
    if (!db_) {
      // Reopening replays the WAL up to the last whole write and starts a new one.
      Status reopened = OpenDb();
      if (!reopened.ok()) s = rocksdb::Status::IOError(reopened.error().message());
    }
    if (db_) s = db_->Write(wo, &wb);
    if (s.ok()) {
      if (attempt > 0) {
        const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
        stalled_seconds_.store(stalled_seconds_.load() + seconds);
        fmt::print(stderr, "tuttle: store: writable again after {:.1f} s; consuming again\n",
                   seconds);
      }
      return Ok();
    }
    if (!Retriable(s) || (cancelled_ && cancelled_())) return RocksError(what, s);
    if (attempt == 0) {
      stalled_writes_.fetch_add(1);
      fmt::print(stderr,
                 "tuttle: store: {} failed: {}\n"
                 "tuttle: store: consumption paused, no position advances; retrying until the "
                 "store is writable again (free disk space, fix the device)\n",
                 what, s.ToString());
    }
    std::this_thread::sleep_for(wait);
    wait = std::min(wait * 2, options_.retry_max);
    // A failed write leaves the WAL writer unusable (RocksDB 7 asserts on its next write, and
    // Resume() cannot clear a WAL error): close the database; the next attempt reopens it,
    // which replays the WAL up to the last whole write and starts a new one.
    CloseDb();
  }
}

Status Store::Finish() {
  rocksdb::Status s = db_->FlushWAL(true);
  if (!s.ok()) return RocksError("flushing the WAL", s);
  return Ok();
}

Result<std::optional<StoredEvidence>> Store::ReadEvidence(const std::string& key) const {
  std::shared_lock lock(db_mu_);
  if (!db_) return Error("store: being reopened after a write error; try again");
  if (evidence_ == nullptr) return std::optional<StoredEvidence>();  // an older read-only store
  std::string value;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), evidence_, key, &value);
  if (s.IsNotFound()) return std::optional<StoredEvidence>();
  if (!s.ok()) return RocksError("reading evidence", s);
  Result<StoredEvidence> e = DecodeEvidence(key, value);
  if (!e.ok()) return e.error();
  return std::optional<StoredEvidence>(std::move(*e));
}

Result<std::vector<StoredAlert>> Store::Alerts(size_t limit) const {
  std::shared_lock lock(db_mu_);
  if (!db_) return Error("store: being reopened after a write error; try again");
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
  std::shared_lock lock(db_mu_);
  if (!db_) return Error("store: being reopened after a write error; try again");
  std::vector<StoredDeadLetter> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), dead_letters_));
  for (it->SeekToFirst(); it->Valid() && (limit == 0 || out.size() < limit); it->Next()) {
    std::optional<DeadLetter> letter = DeadLetterFromJson(it->value().ToStringView());
    if (!letter) continue;
    StoredDeadLetter d;
    d.kind = std::string(DeadLetterKindName(letter->kind));
    d.position = std::move(letter->position);
    d.reason = std::move(letter->reason);
    d.record = std::move(letter->record);
    d.event_time = letter->event_time;
    out.push_back(std::move(d));
  }
  if (!it->status().ok()) return RocksError("reading dead letters", it->status());
  return out;
}

Result<std::vector<StreamCheckpoint>> Store::Streams() const {
  std::shared_lock lock(db_mu_);
  if (!db_) return Error("store: being reopened after a write error; try again");
  std::vector<StreamCheckpoint> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), positions_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    const std::string_view value = it->value().ToStringView();
    const size_t nul = key.find('\0');
    if (nul == std::string_view::npos || key.size() != nul + 5 || value.size() < 8) continue;
    StreamCheckpoint s;
    s.source = std::string(key.substr(0, nul));
    s.partition = DecodeI32(key.substr(nul + 1));
    s.last = DecodeI64(value);
    s.resume = value.size() >= 16 ? DecodeI64(value.substr(8)) : s.last + 1;
    out.push_back(std::move(s));
  }
  if (!it->status().ok()) return RocksError("reading positions", it->status());
  return out;
}

Status Store::ForEachState(
    const std::function<Status(std::string_view key, std::string_view value)>& fn) const {
  std::shared_lock lock(db_mu_);
  if (!db_) return Error("store: being reopened after a write error; try again");
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), state_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Status st = fn(it->key().ToStringView(), it->value().ToStringView());
    if (!st.ok()) return st;
  }
  if (!it->status().ok()) return RocksError("reading window state", it->status());
  return Ok();
}

Status Store::ResetCheckpoint() {
  rocksdb::WriteBatch wb;
  for (rocksdb::ColumnFamilyHandle* cf : {state_, positions_}) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) wb.Delete(cf, it->key());
    if (!it->status().ok()) return RocksError("resetting the checkpoint", it->status());
  }
  return Commit(wb, "resetting the checkpoint");
}

Status Store::ForEachInventory(
    const std::function<Status(std::string_view key, std::string_view value)>& fn) const {
  std::shared_lock lock(db_mu_);
  if (!db_) return Error("store: being reopened after a write error; try again");
  if (inventory_ == nullptr) return Ok();  // a read-only store older than the inventory
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), inventory_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Status st = fn(it->key().ToStringView(), it->value().ToStringView());
    if (!st.ok()) return st;
  }
  if (!it->status().ok()) return RocksError("reading the inventory", it->status());
  return Ok();
}

Result<bool> Store::HasState() const {
  std::shared_lock lock(db_mu_);
  if (!db_) return Error("store: being reopened after a write error; try again");
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), state_));
  it->SeekToFirst();
  if (!it->status().ok()) return RocksError("reading window state", it->status());
  return it->Valid();
}

Result<std::optional<int64_t>> Store::Position(const std::string& source, int32_t partition) const {
  std::shared_lock lock(db_mu_);
  if (!db_) return Error("store: being reopened after a write error; try again");
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), positions_, PositionKey(source, partition), &value);
  if (s.IsNotFound()) return std::optional<int64_t>();
  if (!s.ok()) return RocksError("reading a position", s);
  if (value.size() < 8) return Error("store: damaged position");
  return std::optional<int64_t>(DecodeI64(value));
}

}  // namespace tuttle::storage
