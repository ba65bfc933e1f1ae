#include "tuttle/ingest/json_record_parser.h"

#include <simdjson.h>

#include <cstdlib>

#include <fmt/format.h>

#include "tuttle/engine/field_table.h"
#include "tuttle/engine/hash.h"
#include "tuttle/engine/record.h"

namespace tuttle::ingest {
namespace {

namespace od = simdjson::ondemand;
static_assert(kRecordPadding >= simdjson::SIMDJSON_PADDING);

// Nested arrays deeper than this are not followed (simdjson itself caps depth at 1024).
constexpr int kMaxDepth = 128;

constexpr std::string_view kTrue = "true";
constexpr std::string_view kFalse = "false";

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' ||
                        s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Fills a FieldTable with the catalogued fields of one JSON document.
class Walker {
 public:
  Walker(const FieldCatalog& catalog, FieldTable& table) : catalog_(catalog), table_(table) {}

  simdjson::error_code Object(od::object object, FieldCatalog::NodeId node, int depth) {
    for (auto field : object) {
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return e;
      const FieldCatalog::NodeId child = catalog_.Child(node, key);
      if (child == FieldCatalog::kNoNode) continue;  // On-Demand skips the value
      od::value value;
      if (auto e = field.value().get(value)) return e;
      if (auto e = Value(value, child, depth + 1)) return e;
    }
    return simdjson::SUCCESS;
  }

 private:
  simdjson::error_code Value(od::value value, FieldCatalog::NodeId node, int depth) {
    if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
    const PathId path = catalog_.PathAt(node);
    od::json_type type;
    if (auto e = value.type().get(type)) return e;
    switch (type) {
      case od::json_type::object: {
        if (path != kNoPath) table_.Add(path, ValueKind::kObject, {});
        if (!catalog_.HasChildren(node)) return simdjson::SUCCESS;
        od::object object;
        if (auto e = value.get_object().get(object)) return e;
        return Object(object, node, depth);
      }
      case od::json_type::array: {
        od::array array;
        if (auto e = value.get_array().get(array)) return e;
        bool empty = true;
        for (auto element : array) {
          od::value v;
          if (auto e = element.get(v)) return e;
          empty = false;
          if (auto e = Value(v, node, depth + 1)) return e;
        }
        if (empty && path != kNoPath) table_.Add(path, ValueKind::kArray, {});
        return simdjson::SUCCESS;
      }
      case od::json_type::string: {
        if (path == kNoPath) return simdjson::SUCCESS;
        std::string_view s;
        if (auto e = value.get_string().get(s)) return e;
        table_.Add(path, ValueKind::kString, s);
        return simdjson::SUCCESS;
      }
      case od::json_type::number: {
        if (path == kNoPath) return simdjson::SUCCESS;
        std::string_view raw;
        raw = value.raw_json_token();
        table_.Add(path, ValueKind::kNumber, TrimRight(raw));
        return simdjson::SUCCESS;
      }
      case od::json_type::boolean: {
        if (path == kNoPath) return simdjson::SUCCESS;
        bool b;
        if (auto e = value.get_bool().get(b)) return e;
        table_.Add(path, ValueKind::kBool, b ? kTrue : kFalse);
        return simdjson::SUCCESS;
      }
      case od::json_type::null: {
        if (path == kNoPath) return simdjson::SUCCESS;
        bool is_null;
        if (auto e = value.is_null().get(is_null)) return e;
        table_.Add(path, ValueKind::kNull, {});
        return simdjson::SUCCESS;
      }
    }
    return simdjson::SUCCESS;
  }

  const FieldCatalog& catalog_;
  FieldTable& table_;
};

class ParserWorker final : public RecordParser::Worker {
 public:
  ParserWorker(std::shared_ptr<const FieldCatalog> catalog, const JsonRecordParser::Paths& paths)
      : catalog_(std::move(catalog)), paths_(paths) {}

  Status Parse(std::string_view record, const RecordMeta& meta,
               RecordParser::EventHandler& handler) override {
    table_.Clear();
    if (TrimRight(record).empty()) return Error("empty record");
    od::document doc;
    if (auto e = parser_.iterate(record.data(), record.size(), record.size() + kRecordPadding)
                     .get(doc)) {
      return Error(fmt::format("malformed JSON: {}", simdjson::error_message(e)));
    }
    od::object root;
    if (auto e = doc.get_object().get(root)) {
      return Error(fmt::format("malformed JSON or not an object: {}", simdjson::error_message(e)));
    }
    Walker walker(*catalog_, table_);
    if (auto e = walker.Object(root, FieldCatalog::kRoot, 0)) {
      return Error(fmt::format("malformed JSON: {}", simdjson::error_message(e)));
    }
    // Past the object, the document must end: "{...}{...}" on one line is not one record.
    if (!doc.current_location().error()) {
      return Error("malformed JSON: trailing content after the object");
    }

    Event event;
    event.raw = record;
    event.meta = &meta;
    event.record_id = HashBytes(record);
    event.fields = &table_;
    Status st = Classify(event);
    if (!st.ok()) return st;
    if (event.time == kNoTime) {
      if (meta.transport_time == kNoTime) {
        return Error(fmt::format("no event time: {} record without a valid '{}' (RFC 3339)",
                                 event.format, time_field_));
      }
      event.time = meta.transport_time;
    }
    handler.OnEvent(event);
    return Ok();
  }

 private:
  const FieldValue* String(PathId p) const {
    const FieldValue* v = table_.Find(p);
    return v != nullptr && v->kind == ValueKind::kString ? v : nullptr;
  }

  TimeNs Time(PathId p) const {
    const FieldValue* v = String(p);
    if (v == nullptr) return kNoTime;
    auto t = ParseTimestamp(v->text);
    return t ? *t : kNoTime;
  }

  Status Classify(Event& e) {
    const FieldValue* kind = String(paths_.kind);
    if (kind != nullptr && kind->text == "Event" && table_.Find(paths_.audit_id) != nullptr) {
      e.format = "k8s_audit";
      e.log_source = LogSource{"kubernetes", "audit", "application"};
      time_field_ = "stageTimestamp";
      e.time = Time(paths_.stage_timestamp);
      if (e.time == kNoTime) e.time = Time(paths_.request_received_timestamp);
      if (e.time == kNoTime) e.time = Time(paths_.timestamp);
      return Ok();
    }
    const FieldValue* output_fields = table_.Find(paths_.output_fields);
    if (output_fields != nullptr && output_fields->kind == ValueKind::kObject &&
        String(paths_.rule) != nullptr && table_.Find(paths_.priority) != nullptr) {
      e.format = "falco";
      e.log_source = LogSource{"falco", {}, {}};
      time_field_ = "time";
      e.time = Time(paths_.time);
      return Ok();
    }
    if (String(paths_.event_version) != nullptr && String(paths_.event_source) != nullptr &&
        table_.Find(paths_.event_time) != nullptr) {
      e.format = "cloudtrail";
      e.log_source = LogSource{"aws", "cloudtrail", {}};
      time_field_ = "eventTime";
      e.time = Time(paths_.event_time);
      return Ok();
    }
    if (table_.Find(paths_.records) != nullptr) {
      return Error(
          "unsupported format: CloudTrail delivery batch ({\"Records\": [...]}) is not split yet");
    }
    return Error(
        "unrecognized record format: expected a Kubernetes audit event, a Falco alert or a "
        "CloudTrail record");
  }

  std::shared_ptr<const FieldCatalog> catalog_;
  const JsonRecordParser::Paths& paths_;
  od::parser parser_;
  FieldTable table_;
  std::string_view time_field_;
};

PathId Require(const FieldCatalog& catalog, std::string_view path) {
  const PathId id = catalog.Find(path);
  // REQUIRES of the constructor: RegisterAdapterFields ran on this catalog.
  if (id == kNoPath) std::abort();
  return id;
}

}  // namespace

void RegisterAdapterFields(FieldCatalog& c) {
  for (std::string_view p :
       {"kind", "apiVersion", "auditID", "stageTimestamp", "requestReceivedTimestamp", "timestamp",
        "output_fields", "rule", "priority", "time", "eventVersion", "eventSource", "eventTime",
        "Records"}) {
    c.Intern(p);
  }
}

JsonRecordParser::JsonRecordParser(std::shared_ptr<const FieldCatalog> catalog)
    : catalog_(std::move(catalog)) {
  const FieldCatalog& c = *catalog_;
  paths_ = Paths{Require(c, "kind"),          Require(c, "apiVersion"),
                 Require(c, "auditID"),       Require(c, "stageTimestamp"),
                 Require(c, "requestReceivedTimestamp"), Require(c, "timestamp"),
                 Require(c, "output_fields"), Require(c, "rule"),
                 Require(c, "priority"),      Require(c, "time"),
                 Require(c, "eventVersion"),  Require(c, "eventSource"),
                 Require(c, "eventTime"),     Require(c, "Records")};
}

std::string_view JsonRecordParser::SimdKernel() {
  return SIMDJSON_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION);
}

std::unique_ptr<RecordParser::Worker> JsonRecordParser::NewWorker() const {
  return std::make_unique<ParserWorker>(catalog_, paths_);
}

}  // namespace tuttle::ingest
