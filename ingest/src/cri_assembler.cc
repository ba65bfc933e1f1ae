#include "tuttle/ingest/cri_assembler.h"

#include <algorithm>
#include <climits>

#include <fmt/format.h>

#include "json_text.h"

namespace tuttle::ingest {

using internal::AppendJsonString;
using internal::AppendKey;

CriAssembler::CriAssembler(CriAssemblerOptions options)
    : options_(options), json_(std::make_unique<internal::JsonObjectChecker>()) {}

CriAssembler::~CriAssembler() = default;

void CriAssembler::MakeKey(std::string_view source, int32_t partition, bool is_stderr) {
  key_.assign(source);
  key_ += '\0';
  key_.append(reinterpret_cast<const char*>(&partition), sizeof partition);
  key_ += is_stderr ? 'e' : 'o';
}

void CriAssembler::AddLine(std::string_view source, std::string_view line, const RecordMeta& meta,
                           RecordBatch& out) {
  auto parsed = ParseCriLine(line);
  auto reject = [&](std::string reason) {
    out.Reject(line, RecordMeta{out.InternSource(source), meta.partition, meta.offset,
                                meta.transport_time, 0, meta.tenant},
               std::move(reason));
  };
  if (!parsed.ok()) {
    reject(parsed.error().message());
    return;
  }
  const CriLine& l = *parsed;
  if (!internal::IsValidUtf8(l.message)) {
    reject("invalid UTF-8 in CRI message");
    return;
  }
  // The common case: a full line with nothing pending is a record of its own.
  if (pending_.empty() && !l.partial) {
    if (l.message.size() > options_.max_message_bytes) {
      reject(fmt::format("CRI message over the size limit: {} bytes, limit {}", l.message.size(),
                         options_.max_message_bytes));
      return;
    }
    Emit(source, meta.partition, meta.offset, meta.transport_time, meta.tenant, l.timestamp,
         l.is_stderr, l.message, 1, out);
    return;
  }
  MakeKey(source, meta.partition, l.is_stderr);
  auto it = pending_.find(key_);
  if (it == pending_.end()) {
    if (!l.partial) {
      if (l.message.size() > options_.max_message_bytes) {
        reject(fmt::format("CRI message over the size limit: {} bytes, limit {}",
                           l.message.size(), options_.max_message_bytes));
        return;
      }
      Emit(source, meta.partition, meta.offset, meta.transport_time, meta.tenant, l.timestamp,
           l.is_stderr, l.message, 1, out);
      return;
    }
    Pending& p = pending_[key_];
    p.source.assign(source);
    p.partition = meta.partition;
    p.is_stderr = l.is_stderr;
    p.first_offset = meta.offset;
    p.last_offset = meta.offset;
    p.transport_time = meta.transport_time;
    p.tenant = meta.tenant;
    p.timestamp.assign(l.timestamp);
    p.message.assign(l.message);
    p.lines = 1;
    p.discarding = false;
    OpenSpan(source, meta.partition, meta.offset);
    if (p.message.size() > options_.max_message_bytes) {
      RejectTruncated(p, "over the size limit", out);
      p.discarding = true;
      p.message.clear();
    }
    return;
  }
  Pending& p = it->second;
  p.last_offset = meta.offset;
  ++p.lines;
  if (!p.discarding) {
    if (p.message.size() + l.message.size() > options_.max_message_bytes) {
      p.message.append(l.message.substr(0, options_.max_message_bytes - p.message.size()));
      RejectTruncated(p, "over the size limit", out);
      p.discarding = true;
      p.message.clear();
    } else {
      p.message.append(l.message);
    }
  }
  if (l.partial) return;
  if (!p.discarding) {
    Emit(p.source, p.partition, meta.offset, p.transport_time, p.tenant, p.timestamp,
         p.is_stderr, p.message, p.lines, out);
  }
  CloseSpan(p.source, p.partition, p.first_offset, meta.offset);
  pending_.erase(it);
}

void CriAssembler::Emit(std::string_view source, int32_t partition, int64_t offset,
                        TimeNs transport_time, uint16_t tenant, std::string_view timestamp,
                        bool is_stderr, std::string_view message, size_t lines,
                        RecordBatch& out) {
  if (options_.container_from_path && partition < 0 && source != path_source_) {
    path_source_.assign(source);
    path_kubernetes_.clear();
    if (auto c = ParseContainerLogPath(source)) {
      path_kubernetes_ += ",\"kubernetes\":{";
      AppendKey(path_kubernetes_, "pod_name");
      AppendJsonString(path_kubernetes_, c->pod);
      path_kubernetes_ += ',';
      AppendKey(path_kubernetes_, "namespace_name");
      AppendJsonString(path_kubernetes_, c->namespace_);
      path_kubernetes_ += ',';
      AppendKey(path_kubernetes_, "container_name");
      AppendJsonString(path_kubernetes_, c->container);
      path_kubernetes_ += ',';
      AppendKey(path_kubernetes_, "container_id");
      AppendJsonString(path_kubernetes_, c->container_id);
      path_kubernetes_ += '}';
    }
  }
  record_.clear();
  record_ += "{\"format\":\"cri\",\"time\":";
  AppendJsonString(record_, timestamp);
  record_ += ",\"stream\":\"";
  record_ += is_stderr ? "stderr" : "stdout";
  record_ += "\",\"log\":";
  AppendJsonString(record_, message);
  record_ += ",\"lines\":";
  record_ += std::to_string(lines);
  if (options_.container_from_path && partition < 0 && source == path_source_) {
    record_ += path_kubernetes_;
  }
  if (options_.parse_json_messages && json_->IsObject(message)) {
    record_ += ",\"json\":";
    record_ += internal::Trim(message);
  }
  record_ += '}';
  out.Add(record_,
          RecordMeta{out.InternSource(source), partition, offset, transport_time, 0, tenant});
}

void CriAssembler::RejectTruncated(const Pending& p, std::string_view why, RecordBatch& out) {
  // The dead letter keeps what was read as one CRI line, so it can be inspected or re-driven.
  std::string raw = p.timestamp;
  raw += p.is_stderr ? " stderr P " : " stdout P ";
  raw += p.message;
  out.Reject(raw, RecordMeta{out.InternSource(p.source), p.partition, p.first_offset,
                             p.transport_time, 0, p.tenant},
             fmt::format("truncated CRI sequence ({}): {} partial line(s) of {} from {} {} on, "
                         "{} bytes, no F line",
                         why, p.lines, p.is_stderr ? "stderr" : "stdout",
                         p.partition < 0 ? "line" : "offset", p.first_offset, p.message.size()));
}

void CriAssembler::EndStream(std::string_view source, int32_t partition, RecordBatch& out) {
  // Sorted by first offset so the rejects come out in input order.
  std::vector<std::unordered_map<std::string, Pending>::iterator> ended;
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->second.source == source && it->second.partition == partition) ended.push_back(it);
  }
  std::sort(ended.begin(), ended.end(), [](const auto& a, const auto& b) {
    return a->second.first_offset < b->second.first_offset;
  });
  for (auto it : ended) {
    if (!it->second.discarding) RejectTruncated(it->second, "end of input", out);
    CloseSpan(it->second.source, it->second.partition, it->second.first_offset,
              it->second.last_offset);
    pending_.erase(it);
  }
}

void CriAssembler::DropStream(std::string_view source, int32_t partition) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.source == source && it->second.partition == partition) {
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  spans_.erase(StreamKey(std::string(source), partition));
}

void CriAssembler::EndAll(RecordBatch& out) {
  std::vector<std::unordered_map<std::string, Pending>::iterator> ended;
  for (auto it = pending_.begin(); it != pending_.end(); ++it) ended.push_back(it);
  std::sort(ended.begin(), ended.end(), [](const auto& a, const auto& b) {
    if (a->second.source != b->second.source) return a->second.source < b->second.source;
    if (a->second.partition != b->second.partition) {
      return a->second.partition < b->second.partition;
    }
    return a->second.first_offset < b->second.first_offset;
  });
  for (auto it : ended) {
    if (!it->second.discarding) RejectTruncated(it->second, "end of input", out);
  }
  pending_.clear();
  spans_.clear();
}

void CriAssembler::OpenSpan(std::string_view source, int32_t partition, int64_t first) {
  if (partition < 0) return;  // files are re-read whole: nothing to hold back
  spans_[StreamKey(std::string(source), partition)].push_back(Span{first, INT64_MAX});
}

void CriAssembler::CloseSpan(std::string_view source, int32_t partition, int64_t first,
                             int64_t last) {
  if (partition < 0) return;
  auto it = spans_.find(StreamKey(std::string(source), partition));
  if (it == spans_.end()) return;
  for (Span& s : it->second) {
    if (s.first == first && s.last == INT64_MAX) s.last = last;
  }
}

int64_t CriAssembler::CommitLimit(std::string_view source, int32_t partition, int64_t offset) {
  if (partition < 0) return offset;
  auto it = spans_.find(StreamKey(std::string(source), partition));
  if (it == spans_.end()) return offset;
  int64_t limit = offset;
  for (const Span& s : it->second) {
    if (s.first <= offset && offset < s.last) limit = std::min(limit, s.first - 1);
  }
  auto& spans = it->second;
  spans.erase(std::remove_if(spans.begin(), spans.end(),
                             [offset](const Span& s) { return s.last <= offset; }),
              spans.end());
  if (spans.empty()) spans_.erase(it);
  return limit;
}

}  // namespace tuttle::ingest
