#pragma once
// Helpers shared by the test suites: where the sources and ../shared live, reading files.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tuttle::testing {

// The repository root (TUTTLE_SOURCE_DIR, set by ctest).
std::filesystem::path SourceDir();
// The shared folder (../shared), or nullopt when it is absent: tests then GTEST_SKIP.
std::optional<std::filesystem::path> SharedDir();
std::string ReadFile(const std::filesystem::path& path);
// A file a child process may not have written yet: empty until it exists.
std::string ReadIfExists(const std::filesystem::path& path);
// The port a `tuttle run --metrics-listen 127.0.0.1:0` chose, from its stderr file (0: none
// printed within 30 s).
int MetricsPort(const std::filesystem::path& err);

// The built `tuttle` binary (TUTTLE_BINARY, set by ctest).
std::string TuttleBinary();

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs `argv` (no shell), feeding `input` on stdin, and collects stdout and stderr. With
// `interrupt_after_ms` > 0, sends `interrupt_signal` (default SIGINT, as Ctrl-C would) that long
// after the start.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& input = "",
                         int interrupt_after_ms = 0, int interrupt_signal = 2);

// A fresh empty folder under the system temp folder, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace tuttle::testing
