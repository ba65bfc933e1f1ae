#include "tuttle/ingest/kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <fmt/format.h>
#include <simdjson.h>

#include <mutex>

#include "tuttle/engine/metrics.h"

namespace tuttle::ingest {
namespace {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

Status Set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    return Error(fmt::format("Kafka property '{}': {}", key, err));
  }
  return Ok();
}

Status SetAll(rd_kafka_conf_t* conf, const KafkaProperties& properties) {
  for (const auto& [k, v] : properties) {
    Status st = Set(conf, k, v);
    if (!st.ok()) return st;
  }
  return Ok();
}

}  // namespace

Status CheckKafkaProperty(const std::string& key, const std::string& value) {
  ConfPtr conf(rd_kafka_conf_new());
  return Set(conf.get(), key, value);
}

// ---------------------------------------------------------------------------------------------
// KafkaSource

// The consumer's metrics (docs/metrics.md). Rebalances and owned partitions come from the
// rebalance callback; lag and committed offsets from librdkafka's statistics JSON
// (STATISTICS.md), which arrive through the stats callback every statistics.interval.ms. Both
// callbacks run inside consumer_poll() (the main queue is forwarded to the consumer queue), and
// the final revocation inside consumer_close(); the mutex makes no assumption about threads.
struct KafkaSource::Metrics {
  explicit Metrics(MetricsRegistry& r)
      : rebalances(r.AddCounter("tuttle_kafka_rebalances_total",
                                "Partition assignments and revocations this consumer took part in",
                                {"kind"})),
        assigns(rebalances.With({"assign"})),
        revokes(rebalances.With({"revoke"})),
        assigned(r.AddGauge("tuttle_kafka_assigned_partitions",
                            "Partitions assigned to this consumer")
                     .With()),
        owned(r.AddGauge("tuttle_kafka_partition_owned",
                         "1 for each partition this consumer owns; gone once revoked",
                         {"topic", "partition"})),
        lag(r.AddGauge("tuttle_kafka_consumer_lag",
                       "Messages between the partition's high watermark and the group's "
                       "committed offset, per owned partition (librdkafka statistics)",
                       {"topic", "partition"})),
        committed(r.AddGauge("tuttle_kafka_committed_offset",
                             "The group's committed offset (the next message to read) per owned "
                             "partition",
                             {"topic", "partition"})) {}

  void OnRebalance(bool assign, const rd_kafka_topic_partition_list_t* partitions) {
    std::lock_guard<std::mutex> lock(mu);
    (assign ? assigns : revokes).Add();
    for (int i = 0; i < partitions->cnt; ++i) {
      const auto& p = partitions->elems[i];
      const std::string partition = std::to_string(p.partition);
      if (assign) {
        owned_set.emplace(p.topic, p.partition);
        owned.With({p.topic, partition}).Set(1);
      } else {
        owned_set.erase({p.topic, p.partition});
        owned.Remove({p.topic, partition});
        lag.Remove({p.topic, partition});
        committed.Remove({p.topic, partition});
      }
    }
    assigned.Set(static_cast<double>(owned_set.size()));
  }

  // {"topics": {"<t>": {"partitions": {"<p>": {"partition": p, "consumer_lag": n,
  // "committed_offset": n, ...}}}}}; partition -1 is librdkafka's internal UA partition, and
  // partitions this consumer does not own (or whose lag is not known yet, -1) are left out.
  void OnStats(std::string_view json) {
    namespace od = simdjson::ondemand;
    std::lock_guard<std::mutex> lock(mu);
    const simdjson::padded_string padded(json);
    od::document doc;
    od::object topics;
    if (parser.iterate(padded).get(doc) || doc["topics"].get_object().get(topics)) return;
    for (auto topic_field : topics) {
      std::string_view topic;
      od::object partitions;
      if (topic_field.unescaped_key().get(topic)) return;
      const std::string topic_name(topic);
      od::object topic_object;
      if (topic_field.value().get_object().get(topic_object) ||
          topic_object["partitions"].get_object().get(partitions)) {
        return;
      }
      for (auto partition_field : partitions) {
        od::object p;
        if (partition_field.value().get_object().get(p)) return;
        int64_t partition = -1, consumer_lag = -1, committed_offset = -1;
        for (auto field : p) {
          std::string_view key;
          if (field.unescaped_key().get(key)) return;
          if (key == "partition") {
            if (field.value().get_int64().get(partition)) return;
          } else if (key == "consumer_lag") {
            if (field.value().get_int64().get(consumer_lag)) return;
          } else if (key == "committed_offset") {
            if (field.value().get_int64().get(committed_offset)) return;
          }
        }
        if (partition < 0 || !owned_set.contains({topic_name, static_cast<int32_t>(partition)})) {
          continue;
        }
        const std::string label = std::to_string(partition);
        if (consumer_lag >= 0) lag.With({topic_name, label}).Set(static_cast<double>(consumer_lag));
        if (committed_offset >= 0) {
          committed.With({topic_name, label}).Set(static_cast<double>(committed_offset));
        }
      }
    }
  }

  MetricFamily<Counter>& rebalances;
  Counter& assigns;
  Counter& revokes;
  Gauge& assigned;
  MetricFamily<Gauge>& owned;
  MetricFamily<Gauge>& lag;
  MetricFamily<Gauge>& committed;
  std::mutex mu;
  std::set<std::pair<std::string, int32_t>> owned_set;
  simdjson::ondemand::parser parser;
};

KafkaSource::KafkaSource(KafkaSourceOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<KafkaSource>> KafkaSource::Open(KafkaSourceOptions options) {
  if (options.brokers.empty()) return Error("Kafka: no brokers (bootstrap.servers) given");
  if (options.topics.empty()) return Error("Kafka: no topics given");
  if (options.group_id.empty()) return Error("Kafka: empty consumer group id");
  ConfPtr conf(rd_kafka_conf_new());
  const KafkaProperties defaults = {
      {"bootstrap.servers", options.brokers},
      {"group.id", options.group_id},
      {"client.id", "tuttle"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "true"},
      // Offsets are stored by Commit() once a batch is durably written, and committed by the
      // auto-commit timer and on close.
      {"enable.auto.offset.store", "false"},
      {"enable.auto.commit", "true"},
      {"auto.commit.interval.ms", "1000"},
      // Incremental rebalances: a member joining or leaving moves only the partitions that must
      // move, and the others keep being read.
      {"partition.assignment.strategy", "cooperative-sticky"},
  };
  if (Status st = SetAll(conf.get(), defaults); !st.ok()) return st.error();
  if (options.metrics != nullptr) {
    // Lag comes from the statistics; -X statistics.interval.ms overrides this below.
    if (Status st = Set(conf.get(), "statistics.interval.ms", "1000"); !st.ok()) return st.error();
  }
  if (Status st = SetAll(conf.get(), options.properties); !st.ok()) return st.error();
  for (const auto& [k, v] : options.properties) {
    if (k == "enable.auto.offset.store" && v != "false") {
      return Error(
          "Kafka property 'enable.auto.offset.store' must stay false: Tuttle stores offsets only "
          "after a batch is written");
    }
  }

  std::unique_ptr<KafkaSource> source(new KafkaSource(std::move(options)));
  rd_kafka_conf_set_opaque(conf.get(), source.get());
  if (source->options_.metrics != nullptr) {
    source->metrics_ = std::make_unique<Metrics>(*source->options_.metrics);
    rd_kafka_conf_set_stats_cb(conf.get(),
                               [](rd_kafka_t*, char* json, size_t len, void* opaque) -> int {
                                 static_cast<KafkaSource*>(opaque)->metrics_->OnStats({json, len});
                                 return 0;  // librdkafka frees `json`
                               });
  }
  rd_kafka_conf_set_rebalance_cb(
      conf.get(), [](rd_kafka_t* rk, rd_kafka_resp_err_t err,
                     rd_kafka_topic_partition_list_t* partitions, void* opaque) {
        OnRebalance(rk, static_cast<int>(err), partitions, opaque);
      });
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof(err));
  if (rk == nullptr) return Error(fmt::format("Kafka consumer: {}", err));
  conf.release();  // owned by rk now
  source->rk_ = rk;
  rd_kafka_poll_set_consumer(rk);

  PartitionListPtr topics(rd_kafka_topic_partition_list_new(
      static_cast<int>(source->options_.topics.size())));
  for (const auto& t : source->options_.topics) {
    rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  if (rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics.get())) {
    return Error(fmt::format("Kafka subscribe: {}", rd_kafka_err2str(e)));
  }
  source->started_ = std::chrono::steady_clock::now();
  return source;
}

void KafkaSource::OnRebalance(rd_kafka_s* rk, int err,
                              rd_kafka_topic_partition_list_s* partitions, void* opaque) {
  auto* self = static_cast<KafkaSource*>(opaque);
  const bool assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
  const bool cooperative = std::string_view(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
  if (assign) {
    // The store's checkpoint, not the group's committed offset, says where to resume.
    for (int i = 0; i < partitions->cnt; ++i) {
      auto& p = partitions->elems[i];
      auto start = self->options_.start_offsets.find({p.topic, p.partition});
      if (start != self->options_.start_offsets.end()) p.offset = start->second;
    }
  }
  if (cooperative) {
    rd_kafka_error_t* e = assign ? rd_kafka_incremental_assign(rk, partitions)
                                 : rd_kafka_incremental_unassign(rk, partitions);
    if (e != nullptr) {
      fmt::print(stderr, "tuttle: kafka: rebalance: {}\n", rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
  } else if (assign) {
    rd_kafka_assign(rk, partitions);
  } else {
    rd_kafka_assign(rk, nullptr);
  }
  if (self->metrics_) self->metrics_->OnRebalance(assign, partitions);
  for (int i = 0; i < partitions->cnt; ++i) {
    const auto& p = partitions->elems[i];
    self->changes_.push_back(Change{p.topic, p.partition, assign});
    if (!assign) self->at_end_.erase({p.topic, p.partition});
  }
}

KafkaSource::~KafkaSource() {
  if (rk_ != nullptr) {
    rd_kafka_consumer_close(rk_);  // commits the stored offsets
    rd_kafka_destroy(rk_);
  }
}

std::vector<std::pair<std::string, int32_t>> KafkaSource::Assignment() const {
  std::vector<std::pair<std::string, int32_t>> out;
  rd_kafka_topic_partition_list_t* list = nullptr;
  if (rd_kafka_assignment(rk_, &list) != RD_KAFKA_RESP_ERR_NO_ERROR || list == nullptr) return out;
  PartitionListPtr owned(list);
  for (int i = 0; i < list->cnt; ++i) {
    out.emplace_back(list->elems[i].topic, list->elems[i].partition);
  }
  return out;
}

bool KafkaSource::AllAssignedAtEnd() const {
  const auto assigned = Assignment();
  if (assigned.empty()) return false;
  for (const auto& tp : assigned) {
    if (!at_end_.contains(tp)) return false;
  }
  return true;
}

Result<bool> KafkaSource::Next(RecordBatch& batch) {
  if (stop_.load() || finished_) return false;
  int timeout = static_cast<int>(options_.poll_timeout.count());
  while (batch.size() < options_.batch_records) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, timeout);
    timeout = 0;
    // Assignment changes made during this poll come before its message.
    for (const Change& c : changes_) {
      batch.AddStreamEvent(StreamEvent{batch.InternSource(c.topic), c.partition,
                                       c.assigned ? StreamEvent::Kind::kAssigned
                                                  : StreamEvent::Kind::kRevoked});
    }
    changes_.clear();
    if (m == nullptr) break;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> msg(m, rd_kafka_message_destroy);
    const char* topic = m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "";
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end_.insert({topic, m->partition});
      StreamEvent idle{batch.InternSource(topic), m->partition, StreamEvent::Kind::kIdle};
      idle.end_offset = m->offset;
      batch.AddStreamEvent(idle);
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      char fatal[512];
      if (rd_kafka_fatal_error(rk_, fatal, sizeof(fatal)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Error(fmt::format("Kafka fatal error: {}", fatal));
      }
      if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
          m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
        return Error(fmt::format("Kafka topic '{}': {}", topic, rd_kafka_message_errstr(m)));
      }
      // Transient (broker down, transport): librdkafka retries on its own.
      fmt::print(stderr, "tuttle: kafka: {}\n", rd_kafka_message_errstr(m));
      continue;
    }
    at_end_.erase({topic, m->partition});
    RecordMeta meta;
    meta.source = batch.InternSource(topic);
    meta.partition = m->partition;
    meta.offset = m->offset;
    if (!options_.formats.empty()) {
      auto pin = options_.formats.find(topic);
      if (pin == options_.formats.end()) pin = options_.formats.find("");
      if (pin != options_.formats.end()) meta.format = pin->second;
    }
    if (!options_.tenants.empty()) {
      auto pin = options_.tenants.find(topic);
      if (pin == options_.tenants.end()) pin = options_.tenants.find("");
      if (pin != options_.tenants.end()) meta.tenant = pin->second;
    }
    rd_kafka_timestamp_type_t ts_type;
    const int64_t ts = rd_kafka_message_timestamp(m, &ts_type);
    if (ts_type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && ts >= 0) meta.transport_time = ts * kNsPerMs;
    batch.Add(std::string_view(static_cast<const char*>(m->payload), m->len), meta);
  }
  if (!options_.follow) {
    if (AllAssignedAtEnd()) {
      finished_ = true;
    } else if (Assignment().empty() &&
               std::chrono::steady_clock::now() - started_ > options_.assignment_timeout) {
      return Error(fmt::format(
          "Kafka: no partitions assigned to group '{}' after {} s (do the topics exist and are "
          "the brokers reachable?)",
          options_.group_id, options_.assignment_timeout.count() / 1000));
    }
  }
  return true;
}

Status KafkaSource::Commit(const std::vector<SourcePosition>& positions) {
  if (positions.empty()) return Ok();
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(positions.size())));
  for (const auto& p : positions) {
    if (p.partition < 0) continue;
    // Kafka's committed offset is the next one to read.
    rd_kafka_topic_partition_list_add(list.get(), p.source.c_str(), p.partition)->offset =
        p.offset + 1;
  }
  if (list->cnt == 0) return Ok();
  const rd_kafka_resp_err_t e = rd_kafka_offsets_store(rk_, list.get());
  // _STATE: the partition was revoked meanwhile; its new owner re-reads from the last commit.
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__STATE) {
    return Error(fmt::format("Kafka: storing offsets: {}", rd_kafka_err2str(e)));
  }
  return Ok();
}

// ---------------------------------------------------------------------------------------------
// KafkaProducer

void KafkaProducer::OnDelivery(rd_kafka_s* /*rk*/, const void* message, void* opaque) {
  const auto* m = static_cast<const rd_kafka_message_t*>(message);
  auto* self = static_cast<KafkaProducer*>(opaque);
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (self->failed_.fetch_add(1) == 0) self->first_error_ = rd_kafka_err2str(m->err);
  } else {
    self->delivered_.fetch_add(1);
  }
}

Result<std::unique_ptr<KafkaProducer>> KafkaProducer::Open(const std::string& brokers,
                                                           const KafkaProperties& properties) {
  ConfPtr conf(rd_kafka_conf_new());
  std::unique_ptr<KafkaProducer> p(new KafkaProducer());
  const KafkaProperties defaults = {
      {"bootstrap.servers", brokers},
      {"client.id", "tuttle-producer"},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", "5"},
  };
  if (Status st = SetAll(conf.get(), defaults); !st.ok()) return st.error();
  if (Status st = SetAll(conf.get(), properties); !st.ok()) return st.error();
  rd_kafka_conf_set_opaque(conf.get(), p.get());
  rd_kafka_conf_set_dr_msg_cb(conf.get(), [](rd_kafka_t* rk, const rd_kafka_message_t* m,
                                             void* opaque) { OnDelivery(rk, m, opaque); });
  char err[512];
  p->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof(err));
  if (p->rk_ == nullptr) return Error(fmt::format("Kafka producer: {}", err));
  conf.release();
  return p;
}

KafkaProducer::~KafkaProducer() {
  if (rk_ != nullptr) {
    rd_kafka_flush(rk_, 5000);
    rd_kafka_destroy(rk_);
  }
}

Status KafkaProducer::Produce(const std::string& topic, int32_t partition, std::string_view key,
                              std::string_view value, const KafkaHeaders& headers) {
  while (true) {
    std::vector<rd_kafka_vu_t> vus(5 + headers.size());
    vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[0].u.cstr = topic.c_str();
    vus[1].vtype = RD_KAFKA_VTYPE_PARTITION;
    vus[1].u.i32 = partition;
    vus[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[2].u.i = RD_KAFKA_MSG_F_COPY;
    vus[3].vtype = RD_KAFKA_VTYPE_KEY;
    vus[3].u.mem.ptr = const_cast<char*>(key.data());
    vus[3].u.mem.size = key.size();
    vus[4].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[4].u.mem.ptr = const_cast<char*>(value.data());
    vus[4].u.mem.size = value.size();
    for (size_t i = 0; i < headers.size(); ++i) {
      rd_kafka_vu_t& h = vus[5 + i];
      h.vtype = RD_KAFKA_VTYPE_HEADER;
      // librdkafka copies both (the name up to its NUL).
      h.u.header.name = headers[i].first.c_str();
      h.u.header.val = headers[i].second.data();
      h.u.header.size = static_cast<ssize_t>(headers[i].second.size());
    }
    rd_kafka_error_t* error = rd_kafka_produceva(rk_, vus.data(), vus.size());
    const rd_kafka_resp_err_t e = error != nullptr ? rd_kafka_error_code(error)
                                                   : RD_KAFKA_RESP_ERR_NO_ERROR;
    if (error != nullptr) rd_kafka_error_destroy(error);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return Ok();
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return Error(fmt::format("Kafka produce to '{}': {}", topic, rd_kafka_err2str(e)));
    }
    rd_kafka_poll(rk_, 100);  // the local queue is full: wait for deliveries
  }
}

Status KafkaProducer::Failures() const {
  if (failed_.load() > 0) {
    return Error(fmt::format("Kafka: {} messages not delivered: {}", failed_.load(), first_error_));
  }
  return Ok();
}

Status KafkaProducer::Poll() {
  rd_kafka_poll(rk_, 0);
  return Failures();
}

Status KafkaProducer::Flush(std::chrono::milliseconds timeout) {
  const rd_kafka_resp_err_t e = rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
  // A failure explains a timeout better than the timeout does.
  if (Status st = Failures(); !st.ok()) return st;
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error(fmt::format("Kafka flush: {} ({} messages not yet acknowledged)",
                             rd_kafka_err2str(e), rd_kafka_outq_len(rk_)));
  }
  return Ok();
}

// ---------------------------------------------------------------------------------------------
// MockCluster

Result<std::unique_ptr<MockCluster>> MockCluster::Start(int brokers) {
  std::unique_ptr<MockCluster> c(new MockCluster());
  ConfPtr conf(rd_kafka_conf_new());
  if (Status st = Set(conf.get(), "client.id", "tuttle-mock-cluster"); !st.ok()) return st.error();
  // This handle only hosts the brokers; it never connects, so its "no bootstrap.servers"
  // warning is noise.
  if (Status st = Set(conf.get(), "log_level", "3"); !st.ok()) return st.error();
  char err[512];
  c->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof(err));
  if (c->rk_ == nullptr) return Error(fmt::format("Kafka mock cluster: {}", err));
  conf.release();
  c->mock_ = rd_kafka_mock_cluster_new(c->rk_, brokers);
  if (c->mock_ == nullptr) return Error("Kafka mock cluster: cannot start");
  c->bootstrap_ = rd_kafka_mock_cluster_bootstraps(c->mock_);
  return c;
}

MockCluster::~MockCluster() {
  if (mock_ != nullptr) rd_kafka_mock_cluster_destroy(mock_);
  if (rk_ != nullptr) rd_kafka_destroy(rk_);
}

Status MockCluster::CreateTopic(const std::string& topic, int partitions) {
  const rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mock_, topic.c_str(), partitions, 1);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error(fmt::format("Kafka mock cluster: creating topic '{}': {}", topic,
                             rd_kafka_err2str(e)));
  }
  return Ok();
}

}  // namespace tuttle::ingest
