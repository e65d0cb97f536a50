/*
 * cons_ctl_validate.c — `incentivectl validate [FILE]`: the start-up check of the program
 * file (CONTRACT §5), offline.
 */
#include <stdio.h>
#include <string.h>

#include "cons_ctl.h"
#include "cons_program.h"

#define USAGE "validate [FILE | --describe]   (default: the program_file setting)"

int cons_ctl_validate(const cons_config *cfg, int argc, char **argv)
{
    proc_program *programs = NULL;
    int n = 0;
    char err[1024];
    const char *path = cfg->program_file;

    if (argc == 2 && strcmp(argv[1], "--describe") == 0) {
        cons_program_describe(stdout);     /* the reference of every program-file key */
        return CONS_CTL_OK;
    }
    if (argc > 2 || (argc == 2 && argv[1][0] == '-' && argv[1][1] != '\0'))
        return cons_ctl_usage(USAGE);
    if (argc == 2)
        path = argv[1];
    if (cons_program_load(path, &programs, &n, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return CONS_CTL_FAILED;
    }
    printf("%s: OK, %d program%s (", path, n, n == 1 ? "" : "s");
    for (int i = 0; i < n; i++)
        printf("%s%s", i ? ", " : "", programs[i].id);
    printf(")\n");
    cons_program_free(programs);
    return CONS_CTL_OK;
}
