// The inventory on its own: what events add, the approved-inventory policy, the findings (once per
// item, at the first record that shows it, whatever the batching), and the store codec.

#include "tuttle/engine/inventory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace tuttle {
namespace {

Event MakeEvent(TimeNs time, std::string_view format) {
  Event e;
  e.time = time;
  e.format = format;
  e.log_source = LogSource{"kubernetes", "audit", {}};
  return e;
}

// Runs `events` through a collector per batch of `batch_size` and the inventory, returning the
// findings' (rule name, item, evidence line).
std::vector<std::tuple<std::string, std::string, int64_t>> Feed(
    Inventory& inventory, const std::vector<Event>& events, size_t batch_size) {
  std::vector<std::tuple<std::string, std::string, int64_t>> out;
  for (size_t begin = 0; begin < events.size(); begin += batch_size) {
    RecordBatch batch;
    const uint32_t src = batch.InternSource("audit.jsonl");
    InventoryCollector collector;
    for (size_t i = begin; i < std::min(events.size(), begin + batch_size); ++i) {
      batch.Add("{}", RecordMeta{src, -1, static_cast<int64_t>(i + 1), kNoTime});
      Event e = events[i];
      e.record_id = HashBytes(std::to_string(i));
      collector.Observe(e, static_cast<uint32_t>(i - begin));
    }
    std::vector<Alert> alerts;
    inventory.Apply(collector, batch, [](uint32_t) { return false; }, alerts);
    for (const Alert& a : alerts) {
      out.emplace_back(a.rule->name, a.group[1].second, a.evidence.front().position.offset);
    }
  }
  return out;
}

std::vector<Event> Story() {
  std::vector<Event> events;
  auto add = [&](TimeNs t, auto fill) {
    Event e = MakeEvent(t, "k8s_audit");
    fill(e.entities, e);
    events.push_back(e);
  };
  add(100, [](Entities& x, Event&) {
    x.namespace_name = "payments";
    x.workload = "checkout";
    x.image = "registry.example.com/payments/checkout:1.2";
    x.principal = "dev-alice";
  });
  add(200, [](Entities& x, Event&) {
    x.namespace_name = "payments";
    x.workload = "miner";
    x.image = "docker.io/xmrig/xmrig@sha256:aaaa";
    x.image_digest = "sha256:aaaa";
  });
  add(150, [](Entities& x, Event&) {  // earlier event time, later record
    x.namespace_name = "payments";
    x.workload = "miner";
    x.image = "docker.io/xmrig/xmrig@sha256:bbbb";
    x.image_digest = "sha256:bbbb";
  });
  add(300, [](Entities& x, Event& e) {
    x.function_name = "payments-refund";
    x.function_version = "7";
    x.principal = "arn:aws:iam::111122223333:role/api";
    e.invocation = true;
  });
  add(400, [](Entities& x, Event& e) {
    x.function_name = "payments-refund";
    x.principal = "arn:aws:iam::111122223333:user/mallory";
    e.invocation = true;
  });
  add(500, [](Entities& x, Event& e) {
    x.function_name = "payments-refund";
    x.principal = "arn:aws:iam::111122223333:user/mallory";
    e.invocation = true;
  });
  add(600, [](Entities& x, Event&) {
    x.function_name = "crypto-helper";
    x.principal = "arn:aws:iam::111122223333:user/mallory";
  });
  return events;
}

InventoryPolicy Policy() {
  InventoryPolicy p;
  p.images = std::vector<std::string>{"registry.example.com/*"};
  p.workloads = std::vector<std::string>{"payments/checkout"};
  p.functions = std::vector<std::string>{"payments-*"};
  return p;
}

TEST(Inventory, FindingsComeOncePerItemAtItsFirstRecordWhateverTheBatching) {
  std::vector<std::tuple<std::string, std::string, int64_t>> first;
  for (size_t batch_size : {1, 2, 3, 7}) {
    Inventory inventory(Policy());
    auto findings = Feed(inventory, Story(), batch_size);
    // Again: nothing new.
    EXPECT_TRUE(Feed(inventory, Story(), batch_size).empty());
    if (first.empty()) {
      first = findings;
      continue;
    }
    EXPECT_EQ(findings, first) << "batch size " << batch_size;
  }
  const std::vector<std::tuple<std::string, std::string, int64_t>> want = {
      {"tuttle_inventory_unapproved_workload", "payments/miner", 2},
      {"tuttle_inventory_unapproved_image", "docker.io/xmrig/xmrig", 2},
      {"tuttle_function_new_invoker", "payments-refund by arn:aws:iam::111122223333:user/mallory", 5},
      {"tuttle_inventory_unapproved_function", "crypto-helper", 7},
  };
  // Within a batch the findings follow the items' first records.
  auto sorted = [](auto v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(first), sorted(want));
}

TEST(Inventory, ItemsKeepFirstAndLastSeenByEventTimeAndTheNewestDetails) {
  Inventory inventory(Policy());
  Feed(inventory, Story(), 2);
  const auto items = inventory.Items();
  auto find = [&](InventoryKind k, std::string_view name) {
    auto it = std::find_if(items.begin(), items.end(), [&](const InventoryItem& i) {
      return i.kind == k && i.name == name;
    });
    EXPECT_NE(it, items.end()) << name;
    return it == items.end() ? InventoryItem{} : *it;
  };
  const InventoryItem miner = find(InventoryKind::kImage, "docker.io/xmrig/xmrig");
  EXPECT_EQ(miner.first_seen, 150);
  EXPECT_EQ(miner.last_seen, 200);
  EXPECT_EQ(miner.digest, "sha256:aaaa");  // of the newest event, not the last record
  EXPECT_EQ(miner.events, 2u);
  EXPECT_FALSE(miner.approved);
  EXPECT_TRUE(miner.alerted);
  EXPECT_TRUE(find(InventoryKind::kImage, "registry.example.com/payments/checkout:1.2").approved);
  const InventoryItem fn = find(InventoryKind::kFunction, "payments-refund");
  EXPECT_EQ(fn.version, "7");
  EXPECT_EQ(fn.events, 3u);
  EXPECT_EQ(find(InventoryKind::kNamespace, "payments").events, 3u);
  EXPECT_EQ(find(InventoryKind::kPrincipal, "dev-alice").source, "k8s_audit");
  // Principals and namespaces are not in the policy: recorded, never alerted.
  EXPECT_FALSE(find(InventoryKind::kPrincipal, "dev-alice").alerted);
  EXPECT_EQ(inventory.stats().items, items.size());
  EXPECT_EQ(inventory.stats().unapproved_findings, 3u);
  EXPECT_EQ(inventory.stats().new_invoker_findings, 1u);
}

TEST(Inventory, RestoredItemsDoNotAlertAgainButUncheckedOnesAreCheckedOnce) {
  // A first run without a policy records the items and alerts nothing.
  Inventory before;
  EXPECT_TRUE(Feed(before, Story(), 4).size() == 1);  // only the new invoker
  std::vector<std::pair<std::string, std::string>> stored;
  for (const InventoryItem& i : before.Items()) {
    stored.emplace_back(InventoryKey(i), EncodeInventoryItem(i));
  }
  // The next run has a policy: items seen before are checked once, at their next sighting.
  Inventory after(Policy());
  for (const auto& [k, v] : stored) ASSERT_TRUE(after.Restore(k, v).ok());
  auto findings = Feed(after, Story(), 4);
  std::vector<std::string> rules;
  for (const auto& f : findings) rules.push_back(std::get<0>(f));
  std::sort(rules.begin(), rules.end());
  EXPECT_EQ(rules, (std::vector<std::string>{"tuttle_inventory_unapproved_function",
                                             "tuttle_inventory_unapproved_image",
                                             "tuttle_inventory_unapproved_workload"}));
  EXPECT_TRUE(Feed(after, Story(), 4).empty());
}

TEST(Inventory, CodecRoundTripsAndRejectsDamage) {
  InventoryItem i;
  i.kind = InventoryKind::kInvoker;
  i.tenant = "acme";
  i.name = "fn";
  i.principal = "arn:aws:iam::1:user/x";
  i.first_seen = -5;
  i.last_seen = 1'700'000'000'000'000'000;
  i.events = 42;
  i.approved = false;
  i.alerted = true;
  i.source = "cloudtrail";
  const std::string k = InventoryKey(i), v = EncodeInventoryItem(i);
  InventoryItem back;
  ASSERT_TRUE(DecodeInventoryItem(k, v, back));
  EXPECT_EQ(back.kind, i.kind);
  EXPECT_EQ(back.tenant, "acme");
  EXPECT_EQ(back.principal, i.principal);
  EXPECT_EQ(back.first_seen, -5);
  EXPECT_EQ(back.last_seen, i.last_seen);
  EXPECT_EQ(back.events, 42u);
  EXPECT_FALSE(back.approved);
  EXPECT_TRUE(back.alerted);
  EXPECT_EQ(back.DisplayKey(), "fn by arn:aws:iam::1:user/x");
  for (size_t n = 0; n < v.size(); ++n) EXPECT_FALSE(DecodeInventoryItem(k, v.substr(0, n), back));
  EXPECT_FALSE(DecodeInventoryItem("acme", v, back));
  EXPECT_FALSE(DecodeInventoryItem(std::string("acme\0bogus\0\0\0fn\0", 15), v, back));
}

TEST(Inventory, GlobsAndRegistries) {
  EXPECT_TRUE(GlobMatch("registry.example.com/*", "registry.example.com/a/b:1"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("nginx:1.2?", "nginx:1.25"));
  EXPECT_FALSE(GlobMatch("nginx:1.2?", "nginx:1.2"));
  EXPECT_TRUE(GlobMatch("*-prod", "payments-prod"));
  EXPECT_FALSE(GlobMatch("prod-*", "payments-prod"));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYbZc"));
  // No exponential blow-up on a pathological pattern.
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
  EXPECT_FALSE(GlobMatch(std::string(30, '*') + "b", std::string(10000, 'a')));
  EXPECT_FALSE(GlobMatch("orders-*", "Orders-api"));  // case-sensitive
  EXPECT_FALSE(GlobMatch("orders", "orders-api"));    // whole text
  EXPECT_EQ(ImageRegistry("nginx:1.25"), "docker.io");
  EXPECT_EQ(ImageRegistry("library/nginx"), "docker.io");
  EXPECT_EQ(ImageRegistry("ghcr.io/acme/app:1"), "ghcr.io");
  EXPECT_EQ(ImageRegistry("localhost:5000/app"), "localhost:5000");
  EXPECT_EQ(ImageRegistry("localhost/app"), "localhost");

  InventoryPolicy p;
  p.registries = std::vector<std::string>{"*.dkr.ecr.*.amazonaws.com"};
  InventoryItem image;
  image.kind = InventoryKind::kImage;
  image.name = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/api:3";
  EXPECT_TRUE(p.Checks(InventoryKind::kImage));
  EXPECT_TRUE(p.Approved(image));
  image.name = "docker.io/evil/app:1";
  EXPECT_FALSE(p.Approved(image));
  EXPECT_FALSE(p.Checks(InventoryKind::kWorkload));
  // A present but empty list approves nothing.
  p.namespaces = std::vector<std::string>{};
  InventoryItem ns;
  ns.kind = InventoryKind::kNamespace;
  ns.name = "default";
  EXPECT_TRUE(p.Checks(InventoryKind::kNamespace));
  EXPECT_FALSE(p.Approved(ns));
  // Functions match by name or ARN.
  p.functions = std::vector<std::string>{"arn:aws:lambda:*:111122223333:function:*"};
  InventoryItem fn;
  fn.kind = InventoryKind::kFunction;
  fn.name = "anything";
  fn.arn = "arn:aws:lambda:eu-west-1:111122223333:function:anything";
  EXPECT_TRUE(p.Approved(fn));
  fn.arn.clear();
  EXPECT_FALSE(p.Approved(fn));
}

TEST(Inventory, TenantsKeepTheirOwnItems) {
  Inventory inventory(Policy());
  std::vector<Event> events;
  for (std::string_view tenant : {"team-a", "team-b", "team-a"}) {
    Event e = MakeEvent(100, "k8s_audit");
    e.tenant = tenant;
    e.entities.namespace_name = "payments";
    e.entities.workload = "miner";
    events.push_back(e);
  }
  const auto findings = Feed(inventory, events, 1);
  ASSERT_EQ(findings.size(), 2u);  // once per tenant
  EXPECT_EQ(std::get<2>(findings[0]), 1);
  EXPECT_EQ(std::get<2>(findings[1]), 2);
}

}  // namespace
}  // namespace tuttle
