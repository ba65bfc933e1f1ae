#include "tuttle/ingest/lambda_log_source.h"

#include <simdjson.h>

#include <cstdint>

#include "gzip.h"
#include "json_text.h"

namespace tuttle::ingest {
namespace {
// Nanoseconds since 1970 fit an int64 until April 2262.
constexpr int64_t kMaxMs = INT64_MAX / kNsPerMs;
}  // namespace

namespace internal {
struct LambdaEnvelopeDom {
  simdjson::dom::parser parser;
  std::string padded;
};
}  // namespace internal

LambdaLogSource::LambdaLogSource(std::unique_ptr<RecordSource> inner,
                                 LambdaLogSourceOptions options)
    : inner_(std::move(inner)),
      options_(std::move(options)),
      dom_(std::make_unique<internal::LambdaEnvelopeDom>()) {}

LambdaLogSource::~LambdaLogSource() = default;

Result<bool> LambdaLogSource::Next(RecordBatch& out) {
  in_.Clear();
  Result<bool> more = inner_->Next(in_);
  if (!more.ok()) return more;
  const auto& events = in_.stream_events();
  size_t next_event = 0;
  auto add_events_before = [&](size_t record) {
    for (; next_event < events.size() && events[next_event].before_record <= record;
         ++next_event) {
      StreamEvent copy = events[next_event];
      copy.source = out.InternSource(in_.sources()[copy.source]);
      out.AddStreamEvent(copy);
    }
  };
  out.RejectAllOf(in_);
  for (size_t i = 0; i < in_.size(); ++i) {
    add_events_before(i);
    RecordMeta meta = in_.meta(i);
    const std::string_view name = in_.sources()[meta.source];
    meta.source = out.InternSource(name);
    if (options_.applies_to && !options_.applies_to(name)) {
      out.Add(in_.bytes(i), meta);
      continue;
    }
    Convert(in_.bytes(i), meta, out);
  }
  add_events_before(in_.size());
  out.end_of_input = in_.end_of_input;
  return *more;
}

void LambdaLogSource::Convert(std::string_view bytes, const RecordMeta& meta, RecordBatch& out) {
  if (internal::IsGzip(bytes)) {
    ConvertGzip(bytes, bytes, meta, out);
    return;
  }
  const std::string_view trimmed = internal::Trim(bytes);
  if (internal::IsBase64Gzip(trimmed)) {
    if (Status st = internal::DecodeBase64(trimmed, decoded_); !st.ok()) {
      std::string reason = st.error().message();
      reason += " (base64 gzip input)";
      out.Reject(bytes, meta, std::move(reason));
      return;
    }
    if (!internal::IsGzip(decoded_)) {
      out.Reject(bytes, meta, "malformed gzip: the base64 input decodes to no gzip header");
      return;
    }
    ConvertGzip(decoded_, bytes, meta, out);
    return;
  }
  ConvertPlain(bytes, meta, out);
}

void LambdaLogSource::ConvertGzip(std::string_view gzip, std::string_view original,
                                  const RecordMeta& meta, RecordBatch& out) {
  size_t pos = 0;
  size_t total = 0;
  while (pos < gzip.size()) {
    const std::string_view rest = gzip.substr(pos);
    if (!internal::IsGzip(rest)) {
      out.Reject(original, meta,
                 "malformed gzip: " + std::to_string(rest.size()) +
                     " trailing byte(s) that start no gzip member");
      return;
    }
    Result<size_t> used = internal::InflateGzipMember(
        rest, options_.max_decompressed_bytes - total, inflated_);
    if (!used.ok()) {
      // Over the limit: name the limit of the whole input, not what the last member had left.
      std::string reason = used.error().message().starts_with("record too large")
                               ? "record too large: decompressed gzip over the limit of " +
                                     std::to_string(options_.max_decompressed_bytes) + " bytes"
                               : used.error().message();
      reason += " (CloudWatch Logs envelope)";
      out.Reject(original, meta, std::move(reason));
      return;
    }
    pos += *used;
    total += inflated_.size();
    ConvertPlain(inflated_, meta, out);
  }
}

void LambdaLogSource::ConvertPlain(std::string_view bytes, const RecordMeta& meta,
                                   RecordBatch& out) {
  const std::string_view text = internal::Trim(bytes);
  if (text.empty() || text.front() != '{') {
    Status st = converter_.ConvertLine(bytes, LambdaContext{}, record_);
    if (st.ok()) {
      out.Add(record_, meta);
    } else {
      out.Reject(bytes, meta, st.error().message());
    }
    return;
  }
  dom_->padded.assign(text);
  dom_->padded.append(simdjson::SIMDJSON_PADDING, '\0');
  simdjson::dom::object root;
  if (auto e = dom_->parser.parse(dom_->padded.data(), text.size(), false).get_object().get(root)) {
    std::string reason = "malformed JSON in Lambda log record: ";
    reason += simdjson::error_message(e);
    out.Reject(bytes, meta, std::move(reason));
    return;
  }
  std::string_view message_type;
  if (root.at_key("messageType").get_string().get(message_type)) {
    // Not an envelope: a platform event, an application log, or another format's record.
    std::string_view type;
    const bool platform = !root.at_key("type").get_string().get(type) &&
                          type.starts_with("platform.");
    if (!platform) {
      out.Add(bytes, meta);
      return;
    }
    Status st = converter_.Convert(text, LambdaContext{}, record_);
    if (st.ok()) {
      out.Add(record_, meta);
    } else {
      out.Reject(bytes, meta, st.error().message());
    }
    return;
  }
  if (message_type == "CONTROL_MESSAGE") return;
  if (message_type != "DATA_MESSAGE") {
    std::string reason = "CloudWatch Logs envelope with messageType '";
    reason += message_type.substr(0, 40);
    reason += "' (expected DATA_MESSAGE or CONTROL_MESSAGE)";
    out.Reject(bytes, meta, std::move(reason));
    return;
  }
  LambdaContext context;
  simdjson::dom::array log_events;
  if (root.at_key("logGroup").get_string().get(context.log_group) ||
      root.at_key("logStream").get_string().get(context.log_stream) ||
      root.at_key("logEvents").get_array().get(log_events)) {
    out.Reject(bytes, meta,
               "CloudWatch Logs envelope without string 'logGroup' and 'logStream' and an "
               "array 'logEvents'");
    return;
  }
  context.function_name = LambdaFunctionFromLogGroup(context.log_group);
  if (root.at_key("owner").get_string().get(context.owner)) context.owner = {};
  size_t index = 0;
  for (simdjson::dom::element event : log_events) {
    ++index;
    simdjson::dom::object e;
    std::string_view message;
    int64_t ms = 0;
    if (event.get_object().get(e) || e.at_key("message").get_string().get(message) ||
        e.at_key("timestamp").get_int64().get(ms) || ms < 0 || ms > kMaxMs) {
      std::string reason = "CloudWatch Logs envelope: log event ";
      reason += std::to_string(index);
      reason += " lacks a string 'message' or a 'timestamp' (ms since 1970, before 2262)";
      out.Reject(simdjson::minify(event), meta, std::move(reason));
      continue;
    }
    // The id is optional: without it, the record has no eventId.
    if (e.at_key("id").get_string().get(context.event_id)) context.event_id = {};
    time_ = FormatTimestamp(ms * kNsPerMs);
    context.time = time_;
    Status st = converter_.Convert(message, context, record_);
    if (st.ok()) {
      out.Add(record_, meta);
    } else {
      std::string reason = "CloudWatch Logs envelope: log event ";
      reason += std::to_string(index);
      reason += ": ";
      reason += st.error().message();
      out.Reject(message, meta, std::move(reason));
    }
  }
}

}  // namespace tuttle::ingest
