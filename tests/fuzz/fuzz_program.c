/*
 * fuzz_program.c — libFuzzer harness of the program-file loader (consumer/cons_program.c):
 * any text as a program file. The loader returns programs or one `FILE:LINE: KEY: ...`
 * message, never crashes or leaks.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cons_program.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), err[512];
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    proc_program *programs = NULL;
    int n = 0;
    int rc = cons_program_load_string("fuzz.yaml", text, &programs, &n, err, sizeof err);
    if (rc == 0 ? (programs == NULL || n < 1) : (programs != NULL || strncmp(err, "fuzz.yaml", 9) != 0))
        abort();   /* the contract of cons_program.h: programs, or a message naming the file */
    cons_program_free(programs);
    free(text);
    return 0;
}
