#pragma once
// What `tuttle run` and `tuttle replay` share: loading rules (files or the embedded pack), the
// parser over the same field catalog, the store, the sinks, and the closing summary.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tuttle/engine/pipeline.h"
#include "tuttle/engine/rule_set.h"
#include "tuttle/ingest/json_record_parser.h"
#include "tuttle/rules/sigma_loader.h"

namespace tuttle::tools {

struct Engine {
  RuleSet rules;
  std::unique_ptr<ingest::JsonRecordParser> parser;
  std::string rules_origin;  // "embedded pack" or the paths
};

// The rule pack's placeholders and their default values (`production_namespaces`: prod,
// production, prod-*, ...), for the `expand` modifier; a pipeline's `vars` replace them.
const std::map<std::string, std::vector<std::string>>& PackPlaceholders();

// Reads the processing pipeline files (`--pipeline`, repeatable) into `options.pipelines` and
// merges their `vars` into `options.placeholders`, over PackPlaceholders(). Diagnostics go to
// stderr as file:line:col;
// any error fails (a pipeline applies whole or not at all).
Status AddPipelines(const std::vector<std::string>& files, rules::CompileOptions& options);

// Reads the data contract files (`--contracts`, repeatable); nullptr when none. Diagnostics go
// to stderr as file:line:col; any error fails.
Result<std::shared_ptr<const contracts::ContractSet>> LoadContracts(
    const std::vector<std::string>& files);

// Loads rules from `paths` (files or folders), or the embedded pack when empty, through the
// processing pipelines in `pipeline_files`. Rule errors are printed to stderr as file:line:col
// diagnostics; with `strict` any error fails.
// With `diagnostics`, the rule diagnostics are also appended there (a refused reload reports
// them), and with `quiet` they and the rule counts are not printed.
Result<Engine> LoadEngine(const std::vector<std::string>& paths,
                          const std::vector<std::string>& pipeline_files, bool strict,
                          ingest::JsonRecordParserOptions parser_options = {},
                          Diagnostics* diagnostics = nullptr, bool quiet = false);

// `--format [SOURCE=]FORMAT` values: the format pinned for each named source (a file as given on
// the command line, or a Kafka topic), and for every other source (key ""). Errors name the
// unknown format and list the known ones.
Result<std::map<std::string, uint16_t>> ParseFormatPins(const std::vector<std::string>& values);

// `--tenant [SOURCE=]NAME` values: the parser's tenant table (JsonRecordParserOptions::tenants)
// and the tenant id (RecordMeta::tenant) fixed for each named source and for every other source
// (key ""). SOURCE is split off at the last '='. An empty NAME is an error.
struct TenantPins {
  std::vector<std::string> names;         // id k names names[k - 1]
  std::map<std::string, uint16_t> ids;   // by source
};
Result<TenantPins> ParseTenantPins(const std::vector<std::string>& values);

// "612 records (598.1 KB), 611 events, ... 12,345 events/s".
std::string Summary(const PipelineStats& stats, int threads);

// Installs SIGINT/SIGTERM handlers that stop `source` (nullptr: uninstall).
void StopOnSignal(RecordSource* source);

}  // namespace tuttle::tools
