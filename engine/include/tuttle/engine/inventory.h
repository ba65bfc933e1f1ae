#pragma once
// Inventory: what the telemetry says exists. Clusters, namespaces, workloads, images (with their
// digests), functions (with versions), principals, and which principals invoke which function,
// each with the first and last event time it was seen at and the source that first showed it
// (docs/inventory.md).
//
// Two halves, like the rest of the pipeline:
//   - InventoryCollector (parallel stage, one per batch): reads each event's entities into the
//     batch's distinct sightings. Cheap: a few string hashes per event; strings are copied only
//     for the first sighting of an item in the batch.
//   - Inventory (serial stage, one per pipeline): merges a batch's sightings into the items, in
//     record order, and raises the built-in findings: an item of a kind the approved-inventory
//     policy lists that matches none of its patterns (shadow IT; CIS Controls 1 and 2), and a
//     function invoked by a principal never seen invoking it. Each fires once per item, at the
//     record that first showed it, so the findings do not depend on batches or threads.
// Changed items are handed out as key/value puts for the store's `inventory` column family,
// written with the batch (or the checkpoint) whose records changed them: after a restart the
// items, and so the "once", carry on.
//
// Thread-safety: an InventoryCollector belongs to one batch (one thread at a time); Inventory is
// used by the serial stage only.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tuttle/engine/alert.h"
#include "tuttle/engine/event.h"
#include "tuttle/engine/glob.h"
#include "tuttle/engine/record.h"
#include "tuttle/engine/result.h"
#include "tuttle/engine/time.h"

namespace tuttle {

enum class InventoryKind : uint8_t {
  kCluster,
  kNamespace,
  kWorkload,
  kImage,
  kFunction,
  kPrincipal,
  kInvoker,  // a (function, principal) pair: the principal invoked the function
};
inline constexpr size_t kInventoryKinds = 7;
std::string_view InventoryKindName(InventoryKind kind);  // "cluster", ..., "invoker"
std::optional<InventoryKind> InventoryKindFromName(std::string_view name);

struct InventoryItem {
  InventoryKind kind = InventoryKind::kCluster;
  std::string tenant;     // Event::tenant of the records that showed it
  std::string cluster;    // namespaces and workloads: the cluster, when the records name it
  std::string namespace_name;  // workloads: their namespace, when they have one
  std::string name;       // the cluster, namespace, workload, image, function or principal name;
                          // invokers: the function
  std::string principal;  // invokers: who invoked it
  std::string digest;     // images: the digest seen last (by event time)
  std::string version;    // functions: the version seen last
  std::string arn;        // functions: the ARN (or resource name) seen last
  std::string source;     // the format of the record that first showed it ("k8s_audit", ...)
  TimeNs first_seen = kNoTime;
  TimeNs last_seen = kNoTime;
  uint64_t events = 0;    // events that showed it
  bool approved = true;   // false: not in the approved inventory (its kind is listed there)
  bool alerted = false;   // its first-seen finding was raised

  // What people and patterns call it: "payments/checkout" (namespace/workload), "nginx:1.25",
  // "cluster-a/payments", "fn by arn:aws:iam::1:role/x" for an invoker.
  std::string DisplayKey() const;
};

// The store key of an item (tenant, kind and identity, NUL-separated) and its value.
std::string InventoryKey(const InventoryItem& item);
std::string EncodeInventoryItem(const InventoryItem& item);
// Both halves of a stored entry; false when either is damaged.
bool DecodeInventoryItem(std::string_view key, std::string_view value, InventoryItem& out);

// The approved inventory (`--approved-inventory FILE`, docs/inventory.md). Patterns are globs:
// `*` any run of characters (slashes included), `?` one character; case-sensitive. A kind whose
// list is absent is not checked; one whose list is present but empty approves nothing.
struct InventoryPolicy {
  std::optional<std::vector<std::string>> images;      // image references ("repo/name:tag")
  std::optional<std::vector<std::string>> registries;  // an image's registry host
  std::optional<std::vector<std::string>> workloads;   // "namespace/name", or "name"
  std::optional<std::vector<std::string>> functions;   // function name or ARN
  std::optional<std::vector<std::string>> namespaces;  // namespace name
  std::string file;  // where it was read from, for findings

  // Whether the policy checks items of this kind at all.
  bool Checks(InventoryKind kind) const;
  bool Approved(const InventoryItem& item) const;
};

// The registry an image reference names: its first path part when that has a '.' or ':' or is
// "localhost", else "docker.io" (Docker's default).
std::string_view ImageRegistry(std::string_view image);

// One item as one batch saw it (an owned copy of the first event that showed it, and what the
// later ones added).
struct InventorySighting {
  InventoryItem item;      // first_seen/last_seen: min and max over the batch; events: the count
  uint32_t record = 0;     // the batch record of the first sighting: the finding's evidence
  Hash128 record_id;
  TimeNs record_time = kNoTime;  // that record's event time: the finding's
  uint32_t entities = 0;   // index into InventoryCollector::entities()
  std::string product;     // the first event's log source
  std::string service;
};

class InventoryCollector {
 public:
  // Reads one event (record `record` of the batch) into the batch's sightings.
  void Observe(const Event& event, uint32_t record);
  void Clear();

  std::vector<InventorySighting>& sightings() { return sightings_; }
  const std::vector<OwnedEntities>& entities() const { return entities_; }

 private:
  struct Parts {
    InventoryKind kind;
    std::string_view tenant, cluster, namespace_name, name, principal;
    size_t hash;  // of all the above; the same parts always give the same hash
  };
  void See(const Event& event, uint32_t record, const Parts& parts, std::string_view digest,
           std::string_view version, std::string_view arn);

  std::vector<InventorySighting> sightings_;
  std::unordered_multimap<size_t, uint32_t> index_;  // hash of the parts -> sighting
  std::vector<OwnedEntities> entities_;               // of the records that showed a new item
  uint32_t entities_record_ = UINT32_MAX;             // the record entities_.back() is of
};

struct InventoryStats {
  uint64_t items = 0;
  uint64_t new_items = 0;
  uint64_t unapproved_findings = 0;
  uint64_t new_invoker_findings = 0;
};

class Inventory {
 public:
  explicit Inventory(InventoryPolicy policy = {});

  // Start: one stored entry (Store::ForEachInventory). A damaged entry is an error.
  Status Restore(std::string_view key, std::string_view value);

  // Merges one batch's sightings, in record order, skipping those of records `skip` says were
  // already applied (a replay after a restart). Appends the findings (their evidence positions
  // from `batch`) to `alerts`; the items it changed are kept for TakeChanges().
  template <typename Skip>
  void Apply(InventoryCollector& collector, const RecordBatch& batch, Skip skip,
             std::vector<Alert>& alerts);

  // Appends the store entry of each item changed since the last call, in key order, and forgets
  // them. The pipeline calls it at each checkpoint (per batch without checkpoints): an item seen
  // in every batch is encoded once per checkpoint, not once per batch.
  void TakeChanges(std::vector<std::pair<std::string, std::string>>& changes);
  // Whether Apply() keeps the changed items for TakeChanges() (default: yes); the pipeline turns
  // it off when no sink stores the inventory.
  void TrackChanges(bool track) { track_changes_ = track; }

  const InventoryStats& stats() const { return stats_; }
  const InventoryPolicy& policy() const { return policy_; }
  // Every item, in no particular order (tests).
  std::vector<InventoryItem> Items() const;

  // The built-in findings' rules, by name (`tuttle_inventory_unapproved_image`, ...): for the
  // coverage table and the docs.
  static std::vector<std::shared_ptr<const RuleInfo>> BuiltInRules();

 private:
  void Merge(InventorySighting& s, const InventoryCollector& collector, const RecordBatch& batch,
             std::vector<Alert>& alerts);
  Alert Finding(const std::shared_ptr<const RuleInfo>& rule, const InventoryItem& item,
                const InventorySighting& s, const InventoryCollector& collector,
                const RecordBatch& batch) const;

  InventoryPolicy policy_;
  std::unordered_map<std::string, InventoryItem> items_;  // by InventoryKey
  std::unordered_map<std::string, uint64_t> invokers_;    // tenant \0 function -> principals
  std::unordered_set<std::string> changed_;               // keys, since TakeChanges()
  bool track_changes_ = true;
  InventoryStats stats_;
};

template <typename Skip>
void Inventory::Apply(InventoryCollector& collector, const RecordBatch& batch, Skip skip,
                      std::vector<Alert>& alerts) {
  for (InventorySighting& s : collector.sightings()) {
    if (!skip(s.record)) Merge(s, collector, batch, alerts);
  }
}

}  // namespace tuttle
