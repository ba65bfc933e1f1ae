// Reads contract files (docs/contracts.md) into a ContractSet. Every problem is a located
// diagnostic: file:line:col, what is wrong, and a hint where one helps.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

#include "schema.h"
#include "tuttle/contracts/contract_set.h"

namespace tuttle::contracts {
namespace {

// Deeper schemas are refused: the checker recurses along the schema.
constexpr int kMaxSchemaDepth = 32;

constexpr std::string_view kContractKeys[] = {"name",      "description", "function", "format",
                                              "workload",  "namespace",   "source",   "path",
                                              "schema"};
constexpr std::string_view kSchemaKeys[] = {
    "type",      "required",  "properties",       "additionalProperties", "enum",
    "const",     "minimum",   "maximum",          "exclusiveMinimum",     "exclusiveMaximum",
    "minLength", "maxLength", "pattern",          "items",                "minItems",
    "maxItems",  "title",     "description",      "$comment",             "default",
    "examples"};
// JSON Schema keywords outside the subset: named as such rather than as unknown.
constexpr std::string_view kUnsupported[] = {
    "$ref",          "$defs",         "definitions",      "$schema",      "$id",
    "allOf",         "anyOf",         "oneOf",            "not",          "if",
    "then",          "else",          "format",           "patternProperties",
    "dependentRequired", "dependentSchemas", "uniqueItems", "multipleOf",  "contains",
    "minContains",   "maxContains",   "prefixItems",      "minProperties", "maxProperties",
    "propertyNames", "unevaluatedProperties", "unevaluatedItems", "additionalItems",
    "dependencies",  "contentEncoding", "contentMediaType", "readOnly",   "writeOnly",
    "deprecated"};

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

template <size_t N>
std::string Suggest(std::string_view word, const std::string_view (&known)[N]) {
  std::string_view best;
  size_t best_distance = 3;  // at most 2 edits
  for (std::string_view k : known) {
    const size_t d = EditDistance(word, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  return best.empty() ? std::string() : fmt::format("did you mean '{}'?", best);
}

template <size_t N>
bool Contains(const std::string_view (&list)[N], std::string_view word) {
  return std::find(std::begin(list), std::end(list), word) != std::end(list);
}

std::string_view KindName(const YAML::Node& n) {
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  if (n.IsNull()) return "null";
  return "a value";
}

// A plain (unquoted) scalar that spells a number in full.
std::optional<double> PlainNumber(const YAML::Node& n) {
  if (!n.IsScalar() || n.Tag() == "!") return std::nullopt;
  const std::string& s = n.Scalar();
  double d = 0;
  const char* begin = s.data();
  if (!s.empty() && s[0] == '+') ++begin;
  const auto [end, ec] = std::from_chars(begin, s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

}  // namespace

class ContractLoader {
 public:
  ContractLoader(const std::string& file, Diagnostics& out, ContractSet& set)
      : file_(file), out_(out), set_(set), patterns_(*set.patterns_) {}

  size_t errors() const { return errors_; }

  void Load(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::ParserException& e) {
      Error(e.mark, e.msg, "check the indentation and quoting near this spot");
      return;
    }
    if (!root.IsMap()) {
      Error(root.Mark(), fmt::format("expected a map with a 'contracts' list, got {}",
                                     KindName(root)),
            "start the file with 'contracts:' (docs/contracts.md)");
      return;
    }
    YAML::Node list;
    for (const auto& entry : root) {
      const std::string key = entry.first.Scalar();
      if (key == "contracts") {
        list = entry.second;
      } else {
        Error(entry.first.Mark(), fmt::format("unknown key '{}'", key),
              "a contract file has one key, 'contracts'");
      }
    }
    if (!list.IsDefined()) {
      Error(root.Mark(), "no 'contracts' list", "add 'contracts:' with a list of contracts");
      return;
    }
    if (!list.IsSequence()) {
      Error(list.Mark(), fmt::format("'contracts' must be a list, got {}", KindName(list)));
      return;
    }
    for (const YAML::Node& c : list) ContractAt(c);
  }

 private:
  void Error(const YAML::Mark& mark, std::string message, std::string hint = {}) {
    ++errors_;
    const int line = mark.line >= 0 ? mark.line + 1 : 0;
    const int column = mark.column >= 0 ? mark.column + 1 : 0;
    out_.push_back(Diagnostic{file_, line, column, Diagnostic::Severity::kError,
                              std::move(message), std::move(hint)});
  }

  std::optional<std::string> Text(const YAML::Node& n, std::string_view key) {
    if (!n.IsScalar()) {
      Error(n.Mark(), fmt::format("{}: expected a string, got {}", key, KindName(n)));
      return std::nullopt;
    }
    return n.Scalar();
  }

  void ContractAt(const YAML::Node& node) {
    if (!node.IsMap()) {
      Error(node.Mark(), fmt::format("a contract must be a map, got {}", KindName(node)));
      return;
    }
    const size_t errors_before = errors_;
    Contract c;
    YAML::Node schema;
    bool has_schema = false;
    for (const auto& entry : node) {
      const std::string key = entry.first.Scalar();
      const YAML::Node& v = entry.second;
      if (!Contains(kContractKeys, key)) {
        Error(entry.first.Mark(), fmt::format("unknown contract key '{}'", key),
              Suggest(key, kContractKeys).empty()
                  ? "a contract has name, description, function, format, workload, namespace, "
                    "source, path and schema"
                  : Suggest(key, kContractKeys));
        continue;
      }
      if (key == "schema") {
        schema = v;
        has_schema = true;
        continue;
      }
      auto text = Text(v, key);
      if (!text) continue;
      if (key == "name") c.name = *text;
      if (key == "description") c.description = *text;
      if (key == "function") c.select.function = *text;
      if (key == "format") c.select.format = *text;
      if (key == "workload") c.select.workload = *text;
      if (key == "namespace") c.select.namespace_name = *text;
      if (key == "source") c.select.source = *text;
      if (key == "path") {
        if (!text->empty() && (text->front() == '.' || text->back() == '.' ||
                               text->find("..") != std::string::npos)) {
          Error(v.Mark(), fmt::format("path '{}': expected a dotted path such as json or "
                                      "detail.order", *text));
        }
        c.path = *text;
      }
    }
    c.file = fmt::format("{}:{}:{}", file_, node.Mark().line + 1, node.Mark().column + 1);
    const std::string label = c.name.empty() ? "contract" : fmt::format("contract '{}'", c.name);
    if (c.name.empty()) {
      Error(node.Mark(), "contract without a 'name'", "name it: findings and groups use it");
    } else if (std::any_of(set_.contracts_.begin(), set_.contracts_.end(),
                           [&](const Contract& o) { return o.name == c.name; })) {
      Error(node.Mark(), fmt::format("duplicate contract name '{}'", c.name));
    }
    if (c.select.function.empty() && c.select.format.empty() && c.select.workload.empty() &&
        c.select.namespace_name.empty() && c.select.source.empty()) {
      Error(node.Mark(), fmt::format("{} selects no records", label),
            "give function, format, workload, namespace or source (globs; function: '*' for every "
            "function)");
    }
    if (!has_schema) {
      Error(node.Mark(), fmt::format("{} without a 'schema'", label),
            "e.g. schema: {type: object, required: [id]}");
      return;
    }
    auto s = SchemaAt(schema, "schema");
    if (errors_ != errors_before || !s) return;
    c.schema = std::move(s);
    set_.contracts_.push_back(std::move(c));
  }

  std::optional<uint64_t> Count(const YAML::Node& n, std::string_view key) {
    const auto d = PlainNumber(n);
    if (!d || *d < 0 || std::floor(*d) != *d || *d > 1e15) {
      Error(n.Mark(), fmt::format("{}: expected a non-negative integer", key));
      return std::nullopt;
    }
    return static_cast<uint64_t>(*d);
  }

  bool Bound(const YAML::Node& n, std::string_view key, std::optional<double>& value,
             std::string& text) {
    const auto d = PlainNumber(n);
    if (!d) {
      Error(n.Mark(), fmt::format("{}: expected a number, got {}", key,
                                  n.IsScalar() ? "'" + n.Scalar() + "'" : std::string(KindName(n))));
      return false;
    }
    value = *d;
    text = n.Scalar();
    return true;
  }

  std::optional<Literal> LiteralAt(const YAML::Node& n, std::string_view key) {
    if (!n.IsScalar() && !n.IsNull()) {
      Error(n.Mark(), fmt::format("{}: expected a string, number, boolean or null, got {}", key,
                                  KindName(n)));
      return std::nullopt;
    }
    Literal l;
    if (n.IsNull()) {
      l.kind = Literal::Kind::kNull;
      l.text = "null";
      return l;
    }
    l.text = n.Scalar();
    if (n.Tag() == "!") return l;  // quoted: a string
    if (l.text == "null" || l.text == "~") {
      l.kind = Literal::Kind::kNull;
    } else if (l.text == "true" || l.text == "false") {
      l.kind = Literal::Kind::kBool;
      l.boolean = l.text == "true";
    } else if (auto d = PlainNumber(n)) {
      l.kind = Literal::Kind::kNumber;
      l.number = *d;
    }
    return l;
  }

  std::unique_ptr<Schema> SchemaAt(const YAML::Node& node, const std::string& where,
                                   int depth = 0) {
    if (depth > kMaxSchemaDepth) {
      Error(node.Mark(), fmt::format("{}: schemas nested deeper than {} levels", where,
                                     kMaxSchemaDepth));
      return nullptr;
    }
    if (!node.IsMap()) {
      Error(node.Mark(), fmt::format("{}: a schema must be a map, got {}", where, KindName(node)),
            "e.g. {type: string, maxLength: 64}");
      return nullptr;
    }
    auto s = std::make_unique<Schema>();
    for (const auto& entry : node) {
      const std::string key = entry.first.Scalar();
      const YAML::Node& v = entry.second;
      const YAML::Mark at = entry.first.Mark();
      const std::string name = fmt::format("{}.{}", where, key);
      if (Contains(kUnsupported, key)) {
        Error(at, fmt::format("{}: JSON Schema keyword '{}' is not supported", where, key),
              "docs/contracts.md lists the subset Tuttle checks");
        continue;
      }
      if (!Contains(kSchemaKeys, key)) {
        const std::string hint = Suggest(key, kSchemaKeys);
        Error(at, fmt::format("{}: unknown schema keyword '{}'", where, key),
              hint.empty() ? "docs/contracts.md lists the keywords" : hint);
        continue;
      }
      if (key == "type") {
        std::vector<YAML::Node> names;
        if (v.IsSequence()) {
          for (const YAML::Node& t : v) names.push_back(t);
        } else {
          names.push_back(v);
        }
        for (const YAML::Node& t : names) {
          const std::string type = t.IsNull() ? "null" : t.IsScalar() ? t.Scalar() : "";
          static constexpr std::string_view kTypes[] = {"string", "number", "integer", "boolean",
                                                        "object", "array",  "null"};
          const auto it = std::find(std::begin(kTypes), std::end(kTypes), type);
          if (it == std::end(kTypes)) {
            const std::string hint = Suggest(type, kTypes);
            Error(t.Mark(), fmt::format("{}: unknown type '{}'", name, type),
                  hint.empty() ? "one of string, number, integer, boolean, object, array, null"
                               : hint);
            continue;
          }
          s->types |= static_cast<uint8_t>(1u << (it - std::begin(kTypes)));
        }
      } else if (key == "required") {
        if (!v.IsSequence()) {
          Error(v.Mark(), fmt::format("{}: expected a list of field names", name));
          continue;
        }
        for (const YAML::Node& f : v) {
          if (auto text = Text(f, name)) s->required.push_back(*text);
        }
      } else if (key == "properties") {
        if (!v.IsMap()) {
          Error(v.Mark(), fmt::format("{}: expected a map of field name to schema", name));
          continue;
        }
        for (const auto& p : v) {
          auto child =
              SchemaAt(p.second, fmt::format("{}.{}", name, p.first.Scalar()), depth + 1);
          if (child) s->properties.push_back(Property{p.first.Scalar(), std::move(child)});
        }
      } else if (key == "additionalProperties") {
        if (!v.IsScalar() || (v.Scalar() != "true" && v.Scalar() != "false")) {
          Error(v.Mark(), fmt::format("{}: expected true or false", name),
                "schemas for additional properties are not supported");
          continue;
        }
        s->additional_properties = v.Scalar() == "true";
      } else if (key == "enum") {
        if (!v.IsSequence() || v.size() == 0) {
          Error(v.Mark(), fmt::format("{}: expected a non-empty list of values", name));
          continue;
        }
        s->has_enum = true;
        for (const YAML::Node& e : v) {
          if (auto l = LiteralAt(e, name)) s->enum_values.push_back(std::move(*l));
        }
      } else if (key == "const") {
        s->constant = LiteralAt(v, name);
      } else if (key == "minimum") {
        Bound(v, name, s->minimum, s->minimum_text);
      } else if (key == "maximum") {
        Bound(v, name, s->maximum, s->maximum_text);
      } else if (key == "exclusiveMinimum") {
        Bound(v, name, s->exclusive_minimum, s->exclusive_minimum_text);
      } else if (key == "exclusiveMaximum") {
        Bound(v, name, s->exclusive_maximum, s->exclusive_maximum_text);
      } else if (key == "minLength") {
        s->min_length = Count(v, name);
      } else if (key == "maxLength") {
        s->max_length = Count(v, name);
      } else if (key == "minItems") {
        s->min_items = Count(v, name);
      } else if (key == "maxItems") {
        s->max_items = Count(v, name);
      } else if (key == "pattern") {
        auto text = Text(v, name);
        if (!text) continue;
        std::string error;
        const int id = patterns_.Add(*text, error);
        if (id < 0) {
          Error(v.Mark(), fmt::format("{}: pattern '{}' does not compile: {}", name, *text, error),
                "Hyperscan's PCRE dialect: no back-references or lookaround");
          continue;
        }
        s->pattern = id;
        s->pattern_text = *text;
      } else if (key == "items") {
        if (v.IsSequence()) {
          Error(v.Mark(), fmt::format("{}: a list of schemas (tuple form) is not supported", name),
                "give one schema that every element must keep");
          continue;
        }
        s->items = SchemaAt(v, name, depth + 1);
      }
    }
    if (s->minimum && s->maximum && *s->minimum > *s->maximum) {
      Error(node.Mark(), fmt::format("{}: minimum {} is above maximum {}", where, s->minimum_text,
                                     s->maximum_text));
    }
    if (s->min_length && s->max_length && *s->min_length > *s->max_length) {
      Error(node.Mark(), fmt::format("{}: minLength is above maxLength", where));
    }
    return s;
  }

 private:
  const std::string& file_;
  Diagnostics& out_;
  ContractSet& set_;
  PatternDatabase& patterns_;
  size_t errors_ = 0;
};

Result<std::shared_ptr<const ContractSet>> ContractSet::LoadFiles(
    const std::vector<std::string>& files, Diagnostics& diagnostics) {
  std::shared_ptr<ContractSet> set(new ContractSet());
  set->patterns_ = std::make_unique<PatternDatabase>();
  size_t errors = 0;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Error(fmt::format("cannot read contracts file '{}'", file));
    std::stringstream text;
    text << in.rdbuf();
    ContractLoader loader(file, diagnostics, *set);
    loader.Load(text.str());
    errors += loader.errors();
  }
  if (errors > 0) {
    return Error(fmt::format("{} error{} in the contracts", errors, errors == 1 ? "" : "s"));
  }
  return std::shared_ptr<const ContractSet>(std::move(set));
}

Result<std::shared_ptr<const ContractSet>> ContractSet::Parse(std::string_view text,
                                                              const std::string& file,
                                                              Diagnostics& diagnostics) {
  std::shared_ptr<ContractSet> set(new ContractSet());
  set->patterns_ = std::make_unique<PatternDatabase>();
  ContractLoader loader(file, diagnostics, *set);
  loader.Load(text);
  if (loader.errors() > 0) {
    return Error(fmt::format("{} error{} in the contracts", loader.errors(),
                             loader.errors() == 1 ? "" : "s"));
  }
  return std::shared_ptr<const ContractSet>(std::move(set));
}

}  // namespace tuttle::contracts
