/*
 * fuzz_config.c — libFuzzer harness of the config parser (consumer/cons_config.c): any
 * bytes as the config file. The parser loads the settings or stops with one message
 * naming the file, never crashes or leaks.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cons_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (path[0] == '\0') {
        snprintf(path, sizeof path, "/tmp/pi-fuzz-config-%d.conf", (int)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    char *argv[] = {"fuzz", "--config", path, NULL};
    char *envp[] = {NULL};
    char err[1024];
    cons_config cfg;
    if (cons_config_load(&cfg, 3, argv, envp, err, sizeof err, NULL) == 0)
        cons_config_free(&cfg);
    else if (strstr(err, path) == NULL && strstr(err, "config") == NULL)
        abort();   /* a refused file is named in the message */
    return 0;
}
