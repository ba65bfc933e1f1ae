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

}  // namespace tuttle
