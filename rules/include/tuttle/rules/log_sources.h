#pragma once
// The Sigma log sources Tuttle's records carry: each format adapter stamps its records with one
// of these (tuttle::LogSource), and a rule applies to a record when the rule's `logsource` fits
// it (LogSourceSpec::Matches). Rules written for another log source reach these records through
// a processing pipeline's change_logsource (see pipeline.h and rules/pipelines/).
//
// Only Kubernetes audit records carry a category (`application`, as SigmaHQ files them); a rule
// that sets another (`category: process_creation`) matches
// no record until a pipeline rewrites its log source.

#include <optional>
#include <string>
#include <string_view>

#include "tuttle/engine/rule_set.h"

namespace tuttle::rules {

struct BuiltinLogSource {
  std::string_view product;
  std::string_view service;  // empty: the records carry none
  // SigmaHQ files its Kubernetes audit rules under `category: application`; the records carry
  // it so those rules run unchanged. Empty: the records carry none.
  std::string_view category;
  // The adapter (Event::format) that produces it, or empty while none does yet. Kubernetes
  // audit comes from three (k8s_audit, aks_audit, gke_audit); the first is named.
  std::string_view format;
};

// Every built-in log source, adapters of today first.
inline constexpr BuiltinLogSource kBuiltinLogSources[] = {
    {"kubernetes", "audit", "application", "k8s_audit"},
    {"falco", "", "", "falco"},
    {"aws", "cloudtrail", "", "cloudtrail"},
    {"docker", "", "", "docker"},
    {"kubernetes", "container_logs", "", "cri"},
    {"aws", "lambda", "", "lambda"},
    {"gcp", "gcp.audit", "", "gcp_audit"},
    {"azure", "activitylogs", "", "azure_activity"},
    {"azure", "functionapplogs", "", "azure_functionapplogs"},
    {"trivy", "", "", "trivy"},
    {"aws", "ecr", "", "ecr_scan"},
    // Not an adapter: the parser's event for a record that breaks its data contract
    // (docs/contracts.md); its format is the record's own.
    {"tuttle", "contracts", "", "contracts"},
};

// True when a rule with `logsource` can match the records of a built-in log source that an
// adapter produces today (`format` not empty).
bool FitsBuiltinLogSource(const LogSourceSpec& logsource);

// Why a rule's log source is a near miss of a built-in one, or nullopt. A near miss names a
// built-in product but fits none of its sources (a category the records do not carry, a service
// they do not have), or spells a built-in product or service one typo away. Log sources of
// products Tuttle does not read at all (windows, linux, ...) are not near misses: such rules are
// meant for a pipeline or another tool. `hint` says what to change.
struct LogSourceNearMiss {
  std::string message;
  std::string hint;
};
std::optional<LogSourceNearMiss> NearMissLogSource(const LogSourceSpec& logsource);

}  // namespace tuttle::rules
