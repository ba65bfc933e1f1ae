#include "store_commands.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "alert_printer.h"
#include "engine_setup.h"
#include "tuttle/engine/pipeline.h"
#include "tuttle/storage/alert_index.h"
#include "tuttle/storage/alert_query.h"
#include "tuttle/storage/alert_status.h"
#include "tuttle/storage/db_admin.h"
#include "tuttle/storage/dead_letters.h"
#include "tuttle/storage/key_codec.h"

namespace tuttle::tools {
namespace {

using nlohmann::json;

constexpr const char* kDefaultStore = "./var/tuttle";

int Fail(std::string_view message) {
  fmt::print(stderr, "tuttle: error: {}\n", message);
  return 1;
}

// A retention: a duration ("90d", "12h") or 0 for forever.
std::optional<TimeNs> ParseRetention(const std::string& text) {
  if (text == "0") return TimeNs{0};
  return ParseDuration(text);
}

// --since/--until: RFC 3339, or a duration meaning that long before now.
std::optional<TimeNs> ParseTimeBound(const std::string& text, TimeNs now) {
  if (auto t = ParseTimestamp(text)) return t;
  if (auto d = ParseDuration(text)) return now - *d;
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<storage::Store>> OpenForReading(const std::string& path) {
  storage::StoreOptions o;
  o.read_only = true;
  o.create_if_missing = false;
  auto store = storage::Store::Open(path, o);
  if (!store.ok()) {
    std::string message = "cannot read the store at '";
    message += path;
    message += "' (written by `tuttle run` or `tuttle replay --store`): ";
    message += store.error().message();
    return Error(std::move(message));
  }
  return store;
}

namespace {

// Opens the store for writing; a store has one writer, and says who holds it when it can't.
Result<std::unique_ptr<storage::Store>> OpenForWriting(const std::string& path,
                                                       storage::StoreOptions o = {}) {
  o.create_if_missing = false;
  if (!std::filesystem::exists(std::filesystem::path(path) / "CURRENT")) {
    std::string message = "no store at '";
    message += path;
    message += "'";
    return Error(std::move(message));
  }
  auto store = storage::Store::Open(path, o);
  if (store.ok()) return store;
  const std::string& m = store.error().message();
  if (m.find("lock") != std::string::npos || m.find("LOCK") != std::string::npos) {
    std::string message = "the store at '";
    message += path;
    message +=
        "' is open for writing by another process (a running `tuttle run`?). A store has a "
        "single writer: stop that process first, then retry. Queries (`tuttle alerts`, "
        "`tuttle dead-letters`, `tuttle db stats`) work meanwhile.";
    return Error(std::move(message));
  }
  return store;
}

std::string Truncate(std::string s, size_t width) {
  if (s.size() <= width) return s;
  s.resize(width - 1);
  s += "~";
  return s;
}

// What the alert is about, in one cell: the group-by values of a correlation, else the most
// telling entities.
std::string EntityCell(const json& finding) {
  const json& t = finding["unmapped"]["tuttle"];
  std::string out;
  auto add = [&out](const std::string& name, const json& value) {
    if (!value.is_string()) return;
    if (!out.empty()) out += " ";
    out += name;
    out += "=";
    out += value.get<std::string>();
  };
  if (t.contains("group_by") && t["group_by"].is_object()) {
    for (const auto& [name, value] : t["group_by"].items()) add(name, value);
    return out;
  }
  if (t.contains("entity") && t["entity"].is_object()) {
    const json& e = t["entity"];
    for (const char* name : {"namespace", "pod", "function_name", "principal"}) {
      if (e.contains(name)) add(name, e[name]);
    }
    if (out.empty()) {
      for (const auto& [name, value] : e.items()) {
        add(name, value);
        break;
      }
    }
  }
  return out;
}

std::string Bytes(uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < (uint64_t{1} << 20)) return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
  if (n < (uint64_t{1} << 30)) {
    return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1024.0 * 1024));
  }
  return fmt::format("{:.2f} GiB", static_cast<double>(n) / (1024.0 * 1024 * 1024));
}

// Record bytes for a terminal: the first `n`, control bytes escaped.
std::string Preview(std::string_view record, size_t n) {
  std::string out;
  for (size_t i = 0; i < record.size() && i < n; ++i) {
    const auto c = static_cast<unsigned char>(record[i]);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (record.size() > n) out += "...";
  return out;
}

}  // namespace

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& r : rows) {
    if (widths.size() < r.size()) widths.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(widths[i] - r[i].size() + 2, ' ');
    }
    fmt::print("{}\n", line);
  }
}

namespace {

// ---- tuttle alerts ----

struct AlertsOptions {
  std::string store = kDefaultStore;
  std::string since, until, rule, severity, min_severity, entity, tenant, status;
  std::string output = "table";
  size_t limit = 50;
  std::string page_token, after;
  bool reverse = false;
  bool explain = false;
};

int Alerts(const AlertsOptions& o) {
  auto store = OpenForReading(o.store);
  if (!store.ok()) return Fail(store.error().message());
  storage::AlertQuery q;
  q.limit = o.limit;
  q.oldest_first = o.reverse;
  q.page_token = o.page_token;
  storage::AlertFilter& f = q.filter;
  const TimeNs now = (*store)->Now();
  if (!o.since.empty()) {
    auto t = ParseTimeBound(o.since, now);
    if (!t)
      return Fail(fmt::format("--since '{}': expected RFC 3339 or a duration (1h, 7d)", o.since));
    f.since = *t;
  }
  if (!o.until.empty()) {
    auto t = ParseTimeBound(o.until, now);
    if (!t)
      return Fail(fmt::format("--until '{}': expected RFC 3339 or a duration (1h, 7d)", o.until));
    f.until = *t;
  }
  f.rule = o.rule;
  if (!o.severity.empty()) {
    f.severity = storage::ParseLevel(o.severity);
    if (!f.severity)
      return Fail(fmt::format(
          "--severity '{}': expected informational, low, medium, high or critical", o.severity));
  }
  if (!o.min_severity.empty()) {
    f.min_severity = storage::ParseLevel(o.min_severity);
    if (!f.min_severity)
      return Fail(
          fmt::format("--min-severity '{}': expected informational, low, medium, high or critical",
                      o.min_severity));
  }
  f.entity = o.entity;
  f.tenant = o.tenant;
  if (!o.status.empty()) {
    f.status = storage::ParseAlertStatus(o.status);
    if (!f.status)
      return Fail(fmt::format("--status '{}': expected new, acknowledged or closed", o.status));
  }
  if (!o.after.empty()) {
    auto id = storage::ParseAlertId(o.after);
    if (!id) return Fail(fmt::format("--after '{}': not an alert id", o.after));
    auto token = storage::PageTokenAfter(**store, *id);
    if (!token.ok()) return Fail(token.error().message());
    q.page_token = *token;
  }
  auto page = storage::QueryAlerts(**store, q);
  if (!page.ok()) return Fail(page.error().message());
  if (o.output == "json") {
    for (const auto& a : page->alerts) fmt::print("{}\n", a.json);
  } else {
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"TIME", "SEVERITY", "STATUS", "RULE", "ENTITY", "COUNT", "ID"});
    for (const auto& a : page->alerts) {
      const json j = json::parse(a.json, nullptr, false);
      if (j.is_discarded()) continue;
      const json& t = j["unmapped"]["tuttle"];
      const int64_t count =
          t.contains("count") ? t.value("count", int64_t{0}) : j.value("count", int64_t{1});
      rows.push_back({FormatTimestamp(a.time), t.value("rule_level", ""),
                      std::string(storage::AlertStatusWord(a.status)),
                      Truncate(j["finding_info"].value("title", ""), 48),
                      Truncate(EntityCell(j), 48), std::to_string(count), a.id});
    }
    if (page->alerts.empty()) {
      fmt::print(stderr, "-- no alerts match\n");
    } else {
      PrintTable(rows);
    }
  }
  if (o.explain) {
    fmt::print(stderr, "-- plan: {}; {} alerts examined\n", page->plan, page->examined);
  }
  if (!page->next_page_token.empty()) {
    fmt::print(stderr, "-- more: --page-token {}\n", page->next_page_token);
  }
  return 0;
}

struct StatusOptions {
  std::vector<std::string> ids;
  std::string by;
  std::string note;
};

int SetStatus(const std::string& store_path, const StatusOptions& o, storage::AlertStatus status) {
  std::string by = o.by;
  if (by.empty()) {
    if (const char* user = std::getenv("USER")) by = user;
  }
  if (by.empty()) return Fail("--by NAME is required (who made the decision)");
  std::vector<Hash128> ids;
  for (const auto& text : o.ids) {
    auto id = storage::ParseAlertId(text);
    if (!id) return Fail(fmt::format("'{}' is not an alert id", text));
    ids.push_back(*id);
  }
  auto store = OpenForWriting(store_path);
  if (!store.ok()) return Fail(store.error().message());
  int rc = 0;
  for (const Hash128& id : ids) {
    auto doc = storage::UpdateAlertStatus(**store, id, {status, by, o.note});
    if (!doc.ok()) {
      fmt::print(stderr, "tuttle: error: {}\n", doc.error().message());
      rc = 1;
      continue;
    }
    fmt::print("{} {}\n", id.Uuid(), std::string(storage::AlertStatusWord(status)));
  }
  return rc;
}

// ---- tuttle dead-letters ----

struct DeadLetterOptions {
  std::string store = kDefaultStore;
  std::string kind;  // "": per command default
  std::string reason, source;
  size_t limit = 50;
  std::string output = "table";
};

Result<storage::DeadLetterFilter> MakeDeadLetterFilter(const DeadLetterOptions& o,
                                                       const char* default_kind) {
  storage::DeadLetterFilter f;
  const std::string kind = o.kind.empty() ? default_kind : o.kind;
  if (kind != "all") {
    f.kind = storage::ParseDeadLetterKind(kind);
    if (!f.kind) return Error(fmt::format("--kind '{}': expected parse, late or all", kind));
  }
  f.reason = o.reason;
  f.source = o.source;
  f.limit = o.limit;
  return f;
}

int ListDeadLetters(const DeadLetterOptions& o) {
  auto filter = MakeDeadLetterFilter(o, "all");
  if (!filter.ok()) return Fail(filter.error().message());
  auto store = OpenForReading(o.store);
  if (!store.ok()) return Fail(store.error().message());
  auto rows = storage::ListDeadLetters(**store, *filter);
  if (!rows.ok()) return Fail(rows.error().message());
  if (o.output == "json") {
    for (const auto& r : *rows) {
      const DeadLetter& d = r.letter;
      json j = {{"kind", DeadLetterKindName(d.kind)},
                {"source", d.position.source},
                {"partition", d.position.partition},
                {"offset", d.position.offset},
                {"reason", d.reason},
                {"size", d.record.size()},
                {"record", d.record}};
      if (d.event_time != kNoTime) j["event_time"] = FormatTimestampNs(d.event_time);
      if (r.stored_at != kNoTime) j["stored_at"] = FormatTimestamp(r.stored_at);
      fmt::print("{}\n", j.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    return 0;
  }
  std::vector<std::vector<std::string>> table;
  table.push_back({"KIND", "SOURCE", "PARTITION", "OFFSET", "SIZE", "REASON", "RECORD"});
  for (const auto& r : *rows) {
    const DeadLetter& d = r.letter;
    table.push_back({std::string(DeadLetterKindName(d.kind)), d.position.source,
                     std::to_string(d.position.partition), std::to_string(d.position.offset),
                     std::to_string(d.record.size()), Truncate(d.reason, 60),
                     Preview(d.record, 60)});
  }
  if (rows->empty()) {
    fmt::print(stderr, "-- no dead letters match\n");
  } else {
    PrintTable(table);
  }
  if (o.limit != 0 && rows->size() == o.limit) {
    fmt::print(stderr, "-- showing the first {}; --limit 0 shows all\n", o.limit);
  }
  return 0;
}

struct RedriveOptions {
  std::vector<std::string> rules, pipelines, formats;
  bool strict = false;
  size_t max_record_bytes = size_t{1} << 20;
  bool quiet = false;
};

// The store, minus source positions (a re-drive must not move a stream's resume point back to
// an old offset), noting which records were dead-lettered again.
class RedriveSink final : public AlertSink {
 public:
  explicit RedriveSink(storage::Store& store) : store_(store) {}
  Status Write(const BatchOutput& batch) override {
    BatchOutput copy;
    copy.sequence = batch.sequence;
    copy.alerts = batch.alerts;
    copy.dead_letters = batch.dead_letters;
    for (const DeadLetter& d : batch.dead_letters) {
      failed_.insert(storage::DeadLetterKey(d.kind, d.position));
    }
    return store_.Write(copy);
  }
  Status Finish() override { return store_.Finish(); }
  const std::set<std::string>& failed() const { return failed_; }

 private:
  storage::Store& store_;
  std::set<std::string> failed_;
};

// `select`: the parent command's filters (its --limit only when given: re-drive takes all).
int Redrive(const RedriveOptions& o, DeadLetterOptions select, bool limit_given) {
  if (!limit_given) select.limit = 0;
  auto filter = MakeDeadLetterFilter(select, "parse");
  if (!filter.ok()) return Fail(filter.error().message());
  auto pins = ParseFormatPins(o.formats);
  if (!pins.ok()) return Fail(pins.error().message());
  ingest::JsonRecordParserOptions parser_options;
  parser_options.max_record_bytes = o.max_record_bytes;
  auto engine = LoadEngine(o.rules, o.pipelines, o.strict, parser_options);
  if (!engine.ok()) return Fail(engine.error().message());
  auto store = OpenForWriting(select.store);
  if (!store.ok()) return Fail(store.error().message());
  auto rows = storage::ListDeadLetters(**store, *filter);
  if (!rows.ok()) return Fail(rows.error().message());
  const size_t selected = rows->size();
  std::vector<std::string> keys;
  for (const auto& r : *rows) keys.push_back(r.key);

  storage::DeadLetterSource source(std::move(*rows), *pins);
  RedriveSink sink(**store);
  AlertPrinter printer(stdout, AlertPrinter::Format::kJson);
  std::vector<AlertSink*> sinks = {&sink};
  if (!o.quiet) sinks.push_back(&printer);
  PipelineOptions po;
  Pipeline pipeline(engine->rules, *engine->parser, po);
  StopOnSignal(&source);
  auto stats = pipeline.Run(source, sinks);
  StopOnSignal(nullptr);
  if (!stats.ok()) return Fail(stats.error().message());

  // What was dead-lettered again has been rewritten with its new reason; the rest now parses.
  std::vector<std::string> recovered;
  for (const auto& k : keys) {
    if (!sink.failed().contains(k)) recovered.push_back(k);
  }
  if (Status st = storage::DeleteDeadLetters(**store, recovered); !st.ok()) {
    return Fail(st.error().message());
  }
  fmt::print(stderr,
             "-- re-drove {} dead letters: {} processed and removed, {} still dead-lettered; "
             "{} alerts\n-- {}\n",
             selected, recovered.size(), selected - recovered.size(), stats->alerts,
             Summary(*stats, static_cast<int>(std::thread::hardware_concurrency())));
  return 0;
}

// ---- tuttle db ----

struct DbOptions {
  std::string store = kDefaultStore;
  bool exact = false;
  storage::StoreOptions store_options;
};

int DbStats(const DbOptions& o) {
  auto store = OpenForReading(o.store);
  if (!store.ok()) return Fail(store.error().message());
  auto stats = storage::CollectStats(**store, o.exact);
  if (!stats.ok()) return Fail(stats.error().message());
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"COLUMN FAMILY", "KEYS (EST.)", o.exact ? "KEYS" : "", "SST", "MEMTABLE"});
  auto row = [&](const storage::ColumnFamilyStats& cf) {
    rows.push_back({cf.name, std::to_string(cf.estimated_keys),
                    o.exact ? std::to_string(cf.exact_keys) : "", Bytes(cf.live_sst_bytes),
                    Bytes(cf.memtable_bytes)});
  };
  for (const auto& cf : stats->families) row(cf);
  row(stats->total);
  if (!o.exact) {
    for (auto& r : rows) r.erase(r.begin() + 2);
  }
  PrintTable(rows);
  fmt::print("on disk: {} ({} bytes) in {}\n", Bytes(stats->disk_bytes), stats->disk_bytes,
             o.store);
  return 0;
}

int DbCompact(const DbOptions& o) {
  auto store = OpenForWriting(o.store, o.store_options);
  if (!store.ok()) return Fail(store.error().message());
  auto before = storage::CollectStats(**store, true);
  if (!before.ok()) return Fail(before.error().message());
  if (Status st = storage::CompactAll(**store); !st.ok()) return Fail(st.error().message());
  auto after = storage::CollectStats(**store, true);
  if (!after.ok()) return Fail(after.error().message());
  for (size_t i = 0; i < after->families.size(); ++i) {
    const auto& b = before->families[i];
    const auto& a = after->families[i];
    fmt::print("{:<14} {:>10} -> {:<10} keys  ({} removed)\n", a.name, b.exact_keys, a.exact_keys,
               b.exact_keys - a.exact_keys);
  }
  fmt::print("on disk: {} -> {}\n", Bytes(before->disk_bytes), Bytes(after->disk_bytes));
  return 0;
}

void AddStoreOption(CLI::App* cmd, std::string& store) {
  cmd->add_option("-s,--store", store, "RocksDB store folder")->capture_default_str();
}

void AddOutputOption(CLI::App* cmd, std::string& output) {
  cmd->add_option("-o,--output", output, "table or json (JSON lines)")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
}

}  // namespace

void AddRetentionOptions(CLI::App* cmd, storage::StoreOptions& options) {
  auto option = [cmd](const char* name, TimeNs& target, const char* help) {
    cmd->add_option_function<std::string>(
           name,
           [name, &target](const std::string& text) {
             auto d = ParseRetention(text);
             if (!d) {
               std::string m = name;
               m += " '";
               m += text;
               m += "': expected a duration such as 90d, 12h, or 0 (keep forever)";
               throw CLI::ValidationError(m);
             }
             target = *d;
           },
           help)
        ->type_name("DURATION");
  };
  option("--alert-retention", options.alert_retention,
         "Drop alerts (and their index and status) older than this, by event time, when the "
         "store compacts; 0 keeps them. Default: 90d");
  option("--dead-letter-retention", options.dead_letter_retention,
         "Drop dead letters stored longer ago than this when the store compacts; 0 keeps them. "
         "Default: 7d");
}

struct StoreCommands::State {
  AlertsOptions alerts;
  StatusOptions ack, close, reopen;
  DeadLetterOptions dead_letters;
  RedriveOptions redrive;
  DbOptions stats, compact;
  CLI::App* alerts_cmd = nullptr;
  CLI::App* ack_cmd = nullptr;
  CLI::App* close_cmd = nullptr;
  CLI::App* reopen_cmd = nullptr;
  CLI::App* dead_letters_cmd = nullptr;
  CLI::App* redrive_cmd = nullptr;
  CLI::App* stats_cmd = nullptr;
  CLI::App* compact_cmd = nullptr;
};

StoreCommands::StoreCommands(CLI::App& app) : state_(std::make_unique<State>()) {
  State& s = *state_;
  AlertsOptions& a = s.alerts;
  s.alerts_cmd = app.add_subcommand(
      "alerts",
      "Query stored alerts, newest first (works while `tuttle run` holds the store); "
      "ack, close, reopen them");
  CLI::App* c = s.alerts_cmd;
  c->require_subcommand(0, 1);
  AddStoreOption(c, a.store);
  c->add_option("--since", a.since, "Event time from (RFC 3339, or a duration before now: 1h, 7d)");
  c->add_option("--until", a.until, "Event time before (RFC 3339, or a duration before now)");
  c->add_option("--rule", a.rule, "A rule id, or a part of rule titles or names");
  c->add_option("--severity", a.severity, "Only this level (informational .. critical)");
  c->add_option("--min-severity", a.min_severity, "This level or higher");
  c->add_option("--entity", a.entity,
                "An entity or group-by value, or NAME=VALUE (namespace=payments, "
                "user.username=alice)");
  c->add_option("--tenant", a.tenant, "Only this tenant");
  c->add_option("--status", a.status, "new, acknowledged or closed");
  AddOutputOption(c, a.output);
  c->add_option("-n,--limit", a.limit, "Alerts per page (0: all)")->capture_default_str();
  c->add_option("--page-token", a.page_token, "Continue a listing (the token it printed)");
  c->add_option("--after", a.after, "Continue after this alert id")->excludes("--page-token");
  c->add_flag("--reverse", a.reverse, "Oldest first");
  c->add_flag("--explain", a.explain, "Print which index answered, and how many alerts it read");

  auto status_cmd = [&](CLI::App*& cmd, StatusOptions& o, const char* name, const char* help) {
    cmd = s.alerts_cmd->add_subcommand(name, help);
    cmd->fallthrough();  // --store is the parent's, before or after the subcommand
    cmd->add_option("ids", o.ids, "Alert ids")->required();
    cmd->add_option("--by", o.by, "Who decided (default: $USER)");
    cmd->add_option("--note", o.note, "Why");
  };
  status_cmd(s.ack_cmd, s.ack, "ack", "Acknowledge alerts (OCSF status In Progress)");
  status_cmd(s.close_cmd, s.close, "close", "Close alerts (OCSF status Resolved)");
  status_cmd(s.reopen_cmd, s.reopen, "reopen", "Reopen alerts (OCSF status New)");

  DeadLetterOptions& d = s.dead_letters;
  s.dead_letters_cmd =
      app.add_subcommand("dead-letters",
                         "List the records that could not be processed (parse) or came too late "
                         "for correlation windows (late); re-drive them");
  c = s.dead_letters_cmd;
  c->require_subcommand(0, 1);
  AddStoreOption(c, d.store);
  c->add_option("--kind", d.kind, "parse, late or all (default: all)");
  c->add_option("--reason", d.reason, "A part of the reason");
  c->add_option("--source", d.source, "The topic or file");
  c->add_option("-n,--limit", d.limit, "At most this many (0: all)")->capture_default_str();
  AddOutputOption(c, d.output);

  RedriveOptions& r = s.redrive;
  s.redrive_cmd = s.dead_letters_cmd->add_subcommand(
      "redrive",
      "Run dead letters through the pipeline again (after a rule, format or limit "
      "fix): alerts are stored and printed as JSON lines; records that now parse "
      "leave the dead letters, the others stay with their new reason");
  c = s.redrive_cmd;
  // The selection is the parent's: --store, --kind (default here: parse), --reason, --source,
  // --limit (default here: all), before or after `redrive`.
  c->fallthrough();
  c->add_option("-r,--rules", r.rules, "Sigma rule files or folders; default: the embedded pack")
      ->allow_extra_args(false);
  c->add_option("-p,--pipeline", r.pipelines, "Processing pipeline YAML (repeatable)")
      ->allow_extra_args(false);
  c->add_option("--format", r.formats, "Pin the record format: SOURCE=FORMAT or FORMAT")
      ->type_name("[SOURCE=]FORMAT")
      ->allow_extra_args(false);
  c->add_option("--max-record-bytes", r.max_record_bytes, "Records longer than this stay dead")
      ->check(CLI::Range(size_t{64}, size_t{1} << 30))
      ->capture_default_str();
  c->add_flag("--strict", r.strict, "Refuse to start when any rule has an error");
  c->add_flag("-q,--quiet", r.quiet, "Do not print alerts (still stored)");

  CLI::App* db = app.add_subcommand("db", "Store maintenance: sizes, retention");
  db->require_subcommand(1);
  s.stats_cmd = db->add_subcommand(
      "stats", "Keys and bytes per column family, and the folder's size on disk (read-only)");
  AddStoreOption(s.stats_cmd, s.stats.store);
  s.stats_cmd->add_flag("--exact", s.stats.exact, "Also count every key (reads the whole store)");
  s.compact_cmd = db->add_subcommand(
      "compact", "Compact every column family now, applying retention (needs the write lock)");
  AddStoreOption(s.compact_cmd, s.compact.store);
  AddRetentionOptions(s.compact_cmd, s.compact.store_options);
}

StoreCommands::~StoreCommands() = default;

std::optional<int> StoreCommands::Run() const {
  const State& s = *state_;
  const std::string& store = s.alerts.store;
  if (s.ack_cmd->parsed()) return SetStatus(store, s.ack, storage::AlertStatus::kInProgress);
  if (s.close_cmd->parsed()) return SetStatus(store, s.close, storage::AlertStatus::kResolved);
  if (s.reopen_cmd->parsed()) return SetStatus(store, s.reopen, storage::AlertStatus::kNew);
  if (s.alerts_cmd->parsed()) return Alerts(s.alerts);
  if (s.redrive_cmd->parsed()) {
    return Redrive(s.redrive, s.dead_letters,
                   s.dead_letters_cmd->get_option("--limit")->count() > 0);
  }
  if (s.dead_letters_cmd->parsed()) return ListDeadLetters(s.dead_letters);
  if (s.stats_cmd->parsed()) return DbStats(s.stats);
  if (s.compact_cmd->parsed()) return DbCompact(s.compact);
  return std::nullopt;
}

}  // namespace tuttle::tools
