// Format adapters on real-shaped records: the Kubernetes audit captures in ../shared, and Falco
// and CloudTrail records as those tools write them.

#include "tuttle/ingest/json_record_parser.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <map>
#include <string>

#include "support/test_support.h"
#include "tuttle/engine/record.h"
#include "support/gzip_support.h"

namespace tuttle::ingest {
namespace {

using ::tuttle::testing::Gzip;

struct Parsed {
  Status status;
  std::vector<std::string> formats;
  std::vector<std::map<std::string, std::string>> entities;  // per event: name -> value
  std::vector<std::string> raws;
  std::vector<Hash128> ids;
  std::vector<std::pair<std::string, std::string>> rejected;  // part, reason
  std::vector<TimeNs> times;
  std::vector<std::string> tenants;  // Event::tenant
  std::vector<std::string> products, services;
  std::vector<bool> invocations;  // Event::invocation
  std::map<std::string, std::vector<std::string>> fields;  // path -> values (scalars as text)
};

class Capture final : public RecordParser::EventHandler {
 public:
  explicit Capture(const FieldCatalog& c, Parsed& out) : catalog_(c), out_(out) {}
  void OnEvent(const Event& e) override {
    out_.formats.emplace_back(e.format);
    out_.times.push_back(e.time);
    out_.tenants.emplace_back(e.tenant);
    out_.products.emplace_back(e.log_source.product);
    out_.services.emplace_back(e.log_source.service);
    out_.invocations.push_back(e.invocation);
    out_.raws.emplace_back(e.raw);
    out_.ids.push_back(e.record_id);
    auto& ent = out_.entities.emplace_back();
    e.entities.ForEach([&](std::string_view name, std::string_view value) {
      if (!value.empty()) ent[std::string(name)] = std::string(value);
    });
    for (const FieldValue& v : e.fields->values()) {
      std::string text(v.text);
      if (v.kind == ValueKind::kObject) text = "{object}";
      if (v.kind == ValueKind::kNull) text = "null";
      if (v.kind == ValueKind::kArray) text = "[]";
      out_.fields[catalog_.Path(v.path)].push_back(text);
    }
  }

  void OnRejectedPart(std::string_view part, const std::string& reason) override {
    out_.rejected.emplace_back(std::string(part), reason);
  }

 private:
  const FieldCatalog& catalog_;
  Parsed& out_;
};

// The real-shaped samples of one format: ingest/samples/formats/<name>.jsonl, one per line.
std::vector<std::string> Samples(std::string_view name) {
  const std::string text = testing::ReadFile(testing::SourceDir() / "ingest" / "samples" /
                                             "formats" / (std::string(name) + ".jsonl"));
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string Entity(const Parsed& p, size_t event, const std::string& name) {
  if (event >= p.entities.size()) return "<no event>";
  auto it = p.entities[event].find(name);
  return it == p.entities[event].end() ? std::string() : it->second;
}

class JsonRecordParserTest : public ::testing::Test {
 protected:
  JsonRecordParserTest() {
    auto c = std::make_shared<FieldCatalog>();
    RegisterAdapterFields(*c);
    for (const char* p : {"objectRef.namespace", "objectRef.subresource", "user.username",
                          "sourceIPs", "requestObject.spec.containers.securityContext.privileged",
                          "output_fields.proc.cmdline", "output_fields.container.id",
                          "output_fields.evt.time", "tags", "userIdentity.arn", "eventName",
                          "errorCode", "a.b", "weird\"key", "objectRef.name", "verb",
                          "protoPayload.methodName", "Action", "properties.message",
                          "Results.Vulnerabilities.PkgName", "requestParameters.functionName"}) {
      c->Intern(p);
    }
    catalog_ = c;
    parser_ = std::make_unique<JsonRecordParser>(catalog_);
    worker_ = parser_->NewWorker();
  }

  Parsed Parse(std::string_view text, TimeNs transport_time = kNoTime,
               std::string_view pinned = {}) {
    return ParseWith(*worker_, text, transport_time, pinned);
  }

  Parsed ParseWith(RecordParser::Worker& worker, std::string_view text,
                   TimeNs transport_time = kNoTime, std::string_view pinned = {},
                   uint16_t tenant = 0) {
    RecordBatch batch;
    RecordMeta meta{batch.InternSource("test"), -1, 1, transport_time};
    meta.tenant = tenant;
    if (!pinned.empty()) {
      auto id = JsonRecordParser::FormatId(pinned);
      EXPECT_TRUE(id.has_value()) << pinned;
      meta.format = id.value_or(0);
    }
    batch.Add(text, meta);
    Parsed out;
    Capture capture(*catalog_, out);
    out.status = worker.Parse(batch.bytes(0), batch.meta(0), capture);
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

// ---------------------------------------------------------------------------------------------
// Every format on its real-shaped samples: format, log source, time and entities.

TEST_F(JsonRecordParserTest, KubernetesAuditV1AndV1beta1CarryTheirEntities) {
  const auto records = Samples("k8s_audit");
  ASSERT_EQ(records.size(), 3u);
  const Parsed exec = Parse(records[0]);
  ASSERT_TRUE(exec.status.ok()) << exec.status.error().message();
  EXPECT_EQ(exec.formats[0], "k8s_audit");
  EXPECT_EQ(exec.times[0], *ParseTimestamp("2026-03-14T09:00:00.184251Z"));
  EXPECT_EQ(Entity(exec, 0, "namespace"), "payments");
  EXPECT_EQ(Entity(exec, 0, "pod"), "api-7d9f8b6c4-x2x9q");
  EXPECT_EQ(Entity(exec, 0, "principal"), "alice@example.com");
  EXPECT_EQ(Entity(exec, 0, "source_address"), "203.0.113.24");
  EXPECT_EQ(Entity(exec, 0, "workload"), "");

  const Parsed deploy = Parse(records[1]);
  ASSERT_TRUE(deploy.status.ok());
  EXPECT_EQ(Entity(deploy, 0, "workload"), "api");
  EXPECT_EQ(Entity(deploy, 0, "pod"), "");
  EXPECT_EQ(Entity(deploy, 0, "image"),
            "registry.example.com/payments/api@sha256:"
            "4f1a9e0c2b5d8e7f6a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f");
  EXPECT_EQ(Entity(deploy, 0, "image_digest"),
            "sha256:4f1a9e0c2b5d8e7f6a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f");
  EXPECT_EQ(Entity(deploy, 0, "principal"), "system:serviceaccount:ci:deployer");

  const Parsed beta = Parse(records[2]);
  ASSERT_TRUE(beta.status.ok());
  EXPECT_EQ(beta.formats[0], "k8s_audit");
  EXPECT_EQ(beta.times[0], *ParseTimestamp("2019-02-01T10:00:00.004020Z"));
  EXPECT_EQ(Entity(beta, 0, "namespace"), "kube-system");
}

TEST_F(JsonRecordParserTest, AksAuditReadsTheEventInsidePropertiesLog) {
  const auto records = Samples("aks_audit");
  const Parsed p = Parse(records[0]);
  ASSERT_TRUE(p.status.ok()) << p.status.error().message();
  EXPECT_EQ(p.formats[0], "aks_audit");
  EXPECT_EQ(p.products[0], "kubernetes");
  EXPECT_EQ(p.services[0], "audit");
  // The inner event's fields are where Kubernetes audit rules look for them.
  EXPECT_EQ(p.fields.at("objectRef.subresource"), std::vector<std::string>{"exec"});
  EXPECT_EQ(p.fields.at("user.username"), std::vector<std::string>{"alice@example.com"});
  EXPECT_EQ(p.times[0], *ParseTimestamp("2026-03-14T09:00:00.184251Z"));
  EXPECT_EQ(Entity(p, 0, "cluster"), "AKS-PROD-WEU");
  EXPECT_EQ(Entity(p, 0, "tenant"), "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d");
  EXPECT_EQ(Entity(p, 0, "pod"), "api-7d9f8b6c4-x2x9q");

  // Event Hubs deliver {"records": [...]}: one event per record.
  const Parsed hub = Parse(records[1]);
  ASSERT_TRUE(hub.status.ok()) << hub.status.error().message();
  EXPECT_EQ(hub.formats, (std::vector<std::string>{"aks_audit", "aks_audit"}));
  EXPECT_EQ(Entity(hub, 1, "workload"), "api");
  EXPECT_NE(hub.ids[0], hub.ids[1]);
}

TEST_F(JsonRecordParserTest, AksAuditWithABrokenInnerLogIsMalformed) {
  const Parsed p = Parse(
      R"({"category":"kube-audit","resourceId":"/SUBSCRIPTIONS/S/PROVIDERS/X/MANAGEDCLUSTERS/C",)"
      R"("properties":{"log":"{\"kind\":\"Event\",\"auditID\":"},"time":"2026-03-14T09:00:00Z"})");
  ASSERT_FALSE(p.status.ok());
  EXPECT_TRUE(p.status.error().message().starts_with("malformed JSON: properties.log"))
      << p.status.error().message();
  const Parsed other = Parse(
      R"({"category":"kube-audit","properties":{"log":"{\"hello\":1}"},"time":"2026-03-14T09:00:00Z"})");
  ASSERT_FALSE(other.status.ok());
  EXPECT_NE(other.status.error().message().find("no Kubernetes audit event"), std::string::npos);
}

TEST_F(JsonRecordParserTest, GkeAuditGetsKubernetesPathsDerivedFromTheAuditLog) {
  const auto records = Samples("gke_audit");
  const Parsed p = Parse(records[0]);
  ASSERT_TRUE(p.status.ok()) << p.status.error().message();
  EXPECT_EQ(p.formats[0], "gke_audit");
  EXPECT_EQ(p.products[0], "kubernetes");
  EXPECT_EQ(p.services[0], "audit");
  EXPECT_EQ(p.times[0], *ParseTimestamp("2026-03-14T09:02:00.412345Z"));
  EXPECT_EQ(p.fields.at("verb"), std::vector<std::string>{"create"});
  EXPECT_EQ(p.fields.at("objectRef.subresource"), std::vector<std::string>{"exec"});
  EXPECT_EQ(p.fields.at("objectRef.namespace"), std::vector<std::string>{"payments"});
  EXPECT_EQ(p.fields.at("objectRef.name"), std::vector<std::string>{"api-7d9f8b6c4-x2x9q"});
  EXPECT_EQ(p.fields.at("user.username"), std::vector<std::string>{"mallory@example.com"});
  EXPECT_EQ(p.fields.at("sourceIPs"), std::vector<std::string>{"203.0.113.99"});
  EXPECT_EQ(Entity(p, 0, "cluster"), "gke-prod-1");
  EXPECT_EQ(Entity(p, 0, "tenant"), "acme-prod-4711");
  EXPECT_EQ(Entity(p, 0, "pod"), "api-7d9f8b6c4-x2x9q");

  const Parsed crb = Parse(records[1]);  // cluster-scoped: no namespace
  ASSERT_TRUE(crb.status.ok());
  EXPECT_EQ(crb.fields.at("objectRef.resource"), std::vector<std::string>{"clusterrolebindings"});
  EXPECT_EQ(crb.fields.at("objectRef.name"), std::vector<std::string>{"pwn-admin"});
  EXPECT_EQ(crb.fields.count("objectRef.namespace"), 0u);
}

TEST_F(JsonRecordParserTest, GcpAuditForCloudFunctionsAndCloudRun) {
  const auto records = Samples("gcp_audit");
  const Parsed gcf = Parse(records[0]);
  ASSERT_TRUE(gcf.status.ok()) << gcf.status.error().message();
  EXPECT_EQ(gcf.formats[0], "gcp_audit");
  EXPECT_EQ(gcf.products[0], "gcp");
  EXPECT_EQ(gcf.services[0], "gcp.audit");
  EXPECT_EQ(Entity(gcf, 0, "function_name"), "resize-images");
  EXPECT_EQ(Entity(gcf, 0, "function_arn"),
            "projects/acme-prod-4711/locations/europe-west1/functions/resize-images");
  EXPECT_EQ(Entity(gcf, 0, "principal"), "deployer@acme-prod-4711.iam.gserviceaccount.com");
  EXPECT_EQ(Entity(gcf, 0, "source_address"), "198.51.100.23");
  EXPECT_EQ(Entity(gcf, 0, "tenant"), "acme-prod-4711");
  EXPECT_EQ(gcf.fields.count("verb"), 0u);  // derived for GKE only

  const Parsed run = Parse(records[1]);
  ASSERT_TRUE(run.status.ok());
  EXPECT_EQ(Entity(run, 0, "function_name"), "checkout");
  EXPECT_EQ(Entity(run, 0, "function_version"), "checkout-00042-xiz");
  EXPECT_EQ(run.times[0], *ParseTimestamp("2026-03-14T09:06:30.5Z"));
}

TEST_F(JsonRecordParserTest, FalcoCarriesContainerAndPodEntities) {
  const Parsed p = Parse(Samples("falco")[0]);
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(Entity(p, 0, "container_id"), "3ad7b26ded6d");
  EXPECT_EQ(Entity(p, 0, "image"), "registry.example.com/payments/api");
  EXPECT_EQ(Entity(p, 0, "image_digest"),
            "sha256:4f1a9e0c2b5d8e7f6a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f");
  EXPECT_EQ(Entity(p, 0, "namespace"), "payments");
  EXPECT_EQ(Entity(p, 0, "pod"), "api-7d9f8b6c4-x2x9q");
  EXPECT_EQ(Entity(p, 0, "principal"), "root");
}

TEST_F(JsonRecordParserTest, CloudTrailLambdaNamesLoseTheirVersionSuffixInEventNameBase) {
  const auto records = Samples("cloudtrail");
  const Parsed create = Parse(records[0]);
  ASSERT_TRUE(create.status.ok());
  EXPECT_EQ(create.fields.at("eventName"), std::vector<std::string>{"CreateFunction20150331"});
  EXPECT_EQ(create.fields.at("eventNameBase"), std::vector<std::string>{"CreateFunction"});
  EXPECT_EQ(Entity(create, 0, "function_name"), "payments-webhook");
  EXPECT_EQ(Entity(create, 0, "function_arn"),
            "arn:aws:lambda:eu-west-1:111122223333:function:payments-webhook");
  EXPECT_EQ(Entity(create, 0, "function_version"), "1");
  EXPECT_EQ(Entity(create, 0, "principal"),
            "arn:aws:sts::111122223333:assumed-role/ci-deployer/gh-actions-4711");
  EXPECT_EQ(Entity(create, 0, "source_address"), "203.0.113.50");
  EXPECT_EQ(Entity(create, 0, "tenant"), "111122223333");

  const Parsed update = Parse(records[1]);
  ASSERT_TRUE(update.status.ok());
  EXPECT_EQ(update.fields.at("eventNameBase"), std::vector<std::string>{"UpdateFunctionCode"});
  // functionName given as a qualified ARN.
  EXPECT_EQ(Entity(update, 0, "function_name"), "payments-webhook");
  EXPECT_EQ(Entity(update, 0, "function_version"), "7");

  auto base = [&](std::string_view name) {
    std::string r = R"({"eventVersion":"1.08","eventSource":"lambda.amazonaws.com",)"
                    R"("eventTime":"2026-03-14T09:10:00Z","eventName":")";
    r += name;
    r += "\"}";
    const Parsed p = Parse(r);
    EXPECT_TRUE(p.status.ok());
    return p.fields.count("eventNameBase") ? p.fields.at("eventNameBase")[0] : "<none>";
  };
  EXPECT_EQ(base("GetFunction20150331v2"), "GetFunction");
  EXPECT_EQ(base("PutFunctionConcurrency20171031"), "PutFunctionConcurrency");
  EXPECT_EQ(base("Invoke"), "Invoke");
  EXPECT_EQ(base("ListFunctions"), "ListFunctions");
  EXPECT_EQ(base("AssumeRole"), "AssumeRole");
  EXPECT_EQ(base("Version12345678"), "Version12345678");  // not a date
}

TEST_F(JsonRecordParserTest, CloudTrailEcsEksAndEcrEventsNameTheirClusterAndImage) {
  const auto records = Samples("cloudtrail");
  const Parsed run = Parse(records[2]);
  ASSERT_TRUE(run.status.ok());
  EXPECT_EQ(Entity(run, 0, "cluster"), "prod-apps");
  const Parsed reg = Parse(records[3]);
  ASSERT_TRUE(reg.status.ok());
  EXPECT_EQ(Entity(reg, 0, "workload"), "miner");
  EXPECT_EQ(Entity(reg, 0, "image_digest"),
            "sha256:deadbeef00112233445566778899aabbccddeeff00112233445566778899aabb");
  const Parsed eks = Parse(records[4]);
  ASSERT_TRUE(eks.status.ok());
  EXPECT_EQ(Entity(eks, 0, "cluster"), "prod-eks");
  const Parsed ecr = Parse(records[5]);
  ASSERT_TRUE(ecr.status.ok());
  EXPECT_EQ(Entity(ecr, 0, "image"), "111122223333.dkr.ecr.eu-west-1.amazonaws.com/payments/api");
  EXPECT_EQ(Entity(ecr, 0, "image_digest"),
            "sha256:77aa0c2b5d8e7f6a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f00");
  const Parsed s3 = Parse(records[6]);  // called by a service: no source address
  ASSERT_TRUE(s3.status.ok());
  EXPECT_EQ(Entity(s3, 0, "source_address"), "");
}

TEST_F(JsonRecordParserTest, CloudTrailDeliveryBatchIsSplitIntoItsRecords) {
  const std::string batch = Samples("cloudtrail_batch")[0];
  const Parsed p = Parse(batch);
  ASSERT_TRUE(p.status.ok()) << p.status.error().message();
  ASSERT_EQ(p.formats.size(), 3u);
  EXPECT_TRUE(p.rejected.empty());
  EXPECT_EQ(p.times[0], *ParseTimestamp("2026-03-14T09:10:00Z"));
  EXPECT_EQ(p.times[2], *ParseTimestamp("2026-03-14T09:12:00Z"));
  // Each event's raw view is its own record, and names it.
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(p.raws[i].starts_with("{\"eventVersion\"")) << p.raws[i].substr(0, 40);
    EXPECT_TRUE(p.raws[i].ends_with("}"));
  }
  EXPECT_NE(p.raws[0].find("CreateFunction20150331"), std::string::npos);
  EXPECT_NE(p.raws[2].find("RunTask"), std::string::npos);
  EXPECT_NE(p.ids[0], p.ids[1]);
  EXPECT_NE(p.ids[1], p.ids[2]);
  EXPECT_EQ(Entity(p, 2, "cluster"), "prod-apps");
  // The same batch again gives the same ids (they name records in alert ids).
  EXPECT_EQ(Parse(batch).ids, p.ids);
}

TEST_F(JsonRecordParserTest, ABatchRecordWithoutTimeIsRejectedAloneAndTheOthersStay) {
  const std::string batch =
      R"({"Records":[{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"A",)"
      R"("eventTime":"2026-03-14T09:10:00Z"},{"eventVersion":"1.08","eventSource":"s3.amazonaws.com",)"
      R"("eventName":"B","eventTime":"not a time"},42,{"eventVersion":"1.08","eventSource":)"
      R"("s3.amazonaws.com","eventName":"C","eventTime":"2026-03-14T09:10:02Z"}]})";
  const Parsed p = Parse(batch);
  ASSERT_TRUE(p.status.ok());
  ASSERT_EQ(p.formats.size(), 2u);
  EXPECT_EQ(p.fields.at("eventName"), (std::vector<std::string>{"A", "C"}));
  ASSERT_EQ(p.rejected.size(), 2u);
  EXPECT_EQ(p.rejected[0].second,
            "no event time: cloudtrail record without a valid 'eventTime' (RFC 3339) (element 1 "
            "of 4 in the delivery batch)");
  EXPECT_TRUE(p.rejected[0].first.starts_with("{") && p.rejected[0].first.ends_with("}"));
  EXPECT_NE(p.rejected[0].first.find("\"B\""), std::string::npos);
  EXPECT_EQ(p.rejected[1].first, "42");
  EXPECT_TRUE(p.rejected[1].second.starts_with("malformed JSON: not an object"));

  // From Kafka, the record without a time takes the message timestamp, like a single record.
  const TimeNs kafka_time = *ParseTimestamp("2026-03-14T09:10:01Z");
  const Parsed k = Parse(batch, kafka_time);
  ASSERT_EQ(k.formats.size(), 3u);
  EXPECT_EQ(k.times[1], kafka_time);

  // An empty delivery is no events and no error.
  const Parsed empty = Parse(R"({"Records":[]})");
  EXPECT_TRUE(empty.status.ok());
  EXPECT_TRUE(empty.formats.empty());
}

TEST_F(JsonRecordParserTest, DockerEventsTakeTimeNanoAndTheirLabels) {
  const auto records = Samples("docker");
  const Parsed start = Parse(records[0]);
  ASSERT_TRUE(start.status.ok()) << start.status.error().message();
  EXPECT_EQ(start.formats[0], "docker");
  EXPECT_EQ(start.products[0], "docker");
  EXPECT_EQ(start.services[0], "");
  EXPECT_EQ(start.times[0], 1773479400123456789);
  EXPECT_EQ(Entity(start, 0, "container_id"),
            "5f1c3a9b2e7d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f");
  EXPECT_EQ(Entity(start, 0, "image"), "nginx@sha256:0a1b2c3d4e5f");
  EXPECT_EQ(Entity(start, 0, "image_digest"), "sha256:0a1b2c3d4e5f");
  EXPECT_EQ(Entity(start, 0, "pod"), "web-6b7c8d9-abcde");
  EXPECT_EQ(Entity(start, 0, "namespace"), "shop");

  const Parsed exec = Parse(records[1]);
  ASSERT_TRUE(exec.status.ok());
  EXPECT_EQ(exec.fields.at("Action"), std::vector<std::string>{"exec_start: sh -c id"});
  EXPECT_EQ(Entity(exec, 0, "workload"), "worker");

  const Parsed pull = Parse(records[2]);
  ASSERT_TRUE(pull.status.ok());
  EXPECT_EQ(Entity(pull, 0, "image"), "alpine:3.19");
  EXPECT_EQ(Entity(pull, 0, "image_digest"),
            "sha256:05455a08881ea9cf0e752bc48e61bbd71a34c029bb13df01e40e3e70e0d007bd");

  const Parsed old = Parse(records[3]);  // no timeNano: seconds
  ASSERT_TRUE(old.status.ok());
  EXPECT_EQ(old.times[0], 1773479500 * kNsPerSecond);

  const Parsed bad = Parse(
      R"({"Type":"container","Action":"die","Actor":{"ID":"x"},"time":-5,"timeNano":1e18})");
  ASSERT_FALSE(bad.status.ok());
  EXPECT_EQ(bad.status.error().message(),
            "no event time: docker record without a valid 'timeNano' or 'time' (Unix time)");
  const Parsed huge = Parse(
      R"({"Type":"container","Action":"die","Actor":{"ID":"x"},"time":99999999999999999999})");
  EXPECT_FALSE(huge.status.ok());
}

TEST_F(JsonRecordParserTest, AzureActivityLogsAndFunctionAppLogs) {
  const auto activity = Samples("azure_activity");
  const Parsed a = Parse(activity[0]);
  ASSERT_TRUE(a.status.ok()) << a.status.error().message();
  EXPECT_EQ(a.formats[0], "azure_activity");
  EXPECT_EQ(a.products[0], "azure");
  EXPECT_EQ(a.services[0], "activitylogs");
  EXPECT_EQ(a.times[0], *ParseTimestamp("2026-03-14T09:20:00.1234567Z"));
  EXPECT_EQ(Entity(a, 0, "principal"), "eve@contoso.com");
  EXPECT_EQ(Entity(a, 0, "source_address"), "203.0.113.77");
  EXPECT_EQ(Entity(a, 0, "tenant"), "0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D");
  const Parsed aks = Parse(activity[1]);
  ASSERT_TRUE(aks.status.ok());
  EXPECT_EQ(Entity(aks, 0, "cluster"), "AKS-PROD-WEU");

  const Parsed f = Parse(Samples("azure_functionapplogs")[0]);
  ASSERT_TRUE(f.status.ok()) << f.status.error().message();
  EXPECT_EQ(f.formats[0], "azure_functionapplogs");
  EXPECT_EQ(f.services[0], "functionapplogs");
  EXPECT_EQ(Entity(f, 0, "function_name"), "WebhookTrigger");
  EXPECT_EQ(Entity(f, 0, "workload"), "payments-func");
  EXPECT_NE(f.fields.at("properties.message")[0].find("Succeeded"), std::string::npos);
}

TEST_F(JsonRecordParserTest, TrivyReportsGiveCvesBySeverity) {
  const Parsed p = Parse(Samples("trivy")[0]);
  ASSERT_TRUE(p.status.ok()) << p.status.error().message();
  EXPECT_EQ(p.formats[0], "trivy");
  EXPECT_EQ(p.products[0], "trivy");
  EXPECT_EQ(p.times[0], *ParseTimestamp("2026-03-14T08:00:00.123456789Z"));
  EXPECT_EQ(Entity(p, 0, "image"), "registry.example.com/payments/api:1.4.2");
  EXPECT_EQ(Entity(p, 0, "image_digest"),
            "sha256:4f1a9e0c2b5d8e7f6a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f");
  EXPECT_EQ(p.fields.at("scan.cve"),
            (std::vector<std::string>{"CVE-2024-3094", "CVE-2023-4806", "CVE-2024-1135"}));
  EXPECT_EQ(p.fields.at("scan.critical"), std::vector<std::string>{"CVE-2024-3094"});
  // Severity written before the id in the record: still paired with its own id.
  EXPECT_EQ(p.fields.at("scan.medium"), std::vector<std::string>{"CVE-2023-4806"});
  EXPECT_EQ(p.fields.at("scan.high"), std::vector<std::string>{"CVE-2024-1135"});
  EXPECT_EQ(p.fields.count("scan.low"), 0u);

  const Parsed old = Parse(R"({"SchemaVersion":2,"ArtifactName":"alpine:3.19","Results":[]})");
  ASSERT_FALSE(old.status.ok());
  EXPECT_EQ(old.status.error().message(),
            "no event time: trivy record without a valid 'CreatedAt' (RFC 3339)");
}

TEST_F(JsonRecordParserTest, EcrScanFindingsAreAwsEcrWithCves) {
  const auto records = Samples("ecr_scan");
  const Parsed p = Parse(records[0]);
  ASSERT_TRUE(p.status.ok()) << p.status.error().message();
  EXPECT_EQ(p.formats[0], "ecr_scan");
  EXPECT_EQ(p.products[0], "aws");
  EXPECT_EQ(p.services[0], "ecr");
  EXPECT_EQ(p.times[0], *ParseTimestamp("2026-03-14T09:14:40Z"));
  EXPECT_EQ(Entity(p, 0, "image"), "payments/api");
  EXPECT_EQ(Entity(p, 0, "image_digest"),
            "sha256:77aa0c2b5d8e7f6a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f00");
  EXPECT_EQ(Entity(p, 0, "tenant"), "111122223333");
  EXPECT_EQ(p.fields.at("scan.high"), std::vector<std::string>{"CVE-2023-5363"});
  EXPECT_EQ(p.fields.at("scan.low"), std::vector<std::string>{"CVE-2011-3374"});

  const Parsed enhanced = Parse(records[1]);  // Inspector findings, Unix seconds
  ASSERT_TRUE(enhanced.status.ok()) << enhanced.status.error().message();
  EXPECT_EQ(enhanced.times[0], 1773479700250000000);
  EXPECT_EQ(enhanced.fields.at("scan.critical"), std::vector<std::string>{"CVE-2024-3094"});
}

TEST_F(JsonRecordParserTest, EverySampleOfEveryFormatParses) {
  for (const std::string_view format : JsonRecordParser::FormatNames()) {
    const auto records = Samples(format);
    EXPECT_FALSE(records.empty()) << format;
    for (const std::string& r : records) {
      const Parsed p = Parse(r);
      ASSERT_TRUE(p.status.ok()) << format << ": " << p.status.error().message();
      ASSERT_FALSE(p.formats.empty()) << format;
      for (const auto& f : p.formats) EXPECT_EQ(f, format);
      EXPECT_TRUE(p.rejected.empty()) << format;
      // Pinned to its own format, it still parses; pinned to another, it is a dead letter.
      EXPECT_TRUE(Parse(r, kNoTime, format).status.ok()) << format;
      const std::string_view other = format == "falco" ? "docker" : "falco";
      const Parsed wrong = Parse(r, kNoTime, other);
      if (r.starts_with("{\"records\"")) {
        EXPECT_EQ(wrong.rejected.size(), 2u);  // each element rejected on its own
      } else {
        ASSERT_FALSE(wrong.status.ok()) << format;
        EXPECT_EQ(wrong.status.error().message(),
                  "format mismatch: the record is not " + std::string(other) +
                      " (the format pinned for its source)");
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Gzip-compressed records.

TEST_F(JsonRecordParserTest, AGzipCompressedDeliveryFileGivesTheEventsOfThePlainOne) {
  const std::string plain = Samples("cloudtrail_batch")[0];
  const Parsed want = Parse(plain);
  const Parsed got = Parse(Gzip(plain));
  ASSERT_TRUE(got.status.ok()) << got.status.error().message();
  ASSERT_EQ(got.formats.size(), 3u);
  EXPECT_EQ(got.ids, want.ids);  // the same record ids, so the same alerts
  EXPECT_EQ(got.raws, want.raws);
  EXPECT_EQ(got.tenants, want.tenants);
  EXPECT_EQ(got.fields, want.fields);
}

TEST_F(JsonRecordParserTest, BadOrOversizedGzipRecordsAreDeadLetteredWithTheReason) {
  std::string corrupt = Gzip(Samples("cloudtrail")[0]);
  corrupt[corrupt.size() / 2] = static_cast<char>(corrupt[corrupt.size() / 2] ^ 0x55);
  Parsed p = Parse(corrupt);
  ASSERT_FALSE(p.status.ok());
  EXPECT_TRUE(p.status.error().message().starts_with("malformed gzip: "))
      << p.status.error().message();

  const std::string good = Gzip(Samples("cloudtrail")[0]);
  p = Parse(good.substr(0, good.size() - 8));
  ASSERT_FALSE(p.status.ok());
  EXPECT_EQ(p.status.error().message(), "malformed gzip: truncated stream");

  p = Parse(good + good);
  ASSERT_FALSE(p.status.ok());
  EXPECT_EQ(p.status.error().message(),
            "malformed gzip: " + std::to_string(good.size()) + " bytes after the gzip member");

  // 2 MiB of white space in a few KiB: over the 1 MiB a record may be, once decompressed.
  const std::string bomb = Gzip("{" + std::string(size_t{2} << 20, ' ') + "}");
  ASSERT_LT(bomb.size(), size_t{16} << 10);
  p = Parse(bomb);
  ASSERT_FALSE(p.status.ok());
  EXPECT_EQ(p.status.error().message(),
            "record too large: decompressed gzip over the limit of 1048576 bytes");
}

// ---------------------------------------------------------------------------------------------
// Tenants.

TEST_F(JsonRecordParserTest, EachFormatsTenantIsTheAccountProjectOrSubscriptionItsRecordsName) {
  const std::map<std::string, std::string> expected = {
      {"k8s_audit", ""},  // a Kubernetes audit event names no account: pin it with --tenant
      {"aks_audit", "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"},
      {"gke_audit", "acme-prod-4711"},
      {"gcp_audit", "acme-prod-4711"},
      {"falco", ""},
      {"cloudtrail", "111122223333"},
      {"docker", ""},
      {"azure_functionapplogs", "0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D"},
      {"azure_activity", "0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D"},
      {"trivy", ""},
      {"ecr_scan", "111122223333"},
      {"cri", ""},
      {"lambda", ""},  // converted lines without an envelope's owner
  };
  ASSERT_EQ(expected.size(), JsonRecordParser::FormatNames().size());
  for (const std::string_view format : JsonRecordParser::FormatNames()) {
    const std::string& tenant = expected.at(std::string(format));
    for (const std::string& r : Samples(format)) {
      const Parsed p = Parse(r);
      ASSERT_TRUE(p.status.ok()) << format;
      ASSERT_FALSE(p.tenants.empty()) << format;
      for (size_t i = 0; i < p.tenants.size(); ++i) {
        EXPECT_EQ(p.tenants[i], tenant) << format;
        EXPECT_EQ(p.tenants[i], Entity(p, i, "tenant")) << format;
      }
      // Rules and group-by read it as tuttle.tenant, once per event, empty too (a group-by
      // field that is missing would drop the event from the correlation).
      const auto it = p.fields.find(std::string(kTenantPath));
      ASSERT_TRUE(it != p.fields.end()) << format;
      EXPECT_EQ(it->second, std::vector<std::string>(p.tenants.size(), tenant)) << format;
    }
  }
  // Each record of a CloudTrail delivery batch is its account's.
  const Parsed batch = Parse(Samples("cloudtrail_batch")[0]);
  ASSERT_EQ(batch.tenants.size(), 3u);
  for (const std::string& t : batch.tenants) EXPECT_EQ(t, "111122223333");
}

TEST_F(JsonRecordParserTest, CloudTrailTenantIsTheRecipientAccountNotTheCallers) {
  // A cross-account call: a role of account 444455556666 acts in 111122223333, whose trail logs
  // it (CloudTrail's userIdentity.accountId is the caller's account).
  const Parsed p = Parse(
      R"({"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAX:ops",)"
      R"("arn":"arn:aws:sts::444455556666:assumed-role/ops/ops","accountId":"444455556666"},)"
      R"("eventTime":"2026-03-14T09:01:00Z","eventSource":"lambda.amazonaws.com",)"
      R"("eventName":"GetFunction20150331v2","awsRegion":"eu-west-1",)"
      R"("sourceIPAddress":"198.51.100.7","requestParameters":{"functionName":"payments"},)"
      R"("responseElements":null,"eventType":"AwsApiCall","recipientAccountId":"111122223333"})");
  ASSERT_TRUE(p.status.ok()) << p.status.error().message();
  ASSERT_EQ(p.tenants.size(), 1u);
  EXPECT_EQ(p.tenants[0], "111122223333");
}

TEST_F(JsonRecordParserTest, ATenantFixedForTheSourceWinsOverTheRecords) {
  JsonRecordParserOptions options;
  options.tenants = {"team-a", "team-b"};
  JsonRecordParser parser(catalog_, options);
  auto worker = parser.NewWorker();
  const std::string cloudtrail = Samples("cloudtrail")[0];
  const std::string k8s = Samples("k8s_audit")[0];

  Parsed p = ParseWith(*worker, cloudtrail, kNoTime, {}, 2);
  ASSERT_EQ(p.tenants.size(), 1u);
  EXPECT_EQ(p.tenants[0], "team-b");
  EXPECT_EQ(Entity(p, 0, "tenant"), "111122223333");  // the record's account stays an entity
  EXPECT_EQ(p.fields[std::string(kTenantPath)], std::vector<std::string>{"team-b"});

  p = ParseWith(*worker, k8s, kNoTime, {}, 1);
  ASSERT_EQ(p.tenants.size(), 1u);
  EXPECT_EQ(p.tenants[0], "team-a");

  // Not fixed: the record's own.
  p = ParseWith(*worker, cloudtrail, kNoTime, {}, 0);
  ASSERT_EQ(p.tenants.size(), 1u);
  EXPECT_EQ(p.tenants[0], "111122223333");
}

TEST_F(JsonRecordParserTest, ARecordCannotClaimATenantThroughTuttleTenant) {
  std::string k8s = Samples("k8s_audit")[0];
  ASSERT_EQ(k8s.back(), '}');
  k8s.pop_back();
  k8s += R"(,"tuttle":{"tenant":"someone-else"}})";
  JsonRecordParserOptions options;
  options.tenants = {"team-a"};
  JsonRecordParser parser(catalog_, options);
  auto worker = parser.NewWorker();

  Parsed p = ParseWith(*worker, k8s);
  ASSERT_TRUE(p.status.ok()) << p.status.error().message();
  EXPECT_EQ(p.tenants[0], "");
  EXPECT_EQ(p.fields[std::string(kTenantPath)], std::vector<std::string>{""});

  p = ParseWith(*worker, k8s, kNoTime, {}, 1);
  EXPECT_EQ(p.fields[std::string(kTenantPath)], std::vector<std::string>{"team-a"});
}

// Entities as fields: tuttle.entity.<name>.

TEST_F(JsonRecordParserTest, EveryEntityIsAlsoAFieldARecordCannotSet) {
  std::string k8s = Samples("k8s_audit")[0];
  ASSERT_EQ(k8s.back(), '}');
  k8s.pop_back();
  k8s += R"(,"tuttle":{"entity":{"namespace":"forged","image_digest":"sha256:forged"}}})";
  Parsed p = Parse(k8s);
  ASSERT_TRUE(p.status.ok()) << p.status.error().message();
  const std::string ns = Entity(p, 0, "namespace");
  ASSERT_FALSE(ns.empty());
  EXPECT_EQ(p.fields["tuttle.entity.namespace"], std::vector<std::string>{ns});
  EXPECT_EQ(p.fields["tuttle.entity.principal"],
            std::vector<std::string>{Entity(p, 0, "principal")});
  // Entities the record does not name are absent, not empty.
  EXPECT_EQ(p.fields.count("tuttle.entity.image_digest"), 0u);
  EXPECT_EQ(p.fields.count("tuttle.entity.function_name"), 0u);
  EXPECT_EQ(EntityRoleOfPath("tuttle.entity.image_digest"), EntityRole::kImageDigest);
  EXPECT_EQ(EntityRoleOfPath("tuttle.entity.namespace"), EntityRole::kNamespace);
  EXPECT_EQ(EntityRoleOfPath("tuttle.entity.tenant"), EntityRole::kTenant);
  EXPECT_EQ(EntityRoleOfPath("tuttle.entity.nope"), EntityRole::kNone);
}

TEST_F(JsonRecordParserTest, TheKubeletsPodStatusNamesTheDigestItPulled) {
  Parsed p = Parse(
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a1","verb":"patch","user":{"username":"system:node:ip-10-0-1-23"},"objectRef":{"resource":"pods","namespace":"prod","name":"api-1","subresource":"status"},"requestObject":{"status":{"containerStatuses":[{"name":"api","image":"registry.example.com/api:1.4.2","imageID":"docker-pullable://registry.example.com/api@sha256:4f1a"}]}},"stageTimestamp":"2026-03-14T10:00:05Z"})");
  ASSERT_TRUE(p.status.ok()) << p.status.error().message();
  EXPECT_EQ(Entity(p, 0, "image"), "registry.example.com/api:1.4.2");
  EXPECT_EQ(Entity(p, 0, "image_digest"), "sha256:4f1a");
  EXPECT_EQ(p.fields["tuttle.entity.image_digest"], std::vector<std::string>{"sha256:4f1a"});
  // A bare config id is not a digest.
  const Parsed q = Parse(
      R"({"kind":"Event","auditID":"a2","verb":"patch","objectRef":{"resource":"pods","namespace":"prod","name":"api-1","subresource":"status"},"requestObject":{"status":{"containerStatuses":[{"image":"api:1","imageID":"sha256:77aa"}]}},"stageTimestamp":"2026-03-14T10:00:05Z"})");
  EXPECT_EQ(Entity(q, 0, "image_digest"), "");
}

TEST_F(JsonRecordParserTest, EcrCallsNameTheImageAsPodsDoAndInvokesAreInvocations) {
  const Parsed ecr = Parse(
      R"({"eventVersion":"1.08","eventSource":"ecr.amazonaws.com","eventName":"PutImage","eventTime":"2026-03-14T10:00:00Z","awsRegion":"eu-west-1","userIdentity":{"arn":"arn:aws:iam::111122223333:user/ci"},"recipientAccountId":"111122223333","requestParameters":{"repositoryName":"payments/api","imageTag":"1.4.2"},"responseElements":{"image":{"imageId":{"imageDigest":"sha256:4f1a","imageTag":"1.4.2"}}}})");
  ASSERT_TRUE(ecr.status.ok()) << ecr.status.error().message();
  EXPECT_EQ(Entity(ecr, 0, "image"), "111122223333.dkr.ecr.eu-west-1.amazonaws.com/payments/api");
  EXPECT_EQ(Entity(ecr, 0, "image_digest"), "sha256:4f1a");
  EXPECT_FALSE(ecr.invocations[0]);
  const Parsed invoke = Parse(
      R"({"eventVersion":"1.09","eventSource":"lambda.amazonaws.com","eventName":"Invoke","eventTime":"2026-03-14T10:00:00Z","userIdentity":{"arn":"arn:aws:iam::111122223333:user/x"},"recipientAccountId":"111122223333","requestParameters":{"functionName":"arn:aws:lambda:eu-west-1:111122223333:function:refund"}})");
  ASSERT_TRUE(invoke.status.ok());
  EXPECT_TRUE(invoke.invocations[0]);
  EXPECT_EQ(Entity(invoke, 0, "function_name"), "refund");
  const Parsed update = Parse(
      R"({"eventVersion":"1.09","eventSource":"lambda.amazonaws.com","eventName":"UpdateFunctionCode20150331v2","eventTime":"2026-03-14T10:00:00Z","userIdentity":{"arn":"arn:aws:iam::111122223333:user/x"},"requestParameters":{"functionName":"refund"}})");
  EXPECT_FALSE(update.invocations[0]);
}

TEST(EntityRoleOfPath, NamesTheEntityAnAdapterTakesVerbatimFromAField) {
  EXPECT_EQ(EntityRoleOfPath("user.username"), EntityRole::kPrincipal);
  EXPECT_EQ(EntityRoleOfPath("objectRef.namespace"), EntityRole::kNamespace);
  EXPECT_EQ(EntityRoleOfPath("userIdentity.arn"), EntityRole::kPrincipal);
  EXPECT_EQ(EntityRoleOfPath("recipientAccountId"), EntityRole::kTenant);
  EXPECT_EQ(EntityRoleOfPath("requestParameters.functionName"), EntityRole::kFunctionName);
  EXPECT_EQ(EntityRoleOfPath("resource.labels.project_id"), EntityRole::kTenant);
  EXPECT_EQ(EntityRoleOfPath(kTenantPath), EntityRole::kOwner);
  // Read but not an entity, or only part of one (the subscription inside resourceId).
  EXPECT_EQ(EntityRoleOfPath("verb"), EntityRole::kNone);
  EXPECT_EQ(EntityRoleOfPath("resourceId"), EntityRole::kNone);
  EXPECT_EQ(EntityRoleOfPath("userIdentity.accountId"), EntityRole::kNone);
}

// ---------------------------------------------------------------------------------------------
// Bad records.

TEST_F(JsonRecordParserTest, InvalidUtf8IsNamedAsSuch) {
  std::string r = R"({"kind":"Event","auditID":"x","user":{"username":"al)";
  r += "\xc3\x28";  // an invalid two-byte sequence
  r += R"("},"stageTimestamp":"2026-03-14T09:00:00Z"})";
  const Parsed p = Parse(r);
  ASSERT_FALSE(p.status.ok());
  EXPECT_TRUE(p.status.error().message().starts_with("invalid UTF-8: "))
      << p.status.error().message();
}

TEST_F(JsonRecordParserTest, RecordsOverTheSizeLimitAreRejectedUnread) {
  JsonRecordParserOptions options;
  options.max_record_bytes = 200;
  JsonRecordParser small(catalog_, options);
  auto worker = small.NewWorker();
  const std::string record = Samples("falco")[0];
  ASSERT_GT(record.size(), 200u);
  RecordBatch batch;
  batch.Add(record, RecordMeta{batch.InternSource("t"), -1, 1, kNoTime});
  Parsed out;
  Capture capture(*catalog_, out);
  const Status st = worker->Parse(batch.bytes(0), batch.meta(0), capture);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "record too large: " + std::to_string(record.size()) +
                                      " bytes, over the limit of 200 bytes");
  EXPECT_TRUE(out.formats.empty());
  // The default limit is 1 MiB.
  EXPECT_EQ(JsonRecordParserOptions{}.max_record_bytes, 1u << 20);
}

TEST_F(JsonRecordParserTest, FormatNamesAndIdsRoundTrip) {
  const auto names = JsonRecordParser::FormatNames();
  EXPECT_EQ(names.size(), 13u);  // 11 JSON formats, and the records of the text-log decorators
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(JsonRecordParser::FormatId(names[i]), static_cast<uint16_t>(i + 1));
  }
  EXPECT_FALSE(JsonRecordParser::FormatId("cloudtrial").has_value());
}

}  // namespace
}  // namespace tuttle::ingest

namespace tuttle::ingest {
namespace {

// Data contracts (docs/contracts.md) in the parse stage.
class JsonRecordParserContractTest : public JsonRecordParserTest {
 protected:
  JsonRecordParserContractTest() {
    Diagnostics d;
    auto set = contracts::ContractSet::Parse(
        "contracts:\n  - name: orders\n    function: 'orders-*'\n    path: json\n"
        "    schema: {required: [order_id]}\n",
        "c.yml", d);
    EXPECT_TRUE(set.ok());
    JsonRecordParserOptions options;
    if (set.ok()) options.contracts = *set;
    checked_parser_ = std::make_unique<JsonRecordParser>(catalog_, options);
    checked_ = checked_parser_->NewWorker();
  }
  static std::string Lambda(const std::string& function, const std::string& json) {
    std::string out = R"({"format":"lambda","type":"log","time":"2026-11-29T10:00:00Z",)";
    out += R"("functionName":")";
    out += function;
    out += R"(","json":)";
    out += json;
    out += '}';
    return out;
  }
  std::unique_ptr<JsonRecordParser> checked_parser_;
  std::unique_ptr<RecordParser::Worker> checked_;
};

TEST_F(JsonRecordParserContractTest, ARecordThatBreaksItsContractIsAlsoAViolationEvent) {
  const Parsed p = ParseWith(*checked_, Lambda("orders-api", R"({"amount": 3})"));
  ASSERT_TRUE(p.status.ok()) << p.status.error().message();
  ASSERT_EQ(p.formats.size(), 2u);
  EXPECT_EQ(p.products, (std::vector<std::string>{"aws", "tuttle"}));
  EXPECT_EQ(p.services, (std::vector<std::string>{"lambda", "contracts"}));
  EXPECT_EQ(p.raws[0], p.raws[1]);
  EXPECT_EQ(p.ids[0], p.ids[1]);
  EXPECT_EQ(Entity(p, 1, "function_name"), "orders-api");
  // Both events share the fields (collected twice here, once per event).
  EXPECT_EQ(p.fields.at(std::string(kContractNamePath)),
            (std::vector<std::string>{"orders", "orders"}));
  EXPECT_EQ(p.fields.at(std::string(kContractFunctionPath)),
            (std::vector<std::string>{"orders-api", "orders-api"}));
  EXPECT_EQ(p.fields.at(std::string(kContractViolationPath)),
            (std::vector<std::string>{"json.order_id: required field missing",
                                      "json.order_id: required field missing"}));
}

TEST_F(JsonRecordParserContractTest, KeptContractsAndUnselectedRecordsAreOneEventAsBefore) {
  const Parsed kept = ParseWith(*checked_, Lambda("orders-api", R"({"order_id": "o-1"})"));
  ASSERT_TRUE(kept.status.ok());
  EXPECT_EQ(kept.formats.size(), 1u);
  EXPECT_FALSE(kept.fields.contains(std::string(kContractViolationPath)));
  const Parsed other = ParseWith(*checked_, Lambda("billing", "{}"));
  ASSERT_TRUE(other.status.ok());
  EXPECT_EQ(other.formats.size(), 1u);
}

TEST_F(JsonRecordParserContractTest, ARecordCannotForgeTuttleFields) {
  std::string forged = Lambda("billing", "{}");
  forged.pop_back();
  forged += R"(,"tuttle":{"contract":{"violation":"forged","name":"x"},"tenant":"t"},)";
  forged += R"("tuttle.contract.violation":"forged too"})";
  const Parsed p = ParseWith(*checked_, forged);
  ASSERT_TRUE(p.status.ok()) << p.status.error().message();
  ASSERT_EQ(p.formats.size(), 1u);
  EXPECT_FALSE(p.fields.contains(std::string(kContractViolationPath)));
  EXPECT_FALSE(p.fields.contains(std::string(kContractNamePath)));
  EXPECT_EQ(p.fields.at(std::string(kTenantPath)), (std::vector<std::string>{""}));
}

}  // namespace
}  // namespace tuttle::ingest
