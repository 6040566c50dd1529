/* SPDX-License-Identifier: Apache-2.0 */
/* manifest.c -- the JSON manifest beside every fetched file; see manifest.h */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <dsrc/plugin_util.h>

#include "output/manifest.h"
#include "output/outfile.h"

const char *manifest_type_name(dsrc_type t)
{
    return t >= DSRC_T_NULL && t <= DSRC_T_JSON ? dsrc_type_name(t) : "text";
}

/* A JSON string for s, or null for NULL.  jansson refuses invalid UTF-8:
 * such a string is recorded with its bad bytes replaced by '?'. */
static json_t *manifest_str(const char *s)
{
    json_t *j;
    char *copy;
    size_t i;

    if (!s)
        return json_null();
    j = json_string(s);
    if (j)
        return j;
    copy = strdup(s);
    if (!copy)
        return NULL;
    for (i = 0; copy[i]; i++)
        if ((unsigned char)copy[i] >= 0x80)
            copy[i] = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

static json_t *manifest_uint(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? (json_int_t)INT64_MAX : (json_int_t)v);
}

/* Set key to value (stolen); returns -1 when value is NULL (no memory). */
static int manifest_set(json_t *obj, const char *key, json_t *value)
{
    if (!value)
        return -1;
    return json_object_set_new(obj, key, value);
}

static json_t *manifest_column(const dsrc_column *c)
{
    json_t *o = json_object();
    int rc = 0;

    if (!o)
        return NULL;
    rc |= manifest_set(o, "name", manifest_str(c->name ? c->name : ""));
    rc |= manifest_set(o, "type", json_string(manifest_type_name(c->type)));
    rc |= manifest_set(o, "native_type", manifest_str(c->native_type));
    rc |= manifest_set(o, "nullable",
                       c->nullable < 0 ? json_null() : json_boolean(c->nullable != 0));
    rc |= manifest_set(o, "primary_key", json_integer(c->primary_key));
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *manifest_object(const manifest *m)
{
    json_t *o = json_object(), *a;
    const char *base = NULL;
    char t[32];
    size_t i;
    int rc = 0;

    if (!o)
        return NULL;
    if (m->file) {
        base = strrchr(m->file, '/');
        base = base ? base + 1 : m->file;
    }
    rc |= manifest_set(o, "source", manifest_str(m->source));
    rc |= manifest_set(o, "plugin", manifest_str(m->plugin));
    if (m->query) {
        rc |= manifest_set(o, "query", manifest_str(m->query));
        rc |= manifest_set(o, "params_sha256", manifest_str(m->params_sha256));
    } else {
        rc |= manifest_set(o, "item", manifest_str(m->item));
    }
    rc |= manifest_set(o, "file", manifest_str(base));
    rc |= manifest_set(o, "format", manifest_str(m->format));
    rc |= manifest_set(o, "media_type", manifest_str(m->media_type));
    rc |= manifest_set(o, "rows", manifest_uint(m->rows));
    rc |= manifest_set(o, "bytes", manifest_uint(m->bytes));
    rc |= manifest_set(o, "sha256", manifest_str(m->sha256));
    manifest_time(&m->started, t);
    rc |= manifest_set(o, "started_at", json_string(t));
    manifest_time(&m->finished, t);
    rc |= manifest_set(o, "finished_at", json_string(t));

    a = json_array();
    for (i = 0; a && i < m->n_columns && m->columns; i++)
        if (json_array_append_new(a, manifest_column(&m->columns[i])) != 0)
            rc = -1;
    rc |= manifest_set(o, "schema", a);

    if (m->cursor_field) {
        json_t *c = json_object();
        if (c) {
            rc |= manifest_set(c, "field", manifest_str(m->cursor_field));
            rc |= manifest_set(c, "from", manifest_str(m->cursor_from));
            rc |= manifest_set(c, "to", manifest_str(m->cursor_to));
        }
        rc |= manifest_set(o, "cursor", c);
    } else {
        rc |= manifest_set(o, "cursor", json_null());
    }
    rc |= manifest_set(o, "limit", m->limit < 0 ? json_null() : json_integer(m->limit));
    if (m->req_columns && m->n_req_columns) {
        a = json_array();
        for (i = 0; a && i < m->n_req_columns; i++)
            if (json_array_append_new(a, manifest_str(m->req_columns[i] ? m->req_columns[i]
                                                                         : "")) != 0)
                rc = -1;
        rc |= manifest_set(o, "columns", a);
    } else {
        rc |= manifest_set(o, "columns", json_null());
    }
    if (m->endpoint)
        rc |= manifest_set(o, "endpoint", manifest_str(m->endpoint));
    if (m->mask && m->n_mask) {
        json_t *k = json_object(), *cols = json_object();
        for (i = 0; cols && i < m->n_mask; i++)
            rc |= manifest_set(cols, m->mask[i].column,
                               json_string(mask_mode_name(m->mask[i].mode, m->mask[i].unit)));
        if (k) {
            rc |= manifest_set(k, "columns", cols);
            rc |= manifest_set(k, "algorithm", json_string("hmac-sha256"));
            rc |= manifest_set(k, "key_id", manifest_str(m->mask_key_id));
        } else {
            json_decref(cols);
        }
        rc |= manifest_set(o, "mask", k);
    } else {
        rc |= manifest_set(o, "mask", json_null());
    }
    if (m->node)
        rc |= manifest_set(o, "node", manifest_str(m->node));
    rc |= manifest_set(o, "dsrc_version", json_string(PACKAGE_VERSION));
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *manifest_json(const manifest *m)
{
    json_t *o;
    char *s, *out;
    size_t n;

    if (!m)
        return NULL;
    o = manifest_object(m);
    if (!o)
        return NULL;
    s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return NULL;
    n = strlen(s);
    out = malloc(n + 2);
    if (out) {
        memcpy(out, s, n);
        out[n] = '\n';
        out[n + 1] = '\0';
    }
    free(s);
    return out;
}

outfile *manifest_stage(const manifest *m, const char *path, derr *e)
{
    char *s = manifest_json(m);
    outfile *of;

    if (!s) {
        derr_set(e, DSRC_E_INTERNAL, "cannot build the manifest for %s: out of memory",
                 path ? path : "(none)");
        return NULL;
    }
    of = outfile_stage_all(path, s, strlen(s), e);
    free(s);
    return of;
}

dsrc_status manifest_write(const manifest *m, const char *path, derr *e)
{
    char *s = manifest_json(m);
    dsrc_status st;

    if (!s)
        return derr_set(e, DSRC_E_INTERNAL, "cannot build the manifest for %s: out of memory",
                        path ? path : "(none)");
    st = outfile_write_all(path, s, strlen(s), e);
    free(s);
    return st;
}

void manifest_time(const struct timespec *ts, char buf[32])
{
    struct tm tm;
    time_t secs = ts->tv_sec;
    long ms = ts->tv_nsec / 1000000L;
    size_t n;

    if (ms < 0 || ms > 999)
        ms = 0;
    if (!gmtime_r(&secs, &tm)) {
        snprintf(buf, 32, "1970-01-01T00:00:00.000Z");
        return;
    }
    n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, 32 - n, ".%03ldZ", ms);
}

int manifest_matches(const char *path, const char *sha256, const char *cursor_to)
{
    json_t *m = path ? json_load_file(path, 0, NULL) : NULL;
    const char *ms, *mt;
    int ok;

    ms = json_string_value(json_object_get(m, "sha256"));
    mt = json_string_value(json_object_get(json_object_get(m, "cursor"), "to"));
    ok = ms && sha256 && strcmp(ms, sha256) == 0 &&
         (!cursor_to || (mt && strcmp(mt, cursor_to) == 0));
    json_decref(m);
    return ok;
}
