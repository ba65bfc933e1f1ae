#pragma once
// FileSource: JSON-lines files (or "-" for standard input) read in the order given, each line one
// record. Positions are (file path, 1-based line number). Blank lines are skipped; a line longer
// than max_record_bytes is cut there and dead-lettered by the parser as malformed.

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tuttle/engine/record_source.h"

namespace tuttle::ingest {

struct FileSourceOptions {
  // Records per batch. Default: 1024.
  size_t batch_records = 1024;
  // Longest line kept whole, in bytes. Default: 16 MiB. Longer lines are cut here (the parser's
  // own limit, JsonRecordParserOptions::max_record_bytes, then dead-letters them).
  size_t max_record_bytes = 16u << 20;
  // The format pinned for a file's records (RecordMeta::format), by path as given; the key ""
  // applies to every file not named. Default: none, the parser detects each record's format.
  std::map<std::string, uint16_t> formats;
  // Resuming after a checkpoint: by path, the first line to deliver (earlier lines are skipped
  // unread, though still counted). Default: none, every line.
  std::map<std::string, int64_t> start_lines;
  // The tenant fixed for a file's records (RecordMeta::tenant, an id of
  // JsonRecordParserOptions::tenants), by path as given; the key "" applies to every file not
  // named. Default: none, each record's tenant is the one it names.
  std::map<std::string, uint16_t> tenants;
};

class FileSource final : public RecordSource {
 public:
  // Fails when a file cannot be opened; all files are checked before any is read.
  static Result<std::unique_ptr<FileSource>> Open(std::vector<std::string> paths,
                                                  FileSourceOptions options = {});
  ~FileSource() override;

  Result<bool> Next(RecordBatch& batch) override;
  Status Commit(const std::vector<SourcePosition>&) override { return Ok(); }
  void Stop() override { stop_.store(true); }
  bool Stopped() const override { return stop_.load(); }

 private:
  FileSource(std::vector<std::string> paths, FileSourceOptions options);
  bool OpenNext();

  std::vector<std::string> paths_;
  FileSourceOptions options_;
  size_t next_file_ = 0;
  std::FILE* file_ = nullptr;
  std::string current_;
  uint16_t current_format_ = 0;
  int64_t current_start_ = 0;
  uint16_t current_tenant_ = 0;
  int64_t line_number_ = 0;
  char* line_ = nullptr;  // getline(3) buffer
  size_t line_capacity_ = 0;
  std::atomic<bool> stop_{false};
};

}  // namespace tuttle::ingest
