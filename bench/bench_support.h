#pragma once
// Inputs shared by the benches.

#include <fstream>
#include <string>
#include <vector>

namespace tuttle::bench {

// The non-empty lines of a file (the bundled sample by default), or none if it is missing.
inline std::vector<std::string> ReadLines(
    const std::string& path = std::string(TUTTLE_SOURCE_DIR) + "/ingest/samples/attack-story.jsonl") {
  std::ifstream in(path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace tuttle::bench
