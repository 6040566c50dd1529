/* SPDX-License-Identifier: Apache-2.0 */
/* srcdoc.c -- see srcdoc.h */
#include <config.h>

#include <errno.h>
#include <libconfig.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include <dsrc/plugin.h>

#include "base/redact.h"
#include "plugin/srcdoc.h"

#define SRCDOC_MAX_DEPTH 8
#define SRCDOC_MAX_NAME 128
#define SRCDOC_MAX_CHANGED 16   /* changes named one by one in a group */

/* ------------------------------------------------------------------------ */
/* Rendering                                                                 */

typedef struct srcdoc_out {
    dsrc_buf b;
    int line;                 /* the line being written (1-based)          */
    srcdoc_lines *lines;
    json_t *errors;
    int bad;
} srcdoc_out;

static void srcdoc_err(srcdoc_out *o, const char *field, const char *msg)
{
    o->bad = 1;
    json_array_append_new(o->errors, json_pack("{s:s, s:s}", "field", field[0] ? field : "(body)",
                                               "message", msg));
}

/* Remember that `field` starts on the current line (the first setting
 * named on a line keeps it). */
static void srcdoc_mark(srcdoc_out *o, const char *field)
{
    srcdoc_lines *l = o->lines;
    size_t i = (size_t)o->line - 1;

    if (!l)
        return;
    if (i >= l->n) {
        char **v = realloc(l->field, (i + 1) * sizeof *v);
        if (!v) {
            o->b.failed = 1;
            return;
        }
        memset(v + l->n, 0, (i + 1 - l->n) * sizeof *v);
        l->field = v;
        l->n = i + 1;
    }
    if (!l->field[i] && !(l->field[i] = strdup(field)))
        o->b.failed = 1;
}

static void srcdoc_nl(srcdoc_out *o)
{
    dsrc_buf_add(&o->b, "\n");
    o->line++;
}

static void srcdoc_indent(srcdoc_out *o, int depth)
{
    int i;
    for (i = 0; i < depth; i++)
        dsrc_buf_add(&o->b, "    ");
}

/* libconfig's names: [A-Za-z*][-A-Za-z0-9_*]* */
static int srcdoc_key_ok(const char *k)
{
    const char *p;

    if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || *k == '*'))
        return 0;
    for (p = k + 1; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '*'))
            return 0;
    return p - k <= SRCDOC_MAX_NAME;
}

static void srcdoc_string(srcdoc_out *o, const char *s, size_t n)
{
    size_t i;

    dsrc_buf_add(&o->b, "\"");
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': dsrc_buf_add(&o->b, "\\\""); break;
        case '\\': dsrc_buf_add(&o->b, "\\\\"); break;
        case '\n': dsrc_buf_add(&o->b, "\\n"); break;
        case '\r': dsrc_buf_add(&o->b, "\\r"); break;
        case '\t': dsrc_buf_add(&o->b, "\\t"); break;
        case '\f': dsrc_buf_add(&o->b, "\\f"); break;
        default:
            if (c < 0x20 || c == 0x7f)
                dsrc_buf_printf(&o->b, "\\x%02x", c);
            else
                dsrc_buf_addn(&o->b, (const char *)&c, 1);
        }
    }
    dsrc_buf_add(&o->b, "\"");
}

static void srcdoc_value(srcdoc_out *o, const json_t *v, const char *field, int depth);

/* A scalar; 0, or -1 when v is not one. */
static int srcdoc_scalar(srcdoc_out *o, const json_t *v, const char *field)
{
    char num[64];

    switch (json_typeof(v)) {
    case JSON_STRING:
        if (memchr(json_string_value(v), '\0', json_string_length(v))) {
            srcdoc_err(o, field, "a text value cannot hold a NUL character");
            return 0;
        }
        srcdoc_string(o, json_string_value(v), json_string_length(v));
        return 0;
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        dsrc_buf_printf(&o->b, "%lld%s", (long long)i,
                        i > INT32_MAX || i < INT32_MIN ? "L" : "");
        return 0;
    }
    case JSON_REAL:
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        dsrc_buf_add(&o->b, num);
        if (!strpbrk(num, ".eE"))
            dsrc_buf_add(&o->b, ".0");
        return 0;
    case JSON_TRUE:
        dsrc_buf_add(&o->b, "true");
        return 0;
    case JSON_FALSE:
        dsrc_buf_add(&o->b, "false");
        return 0;
    case JSON_NULL:
        srcdoc_err(o, field, "null is not a value (leave the field out)");
        return 0;
    default:
        return -1;
    }
}

/* One setting "key = value;" of a group. */
static void srcdoc_setting(srcdoc_out *o, const char *k, const json_t *v, const char *field,
                           int depth)
{
    char *sub = NULL;

    if (asprintf(&sub, "%s%s%s", field, *field ? "." : "", k) < 0) {
        o->b.failed = 1;
        return;
    }
    if (!srcdoc_key_ok(k)) {
        srcdoc_err(o, sub, "not a setting name: use a letter first, then letters, "
                   "digits, '_' and '-'");
        free(sub);
        return;
    }
    srcdoc_indent(o, depth);
    srcdoc_mark(o, sub);
    dsrc_buf_printf(&o->b, "%s = ", k);
    srcdoc_value(o, v, sub, depth);
    dsrc_buf_add(&o->b, ";");
    srcdoc_nl(o);
    free(sub);
}

/* name and type first in a source file, as one writes it by hand */
static const char *const srcdoc_first[] = {"name", "type", NULL};

static void srcdoc_group(srcdoc_out *o, const json_t *obj, const char *field, int depth)
{
    const char *k;
    json_t *v;
    size_t i;

    for (i = 0; !depth && srcdoc_first[i]; i++)
        if ((v = json_object_get(obj, srcdoc_first[i])))
            srcdoc_setting(o, srcdoc_first[i], v, field, depth);
    json_object_foreach((json_t *)obj, k, v) {
        int first = 0;
        for (i = 0; !depth && srcdoc_first[i]; i++)
            first |= strcmp(k, srcdoc_first[i]) == 0;
        if (!first)
            srcdoc_setting(o, k, v, field, depth);
    }
}

static void srcdoc_array(srcdoc_out *o, const json_t *a, const char *field, int depth)
{
    size_t i, n = json_array_size(a);
    int groups = n && json_is_object(json_array_get(a, 0));
    json_type first = n ? json_typeof(json_array_get(a, 0)) : JSON_STRING;

    dsrc_buf_add(&o->b, groups ? "(" : "[");
    for (i = 0; i < n; i++) {
        json_t *v = json_array_get(a, i);
        char *sub = NULL;
        json_type t = json_typeof(v);

        if (asprintf(&sub, "%s[%zu]", field, i) < 0) {
            o->b.failed = 1;
            return;
        }
        if (i)
            dsrc_buf_add(&o->b, ",");
        if (groups) {
            if (!json_is_object(v))
                srcdoc_err(o, sub, "a list of groups holds groups only");
            else {
                srcdoc_nl(o);
                srcdoc_indent(o, depth + 1);
                srcdoc_mark(o, sub);
                srcdoc_value(o, v, sub, depth + 1);
            }
        } else {
            int same = t == first || (json_is_boolean(v) && (first == JSON_TRUE ||
                                                               first == JSON_FALSE));
            if (i)
                dsrc_buf_add(&o->b, " ");
            if (json_is_object(v) || json_is_array(v) || !same)
                srcdoc_err(o, sub, "an array holds values of one type (text, integer, "
                           "number or boolean)");
            else
                srcdoc_scalar(o, v, sub);
        }
        free(sub);
    }
    if (groups) {
        srcdoc_nl(o);
        srcdoc_indent(o, depth);
    }
    dsrc_buf_add(&o->b, groups ? ")" : "]");
}

static void srcdoc_value(srcdoc_out *o, const json_t *v, const char *field, int depth)
{
    if (depth >= SRCDOC_MAX_DEPTH) {
        srcdoc_err(o, field, "nested too deep");
        return;
    }
    if (json_is_object(v)) {
        dsrc_buf_add(&o->b, "{");
        srcdoc_nl(o);
        srcdoc_group(o, v, field, depth + 1);
        srcdoc_indent(o, depth);
        dsrc_buf_add(&o->b, "}");
    } else if (json_is_array(v)) {
        srcdoc_array(o, v, field, depth);
    } else {
        srcdoc_scalar(o, v, field);
    }
}

int srcdoc_render(const json_t *doc, const char *header, char **text, srcdoc_lines *lines,
                  json_t *errors)
{
    srcdoc_out o;
    const char *p;

    memset(&o, 0, sizeof o);
    o.line = 1;
    o.lines = lines;
    o.errors = errors;
    *text = NULL;
    if (lines)
        memset(lines, 0, sizeof *lines);
    if (!json_is_object(doc)) {
        srcdoc_err(&o, "", "a source is a JSON object");
        return -1;
    }
    for (p = header; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        dsrc_buf_add(&o.b, "# ");
        dsrc_buf_addn(&o.b, p, n);
        srcdoc_nl(&o);
        p += n + (nl ? 1 : 0);
    }
    srcdoc_group(&o, doc, "", 0);
    if (o.b.failed) {
        srcdoc_err(&o, "", "out of memory");
    }
    if (o.bad) {
        dsrc_buf_free(&o.b);
        if (lines)
            srcdoc_lines_free(lines);
        return -1;
    }
    *text = o.b.s ? o.b.s : strdup("");
    return *text ? 0 : -1;
}

const char *srcdoc_field(const srcdoc_lines *l, int line)
{
    if (!l || line < 1 || (size_t)line > l->n)
        return NULL;
    return l->field[line - 1];
}

void srcdoc_lines_free(srcdoc_lines *l)
{
    size_t i;

    if (!l)
        return;
    for (i = 0; i < l->n; i++)
        free(l->field[i]);
    free(l->field);
    l->field = NULL;
    l->n = 0;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */

static json_t *srcdoc_from_setting(const config_setting_t *s)
{
    json_t *v;
    int i, n;

    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP:
        v = json_object();
        n = config_setting_length(s);
        for (i = 0; v && i < n; i++) {
            const config_setting_t *c = config_setting_get_elem(s, (unsigned)i);
            json_object_set_new(v, config_setting_name(c), srcdoc_from_setting(c));
        }
        return v;
    case CONFIG_TYPE_ARRAY:
    case CONFIG_TYPE_LIST:
        v = json_array();
        n = config_setting_length(s);
        for (i = 0; v && i < n; i++)
            json_array_append_new(v, srcdoc_from_setting(
                                         config_setting_get_elem(s, (unsigned)i)));
        return v;
    case CONFIG_TYPE_INT:
        return json_integer(config_setting_get_int(s));
    case CONFIG_TYPE_INT64:
        return json_integer((json_int_t)config_setting_get_int64(s));
    case CONFIG_TYPE_FLOAT:
        return json_real(config_setting_get_float(s));
    case CONFIG_TYPE_STRING:
        return json_string(config_setting_get_string(s));
    case CONFIG_TYPE_BOOL:
        return json_boolean(config_setting_get_bool(s));
    default:
        return json_null();
    }
}

json_t *srcdoc_read(const char *path, derr *e)
{
    config_t lc;
    char *dir, *slash;
    json_t *doc;
    FILE *f;

    if (!(f = fopen(path, "r"))) {
        int err = errno;
        derr_set(e, err == ENOENT ? DSRC_E_NOT_FOUND : DSRC_E_PERMISSION, "%s: %s", path,
                 strerror(err));
        return NULL;
    }
    if (!(dir = strdup(path))) {
        fclose(f);
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return NULL;
    }
    slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    config_init(&lc);
    config_set_include_dir(&lc, slash ? dir : ".");
    if (config_read(&lc, f) != CONFIG_TRUE) {
        derr_set(e, DSRC_E_INVALID_CONFIG, "%s:%d: %s",
                 config_error_file(&lc) ? config_error_file(&lc) : path,
                 config_error_line(&lc), config_error_text(&lc));
        config_destroy(&lc);
        fclose(f);
        free(dir);
        return NULL;
    }
    fclose(f);
    doc = srcdoc_from_setting(config_root_setting(&lc));
    config_destroy(&lc);
    free(dir);
    if (!doc)
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
    return doc;
}

/* ------------------------------------------------------------------------ */
/* Merge patch, changes                                                      */

json_t *srcdoc_merge_patch(json_t *target, const json_t *patch)
{
    const char *k;
    json_t *v;

    if (!json_is_object(patch)) {
        json_decref(target);
        return json_deep_copy(patch);
    }
    if (!json_is_object(target)) {
        json_decref(target);
        target = json_object();
        if (!target)
            return NULL;
    }
    json_object_foreach((json_t *)patch, k, v) {
        if (json_is_null(v)) {
            json_object_del(target, k);
        } else {
            json_t *cur = json_object_get(target, k);
            json_t *merged = srcdoc_merge_patch(json_incref(cur), v);
            if (!merged || json_object_set_new(target, k, merged) != 0) {
                json_decref(target);
                return NULL;
            }
        }
    }
    return target;
}

static void srcdoc_diff_members(const json_t *a, const json_t *b, const char *field,
                                json_t *out);

static void srcdoc_diff(const json_t *a, const json_t *b, const char *field, json_t *out)
{
    if (json_is_object(a) && json_is_object(b)) {
        json_t *sub_out = json_array();
        if (!sub_out)
            return;
        srcdoc_diff_members(a, b, field, sub_out);
        /* many changes under one group are named by the group */
        if (*field && json_array_size(sub_out) > SRCDOC_MAX_CHANGED)
            json_array_append_new(out, json_string(field));
        else
            json_array_extend(out, sub_out);
        json_decref(sub_out);
        return;
    }
    if (!json_equal((json_t *)a, (json_t *)b) && (a || b))
        json_array_append_new(out, json_string(field[0] ? field : "(all)"));
}

static void srcdoc_diff_members(const json_t *a, const json_t *b, const char *field,
                                json_t *out)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)a, k, v) {
        char *sub = NULL;
        if (asprintf(&sub, "%s%s%s", field, *field ? "." : "", k) < 0)
            return;
        srcdoc_diff(v, json_object_get(b, k), sub, out);
        free(sub);
    }
    json_object_foreach((json_t *)b, k, v) {
        char *sub = NULL;
        if (json_object_get(a, k))
            continue;
        if (asprintf(&sub, "%s%s%s", field, *field ? "." : "", k) < 0)
            return;
        json_array_append_new(out, json_string(sub));
        free(sub);
    }
}

static int srcdoc_cmp(const void *x, const void *y)
{
    return strcmp(json_string_value(*(json_t *const *)x), json_string_value(*(json_t *const *)y));
}

json_t *srcdoc_changed(const json_t *before, const json_t *after)
{
    json_t *out = json_array(), *none = json_object(), *sorted;
    size_t i, n;
    json_t **v;

    if (!out || !none) {
        json_decref(out);
        json_decref(none);
        return NULL;
    }
    srcdoc_diff(before ? before : none, after ? after : none, "", out);
    json_decref(none);
    n = json_array_size(out);
    if (!(v = calloc(n ? n : 1, sizeof *v)))
        return out;
    for (i = 0; i < n; i++)
        v[i] = json_array_get(out, i);
    qsort(v, n, sizeof *v, srcdoc_cmp);
    sorted = json_array();
    for (i = 0; sorted && i < n; i++)
        json_array_append(sorted, v[i]);
    free(v);
    json_decref(out);
    return sorted;
}

void srcdoc_changed_text(const json_t *changed, char *buf, size_t n)
{
    size_t i, len = 0;

    buf[0] = '\0';
    for (i = 0; i < json_array_size(changed) && len + 1 < n; i++) {
        int w = snprintf(buf + len, n - len, "%s%s", i ? ", " : "fields ",
                         json_string_value(json_array_get(changed, i)));
        if (w < 0)
            break;
        len += (size_t)w;
    }
    if (len >= n && n > 4)
        memcpy(buf + n - 4, "...", 4);
}

/* ------------------------------------------------------------------------ */
/* Names, tags                                                               */

int srcdoc_name_ok(const char *name, const char **why)
{
    const char *p;

    if (!name || !*name) {
        *why = "a source needs a name";
        return 0;
    }
    if (strlen(name) > SRCDOC_MAX_NAME) {
        *why = "a source name is at most 128 characters";
        return 0;
    }
    if (name[0] == '.') {
        *why = "a source name cannot start with '.'";
        return 0;
    }
    for (p = name; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-')) {
            *why = "a source name holds letters, digits, '_', '.' and '-' only";
            return 0;
        }
    return 1;
}

void srcdoc_etag_text(const char *text, size_t len, char out[SRCDOC_ETAG_SIZE])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    size_t i;

    SHA256((const unsigned char *)text, len, md);
    out[0] = '"';
    for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 1 + 2 * i, 3, "%02x", md[i]);
    out[1 + 2 * SHA256_DIGEST_LENGTH] = '"';
    out[2 + 2 * SHA256_DIGEST_LENGTH] = '\0';
}

void srcdoc_etag_of(const char *path, char out[SRCDOC_ETAG_SIZE])
{
    FILE *f = fopen(path, "rb");
    dsrc_buf b = {0};
    char chunk[8192];
    size_t n;

    out[0] = '\0';
    if (!f)
        return;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        dsrc_buf_addn(&b, chunk, n);
    if (!ferror(f) && !b.failed)
        srcdoc_etag_text(b.s ? b.s : "", b.len, out);
    fclose(f);
    dsrc_buf_free(&b);
}
