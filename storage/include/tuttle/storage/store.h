#pragma once
// Store: Tuttle's RocksDB database (docs/storage.md).
//
// Column families and keys (integers big-endian, signed ones with the sign bit flipped so that
// byte order is numeric order):
//   alerts        time (i64 ns) | alert id (16 bytes)         -> OCSF JSON
//   dead_letters  kind (1) | source | 0x00 | partition (i32) | offset (i64)  -> JSON
//   positions     source | 0x00 | partition (i32)            -> last (i64) [| resume (i64)]
//   state         correlation groups, suppression, streams (Correlator::TakeChanges)
//   alert_index   secondary indexes of the alerts (alert_index.h)
//   alert_status  alert id (16 bytes) -> analyst status history (alert_status.h)
//   inventory     tenant | 0x00 | kind | 0x00 | identity -> item (tuttle/engine/inventory.h)
//   evidence      record id (16 bytes) -> the raw record behind alerts (evidence.h)
// Retention (retention.h) drops old alerts, index entries, statuses and dead letters in
// compaction. docs/storage.md has the whole picture.
// Alert ids are deterministic, so writing the same input twice stores each alert once.
//
// Writes: without checkpoints, each batch is one atomic WriteBatch of its alerts, dead letters
// and positions. With checkpoints (BatchOutput::checkpointing), batches accumulate and the batch
// that carries a checkpoint writes everything since the previous one, the window state and the
// positions in one atomic WriteBatch: the store always holds the results of one stream prefix
// and the state that goes with them, whenever the process dies.
//
// Write errors (disk full, I/O errors) do not lose anything: the write is retried, with the
// error reported once, until it succeeds or the run is cancelled; meanwhile the pipeline's
// last stage waits, so consumption pauses and no position advances.
//
// Thread-safety: Write() is called from one thread (the pipeline's last stage); reads may run
// concurrently with it (RocksDB guarantees consistent reads); while a write error is recovered
// from by reopening the database, they fail with an error saying so.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "tuttle/engine/alert_sink.h"
#include "tuttle/engine/checkpoint.h"
#include "tuttle/engine/result.h"
#include "tuttle/storage/alert_index.h"
#include "tuttle/storage/evidence.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Env;
class WriteBatch;
}  // namespace rocksdb

namespace tuttle::storage {

struct StoreOptions {
  // fsync the write-ahead log on every batch. Default: false (the WAL is still written; an OS
  // crash may lose the last batches, a process crash loses nothing).
  bool sync = false;
  // Create the database (and its folders) when absent. Default: true.
  bool create_if_missing = true;
  // Write errors: first wait before retrying, doubling up to the maximum.
  std::chrono::milliseconds retry_initial{100};
  std::chrono::milliseconds retry_max{2000};
  // The RocksDB environment (tests inject I/O faults through it). Default: the OS.
  rocksdb::Env* env = nullptr;
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

class Store final : public AlertSink, public CheckpointReader {
 public:
  static Result<std::unique_ptr<Store>> Open(const std::string& path, StoreOptions options = {});
  ~Store() override;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Writes the batch's alerts, dead letters and positions atomically; with checkpoints, keeps
  // them until the checkpoint and writes them with it.
  Status Write(const BatchOutput& batch) override;
  bool StoresInventory() const override { return true; }
  bool StoresEvidence() const override { return true; }
  Status Finish() override;

  // Alerts in time order, at most `limit` (0: all).
  Result<std::vector<StoredAlert>> Alerts(size_t limit = 0) const;
  Result<std::vector<StoredDeadLetter>> DeadLetters(size_t limit = 0) const;
  // The last processed offset (or line) of a stream, if any.
  Result<std::optional<int64_t>> Position(const std::string& source, int32_t partition) const;
  // Every stream's position as of the last checkpoint (resume: where to read from).
  Result<std::vector<StreamCheckpoint>> Streams() const;
  // CheckpointReader: every entry of the state column family.
  Status ForEachState(const std::function<Status(std::string_view key, std::string_view value)>&
                          fn) const override;
  // Every inventory item (InventoryKey -> EncodeInventoryItem, tuttle/engine/inventory.h). Not
  // part of the checkpoint's state: ResetCheckpoint() keeps it, since what was seen stays seen.
  Status ForEachInventory(
      const std::function<Status(std::string_view key, std::string_view value)>& fn) const;
  // The evidence record under `key` (EvidenceKey); nullopt when absent (evidence.h).
  Result<std::optional<StoredEvidence>> ReadEvidence(const std::string& key) const;
  // Whether a checkpoint was ever written (there is state to restore).
  Result<bool> HasState() const;
  // Forgets the window state and positions (alerts and dead letters stay): the next run starts
  // from the beginning of its input.
  Status ResetCheckpoint();

  // A write waiting for the store to become writable again gives up once `cancelled` says so
  // (e.g. the source was stopped by a signal).
  void CancelWhen(std::function<bool()> cancelled) { cancelled_ = std::move(cancelled); }
  // Writes that waited for the store to become writable, and for how long in all.
  uint64_t stalled_writes() const { return stalled_writes_.load(); }
  double stalled_seconds() const { return stalled_seconds_.load(); }

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
  rocksdb::ColumnFamilyHandle* inventory_handle() const { return inventory_; }
  rocksdb::ColumnFamilyHandle* evidence_handle() const { return evidence_; }
  const std::vector<rocksdb::ColumnFamilyHandle*>& handles() const { return handles_; }
  // Now, by the store's clock.
  TimeNs Now() const;

 private:
  Store();
  Status OpenDb();
  void CloseDb();
  // Writes `wb`, retrying on I/O errors (see the class comment).
  Status Commit(rocksdb::WriteBatch& wb, std::string_view what);
  void AddAlertsAndDeadLetters(rocksdb::WriteBatch& wb, const BatchOutput& batch);
  // Adds the alert and its index entries to `wb` (alert_index.cc).
  // `json` and `index`: the alert's OCSF JSON and AlertIndexEntries(), made beforehand (in
  // parallel, by AddAlertsAndDeadLetters).
  void PutAlert(rocksdb::WriteBatch& wb, const Alert& alert, const std::string& json,
                const std::vector<IndexEntry>& index);

  std::string path_;
  StoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* alerts_ = nullptr;
  rocksdb::ColumnFamilyHandle* dead_letters_ = nullptr;
  rocksdb::ColumnFamilyHandle* positions_ = nullptr;
  rocksdb::ColumnFamilyHandle* state_ = nullptr;
  // Checkpointing: what the batches since the last checkpoint wrote.
  std::unique_ptr<rocksdb::WriteBatch> pending_;
  std::function<bool()> cancelled_;
  // Held shared by reads, exclusively while the database is closed and reopened.
  mutable std::shared_mutex db_mu_;
  std::atomic<uint64_t> stalled_writes_{0};
  std::atomic<double> stalled_seconds_{0};
  rocksdb::ColumnFamilyHandle* alert_index_ = nullptr;
  rocksdb::ColumnFamilyHandle* alert_status_ = nullptr;
  rocksdb::ColumnFamilyHandle* inventory_ = nullptr;
  rocksdb::ColumnFamilyHandle* evidence_ = nullptr;
};

}  // namespace tuttle::storage
