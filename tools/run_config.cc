#include "run_config.h"

#include "metrics_server.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "tuttle/engine/time.h"
#include "tuttle/ingest/json_record_parser.h"

namespace tuttle::tools {
namespace {

// Optimal string alignment distance, for "did you mean" hints on keys.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The closest candidate within max(2, size/3) edits; a candidate the word begins ("group" for
// "group_id") counts as one edit away.
std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates) {
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  std::string_view best;
  size_t best_distance = limit + 1;
  for (std::string_view c : candidates) {
    const bool prefix = word.size() >= 3 && c.size() > word.size() && c.starts_with(word);
    const size_t d = prefix ? 1 : EditDistance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  if (best.empty()) return {};
  std::string hint = "did you mean '";
  hint += best;
  hint += "'?";
  return hint;
}

// "0", "0s": none; else a Sigma duration (30s, 2m).
bool ValidLateness(std::string_view text) {
  return text == "0" || text == "0s" || ParseDuration(text).has_value();
}

// Sigma durations, plus milliseconds ("200ms"); more than zero.
bool ValidInterval(std::string_view text) {
  if (text.size() > 2 && text.substr(text.size() - 2) == "ms") {
    int64_t ms = 0;
    const char* end = text.data() + text.size() - 2;
    const auto [p, ec] = std::from_chars(text.data(), end, ms);
    return ec == std::errc() && p == end && ms > 0;
  }
  return ParseDuration(text).has_value();
}

std::optional<TimeNs> ParseRetention(std::string_view text) {
  if (text == "0") return TimeNs{0};
  return ParseDuration(text);
}

std::string FormatRetention(TimeNs t) {
  if (t == 0) return "0";
  constexpr std::pair<char, TimeNs> kUnits[] = {{'d', TimeNs{86400} * kNsPerSecond},
                                                {'h', TimeNs{3600} * kNsPerSecond},
                                                {'m', TimeNs{60} * kNsPerSecond},
                                                {'s', kNsPerSecond}};
  for (const auto& [unit, ns] : kUnits) {
    if (t % ns == 0) return fmt::format("{}{}", t / ns, unit);
  }
  return fmt::format("{}ns", t);
}

// librdkafka properties that name files: relative to the config file's folder, as its other
// paths are. ("probe" is a value of ssl.ca.location, not a file.)
bool IsPathProperty(std::string_view key) {
  return (key.size() > 9 && key.substr(key.size() - 9) == ".location") ||
         key == "sasl.kerberos.keytab";
}

std::string FormatNamesList() {
  return fmt::format("{}, or auto", fmt::join(ingest::JsonRecordParser::FormatNames(), ", "));
}

// Reads one config file: located diagnostics, key paths, environment expansion, paths.
class ConfigReader {
 public:
  ConfigReader(std::string file, Diagnostics& diagnostics)
      : file_(std::move(file)),
        folder_(std::filesystem::path(file_).parent_path()),
        diagnostics_(diagnostics) {}

  bool failed() const { return errors_ > 0; }
  int errors() const { return errors_; }

  void Report(const YAML::Mark& mark, const std::string& path, const std::string& message,
              std::string hint = {}) {
    Diagnostic d;
    d.file = file_;
    d.line = mark.line >= 0 ? mark.line + 1 : 0;
    d.column = mark.column >= 0 ? mark.column + 1 : 0;
    d.message = path.empty() ? message : path + ": " + message;
    d.hint = std::move(hint);
    diagnostics_.push_back(std::move(d));
    ++errors_;
  }
  void Report(const YAML::Node& node, const std::string& path, const std::string& message,
              std::string hint = {}) {
    Report(node.Mark(), path, message, std::move(hint));
  }

  // A map whose keys are all among `known`: an unknown key is an error at the key, with a hint
  // when it is close to a known one. A missing (undefined) node is an empty map.
  bool Map(const YAML::Node& node, const std::string& path,
           const std::vector<std::string_view>& known) {
    if (!node.IsDefined() || node.IsNull()) return false;
    if (!node.IsMap()) {
      Report(node, path, "expected a map of keys");
      return false;
    }
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        Report(kv.first, Join(path, key),
               fmt::format("unknown key (known: {})", fmt::join(known, ", ")),
               DidYouMean(key, known));
      }
    }
    return true;
  }

  // A scalar, `${NAME}` expanded. Nullopt (reported) when it is not one.
  std::optional<std::string> String(const YAML::Node& node, const std::string& path) {
    if (!node.IsScalar()) {
      Report(node, path, node.IsNull() ? "expected a value" : "expected a single value");
      return std::nullopt;
    }
    return Expand(node, path, node.Scalar());
  }

  std::optional<std::string> NonEmpty(const YAML::Node& node, const std::string& path) {
    auto s = String(node, path);
    if (s && s->empty()) {
      Report(node, path, "must not be empty");
      return std::nullopt;
    }
    return s;
  }

  std::optional<bool> Bool(const YAML::Node& node, const std::string& path) {
    bool b = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, b)) {
      Report(node, path, "expected true or false");
      return std::nullopt;
    }
    return b;
  }

  template <typename T>
  std::optional<T> Integer(const YAML::Node& node, const std::string& path, T min, T max) {
    auto s = String(node, path);
    if (!s) return std::nullopt;
    T v{};
    const auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || p != s->data() + s->size() || v < min || v > max) {
      Report(node, path, fmt::format("expected an integer from {} to {}, not '{}'", min, max, *s));
      return std::nullopt;
    }
    return v;
  }

  // One string or a list of them.
  std::optional<std::vector<std::string>> Strings(const YAML::Node& node, const std::string& path) {
    std::vector<std::string> out;
    if (node.IsScalar()) {
      auto s = NonEmpty(node, path);
      if (!s) return std::nullopt;
      out.push_back(std::move(*s));
      return out;
    }
    if (!node.IsSequence()) {
      Report(node, path, "expected a value or a list of values");
      return std::nullopt;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      auto s = NonEmpty(node[i], fmt::format("{}[{}]", path, i));
      if (!s) return std::nullopt;
      out.push_back(std::move(*s));
    }
    return out;
  }

  // A path relative to the config file's folder.
  std::string Resolve(const std::string& p) const {
    if (p.empty() || folder_.empty() || std::filesystem::path(p).is_absolute()) return p;
    return (folder_ / p).lexically_normal().string();
  }

  static std::string Join(const std::string& path, std::string_view key) {
    if (path.empty()) return std::string(key);
    std::string out = path;
    out += '.';
    out += key;
    return out;
  }

  const std::string& file() const { return file_; }

 private:
  std::optional<std::string> Expand(const YAML::Node& node, const std::string& path,
                                    const std::string& text) {
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
      const size_t start = text.find("${", i);
      if (start == std::string::npos) break;
      const size_t end = text.find('}', start + 2);
      if (end == std::string::npos) {
        Report(node, path, "unterminated '${' (write ${NAME} for the environment variable NAME)");
        return std::nullopt;
      }
      const std::string name = text.substr(start + 2, end - start - 2);
      const char* value = name.empty() ? nullptr : std::getenv(name.c_str());
      if (value == nullptr) {
        Report(node, path, fmt::format("environment variable '{}' is not set", name));
        return std::nullopt;
      }
      out.append(text, i, start - i);
      out += value;
      i = end + 1;
    }
    out.append(text, i, std::string::npos);
    return out;
  }

  std::string file_;
  std::filesystem::path folder_;
  Diagnostics& diagnostics_;
  int errors_ = 0;
};

// Reads `kafka.<key>` properties maps: each property is checked by librdkafka itself.
void ReadProperties(ConfigReader& r, const YAML::Node& node, const std::string& path, bool consumer,
                    ingest::KafkaProperties& out) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    r.Report(node, path, "expected a map of librdkafka properties (key: value)");
    return;
  }
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string key_path = ConfigReader::Join(path, key);
    auto value = r.String(kv.second, key_path);
    if (!value) continue;
    if (Status st = ingest::CheckKafkaProperty(key, *value); !st.ok()) {
      // librdkafka says "Kafka property 'k': <reason>"; the path names the key already.
      std::string reason = st.error().message();
      const size_t colon = reason.find("': ");
      if (colon != std::string::npos) reason = reason.substr(colon + 3);
      r.Report(kv.first, key_path, reason);
      continue;
    }
    if (consumer && key == "enable.auto.offset.store" && *value != "false") {
      r.Report(kv.second, key_path,
               "must stay false: Tuttle stores offsets only after a batch is written");
      continue;
    }
    if (IsPathProperty(key) && *value != "probe") *value = r.Resolve(*value);
    out.emplace_back(key, std::move(*value));
  }
}

struct TopicPin {
  std::string topic;
  std::string format;
  std::string tenant;
};

void ReadKafka(ConfigReader& r, const YAML::Node& kafka, const FlagGiven& given, RunOptions& o,
               std::vector<TopicPin>& pins) {
  const std::string path = "kafka";
  if (!r.Map(kafka, path,
             {"brokers", "group_id", "topics", "format", "tenant", "properties",
              "consumer_properties", "producer_properties", "alerts_topic", "scale_out"})) {
    return;
  }
  if (const YAML::Node n = kafka["brokers"]; n.IsDefined()) {
    std::optional<std::string> brokers;
    if (n.IsSequence()) {
      auto list = r.Strings(n, "kafka.brokers");
      if (list) brokers = fmt::format("{}", fmt::join(*list, ","));
    } else {
      brokers = r.NonEmpty(n, "kafka.brokers");
    }
    if (brokers && !given("--brokers")) o.brokers = *brokers;
  } else if (!given("--brokers")) {
    r.Report(kafka, "kafka.brokers",
             "missing: the bootstrap servers (host:port,...) to consume from; without a kafka "
             "section, tuttle run starts the embedded demo");
  }
  if (const YAML::Node n = kafka["group_id"]; n.IsDefined()) {
    auto group = r.NonEmpty(n, "kafka.group_id");
    if (group && !given("--group")) o.group = *group;
  }
  if (const YAML::Node n = kafka["topics"]; n.IsDefined()) {
    std::vector<std::string> topics;
    if (!n.IsSequence() || n.size() == 0) {
      r.Report(n, "kafka.topics",
               "expected a list of topics (each a name, or a map with name, format, tenant)");
    } else {
      for (size_t i = 0; i < n.size(); ++i) {
        const YAML::Node t = n[i];
        const std::string tp = fmt::format("kafka.topics[{}]", i);
        TopicPin pin;
        if (t.IsScalar()) {
          auto name = r.NonEmpty(t, tp);
          if (!name) continue;
          pin.topic = *name;
        } else if (!t.IsMap()) {
          r.Report(t, tp, "expected a topic name, or a map with name, format and tenant");
          continue;
        } else {
          r.Map(t, tp, {"name", "format", "tenant"});
          if (!t["name"].IsDefined()) {
            r.Report(t, tp + ".name", "missing: the topic's name");
            continue;
          }
          auto name = r.NonEmpty(t["name"], tp + ".name");
          if (!name) continue;
          pin.topic = *name;
          if (const YAML::Node f = t["format"]; f.IsDefined()) {
            auto format = r.NonEmpty(f, tp + ".format");
            if (format && *format != "auto" && !ingest::JsonRecordParser::FormatId(*format)) {
              r.Report(f, tp + ".format",
                       fmt::format("unknown format '{}' (known: {})", *format, FormatNamesList()),
                       DidYouMean(*format, ingest::JsonRecordParser::FormatNames()));
            } else if (format) {
              pin.format = *format;
            }
          }
          if (const YAML::Node tn = t["tenant"]; tn.IsDefined()) {
            auto tenant = r.NonEmpty(tn, tp + ".tenant");
            if (tenant) pin.tenant = *tenant;
          }
        }
        if (std::find(topics.begin(), topics.end(), pin.topic) != topics.end()) {
          r.Report(t, tp, fmt::format("topic '{}' is listed twice", pin.topic));
          continue;
        }
        topics.push_back(pin.topic);
        pins.push_back(std::move(pin));
      }
    }
    if (!given("--topic")) o.topics = topics;
  } else if (!given("--topic")) {
    r.Report(kafka, "kafka.topics", "missing: the topics to consume");
  }
  // Every topic's format and tenant, unless pinned per topic.
  if (const YAML::Node n = kafka["format"]; n.IsDefined()) {
    auto format = r.NonEmpty(n, "kafka.format");
    if (format && *format != "auto" && !ingest::JsonRecordParser::FormatId(*format)) {
      r.Report(n, "kafka.format",
               fmt::format("unknown format '{}' (known: {})", *format, FormatNamesList()),
               DidYouMean(*format, ingest::JsonRecordParser::FormatNames()));
    } else if (format) {
      pins.insert(pins.begin(), TopicPin{"", *format, ""});
    }
  }
  if (const YAML::Node n = kafka["tenant"]; n.IsDefined()) {
    auto tenant = r.NonEmpty(n, "kafka.tenant");
    if (tenant) pins.insert(pins.begin(), TopicPin{"", "", *tenant});
  }
  ReadProperties(r, kafka["properties"], "kafka.properties", true, o.kafka_properties);
  ReadProperties(r, kafka["consumer_properties"], "kafka.consumer_properties", true,
                 o.consumer_properties);
  ReadProperties(r, kafka["producer_properties"], "kafka.producer_properties", false,
                 o.producer_properties);
  if (const YAML::Node n = kafka["alerts_topic"]; n.IsDefined()) {
    auto topic = r.NonEmpty(n, "kafka.alerts_topic");
    if (topic && !given("--alerts-topic")) o.alerts_topic = *topic;
  }
  const YAML::Node so = kafka["scale_out"];
  if (r.Map(so, "kafka.scale_out", {"enabled", "signals_topic", "changelog_topic", "partitions"})) {
    if (const YAML::Node n = so["enabled"]; n.IsDefined()) {
      auto b = r.Bool(n, "kafka.scale_out.enabled");
      if (b && !given("--scale-out")) o.scale_out.enabled = *b;
    }
    if (const YAML::Node n = so["signals_topic"]; n.IsDefined()) {
      auto s = r.NonEmpty(n, "kafka.scale_out.signals_topic");
      if (s && !given("--signals-topic")) o.scale_out.signals_topic = *s;
    }
    if (const YAML::Node n = so["changelog_topic"]; n.IsDefined()) {
      auto s = r.NonEmpty(n, "kafka.scale_out.changelog_topic");
      if (s && !given("--changelog-topic")) o.scale_out.changelog_topic = *s;
    }
    if (const YAML::Node n = so["partitions"]; n.IsDefined()) {
      auto p = r.Integer<int>(n, "kafka.scale_out.partitions", 1, 10'000);
      if (p && !given("--signals-partitions")) o.scale_out.partitions = *p;
    }
  }
}

void ReadEngine(ConfigReader& r, const YAML::Node& engine, const FlagGiven& given,
                CommonOptions& o) {
  if (!r.Map(engine, "engine",
             {"rules", "pipelines", "contracts", "threads", "lateness", "max_groups", "strict",
              "max_record_bytes", "batch_records", "inventory", "approved_inventory",
              "watch_rules"})) {
    return;
  }
  if (const YAML::Node n = engine["rules"]; n.IsDefined()) {
    auto paths = r.Strings(n, "engine.rules");
    if (paths && !given("--rules")) {
      o.rules.clear();
      for (const auto& p : *paths) o.rules.push_back(r.Resolve(p));
    }
  }
  if (const YAML::Node n = engine["pipelines"]; n.IsDefined()) {
    auto paths = r.Strings(n, "engine.pipelines");
    if (paths && !given("--pipeline")) {
      o.pipelines.clear();
      for (const auto& p : *paths) o.pipelines.push_back(r.Resolve(p));
    }
  }
  if (const YAML::Node n = engine["contracts"]; n.IsDefined()) {
    auto paths = r.Strings(n, "engine.contracts");
    if (paths && !given("--contracts")) {
      o.contracts.clear();
      for (const auto& p : *paths) o.contracts.push_back(r.Resolve(p));
    }
  }
  if (const YAML::Node n = engine["threads"]; n.IsDefined()) {
    auto v = r.Integer<int>(n, "engine.threads", 0, 1024);
    if (v && !given("--threads")) o.threads = *v;
  }
  if (const YAML::Node n = engine["lateness"]; n.IsDefined()) {
    auto v = r.String(n, "engine.lateness");
    if (v && !ValidLateness(*v)) {
      r.Report(n, "engine.lateness", fmt::format("'{}' is not a duration such as 30s or 2m", *v));
    } else if (v && !given("--lateness")) {
      o.lateness = *v;
    }
  }
  if (const YAML::Node n = engine["max_groups"]; n.IsDefined()) {
    auto v = r.Integer<size_t>(n, "engine.max_groups", 1, 100'000'000);
    if (v && !given("--max-groups")) o.max_groups = *v;
  }
  if (const YAML::Node n = engine["strict"]; n.IsDefined()) {
    auto v = r.Bool(n, "engine.strict");
    if (v && !given("--strict")) o.strict = *v;
  }
  if (const YAML::Node n = engine["max_record_bytes"]; n.IsDefined()) {
    auto v = r.Integer<size_t>(n, "engine.max_record_bytes", 64, size_t{1} << 30);
    if (v && !given("--max-record-bytes")) o.max_record_bytes = *v;
  }
  if (const YAML::Node n = engine["batch_records"]; n.IsDefined()) {
    auto v = r.Integer<size_t>(n, "engine.batch_records", 1, size_t{1} << 20);
    if (v && !given("--batch-records")) o.batch_records = *v;
  }
  if (const YAML::Node n = engine["inventory"]; n.IsDefined()) {
    auto v = r.Bool(n, "engine.inventory");
    if (v && !given("--no-inventory")) o.inventory = *v;
  }
  if (const YAML::Node n = engine["watch_rules"]; n.IsDefined()) {
    auto v = r.Bool(n, "engine.watch_rules");
    if (v && !given("--no-watch-rules")) o.watch_rules = *v;
  }
  if (const YAML::Node n = engine["approved_inventory"]; n.IsDefined()) {
    auto v = r.NonEmpty(n, "engine.approved_inventory");
    if (v && !given("--approved-inventory")) o.approved_inventory = r.Resolve(*v);
  }
}

// api: {listen, tokens_file, insecure, tls: {cert, key}} (docs/api.md).
void ReadApi(ConfigReader& r, const YAML::Node& api, const FlagGiven& given, ApiListenOptions& o) {
  if (!r.Map(api, "api", {"listen", "tokens_file", "insecure", "tls"})) return;
  if (const YAML::Node n = api["listen"]; n.IsDefined()) {
    auto v = r.NonEmpty(n, "api.listen");
    if (v && !ParseListenAddress(*v, "api.listen").ok()) {
      r.Report(n, "api.listen", fmt::format("'{}' is not HOST:PORT, [IPV6]:PORT or :PORT", *v));
    } else if (v && !given("--listen")) {
      o.listen = *v;
    }
  }
  if (const YAML::Node n = api["tokens_file"]; n.IsDefined()) {
    auto v = r.NonEmpty(n, "api.tokens_file");
    if (v && !given("--api-tokens")) o.tokens_file = r.Resolve(*v);
  }
  if (const YAML::Node n = api["insecure"]; n.IsDefined()) {
    auto v = r.Bool(n, "api.insecure");
    if (v && !given("--api-insecure")) o.insecure = *v;
  }
  const YAML::Node tls = api["tls"];
  if (r.Map(tls, "api.tls", {"cert", "key"})) {
    const YAML::Node cert = tls["cert"];
    const YAML::Node key = tls["key"];
    if (cert.IsDefined() != key.IsDefined()) {
      r.Report(tls, "api.tls", "needs both cert and key (PEM files)");
    }
    if (cert.IsDefined()) {
      auto v = r.NonEmpty(cert, "api.tls.cert");
      if (v && !given("--tls-cert")) o.tls_cert = r.Resolve(*v);
    }
    if (key.IsDefined()) {
      auto v = r.NonEmpty(key, "api.tls.key");
      if (v && !given("--tls-key")) o.tls_key = r.Resolve(*v);
    }
  }
}

void ReadStore(ConfigReader& r, const YAML::Node& store, const FlagGiven& given, CommonOptions& o) {
  if (!r.Map(store, "store",
             {"path", "checkpoint_interval", "checkpoint_records", "alert_retention",
              "dead_letter_retention"})) {
    return;
  }
  if (const YAML::Node n = store["path"]; n.IsDefined()) {
    auto v = r.NonEmpty(n, "store.path");
    if (v && !given("--store")) o.store = r.Resolve(*v);
  }
  if (const YAML::Node n = store["checkpoint_interval"]; n.IsDefined()) {
    auto v = r.String(n, "store.checkpoint_interval");
    if (v && !ValidInterval(*v)) {
      r.Report(n, "store.checkpoint_interval",
               fmt::format("'{}' is not a duration such as 1s or 200ms", *v));
    } else if (v && !given("--checkpoint-interval")) {
      o.checkpoint_interval = *v;
    }
  }
  if (const YAML::Node n = store["checkpoint_records"]; n.IsDefined()) {
    auto v = r.Integer<uint64_t>(n, "store.checkpoint_records", 1, uint64_t{1} << 40);
    if (v && !given("--checkpoint-records")) o.checkpoint_records = *v;
  }
  auto retention = [&](const char* key, const char* flag, TimeNs& target) {
    const YAML::Node n = store[key];
    if (!n.IsDefined()) return;
    const std::string path = std::string("store.") + key;
    auto v = r.String(n, path);
    if (!v) return;
    auto d = ParseRetention(*v);
    if (!d) {
      r.Report(n, path, fmt::format("'{}' is not a duration such as 90d or 12h, or 0", *v));
    } else if (!given(flag)) {
      target = *d;
    }
  };
  retention("alert_retention", "--alert-retention", o.store_options.alert_retention);
  retention("dead_letter_retention", "--dead-letter-retention",
            o.store_options.dead_letter_retention);
}

// `output:`: stdout, the alert format, the alerts file and the webhook (docs/alerts.md).
void ReadOutput(ConfigReader& r, const YAML::Node& output, const FlagGiven& given,
                RunOptions& ro) {
  if (!r.Map(output, "output", {"json", "quiet", "format", "file", "webhook"})) return;
  AlertOutputOptions& o = ro.common.output;
  if (const YAML::Node n = output["json"]; n.IsDefined()) {
    auto v = r.Bool(n, "output.json");
    if (v && !given("--json")) ro.json = *v;
  }
  if (const YAML::Node n = output["quiet"]; n.IsDefined()) {
    auto v = r.Bool(n, "output.quiet");
    if (v && !given("--quiet")) ro.quiet = *v;
  }
  if (const YAML::Node n = output["format"]; n.IsDefined()) {
    auto v = r.String(n, "output.format");
    if (v && !ParseAlertFormat(*v)) {
      r.Report(n, "output.format",
               fmt::format("unknown alert format '{}' (known: ocsf, ecs, falco)", *v),
               DidYouMean(*v, {"ocsf", "ecs", "falco"}));
    } else if (v && !given(kAlertFormatFlag)) {
      o.format = *v;
    }
  }
  // A text value checked by `valid`; `what` says what was expected.
  auto text = [&](const YAML::Node& parent, const char* key, const std::string& path,
                  const char* flag, bool (*valid)(std::string_view), const char* what,
                  std::string& target) {
    const YAML::Node n = parent[key];
    if (!n.IsDefined()) return;
    auto v = r.NonEmpty(n, path);
    if (!v) return;
    if (valid != nullptr && !valid(*v)) {
      r.Report(n, path, fmt::format("'{}' is not {}", *v, what));
    } else if (!given(flag)) {
      target = *v;
    }
  };
  const auto valid_size = [](std::string_view v) { return ParseByteSize(v).has_value(); };
  const auto valid_duration = [](std::string_view v) { return ParseMillis(v).has_value(); };
  const YAML::Node file = output["file"];
  if (r.Map(file, "output.file", {"path", "max_size", "daily", "keep"})) {
    if (const YAML::Node n = file["path"]; n.IsDefined()) {
      auto v = r.NonEmpty(n, "output.file.path");
      if (v && !given("--alerts-file")) o.file = r.Resolve(*v);
    }
    text(file, "max_size", "output.file.max_size", "--alerts-file-max-size", valid_size,
         "a size such as 100MB or 1GiB (0: no limit)", o.file_max_size);
    if (const YAML::Node n = file["daily"]; n.IsDefined()) {
      auto v = r.Bool(n, "output.file.daily");
      if (v && !given("--alerts-file-daily")) o.file_daily = *v;
    }
    if (const YAML::Node n = file["keep"]; n.IsDefined()) {
      auto v = r.Integer<int>(n, "output.file.keep", 0, 10'000);
      if (v && !given("--alerts-file-keep")) o.file_keep = *v;
    }
  }
  const YAML::Node webhook = output["webhook"];
  if (r.Map(webhook, "output.webhook",
            {"url", "token_file", "batch", "max_attempts", "timeout", "backoff", "max_backoff",
             "queue", "dead_letter"})) {
    text(webhook, "url", "output.webhook.url", "--webhook",
         [](std::string_view v) { return v.starts_with("http://") || v.starts_with("https://"); },
         "an http:// or https:// URL", o.webhook);
    if (const YAML::Node n = webhook["token_file"]; n.IsDefined()) {
      auto v = r.NonEmpty(n, "output.webhook.token_file");
      if (v && !given("--webhook-token-file")) o.webhook_token_file = r.Resolve(*v);
    }
    if (const YAML::Node n = webhook["batch"]; n.IsDefined()) {
      auto v = r.Integer<size_t>(n, "output.webhook.batch", 1, 10'000);
      if (v && !given("--webhook-batch")) o.webhook_batch = *v;
    }
    if (const YAML::Node n = webhook["max_attempts"]; n.IsDefined()) {
      auto v = r.Integer<int>(n, "output.webhook.max_attempts", 1, 1000);
      if (v && !given("--webhook-max-attempts")) o.webhook_max_attempts = *v;
    }
    text(webhook, "timeout", "output.webhook.timeout", "--webhook-timeout", valid_duration,
         "a duration such as 10s or 500ms", o.webhook_timeout);
    text(webhook, "backoff", "output.webhook.backoff", "--webhook-backoff", valid_duration,
         "a duration such as 10s or 500ms", o.webhook_backoff);
    text(webhook, "max_backoff", "output.webhook.max_backoff", "--webhook-max-backoff",
         valid_duration, "a duration such as 10s or 500ms", o.webhook_max_backoff);
    if (const YAML::Node n = webhook["queue"]; n.IsDefined()) {
      auto v = r.Integer<size_t>(n, "output.webhook.queue", 1, size_t{1} << 24);
      if (v && !given("--webhook-queue")) o.webhook_queue = *v;
    }
    if (const YAML::Node n = webhook["dead_letter"]; n.IsDefined()) {
      auto v = r.NonEmpty(n, "output.webhook.dead_letter");
      if (v && !given("--webhook-dead-letter")) o.webhook_dead_letter = r.Resolve(*v);
    }
  }
}

Status ParseProperties(const std::vector<std::string>& values, ingest::KafkaProperties& out) {
  for (const auto& kv : values) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error(fmt::format("-X '{}': expected key=value", kv));
    }
    out.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return Ok();
}

Result<ingest::KafkaProperties> Merge(const ingest::KafkaProperties& common,
                                      const ingest::KafkaProperties& specific,
                                      const std::vector<std::string>& flags) {
  ingest::KafkaProperties out = common;
  out.insert(out.end(), specific.begin(), specific.end());
  if (Status st = ParseProperties(flags, out); !st.ok()) return st.error();
  return out;
}

// The value after the last '=' of a [SOURCE=]VALUE pin, and its source.
std::pair<std::string, std::string> SplitPin(const std::string& pin) {
  const size_t eq = pin.rfind('=');
  if (eq == std::string::npos) return {"", pin};
  return {pin.substr(0, eq), pin.substr(eq + 1)};
}

// Paths as the run will use them: relative ones are relative to the working directory, so the
// printed configuration means the same from any folder.
std::string Absolute(const std::string& path) {
  if (path.empty()) return path;
  return std::filesystem::absolute(path).lexically_normal().string();
}

std::vector<std::string> Absolute(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) out.push_back(Absolute(p));
  return out;
}

void EmitProperties(YAML::Emitter& out, const char* name, const ingest::KafkaProperties& p) {
  out << YAML::Key << name << YAML::Value;
  if (p.empty()) out << YAML::Flow;
  out << YAML::BeginMap;
  for (const auto& [k, v] : p) {
    out << YAML::Key << k << YAML::Value;
    if (IsSecretProperty(k) && !v.empty()) {
      out << "********";
    } else if (IsPathProperty(k) && v != "probe") {
      out << Absolute(v);
    } else {
      out << v;
    }
  }
  out << YAML::EndMap;
}

}  // namespace

Result<ingest::KafkaProperties> ConsumerProperties(const RunOptions& o) {
  return Merge(o.kafka_properties, o.consumer_properties, o.properties);
}

Result<ingest::KafkaProperties> ProducerProperties(const RunOptions& o) {
  return Merge(o.kafka_properties, o.producer_properties, o.properties);
}

bool IsSecretProperty(std::string_view key) {
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("password") != std::string::npos || lower.find("secret") != std::string::npos ||
         lower == "ssl.key.pem" || lower == "sasl.oauthbearer.config";
}

Status LoadRunConfig(const std::string& path, const FlagGiven& given, RunOptions& o,
                     Diagnostics& diagnostics) {
  ConfigReader r(path, diagnostics);
  YAML::Node loaded;
  {
    std::ifstream in(path);
    if (!in) return Error(fmt::format("cannot open config file '{}'", path));
    std::stringstream text;
    text << in.rdbuf();
    try {
      loaded = YAML::Load(text.str());
    } catch (const YAML::ParserException& e) {
      r.Report(e.mark, "", e.msg);
      return Error(fmt::format("{}: not valid YAML", path));
    }
  }
  const YAML::Node& root = loaded;  // const: looking a key up must not add it
  if (root.IsNull()) return Ok();   // an empty file sets nothing
  if (r.Map(root, "", {"kafka", "engine", "store", "output", "follow", "api"})) {
    std::vector<TopicPin> pins;
    if (root["kafka"].IsDefined()) ReadKafka(r, root["kafka"], given, o, pins);
    ReadEngine(r, root["engine"], given, o.common);
    ReadStore(r, root["store"], given, o.common);
    ReadApi(r, root["api"], given, o.api);
    ReadOutput(r, root["output"], given, o);
    if (const YAML::Node n = root["follow"]; n.IsDefined()) {
      auto v = r.Bool(n, "follow");
      if (v && !given("--follow")) o.follow = *v;
    }
    // The file's pins go first, so the command line's win; pins of topics the command line
    // replaced are dropped with them.
    std::vector<std::string> formats, tenants;
    for (const TopicPin& p : pins) {
      if (!p.topic.empty() &&
          std::find(o.topics.begin(), o.topics.end(), p.topic) == o.topics.end()) {
        continue;
      }
      const std::string prefix = p.topic.empty() ? std::string() : p.topic + "=";
      if (!p.format.empty()) formats.push_back(prefix + p.format);
      if (!p.tenant.empty()) tenants.push_back(prefix + p.tenant);
    }
    o.common.formats.insert(o.common.formats.begin(), formats.begin(), formats.end());
    o.common.tenants.insert(o.common.tenants.begin(), tenants.begin(), tenants.end());
  }
  if (r.failed()) {
    return Error(fmt::format("{}: {} error{}", path, r.errors(), r.errors() == 1 ? "" : "s"));
  }
  if (o.scale_out.signals_topic.empty()) o.scale_out.signals_topic = o.group + "-signals";
  if (o.scale_out.changelog_topic.empty()) o.scale_out.changelog_topic = o.group + "-changelog";
  o.config = path;
  return Ok();
}

Status CheckRunOptions(const RunOptions& o) {
  if (!ValidLateness(o.common.lateness)) {
    return Error(
        fmt::format("--lateness '{}': expected a duration such as 30s or 2m", o.common.lateness));
  }
  if (!ValidInterval(o.common.checkpoint_interval)) {
    return Error(fmt::format("--checkpoint-interval '{}': expected a duration such as 1s or 200ms",
                             o.common.checkpoint_interval));
  }
  for (const std::string& f : o.common.formats) {
    const std::string format = SplitPin(f).second;
    if (format != "auto" && !ingest::JsonRecordParser::FormatId(format)) {
      return Error(fmt::format("--format '{}': unknown format '{}' (known: {})", f, format,
                               FormatNamesList()));
    }
  }
  for (const std::string& t : o.common.tenants) {
    if (SplitPin(t).second.empty())
      return Error(fmt::format("--tenant '{}': empty tenant name", t));
  }
  if (!o.brokers.empty() && o.topics.empty()) return Error("--topic is required with --brokers");
  if (Status st = CheckAlertOutputOptions(o.common.output); !st.ok()) return st;
  auto properties = ConsumerProperties(o);
  if (!properties.ok()) return properties.error();
  auto producer = ProducerProperties(o);
  if (!producer.ok()) return producer.error();
  properties->insert(properties->end(), producer->begin(), producer->end());
  for (const auto& [k, v] : *properties) {
    if (Status st = ingest::CheckKafkaProperty(k, v); !st.ok()) return st;
  }
  for (const std::string& kv : o.properties) {
    if (kv.rfind("enable.auto.offset.store=", 0) == 0 && kv != "enable.auto.offset.store=false") {
      return Error(
          "-X enable.auto.offset.store must stay false: Tuttle stores offsets only after "
          "a batch is written");
    }
  }
  return Ok();
}

std::string EffectiveConfig(const RunOptions& o) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  if (!o.config.empty()) {
    out << YAML::Comment("from " + o.config + " and the command line; secrets masked");
  }
  out << YAML::Key << "kafka" << YAML::Value << YAML::BeginMap;
  if (o.brokers.empty()) {
    out << YAML::Comment("no brokers: the embedded demo cluster");
  } else {
    out << YAML::Key << "brokers" << YAML::Value << o.brokers;
  }
  out << YAML::Key << "group_id" << YAML::Value << o.group;
  // Pins by topic; "" is every other topic.
  std::map<std::string, std::string> formats, tenants;
  for (const auto& f : o.common.formats) formats[SplitPin(f).first] = SplitPin(f).second;
  for (const auto& t : o.common.tenants) tenants[SplitPin(t).first] = SplitPin(t).second;
  if (!o.topics.empty()) {
    out << YAML::Key << "topics" << YAML::Value << YAML::BeginSeq;
    for (const auto& topic : o.topics) {
      out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << topic;
      if (formats.contains(topic)) out << YAML::Key << "format" << YAML::Value << formats[topic];
      if (tenants.contains(topic)) out << YAML::Key << "tenant" << YAML::Value << tenants[topic];
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  if (formats.contains("")) out << YAML::Key << "format" << YAML::Value << formats[""];
  if (tenants.contains("")) out << YAML::Key << "tenant" << YAML::Value << tenants[""];
  ingest::KafkaProperties common = o.kafka_properties;
  (void)ParseProperties(o.properties, common).ok();  // CheckRunOptions() reported bad -X
  EmitProperties(out, "properties", common);
  EmitProperties(out, "consumer_properties", o.consumer_properties);
  EmitProperties(out, "producer_properties", o.producer_properties);
  if (!o.alerts_topic.empty()) out << YAML::Key << "alerts_topic" << YAML::Value << o.alerts_topic;
  out << YAML::Key << "scale_out" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "enabled" << YAML::Value << o.scale_out.enabled;
  out << YAML::Key << "signals_topic" << YAML::Value
      << (o.scale_out.signals_topic.empty() ? o.group + "-signals" : o.scale_out.signals_topic);
  out << YAML::Key << "changelog_topic" << YAML::Value
      << (o.scale_out.changelog_topic.empty() ? o.group + "-changelog"
                                              : o.scale_out.changelog_topic);
  out << YAML::Key << "partitions" << YAML::Value << o.scale_out.partitions;
  out << YAML::EndMap;
  out << YAML::EndMap;

  const CommonOptions& c = o.common;
  out << YAML::Key << "engine" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "rules" << YAML::Value << YAML::Flow << Absolute(c.rules);
  if (c.rules.empty()) out << YAML::Comment("the embedded rule pack");
  out << YAML::Key << "pipelines" << YAML::Value << YAML::Flow << Absolute(c.pipelines);
  if (!c.contracts.empty()) {
    out << YAML::Key << "contracts" << YAML::Value << YAML::Flow << Absolute(c.contracts);
  }
  out << YAML::Key << "threads" << YAML::Value << c.threads;
  out << YAML::Key << "lateness" << YAML::Value << c.lateness;
  out << YAML::Key << "max_groups" << YAML::Value << c.max_groups;
  out << YAML::Key << "strict" << YAML::Value << c.strict;
  out << YAML::Key << "max_record_bytes" << YAML::Value << c.max_record_bytes;
  if (c.batch_records > 0) {
    out << YAML::Key << "batch_records" << YAML::Value << c.batch_records;
  }
  out << YAML::Key << "inventory" << YAML::Value << c.inventory;
  out << YAML::Key << "watch_rules" << YAML::Value << c.watch_rules;
  if (!c.approved_inventory.empty()) {
    out << YAML::Key << "approved_inventory" << YAML::Value << c.approved_inventory;
  }
  out << YAML::EndMap;
  out << YAML::Key << "store" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "path" << YAML::Value << Absolute(c.store);
  out << YAML::Key << "checkpoint_interval" << YAML::Value << c.checkpoint_interval;
  out << YAML::Key << "checkpoint_records" << YAML::Value << c.checkpoint_records;
  out << YAML::Key << "alert_retention" << YAML::Value
      << FormatRetention(c.store_options.alert_retention);
  out << YAML::Key << "dead_letter_retention" << YAML::Value
      << FormatRetention(c.store_options.dead_letter_retention);
  out << YAML::EndMap;
  out << YAML::Key << "output" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "json" << YAML::Value << o.json;
  out << YAML::Key << "quiet" << YAML::Value << o.quiet;
  const AlertOutputOptions& ao = c.output;
  out << YAML::Key << "format" << YAML::Value << ao.format;
  if (!ao.file.empty()) {
    out << YAML::Key << "file" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "path" << YAML::Value << Absolute(ao.file);
    out << YAML::Key << "max_size" << YAML::Value << ao.file_max_size;
    out << YAML::Key << "daily" << YAML::Value << ao.file_daily;
    out << YAML::Key << "keep" << YAML::Value << ao.file_keep;
    out << YAML::EndMap;
  }
  if (!ao.webhook.empty()) {
    out << YAML::Key << "webhook" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "url" << YAML::Value << ao.webhook;
    if (!ao.webhook_token_file.empty()) {
      out << YAML::Key << "token_file" << YAML::Value << Absolute(ao.webhook_token_file);
    }
    out << YAML::Key << "batch" << YAML::Value << ao.webhook_batch;
    out << YAML::Key << "max_attempts" << YAML::Value << ao.webhook_max_attempts;
    out << YAML::Key << "timeout" << YAML::Value << ao.webhook_timeout;
    out << YAML::Key << "backoff" << YAML::Value << ao.webhook_backoff;
    out << YAML::Key << "max_backoff" << YAML::Value << ao.webhook_max_backoff;
    out << YAML::Key << "queue" << YAML::Value << ao.webhook_queue;
    if (!ao.webhook_dead_letter.empty()) {
      out << YAML::Key << "dead_letter" << YAML::Value << Absolute(ao.webhook_dead_letter);
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  out << YAML::Key << "follow" << YAML::Value << o.follow;
  if (!o.api.listen.empty()) {
    out << YAML::Key << "api" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "listen" << YAML::Value << o.api.listen;
    if (!o.api.tokens_file.empty()) {
      out << YAML::Key << "tokens_file" << YAML::Value << Absolute(o.api.tokens_file);
    }
    out << YAML::Key << "insecure" << YAML::Value << o.api.insecure;
    if (!o.api.tls_cert.empty()) {
      out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
      out << YAML::Key << "cert" << YAML::Value << Absolute(o.api.tls_cert);
      out << YAML::Key << "key" << YAML::Value << Absolute(o.api.tls_key);
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace tuttle::tools
