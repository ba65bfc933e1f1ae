// CRI container log lines: the line parser, the file-name helper, the assembler that joins
// partial lines, and the RecordSource decorator that runs it in the read stage.

#include "tuttle/ingest/cri_assembler.h"
#include "tuttle/ingest/cri_log.h"
#include "tuttle/ingest/cri_log_source.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace tuttle::ingest {
namespace {

const std::string kId = "4c1bd1cbc9d1a1d23a43e6c5b0cb8ccb1dc6ff9bc2e1e8a0d25ef8fa3b4b2d11";
const std::string kPath = "/var/log/containers/web-7c5ddbdf54-x8kqz_shop_nginx-" + kId + ".log";

TEST(ParseCriLine, ReadsTimeStreamTagAndMessage) {
  auto l = ParseCriLine("2024-05-01T12:00:00.123456789Z stderr F GET /healthz 200\n");
  ASSERT_TRUE(l.ok()) << l.error().message();
  EXPECT_EQ(l->timestamp, "2024-05-01T12:00:00.123456789Z");
  EXPECT_EQ(l->time, *ParseTimestamp("2024-05-01T12:00:00.123456789Z"));
  EXPECT_TRUE(l->is_stderr);
  EXPECT_FALSE(l->partial);
  EXPECT_EQ(l->message, "GET /healthz 200");
}

TEST(ParseCriLine, KeepsSpacesOfTheMessageAndAcceptsAnEmptyOne) {
  auto l = ParseCriLine("2024-05-01T12:00:00Z stdout P   indented ");
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->partial);
  EXPECT_EQ(l->message, "  indented ");
  auto empty = ParseCriLine("2024-05-01T12:00:00Z stdout F");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->message, "");
  auto tagged = ParseCriLine("2024-05-01T12:00:00+02:00 stdout F:x hi");
  ASSERT_TRUE(tagged.ok());
  EXPECT_EQ(tagged->message, "hi");
}

TEST(ParseCriLine, SaysWhyALineIsNotCri) {
  auto json = ParseCriLine(R"({"log":"hi","stream":"stdout"})");
  ASSERT_FALSE(json.ok());
  EXPECT_NE(json.error().message().find("not a CRI log line"), std::string::npos);
  auto stream = ParseCriLine("2024-05-01T12:00:00Z stdin F hi");
  ASSERT_FALSE(stream.ok());
  EXPECT_NE(stream.error().message().find("stream must be stdout or stderr, not 'stdin'"),
            std::string::npos);
  auto tag = ParseCriLine("2024-05-01T12:00:00Z stdout X hi");
  ASSERT_FALSE(tag.ok());
  EXPECT_NE(tag.error().message().find("tag must be P or F, not 'X'"), std::string::npos);
  auto time = ParseCriLine("2024-13-01T12:00:00Z stdout F hi");
  ASSERT_FALSE(time.ok());
  EXPECT_NE(time.error().message().find("bad CRI timestamp '2024-13-01T12:00:00Z'"),
            std::string::npos);
  EXPECT_FALSE(ParseCriLine("").ok());
  EXPECT_FALSE(ParseCriLine("2024-05-01T12:00:00Z").ok());
}

TEST(ParseContainerLogPath, ReadsPodNamespaceContainerAndId) {
  auto p = ParseContainerLogPath(kPath);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->pod, "web-7c5ddbdf54-x8kqz");
  EXPECT_EQ(p->namespace_, "shop");
  EXPECT_EQ(p->container, "nginx");
  EXPECT_EQ(p->container_id, kId);
  // The result views the path: keep it alive.
  const std::string dashed_path = "coredns-5d78c9869d-abcde_kube-system_core-dns-" + kId + ".log";
  auto dashed = ParseContainerLogPath(dashed_path);
  ASSERT_TRUE(dashed.has_value());
  EXPECT_EQ(dashed->container, "core-dns");
  EXPECT_FALSE(ParseContainerLogPath("/var/log/app.log").has_value());
  EXPECT_FALSE(ParseContainerLogPath("/var/log/containers/a_b_c-1234.log").has_value());
  EXPECT_FALSE(ParseContainerLogPath("a_b_c_d-" + kId + ".log").has_value());
}

// Feeds lines of one source to an assembler and collects records and rejects.
struct Fed {
  std::vector<nlohmann::json> records;
  std::vector<int64_t> offsets;
  std::vector<std::string> reasons;
  std::vector<int64_t> reject_offsets;
};

Fed Feed(CriAssembler& a, const std::string& source, int32_t partition,
         const std::vector<std::string>& lines, bool end = true) {
  RecordBatch out;
  int64_t offset = 0;
  for (const auto& l : lines) a.AddLine(source, l, RecordMeta{0, partition, ++offset, kNoTime}, out);
  if (end) a.EndAll(out);
  Fed f;
  for (size_t i = 0; i < out.size(); ++i) {
    f.records.push_back(nlohmann::json::parse(out.bytes(i)));
    f.offsets.push_back(out.meta(i).offset);
  }
  for (const auto& r : out.rejected()) {
    f.reasons.push_back(r.reason);
    f.reject_offsets.push_back(r.meta.offset);
  }
  return f;
}

TEST(CriAssembler, AFullLineIsOneRecordWithKubernetesFieldsFromTheFileName) {
  CriAssembler a;
  auto f = Feed(a, kPath, -1, {"2024-05-01T12:00:00.123456789Z stdout F GET /healthz 200"});
  ASSERT_EQ(f.records.size(), 1u);
  EXPECT_EQ(f.records[0], nlohmann::json::parse(R"({"format":"cri",
      "time":"2024-05-01T12:00:00.123456789Z","stream":"stdout","log":"GET /healthz 200",
      "lines":1,"kubernetes":{"pod_name":"web-7c5ddbdf54-x8kqz","namespace_name":"shop",
      "container_name":"nginx","container_id":")" + kId + R"("}})"));
}

TEST(CriAssembler, JoinsPartialLinesOfAStreamAndKeepsTheOtherStreamApart) {
  CriAssembler a;
  auto f = Feed(a, "node-logs", 0,
                {"2024-05-01T12:00:00.000000001Z stdout P first part, ",
                 "2024-05-01T12:00:00.000000002Z stderr F an error in between",
                 "2024-05-01T12:00:00.000000003Z stdout P second part, ",
                 "2024-05-01T12:00:00.000000004Z stdout F last part"});
  ASSERT_EQ(f.records.size(), 2u);
  EXPECT_TRUE(f.reasons.empty());
  EXPECT_EQ(f.records[0]["log"], "an error in between");
  EXPECT_EQ(f.records[0]["stream"], "stderr");
  EXPECT_EQ(f.records[1]["log"], "first part, second part, last part");
  EXPECT_EQ(f.records[1]["time"], "2024-05-01T12:00:00.000000001Z");  // of the first line
  EXPECT_EQ(f.records[1]["lines"], 3);
  EXPECT_FALSE(f.records[1].contains("kubernetes"));  // not a file
  EXPECT_EQ(f.offsets, (std::vector<int64_t>{2, 4}));  // the last line's position
}

TEST(CriAssembler, AJsonMessageIsParsedAndKeptAsText) {
  CriAssembler a;
  auto f = Feed(a, "t", 0,
                {R"(2024-05-01T12:00:01Z stderr P {"level":"error","msg":"db )",
                 R"(2024-05-01T12:00:01Z stderr F down","attempt":3,"user":{"id":"u-7"}})",
                 R"(2024-05-01T12:00:02Z stdout F {"unterminated": )",
                 "2024-05-01T12:00:03Z stdout F quote \" backslash \\ tab \t bell \x07"});
  ASSERT_EQ(f.records.size(), 3u);
  EXPECT_EQ(f.records[0]["json"]["msg"], "db down");
  EXPECT_EQ(f.records[0]["json"]["user"]["id"], "u-7");
  EXPECT_EQ(f.records[0]["log"], R"({"level":"error","msg":"db down","attempt":3,"user":{"id":"u-7"}})");
  EXPECT_FALSE(f.records[1].contains("json"));
  EXPECT_EQ(f.records[1]["log"], R"({"unterminated": )");
  EXPECT_EQ(f.records[2]["log"], "quote \" backslash \\ tab \t bell \x07");
}

TEST(CriAssembler, ASequenceCutOffByTheEndOfInputIsATruncatedSequenceAtItsFirstLine) {
  CriAssembler a;
  auto f = Feed(a, "t", 0,
                {"2024-05-01T12:00:00Z stdout F ok", "2024-05-01T12:00:01Z stdout P never ",
                 "2024-05-01T12:00:02Z stdout P finished"});
  EXPECT_EQ(f.records.size(), 1u);
  ASSERT_EQ(f.reasons.size(), 1u);
  EXPECT_NE(f.reasons[0].find("truncated CRI sequence (end of input): 2 partial line(s)"),
            std::string::npos)
      << f.reasons[0];
  EXPECT_EQ(f.reject_offsets, (std::vector<int64_t>{2}));
  EXPECT_EQ(a.pending(), 0u);
}

TEST(CriAssembler, ASequenceOverTheLimitIsRejectedAndTheRestOfItDropped) {
  CriAssemblerOptions o;
  o.max_message_bytes = 10;
  CriAssembler a(o);
  auto f = Feed(a, "t", 0,
                {"2024-05-01T12:00:00Z stdout P 123456", "2024-05-01T12:00:00Z stdout P 789012",
                 "2024-05-01T12:00:00Z stdout F 345", "2024-05-01T12:00:01Z stdout F small",
                 "2024-05-01T12:00:02Z stdout F this one is too long"});
  ASSERT_EQ(f.records.size(), 1u);
  EXPECT_EQ(f.records[0]["log"], "small");
  ASSERT_EQ(f.reasons.size(), 2u);
  EXPECT_NE(f.reasons[0].find("truncated CRI sequence (over the size limit)"), std::string::npos);
  EXPECT_NE(f.reasons[1].find("CRI message over the size limit: 20 bytes, limit 10"),
            std::string::npos);
  EXPECT_EQ(f.reject_offsets, (std::vector<int64_t>{1, 5}));
}

TEST(CriAssembler, KeepsTheTenantFixedForTheSourceOnJoinedAndRejectedRecords) {
  CriAssembler a;
  RecordBatch out;
  RecordMeta meta{0, 1, 10, kNoTime};
  meta.tenant = 3;  // `--tenant pod-logs=...`, the third tenant named
  a.AddLine("pod-logs", "2024-05-01T12:00:00Z stdout F whole", meta, out);
  meta.offset = 11;
  a.AddLine("pod-logs", "2024-05-01T12:00:01Z stdout P first half, ", meta, out);
  meta.offset = 12;
  a.AddLine("pod-logs", "2024-05-01T12:00:01Z stdout F second half", meta, out);
  meta.offset = 13;
  a.AddLine("pod-logs", "not a CRI line", meta, out);
  meta.offset = 14;
  a.AddLine("pod-logs", "2024-05-01T12:00:02Z stderr P cut off", meta, out);
  a.EndStream("pod-logs", 1, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out.meta(0).tenant, 3);
  EXPECT_EQ(out.meta(1).tenant, 3);  // joined from two lines
  EXPECT_EQ(out.meta(1).offset, 12);
  ASSERT_EQ(out.rejected().size(), 2u);
  EXPECT_EQ(out.rejected()[0].meta.tenant, 3);  // a bad line
  EXPECT_EQ(out.rejected()[1].meta.tenant, 3);  // a truncated sequence
}

TEST(CriAssembler, RejectsBadLinesWithTheirReasonAndCarriesOn) {
  CriAssembler a;
  auto f = Feed(a, "t", 0,
                {"garbage", "2024-05-01T12:00:00Z stdout F bad utf8 \xff\xfe",
                 "2024-05-01 12:00:00 stdout F space in time", "2024-05-01T12:00:00Z stdout F ok"});
  ASSERT_EQ(f.records.size(), 1u);
  ASSERT_EQ(f.reasons.size(), 3u);
  EXPECT_NE(f.reasons[0].find("not a CRI log line"), std::string::npos);
  EXPECT_EQ(f.reasons[1], "invalid UTF-8 in CRI message");
  EXPECT_NE(f.reasons[2].find("not a CRI log line (stream must be stdout or stderr"),
            std::string::npos);
}

TEST(CriAssembler, HoldsCommitsBackBeforeAnUnfinishedSequence) {
  CriAssembler a;
  RecordBatch out;
  a.AddLine("t", "2024-05-01T12:00:00Z stdout P part ", RecordMeta{0, 3, 100, kNoTime}, out);
  a.AddLine("t", "2024-05-01T12:00:00Z stderr F other", RecordMeta{0, 3, 101, kNoTime}, out);
  // Record 101 is processed, but line 100 is still waiting for its F line.
  EXPECT_EQ(a.CommitLimit("t", 3, 101), 99);
  a.AddLine("t", "2024-05-01T12:00:00Z stdout F end", RecordMeta{0, 3, 102, kNoTime}, out);
  EXPECT_EQ(a.CommitLimit("t", 3, 101), 99);  // the batch of 101 was read before 102
  EXPECT_EQ(a.CommitLimit("t", 3, 102), 102);
  EXPECT_EQ(a.CommitLimit("t", 4, 7), 7);  // other partitions are free
}

// An in-memory source: batches of (source, partition, line), then stream events.
class ScriptSource final : public RecordSource {
 public:
  struct Item {
    std::string source;
    int32_t partition;
    std::string line;  // empty: an idle stream event instead
  };
  explicit ScriptSource(std::vector<std::vector<Item>> batches) : batches_(std::move(batches)) {}
  Result<bool> Next(RecordBatch& b) override {
    if (next_ >= batches_.size()) return false;
    for (const Item& it : batches_[next_]) {
      const uint32_t s = b.InternSource(it.source);
      if (it.line.empty()) {
        b.AddStreamEvent(StreamEvent{s, it.partition, StreamEvent::Kind::kIdle});
      } else {
        b.Add(it.line, RecordMeta{s, it.partition, ++offset_, kNoTime});
      }
    }
    ++next_;
    return next_ < batches_.size();
  }
  Status Commit(const std::vector<SourcePosition>& p) override {
    for (const auto& pos : p) commits.push_back(pos);
    return Ok();
  }
  void Stop() override {}
  std::vector<SourcePosition> commits;

 private:
  std::vector<std::vector<Item>> batches_;
  size_t next_ = 0;
  int64_t offset_ = 0;
};

TEST(CriLogSource, JoinsAcrossBatchesAndEndsAFileAtItsEnd) {
  auto inner = std::make_unique<ScriptSource>(std::vector<std::vector<ScriptSource::Item>>{
      {{kPath, -1, "2024-05-01T12:00:00Z stdout P a"}, {"b.log", -1, "2024-05-01T12:00:00Z stdout P x"}},
      {{kPath, -1, "2024-05-01T12:00:01Z stdout F b"}, {"b.log", -1, ""}},
      {{"b.log", -1, "{\"not\":\"cri\"}"}}});
  CriLogSourceOptions o;
  o.applies_to = [](std::string_view s) { return s != "other"; };
  CriLogSource cri(std::move(inner), o);
  std::vector<std::string> logs;
  std::vector<std::string> reasons;
  std::vector<size_t> events_before;
  size_t batches = 0;
  while (true) {
    RecordBatch b;
    auto more = cri.Next(b);
    ASSERT_TRUE(more.ok());
    ++batches;
    for (size_t i = 0; i < b.size(); ++i) {
      logs.push_back(nlohmann::json::parse(b.bytes(i))["log"]);
      EXPECT_EQ(b.sources()[b.meta(i).source], kPath);
    }
    for (const auto& r : b.rejected()) reasons.push_back(r.reason);
    for (const auto& e : b.stream_events()) {
      EXPECT_EQ(b.sources()[e.source], "b.log");
      events_before.push_back(e.before_record);
    }
    if (!*more) break;
  }
  EXPECT_EQ(logs, (std::vector<std::string>{"ab"}));
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_NE(reasons[0].find("truncated CRI sequence (end of input)"), std::string::npos);
  EXPECT_NE(reasons[1].find("not a CRI log line"), std::string::npos);
  EXPECT_EQ(events_before, (std::vector<size_t>{1}));  // after the joined record
  EXPECT_EQ(cri.pending(), 0u);
}

TEST(CriLogSource, PassesOtherSourcesAndOtherRecordsThrough) {
  auto inner = std::make_unique<ScriptSource>(std::vector<std::vector<ScriptSource::Item>>{
      {{"other", 0, "2024-05-01T12:00:00Z stdout F untouched"},
       {"cri", 0, "{\"kind\":\"Event\"}"},
       {"cri", 0, "2024-05-01T12:00:00Z stdout F joined"}}});
  CriLogSourceOptions o;
  o.applies_to = [](std::string_view s) { return s == "cri"; };
  o.pass_through_other = true;
  CriLogSource cri(std::move(inner), o);
  RecordBatch b;
  ASSERT_TRUE(cri.Next(b).ok());
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b.bytes(0), "2024-05-01T12:00:00Z stdout F untouched");
  EXPECT_EQ(b.bytes(1), "{\"kind\":\"Event\"}");
  EXPECT_EQ(nlohmann::json::parse(b.bytes(2))["format"], "cri");
  EXPECT_TRUE(b.rejected().empty());
}

TEST(CriLogSource, CommitsNoFurtherThanTheFirstLineOfAnOpenSequence) {
  auto inner = std::make_unique<ScriptSource>(std::vector<std::vector<ScriptSource::Item>>{
      {{"k", 0, "2024-05-01T12:00:00Z stdout F one"},
       {"k", 0, "2024-05-01T12:00:00Z stdout P two "},
       {"k", 0, "2024-05-01T12:00:00Z stderr F three"}},
      {{"k", 0, "2024-05-01T12:00:00Z stdout F two end"}}});
  auto* script = inner.get();
  CriLogSource cri(std::move(inner));
  RecordBatch b1;
  ASSERT_TRUE(cri.Next(b1).ok());
  ASSERT_TRUE(cri.Commit({SourcePosition{"k", 0, 3}}).ok());
  RecordBatch b2;
  ASSERT_TRUE(cri.Next(b2).ok());
  ASSERT_TRUE(cri.Commit({SourcePosition{"k", 0, 4}}).ok());
  ASSERT_EQ(script->commits.size(), 2u);
  EXPECT_EQ(script->commits[0].offset, 1);  // line 2 opened a sequence still unfinished
  EXPECT_EQ(script->commits[1].offset, 4);
}

}  // namespace
}  // namespace tuttle::ingest
