#pragma once
// Scale-out mode (docs/scaling.md): correlation that stays exact when many `tuttle run`
// processes share the work, the way Kafka Streams does it: re-key, then correlate.
//
//   match stage        every process, a member of the input topics' consumer group: parse and
//                      match (stateless), single-event alerts, and each matched record's signals
//                      sent to the signals topic, to the partition that owns their group
//                      (CorrelationPartitioner), plus each input partition's progress ("marks")
//                      to every partition, for watermarks;
//   correlation stage  every process, a member of a second group on the signals topic: one task
//                      per owned signals partition, with its own Correlator whose streams are the
//                      input partitions; so every group lives on exactly one process at a time.
//
// A task's window state is checkpointed to a compacted changelog topic, co-partitioned with the
// signals topic, and restored from it when the partition moves (cooperative-sticky assignment,
// incremental assign and unassign). Delivery: at-least-once everywhere, with an exactly-once
// effect on alerts: the match stage commits input offsets only after its signals are
// acknowledged; a task drops signal messages it has already applied (by input partition and
// offset); alert ids are deterministic, so what is re-done yields the same alerts again.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tuttle/engine/alert_sink.h"
#include "tuttle/engine/correlator.h"
#include "tuttle/engine/metrics.h"
#include "tuttle/engine/partitioning.h"
#include "tuttle/engine/result.h"
#include "tuttle/engine/rule_set.h"
#include "tuttle/ingest/kafka.h"

struct rd_kafka_s;

namespace tuttle::ingest {

// A message of the signals topic, decoded.
struct SignalMessage {
  enum class Kind : uint8_t { kSignals, kMark };
  Kind kind = Kind::kSignals;
  // kSignals: the record's origin (input topic, partition, offset), its bytes, and its signals
  // for correlations whose groups live in this partition.
  ExportedRecord record;
  // kMark: an input partition's progress.
  StreamMark mark;
  // Signals naming a rule (or step) this process has not loaded: dropped, counted.
  uint32_t unknown = 0;
};

// Encodes and decodes signals-topic messages. Rules go by id, not by index, so processes whose
// rule sets differ (a rolling reload) do not mistake one rule for another.
class SignalCodec {
 public:
  explicit SignalCodec(const RuleSet& rules);

  // A message of `record`'s signals with these indices.
  std::string EncodeSignals(const ExportedRecord& record, const std::vector<uint32_t>& which) const;
  std::string EncodeMark(const StreamMark& mark) const;
  // Damaged bytes are an error, never a crash (tests/fuzz/signal_message_fuzz.cc).
  Status Decode(std::string_view bytes, SignalMessage& out) const;

 private:
  const RuleSet& rules_;
  std::map<std::string, uint32_t, std::less<>> detection_by_id_;
  std::map<std::string, uint32_t, std::less<>> correlation_by_id_;
};

// Creates the topic when missing (with `configs`, e.g. cleanup.policy=compact); an existing topic
// must have `partitions` partitions, since they say where every group lives.
Status EnsureTopic(const std::string& brokers, const KafkaProperties& properties,
                   const std::string& topic, int partitions,
                   const std::map<std::string, std::string>& configs = {});

// The partitions of the topics, from the brokers' metadata.
Result<std::vector<std::pair<std::string, int32_t>>> TopicPartitions(
    const std::string& brokers, const KafkaProperties& properties,
    const std::vector<std::string>& topics);

// The match stage's sink: sends BatchOutput::exported and ::marks to the signals topic, and waits
// for the brokers to acknowledge them before the batch's input offsets may be committed.
class SignalExporter final : public AlertSink {
 public:
  static Result<std::unique_ptr<SignalExporter>> Open(const RuleSet& rules,
                                                      const std::string& brokers,
                                                      const KafkaProperties& properties,
                                                      std::string topic, int partitions);
  Status Write(const BatchOutput& batch) override;

  uint64_t messages() const { return messages_; }

 private:
  SignalExporter(const RuleSet& rules, std::string topic, int partitions)
      : codec_(rules), partitioner_(rules), topic_(std::move(topic)), partitions_(partitions) {}

  SignalCodec codec_;
  CorrelationPartitioner partitioner_;
  std::string topic_;
  int partitions_;
  std::unique_ptr<KafkaProducer> producer_;
  uint64_t messages_ = 0;
  uint64_t unflushed_ = 0;
  // Streams whose last mark said idle, repeated every kIdleRepeat.
  std::map<std::pair<std::string, int32_t>, StreamMark> idle_;
  std::chrono::steady_clock::time_point last_idle_repeat_{};
};

// How often the match stage repeats an idle stream's mark, and how long the correlation stage
// keeps a stream idle without hearing it again (by the signals topic's message timestamps).
inline constexpr std::chrono::milliseconds kIdleRepeat{500};
inline constexpr std::chrono::milliseconds kIdleExpiry{2000};

struct CorrelationWorkerOptions {
  std::string brokers;
  KafkaProperties properties;  // consumer and producer
  std::string group_id;        // of the correlation stage's consumer group
  std::string signals_topic;
  std::string changelog_topic;
  // Every input partition: a task's watermark waits for each until it speaks or goes idle.
  std::vector<std::pair<std::string, int32_t>> inputs;
  CorrelatorOptions correlator;
  // A task checkpoints to the changelog this often, or after this many messages.
  std::chrono::milliseconds checkpoint_interval{1000};
  uint64_t checkpoint_messages = 100'000;
  size_t batch_messages = 2048;
  std::chrono::milliseconds poll_timeout{100};
  // Prometheus metrics (docs/metrics.md): owned signals partitions, their lag, rebalances, and
  // the stage's counters, published about once a second. Default: none.
  MetricsRegistry* metrics = nullptr;
};

struct CorrelationWorkerStats {
  uint64_t messages = 0;
  uint64_t signals = 0;
  uint64_t duplicates = 0;       // signal messages already applied (a re-done match batch)
  uint64_t replayed = 0;         // messages read again after a restore, already accounted for
  uint64_t unknown_signals = 0;  // naming rules this process has not loaded
  uint64_t damaged = 0;          // messages that could not be decoded (dead-lettered)
  uint64_t alerts = 0;
  uint64_t late_signals = 0;
  uint64_t checkpoints = 0;
  uint64_t changelog_bytes = 0;
  uint64_t restored_groups = 0;
  uint64_t assigned = 0;  // partitions assigned, revoked (rebalances seen by this member)
  uint64_t revoked = 0;
};

// The correlation stage: consumes the signals topic as a member of its group, one task per
// owned partition. Alerts and dead letters go to the sinks (called from Run()'s thread only).
class CorrelationWorker {
 public:
  static Result<std::unique_ptr<CorrelationWorker>> Open(const RuleSet& rules,
                                                         CorrelationWorkerOptions options,
                                                         std::vector<AlertSink*> sinks);
  ~CorrelationWorker();

  // Runs until Stop(); then checkpoints every task and leaves the group.
  Status Run();
  void Stop() { stop_.store(true); }

  // Signals partitions owned now.
  std::vector<int32_t> Owned() const;
  CorrelationWorkerStats stats() const;

 private:
  struct Task;
  struct Metrics;
  CorrelationWorker(const RuleSet& rules, CorrelationWorkerOptions options,
                    std::vector<AlertSink*> sinks);
  static void OnRebalance(rd_kafka_s* rk, int err, void* partitions, void* opaque);
  void Rebalance(int err, void* partitions);
  Status Restore(Task& task);
  void Apply(Task& task, int64_t offset, std::string_view bytes, int64_t timestamp_ms);
  Status Checkpoint(Task& task);
  // Changelog writes: a put, or a tombstone (nullopt); then a flush that fails on any loss.
  void Produce(int32_t partition, const std::string& key, const std::optional<std::string>& value);
  Status FlushChangelog();
  Status WriteOutput();
  void ExpireIdle(Task& task, int64_t now_ms);
  void PublishMetrics();
  void CheckIdleEnds();
  Status CheckpointDue();

  const RuleSet& rules_;
  CorrelationWorkerOptions options_;
  std::vector<AlertSink*> sinks_;
  SignalCodec codec_;
  rd_kafka_s* consumer_ = nullptr;
  rd_kafka_s* restorer_ = nullptr;            // reads changelog partitions, outside any group
  std::unique_ptr<KafkaProducer> changelog_;  // idempotent
  Status produce_error_ = Ok();
  std::chrono::steady_clock::time_point last_idle_check_{};
  std::map<int32_t, std::unique_ptr<Task>> tasks_;
  BatchOutput out_;  // alerts and dead letters not yet written to the sinks
  Status error_ = Ok();
  std::atomic<bool> stop_{false};
  mutable std::mutex stats_mu_;
  CorrelationWorkerStats stats_;
  std::unique_ptr<Metrics> metrics_;
};

// Serialises Write() calls of sinks shared by the match stage and the correlation stage.
class LockedSink final : public AlertSink {
 public:
  explicit LockedSink(AlertSink& sink) : sink_(sink) {}
  Status Write(const BatchOutput& batch) override {
    std::lock_guard<std::mutex> lock(mu_);
    return sink_.Write(batch);
  }
  Status Finish() override {
    std::lock_guard<std::mutex> lock(mu_);
    return sink_.Finish();
  }

 private:
  AlertSink& sink_;
  std::mutex mu_;
};

}  // namespace tuttle::ingest
