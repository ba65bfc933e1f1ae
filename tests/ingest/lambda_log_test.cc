// AWS Lambda logs: platform lines, JSON platform events, application logs and CloudWatch Logs
// subscription envelopes, turned into JSON records (format "lambda").

#include "tuttle/ingest/lambda_log.h"
#include "tuttle/ingest/lambda_log_source.h"
#include "support/gzip_support.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace tuttle::ingest {
namespace {

using nlohmann::json;

using ::tuttle::testing::Base64;
using ::tuttle::testing::Gzip;

json Line(const std::string& line, const LambdaContext& c = {}) {
  LambdaLogConverter conv;
  std::string out;
  Status st = conv.ConvertLine(line, c, out);
  EXPECT_TRUE(st.ok()) << st.error().message();
  return st.ok() ? json::parse(out) : json();
}

std::string LineError(const std::string& line) {
  LambdaLogConverter conv;
  std::string out;
  Status st = conv.ConvertLine(line, {}, out);
  return st.ok() ? "" : st.error().message();
}

TEST(LambdaLogConverter, ReadsStartAndEndLines) {
  auto start = Line("START RequestId: 8f507cfc-2f5b-4b4e-9d1e-5b9c1a9d3e21 Version: $LATEST\n");
  EXPECT_EQ(start["format"], "lambda");
  EXPECT_EQ(start["type"], "START");
  EXPECT_EQ(start["requestId"], "8f507cfc-2f5b-4b4e-9d1e-5b9c1a9d3e21");
  EXPECT_EQ(start["version"], "$LATEST");
  EXPECT_FALSE(start.contains("time"));
  auto end = Line("2024-05-01T12:00:00.250Z END RequestId: 8f507cfc-2f5b-4b4e-9d1e-5b9c1a9d3e21");
  EXPECT_EQ(end["type"], "END");
  EXPECT_EQ(end["time"], "2024-05-01T12:00:00.250Z");
  EXPECT_EQ(end["message"], "END RequestId: 8f507cfc-2f5b-4b4e-9d1e-5b9c1a9d3e21");
}

TEST(LambdaLogConverter, ReadsReportNumbersWithAndWithoutInitDuration) {
  auto r = Line(
      "REPORT RequestId: 8f507cfc-2f5b-4b4e-9d1e-5b9c1a9d3e21\tDuration: 12.34 ms\tBilled "
      "Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tInit Duration: 150.12 ms\t\n"
      "XRAY TraceId: 1-6632-abc\tSegmentId: 3a\tSampled: true\t");
  EXPECT_EQ(r["type"], "REPORT");
  EXPECT_EQ(r["requestId"], "8f507cfc-2f5b-4b4e-9d1e-5b9c1a9d3e21");
  EXPECT_DOUBLE_EQ(r["durationMs"].get<double>(), 12.34);
  EXPECT_EQ(r["billedDurationMs"], 13);
  EXPECT_EQ(r["memorySizeMb"], 128);
  EXPECT_EQ(r["maxMemoryUsedMb"], 70);
  EXPECT_DOUBLE_EQ(r["initDurationMs"].get<double>(), 150.12);
  auto warm = Line(
      "REPORT RequestId: 1d2c\tDuration: 1.01 ms\tBilled Duration: 2 ms\tMemory Size: 512 MB\t"
      "Max Memory Used: 81 MB\t");
  EXPECT_FALSE(warm.contains("initDurationMs"));
  EXPECT_EQ(warm["memorySizeMb"], 512);
}

TEST(LambdaLogConverter, SaysWhatIsWrongWithABadPlatformLine) {
  EXPECT_EQ(LineError("REPORT RequestId: x\tDuration: fast ms\tBilled Duration: 13 ms\t"
                      "Memory Size: 128 MB\tMax Memory Used: 70 MB"),
            "REPORT line: 'Duration' is not a number of ms: 'fast ms'");
  EXPECT_EQ(LineError("REPORT RequestId: x\tDuration: 1 ms\tBilled Duration: 13 ms\t"
                      "Memory Size: 1e3 MB\tMax Memory Used: 70 MB"),
            "REPORT line: 'Memory Size' is not a number of MB: '1e3 MB'");
  EXPECT_EQ(LineError("REPORT RequestId: x\tDuration: 1 ms"),
            "REPORT line without 'Billed Duration'");
  EXPECT_EQ(LineError("START Version: 3"), "START line without a RequestId");
  EXPECT_EQ(LineError("START RequestId: abc"), "START line without a Version");
  EXPECT_EQ(LineError("END RequestId: "), "END line without a RequestId");
  EXPECT_EQ(LineError("hello \xc3\x28"), "invalid UTF-8 in Lambda log message");
  EXPECT_EQ(LineError("   "), "empty Lambda log message");
}

TEST(LambdaLogConverter, ReadsApplicationLogLines) {
  auto node = Line("2024-05-01T12:00:00.123Z\t8f507cfc\tERROR\tInvoke Error {\"errorType\":1}");
  EXPECT_EQ(node["type"], "log");
  EXPECT_EQ(node["time"], "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(node["requestId"], "8f507cfc");
  EXPECT_EQ(node["level"], "ERROR");
  auto py = Line("[WARNING]\t2024-05-01T12:00:00.123Z\t8f507cfc\tdisk almost full");
  EXPECT_EQ(py["level"], "WARNING");
  EXPECT_EQ(py["requestId"], "8f507cfc");
  auto plain = Line("just some print() output");
  EXPECT_EQ(plain["type"], "log");
  EXPECT_EQ(plain["message"], "just some print() output");
  auto init = Line("INIT_START Runtime Version: python:3.12.v18\tRuntime Version ARN: "
                   "arn:aws:lambda:eu-west-1::runtime:abc");
  EXPECT_EQ(init["type"], "INIT_START");
  EXPECT_EQ(init["runtimeVersion"], "python:3.12.v18");
}

TEST(LambdaLogConverter, ReadsJsonPlatformEventsAndKeepsTheirRecord) {
  auto report = Line(R"({"time":"2024-05-01T12:00:00.300Z","type":"platform.report",
      "record":{"requestId":"8f50","metrics":{"durationMs":12.34,"billedDurationMs":13,
      "memorySizeMB":128,"maxMemoryUsedMB":70,"initDurationMs":150.12},"status":"success"}})");
  EXPECT_EQ(report["type"], "REPORT");
  EXPECT_EQ(report["platformType"], "platform.report");
  EXPECT_EQ(report["time"], "2024-05-01T12:00:00.300Z");
  EXPECT_EQ(report["requestId"], "8f50");
  EXPECT_EQ(report["status"], "success");
  EXPECT_DOUBLE_EQ(report["durationMs"].get<double>(), 12.34);
  EXPECT_EQ(report["maxMemoryUsedMb"], 70);
  EXPECT_EQ(report["record"]["metrics"]["billedDurationMs"], 13);
  auto start = Line(R"({"time":"2024-05-01T12:00:00Z","type":"platform.start",
      "record":{"requestId":"8f50","version":"7"}})");
  EXPECT_EQ(start["type"], "START");
  EXPECT_EQ(start["version"], "7");
  auto other = Line(R"({"time":"2024-05-01T12:00:00Z","type":"platform.telemetrySubscription",
      "record":{"name":"ext"}})");
  EXPECT_EQ(other["type"], "platform.telemetrySubscription");
  EXPECT_EQ(LineError(R"({"time":"yesterday","type":"platform.start","record":{}})"),
            "Lambda platform event without a valid 'time' (RFC 3339)");
  EXPECT_EQ(LineError(R"({"time":"2024-05-01T12:00:00Z","type":"platform.start"})"),
            "Lambda platform event without a 'record' object");
  EXPECT_EQ(LineError(R"({"time":"2024-05-01T12:00:00Z","type":"platform.report",
      "record":{"metrics":{"durationMs":"slow"}}})"),
            "Lambda platform event: metric 'durationMs' is not a number");
}

TEST(LambdaLogFormat, ReadsFunctionAndVersionFromGroupAndStreamNames) {
  EXPECT_EQ(LambdaFunctionFromLogGroup("/aws/lambda/checkout-api"), "checkout-api");
  EXPECT_EQ(LambdaFunctionFromLogGroup("/ecs/web"), "");
  EXPECT_EQ(LambdaVersionFromLogStream("2024/05/01/[$LATEST]0123abcd"), "$LATEST");
  EXPECT_EQ(LambdaVersionFromLogStream("2024/05/01/[12]0123abcd"), "12");
  EXPECT_EQ(LambdaVersionFromLogStream("no-version"), "");
}

class OneBatchSource final : public RecordSource {
 public:
  explicit OneBatchSource(std::vector<std::string> records) : records_(std::move(records)) {}
  Result<bool> Next(RecordBatch& b) override {
    const uint32_t s = b.InternSource("lambda-logs");
    for (size_t i = 0; i < records_.size(); ++i) {
      b.Add(records_[i], RecordMeta{s, 2, static_cast<int64_t>(100 + i), kNoTime});
    }
    b.AddStreamEvent(StreamEvent{s, 2, StreamEvent::Kind::kIdle});
    return false;
  }
  Status Commit(const std::vector<SourcePosition>&) override { return Ok(); }
  void Stop() override {}

 private:
  std::vector<std::string> records_;
};

const char* kEnvelope = R"({"messageType":"DATA_MESSAGE","owner":"123456789012",
  "logGroup":"/aws/lambda/checkout-api","logStream":"2024/05/01/[$LATEST]5d2fe8a1b2c3",
  "subscriptionFilters":["tuttle"],"logEvents":[
  {"id":"3819","timestamp":1714564800000,"message":"START RequestId: 8f50 Version: $LATEST\n"},
  {"id":"3820","timestamp":1714564800100,"message":"2024-05-01T12:00:00.100Z\t8f50\tINFO\t{\"order\":42}\n"},
  {"id":"3821","timestamp":1714564800200,"message":"REPORT RequestId: 8f50\tDuration: x ms\n"},
  {"id":"3822","timestamp":1714564800250,"message":"END RequestId: 8f50\n"},
  {"id":"3823","timestamp":1714564800260,"message":"{\"timestamp\":\"2024-05-01T12:00:00.260Z\",\"level\":\"INFO\",\"requestId\":\"8f50\",\"message\":\"paid\"}"}]})";

TEST(LambdaLogSource, SplitsAnEnvelopeIntoRecordsWithTheFunctionAndRejectsABadEvent) {
  LambdaLogSource src(std::make_unique<OneBatchSource>(std::vector<std::string>{
      kEnvelope,
      R"({"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","logEvents":[]})",
      R"({"messageType":"DATA_MESSAGE","logGroup":"/aws/lambda/f","logEvents":[)",
      "\x1f\x8b\x08\x00", R"({"kind":"Event","auditID":"a"})",
      "REPORT RequestId: 1\tDuration: 1 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\t"
      "Max Memory Used: 9 MB"}));
  RecordBatch b;
  auto more = src.Next(b);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  ASSERT_EQ(b.size(), 6u);
  std::vector<json> r;
  for (size_t i = 0; i < 4; ++i) r.push_back(json::parse(b.bytes(i)));
  EXPECT_EQ(r[0]["type"], "START");
  EXPECT_EQ(r[0]["functionName"], "checkout-api");
  EXPECT_EQ(r[0]["logGroup"], "/aws/lambda/checkout-api");
  EXPECT_EQ(r[0]["eventId"], "3819");
  EXPECT_EQ(r[0]["owner"], "123456789012");
  EXPECT_EQ(r[0]["time"], "2024-05-01T12:00:00.000Z");
  EXPECT_EQ(r[1]["type"], "log");
  EXPECT_EQ(r[1]["level"], "INFO");
  EXPECT_EQ(r[1]["version"], "$LATEST");  // from the log stream
  EXPECT_EQ(r[2]["type"], "END");
  EXPECT_EQ(r[3]["json"]["message"], "paid");
  EXPECT_EQ(r[3]["time"], "2024-05-01T12:00:00.260Z");  // the application's own
  EXPECT_EQ(b.bytes(4), R"({"kind":"Event","auditID":"a"})");  // another format: unchanged
  EXPECT_EQ(json::parse(b.bytes(5))["maxMemoryUsedMb"], 9);
  for (size_t i = 0; i < b.size(); ++i) EXPECT_EQ(b.meta(i).partition, 2);
  EXPECT_EQ(b.meta(0).offset, 100);
  EXPECT_EQ(b.meta(3).offset, 100);
  ASSERT_EQ(b.rejected().size(), 3u);
  EXPECT_EQ(b.rejected()[0].reason,
            "CloudWatch Logs envelope: log event 3: REPORT line: 'Duration' is not a number of "
            "ms: 'x ms'");
  EXPECT_EQ(b.rejected()[0].meta.offset, 100);
  EXPECT_NE(b.rejected()[1].reason.find("malformed JSON in Lambda log record"), std::string::npos);
  EXPECT_EQ(b.rejected()[1].meta.offset, 102);
  EXPECT_EQ(b.rejected()[2].reason, "malformed gzip: truncated stream (CloudWatch Logs envelope)");
  ASSERT_EQ(b.stream_events().size(), 1u);
  EXPECT_EQ(b.stream_events()[0].before_record, 6u);
}

TEST(LambdaLogSource, RejectsEnvelopesWithoutTheirFields) {
  LambdaLogSource src(std::make_unique<OneBatchSource>(std::vector<std::string>{
      R"({"messageType":"DATA_MESSAGE","logGroup":"/aws/lambda/f","logStream":"s"})",
      R"({"messageType":"SOMETHING"})",
      R"({"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"1","message":"hi"},7]})"}));
  RecordBatch b;
  ASSERT_TRUE(src.Next(b).ok());
  EXPECT_EQ(b.size(), 0u);
  ASSERT_EQ(b.rejected().size(), 4u);
  EXPECT_NE(b.rejected()[0].reason.find("array 'logEvents'"), std::string::npos);
  EXPECT_NE(b.rejected()[1].reason.find("messageType 'SOMETHING'"), std::string::npos);
  EXPECT_NE(b.rejected()[2].reason.find("log event 1 lacks"), std::string::npos);
  EXPECT_NE(b.rejected()[3].reason.find("log event 2 lacks"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Compressed envelopes: what subscription filters deliver to Kinesis, Firehose and Lambda.

RecordBatch Convert(const std::vector<std::string>& inputs, LambdaLogSourceOptions options = {}) {
  LambdaLogSource src(std::make_unique<OneBatchSource>(inputs), std::move(options));
  RecordBatch b;
  EXPECT_TRUE(src.Next(b).ok());
  return b;
}

const char* kControl =
    R"({"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"",)"
    R"("subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1714564800000,)"
    R"("message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]})";

TEST(LambdaLogSource, ReadsGzipAndBase64GzipEnvelopesLikePlainOnes) {
  const RecordBatch plain = Convert({kEnvelope});
  const RecordBatch gzip = Convert({Gzip(kEnvelope)});
  const RecordBatch base64 = Convert({Base64(Gzip(kEnvelope)) + "\n"});
  ASSERT_EQ(plain.size(), 4u);
  for (const RecordBatch* b : {&gzip, &base64}) {
    ASSERT_EQ(b->size(), plain.size());
    for (size_t i = 0; i < plain.size(); ++i) EXPECT_EQ(b->bytes(i), plain.bytes(i));
    ASSERT_EQ(b->rejected().size(), 1u);  // the REPORT line with a bad Duration, as in plain
    EXPECT_EQ(b->rejected()[0].reason, plain.rejected()[0].reason);
  }
  EXPECT_EQ(json::parse(gzip.bytes(0))["owner"], "123456789012");
  EXPECT_EQ(json::parse(gzip.bytes(0))["functionName"], "checkout-api");
}

TEST(LambdaLogSource, SkipsGzipControlMessagesAndReadsConcatenatedFirehoseMembers) {
  // Firehose writes each subscription delivery as a gzip member of its own, back to back.
  const std::string two = R"({"messageType":"DATA_MESSAGE","owner":"210987654321",)"
                          R"("logGroup":"/aws/lambda/refunds","logStream":"2024/05/01/[7]aa",)"
                          R"("subscriptionFilters":["tuttle"],"logEvents":[)"
                          R"({"id":"1","timestamp":1714564801000,"message":"END RequestId: 9\n"}]})";
  const RecordBatch b = Convert({Gzip(kControl), Gzip(kEnvelope) + Gzip(kControl) + Gzip(two)});
  EXPECT_EQ(b.size(), 5u);  // 4 of kEnvelope, 1 of `two`; none of the control messages
  ASSERT_EQ(b.rejected().size(), 1u);  // kEnvelope's bad REPORT line only
  const json last = json::parse(b.bytes(4));
  EXPECT_EQ(last["functionName"], "refunds");
  EXPECT_EQ(last["version"], "7");
  EXPECT_EQ(last["owner"], "210987654321");
}

TEST(LambdaLogSource, DeadLettersDecompressionBombsAndMalformedGzip) {
  // 4 MiB of spaces compress to a few KiB: over a 1 MiB limit once decompressed.
  const std::string bomb = Gzip(std::string(size_t{4} << 20, ' '));
  ASSERT_LT(bomb.size(), size_t{64} << 10);
  std::string corrupt = Gzip(kEnvelope);
  corrupt[corrupt.size() / 2] = static_cast<char>(corrupt[corrupt.size() / 2] ^ 0x55);
  const std::string good = Gzip(kEnvelope);
  LambdaLogSourceOptions options;
  options.max_decompressed_bytes = size_t{1} << 20;
  const RecordBatch b = Convert(
      {bomb, corrupt, good.substr(0, good.size() - 10), good + "junk", "H4sI!not-base64",
       Base64("\x1f\x8b\x08" + std::string("garbage"))},
      options);
  EXPECT_EQ(b.size(), 4u);  // `good + "junk"`: its member is read before the junk is found
  ASSERT_EQ(b.rejected().size(), 7u);
  EXPECT_EQ(b.rejected()[0].reason,
            "record too large: decompressed gzip over the limit of 1048576 bytes (CloudWatch "
            "Logs envelope)");
  EXPECT_EQ(b.rejected()[0].bytes, bomb);  // the input as it came, for re-drive
  // The limit holds for all members of an input together.
  LambdaLogSourceOptions small;
  small.max_decompressed_bytes = std::string_view(kEnvelope).size() + 10;
  const RecordBatch two = Convert({Gzip(kEnvelope) + Gzip(kEnvelope)}, small);
  EXPECT_EQ(two.size(), 4u);  // the first member's
  ASSERT_EQ(two.rejected().size(), 2u);
  EXPECT_EQ(two.rejected()[1].reason,
            "record too large: decompressed gzip over the limit of " +
                std::to_string(small.max_decompressed_bytes) + " bytes (CloudWatch Logs envelope)");
  EXPECT_TRUE(b.rejected()[1].reason.starts_with("malformed gzip: ")) << b.rejected()[1].reason;
  EXPECT_EQ(b.rejected()[2].reason, "malformed gzip: truncated stream (CloudWatch Logs envelope)");
  // [3] is good's bad REPORT line.
  EXPECT_EQ(b.rejected()[4].reason,
            "malformed gzip: 4 trailing byte(s) that start no gzip member");
  EXPECT_TRUE(b.rejected()[5].reason.starts_with("invalid base64: ")) << b.rejected()[5].reason;
  EXPECT_TRUE(b.rejected()[6].reason.starts_with("malformed gzip: ")) << b.rejected()[6].reason;
}

}  // namespace
}  // namespace tuttle::ingest
