#pragma once
// CRI container log lines, as the kubelet writes them to /var/log/containers/*.log (the format of
// the Container Runtime Interface, used by containerd and CRI-O):
//
//   2024-05-01T12:00:00.123456789Z stdout F GET /healthz 200
//   <RFC 3339 time, nanoseconds>   <stream> <tag> <message>
//
// The tag is P for a partial line (the runtime split a long message; the next lines of the same
// stream continue it) or F for the full or final line; a tag may carry further ':'-separated
// parts, of which only the first is read. Joining partial lines is CriAssembler's work.
//
// ParseCriLine and ParseContainerLogPath are pure functions and thread-safe.

#include <cstdint>
#include <optional>
#include <string_view>

#include "tuttle/engine/result.h"
#include "tuttle/engine/time.h"

namespace tuttle::ingest {

// One CRI line; views into the line passed to ParseCriLine.
struct CriLine {
  std::string_view timestamp;  // as written, e.g. "2024-05-01T12:00:00.123456789Z"
  TimeNs time = kNoTime;       // the timestamp, parsed
  bool is_stderr = false;      // stream: stdout or stderr
  bool partial = false;        // tag P: continued by the next line of the same stream
  std::string_view message;    // everything after the tag and its space (may be empty)

  std::string_view stream() const { return is_stderr ? "stderr" : "stdout"; }
};

// Reads one line (a trailing "\n" or "\r\n" is ignored). Errors say why the line is not CRI:
// "not a CRI log line: <reason>", or "bad CRI timestamp '<text>'".
Result<CriLine> ParseCriLine(std::string_view line);

// True when `line` starts like a CRI line ("<digit>...T... stdout " or " stderr "); a cheap test
// for inputs that mix CRI lines and JSON records.
bool LooksLikeCriLine(std::string_view line);

// What the kubelet's file name /var/log/containers/<pod>_<namespace>_<container>-<id>.log says.
// Views into the path.
struct ContainerLogPath {
  std::string_view pod;
  std::string_view namespace_;
  std::string_view container;
  std::string_view container_id;  // 64 hex digits
};

// Reads the file name (the last path component) of `path`, as views into it; nullopt when it is
// not of that shape (a pod, namespace or container name cannot contain '_', and the id is 64 hex
// digits).
std::optional<ContainerLogPath> ParseContainerLogPath(std::string_view path);

}  // namespace tuttle::ingest
