/* SPDX-License-Identifier: Apache-2.0 */
/*
 * golden.c -- the golden sample table of the conformance suite, the one
 * table of rendering quirks, and the case that compares them (see
 * "The golden table" in conformance.h).
 *
 * The golden answer is the CSV dsrc writes: for every cell the field as it
 * appears in the file (quoted and escaped as RFC 4180 wants; "" an empty
 * string, nothing at all NULL) and for every column the dsrc_type of its
 * cells.  A plugin that renders a cell differently either is fixed or has
 * the difference declared below in gd_quirks, with the reason.  The case
 * fails on a difference that is not declared, and on a declared one that
 * does not occur.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/format.h"
#include "output/manifest.h"
#include "plugin/source.h"

#include "conformance.h"

#define GD_R CONF_GOLDEN_ROWS
#define GD_DIALECTS 5  /* conf_dialect values                              */

/* A column of the golden table. */
typedef struct gd_column {
    const char *name;
    dsrc_type type;                /* the type of its non-NULL cells         */
    /* Its SQL type per conf_dialect (NULL: the dialect has no such type and
     * the table has no such column there; CONF_GOLDEN_CSV "-": a CSV file
     * has every column, untyped). */
    const char *sql[GD_DIALECTS];
    /* How a value is written in SQL: 'n' a number as it is, 's' a string
     * literal, 'b' a boolean, 'x' bytes given in hex, 'z' a UTC timestamp
     * of a type with a time zone. */
    char kind;
    const char *value[GD_R];       /* the values stored (NULL: NULL)         */
    const char *csv[GD_R];         /* THE GOLDEN ANSWER: the CSV fields      */
} gd_column;

/* The golden table: three rows (ordinary values, edge values, NULLs).
 * String values hold no backslash, so that one literal reads the same in
 * every dialect (MySQL escapes with backslashes). */
static const gd_column gd_columns[] = {
    {"id", DSRC_T_INT64,
     {NULL, "integer PRIMARY KEY", "INT PRIMARY KEY", "INTEGER PRIMARY KEY", "-"},
     'n', {"1", "2", "3"}, {"1", "2", "3"}},
    {"big", DSRC_T_INT64, {NULL, "bigint", "BIGINT", "INTEGER", "-"},
     'n', {"9223372036854775807", "-4000000000", NULL},
     {"9223372036854775807", "-4000000000", ""}},
    {"amount", DSRC_T_TEXT, {NULL, "numeric(12,2)", "DECIMAL(12,2)", "NUMERIC(12,2)", "-"},
     'n', {"12.50", "-0.01", NULL}, {"12.50", "-0.01", ""}},
    {"ratio", DSRC_T_DOUBLE, {NULL, "double precision", "DOUBLE", "REAL", "-"},
     'n', {"1.5", "0.1", NULL}, {"1.5", "0.1", ""}},
    {"note", DSRC_T_TEXT, {NULL, "text", "TEXT", "TEXT", "-"},
     's', {"a,b \"q\"\n\xc3\xa9", "", NULL}, {"\"a,b \"\"q\"\"\n\xc3\xa9\"", "\"\"", ""}},
    {"flag", DSRC_T_BOOL, {NULL, "boolean", "BOOLEAN", "BOOLEAN", "-"},
     'b', {"true", "false", NULL}, {"true", "false", ""}},
    {"day", DSRC_T_TIMESTAMP, {NULL, "date", "DATE", "DATE", "-"},
     's', {"2024-01-31", "1999-12-31", NULL}, {"2024-01-31", "1999-12-31", ""}},
    {"ts", DSRC_T_TIMESTAMP, {NULL, "timestamp", "DATETIME", "TIMESTAMP", "-"},
     's', {"2024-01-01 10:00:00", "1999-12-31 23:59:59", NULL},
     {"2024-01-01T10:00:00", "1999-12-31T23:59:59", ""}},
    {"tstz", DSRC_T_TIMESTAMP, {NULL, "timestamptz", "TIMESTAMP NULL", NULL, "-"},
     'z', {"2024-01-01 10:00:00", "1999-12-31 23:59:59", NULL},
     {"2024-01-01T10:00:00Z", "1999-12-31T23:59:59Z", ""}},
    {"bin", DSRC_T_BYTES, {NULL, "bytea", "VARBINARY(16)", "BLOB", "-"},
     'x', {"00ff10", "", NULL}, {"AP8Q", "\"\"", ""}},
};
#define GD_COLS (sizeof gd_columns / sizeof gd_columns[0])

/* A declared difference from the golden answer: what `plugin` gives for
 * `column` where the golden table has something else, and why.
 *   mode "rows": its typed cells: `type` for the non-NULL ones, and the CSV
 *                fields dsrc writes from them (also what a CSV fetch gives
 *                when the plugin has no CSV of its own); `col_type` the
 *                type schema() announces (DSRC_T_NULL: `type`);
 *   mode "csv":  the plugin's own CSV, sent as bytes for a CSV fetch
 *                (the types unused). */
typedef struct gd_quirk {
    const char *plugin;
    const char *mode;
    const char *column;
    dsrc_type type, col_type;
    const char *csv[GD_R];
    const char *reason;
} gd_quirk;

/* THE QUIRKS: every difference from the golden table, in one place.
 * dsrc-connectors(7), RENDERING, tells users the same: change both. */
static const gd_quirk gd_quirks[] = {
    /* The SDK example reads the golden table from the CSV dsrc writes of
     * it (golden.csv) and infers INT64, DOUBLE, BOOL or TEXT per column. */
    {"csvdir", "rows", "amount", DSRC_T_DOUBLE, DSRC_T_NULL, {"12.5", "-0.01", ""},
     "CSV has no types: the example infers a column of numbers with a fraction as DOUBLE"},
    {"csvdir", "rows", "day", DSRC_T_TEXT, DSRC_T_NULL, {"2024-01-31", "1999-12-31", ""},
     "CSV has no types: the example infers no dates, a date is text"},
    {"csvdir", "rows", "ts", DSRC_T_TEXT, DSRC_T_NULL,
     {"2024-01-01T10:00:00", "1999-12-31T23:59:59", ""},
     "CSV has no types: the example infers no timestamps, a timestamp is text"},
    {"csvdir", "rows", "tstz", DSRC_T_TEXT, DSRC_T_NULL,
     {"2024-01-01T10:00:00Z", "1999-12-31T23:59:59Z", ""},
     "CSV has no types: the example infers no timestamps, a timestamp is text"},
    {"csvdir", "rows", "bin", DSRC_T_TEXT, DSRC_T_NULL, {"AP8Q", "\"\"", ""},
     "CSV has no types: bytes are the base64 text dsrc wrote of them"},
    {"mysql", "rows", "flag", DSRC_T_INT64, DSRC_T_NULL, {"1", "0", ""},
     "MySQL has no boolean type: BOOLEAN is TINYINT(1), an integer that may hold any of "
     "-128..127, sent as that integer"},
    /* A CSV fetch from PostgreSQL streams the server's own CSV (COPY ... TO
     * STDOUT, as psql's \copy writes it): fast, and in PostgreSQL's text
     * forms.  Its typed rows (JSON Lines, rows mode) are the golden ones. */
    {"postgres", "csv", "flag", DSRC_T_NULL, DSRC_T_NULL, {"t", "f", ""},
     "COPY CSV writes booleans as PostgreSQL's t / f"},
    {"postgres", "csv", "ts", DSRC_T_NULL, DSRC_T_NULL,
     {"2024-01-01 10:00:00", "1999-12-31 23:59:59", ""},
     "COPY CSV writes timestamps in DateStyle ISO, with a space"},
    {"postgres", "csv", "tstz", DSRC_T_NULL, DSRC_T_NULL,
     {"2024-01-01 10:00:00+00", "1999-12-31 23:59:59+00", ""},
     "COPY CSV writes timestamptz in the session's TimeZone with its offset (UTC here: "
     "+00), not as UTC with Z"},
    {"postgres", "csv", "bin", DSRC_T_NULL, DSRC_T_NULL, {"\\x00ff10", "\\x", ""},
     "COPY CSV writes bytea in PostgreSQL's hex form (\\x...), not base64"},
    {"sqlite", "rows", "amount", DSRC_T_DOUBLE, DSRC_T_TEXT, {"12.5", "-0.01", ""},
     "SQLite has no exact decimal: a NUMERIC(12,2) column stores 12.50 as the REAL 12.5, "
     "and cells follow the type a value is stored as"},
    {"sqlite", "rows", "ts", DSRC_T_TIMESTAMP, DSRC_T_NULL,
     {"2024-01-01 10:00:00", "1999-12-31 23:59:59", ""},
     "SQLite has no date type: a date is the text it was stored as, sent unchanged "
     "(with a space, as SQLite's own datetime() writes it)"},
};

/* ------------------------------------------------------------------------ */
/* The table in SQL and in CSV                                               */

static int gd_in_dialect(const gd_column *c, conf_dialect d)
{
    return d > CONF_GOLDEN_NONE && d < GD_DIALECTS && c->sql[d] != NULL;
}

static void gd_literal(FILE *fp, const gd_column *c, const char *v, conf_dialect d)
{
    const char *p;

    if (!v) {
        fputs("NULL", fp);
        return;
    }
    switch (c->kind) {
    case 'n':
        fputs(v, fp);
        return;
    case 'b':
        fputs(d == CONF_GOLDEN_SQLITE ? (strcmp(v, "true") == 0 ? "1" : "0")
                                      : (strcmp(v, "true") == 0 ? "TRUE" : "FALSE"),
              fp);
        return;
    case 'x':
        fprintf(fp, d == CONF_GOLDEN_POSTGRES ? "'\\x%s'" : "x'%s'", v);
        return;
    default:
        fputc('\'', fp);
        for (p = v; *p; p++) {
            if (*p == '\'')
                fputc('\'', fp);
            fputc(*p, fp);
        }
        if (c->kind == 'z' && d == CONF_GOLDEN_POSTGRES)
            fputs("+00", fp);
        fputc('\'', fp);
        return;
    }
}

/* One statement, malloc'd, appended to the NULL-terminated list `*v`. */
static int gd_push(char ***v, size_t *n, char *stmt)
{
    char **t;

    if (!stmt)
        return -1;
    t = realloc(*v, (*n + 2) * sizeof **v);
    if (!t) {
        free(stmt);
        return -1;
    }
    t[(*n)++] = stmt;
    t[*n] = NULL;
    *v = t;
    return 0;
}

/* The foreign-key pair (see CONF_FK_PARENT): the same SQL in every
 * dialect.  Pushed onto v[0..n); nonzero when out of memory. */
static int gd_fk_push(char ***v, size_t *n, const char *schema)
{
    const char *q = schema ? schema : "", *dot = schema ? "." : "";
    char *a = NULL, *b = NULL;
    int bad = 0;

    if (asprintf(&a, "CREATE TABLE %s%s" CONF_FK_PARENT " (id INTEGER NOT NULL PRIMARY KEY,"
                 " a INTEGER NOT NULL, b INTEGER NOT NULL, UNIQUE (b, a))", q, dot) < 0)
        a = NULL;
    bad |= gd_push(v, n, a);
    if (asprintf(&b, "CREATE TABLE %s%s" CONF_FK_CHILD " (id INTEGER NOT NULL PRIMARY KEY,"
                 " parent_id INTEGER, pa INTEGER, pb INTEGER,"
                 " CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES"
                 " %s%s" CONF_FK_PARENT " (id) ON UPDATE CASCADE ON DELETE CASCADE,"
                 " CONSTRAINT fk_child_pair FOREIGN KEY (pb, pa) REFERENCES"
                 " %s%s" CONF_FK_PARENT " (b, a) ON UPDATE RESTRICT ON DELETE SET NULL)",
                 q, dot, q, dot, q, dot) < 0)
        b = NULL;
    bad |= gd_push(v, n, b);
    return bad;
}

char **conf_golden_sql(conf_dialect d, const char *schema)
{
    char **v = NULL, *buf = NULL;
    size_t n = 0, len = 0, i, r;
    const char *sep;
    FILE *fp;
    int bad = 0;

    if (d != CONF_GOLDEN_POSTGRES && d != CONF_GOLDEN_MYSQL && d != CONF_GOLDEN_SQLITE)
        return NULL;
    /* MySQL's TIMESTAMP takes and gives values in the session's zone. */
    if (d == CONF_GOLDEN_MYSQL)
        bad |= gd_push(&v, &n, strdup("SET time_zone = '+00:00'"));

    fp = open_memstream(&buf, &len);
    if (!fp)
        goto fail;
    fprintf(fp, "CREATE TABLE %s%s" CONF_GOLDEN_TABLE " (", schema ? schema : "",
            schema ? "." : "");
    for (i = 0, sep = ""; i < GD_COLS; i++) {
        if (!gd_in_dialect(&gd_columns[i], d))
            continue;
        fprintf(fp, "%s%s %s", sep, gd_columns[i].name, gd_columns[i].sql[d]);
        sep = ", ";
    }
    fputs(d == CONF_GOLDEN_MYSQL ? ") DEFAULT CHARSET = utf8mb4" : ")", fp);
    if (fclose(fp) != 0)
        goto fail;
    bad |= gd_push(&v, &n, buf);

    buf = NULL;
    fp = open_memstream(&buf, &len);
    if (!fp)
        goto fail;
    fprintf(fp, "INSERT INTO %s%s" CONF_GOLDEN_TABLE " VALUES", schema ? schema : "",
            schema ? "." : "");
    for (r = 0; r < GD_R; r++) {
        fputs(r ? ", (" : " (", fp);
        for (i = 0, sep = ""; i < GD_COLS; i++) {
            if (!gd_in_dialect(&gd_columns[i], d))
                continue;
            fputs(sep, fp);
            gd_literal(fp, &gd_columns[i], gd_columns[i].value[r], d);
            sep = ", ";
        }
        fputc(')', fp);
    }
    if (fclose(fp) != 0)
        goto fail;
    bad |= gd_push(&v, &n, buf);
    buf = NULL;
    bad |= gd_fk_push(&v, &n, schema);
    if (!bad)
        return v;
    buf = NULL;
fail:
    free(buf);
    conf_golden_free(v);
    return NULL;
}

void conf_golden_free(char **sql)
{
    size_t i;
    for (i = 0; sql && sql[i]; i++)
        free(sql[i]);
    free(sql);
}

char *conf_golden_csv(void)
{
    char *buf = NULL;
    size_t len = 0, i, r;
    FILE *fp = open_memstream(&buf, &len);

    if (!fp)
        return NULL;
    for (i = 0; i < GD_COLS; i++)
        fprintf(fp, "%s%s", i ? "," : "", gd_columns[i].name);
    fputs("\r\n", fp);
    for (r = 0; r < GD_R; r++) {
        for (i = 0; i < GD_COLS; i++)
            fprintf(fp, "%s%s", i ? "," : "", gd_columns[i].csv[r]);
        fputs("\r\n", fp);
    }
    if (fclose(fp) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ------------------------------------------------------------------------ */
/* Fetching it as dsrc does                                                  */

/* One fetch: the rows go to the host's CSV writer (and their types are
 * kept); bytes, when the plugin sends its own CSV, are kept apart. */
typedef struct gd_fetch {
    format_writer *fw;
    const dsrc_row_sink *fs;
    dsrc_buf written;        /* what dsrc's CSV writer wrote              */
    dsrc_buf own;            /* the plugin's own CSV                      */
    int native;              /* begin() came                              */
    char *media;
    dsrc_type col_types[GD_COLS];
    dsrc_type types[GD_R][GD_COLS]; /* cell types by row (in fetch order)  */
    size_t rows;
} gd_fetch;

/* Append to `b`: 0, or -1 when out of memory. */
static int gd_add(dsrc_buf *b, const void *data, size_t len)
{
    dsrc_buf_addn(b, data, len);
    return b->failed ? -1 : 0;
}

static int gd_out(void *user, const void *data, size_t len)
{
    return gd_add(&((gd_fetch *)user)->written, data, len);
}

static int gd_schema(void *user, const dsrc_column *cols, size_t n)
{
    gd_fetch *f = user;
    size_t i;
    for (i = 0; i < n && i < GD_COLS; i++)
        f->col_types[i] = cols[i].type;
    return f->fs->schema(f->fs->user, cols, n);
}

static int gd_row(void *user, const dsrc_cell *cells, size_t n)
{
    gd_fetch *f = user;
    size_t i;
    if (f->rows < GD_R)
        for (i = 0; i < n && i < GD_COLS; i++)
            f->types[f->rows][i] =
                cells[i].type == DSRC_T_DOUBLE_TEXT ? DSRC_T_DOUBLE : cells[i].type;
    f->rows++;
    return f->fs->row(f->fs->user, cells, n);
}

static int gd_begin(void *user, const char *media_type, int64_t size)
{
    gd_fetch *f = user;
    (void)size;
    f->native = 1;
    free(f->media);
    f->media = strdup(media_type ? media_type : "");
    return 0;
}

static int gd_write(void *user, const void *data, size_t len)
{
    return gd_add(&((gd_fetch *)user)->own, data, len);
}

static void gd_fetch_free(gd_fetch *f)
{
    format_free(f->fw);
    dsrc_buf_free(&f->written);
    dsrc_buf_free(&f->own);
    free(f->media);
    memset(f, 0, sizeof *f);
}

/* Fetch the golden item in `mode` with both sinks, as `dsrc fetch` does. */
static void gd_fetch_run(const char *item, dsrc_fetch_mode mode, gd_fetch *f)
{
    dsrc_fetch_req req;
    dsrc_row_sink rows;
    dsrc_byte_sink bytes;
    derr e = {0};
    dsrc_status st;

    memset(f, 0, sizeof *f);
    f->fw = format_new(FORMAT_CSV, gd_out, f);
    ck_assert_ptr_nonnull(f->fw);
    f->fs = format_sink(f->fw);
    memset(&rows, 0, sizeof rows);
    rows.struct_size = sizeof rows;
    rows.user = f;
    rows.schema = gd_schema;
    rows.row = gd_row;
    memset(&bytes, 0, sizeof bytes);
    bytes.struct_size = sizeof bytes;
    bytes.user = f;
    bytes.begin = gd_begin;
    bytes.write = gd_write;
    conf_req(&req, item);
    req.mode = mode;
    st = source_fetch(conf_conn(), &req, &rows, &bytes, NULL, &e);
    ck_assert_msg(st == DSRC_OK, "golden: fetch of '%s' failed: %s (%s)", item,
                  e.msg ? e.msg : "", error_status_name(st));
    ck_assert_msg(format_finish(f->fw) == 0 && !format_error(f->fw),
                  "golden: dsrc's CSV writer refused the rows of '%s': %s", item,
                  format_error(f->fw) ? format_error(f->fw) : "a write failed");
    derr_clear(&e);
}

/* ------------------------------------------------------------------------ */
/* Reading CSV back, field by field as written                               */

typedef struct gd_csv {
    size_t n_rows, n_fields[GD_R + 1];
    char *field[GD_R + 1][GD_COLS];   /* row 0 is the header              */
} gd_csv;

static void gd_csv_free(gd_csv *c)
{
    size_t r, i;
    for (r = 0; r <= GD_R; r++)
        for (i = 0; i < GD_COLS; i++)
            free(c->field[r][i]);
    memset(c, 0, sizeof *c);
}

/* Split `s` into lines (ending in CRLF or LF) of fields (separated by
 * commas), each field kept as written, quotes and all.  Fails the case on
 * more lines or fields than the golden table has, or an unterminated
 * quote. */
static void gd_csv_parse(const char *s, size_t len, gd_csv *c)
{
    const char *p = s, *end = s + len;

    memset(c, 0, sizeof *c);
    while (p < end) {
        size_t k = 0;
        ck_assert_msg(c->n_rows <= GD_R, "golden: the CSV has more than %d rows:\n%s", GD_R,
                      s);
        for (;;) {
            const char *f = p;
            if (p < end && *p == '"') {
                for (p++;; p++) {
                    ck_assert_msg(p < end, "golden: an unterminated quote in the CSV:\n%s", s);
                    if (*p == '"' && (p + 1 == end || p[1] != '"'))
                        break;
                    if (*p == '"')
                        p++;
                }
                p++;
            }
            while (p < end && *p != ',' && *p != '\n' && !(*p == '\r' && p + 1 < end &&
                                                           p[1] == '\n'))
                p++;
            ck_assert_msg(k < GD_COLS, "golden: a CSV line has more than %zu fields:\n%s",
                          (size_t)GD_COLS, s);
            c->field[c->n_rows][k] = strndup(f, (size_t)(p - f));
            ck_assert_ptr_nonnull(c->field[c->n_rows][k]);
            k++;
            if (p < end && *p == ',') {
                p++;
                continue;
            }
            break;
        }
        c->n_fields[c->n_rows++] = k;
        if (p < end && *p == '\r')
            p++;
        if (p < end && *p == '\n')
            p++;
    }
}

/* ------------------------------------------------------------------------ */
/* The comparison                                                            */

/* What one source of CSV gave for a column: fields by golden row. */
typedef struct gd_seen {
    const char *csv[GD_R];
    dsrc_type type;          /* the type of its non-NULL cells (rows mode) */
    int mixed;               /* non-NULL cells of more than one type       */
    dsrc_type col_type;      /* the type schema() gave (rows mode)         */
} gd_seen;

static const gd_quirk *gd_quirk_for(const char *plugin, const char *mode, const char *column)
{
    size_t i;
    for (i = 0; i < sizeof gd_quirks / sizeof gd_quirks[0]; i++)
        if (gd_quirks[i].plugin && strcmp(gd_quirks[i].plugin, plugin) == 0 &&
            strcmp(gd_quirks[i].mode, mode) == 0 && strcmp(gd_quirks[i].column, column) == 0)
            return &gd_quirks[i];
    return NULL;
}

/* A field for a message: as written, with line breaks shown. */
static void gd_show(FILE *fp, const char *s)
{
    if (!s) {
        fputs("(missing)", fp);
        return;
    }
    fputc('\'', fp);
    for (; *s; s++) {
        if (*s == '\n')
            fputs("\\n", fp);
        else if (*s == '\r')
            fputs("\\r", fp);
        else
            fputc(*s, fp);
    }
    fputc('\'', fp);
}

/* True when `s` is these fields and, when `typed`, of these types (the
 * type of an all-NULL column is not checked). */
static int gd_same(const gd_seen *s, const char *const csv[GD_R], int typed, dsrc_type type,
                   dsrc_type col_type)
{
    size_t r;
    for (r = 0; r < GD_R; r++)
        if (!s->csv[r] || strcmp(s->csv[r], csv[r]) != 0)
            return 0;
    return !typed || (!s->mixed && (s->type == DSRC_T_NULL || s->type == type) &&
                      s->col_type == col_type);
}

/* Compare what `mode` gave for column `c` with the golden answer and the
 * quirk declared for it; add what is wrong to `report`. */
static void gd_judge(FILE *report, int *bad, const char *plugin, const char *mode, int typed,
                     const gd_column *c, const gd_seen *s)
{
    const gd_quirk *q = gd_quirk_for(plugin, mode, c->name);
    const char *const *want = q ? q->csv : c->csv;
    dsrc_type want_type = q ? q->type : c->type;
    dsrc_type want_col = q && q->col_type != DSRC_T_NULL ? q->col_type : want_type;
    size_t r;

    if (gd_same(s, want, typed, want_type, want_col))
        return;
    (*bad)++;
    if (q && gd_same(s, c->csv, typed, c->type, c->type)) {
        fprintf(report, "  %s %s: renders as the golden table now, but a quirk is declared "
                        "for it: remove it from the quirk table\n", mode, c->name);
        return;
    }
    fprintf(report, "  %s %s: %s, ", mode, c->name,
            q ? "differs from its declared quirk" : "differs from the golden table");
    if (typed)
        fprintf(report, "cells %s%s (expected %s), schema %s (expected %s), ",
                manifest_type_name(s->type), s->mixed ? " and others" : "",
                manifest_type_name(want_type), manifest_type_name(s->col_type),
                manifest_type_name(want_col));
    fputs("fields", report);
    for (r = 0; r < GD_R; r++) {
        fputc(' ', report);
        gd_show(report, s->csv[r]);
    }
    fputs(" (expected", report);
    for (r = 0; r < GD_R; r++) {
        fputc(' ', report);
        gd_show(report, want[r]);
    }
    fputs(")\n", report);
}

/* Check the header and find each golden row's line (by its id); check
 * that the columns are those of the dialect.  Returns the line of golden
 * row r in line[r] (0 when it is missing, reported). */
static void gd_lines(FILE *report, int *bad, const char *mode, conf_dialect d, const gd_csv *csv,
                     size_t line[GD_R], size_t col[GD_COLS])
{
    size_t i, k, r;

    for (i = 0, k = 0; i < GD_COLS; i++) {
        col[i] = (size_t)-1;
        if (!gd_in_dialect(&gd_columns[i], d))
            continue;
        if (csv->n_rows > 0 && k < csv->n_fields[0] &&
            strcmp(csv->field[0][k], gd_columns[i].name) == 0)
            col[i] = k;
        else {
            (*bad)++;
            fprintf(report, "  %s: header field %zu is not '%s'\n", mode, k + 1,
                    gd_columns[i].name);
        }
        k++;
    }
    if (csv->n_rows == 0 || csv->n_fields[0] != k) {
        (*bad)++;
        fprintf(report, "  %s: the header has %zu fields, expected %zu\n", mode,
                csv->n_rows ? csv->n_fields[0] : 0, k);
    }
    if (csv->n_rows != GD_R + 1) {
        (*bad)++;
        fprintf(report, "  %s: %zu rows, expected %d\n", mode,
                csv->n_rows ? csv->n_rows - 1 : 0, GD_R);
    }
    for (r = 0; r < GD_R; r++) {
        line[r] = 0;
        for (k = 1; k < csv->n_rows; k++)
            if (csv->n_fields[k] > 0 && strcmp(csv->field[k][0], gd_columns[0].csv[r]) == 0)
                line[r] = k;
        if (!line[r]) {
            (*bad)++;
            fprintf(report, "  %s: no row with id %s\n", mode, gd_columns[0].csv[r]);
        }
    }
}

/* Judge every column of one fetch in `mode` ("rows": typed, from the
 * cells; "csv": the plugin's own CSV). */
static void gd_judge_fetch(FILE *report, int *bad, const char *plugin, const char *mode,
                           conf_dialect d, const gd_fetch *f, const dsrc_buf *text)
{
    int typed = strcmp(mode, "rows") == 0;
    gd_csv csv;
    size_t line[GD_R], col[GD_COLS], i, r;

    gd_csv_parse(text->s ? text->s : "", text->len, &csv);
    gd_lines(report, bad, mode, d, &csv, line, col);
    for (i = 0; i < GD_COLS; i++) {
        gd_seen s;
        int first = 1;

        if (col[i] == (size_t)-1)
            continue;
        memset(&s, 0, sizeof s);
        for (r = 0; r < GD_R; r++) {
            size_t k = line[r];
            s.csv[r] = k && col[i] < csv.n_fields[k] ? csv.field[k][col[i]] : NULL;
            if (!typed || !k || f->types[k - 1][col[i]] == DSRC_T_NULL)
                continue;
            if (first)
                s.type = f->types[k - 1][col[i]];
            else if (s.type != f->types[k - 1][col[i]])
                s.mixed = 1;
            first = 0;
        }
        if (typed)
            s.col_type = f->col_types[col[i]];
        gd_judge(report, bad, plugin, mode, typed, &gd_columns[i], &s);
    }
    gd_csv_free(&csv);
}

START_TEST(t_golden)
{
    conf_fixture *fx = conf_current();
    gd_fetch rows, csv;
    char *text = NULL;
    size_t len = 0, i, j;
    int bad = 0;
    FILE *report;

    if (fx->golden == CONF_GOLDEN_NONE)
        return;
    ck_assert_msg(fx->golden_item != NULL, "fixture: golden needs golden_item");
    report = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(report);

    /* Typed rows, written by dsrc's CSV writer. */
    gd_fetch_run(fx->golden_item, DSRC_FETCH_ROWS, &rows);
    ck_assert_msg(!rows.native, "golden: a rows fetch sent bytes");
    ck_assert_msg(rows.rows <= GD_R, "golden: %zu rows, expected %d", rows.rows, GD_R);
    gd_judge_fetch(report, &bad, fx->plugin, "rows", fx->golden, &rows, &rows.written);

    /* A CSV fetch, as `dsrc fetch --format csv` asks for it: the plugin's
     * own CSV when it has one, else the same rows. */
    gd_fetch_run(fx->golden_item, DSRC_FETCH_CSV, &csv);
    if (csv.native) {
        ck_assert_msg(csv.rows == 0, "golden: a CSV fetch sent both rows and bytes");
        ck_assert_msg(csv.media && strcmp(csv.media, "text/csv") == 0,
                      "golden: the plugin's own CSV comes as '%s', not text/csv",
                      csv.media ? csv.media : "");
        gd_judge_fetch(report, &bad, fx->plugin, "csv", fx->golden, &csv, &csv.own);
    } else if (csv.written.len != rows.written.len ||
               memcmp(csv.written.s, rows.written.s, rows.written.len) != 0) {
        bad++;
        fprintf(report, "  csv: the rows of a CSV fetch differ from those of a rows fetch\n");
    }

    /* Quirks of this plugin that name nothing the table has. */
    for (i = 0; i < sizeof gd_quirks / sizeof gd_quirks[0]; i++) {
        const gd_quirk *q = &gd_quirks[i];
        if (!q->plugin || strcmp(q->plugin, fx->plugin) != 0)
            continue;
        for (j = 0; j < GD_COLS && strcmp(gd_columns[j].name, q->column) != 0; j++)
            ;
        if (j == GD_COLS || !gd_in_dialect(&gd_columns[j], fx->golden) ||
            (strcmp(q->mode, "rows") != 0 && strcmp(q->mode, "csv") != 0)) {
            bad++;
            fprintf(report, "  a quirk names %s %s, which this table does not have\n",
                    q->mode, q->column);
        } else if (strcmp(q->mode, "csv") == 0 && !csv.native) {
            bad++;
            fprintf(report, "  csv %s: a quirk is declared for the plugin's own CSV, but it "
                            "sends none: remove it from the quirk table\n", q->column);
        }
    }
    fclose(report);
    ck_assert_msg(bad == 0,
                  "golden: %s renders '%s' unlike the golden table (%d difference%s; fix the "
                  "plugin, or declare each in the quirk table of tests/conformance/golden.c "
                  "with the reason):\n%s",
                  fx->plugin, fx->golden_item, bad, bad == 1 ? "" : "s", text);
    free(text);
    gd_fetch_free(&rows);
    gd_fetch_free(&csv);
}
END_TEST

void conf_golden_add(TCase *tc)
{
    tcase_add_test(tc, t_golden);
}
