#pragma once
// Store: Tuttle's RocksDB database. Each batch the pipeline finishes is written in one atomic
// WriteBatch: its alerts, its dead letters and the source positions it consumed, so what is
// stored never shows an alert without the positions that produced it, or the reverse.
//
// Column families and keys (integers big-endian, signed ones with the sign bit flipped so that
// byte order is numeric order):
//   alerts        time (i64 ns) | alert id (16 bytes)         -> OCSF JSON
//   dead_letters  kind (1) | source | 0x00 | partition (i32) | offset (i64)  -> JSON
//   positions     source | 0x00 | partition (i32)            -> offset (i64)
//   alert_index   secondary indexes of the alerts (alert_index.h)
//   alert_status  alert id (16 bytes) -> analyst status history (alert_status.h)
// Retention (retention.h) drops old alerts, index entries, statuses and dead letters in
// compaction. docs/storage.md has the whole picture.
// Alert ids are deterministic, so writing the same input twice stores each alert once.
//
// Thread-safety: Write() is called from one thread (the pipeline's last stage); reads may run
// concurrently with it (RocksDB guarantees consistent reads).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tuttle/engine/alert_sink.h"
#include "tuttle/engine/result.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace tuttle::storage {

struct StoreOptions {
  // fsync the write-ahead log on every batch. Default: false (the WAL is still written; an OS
  // crash may lose the last batches, a process crash loses nothing).
  bool sync = false;
  // Create the database (and its folders) when absent. Default: true.
  bool create_if_missing = true;
  // Open without write access (RocksDB's read-only mode): takes no lock, so it works while a
  // `tuttle run` writes the store, and sees what was written up to the moment it opened.
  // Write() then fails. Default: false.
  bool read_only = false;
  // Retention, applied when RocksDB compacts: alerts whose event time is older than
  // `alert_retention` (with their index and status entries), and dead letters stored longer
  // ago than `dead_letter_retention`, are dropped. 0 keeps them forever. Defaults: 90 and 7
  // days. Alerts age by event time, so replayed archives need a longer retention (or 0).
  TimeNs alert_retention = TimeNs{90} * 24 * 3600 * kNsPerSecond;
  TimeNs dead_letter_retention = TimeNs{7} * 24 * 3600 * kNsPerSecond;
  // The wall clock of retention and of dead letters' `stored_at`. Default (empty): the system
  // clock. Tests inject a virtual one.
  std::function<TimeNs()> clock;
};

struct StoredAlert {
  TimeNs time = kNoTime;
  std::string id;    // UUID form
  std::string json;  // OCSF Detection Finding
};

struct StoredDeadLetter {
  std::string kind;  // "parse" or "late"
  SourcePosition position;
  std::string reason;
  std::string record;
  TimeNs event_time = kNoTime;
};

class Store final : public AlertSink {
 public:
  static Result<std::unique_ptr<Store>> Open(const std::string& path, StoreOptions options = {});
  ~Store() override;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Writes the batch's alerts, dead letters and positions atomically.
  Status Write(const BatchOutput& batch) override;
  Status Finish() override;

  // Alerts in time order, at most `limit` (0: all).
  Result<std::vector<StoredAlert>> Alerts(size_t limit = 0) const;
  Result<std::vector<StoredDeadLetter>> DeadLetters(size_t limit = 0) const;
  // The last processed offset (or line) of a stream, if any.
  Result<std::optional<int64_t>> Position(const std::string& source, int32_t partition) const;

  const std::string& path() const { return path_; }
  const StoreOptions& options() const { return options_; }
  // The database and its column families, for the query, status and maintenance code beside
  // this class (alert_query.h, alert_status.h, db_admin.h). In a read-only store opened before
  // a column family existed, its handle is nullptr.
  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* alerts_handle() const { return alerts_; }
  rocksdb::ColumnFamilyHandle* dead_letters_handle() const { return dead_letters_; }
  rocksdb::ColumnFamilyHandle* alert_index_handle() const { return alert_index_; }
  rocksdb::ColumnFamilyHandle* alert_status_handle() const { return alert_status_; }
  const std::vector<rocksdb::ColumnFamilyHandle*>& handles() const { return handles_; }
  // Now, by the store's clock.
  TimeNs Now() const;

 private:
  Store() = default;
  // Adds the alert and its index entries to `wb` (alert_index.cc).
  void PutAlert(rocksdb::WriteBatch& wb, const Alert& alert);

  std::string path_;
  StoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* alerts_ = nullptr;
  rocksdb::ColumnFamilyHandle* dead_letters_ = nullptr;
  rocksdb::ColumnFamilyHandle* positions_ = nullptr;
  rocksdb::ColumnFamilyHandle* alert_index_ = nullptr;
  rocksdb::ColumnFamilyHandle* alert_status_ = nullptr;
};

}  // namespace tuttle::storage
