#include "tuttle/ingest/json_record_parser.h"

#include <simdjson.h>

#include <cstdlib>

#include <fmt/format.h>

#include "adapters.h"
#include "gzip.h"
#include "tuttle/engine/field_table.h"
#include "tuttle/engine/hash.h"
#include "tuttle/engine/record.h"
#include "tuttle/engine/strings.h"

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

using adapters::Adapter;
using adapters::RecordState;

// Fills a FieldTable with the catalogued fields of one JSON document. With `envelopes`, the
// elements of a top-level "Records" or "records" array are not walked but collected (as raw
// views of their bytes): the record may be a delivery batch. A top-level `tuttle` key is not
// read: `tuttle.*` (the tenant, the entities, contract results) is the parser's to set.
class Walker {
 public:
  Walker(const FieldCatalog& catalog, RecordState& table,
         std::vector<std::string_view>* envelopes = nullptr)
      : catalog_(catalog), table_(table), envelopes_(envelopes) {}

  bool saw_envelope() const { return saw_envelope_; }

  simdjson::error_code Object(od::object object, FieldCatalog::NodeId node, int depth) {
    for (auto field : object) {
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return e;
      if (envelopes_ != nullptr && depth == 0 && (key == "Records" || key == "records")) {
        od::value value;
        if (auto e = field.value().get(value)) return e;
        od::json_type type;
        if (auto e = value.type().get(type)) return e;
        if (type == od::json_type::array) {
          if (auto e = Envelope(value)) return e;
          continue;
        }
        if (auto e = Value(value, catalog_.Child(node, key), depth + 1)) return e;
        continue;
      }
      const FieldCatalog::NodeId child = catalog_.Child(node, key);
      if (child == FieldCatalog::kNoNode) continue;  // On-Demand skips the value
      // `tuttle.*` holds derived values (tenant, contracts) only the parser writes.
      if (depth == 0 && key.substr(0, 6) == "tuttle" && (key.size() == 6 || key[6] == '.')) {
        continue;
      }
      od::value value;
      if (auto e = field.value().get(value)) return e;
      if (auto e = Value(value, child, depth + 1)) return e;
    }
    return simdjson::SUCCESS;
  }

 private:
  simdjson::error_code Envelope(od::value value) {
    saw_envelope_ = true;
    od::array array;
    if (auto e = value.get_array().get(array)) return e;
    for (auto element : array) {
      od::value v;
      if (auto e = element.get(v)) return e;
      // Any element's bytes: one that is not an object is then rejected on its own.
      od::json_type type;
      if (auto e = v.type().get(type)) return e;
      std::string_view raw;
      if (type == od::json_type::object) {
        od::object o;
        if (auto e = v.get_object().get(o)) return e;
        if (auto e = o.raw_json().get(raw)) return e;
      } else if (type == od::json_type::array) {
        od::array a;
        if (auto e = v.get_array().get(a)) return e;
        if (auto e = a.raw_json().get(raw)) return e;
      } else {
        raw = v.raw_json_token();
      }
      envelopes_->push_back(TrimRight(raw));
    }
    return simdjson::SUCCESS;
  }

  simdjson::error_code Value(od::value value, FieldCatalog::NodeId node, int depth) {
    if (node == FieldCatalog::kNoNode) return simdjson::SUCCESS;
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
  RecordState& table_;
  std::vector<std::string_view>* envelopes_;
  bool saw_envelope_ = false;
};

// The reason for a simdjson error: invalid UTF-8 is named as such (simdjson validates the whole
// document before any value is read), anything else is malformed JSON.
std::string JsonError(simdjson::error_code e, std::string_view where) {
  std::string out = e == simdjson::UTF8_ERROR ? "invalid UTF-8: " : "malformed JSON: ";
  if (!where.empty()) {
    out += where;
    out += ": ";
  }
  out += simdjson::error_message(e);
  return out;
}


class ParserWorker final : public RecordParser::Worker, public adapters::NestedWalker {
 public:
  ParserWorker(std::shared_ptr<const FieldCatalog> catalog, const JsonRecordParserOptions& options,
               const adapters::AdapterPathIds& paths, PathId tenant_path,
               const PathId (&contract_paths)[3])
      : catalog_(std::move(catalog)), options_(options), paths_(paths), tenant_path_(tenant_path),
        contract_paths_{contract_paths[0], contract_paths[1], contract_paths[2]},
        checker_(options.contracts ? options.contracts->NewChecker() : nullptr) {}

  void BeginBatch(const std::vector<std::string>& sources) override { sources_ = &sources; }

  Status Parse(std::string_view record, const RecordMeta& meta,
               RecordParser::EventHandler& handler) override {
    if (internal::IsGzip(record)) {
      // A gzip-compressed record (a CloudTrail S3 delivery file as it is stored): read what it
      // holds, no longer than a record may be. Its events' raw bytes are the decompressed ones.
      if (record.size() > options_.max_record_bytes) {
        return Error(fmt::format("record too large: {} bytes of gzip, over the limit of {} bytes",
                                 record.size(), options_.max_record_bytes));
      }
      Result<size_t> used =
          internal::InflateGzipMember(record, options_.max_record_bytes, inflated_);
      if (!used.ok()) return used.error();
      if (*used != record.size()) {
        return Error(fmt::format("malformed gzip: {} bytes after the gzip member",
                                 record.size() - *used));
      }
      const size_t size = inflated_.size();
      inflated_.append(kRecordPadding, '\0');
      record = std::string_view(inflated_.data(), size);
    }
    if (record.size() > options_.max_record_bytes) {
      return Error(fmt::format("record too large: {} bytes, over the limit of {} bytes",
                               record.size(), options_.max_record_bytes));
    }
    if (TrimRight(record).empty()) return Error("empty record");
    const char* const padded_end = record.data() + record.size() + kRecordPadding;
    envelope_.clear();
    bool saw_envelope = false;
    if (Status st = WalkRecord(record, padded_end, &saw_envelope); !st.ok()) return st;

    auto adapter = Detect(meta);
    if (!saw_envelope || adapter.ok()) {
      if (!adapter.ok()) return adapter.error();
      return Emit(*adapter, record, HashBytes(record), meta, handler);
    }
    // A delivery batch: each element on its own. The element views point into `record`, which
    // stays put while the parser's buffers are reused.
    const size_t n = envelope_.size();
    for (size_t i = 0; i < n; ++i) {
      const std::string_view sub = envelope_[i];
      Hasher h;
      h.Add(sub);
      h.Add(static_cast<int64_t>(i));
      Status st = WalkRecord(sub, padded_end, nullptr);
      if (st.ok()) {
        auto a = Detect(meta);
        st = a.ok() ? Emit(*a, sub, h.Finish(), meta, handler) : Status(a.error());
      }
      if (!st.ok()) {
        handler.OnRejectedPart(
            sub, fmt::format("{} (element {} of {} in the delivery batch)", st.error().message(),
                             i, n));
      }
    }
    return Ok();
  }

  // AKS: the Kubernetes audit event inside properties.log.
  Status Walk(std::string_view json, std::string_view where) override {
    nested_.assign(json);
    nested_.append(kRecordPadding, '\0');
    od::document doc;
    if (auto e = nested_parser_.iterate(nested_.data(), json.size(), nested_.size()).get(doc)) {
      return Error(JsonError(e, where));
    }
    od::object root;
    if (auto e = doc.get_object().get(root)) return Error(JsonError(e, where));
    Walker walker(*catalog_, state_);
    if (auto e = walker.Object(root, FieldCatalog::kRoot, 0)) return Error(JsonError(e, where));
    if (!doc.current_location().error()) {
      return Error(fmt::format("malformed JSON: {}: trailing content after the object", where));
    }
    return Ok();
  }

 private:
  // Walks one JSON object (a record, or an element of a delivery batch) into state_.
  // `padded_end`: where the readable bytes after `json` end.
  Status WalkRecord(std::string_view json, const char* padded_end, bool* saw_envelope) {
    state_.Reset(catalog_->size());
    od::document doc;
    const size_t capacity = static_cast<size_t>(padded_end - json.data());
    if (auto e = parser_.iterate(json.data(), json.size(), capacity).get(doc)) {
      return Error(JsonError(e, {}));
    }
    od::object root;
    if (auto e = doc.get_object().get(root)) {
      if (e == simdjson::INCORRECT_TYPE) {
        return Error("malformed JSON: not an object (a record is one JSON object)");
      }
      return Error(JsonError(e, {}));
    }
    Walker walker(*catalog_, state_,
                  saw_envelope != nullptr ? &envelope_ : nullptr);
    if (auto e = walker.Object(root, FieldCatalog::kRoot, 0)) return Error(JsonError(e, {}));
    // Past the object, the document must end: "{...}{...}" on one line is not one record.
    if (!doc.current_location().error()) {
      return Error("malformed JSON: trailing content after the object");
    }
    if (saw_envelope != nullptr) *saw_envelope = walker.saw_envelope();
    return Ok();
  }

  Result<size_t> Detect(const RecordMeta& meta) {
    const auto all = adapters::All();
    if (meta.format != 0) {
      const size_t i = meta.format - 1u;
      if (i >= all.size()) return Error(fmt::format("format mismatch: no format {}", meta.format));
      adapters::RecordView view(state_, paths_, i, this);
      if (all[i].detect(view)) return i;
      return Error(fmt::format(
          "format mismatch: the record is not {} (the format pinned for its source)",
          all[i].name));
    }
    for (size_t i = 0; i < all.size(); ++i) {
      adapters::RecordView view(state_, paths_, i, this);
      if (all[i].detect(view)) return i;
    }
    std::string names;
    for (const Adapter& a : all) {
      if (!names.empty()) names += ", ";
      names += a.name;
    }
    return Error(fmt::format("unrecognized record format: not one of {}", names));
  }

  Status Emit(size_t adapter, std::string_view raw, Hash128 id, const RecordMeta& meta,
              RecordParser::EventHandler& handler) {
    const Adapter& a = adapters::All()[adapter];
    Event event;
    event.raw = raw;
    event.meta = &meta;
    event.record_id = id;
    event.format = a.name;
    event.log_source = a.log_source;
    if (sources_ != nullptr && meta.source < sources_->size()) {
      event.source = (*sources_)[meta.source];
    }
    adapters::RecordView view(state_, paths_, adapter, this);
    if (Status st = a.read(view, event); !st.ok()) return st;
    // A tenant the configuration fixes for the source wins over the one the record names.
    event.tenant = meta.tenant != 0 && meta.tenant <= options_.tenants.size()
                       ? std::string_view(options_.tenants[meta.tenant - 1u])
                       : event.entities.tenant;
    // Also when empty: a correlation grouped by it must not drop the events of no tenant.
    state_.Add(tenant_path_, ValueKind::kString, event.tenant);
    // Each entity under tuttle.entity.<name>, so rules and correlations join sources on it.
    PathId entity_path = tenant_path_ + 1;
    event.entities.ForEach([&](std::string_view, std::string_view value) {
      if (!value.empty()) state_.Add(entity_path, ValueKind::kString, value);
      ++entity_path;
    });
    event.fields = &state_.table();
    if (event.time == kNoTime) {
      if (meta.transport_time == kNoTime) {
        return Error(fmt::format("no event time: {} record without a valid {}", a.name,
                                 a.time_description));
      }
      event.time = meta.transport_time;
    }
    if (checker_ != nullptr) return EmitChecked(event, handler);
    handler.OnEvent(event);
    return Ok();
  }

  // The event, and when its record breaks the contract that selects it, the violation event.
  Status EmitChecked(Event& event, RecordParser::EventHandler& handler) {
    violations_.clear();
    const contracts::Contract* contract = checker_->Check(event, violations_);
    if (contract == nullptr || violations_.empty()) {
      handler.OnEvent(event);
      return Ok();
    }
    state_.Add(contract_paths_[0], ValueKind::kString, contract->name);
    state_.Add(contract_paths_[1], ValueKind::kString, event.entities.function_name);
    details_.clear();
    for (const std::string& v : violations_) {
      details_.push_back(v);
      state_.Add(contract_paths_[2], ValueKind::kString, v);
    }
    handler.OnEvent(event);
    Event violation = event;
    violation.log_source = kContractLogSource;
    violation.derived = true;
    violation.details = details_;
    handler.OnEvent(violation);
    return Ok();
  }

  std::shared_ptr<const FieldCatalog> catalog_;
  const JsonRecordParserOptions& options_;
  const adapters::AdapterPathIds& paths_;
  PathId tenant_path_;  // the entity paths follow it (RegisterAdapterFields)
  const std::vector<std::string>* sources_ = nullptr;  // BeginBatch
  od::parser parser_;
  od::parser nested_parser_;  // its strings must not overwrite the outer record's
  std::string nested_;        // the nested document, padded
  RecordState state_;
  std::vector<std::string_view> envelope_;
  std::string inflated_;  // a gzip-compressed record, decompressed and padded
  PathId contract_paths_[3];
  std::unique_ptr<contracts::ContractSet::Checker> checker_;  // nullptr: no contracts
  std::vector<std::string> violations_;
  std::vector<std::string_view> details_;  // views of violations_
};

}  // namespace

void RegisterAdapterFields(FieldCatalog& c) {
  for (const Adapter& a : adapters::All()) {
    for (std::string_view p : a.fields) c.Intern(p);
  }
  c.Intern(kTenantPath);
  Entities names;
  names.ForEach([&](std::string_view name, std::string_view) {
    c.Intern(Cat(std::string(kEntityPathPrefix), name));
  });
  c.Intern(kContractNamePath);
  c.Intern(kContractFunctionPath);
  c.Intern(kContractViolationPath);
}

EntityRole EntityRoleOfPath(std::string_view path) {
  if (path == kTenantPath) return EntityRole::kOwner;
  if (path.starts_with(kEntityPathPrefix)) {
    // Entities::ForEach names the members in the order of their roles, from kCluster on.
    const std::string_view name = path.substr(kEntityPathPrefix.size());
    EntityRole role = EntityRole::kNone;
    auto next = static_cast<uint8_t>(EntityRole::kCluster);
    Entities names;
    names.ForEach([&](std::string_view n, std::string_view) {
      if (n == name) role = static_cast<EntityRole>(next);
      ++next;
    });
    return role;
  }
  if (path == kContractFunctionPath) return EntityRole::kFunctionName;
  for (const adapters::EntityPath& e : adapters::EntityPaths()) {
    if (e.path == path) return e.role;
  }
  return EntityRole::kNone;
}

std::vector<std::string_view> JsonRecordParser::FormatNames() {
  std::vector<std::string_view> out;
  for (const Adapter& a : adapters::All()) out.push_back(a.name);
  return out;
}

std::optional<uint16_t> JsonRecordParser::FormatId(std::string_view name) {
  const auto all = adapters::All();
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].name == name) return static_cast<uint16_t>(i + 1);
  }
  return std::nullopt;
}

JsonRecordParser::JsonRecordParser(std::shared_ptr<const FieldCatalog> catalog,
                                   JsonRecordParserOptions options)
    : catalog_(std::move(catalog)), options_(options) {
  for (const Adapter& a : adapters::All()) {
    std::vector<PathId> ids;
    for (std::string_view p : a.fields) {
      const PathId id = catalog_->Find(p);
      // REQUIRES of the constructor: RegisterAdapterFields ran on this catalog.
      if (id == kNoPath) std::abort();
      ids.push_back(id);
    }
    adapter_paths_.push_back(std::move(ids));
  }
  // REQUIRES of the constructor: the tenant path, then the entity paths, interned in a row.
  tenant_path_ = catalog_->Find(kTenantPath);
  if (tenant_path_ == kNoPath) std::abort();
  PathId next = tenant_path_ + 1;
  Entities names;
  names.ForEach([&](std::string_view name, std::string_view) {
    if (catalog_->Find(Cat(std::string(kEntityPathPrefix), name)) != next++) std::abort();
  });
  const std::string_view contract_paths[] = {kContractNamePath, kContractFunctionPath,
                                             kContractViolationPath};
  for (size_t i = 0; i < 3; ++i) {
    contract_paths_[i] = catalog_->Find(contract_paths[i]);
    if (contract_paths_[i] == kNoPath) std::abort();
  }
}

std::string_view JsonRecordParser::SimdKernel() {
  return SIMDJSON_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION);
}

std::unique_ptr<RecordParser::Worker> JsonRecordParser::NewWorker() const {
  return std::make_unique<ParserWorker>(catalog_, options_, adapter_paths_,
                                        tenant_path_,
                                        contract_paths_);
}

}  // namespace tuttle::ingest
