#pragma once
// Progress of `tuttle replay` on a terminal: one line on stderr, written at the start and
// rewritten about every 0.5 s, with the records read, records/s and, when the input's size is
// known (files, not stdin), the share read and an ETA. ProgressSource counts what passes
// through it; ProgressMeter prints, and clears the line when stopped.
//
// Thread safety: ProgressSource is called by the pipeline's serial read stage; the meter's
// thread reads its counters (atomics). Start() and Stop() from one thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tuttle/engine/record_source.h"

namespace tuttle::tools {

class ProgressMeter {
 public:
  // `total_bytes`: the input's size, 0 when unknown. `interval`: between updates.
  ProgressMeter(std::FILE* out, uint64_t total_bytes,
                std::chrono::milliseconds interval = std::chrono::milliseconds(500));
  ~ProgressMeter();  // Stop()s

  void Start();
  // Ends the updates and clears the line, so what follows starts at column 0.
  void Stop();

  void Add(uint64_t records, uint64_t bytes) {
    records_.fetch_add(records, std::memory_order_relaxed);
    bytes_.fetch_add(bytes, std::memory_order_relaxed);
  }

  // The line shown after `seconds` with these counts (no control characters), e.g.
  // "tuttle: 120,000 records  48,000 rec/s  37% of 81.2 MB  ETA 0:04".
  static std::string Line(uint64_t records, uint64_t bytes, uint64_t total_bytes, double seconds);

 private:
  void Run();

  std::FILE* out_;
  uint64_t total_;
  std::chrono::milliseconds interval_;
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> bytes_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool printed_ = false;
  std::thread thread_;
};

// Passes batches through from `inner`, counting records and bytes into `meter`.
class ProgressSource final : public RecordSource {
 public:
  ProgressSource(std::unique_ptr<RecordSource> inner, ProgressMeter& meter)
      : inner_(std::move(inner)), meter_(meter) {}

  Result<bool> Next(RecordBatch& batch) override;
  Status Commit(const std::vector<SourcePosition>& positions) override {
    return inner_->Commit(positions);
  }
  void Stop() override { inner_->Stop(); }
  bool Stopped() const override { return inner_->Stopped(); }

 private:
  std::unique_ptr<RecordSource> inner_;
  ProgressMeter& meter_;
};

// The bytes of `files` that are regular files; 0 when any is not ('-', a pipe): unknown.
uint64_t InputBytes(const std::vector<std::string>& files);

// Whether `replay` shows progress: forced on or off by --progress / --no-progress, else when
// stderr is a terminal.
bool WantProgress(int forced /* 1 on, 0 off, -1 auto */);

}  // namespace tuttle::tools
