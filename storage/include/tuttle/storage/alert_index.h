#pragma once
// The alert_index column family: secondary indexes that let `tuttle alerts` answer "this rule",
// "this pod", "high and up", "this tenant" with a range scan instead of reading every alert.
//
// Keys (no values unless said), every part but the value fixed-width:
//   kind (1) | value | 0x00 | time (i64, sign-flipped big-endian) | alert id (16)
// with kind
//   'r' rule id            (Sigma `id`)
//   's' severity           (the rule level: "informational" .. "critical")
//   'e' entity value       (each non-empty entity of the alert, and each correlation group-by
//                           value); the value of the entry lists the names that carry it
//                           ("namespace", "user.username"), one per line, so KEY=VALUE filters
//                           need not read the alert
//   't' tenant             (Alert::tenant, when set)
// and one id entry per alert, to find an alert by id:
//   'i' | alert id (16)    -> time (i64)
// The last 24 bytes of an index key are exactly the alerts key (time | id), so a scan of one
// prefix yields alerts in time order, and paging tokens are alert keys. Keys depend only on the
// alert, which is deterministic, so re-writing an alert rewrites the same entries.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tuttle/engine/alert.h"
#include "tuttle/engine/hash.h"

namespace tuttle::storage {

enum class IndexKind : char {
  kRule = 'r',
  kSeverity = 's',
  kEntity = 'e',
  kTenant = 't',
  kId = 'i',
};

// Size of an alerts key (time | id), and so of every index key's suffix.
inline constexpr size_t kAlertKeySize = 24;

// kind | value | 0x00: what every entry of `value` in that index starts with.
std::string IndexPrefix(IndexKind kind, std::string_view value);
std::string IndexKey(IndexKind kind, std::string_view value, TimeNs time, const Hash128& id);
// 'i' | id.
std::string IdIndexKey(const Hash128& id);

struct IndexEntry {
  std::string key;
  std::string value;
};
// Every index entry of `alert`, the id entry included, in a fixed order.
std::vector<IndexEntry> AlertIndexEntries(const Alert& alert);

// An alert id as printed (UUID layout) or as 32 hex digits; nullopt otherwise.
std::optional<Hash128> ParseAlertId(std::string_view text);
// The 16 id bytes of an alerts key, and back.
std::string AlertIdBytes(const Hash128& id);
Hash128 AlertIdFromBytes(std::string_view bytes);  // REQUIRES: bytes.size() >= 16

}  // namespace tuttle::storage
