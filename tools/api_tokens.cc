#include "api_tokens.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "metrics_server.h"
#include "tuttle/engine/strings.h"

namespace tuttle::tools {
namespace {

std::optional<std::string> FromHex(std::string_view hex) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string Trim(std::string s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.back())) s.pop_back();
  size_t start = 0;
  while (start < s.size() && space(s[start])) ++start;
  s.erase(0, start);
  return s;
}

class Reader {
 public:
  Reader(const std::string& file, Diagnostics& diagnostics)
      : file_(file), diagnostics_(diagnostics) {}

  void Report(const YAML::Mark& mark, const std::string& where, const std::string& message,
              std::string hint = {}) {
    Diagnostic d;
    d.file = file_;
    d.line = mark.line >= 0 ? mark.line + 1 : 0;
    d.column = mark.column >= 0 ? mark.column + 1 : 0;
    d.message = where.empty() ? message : Cat(where, ": ") + message;
    d.hint = std::move(hint);
    diagnostics_.push_back(std::move(d));
    ++errors_;
  }
  bool failed() const { return errors_ > 0; }

 private:
  std::string file_;
  Diagnostics& diagnostics_;
  int errors_ = 0;
};

}  // namespace

std::string_view ApiRoleName(ApiRole role) {
  switch (role) {
    case ApiRole::kMetrics:
      return "metrics";
    case ApiRole::kRead:
      return "read";
    case ApiRole::kWrite:
      return "write";
    case ApiRole::kAdmin:
      return "admin";
  }
  return "?";
}

bool ApiToken::AllTenants() const {
  for (const std::string& t : tenants) {
    if (t == "*") return true;
  }
  return false;
}

bool ApiToken::SeesTenant(std::string_view tenant) const {
  for (const std::string& t : tenants) {
    if (t == "*" || (!tenant.empty() && t == tenant)) return true;
  }
  return false;
}

std::string Sha256(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

std::string Sha256Hex(std::string_view text) {
  std::string out;
  for (unsigned char c : Sha256(text)) out += fmt::format("{:02x}", c);
  return out;
}

std::optional<std::string_view> BearerToken(std::string_view header) {
  // The scheme is case-insensitive (RFC 7235); the token is not.
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() < kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    const char c = header[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) {
      return std::nullopt;
    }
  }
  header.remove_prefix(kScheme.size());
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  if (header.empty()) return std::nullopt;
  return header;
}

const ApiToken* ApiTokens::Authenticate(std::string_view authorization_header) const {
  const auto token = BearerToken(authorization_header);
  if (!token) return nullptr;
  const std::string digest = Sha256(*token);
  // Every entry is compared, whichever matches.
  const ApiToken* found = nullptr;
  for (const ApiToken& t : tokens_) {
    const bool match = ConstantTimeEquals(digest, t.sha256);
    found = match && found == nullptr ? &t : found;
  }
  return found;
}

Result<ApiTokens> ApiTokens::Load(const std::string& path, Diagnostics& diagnostics) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(fmt::format("--api-tokens '{}': cannot read it", path));
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path, diagnostics);
}

Result<ApiTokens> ApiTokens::Parse(const std::string& text, const std::string& path,
                                   Diagnostics& diagnostics) {
  Reader r(path, diagnostics);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    r.Report(e.mark, "", e.msg);
    return Error(fmt::format("{}: not valid YAML", path));
  }
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  ApiTokens out;
  const YAML::Node list = root.IsMap() ? root["tokens"] : YAML::Node();
  if (!list.IsDefined() || !list.IsSequence()) {
    r.Report(root.Mark(), "tokens",
             "expected a list of tokens (name, token_file or sha256 or "
             "token, tenants, role)");
    return Error(fmt::format("{}: no tokens", path));
  }
  for (const auto& kv : root) {
    if (kv.first.Scalar() != "tokens") {
      r.Report(kv.first.Mark(), kv.first.Scalar(), "unknown key (known: tokens)");
    }
  }
  static const std::vector<std::string_view> kKnown = {"name",   "token",   "token_file",
                                                       "sha256", "tenants", "role"};
  std::vector<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node e = list[i];
    const std::string where = fmt::format("tokens[{}]", i);
    if (!e.IsMap()) {
      r.Report(e.Mark(), where,
               "expected a map (name, token_file or sha256 or token, tenants, "
               "role)");
      continue;
    }
    for (const auto& kv : e) {
      const std::string key = kv.first.Scalar();
      if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end()) {
        r.Report(kv.first.Mark(), Cat(where + ".", key),
                 fmt::format("unknown key (known: {})", fmt::join(kKnown, ", ")));
      }
    }
    ApiToken t;
    const auto scalar = [&](const char* key) -> std::optional<std::string> {
      const YAML::Node n = e[key];
      if (!n.IsDefined()) return std::nullopt;
      if (!n.IsScalar() || n.Scalar().empty()) {
        r.Report(n.Mark(), Cat(where + ".", key), "expected a non-empty value");
        return std::nullopt;
      }
      return n.Scalar();
    };
    if (auto name = scalar("name")) {
      t.name = *name;
      if (std::find(names.begin(), names.end(), t.name) != names.end()) {
        r.Report(e["name"].Mark(), where + ".name", fmt::format("'{}' is named twice", t.name));
      }
      names.push_back(t.name);
    } else if (!e["name"].IsDefined()) {
      r.Report(e.Mark(), where,
               "missing 'name' (who holds the token: logs and the status "
               "history show it)");
    }
    const auto token = scalar("token");
    const auto token_file = scalar("token_file");
    const auto sha = scalar("sha256");
    const int given = (token ? 1 : 0) + (token_file ? 1 : 0) + (sha ? 1 : 0);
    if (given != 1) {
      r.Report(e.Mark(), where,
               given == 0 ? "missing the secret: one of token_file, sha256 or token"
                          : "give one of token_file, sha256 or token, not several");
    } else if (token) {
      t.sha256 = Sha256(*token);
    } else if (token_file) {
      std::filesystem::path p(*token_file);
      if (p.is_relative() && !folder.empty()) p = folder / p;
      std::ifstream in(p, std::ios::binary);
      std::ostringstream content;
      if (in) content << in.rdbuf();
      const std::string secret = Trim(content.str());
      if (!in) {
        r.Report(e["token_file"].Mark(), where + ".token_file",
                 fmt::format("cannot read '{}'", p.string()));
      } else if (secret.empty()) {
        r.Report(e["token_file"].Mark(), where + ".token_file",
                 fmt::format("'{}' holds no token", p.string()));
      } else {
        t.sha256 = Sha256(secret);
      }
    } else {
      auto digest = FromHex(*sha);
      if (!digest || digest->size() != 32) {
        r.Report(e["sha256"].Mark(), where + ".sha256", "expected 64 hex digits",
                 "printf %s \"$TOKEN\" | sha256sum");
      } else {
        t.sha256 = std::move(*digest);
      }
    }
    const YAML::Node role = e["role"];
    if (!role.IsDefined()) {
      t.role = ApiRole::kRead;
    } else {
      const std::string word = role.IsScalar() ? role.Scalar() : std::string();
      if (word == "metrics") {
        t.role = ApiRole::kMetrics;
      } else if (word == "read") {
        t.role = ApiRole::kRead;
      } else if (word == "write") {
        t.role = ApiRole::kWrite;
      } else if (word == "admin") {
        t.role = ApiRole::kAdmin;
      } else {
        r.Report(role.Mark(), where + ".role",
                 fmt::format("unknown role '{}' (known: metrics, read, write, admin)", word));
      }
    }
    const YAML::Node tenants = e["tenants"];
    if (tenants.IsDefined()) {
      if (tenants.IsScalar() && !tenants.Scalar().empty()) {
        t.tenants.push_back(tenants.Scalar());
      } else if (tenants.IsSequence()) {
        for (const auto& n : tenants) {
          if (!n.IsScalar() || n.Scalar().empty()) {
            r.Report(n.Mark(), where + ".tenants", "expected tenant names or \"*\"");
          } else {
            t.tenants.push_back(n.Scalar());
          }
        }
      } else {
        r.Report(tenants.Mark(), where + ".tenants", "expected a list of tenant names or [\"*\"]");
      }
    }
    if (t.tenants.empty() && t.role != ApiRole::kMetrics) {
      r.Report(e.Mark(), where,
               "missing 'tenants': the tenants whose alerts it may see, or [\"*\"] for all",
               "a metrics-only token (role: metrics) needs none");
    }
    out.tokens_.push_back(std::move(t));
  }
  if (r.failed()) return Error(fmt::format("{}: errors in the tokens file", path));
  if (out.tokens_.empty()) return Error(fmt::format("{}: the tokens list is empty", path));
  return out;
}

}  // namespace tuttle::tools
