#pragma once
// ContractSet: data contracts for what functions and containers write (docs/contracts.md). Each
// contract selects records by what their event names (function name, format, workload,
// namespace) and checks one part of the record (`path`, default the whole record) against a
// schema written in a subset of JSON Schema: type, required, properties, additionalProperties,
// enum, const, minimum/maximum (and exclusive), minLength/maxLength, pattern, items,
// minItems/maxItems.
//
// A Checker finds the first contract that applies to an event (in file order) and lists the
// violations of its record, each naming the field and the keyword broken:
//   "json.amount: 12000 is above the maximum 10000"
//   "json.currency: \"GBP\" is not one of [EUR, USD]"
//   "json.order_id: required field missing"
// Records no contract selects cost one pass over the selectors; only selected records are read
// again (a simdjson DOM parse of the record). Patterns run in Hyperscan: no backtracking, so no
// input can make a check slow.
//
// Thread-safety: a ContractSet is immutable once loaded and shared; each thread uses its own
// Checker (it owns a simdjson parser and a Hyperscan scratch).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tuttle/engine/diagnostic.h"
#include "tuttle/engine/event.h"
#include "tuttle/engine/glob.h"
#include "tuttle/engine/result.h"

namespace tuttle::contracts {

struct Schema;         // contract_set.cc
class PatternDatabase;  // contract_set.cc

// Which records a contract applies to: every selector given must match (globs with `*` and `?`,
// case-sensitive); at least one is given.
struct ContractSelector {
  std::string function;   // Event::entities.function_name (Lambda, Cloud Functions, Azure)
  std::string format;     // Event::format, the adapter's name ("lambda", "cri", ...)
  std::string workload;   // Event::entities.workload (a CRI log's container name, ...)
  std::string namespace_name;  // Event::entities.namespace_name
  std::string source;     // Event::source: the Kafka topic or the file (as given) it came from
};

struct Contract {
  std::string name;
  std::string description;
  std::string file;  // where it was written, "contracts.yml:3:5"
  ContractSelector select;
  // The dotted path of the part checked ("json": a Lambda or CRI application's JSON log);
  // empty: the whole record. A record without it is not checked.
  std::string path;
  std::shared_ptr<const Schema> schema;
};

// At most this many violations are listed per record; then one line says how many more.
inline constexpr size_t kMaxViolations = 20;

class ContractSet {
 public:
  ~ContractSet();

  // Reads contract files. Problems are located diagnostics (file:line:col, with a hint) appended
  // to `diagnostics`; any error fails the whole load (a contract applies whole or not at all).
  static Result<std::shared_ptr<const ContractSet>> LoadFiles(const std::vector<std::string>& files,
                                                              Diagnostics& diagnostics);
  // The same for one file's text; `file` names it in diagnostics.
  static Result<std::shared_ptr<const ContractSet>> Parse(std::string_view text,
                                                          const std::string& file,
                                                          Diagnostics& diagnostics);

  const std::vector<Contract>& contracts() const { return contracts_; }

  class Checker {
   public:
    virtual ~Checker() = default;
    // The contract that applies to `event`, or nullptr (then `violations` is left alone).
    // Otherwise checks `event.raw` (followed by kRecordPadding readable bytes) and appends the
    // violations, empty when the record keeps its contract or has no `path`.
    virtual const Contract* Check(const Event& event, std::vector<std::string>& violations) = 0;
  };
  std::unique_ptr<Checker> NewChecker() const;

 private:
  friend class ContractLoader;
  ContractSet();

  std::vector<Contract> contracts_;
  std::unique_ptr<PatternDatabase> patterns_;
};

}  // namespace tuttle::contracts
