#!/usr/bin/env python3
"""bench/benchkit.py: the measuring parts of bench/run (standard library only).

  benchkit.py run -- CMD...            run CMD; print {"seconds", "rc", "maxrss_kb"}
  benchkit.py kcat-input FRAMED JSONL OUT
                                       framed values (handover-schema encode) plus the
                                       keys from JSONL -> one file for `kcat -P -l`:
                                       key KDELIM value DDELIM ...; prints the two
                                       delimiters as kcat's \\xNN strings
  benchkit.py agg --workers K --redis URL --prefix P --total N --small S [--timeout T]
                  --log-dir DIR -- WORKER_CMD...
                                       start K workers, time them from start until
                                       the sum of {P}:offsets reaches N, read each
                                       worker's VmHWM when S and when N reports are
                                       done, SIGTERM them; print JSON
  benchkit.py report --dir RUNDIR ...   the table, results.json and BENCHMARKS.md from the
                                       per-step JSON files of bench/run
  benchkit.py latency --produce CMD --redis URL --prefix P --rate R --seconds S
                                       feed CMD's standard input one new report every
                                       1/R s and time each until its transfer is in
                                       {P}:largest_transfers; print JSON (p50, p99)

Every mode prints one JSON object on stdout; diagnostics go to stderr.
Exit status: 0 ok, 1 failure (a timeout, a process that died), 2 usage.
"""

import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
from redis_state import Resp, encode  # noqa: E402


def die(msg, code=1):
        sys.stderr.write("benchkit: %s\n" % msg)
        sys.exit(code)


def vm_hwm_kb(pid):
        """Peak resident set (VmHWM) of a live process, in kB; None once it is gone."""
        try:
                with open("/proc/%d/status" % pid) as f:
                        for line in f:
                                if line.startswith("VmHWM:"):
                                        return int(line.split()[1])
        except OSError:
                return None
        return None


CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid):
        """User + system CPU seconds of a live process (its threads included); None once gone."""
        try:
                with open("/proc/%d/stat" % pid) as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / CLK_TCK
        except (OSError, IndexError, ValueError):
                return None


def port_pid(port):
        """The pid listening on 127.0.0.1:port (ss from iproute2), or None."""
        try:
                out = subprocess.run(["ss", "-ltnpH", "sport = :%d" % port], capture_output=True,
                                     text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
                return None
        i = out.find("pid=")
        if i < 0:
                return None
        return int(out[i + 4:].split(",", 1)[0])


class Probe:
        """CPU of Redis (INFO cpu) and of the broker (/proc), Redis's per-command time (INFO
        commandstats) and memory, read before and after a step: the cost per report of each
        process, the steadier figure on shared cores."""

        def __init__(self, r, broker_port):
                self.r = r
                self.broker = port_pid(broker_port) if broker_port else None

        def info(self, section):
                text = self.r.call("INFO", section)
                if isinstance(text, bytes):
                        text = text.decode()
                out = {}
                for line in text.split("\r\n"):
                        if ":" in line and not line.startswith("#"):
                                k, v = line.split(":", 1)
                                out[k] = v
                return out

        def snap(self):
                cpu = self.info("cpu")
                mem = self.info("memory")
                cmds = {}
                for k, v in self.info("commandstats").items():
                        if k.startswith("cmdstat_"):
                                f = dict(x.split("=") for x in v.split(","))
                                cmds[k[8:]] = (int(f["calls"]), int(f["usec"]))
                return {"redis_cpu": float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]),
                        "broker_cpu": proc_cpu_s(self.broker) if self.broker else None,
                        "used_memory": int(mem["used_memory"]), "cmds": cmds}

        @staticmethod
        def diff(a, b, reports):
                """Per-report figures between snapshots a and b (microseconds, bytes)."""
                us = lambda s: round(s * 1e6 / reports, 2) if reports and s is not None else None
                cmds = {}
                for k, (calls, usec) in b["cmds"].items():
                        c0, u0 = a["cmds"].get(k, (0, 0))
                        if usec - u0 > 0:
                                cmds[k] = {"calls": calls - c0, "us_per_report": round((usec - u0) / reports, 3)}
                return {"redis_cpu_us_per_report": us(b["redis_cpu"] - a["redis_cpu"]),
                        "broker_cpu_us_per_report": us(b["broker_cpu"] - a["broker_cpu"])
                        if a["broker_cpu"] is not None and b["broker_cpu"] is not None else None,
                        "redis_memory_bytes_per_report": round((b["used_memory"] - a["used_memory"]) / reports, 1)
                        if reports else None,
                        "redis_commands": dict(sorted(cmds.items(), key=lambda kv: -kv[1]["us_per_report"])[:6])}


PERF = ["perf", "record", "--call-graph", "dwarf,16384", "-F", "499", "-q"]


class Pid:
        def __init__(self, pid):
                self.pid = pid


def child_pid(pid, timeout=5.0):
        """The first child of pid (the program perf record runs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
                try:
                        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                                kids = f.read().split()
                        if kids:
                                return int(kids[0])
                except OSError:
                        pass
                time.sleep(0.01)
        die("process %d (perf) started no program within %.0f s" % (pid, timeout))


def cmd_run(argv):
        o, cmd = parse_opts(argv, {"--redis": str, "--broker-port": int, "--reports": int})
        if not cmd:
                die("usage: benchkit.py run [--redis URL --reports N [--broker-port P]] -- CMD...", 2)
        probe = Probe(Resp(o["redis"]), o.get("broker_port")) if o.get("redis") else None
        snap0 = probe.snap() if probe else None
        t0 = time.monotonic()
        rc = subprocess.call(cmd)
        dt = time.monotonic() - t0
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = {"seconds": round(dt, 4), "rc": rc, "maxrss_kb": ru.ru_maxrss,
               "cpu_s": round(ru.ru_utime + ru.ru_stime, 3)}
        if probe and o.get("reports"):
                out["cpu_us_per_report"] = round((ru.ru_utime + ru.ru_stime) * 1e6 / o["reports"], 2)
                out["cost"] = Probe.diff(snap0, probe.snap(), o["reports"])
        print(json.dumps(out))
        return 0


def cmd_kcat_input(argv):
        if len(argv) != 3:
                die("usage: benchkit.py kcat-input FRAMED JSONL OUT", 2)
        framed, jsonl, out = argv
        with open(framed, "rb") as f:
                data = f.read()
        keys = []
        with open(jsonl, "rb") as f:
                for line in f:
                        if line.strip():
                                keys.append(json.loads(line)["transfer_id"].encode("utf-8"))
        values, pos = [], 0
        while pos < len(data):
                if pos + 4 > len(data):
                        die("%s: ends inside a length" % framed)
                n = int.from_bytes(data[pos:pos + 4], "big")
                values.append(data[pos + 4:pos + 4 + n])
                pos += 4 + n
        if len(values) != len(keys):
                die("%s has %d values but %s has %d reports" % (framed, len(values), jsonl, len(keys)))
        # Delimiters that occur in no key and no value: kcat splits on them, so an
        # occurrence would cut a message. Checked, not hoped.
        kdelim, ddelim = b"\xa7\x3c\x91\x0e\xd5\x62\xf0\x1b", b"\xfe\x17\x88\xc3\x5d\x04\xb9\xe6"
        for v in values:
                if kdelim in v or ddelim in v:
                        die("a delimiter occurs in a value; pick others")
        with open(out, "wb") as f:
                f.write(b"".join(k + kdelim + v + ddelim for k, v in zip(keys, values)))

        def esc(b):
                return "".join("\\x%02x" % c for c in b)

        print(json.dumps({"records": len(values), "value_bytes": sum(map(len, values)),
                          "key_delim": esc(kdelim), "msg_delim": esc(ddelim)}))
        return 0


def parse_opts(argv, spec):
        """Tiny option parser: spec maps --name to a converter; '--' ends options."""
        opts, i = {}, 0
        while i < len(argv):
                a = argv[i]
                if a == "--":
                        return opts, argv[i + 1:]
                if a not in spec or i + 1 >= len(argv):
                        die("unknown or incomplete option %r" % a, 2)
                opts[a[2:].replace("-", "_")] = spec[a](argv[i + 1])
                i += 2
        return opts, []


def offsets_sum(r, prefix):
        vals = r.call("HVALS", "{%s}:offsets" % prefix) or []
        return sum(int(v) for v in vals)


def cmd_agg(argv):
        o, cmd = parse_opts(argv, {"--workers": int, "--redis": str, "--prefix": str, "--total": int,
                                   "--small": int, "--timeout": float, "--log-dir": str,
                                   "--perf": str, "--broker-port": int})
        for k in ("workers", "redis", "prefix", "total", "small", "log_dir"):
                if k not in o:
                        die("agg needs --%s" % k.replace("_", "-"), 2)
        if not cmd:
                die("agg needs -- WORKER_CMD...", 2)
        r = Resp(o["redis"])
        probe = Probe(r, o.get("broker_port"))
        snap0 = probe.snap()
        procs = []
        t0 = time.monotonic()
        for i in range(o["workers"]):
                log = open(os.path.join(o["log_dir"], "%s.w%d.log" % (o["prefix"], i)), "wb")
                wcmd = cmd
                if o.get("perf"):
                        wcmd = PERF + ["-o", os.path.join(o["perf"], "%s.w%d.perf" % (o["prefix"], i)),
                                       "--"] + cmd
                procs.append(subprocess.Popen(wcmd, stderr=log, stdout=log))
        # under perf, the worker is perf's child: memory and signals are for it
        workers = procs
        if o.get("perf"):
                workers = [Pid(child_pid(p.pid)) for p in procs]
        hwm_small = None
        curve = []  # (reports done, [VmHWM kB per worker]) at each tenth of the total
        t_first = t_small = t_done = None
        deadline = t0 + o.get("timeout", 1800.0)
        done = 0
        try:
                while True:
                        done = offsets_sum(r, o["prefix"])
                        now = time.monotonic()
                        if done > 0 and t_first is None:
                                t_first = now
                        while len(curve) < 10 and done >= (len(curve) + 1) * o["total"] // 10:
                                curve.append((done, [vm_hwm_kb(p.pid) for p in workers]))
                        if hwm_small is None and done >= o["small"]:
                                t_small = now
                                hwm_small = [vm_hwm_kb(p.pid) for p in workers]
                        if done >= o["total"]:
                                t_done = now
                                break
                        for p in procs:
                                if p.poll() is not None:
                                        die("worker %d exited %d after %d of %d reports"
                                            % (p.pid, p.returncode, done, o["total"]))
                        if now > deadline:
                                die("workers did %d of %d reports in %.0f s" % (done, o["total"], now - t0))
                        time.sleep(0.02)
                hwm_final = [vm_hwm_kb(p.pid) for p in workers]
                worker_cpu = [proc_cpu_s(p.pid) for p in workers]
                snap1 = probe.snap()
        finally:
                for p, w in zip(procs, workers):
                        if p.poll() is None:
                                try:
                                        os.kill(w.pid, signal.SIGTERM)
                                except OSError:
                                        pass
                rcs = []
                for p in procs:
                        try:
                                rcs.append(p.wait(timeout=20))
                        except subprocess.TimeoutExpired:
                                p.kill()
                                rcs.append(p.wait())
        print(json.dumps({
                "workers": o["workers"], "reports": done, "seconds": round(t_done - t0, 4),
                "seconds_after_first_batch": round(t_done - t_first, 4),
                "seconds_to_small": round(t_small - t0, 4) if t_small else None,
                "vmhwm_kb_small": hwm_small, "vmhwm_kb_final": hwm_final,
                "vmhwm_kb_by_tenth": curve, "exit_codes": rcs,
                "worker_cpu_us_per_report": [round(c * 1e6 / done, 2) if c is not None else None
                                             for c in worker_cpu],
                "cost": Probe.diff(snap0, snap1, done)}))
        return 0 if all(rc == 0 for rc in rcs) else 1


LAT_LINE = ('{"report_id":"%s","transfer_id":"%s","occurred_on":"2026-01-20",'
            '"reported_at":"%s","source":"bench","origin_country":"MX",'
            '"destination_country":"US","inmate_count":1,"aircraft_count":null,'
            '"destinations":["Washington"],"cumulative_total":null,"authority":null,'
            '"persons":[]}\n')


def now_rfc3339():
        t = time.time()
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


def cmd_latency(argv):
        o, _ = parse_opts(argv, {"--produce": str, "--redis": str, "--prefix": str, "--rate": float,
                                 "--seconds": float, "--warmup": int, "--tag": str,
                                 "--partitions": int})
        for k in ("produce", "redis", "prefix", "rate", "seconds", "partitions"):
                if k not in o:
                        die("latency needs --%s" % k, 2)
        rate, total = o["rate"], int(o["rate"] * o["seconds"])
        warmup = o.get("warmup", 200)
        tag = o.get("tag", "lat")
        parts = o["partitions"]
        zkey = "{%s}:largest_transfers" % o["prefix"]
        prod = subprocess.Popen(o["produce"], shell=True, stdin=subprocess.PIPE)
        q = Resp(o["redis"])
        sub = Resp(o["redis"])
        sub.sock.sendall(encode(["SUBSCRIBE", "{%s}:updates" % o["prefix"]]))
        sub.sock.setblocking(False)

        # Pending reports per partition, in the order they were sent: the one
        # producer keeps that order in each partition (librdkafka's default
        # partitioner puts a key on CRC-32(key) mod partitions), and the worker
        # applies a partition's offsets in order, so what is visible of a
        # partition is a prefix of its queue. A look finds that prefix's end
        # with a few probes and checks every report it pops, so it costs
        # O(log pending + newly visible), not a lookup of everything pending.
        lock = threading.Lock()
        queues = [[] for _ in range(parts)]  # (tid, send time, measured)
        heads = [0] * parts
        lat = {}       # tid -> seconds, measured reports only
        state = {"sent": 0, "error": None}

        def n_pending():
                return sum(len(queues[p]) - heads[p] for p in range(parts))

        def send(i, measured):
                tid = "%s-%07d" % (tag, i)
                line = LAT_LINE % ("r" + tid, tid, now_rfc3339())
                with lock:
                        queues[zlib.crc32(tid.encode()) % parts].append(
                                (tid, time.monotonic(), measured))
                prod.stdin.write(line.encode())
                prod.stdin.flush()

        def look():
                with lock:
                        spans = [(p, heads[p], len(queues[p])) for p in range(parts)
                                 if heads[p] < len(queues[p])]
                if not spans:
                        return
                # probes at head, head+1, head+3, head+7, ...: the first one not
                # visible bounds the prefix
                probes = []
                for p, h, n in spans:
                        step = 1
                        while h + step - 1 < n:
                                probes.append((p, h + step - 1))
                                step *= 2
                        if h + step // 2 - 1 < n - 1:
                                probes.append((p, n - 1))
                scores = q.call("ZMSCORE", zkey, *[queues[p][i][0] for p, i in probes])
                bound = {p: n for p, h, n in spans}
                for (p, i), sc in zip(probes, scores):
                        if sc is None and i < bound[p]:
                                bound[p] = i + 1
                check = []
                for p, h, n in spans:
                        check.extend((p, i) for i in range(h, bound[p]))
                if not check:
                        return
                scores = q.call("ZMSCORE", zkey, *[queues[p][i][0] for p, i in check])
                now = time.monotonic()
                stopped = set()
                with lock:
                        for (p, i), sc in zip(check, scores):
                                if p in stopped or sc is None:
                                        stopped.add(p)
                                        continue
                                tid, t_sent, measured = queues[p][i]
                                if measured:
                                        lat[tid] = now - t_sent
                                heads[p] = i + 1

        def sender():
                try:
                        for i in range(warmup):
                                send(i, False)
                        # the worker has joined and the path is warm once these are visible
                        t_wait = time.monotonic() + 60
                        while True:
                                with lock:
                                        if not n_pending():
                                                break
                                if time.monotonic() > t_wait:
                                        state["error"] = "warm-up reports not visible within 60 s"
                                        return
                                time.sleep(0.01)
                        t0 = time.monotonic()
                        for i in range(total):
                                due = t0 + i / rate
                                d = due - time.monotonic()
                                if d > 0:
                                        time.sleep(d)
                                send(warmup + i, True)
                                state["sent"] += 1
                        state["send_seconds"] = time.monotonic() - t0
                except (BrokenPipeError, OSError) as e:
                        state["error"] = "handover-produce stopped reading: %s" % e

        th = threading.Thread(target=sender, daemon=True)
        th.start()
        deadline = None
        last_look = 0.0
        while True:
                # wake on an update message (the engine publishes one in each batch's
                # transaction) and look; without one, look every 50 ms
                updated = False
                try:
                        select.select([sub.sock], [], [], 0.05)
                        while True:
                                if not sub.sock.recv(65536):
                                        die("redis closed the subscription")
                                updated = True
                except BlockingIOError:
                        pass
                if updated or time.monotonic() - last_look >= 0.05:
                        last_look = time.monotonic()
                        look()
                if state["error"]:
                        break
                if not th.is_alive():
                        if deadline is None:
                                deadline = time.monotonic() + 30
                        with lock:
                                if not n_pending() or time.monotonic() > deadline:
                                        break
        prod.stdin.close()
        prod_rc = prod.wait()
        if state["error"]:
                die(state["error"])
        v = sorted(lat.values())
        if not v:
                die("no report became visible")

        def pct(p):
                return round(v[min(len(v) - 1, int(p / 100.0 * len(v)))] * 1000, 2)

        print(json.dumps({"rate": rate, "sent": state["sent"], "visible": len(v),
                          "missing": state["sent"] - len(v),
                          "send_seconds": round(state.get("send_seconds", 0), 3),
                          "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99),
                          "max_ms": round(v[-1] * 1000, 2), "produce_rc": prod_rc}))
        return 0 if len(v) == state["sent"] and prod_rc == 0 else 1


def load(d, name):
        """A step's JSON, or None when the step did not run."""
        try:
                with open(os.path.join(d, name)) as f:
                        return json.load(f)
        except FileNotFoundError:
                return None


def cmd_report(argv):
        o, _ = parse_opts(argv, {"--dir": str, "--n": int, "--transfers": int, "--small": int,
                                 "--seed": int, "--partitions": int, "--machine": json.loads,
                                 "--command": str, "--commit": str, "--versions": str,
                                 "--json": str, "--md": str})
        d, n, small = o["dir"], o["n"], o["small"]

        def rate(sec):
                return round(n / sec) if sec else None

        def exact(name):
                try:
                        with open(os.path.join(d, name + ".exact")) as f:
                                return f.read().strip() == "true"
                except OSError:
                        return None

        def mb(kb):
                return None if kb is None else round(kb / 1024.0, 1)

        def fmt_rate(x):
                return "{:,}".format(x) if x is not None else "?"

        hp, kp = load(d, "produce.json"), load(d, "kcat_produce.json")
        k1, k2 = load(d, "kcat_consume_1.json"), load(d, "kcat_consume_2.json")
        a1, a2 = load(d, "aggregate_1.json"), load(d, "aggregate_2.json")
        rp, lat = load(d, "replay.json"), load(d, "latency.json")
        py = load(d, "python_1.json")  # bench/baseline/py_worker.py, --steps ...,python
        try:
                with open(os.path.join(d, "latency_worker.hwm")) as f:
                        lat_hwm = int(f.read().strip())
        except (OSError, ValueError):
                lat_hwm = None
        res = {
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "command": o["command"], "commit": o["commit"], "machine": o["machine"],
                "versions": o["versions"].strip(),
                "reports": n, "transfers": o["transfers"], "seed": o["seed"],
                "partitions": o["partitions"],
        }
        targets = {}
        rows, notes, mem_rows = [], [], []
        exacts = {}
        if hp and kp:
                # rounds: produce.json/kcat_produce.json, then produce_rN.json/kcat_produce_rN.json
                rounds = [(hp, kp)]
                for r in range(2, 100):
                        h, k = load(d, "produce_r%d.json" % r), load(d, "kcat_produce_r%d.json" % r)
                        if not (h and k):
                                break
                        rounds.append((h, k))
                ratios = [k["seconds"] / h["seconds"] for h, k in rounds]
                mid = sorted(range(len(rounds)), key=lambda i: ratios[i])[len(rounds) // 2]
                hm, km = rounds[mid]
                res["produce"] = {
                        "handover_produce": {"seconds": hm["seconds"], "reports_per_s": rate(hm["seconds"]),
                                             "peak_rss_mb": mb(max(h["maxrss_kb"] for h, _ in rounds))},
                        "kcat_P": {"seconds": km["seconds"], "reports_per_s": rate(km["seconds"])},
                        "ratio": round(ratios[mid], 3),
                        "rounds": [{"handover_produce_s": h["seconds"], "kcat_P_s": k["seconds"],
                                    "ratio": round(x, 3)} for (h, k), x in zip(rounds, ratios)]}
                targets["produce_ge_50pct_of_kcat_P"] = res["produce"]["ratio"] >= 0.5
                rows.append(("produce", "handover-produce (JSON lines)", fmt_rate(rate(hm["seconds"])),
                             "kcat -P (pre-encoded)", fmt_rate(rate(km["seconds"])),
                             "%.2f" % res["produce"]["ratio"]))
                if len(rounds) > 1:
                        notes.append("Produce: %d rounds in alternating order (odd rounds handover-produce "
                                     "first), ratios %s; the table shows the median round." % (
                                             len(rounds), ", ".join("%.2f" % x for x in ratios)))
                mem_rows.append("| handover-produce | | %s MB | |" % res["produce"]["handover_produce"]["peak_rss_mb"])
        if k1 and a1 and a2:
                ag = res["aggregate"] = {"kcat_C": {"seconds": k1["seconds"],
                                                    "reports_per_s": rate(k1["seconds"])}}
                for k, a in ((1, a1), (2, a2)):
                        ag["workers_%d" % k] = {
                                "seconds": a["seconds"], "reports_per_s": rate(a["seconds"]),
                                "seconds_after_first_batch": a["seconds_after_first_batch"],
                                "peak_rss_mb_at_%d" % small: [mb(x) for x in a["vmhwm_kb_small"] or []],
                                "peak_rss_mb_at_%d" % n: [mb(x) for x in a["vmhwm_kb_final"]],
                                "peak_rss_mb_by_tenth": [[c[0], [mb(x) for x in c[1]]]
                                                         for c in a.get("vmhwm_kb_by_tenth", [])],
                                "exact": exact("aggregate_%d" % k)}
                        ag["ratio_%d" % k] = round(k1["seconds"] / a["seconds"], 3)
                        exacts["%d worker%s" % (k, "s" if k > 1 else "")] = exact("aggregate_%d" % k)
                        rows.append(("aggregate", "%d worker%s, topic full -> final" % (k, "s" if k > 1 else ""),
                                     fmt_rate(rate(a["seconds"])), "kcat -C -e",
                                     fmt_rate(rate(k1["seconds"])), "%.2f" % ag["ratio_%d" % k]))
                targets["aggregate_1_worker_ge_50pct_of_kcat_C"] = ag["ratio_1"] >= 0.5
                notes.append("Aggregate times run from starting the worker processes to the last offset "
                             "in Redis; of that, start-up to the first applied batch (joining the group) "
                             "took %.1f s with 1 worker and %.1f s with 2." % (
                                     a1["seconds"] - a1["seconds_after_first_batch"],
                                     a2["seconds"] - a2["seconds_after_first_batch"]))
                s_kb = (a1["vmhwm_kb_small"] or [None])[0]
                f_kb = a1["vmhwm_kb_final"][0]
                growth = round(100.0 * (f_kb - s_kb) / s_kb, 1) if s_kb and f_kb else None
                res["memory"] = {"worker_peak_rss_mb_at_%d" % small: mb(s_kb),
                                 "worker_peak_rss_mb_at_%d" % n: mb(f_kb), "growth_pct": growth}
                targets["worker_memory_flat_within_10pct"] = growth is not None and abs(growth) <= 10
                targets["worker_memory_lt_64mb"] = f_kb is not None and f_kb < 64 * 1024
                mem_rows[:0] = [
                        "| handover-aggregate, 1 worker | %s MB | %s MB | %s%% |" % (mb(s_kb), mb(f_kb), growth),
                        "| handover-aggregate, 1 worker, at each tenth | %s | | |"
                        % " ".join("%s" % mb(c[1][0]) for c in a1.get("vmhwm_kb_by_tenth", [])),
                        "| handover-aggregate, 2 workers | | %s MB | |"
                        % " / ".join(str(mb(x)) for x in a2["vmhwm_kb_final"])]
        if py:
                try:
                        with open(os.path.join(d, "python_1.decoder")) as f:
                                decoder = f.read().strip()
                except OSError:
                        decoder = "?"
                pw = res["python_worker"] = {"decoder": decoder,
                        "seconds": py["seconds"], "reports_per_s": rate(py["seconds"]),
                        "seconds_after_first_batch": py["seconds_after_first_batch"],
                        "peak_rss_mb_at_%d" % n: [mb(x) for x in py["vmhwm_kb_final"]],
                        "exact": exact("python_1")}
                exacts["python worker"] = exact("python_1")
                if a1:
                        # handover's 1-worker rate over the Python worker's: their time ratio
                        pw["ratio_aggregate_1_worker_over_python"] = round(py["seconds"] / a1["seconds"], 2)
                        targets["aggregate_1_worker_ge_10x_python_worker"] = \
                                pw["ratio_aggregate_1_worker_over_python"] >= 10
                        rows.append(("aggregate", "1 worker, topic full -> final", fmt_rate(rate(a1["seconds"])),
                                     "python worker (bench/baseline/py_worker.py, %s)" % decoder,
                                     fmt_rate(rate(py["seconds"])),
                                     "%.2f" % pw["ratio_aggregate_1_worker_over_python"]))
                elif k1:
                        pw["ratio_to_kcat_C"] = round(k1["seconds"] / py["seconds"], 3)
                        rows.append(("python", "python worker (bench/baseline/py_worker.py, %s)" % decoder,
                                     fmt_rate(rate(py["seconds"])), "kcat -C -e", fmt_rate(rate(k1["seconds"])),
                                     "%.2f" % pw["ratio_to_kcat_C"]))
                mem_rows.append("| python worker (bench/baseline, %s) | | %s MB | |" % (decoder, mb(py["vmhwm_kb_final"][0])))
        if k2 and rp:
                res["replay"] = {
                        "kcat_C": {"seconds": k2["seconds"], "reports_per_s": rate(k2["seconds"])},
                        "handover_replay": {"seconds": rp["seconds"], "reports_per_s": rate(rp["seconds"]),
                                            "peak_rss_mb": mb(rp["maxrss_kb"]), "exact": exact("replay")},
                        "ratio": round(k2["seconds"] / rp["seconds"], 3)}
                exacts["replay"] = exact("replay")
                rows.append(("replay", "handover-replay, full rebuild", fmt_rate(rate(rp["seconds"])),
                             "kcat -C -e", fmt_rate(rate(k2["seconds"])), "%.2f" % res["replay"]["ratio"]))
                mem_rows.append("| handover-replay | | %s MB | |" % mb(rp["maxrss_kb"]))
        if lat:
                res["latency"] = dict(lat, worker_peak_rss_mb=mb(lat_hwm))
                targets["latency_p99_lt_50ms"] = lat["p99_ms"] < 50
                mem_rows.append("| handover-aggregate, latency run | | %s MB | |" % mb(lat_hwm))
        # CPU per report per process, Redis's time per command, Redis memory per report
        cost_rows = []
        if res.get("produce") and hm.get("cost") and km.get("cost"):
                # the median round's pair; Redis is idle here, so its column is the probe's own cost
                for name, h in (("produce, handover-produce", hm), ("produce, kcat -P (baseline)", km)):
                        c = h["cost"]
                        cost_rows.append((name, "%.2f" % h["cpu_us_per_report"], c["redis_cpu_us_per_report"],
                                          c["broker_cpu_us_per_report"], None, {}))
        for name, a in (("aggregate, 1 worker", a1), ("aggregate, 2 workers", a2),
                        ("python worker, 1 worker", py)):
                if a and a.get("cost"):
                        c = a["cost"]
                        cost_rows.append((name, " + ".join("%.2f" % x for x in a["worker_cpu_us_per_report"]
                                                           if x is not None),
                                          c["redis_cpu_us_per_report"], c["broker_cpu_us_per_report"],
                                          c["redis_memory_bytes_per_report"], c["redis_commands"]))
        if rp and rp.get("cost"):
                c = rp["cost"]
                cost_rows.append(("replay, full rebuild", "%.2f" % rp["cpu_us_per_report"],
                                  c["redis_cpu_us_per_report"], c["broker_cpu_us_per_report"],
                                  c["redis_memory_bytes_per_report"], c["redis_commands"]))
        if cost_rows:
                res["cost_per_report"] = {r[0]: {"program_cpu_us": r[1], "redis_cpu_us": r[2],
                                                 "broker_cpu_us": r[3], "redis_memory_bytes": r[4],
                                                 "redis_commands": r[5]} for r in cost_rows}
                a1c = (a1 or {}).get("cost")
                if a1c:
                        targets["redis_cpu_le_1.5us_per_report"] = a1c["redis_cpu_us_per_report"] <= 1.5
                        w = (a1.get("worker_cpu_us_per_report") or [None])[0]
                        if w is not None:
                                targets["worker_cpu_le_2.5us_per_report"] = w <= 2.5
        res["targets"] = targets
        res["exact"] = exacts
        with open(o["json"], "w") as f:
                json.dump(res, f, indent=1)
                f.write("\n")

        lines = []
        if rows:
                lines += ["| step | handover | reports/s | baseline | reports/s | ratio |",
                          "|---|---|---:|---|---:|---:|"]
                lines += ["| %s | %s | %s | %s | %s | %s |" % r for r in rows]
        for note in notes:
                lines += ["", note]
        if lat:
                lines += ["", "| latency at %d reports/s (%d reports) | p50 | p90 | p99 | max |"
                          % (lat["rate"], lat["sent"]), "|---|---:|---:|---:|---:|",
                          "| produce -> visible in Redis | %.1f ms | %.1f ms | %.1f ms | %.1f ms |"
                          % (lat["p50_ms"], lat["p90_ms"], lat["p99_ms"], lat["max_ms"])]
        if cost_rows:
                lines += ["", "| CPU and memory per report | handover (µs) | redis-server (µs) | broker (µs) "
                          "| Redis memory (B) | Redis time by command (µs per report) |",
                          "|---|---:|---:|---:|---:|---|"]
                for r in cost_rows:
                        lines.append("| %s | %s | %s | %s | %s | %s |" % (
                                r[0], r[1], r[2], r[3] if r[3] is not None else "?",
                                r[4] if r[4] is not None else "-",
                                ", ".join("%s %.2f" % (k, v["us_per_report"]) for k, v in r[5].items())))
        if mem_rows:
                lines += ["", "| peak RSS (VmHWM) | after %s reports | after %s reports | growth |" %
                          ("{:,}".format(small), "{:,}".format(n)), "|---|---:|---:|---:|"] + mem_rows
        if exacts:
                lines += ["", "Every state equal to the ground truth: %s (%s)." % (
                        "yes" if all(exacts.values()) else "NO",
                        ", ".join("%s: %s" % kv for kv in exacts.items()))]
        lines += ["", "Targets: " + ", ".join("%s %s" % (k, "met" if v else "NOT met")
                                              for k, v in targets.items()) + "."]
        table = "\n".join(lines)
        print(table)
        if o.get("md"):
                mc = res["machine"]
                md = ["# Benchmarks", "",
                      "The latest `bench/run` (see [docs/bench.md](docs/bench.md) for what each step "
                      "measures and how). Ratios are handover's rate over the raw baseline measured in "
                      "the same run on the same broker; wall times alone mean little on a shared machine.", "",
                      "- command: `%s`" % res["command"],
                      "- date: %s, commit %s" % (res["date"], res["commit"]),
                      "- machine: %s cores, %s, %s MB RAM, Linux %s; load average %s at the "
                      "start, %s at the end (1, 5, 15 min)"
                      % (mc["nproc"], mc["cpu"], mc["ram_mb"], mc["kernel"],
                         mc.get("loadavg_at_start", "?"), " ".join(mc.get("loadavg_at_end", "?"))),
                      "- history: %s reports over %s transfers (seed %d), %d partitions, one Kafka 3.9 "
                      "broker and one redis-server on loopback (deploy/local/stack)"
                      % ("{:,}".format(n), "{:,}".format(o["transfers"]), o["seed"], o["partitions"]),
                      "- versions: %s" % res["versions"], "", table, ""]
                with open(o["md"], "w") as f:
                        f.write("\n".join(md))
        return 0


def main():
        if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
                sys.stdout.write(__doc__)
                return 0 if len(sys.argv) >= 2 else 2
        mode, argv = sys.argv[1], sys.argv[2:]
        modes = {"run": cmd_run, "kcat-input": cmd_kcat_input, "agg": cmd_agg,
                 "latency": cmd_latency, "report": cmd_report}
        if mode not in modes:
                die("unknown mode %r (run, kcat-input, agg, latency, report)" % mode, 2)
        try:
                return modes[mode](argv)
        except OSError as e:
                die(str(e))


if __name__ == "__main__":
        sys.exit(main())
