#pragma once
// RuleSet: an immutable snapshot of everything loaded from rule files: the detection rules, the
// correlation rules, the compiled matcher (Detector) and the FieldCatalog their paths live in.
// Reload builds a new snapshot and swaps a pointer; alerts keep the RuleInfo they were made from.
//
// The rules library builds RuleSets from Sigma YAML; the engine only runs them.
//
// Thread-safety: immutable after construction; Detector::Worker is per thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tuttle/engine/event.h"
#include "tuttle/engine/field_catalog.h"
#include "tuttle/engine/time.h"

namespace tuttle {

// Sigma levels; the OCSF severity_id is the enum value.
enum class Level : uint8_t {
  kInformational = 1,
  kLow = 2,
  kMedium = 3,
  kHigh = 4,
  kCritical = 5,
};
std::string_view LevelName(Level level);  // "informational" .. "critical"

// Sigma's `logsource`: a rule applies to an event when every field the rule sets equals the
// event's (ASCII case-insensitively). Empty fields match anything.
struct LogSourceSpec {
  std::string product;
  std::string service;
  std::string category;

  bool Matches(const LogSource& event) const;
};

// Metadata of a Sigma rule or correlation rule, as alerts show it.
struct RuleInfo {
  std::string id;     // Sigma `id`; when absent, derived from the file and the title
  std::string name;   // Sigma `name`, may be empty
  std::string title;
  std::string description;
  std::string status;
  std::string author;
  Level level = Level::kMedium;
  std::vector<std::string> tags;  // "attack.t1609", "attack.execution", ...
  std::vector<std::string> references;
  std::vector<std::string> falsepositives;
  std::string file;  // where it was defined
  int line = 0;
};

struct DetectionRule {
  std::shared_ptr<const RuleInfo> info;
  LogSourceSpec logsource;
  // True when the rule raises alerts of its own: no correlation references it, or one that does
  // says `generate: true`.
  bool emits_alerts = true;
};

enum class CorrelationType : uint8_t { kEventCount, kValueCount, kTemporal, kTemporalOrdered };
std::string_view CorrelationTypeName(CorrelationType type);  // Sigma's spelling: "event_count"

// Sigma correlation conditions: a conjunction of gt, gte, lt, lte, eq, neq bounds.
struct CountCondition {
  std::optional<int64_t> gt, gte, lt, lte, eq, neq;

  bool Holds(int64_t count) const;
  std::string ToString() const;  // ">= 5", "> 100 and <= 200"
};

struct CorrelationRule {
  std::shared_ptr<const RuleInfo> info;
  CorrelationType type = CorrelationType::kEventCount;
  // Referenced detection rules (indices into RuleSet::detections), in the order written: the
  // order of steps for temporal_ordered.
  std::vector<uint32_t> rules;
  // Group-by names as written (field names or alias names).
  std::vector<std::string> group_by;
  // group_by_paths[k][g]: the field read for group-by name g in events of rules[k] (aliases
  // resolved).
  std::vector<std::vector<PathId>> group_by_paths;
  // value_count: the counted field's name and, per referenced rule, its path.
  std::string value_field;
  std::vector<PathId> value_paths;
  TimeNs timespan = 0;
  CountCondition condition;
  bool generate = false;
};

// Which correlation, and which of its steps, a detection rule feeds.
struct CorrelationUse {
  uint32_t correlation = 0;
  uint32_t step = 0;  // index into CorrelationRule::rules
};

// Matches events against all detection rules at once.
class Detector {
 public:
  virtual ~Detector() = default;

  // Per-thread matching state (scratch space). Not thread-safe; one per thread.
  class Worker {
   public:
    virtual ~Worker() = default;
    // Appends the indices of the detection rules that match `event`, ascending and unique.
    virtual void Match(const Event& event, std::vector<uint32_t>& matched) = 0;
  };

  virtual std::unique_ptr<Worker> NewWorker() const = 0;
};

struct RuleSet {
  std::shared_ptr<const FieldCatalog> catalog;
  std::vector<DetectionRule> detections;
  std::vector<CorrelationRule> correlations;
  std::unique_ptr<Detector> detector;
  // uses[r]: the correlation steps detection rule r feeds.
  std::vector<std::vector<CorrelationUse>> uses;

  // Fills `uses` and each detection rule's `emits_alerts` from the correlations.
  void Link();
};

}  // namespace tuttle
