#pragma once
// Tests of a field value that Hyperscan cannot express, evaluated in C++ as the detector walks an
// event's values: numeric comparison (`lt`, `lte`, `gt`, `gte`, numeric `neq`), IP networks
// (`cidr`) and parts of timestamps (`minute` .. `year`); and field references (`fieldref`),
// which compare two fields of the same event once all its values are known.
//
// Value semantics, where Sigma leaves them to the backend:
//   - Numbers: a JSON number, or a string that is a number in full ("42", "-1.5e3"; no spaces).
//     Anything else (text, booleans, null) never compares.
//   - IP addresses: IPv4 dotted quads and IPv6 text (RFC 4291, with `::` and an embedded IPv4
//     tail). An IPv4 network also matches IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`).
//   - Timestamps: RFC 3339 / ISO 8601 text (`2024-05-01T22:15:00Z`, `2024-05-01 22:15:00.123`,
//     any zone suffix), whose parts are taken as written, with no zone conversion (as the Sigma
//     modifiers appendix says); or a JSON number (or digit string) of seconds since the Unix
//     epoch in UTC, read as milliseconds, microseconds or nanoseconds when it is too large to be
//     seconds (more than 10^11, 10^14, 10^17). `week` is the ISO 8601 week number (1..53).
//     A date without a time has no minute or hour.
//   - Field references compare the two fields' texts, ASCII case-insensitively unless `cased`,
//     as a whole or by position (`contains`, `startswith`, `endswith`: the referenced field's
//     value inside this field's value). Arrays: any element of one against any of the other.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "modifiers.h"
#include "tuttle/engine/field_table.h"
#include "tuttle/engine/result.h"

namespace tuttle::rules {

// An IPv6 address or network; IPv4 ones are kept IPv4-mapped (::ffff:a.b.c.d, prefix + 96).
struct IpNetwork {
  std::array<uint8_t, 16> bytes{};
  uint8_t prefix = 128;
  friend bool operator==(const IpNetwork&, const IpNetwork&) = default;
};

// Parses an address ("10.0.0.1", "fe80::1") as a /32 or /128 network.
std::optional<IpNetwork> ParseIpAddress(std::string_view text);
// Parses "10.0.0.0/8", "2001:db8::/32" or a bare address. The host bits must be zero, as in
// Python's ipaddress.ip_network (pySigma's check): "10.1.0.0/8" is an error that says so.
Result<IpNetwork> ParseCidr(std::string_view text);
bool InNetwork(const IpNetwork& network, const IpNetwork& address);

// The parts of a timestamp; -1 where the text has none.
struct TimeParts {
  int year = -1, month = -1, day = -1, hour = -1, minute = -1, week = -1;
};
std::optional<TimeParts> ParseTimeParts(ValueKind kind, std::string_view text);

// A number as Sigma values and event values are compared: a decimal in full.
std::optional<double> ParseNumber(std::string_view text);

// What the tests of one value share, worked out by the first test that needs it: a field often
// has several `cidr` tests (the private ranges), and each would parse the address again.
struct ValueMemo {
  bool address_parsed = false;
  std::optional<IpNetwork> address;
};

struct ValueTest {
  enum class Kind : uint8_t { kCompare, kCidr, kTimePart };
  Kind kind = Kind::kCompare;
  CompareOp op = CompareOp::kEq;  // kCompare, kTimePart
  TimePart part = TimePart::kMinute;
  double number = 0;  // kCompare, kTimePart
  IpNetwork network;  // kCidr

  bool Test(ValueKind value_kind, std::string_view text) const {
    ValueMemo memo;
    return Test(value_kind, text, memo);
  }
  // The same, with `memo` shared by the tests of the same value.
  bool Test(ValueKind value_kind, std::string_view text, ValueMemo& memo) const;
  // A spelling unique to the test, for interning predicates.
  std::string Key() const;
};

struct FieldRef {
  std::string other;  // the referenced field
  ValueSpec::Position position = ValueSpec::Position::kWhole;
  bool cased = false;

  bool Test(std::string_view value, std::string_view other_value) const;
};

}  // namespace tuttle::rules
