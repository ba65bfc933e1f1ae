#pragma once
// HyperscanDetector: the tuttle::Detector that matches every detection rule of a rule set in one
// pass over an event's fields.
//
// Each field path that rules test has one block-mode Hyperscan database holding the patterns of
// all rules for that path (keywords have one more, scanned over the raw record). Scanning a
// value sets one bit per matching predicate; presence predicates (`|exists`, `null`) are set
// from the values seen, and value checks (numbers, CIDR, time parts) run on the values of their
// paths; field references compare two paths once all values are known. Only candidate rules are then evaluated, as short-circuiting programs
// over the bits.
//
// Candidates. Each rule has a trigger set: predicates of which at least one is set whenever the
// rule holds (in `sel and not filter`, those of `sel` only; of an AND, the child whose
// predicates the fewest rules share). A set trigger makes its rules candidates. Rules that hold
// with no predicate set (`not filter`) have no trigger set and are candidates for every event.
// A candidate whose log source does not match the event's is dropped before evaluation; the
// log source test runs once per distinct LogSourceSpec and event.
//
// Thread-safety: the detector is immutable; a Worker (scratch space, bitset, candidate list)
// belongs to one thread and must not outlive its detector. Match() allocates nothing once the
// caller's output vector has grown to its working size.

#include <hs.h>

#include <cstdint>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "predicate.h"
#include "tuttle/engine/result.h"
#include "tuttle/engine/rule_set.h"

namespace tuttle::rules {

struct HsDatabaseDeleter {
  void operator()(hs_database_t* db) const { hs_free_database(db); }
};
using HsDatabasePtr = std::unique_ptr<hs_database_t, HsDatabaseDeleter>;

struct HsScratchDeleter {
  void operator()(hs_scratch_t* s) const { hs_free_scratch(s); }
};
using HsScratchPtr = std::unique_ptr<hs_scratch_t, HsScratchDeleter>;

inline constexpr uint32_t kNoPredicate = UINT32_MAX;

// Everything the detector is built from. Predicate ids are dense: 0 .. predicate_count - 1.
struct DetectorSpec {
  struct Database {
    HsDatabasePtr db;
    // Hyperscan reports the pattern's index in the database; this maps it to its predicate.
    std::vector<uint32_t> predicates;
    // Per pattern: where a match must end to count (floating literals, see sigma_value.h).
    struct Check {
      Anchor anchor = Anchor::kNone;
      uint32_t literal_length = 0;
    };
    std::vector<Check> checks;
  };
  uint32_t predicate_count = 0;
  std::vector<Database> databases;
  // Indexed by PathId (size: the catalog's): the database of the path's values, or -1.
  std::vector<int32_t> path_database;
  // Indexed by PathId: the kPresent / kNonNull predicate of the path, or kNoPredicate.
  std::vector<uint32_t> path_present;
  std::vector<uint32_t> path_nonnull;
  int32_t raw_database = -1;  // keywords, over Event::raw
  // Tests of single values that Hyperscan cannot express (value_test.h).
  struct ValueCheck {
    PathId path = kNoPath;
    uint32_t predicate = 0;
    ValueTest test;
  };
  std::vector<ValueCheck> value_checks;
  // Field references: `path` against `other`, once the event's values are all known.
  struct FieldrefCheck {
    PathId path = kNoPath;
    PathId other = kNoPath;
    uint32_t predicate = 0;
    FieldRef ref;
  };
  std::vector<FieldrefCheck> fieldref_checks;
  // One per detection rule, in RuleSet order.
  std::vector<BoolExpr> rules;
  std::vector<LogSourceSpec> logsources;
};

class HyperscanDetector final : public Detector {
 public:
  // Fails only when Hyperscan cannot allocate scratch space.
  static Result<std::unique_ptr<HyperscanDetector>> Create(DetectorSpec spec);
  ~HyperscanDetector() override;

  std::unique_ptr<Worker> NewWorker() const override;
  void Costs(std::vector<RuleCost>& out) const override;

 private:
  class MatchWorker;
  // One worker's counts per rule. Written by its worker only (plain load and store, no atomic
  // read-modify-write on the hot path), read by Costs() from any thread.
  struct WorkerCosts {
    explicit WorkerCosts(size_t rules)
        : evaluations(new std::atomic<uint64_t>[rules]()), nanos(new std::atomic<uint64_t>[rules]()) {}
    std::unique_ptr<std::atomic<uint64_t>[]> evaluations;
    std::unique_ptr<std::atomic<uint64_t>[]> nanos;  // of the timed events only
  };
  // One node of a rule's program, in prefix order: a node is followed by its operands, and
  // `size` (the node and all its operands) lets AND and OR skip what they need not evaluate.
  struct Instr {
    enum class Op : uint8_t { kPredicate, kTrue, kFalse, kNot, kAnd, kOr };
    Op op;
    uint32_t arg;   // kPredicate: the predicate; kAnd, kOr: operand count
    uint32_t size;  // instructions in this subtree, itself included
  };
  struct PathEntry {
    int32_t database = -1;
    uint32_t present = kNoPredicate;
    uint32_t nonnull = kNoPredicate;
    // The path's value checks: spec_.value_checks[checks_begin, checks_end).
    uint32_t checks_begin = 0;
    uint32_t checks_end = 0;
  };

  HyperscanDetector() = default;
  static void Emit(const BoolExpr& e, std::vector<Instr>& code);
  template <class Test>
  static bool Evaluate(const Instr* ip, const Test& test);
  // Appends to `out` a trigger set of `e` (negated when `negated`), or returns false when it
  // can hold with no predicate set. `weight[p]`: how many rules use p.
  static bool Triggers(const BoolExpr& e, bool negated, const std::vector<uint32_t>& weight,
                       std::vector<uint32_t>& out);

  DetectorSpec spec_;
  std::vector<PathEntry> paths_;
  std::vector<Instr> code_;
  std::vector<uint32_t> code_begin_;  // rule r's program starts at code_[code_begin_[r]]
  // Predicate -> rules it triggers (CSR layout).
  std::vector<uint32_t> predicate_rules_begin_;
  std::vector<uint32_t> predicate_rules_;
  // Rules that hold when no predicate is set: candidates for every event.
  std::vector<uint32_t> always_candidates_;
  // Distinct log sources, and each rule's index into them.
  std::vector<LogSourceSpec> logsources_;
  std::vector<uint32_t> rule_logsource_;
  // The log sources of rules that use keywords: the raw record is scanned only when one matches.
  std::vector<uint32_t> keyword_logsources_;
  HsScratchPtr prototype_scratch_;
  // Every worker's counts; kept after the worker is gone, so totals never go down.
  mutable std::mutex costs_mu_;
  mutable std::vector<std::shared_ptr<WorkerCosts>> costs_;
};

}  // namespace tuttle::rules
