#include "progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

namespace tuttle::tools {
namespace {

// 1234567 -> "1,234,567"
std::string Thousands(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string Megabytes(uint64_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

}  // namespace

ProgressMeter::ProgressMeter(std::FILE* out, uint64_t total_bytes,
                             std::chrono::milliseconds interval)
    : out_(out), total_(total_bytes), interval_(interval) {}

ProgressMeter::~ProgressMeter() { Stop(); }

void ProgressMeter::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void ProgressMeter::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (printed_) {
    std::fputs("\r\x1b[K", out_);
    std::fflush(out_);
  }
}

std::string ProgressMeter::Line(uint64_t records, uint64_t bytes, uint64_t total_bytes,
                                double seconds) {
  const double rate = seconds > 0 ? static_cast<double>(records) / seconds : 0;
  std::string line = fmt::format("tuttle: {} records  {} rec/s", Thousands(records),
                                 Thousands(static_cast<uint64_t>(rate)));
  if (total_bytes > 0) {
    const double done =
        std::min(1.0, static_cast<double>(bytes) / static_cast<double>(total_bytes));
    line += fmt::format("  {:.0f}% of {}", done * 100, Megabytes(total_bytes));
    if (bytes > 0 && seconds > 0 && done < 1.0) {
      const double byte_rate = static_cast<double>(bytes) / seconds;
      const auto eta = static_cast<uint64_t>(static_cast<double>(total_bytes - bytes) / byte_rate);
      line += fmt::format("  ETA {}:{:02}", eta / 60, eta % 60);
    }
  }
  return line;
}

void ProgressMeter::Run() {
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  // At once, so even a short run shows that it is running; then every interval.
  do {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string line = Line(records_.load(std::memory_order_relaxed),
                                  bytes_.load(std::memory_order_relaxed), total_, seconds);
    std::fprintf(out_, "\r%s\x1b[K", line.c_str());
    std::fflush(out_);
    printed_ = true;
  } while (!cv_.wait_for(lock, interval_, [this] { return stop_; }));
}

Result<bool> ProgressSource::Next(RecordBatch& batch) {
  Result<bool> more = inner_->Next(batch);
  if (more.ok()) {
    uint64_t bytes = 0;
    for (size_t i = 0; i < batch.size(); ++i) bytes += batch.bytes(i).size() + 1;
    for (const RejectedRecord& r : batch.rejected()) bytes += r.bytes.size() + 1;
    meter_.Add(batch.size() + batch.rejected().size(), bytes);
  }
  return more;
}

uint64_t InputBytes(const std::vector<std::string>& files) {
  uint64_t total = 0;
  for (const std::string& f : files) {
    std::error_code ec;
    if (f == "-" || !std::filesystem::is_regular_file(f, ec)) return 0;
    const auto size = std::filesystem::file_size(f, ec);
    if (ec) return 0;
    total += size;
  }
  return total;
}

bool WantProgress(int forced) {
  if (forced >= 0) return forced == 1;
  return isatty(STDERR_FILENO) != 0;
}

}  // namespace tuttle::tools
