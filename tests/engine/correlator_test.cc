// Correlation windows on event time, driven by hand-made signals: no parser, no broker, no clock.

#include "tuttle/engine/correlator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
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
  const auto alerts =
      Feed(c, {Sig(kT0, "alice"), Sig(kT0 + kS, "bob"), Sig(kT0 + 2 * kS, "carol")});
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
                   shuffled.begin() + static_cast<long>(std::min(start + 20, shuffled.size())),
                   rng);
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
    EXPECT_TRUE(
        Feed(c, {Sig(kT0, "u", 2), Sig(kT0 + kS, "u", 1), Sig(kT0 + 2 * kS, "u", 0)}).empty());
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

// --- Several correlations, chains, the metric types and the extensions --------------------------

CorrelationRule Corr(const std::string& id, CorrelationType type, std::vector<uint32_t> steps,
                     TimeNs timespan, CountCondition condition = {}) {
  CorrelationRule c;
  c.info = Info(id);
  c.type = type;
  c.rules = std::move(steps);
  c.group_by = {"user"};
  c.group_by_paths.assign(c.rules.size(), {0});
  c.value_field = "bytes";
  c.value_paths.assign(c.rules.size(), 1);
  c.timespan = timespan;
  c.condition = condition;
  return c;
}

// Detection rules "a", "b", "c" and the given correlations, linked.
RuleSet Rules(std::vector<CorrelationRule> correlations) {
  RuleSet rs;
  for (const char* id : {"a", "b", "c"}) {
    DetectionRule d;
    d.info = Info(id);
    d.info = [&] {
      auto info = Info(id);
      info->name = id;
      return info;
    }();
    rs.detections.push_back(d);
  }
  rs.correlations = std::move(correlations);
  rs.Link();
  return rs;
}

// One record: its event time, the detection rule it matched, its user and value.
struct Rec {
  TimeNs time;
  uint32_t detection;
  std::string user;
  std::string value = "";
  bool missing_value = false;
  int64_t offset = -1;  // the record's offset; by default its place in the input
};

// The signals a record gives, as the pipeline makes them: one per correlation step it feeds.
std::vector<Signal> SignalsOf(const RuleSet& rs, const Rec& r, int64_t offset) {
  std::vector<Signal> out;
  for (const CorrelationUse& use : rs.uses[r.detection]) {
    Signal s;
    s.correlation = use.correlation;
    s.step = use.step;
    s.detection = r.detection;
    s.time = r.time;
    s.position = SourcePosition{"topic", 0, offset};
    s.record_id = Hasher().Add(r.time).Add(r.user).Add(offset).Add(r.value).Finish();
    s.group = {r.user};
    s.value = r.value;
    s.missing_value = r.missing_value;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<Alert> Replay(Correlator& c, const RuleSet& rs, const std::vector<Rec>& recs) {
  std::vector<Alert> alerts;
  int64_t offset = 0;
  for (const Rec& r : recs) {
    c.Observe("topic", 0, r.time);
    for (Signal& s : SignalsOf(rs, r, r.offset >= 0 ? r.offset : offset)) c.Add(std::move(s));
    ++offset;
    c.Advance(alerts);
  }
  c.Flush(alerts);
  return alerts;
}

std::vector<Alert> Replay(const RuleSet& rs, const std::vector<Rec>& recs) {
  Correlator c(rs, {});
  return Replay(c, rs, recs);
}

CountCondition Lt(double n) {
  CountCondition c;
  c.lt = n;
  return c;
}

TEST(Episode, TwentyFirstToThirtyNinthEventsDoNotAlertAndTheFortiethDoesAtTheBoundary) {
  const TimeNs span = 60 * kS;
  RuleSet rs = Rules({Corr("c", CorrelationType::kEventCount, {0}, span, Gte(20))});
  for (const TimeNs extra : {TimeNs{0}, TimeNs{1}}) {
    // Events 1..20 at t0 + i ms; 21 at t1; 22..39 just after; 40 at t1 + span (+ extra).
    std::vector<Rec> in;
    for (int i = 0; i < 20; ++i) in.push_back({kT0 + i * kNsPerMs, 0, "u"});
    const TimeNs t1 = kT0 + 10 * kS;
    for (int i = 0; i < 19; ++i) in.push_back({t1 + i * kNsPerMs, 0, "u"});
    in.push_back({t1 + span + extra, 0, "u"});
    const auto alerts = Replay(rs, in);
    if (extra == 0) {
      // The 21st opened the second episode and is still in the 40th's window: both ends count.
      ASSERT_EQ(alerts.size(), 2u);
      EXPECT_EQ(alerts[1].window_start, t1);
      EXPECT_EQ(alerts[1].window_end, t1 + span);
      EXPECT_EQ(alerts[1].count, 20);
    } else {
      EXPECT_EQ(alerts.size(), 1u) << "the 21st left the window one nanosecond before the 40th";
    }
    EXPECT_EQ(alerts[0].count, 20);
    EXPECT_EQ(alerts[0].time, kT0 + 19 * kNsPerMs);
  }
}

TEST(Episode, EveryTypeFiresOncePerEpisode) {
  const TimeNs span = 60 * kS;
  CountCondition sum;
  sum.gte = 30;
  CountCondition two = Gte(2);
  RuleSet rs = Rules({Corr("count", CorrelationType::kEventCount, {0}, span, Gte(3)),
                      Corr("values", CorrelationType::kValueCount, {0}, span, two),
                      Corr("sum", CorrelationType::kValueSum, {0}, span, sum),
                      Corr("temporal", CorrelationType::kTemporal, {0, 1}, span),
                      Corr("ordered", CorrelationType::kTemporalOrdered, {0, 1}, span)});
  // a a a b a a b b: each type's condition first holds early, then keeps holding.
  std::vector<Rec> in;
  const char* seq = "aaabaabb";
  for (int i = 0; i < 8; ++i) {
    in.push_back(
        {kT0 + i * kS, static_cast<uint32_t>(seq[i] - 'a'), "u", std::to_string(10 + i % 2)});
  }
  std::map<std::string, int> per_rule;
  for (const Alert& a : Replay(rs, in)) ++per_rule[a.rule->id];
  // count: the 3rd a fires; the 4th and 5th a are a new episode that never reaches 3.
  EXPECT_EQ(per_rule["count"], 1);
  // values (10 or 11 alternately): 2 distinct at the 2nd a, then again at the 5th.
  EXPECT_EQ(per_rule["values"], 2);
  // sum: 10 + 11 + 10 = 31 at the 3rd a; then 10 + 11 = 21.
  EXPECT_EQ(per_rule["sum"], 1);
  // temporal: {a, b} at the first b; then a a b again at the second.
  EXPECT_EQ(per_rule["temporal"], 2);
  EXPECT_EQ(per_rule["ordered"], 2);
}

TEST(WindowClose, UpperBoundsAreCheckedWhenTheWatermarkPassesTheWindowEnd) {
  const TimeNs span = 60 * kS;
  RuleSet rs = Rules({Corr("few", CorrelationType::kEventCount, {0}, span, Lt(3))});
  CorrelatorOptions o;
  o.allowed_lateness = 0;
  Correlator c(rs, o);
  std::vector<Alert> alerts;
  int64_t offset = 0;
  auto add = [&](TimeNs t) {
    c.Observe("topic", 0, t);
    for (Signal& s : SignalsOf(rs, Rec{t, 0, "u"}, offset++)) c.Add(std::move(s));
    c.Advance(alerts);
  };
  add(kT0);
  add(kT0 + span);  // the window's end: still inside
  EXPECT_TRUE(alerts.empty()) << "a window is checked only once the watermark passes its end";
  c.Observe("topic", 0, kT0 + span + 1);
  c.Advance(alerts);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].count, 2);
  EXPECT_EQ(alerts[0].time, kT0 + span);
  EXPECT_EQ(alerts[0].window_start, kT0);
  EXPECT_EQ(alerts[0].window_end, kT0 + span);
  EXPECT_EQ(alerts[0].evidence.size(), 2u);
  EXPECT_EQ(alerts[0].condition, "< 3");
  // The episode ended: a third event one nanosecond later opens a new one.
  add(kT0 + span + 1);
  for (int i = 0; i < 3; ++i) add(kT0 + span + 2 + i);
  c.Flush(alerts);
  EXPECT_EQ(alerts.size(), 1u) << "four events in the second episode: not fewer than 3";
}

TEST(WindowClose, EqualityCountsTheWholeWindow) {
  const TimeNs span = 60 * kS;
  CountCondition eq;
  eq.eq = 3;
  RuleSet rs = Rules({Corr("three", CorrelationType::kEventCount, {0}, span, eq)});
  // Three at once would fire a sliding check at the 3rd; the 4th inside the window prevents it.
  EXPECT_TRUE(
      Replay(rs, {{kT0, 0, "u"}, {kT0 + kS, 0, "u"}, {kT0 + 2 * kS, 0, "u"}, {kT0 + span, 0, "u"}})
          .empty());
  const auto alerts = Replay(
      rs, {{kT0, 0, "u"}, {kT0 + kS, 0, "u"}, {kT0 + 2 * kS, 0, "u"}, {kT0 + span + 1, 0, "u"}});
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].count, 3);
}

TEST(ValueSum, FiresOnTheSignalThatReachesTheBoundAndIgnoresNonNumbers) {
  CountCondition gt;
  gt.gt = 1000;
  RuleSet rs = Rules({Corr("exfil", CorrelationType::kValueSum, {0}, 60 * kS, gt)});
  Correlator c(rs, {});
  const auto alerts = Replay(c, rs,
                             {{kT0, 0, "u", "400"},
                              {kT0 + kS, 0, "u", "lots"},
                              {kT0 + 2 * kS, 0, "u", "", true},
                              {kT0 + 3 * kS, 0, "u", "600"},  // 1000: not > 1000
                              {kT0 + 4 * kS, 0, "u", "0.5"},
                              {kT0 + 5 * kS, 0, "u", "7"}});
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].time, kT0 + 4 * kS);
  ASSERT_TRUE(alerts[0].value.has_value());
  EXPECT_DOUBLE_EQ(*alerts[0].value, 1000.5);
  EXPECT_EQ(alerts[0].field, "bytes");
  EXPECT_EQ(alerts[0].numeric, 3);
  EXPECT_EQ(alerts[0].evidence.size(), 3u) << "non-numeric records are not evidence";
  EXPECT_EQ(alerts[0].condition, "sum(bytes) > 1000");
  const auto j = nlohmann::json::parse(AlertToOcsfJson(alerts[0]));
  EXPECT_EQ(j["class_uid"], 2004);
  EXPECT_EQ(j["unmapped"]["tuttle"]["field"], "bytes");
  EXPECT_DOUBLE_EQ(j["unmapped"]["tuttle"]["value"].get<double>(), 1000.5);
  EXPECT_EQ(j["unmapped"]["tuttle"]["numeric_values"], 3);
  EXPECT_EQ(j["evidences"].size(), 3u);
  EXPECT_EQ(c.stats().non_numeric_values, 1u);
  EXPECT_EQ(c.stats().missing_value_field, 1u);
}

TEST(ValueSum, ValuesLeaveTheSumAsTheWindowSlides) {
  CountCondition gte;
  gte.gte = 100;
  RuleSet rs = Rules({Corr("s", CorrelationType::kValueSum, {0}, 10 * kS, gte)});
  // 60 at t0 has left the window of t0 + 10 s + 1 ns: 30 + 45.
  EXPECT_TRUE(
      Replay(rs,
             {{kT0, 0, "u", "60"}, {kT0 + 5 * kS, 0, "u", "30"}, {kT0 + 10 * kS + 1, 0, "u", "45"}})
          .empty());
  const auto alerts = Replay(
      rs, {{kT0, 0, "u", "60"}, {kT0 + 5 * kS, 0, "u", "30"}, {kT0 + 10 * kS, 0, "u", "10"}});
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_DOUBLE_EQ(*alerts[0].value, 100);
}

TEST(ValueAvg, IsTheAverageOfTheWholeEpisodeWindow) {
  const TimeNs span = 60 * kS;
  CountCondition gt;
  gt.gt = 250;
  RuleSet rs = Rules({Corr("avg", CorrelationType::kValueAvg, {0}, span, gt)});
  // The first value alone, or the first two, would pass; the window's average does not:
  // (600 + 10 + 20) / 3 = 210.
  EXPECT_TRUE(
      Replay(rs, {{kT0, 0, "u", "600"}, {kT0 + kS, 0, "u", "10"}, {kT0 + span, 0, "u", "20"}})
          .empty());
  // One nanosecond later 20 belongs to the next episode (whose average, 20, does not pass).
  const auto alerts =
      Replay(rs, {{kT0, 0, "u", "600"}, {kT0 + kS, 0, "u", "10"}, {kT0 + span + 1, 0, "u", "20"}});
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_DOUBLE_EQ(*alerts[0].value, 305);
  EXPECT_EQ(alerts[0].numeric, 2);
  EXPECT_EQ(alerts[0].time, kT0 + span);
  EXPECT_EQ(alerts[0].condition, "avg(bytes) > 250");
}

TEST(ValuePercentile, InterpolatesBetweenClosestRanks) {
  CountCondition gte;
  gte.gte = 9.1;
  CorrelationRule p90 = Corr("p90", CorrelationType::kValuePercentile, {0}, 60 * kS, gte);
  p90.percentile = 90;
  CountCondition lte;
  lte.lte = 2.5;
  CorrelationRule median = Corr("median", CorrelationType::kValuePercentile, {1}, 60 * kS, lte);
  median.percentile = 50;
  RuleSet rs = Rules({p90, median});
  std::vector<Rec> in;
  // Values 1..10 for p90: rank 0.9 * (10 - 1) = 8.1, between the 9th and 10th values: 9.1.
  for (int v : {7, 3, 10, 1, 5, 9, 2, 8, 4, 6})
    in.push_back({kT0 + v * kS, 0, "u", std::to_string(v)});
  // 1, 2, 3, 4 for the median: 2.5.
  for (int v : {4, 1, 3, 2}) in.push_back({kT0 + v * kS, 1, "u", std::to_string(v)});
  std::sort(in.begin(), in.end(), [](const Rec& x, const Rec& y) { return x.time < y.time; });
  const auto alerts = Replay(rs, in);
  ASSERT_EQ(alerts.size(), 2u);
  std::map<std::string, double> got;
  for (const Alert& a : alerts) got[a.rule->id] = *a.value;
  EXPECT_DOUBLE_EQ(got["p90"], 9.1);
  EXPECT_DOUBLE_EQ(got["median"], 2.5);
  for (const Alert& a : alerts) {
    if (a.rule->id == "p90") {
      EXPECT_EQ(a.condition, "p90(bytes) >= 9.1");
    }
  }
}

TEST(TemporalBoolean, NotMeansTheRuleDidNotOccurInTheEpisodeWindow) {
  const TimeNs span = 60 * kS;
  CorrelationRule c = Corr("a and not c", CorrelationType::kTemporal, {0, 2}, span);
  StepExpr a{StepExpr::Op::kStep, 0, {}};
  StepExpr not_c{StepExpr::Op::kNot, 0, {StepExpr{StepExpr::Op::kStep, 1, {}}}};
  c.step_condition = StepExpr{StepExpr::Op::kAnd, 0, {a, not_c}};
  c.condition_text = "a and not c";
  RuleSet rs = Rules({c});
  // c at the window's end still counts; one nanosecond later it is the next episode's.
  EXPECT_TRUE(Replay(rs, {{kT0, 0, "u"}, {kT0 + span, 2, "u"}}).empty());
  const auto alerts = Replay(rs, {{kT0, 0, "u"}, {kT0 + span + 1, 2, "u"}});
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].condition, "a and not c");
  EXPECT_EQ(alerts[0].time, kT0 + span);
  EXPECT_EQ(alerts[0].evidence.size(), 1u);
}

// "Image deployed with no scan in the 24 h before": steps [scan (absent), deploy].
TEST(Absence, LeadingAbsentStepFiresWhenTheWatermarkPassesTheDeployment) {
  const TimeNs day = 24 * 3600 * kS;
  CorrelationRule c = Corr("unscanned", CorrelationType::kTemporalOrdered, {0, 1}, day);
  c.absent = {true, false};
  RuleSet rs = Rules({c});
  // A scan exactly 24 h before counts (the window includes both ends).
  EXPECT_TRUE(Replay(rs, {{kT0, 0, "img"}, {kT0 + day, 1, "img"}}).empty());
  // A scan at the same instant as the deployment counts too, whatever the records' order.
  EXPECT_TRUE(Replay(rs, {{kT0 + day, 1, "img"}, {kT0 + day, 0, "img"}}).empty());
  EXPECT_TRUE(Replay(rs, {{kT0 + day, 0, "img"}, {kT0 + day, 1, "img"}}).empty());

  CorrelatorOptions o;
  o.allowed_lateness = 0;
  Correlator corr(rs, o);
  std::vector<Alert> alerts;
  int64_t offset = 0;
  for (const Rec& r : std::vector<Rec>{{kT0, 0, "img"}, {kT0 + day + 1, 1, "img"}}) {
    corr.Observe("topic", 0, r.time);
    for (Signal& s : SignalsOf(rs, r, offset++)) corr.Add(std::move(s));
    corr.Advance(alerts);
  }
  EXPECT_TRUE(alerts.empty()) << "a scan at the deployment's instant could still arrive";
  corr.Observe("topic", 0, kT0 + day + 2);
  corr.Advance(alerts);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].time, kT0 + day + 1);
  EXPECT_EQ(alerts[0].window_start, kT0 + 1);
  EXPECT_EQ(alerts[0].window_end, kT0 + day + 1);
  EXPECT_EQ(alerts[0].evidence.size(), 1u);
  EXPECT_EQ(alerts[0].condition, "not a -> b");
}

// "Deployed, and not scanned within the next hour": steps [deploy, scan (absent)].
TEST(Absence, TrailingAbsentStepWaitsForTheWholeWindow) {
  const TimeNs hour = 3600 * kS;
  CorrelationRule c = Corr("never scanned", CorrelationType::kTemporalOrdered, {1, 0}, hour);
  c.absent = {false, true};
  RuleSet rs = Rules({c});
  EXPECT_TRUE(Replay(rs, {{kT0, 1, "img"}, {kT0 + hour, 0, "img"}}).empty());
  const auto alerts = Replay(rs, {{kT0, 1, "img"}, {kT0 + hour + 1, 0, "img"}});
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].time, kT0 + hour);
  EXPECT_EQ(alerts[0].window_start, kT0);
  // Two deployments in one window are one episode: one alert.
  EXPECT_EQ(Replay(rs, {{kT0, 1, "img"}, {kT0 + kS, 1, "img"}}).size(), 1u);
}

TEST(Absence, AStepBetweenTwoMustNotOccurBetweenThem) {
  CorrelationRule c =
      Corr("a then c without b", CorrelationType::kTemporalOrdered, {0, 1, 2}, 60 * kS);
  c.absent = {false, true, false};
  RuleSet rs = Rules({c});
  EXPECT_TRUE(Replay(rs, {{kT0, 0, "u"}, {kT0 + kS, 1, "u"}, {kT0 + 2 * kS, 2, "u"}}).empty());
  // b before a is not between them.
  EXPECT_EQ(Replay(rs, {{kT0, 1, "u"}, {kT0 + kS, 0, "u"}, {kT0 + 2 * kS, 2, "u"}}).size(), 1u);
  // A later a restarts the sequence after the b.
  EXPECT_EQ(
      Replay(rs,
             {{kT0, 0, "u"}, {kT0 + kS, 1, "u"}, {kT0 + 2 * kS, 0, "u"}, {kT0 + 3 * kS, 2, "u"}})
          .size(),
      1u);
}

TEST(Suppression, KeepsCountingAndReportsWhatItHeldBackInTheNextAlert) {
  const TimeNs quarter = 15 * 60 * kS;
  CorrelationRule c = Corr("noisy", CorrelationType::kEventCount, {0}, 60 * kS, Gte(1));
  c.suppress = quarter;
  RuleSet rs = Rules({c});
  Correlator corr(rs, {});
  const auto alerts =
      Replay(corr, rs,
             {{kT0, 0, "u"},
              {kT0 + 5 * 60 * kS, 0, "u"},
              {kT0 + 6 * 60 * kS, 0, "other"},  // another group is not suppressed by u's alert
              {kT0 + quarter, 0, "u"},          // the period includes its end
              {kT0 + quarter + 1, 0, "u"}});
  ASSERT_EQ(alerts.size(), 3u);
  EXPECT_EQ(alerts[0].suppressed, 0);
  EXPECT_EQ(alerts[1].group[0].second, "other");
  EXPECT_EQ(alerts[2].time, kT0 + quarter + 1);
  EXPECT_EQ(alerts[2].suppressed, 2);
  EXPECT_EQ(alerts[2].suppressed_first, kT0 + 5 * 60 * kS);
  EXPECT_EQ(alerts[2].suppressed_last, kT0 + quarter);
  EXPECT_EQ(corr.stats().suppressed_alerts, 2u);
  EXPECT_EQ(corr.stats().alerts, 3u);
  const auto j = nlohmann::json::parse(AlertToOcsfJson(alerts[2]));
  EXPECT_EQ(j["unmapped"]["tuttle"]["suppressed"]["count"], 2);
  EXPECT_EQ(j["unmapped"]["tuttle"]["suppressed"]["first"], FormatTimestampNs(kT0 + 5 * 60 * kS));
}

// inner: two `a` per user within 10 s; outer: an inner alert, then `b`, within a minute.
RuleSet ChainRules(bool generate) {
  CorrelationRule inner = Corr("inner", CorrelationType::kEventCount, {0}, 10 * kS, Gte(2));
  inner.info = [] {
    auto info = Info("inner");
    info->name = "inner";
    return info;
  }();
  CorrelationRule outer = Corr("outer", CorrelationType::kTemporalOrdered, {0, 1}, 60 * kS);
  outer.step_kinds = {StepKind::kCorrelation, StepKind::kDetection};
  outer.group_by_paths = {{0}, {0}};  // step 0: the inner alert's first group-by value
  outer.generate = generate;
  return Rules({inner, outer});
}

TEST(Chains, AnInnerAlertIsASignalOfTheOuterCorrelation) {
  RuleSet rs = ChainRules(false);
  EXPECT_FALSE(rs.correlations[0].emits_alerts);
  EXPECT_EQ(rs.correlations[1].level, 1u);
  Correlator c(rs, {});
  const auto alerts = Replay(c, rs,
                             {{kT0, 1, "u"},  // b before the inner alert: not in order
                              {kT0 + kS, 0, "u"},
                              {kT0 + 2 * kS, 0, "v"},
                              {kT0 + 3 * kS, 0, "u"},  // inner fires for u at t0 + 3 s
                              {kT0 + 4 * kS, 1, "v"},
                              {kT0 + 63 * kS, 1, "u"}});  // the inner alert's time is the boundary
  ASSERT_EQ(alerts.size(), 1u) << "the intermediate correlation does not alert by itself";
  const Alert& a = alerts[0];
  EXPECT_EQ(a.rule->id, "outer");
  EXPECT_EQ(a.group[0], (std::pair<std::string, std::string>{"user", "u"}));
  ASSERT_EQ(a.evidence.size(), 3u) << "the inner alert's records, then b's";
  EXPECT_EQ(a.evidence[0].time, kT0 + kS);
  EXPECT_EQ(a.evidence[1].time, kT0 + 3 * kS);
  EXPECT_EQ(a.evidence[2].time, kT0 + 63 * kS);
  EXPECT_EQ(a.evidence[0].rule->id, "a");
  ASSERT_EQ(a.chained.size(), 1u);
  EXPECT_EQ(c.stats().chained_alerts, 1u);
  // One nanosecond later the inner alert has left the outer window.
  EXPECT_TRUE(Replay(rs, {{kT0 + kS, 0, "u"}, {kT0 + 3 * kS, 0, "u"}, {kT0 + 63 * kS + 1, 1, "u"}})
                  .empty());
}

TEST(Chains, GenerateLetsTheIntermediateCorrelationAlertToo) {
  RuleSet rs = ChainRules(true);
  const auto alerts =
      Replay(rs, {{kT0 + kS, 0, "u"}, {kT0 + 3 * kS, 0, "u"}, {kT0 + 4 * kS, 1, "u"}});
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].rule->id, "inner");
  EXPECT_EQ(alerts[1].rule->id, "outer");
  EXPECT_EQ(alerts[1].chained[0], alerts[0].id);
}

TEST(Chains, ARouterReceivesChainedSignalsForAnotherShard) {
  RuleSet rs = ChainRules(false);
  CorrelatorOptions o;
  std::vector<Signal> routed;
  o.chain_router = [&](Signal s) { routed.push_back(std::move(s)); };
  Correlator shard(rs, o);
  EXPECT_TRUE(
      Replay(shard, rs, {{kT0 + kS, 0, "u"}, {kT0 + 3 * kS, 0, "u"}, {kT0 + 4 * kS, 1, "u"}})
          .empty());
  ASSERT_EQ(routed.size(), 1u);
  EXPECT_EQ(routed[0].correlation, 1u);
  EXPECT_EQ(routed[0].group, std::vector<std::string>{"u"});
  EXPECT_EQ(routed[0].time, kT0 + 3 * kS);
  // The owning shard adds it; chained signals are never late.
  Correlator owner(rs, {});
  std::vector<Alert> alerts;
  owner.AddChained(routed[0]);
  for (Signal& s : SignalsOf(rs, Rec{kT0 + 4 * kS, 1, "u"}, 9)) owner.Add(std::move(s));
  owner.Flush(alerts);
  EXPECT_EQ(alerts.size(), 1u);
}

// Every type, chains and the extensions: shuffling records within the lateness changes neither
// the alerts nor their order.
TEST(Determinism, ShufflingWithinTheLatenessGivesTheSameAlertsForEveryType) {
  const TimeNs span = 10 * kS;
  CountCondition sum;
  sum.gt = 40;
  CountCondition avg;
  avg.gte = 5;
  CountCondition range;
  range.gte = 2;
  range.lte = 3;
  CorrelationRule pct = Corr("pct", CorrelationType::kValuePercentile, {0, 1}, span, avg);
  pct.percentile = 75;
  CorrelationRule absent = Corr("absent", CorrelationType::kTemporalOrdered, {2, 0}, 2 * kS);
  absent.absent = {true, false};
  CorrelationRule suppressed = Corr("suppressed", CorrelationType::kEventCount, {1}, span, Gte(2));
  suppressed.suppress = 20 * kS;
  CorrelationRule inner = Corr("inner", CorrelationType::kValueCount, {0, 1}, span, Gte(2));
  CorrelationRule outer = Corr("outer", CorrelationType::kEventCount, {9, 2}, 30 * kS, Gte(2));
  outer.step_kinds = {StepKind::kCorrelation, StepKind::kDetection};
  outer.group_by_paths = {{0}, {0}};
  RuleSet rs = Rules({Corr("count", CorrelationType::kEventCount, {0}, span, Gte(3)),
                      Corr("range", CorrelationType::kEventCount, {1}, span, range),
                      Corr("sum", CorrelationType::kValueSum, {0, 2}, span, sum),
                      Corr("avg", CorrelationType::kValueAvg, {1}, span, avg), pct,
                      Corr("temporal", CorrelationType::kTemporal, {0, 1, 2}, span),
                      Corr("ordered", CorrelationType::kTemporalOrdered, {0, 1}, span), absent,
                      suppressed, inner, outer});
  std::mt19937 gen(7);
  std::vector<Rec> ordered;
  for (int i = 0; i < 300; ++i) {
    // Several records share an event time, so the order within one instant matters too.
    std::string user = "u";  // (not "u" + ...: GCC 12's -Wrestrict false positive at -O3)
    user += std::to_string(gen() % 3);
    ordered.push_back({kT0 + (i / 3) * kS, static_cast<uint32_t>(gen() % 3), std::move(user),
                       std::to_string(gen() % 12), false, i});
  }
  auto run = [&](const std::vector<Rec>& in) {
    CorrelatorOptions o;
    o.allowed_lateness = 30 * kS;
    Correlator c(rs, o);
    std::vector<std::string> out;
    for (const Alert& a : Replay(c, rs, in)) {
      std::string line = a.rule->id;
      line += ' ';
      line += a.id.Hex();
      line += ' ';
      line += std::to_string(a.suppressed);
      out.push_back(std::move(line));
    }
    EXPECT_EQ(c.stats().late_signals, 0u);
    return out;
  };
  const auto expected = run(ordered);
  std::map<std::string, int> per_rule;
  for (const auto& line : expected) ++per_rule[line.substr(0, line.find(' '))];
  for (const char* id : {"count", "range", "sum", "avg", "pct", "temporal", "ordered", "absent",
                         "suppressed", "outer"}) {
    EXPECT_GT(per_rule[id], 0) << id << " never fired: the test would not see it change";
  }
  for (int round = 0; round < 10; ++round) {
    auto shuffled = ordered;
    for (size_t start = 0; start < shuffled.size(); start += 45) {  // 15 s of event time
      std::shuffle(shuffled.begin() + static_cast<long>(start),
                   shuffled.begin() + static_cast<long>(std::min(start + 45, shuffled.size())),
                   gen);
    }
    EXPECT_EQ(run(shuffled), expected) << "round " << round;
  }
}

}  // namespace
}  // namespace tuttle
