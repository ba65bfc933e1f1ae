// The RocksDB store: alerts, dead letters and positions written together, read back after a
// reopen, and idempotent for a replay of the same input.

#include "tuttle/storage/store.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "tuttle/storage/key_codec.h"

namespace tuttle::storage {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tuttle-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static Alert MakeAlert(TimeNs t, const std::string& rule_id) {
    auto info = std::make_shared<RuleInfo>();
    info->id = rule_id;
    info->title = "Rule " + rule_id;
    info->level = Level::kHigh;
    Alert a;
    a.rule = info;
    a.kind = "single";
    a.time = a.window_start = a.window_end = t;
    a.evidence.push_back(Evidence{SourcePosition{"telemetry", 1, t}, t, HashBytes(rule_id), info});
    a.id = ComputeAlertId(a);
    return a;
  }

  std::filesystem::path dir_;
};

TEST_F(StoreTest, WritesABatchAndReadsItBackAfterReopening) {
  BatchOutput batch;
  batch.alerts = {MakeAlert(3000, "b"), MakeAlert(1000, "a")};
  DeadLetter d;
  d.kind = DeadLetter::Kind::kParse;
  d.position = SourcePosition{"telemetry", 2, 17};
  d.reason = "malformed JSON: TAPE_ERROR";
  d.record = "{\"kind\":";
  batch.dead_letters = {d};
  batch.positions = {SourcePosition{"telemetry", 1, 41}, SourcePosition{"telemetry", 2, 17}};
  {
    auto store = Store::Open(dir_.string());
    ASSERT_TRUE(store.ok()) << store.error().message();
    ASSERT_TRUE((*store)->Write(batch).ok());
    ASSERT_TRUE((*store)->Finish().ok());
  }
  auto store = Store::Open(dir_.string());
  ASSERT_TRUE(store.ok());
  auto alerts = (*store)->Alerts();
  ASSERT_TRUE(alerts.ok());
  ASSERT_EQ(alerts->size(), 2u);
  EXPECT_EQ((*alerts)[0].time, 1000);  // time order
  EXPECT_EQ((*alerts)[0].id, batch.alerts[1].id.Uuid());
  const auto j = nlohmann::json::parse((*alerts)[0].json);
  EXPECT_EQ(j["finding_info"]["uid"], batch.alerts[1].id.Uuid());
  EXPECT_EQ(j["finding_info"]["analytic"]["uid"], "a");

  auto dead = (*store)->DeadLetters();
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].kind, "parse");
  EXPECT_EQ((*dead)[0].position, d.position);
  EXPECT_EQ((*dead)[0].reason, d.reason);
  EXPECT_EQ((*dead)[0].record, d.record);

  auto p1 = (*store)->Position("telemetry", 1);
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(**p1, 41);
  auto p0 = (*store)->Position("telemetry", 0);
  ASSERT_TRUE(p0.ok());
  EXPECT_FALSE(p0->has_value());
}

TEST_F(StoreTest, WritingTheSameAlertsTwiceStoresThemOnce) {
  auto store = Store::Open(dir_.string());
  ASSERT_TRUE(store.ok());
  BatchOutput batch;
  batch.alerts = {MakeAlert(1000, "a"), MakeAlert(2000, "b")};
  ASSERT_TRUE((*store)->Write(batch).ok());
  ASSERT_TRUE((*store)->Write(batch).ok());
  EXPECT_EQ((*store)->Alerts()->size(), 2u);
}

TEST_F(StoreTest, KeepsEvidenceRecordsWithTheirPositionsAndFindsThemById) {
  BatchOutput batch;
  batch.alerts = {MakeAlert(1000, "a")};
  const Hash128 id = batch.alerts[0].evidence[0].record_id;
  std::string raw = "{\"verb\":\"create\",\"nul\":\"";
  raw.push_back('\0');
  raw += "\"}";
  batch.evidence.push_back(EvidenceRecord{id, 1000, SourcePosition{"k8s-audit", 3, 77}, raw});
  {
    auto store = Store::Open(dir_.string());
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Write(batch).ok());
  }
  StoreOptions read_only;
  read_only.read_only = true;
  auto store = Store::Open(dir_.string(), read_only);
  ASSERT_TRUE(store.ok()) << store.error().message();
  auto found = FindEvidence(**store, id.Hex());
  ASSERT_TRUE(found.ok()) << found.error().message();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->record_id, id.Hex());
  EXPECT_EQ((*found)->time, 1000);
  EXPECT_EQ((*found)->position, (SourcePosition{"k8s-audit", 3, 77}));
  EXPECT_EQ((*found)->record, raw);  // bytes as read, NUL and all

  auto absent = FindEvidence(**store, HashBytes("other").Hex());
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  EXPECT_FALSE(FindEvidence(**store, "not-hex").ok());
  EXPECT_FALSE(FindEvidence(**store, std::string(32, 'g')).ok());
  // Damaged values are errors, not crashes.
  EXPECT_FALSE(DecodeEvidence(EvidenceKey(id), "short").ok());
  std::string bad = EncodeEvidence(EvidenceRecord{id, 1, SourcePosition{"s", 0, 0}, ""});
  bad[20] = '\x7f';  // a source size beyond the value
  EXPECT_FALSE(DecodeEvidence(EvidenceKey(id), bad).ok());
}

TEST_F(StoreTest, ReportsAnUnwritableLocation) {
  auto store = Store::Open("/proc/tuttle-cannot-be-here");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message().find("/proc/tuttle-cannot-be-here"), std::string::npos);
}

TEST(KeyCodec, OrdersSignedIntegersNumerically) {
  EXPECT_LT(EncodeI64(-5), EncodeI64(3));
  EXPECT_LT(EncodeI64(3), EncodeI64(1'000'000'000'000));
  EXPECT_EQ(DecodeI64(EncodeI64(-123456789)), -123456789);
  EXPECT_EQ(DecodeI32(EncodeI32(-1)), -1);
  EXPECT_LT(EncodeI32(-1), EncodeI32(0));
  TimeNs t;
  std::string id;
  const Hash128 h{1, 2};
  ASSERT_TRUE(DecodeAlertKey(AlertKey(42, h), t, id));
  EXPECT_EQ(t, 42);
  EXPECT_EQ(id, h.Uuid());
  EXPECT_FALSE(DecodeAlertKey("short", t, id));
}

}  // namespace
}  // namespace tuttle::storage
