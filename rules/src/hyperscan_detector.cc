#include "hyperscan_detector.h"

#include <algorithm>
#include <new>

namespace tuttle::rules {

template <class Test>
bool HyperscanDetector::Evaluate(const Instr* begin, const Instr* end, uint8_t* stack,
                                 Test&& test) {
  uint8_t* sp = stack;
  for (const Instr* ip = begin; ip != end; ++ip) {
    switch (ip->op) {
      case Instr::Op::kPredicate: *sp++ = test(ip->arg) ? 1 : 0; break;
      case Instr::Op::kTrue: *sp++ = 1; break;
      case Instr::Op::kFalse: *sp++ = 0; break;
      case Instr::Op::kNot: sp[-1] ^= 1; break;
      case Instr::Op::kAnd: {
        uint8_t v = 1;
        for (uint32_t i = 0; i < ip->arg; ++i) v &= *--sp;
        *sp++ = v;
        break;
      }
      case Instr::Op::kOr: {
        uint8_t v = 0;
        for (uint32_t i = 0; i < ip->arg; ++i) v |= *--sp;
        *sp++ = v;
        break;
      }
    }
  }
  return sp != stack && sp[-1] != 0;
}

class HyperscanDetector::MatchWorker final : public Detector::Worker {
 public:
  MatchWorker(const HyperscanDetector& d, HsScratchPtr scratch)
      : d_(d),
        scratch_(std::move(scratch)),
        bits_((d.spec_.predicate_count + 63) / 64, 0),
        stamps_(d.spec_.rules.size(), 0),
        stack_(d.max_stack_, 0) {
    set_predicates_.reserve(d.spec_.predicate_count);
    candidates_.reserve(d.spec_.rules.size());
  }

  void Match(const Event& event, std::vector<uint32_t>& matched) override {
    if (++epoch_ == 0) {  // stamps wrapped: forget them all once every 2^32 events
      std::fill(stamps_.begin(), stamps_.end(), 0);
      epoch_ = 1;
    }
    if (event.fields != nullptr) {
      for (const FieldValue& v : event.fields->values()) {
        if (v.path >= d_.paths_.size()) continue;
        const PathEntry& p = d_.paths_[v.path];
        if (p.present != kNoPredicate) Set(p.present);
        if (v.kind == ValueKind::kNull) continue;
        if (p.nonnull != kNoPredicate) Set(p.nonnull);
        if (p.database < 0 || v.kind == ValueKind::kObject || v.kind == ValueKind::kArray) continue;
        Scan(d_.spec_.databases[static_cast<size_t>(p.database)], v.text);
      }
    }
    if (d_.spec_.raw_database >= 0) {
      for (const LogSourceSpec& ls : d_.keyword_logsources_) {
        if (ls.Matches(event.log_source)) {
          Scan(d_.spec_.databases[static_cast<size_t>(d_.spec_.raw_database)], event.raw);
          break;
        }
      }
    }
    for (const uint32_t r : d_.always_candidates_) Candidate(r);
    std::sort(candidates_.begin(), candidates_.end());
    for (const uint32_t r : candidates_) {
      if (!d_.spec_.logsources[r].Matches(event.log_source)) continue;
      const Instr* code = d_.code_.data();
      if (Evaluate(code + d_.code_begin_[r], code + d_.code_begin_[r + 1], stack_.data(),
                   [this](uint32_t p) { return Test(p); })) {
        matched.push_back(r);
      }
    }
    // Clear only the words this event touched.
    for (const uint32_t p : set_predicates_) bits_[p >> 6] = 0;
    set_predicates_.clear();
    candidates_.clear();
  }

 private:
  bool Test(uint32_t p) const { return (bits_[p >> 6] >> (p & 63)) & 1; }

  void Set(uint32_t p) {
    uint64_t& word = bits_[p >> 6];
    const uint64_t mask = uint64_t{1} << (p & 63);
    if (word & mask) return;
    word |= mask;
    set_predicates_.push_back(p);
    for (uint32_t i = d_.predicate_rules_begin_[p]; i < d_.predicate_rules_begin_[p + 1]; ++i) {
      Candidate(d_.predicate_rules_[i]);
    }
  }

  void Candidate(uint32_t r) {
    if (stamps_[r] == epoch_) return;
    stamps_[r] = epoch_;
    candidates_.push_back(r);
  }

  struct ScanContext {
    MatchWorker* worker;
    const uint32_t* predicates;
    const DetectorSpec::Database::Check* checks;
    unsigned long long length;
  };

  static int OnMatch(unsigned int id, unsigned long long /*from*/, unsigned long long to,
                     unsigned int /*flags*/, void* context) {
    auto* c = static_cast<ScanContext*>(context);
    const DetectorSpec::Database::Check& check = c->checks[id];
    bool counts = true;
    switch (check.anchor) {
      case Anchor::kNone: break;
      case Anchor::kStart: counts = to == check.literal_length; break;
      case Anchor::kEnd: counts = to == c->length; break;
      case Anchor::kWhole: counts = to == c->length && to == check.literal_length; break;
    }
    if (counts) c->worker->Set(c->predicates[id]);
    return 0;  // continue: other patterns may match too
  }

  void Scan(const DetectorSpec::Database& db, std::string_view text) {
    // Hyperscan rejects a null pointer even for an empty buffer.
    static const char kEmpty[1] = {0};
    const char* data = text.empty() ? kEmpty : text.data();
    ScanContext context{this, db.predicates.data(), db.checks.data(), text.size()};
    // Only HS_SCAN_TERMINATED (never: OnMatch returns 0) or a broken scratch can fail; neither
    // depends on the input, so there is nothing to report per event.
    hs_scan(db.db.get(), data, static_cast<unsigned int>(text.size()), 0, scratch_.get(), OnMatch,
            &context);
  }

  const HyperscanDetector& d_;
  HsScratchPtr scratch_;
  std::vector<uint64_t> bits_;
  std::vector<uint32_t> set_predicates_;
  std::vector<uint32_t> stamps_;
  uint32_t epoch_ = 0;
  std::vector<uint32_t> candidates_;
  std::vector<uint8_t> stack_;
};

HyperscanDetector::~HyperscanDetector() = default;

size_t HyperscanDetector::Emit(const BoolExpr& e, std::vector<Instr>& code) {
  switch (e.op) {
    case BoolExpr::Op::kPredicate:
      code.push_back({Instr::Op::kPredicate, e.predicate});
      return 1;
    case BoolExpr::Op::kTrue:
      code.push_back({Instr::Op::kTrue, 0});
      return 1;
    case BoolExpr::Op::kFalse:
      code.push_back({Instr::Op::kFalse, 0});
      return 1;
    case BoolExpr::Op::kNot: {
      const size_t depth = Emit(e.children.front(), code);
      code.push_back({Instr::Op::kNot, 0});
      return depth;
    }
    case BoolExpr::Op::kAnd:
    case BoolExpr::Op::kOr: {
      // Operand i sits on i values pushed before it.
      size_t depth = 0;
      for (size_t i = 0; i < e.children.size(); ++i) {
        depth = std::max(depth, i + Emit(e.children[i], code));
      }
      code.push_back({e.op == BoolExpr::Op::kAnd ? Instr::Op::kAnd : Instr::Op::kOr,
                      static_cast<uint32_t>(e.children.size())});
      return std::max<size_t>(depth, 1);
    }
  }
  return 1;
}

Result<std::unique_ptr<HyperscanDetector>> HyperscanDetector::Create(DetectorSpec spec) {
  std::unique_ptr<HyperscanDetector> d(new HyperscanDetector());
  const size_t rule_count = spec.rules.size();

  d->paths_.resize(spec.path_database.size());
  for (size_t p = 0; p < d->paths_.size(); ++p) {
    d->paths_[p].database = spec.path_database[p];
    d->paths_[p].present = spec.path_present[p];
    d->paths_[p].nonnull = spec.path_nonnull[p];
  }

  // Programs, and which rules each predicate can make candidates.
  std::vector<std::vector<uint32_t>> users(spec.predicate_count);
  std::vector<uint32_t> used;
  d->code_begin_.push_back(0);
  for (uint32_t r = 0; r < rule_count; ++r) {
    d->max_stack_ = std::max(d->max_stack_, d->Emit(spec.rules[r], d->code_));
    d->code_begin_.push_back(static_cast<uint32_t>(d->code_.size()));
    used.clear();
    spec.rules[r].CollectPredicates(used);
    std::sort(used.begin(), used.end());
    used.erase(std::unique(used.begin(), used.end()), used.end());
    for (const uint32_t p : used) users[p].push_back(r);
  }
  d->predicate_rules_begin_.push_back(0);
  for (const auto& u : users) {
    d->predicate_rules_.insert(d->predicate_rules_.end(), u.begin(), u.end());
    d->predicate_rules_begin_.push_back(static_cast<uint32_t>(d->predicate_rules_.size()));
  }

  std::vector<uint8_t> stack(d->max_stack_);
  for (uint32_t r = 0; r < rule_count; ++r) {
    const Instr* code = d->code_.data();
    if (Evaluate(code + d->code_begin_[r], code + d->code_begin_[r + 1], stack.data(),
                 [](uint32_t) { return false; })) {
      d->always_candidates_.push_back(r);
    }
  }

  if (spec.raw_database >= 0) {
    std::vector<bool> keyword(spec.predicate_count, false);
    for (const uint32_t p : spec.databases[static_cast<size_t>(spec.raw_database)].predicates) {
      keyword[p] = true;
    }
    for (uint32_t r = 0; r < rule_count; ++r) {
      used.clear();
      spec.rules[r].CollectPredicates(used);
      const bool uses_keywords =
          std::any_of(used.begin(), used.end(), [&](uint32_t p) { return keyword[p]; });
      if (!uses_keywords) continue;
      const LogSourceSpec& ls = spec.logsources[r];
      const bool known = std::any_of(
          d->keyword_logsources_.begin(), d->keyword_logsources_.end(),
          [&](const LogSourceSpec& k) {
            return k.product == ls.product && k.service == ls.service && k.category == ls.category;
          });
      if (!known) d->keyword_logsources_.push_back(ls);
    }
  }

  hs_scratch_t* scratch = nullptr;
  for (const auto& db : spec.databases) {
    if (hs_alloc_scratch(db.db.get(), &scratch) != HS_SUCCESS) {
      hs_free_scratch(scratch);
      return Error("Hyperscan could not allocate scratch space");
    }
  }
  d->prototype_scratch_.reset(scratch);
  d->spec_ = std::move(spec);
  return d;
}

std::unique_ptr<Detector::Worker> HyperscanDetector::NewWorker() const {
  hs_scratch_t* scratch = nullptr;
  if (prototype_scratch_ != nullptr &&
      hs_clone_scratch(prototype_scratch_.get(), &scratch) != HS_SUCCESS) {
    // Cloning fails only when memory runs out, like operator new.
    throw std::bad_alloc();
  }
  return std::make_unique<MatchWorker>(*this, HsScratchPtr(scratch));
}

}  // namespace tuttle::rules
