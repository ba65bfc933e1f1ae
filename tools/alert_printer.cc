#include "alert_printer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace tuttle::tools {

AlertPrinter::AlertPrinter(std::FILE* out, Format format, AlertFormat json_format)
    : out_(out),
      format_(format),
      json_format_(json_format),
      color_(format == Format::kText && isatty(fileno(out)) != 0) {}

Status AlertPrinter::Write(const BatchOutput& batch) {
  if (batch.alerts.empty()) return Ok();
  for (const Alert& a : batch.alerts) {
    const std::string line =
        format_ == Format::kJson ? FormatAlert(a, json_format_) : AlertToText(a, color_);
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fputc('\n', out_);
  }
  if (std::fflush(out_) != 0) {
    return Error(fmt::format("writing alerts: {}", std::strerror(errno)));
  }
  return Ok();
}

}  // namespace tuttle::tools
