#pragma once
// CriLogSource: a RecordSource decorator that reads CRI container log lines from another source
// (files of /var/log/containers, or a Kafka topic with one line per message) and hands the
// pipeline JSON records, partial lines joined (CriAssembler; docs/formats.md).
//
// Why a decorator: joining needs the lines of a stream in order, which only the serial read
// stage has; the parallel parse stage sees batches in any order. The decorator keeps the
// pipeline unchanged: wrap the source before Pipeline::Run,
//
//   auto files = FileSource::Open(paths);
//   CriLogSource cri(std::move(*files));
//   pipeline.Run(cri, sinks);
//
// and the JSON parser reads the records like any other (format "cri").
//
// Stream events of the inner batch are kept at their place among the records. An end of file
// (kIdle on a file) or the end of input ends the unfinished sequences of that file (all files)
// as truncated; a revoked Kafka partition drops its own silently. Rejected lines go into the
// batch (RecordBatch::rejected()), which the pipeline dead-letters.
//
// Commit() passes positions on to the inner source, each held back before the first line of a
// sequence that was not yet finished, so a restarted consumer re-reads every line of it.
//
// Thread-safety: Next() and Commit() may run at the same time (the pipeline's read and emit
// stages); the assembler is guarded by a mutex. Stop() is safe from any thread.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <functional>

#include "tuttle/engine/record_source.h"
#include "tuttle/ingest/cri_assembler.h"

namespace tuttle::ingest {

struct CriLogSourceOptions {
  CriAssemblerOptions assembler;
  // Which sources (file paths, Kafka topics) hold CRI lines; records of the others pass through
  // unchanged. Empty: all of them.
  std::function<bool(std::string_view source)> applies_to;
  // When true, a record that does not look like a CRI line (LooksLikeCriLine), e.g. a JSON
  // record in a mixed topic, passes through unchanged instead of being rejected. Default: false.
  bool pass_through_other = false;
};

class CriLogSource final : public RecordSource {
 public:
  explicit CriLogSource(std::unique_ptr<RecordSource> inner, CriLogSourceOptions options = {});

  Result<bool> Next(RecordBatch& batch) override;
  Status Commit(const std::vector<SourcePosition>& positions) override;
  void Stop() override { inner_->Stop(); }
  bool Stopped() const override { return inner_->Stopped(); }

  // Unfinished sequences held now (for tests and metrics).
  size_t pending() const;

 private:
  std::unique_ptr<RecordSource> inner_;
  CriLogSourceOptions options_;
  mutable std::mutex mu_;
  CriAssembler assembler_;  // guarded by mu_
  RecordBatch in_;
  bool ended_ = false;  // the inner source has finished
};

}  // namespace tuttle::ingest
