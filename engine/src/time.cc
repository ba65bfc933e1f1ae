#include "tuttle/engine/time.h"

#include <chrono>

#include <fmt/format.h>

namespace tuttle {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    const char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::optional<TimeNs> ParseTimestamp(std::string_view s) {
  // YYYY-MM-DD[T ]hh:mm:ss[.f+](Z|[+-]hh:mm|[+-]hhmm)
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, month) ||
      s[7] != '-' || !Digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !Digits(s, 11, 2, hour) || s[13] != ':' || !Digits(s, 14, 2, minute) || s[16] != ':' ||
      !Digits(s, 17, 2, second)) {
    return std::nullopt;
  }
  // int64 nanoseconds span 1677-09-21 to 2262-04-11.
  if (year < 1678 || year > 2261) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{year},
                                        std::chrono::month{static_cast<unsigned>(month)},
                                        std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    int64_t scale = 100'000'000;
    const size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int64_t offset_seconds = 0;
  if (pos == s.size()) return std::nullopt;  // a time without a zone is ambiguous
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    const int sign = s[pos] == '-' ? -1 : 1;
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh)) return std::nullopt;
    size_t mpos = pos + 3;
    if (mpos < s.size() && s[mpos] == ':') ++mpos;
    if (!Digits(s, mpos, 2, om) || oh > 23 || om > 59) return std::nullopt;
    offset_seconds = sign * (oh * 3600 + om * 60);
    pos = mpos + 2;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  return secs * kNsPerSecond + nanos;
}

std::string FormatTimestamp(TimeNs t) {
  if (t == kNoTime) return "-";
  const int64_t ms_total = t >= 0 ? t / kNsPerMs : -((-t + kNsPerMs - 1) / kNsPerMs);
  int64_t secs = ms_total >= 0 ? ms_total / 1000 : -((-ms_total + 999) / 1000);
  const int64_t ms = ms_total - secs * 1000;
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  const int64_t rem = secs - days * 86400;
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     rem / 3600, (rem / 60) % 60, rem % 60, ms);
}

std::string FormatTimestampNs(TimeNs t) {
  if (t == kNoTime) return "-";
  const TimeNs floor_second = t >= 0 ? t / kNsPerSecond * kNsPerSecond
                                     : -((-t + kNsPerSecond - 1) / kNsPerSecond) * kNsPerSecond;
  const std::string ms = FormatTimestamp(floor_second);  // "....:SS.000Z"
  return fmt::format("{}.{:09}Z", ms.substr(0, 19), t - floor_second);
}

std::optional<TimeNs> ParseDuration(std::string_view s) {
  if (s.size() < 2) return std::nullopt;
  int64_t n = 0;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    n = n * 10 + (s[i] - '0');
    if (n > 100'000'000) return std::nullopt;
  }
  if (n <= 0) return std::nullopt;
  switch (s.back()) {
    case 's': return n * kNsPerSecond;
    case 'm': return n * 60 * kNsPerSecond;
    case 'h': return n * 3600 * kNsPerSecond;
    case 'd': return n * 86400 * kNsPerSecond;
    default: return std::nullopt;
  }
}

}  // namespace tuttle
