#pragma once
// MITRE ATT&CK tags as Sigma writes them ("attack.t1609", "attack.t1552.007",
// "attack.privilege-escalation") turned into tactic and technique ids and names.

#include <string>
#include <string_view>
#include <vector>

namespace tuttle {

struct AttackTechnique {
  std::string uid;   // "T1552.007"
  std::string name;  // "Container API"; empty when not in Tuttle's table
  std::string parent_uid;   // "T1552" for sub-techniques, else empty
  std::string parent_name;  // "Unsecured Credentials"
};

struct AttackTactic {
  std::string uid;   // "TA0004"
  std::string name;  // "Privilege Escalation"
};

struct AttackTags {
  std::vector<AttackTactic> tactics;
  std::vector<AttackTechnique> techniques;
};

AttackTags ParseAttackTags(const std::vector<std::string>& tags);

// The ATT&CK release whose matrices AttackMatrixColumns() gives.
inline constexpr std::string_view kAttackVersion = "18";

enum class AttackMatrix {
  kContainers,  // the Enterprise Containers matrix
  kServerless,  // cloud (IaaS/SaaS) techniques around serverless functions; not an ATT&CK matrix
};

struct MatrixTechnique {
  std::string_view uid;   // "T1552.007"
  std::string_view name;  // "Container API"
};

// One tactic's column: its techniques, each sub-technique right after its parent.
struct MatrixColumn {
  std::string_view tactic_uid;   // "TA0004"
  std::string_view tactic_name;  // "Privilege Escalation"
  std::string_view shortname;    // "privilege-escalation", as Sigma tags and the Navigator write it
  std::vector<MatrixTechnique> techniques;
};

// The columns of `matrix` that hold techniques, in ATT&CK's tactic order.
std::vector<MatrixColumn> AttackMatrixColumns(AttackMatrix matrix);

}  // namespace tuttle
