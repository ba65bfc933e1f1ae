#pragma once
// The format adapters of JsonRecordParser, one small unit each, in a table (kAdapters).
//
// An adapter names the record paths it reads (interned into the FieldCatalog, so the one-pass
// walker collects their values along with the rules'), a detection predicate over those values,
// and a Read function that sets the event time and entities and may add derived fields (values
// under paths of its own, e.g. `eventNameBase`). The parser walks a record once, then asks the
// adapters in table order which one it is (or only the pinned one), then lets that one read it.
//
// Internal to the ingest library; docs/formats.md is the user-facing description.

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tuttle/engine/event.h"
#include "tuttle/engine/field_table.h"
#include "tuttle/engine/result.h"

namespace tuttle::ingest::adapters {

// The walked record: its FieldTable and, per catalogued path, where its first value is, so an
// adapter's lookups cost O(1) rather than a scan of the table.
class RecordState {
 public:
  void Reset(size_t catalog_size) {
    for (const FieldValue& v : table_.values()) first_[v.path] = 0;
    table_.Clear();
    owned_used_ = 0;
    if (first_.size() < catalog_size) first_.resize(catalog_size, 0);
  }
  void Add(PathId path, ValueKind kind, std::string_view text) {
    table_.Add(path, kind, text);
    if (first_[path] == 0) first_[path] = static_cast<uint32_t>(table_.size());
  }
  const FieldValue* Find(PathId path) const {
    if (path == kNoPath || path >= first_.size() || first_[path] == 0) return nullptr;
    return &table_.values()[first_[path] - 1];
  }
  const FieldTable& table() const { return table_; }
  // Keeps `text` until the next Reset(), for values an adapter composes (rare: most are views
  // into the record). Buffers are reused, so steady state allocates nothing.
  std::string_view Own(std::string_view text) {
    if (owned_used_ == owned_.size()) owned_.emplace_back();
    std::string& slot = owned_[owned_used_++];
    slot.assign(text);
    return slot;
  }

 private:
  FieldTable table_;
  std::vector<uint32_t> first_;  // per path: 1 + index of its first value, 0 for none
  std::deque<std::string> owned_;  // a deque: growing it moves no string
  size_t owned_used_ = 0;
};

// Walks a JSON document embedded in the record as a string (AKS's `properties.log`) into the
// same table, at the catalog's root. Errors read "malformed JSON: ...".
class NestedWalker {
 public:
  virtual ~NestedWalker() = default;
  virtual Status Walk(std::string_view json, std::string_view where) = 0;
};

// Resolved ids of every adapter's paths: ids[adapter][field].
using AdapterPathIds = std::vector<std::vector<PathId>>;

// What an adapter sees: the values of the paths it registered, addressed by their index in its
// own field list.
class RecordView {
 public:
  RecordView(RecordState& state, const AdapterPathIds& ids, size_t adapter, NestedWalker* nested)
      : state_(state), all_ids_(ids), ids_(ids[adapter]), nested_(nested) {}

  // The same record as another adapter sees it (AKS reads it as Kubernetes audit).
  RecordView As(size_t adapter) const { return RecordView(state_, all_ids_, adapter, nested_); }

  const FieldValue* Get(size_t f) const { return state_.Find(ids_[f]); }
  bool Has(size_t f) const { return Get(f) != nullptr; }
  bool IsObject(size_t f) const {
    const FieldValue* v = Get(f);
    return v != nullptr && v->kind == ValueKind::kObject;
  }
  bool IsString(size_t f) const {
    const FieldValue* v = Get(f);
    return v != nullptr && v->kind == ValueKind::kString;
  }
  bool IsNumber(size_t f) const {
    const FieldValue* v = Get(f);
    return v != nullptr && v->kind == ValueKind::kNumber;
  }
  // The first value when it is a string, else empty.
  std::string_view Str(size_t f) const {
    const FieldValue* v = Get(f);
    return v != nullptr && v->kind == ValueKind::kString ? v->text : std::string_view();
  }
  // The first non-empty string of the fields, in order.
  template <typename... F>
  std::string_view FirstOf(F... f) const {
    std::string_view out;
    ((out.empty() ? (void)(out = Str(f)) : (void)0), ...);
    return out;
  }
  PathId Id(size_t f) const { return ids_[f]; }
  // A composed value that lives as long as the record's fields (RecordState::Own).
  std::string_view Own(std::string_view text) { return state_.Own(text); }
  const FieldTable& table() const { return state_.table(); }

  // Adds a derived string value under field f (a view that must outlive the event: a part of
  // another value, or a literal).
  void Add(size_t f, std::string_view text) {
    if (ids_[f] != kNoPath) state_.Add(ids_[f], ValueKind::kString, text);
  }
  Status WalkNested(std::string_view json, std::string_view where) {
    return nested_->Walk(json, where);
  }

 private:
  RecordState& state_;
  const AdapterPathIds& all_ids_;
  const std::vector<PathId>& ids_;
  NestedWalker* nested_;
};

struct Adapter {
  std::string_view name;  // Event::format, and the name --format pins
  LogSource log_source;
  std::span<const std::string_view> fields;  // dotted paths, interned by RegisterAdapterFields
  std::string_view time_description;         // "'stageTimestamp' (RFC 3339)", for errors
  bool (*detect)(const RecordView&);
  // Sets event.time (kNoTime when the record has none), event.entities and derived fields. An
  // error is a record of this format that cannot be read (AKS with a malformed inner log).
  Status (*read)(RecordView&, Event&);
};

// Every adapter, in detection order (more specific ones first).
std::span<const Adapter> All();

// A field whose value an adapter takes verbatim as an entity (not parts of it, not one of
// several candidates it picks by other fields): a correlation grouped by it groups by the entity.
struct EntityPath {
  std::string_view path;
  EntityRole role;
};
std::span<const EntityPath> EntityPaths();

// The index in All() of the Kubernetes audit adapter (AKS reads its inner event as one).
inline constexpr size_t kK8sAuditIndex = 0;

// Helpers shared by the adapters and their tests.
//
// CloudTrail's eventName without the API version suffix Lambda adds:
// "CreateFunction20150331" -> "CreateFunction", "UpdateFunctionCode20150331v2" ->
// "UpdateFunctionCode"; other names unchanged.
std::string_view EventNameBase(std::string_view event_name);
// A Unix time written as a JSON number in `unit` nanoseconds (1 for nanoseconds, kNsPerSecond
// for seconds, with a fraction allowed), or kNoTime.
TimeNs ParseEpoch(std::string_view number, TimeNs unit);
// The path segment after `key` in a "/"-separated id, case-insensitively (Azure resource ids are
// upper-cased by some services): ("/SUBSCRIPTIONS/abc/...", "subscriptions") -> "abc".
std::string_view SegmentAfter(std::string_view id, std::string_view key);

}  // namespace tuttle::ingest::adapters
