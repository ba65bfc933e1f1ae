#include "tuttle/engine/diagnostic.h"

#include <fmt/format.h>

namespace tuttle {

std::string Diagnostic::ToString() const {
  std::string out = file.empty() ? "<input>" : file;
  if (line > 0) {
    out += fmt::format(":{}", line);
    if (column > 0) out += fmt::format(":{}", column);
  }
  out += severity == Severity::kError ? ": error: " : ": warning: ";
  out += message;
  if (!hint.empty()) out += fmt::format(" (hint: {})", hint);
  return out;
}

}  // namespace tuttle
