#include "tuttle/engine/inventory.h"

#include <array>
#include <functional>

#include "tuttle/engine/state_codec.h"
#include "tuttle/engine/strings.h"

namespace tuttle {
namespace {

constexpr std::array<std::string_view, kInventoryKinds> kKindNames = {
    "cluster", "namespace", "workload", "image", "function", "principal", "invoker"};

std::shared_ptr<const RuleInfo> BuiltIn(std::string id, std::string name, std::string title,
                                        std::string description, Level level,
                                        std::vector<std::string> tags,
                                        std::vector<std::string> falsepositives) {
  auto r = std::make_shared<RuleInfo>();
  r->id = std::move(id);
  r->name = std::move(name);
  r->title = std::move(title);
  r->description = std::move(description);
  r->status = "stable";
  r->author = "Tuttle";
  r->level = level;
  r->tags = std::move(tags);
  r->references = {"https://www.cisecurity.org/controls/inventory-and-control-of-enterprise-assets",
                   "https://www.cisecurity.org/controls/inventory-and-control-of-software-assets"};
  r->falsepositives = std::move(falsepositives);
  r->file = "<built-in>/inventory";
  return r;
}

const std::shared_ptr<const RuleInfo>& UnapprovedRule(InventoryKind kind) {
  static const std::array<std::shared_ptr<const RuleInfo>, kInventoryKinds> rules = {
      nullptr,
      BuiltIn("0b0c7d2e-5b7a-4f0e-9a51-6c1e2f3a4b01", "tuttle_inventory_unapproved_namespace",
              "Namespace Not In The Approved Inventory",
              "A Kubernetes namespace that the approved inventory does not list was seen for the "
              "first time: a team or an attacker working outside the known estate.",
              Level::kLow, {"attack.persistence", "attack.t1610"},
              {"A new namespace created by a team before the approved inventory was updated"}),
      BuiltIn("0b0c7d2e-5b7a-4f0e-9a51-6c1e2f3a4b02", "tuttle_inventory_unapproved_workload",
              "Workload Not In The Approved Inventory",
              "A workload (Deployment, StatefulSet, DaemonSet, Job, ECS service, compose service, "
              "function app) that the approved inventory does not list was seen for the first "
              "time: shadow IT, or a container deployed by an attacker.",
              Level::kMedium, {"attack.execution", "attack.t1610"},
              {"A new workload rolled out before the approved inventory was updated"}),
      BuiltIn("0b0c7d2e-5b7a-4f0e-9a51-6c1e2f3a4b03", "tuttle_inventory_unapproved_image",
              "Container Image Not In The Approved Inventory",
              "A container image whose reference and registry the approved inventory does not "
              "list was seen for the first time: software nobody approved runs or is about to.",
              Level::kMedium, {"attack.execution", "attack.t1204.003", "attack.t1610"},
              {"A new image or tag of an approved product from a registry not yet listed"}),
      BuiltIn("0b0c7d2e-5b7a-4f0e-9a51-6c1e2f3a4b04", "tuttle_inventory_unapproved_function",
              "Serverless Function Not In The Approved Inventory",
              "A serverless function (Lambda, Cloud Functions, Cloud Run, Azure Functions) that "
              "the approved inventory does not list was seen for the first time.",
              Level::kMedium, {"attack.execution", "attack.t1648"},
              {"A function deployed by a team before the approved inventory was updated"}),
      nullptr,
      nullptr,
  };
  return rules[static_cast<size_t>(kind)];
}

const std::shared_ptr<const RuleInfo>& NewInvokerRule() {
  static const std::shared_ptr<const RuleInfo> rule = BuiltIn(
      "0b0c7d2e-5b7a-4f0e-9a51-6c1e2f3a4b05", "tuttle_function_new_invoker",
      "Function Invoked By A Principal Never Seen Invoking It",
      "A serverless function that has been invoked before was invoked by a principal that never "
      "invoked it: stolen credentials or a new, unreviewed caller.",
      Level::kLow,
      {"attack.execution", "attack.t1648", "attack.initial-access", "attack.t1078.004"},
      {"A new service or deployment pipeline that starts calling an existing function"});
  return rule;
}

// The hash of one part, computed once per event and shared by the kinds that use the part.
size_t HashPart(std::string_view part) {
  return part.empty() ? 0 : std::hash<std::string_view>{}(part);
}

size_t MixParts(InventoryKind kind, std::initializer_list<size_t> parts) {
  size_t x = static_cast<size_t>(kind) * 0x9e3779b97f4a7c15ULL;
  for (const size_t h : parts) x ^= h + 0x9e3779b97f4a7c15ULL + (x << 6) + (x >> 2);
  return x;
}

// The image reference without a "@sha256:..." digest.
std::string_view WithoutDigest(std::string_view image) {
  const size_t at = image.find('@');
  return at == std::string_view::npos ? image : image.substr(0, at);
}

}  // namespace

std::string_view InventoryKindName(InventoryKind kind) {
  return kKindNames[static_cast<size_t>(kind)];
}

std::optional<InventoryKind> InventoryKindFromName(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<InventoryKind>(i);
  }
  return std::nullopt;
}

std::string InventoryItem::DisplayKey() const {
  switch (kind) {
    case InventoryKind::kNamespace:
    case InventoryKind::kWorkload: {
      std::string out;
      for (std::string_view part :
           {std::string_view(cluster), std::string_view(namespace_name), std::string_view(name)}) {
        if (part.empty()) continue;
        if (!out.empty()) out += '/';
        out += part;
      }
      return out;
    }
    case InventoryKind::kInvoker:
      return Cat(Cat(name, " by "), principal);
    default:
      return name;
  }
}

std::string InventoryKey(const InventoryItem& item) {
  std::string k;
  for (std::string_view part :
       {std::string_view(item.tenant), InventoryKindName(item.kind), std::string_view(item.cluster),
        std::string_view(item.namespace_name), std::string_view(item.name)}) {
    k += part;
    k += '\0';
  }
  k += item.principal;
  return k;
}

std::string EncodeInventoryItem(const InventoryItem& item) {
  std::string out;
  state_codec::Writer w(out);
  w.U64(1);  // version
  w.Str(item.digest);
  w.Str(item.version);
  w.Str(item.arn);
  w.Str(item.source);
  w.I64(item.first_seen);
  w.I64(item.last_seen);
  w.U64(item.events);
  w.Bool(item.approved);
  w.Bool(item.alerted);
  return out;
}

bool DecodeInventoryItem(std::string_view key, std::string_view value, InventoryItem& out) {
  out = InventoryItem{};
  std::array<std::string_view, 6> parts;
  size_t n = 0;
  while (n + 1 < parts.size()) {
    const size_t nul = key.find('\0');
    if (nul == std::string_view::npos) return false;
    parts[n++] = key.substr(0, nul);
    key.remove_prefix(nul + 1);
  }
  parts[n] = key;
  const auto kind = InventoryKindFromName(parts[1]);
  if (!kind) return false;
  out.kind = *kind;
  out.tenant = parts[0];
  out.cluster = parts[2];
  out.namespace_name = parts[3];
  out.name = parts[4];
  out.principal = parts[5];
  state_codec::Reader r(value);
  uint64_t version = 0;
  return r.U64(version) && version == 1 && r.Str(out.digest) && r.Str(out.version) &&
         r.Str(out.arn) && r.Str(out.source) && r.I64(out.first_seen) && r.I64(out.last_seen) &&
         r.U64(out.events) && r.Bool(out.approved) && r.Bool(out.alerted) && r.done();
}

std::string_view ImageRegistry(std::string_view image) {
  const size_t slash = image.find('/');
  if (slash == std::string_view::npos) return "docker.io";
  const std::string_view first = image.substr(0, slash);
  if (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
      first == "localhost") {
    return first;
  }
  return "docker.io";
}

bool InventoryPolicy::Checks(InventoryKind kind) const {
  switch (kind) {
    case InventoryKind::kImage:
      return images.has_value() || registries.has_value();
    case InventoryKind::kWorkload:
      return workloads.has_value();
    case InventoryKind::kFunction:
      return functions.has_value();
    case InventoryKind::kNamespace:
      return namespaces.has_value();
    default:
      return false;
  }
}

bool InventoryPolicy::Approved(const InventoryItem& item) const {
  auto any = [](const std::optional<std::vector<std::string>>& patterns,
                std::initializer_list<std::string_view> texts) {
    if (!patterns) return false;
    for (const std::string& p : *patterns) {
      for (std::string_view t : texts) {
        if (!t.empty() && GlobMatch(p, t)) return true;
      }
    }
    return false;
  };
  switch (item.kind) {
    case InventoryKind::kImage:
      return any(images, {item.name}) || any(registries, {ImageRegistry(item.name)});
    case InventoryKind::kWorkload: {
      const std::string qualified =
          item.namespace_name.empty() ? item.name : Cat(Cat(item.namespace_name, "/"), item.name);
      return any(workloads, {std::string_view(qualified)});
    }
    case InventoryKind::kFunction:
      return any(functions, {item.name, item.arn});
    case InventoryKind::kNamespace:
      return any(namespaces, {item.name});
    default:
      return true;
  }
}

// ---------------------------------------------------------------------------------------------

void InventoryCollector::Clear() {
  sightings_.clear();
  index_.clear();
  entities_.clear();
  entities_record_ = UINT32_MAX;
}

void InventoryCollector::See(const Event& event, uint32_t record, const Parts& p,
                             std::string_view digest, std::string_view version,
                             std::string_view arn) {
  const size_t h = p.hash;
  auto [begin, end] = index_.equal_range(h);
  for (auto it = begin; it != end; ++it) {
    InventorySighting& s = sightings_[it->second];
    InventoryItem& i = s.item;
    if (i.kind != p.kind || i.tenant != p.tenant || i.cluster != p.cluster ||
        i.namespace_name != p.namespace_name || i.name != p.name || i.principal != p.principal) {
      continue;
    }
    ++i.events;
    i.first_seen = std::min(i.first_seen, event.time);
    // The details of the newest event (the later record on a tie).
    if (event.time >= i.last_seen) {
      i.last_seen = event.time;
      if (!digest.empty()) i.digest = digest;
      if (!version.empty()) i.version = version;
      if (!arn.empty()) i.arn = arn;
    }
    return;
  }
  if (entities_record_ != record) {
    entities_.push_back(ToOwned(event.entities));
    entities_record_ = record;
  }
  InventorySighting s;
  InventoryItem& i = s.item;
  i.kind = p.kind;
  i.tenant = p.tenant;
  i.cluster = p.cluster;
  i.namespace_name = p.namespace_name;
  i.name = p.name;
  i.principal = p.principal;
  i.digest = digest;
  i.version = version;
  i.arn = arn;
  i.source = event.format;
  i.first_seen = i.last_seen = event.time;
  i.events = 1;
  s.record = record;
  s.record_id = event.record_id;
  s.record_time = event.time;
  s.entities = static_cast<uint32_t>(entities_.size() - 1);
  s.product = event.log_source.product;
  s.service = event.log_source.service;
  index_.emplace(h, static_cast<uint32_t>(sightings_.size()));
  sightings_.push_back(std::move(s));
}

void InventoryCollector::Observe(const Event& event, uint32_t record) {
  using K = InventoryKind;
  const Entities& x = event.entities;
  const std::string_view t = event.tenant;
  const size_t ht = HashPart(t), hc = HashPart(x.cluster), hn = HashPart(x.namespace_name);
  if (!x.cluster.empty()) {
    See(event, record,
        {K::kCluster, t, {}, {}, x.cluster, {}, MixParts(K::kCluster, {ht, 0, 0, hc, 0})}, {}, {},
        {});
  }
  if (!x.namespace_name.empty()) {
    See(event, record,
        {K::kNamespace,
         t,
         x.cluster,
         {},
         x.namespace_name,
         {},
         MixParts(K::kNamespace, {ht, hc, 0, hn, 0})},
        {}, {}, {});
  }
  if (!x.workload.empty()) {
    See(event, record,
        {K::kWorkload,
         t,
         x.cluster,
         x.namespace_name,
         x.workload,
         {},
         MixParts(K::kWorkload, {ht, hc, hn, HashPart(x.workload), 0})},
        {}, {}, {});
  }
  // An ECR scan result names its repository but not its registry's region, so no reference a pod
  // would use: it joins deployments by digest (the scan-to-deploy rules), not the inventory.
  if ((!x.image.empty() || !x.image_digest.empty()) && event.format != "ecr_scan") {
    // An image known only by its digest is named by it.
    const std::string_view image = WithoutDigest(x.image);
    const std::string_view name = image.empty() ? x.image_digest : image;
    See(event, record,
        {K::kImage, t, {}, {}, name, {}, MixParts(K::kImage, {ht, 0, 0, HashPart(name), 0})},
        x.image_digest, {}, {});
  }
  const size_t hp = HashPart(x.principal);
  if (!x.function_name.empty()) {
    const size_t hf = HashPart(x.function_name);
    See(event, record,
        {K::kFunction, t, {}, {}, x.function_name, {}, MixParts(K::kFunction, {ht, 0, 0, hf, 0})},
        {}, x.function_version, x.function_arn);
    if (event.invocation && !x.principal.empty()) {
      See(event, record,
          {K::kInvoker,
           t,
           {},
           {},
           x.function_name,
           x.principal,
           MixParts(K::kInvoker, {ht, 0, 0, hf, hp})},
          {}, {}, {});
    }
  }
  if (!x.principal.empty()) {
    See(event, record,
        {K::kPrincipal, t, {}, {}, x.principal, {}, MixParts(K::kPrincipal, {ht, 0, 0, hp, 0})}, {},
        {}, {});
  }
}

// ---------------------------------------------------------------------------------------------

Inventory::Inventory(InventoryPolicy policy) : policy_(std::move(policy)) {}

Status Inventory::Restore(std::string_view key, std::string_view value) {
  InventoryItem item;
  if (!DecodeInventoryItem(key, value, item)) return Error("inventory: damaged stored item");
  if (item.kind == InventoryKind::kInvoker) {
    ++invokers_[Cat(Cat(item.tenant, std::string_view("\0", 1)), item.name)];
  }
  items_.insert_or_assign(std::string(key), std::move(item));
  stats_.items = items_.size();
  return Ok();
}

std::vector<InventoryItem> Inventory::Items() const {
  std::vector<InventoryItem> out;
  out.reserve(items_.size());
  for (const auto& [k, v] : items_) out.push_back(v);
  return out;
}

std::vector<std::shared_ptr<const RuleInfo>> Inventory::BuiltInRules() {
  std::vector<std::shared_ptr<const RuleInfo>> out;
  for (size_t k = 0; k < kInventoryKinds; ++k) {
    if (const auto& r = UnapprovedRule(static_cast<InventoryKind>(k))) out.push_back(r);
  }
  out.push_back(NewInvokerRule());
  return out;
}

Alert Inventory::Finding(const std::shared_ptr<const RuleInfo>& rule, const InventoryItem& item,
                         const InventorySighting& s, const InventoryCollector& collector,
                         const RecordBatch& batch) const {
  Alert a;
  a.rule = rule;
  a.kind = "first_seen";
  a.time = s.record_time;
  a.window_start = a.window_end = a.time;
  a.count = 1;
  a.group = {{"inventory.kind", std::string(InventoryKindName(item.kind))},
             {"inventory.item", item.DisplayKey()}};
  if (item.kind == InventoryKind::kInvoker)
    a.group.emplace_back("inventory.principal", item.principal);
  a.product = s.product;
  a.service = s.service;
  a.tenant = item.tenant;
  a.entities = collector.entities()[s.entities];
  a.evidence.push_back(Evidence{batch.Position(s.record), s.record_time, s.record_id, rule});
  a.id = ComputeAlertId(a);
  return a;
}

void Inventory::Merge(InventorySighting& s, const InventoryCollector& collector,
                      const RecordBatch& batch, std::vector<Alert>& alerts) {
  std::string key = InventoryKey(s.item);
  auto it = items_.find(key);
  if (it == items_.end()) {
    InventoryItem item = s.item;
    ++stats_.new_items;
    if (policy_.Checks(item.kind)) {
      item.approved = policy_.Approved(item);
      if (!item.approved) {
        item.alerted = true;
        ++stats_.unapproved_findings;
        alerts.push_back(Finding(UnapprovedRule(item.kind), item, s, collector, batch));
      }
    }
    if (item.kind == InventoryKind::kInvoker) {
      // Only a function with a history of callers can have a caller it never saw.
      uint64_t& callers = invokers_[Cat(Cat(item.tenant, std::string_view("\0", 1)), item.name)];
      if (callers > 0) {
        item.alerted = true;
        ++stats_.new_invoker_findings;
        alerts.push_back(Finding(NewInvokerRule(), item, s, collector, batch));
      }
      ++callers;
    }
    it = items_.emplace(key, std::move(item)).first;
    stats_.items = items_.size();
  } else {
    InventoryItem& item = it->second;
    // Seen before the policy listed its kind, or approved then and no longer: once, now.
    if (!item.alerted && policy_.Checks(item.kind)) {
      item.approved = policy_.Approved(item);
      if (!item.approved) {
        item.alerted = true;
        ++stats_.unapproved_findings;
        alerts.push_back(Finding(UnapprovedRule(item.kind), item, s, collector, batch));
      }
    }
    item.events += s.item.events;
    item.first_seen = std::min(item.first_seen, s.item.first_seen);
    if (s.item.last_seen >= item.last_seen) {
      item.last_seen = s.item.last_seen;
      if (!s.item.digest.empty()) item.digest = s.item.digest;
      if (!s.item.version.empty()) item.version = s.item.version;
      if (!s.item.arn.empty()) item.arn = s.item.arn;
    }
  }
  if (track_changes_) changed_.insert(std::move(key));
}

void Inventory::TakeChanges(std::vector<std::pair<std::string, std::string>>& changes) {
  std::vector<std::string> keys(std::make_move_iterator(changed_.begin()),
                                std::make_move_iterator(changed_.end()));
  changed_.clear();
  std::sort(keys.begin(), keys.end());
  changes.reserve(changes.size() + keys.size());
  for (std::string& key : keys) {
    const auto it = items_.find(key);
    if (it != items_.end()) changes.emplace_back(std::move(key), EncodeInventoryItem(it->second));
  }
}

}  // namespace tuttle
