#pragma once
// A program (usually `tuttle`) run as a child process with stdout and stderr in files, for tests
// that drive long-running processes: signal them, kill them, wait for them.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace tuttle::testing {

class ChildProcess {
 public:
  // Starts `argv` (no shell) with stdout and stderr truncated into these files.
  ChildProcess(const std::vector<std::string>& argv, std::string out_path, std::string err_path);
  // Kills (SIGKILL) and reaps it if it is still running.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void Signal(int sig);
  // The exit code (128 + signal when killed); waits as long as it takes.
  int Wait();
  // The same, or -1 when it is still running after `timeout`.
  int Wait(std::chrono::milliseconds timeout);

  const std::string& out_path() const { return out_; }
  // What it wrote to stderr so far.
  std::string Log() const;

 private:
  std::string out_, err_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

}  // namespace tuttle::testing
