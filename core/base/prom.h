/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prom.h -- the Prometheus text exposition format (version 0.0.4), written
 * into a growing string (dsrc_buf), and a fixed-bucket histogram to observe
 * values into.
 *
 * A writer writes families one after the other: prom_family() writes the
 * family's `# HELP` and `# TYPE` lines, then every sample of that family
 * follows (prom_sample() for a counter or a gauge, prom_histogram() for a
 * histogram's `_bucket{le=...}`, `_sum` and `_count` lines), so the samples
 * of a family are always together.  Open each family once.  Names follow
 * Prometheus' conventions, which the caller chooses: base units (seconds,
 * bytes), a counter's name ends in `_total` (the name given is written as
 * is).  Label values are escaped (backslash, double quote, newline), as is
 * the help text (backslash, newline).  Values print in the shortest form
 * that reads back as the same double; infinities as +Inf/-Inf, NaN as NaN.
 *
 * Memory: after an allocation failure the buffer's `failed` is set and
 * nothing more is written (dsrc_buf's rule): check it once at the end.
 * Nothing here locks: a writer belongs to one thread, a histogram to
 * whoever holds its owner's lock.
 */
#ifndef DSRC_CORE_PROM_H
#define DSRC_CORE_PROM_H

#include <stddef.h>
#include <stdint.h>

#include <dsrc/plugin.h>

typedef enum prom_type {
    PROM_COUNTER = 0,
    PROM_GAUGE = 1,
    PROM_HISTOGRAM = 2
} prom_type;

/* One label: name (a valid label name, e.g. "source") and value (any
 * UTF-8 text; NULL is written as ""). */
typedef struct prom_label {
    const char *name;
    const char *value;
} prom_label;

typedef struct prom_writer {
    dsrc_buf *out;             /* borrowed                                   */
    const char *family;        /* the family being written (borrowed)        */
    prom_type type;
} prom_writer;

/* The most upper bounds a histogram may have (+Inf not counted). */
#define PROM_HIST_MAX 16

/* A histogram with fixed buckets: bucket i counts the observations
 * v <= bounds[i] (and > bounds[i-1]); the ones above every bound count in
 * `count` and `sum` only.  Zero-initialised it has no bucket but +Inf. */
typedef struct prom_hist {
    const double *bounds;      /* ascending upper bounds; borrowed, static    */
    size_t n_bounds;           /* at most PROM_HIST_MAX                       */
    uint64_t buckets[PROM_HIST_MAX];
    uint64_t count;
    double sum;
} prom_hist;

/* Start writing into `out` (appended to what it holds). */
void prom_begin(prom_writer *w, dsrc_buf *out);

/* Start family `name` of `type` with its help text (one line). */
void prom_family(prom_writer *w, const char *name, prom_type type, const char *help);

/* One sample of the current counter or gauge family: name{labels} value.
 * `labels` may be NULL when n is 0. */
void prom_sample(prom_writer *w, const prom_label *labels, size_t n, double value);

/* The samples of one histogram of the current histogram family, with
 * these labels: a cumulative `_bucket` line per bound and one for +Inf
 * (= count), then `_sum` and `_count`. */
void prom_histogram(prom_writer *w, const prom_label *labels, size_t n, const prom_hist *h);

/* Empty histogram with these bounds (n above PROM_HIST_MAX: the first
 * PROM_HIST_MAX). */
void prom_hist_init(prom_hist *h, const double *bounds, size_t n);

/* Observe one value (NaN is ignored). */
void prom_hist_observe(prom_hist *h, double v);

#endif
