#pragma once
// The inventory from telemetry (docs/inventory.md), on the command line:
//   - `--approved-inventory FILE` of `run` and `replay`: the approved images, registries,
//     workloads, functions and namespaces (LoadInventoryPolicy);
//   - the pipeline's Inventory, restored from the store (PrepareInventory);
//   - `tuttle inventory`: list, filter and export what the store holds (table, CSV, JSON lines).

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "tuttle/engine/diagnostic.h"
#include "tuttle/engine/inventory.h"
#include "tuttle/engine/result.h"
#include "tuttle/storage/store.h"

namespace CLI {
class App;
}  // namespace CLI

namespace tuttle::tools {

// An inventory item as `tuttle inventory -o json` prints it and GET /api/v1/inventory answers.
nlohmann::json InventoryItemJson(const InventoryItem& item);

// Reads an approved-inventory file:
//
//   images: ["registry.example.com/payments/*", "nginx:1.25*"]
//   registries: [registry.example.com, "*.dkr.ecr.*.amazonaws.com"]
//   workloads: ["payments/*", "kube-system/*"]
//   functions: ["payments-*"]
//   namespaces: [default, kube-system, payments]
//
// Problems are located diagnostics (file:line:col, with a hint); any error fails.
Result<InventoryPolicy> LoadInventoryPolicy(const std::string& path, Diagnostics& diagnostics);
// The same from the file's text; `path` names it in diagnostics.
Result<InventoryPolicy> ParseInventoryPolicy(const std::string& text, const std::string& path,
                                             Diagnostics& diagnostics);

// The pipeline's inventory: the policy from `approved_file` (none: nothing is checked) and the
// items `store` holds (nullptr: starts empty). Prints a line saying what it restored.
Result<std::unique_ptr<Inventory>> PrepareInventory(const std::string& approved_file,
                                                    const storage::Store* store);

// "-- inventory: 42 items (5 new), 2 not approved, 1 new invoker".
std::string InventorySummary(const Inventory& inventory);

// Registers `tuttle inventory` on `app`; after parsing, Run() executes it.
class InventoryCommand {
 public:
  explicit InventoryCommand(CLI::App& app);
  ~InventoryCommand();
  InventoryCommand(const InventoryCommand&) = delete;
  InventoryCommand& operator=(const InventoryCommand&) = delete;

  // The exit code, or nullopt when `inventory` was not parsed.
  std::optional<int> Run() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tuttle::tools
