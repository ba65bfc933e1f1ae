#include "tuttle/engine/field_catalog.h"

#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace tuttle {

FieldCatalog::FieldCatalog() { nodes_.emplace_back(); }

namespace {

uint64_t Load64(const char* p) {
  uint64_t v = 0;
  std::memcpy(&v, p, 8);
  return v;
}

uint32_t Load32(const char* p) {
  uint32_t v = 0;
  std::memcpy(&v, p, 4);
  return v;
}

// Whether n bytes are equal: short ones in two overlapping loads each, not a call to memcmp.
bool SameBytes(const char* x, const char* y, size_t n) {
  if (n > 16) return std::memcmp(x, y, n) == 0;
  if (n >= 8) return Load64(x) == Load64(y) && Load64(x + n - 8) == Load64(y + n - 8);
  if (n >= 4) return Load32(x) == Load32(y) && Load32(x + n - 4) == Load32(y + n - 4);
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return false;
  }
  return true;
}

}  // namespace

// JSON keys are short: those of up to 16 bytes are hashed inline, in a few loads and one
// multiply (XXH3's scheme for short inputs), the rest by XXH3 itself.
inline uint64_t FieldCatalog::EdgeHash(NodeId parent, std::string_view segment) {
  const char* p = segment.data();
  const size_t n = segment.size();
  uint64_t a = 0;
  uint64_t b = 0;
  if (n > 16) return XXH3_64bits_withSeed(p, n, parent);
  if (n >= 8) {
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + n - 8, 8);
  } else if (n >= 4) {
    uint32_t x = 0;
    uint32_t y = 0;
    std::memcpy(&x, p, 4);
    std::memcpy(&y, p + n - 4, 4);
    a = x;
    b = y;
  } else if (n > 0) {
    a = static_cast<uint8_t>(p[0]) | static_cast<uint64_t>(static_cast<uint8_t>(p[n / 2])) << 8 |
        static_cast<uint64_t>(static_cast<uint8_t>(p[n - 1])) << 16;
  }
  return XXH3_mul128_fold64(a ^ 0x9e3779b97f4a7c15ULL ^ parent,
                            b ^ 0xc2b2ae3d27d4eb4fULL ^ (n << 32));
}

PathId FieldCatalog::Intern(std::string_view dotted_path) {
  NodeId node = kRoot;
  size_t start = 0;
  while (start <= dotted_path.size()) {
    size_t dot = dotted_path.find('.', start);
    if (dot == std::string_view::npos) dot = dotted_path.size();
    const std::string_view segment = dotted_path.substr(start, dot - start);
    NodeId next = ChildSegment(node, segment);
    if (next == kNoNode) {
      next = static_cast<NodeId>(nodes_.size());
      nodes_.emplace_back();
      ++nodes_[node].children;
      AddEdge(node, segment, next);
    }
    node = next;
    start = dot + 1;
  }
  if (nodes_[node].path == kNoPath) {
    nodes_[node].path = static_cast<PathId>(paths_.size());
    paths_.emplace_back(dotted_path);
  }
  return nodes_[node].path;
}

PathId FieldCatalog::Find(std::string_view dotted_path) const {
  const NodeId node = Child(kRoot, dotted_path);
  return node == kNoNode ? kNoPath : nodes_[node].path;
}

void FieldCatalog::AddEdge(NodeId parent, std::string_view segment, NodeId child) {
  // At most half full, so probe runs stay short and a miss finds an empty slot soon.
  if (2 * (edge_count_ + 1) > edges_.size()) {
    std::vector<Edge> old = std::move(edges_);
    edges_.assign(old.empty() ? 64 : 2 * old.size(), Edge{});
    for (const Edge& e : old) {
      if (e.parent != kNoNode) Place(e);
    }
  }
  Edge e;
  e.hash = EdgeHash(parent, segment);
  e.parent = parent;
  e.child = child;
  e.offset = static_cast<uint32_t>(names_.size());
  e.length = static_cast<uint32_t>(segment.size());
  names_.append(segment);
  Place(e);
  ++edge_count_;
}

void FieldCatalog::Place(const Edge& e) {
  const size_t mask = edges_.size() - 1;
  size_t i = e.hash & mask;
  while (edges_[i].parent != kNoNode) i = (i + 1) & mask;
  edges_[i] = e;
}

inline FieldCatalog::NodeId FieldCatalog::ChildSegment(NodeId node,
                                                       std::string_view segment) const {
  if (nodes_[node].children == 0) return kNoNode;
  const uint64_t h = EdgeHash(node, segment);
  const size_t mask = edges_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const Edge& e = edges_[i];
    if (e.parent == kNoNode) return kNoNode;
    if (e.hash == h && e.parent == node && e.length == segment.size() &&
        SameBytes(names_.data() + e.offset, segment.data(), segment.size())) {
      return e.child;
    }
  }
}

FieldCatalog::NodeId FieldCatalog::Child(NodeId node, std::string_view key) const {
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    if (dot == std::string_view::npos) return ChildSegment(node, key.substr(start));
    node = ChildSegment(node, key.substr(start, dot - start));
    if (node == kNoNode) return kNoNode;
    start = dot + 1;
  }
}

}  // namespace tuttle
