/* SPDX-License-Identifier: Apache-2.0 */
/* diag.c -- see diag.h */
#include <config.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "base/redact.h"

void diag_add(diag_list *l, diag_severity sev, const char *file, int line,
              const char *fmt, ...)
{
    va_list ap;
    char *raw = NULL;
    int n;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        diag *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return;
        l->v = v;
        l->cap = cap;
    }
    va_start(ap, fmt);
    n = vasprintf(&raw, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    l->v[l->n].severity = sev;
    l->v[l->n].file = file ? strdup(file) : NULL;
    l->v[l->n].line = line;
    l->v[l->n].msg = redact_dup(raw);
    free(raw);
    l->n++;
    if (sev == DIAG_ERROR)
        l->n_errors++;
}

void diag_print(const diag_list *l, FILE *fp)
{
    size_t i;
    for (i = 0; i < l->n; i++) {
        const diag *d = &l->v[i];
        const char *sev = d->severity == DIAG_ERROR ? "error" : "warning";
        if (d->file && d->line > 0)
            fprintf(fp, "%s:%d: %s: %s\n", d->file, d->line, sev, d->msg ? d->msg : "");
        else if (d->file)
            fprintf(fp, "%s: %s: %s\n", d->file, sev, d->msg ? d->msg : "");
        else
            fprintf(fp, "%s: %s\n", sev, d->msg ? d->msg : "");
    }
}

void diag_free(diag_list *l)
{
    size_t i;
    for (i = 0; i < l->n; i++) {
        free(l->v[i].file);
        free(l->v[i].msg);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}
