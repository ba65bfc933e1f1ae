// Fuzz target: the JSON record parser (simdjson walker and format adapters) on arbitrary bytes.
// Whatever the input, Parse() returns an event or an error; it never crashes or reads past the
// record's padding.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "tuttle/engine/record.h"
#include "tuttle/ingest/json_record_parser.h"

namespace {

class Sink final : public tuttle::RecordParser::EventHandler {
 public:
  void OnEvent(const tuttle::Event& e) override {
    for (const auto& v : e.fields->values()) checksum_ += v.text.size();
    checksum_ += static_cast<size_t>(e.time & 0xff);
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
                          "a.b", "a.b.c", "userIdentity.arn", "Records.eventName"}) {
      c->Intern(p);
    }
    parser = std::make_unique<tuttle::ingest::JsonRecordParser>(c);
    worker = parser->NewWorker();
  }
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
  (void)fixture.worker->Parse(batch.bytes(0), batch.meta(0), sink);
  return 0;
}
