/* SPDX-License-Identifier: Apache-2.0 */
/* prom.c -- see prom.h */
#include <config.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/prom.h"

/* `s` with the characters in `esc` ('\\', '"', '\n') escaped. */
static void prom_escaped(dsrc_buf *b, const char *s, const char *esc)
{
    size_t start = 0, i;

    for (i = 0; s[i]; i++) {
        if (!strchr(esc, s[i]))
            continue;
        dsrc_buf_addn(b, s + start, i - start);
        dsrc_buf_add(b, s[i] == '\n' ? "\\n" : s[i] == '"' ? "\\\"" : "\\\\");
        start = i + 1;
    }
    dsrc_buf_addn(b, s + start, i - start);
}

/* The shortest of %.15g, %.16g, %.17g that reads back as v. */
static void prom_value(dsrc_buf *b, double v)
{
    char s[64];
    int p;

    if (isnan(v)) {
        dsrc_buf_add(b, "NaN");
        return;
    }
    if (isinf(v)) {
        dsrc_buf_add(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (p = 15; p <= 17; p++) {
        snprintf(s, sizeof s, "%.*g", p, v);
        if (strtod(s, NULL) == v)
            break;
    }
    dsrc_buf_add(b, s);
}

/* name{labels[,le="..."]} value\n; `le` NULL: no le label. */
static void prom_line(prom_writer *w, const char *suffix, const prom_label *labels, size_t n,
                      const char *le, double value)
{
    dsrc_buf *b = w->out;
    size_t i;

    dsrc_buf_add(b, w->family ? w->family : "");
    dsrc_buf_add(b, suffix);
    if (n || le) {
        dsrc_buf_add(b, "{");
        for (i = 0; i < n; i++) {
            dsrc_buf_printf(b, "%s%s=\"", i ? "," : "", labels[i].name);
            prom_escaped(b, labels[i].value ? labels[i].value : "", "\\\"\n");
            dsrc_buf_add(b, "\"");
        }
        if (le)
            dsrc_buf_printf(b, "%sle=\"%s\"", n ? "," : "", le);
        dsrc_buf_add(b, "}");
    }
    dsrc_buf_add(b, " ");
    prom_value(b, value);
    dsrc_buf_add(b, "\n");
}

void prom_begin(prom_writer *w, dsrc_buf *out)
{
    w->out = out;
    w->family = NULL;
    w->type = PROM_GAUGE;
}

void prom_family(prom_writer *w, const char *name, prom_type type, const char *help)
{
    static const char *const names[] = {"counter", "gauge", "histogram"};

    w->family = name;
    w->type = type;
    dsrc_buf_printf(w->out, "# HELP %s ", name);
    prom_escaped(w->out, help ? help : "", "\\\n");
    dsrc_buf_printf(w->out, "\n# TYPE %s %s\n", name, names[type]);
}

void prom_sample(prom_writer *w, const prom_label *labels, size_t n, double value)
{
    prom_line(w, "", labels, n, NULL, value);
}

void prom_histogram(prom_writer *w, const prom_label *labels, size_t n, const prom_hist *h)
{
    dsrc_buf le = {0};
    uint64_t cum = 0;
    size_t i;

    for (i = 0; i < h->n_bounds && i < PROM_HIST_MAX; i++) {
        cum += h->buckets[i];
        dsrc_buf_reset(&le);
        prom_value(&le, h->bounds[i]);
        if (le.failed) {
            w->out->failed = 1;
            break;
        }
        prom_line(w, "_bucket", labels, n, le.s, (double)cum);
    }
    dsrc_buf_free(&le);
    prom_line(w, "_bucket", labels, n, "+Inf", (double)h->count);
    prom_line(w, "_sum", labels, n, NULL, h->sum);
    prom_line(w, "_count", labels, n, NULL, (double)h->count);
}

void prom_hist_init(prom_hist *h, const double *bounds, size_t n)
{
    memset(h, 0, sizeof *h);
    h->bounds = bounds;
    h->n_bounds = n < PROM_HIST_MAX ? n : PROM_HIST_MAX;
}

void prom_hist_observe(prom_hist *h, double v)
{
    size_t i;

    if (isnan(v))
        return;
    for (i = 0; i < h->n_bounds; i++)
        if (v <= h->bounds[i]) {
            h->buckets[i]++;
            break;
        }
    h->count++;
    h->sum += v;
}
