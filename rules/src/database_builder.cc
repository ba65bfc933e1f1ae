#include "database_builder.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <system_error>
#include <thread>

namespace tuttle::rules {

Result<size_t> DatabaseBuilder::Build() {
  size_t dropped = 0;
  while (true) {
    std::vector<bool> used(predicates_.size(), false);
    std::vector<uint32_t> ids;
    for (size_t r = 0; r < rules_.size(); ++r) {
      if (!alive_[r]) continue;
      ids.clear();
      rules_[r].expr.CollectPredicates(ids);
      for (const uint32_t id : ids) used[id] = true;
    }
    std::map<Target, std::vector<uint32_t>> wanted;
    for (uint32_t id = 0; id < predicates_.size(); ++id) {
      const Predicate& p = predicates_.at(id);
      if (used[id] && p.kind == PredicateKind::kPattern) {
        wanted[Target{p.raw, p.raw ? std::string() : p.path}].push_back(id);
      }
    }
    // Forget databases of targets no rule uses any more.
    for (auto it = groups_.begin(); it != groups_.end();) {
      it = wanted.count(it->first) != 0 ? std::next(it) : groups_.erase(it);
    }
    std::vector<Job> jobs;
    for (auto& [target, predicates] : wanted) {
      auto [it, inserted] = groups_.try_emplace(target);
      Group& g = it->second;
      if (g.db != nullptr && g.predicates == predicates) continue;
      g.db.reset();
      g.predicates = std::move(predicates);
      Job& job = jobs.emplace_back();
      job.target = &it->first;
      job.group = &g;
    }
    CompileAll(jobs);
    bool refused = false;
    for (const Job& job : jobs) {  // in target order, so diagnostics are deterministic
      if (job.failed && job.refused < 0) {
        return Error(fmt::format(
            "Hyperscan cannot compile the patterns of {}: {}",
            job.target->raw ? std::string("keywords") : fmt::format("field '{}'", job.target->path),
            job.message));
      }
      if (job.failed) {
        const size_t n =
            DropRulesUsing(job.group->predicates[static_cast<size_t>(job.refused)], job.message);
        // A refused pattern belongs to a live rule; should none be found, stop rather than loop.
        if (n == 0) return Error("Hyperscan refused a pattern no rule uses: " + job.message);
        dropped += n;
        refused = true;
      }
    }
    if (!refused) return dropped;
  }
}

void DatabaseBuilder::CompileAll(std::vector<Job>& jobs) const {
  unsigned threads = threads_ != 0 ? threads_ : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min<unsigned>(threads, static_cast<unsigned>(jobs.size()));
  if (threads <= 1) {
    for (Job& job : jobs) Compile(job);
    return;
  }
  // Biggest first, so a large database does not start last and hold up the others.
  std::vector<Job*> order;
  for (Job& job : jobs) order.push_back(&job);
  std::stable_sort(order.begin(), order.end(), [](const Job* a, const Job* b) {
    return a->group->predicates.size() > b->group->predicates.size();
  });
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < order.size(); i = next++) Compile(*order[i]);
  };
  std::vector<std::thread> pool;
  try {
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  } catch (const std::system_error&) {
    // No more threads to be had: the ones started, and this one, do the work.
  }
  work();
  for (std::thread& t : pool) t.join();
}

void DatabaseBuilder::Compile(Job& job) const {
  const std::vector<uint32_t>& predicates = job.group->predicates;
  std::vector<const char*> expressions;
  std::vector<unsigned int> flags, ids;
  expressions.reserve(predicates.size());
  flags.reserve(predicates.size());
  ids.reserve(predicates.size());
  for (size_t i = 0; i < predicates.size(); ++i) {
    const HsPattern& p = predicates_.at(predicates[i]).pattern;
    expressions.push_back(p.expression.c_str());
    flags.push_back(p.flags);
    ids.push_back(static_cast<unsigned int>(i));
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_compile_multi(expressions.data(), flags.data(), ids.data(),
                       static_cast<unsigned int>(expressions.size()), HS_MODE_BLOCK, nullptr, &db,
                       &error) == HS_SUCCESS) {
    job.group->db.reset(db);
    return;
  }
  job.failed = true;
  job.message = error != nullptr ? error->message : "unknown error";
  const int index = error != nullptr ? error->expression : -1;
  if (index >= 0 && static_cast<size_t>(index) < predicates.size()) job.refused = index;
  hs_free_compile_error(error);
}

size_t DatabaseBuilder::DropRulesUsing(uint32_t predicate, const std::string& message) {
  size_t dropped = 0;
  for (size_t r = 0; r < rules_.size(); ++r) {
    if (!alive_[r]) continue;
    for (const auto& [id, where] : rules_[r].pattern_sites) {
      if (id != predicate) continue;
      diagnostics_.push_back(Diagnostic{rules_[r].info->file, where.line, where.column,
                                        Diagnostic::Severity::kError,
                                        "pattern refused by Hyperscan: " + message,
                                        "simplify the value or the regular expression"});
      alive_[r] = false;
      ++dropped;
      break;
    }
  }
  return dropped;
}

}  // namespace tuttle::rules
