#pragma once
// Reads a whole Kafka topic back (key, value, headers) for tests that check what Tuttle
// produced: every partition from the beginning to its current end, without a consumer group.

#include <map>
#include <string>
#include <vector>

namespace tuttle::testing {

struct KafkaMessage {
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;  // the last value of each name
};

// The messages of `topic` at `brokers`, partition by partition in offset order. Fails the
// calling test (ADD_FAILURE) and returns what it has when the topic cannot be read in 30 s.
std::vector<KafkaMessage> ReadTopic(const std::string& brokers, const std::string& topic);

}  // namespace tuttle::testing
