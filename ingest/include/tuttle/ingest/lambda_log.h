#pragma once
// AWS Lambda logs as CloudWatch Logs holds them, turned into JSON records for the JSON parser
// (format "lambda", log source aws / lambda; docs/formats.md, "AWS Lambda logs").
//
// One message is one of:
//   - a platform line of the text log format:
//       START RequestId: <id> Version: <version>
//       END RequestId: <id>
//       REPORT RequestId: <id>\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB
//              \tMax Memory Used: 70 MB\tInit Duration: 150.12 ms     (Init Duration optional)
//       INIT_START Runtime Version: python:3.12.v18\tRuntime Version ARN: arn:aws:lambda:...
//   - a platform event of the JSON log format or the Telemetry API:
//       {"time": "...", "type": "platform.start" | "platform.report" | ..., "record": {...}}
//   - anything else the function wrote: an application log line (type "log"), text (the Node.js
//     "<time>\t<requestId>\t<LEVEL>\t<message>" and Python "[LEVEL]\t<time>\t<requestId>\t..."
//     shapes are read) or a JSON object (kept under "json").
//
// Thread-safety: a converter is not thread-safe; one per thread.

#include <memory>
#include <string>
#include <string_view>

#include "tuttle/engine/result.h"

namespace tuttle::ingest {

namespace internal {
struct LambdaDom;
}

// Where a message came from, when known (the CloudWatch Logs subscription envelope says it).
struct LambdaContext {
  std::string_view function_name;  // from the log group /aws/lambda/<function>
  std::string_view log_group;
  std::string_view log_stream;     // "2024/05/01/[$LATEST]0123abcd...": gives the version
  std::string_view event_id;       // the log event's id
  std::string_view owner;          // the AWS account that owns the log group
  std::string_view time;           // the log event's time, RFC 3339; empty when unknown
};

class LambdaLogConverter {
 public:
  LambdaLogConverter();
  ~LambdaLogConverter();
  LambdaLogConverter(const LambdaLogConverter&) = delete;
  LambdaLogConverter& operator=(const LambdaLogConverter&) = delete;

  // Writes the record for `message` into `out` (cleared first). Errors name the reason:
  // "invalid UTF-8 in Lambda log message", "REPORT line: 'Duration' is not a number: 'x ms'",
  // "START line without a RequestId", "Lambda platform event without a 'record' object", ...
  Status Convert(std::string_view message, const LambdaContext& context, std::string& out);

  // A text message (not JSON) with an optional leading RFC 3339 time and a space, as exports
  // and `aws logs tail` print them; the time is used when the context has none.
  Status ConvertLine(std::string_view line, const LambdaContext& context, std::string& out);

 private:
  Status ConvertText(std::string_view text, std::string_view time, const LambdaContext& context,
                     std::string& out);
  Status ConvertJson(std::string_view text, const LambdaContext& context, std::string& out);

  std::unique_ptr<internal::LambdaDom> dom_;
  std::string scratch_;
};

// The function name in a log group named /aws/lambda/<function>; empty otherwise.
std::string_view LambdaFunctionFromLogGroup(std::string_view log_group);
// The version in a log stream named <date>/[<version>]<instance id>; empty otherwise.
std::string_view LambdaVersionFromLogStream(std::string_view log_stream);

}  // namespace tuttle::ingest
