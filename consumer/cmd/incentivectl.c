/*
 * incentivectl — the operator's tool (CONTRACT §10):
 *
 *     incentivectl [--config FILE] [--key=value ...] COMMAND [ARGS]
 *
 * The global options are the worker's settings (cons_config.h: defaults < file <
 * environment < flags), so one config file serves both. Each command lives in its own
 * consumer/cons_ctl_*.c file; this file only loads the settings and dispatches.
 *
 * Exit codes: 0 success, 1 failure, 2 bad arguments (a usage line is printed), 3 `lag
 * --wait` timed out.
 */
#include <stdio.h>
#include <string.h>

#include "cons_config.h"
#include "cons_ctl.h"
#include "cons_log.h"

extern char **environ;

typedef struct {
    const char *name;
    int (*run)(const cons_config *cfg, int argc, char **argv);
    const char *args;
    const char *summary;
} ctl_command;

static const ctl_command commands[] = {
    {"validate", cons_ctl_validate, "[FILE]", "check a program file (default: program_file)"},
    {"produce", cons_ctl_produce, "--file F|- | --generate [...]",
     "write input events (JSON lines, or a generated stream)"},
    {"leaderboard", cons_ctl_leaderboard, "--program ID [--period P] [...]",
     "show a leaderboard from Redis"},
    {"top", cons_ctl_top, "--program ID [--period P] [--once] [...]",
     "a live leaderboard in the terminal, redrawn on each update; q quits"},
    {"partner", cons_ctl_partner, "ID [ID...]", "show partners from Redis"},
    {"kpi", cons_ctl_kpi, "--program ID [--period P]", "show a program's metrics from Redis"},
    {"dump", cons_ctl_dump, "--topic payouts|alerts|dead-letters [--json]",
     "print an output topic as JSON lines (read_committed)"},
    {"explain", cons_ctl_explain, "PAYOUT_ID",
     "a payout's calculation line by line, and the records that name it"},
    {"statement", cons_ctl_statement, "--partner ID --period P [--format table|json|csv]",
     "a partner's period statement: payouts, decisions, payable totals, tiers"},
    {"replay", cons_ctl_replay, "--program-file F [--from D --to D] | --cleanup NAME",
     "what a candidate program would pay over the retained inputs (own topics)"},
    {"dead-letters", cons_ctl_dead_letters, "replay --reason R [--dry-run]",
     "re-produce the dead letters of one reason to their source topics, exactly once"},
    {"lag", cons_ctl_lag, "[--wait] [--timeout S]",
     "the workers' lag on the input topics; --wait until it is 0"},
    {"stats", cons_ctl_stats, "", "records per topic"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_help(FILE *out)
{
    fprintf(out, "usage: incentivectl [--config FILE] [--key=value ...] COMMAND [ARGS]\n"
                 "       incentivectl --help | --version\n\n"
                 "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-12s %-46s %s\n", commands[i].name, commands[i].args,
                commands[i].summary);
    fprintf(out, "  %-12s %-46s %s\n", "config", "[--describe]",
            "the effective settings, or the reference of every key");
    fprintf(out, "\nGlobal options are the worker's settings (e.g. --redis.port=16379,\n"
                 "--topic.sales=NAME, --kafka.bootstrap.servers=HOST:PORT), given before\n"
                 "COMMAND; exit codes: 0 ok, 1 failed, 2 bad arguments, 3 lag --wait timed out.\n");
}

int main(int argc, char **argv)
{
    cons_config cfg;
    int first = argc, rc = CONS_CTL_USAGE;
    char err[1024];

    /* Only among the global options: after COMMAND, --help belongs to the command. */
    for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help(stdout);
            return CONS_CTL_OK;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("incentivectl %s\n", PI_VERSION);
            return CONS_CTL_OK;
        }
    }
    if (cons_config_load(&cfg, argc, argv, environ, err, sizeof err, &first) != 0) {
        fprintf(stderr, "incentivectl: %s\n", err);
        return CONS_CTL_USAGE;
    }
    if (cons_log_set_level_name(cfg.log_level) != 0) {
        fprintf(stderr, "incentivectl: log.level: expected debug|info|warn|error\n");
        goto done;
    }
    if (first >= argc) {
        print_help(stderr);
        goto done;
    }
    if (strcmp(argv[first], "help") == 0) {
        print_help(stdout);
        rc = CONS_CTL_OK;
        goto done;
    }
    if (strcmp(argv[first], "config") == 0) {
        /* The effective settings (secrets masked) and the reference of every key. */
        if (first + 1 < argc && strcmp(argv[first + 1], "--describe") == 0)
            cons_config_describe(stdout);
        else
            cons_config_log(&cfg, stdout);
        rc = CONS_CTL_OK;
        goto done;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[first], commands[i].name) == 0) {
            rc = commands[i].run(&cfg, argc - first, argv + first);
            goto done;
        }
    fprintf(stderr, "incentivectl: unknown command '%s'\n", argv[first]);
    print_help(stderr);
done:
    cons_config_free(&cfg);
    return rc;
}
