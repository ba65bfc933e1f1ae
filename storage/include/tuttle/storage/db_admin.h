#pragma once
// Store maintenance for operators: what each column family holds (`tuttle db stats`) and a
// forced compaction that applies retention now (`tuttle db compact`).

#include <cstdint>
#include <string>
#include <vector>

#include "tuttle/engine/result.h"

namespace tuttle::storage {

class Store;

struct ColumnFamilyStats {
  std::string name;
  uint64_t estimated_keys = 0;  // rocksdb.estimate-num-keys: fast, approximate
  int64_t exact_keys = -1;      // counted by a full scan; -1 when not asked for
  uint64_t live_sst_bytes = 0;  // rocksdb.live-sst-files-size
  uint64_t memtable_bytes = 0;  // rocksdb.cur-size-all-mem-tables
};

struct StoreStats {
  std::vector<ColumnFamilyStats> families;  // in the order the store opened them
  ColumnFamilyStats total;                  // sums ("total")
  uint64_t disk_bytes = 0;  // every file in the store's folder (WAL, logs, manifests included)
};

// With `exact`, every key of every column family is counted (reads the whole store).
Result<StoreStats> CollectStats(const Store& store, bool exact);

// Flushes and compacts every column family down to the last level, so retention runs on
// everything. REQUIRES: `store` opened for writing.
Status CompactAll(Store& store);

}  // namespace tuttle::storage
