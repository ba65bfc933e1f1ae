#pragma once
// AlertOutputs: the alert sinks `tuttle run` and `tuttle replay` add besides the store and the
// Kafka alerts topic: the JSON-lines file with rotation (AlertFileSink) and the webhook
// (WebhookSink), and the one alert format they, JSON stdout and the alerts topic all use.
// Their options come from flags (AddAlertOutputFlags) or the config file's `output:` section
// (run_config.h). docs/alerts.md.
//
// Ownership: AlertOutputs owns its sinks; the pointers AppendSinks() hands out live as long as
// it does. Not thread-safe (built and read by the main thread).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tuttle/engine/alert.h"
#include "tuttle/engine/alert_sink.h"
#include "tuttle/engine/metrics.h"
#include "tuttle/engine/result.h"

namespace CLI {
class App;
}

namespace tuttle::tools {

class AlertFileSink;
class WebhookSink;

// As given; sizes and durations stay text until CheckAlertOutputOptions() or Open() parse them.
struct AlertOutputOptions {
  std::string format = "ocsf";  // ocsf | ecs | falco: JSON stdout, file, alerts topic, webhook
  // JSON-lines file of alerts; empty: none.
  std::string file;
  // Rotate before the file grows past this size (B, KB, MB, GB, KiB, MiB, GiB); 0: never.
  std::string file_max_size = "100MB";
  bool file_daily = false;  // also rotate at UTC midnight
  int file_keep = 5;        // rotated files kept: FILE.1 (newest) .. FILE.N
  // Webhook URL (http:// or https://); empty: none.
  std::string webhook;
  std::string webhook_token_file;  // bearer token, read from this file
  size_t webhook_batch = 1;        // alerts per request: 1 a JSON object, more a JSON array
  int webhook_max_attempts = 8;
  std::string webhook_timeout = "10s";      // per request (also the connect timeout, up to 5 s)
  std::string webhook_backoff = "500ms";    // the first retry's delay; doubles each retry
  std::string webhook_max_backoff = "30s";  // the longest delay between attempts
  size_t webhook_queue = 1024;              // alerts queued before the pipeline waits
  // The alerts the webhook gave up on. Default: webhook-dead-letters.jsonl in the store folder,
  // or in the working directory when there is no store.
  std::string webhook_dead_letter;
};

// Adds --alert-format, --alerts-file*, --webhook* to a subcommand.
void AddAlertOutputFlags(CLI::App* cmd, AlertOutputOptions& options);

// The flags' long names, for run_config's "flags override the file".
inline constexpr const char* kAlertFormatFlag = "--alert-format";

// Checks what Open() would parse: the format, the size, the durations, the URL's scheme.
Status CheckAlertOutputOptions(const AlertOutputOptions& options);

// "100MB", "512KiB", "1048576": bytes. Nullopt on anything else.
std::optional<uint64_t> ParseByteSize(std::string_view text);
// "500ms", "10s", "2m": milliseconds (more than zero). Nullopt on anything else.
std::optional<std::chrono::milliseconds> ParseMillis(std::string_view text);

class AlertOutputs {
 public:
  // Opens the file and the webhook (reading the token): an unwritable file or dead-letter path,
  // an unreadable token or a bad URL fails here, before anything is read. `store` is the store
  // folder ("" for none), `metrics` may be nullptr.
  static Result<std::unique_ptr<AlertOutputs>> Open(const AlertOutputOptions& options,
                                                    const std::string& store,
                                                    MetricsRegistry* metrics);
  ~AlertOutputs();

  AlertFormat format() const { return format_; }
  // Appends the file and webhook sinks (those configured).
  void AppendSinks(std::vector<AlertSink*>& sinks);
  // "-- 12 alerts written to alerts.jsonl (1 rotation)\n-- webhook: ..." lines, or "".
  std::string Summary() const;

 private:
  AlertOutputs() = default;

  AlertFormat format_ = AlertFormat::kOcsf;
  std::string file_path_, webhook_url_, dead_letter_path_;
  std::unique_ptr<AlertFileSink> file_;
  std::unique_ptr<WebhookSink> webhook_;
};

}  // namespace tuttle::tools
