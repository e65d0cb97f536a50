/*
 * proc_engine.h — the incentive rules: one event in, state change and outputs out.
 *
 * Pure: no I/O, no clock, no randomness. Applying the same events to the same state gives
 * the same outputs byte for byte, which is what makes replay after a crash safe.
 */
#ifndef PROC_ENGINE_H
#define PROC_ENGINE_H

#include "proc_deal.h"
#include "proc_event.h"
#include "proc_outputs.h"
#include "proc_partner.h"
#include "proc_program.h"

/*
 * Applies `ev` to partner `pt` (the event's partner; an initialised, possibly not-enrolled
 * partner when none is stored yet) under the programs in `cat`.
 *
 * `deal` is the claim record of the deal the event names, loaded by the caller (status
 * PROC_DEAL_NONE when none is stored): for DEAL_REGISTERED / DEAL_APPROVED / DEAL_REJECTED
 * the event's deal_id, for a SALE its deal_id when it has one. For every other event it
 * may be NULL and is ignored (a RETURN's deal_id plays no part). Claims are shared by all
 * partners, which is why they are not part of proc_partner. The rules may change *deal;
 * they then set out->deal_changed and the caller writes it back.
 *
 * On return `out` holds either a dead-letter reason (out->reason != PROC_DLQ_NONE: `pt`
 * and `deal` are unchanged and the event id is not remembered), or a duplicate flag
 * (nothing changed), or the payouts, alerts and metric deltas of the event with
 * out->changed set.
 *
 * @returns 0, or -1 when memory ran out midway (`pt` and `deal` may then be half changed:
 *          the caller must discard both, reload them from the ledger and fail the batch),
 *          or -1 with errno EINVAL, nothing changed, when the event names a deal and `deal`
 *          is NULL or holds another deal id (a bug in the caller).
 */
int proc_apply(const proc_catalog *cat, proc_partner *pt, const proc_event *ev, proc_deal *deal,
               proc_outputs *out);

/* Static field checks of CONTRACT §6.17 that need no partner state. @returns true when valid,
 * else writes a sentence naming the field into detail. */
bool proc_validate(const proc_event *ev, char *detail, size_t cap);

/* Derived values the leaderboards and the partner hash show. */
int proc_current_tier(const proc_partner *pt);
int proc_effective_tier(const proc_period_state *ps);
int64_t proc_period_points(const proc_program *prog, const proc_period_state *ps);
/* NPS of a period rounded half-even, or INT32_MIN when it has no responses. */
int32_t proc_period_nps(const proc_period_state *ps);

#endif
