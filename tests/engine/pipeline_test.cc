// The oneTBB pipeline end to end with small test doubles for the parser, detector and source:
// results must not depend on thread count or batch size.

#include "tuttle/engine/pipeline.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <charconv>
#include <map>
#include <random>
#include <mutex>

namespace tuttle {
namespace {

constexpr TimeNs kS = kNsPerSecond;

// Records are "seconds,user,action" lines; paths: 0 user, 1 action.
class CsvParser final : public RecordParser {
 public:
  explicit CsvParser(std::shared_ptr<const FieldCatalog> catalog) : catalog_(std::move(catalog)) {}

  class W final : public Worker {
   public:
    Status Parse(std::string_view record, const RecordMeta& meta, EventHandler& handler) override {
      const size_t c1 = record.find(',');
      const size_t c2 = record.find(',', c1 + 1);
      if (record.starts_with("parts:")) {  // a batch whose second part is unreadable
        handler.OnRejectedPart(record.substr(6), "no event time: second part");
        return Ok();
      }
      if (c1 == std::string_view::npos || c2 == std::string_view::npos) {
        return Error("not a csv record");
      }
      int64_t seconds = 0;
      auto [p, ec] = std::from_chars(record.data(), record.data() + c1, seconds);
      if (ec != std::errc()) return Error("bad time");
      table_.Clear();
      table_.Add(0, ValueKind::kString, record.substr(c1 + 1, c2 - c1 - 1));
      table_.Add(1, ValueKind::kString, record.substr(c2 + 1));
      Event e;
      e.raw = record;
      e.meta = &meta;
      e.record_id = HashBytes(record);
      e.time = seconds * kS;
      e.log_source = LogSource{"test", {}, {}};
      e.fields = &table_;
      handler.OnEvent(e);
      return Ok();
    }

   private:
    FieldTable table_;
  };
  std::unique_ptr<Worker> NewWorker() const override { return std::make_unique<W>(); }

 private:
  std::shared_ptr<const FieldCatalog> catalog_;
};

// Rule r matches when action == actions[r].
class ActionDetector final : public Detector {
 public:
  explicit ActionDetector(std::vector<std::string> actions) : actions_(std::move(actions)) {}
  class W final : public Worker {
   public:
    explicit W(const std::vector<std::string>& actions) : actions_(actions) {}
    void Match(const Event& e, std::vector<uint32_t>& matched) override {
      const FieldValue* v = e.fields->Find(1);
      for (uint32_t r = 0; r < actions_.size(); ++r) {
        if (v != nullptr && v->text == actions_[r]) matched.push_back(r);
      }
    }
    const std::vector<std::string>& actions_;
  };
  std::unique_ptr<Worker> NewWorker() const override { return std::make_unique<W>(actions_); }

 private:
  std::vector<std::string> actions_;
};

class VectorSource final : public RecordSource {
 public:
  VectorSource(std::vector<std::string> lines, size_t batch) : lines_(std::move(lines)), batch_(batch) {}
  Result<bool> Next(RecordBatch& b) override {
    if (next_ >= lines_.size()) return false;
    const uint32_t src = b.InternSource("mem");
    while (next_ < lines_.size() && b.size() < batch_) {
      b.Add(lines_[next_], RecordMeta{src, -1, static_cast<int64_t>(next_ + 1), kNoTime});
      ++next_;
    }
    return true;
  }
  Status Commit(const std::vector<SourcePosition>& p) override {
    if (!p.empty()) last_commit = p.back().offset;
    return Ok();
  }
  void Stop() override {}
  int64_t last_commit = 0;

 private:
  std::vector<std::string> lines_;
  size_t batch_;
  size_t next_ = 0;
};

class CollectSink final : public AlertSink {
 public:
  Status Write(const BatchOutput& b) override {
    for (const auto& a : b.alerts) alerts.push_back(a);
    for (const auto& d : b.dead_letters) dead.push_back(d);
    return Ok();
  }
  std::vector<Alert> alerts;
  std::vector<DeadLetter> dead;
};

RuleSet MakeRules() {
  RuleSet rs;
  auto catalog = std::make_shared<FieldCatalog>();
  catalog->Intern("user");
  catalog->Intern("action");
  rs.catalog = catalog;
  for (const char* id : {"login_failed", "login_ok", "delete"}) {
    DetectionRule d;
    auto info = std::make_shared<RuleInfo>();
    info->id = id;
    info->title = id;
    info->level = Level::kLow;
    d.info = info;
    rs.detections.push_back(d);
  }
  CorrelationRule brute;
  auto info = std::make_shared<RuleInfo>();
  info->id = "brute_force";
  info->title = "Brute force then login";
  info->level = Level::kHigh;
  info->tags = {"attack.credential-access", "attack.t1110"};
  brute.info = info;
  brute.type = CorrelationType::kEventCount;
  brute.rules = {0};
  brute.group_by = {"user"};
  brute.group_by_paths = {{0}};
  brute.timespan = 60 * kS;
  brute.condition.gte = 5;
  rs.correlations.push_back(brute);
  rs.detector = std::make_unique<ActionDetector>(
      std::vector<std::string>{"login_failed", "login_ok", "delete"});
  rs.Link();
  return rs;
}

std::vector<std::string> MakeStream() {
  std::vector<std::string> lines;
  for (int i = 0; i < 3000; ++i) {
    const std::string user = "user" + std::to_string(i % 7);
    const char* action = i % 5 == 0 ? "login_failed" : (i % 97 == 0 ? "delete" : "read");
    lines.push_back(std::to_string(1'700'000'000 + i / 3) + "," + user + "," + action);
  }
  lines.insert(lines.begin() + 1500, "garbage");
  return lines;
}

// MakeRules, and a chain on top: "spray" fires when the brute-force correlation fires for 2
// users within 10 minutes. Its group (none) is not the inner one's (user), so the chain must stay
// in one shard to count across users.
RuleSet MakeChainRules() {
  RuleSet rs = MakeRules();
  CorrelationRule spray;
  auto info = std::make_shared<RuleInfo>();
  info->id = "spray";
  info->title = "Brute force against several users";
  info->level = Level::kCritical;
  spray.info = info;
  spray.type = CorrelationType::kEventCount;
  spray.rules = {0};  // correlation 0: brute_force
  spray.step_kinds = {StepKind::kCorrelation};
  spray.group_by_paths = {{}};
  spray.timespan = 600 * kS;
  spray.condition.gte = 2;
  spray.generate = true;
  rs.correlations.push_back(spray);
  rs.Link();
  return rs;
}

std::vector<std::string> RunLines(std::vector<std::string> lines, int threads, size_t batch,
                                  int shards = 0, PipelineStats* stats_out = nullptr,
                                  CollectSink* sink_out = nullptr,
                                  RuleSet (*make_rules)() = MakeRules) {
  RuleSet rules = make_rules();
  CsvParser parser(rules.catalog);
  PipelineOptions o;
  o.threads = threads;
  o.correlation_shards = shards;
  Pipeline p(rules, parser, o);
  const size_t n = lines.size();
  VectorSource src(std::move(lines), batch);
  CollectSink sink;
  auto stats = p.Run(src, {&sink});
  EXPECT_TRUE(stats.ok());
  std::vector<std::string> out;
  for (const auto& a : sink.alerts) out.push_back(a.id.Hex() + " " + a.kind);
  if (stats_out != nullptr) *stats_out = *stats;
  if (sink_out != nullptr) *sink_out = sink;
  EXPECT_EQ(src.last_commit, static_cast<int64_t>(n));
  return out;
}

std::vector<std::string> RunStream(int threads, size_t batch, PipelineStats* stats_out = nullptr,
                                   CollectSink* sink_out = nullptr) {
  return RunLines(MakeStream(), threads, batch, 0, stats_out, sink_out);
}

TEST(Pipeline, AlertsDoNotDependOnThreadsOrBatchSize) {
  const auto expected = RunStream(1, 1000);
  ASSERT_GT(expected.size(), 20u);
  EXPECT_EQ(RunStream(2, 1000), expected);
  EXPECT_EQ(RunStream(4, 7), expected);
  EXPECT_EQ(RunStream(2, 1), expected);
}

TEST(Pipeline, AlertsAndTheirOrderDoNotDependOnTheNumberOfCorrelationShards) {
  const auto expected = RunLines(MakeStream(), 2, 100, 1);
  ASSERT_GT(expected.size(), 20u);
  EXPECT_EQ(RunLines(MakeStream(), 2, 100, 3), expected);
  EXPECT_EQ(RunLines(MakeStream(), 1, 13, 8), expected);
  EXPECT_EQ(RunLines(MakeStream(), 2, 1000, 64), expected);
}

TEST(Pipeline, ChainsGiveTheSameAlertsWhateverTheShards) {
  const auto expected = RunLines(MakeStream(), 1, 100, 1, nullptr, nullptr, MakeChainRules);
  const auto spray = std::count_if(expected.begin(), expected.end(), [](const std::string& a) {
    return a.ends_with("event_count");
  });
  ASSERT_GT(spray, 20);
  EXPECT_EQ(RunLines(MakeStream(), 2, 100, 8, nullptr, nullptr, MakeChainRules), expected);
  EXPECT_EQ(RunLines(MakeStream(), 2, 7, 3, nullptr, nullptr, MakeChainRules), expected);
  // And the chain adds alerts of its own.
  EXPECT_GT(expected.size(), RunLines(MakeStream(), 1, 100, 1).size());
}

// Property: records reordered within the allowed lateness (30 s; here within blocks of 10 s of
// event time) give the same alerts, with the same ids, whatever the threads, batches and shards.
TEST(Pipeline, ShufflingRecordsWithinTheLatenessKeepsTheAlerts) {
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  const auto expected = sorted(RunLines(MakeStream(), 1, 1000, 1));
  ASSERT_GT(expected.size(), 20u);
  std::mt19937 rng(20261129);
  for (int round = 0; round < 6; ++round) {
    std::vector<std::string> lines = MakeStream();
    for (size_t begin = 0; begin < lines.size(); begin += 30) {  // 30 records: 10 s
      const size_t end = std::min(lines.size(), begin + 30);
      std::shuffle(lines.begin() + static_cast<std::ptrdiff_t>(begin),
                   lines.begin() + static_cast<std::ptrdiff_t>(end), rng);
    }
    const int threads = 1 + round % 2;
    const size_t batch = std::vector<size_t>{1, 7, 64, 500, 3001, 33}[static_cast<size_t>(round)];
    const int shards = std::vector<int>{1, 2, 8, 5, 16, 3}[static_cast<size_t>(round)];
    PipelineStats stats;
    EXPECT_EQ(sorted(RunLines(lines, threads, batch, shards, &stats)), expected)
        << "round " << round << ": " << threads << " threads, batches of " << batch << ", "
        << shards << " shards";
    EXPECT_EQ(stats.late_signals, 0u);
  }
}

TEST(Pipeline, CountsGroupsEvictedAtTheCap) {
  RuleSet rules = MakeRules();
  CsvParser parser(rules.catalog);
  PipelineOptions o;
  o.correlation_shards = 2;
  o.correlator.max_groups_per_rule = 4;  // 2 per shard, for 7 users
  Pipeline p(rules, parser, o);
  VectorSource src(MakeStream(), 100);
  CollectSink sink;
  auto stats = p.Run(src, {&sink});
  ASSERT_TRUE(stats.ok());
  EXPECT_GT(stats->evicted_groups, 0u);
  // Evicted windows restart empty: fewer brute-force alerts than without a cap.
  PipelineStats uncapped;
  RunLines(MakeStream(), 1, 100, 2, &uncapped);
  EXPECT_EQ(uncapped.evicted_groups, 0u);
  EXPECT_LT(stats->correlation_alerts, uncapped.correlation_alerts);
}

TEST(Pipeline, CountsAndDeadLettersUnreadableRecords) {
  PipelineStats stats;
  CollectSink sink;
  RunStream(2, 64, &stats, &sink);
  EXPECT_EQ(stats.records, 3001u);
  EXPECT_EQ(stats.events, 3000u);
  EXPECT_EQ(stats.parse_errors, 1u);
  ASSERT_EQ(sink.dead.size(), 1u);
  EXPECT_EQ(sink.dead[0].kind, DeadLetter::Kind::kParse);
  EXPECT_EQ(sink.dead[0].record, "garbage");
  EXPECT_EQ(sink.dead[0].position.offset, 1501);
  EXPECT_EQ(sink.dead[0].reason, "not a csv record");
  EXPECT_EQ(stats.dead_letter_reasons,
            (std::map<std::string, uint64_t>{{"not a csv record", 1}}));
}

TEST(Pipeline, RejectedPartsOfARecordAreDeadLetteredAloneAndCountedByReason) {
  std::vector<std::string> lines = MakeStream();
  lines.insert(lines.begin() + 10, "parts:{\"b\":2}");
  PipelineStats stats;
  CollectSink sink;
  RunLines(lines, 2, 64, 0, &stats, &sink);
  ASSERT_EQ(sink.dead.size(), 2u);
  EXPECT_EQ(sink.dead[0].record, "{\"b\":2}");
  EXPECT_EQ(sink.dead[0].position.offset, 11);
  EXPECT_EQ(stats.parse_errors, 2u);
  EXPECT_EQ(stats.dead_letter_reasons,
            (std::map<std::string, uint64_t>{{"no event time", 1}, {"not a csv record", 1}}));
}

TEST(Pipeline, AlertsCarryEntitiesInOcsfPlacesWithoutChangingTheirIds) {
  Alert a;
  auto info = std::make_shared<RuleInfo>();
  info->id = "r";
  info->title = "Shell in container";
  a.rule = info;
  a.kind = "single";
  a.time = a.window_start = a.window_end = 1'700'000'000 * kS;
  a.evidence.push_back(Evidence{SourcePosition{"mem", -1, 1}, a.time, Hash128{1, 2}, info});
  const Hash128 before = ComputeAlertId(a);
  a.entities.cluster = "prod";
  a.entities.namespace_name = "payments";
  a.entities.pod = "api-1";
  a.entities.container_id = "3ad7b26ded6d";
  a.entities.image = "registry/api";
  a.entities.image_digest = "sha256:4f1a";
  a.entities.principal = "alice";
  a.entities.source_address = "203.0.113.24";
  a.entities.function_name = "fn";
  a.entities.function_arn = "arn:aws:lambda:eu-west-1:1:function:fn";
  a.entities.tenant = "111122223333";
  EXPECT_EQ(ComputeAlertId(a), before);
  const auto j = nlohmann::json::parse(AlertToOcsfJson(a));
  EXPECT_EQ(j["unmapped"]["tuttle"]["entity"]["namespace"], "payments");
  EXPECT_EQ(j["unmapped"]["tuttle"]["entity"]["tenant"], "111122223333");
  EXPECT_FALSE(j["unmapped"]["tuttle"]["entity"].contains("workload"));
  ASSERT_EQ(j["resources"].size(), 3u);
  EXPECT_EQ(j["resources"][0]["type"], "cluster");
  EXPECT_EQ(j["resources"][1]["type"], "kubernetes pod");
  EXPECT_EQ(j["resources"][1]["namespace"], "payments");
  EXPECT_EQ(j["resources"][2]["uid"], "arn:aws:lambda:eu-west-1:1:function:fn");
  EXPECT_EQ(j["resources"][2]["owner"]["account"]["uid"], "111122223333");
  EXPECT_EQ(j["evidences"][0]["actor"]["user"]["name"], "alice");
  EXPECT_EQ(j["evidences"][0]["src_endpoint"]["ip"], "203.0.113.24");
  EXPECT_EQ(j["evidences"][0]["container"]["uid"], "3ad7b26ded6d");
  EXPECT_EQ(j["evidences"][0]["container"]["image"]["uid"], "sha256:4f1a");

  Alert plain = a;
  plain.entities = {};
  const auto k = nlohmann::json::parse(AlertToOcsfJson(plain));
  EXPECT_FALSE(k.contains("resources"));
  EXPECT_FALSE(k["unmapped"]["tuttle"].contains("entity"));
}

// A source that rejects some of its input (as the CRI assembler does with a truncated sequence):
// a record and a reject, then, on its last call, a reject alone.
class RejectingSource final : public RecordSource {
 public:
  Result<bool> Next(RecordBatch& b) override {
    const uint32_t src = b.InternSource("rejecting");
    ++calls_;
    if (calls_ == 1) {
      b.Add("1,alice,delete", RecordMeta{src, 3, 10, kNoTime});
      b.Reject("raw-11", RecordMeta{src, 3, 11, kNoTime}, "truncated CRI sequence: test");
      return true;
    }
    // Once ended, a source keeps returning false with nothing (the pipeline reads until then).
    if (calls_ == 2) b.Reject("raw-12", RecordMeta{src, 3, 12, kNoTime}, "end of input: test");
    return false;
  }
  Status Commit(const std::vector<SourcePosition>& p) override {
    for (const auto& pos : p) commits.push_back(pos);
    return Ok();
  }
  void Stop() override {}
  std::vector<SourcePosition> commits;

 private:
  int calls_ = 0;
};

TEST(Pipeline, DeadLettersWhatTheSourceRejectedAndCommitsPastIt) {
  RuleSet rs = MakeRules();
  CsvParser parser(rs.catalog);
  PipelineOptions o;
  o.threads = 1;
  Pipeline p(rs, parser, o);
  RejectingSource source;
  CollectSink sink;
  auto stats = p.Run(source, {&sink});
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_EQ(stats->events, 1u);
  EXPECT_EQ(stats->parse_errors, 2u);
  ASSERT_EQ(sink.dead.size(), 2u);
  EXPECT_EQ(sink.dead[0].reason, "truncated CRI sequence: test");
  EXPECT_EQ(sink.dead[0].record, "raw-11");
  EXPECT_EQ(sink.dead[0].position, (SourcePosition{"rejecting", 3, 11}));
  EXPECT_EQ(sink.dead[1].reason, "end of input: test");
  ASSERT_EQ(source.commits.size(), 2u);
  EXPECT_EQ(source.commits[0], (SourcePosition{"rejecting", 3, 11}));
  EXPECT_EQ(source.commits[1], (SourcePosition{"rejecting", 3, 12}));
}

TEST(Pipeline, ReferencedRulesFeedWindowsAndStandaloneRulesAlertAlone) {
  PipelineStats stats;
  CollectSink sink;
  RunStream(2, 100, &stats, &sink);
  size_t single = 0, correlated = 0;
  for (const auto& a : sink.alerts) {
    if (a.kind == "single") {
      ++single;
      EXPECT_EQ(a.rule->id, "delete");  // login_failed is referenced without generate
    } else {
      ++correlated;
      EXPECT_EQ(a.rule->id, "brute_force");
      EXPECT_GE(a.count, 5);
      EXPECT_EQ(a.evidence.size(), static_cast<size_t>(a.count));
    }
  }
  EXPECT_EQ(single, 24u);  // i % 97 == 0 and not i % 5 == 0, for i < 3000
  EXPECT_GT(correlated, 0u);
  EXPECT_EQ(stats.correlation_alerts, correlated);
  EXPECT_EQ(stats.alerts, single + correlated);
}

// A sink that stores evidence records: the pipeline copies the records behind every alert.
class EvidenceSink final : public AlertSink {
 public:
  Status Write(const BatchOutput& b) override {
    for (const auto& a : b.alerts) alerts.push_back(a);
    for (const auto& e : b.evidence) evidence.emplace(e.record_id, e);
    return Ok();
  }
  bool StoresEvidence() const override { return true; }
  std::vector<Alert> alerts;
  std::map<Hash128, EvidenceRecord> evidence;
};

TEST(Pipeline, KeepsTheRecordBehindEveryAlertsEvidenceForSinksThatStoreIt) {
  RuleSet rules = MakeRules();
  CsvParser parser(rules.catalog);
  PipelineOptions o;
  o.threads = 2;
  std::vector<std::string> lines = MakeStream();
  VectorSource src(lines, 64);
  EvidenceSink sink;
  ASSERT_TRUE(Pipeline(rules, parser, o).Run(src, {&sink}).ok());
  ASSERT_GT(sink.alerts.size(), 20u);
  size_t checked = 0;
  for (const Alert& a : sink.alerts) {
    for (const Evidence& e : a.evidence) {
      auto it = sink.evidence.find(e.record_id);
      ASSERT_NE(it, sink.evidence.end()) << a.rule->id << " evidence at line " << e.position.offset;
      EXPECT_EQ(it->second.position, e.position);
      EXPECT_EQ(it->second.record, lines[static_cast<size_t>(e.position.offset - 1)]);
      ++checked;
    }
  }
  EXPECT_GT(checked, 100u);
  // Only matched records: the stream's "read" lines are not kept.
  for (const auto& [id, e] : sink.evidence) {
    EXPECT_EQ(e.record.find(",read"), std::string::npos) << e.record;
  }
  // A sink that does not store evidence gets none.
  VectorSource again(lines, 64);
  class NoEvidence final : public AlertSink {
   public:
    Status Write(const BatchOutput& b) override {
      records += b.evidence.size();
      return Ok();
    }
    size_t records = 0;
  } plain;
  ASSERT_TRUE(Pipeline(rules, parser, o).Run(again, {&plain}).ok());
  EXPECT_EQ(plain.records, 0u);
}

TEST(Pipeline, AlertsAreOcsfDetectionFindings) {
  CollectSink sink;
  RunStream(1, 1000, nullptr, &sink);
  const Alert* corr = nullptr;
  for (const auto& a : sink.alerts) {
    if (a.kind == "event_count") corr = &a;
  }
  ASSERT_NE(corr, nullptr);
  const auto j = nlohmann::json::parse(AlertToOcsfJson(*corr));
  EXPECT_EQ(j["class_uid"], 2004);
  EXPECT_EQ(j["type_uid"], 200401);
  EXPECT_EQ(j["severity_id"], 4);
  EXPECT_EQ(j["finding_info"]["uid"], corr->id.Uuid());
  EXPECT_EQ(j["finding_info"]["title"], "Brute force then login");
  EXPECT_EQ(j["finding_info"]["analytic"]["uid"], "brute_force");
  EXPECT_EQ(j["finding_info"]["attacks"][0]["technique"]["uid"], "T1110");
  EXPECT_EQ(j["finding_info"]["attacks"][0]["tactic"]["uid"], "TA0006");
  EXPECT_EQ(j["unmapped"]["tuttle"]["group_by"]["user"], corr->group[0].second);
  EXPECT_EQ(j["start_time"], corr->window_start / kNsPerMs);
  EXPECT_EQ(j["end_time"], corr->window_end / kNsPerMs);
  ASSERT_EQ(j["evidences"].size(), corr->evidence.size());
  EXPECT_EQ(j["evidences"][0]["data"]["source"], "mem");
  EXPECT_TRUE(j["evidences"][0]["data"].contains("line"));
  EXPECT_EQ(j["evidences"][0]["data"]["rule_uid"], "login_failed");
}

// Checkpoints without a store: a sink that applies them to a map, as the RocksDB store does, and
// keeps alerts only once a checkpoint covers them.
class MemoryCheckpointSink final : public AlertSink, public CheckpointReader {
 public:
  Status Write(const BatchOutput& b) override {
    for (const auto& a : b.alerts) pending_.push_back(a.id.Hex() + " " + a.kind);
    if (!b.checkpoint) return Ok();
    for (const auto& k : b.checkpoint->state.deletes) state.erase(k);
    for (const auto& [k, v] : b.checkpoint->state.puts) state[k] = v;
    for (const auto& s : b.checkpoint->streams) streams[{s.source, s.partition}] = s;
    alerts.insert(alerts.end(), pending_.begin(), pending_.end());
    pending_.clear();
    return Ok();
  }
  Status ForEachState(const std::function<Status(std::string_view, std::string_view)>& fn)
      const override {
    for (const auto& [k, v] : state) {
      Status st = fn(k, v);
      if (!st.ok()) return st;
    }
    return Ok();
  }
  std::map<std::string, std::string> state;
  std::map<std::pair<std::string, int32_t>, StreamCheckpoint> streams;
  std::vector<std::string> alerts;

 private:
  std::vector<std::string> pending_;
};

// Lines [start, stop) of a stream, then Stopped(): an interrupted run.
class InterruptedSource final : public RecordSource {
 public:
  InterruptedSource(const std::vector<std::string>& lines, size_t start, size_t stop)
      : lines_(lines), next_(start), stop_(stop) {}
  Result<bool> Next(RecordBatch& b) override {
    if (next_ >= stop_) return false;
    const uint32_t src = b.InternSource("mem");
    while (next_ < stop_ && b.size() < 50) {
      b.Add(lines_[next_], RecordMeta{src, -1, static_cast<int64_t>(next_ + 1), kNoTime});
      ++next_;
      if (next_ == post_at && rule_switch != nullptr) rule_switch->Post(generation);
    }
    if (next_ >= lines_.size()) b.AddStreamEvent(StreamEvent{src, -1, StreamEvent::Kind::kIdle});
    return true;
  }
  Status Commit(const std::vector<SourcePosition>&) override { return Ok(); }
  void Stop() override {}
  bool Stopped() const override { return stop_ < lines_.size(); }

  // Hot reload tests: when it reaches line `post_at` it posts `generation` to `rule_switch`, so
  // the batch after that one is read under it.
  size_t post_at = 0;
  RuleSwitch* rule_switch = nullptr;
  RuleGeneration generation;

 private:
  const std::vector<std::string>& lines_;
  size_t next_;
  size_t stop_;
};

// Runs the lines from the sink's checkpoint (if any) up to `stop`, with `shards` shards (0: the
// default), under `rules_fn`'s rules; with `post_at` > 0, reloads to `generation` once line
// `post_at` is read.
void RunFromCheckpoint(const std::vector<std::string>& lines, size_t stop, int shards,
                       MemoryCheckpointSink& sink, RuleSet (*rules_fn)() = MakeChainRules,
                       size_t post_at = 0, RuleGeneration generation = {}) {
  RuleSet rules = rules_fn();
  CsvParser parser(rules.catalog);
  RuleSwitch rule_switch;
  PipelineOptions o;
  o.threads = 2;
  o.correlation_shards = shards;
  o.checkpoint.enabled = true;
  o.checkpoint.records = 120;
  o.rule_switch = &rule_switch;
  size_t start = 0;
  if (!sink.state.empty()) o.restore = &sink;
  if (auto it = sink.streams.find({"mem", -1}); it != sink.streams.end()) {
    start = static_cast<size_t>(it->second.resume - 1);
    if (it->second.resume <= it->second.last) o.replay_until[{"mem", -1}] = it->second.last;
  }
  Pipeline p(rules, parser, o);
  InterruptedSource src(lines, start, stop);
  if (post_at > 0) {
    src.post_at = post_at;
    src.rule_switch = &rule_switch;
    src.generation = std::move(generation);
  }
  auto stats = p.Run(src, {&sink});
  ASSERT_TRUE(stats.ok()) << stats.error().message();
}

TEST(Checkpoints, InterruptedRunsRestoredIntoOtherShardCountsGiveTheSameAlerts) {
  const std::vector<std::string> lines = MakeStream();
  MemoryCheckpointSink whole;
  RunFromCheckpoint(lines, lines.size(), 8, whole);
  ASSERT_GT(whole.alerts.size(), 20u);
  // Stopped three times, each restart with another shard count; a run that stops keeps its
  // windows open (no flush) and its last checkpoint is all that survives.
  MemoryCheckpointSink pieces;
  RunFromCheckpoint(lines, 700, 8, pieces);
  EXPECT_FALSE(pieces.state.empty());
  RunFromCheckpoint(lines, 1450, 3, pieces);
  RunFromCheckpoint(lines, 2300, 1, pieces);
  RunFromCheckpoint(lines, lines.size(), 5, pieces);
  std::vector<std::string> a = whole.alerts, b = pieces.alerts;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  EXPECT_EQ(b, a);
}

// Hot reload -----------------------------------------------------------------------------------

RuleGeneration MakeGeneration(uint64_t number, RuleSet (*make_rules)()) {
  auto rules = std::make_shared<RuleSet>(make_rules());
  RuleGeneration g;
  g.number = number;
  g.parser = std::make_shared<CsvParser>(rules->catalog);
  g.rules = std::move(rules);
  return g;
}

// brute_force now needs 6 failures; spray (which reads brute_force's alerts) is unchanged.
RuleSet MakeChangedChainRules() {
  RuleSet rs = MakeChainRules();
  rs.correlations[0].condition.gte = 6;
  return rs;
}

struct ReloadRun {
  std::vector<std::string> alerts;
  std::vector<Alert> full;
  PipelineStats stats;
  std::optional<ReloadReport> report;
};

ReloadRun RunWithReload(const std::vector<std::string>& lines, int threads, size_t post_at,
                        RuleSet (*before)(), RuleSet (*after)(), int shards = 0) {
  RuleSet rules = before();
  CsvParser parser(rules.catalog);
  RuleSwitch rule_switch;
  PipelineOptions o;
  o.threads = threads;
  o.correlation_shards = shards;
  o.rule_switch = &rule_switch;
  InterruptedSource src(lines, 0, lines.size());
  src.post_at = post_at;
  src.rule_switch = &rule_switch;
  src.generation = MakeGeneration(1, after);
  CollectSink sink;
  auto stats = Pipeline(rules, parser, o).Run(src, {&sink});
  EXPECT_TRUE(stats.ok()) << stats.error().message();
  ReloadRun run;
  for (const auto& a : sink.alerts) run.alerts.push_back(a.id.Hex() + " " + a.kind);
  run.full = sink.alerts;
  if (stats.ok()) run.stats = *stats;
  run.report = rule_switch.WaitApplied(1, std::chrono::milliseconds(0));
  return run;
}

TEST(HotReload, TheSameRulesReloadedKeepEveryWindowAndGiveTheSameAlerts) {
  const std::vector<std::string> lines = MakeStream();
  const auto expected = RunLines(MakeStream(), 1, 1000, 0, nullptr, nullptr, MakeChainRules);
  ASSERT_GT(expected.size(), 20u);
  for (const int threads : {1, 2}) {
    for (const size_t at : {size_t{500}, size_t{1700}}) {
      ReloadRun run = RunWithReload(lines, threads, at, MakeChainRules, MakeChainRules, 3);
      EXPECT_EQ(run.alerts, expected) << threads << " threads, reload after line " << at;
      EXPECT_EQ(run.stats.reloads, 1u);
      ASSERT_TRUE(run.report.has_value());
      EXPECT_EQ(run.report->generation, 1u);
      EXPECT_EQ(run.report->kept_rules, (std::vector<std::string>{"brute_force", "spray"}));
      EXPECT_TRUE(run.report->changed_rules.empty());
      EXPECT_GT(run.report->kept_groups, 0u);
      EXPECT_EQ(run.report->dropped_groups, 0u);
      EXPECT_EQ(run.report->dropped_signals, 0u);
      EXPECT_EQ(run.report->batch, at / 50);  // the batch after the one that posted it
    }
  }
}

TEST(HotReload, AChangedCorrelationRestartsItsWindowsWhileTheOthersKeepTheirs) {
  const std::vector<std::string> lines = MakeStream();
  const size_t at = 1500;
  ReloadRun run = RunWithReload(lines, 2, at, MakeChainRules, MakeChangedChainRules);
  ASSERT_TRUE(run.report.has_value());
  EXPECT_EQ(run.report->changed_rules, std::vector<std::string>{"brute_force"});
  EXPECT_EQ(run.report->kept_rules, std::vector<std::string>{"spray"});
  EXPECT_GT(run.report->dropped_groups, 0u);
  // Before the swap, the old rule's alerts exactly; after, only the new threshold's.
  const auto old_alerts = RunLines(MakeStream(), 2, 50, 0, nullptr, nullptr, MakeChainRules);
  size_t before = 0, after = 0;
  for (const Alert& a : run.full) {
    if (a.rule->id != "brute_force") continue;
    const int64_t last_line = a.evidence.back().position.offset;
    if (last_line <= static_cast<int64_t>(at)) {
      ++before;
      EXPECT_NE(std::find(old_alerts.begin(), old_alerts.end(), a.id.Hex() + " " + a.kind),
                old_alerts.end());
    } else {
      ++after;
      EXPECT_GE(a.count, 6) << "alert after the reload made under the old threshold";
      // Windows restarted empty at the swap: no evidence from before it.
      EXPECT_GT(a.evidence.front().position.offset, static_cast<int64_t>(at));
    }
  }
  EXPECT_GT(before, 5u);
  EXPECT_GT(after, 5u);
  // The same reload with another thread count and shard count gives the same alerts.
  EXPECT_EQ(RunWithReload(lines, 1, at, MakeChainRules, MakeChangedChainRules, 5).alerts,
            run.alerts);
}

TEST(HotReload, CheckpointsAfterAReloadRestoreTheStateTheReloadLeft) {
  const std::vector<std::string> lines = MakeStream();
  MemoryCheckpointSink whole;
  RunFromCheckpoint(lines, lines.size(), 0, whole, MakeChainRules, 900,
                    MakeGeneration(1, MakeChangedChainRules));
  ASSERT_GT(whole.alerts.size(), 20u);
  // Stopped soon after the reload; the restart loads the new rules from the start. The windows
  // the reload dropped must be gone from the store, not left for a restart to revive: each
  // brute_force entry stored before the reload is deleted or rewritten by then.
  MemoryCheckpointSink before;
  RunFromCheckpoint(lines, 900, 0, before);
  MemoryCheckpointSink pieces;
  RunFromCheckpoint(lines, 920, 0, pieces, MakeChainRules, 900,
                    MakeGeneration(1, MakeChangedChainRules));
  size_t old_windows = 0;
  for (const auto& [k, v] : before.state) {
    StateKey key;
    if (k == kStreamsStateKey || !ParseStateKey(k, key) || key.rule_id != "brute_force") continue;
    ++old_windows;
    auto it = pieces.state.find(k);
    EXPECT_TRUE(it == pieces.state.end() || it->second != v) << "left over: " << key.group[0];
  }
  EXPECT_GT(old_windows, 3u);
  RunFromCheckpoint(lines, lines.size(), 0, pieces, MakeChangedChainRules);
  std::vector<std::string> a = whole.alerts, b = pieces.alerts;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  EXPECT_EQ(b, a);
}

TEST(HotReload, ANewParserAndDetectorMatchTheBatchesReadAfterTheSwap) {
  // The detector after the reload knows only "delete": login failures stop feeding windows.
  const std::vector<std::string> lines = MakeStream();
  ReloadRun run = RunWithReload(
      lines, 2, 1000, MakeRules, [] {
        RuleSet rs = MakeRules();
        rs.detector = std::make_unique<ActionDetector>(
            std::vector<std::string>{"no_such_action", "no_such_action", "delete"});
        return rs;
      });
  ASSERT_TRUE(run.report.has_value());
  for (const Alert& a : run.full) {
    for (const Evidence& e : a.evidence) {
      if (e.rule->id == "login_failed") {
        EXPECT_LE(e.position.offset, 1000);
      }
    }
  }
  size_t deletes_after = 0;
  for (const Alert& a : run.full) {
    if (a.rule->id == "delete" && a.evidence[0].position.offset > 1000) ++deletes_after;
  }
  EXPECT_GT(deletes_after, 0u);
}

TEST(Checkpoints, DamagedStateIsAnErrorNotACrash) {
  const std::vector<std::string> lines = MakeStream();
  MemoryCheckpointSink sink;
  RunFromCheckpoint(lines, 1000, 4, sink);
  ASSERT_FALSE(sink.state.empty());
  std::mt19937 rng(5);
  size_t errors = 0, runs = 0;
  for (const auto& [key, value] : MemoryCheckpointSink(sink).state) {
    // Every truncation of the entry, and a few bytes flipped.
    for (size_t cut = 0; cut <= value.size(); cut += 1 + value.size() / 40) {
      for (int flip = 0; flip < 2; ++flip) {
        MemoryCheckpointSink damaged = sink;
        std::string v = value.substr(0, cut);
        if (flip == 1 && !v.empty()) v[rng() % v.size()] ^= static_cast<char>(1 + rng() % 255);
        damaged.state[key] = v;
        RuleSet rules = MakeChainRules();
        CsvParser parser(rules.catalog);
        PipelineOptions o;
        o.threads = 1;
        o.checkpoint.enabled = true;
        o.restore = &damaged;
        Pipeline p(rules, parser, o);
        InterruptedSource src(lines, 1000, 1100);
        auto stats = p.Run(src, {&damaged});
        ++runs;
        if (!stats.ok()) {
          ++errors;
          EXPECT_NE(stats.error().message().find("checkpoint"), std::string::npos)
              << stats.error().message();
        }
      }
    }
  }
  EXPECT_GT(runs, 100u);
  EXPECT_GT(errors, runs / 3) << "truncated entries must be refused";
}

}  // namespace
}  // namespace tuttle

namespace tuttle {
namespace {

// Reads the registry as each batch is written: what a scrape during the run would see.
class ScrapingSink final : public AlertSink {
 public:
  explicit ScrapingSink(Counter& records) : records_(records) {}
  Status Write(const BatchOutput&) override {
    seen.push_back(records_.value());
    return Ok();
  }
  std::vector<uint64_t> seen;

 private:
  Counter& records_;
};

TEST(PipelineMetrics, RunningCountersGrowBatchByBatchAndEndEqualToTheStats) {
  MetricsRegistry registry;
  RuleSet rules = MakeRules();
  CsvParser parser(rules.catalog);
  PipelineOptions o;
  o.threads = 2;
  o.metrics = &registry;
  Pipeline p(rules, parser, o);
  VectorSource src(MakeStream(), 100);
  // The pipeline adds the same family; this sink reads it.
  Counter& records = registry.AddCounter("tuttle_pipeline_records_total", "Records").With();
  ScrapingSink sink(records);
  auto stats = p.Run(src, {&sink});
  ASSERT_TRUE(stats.ok());

  // Published once per batch, after the batch is written: batch k sees the records before it.
  ASSERT_GE(sink.seen.size(), 31u);
  for (size_t k = 0; k < 30; ++k) EXPECT_EQ(sink.seen[k], 100 * k) << k;
  EXPECT_EQ(records.value(), 3001u);

  auto counter = [&](const std::string& name, std::vector<std::string_view> labels = {}) {
    auto& f = registry.AddCounter(name, "", labels.empty() ? std::vector<std::string>{}
                                                          : std::vector<std::string>{"kind"});
    if (labels.empty()) return f.With().value();
    return f.With({labels[0]}).value();
  };
  EXPECT_EQ(counter("tuttle_pipeline_batches_total"), stats->batches);
  EXPECT_EQ(counter("tuttle_pipeline_bytes_total"), stats->bytes);
  EXPECT_EQ(counter("tuttle_pipeline_events_total"), 3000u);
  EXPECT_EQ(counter("tuttle_pipeline_signals_total"), stats->signals);
  EXPECT_GT(stats->correlation_alerts, 0u);
  EXPECT_EQ(counter("tuttle_pipeline_alerts_total", {"correlation"}), stats->correlation_alerts);
  EXPECT_EQ(counter("tuttle_pipeline_alerts_total", {"single"}),
            stats->alerts - stats->correlation_alerts);
  const std::string text = registry.Expose();
  EXPECT_NE(text.find("tuttle_pipeline_dead_letters_total{reason=\"not a csv record\"} 1\n"),
            std::string::npos)
      << text;
  std::string latency_count = "tuttle_pipeline_batch_latency_seconds_count ";
  latency_count += std::to_string(stats->batches);
  latency_count += '\n';
  EXPECT_NE(text.find(latency_count), std::string::npos)
      << text;
}

TEST(PipelineMetrics, CountsRecordsBySourceMatchesAndAlertsByRuleAndOpenGroupsByCorrelation) {
  MetricsRegistry registry;
  RuleSet rules = MakeRules();
  CsvParser parser(rules.catalog);
  PipelineOptions o;
  o.threads = 2;
  o.metrics = &registry;
  const std::vector<std::string> lines = MakeStream();
  VectorSource src(lines, 100);
  CollectSink sink;
  auto stats = Pipeline(rules, parser, o).Run(src, {&sink});
  ASSERT_TRUE(stats.ok());
  auto value = [&](const std::string& series) {
    const std::string text = registry.Expose();
    const size_t at = text.find("\n" + series + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + series.size() + 2));
  };
  EXPECT_EQ(value("tuttle_source_records_total{source=\"mem\"}"), 3001);
  // Every line matches by its action: 600 failures, 30 deletes (i % 97, not i % 5).
  size_t failed = 0, deleted = 0;
  for (const std::string& l : lines) {
    failed += l.ends_with(",login_failed") ? 1 : 0;
    deleted += l.ends_with(",delete") ? 1 : 0;
  }
  EXPECT_EQ(value("tuttle_rule_matches_total{rule_id=\"login_failed\",rule=\"login_failed\"}"),
            static_cast<double>(failed));
  EXPECT_EQ(value("tuttle_rule_matches_total{rule_id=\"delete\",rule=\"delete\"}"),
            static_cast<double>(deleted));
  size_t brute = 0, deletes = 0;
  for (const Alert& a : sink.alerts) {
    brute += a.rule->id == "brute_force" ? 1 : 0;
    deletes += a.rule->id == "delete" ? 1 : 0;
  }
  ASSERT_GT(brute, 0u);
  EXPECT_EQ(value("tuttle_rule_alerts_total{rule_id=\"brute_force\",rule=\"Brute force then "
                  "login\",severity=\"high\"}"),
            static_cast<double>(brute));
  EXPECT_EQ(value("tuttle_rule_alerts_total{rule_id=\"delete\",rule=\"delete\",severity=\"low\"}"),
            static_cast<double>(deletes));
  // After the last batch (the end-of-run flush closes them but is not a batch), seven users'
  // windows were open.
  EXPECT_EQ(value("tuttle_correlation_open_groups{rule_id=\"brute_force\",rule=\"Brute force "
                  "then login\"}"),
            7);
  EXPECT_EQ(value("tuttle_pipeline_open_groups"), 7);
}

}  // namespace
}  // namespace tuttle
