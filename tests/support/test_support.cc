#include "support/test_support.h"

#include <chrono>
#include <cstdlib>
#include <thread>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tuttle::testing {

std::filesystem::path SourceDir() {
  const char* dir = std::getenv("TUTTLE_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::path(TUTTLE_DEFAULT_SOURCE_DIR);
}

std::optional<std::filesystem::path> SharedDir() {
  const char* dir = std::getenv("TUTTLE_SHARED_DIR");
  std::filesystem::path p =
      dir != nullptr ? std::filesystem::path(dir) : std::filesystem::path(TUTTLE_DEFAULT_SHARED_DIR);
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

std::string ReadIfExists(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int MetricsPort(const std::filesystem::path& err) {
  const std::string prefix = "tuttle: metrics at http://127.0.0.1:";
  for (int i = 0; i < 600; ++i) {
    const std::string text = ReadIfExists(err);
    const size_t at = text.find(prefix);
    if (at != std::string::npos && text.find("/metrics\n", at) != std::string::npos) {
      return std::atoi(text.c_str() + at + prefix.size());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

std::string TuttleBinary() {
  const char* bin = std::getenv("TUTTLE_BINARY");
  return bin != nullptr ? bin : TUTTLE_DEFAULT_BINARY;
}

ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& input,
                         int interrupt_after_ms, int interrupt_signal) {
  const auto started = std::chrono::steady_clock::now();
  bool interrupted = false;
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0 || pipe(err_pipe) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
      close(fd);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  signal(SIGPIPE, SIG_IGN);
  ProcessResult r;
  size_t written = 0;
  // poll() ignores negative descriptors: a closed stream is set to -1.
  pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}, {in_pipe[1], POLLOUT, 0}};
  if (input.empty()) {
    close(in_pipe[1]);
    fds[2].fd = -1;
  } else {
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  }
  char buf[65536];
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    int timeout = -1;
    if (interrupt_after_ms > 0 && !interrupted) {
      const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - started)
                               .count();
      if (elapsed >= interrupt_after_ms) {
        kill(pid, interrupt_signal);
        interrupted = true;
      } else {
        timeout = static_cast<int>(interrupt_after_ms - elapsed);
      }
    }
    if (poll(fds, 3, timeout) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        const ssize_t got = read(fds[i].fd, buf, sizeof(buf));
        if (got <= 0) {
          close(fds[i].fd);
          fds[i].fd = -1;
        } else {
          (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(got));
        }
      }
    }
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const ssize_t put = write(fds[2].fd, input.data() + written, input.size() - written);
      if (put > 0) written += static_cast<size_t>(put);
      if (put < 0 || written == input.size()) {
        close(fds[2].fd);
        fds[2].fd = -1;
      }
    }
  }
  if (fds[2].fd >= 0) close(fds[2].fd);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "tuttle-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace tuttle::testing
