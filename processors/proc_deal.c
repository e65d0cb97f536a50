/*
 * The deal blob, version 1: magic 'D', version, then status, partner_id, registered_at,
 * approved_at, has_value, deal_value_minor, won (varints; zigzag for signed values).
 */
#include "proc_deal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_blob.h"

#define DEAL_MAGIC 0x44u      /* 'D' */
#define DEAL_VERSION 1u

void proc_deal_init(proc_deal *d, const char *deal_id)
{
    memset(d, 0, sizeof *d);
    if (deal_id)
        snprintf(d->deal_id, sizeof d->deal_id, "%s", deal_id);
}

int proc_deal_encode(const proc_deal *d, uint8_t **out, size_t *len)
{
    proc_blob_writer w = {0};
    proc_blob_put_byte(&w, DEAL_MAGIC);
    proc_blob_put_byte(&w, DEAL_VERSION);
    proc_blob_put_u64(&w, (uint64_t)d->status);
    proc_blob_put_str(&w, d->partner_id);
    proc_blob_put_i64(&w, d->registered_at);
    proc_blob_put_i64(&w, d->approved_at);
    proc_blob_put_u64(&w, d->has_value);
    proc_blob_put_i64(&w, d->deal_value_minor);
    proc_blob_put_u64(&w, d->won);
    if (w.failed) {
        free(w.buf);
        return -1;
    }
    *out = w.buf;
    *len = w.len;
    return 0;
}

int proc_deal_decode(proc_deal *d, const uint8_t *buf, size_t len)
{
    proc_blob_reader r = {buf, buf + len, 0};
    proc_deal tmp;

    proc_deal_init(&tmp, d->deal_id);
    if (len < 2 || buf[0] != DEAL_MAGIC || buf[1] != DEAL_VERSION)
        goto fail;
    r.p += 2;
    uint64_t status = proc_blob_get_u64(&r);
    proc_blob_get_str(&r, tmp.partner_id, sizeof tmp.partner_id);
    tmp.registered_at = proc_blob_get_i64(&r);
    tmp.approved_at = proc_blob_get_i64(&r);
    uint64_t has_value = proc_blob_get_u64(&r);
    tmp.deal_value_minor = proc_blob_get_i64(&r);
    uint64_t won = proc_blob_get_u64(&r);
    /* A stored claim always names its holder; the flags are 0 or 1 so that an encode of
     * the decoded record gives back the same bytes. */
    if (r.failed || r.p != r.end || status > PROC_DEAL_REJECTED || has_value > 1 || won > 1 ||
        (status != PROC_DEAL_NONE && tmp.partner_id[0] == '\0'))
        goto fail;
    tmp.status = (proc_deal_status)status;
    tmp.has_value = has_value != 0;
    tmp.won = won != 0;
    *d = tmp;
    return 0;
fail:
    proc_deal_init(d, tmp.deal_id);
    return -1;
}
