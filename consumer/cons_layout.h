/*
 * cons_layout.h — the public Redis layout of CONTRACT §8, written as part of each ledger batch.
 *
 *   {ns}:lb:{program}:{period}:revenue                 ZSET partner -> period revenue
 *   {ns}:lb:{program}:{period}:points                  ZSET partner -> period points
 *   {ns}:lb:{program}:{period}:region:{region}:revenue ZSET partner -> period revenue
 *   {ns}:partner:{partner}                              HASH (see cons_layout_partner)
 *   {ns}:state:{partner}                                HASH, the rules' private state:
 *                                                       "c" the core blob, one field per
 *                                                       remembered id, answer, open sale
 *   {ns}:lb-updates:{program}                           pub/sub notice per batch
 *   {ns}:kpi:{program}:{period}                         HASH of program counters (CONTRACT §9)
 *   {ns}:deal:{deal_id}                                 STRING, the shared claim blob
 *
 * Scores and fields are absolute values, so writing them twice is harmless. The state
 * hash is proc_partner.h's split state: a batch rewrites the core field and writes or
 * deletes only the entries its journal names. (Releases before the split stored a
 * version-2 blob as a string at the same key.)
 */
#ifndef CONS_LAYOUT_H
#define CONS_LAYOUT_H

#include <stddef.h>

#include "cons_deals.h"
#include "cons_ledger.h"
#include "cons_partners.h"
#include "proc_program.h"

#define CONS_KEY_CAP 1024

/* The state hash's field of the core blob; entry fields are 17 characters long. */
#define CONS_LAYOUT_CORE_FIELD "c"

/* Writes "{ns}:state:{partner}" into key. */
void cons_layout_state_key(char *key, size_t cap, const char *ns, const char *partner_id);

/* Adds the writes for one changed partner: its core blob and changed entries (all of them,
 * after deleting the key, when e->state.rewrite is set) and the fields of its partner hash
 * that changed since the last write (e->hash_fp, updated here). prog is the
 * partner's program (NULL for a partner that is not enrolled: then only the state is
 * written). @returns 0 or -1 (ENOMEM). */
int cons_layout_partner(cons_ledger_batch *b, const char *ns, const proc_program *prog,
                        cons_partner_entry *e);

/* Adds the leaderboard scores of the changed partners, for every period each touched in
 * this batch (e->rows): one ZADD per sorted set with all of its members, so a batch costs
 * Redis one command per leaderboard, not one per partner and period.
 * @returns 0 or -1 (ENOMEM). */
int cons_layout_leaderboards(cons_ledger_batch *b, const char *ns, const proc_catalog *cat,
                             cons_partner_entry *const *entries, int n);

/* Adds the update notice for a program: PUBLISH {ns}:lb-updates:{program} with a small
 * JSON body naming the program and how many partners changed in the batch. Subscribers
 * re-read the sorted sets; the notice is best effort (pub/sub is not persisted). */
int cons_layout_notice(cons_ledger_batch *b, const char *ns, const char *program_id,
                       int n_partners);

/* Writes "{ns}:deal:{deal_id}" into key. */
void cons_layout_deal_key(char *key, size_t cap, const char *ns, const char *deal_id);

/* Adds the optimistic check of a deal claim the batch read (EXPECT the bytes it read)
 * and, when the batch changed it, its new blob. @returns 0 or -1 (ENOMEM). */
int cons_layout_deal(cons_ledger_batch *b, const char *ns, const cons_deal_entry *e);

/* Adds one HINCRBY per non-zero KPI increment into {ns}:kpi:{program}:{period}. Counters
 * only: ratios and NPS are derived from them when read (incentivectl kpi), because no
 * single worker sees a program's totals. @returns 0 or -1 (ENOMEM). */
int cons_layout_kpis(cons_ledger_batch *b, const char *ns, const cons_kpis *k);

#endif
