#pragma once
// Inputs shared by the benches.

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "tuttle/engine/record.h"

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

// Copies `records` into `batch` (one stream, "bench"); returns their total size in bytes.
inline int64_t FillBatch(const std::vector<std::string>& records, RecordBatch& batch) {
  const uint32_t src = batch.InternSource("bench");
  int64_t bytes = 0;
  for (const auto& r : records) {
    batch.Add(r, RecordMeta{src, 0, 0, kNoTime});
    bytes += static_cast<int64_t>(r.size());
  }
  return bytes;
}

}  // namespace tuttle::bench
