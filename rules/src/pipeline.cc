// LoadPipeline: pySigma processing pipeline YAML to a checked PipelineProgram.
#include "tuttle/rules/pipeline.h"

#include <fmt/format.h>

#include <algorithm>

#include "condition.h"
#include "pipeline_program.h"
#include "sigma_parser.h"
#include "text_util.h"

namespace tuttle::rules {
namespace {

struct TypeInfo {
  std::string_view name;
  TransformationType type;
  std::vector<std::string_view> params;  // keys of its own, besides the common ones
};

const std::vector<TypeInfo>& Types() {
  static const std::vector<TypeInfo> kTypes = {
      {"field_name_mapping", TransformationType::kFieldNameMapping, {"mapping"}},
      {"field_name_prefix_mapping", TransformationType::kFieldNamePrefixMapping, {"mapping"}},
      {"field_name_prefix", TransformationType::kFieldNamePrefix, {"prefix"}},
      {"field_name_suffix", TransformationType::kFieldNameSuffix, {"suffix"}},
      {"drop_detection_item", TransformationType::kDropDetectionItem, {}},
      {"add_condition", TransformationType::kAddCondition, {"conditions", "negated", "template"}},
      {"change_logsource",
       TransformationType::kChangeLogsource,
       {"product", "service", "category"}},
      {"value_placeholders", TransformationType::kValuePlaceholders, {"include", "exclude"}},
      {"rule_failure", TransformationType::kRuleFailure, {"message"}},
      {"detection_item_failure", TransformationType::kDetectionItemFailure, {"message"}},
  };
  return kTypes;
}

// pySigma transformations Tuttle does not implement: named so the error says so, not "unknown".
constexpr std::string_view kUnsupportedTypes[] = {"field_name_transform",
                                                  "wildcard_placeholders",
                                                  "query_expression_placeholders",
                                                  "add_field",
                                                  "remove_field",
                                                  "set_field",
                                                  "replace_string",
                                                  "map_string",
                                                  "set_value",
                                                  "convert_type",
                                                  "regex",
                                                  "case",
                                                  "set_state",
                                                  "hashes_fields",
                                                  "add_fieldname_suffix",
                                                  "add_fieldname_prefix",
                                                  "nest",
                                                  "field_name_mapping_by_value",
                                                  "strict_field_mapping_failure",
                                                  "set_custom_attribute",
                                                  "detection_item_failure_by_value"};

constexpr std::string_view kCommonKeys[] = {"id",
                                            "type",
                                            "rule_conditions",
                                            "rule_cond_op",
                                            "rule_cond_not",
                                            "rule_cond_expr",
                                            "field_name_conditions",
                                            "field_name_cond_op",
                                            "field_name_cond_not",
                                            "field_name_cond_expr",
                                            "detection_item_conditions",
                                            "detection_item_cond_op",
                                            "detection_item_cond_not",
                                            "detection_item_cond_expr"};

std::vector<std::string_view> TypeNames() {
  std::vector<std::string_view> names;
  for (const TypeInfo& t : Types()) names.push_back(t.name);
  return names;
}

bool ReadBool(const YAML::Node& n, bool& out) {
  if (!n.IsScalar()) return false;
  if (EqualsIgnoreCase(n.Scalar(), "true")) {
    out = true;
    return true;
  }
  if (EqualsIgnoreCase(n.Scalar(), "false")) {
    out = false;
    return true;
  }
  return false;
}

class PipelineReader {
 public:
  PipelineReader(const RuleSource& source, FileDiagnostics& diag) : source_(source), diag_(diag) {}

  void Read(const YAML::Node& doc, ProcessingPipeline& out, PipelineProgram& program) {
    if (!doc.IsMap()) {
      diag_.Error(
          doc, fmt::format("a processing pipeline must be a YAML map, not {}", NodeKindName(doc)),
          "give it 'name', 'priority' and 'transformations'");
      return;
    }
    static const std::vector<std::string_view> kKeys = {
        "name",       "priority",        "vars", "transformations", "postprocessing",
        "finalizers", "allowed_backends"};
    const MapEntry* transformations = nullptr;
    // Kept for `transformations`, which points into it.
    const std::vector<MapEntry> entries = ReadMap(doc, diag_);
    for (const MapEntry& e : entries) {
      if (e.key == "name") {
        if (e.value.IsScalar()) {
          out.name = e.value.Scalar();
        } else {
          diag_.Error(e.value, fmt::format("'name' must be text, not {}", NodeKindName(e.value)));
        }
      } else if (e.key == "priority") {
        ReadPriority(e, out.priority);
      } else if (e.key == "vars") {
        ReadVars(e, out.vars);
      } else if (e.key == "transformations") {
        transformations = &e;
      } else if (e.key == "postprocessing" || e.key == "finalizers" ||
                 e.key == "allowed_backends") {
        diag_.Warning(e.key_node, fmt::format("'{}' is ignored", e.key),
                      "it shapes query text for pySigma backends; Tuttle compiles rules itself");
      } else {
        diag_.Error(e.key_node, fmt::format("unknown key '{}' in a processing pipeline", e.key),
                    DidYouMean(e.key, kKeys));
      }
    }
    program.name = out.name.empty() ? source_.path : out.name;
    if (transformations == nullptr || transformations->value.IsNull()) return;
    if (!transformations->value.IsSequence()) {
      diag_.Error(transformations->value,
                  fmt::format("'transformations' must be a list, not {}",
                              NodeKindName(transformations->value)),
                  "each item is a map with 'type' and its parameters");
      return;
    }
    size_t index = 0;
    for (const auto& node : transformations->value) {
      ProcessingItem item;
      item.index = index++;
      item.where = diag_.Locate(node);
      if (ReadItem(node, item)) program.items.push_back(std::move(item));
    }
  }

 private:
  void ReadPriority(const MapEntry& e, int& out) {
    const std::string text = e.value.IsScalar() ? e.value.Scalar() : std::string();
    try {
      size_t used = 0;
      const int n = std::stoi(text, &used);
      if (used == text.size()) {
        out = n;
        return;
      }
    } catch (const std::exception&) {
    }
    diag_.Error(e.value, fmt::format("'priority' takes an integer, not '{}'", text),
                "pySigma's convention: 10 log sources, 20 field names, 50+ environment");
  }

  void ReadVars(const MapEntry& e, std::map<std::string, std::vector<std::string>>& out) {
    if (e.value.IsNull()) return;
    if (!e.value.IsMap()) {
      diag_.Error(e.value, fmt::format("'vars' must be a map, not {}", NodeKindName(e.value)),
                  "placeholder name -> value or list of values");
      return;
    }
    for (const MapEntry& v : ReadMap(e.value, diag_)) {
      std::vector<std::string> values;
      if (!ReadStrings(v.value, values)) {
        diag_.Error(v.value,
                    fmt::format("placeholder '{}' must have a value or a list of values", v.key));
        continue;
      }
      out[v.key] = std::move(values);
    }
  }

  // A value or a list of values.
  static bool ReadStrings(const YAML::Node& n, std::vector<std::string>& out) {
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return true;
    }
    if (!n.IsSequence() || n.size() == 0) return false;
    for (const auto& item : n) {
      if (!item.IsScalar()) return false;
      out.push_back(item.Scalar());
    }
    return true;
  }

  std::string ReadText(const MapEntry& e) {
    if (e.value.IsScalar() && !e.value.Scalar().empty()) return e.value.Scalar();
    diag_.Error(e.value, fmt::format("'{}' must be text, not {}", e.key,
                                     e.value.IsScalar() ? "empty" : NodeKindName(e.value)));
    return {};
  }

  bool ReadItem(const YAML::Node& node, ProcessingItem& item) {
    const size_t errors_before = diag_.errors();
    if (!node.IsMap()) {
      diag_.Error(node, fmt::format("a transformation must be a map, not {}", NodeKindName(node)),
                  "e.g. {type: field_name_mapping, mapping: {Image: proc.exepath}}");
      return false;
    }
    const std::vector<MapEntry> entries = ReadMap(node, diag_);
    const MapEntry* type = FindEntry(entries, "type");
    if (type == nullptr) {
      diag_.Error(node, "the transformation has no 'type'",
                  fmt::format("one of {}", fmt::join(TypeNames(), ", ")));
      return false;
    }
    const std::string type_name = type->value.IsScalar() ? type->value.Scalar() : std::string();
    const TypeInfo* info = nullptr;
    for (const TypeInfo& t : Types()) {
      if (t.name == type_name) info = &t;
    }
    if (info == nullptr) {
      const bool known = std::find(std::begin(kUnsupportedTypes), std::end(kUnsupportedTypes),
                                   type_name) != std::end(kUnsupportedTypes);
      diag_.Error(
          type->value,
          known ? fmt::format("transformation type '{}' is not supported by Tuttle", type_name)
                : fmt::format("unknown transformation type '{}'", type_name),
          known ? fmt::format("supported: {}", fmt::join(TypeNames(), ", "))
                : DidYouMean(type_name, TypeNames()));
      return false;
    }
    item.type = info->type;
    item.type_name = type_name;

    std::vector<std::string_view> allowed(std::begin(kCommonKeys), std::end(kCommonKeys));
    allowed.insert(allowed.end(), info->params.begin(), info->params.end());
    for (const MapEntry& e : entries) {
      if (std::find(allowed.begin(), allowed.end(), e.key) == allowed.end()) {
        diag_.Error(e.key_node,
                    fmt::format("'{}' is not a parameter of transformation '{}'", e.key, type_name),
                    info->params.empty()
                        ? std::string("it takes none besides its conditions")
                        : fmt::format("its parameters: {}", fmt::join(info->params, ", ")));
      }
    }
    if (const MapEntry* id = FindEntry(entries, "id")) item.id = ReadText(*id);
    for (const std::string_view key : {"detection_item_conditions", "detection_item_cond_op",
                                       "detection_item_cond_not", "detection_item_cond_expr"}) {
      if (const MapEntry* e = FindEntry(entries, key)) {
        diag_.Error(e->key_node, fmt::format("'{}' is not supported by Tuttle", key),
                    "select detection items by field name: field_name_conditions");
      }
    }
    ReadConditions(entries, "rule", item.rule_conditions,
                   [&](const YAML::Node& n, RuleCondition& c) { return ReadRuleCondition(n, c); });
    const bool field_item = IsFieldTransformation(item.type);
    if (!field_item) {
      if (const MapEntry* e = FindEntry(entries, "field_name_conditions")) {
        diag_.Error(e->key_node,
                    fmt::format("field_name_conditions do not apply to '{}'", type_name),
                    "they select detection items of field transformations; use rule_conditions");
      }
    }
    ReadConditions(
        entries, "field_name", item.field_conditions,
        [&](const YAML::Node& n, FieldNameCondition& c) { return ReadFieldCondition(n, c); });
    ReadParameters(entries, node, item);
    return diag_.errors() == errors_before;
  }

  void ReadParameters(const std::vector<MapEntry>& entries, const YAML::Node& node,
                      ProcessingItem& item) {
    auto required = [&](std::string_view key, std::string_view example) -> const MapEntry* {
      const MapEntry* e = FindEntry(entries, key);
      if (e == nullptr) {
        diag_.Error(node, fmt::format("transformation '{}' needs '{}'", item.type_name, key),
                    std::string(example));
      }
      return e;
    };
    switch (item.type) {
      case TransformationType::kFieldNameMapping:
      case TransformationType::kFieldNamePrefixMapping: {
        const MapEntry* mapping = required("mapping", "e.g. 'mapping: {Image: proc.exepath}'");
        if (mapping == nullptr) return;
        if (!mapping->value.IsMap() || mapping->value.size() == 0) {
          diag_.Error(mapping->value,
                      fmt::format("'mapping' must be a non-empty map, not {}",
                                  NodeKindName(mapping->value)),
                      "field name -> new name, or a list of new names (any of them)");
          return;
        }
        for (const MapEntry& m : ReadMap(mapping->value, diag_)) {
          std::vector<std::string> targets;
          if (!ReadStrings(m.value, targets) ||
              std::any_of(targets.begin(), targets.end(),
                          [](const std::string& t) { return t.empty(); })) {
            diag_.Error(
                m.value,
                fmt::format("'{}' must map to a field name or a list of field names", m.key),
                "a list means: any of these fields");
            continue;
          }
          item.mapping.emplace_back(m.key, std::move(targets));
        }
        break;
      }
      case TransformationType::kFieldNamePrefix:
      case TransformationType::kFieldNameSuffix: {
        const std::string_view key =
            item.type == TransformationType::kFieldNamePrefix ? "prefix" : "suffix";
        if (const MapEntry* e = required(key, fmt::format("e.g. '{}: output_fields.'", key))) {
          item.affix = ReadText(*e);
        }
        break;
      }
      case TransformationType::kAddCondition: {
        if (const MapEntry* e = FindEntry(entries, "negated")) {
          if (!ReadBool(e->value, item.negated)) {
            diag_.Error(e->value, "'negated' takes true or false");
          }
        }
        if (const MapEntry* e = FindEntry(entries, "template")) {
          bool templated = false;
          if (!ReadBool(e->value, templated)) {
            diag_.Error(e->value, "'template' takes true or false");
          } else if (templated) {
            diag_.Error(e->value, "templated conditions are not supported by Tuttle",
                        "write the values out");
          }
        }
        const MapEntry* conditions =
            required("conditions", "e.g. 'conditions: {output_fields.evt.type: execve}'");
        if (conditions == nullptr) return;
        if (!conditions->value.IsMap() || conditions->value.size() == 0) {
          diag_.Error(conditions->value,
                      fmt::format("'conditions' must be a non-empty map of fields, not {}",
                                  NodeKindName(conditions->value)),
                      "field: value, as in a rule's selection");
          return;
        }
        // Checked the way a rule's selection is, so that applying it cannot fail.
        PredicateTable scratch;
        ParseFieldMapNode(source_, conditions->value, diag_, scratch, nullptr, -1, nullptr);
        break;
      }
      case TransformationType::kChangeLogsource: {
        for (const std::string_view key : {"product", "service", "category"}) {
          const MapEntry* e = FindEntry(entries, key);
          if (e == nullptr) continue;
          std::string text = ReadText(*e);
          if (key == "product") item.product = std::move(text);
          if (key == "service") item.service = std::move(text);
          if (key == "category") item.category = std::move(text);
        }
        if (item.product.empty() && item.service.empty() && item.category.empty()) {
          diag_.Error(node, "change_logsource sets nothing",
                      "give 'product', 'service' or 'category'");
        }
        break;
      }
      case TransformationType::kValuePlaceholders: {
        for (const std::string_view key :
             {"include", "exclude", "rule_conditions", "field_name_conditions"}) {
          if (const MapEntry* e = FindEntry(entries, key)) {
            diag_.Warning(e->key_node, fmt::format("'{}' of value_placeholders is ignored", key),
                          "Tuttle gives the pipeline's vars to the expand modifier of every rule");
          }
        }
        break;
      }
      case TransformationType::kRuleFailure:
      case TransformationType::kDetectionItemFailure:
        if (const MapEntry* e = required("message", "say why the rule cannot run")) {
          item.message = ReadText(*e);
        }
        break;
      case TransformationType::kDropDetectionItem:
        break;
    }
  }

  // Reads `<prefix>_conditions` with `<prefix>_cond_op`, `_cond_not` and `_cond_expr`.
  template <class Condition, class ReadOne>
  void ReadConditions(const std::vector<MapEntry>& entries, std::string_view prefix,
                      ConditionSet<Condition>& out, const ReadOne& read_one) {
    const std::string key_conditions = fmt::format("{}_conditions", prefix);
    const std::string key_op = fmt::format("{}_cond_op", prefix);
    const std::string key_not = fmt::format("{}_cond_not", prefix);
    const std::string key_expr = fmt::format("{}_cond_expr", prefix);
    const MapEntry* conditions = FindEntry(entries, key_conditions);
    const MapEntry* op = FindEntry(entries, key_op);
    const MapEntry* negate = FindEntry(entries, key_not);
    const MapEntry* expr = FindEntry(entries, key_expr);
    if (negate != nullptr && !ReadBool(negate->value, out.negate)) {
      diag_.Error(negate->value, fmt::format("'{}' takes true or false", key_not));
    }
    if (op != nullptr) {
      const std::string text = op->value.IsScalar() ? op->value.Scalar() : std::string();
      if (text == "or") {
        out.any = true;
      } else if (text != "and") {
        diag_.Error(op->value, fmt::format("'{}' takes 'and' or 'or', not '{}'", key_op, text));
      }
    }
    if (conditions == nullptr) {
      for (const MapEntry* e : {op, negate, expr}) {
        if (e != nullptr) {
          diag_.Error(e->key_node, fmt::format("'{}' without '{}'", e->key, key_conditions));
        }
      }
      return;
    }
    const YAML::Node& v = conditions->value;
    std::vector<std::string> names;
    if (expr != nullptr) {
      if (op != nullptr) {
        diag_.Error(op->key_node,
                    fmt::format("'{}' and '{}' cannot be combined", key_op, key_expr));
      }
      if (!v.IsMap()) {
        diag_.Error(v, fmt::format("with '{}', '{}' must map names to conditions, not {}", key_expr,
                                   key_conditions, NodeKindName(v)));
        return;
      }
      for (const MapEntry& c : ReadMap(v, diag_)) {
        Condition parsed;
        if (read_one(c.value, parsed)) {
          names.push_back(c.key);
          out.conditions.push_back(std::move(parsed));
        }
      }
      if (!expr->value.IsScalar()) {
        diag_.Error(expr->value, fmt::format("'{}' must be text", key_expr));
        return;
      }
      BoolExpr parsed;
      ConditionError error;
      if (!ParseCondition(expr->value.Scalar(), names, parsed, error)) {
        diag_.Error(diag_.Locate(expr->value, error.offset),
                    fmt::format("{}: {}", key_expr, error.message), error.hint);
        return;
      }
      out.expr = std::move(parsed);
      return;
    }
    if (!v.IsSequence()) {
      diag_.Error(v, fmt::format("'{}' must be a list, not {}", key_conditions, NodeKindName(v)),
                  fmt::format("a map of named conditions goes with '{}'", key_expr));
      return;
    }
    for (const auto& c : v) {
      Condition parsed;
      if (read_one(c, parsed)) out.conditions.push_back(std::move(parsed));
    }
  }

  bool ReadRuleCondition(const YAML::Node& node, RuleCondition& out) {
    static const std::vector<std::string_view> kTypes = {"logsource", "tag", "is_sigma_rule",
                                                         "is_sigma_correlation_rule",
                                                         "processing_item_applied"};
    static const std::vector<std::string_view> kUnsupported = {
        "contains_detection_item", "contains_field",
        "rule_attribute",          "rule_processing_item_applied",
        "processing_state",        "rule_processing_state",
        "is_sigma_filter"};
    const std::vector<MapEntry> entries = TypedEntries(node, "rule condition");
    if (entries.empty()) return false;
    const MapEntry& type = *FindEntry(entries, "type");
    const std::string name = type.value.IsScalar() ? type.value.Scalar() : std::string();
    std::vector<std::string_view> params;
    if (name == "logsource") {
      out.kind = RuleCondition::Kind::kLogsource;
      params = {"product", "service", "category"};
    } else if (name == "tag") {
      out.kind = RuleCondition::Kind::kTag;
      params = {"tag"};
    } else if (name == "is_sigma_rule") {
      out.kind = RuleCondition::Kind::kIsSigmaRule;
    } else if (name == "is_sigma_correlation_rule") {
      out.kind = RuleCondition::Kind::kIsSigmaCorrelationRule;
    } else if (name == "processing_item_applied") {
      out.kind = RuleCondition::Kind::kProcessingItemApplied;
      params = {"processing_item_id"};
    } else {
      const bool known =
          std::find(kUnsupported.begin(), kUnsupported.end(), name) != kUnsupported.end();
      diag_.Error(
          type.value,
          known ? fmt::format("rule condition '{}' is not supported by Tuttle", name)
                : fmt::format("unknown rule condition '{}'", name),
          known ? fmt::format("supported: {}", fmt::join(kTypes, ", ")) : DidYouMean(name, kTypes));
      return false;
    }
    if (!CheckParams(entries, name, params)) return false;
    bool ok = true;
    for (const MapEntry& e : entries) {
      if (e.key == "type") continue;
      std::string text = ReadText(e);
      ok = ok && !text.empty();
      if (e.key == "product") out.product = std::move(text);
      if (e.key == "service") out.service = std::move(text);
      if (e.key == "category") out.category = std::move(text);
      if (e.key == "tag" || e.key == "processing_item_id") out.value = std::move(text);
    }
    if (out.kind == RuleCondition::Kind::kLogsource && out.product.empty() && out.service.empty() &&
        out.category.empty() && ok) {
      diag_.Error(node, "a logsource condition needs 'product', 'service' or 'category'");
      return false;
    }
    if ((out.kind == RuleCondition::Kind::kTag ||
         out.kind == RuleCondition::Kind::kProcessingItemApplied) &&
        out.value.empty() && ok) {
      diag_.Error(node, fmt::format("rule condition '{}' needs '{}'", name, params.front()));
      return false;
    }
    return ok;
  }

  bool ReadFieldCondition(const YAML::Node& node, FieldNameCondition& out) {
    const std::vector<MapEntry> entries = TypedEntries(node, "field name condition");
    if (entries.empty()) return false;
    const MapEntry& type = *FindEntry(entries, "type");
    const std::string name = type.value.IsScalar() ? type.value.Scalar() : std::string();
    if (name != "include_fields" && name != "exclude_fields") {
      diag_.Error(type.value, fmt::format("field name condition '{}' is not supported", name),
                  "supported: include_fields, exclude_fields");
      return false;
    }
    out.exclude = name == "exclude_fields";
    if (!CheckParams(entries, name, {"fields", "mode"})) return false;
    if (const MapEntry* mode = FindEntry(entries, "mode")) {
      const std::string text = mode->value.IsScalar() ? mode->value.Scalar() : std::string();
      if (text == "re") {
        out.regex = true;
      } else if (text != "plain") {
        diag_.Error(mode->value, fmt::format("'mode' takes 'plain' or 're', not '{}'", text));
        return false;
      }
    }
    const MapEntry* fields = FindEntry(entries, "fields");
    if (fields == nullptr || !ReadStrings(fields->value, out.fields)) {
      diag_.Error(fields == nullptr ? node : fields->value,
                  fmt::format("'{}' needs 'fields': a field name or a list of them", name));
      return false;
    }
    if (!out.regex) return true;
    for (const std::string& f : out.fields) {
      try {
        out.patterns.emplace_back(f, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        diag_.Error(fields->value, fmt::format("invalid regular expression '{}': {}", f, e.what()));
        return false;
      }
    }
    return true;
  }

  // The entries of a condition map that has a 'type', else none (with an error).
  std::vector<MapEntry> TypedEntries(const YAML::Node& node, std::string_view what) {
    if (!node.IsMap()) {
      diag_.Error(node, fmt::format("a {} must be a map, not {}", what, NodeKindName(node)),
                  "e.g. {type: logsource, product: linux}");
      return {};
    }
    std::vector<MapEntry> entries = ReadMap(node, diag_);
    const MapEntry* type = FindEntry(entries, "type");
    if (type == nullptr || !type->value.IsScalar()) {
      diag_.Error(node, fmt::format("the {} has no 'type'", what));
      return {};
    }
    return entries;
  }

  bool CheckParams(const std::vector<MapEntry>& entries, std::string_view type,
                   const std::vector<std::string_view>& params) {
    bool ok = true;
    for (const MapEntry& e : entries) {
      if (e.key == "type" || std::find(params.begin(), params.end(), e.key) != params.end()) {
        continue;
      }
      diag_.Error(e.key_node, fmt::format("'{}' is not a parameter of condition '{}'", e.key, type),
                  params.empty() ? std::string("it takes none")
                                 : fmt::format("its parameters: {}", fmt::join(params, ", ")));
      ok = false;
    }
    return ok;
  }

  const RuleSource& source_;
  FileDiagnostics& diag_;
};

}  // namespace

bool IsFieldTransformation(TransformationType type) {
  switch (type) {
    case TransformationType::kFieldNameMapping:
    case TransformationType::kFieldNamePrefixMapping:
    case TransformationType::kFieldNamePrefix:
    case TransformationType::kFieldNameSuffix:
    case TransformationType::kDropDetectionItem:
    case TransformationType::kDetectionItemFailure:
      return true;
    default:
      return false;
  }
}

bool IsFieldRenaming(TransformationType type) {
  switch (type) {
    case TransformationType::kFieldNameMapping:
    case TransformationType::kFieldNamePrefixMapping:
    case TransformationType::kFieldNamePrefix:
    case TransformationType::kFieldNameSuffix:
      return true;
    default:
      return false;
  }
}

std::string DescribeItem(const PipelineProgram& program, const ProcessingItem& item) {
  return fmt::format("transformation {}({}) of pipeline '{}' ({}:{})",
                     item.id.empty() ? "" : fmt::format("'{}' ", item.id), item.type_name,
                     program.name, program.source.path, item.where.line);
}

Result<ProcessingPipeline> LoadPipeline(const RuleSource& source, Diagnostics& diagnostics) {
  FileDiagnostics diag(source.path, source.text, diagnostics);
  auto program = std::make_shared<PipelineProgram>();
  program->source = source;
  ProcessingPipeline out;
  out.path = source.path;
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(source.text);
  } catch (const YAML::Exception& e) {
    diag.Error(FileDiagnostics::Locate(e.mark), "invalid YAML: " + e.msg);
  }
  std::vector<const YAML::Node*> present;
  for (const YAML::Node& d : documents) {
    if (!d.IsNull()) present.push_back(&d);
  }
  if (diag.errors() == 0 && present.empty()) {
    diag.Error(SourceLocation{1, 1}, "the processing pipeline is empty",
               "give it 'name', 'priority' and 'transformations'");
  } else if (present.size() > 1) {
    diag.Error(*present[1], "a processing pipeline file holds one YAML document",
               "write each pipeline to a file of its own");
  } else if (present.size() == 1) {
    try {
      PipelineReader(program->source, diag).Read(*present.front(), out, *program);
    } catch (const YAML::Exception& e) {
      diag.Error(e.mark.is_null() ? diag.Locate(*present.front()) : FileDiagnostics::Locate(e.mark),
                 "unexpected YAML structure: " + e.msg);
    }
  }
  if (diag.errors() > 0) {
    return Error(fmt::format("processing pipeline '{}' has {} error{}", source.path, diag.errors(),
                             diag.errors() == 1 ? "" : "s"));
  }
  out.program = std::move(program);
  return out;
}

void MergePipelineVars(const std::vector<ProcessingPipeline>& pipelines,
                       std::map<std::string, std::vector<std::string>>& placeholders) {
  std::vector<const ProcessingPipeline*> order;
  for (const ProcessingPipeline& p : pipelines) order.push_back(&p);
  std::stable_sort(order.begin(), order.end(),
                   [](const ProcessingPipeline* a, const ProcessingPipeline* b) {
                     return a->priority < b->priority;
                   });
  for (const ProcessingPipeline* p : order) {
    for (const auto& [name, values] : p->vars) placeholders[name] = values;
  }
}

}  // namespace tuttle::rules
