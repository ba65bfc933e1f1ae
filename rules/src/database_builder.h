#pragma once
// DatabaseBuilder: compiles the Hyperscan databases of a rule set, one per field path plus one
// for keywords, from the pattern predicates of the live detection rules.
//
// A pattern Hyperscan refuses takes down the rules that use it, each with a located error, and
// the databases are rebuilt without them; databases whose pattern sets did not change are kept.
// Databases compile in parallel, on up to `threads` threads.

#include <map>
#include <string>
#include <vector>

#include "hyperscan_detector.h"
#include "predicate.h"
#include "sigma_parser.h"
#include "tuttle/engine/diagnostic.h"
#include "tuttle/engine/result.h"

namespace tuttle::rules {

class DatabaseBuilder {
 public:
  struct Target {
    bool raw = false;  // keywords, over the raw record
    std::string path;  // the field, when !raw
    friend auto operator<=>(const Target&, const Target&) = default;
  };
  struct Group {
    std::vector<uint32_t> predicates;  // PredicateTable ids, ascending; pattern i is predicates[i]
    HsDatabasePtr db;
  };

  // `alive` (one per rule) is updated as rules are dropped.
  DatabaseBuilder(const PredicateTable& predicates, const std::vector<ParsedDetection>& rules,
                  std::vector<bool>& alive, Diagnostics& diagnostics, unsigned threads)
      : predicates_(predicates),
        rules_(rules),
        alive_(alive),
        diagnostics_(diagnostics),
        threads_(threads) {}

  // Returns the number of rules dropped, or an Error when Hyperscan fails as a whole (out of
  // memory, or an error it does not pin on one pattern).
  Result<size_t> Build();

  // The databases, by target, once Build() succeeded.
  std::map<Target, Group>& groups() { return groups_; }

 private:
  struct Job {
    const Target* target = nullptr;
    Group* group = nullptr;
    int refused = -1;  // the index of the pattern Hyperscan refused, or -1
    bool failed = false;
    std::string message;
  };

  void Compile(Job& job) const;
  void CompileAll(std::vector<Job>& jobs) const;
  size_t DropRulesUsing(uint32_t predicate, const std::string& message);

  const PredicateTable& predicates_;
  const std::vector<ParsedDetection>& rules_;
  std::vector<bool>& alive_;
  Diagnostics& diagnostics_;
  unsigned threads_;
  std::map<Target, Group> groups_;
};

}  // namespace tuttle::rules
