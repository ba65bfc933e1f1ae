#include "tuttle/storage/alert_query.h"

#include <fmt/format.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "tuttle/engine/ascii.h"
#include "tuttle/storage/alert_index.h"
#include "tuttle/storage/key_codec.h"
#include "tuttle/storage/store.h"
#include "tuttle/engine/strings.h"

namespace tuttle::storage {
namespace {

using nlohmann::json;

// The entries of one prefix whose suffix (the alerts key: time | id) lies in [lo, hi), in
// order or in reverse. An empty `hi` is no upper bound. Keys whose suffix is not an alerts key
// (a value holding 0x00 makes a longer key under a shorter value's prefix) are skipped.
class PrefixScan {
 public:
  PrefixScan(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string prefix,
             const std::string& lo, const std::string& hi, bool reverse)
      : it_(db->NewIterator(rocksdb::ReadOptions(), cf)),
        prefix_(std::move(prefix)),
        lo_(lo),
        hi_(hi),
        reverse_(reverse) {
    if (!reverse_) {
      it_->Seek(prefix_ + lo_);
    } else if (hi_.empty()) {
      if (prefix_.empty()) {
        it_->SeekToLast();
      } else {
        it_->SeekForPrev(prefix_ + std::string(kAlertKeySize, '\xff'));
      }
    } else {
      it_->SeekForPrev(prefix_ + hi_);
    }
    Settle();
  }

  bool Valid() const { return valid_; }
  std::string_view suffix() const { return it_->key().ToStringView().substr(prefix_.size()); }
  std::string_view value() const { return it_->value().ToStringView(); }
  void Next() {
    if (reverse_) {
      it_->Prev();
    } else {
      it_->Next();
    }
    Settle();
  }
  rocksdb::Status status() const { return it_->status(); }

 private:
  void Settle() {
    valid_ = false;
    while (it_->Valid()) {
      const std::string_view key = it_->key().ToStringView();
      if (!key.starts_with(prefix_)) return;
      const std::string_view s = key.substr(prefix_.size());
      const bool in_range = s.size() == kAlertKeySize && (hi_.empty() || s < hi_);
      if (!in_range && !reverse_ && s.size() == kAlertKeySize) return;  // past hi
      if (in_range && s < lo_) {
        if (reverse_) return;  // below lo
      } else if (in_range) {
        valid_ = true;
        return;
      }
      if (reverse_) {
        it_->Prev();
      } else {
        it_->Next();
      }
    }
  }

  std::unique_ptr<rocksdb::Iterator> it_;
  std::string prefix_;
  std::string lo_, hi_;
  bool reverse_;
  bool valid_ = false;
};

// Several prefixes of one column family merged in time order; an alert under two prefixes is
// yielded once. Or a list of alerts keys, in order.
class MergedScan {
 public:
  // `keys`: alerts keys, sorted.
  MergedScan(std::vector<std::string> keys, bool reverse)
      : reverse_(reverse), keys_(std::move(keys)), listed_(true) {
    if (reverse_) std::reverse(keys_.begin(), keys_.end());
  }
  MergedScan(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
             const std::vector<std::string>& prefixes, const std::string& lo, const std::string& hi,
             bool reverse)
      : reverse_(reverse) {
    for (const auto& p : prefixes) {
      scans_.push_back(std::make_unique<PrefixScan>(db, cf, p, lo, hi, reverse));
    }
    Pick();
  }
  bool Valid() const { return listed_ ? next_key_ < keys_.size() : current_ != nullptr; }
  std::string_view suffix() const { return listed_ ? keys_[next_key_] : current_->suffix(); }
  std::string_view value() const { return listed_ ? std::string_view() : current_->value(); }
  void Next() {
    if (listed_) {
      ++next_key_;
      return;
    }
    const std::string last(current_->suffix());
    for (auto& s : scans_) {
      while (s->Valid() && s->suffix() == last) s->Next();
    }
    Pick();
  }
  rocksdb::Status status() const {
    for (const auto& s : scans_) {
      if (!s->status().ok()) return s->status();
    }
    return rocksdb::Status::OK();
  }

 private:
  void Pick() {
    current_ = nullptr;
    for (auto& s : scans_) {
      if (!s->Valid()) continue;
      if (current_ == nullptr ||
          (reverse_ ? s->suffix() > current_->suffix() : s->suffix() < current_->suffix())) {
        current_ = s.get();
      }
    }
  }

  std::vector<std::unique_ptr<PrefixScan>> scans_;
  PrefixScan* current_ = nullptr;
  bool reverse_;
  std::vector<std::string> keys_;
  size_t next_key_ = 0;
  bool listed_ = false;
};

// An indexed filter: the index prefixes whose union holds every alert it admits, or the list
// of their alerts keys.
struct Driver {
  std::string name;  // for the plan
  std::vector<std::string> prefixes;
  std::optional<std::vector<std::string>> keys;
};

// The alerts keys, sorted, of the alerts in [lo, hi) whose status is `status`. Only alerts an
// analyst changed have a status document, so for any status but New this is a small set.
Result<std::vector<std::string>> StatusKeys(const Store& store, AlertStatus status,
                                            const std::string& lo, const std::string& hi) {
  std::vector<std::string> keys;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.alert_status_handle()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 16) continue;
    const json j = json::parse(it->value().ToStringView(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("alert_time")) continue;
    if (CurrentStatus(it->value().ToStringView()) != status) continue;
    std::string key = EncodeI64(j["alert_time"].get<TimeNs>());
    key += it->key().ToStringView();
    if (key < lo || (!hi.empty() && key >= hi)) continue;
    keys.push_back(std::move(key));
  }
  if (!it->status().ok()) {
    return Error(fmt::format("store: reading statuses: {}", it->status().ToString()));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

// The rule filter as index prefixes: the rule id itself when some alert has it, else every
// rule whose title or name contains the text. Walks the distinct rule ids of the index, one
// seek and one alert read per rule, not per alert.
Result<std::vector<std::string>> RulePrefixes(const Store& store, const std::string& rule) {
  rocksdb::DB* db = store.db();
  const std::string exact = IndexPrefix(IndexKind::kRule, rule);
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), store.alert_index_handle()));
  it->Seek(exact);
  if (it->Valid() && it->key().starts_with(exact)) return std::vector<std::string>{exact};
  std::vector<std::string> out;
  const char kind = static_cast<char>(IndexKind::kRule);
  it->Seek(std::string(1, kind));
  while (it->Valid() && !it->key().empty() && it->key()[0] == kind) {
    const std::string_view key = it->key().ToStringView();
    if (key.size() < 2 + kAlertKeySize) {
      it->Next();
      continue;
    }
    const std::string_view id = key.substr(1, key.size() - 2 - kAlertKeySize);
    std::string finding;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), store.alerts_handle(),
                                rocksdb::Slice(key.substr(key.size() - kAlertKeySize)), &finding);
    if (s.ok()) {
      const json j = json::parse(finding, nullptr, false);
      if (!j.is_discarded()) {
        const std::string title = j["finding_info"].value("title", "");
        const std::string name = j["unmapped"]["tuttle"].value("rule_name", "");
        if (AsciiContainsIgnoreCase(title, rule) || AsciiContainsIgnoreCase(name, rule)) {
          out.push_back(IndexPrefix(IndexKind::kRule, id));
        }
      }
    } else if (!s.IsNotFound()) {
      return Error(fmt::format("store: reading alerts: {}", s.ToString()));
    }
    // The next rule id: past every key of this one (its prefix ends in 0x00).
    std::string next = IndexPrefix(IndexKind::kRule, id);
    next.back() = '\x01';
    it->Seek(next);
  }
  if (!it->status().ok())
    return Error(fmt::format("store: reading the index: {}", it->status().ToString()));
  return out;
}

// Entries under `prefixes` in [lo, hi), counted up to `limit`.
size_t CountEntries(const Store& store, const std::vector<std::string>& prefixes,
                    const std::string& lo, const std::string& hi, size_t limit) {
  size_t n = 0;
  for (const auto& p : prefixes) {
    PrefixScan scan(store.db(), store.alert_index_handle(), p, lo, hi, false);
    for (; scan.Valid() && n < limit; scan.Next()) ++n;
    if (n >= limit) break;
  }
  return n;
}

// Splits NAME=VALUE; no '=' matches VALUE under any name.
std::pair<std::string, std::string> SplitEntity(const std::string& entity) {
  const size_t eq = entity.find('=');
  if (eq == std::string::npos) return {"", entity};
  return {entity.substr(0, eq), entity.substr(eq + 1)};
}

bool NamesContain(std::string_view names, std::string_view name) {
  size_t start = 0;
  while (start <= names.size()) {
    size_t end = names.find('\n', start);
    if (end == std::string_view::npos) end = names.size();
    if (names.substr(start, end - start) == name) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

std::optional<Level> ParseLevel(std::string_view name) {
  for (int l = static_cast<int>(Level::kInformational); l <= static_cast<int>(Level::kCritical);
       ++l) {
    if (AsciiEqualsIgnoreCase(name, LevelName(static_cast<Level>(l)))) {
      return static_cast<Level>(l);
    }
  }
  if (AsciiEqualsIgnoreCase(name, "info")) return Level::kInformational;
  return std::nullopt;
}

Result<std::string> PageTokenAfter(const Store& store, const Hash128& id) {
  if (store.alert_index_handle() == nullptr) return Error("this store has no alert index");
  std::string time;
  rocksdb::Status s =
      store.db()->Get(rocksdb::ReadOptions(), store.alert_index_handle(), IdIndexKey(id), &time);
  if (s.IsNotFound()) return Error(fmt::format("no alert {} in the store", id.Uuid()));
  if (!s.ok() || time.size() != 8) {
    return Error(fmt::format("store: looking up alert {}: {}", id.Uuid(), s.ToString()));
  }
  return ToHex(AlertKey(DecodeI64(time), id));
}

Result<std::optional<QueriedAlert>> FindAlert(const Store& store, const Hash128& id) {
  if (store.alert_index_handle() == nullptr) return Error("this store has no alert index");
  std::string time;
  rocksdb::Status s =
      store.db()->Get(rocksdb::ReadOptions(), store.alert_index_handle(), IdIndexKey(id), &time);
  if (s.IsNotFound()) return std::optional<QueriedAlert>();
  if (!s.ok() || time.size() != 8) {
    return Error(fmt::format("store: looking up alert {}: {}", id.Uuid(), s.ToString()));
  }
  std::string finding;
  s = store.db()->Get(rocksdb::ReadOptions(), store.alerts_handle(),
                      AlertKey(DecodeI64(time), id), &finding);
  // An index entry retention has not reached yet: the alert itself is gone.
  if (s.IsNotFound()) return std::optional<QueriedAlert>();
  if (!s.ok()) return Error(fmt::format("store: reading alert {}: {}", id.Uuid(), s.ToString()));
  auto status_doc = AlertStatusDocument(store, id);
  if (!status_doc.ok()) return status_doc.error();
  QueriedAlert a;
  a.time = DecodeI64(time);
  a.id = id.Uuid();
  a.status = *status_doc ? CurrentStatus(**status_doc) : AlertStatus::kNew;
  a.json = *status_doc ? MergeStatus(finding, **status_doc) : std::move(finding);
  return std::optional<QueriedAlert>(std::move(a));
}

Result<AlertPage> QueryAlerts(const Store& store, const AlertQuery& query) {
  const AlertFilter& f = query.filter;
  const bool reverse = !query.oldest_first;
  // Bounds on the alerts key (time | id): lo inclusive, hi exclusive, "" = none.
  std::string lo = f.since == kNoTime ? std::string() : EncodeI64(f.since);
  std::string hi = f.until == kNoTime ? std::string() : EncodeI64(f.until);
  if (!query.page_token.empty()) {
    auto token = FromHex(query.page_token);
    if (!token || token->size() != kAlertKeySize) {
      return Error(fmt::format("malformed page token '{}'", query.page_token));
    }
    if (reverse) {
      if (hi.empty() || *token < hi) hi = *token;
    } else {
      std::string after = *token + '\0';  // the first key after the token's alert
      if (after > lo) lo = std::move(after);
    }
  }

  AlertPage page;
  std::vector<Driver> drivers;
  const bool indexed_filter =
      !f.entity.empty() || !f.rule.empty() || !f.tenant.empty() || f.severity || f.min_severity;
  if (store.alert_index_handle() == nullptr && indexed_filter) {
    return Error(
        "this store has no alert index yet (written by an earlier version): open it once for "
        "writing (tuttle run, replay or db compact) and filter on newly written alerts, or "
        "filter on time and status only");
  }
  if (store.alert_index_handle() != nullptr) {
    if (!f.entity.empty()) {
      drivers.push_back({Cat("e:", SplitEntity(f.entity).second),
                         {IndexPrefix(IndexKind::kEntity, SplitEntity(f.entity).second)},
                         std::nullopt});
    }
    if (!f.rule.empty()) {
      auto prefixes = RulePrefixes(store, f.rule);
      if (!prefixes.ok()) return prefixes.error();
      drivers.push_back({Cat("r:", f.rule), std::move(*prefixes), std::nullopt});
    }
    if (!f.tenant.empty()) {
      drivers.push_back(
          {Cat("t:", f.tenant), {IndexPrefix(IndexKind::kTenant, f.tenant)}, std::nullopt});
    }
    if (f.severity || f.min_severity) {
      Driver d{"s:", {}, std::nullopt};
      for (int l = 1; l <= 5; ++l) {
        if (f.severity && l != static_cast<int>(*f.severity)) continue;
        if (f.min_severity && l < static_cast<int>(*f.min_severity)) continue;
        const std::string_view name = LevelName(static_cast<Level>(l));
        d.name += name;
        d.name += ',';
        d.prefixes.push_back(IndexPrefix(IndexKind::kSeverity, name));
      }
      if (!d.name.empty() && d.name.back() == ',') d.name.pop_back();
      drivers.push_back(std::move(d));
    }
  }
  if (f.status && *f.status != AlertStatus::kNew && store.alert_status_handle() != nullptr) {
    auto keys = StatusKeys(store, *f.status, lo, hi);
    if (!keys.ok()) return keys.error();
    drivers.push_back({Cat("status:", AlertStatusName(*f.status)), {}, std::move(*keys)});
  }

  const Driver* driver = nullptr;
  size_t best = 0;
  for (const Driver& d : drivers) {
    const size_t n =
        d.keys ? d.keys->size() : CountEntries(store, d.prefixes, lo, hi, kIndexProbeLimit);
    if (driver == nullptr || n < best) {
      driver = &d;
      best = n;
    }
  }
  std::unique_ptr<MergedScan> scan;
  if (driver != nullptr) {
    page.plan = fmt::format("index {} ({}{} entries)", driver->name,
                            best >= kIndexProbeLimit ? ">=" : "", best);
    if (driver->keys) {
      scan = std::make_unique<MergedScan>(*driver->keys, reverse);
    } else {
      scan = std::make_unique<MergedScan>(store.db(), store.alert_index_handle(), driver->prefixes,
                                          lo, hi, reverse);
    }
  } else {
    page.plan = "scan alerts";
    scan = std::make_unique<MergedScan>(store.db(), store.alerts_handle(),
                                        std::vector<std::string>{""}, lo, hi, reverse);
  }
  const bool from_index = driver != nullptr;
  const std::string entity_name = SplitEntity(f.entity).first;
  const bool entity_driver = from_index && driver->name.starts_with("e:");

  // The other indexed filters are checked on their index entries, a point lookup each, before
  // the alert is read: reading and parsing a finding costs ten times more.
  std::vector<const Driver*> checks;
  for (const Driver& d : drivers) {
    if (&d != driver) checks.push_back(&d);
  }
  auto indexed = [&](const std::string& key) -> Result<bool> {
    for (const Driver* d : checks) {
      if (d->keys) {
        if (!std::binary_search(d->keys->begin(), d->keys->end(), key)) return false;
        continue;
      }
      bool any = false;
      for (const std::string& prefix : d->prefixes) {
        std::string names;
        rocksdb::Status s = store.db()->Get(rocksdb::ReadOptions(), store.alert_index_handle(),
                                            Cat(prefix, key), &names);
        if (s.IsNotFound()) continue;
        if (!s.ok()) return Error(fmt::format("store: reading the index: {}", s.ToString()));
        if (d->name.starts_with("e:") && !entity_name.empty() &&
            !NamesContain(names, entity_name)) {
          continue;
        }
        any = true;
        break;
      }
      if (!any) return false;
    }
    return true;
  };

  const size_t want = query.limit == 0 ? SIZE_MAX : query.limit;
  std::string last_key;
  for (; scan->Valid(); scan->Next()) {
    // The entity index names the fields carrying the value: NAME=VALUE is checked here, before
    // reading the alert.
    if (entity_driver && !entity_name.empty() && !NamesContain(scan->value(), entity_name)) {
      continue;
    }
    const std::string key(scan->suffix());
    auto admitted = indexed(key);
    if (!admitted.ok()) return admitted.error();
    if (!*admitted) continue;
    std::string finding;
    if (from_index) {
      rocksdb::Status s =
          store.db()->Get(rocksdb::ReadOptions(), store.alerts_handle(), key, &finding);
      if (s.IsNotFound()) continue;  // an entry retention has not reached yet
      if (!s.ok()) return Error(fmt::format("store: reading alerts: {}", s.ToString()));
    } else {
      finding.assign(scan->value());
    }
    ++page.examined;
    const Hash128 id = AlertIdFromBytes(std::string_view(key).substr(8));
    auto status_doc = AlertStatusDocument(store, id);
    if (!status_doc.ok()) return status_doc.error();
    const AlertStatus status = *status_doc ? CurrentStatus(**status_doc) : AlertStatus::kNew;
    if (f.status && status != *f.status) continue;
    if (page.alerts.size() == want) {
      // One more matching alert exists: the page gets a token.
      page.next_page_token = ToHex(last_key);
      break;
    }
    QueriedAlert a;
    a.time = DecodeI64(key);
    a.id = id.Uuid();
    a.status = status;
    a.json = *status_doc ? MergeStatus(finding, **status_doc) : std::move(finding);
    page.alerts.push_back(std::move(a));
    last_key = key;
  }
  if (!scan->status().ok()) {
    return Error(fmt::format("store: scanning alerts: {}", scan->status().ToString()));
  }
  return page;
}

}  // namespace tuttle::storage
