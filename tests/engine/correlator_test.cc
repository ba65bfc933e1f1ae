// Correlation windows on event time, driven by hand-made signals: no parser, no broker, no clock.

#include "tuttle/engine/correlator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace tuttle {
namespace {

constexpr TimeNs kS = kNsPerSecond;
constexpr TimeNs kT0 = 1'700'000'000 * kS;

std::shared_ptr<RuleInfo> Info(const std::string& id) {
  auto info = std::make_shared<RuleInfo>();
  info->id = id;
  info->title = id;
  return info;
}

// A rule set with detection rules "a", "b", "c" and one correlation over them.
RuleSet MakeRules(CorrelationType type, std::vector<uint32_t> steps, TimeNs timespan,
                  CountCondition condition) {
  RuleSet rs;
  for (const char* id : {"a", "b", "c"}) {
    DetectionRule d;
    d.info = Info(id);
    rs.detections.push_back(d);
  }
  CorrelationRule c;
  c.info = Info("corr");
  c.type = type;
  c.rules = std::move(steps);
  c.group_by = {"user"};
  c.group_by_paths.assign(c.rules.size(), {0});
  c.value_field = "host";
  c.value_paths.assign(c.rules.size(), 1);
  c.timespan = timespan;
  c.condition = condition;
  rs.correlations.push_back(c);
  rs.Link();
  return rs;
}

CountCondition Gte(int64_t n) {
  CountCondition c;
  c.gte = n;
  return c;
}

Signal Sig(TimeNs t, const std::string& user, uint32_t step = 0, std::string value = "",
           int64_t offset = -1) {
  static int64_t next_offset = 0;
  Signal s;
  s.correlation = 0;
  s.step = step;
  s.detection = step;
  s.time = t;
  s.position = SourcePosition{"topic", 0, offset >= 0 ? offset : next_offset++};
  s.record_id = Hasher().Add(t).Add(user).Add(s.position.offset).Add(value).Finish();
  s.group = {user};
  s.value = std::move(value);
  return s;
}

// Feeds signals as a source would (observe, add), then flushes at end of input.
std::vector<Alert> Feed(Correlator& c, std::vector<Signal> signals) {
  std::vector<Alert> alerts;
  for (auto& s : signals) {
    c.Observe("topic", 0, s.time);
    c.Add(std::move(s));
    c.Advance(alerts);
  }
  c.Flush(alerts);
  return alerts;
}

TEST(EventCountWindow, FiresOnceWhenThresholdReachedInsideTimespan) {
  RuleSet rs = MakeRules(CorrelationType::kEventCount, {0}, 60 * kS, Gte(3));
  Correlator c(rs, {});
  std::vector<Signal> in;
  for (int i = 0; i < 5; ++i) in.push_back(Sig(kT0 + i * kS, "alice"));
  const auto alerts = Feed(c, std::move(in));
  // The 4th and 5th events belong to the episode that fired at the 3rd: no alert of their own.
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].count, 3);
  EXPECT_EQ(alerts[0].evidence.size(), 3u);
  EXPECT_EQ(alerts[0].window_start, kT0);
  EXPECT_EQ(alerts[0].window_end, kT0 + 2 * kS);
  EXPECT_EQ(alerts[0].time, kT0 + 2 * kS);
  ASSERT_EQ(alerts[0].group.size(), 1u);
  EXPECT_EQ(alerts[0].group[0], (std::pair<std::string, std::string>{"user", "alice"}));
  EXPECT_EQ(alerts[0].condition, ">= 3");
  EXPECT_EQ(alerts[0].kind, "event_count");
}

TEST(EventCountWindow, ANewEpisodeNeedsTheThresholdAgain) {
  RuleSet rs = MakeRules(CorrelationType::kEventCount, {0}, 60 * kS, Gte(3));
  Correlator c(rs, {});
  std::vector<Signal> in;
  for (int i = 0; i < 6; ++i) in.push_back(Sig(kT0 + i * kS, "alice"));
  const auto alerts = Feed(c, std::move(in));
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[1].window_start, kT0 + 3 * kS);
  EXPECT_NE(alerts[0].id, alerts[1].id);
}

TEST(EventCountWindow, TimespanIncludesBothEnds) {
  RuleSet rs = MakeRules(CorrelationType::kEventCount, {0}, 60 * kS, Gte(2));
  {
    Correlator c(rs, {});
    EXPECT_EQ(Feed(c, {Sig(kT0, "u"), Sig(kT0 + 60 * kS, "u")}).size(), 1u);
  }
  {
    Correlator c(rs, {});
    EXPECT_TRUE(Feed(c, {Sig(kT0, "u"), Sig(kT0 + 60 * kS + 1, "u")}).empty());
  }
}

TEST(EventCountWindow, GroupsAreCountedSeparately) {
  RuleSet rs = MakeRules(CorrelationType::kEventCount, {0}, 60 * kS, Gte(2));
  Correlator c(rs, {});
  const auto alerts = Feed(c, {Sig(kT0, "alice"), Sig(kT0 + kS, "bob"), Sig(kT0 + 2 * kS, "carol")});
  EXPECT_TRUE(alerts.empty());
  EXPECT_EQ(c.open_groups(), 3u);
}

TEST(EventCountWindow, SignalsWithoutTheGroupFieldAreCountedButNotGrouped) {
  RuleSet rs = MakeRules(CorrelationType::kEventCount, {0}, 60 * kS, Gte(2));
  Correlator c(rs, {});
  Signal a = Sig(kT0, "");
  a.missing_group = true;
  Signal b = Sig(kT0 + kS, "");
  b.missing_group = true;
  EXPECT_TRUE(Feed(c, {a, b}).empty());
  EXPECT_EQ(c.stats().missing_group_field, 2u);
}

TEST(Watermark, HoldsSignalsUntilEventTimePassesTheLateness) {
  RuleSet rs = MakeRules(CorrelationType::kEventCount, {0}, 60 * kS, Gte(2));
  CorrelatorOptions o;
  o.allowed_lateness = 30 * kS;
  Correlator c(rs, o);
  std::vector<Alert> alerts;
  c.Observe("topic", 0, kT0);
  c.Add(Sig(kT0, "u"));
  c.Observe("topic", 0, kT0 + kS);
  c.Add(Sig(kT0 + kS, "u"));
  c.Advance(alerts);
  EXPECT_TRUE(alerts.empty()) << "released before the watermark passed them";
  EXPECT_EQ(c.pending(), 2u);
  c.Observe("topic", 0, kT0 + 32 * kS);  // watermark = t0 + 2 s
  c.Advance(alerts);
  EXPECT_EQ(alerts.size(), 1u);
  EXPECT_EQ(c.watermark(), kT0 + 2 * kS);
}

TEST(Watermark, RecordsOlderThanTheWatermarkAreLateAndNotCounted) {
  RuleSet rs = MakeRules(CorrelationType::kEventCount, {0}, 600 * kS, Gte(2));
  CorrelatorOptions o;
  o.allowed_lateness = 30 * kS;
  Correlator c(rs, o);
  c.Observe("topic", 0, kT0 + 100 * kS);
  EXPECT_TRUE(c.Add(Sig(kT0 + 100 * kS, "u")));
  c.Observe("topic", 0, kT0 + 10 * kS);
  EXPECT_FALSE(c.Add(Sig(kT0 + 10 * kS, "u"))) << "90 s late with 30 s allowed";
  c.Observe("topic", 0, kT0 + 75 * kS);
  EXPECT_TRUE(c.Add(Sig(kT0 + 75 * kS, "u"))) << "25 s late is within the lateness";
  std::vector<Alert> alerts;
  c.Flush(alerts);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].count, 2);
  EXPECT_EQ(c.stats().late_signals, 1u);
}

TEST(Watermark, IsTheSlowestActiveStreamAndIgnoresIdleOnes) {
  RuleSet rs = MakeRules(CorrelationType::kEventCount, {0}, 60 * kS, Gte(2));
  CorrelatorOptions o;
  o.allowed_lateness = 0;
  Correlator c(rs, o);
  std::vector<Alert> alerts;
  c.Observe("t", 0, kT0 + 100 * kS);
  c.Observe("t", 1, kT0 + 10 * kS);
  c.Advance(alerts);
  EXPECT_EQ(c.watermark(), kT0 + 10 * kS);
  // Partition 1 is not late just because partition 0 ran ahead.
  EXPECT_TRUE(c.Add(Sig(kT0 + 20 * kS, "u")));
  c.MarkIdle("t", 1);
  c.Advance(alerts);
  EXPECT_EQ(c.watermark(), kT0 + 100 * kS);
}

TEST(Watermark, OutOfOrderArrivalWithinLatenessGivesTheSameAlerts) {
  RuleSet rs = MakeRules(CorrelationType::kEventCount, {0}, 10 * kS, Gte(3));
  std::vector<Signal> ordered;
  for (int i = 0; i < 200; ++i) {
    ordered.push_back(Sig(kT0 + i * kS, i % 3 == 0 ? "alice" : "bob", 0, "", i));
  }
  auto ids = [&](std::vector<Signal> in) {
    CorrelatorOptions o;
    o.allowed_lateness = 30 * kS;
    Correlator c(rs, o);
    std::vector<Hash128> out;
    for (const auto& a : Feed(c, std::move(in))) out.push_back(a.id);
    EXPECT_EQ(c.stats().late_signals, 0u);
    return out;
  };
  const auto expected = ids(ordered);
  ASSERT_FALSE(expected.empty());
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    // Shuffle within blocks of 20 records (20 s of event time, under the 30 s lateness).
    auto shuffled = ordered;
    for (size_t start = 0; start < shuffled.size(); start += 20) {
      std::shuffle(shuffled.begin() + static_cast<long>(start),
                   shuffled.begin() + static_cast<long>(std::min(start + 20, shuffled.size())), rng);
    }
    EXPECT_EQ(ids(shuffled), expected) << "round " << round;
  }
}

TEST(ValueCountWindow, CountsDistinctValuesPerGroup) {
  CountCondition cond = Gte(3);
  RuleSet rs = MakeRules(CorrelationType::kValueCount, {0}, 60 * kS, cond);
  Correlator c(rs, {});
  const auto alerts = Feed(c, {Sig(kT0, "u", 0, "h1"), Sig(kT0 + kS, "u", 0, "h1"),
                               Sig(kT0 + 2 * kS, "u", 0, "h2"), Sig(kT0 + 3 * kS, "u", 0, "h3")});
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].count, 3);
  EXPECT_EQ(alerts[0].values, (std::vector<std::string>{"h1", "h2", "h3"}));
  EXPECT_EQ(alerts[0].evidence.size(), 4u);
}

TEST(TemporalWindow, FiresWhenEveryReferencedRuleOccursInTheTimespan) {
  RuleSet rs = MakeRules(CorrelationType::kTemporal, {0, 1, 2}, 60 * kS, {});
  Correlator c(rs, {});
  const auto alerts = Feed(c, {Sig(kT0, "u", 2), Sig(kT0 + kS, "u", 0), Sig(kT0 + 2 * kS, "v", 1),
                               Sig(kT0 + 3 * kS, "u", 1)});
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].count, 3);
  EXPECT_EQ(alerts[0].evidence.size(), 3u);
  EXPECT_EQ(alerts[0].condition, "all rules");
}

TEST(TemporalWindow, DoesNotFireWhenARuleFellOutOfTheTimespan) {
  RuleSet rs = MakeRules(CorrelationType::kTemporal, {0, 1}, 60 * kS, {});
  Correlator c(rs, {});
  EXPECT_TRUE(Feed(c, {Sig(kT0, "u", 0), Sig(kT0 + 61 * kS, "u", 1)}).empty());
}

TEST(TemporalOrderedWindow, RequiresTheStepsInTheOrderWritten) {
  RuleSet rs = MakeRules(CorrelationType::kTemporalOrdered, {0, 1, 2}, 60 * kS, {});
  {
    Correlator c(rs, {});
    EXPECT_TRUE(Feed(c, {Sig(kT0, "u", 2), Sig(kT0 + kS, "u", 1), Sig(kT0 + 2 * kS, "u", 0)})
                    .empty());
  }
  {
    Correlator c(rs, {});
    const auto alerts = Feed(c, {Sig(kT0, "u", 0), Sig(kT0 + kS, "u", 2), Sig(kT0 + 2 * kS, "u", 1),
                                 Sig(kT0 + 3 * kS, "u", 2)});
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_EQ(alerts[0].kind, "temporal_ordered");
    EXPECT_EQ(alerts[0].time, kT0 + 3 * kS);
  }
}

TEST(Correlator, EvictsTheOldestGroupAtTheCap) {
  RuleSet rs = MakeRules(CorrelationType::kEventCount, {0}, 600 * kS, Gte(2));
  CorrelatorOptions o;
  o.max_groups_per_rule = 2;
  Correlator c(rs, o);
  Feed(c, {Sig(kT0, "a"), Sig(kT0 + kS, "b"), Sig(kT0 + 2 * kS, "c")});
  EXPECT_EQ(c.open_groups(), 2u);
  EXPECT_EQ(c.stats().evicted_groups, 1u);
}

}  // namespace
}  // namespace tuttle
