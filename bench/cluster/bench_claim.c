/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_claim.c -- how fast processes sharing one state store claim runs.
 *
 *   bench_claim DIR PROCS RUNS            the SQLite store in DIR
 *   bench_claim --pg URL PROCS RUNS       a PostgreSQL store (password in
 *                                         DSRC_BENCH_PASSWORD; CA file in
 *                                         DSRC_BENCH_CA, verify-full)
 *
 * RUNS runs are queued for any node, then PROCS processes (each its own
 * store handle and node name, started together) claim them with
 * store_run_claim() until none is left.  Prints one line:
 *   claims N procs P seconds S per_s X p50_ms A p99_ms B
 * (per_s: claims over the time from the start signal to the last claim;
 * latencies: of each claim call, every process's together).  Exits 1 when
 * a run was claimed twice or not at all.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *pg_url;

static store *bench_open(const char *dir, derr *e)
{
    store_backend b = {0};

    if (!pg_url)
        return store_open(dir, e);
    b.url = pg_url;
    b.password = getenv("DSRC_BENCH_PASSWORD");
    if ((b.tls_ca = getenv("DSRC_BENCH_CA")))
        b.tls_mode = "verify-full";
    b.schema = getenv("DSRC_BENCH_SCHEMA");
    return store_open_backend(dir, &b, e);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* One claiming process: waits for the start byte on `go`, claims until
 * none is left, writes (id, latency) pairs to `out`. */
static int claimer(const char *dir, int k, int go, int out)
{
    derr e = {0};
    char name[16], c;
    store *s = bench_open(dir, &e);

    if (!s) {
        fprintf(stderr, "bench_claim: %s\n", e.msg ? e.msg : "cannot open the store");
        return 1;
    }
    snprintf(name, sizeof name, "bench-%d", k);
    store_set_node(s, name);
    if (read(go, &c, 1) != 1)
        return 1;
    for (;;) {
        int64_t id = 0;
        double t0 = now_s(), lat;
        struct { int64_t id; double lat; } rec;

        if (store_run_claim(s, NULL, 60000, &id, &e) != DSRC_OK) {
            fprintf(stderr, "bench_claim: %s\n", e.msg ? e.msg : "claim failed");
            return 1;
        }
        lat = now_s() - t0;
        if (!id)
            break;
        rec.id = id;
        rec.lat = lat;
        if (write(out, &rec, sizeof rec) != (ssize_t)sizeof rec)
            return 1;
    }
    store_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir;
    int procs, runs, i, a = 1, go[2], out[2], bad = 0;
    store *s;
    derr e = {0};
    store_run_spec sp = {.source = "bench", .kind = RUN_DISCOVER, .trigger = RUN_TRIGGER_MANUAL,
                         .any_node = 1};
    int64_t first = 0, id;
    double *lat, t0, t1 = 0;
    int *seen;
    size_t n = 0;
    pid_t *pids;
    struct { int64_t id; double lat; } rec;

    if (argc == 5 && strcmp(argv[1], "--pg") == 0) {
        pg_url = argv[2];
        a = 2;
    } else if (argc != 4) {
        fprintf(stderr, "usage: bench_claim DIR|--pg URL PROCS RUNS\n");
        return 2;
    }
    dir = pg_url ? "/nonexistent" : argv[a];
    procs = atoi(argv[a + 1]);
    runs = atoi(argv[a + 2]);
    if (procs < 1 || runs < 1)
        return 2;
    if (pg_url) {
        char tmpl[] = "/tmp/bench-claim-XXXXXX";
        if (!(dir = mkdtemp(tmpl)))
            return 1;
        dir = strdup(dir);
    }
    if (!(s = bench_open(dir, &e))) {
        fprintf(stderr, "bench_claim: %s\n", e.msg ? e.msg : "cannot open the store");
        return 1;
    }
    for (i = 0; i < runs; i++) {
        if (store_run_queue(s, &sp, &id, &e) != DSRC_OK) {
            fprintf(stderr, "bench_claim: %s\n", e.msg ? e.msg : "cannot queue");
            return 1;
        }
        if (!first)
            first = id;
    }
    store_close(s);
    if (pipe(go) != 0 || pipe(out) != 0)
        return 1;
    pids = calloc((size_t)procs, sizeof *pids);
    for (i = 0; i < procs; i++) {
        if ((pids[i] = fork()) == 0) {
            close(go[1]);
            close(out[0]);
            _exit(claimer(dir, i, go[0], out[1]));
        }
    }
    close(go[0]);
    close(out[1]);
    usleep(300000); /* every process has opened its store */
    t0 = now_s();
    for (i = 0; i < procs; i++)
        if (write(go[1], "g", 1) != 1)
            return 1;
    close(go[1]);
    lat = calloc((size_t)runs + 1, sizeof *lat);
    seen = calloc((size_t)runs, sizeof *seen);
    while (read(out[0], &rec, sizeof rec) == (ssize_t)sizeof rec) {
        t1 = now_s();
        if (rec.id < first || rec.id - first >= runs) {
            bad = 1;
            continue;
        }
        seen[rec.id - first]++;
        if (n < (size_t)runs)
            lat[n++] = rec.lat;
    }
    for (i = 0; i < procs; i++) {
        int st;
        if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad = 1;
    }
    for (i = 0; i < runs; i++)
        if (seen[i] != 1) {
            fprintf(stderr, "bench_claim: run %lld claimed %d times\n",
                    (long long)(first + i), seen[i]);
            bad = 1;
            break;
        }
    qsort(lat, n, sizeof *lat, cmp_double);
    printf("claims %zu procs %d seconds %.3f per_s %.0f p50_ms %.3f p99_ms %.3f\n", n, procs,
           t1 - t0, n / (t1 - t0), n ? lat[n / 2] * 1e3 : 0,
           n ? lat[(size_t)((double)n * 0.99)] * 1e3 : 0);
    return bad;
}
