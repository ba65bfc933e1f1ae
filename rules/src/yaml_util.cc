#include "yaml_util.h"

#include <fmt/format.h>

namespace tuttle::rules {

SourceLocation FileDiagnostics::Locate(const YAML::Mark& mark) {
  if (mark.line < 0 || mark.column < 0) return {};
  return SourceLocation{mark.line + 1, mark.column + 1};
}

SourceLocation FileDiagnostics::Locate(const YAML::Node& node, size_t offset) const {
  if (!node.IsDefined()) return {};
  const YAML::Mark mark = node.Mark();
  SourceLocation at = Locate(mark);
  if (offset == 0 || !node.IsScalar() || mark.pos < 0) return at;
  const std::string& value = node.Scalar();
  if (value.find('\n') != std::string::npos) return at;
  const auto pos = static_cast<size_t>(mark.pos);
  if (pos >= text_.size()) return at;
  std::string_view raw = text_.substr(pos);
  size_t quote = 0;
  if (raw.front() == '\'' || raw.front() == '"') quote = 1;
  // Escapes (`''`, `\"`) and folded lines shift columns; then the node's start is the best spot.
  if (raw.substr(quote, value.size()) != value) return at;
  at.column += static_cast<int>(quote + offset);
  return at;
}

void FileDiagnostics::Error(SourceLocation at, std::string message, std::string hint) {
  ++errors_;
  out_.push_back(Diagnostic{file_, at.line, at.column, Diagnostic::Severity::kError,
                            std::move(message), std::move(hint)});
}

void FileDiagnostics::Warning(SourceLocation at, std::string message, std::string hint) {
  out_.push_back(Diagnostic{file_, at.line, at.column, Diagnostic::Severity::kWarning,
                            std::move(message), std::move(hint)});
}

std::vector<MapEntry> ReadMap(const YAML::Node& map, FileDiagnostics& diag) {
  std::vector<MapEntry> out;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      diag.Error(key, fmt::format("a key must be a plain value, not {}", NodeKindName(key)));
      continue;
    }
    const std::string& name = key.Scalar();
    if (const MapEntry* first = FindEntry(out, name)) {
      const SourceLocation at = diag.Locate(first->key_node);
      diag.Error(key, fmt::format("duplicate key '{}' (first at line {})", name, at.line),
                 "YAML keeps only one of them; merge the two or rename one");
      continue;
    }
    out.push_back(MapEntry{name, key, it->second});
  }
  return out;
}

const MapEntry* FindEntry(const std::vector<MapEntry>& entries, std::string_view key) {
  for (const MapEntry& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

std::string_view NodeKindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a value";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Undefined:
      return "nothing";
  }
  return "nothing";
}

}  // namespace tuttle::rules
