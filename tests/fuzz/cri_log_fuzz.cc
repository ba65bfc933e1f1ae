// Fuzz target: the CRI line parser and assembler on arbitrary bytes, split into lines that go to
// two streams. Whatever the input, each line becomes a record, part of one, or a reject; every
// record is valid JSON (checked with simdjson); nothing crashes.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tuttle/engine/record.h"
#include "tuttle/ingest/cri_assembler.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static simdjson::dom::parser json;
  tuttle::ingest::CriAssemblerOptions options;
  options.max_message_bytes = 300;  // small, so limits are reached
  tuttle::ingest::CriAssembler assembler(options);
  tuttle::RecordBatch out;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  int64_t line = 0;
  while (!input.empty()) {
    const size_t nl = input.find('\n');
    const std::string_view l = input.substr(0, nl);
    input.remove_prefix(nl == std::string_view::npos ? input.size() : nl + 1);
    ++line;
    // Odd lines to a Kafka partition, even lines to a kubelet file.
    if (line % 2 == 1) {
      assembler.AddLine("topic", l, tuttle::RecordMeta{0, 0, line, tuttle::kNoTime}, out);
      (void)assembler.CommitLimit("topic", 0, line);
    } else {
      assembler.AddLine("/var/log/containers/p_ns_c-0000000000000000000000000000000000000000000000000000000000000000.log",
                        l, tuttle::RecordMeta{0, -1, line, tuttle::kNoTime}, out);
    }
  }
  assembler.EndAll(out);
  for (size_t i = 0; i < out.size(); ++i) {
    simdjson::dom::element e;
    if (json.parse(out.bytes(i).data(), out.bytes(i).size(), true).get(e)) __builtin_trap();
  }
  for (const auto& r : out.rejected()) {
    if (r.reason.empty()) __builtin_trap();
  }
  return 0;
}
