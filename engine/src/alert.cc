#include "tuttle/engine/alert.h"

#include "alert_json.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "tuttle/engine/alert_sink.h"
#include "tuttle/engine/attack.h"

namespace tuttle {
namespace {

using nlohmann::json;

constexpr const char* kOcsfVersion = "1.1.0";
constexpr const char* kAttackVersion = "18";

int64_t Ms(TimeNs t) { return t == kNoTime ? 0 : t / kNsPerMs; }

std::string_view SeverityName(Level level) {
  switch (level) {
    case Level::kInformational: return "Informational";
    case Level::kLow: return "Low";
    case Level::kMedium: return "Medium";
    case Level::kHigh: return "High";
    case Level::kCritical: return "Critical";
  }
  return "Unknown";
}

json EvidenceJson(const Evidence& e) {
  json data = {
      {"source", e.position.source},
      {"event_time", FormatTimestampNs(e.time)},
      {"record_uid", e.record_id.Hex()},
  };
  if (e.position.partition >= 0) {
    data["partition"] = e.position.partition;
    data["offset"] = e.position.offset;
  } else {
    data["line"] = e.position.offset;
  }
  if (e.rule) {
    data["rule_uid"] = e.rule->id;
    if (!e.rule->name.empty()) data["rule_name"] = e.rule->name;
    data["rule_title"] = e.rule->title;
  }
  return json{{"data", std::move(data)}};
}

json AttacksJson(const RuleInfo& rule) {
  const AttackTags tags = ParseAttackTags(rule.tags);
  json attacks = json::array();
  auto technique_json = [](const AttackTechnique& t, json& entry) {
    if (!t.parent_uid.empty()) {
      entry["technique"] = {{"uid", t.parent_uid}, {"name", t.parent_name}};
      entry["sub_technique"] = {{"uid", t.uid}, {"name", t.name}};
    } else {
      entry["technique"] = {{"uid", t.uid}, {"name", t.name}};
    }
  };
  // Sigma tags tactics and techniques separately; each technique is reported under each tactic.
  if (tags.tactics.empty()) {
    for (const auto& t : tags.techniques) {
      json entry = {{"version", kAttackVersion}};
      technique_json(t, entry);
      attacks.push_back(std::move(entry));
    }
  } else {
    for (const auto& tactic : tags.tactics) {
      json tactic_json = {{"uid", tactic.uid}, {"name", tactic.name}};
      if (tags.techniques.empty()) {
        attacks.push_back({{"version", kAttackVersion}, {"tactic", tactic_json}});
      }
      for (const auto& t : tags.techniques) {
        json entry = {{"version", kAttackVersion}, {"tactic", tactic_json}};
        technique_json(t, entry);
        attacks.push_back(std::move(entry));
      }
    }
  }
  return attacks;
}

// OCSF places for the entities: the workload objects as `resources` (resource_details), the
// caller as the evidence's `actor` and `src_endpoint`, the container as its `container`. Every
// entity also goes under unmapped.tuttle.entity, under the names of docs/formats.md.
void AddEntities(const OwnedEntities& e, json& doc, json& evidences, json& tuttle) {
  if (e.empty()) return;
  json entity = json::object();
  e.ForEach([&](std::string_view name, const std::string& value) {
    if (!value.empty()) entity[std::string(name)] = value;
  });
  tuttle["entity"] = std::move(entity);

  json resources = json::array();
  auto resource = [&](std::string_view type, const std::string& name, const std::string& uid) {
    json r = {{"type", type}, {"name", name}};
    if (!uid.empty()) r["uid"] = uid;
    if (!e.namespace_name.empty() && type.starts_with("kubernetes")) {
      r["namespace"] = e.namespace_name;
    }
    if (!e.tenant.empty()) r["owner"] = {{"account", {{"uid", e.tenant}}}};
    resources.push_back(std::move(r));
  };
  if (!e.cluster.empty()) resource("cluster", e.cluster, {});
  if (!e.workload.empty()) resource("kubernetes workload", e.workload, {});
  if (!e.pod.empty()) resource("kubernetes pod", e.pod, {});
  if (!e.function_name.empty() || !e.function_arn.empty()) {
    json r = {{"type", "function"},
              {"name", e.function_name.empty() ? e.function_arn : e.function_name}};
    if (!e.function_arn.empty()) r["uid"] = e.function_arn;
    if (!e.function_version.empty()) r["version"] = e.function_version;
    if (!e.tenant.empty()) r["owner"] = {{"account", {{"uid", e.tenant}}}};
    resources.push_back(std::move(r));
  }
  if (!resources.empty()) doc["resources"] = std::move(resources);

  if (evidences.empty()) return;
  json& first = evidences.front();
  if (!e.principal.empty()) first["actor"] = {{"user", {{"name", e.principal}}}};
  if (!e.source_address.empty()) first["src_endpoint"] = {{"ip", e.source_address}};
  if (!e.container_id.empty() || !e.image.empty() || !e.image_digest.empty()) {
    json container = json::object();
    if (!e.container_id.empty()) container["uid"] = e.container_id;
    json image = json::object();
    if (!e.image.empty()) image["name"] = e.image;
    if (!e.image_digest.empty()) image["uid"] = e.image_digest;
    if (!image.empty()) container["image"] = std::move(image);
    first["container"] = std::move(container);
  }
}

}  // namespace

Hash128 ComputeAlertId(const Alert& alert) {
  Hasher h;
  h.Add(std::string_view("tuttle-alert-v1"));
  h.Add(alert.rule ? std::string_view(alert.rule->id) : std::string_view());
  h.Add(alert.kind);
  h.Add(alert.tenant);
  h.Add(static_cast<int64_t>(alert.group.size()));
  for (const auto& [name, value] : alert.group) {
    h.Add(name);
    h.Add(value);
  }
  h.Add(static_cast<int64_t>(alert.evidence.size()));
  for (const auto& e : alert.evidence) {
    h.Add(e.record_id);
    h.Add(e.rule ? std::string_view(e.rule->id) : std::string_view());
  }
  return h.Finish();
}

namespace {
// "Title: detail; detail" (the details of a single-event alert, e.g. contract violations).
std::string MessageWithDetails(const std::string& title, const std::vector<std::string>& details) {
  std::string out = title;
  out += ": ";
  for (size_t i = 0; i < details.size(); ++i) {
    if (i > 0) out += "; ";
    out += details[i];
  }
  return out;
}
}  // namespace

std::string AlertToOcsfJson(const Alert& alert) {
  const RuleInfo empty_rule;
  const RuleInfo& rule = alert.rule ? *alert.rule : empty_rule;
  const auto severity_id = static_cast<int>(rule.level);
  json evidences = json::array();
  for (const auto& e : alert.evidence) evidences.push_back(EvidenceJson(e));

  json analytic = {{"uid", rule.id}, {"name", rule.title}, {"type_id", 1}, {"type", "Rule"}};

  json finding_info = {
      {"uid", alert.id.Uuid()},
      {"title", rule.title},
      {"analytic", std::move(analytic)},
      {"attacks", AttacksJson(rule)},
      {"types", json::array({alert.kind})},
      {"first_seen_time", Ms(alert.window_start)},
      {"last_seen_time", Ms(alert.window_end)},
      {"related_events_count", alert.evidence.size()},
  };
  if (!rule.description.empty()) finding_info["desc"] = rule.description;

  json group = json::object();
  json observables = json::array();
  for (const auto& [name, value] : alert.group) {
    group[name] = value;
    observables.push_back({{"name", name}, {"type_id", 99}, {"type", "Other"}, {"value", value}});
  }

  json tuttle = {
      {"kind", alert.kind},
      {"rule_level", LevelName(rule.level)},
      {"window", {{"start", FormatTimestampNs(alert.window_start)},
                  {"end", FormatTimestampNs(alert.window_end)}}},
  };
  if (!alert.group.empty()) tuttle["group_by"] = std::move(group);
  detail::AddAlertFacts(alert, tuttle);

  json doc = {
      {"class_uid", 2004},
      {"class_name", "Detection Finding"},
      {"category_uid", 2},
      {"category_name", "Findings"},
      {"activity_id", 1},
      {"activity_name", "Create"},
      {"type_uid", 200401},
      {"type_name", "Detection Finding: Create"},
      {"severity_id", severity_id},
      {"severity", SeverityName(rule.level)},
      {"status_id", 1},
      {"status", "New"},
      {"time", Ms(alert.time)},
      {"start_time", Ms(alert.window_start)},
      {"end_time", Ms(alert.window_end)},
      {"count", alert.evidence.size()},
      {"message",
       alert.details.empty() ? rule.title : MessageWithDetails(rule.title, alert.details)},
      {"metadata",
       {{"version", kOcsfVersion},
        {"product", {{"name", "Tuttle"}, {"vendor_name", "Tuttle"}, {"version", TUTTLE_VERSION}}},
        {"uid", alert.id.Uuid()}}},
      {"finding_info", std::move(finding_info)},
      {"evidences", std::move(evidences)},
      {"unmapped", {{"tuttle", std::move(tuttle)}}},
  };
  // OCSF 1.1 metadata.tenant_uid: the tenant that owns the data (docs/formats.md, "Tenant").
  if (!alert.tenant.empty()) doc["metadata"]["tenant_uid"] = alert.tenant;
  if (!observables.empty()) doc["observables"] = std::move(observables);
  AddEntities(alert.entities, doc, doc["evidences"], doc["unmapped"]["tuttle"]);
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string AlertToText(const Alert& alert, bool color) {
  const RuleInfo empty_rule;
  const RuleInfo& rule = alert.rule ? *alert.rule : empty_rule;
  std::string_view level = LevelName(rule.level);
  std::string_view on, off;
  if (color) {
    off = "\x1b[0m";
    switch (rule.level) {
      case Level::kCritical: on = "\x1b[1;35m"; break;
      case Level::kHigh: on = "\x1b[1;31m"; break;
      case Level::kMedium: on = "\x1b[33m"; break;
      default: on = "\x1b[36m"; break;
    }
  }
  std::string out = fmt::format("{} {}{:<8}{} {}", FormatTimestamp(alert.time), on, level, off,
                                rule.title);
  if (alert.kind != "single") {
    if (alert.value) {
      out += fmt::format("  [{} {} = {}", alert.kind, alert.field, *alert.value);
    } else {
      out += fmt::format("  [{} {}", alert.kind, alert.count);
    }
    if (!alert.condition.empty()) out += fmt::format(" {}", alert.condition);
    out += fmt::format(" in {}..{}]", FormatTimestamp(alert.window_start).substr(11),
                       FormatTimestamp(alert.window_end).substr(11));
  }
  for (const auto& [name, value] : alert.group) out += fmt::format("  {}={}", name, value);
  if (alert.kind == "single" && !alert.evidence.empty()) {
    const auto& p = alert.evidence.front().position;
    if (p.partition >= 0) {
      out += fmt::format("  {}[{}]@{}", p.source, p.partition, p.offset);
    } else {
      out += fmt::format("  {}:{}", p.source, p.offset);
    }
  } else {
    out += fmt::format("  evidence={}", alert.evidence.size());
  }
  if (alert.suppressed > 0) out += fmt::format("  suppressed={}", alert.suppressed);
  for (const std::string& d : alert.details) out += fmt::format("  [{}]", d);
  out += fmt::format("  id={}", alert.id.Uuid().substr(0, 8));
  return out;
}

std::string_view DeadLetterKindName(DeadLetter::Kind kind) {
  return kind == DeadLetter::Kind::kLate ? "late" : "parse";
}

namespace detail {

void AddAlertFacts(const Alert& alert, json& tuttle) {
  const RuleInfo& rule = *alert.rule;
  if (!rule.name.empty()) tuttle["rule_name"] = rule.name;
  if (!alert.condition.empty()) tuttle["condition"] = alert.condition;
  if (alert.kind != "single") tuttle["count"] = alert.count;
  if (!alert.values.empty()) tuttle["values"] = alert.values;
  if (!alert.field.empty()) tuttle["field"] = alert.field;
  if (alert.value) {
    tuttle["value"] = *alert.value;
    tuttle["numeric_values"] = alert.numeric;
  }
  if (alert.suppressed > 0) {
    tuttle["suppressed"] = {{"count", alert.suppressed},
                            {"first", FormatTimestampNs(alert.suppressed_first)},
                            {"last", FormatTimestampNs(alert.suppressed_last)}};
  }
  if (!alert.chained.empty()) {
    json chained = json::array();
    for (const Hash128& id : alert.chained) chained.push_back(id.Uuid());
    tuttle["chained_alerts"] = std::move(chained);
  }
  if (!alert.product.empty() || !alert.service.empty()) {
    tuttle["log_source"] = {{"product", alert.product}, {"service", alert.service}};
  }
  if (!rule.file.empty()) tuttle["rule_file"] = rule.file;
  if (!alert.tenant.empty()) tuttle["tenant"] = alert.tenant;
  if (!alert.details.empty()) tuttle["details"] = alert.details;
}

}  // namespace detail
}  // namespace tuttle
