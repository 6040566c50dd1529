/* SPDX-License-Identifier: Apache-2.0 */
/* cli_audit.c -- dsrc token (the control API's tokens) and dsrc audit (the
 * audit trail), both in the state store, read and written directly (dsrcd
 * need not run); and the audit record of an in-process command and of a
 * query.  See
 * cli.h. */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "store/audit.h"
#include "store/query.h"
#include "store/token.h"
#include "table.h"

#define AUDIT_DEFAULT_LIMIT 100

/* Append r, as this process's user from the command line, to st; 0, or -1
 * with a warning printed. */
static int audit_append(store *st, const char *prog, store_audit_rec *r)
{
    char who[128];
    derr e = {0};
    int rc = 0;

    store_audit_who_uid(getuid(), who, sizeof who);
    r->who = who;
    r->origin = "cli";
    r->at = 0;
    if (store_audit_append(st, r, NULL, &e) != DSRC_OK) {
        fprintf(stderr, "%s: warning: cannot write the audit record of '%s': %s\n", prog,
                r->action, e.msg ? e.msg : error_status_name(e.status));
        rc = -1;
    }
    r->who = NULL;
    derr_clear(&e);
    return rc;
}

int cli_audit_record(const cfg_config *cfg, const char *prog, store_audit_rec *r)
{
    derr e = {0};
    store *st;
    int rc;

    if (!cfg || !cfg->state_dir)
        return 0;
    if (!(st = store_open_cfg(cfg, &e))) {
        fprintf(stderr, "%s: warning: cannot write the audit record of '%s': %s\n", prog,
                r->action, e.msg ? e.msg : error_status_name(e.status));
        derr_clear(&e);
        return -1;
    }
    rc = audit_append(st, prog, r);
    store_close(st);
    return rc;
}

int cli_query_record(const cfg_config *cfg, const char *prog, store_query_rec *r)
{
    char who[128];
    derr e = {0};
    store *st;
    int rc = 0;

    if (!cfg || !cfg->state_dir)
        return 0;
    store_audit_who_uid(getuid(), who, sizeof who);
    r->caller = who;
    if (!(st = store_open_cfg(cfg, &e)) || store_query_record(st, r, "cli", NULL, &e) != DSRC_OK) {
        fprintf(stderr, "%s: warning: cannot record the query: %s\n", prog,
                e.msg ? e.msg : error_status_name(e.status));
        rc = -1;
    }
    store_close(st);
    r->caller = NULL;
    derr_clear(&e);
    return rc;
}

/* A time in ms as "2024-01-31T12:00:00Z", "-" when 0. */
static void audit_fmt_ms(char *buf, size_t n, int64_t ms)
{
    cli_fmt_time(buf, n, ms ? ms / 1000 : -1);
}

/* ------------------------------------------------------------------------ */
/* token                                                                     */

typedef struct token_args {
    const char *name;
    int role;              /* -1: not given */
    int64_t expires;       /* 0: never */
} token_args;

static int token_opt(cli *c, int opt, const char *arg, void *user)
{
    token_args *a = user;

    switch (opt) {
    case 'r':
        if ((a->role = store_role_parse(arg)) < 0) {
            fprintf(stderr, "%s token: unknown role '%s' (viewer, operator, admin)\n", c->prog,
                    arg);
            return -1;
        }
        return 0;
    case 'N':
        a->name = arg;
        return 0;
    case 'e':
        return cli_opt_time(c, "token", "--expires", arg, 1, &a->expires);
    }
    return -1;
}

static int token_create(cli *c, const cli_cmd *cmd, store *st, const token_args *a)
{
    store_audit_rec r = {.action = "token create", .result = "ok", .rows = -1, .bytes = -1};
    char *tok = NULL, detail[160], exp[32];
    derr e = {0};
    int rc = 0;

    if (!a->name || a->role < 0)
        return cli_usage_error(c, cmd, "token create needs --name and --role");
    audit_fmt_ms(exp, sizeof exp, a->expires);
    snprintf(detail, sizeof detail, "token %s, role %s, expires %s", a->name,
             store_role_name((store_role)a->role), a->expires ? exp : "never");
    r.detail = detail;
    if (store_token_create(st, a->name, (store_role)a->role, a->expires, &tok, &e) != DSRC_OK) {
        cli_err_print(c, &e);
        rc = e.status == DSRC_E_INVALID_ARGUMENT ? CLI_EXIT_USAGE : cli_fail_status(&e);
        if (e.status != DSRC_E_INVALID_ARGUMENT) {
            char res[64];
            snprintf(res, sizeof res, "error: %s", error_status_name(e.status));
            r.result = res;
            (void)audit_append(st, c->prog, &r);
        }
        derr_clear(&e);
        return rc;
    }
    /* a token whose making cannot be audited is not handed out */
    if (audit_append(st, c->prog, &r) < 0) {
        if (store_token_revoke(st, a->name, &e) != DSRC_OK)
            cli_err_print(c, &e);
        derr_clear(&e);
        fprintf(stderr, "%s: token %s revoked: its making could not be audited\n", c->prog,
                a->name);
        OPENSSL_cleanse(tok, strlen(tok));
        free(tok);
        return CLI_EXIT_FAIL;
    }
    if (c->json) {
        json_t *o = json_pack("{s:s, s:s, s:o, s:s}", "name", a->name, "role",
                              store_role_name((store_role)a->role), "expires_at",
                              a->expires ? json_integer(a->expires) : json_null(), "token", tok);
        char *js = json_dumps(o, JSON_PRESERVE_ORDER | JSON_INDENT(2));
        if (js)
            printf("%s\n", js);
        if (js)
            OPENSSL_cleanse(js, strlen(js));
        free(js);
        json_decref(o);
    } else {
        printf("%s\n", tok);
    }
    fflush(stdout);
    fprintf(stderr, "%s: this is the only time token %s (role %s) is shown: keep it now; "
                    "only its hash is stored\n", c->prog, a->name,
            store_role_name((store_role)a->role));
    OPENSSL_cleanse(tok, strlen(tok));
    free(tok);
    return 0;
}

static int token_revoke(cli *c, store *st, const char *name)
{
    store_audit_rec r = {.action = "token revoke", .result = "ok", .rows = -1, .bytes = -1};
    char detail[128], res[64];
    derr e = {0};
    int rc = 0;

    snprintf(detail, sizeof detail, "token %s", name);
    r.detail = detail;
    if (store_token_revoke(st, name, &e) != DSRC_OK) {
        cli_err_print(c, &e);
        rc = e.status == DSRC_E_NOT_FOUND ? CLI_EXIT_FAIL : cli_fail_status(&e);
        snprintf(res, sizeof res, "error: %s", error_status_name(e.status));
        r.result = res;
        derr_clear(&e);
    } else {
        printf("token %s revoked\n", name);
    }
    if (audit_append(st, c->prog, &r) < 0)
        rc = CLI_EXIT_FAIL;
    return rc;
}

/* The start of a listing of `arr` (NULL: the error in e): printed as JSON
 * with --json, `none` when empty, else *t is a table of `n` columns for
 * the caller to fill (arr still held).  *t NULL: done; the exit status. */
static int list_begin(cli *c, json_t *arr, derr *e, const char *none, size_t n,
                      const char *const *head, table **t)
{
    *t = NULL;
    if (!arr) {
        cli_err_print(c, e);
        derr_clear(e);
        return CLI_EXIT_FAIL;
    }
    if (c->json) {
        cli_json_print(arr);
        return 0;
    }
    if (json_array_size(arr) == 0) {
        printf("%s\n", none);
        json_decref(arr);
        return 0;
    }
    if (!(*t = table_new(n, head))) {
        json_decref(arr);
        return CLI_EXIT_FAIL;
    }
    return 0;
}

static int token_list(cli *c, store *st)
{
    static const char *const head[] = {"name", "role", "state", "created", "expires",
                                       "revoked", "last used"};
    static const char *const keys[] = {"created_at", "expires_at", "revoked_at",
                                       "last_used_at"};
    derr e = {0};
    json_t *arr = store_token_list(st, &e), *o;
    table *t;
    size_t i, k;
    int rc = list_begin(c, arr, &e, "no tokens", 7, head, &t);

    if (!t)
        return rc;
    json_array_foreach(arr, i, o) {
        char times[4][32];
        const char *cells[7];
        cells[0] = json_string_value(json_object_get(o, "name"));
        cells[1] = json_string_value(json_object_get(o, "role"));
        cells[2] = json_string_value(json_object_get(o, "state"));
        for (k = 0; k < 4; k++) {
            audit_fmt_ms(times[k], sizeof times[k],
                         json_integer_value(json_object_get(o, keys[k])));
            cells[3 + k] = times[k];
        }
        table_add(t, cells);
    }
    table_print(t, stdout);
    table_free(t);
    json_decref(arr);
    return 0;
}

int cli_cmd_token(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {
        {"role", required_argument, NULL, 'r'},
        {"name", required_argument, NULL, 'N'},
        {"expires", required_argument, NULL, 'e'},
        CLI_COMMON_LONGS,
        {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("token");
    token_args a = {.role = -1};
    const char *sub;
    store *st;
    int i, rc;

    if (argc < 2 || argv[1][0] == '-') {
        if ((i = cli_parse_opts(c, cmd, argc, argv, "h", longs, NULL, NULL, &rc)) < 0)
            return rc;
        return cli_usage_error(c, cmd, "expected create, list or revoke");
    }
    sub = argv[1];
    if ((i = cli_parse_opts(c, cmd, argc - 1, argv + 1, "hr:N:e:", longs, token_opt, &a, &rc)) <
        0)
        return rc;
    i++; /* index in argv */
    if (strcmp(sub, "create") && strcmp(sub, "list") && strcmp(sub, "revoke"))
        return cli_usage_error(c, cmd, "expected create, list or revoke");
    if (strcmp(sub, "revoke") == 0 ? argc - i != 1 : argc - i != 0)
        return cli_usage_error(c, cmd, strcmp(sub, "revoke") == 0
                                           ? "token revoke needs one token name"
                                           : "unexpected argument");
    if (strcmp(sub, "create") && (a.name || a.role >= 0 || a.expires))
        return cli_usage_error(c, cmd, "--name, --role and --expires go with token create");
    if (!(st = cli_open_store(c, &rc)))
        return rc;
    if (strcmp(sub, "create") == 0)
        rc = token_create(c, cmd, st, &a);
    else if (strcmp(sub, "revoke") == 0)
        rc = token_revoke(c, st, argv[i]);
    else
        rc = token_list(c, st);
    store_close(st);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* audit                                                                     */

typedef struct audit_args {
    store_audit_filter f;
    int verify;
} audit_args;

static int audit_opt(cli *c, int opt, const char *arg, void *user)
{
    audit_args *a = user;
    long long v;

    switch (opt) {
    case 't':
        return cli_opt_time(c, "audit", "--since", arg, 0, &a->f.since);
    case 's':
        a->f.source = arg;
        return 0;
    case 'n':
        if (cli_opt_int(c, "audit", "--limit", arg, 1, 1000000000, &v) < 0)
            return -1;
        a->f.limit = (int)v;
        return 0;
    case 'V':
        a->verify = 1;
        return 0;
    }
    return -1;
}

static int audit_verify(cli *c, store *st)
{
    store_audit_check ck;
    derr e = {0};
    char at[32];

    if (store_audit_verify(st, &ck, &e) != DSRC_OK) {
        cli_err_print(c, &e);
        derr_clear(&e);
        return CLI_EXIT_FAIL;
    }
    audit_fmt_ms(at, sizeof at, ck.bad_at);
    if (c->json) {
        json_t *o = json_pack("{s:I, s:b, s:s}", "records", (json_int_t)ck.records, "intact",
                              !ck.bad_id, "last_hash", ck.last_hash);
        if (ck.bad_id)
            json_object_set_new(o, "first_broken",
                                json_pack("{s:I, s:I, s:o, s:s}", "id", (json_int_t)ck.bad_id,
                                          "at", (json_int_t)ck.bad_at, "action",
                                          cli_jstr(ck.bad_action), "why", ck.why));
        cli_json_print(o);
    } else if (!ck.bad_id) {
        printf("%lld records, chain intact%s%s\n", (long long)ck.records,
               ck.records ? "; last hash " : "", ck.last_hash);
    } else {
        json_t *act = cli_jstr(ck.bad_action);
        fprintf(stderr, "%s audit: the chain is broken at record %lld (%s, %s): %s; "
                        "%lld records checked\n", c->prog, (long long)ck.bad_id, at,
                json_string_value(act), ck.why, (long long)ck.records);
        json_decref(act);
    }
    return ck.bad_id ? CLI_EXIT_FAIL : 0;
}

static int audit_list(cli *c, store *st, const store_audit_filter *f)
{
    static const char *const head[] = {"id", "time", "who", "origin", "action", "source",
                                       "item", "result", "rows", "bytes", "detail"};
    static const char *const keys[] = {"id", "at", "who", "origin", "action", "source",
                                       "item", "result", "rows", "bytes", "detail"};
    derr e = {0};
    json_t *arr = store_audit_json(st, f, &e), *o;
    table *t;
    size_t i, k;
    int rc = list_begin(c, arr, &e, "no audit records", 11, head, &t);

    if (!t)
        return rc;
    table_right(t, 0);
    table_right(t, 8);
    table_right(t, 9);
    json_array_foreach(arr, i, o) {
        char bufs[11][32];
        const char *cells[11];
        for (k = 0; k < 11; k++) {
            json_t *v = json_object_get(o, keys[k]);
            cells[k] = json_string_value(v);
            if (k == 1) {
                audit_fmt_ms(bufs[k], sizeof bufs[k], json_integer_value(v));
                cells[k] = bufs[k];
            } else if (json_is_integer(v)) {
                snprintf(bufs[k], sizeof bufs[k], "%lld", (long long)json_integer_value(v));
                cells[k] = bufs[k];
            }
        }
        table_add(t, cells);
    }
    table_print(t, stdout);
    table_free(t);
    json_decref(arr);
    return 0;
}

int cli_cmd_audit(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {
        {"since", required_argument, NULL, 't'},
        {"source", required_argument, NULL, 's'},
        {"limit", required_argument, NULL, 'n'},
        {"verify", no_argument, NULL, 'V'},
        CLI_COMMON_LONGS,
        {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("audit");
    audit_args a = {.f = {.limit = AUDIT_DEFAULT_LIMIT}};
    store *st;
    int i, rc;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "ht:s:n:V", longs, audit_opt, &a, &rc)) < 0)
        return rc;
    if (argc - i != 0)
        return cli_usage_error(c, cmd, "unexpected argument");
    if (a.verify && (a.f.since || a.f.source || a.f.limit != AUDIT_DEFAULT_LIMIT))
        return cli_usage_error(c, cmd, "--verify checks the whole chain: no --since, "
                                       "--source or --limit");
    if (!(st = cli_open_store(c, &rc)))
        return rc;
    rc = a.verify ? audit_verify(c, st) : audit_list(c, st, &a.f);
    store_close(st);
    return rc;
}
