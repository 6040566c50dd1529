/* SPDX-License-Identifier: Apache-2.0 */
/* view.c -- a stored catalog as JSON; see view.h */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/redact.h"
#include "catalog/discovery.h"
#include "catalog/drift.h"
#include "catalog/view.h"

#define VIEW_DAY_MS 86400000LL

/* A redacted string, or null. */
static json_t *view_str(const char *s)
{
    char *r;
    json_t *j;

    if (!s)
        return json_null();
    r = redact_dup(s);
    j = json_string(r ? r : "");
    free(r);
    return j ? j : json_string("");
}

/* ms since the epoch as 2024-01-31T12:00:00Z ("-" when negative). */
static void view_fmt_ms(char *buf, size_t n, int64_t ms)
{
    struct tm tm;
    time_t t = (time_t)(ms / 1000);

    if (ms / 1000 < 0 || !gmtime_r(&t, &tm))
        snprintf(buf, n, "-");
    else
        strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *view_info_json(const char *source, const snapshot_info *in)
{
    char t[32], v[32];

    view_fmt_ms(t, sizeof t, in->taken_at);
    view_fmt_ms(v, sizeof v, in->verified_at);
    return json_pack("{s:o, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:o}", "source", view_str(source),
                     "id", (json_int_t)in->id, "taken_at", t, "verified_at", v,
                     "age_seconds", (json_int_t)((store_now() - in->verified_at) / 1000),
                     "duration_ms", (json_int_t)in->duration_ms, "items",
                     (json_int_t)in->items, "changes", (json_int_t)in->changes, "run_id",
                     in->run_id > 0 ? json_integer(in->run_id) : json_null());
}

dsrc_status catalog_view_get(store *st, const char *source, int64_t id, int64_t at_ms,
                             snapshot_info *info, catalog_list *l, derr *e)
{
    int r = snapshot_find(st, source, id, at_ms, info, e);

    if (r == 0)
        return snapshot_load(st, info->id, l, e);
    if (r < 0)
        return e->status ? e->status : DSRC_E_INTERNAL;
    if (id > 0)
        return derr_set(e, DSRC_E_NOT_FOUND, "%s has no snapshot %lld", source, (long long)id);
    return derr_set(e, DSRC_E_NOT_FOUND, "no stored catalog of %s%s; 'dsrc discover %s' stores "
                    "one", source, at_ms > 0 ? " at that time" : "", source);
}

json_t *catalog_view_entry_json(const catalog_entry *en)
{
    json_t *o = json_loads(en->schema, 0, NULL);
    json_t *v = en->vol ? json_loads(en->vol, 0, NULL) : NULL;

    if (!o)
        o = json_object();
    json_object_set_new(o, "hash", json_string(en->hash));
    json_object_set_new(o, "stats", v ? v : json_object());
    return o;
}

json_t *catalog_view_json(store *st, const char *source, int64_t id, int64_t at_ms,
                          const char *item, derr *e)
{
    catalog_list l = {0};
    snapshot_info info;
    const catalog_entry *one = NULL;
    json_t *o = NULL, *items;
    size_t k;

    if (catalog_view_get(st, source, id, at_ms, &info, &l, e) != DSRC_OK) {
        catalog_list_free(&l);
        return NULL;
    }
    for (k = 0; item && k < l.n && !one; k++)
        if (strcmp(l.v[k].path, item) == 0)
            one = &l.v[k];
    if (item && !one) {
        derr_set(e, DSRC_E_NOT_FOUND, "%s has no item '%s' in snapshot %lld", source, item,
                 (long long)info.id);
    } else if ((o = view_info_json(source, &info))) {
        json_object_set_new(o, "snapshot", json_integer(info.id));
        if (one) {
            json_object_set_new(o, "item", catalog_view_entry_json(one));
        } else {
            items = json_array();
            for (k = 0; k < l.n; k++)
                json_array_append_new(items, catalog_view_entry_json(&l.v[k]));
            json_object_set_new(o, "items", items);
        }
    } else {
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
    }
    catalog_list_free(&l);
    return o;
}

json_t *catalog_view_stats_json(store *st, const char *source, snapshot_info *info, derr *e)
{
    catalog_list l = {0};
    snapshot_info in;
    json_t *schemas, *o, *last = NULL;
    int64_t tables = 0, views = 0, columns = 0, rows = 0, bytes = 0, changes = -1;
    int has_rows = 0, has_bytes = 0;
    size_t k;

    if (catalog_view_get(st, source, 0, 0, &in, &l, e) == DSRC_OK &&
        (changes = drift_count(st, source, store_now() - 30 * VIEW_DAY_MS, e)) >= 0 &&
        !(last = discovery_last_json(st, source, e)))
        changes = -1;
    if (changes < 0) {
        catalog_list_free(&l);
        return NULL;
    }
    schemas = json_object();
    for (k = 0; k < l.n; k++) {
        json_t *it = catalog_view_entry_json(&l.v[k]), *stats = json_object_get(it, "stats");
        const char *kind = json_string_value(json_object_get(it, "kind"));
        const char *slash = strrchr(l.v[k].path, '/');
        char *schema = slash ? strndup(l.v[k].path, (size_t)(slash - l.v[k].path)) : NULL;
        if (schema)
            json_object_set_new(schemas, schema, json_true());
        free(schema);
        if (kind && strstr(kind, "view"))
            views++;
        else if (kind && strstr(kind, "table"))
            tables++;
        columns += (int64_t)json_array_size(json_object_get(it, "columns"));
        if (json_is_integer(json_object_get(stats, "rows"))) {
            rows += json_integer_value(json_object_get(stats, "rows"));
            has_rows = 1;
        }
        if (json_is_integer(json_object_get(stats, "size_bytes"))) {
            bytes += json_integer_value(json_object_get(stats, "size_bytes"));
            has_bytes = 1;
        }
        json_decref(it);
    }
    catalog_list_free(&l);
    if (!(o = view_info_json(source, &in))) {
        json_decref(schemas);
        json_decref(last);
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return NULL;
    }
    json_object_set_new(o, "schemas", json_integer((json_int_t)json_object_size(schemas)));
    json_object_set_new(o, "tables", json_integer(tables));
    json_object_set_new(o, "views", json_integer(views));
    json_object_set_new(o, "columns", json_integer(columns));
    json_object_set_new(o, "estimated_rows", has_rows ? json_integer(rows) : json_null());
    json_object_set_new(o, "bytes", has_bytes ? json_integer(bytes) : json_null());
    json_object_set_new(o, "changes_30d", json_integer(changes));
    json_object_set_new(o, "last_discovery", last);
    json_decref(schemas);
    if (info)
        *info = in;
    return o;
}
