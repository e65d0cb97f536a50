/*
 * cons_metrics_process.c — the standard process_* metrics (the set Prometheus client
 * libraries export), read from /proc/self on each scrape.
 */
#include "cons_metrics.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Fields 14 (utime), 15 (stime), 22 (starttime), 23 (vsize), 24 (rss) of /proc/self/stat.
 * @returns 0, or -1 when it cannot be read. */
static int read_stat(unsigned long long *utime, unsigned long long *stime,
                     unsigned long long *start, unsigned long long *vsize, long long *rss)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    /* The command name (field 2) may hold spaces and parentheses: start after the last ')'. */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    int got = sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
                            "%*d %*d %*d %llu %llu %lld", utime, stime, start, vsize, rss);
    return got == 5 ? 0 : -1;
}

static long long boot_time(void)
{
    char line[256];
    long long bt = -1;
    FILE *f = fopen("/proc/stat", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lld", &bt) == 1)
            break;
    if (f)
        fclose(f);
    return bt;
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;   /* the directory stream's own descriptor */
}

void cons_metrics_write_process(FILE *out, const char *labels)
{
    unsigned long long utime, stime, start, vsize;
    long long rss;
    double tick = (double)sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    struct rlimit rl;

    if (read_stat(&utime, &stime, &start, &vsize, &rss) == 0) {
        fprintf(out, "# HELP process_cpu_seconds_total Total user and system CPU time spent in "
                     "seconds.\n# TYPE process_cpu_seconds_total counter\n"
                     "process_cpu_seconds_total{%s} %.2f\n", labels, (double)(utime + stime) / tick);
        fprintf(out, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                     "# TYPE process_resident_memory_bytes gauge\n"
                     "process_resident_memory_bytes{%s} %lld\n", labels, rss * page);
        fprintf(out, "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                     "# TYPE process_virtual_memory_bytes gauge\n"
                     "process_virtual_memory_bytes{%s} %llu\n", labels, vsize);
        long long bt = boot_time();
        if (bt >= 0)
            fprintf(out, "# HELP process_start_time_seconds Start time of the process since "
                         "unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\n"
                         "process_start_time_seconds{%s} %.2f\n", labels,
                    (double)bt + (double)start / tick);
    }
    int fds = open_fds();
    if (fds >= 0)
        fprintf(out, "# HELP process_open_fds Number of open file descriptors.\n"
                     "# TYPE process_open_fds gauge\nprocess_open_fds{%s} %d\n", labels, fds);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        fprintf(out, "# HELP process_max_fds Maximum number of open file descriptors.\n"
                     "# TYPE process_max_fds gauge\nprocess_max_fds{%s} %llu\n", labels,
                (unsigned long long)rl.rlim_cur);
}
