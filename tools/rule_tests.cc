#include "rule_tests.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "tuttle/contracts/contract_set.h"
#include "tuttle/engine/pipeline.h"
#include "tuttle/ingest/json_record_parser.h"

namespace tuttle::tools {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool IsTestFile(const fs::path& p) {
  const std::string name = p.filename().string();
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".test.yml") || ends_with(".test.yaml");
}

Diagnostic At(const std::string& file, const YAML::Mark& mark, std::string message,
              std::string hint = {}) {
  return Diagnostic{file, mark.line + 1, mark.column + 1, Diagnostic::Severity::kError,
                    std::move(message), std::move(hint)};
}

// YAML to JSON. Plain scalars take the JSON type they spell (null, true, false, numbers);
// quoted scalars stay strings, so JSON written inside YAML keeps its types.
json ToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = ToJson(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(ToJson(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "!") return s;  // quoted
      if (s == "null" || s == "~" || s.empty()) return nullptr;
      if (s == "true") return true;
      if (s == "false") return false;
      json number = json::parse(s, nullptr, false);
      if (!number.is_discarded() && number.is_number()) return number;
      return s;
    }
    default:
      return nullptr;
  }
}

// Records of one test, in order, as an in-memory stream named after the test.
class MemorySource final : public RecordSource {
 public:
  // `tenant`: the id of the tenant pinned for every record (RecordMeta::tenant), 0 for none.
  MemorySource(std::string name, std::vector<std::string> records, uint16_t tenant)
      : name_(std::move(name)), records_(std::move(records)), tenant_(tenant) {}
  Result<bool> Next(RecordBatch& batch) override {
    if (done_) return false;
    const uint32_t src = batch.InternSource(name_);
    for (size_t i = 0; i < records_.size(); ++i) {
      RecordMeta meta{src, -1, static_cast<int64_t>(i + 1), kNoTime};
      meta.tenant = tenant_;
      batch.Add(records_[i], meta);
    }
    batch.AddStreamEvent(StreamEvent{src, -1, StreamEvent::Kind::kIdle});
    done_ = true;
    return true;
  }
  Status Commit(const std::vector<SourcePosition>&) override { return Ok(); }
  void Stop() override {}

 private:
  std::string name_;
  std::vector<std::string> records_;
  uint16_t tenant_ = 0;
  bool done_ = false;
};

class Collect final : public AlertSink {
 public:
  Status Write(const BatchOutput& b) override {
    alerts.insert(alerts.end(), b.alerts.begin(), b.alerts.end());
    dead_letters += b.dead_letters.size();
    return Ok();
  }
  std::vector<Alert> alerts;
  size_t dead_letters = 0;
};

struct ExpectedAlert {
  std::string rule;
  std::optional<std::vector<int64_t>> records;
  std::optional<std::map<std::string, std::string>> group;
};

bool RuleIs(const RuleInfo& info, const std::string& ref) {
  return info.id == ref || (!info.name.empty() && info.name == ref);
}

const RuleInfo* FindRule(const RuleSet& rules, const std::string& ref) {
  for (const auto& d : rules.detections) {
    if (RuleIs(*d.info, ref)) return d.info.get();
  }
  for (const auto& c : rules.correlations) {
    if (RuleIs(*c.info, ref)) return c.info.get();
  }
  return nullptr;
}

std::string RuleLabel(const RuleInfo& info) { return info.name.empty() ? info.id : info.name; }

std::vector<int64_t> EvidenceRecords(const Alert& a) {
  std::vector<int64_t> out;
  for (const auto& e : a.evidence) out.push_back(e.position.offset);
  std::sort(out.begin(), out.end());
  return out;
}

std::string Describe(const Alert& a) {
  std::string s = fmt::format("{} with evidence records [{}]", RuleLabel(*a.rule),
                              fmt::join(EvidenceRecords(a), ", "));
  if (!a.group.empty()) {
    std::vector<std::string> g;
    for (const auto& [k, v] : a.group) g.push_back(k + "=" + v);
    s += fmt::format(" and group {}", fmt::join(g, ", "));
  }
  return s;
}

bool Matches(const ExpectedAlert& want, const Alert& got) {
  if (!RuleIs(*got.rule, want.rule)) return false;
  if (want.records) {
    std::vector<int64_t> w = *want.records;
    std::sort(w.begin(), w.end());
    if (w != EvidenceRecords(got)) return false;
  }
  if (want.group) {
    std::map<std::string, std::string> g(got.group.begin(), got.group.end());
    if (g != *want.group) return false;
  }
  return true;
}

void RunTest(const std::string& file, const YAML::Node& test, const RuleSet& rules,
             const RecordParser& parser, const std::vector<std::string>& default_scope,
             std::vector<RuleTestOutcome>& outcomes, Diagnostics& diagnostics) {
  RuleTestOutcome outcome;
  outcome.file = file;
  outcome.line = test.Mark().line + 1;
  if (!test.IsMap()) {
    diagnostics.push_back(At(file, test.Mark(), "a test must be a map", "see docs/rule-tests.md"));
    outcome.failures.push_back("malformed test");
    outcomes.push_back(std::move(outcome));
    return;
  }
  outcome.name = test["name"] ? test["name"].as<std::string>() : fmt::format("line {}", outcome.line);
  auto fail = [&](const YAML::Node& at, std::string message, std::string hint = {}) {
    diagnostics.push_back(At(file, at.Mark(), message, std::move(hint)));
    outcome.failures.push_back(std::move(message));
  };

  // Records: maps (converted to JSON) or strings holding the raw record.
  std::vector<std::string> records;
  const YAML::Node rec = test["records"];
  if (!rec || !rec.IsSequence() || rec.size() == 0) {
    fail(test, "a test needs 'records': a list of records", "records are maps or JSON strings");
  } else {
    for (const auto& r : rec) {
      if (r.IsScalar()) {
        records.push_back(r.Scalar());
      } else {
        records.push_back(ToJson(r).dump());
      }
    }
  }

  // Expected alerts, and the rules whose alerts are checked.
  std::vector<ExpectedAlert> expected;
  std::vector<std::string> scope = default_scope;
  if (test["rules"]) scope = test["rules"].as<std::vector<std::string>>();
  const YAML::Node al = test["alerts"];
  if (!al || !al.IsSequence()) {
    fail(test, "a test needs 'alerts': the alerts expected (an empty list for none)");
  } else {
    for (const auto& a : al) {
      ExpectedAlert e;
      if (!a.IsMap() || !a["rule"]) {
        fail(a, "an expected alert needs 'rule' (a rule name or id)");
        continue;
      }
      e.rule = a["rule"].as<std::string>();
      if (FindRule(rules, e.rule) == nullptr) {
        fail(a["rule"], fmt::format("no loaded rule is named or has the id '{}'", e.rule),
             "is the rule skipped because of an error?");
        continue;
      }
      if (a["records"]) e.records = a["records"].as<std::vector<int64_t>>();
      if (a["group"]) e.group = a["group"].as<std::map<std::string, std::string>>();
      if (std::find(scope.begin(), scope.end(), e.rule) == scope.end() && !test["rules"] &&
          default_scope.empty()) {
        scope.push_back(e.rule);
      }
      expected.push_back(std::move(e));
    }
  }
  for (const auto& r : scope) {
    if (FindRule(rules, r) == nullptr) {
      fail(test["rules"] ? test["rules"] : test,
           fmt::format("no loaded rule is named or has the id '{}'", r));
    }
  }
  if (scope.empty() && outcome.failures.empty()) {
    fail(test, "say which rules are under test: 'rules:' at the top or in the test",
         "with no expected alerts, nothing else names them");
  }
  if (!outcome.failures.empty()) {
    outcomes.push_back(std::move(outcome));
    return;
  }

  PipelineOptions options;
  options.threads = 1;
  if (test["lateness"]) {
    const std::string l = test["lateness"].as<std::string>();
    auto d = l == "0" || l == "0s" ? std::optional<TimeNs>(0) : ParseDuration(l);
    if (!d) {
      fail(test["lateness"], fmt::format("lateness '{}' is not a duration", l), "e.g. 30s, 2m");
      outcomes.push_back(std::move(outcome));
      return;
    }
    options.correlator.allowed_lateness = *d;
  }
  // `tenant: NAME` fixes the tenant of every record, as `--tenant NAME` does.
  std::unique_ptr<ingest::JsonRecordParser> pinned;
  if (test["tenant"]) {
    ingest::JsonRecordParserOptions po;
    po.tenants = {test["tenant"].as<std::string>()};
    pinned = std::make_unique<ingest::JsonRecordParser>(rules.catalog, po);
  }
  MemorySource source(fmt::format("{}:{}", file, outcome.line), std::move(records),
                      pinned ? 1 : 0);
  Collect sink;
  Pipeline pipeline(rules, pinned ? static_cast<const RecordParser&>(*pinned) : parser, options);
  auto stats = pipeline.Run(source, {&sink});
  if (!stats.ok()) {
    outcome.failures.push_back("the pipeline failed: " + stats.error().message());
    outcomes.push_back(std::move(outcome));
    return;
  }

  std::vector<const Alert*> actual;
  for (const Alert& a : sink.alerts) {
    for (const auto& r : scope) {
      if (RuleIs(*a.rule, r)) {
        actual.push_back(&a);
        break;
      }
    }
  }
  for (const ExpectedAlert& want : expected) {
    auto it = std::find_if(actual.begin(), actual.end(),
                           [&](const Alert* a) { return Matches(want, *a); });
    if (it == actual.end()) {
      std::string what = fmt::format("expected an alert of {}", want.rule);
      if (want.records) what += fmt::format(" with evidence records [{}]", fmt::join(*want.records, ", "));
      if (want.group) {
        std::vector<std::string> g;
        for (const auto& [k, v] : *want.group) g.push_back(k + "=" + v);
        what += fmt::format(" and group {}", fmt::join(g, ", "));
      }
      outcome.failures.push_back(what + ", got none");
    } else {
      actual.erase(it);
    }
  }
  for (const Alert* a : actual) outcome.failures.push_back("unexpected alert: " + Describe(*a));
  if (test["dead_letters"]) {
    const size_t want = test["dead_letters"].as<size_t>();
    if (want != sink.dead_letters) {
      outcome.failures.push_back(
          fmt::format("expected {} dead letters, got {}", want, sink.dead_letters));
    }
  }
  outcome.passed = outcome.failures.empty();
  outcomes.push_back(std::move(outcome));
}

}  // namespace

Result<std::vector<std::string>> FindRuleTestFiles(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::end(it);
           it.increment(ec)) {
        if (it->is_regular_file() && IsTestFile(it->path())) found.push_back(it->path().string());
      }
      if (ec) return Error(fmt::format("reading '{}': {}", p, ec.message()));
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(p, ec)) {
      if (IsTestFile(p)) out.push_back(p);
    } else {
      return Error(fmt::format("'{}' does not exist", p));
    }
  }
  return out;
}

std::vector<RuleTestOutcome> RunRuleTests(const std::vector<std::string>& files,
                                          const RuleSet& rules, const RecordParser& parser,
                                          Diagnostics& diagnostics) {
  std::vector<RuleTestOutcome> outcomes;
  for (const auto& file : files) {
    YAML::Node doc;
    try {
      doc = YAML::LoadFile(file);
    } catch (const YAML::Exception& e) {
      diagnostics.push_back(At(file, e.mark, e.msg));
      outcomes.push_back(RuleTestOutcome{file, e.mark.line + 1, "(file)", false, {e.msg}});
      continue;
    }
    try {
      std::vector<std::string> scope;
      if (doc["rules"]) scope = doc["rules"].as<std::vector<std::string>>();
      const YAML::Node tests = doc["tests"];
      if (!tests || !tests.IsSequence()) {
        diagnostics.push_back(At(file, doc.Mark(), "a rule test file needs 'tests': a list",
                                 "see docs/rule-tests.md"));
        outcomes.push_back(RuleTestOutcome{file, 1, "(file)", false, {"no 'tests' list"}});
        continue;
      }
      // `contracts: FILE` (or a list), relative to the test file: its records are read by a
      // parser that checks those data contracts (docs/contracts.md).
      std::unique_ptr<ingest::JsonRecordParser> with_contracts;
      if (const YAML::Node c = doc["contracts"]; c) {
        std::vector<std::string> paths;
        for (const std::string& p : c.IsSequence() ? c.as<std::vector<std::string>>()
                                                   : std::vector<std::string>{c.as<std::string>()}) {
          paths.push_back((fs::path(file).parent_path() / p).lexically_normal().string());
        }
        auto set = contracts::ContractSet::LoadFiles(paths, diagnostics);
        if (!set.ok()) {
          diagnostics.push_back(At(file, c.Mark(), "contracts: " + set.error().message()));
          outcomes.push_back(
              RuleTestOutcome{file, c.Mark().line + 1, "(file)", false, {set.error().message()}});
          continue;
        }
        ingest::JsonRecordParserOptions options;
        options.contracts = std::move(*set);
        with_contracts = std::make_unique<ingest::JsonRecordParser>(rules.catalog, options);
      }
      const RecordParser& use = with_contracts ? *with_contracts : parser;
      for (const auto& t : tests) RunTest(file, t, rules, use, scope, outcomes, diagnostics);
    } catch (const YAML::Exception& e) {
      diagnostics.push_back(At(file, e.mark, e.msg, "see docs/rule-tests.md"));
      outcomes.push_back(RuleTestOutcome{file, e.mark.line + 1, "(file)", false, {e.msg}});
    }
  }
  return outcomes;
}

}  // namespace tuttle::tools
