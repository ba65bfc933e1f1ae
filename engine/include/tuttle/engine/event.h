#pragma once
// Event: one record after its adapter has read it: event time, log source, entity fields and the
// catalogued field values. Views only; valid during the call that hands it out.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tuttle/engine/field_table.h"
#include "tuttle/engine/hash.h"
#include "tuttle/engine/record.h"
#include "tuttle/engine/time.h"

namespace tuttle {

// A Sigma log source: which product and service a record comes from (Sigma's `logsource`).
struct LogSource {
  std::string_view product;
  std::string_view service;
  std::string_view category;
};

// Which entity a value is: the roles of BasicEntities' members, in their order. A correlation
// rule's group-by names get one when the field they read is one an adapter takes an entity from
// (see group_entities.h), so its alerts carry the entity too.
enum class EntityRole : uint8_t {
  kNone,
  kCluster,
  kNamespace,
  kWorkload,
  kPod,
  kContainerId,
  kImage,
  kImageDigest,
  kFunctionName,
  kFunctionArn,
  kFunctionVersion,
  kPrincipal,
  kSourceAddress,
  kTenant,
  // Not an entity: Event::tenant, the tenant that owns the record (the ingest parser's
  // `tuttle.tenant` path). Gives a correlation alert its Alert::tenant.
  kOwner,
};

// Who and what a record is about, as its format names them (docs/formats.md lists which format
// fills which). Empty: the record does not say. S is std::string_view in Events (views into the
// record or the parser's buffers) and std::string in Alerts, which outlive the record.
template <typename S>
struct BasicEntities {
  S cluster;           // Kubernetes / ECS / EKS cluster
  S namespace_name;    // Kubernetes namespace
  S workload;          // Deployment, StatefulSet, ... name; compose service; function app
  S pod;
  S container_id;
  S image;             // repository[:tag] as the record writes it
  S image_digest;      // sha256:...
  S function_name;     // Lambda, Cloud Functions, Cloud Run service, Azure function
  S function_arn;      // Lambda ARN, GCP resource name
  S function_version;  // Lambda version, Cloud Run revision
  S principal;         // user, role ARN, service account, UPN
  S source_address;    // the caller's IP address
  S tenant;            // AWS account, GCP project, Azure subscription, as the record names it

  // Calls f(name, value) for each entity, in declaration order, names as docs/formats.md.
  template <typename F>
  void ForEach(F&& f) const {
    f("cluster", cluster);
    f("namespace", namespace_name);
    f("workload", workload);
    f("pod", pod);
    f("container_id", container_id);
    f("image", image);
    f("image_digest", image_digest);
    f("function_name", function_name);
    f("function_arn", function_arn);
    f("function_version", function_version);
    f("principal", principal);
    f("source_address", source_address);
    f("tenant", tenant);
  }
  // The member for `role`; nullptr for kNone and kOwner.
  S* Slot(EntityRole role) {
    switch (role) {
      case EntityRole::kNone: return nullptr;
      case EntityRole::kOwner: return nullptr;
      case EntityRole::kCluster: return &cluster;
      case EntityRole::kNamespace: return &namespace_name;
      case EntityRole::kWorkload: return &workload;
      case EntityRole::kPod: return &pod;
      case EntityRole::kContainerId: return &container_id;
      case EntityRole::kImage: return &image;
      case EntityRole::kImageDigest: return &image_digest;
      case EntityRole::kFunctionName: return &function_name;
      case EntityRole::kFunctionArn: return &function_arn;
      case EntityRole::kFunctionVersion: return &function_version;
      case EntityRole::kPrincipal: return &principal;
      case EntityRole::kSourceAddress: return &source_address;
      case EntityRole::kTenant: return &tenant;
    }
    return nullptr;
  }
  bool empty() const {
    bool any = false;
    ForEach([&](std::string_view, const S& v) { any = any || !v.empty(); });
    return !any;
  }
};
using Entities = BasicEntities<std::string_view>;
using OwnedEntities = BasicEntities<std::string>;

inline OwnedEntities ToOwned(const Entities& e) {
  return OwnedEntities{std::string(e.cluster),       std::string(e.namespace_name),
                       std::string(e.workload),      std::string(e.pod),
                       std::string(e.container_id),  std::string(e.image),
                       std::string(e.image_digest),  std::string(e.function_name),
                       std::string(e.function_arn),  std::string(e.function_version),
                       std::string(e.principal),     std::string(e.source_address),
                       std::string(e.tenant)};
}

struct Event {
  std::string_view raw;          // the record's bytes, or the sub-record's in a delivery batch
  const RecordMeta* meta = nullptr;
  uint32_t record_index = 0;     // in its batch
  // Names the record in evidence and alert ids: the hash of the raw bytes (of a delivery
  // batch's sub-record and its index, see docs/formats.md).
  Hash128 record_id;
  TimeNs time = kNoTime;         // event time from the record (or the transport, see adapters)
  std::string_view format;       // adapter name: "k8s_audit", "falco", "cloudtrail"
  // The topic or file the record came from (RecordParser::Worker::BeginBatch); empty when the
  // parser was not told.
  std::string_view source;
  LogSource log_source;
  // Who owns the record: the tenant the configuration fixes for its source (`--tenant`), else
  // the cloud account the record names (entities.tenant); empty: the instance's only tenant.
  // Part of single-event alert ids.
  std::string_view tenant;
  Entities entities;
  // The record is a call of the function it names (a Lambda Invoke data event, a Cloud Functions
  // CallFunction): the inventory tracks which principals invoke which function.
  bool invocation = false;
  // A second event of a record that already gave one (a data contract's violation event): its
  // entities are the first event's, so the inventory does not count them again.
  bool derived = false;
  const FieldTable* fields = nullptr;
  // What the parser found wrong with the record, for the alerts of this event (a broken data
  // contract: "json.amount: 12000 is above the maximum 10000"). Usually empty.
  std::span<const std::string_view> details;
};

}  // namespace tuttle
