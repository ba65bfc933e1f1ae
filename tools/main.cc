// tuttle: the command-line interface.
//
//   tuttle run      consume Kafka (or, with no brokers given, the embedded demo: an in-process
//                   Kafka cluster fed with the bundled sample), print and store alerts, and
//                   produce them to an alerts topic; `--config tuttle.yaml` sets it all up
//                   (run_config.h)
//   tuttle replay   run the same pipeline over JSON-lines files or stdin; alerts as JSON lines
//   tuttle rules check PATH...   validate Sigma rules: diagnostics, counts, compile time
//   tuttle rules test PATH...    run the rule tests (*.test.yml) found beside the rules
//   tuttle coverage              the ATT&CK Containers-matrix techniques the rules cover
//   tuttle generate              deterministic benchmark telemetry (generate_command.h)
//   tuttle alerts, dead-letters, db   query and maintain the store (store_commands.h)
//   tuttle serve    the HTTP API and web console over a store (serve_command.h, docs/api.md)
//   tuttle version

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <functional>
#include <optional>
#include <set>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "alert_outputs.h"
#include "alert_printer.h"
#include "coverage_command.h"
#include "embedded.h"
#include "engine_setup.h"
#include "generate_command.h"
#include "metrics_server.h"
#include "inventory_command.h"
#include "progress.h"
#include "rule_reloader.h"
#include "rules_command.h"
#include "run_config.h"
#include "serve_command.h"
#include "store_commands.h"
#include "tuttle/engine/pipeline.h"
#include "tuttle/engine/strings.h"
#include "tuttle/ingest/cri_log_source.h"
#include "tuttle/ingest/file_source.h"
#include "tuttle/ingest/json_record_parser.h"
#include "tuttle/ingest/kafka.h"
#include "tuttle/ingest/kafka_alert_sink.h"
#include "tuttle/ingest/lambda_log_source.h"
#include "tuttle/ingest/scale_out.h"
#include "tuttle/storage/store.h"

namespace tuttle::tools {
namespace {

constexpr const char* kDemoTopic = "telemetry";
constexpr int kDemoPartitions = 3;

void AddCheckpointOptions(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("--checkpoint-interval", o.checkpoint_interval,
                  "Write window state, alerts and positions to the store this often (wall time), "
                  "e.g. 1s, 200ms")
      ->capture_default_str();
  cmd->add_option("--checkpoint-records", o.checkpoint_records,
                  "... or after this many records, whichever comes first")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option("--batch-records", o.batch_records,
                  "Records per pipeline batch (default: 2048 from Kafka, 1024 from files); "
                  "smaller batches lower latency and checkpoint more finely")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
}

void AddPipelineOption(CLI::App* cmd, std::vector<std::string>& pipelines) {
  // One value per occurrence: `-p a.yml records.jsonl` must leave the file to the positionals.
  cmd->add_option("-p,--pipeline", pipelines,
                  "Processing pipeline YAML applied to every rule (repeatable; docs/rules.md)")
      ->allow_extra_args(false);
}

void AddCommon(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("-r,--rules", o.rules,
                  "Sigma rule files or folders (repeatable); default: the embedded rule pack")
      ->allow_extra_args(false);
  AddPipelineOption(cmd, o.pipelines);
  cmd->add_option("--contracts", o.contracts,
                  "Data contracts YAML checked against the records they select (repeatable; "
                  "docs/contracts.md)")
      ->allow_extra_args(false);
  cmd->add_option("-t,--threads", o.threads, "Worker threads; default: one per core")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--lateness", o.lateness,
                  "How late (event time) a record may arrive and still count in correlation "
                  "windows, e.g. 30s, 2m")
      ->capture_default_str();
  cmd->add_option("--max-groups", o.max_groups,
                  "Open correlation groups kept per correlation rule; past it the least recently "
                  "updated group is evicted, counted and warned about")
      ->check(CLI::Range(size_t{1}, size_t{100'000'000}))
      ->capture_default_str();
  cmd->add_flag("--strict", o.strict, "Refuse to start when any rule has an error");
  cmd->add_option("--format", o.formats,
                  "Pin the record format: SOURCE=FORMAT for one file or topic, FORMAT for all "
                  "(repeatable; docs/formats.md). Default: detected per record")
      ->type_name("[SOURCE=]FORMAT")
      ->allow_extra_args(false);
  cmd->add_option("--tenant", o.tenants,
                  "Fix the tenant: SOURCE=NAME for one file or topic, NAME for all (repeatable; "
                  "docs/formats.md). Default: the account, project or subscription the record "
                  "names")
      ->type_name("[SOURCE=]NAME")
      ->allow_extra_args(false);
  cmd->add_option("--max-record-bytes", o.max_record_bytes,
                  "Records longer than this are dead-lettered unread")
      ->check(CLI::Range(size_t{64}, size_t{1} << 30))
      ->capture_default_str();
  cmd->add_option("--approved-inventory", o.approved_inventory,
                  "YAML file of approved images, registries, workloads, functions and "
                  "namespaces: others raise a first-seen finding, once each (docs/inventory.md)");
  cmd->add_flag("!--no-inventory", o.inventory,
                "Do not build the inventory of clusters, workloads, images, functions and "
                "principals");
  AddRetentionOptions(cmd, o.store_options);
  AddAlertOutputFlags(cmd, o.output);
}

Result<ingest::JsonRecordParserOptions> ParserOptions(const CommonOptions& o,
                                                      const TenantPins& tenants) {
  ingest::JsonRecordParserOptions p;
  p.max_record_bytes = o.max_record_bytes;
  p.tenants = tenants.names;
  auto contracts = LoadContracts(o.contracts);
  if (!contracts.ok()) return contracts.error();
  p.contracts = std::move(*contracts);
  return p;
}

// CRI container logs and Lambda logs are text: a decorator in the read stage turns them into JSON
// records (docs/formats.md). The sources pinned to those formats are read through it.
// Compressed Lambda log envelopes may inflate to this many times --max-record-bytes (each log
// event in them is still held to --max-record-bytes as a record).
constexpr size_t kDecompressionFactor = 16;

std::unique_ptr<RecordSource> WithTextLogs(std::unique_ptr<RecordSource> source,
                                           const std::map<std::string, uint16_t>& pins,
                                           size_t max_record_bytes) {
  auto applies = [&pins](std::string_view format)
      -> std::optional<std::function<bool(std::string_view)>> {
    const std::optional<uint16_t> id = ingest::JsonRecordParser::FormatId(format);
    std::set<std::string, std::less<>> names;
    bool all = false;
    for (const auto& [name, pinned] : pins) {
      if (!id || pinned != *id) continue;
      if (name.empty()) {
        all = true;
      } else {
        names.insert(name);
      }
    }
    if (!all && names.empty()) return std::nullopt;
    return [all, names](std::string_view s) { return all || names.find(s) != names.end(); };
  };
  if (auto cri = applies("cri")) {
    ingest::CriLogSourceOptions o;
    o.applies_to = std::move(*cri);
    source = std::make_unique<ingest::CriLogSource>(std::move(source), std::move(o));
  }
  if (auto lambda = applies("lambda")) {
    ingest::LambdaLogSourceOptions o;
    o.applies_to = std::move(*lambda);
    o.max_decompressed_bytes = max_record_bytes * kDecompressionFactor;
    source = std::make_unique<ingest::LambdaLogSource>(std::move(source), std::move(o));
  }
  return source;
}

// A pin (`--format`, `--tenant`) for a source that is not read is a mistake worth stopping for.
Status CheckPinnedSources(const std::map<std::string, uint16_t>& pins, std::string_view option,
                          const std::vector<std::string>& sources, std::string_view kind) {
  for (const auto& [source, id] : pins) {
    if (source.empty()) continue;
    if (std::find(sources.begin(), sources.end(), source) == sources.end()) {
      return Error(fmt::format("{} '{}=...': no {} '{}' is read", option, source, kind, source));
    }
  }
  return Ok();
}

// The pins of `--format`, checked against the sources given: a pin for a source that is not
// read is a mistake worth stopping for.
Result<std::map<std::string, uint16_t>> FormatPins(const CommonOptions& o,
                                                   const std::vector<std::string>& sources,
                                                   std::string_view kind) {
  auto pins = ParseFormatPins(o.formats);
  if (!pins.ok()) return pins;
  if (Status st = CheckPinnedSources(*pins, "--format", sources, kind); !st.ok()) return st.error();
  return pins;
}

Result<PipelineOptions> MakePipelineOptions(const CommonOptions& o) {
  PipelineOptions p;
  p.threads = o.threads;
  p.correlator.max_groups_per_rule = o.max_groups;
  if (o.lateness == "0" || o.lateness == "0s") {
    p.correlator.allowed_lateness = 0;
  } else {
    auto d = ParseDuration(o.lateness);
    if (!d) return Error(fmt::format("--lateness '{}': expected a duration such as 30s or 2m", o.lateness));
    p.correlator.allowed_lateness = *d;
  }
  return p;
}

int Fail(const Error& e) {
  fmt::print(stderr, "tuttle: error: {}\n", e.message());
  return 1;
}

using StreamKey = std::pair<std::string, int32_t>;

// --checkpoint-interval and --checkpoint-records into `p.checkpoint`.
Status PrepareCheckpointCadence(const CommonOptions& o, PipelineOptions& p) {
  p.checkpoint.records = o.checkpoint_records;
  // Sigma durations (30s, 5m), plus milliseconds.
  std::optional<TimeNs> interval;
  const std::string_view text = o.checkpoint_interval;
  if (text.size() > 2 && text.substr(text.size() - 2) == "ms") {
    int64_t ms = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size() - 2, ms);
    if (ec == std::errc() && end == text.data() + text.size() - 2 && ms > 0) {
      interval = ms * 1'000'000;
    }
  } else {
    interval = ParseDuration(text);
  }
  if (!interval || *interval <= 0) {
    return Error(fmt::format("--checkpoint-interval '{}': expected a duration such as 1s or 200ms",
                             o.checkpoint_interval));
  }
  p.checkpoint.interval = std::chrono::milliseconds(std::max<int64_t>(1, *interval / 1'000'000));
  return Ok();
}

// A run that checkpoints into `store`. Resuming, it restores the window state and returns where
// each stream starts again; otherwise it forgets any earlier checkpoint and starts afresh.
Result<std::map<StreamKey, int64_t>> PrepareCheckpoints(storage::Store& store, bool resume,
                                                        const CommonOptions& o,
                                                        PipelineOptions& p) {
  p.checkpoint.enabled = true;
  if (Status st = PrepareCheckpointCadence(o, p); !st.ok()) return st.error();
  std::map<StreamKey, int64_t> start;
  if (!resume) {
    if (Status st = store.ResetCheckpoint(); !st.ok()) return st.error();
    return start;
  }
  auto streams = store.Streams();
  if (!streams.ok()) return streams.error();
  auto has_state = store.HasState();
  if (!has_state.ok()) return has_state.error();
  if (*has_state) p.restore = &store;
  uint64_t replay = 0;
  for (const StreamCheckpoint& s : *streams) {
    start[{s.source, s.partition}] = s.resume;
    if (s.resume <= s.last) {
      p.replay_until[{s.source, s.partition}] = s.last;
      replay += static_cast<uint64_t>(s.last - s.resume + 1);
    }
  }
  if (!streams->empty()) {
    fmt::print(stderr,
               "tuttle: resuming from the checkpoint in {}: {} stream{}, {} record{} read again "
               "to rebuild signals waiting for the watermark\n",
               store.path(), streams->size(), streams->size() == 1 ? "" : "s", replay,
               replay == 1 ? "" : "s");
  }
  return start;
}

std::string CheckpointSummary(const PipelineStats& s) {
  if (s.checkpoints == 0) return {};
  return fmt::format("\n-- {} checkpoints ({:.1f} KB of window state){}", s.checkpoints,
                     static_cast<double>(s.checkpoint_bytes) / 1024.0,
                     s.restored_groups + s.dropped_state + s.replayed_records > 0
                         ? fmt::format("; restored {} groups ({} dropped: rules gone or "
                                       "changed), {} records replayed",
                                       s.restored_groups, s.dropped_state, s.replayed_records)
                         : std::string());
}

int Threads(const PipelineOptions& p);

// The inventory of a `run` or `replay` (docs/inventory.md), restored from `store` (nullptr:
// afresh) and set on `p`; nullptr with --no-inventory.
Result<std::unique_ptr<Inventory>> InventoryFor(const CommonOptions& o,
                                                const storage::Store* store, PipelineOptions& p) {
  if (!o.inventory) return std::unique_ptr<Inventory>();
  auto inventory = PrepareInventory(o.approved_inventory, store);
  if (inventory.ok()) p.inventory = inventory->get();
  return inventory;
}

// Feeds the demo topic of the embedded cluster: record i goes to partition i mod N, so the same
// sample always lands on the same partitions and offsets.
Status FeedDemoTopic(const std::string& brokers, const std::string& sample_path) {
  std::string text;
  if (sample_path.empty()) {
    for (const EmbeddedFile& f : DefaultSample()) text += f.data;
  } else {
    std::FILE* f = std::fopen(sample_path.c_str(), "rb");
    if (f == nullptr) return Error(fmt::format("cannot open sample '{}'", sample_path));
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
    std::fclose(f);
  }
  auto producer = ingest::KafkaProducer::Open(brokers);
  if (!producer.ok()) return producer.error();
  size_t start = 0;
  int32_t i = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    Status st = (*producer)->Produce(kDemoTopic, i % kDemoPartitions, {}, line);
    if (!st.ok()) return st;
    ++i;
  }
  return (*producer)->Flush(std::chrono::seconds(30));
}

// `--alerts-topic` / `kafka.alerts_topic`: the sink producing alerts there, or nullptr.
Result<std::unique_ptr<ingest::KafkaAlertSink>> OpenAlertsTopic(const RunOptions& o,
                                                                const std::string& brokers) {
  if (o.alerts_topic.empty()) return std::unique_ptr<ingest::KafkaAlertSink>();
  auto properties = ProducerProperties(o);
  if (!properties.ok()) return properties.error();
  ingest::KafkaAlertSinkOptions options;
  options.brokers = brokers;
  options.topic = o.alerts_topic;
  options.format = ParseAlertFormat(o.common.output.format).value_or(AlertFormat::kOcsf);
  options.properties = std::move(*properties);
  return ingest::KafkaAlertSink::Open(std::move(options));
}

// `--listen`: the API and console over the run's store (docs/api.md); nullptr when not asked.
// With `reloader` (set once the pipeline's reloader exists), /api/v1/rules and the coverage map
// show the rules in force and POST /api/v1/rules/reload is the hot reload (docs/reload.md).
Result<std::unique_ptr<ApiServer>> StartApi(const RunOptions& o, storage::Store& store,
                                            const Engine& engine, const MetricsRegistry* metrics,
                                            const std::atomic<RuleReloader*>* reloader = nullptr) {
  if (o.api.listen.empty()) return std::unique_ptr<ApiServer>();
  RunApiHooks hooks = StaticRuleHooks(engine.rules, engine.rules_origin);
  if (reloader != nullptr) {
    auto rules = [reloader, &engine] {
      RuleReloader* r = reloader->load();
      return r != nullptr ? r->rules() : std::shared_ptr<const RuleSet>(&engine.rules, [](const RuleSet*) {});
    };
    // Ready once the pipeline runs (its reloader exists): rules loaded, store open, source open.
    hooks.ready = [reloader](std::string& reason) {
      if (reloader->load() != nullptr) return true;
      reason = "the pipeline is starting";
      return false;
    };
    hooks.rules_json = [rules] { return RulesJson(*rules()); };
    hooks.coverage_json = [rules, &engine] {
      return CoverageJson(*rules(), engine.rules_origin, /*inventory=*/true);
    };
    hooks.reload = [reloader](const std::string& by) -> Result<std::string> {
      RuleReloader* r = reloader->load();
      if (r == nullptr) return Error("the pipeline is starting: retry in a moment");
      const ReloadResult result = r->Reload(Cat("api: ", by));
      fmt::print(stderr, "{}\n", result.ToText());
      // Refused: the report (diagnostics included) is the 422's body.
      if (result.status == ReloadResult::Status::kRefused) return Error(result.ToJson());
      return result.ToJson();
    };
  }
  auto server = StartRunApi(o.api, store, metrics, std::move(hooks));
  if (server.ok()) fmt::print(stderr, "tuttle: API and console at {}/\n", (*server)->Url());
  return server;
}

// Scale-out mode (docs/scaling.md): this process runs the match stage as a member of the input
// topics' group, sending signals to the signals topic, and the correlation stage as a member of
// the signals topic's group, with its window state in the changelog topic. It runs until stopped.
int RunScaledOut(const RunOptions& o, const Engine& engine, PipelineOptions pipeline_options,
                 ingest::KafkaSourceOptions ko, const std::map<std::string, uint16_t>& pins) {
  if (o.brokers.empty()) return Fail(Error("--scale-out needs --brokers"));
  const ScaleOutOptions& so = o.scale_out;
  const std::string signals = so.signals_topic.empty() ? o.group + "-signals" : so.signals_topic;
  const std::string changelog =
      so.changelog_topic.empty() ? o.group + "-changelog" : so.changelog_topic;
  const int partitions = so.partitions;
  if (Status st = ingest::EnsureTopic(ko.brokers, ko.properties, signals, partitions); !st.ok()) {
    return Fail(st.error());
  }
  if (Status st = ingest::EnsureTopic(ko.brokers, ko.properties, changelog, partitions,
                                      {{"cleanup.policy", "compact"}});
      !st.ok()) {
    return Fail(st.error());
  }
  auto inputs = ingest::TopicPartitions(ko.brokers, ko.properties, ko.topics);
  if (!inputs.ok()) return Fail(inputs.error());

  auto store = storage::Store::Open(o.common.store, o.common.store_options);
  if (!store.ok()) return Fail(store.error());
  auto outputs = AlertOutputs::Open(o.common.output, o.common.store, pipeline_options.metrics);
  if (!outputs.ok()) return Fail(outputs.error());
  auto api_server = StartApi(o, **store, engine, pipeline_options.metrics);
  if (!api_server.ok()) return Fail(api_server.error());
  AlertPrinter printer(stdout, o.json ? AlertPrinter::Format::kJson : AlertPrinter::Format::kText,
                       (*outputs)->format());
  // Both stages write to these; the alerts topic, file and webhook before the store (as in Run()).
  auto alerts_topic = OpenAlertsTopic(o, ko.brokers);
  if (!alerts_topic.ok()) return Fail(alerts_topic.error());
  std::optional<ingest::LockedSink> locked_topic;
  if (*alerts_topic) locked_topic.emplace(**alerts_topic);
  std::vector<AlertSink*> output_sinks;
  (*outputs)->AppendSinks(output_sinks);
  std::vector<std::unique_ptr<ingest::LockedSink>> locked_outputs;
  for (AlertSink* s : output_sinks) {
    locked_outputs.push_back(std::make_unique<ingest::LockedSink>(*s));
  }
  ingest::LockedSink locked_store(**store);
  ingest::LockedSink locked_printer(printer);
  std::vector<AlertSink*> shared;
  if (locked_topic) shared.push_back(&*locked_topic);
  for (const auto& s : locked_outputs) shared.push_back(s.get());
  shared.push_back(&locked_store);
  if (!o.quiet) shared.push_back(&locked_printer);
  auto producer_properties = ProducerProperties(o);
  if (!producer_properties.ok()) return Fail(producer_properties.error());

  ingest::CorrelationWorkerOptions wo;
  wo.brokers = ko.brokers;
  wo.properties = ko.properties;
  wo.group_id = o.group + "-correlate";
  wo.signals_topic = signals;
  wo.changelog_topic = changelog;
  wo.inputs = *inputs;
  wo.correlator = pipeline_options.correlator;
  {
    PipelineOptions cadence;
    if (Status st = PrepareCheckpointCadence(o.common, cadence); !st.ok()) return Fail(st.error());
    wo.checkpoint_interval = cadence.checkpoint.interval;
  }
  wo.checkpoint_messages = o.common.checkpoint_records;
  wo.metrics = pipeline_options.metrics;
  auto worker = ingest::CorrelationWorker::Open(engine.rules, wo, shared);
  if (!worker.ok()) return Fail(worker.error());

  auto exporter = ingest::SignalExporter::Open(engine.rules, ko.brokers, *producer_properties,
                                               signals, partitions);
  if (!exporter.ok()) return Fail(exporter.error());
  ko.follow = true;
  if (o.common.batch_records > 0) ko.batch_records = o.common.batch_records;
  auto kafka = ingest::KafkaSource::Open(ko);
  if (!kafka.ok()) return Fail(kafka.error());
  std::unique_ptr<RecordSource> source =
      WithTextLogs(std::move(*kafka), pins, o.common.max_record_bytes);
  (*store)->CancelWhen([src = source.get()] { return src->Stopped(); });
  std::vector<AlertSink*> sinks = shared;
  sinks.push_back(exporter->get());
  fmt::print(stderr,
             "tuttle: scale-out: matching {} in group '{}'; correlating '{}' ({} partitions) in "
             "group '{}', state in '{}'\n",
             fmt::join(ko.topics, ", "), ko.group_id, signals, partitions, wo.group_id, changelog);

  Status worker_status = Ok();
  std::thread correlation([&] {
    worker_status = (*worker)->Run();
    if (!worker_status.ok()) source->Stop();
  });
  // Input offsets are committed at each checkpoint, once the signals are acknowledged.
  pipeline_options.export_signals = true;
  pipeline_options.checkpoint.enabled = true;
  if (Status st = PrepareCheckpointCadence(o.common, pipeline_options); !st.ok()) {
    return Fail(st.error());
  }
  // Each member keeps the inventory of the records it matches (docs/inventory.md).
  auto inventory = InventoryFor(o.common, store->get(), pipeline_options);
  if (!inventory.ok()) return Fail(inventory.error());
  Pipeline pipeline(engine.rules, *engine.parser, pipeline_options);
  StopOnSignal(source.get());
  auto stats = pipeline.Run(*source, sinks);
  StopOnSignal(nullptr);
  (*worker)->Stop();
  correlation.join();
  if (!stats.ok()) return Fail(stats.error());
  if (!worker_status.ok()) return Fail(worker_status.error());
  const ingest::CorrelationWorkerStats ws = (*worker)->stats();
  std::FILE* summary_out = o.json ? stderr : stdout;
  fmt::print(summary_out,
             "-- {}\n-- correlation stage: {} messages, {} signals ({} duplicates dropped, {} "
             "replayed after restores, {} late, {} for unknown rules), {} alerts; {} checkpoints "
             "({:.1f} KB), {} groups restored; partitions assigned {}, revoked {}\n"
             "-- alerts and dead letters stored in {}\n",
             Summary(*stats, Threads(pipeline_options)), ws.messages, ws.signals, ws.duplicates,
             ws.replayed, ws.late_signals, ws.unknown_signals, ws.alerts, ws.checkpoints,
             static_cast<double>(ws.changelog_bytes) / 1024.0, ws.restored_groups, ws.assigned,
             ws.revoked, o.common.store);
  if (*inventory) fmt::print(summary_out, "{}\n", InventorySummary(**inventory));
  fmt::print(summary_out, "{}", (*outputs)->Summary());
  return 0;
}


int Run(const RunOptions& o) {
  auto pipeline_options = MakePipelineOptions(o.common);
  if (!pipeline_options.ok()) return Fail(pipeline_options.error());
  auto tenants = ParseTenantPins(o.common.tenants);
  if (!tenants.ok()) return Fail(tenants.error());
  auto parser_options = ParserOptions(o.common, *tenants);
  if (!parser_options.ok()) return Fail(parser_options.error());
  auto engine = LoadEngine(o.common.rules, o.common.pipelines, o.common.strict,
                           std::move(*parser_options));
  if (!engine.ok()) return Fail(engine.error());

  // Metrics (docs/metrics.md): the registry outlives the server, the source and the pipeline.
  MetricsRegistry metrics;
  std::unique_ptr<MetricsServer> metrics_server;
  if (!o.metrics_listen.empty()) {
    auto address = ParseListenAddress(o.metrics_listen);
    if (!address.ok()) return Fail(address.error());
    MetricsServerOptions mo;
    mo.host = address->first;
    mo.port = address->second;
    if (!o.metrics_token_file.empty()) {
      auto token = ReadTokenFile(o.metrics_token_file);
      if (!token.ok()) return Fail(token.error());
      mo.token = std::move(*token);
    }
    auto server = MetricsServer::Start(metrics, std::move(mo));
    if (!server.ok()) return Fail(server.error());
    metrics_server = std::move(*server);
    fmt::print(stderr, "tuttle: metrics at {}\n", metrics_server->Url());
    metrics.AddGauge("tuttle_build_info", "Always 1: the version label names the build",
                     {"version"})
        .With({TUTTLE_VERSION})
        .Set(1);
    pipeline_options->metrics = &metrics;
  } else if (!o.metrics_token_file.empty()) {
    return Fail(Error("--metrics-token-file needs --metrics-listen"));
  }
  if (!o.api.listen.empty() && pipeline_options->metrics == nullptr) {
    metrics.AddGauge("tuttle_build_info", "Always 1: the version label names the build",
                     {"version"})
        .With({TUTTLE_VERSION})
        .Set(1);
    pipeline_options->metrics = &metrics;
  }

  std::unique_ptr<ingest::MockCluster> cluster;
  ingest::KafkaSourceOptions ko;
  if (pipeline_options->metrics != nullptr) ko.metrics = &metrics;
  ko.follow = o.follow;
  ko.group_id = o.group;
  auto consumer_properties = ConsumerProperties(o);
  if (!consumer_properties.ok()) return Fail(consumer_properties.error());
  ko.properties = std::move(*consumer_properties);
  if (o.brokers.empty()) {
    // The embedded default: an in-process Kafka cluster fed with the bundled sample.
    auto c = ingest::MockCluster::Start(1);
    if (!c.ok()) return Fail(c.error());
    cluster = std::move(*c);
    if (Status st = cluster->CreateTopic(kDemoTopic, kDemoPartitions); !st.ok()) {
      return Fail(st.error());
    }
    if (Status st = FeedDemoTopic(cluster->bootstrap_servers(), o.sample); !st.ok()) {
      return Fail(st.error());
    }
    ko.brokers = cluster->bootstrap_servers();
    ko.topics = {kDemoTopic};
    // The in-process broker answers at once; don't idle 500 ms at each partition's end.
    ko.properties.insert(ko.properties.begin(), {"fetch.wait.max.ms", "10"});
    fmt::print(stderr,
               "tuttle: embedded Kafka cluster at {}: topic '{}' ({} partitions) holds the {}; "
               "joining group '{}'\n",
               ko.brokers, kDemoTopic, kDemoPartitions,
               o.sample.empty() ? "bundled sample" : "sample " + o.sample, ko.group_id);
  } else {
    if (o.topics.empty()) return Fail(Error("--topic is required with --brokers"));
    ko.brokers = o.brokers;
    ko.topics = o.topics;
  }
  auto pins = FormatPins(o.common, ko.topics, "topic");
  if (!pins.ok()) return Fail(pins.error());
  ko.formats = *pins;
  if (Status st = CheckPinnedSources(tenants->ids, "--tenant", ko.topics, "topic"); !st.ok()) {
    return Fail(st.error());
  }
  ko.tenants = tenants->ids;

  if (o.scale_out.enabled) return RunScaledOut(o, *engine, *pipeline_options, ko, *pins);

  auto store = storage::Store::Open(o.common.store, o.common.store_options);
  if (!store.ok()) return Fail(store.error());
  std::atomic<RuleReloader*> api_reloader{nullptr};  // set below, once the reloader exists
  auto api_server = StartApi(o, **store, *engine, &metrics, &api_reloader);
  if (!api_server.ok()) return Fail(api_server.error());
  // The embedded cluster starts empty each run: nothing to resume.
  auto start = PrepareCheckpoints(**store, !cluster, o.common, *pipeline_options);
  if (!start.ok()) return Fail(start.error());
  ko.start_offsets = *start;
  if (o.common.batch_records > 0) ko.batch_records = o.common.batch_records;
  auto kafka = ingest::KafkaSource::Open(ko);
  if (!kafka.ok()) return Fail(kafka.error());
  std::unique_ptr<RecordSource> source =
      WithTextLogs(std::move(*kafka), *pins, o.common.max_record_bytes);
  (*store)->CancelWhen([src = source.get()] { return src->Stopped(); });
  auto outputs = AlertOutputs::Open(o.common.output, o.common.store, &metrics);
  if (!outputs.ok()) return Fail(outputs.error());
  AlertPrinter printer(stdout, o.json ? AlertPrinter::Format::kJson : AlertPrinter::Format::kText,
                       (*outputs)->format());
  // The alerts topic, file and webhook go before the store: the store writes the checkpoint a
  // restart resumes from, so it must not move past alerts they have not taken.
  auto alerts_topic = OpenAlertsTopic(o, ko.brokers);
  if (!alerts_topic.ok()) return Fail(alerts_topic.error());
  std::vector<AlertSink*> sinks;
  if (*alerts_topic) sinks.push_back(alerts_topic->get());
  (*outputs)->AppendSinks(sinks);
  sinks.push_back(store->get());
  if (!o.quiet) sinks.push_back(&printer);

  // The embedded demo replays the same sample each time: its inventory starts afresh too.
  auto inventory = InventoryFor(o.common, cluster ? nullptr : store->get(), *pipeline_options);
  if (!inventory.ok()) return Fail(inventory.error());

  // Hot reload (docs/reload.md): SIGHUP, a change to the rule files, or the API.
  RuleSwitch rule_switch;
  pipeline_options->rule_switch = &rule_switch;
  RuleReloaderOptions reload_options;
  reload_options.rule_paths = o.common.rules;
  reload_options.pipeline_files = o.common.pipelines;
  reload_options.parser_options = engine->parser->options();
  reload_options.watch = o.common.watch_rules;
  if (pipeline_options->metrics != nullptr) reload_options.metrics = &metrics;
  RuleReloader reloader(std::move(reload_options), rule_switch,
                        std::shared_ptr<const RuleSet>(&engine->rules, [](const RuleSet*) {}));
  InstallSighupHandler();
  reloader.Start();
  api_reloader.store(&reloader);

  Pipeline pipeline(engine->rules, *engine->parser, *pipeline_options);
  StopOnSignal(source.get());
  auto stats = pipeline.Run(*source, sinks);
  StopOnSignal(nullptr);
  if (*api_server) (*api_server)->Stop();
  api_reloader.store(nullptr);
  reloader.Stop();
  if (metrics_server) metrics_server->Stop();
  if (!stats.ok()) return Fail(stats.error());
  std::FILE* summary_out = o.json ? stderr : stdout;
  fmt::print(summary_out, "-- {}{}{}\n-- alerts and dead letters stored in {}\n",
             Summary(*stats, Threads(*pipeline_options)), CheckpointSummary(*stats),
             stats->reloads > 0 ? fmt::format("; {} rule reloads", stats->reloads) : "",
             o.common.store);
  if (*inventory) fmt::print(summary_out, "{}\n", InventorySummary(**inventory));
  if (*alerts_topic) {
    fmt::print(summary_out, "-- {} alerts acknowledged by topic '{}'\n",
               (*alerts_topic)->delivered(), o.alerts_topic);
  }
  fmt::print(summary_out, "{}", (*outputs)->Summary());
  return 0;
}

struct ReplayOptions {
  CommonOptions common;
  std::vector<std::string> files;
  bool resume = false;
  int progress = -1;  // --progress 1, --no-progress 0, else: when stderr is a terminal
};

int Replay(const ReplayOptions& o) {
  auto pipeline_options = MakePipelineOptions(o.common);
  if (!pipeline_options.ok()) return Fail(pipeline_options.error());
  auto tenants = ParseTenantPins(o.common.tenants);
  if (!tenants.ok()) return Fail(tenants.error());
  auto parser_options = ParserOptions(o.common, *tenants);
  if (!parser_options.ok()) return Fail(parser_options.error());
  auto engine = LoadEngine(o.common.rules, o.common.pipelines, o.common.strict,
                           std::move(*parser_options));
  if (!engine.ok()) return Fail(engine.error());
  auto pins = FormatPins(o.common, o.files, "file");
  if (!pins.ok()) return Fail(pins.error());
  if (Status st = CheckPinnedSources(tenants->ids, "--tenant", o.files, "file"); !st.ok()) {
    return Fail(st.error());
  }
  ingest::FileSourceOptions fo;
  fo.formats = *pins;
  fo.tenants = tenants->ids;
  if (o.common.batch_records > 0) fo.batch_records = o.common.batch_records;
  std::unique_ptr<storage::Store> store;
  if (o.resume && o.common.store.empty()) return Fail(Error("--resume needs --store"));
  if (!o.common.store.empty()) {
    auto s = storage::Store::Open(o.common.store, o.common.store_options);
    if (!s.ok()) return Fail(s.error());
    store = std::move(*s);
    auto start = PrepareCheckpoints(*store, o.resume, o.common, *pipeline_options);
    if (!start.ok()) return Fail(start.error());
    for (const auto& [stream, line] : *start) fo.start_lines[stream.first] = line;
  }
  // Lines past the parser's limit are cut, but still longer than it: dead-lettered as too large.
  fo.max_record_bytes = std::max(fo.max_record_bytes, o.common.max_record_bytes + 1);
  auto files = ingest::FileSource::Open(o.files, fo);
  if (!files.ok()) return Fail(files.error());
  std::unique_ptr<RecordSource> source =
      WithTextLogs(std::move(*files), *pins, o.common.max_record_bytes);
  std::optional<ProgressMeter> progress;
  if (WantProgress(o.progress)) {
    progress.emplace(stderr, InputBytes(o.files));
    source = std::make_unique<ProgressSource>(std::move(source), *progress);
  }
  if (store) store->CancelWhen([src = source.get()] { return src->Stopped(); });
  auto outputs = AlertOutputs::Open(o.common.output, o.common.store, nullptr);
  if (!outputs.ok()) return Fail(outputs.error());
  AlertPrinter printer(stdout, AlertPrinter::Format::kJson, (*outputs)->format());
  std::vector<AlertSink*> sinks;
  (*outputs)->AppendSinks(sinks);
  if (store) sinks.push_back(store.get());
  sinks.push_back(&printer);
  auto inventory = InventoryFor(o.common, store.get(), *pipeline_options);
  if (!inventory.ok()) return Fail(inventory.error());
  Pipeline pipeline(engine->rules, *engine->parser, *pipeline_options);
  StopOnSignal(source.get());
  if (progress) progress->Start();
  auto stats = pipeline.Run(*source, sinks);
  if (progress) progress->Stop();
  StopOnSignal(nullptr);
  if (!stats.ok()) return Fail(stats.error());
  fmt::print(stderr, "-- {}{}\n", Summary(*stats, Threads(*pipeline_options)),
             CheckpointSummary(*stats));
  if (*inventory) fmt::print(stderr, "{}\n", InventorySummary(**inventory));
  fmt::print(stderr, "{}", (*outputs)->Summary());
  return 0;
}

int Threads(const PipelineOptions& p) {
  return p.threads > 0 ? p.threads : static_cast<int>(std::thread::hardware_concurrency());
}

}  // namespace
}  // namespace tuttle::tools

int main(int argc, char** argv) {
  using namespace tuttle::tools;
#if defined(__x86_64__) && defined(__AVX2__)
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("bmi") ||
      !__builtin_cpu_supports("pclmul")) {
    std::fputs("tuttle: this build needs an x86-64-v3 CPU (AVX2, BMI, PCLMUL); rebuild with "
               "-DTUTTLE_MARCH=x86-64\n", stderr);
    return 1;
  }
#endif
  CLI::App app{"Tuttle: correlation engine for container and serverless telemetry"};
  app.require_subcommand(1);
  app.set_version_flag("--version", TUTTLE_VERSION);

  RunOptions run;
  run.common.store = "./var/tuttle";
  CLI::App* run_cmd = app.add_subcommand(
      "run", "Consume Kafka and raise alerts. Without --brokers: the embedded demo (an "
             "in-process Kafka cluster fed with the bundled sample)");
  AddCommon(run_cmd, run.common);
  run_cmd->add_option("-s,--store", run.common.store,
                      "RocksDB store folder: alerts, dead letters, and the checkpoint a restart "
                      "resumes from")
      ->capture_default_str();
  AddCheckpointOptions(run_cmd, run.common);
  run_cmd->add_flag("--json", run.json, "Print alerts as JSON lines (in --alert-format)");
  run_cmd->add_flag("-f,--follow", run.follow, "Keep consuming after the end of the topics");
  run_cmd->add_flag("-q,--quiet", run.quiet, "Do not print alerts (still stored)");
  run_cmd->add_option("-b,--brokers", run.brokers, "Kafka bootstrap servers (host:port,...)");
  run_cmd->add_option("--topic", run.topics, "Topic to consume (repeatable)");
  run_cmd->add_option("-g,--group", run.group, "Consumer group id")->capture_default_str();
  run_cmd->add_option("-X", run.properties,
                      "librdkafka property key=value (repeatable): TLS, SASL, ...");
  run_cmd->add_flag("--scale-out", run.scale_out.enabled,
                    "Scale out over many processes (docs/scaling.md): signals are re-keyed into a "
                    "signals topic and correlated by whichever member owns their group; runs "
                    "until stopped");
  run_cmd->add_option("--signals-topic", run.scale_out.signals_topic,
                      "Scale-out: the signals (repartition) topic; default: GROUP-signals");
  run_cmd->add_option("--changelog-topic", run.scale_out.changelog_topic,
                      "Scale-out: the compacted changelog topic of the window state; default: "
                      "GROUP-changelog");
  run_cmd->add_option("--signals-partitions", run.scale_out.partitions,
                      "Scale-out: partitions of the signals and changelog topics (the most "
                      "correlation members that can share the work); fixed once created")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  run_cmd->add_option("--sample", run.sample,
                      "Embedded demo only: feed this JSON-lines file instead of the bundled sample");
  run_cmd->add_option("--metrics-listen", run.metrics_listen,
                      "Serve Prometheus metrics on http://HOST:PORT/metrics (and /healthz); port 0 "
                      "picks a free one. Default: off (docs/metrics.md). A metrics-only "
                      "endpoint: --listen serves /metrics beside the API")
      ->type_name("HOST:PORT");
  run_cmd->add_option("--metrics-token-file", run.metrics_token_file,
                      "Require 'Authorization: Bearer <token>' on /metrics, the token read from "
                      "this file");
  run_cmd->add_option("--listen", run.api.listen,
                      "Serve the HTTP API, web console, /metrics, /healthz and /readyz on "
                      "HOST:PORT (docs/api.md). Default: off")
      ->type_name("HOST:PORT");
  AddApiListenOptions(run_cmd, run.api);
  run_cmd->add_option("--alerts-topic", run.alerts_topic,
                      "Also produce each alert to this Kafka topic (key: the alert id; at least "
                      "once; docs/kafka.md)");
  run_cmd->add_option("-c,--config", run.config,
                      "YAML config file (docs/kafka.md#configuration-file); flags override it");
  run_cmd->add_flag("!--no-watch-rules", run.common.watch_rules,
                    "Do not reload the rules when their files change (SIGHUP still reloads; "
                    "docs/reload.md)");
  run_cmd->add_flag("--check-config", run.check_config,
                    "Validate the configuration, print it with secrets masked, and exit");

  ReplayOptions replay;
  CLI::App* replay_cmd = app.add_subcommand(
      "replay", "Run the pipeline over JSON-lines files ('-' for stdin); alerts go to stdout as "
                "OCSF JSON lines, diagnostics to stderr");
  AddCommon(replay_cmd, replay.common);
  replay_cmd->add_option("-s,--store", replay.common.store,
                         "Also store alerts in this RocksDB folder, with checkpoints");
  replay_cmd->add_flag("--resume", replay.resume,
                       "Carry on from the store's checkpoint (after a crash or a stop) instead of "
                       "starting the files afresh");
  AddCheckpointOptions(replay_cmd, replay.common);
  replay_cmd->add_flag_function(
      "--progress,!--no-progress", [&replay](int64_t n) { replay.progress = n > 0 ? 1 : 0; },
      "Show (or not) a progress line on stderr; default: when stderr is a terminal");
  replay_cmd->add_option("files", replay.files, "JSON-lines files, in order; '-' for stdin")
      ->required();

  CLI::App* rules_cmd = app.add_subcommand("rules", "Check and test Sigma rules");
  rules_cmd->require_subcommand(1);
  RulesCheckOptions check;
  CLI::App* check_cmd = rules_cmd->add_subcommand(
      "check", "Validate rule files and folders: located errors, rules loaded and skipped, "
               "Hyperscan patterns and databases, compile time. Exit 1 on any error");
  check_cmd->add_option("paths", check.paths, "Rule files or folders")->required();
  check_cmd->add_flag("-l,--list", check.list, "List every loaded rule");
  AddPipelineOption(check_cmd, check.pipelines);
  RulesTestOptions test;
  CLI::App* test_cmd = rules_cmd->add_subcommand(
      "test", "Load the rules under PATH and run the rule tests (*.test.yml) found there "
              "(docs/rule-tests.md). Exit 1 on any failure");
  test_cmd->add_option("paths", test.paths, "Folders or files with rules and rule tests")
      ->required();
  test_cmd->add_flag("-v,--verbose", test.verbose, "Print passing tests too");
  AddPipelineOption(test_cmd, test.pipelines);

  CoverageOptions coverage;
  CLI::App* coverage_cmd = app.add_subcommand(
      "coverage", "Which ATT&CK Containers-matrix techniques the rules cover (by their "
                  "attack.tXXXX tags), as a table; --navigator writes an ATT&CK Navigator layer");
  coverage_cmd
      ->add_option("-r,--rules", coverage.rules,
                   "Sigma rule files or folders (repeatable); default: the embedded rule pack")
      ->allow_extra_args(false);
  AddPipelineOption(coverage_cmd, coverage.pipelines);
  coverage_cmd->add_option("-o,--navigator", coverage.navigator,
                           "Write an ATT&CK Navigator layer (JSON, layer format 4.5) to FILE")
      ->type_name("FILE");
  coverage_cmd->add_flag("!--no-inventory", coverage.inventory,
                         "Leave out the inventory's built-in first-seen findings");
  coverage_cmd->add_flag("--json", coverage.json,
                         "Print the coverage as one JSON document instead of the table");

  GenerateOptions generate;
  CLI::App* generate_cmd = AddGenerateCommand(app, generate);

  CLI::App* version_cmd = app.add_subcommand("version", "Print the version");
  StoreCommands store_commands(app);
  InventoryCommand inventory_command(app);
  ServeOptions serve;
  CLI::App* serve_cmd = AddServeCommand(app, serve);

  CLI11_PARSE(app, argc, argv);
  if (run_cmd->parsed()) {
    if (!run.config.empty()) {
      tuttle::Diagnostics diagnostics;
      const tuttle::Status st = LoadRunConfig(
          run.config,
          [run_cmd](std::string_view flag) { return run_cmd->count(std::string(flag)) > 0; },
          run, diagnostics);
      for (const tuttle::Diagnostic& d : diagnostics) fmt::print(stderr, "{}\n", d.ToString());
      if (!st.ok()) return Fail(st.error());
    }
    if (run.check_config) {
      if (tuttle::Status st = CheckRunOptions(run); !st.ok()) return Fail(st.error());
      fmt::print("{}", EffectiveConfig(run));
      return 0;
    }
    return Run(run);
  }
  if (replay_cmd->parsed()) {
    if (tuttle::Status st = CheckAlertOutputOptions(replay.common.output); !st.ok()) {
      return Fail(st.error());
    }
    return Replay(replay);
  }
  if (check_cmd->parsed()) return RulesCheck(check);
  if (test_cmd->parsed()) return RulesTest(test);
  if (coverage_cmd->parsed()) return Coverage(coverage);
  if (generate_cmd->parsed()) return Generate(generate);
  if (serve_cmd->parsed()) return Serve(serve);
  if (auto rc = store_commands.Run()) return *rc;
  if (auto rc = inventory_command.Run()) return *rc;
  if (version_cmd->parsed()) {
    fmt::print("tuttle {}\n", TUTTLE_VERSION);
    return 0;
  }
  return 0;
}
