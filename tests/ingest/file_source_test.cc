#include "tuttle/ingest/file_source.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace tuttle::ingest {
namespace {

std::string WriteTemp(const std::string& name, const std::string& content) {
  const auto path = std::filesystem::temp_directory_path() /
                    (std::to_string(::getpid()) + "-" + name);
  std::ofstream(path, std::ios::binary) << content;
  return path.string();
}

TEST(FileSource, ReadsLinesInOrderWithLineNumbersAndSkipsBlankOnes) {
  const auto a = WriteTemp("a.jsonl", "{\"n\":1}\r\n\n   \n{\"n\":2}\n{\"n\":3}");
  const auto b = WriteTemp("b.jsonl", "{\"n\":4}\n");
  FileSourceOptions o;
  o.batch_records = 2;
  auto src = FileSource::Open({a, b}, o);
  ASSERT_TRUE(src.ok());
  std::vector<std::string> records;
  std::vector<int64_t> lines;
  std::vector<std::string> sources;
  int idle_marks = 0;
  while (true) {
    RecordBatch batch;
    auto more = (*src)->Next(batch);
    ASSERT_TRUE(more.ok());
    for (size_t i = 0; i < batch.size(); ++i) {
      records.emplace_back(batch.bytes(i));
      lines.push_back(batch.meta(i).offset);
      sources.push_back(batch.sources()[batch.meta(i).source]);
      // Records are followed by readable zero padding for simdjson.
      EXPECT_EQ(batch.bytes(i).data()[batch.bytes(i).size() + kRecordPadding - 1], '\0');
    }
    idle_marks += static_cast<int>(batch.stream_events().size());
    if (!*more) break;
  }
  EXPECT_EQ(records, (std::vector<std::string>{"{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":4}"}));
  EXPECT_EQ(lines, (std::vector<int64_t>{1, 4, 5, 1}));
  EXPECT_EQ(sources, (std::vector<std::string>{a, a, a, b}));
  EXPECT_EQ(idle_marks, 2);  // each file ends its stream
  std::filesystem::remove(a);
  std::filesystem::remove(b);
}

TEST(FileSource, MissingFilesAreReportedBeforeReading) {
  auto src = FileSource::Open({"/nonexistent/telemetry.jsonl"});
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.error().message().find("/nonexistent/telemetry.jsonl"), std::string::npos);
}

TEST(FileSource, CutsOverlongLines) {
  const auto a = WriteTemp("long.jsonl", std::string(100, 'x') + "\n{}\n");
  FileSourceOptions o;
  o.max_record_bytes = 10;
  auto src = FileSource::Open({a}, o);
  ASSERT_TRUE(src.ok());
  RecordBatch batch;
  ASSERT_TRUE((*src)->Next(batch).ok());
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch.bytes(0).size(), 10u);
  EXPECT_EQ(batch.bytes(1), "{}");
  std::filesystem::remove(a);
}

}  // namespace
}  // namespace tuttle::ingest
