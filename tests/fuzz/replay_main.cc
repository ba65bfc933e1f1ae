// Runs a fuzz target over files and folders of inputs, so fuzz targets build and run in every
// build (not only clang's libFuzzer build) and their seed corpora serve as regression tests.
//
//   target [--mutate-seconds S] [--seed N] PATH...
//
// With --mutate-seconds, it then fuzzes for S seconds without libFuzzer: it mutates inputs of
// the corpus (bit flips, byte insertions and deletions, cuts, repeated and spliced chunks, JSON
// and log punctuation) with a seeded generator, so a run is reproducible from its seed. An input
// that crashes the target is written to `crash-<seed>-<n>` in the working directory before the
// process dies, and its path printed.

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

// The input being run, for the crash handler.
const std::string* g_current = nullptr;
char g_crash_path[256] = {0};

// Only async-signal-safe calls: open, write, close.
void OnCrash(int sig) {
  if (g_current != nullptr && g_crash_path[0] != 0) {
    const int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      [[maybe_unused]] ssize_t n = ::write(fd, g_current->data(), g_current->size());
      ::close(fd);
      constexpr char kMessage[] = "\ncrashing input written to ";
      n = ::write(2, kMessage, sizeof(kMessage) - 1);
      n = ::write(2, g_crash_path, std::strlen(g_crash_path));
      n = ::write(2, "\n", 1);
    }
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void Run(const std::string& input) {
  g_current = &input;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  g_current = nullptr;
}

constexpr std::string_view kTokens[] = {
    "\"", "{", "}", "[", "]", ":", ",", "\\", "\\u0000", "\\ud800", "null", "true", "-0",
    "1e999", "\xff", "\xc3", "\xe2\x80", " ", "\n", "\t", "P", "F", "Z", "T", "%", "*",
    "REPORT RequestId: ", "\tDuration: ", "2026-03-14T09:18:13.4Z"};

std::string Mutate(const std::vector<std::string>& corpus, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };
  std::string s = corpus[pick(corpus.size())];
  const int rounds = 1 + static_cast<int>(pick(4));
  for (int r = 0; r < rounds; ++r) {
    switch (pick(7)) {
      case 0:  // flip a bit
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << pick(8));
        break;
      case 1:  // insert a random byte
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(pick(s.size() + 1)),
                 static_cast<char>(rng() & 0xff));
        break;
      case 2:  // delete a run
        if (!s.empty()) {
          const size_t at = pick(s.size());
          s.erase(at, 1 + pick(std::min<size_t>(16, s.size() - at)));
        }
        break;
      case 3:  // cut the tail
        s.resize(pick(s.size() + 1));
        break;
      case 4:  // repeat a chunk
        if (!s.empty()) {
          const size_t at = pick(s.size());
          const std::string chunk = s.substr(at, 1 + pick(32));
          s.insert(pick(s.size() + 1), chunk);
        }
        break;
      case 5: {  // splice with another input
        const std::string& other = corpus[pick(corpus.size())];
        s = s.substr(0, pick(s.size() + 1)) + other.substr(pick(other.size() + 1));
        break;
      }
      default:  // insert a token
        s.insert(pick(s.size() + 1), kTokens[pick(std::size(kTokens))]);
        break;
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  double mutate_seconds = 0;
  uint64_t seed = 20261129;
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--mutate-seconds" && i + 1 < argc) {
      mutate_seconds = std::atof(argv[++i]);
      continue;
    }
    if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
      continue;
    }
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(argv[i])) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(argv[i])) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else {
      files.emplace_back(argv[i]);
    }
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  for (const int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, OnCrash);
  std::snprintf(g_crash_path, sizeof(g_crash_path), "crash-%llu-corpus",
                static_cast<unsigned long long>(seed));
  for (const std::string& input : corpus) Run(input);
  std::printf("replayed %zu inputs\n", corpus.size());
  if (corpus.empty()) return 1;
  if (mutate_seconds <= 0) return 0;

  std::mt19937_64 rng(seed);
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::duration<double>(mutate_seconds);
  uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < until) {
    for (int k = 0; k < 64; ++k, ++runs) {
      const std::string input = Mutate(corpus, rng);
      std::snprintf(g_crash_path, sizeof(g_crash_path), "crash-%llu-%llu",
                    static_cast<unsigned long long>(seed), static_cast<unsigned long long>(runs));
      Run(input);
    }
  }
  std::printf("ran %llu mutated inputs in %.1f s (seed %llu)\n",
              static_cast<unsigned long long>(runs), mutate_seconds,
              static_cast<unsigned long long>(seed));
  return 0;
}
