// The store's side of checkpoints: batches wait for their checkpoint and are written with it in
// one atomic write; a disk that fills up (injected through RocksDB's FileSystem, under the real
// RocksDB) pauses the write, loses nothing, and the write goes through once space is back.

#include <gtest/gtest.h>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <thread>

#include "support/test_support.h"
#include "tuttle/storage/store.h"

namespace tuttle::storage {
namespace {

using testing::TempDir;

// Every write to a file fails with "no space" while `full` is set.
class FullDiskFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FullDiskFile(std::unique_ptr<rocksdb::FSWritableFile>&& file, const std::atomic<bool>& full)
      : FSWritableFileOwnerWrapper(std::move(file)), full_(full) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (full_.load()) return rocksdb::IOStatus::NoSpace("injected: no space left on device");
    return target()->Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (full_.load()) return rocksdb::IOStatus::NoSpace("injected: no space left on device");
    return target()->Append(data, options, info, dbg);
  }

 private:
  const std::atomic<bool>& full_;
};

class FullDiskFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FullDiskFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FullDiskFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    if (full.load()) return rocksdb::IOStatus::NoSpace("injected: no space left on device");
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, result, dbg);
    if (s.ok()) *result = std::make_unique<FullDiskFile>(std::move(*result), full);
    return s;
  }

  std::atomic<bool> full{false};
};

Alert MakeAlert(TimeNs t, const std::string& rule_id) {
  auto info = std::make_shared<RuleInfo>();
  info->id = rule_id;
  info->title = "Rule " + rule_id;
  Alert a;
  a.rule = info;
  a.kind = "single";
  a.time = a.window_start = a.window_end = t;
  a.evidence.push_back(Evidence{SourcePosition{"audit", 0, t}, t, HashBytes(rule_id), info});
  a.id = ComputeAlertId(a);
  return a;
}

BatchOutput Batch(TimeNs t, bool with_checkpoint, int64_t last, int64_t resume) {
  BatchOutput b;
  b.checkpointing = true;
  b.alerts.push_back(MakeAlert(t, "rule-" + std::to_string(t)));
  if (with_checkpoint) {
    auto cp = std::make_shared<Checkpoint>();
    cp->state.puts.emplace_back("g-state-" + std::to_string(t), "v");
    cp->state.deletes.push_back("g-gone");
    cp->streams.push_back(StreamCheckpoint{"audit", 0, last, resume});
    b.checkpoint = cp;
  }
  return b;
}

std::map<std::string, std::string> State(const Store& store) {
  std::map<std::string, std::string> out;
  EXPECT_TRUE(store
                  .ForEachState([&](std::string_view k, std::string_view v) {
                    out.emplace(std::string(k), std::string(v));
                    return Ok();
                  })
                  .ok());
  return out;
}

TEST(CheckpointStoreTest, BatchesWaitForTheirCheckpointAndLandWithIt) {
  TempDir dir;
  auto store = Store::Open(dir.path().string());
  ASSERT_TRUE(store.ok()) << store.error().message();
  Store& s = **store;
  ASSERT_TRUE(s.Write(Batch(1000, false, 0, 0)).ok());
  ASSERT_TRUE(s.Write(Batch(2000, false, 0, 0)).ok());
  // Nothing is visible before the checkpoint: a crash here leaves the previous checkpoint whole.
  EXPECT_TRUE(s.Alerts()->empty());
  EXPECT_FALSE(*s.HasState());
  EXPECT_FALSE(s.Position("audit", 0)->has_value());

  ASSERT_TRUE(s.Write(Batch(3000, true, 41, 17)).ok());
  EXPECT_EQ(s.Alerts()->size(), 3u);
  EXPECT_TRUE(*s.HasState());
  EXPECT_EQ(State(s).count("g-state-3000"), 1u);
  EXPECT_EQ(s.Position("audit", 0)->value_or(-1), 41);
  auto streams = s.Streams();
  ASSERT_TRUE(streams.ok());
  ASSERT_EQ(streams->size(), 1u);
  EXPECT_EQ((*streams)[0].last, 41);
  EXPECT_EQ((*streams)[0].resume, 17);

  // A later checkpoint deletes state entries and moves the positions.
  BatchOutput next = Batch(4000, true, 90, 91);
  auto cp = std::make_shared<Checkpoint>(*next.checkpoint);
  cp->state.deletes = {"g-state-3000"};
  next.checkpoint = cp;
  ASSERT_TRUE(s.Write(next).ok());
  EXPECT_EQ(State(s).count("g-state-3000"), 0u);
  EXPECT_EQ(State(s).count("g-state-4000"), 1u);
  EXPECT_EQ((*s.Streams())[0].resume, 91);

  ASSERT_TRUE(s.ResetCheckpoint().ok());
  EXPECT_FALSE(*s.HasState());
  EXPECT_TRUE(s.Streams()->empty());
  EXPECT_EQ(s.Alerts()->size(), 4u) << "alerts outlive a reset";
}

TEST(CheckpointStoreTest, DiskFullPausesTheWriteAndLosesNothing) {
  TempDir dir;
  auto fs = std::make_shared<FullDiskFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  StoreOptions options;
  options.env = env.get();
  options.retry_initial = std::chrono::milliseconds(10);
  options.retry_max = std::chrono::milliseconds(50);
  {
    auto store = Store::Open(dir.path().string(), options);
    ASSERT_TRUE(store.ok()) << store.error().message();
    Store& s = **store;
    ASSERT_TRUE(s.Write(Batch(1000, true, 10, 11)).ok());

    fs->full.store(true);
    auto pending = std::async(std::launch::async, [&] { return s.Write(Batch(2000, true, 20, 21)); });
    // The write waits: the pipeline's last stage, and so consumption, pauses.
    EXPECT_EQ(pending.wait_for(std::chrono::milliseconds(500)), std::future_status::timeout);
    EXPECT_EQ(s.stalled_writes(), 1u);
    // Reads either see the last checkpoint or say the store is being reopened.
    auto position = s.Position("audit", 0);
    if (position.ok()) {
      EXPECT_EQ(position->value_or(-1), 10) << "no position advances while paused";
    }

    fs->full.store(false);
    ASSERT_EQ(pending.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    Status st = pending.get();
    ASSERT_TRUE(st.ok()) << st.error().message();
    EXPECT_EQ(s.Position("audit", 0)->value_or(-1), 20);
    EXPECT_GT(s.stalled_seconds(), 0.4);
    ASSERT_TRUE(s.Finish().ok());
  }
  // Reopened: both checkpoints are there, whole.
  auto store = Store::Open(dir.path().string(), options);
  ASSERT_TRUE(store.ok()) << store.error().message();
  EXPECT_EQ((*store)->Alerts()->size(), 2u);
  EXPECT_EQ((*store)->Position("audit", 0)->value_or(-1), 20);
  EXPECT_EQ(State(**store).size(), 2u);
}

TEST(CheckpointStoreTest, ACancelledRunStopsWaitingForAFullDisk) {
  TempDir dir;
  auto fs = std::make_shared<FullDiskFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  StoreOptions options;
  options.env = env.get();
  options.retry_initial = std::chrono::milliseconds(10);
  auto store = Store::Open(dir.path().string(), options);
  ASSERT_TRUE(store.ok()) << store.error().message();
  std::atomic<bool> stop{false};
  (*store)->CancelWhen([&] { return stop.load(); });
  fs->full.store(true);
  auto pending =
      std::async(std::launch::async, [&] { return (*store)->Write(Batch(1000, true, 1, 2)); });
  EXPECT_EQ(pending.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  stop.store(true);
  ASSERT_EQ(pending.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  Status st = pending.get();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("writing a checkpoint"), std::string::npos)
      << st.error().message();
  fs->full.store(false);
}

}  // namespace
}  // namespace tuttle::storage
