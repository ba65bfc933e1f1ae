// Fuzz target: the decoder of scale-out signals-topic messages (ingest/scale_out.h), which reads
// bytes other processes wrote. Every input decodes or is an error; what decodes encodes back to
// bytes that decode to the same signals.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "support/signal_rules.h"
#include "tuttle/ingest/scale_out.h"

namespace {

const tuttle::RuleSet& Rules() {
  static const auto* rules = [] {
    auto r = tuttle::testing::CompileRulesText(tuttle::testing::kSignalRules);
    if (!r.ok()) __builtin_trap();
    return new tuttle::RuleSet(std::move(*r));
  }();
  return *rules;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tuttle::ingest::SignalCodec codec(Rules());
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  tuttle::ingest::SignalMessage message;
  if (!codec.Decode(bytes, message).ok()) return 0;
  if (message.kind == tuttle::ingest::SignalMessage::Kind::kMark) {
    tuttle::ingest::SignalMessage again;
    if (!codec.Decode(codec.EncodeMark(message.mark), again).ok()) __builtin_trap();
    return 0;
  }
  std::vector<uint32_t> all;
  for (uint32_t i = 0; i < message.record.signals.size(); ++i) all.push_back(i);
  tuttle::ingest::SignalMessage again;
  if (!codec.Decode(codec.EncodeSignals(message.record, all), again).ok()) __builtin_trap();
  if (again.record.signals.size() != message.record.signals.size()) __builtin_trap();
  for (size_t i = 0; i < all.size(); ++i) {
    const auto& a = message.record.signals[i];
    const auto& b = again.record.signals[i];
    if (a.group != b.group || a.time != b.time || a.value != b.value) __builtin_trap();
  }
  return 0;
}
