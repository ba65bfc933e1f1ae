#include "tuttle/engine/metrics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>

#include <fmt/format.h>

namespace tuttle {
namespace {

bool ValidName(std::string_view name, bool colons) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                       (colons && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

// `name{labels,extra} value\n`, where either label part may be empty.
void AppendSample(std::string& out, std::string_view name, std::string_view suffix,
                  std::string_view labels, std::string_view extra, std::string_view value) {
  out += name;
  out += suffix;
  if (!labels.empty() || !extra.empty()) {
    out += '{';
    out += labels;
    if (!labels.empty() && !extra.empty()) out += ',';
    out += extra;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

// A family registered twice with different shapes is a programmer error; in release builds the
// process stops rather than serve a registry that lies.
[[noreturn]] void Misuse(const std::string& what) {
  std::fprintf(stderr, "tuttle: metrics: %s\n", what.c_str());
  std::abort();
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (const char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

void Counter::AppendSamples(std::string& out, std::string_view name,
                            std::string_view labels) const {
  AppendSample(out, name, "", labels, "", fmt::format_int(value()).str());
}

void Gauge::AppendSamples(std::string& out, std::string_view name, std::string_view labels) const {
  AppendSample(out, name, "", labels, "", FormatMetricValue(value()));
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    assert(std::isfinite(bounds_[i]));
    assert(i == 0 || bounds_[i - 1] < bounds_[i]);
  }
}

void Histogram::Observe(double v) {
  // Few buckets: a linear scan beats a binary search. A bucket counts values <= its bound.
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

uint64_t Histogram::count() const {
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) n += buckets_[i].load(std::memory_order_relaxed);
  return n;
}

void Histogram::AppendSamples(std::string& out, std::string_view name,
                              std::string_view labels) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::string le = "le=\"";
    le += i < bounds_.size() ? FormatMetricValue(bounds_[i]) : "+Inf";
    le += '"';
    AppendSample(out, name, "_bucket", labels, le, fmt::format_int(cumulative).str());
  }
  AppendSample(out, name, "_sum", labels, "", FormatMetricValue(sum()));
  AppendSample(out, name, "_count", labels, "", fmt::format_int(cumulative).str());
}

std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

MetricFamilyBase::MetricFamilyBase(std::string name, std::string help,
                                   std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

std::string MetricFamilyBase::RenderLabels(std::initializer_list<std::string_view> values) const {
  assert(values.size() == label_names_.size());
  std::string out;
  size_t i = 0;
  for (const std::string_view v : values) {
    if (i >= label_names_.size()) break;
    if (i > 0) out += ',';
    out += label_names_[i++];
    out += "=\"";
    out += EscapeLabelValue(v);
    out += '"';
  }
  return out;
}

void MetricFamilyBase::AppendHeader(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  out += EscapeHelp(help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += type_name();
  out += '\n';
}

template <class T>
MetricFamily<T>& MetricsRegistry::Add(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> bounds) {
  if (!ValidName(name, true)) Misuse(fmt::format("invalid metric name '{}'", name));
  if (std::is_same_v<T, Counter> && !name.ends_with("_total")) {
    Misuse(fmt::format("counter '{}' must end in _total", name));
  }
  for (const std::string& l : label_names) {
    if (!ValidName(l, false) || l.starts_with("__") || (std::is_same_v<T, Histogram> && l == "le")) {
      Misuse(fmt::format("metric '{}': invalid label name '{}'", name, l));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& f : families_) {
    if (f->name() != name) continue;
    auto* same = dynamic_cast<MetricFamily<T>*>(f.get());
    if (same == nullptr || same->label_names() != label_names || same->bounds() != bounds) {
      Misuse(fmt::format("metric '{}' added twice with different types, labels or buckets", name));
    }
    return *same;
  }
  const bool unlabelled = label_names.empty();
  auto family =
      std::make_unique<MetricFamily<T>>(name, help, std::move(label_names), std::move(bounds));
  MetricFamily<T>& out = *family;
  families_.push_back(std::move(family));
  if (unlabelled) out.With();
  return out;
}

MetricFamily<Counter>& MetricsRegistry::AddCounter(const std::string& name,
                                                   const std::string& help,
                                                   std::vector<std::string> label_names) {
  return Add<Counter>(name, help, std::move(label_names), {});
}

MetricFamily<Gauge>& MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                               std::vector<std::string> label_names) {
  return Add<Gauge>(name, help, std::move(label_names), {});
}

MetricFamily<Histogram>& MetricsRegistry::AddHistogram(const std::string& name,
                                                       const std::string& help,
                                                       std::vector<double> bounds,
                                                       std::vector<std::string> label_names) {
  return Add<Histogram>(name, help, std::move(label_names), std::move(bounds));
}

std::string MetricsRegistry::Expose() const {
  std::vector<const MetricFamilyBase*> families;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& f : families_) families.push_back(f.get());
  }
  std::string out;
  for (const MetricFamilyBase* f : families) f->AppendTo(out);
  std::lock_guard<std::mutex> lock(collectors_mu_);
  for (const auto& [id, collect] : collectors_) collect(out);
  return out;
}

uint64_t MetricsRegistry::AddCollector(std::function<void(std::string& out)> collector) {
  std::lock_guard<std::mutex> lock(collectors_mu_);
  const uint64_t id = next_collector_++;
  collectors_.emplace(id, std::move(collector));
  return id;
}

void MetricsRegistry::RemoveCollector(uint64_t id) {
  std::lock_guard<std::mutex> lock(collectors_mu_);
  collectors_.erase(id);
}

}  // namespace tuttle
