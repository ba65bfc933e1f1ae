// The `tuttle run` config file (tools/run_config.h): every key, located errors for each kind of
// mistake, environment expansion, relative paths, flags overriding the file, secrets masked in
// the effective configuration, and deploy/tuttle.example.yaml (so the example cannot rot).

#include "run_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "support/test_support.h"

namespace tuttle::tools {
namespace {

namespace fs = std::filesystem;

RunOptions Defaults() {
  RunOptions o;
  o.common.store = "./var/tuttle";  // as main() sets it
  return o;
}

struct Loaded {
  bool ok = false;
  std::string error;
  RunOptions options;
  std::vector<std::string> diagnostics;  // Diagnostic::ToString()
};

Loaded LoadFile(const fs::path& file, const std::set<std::string>& given = {},
                RunOptions start = Defaults()) {
  Loaded l;
  l.options = std::move(start);
  Diagnostics diagnostics;
  const Status st = LoadRunConfig(
      file.string(), [&given](std::string_view flag) { return given.contains(std::string(flag)); },
      l.options, diagnostics);
  l.ok = st.ok();
  if (!st.ok()) l.error = st.error().message();
  for (const Diagnostic& d : diagnostics) l.diagnostics.push_back(d.ToString());
  return l;
}

class RunConfigTest : public ::testing::Test {
 protected:
  // Writes `text` as tuttle.yaml in a fresh folder and loads it.
  Loaded Load(const std::string& text, const std::set<std::string>& given = {},
              RunOptions start = Defaults()) {
    std::ofstream(file()) << text;
    return LoadFile(file(), given, std::move(start));
  }
  fs::path file() const { return dir_.path() / "tuttle.yaml"; }
  // The single diagnostic of a file that must fail, with the folder left out.
  std::string OnlyError(const std::string& text) {
    const Loaded l = Load(text);
    EXPECT_FALSE(l.ok);
    EXPECT_EQ(l.diagnostics.size(), 1u) << ::testing::PrintToString(l.diagnostics);
    if (l.diagnostics.empty()) return l.error;
    std::string d = l.diagnostics[0];
    const std::string folder = dir_.path().string() + "/";
    if (d.rfind(folder, 0) == 0) d = d.substr(folder.size());
    return d;
  }

  testing::TempDir dir_;
};

constexpr const char* kMinimal = "kafka:\n  brokers: b:9092\n  topics: [t]\n";

TEST_F(RunConfigTest, EveryKeyOfAGoodFileLandsInTheOptions) {
  ASSERT_EQ(setenv("TUTTLE_TEST_KAFKA_PASSWORD", "s3cr3t", 1), 0);
  const Loaded l = Load(R"(kafka:
  brokers: broker1:9092,broker2:9092
  group_id: soc
  topics:
    - name: k8s-audit
      format: k8s_audit
      tenant: acme
    - lambda-logs
  properties:
    security.protocol: SASL_SSL
    sasl.mechanisms: SCRAM-SHA-512
    sasl.username: tuttle
    sasl.password: pre-${TUTTLE_TEST_KAFKA_PASSWORD}-post
    ssl.ca.location: certs/ca.pem
  consumer_properties: {session.timeout.ms: 30000}
  producer_properties:
    compression.type: zstd
  alerts_topic: soc-alerts
  scale_out:
    enabled: true
    partitions: 24
engine:
  rules: [rules, /abs/rules]
  pipelines: pipelines/ecs.yml
  contracts: [contracts/orders.yml]
  threads: 3
  lateness: 2m
  max_groups: 5000
  strict: yes
  max_record_bytes: 4096
  batch_records: 512
store:
  path: var/store
  checkpoint_interval: 200ms
  checkpoint_records: 5000
  alert_retention: 30d
  dead_letter_retention: 0
output: {json: true, quiet: true}
follow: true
)");
  ASSERT_TRUE(l.ok) << l.error << "\n" << ::testing::PrintToString(l.diagnostics);
  EXPECT_TRUE(l.diagnostics.empty());
  const RunOptions& o = l.options;
  const std::string folder = dir_.path().string();
  EXPECT_EQ(o.brokers, "broker1:9092,broker2:9092");
  EXPECT_EQ(o.group, "soc");
  EXPECT_EQ(o.topics, (std::vector<std::string>{"k8s-audit", "lambda-logs"}));
  EXPECT_EQ(o.common.formats, (std::vector<std::string>{"k8s-audit=k8s_audit"}));
  EXPECT_EQ(o.common.tenants, (std::vector<std::string>{"k8s-audit=acme"}));
  EXPECT_EQ(o.kafka_properties,
            (ingest::KafkaProperties{{"security.protocol", "SASL_SSL"},
                                     {"sasl.mechanisms", "SCRAM-SHA-512"},
                                     {"sasl.username", "tuttle"},
                                     {"sasl.password", "pre-s3cr3t-post"},
                                     {"ssl.ca.location", folder + "/certs/ca.pem"}}));
  EXPECT_EQ(o.consumer_properties, (ingest::KafkaProperties{{"session.timeout.ms", "30000"}}));
  EXPECT_EQ(o.producer_properties, (ingest::KafkaProperties{{"compression.type", "zstd"}}));
  EXPECT_EQ(o.alerts_topic, "soc-alerts");
  EXPECT_TRUE(o.scale_out.enabled);
  EXPECT_EQ(o.scale_out.signals_topic, "soc-signals");
  EXPECT_EQ(o.scale_out.changelog_topic, "soc-changelog");
  EXPECT_EQ(o.scale_out.partitions, 24);
  EXPECT_EQ(o.common.rules, (std::vector<std::string>{folder + "/rules", "/abs/rules"}));
  EXPECT_EQ(o.common.pipelines, (std::vector<std::string>{folder + "/pipelines/ecs.yml"}));
  EXPECT_EQ(o.common.contracts, (std::vector<std::string>{folder + "/contracts/orders.yml"}));
  EXPECT_EQ(o.common.threads, 3);
  EXPECT_EQ(o.common.lateness, "2m");
  EXPECT_EQ(o.common.max_groups, 5000u);
  EXPECT_TRUE(o.common.strict);
  EXPECT_EQ(o.common.max_record_bytes, 4096u);
  EXPECT_EQ(o.common.batch_records, 512u);
  EXPECT_EQ(o.common.store, folder + "/var/store");
  EXPECT_EQ(o.common.checkpoint_interval, "200ms");
  EXPECT_EQ(o.common.checkpoint_records, 5000u);
  EXPECT_EQ(o.common.store_options.alert_retention, TimeNs{30} * 86400 * kNsPerSecond);
  EXPECT_EQ(o.common.store_options.dead_letter_retention, 0);
  EXPECT_TRUE(o.json);
  EXPECT_TRUE(o.quiet);
  EXPECT_TRUE(o.follow);
  EXPECT_EQ(o.config, file().string());
  EXPECT_TRUE(CheckRunOptions(o).ok());

  // The consumer gets the shared properties, then its own; producers theirs.
  auto consumer = ConsumerProperties(o);
  ASSERT_TRUE(consumer.ok());
  EXPECT_EQ(consumer->size(), 6u);
  EXPECT_EQ(consumer->back(), (std::pair<std::string, std::string>{"session.timeout.ms", "30000"}));
  auto producer = ProducerProperties(o);
  ASSERT_TRUE(producer.ok());
  EXPECT_EQ(producer->back(), (std::pair<std::string, std::string>{"compression.type", "zstd"}));
}

TEST_F(RunConfigTest, EachMistakeIsALocatedErrorWithItsKeyPath) {
  unsetenv("TUTTLE_TEST_UNSET");
  EXPECT_EQ(OnlyError("kafka:\n  brokers: b:9092\n  topics: [t]\n  group: g\n"),
            "tuttle.yaml:4:3: error: kafka.group: unknown key (known: brokers, group_id, topics, "
            "format, tenant, properties, consumer_properties, producer_properties, alerts_topic, "
            "scale_out) (hint: did you mean 'group_id'?)");
  EXPECT_EQ(OnlyError(std::string(kMinimal) + "engin:\n  threads: 2\n"),
            "tuttle.yaml:4:1: error: engin: unknown key (known: kafka, engine, store, output, "
            "follow, api) (hint: did you mean 'engine'?)");
  EXPECT_EQ(OnlyError(std::string(kMinimal) + "engine:\n  threads: [1, 2]\n"),
            "tuttle.yaml:5:12: error: engine.threads: expected a single value");
  EXPECT_EQ(OnlyError(std::string(kMinimal) + "engine:\n  threads: many\n"),
            "tuttle.yaml:5:12: error: engine.threads: expected an integer from 0 to 1024, not "
            "'many'");
  EXPECT_EQ(OnlyError(std::string(kMinimal) + "engine:\n  lateness: soon\n"),
            "tuttle.yaml:5:13: error: engine.lateness: 'soon' is not a duration such as 30s or "
            "2m");
  EXPECT_EQ(OnlyError(std::string(kMinimal) + "store:\n  checkpoint_interval: 5 s\n"),
            "tuttle.yaml:5:24: error: store.checkpoint_interval: '5 s' is not a duration such as "
            "1s or 200ms");
  EXPECT_EQ(OnlyError(std::string(kMinimal) + "store:\n  alert_retention: forever\n"),
            "tuttle.yaml:5:20: error: store.alert_retention: 'forever' is not a duration such as "
            "90d or 12h, or 0");
  EXPECT_EQ(OnlyError(std::string(kMinimal) + "follow: sometimes\n"),
            "tuttle.yaml:4:9: error: follow: expected true or false");
  EXPECT_EQ(OnlyError("kafka:\n  brokers: b:9092\n  topics:\n    - name: a\n    - name: b\n"
                      "      format: k8s_audt\n"),
            "tuttle.yaml:6:15: error: kafka.topics[1].format: unknown format 'k8s_audt' (known: "
            "k8s_audit, aks_audit, gke_audit, gcp_audit, falco, cloudtrail, docker, "
            "azure_functionapplogs, azure_activity, trivy, ecr_scan, cri, lambda, or auto) "
            "(hint: did you mean 'k8s_audit'?)");
  EXPECT_EQ(OnlyError("kafka:\n  brokers: \"\"\n  topics: [t]\n"),
            "tuttle.yaml:2:12: error: kafka.brokers: must not be empty");
  EXPECT_EQ(OnlyError("kafka:\n  brokers: b:9092\n  topics: []\n"),
            "tuttle.yaml:3:11: error: kafka.topics: expected a list of topics (each a name, or a "
            "map with name, format, tenant)");
  EXPECT_EQ(OnlyError("kafka:\n  topics: [t]\n"),
            "tuttle.yaml:2:3: error: kafka.brokers: missing: the bootstrap servers (host:port,...) "
            "to consume from; without a kafka section, tuttle run starts the embedded demo");
  EXPECT_EQ(
      OnlyError(std::string(kMinimal) + "  properties:\n    sasl.password: ${TUTTLE_TEST_UNSET}\n"),
      "tuttle.yaml:5:20: error: kafka.properties.sasl.password: environment variable "
      "'TUTTLE_TEST_UNSET' is not set");
  EXPECT_EQ(OnlyError(std::string(kMinimal) + "  properties:\n    sasl.mechanismz: PLAIN\n"),
            "tuttle.yaml:5:5: error: kafka.properties.sasl.mechanismz: No such configuration "
            "property: \"sasl.mechanismz\"");
  EXPECT_EQ(OnlyError(std::string(kMinimal) + "  properties:\n    acks: most\n"),
            "tuttle.yaml:5:5: error: kafka.properties.acks: Invalid value for configuration "
            "property \"request.required.acks\"");
  EXPECT_EQ(OnlyError(std::string(kMinimal) +
                      "  consumer_properties:\n    enable.auto.offset.store: true\n"),
            "tuttle.yaml:5:31: error: kafka.consumer_properties.enable.auto.offset.store: must "
            "stay false: Tuttle stores offsets only after a batch is written");
  EXPECT_EQ(OnlyError(std::string(kMinimal) + "  scale_out: {partitions: 0}\n"),
            "tuttle.yaml:4:27: error: kafka.scale_out.partitions: expected an integer from 1 to "
            "10000, not '0'");
  EXPECT_EQ(OnlyError("kafka:\n  brokers: [b:9092\n"),
            "tuttle.yaml:3:1: error: end of sequence flow not found");
}

TEST_F(RunConfigTest, AllMistakesOfAFileAreReportedTogether) {
  const Loaded l = Load("kafka:\n  brokers: b\n  topics: [t]\n  grup: g\nengine:\n  threads: -1\n");
  EXPECT_FALSE(l.ok);
  EXPECT_EQ(l.diagnostics.size(), 2u) << ::testing::PrintToString(l.diagnostics);
  EXPECT_EQ(l.error, file().string() + ": 2 errors");
}

TEST_F(RunConfigTest, FlagsOverrideTheFileAndTheirPinsAndPropertiesComeAfterIts) {
  RunOptions cli = Defaults();
  cli.brokers = "cli:9092";
  cli.topics = {"cli-topic"};
  cli.common.threads = 7;
  cli.common.store = "/cli/store";
  cli.common.formats = {"cli-topic=falco"};
  cli.properties = {"sasl.username=from-cli"};
  const Loaded l = Load(R"(kafka:
  brokers: file:9092
  topics:
    - {name: file-topic, format: cloudtrail}
  format: docker
  properties: {sasl.username: from-file}
engine: {threads: 2, lateness: 1m}
store: {path: store}
)",
                        {"--brokers", "--topic", "--threads", "--store", "--format", "-X"}, cli);
  ASSERT_TRUE(l.ok) << ::testing::PrintToString(l.diagnostics);
  const RunOptions& o = l.options;
  EXPECT_EQ(o.brokers, "cli:9092");
  EXPECT_EQ(o.topics, (std::vector<std::string>{"cli-topic"}));
  EXPECT_EQ(o.common.threads, 7);
  EXPECT_EQ(o.common.lateness, "1m");  // not given: the file's
  EXPECT_EQ(o.common.store, "/cli/store");
  // The file's pin for a topic no longer read is dropped; its pin for all topics stays, before
  // the command line's.
  EXPECT_EQ(o.common.formats, (std::vector<std::string>{"docker", "cli-topic=falco"}));
  auto consumer = ConsumerProperties(o);
  ASSERT_TRUE(consumer.ok());
  EXPECT_EQ(*consumer, (ingest::KafkaProperties{{"sasl.username", "from-file"},
                                                {"sasl.username", "from-cli"}}));
  EXPECT_EQ(o.scale_out.signals_topic, "tuttle-signals");
}

TEST_F(RunConfigTest, EffectiveConfigMasksSecretsAndLoadsBackToTheSameConfiguration) {
  const Loaded l = Load(R"(kafka:
  brokers: b:9092
  group_id: g
  topics: [{name: a, format: falco, tenant: acme}, b]
  properties:
    sasl.password: hunter2
    ssl.key.password: hunter3
    ssl.keystore.password: hunter4
    sasl.username: visible-user
  alerts_topic: alerts
store: {alert_retention: 12h}
)");
  ASSERT_TRUE(l.ok) << ::testing::PrintToString(l.diagnostics);
  const std::string printed = EffectiveConfig(l.options);
  EXPECT_EQ(printed.find("hunter"), std::string::npos) << printed;
  EXPECT_NE(printed.find("sasl.password: \"********\""), std::string::npos) << printed;
  EXPECT_NE(printed.find("visible-user"), std::string::npos) << printed;
  EXPECT_NE(printed.find("alert_retention: 12h"), std::string::npos) << printed;

  const fs::path again = dir_.path() / "effective.yaml";
  std::ofstream(again) << printed;
  const Loaded reloaded = LoadFile(again);
  ASSERT_TRUE(reloaded.ok) << printed << ::testing::PrintToString(reloaded.diagnostics);
  auto body = [](const std::string& s) { return s.substr(s.find('\n')); };  // minus "# from"
  EXPECT_EQ(body(EffectiveConfig(reloaded.options)), body(printed));
}

TEST_F(RunConfigTest, TheExampleInDeployLoads) {
  ASSERT_EQ(setenv("KAFKA_PASSWORD", "example-password", 1), 0);
  const fs::path example = testing::SourceDir() / "deploy/tuttle.example.yaml";
  const Loaded l = LoadFile(example);
  ASSERT_TRUE(l.ok) << l.error << "\n" << ::testing::PrintToString(l.diagnostics);
  EXPECT_TRUE(CheckRunOptions(l.options).ok());
  EXPECT_EQ(l.options.topics.size(), 4u);
  EXPECT_EQ(l.options.alerts_topic, "tuttle-alerts");
  // Relative to the example's folder: the repository's rule pack.
  ASSERT_EQ(l.options.common.rules.size(), 1u);
  EXPECT_EQ(fs::weakly_canonical(l.options.common.rules[0]),
            fs::weakly_canonical(testing::SourceDir() / "rules/pack"));
  EXPECT_TRUE(l.options.common.inventory);
  EXPECT_EQ(fs::weakly_canonical(l.options.common.approved_inventory),
            fs::weakly_canonical(testing::SourceDir() / "deploy/approved-inventory.example.yaml"));
  const std::string printed = EffectiveConfig(l.options);
  EXPECT_EQ(printed.find("example-password"), std::string::npos);
}

TEST_F(RunConfigTest, TheApiSectionSetsTheServerWithPathsBesideTheFile) {
  const Loaded l = Load(std::string(kMinimal) + R"(api:
  listen: 0.0.0.0:8443
  tokens_file: tokens.yaml
  tls: {cert: tls/server.crt, key: /etc/tuttle/server.key}
)");
  ASSERT_TRUE(l.ok) << ::testing::PrintToString(l.diagnostics);
  EXPECT_EQ(l.options.api.listen, "0.0.0.0:8443");
  EXPECT_EQ(l.options.api.tokens_file, (dir_.path() / "tokens.yaml").string());
  EXPECT_EQ(l.options.api.tls_cert, (dir_.path() / "tls/server.crt").string());
  EXPECT_EQ(l.options.api.tls_key, "/etc/tuttle/server.key");
  EXPECT_FALSE(l.options.api.insecure);
  EXPECT_NE(EffectiveConfig(l.options).find("listen: 0.0.0.0:8443"), std::string::npos);
  // The command line wins.
  EXPECT_EQ(Load(std::string(kMinimal) + "api: {listen: ':8443'}\n", {"--listen"}).options.api.listen,
            "");
  EXPECT_EQ(OnlyError(std::string(kMinimal) + "api:\n  listen: nowhere\n"),
            "tuttle.yaml:5:11: error: api.listen: 'nowhere' is not HOST:PORT, [IPV6]:PORT or :PORT");
  EXPECT_EQ(OnlyError(std::string(kMinimal) + "api:\n  tls: {cert: a.pem}\n"),
            "tuttle.yaml:5:8: error: api.tls: needs both cert and key (PEM files)");
  EXPECT_EQ(OnlyError(std::string(kMinimal) + "api:\n  token_file: t\n"),
            "tuttle.yaml:5:3: error: api.token_file: unknown key (known: listen, tokens_file, "
            "insecure, tls) (hint: did you mean 'tokens_file'?)");
}

TEST_F(RunConfigTest, AnEmptyFileSetsNothing) {
  const Loaded l = Load("# nothing yet\n");
  ASSERT_TRUE(l.ok);
  EXPECT_TRUE(l.options.brokers.empty());
  EXPECT_EQ(l.options.common.store, "./var/tuttle");
}

TEST_F(RunConfigTest, OutputSectionSetsTheAlertFormatFileAndWebhook) {
  const Loaded l = Load(std::string(kMinimal) + R"(output:
  json: true
  format: ecs
  file: {path: alerts/tuttle.jsonl, max_size: 10MiB, daily: true, keep: 3}
  webhook:
    url: https://soar.example.com/hook
    token_file: token.txt
    batch: 50
    max_attempts: 4
    timeout: 3s
    backoff: 200ms
    max_backoff: 1m
    queue: 64
    dead_letter: dead.jsonl
)");
  ASSERT_TRUE(l.ok) << ::testing::PrintToString(l.diagnostics);
  const AlertOutputOptions& o = l.options.common.output;
  EXPECT_TRUE(l.options.json);
  EXPECT_EQ(o.format, "ecs");
  EXPECT_EQ(o.file, (dir_.path() / "alerts/tuttle.jsonl").string());  // relative to the file
  EXPECT_EQ(o.file_max_size, "10MiB");
  EXPECT_TRUE(o.file_daily);
  EXPECT_EQ(o.file_keep, 3);
  EXPECT_EQ(o.webhook, "https://soar.example.com/hook");
  EXPECT_EQ(o.webhook_token_file, (dir_.path() / "token.txt").string());
  EXPECT_EQ(o.webhook_batch, 50u);
  EXPECT_EQ(o.webhook_max_attempts, 4);
  EXPECT_EQ(o.webhook_timeout, "3s");
  EXPECT_EQ(o.webhook_backoff, "200ms");
  EXPECT_EQ(o.webhook_max_backoff, "1m");
  EXPECT_EQ(o.webhook_queue, 64u);
  EXPECT_EQ(o.webhook_dead_letter, (dir_.path() / "dead.jsonl").string());
  EXPECT_TRUE(CheckRunOptions(l.options).ok());
  // The effective configuration prints them, and loads back the same.
  const std::string printed = EffectiveConfig(l.options);
  EXPECT_NE(printed.find("format: ecs"), std::string::npos) << printed;
  EXPECT_NE(printed.find("url: https://soar.example.com/hook"), std::string::npos) << printed;
  const fs::path again = dir_.path() / "effective.yaml";
  std::ofstream(again) << printed;
  const Loaded reloaded = LoadFile(again);
  ASSERT_TRUE(reloaded.ok) << printed << ::testing::PrintToString(reloaded.diagnostics);
  EXPECT_EQ(reloaded.options.common.output.webhook_batch, 50u);
  EXPECT_EQ(reloaded.options.common.output.file, o.file);

  // Flags win over the file.
  RunOptions cli = Defaults();
  cli.common.output.format = "falco";
  const Loaded flagged = Load("output: {format: ecs, webhook: {max_attempts: 2}}\n",
                              {"--alert-format", "--webhook-max-attempts"}, cli);
  ASSERT_TRUE(flagged.ok);
  EXPECT_EQ(flagged.options.common.output.format, "falco");
  EXPECT_EQ(flagged.options.common.output.webhook_max_attempts, 8);
}

TEST_F(RunConfigTest, BadOutputValuesAreLocatedErrors) {
  EXPECT_EQ(OnlyError("output:\n  format: ocfs\n"),
            "tuttle.yaml:2:11: error: output.format: unknown alert format 'ocfs' (known: ocsf, "
            "ecs, falco) (hint: did you mean 'ocsf'?)");
  EXPECT_EQ(OnlyError("output:\n  file: {path: a.jsonl, max_size: huge}\n"),
            "tuttle.yaml:2:35: error: output.file.max_size: 'huge' is not a size such as 100MB "
            "or 1GiB (0: no limit)");
  EXPECT_EQ(OnlyError("output:\n  file: {path: a.jsonl, keep: -1}\n"),
            "tuttle.yaml:2:31: error: output.file.keep: expected an integer from 0 to 10000, not "
            "'-1'");
  EXPECT_EQ(OnlyError("output:\n  webhook:\n    url: ftp://x\n"),
            "tuttle.yaml:3:10: error: output.webhook.url: 'ftp://x' is not an http:// or https:// "
            "URL");
  EXPECT_EQ(OnlyError("output:\n  webhook:\n    url: http://x\n    timeout: soon\n"),
            "tuttle.yaml:4:14: error: output.webhook.timeout: 'soon' is not a duration such as "
            "10s or 500ms");
  EXPECT_EQ(OnlyError("output:\n  webhook:\n    url: http://x\n    max_attempts: 0\n"),
            "tuttle.yaml:4:19: error: output.webhook.max_attempts: expected an integer from 1 to "
            "1000, not '0'");
  EXPECT_EQ(OnlyError("output:\n  webhook:\n    url: http://x\n    retries: 3\n"),
            "tuttle.yaml:4:5: error: output.webhook.retries: unknown key (known: url, token_file, "
            "batch, max_attempts, timeout, backoff, max_backoff, queue, dead_letter)");
}

}  // namespace
}  // namespace tuttle::tools
