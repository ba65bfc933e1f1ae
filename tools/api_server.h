#pragma once
// ApiServer: Tuttle's HTTP server (docs/api.md): the JSON API over the alert store, the web
// console (docs/console.md), Prometheus metrics and health probes, over HTTP or HTTPS.
// `tuttle serve` runs it over a store; `tuttle run --listen` over the store it writes.
//
//   GET  /api/v1/alerts               filters and pages (storage::QueryAlerts)
//   GET  /api/v1/alerts/{id}          the finding, its status history, its evidence records
//   POST /api/v1/alerts/{id}/status   an analyst's decision (write role)
//   GET  /api/v1/rules                the loaded rules
//   GET  /api/v1/coverage             ATT&CK coverage of the rules, and alerts per technique
//   GET  /api/v1/inventory            inventory items, filtered and paged
//   POST /api/v1/rules/reload         validate and swap the rule set (admin role)
//   GET  /metrics                     Prometheus text (admin or metrics role)
//   GET  /healthz, /readyz            liveness and readiness; never need a token
//   GET  /, /console/*                the console's static files (embedded in the binary)
//
// Who may call what: api_tokens.h. Without tokens every request is allowed, so Start() refuses
// to listen beyond loopback unless `insecure` says so.
//
// The server does not own what it serves: the store, rules, readiness and reload come through
// the hooks in ApiServerOptions, so `run` and `serve` wire their own. Hooks are called from the
// server's threads, concurrently; they must be thread-safe.
//
// Thread-safety: Start() and Stop() from one thread; requests are answered on the server's own
// threads (kServerThreads).

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api_tokens.h"
#include "tuttle/engine/metrics.h"
#include "tuttle/engine/result.h"

namespace tuttle::storage {
class Store;
}  // namespace tuttle::storage

namespace tuttle::tools {

struct ApiServerOptions {
  // Host name or IP address to listen on (IPv6 without brackets). Default: 127.0.0.1.
  std::string host = "127.0.0.1";
  // TCP port; 0 picks a free one, which port() then tells. Default: 0.
  int port = 0;
  // Who may call (api_tokens.h). nullptr: nobody needs a token, and every caller is an admin
  // of every tenant: allowed on loopback addresses only, unless `insecure`. Default: nullptr.
  std::shared_ptr<const ApiTokens> tokens;
  // Listen beyond loopback without tokens (`--api-insecure`). Default: false.
  bool insecure = false;
  // PEM certificate chain and private key files: serve HTTPS. Both or neither. Default: HTTP.
  std::string tls_cert;
  std::string tls_key;
  // Largest request body accepted, in bytes; larger ones get 413. Default: 64 KiB.
  size_t max_body_bytes = 64 * 1024;
  // Answering threads. Default: 4 (the console loads a few resources at once).
  size_t threads = 4;
  // Serve the web console at / (docs/console.md). Default: true.
  bool console = true;

  // ---- hooks; any may be empty ----
  // The store the API reads and writes; nullptr answers 503 "no store". Called per request:
  // `serve` hands out a newer read-only open now and then.
  std::function<std::shared_ptr<storage::Store>()> store;
  // Why alert statuses cannot be changed here (e.g. another process writes the store);
  // empty: they can. Such requests answer 409 with this text.
  std::function<std::string()> read_only_reason;
  // Readiness: true when ready; else `reason` says what is missing. Empty hook: ready.
  std::function<bool(std::string& reason)> ready;
  // The loaded rules as a JSON array (RulesJson()); empty hook: 503.
  std::function<std::string()> rules_json;
  // The rules' ATT&CK coverage as `tuttle coverage --json` prints it (CoverageJson()).
  std::function<std::string()> coverage_json;
  // Reloads the rules; `requested_by` names the token. Returns a JSON report; an error answers
  // 422 with {"error": message}. Empty hook: 501.
  std::function<Result<std::string>(const std::string& requested_by)> reload;
  // The metrics registry for /metrics; nullptr: /metrics answers 404.
  // REQUIRES: outlives the server.
  const MetricsRegistry* metrics = nullptr;
};

// Where and how the API listens: flags of `serve` and `run`, and `api:` in the run config.
struct ApiListenOptions {
  std::string listen;       // HOST:PORT; empty: no API server (run) / 127.0.0.1:8080 (serve)
  std::string tokens_file;  // the tokens file (api_tokens.h); empty: no tokens (loopback only)
  bool insecure = false;    // without tokens beyond loopback
  std::string tls_cert;     // PEM files; both or neither
  std::string tls_key;
};

class ApiServer {
 public:
  // Binds, then serves from threads of its own until Stop() or destruction. Fails when the
  // address cannot be bound, the TLS files cannot be loaded, or tokens are missing on an
  // address beyond loopback without `insecure`.
  static Result<std::unique_ptr<ApiServer>> Start(ApiServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Stops accepting, finishes the requests in flight and joins the thread. Idempotent.
  void Stop();

  int port() const { return port_; }
  bool tls() const { return !options_.tls_cert.empty(); }
  // http(s)://HOST:PORT, with an IPv6 host in brackets.
  std::string Url() const;

 private:
  struct Impl;
  explicit ApiServer(ApiServerOptions options);

  ApiServerOptions options_;
  int port_ = 0;
  std::unique_ptr<Impl> impl_;
};

// Whether `host` is a loopback address or name (127.0.0.0/8, ::1, localhost).
bool IsLoopbackHost(const std::string& host);

}  // namespace tuttle::tools
