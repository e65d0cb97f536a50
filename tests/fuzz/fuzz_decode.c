/*
 * fuzz_decode.c — libFuzzer harness of the wire-format/Avro decoder (schemas/): any bytes
 * as a framed input event of each type, and as a payout and an alert. The decoder must
 * return a status and never read out of bounds, leak or hit undefined behaviour; on
 * SCHEMA_OK the decoded event must pass through the encoder again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "schema_codec.h"
#include "schema_registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static schema_registry *reg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256], detail[512];
    if (reg == NULL && (reg = schema_registry_new(err, sizeof err)) == NULL) {
        fprintf(stderr, "fuzz_decode: %s\n", err);
        abort();
    }
    static const proc_event_type types[] = {PROC_EVENT_SALE, PROC_EVENT_REGISTRATION,
                                            PROC_EVENT_SURVEY, PROC_EVENT_APPROVAL};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        proc_event ev;
        if (schema_decode_event(reg, types[i], data, size, &ev, detail, sizeof detail) ==
            SCHEMA_OK) {
            static uint8_t buf[1 << 21];
            size_t len;
            if (schema_encode_event(reg, &ev, buf, sizeof buf, &len) != 0)
                abort();   /* what the decoder accepts, the encoder must be able to write */
        }
    }
    proc_payout p;
    proc_alert a;
    (void)schema_decode_payout(reg, data, size, &p, detail, sizeof detail);
    (void)schema_decode_alert(reg, data, size, &a, detail, sizeof detail);
    return 0;
}
