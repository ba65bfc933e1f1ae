#include "tuttle/ingest/scale_out.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <set>
#include <thread>

#include "tuttle/engine/pipeline.h"
#include "tuttle/engine/state_codec.h"

namespace tuttle::ingest {
namespace {

using Clock = std::chrono::steady_clock;
using StreamKey = std::pair<std::string, int32_t>;

constexpr char kSignalsTag = 'S';
constexpr char kMarkTag = 'M';
constexpr char kVersion = 1;

// Changelog keys besides the correlator's (kStreamsStateKey, groups, suppression): the task's
// record, and the marker that ends each checkpoint.
constexpr std::string_view kTaskKey = "t";
constexpr std::string_view kMarkerKey = "c";

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

Result<rd_kafka_t*> NewHandle(rd_kafka_type_t type, const KafkaProperties& settings,
                              void* opaque = nullptr,
                              void (*configure)(rd_kafka_conf_t*) = nullptr) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Error(fmt::format("Kafka property '{}': {}", k, err));
    }
  }
  if (opaque != nullptr) rd_kafka_conf_set_opaque(conf, opaque);
  if (configure != nullptr) configure(conf);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Error(fmt::format("Kafka: {}", err));
  }
  return rk;
}

KafkaProperties With(KafkaProperties defaults, const KafkaProperties& properties) {
  defaults.insert(defaults.end(), properties.begin(), properties.end());
  return defaults;
}

// The task record: the last signals-topic offset applied, where a restore resumes, and per input
// partition the last input offset applied as of `resume` (for dropping duplicates).
struct TaskRecord {
  int64_t last = -1;
  int64_t resume = 0;
  std::map<StreamKey, int64_t> applied;
};

std::string EncodeTaskRecord(const TaskRecord& t) {
  std::string out;
  state_codec::Writer w(out);
  w.I64(t.last);
  w.I64(t.resume);
  w.U64(t.applied.size());
  for (const auto& [stream, offset] : t.applied) {
    w.Str(stream.first);
    w.I64(stream.second);
    w.I64(offset);
  }
  return out;
}

bool DecodeTaskRecord(std::string_view bytes, TaskRecord& t) {
  state_codec::Reader r(bytes);
  size_t n = 0;
  if (!r.I64(t.last) || !r.I64(t.resume) || !r.Count(n)) return false;
  for (size_t i = 0; i < n; ++i) {
    std::string source;
    int32_t partition = 0;
    int64_t offset = 0;
    if (!r.Str(source) || !r.I32(partition) || !r.I64(offset)) return false;
    t.applied[{source, partition}] = offset;
  }
  return r.done();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// SignalCodec

SignalCodec::SignalCodec(const RuleSet& rules) : rules_(rules) {
  for (uint32_t i = 0; i < rules.detections.size(); ++i) {
    detection_by_id_.emplace(rules.detections[i].info->id, i);
  }
  for (uint32_t i = 0; i < rules.correlations.size(); ++i) {
    correlation_by_id_.emplace(rules.correlations[i].info->id, i);
  }
}

std::string SignalCodec::EncodeSignals(const ExportedRecord& record,
                                       const std::vector<uint32_t>& which) const {
  std::string out;
  out.reserve(64 + record.bytes.size());
  out.push_back(kSignalsTag);
  out.push_back(kVersion);
  state_codec::Writer w(out);
  w.Str(record.position.source);
  w.I64(record.position.partition);
  w.I64(record.position.offset);
  w.Str(record.bytes);
  w.U64(which.size());
  for (const uint32_t i : which) {
    const Signal& s = record.signals[i];
    w.Str(rules_.correlations[s.correlation].info->id);
    w.U64(s.step);
    w.Str(rules_.detections[s.detection].info->id);
    w.I64(s.time);
    w.U64(s.record_id.hi);
    w.U64(s.record_id.lo);
    w.U64(s.group.size());
    for (const std::string& g : s.group) w.Str(g);
    w.Bool(s.missing_group);
    w.Bool(s.missing_value);
    w.Str(s.value);
  }
  return out;
}

std::string SignalCodec::EncodeMark(const StreamMark& mark) const {
  std::string out;
  out.push_back(kMarkTag);
  out.push_back(kVersion);
  state_codec::Writer w(out);
  w.Str(mark.source);
  w.I64(mark.partition);
  w.I64(mark.offset);
  w.I64(mark.time);
  w.Bool(mark.idle);
  w.Bool(mark.released);
  return out;
}

Status SignalCodec::Decode(std::string_view bytes, SignalMessage& out) const {
  out = SignalMessage{};
  if (bytes.size() < 2 || (bytes[0] != kSignalsTag && bytes[0] != kMarkTag)) {
    return Error("not a Tuttle signals message");
  }
  if (bytes[1] != kVersion) {
    return Error(fmt::format("signals message version {} (this build reads {})",
                             static_cast<int>(bytes[1]), static_cast<int>(kVersion)));
  }
  state_codec::Reader r(bytes.substr(2));
  if (bytes[0] == kMarkTag) {
    out.kind = SignalMessage::Kind::kMark;
    StreamMark& m = out.mark;
    if (!r.Str(m.source) || !r.I32(m.partition) || !r.I64(m.offset) || !r.I64(m.time) ||
        !r.Bool(m.idle) || !r.Bool(m.released) || !r.done()) {
      return Error("damaged mark message");
    }
    return Ok();
  }
  out.kind = SignalMessage::Kind::kSignals;
  ExportedRecord& rec = out.record;
  size_t n = 0;
  if (!r.Str(rec.position.source) || !r.I32(rec.position.partition) ||
      !r.I64(rec.position.offset) || !r.Str(rec.bytes) || !r.Count(n)) {
    return Error("damaged signals message");
  }
  std::string correlation_id, detection_id;
  for (size_t i = 0; i < n; ++i) {
    Signal s;
    uint64_t step = 0;
    size_t groups = 0;
    if (!r.Str(correlation_id) || !r.U64(step) || !r.Str(detection_id) || !r.I64(s.time) ||
        !r.U64(s.record_id.hi) || !r.U64(s.record_id.lo) || !r.Count(groups)) {
      return Error("damaged signals message");
    }
    s.group.resize(groups);
    for (std::string& g : s.group) {
      if (!r.Str(g)) return Error("damaged signals message");
    }
    if (!r.Bool(s.missing_group) || !r.Bool(s.missing_value) || !r.Str(s.value)) {
      return Error("damaged signals message");
    }
    // A rule this process does not have, or has in another shape: dropped and counted.
    auto c = correlation_by_id_.find(correlation_id);
    auto d = detection_by_id_.find(detection_id);
    if (c == correlation_by_id_.end() || d == detection_by_id_.end()) {
      ++out.unknown;
      continue;
    }
    const CorrelationRule& rule = rules_.correlations[c->second];
    const auto& uses = rules_.uses[d->second];
    const bool feeds = std::any_of(uses.begin(), uses.end(), [&](const CorrelationUse& u) {
      return u.correlation == c->second && u.step == step;
    });
    if (!feeds || step >= rule.group_by_paths.size() ||
        s.group.size() != rule.group_by_paths[step].size()) {
      ++out.unknown;
      continue;
    }
    s.correlation = c->second;
    s.step = static_cast<uint32_t>(step);
    s.detection = d->second;
    s.position = rec.position;
    rec.signals.push_back(std::move(s));
  }
  if (!r.done()) return Error("damaged signals message: trailing bytes");
  return Ok();
}

// ---------------------------------------------------------------------------------------------
// Topics

namespace {

// The partitions of each topic the brokers know, from all-topics metadata (asking for one topic
// by name could auto-create it, with the broker's default partition count).
Result<std::map<std::string, std::vector<int32_t>>> AllTopics(rd_kafka_t* rk) {
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, nullptr, &md, 10'000);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error(fmt::format("Kafka metadata: {}", rd_kafka_err2str(e)));
  }
  std::map<std::string, std::vector<int32_t>> out;
  for (int t = 0; t < md->topic_cnt; ++t) {
    if (md->topics[t].err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    auto& parts = out[md->topics[t].topic];
    for (int i = 0; i < md->topics[t].partition_cnt; ++i) {
      parts.push_back(md->topics[t].partitions[i].id);
    }
    std::sort(parts.begin(), parts.end());
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

Result<KafkaPtr> AdminHandle(const std::string& brokers, const KafkaProperties& properties) {
  auto handle =
      NewHandle(RD_KAFKA_PRODUCER,
                With({{"bootstrap.servers", brokers}, {"client.id", "tuttle-admin"}}, properties));
  if (!handle.ok()) return handle.error();
  return KafkaPtr(*handle);
}

}  // namespace

Result<std::vector<std::pair<std::string, int32_t>>> TopicPartitions(
    const std::string& brokers, const KafkaProperties& properties,
    const std::vector<std::string>& topics) {
  auto rk = AdminHandle(brokers, properties);
  if (!rk.ok()) return rk.error();
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (true) {
    auto all = AllTopics(rk->get());
    std::string missing;
    std::vector<std::pair<std::string, int32_t>> out;
    if (all.ok()) {
      for (const std::string& topic : topics) {
        auto it = all->find(topic);
        if (it == all->end() || it->second.empty()) {
          missing = topic;
          break;
        }
        for (const int32_t p : it->second) out.emplace_back(topic, p);
      }
      if (missing.empty()) {
        std::sort(out.begin(), out.end());
        return out;
      }
    }
    if (Clock::now() > deadline) {
      if (!all.ok()) return all.error();
      return Error(fmt::format("Kafka topic '{}' does not exist", missing));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Status EnsureTopic(const std::string& brokers, const KafkaProperties& properties,
                   const std::string& topic, int partitions,
                   const std::map<std::string, std::string>& configs) {
  auto rk = AdminHandle(brokers, properties);
  if (!rk.ok()) return rk.error();
  auto all = AllTopics(rk->get());
  if (!all.ok()) return all.error();
  auto existing = all->find(topic);
  if (existing != all->end()) {
    if (static_cast<int>(existing->second.size()) != partitions) {
      return Error(fmt::format(
          "Kafka topic '{}' has {} partitions, the configuration says {}: the partition count "
          "says where every correlation group lives and cannot change under a running "
          "deployment (docs/scaling.md)",
          topic, existing->second.size(), partitions));
    }
    return Ok();
  }
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, err, sizeof(err));
  if (nt == nullptr) return Error(fmt::format("Kafka topic '{}': {}", topic, err));
  for (const auto& [k, v] : configs) rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk->get());
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(rk->get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, 15'000, err, sizeof(err));
  rd_kafka_CreateTopics(rk->get(), &nt, 1, options, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 20'000);
  std::string problem;
  if (ev == nullptr) {
    problem = "no answer from the brokers in 20 s";
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    problem = rd_kafka_event_error_string(ev);
  } else if (const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev)) {
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; ++i) {
      const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        const char* s = rd_kafka_topic_result_error_string(results[i]);
        problem = s != nullptr ? s : rd_kafka_err2str(e);
      }
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
  if (!problem.empty()) {
    return Error(fmt::format(
        "creating Kafka topic '{}' ({} partitions): {}; create it yourself, or let Tuttle's "
        "principal create topics",
        topic, partitions, problem));
  }
  auto created = TopicPartitions(brokers, properties, {topic});
  if (!created.ok()) return created.error();
  return Ok();
}

// ---------------------------------------------------------------------------------------------
// SignalExporter

Result<std::unique_ptr<SignalExporter>> SignalExporter::Open(const RuleSet& rules,
                                                             const std::string& brokers,
                                                             const KafkaProperties& properties,
                                                             std::string topic, int partitions) {
  if (partitions < 1) return Error("signals topic: at least one partition");
  std::unique_ptr<SignalExporter> e(new SignalExporter(rules, std::move(topic), partitions));
  auto producer = KafkaProducer::Open(brokers, properties);
  if (!producer.ok()) return producer.error();
  e->producer_ = std::move(*producer);
  return e;
}

Status SignalExporter::Write(const BatchOutput& batch) {
  const size_t n = static_cast<size_t>(partitions_);
  uint64_t sent = 0;
  // One message per record and partition, so a task tells a re-sent record by its offset.
  std::map<size_t, std::vector<uint32_t>> parts;
  for (const ExportedRecord& record : batch.exported) {
    parts.clear();
    for (uint32_t i = 0; i < record.signals.size(); ++i) {
      const Signal& s = record.signals[i];
      parts[partitioner_.Of(s.correlation, s.group, n)].push_back(i);
    }
    for (const auto& [partition, which] : parts) {
      Status st = producer_->Produce(topic_, static_cast<int32_t>(partition), {},
                                     codec_.EncodeSignals(record, which));
      if (!st.ok()) return st;
      ++sent;
    }
  }
  // Marks go to every partition, after the signals they cover. A stream stays idle downstream
  // only while its idle mark is repeated (kIdleRepeat): if this process dies, the stream holds
  // the watermarks again until its next reader speaks.
  auto send = [&](const StreamMark& mark) -> Status {
    const std::string bytes = codec_.EncodeMark(mark);
    for (size_t p = 0; p < n; ++p) {
      Status st = producer_->Produce(topic_, static_cast<int32_t>(p), {}, bytes);
      if (!st.ok()) return st;
      ++sent;
    }
    return Ok();
  };
  const auto now = std::chrono::steady_clock::now();
  for (const StreamMark& mark : batch.marks) {
    if (Status st = send(mark); !st.ok()) return st;
    if (mark.idle) {
      idle_[{mark.source, mark.partition}] = mark;
    } else {
      idle_.erase({mark.source, mark.partition});
    }
  }
  if (now - last_idle_repeat_ >= kIdleRepeat) {
    last_idle_repeat_ = now;
    for (const auto& [key, mark] : idle_) {
      if (Status st = send(mark); !st.ok()) return st;
    }
  }
  messages_ += sent;
  unflushed_ += sent;
  // Input offsets are committed when a batch that is not checkpointing, or that carries a
  // checkpoint, returns from here: everything sent so far must be in Kafka by then.
  if (unflushed_ == 0 || (batch.checkpointing && !batch.checkpoint)) return Ok();
  unflushed_ = 0;
  return producer_->Flush(std::chrono::minutes(5));
}

// ---------------------------------------------------------------------------------------------
// CorrelationWorker

struct CorrelationWorker::Task {
  int32_t partition = -1;
  std::unique_ptr<Correlator> correlator;
  // Per input partition, the last input offset whose signals this task applied.
  std::map<StreamKey, int64_t> applied;
  // What `applied` was before each signals message at or after the oldest one still needed.
  struct Undo {
    int64_t offset;  // signals-topic offset
    StreamKey origin;
    int64_t previous;  // -1: none
  };
  std::deque<Undo> undo;
  // Signals messages whose signals may still wait for the watermark: offset, newest signal time.
  std::deque<std::pair<int64_t, TimeNs>> waiting;
  int64_t last = -1;          // last signals-topic offset applied
  int64_t replay_until = -1;  // after a restore: offsets up to here are read again
  int64_t start = -1;         // after a restore: where reading resumes
  uint64_t since_checkpoint = 0;
  Clock::time_point last_checkpoint = Clock::now();
  uint64_t checkpoints = 0;
  // Inputs idle as of their last mark: its message timestamp (ms), idle only while it keeps
  // coming; and the input's last offset it names, idle only while no record came after it.
  struct Idle {
    int64_t timestamp_ms = -1;
    int64_t offset = -1;
    bool confirmed = false;  // the brokers said the partition ends there: marked idle
  };
  std::map<StreamKey, Idle> idle;
};

// The correlation stage's metrics (docs/metrics.md).
struct CorrelationWorker::Metrics {
  explicit Metrics(MetricsRegistry& r)
      : rebalances(r.AddCounter("tuttle_correlation_rebalances_total",
                                "Signals partitions assigned to or revoked from this correlation "
                                "member",
                                {"kind"})),
        owned(r.AddGauge("tuttle_correlation_partition_owned",
                         "1 for each signals partition (correlation task) this member owns",
                         {"partition"})),
        lag(r.AddGauge("tuttle_correlation_lag",
                       "Signals-topic messages not yet applied, per owned partition",
                       {"partition"})),
        counters(r.AddCounter("tuttle_correlation_messages_total",
                              "Signals-topic messages by what became of them", {"outcome"})),
        alerts(r.AddCounter("tuttle_correlation_alerts_total",
                            "Correlation alerts raised by this member")
                   .With()),
        checkpoints(r.AddCounter("tuttle_correlation_checkpoints_total",
                                 "Task checkpoints written to the changelog")
                        .With()),
        changelog_bytes(r.AddCounter("tuttle_correlation_changelog_bytes_total",
                                     "Bytes of keys and values written to the changelog")
                            .With()),
        restored(r.AddCounter("tuttle_correlation_restored_groups_total",
                              "Correlation groups read back from the changelog")
                     .With()) {}

  MetricFamily<Counter>& rebalances;
  MetricFamily<Gauge>& owned;
  MetricFamily<Gauge>& lag;
  MetricFamily<Counter>& counters;
  Counter& alerts;
  Counter& checkpoints;
  Counter& changelog_bytes;
  Counter& restored;
  CorrelationWorkerStats published;  // what the counters hold so far
  Clock::time_point last = Clock::now();
};

CorrelationWorker::CorrelationWorker(const RuleSet& rules, CorrelationWorkerOptions options,
                                     std::vector<AlertSink*> sinks)
    : rules_(rules), options_(std::move(options)), sinks_(std::move(sinks)), codec_(rules) {}

CorrelationWorker::~CorrelationWorker() {
  if (consumer_ != nullptr) rd_kafka_destroy(consumer_);
  if (restorer_ != nullptr) rd_kafka_destroy(restorer_);
}

Result<std::unique_ptr<CorrelationWorker>> CorrelationWorker::Open(const RuleSet& rules,
                                                                   CorrelationWorkerOptions options,
                                                                   std::vector<AlertSink*> sinks) {
  if (options.group_id.empty()) return Error("correlation stage: empty consumer group id");
  std::unique_ptr<CorrelationWorker> w(
      new CorrelationWorker(rules, std::move(options), std::move(sinks)));
  const CorrelationWorkerOptions& o = w->options_;
  if (o.metrics != nullptr) w->metrics_ = std::make_unique<Metrics>(*o.metrics);
  auto consumer = NewHandle(
      RD_KAFKA_CONSUMER,
      With({{"bootstrap.servers", o.brokers},
            {"group.id", o.group_id},
            {"client.id", "tuttle-correlate"},
            {"auto.offset.reset", "earliest"},
            {"partition.assignment.strategy", "cooperative-sticky"},
            {"enable.auto.offset.store", "false"},
            {"enable.auto.commit", "true"},
            {"auto.commit.interval.ms", "1000"}},
           o.properties),
      w.get(), [](rd_kafka_conf_t* conf) {
        rd_kafka_conf_set_rebalance_cb(
            conf,
            [](rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
               void* opaque) { OnRebalance(rk, static_cast<int>(err), partitions, opaque); });
      });
  if (!consumer.ok()) return consumer.error();
  w->consumer_ = *consumer;
  rd_kafka_poll_set_consumer(w->consumer_);
  // Reads changelog partitions by assignment, outside any group; never commits.
  auto restorer = NewHandle(RD_KAFKA_CONSUMER, With({{"bootstrap.servers", o.brokers},
                                                     {"group.id", o.group_id + ".restore"},
                                                     {"client.id", "tuttle-restore"},
                                                     {"enable.auto.commit", "false"},
                                                     {"enable.partition.eof", "true"}},
                                                    o.properties));
  if (!restorer.ok()) return restorer.error();
  w->restorer_ = *restorer;
  rd_kafka_poll_set_consumer(w->restorer_);
  auto changelog =
      KafkaProducer::Open(o.brokers, With({{"client.id", "tuttle-changelog"}}, o.properties));
  if (!changelog.ok()) return changelog.error();
  w->changelog_ = std::move(*changelog);

  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, o.signals_topic.c_str(), RD_KAFKA_PARTITION_UA);
  const rd_kafka_resp_err_t e = rd_kafka_subscribe(w->consumer_, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error(fmt::format("Kafka subscribe '{}': {}", o.signals_topic, rd_kafka_err2str(e)));
  }
  return w;
}

void CorrelationWorker::OnRebalance(rd_kafka_s* /*rk*/, int err, void* partitions, void* opaque) {
  static_cast<CorrelationWorker*>(opaque)->Rebalance(err, partitions);
}

void CorrelationWorker::Rebalance(int err, void* list) {
  auto* partitions = static_cast<rd_kafka_topic_partition_list_t*>(list);
  const bool assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
  const bool cooperative =
      std::string_view(rd_kafka_rebalance_protocol(consumer_)) == "COOPERATIVE";
  if (assign) {
    for (int i = 0; i < partitions->cnt; ++i) {
      auto& p = partitions->elems[i];
      auto task = std::make_unique<Task>();
      task->partition = p.partition;
      task->correlator = std::make_unique<Correlator>(rules_, options_.correlator);
      task->correlator->TrackChanges();
      if (error_.ok()) {
        Status st = Restore(*task);
        if (!st.ok()) error_ = st;
      }
      // Resume where the changelog says, whatever the group committed.
      if (task->start >= 0) p.offset = task->start;
      tasks_[p.partition] = std::move(task);
    }
  } else {
    // Revoked: write what this member did before the partition goes; lost (the group moved on
    // without us): someone else owns it already, so write nothing.
    const bool lost = rd_kafka_assignment_lost(consumer_) != 0;
    if (!lost && error_.ok()) {
      Status st = WriteOutput();
      for (int i = 0; i < partitions->cnt && st.ok(); ++i) {
        auto it = tasks_.find(partitions->elems[i].partition);
        if (it != tasks_.end()) st = Checkpoint(*it->second);
      }
      if (!st.ok()) error_ = st;
    }
    for (int i = 0; i < partitions->cnt; ++i) tasks_.erase(partitions->elems[i].partition);
  }
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    (assign ? stats_.assigned : stats_.revoked) += static_cast<uint64_t>(partitions->cnt);
  }
  if (metrics_) {
    metrics_->rebalances.With({assign ? "assign" : "revoke"}).Add();
    for (int i = 0; i < partitions->cnt; ++i) {
      const std::string label = std::to_string(partitions->elems[i].partition);
      if (assign) {
        metrics_->owned.With({label}).Set(1);
      } else {
        metrics_->owned.Remove({label});
        metrics_->lag.Remove({label});
      }
    }
  }
  if (cooperative) {
    rd_kafka_error_t* e = assign ? rd_kafka_incremental_assign(consumer_, partitions)
                                 : rd_kafka_incremental_unassign(consumer_, partitions);
    if (e != nullptr) {
      if (error_.ok()) {
        error_ = Error(fmt::format("Kafka rebalance: {}", rd_kafka_error_string(e)));
      }
      rd_kafka_error_destroy(e);
    }
  } else {
    rd_kafka_assign(consumer_, assign ? partitions : nullptr);
  }
}

// Reads the task's changelog partition: every checkpoint up to the last marker is the state;
// entries after it belong to a checkpoint that never finished (its writer died), and are
// written over with the state's values so that later checkpoints do not adopt them.
Status CorrelationWorker::Restore(Task& task) {
  const std::string& topic = options_.changelog_topic;
  const int32_t p = task.partition;
  int64_t low = 0, high = 0;
  rd_kafka_resp_err_t e =
      rd_kafka_query_watermark_offsets(restorer_, topic.c_str(), p, &low, &high, 30'000);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error(fmt::format("changelog '{}' [{}]: {}", topic, p, rd_kafka_err2str(e)));
  }
  std::map<std::string, std::optional<std::string>> state, tail;
  if (high > low) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = low;
    rd_kafka_assign(restorer_, list);
    rd_kafka_topic_partition_list_destroy(list);
    const auto deadline = Clock::now() + std::chrono::minutes(10);
    int64_t next = low;
    Status st = Ok();
    while (next < high) {
      if (Clock::now() > deadline) {
        st = Error(fmt::format("changelog '{}' [{}]: reading offsets {}..{} took over 10 min",
                               topic, p, low, high));
        break;
      }
      rd_kafka_message_t* m = rd_kafka_consumer_poll(restorer_, 500);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        next = std::max(next, m->offset);
        rd_kafka_message_destroy(m);
        if (next >= high) break;
        continue;
      }
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fmt::print(stderr, "tuttle: changelog restore: {}\n", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        continue;
      }
      next = m->offset + 1;
      const std::string key(static_cast<const char*>(m->key), m->key_len);
      if (key == kMarkerKey) {
        for (auto& [k, v] : tail) state[k] = std::move(v);
        tail.clear();
      } else if (m->payload == nullptr) {
        tail[key] = std::nullopt;
      } else {
        tail[key] = std::string(static_cast<const char*>(m->payload), m->len);
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(restorer_, nullptr);
    if (!st.ok()) return st;
  }
  // Repair an unfinished checkpoint before anything else is written.
  if (!tail.empty()) {
    for (const auto& [k, v] : tail) {
      auto committed = state.find(k);
      if (committed != state.end() && committed->second) {
        Produce(task.partition, k, *committed->second);
      } else {
        Produce(task.partition, k, std::nullopt);
      }
    }
    Produce(task.partition, std::string(kMarkerKey), std::string("repair"));
    if (Status st = FlushChangelog(); !st.ok()) return st;
  }

  Correlator& c = *task.correlator;
  TimeNs last_expiry = kNoTime;
  TaskRecord record;
  bool have_record = false;
  StateKey key;
  uint64_t groups = 0;
  for (const auto& [k, v] : state) {
    if (!v) continue;
    if (k == kTaskKey) {
      if (!DecodeTaskRecord(*v, record)) {
        return Error(fmt::format("changelog '{}' [{}]: damaged task record", topic, p));
      }
      have_record = true;
      continue;
    }
    if (!ParseStateKey(k, key)) {
      return Error(fmt::format("changelog '{}' [{}]: damaged state key", topic, p));
    }
    if (key.kind == 'm') {
      if (!c.RestoreStreams(*v, last_expiry)) {
        return Error(fmt::format("changelog '{}' [{}]: damaged streams record", topic, p));
      }
      continue;
    }
    Status st = c.RestoreEntry(key, *v);
    if (!st.ok())
      return Error(fmt::format("changelog '{}' [{}]: {}", topic, p, st.error().message()));
    ++groups;
  }
  c.FinishRestore(c.watermark(), last_expiry);
  // Every input holds the watermark until its reader speaks: idle ones repeat it soon enough.
  for (const auto& [source, partition] : options_.inputs) {
    c.Assign(source, partition);
    c.Observe(source, partition, kNoTime);
  }
  if (have_record) {
    task.start = record.resume;
    task.last = record.last;
    task.applied = record.applied;
    if (record.resume <= record.last) {
      task.replay_until = record.last;
      // Resume at `resume`: kept as the first waiting message until the replay passes it.
      task.waiting.emplace_back(record.resume, kNoTime);
    }
  }
  std::lock_guard<std::mutex> lock(stats_mu_);
  stats_.restored_groups += groups;
  return Ok();
}

void CorrelationWorker::Apply(Task& task, int64_t offset, std::string_view bytes,
                              int64_t timestamp_ms) {
  ExpireIdle(task, timestamp_ms);
  const bool replaying = offset <= task.replay_until;
  if (!replaying && offset <= task.last) return;  // already applied
  if (replaying && !task.waiting.empty() && task.waiting.front().second == kNoTime) {
    task.waiting.pop_front();  // the restore's placeholder: the replay re-creates what waits
  }
  task.last = std::max(task.last, offset);
  if (offset >= task.replay_until) task.replay_until = -1;
  ++task.since_checkpoint;
  std::lock_guard<std::mutex> lock(stats_mu_);
  ++stats_.messages;
  if (replaying) ++stats_.replayed;
  SignalMessage msg;
  if (Status st = codec_.Decode(bytes, msg); !st.ok()) {
    ++stats_.damaged;
    if (replaying) return;
    DeadLetter d;
    d.kind = DeadLetter::Kind::kParse;
    d.position = SourcePosition{options_.signals_topic, task.partition, offset};
    d.reason = fmt::format("signals topic: {}", st.error().message());
    d.record = std::string(bytes);
    out_.dead_letters.push_back(std::move(d));
    return;
  }
  Correlator& c = *task.correlator;
  if (msg.kind == SignalMessage::Kind::kMark) {
    // The restored streams are as of the checkpoint's last message: a mark read again could
    // only make an input idle that was not, and move the watermark past what was written.
    if (replaying) return;
    const StreamMark& m = msg.mark;
    const StreamKey origin{m.source, m.partition};
    // Observe() without a time: the stream holds the watermark again (released, or not idle).
    c.Observe(m.source, m.partition, m.time);
    if (m.idle && !m.released) {
      // Idle only once the brokers confirm the partition ends at the mark's offset
      // (CheckIdleEnds); a repeated mark keeps a confirmed input idle.
      auto it = task.idle.find(origin);
      if (it != task.idle.end() && it->second.confirmed && it->second.offset == m.offset) {
        c.MarkIdle(m.source, m.partition);
        it->second.timestamp_ms = timestamp_ms;
      } else {
        task.idle[origin] = Task::Idle{timestamp_ms, m.offset, false};
      }
    } else {
      task.idle.erase(origin);
    }
  } else {
    ExportedRecord& rec = msg.record;
    stats_.unknown_signals += msg.unknown;
    const StreamKey origin{rec.position.source, rec.position.partition};
    auto it = task.applied.find(origin);
    if (it != task.applied.end() && rec.position.offset <= it->second) {
      ++stats_.duplicates;
      return;
    }
    task.idle.erase(origin);
    task.undo.push_back(Task::Undo{offset, origin, it == task.applied.end() ? -1 : it->second});
    task.applied[origin] = rec.position.offset;
    std::set<uint32_t> late;
    TimeNs newest = kNoTime, late_time = kNoTime;
    for (Signal& s : rec.signals) {
      const uint32_t correlation = s.correlation;
      const TimeNs time = s.time;
      newest = std::max(newest, time);
      ++stats_.signals;
      c.Observe(origin.first, origin.second, time);
      if (!c.Add(std::move(s)) && !replaying) {
        late.insert(correlation);
        if (late_time == kNoTime) late_time = time;
      }
    }
    if (!rec.signals.empty()) task.waiting.emplace_back(offset, newest);
    if (!late.empty()) {
      stats_.late_signals += late.size();
      DeadLetter d;
      d.kind = DeadLetter::Kind::kLate;
      d.position = rec.position;
      d.event_time = late_time;
      d.reason = LateReason(rules_, late, late_time, c.watermark());
      d.record = std::move(rec.bytes);
      out_.dead_letters.push_back(std::move(d));
    }
  }
  std::vector<Alert> alerts;
  c.Advance(alerts);
  // A replay rebuilds what waits for the watermark; what it releases was written before.
  if (!replaying) {
    stats_.alerts += alerts.size();
    for (Alert& a : alerts) out_.alerts.push_back(std::move(a));
  }
}

// A put, or a tombstone (no value), which compaction turns into the key's removal.
void CorrelationWorker::Produce(int32_t partition, const std::string& key,
                                const std::optional<std::string>& value) {
  if (!produce_error_.ok()) return;
  produce_error_ = changelog_->Produce(options_.changelog_topic, partition, key,
                                       value ? std::string_view(*value) : std::string_view());
}

Status CorrelationWorker::FlushChangelog() {
  Status st = produce_error_.ok() ? changelog_->Flush(std::chrono::minutes(5)) : produce_error_;
  if (!st.ok()) {
    return Error(fmt::format("changelog '{}': {}", options_.changelog_topic, st.error().message()));
  }
  return Ok();
}

// One checkpoint of a task: its changed groups, its streams, its record, then the marker. The
// alerts of what it applied are in the sinks first, so a restore never skips an alert.
Status CorrelationWorker::Checkpoint(Task& task) {
  if (Status st = WriteOutput(); !st.ok()) return st;
  // The group moved on without this member: another one owns the partition now.
  if (rd_kafka_assignment_lost(consumer_) != 0) return Ok();
  Correlator& c = *task.correlator;
  const TimeNs watermark = c.watermark();
  // What a restore must read again: the oldest message with signals still waiting.
  while (!task.waiting.empty() && task.waiting.front().second != kNoTime && watermark != kNoTime &&
         task.waiting.front().second < watermark) {
    task.waiting.pop_front();
  }
  TaskRecord record;
  record.last = task.last;
  record.resume = task.waiting.empty() ? task.last + 1 : task.waiting.front().first;
  record.applied = task.applied;
  for (auto u = task.undo.rbegin(); u != task.undo.rend() && u->offset >= record.resume; ++u) {
    if (u->previous < 0) {
      record.applied.erase(u->origin);
    } else {
      record.applied[u->origin] = u->previous;
    }
  }
  while (!task.undo.empty() && task.undo.front().offset < record.resume) task.undo.pop_front();

  StateChanges changes;
  c.TakeChanges(changes);
  changes.puts.emplace_back(std::string(kStreamsStateKey),
                            c.SaveStreams(watermark, c.last_expiry()));
  changes.puts.emplace_back(std::string(kTaskKey), EncodeTaskRecord(record));
  uint64_t bytes = 0;
  for (const std::string& k : changes.deletes) {
    Produce(task.partition, k, std::nullopt);
    bytes += k.size();
  }
  for (const auto& [k, v] : changes.puts) {
    Produce(task.partition, k, v);
    bytes += k.size() + v.size();
  }
  Produce(task.partition, std::string(kMarkerKey), std::to_string(++task.checkpoints));
  if (Status st = FlushChangelog(); !st.ok()) return st;
  // The group's committed offset follows (for lag); the changelog says where a restore resumes.
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, options_.signals_topic.c_str(), task.partition)->offset =
      record.resume;
  rd_kafka_offsets_store(consumer_, list);
  rd_kafka_topic_partition_list_destroy(list);
  task.since_checkpoint = 0;
  task.last_checkpoint = Clock::now();
  std::lock_guard<std::mutex> lock(stats_mu_);
  ++stats_.checkpoints;
  stats_.changelog_bytes += bytes;
  return Ok();
}

Status CorrelationWorker::WriteOutput() {
  if (out_.alerts.empty() && out_.dead_letters.empty()) return Ok();
  for (AlertSink* sink : sinks_) {
    if (Status st = sink->Write(out_); !st.ok()) return st;
  }
  out_ = BatchOutput{};
  return Ok();
}

Status CorrelationWorker::CheckpointDue() {
  const auto now = Clock::now();
  for (auto& [partition, task] : tasks_) {
    if (task->since_checkpoint == 0) continue;
    if (task->since_checkpoint >= options_.checkpoint_messages ||
        now - task->last_checkpoint >= options_.checkpoint_interval) {
      if (Status st = Checkpoint(*task); !st.ok()) return st;
    }
  }
  return Ok();
}

// An input whose idle mark stopped coming (its reader died) holds the watermark again, so that
// its next reader's records are not late. Time here is the signals topic's: the timestamps its
// writers gave the messages. So a task working through a backlog (after a restore, or behind)
// sees a dead reader's idleness expire where it did in the log, not 2 s after reading it.
void CorrelationWorker::ExpireIdle(Task& task, int64_t now_ms) {
  if (now_ms < 0) return;
  for (auto it = task.idle.begin(); it != task.idle.end();) {
    if (now_ms - it->second.timestamp_ms < kIdleExpiry.count()) {
      ++it;
      continue;
    }
    task.correlator->Observe(it->first.first, it->first.second, kNoTime);
    it = task.idle.erase(it);
  }
}

// An input becomes idle at a task only when the brokers confirm that its partition ends where
// the idle mark says, and stays idle only while they do: a reader that died at the end of a
// partition that then grew, or one that cannot fetch (its leader down), must not let the
// watermark run past records nobody has read yet. An end the brokers cannot tell counts as
// grown. Checked about once a second, one ListOffsets request per input with an idle mark.
void CorrelationWorker::CheckIdleEnds() {
  const auto now = Clock::now();
  if (now - last_idle_check_ < std::chrono::seconds(1)) return;
  last_idle_check_ = now;
  std::map<StreamKey, int64_t> ends;
  for (const auto& [partition, task] : tasks_) {
    for (const auto& [origin, idle] : task->idle) ends.emplace(origin, -1);
  }
  for (auto& [origin, end] : ends) {
    int64_t low = 0, high = 0;
    if (rd_kafka_query_watermark_offsets(consumer_, origin.first.c_str(), origin.second, &low,
                                         &high, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      end = high;
    }
  }
  for (auto& [partition, task] : tasks_) {
    Correlator& c = *task->correlator;
    for (auto it = task->idle.begin(); it != task->idle.end();) {
      const auto& [source, input] = it->first;
      const int64_t end = ends[it->first];
      const bool at_end = end >= 0 && end <= it->second.offset + 1;
      if (at_end && !it->second.confirmed) {
        it->second.confirmed = true;
        c.MarkIdle(source, input);
      } else if (!at_end) {
        c.Observe(source, input, kNoTime);
        it = task->idle.erase(it);
        continue;
      }
      ++it;
    }
  }
}

void CorrelationWorker::PublishMetrics() {
  if (!metrics_ || Clock::now() - metrics_->last < std::chrono::seconds(1)) return;
  metrics_->last = Clock::now();
  for (const auto& [partition, task] : tasks_) {
    int64_t low = 0, high = 0;
    if (rd_kafka_get_watermark_offsets(consumer_, options_.signals_topic.c_str(), partition, &low,
                                       &high) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        high >= 0) {
      const int64_t next = std::max(task->last + 1, low);
      metrics_->lag.With({std::to_string(partition)})
          .Set(static_cast<double>(std::max<int64_t>(0, high - next)));
    }
  }
  const CorrelationWorkerStats now = stats();
  CorrelationWorkerStats& was = metrics_->published;
  auto add = [](Counter& c, uint64_t a, uint64_t b) { c.Add(a - b); };
  add(metrics_->counters.With({"applied"}),
      now.messages - now.duplicates - now.replayed - now.damaged,
      was.messages - was.duplicates - was.replayed - was.damaged);
  add(metrics_->counters.With({"duplicate"}), now.duplicates, was.duplicates);
  add(metrics_->counters.With({"replayed"}), now.replayed, was.replayed);
  add(metrics_->counters.With({"damaged"}), now.damaged, was.damaged);
  add(metrics_->alerts, now.alerts, was.alerts);
  add(metrics_->checkpoints, now.checkpoints, was.checkpoints);
  add(metrics_->changelog_bytes, now.changelog_bytes, was.changelog_bytes);
  add(metrics_->restored, now.restored_groups, was.restored_groups);
  was = now;
}

Status CorrelationWorker::Run() {
  while (!stop_.load() && error_.ok()) {
    int timeout = static_cast<int>(options_.poll_timeout.count());
    for (size_t n = 0; n < options_.batch_messages && error_.ok(); ++n) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_, timeout);
      timeout = 0;
      if (m == nullptr) break;
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        char fatal[512];
        if (rd_kafka_fatal_error(consumer_, fatal, sizeof(fatal)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
          error_ = Error(fmt::format("Kafka fatal error: {}", fatal));
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          fmt::print(stderr, "tuttle: kafka: signals topic: {}\n", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
        continue;
      }
      auto task = tasks_.find(m->partition);
      if (task != tasks_.end()) {
        rd_kafka_timestamp_type_t type;
        const int64_t timestamp = rd_kafka_message_timestamp(m, &type);
        Apply(*task->second, m->offset,
              std::string_view(static_cast<const char*>(m->payload), m->len),
              type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : timestamp);
      }
      rd_kafka_message_destroy(m);
    }
    if (!error_.ok()) break;
    CheckIdleEnds();
    PublishMetrics();
    if (Status st = WriteOutput(); !st.ok()) error_ = st;
    if (error_.ok()) {
      if (Status st = CheckpointDue(); !st.ok()) error_ = st;
    }
  }
  // Leaving the group revokes every partition: each task writes its last checkpoint then.
  if (error_.ok()) {
    if (Status st = WriteOutput(); !st.ok()) error_ = st;
  }
  rd_kafka_consumer_close(consumer_);
  return error_;
}

std::vector<int32_t> CorrelationWorker::Owned() const {
  std::vector<int32_t> out;
  rd_kafka_topic_partition_list_t* list = nullptr;
  if (rd_kafka_assignment(consumer_, &list) == RD_KAFKA_RESP_ERR_NO_ERROR && list != nullptr) {
    for (int i = 0; i < list->cnt; ++i) out.push_back(list->elems[i].partition);
    rd_kafka_topic_partition_list_destroy(list);
  }
  std::sort(out.begin(), out.end());
  return out;
}

CorrelationWorkerStats CorrelationWorker::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

}  // namespace tuttle::ingest
