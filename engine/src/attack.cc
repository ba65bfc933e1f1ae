#include "tuttle/engine/attack.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
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

// Tactic bits (index in kTactics) for the matrix columns of a technique.
constexpr uint16_t kIA = 1u << 2, kEX = 1u << 3, kPE = 1u << 4, kPR = 1u << 5, kDE = 1u << 6,
                   kCA = 1u << 7, kDI = 1u << 8, kLM = 1u << 9, kCO = 1u << 10, kIM = 1u << 13;

struct Technique {
  std::string_view uid;
  std::string_view name;
  // The tactics under which ATT&CK v18's Containers matrix lists it (0: not in that matrix).
  uint16_t containers;
  // Cloud (IaaS/SaaS) techniques around serverless functions, outside the Containers matrix,
  // and their tactics (0: none).
  uint16_t serverless;
};

// The one table of technique names and matrix places: the ATT&CK v18 Containers matrix
// (attack.mitre.org/matrices/enterprise/containers/, kept by hand: check it on each ATT&CK
// release), the cloud techniques around serverless functions, and a few more the pack tags.
// Names for ids outside this table are left empty rather than guessed. Sorted by id, so a
// sub-technique follows its parent.
constexpr std::array<Technique, 63> kTechniques = {{
    {"T1036", "Masquerading", kDE, 0},
    {"T1036.005", "Match Legitimate Resource Name or Location", kDE, 0},
    {"T1046", "Network Service Discovery", kDI, 0},
    {"T1053", "Scheduled Task/Job", kEX | kPE | kPR, 0},
    {"T1053.007", "Container Orchestration Job", kEX | kPE | kPR, 0},
    {"T1059", "Command and Scripting Interpreter", kEX, 0},
    {"T1059.004", "Unix Shell", 0, 0},
    {"T1059.013", "Container CLI/API", kEX, 0},
    {"T1068", "Exploitation for Privilege Escalation", kPR, 0},
    {"T1069", "Permission Groups Discovery", kDI, 0},
    {"T1069.003", "Cloud Groups", 0, kDI},
    {"T1070", "Indicator Removal", kDE, 0},
    {"T1078", "Valid Accounts", kIA | kPE | kPR | kDE, 0},
    {"T1078.001", "Default Accounts", kIA | kPE | kPR | kDE, 0},
    {"T1078.003", "Local Accounts", kIA | kPE | kPR | kDE, 0},
    {"T1078.004", "Cloud Accounts", 0, kIA | kPE | kPR | kDE},
    {"T1087", "Account Discovery", 0, 0},
    {"T1087.004", "Cloud Account", 0, kDI},
    {"T1098", "Account Manipulation", kPE | kPR, 0},
    {"T1098.001", "Additional Cloud Credentials", 0, kPE | kPR},
    {"T1098.003", "Additional Cloud Roles", 0, kPE | kPR},
    {"T1098.006", "Additional Container Cluster Roles", kPE | kPR, 0},
    {"T1105", "Ingress Tool Transfer", 0, 0},
    {"T1110", "Brute Force", kCA, 0},
    {"T1110.001", "Password Guessing", kCA, 0},
    {"T1110.003", "Password Spraying", kCA, 0},
    {"T1110.004", "Credential Stuffing", kCA, 0},
    {"T1133", "External Remote Services", kIA | kPE, 0},
    {"T1136", "Create Account", kPE, 0},
    {"T1136.001", "Local Account", kPE, 0},
    {"T1136.003", "Cloud Account", 0, kPE},
    {"T1190", "Exploit Public-Facing Application", kIA, kIA},
    {"T1204", "User Execution", kEX, 0},
    {"T1204.003", "Malicious Image", kEX, 0},
    {"T1485", "Data Destruction", kIM, 0},
    {"T1496", "Resource Hijacking", kIM, 0},
    {"T1496.001", "Compute Hijacking", kIM, 0},
    {"T1496.002", "Bandwidth Hijacking", kIM, 0},
    {"T1498", "Network Denial of Service", kIM, 0},
    {"T1499", "Endpoint Denial of Service", kIM, 0},
    {"T1525", "Implant Internal Image", kPE, 0},
    {"T1526", "Cloud Service Discovery", 0, kDI},
    {"T1528", "Steal Application Access Token", kCA, kCA},
    {"T1530", "Data from Cloud Storage", 0, kCO},
    {"T1543", "Create or Modify System Process", kPE | kPR, 0},
    {"T1543.005", "Container Service", kPE | kPR, 0},
    {"T1550", "Use Alternate Authentication Material", kDE | kLM, 0},
    {"T1550.001", "Application Access Token", kDE | kLM, 0},
    {"T1552", "Unsecured Credentials", kCA, 0},
    {"T1552.001", "Credentials In Files", kCA, 0},
    {"T1552.005", "Cloud Instance Metadata API", 0, kCA},
    {"T1552.007", "Container API", kCA, 0},
    {"T1562", "Impair Defenses", kDE, 0},
    {"T1562.001", "Disable or Modify Tools", kDE, 0},
    {"T1565", "Data Manipulation", 0, 0},
    {"T1578", "Modify Cloud Compute Infrastructure", 0, kDE},
    {"T1580", "Cloud Infrastructure Discovery", 0, kDI},
    {"T1609", "Container Administration Command", kEX, 0},
    {"T1610", "Deploy Container", kEX | kDE, 0},
    {"T1611", "Escape to Host", kPR, 0},
    {"T1612", "Build Image on Host", kDE, 0},
    {"T1613", "Container and Resource Discovery", kDI, 0},
    {"T1648", "Serverless Execution", 0, kEX},
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

std::vector<MatrixColumn> AttackMatrixColumns(AttackMatrix matrix) {
  std::vector<MatrixColumn> out;
  for (size_t i = 0; i < kTactics.size(); ++i) {
    MatrixColumn column;
    column.tactic_uid = kTactics[i].second.uid;
    column.tactic_name = kTactics[i].second.name;
    column.shortname = kTactics[i].first;
    for (const Technique& t : kTechniques) {
      const uint16_t tactics = matrix == AttackMatrix::kContainers ? t.containers : t.serverless;
      if ((tactics & (1u << i)) != 0) column.techniques.push_back({t.uid, t.name});
    }
    if (!column.techniques.empty()) out.push_back(std::move(column));
  }
  return out;
}

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
