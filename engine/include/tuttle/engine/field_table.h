#pragma once
// FieldTable: the values of catalogued fields found in one record, as views into the record or
// into the parser's buffer. Valid only while the record is being processed; copy what you keep.
//
// What a walker adds for a catalogued path (ingest's JsonRecordParser does exactly this):
//   - a scalar: one value (kString, kNumber, kBool or kNull);
//   - an object: one kObject value (then, for catalogued paths below it, their values);
//   - an array: one value per element, in order, as if each element stood there alone (nested
//     arrays are flattened); an empty array: one kArray value.
// So a path is present (Sigma `exists`) exactly when the table holds at least one value for it,
// and a JSON null is present with kind kNull.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "tuttle/engine/field_catalog.h"

namespace tuttle {

enum class ValueKind : uint8_t { kString, kNumber, kBool, kNull, kObject, kArray };

struct FieldValue {
  PathId path = kNoPath;
  ValueKind kind = ValueKind::kString;
  // kString: the unescaped string; kNumber: the number as written; kBool: "true"/"false";
  // kNull, kObject, kArray: empty.
  std::string_view text;
};

class FieldTable {
 public:
  void Clear() { values_.clear(); }
  void Add(PathId path, ValueKind kind, std::string_view text) {
    values_.push_back(FieldValue{path, kind, text});
  }
  std::span<const FieldValue> values() const { return values_; }
  size_t size() const { return values_.size(); }

  // The first value of `path`, or nullptr. Arrays give one value per element, in order.
  const FieldValue* Find(PathId path) const {
    for (const auto& v : values_) {
      if (v.path == path) return &v;
    }
    return nullptr;
  }
  // The first scalar (string, number, bool) value of `path`, or nullptr.
  const FieldValue* FindScalar(PathId path) const {
    for (const auto& v : values_) {
      if (v.path == path && (v.kind == ValueKind::kString || v.kind == ValueKind::kNumber ||
                             v.kind == ValueKind::kBool)) {
        return &v;
      }
    }
    return nullptr;
  }

 private:
  std::vector<FieldValue> values_;
};

}  // namespace tuttle
