#pragma once
// The intermediate form of detection rules: each rule is a boolean expression over predicates,
// and each predicate is one fact about an event that the detector can set as a bit while it
// walks the event's fields once:
//   kPattern: some value of a field (or the raw record, for keywords) matches a Hyperscan
//             pattern;
//   kPresent: the field has a value, of any kind (null included): `|exists`;
//   kNonNull: the field has a value that is not JSON null: `field: null` is its negation;
//   kValue:   some value of the field passes a ValueTest (numbers, CIDR, time parts);
//   kFieldref: some value of the field and some value of another field compare as FieldRef says.
// Predicates are interned, so rules that test the same thing share one bit and one pattern.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sigma_value.h"
#include "value_test.h"

namespace tuttle::rules {

enum class PredicateKind : uint8_t { kPattern, kPresent, kNonNull, kValue, kFieldref };

struct Predicate {
  PredicateKind kind = PredicateKind::kPattern;
  bool raw = false;   // keywords: the pattern runs over the whole raw record
  std::string path;   // the field (dotted path), when !raw
  HsPattern pattern;  // kPattern
  ValueTest test;     // kValue
  FieldRef ref;       // kFieldref
};

class PredicateTable {
 public:
  // Returns the id of `p`, adding it if new.
  uint32_t Intern(Predicate p);
  const Predicate& at(uint32_t id) const { return predicates_[id]; }
  size_t size() const { return predicates_.size(); }

 private:
  static std::string Key(const Predicate& p);

  std::vector<Predicate> predicates_;
  std::unordered_map<std::string, uint32_t> ids_;
};

// A boolean expression over predicate ids.
struct BoolExpr {
  enum class Op : uint8_t { kPredicate, kAnd, kOr, kNot, kTrue, kFalse };
  Op op = Op::kFalse;
  uint32_t predicate = 0;  // kPredicate
  std::vector<BoolExpr> children;

  static BoolExpr Pred(uint32_t id);
  static BoolExpr Const(bool value);
  static BoolExpr Not(BoolExpr e);
  // n-ary; nested nodes of the same operator are flattened, a single child is returned as is.
  static BoolExpr Nary(Op op, std::vector<BoolExpr> children);

  void CollectPredicates(std::vector<uint32_t>& out) const;
  // Rewrites predicate ids through `map` (old id -> new id).
  void Remap(const std::vector<uint32_t>& map);
};

}  // namespace tuttle::rules
