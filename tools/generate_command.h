#pragma once
// `tuttle generate`: a deterministic generator of realistic container and serverless telemetry,
// for benchmarks (docs/bench.md). It writes JSON lines in the platforms' own formats (Kubernetes
// audit, AKS and GKE audit, Falco, Docker events, CloudTrail, GCP audit, Azure Activity and
// Function App logs) that `tuttle replay` reads with format detection:
//   - routine background records that match no detection rule of the bundled pack;
//   - a `match_rate` fraction of background records that match a single-event rule, with their
//     correlation group-by values (users, addresses, namespaces) drawn from `groups` values;
//   - a few denied Lambda invocations, each from its own address (below any burst threshold);
//   - `stories` planted attacks with story-unique entities, each raising known correlations,
//     written to the `expect` file.
// The same options give byte-identical output on any machine: the generator uses its own PRNG
// (xoshiro256**) and integer arithmetic, never the standard library's distributions.

#include <cstdint>
#include <string>

namespace CLI {
class App;
}  // namespace CLI

namespace tuttle::tools {

struct GenerateOptions {
  uint64_t records = 1'000'000;  // lines written, stories included
  std::string output;            // file; empty or "-": stdout
  uint64_t seed = 1;             // same seed and options: same bytes
  double match_rate = 0.01;      // fraction of background records matching a detection rule
  uint64_t groups = 10'000;      // distinct group-by values among matching background records
  int64_t stories = -1;          // planted attack stories; -1: one per 100,000 records, >= 1
  std::string expect;            // write the stories' expected alerts here (JSON); empty: don't
  std::string start = "2026-03-14T00:00:00Z";  // event time of the first record (RFC 3339)
  uint64_t events_per_second = 1000;           // records per second of event time
};

// Registers `tuttle generate` on `app`, filling `options` when it is parsed.
CLI::App* AddGenerateCommand(CLI::App& app, GenerateOptions& options);

// Writes the records (and the expect file). Prints a one-line summary to stderr. Returns the exit
// code: 0, or 1 on bad options or an unwritable output.
int Generate(const GenerateOptions& options);

}  // namespace tuttle::tools
