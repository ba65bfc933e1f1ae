#!/usr/bin/env python3
"""Checks the bundled demo: the rule pack, the sample stream, and what Tuttle should alert on.

1. Validates every rule under rules/pack/ (YAML parses, required attributes, UUIDv4 ids and
   snake_case names unique across the pack, only the Sigma features Tuttle supports, correlation
   references resolve to exactly one detection rule, no correlation of correlations), and against
   the Sigma JSON schemas when ../shared/sigma/spec is present and jsonschema is installed.
2. Checks the sample: size, record count, one malformed line, event-time span and lateness, and
   that generate_attack_story.py reproduces it byte for byte.
3. Evaluates the detection rules on every record with a small Sigma matcher (the subset in the
   pack: field maps, lists, modifiers contains/startswith/endswith/all/re/exists/cased, wildcards,
   and/or/not/1 of/all of conditions), then replays the correlation rules with the engine's window
   semantics (engine/src/correlator.cc: signals in event-time order; a group's window holds its
   signals of the last `timespan`, both ends inclusive; when the condition holds one alert fires
   with every signal in the window as evidence, and the group's window is cleared).
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
    # detection rule -> number of records it matches
    "matches": {
        "k8s_api_request_forbidden": 15,  # 10 recon + 1 stolen-token denial + 4 benign singles
        "k8s_pod_exec_or_attach": 2,
        "k8s_serviceaccount_secret_access": 3,
        "k8s_clusterrolebinding_cluster_admin": 1,
        "k8s_privileged_pod_created": 1,
        "k8s_pod_sensitive_hostpath_mount": 1,
        "k8s_pod_created_in_kube_system_by_user": 1,
        "k8s_secrets_listed_cluster_wide": 2,
        "falco_terminal_shell_in_container": 2,
        "falco_read_serviceaccount_token": 1,
        "falco_drop_and_execute_new_binary": 1,
        "falco_cryptominer_activity": 5,
        "aws_api_access_denied": 11,  # 8 enumeration + 3 benign singles
        "aws_lambda_function_code_updated": 2,
        "aws_lambda_permission_public_principal": 1,
        "aws_lambda_function_url_public": 1,
        "tuttle_contract_violation": 0,  # needs --contracts (docs/contracts.md); none here
    },
    # correlation -> [(group values, evidence records)]
    "correlations": {
        "mr_k8s_forbidden_request_burst": [(("dev-alice",), 8)],
        "mr_k8s_exec_shell_then_serviceaccount_secrets": [(("payments",), 3)],
        "mr_k8s_cluster_admin_binding_and_privileged_pod": [(("dev-alice",), 2)],
        "mr_aws_lambda_code_update_then_public_permission": [
            (("arn:aws:iam::418277365921:user/ci-lambda-deployer",), 2)],
        "mr_aws_access_denied_enumeration": [(("203.0.113.45",), 5)],
    },
}

SUPPORTED_MODIFIERS = {"contains", "startswith", "endswith", "all", "re", "exists", "cased"}
CORRELATION_TYPES = {"event_count", "value_count", "temporal", "temporal_ordered"}
CONDITION_KEYS = {"gt", "gte", "lt", "lte", "eq", "neq", "field"}
LEVELS = {"informational", "low", "medium", "high", "critical"}
STATUSES = {"stable", "test", "experimental", "deprecated", "unsupported"}
LOGSOURCES = {("kubernetes", "audit"), ("falco", None), ("aws", "cloudtrail"),
              ("tuttle", "contracts")}
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
FILE_NAME = re.compile(r"^[a-z0-9_]{10,70}\.yml$")
TAG = re.compile(r"^[a-z0-9_-]+\.[a-z0-9._-]+$")
DATE = re.compile(r"^\d{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$")
TIMESPAN = re.compile(r"^[1-9][0-9]*[smhd]$")

errors = []


def fail(msg):
    errors.append(msg)


# ============================================================================================
# Rule pack


def load_pack():
    detections, correlations, names = {}, {}, {}
    ids = {}
    for path in sorted(glob.glob(os.path.join(PACK, "**", "*.yml"), recursive=True)):
        rel = os.path.relpath(path, ROOT)
        if path.endswith(".test.yml"):  # rule tests (docs/rule-tests.md), not rules
            continue
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
    if set(c) - {"type", "rules", "group-by", "timespan", "condition", "aliases"}:
        fail(f"{rel}: unexpected keys in correlation: {sorted(set(c) - {'type'})}")
    if c.get("type") not in CORRELATION_TYPES:
        fail(f"{rel}: correlation type {c.get('type')} not supported")
    for ref in c.get("rules", []):
        if ref in correlations:
            fail(f"{rel}: references correlation {ref} (not supported)")
        elif ref not in detections:
            fail(f"{rel}: references unknown rule {ref}")
    if len(set(c.get("rules", []))) != len(c.get("rules", [])):
        fail(f"{rel}: a rule is referenced twice")
    if not c.get("group-by"):
        fail(f"{rel}: group-by is required")
    if not TIMESPAN.match(str(c.get("timespan", ""))):
        fail(f"{rel}: bad timespan")
    cond = c.get("condition")
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


class FieldTest:
    def __init__(self, key, value):
        parts = key.split("|")
        self.field, self.mods = parts[0], parts[1:]
        values = value if isinstance(value, list) else [value]
        self.all = "all" in self.mods
        self.tests = [self._compile(v) for v in values]

    def _compile(self, v):
        m = self.mods
        if "exists" in m:
            return lambda vals, v=v: (len(vals) > 0) == bool(v)
        if "re" in m:
            rx = re.compile(v)  # Sigma regexes are case-sensitive
            return lambda vals: any(isinstance(x, str) and rx.search(x) for x in vals)
        if v is None:
            return lambda vals: not vals or any(x is None for x in vals)
        if isinstance(v, bool):
            return lambda vals: any(isinstance(x, bool) and x == v for x in vals)
        if isinstance(v, (int, float)):
            return lambda vals: any((not isinstance(x, bool)) and
                                    ((isinstance(x, (int, float)) and x == v) or
                                     (isinstance(x, str) and x == str(v))) for x in vals)
        pattern = wildcard_regex(str(v), "contains" in m or "endswith" in m,
                                 "contains" in m or "startswith" in m)
        rx = re.compile(pattern, re.S | (0 if "cased" in m else re.I))

        def test(vals):
            for x in vals:
                if isinstance(x, bool) or x is None or isinstance(x, (dict, list)):
                    continue
                if rx.match(x if isinstance(x, str) else json.dumps(x)):
                    return True
            return False

        return test

    def __call__(self, event):
        vals = resolve(event, self.field)
        results = (t(vals) for t in self.tests)
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
        return self.condition.evaluate(self.ids, event.record)


# ============================================================================================
# The sample


def parse_time(text):
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$", text)
    if not m:
        raise ValueError(f"bad timestamp {text}")
    base = dt.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)
    frac = (m.group(2) or "").ljust(9, "0")
    return int(base.timestamp()) * 1_000_000_000 + int(frac or 0)


class Event:
    def __init__(self, line_no, record):
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
        else:
            raise ValueError("unknown record shape")
        self.time = parse_time(self.time_text)


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


def simulate(detections, correlations, events):
    matchers = {name: Matcher(rule) for name, rule in detections.items()}
    matches = {name: [e for e in events if m(e)] for name, m in matchers.items()}

    referenced, generated = set(), set()
    for rule in correlations.values():
        for ref in rule["correlation"]["rules"]:
            referenced.add(ref)
            if rule.get("generate", False):
                generated.add(ref)
    emits = {n for n in detections if n not in referenced or n in generated}

    singles = []
    for name in detections:
        if name in emits:
            for e in matches[name]:
                singles.append({"rule": name, "level": detections[name]["level"], "line": e.line,
                                "time": e.time_text, "format": e.format})
    singles.sort(key=lambda a: (parse_time(a["time"]), a["line"], a["rule"]))

    alerts, missing = [], {}
    for cname, rule in correlations.items():
        c = rule["correlation"]
        aliases = c.get("aliases") or {}
        span = parse_span(c["timespan"])
        cond = c.get("condition") or {}
        signals = []
        for step, ref in enumerate(c["rules"]):
            for e in matches[ref]:
                group = []
                for g in c["group-by"]:
                    path = aliases[g][ref] if g in aliases else g
                    vals = resolve(e.record, path)
                    if len(vals) > 1:
                        fail(f"{cname}: line {e.line}: group-by {path} has {len(vals)} values")
                    group.append(vals[0] if vals and isinstance(vals[0], str) else None)
                if None in group:
                    missing[cname] = missing.get(cname, 0) + 1
                    continue
                value = None
                if c["type"] == "value_count":
                    vals = resolve(e.record, cond["field"])
                    value = vals[0] if vals else None
                signals.append((e.time, e.line, step, tuple(group), value, ref))
        signals.sort(key=lambda s: (s[0], s[1], s[2]))
        # Ties in event time are broken by a record hash in the engine: make sure none matter.
        seen = {}
        for s in signals:
            key = (s[3], s[0])
            if key in seen and seen[key] != s[1]:
                fail(f"{cname}: lines {seen[key]} and {s[1]} tie in event time in group {s[3]}")
            seen[key] = s[1]
        groups = {}
        for t, line, step, group, value, ref in signals:
            window = groups.setdefault(group, [])
            window[:] = [s for s in window if s[0] >= t - span]
            window.append((t, line, step, value, ref))
            n = count(c, window)
            if holds(c, cond, n):
                alerts.append({
                    "rule": cname, "type": c["type"], "level": rule["level"],
                    "group": dict(zip(c["group-by"], group)), "count": n,
                    "condition": condition_text(cond),
                    "window_start": format_time(window[0][0]), "time": format_time(window[-1][0]),
                    "values": sorted({s[3] for s in window if s[3] is not None})
                    if c["type"] == "value_count" else None,
                    "evidence": [{"line": s[1], "time": format_time(s[0]), "rule": s[4]}
                                 for s in window],
                })
                del groups[group]
    alerts.sort(key=lambda a: (a["time"], a["rule"]))
    for a in alerts:
        if a["values"] is None:
            del a["values"]
    return matches, emits, singles, alerts, missing


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
        if name not in STORY["matches"]:
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
