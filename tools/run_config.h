#pragma once
// The options of `tuttle run` and `tuttle replay`, and the YAML config file that sets those of
// `run` (`tuttle run --config tuttle.yaml`; docs/kafka.md#configuration-file):
//
//   kafka:   brokers, group_id, topics (with per-topic format and tenant pins), librdkafka
//            properties for the consumer and producers, the alerts topic, scale-out
//   engine:  rules, pipelines, contracts, threads, lateness, max_groups, strict,
//            max_record_bytes, batch_records, inventory, approved_inventory, watch_rules
//   store:   path, checkpoint_interval, checkpoint_records, alert_retention,
//            dead_letter_retention
//   output:  json, quiet, format (ocsf|ecs|falco), file: {path, max_size, daily, keep},
//            webhook: {url, token_file, batch, max_attempts, timeout, backoff, max_backoff,
//            queue, dead_letter}   (docs/alerts.md)
//   api:     listen, tokens_file, insecure, tls: {cert, key}   (docs/api.md)
//   follow
//
// The file is read after the command line and fills in what the command line left unset, so
// flags override the file. Every problem is a located diagnostic naming the file, line, column
// and key path (`tuttle.yaml:7:5: error: kafka.topics[1].format: unknown format 'foo' ...`).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "alert_outputs.h"
#include "api_server.h"
#include "tuttle/engine/diagnostic.h"
#include "tuttle/engine/result.h"
#include "tuttle/ingest/kafka.h"
#include "tuttle/storage/store.h"

namespace tuttle::tools {

// What `run` and `replay` share. Durations stay text here: Run() and Replay() parse them.
struct CommonOptions {
  std::vector<std::string> rules;      // files or folders; empty: the embedded pack
  std::vector<std::string> pipelines;  // processing pipeline files
  std::vector<std::string> contracts;  // data contract files (docs/contracts.md)
  std::string store;                   // RocksDB folder
  int threads = 0;                     // 0: one per core
  std::string lateness = "30s";
  size_t max_groups = 100'000;  // open correlation groups per correlation rule
  bool strict = false;
  std::vector<std::string> formats;  // [SOURCE=]FORMAT
  std::vector<std::string> tenants;  // [SOURCE=]NAME
  size_t max_record_bytes = size_t{1} << 20;
  std::string checkpoint_interval = "1s";
  uint64_t checkpoint_records = 100'000;
  size_t batch_records = 0;             // 0: the source's default
  storage::StoreOptions store_options;  // retention
  bool inventory = true;                // build the inventory (docs/inventory.md)
  std::string approved_inventory;       // the approved-inventory file; empty: none
  // `run` only, hot reload (docs/reload.md): reload the rules when their files change (SIGHUP
  // and the API reload whatever this says).
  bool watch_rules = true;
  AlertOutputOptions output;  // alert format, alerts file, webhook (alert_outputs.h)
};

// Consumers sharing the work of one group (`kafka.scale_out`). Parsed and checked here; `run`
// wires it.
struct ScaleOutOptions {
  bool enabled = false;
  // Topics the members exchange correlation signals and window state through. Default:
  // "<group id>-signals" and "<group id>-changelog".
  std::string signals_topic;
  std::string changelog_topic;
  int partitions = 12;  // of both topics; 1..10000
};

struct RunOptions {
  CommonOptions common;
  bool json = false;
  bool follow = false;
  bool quiet = false;
  std::string brokers;
  std::vector<std::string> topics;
  std::string group = "tuttle";
  std::vector<std::string> properties;  // -X key=value: consumer and producers, after the file's
  std::string sample;
  // librdkafka properties from the config file, in file order: `kafka.properties` for the
  // consumer and every producer, then `kafka.consumer_properties` or
  // `kafka.producer_properties`. Use ConsumerProperties() and ProducerProperties().
  ingest::KafkaProperties kafka_properties;
  ingest::KafkaProperties consumer_properties;
  ingest::KafkaProperties producer_properties;
  std::string alerts_topic;  // empty: alerts are not produced to Kafka
  ScaleOutOptions scale_out;
  std::string metrics_listen;  // HOST:PORT; empty: no metrics endpoint
  std::string metrics_token_file;
  // The HTTP API and console (`--listen`, `api:` in the file; docs/api.md); listen empty: off.
  ApiListenOptions api;
  std::string config;  // --config: the file read, or empty
  bool check_config = false;
};

// The consumer's librdkafka properties: kafka.properties, kafka.consumer_properties, then -X
// (later ones win). Fails on a -X value that is not key=value.
Result<ingest::KafkaProperties> ConsumerProperties(const RunOptions& options);
// Every producer's (alerts topic, scale-out): kafka.properties, kafka.producer_properties, -X.
Result<ingest::KafkaProperties> ProducerProperties(const RunOptions& options);

// Whether the command line gave the flag named (its long name, "--threads").
using FlagGiven = std::function<bool(std::string_view flag)>;

// Reads the config file `path` into `options`, except the values whose flags `given` says the
// command line set. The file's format and tenant pins come before the command line's (which
// win), its properties before -X. Relative paths in the file (rules, pipelines, store, librdkafka
// *.location properties) are relative to the file's folder; `${NAME}` in a value is the
// environment variable NAME. Problems are appended to `diagnostics`; any error fails.
Status LoadRunConfig(const std::string& path, const FlagGiven& given, RunOptions& options,
                     Diagnostics& diagnostics);

// Checks what the file cannot have checked because the command line set it: durations, pins,
// -X, brokers without topics. For `--check-config`, before anything connects.
Status CheckRunOptions(const RunOptions& options);

// The effective configuration, as a config file with secrets masked (IsSecretProperty):
// what `tuttle run --check-config` prints.
std::string EffectiveConfig(const RunOptions& options);

// Properties whose values are secrets: keys containing "password" or "secret", private keys
// given inline (ssl.key.pem), the OAUTHBEARER config.
bool IsSecretProperty(std::string_view key);

}  // namespace tuttle::tools
