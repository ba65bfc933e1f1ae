#include "predicate.h"

#include <fmt/format.h>

namespace tuttle::rules {

std::string PredicateTable::Key(const Predicate& p) {
  std::string key = fmt::format("{}\x1f{}\x1f{}\x1f", static_cast<int>(p.kind), p.raw ? 1 : 0, p.path);
  switch (p.kind) {
    case PredicateKind::kPattern:
      key += fmt::format("{}\x1f{}\x1f{}\x1f{}", p.pattern.expression, p.pattern.flags,
                         static_cast<int>(p.pattern.anchor), p.pattern.literal_length);
      break;
    case PredicateKind::kValue:
      key += p.test.Key();
      break;
    case PredicateKind::kFieldref:
      key += fmt::format("{}\x1f{}\x1f{}", p.ref.other, static_cast<int>(p.ref.position),
                         p.ref.cased ? 1 : 0);
      break;
    case PredicateKind::kPresent:
    case PredicateKind::kNonNull:
      break;
  }
  return key;
}

uint32_t PredicateTable::Intern(Predicate p) {
  std::string key = Key(p);
  auto it = ids_.find(key);
  if (it != ids_.end()) return it->second;
  const auto id = static_cast<uint32_t>(predicates_.size());
  predicates_.push_back(std::move(p));
  ids_.emplace(std::move(key), id);
  return id;
}

BoolExpr BoolExpr::Pred(uint32_t id) {
  BoolExpr e;
  e.op = Op::kPredicate;
  e.predicate = id;
  return e;
}

BoolExpr BoolExpr::Const(bool value) {
  BoolExpr e;
  e.op = value ? Op::kTrue : Op::kFalse;
  return e;
}

BoolExpr BoolExpr::Not(BoolExpr inner) {
  if (inner.op == Op::kNot) return std::move(inner.children.front());
  if (inner.op == Op::kTrue) return Const(false);
  if (inner.op == Op::kFalse) return Const(true);
  BoolExpr e;
  e.op = Op::kNot;
  e.children.push_back(std::move(inner));
  return e;
}

BoolExpr BoolExpr::Nary(Op op, std::vector<BoolExpr> children) {
  BoolExpr e;
  e.op = op;
  for (BoolExpr& c : children) {
    if (c.op == op) {
      for (BoolExpr& g : c.children) e.children.push_back(std::move(g));
    } else {
      e.children.push_back(std::move(c));
    }
  }
  if (e.children.size() == 1) return std::move(e.children.front());
  // An empty AND is true, an empty OR false; the parser never builds either.
  if (e.children.empty()) return Const(op == Op::kAnd);
  return e;
}

void BoolExpr::CollectPredicates(std::vector<uint32_t>& out) const {
  if (op == Op::kPredicate) out.push_back(predicate);
  for (const BoolExpr& c : children) c.CollectPredicates(out);
}

void BoolExpr::Remap(const std::vector<uint32_t>& map) {
  if (op == Op::kPredicate) predicate = map[predicate];
  for (BoolExpr& c : children) c.Remap(map);
}

}  // namespace tuttle::rules
