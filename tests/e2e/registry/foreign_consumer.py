"""A consumer that is not ours: confluent-kafka's Consumer (read_committed) with its
AvroDeserializer, which resolves every record's schema id at the registry. Prints each
record of TOPIC as one JSON line (keys sorted, timestamp-millis as epoch milliseconds),
in partition and offset order, and the schema ids it met to IDS_FILE.

usage: foreign_consumer.py REGISTRY_URL BOOTSTRAP TOPIC IDS_FILE"""
import datetime
import json
import struct
import sys
import uuid

from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def plain(v):
    if isinstance(v, datetime.datetime):
        return int(v.timestamp() * 1000)
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


def main(url, bootstrap, topic, ids_file):
    de = AvroDeserializer(SchemaRegistryClient({"url": url}))
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "foreign-" + uuid.uuid4().hex,
                  "isolation.level": "read_committed", "enable.auto.commit": False,
                  "enable.partition.eof": True, "auto.offset.reset": "earliest"})
    parts = c.list_topics(topic, timeout=30).topics[topic].partitions
    c.assign([TopicPartition(topic, p, 0) for p in parts])
    pending, out, ids = set(parts), [], set()
    while pending:
        m = c.poll(30)
        if m is None:
            sys.exit(f"foreign_consumer: no record or end of partition within 30 s on {topic}")
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                pending.discard(m.partition())
                continue
            sys.exit(f"foreign_consumer: {m.error()}")
        ids.add(struct.unpack(">I", m.value()[1:5])[0])
        rec = de(m.value(), SerializationContext(topic, MessageField.VALUE))
        out.append((m.partition(), m.offset(), json.dumps(plain(rec), sort_keys=True)))
    c.close()
    for _, _, line in sorted(out):
        print(line)
    with open(ids_file, "w") as f:
        f.write(" ".join(str(i) for i in sorted(ids)) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
