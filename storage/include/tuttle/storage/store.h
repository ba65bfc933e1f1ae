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
// Alert ids are deterministic, so writing the same input twice stores each alert once.
//
// Thread-safety: Write() is called from one thread (the pipeline's last stage); reads may run
// concurrently with it (RocksDB guarantees consistent reads).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tuttle/engine/alert_sink.h"
#include "tuttle/engine/result.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace tuttle::storage {

struct StoreOptions {
  // fsync the write-ahead log on every batch. Default: false (the WAL is still written; an OS
  // crash may lose the last batches, a process crash loses nothing).
  bool sync = false;
  // Create the database (and its folders) when absent. Default: true.
  bool create_if_missing = true;
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

 private:
  Store() = default;

  std::string path_;
  StoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* alerts_ = nullptr;
  rocksdb::ColumnFamilyHandle* dead_letters_ = nullptr;
  rocksdb::ColumnFamilyHandle* positions_ = nullptr;
};

}  // namespace tuttle::storage
