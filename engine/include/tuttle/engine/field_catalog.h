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
  bool HasChildren(NodeId node) const { return nodes_[node].children != 0; }

 private:
  struct Node {
    PathId path = kNoPath;
    uint32_t children = 0;
  };
  // One trie edge, (parent, segment) -> child, in an open-addressing table: the walker looks up
  // every key of every record, so a lookup is one hash of the key and, usually, one probe.
  struct Edge {
    uint64_t hash = 0;
    NodeId parent = kNoNode;  // kNoNode: an empty slot
    NodeId child = kNoNode;
    uint32_t offset = 0;  // of the segment in names_
    uint32_t length = 0;
  };
  static uint64_t EdgeHash(NodeId parent, std::string_view segment);
  NodeId ChildSegment(NodeId node, std::string_view segment) const;
  void AddEdge(NodeId parent, std::string_view segment, NodeId child);
  void Place(const Edge& edge);

  std::vector<Node> nodes_;
  std::vector<std::string> paths_;
  std::vector<Edge> edges_;  // a power of two in size, at most half full
  size_t edge_count_ = 0;
  std::string names_;  // the segments of the edges, back to back
};

}  // namespace tuttle
