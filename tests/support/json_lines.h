#pragma once
// Reading what the `tuttle` binary prints: JSON lines, and the bundled sample it reads.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace tuttle::testing {

// The bundled sample (ingest/samples/attack-story.jsonl).
inline std::string SamplePath() {
  return (SourceDir() / "ingest/samples/attack-story.jsonl").string();
}

// Each line of `out` as JSON; a line that is not JSON fails the test.
inline std::vector<nlohmann::json> JsonLines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "stdout holds a line that is not JSON: " << line;
    if (!j.is_discarded()) lines.push_back(j);
  }
  return lines;
}

}  // namespace tuttle::testing
