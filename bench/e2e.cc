// tuttle_e2e: the end-to-end bench `make bench` runs (bench/run, docs/bench.md).
//
//   tuttle_e2e files FILE...   the whole pipeline over JSON-lines files, as `tuttle replay` runs it
//   tuttle_e2e kafka FILE...   ... consumed from the in-process Kafka cluster, as `tuttle run`
//   tuttle_e2e ceiling FILE... the simdjson-only ceiling: parse every record, read every field
//
// Each run prints one JSON line: records, events, seconds, events/s, event-to-alert latency
// (p50, p99), alerts, peak open correlation groups, peak RSS, and, given `--expect` (written by
// `tuttle generate`), whether the planted stories raised the alerts they must.
//
// Event-to-alert latency: for each alert, the wall time at which the sinks receive it, minus the
// time its triggering record entered Tuttle: when the file source read it, or its Kafka message
// timestamp (set by the producer when it sent it). The triggering record is the evidence record
// that arrived last; an alert released by the watermark alone counts from its batch's records.

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "alert_printer.h"
#include "engine_setup.h"
#include "tuttle/engine/pipeline.h"
#include "tuttle/ingest/file_source.h"
#include "tuttle/ingest/kafka.h"
#include "tuttle/storage/store.h"

namespace tuttle::bench {
namespace {

using SystemClock = std::chrono::system_clock;

TimeNs NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             SystemClock::now().time_since_epoch())
      .count();
}

uint64_t PositionKey(int32_t partition, int64_t offset) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(partition + 1)) << 44) ^
         static_cast<uint64_t>(offset);
}

// When each record of a batch entered Tuttle, by position; handed from the read stage to the
// emit stage in batch order.
struct BatchTimes {
  std::unordered_map<uint64_t, TimeNs> records;  // Kafka only: by position
  TimeNs first = kNoTime;   // the earliest arrival
  TimeNs latest = kNoTime;  // the latest
};

// Wraps the real source: notes each record's arrival time, paces reading to `rate` records/s
// (files; 0: as fast as possible), and ends after `limit` records (Kafka, where the producer
// feeds the topic while the pipeline consumes it; 0: when the source ends).
class TimedSource final : public RecordSource {
 public:
  TimedSource(std::unique_ptr<RecordSource> inner, bool kafka_times, double rate, uint64_t limit)
      : inner_(std::move(inner)), kafka_times_(kafka_times), rate_(rate), limit_(limit) {}

  Result<bool> Next(RecordBatch& batch) override {
    const uint64_t delivered = delivered_.load(std::memory_order_relaxed);
    if (limit_ > 0 && delivered >= limit_) return false;
    Result<bool> more = inner_->Next(batch);
    if (!more.ok()) return more;
    // Kafka: records the broker dropped before they were read never come; give up 10 s after
    // the producer finished and nothing more arrived (the run then reports them lost).
    const auto now_steady = std::chrono::steady_clock::now();
    if (!batch.empty() || !fed_.load()) {
      last_record_ = now_steady;
    } else if (limit_ > 0 && now_steady - last_record_ > std::chrono::seconds(10)) {
      return false;
    }
    // The pipeline drops an empty last batch without a sequence number; so do we.
    if (!*more && batch.empty() && batch.stream_events().empty() && batch.rejected().empty()) {
      return more;
    }
    for (const StreamEvent& e : batch.stream_events()) {
      if (e.kind == StreamEvent::Kind::kAssigned) assigned_ = true;
    }
    if (rate_ > 0 && !batch.empty()) {
      if (delivered == 0) paced_from_ = std::chrono::steady_clock::now();
      std::this_thread::sleep_until(
          paced_from_ + std::chrono::nanoseconds(static_cast<int64_t>(
                            static_cast<double>(delivered + batch.size()) / rate_ * 1e9)));
    }
    BatchTimes t;
    const TimeNs now = NowNs();
    if (!batch.empty()) t.first = t.latest = now;
    // Files: every record of the batch entered now. Kafka: each at its own message timestamp.
    if (kafka_times_) {
      t.records.reserve(batch.size());
      for (uint32_t i = 0; i < batch.size(); ++i) {
        const RecordMeta& m = batch.meta(i);
        const TimeNs at = m.transport_time != kNoTime ? m.transport_time : now;
        t.records.emplace(PositionKey(m.partition, m.offset), at);
        t.latest = i == 0 ? at : std::max(t.latest, at);
        t.first = i == 0 ? at : std::min(t.first, at);
      }
    }
    delivered_.fetch_add(batch.size(), std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mu_);
      times_.push_back(std::move(t));
    }
    return *more || (limit_ > 0 && delivered + batch.size() < limit_);
  }
  Status Commit(const std::vector<SourcePosition>& positions) override {
    return inner_->Commit(positions);
  }
  void Stop() override { inner_->Stop(); }
  bool Stopped() const override { return inner_->Stopped(); }
  // The producer has sent every record (Kafka).
  void Fed() { fed_ = true; }
  // Whether the source has been assigned a stream (Kafka: the consumer group has joined).
  bool assigned() const { return assigned_.load(); }
  // Records handed to the pipeline so far; safe from any thread.
  uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }

  // The arrival times of the batch with this sequence number (batches arrive in order).
  BatchTimes Take(uint64_t sequence) {
    std::lock_guard<std::mutex> lock(mu_);
    while (taken_ < sequence && !times_.empty()) {
      times_.pop_front();
      ++taken_;
    }
    if (taken_ != sequence || times_.empty()) return {};
    BatchTimes t = std::move(times_.front());
    times_.pop_front();
    ++taken_;
    return t;
  }

 private:
  std::unique_ptr<RecordSource> inner_;
  bool kafka_times_;
  double rate_;
  uint64_t limit_;
  std::atomic<uint64_t> delivered_{0};
  std::atomic<bool> assigned_{false};
  std::atomic<bool> fed_{false};
  std::chrono::steady_clock::time_point last_record_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point paced_from_{};
  std::mutex mu_;
  std::deque<BatchTimes> times_;
  uint64_t taken_ = 0;
};

// Measures each alert's latency and keeps the correlated alerts for the story check.
class MeasuringSink final : public AlertSink {
 public:
  // Alerts whose triggering record entered within `warmup` of the first record are measured
  // apart (a consumer's first seconds: the group's fetches ramping up).
  MeasuringSink(TimedSource& source, TimeNs warmup) : source_(source), warmup_(warmup) {}

  Status Write(const BatchOutput& batch) override {
    const TimeNs now = NowNs();
    BatchTimes times = source_.Take(batch.sequence);
    for (const Alert& a : batch.alerts) {
      TimeNs entered = kNoTime;
      for (const Evidence& e : a.evidence) {
        auto it = times.records.find(PositionKey(e.position.partition, e.position.offset));
        if (it != times.records.end()) entered = std::max(entered, it->second);
      }
      if (entered == kNoTime) entered = times.latest;
      if (entered != kNoTime) {
        if (first_ == kNoTime) first_ = times.first;
        const double ms = static_cast<double>(now - entered) / 1e6;
        (entered - first_ < warmup_ ? warmup_ms_ : latencies_ms_).push_back(ms);
      }
      if (a.kind == "single") continue;
      ++correlated_[a.rule->name];
      std::map<std::string, std::string> group(a.group.begin(), a.group.end());
      groups_.emplace(a.rule->name, std::move(group));
    }
    return Ok();
  }

  // Over the alerts after the warm-up (`warmup` false), or those during it.
  double Percentile(double p, bool warmup = false) const {
    std::vector<double> v = warmup ? warmup_ms_ : latencies_ms_;
    if (v.empty()) return -1;
    const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
    return v[k];
  }
  size_t measured() const { return latencies_ms_.size() + warmup_ms_.size(); }
  const std::map<std::string, uint64_t>& correlated() const { return correlated_; }
  bool Raised(const std::string& rule, const std::map<std::string, std::string>& group) const {
    return groups_.count({rule, group}) > 0;
  }

 private:
  TimedSource& source_;
  TimeNs warmup_;
  TimeNs first_ = kNoTime;  // when the first record entered
  std::vector<double> latencies_ms_, warmup_ms_;
  std::map<std::string, uint64_t> correlated_;
  std::set<std::pair<std::string, std::map<std::string, std::string>>> groups_;
};

// Checks the alerts against `tuttle generate --expect`: every planted alert raised, and the
// threshold rule the external baselines also run raised exactly once per planted burst.
nlohmann::json CheckStories(const std::string& expect_path, const MeasuringSink& sink) {
  nlohmann::json out;
  std::ifstream in(expect_path);
  nlohmann::json expect = nlohmann::json::parse(in, nullptr, false);
  if (expect.is_discarded()) {
    out["ok"] = false;
    out["errors"] = {fmt::format("cannot read {}", expect_path)};
    return out;
  }
  std::vector<std::string> errors;
  size_t planted = 0;
  for (const auto& a : expect.value("alerts", nlohmann::json::array())) {
    std::map<std::string, std::string> group;
    for (const auto& [k, v] : a.at("group").items()) group[k] = v.get<std::string>();
    ++planted;
    if (!sink.Raised(a.at("rule").get<std::string>(), group)) {
      errors.push_back(fmt::format("missing {} {}", a.at("rule").get<std::string>(),
                                   a.at("group").dump()));
    }
  }
  const std::string burst_rule = expect.value("burst_rule", "");
  const uint64_t bursts = expect.value("bursts", uint64_t{0});
  const auto it = sink.correlated().find(burst_rule);
  const uint64_t raised = it == sink.correlated().end() ? 0 : it->second;
  if (!burst_rule.empty() && raised != bursts) {
    errors.push_back(fmt::format("{}: {} alerts, planted {}", burst_rule, raised, bursts));
  }
  out["ok"] = errors.empty();
  out["planted"] = planted;
  out["burst_alerts"] = raised;
  out["errors"] = errors;
  return out;
}

struct Options {
  std::string mode;
  std::vector<std::string> files;
  std::vector<std::string> rules;
  std::string label;
  int threads = 1;
  double rate = 0;
  size_t batch_records = 0;
  uint64_t max_groups = 100'000;
  double lateness_s = 30;
  double warmup_s = 0;
  bool inventory = true;
  std::string expect;
  std::string store;
  int partitions = 16;
  uint64_t prefill_bytes = 0;
};

long PeakRssKb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// The non-empty lines of `files`, in order, one at a time (the bench's files are GBs).
class LineReader {
 public:
  explicit LineReader(std::vector<std::string> files) : files_(std::move(files)) {}
  bool Next(std::string& line) {
    for (;;) {
      if (!in_.is_open() || !std::getline(in_, line)) {
        if (in_.is_open()) in_.close();
        if (next_ == files_.size()) return false;
        in_.open(files_[next_++]);
        continue;
      }
      if (!line.empty()) return true;
    }
  }

 private:
  std::vector<std::string> files_;
  size_t next_ = 0;
  std::ifstream in_;
};

// Feeds the records of `reader` into the topic, record i to partition i mod N, at `rate`
// records/s (0: as fast as the consumer takes them), starting at record `first`. The mock cluster
// keeps only the last few MB of each partition, so the producer stays at most `window` records
// ahead of what the pipeline has read.
void Produce(ingest::KafkaProducer& producer, const std::string& topic, int partitions,
             LineReader& reader, uint64_t first, double rate, TimedSource& consumer,
             uint64_t window, const std::atomic<bool>& stop, Status& status) {
  // Paced records wait for the consumer group to join (about 3 s), or they would measure it.
  while (rate > 0 && !consumer.assigned() && !stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto start = std::chrono::steady_clock::now();
  std::string line;
  for (uint64_t i = first; !stop.load() && reader.Next(line); ++i) {
    if (rate > 0) {
      std::this_thread::sleep_until(
          start + std::chrono::nanoseconds(
                      static_cast<int64_t>(static_cast<double>(i - first) / rate * 1e9)));
    }
    while (i > consumer.delivered() + window && !stop.load()) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    Status st = producer.Produce(topic, static_cast<int32_t>(i % partitions), {}, line);
    if (!st.ok()) {
      status = st;
      consumer.Fed();
      return;
    }
    if (i % 1024 == 0) (void)producer.Poll();
  }
  status = producer.Flush(std::chrono::seconds(60));
  consumer.Fed();
}

// The simdjson-only ceiling: parse every record with the On-Demand API Tuttle's parser uses and
// read every value (every field a rule could read, and the rest), one thread.
namespace od = simdjson::ondemand;

simdjson::error_code ReadAll(od::value value, uint64_t& checksum, int depth) {
  if (depth > 64) return simdjson::DEPTH_ERROR;
  od::json_type type;
  if (auto e = value.type().get(type)) return e;
  switch (type) {
    case od::json_type::object: {
      od::object object;
      if (auto e = value.get_object().get(object)) return e;
      for (auto field : object) {
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) return e;
        checksum += key.size();
        od::value v;
        if (auto e = field.value().get(v)) return e;
        if (auto e = ReadAll(v, checksum, depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array array;
      if (auto e = value.get_array().get(array)) return e;
      for (auto element : array) {
        od::value v;
        if (auto e = element.get(v)) return e;
        if (auto e = ReadAll(v, checksum, depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view s;
      if (auto e = value.get_string().get(s)) return e;
      checksum += s.size();
      return simdjson::SUCCESS;
    }
    default:
      checksum += value.raw_json_token().size();
      return simdjson::SUCCESS;
  }
}

int RunCeiling(const Options& o) {
  // In memory first, so that reading the file is not measured; each record padded as the
  // pipeline's batches pad it.
  std::vector<std::string> lines;
  std::vector<size_t> sizes;
  LineReader reader(o.files);
  for (std::string line; reader.Next(line);) {
    sizes.push_back(line.size());
    line.append(simdjson::SIMDJSON_PADDING, '\0');
    lines.push_back(std::move(line));
  }
  od::parser parser;
  uint64_t checksum = 0, bytes = 0, errors = 0;
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < lines.size(); ++i) {
    od::document doc;
    od::value root;
    if (parser.iterate(lines[i].data(), sizes[i], lines[i].size()).get(doc) ||
        doc.get_value().get(root) || ReadAll(root, checksum, 0)) {
      ++errors;
      continue;
    }
    bytes += sizes[i];
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json r;
  r["label"] = o.label.empty() ? "simdjson ceiling" : o.label;
  r["mode"] = "ceiling";
  r["threads"] = 1;
  r["records"] = lines.size();
  r["events"] = lines.size() - errors;
  r["bytes"] = bytes;
  r["seconds"] = seconds;
  r["events_per_s"] = static_cast<double>(lines.size() - errors) / seconds;
  r["events_per_s_per_core"] = r["events_per_s"];
  r["unreadable"] = errors;  // as the pipeline dead-letters them
  r["checksum"] = checksum;
  r["rss_kb"] = PeakRssKb();
  fmt::print("{}\n", r.dump());
  return 0;
}

int RunPipeline(const Options& o) {
  auto engine = tools::LoadEngine(o.rules, {}, false, {});
  if (!engine.ok()) {
    fmt::print(stderr, "tuttle_e2e: {}\n", engine.error().message());
    return 1;
  }
  PipelineOptions p;
  p.threads = o.threads;
  p.correlator.max_groups_per_rule = o.max_groups;
  p.correlator.allowed_lateness = static_cast<TimeNs>(o.lateness_s * 1e9);
  std::unique_ptr<Inventory> inventory;
  if (o.inventory) {
    inventory = std::make_unique<Inventory>();
    p.inventory = inventory.get();
  }
  std::unique_ptr<storage::Store> store;
  if (!o.store.empty()) {
    std::filesystem::remove_all(o.store);
    auto s = storage::Store::Open(o.store);
    if (!s.ok()) {
      fmt::print(stderr, "tuttle_e2e: {}\n", s.error().message());
      return 1;
    }
    store = std::move(*s);
    p.checkpoint.enabled = true;
  }

  std::unique_ptr<ingest::MockCluster> cluster;
  std::unique_ptr<ingest::KafkaProducer> producer;
  std::unique_ptr<RecordSource> inner;
  const bool kafka = o.mode == "kafka";
  // Kafka: the records, read as the producer sends them; how many, and their average size.
  LineReader reader(o.files);
  uint64_t total = 0, average = 1, prefilled = 0;
  if (kafka) {
    const std::string topic = "telemetry";
    uint64_t all_bytes = 0;
    LineReader counter(o.files);
    for (std::string line; counter.Next(line);) {
      ++total;
      all_bytes += line.size();
    }
    average = std::max<uint64_t>(1, all_bytes / std::max<uint64_t>(1, total));
    auto c = ingest::MockCluster::Start(1);
    if (!c.ok() || !(*c)->CreateTopic(topic, o.partitions).ok()) {
      fmt::print(stderr, "tuttle_e2e: cannot start the mock cluster\n");
      return 1;
    }
    cluster = std::move(*c);
    auto prod = ingest::KafkaProducer::Open(cluster->bootstrap_servers(),
                                            {{"linger.ms", "5"}, {"batch.num.messages", "10000"}});
    if (!prod.ok()) {
      fmt::print(stderr, "tuttle_e2e: {}\n", prod.error().message());
      return 1;
    }
    producer = std::move(*prod);
    // Pre-fill (untimed): the topic holds this much before the consumer joins, so the timed run
    // reads from a topic that is ahead of it, as a consumer catching up does.
    uint64_t bytes = 0;
    std::string line;
    while (bytes < o.prefill_bytes && reader.Next(line)) {
      if (Status st = producer->Produce(topic, static_cast<int32_t>(prefilled % o.partitions), {},
                                        line);
          !st.ok()) {
        fmt::print(stderr, "tuttle_e2e: {}\n", st.error().message());
        return 1;
      }
      bytes += line.size();
      ++prefilled;
    }
    if (Status st = producer->Flush(std::chrono::seconds(60)); !st.ok()) {
      fmt::print(stderr, "tuttle_e2e: {}\n", st.error().message());
      return 1;
    }
    ingest::KafkaSourceOptions ko;
    ko.brokers = cluster->bootstrap_servers();
    ko.topics = {topic};
    ko.group_id = "tuttle-bench";
    ko.follow = true;
    // Smaller fetches per partition than librdkafka's 1 MB: with 32 partitions, 1 MB of one
    // partition is 30 s of this stream's event time, about the allowed lateness, and partitions
    // are not read evenly (docs/bench.md).
    ko.properties = {{"fetch.wait.max.ms", "10"}, {"max.partition.fetch.bytes", "262144"}};
    if (o.batch_records > 0) ko.batch_records = o.batch_records;
    auto k = ingest::KafkaSource::Open(ko);
    if (!k.ok()) {
      fmt::print(stderr, "tuttle_e2e: {}\n", k.error().message());
      return 1;
    }
    inner = std::move(*k);
  } else {
    ingest::FileSourceOptions fo;
    if (o.batch_records > 0) fo.batch_records = o.batch_records;
    auto f = ingest::FileSource::Open(o.files, fo);
    if (!f.ok()) {
      fmt::print(stderr, "tuttle_e2e: {}\n", f.error().message());
      return 1;
    }
    inner = std::move(*f);
  }

  TimedSource source(std::move(inner), kafka, kafka ? 0 : o.rate, kafka ? total : 0);
  MeasuringSink measuring(source, static_cast<TimeNs>(o.warmup_s * 1e9));
  // Alerts are written as `tuttle replay` writes them (OCSF JSON lines), to /dev/null.
  std::FILE* devnull = std::fopen("/dev/null", "w");
  tools::AlertPrinter printer(devnull, tools::AlertPrinter::Format::kJson);
  std::vector<AlertSink*> sinks;
  if (store) sinks.push_back(store.get());
  sinks.push_back(&printer);
  sinks.push_back(&measuring);

  std::atomic<bool> stop{false};
  Status produced = Ok();
  std::thread feeder;
  if (kafka) {
    // The window: 2 MB per partition at the file's average record size, well within what the
    // mock cluster keeps (about 5 MB each), as partitions are not read evenly.
    const uint64_t window = static_cast<uint64_t>(o.partitions) * (2u << 20) / average;
    feeder = std::thread([&] {
      Produce(*producer, "telemetry", o.partitions, reader, prefilled, o.rate, source, window,
              stop, produced);
    });
  }
  Pipeline pipeline(engine->rules, *engine->parser, p);
  auto stats = pipeline.Run(source, sinks);
  stop = true;
  if (feeder.joinable()) feeder.join();
  std::fclose(devnull);
  if (!stats.ok()) {
    fmt::print(stderr, "tuttle_e2e: {}\n", stats.error().message());
    return 1;
  }
  nlohmann::json r;
  r["label"] = o.label;
  r["mode"] = o.mode;
  r["threads"] = o.threads;
  r["rules"] = engine->rules_origin;
  r["records"] = stats->records;
  r["events"] = stats->events;
  r["bytes"] = stats->bytes;
  r["matched"] = stats->matched_events;
  r["alerts"] = stats->alerts;
  r["correlation_alerts"] = stats->correlation_alerts;
  r["dead_letters"] = stats->dead_letters;
  r["seconds"] = stats->seconds;
  r["events_per_s"] = static_cast<double>(stats->events) / stats->seconds;
  r["events_per_s_per_core"] = r["events_per_s"].get<double>() / o.threads;
  r["rate"] = o.rate;
  // Records waiting in the topic before the group joined would measure the join: no latency
  // for runs that pre-fill it.
  if (prefilled == 0) {
    r["latency_p50_ms"] = measuring.Percentile(0.50);
    r["latency_p99_ms"] = measuring.Percentile(0.99);
    r["latency_alerts"] = measuring.measured();
    r["latency_warmup_s"] = o.warmup_s;
    r["latency_warmup_p99_ms"] = measuring.Percentile(0.99, true);
  }
  r["peak_open_groups"] = stats->peak_open_groups;
  r["evicted_groups"] = stats->evicted_groups;
  r["rss_kb"] = PeakRssKb();
  bool ok = true;
  if (!o.expect.empty()) {
    r["check"] = CheckStories(o.expect, measuring);
    ok = r["check"]["ok"].get<bool>();
  }
  if (!produced.ok()) {
    ok = false;
    r["error"] = produced.error().message();
  }
  if (kafka && stats->records != total) {
    ok = false;
    r["lost"] = total - stats->records;
  }
  fmt::print("{}\n", r.dump());
  return ok ? 0 : 2;
}

}  // namespace
}  // namespace tuttle::bench

int main(int argc, char** argv) {
  using tuttle::bench::Options;
  Options o;
  CLI::App app("Tuttle's end-to-end bench: one run, one JSON line of results (docs/bench.md)");
  app.add_option("mode", o.mode, "files, kafka or ceiling")
      ->required()
      ->check(CLI::IsMember({"files", "kafka", "ceiling"}));
  app.add_option("files", o.files, "JSON-lines files (tuttle generate)")->required();
  app.add_option("-r,--rules", o.rules, "Rule files or folders; default: the embedded pack");
  app.add_option("-t,--threads", o.threads, "Worker threads")->check(CLI::Range(1, 256));
  app.add_option("--rate", o.rate, "Records/s to feed (0: as fast as the pipeline reads)");
  app.add_option("--batch-records", o.batch_records, "Records per batch (default: the source's)");
  app.add_option("--max-groups", o.max_groups, "Open groups kept per correlation rule");
  app.add_option("--warmup", o.warmup_s,
                 "Seconds after the first record whose alerts' latency is reported apart");
  app.add_option("--lateness", o.lateness_s, "Allowed lateness in seconds (default 30, as tuttle)");
  app.add_flag("!--no-inventory", o.inventory, "Do not build the inventory");
  app.add_option("--expect", o.expect, "Check the alerts against `tuttle generate --expect`");
  app.add_option("--store", o.store, "Also write alerts and checkpoints to this RocksDB folder");
  app.add_option("--partitions", o.partitions, "Kafka: topic partitions")->check(CLI::Range(1, 256));
  app.add_option("--prefill-mb", o.prefill_bytes, "Kafka: MB produced before the consumer joins")
      ->transform([](std::string s) { return std::to_string(std::stoull(s) << 20); });
  app.add_option("--label", o.label, "Names the run in the output");
  CLI11_PARSE(app, argc, argv);
  if (o.mode == "ceiling") return tuttle::bench::RunCeiling(o);
  return tuttle::bench::RunPipeline(o);
}
