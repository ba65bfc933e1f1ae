#pragma once
// The compiled form of a contract's schema (internal to tuttle::contracts): what the loader
// builds from YAML and the checker walks over a record's JSON.

#include <hs.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tuttle::contracts {

// JSON types, as bits of Schema::types.
enum TypeBit : uint8_t {
  kTypeString = 1,
  kTypeNumber = 2,   // any number
  kTypeInteger = 4,  // a number without a fraction (1.0 counts, as in JSON Schema)
  kTypeBoolean = 8,
  kTypeObject = 16,
  kTypeArray = 32,
  kTypeNull = 64,
};

// A scalar of `enum` or `const`.
struct Literal {
  enum class Kind : uint8_t { kString, kNumber, kBool, kNull };
  Kind kind = Kind::kString;
  std::string text;  // as written (strings unquoted): for messages, and the string's value
  double number = 0;
  bool boolean = false;
};

struct Schema;
struct Property {
  std::string name;
  std::unique_ptr<Schema> schema;
};

struct Schema {
  uint8_t types = 0;  // TypeBit set; 0: any type
  std::vector<std::string> required;
  std::vector<Property> properties;
  bool additional_properties = true;
  bool has_enum = false;
  std::vector<Literal> enum_values;
  std::optional<Literal> constant;
  std::optional<double> minimum, maximum, exclusive_minimum, exclusive_maximum;
  std::string minimum_text, maximum_text, exclusive_minimum_text, exclusive_maximum_text;
  std::optional<uint64_t> min_length, max_length, min_items, max_items;  // lengths in code points
  int pattern = -1;  // PatternDatabase id
  std::string pattern_text;
  std::unique_ptr<Schema> items;  // every element of an array
};

// The `pattern`s of a contract set, one Hyperscan block-mode database each (UTF-8, unanchored
// search, as JSON Schema's ECMA-262 patterns are).
class PatternDatabase {
 public:
  PatternDatabase() = default;
  PatternDatabase(const PatternDatabase&) = delete;
  PatternDatabase& operator=(const PatternDatabase&) = delete;
  ~PatternDatabase();

  // Compiles `pattern`; its id, or -1 with Hyperscan's reason in `error`.
  int Add(const std::string& pattern, std::string& error);
  // A scratch fit for every database (hs_free_scratch it), or nullptr when there is none.
  hs_scratch_t* NewScratch() const;
  // Whether pattern `id` matches somewhere in `text` (valid UTF-8).
  bool Matches(int id, std::string_view text, hs_scratch_t* scratch) const;
  bool empty() const { return databases_.empty(); }

 private:
  std::vector<hs_database_t*> databases_;
  hs_scratch_t* prototype_ = nullptr;
};

}  // namespace tuttle::contracts
