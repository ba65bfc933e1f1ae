// The Kafka source against librdkafka's mock cluster: a real Kafka-protocol broker in-process,
// with consumer groups and offset commits.

#include "tuttle/ingest/kafka.h"

#include <gtest/gtest.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <set>

namespace tuttle::ingest {
namespace {

constexpr int kPartitions = 3;
constexpr int16_t kFetchApiKey = 1;  // Kafka protocol ApiKey of Fetch (rdkafka_protocol.h)

struct Consumed {
  std::vector<std::string> values;
  std::map<int32_t, int64_t> last_offset;
  std::set<int32_t> idle;
  std::set<int32_t> assigned;
};

Consumed ConsumeAll(KafkaSource& src, bool commit) {
  Consumed c;
  for (int guard = 0; guard < 2000; ++guard) {
    RecordBatch batch;
    auto more = src.Next(batch);
    EXPECT_TRUE(more.ok()) << (more.ok() ? std::string() : more.error().message());
    if (!more.ok()) break;
    std::vector<SourcePosition> positions;
    for (size_t i = 0; i < batch.size(); ++i) {
      c.values.emplace_back(batch.bytes(i));
      c.last_offset[batch.meta(i).partition] = batch.meta(i).offset;
      positions.push_back(batch.Position(i));
      EXPECT_NE(batch.meta(i).transport_time, kNoTime);
    }
    for (const auto& s : batch.stream_events()) {
      if (s.kind == StreamEvent::Kind::kIdle) c.idle.insert(s.partition);
      if (s.kind == StreamEvent::Kind::kAssigned) c.assigned.insert(s.partition);
    }
    if (commit) {
      EXPECT_TRUE(src.Commit(positions).ok());
    }
    if (!*more) break;
  }
  return c;
}

class KafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = MockCluster::Start(1);
    ASSERT_TRUE(c.ok()) << c.error().message();
    cluster_ = std::move(*c);
    ASSERT_TRUE(cluster_->CreateTopic("telemetry", kPartitions).ok());
  }

  void Produce(int from, int to) {
    auto p = KafkaProducer::Open(cluster_->bootstrap_servers());
    ASSERT_TRUE(p.ok()) << p.error().message();
    for (int i = from; i < to; ++i) {
      ASSERT_TRUE((*p)->Produce("telemetry", i % kPartitions, "", "record-" + std::to_string(i)).ok());
    }
    ASSERT_TRUE((*p)->Flush(std::chrono::seconds(10)).ok());
  }

  KafkaSourceOptions Options(const std::string& group) {
    KafkaSourceOptions o;
    o.brokers = cluster_->bootstrap_servers();
    o.topics = {"telemetry"};
    o.group_id = group;
    o.assignment_timeout = std::chrono::seconds(30);
    // The mock cluster's coordinator keeps a closed member until its session times out.
    o.properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};
    return o;
  }

  std::unique_ptr<MockCluster> cluster_;
};

TEST_F(KafkaTest, ConsumesEveryPartitionAsAGroupAndEndsAtPartitionEof) {
  Produce(0, 300);
  auto src = KafkaSource::Open(Options("g1"));
  ASSERT_TRUE(src.ok()) << src.error().message();
  const Consumed c = ConsumeAll(**src, true);
  ASSERT_EQ(c.values.size(), 300u);
  std::set<std::string> unique(c.values.begin(), c.values.end());
  EXPECT_EQ(unique.size(), 300u);
  EXPECT_EQ(c.last_offset.size(), 3u);
  for (const auto& [partition, offset] : c.last_offset) EXPECT_EQ(offset, 99) << partition;
  EXPECT_EQ(c.idle, (std::set<int32_t>{0, 1, 2}));
  EXPECT_EQ(c.assigned, (std::set<int32_t>{0, 1, 2}));
}

TEST_F(KafkaTest, ARestartedMemberResumesAfterTheCommittedBatches) {
  Produce(0, 60);
  {
    auto src = KafkaSource::Open(Options("g2"));
    ASSERT_TRUE(src.ok());
    EXPECT_EQ(ConsumeAll(**src, true).values.size(), 60u);
  }  // closing commits the stored offsets
  Produce(60, 90);
  auto src = KafkaSource::Open(Options("g2"));
  ASSERT_TRUE(src.ok());
  const Consumed c = ConsumeAll(**src, true);
  ASSERT_EQ(c.values.size(), 30u);
  for (const auto& v : c.values) EXPECT_GE(std::stoi(v.substr(7)), 60) << v;
}

TEST_F(KafkaTest, UncommittedBatchesAreReadAgain) {
  Produce(0, 30);
  {
    auto src = KafkaSource::Open(Options("g3"));
    ASSERT_TRUE(src.ok());
    EXPECT_EQ(ConsumeAll(**src, false).values.size(), 30u);
  }
  auto src = KafkaSource::Open(Options("g3"));
  ASSERT_TRUE(src.ok());
  EXPECT_EQ(ConsumeAll(**src, true).values.size(), 30u);
}

TEST_F(KafkaTest, SurvivesTransientFetchErrors) {
  Produce(0, 90);
  // The broker answers the next Fetch requests with a retriable error; librdkafka retries.
  rd_kafka_mock_push_request_errors(cluster_->handle(), kFetchApiKey, 3,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  auto src = KafkaSource::Open(Options("g4"));
  ASSERT_TRUE(src.ok());
  EXPECT_EQ(ConsumeAll(**src, true).values.size(), 90u);
}

TEST_F(KafkaTest, RefusesToStoreOffsetsAutomatically) {
  auto o = Options("g5");
  o.properties.emplace_back("enable.auto.offset.store", "true");
  auto src = KafkaSource::Open(o);
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.error().message().find("enable.auto.offset.store"), std::string::npos);
}

TEST_F(KafkaTest, UnknownPropertiesNameTheKey) {
  auto o = Options("g6");
  o.properties.emplace_back("sasl.mechanismz", "PLAIN");
  auto src = KafkaSource::Open(o);
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.error().message().find("sasl.mechanismz"), std::string::npos);
}

}  // namespace
}  // namespace tuttle::ingest
