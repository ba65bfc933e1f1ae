#pragma once
// Event time: nanoseconds since the Unix epoch, UTC. Correlation runs on this, never on the
// wall clock.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tuttle {

using TimeNs = int64_t;
inline constexpr TimeNs kNoTime = INT64_MIN;
inline constexpr TimeNs kNsPerMs = 1'000'000;
inline constexpr TimeNs kNsPerSecond = 1'000'000'000;

// Parses RFC 3339 / ISO 8601 timestamps as found in logs: "2024-05-01T12:00:00Z",
// "2024-05-01T12:00:00.123456789+02:00", "2024-05-01 12:00:00.5Z". Fractions beyond nanoseconds
// are truncated. Returns nullopt on anything else.
std::optional<TimeNs> ParseTimestamp(std::string_view text);

// "2024-05-01T12:00:00.123Z": milliseconds, UTC.
std::string FormatTimestamp(TimeNs t);
// "2024-05-01T12:00:00.123456789Z": nanoseconds, UTC (evidence keeps the record's precision).
std::string FormatTimestampNs(TimeNs t);

// Sigma durations: a positive integer and one of s, m, h, d ("90m"). Returns nullopt otherwise.
std::optional<TimeNs> ParseDuration(std::string_view text);

}  // namespace tuttle
