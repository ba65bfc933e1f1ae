#include "webhook_sink.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "tuttle/engine/hash.h"

namespace tuttle::tools {
namespace {

using nlohmann::json;

constexpr std::chrono::milliseconds kMaxRetryAfter = std::chrono::minutes(10);

TimeNs WallNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Retryable(int status) { return status == 408 || status == 429 || status >= 500; }

// `Retry-After: <seconds>`; an HTTP date or anything else: nullopt (the backoff applies).
std::optional<std::chrono::milliseconds> RetryAfter(const httplib::Response& res) {
  if (!res.has_header("Retry-After")) return std::nullopt;
  const std::string v = res.get_header_value("Retry-After");
  int64_t seconds = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec != std::errc() || p != v.data() + v.size() || seconds < 0) return std::nullopt;
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(seconds), kMaxRetryAfter);
}

}  // namespace

Result<std::unique_ptr<WebhookSink>> WebhookSink::Open(WebhookSinkOptions options) {
  const std::string& url = options.url;
  Endpoint endpoint;
  size_t rest = 0;
  if (url.starts_with("http://")) {
    rest = 7;
  } else if (url.starts_with("https://")) {
    rest = 8;
  } else {
    return Error(fmt::format("--webhook '{}': expected an http:// or https:// URL", url));
  }
  const size_t slash = url.find('/', rest);
  endpoint.scheme_host_port = url.substr(0, slash);
  endpoint.path = slash == std::string::npos ? "/" : url.substr(slash);
  if (endpoint.scheme_host_port.size() == rest) {
    return Error(fmt::format("--webhook '{}': no host", url));
  }
  if (options.batch == 0) return Error("--webhook-batch: must be 1 or more");
  if (options.max_attempts < 1) return Error("--webhook-max-attempts: must be 1 or more");
  if (options.queue_capacity == 0) options.queue_capacity = 1;
  if (options.dead_letter_path.empty()) return Error("webhook: no dead-letter file given");
  // The dead-letter file must be writable now, not when the endpoint is already failing.
  std::FILE* f = std::fopen(options.dead_letter_path.c_str(), "ab");
  if (f == nullptr) {
    return Error(fmt::format("--webhook-dead-letter '{}': cannot open it for writing: {}",
                             options.dead_letter_path, std::strerror(errno)));
  }
  std::unique_ptr<WebhookSink> sink(new WebhookSink(std::move(options), std::move(endpoint)));
  sink->dead_letter_ = f;
  sink->thread_ = std::thread([s = sink.get()] { s->Run(); });
  return sink;
}

WebhookSink::WebhookSink(WebhookSinkOptions options, Endpoint endpoint)
    : options_(std::move(options)), endpoint_(std::move(endpoint)) {
  if (MetricsRegistry* m = options_.metrics) {
    requests_metric_ =
        &m->AddCounter("tuttle_webhook_requests_total",
                       "Webhook requests by HTTP status (error: no answer)", {"code"});
    retries_metric_ = &m->AddCounter("tuttle_webhook_retries_total",
                                     "Webhook requests sent again after a failure")
                           .With();
    dead_letters_metric_ =
        &m->AddCounter("tuttle_webhook_dead_letters_total",
                       "Alerts the webhook gave up on, written to its dead-letter file")
             .With();
    depth_metric_ =
        &m->AddGauge("tuttle_webhook_queue_depth", "Alerts queued or in flight to the webhook")
             .With();
  }
}

WebhookSink::~WebhookSink() {
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      abort_ = true;
    }
    work_.notify_all();
    thread_.join();
  }
  if (!queue_.empty()) {
    std::vector<Item> rest(queue_.begin(), queue_.end());
    queue_.clear();
    DeadLetter(rest, 0, 0, "not delivered: run stopped");
  }
  if (dead_letter_ != nullptr) std::fclose(dead_letter_);
}

WebhookStats WebhookSink::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Status WebhookSink::Write(const BatchOutput& batch) {
  std::unique_lock<std::mutex> lock(mu_);
  if (stop_ && !abort_ && !thread_.joinable()) {
    // Written after Finish(): in scale-out mode the correlation stage writes on after the
    // pipeline finished its sinks. Deliver again.
    stop_ = false;
    thread_ = std::thread([this] { Run(); });
  }
  for (const Alert& alert : batch.alerts) {
    Item item{alert.id.Uuid(), FormatAlert(alert, options_.format)};
    changed_.wait(lock, [&] { return queue_.size() < options_.queue_capacity || !error_.ok(); });
    if (!error_.ok()) return error_;
    queue_.push_back(std::move(item));
    if (depth_metric_) depth_metric_->Add(1);
    work_.notify_one();
  }
  // The batch's positions are committed once this returns: at a checkpoint, or after every
  // batch of a run that does not checkpoint, everything queued must be settled first.
  if (batch.checkpoint != nullptr || !batch.checkpointing) WaitDrained(lock);
  return error_;
}

Status WebhookSink::Finish() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    WaitDrained(lock);
    stop_ = true;
  }
  work_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  if (dead_letter_ != nullptr && std::fflush(dead_letter_) != 0 && error_.ok()) {
    error_ = Error(fmt::format("webhook dead-letter file '{}': {}", options_.dead_letter_path,
                               std::strerror(errno)));
  }
  return error_;
}

void WebhookSink::WaitDrained(std::unique_lock<std::mutex>& lock) {
  changed_.wait(lock, [&] { return (queue_.empty() && in_flight_ == 0) || !error_.ok(); });
}

bool WebhookSink::Sleep(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !work_.wait_for(lock, d, [&] { return abort_; });
}

void WebhookSink::Run() {
  for (;;) {
    std::vector<Item> items;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_.wait(lock, [&] { return !queue_.empty() || stop_; });
      if (queue_.empty() || abort_) return;
      while (!queue_.empty() && items.size() < options_.batch) {
        items.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      in_flight_ = items.size();
    }
    changed_.notify_all();  // room in the queue
    Deliver(items);
    {
      std::lock_guard<std::mutex> lock(mu_);
      in_flight_ = 0;
      if (depth_metric_) depth_metric_->Add(-static_cast<double>(items.size()));
    }
    changed_.notify_all();
  }
}

void WebhookSink::Deliver(const std::vector<Item>& items) {
  // One client, kept alive across requests; httplib reconnects after errors.
  if (!client_) {
    client_ = std::make_unique<httplib::Client>(endpoint_.scheme_host_port);
    client_->set_keep_alive(true);
    client_->set_tcp_nodelay(true);  // headers and body go out as written, not after an ACK
    const auto secs = [](std::chrono::milliseconds d) {
      return static_cast<time_t>(d.count() / 1000);
    };
    const auto usecs = [](std::chrono::milliseconds d) {
      return static_cast<time_t>(d.count() % 1000 * 1000);
    };
    client_->set_connection_timeout(secs(options_.connect_timeout),
                                    usecs(options_.connect_timeout));
    client_->set_read_timeout(secs(options_.timeout), usecs(options_.timeout));
    client_->set_write_timeout(secs(options_.timeout), usecs(options_.timeout));
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    client_->enable_server_certificate_verification(options_.verify_tls);
#endif
  }

  std::string body;
  std::string key;
  if (options_.batch == 1) {
    body = items.front().body;
    key = items.front().id;
  } else {
    body = "[";
    Hasher h;
    h.Add(std::string_view("tuttle-webhook-batch-v1"));
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) body += ',';
      body += items[i].body;
      h.Add(items[i].id);
    }
    body += ']';
    key = h.Finish().Uuid();
  }
  httplib::Headers headers = {
      {"Idempotency-Key", key},
      {"X-Tuttle-Alert-Count", std::to_string(items.size())},
      {"User-Agent", "tuttle/" TUTTLE_VERSION},
  };
  if (!options_.token.empty()) headers.emplace("Authorization", "Bearer " + options_.token);

  thread_local std::mt19937_64 random(std::random_device{}());
  int status = 0;
  std::string error;
  int attempt = 0;
  while (attempt < options_.max_attempts) {
    ++attempt;
    if (attempt > 1) {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.retries;
      if (retries_metric_) retries_metric_->Add();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.requests;
    }
    auto res = client_->Post(endpoint_.path.c_str(), headers, body, "application/json");
    std::optional<std::chrono::milliseconds> wait;
    if (!res) {
      status = 0;
      error = httplib::to_string(res.error());
      if (requests_metric_) requests_metric_->With({"error"}).Add();
    } else {
      status = res->status;
      if (requests_metric_) requests_metric_->With({std::to_string(status)}).Add();
      if (status >= 200 && status < 300) {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.delivered += items.size();
        return;
      }
      error = fmt::format("HTTP {}", status);
      if (!res->body.empty()) error += fmt::format(": {}", res->body.substr(0, 200));
      if (!Retryable(status)) break;
      if (status == 429 || status == 503) wait = RetryAfter(*res);
    }
    if (attempt >= options_.max_attempts) break;
    if (!wait) {
      // Equal jitter: half the exponential delay, plus a random part of the other half.
      const int64_t base = options_.initial_backoff.count();
      const int64_t cap = options_.max_backoff.count();
      int64_t delay = base;
      for (int i = 1; i < attempt && delay < cap; ++i) delay *= 2;
      delay = std::min(delay, cap);
      std::uniform_int_distribution<int64_t> jitter(0, delay / 2);
      wait = std::chrono::milliseconds(delay - delay / 2 + jitter(random));
    }
    if (!Sleep(*wait)) {
      error += "; not delivered: run stopped";
      break;
    }
  }
  DeadLetter(items, attempt, status, error);
}

void WebhookSink::DeadLetter(const std::vector<Item>& items, int attempts, int status,
                             const std::string& error) {
  std::string lines;
  const std::string now = FormatTimestamp(WallNow());
  for (const Item& item : items) {
    json alert = json::parse(item.body, nullptr, false);
    json line = {{"time", now},
                 {"url", options_.url},
                 {"alert_id", item.id},
                 {"attempts", attempts},
                 {"status", status},
                 {"error", error},
                 {"alert", alert.is_discarded() ? json(item.body) : std::move(alert)}};
    lines += line.dump(-1, ' ', false, json::error_handler_t::replace);
    lines += '\n';
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.dead_lettered += items.size();
  if (dead_letters_metric_) dead_letters_metric_->Add(items.size());
  if (dead_letter_ == nullptr) return;
  if (std::fwrite(lines.data(), 1, lines.size(), dead_letter_) != lines.size() ||
      std::fflush(dead_letter_) != 0) {
    if (error_.ok()) {
      error_ = Error(fmt::format("webhook dead-letter file '{}': {}", options_.dead_letter_path,
                                 std::strerror(errno)));
    }
    changed_.notify_all();
  }
}

}  // namespace tuttle::tools
