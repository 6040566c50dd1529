/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_source.c -- dsrc source add|set|rm|show|export: a source's file
 * changed at run time.  Through dsrcd's API (POST, PATCH, DELETE and GET
 * /v1/sources) when it runs; otherwise directly on the files, with the
 * same code (plugin/srcedit.h) and the same checks.  See cli.h.
 */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "api/api.h"
#include "cli.h"
#include "cli_secret.h"
#include "plugin/srcedit.h"
#include "store/audit.h"
#include "store/store.h"

#define SOURCE_API_TIMEOUT_MS 180000

/* The settings a source file has at top level (dsrc.conf(5)); a KEY of
 * --set without a '.' that is none of these is a connection option. */
static const char *const source_top[] = {
    "name", "type", "enabled", "location", "labels", "connection", "cloud", "tls",
    "replicas", "pool", "schedule", "fetch", NULL
};

typedef struct source_args {
    const char *type;
    const char *format;
    int no_test, cancel, purge;
    json_t *doc;               /* the settings given (--set, --secret; --unset
                                  puts a null: removed by the merge patch) */
    char **secrets;            /* --secret KEY, read after the options      */
    size_t n_secrets;
} source_args;

/* Put `v` (stolen) at the dotted KEY of doc. */
static int source_put(json_t *doc, const char *key, json_t *v)
{
    char path[512], *dot, *p = path;
    size_t i;
    int top = 0;

    if (!v)
        return -1;
    if (!strchr(key, '.')) {
        for (i = 0; source_top[i]; i++)
            top |= strcmp(key, source_top[i]) == 0;
    }
    if (snprintf(path, sizeof path, "%s%s", top || strchr(key, '.') ? "" : "connection.",
                 key) >= (int)sizeof path) {
        json_decref(v);
        return -1;
    }
    while ((dot = strchr(p, '.'))) {
        json_t *g;
        *dot = '\0';
        if (!*p || !json_is_object(g = json_object_get(doc, p))) {
            if (!*p || json_object_set_new(doc, p, g = json_object()) != 0) {
                json_decref(v);
                return -1;
            }
        }
        doc = g;
        p = dot + 1;
    }
    if (!*p) {
        json_decref(v);
        return -1;
    }
    return json_object_set_new(doc, p, v);
}

/* VALUE of --set: a number, true/false, a JSON array or object as such;
 * anything else is text. */
static json_t *source_value(const char *s)
{
    json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);

    if (v && (json_is_number(v) || json_is_boolean(v) || json_is_array(v) ||
              json_is_object(v)))
        return v;
    json_decref(v);
    return json_string(s);
}

static int source_set_arg(cli *c, source_args *a, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char key[256];

    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof key) {
        fprintf(stderr, "%s source: expected KEY=VALUE, not '%s'\n", c->prog, arg);
        return -1;
    }
    memcpy(key, arg, (size_t)(eq - arg));
    key[eq - arg] = '\0';
    if (source_put(a->doc, key, source_value(eq + 1)) != 0) {
        fprintf(stderr, "%s source: cannot set '%s'\n", c->prog, key);
        return -1;
    }
    return 0;
}

static int source_opt(cli *c, int opt, const char *arg, void *user)
{
    source_args *a = user;
    char **v;

    switch (opt) {
    case 't':
        a->type = arg;
        return 0;
    case 's':
        return source_set_arg(c, a, arg);
    case 'S':
        if (!(v = realloc(a->secrets, (a->n_secrets + 1) * sizeof *v)))
            return -1;
        a->secrets = v;
        a->secrets[a->n_secrets++] = (char *)arg;
        return 0;
    case 'u':
        return source_put(a->doc, arg, json_null());
    case 'n':
        a->no_test = 1;
        return 0;
    case 'C':
        a->cancel = 1;
        return 0;
    case 'P':
        a->purge = 1;
        return 0;
    case 'f':
        if (strcmp(arg, "json") && strcmp(arg, "libconfig")) {
            fprintf(stderr, "%s source: --format takes json or libconfig, not '%s'\n",
                    c->prog, arg);
            return -1;
        }
        a->format = arg;
        return 0;
    }
    return -1;
}

/* Read every --secret KEY (never from argv): from the terminal without
 * echo, or one line each from standard input. */
static int source_read_secrets(cli *c, source_args *a)
{
    size_t i;

    for (i = 0; i < a->n_secrets; i++) {
        char prompt[300], *v;
        snprintf(prompt, sizeof prompt, "%s", a->secrets[i]);
        if (!(v = cli_secret_read_line(c->prog, prompt)))
            return -1;
        if (source_put(a->doc, a->secrets[i], json_string(v)) != 0) {
            fprintf(stderr, "%s source: cannot set '%s'\n", c->prog, a->secrets[i]);
            OPENSSL_cleanse(v, strlen(v));
            free(v);
            return -1;
        }
        OPENSSL_cleanse(v, strlen(v));
        free(v);
    }
    return 0;
}

/* The exit status for a refused change. */
static int source_exit(int http, const json_t *test, dsrc_status st)
{
    derr e = {0};
    int rc;

    if (test && !json_is_true(json_object_get(test, "ok"))) {
        e.status = st;
        e.retryable = st == DSRC_E_UNREACHABLE || st == DSRC_E_TIMEOUT;
        rc = cli_fail_status(&e);
        return rc;
    }
    return http == 400 || http == 422 ? CLI_EXIT_CONFIG : CLI_EXIT_FAIL;
}

/* Print a refusal (exit status `rc`): its message and each field's error;
 * with --json the error object, with the refusal's "errors" and "test". */
static void source_print_refusal(cli *c, int rc, dsrc_status st, const char *message,
                                 const json_t *errors, const json_t *test)
{
    const json_t *er;
    json_t *o, *in;
    size_t i;

    cli_note(error_status_name(st), message, NULL);
    if (c->json) {
        o = cli_error_json("source", rc);
        if ((in = json_object_get(o, "error"))) {
            if (json_array_size(errors))
                json_object_set(in, "errors", (json_t *)errors);
            if (test)
                json_object_set(in, "test", (json_t *)test);
        }
        cli_json_print(o);
        return;
    }
    fprintf(stderr, "%s source: %s\n", c->prog, message);
    json_array_foreach(errors, i, er)
        fprintf(stderr, "  %s: %s\n",
                json_string_value(json_object_get(er, "field"))
                    ? json_string_value(json_object_get(er, "field"))
                    : "(source)",
                json_string_value(json_object_get(er, "message")));
}

/* What a successful change says. */
static void source_print_done(cli *c, const char *verb, const json_t *res, int direct)
{
    const json_t *test = json_object_get(res, "test"), *ch = json_object_get(res, "changed");
    const json_t *f;
    size_t i;

    if (c->json) {
        cli_json_print(json_incref((json_t *)res));
        return;
    }
    printf("%s source '%s' (%s)\n", verb, json_string_value(json_object_get(res, "source")),
           json_string_value(json_object_get(res, "file")));
    if (json_is_true(json_object_get(test, "ok")))
        printf("  test: ok, %.1f ms, %s\n",
               json_number_value(json_object_get(test, "latency_ms")),
               json_string_value(json_object_get(test, "endpoint"))
                   ? json_string_value(json_object_get(test, "endpoint"))
                   : "");
    if (json_array_size(ch)) {
        printf("  changed:");
        json_array_foreach(ch, i, f)
            printf("%s %s", i ? "," : "", json_string_value(f));
        printf("\n");
    }
    if (direct)
        printf("  dsrcd is not running: it serves the change when it starts\n");
    else if (json_is_true(json_object_get(res, "applied")))
        printf("  dsrcd serves the change\n");
    else
        printf("  dsrcd did not reload: %s\n",
               json_string_value(json_object_get(res, "apply_error")));
}

/* The change done directly on the files (no dsrcd), audited as a command. */
static int source_direct(cli *c, const srcedit_req *rq, const char *verb, const char *action)
{
    srcedit_res res;
    store_audit_rec ar = {0};
    char result[64], detail[512] = "";
    json_t *out;
    int rc;

    rc = srcedit_apply(c->conf_path, c->plugins, rq, &res);
    ar.action = action;
    ar.source = res.name[0] ? res.name : NULL;
    ar.rows = ar.bytes = -1;
    if (rc < 0) {
        snprintf(result, sizeof result, "error: %d", res.http);
        ar.result = result;
        (void)cli_audit_record(c->cfg, c->prog, &ar);
        rc = source_exit(res.http, res.test, res.status);
        source_print_refusal(c, rc, res.status, res.message, res.errors, res.test);
        srcedit_res_free(&res);
        return rc;
    }
    srcdoc_changed_text(res.changed, detail, sizeof detail);
    if (detail[0])
        ar.detail = detail;
    ar.result = "ok";
    (void)cli_audit_record(c->cfg, c->prog, &ar);
    out = json_pack("{s:s, s:s, s:s?, s:O?, s:O}", "source", res.name, "file", res.file,
                    "etag", res.etag[0] ? res.etag : NULL, "test", res.test, "changed",
                    res.changed);
    source_print_done(c, verb, out, 1);
    json_decref(out);
    srcedit_res_free(&res);
    return 0;
}

/* The change through dsrcd: 0 or an exit status; -1 when dsrcd does not
 * run (the caller goes direct). */
static int source_api(cli *c, const char *method, const char *path, const json_t *body,
                      const char *verb)
{
    json_t *res = NULL, *problem = NULL;
    derr e = {0};
    int rc = 0;

    if (!c->cfg || !c->cfg->control_socket)
        return -1;
    if (api_client_call_problem(c->cfg->control_socket, method, path, body, SOURCE_API_TIMEOUT_MS,
                           &res, &problem, &e) != DSRC_OK) {
        if (e.status == DSRC_E_UNREACHABLE && !problem) {
            derr_clear(&e);
            return -1;
        }
        if (problem) {
            rc = source_exit((int)json_integer_value(json_object_get(problem, "status")),
                             json_object_get(problem, "test"), e.status);
            source_print_refusal(c, rc, e.status, e.msg ? e.msg : "refused",
                                 json_object_get(problem, "errors"),
                                 json_object_get(problem, "test"));
        } else {
            cli_err_print(c, &e);
            rc = cli_fail_status(&e);
        }
        derr_clear(&e);
        json_decref(problem);
        return rc;
    }
    source_print_done(c, verb, res, 0);
    json_decref(res);
    return 0;
}

/* show and export: the source's document, from dsrcd or the files. */
static int source_show(cli *c, const char *name, int export, const char *format)
{
    char etag[SRCDOC_ETAG_SIZE], *file = NULL, *text;
    derr e = {0};
    json_t *doc;
    int rc = 0;

    doc = srcedit_read(c->conf_path, c->plugins, name, export ? SRCEDIT_REFS : SRCEDIT_MASK,
                       etag, &file, &e);
    if (!doc) {
        cli_err_print(c, &e);
        rc = e.status == DSRC_E_NOT_FOUND ? CLI_EXIT_FAIL : CLI_EXIT_CONFIG;
        derr_clear(&e);
        return rc;
    }
    if (export ? strcmp(format, "json") == 0 : c->json) {
        if (!export) {
            json_t *o = json_pack("{s:s, s:s, s:O}", "file", file, "etag", etag, "document",
                                  doc);
            cli_json_print(o);
        } else {
            cli_json_print(json_incref(doc));
        }
    } else if ((text = srcedit_text(doc, &e))) {
        if (!export)
            printf("# %s\n# ETag %s\n", file, etag);
        fputs(text, stdout);
        free(text);
    } else {
        cli_err_print(c, &e);
        derr_clear(&e);
        rc = CLI_EXIT_FAIL;
    }
    json_decref(doc);
    free(file);
    return rc;
}

int cli_cmd_source(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {
        {"type", required_argument, NULL, 't'},
        {"set", required_argument, NULL, 's'},
        {"secret", required_argument, NULL, 'S'},
        {"unset", required_argument, NULL, 'u'},
        {"no-test", no_argument, NULL, 'n'},
        {"cancel", no_argument, NULL, 'C'},
        {"purge", no_argument, NULL, 'P'},
        {"format", required_argument, NULL, 'f'},
        CLI_COMMON_LONGS,
        {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("source");
    source_args a = {.format = "json"};
    srcedit_req rq;
    const char *sub, *name;
    char path[512];
    int i, rc, k;

    if (argc < 2 || argv[1][0] == '-') {
        if ((i = cli_parse_opts(c, cmd, argc, argv, "h", longs, NULL, NULL, &rc)) < 0)
            return rc;
        return cli_usage_error(c, cmd, "expected add, set, rm, show or export");
    }
    sub = argv[1];
    if (strcmp(sub, "add") && strcmp(sub, "set") && strcmp(sub, "rm") &&
        strcmp(sub, "show") && strcmp(sub, "export"))
        return cli_usage_error(c, cmd, "expected add, set, rm, show or export");
    a.doc = json_object();
    rc = 0;
    if ((i = cli_parse_opts(c, cmd, argc - 1, argv + 1, "ht:s:S:u:nCPf:", longs, source_opt, &a,
                            &rc)) < 0)
        goto out;
    i++; /* index in argv */
    if (argc - i < 1) {
        rc = cli_usage_error(c, cmd, "expected the source's name");
        goto out;
    }
    name = argv[i++];
    /* set takes KEY=VALUE operands too */
    for (k = i; k < argc; k++) {
        if (strcmp(sub, "set") || source_set_arg(c, &a, argv[k]) < 0) {
            rc = cli_usage_error(c, cmd, "unexpected argument");
            goto out;
        }
    }
    if ((strcmp(sub, "add") == 0) != (a.type != NULL)) {
        rc = cli_usage_error(c, cmd, a.type ? "--type goes with source add"
                                            : "source add needs --type");
        goto out;
    }
    if ((json_object_size(a.doc) || a.n_secrets || a.no_test) && strcmp(sub, "add") &&
        strcmp(sub, "set")) {
        rc = cli_usage_error(c, cmd, "--set, --secret and --no-test go with add and set");
        goto out;
    }
    if (strcmp(sub, "set") == 0 && !json_object_size(a.doc) && !a.n_secrets) {
        rc = cli_usage_error(c, cmd, "source set needs KEY=VALUE, --secret or --unset");
        goto out;
    }
    if ((a.cancel || a.purge) && strcmp(sub, "rm")) {
        rc = cli_usage_error(c, cmd, "--cancel and --purge go with source rm");
        goto out;
    }
    if ((rc = cli_load_config(c, 0)))
        goto out;
    if (strcmp(sub, "show") == 0 || strcmp(sub, "export") == 0) {
        rc = source_show(c, name, strcmp(sub, "export") == 0, a.format);
        goto out;
    }
    if (source_read_secrets(c, &a) < 0) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    memset(&rq, 0, sizeof rq);
    rq.name = name;
    rq.test = !a.no_test;
    rq.test_timeout_ms = c->cfg->probe_timeout_ms;
    if (strcmp(sub, "add") == 0) {
        json_object_set_new(a.doc, "name", json_string(name));
        json_object_set_new(a.doc, "type", json_string(a.type));
        rq.op = SRCEDIT_CREATE;
        rq.doc = a.doc;
        snprintf(path, sizeof path, "/v1/sources%s", a.no_test ? "?test=false" : "");
        if ((rc = source_api(c, "POST", path, a.doc, "added")) < 0)
            rc = source_direct(c, &rq, "added", "source add");
    } else if (strcmp(sub, "set") == 0) {
        rq.op = SRCEDIT_PATCH;
        rq.doc = a.doc;
        snprintf(path, sizeof path, "/v1/sources/%s%s", name, a.no_test ? "?test=false" : "");
        if ((rc = source_api(c, "PATCH", path, a.doc, "changed")) < 0)
            rc = source_direct(c, &rq, "changed", "source set");
    } else {
        rq.op = SRCEDIT_DELETE;
        snprintf(path, sizeof path, "/v1/sources/%s?cancel=%s&purge=%s", name,
                 a.cancel ? "true" : "false", a.purge ? "true" : "false");
        if ((rc = source_api(c, "DELETE", path, NULL, "removed")) < 0) {
            rc = source_direct(c, &rq, "removed", "source rm");
            if (!rc && a.purge) {
                store *st = cli_open_store(c, &rc);
                derr e = {0};
                if (st && store_purge_source(st, name, &e) < 0) {
                    cli_err_print(c, &e);
                    rc = CLI_EXIT_FAIL;
                }
                derr_clear(&e);
                store_close(st);
            }
        }
    }
out:
    json_decref(a.doc);
    free(a.secrets);
    return rc;
}
