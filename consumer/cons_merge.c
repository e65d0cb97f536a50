/*
 * cons_merge.c — per partition, the input topics merged by record timestamp (see
 * cons_merge.h for why).
 */
#include "cons_merge.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOPICS 65536

typedef struct {
    int64_t timestamp;
    int64_t offset;
    void *item;
} held;

/* A FIFO of one topic-partition: items[head, n) are held. */
typedef struct {
    held *items;
    size_t head, n, cap;
    bool eof;
} queue;

struct cons_merge {
    int32_t n_partitions;
    int n_topics;
    int *rank;                  /* [n_topics] */
    queue *q;                   /* n_partitions × n_topics */
};

static queue *qof(const cons_merge *m, int32_t p, int t)
{
    return &m->q[(size_t)p * (size_t)m->n_topics + (size_t)t];
}

cons_merge *cons_merge_new(int32_t n_partitions, int n_topics, const int *rank)
{
    cons_merge *m = NULL;
    if (n_partitions < 1 || n_topics < 1 || n_topics > MAX_TOPICS)
        return NULL;
    if ((m = calloc(1, sizeof *m)) == NULL ||
        (m->q = calloc((size_t)n_partitions * (size_t)n_topics, sizeof *m->q)) == NULL ||
        (m->rank = malloc((size_t)n_topics * sizeof *m->rank)) == NULL) {
        if (m != NULL)
            free(m->q);
        free(m);
        return NULL;
    }
    m->n_partitions = n_partitions;
    m->n_topics = n_topics;
    memcpy(m->rank, rank, (size_t)n_topics * sizeof *rank);
    return m;
}

void cons_merge_reset_topic(cons_merge *m, int32_t p, int t, void (*drop)(void *item),
                            bool ended)
{
    queue *q = qof(m, p, t);
    for (size_t k = q->head; drop != NULL && k < q->n; k++)
        drop(q->items[k].item);
    q->head = q->n = 0;
    q->eof = ended;
}

void cons_merge_reset(cons_merge *m, int32_t p, void (*drop)(void *item))
{
    for (int t = 0; t < m->n_topics; t++)
        cons_merge_reset_topic(m, p, t, drop, false);
}

void cons_merge_free(cons_merge *m, void (*drop)(void *item))
{
    if (m == NULL)
        return;
    for (int32_t p = 0; p < m->n_partitions; p++) {
        cons_merge_reset(m, p, drop);
        for (int t = 0; t < m->n_topics; t++)
            free(qof(m, p, t)->items);
    }
    free(m->q);
    free(m->rank);
    free(m);
}

int cons_merge_push(cons_merge *m, int32_t p, int t, int64_t timestamp, int64_t offset,
                    void *item)
{
    queue *q = qof(m, p, t);
    if (q->head > 0 && q->n == q->cap) {
        /* Slide the live part to the front before growing: the array stays as large as
         * the most ever held at once. */
        memmove(q->items, q->items + q->head, (q->n - q->head) * sizeof *q->items);
        q->n -= q->head;
        q->head = 0;
    }
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 64;
        held *grown = realloc(q->items, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        q->items = grown;
        q->cap = cap;
    }
    q->items[q->n++] = (held){timestamp, offset, item};
    q->eof = false;
    return 0;
}

void cons_merge_eof(cons_merge *m, int32_t p, int t)
{
    queue *q = qof(m, p, t);
    /* An end mark while records are held means "nothing after them": the queue's own
     * records still count, and it blocks nobody once it is empty. */
    q->eof = true;
}

void *cons_merge_pop(cons_merge *m, int32_t p, int *topic, int64_t *offset)
{
    int best = -1;
    for (int t = 0; t < m->n_topics; t++) {
        const queue *q = qof(m, p, t);
        if (q->head == q->n) {
            if (!q->eof)
                return NULL;    /* a record older than every head may still arrive here */
            continue;
        }
        if (best < 0)
            best = t;
        else {
            const held *a = &q->items[q->head], *b = &qof(m, p, best)->items[qof(m, p, best)->head];
            if (a->timestamp < b->timestamp ||
                (a->timestamp == b->timestamp && m->rank[t] < m->rank[best]))
                best = t;
        }
    }
    if (best < 0)
        return NULL;
    queue *q = qof(m, p, best);
    held h = q->items[q->head++];
    if (q->head == q->n)
        q->head = q->n = 0;
    if (topic != NULL)
        *topic = best;
    if (offset != NULL)
        *offset = h.offset;
    return h.item;
}

size_t cons_merge_buffered(const cons_merge *m, int32_t p, int t)
{
    const queue *q = qof(m, p, t);
    return q->n - q->head;
}

int64_t cons_merge_first_offset(const cons_merge *m, int32_t p, int t)
{
    const queue *q = qof(m, p, t);
    return q->head < q->n ? q->items[q->head].offset : -1;
}
