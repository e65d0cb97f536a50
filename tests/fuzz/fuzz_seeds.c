/*
 * fuzz_seeds.c — writes the seed corpora of the decoder and outbox harnesses from the
 * repository's own fixtures, so the seeds follow the schemas and the codec as they change:
 *     fuzz-seeds DECODE_DIR OUTBOX_DIR JSONL...
 * Every JSON line of the JSONL files (the e2e pipeline's input events) becomes one framed
 * Avro record; the outbox seeds are entries of those records with headers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cons_outbox.h"
#include "schema_codec.h"
#include "schema_json.h"
#include "schema_registry.h"

static int write_file(const char *dir, const char *name, int i, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-%04d", dir, name, i);
    FILE *f = fopen(path, "wb");
    int rc = f != NULL && fwrite(p, 1, n, f) == n ? 0 : -1;
    if (f != NULL && fclose(f) != 0)
        rc = -1;
    return rc;
}

int main(int argc, char **argv)
{
    char err[256], line[1 << 16];
    static uint8_t buf[1 << 20];
    int n_events = 0, n_entries = 0, rc = 1;
    schema_registry *reg = NULL;
    cons_outbox_entry *entry = NULL;

    if (argc < 4) {
        fprintf(stderr, "usage: fuzz-seeds DECODE_DIR OUTBOX_DIR JSONL...\n");
        return 2;
    }
    if ((reg = schema_registry_new(err, sizeof err)) == NULL ||
        (entry = cons_outbox_entry_new()) == NULL)
        goto done;
    for (int a = 3; a < argc; a++) {
        FILE *f = fopen(argv[a], "r");
        if (f == NULL)
            goto done;
        while (fgets(line, sizeof line, f) != NULL) {
            proc_event ev;
            size_t len;
            if (schema_event_from_json(line, &ev, err, sizeof err) != 0 ||
                schema_encode_event(reg, &ev, buf, sizeof buf, &len) != 0)
                continue;   /* the fixtures hold bad records on purpose */
            if (write_file(argv[1], "event", n_events++, buf, len) != 0) {
                fclose(f);
                goto done;
            }
            cons_outbox_header h[2] = {{"dlq.reason", 10, "LATE_EVENT", 10}, {"empty", 5, NULL, 0}};
            if (cons_outbox_entry_add_record(entry, n_events % 3, ev.partner_id,
                                             strlen(ev.partner_id), buf, len, h,
                                             n_events % 3) != CONS_OUTBOX_OK) {
                fclose(f);
                goto done;
            }
            if (cons_outbox_entry_count(entry) == 4) {
                const uint8_t *data;
                int64_t offs[3] = {n_events, -1, 7};
                if (cons_outbox_entry_finish(entry, n_entries + 1, offs, 3, &data, &len) !=
                        CONS_OUTBOX_OK ||
                    write_file(argv[2], "entry", n_entries++, data, len) != 0) {
                    fclose(f);
                    goto done;
                }
                cons_outbox_entry_reset(entry);
            }
        }
        fclose(f);
    }
    printf("fuzz-seeds: %d events, %d outbox entries\n", n_events, n_entries);
    rc = n_events > 0 && n_entries > 0 ? 0 : 1;
done:
    if (rc != 0)
        fprintf(stderr, "fuzz-seeds: failed (%s)\n", err);
    cons_outbox_entry_destroy(entry);
    schema_registry_destroy(reg);
    return rc;
}
