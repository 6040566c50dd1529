/* SPDX-License-Identifier: Apache-2.0 */
/* contract.c -- see contract.h */
#include <config.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dsrc/plugin_util.h>

#include "plugin/contract.h"

/* Which cell may stand in which column: dsrc_cell_fits() of
 * <dsrc/plugin_util.h>, the rule the plugins read too; NULL cells are
 * decided by nullable. */

static int contract_off;
static pthread_once_t contract_once = PTHREAD_ONCE_INIT;

static void contract_read_env(void)
{
    const char *v = getenv("DSRC_BENCH_NO_CONTRACT");

    contract_off = v && strcmp(v, "1") == 0;
}

/* Record the first violation; always returns -1 (stop). */
static int contract_fail(contract_rows *cr, const char *fmt, ...) DSRC_PRINTF(2, 3);
static int contract_fail(contract_rows *cr, const char *fmt, ...)
{
    char *what = NULL;
    va_list ap;

    if (cr->bug)
        return -1;
    va_start(ap, fmt);
    if (vasprintf(&what, fmt, ap) < 0)
        what = NULL;
    va_end(ap);
    if (asprintf(&cr->bug, "plugin '%s' bug: %s", cr->plugin,
                 what ? what : "it broke the row sink's rules") < 0)
        cr->bug = NULL;
    free(what);
    if (!cr->bug) /* out of memory: still refuse, with a fixed message */
        cr->bug = strdup("plugin bug: out of memory describing it");
    return -1;
}

/* "int64", or "of unknown type 42" into buf. */
static const char *contract_type(dsrc_type t, char *buf, size_t n)
{
    if (t == DSRC_T_DOUBLE_TEXT)
        return "a double's text";
    if (t >= DSRC_T_NULL && t <= DSRC_T_JSON)
        return dsrc_type_name(t);
    snprintf(buf, n, "of unknown type %d", (int)t);
    return buf;
}

static int contract_schema(void *user, const dsrc_column *cols, size_t n)
{
    contract_rows *cr = user;
    size_t i, total = 0;
    char *p;

    if (cr->bug)
        return -1;
    if (!cr->have_schema && (cols || n == 0)) {
        for (i = 0; i < n; i++)
            total += strlen(cols[i].name ? cols[i].name : "") + 1;
        cr->cols = calloc(n ? n : 1, sizeof *cr->cols);
        cr->names = malloc(total ? total : 1);
        if (!cr->cols || !cr->names)
            return contract_fail(cr, "out of memory copying the schema");
        for (i = 0, p = cr->names; i < n; i++) {
            size_t len = strlen(cols[i].name ? cols[i].name : "") + 1;
            memcpy(p, cols[i].name ? cols[i].name : "", len);
            cr->cols[i].name = p;
            cr->cols[i].type = cols[i].type;
            cr->cols[i].nullable = cols[i].nullable;
            cr->cols[i].typed = dsrc_cell_fits(cols[i].type, cols[i].type);
            p += len;
        }
        cr->n_cols = n;
        cr->have_schema = 1;
    }
    /* a second schema, or none: the writer behind refuses it */
    return cr->inner->schema ? cr->inner->schema(cr->inner->user, cols, n) : 0;
}

static int contract_row(void *user, const dsrc_cell *cells, size_t n)
{
    contract_rows *cr = user;
    unsigned long long row = (unsigned long long)++cr->rows;
    char b1[40], b2[40];
    size_t i;

    if (cr->bug)
        return -1;
    if (!cr->have_schema) /* after the plugin's own bytes: the writer decides */
        return cr->inner->row(cr->inner->user, cells, n);
    if (n != cr->n_cols)
        return contract_fail(cr, "row %llu has %zu cell(s), the schema has %zu column(s)", row, n,
                             cr->n_cols);
    if (n && !cells)
        return contract_fail(cr, "row %llu has no cells", row);
    for (i = 0; i < n; i++) {
        const contract_col *c = &cr->cols[i];
        dsrc_type t = cells[i].type;

        if (t == c->type && c->typed) /* the common case: its own type */
            continue;
        if (t == DSRC_T_NULL) {
            if (c->nullable == 0)
                return contract_fail(cr, "row %llu, column '%s' is not nullable but the "
                                     "cell is NULL", row, c->name);
            continue;
        }
        if (!dsrc_cell_fits(c->type, t))
            return contract_fail(cr, "row %llu, column '%s' is declared %s but the cell is %s",
                                 row, c->name, contract_type(c->type, b1, sizeof b1),
                                 contract_type(t, b2, sizeof b2));
        if (t == DSRC_T_DOUBLE_TEXT && !dsrc_double_text_valid(cells[i].v.s.ptr, cells[i].v.s.len))
            return contract_fail(cr, "row %llu, column '%s': the double's text is not a number "
                                 "(%zu byte(s))", row, c->name,
                                 cells[i].v.s.ptr ? cells[i].v.s.len : 0);
    }
    return cr->inner->row(cr->inner->user, cells, n);
}

const dsrc_row_sink *contract_rows_init(contract_rows *cr, const char *plugin,
                                        const dsrc_row_sink *inner)
{
    memset(cr, 0, sizeof *cr);
    pthread_once(&contract_once, contract_read_env);
    if (!inner || !inner->row || contract_off)
        return inner;
    cr->inner = inner;
    cr->plugin = plugin ? plugin : "?";
    cr->sink.struct_size = sizeof cr->sink;
    cr->sink.user = cr;
    cr->sink.schema = contract_schema;
    cr->sink.row = contract_row;
    return &cr->sink;
}

const char *contract_rows_bug(const contract_rows *cr)
{
    return cr->bug;
}

void contract_rows_free(contract_rows *cr)
{
    free(cr->cols);
    free(cr->names);
    free(cr->bug);
    memset(cr, 0, sizeof *cr);
}
