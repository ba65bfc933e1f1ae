#include "tuttle/ingest/kafka_alert_sink.h"

#include <fmt/format.h>

namespace tuttle::ingest {
namespace {

Status InTopic(const std::string& topic, Status st) {
  if (st.ok()) return st;
  return Error(fmt::format("alerts topic '{}': {}", topic, st.error().message()));
}

}  // namespace

Result<std::unique_ptr<KafkaAlertSink>> KafkaAlertSink::Open(KafkaAlertSinkOptions options) {
  if (options.brokers.empty()) return Error("Kafka alerts topic: no brokers given");
  if (options.topic.empty()) return Error("Kafka alerts topic: empty topic name");
  KafkaProperties properties = {{"client.id", "tuttle-alerts"}};
  properties.insert(properties.end(), options.properties.begin(), options.properties.end());
  auto producer = KafkaProducer::Open(options.brokers, properties);
  if (!producer.ok()) return producer.error();
  return std::unique_ptr<KafkaAlertSink>(
      new KafkaAlertSink(std::move(options), std::move(*producer)));
}

Status KafkaAlertSink::Write(const BatchOutput& batch) {
  for (const Alert& alert : batch.alerts) {
    const KafkaHeaders headers = {
        {"tuttle.tenant", alert.tenant},
        {"tuttle.rule", alert.rule != nullptr ? alert.rule->id : std::string()},
    };
    Status st = producer_->Produce(options_.topic, -1, alert.id.Uuid(),
                                   FormatAlert(alert, options_.format), headers);
    if (!st.ok()) return st;
  }
  // Positions are committed once this returns: at a checkpoint, or after every batch of a run
  // that does not checkpoint, everything queued must be acknowledged first.
  if (batch.checkpoint != nullptr || !batch.checkpointing) {
    return InTopic(options_.topic, producer_->Flush(options_.ack_timeout));
  }
  return InTopic(options_.topic, producer_->Poll());
}

Status KafkaAlertSink::Finish() {
  return InTopic(options_.topic, producer_->Flush(options_.ack_timeout));
}

}  // namespace tuttle::ingest
