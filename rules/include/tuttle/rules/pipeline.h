#pragma once
// Processing pipelines: YAML files in pySigma's format that adapt rules written for another field
// taxonomy or log source to the records Tuttle reads, so detection engineers run SigmaHQ rules
// unchanged. A pipeline renames fields (`Image` -> `output_fields.proc.exepath`), adds
// conditions, rewrites log sources, drops detection items, fills placeholders and refuses rules it
// cannot translate. CompileRules applies the pipelines of CompileOptions::pipelines to every rule
// before compiling it.
//
// The YAML shape (pySigma's ProcessingPipeline.from_dict; see docs/rules.md for the full list):
//
//   name: Sysmon for Linux to Falco
//   priority: 20                  # pipelines apply in ascending priority
//   vars:                         # placeholder name -> values, for `|expand`
//     admins: [root, admin]
//   transformations:
//     - id: falco_process_fields
//       type: field_name_mapping
//       mapping:
//         Image: output_fields.proc.exepath
//         User: [output_fields.user.name, output_fields.user.loginname]  # a list means OR
//       rule_conditions:
//         - type: logsource
//           product: linux
//           category: process_creation
//     - id: falco_logsource
//       type: change_logsource
//       product: falco
//       rule_conditions:
//         - type: logsource
//           product: linux
//           category: process_creation
//
// Supported transformation types: field_name_mapping, field_name_prefix_mapping,
// field_name_prefix, field_name_suffix, drop_detection_item, add_condition, change_logsource,
// value_placeholders, rule_failure, detection_item_failure. Rule conditions: logsource, tag,
// is_sigma_rule, is_sigma_correlation_rule, processing_item_applied, joined by rule_cond_op (and,
// or), rule_cond_not or rule_cond_expr. Field name conditions: include_fields and exclude_fields
// (plain or re), joined the same way. Anything else is a located error naming it.
//
// Where Tuttle differs from pySigma:
//   - Log source conditions compare ASCII case-insensitively, as rules match records.
//   - Correlation rules: group-by, alias and value_count fields are renamed with the field name
//     transformations that apply to each referenced detection rule (the field is read from that
//     rule's events); rule conditions are not evaluated against the correlation rule itself.
//   - value_placeholders makes `vars` available to the `expand` modifier of every rule (through
//     CompileOptions::placeholders); its rule and field name conditions cannot narrow that and
//     are reported as warnings.
//   - Keywords (values without a field) are never renamed, dropped or failed.
//   - An item counts as applied (processing_item_applied) when its rule conditions hold, whether
//     or not it changed a field.
//   - A map of fields whose items are all dropped matches every record.
//
// Thread-safety: a ProcessingPipeline is immutable once loaded; one may be shared by concurrent
// CompileRules calls.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tuttle/engine/diagnostic.h"
#include "tuttle/engine/result.h"
#include "tuttle/rules/rule_source.h"

namespace tuttle::rules {

// The parsed transformations of a pipeline (rules/src/pipeline_program.h).
struct PipelineProgram;

struct ProcessingPipeline {
  // `name`; may be empty. Diagnostics name the pipeline by it, else by its file.
  std::string name;
  // `priority` (default 0). CompileRules applies pipelines in ascending priority; pipelines of
  // equal priority in the order CompileOptions::pipelines lists them. pySigma's convention: 10
  // for log source pipelines, 20 for field naming, 50 and up for environment-specific ones.
  int priority = 0;
  // `vars`: placeholder name -> values (a single value is a list of one).
  std::map<std::string, std::vector<std::string>> vars;
  // The file it was loaded from.
  std::string path;
  // The transformations, parsed and checked. Shared and immutable.
  std::shared_ptr<const PipelineProgram> program;
};

// Parses one pipeline file (a single YAML document). Problems are located diagnostics in
// `source` (file:line:column, with a hint); warnings (keys pySigma knows that mean nothing to
// Tuttle, such as `postprocessing`) do not fail the load. Fails when there is any error: a
// pipeline is applied whole or not at all, since half of a field mapping silently breaks rules.
Result<ProcessingPipeline> LoadPipeline(const RuleSource& source, Diagnostics& diagnostics);

// Adds the `vars` of `pipelines` to `placeholders` (CompileOptions::placeholders). A name that
// several pipelines define gets the values of the one applied last (highest priority), as pySigma
// does when it merges pipelines.
void MergePipelineVars(const std::vector<ProcessingPipeline>& pipelines,
                       std::map<std::string, std::vector<std::string>>& placeholders);

}  // namespace tuttle::rules
