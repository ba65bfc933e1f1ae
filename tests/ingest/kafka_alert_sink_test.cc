// KafkaAlertSink against librdkafka's mock cluster: what lands in the alerts topic (key, value,
// headers), when Write() waits for acknowledgements, retried produce errors, and failures that
// must stop the run rather than lose alerts.

#include "tuttle/ingest/kafka_alert_sink.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/kafka_reader.h"
#include "tuttle/engine/strings.h"

namespace tuttle::ingest {
namespace {

constexpr int16_t kProduceApiKey = 0;  // Kafka protocol ApiKey of Produce (rdkafka_protocol.h)
constexpr const char* kTopic = "tuttle-alerts";

std::vector<Alert> MakeAlerts(int n) {
  auto rule = std::make_shared<RuleInfo>();
  rule->id = "7c1e0000-0000-4000-8000-0000000000aa";
  rule->title = "Secrets listed";
  rule->level = Level::kHigh;
  std::vector<Alert> alerts;
  for (int i = 0; i < n; ++i) {
    Alert a;
    a.rule = rule;
    a.kind = "single";
    a.time = a.window_start = a.window_end = 1'773'479'000'000'000'000 + i * kNsPerSecond;
    a.tenant = i % 2 == 0 ? "acme" : "";
    a.id = HashBytes("alert-" + std::to_string(i));
    alerts.push_back(std::move(a));
  }
  return alerts;
}

BatchOutput Batch(std::vector<Alert> alerts, bool checkpointing, bool checkpoint) {
  BatchOutput b;
  b.alerts = std::move(alerts);
  b.checkpointing = checkpointing;
  if (checkpoint) b.checkpoint = std::make_shared<Checkpoint>();
  return b;
}

class KafkaAlertSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = MockCluster::Start(1);
    ASSERT_TRUE(c.ok()) << c.error().message();
    cluster_ = std::move(*c);
    ASSERT_TRUE(cluster_->CreateTopic(kTopic, 3).ok());
  }

  KafkaAlertSinkOptions Options() const {
    KafkaAlertSinkOptions o;
    o.brokers = cluster_->bootstrap_servers();
    o.topic = kTopic;
    return o;
  }

  std::vector<testing::KafkaMessage> Read() const {
    return testing::ReadTopic(cluster_->bootstrap_servers(), kTopic);
  }

  std::unique_ptr<MockCluster> cluster_;
};

TEST_F(KafkaAlertSinkTest, PublishesEachAlertKeyedByItsIdWithTenantAndRuleHeaders) {
  auto sink = KafkaAlertSink::Open(Options());
  ASSERT_TRUE(sink.ok()) << sink.error().message();
  const std::vector<Alert> alerts = MakeAlerts(10);
  // Not checkpointing: every batch commits, so Write() returns once the brokers have it all.
  Status st = (*sink)->Write(Batch(alerts, false, false));
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ((*sink)->delivered(), 10);
  ASSERT_TRUE((*sink)->Finish().ok());

  std::map<std::string, const Alert*> by_id;
  for (const Alert& a : alerts) by_id[a.id.Uuid()] = &a;
  const auto messages = Read();
  ASSERT_EQ(messages.size(), 10u);
  std::set<std::string> keys;
  for (const auto& m : messages) {
    keys.insert(m.key);
    ASSERT_TRUE(by_id.contains(m.key)) << m.key;
    const Alert& a = *by_id[m.key];
    EXPECT_EQ(m.value, AlertToOcsfJson(a));
    std::string uid = "\"uid\":\"";
    uid += m.key;
    EXPECT_NE(m.value.find(uid), std::string::npos) << m.value;
    EXPECT_EQ(m.headers.at("tuttle.tenant"), a.tenant);
    EXPECT_EQ(m.headers.at("tuttle.rule"), "7c1e0000-0000-4000-8000-0000000000aa");
  }
  EXPECT_EQ(keys.size(), 10u);
}

TEST_F(KafkaAlertSinkTest, ValuesAreInTheChosenAlertFormat) {
  KafkaAlertSinkOptions o = Options();
  o.format = AlertFormat::kFalco;
  auto sink = KafkaAlertSink::Open(o);
  ASSERT_TRUE(sink.ok()) << sink.error().message();
  const std::vector<Alert> alerts = MakeAlerts(3);
  ASSERT_TRUE((*sink)->Write(Batch(alerts, false, false)).ok());
  ASSERT_TRUE((*sink)->Finish().ok());
  const auto messages = Read();
  ASSERT_EQ(messages.size(), 3u);
  for (const auto& m : messages) {
    // Falco's JSON output: priority from the level (high: Error), the alert id among its fields.
    EXPECT_NE(m.value.find("\"priority\":\"Error\""), std::string::npos) << m.value;
    EXPECT_NE(m.value.find(Cat("\"tuttle.alert_id\":\"", m.key)), std::string::npos) << m.value;
    EXPECT_EQ(m.value.find("class_uid"), std::string::npos) << m.value;
  }
}

TEST_F(KafkaAlertSinkTest, BatchesBetweenCheckpointsAreAcknowledgedByTheCheckpointsWrite) {
  auto sink = KafkaAlertSink::Open(Options());
  ASSERT_TRUE(sink.ok()) << sink.error().message();
  const std::vector<Alert> alerts = MakeAlerts(30);
  // Two batches only queue; the third carries a checkpoint (the store commits positions after
  // it), so all 30 alerts are acknowledged when its Write() returns.
  ASSERT_TRUE((*sink)->Write(Batch({alerts.begin(), alerts.begin() + 10}, true, false)).ok());
  ASSERT_TRUE((*sink)->Write(Batch({alerts.begin() + 10, alerts.begin() + 20}, true, false)).ok());
  ASSERT_TRUE((*sink)->Write(Batch({alerts.begin() + 20, alerts.end()}, true, true)).ok());
  EXPECT_EQ((*sink)->delivered(), 30);
  EXPECT_EQ(Read().size(), 30u);
}

TEST_F(KafkaAlertSinkTest, RetriesTransientProduceErrorsWithoutLosingOrDuplicatingAlerts) {
  auto sink = KafkaAlertSink::Open(Options());
  ASSERT_TRUE(sink.ok()) << sink.error().message();
  // The broker refuses the next Produce requests with retriable errors; librdkafka retries, and
  // the idempotent producer's sequence numbers keep a retried batch from landing twice.
  rd_kafka_mock_push_request_errors(
      cluster_->handle(), kProduceApiKey, 4, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
  const std::vector<Alert> alerts = MakeAlerts(200);
  for (size_t i = 0; i < alerts.size(); i += 20) {
    const bool checkpoint = i + 20 == alerts.size();
    Status st = (*sink)->Write(Batch({alerts.begin() + static_cast<ptrdiff_t>(i),
                                      alerts.begin() + static_cast<ptrdiff_t>(i + 20)},
                                     true, checkpoint));
    ASSERT_TRUE(st.ok()) << st.error().message();
  }
  ASSERT_TRUE((*sink)->Finish().ok());
  const auto messages = Read();
  std::multiset<std::string> keys;
  for (const auto& m : messages) keys.insert(m.key);
  std::multiset<std::string> want;
  for (const Alert& a : alerts) want.insert(a.id.Uuid());
  EXPECT_EQ(keys, want);
}

TEST_F(KafkaAlertSinkTest, AlertsTheBrokersNeverAcknowledgeFailTheWrite) {
  KafkaAlertSinkOptions o = Options();
  // librdkafka retries until the message times out; then the alert is lost to Kafka, and the
  // run must stop before its positions are committed.
  o.properties = {{"message.timeout.ms", "1500"}};
  auto sink = KafkaAlertSink::Open(o);
  ASSERT_TRUE(sink.ok()) << sink.error().message();
  rd_kafka_mock_broker_set_down(cluster_->handle(), 1);
  Status st = (*sink)->Write(Batch(MakeAlerts(5), true, true));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("alerts topic 'tuttle-alerts'"), std::string::npos)
      << st.error().message();
  EXPECT_NE(st.error().message().find("5 messages not delivered"), std::string::npos)
      << st.error().message();
  EXPECT_EQ((*sink)->delivered(), 0);
  // Finish() reports it too: a failure is never forgotten.
  EXPECT_FALSE((*sink)->Finish().ok());
}

TEST_F(KafkaAlertSinkTest, AQueuedBatchThatIsNeverAcknowledgedFailsFinish) {
  KafkaAlertSinkOptions o = Options();
  o.properties = {{"message.timeout.ms", "1000"}};
  auto sink = KafkaAlertSink::Open(o);
  ASSERT_TRUE(sink.ok()) << sink.error().message();
  rd_kafka_mock_broker_set_down(cluster_->handle(), 1);
  ASSERT_TRUE((*sink)->Write(Batch(MakeAlerts(3), true, false)).ok());  // only queued
  EXPECT_FALSE((*sink)->Finish().ok());
}

}  // namespace
}  // namespace tuttle::ingest
