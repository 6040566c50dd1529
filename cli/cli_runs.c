/* SPDX-License-Identifier: Apache-2.0 */
/* cli_runs.c -- dsrc runs: the record of runs in the state store, read
 * directly (dsrcd need not run). */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "store/store.h"
#include "table.h"

typedef struct runs_args {
    int state;   /* -1: any */
    int limit;
} runs_args;

static int runs_opt(cli *c, int opt, const char *arg, void *user)
{
    runs_args *a = user;
    char *end;
    long v;

    (void)c;
    switch (opt) {
    case 's':
        if ((a->state = store_state_parse(arg)) < 0) {
            fprintf(stderr, "%s runs: unknown state '%s' (queued, running, succeeded, "
                            "failed, cancelled)\n", c->prog, arg);
            return -1;
        }
        return 0;
    case 'n':
        errno = 0;
        v = strtol(arg, &end, 10);
        if (errno || end == arg || *end || v < 1 || v > 100000) {
            fprintf(stderr, "%s runs: --limit wants a number from 1 to 100000, not '%s'\n",
                    c->prog, arg);
            return -1;
        }
        a->limit = (int)v;
        return 0;
    }
    return -1;
}

/* A JSON member as text for a table cell ("-" when null). */
static const char *runs_cell(json_t *o, const char *key, char *buf, size_t n)
{
    json_t *v = json_object_get(o, key);

    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    if (json_is_boolean(v))
        return json_is_true(v) ? "yes" : "no";
    return NULL;
}

/* `runs ID`: every member of one run, one per line. */
static void runs_print_one(json_t *o)
{
    const char *key;
    json_t *v;
    char buf[32];

    json_object_foreach(o, key, v) {
        const char *s = runs_cell(o, key, buf, sizeof buf);
        json_t *js = cli_jstr(s ? s : "-");
        printf("%-13s %s\n", key, json_string_value(js));
        json_decref(js);
    }
}

static int runs_print_table(json_t *arr)
{
    static const char *const head[] = {"id", "source", "kind", "item", "trigger", "state",
                                       "attempt", "started", "rows", "endpoint", "error"};
    static const char *const keys[] = {"id", "source", "kind", "item", "trigger", "state",
                                       "attempt", "started_at", "rows", "endpoint", "error"};
    table *t = table_new(11, head);
    size_t i, k;
    json_t *o;

    if (!t)
        return -1;
    table_right(t, 0);
    table_right(t, 6);
    table_right(t, 8);
    json_array_foreach(arr, i, o) {
        char bufs[11][32];
        const char *cells[11];
        for (k = 0; k < 11; k++)
            cells[k] = runs_cell(o, keys[k], bufs[k], sizeof bufs[k]);
        table_add(t, cells);
    }
    table_print(t, stdout);
    table_free(t);
    return 0;
}

int cli_cmd_runs(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {
        {"state", required_argument, NULL, 's'},
        {"limit", required_argument, NULL, 'n'},
        CLI_COMMON_LONGS,
        {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("runs");
    runs_args a = {.state = -1, .limit = 20};
    const char *source = NULL;
    long long id = 0;
    store *st;
    json_t *res;
    derr e = {0};
    int i, rc;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "hs:n:", longs, runs_opt, &a, &rc)) < 0)
        return rc;
    if (argc - i > 1)
        return cli_usage_error(c, cmd, "expected at most one source name or run id");
    if (argc - i == 1) {
        char *end;
        errno = 0;
        id = strtoll(argv[i], &end, 10);
        if (errno || end == argv[i] || *end || id <= 0) {
            id = 0;
            source = argv[i];
        }
    }
    if ((rc = cli_load_config(c, 0)))
        return rc;
    if (!(st = store_open(c->cfg->state_dir, &e))) {
        cli_err_print(c, &e);
        derr_clear(&e);
        return CLI_EXIT_FAIL;
    }
    /* runs left open by a process that is gone are resolved first */
    if (store_recover(st, NULL, NULL, &e) < 0) {
        cli_err_print(c, &e);
        derr_clear(&e);
    }
    res = id ? store_run_json(st, (int64_t)id, &e)
             : store_runs_json(st, source, a.state, a.limit, &e);
    store_close(st);
    if (!res) {
        cli_err_print(c, &e);
        rc = e.status == DSRC_E_NOT_FOUND ? CLI_EXIT_FAIL : cli_fail_status(&e);
        derr_clear(&e);
        return rc;
    }
    if (c->json) {
        cli_json_print(res);
        return 0;
    }
    if (id)
        runs_print_one(res);
    else if (json_array_size(res) == 0)
        printf("no runs%s%s\n", source ? " of " : "", source ? source : "");
    else
        runs_print_table(res);
    json_decref(res);
    return 0;
}
