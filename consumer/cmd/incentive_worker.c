/*
 * incentive-worker — the daemon. Loads the config (defaults < file < environment < flags)
 * and the program file, then runs the worker until SIGTERM/SIGINT.
 *
 *     incentive-worker [--config FILE] [--key=value ...]
 *     incentive-worker --help | --version
 *
 * Exit codes: 0 clean stop (or --help/--version), 1 bad configuration or program file,
 * 2 fatal runtime error (restart it: the ledger and Kafka transactions make a restart safe
 * at any point).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cons_config.h"
#include "cons_log.h"
#include "cons_program.h"
#include "cons_notify.h"
#include "cons_worker.h"

extern char **environ;

static volatile sig_atomic_t stop_requested;

static void print_help(FILE *out)
{
    fprintf(out, "usage: incentive-worker [--config FILE] [--key=value ...]\n"
                 "       incentive-worker --help | --version\n\n"
                 "Consumes the sale, registration and survey topics, keeps partner state in\n"
                 "Redis and writes payouts and alerts exactly once, until SIGTERM or SIGINT.\n"
                 "Settings: defaults < config file < PI_* environment < --key=value flags.\n"
                 "Exit codes: 0 clean stop, 1 bad configuration or program file, 2 fatal\n"
                 "runtime error (a restart is safe).\n\nsettings:\n");
    cons_config_describe(out);
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int main(int argc, char **argv)
{
    cons_config cfg;
    proc_program *programs = NULL;
    int n_programs = 0, rc = 1;
    cons_worker *w = NULL;
    char err[1024];

    /* Answered before the config is read, so they work without one. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("incentive-worker %s\n", PI_VERSION);
            return 0;
        }
    }
    if (cons_config_load(&cfg, argc, argv, environ, err, sizeof err, NULL) != 0) {
        fprintf(stderr, "incentive-worker: %s\n", err);
        return 1;
    }
    if (cons_log_set_level_name(cfg.log_level) != 0) {
        fprintf(stderr, "incentive-worker: log.level: expected debug|info|warn|error\n");
        goto done;
    }
    cons_log_set_worker(cfg.worker_id);
    /* From here on everything the worker prints is a JSON line (cons_log.h). */
    if (cons_program_load(cfg.program_file, &programs, &n_programs, err, sizeof err) != 0) {
        cons_log(CONS_LOG_ERROR, "bad_program_file", "%s", err);
        goto done;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    if ((w = cons_worker_new(&cfg, programs, n_programs, &stop_requested, err, sizeof err)) == NULL) {
        cons_log(CONS_LOG_ERROR, "start_failed", "%s", err);
        rc = 2;
        goto done;
    }
    /* Type=notify: connected to Redis, topics checked, subscribed (the group assignment
     * follows; /readyz and the status line tell when it has). */
    cons_notify_ready("started: joining the consumer group");
    if (cons_worker_run(w, &stop_requested, err, sizeof err) != 0) {
        cons_log(CONS_LOG_ERROR, "fatal", "%s", err);
        rc = 2;
        goto done;
    }
    cons_log(CONS_LOG_INFO, "stopped", "clean stop");
    rc = 0;
done:
    cons_worker_destroy(w);
    cons_program_free(programs);
    cons_config_free(&cfg);
    return rc;
}
