#include "alert_outputs.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <charconv>
#include <filesystem>

#include "alert_file_sink.h"
#include "metrics_server.h"
#include "tuttle/engine/strings.h"
#include "tuttle/engine/time.h"
#include "webhook_sink.h"

namespace tuttle::tools {

void AddAlertOutputFlags(CLI::App* cmd, AlertOutputOptions& o) {
  cmd->add_option(kAlertFormatFlag, o.format,
                  "Format of JSON alerts on stdout, in --alerts-file, the alerts topic and the "
                  "webhook: ocsf (OCSF Detection Finding), ecs (Elastic Common Schema) or falco "
                  "(Falco's JSON output); docs/alerts.md")
      ->type_name("ocsf|ecs|falco")
      ->capture_default_str();
  cmd->add_option("--alerts-file", o.file,
                  "Also write alerts as JSON lines to this file, rotated (FILE.1 .. FILE.N)")
      ->type_name("PATH");
  cmd->add_option("--alerts-file-max-size", o.file_max_size,
                  "Rotate the alerts file before it grows past this size (e.g. 100MB, 1GiB; 0: "
                  "never)")
      ->capture_default_str();
  cmd->add_flag("--alerts-file-daily", o.file_daily,
                "Also rotate the alerts file at the first alert of each UTC day");
  cmd->add_option("--alerts-file-keep", o.file_keep, "Rotated alerts files kept")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  cmd->add_option("--webhook", o.webhook,
                  "POST each alert to this http:// or https:// URL, with retries; what it gives "
                  "up on goes to --webhook-dead-letter")
      ->type_name("URL");
  cmd->add_option("--webhook-token-file", o.webhook_token_file,
                  "Send 'Authorization: Bearer <token>' to the webhook, the token read from this "
                  "file");
  cmd->add_option("--webhook-batch", o.webhook_batch,
                  "Alerts per webhook request: 1 posts one JSON object, more a JSON array of up "
                  "to this many")
      ->check(CLI::Range(size_t{1}, size_t{10000}))
      ->capture_default_str();
  cmd->add_option("--webhook-max-attempts", o.webhook_max_attempts,
                  "Attempts per webhook request before its alerts are dead-lettered")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--webhook-timeout", o.webhook_timeout,
                  "Webhook request timeout, e.g. 10s, 500ms")
      ->capture_default_str();
  cmd->add_option("--webhook-backoff", o.webhook_backoff,
                  "Delay before the first webhook retry; doubled each retry, with jitter")
      ->capture_default_str();
  cmd->add_option("--webhook-max-backoff", o.webhook_max_backoff,
                  "Longest delay between webhook attempts")
      ->capture_default_str();
  cmd->add_option("--webhook-queue", o.webhook_queue,
                  "Alerts queued for the webhook before the pipeline waits for it")
      ->check(CLI::Range(size_t{1}, size_t{1} << 24))
      ->capture_default_str();
  cmd->add_option("--webhook-dead-letter", o.webhook_dead_letter,
                  "JSON-lines file of the alerts the webhook gave up on (default: "
                  "webhook-dead-letters.jsonl in the store folder, else the working directory)")
      ->type_name("PATH");
}

std::optional<uint64_t> ParseByteSize(std::string_view text) {
  uint64_t n = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p == text.data()) return std::nullopt;
  std::string unit(p, text.data() + text.size());
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  uint64_t factor = 0;
  if (unit.empty() || unit == "B") factor = 1;
  if (unit == "K" || unit == "KB") factor = 1000;
  if (unit == "M" || unit == "MB") factor = 1000'000;
  if (unit == "G" || unit == "GB") factor = 1000'000'000;
  if (unit == "KIB") factor = uint64_t{1} << 10;
  if (unit == "MIB") factor = uint64_t{1} << 20;
  if (unit == "GIB") factor = uint64_t{1} << 30;
  if (factor == 0 || n > (uint64_t{1} << 50) / factor) return std::nullopt;
  return n * factor;
}

std::optional<std::chrono::milliseconds> ParseMillis(std::string_view text) {
  if (text.size() > 2 && text.substr(text.size() - 2) == "ms") {
    int64_t ms = 0;
    const char* end = text.data() + text.size() - 2;
    const auto [p, ec] = std::from_chars(text.data(), end, ms);
    if (ec != std::errc() || p != end || ms <= 0) return std::nullopt;
    return std::chrono::milliseconds(ms);
  }
  const auto d = ParseDuration(text);
  if (!d) return std::nullopt;
  return std::chrono::milliseconds(*d / kNsPerMs);
}

Status CheckAlertOutputOptions(const AlertOutputOptions& o) {
  if (!ParseAlertFormat(o.format)) {
    return Error(fmt::format("--alert-format '{}': expected ocsf, ecs or falco", o.format));
  }
  if (!ParseByteSize(o.file_max_size)) {
    return Error(fmt::format("--alerts-file-max-size '{}': expected a size such as 100MB or 1GiB",
                             o.file_max_size));
  }
  if (o.file_keep < 0) return Error("--alerts-file-keep: must be 0 or more");
  const std::pair<const char*, const std::string*> durations[] = {
      {"--webhook-timeout", &o.webhook_timeout},
      {"--webhook-backoff", &o.webhook_backoff},
      {"--webhook-max-backoff", &o.webhook_max_backoff}};
  for (const auto& [flag, value] : durations) {
    if (!ParseMillis(*value)) {
      return Error(fmt::format("{} '{}': expected a duration such as 10s or 500ms", flag, *value));
    }
  }
  if (!o.webhook.empty() && !o.webhook.starts_with("http://") &&
      !o.webhook.starts_with("https://")) {
    return Error(fmt::format("--webhook '{}': expected an http:// or https:// URL", o.webhook));
  }
  if (o.webhook.empty() && !o.webhook_token_file.empty()) {
    return Error("--webhook-token-file needs --webhook");
  }
  if (o.webhook_batch == 0) return Error("--webhook-batch: must be 1 or more");
  if (o.webhook_max_attempts < 1) return Error("--webhook-max-attempts: must be 1 or more");
  return Ok();
}

AlertOutputs::~AlertOutputs() = default;

Result<std::unique_ptr<AlertOutputs>> AlertOutputs::Open(const AlertOutputOptions& o,
                                                         const std::string& store,
                                                         MetricsRegistry* metrics) {
  if (Status st = CheckAlertOutputOptions(o); !st.ok()) return st.error();
  std::unique_ptr<AlertOutputs> out(new AlertOutputs());
  out->format_ = *ParseAlertFormat(o.format);
  if (!o.file.empty()) {
    AlertFileSinkOptions fo;
    fo.path = o.file;
    fo.format = out->format_;
    fo.max_bytes = *ParseByteSize(o.file_max_size);
    fo.daily = o.file_daily;
    fo.keep = o.file_keep;
    auto file = AlertFileSink::Open(std::move(fo));
    if (!file.ok()) return file.error();
    out->file_ = std::move(*file);
    out->file_path_ = o.file;
  }
  if (!o.webhook.empty()) {
    WebhookSinkOptions wo;
    wo.url = o.webhook;
    wo.format = out->format_;
    if (!o.webhook_token_file.empty()) {
      auto token = ReadTokenFile(o.webhook_token_file);
      if (!token.ok()) {
        return Error(fmt::format("--webhook-token-file '{}': cannot read a token from it",
                                 o.webhook_token_file));
      }
      wo.token = std::move(*token);
    }
    wo.batch = o.webhook_batch;
    wo.max_attempts = o.webhook_max_attempts;
    wo.timeout = *ParseMillis(o.webhook_timeout);
    wo.connect_timeout = std::min<std::chrono::milliseconds>(wo.timeout, std::chrono::seconds(5));
    wo.initial_backoff = *ParseMillis(o.webhook_backoff);
    wo.max_backoff = std::max(wo.initial_backoff, *ParseMillis(o.webhook_max_backoff));
    wo.queue_capacity = o.webhook_queue;
    wo.dead_letter_path = o.webhook_dead_letter;
    if (wo.dead_letter_path.empty()) {
      wo.dead_letter_path =
          store.empty() ? std::string("webhook-dead-letters.jsonl")
                        : (std::filesystem::path(store) / "webhook-dead-letters.jsonl").string();
    }
    wo.metrics = metrics;
    out->dead_letter_path_ = wo.dead_letter_path;
    auto webhook = WebhookSink::Open(std::move(wo));
    if (!webhook.ok()) return webhook.error();
    out->webhook_ = std::move(*webhook);
    out->webhook_url_ = o.webhook;
  }
  return out;
}

void AlertOutputs::AppendSinks(std::vector<AlertSink*>& sinks) {
  if (file_) sinks.push_back(file_.get());
  if (webhook_) sinks.push_back(webhook_.get());
}

std::string AlertOutputs::Summary() const {
  std::string out;
  if (file_) {
    out += fmt::format("-- {} alerts written to {} ({} rotation{})\n", file_->lines(), file_path_,
                       file_->rotations(), file_->rotations() == 1 ? "" : "s");
  }
  if (webhook_) {
    const WebhookStats s = webhook_->stats();
    out += fmt::format(
        "-- webhook {}: {} alerts delivered, {} requests ({} retries), {} alerts "
        "dead-lettered{}\n",
        webhook_url_, s.delivered, s.requests, s.retries, s.dead_lettered,
        s.dead_lettered > 0 ? Cat(" to ", dead_letter_path_) : std::string());
  }
  return out;
}

}  // namespace tuttle::tools
