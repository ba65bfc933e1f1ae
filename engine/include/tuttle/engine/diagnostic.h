#pragma once
// A located message about user input (a rule file, a config file): where, what, and a hint.
// Printed the way compilers print them, so editors can jump to the spot:
//   rules/k8s/exec.yml:14:9: error: unknown modifier 'contians' (hint: did you mean 'contains'?)

#include <string>
#include <vector>

namespace tuttle {

struct Diagnostic {
  enum class Severity { kError, kWarning };

  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  Severity severity = Severity::kError;
  std::string message;
  std::string hint;  // may be empty

  std::string ToString() const;
};

using Diagnostics = std::vector<Diagnostic>;

}  // namespace tuttle
