#!/usr/bin/env python3
"""Checks of the deploy/ recipes that no schema makes: that they agree with each other, with the
code and with the measurements. Run by tests/integration/deploy_recipes.sh (with PyYAML from its
venv); prints one line per problem and exits 1 when there is any.

  deploy_check.py k8s DEPLOY_DIR --bin-dir DIR --stop-bound S --bench BENCHMARKS.md
  deploy_check.py container DEPLOY_DIR --bin-dir DIR --install-deps FILE --stack FILE \
      --build-pkgs P,P.. --runtime-pkgs P,P..
"""
import argparse
import os
import re
import shlex
import sys

import yaml

problems = []


def problem(where, what):
    problems.append(f"{where}: {what}")


def mib(q):
    """A Kubernetes memory quantity in MiB."""
    m = re.fullmatch(r"([0-9.]+)(Ki|Mi|Gi|K|M|G)?", str(q))
    if not m:
        raise ValueError(f"memory quantity {q!r}")
    n = float(m.group(1))
    scale = {None: 1 / 2**20, "Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "K": 1e3 / 2**20,
             "M": 1e6 / 2**20, "G": 1e9 / 2**20}[m.group(2)]
    return n * scale


def bench_peaks(path):
    """The latest bench's peak RSS (MB) of one worker and of replay, from BENCHMARKS.md."""
    text = open(path, encoding="utf-8").read()
    w = re.search(r"^\| handover-aggregate, 1 worker \| [0-9.]+ MB \| ([0-9.]+) MB", text, re.M)
    r = re.search(r"^\| handover-replay \|[^|]*\| ([0-9.]+) MB", text, re.M)
    if not w or not r:
        problem(path, "no 'peak RSS' rows for 'handover-aggregate, 1 worker' and 'handover-replay'"
                " (the recipes' memory sizes are checked against them)")
        return None, None
    return float(w.group(1)), float(r.group(1))


def load_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def check_program(where, cmd, bin_dir):
    prog = os.path.basename(cmd[0]) if cmd else ""
    if not cmd or not cmd[0].startswith("/usr/local/bin/handover-"):
        problem(where, f"command {cmd!r} is not one of the installed programs (/usr/local/bin/handover-*)")
    elif not os.access(os.path.join(bin_dir, prog), os.X_OK):
        problem(where, f"command {cmd[0]}: no program {prog} in the build ({bin_dir})")


def check_pod(where, spec, secrets, configmaps, stop_bound, bin_dir):
    """What every handover pod needs: non-root, read-only, the grace period, known config."""
    sc = spec.get("securityContext", {})
    if not sc.get("runAsNonRoot") or not sc.get("runAsUser"):
        problem(where, "pod securityContext needs runAsNonRoot: true and a runAsUser")
    if sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problem(where, "pod securityContext needs seccompProfile RuntimeDefault")
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if grace <= stop_bound:
        problem(where, f"terminationGracePeriodSeconds {grace} is not longer than the worker's "
                f"shutdown bound ({stop_bound} s, from lib/worker.c and lib/agg.c)")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for v in volumes.values():
        if "secret" in v and v["secret"]["secretName"] not in secrets:
            problem(where, f"volume {v['name']}: no Secret {v['secret']['secretName']!r} in deploy/k8s")
    for c in spec["containers"]:
        cw = f"{where} container {c['name']}"
        check_program(cw, c.get("command", []), bin_dir)
        csc = c.get("securityContext", {})
        if not csc.get("readOnlyRootFilesystem") or csc.get("allowPrivilegeEscalation") is not False:
            problem(cw, "needs readOnlyRootFilesystem: true and allowPrivilegeEscalation: false")
        if csc.get("capabilities", {}).get("drop") != ["ALL"]:
            problem(cw, "needs capabilities: drop: [ALL]")
        limits = c.get("resources", {}).get("limits", {})
        requests = c.get("resources", {}).get("requests", {})
        if "memory" not in limits or "memory" not in requests:
            problem(cw, "needs memory requests and limits")
        env = {}
        for ef in c.get("envFrom", []):
            name = ef.get("configMapRef", {}).get("name")
            if name not in configmaps:
                problem(cw, f"envFrom: no ConfigMap {name!r} in deploy/k8s")
            else:
                env.update(configmaps[name])
        env.update({e["name"]: e.get("value") for e in c.get("env", [])})
        for k in env:
            if not k.startswith("HANDOVER_"):
                problem(cw, f"environment variable {k} is not one of the programs' HANDOVER_*")
        # the files the programs are pointed at are keys of a mounted Secret
        mounts = {m["mountPath"].rstrip("/"): volumes.get(m["name"]) for m in c.get("volumeMounts", [])}
        for k in ("HANDOVER_KAFKA_CONFIG", "HANDOVER_REDIS_PASSWORD_FILE"):
            path = env.get(k)
            if not path:
                problem(cw, f"{k} is not set")
                continue
            vol = mounts.get(os.path.dirname(path))
            if not vol or "secret" not in vol:
                problem(cw, f"{k}={path}: no Secret is mounted at {os.path.dirname(path)}")
            elif os.path.basename(path) not in secrets.get(vol["secret"]["secretName"], {}):
                problem(cw, f"{k}={path}: the Secret {vol['secret']['secretName']!r} has no key "
                        f"{os.path.basename(path)!r}")
        for k, v in env.items():
            if re.search(r"password|secret", k, re.I) and not k.endswith("_FILE"):
                problem(cw, f"{k}: a secret in the environment (mount it as a file)")
            if k == "HANDOVER_REDIS" and v and re.match(r"redis://[^@/]*:[^@/]*@", v):
                problem(cw, "HANDOVER_REDIS carries a password (use HANDOVER_REDIS_PASSWORD_FILE)")
    return limits, requests


def check_k8s(a):
    d = os.path.join(a.deploy_dir, "k8s")
    docs = {}
    for f in sorted(os.listdir(d)):
        if f.endswith(".yaml"):
            for doc in load_docs(os.path.join(d, f)):
                docs.setdefault(doc["kind"], []).append((f, doc))
    secrets = {}
    for f, s in docs.get("Secret", []):
        secrets[s["metadata"]["name"]] = set(s.get("stringData", {})) | set(s.get("data", {}))
    configmaps = {c["metadata"]["name"]: c.get("data", {}) for f, c in docs.get("ConfigMap", [])}
    worker_peak, replay_peak = bench_peaks(a.bench)

    deps = [(f, x) for f, x in docs.get("Deployment", [])
            if os.path.basename(x["spec"]["template"]["spec"]["containers"][0].get("command", [""])[0])
            == "handover-aggregate"]
    if len(deps) != 1:
        problem(d, f"expected one Deployment of handover-aggregate, found {len(deps)}")
    for f, dep in deps:
        where = f"{f} Deployment {dep['metadata']['name']}"
        tmpl = dep["spec"]["template"]
        spec = tmpl["spec"]
        limits, requests = check_pod(where, spec, secrets, configmaps, a.stop_bound, a.bin_dir)
        c = spec["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        if "metrics" not in ports:
            problem(where, "no container port named metrics")
            continue
        port = ports["metrics"]
        metrics = {e["name"]: e.get("value") for e in c.get("env", [])}.get("HANDOVER_METRICS", "")
        if not metrics.endswith(f":{port}"):
            problem(where, f"HANDOVER_METRICS {metrics!r} does not listen on the metrics port {port}")
        ann = tmpl["metadata"].get("annotations", {})
        if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") != str(port) \
                or ann.get("prometheus.io/path") != "/metrics":
            problem(where, f"pod annotations must say prometheus.io/scrape \"true\", port \"{port}\", "
                    f"path /metrics; they say {ann}")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            g = c.get(probe, {}).get("httpGet", {})
            if g.get("path") != "/healthz" or g.get("port") not in ("metrics", port):
                problem(where, f"{probe} must GET /healthz on the metrics port, not {g}")
        if worker_peak:
            if mib(limits["memory"]) < 2 * worker_peak:
                problem(where, f"memory limit {limits['memory']} is under twice the bench's worker "
                        f"peak ({worker_peak} MB)")
            if mib(requests["memory"]) < worker_peak:
                problem(where, f"memory request {requests['memory']} is under the bench's worker "
                        f"peak ({worker_peak} MB)")
        sel = dep["spec"]["selector"]["matchLabels"]
        pdbs = [p for pf, p in docs.get("PodDisruptionBudget", [])
                if p["spec"]["selector"].get("matchLabels") == sel]
        if len(pdbs) != 1:
            problem(where, f"expected one PodDisruptionBudget selecting {sel}, found {len(pdbs)}")
        if not all(tmpl["metadata"]["labels"].get(k) == v for k, v in sel.items()):
            problem(where, "the pod template's labels do not match the selector")

    jobs = docs.get("Job", [])
    if not any(os.path.basename(j["spec"]["template"]["spec"]["containers"][0]["command"][0])
               == "handover-replay" for f, j in jobs):
        problem(d, "no Job running handover-replay")
    for f, job in jobs:
        where = f"{f} Job {job['metadata']['name']}"
        spec = job["spec"]["template"]["spec"]
        limits, _ = check_pod(where, spec, secrets, configmaps, a.stop_bound, a.bin_dir)
        if spec.get("restartPolicy") != "Never":
            problem(where, "restartPolicy must be Never (a failed replay switched nothing; the Job "
                    "retries it as a new pod)")
        if replay_peak and mib(limits["memory"]) < 2 * replay_peak:
            problem(where, f"memory limit {limits['memory']} is under twice the bench's replay peak "
                    f"({replay_peak} MB)")


def dockerfile_stages(path):
    """[(FROM line, [instructions])] with continuation lines joined and comments dropped."""
    stages, cur, buf = [], None, ""
    for line in open(path, encoding="utf-8"):
        s = line.rstrip("\n")
        if not buf and (not s.strip() or s.lstrip().startswith("#")):
            continue
        if s.endswith("\\"):
            buf += s[:-1] + " "
            continue
        s, buf = buf + s, ""
        word = s.split(None, 1)[0].upper()
        if word == "FROM":
            cur = (s, [])
            stages.append(cur)
        elif cur is not None:
            cur[1].append(s)
    return stages


def apt_installs(instructions):
    pkgs = set()
    for ins in instructions:
        for part in re.split(r"&&|;", ins):
            words = shlex.split(part)
            if "apt-get" in words and "install" in words:
                pkgs |= {w for w in words[words.index("install") + 1:] if not w.startswith("-")}
    return pkgs


def install_deps_group(path, group):
    """The packages listed under '# GROUP...' in deploy/install-deps' pkgs=( ... )."""
    text = open(path, encoding="utf-8").read()
    m = re.search(r"^pkgs=\((.*?)^\)", text, re.M | re.S)
    pkgs, cur = set(), None
    for line in (m.group(1) if m else "").splitlines():
        line = line.strip()
        if line.startswith("#"):
            cur = line[1:].split(":")[0].split()[0] if line[1:].strip() else None
        elif cur == group:
            pkgs |= set(line.split("#")[0].split())
    return pkgs


def check_container(a):
    d = os.path.join(a.deploy_dir, "container")
    df = os.path.join(d, "Dockerfile")
    stages = dockerfile_stages(df)
    if len(stages) < 2:
        problem(df, "not a multi-stage build")
        return
    for frm, _ in stages:
        if not re.match(r"FROM\s+debian:12-slim(\s|$)", frm, re.I):
            problem(df, f"'{frm}': every stage must start from debian:12-slim")
    build, final = stages[0][1], stages[-1][1]
    need = install_deps_group(a.install_deps, "build")
    if not need:
        problem(a.install_deps, "no '# build' group in pkgs=( ... )")
    need |= set(filter(None, a.build_pkgs.split(",")))
    missing = need - apt_installs(build)
    if missing:
        problem(df, "the build stage does not install " + " ".join(sorted(missing)) +
                " (deploy/install-deps' build group and the -dev packages of CMakeLists.txt's "
                "pkg-config modules)")
    missing = set(filter(None, a.runtime_pkgs.split(","))) - apt_installs(final)
    if missing:
        problem(df, "the image does not install " + " ".join(sorted(missing)) +
                " (the packages of the libraries the programs link)")
    if not any(re.search(r"cmake --install \S+ --prefix /usr/local", i) for i in build):
        problem(df, "the build stage does not 'cmake --install ... --prefix /usr/local'")
    if not any(re.match(r"COPY\s+--from=\S+\s+/usr/local/bin/?\s+/usr/local/bin/?$", i) for i in final):
        problem(df, "the image does not COPY --from the build stage's /usr/local/bin")
    users = [i.split()[1] for i in final if i.split()[0].upper() == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problem(df, "the image must end with a non-root USER")
    cmd = [i for i in final if i.split()[0].upper() in ("CMD", "ENTRYPOINT")]
    if cmd:
        check_program(df, yaml.safe_load(cmd[-1].split(None, 1)[1]), a.bin_dir)

    cf = os.path.join(d, "compose.yaml")
    with open(cf, encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    kafka_version = re.search(r"^KAFKA_VERSION=\$\{HO_KAFKA_VERSION:-([0-9.]+)\}", open(a.stack).read(), re.M)
    images = {n: s.get("image", "") for n, s in compose["services"].items()}
    if not kafka_version:
        problem(a.stack, "no KAFKA_VERSION=${HO_KAFKA_VERSION:-X} line")
    elif f"apache/kafka:{kafka_version.group(1)}" not in images.values():
        problem(cf, f"no service runs apache/kafka:{kafka_version.group(1)}, the local stack's "
                f"Kafka (images: {sorted(set(images.values()))})")
    if not any(re.fullmatch(r"redis:7(\.[0-9.]+)?", i) for i in images.values()):
        problem(cf, "no service runs redis:7")
    for n, s in compose["services"].items():
        where = f"{cf} service {n}"
        if "build" in s:
            ctx = os.path.normpath(os.path.join(d, s["build"]["context"]))
            if not os.path.isfile(os.path.join(ctx, s["build"]["dockerfile"])):
                problem(where, f"build: no {s['build']['dockerfile']} in {ctx}")
        for p in s.get("ports", []):
            if not str(p).startswith("127.0.0.1:"):
                problem(where, f"port {p} is published beyond 127.0.0.1")
        if s.get("image", "").startswith("handover:"):
            if "command" in s:
                check_program(where, s["command"], a.bin_dir)
            if not s.get("read_only") or s.get("cap_drop") != ["ALL"]:
                problem(where, "handover containers run read_only with cap_drop [ALL]")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["k8s", "container"])
    ap.add_argument("deploy_dir")
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--stop-bound", type=float, default=0)
    ap.add_argument("--bench")
    ap.add_argument("--install-deps")
    ap.add_argument("--stack")
    ap.add_argument("--build-pkgs", default="")
    ap.add_argument("--runtime-pkgs", default="")
    a = ap.parse_args()
    try:
        (check_k8s if a.what == "k8s" else check_container)(a)
    except (KeyError, IndexError, TypeError, ValueError, yaml.YAMLError) as e:
        problem(a.deploy_dir, f"{a.what}: unexpected structure: {type(e).__name__}: {e}")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
