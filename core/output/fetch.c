/* SPDX-License-Identifier: Apache-2.0 */
/* fetch.c -- see fetch.h */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "output/fetch.h"
#include "output/format.h"
#include "output/manifest.h"
#include "output/mask.h"
#include "output/outfile.h"
#include "output/state.h"
#include "secret/secret.h"
#include "store/store.h"

typedef struct fetch_run_state {
    const cfg_config *cfg;
    source_conn *c;
    const fetch_opts *o;
    format_kind kind;
    int raw;                     /* format "raw" requested                 */
    format_writer *fw;
    outfile *of;
    char *path;                  /* final data path (NULL for stdout)      */
    const char *written_format;
    char *media_type;
    derr open_err;               /* why the output could not be opened     */
    int open_failed;
    int sink_err;                /* errno of a write the output refused    */
    /* CSV mode: a plugin with its own CSV may describe its columns with
     * schema() before begin().  Until rows or begin() tell which way the
     * data comes, the formatter's output (the header) is held here. */
    int holding;
    int native;                  /* begin() came: the plugin's own CSV     */
    char *hold;
    size_t hold_len, hold_cap;
    const char *proto_err;       /* the plugin mixed rows and bytes        */
    mask_applier *mask;          /* the columns masked, or NULL            */
    derr mask_err;               /* why the mask does not fit the schema   */
    struct timespec started;
    uint64_t rows, bytes;
    /* progress */
    int progress;
    double last_progress;
    double t0;
} fetch_run_state;

/* What the messages call the data: the item, or "the query". */
static const char *fetch_what(const fetch_opts *o)
{
    return o->query ? "the query" : o->item ? o->item : "?";
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human_bytes(uint64_t b, char *buf, size_t n)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void show_progress(fetch_run_state *st, int final)
{
    double now = mono(), el;
    char b[32];

    if (!st->progress)
        return;
    if (!final && now - st->last_progress < 0.5)
        return;
    if (!final && now - st->t0 < st->o->progress_after)
        return; /* only fetches that take longer than a moment */
    if (final && st->last_progress == 0)
        return;
    st->last_progress = now;
    el = now - st->t0;
    human_bytes(st->of ? outfile_bytes(st->of) : st->bytes, b, sizeof b);
    fprintf(stderr, "\r%s: %llu rows, %s, %.0f rows/s   %s",
            fetch_what(st->o), (unsigned long long)st->rows, b,
            el > 0 ? (double)st->rows / el : 0.0, final ? "\n" : "");
    fflush(stderr);
}

/* The destination path for the workspace. */
static char *workspace_path(fetch_run_state *st, const char *ext)
{
    /* a query's files: under "%query", a name no item path maps to */
    char *item = st->o->query ? strdup("%query") : state_item_path(st->o->item), *path = NULL;
    char ts[32];
    struct tm tm;
    time_t secs = st->started.tv_sec;

    if (!item)
        return NULL;
    gmtime_r(&secs, &tm);
    strftime(ts, sizeof ts, "%Y%m%dT%H%M%S", &tm);
    if (asprintf(&path, "%s/%s/%s/%s.%03ldZ.%s", st->cfg->workspace, st->c->src->cfg->name,
                 item, ts, st->started.tv_nsec / 1000000L, ext) < 0)
        path = NULL;
    free(item);
    return path;
}

/* Open the output on the first data callback; ext from what arrives. */
static int open_output(fetch_run_state *st, const char *ext)
{
    const char *out = st->o->output;

    if (st->of)
        return 0;
    if (st->open_failed)
        return -1;
    if (out && strcmp(out, "-") == 0) {
        st->path = NULL;
        st->of = outfile_open("-", &st->open_err);
    } else {
        st->path = out ? strdup(out) : workspace_path(st, ext);
        if (!st->path) {
            derr_set(&st->open_err, DSRC_E_INTERNAL, "out of memory");
            st->open_failed = 1;
            return -1;
        }
        st->of = outfile_open(st->path, &st->open_err);
    }
    if (!st->of) {
        st->open_failed = 1;
        return -1;
    }
    return 0;
}

/* The formatter's output: held while undecided, then the output file. */
static int fr_fmt_out(void *user, const void *data, size_t len)
{
    fetch_run_state *st = user;

    if (st->holding) {
        if (st->hold_len + len > st->hold_cap) {
            size_t cap = st->hold_cap ? st->hold_cap : 4096;
            char *p;
            while (cap < st->hold_len + len)
                cap *= 2;
            if (!(p = realloc(st->hold, cap)))
                return -1;
            st->hold = p;
            st->hold_cap = cap;
        }
        memcpy(st->hold + st->hold_len, data, len);
        st->hold_len += len;
        return 0;
    }
    if (st->native)
        return 0; /* the plugin's own CSV carries its header */
    return outfile_write(st->of, data, len);
}

/* Rows it is: open the output and write what the formatter produced. */
static int fr_release_hold(fetch_run_state *st)
{
    int rc = 0;

    if (!st->holding)
        return 0;
    st->holding = 0;
    if (open_output(st, format_extension(st->kind)) < 0)
        rc = -1;
    else if (st->hold_len && outfile_write(st->of, st->hold, st->hold_len) != 0) {
        st->sink_err = errno;
        rc = -1;
    }
    free(st->hold);
    st->hold = NULL;
    st->hold_len = st->hold_cap = 0;
    return rc;
}

static int fr_schema(void *user, const dsrc_column *cols, size_t n)
{
    fetch_run_state *st = user;
    const dsrc_row_sink *s;

    if (st->native) {
        st->proto_err = "a schema after its own CSV";
        return -1;
    }
    if (!st->fw) {
        if (st->kind == FORMAT_CSV && !st->raw) {
            /* rows or the plugin's own CSV may follow: wait and see */
            st->holding = 1;
        } else if (open_output(st, format_extension(st->kind)) < 0) {
            return -1;
        }
        if (!(st->fw = format_new(st->kind, fr_fmt_out, st)))
            return -1;
    }
    st->written_format = format_name(st->kind);
    s = format_sink(st->fw);
    if (st->mask) {
        if (mask_bind(st->mask, fetch_what(st->o), cols, n, &st->mask_err) != DSRC_OK)
            return -1;
        cols = mask_columns(st->mask, &n);
    }
    return s->schema(s->user, cols, n);
}

static int fr_row(void *user, const dsrc_cell *cells, size_t n)
{
    fetch_run_state *st = user;
    const dsrc_row_sink *s;
    int rc;

    if (st->native) {
        st->proto_err = "rows after its own CSV";
        return -1;
    }
    if (!st->fw) {
        st->proto_err = "a row before the schema";
        return -1;
    }
    if (st->holding && fr_release_hold(st) != 0)
        return -1;
    s = format_sink(st->fw);
    if (st->mask) {
        size_t ncols = 0;
        const dsrc_cell *masked;
        (void)format_columns(st->fw, &ncols);
        if (n != ncols) {
            /* never written unmasked: the formatter would refuse it too */
            st->proto_err = "a row whose cell count differs from its schema's";
            return -1;
        }
        if (!(masked = mask_row(st->mask, cells, n))) {
            derr_set(&st->mask_err, DSRC_E_INTERNAL, "masking '%s' failed (HMAC-SHA-256)",
                     fetch_what(st->o));
            return -1;
        }
        cells = masked;
    }
    rc = s->row(s->user, cells, n);
    if (rc == 0) {
        st->rows++;
        if (st->o->progress_counter)
            atomic_fetch_add(st->o->progress_counter, 1);
        if ((st->rows & 1023) == 0)
            show_progress(st, 0);
    }
    return rc;
}

static int fr_begin(void *user, const char *media_type, int64_t total)
{
    fetch_run_state *st = user;
    int csv = media_type && strncmp(media_type, "text/csv", 8) == 0;
    const char *ext = csv ? "csv" : "bin";

    (void)total;
    if (st->mask) {
        /* masked columns leave only through the formatter */
        st->proto_err = "its own CSV or bytes although columns are masked";
        return -1;
    }
    if (st->raw && st->o->item) {
        /* keep the item's own extension for raw files */
        const char *dot = strrchr(st->o->item, '.');
        const char *slash = strrchr(st->o->item, '/');
        if (dot && (!slash || dot > slash) && strlen(dot + 1) <= 8 && dot[1])
            ext = dot + 1;
    }
    if (st->native || (st->fw && !st->holding)) {
        st->proto_err = st->native ? "a second begin()" : "its own CSV after rows";
        return -1;
    }
    if (st->holding) {
        /* the schema described the plugin's own CSV: keep it for the
         * manifest, drop the formatter's header */
        st->holding = 0;
        free(st->hold);
        st->hold = NULL;
        st->hold_len = st->hold_cap = 0;
    }
    st->native = 1;
    free(st->media_type);
    st->media_type = media_type ? strdup(media_type) : NULL;
    st->written_format = csv ? "csv-native" : "raw";
    return open_output(st, ext);
}

static int fr_write(void *user, const void *data, size_t len)
{
    fetch_run_state *st = user;

    if (st->fw && !st->native) {
        st->proto_err = "bytes without begin() after a schema";
        return -1;
    }
    if (st->mask) {
        st->proto_err = "bytes although columns are masked";
        return -1;
    }
    if (!st->of && open_output(st, "bin") < 0)
        return -1;
    if (outfile_write(st->of, data, len) < 0) {
        st->sink_err = errno;
        return -1;
    }
    st->bytes += len;
    if (st->o->progress_counter)
        atomic_fetch_add(st->o->progress_counter, len);
    if ((st->bytes >> 20) != ((st->bytes - len) >> 20))
        show_progress(st, 0);
    return 0;
}

/* What a run records of a fetch's output. */
static void fetch_store_output(const fetch_report *r, const char *file_id,
                               store_run_output *so)
{
    memset(so, 0, sizeof *so);
    so->file = r->path;
    so->manifest = r->manifest_path;
    so->file_id = file_id;
    so->sha256 = r->sha256;
    so->cursor_from = r->cursor_from;
    so->cursor_to = r->cursor_to;
    so->rows = r->rows;
    so->bytes = r->bytes;
}

/* The masking of a fetch: its rules checked, the key resolved (and wiped
 * once the HMAC state holds it). */
static dsrc_status fetch_mask_new(const cfg_config *cfg, const fetch_opts *o, int raw,
                                  mask_applier **out, derr *e)
{
    char *key = NULL;
    dsrc_status st;
    size_t k;

    *out = NULL;
    if (raw)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                        "columns of '%s' are masked: a masked fetch writes csv or jsonl, not "
                        "raw", fetch_what(o));
    for (k = 0; o->cursor_field && k < o->n_mask; k++)
        if (strcmp(o->mask[k].column, o->cursor_field) == 0)
            return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                            "the cursor field '%s' of '%s' cannot be masked: its values are "
                            "recorded in clear (manifest, state store)", o->cursor_field,
                            fetch_what(o));
    if (!cfg->mask_key)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "columns of '%s' are masked, but no mask_key is set in %s (the key of "
                        "the hashes; see dsrc.conf(5))", fetch_what(o),
                        cfg->path ? cfg->path : "the daemon file");
    st = secret_resolve(cfg->mask_key, NULL, cfg->key_file, &key, NULL, e);
    if (st != DSRC_OK) {
        derr ctx = {0};
        derr_set(&ctx, st, "mask_key: %s", e->msg ? e->msg : "cannot be resolved");
        derr_clear(e);
        *e = ctx;
        return st;
    }
    *out = mask_new(o->mask, o->n_mask, key, strlen(key), e);
    secret_free(key);
    return *out ? DSRC_OK : e->status;
}

void fetch_report_free(fetch_report *r)
{
    if (!r)
        return;
    free(r->path);
    free(r->manifest_path);
    free(r->cursor_from);
    free(r->cursor_to);
    memset(r, 0, sizeof *r);
}

dsrc_status fetch_run(const cfg_config *cfg, source_conn *c, const fetch_opts *o,
                      fetch_report *r, derr *e)
{
    fetch_run_state st;
    outfile *mf = NULL;          /* the manifest, staged */
    dsrc_row_sink rows;
    dsrc_byte_sink bytes;
    dsrc_fetch_req req;
    dsrc_fetch_result res;
    dsrc_status status;
    char *committed = NULL;
    const char *format = o->format ? o->format : "csv";
    const char *cursor_from = o->cursor_value;
    char params_hash[65] = "";
    int kind;

    memset(r, 0, sizeof *r);
    memset(&st, 0, sizeof st);
    if (o->query) {
        /* a query's rows are formatted here: no raw bytes, no cursor */
        if (strcmp(format, "raw") == 0)
            return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                            "a query writes csv or jsonl, not raw (the rows of its result)");
        if (o->incremental || o->cursor_field || o->cursor_value)
            return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                            "a query has no cursor: it is run as it is written");
        if (o->n_params && !o->params)
            return derr_set(e, DSRC_E_INTERNAL, "query: %zu parameters and no values",
                            o->n_params);
        fetch_params_sha256(o->params, o->n_params, params_hash);
    }
    if (strcmp(format, "raw") == 0) {
        st.raw = 1;
        kind = FORMAT_CSV;
    } else if ((kind = format_parse(format)) < 0) {
        return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                        "unknown format '%s' (use csv, jsonl or raw)", format);
    }
    if (o->incremental && !o->cursor_field)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                        "an incremental fetch needs a cursor field");
    if (o->incremental && (!o->store || !o->run_id))
        return derr_set(e, DSRC_E_INTERNAL, "an incremental fetch needs a run in the state store");
    if (o->incremental && !cursor_from) {
        status = store_cursor_get(o->store, c->src->cfg->name, o->item, o->cursor_field,
                                  &committed, e);
        if (status != DSRC_OK)
            return status;
        cursor_from = committed;
    }

    if (o->n_mask && (status = fetch_mask_new(cfg, o, st.raw, &st.mask, e)) != DSRC_OK) {
        free(committed);
        return status;
    }

    st.cfg = cfg;
    st.c = c;
    st.o = o;
    st.kind = (format_kind)kind;
    st.progress = o->progress && isatty(STDERR_FILENO);
    st.t0 = mono();
    clock_gettime(CLOCK_REALTIME, &st.started);

    memset(&rows, 0, sizeof rows);
    rows.struct_size = sizeof rows;
    rows.user = &st;
    rows.schema = fr_schema;
    rows.row = fr_row;
    memset(&bytes, 0, sizeof bytes);
    bytes.struct_size = sizeof bytes;
    bytes.user = &st;
    bytes.begin = fr_begin;
    bytes.write = fr_write;

    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.item = o->item;
    req.columns = o->columns;
    req.n_columns = o->n_columns;
    req.limit = o->limit;
    req.cursor_field = o->cursor_field;
    req.cursor_value = cursor_from;
    /* a mask needs the values: rows, never the backend's own CSV */
    req.mode = st.raw ? DSRC_FETCH_RAW
                      : (kind == FORMAT_CSV && !st.mask ? DSRC_FETCH_CSV : DSRC_FETCH_ROWS);

    if (o->query) {
        /* the rows always: the host formats them, as for a masked fetch */
        dsrc_query_req q;
        memset(&q, 0, sizeof q);
        q.struct_size = sizeof q;
        q.text = o->query;
        q.params = o->params;
        q.n_params = o->n_params;
        q.limit = o->limit;
        q.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 0;
        status = source_query(c, &q, &rows, &res, e);
        res.has_cursor = 0;
    } else {
        status = source_fetch(c, &req, &rows, &bytes, &res, e);
    }
    res.cursor_max[DSRC_CURSOR_MAX - 1] = '\0';
    show_progress(&st, 1);

    if (st.mask_err.status != DSRC_OK) {
        derr_clear(e);
        *e = st.mask_err;
        memset(&st.mask_err, 0, sizeof st.mask_err);
        status = e->status;
    } else if (st.proto_err) {
        derr_clear(e);
        status = derr_set(e, DSRC_E_INTERNAL, "source '%s': plugin '%s' sent %s for '%s'",
                          c->src->cfg->name, loader_name(c->src->plugin), st.proto_err,
                          fetch_what(o));
    } else if (st.fw && format_error(st.fw)) {
        /* The plugin broke the row sink's rules; the sink refused. */
        derr_clear(e);
        status = derr_set(e, DSRC_E_INTERNAL, "source '%s': plugin '%s' sent bad rows for '%s': %s",
                          c->src->cfg->name, loader_name(c->src->plugin), fetch_what(o),
                          format_error(st.fw));
    } else if (st.open_failed) {
        /* The sink refused because the output could not be opened: that,
         * not the plugin's "cancelled", is the real error. */
        derr_clear(e);
        *e = st.open_err;
        memset(&st.open_err, 0, sizeof st.open_err);
        status = e->status;
    } else if (status != DSRC_OK && st.sink_err) {
        /* The plugin stopped because the output refused its bytes: say
         * why (a full disk, a closed pipe), not "stopped". */
        derr_clear(e);
        status = derr_set(e, DSRC_E_INTERNAL, "cannot write %s: %s",
                          st.path ? st.path : "standard output", strerror(st.sink_err));
    } else if (status == DSRC_OK && st.fw && format_failed(st.fw)) {
        errno = format_errno(st.fw);
        status = derr_set(e, DSRC_E_INTERNAL, "cannot write %s: %s",
                          st.path ? st.path : "standard output", strerror(errno));
    } else if (status != DSRC_OK && st.fw && format_failed(st.fw)) {
        int err = format_errno(st.fw);
        derr_clear(e);
        status = derr_set(e, DSRC_E_INTERNAL, "cannot write %s: %s",
                          st.path ? st.path : "standard output", strerror(err));
    }
    if (status == DSRC_OK && st.holding && fr_release_hold(&st) != 0) {
        /* a schema and no rows: the file holds the header line */
        if (st.open_failed) {
            *e = st.open_err;
            memset(&st.open_err, 0, sizeof st.open_err);
            status = e->status;
        } else {
            status = derr_set(e, DSRC_E_INTERNAL, "cannot write %s: %s",
                              st.path ? st.path : "standard output", strerror(errno));
        }
    }
    if (status == DSRC_OK && !st.of) {
        /* Nothing was delivered at all: a plugin that sent no schema. */
        status = derr_set(e, DSRC_E_INTERNAL,
                          "source '%s': plugin returned no data and no schema for '%s'",
                          c->src->cfg->name, fetch_what(o));
    }
    if (status == DSRC_OK && st.fw && format_finish(st.fw) < 0) {
        if (format_error(st.fw))
            status = derr_set(e, DSRC_E_INTERNAL, "source '%s': plugin '%s' sent bad rows for '%s': %s",
                              c->src->cfg->name, loader_name(c->src->plugin), fetch_what(o),
                              format_error(st.fw));
        else
            status = derr_set(e, DSRC_E_INTERNAL, "cannot write %s: %s",
                              st.path ? st.path : "standard output",
                              strerror(format_errno(st.fw)));
    }
    if (status != DSRC_OK)
        goto out;

    r->rows = st.fw && !st.native ? format_rows(st.fw) : res.rows;
    r->bytes = outfile_bytes(st.of);
    outfile_sha256(st.of, r->sha256);
    r->format = st.written_format;
    if (res.has_cursor && res.cursor_max[0])
        r->cursor_to = strdup(res.cursor_max);
    if (cursor_from)
        r->cursor_from = strdup(cursor_from);

    if (outfile_is_stream(st.of)) {
        /* stdout, a device, a FIFO: written as it came, no manifest */
        status = outfile_commit(st.of, e);
        st.of = NULL;
        if (status == DSRC_OK && o->store && o->run_id) {
            store_run_output so;
            fetch_store_output(r, NULL, &so);
            status = store_run_succeed(o->store, o->run_id, &so,
                                       o->incremental ? o->cursor_field : NULL, e);
        }
        if (status != DSRC_OK)
            goto out;
    } else {
        /* Data and manifest durable under temporary names, the cursor's
         * move recorded, then both put in place, then the cursor moved; a
         * failure at any step undoes the steps before it (see state.h for
         * a crash). */
        manifest m;
        store_run_output so;
        char id[OUTFILE_ID_MAX];
        size_t ncols = 0;
        const dsrc_column *cols = st.fw ? format_columns(st.fw, &ncols) : NULL;
        if ((status = outfile_prepare(st.of, e)) != DSRC_OK)
            goto out;
        memset(&m, 0, sizeof m);
        m.source = c->src->cfg->name;
        m.plugin = loader_name(c->src->plugin);
        m.item = o->item;
        m.file = st.path;
        m.format = r->format;
        m.media_type = st.media_type ? st.media_type
                                     : (st.kind == FORMAT_CSV ? "text/csv" : "application/x-ndjson");
        m.rows = r->rows;
        m.bytes = r->bytes;
        m.sha256 = r->sha256;
        m.started = st.started;
        clock_gettime(CLOCK_REALTIME, &m.finished);
        m.columns = cols;
        m.n_columns = ncols;
        m.cursor_field = o->cursor_field;
        m.cursor_from = r->cursor_from;
        m.cursor_to = r->cursor_to;
        m.limit = o->limit;
        m.req_columns = o->columns;
        m.n_req_columns = o->n_columns;
        m.endpoint = o->endpoint;
        if (st.mask) {
            m.mask = o->mask;
            m.n_mask = o->n_mask;
            m.mask_key_id = mask_key_id(st.mask);
        }
        m.node = o->node;
        if (o->query) {
            m.item = NULL;
            m.query = o->query;
            m.params_sha256 = params_hash;
        }
        if (asprintf(&r->manifest_path, "%s.manifest.json", st.path) < 0) {
            r->manifest_path = NULL;
            status = derr_set(e, DSRC_E_INTERNAL, "out of memory");
            goto out;
        }
        if (!(mf = manifest_stage(&m, r->manifest_path, e))) {
            status = e->status;
            goto out;
        }
        outfile_id(st.of, id);
        r->path = st.path; /* borrowed for the record */
        fetch_store_output(r, id, &so);
        r->path = NULL;
        if (o->store && o->run_id &&
            (status = store_run_prepare(o->store, o->run_id, &so, e)) != DSRC_OK)
            goto out;
        if ((status = outfile_publish(st.of, e)) != DSRC_OK ||
            (status = outfile_publish(mf, e)) != DSRC_OK)
            goto out;
        /* The data is durable: only now may the run succeed and the
         * cursor move. */
        if (o->store && o->run_id &&
            (status = store_run_succeed(o->store, o->run_id, &so,
                                        o->incremental ? o->cursor_field : NULL, e)) != DSRC_OK) {
            /* committed or not, nobody can tell now: the files stay where
             * they are, for the run's recovery (store.h) */
            if (e && strcmp(e->code, "in-doubt") == 0) {
                outfile_finish(mf);
                outfile_finish(st.of);
                mf = st.of = NULL;
            }
            goto out;
        }
        outfile_finish(mf);
        outfile_finish(st.of);
        mf = st.of = NULL;
        r->path = st.path;
        st.path = NULL;
    }
    r->seconds = mono() - st.t0;
out:
    if (status != DSRC_OK) {
        /* the manifest first: never one without its data */
        outfile_abort(mf);
        outfile_abort(st.of);
        fetch_report_free(r);
    }
    if (st.fw)
        format_free(st.fw);
    mask_free(st.mask);
    derr_clear(&st.mask_err);
    derr_clear(&st.open_err);
    free(st.path);
    free(st.media_type);
    free(st.hold);
    free(committed);
    return status;
}

void fetch_params_sha256(const char *const *params, size_t n, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[32], head[9];
    unsigned int len = 0, i;
    EVP_MD_CTX *x = EVP_MD_CTX_new();
    size_t k, j;

    hex[0] = '\0';
    if (!x || EVP_DigestInit_ex(x, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(x);
        return;
    }
    for (k = 0; k < n; k++) {
        size_t l = params && params[k] ? strlen(params[k]) : 0;
        head[0] = params && params[k] ? 1 : 0;
        for (j = 0; j < 8; j++)
            head[1 + j] = (unsigned char)((uint64_t)l >> (8 * j));
        EVP_DigestUpdate(x, head, head[0] ? 9 : 1);
        if (l)
            EVP_DigestUpdate(x, params[k], l);
    }
    if (EVP_DigestFinal_ex(x, md, &len) == 1 && len == sizeof md) {
        for (i = 0; i < len; i++) {
            hex[2 * i] = digits[md[i] >> 4];
            hex[2 * i + 1] = digits[md[i] & 15];
        }
        hex[2 * len] = '\0';
    }
    EVP_MD_CTX_free(x);
}

char **fetch_split_columns(const char *s, size_t *n)
{
    size_t count = 1, i, len = strlen(s);
    const char *p;
    char **v, *buf, *tok, *save = NULL;

    for (p = s; *p; p++)
        if (*p == ',')
            count++;
    v = malloc((count + 1) * sizeof *v + len + 1);
    if (!v)
        return NULL;
    buf = (char *)(v + count + 1);
    memcpy(buf, s, len + 1);
    i = 0;
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (*tok)
            v[i++] = tok;
    v[i] = NULL;
    *n = i;
    return v;
}
