/* SPDX-License-Identifier: Apache-2.0 */
/* cli_browse.c -- dsrc test, ls, describe, discover; see cli.h */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <time.h>

#include "cli.h"
#include "base/redact.h"
#include "catalog/discovery.h"
#include "catalog/meta_json.h"
#include "catalog/snapshot.h"
#include "output/manifest.h"
#include "plugin/source.h"
#include "secret/identity.h"
#include "table.h"

/* ------------------------------------------------------------------------ */
/* test                                                                      */

static int test_opt(cli *c, int opt, const char *arg, void *user)
{
    (void)c;
    (void)arg;
    if (opt == 'a')
        *(int *)user = 1;
    return 0;
}

/* The cloud identity the host used for source `name`, if any: provider,
 * mode, principal and the token's expiry, never the token. */
static void test_identity_when(const identity_info *id, char when[32])
{
    struct tm tm;
    gmtime_r(&id->expires, &tm);
    strftime(when, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void test_identity_print(const char *name)
{
    identity_info id;
    char when[32];

    if (!identity_last(name, &id))
        return;
    test_identity_when(&id, when);
    printf("%s: identity %s %s: %s; token valid until %s\n", name, id.provider, id.mode,
           id.principal, when);
}

static void test_identity_json(json_t *o, const char *name)
{
    identity_info id;
    char when[32];
    json_t *j;

    if (!identity_last(name, &id))
        return;
    test_identity_when(&id, when);
    j = json_object();
    json_object_set_new(j, "provider", cli_jstr(id.provider));
    json_object_set_new(j, "mode", cli_jstr(id.mode));
    json_object_set_new(j, "principal", cli_jstr(id.principal));
    json_object_set_new(j, "expires", cli_jstr(when));
    json_object_set_new(o, "identity", j);
}

int cli_cmd_test(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {CLI_COMMON_LONGS, {"all", no_argument, NULL, 'a'},
                                          {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("test");
    int rc = 0, i, all = 0, failed = 0;
    size_t ep, n_ep;
    const registry_source *s;
    json_t *arr = NULL;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "ha", longs, test_opt, &all, &rc)) < 0)
        return rc;
    if (argc - i != 1)
        return cli_usage_error(c, cmd, "expected one source name");
    if ((rc = cli_load_config(c, 0)))
        return rc;
    cli_cancel_begin(c, -1, NULL);
    if (!(s = cli_need_source(c, argv[i], &rc)))
        return rc;
    {
        derr e = {0};
        if (!(c->rt = router_new(s, NULL, &e))) {
            cli_err_print(c, &e);
            derr_clear(&e);
            return CLI_EXIT_FAIL;
        }
    }
    n_ep = all ? router_n_endpoints(c->rt) : 1;
    if (c->json)
        arr = json_array();
    for (ep = 0; ep < n_ep; ep++) {
        /* Every endpoint is tested directly, bypassing its breaker: an
         * operator's test must really reach it. */
        pool *p = router_pool(c->rt, (int)ep);
        pool_conn *pc = NULL;
        derr e = {0};
        dsrc_ping_info info;
        double ms = 0;
        dsrc_status st = pool_acquire(p, "test", -1, &pc, NULL, &e);
        if (st == DSRC_OK) {
            st = source_ping(pool_conn_src(pc), &info, &ms, &e);
            if (st == DSRC_OK)
                router_note_ping(c->rt, (int)ep, info.role, ms);
            pool_release_err(p, pc, &e);
        }
        if (c->json) {
            json_t *o = json_object();
            json_object_set_new(o, "source", cli_jstr(s->cfg->name));
            json_object_set_new(o, "endpoint_index", json_integer((json_int_t)ep));
            json_object_set_new(o, "served_by", cli_jstr(pool_label(p)));
            json_object_set_new(o, "ok", json_boolean(st == DSRC_OK));
            if (st == DSRC_OK) {
                json_object_set_new(o, "latency_ms", json_real(ms));
                json_object_set_new(o, "endpoint", cli_jstr(info.endpoint));
                json_object_set_new(o, "role", cli_jstr(router_role_name(info.role)));
                json_object_set_new(o, "server_version", cli_jstr(info.server_version));
                test_identity_json(o, s->cfg->name);
            } else {
                json_object_set_new(o, "error", cli_derr_json(&e, cli_fail_status(&e)));
            }
            json_array_append_new(arr, o);
        } else if (st == DSRC_OK) {
            char *where = redact_dup(info.endpoint[0] ? info.endpoint
                                                      : (ep ? "replica" : "primary"));
            char *ver = redact_dup(info.server_version);
            printf("%s: ok in %.2f ms, %s: endpoint %s (%s%s%s)\n", s->cfg->name, ms,
                   pool_label(p), where ? where : "", router_role_name(info.role),
                   ver && *ver ? ", " : "", ver ? ver : "");
            free(where);
            free(ver);
            test_identity_print(s->cfg->name);
        }
        if (st != DSRC_OK) {
            if (!c->json)
                cli_err_print(c, &e);
            /* 75 only when every failure may pass */
            if (!failed || cli_fail_status(&e) == CLI_EXIT_FAIL)
                failed = cli_fail_status(&e);
        }
        derr_clear(&e);
    }
    if (arr)
        cli_json_print(all ? arr : json_incref(json_array_get(arr, 0)));
    if (arr && !all)
        json_decref(arr);
    return failed;
}

/* ------------------------------------------------------------------------ */
/* ls                                                                        */

typedef struct ls_state {
    table *t;
    json_t *arr;
} ls_state;

static int ls_item(void *user, const dsrc_item *it)
{
    ls_state *ls = user;
    char rows[32], size[32], mtime[32];

    if (ls->arr)
        return json_array_append_new(ls->arr, meta_item_json(it));
    cli_fmt_i64(rows, sizeof rows, it->rows, it->rows_estimated);
    cli_fmt_size(size, sizeof size, it->size_bytes);
    cli_fmt_time(mtime, sizeof mtime, it->mtime);
    char name[1024];
    snprintf(name, sizeof name, "%s%s", it->path ? it->path : (it->name ? it->name : ""),
             it->container ? "/" : "");
    const char *row[] = {name, cli_kind_name(it->kind), rows, size, mtime};
    return table_add(ls->t, row);
}

int cli_cmd_ls(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {CLI_COMMON_LONGS, {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("ls");
    int rc = 0, i;
    router_lease l = {0};
    ls_state ls = {0};
    dsrc_item_sink sink;
    derr e = {0};

    if ((i = cli_parse_opts(c, cmd, argc, argv, "h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (argc - i < 1 || argc - i > 2)
        return cli_usage_error(c, cmd, "expected a source name and an optional path");
    if ((rc = cli_load_config(c, 0)))
        return rc;
    cli_cancel_begin(c, -1, NULL);
    if ((rc = cli_lease_source(c, argv[i], "list", &l)))
        return rc;
    if (c->json) {
        ls.arr = json_array();
    } else {
        const char *hdr[] = {"item", "kind", "rows", "size", "modified"};
        ls.t = table_new(5, hdr);
        table_right(ls.t, 2);
        table_right(ls.t, 3);
    }
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = &ls;
    sink.item = ls_item;
    if (source_list(l.conn, argc - i == 2 ? argv[i + 1] : "", &sink, &e) != DSRC_OK) {
        cli_err_print(c, &e);
        rc = cli_fail_status(&e);
    } else if (ls.arr) {
        cli_json_print(ls.arr);
        ls.arr = NULL;
    } else {
        table_print(ls.t, stdout);
    }
    json_decref(ls.arr);
    table_free(ls.t);
    cli_lease_done(c, &l, &e);
    derr_clear(&e);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* describe / discover                                                       */

/* "a, b" of n names into `b` (reset first). */
static void fk_names(dsrc_buf *b, const char *const *cols, size_t n)
{
    size_t i;

    dsrc_buf_reset(b);
    dsrc_buf_add(b, "");
    for (i = 0; i < n; i++) {
        if (i)
            dsrc_buf_add(b, ", ");
        dsrc_buf_add(b, cols[i] ? cols[i] : "");
    }
}

/* describe's "foreign keys" section: one line per key,
 * "name: (a, b) -> item (x, y) on update ACTION on delete ACTION". */
static void fk_print(const dsrc_metadata *md)
{
    dsrc_buf from = {0}, to = {0}, line = {0};
    size_t i;

    if (!md->n_foreign_keys)
        return;
    printf("\nforeign keys:\n");
    for (i = 0; i < md->n_foreign_keys; i++) {
        const dsrc_foreign_key *k = &md->foreign_keys[i];
        char *red;
        fk_names(&from, k->columns, k->n_columns);
        fk_names(&to, k->ref_columns, k->n_columns);
        dsrc_buf_reset(&line);
        dsrc_buf_printf(&line, "  %s%s(%s) -> %s (%s) on update %s on delete %s",
                        k->name ? k->name : "", k->name ? ": " : "", from.s,
                        k->ref_item ? k->ref_item : "?", to.s,
                        k->on_update ? k->on_update : "?", k->on_delete ? k->on_delete : "?");
        red = line.failed ? NULL : redact_dup(line.s);
        printf("%s\n", red ? red : "  (out of memory)");
        free(red);
    }
    dsrc_buf_free(&from);
    dsrc_buf_free(&to);
    dsrc_buf_free(&line);
}

static int describe_print(void *user, const dsrc_metadata *md)
{
    cli *c = user;
    size_t i;
    char rows[32], size[32];

    if (c->json) {
        cli_json_print(meta_metadata_json(md));
        return 0;
    }
    if (md->item) {
        cli_fmt_i64(rows, sizeof rows, md->item->rows, md->item->rows_estimated);
        cli_fmt_size(size, sizeof size, md->item->size_bytes);
        char *path = redact_dup(md->item->path ? md->item->path : "");
        printf("%s (%s), rows %s, size %s\n", path ? path : "", cli_kind_name(md->item->kind),
               rows, size);
        free(path);
        if (md->item->comment) {
            char *cm = redact_dup(md->item->comment);
            printf("comment: %s\n", cm ? cm : "");
            free(cm);
        }
    }
    if (md->n_columns) {
        const char *hdr[] = {"#", "column", "type", "native type", "null", "pk", "default",
                             "comment"};
        table *t = table_new(8, hdr);
        table_right(t, 0);
        for (i = 0; i < md->n_columns; i++) {
            const dsrc_column *col = &md->columns[i];
            char num[24], pk[16];
            snprintf(num, sizeof num, "%zu", i + 1);
            if (col->primary_key)
                snprintf(pk, sizeof pk, "%d", col->primary_key);
            else
                snprintf(pk, sizeof pk, "-");
            const char *row[] = {num, col->name, manifest_type_name(col->type), col->native_type,
                                 col->nullable < 0 ? "?" : col->nullable ? "yes" : "no",
                                 pk, col->default_value, col->comment};
            table_add(t, row);
        }
        putchar('\n');
        table_print(t, stdout);
        table_free(t);
    }
    fk_print(md);
    if (md->n_properties) {
        putchar('\n');
        for (i = 0; i < md->n_properties; i++)
            if (md->properties[i].key) {
                char *k = redact_dup(md->properties[i].key);
                char *v = redact_dup(md->properties[i].value ? md->properties[i].value : "-");
                printf("%s: %s\n", k ? k : "", v ? v : "");
                free(k);
                free(v);
            }
    }
    return 0;
}

int cli_cmd_describe(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {CLI_COMMON_LONGS, {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("describe");
    int rc = 0, i;
    router_lease l = {0};
    dsrc_meta_sink sink;
    derr e = {0};

    if ((i = cli_parse_opts(c, cmd, argc, argv, "h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (argc - i != 2)
        return cli_usage_error(c, cmd, "expected a source name and an item");
    if ((rc = cli_load_config(c, 0)))
        return rc;
    cli_cancel_begin(c, -1, NULL);
    if ((rc = cli_lease_source(c, argv[i], "describe", &l)))
        return rc;
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = c;
    sink.metadata = describe_print;
    if (source_describe(l.conn, argv[i + 1], &sink, &e) != DSRC_OK) {
        cli_err_print(c, &e);
        rc = cli_fail_status(&e);
    }
    cli_lease_done(c, &l, &e);
    derr_clear(&e);
    return rc;
}

typedef struct discover_state {
    cli *c;
    table *t;
    size_t n;
    catalog_list *keep;     /* the whole source: kept as a snapshot */
    int keep_failed;
} discover_state;

static int discover_item(void *user, const dsrc_metadata *md)
{
    discover_state *ds = user;
    size_t i, len = 0;
    char cols[512] = "", rows[32], ncols[24];

    if (ds->keep && catalog_list_add(ds->keep, md) < 0)
        ds->keep_failed = 1;

    if (ds->c->json) {
        json_t *o = meta_metadata_json(md);
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        json_decref(o);
        if (!s)
            return -1;
        printf("%s%s", ds->n ? ",\n" : "[\n", s);
        free(s);
        ds->n++;
        return 0;
    }
    for (i = 0; i < md->n_columns; i++) {
        int w = snprintf(cols + len, sizeof cols - len, "%s%s", i ? ", " : "",
                         md->columns[i].name ? md->columns[i].name : "");
        if (w < 0 || (size_t)w >= sizeof cols - len) {
            snprintf(cols + sizeof cols - 5, 5, "...");
            break;
        }
        len += (size_t)w;
    }
    cli_fmt_i64(rows, sizeof rows, md->item ? md->item->rows : -1,
            md->item ? md->item->rows_estimated : 0);
    snprintf(ncols, sizeof ncols, "%zu", md->n_columns);
    const char *row[] = {md->item && md->item->path ? md->item->path : "-",
                         md->item ? cli_kind_name(md->item->kind) : "-", rows, ncols, cols};
    ds->n++;
    return table_add(ds->t, row);
}

static int discover_opt(cli *c, int opt, const char *arg, void *user)
{
    int *flags = user;

    (void)c;
    (void)arg;
    if (opt == 's')
        flags[0] = 1;
    if (opt == 'C')
        flags[1] = 1;
    return 0;
}

/* Keep the catalog just discovered (`l`; NULL when the discover failed)
 * and the record of the discover `r`; 0 or an exit status (printed). */
static int discover_keep(cli *c, catalog_list *l, const discovery_rec *r)
{
    derr e = {0};
    snapshot_result res;
    store *st = store_open_cfg(c->cfg, &e);
    int rc = 0;

    if (!st || (l && snapshot_record(st, r->source, l, r->duration_ms, 0,
                                     c->cfg->catalog.retention_ms, &res, &e) != DSRC_OK) ||
        discovery_record(st, r, &e) != DSRC_OK) {
        cli_err_print(c, &e);
        rc = CLI_EXIT_FAIL;
    } else if (l && !c->json) {
        printf("catalog %s (snapshot %lld)", res.changed ? "changed" : "unchanged",
               (long long)res.snapshot_id);
        if (res.changes)
            printf(": %zu change(s), %zu breaking; see 'dsrc drift %s'", res.changes,
                   res.breaking, r->source);
        putchar('\n');
    }
    if (st)
        store_close(st);
    derr_clear(&e);
    return rc;
}

/* Record the failed discover `r` (begun at t0; failed with `why`). */
static void discover_failed(cli *c, discovery_rec *r, const derr *why, int64_t t0)
{
    r->duration_ms = store_now() - t0;
    r->errors = 1;
    r->result = error_status_name(why->status);
    (void)discover_keep(c, NULL, r);
}

/* --cached: the live discover failed (e, printed by the caller); answer
 * from the stored catalog, saying how old it is. */
static int discover_cached(cli *c, const char *source, discover_state *ds)
{
    snapshot_info info;
    char age[160];
    derr e = {0};
    store *st = store_open_cfg(c->cfg, &e);
    int rc;

    if (!st) {
        cli_err_print(c, &e);
        derr_clear(&e);
        return CLI_EXIT_FAIL;
    }
    ds->keep = NULL;
    ds->n = 0;
    table_free(ds->t);
    ds->t = NULL;
    if (!c->json) {
        const char *hdr[] = {"item", "kind", "rows", "cols", "columns"};
        ds->t = table_new(5, hdr);
        table_right(ds->t, 2);
        table_right(ds->t, 3);
    }
    rc = cli_catalog_replay(c, st, source, discover_item, ds, &info);
    store_close(st);
    if (rc)
        return rc;
    cli_catalog_age(&info, age, sizeof age);
    fprintf(stderr, "%s: %s: answering from the stored catalog: %s\n", c->prog, source, age);
    if (c->json) {
        printf(ds->n ? "\n]\n" : "[]\n");
    } else {
        table_print(ds->t, stdout);
        printf("\n%zu item(s), cached: %s\n", ds->n, age);
    }
    return 0;
}

int cli_cmd_discover(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {CLI_COMMON_LONGS, {"system", no_argument, NULL, 's'},
                                          {"cached", no_argument, NULL, 'C'},
                                          {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("discover");
    int rc = 0, i, flags[2] = {0, 0}, sys;
    router_lease l = {0};
    dsrc_meta_sink sink;
    dsrc_discover_req req;
    dsrc_discover_result res;
    discover_state ds = {0};
    catalog_list keep = {0};
    discovery_rec rec;
    derr e = {0};
    int64_t t0;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "hsC", longs, discover_opt, flags, &rc)) < 0)
        return rc;
    sys = flags[0];
    if (argc - i < 1 || argc - i > 2)
        return cli_usage_error(c, cmd, "expected a source name and an optional path");
    if (flags[1] && (sys || argc - i == 2))
        return cli_usage_error(c, cmd, "--cached answers for the whole source only");
    if ((rc = cli_load_config(c, 0)))
        return rc;
    cli_cancel_begin(c, -1, NULL);
    ds.c = c;
    t0 = store_now();
    memset(&rec, 0, sizeof rec);
    rec.source = argv[i];
    rec.started_at = t0;
    rec.queries = -1;
    if ((rc = cli_lease_source_why(c, argv[i], "discover", &l, &e))) {
        /* a discover of the whole source that could not connect is
         * recorded as failed */
        if (e.status != DSRC_OK && c->rt && !sys && argc - i == 1) {
            rec.mode = discovery_choose(router_reg_source(c->rt)->cfg->discover_mode, NULL,
                                        NULL);
            discover_failed(c, &rec, &e, t0);
        }
        derr_clear(&e);
        if (flags[1] && rc != CLI_EXIT_CONFIG && rc != CLI_EXIT_USAGE && !cli_interrupted())
            rc = discover_cached(c, argv[i], &ds);
        table_free(ds.t);
        return rc;
    }
    /* only a discover of the whole source is a catalog */
    if (!sys && argc - i == 1)
        ds.keep = &keep;
    /* a fresh process has no health history: adaptive is balanced here */
    rec.mode = discovery_choose(l.conn->src->cfg->discover_mode, NULL, NULL);
    if (!c->json) {
        const char *hdr[] = {"item", "kind", "rows", "cols", "columns"};
        ds.t = table_new(5, hdr);
        table_right(ds.t, 2);
        table_right(ds.t, 3);
    }
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = &ds;
    sink.metadata = discover_item;
    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.path = argc - i == 2 ? argv[i + 1] : NULL;
    req.include_system = sys;
    req.result = &res;
    req.mode = rec.mode;
    if (source_discover(l.conn, &req, &sink, &e) != DSRC_OK) {
        if (c->json && ds.n && !flags[1])
            printf("\n]\n");
        cli_err_print(c, &e);
        rc = cli_fail_status(&e);
        if (ds.keep) {
            rec.queries = res.queries;
            discover_failed(c, &rec, &e, t0);
        }
        if (flags[1] && !(c->json && ds.n) && !cli_interrupted())
            rc = discover_cached(c, argv[i], &ds);
    } else if (ds.keep_failed) {
        derr_set(&e, DSRC_E_INTERNAL, "out of memory keeping the catalog");
        cli_err_print(c, &e);
        rc = CLI_EXIT_FAIL;
    } else {
        if (c->json) {
            printf(ds.n ? "\n]\n" : "[]\n");
        } else {
            table_print(ds.t, stdout);
            if (res.queries >= 0)
                printf("\n%zu item(s) in %" PRId64 " quer%s, mode %s\n", ds.n, res.queries,
                       res.queries == 1 ? "y" : "ies", discovery_mode_name(rec.mode));
            else
                printf("\n%zu item(s), mode %s\n", ds.n, discovery_mode_name(rec.mode));
        }
        if (ds.keep) {
            rec.duration_ms = store_now() - t0;
            rec.items = (int64_t)ds.n;
            rec.queries = res.queries;
            rec.result = "ok";
            rc = discover_keep(c, &keep, &rec);
        }
    }
    catalog_list_free(&keep);
    table_free(ds.t);
    cli_lease_done(c, &l, &e);
    derr_clear(&e);
    return rc;
}
