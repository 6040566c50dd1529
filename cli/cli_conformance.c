/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_conformance.c -- dsrc conformance: the shared plugin cases (open,
 * ping, list, describe, discover, fetch, cursor, cancel, errors) against
 * any configured source, through the host's own loader, registry and
 * source.h, with the quirks the plugin's author declares in a small file
 * (plugin/conform.h).  Each case prints PASS, FAIL with why, or SKIP with
 * the quirk or capability that excuses it; see dsrc(1).
 */
#include <config.h>

#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "base/redact.h"
#include "output/format.h"
#include "output/manifest.h"
#include "plugin/conform.h"
#include "plugin/source.h"
#include "secret/secret.h"

#define CF_NO_COLUMN "dsrc_conformance_no_such_column"
#define CF_MISSING "dsrc_conformance_missing"
#define CF_LEAVES_MAX 20   /* leaves of the container described, at most  */
#define CF_CYCLES 3        /* open/close cycles counted after a warm-up   */

typedef enum cf_result { CF_PASS, CF_FAIL, CF_SKIP } cf_result;

/* A column of the tabular item, from describe(). */
typedef struct cf_col {
    char *name;
    dsrc_type type;
    int pk;
} cf_col;

/* An error message a case provoked, for the errors case. */
typedef struct cf_msg {
    char *where;  /* "describe of a missing item" */
    char *text;   /* the host's (redacted) message */
    dsrc_status st;
} cf_msg;

typedef struct cf_run {
    const registry_source *src;
    const dsrc_driver *drv;
    const char *plugin;
    source_conn *conn;
    conform_quirks q;
    char why[2048];          /* the current case's reason                   */
    char bug[1024];          /* a "plugin 'x' bug:" message seen in it      */
    /* what the cases learned */
    char *container;         /* the container listed (NULL: none)           */
    char **leaves;           /* leaves listed, root first                   */
    size_t n_leaves;
    char **roots;            /* the root's containers                       */
    size_t n_roots;
    char **seen;             /* the leaves described, and their columns     */
    size_t *seen_cols;
    size_t n_seen;
    char *item;              /* the tabular item                            */
    int item_score;          /* cf_score() of the item chosen               */
    int raw;                 /* the item has no columns: fetched as bytes   */
    int described;           /* the describe case passed                    */
    int64_t item_size;       /* its size_bytes as describe() says           */
    int64_t item_rows;       /* its rows as describe() says                 */
    int item_rows_exact;
    cf_col *cols;
    size_t n_cols;
    long full_rows;          /* rows of the full fetch (-1: not fetched)    */
    uint64_t full_bytes;     /* its bytes, for a raw item                   */
    cf_msg *msgs;
    size_t n_msgs;
    json_t *cases;
    int n_pass, n_fail, n_skip;
} cf_run;

/* ------------------------------------------------------------------------ */
/* Reporting                                                                 */

static cf_result cf_fail(cf_run *r, const char *fmt, ...) DSRC_PRINTF(2, 3);
static cf_result cf_fail(cf_run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    return CF_FAIL;
}

static cf_result cf_skip(cf_run *r, const char *fmt, ...) DSRC_PRINTF(2, 3);
static cf_result cf_skip(cf_run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    return CF_SKIP;
}

/* SKIP for a declared quirk. */
static cf_result cf_quirk(cf_run *r, unsigned bit)
{
    return cf_skip(r, "quirk %s", conform_quirk_name(bit));
}

static double cf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Look at the host's error of a call: a plugin bug the host detected
 * ("plugin 'NAME' bug: ...") fails the running case. */
static const char *cf_msg_of(cf_run *r, const derr *e)
{
    const char *m = e->msg ? e->msg : "";
    if (strstr(m, "' bug: ") && !r->bug[0])
        snprintf(r->bug, sizeof r->bug, "%s", m);
    return *m ? m : "(no message)";
}

/* Keep the error of a call that had to fail, for the errors case. */
static void cf_keep(cf_run *r, const char *where, const derr *e)
{
    cf_msg *v = realloc(r->msgs, (r->n_msgs + 1) * sizeof *v);

    cf_msg_of(r, e);
    if (!v)
        return;
    r->msgs = v;
    v[r->n_msgs].where = strdup(where);
    v[r->n_msgs].text = strdup(e->msg ? e->msg : "");
    v[r->n_msgs].st = e->status;
    if (!v[r->n_msgs].where || !v[r->n_msgs].text) {
        free(v[r->n_msgs].where);
        free(v[r->n_msgs].text);
        return;
    }
    r->n_msgs++;
}

static void cf_case(cf_run *r, const char *name, cf_result (*fn)(cf_run *))
{
    static const char *const word[] = {"PASS", "FAIL", "SKIP"};
    static const char *const jword[] = {"pass", "fail", "skip"};
    cf_result res;
    char *why;

    r->why[0] = r->bug[0] = '\0';
    res = fn(r);
    if (r->bug[0] && res != CF_FAIL) {
        res = CF_FAIL;
        snprintf(r->why, sizeof r->why, "%s", r->bug);
    } else if (r->bug[0] && !strstr(r->why, r->bug)) {
        size_t n = strlen(r->why);
        snprintf(r->why + n, sizeof r->why - n, " (%s)", r->bug);
    }
    if (res == CF_PASS)
        r->n_pass++;
    else if (res == CF_FAIL)
        r->n_fail++;
    else
        r->n_skip++;
    why = redact_dup(r->why);
    if (r->cases) {
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(name));
        json_object_set_new(o, "result", json_string(jword[res]));
        if (res != CF_PASS)
            json_object_set_new(o, "why", cli_jstr(why ? why : r->why));
        json_array_append_new(r->cases, o);
    } else if (res == CF_PASS) {
        printf("PASS %s\n", name);
    } else {
        printf("%s %s: %s\n", word[res], name, why ? why : "");
    }
    fflush(stdout);
    free(why);
}

/* ------------------------------------------------------------------------ */
/* Collecting what the plugin sends                                          */

typedef struct cf_items {
    char **path;
    int *container;
    size_t n;
    size_t stop_after;       /* > 0: ask to stop at this many items         */
    char bad[512];           /* the first malformed item                    */
} cf_items;

static int cf_item_cb(void *user, const dsrc_item *it)
{
    cf_items *l = user;
    char **p;
    int *k;
    size_t i;

    if (!it->path || !*it->path || !it->name || !*it->name) {
        if (!l->bad[0])
            snprintf(l->bad, sizeof l->bad, "an item has no %s (path '%s')",
                     !it->path || !*it->path ? "path" : "name", it->path ? it->path : "");
        return 0;
    }
    if ((unsigned)it->kind > DSRC_ITEM_FILE && !l->bad[0])
        snprintf(l->bad, sizeof l->bad, "item '%s' has kind %d, not a dsrc_item_kind",
                 it->path, (int)it->kind);
    for (i = 0; i < l->n; i++)
        if (strcmp(l->path[i], it->path) == 0 && !l->bad[0])
            snprintf(l->bad, sizeof l->bad, "item '%s' is listed twice", it->path);
    p = realloc(l->path, (l->n + 1) * sizeof *p);
    if (p)
        l->path = p;
    k = realloc(l->container, (l->n + 1) * sizeof *k);
    if (k)
        l->container = k;
    if (!p || !k || !(l->path[l->n] = strdup(it->path)))
        return 1;
    l->container[l->n++] = it->container != 0;
    return l->stop_after && l->n >= l->stop_after;
}

static void cf_items_free(cf_items *l)
{
    size_t i;
    for (i = 0; i < l->n; i++)
        free(l->path[i]);
    free(l->path);
    free(l->container);
    memset(l, 0, sizeof *l);
}

static dsrc_status cf_list(cf_run *r, const char *path, cf_items *l, derr *e)
{
    dsrc_item_sink sink;
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = l;
    sink.item = cf_item_cb;
    return source_list(r->conn, path, &sink, e);
}

/* Metadata: how many records came, and the columns of the first. */
typedef struct cf_meta {
    size_t n;
    char *path;              /* of the first record                         */
    int64_t rows;
    int rows_estimated;
    int64_t size;
    cf_col *cols;
    size_t n_cols;
    const char *want;        /* discover: keep the record of this path      */
    size_t stop_after;
    const cf_run *run;       /* discover: compare with the leaves described */
    int want_seen;           /* records of `want`                           */
    char bad[512];           /* the first record that differs               */
} cf_meta;

static int cf_meta_cb(void *user, const dsrc_metadata *md)
{
    cf_meta *m = user;
    size_t i;

    m->n++;
    if (md->item && md->item->path && m->want && strcmp(md->item->path, m->want) == 0)
        m->want_seen++;
    for (i = 0; m->run && md->item && md->item->path && i < m->run->n_seen; i++)
        if (strcmp(m->run->seen[i], md->item->path) == 0 && !m->bad[0] &&
            m->run->seen_cols[i] != md->n_columns)
            snprintf(m->bad, sizeof m->bad, "discover gives '%s' %zu columns, describe %zu",
                     md->item->path, md->n_columns, m->run->seen_cols[i]);
    if (md->item && md->item->path && !m->path &&
        (!m->want || strcmp(md->item->path, m->want) == 0)) {
        m->path = strdup(md->item->path);
        m->rows = md->item->rows;
        m->rows_estimated = md->item->rows_estimated;
        m->size = md->item->size_bytes;
        m->cols = calloc(md->n_columns + 1, sizeof *m->cols);
        if (!m->path || !m->cols)
            return 1;
        for (i = 0; md->columns && i < md->n_columns; i++) {
            m->cols[i].name = md->columns[i].name ? strdup(md->columns[i].name) : NULL;
            m->cols[i].type = md->columns[i].type;
            m->cols[i].pk = md->columns[i].primary_key;
        }
        m->n_cols = md->columns ? md->n_columns : 0;
    }
    return m->stop_after && m->n >= m->stop_after;
}

static void cf_cols_free(cf_col *cols, size_t n)
{
    size_t i;
    for (i = 0; cols && i < n; i++)
        free(cols[i].name);
    free(cols);
}

static void cf_meta_free(cf_meta *m)
{
    free(m->path);
    cf_cols_free(m->cols, m->n_cols);
    memset(m, 0, sizeof *m);
}

static dsrc_meta_sink cf_meta_sink(cf_meta *m)
{
    dsrc_meta_sink sink;
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = m;
    sink.metadata = cf_meta_cb;
    return sink;
}

static dsrc_status cf_describe(cf_run *r, const char *item, cf_meta *m, derr *e)
{
    dsrc_meta_sink sink = cf_meta_sink(m);
    memset(m, 0, sizeof *m);
    return source_describe(r->conn, item, &sink, e);
}

/* Rows: the schema, and the rendered values of one column (the cursor's). */
typedef struct cf_rows {
    int schema_calls;
    char **names;
    dsrc_type *types;
    size_t n_cols;
    long rows;
    int bad_width;           /* a row arrived with a wrong cell count       */
    char bad_double[40];     /* a DOUBLE_TEXT that is not the host's text   */
    ssize_t keep;            /* the column whose values are kept (-1: none) */
    const char *keep_name;
    char **vals;             /* its rendered values, NULL for NULL          */
    long stop_after;         /* > 0: row() asks to stop at this row         */
    double stop_at;          /* when it did                                 */
    /* cancel: after the first row, cancel from another thread */
    source_conn *cancel_conn;
    double cancelled_at;
    int went_on;             /* rows still came 1 s after the cancel        */
    /* raw bytes: each write() counts as a row above */
    int begin_calls;
    uint64_t bytes;
} cf_rows;

static int cf_schema_cb(void *user, const dsrc_column *cols, size_t n)
{
    cf_rows *f = user;
    size_t i;

    if (f->schema_calls++)
        return 0;
    f->names = calloc(n + 1, sizeof *f->names);
    f->types = calloc(n + 1, sizeof *f->types);
    if (!f->names || !f->types)
        return 1;
    f->n_cols = n;
    for (i = 0; i < n; i++) {
        f->names[i] = strdup(cols[i].name ? cols[i].name : "");
        f->types[i] = cols[i].type;
        if (f->keep_name && f->keep < 0 && cols[i].name && strcmp(cols[i].name, f->keep_name) == 0)
            f->keep = (ssize_t)i;
    }
    return 0;
}

static void *cf_cancel_thread(void *p)
{
    source_cancel(p);
    return NULL;
}

static int cf_row_cb(void *user, const dsrc_cell *cells, size_t n)
{
    cf_rows *f = user;

    if (n != f->n_cols)
        f->bad_width = 1;
    for (size_t i = 0; i < n && !f->bad_double[0]; i++)
        if (cells[i].type == DSRC_T_DOUBLE_TEXT && !conform_double_text_exact(&cells[i]))
            snprintf(f->bad_double, sizeof f->bad_double, "%.*s",
                     (int)(cells[i].v.s.len < 32 ? cells[i].v.s.len : 32),
                     cells[i].v.s.ptr ? cells[i].v.s.ptr : "");
    if (f->keep >= 0 && (size_t)f->keep < n) {
        char **v = realloc(f->vals, ((size_t)f->rows + 1) * sizeof *v);
        if (!v)
            return 1;
        f->vals = v;
        f->vals[f->rows] = conform_render(&cells[f->keep], NULL);
    }
    f->rows++;
    if (f->cancel_conn && f->rows == 1) {
        pthread_t th;
        if (pthread_create(&th, NULL, cf_cancel_thread, f->cancel_conn) == 0)
            pthread_join(th, NULL);
        f->cancelled_at = cf_now();
    } else if (f->cancel_conn && cf_now() - f->cancelled_at > 1.0) {
        f->went_on = 1; /* stop it through the sink: the case has failed */
        return 1;
    }
    if (f->stop_after > 0 && f->rows >= f->stop_after) {
        f->stop_at = cf_now();
        return 1;
    }
    return 0;
}

static int cf_begin_cb(void *user, const char *media_type, int64_t total)
{
    cf_rows *f = user;
    (void)media_type;
    (void)total;
    f->begin_calls++;
    return 0;
}

static int cf_write_cb(void *user, const void *data, size_t len)
{
    cf_rows *f = user;
    (void)data;
    f->bytes += len;
    return cf_row_cb(f, NULL, f->n_cols);
}

static void cf_rows_free(cf_rows *f)
{
    size_t i;
    long k;
    for (i = 0; i < f->n_cols; i++)
        free(f->names[i]);
    for (k = 0; f->vals && k < f->rows; k++)
        free(f->vals[k]);
    free(f->names);
    free(f->types);
    free(f->vals);
    memset(f, 0, sizeof *f);
}

/* A request for all of `item`: rows, or raw bytes when `raw`. */
static void cf_req(dsrc_fetch_req *req, const char *item, int raw)
{
    memset(req, 0, sizeof *req);
    req->struct_size = sizeof *req;
    req->item = item;
    req->limit = -1;
    req->mode = raw ? DSRC_FETCH_RAW : DSRC_FETCH_ROWS;
}

/* Fetch `req` on the run's connection into `f` (prepared by the caller:
 * zero it, set keep_name, stop_after or cancel_conn). */
static dsrc_status cf_fetch(cf_run *r, const dsrc_fetch_req *req, cf_rows *f,
                            dsrc_fetch_result *res, derr *e)
{
    dsrc_row_sink sink;
    dsrc_byte_sink bytes;

    f->keep = -1; /* cf_schema_cb() finds keep_name */
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = f;
    sink.schema = cf_schema_cb;
    sink.row = cf_row_cb;
    memset(&bytes, 0, sizeof bytes);
    bytes.struct_size = sizeof bytes;
    bytes.user = f;
    bytes.begin = cf_begin_cb;
    bytes.write = cf_write_cb;
    return source_fetch(r->conn, req, &sink, &bytes, res, e);
}

/* ------------------------------------------------------------------------ */
/* The cases                                                                 */

static cf_result cf_open(cf_run *r)
{
    derr e = {0};
    dsrc_status st = source_open(r->src, 0, &r->conn, &e);
    cf_result res = CF_PASS;

    if (st != DSRC_OK)
        res = cf_fail(r, "cannot open (%s): %s", error_status_name(st), cf_msg_of(r, &e));
    derr_clear(&e);
    return res;
}

static cf_result cf_ping(cf_run *r)
{
    dsrc_ping_info info;
    double ms = -1;
    derr e = {0};
    dsrc_status st = source_ping(r->conn, &info, &ms, &e);
    cf_result res = CF_PASS;

    if (st != DSRC_OK)
        res = cf_fail(r, "ping failed (%s): %s", error_status_name(st), cf_msg_of(r, &e));
    else if ((unsigned)info.role > DSRC_ROLE_STANDALONE)
        res = cf_fail(r, "ping set role %d, not a dsrc_role", (int)info.role);
    else if ((st = source_ping(r->conn, NULL, NULL, &e)) != DSRC_OK)
        res = cf_fail(r, "a second ping on the same connection failed (%s): %s",
                      error_status_name(st), cf_msg_of(r, &e));
    derr_clear(&e);
    return res;
}

/* Append a copy of `path` to the array *v of *n. */
static void cf_add_path(char ***v, size_t *n, const char *path)
{
    char **w = realloc(*v, (*n + 1) * sizeof *w);
    if (!w)
        return;
    *v = w;
    if ((w[*n] = strdup(path)))
        (*n)++;
}

static cf_result cf_list_root(cf_run *r)
{
    cf_items l = {0};
    derr e = {0};
    size_t i;
    cf_result res = CF_PASS;
    dsrc_status st = cf_list(r, "", &l, &e);

    if (st != DSRC_OK)
        res = cf_fail(r, "list of the root failed (%s): %s", error_status_name(st),
                      cf_msg_of(r, &e));
    else if (l.bad[0])
        res = cf_fail(r, "%s", l.bad);
    else if (l.n == 0)
        res = cf_fail(r, "the root lists nothing (the cases need at least one item)");
    for (i = 0; res == CF_PASS && i < l.n; i++)
        cf_add_path(l.container[i] ? &r->roots : &r->leaves,
                    l.container[i] ? &r->n_roots : &r->n_leaves, l.path[i]);
    derr_clear(&e);
    cf_items_free(&l);
    return res;
}

/* How well a described leaf serves as the item the cases use: one with
 * columns (3), rows (+1), and a one-column int64 or timestamp key, a
 * cursor (+2); else, for a plugin that fetches raw bytes, one with bytes
 * (1), more than a few writes' worth (+1). */
#define CF_SCORE_MAX 6
static int cf_score(const cf_meta *m)
{
    size_t i, n_pk = 0;
    int cursor = 0;

    for (i = 0; i < m->n_cols; i++)
        if (m->cols[i].pk > 0) {
            n_pk++;
            cursor = m->cols[i].type == DSRC_T_INT64 || m->cols[i].type == DSRC_T_TIMESTAMP;
        }
    if (m->n_cols == 0)
        return m->size > 0 ? 1 + (m->size > 65536) : 0;
    return 3 + (m->rows > 0) + 2 * (n_pk == 1 && cursor);
}

/* describe `path` and keep it as the tabular item when it serves better
 * than the one chosen (cf_score()).  0, or -1 with the case
 * failed. */
static int cf_describe_leaf(cf_run *r, const char *path, cf_result *res)
{
    cf_meta m;
    derr e = {0};
    dsrc_status st = cf_describe(r, path, &m, &e);
    int rc = 0;

    if (st == DSRC_E_PERMISSION)
        ;
    else if (st != DSRC_OK) {
        *res = cf_fail(r, "'%s' was listed, but describe of it failed (%s): %s", path,
                       error_status_name(st), cf_msg_of(r, &e));
        rc = -1;
    } else if (m.n != 1 || !m.path || strcmp(m.path, path) != 0) {
        *res = cf_fail(r, "describe of the listed '%s' delivered %zu record(s), the first '%s'",
                       path, m.n, m.path ? m.path : "");
        rc = -1;
    } else {
        size_t *k = realloc(r->seen_cols, (r->n_seen + 1) * sizeof *k);
        if (k) {
            r->seen_cols = k;
            k[r->n_seen] = m.n_cols;
            cf_add_path(&r->seen, &r->n_seen, path);
        }
    }
    if (rc == 0 && st == DSRC_OK && !r->q.item && cf_score(&m) > r->item_score &&
        (m.n_cols > 0 || (r->drv->capabilities & DSRC_CAP_RAW))) {
        free(r->item);
        r->item = strdup(path);
        r->item_score = cf_score(&m);
    }
    derr_clear(&e);
    cf_meta_free(&m);
    return rc;
}

/* List the container `path`, check what it prints and add its leaves.
 * 0, or -1 with the case failed. */
static int cf_list_one(cf_run *r, const char *path, cf_result *res)
{
    cf_items l = {0};
    derr e = {0};
    size_t i;
    int rc = -1;
    dsrc_status st = cf_list(r, path, &l, &e);

    if (st != DSRC_OK)
        *res = cf_fail(r, "list of '%s' failed (%s): %s", path, error_status_name(st),
                       cf_msg_of(r, &e));
    else if (l.bad[0])
        *res = cf_fail(r, "list of '%s': %s", path, l.bad);
    else
        rc = 0;
    for (i = 0; rc == 0 && i < l.n; i++) {
        if (strcmp(l.path[i], path) == 0) {
            *res = cf_fail(r, "list of '%s' printed itself", path);
            rc = -1;
        } else if (!l.container[i]) {
            cf_add_path(&r->leaves, &r->n_leaves, l.path[i]);
        }
    }
    derr_clear(&e);
    cf_items_free(&l);
    return rc;
}

static cf_result cf_list_container(cf_run *r)
{
    derr e = {0};
    size_t i;
    cf_result res = CF_PASS;
    dsrc_status st;
    size_t k, from, n = r->q.container ? 1 : r->n_roots;

    /* the root's own leaves are describe-able as printed */
    for (i = 0; i < r->n_leaves && i < CF_LEAVES_MAX; i++)
        if (cf_describe_leaf(r, r->leaves[i], &res))
            return res;
    /* the declared container, else those of the root (the first
     * CF_LEAVES_MAX) until the one that holds the best item is found: its
     * leaves (the first CF_LEAVES_MAX) are describe-able as printed, and
     * the container reported is the one that holds the item chosen (else
     * the first that holds a leaf) */
    for (k = 0; k < n && k < CF_LEAVES_MAX && r->item_score < CF_SCORE_MAX; k++) {
        const char *path = r->q.container ? r->q.container : r->roots[k];
        int before = r->item_score;

        from = r->n_leaves;
        if (cf_list_one(r, path, &res))
            return res;
        for (i = from; i < r->n_leaves && i < from + CF_LEAVES_MAX; i++)
            if (cf_describe_leaf(r, r->leaves[i], &res))
                return res;
        if (r->q.container || r->item_score > before || (!r->container && r->n_leaves > from)) {
            free(r->container);
            r->container = strdup(path);
        }
        if (r->q.item && r->container)
            break;
    }
    if (!r->container)
        return cf_skip(r, "the root holds no container (name one with container = ... in the "
                          "quirks file)");
    /* and a leaf is fetchable */
    if (r->n_leaves) {
        dsrc_fetch_req req;
        cf_rows f = {0};
        const char *leaf = r->item ? r->item : r->leaves[0];
        cf_req(&req, leaf, r->item && r->item_score < 3);
        req.limit = 1;
        st = cf_fetch(r, &req, &f, NULL, &e);
        if (st == DSRC_E_UNSUPPORTED && req.mode == DSRC_FETCH_ROWS &&
            (r->drv->capabilities & DSRC_CAP_RAW)) { /* a leaf of bytes */
            cf_rows_free(&f);
            derr_clear(&e);
            cf_req(&req, leaf, 1);
            st = cf_fetch(r, &req, &f, NULL, &e);
        }
        if (st != DSRC_OK && st != DSRC_E_PERMISSION)
            res = cf_fail(r, "'%s' was listed, but a fetch of it failed (%s): %s", leaf,
                          error_status_name(st), cf_msg_of(r, &e));
        cf_rows_free(&f);
        derr_clear(&e);
    }
    return res;
}

static cf_result cf_list_stop(cf_run *r)
{
    cf_items l = {0}, all = {0};
    derr e = {0};
    const char *path = r->container ? r->container : "";
    cf_result res = CF_PASS;
    dsrc_status st;

    if (cf_list(r, path, &all, &e) != DSRC_OK || all.n < 2) {
        cf_items_free(&all);
        derr_clear(&e);
        return cf_skip(r, "'%s' lists fewer than 2 items", path);
    }
    l.stop_after = 1;
    st = cf_list(r, path, &l, &e);
    if (st != DSRC_E_CANCELLED)
        res = cf_fail(r, "list of '%s' went on after the sink said stop: %s, %zu items",
                      path, error_status_name(st), l.n);
    else if (l.n != 1)
        res = cf_fail(r, "list of '%s' sent %zu items after the sink said stop", path,
                      l.n - 1);
    derr_clear(&e);
    cf_items_free(&l);
    cf_items_free(&all);
    return res;
}

static cf_result cf_no_item(cf_run *r)
{
    return cf_skip(r, "no item was described (name one with item = ... in the quirks file)");
}

/* SKIP for a case about columns or rows when the item is raw bytes. */
static int cf_raw_skip(cf_run *r, cf_result *res)
{
    if (!r->raw)
        return 0;
    *res = cf_skip(r, "'%s' has no columns: it is fetched as raw bytes", r->item);
    return 1;
}

static cf_result cf_describe_item(cf_run *r)
{
    cf_meta m;
    derr e = {0};
    size_t i, j;
    cf_result res = CF_PASS;
    dsrc_status st;

    if (r->q.item) {
        free(r->item);
        r->item = strdup(r->q.item);
    }
    if (!r->item)
        return cf_fail(r, "no listed item has columns%s: name one with item = ... in the "
                          "quirks file",
                       r->drv->capabilities & DSRC_CAP_RAW ? " or bytes" : "");
    st = cf_describe(r, r->item, &m, &e);
    if (st != DSRC_OK) {
        res = cf_fail(r, "describe of '%s' failed (%s): %s", r->item, error_status_name(st),
                      cf_msg_of(r, &e));
    } else if (m.n != 1) {
        res = cf_fail(r, "describe of '%s' delivered %zu records, not 1", r->item, m.n);
    } else if (m.n_cols == 0 && !(r->drv->capabilities & DSRC_CAP_RAW)) {
        res = cf_fail(r, "'%s' has no columns (and the plugin fetches no raw bytes)", r->item);
    } else {
        for (i = 0; res == CF_PASS && i < m.n_cols; i++) {
            const cf_col *k = &m.cols[i];
            if (!k->name || !*k->name)
                res = cf_fail(r, "column %zu of '%s' has no name", i + 1, r->item);
            else if (k->type <= DSRC_T_NULL || k->type > DSRC_T_JSON)
                res = cf_fail(r, "column '%s' has type %d, not a column dsrc_type", k->name,
                              (int)k->type);
            else if (k->pk < 0)
                res = cf_fail(r, "column '%s' has primary_key %d", k->name, k->pk);
            for (j = 0; res == CF_PASS && j < i; j++)
                if (m.cols[j].name && strcmp(m.cols[j].name, k->name) == 0)
                    res = cf_fail(r, "column '%s' appears twice", k->name);
        }
    }
    if (res == CF_PASS) {
        r->cols = m.cols;
        r->n_cols = m.n_cols;
        m.cols = NULL;
        m.n_cols = 0;
        r->item_rows = m.rows;
        r->item_rows_exact = m.rows >= 0 && !m.rows_estimated &&
                             !(r->q.bits & CONF_QUIRK_ROWS_ESTIMATED);
        r->item_size = m.size;
        r->raw = r->n_cols == 0;
        r->described = 1;
    }
    derr_clear(&e);
    cf_meta_free(&m);
    return res;
}

/* A message that is only the host's prefix and the status name: the
 * plugin gave none. */
static int cf_no_message(const char *msg, dsrc_status st)
{
    const char *name = error_status_name(st);
    size_t n = strlen(msg), k = strlen(name);

    return n == 0 || strcmp(msg, name) == 0 ||
           (n > k + 2 && strcmp(msg + n - k, name) == 0 && msg[n - k - 2] == ':' &&
            msg[n - k - 1] == ' ');
}

static cf_result cf_describe_missing(cf_run *r)
{
    char *missing = NULL;
    cf_meta m;
    dsrc_fetch_req req;
    cf_rows f = {0};
    derr e = {0};
    cf_result res = CF_PASS;
    dsrc_status st;

    if (r->q.missing_item)
        missing = strdup(r->q.missing_item);
    else if (asprintf(&missing, "%s%s%s", r->container ? r->container : "",
                      r->container && *r->container ? "/" : "", CF_MISSING) < 0)
        missing = NULL;
    if (!missing)
        return cf_fail(r, "out of memory");
    st = cf_describe(r, missing, &m, &e);
    if (st != DSRC_E_NOT_FOUND) {
        res = cf_fail(r, "describe of the missing '%s' gave %s, not not-found: %s", missing,
                      error_status_name(st), e.msg ? e.msg : "");
    } else if (m.n) {
        res = cf_fail(r, "describe of the missing '%s' delivered %zu records", missing, m.n);
    }
    cf_keep(r, "describe of a missing item", &e);
    derr_clear(&e);
    cf_meta_free(&m);
    if (res == CF_PASS) {
        cf_req(&req, missing, r->raw);
        st = cf_fetch(r, &req, &f, NULL, &e);
        if (st != DSRC_E_NOT_FOUND)
            res = cf_fail(r, "fetch of the missing '%s' gave %s, not not-found: %s", missing,
                          error_status_name(st), e.msg ? e.msg : "");
        else if (f.schema_calls || f.rows)
            res = cf_fail(r, "fetch of the missing '%s' sent a schema or rows", missing);
        cf_keep(r, "fetch of a missing item", &e);
        cf_rows_free(&f);
        derr_clear(&e);
    }
    free(missing);
    return res;
}

/* The columns `got` (n) against the tabular item's: names, and types
 * unless the quirk no_types says they are not comparable. */
static int cf_same_columns(cf_run *r, const char *what, char *const *names,
                           const dsrc_type *types, size_t n)
{
    size_t i;

    if (n != r->n_cols) {
        cf_fail(r, "%s has %zu columns, describe %zu", what, n, r->n_cols);
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (strcmp(names[i] ? names[i] : "", r->cols[i].name) != 0) {
            cf_fail(r, "%s: column %zu is '%s', describe says '%s'", what, i + 1,
                    names[i] ? names[i] : "", r->cols[i].name);
            return 0;
        }
        if (!(r->q.bits & CONF_QUIRK_NO_TYPES) && types[i] != r->cols[i].type) {
            cf_fail(r, "%s: column '%s' is %s, describe says %s", what, r->cols[i].name,
                    manifest_type_name(types[i]), manifest_type_name(r->cols[i].type));
            return 0;
        }
    }
    return 1;
}

static cf_result cf_discover(cf_run *r)
{
    cf_meta m;
    dsrc_meta_sink sink = cf_meta_sink(&m);
    derr e = {0};
    char **names;
    dsrc_type *types;
    size_t i;
    cf_result res = CF_PASS;
    dsrc_status st;

    if (r->q.bits & CONF_QUIRK_NO_DISCOVER)
        return cf_quirk(r, CONF_QUIRK_NO_DISCOVER);
    if (!(r->drv->capabilities & DSRC_CAP_DISCOVER))
        return cf_skip(r, "the plugin does not declare the discover capability");
    if (!r->described)
        return cf_no_item(r);
    memset(&m, 0, sizeof m);
    m.want = r->item;
    m.run = r;
    st = source_discover(r->conn, NULL, &sink, &e);
    if (st == DSRC_OK && !m.path) {
        /* the item may be in a system schema, which discover leaves out
         * unless asked */
        dsrc_discover_req req;
        memset(&req, 0, sizeof req);
        req.struct_size = sizeof req;
        req.include_system = 1;
        cf_meta_free(&m);
        m.want = r->item;
        m.run = r;
        st = source_discover(r->conn, &req, &sink, &e);
    }
    if (st != DSRC_OK) {
        res = cf_fail(r, "discover failed (%s): %s", error_status_name(st), cf_msg_of(r, &e));
    } else if (!m.path) {
        res = cf_fail(r, "discover delivered %zu items, not '%s'", m.n, r->item);
    } else if (m.want_seen > 1) {
        res = cf_fail(r, "discover delivered '%s' %d times", r->item, m.want_seen);
    } else if (m.bad[0]) {
        res = cf_fail(r, "%s", m.bad);
    } else {
        names = calloc(m.n_cols + 1, sizeof *names);
        types = calloc(m.n_cols + 1, sizeof *types);
        for (i = 0; names && types && i < m.n_cols; i++) {
            names[i] = m.cols[i].name;
            types[i] = m.cols[i].type;
        }
        if (!names || !types)
            res = cf_fail(r, "out of memory");
        else if (!cf_same_columns(r, "discover", names, types, m.n_cols))
            res = CF_FAIL;
        free(names);
        free(types);
    }
    derr_clear(&e);
    cf_meta_free(&m);
    return res;
}

static cf_result cf_fetch_full(cf_run *r)
{
    dsrc_fetch_req req;
    dsrc_fetch_result res;
    cf_rows f = {0};
    derr e = {0};
    cf_result out = CF_PASS;
    dsrc_status st;

    if (!r->described)
        return cf_no_item(r);
    cf_req(&req, r->item, r->raw);
    st = cf_fetch(r, &req, &f, &res, &e);
    if (st != DSRC_OK)
        out = cf_fail(r, "fetch of '%s' failed (%s): %s", r->item, error_status_name(st),
                      cf_msg_of(r, &e));
    else if (r->raw) {
        /* raw bytes: begin() once, every byte counted, the size as described */
        if (f.begin_calls != 1)
            out = cf_fail(r, "begin() was called %d times, not once", f.begin_calls);
        else if (res.bytes != f.bytes)
            out = cf_fail(r, "the result says %" PRIu64 " bytes, %" PRIu64 " were sent",
                          res.bytes, f.bytes);
        else if (r->item_size >= 0 && (uint64_t)r->item_size != f.bytes)
            out = cf_fail(r, "fetched %" PRIu64 " bytes, describe of '%s' reports %" PRId64,
                          f.bytes, r->item, r->item_size);
        if (out == CF_PASS) {
            r->full_rows = f.rows; /* writes */
            r->full_bytes = f.bytes;
        }
    } else if (f.schema_calls != 1)
        out = cf_fail(r, "schema() was called %d times, not once", f.schema_calls);
    else if (f.bad_width)
        out = cf_fail(r, "a row had a number of cells other than the schema's %zu", f.n_cols);
    else if (f.bad_double[0])
        out = cf_fail(r, "a double's text '%s' is not the text the host writes for its value "
                      "(the shortest that reads back, as PostgreSQL's float8 output)",
                      f.bad_double);
    else if (!cf_same_columns(r, "the fetch's schema", f.names, f.types, f.n_cols))
        out = CF_FAIL;
    else if (res.rows != (uint64_t)f.rows)
        out = cf_fail(r, "the result says %" PRIu64 " rows, %ld were sent", res.rows, f.rows);
    /* the rows came as declared: the cases after this one can use them */
    if (out == CF_PASS)
        r->full_rows = f.rows;
    if (out == CF_PASS && r->item_rows_exact && r->item_rows != f.rows)
        out = cf_fail(r, "fetched %ld rows, describe of '%s' reports %" PRId64
                         " and does not flag it as an estimate (declare the quirk %s if the "
                         "plugin's counts are estimates)",
                      f.rows, r->item, r->item_rows,
                      conform_quirk_name(CONF_QUIRK_ROWS_ESTIMATED));
    cf_rows_free(&f);
    derr_clear(&e);
    return out;
}

static cf_result cf_fetch_columns(cf_run *r)
{
    dsrc_fetch_req req;
    cf_rows f = {0};
    const char *cols[2];
    derr e = {0};
    size_t n;
    cf_result res = CF_PASS;
    dsrc_status st;

    if (cf_raw_skip(r, &res))
        return res;
    if (r->full_rows < 0)
        return cf_skip(r, "the full fetch failed");
    /* the last column, then the first: the order follows the request */
    cols[0] = r->cols[r->n_cols - 1].name;
    cols[1] = r->cols[0].name;
    n = r->n_cols > 1 ? 2 : 1;
    cf_req(&req, r->item, r->raw);
    req.columns = cols;
    req.n_columns = n;
    st = cf_fetch(r, &req, &f, NULL, &e);
    if (st != DSRC_OK)
        res = cf_fail(r, "fetch with columns failed (%s): %s", error_status_name(st),
                      cf_msg_of(r, &e));
    else if (f.n_cols != n || strcmp(f.names[0], cols[0]) != 0 ||
             (n > 1 && strcmp(f.names[1], cols[1]) != 0))
        res = cf_fail(r, "asked for columns '%s'%s%s%s, the schema has %zu beginning with '%s'",
                      cols[0], n > 1 ? ", '" : "", n > 1 ? cols[1] : "", n > 1 ? "'" : "",
                      f.n_cols, f.n_cols ? f.names[0] : "");
    else if (f.bad_width)
        res = cf_fail(r, "a row had a number of cells other than %zu", n);
    else if (f.rows != r->full_rows)
        res = cf_fail(r, "%ld rows, the full fetch had %ld", f.rows, r->full_rows);
    cf_rows_free(&f);
    derr_clear(&e);
    return res;
}

static cf_result cf_fetch_limit(cf_run *r)
{
    dsrc_fetch_req req;
    dsrc_fetch_result res;
    cf_rows f = {0};
    derr e = {0};
    long want;
    cf_result out = CF_PASS;
    dsrc_status st;

    if (cf_raw_skip(r, &out))
        return out;
    if (r->full_rows < 0)
        return cf_skip(r, "the full fetch failed");
    want = r->full_rows < 2 ? r->full_rows : 2;
    cf_req(&req, r->item, r->raw);
    req.limit = 2;
    st = cf_fetch(r, &req, &f, &res, &e);
    if (st != DSRC_OK)
        out = cf_fail(r, "fetch with limit 2 failed (%s): %s", error_status_name(st),
                      cf_msg_of(r, &e));
    else if (f.rows != want)
        out = cf_fail(r, "limit 2 gave %ld rows, expected %ld", f.rows, want);
    cf_rows_free(&f);
    derr_clear(&e);
    if (out != CF_PASS)
        return out;
    req.limit = 0;
    memset(&f, 0, sizeof f);
    st = cf_fetch(r, &req, &f, &res, &e);
    if (st != DSRC_OK)
        out = cf_fail(r, "fetch with limit 0 failed (%s): %s", error_status_name(st),
                      cf_msg_of(r, &e));
    else if (f.rows != 0 || f.schema_calls != 1)
        out = cf_fail(r, "limit 0 gave %ld rows and %d schema() calls, expected 0 and 1", f.rows,
                      f.schema_calls);
    cf_rows_free(&f);
    derr_clear(&e);
    return out;
}

static cf_result cf_fetch_unknown_column(cf_run *r)
{
    dsrc_fetch_req req;
    cf_rows f = {0};
    const char *cols[2];
    derr e = {0};
    cf_result res = CF_PASS;
    dsrc_status st;

    if (cf_raw_skip(r, &res))
        return res;
    if (!r->described)
        return cf_no_item(r);
    cols[0] = r->cols[0].name;
    cols[1] = CF_NO_COLUMN;
    cf_req(&req, r->item, r->raw);
    req.columns = cols;
    req.n_columns = 2;
    st = cf_fetch(r, &req, &f, NULL, &e);
    if (st != DSRC_E_INVALID_ARGUMENT)
        res = cf_fail(r, "a fetch naming the unknown column '%s' gave %s, not "
                         "invalid-argument: %s",
                      CF_NO_COLUMN, error_status_name(st), e.msg ? e.msg : "");
    else if (f.rows)
        res = cf_fail(r, "a fetch naming an unknown column sent %ld rows", f.rows);
    cf_keep(r, "fetch of an unknown column", &e);
    cf_rows_free(&f);
    derr_clear(&e);
    return res;
}

/* The cursor column: declared, or the item's one-column primary key of
 * type int64 or timestamp. */
static const char *cf_cursor_field(cf_run *r)
{
    size_t i, n_pk = 0;
    const char *pick = NULL;

    if (r->q.cursor_field)
        return r->q.cursor_field;
    if (r->q.bits & CONF_QUIRK_NO_PK)
        return NULL;
    for (i = 0; i < r->n_cols; i++)
        if (r->cols[i].pk > 0) {
            n_pk++;
            if (r->cols[i].type == DSRC_T_INT64 || r->cols[i].type == DSRC_T_TIMESTAMP)
                pick = r->cols[i].name;
        }
    return n_pk == 1 ? pick : NULL;
}

/* The values of f's cursor column are in cursor order (NULLs aside), and
 * each is after `after` when it is set.  1, or 0 with the case failed. */
static int cf_cursor_rows_ok(cf_run *r, const cf_rows *f, const char *field, const char *after)
{
    const char *prev = NULL;
    long i;

    for (i = 0; i < f->rows; i++) {
        const char *v = f->vals[i];
        if (!v) {
            if (after) {
                cf_fail(r, "row %ld after '%s' has a NULL %s", i + 1, after, field);
                return 0;
            }
            continue;
        }
        if (after && conform_cmp(v, after) <= 0) {
            cf_fail(r, "row %ld has %s = '%s', not after '%s'", i + 1, field, v, after);
            return 0;
        }
        if (prev && conform_cmp(prev, v) > 0 && !(r->q.bits & CONF_QUIRK_CURSOR_UNSORTED)) {
            cf_fail(r, "rows are not in cursor order: '%s' came before '%s' (declare the "
                       "quirk cursor_unsorted if the backend cannot order them)",
                    prev, v);
            return 0;
        }
        prev = v;
    }
    return 1;
}

static int cf_str_cmp(const void *a, const void *b)
{
    return conform_cmp(*(char *const *)a, *(char *const *)b);
}

static cf_result cf_cursor(cf_run *r)
{
    const char *field;
    dsrc_fetch_req req;
    dsrc_fetch_result res;
    cf_rows f = {0}, g = {0};
    derr e = {0};
    char **sorted = NULL, *mid = NULL;
    size_t n = 0;
    long i, want = 0;
    cf_result out = CF_PASS;
    dsrc_status st;

    if (r->q.bits & CONF_QUIRK_NO_CURSOR)
        return cf_quirk(r, CONF_QUIRK_NO_CURSOR);
    if (!(r->drv->capabilities & DSRC_CAP_CURSOR))
        return cf_skip(r, "the plugin does not declare the cursor capability");
    if (r->full_rows < 0)
        return cf_skip(r, "the full fetch failed");
    if (cf_raw_skip(r, &out))
        return out;
    if (!(field = cf_cursor_field(r)))
        return cf_skip(r, "no cursor field (name one with cursor_field = ... in the quirks "
                          "file)");
    cf_req(&req, r->item, r->raw);
    req.cursor_field = field;
    f.keep_name = field;
    st = cf_fetch(r, &req, &f, &res, &e);
    if (st != DSRC_OK) {
        out = cf_fail(r, "a cursor fetch on '%s' failed (%s): %s", field, error_status_name(st),
                      cf_msg_of(r, &e));
        goto out;
    }
    if (f.keep < 0) {
        out = cf_fail(r, "the cursor column '%s' is not in the fetched schema", field);
        goto out;
    }
    if (f.rows != r->full_rows) {
        out = cf_fail(r, "a cursor fetch from the start gave %ld rows, the full fetch %ld",
                      f.rows, r->full_rows);
        goto out;
    }
    if (!cf_cursor_rows_ok(r, &f, field, NULL)) {
        out = CF_FAIL;
        goto out;
    }
    sorted = calloc((size_t)f.rows + 1, sizeof *sorted);
    for (i = 0; sorted && i < f.rows; i++)
        if (f.vals[i])
            sorted[n++] = f.vals[i];
    if (n == 0) {
        out = cf_skip(r, "'%s' holds no row with a %s value", r->item, field);
        goto out;
    }
    if (!res.has_cursor) {
        out = cf_fail(r, "a cursor fetch that sent %zu values reported no cursor_max", n);
        goto out;
    }
    qsort(sorted, n, sizeof *sorted, cf_str_cmp);
    if (conform_cmp(res.cursor_max, sorted[n - 1]) != 0) {
        out = cf_fail(r, "cursor_max is '%s', the highest value sent '%s'", res.cursor_max,
                      sorted[n - 1]);
        goto out;
    }
    mid = strdup(sorted[(n - 1) / 2]);
    for (i = 0; i < (long)n; i++)
        want += conform_cmp(sorted[i], mid) > 0;
    /* from the middle: exactly the rows after it, in order */
    req.cursor_value = mid;
    g.keep_name = field;
    derr_clear(&e);
    st = cf_fetch(r, &req, &g, &res, &e);
    if (st != DSRC_OK)
        out = cf_fail(r, "a cursor fetch after '%s' failed (%s): %s", mid, error_status_name(st),
                      cf_msg_of(r, &e));
    else if (g.rows != want)
        out = cf_fail(r, "a cursor fetch after '%s' gave %ld rows, expected %ld", mid, g.rows,
                      want);
    else if (!cf_cursor_rows_ok(r, &g, field, mid))
        out = CF_FAIL;
    else if (want == 0 && res.has_cursor)
        out = cf_fail(r, "a cursor fetch that sent nothing reported cursor_max '%s'",
                      res.cursor_max);
out:
    free(mid);
    free(sorted);
    cf_rows_free(&f);
    cf_rows_free(&g);
    derr_clear(&e);
    return out;
}

static cf_result cf_sink_stop(cf_run *r)
{
    dsrc_fetch_req req;
    cf_rows f = {0};
    derr e = {0};
    double end;
    cf_result res = CF_PASS;
    dsrc_status st;

    if (r->full_rows < 2)
        return cf_skip(r, r->full_rows < 0 ? "the full fetch failed"
                                          : "the item has fewer than 2 rows");
    cf_req(&req, r->item, r->raw);
    f.stop_after = 1;
    st = cf_fetch(r, &req, &f, NULL, &e);
    end = cf_now();
    if (st != DSRC_E_CANCELLED)
        res = cf_fail(r, "a row sink that asked to stop after 1 row got %s (%ld rows sent)",
                      error_status_name(st), f.rows);
    else if (f.rows != 1)
        res = cf_fail(r, "%ld rows were sent after the sink said stop", f.rows - 1);
    else if (end - f.stop_at > 1.0)
        res = cf_fail(r, "the fetch returned %.1f s after the sink said stop", end - f.stop_at);
    cf_rows_free(&f);
    derr_clear(&e);
    return res;
}

/* Reopen the run's connection (after a cancel, which may leave it broken). */
static void cf_reopen(cf_run *r)
{
    derr e = {0};
    source_close(r->conn);
    r->conn = NULL;
    if (source_open(r->src, 0, &r->conn, &e) != DSRC_OK)
        r->conn = NULL;
    derr_clear(&e);
}

/* A fetch of the item with the call's cancel flag raised before it: no
 * row, DSRC_E_CANCELLED.  1, or 0 with the case failed. */
static int cf_cancel_before(cf_run *r)
{
    dsrc_fetch_req req;
    cf_rows f = {0};
    derr e = {0};
    dsrc_status st;

    cf_req(&req, r->item, r->raw);
    atomic_store(&r->conn->cancel, 1);
    st = cf_fetch(r, &req, &f, NULL, &e);
    atomic_store(&r->conn->cancel, 0);
    if (st != DSRC_E_CANCELLED || f.rows)
        cf_fail(r, "a fetch started with the call already cancelled returned %s with %ld "
                   "row(s), not cancelled with none",
                error_status_name(st), f.rows);
    cf_rows_free(&f);
    derr_clear(&e);
    return st == DSRC_E_CANCELLED && r->why[0] == '\0';
}

static cf_result cf_cancel(cf_run *r)
{
    dsrc_fetch_req req;
    cf_rows f = {0};
    derr e = {0};
    double end;
    cf_result res = CF_PASS;
    dsrc_status st;

    if (r->q.bits & CONF_QUIRK_NO_CANCEL)
        return cf_quirk(r, CONF_QUIRK_NO_CANCEL);
    if (!(r->drv->capabilities & DSRC_CAP_CANCEL))
        return cf_skip(r, "the plugin does not declare the cancel capability");
    if (r->full_rows >= 0 && r->full_rows < 2)
        return cf_skip(r, "the item has fewer than 2 rows");
    if (!cf_cancel_before(r)) {
        cf_reopen(r);
        return CF_FAIL;
    }
    /* a full fetch that failed (e.g. a cell the host refused) leaves no
     * count to compare a cancelled fetch with: the first step is all */
    if (r->full_rows < 0)
        return CF_PASS;
    /* cancelled from another thread after the first row: the plugin stops
     * within 1 s, or it ends before it polled (a small item) with every row */
    cf_req(&req, r->item, r->raw);
    f.cancel_conn = r->conn;
    st = cf_fetch(r, &req, &f, NULL, &e);
    end = cf_now();
    if (f.went_on)
        res = cf_fail(r, "cancelled from another thread after the first row, the fetch still "
                         "sent rows 1 s later (%ld of %ld)",
                      f.rows, r->full_rows);
    else if (st == DSRC_OK && r->raw && f.bytes != r->full_bytes)
        /* raw bytes: how they are cut into writes may differ run to run */
        res = cf_fail(r, "cancelled from another thread, the fetch returned ok with %" PRIu64
                         " of %" PRIu64 " bytes",
                      f.bytes, r->full_bytes);
    else if (st == DSRC_OK && !r->raw && f.rows != r->full_rows)
        res = cf_fail(r, "cancelled from another thread, the fetch returned ok with %ld of %ld "
                         "rows",
                      f.rows, r->full_rows);
    else if (st != DSRC_OK && st != DSRC_E_CANCELLED)
        res = cf_fail(r, "cancelled from another thread, the fetch returned %s, not cancelled: "
                         "%s",
                      error_status_name(st), cf_msg_of(r, &e));
    else if (end - f.cancelled_at > 1.0)
        res = cf_fail(r, "the fetch returned %.1f s after it was cancelled (at most 1 s)",
                      end - f.cancelled_at);
    cf_rows_free(&f);
    derr_clear(&e);
    cf_reopen(r);
    if (!r->conn && res == CF_PASS)
        res = cf_fail(r, "the source does not open again after a cancel");
    return res;
}

static cf_result cf_bad_option(cf_run *r)
{
    registry_source bad = *r->src;
    registry_option *opts;
    const char *eq;
    char *name = NULL;
    source_conn *conn = NULL;
    derr e = {0};
    size_t i;
    const dsrc_option *def = NULL;
    cf_result res = CF_PASS;
    dsrc_status st;

    if (!r->q.bad_option)
        return cf_skip(r, "no bad_option in the quirks file");
    eq = strchr(r->q.bad_option, '=');
    name = strndup(r->q.bad_option, (size_t)(eq - r->q.bad_option));
    for (i = 0; name && r->drv->options && r->drv->options[i].name; i++)
        if (strcmp(r->drv->options[i].name, name) == 0)
            def = &r->drv->options[i];
    if (!def) {
        res = cf_fail(r, "bad_option names '%s', which is no option of plugin '%s'",
                      name ? name : "", r->plugin);
        free(name);
        return res;
    }
    /* the source's options with that one replaced (or added), as open() gets them */
    opts = calloc(r->src->n_options + 1, sizeof *opts);
    if (!opts) {
        free(name);
        return cf_fail(r, "out of memory");
    }
    memcpy(opts, r->src->options, r->src->n_options * sizeof *opts);
    bad.options = opts;
    for (i = 0; i < bad.n_options && opts[i].def != def; i++)
        ;
    if (i == bad.n_options)
        bad.n_options++;
    opts[i].def = def;
    opts[i].value = (char *)(eq + 1);
    st = source_open(&bad, 0, &conn, &e);
    if (st != DSRC_E_INVALID_CONFIG)
        res = cf_fail(r, "open with %s gave %s, not invalid-config%s%s", r->q.bad_option,
                      error_status_name(st), e.msg ? ": " : "", e.msg ? e.msg : "");
    if (st != DSRC_OK)
        cf_keep(r, "open with a bad option value", &e);
    source_close(conn);
    derr_clear(&e);
    free(opts);
    free(name);
    return res;
}

/* Add a fault to the errors case's reason ("; " between faults). */
static void cf_also(cf_run *r, const char *fmt, ...) DSRC_PRINTF(2, 3);
static void cf_also(cf_run *r, const char *fmt, ...)
{
    size_t n = strlen(r->why);
    va_list ap;

    if (n && n + 2 < sizeof r->why) {
        memcpy(r->why + n, "; ", 3);
        n += 2;
    }
    va_start(ap, fmt);
    vsnprintf(r->why + n, sizeof r->why - n, fmt, ap);
    va_end(ap);
}

/* The errors the cases provoked carry a message of the plugin's own, and
 * none holds a secret of the source (resolved here to compare, wiped
 * after; the host hides every one it knows as ***, so a *** is a secret
 * the plugin put in its message). */
static cf_result cf_errors(cf_run *r)
{
    size_t i, k;

    if (r->n_msgs == 0)
        return cf_skip(r, "no error was provoked");
    for (i = 0; i < r->n_msgs; i++) {
        const cf_msg *m = &r->msgs[i];
        if (m->st == DSRC_OK)
            continue;
        if (cf_no_message(m->text, m->st))
            cf_also(r, "%s: the plugin returned %s without a message (the host filled in '%s')",
                    m->where, error_status_name(m->st), m->text);
        if (strstr(m->text, REDACTED))
            cf_also(r, "%s: the message held a secret of the source, which the host hid as "
                       REDACTED ": %s",
                    m->where, m->text);
        for (k = 0; k < r->src->n_options; k++) {
            const registry_option *o = &r->src->options[k];
            char *plain = NULL;
            derr e = {0};
            if (!(o->def->flags & DSRC_OPT_SECRET) || !o->value)
                continue;
            if (secret_resolve(o->value, NULL, r->src->key_file, &plain, NULL, &e) == DSRC_OK &&
                strlen(plain) >= 3 && strstr(m->text, plain))
                cf_also(r, "%s: the message holds the value of the secret option '%s'",
                        m->where, o->def->name);
            secret_free(plain);
            derr_clear(&e);
        }
    }
    return r->why[0] ? CF_FAIL : CF_PASS;
}

/* Open descriptors and threads of this process. */
static long cf_count(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    long n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static cf_result cf_reopen_cycles(cf_run *r)
{
    long fds = 0, threads = 0;
    int i;

    for (i = 0; i <= CF_CYCLES; i++) {
        source_conn *c = NULL;
        derr e = {0};
        dsrc_status st = source_open(r->src, 0, &c, &e);
        if (st == DSRC_OK)
            st = source_ping(c, NULL, NULL, &e);
        source_close(c);
        if (st != DSRC_OK) {
            cf_result res = cf_fail(r, "open/ping/close cycle %d failed (%s): %s", i + 1,
                                    error_status_name(st), cf_msg_of(r, &e));
            derr_clear(&e);
            return res;
        }
        if (i == 0) { /* the first may set up what a library keeps */
            fds = cf_count("/proc/self/fd");
            threads = cf_count("/proc/self/task");
        }
    }
    if (cf_count("/proc/self/fd") > fds)
        return cf_fail(r, "%ld file descriptor(s) more after %d open/close cycles",
                       cf_count("/proc/self/fd") - fds, CF_CYCLES);
    if (cf_count("/proc/self/task") > threads)
        return cf_fail(r, "%ld thread(s) more after %d open/close cycles",
                       cf_count("/proc/self/task") - threads, CF_CYCLES);
    return CF_PASS;
}

/* ------------------------------------------------------------------------ */
/* The command                                                               */

static const struct {
    const char *name;
    cf_result (*fn)(cf_run *);
} cf_cases[] = {
    {"ping", cf_ping},
    {"list_root", cf_list_root},
    {"list_container", cf_list_container},
    {"list_stop", cf_list_stop},
    {"describe", cf_describe_item},
    {"describe_missing", cf_describe_missing},
    {"discover", cf_discover},
    {"fetch_full", cf_fetch_full},
    {"fetch_columns", cf_fetch_columns},
    {"fetch_limit", cf_fetch_limit},
    {"fetch_unknown_column", cf_fetch_unknown_column},
    {"cursor", cf_cursor},
    {"sink_stop", cf_sink_stop},
    {"cancel", cf_cancel},
    {"bad_option", cf_bad_option},
    {"errors", cf_errors},
    {"reopen", cf_reopen_cycles},
};
#define N_CASES (sizeof cf_cases / sizeof cf_cases[0])

static cf_result cf_not_open(cf_run *r)
{
    return cf_skip(r, "the source did not open");
}

static int conformance_opt(cli *c, int opt, const char *arg, void *user)
{
    (void)c;
    if (opt == 'Q')
        *(const char **)user = arg;
    return 0;
}

static void cf_run_free(cf_run *r)
{
    size_t i;
    source_close(r->conn);
    conform_quirks_free(&r->q);
    for (i = 0; i < r->n_leaves; i++)
        free(r->leaves[i]);
    free(r->leaves);
    for (i = 0; i < r->n_roots; i++)
        free(r->roots[i]);
    free(r->roots);
    for (i = 0; i < r->n_seen; i++)
        free(r->seen[i]);
    free(r->seen);
    free(r->seen_cols);
    for (i = 0; i < r->n_msgs; i++) {
        free(r->msgs[i].where);
        free(r->msgs[i].text);
    }
    free(r->msgs);
    free(r->container);
    free(r->item);
    cf_cols_free(r->cols, r->n_cols);
}

int cli_cmd_conformance(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {
        CLI_COMMON_LONGS, {"quirks", required_argument, NULL, 'Q'}, {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("conformance");
    const char *quirks = NULL;
    cf_run r;
    size_t i;
    int rc = 0, first;

    if ((first = cli_parse_opts(c, cmd, argc, argv, "hQ:", longs, conformance_opt, &quirks,
                                &rc)) < 0)
        return rc;
    if (first != argc - 1)
        return cli_usage_error(c, cmd, "expected one source name");
    memset(&r, 0, sizeof r);
    r.full_rows = -1;
    if (quirks) {
        derr e = {0};
        if (conform_quirks_load(quirks, &r.q, &e) != DSRC_OK) {
            rc = cli_error(c, e.status == DSRC_E_INVALID_CONFIG ? CLI_EXIT_CONFIG : CLI_EXIT_FAIL,
                           e.status == DSRC_E_INVALID_CONFIG ? "config"
                                                             : error_status_name(e.status),
                           "%s", e.msg ? e.msg : "cannot read the quirks file");
            derr_clear(&e);
            return rc;
        }
    }
    if ((rc = cli_load_config(c, 0)) || !(r.src = cli_need_source(c, argv[first], &rc))) {
        conform_quirks_free(&r.q);
        return rc;
    }
    r.drv = source_driver(r.src);
    r.plugin = loader_name(r.src->plugin);
    if (c->json) {
        r.cases = json_array();
    } else {
        printf("conformance of source '%s' (plugin %s %s%s)\n", r.src->cfg->name, r.plugin,
               r.drv->version ? r.drv->version : "",
               r.drv != loader_driver(r.src->plugin) ? ", in a worker process" : "");
    }
    cf_case(&r, "open", cf_open);
    for (i = 0; i < N_CASES; i++) {
        /* a case that left the connection unusable: the rest cannot run */
        cf_case(&r, cf_cases[i].name, r.conn ? cf_cases[i].fn : cf_not_open);
    }
    if (c->json) {
        json_t *o = json_object();
        json_object_set_new(o, "source", cli_jstr(r.src->cfg->name));
        json_object_set_new(o, "plugin", cli_jstr(r.plugin));
        json_object_set_new(o, "isolation", json_string(r.drv != loader_driver(r.src->plugin)
                                                            ? "process"
                                                            : "none"));
        json_object_set_new(o, "item", cli_jstr(r.item));
        json_object_set_new(o, "container", cli_jstr(r.container));
        json_object_set_new(o, "cases", r.cases);
        json_object_set_new(o, "passed", json_integer(r.n_pass));
        json_object_set_new(o, "failed", json_integer(r.n_fail));
        json_object_set_new(o, "skipped", json_integer(r.n_skip));
        cli_json_print(o);
    } else {
        if (r.item)
            printf("item '%s'%s%s%s, ", r.item, r.container ? " in '" : "",
                   r.container ? r.container : "", r.container ? "'" : "");
        else
            printf("no item, ");
        printf("%d passed, %d failed, %d skipped\n", r.n_pass, r.n_fail, r.n_skip);
    }
    rc = r.n_fail ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    cf_run_free(&r);
    return rc;
}
