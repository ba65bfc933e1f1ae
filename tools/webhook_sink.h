#pragma once
// WebhookSink: POSTs alerts to an HTTP(S) endpoint (SOAR, chat-ops, ticketing), with retries,
// exponential backoff and a dead-letter file for what it could not deliver. docs/alerts.md.
//
// Requests: one alert per request as a JSON object (batch 1, the default), or up to `batch`
// alerts as a JSON array. Headers: Content-Type: application/json, `Authorization: Bearer
// <token>` when a token is set, `Idempotency-Key` (the alert id; for an array, a UUID-shaped hash
// of its alert ids, stable across retries and restarts) and `X-Tuttle-Alert-Count`.
//
// Retries: connection errors and timeouts, 408, 429 and 5xx are retried after a delay of
// initial_backoff * 2^(attempt-1), capped at max_backoff, with "equal jitter" (a random delay
// between half of it and all of it); a 429 or 503 with `Retry-After: <seconds>` waits that long
// instead (at most 10 minutes). Any other answer that is not 2xx (400, 401, 404, redirects, ...)
// is not retried. After `max_attempts` attempts, or at once when not retryable, the request's
// alerts go to the dead-letter file, one JSON line each: {"time", "url", "alert_id", "attempts",
// "status" (0: no HTTP answer), "error", "alert" (the document that was posted)}.
//
// Delivery: a delivery thread works through a bounded queue, so a slow endpoint does not stall
// detection; a full queue makes Write() wait (backpressure: nothing is dropped). Write() also
// waits until everything queued is delivered or dead-lettered whenever the batch's positions are
// about to be committed for good: a batch that carries a checkpoint, or any batch of a run that
// does not checkpoint. So every alert whose positions were committed has been delivered or
// dead-lettered: at least once (retries and restarts repeat alerts; the idempotency key lets the
// receiver drop repeats). Finish() drains the queue the same way. A sink destroyed without
// Finish() (the run failed) dead-letters what was still queued, with error "not delivered: run
// stopped". A Write() after Finish() starts delivering again (Finish() again to drain).
//
// Metrics (when a registry is given): tuttle_webhook_requests_total{code} (code "error" for no
// answer), tuttle_webhook_retries_total, tuttle_webhook_dead_letters_total (alerts),
// tuttle_webhook_queue_depth (alerts queued or in flight).
//
// Thread safety: Write() and Finish() from one thread (the pipeline's serial last stage).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "tuttle/engine/alert.h"
#include "tuttle/engine/alert_sink.h"
#include "tuttle/engine/metrics.h"

namespace httplib {
class Client;
}

namespace tuttle::tools {

struct WebhookSinkOptions {
  std::string url;    // http:// or https://HOST[:PORT][/PATH]
  std::string token;  // sent as `Authorization: Bearer <token>`; empty: no header
  AlertFormat format = AlertFormat::kOcsf;
  // Alerts per request: 1 posts a JSON object, more a JSON array of up to this many. Default 1.
  size_t batch = 1;
  // Attempts per request before it is dead-lettered (1: no retry). Default 8.
  int max_attempts = 8;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};  // default 5 s
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};         // reading and writing; 10 s
  std::chrono::milliseconds initial_backoff{500};                      // default 500 ms
  std::chrono::milliseconds max_backoff{std::chrono::seconds(30)};     // default 30 s
  // Alerts queued (formatted) before Write() waits. Default 1024.
  size_t queue_capacity = 1024;
  // JSON-lines file of the alerts it gave up on, appended to; opened (created) by Open().
  // REQUIRES: not empty.
  std::string dead_letter_path;
  // Where the counters go; nullptr: nowhere. Must outlive the sink.
  MetricsRegistry* metrics = nullptr;
  // Verify an https endpoint's certificate (default); off only for tests and labs.
  bool verify_tls = true;
};

struct WebhookStats {
  uint64_t delivered = 0;      // alerts the endpoint accepted (2xx)
  uint64_t dead_lettered = 0;  // alerts written to the dead-letter file
  uint64_t requests = 0;       // requests sent (attempts)
  uint64_t retries = 0;        // attempts after the first
};

class WebhookSink final : public AlertSink {
 public:
  // Checks the URL and that the dead-letter file can be written; does not connect.
  static Result<std::unique_ptr<WebhookSink>> Open(WebhookSinkOptions options);
  ~WebhookSink() override;

  Status Write(const BatchOutput& batch) override;
  Status Finish() override;

  WebhookStats stats() const;

 private:
  struct Item {
    std::string id;    // alert UUID
    std::string body;  // the alert in options_.format
  };
  struct Endpoint {
    std::string scheme_host_port;
    std::string path;
  };

  WebhookSink(WebhookSinkOptions options, Endpoint endpoint);
  void Run();
  // Sends `items` until accepted or given up (then dead-lettered).
  void Deliver(const std::vector<Item>& items);
  void DeadLetter(const std::vector<Item>& items, int attempts, int status,
                  const std::string& error);
  // Waits (under `lock`) until the queue is empty and nothing is in flight.
  void WaitDrained(std::unique_lock<std::mutex>& lock);
  // Sleeps `d` unless the sink is aborted first; false when aborted.
  bool Sleep(std::chrono::milliseconds d);

  WebhookSinkOptions options_;
  Endpoint endpoint_;
  Counter* retries_metric_ = nullptr;
  Counter* dead_letters_metric_ = nullptr;
  Gauge* depth_metric_ = nullptr;
  MetricFamily<Counter>* requests_metric_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable work_;     // the delivery thread: items queued, or stop
  std::condition_variable changed_;  // Write() and Finish(): room in the queue, or drained
  std::deque<Item> queue_;
  size_t in_flight_ = 0;
  bool stop_ = false;    // Finish(): deliver what is queued, then end
  bool abort_ = false;   // destructor: give up on what is queued
  Status error_ = Ok();  // sticky: the dead-letter file could not be written
  WebhookStats stats_;
  std::FILE* dead_letter_ = nullptr;
  std::unique_ptr<httplib::Client> client_;  // the delivery thread's, kept alive across requests
  std::thread thread_;
};

}  // namespace tuttle::tools
