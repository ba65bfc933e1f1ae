// Fuzz target: the data contract loader on arbitrary contract files; a contract set that loads
// then checks fixed records (and the input itself as a record). Every input loads or yields
// located diagnostics; nothing crashes, and no check runs away (patterns run in Hyperscan).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tuttle/contracts/contract_set.h"
#include "tuttle/engine/record.h"

namespace {

void CheckRecord(tuttle::contracts::ContractSet::Checker& checker, const std::string& record) {
  std::string padded = record;
  padded.append(tuttle::kRecordPadding, '\0');
  tuttle::Event e;
  e.raw = std::string_view(padded.data(), record.size());
  e.format = "lambda";
  e.entities.function_name = "orders-api";
  e.entities.workload = "web";
  e.entities.namespace_name = "prod";
  std::vector<std::string> violations;
  (void)checker.Check(e, violations);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  tuttle::Diagnostics diagnostics;
  auto set = tuttle::contracts::ContractSet::Parse(text, "fuzz.yml", diagnostics);
  if (!set.ok()) return 0;
  auto checker = (*set)->NewChecker();
  CheckRecord(*checker, R"({"json": {"order_id": "ord-1", "amount": 12000, "lines": [{"qty": 0}]}})");
  CheckRecord(*checker, R"({"a": [1, "x", null, true, {"b": 1.5}], "json": "text"})");
  CheckRecord(*checker, text);
  return 0;
}
