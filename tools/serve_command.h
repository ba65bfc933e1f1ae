#pragma once
// `tuttle serve`: the HTTP API and web console over a store (docs/api.md, docs/console.md), and
// the API server of `tuttle run --listen`.
//
// serve opens the store for writing when no other process holds it, so analysts' status
// changes work; when `tuttle run` holds it, serve opens it read-only and opens it again every
// `reopen_interval`, so new alerts appear, and status changes answer 409 (`tuttle run`'s own
// API makes them). Rules (-r, default the embedded pack) feed /api/v1/rules and the coverage
// heat map; POST /api/v1/rules/reload reads them again.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api_server.h"
#include "tuttle/engine/metrics.h"
#include "tuttle/engine/result.h"
#include "tuttle/engine/rule_set.h"

namespace CLI {
class App;
}  // namespace CLI

namespace tuttle::storage {
class Store;
}  // namespace tuttle::storage

namespace tuttle::tools {

// Server options from the listen options: the address parsed, tokens loaded (diagnostics
// printed to stderr), TLS files named. Hooks are left for the caller.
Result<ApiServerOptions> MakeApiServerOptions(const ApiListenOptions& api);

// Adds --listen, --api-tokens, --api-insecure, --tls-cert and --tls-key to `cmd`.
void AddApiListenOptions(CLI::App* cmd, ApiListenOptions& api);

// What `run` plugs into its API server (see ApiServerOptions for each hook's contract).
struct RunApiHooks {
  std::function<bool(std::string& reason)> ready;  // beyond "the store is open"
  std::function<std::string()> rules_json;
  std::function<std::string()> coverage_json;
  std::function<Result<std::string>(const std::string& requested_by)> reload;
};

// rules_json and coverage_json of a fixed rule set, computed once now.
RunApiHooks StaticRuleHooks(const RuleSet& rules, const std::string& origin);

// `tuttle run --listen`: the server over the run's own store (writable: status changes work).
// REQUIRES: `store` and `metrics` outlive the server.
Result<std::unique_ptr<ApiServer>> StartRunApi(const ApiListenOptions& api, storage::Store& store,
                                               const MetricsRegistry* metrics, RunApiHooks hooks);

struct ServeOptions {
  std::string store = "./var/tuttle";
  ApiListenOptions api;
  std::vector<std::string> rules;      // files or folders; empty: the embedded pack
  std::vector<std::string> pipelines;  // processing pipeline files
  bool read_only = false;              // never take the store's write lock
  // How often a read-only store is opened again to see new alerts, in milliseconds.
  int reopen_interval_ms = 2000;
};

// Registers `tuttle serve` on `app`, its options in `options`.
CLI::App* AddServeCommand(CLI::App& app, ServeOptions& options);

// Serves until SIGINT or SIGTERM. Returns the exit code.
int Serve(const ServeOptions& options);

}  // namespace tuttle::tools
