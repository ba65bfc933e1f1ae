#pragma once
// RuleSource: one YAML file as read, the unit the loaders take (rule files, filter files and
// processing pipelines alike). Its path names it in diagnostics and in derived rule ids.

#include <string>

namespace tuttle::rules {

// One YAML file (one or several documents). `path` names it in diagnostics and derived ids.
struct RuleSource {
  std::string path;
  std::string text;
};

}  // namespace tuttle::rules
