/*
 * cons_partners.h — the worker's in-memory cache of partner state.
 *
 * A worker owns every partner of its partitions, so after a partner's blob is loaded
 * once from Redis the cache is the truth until the partition is revoked. Entries are
 * found by partner id (open addressing, linear probing). Between batches every entry
 * equals its blob in Redis, so a bounded cache may drop the least recently used clean
 * entries and load them again on their next event (cons_partners_evict).
 *
 * Ownership: the cache owns its entries, their proc_partner arrays and their rows.
 */
#ifndef CONS_PARTNERS_H
#define CONS_PARTNERS_H

#include <stdbool.h>
#include <stdint.h>

#include "proc_outputs.h"
#include "proc_partner.h"

/* Fields of the public partner hash (cons_layout.c writes them). */
#define CONS_PARTNER_HASH_FIELDS 11

typedef struct {
    proc_partner state;
    /* Fingerprints (64-bit FNV-1a) of the partner hash's field values as last written, so
     * a batch writes only the fields that changed (a sale changes four of eleven). Not
     * known for a partner loaded from Redis: its first write is whole. Set while the
     * batch is built; a batch that does not commit drops the partner, and them with it. */
    bool hash_known;
    uint64_t hash_fp[CONS_PARTNER_HASH_FIELDS];
    int32_t partition;               /* input partition that owns the partner */
    bool dirty;                      /* changed since the last ledger commit */
    uint64_t last_used;              /* cache clock at the last cons_partners_get/add */
    /* The leaderboard rows to write with this batch: one per period the batch changed,
     * with the values the period's last event left. Unbounded on purpose: a partner may
     * touch any number of periods in one batch (late events, long spans of event time). */
    int n_rows, cap_rows;
    proc_lb_row *rows;
} cons_partner_entry;

typedef struct cons_partners cons_partners;

cons_partners *cons_partners_new(void);
void cons_partners_destroy(cons_partners *c);

/* @returns the entry for id, or NULL when it is not cached; marks it used. */
cons_partner_entry *cons_partners_get(cons_partners *c, const char *id);

/* Adds an empty, not-enrolled entry for id (which must not be cached) and @returns it, or
 * NULL on ENOMEM. Pointers returned earlier stay valid (entries are heap nodes). */
cons_partner_entry *cons_partners_add(cons_partners *c, const char *id, int32_t partition);

/* Drops every entry owned by `partition` (the partition was revoked: another worker may
 * change those partners now). */
void cons_partners_drop_partition(cons_partners *c, int32_t partition);

/* Drops one entry (its state is suspect, e.g. after a failed batch). */
void cons_partners_drop(cons_partners *c, const char *id);

size_t cons_partners_count(const cons_partners *c);

/* When more than max_live entries are cached, drops the least recently used entries that
 * are not dirty until at most keep (≤ max_live) are left, or no clean entry is. Call only
 * between batches, when no entry pointer is held. @returns the number dropped (0 also
 * when the scratch array cannot be allocated: nothing is dropped then). */
size_t cons_partners_evict(cons_partners *c, size_t max_live, size_t keep);

/* Merges the leaderboard rows of one applied event into e's rows for the batch: a row of
 * a period already there replaces it (the later event's values are the newer ones).
 * @returns 0 or -1 (ENOMEM; e's rows are unchanged). */
int cons_partners_note_rows(cons_partner_entry *e, const proc_outputs *out);

#endif
