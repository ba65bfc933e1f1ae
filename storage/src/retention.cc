#include "retention.h"

#include <rocksdb/compaction_filter.h>

#include <charconv>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>

#include "tuttle/storage/alert_index.h"
#include "tuttle/storage/evidence.h"
#include "tuttle/storage/key_codec.h"
#include "tuttle/storage/store.h"

namespace tuttle::storage {
namespace {

enum class Family { kAlerts, kAlertIndex, kAlertStatus, kDeadLetters, kEvidence };

// The time an entry ages by, or kNoTime when it cannot be read.
TimeNs EntryTime(Family family, std::string_view key, std::string_view value) {
  switch (family) {
    case Family::kAlerts:
      return key.size() == kAlertKeySize ? DecodeI64(key) : kNoTime;
    case Family::kAlertIndex:
      if (!key.empty() && key[0] == static_cast<char>(IndexKind::kId)) {
        return value.size() == 8 ? DecodeI64(value) : kNoTime;
      }
      return key.size() > kAlertKeySize ? DecodeI64(key.substr(key.size() - kAlertKeySize))
                                        : kNoTime;
    case Family::kAlertStatus: {
      auto j = nlohmann::json::parse(value, nullptr, false);
      if (j.is_discarded() || !j.contains("alert_time") || !j["alert_time"].is_number_integer()) {
        return kNoTime;
      }
      return j["alert_time"].get<TimeNs>();
    }
    case Family::kEvidence:
      return EvidenceTime(value);
    case Family::kDeadLetters: {
      // Dead letters can hold megabytes of record; rather than parse them, find the one
      // unescaped "stored_at" key. Inside a JSON string a quote is escaped (\"), so the
      // sequence "stored_at": can only be the key itself.
      constexpr std::string_view kKey = "\"stored_at\":";
      const size_t at = value.rfind(kKey);
      if (at == std::string_view::npos) return kNoTime;
      const char* begin = value.data() + at + kKey.size();
      TimeNs t = kNoTime;
      auto [end, ec] = std::from_chars(begin, value.data() + value.size(), t);
      return ec == std::errc() ? t : kNoTime;
    }
  }
  return kNoTime;
}

class RetentionFilter final : public rocksdb::CompactionFilter {
 public:
  RetentionFilter(Family family, TimeNs cutoff) : family_(family), cutoff_(cutoff) {}
  bool Filter(int /*level*/, const rocksdb::Slice& key, const rocksdb::Slice& value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    const TimeNs t = EntryTime(family_, key.ToStringView(), value.ToStringView());
    return t != kNoTime && t < cutoff_;
  }
  const char* Name() const override { return "tuttle.RetentionFilter"; }

 private:
  Family family_;
  TimeNs cutoff_;
};

class RetentionFilterFactory final : public rocksdb::CompactionFilterFactory {
 public:
  RetentionFilterFactory(Family family, TimeNs retention, const Store& store)
      : family_(family), retention_(retention), store_(store) {}
  // The cutoff is taken when a compaction starts: one compaction sees one "now".
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& /*context*/) override {
    return std::make_unique<RetentionFilter>(family_, store_.Now() - retention_);
  }
  const char* Name() const override { return "tuttle.RetentionFilterFactory"; }

 private:
  Family family_;
  TimeNs retention_;
  const Store& store_;
};

}  // namespace

rocksdb::ColumnFamilyOptions ColumnFamilyOptionsFor(const std::string& name, const Store& store) {
  rocksdb::ColumnFamilyOptions o;
  const StoreOptions& so = store.options();
  auto with = [&](Family family, TimeNs retention) {
    if (retention > 0) {
      o.compaction_filter_factory =
          std::make_shared<RetentionFilterFactory>(family, retention, store);
    }
  };
  if (name == "alerts") with(Family::kAlerts, so.alert_retention);
  if (name == "alert_index") with(Family::kAlertIndex, so.alert_retention);
  if (name == "alert_status") with(Family::kAlertStatus, so.alert_retention);
  if (name == "evidence") with(Family::kEvidence, so.alert_retention);
  if (name == "dead_letters") with(Family::kDeadLetters, so.dead_letter_retention);
  return o;
}

TimeNs Store::Now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace tuttle::storage
