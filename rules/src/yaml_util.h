#pragma once
// yaml-cpp helpers for located diagnostics: where a node is in its file (1-based line and column,
// also inside a scalar, e.g. at a modifier in `Image|contians`), and reading maps so that
// duplicate and non-scalar keys are reported instead of silently shadowed.

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

#include "tuttle/engine/diagnostic.h"

namespace tuttle::rules {

struct SourceLocation {
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
};

// Collects the diagnostics of one rule file.
class FileDiagnostics {
 public:
  FileDiagnostics(const std::string& file, std::string_view text, Diagnostics& out)
      : file_(file), text_(text), out_(out) {}

  // Where `node` starts; with `offset`, that many bytes into its scalar value when the scalar is
  // written on one line without escapes (else where the node starts).
  SourceLocation Locate(const YAML::Node& node, size_t offset = 0) const;
  static SourceLocation Locate(const YAML::Mark& mark);

  void Error(SourceLocation at, std::string message, std::string hint = {});
  void Warning(SourceLocation at, std::string message, std::string hint = {});
  void Error(const YAML::Node& node, std::string message, std::string hint = {}) {
    Error(Locate(node), std::move(message), std::move(hint));
  }
  void Warning(const YAML::Node& node, std::string message, std::string hint = {}) {
    Warning(Locate(node), std::move(message), std::move(hint));
  }

  size_t errors() const { return errors_; }
  const std::string& file() const { return file_; }

 private:
  const std::string& file_;
  std::string_view text_;
  Diagnostics& out_;
  size_t errors_ = 0;
};

struct MapEntry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

// The entries of a YAML map in document order. Reports (as errors) keys that are not scalars
// and keys written twice; those entries are left out.
std::vector<MapEntry> ReadMap(const YAML::Node& map, FileDiagnostics& diag);
const MapEntry* FindEntry(const std::vector<MapEntry>& entries, std::string_view key);

// "a map", "a list", "a value", "null".
std::string_view NodeKindName(const YAML::Node& node);

}  // namespace tuttle::rules
