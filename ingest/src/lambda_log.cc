#include "tuttle/ingest/lambda_log.h"

#include <simdjson.h>

#include <vector>

#include "json_text.h"
#include "tuttle/engine/time.h"

namespace tuttle::ingest {

namespace internal {
struct LambdaDom {
  simdjson::dom::parser parser;
};
}  // namespace internal

namespace {

using internal::AppendJsonString;
using internal::AppendKey;

// The fields of one Lambda record, as views (numbers as JSON number text).
struct LambdaFields {
  std::string_view type;
  std::string_view time;
  std::string_view function_name;
  std::string_view request_id;
  std::string_view version;
  std::string_view duration, billed_duration, memory_size, max_memory_used, init_duration;
  std::string_view runtime_version, runtime_version_arn;
  std::string_view level;
  std::string_view platform_type;
  std::string_view status;
  std::string record_json;  // the platform event's record object
  std::string app_json;     // an application's JSON log object
  std::string_view message;
};

void Str(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  out += ',';
  AppendKey(out, key);
  AppendJsonString(out, value);
}

void Raw(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  out += ',';
  AppendKey(out, key);
  out += value;
}

void Write(const LambdaFields& f, const LambdaContext& c, std::string& out) {
  out.clear();
  out += "{\"format\":\"lambda\",\"type\":";
  AppendJsonString(out, f.type);
  Str(out, "time", f.time.empty() ? c.time : f.time);
  Str(out, "functionName", c.function_name.empty() ? f.function_name : c.function_name);
  Str(out, "version",
      f.version.empty() ? LambdaVersionFromLogStream(c.log_stream) : f.version);
  Str(out, "requestId", f.request_id);
  Raw(out, "durationMs", f.duration);
  Raw(out, "billedDurationMs", f.billed_duration);
  Raw(out, "memorySizeMb", f.memory_size);
  Raw(out, "maxMemoryUsedMb", f.max_memory_used);
  Raw(out, "initDurationMs", f.init_duration);
  Str(out, "runtimeVersion", f.runtime_version);
  Str(out, "runtimeVersionArn", f.runtime_version_arn);
  Str(out, "level", f.level);
  Str(out, "status", f.status);
  Str(out, "platformType", f.platform_type);
  Str(out, "logGroup", c.log_group);
  Str(out, "logStream", c.log_stream);
  Str(out, "eventId", c.event_id);
  Str(out, "owner", c.owner);
  Raw(out, "record", f.record_json);
  Raw(out, "json", f.app_json);
  Str(out, "message", f.message);
  out += '}';
}

// Splits "Key: value" off a REPORT/INIT_START field.
bool SplitField(std::string_view part, std::string_view& key, std::string_view& value) {
  const size_t colon = part.find(": ");
  if (colon == std::string_view::npos) return false;
  key = part.substr(0, colon);
  value = internal::Trim(part.substr(colon + 2));
  return true;
}

Status Number(std::string_view line_kind, std::string_view key, std::string_view value,
              std::string_view unit, std::string_view& out) {
  std::string_view n = value;
  if (n.ends_with(unit)) n = internal::Trim(n.substr(0, n.size() - unit.size()));
  if (!internal::IsPlainNumber(n)) {
    std::string m(line_kind);
    m += " line: '";
    m += key;
    m += "' is not a number of ";
    m += internal::Trim(unit);
    m += ": '";
    m += value.substr(0, 40);
    m += '\'';
    return Error(std::move(m));
  }
  out = n;
  return Ok();
}

Error Missing(std::string_view line_kind, std::string_view what) {
  std::string m(line_kind);
  m += " line without ";
  m += what;
  return Error(std::move(m));
}

// "START RequestId: <id> Version: <v>", "END RequestId: <id>".
Status ReadStartEnd(std::string_view kind, std::string_view rest, LambdaFields& f) {
  rest = internal::Trim(rest);
  if (!rest.starts_with("RequestId: ")) return Missing(kind, "a RequestId");
  rest.remove_prefix(11);
  const size_t space = rest.find_first_of(" \t");
  f.request_id = rest.substr(0, space);
  if (f.request_id.empty()) return Missing(kind, "a RequestId");
  if (space != std::string_view::npos) {
    std::string_view tail = internal::Trim(rest.substr(space));
    if (tail.starts_with("Version: ")) f.version = internal::Trim(tail.substr(9));
  }
  if (kind == "START" && f.version.empty()) return Missing(kind, "a Version");
  return Ok();
}

Status ReadReport(std::string_view rest, LambdaFields& f) {
  bool duration = false, billed = false, memory = false, max_memory = false;
  size_t begin = 0;
  while (begin <= rest.size()) {
    size_t end = rest.find_first_of("\t\n", begin);
    if (end == std::string_view::npos) end = rest.size();
    const std::string_view part = internal::Trim(rest.substr(begin, end - begin));
    begin = end + 1;
    std::string_view key, value;
    if (part.empty() || !SplitField(part, key, value)) continue;
    Status st;
    if (key == "RequestId") {
      f.request_id = value;
    } else if (key == "Duration") {
      st = Number("REPORT", key, value, " ms", f.duration);
      duration = true;
    } else if (key == "Billed Duration") {
      st = Number("REPORT", key, value, " ms", f.billed_duration);
      billed = true;
    } else if (key == "Memory Size") {
      st = Number("REPORT", key, value, " MB", f.memory_size);
      memory = true;
    } else if (key == "Max Memory Used") {
      st = Number("REPORT", key, value, " MB", f.max_memory_used);
      max_memory = true;
    } else if (key == "Init Duration") {
      st = Number("REPORT", key, value, " ms", f.init_duration);
    }  // others (Restore Duration, XRAY TraceId, ...) stay in the message
    if (!st.ok()) return st;
  }
  if (f.request_id.empty()) return Missing("REPORT", "a RequestId");
  if (!duration) return Missing("REPORT", "'Duration'");
  if (!billed) return Missing("REPORT", "'Billed Duration'");
  if (!memory) return Missing("REPORT", "'Memory Size'");
  if (!max_memory) return Missing("REPORT", "'Max Memory Used'");
  return Ok();
}

void ReadInitStart(std::string_view rest, LambdaFields& f) {
  size_t begin = 0;
  while (begin <= rest.size()) {
    size_t end = rest.find('\t', begin);
    if (end == std::string_view::npos) end = rest.size();
    std::string_view key, value;
    if (SplitField(internal::Trim(rest.substr(begin, end - begin)), key, value)) {
      if (key == "Runtime Version") f.runtime_version = value;
      if (key == "Runtime Version ARN") f.runtime_version_arn = value;
    }
    begin = end + 1;
  }
}

bool IsLevel(std::string_view s) {
  for (std::string_view l : {"TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL",
                             "CRITICAL"}) {
    if (s == l) return true;
  }
  return false;
}

// Splits s at tabs into at most n parts.
std::vector<std::string_view> Tabs(std::string_view s, size_t n) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < n) {
    const size_t t = s.find('\t');
    if (t == std::string_view::npos) break;
    parts.push_back(s.substr(0, t));
    s.remove_prefix(t + 1);
  }
  parts.push_back(s);
  return parts;
}

std::string_view StringAt(simdjson::dom::object o, std::string_view key) {
  std::string_view s;
  if (o.at_key(key).get_string().get(s)) return {};
  return s;
}

}  // namespace

std::string_view LambdaFunctionFromLogGroup(std::string_view log_group) {
  constexpr std::string_view kPrefix = "/aws/lambda/";
  if (!log_group.starts_with(kPrefix) || log_group.size() == kPrefix.size()) return {};
  return log_group.substr(kPrefix.size());
}

std::string_view LambdaVersionFromLogStream(std::string_view log_stream) {
  const size_t open = log_stream.find('[');
  if (open == std::string_view::npos) return {};
  const size_t close = log_stream.find(']', open);
  if (close == std::string_view::npos || close == open + 1) return {};
  return log_stream.substr(open + 1, close - open - 1);
}

LambdaLogConverter::LambdaLogConverter() : dom_(std::make_unique<internal::LambdaDom>()) {
  // Deeper application objects stay text. If it fails, so does every parse() and JSON
  // messages are read as text lines.
  const simdjson::error_code e = dom_->parser.allocate(4096, 64);
  (void)e;
}

LambdaLogConverter::~LambdaLogConverter() = default;

Status LambdaLogConverter::Convert(std::string_view message, const LambdaContext& context,
                                   std::string& out) {
  if (!internal::IsValidUtf8(message)) return Error("invalid UTF-8 in Lambda log message");
  const std::string_view text = internal::Trim(message);
  if (text.empty()) return Error("empty Lambda log message");
  if (text.front() == '{' && text.back() == '}') {
    Status st = ConvertJson(text, context, out);
    if (st.ok() || st.error().message().starts_with("Lambda platform event")) return st;
    // Not JSON after all: an application's text line that happens to start with '{'.
  }
  return ConvertText(text, {}, context, out);
}

Status LambdaLogConverter::ConvertLine(std::string_view line, const LambdaContext& context,
                                       std::string& out) {
  if (!internal::IsValidUtf8(line)) return Error("invalid UTF-8 in Lambda log message");
  std::string_view text = internal::Trim(line);
  if (text.empty()) return Error("empty Lambda log message");
  if (text.front() == '{') return Convert(text, context, out);
  // An export's leading time: "2024-05-01T12:00:00.123Z START RequestId: ..."
  const size_t space = text.find_first_of(" \t");
  if (space != std::string_view::npos && text[0] >= '0' && text[0] <= '9') {
    const std::string_view first = text.substr(0, space);
    const std::string_view rest = internal::Trim(text.substr(space));
    const bool platform = rest.starts_with("START ") || rest.starts_with("END ") ||
                          rest.starts_with("REPORT ") || rest.starts_with("INIT_START ");
    if (platform && context.time.empty() && ParseTimestamp(first)) {
      return ConvertText(rest, first, context, out);
    }
  }
  return ConvertText(text, {}, context, out);
}

Status LambdaLogConverter::ConvertText(std::string_view text, std::string_view time,
                                       const LambdaContext& context, std::string& out) {
  LambdaFields f;
  f.time = time;
  f.message = text;
  Status st;
  if (text.starts_with("START ")) {
    f.type = "START";
    st = ReadStartEnd("START", text.substr(6), f);
  } else if (text.starts_with("END ")) {
    f.type = "END";
    st = ReadStartEnd("END", text.substr(4), f);
  } else if (text.starts_with("REPORT ")) {
    f.type = "REPORT";
    st = ReadReport(text.substr(7), f);
  } else if (text.starts_with("INIT_START ")) {
    f.type = "INIT_START";
    ReadInitStart(text.substr(11), f);
  } else {
    f.type = "log";
    // Node.js: "<time>\t<requestId>\t<LEVEL>\t<message>"; Python: "[LEVEL]\t<time>\t<id>\t<msg>".
    auto parts = Tabs(text, 4);
    if (parts.size() == 4 && IsLevel(parts[2]) && ParseTimestamp(parts[0])) {
      f.time = parts[0];
      f.request_id = parts[1];
      f.level = parts[2];
    } else if (parts.size() == 4 && parts[0].size() > 2 && parts[0].front() == '[' &&
               parts[0].back() == ']' && IsLevel(parts[0].substr(1, parts[0].size() - 2)) &&
               ParseTimestamp(parts[1])) {
      f.level = parts[0].substr(1, parts[0].size() - 2);
      f.time = parts[1];
      f.request_id = parts[2];
    }
  }
  if (!st.ok()) return st;
  Write(f, context, out);
  return Ok();
}

Status LambdaLogConverter::ConvertJson(std::string_view text, const LambdaContext& context,
                                       std::string& out) {
  scratch_.assign(text);
  scratch_.append(simdjson::SIMDJSON_PADDING, '\0');
  simdjson::dom::element root;
  if (auto e = dom_->parser.parse(scratch_.data(), text.size(), false).get(root)) {
    return Error(std::string("not JSON: ") + simdjson::error_message(e));
  }
  simdjson::dom::object o;
  if (root.get_object().get(o)) return Error("not a JSON object");
  LambdaFields f;
  const std::string_view type = StringAt(o, "type");
  if (type.starts_with("platform.")) {
    f.platform_type = type;
    f.time = StringAt(o, "time");
    if (f.time.empty() || !ParseTimestamp(f.time)) {
      return Error("Lambda platform event without a valid 'time' (RFC 3339)");
    }
    simdjson::dom::object record;
    if (o.at_key("record").get_object().get(record)) {
      return Error("Lambda platform event without a 'record' object");
    }
    if (type == "platform.start") {
      f.type = "START";
    } else if (type == "platform.runtimeDone") {
      f.type = "END";
    } else if (type == "platform.report") {
      f.type = "REPORT";
    } else if (type == "platform.initStart") {
      f.type = "INIT_START";
    } else {
      f.type = type;
    }
    f.request_id = StringAt(record, "requestId");
    f.version = StringAt(record, "version");
    if (f.version.empty()) f.version = StringAt(record, "functionVersion");
    f.function_name = StringAt(record, "functionName");
    f.status = StringAt(record, "status");
    f.runtime_version = StringAt(record, "runtimeVersion");
    f.runtime_version_arn = StringAt(record, "runtimeVersionArn");
    // Metrics are copied as the numbers they are; the record itself is kept whole.
    std::string numbers[5];
    simdjson::dom::object metrics;
    if (!record.at_key("metrics").get_object().get(metrics)) {
      const char* keys[5] = {"durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB",
                             "initDurationMs"};
      std::string_view* targets[5] = {&f.duration, &f.billed_duration, &f.memory_size,
                                      &f.max_memory_used, &f.init_duration};
      for (int i = 0; i < 5; ++i) {
        simdjson::dom::element v;
        if (metrics.at_key(keys[i]).get(v)) continue;
        if (!v.is_number()) {
          std::string m = "Lambda platform event: metric '";
          m += keys[i];
          m += "' is not a number";
          return Error(std::move(m));
        }
        numbers[i] = simdjson::minify(v);
        *targets[i] = numbers[i];
      }
    }
    f.record_json = simdjson::minify(record);
    Write(f, context, out);
    return Ok();
  }
  // An application's JSON log (the JSON log format: timestamp, level, message, requestId).
  f.type = "log";
  f.time = StringAt(o, "timestamp");
  if (!f.time.empty() && !ParseTimestamp(f.time)) f.time = {};
  f.level = StringAt(o, "level");
  f.request_id = StringAt(o, "requestId");
  f.app_json = std::string(text);
  Write(f, context, out);
  return Ok();
}

}  // namespace tuttle::ingest
