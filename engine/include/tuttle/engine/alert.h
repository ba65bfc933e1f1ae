#pragma once
// Alert: what Tuttle tells an analyst. A single-event rule's match, or a correlation rule's
// window that met its condition, with the evidence that made it. Serialised as an OCSF 1.1
// Detection Finding (class_uid 2004, the default), an Elastic Common Schema 8 alert, or Falco's
// JSON output (docs/alerts.md); FormatAlert() is the one switch every sink uses.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tuttle/engine/event.h"
#include "tuttle/engine/hash.h"
#include "tuttle/engine/record.h"
#include "tuttle/engine/rule_set.h"
#include "tuttle/engine/time.h"

namespace tuttle {

// A reference to one contributing record.
struct Evidence {
  SourcePosition position;
  TimeNs time = kNoTime;
  Hash128 record_id;
  std::shared_ptr<const RuleInfo> rule;  // the detection rule the record matched
};

struct Alert {
  Hash128 id;  // deterministic: see ComputeAlertId()
  std::shared_ptr<const RuleInfo> rule;
  // "single" for a detection rule's own alert, else the correlation type ("event_count", ...).
  std::string kind;
  TimeNs time = kNoTime;  // event time at which the condition held (the last evidence's time)
  TimeNs window_start = kNoTime;
  TimeNs window_end = kNoTime;
  std::vector<std::pair<std::string, std::string>> group;  // group-by name and value
  std::vector<Evidence> evidence;
  int64_t count = 0;        // events, distinct values or steps that met the condition
  std::string condition;    // the condition that held, e.g. ">= 5"
  std::vector<std::string> values;  // value_count: the distinct values
  // Metric types: the counted field, and the sum, average or percentile that met the condition
  // (over `numeric` numeric values).
  std::string field;
  std::optional<double> value;
  int64_t numeric = 0;
  // Suppression (`tuttle: {suppress: ...}`): alerts of this rule and group that were not emitted
  // since the previous emitted one, and the event times of the first and last of them.
  int64_t suppressed = 0;
  TimeNs suppressed_first = kNoTime;
  TimeNs suppressed_last = kNoTime;
  // Chains: the ids of the referenced correlations' alerts whose evidence this alert includes.
  std::vector<Hash128> chained;
  std::string product;      // log source of the evidence (single-event alerts)
  std::string service;
  // Who owns the evidence: the event's Event::tenant (single-event alerts), or a correlation's
  // tenant-role group-by value (`tuttle.tenant`, `recipientAccountId`, ...). Part of the id.
  std::string tenant;
  // What the evidence is about: a single-event alert's event's entities; a correlation alert's
  // group-by values whose fields are entities (group_entities.h). Not part of the id.
  OwnedEntities entities;
  // A single-event alert's Event::details (contract violations). Not part of the id.
  std::vector<std::string> details;
};

// The alert id: a hash of the rule id, the kind, the group-by values and the ids of the evidence
// records, in order. The same input always gives the same id, whichever source delivered it.
Hash128 ComputeAlertId(const Alert& alert);

// OCSF 1.1 Detection Finding, one line of JSON.
std::string AlertToOcsfJson(const Alert& alert);

// Elastic Common Schema 8.x alert, one line of JSON: event.kind "alert", rule.*, threat.* (ATT&CK,
// arrays as ECS writes them), the entities where ECS has a place (container.*, orchestrator.*,
// user.name, source.ip, cloud.account.id, faas.*), Tuttle's extras under `tuttle`.
// event.created is the wall-clock time of the call; everything else depends on the alert only.
std::string AlertToEcsJson(const Alert& alert);

// Falco's JSON output (falco.yaml `json_output: true`), one line: time, rule, priority, source,
// output (Falco's one-line message), output_fields (flat `<field>: value`), tags (ATT&CK as
// Falco's rules tag it: "T1610", "mitre_execution"), hostname (this machine's).
std::string AlertToFalcoJson(const Alert& alert);

// Falco's priority for a Sigma level: critical -> Critical, high -> Error, medium -> Warning,
// low -> Notice, informational -> Informational.
std::string_view FalcoPriority(Level level);

// The JSON formats an alert is written in by every sink but the store.
enum class AlertFormat : uint8_t {
  kOcsf,   // AlertToOcsfJson: OCSF 1.1 Detection Finding (default)
  kEcs,    // AlertToEcsJson
  kFalco,  // AlertToFalcoJson
};
// "ocsf", "ecs", "falco" (ASCII case-insensitive); nullopt otherwise.
std::optional<AlertFormat> ParseAlertFormat(std::string_view name);
std::string_view AlertFormatName(AlertFormat format);  // "ocsf", "ecs", "falco"
// The alert as one line of JSON in `format`.
std::string FormatAlert(const Alert& alert, AlertFormat format);

// One readable line for terminals:
// 2018-10-26T13:42:46.808Z high   K8s exec then secret listing  user.username=alice  3 events ...
std::string AlertToText(const Alert& alert, bool color);

}  // namespace tuttle
