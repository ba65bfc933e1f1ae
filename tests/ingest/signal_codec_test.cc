// The scale-out signals-topic messages (ingest/scale_out.h): what the match stage writes, the
// correlation stage reads back exactly; rules go by id; damaged bytes are errors.

#include <gtest/gtest.h>

#include <memory>

#include "support/signal_rules.h"
#include "tuttle/ingest/scale_out.h"

namespace tuttle::ingest {
namespace {

using testing::kSignalRules;

RuleSet Compile(const std::string& text) {
  rules::CompileOptions options;
  rules::CompileReport report;
  auto r =
      rules::CompileRules({{"rules.yml", text}}, std::make_shared<FieldCatalog>(), options, report);
  EXPECT_TRUE(r.ok());
  return std::move(*r);
}

ExportedRecord Record() {
  ExportedRecord rec;
  rec.position = SourcePosition{"audit", 2, 41};
  rec.bytes = R"({"verb":"list"})";
  Signal s;
  s.correlation = 0;
  s.step = 0;
  s.detection = 0;
  s.time = 1'773'482'400'000'000'000;
  s.record_id = Hash128{1, 2};
  s.group = {"alice", "ns-1"};
  s.value = "secret-a";
  rec.signals.push_back(s);
  s.group = {"bob", ""};
  s.missing_group = true;
  s.missing_value = true;
  s.value.clear();
  rec.signals.push_back(s);
  return rec;
}

TEST(SignalCodec, SignalsAndMarksRoundTrip) {
  const RuleSet rules = Compile(kSignalRules);
  const SignalCodec codec(rules);
  const ExportedRecord rec = Record();
  SignalMessage msg;
  ASSERT_TRUE(codec.Decode(codec.EncodeSignals(rec, {0, 1}), msg).ok());
  ASSERT_EQ(msg.kind, SignalMessage::Kind::kSignals);
  EXPECT_EQ(msg.record.position, rec.position);
  EXPECT_EQ(msg.record.bytes, rec.bytes);
  ASSERT_EQ(msg.record.signals.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const Signal& a = rec.signals[i];
    const Signal& b = msg.record.signals[i];
    EXPECT_EQ(b.correlation, a.correlation);
    EXPECT_EQ(b.detection, a.detection);
    EXPECT_EQ(b.time, a.time);
    EXPECT_EQ(b.record_id, a.record_id);
    EXPECT_EQ(b.group, a.group);
    EXPECT_EQ(b.missing_group, a.missing_group);
    EXPECT_EQ(b.missing_value, a.missing_value);
    EXPECT_EQ(b.value, a.value);
    EXPECT_EQ(b.position, rec.position);  // the evidence's origin, not the signals topic
  }
  // Only the signals asked for.
  ASSERT_TRUE(codec.Decode(codec.EncodeSignals(rec, {1}), msg).ok());
  ASSERT_EQ(msg.record.signals.size(), 1u);
  EXPECT_EQ(msg.record.signals[0].group[0], "bob");

  const StreamMark mark{"audit", 3, 99, 1'773'482'401'000'000'000, true, false};
  ASSERT_TRUE(codec.Decode(codec.EncodeMark(mark), msg).ok());
  ASSERT_EQ(msg.kind, SignalMessage::Kind::kMark);
  EXPECT_EQ(msg.mark.source, "audit");
  EXPECT_EQ(msg.mark.partition, 3);
  EXPECT_EQ(msg.mark.offset, 99);
  EXPECT_EQ(msg.mark.time, mark.time);
  EXPECT_TRUE(msg.mark.idle);
  EXPECT_FALSE(msg.mark.released);
}

TEST(SignalCodec, RulesGoByIdSoAnotherRuleSetMapsOrDropsThem) {
  const RuleSet writer = Compile(kSignalRules);
  // The reader loaded another rule first: indices differ, ids do not.
  const RuleSet reader = Compile(std::string(R"(title: Other
id: 5e7a0000-0000-4000-8000-0000000000ff
logsource: {product: kubernetes}
detection:
    sel: {verb: get}
    condition: sel
---
)") + kSignalRules);
  SignalMessage msg;
  ASSERT_TRUE(
      SignalCodec(reader).Decode(SignalCodec(writer).EncodeSignals(Record(), {0}), msg).ok());
  ASSERT_EQ(msg.record.signals.size(), 1u);
  EXPECT_EQ(reader.correlations[msg.record.signals[0].correlation].info->id,
            "5e7a0000-0000-4000-8000-000000000002");
  EXPECT_EQ(reader.detections[msg.record.signals[0].detection].info->id,
            "5e7a0000-0000-4000-8000-000000000001");
  // A reader without the correlation drops the signals and counts them.
  const RuleSet without = Compile(R"(title: Secrets listed
id: 5e7a0000-0000-4000-8000-000000000001
logsource: {product: kubernetes, service: audit}
detection:
    sel: {verb: list}
    condition: sel
)");
  ASSERT_TRUE(
      SignalCodec(without).Decode(SignalCodec(writer).EncodeSignals(Record(), {0, 1}), msg).ok());
  EXPECT_TRUE(msg.record.signals.empty());
  EXPECT_EQ(msg.unknown, 2u);
}

TEST(SignalCodec, DamagedBytesAreErrorsNeverCrashes) {
  const RuleSet rules = Compile(kSignalRules);
  const SignalCodec codec(rules);
  const std::string good = codec.EncodeSignals(Record(), {0, 1});
  SignalMessage msg;
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(codec.Decode(good.substr(0, n), msg).ok()) << "truncated to " << n;
  }
  EXPECT_FALSE(codec.Decode(good + "x", msg).ok());
  std::string future = good;
  future[1] = 9;
  const Status st = codec.Decode(future, msg);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("version 9"), std::string::npos) << st.error().message();
  EXPECT_FALSE(codec.Decode("{\"not\":\"ours\"}", msg).ok());
}

}  // namespace
}  // namespace tuttle::ingest
