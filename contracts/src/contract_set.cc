#include "tuttle/contracts/contract_set.h"

#include <simdjson.h>

#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include "schema.h"
#include "tuttle/engine/record.h"

namespace tuttle::contracts {

static_assert(kRecordPadding >= simdjson::SIMDJSON_PADDING);

PatternDatabase::~PatternDatabase() {
  for (hs_database_t* db : databases_) hs_free_database(db);
  if (prototype_ != nullptr) hs_free_scratch(prototype_);
}

int PatternDatabase::Add(const std::string& pattern, std::string& error) {
  hs_database_t* db = nullptr;
  hs_compile_error_t* compile_error = nullptr;
  const unsigned flags = HS_FLAG_UTF8 | HS_FLAG_ALLOWEMPTY | HS_FLAG_SINGLEMATCH;
  if (hs_compile(pattern.c_str(), flags, HS_MODE_BLOCK, nullptr, &db, &compile_error) !=
      HS_SUCCESS) {
    error = compile_error != nullptr ? compile_error->message : "Hyperscan refused it";
    hs_free_compile_error(compile_error);
    return -1;
  }
  if (hs_alloc_scratch(db, &prototype_) != HS_SUCCESS) {
    hs_free_database(db);
    error = "cannot allocate Hyperscan scratch space";
    return -1;
  }
  databases_.push_back(db);
  return static_cast<int>(databases_.size() - 1);
}

hs_scratch_t* PatternDatabase::NewScratch() const {
  if (prototype_ == nullptr) return nullptr;
  hs_scratch_t* scratch = nullptr;
  if (hs_clone_scratch(prototype_, &scratch) != HS_SUCCESS) return nullptr;
  return scratch;
}

bool PatternDatabase::Matches(int id, std::string_view text, hs_scratch_t* scratch) const {
  const auto on_match = [](unsigned, unsigned long long, unsigned long long, unsigned,
                           void*) -> int { return 1; };  // stop at the first match
  const hs_error_t e = hs_scan(databases_[static_cast<size_t>(id)], text.data(),
                               static_cast<unsigned>(text.size()), 0, scratch, on_match, nullptr);
  return e == HS_SCAN_TERMINATED;
}

ContractSet::ContractSet() = default;
ContractSet::~ContractSet() = default;

namespace {

namespace dom = simdjson::dom;

bool Selects(const ContractSelector& s, const Event& e) {
  if (!s.function.empty() && !GlobMatch(s.function, e.entities.function_name)) return false;
  if (!s.format.empty() && !GlobMatch(s.format, e.format)) return false;
  if (!s.workload.empty() && !GlobMatch(s.workload, e.entities.workload)) return false;
  if (!s.source.empty() && !GlobMatch(s.source, e.source)) return false;
  if (!s.namespace_name.empty() && !GlobMatch(s.namespace_name, e.entities.namespace_name)) {
    return false;
  }
  return true;
}

std::string TypeNames(uint8_t types) {
  static constexpr std::pair<uint8_t, std::string_view> kNames[] = {
      {kTypeString, "string"}, {kTypeNumber, "number"}, {kTypeInteger, "integer"},
      {kTypeBoolean, "boolean"}, {kTypeObject, "object"}, {kTypeArray, "array"},
      {kTypeNull, "null"}};
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if ((types & bit) == 0) continue;
    if (!out.empty()) out += " or ";
    out += name;
  }
  return out;
}

std::string_view TypeOf(dom::element v) {
  switch (v.type()) {
    case dom::element_type::ARRAY: return "array";
    case dom::element_type::OBJECT: return "object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64: return "integer";
    case dom::element_type::DOUBLE: return "number";
    case dom::element_type::STRING: return "string";
    case dom::element_type::BOOL: return "boolean";
    case dom::element_type::NULL_VALUE: return "null";
  }
  return "value";
}

bool IsNumber(dom::element v) {
  const auto t = v.type();
  return t == dom::element_type::INT64 || t == dom::element_type::UINT64 ||
         t == dom::element_type::DOUBLE;
}

double NumberOf(dom::element v) {
  switch (v.type()) {
    case dom::element_type::INT64: return static_cast<double>(int64_t(v));
    case dom::element_type::UINT64: return static_cast<double>(uint64_t(v));
    default: return double(v);
  }
}

// A value for a message: strings quoted and cut at 40 bytes, control characters as '?'.
std::string Show(dom::element v) {
  switch (v.type()) {
    case dom::element_type::STRING: {
      std::string_view s(v);
      std::string out = "\"";
      constexpr size_t kMax = 40;
      for (size_t i = 0; i < s.size() && i < kMax; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        out += c < 0x20 ? '?' : s[i];
      }
      if (s.size() > kMax) out += "...";
      out += '"';
      return out;
    }
    case dom::element_type::INT64: return fmt::format("{}", int64_t(v));
    case dom::element_type::UINT64: return fmt::format("{}", uint64_t(v));
    case dom::element_type::DOUBLE: return fmt::format("{}", double(v));
    case dom::element_type::BOOL: return bool(v) ? "true" : "false";
    case dom::element_type::NULL_VALUE: return "null";
    case dom::element_type::ARRAY: return "an array";
    case dom::element_type::OBJECT: return "an object";
  }
  return "a value";
}

bool HasType(uint8_t types, dom::element v) {
  if (types == 0) return true;
  switch (v.type()) {
    case dom::element_type::STRING: return (types & kTypeString) != 0;
    case dom::element_type::INT64:
    case dom::element_type::UINT64: return (types & (kTypeNumber | kTypeInteger)) != 0;
    case dom::element_type::DOUBLE: {
      if ((types & kTypeNumber) != 0) return true;
      const double d = double(v);
      return (types & kTypeInteger) != 0 && std::isfinite(d) && std::floor(d) == d;
    }
    case dom::element_type::BOOL: return (types & kTypeBoolean) != 0;
    case dom::element_type::NULL_VALUE: return (types & kTypeNull) != 0;
    case dom::element_type::OBJECT: return (types & kTypeObject) != 0;
    case dom::element_type::ARRAY: return (types & kTypeArray) != 0;
  }
  return false;
}

bool Equals(const Literal& l, dom::element v) {
  switch (l.kind) {
    case Literal::Kind::kString:
      return v.type() == dom::element_type::STRING && std::string_view(v) == l.text;
    case Literal::Kind::kNumber: return IsNumber(v) && NumberOf(v) == l.number;
    case Literal::Kind::kBool: return v.type() == dom::element_type::BOOL && bool(v) == l.boolean;
    case Literal::Kind::kNull: return v.type() == dom::element_type::NULL_VALUE;
  }
  return false;
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

class CheckerImpl final : public ContractSet::Checker {
 public:
  explicit CheckerImpl(const ContractSet& set, const PatternDatabase& patterns)
      : set_(set), patterns_(patterns), scratch_(patterns.NewScratch()) {}
  ~CheckerImpl() override {
    if (scratch_ != nullptr) hs_free_scratch(scratch_);
  }

  const Contract* Check(const Event& event, std::vector<std::string>& violations) override {
    const Contract* contract = nullptr;
    for (const Contract& c : set_.contracts()) {
      if (Selects(c.select, event)) {
        contract = &c;
        break;
      }
    }
    if (contract == nullptr) return nullptr;
    out_ = &violations;
    first_ = violations.size();
    dom::element root;
    if (auto e = parser_.parse(event.raw.data(), event.raw.size(), false).get(root)) {
      Violation("record", fmt::format("not valid JSON ({})", simdjson::error_message(e)));
      return contract;
    }
    // Walk to the part checked; a record without it is not checked.
    dom::element part = root;
    std::string_view rest = contract->path;
    while (!rest.empty()) {
      const size_t dot = rest.find('.');
      const std::string_view key = rest.substr(0, dot);
      rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
      dom::object o;
      if (part.get_object().get(o) != simdjson::SUCCESS) return contract;
      if (o.at_key(key).get(part) != simdjson::SUCCESS) return contract;
    }
    path_ = contract->path;
    Validate(*contract->schema, part);
    return contract;
  }

 private:
  void Violation(std::string_view where, std::string what) {
    const size_t n = out_->size() - first_;
    if (n < kMaxViolations) {
      out_->push_back(fmt::format("{}: {}", where, what));
    } else if (n == kMaxViolations) {
      out_->push_back(fmt::format("... more violations, only the first {} are listed",
                                  kMaxViolations));
    }
  }
  void Violation(std::string what) {
    Violation(path_.empty() ? std::string_view("record") : std::string_view(path_),
              std::move(what));
  }
  void Push(std::string_view name) {
    if (!path_.empty()) path_ += '.';
    path_ += name;
  }

  // path_ names `v` in the record; it is restored before returning.
  void Validate(const Schema& s, dom::element v) {
    if (!HasType(s.types, v)) {
      Violation(fmt::format("expected {}, got {}", TypeNames(s.types), TypeOf(v)));
      return;
    }
    if (s.constant && !Equals(*s.constant, v)) {
      Violation(fmt::format("{} is not the constant {}", Show(v), s.constant->text));
    }
    if (s.has_enum) {
      bool any = false;
      for (const Literal& l : s.enum_values) any = any || Equals(l, v);
      if (!any) {
        std::string names;
        for (const Literal& l : s.enum_values) {
          if (!names.empty()) names += ", ";
          names += l.text;
        }
        Violation(fmt::format("{} is not one of [{}]", Show(v), names));
      }
    }
    switch (v.type()) {
      case dom::element_type::STRING: String(s, v); break;
      case dom::element_type::INT64:
      case dom::element_type::UINT64:
      case dom::element_type::DOUBLE: Number(s, v); break;
      case dom::element_type::OBJECT: Object(s, v); break;
      case dom::element_type::ARRAY: Array(s, v); break;
      default: break;
    }
  }

  void Number(const Schema& s, dom::element v) {
    const double x = NumberOf(v);
    if (s.minimum && x < *s.minimum) {
      Violation(fmt::format("{} is below the minimum {}", Show(v), s.minimum_text));
    }
    if (s.maximum && x > *s.maximum) {
      Violation(fmt::format("{} is above the maximum {}", Show(v), s.maximum_text));
    }
    if (s.exclusive_minimum && x <= *s.exclusive_minimum) {
      Violation(fmt::format("{} is not above the exclusiveMinimum {}", Show(v),
                            s.exclusive_minimum_text));
    }
    if (s.exclusive_maximum && x >= *s.exclusive_maximum) {
      Violation(fmt::format("{} is not below the exclusiveMaximum {}", Show(v),
                            s.exclusive_maximum_text));
    }
  }

  void String(const Schema& s, dom::element v) {
    const std::string_view text(v);
    if (s.min_length || s.max_length) {
      const size_t n = CodePoints(text);
      if (s.min_length && n < *s.min_length) {
        Violation(fmt::format("length {} is below minLength {}", n, *s.min_length));
      }
      if (s.max_length && n > *s.max_length) {
        Violation(fmt::format("length {} is above maxLength {}", n, *s.max_length));
      }
    }
    if (s.pattern >= 0 && !patterns_.Matches(s.pattern, text, scratch_)) {
      Violation(fmt::format("{} does not match the pattern '{}'", Show(v), s.pattern_text));
    }
  }

  void Object(const Schema& s, dom::element v) {
    const dom::object o(v);
    const size_t base = path_.size();
    for (const std::string& name : s.required) {
      dom::element ignored;
      if (o.at_key(name).get(ignored) != simdjson::SUCCESS) {
        Push(name);
        Violation("required field missing");
        path_.resize(base);
      }
    }
    for (const Property& p : s.properties) {
      dom::element child;
      if (o.at_key(p.name).get(child) != simdjson::SUCCESS) continue;
      Push(p.name);
      Validate(*p.schema, child);
      path_.resize(base);
    }
    if (!s.additional_properties) {
      for (const auto field : o) {
        bool known = false;
        for (const Property& p : s.properties) known = known || p.name == field.key;
        if (known) continue;
        Push(field.key);
        Violation("not allowed (additionalProperties: false)");
        path_.resize(base);
      }
    }
  }

  void Array(const Schema& s, dom::element v) {
    const dom::array a(v);
    const size_t n = a.size();
    if (s.min_items && n < *s.min_items) {
      Violation(fmt::format("{} items, below minItems {}", n, *s.min_items));
    }
    if (s.max_items && n > *s.max_items) {
      Violation(fmt::format("{} items, above maxItems {}", n, *s.max_items));
    }
    if (!s.items) return;
    const size_t base = path_.size();
    size_t i = 0;
    for (const dom::element e : a) {
      path_ += fmt::format("[{}]", i++);
      Validate(*s.items, e);
      path_.resize(base);
    }
  }

  const ContractSet& set_;
  const PatternDatabase& patterns_;
  hs_scratch_t* scratch_;
  dom::parser parser_;
  std::vector<std::string>* out_ = nullptr;
  size_t first_ = 0;
  std::string path_;
};

}  // namespace

std::unique_ptr<ContractSet::Checker> ContractSet::NewChecker() const {
  return std::make_unique<CheckerImpl>(*this, *patterns_);
}

}  // namespace tuttle::contracts
