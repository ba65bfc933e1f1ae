#pragma once
// Alert queries: what `tuttle alerts` asks the store. Filters on time, rule, severity, entity,
// tenant and status; newest first (or oldest first); pages of `limit` alerts continued with an
// opaque token.
//
// How: the filters that have an index (alert_index.h), and a status other than New (few alerts
// have one), each name a set of index prefixes or alerts; the query counts each filter's entries
// in the time range (up to kIndexProbeLimit) and scans the smallest, merging its prefixes in time
// order. The other filters are checked by point lookups of the same alert in their indexes, so
// only matching alerts are read. With no such filter, the alerts column family is scanned over
// the time range. Either way, alerts are visited newest (or oldest) first until a page is full.
// A store without the index (a read-only open of a store from an earlier version) answers time
// and status filters only.
//
// Thread-safety: a query only reads; run as many as you like, also while the store is written
// (each sees the store as it was when its scans started; open a read-only Store to query a
// store another process writes).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tuttle/engine/hash.h"
#include "tuttle/engine/result.h"
#include "tuttle/engine/rule_set.h"
#include "tuttle/engine/time.h"
#include "tuttle/storage/alert_status.h"

namespace tuttle::storage {

class Store;

struct AlertFilter {
  TimeNs since = kNoTime;  // event time, inclusive; kNoTime: no bound
  TimeNs until = kNoTime;  // event time, exclusive; kNoTime: no bound
  // A rule id (exactly), or else a part of rule titles or names (ASCII case-insensitive).
  std::string rule;
  std::optional<Level> severity;      // exactly this level
  std::optional<Level> min_severity;  // this level or higher
  // An entity or group-by value (exactly), or NAME=VALUE to match it under one name only
  // ("namespace=payments", "user.username=alice"). A leading '=' matches a value that itself
  // holds '=' under any name.
  std::string entity;
  std::string tenant;  // Alert::tenant, exactly
  std::optional<AlertStatus> status;
};

struct AlertQuery {
  AlertFilter filter;
  size_t limit = 50;  // alerts per page; 0: all
  bool oldest_first = false;
  std::string page_token;  // AlertPage::next_page_token of the previous page; empty: first page
};

struct QueriedAlert {
  TimeNs time = kNoTime;
  std::string id;    // UUID form
  std::string json;  // the OCSF Detection Finding, its current status merged in (MergeStatus)
  AlertStatus status = AlertStatus::kNew;
};

struct AlertPage {
  std::vector<QueriedAlert> alerts;
  // Continues after the last alert of this page; empty when no alert is left.
  std::string next_page_token;
  // How the query ran: "index e:<value>" ..., or "scan alerts". For --explain and tests.
  std::string plan;
  uint64_t examined = 0;  // alerts read and checked against the filters
};

// Entries counted per indexed filter when choosing the one to scan.
inline constexpr size_t kIndexProbeLimit = 10'000;

// Fails on a malformed page token.
Result<AlertPage> QueryAlerts(const Store& store, const AlertQuery& query);

// One alert by id, its status merged in; nullopt when the store holds none with that id.
Result<std::optional<QueriedAlert>> FindAlert(const Store& store, const Hash128& id);

// The page token that continues after alert `id` (`--after ID`), in either order.
Result<std::string> PageTokenAfter(const Store& store, const Hash128& id);

// Parses "informational", "low", "medium", "high", "critical" (any case).
std::optional<Level> ParseLevel(std::string_view name);

}  // namespace tuttle::storage
