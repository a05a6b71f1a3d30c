#!/usr/bin/env python3
"""tests/lib/redis_state.py: dump a prefix's counters from Redis in the truth format.

  redis_state.py --redis URL --prefix P [--ns NS] [--out FILE]
  redis_state.py --redis URL --prefix P [--ns NS] --load TRUTH.json   (tests of this tool)

Reads the public keys "{P}:" NS NAME (totals, inmates_by_month, inmates_by_route,
transfers_by_destination, inmates_by_destination, persons_by_affiliation,
largest_transfers, transfers) and prints one JSON object in the format that
bench/gen --truth writes, so tests/lib/compare_state.py can compare the two:
totals without updated_at, counts as integers, transfers reduced to report_id,
reports, inmate_count and occurred_on. Missing keys give empty objects; a
missing totals field is simply absent (compare_state.py then names it).

URL: redis://[user:password@]host[:port][/db], unix:///path/to.sock[?db=N], or
redis+cluster://[user:password@]host:port[,host:port...] for a Redis Cluster: the
prefix's keys all hash to the slot of P (their {P} tag), so the tool asks a seed's
CLUSTER SLOTS for that slot's master and follows MOVED from there (its own CRC16,
written from the specification apart from handover's lib/rcluster.c).
Standard library only: a minimal RESP2 client over a socket (AUTH, SELECT,
HSCAN, ZRANGE ... WITHSCORES), so tests need nothing installed.
Exit status: 0 ok, 1 Redis error or unreachable, 2 usage.
"""

import argparse
import json
import socket
import sys
import urllib.parse


class RedisError(Exception):
        pass


class Resp:
        """A blocking RESP2 connection: call(*args) returns str/int/list/None."""

        def __init__(self, url, timeout=10.0):
                u = urllib.parse.urlsplit(url)
                db = 0
                if u.scheme == "redis":
                        host = u.hostname or "127.0.0.1"
                        port = u.port or 6379
                        self.where = "%s:%d" % (host, port)
                        self.sock = socket.create_connection((host, port), timeout=timeout)
                        path = u.path.strip("/")
                        if path:
                                if not path.isdigit():
                                        raise RedisError("url %r: database %r is not a number"
                                                         % (redact(url), path))
                                db = int(path)
                elif u.scheme == "unix":
                        self.where = u.path
                        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                        self.sock.settimeout(timeout)
                        self.sock.connect(u.path)
                        qs = urllib.parse.parse_qs(u.query)
                        if "db" in qs:
                                db = int(qs["db"][0])
                else:
                        raise RedisError("url %r: expected redis://host:port[/db] or unix:///path"
                                         % redact(url))
                self.f = self.sock.makefile("rb")
                if u.password is not None:
                        pw = urllib.parse.unquote(u.password)
                        if u.username:
                                self.call("AUTH", urllib.parse.unquote(u.username), pw)
                        else:
                                self.call("AUTH", pw)
                if db:
                        self.call("SELECT", str(db))

        def call(self, *args):
                self.sock.sendall(encode(args))
                return self._read()

        def _line(self):
                line = self.f.readline()
                if not line.endswith(b"\r\n"):
                        raise RedisError("connection to %s closed mid-reply" % self.where)
                return line[:-2]

        def _read(self):
                line = self._line()
                t, rest = line[:1], line[1:]
                if t == b"+":
                        return rest.decode("utf-8")
                if t == b"-":
                        raise RedisError(rest.decode("utf-8", "replace"))
                if t == b":":
                        return int(rest)
                if t == b"$":
                        n = int(rest)
                        if n < 0:
                                return None
                        data = self.f.read(n + 2)
                        if len(data) != n + 2:
                                raise RedisError("connection to %s closed mid-reply" % self.where)
                        return data[:-2].decode("utf-8")
                if t == b"*":
                        n = int(rest)
                        if n < 0:
                                return None
                        return [self._read() for _ in range(n)]
                raise RedisError("unexpected reply type %r from %s" % (t, self.where))


def crc16(data):
        """CRC16-CCITT (XModem), the Redis Cluster key hash: b"123456789" -> 0x31C3."""
        crc = 0
        for byte in data:
                crc ^= byte << 8
                for _ in range(8):
                        crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
                        crc &= 0xFFFF
        return crc


def key_slot(key):
        k = key.encode("utf-8")
        s = k.find(b"{")
        if s >= 0:
                e = k.find(b"}", s + 1)
                if e > s + 1:
                        k = k[s + 1:e]
        return crc16(k) % 16384


def connect(url, prefix):
        """A connection serving the prefix's keys: the URL's server, or on a cluster the
        master of the slot of {prefix}."""
        if not url.startswith("redis+cluster://"):
                return Resp(url)
        rest = url[len("redis+cluster://"):]
        auth, _, seeds = rest.rpartition("@")
        seeds = seeds.split("/", 1)[0]
        base = "redis://" + (auth + "@" if auth else "")
        key = "{%s}:totals" % prefix
        slot = key_slot(key)
        errors = []
        for seed in seeds.split(","):
                try:
                        r = Resp(base + seed)
                        owner = None
                        for rng in r.call("CLUSTER", "SLOTS"):
                                if rng[0] <= slot <= rng[1]:
                                        owner = "%s:%d" % (rng[2][0] or seed.rsplit(":", 1)[0],
                                                           rng[2][1])
                        if owner is None:
                                raise RedisError("no node serves slot %d" % slot)
                        for _ in range(5):
                                r = Resp(base + owner)
                                try:
                                        r.call("EXISTS", key)
                                        return r
                                except RedisError as e:
                                        if not str(e).startswith("MOVED "):
                                                raise
                                        owner = str(e).split()[2]
                        raise RedisError("slot %d: too many MOVED" % slot)
                except (OSError, RedisError) as e:
                        errors.append("%s: %s" % (seed, e))
        raise RedisError("no seed could say who serves slot %d: %s" % (slot, "; ".join(errors)))


def hscan_all(r, key):
        out, cursor = {}, "0"
        while True:
                cursor, items = r.call("HSCAN", key, cursor, "COUNT", "1000")
                for i in range(0, len(items), 2):
                        out[items[i]] = items[i + 1]
                if cursor == "0":
                        return out


def as_int(key, field, v):
        try:
                f = float(v)
        except ValueError:
                raise RedisError("%s field %r: expected a number, got %r" % (key, field, v))
        if f != int(f):
                raise RedisError("%s field %r: expected an integer, got %r" % (key, field, v))
        return int(f)


BREAKDOWNS = ["inmates_by_month", "inmates_by_route", "transfers_by_destination",
              "inmates_by_destination", "persons_by_affiliation"]
DATE_FIELDS = ("first_transfer_on", "last_transfer_on")


def dump(r, prefix, ns):
        def key(name):
                return "{%s}:%s%s" % (prefix, ns, name)

        state = {}
        totals = {}
        k = key("totals")
        for f, v in hscan_all(r, k).items():
                if f == "updated_at":
                        continue
                totals[f] = v if f in DATE_FIELDS else as_int(k, f, v)
        state["totals"] = {f: totals[f] for f in sorted(totals)}
        for name in BREAKDOWNS:
                k = key(name)
                h = hscan_all(r, k)
                state[name] = {f: as_int(k, f, h[f]) for f in sorted(h)}
        k = key("largest_transfers")
        z = r.call("ZRANGE", k, "0", "-1", "WITHSCORES")
        largest = {}
        for i in range(0, len(z), 2):
                largest[z[i]] = as_int(k, z[i], z[i + 1])
        state["largest_transfers"] = {t: largest[t] for t in sorted(largest)}
        k = key("transfers")
        transfers = {}
        for tid, text in hscan_all(r, k).items():
                try:
                        s = json.loads(text)
                except ValueError as e:
                        raise RedisError("%s field %r: not JSON (%s): %.80s" % (k, tid, e, text))
                if not isinstance(s, dict):
                        raise RedisError("%s field %r: expected a JSON object" % (k, tid))
                transfers[tid] = {f: s[f] for f in ("report_id", "reports", "inmate_count",
                                                     "occurred_on") if f in s}
        state["transfers"] = {t: transfers[t] for t in sorted(transfers)}
        return state


def load(r, prefix, ns, state):
        """Write a truth into the keys, as the aggregator lays them out (for testing this
        tool and compare_state.py against a real Redis, never for tests of handover)."""
        def key(name):
                return "{%s}:%s%s" % (prefix, ns, name)

        def pipeline(cmds):
                for i in range(0, len(cmds), 1000):
                        chunk = cmds[i:i + 1000]
                        r.sock.sendall(b"".join(encode(c) for c in chunk))
                        for _ in chunk:
                                r._read()

        cmds = [["DEL"] + [key(n) for n in ["totals", "largest_transfers", "transfers"] + BREAKDOWNS]]
        t = dict(state["totals"], updated_at=0)
        cmds.append(["HSET", key("totals")] + [x for f in t for x in (f, t[f])])
        for name in BREAKDOWNS:
                for f, v in state[name].items():
                        cmds.append(["HSET", key(name), f, v])
        for tid, n in state["largest_transfers"].items():
                cmds.append(["ZADD", key("largest_transfers"), n, tid])
        for tid, s in state["transfers"].items():
                cmds.append(["HSET", key("transfers"), tid, json.dumps(dict(s, transfer_id=tid))])
        pipeline(cmds)


def encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
                b = a if isinstance(a, bytes) else str(a).encode("utf-8")
                out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        return b"".join(out)


def redact(url):
        """The URL without its password, for messages."""
        if url.startswith("redis+cluster://"):
                rest = url[len("redis+cluster://"):]
                auth, at, seeds = rest.rpartition("@")
                return url if not at else "redis+cluster://%s:***@%s" % (auth.split(":", 1)[0], seeds)
        u = urllib.parse.urlsplit(url)
        if u.password is None:
                return url
        host = u.netloc.rsplit("@", 1)[1]
        return urllib.parse.urlunsplit((u.scheme, "%s:***@%s" % (u.username or "", host),
                                        u.path, u.query, u.fragment))


def main():
        ap = argparse.ArgumentParser(prog="redis_state.py",
                                     description="Dump a prefix's counters in the truth format.",
                                     epilog="Exit status: 0 ok, 1 Redis error, 2 usage.")
        ap.add_argument("--redis", required=True, help="redis://[user:pw@]host:port[/db]")
        ap.add_argument("--prefix", required=True, help="key prefix P (keys are {P}:NAME)")
        ap.add_argument("--ns", default="", help="namespace after {P}:, e.g. staging:")
        ap.add_argument("--out", help="write here instead of standard output")
        ap.add_argument("--load", metavar="TRUTH.json",
                        help="instead: write a truth into the keys (to test these tools)")
        args = ap.parse_args()
        try:
                r = connect(args.redis, args.prefix)
                if args.load:
                        with open(args.load, encoding="utf-8") as f:
                                load(r, args.prefix, args.ns, json.load(f))
                        return 0
                state = dump(r, args.prefix, args.ns)
        except (OSError, RedisError, ValueError, KeyError) as e:
                sys.stderr.write("redis_state.py: redis %s prefix %r: %s\n"
                                 % (redact(args.redis), args.prefix, e))
                return 1
        text = json.dumps(state, ensure_ascii=False, indent=1) + "\n"
        if args.out:
                with open(args.out, "w", encoding="utf-8") as f:
                        f.write(text)
        else:
                sys.stdout.write(text)
        return 0


if __name__ == "__main__":
        sys.exit(main())
