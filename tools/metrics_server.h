#pragma once
// MetricsServer: the HTTP endpoint of `tuttle run --metrics-listen HOST:PORT` (docs/metrics.md).
//
//   GET /metrics   the registry in Prometheus text format 0.0.4
//   GET /healthz   200 "ok" while the process runs; never needs the token (liveness probes)
//
// With a token, /metrics answers 401 unless the request carries `Authorization: Bearer <token>`;
// the token is compared in constant time. cpp-httplib (Debian's libcpp-httplib-dev) serves from
// its own threads: one accepting, two answering. The registry is read under its own locks, so
// scrapes run concurrently with the pipeline and the Kafka callbacks that update it.

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "tuttle/engine/metrics.h"
#include "tuttle/engine/result.h"

namespace tuttle::tools {

struct MetricsServerOptions {
  // Host name or IP address to listen on (IPv6 without brackets). Default: 127.0.0.1.
  std::string host = "127.0.0.1";
  // TCP port; 0 picks a free one, which port() then tells. Default: 0.
  int port = 0;
  // When not empty, /metrics needs `Authorization: Bearer <token>`. Default: none.
  std::string token;
};

class MetricsServer {
 public:
  // Binds, then serves from a thread of its own until Stop() or destruction.
  // REQUIRES: `registry` outlives the server.
  static Result<std::unique_ptr<MetricsServer>> Start(const MetricsRegistry& registry,
                                                      MetricsServerOptions options);
  ~MetricsServer();

  // Stops accepting, finishes the requests in flight and joins the thread. Idempotent.
  void Stop();

  const std::string& host() const { return options_.host; }
  int port() const { return port_; }
  // http://HOST:PORT/metrics, with an IPv6 host in brackets.
  std::string Url() const;

 private:
  struct Impl;
  explicit MetricsServer(MetricsServerOptions options);

  MetricsServerOptions options_;
  int port_ = 0;
  std::unique_ptr<Impl> impl_;
};

// `--metrics-listen` (and `--listen`) values: HOST:PORT, [IPV6]:PORT, or :PORT for every
// interface (0.0.0.0). Errors name `option`.
Result<std::pair<std::string, int>> ParseListenAddress(std::string_view text,
                                                       std::string_view option = "--metrics-listen");

// The token in a file (`--metrics-token-file`), without surrounding whitespace. An unreadable
// file or an empty token is an error.
Result<std::string> ReadTokenFile(const std::string& path);

// Compares in time that depends on the lengths only, not on where the strings differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace tuttle::tools
