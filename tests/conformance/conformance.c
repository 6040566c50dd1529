/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conformance.c -- the shared plugin conformance suite (see conformance.h).
 *
 * Each case loads the configuration written by conf_main() through the
 * host's own modules (config, loader, registry, source), opens the source
 * "conf" and checks one behaviour of the plugin.  Nothing here knows which
 * plugin runs: expectations come from the fixture and its declared quirks.
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "base/diag.h"
#include "plugin/loader.h"
#include "base/log.h"
#include "plugin/registry.h"
#include "plugin/source.h"

#include "conformance.h"

#define CONF_SOURCE "conf"
#define CONF_BAD_SOURCE "conf_bad"
#define CONF_NO_COLUMN "no_such_column_xyz"

static conf_fixture *cf_fx;
static char cf_tmp[PATH_MAX];
static char cf_conf_path[PATH_MAX + 32];

const char *conf_tmpdir(void)
{
    return cf_tmp;
}

conf_fixture *conf_current(void)
{
    return cf_fx;
}

/* ------------------------------------------------------------------------ */
/* Writing the configuration                                                 */

/* Write `s` as a libconfig string literal. */
static void cf_put_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

int conf_write_source_text(const char *name, const char *fmt, ...)
{
    char path[PATH_MAX + 64];
    va_list ap;
    FILE *fp;

    snprintf(path, sizeof path, "%s/sources.d/%s.conf", cf_tmp, name);
    fp = fopen(path, "w");
    if (!fp) {
        fprintf(stderr, "conformance: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(fp, "# written by the conformance suite\nname = ");
    cf_put_string(fp, name);
    fprintf(fp, ";\ntype = ");
    cf_put_string(fp, cf_fx->plugin);
    fprintf(fp, ";\n");
    va_start(ap, fmt);
    vfprintf(fp, fmt, ap);
    va_end(ap);
    fputc('\n', fp);
    if (fclose(fp) != 0) {
        fprintf(stderr, "conformance: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int conf_write_source(const char *name, const char *connection)
{
    return conf_write_source_text(name, "connection = {\n  %s\n};", connection);
}

static int cf_write_daemon_conf(void)
{
    FILE *fp;
    char dir[PATH_MAX + 32];

    snprintf(cf_conf_path, sizeof cf_conf_path, "%s/dsrcd.conf", cf_tmp);
    fp = fopen(cf_conf_path, "w");
    if (!fp) {
        fprintf(stderr, "conformance: cannot write %s: %s\n", cf_conf_path, strerror(errno));
        return -1;
    }
    fprintf(fp, "plugin_dir = ");
    cf_put_string(fp, cf_fx->plugin_dir);
    snprintf(dir, sizeof dir, "%s/state", cf_tmp);
    fprintf(fp, ";\nstate_dir = ");
    cf_put_string(fp, dir);
    snprintf(dir, sizeof dir, "%s/workspace", cf_tmp);
    fprintf(fp, ";\nworkspace = ");
    cf_put_string(fp, dir);
    snprintf(dir, sizeof dir, "%s/sources.d", cf_tmp);
    fprintf(fp, ";\nsources_dir = ");
    cf_put_string(fp, dir);
    fprintf(fp, ";\nlog_level = \"warning\";\n");
    return fclose(fp) == 0 ? 0 : -1;
}

static int cf_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ------------------------------------------------------------------------ */
/* Loading through the host                                                  */

struct conf_env {
    diag_list diags;
    cfg_config *cfg;
    loader_set *plugins;
    registry *reg;
};

static char *cf_diag_text(const diag_list *l)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp)
        return NULL;
    diag_print(l, fp);
    fclose(fp);
    return buf;
}

conf_env *conf_env_new(void)
{
    conf_env *env = calloc(1, sizeof *env);
    char *text;

    ck_assert_ptr_nonnull(env);
    env->cfg = cfg_load(cf_conf_path, &env->diags);
    text = cf_diag_text(&env->diags);
    ck_assert_msg(env->cfg != NULL, "cfg_load(%s) failed:\n%s", cf_conf_path,
                  text ? text : "");
    ck_assert_msg(env->diags.n_errors == 0, "configuration errors:\n%s", text ? text : "");
    free(text);
    ck_assert_uint_ge(env->cfg->n_plugin_dirs, 1);
    env->plugins = loader_new((const char *const *)env->cfg->plugin_dirs, env->cfg->n_plugin_dirs);
    ck_assert_ptr_nonnull(env->plugins);
    env->reg = registry_build(env->cfg, env->plugins, &env->diags);
    ck_assert_ptr_nonnull(env->reg);
    text = cf_diag_text(&env->diags);
    ck_assert_msg(env->diags.n_errors == 0, "registry errors:\n%s", text ? text : "");
    free(text);
    return env;
}

dsrc_status conf_env_open_at(conf_env *env, const char *name, int endpoint,
                             struct source_conn **out, derr *e)
{
    const registry_source *s = registry_find(env->reg, name);
    derr local = {0};
    dsrc_status st;

    ck_assert_msg(s != NULL, "source '%s' is not in the registry", name);
    *out = NULL;
    st = source_open(s, endpoint, out, e ? e : &local);
    if (st == DSRC_OK)
        ck_assert_ptr_nonnull(*out);
    else
        ck_assert_ptr_null(*out);
    derr_clear(&local);
    return st;
}

dsrc_status conf_env_open(conf_env *env, const char *name, struct source_conn **out, derr *e)
{
    return conf_env_open_at(env, name, 0, out, e);
}

void conf_env_free(conf_env *env)
{
    if (!env)
        return;
    registry_free(env->reg);
    loader_free(env->plugins);
    cfg_free(env->cfg);
    diag_free(&env->diags);
    free(env);
}

/* The per-case environment: the "conf" source, opened. */
static conf_env *cf_env;
static source_conn *cf_conn;

static void cf_case_setup(void)
{
    derr e = {0};
    dsrc_status st;

    cf_env = conf_env_new();
    st = conf_env_open(cf_env, CONF_SOURCE, &cf_conn, &e);
    ck_assert_msg(st == DSRC_OK, "opening the fixture source failed: %s (%s)",
                  e.msg ? e.msg : "(no message)", error_status_name(st));
    derr_clear(&e);
}

static void cf_case_teardown(void)
{
    source_close(cf_conn);
    cf_conn = NULL;
    conf_env_free(cf_env);
    cf_env = NULL;
}

/* ------------------------------------------------------------------------ */
/* Collecting what the plugin sends                                          */

char *conf_render(const dsrc_cell *cell)
{
    int oom = 0;
    char *s = conform_render(cell, &oom);

    ck_assert_msg(!oom, "out of memory");
    return s;
}

typedef struct cf_fetch_ctx {
    conf_rows *r;
    size_t cap;
    int stop_at_schema;  /* schema() returns nonzero                       */
    long stop_after;     /* row() returns nonzero at this row (1-based); 0 */
} cf_fetch_ctx;

static int cf_schema(void *user, const dsrc_column *cols, size_t n)
{
    cf_fetch_ctx *fc = user;
    conf_rows *r = fc->r;
    size_t i;

    r->schema_calls++;
    if (r->schema_calls == 1) {
        r->n_columns = n;
        r->names = calloc(n + 1, sizeof *r->names);
        r->col_types = calloc(n + 1, sizeof *r->col_types);
        ck_assert_ptr_nonnull(r->names);
        ck_assert_ptr_nonnull(r->col_types);
        for (i = 0; i < n; i++) {
            ck_assert_ptr_nonnull(cols[i].name);
            r->names[i] = strdup(cols[i].name);
            r->col_types[i] = cols[i].type;
        }
    }
    return fc->stop_at_schema;
}

static int cf_row(void *user, const dsrc_cell *cells, size_t n)
{
    cf_fetch_ctx *fc = user;
    conf_rows *r = fc->r;
    size_t i;

    ck_assert_msg(r->schema_calls >= 1, "row() called before schema()");
    if (n != r->n_columns) {
        r->bad_row_width = 1;
        return 1;
    }
    if (r->n_rows == fc->cap) {
        size_t cap = fc->cap ? fc->cap * 2 : 64;
        r->text = realloc(r->text, cap * (n ? n : 1) * sizeof *r->text);
        r->types = realloc(r->types, cap * (n ? n : 1) * sizeof *r->types);
        ck_assert_ptr_nonnull(r->text);
        ck_assert_ptr_nonnull(r->types);
        fc->cap = cap;
    }
    for (i = 0; i < n; i++) {
        r->text[r->n_rows * n + i] = conf_render(&cells[i]);
        r->types[r->n_rows * n + i] = cells[i].type;
        /* a double's text (ABI 1.5) is a double, written as the host
         * writes the double it reads back as */
        if (cells[i].type == DSRC_T_DOUBLE_TEXT) {
            ck_assert_msg(conform_double_text_exact(&cells[i]),
                          "row %zu, column %zu: the double's text '%.*s' is not what the "
                          "host writes for its value", r->n_rows + 1, i + 1,
                          (int)(cells[i].v.s.len < 40 ? cells[i].v.s.len : 40),
                          cells[i].v.s.ptr ? cells[i].v.s.ptr : "");
            r->types[r->n_rows * n + i] = DSRC_T_DOUBLE;
            r->n_double_text++;
        }
    }
    r->n_rows++;
    return fc->stop_after > 0 && (long)r->n_rows >= fc->stop_after;
}

static dsrc_status cf_fetch_e(source_conn *c, const dsrc_fetch_req *req, conf_rows *out,
                              dsrc_fetch_result *res, derr *e, int stop_at_schema,
                              long stop_after)
{
    cf_fetch_ctx fc;
    dsrc_row_sink rows;
    dsrc_fetch_result local;
    derr le = {0};
    dsrc_status st;

    memset(out, 0, sizeof *out);
    memset(&fc, 0, sizeof fc);
    fc.r = out;
    fc.stop_at_schema = stop_at_schema;
    fc.stop_after = stop_after;
    memset(&rows, 0, sizeof rows);
    rows.struct_size = sizeof rows;
    rows.user = &fc;
    rows.schema = cf_schema;
    rows.row = cf_row;
    if (!res)
        res = &local;
    if (!e)
        e = &le;
    st = source_fetch(c, req, &rows, NULL, res, e);
    if (st != DSRC_OK)
        ck_assert_msg(e->msg && *e->msg, "a failed fetch (%s) carries no message",
                      error_status_name(st));
    derr_clear(&le);
    return st;
}

/* cf_fetch_e() with the message copied out (malloc'd) when `message` is
 * not NULL. */
static dsrc_status cf_fetch(source_conn *c, const dsrc_fetch_req *req, conf_rows *out,
                            dsrc_fetch_result *res, char **message, int stop_at_schema,
                            long stop_after)
{
    derr e = {0};
    dsrc_status st = cf_fetch_e(c, req, out, res, &e, stop_at_schema, stop_after);
    if (message)
        *message = e.msg ? strdup(e.msg) : NULL;
    derr_clear(&e);
    return st;
}

static dsrc_status cf_fetch_msg(source_conn *c, const dsrc_fetch_req *req, conf_rows *out,
                                dsrc_fetch_result *res, char **message)
{
    return cf_fetch(c, req, out, res, message, 0, 0);
}

dsrc_status conf_fetch_all(struct source_conn *c, const dsrc_fetch_req *req, conf_rows *out,
                           dsrc_fetch_result *res, derr *e)
{
    return cf_fetch_e(c, req, out, res, e, 0, 0);
}

void conf_rows_free(conf_rows *r)
{
    size_t i;
    for (i = 0; i < r->n_columns; i++)
        free(r->names[i]);
    for (i = 0; i < r->n_rows * r->n_columns; i++)
        free(r->text[i]);
    free(r->names);
    free(r->col_types);
    free(r->text);
    free(r->types);
    memset(r, 0, sizeof *r);
}

ssize_t conf_rows_col(const conf_rows *r, const char *name)
{
    size_t i;
    for (i = 0; i < r->n_columns; i++)
        if (strcmp(r->names[i], name) == 0)
            return (ssize_t)i;
    return -1;
}

/* The index of cell (row, column `name`) in r->text / r->types. */
static size_t cf_cell_index(const conf_rows *r, size_t row, const char *name)
{
    ssize_t k = conf_rows_col(r, name);
    ck_assert_msg(k >= 0, "no column '%s'", name);
    ck_assert_uint_lt(row, r->n_rows);
    return row * r->n_columns + (size_t)k;
}

const char *conf_rows_cell(const conf_rows *r, size_t row, const char *name)
{
    return r->text[cf_cell_index(r, row, name)];
}

dsrc_type conf_rows_type(const conf_rows *r, size_t row, const char *name)
{
    return r->types[cf_cell_index(r, row, name)];
}

void conf_expect_rows(struct source_conn *c, const char *item, size_t rows)
{
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};
    dsrc_status st;

    conf_req(&req, item);
    st = conf_fetch_all(c, &req, &r, NULL, &e);
    ck_assert_msg(st == DSRC_OK, "fetch of %s failed: %s (%s)", item, error_status_name(st),
                  e.msg ? e.msg : "");
    ck_assert_msg(r.n_rows == rows, "fetch of %s gave %zu rows, expected %zu", item, r.n_rows,
                  rows);
    conf_rows_free(&r);
    derr_clear(&e);
}

void conf_req(dsrc_fetch_req *req, const char *item)
{
    memset(req, 0, sizeof *req);
    req->struct_size = sizeof *req;
    req->item = item;
    req->limit = -1;
    req->mode = DSRC_FETCH_ROWS;
}

/* Items from list(). */
typedef struct cf_item {
    char *path, *name;
    dsrc_item_kind kind;
    int container;
    int64_t rows;
} cf_item;

typedef struct cf_items {
    cf_item *v;
    size_t n, cap;
    size_t stop_after; /* return nonzero after this many; 0 never */
} cf_items;

static int cf_item_cb(void *user, const dsrc_item *it)
{
    cf_items *l = user;
    ck_assert_ptr_nonnull(it);
    ck_assert_uint_ge(it->struct_size, sizeof(uint32_t));
    ck_assert_msg(it->path && *it->path, "an item has no path");
    ck_assert_msg(it->name && *it->name, "item '%s' has no name", it->path);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        ck_assert_ptr_nonnull(l->v);
    }
    l->v[l->n].path = strdup(it->path);
    l->v[l->n].name = strdup(it->name);
    l->v[l->n].kind = it->kind;
    l->v[l->n].container = it->container;
    l->v[l->n].rows = it->rows;
    l->n++;
    return l->stop_after && l->n >= l->stop_after;
}

static dsrc_status cf_list(const char *path, cf_items *out, char **message)
{
    dsrc_item_sink sink;
    derr e = {0};
    dsrc_status st;

    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = out;
    sink.item = cf_item_cb;
    st = source_list(cf_conn, path, &sink, &e);
    if (message)
        *message = e.msg ? strdup(e.msg) : NULL;
    derr_clear(&e);
    return st;
}

static void cf_items_free(cf_items *l)
{
    size_t i;
    for (i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].name);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Metadata from describe() / discover(). */
typedef struct cf_meta {
    char *path, *name;
    dsrc_item_kind kind;
    int64_t rows;
    size_t n_columns;
    char **col_names;
    dsrc_type *col_types;
    int *col_pk;
    char *fks;           /* the foreign keys, cf_fk_render()'d */
} cf_meta;

typedef struct cf_metas {
    cf_meta *v;
    size_t n, cap;
    size_t stop_after;
} cf_metas;

/* Foreign keys as one string: per key "name(c1,c2)->item(r1,r2) UPD/DEL;"
 * ("(null)" for a missing name or action).  malloc'd. */
static char *cf_fk_render(const dsrc_foreign_key *k, size_t n)
{
    dsrc_buf b = {0};
    size_t i, j;

    dsrc_buf_add(&b, "");
    for (i = 0; i < n; i++) {
        dsrc_buf_printf(&b, "%s(", k[i].name ? k[i].name : "(null)");
        for (j = 0; j < k[i].n_columns; j++)
            dsrc_buf_printf(&b, "%s%s", j ? "," : "", k[i].columns[j]);
        dsrc_buf_printf(&b, ")->%s(", k[i].ref_item ? k[i].ref_item : "(null)");
        for (j = 0; j < k[i].n_columns; j++)
            dsrc_buf_printf(&b, "%s%s", j ? "," : "", k[i].ref_columns[j]);
        dsrc_buf_printf(&b, ") %s/%s;", k[i].on_update ? k[i].on_update : "(null)",
                        k[i].on_delete ? k[i].on_delete : "(null)");
    }
    ck_assert(!b.failed);
    return b.s;
}

static int cf_meta_cb(void *user, const dsrc_metadata *md)
{
    cf_metas *l = user;
    cf_meta *m;
    size_t i;

    ck_assert_ptr_nonnull(md);
    ck_assert_msg(md->item != NULL, "metadata without an item");
    ck_assert_msg(md->item->path && md->item->name, "metadata item without path or name");
    ck_assert_msg(md->n_columns == 0 || md->columns != NULL,
                  "metadata announces %zu columns but has none", md->n_columns);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        ck_assert_ptr_nonnull(l->v);
    }
    m = &l->v[l->n++];
    memset(m, 0, sizeof *m);
    m->path = strdup(md->item->path);
    m->name = strdup(md->item->name);
    m->kind = md->item->kind;
    m->rows = md->item->rows;
    m->n_columns = md->n_columns;
    /* The host hands on every member it knows (source.h). */
    ck_assert_uint_ge(md->struct_size, sizeof(dsrc_metadata));
    ck_assert_msg(md->n_foreign_keys == 0 || md->foreign_keys != NULL,
                  "metadata announces %zu foreign keys but has none", md->n_foreign_keys);
    m->fks = cf_fk_render(md->foreign_keys, md->n_foreign_keys);
    m->col_names = calloc(md->n_columns + 1, sizeof *m->col_names);
    m->col_types = calloc(md->n_columns + 1, sizeof *m->col_types);
    m->col_pk = calloc(md->n_columns + 1, sizeof *m->col_pk);
    ck_assert_ptr_nonnull(m->col_names);
    for (i = 0; i < md->n_columns; i++) {
        ck_assert_msg(md->columns[i].name != NULL, "column %zu of '%s' has no name", i,
                      m->path);
        m->col_names[i] = strdup(md->columns[i].name);
        m->col_types[i] = md->columns[i].type;
        m->col_pk[i] = md->columns[i].primary_key;
    }
    for (i = 0; i < md->n_properties; i++)
        ck_assert_msg(md->properties[i].key && md->properties[i].value,
                      "property %zu of '%s' has no key or value", i, m->path);
    return l->stop_after && l->n >= l->stop_after;
}

static void cf_metas_free(cf_metas *l)
{
    size_t i, j;
    for (i = 0; i < l->n; i++) {
        for (j = 0; j < l->v[i].n_columns; j++)
            free(l->v[i].col_names[j]);
        free(l->v[i].col_names);
        free(l->v[i].col_types);
        free(l->v[i].col_pk);
        free(l->v[i].fks);
        free(l->v[i].path);
        free(l->v[i].name);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static dsrc_meta_sink cf_meta_sink(cf_metas *l)
{
    dsrc_meta_sink sink;
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = l;
    sink.metadata = cf_meta_cb;
    return sink;
}

static dsrc_status cf_describe(const char *item, cf_metas *out, char **message)
{
    dsrc_meta_sink sink = cf_meta_sink(out);
    derr e = {0};
    dsrc_status st = source_describe(cf_conn, item, &sink, &e);
    if (message)
        *message = e.msg ? strdup(e.msg) : NULL;
    derr_clear(&e);
    return st;
}

/* True when m is the fixture's table. */
static int cf_is_table(const char *path, const char *name)
{
    return strcmp(path, cf_fx->table) == 0 ||
           (cf_fx->table_name && strcmp(name, cf_fx->table_name) == 0);
}

static void cf_check_columns(const cf_meta *m, int check_types_and_pk)
{
    size_t i;

    ck_assert_msg(m->n_columns == cf_fx->n_columns, "'%s' has %zu columns, expected %zu",
                  m->path, m->n_columns, cf_fx->n_columns);
    for (i = 0; i < m->n_columns; i++) {
        ck_assert_str_eq(m->col_names[i], cf_fx->columns[i]);
        if (check_types_and_pk && cf_fx->column_types &&
            !(cf_fx->quirks & CONF_QUIRK_NO_TYPES))
            ck_assert_msg(m->col_types[i] == cf_fx->column_types[i],
                          "column '%s' has type %d, expected %d", m->col_names[i],
                          (int)m->col_types[i], (int)cf_fx->column_types[i]);
        if (check_types_and_pk && !(cf_fx->quirks & CONF_QUIRK_NO_PK)) {
            int is_pk = cf_fx->pk_column && strcmp(m->col_names[i], cf_fx->pk_column) == 0;
            ck_assert_msg(is_pk ? m->col_pk[i] == 1 : m->col_pk[i] == 0,
                          "column '%s': primary_key = %d, expected %d", m->col_names[i],
                          m->col_pk[i], is_pk);
        }
    }
}

static void cf_check_rows(int64_t got, const char *where)
{
    if (cf_fx->quirks & CONF_QUIRK_ROWS_ESTIMATED)
        ck_assert_msg(got >= -1, "%s: rows = %" PRId64, where, got);
    else
        ck_assert_msg(got == cf_fx->rows, "%s: rows = %" PRId64 ", expected %" PRId64, where,
                      got, cf_fx->rows);
}

/* Compare two values of a cursor column (conform_cmp()). */
#define cf_cmp conform_cmp

/* ------------------------------------------------------------------------ */
/* The cases                                                                 */

START_TEST(t_open_ping)
{
    dsrc_ping_info info;
    double ms = -1;
    derr e = {0};
    dsrc_status st;

    memset(&info, 0, sizeof info);
    st = source_ping(cf_conn, &info, &ms, &e);
    ck_assert_msg(st == DSRC_OK, "ping failed: %s", e.msg ? e.msg : "");
    ck_assert_msg(ms >= 0, "no latency measured");
    ck_assert_msg(info.role != DSRC_ROLE_UNKNOWN, "ping left the role unknown");
    ck_assert_msg(info.server_version[0] != '\0', "ping left server_version empty");
    ck_assert_msg(info.endpoint[0] != '\0', "ping left endpoint empty");
    /* A second round-trip on the same connection works too. */
    ck_assert_int_eq(source_ping(cf_conn, NULL, NULL, &e), DSRC_OK);
    derr_clear(&e);
}
END_TEST

START_TEST(t_list_root)
{
    cf_items l = {0};
    char *msg = NULL;
    size_t i;
    int found = 0;
    dsrc_status st = cf_list("", &l, &msg);

    ck_assert_msg(st == DSRC_OK, "list of the root failed: %s", msg ? msg : "");
    ck_assert_msg(l.n >= 1, "the root lists nothing");
    for (i = 0; i < l.n; i++) {
        if (cf_is_table(l.v[i].path, l.v[i].name))
            found = 1;
        if (*cf_fx->table_parent && strcmp(l.v[i].path, cf_fx->table_parent) == 0) {
            found = 1;
            ck_assert_msg(l.v[i].container, "'%s' holds the table but is not a container",
                          l.v[i].path);
        }
    }
    ck_assert_msg(found, "the root lists neither '%s' nor its parent '%s'", cf_fx->table,
                  cf_fx->table_parent);
    free(msg);
    cf_items_free(&l);
}
END_TEST

START_TEST(t_list_parent)
{
    cf_items l = {0};
    cf_metas m = {0};
    char *msg = NULL;
    const cf_item *it = NULL;
    size_t i;
    dsrc_status st = cf_list(cf_fx->table_parent, &l, &msg);

    ck_assert_msg(st == DSRC_OK, "list of '%s' failed: %s", cf_fx->table_parent,
                  msg ? msg : "");
    free(msg);
    for (i = 0; i < l.n; i++)
        if (cf_is_table(l.v[i].path, l.v[i].name))
            it = &l.v[i];
    ck_assert_msg(it != NULL, "listing '%s' does not show '%s'", cf_fx->table_parent,
                  cf_fx->table);
    ck_assert_int_eq(it->kind, cf_fx->table_kind);
    ck_assert_msg(!it->container, "'%s' is listed as a container", it->path);
    if (cf_fx->quirks & CONF_QUIRK_NO_LIST_ROWS)
        ck_assert_msg(it->rows == -1 || it->rows >= 0, "bad row count");
    else
        cf_check_rows(it->rows, "list");

    /* The listed path is what describe() takes. */
    st = cf_describe(it->path, &m, &msg);
    ck_assert_msg(st == DSRC_OK, "describe of the listed path '%s' failed: %s", it->path,
                  msg ? msg : "");
    ck_assert_uint_eq(m.n, 1);
    ck_assert_str_eq(m.v[0].name, it->name);
    free(msg);
    cf_metas_free(&m);
    cf_items_free(&l);
}
END_TEST

START_TEST(t_list_stop)
{
    cf_items l = {0};
    dsrc_status st;

    l.stop_after = 1;
    st = cf_list(cf_fx->table_parent, &l, NULL);
    ck_assert_msg(st == DSRC_E_CANCELLED, "list went on after the sink said stop (%s)",
                  error_status_name(st));
    ck_assert_uint_eq(l.n, 1);
    cf_items_free(&l);
}
END_TEST

START_TEST(t_describe)
{
    cf_metas m = {0};
    char *msg = NULL;
    dsrc_status st = cf_describe(cf_fx->table, &m, &msg);

    ck_assert_msg(st == DSRC_OK, "describe '%s' failed: %s", cf_fx->table, msg ? msg : "");
    ck_assert_msg(m.n == 1, "describe delivered %zu records, expected 1", m.n);
    ck_assert_msg(cf_is_table(m.v[0].path, m.v[0].name), "describe returned '%s'",
                  m.v[0].path);
    ck_assert_int_eq(m.v[0].kind, cf_fx->table_kind);
    cf_check_columns(&m.v[0], 1);
    cf_check_rows(m.v[0].rows, "describe");
    free(msg);
    cf_metas_free(&m);
}
END_TEST

START_TEST(t_describe_stop)
{
    cf_metas m = {0};
    dsrc_status st;

    m.stop_after = 1;
    st = cf_describe(cf_fx->table, &m, NULL);
    ck_assert_msg(st == DSRC_E_CANCELLED, "describe ignored a sink that said stop (%s)",
                  error_status_name(st));
    cf_metas_free(&m);
}
END_TEST

START_TEST(t_discover)
{
    cf_metas m = {0};
    dsrc_meta_sink sink = cf_meta_sink(&m);
    derr e = {0};
    size_t i;
    const cf_meta *t = NULL;
    dsrc_status st = source_discover(cf_conn, NULL, &sink, &e);

    if (cf_fx->quirks & CONF_QUIRK_NO_DISCOVER) {
        ck_assert_msg(st == DSRC_E_UNSUPPORTED, "discover: expected unsupported, got %s",
                      error_status_name(st));
        derr_clear(&e);
        cf_metas_free(&m);
        return;
    }
    ck_assert_msg(st == DSRC_OK, "discover failed: %s", e.msg ? e.msg : "");
    for (i = 0; i < m.n; i++) {
        if (strcmp(m.v[i].path, cf_fx->table) != 0)
            continue;
        ck_assert_msg(t == NULL, "discover delivered '%s' twice", m.v[i].path);
        t = &m.v[i];
    }
    for (i = 0; !t && i < m.n; i++)
        if (cf_is_table(m.v[i].path, m.v[i].name))
            t = &m.v[i];
    ck_assert_msg(t != NULL, "discover did not find '%s' (%zu items)", cf_fx->table, m.n);
    ck_assert_int_eq(t->kind, cf_fx->table_kind);
    cf_check_columns(t, 1);
    derr_clear(&e);
    cf_metas_free(&m);

    /* A sink that stops ends it. */
    m.stop_after = 1;
    sink = cf_meta_sink(&m);
    st = source_discover(cf_conn, NULL, &sink, &e);
    ck_assert_msg(st == DSRC_E_CANCELLED, "discover ignored a sink that said stop (%s)",
                  error_status_name(st));
    ck_assert_uint_eq(m.n, 1);
    derr_clear(&e);
    cf_metas_free(&m);
}
END_TEST

/* The foreign keys of CONF_FK_CHILD (see conformance.h): describe and
 * discover report exactly the two keys, with their columns in key order,
 * and the same; CONF_FK_PARENT has none; discover says how many queries
 * it ran. */
START_TEST(t_foreign_keys)
{
    static const char *const name[2] = {"fk_child_pair", "fk_child_parent"};
    static const char *const want[2] = {"(pb,pa)->%s(b,a) RESTRICT/SET NULL;",
                                        "(parent_id)->%s(id) CASCADE/CASCADE;"};
    cf_metas m = {0}, d = {0};
    dsrc_meta_sink sink = cf_meta_sink(&d);
    dsrc_discover_req req;
    dsrc_discover_result res;
    char *msg = NULL, one[512], key[600];
    derr e = {0};
    size_t i, k;
    dsrc_status st = cf_describe(cf_fx->fk_child_item, &m, &msg);

    ck_assert_msg(st == DSRC_OK, "describe '%s' failed: %s", cf_fx->fk_child_item,
                  msg ? msg : "");
    ck_assert_uint_eq(m.n, 1);
    for (i = 0; i < 2; i++) {
        snprintf(one, sizeof one, want[i], cf_fx->fk_parent_item);
        snprintf(key, sizeof key, "%s%s",
                 cf_fx->quirks & CONF_QUIRK_NO_FK_NAMES ? "(null)" : name[i], one);
        ck_assert_msg(strstr(m.v[0].fks, key) != NULL,
                      "describe '%s': foreign keys '%s' lack '%s'", cf_fx->fk_child_item,
                      m.v[0].fks, key);
    }
    for (i = 0, k = 0; m.v[0].fks[i]; i++)
        k += m.v[0].fks[i] == ';';
    ck_assert_msg(k == 2, "describe '%s': %zu foreign keys (%s), expected 2",
                  cf_fx->fk_child_item, k, m.v[0].fks);
    free(msg);
    msg = NULL;

    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.result = &res;
    res.queries = 12345;
    st = source_discover(cf_conn, &req, &sink, &e);
    ck_assert_msg(st == DSRC_OK, "discover failed: %s", e.msg ? e.msg : "");
    ck_assert_msg(res.queries >= 1, "discover reported %" PRId64 " queries", res.queries);
    for (i = 0; i < d.n && strcmp(d.v[i].path, cf_fx->fk_child_item) != 0; i++)
        ;
    ck_assert_msg(i < d.n, "discover did not deliver '%s'", cf_fx->fk_child_item);
    ck_assert_msg(strcmp(d.v[i].fks, m.v[0].fks) == 0,
                  "'%s': discover reports foreign keys '%s', describe '%s'",
                  cf_fx->fk_child_item, d.v[i].fks, m.v[0].fks);
    for (i = 0; i < d.n && strcmp(d.v[i].path, cf_fx->fk_parent_item) != 0; i++)
        ;
    ck_assert_msg(i < d.n, "discover did not deliver '%s'", cf_fx->fk_parent_item);
    ck_assert_str_eq(d.v[i].fks, "");
    derr_clear(&e);
    cf_metas_free(&m);
    cf_metas_free(&d);

    st = cf_describe(cf_fx->fk_parent_item, &m, &msg);
    ck_assert_msg(st == DSRC_OK, "describe '%s' failed: %s", cf_fx->fk_parent_item,
                  msg ? msg : "");
    ck_assert_str_eq(m.v[0].fks, "");
    free(msg);
    cf_metas_free(&m);
}
END_TEST

/* Round trip: every item list() and discover() print is understood as
 * printed.  The walk lists the root and every container it prints, three
 * levels deep, by its printed path; each leaf it prints and each record
 * discover() prints must be described as exactly that path, and fetched
 * (one row) as that path, unless the fixture says to skip it.  A list,
 * describe or fetch may be refused for lack of privileges (the path was
 * understood), never with "not found" or "invalid argument". */
static int cf_in(const char *const *list, const char *path)
{
    for (; list && *list; list++)
        if (strcmp(*list, path) == 0)
            return 1;
    return 0;
}

static void cf_round_trip_one(const char *path, const char *where)
{
    cf_metas m = {0};
    dsrc_fetch_req req;
    conf_rows r;
    char *msg = NULL;
    dsrc_status st = cf_describe(path, &m, &msg);

    if (st == DSRC_E_PERMISSION) {
        free(msg);
        cf_metas_free(&m);
        return;
    }
    ck_assert_msg(st == DSRC_OK, "%s printed '%s', but describe of it failed (%s): %s", where,
                  path, error_status_name(st), msg ? msg : "");
    ck_assert_msg(m.n == 1 && strcmp(m.v[0].path, path) == 0,
                  "describe of '%s' (printed by %s) delivered %zu records, the first '%s'",
                  path, where, m.n, m.n ? m.v[0].path : "");
    free(msg);
    msg = NULL;
    cf_metas_free(&m);
    if (cf_in(cf_fx->skip_items, path))
        return;
    conf_req(&req, path);
    req.limit = 1;
    st = cf_fetch_msg(cf_conn, &req, &r, NULL, &msg);
    ck_assert_msg(st == DSRC_OK || st == DSRC_E_PERMISSION,
                  "%s printed '%s', but fetch of it failed (%s): %s", where, path,
                  error_status_name(st), msg ? msg : "");
    free(msg);
    conf_rows_free(&r);
}

/* Walk `path` (depth levels more), round-tripping every leaf; add every
 * printed path to `seen`. */
static void cf_walk(const char *path, int depth, cf_items *seen)
{
    cf_items l = {0};
    char *msg = NULL;
    size_t i;
    dsrc_status st = cf_list(path, &l, &msg);

    ck_assert_msg(st == DSRC_OK || (*path && st == DSRC_E_PERMISSION),
                  "list printed '%s', but list of it failed (%s): %s", path,
                  error_status_name(st), msg ? msg : "");
    free(msg);
    for (i = 0; i < l.n; i++) {
        ck_assert_msg(!*path || strcmp(l.v[i].path, path) != 0, "list of '%s' printed itself",
                      path);
        if (l.v[i].container && depth > 0 && !cf_in(cf_fx->skip_items, l.v[i].path))
            cf_walk(l.v[i].path, depth - 1, seen);
        else if (!l.v[i].container)
            cf_round_trip_one(l.v[i].path, "list");
        cf_item_cb(seen, &(dsrc_item){.struct_size = sizeof(dsrc_item), .path = l.v[i].path,
                                      .name = l.v[i].name, .container = l.v[i].container});
    }
    cf_items_free(&l);
}

START_TEST(t_round_trip)
{
    cf_items seen = {0};
    cf_metas m = {0};
    dsrc_meta_sink sink = cf_meta_sink(&m);
    derr e = {0};
    const char *const *odd;
    size_t i;
    dsrc_status st;

    cf_walk("", 3, &seen);
    for (odd = cf_fx->odd_items; odd && *odd; odd++) {
        for (i = 0; i < seen.n && strcmp(seen.v[i].path, *odd) != 0; i++)
            ;
        ck_assert_msg(i < seen.n, "list never printed '%s' (%zu items)", *odd, seen.n);
    }
    if (!(cf_fx->quirks & CONF_QUIRK_NO_DISCOVER)) {
        st = source_discover(cf_conn, NULL, &sink, &e);
        ck_assert_msg(st == DSRC_OK, "discover failed: %s", e.msg ? e.msg : "");
        derr_clear(&e);
        /* discover prints the leaves (tables, collections, files) */
        for (i = 0; i < seen.n; i++) {
            size_t k;
            if (seen.v[i].container || !cf_in(cf_fx->odd_items, seen.v[i].path))
                continue;
            for (k = 0; k < m.n && strcmp(m.v[k].path, seen.v[i].path) != 0; k++)
                ;
            ck_assert_msg(k < m.n, "discover never printed '%s' (%zu items)", seen.v[i].path,
                          m.n);
        }
        for (i = 0; i < m.n; i++)
            cf_round_trip_one(m.v[i].path, "discover");
    }
    cf_items_free(&seen);
    cf_metas_free(&m);
}
END_TEST

START_TEST(t_fetch_all)
{
    dsrc_fetch_req req;
    dsrc_fetch_result res;
    conf_rows r;
    char *msg = NULL;
    size_t i, k;
    dsrc_status st;

    conf_req(&req, cf_fx->table);
    st = cf_fetch_msg(cf_conn, &req, &r, &res, &msg);
    ck_assert_msg(st == DSRC_OK, "fetch failed: %s", msg ? msg : "");
    ck_assert_int_eq(r.schema_calls, 1);
    ck_assert_msg(!r.bad_row_width, "a row had the wrong number of cells");
    ck_assert_uint_eq(r.n_columns, cf_fx->n_columns);
    for (i = 0; i < r.n_columns; i++) {
        ck_assert_str_eq(r.names[i], cf_fx->columns[i]);
        if (cf_fx->column_types && !(cf_fx->quirks & CONF_QUIRK_NO_TYPES))
            ck_assert_msg(r.col_types[i] == cf_fx->column_types[i],
                          "fetch schema: column '%s' has type %d, expected %d", r.names[i],
                          (int)r.col_types[i], (int)cf_fx->column_types[i]);
    }
    ck_assert_msg((int64_t)r.n_rows == cf_fx->rows, "fetched %zu rows, expected %" PRId64,
                  r.n_rows, cf_fx->rows);
    ck_assert_uint_eq(res.rows, r.n_rows);
    ck_assert_int_eq(res.mode, DSRC_FETCH_ROWS);
    ck_assert_int_eq(res.has_cursor, 0);

    for (k = 0; k < cf_fx->n_values; k++) {
        const conf_value *v = &cf_fx->values[k];
        ssize_t col = conf_rows_col(&r, v->column);
        size_t row;
        const char *got;

        ck_assert_msg(col >= 0, "value check: no column '%s'", v->column);
        for (row = 0; row < r.n_rows; row++) {
            const char *key = r.text[row * r.n_columns];
            if (key && strcmp(key, v->key) == 0)
                break;
        }
        ck_assert_msg(row < r.n_rows, "no row with key '%s'", v->key);
        got = r.text[row * r.n_columns + (size_t)col];
        if (!v->text) {
            ck_assert_msg(got == NULL, "row '%s' column '%s': expected NULL, got '%s'",
                          v->key, v->column, got);
            ck_assert_int_eq(r.types[row * r.n_columns + (size_t)col], DSRC_T_NULL);
            continue;
        }
        ck_assert_msg(got != NULL, "row '%s' column '%s': expected '%s', got NULL", v->key,
                      v->column, v->text);
        ck_assert_msg(strcmp(got, v->text) == 0,
                      "row '%s' column '%s': expected '%s', got '%s'", v->key, v->column,
                      v->text, got);
        ck_assert_msg(r.types[row * r.n_columns + (size_t)col] == v->type,
                      "row '%s' column '%s': cell type %d, expected %d", v->key, v->column,
                      (int)r.types[row * r.n_columns + (size_t)col], (int)v->type);
    }
    free(msg);
    conf_rows_free(&r);
}
END_TEST

START_TEST(t_fetch_columns)
{
    dsrc_fetch_req req;
    conf_rows all, part;
    const char *cols[2];
    size_t i, j;
    char *msg = NULL;
    dsrc_status st;

    ck_assert_uint_ge(cf_fx->n_columns, 2);
    conf_req(&req, cf_fx->table);
    ck_assert_int_eq(cf_fetch_msg(cf_conn, &req, &all, NULL, NULL), DSRC_OK);

    /* The last column, then the first: order follows the request. */
    cols[0] = cf_fx->columns[cf_fx->n_columns - 1];
    cols[1] = cf_fx->columns[0];
    req.columns = cols;
    req.n_columns = 2;
    st = cf_fetch_msg(cf_conn, &req, &part, NULL, &msg);
    ck_assert_msg(st == DSRC_OK, "fetch with columns failed: %s", msg ? msg : "");
    ck_assert_uint_eq(part.n_columns, 2);
    ck_assert_str_eq(part.names[0], cols[0]);
    ck_assert_str_eq(part.names[1], cols[1]);
    ck_assert_uint_eq(part.n_rows, all.n_rows);
    ck_assert_msg(!part.bad_row_width, "a row had the wrong number of cells");
    /* Each row carries the same values as in the full fetch. */
    for (i = 0; i < part.n_rows; i++) {
        const char *key = part.text[i * 2 + 1];
        const char *val = part.text[i * 2];
        ck_assert_ptr_nonnull(key);
        for (j = 0; j < all.n_rows; j++)
            if (all.text[j * all.n_columns] && strcmp(all.text[j * all.n_columns], key) == 0)
                break;
        ck_assert_msg(j < all.n_rows, "row '%s' is not in the full fetch", key);
        if (!val)
            ck_assert_ptr_null(all.text[j * all.n_columns + all.n_columns - 1]);
        else
            ck_assert_str_eq(val, all.text[j * all.n_columns + all.n_columns - 1]);
    }
    free(msg);
    conf_rows_free(&all);
    conf_rows_free(&part);
}
END_TEST

START_TEST(t_fetch_limit)
{
    dsrc_fetch_req req;
    dsrc_fetch_result res;
    conf_rows r;
    int64_t want = cf_fx->rows < 2 ? cf_fx->rows : 2;

    conf_req(&req, cf_fx->table);
    req.limit = 2;
    ck_assert_int_eq(cf_fetch_msg(cf_conn, &req, &r, &res, NULL), DSRC_OK);
    ck_assert_msg((int64_t)r.n_rows == want, "limit 2 gave %zu rows", r.n_rows);
    ck_assert_uint_eq(res.rows, r.n_rows);
    conf_rows_free(&r);

    req.limit = 0;
    ck_assert_int_eq(cf_fetch_msg(cf_conn, &req, &r, &res, NULL), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 0);
    ck_assert_int_eq(r.schema_calls, 1);
    ck_assert_uint_eq(r.n_columns, cf_fx->n_columns);
    conf_rows_free(&r);
}
END_TEST

START_TEST(t_fetch_cursor)
{
    dsrc_fetch_req req;
    dsrc_fetch_result res;
    conf_rows r;
    char *msg = NULL;
    ssize_t col;
    size_t i;
    dsrc_status st;

    conf_req(&req, cf_fx->table);
    req.cursor_field = cf_fx->cursor_field;
    req.cursor_value = cf_fx->cursor_value;
    memset(&res, 0, sizeof res);
    st = cf_fetch_msg(cf_conn, &req, &r, &res, &msg);
    if (cf_fx->quirks & CONF_QUIRK_NO_CURSOR) {
        ck_assert_msg(st == DSRC_E_UNSUPPORTED, "cursor fetch: expected unsupported, got %s",
                      error_status_name(st));
        free(msg);
        conf_rows_free(&r);
        return;
    }
    ck_assert_msg(st == DSRC_OK, "cursor fetch failed: %s", msg ? msg : "");
    ck_assert_msg((int64_t)r.n_rows == cf_fx->cursor_rows,
                  "cursor fetch after '%s' gave %zu rows, expected %" PRId64,
                  cf_fx->cursor_value, r.n_rows, cf_fx->cursor_rows);
    ck_assert_uint_eq(res.rows, r.n_rows);
    ck_assert_msg(res.has_cursor == 1, "cursor fetch reported no cursor_max");
    ck_assert_str_eq(res.cursor_max, cf_fx->cursor_max);
    col = conf_rows_col(&r, cf_fx->cursor_field);
    ck_assert_msg(col >= 0, "cursor column '%s' not in the rows", cf_fx->cursor_field);
    for (i = 0; i < r.n_rows; i++) {
        const char *v = r.text[i * r.n_columns + (size_t)col];
        ck_assert_msg(v != NULL, "a NULL cursor value was sent");
        ck_assert_msg(cf_cmp(v, cf_fx->cursor_value) > 0, "row with %s = '%s' is not after '%s'",
                      cf_fx->cursor_field, v, cf_fx->cursor_value);
        ck_assert_msg(cf_cmp(v, cf_fx->cursor_max) <= 0, "row value '%s' above cursor_max '%s'",
                      v, cf_fx->cursor_max);
        if (i > 0 && !(cf_fx->quirks & CONF_QUIRK_CURSOR_UNSORTED))
            ck_assert_msg(cf_cmp(r.text[(i - 1) * r.n_columns + (size_t)col], v) <= 0,
                          "rows are not in cursor order");
    }
    free(msg);
    conf_rows_free(&r);

    /* Past the end: no rows, and no cursor to report. */
    req.cursor_value = cf_fx->cursor_max;
    ck_assert_int_eq(cf_fetch_msg(cf_conn, &req, &r, &res, NULL), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 0);
    ck_assert_int_eq(res.has_cursor, 0);
    conf_rows_free(&r);
}
END_TEST

START_TEST(t_fetch_cursor_from_start)
{
    dsrc_fetch_req req;
    dsrc_fetch_result res;
    conf_rows r;
    char *msg = NULL;
    dsrc_status st;

    if (cf_fx->quirks & CONF_QUIRK_NO_CURSOR)
        return;
    ck_assert_msg(cf_fx->cursor_rows > 0, "fixture: cursor_rows must be > 0");
    conf_req(&req, cf_fx->table);
    req.cursor_field = cf_fx->cursor_field;
    st = cf_fetch_msg(cf_conn, &req, &r, &res, &msg);
    ck_assert_msg(st == DSRC_OK, "cursor fetch from the start failed: %s", msg ? msg : "");
    ck_assert_msg((int64_t)r.n_rows == cf_fx->rows, "got %zu rows, expected %" PRId64,
                  r.n_rows, cf_fx->rows);
    ck_assert_int_eq(res.has_cursor, 1);
    ck_assert_str_eq(res.cursor_max, cf_fx->cursor_max);
    free(msg);
    conf_rows_free(&r);

    /* With a limit, cursor_max is the highest value actually sent. */
    if (!(cf_fx->quirks & CONF_QUIRK_CURSOR_UNSORTED) && cf_fx->rows > 1) {
        ssize_t col;
        conf_req(&req, cf_fx->table);
        req.cursor_field = cf_fx->cursor_field;
        req.limit = 1;
        ck_assert_int_eq(cf_fetch_msg(cf_conn, &req, &r, &res, NULL), DSRC_OK);
        ck_assert_uint_eq(r.n_rows, 1);
        col = conf_rows_col(&r, cf_fx->cursor_field);
        ck_assert(col >= 0);
        if (r.text[col]) {
            ck_assert_int_eq(res.has_cursor, 1);
            ck_assert_msg(cf_cmp(res.cursor_max, r.text[col]) == 0,
                          "cursor_max '%s' is not the value sent ('%s')", res.cursor_max,
                          r.text[col]);
            ck_assert_msg(cf_cmp(res.cursor_max, cf_fx->cursor_max) < 0,
                          "cursor_max reports a value that was not sent");
        }
        conf_rows_free(&r);
    }
}
END_TEST

/* Incremental fetches of the ties item, each from the cursor_max the one
 * before reported, with limits that end inside a group of equal cursor
 * values: every row arrives exactly once, each fetch sends its `limit`
 * rows plus the rest of the last group (nothing more), the rows without a
 * cursor value come with the first fetch (from the start), beyond the
 * limit, and the last fetch sends nothing and reports no cursor. */
#define CF_TIES 10      /* keys with a cursor value                      */
#define CF_TIES_NULL 2  /* keys after them without one                   */
START_TEST(t_fetch_cursor_ties)
{
    int64_t limit;

    if (cf_fx->quirks & CONF_QUIRK_NO_CURSOR)
        return;
    ck_assert_msg(cf_fx->ties_item && cf_fx->ties_key && cf_fx->ties_cursor,
                  "fixture: ties_item, ties_key and ties_cursor are required");
    for (limit = 1; limit <= 4; limit++) {
        int seen[CF_TIES + CF_TIES_NULL + 1] = {0}, left = CF_TIES, run, k;
        char cursor[DSRC_CURSOR_MAX] = "";

        for (run = 0; run <= CF_TIES; run++) {
            dsrc_fetch_req req;
            dsrc_fetch_result res;
            conf_rows r;
            char *msg = NULL;
            ssize_t kc, cc;
            size_t i, want;
            long top = 0;
            dsrc_status st;

            conf_req(&req, cf_fx->ties_item);
            req.cursor_field = cf_fx->ties_cursor;
            req.cursor_value = run ? cursor : NULL;
            req.limit = limit;
            memset(&res, 0, sizeof res);
            st = cf_fetch_msg(cf_conn, &req, &r, &res, &msg);
            ck_assert_msg(st == DSRC_OK, "limit %" PRId64 ", after '%s': %s", limit,
                          req.cursor_value ? req.cursor_value : "(start)", msg ? msg : "");
            free(msg);
            /* Groups are pairs: `limit` rows rounded up to a whole pair. */
            want = (size_t)(limit + (limit & 1));
            if (want > (size_t)left)
                want = (size_t)left;
            if (run == 0)
                want += CF_TIES_NULL;
            ck_assert_msg(r.n_rows == want,
                          "limit %" PRId64 ", after '%s': %zu rows, expected %zu", limit,
                          req.cursor_value ? req.cursor_value : "(start)", r.n_rows, want);
            if (r.n_rows == 0) {
                ck_assert_msg(res.has_cursor == 0, "an empty fetch reported cursor '%s'",
                              res.cursor_max);
                conf_rows_free(&r);
                break;
            }
            kc = conf_rows_col(&r, cf_fx->ties_key);
            cc = conf_rows_col(&r, cf_fx->ties_cursor);
            ck_assert_msg(kc >= 0 && cc >= 0, "the ties item lacks its key or cursor column");
            for (i = 0; i < r.n_rows; i++) {
                const char *kt = r.text[i * r.n_columns + (size_t)kc];
                const char *vt = r.text[i * r.n_columns + (size_t)cc];
                long key, v;
                ck_assert_msg(kt != NULL, "a NULL key in the ties item");
                key = strtol(kt, NULL, 10);
                ck_assert_msg(key >= 1 && key <= CF_TIES + CF_TIES_NULL, "unexpected key '%s'",
                              kt);
                seen[key]++;
                if (key > CF_TIES) {
                    ck_assert_msg(vt == NULL, "key %ld has cursor value '%s'", key, vt);
                    ck_assert_msg(run == 0, "key %ld (no cursor value) came after '%s'", key,
                                  cursor);
                    continue;
                }
                ck_assert_msg(vt != NULL, "key %ld has no cursor value", key);
                v = strtol(vt, NULL, 10);
                ck_assert_msg(v == (key + 1) / 2, "key %ld has cursor value '%s'", key, vt);
                if (v > top)
                    top = v;
            }
            left -= (int)r.n_rows - (run == 0 ? CF_TIES_NULL : 0);
            ck_assert_msg(res.has_cursor == 1, "limit %" PRId64 ": no cursor reported", limit);
            ck_assert_msg(strtol(res.cursor_max, NULL, 10) == top,
                          "cursor_max '%s' is not the highest value sent (%ld)", res.cursor_max,
                          top);
            snprintf(cursor, sizeof cursor, "%s", res.cursor_max);
            conf_rows_free(&r);
        }
        for (k = 1; k <= CF_TIES + CF_TIES_NULL; k++)
            ck_assert_msg(seen[k] == 1, "limit %" PRId64 ": key %d arrived %d times", limit, k,
                          seen[k]);
    }
}
END_TEST

START_TEST(t_fetch_cursor_bad_field)
{
    dsrc_fetch_req req;
    conf_rows r;
    char *msg = NULL;
    dsrc_status st;

    conf_req(&req, cf_fx->table);
    req.cursor_field = CONF_NO_COLUMN;
    req.cursor_value = "1";
    st = cf_fetch_msg(cf_conn, &req, &r, NULL, &msg);
    if (cf_fx->quirks & CONF_QUIRK_NO_CURSOR) {
        ck_assert_int_ne(st, DSRC_OK);
    } else {
        ck_assert_msg(st == DSRC_E_INVALID_ARGUMENT, "unknown cursor field gave %s",
                      error_status_name(st));
        ck_assert_msg(msg && strstr(msg, CONF_NO_COLUMN), "message does not name the field: %s",
                      msg ? msg : "");
    }
    ck_assert_uint_eq(r.n_rows, 0);
    free(msg);
    conf_rows_free(&r);
}
END_TEST

START_TEST(t_bad_options)
{
    conf_env *env;
    source_conn *c = NULL;
    derr e = {0};
    dsrc_status st;

    ck_assert_msg(cf_fx->bad_connection[0], "fixture: no bad connection");
    env = conf_env_new();
    st = conf_env_open(env, CONF_BAD_SOURCE, &c, &e);
    ck_assert_msg(st == cf_fx->bad_status, "bad options: expected %s, got %s (%s)",
                  error_status_name(cf_fx->bad_status), error_status_name(st),
                  e.msg ? e.msg : "");
    ck_assert_ptr_null(c);
    ck_assert_msg(e.msg && *e.msg, "the refusal carries no message");
    ck_assert_msg(strstr(e.msg, CONF_BAD_SOURCE) != NULL,
                  "the message does not name the source: %s", e.msg);
    derr_clear(&e);
    conf_env_free(env);
}
END_TEST

START_TEST(t_not_found)
{
    cf_metas m = {0};
    dsrc_fetch_req req;
    conf_rows r;
    char *msg = NULL;
    dsrc_status st;

    st = cf_describe(cf_fx->missing_item, &m, &msg);
    ck_assert_msg(st == DSRC_E_NOT_FOUND, "describe of a missing item gave %s",
                  error_status_name(st));
    ck_assert_uint_eq(m.n, 0);
    ck_assert_msg(msg && strstr(msg, cf_fx->missing_item),
                  "the message does not name the item: %s", msg ? msg : "");
    free(msg);
    cf_metas_free(&m);

    conf_req(&req, cf_fx->missing_item);
    st = cf_fetch_msg(cf_conn, &req, &r, NULL, &msg);
    ck_assert_msg(st == DSRC_E_NOT_FOUND, "fetch of a missing item gave %s",
                  error_status_name(st));
    ck_assert_int_eq(r.schema_calls, 0);
    ck_assert_msg(msg && strstr(msg, cf_fx->missing_item),
                  "the message does not name the item: %s", msg ? msg : "");
    free(msg);
    conf_rows_free(&r);

    /* The connection still works afterwards. */
    st = cf_describe(cf_fx->table, &m, &msg);
    ck_assert_msg(st == DSRC_OK, "describe after an error failed: %s", msg ? msg : "");
    free(msg);
    cf_metas_free(&m);
}
END_TEST

START_TEST(t_unknown_column)
{
    dsrc_fetch_req req;
    conf_rows r;
    const char *cols[2];
    char *msg = NULL;
    dsrc_status st;

    cols[0] = cf_fx->columns[0];
    cols[1] = CONF_NO_COLUMN;
    conf_req(&req, cf_fx->table);
    req.columns = cols;
    req.n_columns = 2;
    st = cf_fetch_msg(cf_conn, &req, &r, NULL, &msg);
    ck_assert_msg(st == DSRC_E_INVALID_ARGUMENT, "unknown column gave %s",
                  error_status_name(st));
    ck_assert_msg(msg && strstr(msg, CONF_NO_COLUMN), "the message does not name the column: %s",
                  msg ? msg : "");
    ck_assert_uint_eq(r.n_rows, 0);
    free(msg);
    conf_rows_free(&r);
}
END_TEST

START_TEST(t_sink_stop)
{
    dsrc_fetch_req req;
    dsrc_fetch_result res;
    conf_rows r;
    dsrc_status st;

    ck_assert_msg(cf_fx->rows >= 2, "fixture: the table needs at least 2 rows");
    conf_req(&req, cf_fx->table);
    memset(&res, 0, sizeof res);
    st = cf_fetch(cf_conn, &req, &r, &res, NULL, 0, 1);
    ck_assert_msg(st == DSRC_E_CANCELLED, "a row sink asking to stop gave %s",
                  error_status_name(st));
    ck_assert_uint_eq(r.n_rows, 1);
    ck_assert_uint_le(res.rows, 1);
    conf_rows_free(&r);

    st = cf_fetch(cf_conn, &req, &r, &res, NULL, 1, 0);
    ck_assert_msg(st == DSRC_E_CANCELLED, "a schema sink asking to stop gave %s",
                  error_status_name(st));
    ck_assert_uint_eq(r.n_rows, 0);
    conf_rows_free(&r);
}
END_TEST

START_TEST(t_cancel_flag)
{
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};
    dsrc_status st;

    if (cf_fx->quirks & CONF_QUIRK_NO_CANCEL)
        return;
    conf_req(&req, cf_fx->table);
    atomic_store(&cf_conn->cancel, 1);
    st = cf_fetch_msg(cf_conn, &req, &r, NULL, NULL);
    ck_assert_msg(st == DSRC_E_CANCELLED, "fetch with the cancel flag set gave %s",
                  error_status_name(st));
    ck_assert_uint_eq(r.n_rows, 0);
    conf_rows_free(&r);

    /* Cleared, the connection serves again. */
    atomic_store(&cf_conn->cancel, 0);
    ck_assert_int_eq(source_ping(cf_conn, NULL, NULL, &e), DSRC_OK);
    ck_assert_int_eq(cf_fetch_msg(cf_conn, &req, &r, NULL, NULL), DSRC_OK);
    ck_assert_msg((int64_t)r.n_rows == cf_fx->rows, "fetch after a cancel gave %zu rows",
                  r.n_rows);
    conf_rows_free(&r);
    derr_clear(&e);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Suite and runner                                                          */

Suite *conf_suite(conf_fixture *fx)
{
    Suite *s;
    TCase *tc;
    static char name[128];

    cf_fx = fx;
    snprintf(name, sizeof name, "conformance:%s", fx->plugin);
    s = suite_create(name);

    tc = tcase_create("open");
    tcase_add_checked_fixture(tc, cf_case_setup, cf_case_teardown);
    tcase_add_test(tc, t_open_ping);
    tcase_add_test(tc, t_bad_options);
    suite_add_tcase(s, tc);

    tc = tcase_create("catalog");
    tcase_add_checked_fixture(tc, cf_case_setup, cf_case_teardown);
    tcase_add_test(tc, t_list_root);
    tcase_add_test(tc, t_list_parent);
    tcase_add_test(tc, t_list_stop);
    tcase_add_test(tc, t_describe);
    tcase_add_test(tc, t_describe_stop);
    tcase_add_test(tc, t_discover);
    if (fx->fk_child_item && !(fx->quirks & CONF_QUIRK_NO_DISCOVER))
        tcase_add_test(tc, t_foreign_keys);
    suite_add_tcase(s, tc);

    /* The walk describes and fetches every item: give it time. */
    tc = tcase_create("paths");
    tcase_add_checked_fixture(tc, cf_case_setup, cf_case_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_round_trip);
    suite_add_tcase(s, tc);

    tc = tcase_create("fetch");
    tcase_add_checked_fixture(tc, cf_case_setup, cf_case_teardown);
    tcase_add_test(tc, t_fetch_all);
    tcase_add_test(tc, t_fetch_columns);
    tcase_add_test(tc, t_fetch_limit);
    tcase_add_test(tc, t_fetch_cursor);
    tcase_add_test(tc, t_fetch_cursor_from_start);
    tcase_add_test(tc, t_fetch_cursor_ties);
    tcase_add_test(tc, t_fetch_cursor_bad_field);
    conf_golden_add(tc);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, cf_case_setup, cf_case_teardown);
    tcase_add_test(tc, t_not_found);
    tcase_add_test(tc, t_unknown_column);
    tcase_add_test(tc, t_sink_stop);
    tcase_add_test(tc, t_cancel_flag);
    suite_add_tcase(s, tc);
    return s;
}

static int cf_mkdir(const char *sub)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", cf_tmp, sub);
    if (mkdir(path, 0700) != 0) {
        fprintf(stderr, "conformance: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int conf_main(conf_fixture *fx, TCase *extra)
{
    const char *tmp = getenv("TMPDIR");
    SRunner *sr;
    Suite *s;
    int failed, rc;

    cf_fx = fx;
    unsetenv("DSRC_PLUGIN_PATH");
    log_init("conformance", LOG_TARGET_STDERR, DSRC_LOG_WARNING);
    snprintf(cf_tmp, sizeof cf_tmp, "%s/dsrc-conf-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp",
             fx->plugin);
    if (!mkdtemp(cf_tmp)) {
        fprintf(stderr, "conformance: mkdtemp(%s): %s\n", cf_tmp, strerror(errno));
        return 1;
    }
    if (cf_mkdir("sources.d") || cf_mkdir("state") || cf_mkdir("workspace")) {
        rc = 1;
        goto out;
    }
    if (fx->setup) {
        rc = fx->setup(fx, cf_tmp);
        if (rc != 0) {
            if (rc != 77)
                fprintf(stderr, "conformance: the %s fixture could not be set up\n",
                        fx->plugin);
            rc = rc == 77 ? 77 : 1;
            goto out;
        }
    }
    if (cf_write_daemon_conf() || conf_write_source(CONF_SOURCE, fx->connection) ||
        (fx->bad_connection[0] && conf_write_source(CONF_BAD_SOURCE, fx->bad_connection))) {
        rc = 1;
        goto teardown;
    }

    s = conf_suite(fx);
    if (extra) {
        tcase_add_checked_fixture(extra, cf_case_setup, cf_case_teardown);
        suite_add_tcase(s, extra);
    }
    sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    rc = failed == 0 ? 0 : 1;
teardown:
    if (fx->teardown)
        fx->teardown(fx);
out:
    if (!getenv("DSRC_KEEP_TMP"))
        nftw(cf_tmp, cf_rm, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "conformance: kept %s\n", cf_tmp);
    return rc;
}

struct source_conn *conf_conn(void)
{
    return cf_conn;
}

/* ------------------------------------------------------------------------ */
/* Collectors for a plugin's own cases                                       */

/* The index of `path` among the first `n` of `paths` (-1: not there). */
static ssize_t cf_find_path(const char (*paths)[CONF_PATH_MAX], size_t n, const char *path)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (strcmp(paths[i], path) == 0)
            return (ssize_t)i;
    return -1;
}

static int cf_items_cb(void *user, const dsrc_item *it)
{
    conf_items *l = user;
    size_t k = l->n;

    l->calls++;
    if (k < CONF_ITEMS_MAX) {
        snprintf(l->path[k], sizeof l->path[k], "%s", it->path);
        l->kind[k] = it->kind;
        l->container[k] = it->container;
        l->rows[k] = it->rows;
        l->estimated[k] = it->rows_estimated;
        l->size[k] = it->size_bytes;
        l->mtime[k] = it->mtime;
        snprintf(l->comment[k], sizeof l->comment[k], "%s", it->comment ? it->comment : "");
        l->n++;
    }
    return 0;
}

dsrc_item_sink conf_items_sink(conf_items *l)
{
    dsrc_item_sink s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    s.user = l;
    s.item = cf_items_cb;
    return s;
}

dsrc_status conf_list(struct source_conn *c, const char *path, conf_items *l, derr *e)
{
    dsrc_item_sink s = conf_items_sink(l);
    memset(l, 0, sizeof *l);
    return source_list(c, path, &s, e);
}

ssize_t conf_items_find(const conf_items *l, const char *path)
{
    return cf_find_path(l->path, l->n, path);
}

static int cf_md_cb(void *user, const dsrc_metadata *md)
{
    conf_md *m = user;
    size_t i, k = m->n;

    m->calls++;
    if (k < CONF_MD_MAX) {
        snprintf(m->path[k], sizeof m->path[k], "%s", md->item->path);
        m->kind[k] = md->item->kind;
        m->rows[k] = md->item->rows;
        m->n_columns[k] = md->n_columns;
        m->n++;
    }
    if (m->want && strcmp(md->item->path, m->want) == 0) {
        m->found++;
        m->want_rows = md->item->rows;
        m->want_rows_estimated = md->item->rows_estimated;
        m->want_size = md->item->size_bytes;
        snprintf(m->want_comment, sizeof m->want_comment, "%s",
                 md->item->comment ? md->item->comment : "(null)");
        m->n_cols = md->n_columns < CONF_MD_COLS ? md->n_columns : CONF_MD_COLS;
        for (i = 0; i < m->n_cols; i++) {
            const dsrc_column *c = &md->columns[i];
            snprintf(m->col[i][0], sizeof m->col[i][0], "%s", c->name);
            snprintf(m->col[i][1], sizeof m->col[i][1], "%s",
                     c->native_type ? c->native_type : "");
            snprintf(m->col[i][2], sizeof m->col[i][2], "%s",
                     c->default_value ? c->default_value : "(null)");
            snprintf(m->col[i][3], sizeof m->col[i][3], "%s", c->comment ? c->comment : "(null)");
            m->col_type[i] = c->type;
            m->col_null[i] = c->nullable;
            m->col_pk[i] = c->primary_key;
        }
        m->n_props = md->n_properties < CONF_MD_PROPS ? md->n_properties : CONF_MD_PROPS;
        for (i = 0; i < m->n_props; i++) {
            snprintf(m->props[i][0], sizeof m->props[i][0], "%s", md->properties[i].key);
            snprintf(m->props[i][1], sizeof m->props[i][1], "%s", md->properties[i].value);
        }
    }
    return m->stop_after > 0 && m->calls >= m->stop_after;
}

void conf_md_init(conf_md *m, const char *want)
{
    memset(m, 0, sizeof *m);
    m->want = want;
}

dsrc_meta_sink conf_md_sink(conf_md *m)
{
    dsrc_meta_sink s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    s.user = m;
    s.metadata = cf_md_cb;
    return s;
}

dsrc_status conf_describe(struct source_conn *c, const char *item, conf_md *m, derr *e)
{
    dsrc_meta_sink s = conf_md_sink(m);
    return source_describe(c, item, &s, e);
}

dsrc_status conf_discover(struct source_conn *c, const char *path, int include_system, conf_md *m,
                          derr *e)
{
    return conf_discover_mode(c, path, include_system, DSRC_DISCOVER_BALANCED, m, NULL, e);
}

dsrc_status conf_discover_mode(struct source_conn *c, const char *path, int include_system,
                               dsrc_discover_mode mode, conf_md *m, int64_t *queries, derr *e)
{
    dsrc_meta_sink s = conf_md_sink(m);
    dsrc_discover_req dr;
    dsrc_discover_result res;
    dsrc_status st;

    memset(&dr, 0, sizeof dr);
    dr.struct_size = sizeof dr;
    dr.path = path;
    dr.include_system = include_system;
    dr.result = &res;
    dr.mode = mode;
    st = source_discover(c, &dr, &s, e);
    if (queries)
        *queries = res.queries;
    return st;
}

const char *conf_md_prop(const conf_md *m, const char *key)
{
    size_t i;
    for (i = 0; i < m->n_props; i++)
        if (strcmp(m->props[i][0], key) == 0)
            return m->props[i][1];
    return NULL;
}

ssize_t conf_md_find(const conf_md *m, const char *path)
{
    return cf_find_path(m->path, m->n, path);
}

size_t conf_md_col(const conf_md *m, const char *name)
{
    size_t i;
    for (i = 0; i < m->n_cols; i++)
        if (strcmp(m->col[i][0], name) == 0)
            return i;
    ck_abort_msg("no column '%s' in the description", name);
    return 0;
}

static int cf_counter_schema(void *user, const dsrc_column *cols, size_t n)
{
    conf_counter *k = user;
    (void)cols;
    (void)n;
    atomic_fetch_add(&k->schema_calls, 1);
    return 0;
}

static int cf_counter_row(void *user, const dsrc_cell *cells, size_t n)
{
    conf_counter *k = user;
    long rows;
    (void)cells;
    (void)n;
    rows = atomic_fetch_add(&k->rows, 1) + 1;
    if (k->stop_after > 0 && rows >= k->stop_after) {
        if (!k->stop_by_flag)
            return 1;
        atomic_store(&k->conn->cancel, 1);
    }
    return 0;
}

dsrc_row_sink conf_counter_sink(conf_counter *k, struct source_conn *conn, long stop_after,
                                int stop_by_flag)
{
    dsrc_row_sink s;

    k->conn = conn;
    k->stop_after = stop_after;
    k->stop_by_flag = stop_by_flag;
    atomic_init(&k->schema_calls, 0);
    atomic_init(&k->rows, 0);
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    s.user = k;
    s.schema = cf_counter_schema;
    s.row = cf_counter_row;
    return s;
}

/* ------------------------------------------------------------------------ */
/* Cancellation and time                                                     */

double conf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void conf_interrupt(struct source_conn *c, int driver)
{
    if (driver)
        c->drv->cancel(c->conn);
    else
        atomic_store(&c->cancel, 1);
}

static void conf_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void conf_interrupt_while_busy(struct source_conn *c, int driver, int every_ms)
{
    int i;

    for (i = 0; i < 12000 / every_ms && atomic_load(&c->busy); i++) {
        conf_interrupt(c, driver);
        conf_sleep_ms(every_ms);
    }
}

void *conf_cancel_thread(void *arg)
{
    const conf_canceller *k = arg;
    int i;

    for (i = 0; i < 1000 && !atomic_load(&k->c->busy); i++)
        conf_sleep_ms(10);
    conf_sleep_ms(k->every_ms);
    conf_interrupt_while_busy(k->c, k->driver, k->every_ms);
    return NULL;
}

dsrc_status conf_fetch_beside(struct source_conn *c, const dsrc_fetch_req *req,
                              const dsrc_row_sink *sink, conf_rows *out,
                              void *(*thread)(void *), void *arg, double *secs, derr *e)
{
    pthread_t th;
    derr le = {0};
    double t0 = conf_now();
    dsrc_status st;

    if (!e)
        e = &le;
    ck_assert_int_eq(pthread_create(&th, NULL, thread, arg), 0);
    if (sink) {
        if (out)
            memset(out, 0, sizeof *out);
        st = source_fetch(c, req, sink, NULL, NULL, e);
        if (st != DSRC_OK)
            ck_assert_msg(e->msg && *e->msg, "a failed fetch (%s) carries no message",
                          error_status_name(st));
    } else {
        st = conf_fetch_all(c, req, out, NULL, e);
    }
    pthread_join(th, NULL);
    if (secs)
        *secs = conf_now() - t0;
    derr_clear(&le);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Files and sockets                                                         */

char *conf_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!fp)
        return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        if (buf) {
            buf[n] = '\0';
            if (len)
                *len = (size_t)n;
        }
    }
    fclose(fp);
    return buf;
}

int conf_loopback_socket(int backlog, int *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        (backlog > 0 && listen(fd, backlog) != 0) ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}
