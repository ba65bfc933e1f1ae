// The query side of the store: index keys, each `tuttle alerts` filter, paging, analyst status
// that survives the engine re-writing an alert, and read-only access beside a writer. Real
// RocksDB in a temporary folder.

#include "tuttle/storage/alert_query.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "support/test_support.h"
#include "tuttle/storage/alert_index.h"
#include "tuttle/storage/alert_status.h"
#include "tuttle/storage/key_codec.h"
#include "tuttle/storage/store.h"
#include "tuttle/engine/strings.h"

namespace tuttle::storage {
namespace {

using nlohmann::json;

constexpr TimeNs kSecond = kNsPerSecond;
constexpr TimeNs kBase = 1'700'000'000 * kSecond;  // 2023-11-14

struct AlertSpec {
  std::string rule_id;
  Level level = Level::kMedium;
  TimeNs time = kBase;
  std::string pod;
  std::string ns = "default";
  std::vector<std::pair<std::string, std::string>> group;
  std::string tenant;
};

Alert MakeAlert(const AlertSpec& s) {
  auto info = std::make_shared<RuleInfo>();
  info->id = s.rule_id;
  info->title = Cat("Title of ", s.rule_id);
  info->level = s.level;
  Alert a;
  a.rule = info;
  a.kind = s.group.empty() ? "single" : "event_count";
  a.time = a.window_start = a.window_end = s.time;
  a.group = s.group;
  a.tenant = s.tenant;
  a.entities.pod = s.pod;
  a.entities.namespace_name = s.ns;
  a.evidence.push_back(Evidence{SourcePosition{"telemetry", 0, s.time}, s.time,
                                HashBytes(s.rule_id + std::to_string(s.time)), info});
  a.id = ComputeAlertId(a);
  return a;
}

size_t CountKeys(const Store& store, rocksdb::ColumnFamilyHandle* cf) {
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(rocksdb::ReadOptions(), cf));
  size_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  return n;
}

class AlertQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::Open(dir_.path().string());
    ASSERT_TRUE(s.ok()) << s.error().message();
    store_ = std::move(*s);
    // 24 alerts, one a second: rules r0..r3 in turn, levels cycling low..critical, pods p0..p5,
    // tenant "acme" on every third.
    for (int i = 0; i < 24; ++i) {
      AlertSpec spec;
      spec.rule_id = Cat("r", std::to_string(i % 4));
      spec.level = static_cast<Level>(2 + i % 4);
      spec.time = kBase + i * kSecond;
      spec.pod = Cat("p", std::to_string(i % 6));
      if (i % 3 == 0) spec.tenant = "acme";
      alerts_.push_back(MakeAlert(spec));
    }
    // A correlation alert grouped by user.
    AlertSpec corr{"corr", Level::kCritical, kBase + 100 * kSecond,
                   "",     "payments",       {{"user.username", "alice"}},
                   ""};
    alerts_.push_back(MakeAlert(corr));
    BatchOutput batch;
    batch.alerts = alerts_;
    ASSERT_TRUE(store_->Write(batch).ok());
  }

  std::vector<std::string> Ids(const AlertQuery& q, std::string* plan = nullptr) {
    auto page = QueryAlerts(*store_, q);
    EXPECT_TRUE(page.ok()) << page.error().message();
    if (!page.ok()) return {};
    if (plan != nullptr) *plan = page->plan;
    std::vector<std::string> ids;
    for (const auto& a : page->alerts) ids.push_back(a.id);
    return ids;
  }

  // The expected ids, newest first, of the alerts `keep` admits.
  template <typename F>
  std::vector<std::string> Expect(F keep) {
    std::vector<const Alert*> v;
    for (const Alert& a : alerts_) {
      if (keep(a)) v.push_back(&a);
    }
    std::sort(v.begin(), v.end(), [](const Alert* x, const Alert* y) {
      return AlertKey(x->time, x->id) > AlertKey(y->time, y->id);
    });
    std::vector<std::string> ids;
    for (const Alert* a : v) ids.push_back(a->id.Uuid());
    return ids;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::vector<Alert> alerts_;
};

TEST(AlertIndex, KeysEndWithTheAlertKeyAndAreTheSameForTheSameAlert) {
  AlertSpec s{"rule-1", Level::kHigh, kBase, "web-1", "shop", {{"pod", "web-1"}}, "acme"};
  const Alert a = MakeAlert(s);
  const auto entries = AlertIndexEntries(a);
  const auto again = AlertIndexEntries(MakeAlert(s));
  ASSERT_EQ(entries.size(), again.size());
  std::set<std::string> kinds;
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].key, again[i].key);
    const std::string& k = entries[i].key;
    kinds.insert(k.substr(0, 1));
    if (k[0] == 'i') {
      EXPECT_EQ(k, IdIndexKey(a.id));
      EXPECT_EQ(DecodeI64(entries[i].value), kBase);
    } else {
      EXPECT_EQ(k.substr(k.size() - kAlertKeySize), AlertKey(a.time, a.id)) << k;
    }
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"r", "s", "e", "t", "i"}));
  // The pod is an entity and the group-by value: one entry naming both fields.
  const std::string pod_key = IndexKey(IndexKind::kEntity, "web-1", a.time, a.id);
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const IndexEntry& e) { return e.key == pod_key; });
  ASSERT_NE(it, entries.end());
  EXPECT_EQ(it->value, "pod");  // same name twice is one name
  EXPECT_EQ(ParseAlertId(a.id.Uuid()), a.id);
  EXPECT_EQ(ParseAlertId(a.id.Hex()), a.id);
  EXPECT_FALSE(ParseAlertId("not-an-id").has_value());
}

TEST_F(AlertQueryTest, RewritingTheSameAlertsAddsNoIndexEntries) {
  const size_t index = CountKeys(*store_, store_->alert_index_handle());
  EXPECT_GT(index, alerts_.size() * 4);
  BatchOutput batch;
  batch.alerts = alerts_;
  ASSERT_TRUE(store_->Write(batch).ok());
  EXPECT_EQ(CountKeys(*store_, store_->alert_index_handle()), index);
  EXPECT_EQ(CountKeys(*store_, store_->alerts_handle()), alerts_.size());
}

TEST_F(AlertQueryTest, ListsEverythingNewestFirstOrOldestFirst) {
  AlertQuery q;
  q.limit = 0;
  std::string plan;
  const auto all = Ids(q, &plan);
  EXPECT_EQ(plan, "scan alerts");
  EXPECT_EQ(all, Expect([](const Alert&) { return true; }));
  q.oldest_first = true;
  auto reversed = Ids(q);
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(reversed, all);
}

TEST_F(AlertQueryTest, FiltersByRuleIdThroughTheRuleIndex) {
  AlertQuery q;
  q.limit = 0;
  q.filter.rule = "r2";
  std::string plan;
  EXPECT_EQ(Ids(q, &plan), Expect([](const Alert& a) { return a.rule->id == "r2"; }));
  EXPECT_EQ(plan, "index r:r2 (6 entries)");
}

TEST_F(AlertQueryTest, FiltersByAPartOfTheRuleTitle) {
  AlertQuery q;
  q.limit = 0;
  q.filter.rule = "TITLE OF R3";
  EXPECT_EQ(Ids(q), Expect([](const Alert& a) { return a.rule->id == "r3"; }));
  q.filter.rule = "title of r";  // r0..r3, not corr
  EXPECT_EQ(Ids(q), Expect([](const Alert& a) { return a.rule->id != "corr"; }));
  q.filter.rule = "no such rule";
  EXPECT_TRUE(Ids(q).empty());
}

TEST_F(AlertQueryTest, FiltersBySeverityExactlyOrAtLeast) {
  AlertQuery q;
  q.limit = 0;
  q.filter.severity = Level::kHigh;
  std::string plan;
  EXPECT_EQ(Ids(q, &plan), Expect([](const Alert& a) { return a.rule->level == Level::kHigh; }));
  EXPECT_EQ(plan, "index s:high (6 entries)");
  q.filter.severity.reset();
  q.filter.min_severity = Level::kHigh;
  EXPECT_EQ(Ids(q), Expect([](const Alert& a) { return a.rule->level >= Level::kHigh; }));
}

TEST_F(AlertQueryTest, FiltersByEntityValueOrNameAndValue) {
  AlertQuery q;
  q.limit = 0;
  q.filter.entity = "p4";
  EXPECT_EQ(Ids(q), Expect([](const Alert& a) { return a.entities.pod == "p4"; }));
  q.filter.entity = "user.username=alice";
  EXPECT_EQ(Ids(q), Expect([](const Alert& a) { return a.rule->id == "corr"; }));
  q.filter.entity = "pod=alice";  // right value, wrong name
  EXPECT_TRUE(Ids(q).empty());
  q.filter.entity = "namespace=payments";
  EXPECT_EQ(Ids(q), Expect([](const Alert& a) { return a.rule->id == "corr"; }));
}

TEST_F(AlertQueryTest, FiltersByTenantAndTime) {
  AlertQuery q;
  q.limit = 0;
  q.filter.tenant = "acme";
  EXPECT_EQ(Ids(q), Expect([](const Alert& a) { return a.tenant == "acme"; }));
  q.filter.tenant.clear();
  q.filter.since = kBase + 5 * kSecond;
  q.filter.until = kBase + 10 * kSecond;  // exclusive
  EXPECT_EQ(Ids(q), Expect([](const Alert& a) {
              return a.time >= kBase + 5 * kSecond && a.time < kBase + 10 * kSecond;
            }));
  EXPECT_EQ(Ids(q).size(), 5u);
}

TEST_F(AlertQueryTest, CombinesFiltersScanningTheMostSelectiveIndex) {
  AlertQuery q;
  q.limit = 0;
  q.filter.min_severity = Level::kLow;  // 25 entries
  q.filter.entity = "p1";               // 4 entries
  q.filter.rule = "r1";                 // 6 entries
  std::string plan;
  const auto ids = Ids(q, &plan);
  EXPECT_EQ(plan, "index e:p1 (4 entries)");
  EXPECT_EQ(ids,
            Expect([](const Alert& a) { return a.entities.pod == "p1" && a.rule->id == "r1"; }));
  EXPECT_FALSE(ids.empty());
}

TEST_F(AlertQueryTest, PagesCoverEveryAlertOnceInEitherOrder) {
  for (bool oldest_first : {false, true}) {
    AlertQuery all;
    all.limit = 0;
    all.oldest_first = oldest_first;
    all.filter.min_severity = Level::kMedium;
    const auto expected = Ids(all);
    ASSERT_EQ(expected.size(), 19u);
    AlertQuery q = all;
    q.limit = 4;
    std::vector<std::string> got;
    int pages = 0;
    for (;;) {
      auto page = QueryAlerts(*store_, q);
      ASSERT_TRUE(page.ok()) << page.error().message();
      ++pages;
      for (const auto& a : page->alerts) got.push_back(a.id);
      if (page->next_page_token.empty()) break;
      EXPECT_EQ(page->alerts.size(), 4u);
      q.page_token = page->next_page_token;
    }
    EXPECT_EQ(got, expected) << "oldest_first=" << oldest_first;
    EXPECT_EQ(pages, 5);  // 4+4+4+4+3: the last page says it is the last
  }
}

TEST_F(AlertQueryTest, ContinuesAfterAnAlertId) {
  AlertQuery all;
  all.limit = 0;
  const auto ids = Ids(all);
  auto token = PageTokenAfter(*store_, *ParseAlertId(ids[5]));
  ASSERT_TRUE(token.ok());
  AlertQuery q;
  q.limit = 3;
  q.page_token = *token;
  EXPECT_EQ(Ids(q), std::vector<std::string>(ids.begin() + 6, ids.begin() + 9));
  EXPECT_FALSE(PageTokenAfter(*store_, Hash128{1, 2}).ok());
  q.page_token = "zz";
  EXPECT_FALSE(QueryAlerts(*store_, q).ok());
}

TEST_F(AlertQueryTest, StatusHistorySurvivesTheEngineRewritingTheAlert) {
  const Alert& a = alerts_[7];
  auto acked = UpdateAlertStatus(*store_, a.id, {AlertStatus::kInProgress, "alice", "looking"});
  ASSERT_TRUE(acked.ok()) << acked.error().message();
  // A restart re-reads the input: the same alert is written again.
  BatchOutput batch;
  batch.alerts = {a};
  ASSERT_TRUE(store_->Write(batch).ok());
  ASSERT_TRUE(UpdateAlertStatus(*store_, a.id, {AlertStatus::kResolved, "bob", ""}).ok());
  store_.reset();
  auto reopened = Store::Open(dir_.path().string());
  ASSERT_TRUE(reopened.ok());
  store_ = std::move(*reopened);
  ASSERT_TRUE(store_->Write(batch).ok());

  AlertQuery q;
  q.filter.status = AlertStatus::kResolved;
  auto page = QueryAlerts(*store_, q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->alerts.size(), 1u);
  EXPECT_EQ(page->alerts[0].id, a.id.Uuid());
  // Changed statuses are few: they drive the query instead of a scan of every alert.
  EXPECT_EQ(page->plan, "index status:Resolved (1 entries)");
  EXPECT_EQ(page->examined, 1u);
  const json j = json::parse(page->alerts[0].json);
  EXPECT_EQ(j["status_id"], 4);
  EXPECT_EQ(j["status"], "Resolved");
  EXPECT_EQ(j["type_uid"], 200402);
  const json& history = j["unmapped"]["tuttle"]["status_history"];
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]["status_id"], 2);
  EXPECT_EQ(history[0]["actor"]["user"]["name"], "alice");
  EXPECT_EQ(history[0]["comment"], "looking");
  EXPECT_EQ(history[1]["actor"]["user"]["name"], "bob");
  EXPECT_TRUE(history[1].contains("time_dt"));

  q.filter.status = AlertStatus::kNew;
  q.limit = 0;
  EXPECT_EQ(QueryAlerts(*store_, q)->alerts.size(), alerts_.size() - 1);
}

TEST_F(AlertQueryTest, RefusesAStatusForAnUnknownAlert) {
  auto r = UpdateAlertStatus(*store_, Hash128{9, 9}, {AlertStatus::kResolved, "alice", ""});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("no alert"), std::string::npos);
}

TEST_F(AlertQueryTest, AReadOnlyStoreQueriesWhileTheWriterHoldsTheLock) {
  StoreOptions ro;
  ro.read_only = true;
  auto reader = Store::Open(dir_.path().string(), ro);
  ASSERT_TRUE(reader.ok()) << reader.error().message();
  AlertQuery q;
  q.limit = 0;
  q.filter.rule = "r1";
  auto page = QueryAlerts(**reader, q);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->alerts.size(), 6u);
  // A second writer is refused: a store has one.
  auto writer = Store::Open(dir_.path().string());
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.error().message().find("lock"), std::string::npos) << writer.error().message();
}

TEST(AlertStatusWords, MapToOcsfStatuses) {
  EXPECT_EQ(ParseAlertStatus("acknowledged"), AlertStatus::kInProgress);
  EXPECT_EQ(ParseAlertStatus("closed"), AlertStatus::kResolved);
  EXPECT_EQ(ParseAlertStatus("New"), AlertStatus::kNew);
  EXPECT_FALSE(ParseAlertStatus("done").has_value());
  EXPECT_EQ(AlertStatusName(AlertStatus::kInProgress), "In Progress");
  EXPECT_EQ(ParseLevel("HIGH"), Level::kHigh);
  EXPECT_FALSE(ParseLevel("severe").has_value());
}

}  // namespace
}  // namespace tuttle::storage

namespace tuttle::storage {
namespace {

// A store written before the index existed: only default and alerts column families.
TEST(AlertQueryWithoutIndex, AnswersTimeFiltersAndRefusesIndexedOnes) {
  testing::TempDir dir;
  const Alert a = MakeAlert({"r1", Level::kHigh, kBase, "p", "default", {}, ""});
  {
    rocksdb::DBOptions o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
        {"alerts", rocksdb::ColumnFamilyOptions()}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir.path().string(), cfs, &handles, &db).ok());
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), handles[1], AlertKey(a.time, a.id), AlertToOcsfJson(a))
            .ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  StoreOptions ro;
  ro.read_only = true;
  auto store = Store::Open(dir.path().string(), ro);
  ASSERT_TRUE(store.ok()) << store.error().message();
  EXPECT_EQ((*store)->alert_index_handle(), nullptr);
  AlertQuery q;
  q.filter.since = kBase;
  auto page = QueryAlerts(**store, q);
  ASSERT_TRUE(page.ok()) << page.error().message();
  ASSERT_EQ(page->alerts.size(), 1u);
  EXPECT_EQ(page->alerts[0].id, a.id.Uuid());
  q.filter.rule = "r1";
  page = QueryAlerts(**store, q);
  ASSERT_FALSE(page.ok());
  EXPECT_NE(page.error().message().find("no alert index"), std::string::npos);
}

}  // namespace
}  // namespace tuttle::storage
