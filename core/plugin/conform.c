/* SPDX-License-Identifier: Apache-2.0 */
/* conform.c -- see conform.h */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dsrc/plugin_util.h>

#include "output/format.h"
#include "plugin/conform.h"

static const struct {
    const char *name;
    unsigned bit;
} conform_quirks_v[] = {
    {"no_discover", CONF_QUIRK_NO_DISCOVER},   {"no_cursor", CONF_QUIRK_NO_CURSOR},
    {"rows_estimated", CONF_QUIRK_ROWS_ESTIMATED}, {"no_list_rows", CONF_QUIRK_NO_LIST_ROWS},
    {"no_cancel", CONF_QUIRK_NO_CANCEL},       {"cursor_unsorted", CONF_QUIRK_CURSOR_UNSORTED},
    {"no_pk", CONF_QUIRK_NO_PK},               {"no_types", CONF_QUIRK_NO_TYPES},
    {"no_fk_names", CONF_QUIRK_NO_FK_NAMES},
};
#define N_QUIRKS (sizeof conform_quirks_v / sizeof conform_quirks_v[0])

/* The string keys of a quirks file, and where each goes. */
#define CONFORM_KEYS "quirks, item, container, cursor_field, missing_item, bad_option"

const char *conform_quirk_name(unsigned bit)
{
    size_t i;
    for (i = 0; i < N_QUIRKS; i++)
        if (conform_quirks_v[i].bit == bit)
            return conform_quirks_v[i].name;
    return NULL;
}

unsigned conform_quirk_bit(const char *name)
{
    size_t i;
    for (i = 0; name && i < N_QUIRKS; i++)
        if (strcmp(conform_quirks_v[i].name, name) == 0)
            return conform_quirks_v[i].bit;
    return 0;
}

static char **conform_slot(conform_quirks *q, const char *key)
{
    if (strcmp(key, "item") == 0)
        return &q->item;
    if (strcmp(key, "container") == 0)
        return &q->container;
    if (strcmp(key, "cursor_field") == 0)
        return &q->cursor_field;
    if (strcmp(key, "missing_item") == 0)
        return &q->missing_item;
    if (strcmp(key, "bad_option") == 0)
        return &q->bad_option;
    return NULL;
}

/* The quirks array `s` into q->bits. */
static dsrc_status conform_quirk_list(const char *path, config_setting_t *s,
                                      conform_quirks *q, derr *e)
{
    int i, n;

    if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s:%u: quirks must be an array of strings, e.g. [\"no_discover\"]", path,
                        config_setting_source_line(s));
    n = config_setting_length(s);
    for (i = 0; i < n; i++) {
        config_setting_t *el = config_setting_get_elem(s, (unsigned)i);
        const char *v = config_setting_get_string(el);
        unsigned bit = conform_quirk_bit(v);
        size_t k;
        char names[256] = "";

        if (bit) {
            q->bits |= bit;
            continue;
        }
        for (k = 0; k < N_QUIRKS; k++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "",
                     conform_quirks_v[k].name);
        if (!v)
            return derr_set(e, DSRC_E_INVALID_CONFIG, "%s:%u: quirks must hold strings (valid: %s)",
                            path, config_setting_source_line(el), names);
        return derr_set(e, DSRC_E_INVALID_CONFIG, "%s:%u: unknown quirk '%s' (valid: %s)", path,
                        config_setting_source_line(el), v, names);
    }
    return DSRC_OK;
}

dsrc_status conform_quirks_load(const char *path, conform_quirks *q, derr *e)
{
    config_t lc;
    config_setting_t *root;
    FILE *fp;
    dsrc_status st = DSRC_OK;
    int i, n;

    memset(q, 0, sizeof *q);
    if (!(fp = fopen(path, "r")))
        return derr_set(e, errno == ENOENT ? DSRC_E_NOT_FOUND : DSRC_E_PERMISSION,
                        "cannot read the quirks file %s: %s", path, strerror(errno));
    config_init(&lc);
    if (!config_read(&lc, fp)) {
        st = derr_set(e, DSRC_E_INVALID_CONFIG, "%s:%d: %s", path, config_error_line(&lc),
                      config_error_text(&lc));
        goto out;
    }
    root = config_root_setting(&lc);
    n = config_setting_length(root);
    for (i = 0; i < n && st == DSRC_OK; i++) {
        config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *key = config_setting_name(s);
        char **slot = conform_slot(q, key);
        const char *v;

        if (strcmp(key, "quirks") == 0) {
            st = conform_quirk_list(path, s, q, e);
        } else if (!slot) {
            st = derr_set(e, DSRC_E_INVALID_CONFIG, "%s:%u: unknown key '%s' (valid: %s)", path,
                          config_setting_source_line(s), key, CONFORM_KEYS);
        } else if (!(v = config_setting_get_string(s)) || !*v) {
            st = derr_set(e, DSRC_E_INVALID_CONFIG, "%s:%u: %s must be a non-empty string", path,
                          config_setting_source_line(s), key);
        } else if (!(*slot = strdup(v))) {
            st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
        }
    }
    if (st == DSRC_OK && q->bad_option && !strchr(q->bad_option, '='))
        st = derr_set(e, DSRC_E_INVALID_CONFIG,
                      "%s: bad_option must be written NAME=VALUE, e.g. \"port=70000\"", path);
out:
    config_destroy(&lc);
    fclose(fp);
    if (st != DSRC_OK)
        conform_quirks_free(q);
    return st;
}

void conform_quirks_free(conform_quirks *q)
{
    free(q->item);
    free(q->container);
    free(q->cursor_field);
    free(q->missing_item);
    free(q->bad_option);
    memset(q, 0, sizeof *q);
}

char *conform_render(const dsrc_cell *cell, int *oom)
{
    char *s = NULL;
    size_t i;

    switch (cell->type) {
    case DSRC_T_NULL:
        return NULL;
    case DSRC_T_BOOL:
        s = strdup(cell->v.b ? "true" : "false");
        break;
    case DSRC_T_INT64:
        if (asprintf(&s, "%" PRId64, cell->v.i) < 0)
            s = NULL;
        break;
    case DSRC_T_DOUBLE:
        if (asprintf(&s, "%.15g", cell->v.d) < 0)
            s = NULL;
        break;
    case DSRC_T_DOUBLE_TEXT: {
        char t[33];
        size_t n = cell->v.s.ptr && cell->v.s.len < sizeof t ? cell->v.s.len : 0;
        memcpy(t, n ? cell->v.s.ptr : "", n);
        t[n] = '\0';
        if (asprintf(&s, "%.15g", strtod(t, NULL)) < 0)
            s = NULL;
        break;
    }
    case DSRC_T_BYTES:
        s = malloc(cell->v.s.len * 2 + 1);
        if (!s)
            break;
        for (i = 0; i < cell->v.s.len; i++)
            snprintf(s + 2 * i, 3, "%02x", (unsigned char)cell->v.s.ptr[i]);
        s[2 * cell->v.s.len] = '\0';
        break;
    default:
        s = malloc(cell->v.s.len + 1);
        if (!s)
            break;
        if (cell->v.s.len)
            memcpy(s, cell->v.s.ptr, cell->v.s.len);
        s[cell->v.s.len] = '\0';
        break;
    }
    if (!s && oom)
        *oom = 1;
    return s;
}

int conform_double_text_exact(const dsrc_cell *cell)
{
    char t[33], w[32];
    double d;

    if (!dsrc_double_text_valid(cell->v.s.ptr, cell->v.s.len))
        return 0;
    memcpy(t, cell->v.s.ptr, cell->v.s.len);
    t[cell->v.s.len] = '\0';
    if (t[0] == 'N' || t[0] == 'I' || (t[0] == '-' && t[1] == 'I'))
        return 1; /* NaN, Infinity, -Infinity: dsrc_double_text_valid() said so */
    d = strtod(t, NULL);
    return isfinite(d) && format_double_text(d, w) == (int)cell->v.s.len &&
           memcmp(w, t, cell->v.s.len) == 0;
}

int conform_cmp(const char *a, const char *b)
{
    char *ea, *eb;
    double x = strtod(a, &ea), y = strtod(b, &eb);
    if (*a && *b && *ea == '\0' && *eb == '\0')
        return x < y ? -1 : x > y;
    return strcmp(a, b);
}
