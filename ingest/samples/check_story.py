#!/usr/bin/env python3
"""Checks the bundled demo: the rule pack, the sample stream, and what Tuttle should alert on.

1. Validates every rule under rules/pack/ (YAML parses, required attributes, UUIDv4 ids and
   snake_case names unique across the pack, only the Sigma features Tuttle supports, correlation
   references resolve to exactly one detection rule, no correlation of correlations), and against
   the Sigma JSON schemas when ../shared/sigma/spec is present and jsonschema is installed.
2. Checks the sample: size, record count, one malformed line, event-time span and lateness, and
   that generate_attack_story.py reproduces it byte for byte.
3. Evaluates every detection rule on every record with its own Sigma matcher (field maps, lists,
   wildcards; modifiers contains/startswith/endswith/all/re (+ i/m/s)/exists/cased/gt/gte/lt/lte/
   neq/fieldref/expand (placeholders: the pack's defaults)/cidr; and/or/not/1 of/all of), on the
   record plus the fields the parser derives (docs/formats.md: `tuttle.entity.<name>`,
   `tuttle.tenant`, CloudTrail's `eventNameBase`, the scans' `scan.*`), then replays the
   correlation rules with the documented semantics (docs/correlation.md): signals in event-time
   order; a group's window holds its signals of the last `timespan`, both ends inclusive; checked
   on each signal, one alert with every signal in the window as evidence, and the window is
   cleared; text temporal conditions (`a and not b` checked when the episode's window closes);
   `correlation.tuttle.absent` steps (absent steps first); `correlation.tuttle.suppress`; chains
   (inner alerts as signals at their time) and `generate`. The pack's rule tests
   (rules/pack/tests/*.test.yml) are run through the same matcher as a cross-check.
4. Compares the result with the story as designed (STORY below), with the expected-alerts block
   in README.md and with attack-story.expected.json.

    python3 ingest/samples/check_story.py            # check; exit 1 on any mismatch
    python3 ingest/samples/check_story.py --update   # rewrite the README block and expected.json
"""

import argparse
import datetime as dt
import glob
import json
import os
import re
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PACK = os.path.join(ROOT, "rules", "pack")
SAMPLE = os.path.join(HERE, "attack-story.jsonl")
EXPECTED = os.path.join(HERE, "attack-story.expected.json")
README = os.path.join(HERE, "README.md")
SCHEMAS = os.path.join(os.path.dirname(ROOT), "shared", "sigma", "spec", "json-schema")
BEGIN, END = "<!-- expected-alerts:begin -->", "<!-- expected-alerts:end -->"

# The story as designed. A rule/data change that alters any of these is a mismatch to look at.
STORY = {
    # detection rule -> number of records it matches (rules that match nothing are left out)
    "matches": {
        "aws_api_access_denied": 11,  # 8 enumeration + 3 benign singles
        "aws_container_service_discovery": 5,
        "aws_lambda_environment_variables_changed": 1,
        "aws_lambda_function_code_updated": 2,
        "aws_lambda_function_configuration_read": 2,
        "aws_lambda_function_exposed": 2,
        "aws_lambda_function_url_public": 1,
        "aws_lambda_functions_listed": 10,
        "aws_lambda_permission_public_principal": 1,
        "falco_cryptominer_activity": 6,  # 5 on the debug pod's node + 1 from the CronJob's pod
        "falco_drop_and_execute_new_binary": 1,
        "falco_k8s_api_contact_from_container": 7,
        "falco_read_serviceaccount_token": 1,
        "falco_terminal_shell_in_container": 2,
        "k8s_anonymous_api_request": 1,
        "k8s_api_call_with_cli_tool_from_pod": 4,
        "k8s_api_request_forbidden": 15,  # 10 recon + 1 stolen-token denial + 4 benign singles
        "k8s_clusterrolebinding_cluster_admin": 1,
        "k8s_cronjob_or_job_created": 1,
        "k8s_image_deployed_to_production": 2,
        "k8s_pod_created_in_kube_system_by_user": 1,
        "k8s_pod_exec_or_attach": 2,
        "k8s_pod_from_public_registry_by_user": 1,
        "k8s_pod_host_namespace_or_sys_admin": 1,
        "k8s_pod_port_forward": 1,
        "k8s_pod_sensitive_hostpath_mount": 1,
        "k8s_privileged_pod_created": 1,
        "k8s_resource_enumeration_request": 77,
        "k8s_secret_read_by_user": 2,
        "k8s_secrets_listed_cluster_wide": 2,
        "k8s_serviceaccount_secret_access": 3,
        "trivy_image_scan_critical": 1,
        "trivy_image_scan_reported": 1,
    },
    # correlation -> [(group values, evidence records)]
    "correlations": {
        "mr_k8s_discovery_burst": [(("dev-alice",), 7)],
        "mr_k8s_forbidden_request_burst": [(("dev-alice",), 8)],
        "mr_k8s_exec_shell_then_serviceaccount_secrets": [(("payments",), 3)],
        "mr_k8s_cluster_admin_binding_and_privileged_pod": [(("dev-alice",), 2)],
        "mr_aws_access_denied_enumeration": [(("203.0.113.45",), 5)],
        "mr_aws_lambda_enumerate_read_then_modify": [
            (("arn:aws:iam::418277365921:user/ci-lambda-deployer",), 5)],
        "mr_aws_lambda_code_update_then_public_permission": [
            (("arn:aws:iam::418277365921:user/ci-lambda-deployer",), 2)],
        "mr_image_with_critical_vulnerabilities_in_production": [
            (("", "sha256:b83a39b1007e76619d882d0582256bc8428ca4a4788bbd26b950dad61b984cc3"), 2)],
        "mr_k8s_port_forward_then_secret_reads": [(("dev-alice",), 2)],
        "mr_image_deployed_to_production_without_recent_scan": [
            (("", "sha256:d5dd06df0a5410422c9b118809d4fc5eef0f52086d63ece459030a61a4b68959"), 1)],
        "mr_k8s_cronjob_then_cryptominer": [(("payments",), 2)],
    },
}

SUPPORTED_MODIFIERS = {"contains", "startswith", "endswith", "all", "re", "exists", "cased", "i",
                       "ignorecase", "m", "multiline", "s", "dotall", "gt", "gte", "lt", "lte",
                       "neq", "fieldref", "expand", "cidr"}
# The pack's placeholder defaults (tools/engine_setup.cc PackPlaceholders, docs/rules.md `expand`).
PLACEHOLDERS = {"production_namespaces": ["prod", "production", "prod-*", "*-prod", "production-*",
                                          "*-production"]}
CORRELATION_TYPES = {"event_count", "value_count", "temporal", "temporal_ordered"}
CONDITION_KEYS = {"gt", "gte", "lt", "lte", "eq", "neq", "field"}
LEVELS = {"informational", "low", "medium", "high", "critical"}
STATUSES = {"stable", "test", "experimental", "deprecated", "unsupported"}
# Log sources the engine assigns (docs/formats.md). The sample has records of the first five only;
# rules of the others are listed as "no records of their log source" in the output.
LOGSOURCES = {("kubernetes", "audit"), ("falco", None), ("aws", "cloudtrail"), ("trivy", None),
              ("aws", "ecr"), ("docker", None), ("gcp", "gcp.audit"), ("azure", "activitylogs"),
              ("azure", "functionapplogs"), ("kubernetes", "container_logs"), ("aws", "lambda"),
              ("tuttle", "contracts")}
# ("tuttle", "contracts"): the violation events of data contracts (docs/contracts.md); the sample
# runs without contracts, so no record has it.
# Formats the checker recognises: k8s_audit, falco, cloudtrail, gcp_audit, docker, Azure activity
# and FunctionAppLogs, trivy, ecr_scan. Not: aks_audit, gke_audit and the text logs (CRI, Lambda),
# none of which the sample has.
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
FILE_NAME = re.compile(r"^[a-z0-9_]{10,70}\.yml$")
TAG = re.compile(r"^[a-z0-9_-]+\.[a-z0-9._-]+$")
DATE = re.compile(r"^\d{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$")
TIMESPAN = re.compile(r"^[1-9][0-9]*[smhd]$")

errors = []
unloaded = {}  # detection rule -> why this checker cannot evaluate it (treated as not matching)


def fail(msg):
    errors.append(msg)


# ============================================================================================
# Rule pack


def load_pack():
    detections, correlations, names = {}, {}, {}
    ids = {}
    for path in sorted(glob.glob(os.path.join(PACK, "**", "*.yml"), recursive=True)):
        if path.endswith(".test.yml"):
            continue  # rule tests (docs/rule-tests.md), not rules
        rel = os.path.relpath(path, ROOT)
        try:
            with open(path, encoding="utf-8") as f:
                raw = f.read()
            docs = [d for d in yaml.safe_load_all(raw) if d is not None]
        except yaml.YAMLError as e:
            fail(f"{rel}: YAML does not parse: {e}")
            continue
        if "\r" in raw or "\t" in raw:
            fail(f"{rel}: CR or TAB characters")
        if not FILE_NAME.match(os.path.basename(path)):
            fail(f"{rel}: file name is not 10-70 chars of [a-z0-9_] + .yml")
        if len(docs) != 1:
            fail(f"{rel}: expected one YAML document, found {len(docs)}")
            continue
        rule = docs[0]
        rule["_file"] = rel
        check_common(rule, rel)
        rid, name = str(rule.get("id")), rule.get("name")
        if rid in ids:
            fail(f"{rel}: id {rid} also used by {ids[rid]}")
        ids[rid] = rel
        if name in names:
            fail(f"{rel}: name {name} also defined in {names[name]}")
        names[name] = rel
        if "correlation" in rule:
            if os.path.basename(os.path.dirname(path)) != "correlations":
                fail(f"{rel}: correlation rules belong in rules/pack/correlations/")
            correlations[name] = rule
        else:
            check_detection(rule, rel)
            detections[name] = rule
    for name, rule in correlations.items():
        check_correlation(rule, detections, correlations)
    if jsonschema_validate is not None:
        for rule in list(detections.values()) + list(correlations.values()):
            jsonschema_validate(rule)
    return detections, correlations


def check_common(rule, rel):
    for key in ("title", "id", "name", "status", "description", "references", "author", "date",
                "tags", "falsepositives", "level"):
        if key not in rule:
            fail(f"{rel}: missing {key}")
    if not UUID4.match(str(rule.get("id", ""))):
        fail(f"{rel}: id is not a lowercase UUIDv4")
    if not SNAKE.match(str(rule.get("name", ""))):
        fail(f"{rel}: name is not snake_case")
    if os.path.splitext(os.path.basename(rel))[0] != rule.get("name"):
        fail(f"{rel}: file name does not match the rule name")
    if rule.get("status") not in STATUSES:
        fail(f"{rel}: bad status")
    if rule.get("level") not in LEVELS:
        fail(f"{rel}: bad level")
    if rule.get("author") != "Tuttle":
        fail(f"{rel}: author must be Tuttle")
    if not DATE.match(str(rule.get("date", ""))):
        fail(f"{rel}: date must be YYYY-MM-DD")
    for ref in rule.get("references", []):
        if not str(ref).startswith("https://"):
            fail(f"{rel}: reference {ref} is not an https URL")
    tags = rule.get("tags", [])
    if len(set(tags)) != len(tags):
        fail(f"{rel}: duplicate tags")
    if not any(re.match(r"^attack\.t\d{4}(\.\d{3})?$", t) for t in tags):
        fail(f"{rel}: no ATT&CK technique tag")
    if not any(re.match(r"^attack\.[a-z-]+$", t) for t in tags):
        fail(f"{rel}: no ATT&CK tactic tag")
    for t in tags:
        if not TAG.match(t):
            fail(f"{rel}: bad tag {t}")
    if len(str(rule.get("title", ""))) > 256:
        fail(f"{rel}: title longer than 256 characters")


def check_detection(rule, rel):
    ls = rule.get("logsource") or {}
    if (ls.get("product"), ls.get("service")) not in LOGSOURCES or set(ls) - {"product", "service"}:
        fail(f"{rel}: logsource {ls} is not one the engine assigns")
    det = rule.get("detection") or {}
    if "condition" not in det or not isinstance(det["condition"], str):
        fail(f"{rel}: detection needs one condition string")
        return
    for ident, body in det.items():
        if ident == "condition":
            continue
        maps = body if isinstance(body, list) else [body]
        for m in maps:
            if not isinstance(m, dict):
                fail(f"{rel}: {ident}: keyword lists are not used in this pack")
                continue
            for key in m:
                mods = key.split("|")[1:]
                for mod in mods:
                    if mod not in SUPPORTED_MODIFIERS:
                        fail(f"{rel}: {ident}: unsupported modifier {mod}")
    try:
        Condition(det["condition"], [k for k in det if k != "condition"])
    except ValueError as e:
        fail(f"{rel}: condition: {e}")
    if "generate" in rule:
        fail(f"{rel}: generate belongs on correlation rules")


def check_correlation(rule, detections, correlations):
    rel = rule["_file"]
    c = rule["correlation"]
    if set(c) - {"type", "rules", "group-by", "timespan", "condition", "aliases", "tuttle"}:
        fail(f"{rel}: unexpected keys in correlation: {sorted(set(c) - {'type'})}")
    if c.get("type") not in CORRELATION_TYPES:
        fail(f"{rel}: correlation type {c.get('type')} not supported")
    for ref in c.get("rules", []):
        if ref in correlations:
            if ref == rule["name"]:
                fail(f"{rel}: references itself")
        elif ref not in detections:
            fail(f"{rel}: references unknown rule {ref}")
    if len(set(c.get("rules", []))) != len(c.get("rules", [])):
        fail(f"{rel}: a rule is referenced twice")
    if not c.get("group-by"):
        fail(f"{rel}: group-by is required")
    if not TIMESPAN.match(str(c.get("timespan", ""))):
        fail(f"{rel}: bad timespan")
    cond = c.get("condition")
    tut = c.get("tuttle") or {}
    if set(tut) - {"absent", "suppress"}:
        fail(f"{rel}: unknown correlation.tuttle keys {sorted(set(tut) - {'absent', 'suppress'})}")
    if "suppress" in tut and not TIMESPAN.match(str(tut["suppress"])):
        fail(f"{rel}: bad tuttle.suppress")
    if "absent" in tut:
        if c.get("type") != "temporal_ordered" or cond is not None:
            fail(f"{rel}: absent steps need temporal_ordered and no condition")
        if set(tut["absent"]) - set(c.get("rules", [])):
            fail(f"{rel}: absent steps must be referenced rules")
    if isinstance(cond, str):
        if c.get("type") != "temporal":
            fail(f"{rel}: a text condition goes with temporal only")
        else:
            try:
                tree = Condition(cond, c.get("rules", []))
                if set(tree.names()) != set(c.get("rules", [])):
                    fail(f"{rel}: every rule must appear in the text condition")
            except ValueError as e:
                fail(f"{rel}: condition: {e}")
        cond = None
    if c.get("type") in ("event_count", "value_count") and not cond:
        fail(f"{rel}: condition required")
    if cond is not None:
        if set(cond) - CONDITION_KEYS or not set(cond) - {"field"}:
            fail(f"{rel}: bad condition {cond}")
        if ("field" in cond) != (c.get("type") == "value_count"):
            fail(f"{rel}: condition.field goes with value_count only")
    aliases = c.get("aliases") or {}
    for alias, mapping in aliases.items():
        if alias not in c.get("group-by", []):
            fail(f"{rel}: alias {alias} not used in group-by")
        if set(mapping) != set(c.get("rules", [])):
            fail(f"{rel}: alias {alias} must map every referenced rule")
    if "generate" in rule and not isinstance(rule["generate"], bool):
        fail(f"{rel}: generate must be a boolean")
    if "logsource" in rule or "detection" in rule:
        fail(f"{rel}: a correlation has no logsource/detection")


def make_schema_validator():
    try:
        import jsonschema
    except ImportError:
        print("note: jsonschema not installed, skipping Sigma JSON-schema validation")
        return None
    det_path = os.path.join(SCHEMAS, "sigma-detection-rule-schema.json")
    cor_path = os.path.join(SCHEMAS, "sigma-correlation-rules-schema.json")
    if not (os.path.exists(det_path) and os.path.exists(cor_path)):
        print(f"note: {SCHEMAS} not found, skipping Sigma JSON-schema validation")
        return None
    with open(det_path) as f:
        det_schema = json.load(f)
    with open(cor_path) as f:
        cor_schema = json.load(f)

    def validate(rule):
        doc = {k: v for k, v in rule.items() if not k.startswith("_")}
        doc = json.loads(json.dumps(doc, default=str))  # dates as strings, as in the YAML
        if "correlation" in doc:
            # pySigma's text conditions and Tuttle's `correlation.tuttle` are outside the schema.
            if isinstance(doc["correlation"].get("condition"), str):
                del doc["correlation"]["condition"]
            doc["correlation"].pop("tuttle", None)
        schema = cor_schema if "correlation" in doc else det_schema
        if "correlation" in doc:
            # The correlation schema predates `name`/`tags` on correlations; Sigma allows both.
            doc.pop("name", None)
            doc.pop("tags", None)
        validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
        for e in validator.iter_errors(doc):
            fail(f"{rule['_file']}: schema: {e.message} at {list(e.path)}")

    return validate


jsonschema_validate = None

# ============================================================================================
# Sigma matching (the subset the pack uses)


def resolve(obj, path):
    """Values at a dotted path. Keys that contain dots match segment by segment; arrays are
    transparent (a path through an array names every element). [] when absent."""
    parts = path.split(".")
    out = []

    def walk(node, i):
        if isinstance(node, list):
            for e in node:
                walk(e, i)
            return
        if i == len(parts):
            out.append(node)
            return
        if isinstance(node, dict):
            for j in range(i + 1, len(parts) + 1):
                key = ".".join(parts[i:j])
                if key in node:
                    walk(node[key], j)

    walk(obj, 0)
    return out


def wildcard_regex(value, prefix_any, suffix_any):
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value) and value[i + 1] in "*?\\":
            out.append(re.escape(value[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return ("^" + (".*" if prefix_any else "") + "".join(out) + (".*" if suffix_any else "") + "$")


NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def as_number(x):
    """A JSON number, or a string that is a decimal number in full (docs/rules.md lt..gte)."""
    if isinstance(x, bool) or x is None:
        return None
    if isinstance(x, (int, float)):
        return x
    if isinstance(x, str) and NUMBER.match(x):
        return float(x)
    return None


def scalar_text(x):
    if isinstance(x, bool) or x is None or isinstance(x, (dict, list)):
        return None
    return x if isinstance(x, str) else json.dumps(x)


class FieldTest:
    COMPARE = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b,
               "lte": lambda a, b: a <= b}

    def __init__(self, key, value):
        parts = key.split("|")
        self.field, self.mods = parts[0], parts[1:]
        values = value if isinstance(value, list) else [value]
        if "expand" in self.mods:
            expanded = []
            for v in values:
                names = re.findall(r"%(\w+)%", str(v))
                if not names:
                    expanded.append(v)
                    continue
                outs = [str(v)]
                for n in names:
                    if n not in PLACEHOLDERS:
                        raise ValueError(f"placeholder {n} has no values")
                    outs = [o.replace(f"%{n}%", pv) for o in outs for pv in PLACEHOLDERS[n]]
                expanded += outs
            values = expanded
        self.all = "all" in self.mods
        self.neq = "neq" in self.mods
        self.tests = [self._compile(v) for v in values]

    def _string_rx(self, text, cased=None):
        m = self.mods
        pattern = wildcard_regex(text, "contains" in m or "endswith" in m,
                                 "contains" in m or "startswith" in m)
        cased = "cased" in m if cased is None else cased
        return re.compile(pattern, re.S | (0 if cased else re.I))

    def _compile(self, v):
        m = self.mods
        if "exists" in m:
            return lambda vals, ev, v=v: (len(vals) > 0) == bool(v)
        if "fieldref" in m:
            other = str(v)

            def test(vals, ev):
                refs = [scalar_text(r) for r in resolve(ev, other)]
                refs = [r for r in refs if r is not None]
                texts = [t for t in (scalar_text(x) for x in vals) if t is not None]
                if not refs or not texts:
                    return False
                if "cased" in m:
                    eq = lambda a, b: a == b
                    inside = lambda a, b: b in a
                else:
                    eq = lambda a, b: a.lower() == b.lower()
                    inside = lambda a, b: b.lower() in a.lower()
                if "contains" in m:
                    return any(inside(t, r) for t in texts for r in refs)
                if "startswith" in m:
                    return any(t.lower().startswith(r.lower()) if "cased" not in m
                               else t.startswith(r) for t in texts for r in refs)
                if "endswith" in m:
                    return any(t.lower().endswith(r.lower()) if "cased" not in m
                               else t.endswith(r) for t in texts for r in refs)
                if self.neq:
                    return any(not any(eq(t, r) for r in refs) for t in texts)
                return any(eq(t, r) for t in texts for r in refs)
            return test
        if "re" in m:
            flags = ((re.I if ("i" in m or "ignorecase" in m) else 0) |
                     (re.M if ("m" in m or "multiline" in m) else 0) |
                     (re.S if ("s" in m or "dotall" in m) else 0))
            rx = re.compile(v, flags)  # Sigma regexes are case-sensitive unless |i
            return lambda vals, ev: any(isinstance(x, str) and rx.search(x) for x in vals)
        for op in ("gt", "gte", "lt", "lte"):
            if op in m:
                bound = as_number(v)
                f = self.COMPARE[op]
                return lambda vals, ev: any(as_number(x) is not None and f(as_number(x), bound)
                                            for x in vals)
        if "cidr" in m:
            import ipaddress
            net = ipaddress.ip_network(str(v), strict=True)

            def test(vals, ev):
                for x in vals:
                    try:
                        addr = ipaddress.ip_address(str(x))
                    except ValueError:
                        continue
                    if addr.version == 6 and addr.ipv4_mapped is not None and net.version == 4:
                        addr = addr.ipv4_mapped
                    if addr.version == net.version and addr in net:
                        return True
                return False
            return test
        if v is None:
            return lambda vals, ev: not vals or any(x is None for x in vals)
        if isinstance(v, bool):
            return lambda vals, ev: any(isinstance(x, bool) and x == v for x in vals)
        if isinstance(v, (int, float)):
            return lambda vals, ev: any((not isinstance(x, bool)) and
                                        ((isinstance(x, (int, float)) and x == v) or
                                         (isinstance(x, str) and x == str(v))) for x in vals)
        rx = self._string_rx(str(v))

        def test(vals, ev):
            for x in vals:
                t = scalar_text(x)
                if t is not None and rx.match(t):
                    return True
            return False

        return test

    def __call__(self, event):
        vals = resolve(event, self.field)
        if self.neq and "fieldref" not in self.mods:
            # the field has a value, and it is none of the listed values
            present = [x for x in vals if x is not None]
            return any(not any(t([x], event) for t in self.tests) for x in present)
        if self.neq:
            return all(t(vals, event) for t in self.tests)
        results = (t(vals, event) for t in self.tests)
        return all(results) if self.all else any(results)


def compile_identifier(body):
    maps = body if isinstance(body, list) else [body]
    compiled = [[FieldTest(k, v) for k, v in m.items()] for m in maps]
    return lambda event: any(all(t(event) for t in tests) for tests in compiled)


class Condition:
    TOKEN = re.compile(r"\s*(\(|\)|1 of|all of|[A-Za-z0-9_*]+)")

    def __init__(self, text, identifiers):
        self.identifiers = identifiers
        self.tokens, pos = [], 0
        text = text.strip()
        while pos < len(text):
            m = self.TOKEN.match(text, pos)
            if not m:
                raise ValueError(f"cannot parse at {text[pos:]!r}")
            self.tokens.append(m.group(1))
            pos = m.end()
        self.i = 0
        self.tree = self._or()
        if self.i != len(self.tokens):
            raise ValueError(f"trailing tokens {self.tokens[self.i:]}")

    def names(self, node=None):
        node = self.tree if node is None else node
        if node[0] == "id":
            return [node[1]]
        if node[0] in ("any", "all"):
            return list(node[1])
        return [n for child in node[1:] for n in self.names(child)]

    def has_not(self, node=None):
        node = self.tree if node is None else node
        if node[0] == "not":
            return True
        return node[0] in ("and", "or") and any(self.has_not(ch) for ch in node[1:])

    def _peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self):
        tok = self._peek()
        self.i += 1
        return tok

    def _or(self):
        node = self._and()
        while self._peek() == "or":
            self._take()
            node = ("or", node, self._and())
        return node

    def _and(self):
        node = self._not()
        while self._peek() == "and":
            self._take()
            node = ("and", node, self._not())
        return node

    def _not(self):
        if self._peek() == "not":
            self._take()
            return ("not", self._not())
        return self._atom()

    def _atom(self):
        tok = self._take()
        if tok == "(":
            node = self._or()
            if self._take() != ")":
                raise ValueError("missing )")
            return node
        if tok in ("1 of", "all of"):
            pat = self._take()
            if pat == "them":
                names = [n for n in self.identifiers if not n.startswith("_")]
            else:
                rx = re.compile("^" + ".*".join(map(re.escape, pat.split("*"))) + "$")
                names = [n for n in self.identifiers if rx.match(n)]
            if not names:
                raise ValueError(f"{tok} {pat} matches no search identifier")
            return ("any" if tok == "1 of" else "all", names)
        if tok is None or tok in ("and", "or", ")"):
            raise ValueError(f"unexpected {tok}")
        if tok not in self.identifiers:
            raise ValueError(f"unknown search identifier {tok}")
        return ("id", tok)

    def evaluate(self, ids, event, node=None):
        node = self.tree if node is None else node
        op = node[0]
        if op == "id":
            return ids[node[1]](event)
        if op == "not":
            return not self.evaluate(ids, event, node[1])
        if op == "and":
            return self.evaluate(ids, event, node[1]) and self.evaluate(ids, event, node[2])
        if op == "or":
            return self.evaluate(ids, event, node[1]) or self.evaluate(ids, event, node[2])
        if op == "any":
            return any(ids[n](event) for n in node[1])
        return all(ids[n](event) for n in node[1])


class Matcher:
    def __init__(self, rule):
        det = rule["detection"]
        self.ids = {k: compile_identifier(v) for k, v in det.items() if k != "condition"}
        self.condition = Condition(det["condition"], list(self.ids))
        ls = rule["logsource"]
        self.logsource = (ls.get("product"), ls.get("service"))

    def __call__(self, event):
        if self.logsource[0] != event.product:
            return False
        if self.logsource[1] is not None and self.logsource[1] != event.service:
            return False
        return self.condition.evaluate(self.ids, event.view)


# ============================================================================================
# The sample


def parse_time(text):
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return int(text) * 1_000_000_000  # Unix seconds (ECR scans may give them)
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$", text)
    if not m:
        raise ValueError(f"bad timestamp {text}")
    base = dt.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)
    frac = (m.group(2) or "").ljust(9, "0")
    offset = 0
    if m.group(3) != "Z":
        sign = 1 if m.group(3)[0] == "+" else -1
        offset = sign * (int(m.group(3)[1:3]) * 3600 + int(m.group(3)[4:6]) * 60)
    return (int(base.timestamp()) - offset) * 1_000_000_000 + int(frac or 0)


class Event:
    def __init__(self, line_no, record, tenant=None):
        self.line = line_no
        self.record = record
        if record.get("kind") == "Event" and str(record.get("apiVersion", "")).startswith("audit.k8s.io"):
            self.product, self.service, self.format = "kubernetes", "audit", "k8s_audit"
            self.time_text = record["stageTimestamp"]
        elif "output_fields" in record and "rule" in record:
            self.product, self.service, self.format = "falco", None, "falco"
            self.time_text = record["time"]
        elif "eventVersion" in record and "eventSource" in record:
            self.product, self.service, self.format = "aws", "cloudtrail", "cloudtrail"
            self.time_text = record["eventTime"]
        elif (isinstance(record.get("protoPayload"), dict) and
              str(record["protoPayload"].get("@type", "")).endswith("google.cloud.audit.AuditLog") and
              record["protoPayload"].get("serviceName") != "k8s.io"):
            self.product, self.service, self.format = "gcp", "gcp.audit", "gcp_audit"
            self.time_text = record["timestamp"]
        elif "output_fields" in record or ("eventVersion" in record and "eventSource" in record):
            raise ValueError("falco/cloudtrail record without its required keys")
        elif (isinstance(record.get("Type"), str) and isinstance(record.get("Action"), str) and
              isinstance(record.get("Actor"), dict) and
              isinstance(record.get("timeNano", record.get("time")), (int, float))):
            self.product, self.service, self.format = "docker", None, "docker"
            ns_ = record["timeNano"] if isinstance(record.get("timeNano"), int) else int(record["time"]) * 10**9
            self.time_text = format_time(ns_)
        elif record.get("category") == "FunctionAppLogs":
            self.product, self.service, self.format = "azure", "functionapplogs", "azure_functionapplogs"
            self.time_text = record["time"]
        elif (record.get("category") in ("Administrative", "Security", "ServiceHealth", "Alert",
                                          "Recommendation", "Policy", "Autoscale", "ResourceHealth")
              and "operationName" in record and "resourceId" in record):
            self.product, self.service, self.format = "azure", "activitylogs", "azure_activity"
            self.time_text = record["time"]
        elif isinstance(record.get("SchemaVersion"), (int, float)) and "ArtifactName" in record:
            self.product, self.service, self.format = "trivy", None, "trivy"
            self.time_text = record["CreatedAt"]
        elif isinstance(record.get("imageScanFindings"), dict):
            self.product, self.service, self.format = "aws", "ecr", "ecr_scan"
            self.time_text = record["imageScanFindings"]["imageScanCompletedAt"]
        else:
            raise ValueError("unknown record shape")
        self.time = parse_time(self.time_text)
        self.view = derived_view(self.format, record)
        if tenant is not None:  # a tenant fixed for the source (`--tenant`) wins over the record's
            self.view["tuttle.tenant"] = tenant


def first(record, *paths):
    for p in paths:
        for v in resolve(record, p):
            if isinstance(v, str) and v:
                return v
    return ""


def digest_of(ref):
    """"repo@sha256:..." -> "sha256:..." (docs/formats.md: the `@sha256:...` part)."""
    return ref[ref.index("@") + 1:] if "@" in ref else ""


LAMBDA_SUFFIX = re.compile(r"^(.*?)(20\d{6}(v\d+)?)$")
SEVERITY_KEYS = {"CRITICAL": "critical", "HIGH": "high", "MEDIUM": "medium", "LOW": "low"}


def derived_view(fmt, record):
    """The record plus the fields the parser derives (docs/formats.md): `tuttle.entity.<name>`
    for each non-empty entity, `tuttle.tenant` (empty when none), CloudTrail's `eventNameBase`
    and the scans' `scan.*`. A record's own `tuttle.*` keys are ignored."""
    x = {}
    tenant = ""
    view = {k: v for k, v in record.items() if k != "tuttle" and not k.startswith("tuttle.")}
    if fmt == "k8s_audit":
        x["namespace"] = first(record, "objectRef.namespace")
        resource = first(record, "objectRef.resource")
        name = first(record, "objectRef.name", "requestObject.metadata.name")
        if resource == "pods":
            x["pod"] = name
        if resource in ("deployments", "statefulsets", "daemonsets", "replicasets", "jobs",
                        "cronjobs", "replicationcontrollers"):
            x["workload"] = name
        x["image"] = first(record, "requestObject.spec.containers.image",
                           "requestObject.spec.template.spec.containers.image",
                           "requestObject.status.containerStatuses.image")
        x["image_digest"] = digest_of(x["image"]) or digest_of(
            first(record, "requestObject.status.containerStatuses.imageID"))
        x["principal"] = first(record, "user.username")
        x["source_address"] = first(record, "sourceIPs")
    elif fmt == "falco":
        of = record.get("output_fields") or {}
        get = lambda *keys: next((of[k] for k in keys if isinstance(of.get(k), str) and of[k]), "")
        x["container_id"] = get("container.id")
        x["image"] = get("container.image", "container.image.repository")
        x["image_digest"] = get("container.image.digest")
        x["namespace"] = get("k8s.ns.name", "ka.target.namespace")
        x["pod"] = get("k8s.pod.name")
        x["principal"] = get("user.name", "ka.user.name")
    elif fmt == "cloudtrail":
        x["principal"] = first(record, "userIdentity.arn")
        x["tenant"] = tenant = first(record, "recipientAccountId") or first(
            record, "userIdentity.accountId")
        src = first(record, "sourceIPAddress")
        if not (src.endswith(".amazonaws.com") or src == "AWS Internal"):
            x["source_address"] = src
        name = str(record.get("eventName", ""))
        m = LAMBDA_SUFFIX.match(name) if record.get("eventSource") == "lambda.amazonaws.com" else None
        view["eventNameBase"] = m.group(1) if m else name
        if record.get("eventSource") == "lambda.amazonaws.com":
            fn = first(record, "requestParameters.functionName")
            if fn.startswith("arn:"):
                x["function_arn"] = fn
                fn = fn.split(":")[6] if len(fn.split(":")) > 6 else fn
            x["function_name"] = fn
        if record.get("eventSource") == "ecr.amazonaws.com":
            x["image"] = first(record, "requestParameters.repositoryName")
            x["image_digest"] = first(record, "requestParameters.imageId.imageDigest",
                                      "responseElements.image.imageId.imageDigest",
                                      "requestParameters.imageIds.imageDigest")
    elif fmt == "gcp_audit":
        x["tenant"] = tenant = first(record, "resource.labels.project_id")
        x["principal"] = first(record, "protoPayload.authenticationInfo.principalEmail")
        x["source_address"] = first(record, "protoPayload.requestMetadata.callerIp")
        x["function_name"] = first(record, "resource.labels.function_name",
                                   "resource.labels.service_name")
    elif fmt == "docker":
        attrs = (record.get("Actor") or {}).get("Attributes") or {}
        a = lambda k: attrs.get(k) if isinstance(attrs.get(k), str) else ""
        if record.get("Type") == "container":
            x["container_id"] = str((record.get("Actor") or {}).get("ID", ""))
            x["image"] = a("image")
            x["image_digest"] = digest_of(x["image"])
        elif record.get("Type") == "image":
            x["image"] = a("name")
            aid = str((record.get("Actor") or {}).get("ID", ""))
            x["image_digest"] = aid if aid.startswith("sha256:") else ""
        x["pod"] = a("io.kubernetes.pod.name")
        x["namespace"] = a("io.kubernetes.pod.namespace")
        x["workload"] = a("com.docker.compose.service")
    elif fmt in ("azure_activity", "azure_functionapplogs"):
        m = re.search(r"/SUBSCRIPTIONS/([^/]+)", str(record.get("resourceId", "")), re.I)
        x["tenant"] = tenant = m.group(1) if m else ""
        if fmt == "azure_activity":
            x["principal"] = first(record, "caller") or first(
                record, "identity.claims.http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
                "identity.claims.appid")
            x["source_address"] = first(record, "callerIpAddress")
        else:
            fn = first(record, "properties.functionName")
            x["function_name"] = fn[len("Functions."):] if fn.startswith("Functions.") else fn
            x["workload"] = first(record, "properties.appName")
    elif fmt in ("trivy", "ecr_scan"):
        if fmt == "trivy":
            if record.get("ArtifactType") == "container_image":
                x["image"] = first(record, "ArtifactName")
            x["image_digest"] = digest_of(first(record, "Metadata.RepoDigests")) or first(
                record, "Metadata.ImageID")
            vulns = resolve(record, "Results.Vulnerabilities")
            idkey, sevkey = "VulnerabilityID", "Severity"
        else:
            x["image"] = first(record, "repositoryName")
            x["image_digest"] = first(record, "imageId.imageDigest")
            x["tenant"] = tenant = first(record, "registryId")
            vulns = (resolve(record, "imageScanFindings.findings") +
                     resolve(record, "imageScanFindings.enhancedFindings"))
            idkey, sevkey = "name", "severity"
        scan = {}
        for v in vulns:
            if not isinstance(v, dict):
                continue
            vid = v.get(idkey) or v.get("packageVulnerabilityDetails", {}).get("vulnerabilityId")
            if not vid:
                continue
            scan.setdefault("cve", []).append(vid)
            scan.setdefault(SEVERITY_KEYS.get(str(v.get(sevkey, "")).upper(), "other"), []).append(vid)
        view["scan"] = scan
    for name, value in x.items():
        if value:
            view["tuttle.entity." + name] = value
    view["tuttle.tenant"] = tenant
    return view


def load_sample():
    with open(SAMPLE, "rb") as f:
        data = f.read()
    text = data.decode("utf-8")
    if "\r" in text:
        fail("sample has CR characters")
    if not text.endswith("\n"):
        fail("sample does not end with a newline")
    events, malformed = [], []
    for i, line in enumerate(text.split("\n")[:-1], start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            malformed.append(i)
            continue
        try:
            events.append(Event(i, record))
        except (ValueError, KeyError) as e:
            fail(f"line {i}: {e}")
    records = len(text.split("\n")) - 1
    return data, records, events, malformed


def check_sample(data, records, events, malformed):
    if not 500 <= records <= 700:
        fail(f"{records} records, wanted 500-700")
    if len(data) >= 600 * 1024:
        fail(f"sample is {len(data)} bytes, wanted under 600 KB")
    if len(malformed) != 1:
        fail(f"malformed lines {malformed}, wanted exactly one")
    times = [e.time for e in events]
    span_min = (max(times) - min(times)) / 60e9
    if not 80 <= span_min <= 95:
        fail(f"event time spans {span_min:.1f} minutes, wanted about 90")
    newest, late = None, []
    for e in events:
        if newest is not None and e.time < newest:
            late.append((e.line, (newest - e.time) / 1e9))
            if newest - e.time > 10 * 1_000_000_000:
                fail(f"line {e.line} is {(newest - e.time) / 1e9:.3f} s out of order (max 10 s)")
        newest = e.time if newest is None else max(newest, e.time)
    gen = subprocess.run([sys.executable, os.path.join(HERE, "generate_attack_story.py"), "--stdout"],
                         capture_output=True, check=True).stdout
    if gen != data:
        fail("generate_attack_story.py does not reproduce attack-story.jsonl byte for byte")
    return span_min, late


# ============================================================================================
# Alerts the engine should raise


def format_time(ns):
    sec, frac = divmod(ns, 1_000_000_000)
    d = dt.datetime.fromtimestamp(sec, dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%09dZ" % frac


def chain_levels(correlations):
    levels = {}

    def level(name, seen=()):
        if name not in levels:
            refs = [r for r in correlations[name]["correlation"]["rules"] if r in correlations]
            levels[name] = 1 + max((level(r, seen + (name,)) for r in refs), default=-1)
        return levels[name]

    for name in correlations:
        level(name)
    return levels


def simulate(detections, correlations, events):
    matchers = {}
    for name, rule in detections.items():
        try:
            matchers[name] = Matcher(rule)
        except (ValueError, re.error) as e:
            unloaded[name] = str(e)
            fail(f"{rule['_file']}: cannot evaluate: {e}")
    matches = {name: ([e for e in events if matchers[name](e)] if name in matchers else [])
               for name in detections}

    referenced, generated = set(), set()
    for rule in correlations.values():
        for ref in rule["correlation"]["rules"]:
            referenced.add(ref)
            if rule.get("generate", False):
                generated.add(ref)
    emits = {n for n in list(detections) + list(correlations) if n not in referenced or n in generated}

    singles = []
    for name in detections:
        if name in emits:
            for e in matches[name]:
                singles.append({"rule": name, "level": detections[name]["level"], "line": e.line,
                                "time": e.time_text, "format": e.format})
    singles.sort(key=lambda a: (parse_time(a["time"]), a["line"], a["rule"]))

    levels = chain_levels(correlations)
    made, missing = {}, {}  # correlation -> every alert it made (suppressed ones too)
    for cname in sorted(correlations, key=lambda n: (levels[n], n)):
        made[cname] = correlate(cname, correlations[cname], matches, made, missing)
    alerts = []
    for cname, rule in correlations.items():
        if cname in emits:
            alerts += [a for a in made[cname] if not a.pop("_suppressed")]
        else:
            for a in made[cname]:
                a.pop("_suppressed")
    alerts.sort(key=lambda a: (a["time"], a["rule"]))
    for a in alerts:
        if a["values"] is None:
            del a["values"]
        a.pop("_t")
    return matches, emits, singles, alerts, missing


def correlate(cname, rule, matches, made, missing):
    """One correlation rule's alerts, per docs/correlation.md."""
    c = rule["correlation"]
    aliases = c.get("aliases") or {}
    span = parse_span(c["timespan"])
    cond = c.get("condition") or {}
    tut = c.get("tuttle") or {}
    text = Condition(cond, c["rules"]) if isinstance(cond, str) else None
    if text is not None:
        cond = {}
    absent = set(tut.get("absent", []))
    # (An absent sequence's condition is written as its steps in order, "not " before absent ones.)
    # signals: (time, line, step, group, value, ref, evidence)
    signals = []
    for step, ref in enumerate(c["rules"]):
        if ref in made:  # a chain: the inner correlation's alerts, fields = its group-by values
            for a in made[ref]:
                group = []
                for g in c["group-by"]:
                    name = aliases[g][ref] if g in aliases else g
                    group.append(a["group"].get(name))
                value = a["group"].get(cond["field"]) if c["type"] == "value_count" else None
                signals.append((a["_t"], min(e["line"] for e in a["evidence"]), step,
                                tuple(group), value, ref, list(a["evidence"])))
            continue
        for e in matches[ref]:
            group = []
            for g in c["group-by"]:
                path = aliases[g][ref] if g in aliases else g
                vals = resolve(e.view, path)
                if len(vals) > 1 and not path.startswith("sourceIPs"):
                    fail(f"{cname}: line {e.line}: group-by {path} has {len(vals)} values")
                group.append(vals[0] if vals and isinstance(vals[0], str) else None)
            if None in group:
                missing[cname] = missing.get(cname, 0) + 1
                continue
            value = None
            if c["type"] == "value_count":
                vals = resolve(e.view, cond["field"])
                value = vals[0] if vals else None
            signals.append((e.time, e.line, step, tuple(group), value, ref,
                            [{"line": e.line, "time": format_time(e.time), "rule": ref}]))
    signals.sort(key=lambda s: (s[0], s[1], s[2]))
    # Ties in event time are broken by a record hash in the engine: make sure none matter.
    # (Same-step ties only matter when both records end up as evidence of one alert.)
    seen, ties = {}, []
    for s in signals:
        key = (s[3], s[0])
        if key in seen and seen[key][0] != s[1]:
            if seen[key][1] != s[2]:
                fail(f"{cname}: lines {seen[key][0]} and {s[1]} tie in event time in group {s[3]}")
            ties.append((seen[key][0], s[1]))
        seen[key] = (s[1], s[2])

    def alert(group, window, n, t, start):
        evidence = [ev for s in window for ev in s[6]]
        return {"rule": cname, "type": c["type"], "level": rule["level"],
                "group": dict(zip(c["group-by"], group)), "count": n,
                "condition": (str(c["condition"]) if text is not None else
                              " -> ".join(("not " if r in absent else "") + r for r in c["rules"])
                              if absent else condition_text(cond)),
                "window_start": format_time(start), "time": format_time(t), "_t": t,
                "values": sorted({s[4] for s in window if s[4] is not None})
                if c["type"] == "value_count" else None,
                "evidence": evidence}

    out = []
    groups = {}
    if absent:
        present = [i for i, r in enumerate(c["rules"]) if r not in absent]
        if len(present) != 1 or present[0] != len(c["rules"]) - 1:
            fail(f"{cname}: absent steps other than 'all absent steps first, one present step' "
                 "are not implemented by this checker")
            return []
        # Absent steps first: each present (last) step at t closes [t - timespan, t], checked when
        # the watermark passes t (so every record up to t is in, whatever its order); it fires
        # when no absent step of the group lies in that window, ends included (a scan at the
        # deployment's own instant counts). After an alert the group's window is cleared.
        absents = {}
        for sig in signals:
            if c["rules"][sig[2]] in absent:
                absents.setdefault(sig[3], []).append(sig[0])
        # Its evidence is every present-step signal of the group in the window (earlier deployments
        # that did not fire, because a scan was near them, included).
        for sig in signals:
            t, line, step, group = sig[:4]
            if c["rules"][step] in absent:
                continue
            window = groups.setdefault(group, [])
            window[:] = [s for s in window if s[0] >= t - span]
            window.append(sig)
            if not any(t - span <= ta <= t for ta in absents.get(group, [])):
                out.append(alert(group, list(window), len(present), t, t - span))
                groups[group] = []
    else:
        close_checked = (text is not None and text.has_not()) or any(
            k in cond for k in ("lt", "lte", "eq", "neq"))

        def measure(window):
            if text is not None:
                present = {c["rules"][s[2]] for s in window}
                return len(present), text.evaluate({r: (lambda ev, r=r: r in present)
                                                     for r in c["rules"]}, None)
            n = count(c, [(s[0], s[1], s[2], s[4], s[5]) for s in window])
            return n, holds(c, cond, n)

        if not close_checked:
            for sig in signals:
                t, group = sig[0], sig[3]
                window = groups.setdefault(group, [])
                window[:] = [s for s in window if s[0] >= t - span]
                window.append(sig)
                n, ok = measure(window)
                if ok:
                    out.append(alert(group, window, n, t, window[0][0]))
                    del groups[group]
        else:
            for sig in signals:
                t, group = sig[0], sig[3]
                ep = groups.get(group)
                if ep is not None and t > ep[0] + span:
                    n, ok = measure(ep[1])
                    if ok:
                        out.append(alert(group, ep[1], n, ep[0] + span, ep[0]))
                    ep = None
                if ep is None:
                    ep = groups[group] = (t, [])
                ep[1].append(sig)
            for group, (t0, window) in groups.items():
                n, ok = measure(window)
                if ok:
                    out.append(alert(group, window, n, t0 + span, t0))
    out.sort(key=lambda a: (a["_t"], a["evidence"][0]["line"]))
    for a in out:
        lines = {e["line"] for e in a["evidence"]}
        for x, y in ties:
            if x in lines and y in lines:
                fail(f"{cname}: evidence lines {x} and {y} tie in event time")
    # Suppression: alerts of a group at most `suppress` after its last emitted one are held back.
    sup = parse_span(tut["suppress"]) if "suppress" in tut else None
    last = {}
    for a in out:
        g = tuple(a["group"].values())
        a["_suppressed"] = sup is not None and g in last and a["_t"] - last[g] <= sup
        if not a["_suppressed"]:
            last[g] = a["_t"]
    return out


def parse_span(text):
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[text[-1]]
    return int(text[:-1]) * unit * 1_000_000_000


def count(c, window):
    if c["type"] == "event_count":
        return len(window)
    if c["type"] == "value_count":
        return len({s[3] for s in window if s[3] is not None})
    if c["type"] == "temporal":
        return len({s[2] for s in window})
    nxt = 0
    for s in window:
        if nxt < len(c["rules"]) and s[2] == nxt:
            nxt += 1
    return nxt


def holds(c, cond, n):
    bounds = {k: v for k, v in cond.items() if k != "field"}
    if not bounds:
        return n == len(c["rules"])
    ops = {"gt": n.__gt__, "gte": n.__ge__, "lt": n.__lt__, "lte": n.__le__, "eq": n.__eq__,
           "neq": n.__ne__}
    return all(ops[k](v) for k, v in bounds.items())


def condition_text(cond):
    names = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "==", "neq": "!="}
    parts = [f"{names[k]} {v}" for k, v in cond.items() if k != "field"]
    return " and ".join(parts) if parts else "all rules"


def compare_with_story(matches, alerts, missing):
    for name, want in STORY["matches"].items():
        got = len(matches.get(name, []))
        if got != want:
            fail(f"rule {name} matches {got} records, the story wants {want}: "
                 f"lines {[e.line for e in matches.get(name, [])]}")
    for name in matches:
        if name not in STORY["matches"] and matches[name]:
            fail(f"rule {name} is not in STORY")
    got = {}
    for a in alerts:
        got.setdefault(a["rule"], []).append((tuple(a["group"].values()), len(a["evidence"])))
    for name, want in STORY["correlations"].items():
        if got.get(name, []) != want:
            fail(f"correlation {name} gives {got.get(name, [])}, the story wants {want}")
    for name in got:
        if name not in STORY["correlations"]:
            fail(f"correlation {name} is not in STORY")
    for name, n in missing.items():
        fail(f"correlation {name}: {n} matching records lack a group-by field")


# ============================================================================================
# README block and expected.json


def readme_block(detections, correlations, matches, emits, singles, alerts, records, malformed,
                 events, late):
    out = [BEGIN, "",
           f"Generated by `check_story.py --update` from `{os.path.basename(SAMPLE)}` "
           f"({records} lines: {len(events)} events, 1 malformed line at line {malformed[0]}).",
           "Times are event times; lines are 1-based line numbers in the sample file.", "",
           "### Correlation alerts", "",
           "| # | Correlation rule | Type | Group-by | Count (condition) | Evidence records (lines) | "
           "Window start | Alert time (last evidence) |",
           "|---|---|---|---|---|---|---|---|"]
    for i, a in enumerate(alerts, 1):
        group = ", ".join(f"`{k}={v}`" for k, v in a["group"].items())
        lines = ", ".join(str(e["line"]) for e in a["evidence"])
        extra = f"; values: {', '.join(a['values'])}" if a.get("values") else ""
        out.append(f"| {i} | `{a['rule']}` ({a['level']}) | {a['type']} | {group} | "
                   f"{a['count']} ({a['condition']}{extra}) | {len(a['evidence'])} ({lines}) | "
                   f"{a['window_start']} | {a['time']} |")
    out += ["", "Evidence per correlation alert (line, event time, detection rule):", ""]
    for i, a in enumerate(alerts, 1):
        out.append(f"{i}. `{a['rule']}`: " + "; ".join(
            f"{e['line']} {e['time'][11:26]} `{e['rule']}`" for e in a["evidence"]))
    out += ["", "### Single-event alerts", "",
            "Rules that alert on their own (not referenced by a correlation, or referenced by one "
            "with `generate: true`), one alert per matching record:", "",
            "| Rule | Level | Alerts | Lines (event time) |", "|---|---|---|---|"]
    for name in detections:
        if name not in emits:
            continue
        ms = [s for s in singles if s["rule"] == name]
        lines = "; ".join(f"{s['line']} ({s['time'][11:]})" for s in ms)
        out.append(f"| `{name}` | {detections[name]['level']} | {len(ms)} | {lines} |")
    out += ["", f"Total: {len(singles)} single-event alerts and {len(alerts)} correlation alerts.",
            "", "### Building blocks (match, but raise no alert of their own)", "",
            "| Rule | Matching records | Lines |", "|---|---|---|"]
    for name in detections:
        if name in emits:
            continue
        ms = matches[name]
        out.append(f"| `{name}` | {len(ms)} | {', '.join(str(e.line) for e in ms)} |")
    out += ["", "### Late records", "",
            "Records that arrive after a record with a later event time (line: how far behind the "
            "newest event time seen so far):", "",
            ", ".join(f"{line} ({s:.3f} s)" for line, s in late) + ".", "", END]
    return "\n".join(out)


def check_readme_prose(readme, data, records, events, malformed):
    """The hand-written parts of README.md quote times and line numbers: keep them true."""
    m = re.search(r"(\d+) lines, (\d+) KB", readme)
    if not m or int(m.group(1)) != records or int(m.group(2)) != round(len(data) / 1000):
        fail(f"README.md should say '{records} lines, {round(len(data) / 1000)} KB'")
    m = re.search(r"\*\*One malformed line\*\* \(line (\d+)", readme)
    if not m or [int(m.group(1))] != malformed:
        fail(f"README.md should name the malformed line as line {malformed}")
    by_line = {e.line: format_time(e.time)[11:] for e in events}
    times = sorted(set(by_line.values()))
    prose = readme[readme.index("### Delivery quirks"):readme.index("## The rule pack")]
    for t in re.findall(r"\b(\d\d:\d\d:\d\d(?:\.\d+)?)\b", prose):
        if not any(x.startswith(t) for x in times):
            fail(f"README.md quotes {t}, which is no event time in the sample")
    # "(line N, T" and bullets that end with "(LN)": the line must carry that time.
    for line_no, t in re.findall(r"line (\d+), (\d\d:\d\d:\d\d(?:\.\d+)?)", prose):
        if not by_line.get(int(line_no), "").startswith(t):
            fail(f"README.md: line {line_no} is not at {t}")
    for bullet in re.split(r"\n(?=- |\n)", prose):
        for line_no in re.findall(r"\(L(\d+)", bullet):
            first = re.search(r"\b(\d\d:\d\d:\d\d(?:\.\d+)?)\b", bullet)
            if not first or not by_line.get(int(line_no), "").startswith(first.group(1)):
                fail(f"README.md: L{line_no} does not match the time its bullet gives")


def check_rule_tests(detections, correlations):
    """Runs the pack's rule tests (rules/pack/tests/*.test.yml, docs/rule-tests.md) through this
    checker's own matcher and correlator: a cross-check of the checker on every rule, including
    those the sample cannot exercise. Tests with records of a format the checker does not read
    (CRI and Lambda text logs, AKS, GKE) or with their own `lateness` are skipped and counted."""
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    saved = list(errors)
    for path in sorted(glob.glob(os.path.join(PACK, "**", "*.test.yml"), recursive=True)):
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        for test in doc.get("tests", []):
            under = test.get("rules", doc.get("rules")) or sorted(
                {a["rule"] for a in test.get("alerts") or []})
            tenant = test.get("tenant", doc.get("tenant"))
            events, skip = [], "lateness" in test
            for i, r in enumerate(test.get("records") or [], 1):
                if isinstance(r, str):
                    try:
                        r = json.loads(r)
                    except json.JSONDecodeError:
                        continue  # an unreadable record: a dead letter
                r = json.loads(json.dumps(r, default=str))
                try:
                    events.append(Event(i, r, tenant))
                except (ValueError, KeyError, TypeError):
                    skip = True
                    break
            if skip:
                counts["skipped"] += 1
                continue
            _, _, singles, alerts, _ = simulate(detections, correlations, events)
            got = [(a["rule"], [a["line"]]) for a in singles if a["rule"] in under]
            got += [(a["rule"], [e["line"] for e in a["evidence"]]) for a in alerts
                    if a["rule"] in under]
            ok = True
            for want in test.get("alerts") or []:
                hit = next((g for g in got if g[0] == want["rule"] and
                            ("records" not in want or sorted(g[1]) == sorted(want["records"]))), None)
                if hit is None:
                    ok = False
                else:
                    got.remove(hit)
            if got or not ok:
                counts["failed"] += 1
                saved.append(f"{os.path.relpath(path, ROOT)}: test '{test.get('name')}': this "
                             f"checker disagrees (expected {test.get('alerts')}, got {got})")
            else:
                counts["passed"] += 1
    errors[:] = saved
    return counts


def main():
    global jsonschema_validate
    parser = argparse.ArgumentParser(description="Check the demo rule pack and sample.")
    parser.add_argument("--update", action="store_true",
                        help="rewrite the README expected-alerts block and attack-story.expected.json")
    args = parser.parse_args()

    jsonschema_validate = make_schema_validator()
    detections, correlations = load_pack()
    data, records, events, malformed = load_sample()
    span_min, late = check_sample(data, records, events, malformed)
    matches, emits, singles, alerts, missing = simulate(detections, correlations, events)
    compare_with_story(matches, alerts, missing)
    rule_tests = check_rule_tests(detections, correlations)

    expected = {
        "sample": os.path.basename(SAMPLE),
        "records": records,
        "bytes": len(data),
        "events": len(events),
        "malformed_lines": malformed,
        "late_lines": [{"line": line, "behind_s": round(s, 6)} for line, s in late],
        "single_event_alerts": singles,
        "correlation_alerts": alerts,
        "building_block_matches": {n: [e.line for e in matches[n]] for n in detections if n not in emits},
    }
    expected_text = json.dumps(expected, indent=1) + "\n"
    block = readme_block(detections, correlations, matches, emits, singles, alerts, records,
                         malformed, events, late)
    with open(README, encoding="utf-8") as f:
        readme = f.read()
    if BEGIN not in readme or END not in readme:
        fail("README.md lacks the expected-alerts markers")
        new_readme = readme
    else:
        new_readme = readme[:readme.index(BEGIN)] + block + readme[readme.index(END) + len(END):]
        check_readme_prose(readme, data, records, events, malformed)
    if args.update:
        with open(README, "w", encoding="utf-8") as f:
            f.write(new_readme)
        with open(EXPECTED, "w", encoding="utf-8") as f:
            f.write(expected_text)
    else:
        if new_readme != readme:
            fail("README.md expected-alerts block is out of date (run with --update)")
        if not os.path.exists(EXPECTED) or open(EXPECTED, encoding="utf-8").read() != expected_text:
            fail("attack-story.expected.json is out of date (run with --update)")

    print(f"pack: {len(detections)} detection rules, {len(correlations)} correlation rules")
    print(f"sample: {records} lines, {len(data)} bytes, {len(events)} events, malformed line "
          f"{malformed}, span {span_min:.1f} min, {len(late)} late records "
          f"(max {max((s for _, s in late), default=0):.3f} s)")
    for name in detections:
        tag = "alerts" if name in emits else "block "
        print(f"  {tag} {len(matches[name]):3d}  {name}")
    present = {(e.product, e.service) for e in events}
    absent_ls = [n for n, r in detections.items()
                 if (r["logsource"].get("product"), r["logsource"].get("service")) not in present
                 and not (r["logsource"].get("service") is None and
                          any(p == r["logsource"].get("product") for p, _ in present))]
    print(f"rule tests run through this checker: {rule_tests['passed']} passed, "
          f"{rule_tests['failed']} failed, {rule_tests['skipped']} skipped (formats it does not "
          f"read, or their own lateness)")
    print(f"rules whose log source has no record in the sample (they cannot match it): "
          f"{len(absent_ls)}: {', '.join(absent_ls)}")
    print(f"rules this checker cannot evaluate (treated as not matching): "
          f"{', '.join(f'{n} ({why})' for n, why in unloaded.items()) or 'none'}")
    for a in alerts:
        print(f"  correlation {a['rule']} {a['group']} count={a['count']} evidence="
              f"{len(a['evidence'])} at {a['time']}")
    if errors:
        print(f"\n{len(errors)} problem(s):")
        for e in errors:
            print("  - " + e)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
