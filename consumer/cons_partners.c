#include "cons_partners.h"

#include "proc_blob.h"

#include <stdlib.h>
#include <string.h>

struct cons_partners {
    cons_partner_entry **slots;      /* NULL = empty; TOMBSTONE = deleted */
    size_t cap;                      /* power of two */
    size_t used;                     /* live + tombstones, drives growth */
    size_t live;
    uint64_t clock;                  /* ticks on every get and add: the LRU order */
};

static cons_partner_entry tombstone_node;
#define TOMBSTONE (&tombstone_node)

static uint64_t hash_str(const char *s)
{
    return proc_hash64(s);
}

cons_partners *cons_partners_new(void)
{
    cons_partners *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->cap = 1024;
    c->slots = calloc(c->cap, sizeof *c->slots);
    if (c->slots == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

static void free_entry(cons_partner_entry *e)
{
    proc_partner_clear(&e->state);
    free(e->rows);
    free(e);
}

void cons_partners_destroy(cons_partners *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i] && c->slots[i] != TOMBSTONE)
            free_entry(c->slots[i]);
    free(c->slots);
    free(c);
}

static size_t find_slot(const cons_partners *c, const char *id)
{
    size_t mask = c->cap - 1;
    for (size_t i = hash_str(id) & mask;; i = (i + 1) & mask) {
        cons_partner_entry *e = c->slots[i];
        if (e == NULL)
            return i;
        if (e != TOMBSTONE && strcmp(e->state.partner_id, id) == 0)
            return i;
    }
}

cons_partner_entry *cons_partners_get(cons_partners *c, const char *id)
{
    cons_partner_entry *e = c->slots[find_slot(c, id)];
    if (e != NULL)
        e->last_used = ++c->clock;
    return e;   /* NULL when the probe ended on an empty slot */
}

static int grow(cons_partners *c)
{
    size_t ncap = c->live * 4 > c->cap ? c->cap * 2 : c->cap;   /* else just drop tombstones */
    cons_partner_entry **old = c->slots;
    size_t ocap = c->cap;
    cons_partner_entry **slots = calloc(ncap, sizeof *slots);
    if (slots == NULL)
        return -1;
    c->slots = slots;
    c->cap = ncap;
    c->used = c->live;
    for (size_t i = 0; i < ocap; i++)
        if (old[i] && old[i] != TOMBSTONE)
            c->slots[find_slot(c, old[i]->state.partner_id)] = old[i];
    free(old);
    return 0;
}

cons_partner_entry *cons_partners_add(cons_partners *c, const char *id, int32_t partition)
{
    if ((c->used + 1) * 2 > c->cap && grow(c) != 0)
        return NULL;
    cons_partner_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    if (proc_partner_init(&e->state, id) != 0) {
        free(e);
        return NULL;
    }
    e->partition = partition;
    e->last_used = ++c->clock;
    /* Insert at the first empty slot of the probe: tombstones are only reclaimed by grow(),
     * which keeps find_slot() simple. */
    c->slots[find_slot(c, id)] = e;
    c->used++;
    c->live++;
    return e;
}

static void remove_at(cons_partners *c, size_t i)
{
    free_entry(c->slots[i]);
    c->slots[i] = TOMBSTONE;
    c->live--;
}

void cons_partners_drop_partition(cons_partners *c, int32_t partition)
{
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i] && c->slots[i] != TOMBSTONE && c->slots[i]->partition == partition)
            remove_at(c, i);
}

void cons_partners_drop(cons_partners *c, const char *id)
{
    size_t i = find_slot(c, id);
    if (c->slots[i])
        remove_at(c, i);
}

size_t cons_partners_count(const cons_partners *c)
{
    return c->live;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

size_t cons_partners_evict(cons_partners *c, size_t max_live, size_t keep)
{
    if (c->live <= max_live || keep > max_live)
        return 0;
    /* The stamp of the (live - keep)-th oldest clean entry: every clean entry at or below
     * it goes. Stamps are unique, so exactly that many do. Sorting is O(n log n), but the
     * gap between max_live and keep makes it rare. */
    uint64_t *stamps = malloc(c->live * sizeof *stamps);
    if (stamps == NULL)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i] && c->slots[i] != TOMBSTONE && !c->slots[i]->dirty)
            stamps[n++] = c->slots[i]->last_used;
    size_t want = c->live - keep, dropped = 0;
    if (want > n)
        want = n;
    if (want > 0) {
        qsort(stamps, n, sizeof *stamps, cmp_u64);
        uint64_t cut = stamps[want - 1];
        for (size_t i = 0; i < c->cap; i++) {
            cons_partner_entry *e = c->slots[i];
            if (e && e != TOMBSTONE && !e->dirty && e->last_used <= cut) {
                remove_at(c, i);
                dropped++;
            }
        }
    }
    free(stamps);
    return dropped;
}

int cons_partners_note_rows(cons_partner_entry *e, const proc_outputs *out)
{
    for (int i = 0; i < out->n_rows; i++) {
        const proc_lb_row *r = &out->rows[i];
        int j = 0;
        while (j < e->n_rows && e->rows[j].period_key != r->period_key)
            j++;
        if (j == e->n_rows) {
            if (proc_reserve((void **)&e->rows, &e->cap_rows, e->n_rows + 1, sizeof *e->rows))
                return -1;
            e->n_rows++;
        }
        e->rows[j] = *r;
    }
    return 0;
}
