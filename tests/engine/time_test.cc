#include "tuttle/engine/time.h"

#include <gtest/gtest.h>

namespace tuttle {
namespace {

TEST(ParseTimestamp, ReadsUtcWithMicroseconds) {
  auto t = ParseTimestamp("2018-10-26T13:42:46.808261Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, 1540561366808261000);
  EXPECT_EQ(FormatTimestamp(*t), "2018-10-26T13:42:46.808Z");
}

TEST(ParseTimestamp, ReadsNanosecondsAndOffsets) {
  EXPECT_EQ(*ParseTimestamp("2024-01-01T00:00:00.000000001Z"), 1704067200000000001);
  EXPECT_EQ(*ParseTimestamp("2024-01-01T02:00:00+02:00"), 1704067200000000000);
  EXPECT_EQ(*ParseTimestamp("2023-12-31T19:30:00-0430"), 1704067200000000000);
  EXPECT_EQ(*ParseTimestamp("2024-01-01 00:00:00Z"), 1704067200000000000);
  EXPECT_EQ(*ParseTimestamp("1969-12-31T23:59:59Z"), -1000000000);
}

TEST(ParseTimestamp, RejectsWhatIsNotATimestamp) {
  EXPECT_FALSE(ParseTimestamp(""));
  EXPECT_FALSE(ParseTimestamp("2024-01-01"));
  EXPECT_FALSE(ParseTimestamp("2024-01-01T00:00:00"));  // no zone: ambiguous
  EXPECT_FALSE(ParseTimestamp("2024-02-30T00:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("2024-01-01T24:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("2024-01-01T00:00:00.Z"));
  EXPECT_FALSE(ParseTimestamp("2024-01-01T00:00:00Zjunk"));
  EXPECT_FALSE(ParseTimestamp("1718000000"));
  // Found by the fuzzer: years past 2262 overflow int64 nanoseconds.
  EXPECT_FALSE(ParseTimestamp("9999-12-31T23:59:59Z"));
  EXPECT_FALSE(ParseTimestamp("1000-01-01T00:00:00Z"));
}

TEST(FormatTimestampNs, KeepsNanoseconds) {
  EXPECT_EQ(FormatTimestampNs(*ParseTimestamp("2026-03-14T09:31:14.305608Z")),
            "2026-03-14T09:31:14.305608000Z");
  EXPECT_EQ(FormatTimestampNs(-1), "1969-12-31T23:59:59.999999999Z");
}

TEST(FormatTimestamp, RoundsTowardsThePastForNegativeTimes) {
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00.000Z");
}

TEST(ParseDuration, ReadsSigmaTimespans) {
  EXPECT_EQ(*ParseDuration("30s"), 30 * kNsPerSecond);
  EXPECT_EQ(*ParseDuration("90m"), 90 * 60 * kNsPerSecond);
  EXPECT_EQ(*ParseDuration("2h"), 2 * 3600 * kNsPerSecond);
  EXPECT_EQ(*ParseDuration("1d"), 86400 * kNsPerSecond);
  EXPECT_FALSE(ParseDuration("0s"));
  EXPECT_FALSE(ParseDuration("10"));
  EXPECT_FALSE(ParseDuration("1w"));
  EXPECT_FALSE(ParseDuration("-5m"));
  EXPECT_FALSE(ParseDuration("5M"));
}

}  // namespace
}  // namespace tuttle
