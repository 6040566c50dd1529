/*
 * <dsrc/plugin_util.h> -- header-only helpers for plugins.
 *
 * Nothing here crosses the ABI: the host never passes or receives these
 * types, and a plugin may copy or ignore them.  They exist so that every
 * plugin does the same thing where users would notice a difference.
 *
 * Item paths.  An item path is its components joined by '/', e.g.
 * "public/orders".  A name that holds '/' or '%' is written escaped:
 * '%' as "%25" and '/' as "%2F" (nothing else is escaped when a path is
 * printed).  When a path is read, '%' followed by two hexadecimal digits
 * stands for that byte (either case), so "we\"ird%2Fschema/t" names the
 * table t of the schema we"ird/schema; any other '%' ("%zz", a '%' at the
 * end, "%00") is an error.  A plugin prints every path it hands to the host
 * (list, describe, discover) with dsrc_path_add() and reads every path it
 * is given (list, describe, discover, fetch) with dsrc_path_split(), so
 * that each item it prints can be described and fetched as printed.
 * A backend whose names are themselves hierarchical (a blob's "dir/x.csv")
 * keeps their '/' in the last component: dsrc_path_add_tail() escapes its
 * '%' only, and dsrc_path_split() with `max` keeps it whole.
 */
#ifndef DSRC_PLUGIN_UTIL_H
#define DSRC_PLUGIN_UTIL_H

#include <dsrc/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Writing item paths                                                        */

/* Append s[0..n) to `b`, each byte in `esc` written as %XX. */
static inline void dsrc_path_escape_(dsrc_buf *b, const char *s, size_t n, const char *esc)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, start = 0;
    char e[3];

    for (i = 0; i < n; i++) {
        if (!strchr(esc, s[i]) || s[i] == '\0')
            continue;
        dsrc_buf_addn(b, s + start, i - start);
        e[0] = '%';
        e[1] = hex[(unsigned char)s[i] >> 4];
        e[2] = hex[(unsigned char)s[i] & 15];
        dsrc_buf_addn(b, e, 3);
        start = i + 1;
    }
    dsrc_buf_addn(b, s + start, n - start);
}

/** Append one path component, s[0..n), escaped: '%' -> "%25", '/' -> "%2F".
 *  Add the '/' between components yourself. */
static inline void dsrc_path_addn(dsrc_buf *b, const char *s, size_t n)
{
    dsrc_path_escape_(b, s, n, "%/");
}

/** dsrc_path_addn() of a NUL-terminated component. */
static inline void dsrc_path_add(dsrc_buf *b, const char *s)
{
    dsrc_path_addn(b, s, strlen(s));
}

/** Append the last component of a path whose '/' are the backend's own
 *  hierarchy (a blob or file name): only '%' is escaped. */
static inline void dsrc_path_add_tail(dsrc_buf *b, const char *s)
{
    dsrc_path_escape_(b, s, strlen(s), "%");
}

/** The path of `n` components, each escaped, joined by '/': malloc'd, or
 *  NULL when out of memory.  A NULL component is skipped. */
static inline char *dsrc_path_join(const char *const *parts, size_t n)
{
    dsrc_buf b = {0};
    size_t i;
    int first = 1;

    dsrc_buf_add(&b, "");
    for (i = 0; i < n; i++) {
        if (!parts[i])
            continue;
        if (!first)
            dsrc_buf_add(&b, "/");
        dsrc_path_add(&b, parts[i]);
        first = 0;
    }
    if (b.failed) {
        dsrc_buf_free(&b);
        return NULL;
    }
    return b.s;
}

/** dsrc_path_join() of two components (`b` may be NULL: `a` alone). */
static inline char *dsrc_path_join2(const char *a, const char *b)
{
    const char *parts[2];
    parts[0] = a;
    parts[1] = b;
    return dsrc_path_join(parts, 2);
}

/* ------------------------------------------------------------------------ */
/* Reading item paths                                                        */

/** A path split into decoded components.  `part` holds `n` NUL-terminated
 *  strings followed by NULL; one allocation, freed by dsrc_path_free(). */
typedef struct dsrc_path {
    size_t n;
    char **part;
} dsrc_path;

/** The value of one hexadecimal digit (either case), or -1. */
static inline int dsrc_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/**
 * Split `path` at each '/' into components and decode their escapes.  With
 * `max` > 0 there are at most `max` components: the last one keeps the rest
 * of the path, '/' included (a blob name).  Empty components are kept ("a/"
 * gives "a" and "", "/a" gives "" and "a"); NULL or "" gives none.  A
 * decoded '/' never separates components.
 * Returns DSRC_OK; DSRC_E_INVALID_ARGUMENT for a '%' that is not followed by
 * two hexadecimal digits, or that stands for the byte 0 (the message names
 * the path and the bad escape); DSRC_E_INTERNAL when out of memory.  On
 * error `out` holds no component and needs no dsrc_path_free().
 */
static inline dsrc_status dsrc_path_split(const char *path, size_t max, dsrc_path *out,
                                          dsrc_error *err)
{
    size_t n = 0, len, i, k;
    const char *p;
    char *d;

    out->n = 0;
    out->part = NULL;
    if (!path || !*path)
        path = "";
    len = strlen(path);
    if (len) {
        n = 1;
        for (p = path; *p && (max == 0 || n < max); p++)
            if (*p == '/')
                n++;
    }
    out->part = (char **)malloc((n + 1) * sizeof(char *) + len + n + 1);
    if (!out->part)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    d = (char *)(out->part + n + 1);
    p = path;
    for (k = 0; k < n; k++) {
        out->part[k] = d;
        for (i = 0; p[i] && (p[i] != '/' || k + 1 == n); i++) {
            int hi, lo;
            if (p[i] != '%') {
                *d++ = p[i];
                continue;
            }
            hi = p[i + 1] ? dsrc_hexval(p[i + 1]) : -1;
            lo = hi >= 0 && p[i + 2] ? dsrc_hexval(p[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0)) {
                int shown = p[i + 1] == '\0' ? 1 : p[i + 2] == '\0' ? 2 : 3;
                free(out->part);
                out->part = NULL;
                return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                      "item path '%s': '%.*s' is not an escape (in a"
                                      " name, write '%%' as %%25 and '/' as %%2F)",
                                      path, shown, p + i);
            }
            *d++ = (char)(hi * 16 + lo);
            i += 2;
        }
        *d++ = '\0';
        p += i;
        if (*p == '/')
            p++;
    }
    out->part[n] = NULL;
    out->n = n;
    return DSRC_OK;
}

/** Free what dsrc_path_split() allocated (a zeroed dsrc_path is fine). */
static inline void dsrc_path_free(dsrc_path *p)
{
    free(p->part);
    p->part = NULL;
    p->n = 0;
}

/**
 * The one container (schema, database) a listing path names: "name" or
 * "name/", decoded, in *name (malloc'd; the caller frees it).  *name is
 * NULL when the path names more than that ("schema/table") or nothing.
 * Returns DSRC_OK, or the error of dsrc_path_split().
 */
static inline dsrc_status dsrc_path_container(const char *path, char **name, dsrc_error *err)
{
    dsrc_path sp;
    dsrc_status s = dsrc_path_split(path, 2, &sp, err);

    *name = NULL;
    if (s != DSRC_OK)
        return s;
    if (sp.n == 1 || (sp.n == 2 && sp.part[1][0] == '\0')) {
        size_t n = strlen(sp.part[0]) + 1;
        if ((*name = (char *)malloc(n)) != NULL)
            memcpy(*name, sp.part[0], n);
        else
            s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    dsrc_path_free(&sp);
    return s;
}

#ifdef __cplusplus
}
#endif

#endif /* DSRC_PLUGIN_UTIL_H */
