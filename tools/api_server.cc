#include "api_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "embedded.h"
#include "inventory_command.h"
#include "tuttle/engine/inventory.h"
#include "tuttle/engine/strings.h"
#include "tuttle/engine/time.h"
#include "tuttle/storage/alert_index.h"
#include "tuttle/storage/alert_query.h"
#include "tuttle/storage/alert_status.h"
#include "tuttle/storage/evidence.h"
#include "tuttle/storage/key_codec.h"
#include "tuttle/storage/store.h"

namespace tuttle::tools {
namespace {

using httplib::Request;
using httplib::Response;
using nlohmann::json;

constexpr const char* kJson = "application/json";
// Alerts per page: default and most.
constexpr size_t kDefaultLimit = 50;
constexpr size_t kMaxLimit = 1000;
// A tenant-scoped query over several tenants filters after reading: it reads at most this many
// alerts per page before answering with what it has and a token to continue.
constexpr uint64_t kMaxExaminedPerPage = 100'000;
// Alerts counted per technique for the coverage heat map, at most.
constexpr size_t kMaxCoverageAlerts = 50'000;

// The console's Content-Security-Policy: everything from this origin, nothing inline.
constexpr const char* kConsoleCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void SendJson(Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, kJson);
}

void SendError(Response& res, int status, std::string_view message,
               std::string_view parameter = {}) {
  json j = {{"error", message}, {"status", status}};
  if (!parameter.empty()) j["parameter"] = parameter;
  SendJson(res, status, Dump(j));
}

// An error about a query parameter: 400, naming it.
void BadParam(Response& res, std::string_view name, std::string_view message) {
  SendError(res, 400, fmt::format("parameter '{}': {}", name, message), name);
}

// A time bound: RFC 3339, integer nanoseconds since the epoch, or a duration before now.
std::optional<TimeNs> ParseTimeParam(const std::string& text, TimeNs now) {
  if (auto t = ParseTimestamp(text)) return t;
  int64_t ns = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ns);
  if (ec == std::errc() && end == text.data() + text.size()) return ns;
  if (auto d = ParseDuration(text)) return now - *d;
  return std::nullopt;
}

std::optional<size_t> ParseCount(const std::string& text) {
  size_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

// Parameters outside `known` are mistakes worth a 400 (a typo would silently widen a query).
bool CheckParams(const Request& req, Response& res, std::initializer_list<std::string_view> known) {
  for (const auto& [name, value] : req.params) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      BadParam(res, name, fmt::format("unknown (known: {})", fmt::join(known, ", ")));
      return false;
    }
  }
  return true;
}

std::string Param(const Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : std::string();
}

// The alert's tenant (metadata.tenant_uid; "" when it has none).
std::string TenantOf(const json& finding) {
  const auto m = finding.find("metadata");
  if (m == finding.end() || !m->is_object()) return {};
  const auto t = m->find("tenant_uid");
  return t != m->end() && t->is_string() ? t->get<std::string>() : std::string();
}

// Every caller is this when no tokens are configured (loopback, or --api-insecure).
const ApiToken& Anonymous() {
  static const ApiToken kAnonymous{"anonymous", "", {"*"}, ApiRole::kAdmin};
  return kAnonymous;
}

// Paths anyone may fetch: probes and the console's static files (the console asks for a token
// and sends it with its API calls).
bool IsPublic(const std::string& path) {
  return path == "/healthz" || path == "/readyz" || path == "/" || path == "/index.html" ||
         path.rfind("/console/", 0) == 0 || path == "/favicon.ico";
}

std::string_view ContentType(std::string_view path) {
  const auto ends = [&](std::string_view s) {
    return path.size() >= s.size() && path.substr(path.size() - s.size()) == s;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".json")) return "application/json";
  return "application/octet-stream";
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  return false;
}

struct ApiServer::Impl {
  explicit Impl(const ApiServerOptions& o) : options(o) {}

  const ApiServerOptions& options;
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  std::atomic<bool> listening_done{false};

  // ---- callers ----

  // The token of the request; nullptr: unauthenticated (401).
  const ApiToken* Caller(const Request& req) const {
    if (!options.tokens) return &Anonymous();
    return options.tokens->Authenticate(req.get_header_value("Authorization"));
  }

  // The request's caller with at least `role`, or nullptr after answering 401 or 403.
  const ApiToken* Require(const Request& req, Response& res, ApiRole role) const {
    const ApiToken* caller = Caller(req);
    if (caller == nullptr) {
      Unauthorized(res);
      return nullptr;
    }
    if (!caller->CanRead() || caller->role < role) {
      SendError(res, 403,
                fmt::format("token '{}' (role {}) may not do this: it needs role {}", caller->name,
                            ApiRoleName(caller->role), ApiRoleName(role)));
      return nullptr;
    }
    return caller;
  }

  static void Unauthorized(Response& res) {
    res.set_header("WWW-Authenticate", "Bearer realm=\"tuttle\"");
    SendError(res, 401, "missing or unknown bearer token (Authorization: Bearer <token>)");
  }

  std::shared_ptr<storage::Store> StoreOr503(Response& res) const {
    std::shared_ptr<storage::Store> store = options.store ? options.store() : nullptr;
    if (!store) SendError(res, 503, "no store is open");
    return store;
  }

  // ---- routes ----

  void Alerts(const Request& req, Response& res) const {
    const ApiToken* caller = Require(req, res, ApiRole::kRead);
    if (caller == nullptr) return;
    if (!CheckParams(req, res,
                     {"since", "until", "rule", "severity", "min_severity", "entity", "tenant",
                      "status", "limit", "order", "page_token"})) {
      return;
    }
    auto store = StoreOr503(res);
    if (!store) return;
    storage::AlertQuery q;
    storage::AlertFilter& f = q.filter;
    const TimeNs now = store->Now();
    for (auto [name, bound] : {std::pair{"since", &f.since}, std::pair{"until", &f.until}}) {
      const std::string text = Param(req, name);
      if (text.empty()) continue;
      auto t = ParseTimeParam(text, now);
      if (!t) {
        return BadParam(res, name,
                        fmt::format("'{}': expected RFC 3339 (2026-01-31T12:00:00Z), "
                                    "nanoseconds since the epoch, or a duration before now (1h)",
                                    text));
      }
      *bound = *t;
    }
    f.rule = Param(req, "rule");
    for (auto [name, level] :
         {std::pair{"severity", &f.severity}, std::pair{"min_severity", &f.min_severity}}) {
      const std::string text = Param(req, name);
      if (text.empty()) continue;
      *level = storage::ParseLevel(text);
      if (!*level) {
        return BadParam(
            res, name,
            fmt::format("'{}': expected informational, low, medium, high or critical", text));
      }
    }
    f.entity = Param(req, "entity");
    if (const std::string text = Param(req, "status"); !text.empty()) {
      f.status = storage::ParseAlertStatus(text);
      if (!f.status) {
        return BadParam(
            res, "status",
            fmt::format("'{}': expected new, acknowledged, closed or suppressed", text));
      }
    }
    q.limit = kDefaultLimit;
    if (const std::string text = Param(req, "limit"); !text.empty()) {
      auto n = ParseCount(text);
      if (!n || *n == 0 || *n > kMaxLimit) {
        return BadParam(res, "limit", fmt::format("'{}': expected 1 to {}", text, kMaxLimit));
      }
      q.limit = *n;
    }
    const std::string order = Param(req, "order");
    if (order == "oldest") {
      q.oldest_first = true;
    } else if (!order.empty() && order != "newest") {
      return BadParam(res, "order", fmt::format("'{}': expected newest or oldest", order));
    }
    q.page_token = Param(req, "page_token");
    if (!q.page_token.empty()) {
      auto bytes = FromHex(q.page_token);
      if (!bytes || bytes->size() != storage::kAlertKeySize) {
        return BadParam(res, "page_token", "malformed: pass next_page_token back unchanged");
      }
    }
    // Tenants: asked for one the token may not see: 403. Asked for none: the token's own.
    std::vector<std::string> scope;  // empty: no tenant restriction beyond f.tenant
    f.tenant = Param(req, "tenant");
    if (!f.tenant.empty()) {
      if (!caller->SeesTenant(f.tenant)) {
        return SendError(res, 403,
                         fmt::format("token '{}' may not read tenant '{}'", caller->name, f.tenant),
                         "tenant");
      }
    } else if (!caller->AllTenants()) {
      if (caller->tenants.size() == 1) {
        f.tenant = caller->tenants.front();
      } else {
        scope = caller->tenants;
      }
    }

    std::vector<storage::QueriedAlert> alerts;
    std::string next_token, plan;
    uint64_t examined = 0;
    if (scope.empty()) {
      auto page = storage::QueryAlerts(*store, q);
      if (!page.ok()) return SendError(res, 500, page.error().message());
      alerts = std::move(page->alerts);
      next_token = std::move(page->next_page_token);
      plan = std::move(page->plan);
      examined = page->examined;
    } else {
      // Several tenants: read pages and keep the token's tenants' alerts, until the page is
      // full (then the token continues after its last alert) or the read budget is spent.
      const size_t want = q.limit;
      storage::AlertQuery inner = q;
      inner.limit = std::max<size_t>(want, 256);
      std::string last_key;  // alerts key of the last alert read
      bool more = true;
      while (more && alerts.size() < want && examined < kMaxExaminedPerPage) {
        auto page = storage::QueryAlerts(*store, inner);
        if (!page.ok()) return SendError(res, 500, page.error().message());
        plan = page->plan;
        examined += page->examined;
        for (auto& a : page->alerts) {
          auto id = storage::ParseAlertId(a.id);
          if (id) last_key = storage::AlertKey(a.time, *id);
          if (alerts.size() == want) break;
          const json j = json::parse(a.json, nullptr, false);
          if (!j.is_discarded() && caller->SeesTenant(TenantOf(j))) alerts.push_back(std::move(a));
        }
        more = !page->next_page_token.empty();
        inner.page_token = page->next_page_token;
      }
      plan += fmt::format(" (filtered to tenants {})", fmt::join(scope, ","));
      if (alerts.size() == want || (more && !last_key.empty())) {
        // After the last alert returned when the page is full, else after the last one read.
        if (alerts.size() == want) {
          auto id = storage::ParseAlertId(alerts.back().id);
          if (id) last_key = storage::AlertKey(alerts.back().time, *id);
        }
        next_token = ToHex(last_key);
        // A full page at the very end of the store: one more query would say "nothing left";
        // clients handle an empty last page, so the token stands.
      }
    }
    std::string body = "{\"alerts\":[";
    for (size_t i = 0; i < alerts.size(); ++i) {
      if (i > 0) body += ',';
      body += alerts[i].json;
    }
    body += "],\"next_page_token\":";
    body += Dump(json(next_token));
    body += ",\"plan\":";
    body += Dump(json(plan));
    body += ",\"examined\":";
    body += std::to_string(examined);
    body += '}';
    SendJson(res, 200, body);
  }

  // The alert of the path, or nullopt after answering 400/404/403/5xx.
  std::optional<storage::QueriedAlert> AlertOfPath(const Request& req, Response& res,
                                                   const storage::Store& store,
                                                   const ApiToken& caller, json& finding,
                                                   Hash128& id) const {
    const std::string text = req.matches[1];
    auto parsed = storage::ParseAlertId(text);
    if (!parsed) {
      SendError(res, 400, fmt::format("'{}' is not an alert id", text), "id");
      return std::nullopt;
    }
    id = *parsed;
    auto alert = storage::FindAlert(store, id);
    if (!alert.ok()) {
      SendError(res, 500, alert.error().message());
      return std::nullopt;
    }
    if (!*alert) {
      SendError(res, 404, fmt::format("no alert {}", id.Uuid()));
      return std::nullopt;
    }
    finding = json::parse((*alert)->json, nullptr, false);
    if (finding.is_discarded()) {
      SendError(res, 500, fmt::format("alert {}: stored JSON is damaged", id.Uuid()));
      return std::nullopt;
    }
    const std::string tenant = TenantOf(finding);
    if (!caller.SeesTenant(tenant)) {
      SendError(res, 403,
                tenant.empty()
                    ? fmt::format("token '{}' may not read alerts without a tenant", caller.name)
                    : fmt::format("token '{}' may not read tenant '{}'", caller.name, tenant));
      return std::nullopt;
    }
    return std::move(**alert);
  }

  void Alert(const Request& req, Response& res) const {
    const ApiToken* caller = Require(req, res, ApiRole::kRead);
    if (caller == nullptr) return;
    auto store = StoreOr503(res);
    if (!store) return;
    json finding;
    Hash128 id;
    auto alert = AlertOfPath(req, res, *store, *caller, finding, id);
    if (!alert) return;
    json history = json::array();
    const json& unmapped = finding["unmapped"]["tuttle"];
    if (unmapped.contains("status_history")) history = unmapped["status_history"];
    // The evidence records: each record once, in event-time order.
    json records = json::array();
    std::set<std::string> seen;
    if (finding.contains("evidences") && finding["evidences"].is_array()) {
      for (const json& e : finding["evidences"]) {
        if (!e.contains("data") || !e["data"].is_object()) continue;
        const json& d = e["data"];
        const std::string uid = d.value("record_uid", "");
        if (uid.empty() || !seen.insert(uid).second) continue;
        json r = {{"record_uid", uid},
                  {"source", d.value("source", "")},
                  {"event_time", d.value("event_time", "")},
                  {"record", nullptr}};
        for (const char* k : {"partition", "offset", "line", "rule_uid", "rule_title"}) {
          if (d.contains(k)) r[k] = d[k];
        }
        auto stored = storage::FindEvidence(*store, uid);
        if (!stored.ok()) return SendError(res, 500, stored.error().message());
        if (*stored) {
          const storage::StoredEvidence& s = **stored;
          r["record"] = s.record;
          r["event_time"] = FormatTimestampNs(s.time);
          r["source"] = s.position.source;
          if (s.position.partition >= 0) {
            r["partition"] = s.position.partition;
            r["offset"] = s.position.offset;
          } else {
            r["line"] = s.position.offset;
          }
        }
        records.push_back(std::move(r));
      }
    }
    std::stable_sort(records.begin(), records.end(), [](const json& a, const json& b) {
      return ParseTimestamp(a.value("event_time", "")).value_or(0) <
             ParseTimestamp(b.value("event_time", "")).value_or(0);
    });
    json out = {{"alert", std::move(finding)},
                {"status", std::string(storage::AlertStatusWord(alert->status))},
                {"status_history", std::move(history)},
                {"evidence_records", std::move(records)}};
    SendJson(res, 200, Dump(out));
  }

  void SetStatus(const Request& req, Response& res) const {
    const ApiToken* caller = Require(req, res, ApiRole::kWrite);
    if (caller == nullptr) return;
    if (options.read_only_reason) {
      if (std::string why = options.read_only_reason(); !why.empty()) {
        return SendError(res, 409, why);
      }
    }
    auto store = StoreOr503(res);
    if (!store) return;
    const json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return SendError(res, 400,
                       "expected a JSON body {\"status\": \"acknowledged|closed|new|suppressed\", "
                       "\"by\": \"...\", \"note\": \"...\"}");
    }
    for (const auto& [key, value] : body.items()) {
      if (key != "status" && key != "by" && key != "note") {
        return SendError(res, 400, fmt::format("unknown field '{}' (known: status, by, note)", key),
                         key);
      }
      if (!value.is_string()) {
        return SendError(res, 400, fmt::format("field '{}': expected a string", key), key);
      }
    }
    const std::string word = body.value("status", "");
    const auto status = storage::ParseAlertStatus(word);
    if (!status) {
      return SendError(
          res, 400,
          fmt::format("status '{}': expected acknowledged, closed, new or suppressed", word),
          "status");
    }
    json finding;
    Hash128 id;
    auto alert = AlertOfPath(req, res, *store, *caller, finding, id);
    if (!alert) return;
    storage::StatusChange change;
    change.status = *status;
    change.by = body.value("by", "");
    if (change.by.empty()) change.by = caller->name;
    change.note = body.value("note", "");
    auto doc = storage::UpdateAlertStatus(*store, id, change);
    if (!doc.ok()) return SendError(res, 500, doc.error().message());
    auto updated = storage::FindAlert(*store, id);
    if (!updated.ok() || !*updated) return SendError(res, 500, "the alert vanished");
    std::string out = "{\"status\":";
    out += Dump(json(std::string(storage::AlertStatusWord(*status))));
    out += ",\"alert\":";
    out += (*updated)->json;
    out += '}';
    SendJson(res, 200, out);
  }

  void Rules(const Request& req, Response& res) const {
    if (Require(req, res, ApiRole::kRead) == nullptr) return;
    if (!CheckParams(req, res, {})) return;
    if (!options.rules_json) return SendError(res, 503, "no rules are loaded");
    std::string body = "{\"rules\":";
    body += options.rules_json();
    body += '}';
    SendJson(res, 200, body);
  }

  void Coverage(const Request& req, Response& res) const {
    const ApiToken* caller = Require(req, res, ApiRole::kRead);
    if (caller == nullptr) return;
    if (!CheckParams(req, res, {"since", "until"})) return;
    if (!options.coverage_json) return SendError(res, 503, "no rules are loaded");
    json doc = json::parse(options.coverage_json(), nullptr, false);
    if (doc.is_discarded()) return SendError(res, 500, "coverage: damaged JSON");
    // Alerts per technique (the heat map's colour), over the alerts the token may see.
    json by_technique = json::object();
    size_t counted = 0;
    bool truncated = false;
    if (auto store = options.store ? options.store() : nullptr) {
      storage::AlertQuery q;
      q.limit = 1000;
      const TimeNs now = store->Now();
      for (auto [name, bound] :
           {std::pair{"since", &q.filter.since}, std::pair{"until", &q.filter.until}}) {
        const std::string text = Param(req, name);
        if (text.empty()) continue;
        auto t = ParseTimeParam(text, now);
        if (!t) return BadParam(res, name, fmt::format("'{}': expected RFC 3339 or ns", text));
        *bound = *t;
      }
      if (!caller->AllTenants() && caller->tenants.size() == 1) {
        q.filter.tenant = caller->tenants.front();
      }
      std::map<std::string, uint64_t> counts;
      while (true) {
        auto page = storage::QueryAlerts(*store, q);
        if (!page.ok()) return SendError(res, 500, page.error().message());
        for (const auto& a : page->alerts) {
          const json j = json::parse(a.json, nullptr, false);
          if (j.is_discarded() || !caller->SeesTenant(TenantOf(j))) continue;
          ++counted;
          std::set<std::string> uids;
          for (const json& attack : j["finding_info"].value("attacks", json::array())) {
            for (const char* k : {"technique", "sub_technique"}) {
              if (attack.contains(k) && attack[k].contains("uid")) {
                uids.insert(attack[k]["uid"].get<std::string>());
              }
            }
          }
          for (const auto& u : uids) ++counts[u];
        }
        if (page->next_page_token.empty()) break;
        if (counted >= kMaxCoverageAlerts) {
          truncated = true;
          break;
        }
        q.page_token = page->next_page_token;
      }
      for (const auto& [uid, n] : counts) by_technique[uid] = n;
    }
    doc["alerts"] = {
        {"by_technique", std::move(by_technique)}, {"counted", counted}, {"truncated", truncated}};
    SendJson(res, 200, Dump(doc));
  }

  void Inventory(const Request& req, Response& res) const {
    const ApiToken* caller = Require(req, res, ApiRole::kRead);
    if (caller == nullptr) return;
    if (!CheckParams(req, res, {"tenant", "kind", "first_seen_since", "limit", "page_token"})) {
      return;
    }
    auto store = StoreOr503(res);
    if (!store) return;
    const std::string tenant = Param(req, "tenant");
    if (!tenant.empty() && !caller->SeesTenant(tenant)) {
      return SendError(res, 403,
                       fmt::format("token '{}' may not read tenant '{}'", caller->name, tenant),
                       "tenant");
    }
    std::optional<InventoryKind> kind;
    if (const std::string text = Param(req, "kind"); !text.empty()) {
      kind = InventoryKindFromName(text);
      if (!kind) {
        return BadParam(res, "kind",
                        fmt::format("'{}': expected cluster, namespace, workload, image, "
                                    "function, principal or invoker",
                                    text));
      }
    }
    std::optional<TimeNs> first_since;
    if (const std::string text = Param(req, "first_seen_since"); !text.empty()) {
      first_since = ParseTimeParam(text, store->Now());
      if (!first_since) {
        return BadParam(res, "first_seen_since",
                        fmt::format("'{}': expected RFC 3339, ns, or a duration (7d)", text));
      }
    }
    size_t limit = 100;
    if (const std::string text = Param(req, "limit"); !text.empty()) {
      auto n = ParseCount(text);
      if (!n || *n == 0 || *n > kMaxLimit) {
        return BadParam(res, "limit", fmt::format("'{}': expected 1 to {}", text, kMaxLimit));
      }
      limit = *n;
    }
    // Newest first seen first; the page token is the sort key of the last item returned.
    std::string after;
    if (const std::string text = Param(req, "page_token"); !text.empty()) {
      auto bytes = FromHex(text);
      if (!bytes || bytes->size() < 8) {
        return BadParam(res, "page_token", "malformed: pass next_page_token back unchanged");
      }
      after = std::move(*bytes);
    }
    // Sort key: first_seen descending (bitwise-inverted order-preserving bytes), then store key.
    auto sort_key = [](const InventoryItem& i, std::string_view key) {
      std::string k = storage::EncodeI64(i.first_seen);
      for (char& c : k) c = static_cast<char>(~static_cast<unsigned char>(c));
      k.append(key);
      return k;
    };
    std::vector<std::pair<std::string, InventoryItem>> items;
    InventoryItem item;
    Status st = store->ForEachInventory([&](std::string_view k, std::string_view v) -> Status {
      if (!DecodeInventoryItem(k, v, item)) return Error("inventory: damaged stored item");
      if (!caller->SeesTenant(item.tenant)) return Ok();
      if (!tenant.empty() && item.tenant != tenant) return Ok();
      if (kind && item.kind != *kind) return Ok();
      if (first_since && item.first_seen < *first_since) return Ok();
      std::string key = sort_key(item, k);
      if (!after.empty() && key <= after) return Ok();
      items.emplace_back(std::move(key), item);
      return Ok();
    });
    if (!st.ok()) return SendError(res, 500, st.error().message());
    std::sort(items.begin(), items.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string next;
    if (items.size() > limit) {
      items.resize(limit);
      next = ToHex(items.back().first);
    }
    json list = json::array();
    for (const auto& [key, i] : items) list.push_back(InventoryItemJson(i));
    SendJson(res, 200, Dump(json{{"items", std::move(list)}, {"next_page_token", next}}));
  }

  void Reload(const Request& req, Response& res) const {
    const ApiToken* caller = Require(req, res, ApiRole::kAdmin);
    if (caller == nullptr) return;
    if (!options.reload) return SendError(res, 501, "this server cannot reload rules");
    auto report = options.reload(caller->name);
    if (!report.ok()) {
      const std::string& message = report.error().message();
      // A hook that reports in JSON (`tuttle run`'s reloader) answers with its report as is.
      if (json j = json::parse(message, nullptr, false); j.is_object()) {
        if (!j.contains("status")) j["status"] = 422;
        return SendJson(res, 422, Dump(j));
      }
      // Otherwise the message lists the located diagnostics, one a line: also as a list.
      json diagnostics = json::array();
      size_t start = 0;
      while (start < message.size()) {
        size_t end = message.find('\n', start);
        if (end == std::string::npos) end = message.size();
        if (end > start) diagnostics.push_back(message.substr(start, end - start));
        start = end + 1;
      }
      return SendJson(
          res, 422,
          Dump(json{{"error", message}, {"status", 422}, {"diagnostics", std::move(diagnostics)}}));
    }
    SendJson(res, 200, *report);
  }

  void Metrics(const Request& req, Response& res) const {
    const ApiToken* caller = Caller(req);
    if (caller == nullptr) return Unauthorized(res);
    if (!caller->CanScrapeMetrics()) {
      return SendError(res, 403,
                       fmt::format("token '{}' (role {}) may not scrape /metrics: it needs role "
                                   "metrics or admin",
                                   caller->name, ApiRoleName(caller->role)));
    }
    if (options.metrics == nullptr) return SendError(res, 404, "no metrics here");
    res.set_content(options.metrics->Expose(), std::string(MetricsRegistry::kContentType).c_str());
  }

  void Ready(Response& res) const {
    std::string reason;
    bool ready = !options.ready || options.ready(reason);
    if (ready && options.store && !options.store()) {
      ready = false;
      reason = "no store is open";
    }
    res.status = ready ? 200 : 503;
    res.set_content(ready ? std::string("ready\n") : Cat("not ready: ", reason) + "\n",
                    "text/plain; charset=utf-8");
  }

  void Static(const std::string& path, Response& res) const {
    const std::string_view want = path == "/" ? std::string_view("index.html")
                                              : std::string_view(path).substr(9);  // "/console/"
    for (const EmbeddedFile& f : ConsoleFiles()) {
      if (f.path == want) {
        res.set_content(std::string(f.data), std::string(ContentType(f.path)).c_str());
        res.set_header("Content-Security-Policy", kConsoleCsp);
        return;
      }
    }
    SendError(res, 404, fmt::format("no such file: {}", path));
  }
};

ApiServer::ApiServer(ApiServerOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {}

Result<std::unique_ptr<ApiServer>> ApiServer::Start(ApiServerOptions options) {
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return Error("TLS needs both a certificate (--tls-cert) and its key (--tls-key)");
  }
  if (!options.tokens && !options.insecure && !IsLoopbackHost(options.host)) {
    return Error(fmt::format(
        "refusing to serve the API on {} without tokens: anyone who can reach it could read "
        "and change alerts. Give --api-tokens FILE (docs/api.md#tokens), listen on 127.0.0.1, "
        "or accept the risk with --api-insecure",
        options.host));
  }
  std::unique_ptr<ApiServer> s(new ApiServer(std::move(options)));
  Impl* impl = s->impl_.get();
  const ApiServerOptions& o = s->options_;
  if (!o.tls_cert.empty()) {
    for (const std::string* f : {&o.tls_cert, &o.tls_key}) {
      if (!std::filesystem::exists(*f)) return Error(fmt::format("TLS: no file '{}'", *f));
    }
    auto ssl = std::make_unique<httplib::SSLServer>(o.tls_cert.c_str(), o.tls_key.c_str());
    if (!ssl->is_valid()) {
      return Error(fmt::format(
          "TLS: cannot load the certificate '{}' and key '{}' (PEM; the key must match)",
          o.tls_cert, o.tls_key));
    }
    impl->server = std::move(ssl);
  } else {
    impl->server = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *impl->server;
  const size_t threads = std::max<size_t>(1, o.threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // No SO_REUSEPORT (httplib's default): a second process must not share the port.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server.set_payload_max_length(o.max_body_bytes);
  server.set_read_timeout(10, 0);
  server.set_write_timeout(10, 0);

  server.set_pre_routing_handler([impl](const Request& req, Response& res) {
    if (IsPublic(req.path) || impl->Caller(req) != nullptr) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    Impl::Unauthorized(res);
    return httplib::Server::HandlerResponse::Handled;
  });
  server.set_post_routing_handler([](const Request& req, Response& res) {
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    if (req.path.rfind("/api/", 0) == 0 || req.path == "/metrics") {
      res.set_header("Cache-Control", "no-store");
    } else if (!IsPublic(req.path) || req.path == "/healthz" || req.path == "/readyz") {
      res.set_header("Cache-Control", "no-store");
    } else {
      res.set_header("X-Frame-Options", "DENY");
      res.set_header("Cache-Control", "no-cache");
    }
  });
  // Errors without a body of their own (unknown routes, 413) get a JSON one.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const Request& req, Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        const std::string message =
            res.status == 404   ? fmt::format("no route {} {}", req.method, req.path)
            : res.status == 413 ? std::string("request body too large")
            : res.status == 405 ? fmt::format("method {} not allowed on {}", req.method, req.path)
                                : fmt::format("HTTP {}", res.status);
        SendError(res, res.status, message);
        return httplib::Server::HandlerResponse::Handled;
      }));

  server.Get("/api/v1/alerts", [impl](const Request& q, Response& r) { impl->Alerts(q, r); });
  server.Get(R"(/api/v1/alerts/([^/]+))",
             [impl](const Request& q, Response& r) { impl->Alert(q, r); });
  server.Post(R"(/api/v1/alerts/([^/]+)/status)",
              [impl](const Request& q, Response& r) { impl->SetStatus(q, r); });
  server.Get("/api/v1/rules", [impl](const Request& q, Response& r) { impl->Rules(q, r); });
  server.Get("/api/v1/coverage", [impl](const Request& q, Response& r) { impl->Coverage(q, r); });
  server.Get("/api/v1/inventory", [impl](const Request& q, Response& r) { impl->Inventory(q, r); });
  server.Post("/api/v1/rules/reload",
              [impl](const Request& q, Response& r) { impl->Reload(q, r); });
  server.Get("/metrics", [impl](const Request& q, Response& r) { impl->Metrics(q, r); });
  server.Get("/healthz", [](const Request&, Response& r) {
    r.set_content("ok\n", "text/plain; charset=utf-8");
  });
  server.Get("/readyz", [impl](const Request&, Response& r) { impl->Ready(r); });
  if (o.console) {
    server.Get("/", [impl](const Request& q, Response& r) { impl->Static(q.path, r); });
    server.Get(R"(/console/([A-Za-z0-9._-]+))",
               [impl](const Request& q, Response& r) { impl->Static(q.path, r); });
  }

  const std::string& host = o.host;
  if (o.port == 0) {
    s->port_ = server.bind_to_any_port(host);
  } else if (server.bind_to_port(host, o.port)) {
    s->port_ = o.port;
  } else {
    s->port_ = -1;
  }
  if (s->port_ <= 0) {
    return Error(fmt::format("cannot listen on {}:{} ({})", host, o.port, std::strerror(errno)));
  }
  impl->thread = std::thread([impl] {
    impl->server->listen_after_bind();
    impl->listening_done.store(true);
  });
  // httplib's stop() does nothing before the loop runs: wait for it, so Stop() cannot be lost.
  while (!impl->server->is_running() && !impl->listening_done.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return s;
}

void ApiServer::Stop() {
  if (!impl_->thread.joinable()) return;
  impl_->server->stop();
  impl_->thread.join();
}

ApiServer::~ApiServer() { Stop(); }

std::string ApiServer::Url() const {
  const bool v6 = options_.host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}", tls() ? "https" : "http", v6 ? "[" : "", options_.host,
                     v6 ? "]" : "", port_);
}

}  // namespace tuttle::tools
