#pragma once
// Retention: RocksDB compaction filters that drop what is older than the store's retention
// (StoreOptions::alert_retention, dead_letter_retention). Each column family says how old an
// entry is in its own way:
//   alerts        the event time at the head of the key
//   alert_index   the time before the key's last 16 bytes; an id entry's value is the time
//   alert_status  the status document's "alert_time"
//   evidence      the event time at the head of the value
//   dead_letters  the value's "stored_at" (written since retention exists; without it, kept)
// An entry whose age cannot be read is kept: retention never guesses towards deleting.
// Compaction runs in the background as the store grows, so old entries go eventually, not at
// once; `tuttle db compact` forces it.

#include <string>

#include <rocksdb/options.h>

namespace tuttle::storage {

class Store;

// The options of column family `name`: its compaction filter, if it has a retention.
// REQUIRES: `store` outlives the database it opens (the filters read its options).
rocksdb::ColumnFamilyOptions ColumnFamilyOptionsFor(const std::string& name, const Store& store);

}  // namespace tuttle::storage
