#include "inventory_command.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "store_commands.h"
#include "tuttle/engine/strings.h"
#include "tuttle/engine/time.h"

namespace tuttle::tools {
namespace {

constexpr std::string_view kPolicyKeys[] = {"images", "registries", "workloads", "functions",
                                            "namespaces"};

Diagnostic At(const std::string& file, const YAML::Mark& mark, std::string message,
              std::string hint = {}) {
  Diagnostic d;
  d.file = file;
  d.line = mark.line >= 0 ? mark.line + 1 : 0;
  d.column = mark.column >= 0 ? mark.column + 1 : 0;
  d.message = std::move(message);
  d.hint = std::move(hint);
  return d;
}

std::string KnownKeys() {
  std::string out;
  for (std::string_view k : kPolicyKeys) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

}  // namespace

Result<InventoryPolicy> LoadInventoryPolicy(const std::string& path, Diagnostics& diagnostics) {
  std::ifstream in(path);
  if (!in) return Error(fmt::format("cannot open approved-inventory file '{}'", path));
  std::stringstream text;
  text << in.rdbuf();
  return ParseInventoryPolicy(text.str(), path, diagnostics);
}

Result<InventoryPolicy> ParseInventoryPolicy(const std::string& text, const std::string& path,
                                             Diagnostics& diagnostics) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    diagnostics.push_back(At(path, e.mark, e.msg));
    return Error(fmt::format("{}: not valid YAML", path));
  }
  InventoryPolicy policy;
  policy.file = path;
  const size_t errors_before = diagnostics.size();
  const YAML::Node& map = root;
  if (!map.IsMap()) {
    if (!map.IsNull()) {
      diagnostics.push_back(At(path, map.Mark(), "expected a map of lists",
                               fmt::format("keys: {}", KnownKeys())));
    }
  } else {
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      std::optional<std::vector<std::string>>* target = nullptr;
      if (key == "images") target = &policy.images;
      if (key == "registries") target = &policy.registries;
      if (key == "workloads") target = &policy.workloads;
      if (key == "functions") target = &policy.functions;
      if (key == "namespaces") target = &policy.namespaces;
      if (target == nullptr) {
        diagnostics.push_back(At(path, kv.first.Mark(), fmt::format("unknown key '{}'", key),
                                 fmt::format("keys: {}", KnownKeys())));
        continue;
      }
      const YAML::Node& list = kv.second;
      target->emplace();
      if (list.IsNull()) continue;  // present and empty: approves nothing of that kind
      if (!list.IsSequence()) {
        diagnostics.push_back(At(path, list.Mark(),
                                 fmt::format("{}: expected a list of patterns", key),
                                 "write [pattern, ...] or one '- pattern' per line"));
        continue;
      }
      for (const YAML::Node& item : list) {
        if (!item.IsScalar() || item.Scalar().empty()) {
          diagnostics.push_back(At(path, item.Mark(),
                                   fmt::format("{}: a pattern must be a non-empty string", key),
                                   "'*' matches any run of characters, '?' one"));
          continue;
        }
        (*target)->push_back(item.Scalar());
      }
    }
  }
  if (diagnostics.size() > errors_before) {
    return Error(fmt::format("{}: {} error{}", path, diagnostics.size() - errors_before,
                             diagnostics.size() - errors_before == 1 ? "" : "s"));
  }
  return policy;
}

Result<std::unique_ptr<Inventory>> PrepareInventory(const std::string& approved_file,
                                                    const storage::Store* store) {
  InventoryPolicy policy;
  if (!approved_file.empty()) {
    Diagnostics diagnostics;
    auto loaded = LoadInventoryPolicy(approved_file, diagnostics);
    for (const Diagnostic& d : diagnostics) fmt::print(stderr, "{}\n", d.ToString());
    if (!loaded.ok()) return loaded.error();
    policy = std::move(*loaded);
  }
  auto inventory = std::make_unique<Inventory>(std::move(policy));
  if (store != nullptr) {
    Status st = store->ForEachInventory(
        [&](std::string_view k, std::string_view v) { return inventory->Restore(k, v); });
    if (!st.ok()) return st.error();
    if (inventory->stats().items > 0) {
      fmt::print(stderr, "tuttle: inventory: {} items restored from {}\n",
                 inventory->stats().items, store->path());
    }
  }
  return inventory;
}

std::string InventorySummary(const Inventory& inventory) {
  const InventoryStats& s = inventory.stats();
  std::string out = fmt::format("-- inventory: {} items ({} new)", s.items, s.new_items);
  if (!inventory.policy().file.empty()) {
    out += fmt::format(", {} not in the approved inventory", s.unapproved_findings);
  }
  if (s.new_invoker_findings > 0) {
    out += fmt::format(", {} function{} invoked by a new principal", s.new_invoker_findings,
                       s.new_invoker_findings == 1 ? "" : "s");
  }
  return out;
}

// ---- tuttle inventory ----
namespace {

struct ListOptions {
  std::string store = "./var/tuttle";
  std::vector<std::string> kinds;
  std::string tenant;
  std::string match;
  std::string source;
  std::string since;        // last seen at or after
  std::string first_since;  // first seen at or after
  bool unapproved = false;
  std::string output = "table";
  size_t limit = 0;
};

std::string Csv(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::optional<TimeNs> TimeBound(const std::string& text) {
  if (auto t = ParseTimestamp(text)) return t;
  if (auto d = ParseDuration(text)) {
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return static_cast<TimeNs>(now) - *d;
  }
  return std::nullopt;
}

int List(const ListOptions& o) {
  std::vector<InventoryKind> kinds;
  for (const std::string& k : o.kinds) {
    auto kind = InventoryKindFromName(k);
    if (!kind) {
      fmt::print(stderr,
                 "tuttle: error: --kind '{}': not one of cluster, namespace, workload, image, "
                 "function, principal, invoker\n",
                 k);
      return 2;
    }
    kinds.push_back(*kind);
  }
  std::optional<TimeNs> since, first_since;
  for (auto [text, target, flag] : {std::tuple{&o.since, &since, "--since"},
                                    std::tuple{&o.first_since, &first_since, "--first-since"}}) {
    if (text->empty()) continue;
    *target = TimeBound(*text);
    if (!*target) {
      fmt::print(stderr,
                 "tuttle: error: {} '{}': expected RFC 3339 or a duration before now (7d, 1h)\n",
                 flag, *text);
      return 2;
    }
  }
  auto store = OpenForReading(o.store);
  if (!store.ok()) {
    fmt::print(stderr, "tuttle: error: {}\n", store.error().message());
    return 1;
  }
  std::vector<InventoryItem> items;
  InventoryItem item;
  Status st = (*store)->ForEachInventory([&](std::string_view k, std::string_view v) -> Status {
    if (!DecodeInventoryItem(k, v, item)) return Error("inventory: damaged stored item");
    if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), item.kind) == kinds.end()) {
      return Ok();
    }
    if (!o.tenant.empty() && item.tenant != o.tenant) return Ok();
    if (!o.match.empty() && !GlobMatch(o.match, item.DisplayKey())) return Ok();
    if (!o.source.empty() && item.source != o.source) return Ok();
    if (since && item.last_seen < *since) return Ok();
    if (first_since && item.first_seen < *first_since) return Ok();
    if (o.unapproved && item.approved) return Ok();
    items.push_back(item);
    return Ok();
  });
  if (!st.ok()) {
    fmt::print(stderr, "tuttle: error: {}\n", st.error().message());
    return 1;
  }
  std::sort(items.begin(), items.end(), [](const InventoryItem& a, const InventoryItem& b) {
    if (a.kind != b.kind) return a.kind < b.kind;
    if (a.first_seen != b.first_seen) return a.first_seen < b.first_seen;
    return a.DisplayKey() < b.DisplayKey();
  });
  if (o.limit > 0 && items.size() > o.limit) items.resize(o.limit);

  auto detail = [](const InventoryItem& i) {
    std::string d;
    auto add = [&](std::string_view name, const std::string& v) {
      if (v.empty()) return;
      if (!d.empty()) d += ' ';
      d += name;
      d += '=';
      d += v;
    };
    add("digest", i.digest);
    add("version", i.version);
    add("arn", i.arn);
    return d;
  };
  if (o.output == "json") {
    for (const InventoryItem& i : items) {
      const nlohmann::json j = InventoryItemJson(i);
      fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    return 0;
  }
  if (o.output == "csv") {
    fmt::print("kind,item,tenant,cluster,namespace,name,principal,digest,version,arn,first_seen,"
               "last_seen,source,events,approved\n");
    for (const InventoryItem& i : items) {
      fmt::print("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", InventoryKindName(i.kind),
                 Csv(i.DisplayKey()), Csv(i.tenant), Csv(i.cluster), Csv(i.namespace_name),
                 Csv(i.name), Csv(i.principal), Csv(i.digest), Csv(i.version), Csv(i.arn),
                 FormatTimestampNs(i.first_seen), FormatTimestampNs(i.last_seen), Csv(i.source),
                 i.events, i.approved ? "true" : "false");
    }
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"KIND", "ITEM", "TENANT", "FIRST SEEN", "LAST SEEN", "SOURCE", "EVENTS", "APPROVED",
       "DETAIL"}};
  for (const InventoryItem& i : items) {
    rows.push_back({std::string(InventoryKindName(i.kind)), i.DisplayKey(),
                    i.tenant.empty() ? "-" : i.tenant, FormatTimestamp(i.first_seen),
                    FormatTimestamp(i.last_seen), i.source, std::to_string(i.events),
                    i.approved ? "yes" : "NO", detail(i)});
  }
  PrintTable(rows);
  fmt::print("-- {} item{}\n", items.size(), items.size() == 1 ? "" : "s");
  return 0;
}

}  // namespace

struct InventoryCommand::State {
  ListOptions list;
  CLI::App* cmd = nullptr;
};

InventoryCommand::InventoryCommand(CLI::App& app) : state_(std::make_unique<State>()) {
  ListOptions& o = state_->list;
  CLI::App* c = state_->cmd = app.add_subcommand(
      "inventory",
      "List what the telemetry showed (clusters, namespaces, workloads, images, functions, "
      "principals, invokers) with first and last seen; filter; export CSV or JSON");
  c->add_option("-s,--store", o.store, "RocksDB store folder")->capture_default_str();
  c->add_option("--kind", o.kinds,
                "cluster, namespace, workload, image, function, principal or invoker "
                "(repeatable)")
      ->allow_extra_args(false);
  c->add_option("--tenant", o.tenant, "Only this tenant");
  c->add_option("--match", o.match, "Items whose name matches this glob (* and ?)");
  c->add_option("--source", o.source, "Only items first seen in this format (k8s_audit, ...)");
  c->add_option("--since", o.since,
                "Last seen at or after (RFC 3339, or a duration before now: 1h, 7d)");
  c->add_option("--first-since", o.first_since, "First seen at or after: new items");
  c->add_flag("--unapproved", o.unapproved, "Only items the approved inventory does not list");
  c->add_option("-o,--output", o.output, "table, csv or json (JSON lines)")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();
  c->add_option("-n,--limit", o.limit, "At most this many (0: all)")->capture_default_str();
}

InventoryCommand::~InventoryCommand() = default;

std::optional<int> InventoryCommand::Run() const {
  if (!state_->cmd->parsed()) return std::nullopt;
  return List(state_->list);
}

nlohmann::json InventoryItemJson(const InventoryItem& i) {
  nlohmann::json j = {{"kind", InventoryKindName(i.kind)},
                      {"item", i.DisplayKey()},
                      {"tenant", i.tenant},
                      {"cluster", i.cluster},
                      {"namespace", i.namespace_name},
                      {"name", i.name},
                      {"first_seen", FormatTimestampNs(i.first_seen)},
                      {"last_seen", FormatTimestampNs(i.last_seen)},
                      {"source", i.source},
                      {"events", i.events},
                      {"approved", i.approved}};
  if (i.kind == InventoryKind::kInvoker) j["principal"] = i.principal;
  if (!i.digest.empty()) j["digest"] = i.digest;
  if (!i.version.empty()) j["version"] = i.version;
  if (!i.arn.empty()) j["arn"] = i.arn;
  return j;
}

}  // namespace tuttle::tools
