// Fuzz target: Lambda log conversion (envelopes, platform events, text lines) on arbitrary
// bytes, whole and line by line. Every record produced is valid JSON (checked with simdjson),
// every reject has a reason, nothing crashes.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "tuttle/engine/record.h"
#include "tuttle/ingest/lambda_log_source.h"

namespace {

class NoSource final : public tuttle::RecordSource {
 public:
  tuttle::Result<bool> Next(tuttle::RecordBatch&) override { return false; }
  tuttle::Status Commit(const std::vector<tuttle::SourcePosition>&) override {
    return tuttle::Ok();
  }
  void Stop() override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static simdjson::dom::parser json;
  static tuttle::ingest::LambdaLogSource source(std::make_unique<NoSource>());
  tuttle::RecordBatch out;
  const uint32_t s = out.InternSource("fuzz");
  std::string_view input(reinterpret_cast<const char*>(data), size);
  source.Convert(input, tuttle::RecordMeta{s, 0, 0, tuttle::kNoTime}, out);
  int64_t line = 0;
  while (!input.empty()) {
    const size_t nl = input.find('\n');
    source.Convert(input.substr(0, nl), tuttle::RecordMeta{s, 0, ++line, tuttle::kNoTime}, out);
    input.remove_prefix(nl == std::string_view::npos ? input.size() : nl + 1);
  }
  for (size_t i = 0; i < out.size(); ++i) {
    simdjson::dom::element e;
    if (json.parse(out.bytes(i).data(), out.bytes(i).size(), true).get(e)) __builtin_trap();
  }
  for (const auto& r : out.rejected()) {
    if (r.reason.empty()) __builtin_trap();
  }
  return 0;
}
