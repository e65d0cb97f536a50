/*
 * cons_ctl_args.c — argument parsing, formatting and the clock shared by the incentivectl
 * subcommands.
 */
#include "cons_ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cons_ctl_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);

    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;                   /* "--top10" is another option, not "--top" */
    if (*i + 1 >= argc)
        return -1;
    *value = argv[++*i];
    return 1;
}

int cons_ctl_parse_int(const char *text, long long min, long long max, long long *out)
{
    char *end = NULL;
    long long v;

    if (text == NULL || text[0] == '\0')
        return -1;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cons_ctl_usage(const char *line)
{
    fprintf(stderr, "usage: incentivectl [--config FILE] [--key=value ...] %s\n", line);
    return CONS_CTL_USAGE;
}

void cons_ctl_format_minor(int64_t minor, char *out, size_t cap)
{
    /* Work on the magnitude as unsigned so INT64_MIN does not overflow. */
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    uint64_t major = mag / 100;
    char digits[32], grouped[48];
    int nd = snprintf(digits, sizeof digits, "%" PRIu64, major);
    int g = 0;

    for (int k = 0; k < nd; k++) {
        if (k > 0 && (nd - k) % 3 == 0)
            grouped[g++] = ',';
        grouped[g++] = digits[k];
    }
    grouped[g] = '\0';
    snprintf(out, cap, "%s%s.%02u", minor < 0 ? "-" : "", grouped, (unsigned)(mag % 100));
}

cons_schemas *cons_ctl_schemas_open(const cons_config *cfg, const cons_schemas_output *writes,
                                    size_t n_writes, char *err, size_t errcap)
{
    return cons_schemas_open(cfg, writes, n_writes, NULL, err, errcap);
}

char *cons_ctl_hex(const void *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = data;
    char *s = malloc(2 * len + 1);

    if (s == NULL)
        return NULL;
    for (size_t k = 0; k < len; k++) {
        s[2 * k] = digits[p[k] >> 4];
        s[2 * k + 1] = digits[p[k] & 15];
    }
    s[2 * len] = '\0';
    return s;
}

int64_t cons_ctl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
