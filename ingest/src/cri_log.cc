#include "tuttle/ingest/cri_log.h"

#include <string>

namespace tuttle::ingest {
namespace {

std::string_view Quote(std::string_view s) { return s.size() > 40 ? s.substr(0, 40) : s; }

Error NotCri(std::string_view reason, std::string_view line) {
  std::string m = "not a CRI log line (";
  m += reason;
  m += "): '";
  m += Quote(line);
  m += line.size() > 40 ? "...'" : "'";
  return Error(std::move(m));
}

}  // namespace

Result<CriLine> ParseCriLine(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return NotCri("empty line", line);
  CriLine out;
  const size_t s1 = line.find(' ');
  if (s1 == std::string_view::npos) {
    return NotCri("expected '<timestamp> <stdout|stderr> <P|F> <message>'", line);
  }
  out.timestamp = line.substr(0, s1);
  const size_t s2 = line.find(' ', s1 + 1);
  if (s2 == std::string_view::npos) return NotCri("no stream and tag after the timestamp", line);
  const std::string_view stream = line.substr(s1 + 1, s2 - s1 - 1);
  if (stream == "stderr") {
    out.is_stderr = true;
  } else if (stream != "stdout") {
    std::string reason = "stream must be stdout or stderr, not '";
    reason += Quote(stream);
    reason += '\'';
    return NotCri(reason, line);
  }
  size_t s3 = line.find(' ', s2 + 1);
  const std::string_view tags =
      line.substr(s2 + 1, s3 == std::string_view::npos ? std::string_view::npos : s3 - s2 - 1);
  const std::string_view tag = tags.substr(0, tags.find(':'));
  if (tag == "P") {
    out.partial = true;
  } else if (tag != "F") {
    std::string reason = "tag must be P or F, not '";
    reason += Quote(tag);
    reason += '\'';
    return NotCri(reason, line);
  }
  out.message = s3 == std::string_view::npos ? std::string_view() : line.substr(s3 + 1);
  const auto time = ParseTimestamp(out.timestamp);
  if (!time) {
    std::string m = "bad CRI timestamp '";
    m += Quote(out.timestamp);
    m += "' (expected RFC 3339, e.g. 2024-05-01T12:00:00.123456789Z)";
    return Error(std::move(m));
  }
  out.time = *time;
  return out;
}

bool LooksLikeCriLine(std::string_view line) {
  if (line.size() < 20 || line[0] < '0' || line[0] > '9') return false;
  const size_t s1 = line.find(' ');
  if (s1 == std::string_view::npos || s1 > 40) return false;
  const std::string_view rest = line.substr(s1 + 1);
  return rest.starts_with("stdout ") || rest.starts_with("stderr ");
}

std::optional<ContainerLogPath> ParseContainerLogPath(std::string_view path) {
  const size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (!name.ends_with(".log")) return std::nullopt;
  name.remove_suffix(4);
  const size_t u1 = name.find('_');
  if (u1 == std::string_view::npos) return std::nullopt;
  const size_t u2 = name.find('_', u1 + 1);
  if (u2 == std::string_view::npos || name.find('_', u2 + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view rest = name.substr(u2 + 1);
  const size_t dash = rest.rfind('-');
  if (dash == std::string_view::npos) return std::nullopt;
  ContainerLogPath out;
  out.pod = name.substr(0, u1);
  out.namespace_ = name.substr(u1 + 1, u2 - u1 - 1);
  out.container = rest.substr(0, dash);
  out.container_id = rest.substr(dash + 1);
  if (out.pod.empty() || out.namespace_.empty() || out.container.empty()) return std::nullopt;
  if (out.container_id.size() != 64) return std::nullopt;
  for (char c : out.container_id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return out;
}

}  // namespace tuttle::ingest
