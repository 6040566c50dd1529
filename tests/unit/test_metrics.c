/* SPDX-License-Identifier: Apache-2.0 */
/* test_metrics.c -- dsrcd's metrics (daemon/metrics.c) on real state: the
 * daemon's units for two sqlite sources (a real database, and one whose
 * file does not exist), health probes, and runs carried out by the
 * daemon's scheduler against the state store (discovers that record drift,
 * a fetch, a run cancelled before it started).  The exposition must pass
 * `promtool check metrics` (lint included) and show what happened.  Exits
 * 77 (skipped) when promtool is not installed. */
#include <config.h>

#include <check.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "generation.h"
#include "metrics.h"
#include "scheduler.h"
#include "unit_tmp.h"
#include "units.h"

static char tmp[256];
static generation *G;
static unit *U;
static size_t NU;
static scheduler *S;
static control_state D;

static void sql(const char *stmt)
{
    char path[512];
    sqlite3 *db;
    char *err = NULL;

    snprintf(path, sizeof path, "%s/shop.db", tmp);
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(db, stmt, NULL, NULL, &err) == SQLITE_OK, "%s: %s", stmt,
                  err ? err : "?");
    sqlite3_close(db);
}

static void write_file(const char *name, const char *fmt, const char *a, const char *b)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", tmp, name);
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fprintf(f, fmt, a, b);
    fclose(f);
}

static void setup(void)
{
    const char *top = getenv("top_builddir"), *t = getenv("TMPDIR");
    char path[512];
    diag_list diags = {0};
    sigset_t set;
    derr e = {0};

    /* the scheduler wakes the thread that made it, as in dsrcd */
    sigemptyset(&set);
    sigaddset(&set, SCHED_WAKE_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    snprintf(tmp, sizeof tmp, "%s/dsrc-metrics-XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(path, sizeof path, "%s/sources.d", tmp);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    write_file("dsrcd.conf",
               "plugin_dir = \"%s/plugins/sqlite/.libs\";\nstate_dir = \"%s/state\";\n"
               "workspace = \"ws\";\nsources_dir = \"sources.d\";\n",
               top && *top ? top : ".", tmp);
    write_file("sources.d/shop.conf",
               "name = \"shop\";\ntype = \"sqlite\";\nconnection = { path = \"%s/shop.db\"; };\n%s",
               tmp, "");
    write_file("sources.d/gone.conf",
               "name = \"gone\";\ntype = \"sqlite\";\nconnection = { path = \"%s/%s\"; };\n", tmp,
               "no/such.db");
    sql("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT); "
        "INSERT INTO t (b) VALUES ('x'), ('y'), ('z');");
    snprintf(path, sizeof path, "%s/dsrcd.conf", tmp);
    if (gen_load(path, NULL, &G, &diags) != 0)
        diag_print(&diags, stderr);
    ck_assert_uint_eq(diags.n_errors, 0);
    diag_free(&diags);
    ck_assert_int_eq(units_build(G, NULL, 0, &U, &NU), 0);
    ck_assert_uint_eq(NU, 2);
    metrics_start();
    S = scheduler_new(G, U, NU, &e);
    ck_assert_msg(S != NULL, "scheduler_new: %s", e.msg ? e.msg : "?");
    memset(&D, 0, sizeof D);
    pthread_mutex_init(&D.mu, NULL);
    D.cur = G;
    D.units = U;
    D.n_units = NU;
    D.sched = S;
}

static void teardown(void)
{
    ck_assert_int_eq(scheduler_stop(S, 5000), 0);
    scheduler_free(S);
    units_free(U, NU);
    units_reap_free();
    gen_unref(G);
    pthread_mutex_destroy(&D.mu);
    metrics_free();
    unit_tmp_remove(tmp);
}

/* The value of the sample `series` (name{labels}) in `text`; -1 when absent. */
static double value(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *p = text;

    while (p && *p) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

static health_monitor *monitor(const char *source)
{
    size_t i;

    for (i = 0; i < NU; i++)
        if (strcmp(U[i].src->cfg->name, source) == 0)
            return U[i].hl;
    ck_abort_msg("no unit %s", source);
    return NULL;
}

static char *render(void)
{
    char *text = metrics_render(&D);

    ck_assert_ptr_nonnull(text);
    return text;
}

/* Tick the scheduler until `series` reaches `want` (at most 30 s). */
static void tick_until(const char *series, double want)
{
    int i;

    for (i = 0; i < 3000; i++) {
        char *text;
        double v;
        struct timespec ts = {0, 10000000};

        scheduler_tick(S, U, NU);
        text = render();
        v = value(text, series);
        free(text);
        if (v >= want)
            return;
        nanosleep(&ts, NULL);
    }
    ck_abort_msg("%s did not reach %g", series, want);
}

static void run(const char *source, const char *item)
{
    int64_t id = 0;
    derr e = {0};

    ck_assert_msg(scheduler_request(S, U, NU, source, item, &id, &e) == DSRC_OK,
                  "scheduler_request: %s", e.msg ? e.msg : "?");
}

/* promtool check metrics < text: exit 0 and nothing said. */
static void promtool_check(const char *text)
{
    char path[512], cmd[1200], out[4096];
    FILE *f;
    size_t n;
    int rc;

    snprintf(path, sizeof path, "%s/metrics.txt", tmp);
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "promtool check metrics < '%s' 2>&1", path);
    ck_assert_ptr_nonnull(f = popen(cmd, "r"));
    n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    rc = pclose(f);
    ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 0 && n == 0,
                  "promtool check metrics (status %d):\n%s\n--- exposition:\n%s", rc, out,
                  text);
}

/* The buckets of one histogram series are cumulative and +Inf is its count. */
static void check_cumulative(const char *text, const char *name, const char *labels)
{
    char series[512];
    const char *p = text;
    size_t n;
    double last = 0, inf = -1;
    int buckets = 0;

    snprintf(series, sizeof series, "%s_bucket{%s,le=\"", name, labels);
    n = strlen(series);
    while (p && *p) {
        if (strncmp(p, series, n) == 0) {
            const char *v = strchr(p + n, ' ');
            double x = strtod(v + 1, NULL);
            ck_assert_msg(x >= last, "%s: buckets not cumulative", series);
            last = x;
            buckets++;
            if (strncmp(p + n, "+Inf\"", 5) == 0)
                inf = x;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    snprintf(series, sizeof series, "%s_count{%s}", name, labels);
    ck_assert_int_ge(buckets, 2);
    ck_assert_msg(inf >= 0 && inf == value(text, series), "%s: +Inf is not the count", name);
}

START_TEST(daemon_state_passes_promtool)
{
    char *text;
    int i;

    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(health_probe(monitor("shop")), 0);
        ck_assert_int_eq(health_probe(monitor("gone")), 1);
    }
    for (i = 0; i < 3; i++)
        health_probe(monitor("gone"));  /* its breaker opens after 5 failures */

    /* a discover, the table changed (one column removed: breaking; one
     * added: not), discovered again, a fetch, runs that fail (an item that
     * does not exist; a source whose breaker is open), a run cancelled
     * before it started */
    run("shop", NULL);
    tick_until("dsrc_runs_total{source=\"shop\",kind=\"discover\",result=\"succeeded\"}", 1);
    sql("ALTER TABLE t DROP COLUMN b; ALTER TABLE t ADD COLUMN c TEXT;");
    run("shop", NULL);
    tick_until("dsrc_runs_total{source=\"shop\",kind=\"discover\",result=\"succeeded\"}", 2);
    run("shop", "t");
    tick_until("dsrc_runs_total{source=\"shop\",kind=\"fetch\",result=\"succeeded\"}", 1);
    run("shop", "nope");
    tick_until("dsrc_runs_total{source=\"shop\",kind=\"fetch\",result=\"failed\"}", 1);
    run("gone", NULL);
    tick_until("dsrc_runs_total{source=\"gone\",kind=\"discover\",result=\"failed\"}", 1);
    {
        int64_t id = 0;
        derr e = {0};
        ck_assert_int_eq(scheduler_request(S, U, NU, "shop", NULL, &id, &e), DSRC_OK);
        ck_assert_int_eq(scheduler_cancel(S, id, &e), DSRC_OK);
    }
    tick_until("dsrc_runs_total{source=\"shop\",kind=\"discover\",result=\"cancelled\"}", 1);

    text = render();
    promtool_check(text);
    ck_assert(strstr(text, "# TYPE dsrc_build_info gauge\ndsrc_build_info{version=\"" PACKAGE_VERSION
                           "\"} 1\n"));
    ck_assert(value(text, "dsrc_start_time_seconds") > 1.7e9);
    /* health */
    ck_assert(value(text, "dsrc_source_up{source=\"shop\"}") == 1);
    ck_assert(value(text, "dsrc_source_up{source=\"gone\"}") == 0);
    ck_assert(value(text, "dsrc_endpoint_up{source=\"shop\",endpoint=\"primary\"}") == 1);
    ck_assert(value(text, "dsrc_probes_total{source=\"shop\",endpoint=\"primary\",result=\"ok\"}") == 3);
    ck_assert(value(text, "dsrc_probes_total{source=\"gone\",endpoint=\"primary\",result=\"failed\"}") == 6);
    ck_assert(value(text, "dsrc_probes_total{source=\"gone\",endpoint=\"primary\",result=\"ok\"}") == 0);
    ck_assert(value(text, "dsrc_probe_latency_seconds_count{source=\"shop\",endpoint=\"primary\"}") == 3);
    ck_assert(value(text, "dsrc_probe_latency_seconds_sum{source=\"shop\",endpoint=\"primary\"}") > 0);
    check_cumulative(text, "dsrc_probe_latency_seconds", "source=\"shop\",endpoint=\"primary\"");
    ck_assert(value(text, "dsrc_breaker_open{source=\"gone\",endpoint=\"primary\"}") == 1);
    ck_assert(value(text, "dsrc_breaker_open{source=\"shop\",endpoint=\"primary\"}") == 0);
    ck_assert(value(text, "dsrc_breaker_state{source=\"gone\",endpoint=\"primary\",state=\"open\"}") == 1);
    ck_assert(value(text, "dsrc_breaker_state{source=\"gone\",endpoint=\"primary\",state=\"closed\"}") == 0);
    /* more when the discover of "gone" came after the cool-down */
    ck_assert(value(text, "dsrc_breaker_opens_total{source=\"gone\",endpoint=\"primary\"}") >= 1);
    ck_assert(value(text, "dsrc_pool_open_failures_total{source=\"gone\",endpoint=\"primary\"}") >= 5);
    ck_assert(value(text, "dsrc_pool_connections{source=\"shop\",endpoint=\"primary\",state=\"idle\"}") >= 1);
    ck_assert(value(text, "dsrc_pool_connections{source=\"shop\",endpoint=\"primary\",state=\"busy\"}") == 0);
    ck_assert(value(text, "dsrc_pool_acquires_total{source=\"shop\",endpoint=\"primary\"}") >= 6);
    /* runs */
    ck_assert(value(text, "dsrc_runs_total{source=\"shop\",kind=\"discover\",result=\"failed\"}") == 0);
    ck_assert(value(text, "dsrc_runs_total{source=\"gone\",kind=\"discover\",result=\"succeeded\"}") == 0);
    ck_assert(value(text, "dsrc_runs_total{source=\"gone\",kind=\"fetch\",result=\"failed\"}") == -1);
    ck_assert(value(text, "dsrc_run_duration_seconds_count{source=\"shop\",kind=\"discover\"}") == 2);
    ck_assert(value(text, "dsrc_run_duration_seconds_count{source=\"shop\",kind=\"fetch\"}") == 2);
    ck_assert(value(text, "dsrc_run_duration_seconds_count{source=\"gone\",kind=\"discover\"}") == 1);
    check_cumulative(text, "dsrc_run_duration_seconds", "source=\"shop\",kind=\"discover\"");
    ck_assert(value(text, "dsrc_rows_fetched_total{source=\"shop\"}") == 3);
    ck_assert(value(text, "dsrc_bytes_fetched_total{source=\"shop\"}") > 0);
    ck_assert(value(text, "dsrc_runs_running") == 0);
    ck_assert(value(text, "dsrc_runs_queued") == 0);
    ck_assert(value(text, "dsrc_drift_events_total{class=\"breaking\"}") == 1);
    ck_assert(value(text, "dsrc_drift_events_total{class=\"non_breaking\"}") == 1);
    ck_assert(value(text, "dsrc_config_reloads_total{result=\"ok\"}") == 0);
    free(text);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("daemon");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, daemon_state_passes_promtool);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        fprintf(stderr, "promtool not found (Debian package prometheus): skipped\n");
        return 77;
    }
    sr = srunner_create(metrics_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
