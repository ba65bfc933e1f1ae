#pragma once
// Helpers shared by the test suites: where the sources and ../shared live, reading files.

#include <filesystem>
#include <optional>
#include <string>

namespace tuttle::testing {

// The repository root (TUTTLE_SOURCE_DIR, set by ctest).
std::filesystem::path SourceDir();
// The shared folder (../shared), or nullopt when it is absent: tests then GTEST_SKIP.
std::optional<std::filesystem::path> SharedDir();
std::string ReadFile(const std::filesystem::path& path);

}  // namespace tuttle::testing
