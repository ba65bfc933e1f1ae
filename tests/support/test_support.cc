#include "support/test_support.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tuttle::testing {

std::filesystem::path SourceDir() {
  const char* dir = std::getenv("TUTTLE_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::current_path();
}

std::optional<std::filesystem::path> SharedDir() {
  const char* dir = std::getenv("TUTTLE_SHARED_DIR");
  std::filesystem::path p = dir != nullptr ? std::filesystem::path(dir) : SourceDir() / ".." / "shared";
  if (!std::filesystem::is_directory(p)) return std::nullopt;
  return p;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace tuttle::testing
