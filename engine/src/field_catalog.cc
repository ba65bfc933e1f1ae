#include "tuttle/engine/field_catalog.h"

namespace tuttle {

FieldCatalog::FieldCatalog() { nodes_.emplace_back(); }

PathId FieldCatalog::Intern(std::string_view dotted_path) {
  NodeId node = kRoot;
  size_t start = 0;
  while (start <= dotted_path.size()) {
    size_t dot = dotted_path.find('.', start);
    if (dot == std::string_view::npos) dot = dotted_path.size();
    const std::string_view segment = dotted_path.substr(start, dot - start);
    auto it = nodes_[node].children.find(segment);
    if (it == nodes_[node].children.end()) {
      const auto next = static_cast<NodeId>(nodes_.size());
      nodes_[node].children.emplace(std::string(segment), next);
      nodes_.emplace_back();
      node = next;
    } else {
      node = it->second;
    }
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

FieldCatalog::NodeId FieldCatalog::ChildSegment(NodeId node, std::string_view segment) const {
  const auto& children = nodes_[node].children;
  auto it = children.find(segment);
  return it == children.end() ? kNoNode : it->second;
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
