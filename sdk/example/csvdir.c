/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csvdir.c -- an example dsrc plugin: a directory of CSV files as a source.
 *
 * This is a complete third-party plugin, written only against
 * <dsrc/plugin.h>, <dsrc/plugin_util.h> and the C library.  Copy it, rename it and replace the
 * CSV parts with your backend's protocol (see README.md).
 *
 * Options (the source's `connection` group):
 *   dir        the directory holding the *.csv files (required)
 *   delimiter  the field separator, one character (default ",")
 *   header     whether the first line names the columns (default true;
 *              without it columns are named column1, column2, ...)
 *
 * Items are the *.csv files directly in `dir` ("orders.csv"; "orders" is
 * accepted too).  Item paths escape a '%' in a file name as %25 (see
 * <dsrc/plugin_util.h>): "100%.csv" is listed as "100%25.csv".  CSV is read as RFC 4180: fields may be quoted with '"',
 * a quote inside is doubled, quoted fields may hold the delimiter and line
 * breaks, lines end in LF or CRLF.  An empty unquoted field is NULL, an
 * empty quoted field ("") is the empty string.  Short lines are padded
 * with NULLs; a line with more fields than the header is an error.
 *
 * Types are inferred from the first 1000 data lines: a column is INT64 when
 * every non-empty value is an integer, else DOUBLE when every one is a
 * number, else BOOL when every one is true/false, else TEXT.  A later
 * value that does not fit its column's type fails the fetch (the host
 * checks that every cell matches its column's declared type), naming the
 * line and the column.
 *
 * Incremental fetch: rows whose cursor column is greater than the cursor
 * value (numerically for INT64 and DOUBLE columns, bytewise otherwise).
 * This example sends matching rows in file order: it filters, it does not
 * sort.  cursor_max is the highest cursor value among the rows sent.  With
 * a limit n it sends the rows up to the n-th cursor value in cursor order,
 * all of them even when several rows share it, so that the next fetch
 * (after cursor_max) skips nothing; to find that value it reads the file
 * once more and sorts the cursor values after the cursor in memory (a
 * backend with an index would do this for the plugin).  Rows without a
 * cursor value (empty, or not a number in a numeric column) are sent by a
 * fetch from the start (no cursor value), beyond the limit, and never by a
 * fetch after a value.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* strdup, fileno, opendir with -std=c11 */
#endif
#include <dsrc/plugin.h>
#include <dsrc/plugin_util.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

DSRC_PLUGIN_ABI();

#define CD_NAME "csvdir"
#define CD_VERSION "1.0.0"
#define CD_INFER_ROWS 1000   /* data lines scanned to infer types        */
#define CD_POLL_EVERY 1000   /* rows between cancellation checks         */

static const dsrc_host *cd_host;

struct dsrc_conn {
    char *dir;
    char delim;
    int header;
    atomic_int cancel;       /* set by cd_cancel() from another thread   */
};

/* ------------------------------------------------------------------------ */
/* Option table                                                              */

static const dsrc_option cd_options[] = {
    {"dir", DSRC_OPT_PATH, DSRC_OPT_REQUIRED, NULL, NULL,
     "directory holding the *.csv files", {NULL, NULL}},
    {"delimiter", DSRC_OPT_STRING, 0, ",", NULL,
     "field separator, one character", {NULL, NULL}},
    {"header", DSRC_OPT_BOOL, 0, "true", NULL,
     "the first line holds the column names", {NULL, NULL}},
    DSRC_OPTION_END
};

/* ------------------------------------------------------------------------ */
/* Reading CSV records                                                       */

/* One record: its fields stored one after another in `buf`, each
 * NUL-terminated; off[i] is where field i starts. */
typedef struct cd_record {
    char *buf;
    size_t len, cap;
    size_t *off;
    size_t *flen;            /* field length (fields may hold NUL bytes)  */
    int *quoted;             /* 1: the field was quoted                   */
    size_t n, ocap;
} cd_record;

typedef struct cd_reader {
    FILE *fp;
    char delim;
    long line;               /* line number of the next character         */
    long rec_line;           /* line where the last record started        */
} cd_reader;

static void cd_record_free(cd_record *r)
{
    free(r->buf);
    free(r->off);
    free(r->flen);
    free(r->quoted);
    memset(r, 0, sizeof *r);
}

static int cd_putc(cd_record *r, char c)
{
    if (r->len + 1 >= r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        char *b = realloc(r->buf, cap);
        if (!b)
            return -1;
        r->buf = b;
        r->cap = cap;
    }
    r->buf[r->len++] = c;
    return 0;
}

static int cd_start_field(cd_record *r)
{
    if (r->n == r->ocap) {
        size_t cap = r->ocap ? r->ocap * 2 : 16;
        size_t *o = realloc(r->off, cap * sizeof *o);
        size_t *l;
        int *q;
        if (!o)
            return -1;
        r->off = o;
        l = realloc(r->flen, cap * sizeof *l);
        if (!l)
            return -1;
        r->flen = l;
        q = realloc(r->quoted, cap * sizeof *q);
        if (!q)
            return -1;
        r->quoted = q;
        r->ocap = cap;
    }
    r->off[r->n] = r->len;
    r->quoted[r->n] = 0;
    r->n++;
    return 0;
}

static int cd_end_field(cd_record *r)
{
    size_t i = r->n - 1;
    r->flen[i] = r->len - r->off[i];
    return cd_putc(r, '\0');
}

static const char *cd_field(const cd_record *r, size_t i)
{
    return r->buf + r->off[i];
}

/* True when field i is NULL: empty and not quoted. */
static int cd_is_null(const cd_record *r, size_t i)
{
    return i >= r->n || (r->flen[i] == 0 && !r->quoted[i]);
}

/* Read one record.  Returns 1 with a record, 0 at end of file, -1 on a
 * malformed file (unterminated quote) with *why set, -2 out of memory.
 * Blank lines are skipped. */
static int cd_read(cd_reader *rd, cd_record *r, const char **why)
{
    int c, in_quotes = 0, after_quote = 0;

    r->len = 0;
    r->n = 0;
    /* Skip blank lines. */
    for (;;) {
        c = getc(rd->fp);
        if (c == EOF)
            return 0;
        if (c == '\n') {
            rd->line++;
            continue;
        }
        if (c == '\r') {
            int d = getc(rd->fp);
            if (d == '\n') {
                rd->line++;
                continue;
            }
            if (d != EOF)
                ungetc(d, rd->fp);
        }
        break;
    }
    rd->rec_line = rd->line;
    if (cd_start_field(r) < 0)
        return -2;
    for (;; c = getc(rd->fp)) {
        if (in_quotes) {
            if (c == EOF) {
                *why = "a quoted field is not closed before the end of the file";
                return -1;
            }
            if (c == '"') {
                int d = getc(rd->fp);
                if (d == '"') {
                    if (cd_putc(r, '"') < 0)
                        return -2;
                    continue;
                }
                if (d != EOF)
                    ungetc(d, rd->fp);
                in_quotes = 0;
                after_quote = 1;
                continue;
            }
            if (c == '\n')
                rd->line++;
            if (cd_putc(r, (char)c) < 0)
                return -2;
            continue;
        }
        if (c == EOF || c == '\n') {
            if (c == '\n')
                rd->line++;
            /* Drop the CR of a CRLF line end (only outside quotes). */
            if (!after_quote && r->len > r->off[r->n - 1] && r->buf[r->len - 1] == '\r')
                r->len--;
            return cd_end_field(r) < 0 ? -2 : 1;
        }
        if (c == rd->delim) {
            if (cd_end_field(r) < 0 || cd_start_field(r) < 0)
                return -2;
            after_quote = 0;
            continue;
        }
        if (c == '"' && r->len == r->off[r->n - 1] && !after_quote) {
            in_quotes = 1;
            r->quoted[r->n - 1] = 1;
            continue;
        }
        /* Anything else is data, also text after a closing quote
         * ("ab"c reads as abc, as most readers do); a CR after a closing
         * quote is the CR of a CRLF line end. */
        if (c == '\r' && after_quote)
            continue;
        if (cd_putc(r, (char)c) < 0)
            return -2;
    }
}

/* ------------------------------------------------------------------------ */
/* Values                                                                    */

static int cd_parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;
    if (!*s || isspace((unsigned char)*s))
        return 0;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end)
        return 0;
    *out = (int64_t)v;
    return 1;
}

static int cd_parse_double(const char *s, double *out)
{
    char *end;
    double v;
    if (!*s || isspace((unsigned char)*s))
        return 0;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

static int cd_parse_bool(const char *s, int *out)
{
    if (strcasecmp(s, "true") == 0) {
        *out = 1;
        return 1;
    }
    if (strcasecmp(s, "false") == 0) {
        *out = 0;
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Files and tables                                                          */

/* The full path of item `item` in the connection's directory, or NULL with
 * err filled.  Only plain file names are accepted: no '/', no leading
 * '.', so an item can never leave the directory. */
static char *cd_item_path(const dsrc_conn *c, const char *item, dsrc_error *err)
{
    size_t n;
    char *path;
    int add_ext;

    if (!item || !*item) {
        dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "no item given: name a CSV file");
        return NULL;
    }
    if (strchr(item, '/') || item[0] == '.') {
        dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                       "'%s' is not a file name in the source's directory", item);
        return NULL;
    }
    n = strlen(item);
    add_ext = !(n > 4 && strcasecmp(item + n - 4, ".csv") == 0);
    path = malloc(strlen(c->dir) + n + 6);
    if (!path) {
        dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        return NULL;
    }
    sprintf(path, "%s/%s%s", c->dir, item, add_ext ? ".csv" : "");
    return path;
}

/* The item's file name: "orders" -> "orders.csv" (malloc'd). */
static char *cd_canonical(const char *item)
{
    size_t n = strlen(item);
    char *s;
    if (n > 4 && strcasecmp(item + n - 4, ".csv") == 0)
        return strdup(item);
    s = malloc(n + 5);
    if (s)
        sprintf(s, "%s.csv", item);
    return s;
}

/* Open the file of item path `item` (escaped); DSRC_E_NOT_FOUND when it is
 * not there. */
static dsrc_status cd_open_item(const dsrc_conn *c, const char *item, FILE **fp,
                                struct stat *sb, dsrc_error *err)
{
    dsrc_path name;
    dsrc_status st;
    char *path, code[16];
    int e;

    *fp = NULL;
    st = dsrc_path_split(item, 1, &name, err);
    if (st != DSRC_OK)
        return st;
    path = cd_item_path(c, name.n ? name.part[0] : "", err);
    dsrc_path_free(&name);
    if (!path)
        return err ? err->status : DSRC_E_INVALID_ARGUMENT;
    if (stat(path, sb) == 0 && !S_ISREG(sb->st_mode)) {
        free(path);
        return dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, NULL, "no CSV file '%s'", item);
    }
    *fp = fopen(path, "r");
    e = errno;
    free(path);
    if (*fp && fstat(fileno(*fp), sb) == 0)
        return DSRC_OK;
    if (*fp)
        fclose(*fp);
    *fp = NULL;
    snprintf(code, sizeof code, "%d", e);
    if (e == ENOENT)
        return dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, code, "no CSV file '%s'", item);
    if (e == EACCES)
        return dsrc_error_set(err, DSRC_E_PERMISSION, 0, code, "'%s': %s", item, strerror(e));
    return dsrc_error_set(err, DSRC_E_BACKEND, 0, code, "'%s': %s", item, strerror(e));
}

/* A table read from a file: column names and inferred types. */
typedef struct cd_table {
    size_t n;
    char **names;
    dsrc_column *cols;
    int *seen_null;
    int64_t rows;            /* data lines counted (when counted)          */
    long scanned;            /* data lines used for inference              */
} cd_table;

static void cd_table_free(cd_table *t)
{
    size_t i;
    for (i = 0; i < t->n; i++)
        free(t->names[i]);
    free(t->names);
    free(t->cols);
    free(t->seen_null);
    memset(t, 0, sizeof *t);
}

static const char *cd_type_name(dsrc_type t)
{
    switch (t) {
    case DSRC_T_INT64: return "integer";
    case DSRC_T_DOUBLE: return "double";
    case DSRC_T_BOOL: return "boolean";
    default: return "text";
    }
}

static dsrc_status cd_bad_csv(dsrc_error *err, const char *item, long line, const char *why)
{
    return dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL, "%s, line %ld: %s", item, line, why);
}

/* Read the header and infer the types from the first CD_INFER_ROWS data
 * lines; with count_all, read to the end to count the rows.  On success the
 * reader is positioned after the last line read. */
static dsrc_status cd_load_table(const dsrc_conn *c, const char *item, cd_reader *rd,
                                 int count_all, cd_table *t, dsrc_error *err)
{
    cd_record rec = {0};
    const char *why = NULL;
    int *can_int = NULL, *can_dbl = NULL, *can_bool = NULL, *any = NULL;
    size_t i;
    int r;
    dsrc_status s = DSRC_OK;

    memset(t, 0, sizeof *t);
    r = cd_read(rd, &rec, &why);
    if (r == -2) {
        s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    if (r < 0) {
        s = cd_bad_csv(err, item, rd->rec_line, why);
        goto out;
    }
    if (r == 0) {
        s = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL, "%s is empty: no columns", item);
        goto out;
    }
    t->n = rec.n;
    t->names = calloc(t->n, sizeof *t->names);
    t->cols = calloc(t->n, sizeof *t->cols);
    t->seen_null = calloc(t->n, sizeof *t->seen_null);
    can_int = calloc(t->n, sizeof *can_int);
    can_dbl = calloc(t->n, sizeof *can_dbl);
    can_bool = calloc(t->n, sizeof *can_bool);
    any = calloc(t->n, sizeof *any);
    if (!t->names || !t->cols || !t->seen_null || !can_int || !can_dbl || !can_bool || !any) {
        s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    for (i = 0; i < t->n; i++) {
        char num[32];
        if (c->header) {
            t->names[i] = strdup(cd_field(&rec, i));
        } else {
            snprintf(num, sizeof num, "column%zu", i + 1);
            t->names[i] = strdup(num);
        }
        if (!t->names[i]) {
            s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            goto out;
        }
        if (c->header && !*t->names[i]) {
            s = cd_bad_csv(err, item, rd->rec_line, "a column in the header has no name");
            goto out;
        }
        can_int[i] = can_dbl[i] = can_bool[i] = 1;
    }

    /* Without a header the first line is data. */
    r = c->header ? cd_read(rd, &rec, &why) : 1;
    while (r == 1) {
        if (rec.n > t->n) {
            s = cd_bad_csv(err, item, rd->rec_line, "more fields than the header has");
            goto out;
        }
        if (t->scanned < CD_INFER_ROWS) {
            for (i = 0; i < t->n; i++) {
                const char *v;
                int64_t iv;
                double dv;
                int bv;
                if (cd_is_null(&rec, i)) {
                    t->seen_null[i] = 1;
                    continue;
                }
                v = cd_field(&rec, i);
                any[i] = 1;
                if (can_int[i] && !cd_parse_int(v, &iv))
                    can_int[i] = 0;
                if (can_dbl[i] && !cd_parse_double(v, &dv))
                    can_dbl[i] = 0;
                if (can_bool[i] && !cd_parse_bool(v, &bv))
                    can_bool[i] = 0;
            }
            t->scanned++;
        }
        t->rows++;
        if (!count_all && t->scanned >= CD_INFER_ROWS)
            break;
        r = cd_read(rd, &rec, &why);
    }
    if (r == -2) {
        s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    if (r == -1) {
        s = cd_bad_csv(err, item, rd->rec_line, why);
        goto out;
    }
    if (!count_all && r == 1)
        t->rows = -1; /* stopped early: not counted */

    for (i = 0; i < t->n; i++) {
        dsrc_column *col = &t->cols[i];
        col->name = t->names[i];
        if (!any[i])
            col->type = DSRC_T_TEXT;
        else if (can_int[i])
            col->type = DSRC_T_INT64;
        else if (can_dbl[i])
            col->type = DSRC_T_DOUBLE;
        else if (can_bool[i])
            col->type = DSRC_T_BOOL;
        else
            col->type = DSRC_T_TEXT;
        col->native_type = cd_type_name(col->type);
        col->nullable = t->seen_null[i] ? 1 : -1;
    }
out:
    if (s != DSRC_OK)
        cd_table_free(t);
    free(can_int);
    free(can_dbl);
    free(can_bool);
    free(any);
    cd_record_free(&rec);
    return s;
}

static int cd_stop_requested(const dsrc_ctx *ctx, dsrc_conn *c)
{
    return atomic_load(&c->cancel) || dsrc_cancelled(cd_host, ctx);
}

/* ------------------------------------------------------------------------ */
/* open / close / ping / cancel                                              */

static dsrc_status cd_open(const dsrc_ctx *ctx, const dsrc_open_params *params,
                           dsrc_conn **out, dsrc_error *err)
{
    const char *dir = dsrc_kv_get(params->options, params->n_options, "dir");
    const char *delim = dsrc_kv_get(params->options, params->n_options, "delimiter");
    const char *header = dsrc_kv_get(params->options, params->n_options, "header");
    struct stat sb;
    dsrc_conn *c;
    DIR *d;

    *out = NULL;
    if (!dir || !*dir)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'dir' is required: the directory of CSV files");
    if (!delim)
        delim = ",";
    if (strlen(delim) != 1 || *delim == '"' || *delim == '\n' || *delim == '\r')
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'delimiter' must be one character other than a quote"
                              " or a line break (got '%s')", delim);
    if (header && strcmp(header, "true") != 0 && strcmp(header, "false") != 0)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'header' must be true or false (got '%s')", header);
    if (stat(dir, &sb) != 0) {
        int e = errno;
        char code[16];
        snprintf(code, sizeof code, "%d", e);
        return dsrc_error_set(err, e == ENOENT ? DSRC_E_NOT_FOUND : DSRC_E_UNREACHABLE, 0, code,
                              "directory '%s': %s", dir, strerror(e));
    }
    if (!S_ISDIR(sb.st_mode))
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "'%s' is not a directory", dir);
    d = opendir(dir);
    if (!d) {
        int e = errno;
        char code[16];
        snprintf(code, sizeof code, "%d", e);
        return dsrc_error_set(err, e == EACCES ? DSRC_E_PERMISSION : DSRC_E_UNREACHABLE, 0,
                              code, "directory '%s': %s", dir, strerror(e));
    }
    closedir(d);

    c = calloc(1, sizeof *c);
    if (!c || !(c->dir = strdup(dir))) {
        free(c);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    c->delim = *delim;
    c->header = !header || strcmp(header, "true") == 0;
    atomic_init(&c->cancel, 0);
    if (cd_host && cd_host->log)
        cd_host->log(ctx, DSRC_LOG_DEBUG, "reading CSV files in %s", dir);
    *out = c;
    return DSRC_OK;
}

static void cd_close(dsrc_conn *c)
{
    if (!c)
        return;
    free(c->dir);
    free(c);
}

static dsrc_status cd_cancel(dsrc_conn *c)
{
    if (c)
        atomic_store(&c->cancel, 1);
    return DSRC_OK;
}

/* The "round-trip" of a directory: it can still be opened and read. */
static dsrc_status cd_ping(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_ping_info *info,
                           dsrc_error *err)
{
    DIR *d = opendir(c->dir);
    (void)ctx;
    if (!d) {
        int e = errno;
        char code[16];
        snprintf(code, sizeof code, "%d", e);
        return dsrc_error_set(err, DSRC_E_UNREACHABLE, 1, code, "directory '%s': %s", c->dir,
                              strerror(e));
    }
    errno = 0;
    if (!readdir(d) && errno) {
        int e = errno;
        char code[16];
        closedir(d);
        snprintf(code, sizeof code, "%d", e);
        return dsrc_error_set(err, DSRC_E_UNREACHABLE, 1, code, "directory '%s': %s", c->dir,
                              strerror(e));
    }
    closedir(d);
    if (info) {
        info->role = DSRC_ROLE_STANDALONE;
        snprintf(info->server_version, sizeof info->server_version, "%s %s", CD_NAME,
                 CD_VERSION);
        snprintf(info->endpoint, sizeof info->endpoint, "%s", c->dir);
    }
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* list                                                                      */

static int cd_is_csv_name(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcasecmp(name + n - 4, ".csv") == 0;
}

static int cd_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.csv file names of the directory, sorted. */
static dsrc_status cd_scan(const dsrc_conn *c, char ***names, size_t *n, dsrc_error *err)
{
    DIR *d = opendir(c->dir);
    struct dirent *de;
    size_t cap = 0;

    *names = NULL;
    *n = 0;
    if (!d)
        return dsrc_error_set(err, DSRC_E_UNREACHABLE, 1, NULL, "directory '%s': %s", c->dir,
                              strerror(errno));
    while ((de = readdir(d)) != NULL) {
        if (!cd_is_csv_name(de->d_name))
            continue;
        if (*n == cap) {
            char **v;
            cap = cap ? cap * 2 : 16;
            v = realloc(*names, cap * sizeof *v);
            if (!v)
                goto oom;
            *names = v;
        }
        if (!((*names)[*n] = strdup(de->d_name)))
            goto oom;
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(*names, *n, sizeof **names, cd_name_cmp);
    return DSRC_OK;
oom:
    closedir(d);
    while (*n)
        free((*names)[--*n]);
    free(*names);
    *names = NULL;
    return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
}

static void cd_names_free(char **names, size_t n)
{
    while (n)
        free(names[--n]);
    free(names);
}

static dsrc_status cd_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                           const dsrc_item_sink *sink, dsrc_error *err)
{
    char **names;
    size_t n, i;
    dsrc_status s;
    int r;

    atomic_store(&c->cancel, 0);
    if (path && *path && strcmp(path, "/") != 0) {
        /* Files are leaves: listing one is an error, listing anything
         * else says what is missing. */
        FILE *fp;
        struct stat sb;
        s = cd_open_item(c, path, &fp, &sb, err);
        if (s != DSRC_OK)
            return s;
        fclose(fp);
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "'%s' is a file: there is nothing to list under it", path);
    }
    s = cd_scan(c, &names, &n, err);
    if (s != DSRC_OK)
        return s;
    for (i = 0; i < n; i++) {
        dsrc_item it;
        struct stat sb;
        char *full = cd_item_path(c, names[i], NULL);

        if (!full) {
            s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            break;
        }
        if (stat(full, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(full);
            continue; /* removed meanwhile, or not a regular file */
        }
        free(full);
        if (!(full = dsrc_path_join2(names[i], NULL))) {
            s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            break;
        }
        memset(&it, 0, sizeof it);
        it.struct_size = sizeof it;
        it.path = full;
        it.name = names[i];
        it.kind = DSRC_ITEM_FILE;
        it.container = 0;
        it.rows = -1;            /* counting would read every file */
        it.size_bytes = (int64_t)sb.st_size;
        it.mtime = (int64_t)sb.st_mtime;
        r = sink->item(sink->user, &it);
        free(full);
        if (r != 0) {
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "listing stopped by the receiver");
            break;
        }
        if (cd_stop_requested(ctx, c)) {
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "listing cancelled");
            break;
        }
    }
    cd_names_free(names, n);
    return s;
}

/* ------------------------------------------------------------------------ */
/* describe and discover                                                     */

/* Describe one file and hand the metadata to `sink`. */
static dsrc_status cd_describe_one(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                                   const dsrc_meta_sink *sink, dsrc_error *err)
{
    cd_reader rd;
    cd_table t;
    struct stat sb;
    dsrc_item it;
    dsrc_metadata md;
    dsrc_kv props[3];
    char delim[2] = {c->delim, '\0'}, scanned[32], *canon;
    dsrc_path name;
    dsrc_status s;
    FILE *fp;

    (void)ctx;
    s = cd_open_item(c, item, &fp, &sb, err);
    if (s != DSRC_OK)
        return s;
    memset(&rd, 0, sizeof rd);
    rd.fp = fp;
    rd.delim = c->delim;
    rd.line = 1;
    s = cd_load_table(c, item, &rd, 1, &t, err);
    fclose(fp);
    if (s != DSRC_OK)
        return s;

    canon = cd_canonical(item); /* still escaped: the path */
    if (!canon || dsrc_path_split(canon, 1, &name, err) != DSRC_OK) {
        free(canon);
        cd_table_free(&t);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    memset(&it, 0, sizeof it);
    it.struct_size = sizeof it;
    it.path = canon;
    it.name = name.part[0];
    it.kind = DSRC_ITEM_FILE;
    it.rows = t.rows;
    it.size_bytes = (int64_t)sb.st_size;
    it.mtime = (int64_t)sb.st_mtime;

    snprintf(scanned, sizeof scanned, "%ld", t.scanned);
    props[0].key = "delimiter";
    props[0].value = delim;
    props[1].key = "header";
    props[1].value = c->header ? "true" : "false";
    props[2].key = "rows_scanned_for_types";
    props[2].value = scanned;

    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;
    md.item = &it;
    md.columns = t.cols;
    md.n_columns = t.n;
    md.properties = props;
    md.n_properties = 3;
    if (sink->metadata(sink->user, &md) != 0)
        s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "stopped by the receiver");
    cd_table_free(&t);
    dsrc_path_free(&name);
    free(canon);
    return s;
}

static dsrc_status cd_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                               const dsrc_meta_sink *sink, dsrc_error *err)
{
    atomic_store(&c->cancel, 0);
    return cd_describe_one(ctx, c, item, sink, err);
}

static dsrc_status cd_discover(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_discover_req *req,
                               const dsrc_meta_sink *sink, dsrc_error *err)
{
    char **names;
    size_t n, i;
    dsrc_status s;

    atomic_store(&c->cancel, 0);
    if (req && req->path && *req->path && strcmp(req->path, "/") != 0)
        return dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, NULL,
                              "'%s': a CSV directory has no sub-paths to discover", req->path);
    s = cd_scan(c, &names, &n, err);
    if (s != DSRC_OK)
        return s;
    for (i = 0; i < n && s == DSRC_OK; i++) {
        if (cd_stop_requested(ctx, c)) {
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "discover cancelled");
            break;
        }
        char *item = dsrc_path_join2(names[i], NULL);
        s = item ? cd_describe_one(ctx, c, item, sink, err)
                 : dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        free(item);
        if (s != DSRC_OK && s != DSRC_E_CANCELLED && s != DSRC_E_INTERNAL) {
            /* One unreadable file does not hide the others. */
            if (cd_host && cd_host->log)
                cd_host->log(ctx, DSRC_LOG_WARNING, "discover: skipping %s: %s", names[i],
                             err && err->message ? err->message : "failed");
            if (err && err->release)
                err->release(err);
            if (err) {
                err->status = DSRC_OK;
                err->backend_code[0] = '\0';
            }
            s = DSRC_OK;
        }
    }
    cd_names_free(names, n);
    return s;
}

/* ------------------------------------------------------------------------ */
/* fetch                                                                     */

/* A cursor value, in the form the column compares in. */
typedef struct cd_key {
    int numeric;             /* 1: compare n / i; 0: compare text         */
    int is_int;
    int64_t i;
    double d;
    const char *text;
} cd_key;

static int cd_key_of(const char *s, dsrc_type type, cd_key *k)
{
    memset(k, 0, sizeof *k);
    k->text = s;
    if (type == DSRC_T_INT64 && cd_parse_int(s, &k->i)) {
        k->numeric = k->is_int = 1;
        k->d = (double)k->i;
        return 1;
    }
    if ((type == DSRC_T_INT64 || type == DSRC_T_DOUBLE) && cd_parse_double(s, &k->d)) {
        k->numeric = 1;
        return 1;
    }
    return type != DSRC_T_INT64 && type != DSRC_T_DOUBLE;
}

static int cd_key_cmp(const cd_key *a, const cd_key *b)
{
    if (a->numeric && b->numeric) {
        if (a->is_int && b->is_int)
            return a->i < b->i ? -1 : a->i > b->i;
        return a->d < b->d ? -1 : a->d > b->d;
    }
    return strcmp(a->text, b->text);
}

/* 1 when the record's cursor field (column `col` of type `type`) has a
 * value, in *k, that comes after `after` (NULL: any value); 0 when it has
 * none (NULL, or not comparable with the cursor) or it does not. */
static int cd_after(const cd_record *rec, size_t col, dsrc_type type, const cd_key *after,
                    cd_key *k)
{
    if (cd_is_null(rec, col) || !cd_key_of(cd_field(rec, col), type, k))
        return 0;
    return !after || cd_key_cmp(k, after) > 0;
}

static int cd_key_qsort(const void *a, const void *b)
{
    return cd_key_cmp(a, b);
}

/* Back to the first data line of `rd`, past the header if there is one. */
static dsrc_status cd_rewind(const dsrc_conn *c, cd_reader *rd, cd_record *rec, const char *item,
                             dsrc_error *err)
{
    const char *why = NULL;
    int r;

    rewind(rd->fp);
    rd->line = 1;
    if (c->header && (r = cd_read(rd, rec, &why)) != 1)
        return r == -2 ? dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory")
                       : cd_bad_csv(err, item, rd->rec_line, why ? why : "header vanished");
    return DSRC_OK;
}

/* The next data record of a table of `n_cols` columns: 1, 0 at the end of
 * the file, or -1 with the error in *s. */
static int cd_next(cd_reader *rd, cd_record *rec, size_t n_cols, const char *item,
                   dsrc_status *s, dsrc_error *err)
{
    const char *why = NULL;
    int r = cd_read(rd, rec, &why);

    if (r == -2)
        *s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    else if (r == -1)
        *s = cd_bad_csv(err, item, rd->rec_line, why);
    else if (r == 1 && rec->n > n_cols)
        *s = cd_bad_csv(err, item, rd->rec_line, "more fields than the header has");
    else
        return r;
    return -1;
}

/* The cursor value of the limit-th row in cursor order after `after`
 * (NULL: from the start), malloc'd into *nth; *nth NULL when fewer rows
 * have one.  Reads the file from its first data line. */
static dsrc_status cd_nth_after(const dsrc_ctx *ctx, dsrc_conn *c, cd_reader *rd,
                                cd_record *rec, const dsrc_fetch_req *req, const cd_table *t,
                                size_t col, const cd_key *after, char **nth, dsrc_error *err)
{
    cd_key *keys = NULL, k;
    size_t n = 0, cap = 0, i, rows = 0;
    dsrc_status s;

    *nth = NULL;
    s = cd_rewind(c, rd, rec, req->item, err);
    while (s == DSRC_OK && cd_next(rd, rec, t->n, req->item, &s, err) == 1) {
        if (++rows % CD_POLL_EVERY == 0 && cd_stop_requested(ctx, c)) {
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch cancelled");
            break;
        }
        if (!cd_after(rec, col, t->cols[col].type, after, &k))
            continue;
        if (n == cap) {
            cd_key *nk = realloc(keys, (cap = cap ? cap * 2 : 64) * sizeof *keys);
            if (!nk) {
                s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
                break;
            }
            keys = nk;
        }
        if (!(k.text = strdup(k.text))) {
            s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            break;
        }
        keys[n++] = k;
    }
    if (s == DSRC_OK && n >= (uint64_t)req->limit) {
        qsort(keys, n, sizeof *keys, cd_key_qsort);
        if (!(*nth = strdup(keys[req->limit - 1].text)))
            s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    for (i = 0; i < n; i++)
        free((char *)keys[i].text);
    free(keys);
    return s;
}

/* Fill a cell from field i of the record as the column's type: 0, or -1
 * when the value does not fit a typed column. */
static int cd_cell(const cd_record *rec, size_t i, dsrc_type type, dsrc_cell *cell)
{
    const char *v;
    memset(cell, 0, sizeof *cell);
    if (cd_is_null(rec, i)) {
        cell->type = DSRC_T_NULL;
        return 0;
    }
    v = cd_field(rec, i);
    if (type == DSRC_T_INT64 && cd_parse_int(v, &cell->v.i)) {
        cell->type = DSRC_T_INT64;
        return 0;
    }
    if (type == DSRC_T_DOUBLE && cd_parse_double(v, &cell->v.d)) {
        cell->type = DSRC_T_DOUBLE;
        return 0;
    }
    if (type == DSRC_T_BOOL && cd_parse_bool(v, &cell->v.b)) {
        cell->type = DSRC_T_BOOL;
        return 0;
    }
    cell->type = DSRC_T_TEXT;
    cell->v.s.ptr = v;
    cell->v.s.len = rec->flen[i];
    return type == DSRC_T_TEXT ? 0 : -1;
}

static dsrc_status cd_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                            const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                            dsrc_fetch_result *result, dsrc_error *err)
{
    cd_reader rd;
    cd_record rec = {0};
    cd_table t = {0};
    struct stat sb;
    size_t *map = NULL, n_out, i;
    dsrc_column *out_cols = NULL;
    dsrc_cell *cells = NULL;
    long cursor_col = -1;
    cd_key after, best, nth;
    char *best_text = NULL, *nth_text = NULL;
    uint64_t sent = 0;
    dsrc_status s;
    FILE *fp;
    int ties = 0;

    (void)bytes;
    atomic_store(&c->cancel, 0);
    if (req->mode == DSRC_FETCH_RAW)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "csvdir sends rows; raw fetch is not supported");
    if (req->n_columns && !req->columns)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "no column list given");

    /* First pass: header and types.  Second pass: the rows. */
    s = cd_open_item(c, req->item, &fp, &sb, err);
    if (s != DSRC_OK)
        return s;
    memset(&rd, 0, sizeof rd);
    rd.fp = fp;
    rd.delim = c->delim;
    rd.line = 1;
    s = cd_load_table(c, req->item, &rd, 0, &t, err);
    if (s != DSRC_OK)
        goto out;

    n_out = req->n_columns ? req->n_columns : t.n;
    map = calloc(n_out ? n_out : 1, sizeof *map);
    out_cols = calloc(n_out ? n_out : 1, sizeof *out_cols);
    cells = calloc(n_out ? n_out : 1, sizeof *cells);
    if (!map || !out_cols || !cells) {
        s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    for (i = 0; i < n_out; i++) {
        size_t k = i;
        if (req->n_columns) {
            for (k = 0; k < t.n; k++)
                if (req->columns[i] && strcmp(t.names[k], req->columns[i]) == 0)
                    break;
            if (k == t.n) {
                s = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                   "no column '%s' in %s", req->columns[i] ? req->columns[i] : "",
                                   req->item);
                goto out;
            }
        }
        map[i] = k;
        out_cols[i] = t.cols[k];
    }
    if (req->cursor_field) {
        for (i = 0; i < t.n; i++)
            if (strcmp(t.names[i], req->cursor_field) == 0)
                cursor_col = (long)i;
        if (cursor_col < 0) {
            s = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                               "no cursor column '%s' in %s", req->cursor_field, req->item);
            goto out;
        }
        if (req->cursor_value && !cd_key_of(req->cursor_value, t.cols[cursor_col].type, &after)) {
            s = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                               "cursor value '%s' is not a number, but column '%s' is numeric",
                               req->cursor_value, req->cursor_field);
            goto out;
        }
        /* With a limit n: every row up to the n-th cursor value. */
        ties = req->limit > 0;
        if (ties) {
            s = cd_nth_after(ctx, c, &rd, &rec, req, &t, (size_t)cursor_col,
                             req->cursor_value ? &after : NULL, &nth_text, err);
            if (s != DSRC_OK)
                goto out;
            if (nth_text)
                cd_key_of(nth_text, t.cols[cursor_col].type, &nth);
        }
    }

    if (rows->schema(rows->user, out_cols, n_out) != 0) {
        s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "stopped by the receiver");
        goto out;
    }

    /* Back to the first data line. */
    s = cd_rewind(c, &rd, &rec, req->item, err);
    if (s != DSRC_OK)
        goto out;
    for (;;) {
        if (req->limit >= 0 && sent >= (uint64_t)req->limit && !ties)
            break;
        if (sent % CD_POLL_EVERY == 0 && cd_stop_requested(ctx, c)) {
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch cancelled");
            break;
        }
        if (cd_next(&rd, &rec, t.n, req->item, &s, err) != 1)
            break;
        if (cursor_col >= 0) {
            cd_key k;
            int has = cd_after(&rec, (size_t)cursor_col, t.cols[cursor_col].type,
                               req->cursor_value ? &after : NULL, &k);
            if (!has && req->cursor_value)
                continue;
            if (has && nth_text && cd_key_cmp(&k, &nth) > 0)
                continue; /* after the limit-th value */
            if (has && (!best_text || cd_key_cmp(&k, &best) > 0)) {
                free(best_text);
                best_text = strdup(k.text);
                if (!best_text) {
                    s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
                    break;
                }
                best = k;
                best.text = best_text;
            }
        }
        for (i = 0; i < n_out; i++)
            if (cd_cell(&rec, map[i], out_cols[i].type, &cells[i]) != 0)
                break;
        if (i < n_out) {
            s = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL,
                               "%s line %ld: column '%s' is %s (inferred from the first %d"
                               " lines), but the value is '%.*s'", req->item, rd.rec_line,
                               out_cols[i].name,
                               out_cols[i].type == DSRC_T_INT64    ? "an integer"
                               : out_cols[i].type == DSRC_T_DOUBLE ? "a number"
                                                                   : "a boolean",
                               CD_INFER_ROWS, (int)(cells[i].v.s.len > 40 ? 40 : cells[i].v.s.len),
                               cells[i].v.s.ptr);
            break;
        }
        if (rows->row(rows->user, cells, n_out) != 0) {
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "stopped by the receiver");
            break;
        }
        sent++;
    }
    if (!result)
        goto out;
    result->mode = DSRC_FETCH_ROWS;
    result->rows = sent;
    if (best_text && strlen(best_text) < sizeof result->cursor_max) {
        result->has_cursor = 1;
        snprintf(result->cursor_max, sizeof result->cursor_max, "%s", best_text);
    }
out:
    fclose(fp);
    free(best_text);
    free(nth_text);
    free(map);
    free(out_cols);
    free(cells);
    cd_table_free(&t);
    cd_record_free(&rec);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */

static const dsrc_driver cd_driver = {
    .abi_version = DSRC_ABI_VERSION,
    .name = CD_NAME,
    .version = CD_VERSION,
    .description = "a directory of CSV files (example plugin)",
    .capabilities = DSRC_CAP_CANCEL | DSRC_CAP_DISCOVER | DSRC_CAP_CURSOR,
    .options = cd_options,
    DSRC_DRIVER_CALLS(cd),
    .describe = cd_describe,
    .discover = cd_discover,
    .cancel = cd_cancel,
};

DSRC_PLUGIN_INIT(cd_driver, &cd_host, NULL)
