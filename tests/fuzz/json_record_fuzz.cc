// Fuzz target: the JSON record parser (simdjson walker and format adapters) on arbitrary bytes.
// Every format adapter runs on the same input (detection picks one), so this target covers them
// all; the corpus has seeds of each format (fmt-<format>-<n>, and cut-off copies).
// Whatever the input, Parse() returns events or an error; it never crashes or reads past the
// record's padding.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "tuttle/engine/record.h"
#include "tuttle/ingest/json_record_parser.h"

namespace {

class Sink final : public tuttle::RecordParser::EventHandler {
 public:
  void OnEvent(const tuttle::Event& e) override {
    for (const auto& v : e.fields->values()) checksum_ += v.text.size();
    // Every entity is a readable view (ASan catches one that is not).
    e.entities.ForEach([&](std::string_view, std::string_view v) {
      for (const char c : v) checksum_ += static_cast<unsigned char>(c);
    });
    for (const char c : e.raw) checksum_ += static_cast<unsigned char>(c);
    checksum_ += static_cast<size_t>(e.time & 0xff);
  }
  void OnRejectedPart(std::string_view part, const std::string& reason) override {
    checksum_ += part.size() + reason.size();
  }
  size_t checksum_ = 0;
};

struct Fixture {
  Fixture() {
    auto c = std::make_shared<tuttle::FieldCatalog>();
    tuttle::ingest::RegisterAdapterFields(*c);
    for (const char* p : {"objectRef.namespace", "user.username", "sourceIPs",
                          "requestObject.spec.containers.securityContext.privileged",
                          "output_fields.proc.cmdline", "output_fields.container.id", "a",
                          "a.b", "a.b.c", "userIdentity.arn", "Records.eventName",
                          "protoPayload.request.function.name", "Actor.Attributes.execID",
                          "properties.message", "Results.Vulnerabilities.PkgName"}) {
      c->Intern(p);
    }
    parser = std::make_unique<tuttle::ingest::JsonRecordParser>(c);
    worker = parser->NewWorker();
    // TUTTLE_FUZZ_FORMAT=<format>: every input is parsed pinned to that adapter, so each adapter
    // gets a fuzz run of its own (ctest: fuzz.json_record.<format>).
    if (const char* f = std::getenv("TUTTLE_FUZZ_FORMAT"); f != nullptr && *f != 0) {
      const auto id = tuttle::ingest::JsonRecordParser::FormatId(f);
      if (!id) {
        std::fprintf(stderr, "TUTTLE_FUZZ_FORMAT: unknown format '%s'\n", f);
        std::abort();
      }
      only_format = *id;
    }
  }
  uint16_t only_format = 0;  // 0: detect, then also one pinned format per input
  std::unique_ptr<tuttle::ingest::JsonRecordParser> parser;
  std::unique_ptr<tuttle::RecordParser::Worker> worker;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fixture;
  tuttle::RecordBatch batch;
  batch.Add(std::string_view(reinterpret_cast<const char*>(data), size),
            tuttle::RecordMeta{batch.InternSource("fuzz"), 0, 0, tuttle::kNoTime});
  Sink sink;
  if (fixture.only_format != 0) {
    tuttle::RecordMeta pinned = batch.meta(0);
    pinned.format = fixture.only_format;
    (void)fixture.worker->Parse(batch.bytes(0), pinned, sink);
    return 0;
  }
  (void)fixture.worker->Parse(batch.bytes(0), batch.meta(0), sink);
  // And pinned to one format (chosen by the input's size), as `--format` does.
  static const size_t formats = tuttle::ingest::JsonRecordParser::FormatNames().size();
  tuttle::RecordMeta pinned = batch.meta(0);
  pinned.format = static_cast<uint16_t>(1 + size % formats);
  (void)fixture.worker->Parse(batch.bytes(0), pinned, sink);
  return 0;
}
