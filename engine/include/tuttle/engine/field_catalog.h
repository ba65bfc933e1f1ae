#pragma once
// FieldCatalog: every field path that anyone (adapters, rules, correlations) reads from records,
// interned to small integers and arranged as a trie, so a JSON walker visits only the parts of a
// record someone needs and never builds path strings.
//
// Paths are dotted ("objectRef.namespace"). A JSON key that itself contains dots (Falco's
// output_fields has "proc.cmdline") walks the trie one segment at a time, so
// "output_fields.proc.cmdline" resolves against {"output_fields": {"proc.cmdline": ...}} and
// against {"output_fields": {"proc": {"cmdline": ...}}} alike. Arrays are transparent: a path
// through an array names every element.
//
// Thread-safety: build it on one thread, then share it read-only (it is immutable once handed to
// a rule set).

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tuttle {

using PathId = uint32_t;
inline constexpr PathId kNoPath = UINT32_MAX;

class FieldCatalog {
 public:
  using NodeId = uint32_t;
  static constexpr NodeId kRoot = 0;
  static constexpr NodeId kNoNode = UINT32_MAX;

  FieldCatalog();

  // Returns the id of `dotted_path`, adding it if new. Idempotent.
  PathId Intern(std::string_view dotted_path);
  // Returns the id of `dotted_path`, or kNoPath.
  PathId Find(std::string_view dotted_path) const;

  size_t size() const { return paths_.size(); }
  const std::string& Path(PathId id) const { return paths_[id]; }

  // Trie walk. Child() follows every dot-separated segment of `key`; kNoNode when any is absent.
  NodeId Child(NodeId node, std::string_view key) const;
  // The path that ends at `node`, or kNoPath.
  PathId PathAt(NodeId node) const { return nodes_[node].path; }
  bool HasChildren(NodeId node) const { return !nodes_[node].children.empty(); }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Node {
    PathId path = kNoPath;
    std::unordered_map<std::string, NodeId, StringHash, std::equal_to<>> children;
  };
  NodeId ChildSegment(NodeId node, std::string_view segment) const;

  std::vector<Node> nodes_;
  std::vector<std::string> paths_;
};

}  // namespace tuttle
