#pragma once
// JsonRecordParser: reads JSON records with simdjson On-Demand, recognises their format and turns
// them into Events.
//
// One pass over each record: the walker follows the FieldCatalog trie, so it descends only into
// the parts of the record that an adapter or a rule reads, and fills the thread's FieldTable with
// views of those values. The adapters (ingest/src/adapters.h, one small unit per format) then
// say which format the record is and read its event time, entities and derived fields from that
// table. docs/formats.md lists the formats, how each is recognised, its time field, log source
// and entities.
//
// A delivery batch ({"Records": [...]} from CloudTrail's S3 delivery, {"records": [...]} from
// Azure Event Hubs) is split: each element is read as a record of its own, with its own raw view
// and record id. An element that cannot be read is handed to EventHandler::OnRejectedPart; the
// others still become events.
//
// A record that is gzip-compressed (it starts with 1f 8b: CloudTrail's S3 delivery files are
// stored so) is decompressed first, to at most max_record_bytes; its events' raw bytes and ids
// are those of the decompressed record, so it raises the same alerts as when delivered plain.
//
// A record without an event time of its own takes the Kafka message timestamp when there is one.
// Anything else is an error naming the reason; the pipeline dead-letters the record. Reasons
// start with a fixed phrase ("malformed JSON", "invalid UTF-8", "record too large", "malformed
// gzip", "unrecognized record format", "format mismatch", "no event time", "empty record") that
// the pipeline counts.
//
// Thread-safety: the parser is immutable and shared; each thread uses its own Worker.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tuttle/contracts/contract_set.h"
#include "tuttle/engine/field_catalog.h"
#include "tuttle/engine/record_parser.h"

namespace tuttle::ingest {

// Interns the paths the adapters read, kTenantPath and the entity paths. Call before the rules intern theirs and
// the catalog is frozen.
void RegisterAdapterFields(FieldCatalog& catalog);

// The path under which every event carries its Event::tenant (empty when none) as a derived
// string value, so rules can match it and correlations group by it (`group-by: [tuttle.tenant]`
// keeps tenants apart and gives the alert its tenant; docs/correlation.md).
inline constexpr std::string_view kTenantPath = "tuttle.tenant";

// Every event also carries each of its entities (docs/formats.md, "Entities") as a derived string
// under kEntityPathPrefix + name: `tuttle.entity.image_digest`, `tuttle.entity.namespace`, ...
// Sources that name a thing differently (a Trivy report's digest, a pod's image) then join on one
// path: `group-by: [tuttle.entity.image_digest]`. Like the tenant, a record cannot set these.
inline constexpr std::string_view kEntityPathPrefix = "tuttle.entity.";

// Data contracts (docs/contracts.md): a record that breaks the contract selecting it is read as
// its own event and also as a second event, of log source `product: tuttle, service: contracts`
// (same record id, entities and fields), carrying these derived string values (on both events):
//   tuttle.contract.name       the contract's name
//   tuttle.contract.function   the event's function name (empty when none), for grouping
//   tuttle.contract.violation  one value per violation: "json.amount: 12000 is above ..."
// The second event's Event::details are the violations, so its alerts name them. A record's own
// top-level `tuttle` key is never read: only the parser writes `tuttle.*`.
inline constexpr std::string_view kContractNamePath = "tuttle.contract.name";
inline constexpr std::string_view kContractFunctionPath = "tuttle.contract.function";
inline constexpr std::string_view kContractViolationPath = "tuttle.contract.violation";
inline constexpr LogSource kContractLogSource{"tuttle", "contracts", ""};

// The entity an adapter takes verbatim from the field at `path` ("user.username" -> principal,
// "recipientAccountId" -> tenant, ...), kOwner for kTenantPath, or kNone. For AssignGroupEntityRoles
// (tuttle/engine/group_entities.h): correlations grouped by these fields carry the entity.
EntityRole EntityRoleOfPath(std::string_view path);

struct JsonRecordParserOptions {
  // Records longer than this (in bytes) are dead-lettered unread. Default: 1 MiB. CloudTrail's
  // S3 delivery files can be larger: raise it for them.
  size_t max_record_bytes = size_t{1} << 20;
  // The tenants the configuration fixes per source (`--tenant SOURCE=NAME`): RecordMeta::tenant
  // k > 0 names tenants[k - 1], which then is the Event::tenant of the record's events whatever
  // the record says. Default: none.
  std::vector<std::string> tenants;
  // Data contracts checked in the parse stage; nullptr: none (and no cost).
  std::shared_ptr<const contracts::ContractSet> contracts;
};

class JsonRecordParser final : public RecordParser {
 public:
  // The formats, in detection order ("k8s_audit", "falco", ...).
  static std::vector<std::string_view> FormatNames();
  // The id that pins `name` in RecordMeta::format, or nullopt for an unknown name.
  static std::optional<uint16_t> FormatId(std::string_view name);

  // The simdjson kernel the On-Demand walker was compiled for ("haswell", "fallback", ...).
  static std::string_view SimdKernel();

  // REQUIRES: RegisterAdapterFields(*catalog) was called.
  explicit JsonRecordParser(std::shared_ptr<const FieldCatalog> catalog,
                            JsonRecordParserOptions options = {});

  std::unique_ptr<Worker> NewWorker() const override;

  // What it was made with: a hot reload makes the next parser with the same options.
  const JsonRecordParserOptions& options() const { return options_; }

 private:
  std::shared_ptr<const FieldCatalog> catalog_;
  JsonRecordParserOptions options_;
  std::vector<std::vector<PathId>> adapter_paths_;  // per adapter, its fields' ids
  // kTenantPath, and the entity paths right after it (interned in a row).
  PathId tenant_path_ = kNoPath;
  PathId contract_paths_[3] = {kNoPath, kNoPath, kNoPath};  // name, function, violation
};

}  // namespace tuttle::ingest
