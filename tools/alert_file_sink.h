#pragma once
// AlertFileSink: alerts as JSON lines in a file (one alert per line, in the chosen AlertFormat),
// rotated like logrotate: when the next line would take the file past `max_bytes`, or (with
// `daily`) at the first write after UTC midnight, PATH becomes PATH.1, PATH.1 becomes PATH.2,
// ..., PATH.<keep> is deleted, and a new PATH is started. A line is never split across files.
//
// Durability: Write() returns only when the batch's lines are written, flushed and (with `sync`)
// fdatasync'ed, so the pipeline commits a batch's positions only after its alerts are on disk.
// A failed write closes the file, reopens it (appending) and writes the line again once; a torn
// line left by the failure is ended first, so readers see it as one bad line, not two merged.
//
// Not thread-safe: the pipeline calls sinks from its serial last stage.

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "tuttle/engine/alert.h"
#include "tuttle/engine/alert_sink.h"

namespace tuttle::tools {

struct AlertFileSinkOptions {
  std::string path;  // the file written; its folder must exist
  AlertFormat format = AlertFormat::kOcsf;
  // Rotate before a line would take the file past this many bytes. 0: no size limit.
  // Default: 100 MiB.
  uint64_t max_bytes = uint64_t{100} << 20;
  // Also rotate at the first write of each new UTC day. Default: off.
  bool daily = false;
  // Rotated files kept (PATH.1 the newest .. PATH.<keep>); 0 keeps none. Default: 5.
  int keep = 5;
  // fdatasync after each batch (else fflush only). Default: on.
  bool sync = true;
  // Wall clock for daily rotation (ns since the epoch); tests inject one. Default: system clock.
  std::function<TimeNs()> now;
};

class AlertFileSink final : public AlertSink {
 public:
  // Opens (appends to) the file: an unwritable path fails here, before the run starts.
  static Result<std::unique_ptr<AlertFileSink>> Open(AlertFileSinkOptions options);
  ~AlertFileSink() override;

  Status Write(const BatchOutput& batch) override;
  Status Finish() override;

  uint64_t lines() const { return lines_; }
  uint64_t rotations() const { return rotations_; }

 private:
  explicit AlertFileSink(AlertFileSinkOptions options) : options_(std::move(options)) {}
  Status OpenFile();
  Status Rotate();
  Status WriteLine(const std::string& line);
  TimeNs Now() const;

  AlertFileSinkOptions options_;
  std::FILE* file_ = nullptr;
  uint64_t size_ = 0;  // bytes in the current file
  int64_t day_ = 0;    // UTC day the current file was started or last written in
  uint64_t lines_ = 0;
  uint64_t rotations_ = 0;
};

}  // namespace tuttle::tools
