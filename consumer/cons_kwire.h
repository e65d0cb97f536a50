/*
 * cons_kwire.h — the two Kafka protocol requests the worker sends itself, encoded and
 * decoded without I/O: FindCoordinator v1 and LeaveGroup v3.
 *
 * Why by hand: a worker uses static membership (group.instance.id), and for a static
 * member librdkafka 2.0.2 sends no LeaveGroup on close and has no admin call to remove
 * one, so an intended stop would leave its partitions idle for session.timeout.ms. The
 * broker removes a static member on a LeaveGroup that names its group.instance.id with an
 * empty member id (KIP-345, what the Java admin's removeMembersFromConsumerGroup sends).
 * Both versions are the newest non-flexible ones (no tagged fields), and both are served
 * by every broker from Kafka 2.4 through 4.x (KIP-896 removed only older versions).
 *
 * Frames are whole: the 4-byte big-endian size prefix included. Pure functions: they
 * never allocate; the caller owns every buffer.
 */
#ifndef CONS_KWIRE_H
#define CONS_KWIRE_H

#include <stddef.h>
#include <stdint.h>

#define CONS_KWIRE_HOST_CAP 256

/* The largest request frame these encoders write for names up to 255 bytes. */
#define CONS_KWIRE_REQ_CAP 1024

/* Encodes FindCoordinator v1 for a consumer group. @returns the frame's length, or 0
 * when it does not fit in cap or a string is longer than 255 bytes. */
size_t cons_kwire_find_coordinator(uint8_t *buf, size_t cap, int32_t correlation_id,
                                   const char *client_id, const char *group_id);

/* Encodes LeaveGroup v3 removing the static member `instance_id` (member id ""). @returns
 * the frame's length, or 0 as above. */
size_t cons_kwire_leave_group(uint8_t *buf, size_t cap, int32_t correlation_id,
                              const char *client_id, const char *group_id,
                              const char *instance_id);

/* The coordinator a FindCoordinator v1 response names. */
typedef struct {
    int16_t error_code;                /* 0, or Kafka's code (15 = COORDINATOR_NOT_AVAILABLE) */
    int32_t node_id;
    char host[CONS_KWIRE_HOST_CAP];
    int32_t port;
} cons_kwire_coordinator;

/* Decodes a FindCoordinator v1 response body: everything after the size prefix, from
 * the correlation id on. @returns 0, or -1 when it is truncated, malformed or answers
 * another correlation id. */
int cons_kwire_parse_coordinator(const uint8_t *body, size_t len, int32_t correlation_id,
                                 cons_kwire_coordinator *out);

/* Decodes a LeaveGroup v3 response body (as above). *error_code is the top-level code,
 * or, when that is 0, the first non-zero member code (25 = UNKNOWN_MEMBER_ID: the
 * member was not in the group). @returns 0 or -1 as above. */
int cons_kwire_parse_leave(const uint8_t *body, size_t len, int32_t correlation_id,
                           int16_t *error_code);

#endif
