#pragma once
// MetricsRegistry: counters, gauges and histograms that the pipeline, the Kafka source and the
// tools update, and their Prometheus text exposition (format 0.0.4), which `tuttle run
// --metrics-listen` serves on /metrics (docs/metrics.md).
//
// Hand-written: Debian 12 packages no Prometheus C++ client, and the exposition format is small.
// It lives in the engine (no dependencies beyond the standard library) so that ingest, engine and
// tools can all publish into one registry; the HTTP server is in tools/ (metrics_server.h).
//
// Thread safety: every method may be called from any thread. Updating a series is one relaxed
// atomic operation, with no lock and no allocation: hot paths look a series up once (With(),
// which locks its family and may allocate) and keep the reference. Expose() locks one family at
// a time, so a scrape never stalls the pipeline for long.
//
// Families are created by name, once: adding an existing name again returns the same family
// (REQUIRES: same type, label names and buckets). Families live as long as the registry; a series
// lives until its family's Remove() or Clear().

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace tuttle {

// A value that only goes up (events seen, bytes read). Prometheus names end in `_total`.
class Counter {
 public:
  static constexpr std::string_view kTypeName = "counter";
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

  // Appends `name{labels} value\n`; `labels` is rendered and escaped already (may be empty).
  void AppendSamples(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (partitions owned, consumer lag).
class Gauge {
 public:
  static constexpr std::string_view kTypeName = "gauge";
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

  void AppendSamples(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::atomic<double> value_{0};
};

// Observations counted into buckets by upper bound (seconds of latency). Exposed as cumulative
// `_bucket{le="..."}` series, `_sum` and `_count`. A scrape concurrent with Observe() may see
// the sum of one more or one fewer observation than the buckets; the buckets and `_count` agree.
class Histogram {
 public:
  static constexpr std::string_view kTypeName = "histogram";
  // REQUIRES: `bounds` strictly increasing and finite; the +Inf bucket is implicit.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }

  void AppendSamples(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

// Latency buckets from 1 ms to 60 s, for batch latencies in seconds.
std::vector<double> LatencyBuckets();

// One metric name, its help text and type; its series told apart by label values.
class MetricFamilyBase {
 public:
  virtual ~MetricFamilyBase() = default;
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  virtual std::string_view type_name() const = 0;
  // Appends `# HELP`, `# TYPE` and the samples; nothing when the family has no series.
  virtual void AppendTo(std::string& out) const = 0;

 protected:
  MetricFamilyBase(std::string name, std::string help, std::vector<std::string> label_names);
  // `k1="v1",k2="v2"` with values escaped. REQUIRES: one value per label name.
  std::string RenderLabels(std::initializer_list<std::string_view> values) const;
  void AppendHeader(std::string& out) const;

  mutable std::mutex mu_;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
};

template <class T>
class MetricFamily final : public MetricFamilyBase {
 public:
  MetricFamily(std::string name, std::string help, std::vector<std::string> label_names,
               std::vector<double> bounds = {})
      : MetricFamilyBase(std::move(name), std::move(help), std::move(label_names)),
        bounds_(std::move(bounds)) {}

  std::string_view type_name() const override { return T::kTypeName; }

  // The series with these label values (one per label name, in order), created at zero on first
  // use. Locks the family and may allocate: hot paths call it once and keep the reference, which
  // stays valid until the series is removed.
  T& With(std::initializer_list<std::string_view> values = {}) {
    std::vector<std::string> key(values.begin(), values.end());
    std::lock_guard<std::mutex> lock(mu_);
    auto it = series_.find(key);
    if (it == series_.end()) {
      Entry e{RenderLabels(values), Make()};
      it = series_.emplace(std::move(key), std::move(e)).first;
    }
    return *it->second.series;
  }

  // Drops a series (a partition no longer owned). REQUIRES: no reference to it is used after.
  bool Remove(std::initializer_list<std::string_view> values) {
    std::vector<std::string> key(values.begin(), values.end());
    std::lock_guard<std::mutex> lock(mu_);
    return series_.erase(key) > 0;
  }

  // Drops every series. REQUIRES: no reference to one is used after.
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    series_.clear();
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return series_.size();
  }

  const std::vector<double>& bounds() const { return bounds_; }

  void AppendTo(std::string& out) const override {
    std::lock_guard<std::mutex> lock(mu_);
    if (series_.empty()) return;
    AppendHeader(out);
    for (const auto& [key, e] : series_) e.series->AppendSamples(out, name(), e.labels);
  }

 private:
  struct Entry {
    std::string labels;  // rendered once, at creation
    std::unique_ptr<T> series;
  };

  std::unique_ptr<T> Make() const {
    if constexpr (std::is_same_v<T, Histogram>) {
      return std::make_unique<T>(bounds_);
    } else {
      return std::make_unique<T>();
    }
  }

  std::vector<double> bounds_;  // histograms only
  // Ordered by label values, so scrapes list series in a stable order.
  std::map<std::vector<std::string>, Entry> series_;
};

class MetricsRegistry {
 public:
  // The Content-Type of Expose()'s text.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // REQUIRES: `name` matches [a-zA-Z_:][a-zA-Z0-9_:]*, and ends in `_total` for counters; label
  // names match [a-zA-Z_][a-zA-Z0-9_]* and do not start with `__` (nor are `le` for histograms).
  // A family without labels has its one series from the start, so it is exposed at zero.
  MetricFamily<Counter>& AddCounter(const std::string& name, const std::string& help,
                                    std::vector<std::string> label_names = {});
  MetricFamily<Gauge>& AddGauge(const std::string& name, const std::string& help,
                                std::vector<std::string> label_names = {});
  MetricFamily<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                        std::vector<double> bounds,
                                        std::vector<std::string> label_names = {});

  // Every family with at least one series, in the order they were added, then what each
  // collector appends, as Prometheus text exposition format 0.0.4.
  std::string Expose() const;

  // Collectors: series computed when scraped rather than updated as things happen (per-rule
  // cost, summed over the workers' own counters only when asked). A collector appends whole
  // families (`# HELP`, `# TYPE`, samples) to `out`; it runs on the scraping thread, under no
  // lock of the registry's. Returns an id for RemoveCollector(), which waits for a running call
  // to finish, so the collector's captures may be destroyed once it returns.
  uint64_t AddCollector(std::function<void(std::string& out)> collector);
  void RemoveCollector(uint64_t id);

 private:
  template <class T>
  MetricFamily<T>& Add(const std::string& name, const std::string& help,
                       std::vector<std::string> label_names, std::vector<double> bounds);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<MetricFamilyBase>> families_;
  // Held while collectors run, and by RemoveCollector().
  mutable std::mutex collectors_mu_;
  std::map<uint64_t, std::function<void(std::string&)>> collectors_;
  uint64_t next_collector_ = 1;
};

// Prometheus escaping: label values escape `\`, `"` and newline; help text `\` and newline.
std::string EscapeLabelValue(std::string_view value);
std::string EscapeHelp(std::string_view help);
// A sample value as Prometheus reads it: shortest round-trip decimal, `+Inf`, `-Inf`, `NaN`.
std::string FormatMetricValue(double v);

}  // namespace tuttle
