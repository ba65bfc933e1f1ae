#include "value_test.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstring>

#include "text_util.h"

namespace tuttle::rules {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `pos`.
bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!IsDigit(s[i])) return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int& year, int& month, int& day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  year = static_cast<int>(static_cast<int64_t>(yoe) + era * 400 + (month <= 2));
}

// ISO 8601 week number: the week (Monday first) holding the year's first Thursday is week 1.
int IsoWeek(int year, int month, int day) {
  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t weekday = ((days % 7) + 7 + 3) % 7;  // 0 = Monday (1970-01-01 was a Thursday)
  const int64_t thursday = days - weekday + 3;       // the Thursday of this ISO week
  int ty = 0, tm = 0, td = 0;
  CivilFromDays(thursday, ty, tm, td);
  const int64_t jan1 = DaysFromCivil(ty, 1, 1);
  return static_cast<int>((thursday - jan1) / 7 + 1);
}

bool ValidDate(int y, int m, int d) {
  if (m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (d > kDays[m - 1]) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return !(m == 2 && d == 29 && !leap);
}

bool AsciiEqualsFolded(std::string_view a, std::string_view b) { return EqualsIgnoreCase(a, b); }

size_t FindFolded(std::string_view hay, std::string_view needle, bool cased) {
  if (needle.size() > hay.size()) return std::string_view::npos;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    const std::string_view window = hay.substr(i, needle.size());
    if (cased ? window == needle : AsciiEqualsFolded(window, needle)) return i;
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<double> ParseNumber(std::string_view text) {
  if (text.empty()) return std::nullopt;
  // from_chars accepts no leading '+', and "inf"/"nan", which are not numbers here.
  const char first = text.front();
  if (!IsDigit(first) && first != '-' && first != '.') return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

std::optional<IpNetwork> ParseIpAddress(std::string_view text) {
  // inet_pton wants a NUL-terminated string; addresses are short.
  char buffer[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buffer)) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  IpNetwork out;
  if (text.find(':') == std::string_view::npos) {
    in_addr v4{};
    if (inet_pton(AF_INET, buffer, &v4) != 1) return std::nullopt;
    out.bytes[10] = 0xff;
    out.bytes[11] = 0xff;
    std::memcpy(out.bytes.data() + 12, &v4, 4);
  } else {
    in6_addr v6{};
    if (inet_pton(AF_INET6, buffer, &v6) != 1) return std::nullopt;
    std::memcpy(out.bytes.data(), &v6, 16);
  }
  out.prefix = 128;
  return out;
}

Result<IpNetwork> ParseCidr(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view address = text.substr(0, slash);
  std::optional<IpNetwork> net = ParseIpAddress(address);
  if (!net) return Error(fmt::format("'{}' is not an IPv4 or IPv6 address", address));
  const bool v4 = address.find(':') == std::string_view::npos;
  const int max = v4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
        prefix < 0 || prefix > max) {
      return Error(fmt::format("'{}' is not a prefix length (0 to {})", digits, max));
    }
  }
  net->prefix = static_cast<uint8_t>(v4 ? prefix + 96 : prefix);
  for (int bit = net->prefix; bit < 128; ++bit) {
    if ((net->bytes[static_cast<size_t>(bit / 8)] >> (7 - bit % 8)) & 1) {
      return Error(fmt::format("'{}' has host bits set", text));
    }
  }
  return *net;
}

bool InNetwork(const IpNetwork& network, const IpNetwork& address) {
  const int full = network.prefix / 8;
  if (std::memcmp(network.bytes.data(), address.bytes.data(), static_cast<size_t>(full)) != 0) {
    return false;
  }
  const int rest = network.prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (network.bytes[static_cast<size_t>(full)] & mask) ==
         (address.bytes[static_cast<size_t>(full)] & mask);
}

std::optional<TimeParts> ParseTimeParts(ValueKind kind, std::string_view text) {
  TimeParts t;
  const bool digits_only =
      !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  if (kind == ValueKind::kNumber || digits_only) {
    std::optional<double> n = ParseNumber(text);
    if (!n || *n < 0) return std::nullopt;
    double seconds = *n;
    if (seconds > 1e17) {
      seconds /= 1e9;
    } else if (seconds > 1e14) {
      seconds /= 1e6;
    } else if (seconds > 1e11) {
      seconds /= 1e3;
    }
    const auto whole = static_cast<int64_t>(std::floor(seconds));
    const int64_t days = whole / 86400;
    const int64_t in_day = whole % 86400;
    CivilFromDays(days, t.year, t.month, t.day);
    t.hour = static_cast<int>(in_day / 3600);
    t.minute = static_cast<int>(in_day % 3600 / 60);
    t.week = IsoWeek(t.year, t.month, t.day);
    return t;
  }
  if (kind != ValueKind::kString) return std::nullopt;
  // YYYY-MM-DD, then optionally [T or space]HH:MM, then anything (seconds, fraction, zone).
  if (!Digits(text, 0, 4, t.year) || text.size() < 10 || text[4] != '-' ||
      !Digits(text, 5, 2, t.month) || text[7] != '-' || !Digits(text, 8, 2, t.day) ||
      !ValidDate(t.year, t.month, t.day)) {
    return std::nullopt;
  }
  t.week = IsoWeek(t.year, t.month, t.day);
  if (text.size() == 10) return t;
  const char sep = text[10];
  if (sep != 'T' && sep != 't' && sep != ' ') return std::nullopt;
  int hour = 0, minute = 0;
  if (!Digits(text, 11, 2, hour) || text.size() < 16 || text[13] != ':' ||
      !Digits(text, 14, 2, minute) || hour > 23 || minute > 59) {
    return std::nullopt;
  }
  t.hour = hour;
  t.minute = minute;
  return t;
}

bool ValueTest::Test(ValueKind value_kind, std::string_view text, ValueMemo& memo) const {
  double value = 0;
  switch (kind) {
    case Kind::kCidr: {
      if (value_kind != ValueKind::kString) return false;
      if (!memo.address_parsed) {
        memo.address = ParseIpAddress(text);
        memo.address_parsed = true;
      }
      return memo.address && InNetwork(network, *memo.address);
    }
    case Kind::kCompare: {
      if (value_kind != ValueKind::kNumber && value_kind != ValueKind::kString) return false;
      const std::optional<double> n = ParseNumber(text);
      if (!n) return false;
      value = *n;
      break;
    }
    case Kind::kTimePart: {
      const std::optional<TimeParts> t = ParseTimeParts(value_kind, text);
      if (!t) return false;
      int v = -1;
      switch (part) {
        case TimePart::kMinute:
          v = t->minute;
          break;
        case TimePart::kHour:
          v = t->hour;
          break;
        case TimePart::kDay:
          v = t->day;
          break;
        case TimePart::kWeek:
          v = t->week;
          break;
        case TimePart::kMonth:
          v = t->month;
          break;
        case TimePart::kYear:
          v = t->year;
          break;
      }
      if (v < 0) return false;
      value = v;
      break;
    }
  }
  switch (op) {
    case CompareOp::kEq:
      return value == number;
    case CompareOp::kLt:
      return value < number;
    case CompareOp::kLte:
      return value <= number;
    case CompareOp::kGt:
      return value > number;
    case CompareOp::kGte:
      return value >= number;
  }
  return false;
}

std::string ValueTest::Key() const {
  if (kind == Kind::kCidr) {
    std::string key = "cidr/";
    for (const uint8_t b : network.bytes) key += fmt::format("{:02x}", b);
    return fmt::format("{}/{}", key, network.prefix);
  }
  return fmt::format("{}/{}/{}/{}", static_cast<int>(kind), static_cast<int>(op),
                     static_cast<int>(part), number);
}

bool FieldRef::Test(std::string_view value, std::string_view other_value) const {
  switch (position) {
    case ValueSpec::Position::kWhole:
      return cased ? value == other_value : AsciiEqualsFolded(value, other_value);
    case ValueSpec::Position::kContains:
      return FindFolded(value, other_value, cased) != std::string_view::npos;
    case ValueSpec::Position::kStartswith:
      return other_value.size() <= value.size() &&
             (cased ? value.starts_with(other_value)
                    : AsciiEqualsFolded(value.substr(0, other_value.size()), other_value));
    case ValueSpec::Position::kEndswith:
      return other_value.size() <= value.size() &&
             (cased ? value.ends_with(other_value)
                    : AsciiEqualsFolded(value.substr(value.size() - other_value.size()),
                                        other_value));
  }
  return false;
}

}  // namespace tuttle::rules
