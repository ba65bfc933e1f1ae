// Text-log decorators: CRI lines through the assembler, Lambda lines and envelopes through the
// converter. Items are input lines (log events for envelopes); bytes are input bytes.

#include <benchmark/benchmark.h>
#include <zlib.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tuttle/engine/record.h"
#include "tuttle/ingest/cri_assembler.h"
#include "tuttle/ingest/json_record_parser.h"
#include "tuttle/ingest/lambda_log_source.h"
#include "support/gzip_support.h"

namespace {

using namespace tuttle;

using ::tuttle::testing::Base64;
using ::tuttle::testing::Gzip;

// A kubelet file's worth of lines: access logs, JSON application logs, and one message in
// four split into three partial lines.
std::vector<std::string> CriLines(size_t n) {
  std::vector<std::string> lines;
  for (size_t i = 0; lines.size() < n; ++i) {
    const std::string ts = "2024-05-01T12:00:" + std::to_string(10 + i % 50) + ".123456789Z";
    switch (i % 4) {
      case 0:
        lines.push_back(ts + " stdout F 10.0.3.7 - - \"GET /api/orders/" + std::to_string(i) +
                        " HTTP/1.1\" 200 512 \"-\" \"kube-probe/1.29\"");
        break;
      case 1:
        lines.push_back(ts + R"( stderr F {"level":"info","ts":1714564810.5,"caller":"server.go:88","msg":"request served","path":"/api/orders","status":200,"user":{"id":"u-)" +
                        std::to_string(i) + R"("}})");
        break;
      case 2:
        lines.push_back(ts + " stdout P " + std::string(120, 'a'));
        lines.push_back(ts + " stdout P " + std::string(120, 'b'));
        lines.push_back(ts + " stdout F " + std::string(60, 'c'));
        break;
      default:
        lines.push_back(ts + " stderr F panic: runtime error: index out of range [3] with length 3");
    }
  }
  return lines;
}

void BM_CriAssemble(benchmark::State& state) {
  const auto lines = CriLines(10'000);
  int64_t bytes = 0;
  for (const auto& l : lines) bytes += static_cast<int64_t>(l.size());
  const std::string path =
      "/var/log/containers/web-7c5ddbdf54-x8kqz_shop_nginx-"
      "4c1bd1cbc9d1a1d23a43e6c5b0cb8ccb1dc6ff9bc2e1e8a0d25ef8fa3b4b2d11.log";
  ingest::CriAssembler assembler;
  RecordBatch out;
  for (auto _ : state) {
    out.Clear();
    int64_t line = 0;
    for (const auto& l : lines) {
      assembler.AddLine(path, l, RecordMeta{0, -1, ++line, kNoTime}, out);
    }
    if (!out.rejected().empty()) state.SkipWithError("a bench line was rejected");
    benchmark::DoNotOptimize(out.size());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines.size()));
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_CriAssemble);

class ParseCount final : public RecordParser::EventHandler {
 public:
  void OnEvent(const Event&) override { ++events; }
  int64_t events = 0;
};

class NoSource final : public RecordSource {
 public:
  Result<bool> Next(RecordBatch&) override { return false; }
  Status Commit(const std::vector<SourcePosition>&) override { return Ok(); }
  void Stop() override {}
};

// One invocation's lines: START, two application lines, END, REPORT.
std::vector<std::string> LambdaLines(size_t n) {
  std::vector<std::string> lines;
  for (size_t i = 0; lines.size() < n; ++i) {
    const std::string id = "8f507cfc-2f5b-4b4e-9d1e-" + std::to_string(100000000000 + i);
    lines.push_back("START RequestId: " + id + " Version: $LATEST");
    lines.push_back("2024-05-01T12:00:00.100Z\t" + id + "\tINFO\tfetched order " +
                    std::to_string(i));
    lines.push_back(R"({"timestamp":"2024-05-01T12:00:00.120Z","level":"INFO","requestId":")" +
                    id + R"(","message":"payment accepted"})");
    lines.push_back("END RequestId: " + id);
    lines.push_back("REPORT RequestId: " + id +
                    "\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax "
                    "Memory Used: 70 MB\tInit Duration: 150.12 ms\t");
  }
  return lines;
}

void BM_LambdaLines(benchmark::State& state) {
  const auto lines = LambdaLines(10'000);
  int64_t bytes = 0;
  for (const auto& l : lines) bytes += static_cast<int64_t>(l.size());
  ingest::LambdaLogSource source(std::make_unique<NoSource>());
  RecordBatch out;
  for (auto _ : state) {
    out.Clear();
    const uint32_t s = out.InternSource("lambda");
    for (const auto& l : lines) source.Convert(l, RecordMeta{s, 0, 0, kNoTime}, out);
    if (!out.rejected().empty()) state.SkipWithError("a bench line was rejected");
    benchmark::DoNotOptimize(out.size());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines.size()));
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_LambdaLines);

// CloudWatch Logs subscription envelopes of 50 log events each, of the invocations in `lines`.
std::vector<std::string> Envelopes(const std::vector<std::string>& lines) {
  std::vector<std::string> envelopes;
  for (size_t i = 0; i < lines.size(); i += 50) {
    std::string e = R"({"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/checkout-api","logStream":"2024/05/01/[$LATEST]5d2fe8a1b2c3","subscriptionFilters":["tuttle"],"logEvents":[)";
    for (size_t j = i; j < i + 50 && j < lines.size(); ++j) {
      if (j > i) e += ',';
      e += R"({"id":"3819)" + std::to_string(j) + R"(","timestamp":1714564800)" +
           std::to_string(100 + j % 900) + R"(,"message":")";
      for (char c : lines[j]) {
        if (c == '"' || c == '\\') e += '\\';
        if (c == '\t') {
          e += "\\t";
          continue;
        }
        e += c;
      }
      e += "\\n\"}";
    }
    e += "]}";
    envelopes.push_back(std::move(e));
  }
  return envelopes;
}

// The envelopes as state.range(0) says: 0 plain JSON, 1 gzip, 2 base64 of gzip (Kinesis).
std::vector<std::string> EncodedEnvelopes(const std::vector<std::string>& lines,
                                          benchmark::State& state) {
  auto envelopes = Envelopes(lines);
  static constexpr const char* kLabels[] = {"json", "gzip", "base64 gzip"};
  state.SetLabel(kLabels[state.range(0)]);
  for (auto& e : envelopes) {
    if (state.range(0) >= 1) e = Gzip(e);
    if (state.range(0) == 2) e = Base64(e);
  }
  return envelopes;
}

// Envelopes through the decorator only. Bytes are the input's (compressed when it is).
void BM_LambdaEnvelopes(benchmark::State& state) {
  const auto lines = LambdaLines(10'000);
  const auto envelopes = EncodedEnvelopes(lines, state);
  int64_t bytes = 0;
  for (const auto& e : envelopes) bytes += static_cast<int64_t>(e.size());
  ingest::LambdaLogSource source(std::make_unique<NoSource>());
  RecordBatch out;
  for (auto _ : state) {
    out.Clear();
    const uint32_t s = out.InternSource("lambda");
    for (const auto& e : envelopes) source.Convert(e, RecordMeta{s, 0, 0, kNoTime}, out);
    if (!out.rejected().empty()) state.SkipWithError(out.rejected()[0].reason.c_str());
    if (out.size() != lines.size()) state.SkipWithError("an envelope lost events");
    benchmark::DoNotOptimize(out.size());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines.size()));
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_LambdaEnvelopes)->DenseRange(0, 2);

// The whole CloudWatch Logs path of the read and parse stages: envelopes (plain, gzip, base64
// gzip) through the decorator, then each record through the JSON parser (format lambda). Items
// are log events parsed; bytes are the input's.
void BM_ParseLambdaEnvelopes(benchmark::State& state) {
  const auto lines = LambdaLines(10'000);
  const auto envelopes = EncodedEnvelopes(lines, state);
  int64_t bytes = 0;
  for (const auto& e : envelopes) bytes += static_cast<int64_t>(e.size());
  auto catalog = std::make_shared<FieldCatalog>();
  ingest::RegisterAdapterFields(*catalog);
  catalog->Intern("initDurationMs");
  ingest::JsonRecordParser parser(catalog);
  auto worker = parser.NewWorker();
  ingest::LambdaLogSource source(std::make_unique<NoSource>());
  RecordBatch out;
  ParseCount handler;
  for (auto _ : state) {
    out.Clear();
    const uint32_t s = out.InternSource("lambda");
    for (const auto& e : envelopes) source.Convert(e, RecordMeta{s, 0, 0, kNoTime}, out);
    for (size_t i = 0; i < out.size(); ++i) {
      if (!worker->Parse(out.bytes(i), out.meta(i), handler).ok()) {
        state.SkipWithError("a converted record did not parse");
        return;
      }
    }
  }
  if (handler.events != state.iterations() * static_cast<int64_t>(lines.size())) {
    state.SkipWithError("events were lost");
  }
  state.SetItemsProcessed(handler.events);
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_ParseLambdaEnvelopes)->DenseRange(0, 2);

}  // namespace
