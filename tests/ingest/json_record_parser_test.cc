// Format adapters on real-shaped records: the Kubernetes audit captures in ../shared, and Falco
// and CloudTrail records as those tools write them.

#include "tuttle/ingest/json_record_parser.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "support/test_support.h"
#include "tuttle/engine/record.h"

namespace tuttle::ingest {
namespace {

struct Parsed {
  Status status;
  std::vector<std::string> formats;
  std::vector<TimeNs> times;
  std::vector<std::string> products, services;
  std::map<std::string, std::vector<std::string>> fields;  // path -> values (scalars as text)
};

class Capture final : public RecordParser::EventHandler {
 public:
  explicit Capture(const FieldCatalog& c, Parsed& out) : catalog_(c), out_(out) {}
  void OnEvent(const Event& e) override {
    out_.formats.emplace_back(e.format);
    out_.times.push_back(e.time);
    out_.products.emplace_back(e.log_source.product);
    out_.services.emplace_back(e.log_source.service);
    for (const FieldValue& v : e.fields->values()) {
      std::string text(v.text);
      if (v.kind == ValueKind::kObject) text = "{object}";
      if (v.kind == ValueKind::kNull) text = "null";
      if (v.kind == ValueKind::kArray) text = "[]";
      out_.fields[catalog_.Path(v.path)].push_back(text);
    }
  }

 private:
  const FieldCatalog& catalog_;
  Parsed& out_;
};

class JsonRecordParserTest : public ::testing::Test {
 protected:
  JsonRecordParserTest() {
    auto c = std::make_shared<FieldCatalog>();
    RegisterAdapterFields(*c);
    for (const char* p : {"objectRef.namespace", "objectRef.subresource", "user.username",
                          "sourceIPs", "requestObject.spec.containers.securityContext.privileged",
                          "output_fields.proc.cmdline", "output_fields.container.id",
                          "output_fields.evt.time", "tags", "userIdentity.arn", "eventName",
                          "errorCode", "a.b", "weird\"key"}) {
      c->Intern(p);
    }
    catalog_ = c;
    parser_ = std::make_unique<JsonRecordParser>(catalog_);
    worker_ = parser_->NewWorker();
  }

  Parsed Parse(std::string_view text, TimeNs transport_time = kNoTime) {
    RecordBatch batch;
    batch.Add(text, RecordMeta{batch.InternSource("test"), -1, 1, transport_time});
    Parsed out;
    Capture capture(*catalog_, out);
    out.status = worker_->Parse(batch.bytes(0), batch.meta(0), capture);
    return out;
  }

  std::shared_ptr<const FieldCatalog> catalog_;
  std::unique_ptr<JsonRecordParser> parser_;
  std::unique_ptr<RecordParser::Worker> worker_;
};

TEST_F(JsonRecordParserTest, ReadsEveryRealKubernetesAuditCapture) {
  auto shared = testing::SharedDir();
  if (!shared) GTEST_SKIP() << "../shared is absent: no Kubernetes audit captures to read";
  const auto dir = *shared / "samples" / "falco-k8s-audit";
  int parsed = 0, failed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    // Most captures are one event; some hold several, one per line.
    const std::string text = testing::ReadFile(entry.path());
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      const std::string line = text.substr(start, end - start);
      start = end + 1;
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      const Parsed p = Parse(line);
      if (entry.path().filename() == "fal_01_003.json") {
        // Deliberately malformed in the capture set.
        EXPECT_FALSE(p.status.ok());
        ++failed;
        continue;
      }
      ASSERT_TRUE(p.status.ok()) << entry.path() << ": " << p.status.error().message();
      ASSERT_EQ(p.formats.size(), 1u);
      EXPECT_EQ(p.formats[0], "k8s_audit") << entry.path();
      EXPECT_EQ(p.products[0], "kubernetes");
      EXPECT_EQ(p.services[0], "audit");
      EXPECT_GT(p.times[0], *ParseTimestamp("2018-01-01T00:00:00Z")) << entry.path();
      ++parsed;
    }
  }
  EXPECT_GE(parsed, 46);
  EXPECT_EQ(failed, 1);
}

TEST_F(JsonRecordParserTest, KubernetesAuditTakesStageTimestampAndReadsNestedFields) {
  auto shared = testing::SharedDir();
  if (!shared) GTEST_SKIP() << "../shared is absent";
  const Parsed exec = Parse(testing::ReadFile(*shared / "samples/falco-k8s-audit/exec_pod.json"));
  ASSERT_TRUE(exec.status.ok());
  EXPECT_EQ(exec.fields.at("objectRef.subresource"), std::vector<std::string>{"exec"});
  EXPECT_EQ(exec.fields.at("objectRef.namespace"), std::vector<std::string>{"default"});
  EXPECT_EQ(exec.fields.at("user.username"), std::vector<std::string>{"minikube-user"});
  EXPECT_EQ(FormatTimestamp(exec.times[0]),
            FormatTimestamp(*ParseTimestamp(exec.fields.at("stageTimestamp")[0])));

  const Parsed priv = Parse(testing::ReadFile(
      *shared / "samples/falco-k8s-audit/create_nginx_pod_privileged_2nd_container.json"));
  ASSERT_TRUE(priv.status.ok());
  // A path through an array yields one value per element.
  const auto& flags = priv.fields.at("requestObject.spec.containers.securityContext.privileged");
  EXPECT_EQ(flags, (std::vector<std::string>{"false", "true"}));
}

TEST_F(JsonRecordParserTest, FalcoOutputFieldsWithDottedKeysResolve) {
  const Parsed p = Parse(
      R"({"hostname":"node-1","output":"12:00:00 Notice shell","priority":"Notice",)"
      R"("rule":"Terminal shell in container","source":"syscall","tags":["container","shell"],)"
      R"("time":"2026-03-14T12:00:00.123456789Z","output_fields":{"container.id":"3ad7b26ded6d",)"
      R"("evt.time":1773489600123456789,"proc.cmdline":"bash -il","user.name":null}})");
  ASSERT_TRUE(p.status.ok()) << p.status.error().message();
  EXPECT_EQ(p.formats[0], "falco");
  EXPECT_EQ(p.products[0], "falco");
  EXPECT_EQ(p.times[0], *ParseTimestamp("2026-03-14T12:00:00.123456789Z"));
  EXPECT_EQ(p.fields.at("output_fields.proc.cmdline"), std::vector<std::string>{"bash -il"});
  EXPECT_EQ(p.fields.at("output_fields.container.id"), std::vector<std::string>{"3ad7b26ded6d"});
  EXPECT_EQ(p.fields.at("output_fields.evt.time"),
            std::vector<std::string>{"1773489600123456789"});
  EXPECT_EQ(p.fields.at("tags"), (std::vector<std::string>{"container", "shell"}));
}

TEST_F(JsonRecordParserTest, CloudTrailRecordsAreAwsCloudtrail) {
  const Parsed p = Parse(
      R"({"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/ci"},)"
      R"("eventTime":"2026-03-14T12:05:00Z","eventSource":"lambda.amazonaws.com",)"
      R"("eventName":"UpdateFunctionCode20150331v2","awsRegion":"eu-west-1","errorCode":null})");
  ASSERT_TRUE(p.status.ok()) << p.status.error().message();
  EXPECT_EQ(p.formats[0], "cloudtrail");
  EXPECT_EQ(p.products[0], "aws");
  EXPECT_EQ(p.services[0], "cloudtrail");
  EXPECT_EQ(p.fields.at("userIdentity.arn"),
            std::vector<std::string>{"arn:aws:iam::111122223333:user/ci"});
  EXPECT_EQ(p.fields.at("errorCode"), std::vector<std::string>{"null"});
}

TEST_F(JsonRecordParserTest, UnescapesStringsAndKeys) {
  const Parsed p = Parse(
      R"({"eventVersion":"1.08","eventSource":"s3","eventTime":"2026-03-14T12:05:00Z",)"
      R"("eventName":"Get\u004fbject \"quoted\"","weird\"key":"x"})");
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.fields.at("eventName"), std::vector<std::string>{"GetObject \"quoted\""});
  EXPECT_EQ(p.fields.at("weird\"key"), std::vector<std::string>{"x"});
}

TEST_F(JsonRecordParserTest, BadRecordsGetAReason) {
  auto reason = [&](std::string_view text) {
    const Parsed p = Parse(text);
    EXPECT_FALSE(p.status.ok()) << text;
    EXPECT_TRUE(p.formats.empty()) << text;
    return p.status.ok() ? std::string() : p.status.error().message();
  };
  EXPECT_EQ(reason(""), "empty record");
  EXPECT_NE(reason(R"({"kind":"Event","auditID":"x","stageTimestamp":)").find("malformed JSON"),
            std::string::npos);
  EXPECT_NE(reason("[1,2,3]").find("not an object"), std::string::npos);
  EXPECT_NE(reason(R"({"a":1} {"b":2})").find("trailing content"), std::string::npos);
  EXPECT_NE(reason(R"({"hello":"world"})").find("unrecognized record format"), std::string::npos);
  EXPECT_NE(reason(R"({"Records":[{"eventVersion":"1.08"}]})").find("delivery batch"),
            std::string::npos);
  EXPECT_EQ(reason(R"({"kind":"Event","auditID":"x","stageTimestamp":"yesterday"})"),
            "no event time: k8s_audit record without a valid 'stageTimestamp' (RFC 3339)");
}

TEST_F(JsonRecordParserTest, ARecordWithoutTimeTakesTheKafkaTimestamp) {
  const TimeNs kafka_time = *ParseTimestamp("2026-03-14T12:00:00Z");
  const Parsed p = Parse(R"({"kind":"Event","auditID":"x","verb":"get"})", kafka_time);
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.times[0], kafka_time);
}

TEST(JsonRecordParser, UsesSimdjsonsSimdKernelNotTheScalarFallback) {
#if defined(__x86_64__) && defined(__AVX2__)
  EXPECT_EQ(JsonRecordParser::SimdKernel(), "haswell");
#else
  GTEST_SKIP() << "not an x86-64-v3 build";
#endif
}

TEST_F(JsonRecordParserTest, DeeplyNestedArraysFailCleanly) {
  std::string deep = R"({"kind":"Event","auditID":"x","a":{"b":)";
  for (int i = 0; i < 5000; ++i) deep += "[";
  for (int i = 0; i < 5000; ++i) deep += "]";
  deep += "}}";
  const Parsed p = Parse(deep);
  EXPECT_FALSE(p.status.ok());
}

}  // namespace
}  // namespace tuttle::ingest
