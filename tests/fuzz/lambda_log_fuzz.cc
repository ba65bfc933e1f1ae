// Fuzz target: Lambda log conversion (envelopes, platform events, text lines) on arbitrary
// bytes, whole and line by line, and gzip-compressed (so every mutation of a plain envelope also
// goes through the decompression path; mutations of the gzip seeds reach its error paths).
// Every record produced is valid JSON (checked with simdjson), every reject has a reason,
// nothing crashes.

#include <simdjson.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tuttle/engine/record.h"
#include "tuttle/ingest/lambda_log_source.h"
#include "support/gzip_support.h"

namespace {

using ::tuttle::testing::Gzip;

class NoSource final : public tuttle::RecordSource {
 public:
  tuttle::Result<bool> Next(tuttle::RecordBatch&) override { return false; }
  tuttle::Status Commit(const std::vector<tuttle::SourcePosition>&) override {
    return tuttle::Ok();
  }
  void Stop() override {}
};

tuttle::ingest::LambdaLogSourceOptions Options() {
  tuttle::ingest::LambdaLogSourceOptions o;
  o.max_decompressed_bytes = size_t{1} << 20;  // bombs stop early
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static simdjson::dom::parser json;
  static tuttle::ingest::LambdaLogSource source(std::make_unique<NoSource>(), Options());
  tuttle::RecordBatch out;
  const uint32_t s = out.InternSource("fuzz");
  std::string_view input(reinterpret_cast<const char*>(data), size);
  source.Convert(input, tuttle::RecordMeta{s, 0, 0, tuttle::kNoTime}, out);
  const size_t plain_records = out.size();
  const size_t plain_rejected = out.rejected().size();
  // Compressed, the same input gives the same records (rejects may name the gzip input).
  source.Convert(Gzip(input), tuttle::RecordMeta{s, 0, 0, tuttle::kNoTime}, out);
  const size_t first = input.find_first_not_of(" \t\r\n");
  if (!input.starts_with("\x1f\x8b") && first != std::string_view::npos &&
      !input.substr(first).starts_with("H4sI")) {
    if (out.size() != 2 * plain_records) __builtin_trap();
    for (size_t i = 0; i < plain_records; ++i) {
      if (out.bytes(i) != out.bytes(plain_records + i)) __builtin_trap();
    }
    if (out.rejected().size() != 2 * plain_rejected) __builtin_trap();
  }
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
