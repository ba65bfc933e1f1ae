#include "serve_command.h"

#include <fmt/format.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "coverage_command.h"
#include "engine_setup.h"
#include "metrics_server.h"
#include "rules_command.h"
#include "store_commands.h"
#include "tuttle/storage/store.h"

namespace tuttle::tools {
namespace {

int Fail(std::string_view message) {
  fmt::print(stderr, "tuttle: error: {}\n", message);
  return 1;
}

// A store error that means another process holds the write lock.
bool IsLockError(const std::string& message) {
  return message.find("lock") != std::string::npos || message.find("LOCK") != std::string::npos;
}

// The rules `serve` shows: loaded at start and on reload, their JSON made once per load.
struct LoadedRules {
  std::string rules_json;
  std::string coverage_json;
  size_t count = 0;
  std::string origin;
};

Result<std::shared_ptr<const LoadedRules>> LoadRules(const ServeOptions& o, bool strict) {
  auto engine = LoadEngine(o.rules, o.pipelines, strict);
  if (!engine.ok()) return engine.error();
  auto loaded = std::make_shared<LoadedRules>();
  loaded->rules_json = RulesJson(engine->rules);
  loaded->coverage_json = CoverageJson(engine->rules, engine->rules_origin, /*inventory=*/true);
  loaded->count = engine->rules.detections.size() + engine->rules.correlations.size();
  loaded->origin = engine->rules_origin;
  return std::shared_ptr<const LoadedRules>(std::move(loaded));
}

}  // namespace

Result<ApiServerOptions> MakeApiServerOptions(const ApiListenOptions& api) {
  ApiServerOptions o;
  auto address = ParseListenAddress(api.listen, "--listen");
  if (!address.ok()) return address.error();
  o.host = address->first;
  o.port = address->second;
  if (!api.tokens_file.empty()) {
    Diagnostics diagnostics;
    auto tokens = ApiTokens::Load(api.tokens_file, diagnostics);
    for (const Diagnostic& d : diagnostics) fmt::print(stderr, "{}\n", d.ToString());
    if (!tokens.ok()) return tokens.error();
    o.tokens = std::make_shared<const ApiTokens>(std::move(*tokens));
  }
  o.insecure = api.insecure;
  o.tls_cert = api.tls_cert;
  o.tls_key = api.tls_key;
  return o;
}

void AddApiListenOptions(CLI::App* cmd, ApiListenOptions& api) {
  cmd->add_option("--api-tokens", api.tokens_file,
                  "Bearer tokens file (YAML: name, token_file|sha256|token, tenants, role); "
                  "without it the API answers everyone and listens on loopback only "
                  "(docs/api.md#tokens)")
      ->type_name("FILE");
  cmd->add_flag("--api-insecure", api.insecure,
                "Allow listening beyond loopback without --api-tokens (anyone reaching the port "
                "can read and change alerts)");
  cmd->add_option("--tls-cert", api.tls_cert, "Serve HTTPS with this PEM certificate chain")
      ->type_name("FILE");
  cmd->add_option("--tls-key", api.tls_key, "... and this PEM private key")->type_name("FILE");
}

RunApiHooks StaticRuleHooks(const RuleSet& rules, const std::string& origin) {
  auto rules_json = std::make_shared<const std::string>(RulesJson(rules));
  auto coverage_json =
      std::make_shared<const std::string>(CoverageJson(rules, origin, /*inventory=*/true));
  RunApiHooks hooks;
  hooks.rules_json = [rules_json] { return *rules_json; };
  hooks.coverage_json = [coverage_json] { return *coverage_json; };
  return hooks;
}

Result<std::unique_ptr<ApiServer>> StartRunApi(const ApiListenOptions& api, storage::Store& store,
                                               const MetricsRegistry* metrics, RunApiHooks hooks) {
  auto options = MakeApiServerOptions(api);
  if (!options.ok()) return options.error();
  // Not owned: the run's store outlives the server.
  std::shared_ptr<storage::Store> shared(std::shared_ptr<storage::Store>(), &store);
  options->store = [shared] { return shared; };
  options->ready = std::move(hooks.ready);
  options->rules_json = std::move(hooks.rules_json);
  options->coverage_json = std::move(hooks.coverage_json);
  options->reload = std::move(hooks.reload);
  options->metrics = metrics;
  return ApiServer::Start(std::move(*options));
}

CLI::App* AddServeCommand(CLI::App& app, ServeOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Serve the HTTP API and the web console over a store (docs/api.md); runs beside "
      "a `tuttle run` that writes the store, or alone");
  cmd->add_option("-s,--store", o.store, "RocksDB store folder")->capture_default_str();
  o.api.listen = "127.0.0.1:8080";
  cmd->add_option("--listen", o.api.listen, "HOST:PORT to listen on; port 0 picks a free one")
      ->type_name("HOST:PORT")
      ->capture_default_str();
  AddApiListenOptions(cmd, o.api);
  cmd->add_option("-r,--rules", o.rules,
                  "Sigma rule files or folders shown by /api/v1/rules and the coverage map "
                  "(repeatable); default: the embedded rule pack")
      ->allow_extra_args(false);
  cmd->add_option("-p,--pipeline", o.pipelines, "Processing pipeline YAML (repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--read-only", o.read_only,
                "Never take the store's write lock (status changes answer 409)");
  cmd->add_option("--reopen-interval-ms", o.reopen_interval_ms,
                  "Read-only: open the store again this often to see new alerts")
      ->check(CLI::Range(100, 3'600'000))
      ->capture_default_str();
  return cmd;
}

int Serve(const ServeOptions& o) {
  if (!std::filesystem::exists(std::filesystem::path(o.store) / "CURRENT")) {
    return Fail(
        fmt::format("no store at '{}' (written by `tuttle run` or `tuttle replay "
                    "--store`)",
                    o.store));
  }
  auto options = MakeApiServerOptions(o.api);
  if (!options.ok()) return Fail(options.error().message());

  // The store: writable when nobody else holds it, else read-only and reopened now and then.
  std::mutex mu;
  std::shared_ptr<storage::Store> current;
  bool writable = false;
  if (!o.read_only) {
    storage::StoreOptions so;
    so.create_if_missing = false;
    auto store = storage::Store::Open(o.store, so);
    if (store.ok()) {
      current = std::move(*store);
      writable = true;
    } else if (!IsLockError(store.error().message())) {
      return Fail(store.error().message());
    }
  }
  if (!writable) {
    auto store = OpenForReading(o.store);
    if (!store.ok()) return Fail(store.error().message());
    current = std::move(*store);
  }
  const std::string read_only_reason =
      writable      ? std::string()
      : o.read_only ? fmt::format(
                          "this `tuttle serve --read-only` cannot change alert statuses; serve "
                          "without --read-only, or use the API of the `tuttle run` writing '{}'",
                          o.store)
                    : fmt::format(
                          "another process (a `tuttle run`?) writes the store '{}', so this "
                          "`tuttle serve` opened it read-only: change statuses through that "
                          "process's API (`tuttle run --listen`), or stop it first",
                          o.store);

  auto first = LoadRules(o, /*strict=*/false);
  if (!first.ok()) return Fail(first.error().message());
  std::shared_ptr<const LoadedRules> rules = *first;

  options->store = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return current;
  };
  options->read_only_reason = [&read_only_reason] { return read_only_reason; };
  options->ready = [&](std::string& reason) {
    std::lock_guard<std::mutex> lock(mu);
    if (!rules) reason = "no rules loaded";
    return rules != nullptr;
  };
  options->rules_json = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return rules->rules_json;
  };
  options->coverage_json = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return rules->coverage_json;
  };
  options->reload = [&](const std::string& by) -> Result<std::string> {
    auto loaded = LoadRules(o, /*strict=*/true);
    if (!loaded.ok()) return loaded.error();
    std::lock_guard<std::mutex> lock(mu);
    rules = *loaded;
    fmt::print(stderr, "tuttle: rules reloaded by '{}': {} rules from {}\n", by, rules->count,
               rules->origin);
    return nlohmann::json{{"reloaded", true},
                          {"rules", rules->count},
                          {"origin", rules->origin},
                          {"requested_by", by}}
        .dump();
  };

  // Signals are taken synchronously below; block them before the server's threads start.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = ApiServer::Start(std::move(*options));
  if (!server.ok()) return Fail(server.error().message());
  fmt::print(stderr, "tuttle: serving {} ({}) at {}/ (API {}/api/v1, {})\n", o.store,
             writable ? "read-write" : "read-only", (*server)->Url(), (*server)->Url(),
             o.api.tokens_file.empty() ? "no tokens: loopback only" : "bearer tokens");
  // A line machines can read: tests and scripts wait for it.
  fmt::print("listening {}\n", (*server)->Url());
  std::fflush(stdout);

  const timespec interval{o.reopen_interval_ms / 1000,
                          static_cast<long>(o.reopen_interval_ms % 1000) * 1'000'000};
  while (true) {
    const int sig = sigtimedwait(&signals, nullptr, &interval);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (sig < 0 && errno != EAGAIN && errno != EINTR) break;
    if (writable || sig >= 0) continue;
    // A new read-only open sees what was written since; requests still holding the old one
    // finish with it.
    auto store = OpenForReading(o.store);
    if (!store.ok()) {
      fmt::print(stderr, "tuttle: warning: {}\n", store.error().message());
      continue;
    }
    std::shared_ptr<storage::Store> fresh = std::move(*store);
    std::lock_guard<std::mutex> lock(mu);
    current.swap(fresh);
  }
  (*server)->Stop();
  fmt::print(stderr, "tuttle: serve stopped\n");
  return 0;
}

}  // namespace tuttle::tools
