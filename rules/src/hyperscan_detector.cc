#include "hyperscan_detector.h"

#include <algorithm>
#include <chrono>
#include <cassert>
#include <new>

namespace tuttle::rules {

template <class Test>
bool HyperscanDetector::Evaluate(const Instr* ip, const Test& test) {
  switch (ip->op) {
    case Instr::Op::kPredicate:
      return test(ip->arg);
    case Instr::Op::kTrue:
      return true;
    case Instr::Op::kFalse:
      return false;
    case Instr::Op::kNot:
      return !Evaluate(ip + 1, test);
    case Instr::Op::kAnd:
    case Instr::Op::kOr: {
      // AND stops at the first false operand, OR at the first true one.
      const bool stop_on = ip->op == Instr::Op::kOr;
      const Instr* operand = ip + 1;
      for (uint32_t i = 0; i < ip->arg; ++i) {
        if (Evaluate(operand, test) == stop_on) return stop_on;
        operand += operand->size;
      }
      return !stop_on;
    }
  }
  return false;
}

// Per-rule cost: the evaluations of one event in this many are timed (a power of two).
constexpr uint32_t kTimedEvery = 64;

class HyperscanDetector::MatchWorker final : public Detector::Worker {
 public:
  MatchWorker(const HyperscanDetector& d, HsScratchPtr scratch,
              std::shared_ptr<WorkerCosts> costs)
      : d_(d),
        scratch_(std::move(scratch)),
        costs_(std::move(costs)),
        bits_((d.spec_.predicate_count + 63) / 64, 0),
        stamps_(d.spec_.rules.size(), 0),
        logsource_stamps_(d.logsources_.size(), 0),
        logsource_ok_(d.logsources_.size(), 0) {
    set_predicates_.reserve(d.spec_.predicate_count);
    candidates_.reserve(d.spec_.rules.size());
  }

  void Match(const Event& event, std::vector<uint32_t>& matched) override {
    if (++epoch_ == 0) {  // stamps wrapped: forget them all once every 2^32 events
      std::fill(stamps_.begin(), stamps_.end(), 0);
      std::fill(logsource_stamps_.begin(), logsource_stamps_.end(), 0);
      epoch_ = 1;
    }
    event_ = &event;
    if (event.fields != nullptr) {
      for (const FieldValue& v : event.fields->values()) {
        if (v.path >= d_.paths_.size()) continue;
        const PathEntry& p = d_.paths_[v.path];
        if (p.present != kNoPredicate) Set(p.present);
        if (v.kind == ValueKind::kNull) continue;
        if (p.nonnull != kNoPredicate) Set(p.nonnull);
        if (v.kind == ValueKind::kObject || v.kind == ValueKind::kArray) continue;
        if (p.database >= 0) Scan(d_.spec_.databases[static_cast<size_t>(p.database)], v.text);
        ValueMemo memo;
        for (uint32_t c = p.checks_begin; c < p.checks_end; ++c) {
          const DetectorSpec::ValueCheck& check = d_.spec_.value_checks[c];
          if (check.test.Test(v.kind, v.text, memo)) Set(check.predicate);
        }
      }
      for (const DetectorSpec::FieldrefCheck& check : d_.spec_.fieldref_checks) {
        if (FieldrefHolds(*event.fields, check)) Set(check.predicate);
      }
    }
    if (d_.spec_.raw_database >= 0) {
      for (const uint32_t ls : d_.keyword_logsources_) {
        if (LogSourceMatches(ls)) {
          Scan(d_.spec_.databases[static_cast<size_t>(d_.spec_.raw_database)], event.raw);
          break;
        }
      }
    }
    for (const uint32_t r : d_.always_candidates_) Candidate(r);
    std::sort(candidates_.begin(), candidates_.end());
    const auto test = [this](uint32_t p) { return Test(p); };
    // One event in kTimedEvery has its evaluations timed, for the per-rule cost.
    const bool timed = (epoch_ & (kTimedEvery - 1)) == 0;
    for (const uint32_t r : candidates_) {
      std::atomic<uint64_t>& n = costs_->evaluations[r];
      n.store(n.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      if (!timed) {
        if (Evaluate(d_.code_.data() + d_.code_begin_[r], test)) matched.push_back(r);
        continue;
      }
      const auto start = std::chrono::steady_clock::now();
      const bool holds = Evaluate(d_.code_.data() + d_.code_begin_[r], test);
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
      std::atomic<uint64_t>& t = costs_->nanos[r];
      t.store(t.load(std::memory_order_relaxed) + static_cast<uint64_t>(ns),
              std::memory_order_relaxed);
      if (holds) matched.push_back(r);
    }
    // Clear only the words this event touched.
    for (const uint32_t p : set_predicates_) bits_[p >> 6] = 0;
    set_predicates_.clear();
    candidates_.clear();
    event_ = nullptr;
  }

 private:
  bool Test(uint32_t p) const { return (bits_[p >> 6] >> (p & 63)) & 1; }

  static bool IsScalar(ValueKind k) {
    return k == ValueKind::kString || k == ValueKind::kNumber || k == ValueKind::kBool;
  }

  // Some scalar value of check.path and some scalar value of check.other compare as check.ref.
  static bool FieldrefHolds(const FieldTable& fields, const DetectorSpec::FieldrefCheck& check) {
    const auto values = fields.values();
    for (const FieldValue& a : values) {
      if (a.path != check.path || !IsScalar(a.kind)) continue;
      for (const FieldValue& b : values) {
        if (b.path == check.other && IsScalar(b.kind) && check.ref.Test(a.text, b.text)) {
          return true;
        }
      }
    }
    return false;
  }

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
    if (LogSourceMatches(d_.rule_logsource_[r])) candidates_.push_back(r);
  }

  // LogSourceSpec::Matches, once per distinct spec and event.
  bool LogSourceMatches(uint32_t ls) {
    if (logsource_stamps_[ls] != epoch_) {
      logsource_stamps_[ls] = epoch_;
      logsource_ok_[ls] = d_.logsources_[ls].Matches(event_->log_source) ? 1 : 0;
    }
    return logsource_ok_[ls] != 0;
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
      case Anchor::kNone:
        break;
      case Anchor::kStart:
        counts = to == check.literal_length;
        break;
      case Anchor::kEnd:
        counts = to == c->length;
        break;
      case Anchor::kWhole:
        counts = to == c->length && to == check.literal_length;
        break;
    }
    if (counts) c->worker->Set(c->predicates[id]);
    return 0;  // continue: other patterns may match too
  }

  void Scan(const DetectorSpec::Database& db, std::string_view text) {
    // Hyperscan rejects a null pointer even for an empty buffer.
    static const char kEmpty[1] = {0};
    const char* data = text.empty() ? kEmpty : text.data();
    ScanContext context{this, db.predicates.data(), db.checks.data(), text.size()};
    // Only HS_SCAN_TERMINATED (never: OnMatch returns 0) or a misused scratch (a worker shared
    // between threads) can fail; neither depends on the input.
    [[maybe_unused]] const hs_error_t rc =
        hs_scan(db.db.get(), data, static_cast<unsigned int>(text.size()), 0, scratch_.get(),
                OnMatch, &context);
    assert(rc == HS_SUCCESS);
  }

  const HyperscanDetector& d_;
  HsScratchPtr scratch_;
  std::shared_ptr<WorkerCosts> costs_;
  const Event* event_ = nullptr;  // during Match()
  std::vector<uint64_t> bits_;
  std::vector<uint32_t> set_predicates_;
  std::vector<uint32_t> stamps_;
  uint32_t epoch_ = 0;
  std::vector<uint32_t> logsource_stamps_;
  std::vector<uint8_t> logsource_ok_;
  std::vector<uint32_t> candidates_;
};

HyperscanDetector::~HyperscanDetector() = default;

void HyperscanDetector::Emit(const BoolExpr& e, std::vector<Instr>& code) {
  const size_t at = code.size();
  code.push_back({Instr::Op::kFalse, 0, 1});
  Instr::Op op = Instr::Op::kFalse;
  uint32_t arg = 0;
  switch (e.op) {
    case BoolExpr::Op::kPredicate:
      op = Instr::Op::kPredicate;
      arg = e.predicate;
      break;
    case BoolExpr::Op::kTrue:
      op = Instr::Op::kTrue;
      break;
    case BoolExpr::Op::kFalse:
      op = Instr::Op::kFalse;
      break;
    case BoolExpr::Op::kNot:
      op = Instr::Op::kNot;
      break;
    case BoolExpr::Op::kAnd:
      op = Instr::Op::kAnd;
      break;
    case BoolExpr::Op::kOr:
      op = Instr::Op::kOr;
      break;
  }
  if (op == Instr::Op::kAnd || op == Instr::Op::kOr) arg = static_cast<uint32_t>(e.children.size());
  for (const BoolExpr& c : e.children) Emit(c, code);
  code[at] = Instr{op, arg, static_cast<uint32_t>(code.size() - at)};
}

bool HyperscanDetector::Triggers(const BoolExpr& e, bool negated,
                                 const std::vector<uint32_t>& weight, std::vector<uint32_t>& out) {
  switch (e.op) {
    case BoolExpr::Op::kPredicate:
      if (negated) return false;  // `not p` holds when nothing is set
      out.push_back(e.predicate);
      return true;
    case BoolExpr::Op::kTrue:
    case BoolExpr::Op::kFalse:
      // Never true: the empty set. Always true: none.
      return (e.op == BoolExpr::Op::kFalse) != negated;
    case BoolExpr::Op::kNot:
      return Triggers(e.children.front(), !negated, weight, out);
    case BoolExpr::Op::kAnd:
    case BoolExpr::Op::kOr:
      break;
  }
  // De Morgan: a negated AND is an OR of negations, and the other way round.
  if ((e.op == BoolExpr::Op::kAnd) != negated) {
    // Every operand must hold: the triggers of one operand do, the lightest one.
    std::vector<uint32_t> best, candidate;
    uint64_t best_weight = UINT64_MAX;
    for (const BoolExpr& c : e.children) {
      candidate.clear();
      if (!Triggers(c, negated, weight, candidate)) continue;
      uint64_t w = 0;
      for (const uint32_t p : candidate) w += weight[p];
      if (w < best_weight) {
        best_weight = w;
        best.swap(candidate);
      }
    }
    if (best_weight == UINT64_MAX) return false;
    out.insert(out.end(), best.begin(), best.end());
    return true;
  }
  // Some operand must hold: each one needs its triggers.
  for (const BoolExpr& c : e.children) {
    if (!Triggers(c, negated, weight, out)) return false;
  }
  return true;
}

Result<std::unique_ptr<HyperscanDetector>> HyperscanDetector::Create(DetectorSpec spec) {
  std::unique_ptr<HyperscanDetector> d(new HyperscanDetector());
  const auto rule_count = static_cast<uint32_t>(spec.rules.size());

  d->paths_.resize(spec.path_database.size());
  for (size_t p = 0; p < d->paths_.size(); ++p) {
    d->paths_[p].database = spec.path_database[p];
    d->paths_[p].present = spec.path_present[p];
    d->paths_[p].nonnull = spec.path_nonnull[p];
  }
  // Value checks, grouped by path.
  std::stable_sort(spec.value_checks.begin(), spec.value_checks.end(),
                   [](const auto& a, const auto& b) { return a.path < b.path; });
  for (uint32_t c = 0; c < spec.value_checks.size(); ++c) {
    const PathId path = spec.value_checks[c].path;
    if (path >= d->paths_.size()) d->paths_.resize(path + 1);
    PathEntry& entry = d->paths_[path];
    if (entry.checks_begin == entry.checks_end) entry.checks_begin = c;
    entry.checks_end = c + 1;
  }

  // Distinct log sources.
  for (const LogSourceSpec& ls : spec.logsources) {
    const auto same = [&](const LogSourceSpec& k) {
      return k.product == ls.product && k.service == ls.service && k.category == ls.category;
    };
    auto it = std::find_if(d->logsources_.begin(), d->logsources_.end(), same);
    d->rule_logsource_.push_back(static_cast<uint32_t>(it - d->logsources_.begin()));
    if (it == d->logsources_.end()) d->logsources_.push_back(ls);
  }

  // Programs, and how many rules use each predicate (the weight of a trigger).
  std::vector<uint32_t> weight(spec.predicate_count, 0);
  std::vector<uint32_t> used;
  for (uint32_t r = 0; r < rule_count; ++r) {
    d->code_begin_.push_back(static_cast<uint32_t>(d->code_.size()));
    Emit(spec.rules[r], d->code_);
    used.clear();
    spec.rules[r].CollectPredicates(used);
    std::sort(used.begin(), used.end());
    used.erase(std::unique(used.begin(), used.end()), used.end());
    for (const uint32_t p : used) ++weight[p];
  }

  // Triggers.
  std::vector<std::vector<uint32_t>> triggered(spec.predicate_count);
  const auto nothing_set = [](uint32_t) { return false; };
  for (uint32_t r = 0; r < rule_count; ++r) {
    if (Evaluate(d->code_.data() + d->code_begin_[r], nothing_set)) {
      d->always_candidates_.push_back(r);
      continue;
    }
    used.clear();
    if (!Triggers(spec.rules[r], false, weight, used)) {
      // Cannot happen for a rule false with nothing set; all its predicates are a safe answer.
      used.clear();
      spec.rules[r].CollectPredicates(used);
    }
    std::sort(used.begin(), used.end());
    used.erase(std::unique(used.begin(), used.end()), used.end());
    for (const uint32_t p : used) triggered[p].push_back(r);
  }
  d->predicate_rules_begin_.push_back(0);
  for (const auto& rules : triggered) {
    d->predicate_rules_.insert(d->predicate_rules_.end(), rules.begin(), rules.end());
    d->predicate_rules_begin_.push_back(static_cast<uint32_t>(d->predicate_rules_.size()));
  }

  if (spec.raw_database >= 0) {
    std::vector<bool> keyword(spec.predicate_count, false);
    for (const uint32_t p : spec.databases[static_cast<size_t>(spec.raw_database)].predicates) {
      keyword[p] = true;
    }
    for (uint32_t r = 0; r < rule_count; ++r) {
      used.clear();
      spec.rules[r].CollectPredicates(used);
      if (std::none_of(used.begin(), used.end(), [&](uint32_t p) { return keyword[p]; })) continue;
      const uint32_t ls = d->rule_logsource_[r];
      if (std::find(d->keyword_logsources_.begin(), d->keyword_logsources_.end(), ls) ==
          d->keyword_logsources_.end()) {
        d->keyword_logsources_.push_back(ls);
      }
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
  auto costs = std::make_shared<WorkerCosts>(spec_.rules.size());
  {
    std::lock_guard<std::mutex> lock(costs_mu_);
    costs_.push_back(costs);
  }
  return std::make_unique<MatchWorker>(*this, HsScratchPtr(scratch), std::move(costs));
}

void HyperscanDetector::Costs(std::vector<RuleCost>& out) const {
  out.assign(spec_.rules.size(), RuleCost{});
  std::lock_guard<std::mutex> lock(costs_mu_);
  for (const auto& c : costs_) {
    for (size_t r = 0; r < out.size(); ++r) {
      out[r].evaluations += c->evaluations[r].load(std::memory_order_relaxed);
      out[r].seconds += static_cast<double>(c->nanos[r].load(std::memory_order_relaxed)) * 1e-9;
    }
  }
  // Only one event in kTimedEvery was timed.
  for (RuleCost& c : out) c.seconds *= kTimedEvery;
}

}  // namespace tuttle::rules
