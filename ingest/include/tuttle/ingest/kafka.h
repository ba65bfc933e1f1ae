#pragma once
// Kafka through librdkafka: the consumer-group source the pipeline reads, a producer (the sample
// feeder, later the alerts topic), and librdkafka's in-process mock cluster, a real
// Kafka-protocol broker used by the embedded default and the tests.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tuttle/engine/record_source.h"
#include "tuttle/engine/result.h"

struct rd_kafka_s;
struct rd_kafka_queue_s;
struct rd_kafka_topic_partition_list_s;
struct rd_kafka_mock_cluster_s;

namespace tuttle {
class MetricsRegistry;
}

namespace tuttle::ingest {

// librdkafka configuration properties, applied in order (later ones win). Any property of
// librdkafka's CONFIGURATION.md may be given: TLS (security.protocol, ssl.*), SASL (sasl.*), ...
using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

struct KafkaSourceOptions {
  std::string brokers;              // bootstrap.servers
  std::vector<std::string> topics;  // subscribed with the consumer group
  std::string group_id = "tuttle";
  KafkaProperties properties;       // passed through to librdkafka after Tuttle's defaults
  // false: finish once every assigned partition has reached its end (partition EOF).
  // true: keep consuming until Stop().
  bool follow = false;
  // The format pinned for a topic's records (RecordMeta::format), by topic; the key "" applies
  // to every topic not named. Default: none, the parser detects each record's format.
  std::map<std::string, uint16_t> formats;
  // Resuming after a checkpoint: by (topic, partition), the offset to read from when the group
  // assigns the partition, overriding the group's committed offset. Default: none.
  std::map<std::pair<std::string, int32_t>, int64_t> start_offsets;
  // The tenant fixed for a topic's records (RecordMeta::tenant, an id of
  // JsonRecordParserOptions::tenants), by topic; the key "" applies to every topic not named.
  // Default: none, each record's tenant is the one it names.
  std::map<std::string, uint16_t> tenants;
  // Messages per batch at most. Default: 2048.
  size_t batch_records = 2048;
  // How long one poll waits for messages. Default: 100 ms.
  std::chrono::milliseconds poll_timeout{100};
  // How long to wait for the group to assign partitions before giving up. Default: 60 s.
  std::chrono::milliseconds assignment_timeout{60'000};
  // Where the consumer's metrics go (`tuttle_kafka_*`, docs/metrics.md): rebalances and owned
  // partitions from the rebalance callback, lag and committed offsets from librdkafka's
  // statistics, which are then enabled (statistics.interval.ms=1000 unless `properties` set it).
  // The per-partition series are this consumer's: give each consumer its own registry.
  // Default: none. REQUIRES: outlives the source.
  MetricsRegistry* metrics = nullptr;
};

// Consumes topics as a member of a consumer group. Offsets are stored only when the pipeline
// commits a batch (enable.auto.offset.store=false) and committed by librdkafka's auto-commit and
// on close, so a restarted consumer resumes after the last batch that was fully written.
//
// Partition assignments and revocations are seen in a rebalance callback, which librdkafka runs
// inside consumer_poll() before it returns any message of a new assignment; they go into the
// batch as stream events at that exact point, so watermarks wait for every assigned partition.
class KafkaSource final : public RecordSource {
 public:
  static Result<std::unique_ptr<KafkaSource>> Open(KafkaSourceOptions options);
  ~KafkaSource() override;

  Result<bool> Next(RecordBatch& batch) override;
  Status Commit(const std::vector<SourcePosition>& positions) override;
  void Stop() override { stop_.store(true); }
  bool Stopped() const override { return stop_.load(); }

  // Partitions assigned to this member right now.
  std::vector<std::pair<std::string, int32_t>> Assignment() const;

 private:
  explicit KafkaSource(KafkaSourceOptions options);  // kafka.cc: Metrics is complete there
  bool AllAssignedAtEnd() const;
  static void OnRebalance(rd_kafka_s* rk, int err, rd_kafka_topic_partition_list_s* partitions,
                          void* opaque);
  struct Metrics;  // kafka.cc

  struct Change {
    std::string topic;
    int32_t partition;
    bool assigned;
  };

  KafkaSourceOptions options_;
  rd_kafka_s* rk_ = nullptr;
  rd_kafka_queue_s* queue_ = nullptr;
  std::set<std::pair<std::string, int32_t>> at_end_;
  std::vector<Change> changes_;  // from the rebalance callback, not yet in a batch
  std::atomic<bool> stop_{false};
  bool finished_ = false;
  std::chrono::steady_clock::time_point started_;
  std::unique_ptr<Metrics> metrics_;  // null without KafkaSourceOptions::metrics
};

// Checks one librdkafka property by applying it to a fresh configuration (rd_kafka_conf_set):
// unknown keys and invalid values fail with librdkafka's reason. Config files check their
// properties with it at load time, so the error can name the line.
Status CheckKafkaProperty(const std::string& key, const std::string& value);

// Message headers: name and value, in order.
using KafkaHeaders = std::vector<std::pair<std::string, std::string>>;

// A producer for feeding topics (the embedded sample, tests) and for the alerts topic
// (KafkaAlertSink). Idempotent (enable.idempotence=true, so acks=all): librdkafka retries a
// failed send without duplicating or reordering it, until message.timeout.ms (default 300 s);
// only then is a message reported as failed. Not thread-safe: one thread produces and flushes.
class KafkaProducer {
 public:
  static Result<std::unique_ptr<KafkaProducer>> Open(const std::string& brokers,
                                                     const KafkaProperties& properties = {});
  ~KafkaProducer();

  // Queues one message; partition -1 lets the partitioner choose from the key.
  Status Produce(const std::string& topic, int32_t partition, std::string_view key,
                 std::string_view value, const KafkaHeaders& headers = {});
  // Serves the delivery reports that arrived, without waiting; fails once any message failed.
  Status Poll();
  // Waits until every queued message is acknowledged (or fails); fails if any message failed
  // since the producer was opened, or when `timeout` passes first.
  Status Flush(std::chrono::milliseconds timeout);
  // Messages acknowledged by the brokers so far.
  int64_t delivered() const { return delivered_.load(); }

 private:
  KafkaProducer() = default;
  Status Failures() const;

  rd_kafka_s* rk_ = nullptr;
  std::atomic<int64_t> delivered_{0};
  std::atomic<int64_t> failed_{0};
  std::string first_error_;

  static void OnDelivery(rd_kafka_s* rk, const void* message, void* opaque);
};

// librdkafka's mock cluster: in-process brokers speaking the Kafka protocol, with consumer groups
// and offset commits. It keeps about the last 5 MB of each partition.
class MockCluster {
 public:
  static Result<std::unique_ptr<MockCluster>> Start(int brokers = 1);
  ~MockCluster();

  const std::string& bootstrap_servers() const { return bootstrap_; }
  Status CreateTopic(const std::string& topic, int partitions);
  // For error injection in tests (rdkafka_mock.h).
  rd_kafka_mock_cluster_s* handle() const { return mock_; }

 private:
  MockCluster() = default;
  rd_kafka_s* rk_ = nullptr;
  rd_kafka_mock_cluster_s* mock_ = nullptr;
  std::string bootstrap_;
};

}  // namespace tuttle::ingest
