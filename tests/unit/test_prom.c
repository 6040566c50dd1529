/* SPDX-License-Identifier: Apache-2.0 */
/* test_prom.c -- the Prometheus text writer (core/base/prom.h): exact text
 * for a counter, a gauge with labels that need escaping, a histogram. */
#include <config.h>

#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "base/prom.h"

START_TEST(counter_and_gauge)
{
    dsrc_buf b = {0};
    prom_writer w;
    prom_label l[2] = {{"source", "a\"b\\c\nd"}, {"endpoint", NULL}};

    prom_begin(&w, &b);
    prom_family(&w, "x_runs_total", PROM_COUNTER, "Runs \\ ended,\nby result.");
    prom_sample(&w, l, 1, 3);
    prom_sample(&w, NULL, 0, 12345678901.0);
    prom_family(&w, "x_up", PROM_GAUGE, "1 when \"up\".");
    prom_sample(&w, l, 2, 0.1);
    prom_sample(&w, l, 1, -2.5);
    prom_sample(&w, l, 1, INFINITY);
    prom_sample(&w, l, 1, NAN);
    ck_assert(!b.failed);
    ck_assert_str_eq(b.s,
                     "# HELP x_runs_total Runs \\\\ ended,\\nby result.\n"
                     "# TYPE x_runs_total counter\n"
                     "x_runs_total{source=\"a\\\"b\\\\c\\nd\"} 3\n"
                     "x_runs_total 12345678901\n"
                     "# HELP x_up 1 when \"up\".\n"
                     "# TYPE x_up gauge\n"
                     "x_up{source=\"a\\\"b\\\\c\\nd\",endpoint=\"\"} 0.1\n"
                     "x_up{source=\"a\\\"b\\\\c\\nd\"} -2.5\n"
                     "x_up{source=\"a\\\"b\\\\c\\nd\"} +Inf\n"
                     "x_up{source=\"a\\\"b\\\\c\\nd\"} NaN\n");
    dsrc_buf_free(&b);
}
END_TEST

START_TEST(histogram)
{
    static const double bounds[] = {0.005, 0.1, 1, 2.5};
    dsrc_buf b = {0};
    prom_writer w;
    prom_hist h;
    prom_label l[1] = {{"source", "db"}};
    const double v[] = {0.001, 0.005, 0.05, 0.2, 0.2, 3, NAN, 7};
    size_t i;

    prom_hist_init(&h, bounds, 4);
    for (i = 0; i < sizeof v / sizeof v[0]; i++)
        prom_hist_observe(&h, v[i]);
    ck_assert_uint_eq(h.count, 7); /* NaN ignored */
    prom_begin(&w, &b);
    prom_family(&w, "x_latency_seconds", PROM_HISTOGRAM, "Latency.");
    prom_histogram(&w, l, 1, &h);
    prom_hist_init(&h, bounds, 4);
    prom_histogram(&w, NULL, 0, &h);
    ck_assert(!b.failed);
    ck_assert_str_eq(b.s,
                     "# HELP x_latency_seconds Latency.\n"
                     "# TYPE x_latency_seconds histogram\n"
                     "x_latency_seconds_bucket{source=\"db\",le=\"0.005\"} 2\n"
                     "x_latency_seconds_bucket{source=\"db\",le=\"0.1\"} 3\n"
                     "x_latency_seconds_bucket{source=\"db\",le=\"1\"} 5\n"
                     "x_latency_seconds_bucket{source=\"db\",le=\"2.5\"} 5\n"
                     "x_latency_seconds_bucket{source=\"db\",le=\"+Inf\"} 7\n"
                     "x_latency_seconds_sum{source=\"db\"} 10.456\n"
                     "x_latency_seconds_count{source=\"db\"} 7\n"
                     "x_latency_seconds_bucket{le=\"0.005\"} 0\n"
                     "x_latency_seconds_bucket{le=\"0.1\"} 0\n"
                     "x_latency_seconds_bucket{le=\"1\"} 0\n"
                     "x_latency_seconds_bucket{le=\"2.5\"} 0\n"
                     "x_latency_seconds_bucket{le=\"+Inf\"} 0\n"
                     "x_latency_seconds_sum 0\n"
                     "x_latency_seconds_count 0\n");
    dsrc_buf_free(&b);
}
END_TEST

/* More bounds than a histogram holds: the first PROM_HIST_MAX are kept. */
START_TEST(histogram_bounds_capped)
{
    double bounds[PROM_HIST_MAX + 4];
    prom_hist h;
    size_t i;

    for (i = 0; i < PROM_HIST_MAX + 4; i++)
        bounds[i] = (double)i;
    prom_hist_init(&h, bounds, PROM_HIST_MAX + 4);
    ck_assert_uint_eq(h.n_bounds, PROM_HIST_MAX);
    prom_hist_observe(&h, PROM_HIST_MAX + 2.0);
    ck_assert_uint_eq(h.count, 1);
    for (i = 0; i < PROM_HIST_MAX; i++)
        ck_assert_uint_eq(h.buckets[i], 0);
}
END_TEST

static Suite *prom_suite(void)
{
    Suite *s = suite_create("prom");
    TCase *tc = tcase_create("text");

    tcase_add_test(tc, counter_and_gauge);
    tcase_add_test(tc, histogram);
    tcase_add_test(tc, histogram_bounds_capped);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(prom_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
