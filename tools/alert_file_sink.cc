#include "alert_file_sink.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace tuttle::tools {
namespace {

constexpr TimeNs kNsPerDay = TimeNs{86400} * kNsPerSecond;

int64_t DayOf(TimeNs t) { return t >= 0 ? t / kNsPerDay : (t - kNsPerDay + 1) / kNsPerDay; }

std::string Rotated(const std::string& path, int i) { return fmt::format("{}.{}", path, i); }

}  // namespace

Result<std::unique_ptr<AlertFileSink>> AlertFileSink::Open(AlertFileSinkOptions options) {
  if (options.path.empty()) return Error("--alerts-file: empty path");
  if (options.keep < 0) return Error("--alerts-file-keep: must be 0 or more");
  std::unique_ptr<AlertFileSink> sink(new AlertFileSink(std::move(options)));
  if (Status st = sink->OpenFile(); !st.ok()) return st.error();
  sink->day_ = DayOf(sink->Now());
  return sink;
}

AlertFileSink::~AlertFileSink() {
  if (file_ != nullptr) std::fclose(file_);
}

TimeNs AlertFileSink::Now() const {
  if (options_.now) return options_.now();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status AlertFileSink::OpenFile() {
  file_ = std::fopen(options_.path.c_str(), "ab");
  if (file_ == nullptr) {
    return Error(fmt::format("alerts file '{}': cannot open it for writing: {}", options_.path,
                             std::strerror(errno)));
  }
  std::error_code ec;
  const auto size = std::filesystem::file_size(options_.path, ec);
  size_ = ec ? 0 : size;
  // A line torn by a crash or a failed write: end it, so the next line starts clean.
  if (size_ > 0) {
    std::FILE* in = std::fopen(options_.path.c_str(), "rb");
    if (in != nullptr) {
      if (std::fseek(in, -1, SEEK_END) == 0 && std::fgetc(in) != '\n') {
        std::fputc('\n', file_);
        ++size_;
      }
      std::fclose(in);
    }
  }
  return Ok();
}

Status AlertFileSink::Rotate() {
  if (file_ != nullptr) {
    std::fflush(file_);
    if (options_.sync) fdatasync(fileno(file_));
    std::fclose(file_);
    file_ = nullptr;
  }
  std::error_code ec;
  if (options_.keep == 0) {
    std::filesystem::remove(options_.path, ec);
  } else {
    std::filesystem::remove(Rotated(options_.path, options_.keep), ec);
    for (int i = options_.keep - 1; i >= 1; --i) {
      if (std::filesystem::exists(Rotated(options_.path, i), ec)) {
        std::filesystem::rename(Rotated(options_.path, i), Rotated(options_.path, i + 1), ec);
        if (ec) {
          return Error(fmt::format("alerts file '{}': rotating: {}", options_.path, ec.message()));
        }
      }
    }
    std::filesystem::rename(options_.path, Rotated(options_.path, 1), ec);
    if (ec)
      return Error(fmt::format("alerts file '{}': rotating: {}", options_.path, ec.message()));
  }
  ++rotations_;
  return OpenFile();
}

Status AlertFileSink::WriteLine(const std::string& line) {
  for (int attempt = 0;; ++attempt) {
    if (file_ == nullptr) {
      if (Status st = OpenFile(); !st.ok()) return st;
    }
    if (std::fwrite(line.data(), 1, line.size(), file_) == line.size()) {
      size_ += line.size();
      return Ok();
    }
    const int err = errno;
    // Reopen (appending) and write the line again once; OpenFile() ends a torn line.
    std::fclose(file_);
    file_ = nullptr;
    if (attempt > 0) {
      return Error(
          fmt::format("alerts file '{}': write failed: {}", options_.path, std::strerror(err)));
    }
  }
}

Status AlertFileSink::Write(const BatchOutput& batch) {
  if (batch.alerts.empty()) return Ok();
  for (const Alert& alert : batch.alerts) {
    std::string line = FormatAlert(alert, options_.format);
    line += '\n';
    bool rotate = options_.max_bytes > 0 && size_ > 0 && size_ + line.size() > options_.max_bytes;
    if (options_.daily) {
      const int64_t day = DayOf(Now());
      if (day != day_) {
        rotate = rotate || size_ > 0;
        day_ = day;
      }
    }
    if (rotate) {
      if (Status st = Rotate(); !st.ok()) return st;
    }
    if (Status st = WriteLine(line); !st.ok()) return st;
    ++lines_;
  }
  if (std::fflush(file_) != 0 || (options_.sync && fdatasync(fileno(file_)) != 0)) {
    const int err = errno;
    std::fclose(file_);
    file_ = nullptr;
    return Error(
        fmt::format("alerts file '{}': flush failed: {}", options_.path, std::strerror(err)));
  }
  return Ok();
}

Status AlertFileSink::Finish() {
  if (file_ == nullptr) return Ok();
  if (std::fflush(file_) != 0 || (options_.sync && fdatasync(fileno(file_)) != 0)) {
    return Error(
        fmt::format("alerts file '{}': flush failed: {}", options_.path, std::strerror(errno)));
  }
  return Ok();
}

}  // namespace tuttle::tools
