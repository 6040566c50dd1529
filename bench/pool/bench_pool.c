/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_pool.c -- connection pool benchmark: acquire + release through the
 * pool against opening a fresh connection each time, with the sqlite
 * plugin on a temporary database.  Built and run by bench/pool/run; not a
 * test.
 *
 * Usage: bench_pool PLUGIN_DIR [SECONDS]
 *
 * Scenarios, each run for SECONDS (default 1) of wall time:
 *   pool acquire+release     1 thread, max_size 1           (uncontended)
 *   pool acquire+release     8 threads, max_size 8          (no waiting for
 *                                                            a connection)
 *   pool acquire+release     8 threads, max_size 2          (contended)
 *   fresh open+close         1 and 8 threads
 *   and the same with one ping per operation, which is what a caller pays
 *   for actually using the connection;
 *   and, 1 thread, acquire+release, acquire+ping+release and open+close of
 *   a source whose plugin runs in a worker process (isolation = "process":
 *   a pooled connection is a worker; the program serves as the worker).
 * Prints ops/s, mean and p50/p99 latency per operation (every 8th
 * operation is timed), and the ratios pool / fresh.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config/config.h"
#include "base/diag.h"
#include "plugin/loader.h"
#include "base/log.h"
#include "conn/pool.h"
#include "isolate/isolate.h"
#include "plugin/registry.h"

#define MAX_THREADS 8
#define SAMPLE_CAP (1 << 20)

typedef enum { MODE_POOL, MODE_FRESH } bench_mode;

typedef struct scenario {
    const char *name;
    bench_mode mode;
    int threads;
    int max_size;
    int ping;
    int isolated; /* the source whose plugin runs in a worker process */
} scenario;

typedef struct result {
    double ops_per_s;
    double mean_ns, p50_ns, p99_ns;
    long errors;
} result;

typedef struct worker {
    pthread_t tid;
    const scenario *sc;
    long ops, errors;
    double *samples;
    size_t n_samples;
} worker;

static const registry_source *bench_src, *bench_src_iso, *bench_cur;
static pool *bench_pool_;
static atomic_int bench_go, bench_stop;

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One operation of the scenario.  Returns 0 or -1. */
static int one_op(const scenario *sc)
{
    derr e = {0};
    int rc = 0;

    if (sc->mode == MODE_POOL) {
        pool_conn *c = NULL;
        if (pool_acquire(bench_pool_, "bench", -1, &c, NULL, &e) != DSRC_OK) {
            derr_clear(&e);
            return -1;
        }
        if (sc->ping && source_ping(pool_conn_src(c), NULL, NULL, &e) != DSRC_OK)
            rc = -1;
        pool_release_err(bench_pool_, c, &e);
    } else {
        source_conn *c = NULL;
        if (source_open(bench_cur, 0, &c, &e) != DSRC_OK) {
            derr_clear(&e);
            return -1;
        }
        if (sc->ping && source_ping(c, NULL, NULL, &e) != DSRC_OK)
            rc = -1;
        source_close(c);
    }
    derr_clear(&e);
    return rc;
}

static void *work(void *arg)
{
    worker *w = arg;

    while (!atomic_load_explicit(&bench_go, memory_order_acquire))
        ;
    while (!atomic_load_explicit(&bench_stop, memory_order_relaxed)) {
        if ((w->ops & 7) == 0 && w->n_samples < SAMPLE_CAP) {
            int64_t t0 = now_ns();
            if (one_op(w->sc) != 0)
                w->errors++;
            w->samples[w->n_samples++] = (double)(now_ns() - t0);
        } else if (one_op(w->sc) != 0) {
            w->errors++;
        }
        w->ops++;
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int run(const scenario *sc, double seconds, result *res)
{
    worker w[MAX_THREADS];
    double *all;
    size_t n_all = 0, i;
    long ops = 0;
    int64_t t0, t1;
    double sum = 0;
    struct timespec ts;
    int t;

    memset(w, 0, sizeof w);
    memset(res, 0, sizeof *res);
    bench_cur = sc->isolated ? bench_src_iso : bench_src;
    if (sc->mode == MODE_POOL) {
        cfg_pool pc = bench_cur->cfg->pool;
        derr e = {0};
        pool_conn *warm[MAX_THREADS];

        pc.max_size = sc->max_size;
        pc.min_idle = sc->max_size;
        pc.acquire_timeout_ms = 30000;
        pc.leak_threshold_ms = 0;
        if (!(bench_pool_ = pool_new(bench_cur, 0, &pc, NULL, &e))) {
            fprintf(stderr, "bench: %s\n", e.msg);
            return -1;
        }
        pool_maintain(bench_pool_); /* open max_size connections up front */
        for (t = 0; t < sc->max_size; t++)
            if (pool_acquire(bench_pool_, "warm", -1, &warm[t], NULL, &e) != DSRC_OK) {
                fprintf(stderr, "bench: %s\n", e.msg);
                return -1;
            }
        for (t = 0; t < sc->max_size; t++)
            pool_release(bench_pool_, warm[t], 0);
    }
    atomic_store(&bench_go, 0);
    atomic_store(&bench_stop, 0);
    for (t = 0; t < sc->threads; t++) {
        w[t].sc = sc;
        if (!(w[t].samples = malloc(SAMPLE_CAP * sizeof(double))))
            return -1;
        if (pthread_create(&w[t].tid, NULL, work, &w[t]) != 0)
            return -1;
    }
    t0 = now_ns();
    atomic_store_explicit(&bench_go, 1, memory_order_release);
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    atomic_store(&bench_stop, 1);
    for (t = 0; t < sc->threads; t++)
        pthread_join(w[t].tid, NULL);
    t1 = now_ns();

    for (t = 0; t < sc->threads; t++) {
        ops += w[t].ops;
        res->errors += w[t].errors;
        n_all += w[t].n_samples;
    }
    all = malloc((n_all ? n_all : 1) * sizeof *all);
    if (!all)
        return -1;
    n_all = 0;
    for (t = 0; t < sc->threads; t++) {
        memcpy(all + n_all, w[t].samples, w[t].n_samples * sizeof *all);
        n_all += w[t].n_samples;
        free(w[t].samples);
    }
    qsort(all, n_all, sizeof *all, cmp_double);
    for (i = 0; i < n_all; i++)
        sum += all[i];
    res->ops_per_s = (double)ops / ((double)(t1 - t0) / 1e9);
    if (n_all) {
        res->mean_ns = sum / (double)n_all;
        res->p50_ns = all[n_all / 2];
        res->p99_ns = all[(size_t)((double)n_all * 0.99)];
    }
    free(all);
    if (bench_pool_) {
        pool_stats st;
        pool_stats_get(bench_pool_, &st);
        if (st.total > sc->max_size) {
            fprintf(stderr, "bench: pool exceeded max_size (%d > %d)\n", st.total, sc->max_size);
            return -1;
        }
        pool_free(bench_pool_);
        bench_pool_ = NULL;
    }
    return 0;
}

static void fmt_ns(char *buf, size_t n, double ns)
{
    if (ns < 1e3)
        snprintf(buf, n, "%.0f ns", ns);
    else if (ns < 1e6)
        snprintf(buf, n, "%.1f us", ns / 1e3);
    else
        snprintf(buf, n, "%.2f ms", ns / 1e6);
}

static void print_row(const scenario *sc, const result *r)
{
    char mean[32], p50[32], p99[32];

    fmt_ns(mean, sizeof mean, r->mean_ns);
    fmt_ns(p50, sizeof p50, r->p50_ns);
    fmt_ns(p99, sizeof p99, r->p99_ns);
    printf("%-36s %7d %8d %14.0f %10s %10s %10s%s\n", sc->name, sc->threads,
           sc->mode == MODE_POOL ? sc->max_size : 0, r->ops_per_s, mean, p50, p99,
           r->errors ? "  (errors!)" : "");
}

/* Make a temporary configuration with one sqlite source on a new database. */
static int setup(const char *plugin_dir, char *tmp, size_t tmp_len, cfg_config **cfg,
                 loader_set **plugins, registry **reg, diag_list *diags)
{
    char path[1024];
    sqlite3 *db;
    FILE *fp;
    const char *t = getenv("TMPDIR");

    snprintf(tmp, tmp_len, "%s/dsrc-bench-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmp))
        return -1;
    snprintf(path, sizeof path, "%s/bench.db", tmp);
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                         "INSERT INTO t(v) VALUES ('a'),('b'),('c');",
                     NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench: cannot create %s: %s\n", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return -1;
    }
    sqlite3_close(db);
    snprintf(path, sizeof path, "%s/sources.d", tmp);
    if (mkdir(path, 0700) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/sources.d/bench.conf", tmp);
    if (!(fp = fopen(path, "w")))
        return -1;
    fprintf(fp, "name = \"bench\";\ntype = \"sqlite\";\nconnection = { path = \"%s/bench.db\"; };\n",
            tmp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/sources.d/benchiso.conf", tmp);
    if (!(fp = fopen(path, "w")))
        return -1;
    fprintf(fp, "name = \"benchiso\";\ntype = \"sqlite\";\nisolation = \"process\";\n"
                "connection = { path = \"%s/bench.db\"; };\n", tmp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/dsrcd.conf", tmp);
    if (!(fp = fopen(path, "w")))
        return -1;
    fprintf(fp, "plugin_dir = \"%s\";\n", plugin_dir);
    fclose(fp);
    if (!(*cfg = cfg_load(path, diags)) ||
        !(*plugins = loader_new((const char *const *)(*cfg)->plugin_dirs, (*cfg)->n_plugin_dirs)) ||
        !(*reg = registry_build(*cfg, *plugins, diags)) || diags->n_errors) {
        diag_print(diags, stderr);
        return -1;
    }
    bench_src = registry_find(*reg, "bench");
    bench_src_iso = registry_find(*reg, "benchiso");
    return bench_src && bench_src_iso ? 0 : -1;
}

static void cleanup(const char *tmp)
{
    char path[1024];

    snprintf(path, sizeof path, "%s/bench.db", tmp);
    unlink(path);
    snprintf(path, sizeof path, "%s/sources.d/bench.conf", tmp);
    unlink(path);
    snprintf(path, sizeof path, "%s/sources.d/benchiso.conf", tmp);
    unlink(path);
    snprintf(path, sizeof path, "%s/sources.d", tmp);
    rmdir(path);
    snprintf(path, sizeof path, "%s/dsrcd.conf", tmp);
    unlink(path);
    rmdir(tmp);
}

int main(int argc, char **argv)
{
    static const scenario sc[] = {
        {"pool acquire+release (uncontended)", MODE_POOL, 1, 1, 0},
        {"pool acquire+release (uncontended)", MODE_POOL, 8, 8, 0},
        {"pool acquire+release (contended)", MODE_POOL, 8, 2, 0},
        {"fresh open+close", MODE_FRESH, 1, 0, 0},
        {"fresh open+close", MODE_FRESH, 8, 0, 0},
        {"pool acquire+ping+release", MODE_POOL, 1, 1, 1},
        {"pool acquire+ping+release", MODE_POOL, 8, 8, 1},
        {"fresh open+ping+close", MODE_FRESH, 1, 0, 1},
        {"fresh open+ping+close", MODE_FRESH, 8, 0, 1},
        {"pool acquire+release, isolated", MODE_POOL, 1, 1, 0, 1},
        {"pool acquire+ping+release, isolated", MODE_POOL, 1, 1, 1, 1},
        {"fresh open+close, isolated", MODE_FRESH, 1, 0, 0, 1},
    };
    enum { N = sizeof sc / sizeof sc[0] };
    result res[N];
    double seconds = 1.0;
    char tmp[512];
    cfg_config *cfg = NULL;
    loader_set *plugins = NULL;
    registry *reg = NULL;
    diag_list diags;
    size_t i;
    int rc = 0;

    /* the isolated source's workers are this program started again */
    if ((rc = isolate_worker_main(argc, argv)) >= 0)
        return rc;
    rc = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s PLUGIN_DIR [SECONDS]\n", argv[0]);
        return 2;
    }
    if (argc > 2 && (seconds = atof(argv[2])) <= 0) {
        fprintf(stderr, "%s: SECONDS must be a positive number\n", argv[0]);
        return 2;
    }
    log_init("bench_pool", LOG_TARGET_STDERR, DSRC_LOG_WARNING);
    memset(&diags, 0, sizeof diags);
    if (setup(argv[1], tmp, sizeof tmp, &cfg, &plugins, &reg, &diags) != 0) {
        fprintf(stderr, "%s: cannot set up the sqlite source (is %s/sqlite.so built?)\n",
                argv[0], argv[1]);
        return 1;
    }
    printf("dsrc pool benchmark: sqlite plugin on a temporary database, %.1f s per row, "
           "%ld CPU(s)\n\n", seconds, sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-36s %7s %8s %14s %10s %10s %10s\n", "operation", "threads", "max_size", "ops/s",
           "mean", "p50", "p99");
    for (i = 0; i < N; i++) {
        if (run(&sc[i], seconds, &res[i]) != 0) {
            fprintf(stderr, "%s: scenario '%s' failed\n", argv[0], sc[i].name);
            rc = 1;
            break;
        }
        print_row(&sc[i], &res[i]);
    }
    if (rc == 0) {
        printf("\nratios (ops/s, pool / fresh):\n");
        printf("  acquire+release vs open+close, 1 thread:   %8.0fx\n",
               res[0].ops_per_s / res[3].ops_per_s);
        printf("  acquire+release vs open+close, 8 threads:  %8.0fx\n",
               res[1].ops_per_s / res[4].ops_per_s);
        printf("  contended (8 threads, 2 conns) vs open+close, 8 threads: %8.0fx\n",
               res[2].ops_per_s / res[4].ops_per_s);
        printf("  with a ping, 1 thread:                     %8.1fx\n",
               res[5].ops_per_s / res[7].ops_per_s);
        printf("  with a ping, 8 threads:                    %8.1fx\n",
               res[6].ops_per_s / res[8].ops_per_s);
        printf("pool overhead, uncontended acquire+release: %.0f ns per pair "
               "(1 s / ops/s; timed p50 %.0f ns includes the clock reads)\n",
               1e9 / res[0].ops_per_s, res[0].p50_ns);
        printf("the same through the worker process proxy (isolation = \"process\"): %.0f ns "
               "per pair; a ping's round trip to the worker: %.1f us\n",
               1e9 / res[9].ops_per_s,
               (1e9 / res[10].ops_per_s - 1e9 / res[9].ops_per_s) / 1e3);
    }
    registry_free(reg);
    loader_free(plugins);
    cfg_free(cfg);
    diag_free(&diags);
    cleanup(tmp);
    return rc;
}
