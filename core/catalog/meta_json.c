/* SPDX-License-Identifier: Apache-2.0 */
/* meta_json.c -- items and metadata as JSON; see meta_json.h */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/redact.h"
#include "catalog/catalog.h"
#include "catalog/meta_json.h"
#include "output/manifest.h"

/* The length of the well-formed UTF-8 sequence at s (Unicode table 3-7),
 * or 0 when s does not start one.  Never reads past a NUL. */
static size_t utf8_seq_len(const unsigned char *s)
{
    unsigned char lo, hi;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        lo = s[0] == 0xE0 ? 0xA0 : 0x80;
        hi = s[0] == 0xED ? 0x9F : 0xBF;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        lo = s[0] == 0xF0 ? 0x90 : 0x80;
        hi = s[0] == 0xF4 ? 0x8F : 0xBF;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 &&
               (s[3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

/* s with every byte that is not part of valid UTF-8 written as the text
 * \xNN (malloc'd; NULL on allocation failure).  JSON strings must be
 * UTF-8 (jansson refuses anything else), and a file name or a quoted
 * setting may not be. */
static char *utf8_escape(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char *out = malloc(strlen(s) * 4 + 1), *o = out;

    if (!out)
        return NULL;
    while (*p) {
        size_t n = utf8_seq_len(p);
        if (n) {
            memcpy(o, p, n);
            o += n;
            p += n;
        } else {
            o += sprintf(o, "\\x%02X", *p++);
        }
    }
    *o = '\0';
    return out;
}

/* A JSON string with every registered secret replaced by ***; null for NULL.
 * Every string that reaches the output goes through here: plugins' names,
 * comments and properties can carry what a backend echoed.  Bytes that are
 * not UTF-8 are shown as \xNN (see utf8_escape()). */
json_t *meta_jstr(const char *s)
{
    char *r, *u;
    json_t *j;

    if (!s)
        return json_null();
    r = redact_dup(s);
    j = json_string(r ? r : "");
    if (!j && r && (u = utf8_escape(r))) {
        j = json_string(u);
        free(u);
    }
    free(r);
    return j ? j : json_string("");
}

json_t *meta_item_json(const dsrc_item *it)
{
    json_t *o = json_object();
    json_object_set_new(o, "path", meta_jstr(it->path ? it->path : ""));
    json_object_set_new(o, "name", meta_jstr(it->name ? it->name : ""));
    json_object_set_new(o, "kind", meta_jstr(catalog_kind_name(it->kind)));
    json_object_set_new(o, "container", json_boolean(it->container));
    json_object_set_new(o, "rows", it->rows >= 0 ? json_integer(it->rows) : json_null());
    json_object_set_new(o, "rows_estimated", json_boolean(it->rows_estimated));
    json_object_set_new(o, "size_bytes",
                        it->size_bytes >= 0 ? json_integer(it->size_bytes) : json_null());
    if (it->mtime >= 0) {
        char t[32];
        struct tm tm;
        time_t tt = (time_t)it->mtime;
        if (!gmtime_r(&tt, &tm) || !strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ", &tm))
            snprintf(t, sizeof t, "-");
        json_object_set_new(o, "mtime", meta_jstr(t));
    } else {
        json_object_set_new(o, "mtime", json_null());
    }
    json_object_set_new(o, "comment", meta_jstr(it->comment));
    return o;
}

/* The columns of one side of a foreign key as a JSON array. */
static json_t *fk_columns_json(const char *const *cols, size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(a, meta_jstr(cols[i] ? cols[i] : ""));
    return a;
}

/* One foreign key: name (null when none), columns, references {item,
 * columns}, on_update, on_delete (null when unknown). */
static json_t *fk_json(const dsrc_foreign_key *k)
{
    json_t *o = json_object(), *ref = json_object();

    json_object_set_new(o, "name", meta_jstr(k->name));
    json_object_set_new(o, "columns", fk_columns_json(k->columns, k->n_columns));
    json_object_set_new(ref, "item", meta_jstr(k->ref_item ? k->ref_item : ""));
    json_object_set_new(ref, "columns", fk_columns_json(k->ref_columns, k->n_columns));
    json_object_set_new(o, "references", ref);
    json_object_set_new(o, "on_update", meta_jstr(k->on_update));
    json_object_set_new(o, "on_delete", meta_jstr(k->on_delete));
    return o;
}

json_t *meta_metadata_json(const dsrc_metadata *md)
{
    json_t *o = md->item ? meta_item_json(md->item) : json_object();
    json_t *cols = json_array(), *props = json_object(), *fks = json_array();
    size_t i;

    for (i = 0; i < md->n_columns; i++) {
        const dsrc_column *col = &md->columns[i];
        json_t *j = json_object();
        json_object_set_new(j, "name", meta_jstr(col->name ? col->name : ""));
        json_object_set_new(j, "type", meta_jstr(manifest_type_name(col->type)));
        json_object_set_new(j, "native_type", meta_jstr(col->native_type));
        json_object_set_new(j, "nullable", col->nullable < 0 ? json_null()
                                                             : json_boolean(col->nullable));
        json_object_set_new(j, "primary_key", json_integer(col->primary_key));
        json_object_set_new(j, "default", meta_jstr(col->default_value));
        json_object_set_new(j, "comment", meta_jstr(col->comment));
        json_array_append_new(cols, j);
    }
    json_object_set_new(o, "columns", cols);
    for (i = 0; i < md->n_foreign_keys; i++)
        json_array_append_new(fks, fk_json(&md->foreign_keys[i]));
    json_object_set_new(o, "foreign_keys", fks);
    for (i = 0; i < md->n_properties; i++)
        if (md->properties[i].key)
            json_object_set_new(props, md->properties[i].key,
                                meta_jstr(md->properties[i].value));
    json_object_set_new(o, "properties", props);
    return o;
}
