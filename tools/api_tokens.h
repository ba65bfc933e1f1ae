#pragma once
// ApiTokens: who may call the HTTP API (`--api-tokens FILE`, docs/api.md#tokens), and what for.
//
// The file lists bearer tokens, each with a name (for logs and the status history), the tenants
// whose alerts and inventory it may see, and a role:
//
//   tokens:
//     - name: soc-acme
//       token_file: /etc/tuttle/tokens/soc-acme   # or `sha256: <hex>`, or `token: <text>`
//       tenants: [acme]                           # or ["*"]: every tenant, and alerts with none
//       role: write                               # metrics | read | write | admin
//
// Roles, each including the ones before it except `metrics`:
//   metrics  GET /metrics only (a Prometheus scraper); tenants are not needed
//   read     GET the alerts, an alert, rules, coverage, inventory of its tenants
//   write    read, and change alert statuses of its tenants
//   admin    write, and reload rules and scrape /metrics
// A tenant-scoped token sees only alerts whose tenant it lists (alerts without a tenant need
// "*"). Secrets stay out of the file best: `token_file` or the SHA-256 of the token
// (`printf %s "$TOKEN" | sha256sum`); `token` is accepted for tests and demos.
//
// Tokens are kept as SHA-256 digests only; a request's token is hashed and compared with every
// entry in constant time, so neither timing nor which entry matched leaks.
//
// Thread-safety: immutable after Load; Authenticate may run on any thread.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tuttle/engine/diagnostic.h"
#include "tuttle/engine/result.h"

namespace tuttle::tools {

enum class ApiRole : int { kMetrics = 0, kRead = 1, kWrite = 2, kAdmin = 3 };
std::string_view ApiRoleName(ApiRole role);  // "metrics", "read", "write", "admin"

struct ApiToken {
  std::string name;
  std::string sha256;                // 32 raw digest bytes of the token
  std::vector<std::string> tenants;  // "*": all
  ApiRole role = ApiRole::kRead;

  bool AllTenants() const;
  // Whether this token may see data of `tenant` ("" is an alert or item without one).
  bool SeesTenant(std::string_view tenant) const;
  // read and up (metrics tokens cannot read the API).
  bool CanRead() const { return role >= ApiRole::kRead; }
  bool CanWrite() const { return role >= ApiRole::kWrite; }
  bool IsAdmin() const { return role == ApiRole::kAdmin; }
  bool CanScrapeMetrics() const { return role == ApiRole::kMetrics || role == ApiRole::kAdmin; }
};

class ApiTokens {
 public:
  // Reads the tokens file. Problems are located diagnostics (file:line:col); any error fails.
  // Relative `token_file` paths are relative to the tokens file's folder.
  static Result<ApiTokens> Load(const std::string& path, Diagnostics& diagnostics);
  // The same from text; `path` names it in diagnostics and anchors relative token files.
  static Result<ApiTokens> Parse(const std::string& text, const std::string& path,
                                 Diagnostics& diagnostics);

  // The token an `Authorization: Bearer <token>` header value names; nullptr when the header is
  // absent, malformed, or names no token. Runs in time independent of which entry matches.
  const ApiToken* Authenticate(std::string_view authorization_header) const;

  const std::vector<ApiToken>& tokens() const { return tokens_; }

 private:
  std::vector<ApiToken> tokens_;
};

// SHA-256 of `text`, 32 raw bytes; and as 64 lowercase hex digits.
std::string Sha256(std::string_view text);
std::string Sha256Hex(std::string_view text);

// The token of an `Authorization` header value ("Bearer <token>", scheme case-insensitive);
// nullopt when it is not a bearer header.
std::optional<std::string_view> BearerToken(std::string_view header);

}  // namespace tuttle::tools
