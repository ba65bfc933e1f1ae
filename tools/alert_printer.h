#pragma once
// AlertPrinter: an AlertSink that prints alerts to a stream, one per line: readable text for
// terminals, or JSON in an AlertFormat (OCSF by default; JSON lines: nothing else is written to
// that stream).

#include <cstdio>

#include "tuttle/engine/alert_sink.h"

namespace tuttle::tools {

class AlertPrinter final : public AlertSink {
 public:
  enum class Format { kText, kJson };
  AlertPrinter(std::FILE* out, Format format, AlertFormat json_format = AlertFormat::kOcsf);

  Status Write(const BatchOutput& batch) override;

 private:
  std::FILE* out_;
  Format format_;
  AlertFormat json_format_;
  bool color_;
};

}  // namespace tuttle::tools
