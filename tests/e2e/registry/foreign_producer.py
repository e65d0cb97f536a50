"""A producer that is not ours: confluent-kafka's Producer with its AvroSerializer and
SchemaRegistryClient, writing the JSONL records of incentivectl's format (one
{"type": ..., fields...} object per line) to the input topics with the registry's ids.

usage: foreign_producer.py REGISTRY_URL BOOTSTRAP FILE.jsonl [--ids IDS.json]
       foreign_producer.py --cached IDS.json BOOTSTRAP FILE.jsonl
       foreign_producer.py --raw-id ID BOOTSTRAP TOPIC KEY

The topics come from PI_TOPIC_SALES, PI_TOPIC_REGISTRATIONS, PI_TOPIC_SURVEYS,
PI_TOPIC_APPROVALS. --ids writes the schema id the serializer used per type; --cached
writes with those ids and fastavro alone, no registry (the registry may be down);
--raw-id writes one record framed with ID and a few bytes (an id no registry has).
Keys are the partner_id, partitioned with murmur2 like Kafka's Java clients."""
import io
import json
import os
import struct
import sys

import fastavro
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = os.path.join(HERE, "..", "..", "..", "schemas")
TYPES = {
    "sale": ("SaleEvent", "PI_TOPIC_SALES"),
    "registration": ("RegistrationEvent", "PI_TOPIC_REGISTRATIONS"),
    "survey": ("SurveyEvent", "PI_TOPIC_SURVEYS"),
    "approval": ("ApprovalEvent", "PI_TOPIC_APPROVALS"),
}


def schema_text(record):
    with open(os.path.join(SCHEMAS, record + ".avsc")) as f:
        return f.read()


def producer(bootstrap):
    return Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random",
                     "enable.idempotence": True, "linger.ms": 5})


RAW_TOPICS = {"sales": "PI_TOPIC_SALES", "registrations": "PI_TOPIC_REGISTRATIONS",
              "surveys": "PI_TOPIC_SURVEYS", "approvals": "PI_TOPIC_APPROVALS"}


def records(path):
    """(type, record, partition) per line: partition None (from the key) but for a
    {"raw_topic", "key", "partition", "event"} line (a MISPARTITIONED record); and
    (None, (topic, key, bytes, None), None) for a {"raw_topic", "key", "hex"} line, whose
    bytes go out unchanged (the bad records of the pipeline test)."""
    with open(path) as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                if "hex" in rec:
                    yield None, (os.environ[RAW_TOPICS[rec["raw_topic"]]], rec["key"],
                                 bytes.fromhex(rec["hex"]), None), None
                    continue
                part = None
                if "event" in rec:
                    part, rec = rec["partition"], rec["event"]
                kind = rec.pop("type")
                yield kind, rec, part


def send_all(p, items):
    errors = []
    for topic, key, value, part in items:
        extra = {} if part is None else {"partition": part}
        p.produce(topic, key=key.encode(), value=value, **extra,
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
        p.poll(0)
    p.flush(60)
    if errors:
        sys.exit(f"foreign_producer: delivery failed: {errors[0]}")


def main(argv):
    if argv[1] == "--raw-id":
        rid, bootstrap, topic, key = int(argv[2]), argv[3], argv[4], argv[5]
        send_all(producer(bootstrap), [(topic, key, b"\0" + struct.pack(">I", rid) + b"\2x", None)])
        return
    if argv[1] == "--cached":
        ids = json.load(open(argv[2]))
        bootstrap, path = argv[3], argv[4]
        items = []
        for kind, rec, part in records(path):
            if kind is None:
                items.append(rec)
                continue
            record, env = TYPES[kind]
            parsed = fastavro.parse_schema(json.loads(schema_text(record)))
            buf = io.BytesIO()
            fastavro.schemaless_writer(buf, parsed, rec)
            items.append((os.environ[env], rec["partner_id"],
                          b"\0" + struct.pack(">I", ids[kind]) + buf.getvalue(), part))
        send_all(producer(bootstrap), items)
        return
    url, bootstrap, path = argv[1], argv[2], argv[3]
    ids_out = argv[5] if len(argv) > 5 and argv[4] == "--ids" else None
    client = SchemaRegistryClient({"url": url})
    serializers, items, ids = {}, [], {}
    for kind, rec, part in records(path):
        if kind is None:
            items.append(rec)
            continue
        record, env = TYPES[kind]
        topic = os.environ[env]
        if kind not in serializers:
            serializers[kind] = AvroSerializer(client, schema_text(record))
        value = serializers[kind](rec, SerializationContext(topic, MessageField.VALUE))
        ids[kind] = struct.unpack(">I", value[1:5])[0]
        items.append((topic, rec["partner_id"], value, part))
    send_all(producer(bootstrap), items)
    if ids_out:
        old = json.load(open(ids_out)) if os.path.exists(ids_out) else {}
        old.update(ids)
        json.dump(old, open(ids_out, "w"))


if __name__ == "__main__":
    main(sys.argv)
