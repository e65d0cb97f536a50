/*
 * cons_ctl_top.c — `incentivectl top`: a live leaderboard in the terminal (CONTRACT §10).
 *
 * The board is re-read whenever the worker publishes a notice on
 * {ns}:lb-updates:{program} (CONTRACT §8), so what is shown is what a committed batch
 * left in Redis, a few milliseconds after the commit. Pub/sub is best effort (a notice
 * sent while we reconnect is lost), so --interval adds a periodic re-read as a safety net;
 * --interval 0 turns it off and shows only what notices bring.
 *
 * Each row shows the rank, the move since the previous frame (+2, -1, new), the partner,
 * the score, the tier as a badge and the region. `q` or Ctrl-C quits and restores the
 * terminal; --once prints one plain frame and exits, for scripts.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cons_ctl.h"
#include "cons_program.h"

#define TOP_USAGE                                                                          \
    "top --program ID [--period 2026-Q4] [--metric revenue|points] [--region R] "          \
    "[--top N] [--interval S] [--once]"
#define DEFAULT_INTERVAL_S 10
#define MIN_REDRAW_MS 100       /* coalesces a burst of notices into one re-read */
#define RECONNECT_MS 1000
#define ONCE_ROWS 20
#define MAX_ROWS 1000

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t resized;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_resize(int sig)
{
    (void)sig;
    resized = 1;
}

typedef struct {
    cons_ctl_board_query q;
    long long interval_s;
    int once;
    int top_given;      /* --top N; else as many rows as the terminal has room for */
} top_args;

static int top_parse(int argc, char **argv, top_args *a)
{
    a->q.metric = "revenue";
    a->interval_s = DEFAULT_INTERVAL_S;
    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        int m;
        if ((m = cons_ctl_board_opt(argc, argv, &i, &a->q)) != 0)
            ;
        else if ((m = cons_ctl_opt(argc, argv, &i, "--interval", &val)) != 0) {
            if (m > 0 && cons_ctl_parse_int(val, 0, 86400, &a->interval_s))
                m = -1;
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--top", &val)) != 0) {
            if (m > 0 && cons_ctl_parse_int(val, 1, MAX_ROWS, &a->q.top))
                m = -1;
            a->top_given = 1;
        } else if (strcmp(argv[i], "--once") == 0) {
            a->once = 1;
            m = 1;
        } else
            m = -1;
        if (m < 0)
            return -1;
    }
    return cons_ctl_board_check(&a->q);
}

/* ---- one frame ------------------------------------------------------------------- */

/* What a frame needs besides the board: the previous board for the moves, the heading. */
typedef struct {
    const top_args *a;
    const char *currency;         /* NULL: scores in minor units */
    unsigned long notices;        /* lb-updates notices seen so far */
    const char *status;           /* NULL, or a line about a problem (Redis down) */
    int tty;                      /* 1: escape codes (colours, clear to end of line) */
} frame_ctx;

/* The rank partner had on the previous board (1-based), or 0 when it was not on it.
 * Linear: a board on a screen has at most a few hundred rows. */
static size_t previous_rank(const cons_ctl_board *prev, const char *partner)
{
    for (size_t k = 0; prev != NULL && k < prev->n_rows; k++)
        if (strcmp(prev->rows[k].partner_id, partner) == 0)
            return k + 1;
    return 0;
}

/* "+2" (up two places), "-1", "new", or "" when unchanged; "" on the first frame. */
static void format_move(const cons_ctl_board *prev, const char *partner, size_t rank,
                        char *out, size_t cap)
{
    size_t was = previous_rank(prev, partner);
    if (prev == NULL || was == rank)
        snprintf(out, cap, "%s", "");
    else if (was == 0)
        snprintf(out, cap, "new");
    else if (was > rank)
        snprintf(out, cap, "+%zu", was - rank);
    else
        snprintf(out, cap, "-%zu", rank - was);
}

/* Ends a line: on a terminal, clears what an older, longer frame left to its right. */
static void end_line(const frame_ctx *f)
{
    fputs(f->tty ? "\033[K\n" : "\n", stdout);
}

static void draw(const frame_ctx *f, const cons_ctl_board *b, const cons_ctl_board *prev)
{
    const cons_ctl_board_query *q = &f->a->q;
    char head[48], score[48], move[24], clock[16];
    time_t t = time(NULL);
    struct tm tm;

    localtime_r(&t, &tm);
    strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    cons_ctl_board_score_head(q->metric, f->currency, head, sizeof head);
    if (f->tty)
        fputs("\033[H", stdout);
    printf("%s%s %s %s%s%s - %lld partners", f->tty ? "\033[1m" : "", q->program,
           b->period[0] ? b->period : "(no board yet)", q->metric, q->region ? " in " : "",
           q->region ? q->region : "", b->members);
    /* The clock and the count only live: --once output is compared by scripts. */
    if (f->tty)
        printf(" - %s - %lu updates\033[0m   q quits", clock, f->notices);
    end_line(f);
    if (f->status != NULL) {
        printf("%s%s%s", f->tty ? "\033[31m" : "", f->status, f->tty ? "\033[0m" : "");
        end_line(f);
    }
    /* Column widths from the content, so the table stays aligned for any ids. */
    int w_partner = (int)strlen("PARTNER"), w_score = (int)strlen(head), w_badge = 6;
    for (size_t k = 0; k < b->n_rows; k++) {
        const cons_ctl_board_row *row = &b->rows[k];
        cons_ctl_board_score(q->metric, f->currency, row->score, score, sizeof score);
        if ((int)strlen(row->partner_id) > w_partner)
            w_partner = (int)strlen(row->partner_id);
        if ((int)strlen(score) > w_score)
            w_score = (int)strlen(score);
        if (row->tier != NULL && (int)strlen(row->tier) + 2 > w_badge)
            w_badge = (int)strlen(row->tier) + 2;
    }
    printf("%4s  %-4s  %-*s  %*s  %-*s  %s", "RANK", "MOVE", w_partner, "PARTNER", w_score,
           head, w_badge, "TIER", "REGION");
    end_line(f);
    for (size_t k = 0; k < b->n_rows; k++) {
        const cons_ctl_board_row *row = &b->rows[k];
        char badge[300];
        const char *colour = "";
        cons_ctl_board_score(q->metric, f->currency, row->score, score, sizeof score);
        format_move(prev, row->partner_id, k + 1, move, sizeof move);
        snprintf(badge, sizeof badge, "[%s]", row->tier ? row->tier : "-");
        if (f->tty && move[0] == '+')
            colour = "\033[32m";
        else if (f->tty && move[0] == '-')
            colour = "\033[31m";
        else if (f->tty && move[0] == 'n')
            colour = "\033[36m";
        printf("%4zu  %s%-4s%s  %-*s  %*s  %-*s  %s", k + 1, colour, move,
               colour[0] ? "\033[0m" : "", w_partner, row->partner_id, w_score, score,
               w_badge, badge, row->region && row->region[0] ? row->region : "-");
        end_line(f);
    }
    if (f->tty)
        fputs("\033[J", stdout);
    fflush(stdout);
}

/* ---- the terminal ---------------------------------------------------------------- */

static struct termios saved_termios;
static int termios_saved;

/* Keys without Enter and without echo; Ctrl-C still raises SIGINT (ISIG stays on). The
 * alternate screen keeps the user's scrollback as it was. */
static void terminal_enter(void)
{
    struct termios raw;
    if (tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
        termios_saved = 1;
        raw = saved_termios;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    fputs("\033[?1049h\033[?25l\033[H\033[J", stdout);
    fflush(stdout);
}

static void terminal_leave(void)
{
    fputs("\033[?25h\033[?1049l", stdout);
    fflush(stdout);
    if (termios_saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
}

/* Rows that fit: the terminal's height less the heading, status and column lines. */
static long long rows_that_fit(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row < 5)
        return ONCE_ROWS;
    return ws.ws_row - 4 > MAX_ROWS ? MAX_ROWS : ws.ws_row - 4;
}

/* ---- pub/sub --------------------------------------------------------------------- */

/* A connection subscribed to the program's notices, or NULL with err set. */
static redisContext *subscribe(const cons_config *cfg, const char *program, char *err,
                               size_t errcap)
{
    redisContext *s = cons_ctl_redis_connect(cfg, err, errcap);
    redisReply *r = NULL;
    if (s == NULL)
        return NULL;
    r = redisCommand(s, "SUBSCRIBE %s:lb-updates:%s", cfg->redis_namespace, program);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errcap, "Redis SUBSCRIBE failed: %s",
                 r == NULL ? s->errstr : r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
        if (r != NULL)
            freeReplyObject(r);
        redisFree(s);
        return NULL;
    }
    freeReplyObject(r);
    /* Notices arrive whenever the worker commits; a frame is never blocked on them. */
    struct timeval none = {0, 0};
    redisSetTimeout(s, none);
    return s;
}

/* Counts the notices already read into the connection's buffer.
 * @returns the count. */
static unsigned long drain_notices(redisContext *s)
{
    unsigned long n = 0;
    void *r = NULL;
    while (redisGetReplyFromReader(s, &r) == REDIS_OK && r != NULL) {
        const redisReply *m = r;
        if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 &&
            m->element[0]->type == REDIS_REPLY_STRING &&
            strcmp(m->element[0]->str, "message") == 0)
            n++;
        freeReplyObject(r);
        r = NULL;
    }
    return n;
}

/* ---- the command ----------------------------------------------------------------- */

static int run_once(redisContext *c, const cons_config *cfg, frame_ctx *f)
{
    cons_ctl_board b;
    char err[1024];
    top_args a = *f->a;
    if (!a.top_given)
        a.q.top = ONCE_ROWS;
    if (cons_ctl_board_read(c, cfg->redis_namespace, &a.q, &b, err, sizeof err) != 0) {
        fprintf(stderr, "incentivectl top: %s\n", err);
        return CONS_CTL_FAILED;
    }
    draw(f, &b, NULL);
    cons_ctl_board_free(&b);
    return CONS_CTL_OK;
}

/* Re-reads the board into the slot that is not *prev and draws it with the moves since
 * *prev; a Redis error is shown above the last good board. c is replaced when its
 * connection broke and a new one could be made. */
static void refresh(redisContext **c, const cons_config *cfg, frame_ctx *f, top_args *a,
                    cons_ctl_board boards[2], cons_ctl_board **prev, const char *sub_status)
{
    cons_ctl_board *into = *prev == &boards[0] ? &boards[1] : &boards[0];
    char err[1024];
    int r;

    if (!a->top_given)
        a->q.top = rows_that_fit();
    cons_ctl_board_free(into);
    r = cons_ctl_board_read(*c, cfg->redis_namespace, &a->q, into, err, sizeof err);
    if (r < 0 && (*c)->err) {
        redisContext *fresh = cons_ctl_redis_connect(cfg, err, sizeof err);
        if (fresh != NULL) {
            redisFree(*c);
            *c = fresh;
            r = cons_ctl_board_read(*c, cfg->redis_namespace, &a->q, into, err, sizeof err);
        }
    }
    /* A board that is not there yet (r == 1) is an empty frame, not an error. */
    f->status = r < 0 ? err : sub_status;
    if (r >= 0) {
        draw(f, into, *prev);
        *prev = into;
    } else {
        cons_ctl_board empty;
        memset(&empty, 0, sizeof empty);
        draw(f, *prev != NULL ? *prev : &empty, NULL);
    }
    f->status = NULL;
}

/* The earliest of the deadlines that are set (non-zero), or 0. */
static long long earliest(long long x, long long y)
{
    return x == 0 ? y : y == 0 ? x : x < y ? x : y;
}

/* The live loop: re-reads on notices (at most every MIN_REDRAW_MS, so a burst of them is
 * one re-read), every --interval, on a resize; quits on q, Ctrl-C, SIGTERM or when the
 * terminal goes away. Frees c. */
static int run_live(redisContext *c, const cons_config *cfg, frame_ctx *f, top_args *a)
{
    cons_ctl_board boards[2], *prev = NULL;
    redisContext *s = NULL;
    char err[1024], sub_status[1100] = "";
    long long next_read = 1, last_read = 0, next_reconnect = 1;

    memset(boards, 0, sizeof boards);
    terminal_enter();
    while (!stop_requested) {
        long long now = cons_ctl_now_ms(), deadline;
        struct pollfd pfd[2];
        nfds_t n_fd = 1;

        if (s == NULL && now >= next_reconnect) {
            if ((s = subscribe(cfg, a->q.program, err, sizeof err)) == NULL) {
                snprintf(sub_status, sizeof sub_status, "no update notices: %s", err);
                next_reconnect = now + RECONNECT_MS;
            } else {
                sub_status[0] = '\0';
                next_reconnect = 0;
                next_read = now;        /* what changed while no notice could arrive */
            }
        }
        if (resized) {
            resized = 0;
            next_read = now;
        }
        if (a->interval_s > 0 && now >= last_read + a->interval_s * 1000)
            next_read = earliest(next_read, now);
        if (next_read != 0 && now >= next_read) {
            refresh(&c, cfg, f, a, boards, &prev, s == NULL ? sub_status : NULL);
            last_read = cons_ctl_now_ms();
            next_read = 0;
        }

        deadline = earliest(next_read, s == NULL ? next_reconnect : 0);
        if (a->interval_s > 0)
            deadline = earliest(deadline, last_read + a->interval_s * 1000);
        pfd[0].fd = STDIN_FILENO;
        pfd[0].events = POLLIN;
        if (s != NULL) {
            pfd[1].fd = s->fd;
            pfd[1].events = POLLIN;
            n_fd = 2;
        }
        now = cons_ctl_now_ms();
        int ready = poll(pfd, n_fd, deadline == 0 ? -1 : deadline <= now ? 0
                                                                          : (int)(deadline - now));
        if (ready < 0 && errno != EINTR)
            break;
        if (ready <= 0)
            continue;
        if (pfd[0].revents & POLLIN) {
            char keys[16];
            ssize_t got = read(STDIN_FILENO, keys, sizeof keys);
            for (ssize_t k = 0; k < got; k++)
                if (keys[k] == 'q' || keys[k] == 'Q')
                    stop_requested = 1;
        } else if (pfd[0].revents & (POLLHUP | POLLERR))
            stop_requested = 1;
        if (n_fd == 2 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (redisBufferRead(s) == REDIS_OK) {
                unsigned long got = drain_notices(s);
                if (got > 0) {
                    f->notices += got;
                    long long at = last_read + MIN_REDRAW_MS;
                    next_read = earliest(next_read, at > now ? at : now);
                }
            } else {
                snprintf(sub_status, sizeof sub_status, "no update notices: Redis: %s",
                         s->errstr);
                redisFree(s);
                s = NULL;
                next_reconnect = now + RECONNECT_MS;
                next_read = now;
            }
        }
    }
    terminal_leave();
    cons_ctl_board_free(&boards[0]);
    cons_ctl_board_free(&boards[1]);
    if (s != NULL)
        redisFree(s);
    redisFree(c);
    return CONS_CTL_OK;
}

int cons_ctl_top(const cons_config *cfg, int argc, char **argv)
{
    top_args a;
    frame_ctx f;
    redisContext *c = NULL;
    proc_program *programs = NULL;
    int n_programs = 0, rc;
    char err[1024];

    memset(&a, 0, sizeof a);
    if (top_parse(argc, argv, &a) != 0)
        return cons_ctl_usage(TOP_USAGE " (--region needs --metric revenue)");
    if (!a.once && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
        fprintf(stderr, "incentivectl top: needs a terminal; use --once in scripts\n");
        return CONS_CTL_USAGE;
    }
    if ((c = cons_ctl_redis_connect(cfg, err, sizeof err)) == NULL) {
        fprintf(stderr, "incentivectl top: %s\n", err);
        return CONS_CTL_FAILED;
    }
    memset(&f, 0, sizeof f);
    f.a = &a;
    f.tty = !a.once;
    if (strcmp(a.q.metric, "revenue") == 0 &&
        cons_program_load(cfg->program_file, &programs, &n_programs, err, sizeof err) == 0)
        for (int i = 0; i < n_programs; i++)
            if (strcmp(programs[i].id, a.q.program) == 0)
                f.currency = programs[i].currency;
    if (a.once) {
        rc = run_once(c, cfg, &f);
        redisFree(c);
    } else {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sa.sa_handler = on_resize;
        sigaction(SIGWINCH, &sa, NULL);
        rc = run_live(c, cfg, &f, &a);   /* frees c */
    }
    cons_program_free(programs);
    return rc;
}
