// The Kafka source against librdkafka's mock cluster: a real Kafka-protocol broker in-process,
// with consumer groups and offset commits.

#include "tuttle/ingest/kafka.h"

#include "tuttle/engine/metrics.h"
#include "tuttle/ingest/json_record_parser.h"

#include <gtest/gtest.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

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

// A Docker engine event (`docker events --format '{{json .}}'`), a Kubernetes audit event and a
// CloudTrail record, as those write them.
constexpr std::string_view kDockerEvent =
    R"({"status":"start","id":"5f1c3a9b2e7d","from":"nginx@sha256:0a1b2c3d4e5f","Type":)"
    R"("container","Action":"start","Actor":{"ID":"5f1c3a9b2e7d","Attributes":{"image":)"
    R"("nginx@sha256:0a1b2c3d4e5f","name":"web","io.kubernetes.pod.name":"web-6b7c8d9-abcde",)"
    R"("io.kubernetes.pod.namespace":"shop"}},"scope":"local","time":1773479400,)"
    R"("timeNano":1773479400123456789})";
constexpr std::string_view kAuditEvent =
    R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":)"
    R"("8f3c1c1e-4b1a-4d43-9a52-2f0d0f0e9b11","stage":"ResponseComplete","requestURI":)"
    R"("/api/v1/namespaces/shop/secrets","verb":"list","user":{"username":"alice@example.com"},)"
    R"("sourceIPs":["203.0.113.7"],"objectRef":{"resource":"secrets","namespace":"shop",)"
    R"("apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":)"
    R"("2026-03-14T09:03:11.000000Z","stageTimestamp":"2026-03-14T09:03:11.020000Z"})";
constexpr std::string_view kCloudTrail =
    R"({"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":)"
    R"("arn:aws:iam::111122223333:user/ci","accountId":"111122223333"},"eventTime":)"
    R"("2026-03-14T09:04:00Z","eventSource":"lambda.amazonaws.com","eventName":)"
    R"("UpdateFunctionCode20150331v2","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.7",)"
    R"("requestParameters":{"functionName":"payments"},"eventType":"AwsApiCall",)"
    R"("recipientAccountId":"111122223333"})";

struct ParsedEvent {
  std::string topic;
  uint16_t pinned_format = 0;
  uint16_t pinned_tenant = 0;
  std::string format;  // the parser's, or "error: <reason>"
  std::string tenant;
  std::string pod;
};

class Collect final : public RecordParser::EventHandler {
 public:
  explicit Collect(ParsedEvent& e) : e_(e) {}
  void OnEvent(const Event& event) override {
    e_.format = std::string(event.format);
    e_.tenant = std::string(event.tenant);
    e_.pod = std::string(event.entities.pod);
  }

 private:
  ParsedEvent& e_;
};

TEST_F(KafkaTest, PinsTheFormatAndTenantPerTopicAndDetectsTheOthers) {
  ASSERT_TRUE(cluster_->CreateTopic("docker-events", 1).ok());
  ASSERT_TRUE(cluster_->CreateTopic("audit", 1).ok());
  auto p = KafkaProducer::Open(cluster_->bootstrap_servers());
  ASSERT_TRUE(p.ok()) << p.error().message();
  ASSERT_TRUE((*p)->Produce("docker-events", 0, "", kDockerEvent).ok());
  // Not a Docker event: on a topic pinned to docker, a dead letter rather than a guess.
  ASSERT_TRUE((*p)->Produce("docker-events", 0, "", kAuditEvent).ok());
  ASSERT_TRUE((*p)->Produce("audit", 0, "", kAuditEvent).ok());
  ASSERT_TRUE((*p)->Produce("audit", 0, "", kCloudTrail).ok());
  ASSERT_TRUE((*p)->Flush(std::chrono::seconds(10)).ok());

  const uint16_t docker = JsonRecordParser::FormatId("docker").value_or(0);
  ASSERT_NE(docker, 0);
  auto o = Options("g-pins");
  o.topics = {"docker-events", "audit"};
  o.formats = {{"docker-events", docker}};
  o.tenants = {{"audit", 1}};
  auto src = KafkaSource::Open(o);
  ASSERT_TRUE(src.ok()) << src.error().message();

  auto catalog = std::make_shared<FieldCatalog>();
  RegisterAdapterFields(*catalog);
  JsonRecordParserOptions parser_options;
  parser_options.tenants = {"platform-team"};
  JsonRecordParser parser(catalog, parser_options);
  auto worker = parser.NewWorker();

  std::map<std::string, std::vector<ParsedEvent>> by_topic;
  for (int guard = 0; guard < 2000; ++guard) {
    RecordBatch batch;
    auto more = (*src)->Next(batch);
    ASSERT_TRUE(more.ok()) << more.error().message();
    for (size_t i = 0; i < batch.size(); ++i) {
      ParsedEvent e;
      e.topic = batch.sources()[batch.meta(i).source];
      e.pinned_format = batch.meta(i).format;
      e.pinned_tenant = batch.meta(i).tenant;
      Collect collect(e);
      Status st = worker->Parse(batch.bytes(i), batch.meta(i), collect);
      if (!st.ok()) e.format = "error: " + st.error().message();
      by_topic[e.topic].push_back(e);
    }
    if (!*more) break;
  }

  ASSERT_EQ(by_topic["docker-events"].size(), 2u);
  const ParsedEvent& d = by_topic["docker-events"][0];
  EXPECT_EQ(d.pinned_format, docker);
  EXPECT_EQ(d.pinned_tenant, 0);
  EXPECT_EQ(d.format, "docker");
  EXPECT_EQ(d.pod, "web-6b7c8d9-abcde");
  EXPECT_EQ(d.tenant, "");
  EXPECT_EQ(by_topic["docker-events"][1].format,
            "error: format mismatch: the record is not docker (the format pinned for its "
            "source)");

  ASSERT_EQ(by_topic["audit"].size(), 2u);
  for (const ParsedEvent& e : by_topic["audit"]) {
    EXPECT_EQ(e.pinned_format, 0);  // detected
    EXPECT_EQ(e.pinned_tenant, 1);
    EXPECT_EQ(e.tenant, "platform-team");  // fixed for the topic, over CloudTrail's account
  }
  EXPECT_EQ(by_topic["audit"][0].format, "k8s_audit");
  EXPECT_EQ(by_topic["audit"][1].format, "cloudtrail");
}

// What one consumer's registry says about its group membership.
struct Membership {
  double assigned = 0;
  uint64_t assigns = 0;
  uint64_t revokes = 0;
  std::set<int32_t> owned;        // from the exposition: tuttle_kafka_partition_owned
  std::map<int32_t, double> lag;  // tuttle_kafka_consumer_lag
};

Membership Read(MetricsRegistry& r) {
  Membership m;
  m.assigned = r.AddGauge("tuttle_kafka_assigned_partitions", "").With().value();
  auto& rebalances = r.AddCounter("tuttle_kafka_rebalances_total", "", {"kind"});
  m.assigns = rebalances.With({"assign"}).value();
  m.revokes = rebalances.With({"revoke"}).value();
  const std::string text = r.Expose();
  for (int32_t p = 0; p < kPartitions; ++p) {
    std::string series = "{topic=\"telemetry\",partition=\"";
    series += std::to_string(p);
    series += "\"} ";
    std::string owned = "\ntuttle_kafka_partition_owned";
    owned += series;
    owned += "1\n";
    if (text.find(owned) != std::string::npos) m.owned.insert(p);
    auto& lag = r.AddGauge("tuttle_kafka_consumer_lag", "", {"topic", "partition"});
    std::string lag_line = "\ntuttle_kafka_consumer_lag";
    lag_line += series;
    if (text.find(lag_line) != std::string::npos) {
      m.lag[p] = lag.With({"telemetry", std::to_string(p)}).value();
    }
  }
  return m;
}

// Polls the sources (committing what they read) until `done` holds or 60 s pass.
bool PollUntil(const std::vector<KafkaSource*>& sources, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    for (KafkaSource* src : sources) {
      RecordBatch batch;
      auto more = src->Next(batch);
      EXPECT_TRUE(more.ok()) << (more.ok() ? std::string() : more.error().message());
      if (!more.ok()) return false;
      std::vector<SourcePosition> positions;
      for (size_t i = 0; i < batch.size(); ++i) positions.push_back(batch.Position(i));
      EXPECT_TRUE(src->Commit(positions).ok());
    }
    if (done()) return true;
  }
  return false;
}

TEST_F(KafkaTest, MetricsShowOwnedPartitionsLagAndRebalancesAsASecondMemberJoins) {
  Produce(0, 90);
  MetricsRegistry first_metrics, second_metrics;
  auto o = Options("g-metrics");
  o.follow = true;
  o.metrics = &first_metrics;
  auto first = KafkaSource::Open(o);
  ASSERT_TRUE(first.ok()) << first.error().message();

  // Alone in the group: all three partitions, and once its reads are committed, no lag.
  ASSERT_TRUE(PollUntil({first->get()}, [&] {
    Membership m = Read(first_metrics);
    return m.lag.size() == 3 && m.lag[0] == 0 && m.lag[1] == 0 && m.lag[2] == 0;
  })) << first_metrics.Expose();
  Membership alone = Read(first_metrics);
  EXPECT_EQ(alone.assigned, 3);
  EXPECT_EQ(alone.owned, (std::set<int32_t>{0, 1, 2}));
  EXPECT_EQ(alone.assigns, 1u);
  EXPECT_EQ(alone.revokes, 0u);

  // A second member joins: the partitions are split between the two, and the first member's
  // counters show the revocation and the new assignment.
  o.metrics = &second_metrics;
  auto second = KafkaSource::Open(o);
  ASSERT_TRUE(second.ok()) << second.error().message();
  ASSERT_TRUE(PollUntil({first->get(), second->get()}, [&] {
    const Membership a = Read(first_metrics), b = Read(second_metrics);
    return a.assigned > 0 && b.assigned > 0 && a.assigned + b.assigned == 3 &&
           a.owned.size() + b.owned.size() == 3;
  })) << first_metrics.Expose() << second_metrics.Expose();
  const Membership a = Read(first_metrics), b = Read(second_metrics);
  std::set<int32_t> all = a.owned;
  all.insert(b.owned.begin(), b.owned.end());
  EXPECT_EQ(all, (std::set<int32_t>{0, 1, 2}));
  EXPECT_EQ(a.owned.size(), static_cast<size_t>(a.assigned));
  EXPECT_GE(a.revokes, 1u);
  EXPECT_GE(a.assigns, 2u);
  EXPECT_GE(b.assigns, 1u);
  // Lag is reported for owned partitions only.
  for (const auto& [partition, lag] : a.lag) EXPECT_TRUE(a.owned.contains(partition)) << partition;
  for (const auto& [partition, lag] : b.lag) EXPECT_TRUE(b.owned.contains(partition)) << partition;

  // Leaving the group revokes everything: no partition is shown as owned any more.
  second->reset();
  EXPECT_EQ(Read(second_metrics).assigned, 0);
  EXPECT_TRUE(Read(second_metrics).owned.empty());
}

}  // namespace
}  // namespace tuttle::ingest
