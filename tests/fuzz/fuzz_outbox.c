/*
 * fuzz_outbox.c — libFuzzer harness of the outbox entry codec (consumer/cons_outbox.h):
 * any bytes as an entry read back from Redis. The reader validates everything up front
 * (CRC, lengths, record structure); an accepted entry must then yield exactly
 * n_records records, each inside the input, and re-encode to the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cons_outbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
    if (p != NULL && (p < data || p + n > data + size))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cons_outbox_reader r;
    if (cons_outbox_reader_init(&r, data, size) != CONS_OUTBOX_OK)
        return 0;
    cons_outbox_entry *e = cons_outbox_entry_new();
    if (e == NULL)
        abort();
    cons_outbox_record rec;
    int n = 0;
    while (cons_outbox_reader_next(&r, &rec) == 1) {
        check_inside(rec.key, rec.key_len, data, size);
        check_inside(rec.value, rec.value_len, data, size);
        cons_outbox_header h[CONS_OUTBOX_MAX_HEADERS];
        for (int i = 0; i < rec.n_headers; i++) {
            check_inside((const uint8_t *)rec.headers[i].name, rec.headers[i].name_len, data, size);
            check_inside(rec.headers[i].value, rec.headers[i].value_len, data, size);
            h[i] = rec.headers[i];
        }
        if (cons_outbox_entry_add_record_ts(e, rec.topic, rec.timestamp, rec.key, rec.key_len,
                                            rec.value, rec.value_len, h, rec.n_headers) !=
            CONS_OUTBOX_OK)
            abort();
        n++;
    }
    if (n != r.n_records)
        abort();
    const uint8_t *again;
    size_t len;
    if (cons_outbox_entry_finish(e, r.seq, r.end_offsets, r.n_offsets, &again, &len) !=
            CONS_OUTBOX_OK ||
        len != size || memcmp(again, data, size) != 0)
        abort();   /* the codec is canonical: what it accepts, it writes the same way */
    cons_outbox_entry_destroy(e);
    return 0;
}
