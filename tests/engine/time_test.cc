#include "tuttle/engine/time.h"

#include <gtest/gtest.h>

namespace tuttle {
namespace {

TEST(ParseTimestamp, ReadsUtcWithFraction) {
  auto t = ParseTimestamp("2018-10-26T13:42:46.808261Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, 1540561366808261000);
  EXPECT_EQ(FormatTimestamp(*t), "2018-10-26T13:42:46.808Z");
}

}  // namespace
}  // namespace tuttle
