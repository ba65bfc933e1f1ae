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

enum class CorrelationType : uint8_t {
  kEventCount,
  kValueCount,
  kTemporal,
  kTemporalOrdered,
  kValueSum,
  kValueAvg,
  kValuePercentile,
};
std::string_view CorrelationTypeName(CorrelationType type);  // Sigma's spelling: "event_count"
// value_sum, value_avg, value_percentile: the condition compares a number computed from the
// numeric values of `condition.field`.
bool IsMetricType(CorrelationType type);

// Sigma correlation conditions: a conjunction of gt, gte, lt, lte, eq, neq bounds on the
// correlation's measure (a count, or for the metric types a sum, average or percentile).
// Count types take integer bounds; metric types may use decimals.
struct CountCondition {
  std::optional<double> gt, gte, lt, lte, eq, neq;

  bool Holds(double measure) const;
  // True when some bound is set.
  bool Any() const { return gt || gte || lt || lte || eq || neq; }
  // True when only lower bounds (gt, gte) are set: a measure that only grows as signals are added
  // can be checked on each signal. Upper bounds (lt, lte, eq, neq) need the whole window.
  bool LowerBoundsOnly() const { return (gt || gte) && !lt && !lte && !eq && !neq; }
  std::string ToString() const;  // ">= 5", "> 100 and <= 200"
};

// A boolean condition over the steps of a temporal correlation (pySigma's extended condition,
// `a and b and not c`). Leaves are step indices.
struct StepExpr {
  enum class Op : uint8_t { kStep, kAnd, kOr, kNot };
  Op op = Op::kStep;
  uint32_t step = 0;  // kStep
  std::vector<StepExpr> children;

  // `present[k]`: step k occurs in the window.
  bool Holds(const std::vector<bool>& present) const;
  // True when the expression has no `not`: then it can only become true as signals are added.
  bool Monotone() const;
};

// What a step of a correlation reads: a detection rule's matches, or (in a chain) the alerts of
// another correlation rule.
enum class StepKind : uint8_t { kDetection, kCorrelation };

struct CorrelationRule {
  std::shared_ptr<const RuleInfo> info;
  CorrelationType type = CorrelationType::kEventCount;
  // Referenced rules, in the order written: the order of steps for temporal_ordered. rules[k]
  // indexes RuleSet::detections, or RuleSet::correlations when step_kinds[k] is kCorrelation.
  std::vector<uint32_t> rules;
  // Parallel to `rules`; empty means every step is a detection rule.
  std::vector<StepKind> step_kinds;
  // Group-by names as written (field names or alias names).
  std::vector<std::string> group_by;
  // group_by_paths[k][g]: what group-by name g reads in the signals of step k (aliases
  // resolved): a field path for a detection step; for a correlation step, the index of the inner
  // correlation's group-by name whose value its alerts carry.
  std::vector<std::vector<PathId>> group_by_paths;
  // Per group-by name, the entity its values are (AssignGroupEntityRoles, group_entities.h);
  // empty or kNone: not an entity. Alerts of the rule carry these values as their entities.
  std::vector<EntityRole> group_roles;
  // Value types: the field named by `condition.field` and, per step, its path (or, for a
  // correlation step, the index into the inner correlation's group-by names).
  std::string value_field;
  std::vector<PathId> value_paths;
  TimeNs timespan = 0;
  CountCondition condition;
  // value_percentile: which percentile of the values the condition compares, 0 to 100.
  double percentile = 50;
  // temporal: pySigma's boolean condition over the steps, when written (`condition: a and not
  // b`); condition_text keeps it as written for alerts.
  std::optional<StepExpr> step_condition;
  std::string condition_text;
  // temporal_ordered, Tuttle extension `tuttle: {absent: [...]}`: absent[k] is true when step k
  // must NOT occur at its place in the sequence. Empty: every step must occur.
  std::vector<bool> absent;
  // Tuttle extension `tuttle: {suppress: 15m}`: after an alert of a group, later alerts of that
  // group whose event time is at most this much later are not emitted but counted into the next
  // emitted alert. 0: no suppression.
  TimeNs suppress = 0;
  bool generate = false;
  // Filled by RuleSet::Link(): whether alerts of this correlation reach the sinks (false when a
  // correlation references it without `generate: true`), and its depth in chains (0 when every
  // step is a detection rule, else 1 + the deepest referenced correlation).
  bool emits_alerts = true;
  uint32_t level = 0;

  bool StepIsCorrelation(size_t k) const {
    return k < step_kinds.size() && step_kinds[k] == StepKind::kCorrelation;
  }
  bool HasAbsentSteps() const;
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

  // What matching each detection rule has cost, summed over every worker made so far: how often
  // its condition was evaluated (an event made it a candidate), and the seconds spent on that,
  // estimated by timing every 64th event's evaluations. For `tuttle_rule_*` metrics; may run
  // concurrently with Match() (values are read relaxed: a scrape may miss the latest events).
  struct RuleCost {
    uint64_t evaluations = 0;
    double seconds = 0;
  };
  // Fills `out` (one entry per detection rule), or leaves it empty when the detector does not
  // count.
  virtual void Costs(std::vector<RuleCost>& out) const { out.clear(); }
};

struct RuleSet {
  std::shared_ptr<const FieldCatalog> catalog;
  std::vector<DetectionRule> detections;
  std::vector<CorrelationRule> correlations;
  std::unique_ptr<Detector> detector;
  // uses[r]: the correlation steps detection rule r feeds.
  std::vector<std::vector<CorrelationUse>> uses;
  // correlation_uses[c]: the correlation steps the alerts of correlation c feed (chains).
  std::vector<std::vector<CorrelationUse>> correlation_uses;

  // Fills `uses`, `correlation_uses`, each rule's `emits_alerts` and each correlation's `level`
  // from the correlations.
  // REQUIRES: a correlation step references only correlations with a smaller index (the rules
  // library orders them so; a cycle is an error there).
  void Link();
};

// What a correlation rule counts and when it fires, as text: its type, its steps (the ids of
// the rules they reference), group-by names and the fields they read, value field, timespan,
// conditions, absent steps, suppression and generate. Equal fingerprints mean the rule's windows
// mean the same under either rule set, so a hot reload keeps them (Pipeline, RuleSwitch);
// title, level, tags and the referenced rules' own detection logic are not part of it.
std::string CorrelationFingerprint(const RuleSet& rules, uint32_t correlation);

}  // namespace tuttle
