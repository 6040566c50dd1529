/* SPDX-License-Identifier: Apache-2.0 */
/* cli_catalog.c -- dsrc catalog, dsrc drift, dsrc stats: the catalogs and
 * drift events in the state store, read directly (no source is touched,
 * dsrcd need not run); and the stored catalog replayed for dsrc discover
 * --cached.  See cli.h. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "catalog/discovery.h"
#include "catalog/drift.h"
#include "catalog/snapshot.h"
#include "catalog/view.h"
#include "table.h"

store *cli_open_store(cli *c, int *rc)
{
    derr e = {0};
    store *st;

    if ((*rc = cli_load_config(c, 0)))
        return NULL;
    if (!(st = store_open_cfg(c->cfg, &e))) {
        cli_err_print(c, &e);
        derr_clear(&e);
        *rc = CLI_EXIT_FAIL;
    }
    return st;
}

int cli_opt_time(const cli *c, const char *cmd, const char *opt, const char *arg, int ahead,
                 int64_t *ms)
{
    static const char *const fmts[] = {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S",
                                       "%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M", "%Y-%m-%d", NULL};
    struct tm tm;
    int64_t d;
    int i;

    for (i = 0; fmts[i]; i++) {
        const char *end;
        memset(&tm, 0, sizeof tm);
        if ((end = strptime(arg, fmts[i], &tm)) && !*end) {
            *ms = (int64_t)timegm(&tm) * 1000;
            return 0;
        }
    }
    if (cfg_parse_duration(arg, &d) == 0) {
        *ms = ahead ? store_now() + d : store_now() - d;
        return 0;
    }
    fprintf(stderr, "%s %s: %s needs a time (2024-01-31T12:00:00Z) or %s (2h, 7d), "
                    "not '%s'\n", c->prog, cmd, opt, ahead ? "a duration" : "an age", arg);
    return -1;
}

static void catalog_fmt_ms(char *buf, size_t n, int64_t ms)
{
    cli_fmt_time(buf, n, ms / 1000);
}

/* "3 s", "5 min", "2 h", "4 d" ago. */
static void catalog_fmt_age(char *buf, size_t n, int64_t ms)
{
    int64_t s = ms / 1000;

    if (s < 120)
        snprintf(buf, n, "%lld s", (long long)s);
    else if (s < 7200)
        snprintf(buf, n, "%lld min", (long long)(s / 60));
    else if (s < 172800)
        snprintf(buf, n, "%lld h", (long long)(s / 3600));
    else
        snprintf(buf, n, "%lld d", (long long)(s / 86400));
}

/* The snapshot of source (by id, at a time, or the latest) and its items;
 * 0, or an exit status (printed). */
static int catalog_get(cli *c, store *st, const char *source, int64_t id, int64_t at,
                       snapshot_info *info, catalog_list *l)
{
    derr e = {0};

    if (catalog_view_get(st, source, id, at, info, l, &e) == DSRC_OK)
        return 0;
    cli_err_print(c, &e);
    derr_clear(&e);
    return CLI_EXIT_FAIL;
}

/* ------------------------------------------------------------------------ */
/* Replaying a stored catalog as metadata (dsrc discover --cached)           */

int cli_catalog_replay(cli *c, store *st, const char *source, int (*fn)(void *, const dsrc_metadata *),
                       void *user, snapshot_info *info)
{
    catalog_list l = {0};
    size_t i, k;
    int rc = catalog_get(c, st, source, 0, 0, info, &l);

    for (i = 0; rc == 0 && i < l.n; i++) {
        json_t *o = catalog_view_entry_json(&l.v[i]), *cols = json_object_get(o, "columns"), *col;
        json_t *stats = json_object_get(o, "stats"), *rows = json_object_get(stats, "rows");
        json_t *size = json_object_get(stats, "size_bytes"), *mt = json_object_get(stats, "mtime");
        json_t *cc = json_object_get(stats, "column_comments");
        size_t n = json_array_size(cols);
        dsrc_column *cv = n ? calloc(n, sizeof *cv) : NULL;
        dsrc_item it;
        dsrc_metadata md;

        if (n && !cv) {
            fprintf(stderr, "%s: out of memory\n", c->prog);
            json_decref(o);
            rc = CLI_EXIT_FAIL;
            break;
        }
        memset(&it, 0, sizeof it);
        it.struct_size = sizeof it;
        it.path = l.v[i].path;
        it.name = strrchr(it.path, '/') ? strrchr(it.path, '/') + 1 : it.path;
        it.kind = catalog_kind_parse(json_string_value(json_object_get(o, "kind")));
        it.rows = json_is_integer(rows) ? json_integer_value(rows) : -1;
        it.rows_estimated = json_is_true(json_object_get(stats, "rows_estimated"));
        it.size_bytes = json_is_integer(size) ? json_integer_value(size) : -1;
        it.mtime = json_is_integer(mt) ? json_integer_value(mt) : -1;
        it.comment = json_string_value(json_object_get(stats, "comment"));
        json_array_foreach(cols, k, col) {
            json_t *nl = json_object_get(col, "nullable");
            cv[k].name = json_string_value(json_object_get(col, "name"));
            cv[k].type = DSRC_T_TEXT;
            cv[k].native_type = json_string_value(json_object_get(col, "type"));
            cv[k].nullable = json_is_null(nl) ? -1 : json_is_true(nl);
            cv[k].primary_key = (int)json_integer_value(json_object_get(col, "key"));
            cv[k].default_value = json_string_value(json_object_get(col, "default"));
            cv[k].comment = cv[k].name ? json_string_value(json_object_get(cc, cv[k].name)) : NULL;
        }
        memset(&md, 0, sizeof md);
        md.struct_size = sizeof md;
        md.item = &it;
        md.columns = cv;
        md.n_columns = cv ? n : 0;
        if (fn(user, &md) != 0)
            rc = CLI_EXIT_FAIL;
        free(cv);
        json_decref(o);
    }
    catalog_list_free(&l);
    return rc;
}

void cli_catalog_age(const snapshot_info *info, char *buf, size_t n)
{
    char t[32], age[32];

    catalog_fmt_ms(t, sizeof t, info->verified_at);
    catalog_fmt_age(age, sizeof age, store_now() - info->verified_at);
    snprintf(buf, n, "snapshot %lld, last verified %s (%s ago)", (long long)info->id, t, age);
}

/* ------------------------------------------------------------------------ */
/* catalog                                                                   */

typedef struct catalog_args {
    int64_t at, id;
    const char *search;
} catalog_args;

static int catalog_opt(cli *c, int opt, const char *arg, void *user)
{
    catalog_args *a = user;
    long long v;

    switch (opt) {
    case 't':
        return cli_opt_time(c, "catalog", "--at", arg, 0, &a->at);
    case 'S':
        if (cli_opt_int(c, "catalog", "--snapshot", arg, 1, INT64_MAX, &v) < 0)
            return -1;
        a->id = v;
        return 0;
    case 's':
        a->search = arg;
        return 0;
    }
    return -1;
}

static int catalog_search(cli *c, store *st, const char *pattern)
{
    static const char *const head[] = {"source", "item", "kind", "column", "type"};
    static const char *const keys[] = {"source", "item", "kind", "column", "type"};
    derr e = {0};
    json_t *res = snapshot_search(st, pattern, &e), *o;
    size_t i, k;
    table *t;

    if (!res) {
        cli_err_print(c, &e);
        derr_clear(&e);
        return CLI_EXIT_FAIL;
    }
    if (c->json) {
        cli_json_print(res);
        return 0;
    }
    if (!json_array_size(res)) {
        printf("nothing matches '%s' in the stored catalogs\n", pattern);
        json_decref(res);
        return 0;
    }
    t = table_new(5, head);
    json_array_foreach(res, i, o) {
        const char *cells[5];
        for (k = 0; k < 5; k++)
            cells[k] = json_string_value(json_object_get(o, keys[k]));
        table_add(t, cells);
    }
    table_print(t, stdout);
    table_free(t);
    json_decref(res);
    return 0;
}

static void catalog_print_item(const catalog_entry *en)
{
    static const char *const head[] = {"#", "column", "type", "null", "pk", "default"};
    json_t *o = catalog_view_entry_json(en), *col;
    table *t = table_new(6, head);
    size_t i;

    printf("%s (%s)\n\n", en->path, json_string_value(json_object_get(o, "kind")));
    table_right(t, 0);
    json_array_foreach(json_object_get(o, "columns"), i, col) {
        char num[24], pk[24];
        json_t *nl = json_object_get(col, "nullable");
        json_int_t key = json_integer_value(json_object_get(col, "key"));
        snprintf(num, sizeof num, "%zu", i + 1);
        snprintf(pk, sizeof pk, key ? "%lld" : "-", (long long)key);
        const char *cells[] = {num, json_string_value(json_object_get(col, "name")),
                               json_string_value(json_object_get(col, "type")),
                               json_is_null(nl) ? "?" : json_is_true(nl) ? "yes" : "no", pk,
                               json_string_value(json_object_get(col, "default"))};
        table_add(t, cells);
    }
    table_print(t, stdout);
    table_free(t);
    json_decref(o);
}

static void catalog_print_list(const catalog_list *l)
{
    static const char *const head[] = {"item", "kind", "rows", "cols"};
    table *t = table_new(4, head);
    size_t i;

    table_right(t, 2);
    table_right(t, 3);
    for (i = 0; i < l->n; i++) {
        json_t *o = catalog_view_entry_json(&l->v[i]), *stats = json_object_get(o, "stats");
        json_t *rows = json_object_get(stats, "rows");
        char r[32], n[24];
        cli_fmt_i64(r, sizeof r, json_is_integer(rows) ? json_integer_value(rows) : -1,
                    json_is_true(json_object_get(stats, "rows_estimated")));
        snprintf(n, sizeof n, "%zu", json_array_size(json_object_get(o, "columns")));
        const char *cells[] = {l->v[i].path, json_string_value(json_object_get(o, "kind")), r, n};
        table_add(t, cells);
        json_decref(o);
    }
    table_print(t, stdout);
    table_free(t);
}

int cli_cmd_catalog(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {
        {"at", required_argument, NULL, 't'},
        {"snapshot", required_argument, NULL, 'S'},
        {"search", required_argument, NULL, 's'},
        CLI_COMMON_LONGS,
        {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("catalog");
    catalog_args a = {0};
    catalog_list l = {0};
    snapshot_info info;
    const catalog_entry *one = NULL;
    char line[160];
    store *st;
    int i, rc;
    size_t k;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "ht:S:s:", longs, catalog_opt, &a, &rc)) < 0)
        return rc;
    if (a.search ? argc - i != 0 : argc - i < 1 || argc - i > 2)
        return cli_usage_error(c, cmd, a.search ? "--search takes no source"
                                                : "expected a source name and an optional item");
    if (a.at && a.id)
        return cli_usage_error(c, cmd, "--at and --snapshot exclude each other");
    if (!(st = cli_open_store(c, &rc)))
        return rc;
    if (a.search) {
        rc = catalog_search(c, st, a.search);
        store_close(st);
        return rc;
    }
    if (c->json) {
        derr e = {0};
        json_t *o = catalog_view_json(st, argv[i], a.id, a.at,
                                      argc - i == 2 ? argv[i + 1] : NULL, &e);
        store_close(st);
        if (!o) {
            cli_err_print(c, &e);
            derr_clear(&e);
            return CLI_EXIT_FAIL;
        }
        cli_json_print(o);
        return 0;
    }
    rc = catalog_get(c, st, argv[i], a.id, a.at, &info, &l);
    store_close(st);
    for (k = 0; rc == 0 && argc - i == 2 && k < l.n; k++)
        if (strcmp(l.v[k].path, argv[i + 1]) == 0)
            one = &l.v[k];
    if (rc == 0 && argc - i == 2 && !one) {
        fprintf(stderr, "%s: %s has no item '%s' in snapshot %lld\n", c->prog, argv[i],
                argv[i + 1], (long long)info.id);
        rc = CLI_EXIT_FAIL;
    }
    if (rc == 0) {
        cli_catalog_age(&info, line, sizeof line);
        printf("%s: %s, %lld item(s)\n\n", argv[i], line, (long long)info.items);
        if (one)
            catalog_print_item(one);
        else
            catalog_print_list(&l);
    }
    catalog_list_free(&l);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* drift                                                                     */

static int drift_opt(cli *c, int opt, const char *arg, void *user)
{
    return opt == 't' ? cli_opt_time(c, "drift", "--since", arg, 0, user) : -1;
}

/* A JSON value as short text for a cell. */
static char *drift_cell(json_t *v)
{
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_object(v) && json_object_get(v, "type"))
        return strdup(json_string_value(json_object_get(v, "type")) ? json_string_value(
                          json_object_get(v, "type")) : "-");
    if (json_is_object(v) && json_object_get(v, "kind"))
        return strdup(json_string_value(json_object_get(v, "kind")) ? json_string_value(
                          json_object_get(v, "kind")) : "-");
    if (!v || json_is_null(v))
        return NULL;
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static int drift_ack_cmd(cli *c, store *st, const char *source, const char *item)
{
    derr e = {0};
    int64_t n = 0;

    if (drift_ack(st, source, item, &n, &e) != DSRC_OK) {
        cli_err_print(c, &e);
        derr_clear(&e);
        return CLI_EXIT_FAIL;
    }
    if (c->json)
        cli_json_print(json_pack("{s:o, s:o, s:I}", "source", cli_jstr(source), "item",
                                 cli_jstr(item), "acknowledged_breaking", (json_int_t)n));
    else
        printf("%s %s: %lld breaking change(s) acknowledged; its paused fetches run again\n",
               source, item, (long long)n);
    return 0;
}

int cli_cmd_drift(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {{"since", required_argument, NULL, 't'},
                                          CLI_COMMON_LONGS, {NULL, 0, NULL, 0}};
    static const char *const head[] = {"id", "time", "class", "change", "item", "column",
                                       "before", "after", "acked"};
    const cli_cmd *cmd = cli_find_cmd("drift");
    int64_t since = 0;
    json_t *res, *o;
    derr e = {0};
    store *st;
    size_t k;
    table *t;
    int i, rc, ack;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "ht:", longs, drift_opt, &since, &rc)) < 0)
        return rc;
    ack = argc - i >= 1 && strcmp(argv[i], "ack") == 0;
    if (ack ? argc - i != 3 : argc - i != 1)
        return cli_usage_error(c, cmd, ack ? "expected: drift ack SOURCE ITEM"
                                           : "expected one source name");
    if (!(st = cli_open_store(c, &rc)))
        return rc;
    if (ack) {
        rc = drift_ack_cmd(c, st, argv[i + 1], argv[i + 2]);
        store_close(st);
        return rc;
    }
    res = drift_events_json(st, argv[i], since, &e);
    store_close(st);
    if (!res) {
        cli_err_print(c, &e);
        derr_clear(&e);
        return CLI_EXIT_FAIL;
    }
    if (c->json) {
        cli_json_print(res);
        return 0;
    }
    if (!json_array_size(res)) {
        printf("no schema drift recorded for %s\n", argv[i]);
        json_decref(res);
        return 0;
    }
    t = table_new(9, head);
    table_right(t, 0);
    json_array_foreach(res, k, o) {
        char id[24];
        char *before = drift_cell(json_object_get(o, "before"));
        char *after = drift_cell(json_object_get(o, "after"));
        snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(o, "id")));
        const char *cells[] = {id, json_string_value(json_object_get(o, "time")),
                               json_string_value(json_object_get(o, "class")),
                               json_string_value(json_object_get(o, "change")),
                               json_string_value(json_object_get(o, "item")),
                               json_string_value(json_object_get(o, "column")), before, after,
                               json_is_true(json_object_get(o, "acknowledged")) ? "yes" : "no"};
        table_add(t, cells);
        free(before);
        free(after);
    }
    table_print(t, stdout);
    table_free(t);
    json_decref(res);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* stats                                                                     */

int cli_cmd_stats(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {CLI_COMMON_LONGS, {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("stats");
    snapshot_info info;
    json_t *o, *last, *jr, *jb;
    int64_t rows, bytes;
    int has_rows, has_bytes, i, rc;
    derr e = {0};
    store *st;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (argc - i != 1)
        return cli_usage_error(c, cmd, "expected one source name");
    if (!(st = cli_open_store(c, &rc)))
        return rc;
    o = catalog_view_stats_json(st, argv[i], &info, &e);
    store_close(st);
    if (!o) {
        cli_err_print(c, &e);
        derr_clear(&e);
        return CLI_EXIT_FAIL;
    }
    last = json_object_get(o, "last_discovery");
    jr = json_object_get(o, "estimated_rows");
    jb = json_object_get(o, "bytes");
    has_rows = json_is_integer(jr);
    has_bytes = json_is_integer(jb);
    rows = json_integer_value(jr);
    bytes = json_integer_value(jb);
    if (c->json) {
        cli_json_print(o);
        return 0;
    }
    {
        char r[32], b[32], line[160];
        cli_fmt_i64(r, sizeof r, has_rows ? rows : -1, 1);
        cli_fmt_size(b, sizeof b, has_bytes ? bytes : -1);
        cli_catalog_age(&info, line, sizeof line);
        printf("source          %s\n"
               "catalog         %s\n"
               "items           %lld\n"
               "schemas         %lld\n"
               "tables          %lld\n"
               "views           %lld\n"
               "columns         %lld\n"
               "rows            %s\n"
               "bytes           %s\n"
               "last discover   %s, took %lld ms\n"
               "changes (30 d)  %lld\n",
               argv[i], line, (long long)info.items,
               (long long)json_integer_value(json_object_get(o, "schemas")),
               (long long)json_integer_value(json_object_get(o, "tables")),
               (long long)json_integer_value(json_object_get(o, "views")),
               (long long)json_integer_value(json_object_get(o, "columns")), r, b,
               json_string_value(json_object_get(o, "verified_at")),
               (long long)info.duration_ms,
               (long long)json_integer_value(json_object_get(o, "changes_30d")));
        if (json_is_object(last))
            printf("discover mode   %s (%s)\n"
                   "queries         %lld\n"
                   "retries         %lld\n"
                   "errors          %lld\n"
                   "duration        %lld ms\n",
                   json_string_value(json_object_get(last, "mode")),
                   json_string_value(json_object_get(last, "result")),
                   (long long)json_integer_value(json_object_get(last, "queries")),
                   (long long)json_integer_value(json_object_get(last, "retries")),
                   (long long)json_integer_value(json_object_get(last, "errors")),
                   (long long)json_integer_value(json_object_get(last, "duration_ms")));
    }
    json_decref(o);
    return 0;
}
