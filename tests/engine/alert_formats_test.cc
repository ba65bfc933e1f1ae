// The alert formats (alert.h): ECS and Falco JSON read back field by field, and the one switch.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tuttle/engine/alert.h"

namespace tuttle {
namespace {

using nlohmann::json;

constexpr TimeNs kTime = 1540561366808123456;  // 2018-10-26T13:42:46.808123456Z

std::shared_ptr<const RuleInfo> Rule(Level level) {
  auto r = std::make_shared<RuleInfo>();
  r->id = "2a3c5e1f-0000-4000-8000-000000000001";
  r->name = "k8s_exec_then_secrets";
  r->title = "K8s exec then secret listing";
  r->description = "An exec into a pod followed by a listing of secrets";
  r->author = "Tuttle";
  r->level = level;
  r->tags = {"attack.execution", "attack.credential-access", "attack.t1609", "attack.t1552.007"};
  r->references = {"https://example.com/a", "https://example.com/b"};
  return r;
}

Alert K8sAlert(Level level = Level::kHigh) {
  Alert a;
  a.rule = Rule(level);
  a.kind = "temporal";
  a.time = kTime;
  a.window_start = kTime - 5 * kNsPerSecond;
  a.window_end = kTime;
  a.group = {{"user.username", "alice"}};
  a.count = 2;
  a.condition = ">= 2";
  a.product = "kubernetes";
  a.service = "audit";
  a.tenant = "acme";
  a.entities.cluster = "prod-eu";
  a.entities.namespace_name = "payments";
  a.entities.pod = "api-7d9f";
  a.entities.container_id = "c0ffee";
  a.entities.image = "registry:5000/team/api:1.4.2";
  a.entities.principal = "alice";
  a.entities.source_address = "10.0.0.7";
  for (int i = 0; i < 2; ++i) {
    Evidence e;
    e.position = {"telemetry", 1, 40 + i};
    e.time = kTime - (1 - i) * kNsPerSecond;
    e.record_id = Hash128{static_cast<uint64_t>(i + 1), 7};
    e.rule = a.rule;
    a.evidence.push_back(e);
  }
  a.id = ComputeAlertId(a);
  return a;
}

TEST(AlertFormats, EcsAlertCarriesEventRuleThreatAndEntities) {
  const Alert a = K8sAlert();
  const json d = json::parse(AlertToEcsJson(a));
  EXPECT_EQ(d["@timestamp"], "2018-10-26T13:42:46.808123456Z");
  EXPECT_EQ(d["event"]["kind"], "alert");
  EXPECT_EQ(d["event"]["category"], json::array({"intrusion_detection"}));
  EXPECT_EQ(d["event"]["type"], json::array({"info"}));
  EXPECT_EQ(d["event"]["severity"], 4);
  EXPECT_EQ(d["event"]["id"], a.id.Uuid());
  EXPECT_EQ(d["event"]["start"], "2018-10-26T13:42:41.808123456Z");
  EXPECT_EQ(d["event"]["end"], "2018-10-26T13:42:46.808123456Z");
  EXPECT_TRUE(ParseTimestamp(d["event"]["created"].get<std::string>()).has_value());
  EXPECT_EQ(d["rule"]["id"], a.rule->id);
  EXPECT_EQ(d["rule"]["name"], "K8s exec then secret listing");
  EXPECT_EQ(d["rule"]["description"], a.rule->description);
  EXPECT_EQ(d["rule"]["reference"], "https://example.com/a");
  EXPECT_EQ(d["rule"]["ruleset"], "tuttle");
  EXPECT_EQ(d["rule"]["author"], json::array({"Tuttle"}));
  EXPECT_EQ(d["message"], "K8s exec then secret listing");

  const json& t = d["threat"];
  EXPECT_EQ(t["framework"], "MITRE ATT&CK");
  EXPECT_EQ(t["tactic"]["id"], json::array({"TA0002", "TA0006"}));
  EXPECT_EQ(t["tactic"]["name"], json::array({"Execution", "Credential Access"}));
  EXPECT_EQ(t["tactic"]["reference"][0], "https://attack.mitre.org/tactics/TA0002/");
  // The sub-technique's parent is a technique; the sub-technique is under subtechnique.
  EXPECT_EQ(t["technique"]["id"], json::array({"T1609", "T1552"}));
  EXPECT_EQ(t["technique"]["name"][1], "Unsecured Credentials");
  EXPECT_EQ(t["technique"]["reference"][0], "https://attack.mitre.org/techniques/T1609/");
  EXPECT_EQ(t["technique"]["subtechnique"]["id"], json::array({"T1552.007"}));
  EXPECT_EQ(t["technique"]["subtechnique"]["name"], json::array({"Container API"}));
  EXPECT_EQ(t["technique"]["subtechnique"]["reference"][0],
            "https://attack.mitre.org/techniques/T1552/007/");

  EXPECT_EQ(d["container"]["id"], "c0ffee");
  // The registry's port is not the tag.
  EXPECT_EQ(d["container"]["image"]["name"], "registry:5000/team/api");
  EXPECT_EQ(d["container"]["image"]["tag"], json::array({"1.4.2"}));
  EXPECT_EQ(d["orchestrator"]["namespace"], "payments");
  EXPECT_EQ(d["orchestrator"]["cluster"]["name"], "prod-eu");
  EXPECT_EQ(d["orchestrator"]["resource"]["name"], "api-7d9f");
  EXPECT_EQ(d["orchestrator"]["resource"]["type"], "pod");
  EXPECT_EQ(d["user"]["name"], "alice");
  EXPECT_EQ(d["source"]["ip"], "10.0.0.7");
  EXPECT_EQ(d["cloud"]["account"]["id"], "acme");
  EXPECT_EQ(d["labels"]["user.username"], "alice");
  EXPECT_EQ(d["tags"][2], "attack.t1609");

  const json& x = d["tuttle"];
  EXPECT_EQ(x["kind"], "temporal");
  EXPECT_EQ(x["rule_name"], "k8s_exec_then_secrets");
  EXPECT_EQ(x["group"]["user.username"], "alice");
  EXPECT_EQ(x["count"], 2);
  ASSERT_EQ(x["evidence"].size(), 2u);
  EXPECT_EQ(x["evidence"][1]["source"], "telemetry");
  EXPECT_EQ(x["evidence"][1]["partition"], 1);
  EXPECT_EQ(x["evidence"][1]["offset"], 41);
  EXPECT_EQ(x["evidence"][1]["record_id"], a.evidence[1].record_id.Hex());
  EXPECT_EQ(x["evidence"][0]["rule_id"], a.rule->id);
}

TEST(AlertFormats, EcsAlertOfAFunctionNamesFaasAndCloud) {
  Alert a;
  a.rule = Rule(Level::kCritical);
  a.kind = "single";
  a.time = kTime;
  a.product = "aws";
  a.service = "cloudtrail";
  a.entities.function_name = "billing";
  a.entities.function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:billing";
  a.entities.tenant = "123456789012";
  Evidence e;
  e.position = {"trail.jsonl", -1, 7};
  e.time = kTime;
  a.evidence.push_back(e);
  a.id = ComputeAlertId(a);
  const json d = json::parse(AlertToEcsJson(a));
  EXPECT_EQ(d["event"]["severity"], 5);
  EXPECT_EQ(d["faas"]["name"], "billing");
  EXPECT_EQ(d["faas"]["id"], a.entities.function_arn);
  EXPECT_EQ(d["cloud"]["account"]["id"], "123456789012");
  EXPECT_EQ(d["cloud"]["provider"], "aws");
  EXPECT_EQ(d["tuttle"]["evidence"][0]["line"], 7);
  EXPECT_FALSE(d["tuttle"]["evidence"][0].contains("partition"));
  EXPECT_FALSE(d.contains("container"));
  EXPECT_FALSE(d.contains("orchestrator"));
}

TEST(AlertFormats, FalcoOutputReadsLikeFalcosJsonOutput) {
  const Alert a = K8sAlert();
  const json d = json::parse(AlertToFalcoJson(a));
  EXPECT_EQ(d["time"], "2018-10-26T13:42:46.808123456Z");
  EXPECT_EQ(d["rule"], "K8s exec then secret listing");
  EXPECT_EQ(d["priority"], "Error");
  EXPECT_EQ(d["source"], "k8s_audit");
  EXPECT_FALSE(d["hostname"].get<std::string>().empty());
  const std::string output = d["output"];
  EXPECT_EQ(
      output.rfind("2018-10-26T13:42:46.808123456+0000: Error K8s exec then secret listing (", 0),
      0u)
      << output;
  EXPECT_NE(output.find("ka.user.name=alice"), std::string::npos) << output;
  EXPECT_NE(output.find("k8s.ns.name=payments"), std::string::npos) << output;
  EXPECT_NE(output.find(" ka.sourceips=10.0.0.7 "), std::string::npos) << output;
  const json& f = d["output_fields"];
  EXPECT_EQ(f["evt.time"], kTime);
  EXPECT_EQ(f["ka.user.name"], "alice");
  EXPECT_EQ(f["ka.target.namespace"], "payments");
  EXPECT_EQ(f["ka.sourceips"], json::array({"10.0.0.7"}));
  EXPECT_EQ(f["k8s.ns.name"], "payments");
  EXPECT_EQ(f["k8s.pod.name"], "api-7d9f");
  EXPECT_EQ(f["container.id"], "c0ffee");
  EXPECT_EQ(f["container.image.repository"], "registry:5000/team/api");
  EXPECT_EQ(f["container.image.tag"], "1.4.2");
  EXPECT_EQ(f["tuttle.alert_id"], a.id.Uuid());
  EXPECT_EQ(f["tuttle.group.user.username"], "alice");
  EXPECT_EQ(f["tuttle.count"], 2);
  // Flat: every value a string, number or list of strings.
  for (const auto& [k, v] : f.items()) EXPECT_FALSE(v.is_object()) << k;
  EXPECT_EQ(d["tags"], json::array({"T1609", "T1552.007", "mitre_execution",
                                    "mitre_credential_access", "tuttle"}));
}

TEST(AlertFormats, FalcoPrioritiesAndSourcesFollowLevelsAndLogSources) {
  EXPECT_EQ(FalcoPriority(Level::kCritical), "Critical");
  EXPECT_EQ(FalcoPriority(Level::kHigh), "Error");
  EXPECT_EQ(FalcoPriority(Level::kMedium), "Warning");
  EXPECT_EQ(FalcoPriority(Level::kLow), "Notice");
  EXPECT_EQ(FalcoPriority(Level::kInformational), "Informational");
  Alert a = K8sAlert(Level::kLow);
  a.product = "aws";
  a.service = "cloudtrail";
  a.entities = {};
  a.entities.principal = "arn:aws:iam::1:user/bob";
  a.entities.tenant = "111122223333";
  json d = json::parse(AlertToFalcoJson(a));
  EXPECT_EQ(d["priority"], "Notice");
  EXPECT_EQ(d["source"], "aws_cloudtrail");
  EXPECT_EQ(d["output_fields"]["ct.user"], "arn:aws:iam::1:user/bob");
  EXPECT_EQ(d["output_fields"]["ct.user.accountid"], "111122223333");
  a.product = "falco";
  a.service.clear();
  EXPECT_EQ(json::parse(AlertToFalcoJson(a))["source"], "syscall");
}

TEST(AlertFormats, FormatAlertSwitchesOnTheParsedName) {
  EXPECT_EQ(ParseAlertFormat("ocsf"), AlertFormat::kOcsf);
  EXPECT_EQ(ParseAlertFormat("ECS"), AlertFormat::kEcs);
  EXPECT_EQ(ParseAlertFormat("falco"), AlertFormat::kFalco);
  EXPECT_FALSE(ParseAlertFormat("cef").has_value());
  EXPECT_EQ(AlertFormatName(AlertFormat::kFalco), "falco");
  const Alert a = K8sAlert();
  EXPECT_EQ(json::parse(FormatAlert(a, AlertFormat::kOcsf))["class_uid"], 2004);
  EXPECT_EQ(json::parse(FormatAlert(a, AlertFormat::kEcs))["event"]["kind"], "alert");
  EXPECT_EQ(json::parse(FormatAlert(a, AlertFormat::kFalco))["priority"], "Error");
}

}  // namespace
}  // namespace tuttle
