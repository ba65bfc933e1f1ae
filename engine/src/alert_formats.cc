// The alert formats besides OCSF (alert.cc): Elastic Common Schema and Falco's JSON output, and
// the one switch over all of them. docs/alerts.md shows an example of each.

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <chrono>
#include <climits>
#include <nlohmann/json.hpp>

#include "tuttle/engine/alert.h"
#include "tuttle/engine/attack.h"
#include "tuttle/engine/strings.h"

#include "alert_json.h"

namespace tuttle {
namespace {

using nlohmann::json;

constexpr const char* kEcsVersion = "8.11.0";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ATT&CK's pages: techniques/T1552/, techniques/T1552/007/, tactics/TA0006/.
std::string TechniqueUrl(std::string_view uid) {
  std::string path(uid);
  for (char& c : path) {
    if (c == '.') c = '/';
  }
  return fmt::format("https://attack.mitre.org/techniques/{}/", path);
}
std::string TacticUrl(std::string_view uid) {
  return fmt::format("https://attack.mitre.org/tactics/{}/", uid);
}

const std::string& HostName() {
  static const std::string name = [] {
    std::array<char, HOST_NAME_MAX + 1> buf{};
    if (gethostname(buf.data(), buf.size() - 1) != 0) return std::string("localhost");
    return std::string(buf.data());
  }();
  return name;
}

json EcsEvidence(const Evidence& e) {
  json out = {{"source", e.position.source},
              {"time", FormatTimestampNs(e.time)},
              {"record_id", e.record_id.Hex()}};
  if (e.position.partition >= 0) {
    out["partition"] = e.position.partition;
    out["offset"] = e.position.offset;
  } else {
    out["line"] = e.position.offset;
  }
  if (e.rule) {
    out["rule_id"] = e.rule->id;
    out["rule_title"] = e.rule->title;
  }
  return out;
}

std::string Message(const Alert& alert, const RuleInfo& rule) {
  if (alert.details.empty()) return rule.title;
  std::string out = rule.title;
  out += ": ";
  for (size_t i = 0; i < alert.details.size(); ++i) {
    if (i > 0) out += "; ";
    out += alert.details[i];
  }
  return out;
}

// Cloud providers as ECS names them (cloud.provider), from the alert's log source product.
std::string_view CloudProvider(std::string_view product) {
  if (product == "aws") return "aws";
  if (product == "gcp") return "gcp";
  if (product == "azure") return "azure";
  return {};
}

// The ECS `threat` object: each field an array, as ECS documents them; sub-techniques under
// threat.technique.subtechnique, their parents as the techniques.
json EcsThreat(const RuleInfo& rule) {
  const AttackTags tags = ParseAttackTags(rule.tags);
  if (tags.tactics.empty() && tags.techniques.empty()) return json();
  json threat = {{"framework", "MITRE ATT&CK"}};
  if (!tags.tactics.empty()) {
    json ids = json::array(), names = json::array(), refs = json::array();
    for (const AttackTactic& t : tags.tactics) {
      ids.push_back(t.uid);
      names.push_back(t.name);
      refs.push_back(TacticUrl(t.uid));
    }
    threat["tactic"] = {{"id", ids}, {"name", names}, {"reference", refs}};
  }
  if (!tags.techniques.empty()) {
    json ids = json::array(), names = json::array(), refs = json::array();
    json sub_ids = json::array(), sub_names = json::array(), sub_refs = json::array();
    auto add_technique = [&](const std::string& uid, const std::string& name) {
      for (const auto& id : ids) {
        if (id == uid) return;
      }
      ids.push_back(uid);
      names.push_back(name);
      refs.push_back(TechniqueUrl(uid));
    };
    for (const AttackTechnique& t : tags.techniques) {
      if (t.parent_uid.empty()) {
        add_technique(t.uid, t.name);
      } else {
        add_technique(t.parent_uid, t.parent_name);
        sub_ids.push_back(t.uid);
        sub_names.push_back(t.name);
        sub_refs.push_back(TechniqueUrl(t.uid));
      }
    }
    json technique = {{"id", ids}, {"name", names}, {"reference", refs}};
    if (!sub_ids.empty()) {
      technique["subtechnique"] = {{"id", sub_ids}, {"name", sub_names}, {"reference", sub_refs}};
    }
    threat["technique"] = std::move(technique);
  }
  return threat;
}

// "repository[:tag]" (or "repository@sha256:...") into repository and tag; a ':' before the last
// '/' is a registry port, not a tag.
std::pair<std::string, std::string> SplitImage(const std::string& image) {
  const size_t at = image.find('@');
  const std::string name = at == std::string::npos ? image : image.substr(0, at);
  const size_t colon = name.rfind(':');
  const size_t slash = name.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) {
    return {name, {}};
  }
  return {name.substr(0, colon), name.substr(colon + 1)};
}

// Falco's event sources, from the alert's log source (docs/formats.md lists the products).
std::string_view FalcoSource(const Alert& alert) {
  const std::string product = Lower(alert.product);
  const std::string service = Lower(alert.service);
  if (product == "kubernetes" && service == "audit") return "k8s_audit";
  if (product == "aws" && service == "cloudtrail") return "aws_cloudtrail";
  if (product == "gcp") return "gcp_auditlog";
  if (product == "falco" || product == "linux") return "syscall";
  if (product == "docker") return "docker";
  if (product.empty()) return "tuttle";
  return product == "kubernetes" ? "k8s" : std::string_view(alert.product);
}

// "Privilege Escalation" -> "mitre_privilege_escalation", as Falco's rules tag tactics.
std::string FalcoTacticTag(std::string_view name) {
  std::string out = "mitre_";
  for (char c : name) {
    out +=
        c == ' ' || c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

std::string AlertToEcsJson(const Alert& alert) {
  const RuleInfo empty_rule;
  const RuleInfo& rule = alert.rule ? *alert.rule : empty_rule;
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();

  json event = {
      {"kind", "alert"},
      {"category", json::array({"intrusion_detection"})},
      {"type", json::array({"info"})},
      {"severity", static_cast<int>(rule.level)},
      {"id", alert.id.Uuid()},
      {"start", FormatTimestampNs(alert.window_start)},
      {"end", FormatTimestampNs(alert.window_end)},
      {"created", FormatTimestampNs(now)},
      {"provider", "tuttle"},
      {"dataset", "tuttle.alerts"},
      {"reason", rule.title},
  };
  json ecs_rule = {{"id", rule.id}, {"uuid", rule.id}, {"name", rule.title}, {"ruleset", "tuttle"}};
  if (!rule.description.empty()) ecs_rule["description"] = rule.description;
  if (!rule.references.empty()) ecs_rule["reference"] = rule.references.front();
  if (!rule.author.empty()) ecs_rule["author"] = json::array({rule.author});

  json doc = {
      {"@timestamp", FormatTimestampNs(alert.time)},
      {"ecs", {{"version", kEcsVersion}}},
      {"message", Message(alert, rule)},
      {"event", std::move(event)},
      {"rule", std::move(ecs_rule)},
      {"observer",
       {{"vendor", "Tuttle"},
        {"product", "Tuttle"},
        {"type", "ids"},
        {"version", TUTTLE_VERSION},
        {"hostname", HostName()}}},
  };
  if (json threat = EcsThreat(rule); !threat.is_null()) doc["threat"] = std::move(threat);

  const OwnedEntities& e = alert.entities;
  if (!e.container_id.empty() || !e.image.empty() || !e.image_digest.empty()) {
    json container = json::object();
    if (!e.container_id.empty()) container["id"] = e.container_id;
    if (!e.image.empty()) {
      const auto [name, tag] = SplitImage(e.image);
      container["image"]["name"] = name;
      if (!tag.empty()) container["image"]["tag"] = json::array({tag});
    }
    if (!e.image_digest.empty()) container["image"]["hash"]["all"] = json::array({e.image_digest});
    doc["container"] = std::move(container);
  }
  if (!e.cluster.empty() || !e.namespace_name.empty() || !e.pod.empty() || !e.workload.empty()) {
    json orchestrator = {{"type", "kubernetes"}};
    if (!e.cluster.empty()) orchestrator["cluster"]["name"] = e.cluster;
    if (!e.namespace_name.empty()) orchestrator["namespace"] = e.namespace_name;
    if (!e.pod.empty()) {
      orchestrator["resource"] = {{"type", "pod"}, {"name", e.pod}};
      if (!e.workload.empty()) orchestrator["resource"]["parent"]["type"] = "workload";
    } else if (!e.workload.empty()) {
      orchestrator["resource"] = {{"type", "workload"}, {"name", e.workload}};
    }
    doc["orchestrator"] = std::move(orchestrator);
  }
  if (!e.principal.empty()) doc["user"]["name"] = e.principal;
  if (!e.source_address.empty()) doc["source"]["ip"] = e.source_address;
  const std::string& account = !e.tenant.empty() ? e.tenant : alert.tenant;
  if (!account.empty()) doc["cloud"]["account"]["id"] = account;
  if (std::string_view p = CloudProvider(Lower(alert.product)); !p.empty()) {
    doc["cloud"]["provider"] = p;
  }
  if (!e.function_name.empty() || !e.function_arn.empty()) {
    json faas = json::object();
    if (!e.function_name.empty()) faas["name"] = e.function_name;
    if (!e.function_arn.empty()) faas["id"] = e.function_arn;
    if (!e.function_version.empty()) faas["version"] = e.function_version;
    doc["faas"] = std::move(faas);
  }

  json labels = json::object();
  for (const auto& [name, value] : alert.group) labels[name] = value;
  if (!alert.tenant.empty()) labels["tenant"] = alert.tenant;
  if (!labels.empty()) doc["labels"] = std::move(labels);
  doc["tags"] = rule.tags;

  json tuttle = {{"kind", alert.kind}, {"level", LevelName(rule.level)}};
  if (!alert.group.empty()) {
    json group = json::object();
    for (const auto& [name, value] : alert.group) group[name] = value;
    tuttle["group"] = std::move(group);
  }
  detail::AddAlertFacts(alert, tuttle);
  if (rule.references.size() > 1) tuttle["references"] = rule.references;
  json evidence = json::array();
  for (const Evidence& ev : alert.evidence) evidence.push_back(EcsEvidence(ev));
  tuttle["evidence"] = std::move(evidence);
  doc["tuttle"] = std::move(tuttle);
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string_view FalcoPriority(Level level) {
  switch (level) {
    case Level::kCritical:
      return "Critical";
    case Level::kHigh:
      return "Error";
    case Level::kMedium:
      return "Warning";
    case Level::kLow:
      return "Notice";
    case Level::kInformational:
      return "Informational";
  }
  return "Warning";
}

std::string AlertToFalcoJson(const Alert& alert) {
  const RuleInfo empty_rule;
  const RuleInfo& rule = alert.rule ? *alert.rule : empty_rule;
  const std::string_view source = FalcoSource(alert);
  const std::string_view priority = FalcoPriority(rule.level);
  const OwnedEntities& e = alert.entities;

  // Falco's own field names where it has one for the entity, per event source; Tuttle's under
  // tuttle.* otherwise. Order kept for the message.
  std::vector<std::pair<std::string, json>> fields;
  auto add = [&fields](std::string name, const std::string& value) {
    if (!value.empty()) fields.emplace_back(std::move(name), value);
  };
  if (source == "k8s_audit") {
    add("ka.user.name", e.principal);
    add("ka.target.namespace", e.namespace_name);
    add("ka.target.name", e.pod.empty() ? e.workload : e.pod);
    if (!e.source_address.empty()) {
      fields.emplace_back("ka.sourceips", json::array({e.source_address}));
    }
  } else if (source == "aws_cloudtrail") {
    add("ct.user", e.principal);
    add("ct.srcip", e.source_address);
    add("ct.user.accountid", e.tenant);
  } else if (source == "gcp_auditlog") {
    add("gcp.user", e.principal);
    add("gcp.callerIP", e.source_address);
    add("gcp.projectId", e.tenant);
  } else {
    add("user.name", e.principal);
    add("fd.cip", e.source_address);
  }
  add("k8s.ns.name", e.namespace_name);
  add("k8s.pod.name", e.pod);
  add("container.id", e.container_id);
  if (!e.image.empty()) {
    const auto [repository, tag] = SplitImage(e.image);
    add("container.image.repository", repository);
    add("container.image.tag", tag);
  }
  add("container.image.digest", e.image_digest);
  add("tuttle.cluster", e.cluster);
  add("tuttle.workload", e.workload);
  add("tuttle.function_name", e.function_name);
  add("tuttle.function_arn", e.function_arn);
  add("tuttle.function_version", e.function_version);
  if (source != "aws_cloudtrail" && source != "gcp_auditlog") add("tuttle.account", e.tenant);
  for (const auto& [name, value] : alert.group) add(Cat("tuttle.group.", name), value);
  add("tuttle.tenant", alert.tenant);
  add("tuttle.rule_id", rule.id);
  add("tuttle.kind", alert.kind);
  if (alert.kind != "single") {
    fields.emplace_back("tuttle.count", alert.count);
    add("tuttle.condition", alert.condition);
    add("tuttle.window_start", FormatTimestampNs(alert.window_start));
  }
  fields.emplace_back("tuttle.evidence", static_cast<int64_t>(alert.evidence.size()));
  if (!alert.evidence.empty()) {
    const SourcePosition& p = alert.evidence.front().position;
    add("tuttle.evidence_source", p.source);
    fields.emplace_back(p.partition >= 0 ? "tuttle.evidence_offset" : "tuttle.evidence_line",
                        p.offset);
    if (p.partition >= 0) fields.emplace_back("tuttle.evidence_partition", p.partition);
  }
  for (size_t i = 0; i < alert.details.size(); ++i) {
    add(fmt::format("tuttle.details[{}]", i), alert.details[i]);
  }
  add("tuttle.alert_id", alert.id.Uuid());

  // "2018-10-26T13:42:46.808123456+0000: Error <title> (k=v k=v ...)", as Falco writes its
  // output line with time_format_iso_8601.
  std::string time = FormatTimestampNs(alert.time);
  std::string prefix = time;
  if (!prefix.empty() && prefix.back() == 'Z') {
    prefix.pop_back();
    prefix += "+0000";
  }
  std::string output = fmt::format("{}: {} {}", prefix, priority, Message(alert, rule));
  std::string details;
  json output_fields = json::object();
  if (alert.time != kNoTime) output_fields["evt.time"] = alert.time;
  for (const auto& [name, value] : fields) {
    if (name == "tuttle.rule_id" || name == "tuttle.evidence_source" ||
        name.starts_with("tuttle.evidence_") || name.starts_with("tuttle.details")) {
      output_fields[name] = value;
      continue;
    }
    if (!details.empty()) details += ' ';
    details += name;
    details += '=';
    if (value.is_array()) {
      for (size_t i = 0; i < value.size(); ++i) {
        if (i > 0) details += ',';
        details += value[i].get<std::string>();
      }
    } else {
      details += value.is_string() ? value.get<std::string>() : value.dump();
    }
    output_fields[name] = value;
  }
  if (!details.empty()) output += fmt::format(" ({})", details);

  json tags = json::array();
  const AttackTags attack = ParseAttackTags(rule.tags);
  for (const AttackTechnique& t : attack.techniques) tags.push_back(t.uid);
  for (const AttackTactic& t : attack.tactics) tags.push_back(FalcoTacticTag(t.name));
  tags.push_back("tuttle");

  json doc = {
      {"time", time},
      {"rule", rule.title},
      {"priority", priority},
      {"source", source},
      {"output", std::move(output)},
      {"output_fields", std::move(output_fields)},
      {"tags", std::move(tags)},
      {"hostname", HostName()},
  };
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<AlertFormat> ParseAlertFormat(std::string_view name) {
  const std::string lower = Lower(name);
  if (lower == "ocsf") return AlertFormat::kOcsf;
  if (lower == "ecs") return AlertFormat::kEcs;
  if (lower == "falco") return AlertFormat::kFalco;
  return std::nullopt;
}

std::string_view AlertFormatName(AlertFormat format) {
  switch (format) {
    case AlertFormat::kOcsf:
      return "ocsf";
    case AlertFormat::kEcs:
      return "ecs";
    case AlertFormat::kFalco:
      return "falco";
  }
  return "ocsf";
}

std::string FormatAlert(const Alert& alert, AlertFormat format) {
  switch (format) {
    case AlertFormat::kOcsf:
      return AlertToOcsfJson(alert);
    case AlertFormat::kEcs:
      return AlertToEcsJson(alert);
    case AlertFormat::kFalco:
      return AlertToFalcoJson(alert);
  }
  return AlertToOcsfJson(alert);
}

}  // namespace tuttle
