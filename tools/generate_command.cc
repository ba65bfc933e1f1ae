#include "generate_command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iterator>
#include <map>
#include <queue>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tuttle/engine/time.h"

namespace tuttle::tools {
namespace {

// ---------------------------------------------------------------------------------------------
// Determinism: our own PRNG and integer draws, so that output does not depend on the standard
// library (std::uniform_int_distribution differs between libstdc++ and libc++).

// splitmix64 (Vigna): advances `x` and returns the next well-mixed value. Seeds the PRNG, and
// names the members of fixed fleets (nodes, callers) the same on any machine.
constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;
uint64_t SplitMix(uint64_t& x) {
  uint64_t z = (x += kGoldenGamma);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The `k`th value of a fixed fleet's stream: splitmix64 at position k.
uint64_t FleetMix(uint64_t k) {
  uint64_t x = k * kGoldenGamma;
  return SplitMix(x);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (uint64_t& s : s_) s = SplitMix(x);
  }
  // xoshiro256** (Blackman and Vigna).
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // In [0, n); the modulo bias (below n / 2^64) does not matter here.
  uint64_t Below(uint64_t n) { return n <= 1 ? 0 : Next() % n; }
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  // True with probability threshold / 2^53.
  bool Chance(uint64_t threshold) { return (Next() >> 11) < threshold; }
  template <typename T, size_t N>
  const T& Pick(const std::array<T, N>& a) {
    return a[Below(N)];
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// A short formatted string on the stack (ids, times, names), passed to fmt as a string_view.
struct Small {
  char data[400];
  size_t size = 0;
  std::string_view sv() const { return {data, size}; }
};

template <typename... T>
Small Fmt(fmt::format_string<T...> f, T&&... args) {
  Small s;
  const auto r = fmt::format_to_n(s.data, sizeof(s.data), f, std::forward<T>(args)...);
  s.size = std::min(r.size, sizeof(s.data));
  return s;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// RFC 3339 UTC with `digits` fraction digits (0, 3, 6 or 9).
Small Rfc3339(TimeNs t, int digits) {
  const int64_t secs = FloorDiv(t, kNsPerSecond);
  const int64_t ns = t - secs * kNsPerSecond;
  const int64_t days = FloorDiv(secs, 86400);
  const int64_t sod = secs - days * 86400;
  // civil_from_days (H. Hinnant).
  const int64_t z = days + 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  Small s;
  char* p = s.data;
  auto put = [&p](int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += width;
  };
  put(y, 4);
  *p++ = '-';
  put(m, 2);
  *p++ = '-';
  put(d, 2);
  *p++ = 'T';
  put(sod / 3600, 2);
  *p++ = ':';
  put(sod / 60 % 60, 2);
  *p++ = ':';
  put(sod % 60, 2);
  if (digits > 0) {
    int64_t frac = ns;
    for (int i = digits; i < 9; ++i) frac /= 10;
    *p++ = '.';
    put(frac, digits);
  }
  *p++ = 'Z';
  s.size = static_cast<size_t>(p - s.data);
  return s;
}

// A random (version 4) UUID.
Small Uuid(Rng& rng) {
  const uint64_t a = rng.Next();
  const uint64_t b = rng.Next();
  Small s;
  char* p = s.data;
  auto hex = [&p](uint64_t v, int width) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (int i = width - 1; i >= 0; --i) {
      p[i] = kHex[v & 15];
      v >>= 4;
    }
    p += width;
  };
  hex(a >> 32, 8);
  *p++ = '-';
  hex((a >> 16) & 0xffff, 4);
  *p++ = '-';
  *p++ = '4';
  hex(a & 0xfff, 3);
  *p++ = '-';
  hex(0x8000 | ((b >> 48) & 0x3fff), 4);
  *p++ = '-';
  hex(b & 0xffffffffffffULL, 12);
  s.size = static_cast<size_t>(p - s.data);
  return s;
}

Small Hex(Rng& rng, int n) {
  Small s;
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t x = 0;
  for (int i = 0; i < n; ++i) {
    if (i % 16 == 0) x = rng.Next();
    s.data[i] = kHex[x & 15];
    x >>= 4;
  }
  s.size = static_cast<size_t>(n);
  return s;
}

// The EC2 instance id of node `k` of a fixed fleet (kNodes per account): the role sessions nodes
// open are named after them, so the principals the inventory sees stay as few as the nodes.
constexpr uint64_t kNodes = 64;
Small NodeInstance(uint64_t k) { return Fmt("i-0{:016x}", FleetMix(k)); }

// Application ids of the few deployment pipelines and operators calling Azure Resource Manager.
constexpr uint64_t kAzureCallers = 6;
Small PoolUuid(uint64_t k) {
  const Small h = Fmt("{:016x}", FleetMix(k + 1000));  // rearranged into a version-4 UUID
  const std::string_view x = h.sv();
  return Fmt("{}-{}-4{}-a{}-{}{}", x.substr(0, 8), x.substr(8, 4), x.substr(12, 3), x.substr(1, 3),
             x.substr(4, 8), x.substr(0, 4));
}

// The project number of a GCP project (its Cloud Run service agent is named after it).
uint64_t GcpProjectNumber(std::string_view project) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable on any machine
  for (char c : project) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return 100000000000 + h % 899999999999;
}

// Kubernetes' random suffixes (pod-template-hash and pod name) use this alphabet.
Small KubeSuffix(Rng& rng, int n) {
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  Small s;
  uint64_t x = rng.Next();
  for (int i = 0; i < n; ++i) {
    s.data[i] = kAlphabet[x % 27];
    x /= 27;
  }
  s.size = static_cast<size_t>(n);
  return s;
}

Small Upper(std::string_view in) {
  Small s;
  for (char c : in) s.data[s.size++] = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  return s;
}

// ---------------------------------------------------------------------------------------------
// The estate: accounts, clusters, namespaces, functions. Tenants are used consistently: each
// function, repository and cluster belongs to one account, project or subscription.

struct AwsAccount {
  std::string_view id;
  std::string_view region;
};
constexpr std::array<AwsAccount, 3> kAwsAccounts = {{
    {"418277365921", "eu-west-1"},  // prod
    {"205930617248", "eu-west-1"},  // staging
    {"731846205519", "us-east-1"},  // shared services
}};
constexpr std::array<std::string_view, 8> kFunctions = {
    "orders-api",      "payments-webhook", "image-resize", "invoice-render",
    "token-refresher", "search-indexer",   "notify-email", "etl-nightly"};
constexpr std::array<std::string_view, 10> kNamespaces = {
    "payments",      "checkout", "orders",        "search",     "ledger",
    "notifications", "web",      "data-pipeline", "monitoring", "ingress-nginx"};
constexpr std::array<std::string_view, 6> kApps = {"api",      "worker",    "frontend",
                                                   "consumer", "scheduler", "gateway"};
constexpr std::array<std::string_view, 3> kGcpProjects = {"acme-prod-4711", "acme-data-2231",
                                                          "acme-edge-9034"};
constexpr std::array<std::string_view, 5> kGcpServices = {"checkout", "resize-images", "pdf-export",
                                                          "geo-lookup", "webhooks"};
constexpr std::array<std::string_view, 2> kAzureSubscriptions = {
    "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d", "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"};
constexpr std::array<std::string_view, 4> kAzureApps = {"payments-func", "orders-func",
                                                        "thumbs-func", "mailer-func"};
constexpr std::array<std::string_view, 4> kAzureFunctions = {"HttpTrigger", "QueueProcessor",
                                                             "TimerCleanup", "BlobResize"};
constexpr std::array<std::string_view, 4> kKubeletVersions = {
    "kubelet/v1.29.3 (linux/amd64) kubernetes/6813625",
    "kubelet/v1.29.3-eks-ae9a62a (linux/amd64) kubernetes/6813625",
    "kubelet/v1.28.8 (linux/arm64) kubernetes/fc11ff3",
    "kubelet/v1.29.1 (linux/amd64) kubernetes/bc401b9"};
constexpr std::array<std::string_view, 5> kAwsUserAgents = {
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/lambda#1.53.0",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213 md/arch#x86_64 lang/python#3.12.2",
    "aws-sdk-java/2.25.16 Linux/5.10.213 OpenJDK_64-Bit_Server_VM/21.0.2+13-LTS Java/21.0.2",
    "aws-sdk-js/3.540.0 ua/2.0 os/linux#5.10.213 lang/js md/nodejs#20.12.0 api/lambda#3.540.0",
    "aws-cli/2.15.31 Python/3.11.8 Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off"};

struct Pod {
  Small ns, app, name, image, node, node_ip;
};

// ---------------------------------------------------------------------------------------------
// Record kinds. Background kinds match no detection rule of the pack; matching kinds match at
// least one; story kinds are the steps of the planted attacks.

enum class Format : int {
  kK8sAudit,
  kAksAudit,
  kGkeAudit,
  kFalco,
  kDocker,
  kCloudTrail,
  kGcpAudit,
  kAzureActivity,
  kAzureFunctionAppLogs,
  kCount
};
constexpr std::array<std::string_view, static_cast<size_t>(Format::kCount)> kFormatNames = {
    "k8s_audit", "aks_audit",      "gke_audit",
    "falco",     "docker",         "cloudtrail",
    "gcp_audit", "azure_activity", "azure_functionapplogs"};

// One planted story's entities (all unique to the story).
struct Story {
  Small burst_ip;      // the source of the denied-invocation burst
  Small namespace_;    // the exec -> shell -> secrets namespace
  Small attacker;      // the Kubernetes user who execs
  Small pod;           // the pod exec'd into
  Small arn;           // the AWS identity that creates, exposes and rewrites a function
  Small function;      // that function
  AwsAccount account;  // where it happens
};

enum class StoryStep : int {
  kExec,
  kShell,
  kSecretGet,
  kInvokeDenied,
  kCreateFunction,
  kAddPermission,
  kUpdateCode,
};

struct Scheduled {
  TimeNs time;
  uint64_t seq;  // tie-break: the order they were scheduled in
  uint32_t story;
  StoryStep step;
  bool operator>(const Scheduled& o) const { return time != o.time ? time > o.time : seq > o.seq; }
};

constexpr int kBurstInvocations = 12;
constexpr int kRecordsPerStory = 3 + kBurstInvocations + 3;
constexpr uint64_t kMaxNoise = 65536;  // unique addresses in 198.19.0.0/16

class Generator {
 public:
  Generator(const GenerateOptions& o, TimeNs start, std::FILE* out, uint64_t stories)
      : o_(o), rng_(o.seed), out_(out), start_(start), t_(start), stories_(stories) {
    step_ns_ = kNsPerSecond / static_cast<int64_t>(o.events_per_second);
    if (step_ns_ < 1) step_ns_ = 1;
    // 2^53 * rate, computed once (IEEE doubles: the same on every machine).
    match_threshold_ = static_cast<uint64_t>(o.match_rate * 9007199254740992.0);
    for (uint64_t s = 0; s < stories; ++s) story_.push_back(MakeStory(s));
    buf_.reserve(1 << 22);
  }

  bool Run();
  const std::vector<Story>& stories() const { return story_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t matching() const { return matching_; }
  uint64_t noise() const { return noise_; }
  uint64_t min_size() const { return min_size_; }
  uint64_t max_size() const { return max_size_; }
  const std::array<uint64_t, static_cast<size_t>(Format::kCount)>& by_format() const {
    return by_format_;
  }

 private:
  Story MakeStory(uint64_t s) {
    Story st;
    st.burst_ip = Fmt("198.18.{}.{}", (s >> 8) & 255, s & 255);
    st.namespace_ = Fmt("billing-s{:05}", s);
    st.attacker = Fmt("contractor-s{:05}@partner.example", s);
    st.pod = Fmt("billing-api-6f8d9c7b5-s{:05}", s);
    st.account = kAwsAccounts[s % kAwsAccounts.size()];
    st.arn = Fmt("arn:aws:iam::{}:user/svc-release-s{:05}", st.account.id, s);
    st.function = Fmt("webhook-relay-s{:05}", s);
    return st;
  }

  void Schedule(uint32_t s) {
    const TimeNs t0 = t_ + kNsPerSecond;
    auto add = [&](TimeNs offset, StoryStep step) { queue_.push({t0 + offset, seq_++, s, step}); };
    add(0, StoryStep::kExec);
    add(4 * kNsPerSecond + 250 * kNsPerMs, StoryStep::kShell);
    add(15 * kNsPerSecond + 120 * kNsPerMs, StoryStep::kSecretGet);
    for (int i = 0; i < kBurstInvocations; ++i) {
      add((20 + 5 * i) * kNsPerSecond, StoryStep::kInvokeDenied);
    }
    add(30 * kNsPerSecond, StoryStep::kCreateFunction);
    add(60 * kNsPerSecond, StoryStep::kAddPermission);
    add(90 * kNsPerSecond, StoryStep::kUpdateCode);
  }

  // The next background record's time: monotone, jittered around the rate.
  TimeNs Advance() {
    t_ += static_cast<int64_t>(rng_.Below(static_cast<uint64_t>(2 * step_ns_) + 1));
    return t_;
  }
  // A record's own time may trail the clock by up to 400 ms (never late: lateness is 30 s).
  TimeNs Jittered() {
    return std::max(start_, t_ - static_cast<int64_t>(rng_.Below(400 * kNsPerMs)));
  }

  uint64_t Group() { return rng_.Below(o_.groups == 0 ? 1 : o_.groups); }
  Small GroupUser(uint64_t g) { return Fmt("dev{:07}@corp.example.com", g); }
  Small GroupIp(uint64_t g) {
    return Fmt("100.{}.{}.{}", 64 + ((g >> 16) & 63), (g >> 8) & 255, g & 255);
  }
  Small GroupNamespace(uint64_t g) { return Fmt("team-{:07}", g); }

  Pod RandomPod(std::string_view ns_override = {}) {
    Pod p;
    p.ns = ns_override.empty() ? Fmt("{}", rng_.Pick(kNamespaces)) : Fmt("{}", ns_override);
    p.app = Fmt("{}-{}", p.ns.sv().substr(0, p.ns.sv().find('-')), rng_.Pick(kApps));
    p.name = Fmt("{}-{}-{}", p.app.sv(), KubeSuffix(rng_, 9).sv(), KubeSuffix(rng_, 5).sv());
    const AwsAccount& acct = kAwsAccounts[0];
    // A few releases of each app run at once (a rollout, a canary): 1.0.0 to 1.3.1.
    p.image = Fmt("{}.dkr.ecr.{}.amazonaws.com/{}/{}:1.{}.{}", acct.id, acct.region, p.ns.sv(),
                  p.app.sv(), rng_.Below(4), rng_.Below(2));
    const uint64_t a = rng_.Below(4), b = 10 + rng_.Below(32);  // a fleet of 128 nodes
    p.node = Fmt("ip-10-0-{}-{}.eu-west-1.compute.internal", a, b);
    p.node_ip = Fmt("10.0.{}.{}", a, b);
    return p;
  }

  void Emit(Format f);

  // Background (routine) kinds.
  void K8sKubeletPodStatus();
  void K8sLeaseRenewal();
  void K8sPodCreatedByReplicaSet();
  void K8sEndpointsWatch();
  void K8sDeploymentRestart();
  void GkeLeaseUpdate();
  void AksNodeLeaseRenewal();
  void FalcoRoutine();
  void DockerRoutine();
  void CloudTrailInvoke(TimeNs t, std::string_view ip, const AwsAccount& acct,
                        std::string_view function, std::string_view caller_arn,
                        std::string_view error);
  void CloudTrailRoutine();
  void GcpRoutine();
  void AzureActivityRoutine();
  void AzureFunctionLog();
  void Background();

  // Matching kinds.
  void K8sForbidden();
  void K8sUserListsPods();
  void K8sExec(TimeNs t, std::string_view ns, std::string_view pod, std::string_view user,
               std::string_view ip);
  void FalcoShell(TimeNs t, std::string_view ns, std::string_view pod);
  void CloudTrailAccessDenied();
  void GcpPermissionDenied();
  void DockerExecShell();
  void Matching();

  // Story kinds.
  void K8sServiceAccountReadsSecret(TimeNs t, std::string_view ns);
  void LambdaCreate(TimeNs t, const Story& s);
  void LambdaAddPublicPermission(TimeNs t, const Story& s);
  void LambdaUpdateCode(TimeNs t, const Story& s);
  void StoryRecord(const Scheduled& e);

  // Appends a record. fmt checks the format string against the arguments at compile time; the
  // record itself is built from the template's pieces split once (TemplateFor), which is several
  // times faster than fmt's runtime parse of a 1 KB format string per record. Templates use only
  // "{}", "{{" and "}}".
  template <typename... T>
  void W(fmt::format_string<T...> f, T&&... args) {
    const Arg a[] = {Arg(args)...};
    for (const Piece& p : TemplateFor(fmt::string_view(f))) {
      buf_.append(p.literal.data(), p.literal.data() + p.literal.size());
      if (p.arg >= 0) {
        const std::string_view v = a[p.arg].view();
        buf_.append(v.data(), v.data() + v.size());
      }
    }
  }
  // One argument as text: strings as they are, integers in decimal.
  struct Arg {
    explicit Arg(std::string_view s) : ptr(s.data()), len(s.size()) {}
    explicit Arg(const char* s) : Arg(std::string_view(s)) {}
    template <typename I>
    requires std::is_integral_v<I>
    explicit Arg(I v) {
      const fmt::format_int f(v);
      len = f.size();
      std::memcpy(digits, f.data(), len);
    }
    std::string_view view() const {
      return ptr ? std::string_view(ptr, len) : std::string_view(digits, len);
    }
    const char* ptr = nullptr;
    size_t len = 0;
    char digits[24];
  };
  // A literal and the argument after it (-1: none).
  struct Piece {
    std::string_view literal;
    int arg = -1;
  };
  const std::vector<Piece>& TemplateFor(fmt::string_view f) {
    auto it = templates_.find(f.data());
    if (it != templates_.end()) return it->second;
    std::vector<Piece> pieces;
    std::string* literal = &literals_.emplace_back();
    int next_arg = 0;
    for (size_t i = 0; i < f.size(); ++i) {
      const char c = f.data()[i];
      if ((c == '{' || c == '}') && i + 1 < f.size() && f.data()[i + 1] == c) {
        literal->push_back(c);
        ++i;
      } else if (c == '{' && i + 1 < f.size() && f.data()[i + 1] == '}') {
        pieces.push_back({*literal, next_arg++});
        literal = &literals_.emplace_back();
        ++i;
      } else {
        literal->push_back(c);
      }
    }
    pieces.push_back({*literal, -1});
    return templates_.emplace(f.data(), std::move(pieces)).first->second;
  }
  bool Flush();

  const GenerateOptions& o_;
  Rng rng_;
  std::FILE* out_;
  TimeNs start_;  // no record is older
  TimeNs t_;      // the clock: the newest time given out
  int64_t step_ns_ = 1'000'000;
  uint64_t match_threshold_ = 0;
  uint64_t stories_;
  std::vector<Story> story_;
  std::priority_queue<Scheduled, std::vector<Scheduled>, std::greater<>> queue_;
  uint64_t seq_ = 0;
  fmt::memory_buffer buf_;
  std::map<const char*, std::vector<Piece>> templates_;  // by the format string's address
  std::deque<std::string> literals_;                     // the pieces' text (stable addresses)
  size_t line_start_ = 0;
  uint64_t bytes_ = 0;
  uint64_t matching_ = 0;
  uint64_t noise_ = 0;
  uint64_t min_size_ = UINT64_MAX;
  uint64_t max_size_ = 0;
  std::array<uint64_t, static_cast<size_t>(Format::kCount)> by_format_{};
};

void Generator::Emit(Format f) {
  const size_t size = buf_.size() - line_start_;
  min_size_ = std::min<uint64_t>(min_size_, size);
  max_size_ = std::max<uint64_t>(max_size_, size);
  buf_.push_back('\n');
  line_start_ = buf_.size();
  ++by_format_[static_cast<size_t>(f)];
}

bool Generator::Flush() {
  if (buf_.size() == 0) return true;
  const bool ok = std::fwrite(buf_.data(), 1, buf_.size(), out_) == buf_.size();
  bytes_ += buf_.size();
  buf_.clear();
  line_start_ = 0;
  return ok;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes audit

void Generator::K8sKubeletPodStatus() {
  const Pod p = RandomPod();
  const TimeNs t = Jittered();
  const bool ready = rng_.Below(10) != 0;
  const TimeNs since = t - static_cast<int64_t>(rng_.Below(86400)) * kNsPerSecond;
  W(R"j({{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"{}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/{}/pods/{}/status","verb":"patch","user":{{"username":"system:node:{}","groups":["system:nodes","system:authenticated"]}},"sourceIPs":["{}"],"userAgent":"{}","objectRef":{{"resource":"pods","namespace":"{}","name":"{}","apiVersion":"v1","subresource":"status"}},"responseStatus":{{"metadata":{{}},"code":200}},"requestObject":{{"metadata":{{"uid":"{}"}},"status":{{"conditions":[{{"type":"Ready","status":"{}","lastTransitionTime":"{}"}},{{"type":"ContainersReady","status":"{}","lastTransitionTime":"{}"}}],"containerStatuses":[{{"name":"{}","ready":{},"restartCount":{},"image":"{}","started":true,"state":{{"running":{{"startedAt":"{}"}}}}}}]}}}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}","annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}}})j",
    Uuid(rng_).sv(), p.ns.sv(), p.name.sv(), p.node.sv(), p.node_ip.sv(),
    rng_.Pick(kKubeletVersions), p.ns.sv(), p.name.sv(), Uuid(rng_).sv(), ready ? "True" : "False",
    Rfc3339(t, 0).sv(), ready ? "True" : "False", Rfc3339(t, 0).sv(), p.app.sv(),
    ready ? "true" : "false", rng_.Below(4), p.image.sv(), Rfc3339(since, 0).sv(),
    Rfc3339(t - 2 * kNsPerMs, 6).sv(), Rfc3339(t, 6).sv());
  Emit(Format::kK8sAudit);
}

void Generator::K8sLeaseRenewal() {
  const TimeNs t = Jittered();
  const uint64_t which = rng_.Below(4);
  if (which == 0) {
    // The controller manager and scheduler renew their leader leases every 2 s.
    static constexpr std::array<std::string_view, 2> kWho = {"kube-controller-manager",
                                                             "kube-scheduler"};
    const std::string_view who = rng_.Pick(kWho);
    W(R"j({{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{}","stage":"ResponseComplete","requestURI":"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{}?timeout=5s","verb":"update","user":{{"username":"system:{}","groups":["system:authenticated"]}},"sourceIPs":["10.0.0.{}"],"userAgent":"{}/v1.29.3 (linux/amd64) kubernetes/6813625/leader-election","objectRef":{{"resource":"leases","namespace":"kube-system","name":"{}","uid":"{}","apiGroup":"coordination.k8s.io","apiVersion":"v1","resourceVersion":"{}"}},"responseStatus":{{"metadata":{{}},"code":200}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}","annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"system:{}\" of ClusterRole \"system:{}\" to User \"system:{}\""}}}})j",
      Uuid(rng_).sv(), who, who, 10 + rng_.Below(3), who, who, Uuid(rng_).sv(),
      10'000'000 + rng_.Below(90'000'000), Rfc3339(t - kNsPerMs, 6).sv(), Rfc3339(t, 6).sv(), who,
      who, who);
  } else {
    // Each kubelet renews its node lease every 10 s.
    const uint64_t a = rng_.Below(4), b = 10 + rng_.Below(32);  // the same 128 nodes
    const Small node = Fmt("ip-10-0-{}-{}.eu-west-1.compute.internal", a, b);
    W(R"j({{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{}","stage":"ResponseComplete","requestURI":"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{}?timeout=10s","verb":"update","user":{{"username":"system:node:{}","groups":["system:nodes","system:authenticated"]}},"sourceIPs":["10.0.{}.{}"],"userAgent":"{}","objectRef":{{"resource":"leases","namespace":"kube-node-lease","name":"{}","uid":"{}","apiGroup":"coordination.k8s.io","apiVersion":"v1","resourceVersion":"{}"}},"responseStatus":{{"metadata":{{}},"code":200}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}"}})j",
      Uuid(rng_).sv(), node.sv(), node.sv(), a, b, rng_.Pick(kKubeletVersions), node.sv(),
      Uuid(rng_).sv(), 10'000'000 + rng_.Below(90'000'000), Rfc3339(t - kNsPerMs, 6).sv(),
      Rfc3339(t, 6).sv());
  }
  Emit(Format::kK8sAudit);
}

void Generator::K8sPodCreatedByReplicaSet() {
  const Pod p = RandomPod();
  const TimeNs t = Jittered();
  const uint64_t cpu = 50 * (1 + rng_.Below(8));
  const uint64_t mem = 64 * (1 + rng_.Below(16));
  W(R"j({{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"{}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/{}/pods","verb":"create","user":{{"username":"system:serviceaccount:kube-system:replicaset-controller","groups":["system:serviceaccounts","system:authenticated"]}},"sourceIPs":["10.0.0.{}"],"userAgent":"kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/6813625/replicaset-controller","objectRef":{{"resource":"pods","namespace":"{}","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":201}},"requestObject":{{"kind":"Pod","apiVersion":"v1","metadata":{{"generateName":"{}-","namespace":"{}","labels":{{"app":"{}"}},"ownerReferences":[{{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"{}","controller":true}}]}},"spec":{{"containers":[{{"name":"{}","image":"{}","resources":{{"limits":{{"cpu":"{}m","memory":"{}Mi"}}}}}}],"restartPolicy":"Always","serviceAccountName":"{}","securityContext":{{"runAsNonRoot":true}}}}}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}","annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}}})j",
    Uuid(rng_).sv(), p.ns.sv(), 10 + rng_.Below(3), p.ns.sv(),
    p.name.sv().substr(0, p.name.sv().size() - 6), p.ns.sv(), p.app.sv(),
    p.name.sv().substr(0, p.name.sv().size() - 6), p.app.sv(), p.image.sv(), cpu, mem, p.app.sv(),
    Rfc3339(t - 9 * kNsPerMs, 6).sv(), Rfc3339(t, 6).sv());
  Emit(Format::kK8sAudit);
}

void Generator::K8sEndpointsWatch() {
  const TimeNs t = Jittered();
  static constexpr std::array<std::string_view, 3> kWatchers = {
      "system:serviceaccount:monitoring:prometheus",
      "system:serviceaccount:ingress-nginx:ingress-nginx",
      "system:serviceaccount:monitoring:kube-state-metrics"};
  const std::string_view ns = rng_.Pick(kNamespaces);
  const bool slices = rng_.Below(2) == 0;
  W(R"j({{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{}","stage":"ResponseStarted","requestURI":"/{}/namespaces/{}/{}?allowWatchBookmarks=true&resourceVersion={}&timeout=8m{}s&timeoutSeconds={}&watch=true","verb":"watch","user":{{"username":"{}","uid":"{}","groups":["system:serviceaccounts","system:authenticated"]}},"sourceIPs":["10.0.{}.{}"],"userAgent":"prometheus/2.51.1","objectRef":{{"resource":"{}","namespace":"{}",{}"apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":200}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}","annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"prometheus\" of ClusterRole \"prometheus\""}}}})j",
    Uuid(rng_).sv(), slices ? "apis/discovery.k8s.io/v1" : "api/v1", ns,
    slices ? "endpointslices" : "endpoints", 10'000'000 + rng_.Below(90'000'000), rng_.Below(60),
    480 + rng_.Below(60), rng_.Pick(kWatchers), Uuid(rng_).sv(), 16 + rng_.Below(32),
    rng_.Below(256), slices ? "endpointslices" : "endpoints", ns,
    slices ? R"j("apiGroup":"discovery.k8s.io",)j" : "", Rfc3339(t - kNsPerMs, 6).sv(),
    Rfc3339(t, 6).sv());
  Emit(Format::kK8sAudit);
}

void Generator::K8sDeploymentRestart() {
  const Pod p = RandomPod();
  const TimeNs t = Jittered();
  W(R"j({{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"{}","stage":"ResponseComplete","requestURI":"/apis/apps/v1/namespaces/{}/deployments/{}?fieldManager=argocd-controller","verb":"patch","user":{{"username":"system:serviceaccount:argocd:argocd-application-controller","uid":"{}","groups":["system:serviceaccounts","system:serviceaccounts:argocd","system:authenticated"]}},"sourceIPs":["10.0.{}.{}"],"userAgent":"argocd-application-controller/v2.10.4","objectRef":{{"resource":"deployments","namespace":"{}","name":"{}","apiGroup":"apps","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":200}},"requestObject":{{"metadata":{{"annotations":{{"argocd.argoproj.io/tracking-id":"{}:apps/Deployment:{}/{}"}},"labels":{{"app.kubernetes.io/version":"{}.{}.{}"}}}},"spec":{{"replicas":{},"template":{{"metadata":{{"annotations":{{"kubectl.kubernetes.io/restartedAt":"{}"}}}}}}}}}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}","annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"argocd-application-controller\" of ClusterRole \"argocd-application-controller\""}}}})j",
    Uuid(rng_).sv(), p.ns.sv(), p.app.sv(), Uuid(rng_).sv(), 16 + rng_.Below(32), rng_.Below(256),
    p.ns.sv(), p.app.sv(), p.ns.sv(), p.ns.sv(), p.app.sv(), 1 + rng_.Below(3), rng_.Below(20),
    rng_.Below(10), 2 + rng_.Below(6), Rfc3339(t, 0).sv(), Rfc3339(t - 6 * kNsPerMs, 6).sv(),
    Rfc3339(t, 6).sv());
  Emit(Format::kK8sAudit);
}

void Generator::AksNodeLeaseRenewal() {
  // An AKS kubelet's node lease, as diagnostic settings export it: the audit event is a JSON
  // string in properties.log.
  const TimeNs t = Jittered();
  const std::string_view sub = rng_.Pick(kAzureSubscriptions);
  const uint64_t cluster = 1 + rng_.Below(2);
  const Small node = Fmt("aks-nodepool{}-{}-vmss{:06}", 1 + rng_.Below(2),
                         24'000'000 + cluster * 1'234'567, rng_.Below(12));
  W(R"j({{"operationName":"Microsoft.ContainerService/managedClusters/diagnosticLogs/Read","category":"kube-audit","ccpNamespace":"65f2c5c8a1b2c3d4e5f6071{}","resourceId":"/SUBSCRIPTIONS/{}/RESOURCEGROUPS/RG-AKS/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS-WEU-{}","properties":{{"log":"{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"{}\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{}?timeout=10s\",\"verb\":\"update\",\"user\":{{\"username\":\"system:node:{}\",\"groups\":[\"system:nodes\",\"system:authenticated\"]}},\"sourceIPs\":[\"10.224.0.{}\"],\"userAgent\":\"kubelet/v1.29.2 (linux/amd64) kubernetes/4b8e819\",\"objectRef\":{{\"resource\":\"leases\",\"namespace\":\"kube-node-lease\",\"name\":\"{}\",\"apiGroup\":\"coordination.k8s.io\",\"apiVersion\":\"v1\"}},\"responseStatus\":{{\"metadata\":{{}},\"code\":200}},\"requestReceivedTimestamp\":\"{}\",\"stageTimestamp\":\"{}\"}}\n","pod":"kube-apiserver-7f9c8b6d5-{}","stream":"stdout"}},"time":"{}","Cloud":"AzureCloud","Environment":"prod"}})j",
    cluster, Upper(sub).sv(), cluster, Uuid(rng_).sv(), node.sv(), node.sv(), 4 + rng_.Below(200),
    node.sv(), Rfc3339(t - 2 * kNsPerMs, 6).sv(), Rfc3339(t, 6).sv(), KubeSuffix(rng_, 5).sv(),
    Rfc3339(t + 50 * kNsPerMs, 7).sv());
  Emit(Format::kAksAudit);
}

void Generator::GkeLeaseUpdate() {
  const TimeNs t = Jittered();
  const std::string_view project = kGcpProjects[0];
  static constexpr std::array<std::string_view, 3> kWho = {
      "kube-scheduler", "kube-controller-manager", "cluster-autoscaler"};
  const std::string_view who = rng_.Pick(kWho);
  const Small id = Uuid(rng_);
  W(R"j({{"protoPayload":{{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{{"principalEmail":"system:{}"}},"authorizationInfo":[{{"granted":true,"permission":"io.k8s.coordination.v1.leases.update","resource":"coordination.k8s.io/v1/namespaces/kube-system/leases/{}"}}],"methodName":"io.k8s.coordination.v1.leases.update","requestMetadata":{{"callerIp":"172.16.0.{}","callerSuppliedUserAgent":"{}/v1.29.1 (linux/amd64) kubernetes/gke/leader-election"}},"resourceName":"coordination.k8s.io/v1/namespaces/kube-system/leases/{}","serviceName":"k8s.io","status":{{}}}},"insertId":"{}","resource":{{"type":"k8s_cluster","labels":{{"cluster_name":"gke-edge-{}","location":"europe-west1","project_id":"{}"}}}},"timestamp":"{}","labels":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"access granted by IAM permissions."}},"logName":"projects/{}/logs/cloudaudit.googleapis.com%2Factivity","operation":{{"id":"{}","producer":"k8s.io","first":true,"last":true}},"receiveTimestamp":"{}"}})j",
    who, who, 2 + rng_.Below(3), who, who, id.sv(), 1 + rng_.Below(2), project, Rfc3339(t, 6).sv(),
    project, id.sv(), Rfc3339(t + 700 * kNsPerMs, 6).sv());
  Emit(Format::kGkeAudit);
}

// ---------------------------------------------------------------------------------------------
// Falco and Docker

void Generator::FalcoRoutine() {
  const Pod p = RandomPod();
  const TimeNs t = Jittered();
  const Small cid = Hex(rng_, 12);
  const Small time_ns = Rfc3339(t, 9);
  const Small clock = Rfc3339(t, 9);
  const std::string_view hms = clock.sv().substr(11, 18);
  switch (rng_.Below(3)) {
    case 0:
      W(R"j({{"hostname":"{}","output":"{}: Error Package management process launched in container (user=root user_loginuid=-1 command=apt-get update -qq pid={} container_id={} container_name={} image={} k8s_ns={} k8s_pod_name={})","priority":"Error","rule":"Launch Package Management Process in Container","source":"syscall","tags":["T1505","container","maturity_stable","mitre_persistence","process","software_mgmt"],"time":"{}","output_fields":{{"container.id":"{}","container.image.repository":"{}","container.name":"{}","evt.time":{},"k8s.ns.name":"{}","k8s.pod.name":"{}","proc.cmdline":"apt-get update -qq","proc.name":"apt-get","user.loginuid":-1,"user.name":"root"}}}})j",
        p.node.sv().substr(0, p.node.sv().find('.')), hms, 1000 + rng_.Below(60000), cid.sv(),
        p.app.sv(), p.image.sv(), p.ns.sv(), p.name.sv(), time_ns.sv(), cid.sv(),
        p.image.sv().substr(0, p.image.sv().rfind(':')), p.app.sv(), t, p.ns.sv(), p.name.sv());
      break;
    case 1:
      W(R"j({{"hostname":"{}","output":"{}: Notice Outbound connection to IMDS from container (proc.name=python3 connection=10.0.{}.{}:{}->169.254.169.254:80 container_id={} k8s_ns={} k8s_pod_name={})","priority":"Notice","rule":"Contact EC2 Instance Metadata Service From Container","source":"syscall","tags":["T1565","container","maturity_incubating","mitre_discovery","network"],"time":"{}","output_fields":{{"container.id":"{}","container.image.repository":"{}","evt.time":{},"fd.name":"10.0.{}.{}:{}->169.254.169.254:80","k8s.ns.name":"{}","k8s.pod.name":"{}","proc.cmdline":"python3 -m app.worker","proc.name":"python3"}}}})j",
        p.node.sv().substr(0, p.node.sv().find('.')), hms, rng_.Below(48), rng_.Below(256),
        32768 + rng_.Below(28000), cid.sv(), p.ns.sv(), p.name.sv(), time_ns.sv(), cid.sv(),
        p.image.sv().substr(0, p.image.sv().rfind(':')), t, rng_.Below(48), rng_.Below(256),
        32768 + rng_.Below(28000), p.ns.sv(), p.name.sv());
      break;
    default:
      W(R"j({{"hostname":"{}","output":"{}: Warning Redirect stdout/stdin to network connection (gparent=containerd-shim ggparent=systemd fd.sip=10.0.{}.{} connection=10.0.{}.{}:8080 lport=8080 rport={} fd_type=ipv4 fd_proto=tcp evt_type=dup2 user=app user_uid=1000 process=envoy container_id={} k8s_ns={} k8s_pod_name={})","priority":"Warning","rule":"Redirect STDOUT/STDIN to Network Connection in Container","source":"syscall","tags":["T1059","container","maturity_stable","mitre_execution","network","process"],"time":"{}","output_fields":{{"container.id":"{}","evt.time":{},"evt.type":"dup2","k8s.ns.name":"{}","k8s.pod.name":"{}","proc.name":"envoy","user.name":"app","user.uid":1000}}}})j",
        p.node.sv().substr(0, p.node.sv().find('.')), hms, rng_.Below(48), rng_.Below(256),
        rng_.Below(48), rng_.Below(256), 32768 + rng_.Below(28000), cid.sv(), p.ns.sv(),
        p.name.sv(), time_ns.sv(), cid.sv(), t, p.ns.sv(), p.name.sv());
      break;
  }
  Emit(Format::kFalco);
}

void Generator::DockerRoutine() {
  const Pod p = RandomPod();
  const TimeNs t = Jittered();
  const Small id = Hex(rng_, 64);
  static constexpr std::array<std::string_view, 5> kActions = {
      "start", "die", "health_status: healthy", "kill", "destroy"};
  const uint64_t what = rng_.Below(6);
  if (what == 5) {
    W(R"j({{"status":"pull","id":"{}","Type":"image","Action":"pull","Actor":{{"ID":"{}","Attributes":{{"name":"{}"}}}},"scope":"local","time":{},"timeNano":{}}})j",
      p.image.sv(), p.image.sv(), p.image.sv(), FloorDiv(t, kNsPerSecond), t);
  } else if (rng_.Below(3) == 0) {
    // A Compose host (build agents, edge boxes): shorter events, no Kubernetes labels.
    static constexpr std::array<std::string_view, 4> kImages = {
        "redis:7.2-alpine", "postgres:16.2", "nginx:1.25.4", "grafana/agent:v0.40.3"};
    static constexpr std::array<std::string_view, 3> kProjects = {"ci-cache", "edge", "metrics"};
    const std::string_view image = rng_.Pick(kImages);
    const std::string_view project = rng_.Pick(kProjects);
    const std::string_view service = image.substr(0, image.find_first_of("/:"));
    const std::string_view action = kActions[what];
    W(R"j({{"status":"{}","id":"{}","from":"{}","Type":"container","Action":"{}","Actor":{{"ID":"{}","Attributes":{{"com.docker.compose.project":"{}","com.docker.compose.service":"{}","com.docker.compose.version":"2.24.6","image":"{}","name":"{}-{}-1"}}}},"scope":"local","time":{},"timeNano":{}}})j",
      action, id.sv(), image, action, id.sv(), project, service, image, project, service,
      FloorDiv(t, kNsPerSecond), t);
  } else {
    const std::string_view action = kActions[what];
    const bool die = action == "die";
    W(R"j({{"status":"{}","id":"{}","from":"{}","Type":"container","Action":"{}","Actor":{{"ID":"{}","Attributes":{{{}"image":"{}","io.kubernetes.container.logpath":"/var/log/pods/{}_{}_{}/{}/0.log","io.kubernetes.container.name":"{}","io.kubernetes.docker.type":"container","io.kubernetes.pod.name":"{}","io.kubernetes.pod.namespace":"{}","io.kubernetes.pod.uid":"{}","io.kubernetes.sandbox.id":"{}","name":"k8s_{}_{}_{}_{}_0"}}}},"scope":"local","time":{},"timeNano":{}}})j",
      action, id.sv(), p.image.sv(), action, id.sv(),
      die ? (rng_.Below(4) == 0 ? R"j("exitCode":"137",)j" : R"j("exitCode":"0",)j") : "",
      p.image.sv(), p.ns.sv(), p.name.sv(), Uuid(rng_).sv(), p.app.sv(), p.app.sv(), p.name.sv(),
      p.ns.sv(), Uuid(rng_).sv(), Hex(rng_, 64).sv(), p.app.sv(), p.name.sv(), p.ns.sv(),
      Uuid(rng_).sv(), FloorDiv(t, kNsPerSecond), t);
  }
  Emit(Format::kDocker);
}

// ---------------------------------------------------------------------------------------------
// CloudTrail

void Generator::CloudTrailInvoke(TimeNs t, std::string_view ip, const AwsAccount& acct,
                                 std::string_view function, std::string_view caller_arn,
                                 std::string_view error) {
  const Small error_fields =
      error.empty()
          ? Small{}
          : Fmt(R"j("errorCode":"{}","errorMessage":"User: {} is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:{}:{}:function:{}",)j",
                error, caller_arn, acct.region, acct.id, function);
  const std::string_view role = caller_arn.substr(caller_arn.rfind(':') + 1);
  W(R"j({{"eventVersion":"1.09","userIdentity":{{"type":"AssumedRole","principalId":"AROA{}:{}","arn":"{}","accountId":"{}","accessKeyId":"ASIA{}"}},"eventTime":"{}","eventSource":"lambda.amazonaws.com","eventName":"Invoke","awsRegion":"{}","sourceIPAddress":"{}","userAgent":"{}",{}"requestParameters":{{"functionName":"arn:aws:lambda:{}:{}:function:{}","invocationType":"{}"}},"responseElements":null,"requestID":"{}","eventID":"{}","readOnly":false,"resources":[{{"accountId":"{}","type":"AWS::Lambda::Function","ARN":"arn:aws:lambda:{}:{}:function:{}"}}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"{}","eventCategory":"Data","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"lambda.{}.amazonaws.com"}}}})j",
    Upper(Hex(rng_, 16).sv()).sv(), role.substr(role.find('/') + 1), caller_arn, acct.id,
    Upper(Hex(rng_, 16).sv()).sv(), Rfc3339(t, 0).sv(), acct.region, ip,
    kAwsUserAgents[rng_.Below(4)], error_fields.sv(), acct.region, acct.id, function,
    rng_.Below(3) == 0 ? "Event" : "RequestResponse", Uuid(rng_).sv(), Uuid(rng_).sv(), acct.id,
    acct.region, acct.id, function, acct.id, acct.region);
  Emit(Format::kCloudTrail);
}

void Generator::CloudTrailRoutine() {
  const TimeNs t = Jittered();
  const AwsAccount& acct = kAwsAccounts[rng_.Below(kAwsAccounts.size())];
  const uint64_t what = rng_.Below(12);
  if (what < 4) {
    const std::string_view fn = rng_.Pick(kFunctions);
    // Each function has one calling role per account (API Gateway, a queue poller, a scheduler).
    const Small caller =
        Fmt("arn:aws:sts::{}:assumed-role/{}-invoker/{}", acct.id, fn, fn.substr(0, fn.find('-')));
    CloudTrailInvoke(t, Fmt("10.0.{}.{}", rng_.Below(48), 1 + rng_.Below(254)).sv(), acct, fn,
                     caller.sv(), "");
    return;
  }
  if (what < 7) {
    // Nodes pulling images from ECR.
    const std::string_view ns = rng_.Pick(kNamespaces);
    const std::string_view app = rng_.Pick(kApps);
    static constexpr std::array<std::string_view, 2> kCalls = {"BatchGetImage",
                                                               "GetDownloadUrlForLayer"};
    const std::string_view call = rng_.Pick(kCalls);
    const Small node = NodeInstance(rng_.Below(kNodes));
    const Small digest = Hex(rng_, 64);
    W(R"j({{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROA{}:{}","arn":"arn:aws:sts::{}:assumed-role/eks-node-group-role/{}","accountId":"{}","accessKeyId":"ASIA{}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA{}","arn":"arn:aws:iam::{}:role/eks-node-group-role","accountId":"{}","userName":"eks-node-group-role"}},"attributes":{{"creationDate":"{}","mfaAuthenticated":"false"}},"ec2RoleDelivery":"2.0"}}}},"eventTime":"{}","eventSource":"ecr.amazonaws.com","eventName":"{}","awsRegion":"{}","sourceIPAddress":"10.0.{}.{}","userAgent":"containerd/1.7.11","requestParameters":{{"registryId":"{}","repositoryName":"{}/{}",{}}},"responseElements":null,"requestID":"{}","eventID":"{}","readOnly":true,"resources":[{{"accountId":"{}","ARN":"arn:aws:ecr:{}:{}:repository/{}/{}"}}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{}","eventCategory":"Management"}})j",
      Upper(Hex(rng_, 16).sv()).sv(), node.sv(), acct.id, node.sv(), acct.id,
      Upper(Hex(rng_, 16).sv()).sv(), Upper(Hex(rng_, 16).sv()).sv(), acct.id, acct.id,
      Rfc3339(t - static_cast<int64_t>(rng_.Below(3600)) * kNsPerSecond, 0).sv(),
      Rfc3339(t, 0).sv(), call, acct.region, rng_.Below(48), 1 + rng_.Below(254), acct.id, ns, app,
      call == "BatchGetImage"
          ? Fmt(R"j("imageIds":[{{"imageTag":"{}.{}.{}"}}],"acceptedMediaTypes":["application/vnd.docker.distribution.manifest.v2+json","application/vnd.oci.image.manifest.v1+json"])j",
                1 + rng_.Below(3), rng_.Below(20), rng_.Below(10))
                .sv()
          : Fmt(R"j("layerDigest":"sha256:{}")j", digest.sv()).sv(),
      Uuid(rng_).sv(), Uuid(rng_).sv(), acct.id, acct.region, acct.id, ns, app, acct.id);
    Emit(Format::kCloudTrail);
    return;
  }
  if (what < 9) {
    // IRSA: pods' service accounts assume their roles.
    const std::string_view ns = rng_.Pick(kNamespaces);
    const std::string_view app = rng_.Pick(kApps);
    const Small oidc = Upper(Hex(rng_, 32).sv());
    W(R"j({{"eventVersion":"1.08","userIdentity":{{"type":"WebIdentityUser","principalId":"arn:aws:iam::{}:oidc-provider/oidc.eks.{}.amazonaws.com/id/{}:sts.amazonaws.com:system:serviceaccount:{}:{}","userName":"system:serviceaccount:{}:{}"}},"eventTime":"{}","eventSource":"sts.amazonaws.com","eventName":"AssumeRoleWithWebIdentity","awsRegion":"{}","sourceIPAddress":"10.0.{}.{}","userAgent":"{}","requestParameters":{{"roleArn":"arn:aws:iam::{}:role/{}-{}","roleSessionName":"botocore-session-{}","durationSeconds":3600}},"responseElements":{{"credentials":{{"accessKeyId":"ASIA{}","expiration":"{}"}},"assumedRoleUser":{{"assumedRoleId":"AROA{}:botocore-session-{}","arn":"arn:aws:sts::{}:assumed-role/{}-{}/botocore-session-{}"}},"provider":"arn:aws:iam::{}:oidc-provider/oidc.eks.{}.amazonaws.com/id/{}","audience":"sts.amazonaws.com"}},"requestID":"{}","eventID":"{}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{}","eventCategory":"Management"}})j",
      acct.id, acct.region, oidc.sv(), ns, app, ns, app, Rfc3339(t, 0).sv(), acct.region,
      rng_.Below(48), 1 + rng_.Below(254), kAwsUserAgents[1], acct.id, ns, app,
      FloorDiv(t, kNsPerSecond), Upper(Hex(rng_, 16).sv()).sv(),
      Rfc3339(t + 3600 * kNsPerSecond, 0).sv(), Upper(Hex(rng_, 16).sv()).sv(),
      FloorDiv(t, kNsPerSecond), acct.id, ns, app, FloorDiv(t, kNsPerSecond), acct.id, acct.region,
      oidc.sv(), Uuid(rng_).sv(), Uuid(rng_).sv(), acct.id);
    Emit(Format::kCloudTrail);
    return;
  }
  if (what == 10) {
    // Terraform refreshing an EKS cluster's add-ons.
    static constexpr std::array<std::string_view, 4> kAddons = {"vpc-cni", "coredns", "kube-proxy",
                                                                "aws-ebs-csi-driver"};
    static constexpr std::array<std::string_view, 3> kClusters = {
        "eks-prod-euw1", "eks-staging-euw1", "eks-shared-use1"};
    const size_t a = static_cast<size_t>(&acct - kAwsAccounts.data());
    W(R"j({{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROA{}:terraform","arn":"arn:aws:sts::{}:assumed-role/platform-terraform/terraform","accountId":"{}","accessKeyId":"ASIA{}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA{}","arn":"arn:aws:iam::{}:role/platform-terraform","accountId":"{}","userName":"platform-terraform"}},"attributes":{{"creationDate":"{}","mfaAuthenticated":"false"}}}}}},"eventTime":"{}","eventSource":"eks.amazonaws.com","eventName":"DescribeAddon","awsRegion":"{}","sourceIPAddress":"10.0.{}.{}","userAgent":"APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.43.0 aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 api/eks#1.41.2","requestParameters":{{"name":"{}","addonName":"{}"}},"responseElements":null,"requestID":"{}","eventID":"{}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{}","eventCategory":"Management"}})j",
      Upper(Hex(rng_, 16).sv()).sv(), acct.id, acct.id, Upper(Hex(rng_, 16).sv()).sv(),
      Upper(Hex(rng_, 16).sv()).sv(), acct.id, acct.id,
      Rfc3339(t - static_cast<int64_t>(rng_.Below(3600)) * kNsPerSecond, 0).sv(),
      Rfc3339(t, 0).sv(), acct.region, rng_.Below(48), 1 + rng_.Below(254), kClusters[a],
      rng_.Pick(kAddons), Uuid(rng_).sv(), Uuid(rng_).sv(), acct.id);
    Emit(Format::kCloudTrail);
    return;
  }
  if (what == 11) {
    // AWS Config recording the functions' execution roles (IAM is global: us-east-1).
    const std::string_view fn = rng_.Pick(kFunctions);
    W(R"j({{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROA{}:AWSConfig-Describe","arn":"arn:aws:sts::{}:assumed-role/AWSServiceRoleForConfig/AWSConfig-Describe","accountId":"{}","accessKeyId":"ASIA{}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA{}","arn":"arn:aws:iam::{}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig","accountId":"{}","userName":"AWSServiceRoleForConfig"}},"attributes":{{"creationDate":"{}","mfaAuthenticated":"false"}}}},"invokedBy":"config.amazonaws.com"}},"eventTime":"{}","eventSource":"iam.amazonaws.com","eventName":"GetRole","awsRegion":"us-east-1","sourceIPAddress":"config.amazonaws.com","userAgent":"config.amazonaws.com","requestParameters":{{"roleName":"{}-role"}},"responseElements":null,"requestID":"{}","eventID":"{}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{}","eventCategory":"Management"}})j",
      Upper(Hex(rng_, 16).sv()).sv(), acct.id, acct.id, Upper(Hex(rng_, 16).sv()).sv(),
      Upper(Hex(rng_, 16).sv()).sv(), acct.id, acct.id,
      Rfc3339(t - static_cast<int64_t>(rng_.Below(3600)) * kNsPerSecond, 0).sv(),
      Rfc3339(t, 0).sv(), fn, Uuid(rng_).sv(), Uuid(rng_).sv(), acct.id);
    Emit(Format::kCloudTrail);
    return;
  }
  // The ECS agent reporting task state.
  const Small cluster = Fmt("ecs-{}", rng_.Pick(kNamespaces));
  const Small task = Hex(rng_, 32);
  const Small instance = NodeInstance(rng_.Below(kNodes));
  W(R"j({{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROA{}:{}","arn":"arn:aws:sts::{}:assumed-role/ecsInstanceRole/{}","accountId":"{}","accessKeyId":"ASIA{}","sessionContext":{{"sessionIssuer":{{"type":"Role","arn":"arn:aws:iam::{}:role/ecsInstanceRole","accountId":"{}","userName":"ecsInstanceRole"}},"attributes":{{"mfaAuthenticated":"false"}}}}}},"eventTime":"{}","eventSource":"ecs.amazonaws.com","eventName":"SubmitTaskStateChange","awsRegion":"{}","sourceIPAddress":"10.0.{}.{}","userAgent":"Go-http-client/1.1 amazon-ecs-agent/1.82.1","requestParameters":{{"cluster":"{}","task":"arn:aws:ecs:{}:{}:task/{}/{}","status":"{}","reason":""}},"responseElements":{{"acknowledgment":"ACK"}},"requestID":"{}","eventID":"{}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{}","eventCategory":"Management"}})j",
    Upper(Hex(rng_, 16).sv()).sv(), instance.sv(), acct.id, instance.sv(), acct.id,
    Upper(Hex(rng_, 16).sv()).sv(), acct.id, acct.id, Rfc3339(t, 0).sv(), acct.region,
    rng_.Below(48), 1 + rng_.Below(254), cluster.sv(), acct.region, acct.id, cluster.sv(),
    task.sv(), rng_.Below(2) == 0 ? "RUNNING" : "STOPPED", Uuid(rng_).sv(), Uuid(rng_).sv(),
    acct.id);
  Emit(Format::kCloudTrail);
}

// ---------------------------------------------------------------------------------------------
// GCP and Azure

void Generator::GcpRoutine() {
  const TimeNs t = Jittered();
  const std::string_view project = rng_.Pick(kGcpProjects);
  const std::string_view service = rng_.Pick(kGcpServices);
  const Small insert = Hex(rng_, 12);
  if (rng_.Below(2) == 0) {
    W(R"j({{"protoPayload":{{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","status":{{}},"authenticationInfo":{{"principalEmail":"ci@{}.iam.gserviceaccount.com"}},"requestMetadata":{{"callerIp":"35.204.{}.{}","callerSuppliedUserAgent":"google-cloud-sdk gcloud/465.0.0 command/gcloud.functions.describe","requestAttributes":{{"time":"{}","auth":{{}}}},"destinationAttributes":{{}}}},"serviceName":"cloudfunctions.googleapis.com","methodName":"google.cloud.functions.v2.FunctionService.GetFunction","authorizationInfo":[{{"resource":"projects/{}/locations/europe-west1/functions/{}","permission":"cloudfunctions.functions.get","granted":true,"resourceAttributes":{{}}}}],"resourceName":"projects/{}/locations/europe-west1/functions/{}","request":{{"@type":"type.googleapis.com/google.cloud.functions.v2.GetFunctionRequest","name":"projects/{}/locations/europe-west1/functions/{}"}}}},"insertId":"{}","resource":{{"type":"cloud_function","labels":{{"project_id":"{}","region":"europe-west1","function_name":"{}"}}}},"timestamp":"{}","severity":"INFO","logName":"projects/{}/logs/cloudaudit.googleapis.com%2Fdata_access","receiveTimestamp":"{}"}})j",
      project, rng_.Below(256), rng_.Below(256), Rfc3339(t, 3).sv(), project, service, project,
      service, project, service, insert.sv(), project, service, Rfc3339(t, 6).sv(), project,
      Rfc3339(t + 800 * kNsPerMs, 9).sv());
  } else {
    W(R"j({{"protoPayload":{{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","status":{{}},"authenticationInfo":{{"principalEmail":"service-{}@serverless-robot-prod.iam.gserviceaccount.com"}},"requestMetadata":{{"callerIp":"private","callerSuppliedUserAgent":"Go-http-client/2.0"}},"serviceName":"run.googleapis.com","methodName":"google.cloud.run.v1.Services.GetService","authorizationInfo":[{{"resource":"namespaces/{}/services/{}","permission":"run.services.get","granted":true,"resourceAttributes":{{}}}}],"resourceName":"namespaces/{}/services/{}"}},"insertId":"{}","resource":{{"type":"cloud_run_revision","labels":{{"service_name":"{}","project_id":"{}","location":"europe-west1","revision_name":"{}-{}-{}","configuration_name":"{}"}}}},"timestamp":"{}","severity":"INFO","logName":"projects/{}/logs/cloudaudit.googleapis.com%2Fdata_access","receiveTimestamp":"{}"}})j",
      GcpProjectNumber(project), project, service, project, service, insert.sv(),
      service, project, service, Fmt("{:05}", 1 + rng_.Below(120)).sv(), KubeSuffix(rng_, 3).sv(),
      service, Rfc3339(t, 6).sv(), project, Rfc3339(t + 600 * kNsPerMs, 9).sv());
  }
  Emit(Format::kGcpAudit);
}

void Generator::AzureActivityRoutine() {
  const TimeNs t = Jittered();
  const std::string_view sub = rng_.Pick(kAzureSubscriptions);
  const Small sub_upper = Upper(sub);
  const Small correlation = Uuid(rng_);
  if (rng_.Below(2) == 0) {
    const std::string_view app = rng_.Pick(kAzureApps);
    const Small app_upper = Upper(app);
    W(R"j({{"time":"{}","resourceId":"/SUBSCRIPTIONS/{}/RESOURCEGROUPS/RG-APPS/PROVIDERS/MICROSOFT.WEB/SITES/{}","operationName":"MICROSOFT.WEB/SITES/RESTART/ACTION","category":"Administrative","resultType":"{}","resultSignature":"{}","durationMs":"{}","callerIpAddress":"198.51.100.{}","correlationId":"{}","identity":{{"authorization":{{"scope":"/subscriptions/{}/resourceGroups/rg-apps/providers/Microsoft.Web/sites/{}","action":"Microsoft.Web/sites/restart/action","evidence":{{"role":"Website Contributor","principalType":"ServicePrincipal"}}}},"claims":{{"aud":"https://management.core.windows.net/","appid":"{}"}}}},"level":"Information","location":"westeurope","properties":{{"statusCode":"OK","serviceRequestId":"{}","eventCategory":"Administrative","entity":"/subscriptions/{}/resourceGroups/rg-apps/providers/Microsoft.Web/sites/{}","message":"Microsoft.Web/sites/restart/action","hierarchy":"72f988bf/{}"}}}})j",
      Rfc3339(t, 7).sv(), sub_upper.sv(), app_upper.sv(), "Success", "Succeeded.OK",
      50 + rng_.Below(900), 1 + rng_.Below(254), correlation.sv(), sub, app,
      PoolUuid(rng_.Below(kAzureCallers)).sv(), Uuid(rng_).sv(), sub, app, sub);
  } else {
    const uint64_t nodes = 2 + rng_.Below(10);
    W(R"j({{"time":"{}","resourceId":"/SUBSCRIPTIONS/{}/RESOURCEGROUPS/RG-AKS/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS-WEU-{}/AGENTPOOLS/NODEPOOL{}","operationName":"MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AGENTPOOLS/WRITE","category":"Administrative","resultType":"{}","resultSignature":"Succeeded.OK","durationMs":"{}","callerIpAddress":"20.50.{}.{}","correlationId":"{}","identity":{{"authorization":{{"scope":"/subscriptions/{}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks-weu-{}/agentPools/nodepool{}","action":"Microsoft.ContainerService/managedClusters/agentPools/write","evidence":{{"role":"AKS Cluster Autoscaler","principalType":"ServicePrincipal"}}}},"claims":{{"aud":"https://management.core.windows.net/","appid":"{}"}}}},"level":"Information","location":"westeurope","properties":{{"statusCode":"OK","eventCategory":"Administrative","entity":"/subscriptions/{}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks-weu-{}","message":"Microsoft.ContainerService/managedClusters/agentPools/write","requestbody":"{{\"properties\":{{\"count\":{}}}}}","hierarchy":"72f988bf/{}"}}}})j",
      Rfc3339(t, 7).sv(), sub_upper.sv(), 1 + rng_.Below(2), 1 + rng_.Below(2),
      rng_.Below(2) == 0 ? "Start" : "Success", 1000 + rng_.Below(9000), rng_.Below(256),
      rng_.Below(256), correlation.sv(), sub, 1 + rng_.Below(2), 1 + rng_.Below(2),
      PoolUuid(rng_.Below(kAzureCallers)).sv(),
      sub, 1 + rng_.Below(2), nodes, sub);
  }
  Emit(Format::kAzureActivity);
}

void Generator::AzureFunctionLog() {
  const TimeNs t = Jittered();
  const std::string_view sub = rng_.Pick(kAzureSubscriptions);
  const std::string_view app = rng_.Pick(kAzureApps);
  const std::string_view fn = rng_.Pick(kAzureFunctions);
  const Small invocation = Uuid(rng_);
  const bool done = rng_.Below(2) == 0;
  W(R"j({{"time":"{}","resourceId":"/SUBSCRIPTIONS/{}/RESOURCEGROUPS/RG-APPS/PROVIDERS/MICROSOFT.WEB/SITES/{}","category":"FunctionAppLogs","operationName":"Microsoft.Web/sites/functions/log","level":"Informational","location":"West Europe","properties":{{"appName":"{}","roleInstance":"{}-{}","message":"{} 'Functions.{}' ({}Id={}{})","category":"Function.{}","hostVersion":"4.31.1.1","functionInvocationId":"{}","functionName":"Functions.{}","hostInstanceId":"{}","level":"Information","levelId":2,"processId":{},"eventId":{},"eventName":"{}"}}}})j",
    Rfc3339(t, 7).sv(), Upper(sub).sv(), Upper(app).sv(), app, 10000000 + rng_.Below(89999999),
    600000000000 + rng_.Below(99999999999), done ? "Executed" : "Executing", fn,
    done ? "Succeeded, "
         : "Reason='This function was programmatically called via the host APIs.', ",
    invocation.sv(), done ? Fmt(", Duration={}ms", 3 + rng_.Below(900)).sv() : std::string_view{},
    fn, invocation.sv(), fn, Hex(rng_, 8).sv(), 1000 + rng_.Below(9000), done ? 2 : 1,
    done ? "FunctionCompleted" : "FunctionStarted");
  Emit(Format::kAzureFunctionAppLogs);
}

void Generator::Background() {
  // Weights per 1000, roughly a cluster-heavy estate with serverless on three clouds.
  const uint64_t r = rng_.Below(1000);
  if (r < 110) return K8sKubeletPodStatus();
  if (r < 200) return K8sLeaseRenewal();
  if (r < 230) return AksNodeLeaseRenewal();
  if (r < 270) return K8sPodCreatedByReplicaSet();
  if (r < 340) return K8sEndpointsWatch();
  if (r < 370) return K8sDeploymentRestart();
  if (r < 420) return GkeLeaseUpdate();
  if (r < 480) return FalcoRoutine();
  if (r < 570) return DockerRoutine();
  if (r < 850) return CloudTrailRoutine();
  if (r < 910) return GcpRoutine();
  if (r < 950) return AzureActivityRoutine();
  return AzureFunctionLog();
}

// ---------------------------------------------------------------------------------------------
// Matching kinds: each matches at least one single-event rule; those feeding a correlation take
// their group-by value from the `groups` pool.

void Generator::K8sForbidden() {
  // k8s_api_request_forbidden (mr_k8s_forbidden_request_burst, by user.username).
  const TimeNs t = Jittered();
  const Small user = GroupUser(Group());
  const std::string_view ns = rng_.Pick(kNamespaces);
  W(R"j({{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{}","stage":"ResponseComplete","requestURI":"/apis/apps/v1/namespaces/{}/deployments/{}-api/scale","verb":"update","user":{{"username":"{}","groups":["system:authenticated","oidc:developers"]}},"sourceIPs":["192.0.2.{}"],"userAgent":"kubectl/v1.29.2 (darwin/arm64) kubernetes/4b8e819","objectRef":{{"resource":"deployments","namespace":"{}","name":"{}-api","apiGroup":"apps","apiVersion":"v1","subresource":"scale"}},"responseStatus":{{"metadata":{{}},"status":"Failure","message":"deployments.apps \"{}-api\" is forbidden: User \"{}\" cannot update resource \"deployments/scale\" in API group \"apps\" in the namespace \"{}\"","reason":"Forbidden","details":{{"name":"{}-api","group":"apps","kind":"deployments"}},"code":403}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}","annotations":{{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":""}}}})j",
    Uuid(rng_).sv(), ns, ns, user.sv(), 1 + rng_.Below(254), ns, ns, ns, user.sv(), ns, ns,
    Rfc3339(t - kNsPerMs, 6).sv(), Rfc3339(t, 6).sv());
  Emit(Format::kK8sAudit);
}

void Generator::K8sUserListsPods() {
  // k8s_resource_enumeration_request (mr_k8s_discovery_burst, by user.username).
  const TimeNs t = Jittered();
  const Small user = GroupUser(Group());
  const std::string_view ns = rng_.Pick(kNamespaces);
  W(R"j({{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/{}/pods?limit=500","verb":"list","user":{{"username":"{}","groups":["system:authenticated","oidc:developers"]}},"sourceIPs":["192.0.2.{}"],"userAgent":"kubectl/v1.29.2 (darwin/arm64) kubernetes/4b8e819","objectRef":{{"resource":"pods","namespace":"{}","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":200}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}","annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \"developers/{}\" of ClusterRole \"view\" to Group \"oidc:developers\""}}}})j",
    Uuid(rng_).sv(), ns, user.sv(), 1 + rng_.Below(254), ns, Rfc3339(t - 3 * kNsPerMs, 6).sv(),
    Rfc3339(t, 6).sv(), ns);
  Emit(Format::kK8sAudit);
}

void Generator::K8sExec(TimeNs t, std::string_view ns, std::string_view pod, std::string_view user,
                        std::string_view ip) {
  // k8s_pod_exec_or_attach (mr_k8s_exec_shell_then_serviceaccount_secrets, by namespace).
  W(R"j({{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"{}","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/{}/pods/{}/exec?command=sh&container=app&stdin=true&stdout=true&tty=true","verb":"create","user":{{"username":"{}","groups":["system:authenticated","oidc:developers"]}},"sourceIPs":["{}"],"userAgent":"kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819","objectRef":{{"resource":"pods","namespace":"{}","name":"{}","apiVersion":"v1","subresource":"exec"}},"responseStatus":{{"metadata":{{}},"code":101}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}","annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \"developers-exec/{}\" of ClusterRole \"edit\" to Group \"oidc:developers\""}}}})j",
    Uuid(rng_).sv(), ns, pod, user, ip, ns, pod, Rfc3339(t - 20 * kNsPerMs, 6).sv(),
    Rfc3339(t, 6).sv(), ns);
  Emit(Format::kK8sAudit);
}

void Generator::FalcoShell(TimeNs t, std::string_view ns, std::string_view pod) {
  // falco_terminal_shell_in_container (the same correlation, by output_fields.k8s.ns.name).
  const Small cid = Hex(rng_, 12);
  const Small when = Rfc3339(t, 9);
  const uint64_t node = rng_.Below(48);
  W(R"j({{"hostname":"ip-10-0-{}-{}","output":"{}: Notice A shell was spawned in a container with an attached terminal (evt_type=execve user=root user_uid=0 process=sh proc_exepath=/bin/sh parent=runc command=sh terminal=34816 container_id={} container_name=app k8s_ns={} k8s_pod_name={})","priority":"Notice","rule":"Terminal shell in container","source":"syscall","tags":["T1059","container","maturity_stable","mitre_execution","shell"],"time":"{}","output_fields":{{"container.id":"{}","container.name":"app","evt.time":{},"evt.type":"execve","k8s.ns.name":"{}","k8s.pod.name":"{}","proc.cmdline":"sh","proc.exepath":"/bin/sh","proc.name":"sh","proc.pname":"runc","proc.tty":34816,"user.loginuid":-1,"user.name":"root","user.uid":0}}}})j",
    node, 1 + rng_.Below(254), when.sv().substr(11, 18), cid.sv(), ns, pod, when.sv(), cid.sv(), t,
    ns, pod);
  Emit(Format::kFalco);
}

void Generator::CloudTrailAccessDenied() {
  // aws_api_access_denied (mr_aws_access_denied_enumeration, by sourceIPAddress).
  const TimeNs t = Jittered();
  const AwsAccount& acct = kAwsAccounts[rng_.Below(kAwsAccounts.size())];
  const Small ip = GroupIp(Group());
  static constexpr std::array<std::string_view, 3> kCalls = {
      "ecs:DescribeTaskDefinition", "ecr:DescribeRepositories", "iam:ListRoles"};
  const std::string_view call = rng_.Pick(kCalls);
  const std::string_view service = call.substr(0, call.find(':'));
  const std::string_view name = call.substr(call.find(':') + 1);
  const Small user = Fmt("ci-runner-{}", rng_.Below(40));
  W(R"j({{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDA{}","arn":"arn:aws:iam::{}:user/{}","accountId":"{}","accessKeyId":"AKIA{}","userName":"{}"}},"eventTime":"{}","eventSource":"{}.amazonaws.com","eventName":"{}","awsRegion":"{}","sourceIPAddress":"{}","userAgent":"{}","errorCode":"{}","errorMessage":"User: arn:aws:iam::{}:user/{} is not authorized to perform: {} because no identity-based policy allows the {} action","requestParameters":null,"responseElements":null,"requestID":"{}","eventID":"{}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{}","eventCategory":"Management"}})j",
    Upper(Hex(rng_, 16).sv()).sv(), acct.id, user.sv(), acct.id, Upper(Hex(rng_, 16).sv()).sv(),
    user.sv(), Rfc3339(t, 0).sv(), service, name, acct.region, ip.sv(), kAwsUserAgents[4],
    service == "iam" ? "AccessDenied" : "AccessDeniedException", acct.id, user.sv(), call, call,
    Uuid(rng_).sv(), Uuid(rng_).sv(), acct.id);
  Emit(Format::kCloudTrail);
}

void Generator::GcpPermissionDenied() {
  // gcp_serverless_permission_denied (mr_gcp_serverless_permission_denied_burst, by callerIp).
  const TimeNs t = Jittered();
  const std::string_view project = rng_.Pick(kGcpProjects);
  const std::string_view service = rng_.Pick(kGcpServices);
  const Small ip = GroupIp(Group());
  W(R"j({{"protoPayload":{{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","status":{{"code":7,"message":"Permission 'cloudfunctions.functions.call' denied on 'projects/{}/locations/europe-west1/functions/{}'"}},"authenticationInfo":{{"principalEmail":"reporting@{}.iam.gserviceaccount.com"}},"requestMetadata":{{"callerIp":"{}","callerSuppliedUserAgent":"google-api-python-client/2.124.0"}},"serviceName":"cloudfunctions.googleapis.com","methodName":"google.cloud.functions.v1.CloudFunctionsService.CallFunction","authorizationInfo":[{{"resource":"projects/{}/locations/europe-west1/functions/{}","permission":"cloudfunctions.functions.call","resourceAttributes":{{}}}}],"resourceName":"projects/{}/locations/europe-west1/functions/{}"}},"insertId":"{}","resource":{{"type":"cloud_function","labels":{{"project_id":"{}","region":"europe-west1","function_name":"{}"}}}},"timestamp":"{}","severity":"ERROR","logName":"projects/{}/logs/cloudaudit.googleapis.com%2Fdata_access","receiveTimestamp":"{}"}})j",
    project, service, project, ip.sv(), project, service, project, service, Hex(rng_, 12).sv(),
    project, service, Rfc3339(t, 6).sv(), project, Rfc3339(t + 500 * kNsPerMs, 9).sv());
  Emit(Format::kGcpAudit);
}

void Generator::DockerExecShell() {
  // docker_exec_shell_in_container (single-event only).
  const Pod p = RandomPod();
  const TimeNs t = Jittered();
  const Small id = Hex(rng_, 64);
  W(R"j({{"status":"exec_start: sh -c cat /etc/os-release","id":"{}","from":"{}","Type":"container","Action":"exec_start: sh -c cat /etc/os-release","Actor":{{"ID":"{}","Attributes":{{"execID":"{}","image":"{}","io.kubernetes.container.name":"{}","io.kubernetes.pod.name":"{}","io.kubernetes.pod.namespace":"{}","name":"k8s_{}_{}_{}_{}_0"}}}},"scope":"local","time":{},"timeNano":{}}})j",
    id.sv(), p.image.sv(), id.sv(), Hex(rng_, 64).sv(), p.image.sv(), p.app.sv(), p.name.sv(),
    p.ns.sv(), p.app.sv(), p.name.sv(), p.ns.sv(), Uuid(rng_).sv(), FloorDiv(t, kNsPerSecond), t);
  Emit(Format::kDocker);
}

void Generator::Matching() {
  ++matching_;
  const uint64_t r = rng_.Below(1000);
  if (r < 5 && noise_ < kMaxNoise) {
    // A denied invocation from an address seen once: below the burst threshold.
    const TimeNs t = Jittered();
    const AwsAccount& acct = kAwsAccounts[0];
    const Small ip = Fmt("198.19.{}.{}", (noise_ >> 8) & 255, noise_ & 255);
    ++noise_;
    const Small arn = Fmt("arn:aws:sts::{}:assumed-role/partner-integration/session-{}", acct.id,
                          Hex(rng_, 8).sv());
    return CloudTrailInvoke(t, ip.sv(), acct, rng_.Pick(kFunctions), arn.sv(),
                            "AccessDeniedException");
  }
  if (r < 200) return K8sForbidden();
  if (r < 350) return K8sUserListsPods();
  if (r < 500) {
    const uint64_t g = Group();
    const Small ns = GroupNamespace(g);
    const Pod p = RandomPod(ns.sv());
    return K8sExec(Jittered(), ns.sv(), p.name.sv(), GroupUser(g).sv(),
                   Fmt("192.0.2.{}", 1 + rng_.Below(254)).sv());
  }
  if (r < 650) {
    const Small ns = GroupNamespace(Group());
    const Pod p = RandomPod(ns.sv());
    return FalcoShell(Jittered(), ns.sv(), p.name.sv());
  }
  if (r < 800) return CloudTrailAccessDenied();
  if (r < 900) return GcpPermissionDenied();
  return DockerExecShell();
}

// ---------------------------------------------------------------------------------------------
// Stories

void Generator::K8sServiceAccountReadsSecret(TimeNs t, std::string_view ns) {
  // k8s_serviceaccount_secret_access: the pod's own token reads the namespace's secrets.
  W(R"j({{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/{}/secrets/billing-db-credentials","verb":"get","user":{{"username":"system:serviceaccount:{}:billing-api","uid":"{}","groups":["system:serviceaccounts","system:serviceaccounts:{}","system:authenticated"],"extra":{{"authentication.kubernetes.io/pod-name":["billing-api-6f8d9c7b5-x7k2p"],"authentication.kubernetes.io/pod-uid":["{}"]}}}},"sourceIPs":["10.0.{}.{}"],"userAgent":"curl/8.5.0","objectRef":{{"resource":"secrets","namespace":"{}","name":"billing-db-credentials","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":200}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}","annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \"billing-api/{}\" of Role \"secret-reader\" to ServiceAccount \"billing-api/{}\""}}}})j",
    Uuid(rng_).sv(), ns, ns, Uuid(rng_).sv(), ns, Uuid(rng_).sv(), rng_.Below(48),
    1 + rng_.Below(254), ns, Rfc3339(t - 2 * kNsPerMs, 6).sv(), Rfc3339(t, 6).sv(), ns, ns);
  Emit(Format::kK8sAudit);
}

void Generator::LambdaCreate(TimeNs t, const Story& s) {
  W(R"j({{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDA{}","arn":"{}","accountId":"{}","accessKeyId":"ASIA{}","userName":"{}"}},"eventTime":"{}","eventSource":"lambda.amazonaws.com","eventName":"CreateFunction20150331","awsRegion":"{}","sourceIPAddress":"{}","userAgent":"{}","requestParameters":{{"functionName":"{}","runtime":"python3.12","role":"arn:aws:iam::{}:role/{}-role","handler":"app.handler","code":{{}},"timeout":30,"memorySize":256,"publish":true}},"responseElements":{{"functionName":"{}","functionArn":"arn:aws:lambda:{}:{}:function:{}","runtime":"python3.12","role":"arn:aws:iam::{}:role/{}-role","handler":"app.handler","codeSize":1843,"version":"1","state":"Pending","stateReasonCode":"Creating","packageType":"Zip","architectures":["x86_64"]}},"requestID":"{}","eventID":"{}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{}","eventCategory":"Management"}})j",
    Upper(Hex(rng_, 16).sv()).sv(), s.arn.sv(), s.account.id, Upper(Hex(rng_, 16).sv()).sv(),
    s.arn.sv().substr(s.arn.sv().rfind('/') + 1), Rfc3339(t, 0).sv(), s.account.region,
    s.burst_ip.sv(), kAwsUserAgents[4], s.function.sv(), s.account.id, s.function.sv(),
    s.function.sv(), s.account.region, s.account.id, s.function.sv(), s.account.id, s.function.sv(),
    Uuid(rng_).sv(), Uuid(rng_).sv(), s.account.id);
  Emit(Format::kCloudTrail);
}

void Generator::LambdaAddPublicPermission(TimeNs t, const Story& s) {
  W(R"j({{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDA{}","arn":"{}","accountId":"{}","accessKeyId":"ASIA{}","userName":"{}"}},"eventTime":"{}","eventSource":"lambda.amazonaws.com","eventName":"AddPermission20150331v2","awsRegion":"{}","sourceIPAddress":"{}","userAgent":"{}","requestParameters":{{"functionName":"{}","statementId":"public-invoke","action":"lambda:InvokeFunction","principal":"*"}},"responseElements":{{"statement":"{{\"Sid\":\"public-invoke\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"lambda:InvokeFunction\",\"Resource\":\"arn:aws:lambda:{}:{}:function:{}\"}}"}},"requestID":"{}","eventID":"{}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{}","eventCategory":"Management"}})j",
    Upper(Hex(rng_, 16).sv()).sv(), s.arn.sv(), s.account.id, Upper(Hex(rng_, 16).sv()).sv(),
    s.arn.sv().substr(s.arn.sv().rfind('/') + 1), Rfc3339(t, 0).sv(), s.account.region,
    s.burst_ip.sv(), kAwsUserAgents[4], s.function.sv(), s.account.region, s.account.id,
    s.function.sv(), Uuid(rng_).sv(), Uuid(rng_).sv(), s.account.id);
  Emit(Format::kCloudTrail);
}

void Generator::LambdaUpdateCode(TimeNs t, const Story& s) {
  W(R"j({{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDA{}","arn":"{}","accountId":"{}","accessKeyId":"ASIA{}","userName":"{}"}},"eventTime":"{}","eventSource":"lambda.amazonaws.com","eventName":"UpdateFunctionCode20150331v2","awsRegion":"{}","sourceIPAddress":"{}","userAgent":"{}","requestParameters":{{"functionName":"arn:aws:lambda:{}:{}:function:{}","publish":true}},"responseElements":{{"functionName":"{}","functionArn":"arn:aws:lambda:{}:{}:function:{}:2","runtime":"python3.12","codeSize":48211,"version":"2","lastUpdateStatus":"InProgress"}},"requestID":"{}","eventID":"{}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{}","eventCategory":"Management"}})j",
    Upper(Hex(rng_, 16).sv()).sv(), s.arn.sv(), s.account.id, Upper(Hex(rng_, 16).sv()).sv(),
    s.arn.sv().substr(s.arn.sv().rfind('/') + 1), Rfc3339(t, 0).sv(), s.account.region,
    s.burst_ip.sv(), kAwsUserAgents[4], s.account.region, s.account.id, s.function.sv(),
    s.function.sv(), s.account.region, s.account.id, s.function.sv(), Uuid(rng_).sv(),
    Uuid(rng_).sv(), s.account.id);
  Emit(Format::kCloudTrail);
}

void Generator::StoryRecord(const Scheduled& e) {
  const Story& s = story_[e.story];
  switch (e.step) {
    case StoryStep::kExec:
      return K8sExec(e.time, s.namespace_.sv(), s.pod.sv(), s.attacker.sv(), s.burst_ip.sv());
    case StoryStep::kShell:
      return FalcoShell(e.time, s.namespace_.sv(), s.pod.sv());
    case StoryStep::kSecretGet:
      return K8sServiceAccountReadsSecret(e.time, s.namespace_.sv());
    case StoryStep::kInvokeDenied: {
      const Small arn =
          Fmt("arn:aws:sts::{}:assumed-role/leaked-ci-role/session-s{:05}", s.account.id, e.story);
      return CloudTrailInvoke(e.time, s.burst_ip.sv(), s.account, rng_.Pick(kFunctions), arn.sv(),
                              "AccessDeniedException");
    }
    case StoryStep::kCreateFunction:
      return LambdaCreate(e.time, s);
    case StoryStep::kAddPermission:
      return LambdaAddPublicPermission(e.time, s);
    case StoryStep::kUpdateCode:
      return LambdaUpdateCode(e.time, s);
  }
}

bool Generator::Run() {
  const uint64_t story_records = stories_ * kRecordsPerStory;
  const uint64_t background = o_.records - story_records;
  uint64_t emitted_background = 0;
  uint32_t next_story = 0;
  for (uint64_t i = 0; i < o_.records; ++i) {
    // Stories start evenly spread through the background.
    while (next_story < stories_ &&
           (2 * next_story + 1) * background / (2 * stories_) <= emitted_background) {
      Schedule(next_story++);
    }
    if (!queue_.empty() && (queue_.top().time <= t_ || emitted_background == background)) {
      const Scheduled e = queue_.top();
      queue_.pop();
      if (e.time > t_) t_ = e.time;
      StoryRecord(e);
    } else {
      Advance();
      if (rng_.Chance(match_threshold_)) {
        Matching();
      } else {
        Background();
      }
      ++emitted_background;
    }
    if (buf_.size() >= (1 << 22)) {
      if (!Flush()) return false;
    }
  }
  return Flush();
}

// ---------------------------------------------------------------------------------------------

std::string JsonString(std::string_view s) {
  // Our names need no escapes beyond these.
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

bool WriteExpect(const std::string& path, uint64_t records, const std::vector<Story>& stories) {
  std::string text = fmt::format("{{\n  \"records\": {},\n  \"alerts\": [", records);
  bool first = true;
  auto alert = [&](std::string_view rule, const std::string& group) {
    text += first ? "\n" : ",\n";
    first = false;
    text += fmt::format("    {{\"rule\": \"{}\", \"group\": {{{}}}}}", rule, group);
  };
  for (const Story& s : stories) {
    alert("mr_aws_lambda_invoke_denied_burst",
          fmt::format("\"sourceIPAddress\": {}", JsonString(s.burst_ip.sv())));
    alert("mr_k8s_exec_shell_then_serviceaccount_secrets",
          fmt::format("\"namespace\": {}", JsonString(s.namespace_.sv())));
    alert("mr_aws_lambda_created_exposed_and_rewritten",
          fmt::format("\"userIdentity.arn\": {}, \"tuttle.entity.function_name\": {}",
                      JsonString(s.arn.sv()), JsonString(s.function.sv())));
  }
  text += fmt::format(
      "\n  ],\n  \"burst_rule\": \"mr_aws_lambda_invoke_denied_burst\",\n  \"bursts\": {}\n}}\n",
      stories.size());
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace

CLI::App* AddGenerateCommand(CLI::App& app, GenerateOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "generate",
      "Write deterministic, realistic container and serverless telemetry (JSON lines) for "
      "benchmarks: routine records, a fraction matching the pack, planted attack stories "
      "(docs/bench.md)");
  cmd->add_option("-n,--records", o.records, "Records to write, stories included")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option("-o,--output", o.output, "Output file (default: stdout)")->type_name("FILE");
  cmd->add_option("--seed", o.seed, "PRNG seed: the same seed and options give the same bytes")
      ->capture_default_str();
  cmd->add_option("--match-rate", o.match_rate,
                  "Fraction of background records that match a single-event rule of the pack")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--groups", o.groups,
                  "Distinct group-by values (users, addresses, namespaces) among matching "
                  "background records")
      ->check(CLI::Range(uint64_t{1}, uint64_t{4'000'000}))
      ->capture_default_str();
  cmd->add_option("--stories", o.stories,
                  "Planted attack stories (default: one per 100,000 records, at least one)")
      ->check(CLI::Range(int64_t{0}, int64_t{65536}));
  cmd->add_option("--expect", o.expect,
                  "Write the alerts the planted stories must raise (JSON) to FILE")
      ->type_name("FILE");
  cmd->add_option("--start", o.start, "Event time of the first record (RFC 3339)")
      ->capture_default_str();
  cmd->add_option("--events-per-second", o.events_per_second, "Records per second of event time")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1'000'000'000}))
      ->capture_default_str();
  return cmd;
}

int Generate(const GenerateOptions& o) {
  const std::optional<TimeNs> start = ParseTimestamp(o.start);
  if (!start) {
    fmt::print(stderr, "tuttle: --start: not an RFC 3339 time: '{}'\n", o.start);
    return 1;
  }
  uint64_t stories = 0;
  if (o.stories >= 0) {
    stories = static_cast<uint64_t>(o.stories);
    if (stories * kRecordsPerStory > o.records) {
      fmt::print(stderr, "tuttle: --stories {} needs {} records ({} each) but --records is {}\n",
                 stories, stories * kRecordsPerStory, kRecordsPerStory, o.records);
      return 1;
    }
  } else if (o.records >= static_cast<uint64_t>(kRecordsPerStory)) {
    stories = std::max<uint64_t>(1, o.records / 100'000);
  }

  std::FILE* out = stdout;
  const bool to_file = !o.output.empty() && o.output != "-";
  if (to_file) {
    out = std::fopen(o.output.c_str(), "wb");
    if (out == nullptr) {
      fmt::print(stderr, "tuttle: cannot write '{}'\n", o.output);
      return 1;
    }
  }
  const auto began = std::chrono::steady_clock::now();
  Generator gen(o, *start, out, stories);
  bool ok = gen.Run();
  ok = (to_file ? std::fclose(out) : std::fflush(out)) == 0 && ok;
  if (!ok) {
    fmt::print(stderr, "tuttle: writing '{}' failed\n", to_file ? o.output : "stdout");
    return 1;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  if (!o.expect.empty() && !WriteExpect(o.expect, o.records, gen.stories())) {
    fmt::print(stderr, "tuttle: cannot write '{}'\n", o.expect);
    return 1;
  }
  std::string formats;
  for (size_t i = 0; i < kFormatNames.size(); ++i) {
    if (gen.by_format()[i] == 0) continue;
    formats +=
        fmt::format("{}{} {}", formats.empty() ? "" : ", ", kFormatNames[i], gen.by_format()[i]);
  }
  fmt::print(stderr,
             "-- generated {} records ({:.1f} MB, {}..{} bytes each; {}), {} matching "
             "background, {} lone denied invocations, {} stories ({} records); {:.0f} records/s, "
             "{:.1f} MB/s\n",
             o.records, static_cast<double>(gen.bytes()) / 1e6, gen.min_size(), gen.max_size(),
             formats, gen.matching(), gen.noise(), stories, stories * kRecordsPerStory,
             secs > 0 ? static_cast<double>(o.records) / secs : 0.0,
             secs > 0 ? static_cast<double>(gen.bytes()) / 1e6 / secs : 0.0);
  return 0;
}

}  // namespace tuttle::tools
