#include "tuttle/ingest/file_source.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <stdio.h>

#include <fmt/format.h>

namespace tuttle::ingest {

Result<std::unique_ptr<FileSource>> FileSource::Open(std::vector<std::string> paths,
                                                     FileSourceOptions options) {
  if (paths.empty()) return Error("no input files");
  for (const auto& p : paths) {
    if (p == "-") continue;
    std::FILE* f = std::fopen(p.c_str(), "rb");
    if (f == nullptr) return Error(fmt::format("cannot open '{}': {}", p, std::strerror(errno)));
    std::fclose(f);
  }
  return std::unique_ptr<FileSource>(new FileSource(std::move(paths), options));
}

FileSource::FileSource(std::vector<std::string> paths, FileSourceOptions options)
    : paths_(std::move(paths)), options_(options) {}

FileSource::~FileSource() {
  if (file_ != nullptr && file_ != stdin) std::fclose(file_);
  std::free(line_);
}

bool FileSource::OpenNext() {
  while (next_file_ < paths_.size()) {
    current_ = paths_[next_file_++];
    line_number_ = 0;
    auto pin = options_.formats.find(current_);
    if (pin == options_.formats.end()) pin = options_.formats.find("");
    current_format_ = pin == options_.formats.end() ? 0 : pin->second;
    auto start = options_.start_lines.find(current_);
    current_start_ = start == options_.start_lines.end() ? 0 : start->second;
    auto tenant = options_.tenants.find(current_);
    if (tenant == options_.tenants.end()) tenant = options_.tenants.find("");
    current_tenant_ = tenant == options_.tenants.end() ? 0 : tenant->second;
    file_ = current_ == "-" ? stdin : std::fopen(current_.c_str(), "rb");
    if (file_ != nullptr) return true;
  }
  return false;
}

Result<bool> FileSource::Next(RecordBatch& batch) {
  if (stop_.load()) return false;
  while (batch.size() < options_.batch_records) {
    if (file_ == nullptr && !OpenNext()) return !batch.empty() || !batch.stream_events().empty();
    const uint32_t source = batch.InternSource(current_);
    ssize_t n = ::getline(&line_, &line_capacity_, file_);
    if (n < 0) {
      if (std::ferror(file_)) {
        return Error(fmt::format("reading '{}': {}", current_, std::strerror(errno)));
      }
      if (file_ != stdin) std::fclose(file_);
      file_ = nullptr;
      batch.AddStreamEvent(StreamEvent{source, -1, StreamEvent::Kind::kIdle});
      continue;
    }
    std::string_view text(line_, static_cast<size_t>(n));
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    // An over-long line is cut; the parser then rejects it as malformed and it is dead-lettered.
    if (text.size() > options_.max_record_bytes) text = text.substr(0, options_.max_record_bytes);
    ++line_number_;
    if (line_number_ < current_start_) continue;
    if (text.find_first_not_of(" \t") == std::string_view::npos) continue;
    RecordMeta meta{source, -1, line_number_, kNoTime};
    meta.format = current_format_;
    meta.tenant = current_tenant_;
    batch.Add(text, meta);
  }
  return true;
}

}  // namespace tuttle::ingest
