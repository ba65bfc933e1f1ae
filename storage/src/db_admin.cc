#include "tuttle/storage/db_admin.h"

#include <fmt/format.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <memory>

#include "tuttle/storage/store.h"

namespace tuttle::storage {

Result<StoreStats> CollectStats(const Store& store, bool exact) {
  StoreStats stats;
  stats.total.name = "total";
  if (exact) stats.total.exact_keys = 0;
  rocksdb::DB* db = store.db();
  for (rocksdb::ColumnFamilyHandle* h : store.handles()) {
    ColumnFamilyStats cf;
    cf.name = h->GetName();
    db->GetIntProperty(h, "rocksdb.estimate-num-keys", &cf.estimated_keys);
    db->GetIntProperty(h, "rocksdb.live-sst-files-size", &cf.live_sst_bytes);
    db->GetIntProperty(h, "rocksdb.cur-size-all-mem-tables", &cf.memtable_bytes);
    if (exact) {
      cf.exact_keys = 0;
      rocksdb::ReadOptions ro;
      ro.fill_cache = false;  // a one-off full scan should not evict the working set
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, h));
      for (it->SeekToFirst(); it->Valid(); it->Next()) ++cf.exact_keys;
      if (!it->status().ok()) {
        return Error(fmt::format("store: counting {}: {}", cf.name, it->status().ToString()));
      }
      stats.total.exact_keys += cf.exact_keys;
    }
    stats.total.estimated_keys += cf.estimated_keys;
    stats.total.live_sst_bytes += cf.live_sst_bytes;
    stats.total.memtable_bytes += cf.memtable_bytes;
    stats.families.push_back(std::move(cf));
  }
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(store.path(), ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const auto size = it->file_size(size_ec);
      if (!size_ec) stats.disk_bytes += size;
    }
  }
  return stats;
}

Status CompactAll(Store& store) {
  rocksdb::CompactRangeOptions o;
  // Without kForce, files already in the last level are not rewritten and retention would
  // skip them.
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (rocksdb::ColumnFamilyHandle* h : store.handles()) {
    rocksdb::Status s = store.db()->CompactRange(o, h, nullptr, nullptr);
    if (!s.ok()) return Error(fmt::format("store: compacting {}: {}", h->GetName(), s.ToString()));
  }
  return Ok();
}

}  // namespace tuttle::storage
