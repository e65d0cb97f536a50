#!/usr/bin/env bash
# Creates the six partner-incentives topics ($PI_PARTITIONS partitions, replication 1) on
# the local broker, the input topics taking records of up to $PI_INPUT_MAX_MESSAGE_BYTES
# and keeping them $PI_INPUT_RETENTION_MS (long enough to replay a program period), the
# dead-letter topic up to $PI_DLQ_MAX_MESSAGE_BYTES (deploy/env.sh says why).
# Idempotent: topics that exist with the right partition count are kept, with the
# settings they have; one with another count is an error (the inputs must be
# co-partitioned, CONTRACT §2).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

TOPICS_LOG="$KAFKA_DIR/logs/topics-create.log"
kafka_metadata >/dev/null \
  || die "Kafka does not answer on $KAFKA_BOOTSTRAP: run deploy/kafka-start.sh (log: $KAFKA_LOG)"

# partitions_of TOPIC — partition count from kcat's listing ('topic "x" with 6 partitions:'),
# empty if the topic does not exist.
partitions_of() {
  sed -n "s/^  topic \"${1//./\\.}\" with \([0-9]*\) partitions:.*/\1/p" <<<"$meta"
}

meta=$(kafka_metadata)
missing=()
for t in "${PI_TOPICS[@]}"; do
  n=$(partitions_of "$t")
  if [ -z "$n" ]; then
    missing+=("$t")
  elif [ "$n" != "$PI_PARTITIONS" ]; then
    die "topic $t exists with $n partitions, expected $PI_PARTITIONS (delete it or run deploy/stop.sh --wipe)"
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  log "creating ${missing[*]} (log: $TOPICS_LOG)"
  : >"$TOPICS_LOG"
  # One JVM per topic (TopicCommand takes one --topic), run in parallel: ~2 s in total
  # instead of ~2 s each.
  pids=()
  for t in "${missing[@]}"; do
    config=()
    case "$t" in
      "$PI_TOPIC_SALES"|"$PI_TOPIC_REGISTRATIONS"|"$PI_TOPIC_SURVEYS"|"$PI_TOPIC_APPROVALS")
        config=(--config "max.message.bytes=$PI_INPUT_MAX_MESSAGE_BYTES"
                --config "retention.ms=$PI_INPUT_RETENTION_MS") ;;
      "$PI_TOPIC_DEAD_LETTERS")
        config=(--config "max.message.bytes=$PI_DLQ_MAX_MESSAGE_BYTES") ;;
    esac
    kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" \
      --create --if-not-exists --topic "$t" --partitions "$PI_PARTITIONS" \
      --replication-factor 1 "${config[@]}" >>"$TOPICS_LOG" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || die "creating topic ${missing[$i]} failed (log: $TOPICS_LOG)"
  done
fi

# Verify through the broker's metadata: every topic with the expected count and every
# partition led (a fresh topic may briefly report "Leader not available").
all_ready() {
  meta=$(kafka_metadata) || return 1
  ! grep -q ', Broker: \| error: ' <<<"$meta" || return 1  # kcat's per-topic/partition errors
  for t in "${PI_TOPICS[@]}"; do
    [ "$(partitions_of "$t")" = "$PI_PARTITIONS" ] || return 1
  done
}
wait_until 30 "topics ${PI_TOPICS[*]} with $PI_PARTITIONS led partitions each on $KAFKA_BOOTSTRAP (log: $TOPICS_LOG, $KAFKA_LOG)" all_ready || exit 1
log "topics ready (${PI_PARTITIONS} partitions each): ${PI_TOPICS[*]}"
