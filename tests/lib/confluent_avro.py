#!/usr/bin/env python3
"""confluent_avro.py: the independent client of the registry tests (tests/lib/registry.sh).

confluent-kafka's AvroSerializer / AvroDeserializer with its SchemaRegistryClient, as most
Kafka shops write and read Avro: Confluent framing (00, 4-byte schema id, datum).

  write --brokers B --topic T --registry URL --schema FILE.avsc < reports.jsonl
      one message per JSON line: key = transfer_id, timestamp = reported_at, value serialized
      with the schema (registered under T-value by the serializer)
  read --brokers B --topic T --registry URL --count N
      the first N values of T (every partition from the beginning), deserialized with the
      writer schema the registry gives, as JSON lines in the input's own form, sorted
"""
import argparse
import datetime as dt
import json
import sys

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

EPOCH = dt.date(1970, 1, 1)


def to_ms(rfc3339):
    return int(dt.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)


def to_avro(rep, fields):
    d = {k: rep.get(k) for k in fields}
    d["occurred_on"] = (dt.date.fromisoformat(rep["occurred_on"]) - EPOCH).days
    d["reported_at"] = to_ms(rep["reported_at"])
    if "inmates_by_destination" in fields:
        d["inmates_by_destination"] = rep.get("inmates_by_destination") or {}
    return d


def normalize(rec):
    """A report as the JSON input spells it, whatever the deserializer made of the logical types."""
    out = dict(rec)
    v = out["occurred_on"]
    if isinstance(v, int):
        out["occurred_on"] = (EPOCH + dt.timedelta(days=v)).isoformat()
    elif not isinstance(v, str):
        out["occurred_on"] = v.isoformat()
    v = out["reported_at"]
    out["reported_at"] = v if isinstance(v, int) else int(v.timestamp() * 1000)
    out.setdefault("inmates_by_destination", {})
    return out


def write(a):
    schema = open(a.schema, encoding="utf-8").read()
    fields = [f["name"] for f in json.loads(schema)["fields"]]
    src = SchemaRegistryClient({"url": a.registry})
    ser = AvroSerializer(src, schema, conf={"auto.register.schemas": True})
    p = Producer({"bootstrap.servers": a.brokers, "enable.idempotence": True, "linger.ms": 5})
    failed = []
    ctx = SerializationContext(a.topic, MessageField.VALUE)
    n = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        rep = json.loads(line)
        p.produce(a.topic, key=rep["transfer_id"].encode(), value=ser(to_avro(rep, fields), ctx),
                  timestamp=to_ms(rep["reported_at"]),
                  on_delivery=lambda err, msg: err and failed.append(str(err)))
        n += 1
        p.poll(0)
    left = p.flush(30)
    if left or failed:
        sys.exit("confluent_avro: %d not delivered, %d failed: %s" % (left, len(failed), failed[:3]))
    print("confluent_avro: wrote %d reports to %s" % (n, a.topic), file=sys.stderr)


def read(a):
    src = SchemaRegistryClient({"url": a.registry})
    de = AvroDeserializer(src)
    c = Consumer({"bootstrap.servers": a.brokers, "group.id": "confluent-avro-read",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    md = c.list_topics(a.topic, timeout=10).topics[a.topic]
    c.assign([TopicPartition(a.topic, p, 0) for p in md.partitions])
    ctx = SerializationContext(a.topic, MessageField.VALUE)
    out, deadline = [], dt.datetime.now() + dt.timedelta(seconds=a.timeout)
    while len(out) < a.count and dt.datetime.now() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        out.append(json.dumps(normalize(de(m.value(), ctx)), sort_keys=True, ensure_ascii=False))
    c.close()
    if len(out) < a.count:
        sys.exit("confluent_avro: read %d of %d values from %s" % (len(out), a.count, a.topic))
    for line in sorted(out):
        print(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["write", "read", "normalize"])
    ap.add_argument("--brokers")
    ap.add_argument("--topic")
    ap.add_argument("--registry")
    ap.add_argument("--schema")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    if a.cmd == "write":
        write(a)
    elif a.cmd == "read":
        read(a)
    else:  # JSON lines of reports (stdin) in the form read prints, sorted
        lines = []
        for line in sys.stdin:
            if line.strip():
                rep = json.loads(line)
                rep["reported_at"] = to_ms(rep["reported_at"])
                lines.append(json.dumps(normalize(rep), sort_keys=True, ensure_ascii=False))
        for line in sorted(lines):
            print(line)


if __name__ == "__main__":
    main()
