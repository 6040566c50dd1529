/* SPDX-License-Identifier: Apache-2.0 */
/* table.c -- see table.h */
#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/redact.h"
#include "table.h"

struct table {
    size_t n;
    char **headers;
    unsigned char *right;
    char **cells; /* rows * n */
    size_t rows, cap;
};

static size_t u8_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

static char *clean_dup(const char *s)
{
    char *d = redact_dup(s ? s : "-"), *p;
    if (!d)
        return NULL;
    for (p = d; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return d;
}

table *table_new(size_t n, const char *const *headers)
{
    table *t = calloc(1, sizeof *t);
    size_t i;

    if (!t)
        return NULL;
    t->n = n;
    t->headers = calloc(n, sizeof *t->headers);
    t->right = calloc(n, 1);
    if (!t->headers || !t->right) {
        table_free(t);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        char *h = clean_dup(headers[i]), *p;
        if (!h) {
            table_free(t);
            return NULL;
        }
        for (p = h; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        t->headers[i] = h;
    }
    return t;
}

void table_right(table *t, size_t i)
{
    if (i < t->n)
        t->right[i] = 1;
}

int table_add(table *t, const char *const *cells)
{
    size_t i;

    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **v = realloc(t->cells, cap * t->n * sizeof *v);
        if (!v)
            return -1;
        t->cells = v;
        t->cap = cap;
    }
    for (i = 0; i < t->n; i++) {
        char *c = clean_dup(cells[i]);
        if (!c) {
            while (i-- > 0)
                free(t->cells[t->rows * t->n + i]);
            return -1;
        }
        t->cells[t->rows * t->n + i] = c;
    }
    t->rows++;
    return 0;
}

size_t table_rows(const table *t) { return t->rows; }

static void print_cell(FILE *fp, const char *s, size_t width, int right, int last)
{
    size_t w = u8_width(s), pad = width > w ? width - w : 0;
    if (right)
        fprintf(fp, "%*s%s", (int)pad, "", s);
    else if (last)
        fputs(s, fp);
    else
        fprintf(fp, "%s%*s", s, (int)pad, "");
}

void table_print(const table *t, FILE *fp)
{
    size_t *w = calloc(t->n, sizeof *w), i, r;

    if (!w)
        return;
    for (i = 0; i < t->n; i++)
        w[i] = u8_width(t->headers[i]);
    for (r = 0; r < t->rows; r++)
        for (i = 0; i < t->n; i++) {
            size_t cw = u8_width(t->cells[r * t->n + i]);
            if (cw > w[i])
                w[i] = cw;
        }
    for (i = 0; i < t->n; i++) {
        print_cell(fp, t->headers[i], w[i], t->right[i], i + 1 == t->n);
        fputs(i + 1 == t->n ? "\n" : "  ", fp);
    }
    for (r = 0; r < t->rows; r++)
        for (i = 0; i < t->n; i++) {
            print_cell(fp, t->cells[r * t->n + i], w[i], t->right[i], i + 1 == t->n);
            fputs(i + 1 == t->n ? "\n" : "  ", fp);
        }
    free(w);
}

void table_free(table *t)
{
    size_t i;
    if (!t)
        return;
    if (t->headers)
        for (i = 0; i < t->n; i++)
            free(t->headers[i]);
    for (i = 0; i < t->rows * t->n; i++)
        free(t->cells[i]);
    free(t->headers);
    free(t->right);
    free(t->cells);
    free(t);
}
