/*
 * cons_leave.h — an intended stop hands the worker's partitions over at once.
 *
 * The worker is a static group member (group.instance.id = worker.id), so a crashed and
 * restarted worker gets its partitions back without a rebalance. The price is that
 * librdkafka 2.0.2 sends no LeaveGroup when a static member closes: on scale-in its
 * partitions would sit idle until session.timeout.ms ran out. After the consumer is
 * closed, cons_leave_group removes the member by its instance id itself (the protocol is
 * in cons_kwire.h), so the coordinator rebalances the group right away.
 *
 * Plaintext listeners only: the requests go over a plain TCP socket, so with SSL or SASL
 * configured the caller skips this and the partitions move after the session timeout.
 */
#ifndef CONS_LEAVE_H
#define CONS_LEAVE_H

#include <stddef.h>

/* Asks the group coordinator of group_id (found through the first broker of the
 * comma-separated `bootstrap` list that answers) to remove the static member
 * instance_id, everything within timeout_ms.
 * @returns 0 when the member is gone (removed now, or already not a member), or -1 with
 *          a message in err. */
int cons_leave_group(const char *bootstrap, const char *client_id, const char *group_id,
                     const char *instance_id, int timeout_ms, char *err, size_t errcap);

#endif
