#pragma once
// The store's subcommands, for SOC analysts and operators:
//   tuttle alerts                 query stored alerts (filters, table or JSON, pages)
//   tuttle alerts ack|close|reopen ID...   record an analyst's decision (who, when, why)
//   tuttle dead-letters           list dead letters
//   tuttle dead-letters redrive   run dead letters through the pipeline again after a fix
//   tuttle db stats|compact       what the store holds; apply retention now
// and the retention options of `run` and `replay`. Queries open the store read-only, so they
// work while `tuttle run` writes it; status changes, re-drive and compaction need the write lock
// and say so when another process holds it. docs/storage.md.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tuttle/storage/store.h"

namespace CLI {
class App;
}  // namespace CLI

namespace tuttle::tools {

// Opens the store for a query: read-only, so a running `tuttle run` may hold it. The error
// says which store and who writes it.
Result<std::unique_ptr<storage::Store>> OpenForReading(const std::string& path);

// Prints rows of cells as aligned columns (the last column unpadded).
void PrintTable(const std::vector<std::vector<std::string>>& rows);

// Adds --alert-retention and --dead-letter-retention (durations such as 90d, 12h; 0 keeps
// forever) to `cmd`, parsed into `options`. REQUIRES: `options` outlives parsing.
void AddRetentionOptions(CLI::App* cmd, storage::StoreOptions& options);

// Registers the subcommands above on `app` and holds their options; after parsing, Run()
// executes the one given.
class StoreCommands {
 public:
  explicit StoreCommands(CLI::App& app);
  ~StoreCommands();
  StoreCommands(const StoreCommands&) = delete;
  StoreCommands& operator=(const StoreCommands&) = delete;

  // The exit code of the parsed subcommand, or nullopt when none of these was parsed.
  std::optional<int> Run() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tuttle::tools
