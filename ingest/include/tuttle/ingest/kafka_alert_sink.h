#pragma once
// KafkaAlertSink: publishes alerts to a Kafka topic, one message per alert, for SIEMs, SOAR and
// ticketing that read Kafka. Key: the alert id in UUID form (finding_info.uid, as the store and
// `tuttle alerts` print it); value: the alert in the options' AlertFormat (default the OCSF
// Detection Finding; `--alert-format`, docs/alerts.md); headers
// `tuttle.tenant` (empty when the alert names none) and `tuttle.rule` (the rule id).
//
// Delivery is at least once. The pipeline commits source positions (and the store its
// checkpoint, when the store is a later sink) only after every sink's Write() returned Ok, so
// Write() waits for the brokers to acknowledge everything queued whenever the batch carries a
// checkpoint, or whenever the run does not checkpoint (each batch commits then); other batches
// are only queued. A message that librdkafka could not deliver after its own retries
// (message.timeout.ms) makes Write() or Finish() fail, which stops the run before the positions
// move past it. A restart then produces the same alerts again with the same ids: readers
// de-duplicate by key. docs/kafka.md.
//
// Not thread-safe: the pipeline calls sinks from its serial last stage.

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "tuttle/engine/alert_sink.h"
#include "tuttle/ingest/kafka.h"

namespace tuttle::ingest {

struct KafkaAlertSinkOptions {
  std::string brokers;  // bootstrap.servers
  std::string topic;    // where alerts go; created by the brokers' auto-create or beforehand
  AlertFormat format = AlertFormat::kOcsf;  // the messages' values
  // librdkafka properties applied after Tuttle's producer defaults (TLS, SASL, ...). Setting
  // enable.idempotence or acks weakens the guarantee above.
  KafkaProperties properties;
  // How long Write() and Finish() wait for acknowledgements before failing. librdkafka gives up
  // on a message itself after message.timeout.ms (default 300 s). Default: 10 min.
  std::chrono::milliseconds ack_timeout{std::chrono::minutes(10)};
};

class KafkaAlertSink final : public AlertSink {
 public:
  static Result<std::unique_ptr<KafkaAlertSink>> Open(KafkaAlertSinkOptions options);

  Status Write(const BatchOutput& batch) override;
  Status Finish() override;

  // Alerts acknowledged by the brokers so far.
  int64_t delivered() const { return producer_->delivered(); }

 private:
  KafkaAlertSink(KafkaAlertSinkOptions options, std::unique_ptr<KafkaProducer> producer)
      : options_(std::move(options)), producer_(std::move(producer)) {}

  KafkaAlertSinkOptions options_;
  std::unique_ptr<KafkaProducer> producer_;
};

}  // namespace tuttle::ingest
