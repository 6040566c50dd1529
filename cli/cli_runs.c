/* SPDX-License-Identifier: Apache-2.0 */
/* cli_runs.c -- dsrc runs and dsrc queries (the record of runs and the
 * history of queries in the state store: from dsrcd when it runs, else
 * read directly), dsrc nodes, dsrc jobs and dsrc run (asking dsrcd). */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "api/api.h"
#include "store/query.h"
#include "store/store.h"
#include "table.h"

#define RUNS_API_TIMEOUT_MS 10000
#define RUNS_POLL_MS 200

typedef struct runs_args {
    int state;   /* -1: any */
    int limit;
} runs_args;

static int runs_opt(cli *c, int opt, const char *arg, void *user)
{
    runs_args *a = user;
    long long v;

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
        if (cli_opt_int(c, "runs", "--limit", arg, 1, 100000, &v) < 0)
            return -1;
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
                                       "node", "attempt", "started", "rows", "endpoint",
                                       "error"};
    static const char *const keys[] = {"id", "source", "kind", "item", "trigger", "state",
                                       "node", "attempt", "started_at", "rows", "endpoint",
                                       "error"};
    table *t = table_new(12, head);
    size_t i, k;
    json_t *o;

    if (!t)
        return -1;
    table_right(t, 0);
    table_right(t, 7);
    table_right(t, 9);
    json_array_foreach(arr, i, o) {
        char bufs[12][32];
        const char *cells[12];
        for (k = 0; k < 12; k++)
            cells[k] = runs_cell(o, keys[k], bufs[k], sizeof bufs[k]);
        table_add(t, cells);
    }
    table_print(t, stdout);
    table_free(t);
    return 0;
}

/* `runs` from dsrcd when it runs (its answer, or its error in `e`): 1; 0
 * when it does not answer (not running, socket not ours to open): the
 * store is read directly then. */
static int runs_from_dsrcd(cli *c, long long id, const char *source, const runs_args *a,
                           json_t **res, derr *e)
{
    char path[512];
    dsrc_status st;

    if (!c->cfg->control_socket)
        return 0;
    if (id)
        snprintf(path, sizeof path, "/v1/runs/%lld", id);
    else
        snprintf(path, sizeof path, "/v1/runs?limit=%d%s%s%s%s", a->limit,
                 a->state >= 0 ? "&state=" : "",
                 a->state >= 0 ? store_state_name((run_state)a->state) : "",
                 source ? "&source=" : "", source ? source : "");
    st = api_client_call(c->cfg->control_socket, "GET", path, NULL, RUNS_API_TIMEOUT_MS, res,
                         e);
    if (st == DSRC_E_UNREACHABLE || st == DSRC_E_PERMISSION) {
        derr_clear(e);
        return 0;
    }
    if (st == DSRC_OK && (id ? !json_is_object(*res) : !json_is_array(*res))) {
        json_decref(*res);
        *res = NULL;
        derr_set(e, DSRC_E_INTERNAL, "malformed answer from dsrcd");
    }
    return 1;
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
    if (!runs_from_dsrcd(c, id, source, &a, &res, &e)) {
        if (!(st = store_open_cfg(c->cfg, &e))) {
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
    }
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

/* ------------------------------------------------------------------------ */
/* queries                                                                   */

/* The QUERY column holds at most this many characters of the text. */
#define QUERIES_TEXT_WIDTH 60

typedef struct queries_args {
    int limit;
} queries_args;

static int queries_opt(cli *c, int opt, const char *arg, void *user)
{
    queries_args *a = user;
    long long v;

    if (opt != 'n' || cli_opt_int(c, "queries", "--limit", arg, 1, 100000, &v) < 0)
        return -1;
    a->limit = (int)v;
    return 0;
}

static int queries_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* The text on one line (each run of white space one space), cut to
 * QUERIES_TEXT_WIDTH characters, "..." ending it when longer, into buf
 * (n >= 4 * QUERIES_TEXT_WIDTH + 8 bytes). */
static const char *queries_short(const char *text, char *buf, size_t n)
{
    size_t o = 0, chars = 0, cut = 0;

    if (!text)
        return NULL;
    while (queries_space(*text))
        text++;
    while (*text && o + 5 < n) {
        if (queries_space(*text)) {
            while (queries_space(*text))
                text++;
            if (!*text)
                break;
            if (++chars == QUERIES_TEXT_WIDTH - 2)
                cut = o;
            buf[o++] = ' ';
            continue;
        }
        if (((unsigned char)*text & 0xC0) != 0x80) {
            if (++chars > QUERIES_TEXT_WIDTH)
                break;
            if (chars == QUERIES_TEXT_WIDTH - 2)
                cut = o;
        }
        buf[o++] = *text++;
    }
    if (chars > QUERIES_TEXT_WIDTH)
        memcpy(buf + cut, "...", 4);
    else
        buf[o] = '\0';
    return buf;
}

/* `queries` from dsrcd when it runs: 1 (its answer in *res, or its error
 * in `e`); 0 when it does not answer: the store is read directly then. */
static int queries_from_dsrcd(cli *c, const char *source, int limit, json_t **res, derr *e)
{
    char path[512];
    dsrc_status st;

    if (!c->cfg->control_socket)
        return 0;
    snprintf(path, sizeof path, "/v1/queries?limit=%d", limit);
    if (source) {
        size_t o = strlen(path);
        const unsigned char *p;
        o += (size_t)snprintf(path + o, sizeof path - o, "&source=");
        for (p = (const unsigned char *)source; *p && o + 4 < sizeof path; p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')
                path[o++] = (char)*p;
            else
                o += (size_t)snprintf(path + o, sizeof path - o, "%%%02X", *p);
        }
        path[o] = '\0';
    }
    st = api_client_call(c->cfg->control_socket, "GET", path, NULL, RUNS_API_TIMEOUT_MS, res,
                         e);
    if (st == DSRC_E_UNREACHABLE || st == DSRC_E_PERMISSION) {
        derr_clear(e);
        return 0;
    }
    if (st == DSRC_OK && !json_is_array(*res)) {
        json_decref(*res);
        *res = NULL;
        derr_set(e, DSRC_E_INTERNAL, "malformed answer from dsrcd");
    }
    return 1;
}

static void queries_print_table(json_t *arr)
{
    static const char *const head[] = {"id", "time", "source", "endpoint", "caller", "rows",
                                       "bytes", "ms", "result", "query"};
    static const char *const keys[] = {"id", "started_at", "source", "endpoint", "caller",
                                       "rows", "bytes", "duration_ms", "result", "text"};
    table *t = table_new(10, head);
    size_t i, k;
    json_t *o;

    if (!t)
        return;
    table_right(t, 0);
    table_right(t, 5);
    table_right(t, 6);
    table_right(t, 7);
    json_array_foreach(arr, i, o) {
        char bufs[10][32], text[4 * QUERIES_TEXT_WIDTH + 8], when[32];
        const char *cells[10];
        for (k = 0; k < 9; k++)
            cells[k] = runs_cell(o, keys[k], bufs[k], sizeof bufs[k]);
        /* the time to the second: 2024-01-31T12:00:00Z */
        if (cells[1] && strlen(cells[1]) == 24) {
            snprintf(when, sizeof when, "%.19sZ", cells[1]);
            cells[1] = when;
        }
        cells[9] = queries_short(json_string_value(json_object_get(o, "text")), text,
                                 sizeof text);
        table_add(t, cells);
    }
    table_print(t, stdout);
    table_free(t);
}

int cli_cmd_queries(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {
        {"limit", required_argument, NULL, 'n'},
        CLI_COMMON_LONGS,
        {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("queries");
    queries_args a = {.limit = 20};
    const char *source = NULL;
    json_t *res = NULL;
    store *st;
    derr e = {0};
    int i, rc;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "hn:", longs, queries_opt, &a, &rc)) < 0)
        return rc;
    if (argc - i > 1)
        return cli_usage_error(c, cmd, "expected at most one source name");
    if (argc - i == 1)
        source = argv[i];
    if ((rc = cli_load_config(c, 0)))
        return rc;
    if (!queries_from_dsrcd(c, source, a.limit, &res, &e)) {
        if (!(st = store_open_cfg(c->cfg, &e))) {
            cli_err_print(c, &e);
            derr_clear(&e);
            return CLI_EXIT_FAIL;
        }
        res = store_queries_json(st, source, a.limit, &e);
        store_close(st);
    }
    if (!res) {
        cli_err_print(c, &e);
        rc = cli_fail_status(&e);
        derr_clear(&e);
        return rc;
    }
    if (c->json) {
        cli_json_print(res);
        return 0;
    }
    if (json_array_size(res) == 0)
        printf("no queries%s%s\n", source ? " of " : "", source ? source : "");
    else
        queries_print_table(res);
    json_decref(res);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* nodes                                                                     */

/* A node is live while its heartbeat is this recent (as dsrcd's API). */
#define NODES_LIVE_MS 10000

int cli_cmd_nodes(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {CLI_COMMON_LONGS, {NULL, 0, NULL, 0}};
    static const char *const head[] = {"name", "live", "version", "started", "heartbeat",
                                       "leases", "lease until", "runs"};
    static const char *const keys[] = {"name", "live", "version", "started", "heartbeat",
                                       "leases", "lease_until", "runs"};
    const cli_cmd *cmd = cli_find_cmd("nodes");
    json_t *res = NULL, *o;
    derr e = {0};
    dsrc_status st;
    store *sto;
    table *t;
    size_t i, k;
    int a, rc;

    if ((a = cli_parse_opts(c, cmd, argc, argv, "h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (argc - a > 0)
        return cli_usage_error(c, cmd, "expected no argument");
    if ((rc = cli_load_config(c, 0)))
        return rc;
    st = c->cfg->control_socket
             ? api_client_call(c->cfg->control_socket, "GET", "/v1/nodes", NULL,
                               RUNS_API_TIMEOUT_MS, &res, &e)
             : DSRC_E_UNREACHABLE;
    if (st == DSRC_E_UNREACHABLE || st == DSRC_E_PERMISSION) {
        /* dsrcd does not answer: the store is read directly */
        derr_clear(&e);
        if ((sto = store_open_cfg(c->cfg, &e))) {
            res = store_nodes_json(sto, NODES_LIVE_MS, &e);
            store_close(sto);
        }
    } else if (st == DSRC_OK && !json_is_array(res)) {
        json_decref(res);
        res = NULL;
        derr_set(&e, DSRC_E_INTERNAL, "malformed answer from dsrcd");
    }
    if (!res) {
        cli_err_print(c, &e);
        rc = cli_fail_status(&e);
        derr_clear(&e);
        return rc;
    }
    if (c->json) {
        cli_json_print(res);
        return 0;
    }
    if (json_array_size(res) == 0) {
        printf("no nodes (no dsrcd has used this state store yet)\n");
        json_decref(res);
        return 0;
    }
    if (!(t = table_new(8, head))) {
        json_decref(res);
        return CLI_EXIT_FAIL;
    }
    table_right(t, 5);
    table_right(t, 7);
    json_array_foreach(res, i, o) {
        char bufs[8][32];
        const char *cells[8];
        for (k = 0; k < 8; k++)
            cells[k] = runs_cell(o, keys[k], bufs[k], sizeof bufs[k]);
        table_add(t, cells);
    }
    table_print(t, stdout);
    table_free(t);
    json_decref(res);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* jobs                                                                      */

int cli_cmd_jobs(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {CLI_COMMON_LONGS, {NULL, 0, NULL, 0}};
    static const char *const head[] = {"source", "kind", "item", "schedule", "state",
                                       "next", "last run", "result", "error"};
    const cli_cmd *cmd = cli_find_cmd("jobs");
    json_t *res = NULL, *o;
    char path[512];
    derr e = {0};
    table *t;
    size_t k;
    int i, rc;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (argc - i > 1)
        return cli_usage_error(c, cmd, "expected at most one source name");
    if ((rc = cli_load_config(c, 0)))
        return rc;
    snprintf(path, sizeof path, "/v1/jobs%s%s", argc - i == 1 ? "?source=" : "",
             argc - i == 1 ? argv[i] : "");
    if (api_client_call(c->cfg->control_socket, "GET", path, NULL, RUNS_API_TIMEOUT_MS, &res,
                        &e) != DSRC_OK || !json_is_array(res)) {
        if (!e.msg)
            derr_set(&e, DSRC_E_INTERNAL, "malformed answer from dsrcd");
        cli_err_print(c, &e);
        rc = cli_fail_status(&e);
        derr_clear(&e);
        json_decref(res);
        return rc;
    }
    if (c->json) {
        cli_json_print(res);
        return 0;
    }
    if (!json_array_size(res)) {
        printf("no jobs%s%s: no schedule.discover and no fetch rule with a schedule\n",
               argc - i == 1 ? " of " : "", argc - i == 1 ? argv[i] : "");
        json_decref(res);
        return 0;
    }
    if (!(t = table_new(9, head))) {
        json_decref(res);
        return CLI_EXIT_FAIL;
    }
    json_array_foreach(res, k, o) {
        json_t *last = json_object_get(o, "last");
        const char *held = json_string_value(json_object_get(o, "held"));
        const char *cells[9];
        cells[0] = json_string_value(json_object_get(o, "source"));
        cells[1] = json_string_value(json_object_get(o, "kind"));
        cells[2] = json_string_value(json_object_get(o, "item"));
        cells[3] = json_string_value(json_object_get(o, "schedule"));
        cells[4] = json_string_value(json_object_get(o, "state"));
        cells[5] = json_string_value(json_object_get(o, "next"));
        cells[6] = json_string_value(json_object_get(last, "finished"));
        cells[7] = json_string_value(json_object_get(last, "result"));
        cells[8] = held ? held : json_string_value(json_object_get(last, "message"));
        table_add(t, cells);
    }
    table_print(t, stdout);
    table_free(t);
    json_decref(res);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* run                                                                       */

typedef struct run_args {
    int wait;
    long long cancel;
} run_args;

static int run_opt(cli *c, int opt, const char *arg, void *user)
{
    run_args *a = user;

    switch (opt) {
    case 'w':
        a->wait = 1;
        return 0;
    case 'x':
        return cli_opt_int(c, "run", "--cancel", arg, 1, INT64_MAX, &a->cancel);
    }
    return -1;
}

/* Wait for run `id` to end (reading the store); print it; its exit status. */
static int run_wait(cli *c, int64_t id)
{
    derr e = {0};
    store *st = store_open_cfg(c->cfg, &e);
    json_t *o = NULL;
    const char *state = NULL;
    int rc;

    if (!st) {
        cli_err_print(c, &e);
        derr_clear(&e);
        return CLI_EXIT_FAIL;
    }
    for (;;) {
        struct timespec ts = {0, RUNS_POLL_MS * 1000000L};
        json_decref(o);
        if (!(o = store_run_json(st, id, &e))) {
            cli_err_print(c, &e);
            derr_clear(&e);
            store_close(st);
            return CLI_EXIT_FAIL;
        }
        state = json_string_value(json_object_get(o, "state"));
        if (state && strcmp(state, "queued") != 0 && strcmp(state, "running") != 0)
            break;
        nanosleep(&ts, NULL);
    }
    store_close(st);
    if (strcmp(state, "succeeded") == 0) {
        rc = 0;
    } else {
        const char *msg = json_string_value(json_object_get(o, "error"));
        fprintf(stderr, "%s: run %lld %s: %s\n", c->prog, (long long)id, state,
                msg ? msg : "-");
        rc = json_is_true(json_object_get(o, "retryable")) ? CLI_EXIT_TEMPFAIL : CLI_EXIT_FAIL;
    }
    if (c->json) {
        cli_json_print(o);
        return rc;
    }
    if (rc == 0) {
        char buf[32];
        const char *file = json_string_value(json_object_get(o, "file"));
        printf("run %lld succeeded: %s %s", (long long)id,
               runs_cell(o, "rows", buf, sizeof buf),
               strcmp(json_string_value(json_object_get(o, "kind")), "fetch") == 0 ? "rows"
                                                                                 : "items");
        printf("%s%s\n", file ? " -> " : "", file ? file : "");
    }
    json_decref(o);
    return rc;
}

int cli_cmd_run(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {
        {"wait", no_argument, NULL, 'w'},
        {"cancel", required_argument, NULL, 'x'},
        CLI_COMMON_LONGS,
        {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("run");
    run_args a = {0};
    json_t *req, *res = NULL;
    char path[64];
    derr e = {0};
    int i, rc;
    int64_t id;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "hwx:", longs, run_opt, &a, &rc)) < 0)
        return rc;
    if (a.cancel ? argc - i != 0 : argc - i != 2)
        return cli_usage_error(c, cmd, a.cancel ? "--cancel takes no other argument"
                                                : "expected a source name and 'discover' or "
                                                  "an item");
    if ((rc = cli_load_config(c, 0)))
        return rc;
    if (a.cancel) {
        snprintf(path, sizeof path, "/v1/runs/%lld", (long long)a.cancel);
        req = NULL;
    } else if (strcmp(argv[i + 1], "discover") == 0) {
        req = json_pack("{s:s, s:s}", "source", argv[i], "kind", "discover");
    } else {
        req = json_pack("{s:s, s:s, s:s}", "source", argv[i], "kind", "fetch", "item",
                        argv[i + 1]);
    }
    if ((!a.cancel && !req) ||
        api_client_call(c->cfg->control_socket, a.cancel ? "DELETE" : "POST",
                        a.cancel ? path : "/v1/runs", req, RUNS_API_TIMEOUT_MS, &res,
                        &e) != DSRC_OK) {
        if (!e.msg)
            derr_set(&e, DSRC_E_INTERNAL, "out of memory");
        cli_err_print(c, &e);
        rc = e.status == DSRC_E_INVALID_ARGUMENT ? CLI_EXIT_TEMPFAIL : cli_fail_status(&e);
        derr_clear(&e);
        json_decref(req);
        return rc;
    }
    json_decref(req);
    id = (int64_t)json_integer_value(json_object_get(res, "id"));
    json_decref(res);
    if (a.cancel) {
        if (!c->json)
            printf("run %lld: cancel asked\n", (long long)id);
        return a.wait ? run_wait(c, id) : 0;
    }
    if (a.wait)
        return run_wait(c, id);
    if (c->json) {
        cli_json_print(json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", "queued"));
        return 0;
    }
    printf("run %lld queued (dsrc runs %lld)\n", (long long)id, (long long)id);
    return 0;
}
