#include "adapters.h"

#include "tuttle/engine/strings.h"

#include <array>
#include <charconv>

#include "tuttle/engine/ascii.h"
#include "tuttle/engine/strings.h"

namespace tuttle::ingest::adapters {

TimeNs ParseEpoch(std::string_view number, TimeNs unit) {
  const size_t dot = number.find('.');
  const std::string_view whole = number.substr(0, dot);
  if (whole.empty() || whole.size() > 19) return kNoTime;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), n);
  if (ec != std::errc() || end != whole.data() + whole.size() || n < 0) return kNoTime;
  if (n > INT64_MAX / unit) return kNoTime;
  TimeNs t = n * unit;
  if (dot != std::string_view::npos) {
    const std::string_view frac = number.substr(dot + 1);
    if (frac.empty()) return kNoTime;
    TimeNs scale = unit;
    for (const char c : frac) {
      if (c < '0' || c > '9') return kNoTime;  // exponents are not times anyone writes
      scale /= 10;
      if (scale == 0) break;
      if (t > INT64_MAX - (c - '0') * scale) return kNoTime;
      t += (c - '0') * scale;
    }
  }
  return t;
}

std::string_view EventNameBase(std::string_view name) {
  // <name><yyyymmdd>[v<n>]: Lambda's API versions.
  size_t end = name.size();
  size_t v = name.rfind('v');
  if (v != std::string_view::npos && v + 1 < end && v >= 8) {
    bool digits = true;
    for (size_t i = v + 1; i < end; ++i) digits = digits && name[i] >= '0' && name[i] <= '9';
    if (digits) end = v;
  }
  if (end < 9) return name;
  for (size_t i = end - 8; i < end; ++i) {
    if (name[i] < '0' || name[i] > '9') return name;
  }
  if (name.substr(end - 8, 2) != "19" && name.substr(end - 8, 2) != "20") return name;
  return name.substr(0, end - 8);
}

std::string_view SegmentAfter(std::string_view id, std::string_view key) {
  size_t pos = 0;
  while (pos < id.size()) {
    size_t slash = id.find('/', pos);
    if (slash == std::string_view::npos) slash = id.size();
    if (AsciiEqualsIgnoreCase(id.substr(pos, slash - pos), key) && slash < id.size()) {
      const size_t next = id.find('/', slash + 1);
      return id.substr(slash + 1, (next == std::string_view::npos ? id.size() : next) - slash - 1);
    }
    pos = slash + 1;
  }
  return {};
}

namespace {

TimeNs Rfc3339(std::string_view text) {
  if (text.empty()) return kNoTime;
  auto t = ParseTimestamp(text);
  return t ? *t : kNoTime;
}

// The last ":"-separated part ("arn:aws:lambda:r:a:function:fn" -> "fn").
std::string_view LastPart(std::string_view s, char sep) {
  const size_t p = s.rfind(sep);
  return p == std::string_view::npos ? s : s.substr(p + 1);
}

// "repo@sha256:..." -> "sha256:...".
std::string_view DigestOf(std::string_view ref) {
  const size_t at = ref.find('@');
  return at == std::string_view::npos ? std::string_view() : ref.substr(at + 1);
}

// ---------------------------------------------------------------------------------------------
// Kubernetes audit (audit.k8s.io/v1, v1beta1, and the older shape without apiVersion).
namespace k8s {
enum : size_t {
  kKind, kAuditId, kStageTimestamp, kRequestReceived, kTimestamp, kNamespace, kResource, kName,
  kUsername, kSourceIps, kRequestName, kImage, kTemplateImage, kStatusImage, kStatusImageId,
  kCount
};
constexpr std::string_view kFields[] = {
    "kind", "auditID", "stageTimestamp", "requestReceivedTimestamp", "timestamp",
    "objectRef.namespace", "objectRef.resource", "objectRef.name", "user.username", "sourceIPs",
    "requestObject.metadata.name", "requestObject.spec.containers.image",
    "requestObject.spec.template.spec.containers.image",
    "requestObject.status.containerStatuses.image",
    "requestObject.status.containerStatuses.imageID"};
static_assert(std::size(kFields) == kCount);

bool Detect(const RecordView& r) { return r.Str(kKind) == "Event" && r.Has(kAuditId); }

bool IsWorkload(std::string_view resource) {
  for (std::string_view w : {"deployments", "statefulsets", "daemonsets", "replicasets", "jobs",
                             "cronjobs", "replicationcontrollers"}) {
    if (resource == w) return true;
  }
  return false;
}

Status Read(RecordView& r, Event& e) {
  e.time = Rfc3339(r.Str(kStageTimestamp));
  if (e.time == kNoTime) e.time = Rfc3339(r.Str(kRequestReceived));
  if (e.time == kNoTime) e.time = Rfc3339(r.Str(kTimestamp));
  Entities& x = e.entities;
  x.namespace_name = r.Str(kNamespace);
  const std::string_view resource = r.Str(kResource);
  const std::string_view name = r.FirstOf(kName, kRequestName);
  if (resource == "pods") x.pod = name;
  if (IsWorkload(resource)) x.workload = name;
  x.image = r.FirstOf(kImage, kTemplateImage, kStatusImage);
  x.image_digest = DigestOf(x.image);
  // The kubelet's pod status update names the digest it pulled: "repo@sha256:..." (or with a
  // "docker-pullable://" prefix). A bare "sha256:..." there is the image's config id: not a digest.
  if (x.image_digest.empty()) x.image_digest = DigestOf(r.Str(kStatusImageId));
  x.principal = r.Str(kUsername);
  x.source_address = r.Str(kSourceIps);
  return Ok();
}
}  // namespace k8s

// ---------------------------------------------------------------------------------------------
// AKS: Azure diagnostic records (category kube-audit or kube-audit-admin) whose properties.log
// string holds a Kubernetes audit event.
namespace aks {
enum : size_t { kCategory, kLog, kResourceId, kTime, kCount };
constexpr std::string_view kFields[] = {"category", "properties.log", "resourceId", "time"};
static_assert(std::size(kFields) == kCount);

bool Detect(const RecordView& r) {
  const std::string_view c = r.Str(kCategory);
  return (c == "kube-audit" || c == "kube-audit-admin") && r.IsString(kLog);
}

Status Read(RecordView& r, Event& e) {
  if (Status st = r.WalkNested(r.Str(kLog), "properties.log"); !st.ok()) return st;
  RecordView inner = r.As(kK8sAuditIndex);
  if (!k8s::Detect(inner)) {
    return Error("malformed JSON: properties.log holds no Kubernetes audit event");
  }
  if (Status st = k8s::Read(inner, e); !st.ok()) return st;
  if (e.time == kNoTime) e.time = Rfc3339(r.Str(kTime));
  e.entities.cluster = SegmentAfter(r.Str(kResourceId), "managedClusters");
  e.entities.tenant = SegmentAfter(r.Str(kResourceId), "subscriptions");
  return Ok();
}
}  // namespace aks

// ---------------------------------------------------------------------------------------------
// GCP Cloud Audit Logs (Cloud Logging LogEntry with an AuditLog protoPayload). GKE's Kubernetes
// audit is one with serviceName k8s.io: it gets the Kubernetes log source, and the Kubernetes
// audit paths rules use (verb, objectRef.*, user.username, sourceIPs) derived from it.
namespace gcp {
enum : size_t {
  kType, kServiceName, kMethodName, kResourceName, kPrincipal, kCallerIp, kUserAgent,
  kResourceType, kProject, kFunctionName, kServiceNameLabel, kRevision, kClusterName, kTimestamp,
  // Derived for GKE: the Kubernetes audit paths.
  kVerb, kObjResource, kObjSubresource, kObjNamespace, kObjName, kObjApiGroup, kUserName,
  kSourceIps, kK8sUserAgent, kCount
};
constexpr std::string_view kFields[] = {
    "protoPayload.@type", "protoPayload.serviceName", "protoPayload.methodName",
    "protoPayload.resourceName", "protoPayload.authenticationInfo.principalEmail",
    "protoPayload.requestMetadata.callerIp",
    "protoPayload.requestMetadata.callerSuppliedUserAgent", "resource.type",
    "resource.labels.project_id", "resource.labels.function_name", "resource.labels.service_name",
    "resource.labels.revision_name", "resource.labels.cluster_name", "timestamp",
    "verb", "objectRef.resource", "objectRef.subresource", "objectRef.namespace",
    "objectRef.name", "objectRef.apiGroup", "user.username", "sourceIPs", "userAgent"};
static_assert(std::size(kFields) == kCount);

constexpr std::string_view kAuditLogType = "type.googleapis.com/google.cloud.audit.AuditLog";

bool DetectAny(const RecordView& r) {
  return r.Str(kType) == kAuditLogType && r.IsString(kServiceName);
}
bool DetectGke(const RecordView& r) { return DetectAny(r) && r.Str(kServiceName) == "k8s.io"; }
bool Detect(const RecordView& r) { return DetectAny(r) && r.Str(kServiceName) != "k8s.io"; }

void Common(RecordView& r, Event& e) {
  e.time = Rfc3339(r.Str(kTimestamp));
  e.entities.principal = r.Str(kPrincipal);
  e.entities.source_address = r.Str(kCallerIp);
  e.entities.tenant = r.Str(kProject);
}

Status Read(RecordView& r, Event& e) {
  Common(r, e);
  Entities& x = e.entities;
  const std::string_view service = r.Str(kServiceName);
  const std::string_view resource_name = r.Str(kResourceName);
  if (service == "cloudfunctions.googleapis.com") {
    // resourceName: projects/<p>/locations/<l>/functions/<f>
    x.function_name = r.Str(kFunctionName);
    if (x.function_name.empty()) x.function_name = SegmentAfter(resource_name, "functions");
    x.function_arn = resource_name;
    e.invocation = r.Str(kMethodName).ends_with(".CallFunction");
  } else if (service == "run.googleapis.com") {
    // resourceName: namespaces/<p>/services/<s> (v1) or projects/<p>/locations/<l>/services/<s>
    x.function_name = r.Str(kServiceNameLabel);
    if (x.function_name.empty()) x.function_name = SegmentAfter(resource_name, "services");
    x.function_version = r.Str(kRevision);
    x.function_arn = resource_name;
  }
  return Ok();
}

// "io.k8s.core.v1.pods.exec.create" -> verb "create"; resourceName
// "core/v1/namespaces/default/pods/nginx/exec" -> namespace, resource, name, subresource.
Status ReadGke(RecordView& r, Event& e) {
  Common(r, e);
  Entities& x = e.entities;
  x.cluster = r.Str(kClusterName);
  const std::string_view method = r.Str(kMethodName);
  const size_t dot = method.rfind('.');
  if (dot != std::string_view::npos) r.Add(kVerb, method.substr(dot + 1));

  std::array<std::string_view, 8> seg{};
  size_t n = 0;
  std::string_view rest = r.Str(kResourceName);
  while (!rest.empty() && n < seg.size()) {
    const size_t slash = rest.find('/');
    seg[n++] = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  // <group>/<version>/[namespaces/<ns>/]<resource>[/<name>[/<subresource>]]
  if (n >= 3) {
    size_t i = 2;
    if (seg[i] == "namespaces" && n >= 5) {
      x.namespace_name = seg[i + 1];
      i += 2;
    }
    const std::string_view resource = seg[i];
    const std::string_view name = i + 1 < n ? seg[i + 1] : std::string_view();
    const std::string_view sub = i + 2 < n ? seg[i + 2] : std::string_view();
    r.Add(kObjResource, resource);
    if (!name.empty()) r.Add(kObjName, name);
    if (!sub.empty()) r.Add(kObjSubresource, sub);
    if (!x.namespace_name.empty()) r.Add(kObjNamespace, x.namespace_name);
    if (seg[0] != "core") r.Add(kObjApiGroup, seg[0]);
    if (resource == "pods") x.pod = name;
    if (k8s::IsWorkload(resource)) x.workload = name;
  }
  if (!x.principal.empty()) r.Add(kUserName, x.principal);
  if (!x.source_address.empty()) r.Add(kSourceIps, x.source_address);
  if (r.IsString(kUserAgent)) r.Add(kK8sUserAgent, r.Str(kUserAgent));
  return Ok();
}
}  // namespace gcp

// ---------------------------------------------------------------------------------------------
// Falco JSON output.
namespace falco {
enum : size_t {
  kOutputFields, kRule, kPriority, kTime, kContainerId, kImage, kImageRepository, kImageDigest,
  kNamespace, kPod, kUser, kKaUser, kKaNamespace, kKaPod, kCount
};
constexpr std::string_view kFields[] = {
    "output_fields", "rule", "priority", "time", "output_fields.container.id",
    "output_fields.container.image", "output_fields.container.image.repository",
    "output_fields.container.image.digest", "output_fields.k8s.ns.name",
    "output_fields.k8s.pod.name", "output_fields.user.name", "output_fields.ka.user.name",
    "output_fields.ka.target.namespace", "output_fields.ka.target.name"};
static_assert(std::size(kFields) == kCount);

bool Detect(const RecordView& r) {
  return r.IsObject(kOutputFields) && r.IsString(kRule) && r.Has(kPriority);
}

Status Read(RecordView& r, Event& e) {
  e.time = Rfc3339(r.Str(kTime));
  Entities& x = e.entities;
  x.container_id = r.Str(kContainerId);
  if (x.container_id == "host") x.container_id = {};
  x.image = r.FirstOf(kImage, kImageRepository);
  x.image_digest = r.Str(kImageDigest);
  x.namespace_name = r.FirstOf(kNamespace, kKaNamespace);
  x.pod = r.Str(kPod);
  x.principal = r.FirstOf(kUser, kKaUser);
  return Ok();
}
}  // namespace falco

// ---------------------------------------------------------------------------------------------
// AWS CloudTrail records (one per Kafka message, or split from an S3 delivery batch).
namespace cloudtrail {
enum : size_t {
  kEventVersion, kEventSource, kEventTime, kEventName, kEventNameBase, kArn, kAccountId,
  kRecipientAccount, kSourceIp, kFunctionName, kFunctionArn, kRespFunctionName, kVersion,
  kQualifier, kCluster, kClusterName, kName, kFamily, kServiceName, kContainerImage, kRepository,
  kDigest, kRespDigest, kDigests, kRegion, kRegistryId, kCount
};
constexpr std::string_view kFields[] = {
    "eventVersion", "eventSource", "eventTime", "eventName", "eventNameBase", "userIdentity.arn",
    "userIdentity.accountId", "recipientAccountId", "sourceIPAddress",
    "requestParameters.functionName", "responseElements.functionArn",
    "responseElements.functionName", "responseElements.version", "requestParameters.qualifier",
    "requestParameters.cluster", "responseElements.cluster.clusterName", "requestParameters.name",
    "requestParameters.family", "requestParameters.serviceName",
    "requestParameters.containerDefinitions.image", "requestParameters.repositoryName",
    "requestParameters.imageId.imageDigest", "responseElements.image.imageId.imageDigest",
    "requestParameters.imageIds.imageDigest", "awsRegion", "requestParameters.registryId"};
static_assert(std::size(kFields) == kCount);

bool Detect(const RecordView& r) {
  return r.IsString(kEventVersion) && r.IsString(kEventSource) && r.Has(kEventTime);
}

bool IsAwsService(std::string_view source) {
  return source.ends_with(".amazonaws.com") || source == "AWS Internal";
}

Status Read(RecordView& r, Event& e) {
  e.time = Rfc3339(r.Str(kEventTime));
  if (r.IsString(kEventName)) r.Add(kEventNameBase, EventNameBase(r.Str(kEventName)));
  Entities& x = e.entities;
  x.principal = r.Str(kArn);
  x.tenant = r.FirstOf(kRecipientAccount, kAccountId);
  if (!IsAwsService(r.Str(kSourceIp))) x.source_address = r.Str(kSourceIp);
  const std::string_view source = r.Str(kEventSource);
  if (source == "lambda.amazonaws.com") {
    // functionName may be a name, a partial ARN or a full ARN with a version qualifier.
    const std::string_view fn = r.FirstOf(kFunctionName, kRespFunctionName);
    x.function_arn = r.Str(kFunctionArn);
    if (fn.starts_with("arn:")) {
      if (x.function_arn.empty()) x.function_arn = fn;
      // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
      const size_t f = fn.find(":function:");
      std::string_view name = f == std::string_view::npos ? LastPart(fn, ':') : fn.substr(f + 10);
      const size_t colon = name.find(':');
      if (colon != std::string_view::npos) {
        x.function_version = name.substr(colon + 1);
        name = name.substr(0, colon);
      }
      x.function_name = name;
    } else {
      x.function_name = fn;
    }
    if (x.function_version.empty()) x.function_version = r.FirstOf(kVersion, kQualifier);
    // Data events: Invoke, InvokeAsync, InvokeWithResponseStream (eventName carries no suffix).
    e.invocation = EventNameBase(r.Str(kEventName)).starts_with("Invoke");
  } else if (source == "ecs.amazonaws.com") {
    x.cluster = LastPart(r.FirstOf(kCluster, kClusterName), '/');
    x.workload = r.FirstOf(kServiceName, kFamily);
    x.image = r.Str(kContainerImage);
    x.image_digest = DigestOf(x.image);
  } else if (source == "eks.amazonaws.com") {
    x.cluster = r.Str(kName);
  } else if (source == "ecr.amazonaws.com") {
    // The reference pods use: <account>.dkr.ecr.<region>.amazonaws.com/<repository>.
    const std::string_view repository = r.Str(kRepository);
    const std::string_view registry = r.FirstOf(kRegistryId, kRecipientAccount);
    const std::string_view region = r.Str(kRegion);
    x.image = repository.empty() || registry.empty() || region.empty()
                  ? repository
                  : r.Own(Cat(Cat(Cat(Cat(std::string(registry), ".dkr.ecr."), region),
                                  ".amazonaws.com/"),
                              repository));
    x.image_digest = r.FirstOf(kDigest, kRespDigest, kDigests);
  }
  return Ok();
}
}  // namespace cloudtrail

// ---------------------------------------------------------------------------------------------
// Docker engine events: `docker events --format '{{json .}}'`.
namespace docker {
enum : size_t {
  kType, kAction, kActor, kActorId, kImage, kName, kPodName, kPodNamespace, kComposeService,
  kTime, kTimeNano, kCount
};
constexpr std::string_view kFields[] = {
    "Type", "Action", "Actor", "Actor.ID", "Actor.Attributes.image", "Actor.Attributes.name",
    "Actor.Attributes.io.kubernetes.pod.name", "Actor.Attributes.io.kubernetes.pod.namespace",
    "Actor.Attributes.com.docker.compose.service", "time", "timeNano"};
static_assert(std::size(kFields) == kCount);

bool Detect(const RecordView& r) {
  return r.IsString(kType) && r.IsString(kAction) && r.IsObject(kActor) &&
         (r.IsNumber(kTimeNano) || r.IsNumber(kTime));
}

Status Read(RecordView& r, Event& e) {
  e.time = r.IsNumber(kTimeNano) ? ParseEpoch(r.Get(kTimeNano)->text, 1) : kNoTime;
  if (e.time == kNoTime && r.IsNumber(kTime)) e.time = ParseEpoch(r.Get(kTime)->text, kNsPerSecond);
  Entities& x = e.entities;
  const std::string_view type = r.Str(kType);
  if (type == "container") {
    x.container_id = r.Str(kActorId);
    x.image = r.Str(kImage);
    x.image_digest = DigestOf(x.image);
  } else if (type == "image") {
    x.image = r.Str(kName);
    if (r.Str(kActorId).starts_with("sha256:")) x.image_digest = r.Str(kActorId);
  }
  x.pod = r.Str(kPodName);
  x.namespace_name = r.Str(kPodNamespace);
  x.workload = r.Str(kComposeService);
  return Ok();
}
}  // namespace docker

// ---------------------------------------------------------------------------------------------
// Azure Monitor diagnostic records: the Activity log and FunctionAppLogs.
namespace azure {
enum : size_t {
  kCategory, kOperationName, kResourceId, kTime, kCallerIp, kCaller, kUpn, kAppId, kAppName,
  kFunctionName, kCount
};
constexpr std::string_view kFields[] = {
    "category", "operationName", "resourceId", "time", "callerIpAddress", "caller",
    "identity.claims.http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
    "identity.claims.appid", "properties.appName", "properties.functionName"};
static_assert(std::size(kFields) == kCount);

bool DetectActivity(const RecordView& r) {
  const std::string_view c = r.Str(kCategory);
  bool activity = false;
  for (std::string_view a : {"Administrative", "Security", "ServiceHealth", "Alert",
                             "Recommendation", "Policy", "Autoscale", "ResourceHealth"}) {
    activity = activity || c == a;
  }
  return activity && r.IsString(kOperationName) && r.IsString(kResourceId);
}
bool DetectFunctionAppLogs(const RecordView& r) { return r.Str(kCategory) == "FunctionAppLogs"; }

Status ReadActivity(RecordView& r, Event& e) {
  e.time = Rfc3339(r.Str(kTime));
  Entities& x = e.entities;
  x.principal = r.FirstOf(kCaller, kUpn, kAppId);
  x.source_address = r.Str(kCallerIp);
  x.tenant = SegmentAfter(r.Str(kResourceId), "subscriptions");
  x.cluster = SegmentAfter(r.Str(kResourceId), "managedClusters");
  return Ok();
}

Status ReadFunctionAppLogs(RecordView& r, Event& e) {
  e.time = Rfc3339(r.Str(kTime));
  Entities& x = e.entities;
  x.workload = r.Str(kAppName);
  x.function_name = r.Str(kFunctionName);
  if (x.function_name.starts_with("Functions.")) x.function_name.remove_prefix(10);
  x.function_arn = r.Str(kResourceId);
  x.tenant = SegmentAfter(r.Str(kResourceId), "subscriptions");
  return Ok();
}
}  // namespace azure

// ---------------------------------------------------------------------------------------------
// Image scans: Trivy JSON reports and ECR image scan findings. Both get the normalised fields
// scan.cve (every CVE) and scan.critical / scan.high / scan.medium / scan.low / scan.other (the
// CVEs of that severity), so one rule reads both.
namespace scan {

// The paths the normalised fields go to, shared by both adapters' field lists (same order).
#define TUTTLE_SCAN_FIELDS "scan.cve", "scan.critical", "scan.high", "scan.medium", "scan.low", \
                           "scan.other"
enum Severity : size_t { kCve, kCritical, kHigh, kMedium, kLow, kOther, kScanCount };

size_t SeverityField(std::string_view s) {
  if (s == "CRITICAL") return kCritical;
  if (s == "HIGH") return kHigh;
  if (s == "MEDIUM") return kMedium;
  if (s == "LOW") return kLow;
  return kOther;
}

// Pairs the id and severity of each element of an array of findings: `marker` is the path of the
// array's elements (one kObject value per element starts each). `base` is the index of the
// adapter's scan.* fields.
void AddNormalised(RecordView& r, size_t marker, size_t id, size_t severity, size_t base) {
  thread_local std::vector<std::pair<std::string_view, std::string_view>> found;
  found.clear();
  const PathId m = r.Id(marker), i = r.Id(id), s = r.Id(severity);
  std::string_view cur_id, cur_sev;
  bool open = false;
  auto flush = [&] {
    if (open && !cur_id.empty()) found.emplace_back(cur_id, cur_sev);
    cur_id = cur_sev = {};
  };
  for (const FieldValue& v : r.table().values()) {
    if (v.path == m && v.kind == ValueKind::kObject) {
      flush();
      open = true;
    } else if (v.path == i && v.kind == ValueKind::kString) {
      cur_id = v.text;
    } else if (v.path == s && v.kind == ValueKind::kString) {
      cur_sev = v.text;
    }
  }
  flush();
  for (const auto& [cve, sev] : found) {
    r.Add(base + kCve, cve);
    r.Add(base + SeverityField(sev), cve);
  }
}
}  // namespace scan

namespace trivy {
enum : size_t {
  kSchemaVersion, kArtifactName, kArtifactType, kCreatedAt, kRepoDigests, kImageId, kVuln,
  kVulnId, kSeverity, kScan, kCount = kScan + scan::kScanCount
};
constexpr std::string_view kFields[] = {
    "SchemaVersion", "ArtifactName", "ArtifactType", "CreatedAt", "Metadata.RepoDigests",
    "Metadata.ImageID", "Results.Vulnerabilities", "Results.Vulnerabilities.VulnerabilityID",
    "Results.Vulnerabilities.Severity", TUTTLE_SCAN_FIELDS};
static_assert(std::size(kFields) == kCount);

bool Detect(const RecordView& r) { return r.IsNumber(kSchemaVersion) && r.IsString(kArtifactName); }

Status Read(RecordView& r, Event& e) {
  e.time = Rfc3339(r.Str(kCreatedAt));
  Entities& x = e.entities;
  const std::string_view type = r.Str(kArtifactType);
  if (type.empty() || type == "container_image") {
    x.image = r.Str(kArtifactName);
    x.image_digest = DigestOf(r.Str(kRepoDigests));
    if (x.image_digest.empty()) x.image_digest = r.Str(kImageId);
  }
  scan::AddNormalised(r, kVuln, kVulnId, kSeverity, kScan);
  return Ok();
}
}  // namespace trivy

namespace ecr {
enum : size_t {
  kFindings, kCompletedAt, kFinding, kFindingName, kFindingSeverity, kEnhanced, kEnhancedId,
  kEnhancedSeverity, kRepository, kRegistry, kDigest, kScan, kCount = kScan + scan::kScanCount
};
constexpr std::string_view kFields[] = {
    "imageScanFindings", "imageScanFindings.imageScanCompletedAt", "imageScanFindings.findings",
    "imageScanFindings.findings.name", "imageScanFindings.findings.severity",
    "imageScanFindings.enhancedFindings",
    "imageScanFindings.enhancedFindings.packageVulnerabilityDetails.vulnerabilityId",
    "imageScanFindings.enhancedFindings.severity", "repositoryName", "registryId",
    "imageId.imageDigest", TUTTLE_SCAN_FIELDS};
static_assert(std::size(kFields) == kCount);

bool Detect(const RecordView& r) { return r.IsObject(kFindings); }

Status Read(RecordView& r, Event& e) {
  // The AWS CLI writes ISO 8601; the raw API and SDK dumps, Unix seconds.
  const FieldValue* at = r.Get(kCompletedAt);
  if (at != nullptr && at->kind == ValueKind::kString) e.time = Rfc3339(at->text);
  if (at != nullptr && at->kind == ValueKind::kNumber) e.time = ParseEpoch(at->text, kNsPerSecond);
  Entities& x = e.entities;
  x.image = r.Str(kRepository);
  x.image_digest = r.Str(kDigest);
  x.tenant = r.Str(kRegistry);
  scan::AddNormalised(r, kFinding, kFindingName, kFindingSeverity, kScan);
  scan::AddNormalised(r, kEnhanced, kEnhancedId, kEnhancedSeverity, kScan);
  return Ok();
}
}  // namespace ecr
#undef TUTTLE_SCAN_FIELDS

// ---------------------------------------------------------------------------------------------
// Records the text-log decorators write (cri_log_source.h, lambda_log_source.h): CRI container
// log lines, joined, and AWS Lambda log lines and platform events. Their `format` field says what
// they are.
namespace cri {
enum : size_t { kFormat, kTime, kPod, kNamespace, kContainerId, kContainerName, kCount };
constexpr std::string_view kFields[] = {
    "format", "time", "kubernetes.pod_name", "kubernetes.namespace_name",
    "kubernetes.container_id", "kubernetes.container_name"};
static_assert(std::size(kFields) == kCount);

bool Detect(const RecordView& r) { return r.Str(kFormat) == "cri" && r.IsString(kTime); }

Status Read(RecordView& r, Event& e) {
  e.time = Rfc3339(r.Str(kTime));
  Entities& x = e.entities;
  x.pod = r.Str(kPod);
  x.namespace_name = r.Str(kNamespace);
  x.container_id = r.Str(kContainerId);
  x.workload = r.Str(kContainerName);
  return Ok();
}
}  // namespace cri

namespace lambda {
enum : size_t { kFormat, kTime, kFunctionName, kVersion, kOwner, kCount };
constexpr std::string_view kFields[] = {"format", "time", "functionName", "version", "owner"};
static_assert(std::size(kFields) == kCount);

bool Detect(const RecordView& r) { return r.Str(kFormat) == "lambda" && r.IsString(kTime); }

Status Read(RecordView& r, Event& e) {
  e.time = Rfc3339(r.Str(kTime));
  e.entities.function_name = r.Str(kFunctionName);
  e.entities.function_version = r.Str(kVersion);
  e.entities.tenant = r.Str(kOwner);  // the envelope's AWS account
  return Ok();
}
}  // namespace lambda

constexpr Adapter kAdapters[] = {
    {"k8s_audit", {"kubernetes", "audit", "application"}, k8s::kFields,
     "'stageTimestamp' (RFC 3339)", k8s::Detect, k8s::Read},
    {"aks_audit", {"kubernetes", "audit", "application"}, aks::kFields,
     "'stageTimestamp' in properties.log, or 'time' (RFC 3339)", aks::Detect, aks::Read},
    {"gke_audit", {"kubernetes", "audit", "application"}, gcp::kFields,
     "'timestamp' (RFC 3339)", gcp::DetectGke, gcp::ReadGke},
    {"gcp_audit", {"gcp", "gcp.audit", {}}, gcp::kFields, "'timestamp' (RFC 3339)", gcp::Detect,
     gcp::Read},
    {"falco", {"falco", {}, {}}, falco::kFields, "'time' (RFC 3339)", falco::Detect, falco::Read},
    {"cloudtrail", {"aws", "cloudtrail", {}}, cloudtrail::kFields, "'eventTime' (RFC 3339)",
     cloudtrail::Detect, cloudtrail::Read},
    {"docker", {"docker", {}, {}}, docker::kFields, "'timeNano' or 'time' (Unix time)",
     docker::Detect, docker::Read},
    {"azure_functionapplogs", {"azure", "functionapplogs", {}}, azure::kFields,
     "'time' (RFC 3339)", azure::DetectFunctionAppLogs, azure::ReadFunctionAppLogs},
    {"azure_activity", {"azure", "activitylogs", {}}, azure::kFields, "'time' (RFC 3339)",
     azure::DetectActivity, azure::ReadActivity},
    {"trivy", {"trivy", {}, {}}, trivy::kFields, "'CreatedAt' (RFC 3339)", trivy::Detect,
     trivy::Read},
    {"ecr_scan", {"aws", "ecr", {}}, ecr::kFields,
     "'imageScanFindings.imageScanCompletedAt' (RFC 3339 or Unix seconds)", ecr::Detect,
     ecr::Read},
    {"cri", {"kubernetes", "container_logs", {}}, cri::kFields, "'time' (RFC 3339)", cri::Detect,
     cri::Read},
    {"lambda", {"aws", "lambda", {}}, lambda::kFields, "'time' (RFC 3339)", lambda::Detect,
     lambda::Read},
};
static_assert(kAdapters[kK8sAuditIndex].detect == k8s::Detect);

using R = EntityRole;
constexpr EntityPath kEntityPaths[] = {
    // Kubernetes audit (and GKE's derived paths)
    {"objectRef.namespace", R::kNamespace},
    {"user.username", R::kPrincipal},
    {"sourceIPs", R::kSourceAddress},
    // GCP Cloud Audit Logs
    {"protoPayload.authenticationInfo.principalEmail", R::kPrincipal},
    {"protoPayload.requestMetadata.callerIp", R::kSourceAddress},
    {"resource.labels.project_id", R::kTenant},
    {"resource.labels.cluster_name", R::kCluster},
    {"resource.labels.function_name", R::kFunctionName},
    {"resource.labels.service_name", R::kFunctionName},
    {"resource.labels.revision_name", R::kFunctionVersion},
    // Falco
    {"output_fields.container.image.digest", R::kImageDigest},
    {"output_fields.k8s.ns.name", R::kNamespace},
    {"output_fields.k8s.pod.name", R::kPod},
    {"output_fields.user.name", R::kPrincipal},
    {"output_fields.ka.user.name", R::kPrincipal},
    {"output_fields.ka.target.namespace", R::kNamespace},
    // CloudTrail (a functionName that is an ARN becomes the function ARN)
    {"userIdentity.arn", R::kPrincipal},
    {"recipientAccountId", R::kTenant},
    {"requestParameters.functionName", R::kFunctionName},
    {"responseElements.functionArn", R::kFunctionArn},
    // Docker
    {"Actor.Attributes.image", R::kImage},
    {"Actor.Attributes.io.kubernetes.pod.name", R::kPod},
    {"Actor.Attributes.io.kubernetes.pod.namespace", R::kNamespace},
    {"Actor.Attributes.com.docker.compose.service", R::kWorkload},
    // Azure
    {"callerIpAddress", R::kSourceAddress},
    {"properties.appName", R::kWorkload},
    // Image scans
    {"repositoryName", R::kImage},
    {"imageId.imageDigest", R::kImageDigest},
    {"registryId", R::kTenant},
    // CRI and Lambda records
    {"kubernetes.pod_name", R::kPod},
    {"kubernetes.namespace_name", R::kNamespace},
    {"kubernetes.container_id", R::kContainerId},
    {"functionName", R::kFunctionName},
    {"owner", R::kTenant},
};

}  // namespace

std::span<const Adapter> All() { return kAdapters; }
std::span<const EntityPath> EntityPaths() { return kEntityPaths; }

}  // namespace tuttle::ingest::adapters
