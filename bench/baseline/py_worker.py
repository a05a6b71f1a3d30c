#!/usr/bin/python3
"""bench/baseline/py_worker.py: the same-semantics Python worker bench/run measures handover against.

  py_worker.py -b BROKERS -t TOPIC -g GROUP -r REDIS_URL [-p PREFIX]
               [--batch-max N] [--batch-ms MS] [--decoder avro|fastavro] [--schemas DIR]

What a competent user would write in an afternoon with Debian 12's packages (python3-confluent-kafka,
python3-avro, python3-redis with python3-hiredis, python3-xxhash), keeping handover's key contract
(docs/aggregate.md) so that handover-stats, tests/lib/redis_state.py and a handover-aggregate on the
same prefix read and continue its work:

- one consumer-group member; per partition one open batch of up to --batch-max messages (5000) or
  --batch-ms (50 ms) from its first message, handover-aggregate's defaults;
- values in the single-object encoding (C3 01, CRC-64-AVRO fingerprint, datum) of the embedded
  schemas (schemas/*.avsc), validated with handover's rules for ids, countries, counts and texts;
  an invalid message is sent to TOPIC.dlq and counted in totals.rejected;
- a fold per batch: per transfer its distinct report ids and its latest report (greatest
  reported_at, then report_id);
- one pipelined watched read (WATCH layout and the fences of the batch's partition and its
  transfers' homes, GET layout, HGET offsets, HMGET transfers, HMGET transfer_ids), then one
  MULTI/EXEC with handover's writes: states, 8-byte little-endian XXH3-64 digests per transfer,
  largest_transfers, one counters script (breakdown deltas with the zero rule, date index, totals,
  first/last dates, updated_at), the offset, the layout, INCR of the fences, PUBLISH. A moved fence
  (EXEC refused) reads again; a stored offset that is neither the batch's start nor its end means
  another worker owns the partition: the batch is dropped and the partition seeks to the stored one.

Logs go to stderr. SIGTERM/SIGINT: commit the open batches, close, exit 0.
Exit status: 0 stopped by a signal, 1 a fatal error (Redis data of the wrong form, Kafka), 2 usage.
"""

import argparse
import datetime
import io
import json
import os
import signal
import sys
import time
import zlib

import avro.io
import avro.schema
import confluent_kafka as ck
import redis
import xxhash

EPOCH = datetime.date(1970, 1, 1).toordinal()
MAX_CONFLICTS = 16


def log(msg):
        sys.stderr.write("py_worker: %s\n" % msg)
        sys.stderr.flush()


# ---- the embedded schemas and the single-object encoding ----

CRC64_EMPTY = 0xc15d213aa4d7a795
CRC64_TABLE = []
for _i in range(256):
        _fp = _i
        for _ in range(8):
                _fp = (_fp >> 1) ^ (CRC64_EMPTY & -(_fp & 1))
        CRC64_TABLE.append(_fp)


def crc64_avro(data):
        fp = CRC64_EMPTY
        for b in data:
                fp = (fp >> 8) ^ CRC64_TABLE[(fp ^ b) & 0xff]
        return fp


def canonical(s, ns=""):
        """The Avro Parsing Canonical Form of a parsed schema JSON (the specification's rules)."""
        prims = ("null", "boolean", "int", "long", "float", "double", "bytes", "string")
        if isinstance(s, str):
                return json.dumps(s)
        if isinstance(s, list):
                return "[" + ",".join(canonical(x, ns) for x in s) + "]"
        t = s["type"]
        if t in prims:
                return json.dumps(t)
        if isinstance(t, (dict, list)):
                return canonical(t, ns)
        out = []
        if "name" in s:
                name = s["name"]
                ns = s.get("namespace", ns)
                if "." not in name and ns:
                        name = ns + "." + name
                ns = name.rsplit(".", 1)[0] if "." in name else ""
                out.append('"name":' + json.dumps(name))
        out.append('"type":' + json.dumps(t))
        if t == "record":
                out.append('"fields":[' + ",".join(
                        '{"name":%s,"type":%s}' % (json.dumps(f["name"]), canonical(f["type"], ns))
                        for f in s["fields"]) + "]")
        elif t == "enum":
                out.append('"symbols":' + json.dumps(s["symbols"], separators=(",", ":")))
        elif t == "array":
                out.append('"items":' + canonical(s["items"], ns))
        elif t == "map":
                out.append('"values":' + canonical(s["values"], ns))
        elif t == "fixed":
                out.append('"size":%d' % s["size"])
        return "{" + ",".join(out) + "}"


def strip_logical(s):
        """The schema without logicalType annotations: dates and times decode as their ints."""
        if isinstance(s, dict):
                return {k: strip_logical(v) for k, v in s.items() if k != "logicalType"}
        if isinstance(s, list):
                return [strip_logical(x) for x in s]
        return s


def load_schemas(d, decoder="avro"):
        """fingerprint (the 8 wire bytes) -> (version name, datum bytes -> dict)."""
        if decoder == "fastavro":
                try:
                        import fastavro
                except ImportError:
                        raise SystemExit("py_worker: error: --decoder fastavro: no module fastavro "
                                         "(Debian 12 does not package it; pip install fastavro)")
        out = {}
        for name in sorted(os.listdir(d)):
                if not name.endswith(".avsc"):
                        continue
                with open(os.path.join(d, name)) as f:
                        js = json.load(f)
                fp = crc64_avro(canonical(js).encode()).to_bytes(8, "little")
                if decoder == "fastavro":
                        sch = fastavro.parse_schema(strip_logical(js))
                        out[fp] = (name, lambda b, sch=sch: fastavro.schemaless_reader(io.BytesIO(b), sch))
                else:
                        rd = avro.io.DatumReader(avro.schema.parse(json.dumps(strip_logical(js))))
                        out[fp] = (name, lambda b, rd=rd: rd.read(avro.io.BinaryDecoder(io.BytesIO(b))))
        if not out:
                raise SystemExit("py_worker: error: no *.avsc in %s" % d)
        return out


class Invalid(Exception):
        pass


def decode(schemas, value):
        if value is None or len(value) < 10:
                raise Invalid("a value of %d bytes: expected C3 01, an 8-byte fingerprint and a datum"
                              % (0 if value is None else len(value)))
        if value[0] != 0xC3 or value[1] != 0x01:
                raise Invalid("value starts %02x %02x: expected the single-object marker C3 01"
                              % (value[0], value[1]))
        s = schemas.get(value[2:10])
        if s is None:
                raise Invalid("no known schema has fingerprint %s" % value[2:10][::-1].hex())
        try:
                r = s[1](value[10:])
        except Exception as e:  # a truncated or corrupt datum
                raise Invalid("datum does not decode with %s: %s" % (s[0], e))
        r.setdefault("inmates_by_destination", {})
        validate(r)
        return r


def _id(field, v):
        if not (1 <= len(v) <= 128) or not all(0x21 <= ord(c) <= 0x7e for c in v):
                raise Invalid("field %r: expected 1..128 visible ASCII characters (no spaces), got %r"
                              % (field, v[:64]))


def _text(field, v):
        if not v or len(v.encode("utf-8", "surrogatepass")) > 512 or "\0" in v:
                raise Invalid("field %r: expected a non-empty UTF-8 string of at most 512 bytes, got %r"
                              % (field, v[:64]))


def _count(field, v, top):
        if not 0 <= v <= top:
                raise Invalid("field %r: expected an integer 0..%d, got %d" % (field, top, v))


def validate(r):
        """handover's rules (lib/jreport.c ho_report_validate) for what the counters use."""
        _id("report_id", r["report_id"])
        _id("transfer_id", r["transfer_id"])
        _text("source", r["source"])
        for f in ("origin_country", "destination_country"):
                c = r[f]
                if len(c) != 2 or not ("A" <= c[0] <= "Z" and "A" <= c[1] <= "Z"):
                        raise Invalid("field %r: expected a country code of two upper-case letters, "
                                      "got %r" % (f, c[:16]))
        _count("inmate_count", r["inmate_count"], 100000)
        if r["aircraft_count"] is not None:
                _count("aircraft_count", r["aircraft_count"], 1000)
        if r["cumulative_total"] is not None:
                _count("cumulative_total", r["cumulative_total"], 2147483647)
        if not -719528 <= r["occurred_on"] <= 2932896:
                raise Invalid("field 'occurred_on': expected a date in years 0000..9999")
        if not -62167219200000 <= r["reported_at"] <= 253402300799999:
                raise Invalid("field 'reported_at': expected a time in years 0000..9999")
        if len(r["destinations"]) > 64:
                raise Invalid("field 'destinations': expected at most 64 cities")
        for i, c in enumerate(r["destinations"]):
                _text("destinations[%d]" % i, c)
        if r["authority"] is not None:
                _text("authority", r["authority"])
        if len(r["persons"]) > 1000:
                raise Invalid("field 'persons': expected at most 1000 persons")
        for i, p in enumerate(r["persons"]):
                _text("persons[%d].name" % i, p["name"])
                if p["affiliation"] is not None:
                        _text("persons[%d].affiliation" % i, p["affiliation"])
        if len(r["inmates_by_destination"]) > 64:
                raise Invalid("field 'inmates_by_destination': expected at most 64 cities")
        for c, n in r["inmates_by_destination"].items():
                _text("inmates_by_destination", c)
                _count("inmates_by_destination[%s]" % c, n, 100000)


# ---- states: the JSON handover writes into {P}:transfers, and back ----

def fmt_date(days):
        return datetime.date.fromordinal(EPOCH + days).isoformat()


def fmt_time(ms):
        s, m = divmod(ms, 1000)
        d, s = divmod(s, 86400)
        t = "%sT%02d:%02d:%02d" % (fmt_date(d), s // 3600, s // 60 % 60, s % 60)
        return t + (".%03dZ" % m if m else "Z")


def parse_time(t):
        days = datetime.date(int(t[0:4]), int(t[5:7]), int(t[8:10])).toordinal() - EPOCH
        ms = int(t[20:23]) if len(t) > 20 else 0
        return ((days * 86400 + int(t[11:13]) * 3600 + int(t[14:16]) * 60 + int(t[17:19])) * 1000
                + ms)


def state_dict(r, reports):
        """A decoded report as the state {P}:transfers holds (handover's field order)."""
        return {
                "report_id": r["report_id"], "transfer_id": r["transfer_id"],
                "occurred_on": fmt_date(r["occurred_on"]), "reported_at": fmt_time(r["reported_at"]),
                "source": r["source"], "origin_country": r["origin_country"],
                "destination_country": r["destination_country"], "inmate_count": r["inmate_count"],
                "aircraft_count": r["aircraft_count"], "destinations": r["destinations"],
                "cumulative_total": r["cumulative_total"], "authority": r["authority"],
                "persons": r["persons"],
                "inmates_by_destination": dict(sorted(r["inmates_by_destination"].items())),
                "reports": reports}


def dumps(o):
        return json.dumps(o, ensure_ascii=False, separators=(",", ":"))


# ---- the counters script: one per batch, its deltas as one JSON argument ----
# KEYS: totals, inmates_by_month, inmates_by_route, transfers_by_destination,
#       inmates_by_destination, persons_by_affiliation, transfers_by_date, transfer_dates
# ARGV[1]: {"f": [[KEYS index, field, delta]...], "d": [[date, days, delta]...],
#           "t": [[totals field, delta]...], "now": ms}; deltas as strings.
COUNTERS_LUA = """
local a = cjson.decode(ARGV[1])
for _, u in ipairs(a.f) do
  local k = KEYS[u[1]]
  if redis.call('HINCRBY', k, u[2], u[3]) == 0 then redis.call('HDEL', k, u[2]) end
end
for _, u in ipairs(a.d) do
  local v = redis.call('HINCRBY', KEYS[7], u[1], u[3])
  if v == 0 then
    redis.call('HDEL', KEYS[7], u[1])
    redis.call('ZREM', KEYS[8], u[1])
  elseif v == tonumber(u[3]) then
    redis.call('ZADD', KEYS[8], u[2], u[1])
  end
end
for _, u in ipairs(a.t) do redis.call('HINCRBY', KEYS[1], u[1], u[2]) end
local first = redis.call('ZRANGE', KEYS[8], 0, 0)
local final = redis.call('ZRANGE', KEYS[8], -1, -1)
redis.call('HSET', KEYS[1], 'first_transfer_on', first[1] or '', 'last_transfer_on',
           final[1] or '', 'updated_at', a.now)
return 'ok'
"""
COUNTER_KEYS = ["totals", "inmates_by_month", "inmates_by_route", "transfers_by_destination",
                "inmates_by_destination", "persons_by_affiliation", "transfers_by_date",
                "transfer_dates"]
TOTALS = ("transfers", "inmates", "reports", "aircraft", "persons", "rejected")


class Delta:
        def __init__(self):
                self.totals = dict.fromkeys(TOTALS, 0)
                self.fields = {}  # (KEYS index, field) -> delta
                self.dates = {}   # YYYY-MM-DD -> delta

        def add(self, k, f, v):
                self.fields[(k, f)] = self.fields.get((k, f), 0) + v

        def contrib(self, r, s):
                """r: a state dict as state_json writes it (dates as strings)."""
                n = r["inmate_count"]
                t = self.totals
                t["transfers"] += s
                t["inmates"] += s * n
                t["aircraft"] += s * (r["aircraft_count"] or 0)
                t["persons"] += s * len(r["persons"])
                date = r["occurred_on"]
                self.add(2, date[:7], s * n)
                self.add(3, r["origin_country"] + "-" + r["destination_country"], s * n)
                for c in set(r["destinations"]):
                        self.add(4, c, s)
                for c, k in r["inmates_by_destination"].items():
                        self.add(5, c, s * k)
                for p in r["persons"]:
                        self.add(6, p["affiliation"] or "unknown", s)
                self.dates[date] = self.dates.get(date, 0) + s

        def script_arg(self, now):
                f = [[k, fld, str(v)] for (k, fld), v in self.fields.items() if v]
                d = [[day, datetime.date.fromisoformat(day).toordinal() - EPOCH, str(v)]
                     for day, v in self.dates.items() if v]
                t = [[name, str(v)] for name, v in self.totals.items()]
                return json.dumps({"f": f, "d": d, "t": t, "now": str(now)}, ensure_ascii=False,
                                  separators=(",", ":"))


class DataError(Exception):
        """Redis holds something this worker did not write: not retriable."""


class Fenced(Exception):
        pass


class Engine:
        def __init__(self, url, prefix, topic):
                # One connection, its requests packed by redis-py and parsed by hiredis: a WATCH
                # holds per connection, and redis-py's Pipeline would send WATCH on its own (an
                # extra round trip) and UNWATCH when it is released.
                self.pool = redis.ConnectionPool.from_url(url, socket_timeout=30)
                self.conn = None
                self.topic = topic
                k = lambda n: "{%s}:%s" % (prefix, n)
                self.k = k
                self.counter_keys = [k(n) for n in COUNTER_KEYS]
                self.layout_key = k("layout")
                self.channel = k("updates")
                self.layout = 0

        def pipe(self, cmds):
                """Send cmds in one write, read every reply; error replies are returned, not
                raised. A lost connection raises redis.ConnectionError (the caller retries)."""
                if self.conn is None:
                        self.conn = self.pool.get_connection("pipeline")
                try:
                        self.conn.send_packed_command(self.conn.pack_commands(cmds))
                        out = []
                        for _ in cmds:
                                try:
                                        out.append(self.conn.read_response())
                                except redis.ResponseError as e:
                                        out.append(e)
                        return out
                except (redis.ConnectionError, redis.TimeoutError, OSError):
                        self.conn.disconnect()
                        self.conn = None
                        raise

        def stored_offset(self, partition):
                v, = self.pipe([("HGET", self.k("offsets"), "%s:%d" % (self.topic, partition))])
                if isinstance(v, Exception):
                        raise v
                return None if v is None else int(v)

        def commit(self, partition, start, nxt, fold, rejected):
                """Apply one batch exactly once. fold: tid -> [latest report, {rid: digest}].
                Returns True when applied (or found applied before); raises Fenced."""
                field = "%s:%d" % (self.topic, partition)
                tids = list(fold)
                for attempt in range(MAX_CONFLICTS):
                        parts = max(self.layout, partition + 1)
                        fences = sorted({partition} | {zlib.crc32(t.encode()) % parts if parts > 1 else 0
                                                       for t in tids})
                        fence_keys = [self.k("fence:%d" % h) for h in fences]
                        cmds = [("UNWATCH",), ("WATCH", self.layout_key, *fence_keys),
                                ("GET", self.layout_key), ("HGET", self.k("offsets"), field)]
                        if tids:
                                cmds += [("HMGET", self.k("transfers"), *tids),
                                         ("HMGET", self.k("transfer_ids"), *tids)]
                        rep = self.pipe(cmds)
                        for x in rep:
                                if isinstance(x, Exception):
                                        raise DataError("redis read of the batch of %s: %s" % (field, x))
                        layout = int(rep[2]) if rep[2] is not None else 0
                        stored = int(rep[3]) if rep[3] is not None else None
                        self.layout = layout
                        if stored == nxt:
                                return True
                        if stored != start:
                                raise Fenced("batch of %s from %s is stale: the stored offset is %s"
                                             % (field, start, stored))
                        need = max(layout, partition + 1)
                        if need != parts:
                                continue
                        txn = self.build(field, nxt, fold, tids,
                                                            rep[4] if tids else [],
                                                            rep[5] if tids else [], rejected,
                                                            need if layout < need else 0, fence_keys)
                        rep = self.pipe(txn)
                        for x in rep[:-1]:
                                if isinstance(x, Exception):  # EXEC then aborts: nothing written
                                        raise DataError("redis transaction of %s: %s" % (field, x))
                        if rep[-1] is None:
                                continue  # a watched key moved: nothing written, read again
                        if isinstance(rep[-1], Exception) or any(isinstance(x, Exception) for x in rep[-1]):
                                raise DataError("the batch of %s was applied only in part (%s): the "
                                                "counters need a rebuild" % (field, rep[-1]))
                        self.layout = need
                        return True
                raise redis.RedisError("batch of %s: its transfers kept moving (%d attempts)"
                                       % (field, MAX_CONFLICTS))

        def build(self, field, nxt, fold, tids, states, digests, rejected, raise_to, fence_keys):
                delta = Delta()
                delta.totals["rejected"] += rejected
                hs_states, hs_ids, zadd = {}, {}, {}
                n_new = 0
                for tid, st, dg in zip(tids, states, digests):
                        latest, ids = fold[tid]
                        if (st is None) != (dg is None):
                                raise DataError("transfer %r has %s in transfers but %s in "
                                                "transfer_ids" % (tid, "no state" if st is None else "a state",
                                                                  "report ids" if dg else "no report ids"))
                        dg = dg or b""
                        if len(dg) % 8:
                                raise DataError("report ids of transfer %r: %d bytes, expected a "
                                                "multiple of 8" % (tid, len(dg)))
                        seen = {dg[i:i + 8] for i in range(0, len(dg), 8)}
                        new = [d for d in ids.values() if d not in seen]
                        if not new:
                                continue
                        n_new += len(new)
                        rev = len(dg) // 8 + len(new)
                        delta.totals["reports"] += len(new)
                        hs_ids[tid] = dg + b"".join(new)
                        old = None
                        if st is not None:
                                try:
                                        old = json.loads(st)
                                        old_key = (parse_time(old["reported_at"]), old["report_id"])
                                except (ValueError, KeyError, TypeError) as e:
                                        raise DataError("stored state of transfer %r does not parse: %s"
                                                        % (tid, e))
                        if old is not None and (latest["reported_at"], latest["report_id"]) <= old_key:
                                old["reports"] = rev
                                hs_states[tid] = dumps(old)
                                continue
                        cur = state_dict(latest, rev)
                        hs_states[tid] = dumps(cur)
                        if old is not None:
                                delta.contrib(old, -1)
                        delta.contrib(cur, +1)
                        if old is None or old["inmate_count"] != latest["inmate_count"]:
                                zadd[tid] = latest["inmate_count"]
                now = int(time.time() * 1000)
                t = [("MULTI",)]
                if hs_states:
                        t.append(("HSET", self.k("transfers"), *[x for kv in hs_states.items() for x in kv]))
                        t.append(("HSET", self.k("transfer_ids"), *[x for kv in hs_ids.items() for x in kv]))
                if zadd:
                        t.append(("ZADD", self.k("largest_transfers"),
                                  *[x for tid, n in zadd.items() for x in (n, tid)]))
                # EVAL, not EVALSHA: a flushed script cache cannot fail one command of the EXEC
                t.append(("EVAL", COUNTERS_LUA, len(self.counter_keys), *self.counter_keys,
                          delta.script_arg(now)))
                t.append(("HSET", self.k("offsets"), field, nxt))
                if raise_to:
                        t.append(("SET", self.layout_key, raise_to))
                t += [("INCR", fk) for fk in fence_keys]
                t.append(("PUBLISH", self.channel, json.dumps(
                        {"topic": self.topic, "partition": int(field.rsplit(":", 1)[1]), "offset": nxt,
                         "reports": n_new, "transfers": len(hs_states), "updated_at": now},
                        separators=(",", ":"))))
                t.append(("EXEC",))
                return t


class Batch:
        def __init__(self, start):
                self.start = start      # the stored offset this batch follows (None: nothing yet)
                self.fold = {}          # tid -> [latest, {rid: digest bytes}]
                self.count = 0
                self.rejected = []      # (key, value, why)
                self.first = None       # monotonic time of the first message
                self.next = None

        def add(self, schemas, msg):
                if self.first is None:
                        self.first = time.monotonic()
                self.count += 1
                self.next = msg.offset() + 1
                try:
                        r = decode(schemas, msg.value())
                except Invalid as e:
                        self.rejected.append((msg.key(), msg.value(), str(e), msg.offset()))
                        return
                tid, rid = r["transfer_id"], r["report_id"]
                x = self.fold.get(tid)
                if x is None:
                        self.fold[tid] = [r, {rid: xxhash.xxh3_64_intdigest(rid.encode()).to_bytes(8, "little")}]
                        return
                if rid in x[1]:
                        return  # a duplicate inside the batch
                x[1][rid] = xxhash.xxh3_64_intdigest(rid.encode()).to_bytes(8, "little")
                if (r["reported_at"], rid) > (x[0]["reported_at"], x[0]["report_id"]):
                        x[0] = r


def main():
        ap = argparse.ArgumentParser(prog="py_worker.py", description=__doc__.split("\n")[0])
        ap.add_argument("-b", dest="brokers", required=True)
        ap.add_argument("-t", dest="topic", required=True)
        ap.add_argument("-g", dest="group", required=True)
        ap.add_argument("-r", dest="redis", required=True)
        ap.add_argument("-p", dest="prefix", default="handover")
        ap.add_argument("--batch-max", type=int, default=5000)
        ap.add_argument("--batch-ms", type=float, default=50.0)
        ap.add_argument("--decoder", choices=("avro", "fastavro"), default="avro",
                        help="python3-avro (Debian's, default) or fastavro (from PyPI, if installed)")
        ap.add_argument("--schemas", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                         "..", "..", "schemas"))
        a = ap.parse_args()
        schemas = load_schemas(a.schemas, a.decoder)
        log("decoding with %s" % a.decoder)
        eng = Engine(a.redis, a.prefix, a.topic)
        eng.pipe([("PING",)])
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        signal.signal(signal.SIGINT, lambda *_: stop.append(1))
        batches = {}   # partition -> Batch
        pos = {}       # partition -> the stored offset (None: nothing applied yet)
        cons = ck.Consumer({"bootstrap.servers": a.brokers, "group.id": a.group,
                            "enable.auto.commit": False, "auto.offset.reset": "earliest",
                            "enable.partition.eof": False})
        dlq = ck.Producer({"bootstrap.servers": a.brokers, "enable.idempotence": True})

        def on_assign(c, tps):
                for tp in tps:
                        off = eng.stored_offset(tp.partition)
                        pos[tp.partition] = off
                        batches[tp.partition] = Batch(off)
                        tp.offset = off if off is not None else ck.OFFSET_BEGINNING
                c.assign(tps)
                log("assigned %s" % ", ".join(str(tp.partition) for tp in tps))

        def on_revoke(c, tps):
                for tp in tps:
                        batches.pop(tp.partition, None)
                        pos.pop(tp.partition, None)
                c.unassign()

        def flush(p, b):
                if not b.count:
                        return
                if b.rejected:
                        for key, value, why, off in b.rejected:
                                log("%s:%d offset %d rejected: %s" % (a.topic, p, off, why))
                                dlq.produce(a.topic + ".dlq", value=value, key=key,
                                            headers={"handover.error": why.encode()})
                        if dlq.flush(30):
                                raise SystemExit("py_worker: error: the dead-letter topic did not "
                                                 "take the batch's rejects within 30 s")
                for tries in range(1000):
                        try:
                                eng.commit(p, b.start, b.next, b.fold, len(b.rejected))
                                break
                        except Fenced as e:
                                off = eng.stored_offset(p)
                                log("%s; seeking to %s" % (e, off))
                                pos[p] = off
                                batches[p] = Batch(off)
                                cons.seek(ck.TopicPartition(a.topic, p, off if off is not None
                                                            else ck.OFFSET_BEGINNING))
                                return
                        except (redis.ConnectionError, redis.TimeoutError) as e:
                                log("redis: %s; retrying the batch" % e)
                                time.sleep(min(0.05 * (tries + 1), 1.0))
                else:
                        raise SystemExit("py_worker: error: redis kept failing for %s:%d" % (a.topic, p))
                pos[p] = b.next
                batches[p] = Batch(b.next)
                cons.commit(offsets=[ck.TopicPartition(a.topic, p, b.next)], asynchronous=True)

        cons.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke)
        age = a.batch_ms / 1000.0
        try:
                while not stop:
                        msgs = cons.consume(num_messages=a.batch_max, timeout=age / 5)
                        for m in msgs:
                                if m.error():
                                        if m.error().fatal():
                                                raise SystemExit("py_worker: error: kafka: %s" % m.error())
                                        log("kafka: %s" % m.error())
                                        continue
                                b = batches.get(m.partition())
                                if b is None:
                                        continue  # revoked meanwhile
                                b.add(schemas, m)
                                if b.count >= a.batch_max:
                                        flush(m.partition(), b)
                        now = time.monotonic()
                        for p, b in list(batches.items()):
                                if b.count and now - b.first >= age:
                                        flush(p, b)
                for p, b in list(batches.items()):
                        flush(p, b)
        except DataError as e:
                log("error: %s" % e)
                return 1
        finally:
                cons.close()
        return 0


if __name__ == "__main__":
        sys.exit(main())
