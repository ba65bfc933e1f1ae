// The HTTP API (docs/api.md): a real server on 127.0.0.1 over a real store of constructed alerts
// in three tenants, called with httplib clients as the console and scripts would: filters,
// paging, alert detail, status changes, the token matrix (401/403), probes, hooks, TLS.

#include "api_server.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "support/test_support.h"
#include "tuttle/engine/alert.h"
#include "tuttle/engine/hash.h"
#include "tuttle/engine/inventory.h"
#include "tuttle/engine/strings.h"
#include "tuttle/storage/store.h"

namespace tuttle::tools {
namespace {

using nlohmann::json;
using testing::TempDir;

constexpr TimeNs kSecond = 1'000'000'000;
constexpr TimeNs kBase = TimeNs{1'767'225'600} * kSecond;  // 2026-01-01T00:00:00Z

// Tokens of every kind: tenant-scoped and not, each role.
constexpr const char* kTokens = R"(
tokens:
  - name: admin
    token: admin-secret
    tenants: ["*"]
    role: admin
  - name: acme-reader
    token: acme-read
    tenants: [acme]
    role: read
  - name: acme-writer
    token: acme-write
    tenants: [acme]
    role: write
  - name: two-tenants
    token: acme-beta
    tenants: [acme, beta]
  - name: prometheus
    token: scrape-me
    role: metrics
)";

Alert MakeAlert(const std::string& rule_id, Level level, TimeNs time, const std::string& tenant,
                const std::string& ns) {
  auto info = std::make_shared<RuleInfo>();
  info->id = rule_id;
  info->title = Cat("Title of ", rule_id);
  info->level = level;
  info->tags = {"attack.execution", "attack.t1609"};
  Alert a;
  a.rule = info;
  a.kind = "single";
  a.time = a.window_start = a.window_end = time;
  a.tenant = tenant;
  a.entities.namespace_name = ns;
  a.evidence.push_back(Evidence{SourcePosition{"telemetry", 0, time / kSecond}, time,
                                HashBytes(rule_id + std::to_string(time)), info});
  a.id = ComputeAlertId(a);
  return a;
}

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::Store::Open((dir_.path() / "store").string());
    ASSERT_TRUE(store.ok()) << store.error().message();
    store_ = std::shared_ptr<storage::Store>(std::move(*store));
    BatchOutput batch;
    // 12 acme alerts, 7 beta, 3 without a tenant; levels and rules vary.
    int i = 0;
    for (const auto& [tenant, n] :
         std::vector<std::pair<std::string, int>>{{"acme", 12}, {"beta", 7}, {"", 3}}) {
      for (int k = 0; k < n; ++k, ++i) {
        const Level level = k % 3 == 0 ? Level::kHigh : Level::kMedium;
        const std::string rule = k % 2 == 0 ? "k8s-exec" : "k8s-secrets";
        Alert a = MakeAlert(rule, level, kBase + i * kSecond, tenant, "ns" + std::to_string(k));
        ids_[tenant].push_back(a.id.Uuid());
        // The raw records of the acme alerts are kept; the others' are not.
        if (tenant == "acme") {
          const Evidence& e = a.evidence.front();
          batch.evidence.push_back(EvidenceRecord{e.record_id, e.time, e.position,
                                                  fmt::format(R"({{"record":{}}})", k)});
        }
        batch.alerts.push_back(std::move(a));
      }
    }
    for (const auto& [tenant, name] : std::vector<std::pair<std::string, std::string>>{
             {"acme", "payments"}, {"acme", "default"}, {"beta", "web"}}) {
      InventoryItem item;
      item.kind = InventoryKind::kNamespace;
      item.tenant = tenant;
      item.name = name;
      item.source = "k8s_audit";
      item.first_seen = item.last_seen = kBase;
      item.events = 1;
      batch.inventory.emplace_back(InventoryKey(item), EncodeInventoryItem(item));
    }
    ASSERT_TRUE(store_->Write(batch).ok());
    ASSERT_TRUE(store_->Finish().ok());

    Diagnostics diagnostics;
    auto tokens = ApiTokens::Parse(kTokens, "tokens.yaml", diagnostics);
    ASSERT_TRUE(tokens.ok()) << tokens.error().message();
    tokens_ = std::make_shared<const ApiTokens>(std::move(*tokens));
  }

  // Starts the server with the store and hooks; `tweak` may change the options first.
  void Start(const std::function<void(ApiServerOptions&)>& tweak = {}) {
    ApiServerOptions o;
    o.tokens = tokens_;
    o.store = [this] { return store_; };
    o.rules_json = [] { return std::string(R"([{"id":"k8s-exec","kind":"detection"}])"); };
    o.coverage_json = [] {
      return std::string(R"({"containers":{"covered":1,"total":2,"tactics":[]}})");
    };
    o.reload = [this](const std::string& by) -> Result<std::string> {
      reloads_.push_back(by);
      if (fail_reload_) return Error("rules/bad.yml:3:1: error: unknown modifier");
      return std::string(R"({"reloaded":true})");
    };
    o.metrics = &registry_;
    registry_.AddCounter("tuttle_api_test_total", "Test").With().Add(3);
    if (tweak) tweak(o);
    auto server = ApiServer::Start(std::move(o));
    ASSERT_TRUE(server.ok()) << server.error().message();
    server_ = std::move(*server);
  }

  httplib::Result Get(const std::string& path, const std::string& token = "admin-secret") {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(std::chrono::seconds(10));
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return c.Get(path.c_str(), h);
  }
  httplib::Result Post(const std::string& path, const std::string& body,
                       const std::string& token = "admin-secret") {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(std::chrono::seconds(10));
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return c.Post(path.c_str(), h, body, "application/json");
  }
  json GetJson(const std::string& path, const std::string& token = "admin-secret", int want = 200) {
    auto r = Get(path, token);
    EXPECT_TRUE(r) << path;
    if (!r) return json();
    EXPECT_EQ(r->status, want) << path << " -> " << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << path;
    return json::parse(r->body, nullptr, false);
  }

  // Every alert id over all pages of `query` (limit 5), each page's token followed.
  std::vector<std::string> WalkPages(const std::string& query, const std::string& token) {
    std::vector<std::string> ids;
    std::string page_token;
    for (int pages = 0; pages < 100; ++pages) {
      std::string path = "/api/v1/alerts?limit=5" + query;
      if (!page_token.empty()) path += "&page_token=" + page_token;
      const json j = GetJson(path, token);
      if (!j.contains("alerts")) break;
      EXPECT_LE(j["alerts"].size(), 5u);
      for (const json& a : j["alerts"]) ids.push_back(a["finding_info"]["uid"]);
      page_token = j.value("next_page_token", "");
      if (page_token.empty()) break;
    }
    return ids;
  }

  std::set<std::string> IdsOf(std::initializer_list<std::string> tenants) {
    std::set<std::string> out;
    for (const auto& t : tenants) out.insert(ids_[t].begin(), ids_[t].end());
    return out;
  }

  TempDir dir_;
  std::shared_ptr<storage::Store> store_;
  std::shared_ptr<const ApiTokens> tokens_;
  std::map<std::string, std::vector<std::string>> ids_;  // alert ids by tenant
  MetricsRegistry registry_;
  std::vector<std::string> reloads_;
  bool fail_reload_ = false;
  std::unique_ptr<ApiServer> server_;
};

TEST_F(ApiServerTest, PagesWalkEveryAlertExactlyOnceNewestFirst) {
  Start();
  const std::vector<std::string> ids = WalkPages("", "admin-secret");
  EXPECT_EQ(ids.size(), 22u);
  const std::set<std::string> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct, IdsOf({"acme", "beta", ""}));
  // Newest first: the last alert written comes first.
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), ids_[""].back());
  const std::vector<std::string> oldest = WalkPages("&order=oldest", "admin-secret");
  ASSERT_EQ(oldest.size(), 22u);
  EXPECT_EQ(oldest.front(), ids_["acme"].front());
}

TEST_F(ApiServerTest, FiltersMapOntoTheQuery) {
  Start();
  json j = GetJson("/api/v1/alerts?severity=high&tenant=acme&limit=100");
  ASSERT_TRUE(j.contains("alerts"));
  EXPECT_EQ(j["alerts"].size(), 4u);  // k = 0, 3, 6, 9
  for (const json& a : j["alerts"]) {
    EXPECT_EQ(a["severity"], "High");
    EXPECT_EQ(a["metadata"]["tenant_uid"], "acme");
  }
  EXPECT_FALSE(j["plan"].get<std::string>().empty());
  j = GetJson("/api/v1/alerts?rule=k8s-secrets&tenant=beta&limit=100");
  EXPECT_EQ(j["alerts"].size(), 3u);
  j = GetJson(fmt::format("/api/v1/alerts?since={}&until={}&limit=100", kBase + 2 * kSecond,
                          kBase + 5 * kSecond));
  EXPECT_EQ(j["alerts"].size(), 3u);
  j = GetJson("/api/v1/alerts?since=2026-01-01T00:00:20Z&limit=100");
  EXPECT_EQ(j["alerts"].size(), 2u);
  j = GetJson("/api/v1/alerts?entity=namespace=ns1&limit=100");
  EXPECT_EQ(j["alerts"].size(), 3u);  // one per tenant
  j = GetJson("/api/v1/alerts?min_severity=high&status=new&limit=100");
  EXPECT_EQ(j["alerts"].size(), 4u + 3u + 1u);
}

TEST_F(ApiServerTest, BadParametersAre400sNamingTheParameter) {
  Start();
  for (const auto& [query, param] :
       std::vector<std::pair<std::string, std::string>>{{"since=yesterday-ish", "since"},
                                                        {"until=12:00", "until"},
                                                        {"severity=urgent", "severity"},
                                                        {"min_severity=7", "min_severity"},
                                                        {"status=done", "status"},
                                                        {"limit=0", "limit"},
                                                        {"limit=abc", "limit"},
                                                        {"order=up", "order"},
                                                        {"page_token=zz", "page_token"},
                                                        {"sevrity=high", "sevrity"}}) {
    const json j = GetJson("/api/v1/alerts?" + query, "admin-secret", 400);
    EXPECT_EQ(j.value("parameter", ""), param) << query;
    EXPECT_NE(j.value("error", "").find(param), std::string::npos) << query;
  }
  EXPECT_EQ(GetJson("/api/v1/inventory?kind=spaceship", "admin-secret", 400)["parameter"], "kind");
  EXPECT_EQ(GetJson("/api/v1/alerts/not-an-id", "admin-secret", 400)["parameter"], "id");
}

TEST_F(ApiServerTest, UnknownRoutesAre404AndAnswersAreNotCached) {
  Start();
  auto r = Get("/api/v1/nothing-here");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("no route"), std::string::npos);
  r = Get("/api/v1/alerts?limit=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_FALSE(r->has_header("Access-Control-Allow-Origin"));
  const json none =
      GetJson("/api/v1/alerts/00000000-0000-0000-0000-000000000000", "admin-secret", 404);
  EXPECT_NE(none.value("error", "").find("no alert"), std::string::npos);
}

TEST_F(ApiServerTest, AlertDetailCarriesEvidenceRecordsAndStatusHistory) {
  Start();
  const std::string id = ids_["acme"][3];
  json j = GetJson("/api/v1/alerts/" + id);
  ASSERT_TRUE(j.contains("alert"));
  EXPECT_EQ(j["alert"]["finding_info"]["uid"], id);
  EXPECT_EQ(j["status"], "new");
  EXPECT_TRUE(j["status_history"].empty());
  ASSERT_EQ(j["evidence_records"].size(), 1u);
  const json& e = j["evidence_records"][0];
  EXPECT_EQ(e["source"], "telemetry");
  EXPECT_EQ(e["partition"], 0);
  EXPECT_EQ(e["offset"], 1'767'225'603);
  EXPECT_EQ(e["record_uid"], j["alert"]["evidences"][0]["data"]["record_uid"]);
  EXPECT_EQ(e["record"], R"({"record":3})");
  EXPECT_EQ(e["event_time"], "2026-01-01T00:00:03.000000000Z");
  // Without a stored record: the position and time from the finding, "record": null.
  const json other = GetJson("/api/v1/alerts/" + ids_["beta"][0]);
  ASSERT_EQ(other["evidence_records"].size(), 1u);
  EXPECT_TRUE(other["evidence_records"][0]["record"].is_null());
  EXPECT_EQ(other["evidence_records"][0]["offset"], 1'767'225'612);

  auto r = Post("/api/v1/alerts/" + id + "/status",
                R"({"status":"acknowledged","by":"alice","note":"looking"})", "acme-write");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["alert"]["status"], "In Progress");

  j = GetJson("/api/v1/alerts/" + id);
  EXPECT_EQ(j["status"], "acknowledged");
  ASSERT_EQ(j["status_history"].size(), 1u);
  EXPECT_EQ(j["status_history"][0]["actor"]["user"]["name"], "alice");
  EXPECT_EQ(j["status_history"][0]["comment"], "looking");
  // The list shows it under its new status.
  j = GetJson("/api/v1/alerts?status=acknowledged");
  ASSERT_EQ(j["alerts"].size(), 1u);
  EXPECT_EQ(j["alerts"][0]["finding_info"]["uid"], id);

  // Without `by`, the token's name is recorded.
  r = Post("/api/v1/alerts/" + id + "/status", R"({"status":"closed"})", "acme-write");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  j = GetJson("/api/v1/alerts/" + id);
  EXPECT_EQ(j["status"], "closed");
  EXPECT_EQ(j["status_history"][1]["actor"]["user"]["name"], "acme-writer");

  for (const std::string body :
       {"not json", R"({"status":"done"})", R"({"status":1})", R"({"status":"new","who":"x"})"}) {
    r = Post("/api/v1/alerts/" + id + "/status", body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << body;
  }
}

TEST_F(ApiServerTest, WithoutAValidTokenEveryApiRouteIs401) {
  Start();
  const std::vector<std::string> paths = {
      "/api/v1/alerts",    "/api/v1/rules", "/api/v1/coverage",
      "/api/v1/inventory", "/metrics",      Cat("/api/v1/alerts/", ids_["acme"][0])};
  for (const std::string& path : paths) {
    for (const std::string token : {"", "wrong-token", "admin-secretX"}) {
      auto r = Get(path, token);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 401) << path << " token '" << token << "'";
      EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer realm=\"tuttle\"");
    }
  }
  auto r = Post("/api/v1/alerts/" + ids_["acme"][0] + "/status", R"({"status":"closed"})", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  // A token sent with another scheme is no bearer token.
  httplib::Client c("127.0.0.1", server_->port());
  r = c.Get("/api/v1/alerts", {{"Authorization", "Basic admin-secret"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  // Probes and the console need none.
  for (const char* path : {"/healthz", "/readyz", "/"}) {
    r = Get(path, "");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << path;
  }
}

TEST_F(ApiServerTest, AnotherTenantsDataIs403) {
  Start();
  EXPECT_EQ(GetJson("/api/v1/alerts?tenant=beta", "acme-read", 403)["parameter"], "tenant");
  EXPECT_EQ(GetJson("/api/v1/inventory?tenant=beta", "acme-read", 403)["parameter"], "tenant");
  GetJson("/api/v1/alerts/" + ids_["beta"][0], "acme-read", 403);
  GetJson("/api/v1/alerts/" + ids_[""][0], "acme-read", 403);  // no tenant needs "*"
  GetJson("/api/v1/alerts/" + ids_["acme"][0], "acme-read", 200);
  auto r =
      Post("/api/v1/alerts/" + ids_["beta"][0] + "/status", R"({"status":"closed"})", "acme-write");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403) << r->body;
  // Nothing changed.
  EXPECT_EQ(GetJson("/api/v1/alerts/" + ids_["beta"][0])["status"], "new");
}

TEST_F(ApiServerTest, RolesGateWritesReloadAndMetrics) {
  Start();
  auto r =
      Post("/api/v1/alerts/" + ids_["acme"][0] + "/status", R"({"status":"closed"})", "acme-read");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403) << "a read token changed a status";
  for (const char* token : {"acme-read", "acme-write", "acme-beta"}) {
    r = Post("/api/v1/rules/reload", "", token);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << token;
    auto m = Get("/metrics", token);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->status, 403) << token;
  }
  EXPECT_TRUE(reloads_.empty());
  // A metrics token scrapes, and reads nothing else.
  auto m = Get("/metrics", "scrape-me");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_NE(m->body.find("tuttle_api_test_total 3"), std::string::npos);
  GetJson("/api/v1/alerts", "scrape-me", 403);
  m = Get("/metrics", "admin-secret");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);

  r = Post("/api/v1/rules/reload", "", "admin-secret");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"reloaded":true})");
  ASSERT_EQ(reloads_, std::vector<std::string>{"admin"});
  fail_reload_ = true;
  r = Post("/api/v1/rules/reload", "", "admin-secret");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 422);
  EXPECT_NE(json::parse(r->body)["error"].get<std::string>().find("unknown modifier"),
            std::string::npos);
}

TEST_F(ApiServerTest, ATenantScopedTokenSeesOnlyItsTenantsAcrossPages) {
  Start();
  std::vector<std::string> ids = WalkPages("", "acme-read");
  EXPECT_EQ(ids.size(), 12u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), IdsOf({"acme"}));
  // Two tenants: filtered after reading, still each alert once.
  ids = WalkPages("", "acme-beta");
  EXPECT_EQ(ids.size(), 19u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), IdsOf({"acme", "beta"}));
  ids = WalkPages("&severity=high", "acme-beta");
  EXPECT_EQ(ids.size(), 4u + 3u);
  // Asking for its own tenant works; the inventory is filtered the same way.
  EXPECT_EQ(GetJson("/api/v1/alerts?tenant=acme&limit=100", "acme-read")["alerts"].size(), 12u);
  json inv = GetJson("/api/v1/inventory", "acme-read");
  ASSERT_EQ(inv["items"].size(), 2u);
  for (const json& i : inv["items"]) EXPECT_EQ(i["tenant"], "acme");
  EXPECT_EQ(GetJson("/api/v1/inventory")["items"].size(), 3u);
}

TEST_F(ApiServerTest, InventoryPagesAndFilters) {
  Start();
  json j = GetJson("/api/v1/inventory?limit=2");
  ASSERT_EQ(j["items"].size(), 2u);
  ASSERT_FALSE(j["next_page_token"].get<std::string>().empty());
  json k =
      GetJson("/api/v1/inventory?limit=2&page_token=" + j["next_page_token"].get<std::string>());
  ASSERT_EQ(k["items"].size(), 1u);
  EXPECT_EQ(k["next_page_token"], "");
  std::set<std::string> names;
  for (const json* page : {&j, &k}) {
    for (const json& i : (*page)["items"]) names.insert(i["name"]);
  }
  EXPECT_EQ(names, (std::set<std::string>{"payments", "default", "web"}));
  EXPECT_EQ(GetJson("/api/v1/inventory?kind=image")["items"].size(), 0u);
  EXPECT_EQ(GetJson("/api/v1/inventory?first_seen_since=2026-01-02T00:00:00Z")["items"].size(), 0u);
}

TEST_F(ApiServerTest, RulesAndCoverageComeFromTheHooks) {
  Start();
  json j = GetJson("/api/v1/rules", "acme-read");
  ASSERT_EQ(j["rules"].size(), 1u);
  EXPECT_EQ(j["rules"][0]["id"], "k8s-exec");
  j = GetJson("/api/v1/coverage", "acme-read");
  EXPECT_EQ(j["containers"]["covered"], 1);
  // Alerts per technique, over the token's tenants only.
  EXPECT_EQ(j["alerts"]["by_technique"]["T1609"], 12);
  EXPECT_EQ(GetJson("/api/v1/coverage")["alerts"]["by_technique"]["T1609"], 22);
}

TEST_F(ApiServerTest, ReadyzFollowsTheHook) {
  std::atomic<bool> ready{false};
  Start([&](ApiServerOptions& o) {
    o.ready = [&](std::string& reason) {
      if (!ready) reason = "rules not loaded yet";
      return ready.load();
    };
  });
  auto r = Get("/readyz", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("rules not loaded yet"), std::string::npos);
  ready = true;
  r = Get("/readyz", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ApiServerTest, AReadOnlyServerAnswers409ToStatusChanges) {
  Start([](ApiServerOptions& o) {
    o.read_only_reason = [] { return std::string("another process writes the store"); };
  });
  auto r = Post("/api/v1/alerts/" + ids_["acme"][0] + "/status", R"({"status":"closed"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
  EXPECT_NE(r->body.find("another process writes the store"), std::string::npos);
}

TEST_F(ApiServerTest, LargeBodiesAreRefused) {
  Start();
  auto r = Post("/api/v1/alerts/" + ids_["acme"][0] + "/status", std::string(100'000, 'x'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(ApiServerTest, TheConsoleIsServedWithASecurityPolicy) {
  Start();
  auto r = Get("/", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(r->get_header_value("Content-Security-Policy").find("default-src 'self'"),
            std::string::npos);
  EXPECT_EQ(r->get_header_value("X-Frame-Options"), "DENY");
  r = Get("/console/console.js", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  r = Get("/console/../api_server.cc", "");
  ASSERT_TRUE(r);
  EXPECT_NE(r->status, 200);
}

TEST(ApiServer, WithoutTokensListensOnLoopbackOnlyUnlessInsecure) {
  ApiServerOptions o;
  o.host = "0.0.0.0";
  auto server = ApiServer::Start(o);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.error().message().find("--api-tokens"), std::string::npos);
  o.insecure = true;
  server = ApiServer::Start(o);
  ASSERT_TRUE(server.ok()) << server.error().message();
  // Loopback without tokens: everyone is an admin.
  ApiServerOptions local;
  local.rules_json = [] { return std::string("[]"); };
  auto open = ApiServer::Start(local);
  ASSERT_TRUE(open.ok());
  httplib::Client c("127.0.0.1", (*open)->port());
  auto r = c.Get("/api/v1/rules");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
}

TEST(ApiTokensFile, ErrorsAreLocated) {
  Diagnostics d;
  auto t = ApiTokens::Parse(R"(tokens:
  - name: a
    token: x
    role: superuser
    tenants: [acme]
  - name: b
    sha256: nothex
  - token: y
    tenants: ["*"]
    colour: red
)",
                            "tokens.yaml", d);
  ASSERT_FALSE(t.ok());
  std::string all;
  for (const auto& x : d) all += x.ToString() + "\n";
  EXPECT_NE(all.find("tokens.yaml:4:11: error: tokens[0].role: unknown role 'superuser'"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("tokens[1].sha256: expected 64 hex digits"), std::string::npos) << all;
  EXPECT_NE(all.find("tokens[1]: missing 'tenants'"), std::string::npos) << all;
  EXPECT_NE(all.find("tokens[2]: missing 'name'"), std::string::npos) << all;
  EXPECT_NE(all.find("tokens[2].colour: unknown key"), std::string::npos) << all;
}

TEST(ApiTokensFile, Sha256AndTokenFilesAuthenticate) {
  TempDir dir;
  std::ofstream(dir.path() / "secret") << "from-a-file\n";
  Diagnostics d;
  auto t = ApiTokens::Parse(fmt::format(R"(tokens:
  - name: hashed
    sha256: {}
    tenants: [acme]
  - name: filed
    token_file: secret
    tenants: ["*"]
    role: admin
)",
                                        Sha256Hex("hashed-token")),
                            (dir.path() / "tokens.yaml").string(), d);
  ASSERT_TRUE(t.ok()) << t.error().message();
  const ApiToken* a = t->Authenticate("Bearer hashed-token");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name, "hashed");
  EXPECT_EQ(a->role, ApiRole::kRead);
  const ApiToken* b = t->Authenticate("bearer   from-a-file");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->name, "filed");
  EXPECT_EQ(t->Authenticate("Bearer from-a-fil"), nullptr);
  EXPECT_EQ(t->Authenticate("from-a-file"), nullptr);
  EXPECT_EQ(t->Authenticate(""), nullptr);
}

TEST(ApiServerTls, ServesHttpsWithTheGivenCertificate) {
  TempDir dir;
  const std::string cert = (dir.path() / "cert.pem").string();
  const std::string key = (dir.path() / "key.pem").string();
  // The openssl CLI, wherever PATH has it.
  std::string openssl;
  const char* path = std::getenv("PATH");
  for (const auto& folder : {std::string(path ? path : ""), std::string("/usr/bin")}) {
    size_t start = 0;
    while (start <= folder.size() && openssl.empty()) {
      const size_t end = std::min(folder.find(':', start), folder.size());
      const std::filesystem::path candidate =
          std::filesystem::path(folder.substr(start, end - start)) / "openssl";
      if (end > start && std::filesystem::exists(candidate)) openssl = candidate.string();
      start = end + 1;
    }
  }
  if (openssl.empty()) GTEST_SKIP() << "no openssl CLI on PATH";
  auto gen =
      testing::RunProcess({openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                           "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext",
                           "subjectAltName=DNS:localhost,IP:127.0.0.1"});
  if (gen.exit_code != 0) GTEST_SKIP() << "openssl CLI unavailable: " << gen.err;
  ApiServerOptions o;
  o.tls_cert = cert;
  o.tls_key = key;
  auto server = ApiServer::Start(o);
  ASSERT_TRUE(server.ok()) << server.error().message();
  EXPECT_TRUE((*server)->tls());
  EXPECT_EQ((*server)->Url(), fmt::format("https://127.0.0.1:{}", (*server)->port()));

  httplib::SSLClient tls("127.0.0.1", (*server)->port());
  tls.set_ca_cert_path(cert.c_str());
  tls.enable_server_certificate_verification(true);
  auto r = tls.Get("/healthz");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok\n");
  // Plain HTTP gets no answer.
  httplib::Client plain("127.0.0.1", (*server)->port());
  plain.set_read_timeout(std::chrono::seconds(2));
  auto p = plain.Get("/healthz");
  EXPECT_TRUE(!p || p->status != 200);
  // A client that trusts another CA refuses the server.
  httplib::SSLClient strict("127.0.0.1", (*server)->port());
  strict.enable_server_certificate_verification(true);
  strict.set_ca_cert_path("/nonexistent/ca.pem");
  EXPECT_FALSE(strict.Get("/healthz"));

  // Mismatched files fail to start, saying so.
  ApiServerOptions bad;
  bad.tls_cert = cert;
  bad.tls_key = (dir.path() / "missing.pem").string();
  auto failed = ApiServer::Start(bad);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message().find("TLS"), std::string::npos);
}

}  // namespace
}  // namespace tuttle::tools
