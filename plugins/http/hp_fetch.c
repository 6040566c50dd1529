/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hp_fetch.c -- list, describe and fetch of the http connector.
 *
 * list("") gives the configured items (collections, leaves).  describe
 * samples the first sample_pages pages: one column per field (hp_rows.c).
 * fetch in rows (and CSV) mode holds the records of the first
 * sample_pages pages, samples the schema from them, sends it and them,
 * then streams the further pages row by row, one page in memory at a time.
 * fetch in raw mode writes each record as one line of JSON (JSON Lines,
 * media type application/x-ndjson), as the API sent it.
 *
 * Incremental fetch: rows whose cursor field is greater than the cursor
 * value (integers and numbers compared as numbers, strings byte-wise);
 * when the field is the item's cursor_field, the value is also sent as
 * since_param so that the API filters (an API that filters with >= is
 * fine: equal values are dropped here).  Any other field is filtered
 * here only, over the whole item.  cursor_max is the highest value sent.
 */
#include "hp.h"

#include <inttypes.h>
#include <math.h>

/* The item named by a path ("name"), or NULL with err filled. */
static const hp_item *hp_item_of(dsrc_conn *c, const char *path, dsrc_error *err)
{
    dsrc_path sp;
    const hp_item *it = NULL;

    if (dsrc_path_split(path, 0, &sp, err) != DSRC_OK)
        return NULL;
    if (sp.n == 1)
        it = hp_item_find(c, sp.part[0]);
    if (!it)
        dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, NULL,
                       "no item '%s' (the source's items option names them; dsrc ls lists "
                       "them)",
                       path ? path : "");
    dsrc_path_free(&sp);
    return it;
}

static void hp_item_fill(dsrc_item *d, const hp_item *it)
{
    memset(d, 0, sizeof *d);
    d->struct_size = sizeof *d;
    d->path = it->name;
    d->name = it->name;
    d->kind = DSRC_ITEM_COLLECTION;
    d->rows = -1;
    d->size_bytes = -1;
    d->mtime = -1;
    d->comment = it->path;
}

dsrc_status hp_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                    const dsrc_item_sink *sink, dsrc_error *err)
{
    size_t i;

    (void)ctx;
    if (path && *path)
        return hp_item_of(c, path, err)
                   ? dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                    "'%s' is an item, not a container: describe or fetch it",
                                    path)
                   : err->status;
    for (i = 0; i < c->n_items; i++) {
        dsrc_item d;
        hp_item_fill(&d, &c->items[i]);
        if (sink->item(sink->user, &d))
            return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "stopped by the receiver");
    }
    return DSRC_OK;
}

static int hp_sample_page(void *user, json_t *records, dsrc_error *err)
{
    hp_schema *s = user;

    hp_schema_sample(s, records);
    return s->failed ? dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory") : DSRC_OK;
}

dsrc_status hp_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                        const dsrc_meta_sink *sink, dsrc_error *err)
{
    static const char *const pagings[] = {"none", "page", "offset", "cursor", "link"};
    const hp_item *it = hp_item_of(c, item, err);
    hp_schema s = {0};
    dsrc_item d;
    dsrc_metadata md;
    dsrc_kv props[4];
    size_t np = 0;
    dsrc_status st;

    if (!it)
        return err->status;
    st = hp_pages(ctx, c, it, NULL, c->sample_pages, hp_sample_page, &s, err);
    if (st != DSRC_OK) {
        hp_schema_free(&s);
        return st;
    }
    hp_schema_done(&s);
    hp_item_fill(&d, it);
    props[np++] = (dsrc_kv){"path", it->path};
    props[np++] = (dsrc_kv){"paging", pagings[it->paging]};
    props[np++] = (dsrc_kv){"records", it->records};
    if (it->cursor_field)
        props[np++] = (dsrc_kv){"cursor_field", it->cursor_field};
    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;
    md.item = &d;
    md.columns = s.cols;
    md.n_columns = s.n;
    md.properties = props;
    md.n_properties = np;
    if (sink->metadata(sink->user, &md))
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "stopped by the receiver");
    hp_schema_free(&s);
    return st;
}

/* ------------------------------------------------------------------------ */
/* fetch                                                                     */

typedef struct hp_fst {
    const dsrc_ctx *ctx;
    dsrc_conn *c;
    const hp_item *it;
    const dsrc_fetch_req *req;
    const dsrc_row_sink *rows;
    const dsrc_byte_sink *bytes;
    dsrc_fetch_result *result;
    int raw;
    int started;             /* schema sent (rows mode)                     */
    long pages;
    json_t *held;            /* records of the sampled pages (rows mode)    */
    hp_schema schema;
    size_t *idx;             /* the columns sent, as schema indexes         */
    size_t n_idx;
    dsrc_cell *cells;
    dsrc_buf scratch;
    uint64_t recno, sent;
    /* cursor */
    const char *cfield;
    const char *after;
    json_t *max;             /* the highest cursor value sent (a copy)      */
    json_t *last;            /* the last cursor value sent (a copy)         */
} hp_fst;

/* <0, 0, >0 as the JSON value v is below, equal to or above the text t
 * (numbers compared as numbers when t is one); -2 when v cannot serve as a
 * cursor (not a string or number). */
static int hp_cmp_text(const json_t *v, const char *t)
{
    char *end;

    if (json_is_string(v))
        return strcmp(json_string_value(v), t) < 0 ? -1 : strcmp(json_string_value(v), t) > 0;
    if (json_is_number(v)) {
        double d = strtod(t, &end), x = json_number_value(v);
        if (end == t || *end)
            return -2;
        if (json_is_integer(v)) {
            long long i = strtoll(t, &end, 10);
            if (end != t && !*end)
                return (json_integer_value(v) > i) - (json_integer_value(v) < i);
        }
        return (x > d) - (x < d);
    }
    return -2;
}

/* A cursor value as text (integers exact). */
static void hp_cursor_text(const json_t *v, char *buf, size_t cap)
{
    if (json_is_string(v))
        snprintf(buf, cap, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        snprintf(buf, cap, "%.17g", json_number_value(v));
}

/* <0, 0, >0 comparing two cursor values of the same kind. */
static int hp_cmp(const json_t *a, const json_t *b)
{
    char t[DSRC_CURSOR_MAX];

    hp_cursor_text(b, t, sizeof t);
    return hp_cmp_text(a, t);
}

/* Send one record (rows or a JSON line). */
static int hp_emit(hp_fst *f, json_t *rec, dsrc_error *err)
{
    dsrc_status st;

    if (f->raw) {
        char *s = json_dumps(rec, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);

        if (!s)
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        dsrc_buf_reset(&f->scratch);
        dsrc_buf_add(&f->scratch, s);
        dsrc_buf_add(&f->scratch, "\n");
        free(s);
        if (f->scratch.failed)
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        if (f->bytes->write(f->bytes->user, f->scratch.s, f->scratch.len))
            return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "stopped by the receiver");
        f->result->bytes += f->scratch.len;
    } else {
        dsrc_buf_reset(&f->scratch);
        st = hp_row(&f->schema, f->idx, f->n_idx, rec, f->recno, f->cells, &f->scratch,
                    f->it->name, err);
        if (st != DSRC_OK)
            return st;
        if (f->rows->row(f->rows->user, f->cells, f->n_idx))
            return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "stopped by the receiver");
    }
    f->sent++;
    f->result->rows++;
    return DSRC_OK;
}

/* The cursor and limit rules for one record, then hp_emit(). */
static int hp_record(hp_fst *f, json_t *rec, dsrc_error *err)
{
    json_t *v = NULL;
    int64_t limit = f->req->limit;

    f->recno++;
    if ((f->recno & 1023) == 0 && hp_cancelled(f->ctx, f->c))
        return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "item '%s': cancelled",
                              f->it->name);
    if (!f->cfield) {
        if (limit >= 0 && (int64_t)f->sent >= limit)
            return HP_STOP;
        return hp_emit(f, rec, err);
    }
    v = json_is_object(rec) ? json_object_get(rec, f->cfield) : NULL;
    if (!v || json_is_null(v)) {
        if (f->after)
            return DSRC_OK;
        return hp_emit(f, rec, err);
    }
    if (!json_is_string(v) && !json_is_number(v))
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "item '%s': cursor field '%s' of record %llu is not a string or "
                              "a number",
                              f->it->name, f->cfield, (unsigned long long)f->recno);
    if (f->after) {
        int k = hp_cmp_text(v, f->after);
        if (k == -2)
            return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                  "item '%s': cursor value '%s' is not a number, as field '%s'"
                                  " is",
                                  f->it->name, f->after, f->cfield);
        if (k <= 0)
            return DSRC_OK;
    }
    if (limit >= 0 && (int64_t)f->sent >= limit && (!f->last || hp_cmp(v, f->last) != 0))
        return HP_STOP;
    if (!f->max || hp_cmp(v, f->max) > 0) {
        json_decref(f->max);
        f->max = json_deep_copy(v);
    }
    json_decref(f->last);
    f->last = json_deep_copy(v);
    if (!f->max || !f->last)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    return hp_emit(f, rec, err);
}

/* Rows mode: the schema from the held records, sent, then the held ones. */
static int hp_start(hp_fst *f, dsrc_error *err)
{
    size_t i, k;
    dsrc_column *cols;
    json_t *rec;
    int st = DSRC_OK;

    f->started = 1;
    hp_schema_done(&f->schema);
    f->n_idx = f->req->columns ? f->req->n_columns : f->schema.n;
    f->idx = calloc(f->n_idx ? f->n_idx : 1, sizeof *f->idx);
    f->cells = calloc(f->n_idx ? f->n_idx : 1, sizeof *f->cells);
    cols = calloc(f->n_idx ? f->n_idx : 1, sizeof *cols);
    if (!f->idx || !f->cells || !cols) {
        free(cols);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    for (k = 0; k < f->n_idx; k++) {
        long j = f->req->columns ? hp_schema_find(&f->schema, f->req->columns[k]) : (long)k;
        if (j < 0) {
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                "item '%s' has no field '%s' in the records sampled from its "
                                "first pages",
                                f->it->name, f->req->columns[k]);
            free(cols);
            return st;
        }
        f->idx[k] = (size_t)j;
        cols[k] = f->schema.cols[j];
    }
    if (f->rows->schema(f->rows->user, cols, f->n_idx))
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "stopped by the receiver");
    free(cols);
    json_array_foreach(f->held, i, rec) {
        if (st != DSRC_OK)
            break;
        st = hp_record(f, rec, err);
    }
    json_array_clear(f->held);
    return st;
}

static int hp_fetch_page(void *user, json_t *records, dsrc_error *err)
{
    hp_fst *f = user;
    size_t i;
    json_t *rec;
    int st = DSRC_OK;

    if (!f->raw && !f->started) {
        hp_schema_sample(&f->schema, records);
        if (f->schema.failed || json_array_extend(f->held, records) < 0)
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        if (++f->pages < f->c->sample_pages)
            return DSRC_OK;
        return hp_start(f, err);
    }
    json_array_foreach(records, i, rec) {
        if ((st = hp_record(f, rec, err)) != DSRC_OK)
            break;
    }
    return st;
}

dsrc_status hp_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                     const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                     dsrc_fetch_result *result, dsrc_error *err)
{
    hp_fst f;
    int st;
    const char *since = NULL;

    memset(&f, 0, sizeof f);
    if (!(f.it = hp_item_of(c, req->item, err)))
        return err->status;
    f.ctx = ctx;
    f.c = c;
    f.req = req;
    f.rows = rows;
    f.bytes = bytes;
    f.result = result;
    f.raw = req->mode == DSRC_FETCH_RAW;
    f.cfield = req->cursor_field && *req->cursor_field ? req->cursor_field : NULL;
    f.after = f.cfield ? req->cursor_value : NULL;
    if (f.cfield && f.it->cursor_field && strcmp(f.cfield, f.it->cursor_field) == 0)
        since = f.after;
    if (req->n_columns && !req->columns)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch: %zu columns announced but none given", req->n_columns);
    if (f.raw && req->columns)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "item '%s': a raw fetch writes whole records; fetch rows to "
                              "choose columns",
                              f.it->name);
    if (!(f.held = json_array()))
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    result->mode = f.raw ? DSRC_FETCH_RAW : DSRC_FETCH_ROWS;
    st = f.raw && bytes->begin(bytes->user, "application/x-ndjson", -1)
             ? dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "stopped by the receiver")
             : hp_pages(ctx, c, f.it, since, 0, hp_fetch_page, &f, err);
    if (st == DSRC_OK && !f.raw && !f.started)
        st = hp_start(&f, err);
    if (st == DSRC_OK && f.cfield && f.max) {
        hp_cursor_text(f.max, result->cursor_max, sizeof result->cursor_max);
        result->has_cursor = 1;
    }
    json_decref(f.held);
    json_decref(f.max);
    json_decref(f.last);
    hp_schema_free(&f.schema);
    free(f.idx);
    free(f.cells);
    dsrc_buf_free(&f.scratch);
    return (dsrc_status)st;
}
