#pragma once
// Alert status: what analysts decided about an alert (acknowledged, closed, reopened), by whom,
// when and why. Kept in the alert_status column family, apart from the alert, so the engine
// re-writing an alert (a restart re-reads its input; alert ids are deterministic) never resets
// it.
//
// Statuses are OCSF 1.1 Detection Finding status_id values: New (1), In Progress (2),
// Suppressed (3), Resolved (4). `tuttle alerts ack` sets In Progress, `close` sets Resolved,
// `reopen` sets New.
//
// Value: a JSON document
//   {"alert_time": <event time ns, for retention>, "status_id": 2, "status": "In Progress",
//    "history": [<OCSF Detection Finding Update activity>, ...]}
// each history entry {"activity_id": 2, "activity_name": "Update", "status_id", "status",
// "time" (ms), "time_dt" (RFC 3339), "actor": {"user": {"name"}}, "comment"}, oldest first.

#include <optional>
#include <string>
#include <string_view>

#include "tuttle/engine/hash.h"
#include "tuttle/engine/result.h"
#include "tuttle/engine/time.h"

namespace tuttle::storage {

class Store;

enum class AlertStatus : int {
  kNew = 1,
  kInProgress = 2,
  kSuppressed = 3,
  kResolved = 4,
};
std::string_view AlertStatusName(AlertStatus status);  // "New", "In Progress", ...
// The CLI's and the API's word for it: "new", "acknowledged", "suppressed", "closed".
std::string_view AlertStatusWord(AlertStatus status);
// The CLI's words: "new", "acknowledged" (or "ack", "in-progress"), "closed" (or "resolved"),
// "suppressed". nullopt otherwise.
std::optional<AlertStatus> ParseAlertStatus(std::string_view word);

struct StatusChange {
  AlertStatus status = AlertStatus::kNew;
  std::string by;    // who: required
  std::string note;  // may be empty
};

// Appends `change` to the alert's history and makes it the current status; returns the new
// status document. Fails when the store holds no alert with this id.
// REQUIRES: `store` opened for writing.
Result<std::string> UpdateAlertStatus(Store& store, const Hash128& id, const StatusChange& change);

// The alert's status document, or nullopt when nobody changed it (it is New).
Result<std::optional<std::string>> AlertStatusDocument(const Store& store, const Hash128& id);

// The current status in a status document (New when it has none).
AlertStatus CurrentStatus(std::string_view document);

// `finding` (OCSF JSON) with the status document merged in: status_id, status, and, when the
// status changed, activity Update (type_uid 200402), the last note as `comment`, and the
// history under unmapped.tuttle.status_history.
std::string MergeStatus(std::string_view finding, std::string_view status_document);

}  // namespace tuttle::storage
