#include "tuttle/engine/attack.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace tuttle {
namespace {

struct Named {
  std::string_view uid;
  std::string_view name;
};

// Enterprise tactics, keyed by Sigma's tag spelling (with '-' and '_' both accepted).
constexpr std::array<std::pair<std::string_view, Named>, 14> kTactics = {{
    {"reconnaissance", {"TA0043", "Reconnaissance"}},
    {"resource-development", {"TA0042", "Resource Development"}},
    {"initial-access", {"TA0001", "Initial Access"}},
    {"execution", {"TA0002", "Execution"}},
    {"persistence", {"TA0003", "Persistence"}},
    {"privilege-escalation", {"TA0004", "Privilege Escalation"}},
    {"defense-evasion", {"TA0005", "Defense Evasion"}},
    {"credential-access", {"TA0006", "Credential Access"}},
    {"discovery", {"TA0007", "Discovery"}},
    {"lateral-movement", {"TA0008", "Lateral Movement"}},
    {"collection", {"TA0009", "Collection"}},
    {"command-and-control", {"TA0011", "Command and Control"}},
    {"exfiltration", {"TA0010", "Exfiltration"}},
    {"impact", {"TA0040", "Impact"}},
}};

// Techniques of the Containers matrix and the cloud techniques around serverless functions.
// Names for ids outside this table are left empty rather than guessed.
constexpr std::array<Named, 49> kTechniques = {{
    {"T1046", "Network Service Discovery"},
    {"T1053", "Scheduled Task/Job"},
    {"T1053.007", "Container Orchestration Job"},
    {"T1059", "Command and Scripting Interpreter"},
    {"T1059.004", "Unix Shell"},
    {"T1059.013", "Container CLI/API"},
    {"T1068", "Exploitation for Privilege Escalation"},
    {"T1069", "Permission Groups Discovery"},
    {"T1069.003", "Cloud Groups"},
    {"T1070", "Indicator Removal"},
    {"T1078", "Valid Accounts"},
    {"T1078.001", "Default Accounts"},
    {"T1078.004", "Cloud Accounts"},
    {"T1087", "Account Discovery"},
    {"T1087.004", "Cloud Account"},
    {"T1098", "Account Manipulation"},
    {"T1098.001", "Additional Cloud Credentials"},
    {"T1098.003", "Additional Cloud Roles"},
    {"T1098.006", "Additional Container Cluster Roles"},
    {"T1105", "Ingress Tool Transfer"},
    {"T1110", "Brute Force"},
    {"T1133", "External Remote Services"},
    {"T1136", "Create Account"},
    {"T1136.003", "Cloud Account"},
    {"T1190", "Exploit Public-Facing Application"},
    {"T1204", "User Execution"},
    {"T1204.003", "Malicious Image"},
    {"T1496", "Resource Hijacking"},
    {"T1496.001", "Compute Hijacking"},
    {"T1525", "Implant Internal Image"},
    {"T1526", "Cloud Service Discovery"},
    {"T1528", "Steal Application Access Token"},
    {"T1530", "Data from Cloud Storage"},
    {"T1543", "Create or Modify System Process"},
    {"T1543.005", "Container Service"},
    {"T1552", "Unsecured Credentials"},
    {"T1552.001", "Credentials In Files"},
    {"T1552.005", "Cloud Instance Metadata API"},
    {"T1552.007", "Container API"},
    {"T1562", "Impair Defenses"},
    {"T1562.001", "Disable or Modify Tools"},
    {"T1578", "Modify Cloud Compute Infrastructure"},
    {"T1580", "Cloud Infrastructure Discovery"},
    {"T1609", "Container Administration Command"},
    {"T1610", "Deploy Container"},
    {"T1611", "Escape to Host"},
    {"T1612", "Build Image on Host"},
    {"T1613", "Container and Resource Discovery"},
    {"T1648", "Serverless Execution"},
}};

std::string_view TechniqueName(std::string_view uid) {
  for (const auto& t : kTechniques) {
    if (t.uid == uid) return t.name;
  }
  return {};
}

bool IsTechniqueId(std::string_view s) {
  // t1234 or t1234.001
  if (s.size() != 5 && s.size() != 9) return false;
  if (s[0] != 't' && s[0] != 'T') return false;
  for (size_t i = 1; i < 5; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  if (s.size() == 9) {
    if (s[5] != '.') return false;
    for (size_t i = 6; i < 9; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    }
  }
  return true;
}

}  // namespace

AttackTags ParseAttackTags(const std::vector<std::string>& tags) {
  AttackTags out;
  for (const std::string& tag : tags) {
    std::string lower(tag);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower.rfind("attack.", 0) != 0) continue;
    std::string rest = lower.substr(7);
    if (IsTechniqueId(rest)) {
      AttackTechnique t;
      t.uid = rest;
      t.uid[0] = 'T';
      t.name = std::string(TechniqueName(t.uid));
      if (t.uid.size() == 9) {
        t.parent_uid = t.uid.substr(0, 5);
        t.parent_name = std::string(TechniqueName(t.parent_uid));
      }
      const bool seen = std::any_of(out.techniques.begin(), out.techniques.end(),
                                    [&](const AttackTechnique& x) { return x.uid == t.uid; });
      if (!seen) out.techniques.push_back(std::move(t));
      continue;
    }
    std::replace(rest.begin(), rest.end(), '_', '-');
    for (const auto& entry : kTactics) {
      const Named& tactic = entry.second;
      if (entry.first == rest) {
        const bool seen = std::any_of(out.tactics.begin(), out.tactics.end(),
                                      [&](const AttackTactic& x) { return x.uid == tactic.uid; });
        if (!seen) out.tactics.push_back({std::string(tactic.uid), std::string(tactic.name)});
      }
    }
  }
  return out;
}

}  // namespace tuttle
