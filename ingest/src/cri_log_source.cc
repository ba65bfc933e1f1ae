#include "tuttle/ingest/cri_log_source.h"

namespace tuttle::ingest {

CriLogSource::CriLogSource(std::unique_ptr<RecordSource> inner, CriLogSourceOptions options)
    : inner_(std::move(inner)), options_(std::move(options)), assembler_(options_.assembler) {}

size_t CriLogSource::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return assembler_.pending();
}

Result<bool> CriLogSource::Next(RecordBatch& out) {
  if (ended_) return false;
  in_.Clear();
  Result<bool> more = inner_->Next(in_);
  if (!more.ok()) return more;
  std::lock_guard<std::mutex> lock(mu_);
  const auto& events = in_.stream_events();
  size_t next_event = 0;
  auto add_events_before = [&](size_t record) {
    for (; next_event < events.size() && events[next_event].before_record <= record;
         ++next_event) {
      const StreamEvent& e = events[next_event];
      const std::string_view name = in_.sources()[e.source];
      if (e.kind == StreamEvent::Kind::kRevoked) {
        assembler_.DropStream(name, e.partition);
      } else if (e.kind == StreamEvent::Kind::kIdle && e.partition < 0) {
        assembler_.EndStream(name, e.partition, out);  // a file ends for good
      }
      StreamEvent copy = e;
      copy.source = out.InternSource(name);
      out.AddStreamEvent(copy);
    }
  };
  out.RejectAllOf(in_);
  for (size_t i = 0; i < in_.size(); ++i) {
    add_events_before(i);
    const RecordMeta& meta = in_.meta(i);
    const std::string_view name = in_.sources()[meta.source];
    const std::string_view bytes = in_.bytes(i);
    const bool applies = !options_.applies_to || options_.applies_to(name);
    if (!applies || (options_.pass_through_other && !LooksLikeCriLine(bytes))) {
      RecordMeta m = meta;
      m.source = out.InternSource(name);
      out.Add(bytes, m);
      continue;
    }
    assembler_.AddLine(name, bytes, meta, out);
  }
  add_events_before(in_.size());
  out.end_of_input = in_.end_of_input;
  if (!*more) {
    ended_ = true;
    assembler_.EndAll(out);
    // The pipeline stops at a final batch that is empty; one with rejects only is still read.
    return !out.empty() || !out.stream_events().empty() || !out.rejected().empty();
  }
  return true;
}

Status CriLogSource::Commit(const std::vector<SourcePosition>& positions) {
  std::vector<SourcePosition> held;
  {
    std::lock_guard<std::mutex> lock(mu_);
    held.reserve(positions.size());
    for (const SourcePosition& p : positions) {
      const int64_t limit = assembler_.CommitLimit(p.source, p.partition, p.offset);
      if (limit < 0) continue;  // nothing of this partition is safe yet
      held.push_back(SourcePosition{p.source, p.partition, limit});
    }
  }
  return inner_->Commit(held);
}

}  // namespace tuttle::ingest
