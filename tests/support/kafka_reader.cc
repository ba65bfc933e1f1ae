#include "support/kafka_reader.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <memory>
#include <set>

namespace tuttle::testing {

std::vector<KafkaMessage> ReadTopic(const std::string& brokers, const std::string& topic) {
  std::vector<KafkaMessage> out;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::pair<const char*, std::string> settings[] = {
      {"bootstrap.servers", brokers},
      {"group.id", "tuttle-test-reader"},  // required by the API; no group is joined
      {"enable.partition.eof", "true"},
      {"enable.auto.commit", "false"},
      {"fetch.wait.max.ms", "10"},
  };
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      ADD_FAILURE() << k << ": " << err;
      rd_kafka_conf_destroy(conf);
      return out;
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (rk == nullptr) {
    ADD_FAILURE() << err;
    rd_kafka_conf_destroy(conf);
    return out;
  }
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> owned(rk, rd_kafka_destroy);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_resp_err_t me = rd_kafka_metadata(rk, 0, rkt, &md, 10'000);
  rd_kafka_topic_destroy(rkt);
  if (me != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 || md->topics[0].err) {
    ADD_FAILURE() << "no metadata for topic '" << topic << "': " << rd_kafka_err2str(me);
    if (md != nullptr) rd_kafka_metadata_destroy(md);
    return out;
  }
  const int partitions = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  std::set<int32_t> at_end;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (static_cast<int>(at_end.size()) < partitions) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "topic '" << topic << "': only " << at_end.size() << " of " << partitions
                    << " partitions read to the end in 30 s";
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> msg(
        m, rd_kafka_message_destroy);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.insert(m->partition);
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;  // transient; the client retries
    KafkaMessage k;
    k.partition = m->partition;
    k.offset = m->offset;
    if (m->key != nullptr) k.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload != nullptr) k.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0;
           rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        k.headers[name] =
            value != nullptr ? std::string(static_cast<const char*>(value), size) : std::string();
      }
    }
    out.push_back(std::move(k));
  }
  rd_kafka_consumer_close(rk);
  return out;
}

}  // namespace tuttle::testing
