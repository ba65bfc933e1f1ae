#include "sigma_parser.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "condition.h"
#include "modifiers.h"
#include "rule_processor.h"
#include "sigma_value.h"
#include "text_util.h"
#include "value_test.h"
#include "tuttle/engine/hash.h"
#include "tuttle/engine/time.h"

namespace tuttle::rules {
namespace {

std::optional<Level> ParseLevel(std::string_view text) {
  static constexpr std::pair<std::string_view, Level> kLevels[] = {
      {"informational", Level::kInformational},
      {"low", Level::kLow},
      {"medium", Level::kMedium},
      {"high", Level::kHigh},
      {"critical", Level::kCritical},
  };
  for (const auto& [name, level] : kLevels) {
    if (EqualsIgnoreCase(text, name)) return level;
  }
  return std::nullopt;
}

bool ParseBool(const YAML::Node& node, bool& out) {
  if (!node.IsScalar()) return false;
  const std::string& s = node.Scalar();
  if (EqualsIgnoreCase(s, "true")) {
    out = true;
    return true;
  }
  if (EqualsIgnoreCase(s, "false")) {
    out = false;
    return true;
  }
  return false;
}

const Placeholders& NoPlaceholders() {
  static const Placeholders kNone;
  return kNone;
}

// Parses one YAML document (a detection or a correlation rule) of a file.
class DocumentParser {
 public:
  DocumentParser(const RuleSource& source, FileDiagnostics& diag, PredicateTable& predicates,
                 const Placeholders& placeholders = NoPlaceholders(), Diagnostics* all = nullptr,
                 const PipelineSet* pipelines = nullptr)
      : source_(source),
        diag_(diag),
        predicates_(predicates),
        placeholders_(placeholders),
        all_(all),
        pipelines_(pipelines) {}

  void ParseDetection(const YAML::Node& doc, const std::vector<MapEntry>& top,
                      ParsedDetection& out) {
    const size_t errors_before = diag_.errors();
    out.info = ParseInfo(doc, top);
    ParseLogSource(doc, top, out.logsource);
    out.written_logsource = out.logsource;
    if (const MapEntry* logsource = FindEntry(top, "logsource")) {
      out.logsource_at = diag_.Locate(logsource->value);
    }
    if (pipelines_ != nullptr && !pipelines_->empty()) {
      out.transform = pipelines_->ForRule(*out.info, out.logsource);
      out.logsource = out.transform->logsource;
      transform_ = out.transform.get();
      for (const PipelineSet::Entry* failure : out.transform->failures) {
        diag_.Error(doc, failure->item->message,
                    "the rule is refused by " + DescribeItem(*failure->program, *failure->item));
      }
      if (!out.transform->failures.empty()) return;
    }
    const MapEntry* detection = FindEntry(top, "detection");
    ParseDetectionSection(*detection, out);
    if (transform_ != nullptr && diag_.errors() == errors_before) AddConditions(doc, out);
    out.pattern_sites = std::move(sites_);
  }

  // Filters.
  void ParseFilter(const YAML::Node& doc, const std::vector<MapEntry>& top, ParsedFilter& out) {
    const size_t errors_before = diag_.errors();
    out.info = ParseInfo(doc, top);
    out.source = &source_;
    if (FindEntry(top, "logsource") == nullptr) {
      diag_.Error(doc, "the filter has no 'logsource'",
                  "give the log source of the rules it tunes, e.g. {product: falco}");
    } else {
      ParseLogSource(doc, top, out.logsource);
    }
    const MapEntry& section = *FindEntry(top, "filter");
    if (!section.value.IsMap()) {
      diag_.Error(section.value,
                  fmt::format("'filter' must be a map, not {}", NodeKindName(section.value)),
                  "give it 'rules', search identifiers and a 'condition'");
      return;
    }
    out.filter = section.value;
    const std::vector<MapEntry> entries = ReadMap(section.value, diag_);
    const MapEntry* rules = FindEntry(entries, "rules");
    if (rules == nullptr) {
      diag_.Error(section.key_node, "the filter has no 'rules'",
                  "name the rules it applies to by id or name, or write 'rules: any'");
    } else if (rules->value.IsScalar() && (EqualsIgnoreCase(rules->value.Scalar(), "any") ||
                                           EqualsIgnoreCase(rules->value.Scalar(), "all"))) {
      out.all_rules = true;
    } else {
      out.rules = ReadNames(*rules, "rules");
      if (out.rules.empty() && diag_.errors() == errors_before) {
        diag_.Error(rules->value, "'rules' is empty",
                    "name the rules it applies to by id or name, or write 'rules: any'");
      }
    }
    // Checked once here, on a scratch table; ApplyFilter parses it again for each rule.
    PredicateTable scratch;
    DocumentParser check(source_, diag_, scratch);
    BoolExpr unused;
    check.ParseFilterSection(section, entries, unused);
  }

  // The selections and condition of a filter's `filter` map.
  bool ParseFilterSection(const MapEntry& section, const std::vector<MapEntry>& entries,
                          BoolExpr& out) {
    std::vector<std::string> names;
    std::vector<BoolExpr> definitions;
    const MapEntry* condition = nullptr;
    for (const MapEntry& e : entries) {
      if (e.key == "condition") {
        condition = &e;
      } else if (e.key != "rules") {
        names.push_back(e.key);
        definitions.push_back(ParseSearch(e));
      }
    }
    if (condition == nullptr) {
      diag_.Error(section.key_node, "the filter has no 'condition'",
                  names.empty() ? "" : fmt::format("e.g. 'condition: not {}'", names.front()));
      return false;
    }
    if (!condition->value.IsScalar()) {
      diag_.Error(condition->value,
                  fmt::format("a filter's 'condition' must be text, not {}",
                              NodeKindName(condition->value)),
                  "a filter has exactly one condition");
      return false;
    }
    BoolExpr parsed;
    if (!ParseConditionText(condition->value, names, parsed)) return false;
    out = SubstituteIdentifiers(parsed, definitions);
    return true;
  }

  // Field names from now on go through `transform`'s field transformations after `after`.
  void SetTransform(const RuleTransform* transform, long after) {
    transform_ = transform;
    after_ = after;
  }
  BoolExpr FieldMap(const YAML::Node& map) { return ParseFieldMap(map); }
  std::vector<std::pair<uint32_t, SourceLocation>> TakeSites() { return std::move(sites_); }

  void ParseCorrelation(const YAML::Node& doc, const std::vector<MapEntry>& top,
                        ParsedCorrelation& out) {
    out.info = ParseInfo(doc, top);
    if (const MapEntry* generate = FindEntry(top, "generate")) ReadGenerate(*generate, out);
    const MapEntry& section = *FindEntry(top, "correlation");
    if (!section.value.IsMap()) {
      diag_.Error(section.value,
                  fmt::format("'correlation' must be a map, not {}", NodeKindName(section.value)));
      return;
    }
    const std::vector<MapEntry> entries = ReadMap(section.value, diag_);
    static const std::vector<std::string_view> kKeys = {
        "type", "rules", "group-by", "timespan", "condition", "aliases", "generate", "tuttle"};
    for (const MapEntry& e : entries) {
      if (std::find(kKeys.begin(), kKeys.end(), e.key) == kKeys.end()) {
        diag_.Warning(e.key_node,
                      fmt::format("unknown key '{}' in 'correlation' is ignored", e.key),
                      DidYouMean(e.key, kKeys));
      }
    }
    const MapEntry* type = FindEntry(entries, "type");
    // Checks that depend on the type are left out when the type itself is in error.
    bool type_ok = false;
    if (type == nullptr) {
      diag_.Error(section.key_node, "the correlation has no 'type'",
                  "one of event_count, value_count, temporal, temporal_ordered, value_sum, "
                  "value_avg, value_percentile");
    } else {
      type_ok = ReadCorrelationType(*type, out);
    }
    const MapEntry* condition = FindEntry(entries, "condition");
    const bool text_condition = condition != nullptr && condition->value.IsScalar();
    if (const MapEntry* rules = FindEntry(entries, "rules")) {
      out.rules = ReadNames(*rules, "rules");
      if (out.rules.empty() && rules->value.IsSequence()) {
        diag_.Error(rules->value, "'rules' is empty", "name the rules to correlate, by id or name");
      }
    } else if (!text_condition) {
      // pySigma takes the rules of a boolean condition from its text.
      diag_.Error(section.key_node, "the correlation has no 'rules'",
                  "name the rules to correlate, by id or name");
    }
    if (const MapEntry* group_by = FindEntry(entries, "group-by")) {
      out.group_by = ReadNames(*group_by, "group-by");
    }
    if (const MapEntry* timespan = FindEntry(entries, "timespan")) {
      ReadTimespan(*timespan, out);
    } else {
      diag_.Error(section.key_node, "the correlation has no 'timespan'",
                  "add e.g. 'timespan: 10m' (s, m, h or d)");
    }
    const bool needs_field = type_ok && (out.type == CorrelationType::kValueCount ||
                                         IsMetricType(out.type));
    if (condition != nullptr) {
      if (text_condition) {
        ReadBooleanCondition(*condition, type_ok, FindEntry(entries, "rules") != nullptr, out);
      } else {
        ReadCountCondition(*condition, type_ok, out);
      }
    } else if (type_ok && out.type != CorrelationType::kTemporal &&
               out.type != CorrelationType::kTemporalOrdered) {
      diag_.Error(section.key_node,
                  fmt::format("a correlation of type '{}' needs a 'condition'",
                              CorrelationTypeName(out.type)),
                  needs_field ? "e.g. 'condition: {field: bytes, gte: 1000}'"
                              : "e.g. 'condition: {gte: 10}'");
    }
    if (needs_field && !out.value_field && condition != nullptr && condition->value.IsMap()) {
      diag_.Error(condition->value,
                  fmt::format("a {} correlation needs 'field' in its condition",
                              CorrelationTypeName(out.type)),
                  out.type == CorrelationType::kValueCount
                      ? "name the field whose distinct values are counted"
                      : "name the numeric field the condition is computed from");
    }
    if (type_ok && out.type == CorrelationType::kValuePercentile && condition != nullptr &&
        condition->value.IsMap() && FindEntry(ReadMapQuiet(condition->value), "percentile") ==
                                        nullptr) {
      diag_.Error(condition->value, "a value_percentile correlation needs 'percentile' in its "
                                    "condition",
                  "which percentile of the values to compare, 0 to 100, e.g. 'percentile: 95' "
                  "(50 is the median)");
    }
    if (const MapEntry* aliases = FindEntry(entries, "aliases")) ReadAliases(*aliases, out);
    if (const MapEntry* generate = FindEntry(entries, "generate")) ReadGenerate(*generate, out);
    if (const MapEntry* tuttle = FindEntry(entries, "tuttle")) {
      ReadExtensions(*tuttle, type_ok, condition, out);
    }
  }

 private:
  // --- rule metadata --------------------------------------------------------------------------

  std::string ReadText(const MapEntry* e, bool required_scalar) {
    if (e == nullptr || e->value.IsNull()) return {};
    if (e->value.IsScalar()) return e->value.Scalar();
    if (!required_scalar && e->value.IsSequence()) {
      // `author` is sometimes a list.
      std::string joined;
      for (const auto& item : e->value) {
        if (!item.IsScalar()) continue;
        if (!joined.empty()) joined += ", ";
        joined += item.Scalar();
      }
      return joined;
    }
    const std::string message =
        fmt::format("'{}' must be a value, not {}", e->key, NodeKindName(e->value));
    if (required_scalar) {
      diag_.Error(e->value, message);
    } else {
      diag_.Warning(e->value, message + "; it is ignored");
    }
    return {};
  }

  std::vector<std::string> ReadTextList(const MapEntry* e) {
    std::vector<std::string> out;
    if (e == nullptr || e->value.IsNull()) return out;
    if (e->value.IsScalar()) {
      out.push_back(e->value.Scalar());
      return out;
    }
    if (e->value.IsSequence()) {
      for (const auto& item : e->value) {
        if (item.IsScalar()) {
          out.push_back(item.Scalar());
        } else {
          diag_.Warning(item, fmt::format("'{}' items must be values, not {}; this one is ignored",
                                          e->key, NodeKindName(item)));
        }
      }
      return out;
    }
    diag_.Warning(e->value, fmt::format("'{}' must be a list of values, not {}; it is ignored",
                                        e->key, NodeKindName(e->value)));
    return out;
  }

  std::shared_ptr<RuleInfo> ParseInfo(const YAML::Node& doc, const std::vector<MapEntry>& top) {
    auto info = std::make_shared<RuleInfo>();
    info->file = source_.path;
    info->line = FileDiagnostics::Locate(doc.Mark()).line;
    const MapEntry* title = FindEntry(top, "title");
    info->title = ReadText(title, false);
    if (title == nullptr) diag_.Warning(doc, "the rule has no 'title'");
    info->id = ReadText(FindEntry(top, "id"), true);
    info->name = ReadText(FindEntry(top, "name"), true);
    info->status = ReadText(FindEntry(top, "status"), false);
    info->description = ReadText(FindEntry(top, "description"), false);
    info->author = ReadText(FindEntry(top, "author"), false);
    info->tags = ReadTextList(FindEntry(top, "tags"));
    info->references = ReadTextList(FindEntry(top, "references"));
    info->falsepositives = ReadTextList(FindEntry(top, "falsepositives"));
    if (const MapEntry* level = FindEntry(top, "level")) {
      const std::string text = ReadText(level, false);
      if (auto parsed = ParseLevel(text)) {
        info->level = *parsed;
      } else if (!text.empty()) {
        diag_.Warning(level->value, fmt::format("unknown level '{}'; using medium", text),
                      DidYouMean(text, {"informational", "low", "medium", "high", "critical"}));
      }
    }
    if (info->id.empty()) info->id = DerivedRuleId(source_.path, info->title);
    if (info->title.empty()) info->title = info->name.empty() ? info->id : info->name;
    return info;
  }

  void ParseLogSource(const YAML::Node& doc, const std::vector<MapEntry>& top, LogSourceSpec& out) {
    const MapEntry* logsource = FindEntry(top, "logsource");
    if (logsource == nullptr) {
      diag_.Warning(doc, "the rule has no 'logsource'; it applies to events of every source");
      return;
    }
    if (!logsource->value.IsMap()) {
      diag_.Error(logsource->value,
                  fmt::format("'logsource' must be a map, not {}", NodeKindName(logsource->value)),
                  "e.g. {product: kubernetes, service: audit}");
      return;
    }
    const std::vector<MapEntry> entries = ReadMap(logsource->value, diag_);
    out.product = ReadText(FindEntry(entries, "product"), true);
    out.service = ReadText(FindEntry(entries, "service"), true);
    out.category = ReadText(FindEntry(entries, "category"), true);
  }

  // --- detection ------------------------------------------------------------------------------

  void ParseDetectionSection(const MapEntry& detection, ParsedDetection& out) {
    if (!detection.value.IsMap()) {
      diag_.Error(detection.value,
                  fmt::format("'detection' must be a map, not {}", NodeKindName(detection.value)),
                  "define search identifiers and a 'condition'");
      return;
    }
    const std::vector<MapEntry> entries = ReadMap(detection.value, diag_);
    std::vector<std::string> names;
    std::vector<BoolExpr> definitions;
    const MapEntry* condition = nullptr;
    for (const MapEntry& e : entries) {
      if (e.key == "condition") {
        condition = &e;
      } else if (e.key == "timeframe") {
        diag_.Warning(e.key_node, "'timeframe' is ignored",
                      "aggregations over time are written as correlation rules");
      } else {
        names.push_back(e.key);
        definitions.push_back(ParseSearch(e));
      }
    }
    if (condition == nullptr) {
      diag_.Error(detection.key_node, "the detection has no 'condition'",
                  names.empty() ? "" : fmt::format("e.g. 'condition: {}'", names.front()));
      return;
    }
    std::vector<BoolExpr> alternatives;
    const YAML::Node& value = condition->value;
    if (value.IsScalar()) {
      alternatives.emplace_back();
      if (!ParseConditionText(value, names, alternatives.back())) return;
    } else if (value.IsSequence() && value.size() > 0) {
      // A list of conditions: any of them.
      for (const auto& item : value) {
        if (!item.IsScalar()) {
          diag_.Error(item, fmt::format("a condition must be text, not {}", NodeKindName(item)));
          return;
        }
        alternatives.emplace_back();
        if (!ParseConditionText(item, names, alternatives.back())) return;
      }
    } else {
      diag_.Error(value, fmt::format("'condition' must be text, not {}", NodeKindName(value)),
                  names.empty() ? "" : fmt::format("e.g. 'condition: {}'", names.front()));
      return;
    }
    out.expr = SubstituteIdentifiers(BoolExpr::Nary(BoolExpr::Op::kOr, std::move(alternatives)),
                                     definitions);
  }

  // The pipelines' add_condition items: `(added) and (rule condition)`, or `not (added) and ...`.
  void AddConditions(const YAML::Node& doc, ParsedDetection& out) {
    for (const size_t position : transform_->add_conditions) {
      const PipelineSet::Entry& entry = transform_->set().entries()[position];
      const RuleSource& pipeline = entry.program->source;
      Diagnostics scratch;
      FileDiagnostics pipeline_diag(pipeline.path, pipeline.text,
                                    all_ != nullptr ? *all_ : scratch);
      std::vector<std::pair<uint32_t, SourceLocation>> sites;
      BoolExpr added = entry.conditions.IsMap()
                           ? ParseFieldMapNode(pipeline, entry.conditions, pipeline_diag,
                                               predicates_, transform_, static_cast<long>(position),
                                               &sites)
                           : BoolExpr::Const(false);
      if (!entry.conditions.IsMap() || pipeline_diag.errors() > 0) {
        diag_.Error(doc, "a condition the processing pipeline adds cannot be compiled",
                    DescribeItem(*entry.program, *entry.item));
        return;
      }
      // Sites in the pipeline file are pinned on the rule, which is what a refusal drops.
      for (const auto& site : sites) {
        sites_.emplace_back(site.first, SourceLocation{out.info->line, 1});
      }
      if (entry.item->negated) added = BoolExpr::Not(std::move(added));
      out.expr = BoolExpr::Nary(BoolExpr::Op::kAnd, {std::move(added), std::move(out.expr)});
    }
  }

  bool ParseConditionText(const YAML::Node& node, const std::vector<std::string>& names,
                          BoolExpr& out) {
    ConditionError error;
    if (ParseCondition(node.Scalar(), names, out, error)) return true;
    diag_.Error(diag_.Locate(node, error.offset), "condition: " + error.message, error.hint);
    return false;
  }

  BoolExpr ParseSearch(const MapEntry& e) {
    const YAML::Node& v = e.value;
    switch (v.Type()) {
      case YAML::NodeType::Map:
        return ParseFieldMap(v);
      case YAML::NodeType::Sequence: {
        if (v.size() == 0) {
          diag_.Error(v, fmt::format("search identifier '{}' is an empty list", e.key));
          return BoolExpr::Const(false);
        }
        // Maps are ORed; plain values are keywords, also ORed.
        std::vector<BoolExpr> items;
        for (const auto& item : v) {
          if (item.IsMap()) {
            items.push_back(ParseFieldMap(item));
          } else if (item.IsScalar()) {
            items.push_back(Keyword(item));
          } else {
            diag_.Error(item, fmt::format("a list item of '{}' must be a map of fields or a "
                                          "keyword, not {}",
                                          e.key, NodeKindName(item)));
          }
        }
        return BoolExpr::Nary(BoolExpr::Op::kOr, std::move(items));
      }
      case YAML::NodeType::Scalar:
        return Keyword(v);
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        break;
    }
    diag_.Error(e.key_node, fmt::format("search identifier '{}' is empty", e.key),
                "give it a map of fields or a list of keywords");
    return BoolExpr::Const(false);
  }

  BoolExpr ParseFieldMap(const YAML::Node& map) {
    if (map.size() == 0) {
      diag_.Error(map, "an empty map of fields", "give it at least one 'field: value'");
      return BoolExpr::Const(false);
    }
    std::vector<BoolExpr> clauses;
    for (const MapEntry& e : ReadMap(map, diag_)) {
      if (std::optional<BoolExpr> clause = MappedClause(e)) clauses.push_back(std::move(*clause));
    }
    // A map whose items a pipeline dropped (drop_detection_item) requires nothing: true.
    return BoolExpr::Nary(BoolExpr::Op::kAnd, std::move(clauses));
  }

  // One `field|modifiers: values` item, its field name mapped by the pipelines: several names
  // are ORed; nullopt when a pipeline drops the item.
  std::optional<BoolExpr> MappedClause(const MapEntry& e) {
    std::string field = e.key.substr(0, e.key.find('|'));
    if (transform_ == nullptr || field.empty()) return ParseClause(e, field);
    const FieldMapping mapped = transform_->Map(field, after_);
    if (mapped.failure != nullptr) {
      const ProcessingItem& item = *mapped.failure->item;
      diag_.Error(e.key_node, item.message,
                  "the field is refused by " + DescribeItem(*mapped.failure->program, item));
      return BoolExpr::Const(false);
    }
    if (mapped.names.empty()) return std::nullopt;
    std::vector<BoolExpr> alternatives;
    for (const std::string& name : mapped.names) {
      const size_t errors = diag_.errors();
      alternatives.push_back(ParseClause(e, name));
      if (diag_.errors() > errors) break;  // the same errors for every name: report them once
    }
    return BoolExpr::Nary(BoolExpr::Op::kOr, std::move(alternatives));
  }

  // A plain keyword: a case-insensitive substring of the raw record.
  BoolExpr Keyword(const YAML::Node& value) {
    ValueSpec spec;
    spec.position = ValueSpec::Position::kContains;
    return ValuePredicate(value, spec, /*raw=*/true, {});
  }

  // Reads the modifiers after the field name of `key` (from the first '|').
  bool ParseModifiers(const MapEntry& e, size_t bar, ValueSpec& spec) {
    const std::string& key = e.key;
    bool ok = true;
    struct Seen {
      Modifier modifier;
      std::string_view name;
    };
    std::vector<Seen> seen;
    size_t pos = bar;
    SourceLocation exists_at;
    while (pos != std::string::npos) {
      const size_t start = pos + 1;
      const size_t next = key.find('|', start);
      const std::string_view name = std::string_view(key).substr(
          start, next == std::string::npos ? std::string::npos : next - start);
      pos = next;
      const SourceLocation at = diag_.Locate(e.key_node, start);
      if (name.empty()) {
        diag_.Error(at, "empty modifier", "remove the extra '|'");
        ok = false;
        continue;
      }
      const ModifierLookup lookup = LookupModifier(name);
      if (lookup.status == ModifierStatus::kUnknown) {
        diag_.Error(at, fmt::format("unknown modifier '{}'", name), lookup.hint);
        ok = false;
        continue;
      }
      const Modifier m = lookup.modifier;
      if (std::any_of(seen.begin(), seen.end(), [&](const Seen& s) { return s.modifier == m; })) {
        diag_.Error(at, fmt::format("modifier '{}' is given twice", name));
        ok = false;
        continue;
      }
      bool conflict = false;
      for (const Seen& s : seen) {
        if (auto c = CheckCombination(s.modifier, s.name, m, name)) {
          diag_.Error(at, c->message, c->hint);
          ok = false;
          conflict = true;
          break;
        }
      }
      seen.push_back({m, name});
      if (conflict) continue;
      auto set_type = [&](ValueType t) { spec.type = t; };
      switch (m) {
        case Modifier::kContains:
          spec.position = ValueSpec::Position::kContains;
          break;
        case Modifier::kStartswith:
          spec.position = ValueSpec::Position::kStartswith;
          break;
        case Modifier::kEndswith:
          spec.position = ValueSpec::Position::kEndswith;
          break;
        case Modifier::kAll:
          spec.all = true;
          break;
        case Modifier::kNeq:
          spec.neq = true;
          break;
        case Modifier::kRe:
          set_type(ValueType::kRegex);
          break;
        case Modifier::kReCaseless:
        case Modifier::kReMultiline:
        case Modifier::kReDotall:
          if (!spec.re()) {
            diag_.Error(at, fmt::format("modifier '{}' is a flag of 're' and must follow it", name),
                        fmt::format("write '|re|{}'", name));
            ok = false;
          }
          if (m == Modifier::kReCaseless) spec.re_caseless = true;
          if (m == Modifier::kReMultiline) spec.re_multiline = true;
          if (m == Modifier::kReDotall) spec.re_dotall = true;
          break;
        case Modifier::kExists:
          set_type(ValueType::kExists);
          exists_at = at;
          break;
        case Modifier::kCased:
          spec.cased = true;
          break;
        case Modifier::kWindash:
        case Modifier::kBase64:
        case Modifier::kBase64Offset:
        case Modifier::kUtf16le:
        case Modifier::kUtf16be:
        case Modifier::kUtf16:
          spec.transforms.push_back(TransformOf(m));
          break;
        case Modifier::kExpand:
          spec.expand = true;
          break;
        case Modifier::kLt:
        case Modifier::kLte:
        case Modifier::kGt:
        case Modifier::kGte:
          spec.compare = m == Modifier::kLt    ? CompareOp::kLt
                         : m == Modifier::kLte ? CompareOp::kLte
                         : m == Modifier::kGt  ? CompareOp::kGt
                                               : CompareOp::kGte;
          // After a time part, the comparison applies to the part.
          if (spec.type != ValueType::kTimePart) set_type(ValueType::kCompare);
          break;
        case Modifier::kCidr:
          set_type(ValueType::kCidr);
          break;
        case Modifier::kFieldref:
          set_type(ValueType::kFieldref);
          break;
        case Modifier::kMinute:
        case Modifier::kHour:
        case Modifier::kDay:
        case Modifier::kWeek:
        case Modifier::kMonth:
        case Modifier::kYear:
          spec.time_part = static_cast<TimePart>(static_cast<int>(m) - static_cast<int>(Modifier::kMinute));
          set_type(ValueType::kTimePart);
          break;
      }
    }
    if (ok && spec.exists() && seen.size() > 1) {
      diag_.Error(exists_at, "modifier 'exists' cannot be combined with other modifiers");
      ok = false;
    }
    return ok;
  }

  // `field`: the field name of `e.key`, as processing pipelines map it (MappedClause).
  BoolExpr ParseClause(const MapEntry& e, const std::string& field) {
    const size_t bar = e.key.find('|');
    ValueSpec spec;
    if (bar != std::string::npos && !ParseModifiers(e, bar, spec)) return BoolExpr::Const(false);
    const bool raw = field.empty();
    if (raw && spec.type != ValueType::kString && spec.type != ValueType::kRegex) {
      diag_.Error(e.key_node, "this modifier needs a field name",
                  "keywords (values without a field) are searched in the whole record as text");
      return BoolExpr::Const(false);
    }
    if (raw && spec.neq) {
      diag_.Error(e.key_node, "'neq' needs a field name", "write 'field|neq: value'");
      return BoolExpr::Const(false);
    }
    // Keywords (`'|all':`) search the record, so they match substrings.
    if (raw && !spec.re() && spec.position == ValueSpec::Position::kWhole) {
      spec.position = ValueSpec::Position::kContains;
    }
    std::vector<YAML::Node> values;
    const YAML::Node& v = e.value;
    if (v.IsSequence()) {
      if (v.size() == 0) {
        diag_.Error(v, fmt::format("'{}' has an empty list of values", e.key));
        return BoolExpr::Const(false);
      }
      for (const auto& item : v) values.push_back(item);
    } else if (v.IsMap()) {
      diag_.Error(v, fmt::format("'{}' must have a value or a list of values, not a map", e.key),
                  "nested maps are not Sigma; use a dotted field name such as 'a.b'");
      return BoolExpr::Const(false);
    } else {
      values.push_back(v);
    }

    if (spec.exists()) {
      bool present = false;
      if (values.size() != 1 || !v.IsScalar() || !ParseBool(v, present)) {
        diag_.Error(v, "'exists' takes true or false");
        return BoolExpr::Const(false);
      }
      Predicate p;
      p.kind = PredicateKind::kPresent;
      p.path = field;
      const BoolExpr pred = BoolExpr::Pred(predicates_.Intern(std::move(p)));
      return present ? pred : BoolExpr::Not(pred);
    }

    std::vector<BoolExpr> terms;
    for (const YAML::Node& value : values) {
      if (value.IsNull()) {
        if (raw) {
          diag_.Error(value, "a keyword cannot be null");
        } else if (spec.type != ValueType::kString || spec.position != ValueSpec::Position::kWhole ||
                   !spec.transforms.empty() || spec.expand) {
          diag_.Error(value, "null cannot be combined with modifiers",
                      "'field: null' alone tests that the field is absent or null");
        } else {
          Predicate p;
          p.kind = PredicateKind::kNonNull;
          p.path = field;
          terms.push_back(BoolExpr::Not(BoolExpr::Pred(predicates_.Intern(std::move(p)))));
        }
      } else if (value.IsScalar()) {
        terms.push_back(ValuePredicate(value, spec, raw, field));
      } else {
        diag_.Error(value, fmt::format("a value of '{}' must be a plain value or null, not {}",
                                       e.key, NodeKindName(value)));
      }
    }
    BoolExpr clause = BoolExpr::Nary(spec.all ? BoolExpr::Op::kAnd : BoolExpr::Op::kOr,
                                     std::move(terms));
    if (!spec.neq) return clause;
    // `neq`: the field has a value, and it is none of the values given.
    Predicate p;
    p.kind = PredicateKind::kNonNull;
    p.path = field;
    std::vector<BoolExpr> both;
    both.push_back(BoolExpr::Pred(predicates_.Intern(std::move(p))));
    both.push_back(BoolExpr::Not(std::move(clause)));
    return BoolExpr::Nary(BoolExpr::Op::kAnd, std::move(both));
  }

  // The number of a numeric modifier's value, or an error at the value.
  std::optional<double> NumberValue(const YAML::Node& value, std::string_view what) {
    if (std::optional<double> n = ParseNumber(value.Scalar())) return n;
    diag_.Error(value, fmt::format("'{}' compares numbers, and '{}' is not one", what,
                                   value.Scalar()));
    return std::nullopt;
  }

  BoolExpr ValuePredicate(const YAML::Node& value, const ValueSpec& spec, bool raw,
                          const std::string& field) {
    Predicate p;
    p.raw = raw;
    p.path = field;
    switch (spec.type) {
      case ValueType::kString:
        if (spec.neq && spec.transforms.empty() && !spec.expand &&
            spec.position == ValueSpec::Position::kWhole && ParseNumber(value.Scalar()) &&
            IsNumberNode(value)) {
          // Numeric neq (pySigma's): `Port|neq: 443` is false for "443.0" too.
          p.kind = PredicateKind::kValue;
          p.test.kind = ValueTest::Kind::kCompare;
          p.test.op = CompareOp::kEq;
          p.test.number = *ParseNumber(value.Scalar());
          break;
        }
        return PatternPredicates(value, spec, std::move(p));
      case ValueType::kRegex: {
        Result<HsPattern> pattern = RegexPattern(value.Scalar(), spec);
        if (!pattern.ok()) {
          diag_.Error(value,
                      "regular expression refused by Hyperscan: " + pattern.error().message(),
                      "Hyperscan supports PCRE without back-references or lookaround");
          return BoolExpr::Const(false);
        }
        p.kind = PredicateKind::kPattern;
        p.pattern = std::move(*pattern);
        return Intern(std::move(p), value);
      }
      case ValueType::kCompare: {
        const std::optional<double> n = NumberValue(value, CompareName(spec.compare));
        if (!n) return BoolExpr::Const(false);
        p.kind = PredicateKind::kValue;
        p.test.kind = ValueTest::Kind::kCompare;
        p.test.op = spec.compare;
        p.test.number = *n;
        break;
      }
      case ValueType::kTimePart: {
        static constexpr std::pair<int, int> kRange[] = {{0, 59}, {0, 23}, {1, 31},
                                                         {1, 53}, {1, 12}, {1, 9999}};
        static constexpr std::string_view kNames[] = {"minute", "hour",  "day",
                                                      "week",   "month", "year"};
        const auto part = static_cast<size_t>(spec.time_part);
        const std::optional<double> n = ParseNumber(value.Scalar());
        if (!n || *n != static_cast<int>(*n) || *n < kRange[part].first ||
            *n > kRange[part].second) {
          diag_.Error(value,
                      fmt::format("'{}' takes a whole number from {} to {}, not '{}'",
                                  kNames[part], kRange[part].first, kRange[part].second,
                                  value.Scalar()));
          return BoolExpr::Const(false);
        }
        p.kind = PredicateKind::kValue;
        p.test.kind = ValueTest::Kind::kTimePart;
        p.test.part = spec.time_part;
        p.test.op = spec.compare;
        p.test.number = *n;
        break;
      }
      case ValueType::kCidr: {
        Result<IpNetwork> net = ParseCidr(value.Scalar());
        if (!net.ok()) {
          diag_.Error(value, "bad CIDR network: " + net.error().message(),
                      "write an IPv4 or IPv6 network, e.g. '10.0.0.0/8' or 'fd00::/8'");
          return BoolExpr::Const(false);
        }
        p.kind = PredicateKind::kValue;
        p.test.kind = ValueTest::Kind::kCidr;
        p.test.network = *net;
        break;
      }
      case ValueType::kFieldref: {
        const std::string& other = value.Scalar();
        if (other.empty() || other.find_first_of("*?|") != std::string::npos) {
          diag_.Error(value, fmt::format("'fieldref' takes a field name, not '{}'", other),
                      "field references cannot contain wildcards or modifiers");
          return BoolExpr::Const(false);
        }
        p.kind = PredicateKind::kFieldref;
        p.ref.other = other;
        // The referenced field is named in the rule's taxonomy too: pipelines map it (to its
        // first name, when a mapping gives several).
        if (transform_ != nullptr) {
          const FieldMapping mapped = transform_->Map(other, after_);
          if (!mapped.names.empty()) p.ref.other = mapped.names.front();
        }
        p.ref.position = spec.position;
        p.ref.cased = spec.cased;
        break;
      }
      case ValueType::kExists:
        break;
    }
    return BoolExpr::Pred(predicates_.Intern(std::move(p)));
  }

  static bool IsNumberNode(const YAML::Node& value) {
    // A quoted value is a string, even when it reads as a number.
    return value.Tag() != "!";
  }

  static std::string_view CompareName(CompareOp op) {
    switch (op) {
      case CompareOp::kLt:
        return "lt";
      case CompareOp::kLte:
        return "lte";
      case CompareOp::kGt:
        return "gt";
      case CompareOp::kGte:
        return "gte";
      case CompareOp::kEq:
        break;
    }
    return "neq";
  }

  // The Hyperscan patterns of a string value: one predicate each, ORed.
  BoolExpr PatternPredicates(const YAML::Node& value, const ValueSpec& spec, Predicate p) {
    std::vector<HsPattern> patterns;
    ValueProblem problem;
    if (!SigmaStringPatterns(value.Scalar(), spec, placeholders_, patterns, problem)) {
      diag_.Error(value, problem.message, problem.hint);
      return BoolExpr::Const(false);
    }
    p.kind = PredicateKind::kPattern;
    std::vector<BoolExpr> any;
    for (HsPattern& pattern : patterns) {
      Predicate q = p;
      q.pattern = std::move(pattern);
      any.push_back(Intern(std::move(q), value));
    }
    return BoolExpr::Nary(BoolExpr::Op::kOr, std::move(any));
  }

  // Interns a pattern predicate, remembering where it is first written.
  BoolExpr Intern(Predicate p, const YAML::Node& value) {
    const uint32_t id = predicates_.Intern(std::move(p));
    bool known = false;
    for (const auto& site : sites_) known = known || site.first == id;
    if (!known) sites_.emplace_back(id, diag_.Locate(value));
    return BoolExpr::Pred(id);
  }

  // --- correlation ----------------------------------------------------------------------------

  bool ReadCorrelationType(const MapEntry& e, ParsedCorrelation& out) {
    const std::string text = e.value.IsScalar() ? e.value.Scalar() : std::string();
    static constexpr std::pair<std::string_view, CorrelationType> kTypes[] = {
        {"event_count", CorrelationType::kEventCount},
        {"value_count", CorrelationType::kValueCount},
        {"temporal", CorrelationType::kTemporal},
        {"temporal_ordered", CorrelationType::kTemporalOrdered},
        {"value_sum", CorrelationType::kValueSum},
        {"value_avg", CorrelationType::kValueAvg},
        {"value_percentile", CorrelationType::kValuePercentile},
    };
    for (const auto& [name, type] : kTypes) {
      if (text == name) {
        out.type = type;
        return true;
      }
    }
    diag_.Error(e.value, fmt::format("unknown correlation type '{}'", text),
                DidYouMean(text, {"event_count", "value_count", "temporal", "temporal_ordered",
                                  "value_sum", "value_avg", "value_percentile"}));
    return false;
  }

  // The entries of a map without reporting its problems (ReadMap reports them once elsewhere).
  std::vector<MapEntry> ReadMapQuiet(const YAML::Node& map) {
    std::vector<MapEntry> out;
    for (const auto& kv : map) {
      if (kv.first.IsScalar()) out.push_back({kv.first.Scalar(), kv.first, kv.second});
    }
    return out;
  }

  // pySigma's extended condition for temporal correlations: `a and b and not c` over the
  // referenced rules. Without 'rules', the rules are the names in the condition, in order.
  void ReadBooleanCondition(const MapEntry& e, bool type_ok, bool has_rules,
                            ParsedCorrelation& out) {
    const std::string& text = e.value.Scalar();
    if (type_ok && out.type != CorrelationType::kTemporal) {
      diag_.Error(e.value,
                  fmt::format("a boolean condition applies only to temporal correlations, not {}",
                              CorrelationTypeName(out.type)),
                  out.type == CorrelationType::kTemporalOrdered
                      ? "for a step that must not occur in a sequence, use "
                        "'tuttle: {absent: [rule]}'"
                      : "write the condition as a map, e.g. 'condition: {gte: 10}'");
      return;
    }
    if (!has_rules) {
      // The names, in order of first appearance.
      size_t i = 0;
      while (i < text.size()) {
        const char c = text[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == ')') {
          ++i;
          continue;
        }
        const size_t start = i;
        while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\n' &&
               text[i] != '\r' && text[i] != '(' && text[i] != ')') {
          ++i;
        }
        const std::string word = text.substr(start, i - start);
        if (EqualsIgnoreCase(word, "and") || EqualsIgnoreCase(word, "or") ||
            EqualsIgnoreCase(word, "not")) {
          continue;
        }
        if (EqualsIgnoreCase(word, "of") || EqualsIgnoreCase(word, "them")) {
          diag_.Error(diag_.Locate(e.value, start),
                      fmt::format("'{}' needs the rules listed under 'rules'", word),
                      "list the rules under 'rules', or name each in the condition");
          return;
        }
        bool known = false;
        for (const NameRef& r : out.rules) known = known || r.text == word;
        if (!known) out.rules.push_back(NameRef{word, diag_.Locate(e.value, start)});
      }
    }
    std::vector<std::string> names;
    for (const NameRef& r : out.rules) names.push_back(r.text);
    BoolExpr expr;
    ConditionError error;
    if (!ParseCondition(text, names, expr, error)) {
      std::string message = error.message;
      if (const size_t at = message.find("search identifier"); at != std::string::npos) {
        message.replace(at, std::string_view("search identifier").size(), "rule");
      }
      diag_.Error(diag_.Locate(e.value, error.offset), "condition: " + message,
                  error.hint.empty() ? "the condition names rules listed under 'rules'"
                                     : error.hint);
      return;
    }
    // As in pySigma, every listed rule takes part in the condition.
    std::vector<uint32_t> used;
    expr.CollectPredicates(used);
    for (uint32_t k = 0; k < out.rules.size(); ++k) {
      if (std::find(used.begin(), used.end(), k) != used.end()) continue;
      diag_.Error(out.rules[k].where,
                  fmt::format("rule '{}' is listed but the condition does not use it",
                              out.rules[k].text),
                  "name it in the condition, or remove it from 'rules'");
    }
    out.step_condition = ToStepExpr(expr);
    out.condition_text = text;
  }

  static StepExpr ToStepExpr(const BoolExpr& e) {
    StepExpr out;
    switch (e.op) {
      case BoolExpr::Op::kPredicate:
        out.op = StepExpr::Op::kStep;
        out.step = e.predicate;
        return out;
      case BoolExpr::Op::kAnd:
      case BoolExpr::Op::kTrue:  // an empty AND
        out.op = StepExpr::Op::kAnd;
        break;
      case BoolExpr::Op::kOr:
      case BoolExpr::Op::kFalse:  // an empty OR
        out.op = StepExpr::Op::kOr;
        break;
      case BoolExpr::Op::kNot:
        out.op = StepExpr::Op::kNot;
        break;
    }
    for (const BoolExpr& c : e.children) out.children.push_back(ToStepExpr(c));
    return out;
  }

  // `correlation.tuttle`: Tuttle's extensions, kept apart from Sigma's keys.
  void ReadExtensions(const MapEntry& e, bool type_ok, const MapEntry* condition,
                      ParsedCorrelation& out) {
    if (!e.value.IsMap()) {
      diag_.Error(e.value, fmt::format("'tuttle' must be a map, not {}", NodeKindName(e.value)),
                  "e.g. 'tuttle: {suppress: 15m}'");
      return;
    }
    static const std::vector<std::string_view> kKeys = {"absent", "suppress"};
    for (const MapEntry& x : ReadMap(e.value, diag_)) {
      if (x.key == "suppress") {
        const std::string text = x.value.IsScalar() ? x.value.Scalar() : std::string();
        if (auto d = ParseDuration(text)) {
          out.suppress = *d;
        } else {
          diag_.Error(x.value, fmt::format("invalid suppress duration '{}'", text),
                      "a positive number followed by s, m, h or d, e.g. '15m'");
        }
      } else if (x.key == "absent") {
        ReadAbsent(x, type_ok, condition, out);
      } else {
        diag_.Error(x.key_node, fmt::format("unknown Tuttle extension '{}'", x.key),
                    DidYouMean(x.key, kKeys).empty() ? "known: absent, suppress"
                                                     : DidYouMean(x.key, kKeys));
      }
    }
  }

  void ReadAbsent(const MapEntry& x, bool type_ok, const MapEntry* condition,
                  ParsedCorrelation& out) {
    if (type_ok && out.type != CorrelationType::kTemporalOrdered) {
      diag_.Error(x.key_node, "'absent' applies only to temporal_ordered correlations",
                  "a step that must not occur is a step of a sequence");
      return;
    }
    if (condition != nullptr) {
      diag_.Error(condition->key_node, "a sequence with absent steps takes no 'condition'",
                  "every step must occur in order, and no absent step in its place");
      return;
    }
    out.absent.assign(out.rules.size(), false);
    for (const NameRef& name : ReadNames(x, "absent")) {
      bool found = false;
      for (size_t k = 0; k < out.rules.size(); ++k) {
        if (out.rules[k].text == name.text) {
          out.absent[k] = true;
          found = true;
        }
      }
      if (!found) {
        std::vector<std::string_view> listed;
        for (const NameRef& r : out.rules) listed.push_back(r.text);
        std::string hint = DidYouMean(name.text, listed);
        diag_.Error(name.where, fmt::format("absent step '{}' is not listed in 'rules'", name.text),
                    hint.empty() ? "list it in 'rules' at its place in the sequence" : hint);
      }
    }
    size_t present = 0;
    for (const bool a : out.absent) present += a ? 0 : 1;
    if (present == 0 && !out.rules.empty()) {
      diag_.Error(x.value, "every step is absent", "a sequence needs at least one step that occurs");
      return;
    }
    const bool leading = !out.absent.empty() && out.absent.front();
    const bool trailing = !out.absent.empty() && out.absent.back();
    if (leading && trailing) {
      diag_.Error(x.value,
                  "a sequence cannot both start and end with absent steps",
                  "its window ends at the last step when absent steps come first, and starts at "
                  "the first step when they come last; write two correlations");
    }
  }

  std::vector<NameRef> ReadNames(const MapEntry& e, std::string_view what) {
    std::vector<NameRef> out;
    auto add = [&](const YAML::Node& n) {
      if (n.IsScalar() && !n.Scalar().empty()) {
        out.push_back(NameRef{n.Scalar(), diag_.Locate(n)});
      } else {
        diag_.Error(n, fmt::format("'{}' items must be names, not {}", what, NodeKindName(n)));
      }
    };
    if (e.value.IsSequence()) {
      for (const auto& item : e.value) add(item);
    } else if (!e.value.IsNull()) {
      add(e.value);
    }
    return out;
  }

  void ReadTimespan(const MapEntry& e, ParsedCorrelation& out) {
    const std::string text = e.value.IsScalar() ? e.value.Scalar() : std::string();
    if (auto d = ParseDuration(text)) {
      out.timespan = *d;
      return;
    }
    diag_.Error(e.value, fmt::format("invalid timespan '{}'", text),
                "a positive number followed by s, m, h or d, e.g. '90m'");
  }

  void ReadCountCondition(const MapEntry& e, bool type_ok, ParsedCorrelation& out) {
    if (!e.value.IsMap()) {
      diag_.Error(
          e.value,
          fmt::format("a correlation 'condition' must be a map, not {}", NodeKindName(e.value)),
          "e.g. 'condition: {gte: 10}'");
      return;
    }
    // Counts are integers, as the specification says; sums, averages and percentiles need not be.
    const bool metric = type_ok && IsMetricType(out.type);
    bool any_bound = false;  // written, valid or not
    for (const MapEntry& c : ReadMap(e.value, diag_)) {
      std::optional<double>* bound = nullptr;
      if (c.key == "gt") bound = &out.condition.gt;
      if (c.key == "gte") bound = &out.condition.gte;
      if (c.key == "lt") bound = &out.condition.lt;
      if (c.key == "lte") bound = &out.condition.lte;
      if (c.key == "eq") bound = &out.condition.eq;
      if (c.key == "neq") bound = &out.condition.neq;
      if (bound != nullptr) {
        any_bound = true;
        const std::string text = c.value.IsScalar() ? c.value.Scalar() : std::string();
        if (metric) {
          double x = 0;
          if (!ParseFiniteNumber(text, x)) {
            diag_.Error(c.value, fmt::format("'{}' takes a number, not '{}'", c.key, text));
          } else {
            *bound = x;
          }
        } else {
          int64_t n = 0;
          const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
          if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
            diag_.Error(c.value, fmt::format("'{}' takes an integer, not '{}'", c.key, text));
          } else {
            *bound = static_cast<double>(n);
          }
        }
      } else if (c.key == "field") {
        if (c.value.IsScalar() && !c.value.Scalar().empty()) {
          out.value_field = NameRef{c.value.Scalar(), diag_.Locate(c.value)};
        } else if (c.value.IsSequence()) {
          diag_.Error(c.value, "counting the values of several fields is not supported yet",
                      "name one field; to combine fields, chain correlations");
        } else {
          diag_.Error(c.value, "'field' must name a field");
        }
        if (type_ok && out.type != CorrelationType::kValueCount && !IsMetricType(out.type)) {
          diag_.Error(c.key_node,
                      fmt::format("'field' does not apply to {} correlations",
                                  CorrelationTypeName(out.type)),
                      "only value_count, value_sum, value_avg and value_percentile read a field");
        }
      } else if (c.key == "percentile") {
        const std::string text = c.value.IsScalar() ? c.value.Scalar() : std::string();
        double p = 0;
        if (type_ok && out.type != CorrelationType::kValuePercentile) {
          diag_.Error(c.key_node, "'percentile' applies only to value_percentile correlations");
        } else if (!ParseFiniteNumber(text, p) || p < 0 || p > 100) {
          diag_.Error(c.value, fmt::format("'percentile' takes a number from 0 to 100, not '{}'",
                                           text),
                      "e.g. 'percentile: 95'; 50 is the median");
        } else {
          out.percentile = p;
        }
      } else {
        diag_.Error(c.key_node, fmt::format("unknown condition operator '{}'", c.key),
                    DidYouMean(c.key, {"gt", "gte", "lt", "lte", "eq", "neq", "field",
                                       "percentile"}));
      }
    }
    if (!any_bound) {
      diag_.Error(e.value, "the condition has no bound",
                  "use gt, gte, lt, lte, eq or neq, e.g. 'gte: 10'");
    }
  }

  static bool ParseFiniteNumber(const std::string& text, double& out) {
    if (text.empty()) return false;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && std::isfinite(out);
  }

  void ReadAliases(const MapEntry& e, ParsedCorrelation& out) {
    if (!e.value.IsMap()) {
      diag_.Error(e.value, fmt::format("'aliases' must be a map, not {}", NodeKindName(e.value)),
                  "alias name -> {rule name: field}");
      return;
    }
    for (const MapEntry& a : ReadMap(e.value, diag_)) {
      ParsedCorrelation::Alias alias;
      alias.name = NameRef{a.key, diag_.Locate(a.key_node)};
      if (!a.value.IsMap()) {
        diag_.Error(a.value, fmt::format("alias '{}' must map rule names to fields, not {}", a.key,
                                         NodeKindName(a.value)));
        continue;
      }
      for (const MapEntry& f : ReadMap(a.value, diag_)) {
        if (!f.value.IsScalar() || f.value.Scalar().empty()) {
          diag_.Error(f.value,
                      fmt::format("alias '{}' must give a field name for rule '{}'", a.key, f.key));
          continue;
        }
        alias.fields.push_back({NameRef{f.key, diag_.Locate(f.key_node)}, f.value.Scalar()});
      }
      out.aliases.push_back(std::move(alias));
    }
  }

  void ReadGenerate(const MapEntry& e, ParsedCorrelation& out) {
    if (!ParseBool(e.value, out.generate)) {
      diag_.Error(e.value, "'generate' takes true or false");
    }
  }

  const RuleSource& source_;
  FileDiagnostics& diag_;
  PredicateTable& predicates_;
  const Placeholders& placeholders_;
  Diagnostics* all_;  // every file's diagnostics, for those located in pipeline files
  const PipelineSet* pipelines_;
  const RuleTransform* transform_ = nullptr;
  long after_ = -1;  // see SetTransform
  std::vector<std::pair<uint32_t, SourceLocation>> sites_;
};

}  // namespace

std::string DerivedRuleId(std::string_view path, std::string_view title) {
  Hasher h;
  h.Add(std::string_view("sigma-rule")).Add(path).Add(title);
  return h.Finish().Uuid();
}

void SigmaParser::Parse(const RuleSource& source) {
  FileDiagnostics diag(source.path, source.text, diagnostics_);
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(source.text);
  } catch (const YAML::Exception& e) {
    diag.Error(FileDiagnostics::Locate(e.mark), "invalid YAML: " + e.msg);
    ++skipped_;
    return;
  }
  for (const YAML::Node& doc : documents) {
    if (doc.IsNull()) continue;  // an empty document, e.g. after a trailing '---'
    const size_t errors_before = diag.errors();
    DocumentParser parser(source, diag, predicates_, placeholders_, &diagnostics_, pipelines_);
    std::optional<ParsedDetection> detection;
    std::optional<ParsedCorrelation> correlation;
    std::optional<ParsedFilter> filter;
    try {
      if (!doc.IsMap()) {
        diag.Error(doc, fmt::format("a Sigma rule must be a YAML map, not {}", NodeKindName(doc)));
      } else {
        const std::vector<MapEntry> top = ReadMap(doc, diag);
        const bool has_correlation = FindEntry(top, "correlation") != nullptr;
        const bool has_detection = FindEntry(top, "detection") != nullptr;
        if (has_correlation && has_detection) {
          diag.Error(doc, "a rule cannot have both 'detection' and 'correlation'",
                     "write them as two documents separated by '---'");
        } else if (has_correlation) {
          parser.ParseCorrelation(doc, top, correlation.emplace());
        } else if (has_detection) {
          parser.ParseDetection(doc, top, detection.emplace());
        } else if (FindEntry(top, "filter") != nullptr) {
          parser.ParseFilter(doc, top, filter.emplace());
        } else if (FindEntry(top, "action") != nullptr) {
          diag.Error(doc, "legacy rule collections ('action: global') are not supported",
                     "write each rule as a complete document");
        } else {
          // A misspelt section name is the likely cause.
          std::string hint = "a rule needs a 'detection' or a 'correlation' section";
          for (const MapEntry& e : top) {
            if (std::string h = DidYouMean(e.key, {"detection", "correlation"}); !h.empty()) {
              hint = fmt::format("'{}': {}", e.key, h);
              break;
            }
          }
          diag.Error(doc, "the document is neither a detection rule nor a correlation rule", hint);
        }
      }
    } catch (const YAML::Exception& e) {
      // yaml-cpp throws on structures the checks above did not foresee; the rule is skipped.
      diag.Error(e.mark.is_null() ? diag.Locate(doc) : FileDiagnostics::Locate(e.mark),
                 "unexpected YAML structure: " + e.msg);
    }
    if (diag.errors() > errors_before) {
      ++skipped_;
      if (detection && detection->info) skipped_rules_.push_back({detection->info});
      if (correlation && correlation->info) skipped_rules_.push_back({correlation->info});
    } else if (detection) {
      detections_.push_back(std::move(*detection));
    } else if (correlation) {
      correlations_.push_back(std::move(*correlation));
    } else if (filter) {
      filters_.push_back(std::move(*filter));
    }
  }
}

bool SigmaParser::ApplyFilter(const ParsedFilter& filter, ParsedDetection& target) {
  FileDiagnostics diag(filter.source->path, filter.source->text, diagnostics_);
  DocumentParser parser(*filter.source, diag, predicates_, placeholders_);
  parser.SetTransform(target.transform.get(), -1);
  BoolExpr expr;
  try {
    const MapEntry section{"filter", YAML::Node(), filter.filter};
    if (!parser.ParseFilterSection(section, ReadMap(filter.filter, diag), expr) ||
        diag.errors() > 0) {
      return false;
    }
  } catch (const YAML::Exception& e) {
    diag.Error(FileDiagnostics::Locate(e.mark), "unexpected YAML structure: " + e.msg);
    return false;
  }
  // Sites in the filter file are pinned on the rule, which is what a refusal drops.
  for (const auto& site : parser.TakeSites()) {
    target.pattern_sites.emplace_back(site.first, SourceLocation{target.info->line, 1});
  }
  target.expr = BoolExpr::Nary(BoolExpr::Op::kAnd, {std::move(target.expr), std::move(expr)});
  return true;
}

BoolExpr ParseFieldMapNode(const RuleSource& source, const YAML::Node& map, FileDiagnostics& diag,
                           PredicateTable& predicates, const RuleTransform* transform, long after,
                           std::vector<std::pair<uint32_t, SourceLocation>>* sites) {
  DocumentParser parser(source, diag, predicates);
  parser.SetTransform(transform, after);
  BoolExpr expr;
  try {
    expr = parser.FieldMap(map);
  } catch (const YAML::Exception& e) {
    diag.Error(FileDiagnostics::Locate(e.mark), "unexpected YAML structure: " + e.msg);
    return BoolExpr::Const(false);
  }
  if (sites != nullptr) *sites = parser.TakeSites();
  return expr;
}

}  // namespace tuttle::rules
