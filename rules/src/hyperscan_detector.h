#pragma once
// HyperscanDetector: the tuttle::Detector that matches every detection rule of a rule set in one
// pass over an event's fields.
//
// Each field path that rules test has one block-mode Hyperscan database holding the patterns of
// all rules for that path (keywords have one more, scanned over the raw record). Scanning a
// value sets one bit per matching predicate; presence predicates (`|exists`, `null`) are set
// from the values seen. Only candidate rules are then evaluated, as small postfix programs over
// the bits: rules with at least one predicate set, plus the rules that hold when none is (such
// as `not filter`), found once at construction.
//
// Thread-safety: the detector is immutable; a Worker (scratch space, bitset, candidate list)
// belongs to one thread and must not outlive its detector. Match() allocates nothing once the
// caller's output vector has grown to its working size.

#include <hs.h>

#include <cstdint>
#include <memory>
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

 private:
  class MatchWorker;
  // One step of a rule's postfix program.
  struct Instr {
    enum class Op : uint8_t { kPredicate, kTrue, kFalse, kNot, kAnd, kOr };
    Op op;
    uint32_t arg;  // kPredicate: the predicate; kAnd, kOr: operand count
  };
  struct PathEntry {
    int32_t database = -1;
    uint32_t present = kNoPredicate;
    uint32_t nonnull = kNoPredicate;
  };

  HyperscanDetector() = default;
  // Appends `e` in postfix form; returns the stack depth it needs.
  size_t Emit(const BoolExpr& e, std::vector<Instr>& code);
  template <class Test>
  static bool Evaluate(const Instr* begin, const Instr* end, uint8_t* stack, Test&& test);

  DetectorSpec spec_;
  std::vector<PathEntry> paths_;
  std::vector<Instr> code_;
  std::vector<uint32_t> code_begin_;  // rule r's program: code_[code_begin_[r], code_begin_[r+1])
  size_t max_stack_ = 1;
  // Predicate -> rules that test it (CSR layout).
  std::vector<uint32_t> predicate_rules_begin_;
  std::vector<uint32_t> predicate_rules_;
  // Rules that hold when no predicate is set: candidates for every event.
  std::vector<uint32_t> always_candidates_;
  // The log sources of rules that use keywords: the raw record is scanned only when one matches.
  std::vector<LogSourceSpec> keyword_logsources_;
  HsScratchPtr prototype_scratch_;
};

}  // namespace tuttle::rules
