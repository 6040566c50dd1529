/* SPDX-License-Identifier: Apache-2.0 */
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
 *
 * Also here: strings and secrets (dsrc_strdup, dsrc_wipe), typed option
 * getters (dsrc_opt, dsrc_opt_int), the cancellation check (dsrc_cancelled), a
 * certificate's end of validity for ping (dsrc_cert_time), the highest cursor value a fetch
 * sent (dsrc_cursor_max_*), the discover request's mode and query count
 * (dsrc_discover_mode_of, dsrc_discover_count; since 1.1), foreign keys
 * (dsrc_fk_*; since 1.1) and the entry point's boilerplate
 * (DSRC_PLUGIN_INIT, DSRC_DRIVER_CALLS; underneath them dsrc_plugin_check and
 * dsrc_driver_fill).
 */
#ifndef DSRC_PLUGIN_UTIL_H
#define DSRC_PLUGIN_UTIL_H

#include <dsrc/plugin.h>

#include <errno.h>
#include <string.h>

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

/* ------------------------------------------------------------------------ */
/* Strings and secrets                                                       */

/** A malloc'd copy of `s`; NULL when `s` is NULL or out of memory. */
static inline char *dsrc_strdup(const char *s)
{
    size_t n;
    char *d;

    if (!s)
        return NULL;
    n = strlen(s) + 1;
    d = (char *)malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/** Zero p[0..n) in a way the compiler cannot drop as a dead store (use it
 *  on passwords, keys and tokens before freeing them).  `p` may be NULL
 *  when `n` is 0. */
static inline void dsrc_wipe(void *p, size_t n)
{
    volatile unsigned char *v = (volatile unsigned char *)p;

    while (n--)
        *v++ = 0;
}

/* ------------------------------------------------------------------------ */
/* Options                                                                   */

/** The value of the option `key` among the ones open() received, or NULL
 *  when it is absent or empty. */
static inline const char *dsrc_opt(const dsrc_open_params *p, const char *key)
{
    const char *v = dsrc_kv_get(p->options, p->n_options, key);

    return v && *v ? v : NULL;
}

/** The option `key` as a whole decimal number in [min, max] in *out
 *  (`dflt` when the option is absent or empty).  Returns 0, or -1 when the
 *  value is not a whole decimal number or is out of range (*out is left
 *  alone): the caller names the option in its error. */
static inline int dsrc_opt_int(const dsrc_open_params *p, const char *key, int64_t dflt,
                               int64_t min, int64_t max, int64_t *out)
{
    const char *v = dsrc_opt(p, key);
    char *end;
    long long n;

    if (!v) {
        *out = dflt;
        return 0;
    }
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max)
        return -1;
    *out = (int64_t)n;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Certificates                                                              */

/** An end of validity in seconds since the epoch as
 *  dsrc_ping_info.server_cert_not_after holds it (since 1.4): 0 for 0 or
 *  less (unknown) and for a time past what 32 bits reach (2106). */
static inline uint32_t dsrc_cert_time(int64_t not_after)
{
    return not_after > 0 && not_after <= (int64_t)UINT32_MAX ? (uint32_t)not_after : 0;
}

/* ------------------------------------------------------------------------ */
/* Cancellation                                                              */

/** Nonzero when the call running under `ctx` should stop (the host's
 *  is_cancelled()).  0 when `host`, its is_cancelled or `ctx` is NULL.
 *  Cheap: poll it between rows or batches. */
static inline int dsrc_cancelled(const dsrc_host *host, const dsrc_ctx *ctx)
{
    return host && DSRC_HAS_MEMBER(host, dsrc_host, is_cancelled) && host->is_cancelled &&
           ctx && host->is_cancelled(ctx);
}

/** The descriptor that becomes readable when the call running under `ctx`
 *  is cancelled (the host's cancel_fd(), since 1.1), to add to a poll()
 *  set; -1 when the host is 1.0 or has none for this call. */
static inline int dsrc_cancel_fd(const dsrc_host *host, const dsrc_ctx *ctx)
{
    if (!host || !ctx || !DSRC_HAS_MEMBER(host, dsrc_host, cancel_fd) || !host->cancel_fd)
        return -1;
    return host->cancel_fd(ctx);
}

/** Have the host sign `req` with AWS Signature Version 4 (its aws_sign(),
 *  since 1.2; see <dsrc/plugin.h>).  An older host, or none, is
 *  DSRC_E_UNSUPPORTED with a message saying so. */
static inline dsrc_status dsrc_aws_sign(const dsrc_host *host, const dsrc_ctx *ctx,
                                        const dsrc_aws_request *req, dsrc_error *err)
{
    if (!host || !DSRC_HAS_MEMBER(host, dsrc_host, aws_sign) || !host->aws_sign)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "this host (plugin ABI %u.%u) does not sign AWS requests "
                              "(ABI 1.2 or later does)",
                              host ? (unsigned)(host->abi_version / 10000) : 0u,
                              host ? (unsigned)(host->abi_version % 10000) : 0u);
    return host->aws_sign(ctx, req, err);
}

/** An access token to `resource` from the host (its bearer_token(), since
 *  1.3; see <dsrc/plugin.h>) into buf, its end of life into *expires (may
 *  be NULL).  An older host, or none, is DSRC_E_UNSUPPORTED with a message
 *  saying so. */
static inline dsrc_status dsrc_bearer_token(const dsrc_host *host, const dsrc_ctx *ctx,
                                            const char *resource, char *buf, size_t size,
                                            int64_t *expires, dsrc_error *err)
{
    if (!host || !DSRC_HAS_MEMBER(host, dsrc_host, bearer_token) || !host->bearer_token)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "this host (plugin ABI %u.%u) hands out no bearer tokens "
                              "(ABI 1.3 or later does)",
                              host ? (unsigned)(host->abi_version / 10000) : 0u,
                              host ? (unsigned)(host->abi_version % 10000) : 0u);
    return host->bearer_token(ctx, resource, buf, size, expires, err);
}

/* ------------------------------------------------------------------------ */
/* The highest cursor value sent                                             */

/**
 * Tracks the cursor value of the last row a fetch sent (rows arrive in
 * cursor order, so it is the highest) and whether every value could serve
 * as a cursor.  dsrc_cursor_max_init() it, write each row's value into
 * `value` and dsrc_cursor_max_note() the outcome (or hand a string to
 * dsrc_cursor_max_offer()), skip rows whose value is NULL, then
 * dsrc_cursor_max_report() once the fetch succeeded.  About 1 KiB: keep it
 * on the heap or the stack of the fetch only.
 */
typedef struct dsrc_cursor_max {
    const char *field;            /* the cursor column/field; NULL: none     */
    const char *noun;             /* "column" or "field", for the warning    */
    const char *why;              /* what cannot serve, for the warning      */
    int have;                     /* `value` holds the last value sent       */
    int bad;                      /* a value could not serve as a cursor     */
    char value[DSRC_CURSOR_MAX];  /* the last value sent, NUL-terminated     */
} dsrc_cursor_max;

/** Start tracking the cursor `field` (NULL: the fetch has no cursor, and
 *  report does nothing).  `noun` names what a field is in the backend
 *  ("column", "field"); `why`, when not NULL, what cannot serve besides a
 *  value too long ("binary or"), for the warning. */
static inline void dsrc_cursor_max_init(dsrc_cursor_max *t, const char *field, const char *noun,
                                        const char *why)
{
    t->field = field;
    t->noun = noun;
    t->why = why;
    t->have = 0;
    t->bad = 0;
    t->value[0] = '\0';
}

/** Record one sent row's value, just written into t->value: `ok` nonzero
 *  when it could be written (it fits and is text), 0 when it cannot serve
 *  as a cursor. */
static inline void dsrc_cursor_max_note(dsrc_cursor_max *t, int ok)
{
    if (ok)
        t->have = 1;
    else
        t->bad = 1;
}

/** Record one sent row's value `s[0..n)`: copied when it fits in
 *  DSRC_CURSOR_MAX - 1 bytes and holds no NUL, else noted as unusable. */
static inline void dsrc_cursor_max_offer(dsrc_cursor_max *t, const char *s, size_t n)
{
    int ok = n < DSRC_CURSOR_MAX && !memchr(s, '\0', n);

    if (ok) {
        memcpy(t->value, s, n);
        t->value[n] = '\0';
    }
    dsrc_cursor_max_note(t, ok);
}

/**
 * After a successful fetch: when a cursor was tracked, every value could
 * serve and at least one row had one, set result->has_cursor and
 * result->cursor_max; when some value could not serve, log one warning
 * through `host` ("cursor column 'f' holds a value that cannot serve as a
 * cursor (binary or longer than 1023 bytes); no cursor reported", without
 * the parenthesis when `why` is NULL) and report none.  `result` may be
 * NULL.
 */
static inline void dsrc_cursor_max_report(const dsrc_cursor_max *t, const dsrc_host *host,
                                          const dsrc_ctx *ctx, dsrc_fetch_result *result)
{
    if (!t->field || !result)
        return;
    if (t->have && !t->bad) {
        result->has_cursor = 1;
        memcpy(result->cursor_max, t->value, sizeof result->cursor_max);
    } else if (t->bad && host && host->log && t->why) {
        host->log(ctx, DSRC_LOG_WARNING,
                  "cursor %s '%s' holds a value that cannot serve as a cursor"
                  " (%s longer than %d bytes); no cursor reported",
                  t->noun, t->field, t->why, DSRC_CURSOR_MAX - 1);
    } else if (t->bad && host && host->log) {
        host->log(ctx, DSRC_LOG_WARNING,
                  "cursor %s '%s' holds a value that cannot serve as a cursor;"
                  " no cursor reported", t->noun, t->field);
    }
}

/* ------------------------------------------------------------------------ */
/* Cell types                                                                */

/** The name of a cell or column type as manifests and messages write it
 *  ("int64", "text", ...); "unknown" for a value no version defines. */
static inline const char *dsrc_type_name(dsrc_type t)
{
    switch (t) {
    case DSRC_T_NULL: return "null";
    case DSRC_T_BOOL: return "bool";
    case DSRC_T_INT64: return "int64";
    case DSRC_T_DOUBLE: return "double";
    case DSRC_T_TEXT: return "text";
    case DSRC_T_BYTES: return "bytes";
    case DSRC_T_TIMESTAMP: return "timestamp";
    case DSRC_T_JSON: return "json";
    case DSRC_T_DOUBLE_TEXT: return "double";
    }
    return "unknown";
}

/* How many of the 8 bytes at p are ASCII digits before the first that is
 * not (8: all are), eight at a time. */
static inline unsigned dsrc_digit_run8_(const unsigned char *p)
{
    uint64_t x = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
                 (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
                 (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
    /* a byte is a digit when its high nibble is 3 and its low one + 6
     * stays under 16: its byte of `nd` is then 0 */
    uint64_t nd = ((x & 0xF0F0F0F0F0F0F0F0ull) ^ 0x3030303030303030ull) |
                  (((x & 0x0F0F0F0F0F0F0F0Full) + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull);
    unsigned k = 0;

    if (!nd)
        return 8;
#if defined(__GNUC__) || defined(__clang__)
    k = (unsigned)__builtin_ctzll(nd) / 8;
#else
    while (!(nd & 0xFF)) {
        nd >>= 8;
        k++;
    }
#endif
    return k;
}

/** 1 when `s` (`n` bytes) is a DSRC_T_DOUBLE_TEXT cell's text: NaN,
 *  Infinity, -Infinity, or a number as JSON writes one (an optional '-',
 *  an integer part without leading zeros, optional fraction and exponent),
 *  of at most 32 bytes.  The host checks every such cell with it. */
static inline int dsrc_double_text_valid(const char *s, size_t n)
{
    unsigned char b[48]; /* the text, then zeros: a run of digits ends there */
    size_t i = 0, at;
    unsigned k;

    if (!s || n - 1 >= 32) /* n == 0 wraps */
        return 0;
    memcpy(b, s, n);
    memset(b + n, 0, 16);
    if (b[0] == '-')
        i = 1;
    if (b[i] == 'N' || b[i] == 'I')
        return (n == 3 && memcmp(s, "NaN", 3) == 0) || (n == 8 && memcmp(s, "Infinity", 8) == 0) ||
               (n == 9 && memcmp(s, "-Infinity", 9) == 0);
    /* the integer part: 0, or a digit 1-9 and more digits */
    if (b[i] == '0') {
        i++;
    } else {
        if ((unsigned)(b[i] - '1') > 8u)
            return 0;
        i++;
        do
            i += k = dsrc_digit_run8_(b + i);
        while (k == 8);
    }
    if (b[i] == '.') {
        at = ++i;
        do
            i += k = dsrc_digit_run8_(b + i);
        while (k == 8);
        if (i == at)
            return 0;
    }
    if (b[i] == 'e' || b[i] == 'E') {
        if (b[++i] == '+' || b[i] == '-')
            i++;
        at = i;
        do
            i += k = dsrc_digit_run8_(b + i);
        while (k == 8);
        if (i == at)
            return 0;
    }
    return i == n;
}

/** The host's rule (dsrc-plugin(3), "Cell types"): 1 when a non-NULL cell
 *  of type `cell` may stand in a column declared `column`: its own type,
 *  an int64 or a double's text (since 1.5) in a double column, anything in
 *  a text or json column.  NULL cells are a matter of the column's
 *  nullable; unknown types never fit, and DSRC_T_DOUBLE_TEXT is no
 *  column's type. */
static inline int dsrc_cell_fits(dsrc_type column, dsrc_type cell)
{
    if (cell <= DSRC_T_NULL || cell > DSRC_T_DOUBLE_TEXT || column <= DSRC_T_NULL ||
        column > DSRC_T_JSON)
        return 0;
    return cell == column || column == DSRC_T_TEXT || column == DSRC_T_JSON ||
           (column == DSRC_T_DOUBLE && (cell == DSRC_T_INT64 || cell == DSRC_T_DOUBLE_TEXT));
}

/* ------------------------------------------------------------------------ */
/* Fetch requests                                                            */

/**
 * The checks a fetch() that sends rows only starts with: a request and a
 * row sink with schema() and row(); not DSRC_FETCH_RAW (DSRC_E_UNSUPPORTED,
 * "<what> have no raw form: fetch rows or CSV"); columns given when
 * n_columns says so.  Returns DSRC_OK, or the error stored in `err`.
 */
static inline dsrc_status dsrc_fetch_check_rows(const dsrc_fetch_req *req,
                                                const dsrc_row_sink *rows, const char *what,
                                                dsrc_error *err)
{
    if (!req || !rows || !rows->row || !rows->schema)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch: no request or no row receiver");
    if (req->mode == DSRC_FETCH_RAW)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "%s have no raw form: fetch rows or CSV", what);
    if (req->n_columns && !req->columns)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch: %zu columns announced but none given", req->n_columns);
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* Discover requests (since 1.1)                                             */

/** The mode hint of `req`: DSRC_DISCOVER_BALANCED when `req` is NULL,
 *  comes from a 1.0 host or holds a value this header does not know. */
static inline dsrc_discover_mode dsrc_discover_mode_of(const dsrc_discover_req *req)
{
    if (!req || !DSRC_HAS_MEMBER(req, dsrc_discover_req, mode))
        return DSRC_DISCOVER_BALANCED;
    switch (req->mode) {
    case DSRC_DISCOVER_CONSERVATIVE:
    case DSRC_DISCOVER_AGGRESSIVE:
        return req->mode;
    default:
        return DSRC_DISCOVER_BALANCED;
    }
}

/** Count `n` more queries (round-trips) in the result of `req`, when the
 *  host asked for one (a 1.1 host with a result; nothing otherwise). */
static inline void dsrc_discover_count(const dsrc_discover_req *req, int64_t n)
{
    dsrc_discover_result *r;

    if (!req || !DSRC_HAS_MEMBER(req, dsrc_discover_req, result) || !(r = req->result) ||
        !DSRC_HAS_MEMBER(r, dsrc_discover_result, queries))
        return;
    r->queries = (r->queries < 0 ? 0 : r->queries) + n;
}

/* ------------------------------------------------------------------------ */
/* Foreign keys (since 1.1)                                                  */

/** The DSRC_FK_* word of a referential action as a backend names it:
 *  "cascade", "SET NULL", "set_null", "NO ACTION"... (any case, ' ' or
 *  '_' between words), or PostgreSQL's one-letter codes (a, r, c, n, d).
 *  NULL when `s` is NULL or names no action. */
static inline const char *dsrc_fk_action(const char *s)
{
    static const char *const words[] = {DSRC_FK_NO_ACTION, DSRC_FK_RESTRICT, DSRC_FK_CASCADE,
                                        DSRC_FK_SET_NULL, DSRC_FK_SET_DEFAULT};
    static const char codes[] = "arcnd";
    size_t i, k;

    if (!s)
        return NULL;
    if (s[0] && !s[1]) {
        for (i = 0; codes[i]; i++)
            if (codes[i] == s[0])
                return words[i];
        return NULL;
    }
    for (i = 0; i < sizeof words / sizeof words[0]; i++) {
        for (k = 0; words[i][k] && s[k]; k++) {
            char c = s[k] >= 'a' && s[k] <= 'z' ? (char)(s[k] - 'a' + 'A') : s[k];
            if (c == '_')
                c = ' ';
            if (c != words[i][k])
                break;
        }
        if (!words[i][k] && !s[k])
            return words[i];
    }
    return NULL;
}

/**
 * Foreign keys being collected, for dsrc_metadata's foreign_keys: from
 * one row per (key, column) of a catalog query, in key order.  Zero-
 * initialise it (`dsrc_fk_list l = {0};`), start each key with
 * dsrc_fk_begin() and add its columns with dsrc_fk_column().  For a
 * discover, give each key its owner (the item it belongs to), then
 * dsrc_fk_sort() once and dsrc_fk_find() each item's keys.  After an
 * allocation failure `failed` is set and further calls do nothing: check
 * it once at the end.  Free with dsrc_fk_free().
 */
typedef struct dsrc_fk_list {
    dsrc_foreign_key *v;   /* the keys; each one's strings and arrays are
                              its own (malloc'd)                           */
    char **owner;          /* owner[i]: the item v[i] belongs to, or NULL  */
    size_t n, cap;
    int failed;
} dsrc_fk_list;

/** Start a key of `owner` (may be NULL) named `name` (may be NULL) that
 *  references the item whose path components are `ref_parts` (n_ref of
 *  them, joined as dsrc_path_join() does); `on_update` and `on_delete` as
 *  the backend names them (see dsrc_fk_action()).  0, or -1 when out of
 *  memory. */
static inline int dsrc_fk_begin(dsrc_fk_list *l, const char *owner, const char *name,
                                const char *const *ref_parts, size_t n_ref,
                                const char *on_update, const char *on_delete)
{
    dsrc_foreign_key *k;

    if (l->failed)
        return -1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        dsrc_foreign_key *v = (dsrc_foreign_key *)realloc(l->v, cap * sizeof *v);
        char **o = v ? (char **)realloc(l->owner, cap * sizeof *o) : NULL;
        if (v)
            l->v = v;
        if (!o) {
            l->failed = 1;
            return -1;
        }
        l->owner = o;
        l->cap = cap;
    }
    k = &l->v[l->n];
    memset(k, 0, sizeof *k);
    l->owner[l->n] = dsrc_strdup(owner);
    k->name = dsrc_strdup(name);
    k->ref_item = dsrc_path_join(ref_parts, n_ref);
    k->on_update = dsrc_fk_action(on_update);
    k->on_delete = dsrc_fk_action(on_delete);
    l->n++;
    if ((owner && !l->owner[l->n - 1]) || (name && !k->name) || !k->ref_item)
        l->failed = 1;
    return l->failed ? -1 : 0;
}

/** Add the pair (`column` references `ref_column`) to the key begun last;
 *  a NULL name (the backend does not know it, e.g. the parent table is
 *  missing) is taken as "".  0, or -1 when out of memory or no key was
 *  begun. */
static inline int dsrc_fk_column(dsrc_fk_list *l, const char *column, const char *ref_column)
{
    dsrc_foreign_key *k;
    const char **c, **r;
    size_t n;

    if (l->failed || !l->n)
        return l->failed = 1, -1;
    k = &l->v[l->n - 1];
    n = k->n_columns;
    c = (const char **)realloc((void *)k->columns, (n + 1) * sizeof *c);
    if (c)
        k->columns = c;
    r = c ? (const char **)realloc((void *)k->ref_columns, (n + 1) * sizeof *r) : NULL;
    if (!r)
        return l->failed = 1, -1;
    k->ref_columns = r;
    c[n] = dsrc_strdup(column ? column : "");
    r[n] = dsrc_strdup(ref_column ? ref_column : "");
    k->n_columns = n + 1;
    if (!c[n] || !r[n])
        return l->failed = 1, -1;
    return 0;
}

/* qsort's view of one key while sorting: its owner and first place. */
typedef struct dsrc_fk_sort_ {
    const char *owner;
    size_t at;
} dsrc_fk_sort_;

static inline int dsrc_fk_cmp_(const void *a, const void *b)
{
    const dsrc_fk_sort_ *x = (const dsrc_fk_sort_ *)a, *y = (const dsrc_fk_sort_ *)b;
    int c = strcmp(x->owner ? x->owner : "", y->owner ? y->owner : "");

    return c ? c : (x->at > y->at) - (x->at < y->at);
}

/** Order the keys by owner (byte order), keeping the order in which each
 *  owner's keys were begun.  -1 when out of memory (`failed` is set). */
static inline int dsrc_fk_sort(dsrc_fk_list *l)
{
    dsrc_fk_sort_ *o;
    dsrc_foreign_key *v;
    char **own;
    size_t i;

    if (l->failed || l->n < 2)
        return l->failed ? -1 : 0;
    o = (dsrc_fk_sort_ *)malloc(l->n * sizeof *o);
    v = (dsrc_foreign_key *)malloc(l->cap * sizeof *v);
    own = (char **)malloc(l->cap * sizeof *own);
    if (!o || !v || !own) {
        free(o);
        free(v);
        free(own);
        return l->failed = 1, -1;
    }
    for (i = 0; i < l->n; i++) {
        o[i].owner = l->owner[i];
        o[i].at = i;
    }
    qsort(o, l->n, sizeof *o, dsrc_fk_cmp_);
    for (i = 0; i < l->n; i++) {
        v[i] = l->v[o[i].at];
        own[i] = l->owner[o[i].at];
    }
    free(o);
    free(l->v);
    free(l->owner);
    l->v = v;
    l->owner = own;
    return 0;
}

/** The keys of `owner` after dsrc_fk_sort(): the first one, and their
 *  number in *n (NULL and 0 when it has none). */
static inline const dsrc_foreign_key *dsrc_fk_find(const dsrc_fk_list *l, const char *owner,
                                                   size_t *n)
{
    size_t lo = 0, hi = l->n, end;

    *n = 0;
    if (l->failed || !owner)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(l->owner[mid] ? l->owner[mid] : "", owner) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (end = lo; end < l->n && l->owner[end] && strcmp(l->owner[end], owner) == 0; end++)
        ;
    *n = end - lo;
    return *n ? &l->v[lo] : NULL;
}

/** Free every key and empty `l` (it may be used again). */
static inline void dsrc_fk_free(dsrc_fk_list *l)
{
    size_t i, j;

    for (i = 0; i < l->n; i++) {
        dsrc_foreign_key *k = &l->v[i];
        for (j = 0; j < k->n_columns; j++) {
            free((void *)k->columns[j]);
            free((void *)k->ref_columns[j]);
        }
        free((void *)k->columns);
        free((void *)k->ref_columns);
        free((void *)k->name);
        free((void *)k->ref_item);
        free(l->owner[i]);
    }
    free(l->v);
    free(l->owner);
    memset(l, 0, sizeof *l);
}

/* ------------------------------------------------------------------------ */
/* The entry point                                                           */

/**
 * The oldest host ABI a plugin accepts, MAJOR * 10000 + MINOR: by default
 * 1.0, since a plugin that checks DSRC_HAS_MEMBER() before using what a
 * later minor added runs on every 1.x host.  A plugin that cannot work
 * without a later member (say it needs the host's cancel_fd) defines it
 * before including this header:
 *
 *     #define DSRC_PLUGIN_MIN_ABI DSRC_ABI_VERSION_1_1
 *     #include <dsrc/plugin_util.h>
 *
 * and dsrc_plugin_check() refuses an older host, naming both versions.
 */
#ifndef DSRC_PLUGIN_MIN_ABI
#define DSRC_PLUGIN_MIN_ABI DSRC_ABI_VERSION_1_0
#endif

/**
 * The checks every dsrc_plugin_init() starts with: the host speaks ABI
 * major DSRC_ABI_MAJOR, at least DSRC_PLUGIN_MIN_ABI, and passed a driver
 * struct.  Returns DSRC_OK, or DSRC_E_UNSUPPORTED ("<plugin> plugin
 * implements ABI 1.0, host has 2.0"; "plugin '<plugin>' is built for ABI
 * 1.1; this host has ABI 1.0") or DSRC_E_INTERNAL ("no driver struct")
 * stored in `err`: return it.
 */
static inline dsrc_status dsrc_plugin_check(const char *plugin, uint32_t host_abi_version,
                                            const dsrc_driver *drv, dsrc_error *err)
{
    if (host_abi_version / 10000 != DSRC_ABI_MAJOR)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "%s plugin implements ABI %d.%d, host has %u.%u", plugin,
                              DSRC_ABI_MAJOR, DSRC_ABI_MINOR, host_abi_version / 10000,
                              host_abi_version % 10000);
    if (host_abi_version < (uint32_t)(DSRC_PLUGIN_MIN_ABI))
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "plugin '%s' is built for ABI %u.%u; this host has ABI %u.%u"
                              " (upgrade dsrc)",
                              plugin, (unsigned)(DSRC_PLUGIN_MIN_ABI) / 10000,
                              (unsigned)(DSRC_PLUGIN_MIN_ABI) % 10000,
                              host_abi_version / 10000, host_abi_version % 10000);
    if (!drv)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "no driver struct");
    return DSRC_OK;
}

/**
 * Copy the plugin's driver `src` (a `static const dsrc_driver` written
 * with designated initialisers; its struct_size is ignored) into the
 * host's `dst`, whose struct_size the host set: every member up to
 * dst->struct_size is copied, none past it.  A host with a smaller
 * (older) struct gets the members it knows; a host with a larger (newer)
 * one keeps the zeroes it put past sizeof(dsrc_driver).  dst->struct_size
 * is left as it is.  The same contract as one DSRC_DRIVER_SET() per member.
 */
static inline void dsrc_driver_fill(dsrc_driver *dst, const dsrc_driver *src)
{
    size_t head = sizeof dst->struct_size;
    size_t n = dst->struct_size < sizeof *src ? dst->struct_size : sizeof *src;

    if (n > head)
        memcpy((char *)dst + head, (const char *)src + head, n - head);
}

/**
 * The five calls every driver has, named after the plugin's prefix:
 * `DSRC_DRIVER_CALLS(cd)` stands for `.open = cd_open, .close = cd_close,
 * .ping = cd_ping, .list = cd_list, .fetch = cd_fetch`, for use inside the
 * designated initialiser of the plugin's `static const dsrc_driver`.  The
 * optional calls (describe, discover, cancel, storage, unload) are named
 * one by one.
 */
#define DSRC_DRIVER_CALLS(p)                                                          \
    .open = p##_open, .close = p##_close, .ping = p##_ping, .list = p##_list,         \
    .fetch = p##_fetch

/**
 * The body of dsrc_plugin_init(), see DSRC_PLUGIN_INIT(): check the ABI and
 * the driver struct, keep the host's table in `*host_out` (when not NULL),
 * run `setup` (when not NULL; a failure is returned as it is) and copy
 * `mine` into the host's struct.
 */
static inline dsrc_status dsrc_plugin_start(uint32_t host_abi_version, const dsrc_host *host,
                                            dsrc_driver *drv, dsrc_error *err,
                                            const dsrc_driver *mine,
                                            const dsrc_host **host_out,
                                            dsrc_status (*setup)(dsrc_error *err))
{
    dsrc_status s = dsrc_plugin_check(mine->name, host_abi_version, drv, err);

    if (s != DSRC_OK)
        return s;
    if (host_out)
        *host_out = host;
    if (setup && (s = setup(err)) != DSRC_OK)
        return s;
    dsrc_driver_fill(drv, mine);
    return DSRC_OK;
}

/**
 * Define the plugin's entry point in one line:
 *
 *     static const dsrc_driver cd_driver = { ... };
 *     DSRC_PLUGIN_INIT(cd_driver, &cd_host, NULL)
 *
 * DRIVER is the plugin's `static const dsrc_driver`; HOST_OUT a
 * `const dsrc_host **` where the host's table is kept (or NULL); SETUP a
 * `dsrc_status setup(dsrc_error *err)` run once before the driver is
 * handed over, e.g. to initialise a client library (or NULL).
 */
#define DSRC_PLUGIN_INIT(DRIVER, HOST_OUT, SETUP)                                      \
    DSRC_EXPORT dsrc_status dsrc_plugin_init(uint32_t host_abi_version,                \
                                             const dsrc_host *host, dsrc_driver *drv,  \
                                             dsrc_error *err)                          \
    {                                                                                  \
        return dsrc_plugin_start(host_abi_version, host, drv, err, &(DRIVER),         \
                                 (HOST_OUT), (SETUP));                                 \
    }

#ifdef __cplusplus
}
#endif

#endif /* DSRC_PLUGIN_UTIL_H */
