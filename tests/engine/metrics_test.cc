// The metrics registry and its Prometheus text exposition (format 0.0.4), as a Prometheus server
// would read it.

#include "tuttle/engine/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace tuttle {
namespace {

TEST(MetricsExposition, CountersAndGaugesCarryHelpTypeAndTheirValue) {
  MetricsRegistry r;
  r.AddCounter("tuttle_records_total", "Records read").With().Add(41);
  r.AddCounter("tuttle_records_total", "Records read").With().Add();  // the same family
  r.AddGauge("tuttle_partitions", "Partitions owned").With().Set(3);
  EXPECT_EQ(r.Expose(),
            "# HELP tuttle_records_total Records read\n"
            "# TYPE tuttle_records_total counter\n"
            "tuttle_records_total 42\n"
            "# HELP tuttle_partitions Partitions owned\n"
            "# TYPE tuttle_partitions gauge\n"
            "tuttle_partitions 3\n");
}

TEST(MetricsExposition, UnlabelledFamiliesShowZeroAndEmptyLabelledFamiliesNothing) {
  MetricsRegistry r;
  r.AddCounter("a_total", "A");
  auto& lag = r.AddGauge("lag", "Lag", {"topic", "partition"});
  EXPECT_EQ(r.Expose(), "# HELP a_total A\n# TYPE a_total counter\na_total 0\n");
  lag.With({"t", "0"}).Set(5);
  lag.With({"t", "1"}).Set(7);
  EXPECT_TRUE(lag.Remove({"t", "0"}));
  EXPECT_FALSE(lag.Remove({"t", "0"}));
  EXPECT_EQ(r.Expose(),
            "# HELP a_total A\n# TYPE a_total counter\na_total 0\n"
            "# HELP lag Lag\n# TYPE lag gauge\nlag{topic=\"t\",partition=\"1\"} 7\n");
}

TEST(MetricsExposition, EscapesLabelValuesAndHelpText) {
  MetricsRegistry r;
  r.AddCounter("dead_letters_total", "Dead letters\nby reason, with a \\ and \"quotes\"",
               {"reason"})
      .With({"bad \"JSON\" at C:\\in\nline 2"})
      .Add(2);
  // In HELP only backslash and newline are escaped; label values also escape the double quote.
  EXPECT_EQ(r.Expose(),
            "# HELP dead_letters_total Dead letters\\nby reason, with a \\\\ and \"quotes\"\n"
            "# TYPE dead_letters_total counter\n"
            "dead_letters_total{reason=\"bad \\\"JSON\\\" at C:\\\\in\\nline 2\"} 2\n");
}

TEST(MetricsExposition, SeriesAreListedInLabelOrderWhateverTheOrderOfCreation) {
  MetricsRegistry r;
  auto& f = r.AddCounter("alerts_total", "Alerts", {"kind"});
  f.With({"single"}).Add(3);
  f.With({"correlation"}).Add(1);
  EXPECT_EQ(r.Expose(),
            "# HELP alerts_total Alerts\n# TYPE alerts_total counter\n"
            "alerts_total{kind=\"correlation\"} 1\nalerts_total{kind=\"single\"} 3\n");
}

TEST(MetricsExposition, HistogramsHaveCumulativeBucketsInfSumAndCount) {
  MetricsRegistry r;
  auto& h = r.AddHistogram("latency_seconds", "Latency", {0.005, 0.25, 1}, {"stage"});
  Histogram& emit = h.With({"emit"});
  emit.Observe(0.001);
  emit.Observe(0.005);  // a bucket counts values up to and including its bound
  emit.Observe(0.5);
  emit.Observe(3);
  std::string want =
      "# HELP latency_seconds Latency\n"
      "# TYPE latency_seconds histogram\n"
      "latency_seconds_bucket{stage=\"emit\",le=\"0.005\"} 2\n"
      "latency_seconds_bucket{stage=\"emit\",le=\"0.25\"} 2\n"
      "latency_seconds_bucket{stage=\"emit\",le=\"1\"} 3\n"
      "latency_seconds_bucket{stage=\"emit\",le=\"+Inf\"} 4\n"
      "latency_seconds_sum{stage=\"emit\"} ";
  want += FormatMetricValue(0.001 + 0.005 + 0.5 + 3);
  want += "\nlatency_seconds_count{stage=\"emit\"} 4\n";
  EXPECT_EQ(r.Expose(), want);
  EXPECT_EQ(emit.count(), 4u);
}

TEST(MetricsExposition, UnlabelledHistogramsPutOnlyLeInBraces) {
  MetricsRegistry r;
  r.AddHistogram("batch_seconds", "Batch", {1}).With().Observe(2);
  EXPECT_EQ(r.Expose(),
            "# HELP batch_seconds Batch\n# TYPE batch_seconds histogram\n"
            "batch_seconds_bucket{le=\"1\"} 0\nbatch_seconds_bucket{le=\"+Inf\"} 1\n"
            "batch_seconds_sum 2\nbatch_seconds_count 1\n");
}

TEST(MetricsExposition, ValuesUsePrometheusSpellingsOfInfinityAndNaN) {
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatMetricValue(0.25), "0.25");
  EXPECT_EQ(FormatMetricValue(-3), "-3");
  EXPECT_EQ(FormatMetricValue(12345678901234.0), "12345678901234");
}

TEST(MetricsRegistry, CountersUpdatedFromManyThreadsWhileScrapedLoseNothing) {
  MetricsRegistry r;
  Counter& c = r.AddCounter("n_total", "N").With();
  Gauge& g = r.AddGauge("g", "G").With();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100'000; ++i) {
        c.Add();
        g.Add(1);
      }
    });
  }
  for (int i = 0; i < 50; ++i) EXPECT_NE(r.Expose().find("n_total "), std::string::npos);
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 400'000u);
  EXPECT_EQ(g.value(), 400'000.0);
  EXPECT_NE(r.Expose().find("\nn_total 400000\n"), std::string::npos);
}

TEST(MetricsRegistryDeathTest, RefusesACounterNotEndingInTotalAndInvalidNames) {
  EXPECT_DEATH(MetricsRegistry().AddCounter("records", "Records"), "must end in _total");
  EXPECT_DEATH(MetricsRegistry().AddGauge("9lives", "Lives"), "invalid metric name");
  EXPECT_DEATH(MetricsRegistry().AddGauge("lag", "Lag", {"__topic"}), "invalid label name");
  EXPECT_DEATH(MetricsRegistry().AddHistogram("h", "H", {1}, {"le"}), "invalid label name");
  EXPECT_DEATH(
      {
        MetricsRegistry r;
        r.AddGauge("x_total", "X");
        r.AddCounter("x_total", "X");
      },
      "added twice");
}

}  // namespace
}  // namespace tuttle
