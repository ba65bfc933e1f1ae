// Retention, dead-letter listing and re-drive input, and `db stats` numbers, against real RocksDB
// in a temporary folder. Retention runs on a virtual clock.

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "support/test_support.h"
#include "tuttle/storage/alert_index.h"
#include "tuttle/storage/alert_query.h"
#include "tuttle/storage/alert_status.h"
#include "tuttle/storage/db_admin.h"
#include "tuttle/storage/dead_letters.h"
#include "tuttle/storage/key_codec.h"
#include "tuttle/storage/store.h"
#include "tuttle/engine/strings.h"

namespace tuttle::storage {
namespace {

constexpr TimeNs kDay = TimeNs{24} * 3600 * kNsPerSecond;
constexpr TimeNs kNow = TimeNs{1'750'000'000} * kNsPerSecond;

Alert MakeAlert(TimeNs t, const std::string& rule_id, const std::string& pod) {
  auto info = std::make_shared<RuleInfo>();
  info->id = rule_id;
  info->title = Cat("Rule ", rule_id);
  info->level = Level::kHigh;
  Alert a;
  a.rule = info;
  a.kind = "single";
  a.time = a.window_start = a.window_end = t;
  a.entities.pod = pod;
  a.evidence.push_back(Evidence{SourcePosition{"telemetry", 0, t}, t, HashBytes(pod), info});
  a.id = ComputeAlertId(a);
  return a;
}

DeadLetter MakeDeadLetter(DeadLetter::Kind kind, std::string source, int64_t offset,
                          std::string reason, std::string record) {
  DeadLetter d;
  d.kind = kind;
  d.position = SourcePosition{std::move(source), 0, offset};
  d.reason = std::move(reason);
  d.record = std::move(record);
  return d;
}

size_t CountKeys(const Store& store, rocksdb::ColumnFamilyHandle* cf) {
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(rocksdb::ReadOptions(), cf));
  size_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  return n;
}

class StoreAdminTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> Open(TimeNs alert_retention = 90 * kDay,
                              TimeNs dead_letter_retention = 7 * kDay) {
    StoreOptions o;
    o.alert_retention = alert_retention;
    o.dead_letter_retention = dead_letter_retention;
    o.clock = [this] { return now_; };
    auto s = Store::Open(dir_.path().string(), o);
    EXPECT_TRUE(s.ok()) << s.error().message();
    return s.ok() ? std::move(*s) : nullptr;
  }

  testing::TempDir dir_;
  TimeNs now_ = kNow;
};

TEST_F(StoreAdminTest, CompactionDropsOldAlertsWithTheirIndexAndStatusAndOldDeadLetters) {
  auto store = Open();
  const Alert old_alert = MakeAlert(kNow - 100 * kDay, "r", "old-pod");
  const Alert recent = MakeAlert(kNow - 1 * kDay, "r", "new-pod");
  BatchOutput batch;
  batch.alerts = {old_alert, recent};
  // A dead letter stored 10 days ago, one stored today.
  now_ = kNow - 10 * kDay;
  batch.dead_letters = {MakeDeadLetter(DeadLetter::Kind::kParse, "t", 1, "malformed", "{")};
  ASSERT_TRUE(store->Write(batch).ok());
  ASSERT_TRUE(UpdateAlertStatus(*store, old_alert.id, {AlertStatus::kResolved, "a", ""}).ok());
  ASSERT_TRUE(UpdateAlertStatus(*store, recent.id, {AlertStatus::kInProgress, "a", ""}).ok());
  now_ = kNow;
  BatchOutput today;
  today.dead_letters = {MakeDeadLetter(DeadLetter::Kind::kParse, "t", 2, "malformed", "[")};
  ASSERT_TRUE(store->Write(today).ok());
  const size_t index_per_alert = AlertIndexEntries(recent).size();
  ASSERT_EQ(CountKeys(*store, store->alert_index_handle()), 2 * index_per_alert);

  ASSERT_TRUE(CompactAll(*store).ok());

  auto alerts = store->Alerts();
  ASSERT_TRUE(alerts.ok());
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_EQ((*alerts)[0].id, recent.id.Uuid());
  EXPECT_EQ(CountKeys(*store, store->alert_index_handle()), index_per_alert);
  EXPECT_EQ(CountKeys(*store, store->alert_status_handle()), 1u);
  EXPECT_TRUE(AlertStatusDocument(*store, recent.id)->has_value());
  auto dead = ListDeadLetters(*store, {});
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].letter.record, "[");
  EXPECT_EQ((*dead)[0].stored_at, kNow);
  // The old alert is not found by any index either.
  AlertQuery q;
  q.filter.entity = "old-pod";
  EXPECT_TRUE(QueryAlerts(*store, q)->alerts.empty());
}

TEST_F(StoreAdminTest, ZeroRetentionKeepsEverything) {
  auto store = Open(0, 0);
  BatchOutput batch;
  batch.alerts = {MakeAlert(1000, "r", "ancient")};
  now_ = 0;
  batch.dead_letters = {MakeDeadLetter(DeadLetter::Kind::kLate, "t", 1, "late by 1 s", "{}")};
  ASSERT_TRUE(store->Write(batch).ok());
  now_ = kNow;
  ASSERT_TRUE(CompactAll(*store).ok());
  EXPECT_EQ(store->Alerts()->size(), 1u);
  EXPECT_EQ(ListDeadLetters(*store, {})->size(), 1u);
}

TEST_F(StoreAdminTest, ListsDeadLettersByKindReasonSourceAndLimit) {
  auto store = Open();
  BatchOutput batch;
  batch.dead_letters = {
      MakeDeadLetter(DeadLetter::Kind::kParse, "a.jsonl", 3, "malformed JSON: TAPE_ERROR", "{"),
      MakeDeadLetter(DeadLetter::Kind::kParse, "b.jsonl", 1, "no event time", "{}"),
      MakeDeadLetter(DeadLetter::Kind::kLate, "a.jsonl", 9, "late by 42.0 s for: X", "{\"a\":1}"),
      MakeDeadLetter(DeadLetter::Kind::kParse, "a.jsonl", 1, "record too large", "{\"b\":2}"),
  };
  ASSERT_TRUE(store->Write(batch).ok());
  auto all = ListDeadLetters(*store, {});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u);
  // Key order: kind, source, partition, offset.
  EXPECT_EQ((*all)[0].letter.position.offset, 1);
  EXPECT_EQ((*all)[1].letter.position.offset, 3);
  EXPECT_EQ((*all)[3].letter.kind, DeadLetter::Kind::kLate);

  DeadLetterFilter f;
  f.kind = DeadLetter::Kind::kLate;
  EXPECT_EQ(ListDeadLetters(*store, f)->size(), 1u);
  f.kind = DeadLetter::Kind::kParse;
  f.reason = "MALFORMED";
  ASSERT_EQ(ListDeadLetters(*store, f)->size(), 1u);
  f.reason.clear();
  f.source = "a.jsonl";
  EXPECT_EQ(ListDeadLetters(*store, f)->size(), 2u);
  f.limit = 1;
  EXPECT_EQ(ListDeadLetters(*store, f)->size(), 1u);

  ASSERT_TRUE(DeleteDeadLetters(*store, {(*all)[0].key, (*all)[3].key}).ok());
  EXPECT_EQ(ListDeadLetters(*store, {})->size(), 2u);
}

TEST_F(StoreAdminTest, DeadLetterSourceYieldsTheRecordsAtTheirPositions) {
  std::vector<DeadLetterRow> rows(3);
  rows[0].letter = MakeDeadLetter(DeadLetter::Kind::kParse, "a", 3, "", "{\"x\":1}");
  rows[1].letter = MakeDeadLetter(DeadLetter::Kind::kParse, "a", 7, "", "{\"x\":2}");
  rows[2].letter = MakeDeadLetter(DeadLetter::Kind::kParse, "b", 1, "", "{\"x\":3}");
  DeadLetterSource source(rows, {{"b", 5}}, 2);
  RecordBatch batch;
  ASSERT_TRUE(*source.Next(batch));
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch.bytes(1), "{\"x\":2}");
  EXPECT_EQ(batch.Position(1), (SourcePosition{"a", 0, 7}));
  EXPECT_EQ(batch.meta(0).format, 0);
  ASSERT_EQ(batch.stream_events().size(), 1u);  // "a" ends here
  EXPECT_FALSE(batch.end_of_input);
  batch.Clear();
  ASSERT_TRUE(*source.Next(batch));
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch.meta(0).format, 5);  // pinned for source "b"
  EXPECT_TRUE(batch.end_of_input);
  batch.Clear();
  EXPECT_FALSE(*source.Next(batch));
}

TEST_F(StoreAdminTest, StatsCountEveryColumnFamily) {
  auto store = Open();
  BatchOutput batch;
  for (int i = 0; i < 30; ++i) {
    batch.alerts.push_back(MakeAlert(kNow - i, "r", Cat("p", std::to_string(i))));
  }
  batch.dead_letters = {MakeDeadLetter(DeadLetter::Kind::kParse, "t", 1, "x", "{")};
  ASSERT_TRUE(store->Write(batch).ok());
  auto stats = CollectStats(*store, true);
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  std::map<std::string, ColumnFamilyStats> by_name;
  for (const auto& cf : stats->families) by_name[cf.name] = cf;
  EXPECT_EQ(by_name["alerts"].exact_keys, 30);
  EXPECT_EQ(by_name["alert_index"].exact_keys,
            30 * static_cast<int64_t>(AlertIndexEntries(batch.alerts[0]).size()));
  EXPECT_EQ(by_name["dead_letters"].exact_keys, 1);
  EXPECT_EQ(by_name["alert_status"].exact_keys, 0);
  EXPECT_GT(by_name["alerts"].memtable_bytes, 0u);
  int64_t sum = 0;
  for (const auto& cf : stats->families) sum += cf.exact_keys;
  EXPECT_EQ(stats->total.exact_keys, sum);
  EXPECT_GT(stats->disk_bytes, 0u);

  // After a compaction the data is in SST files.
  ASSERT_TRUE(CompactAll(*store).ok());
  stats = CollectStats(*store, false);
  ASSERT_TRUE(stats.ok());
  for (const auto& cf : stats->families) by_name[cf.name] = cf;
  EXPECT_GT(by_name["alerts"].live_sst_bytes, 0u);
  EXPECT_EQ(by_name["alerts"].exact_keys, -1);
  EXPECT_GE(by_name["alerts"].estimated_keys, 25u);
}

}  // namespace
}  // namespace tuttle::storage
