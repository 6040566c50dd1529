/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mys_buf.c -- growing strings and arrays, quoting and item paths for the
 * mysql plugin.
 */
#define _GNU_SOURCE
#include "mys.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>

void mys_buf_ident(dsrc_buf *b, const char *id)
{
    const char *p, *q;

    dsrc_buf_addn(b, "`", 1);
    for (p = id; (q = strchr(p, '`')) != NULL; p = q + 1) {
        dsrc_buf_addn(b, p, (size_t)(q - p));
        dsrc_buf_addn(b, "``", 2);
    }
    dsrc_buf_add(b, p);
    dsrc_buf_addn(b, "`", 1);
}

void mys_buf_literal(dsrc_buf *b, MYSQL *my, const char *s)
{
    size_t n = strlen(s);
    unsigned long out;
    char *tmp;

    if (b->failed)
        return;
    /* The escaped form is at most twice as long, plus the NUL.  Connector/C
     * escapes for the connection's character set and follows the server's
     * NO_BACKSLASH_ESCAPES status (quotes doubled instead of backslashes),
     * which is right for a literal in single quotes. */
    tmp = malloc(2 * n + 1);
    if (!tmp) {
        b->failed = 1;
        return;
    }
    out = mysql_real_escape_string(my, tmp, s, (unsigned long)n);
    if (out == (unsigned long)-1) {
        free(tmp);
        b->failed = 1;
        return;
    }
    dsrc_buf_addn(b, "'", 1);
    dsrc_buf_addn(b, tmp, (size_t)out);
    dsrc_buf_addn(b, "'", 1);
    free(tmp);
}

void *mys_grow(void *v, size_t *cap, size_t size)
{
    size_t n = *cap ? *cap * 2 : 16;
    void *nv = realloc(v, n * size);

    if (nv)
        *cap = n;
    return nv;
}

void mys_wipe_free(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

void mys_path_free(mys_path *p)
{
    free(p->db);
    free(p->name);
    p->db = p->name = NULL;
}

dsrc_status mys_path_object(const dsrc_conn *c, const char *path, mys_path *out,
                            dsrc_error *err)
{
    dsrc_path sp;
    dsrc_status st;

    out->db = out->name = NULL;
    if (!path || !*path)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "no item given: name a table or view as \"database/table\"");
    st = dsrc_path_split(path, 2, &sp, err);
    if (st != DSRC_OK)
        return st;
    if (sp.n == 1) {
        if (!c->p.database)
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                "'%s' names no database and the source sets none: write it"
                                " as \"database/%s\"", path, path);
        out->db = st == DSRC_OK ? strdup(c->p.database) : NULL;
        out->name = st == DSRC_OK ? strdup(sp.part[0]) : NULL;
    } else {
        if (!sp.part[0][0])
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                "'%s': the database part is empty", path);
        else if (!sp.part[1][0])
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                "'%s' is a database, not a table or view", path);
        out->db = st == DSRC_OK ? strdup(sp.part[0]) : NULL;
        out->name = st == DSRC_OK ? strdup(sp.part[1]) : NULL;
    }
    dsrc_path_free(&sp);
    if (st != DSRC_OK)
        return st;
    if (!out->db || !out->name) {
        mys_path_free(out);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    return DSRC_OK;
}

int mys_is_system_db(const char *name)
{
    static const char *const sys[] = {"mysql", "information_schema", "performance_schema",
                                      "sys"};
    size_t i;
    for (i = 0; i < sizeof sys / sizeof sys[0]; i++)
        if (strcasecmp(name, sys[i]) == 0)
            return 1;
    return 0;
}
