/* SPDX-License-Identifier: Apache-2.0 */
/* test_format.c -- the CSV and JSON Lines writers, byte for byte. */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "output/format.h"

/* ------------------------------------------------------------------------ */
/* Capturing output                                                          */

typedef struct capture {
    char *p;
    size_t len, cap;
    int calls;
    int fail_from;   /* fail every call numbered >= this (1-based); 0 never */
} capture;

static int cap_out(void *user, const void *data, size_t len)
{
    capture *c = user;
    c->calls++;
    if (c->fail_from && c->calls >= c->fail_from) {
        errno = ENOSPC;
        return -1;
    }
    if (c->len + len + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        while (c->len + len + 1 > cap)
            cap *= 2;
        c->p = realloc(c->p, cap);
        ck_assert_ptr_nonnull(c->p);
        c->cap = cap;
    }
    memcpy(c->p + c->len, data, len);
    c->len += len;
    c->p[c->len] = '\0';
    return 0;
}

static dsrc_column col(const char *name, dsrc_type t)
{
    dsrc_column c;
    memset(&c, 0, sizeof c);
    c.name = name;
    c.type = t;
    c.nullable = -1;
    return c;
}

static dsrc_cell c_null(void)
{
    dsrc_cell c;
    memset(&c, 0, sizeof c);
    c.type = DSRC_T_NULL;
    return c;
}

static dsrc_cell c_int(int64_t v)
{
    dsrc_cell c = c_null();
    c.type = DSRC_T_INT64;
    c.v.i = v;
    return c;
}

static dsrc_cell c_dbl(double v)
{
    dsrc_cell c = c_null();
    c.type = DSRC_T_DOUBLE;
    c.v.d = v;
    return c;
}

static dsrc_cell c_bool(int v)
{
    dsrc_cell c = c_null();
    c.type = DSRC_T_BOOL;
    c.v.b = v;
    return c;
}

static dsrc_cell c_bytes_t(dsrc_type t, const char *p, size_t n)
{
    dsrc_cell c = c_null();
    c.type = t;
    c.v.s.ptr = p;
    c.v.s.len = n;
    return c;
}

static dsrc_cell c_text(const char *s)
{
    return c_bytes_t(DSRC_T_TEXT, s, strlen(s));
}

static dsrc_cell c_json(const char *s)
{
    return c_bytes_t(DSRC_T_JSON, s, strlen(s));
}

/* Write rows (nrows x ncols cells, row-major) and return the output. */
static char *run(format_kind kind, const dsrc_column *cols, size_t ncols,
                 const dsrc_cell *cells, size_t nrows, size_t *len)
{
    capture c = {0};
    format_writer *w = format_new(kind, cap_out, &c);
    const dsrc_row_sink *s;
    size_t r;

    ck_assert_ptr_nonnull(w);
    s = format_sink(w);
    ck_assert_int_eq(s->struct_size, sizeof *s);
    ck_assert_int_eq(s->schema(s->user, cols, ncols), 0);
    for (r = 0; r < nrows; r++)
        ck_assert_int_eq(s->row(s->user, cells + r * ncols, ncols), 0);
    ck_assert_int_eq(format_finish(w), 0);
    ck_assert_uint_eq(format_rows(w), nrows);
    ck_assert_int_eq(format_failed(w), 0);
    ck_assert_ptr_null(format_error(w));
    format_free(w);
    if (!c.p)
        c.p = calloc(1, 1);
    if (len)
        *len = c.len;
    return c.p;
}

/* One column, one cell. */
static char *one(format_kind kind, dsrc_type t, dsrc_cell cell)
{
    dsrc_column c = col("v", t);
    return run(kind, &c, 1, &cell, 1, NULL);
}

#define ONE_EQ(kind, type, cell, expect)                                      \
    do {                                                                      \
        char *out_ = one(kind, type, cell);                                   \
        ck_assert_str_eq(out_, expect);                                       \
        free(out_);                                                           \
    } while (0)

/* ------------------------------------------------------------------------ */
/* CSV                                                                       */

START_TEST(csv_types)
{
    dsrc_column cols[] = {
        col("id", DSRC_T_INT64), col("name", DSRC_T_TEXT), col("score", DSRC_T_DOUBLE),
        col("ok", DSRC_T_BOOL), col("data", DSRC_T_BYTES), col("ts", DSRC_T_TIMESTAMP),
        col("doc", DSRC_T_JSON),
    };
    dsrc_cell cells[] = {
        c_int(1), c_text("alice"), c_dbl(1.5), c_bool(1),
        c_bytes_t(DSRC_T_BYTES, "\x00\xff\x10", 3), c_text("2024-01-31T12:00:00Z"),
        c_json("{\"a\": [1, 2]}"),
        c_int(-2), c_null(), c_null(), c_bool(0), c_null(), c_null(), c_null(),
    };
    char *out;

    cells[5].type = DSRC_T_TIMESTAMP;
    cells[6].type = DSRC_T_JSON;
    out = run(FORMAT_CSV, cols, 7, cells, 2, NULL);
    ck_assert_str_eq(out,
                     "id,name,score,ok,data,ts,doc\r\n"
                     "1,alice,1.5,true,AP8Q,2024-01-31T12:00:00Z,\"{\"\"a\"\": [1, 2]}\"\r\n"
                     "-2,,,false,,,\r\n");
    free(out);
}
END_TEST

START_TEST(csv_quoting)
{
    ONE_EQ(FORMAT_CSV, DSRC_T_TEXT, c_text("a,b"), "v\r\n\"a,b\"\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_TEXT, c_text("say \"hi\""), "v\r\n\"say \"\"hi\"\"\"\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_TEXT, c_text("\""), "v\r\n\"\"\"\"\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_TEXT, c_text("line1\nline2"), "v\r\n\"line1\nline2\"\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_TEXT, c_text("cr\r"), "v\r\n\"cr\r\"\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_TEXT, c_text("a\r\nb"), "v\r\n\"a\r\nb\"\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_TEXT, c_text("  spaces  "), "v\r\n  spaces  \r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_TEXT, c_text("semi;colon\ttab"), "v\r\nsemi;colon\ttab\r\n");
    /* NULL is an empty field, the empty string a quoted one */
    ONE_EQ(FORMAT_CSV, DSRC_T_TEXT, c_text(""), "v\r\n\"\"\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_TEXT, c_null(), "v\r\n\r\n");
    /* text is passed through as bytes: multibyte UTF-8 untouched */
    ONE_EQ(FORMAT_CSV, DSRC_T_TEXT, c_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
           "v\r\ncaf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\r\n");
}
END_TEST

START_TEST(csv_header_quoting)
{
    dsrc_column cols[] = {col("a,b", DSRC_T_TEXT), col("q\"", DSRC_T_TEXT),
                          col("", DSRC_T_TEXT), col("a", DSRC_T_TEXT), col("a", DSRC_T_TEXT)};
    char *out = run(FORMAT_CSV, cols, 5, NULL, 0, NULL);
    ck_assert_str_eq(out, "\"a,b\",\"q\"\"\",\"\",a,a\r\n");
    free(out);
}
END_TEST

START_TEST(csv_zero_rows_header_only)
{
    dsrc_column cols[] = {col("x", DSRC_T_INT64), col("y", DSRC_T_TEXT)};
    size_t len;
    char *out = run(FORMAT_CSV, cols, 2, NULL, 0, &len);
    ck_assert_str_eq(out, "x,y\r\n");
    ck_assert_uint_eq(len, 5);
    free(out);
}
END_TEST

START_TEST(csv_integers)
{
    ONE_EQ(FORMAT_CSV, DSRC_T_INT64, c_int(INT64_MIN), "v\r\n-9223372036854775808\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_INT64, c_int(INT64_MAX), "v\r\n9223372036854775807\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_INT64, c_int(0), "v\r\n0\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_INT64, c_int(-1), "v\r\n-1\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_INT64, c_int(9), "v\r\n9\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_INT64, c_int(10), "v\r\n10\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_INT64, c_int(99), "v\r\n99\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_INT64, c_int(100), "v\r\n100\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_INT64, c_int(-1000000007), "v\r\n-1000000007\r\n");
}
END_TEST

START_TEST(csv_integers_match_printf)
{
    int64_t v = 1;
    int i;
    char want[64];

    for (i = 0; i < 200; i++) {
        int64_t vals[] = {v, -v, v - 1, -(v - 1), v + 7};
        size_t k;
        for (k = 0; k < sizeof vals / sizeof vals[0]; k++) {
            char *out = one(FORMAT_CSV, DSRC_T_INT64, c_int(vals[k]));
            snprintf(want, sizeof want, "v\r\n%lld\r\n", (long long)vals[k]);
            ck_assert_str_eq(out, want);
            free(out);
        }
        v = v * 3 + 1;
        if (v > INT64_MAX / 4)
            v = (v % 1000003) + 1;
    }
}
END_TEST

START_TEST(csv_doubles)
{
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(0.1), "v\r\n0.1\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(-2.5), "v\r\n-2.5\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(3.0), "v\r\n3\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(0.0), "v\r\n0\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(-0.0), "v\r\n-0\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(1e300), "v\r\n1e+300\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(1.0 / 3.0), "v\r\n0.3333333333333333\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(0.1 + 0.2), "v\r\n0.30000000000000004\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(12.34), "v\r\n12.34\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(-99.99), "v\r\n-99.99\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(0.0001), "v\r\n0.0001\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(-0.00125), "v\r\n-0.00125\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(1e-5), "v\r\n1e-05\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(123456789012345.6), "v\r\n123456789012345.6\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(1e15 + 0.5), "v\r\n1.0000000000000005e+15\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(2.5e15), "v\r\n2.5e+15\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(999999999999999.0), "v\r\n999999999999999\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(1e16), "v\r\n1e+16\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(NAN), "v\r\nNaN\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(INFINITY), "v\r\nInfinity\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(-INFINITY), "v\r\n-Infinity\r\n");
}
END_TEST

/* Every finite double reads back exactly. */
START_TEST(doubles_round_trip)
{
    uint64_t x = 0x9E3779B97F4A7C15ull;
    int i;

    for (i = 0; i < 20000; i++) {
        double d;
        char *out, *end;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(&d, &x, sizeof d);
        if (!isfinite(d))
            continue;
        out = one(FORMAT_JSONL, DSRC_T_DOUBLE, c_dbl(d));
        ck_assert(strncmp(out, "{\"v\":", 5) == 0);
        ck_assert_msg(strtod(out + 5, &end) == d, "%s does not read back", out);
        ck_assert_str_eq(end, "}\n");
        free(out);
    }
}
END_TEST

/* Decimal-looking doubles print as the fewest digits that read back, the
 * way a reader expects "12.34" and not 12.339999999999. */
START_TEST(doubles_decimal_like)
{
    static const double scale[] = {1.0, 10.0, 100.0, 1000.0, 1e4, 1e6, 1e9};
    int i;
    size_t k;
    char want[64], got[64];

    for (k = 0; k < sizeof scale / sizeof scale[0]; k++) {
        for (i = -3000; i <= 3000; i += 7) {
            double d = (double)i * 1234567.0 / 1000.0 / scale[k];
            char *out;
            /* i * 1234.567 has at most 11 significant digits */
            snprintf(want, sizeof want, "%.11g", d);
            if (strtod(want, NULL) != d)
                continue;
            out = one(FORMAT_CSV, DSRC_T_DOUBLE, c_dbl(d));
            ck_assert(strncmp(out, "v\r\n", 3) == 0);
            snprintf(got, sizeof got, "%.*s", (int)(strlen(out) - 5), out + 3);
            free(out);
            ck_assert_msg(strlen(got) <= strlen(want), "%.17g: got %s, %s is shorter", d, got,
                          want);
            ck_assert_msg(strtod(got, NULL) == d, "%s", got);
        }
    }
}
END_TEST

/* The text of finite d as PostgreSQL's float8 output lays out the n digits
 * of "%.{n-1}e": fixed notation for a decimal exponent in [-4, 15), else
 * exponential with at least two exponent digits.  A reference for the
 * tests only. */
static void pg_layout(double d, int n, char *out, size_t size)
{
    char e[64], digits[32];
    int exp, nd = 0, i, o = 0;
    const char *p;

    snprintf(e, sizeof e, "%.*e", n - 1, d);
    p = e;
    if (*p == '-')
        out[o++] = *p++;
    for (; *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (exp >= -4 && exp < 15) {
        if (exp < 0) {
            out[o++] = '0';
            out[o++] = '.';
            for (i = exp + 1; i < 0; i++)
                out[o++] = '0';
            for (i = 0; i < nd; i++)
                out[o++] = digits[i];
        } else {
            for (i = 0; i <= exp || i < nd; i++) {
                if (i == exp + 1)
                    out[o++] = '.';
                out[o++] = i < nd ? digits[i] : '0';
            }
        }
        out[o] = '\0';
    } else {
        out[o++] = digits[0];
        if (nd > 1)
            out[o++] = '.';
        for (i = 1; i < nd; i++)
            out[o++] = digits[i];
        snprintf(out + o, size - (size_t)o, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
    }
}

/* The digits of a formatted double from the first non-zero one (the caller
 * drops the trailing zeros of an integer). */
static int sig_digits(const char *t)
{
    int n = 0, lead = 1;

    for (; *t && *t != 'e'; t++) {
        if (*t < '0' || *t > '9')
            continue;
        if (*t == '0' && lead)
            continue;
        lead = 0;
        n++;
    }
    return n;
}

/* Fixed cases checked against PostgreSQL 15's float8out. */
START_TEST(double_text_fixed_cases)
{
    static const struct {
        double d;
        const char *want;
    } cases[] = {
        {0.0, "0"}, {-0.0, "-0"}, {1.0, "1"}, {-1.0, "-1"}, {0.1, "0.1"},
        {0.1 + 0.2, "0.30000000000000004"}, {1e-5, "1e-05"}, {1e-4, "0.0001"},
        {123.456, "123.456"}, {1e15, "1e+15"}, {1e14, "100000000000000"},
        {999999999999999.9, "999999999999999.9"}, {1e16, "1e+16"}, {1e22, "1e+22"},
        {1e21, "1e+21"}, {9007199254740992.0, "9.007199254740992e+15"},
        {9007199254740993.0, "9.007199254740992e+15"},
        {-9007199254740991.0, "-9.007199254740991e+15"},
        {1.2345678901234568e+20, "1.2345678901234568e+20"}, {1e100, "1e+100"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {-1.7976931348623157e308, "-1.7976931348623157e+308"},
        {2.2250738585072014e-308, "2.2250738585072014e-308"},
        {4.9406564584124654e-324, "5e-324"}, {-4.9406564584124654e-324, "-5e-324"},
        {2.225073858507201e-308, "2.225073858507201e-308"}, {0.00012, "0.00012"},
        {5e-5, "5e-05"}, {1.5e300, "1.5e+300"}, {100.0, "100"}, {1e-100, "1e-100"},
        /* halfway decimals are not written (float8out's Ryu has no bounds) */
        {-2.6078045549787152e+16, "-2.6078045549787152e+16"},
        {4.1091578635197757e+18, "4.1091578635197757e+18"},
        {9.999999999999999e+22, "9.999999999999999e+22"},
        {1.2345679000000001e+20, "1.2345679000000001e+20"},
    };
    size_t i;
    char out[32];

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = format_double_text(cases[i].d, out);
        ck_assert_int_eq(n, (int)strlen(out));
        ck_assert_msg(strcmp(out, cases[i].want) == 0, "%.17g: got %s, want %s", cases[i].d,
                      out, cases[i].want);
    }
}
END_TEST

/* A million random bit patterns (every exponent, subnormals): the text
 * reads back bit for bit, no "%.{n-1}g" reads back (it is the shortest)
 * unless it is exactly halfway to a neighbouring double, and it is laid
 * out as PostgreSQL does.  A sanitizer build checks the first hundred
 * thousand (the formatter's memory); the optimised build, all. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RANDOM_DOUBLES 100000
#else
#define RANDOM_DOUBLES 1000000
#endif
START_TEST(double_text_random_shortest)
{
    uint64_t x = 0x2545F4914F6CDD1Dull;
    int i, checked = 0, ties = 0;

    for (i = 0; i < RANDOM_DOUBLES; i++) {
        double d, back;
        char out[32], shorter[64], want[64];
        int n;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(&d, &x, sizeof d);
        if (!isfinite(d) || d == 0)
            continue;
        format_double_text(d, out);
        back = strtod(out, NULL);
        ck_assert_msg(memcmp(&back, &d, sizeof d) == 0, "%s does not read back", out);
        n = sig_digits(out);
        if (!strchr(out, 'e') && !strchr(out, '.')) {
            const char *e = out + strlen(out);
            while (e > out && e[-1] == '0') {
                e--;
                n--;
            }
        }
        ck_assert_msg(n >= 1 && n <= 17, "%s: %d digits", out, n);
        if (n > 1) {
            /* only a decimal exactly halfway to a neighbour (which
             * float8out does not write) may be shorter */
            snprintf(shorter, sizeof shorter, "%.*g", n - 1, d);
            if (strtod(shorter, NULL) == d) {
                long double l = strtold(shorter, NULL);
                long double up = ((long double)d + nextafter(d, INFINITY)) / 2;
                long double down = ((long double)d + nextafter(d, -INFINITY)) / 2;
                ck_assert_msg(l == up || l == down, "%s is shorter than %s", shorter, out);
                ties++;
            }
        }
        pg_layout(d, n, want, sizeof want);
        ck_assert_msg(strcmp(out, want) == 0, "%.17g: got %s, want %s", d, out, want);
        checked++;
    }
    ck_assert_int_gt(checked, RANDOM_DOUBLES / 100 * 99);
    ck_assert_int_gt(ties, 0);
}
END_TEST

/* A double given as its text (DSRC_T_DOUBLE_TEXT, the text the host
 * writes for it) comes out byte for byte as the double does, in CSV and in
 * JSON Lines, in a double column and in a text one: random doubles, the
 * edges of fixed notation, subnormals, zeros and the non-finite ones. */
START_TEST(double_text_cells_as_doubles)
{
    static const double fixed[] = {0.0, -0.0, 1.0, -1.5, 0.1, 1e-4, 1e-5, 123456789012345.0,
                                   1e15, 1e16, 2.6078045549787152e16, 5e-324, 2.2250738585072014e-308,
                                   1.7976931348623157e308, -1e-300, NAN, INFINITY, -INFINITY};
    uint64_t x = 0x9E3779B97F4A7C15ull;
    int i, k, n_fixed = (int)(sizeof fixed / sizeof fixed[0]);

    for (i = 0; i < n_fixed + 5000; i++) {
        char text[32];
        double d;
        dsrc_cell dc, tc;
        if (i < n_fixed) {
            d = fixed[i];
        } else {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            memcpy(&d, &x, sizeof d);
        }
        if (isnan(d))
            strcpy(text, "NaN");
        else if (isinf(d))
            strcpy(text, d > 0 ? "Infinity" : "-Infinity");
        else
            format_double_text(d, text);
        dc = c_dbl(d);
        tc = c_bytes_t(DSRC_T_DOUBLE_TEXT, text, strlen(text));
        for (k = 0; k < 4; k++) {
            format_kind kind = k & 1 ? FORMAT_JSONL : FORMAT_CSV;
            dsrc_type t = k & 2 ? DSRC_T_TEXT : DSRC_T_DOUBLE;
            char *a = one(kind, t, dc), *b = one(kind, t, tc);
            ck_assert_msg(strcmp(a, b) == 0, "%s: the double wrote %s, its text %s", text, a, b);
            free(a);
            free(b);
        }
    }
}
END_TEST

/* A double's text without text, empty or longer than any double's fails
 * the row and the writer (that it is a number is the contract's check,
 * tests/integration/plugin_contracts.sh, before any writer). */
START_TEST(double_text_not_a_number)
{
    static const char long_text[] = "123456789012345678901234567890123";
    const struct {
        const char *p;
        size_t len;
    } bad[] = {{"", 0}, {NULL, 3}, {long_text, sizeof long_text - 1}};
    size_t i;
    int kind;

    for (kind = FORMAT_CSV; kind <= FORMAT_JSONL; kind++) {
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            capture c = {0};
            format_writer *w = format_new((format_kind)kind, cap_out, &c);
            const dsrc_row_sink *s = format_sink(w);
            dsrc_column cols[] = {col("v", DSRC_T_DOUBLE)};
            dsrc_cell cell = c_bytes_t(DSRC_T_DOUBLE_TEXT, bad[i].p, bad[i].len);
            char want[64];
            ck_assert_int_eq(s->schema(s->user, cols, 1), 0);
            ck_assert_int_ne(s->row(s->user, &cell, 1), 0);
            snprintf(want, sizeof want, "a double's text of %zu byte(s)", bad[i].len);
            ck_assert_ptr_nonnull(format_error(w));
            ck_assert_msg(strstr(format_error(w), want), "%s", format_error(w));
            ck_assert_int_ne(format_finish(w), 0);
            format_free(w);
            free(c.p);
        }
    }
}
END_TEST

START_TEST(csv_bytes_base64)
{
    ONE_EQ(FORMAT_CSV, DSRC_T_BYTES, c_bytes_t(DSRC_T_BYTES, "abc", 3), "v\r\nYWJj\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_BYTES, c_bytes_t(DSRC_T_BYTES, "ab", 2), "v\r\nYWI=\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_BYTES, c_bytes_t(DSRC_T_BYTES, "\xfb\xff", 2), "v\r\n+/8=\r\n");
    /* empty bytes are not NULL */
    ONE_EQ(FORMAT_CSV, DSRC_T_BYTES, c_bytes_t(DSRC_T_BYTES, "", 0), "v\r\n\"\"\r\n");
}
END_TEST

START_TEST(csv_json_and_timestamp_as_text)
{
    ONE_EQ(FORMAT_CSV, DSRC_T_JSON, c_json("[1,2]"), "v\r\n\"[1,2]\"\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_JSON, c_json("42"), "v\r\n42\r\n");
    ONE_EQ(FORMAT_CSV, DSRC_T_TIMESTAMP,
           c_bytes_t(DSRC_T_TIMESTAMP, "2024-01-31 12:00:00", 19),
           "v\r\n2024-01-31 12:00:00\r\n");
}
END_TEST

/* A field larger than the buffer, with quotes spread through it. */
START_TEST(csv_large_field)
{
    size_t n = 200000, i, len, j;
    char *big = malloc(n), *out, *want;
    dsrc_column c = col("v", DSRC_T_TEXT);
    dsrc_cell cell;

    for (i = 0; i < n; i++)
        big[i] = (i % 1000 == 999) ? '"' : (char)('a' + i % 26);
    cell = c_bytes_t(DSRC_T_TEXT, big, n);
    out = run(FORMAT_CSV, &c, 1, &cell, 1, &len);
    want = malloc(2 * n + 16);
    j = 0;
    memcpy(want, "v\r\n\"", 4);
    j = 4;
    for (i = 0; i < n; i++) {
        want[j++] = big[i];
        if (big[i] == '"')
            want[j++] = '"';
    }
    memcpy(want + j, "\"\r\n", 3);
    j += 3;
    ck_assert_uint_eq(len, j);
    ck_assert(memcmp(out, want, j) == 0);
    free(big);
    free(out);
    free(want);
}
END_TEST

START_TEST(csv_many_rows_exact)
{
    dsrc_column cols[] = {col("i", DSRC_T_INT64), col("s", DSRC_T_TEXT)};
    size_t nrows = 50000, r, len;
    dsrc_cell *cells = calloc(2 * nrows, sizeof *cells);
    char *out, *want, *p;

    for (r = 0; r < nrows; r++) {
        cells[2 * r] = c_int((int64_t)r * 7919 - 100000);
        cells[2 * r + 1] = c_text(r % 3 ? "x,y" : "plain");
    }
    out = run(FORMAT_CSV, cols, 2, cells, nrows, &len);
    want = malloc(nrows * 40 + 16);
    p = want + sprintf(want, "i,s\r\n");
    for (r = 0; r < nrows; r++)
        p += sprintf(p, "%lld,%s\r\n", (long long)r * 7919 - 100000,
                     r % 3 ? "\"x,y\"" : "plain");
    ck_assert_uint_eq(len, (size_t)(p - want));
    ck_assert(memcmp(out, want, len) == 0);
    free(cells);
    free(out);
    free(want);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* JSON Lines                                                                */

START_TEST(jsonl_types)
{
    dsrc_column cols[] = {
        col("id", DSRC_T_INT64), col("name", DSRC_T_TEXT), col("score", DSRC_T_DOUBLE),
        col("ok", DSRC_T_BOOL), col("data", DSRC_T_BYTES), col("ts", DSRC_T_TIMESTAMP),
        col("doc", DSRC_T_JSON),
    };
    dsrc_cell cells[] = {
        c_int(1), c_text("alice"), c_dbl(1.5), c_bool(1),
        c_bytes_t(DSRC_T_BYTES, "\x00\xff\x10", 3),
        c_bytes_t(DSRC_T_TIMESTAMP, "2024-01-31T12:00:00Z", 20),
        c_json("{\"a\": [1, 2]}"),
        c_int(INT64_MIN), c_text(""), c_dbl(NAN), c_bool(0), c_bytes_t(DSRC_T_BYTES, "", 0),
        c_null(), c_null(),
    };
    char *out = run(FORMAT_JSONL, cols, 7, cells, 2, NULL);
    ck_assert_str_eq(out,
                     "{\"id\":1,\"name\":\"alice\",\"score\":1.5,\"ok\":true,\"data\":\"AP8Q\","
                     "\"ts\":\"2024-01-31T12:00:00Z\",\"doc\":{\"a\": [1, 2]}}\n"
                     "{\"id\":-9223372036854775808,\"name\":\"\",\"score\":\"NaN\",\"ok\":false,"
                     "\"data\":\"\",\"ts\":null,\"doc\":null}\n");
    free(out);
}
END_TEST

START_TEST(jsonl_escaping)
{
    static const char in[] = "q\" b\\ n\n r\r t\t b\b f\f c\x01 \x1f del\x7f nul\0end";
    ONE_EQ(FORMAT_JSONL, DSRC_T_TEXT, c_bytes_t(DSRC_T_TEXT, in, sizeof in - 1),
           "{\"v\":\"q\\\" b\\\\ n\\n r\\r t\\t b\\b f\\f c\\u0001 \\u001f del\x7f nul"
           "\\u0000end\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_TEXT, c_text("</script>"), "{\"v\":\"</script>\"}\n");
}
END_TEST

START_TEST(jsonl_utf8)
{
    /* valid multibyte sequences pass through */
    ONE_EQ(FORMAT_JSONL, DSRC_T_TEXT, c_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"),
           "{\"v\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"}\n");
    /* invalid ones: each maximal invalid subpart becomes one U+FFFD */
    ONE_EQ(FORMAT_JSONL, DSRC_T_TEXT, c_text("a\xff" "b"), "{\"v\":\"a\xef\xbf\xbd" "b\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_TEXT, c_text("a\xc3"), "{\"v\":\"a\xef\xbf\xbd\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_TEXT, c_text("\xe2\x82x"), "{\"v\":\"\xef\xbf\xbdx\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_TEXT, c_text("\xc0\xaf"),
           "{\"v\":\"\xef\xbf\xbd\xef\xbf\xbd\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_TEXT, c_text("\xed\xa0\x80"),
           "{\"v\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_TEXT, c_text("\xf4\x90\x80\x80"),
           "{\"v\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_TEXT, c_text("\xf0\x9f\x98"), "{\"v\":\"\xef\xbf\xbd\"}\n");
    /* overlong forms */
    ONE_EQ(FORMAT_JSONL, DSRC_T_TEXT, c_text("\xe0\x80\x80"),
           "{\"v\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_TEXT, c_text("\xf0\x8f\xbf\xbf"),
           "{\"v\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}\n");
    /* the edges of the valid ranges */
    ONE_EQ(FORMAT_JSONL, DSRC_T_TEXT, c_text("\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"),
           "{\"v\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_TEXT, c_text("\x80\x80"),
           "{\"v\":\"\xef\xbf\xbd\xef\xbf\xbd\"}\n");
}
END_TEST

/* Arbitrary bytes always give a line that a JSON parser accepts, and valid
 * text comes back unchanged. */
START_TEST(jsonl_random_text_is_valid_json)
{
    uint32_t x = 12345;
    int round;

    for (round = 0; round < 3000; round++) {
        char buf[64];
        size_t n = (size_t)(round % 64), i;
        char *out;
        json_t *j;
        json_error_t err;

        for (i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (char)(x >> 16);
        }
        out = one(FORMAT_JSONL, DSRC_T_TEXT, c_bytes_t(DSRC_T_TEXT, buf, n));
        ck_assert_uint_eq(strchr(out, '\n') - out, strlen(out) - 1);
        j = json_loads(out, JSON_ALLOW_NUL, &err);
        ck_assert_msg(j != NULL, "round %d: %s", round, err.text);
        ck_assert(json_is_string(json_object_get(j, "v")));
        json_decref(j);
        free(out);
    }
    {
        static const char text[] = "h\xc3\xa9llo\n\"w\\orld\"\t\x01\xe2\x82\xac";
        char *out = one(FORMAT_JSONL, DSRC_T_TEXT, c_text(text));
        json_t *j = json_loads(out, 0, NULL);
        ck_assert_ptr_nonnull(j);
        ck_assert_str_eq(json_string_value(json_object_get(j, "v")), text);
        json_decref(j);
        free(out);
    }
}
END_TEST

START_TEST(jsonl_json_cells)
{
    /* valid documents are embedded, line breaks between tokens dropped */
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("{\n  \"a\": 1,\r\n  \"b\": [true, null]\n}\n"),
           "{\"v\":{  \"a\": 1,  \"b\": [true, null]}}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("42"), "{\"v\":42}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json(" -1.5e+10 "), "{\"v\":-1.5e+10}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("\"s\\u00e9\""), "{\"v\":\"s\\u00e9\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("null"), "{\"v\":null}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("[]"), "{\"v\":[]}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("{}"), "{\"v\":{}}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("123456789012345678901234567890"),
           "{\"v\":123456789012345678901234567890}\n");
    /* invalid documents become strings */
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("{a:1}"), "{\"v\":\"{a:1}\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("[1,]"), "{\"v\":\"[1,]\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("01"), "{\"v\":\"01\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("1 2"), "{\"v\":\"1 2\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("[1"), "{\"v\":\"[1\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("{\"a\"}"), "{\"v\":\"{\\\"a\\\"}\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("NaN"), "{\"v\":\"NaN\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("tru"), "{\"v\":\"tru\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("\"a\nb\""), "{\"v\":\"\\\"a\\nb\\\"\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("\"\\x\""), "{\"v\":\"\\\"\\\\x\\\"\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json(""), "{\"v\":\"\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_JSON, c_json("\"\xff\""), "{\"v\":\"\\\"\xef\xbf\xbd\\\"\"}\n");
}
END_TEST

START_TEST(jsonl_json_cell_too_deep)
{
    size_t depth = 600, i;
    char *doc = malloc(2 * depth + 1), *out;
    json_t *j;

    for (i = 0; i < depth; i++) {
        doc[i] = '[';
        doc[depth + i] = ']';
    }
    doc[2 * depth] = '\0';
    out = one(FORMAT_JSONL, DSRC_T_JSON, c_json(doc));
    /* embedded as a string: still one valid line */
    j = json_loads(out, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "v")), doc);
    json_decref(j);
    free(out);
    free(doc);
}
END_TEST

START_TEST(jsonl_non_finite_doubles)
{
    /* Strings, never null: a NULL and a NaN stay apart. */
    ONE_EQ(FORMAT_JSONL, DSRC_T_DOUBLE, c_dbl(NAN), "{\"v\":\"NaN\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_DOUBLE, c_dbl(-NAN), "{\"v\":\"NaN\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_DOUBLE, c_dbl(INFINITY), "{\"v\":\"Infinity\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_DOUBLE, c_dbl(-INFINITY), "{\"v\":\"-Infinity\"}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_NULL, c_null(), "{\"v\":null}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_DOUBLE, c_dbl(1e-7), "{\"v\":1e-07}\n");
    ONE_EQ(FORMAT_JSONL, DSRC_T_INT64, c_int(INT64_MAX), "{\"v\":9223372036854775807}\n");
}
END_TEST

START_TEST(jsonl_zero_rows_empty)
{
    dsrc_column cols[] = {col("x", DSRC_T_INT64)};
    size_t len = 99;
    char *out = run(FORMAT_JSONL, cols, 1, NULL, 0, &len);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

START_TEST(jsonl_keys)
{
    dsrc_column cols[] = {col("a", DSRC_T_INT64), col("a", DSRC_T_INT64),
                          col("we\"ird\n\xff", DSRC_T_TEXT), col("", DSRC_T_BOOL)};
    dsrc_cell cells[] = {c_int(1), c_int(2), c_text("x"), c_bool(1)};
    char *out = run(FORMAT_JSONL, cols, 4, cells, 1, NULL);
    ck_assert_str_eq(out, "{\"a\":1,\"a\":2,\"we\\\"ird\\n\xef\xbf\xbd\":\"x\",\"\":true}\n");
    free(out);
}
END_TEST

START_TEST(zero_columns)
{
    char *out = run(FORMAT_JSONL, NULL, 0, NULL, 2, NULL);
    ck_assert_str_eq(out, "{}\n{}\n");
    free(out);
}
END_TEST

/* A long run of wide rows: every line parses and holds what was sent. */
START_TEST(jsonl_many_rows_parse)
{
    dsrc_column cols[] = {col("i", DSRC_T_INT64), col("s", DSRC_T_TEXT),
                          col("d", DSRC_T_DOUBLE), col("j", DSRC_T_JSON)};
    size_t nrows = 20000, r, len;
    dsrc_cell *cells = calloc(4 * nrows, sizeof *cells);
    char *out, *line;

    for (r = 0; r < nrows; r++) {
        cells[4 * r] = c_int((int64_t)r);
        cells[4 * r + 1] = c_text(r % 2 ? "odd \"one\"\n" : "even \xe2\x82\xac");
        cells[4 * r + 2] = c_dbl((double)r / 7.0);
        cells[4 * r + 3] = c_json(r % 5 ? "{\"k\":[1,{\"z\":null}]}" : "not json");
    }
    out = run(FORMAT_JSONL, cols, 4, cells, nrows, &len);
    line = out;
    for (r = 0; r < nrows; r++) {
        char *nl = strchr(line, '\n');
        json_t *j;
        json_error_t err;
        ck_assert_ptr_nonnull(nl);
        j = json_loadb(line, (size_t)(nl - line), 0, &err);
        ck_assert_msg(j != NULL, "row %zu: %s", r, err.text);
        ck_assert_int_eq(json_integer_value(json_object_get(j, "i")), (json_int_t)r);
        ck_assert_str_eq(json_string_value(json_object_get(j, "s")),
                         r % 2 ? "odd \"one\"\n" : "even \xe2\x82\xac");
        ck_assert(json_number_value(json_object_get(j, "d")) == (double)r / 7.0);
        if (r % 5)
            ck_assert(json_is_array(json_object_get(json_object_get(j, "j"), "k")));
        else
            ck_assert_str_eq(json_string_value(json_object_get(j, "j")), "not json");
        json_decref(j);
        line = nl + 1;
    }
    ck_assert_uint_eq((size_t)(line - out), len);
    free(cells);
    free(out);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Protocol errors and output failures                                       */

START_TEST(cell_count_mismatch)
{
    int kind;
    for (kind = FORMAT_CSV; kind <= FORMAT_JSONL; kind++) {
        capture c = {0};
        format_writer *w = format_new((format_kind)kind, cap_out, &c);
        const dsrc_row_sink *s = format_sink(w);
        dsrc_column cols[] = {col("a", DSRC_T_INT64), col("b", DSRC_T_INT64)};
        dsrc_cell cells[] = {c_int(1), c_int(2), c_int(3)};

        ck_assert_int_eq(s->schema(s->user, cols, 2), 0);
        ck_assert_int_eq(s->row(s->user, cells, 2), 0);
        ck_assert_int_ne(s->row(s->user, cells, 1), 0);
        ck_assert_ptr_nonnull(format_error(w));
        ck_assert_ptr_nonnull(strstr(format_error(w), "row 2 has 1 cells"));
        /* stays refused */
        ck_assert_int_ne(s->row(s->user, cells, 2), 0);
        ck_assert_int_ne(format_finish(w), 0);
        ck_assert_uint_eq(format_rows(w), 1);
        ck_assert_int_eq(format_failed(w), 0);
        format_free(w);
        free(c.p);

        c = (capture){0};
        w = format_new((format_kind)kind, cap_out, &c);
        s = format_sink(w);
        ck_assert_int_eq(s->schema(s->user, cols, 2), 0);
        ck_assert_int_ne(s->row(s->user, cells, 3), 0);
        ck_assert_int_ne(format_finish(w), 0);
        format_free(w);
        free(c.p);
    }
}
END_TEST

START_TEST(protocol_errors)
{
    capture c = {0};
    format_writer *w = format_new(FORMAT_JSONL, cap_out, &c);
    const dsrc_row_sink *s = format_sink(w);
    dsrc_column cols[] = {col("a", DSRC_T_INT64)};
    dsrc_cell cell = c_int(1);

    /* a row before the schema */
    ck_assert_int_ne(s->row(s->user, &cell, 1), 0);
    ck_assert_ptr_nonnull(strstr(format_error(w), "before the schema"));
    format_free(w);

    w = format_new(FORMAT_CSV, cap_out, &c);
    s = format_sink(w);
    ck_assert_int_eq(s->schema(s->user, cols, 1), 0);
    ck_assert_int_ne(s->schema(s->user, cols, 1), 0);
    format_free(w);

    /* an unknown cell type */
    w = format_new(FORMAT_JSONL, cap_out, &c);
    s = format_sink(w);
    ck_assert_int_eq(s->schema(s->user, cols, 1), 0);
    cell.type = (dsrc_type)99;
    ck_assert_int_ne(s->row(s->user, &cell, 1), 0);
    ck_assert_ptr_nonnull(strstr(format_error(w), "unknown cell type 99"));
    ck_assert_int_ne(format_finish(w), 0);
    format_free(w);
    free(c.p);

    ck_assert_ptr_null(format_new((format_kind)7, cap_out, &c));
    ck_assert_ptr_null(format_new(FORMAT_CSV, NULL, NULL));
    format_free(NULL);
}
END_TEST

START_TEST(output_failure_mid_stream)
{
    int kind;
    for (kind = FORMAT_CSV; kind <= FORMAT_JSONL; kind++) {
        capture c = {0};
        format_writer *w;
        const dsrc_row_sink *s;
        dsrc_column cols[] = {col("s", DSRC_T_TEXT)};
        char text[1000];
        dsrc_cell cell;
        int r, refused = 0;

        memset(text, 'x', sizeof text);
        cell = c_bytes_t(DSRC_T_TEXT, text, sizeof text);
        c.fail_from = 2; /* the first flush succeeds, the second fails */
        w = format_new((format_kind)kind, cap_out, &c);
        s = format_sink(w);
        ck_assert_int_eq(s->schema(s->user, cols, 1), 0);
        for (r = 0; r < 1000 && !refused; r++)
            refused = s->row(s->user, &cell, 1) != 0;
        ck_assert_msg(refused, "the sink never reported the failed write");
        ck_assert_int_lt(r, 200);
        ck_assert_int_eq(format_failed(w), 1);
        ck_assert_int_eq(format_errno(w), ENOSPC);
        ck_assert_int_ne(s->row(s->user, &cell, 1), 0);
        ck_assert_int_eq(format_finish(w), -1);
        ck_assert_int_eq(c.calls, 2);
        format_free(w);
        free(c.p);
    }
}
END_TEST

START_TEST(output_failure_at_finish)
{
    capture c = {0};
    format_writer *w;
    const dsrc_row_sink *s;
    dsrc_column cols[] = {col("a", DSRC_T_INT64)};
    dsrc_cell cell = c_int(5);

    c.fail_from = 1;
    w = format_new(FORMAT_CSV, cap_out, &c);
    s = format_sink(w);
    ck_assert_int_eq(s->schema(s->user, cols, 1), 0);
    ck_assert_int_eq(s->row(s->user, &cell, 1), 0);
    ck_assert_int_eq(format_failed(w), 0);
    ck_assert_int_eq(format_finish(w), -1);
    ck_assert_int_eq(format_failed(w), 1);
    ck_assert_int_eq(format_errno(w), ENOSPC);
    format_free(w);

    /* a huge single cell goes straight to the output and fails there */
    c = (capture){0};
    c.fail_from = 1;
    w = format_new(FORMAT_JSONL, cap_out, &c);
    s = format_sink(w);
    {
        dsrc_column tc = col("t", DSRC_T_TEXT);
        size_t n = 300000;
        char *big = malloc(n);
        dsrc_cell bc;
        memset(big, 'y', n);
        bc = c_bytes_t(DSRC_T_TEXT, big, n);
        ck_assert_int_eq(s->schema(s->user, &tc, 1), 0);
        ck_assert_int_ne(s->row(s->user, &bc, 1), 0);
        free(big);
    }
    ck_assert_int_eq(format_finish(w), -1);
    format_free(w);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Schema copy and helpers                                                   */

START_TEST(columns_deep_copy)
{
    capture c = {0};
    format_writer *w = format_new(FORMAT_CSV, cap_out, &c);
    const dsrc_row_sink *s = format_sink(w);
    char name[16], native[16], def[16];
    dsrc_column cols[2];
    const dsrc_column *got;
    size_t n = 99;

    ck_assert_ptr_null(format_columns(w, &n));
    ck_assert_uint_eq(n, 0);
    strcpy(name, "price");
    strcpy(native, "numeric(10,2)");
    strcpy(def, "0");
    cols[0] = col(name, DSRC_T_TEXT);
    cols[0].native_type = native;
    cols[0].nullable = 0;
    cols[0].primary_key = 1;
    cols[0].default_value = def;
    cols[1] = col("note", DSRC_T_TEXT);
    cols[1].comment = "free text";
    ck_assert_int_eq(s->schema(s->user, cols, 2), 0);
    memset(name, 'X', sizeof name - 1);
    memset(native, 'X', sizeof native - 1);
    memset(def, 0, sizeof def);
    memset(cols, 0, sizeof cols);

    got = format_columns(w, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(got[0].name, "price");
    ck_assert_str_eq(got[0].native_type, "numeric(10,2)");
    ck_assert_str_eq(got[0].default_value, "0");
    ck_assert_int_eq(got[0].type, DSRC_T_TEXT);
    ck_assert_int_eq(got[0].nullable, 0);
    ck_assert_int_eq(got[0].primary_key, 1);
    ck_assert_ptr_null(got[0].comment);
    ck_assert_str_eq(got[1].name, "note");
    ck_assert_str_eq(got[1].comment, "free text");
    ck_assert_ptr_null(got[1].native_type);
    ck_assert_int_eq(got[1].nullable, -1);
    ck_assert_int_eq(format_finish(w), 0);
    ck_assert_str_eq(c.p, "price,note\r\n");
    format_free(w);
    free(c.p);
}
END_TEST

START_TEST(names_and_base64)
{
    char *b;

    ck_assert_int_eq(format_parse("csv"), FORMAT_CSV);
    ck_assert_int_eq(format_parse("jsonl"), FORMAT_JSONL);
    ck_assert_int_eq(format_parse("xml"), -1);
    ck_assert_int_eq(format_parse(""), -1);
    ck_assert_int_eq(format_parse(NULL), -1);
    ck_assert_str_eq(format_name(FORMAT_CSV), "csv");
    ck_assert_str_eq(format_name(FORMAT_JSONL), "jsonl");
    ck_assert_str_eq(format_extension(FORMAT_CSV), "csv");
    ck_assert_str_eq(format_extension(FORMAT_JSONL), "jsonl");

    b = format_base64("", 0);
    ck_assert_str_eq(b, "");
    free(b);
    b = format_base64("a", 1);
    ck_assert_str_eq(b, "YQ==");
    free(b);
    b = format_base64("foobar", 6);
    ck_assert_str_eq(b, "Zm9vYmFy");
    free(b);
    {
        size_t n = 100000, i;
        unsigned char *raw = malloc(n);
        char *one_shot;
        for (i = 0; i < n; i++)
            raw[i] = (unsigned char)(i * 31 + 7);
        b = format_base64(raw, n);
        one_shot = malloc(4 * ((n + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *)one_shot, raw, (int)n);
        ck_assert_str_eq(b, one_shot);
        free(one_shot);
        free(raw);
        free(b);
    }
}
END_TEST

/* Large bytes cells are encoded in chunks; the result equals one-shot. */
START_TEST(large_bytes_cell)
{
    size_t n = 150001, i, len;
    unsigned char *raw = malloc(n);
    char *out, *b64;
    dsrc_column cl = col("b", DSRC_T_BYTES);
    dsrc_cell cell;

    for (i = 0; i < n; i++)
        raw[i] = (unsigned char)(i * 131 + 3);
    cell = c_bytes_t(DSRC_T_BYTES, (const char *)raw, n);
    out = run(FORMAT_JSONL, &cl, 1, &cell, 1, &len);
    b64 = format_base64(raw, n);
    ck_assert_uint_eq(len, strlen(b64) + 9);
    ck_assert(strncmp(out, "{\"b\":\"", 6) == 0);
    ck_assert(memcmp(out + 6, b64, strlen(b64)) == 0);
    ck_assert_str_eq(out + 6 + strlen(b64), "\"}\n");
    free(raw);
    free(out);
    free(b64);
}
END_TEST

static Suite *format_suite(void)
{
    Suite *s = suite_create("format");
    TCase *csv = tcase_create("csv"), *jl = tcase_create("jsonl"),
          *err = tcase_create("errors"), *misc = tcase_create("misc"),
          *dbl = tcase_create("doubles");

    tcase_add_test(csv, csv_types);
    tcase_add_test(csv, csv_quoting);
    tcase_add_test(csv, csv_header_quoting);
    tcase_add_test(csv, csv_zero_rows_header_only);
    tcase_add_test(csv, csv_integers);
    tcase_add_test(csv, csv_integers_match_printf);
    tcase_add_test(csv, csv_doubles);
    tcase_add_test(csv, csv_bytes_base64);
    tcase_add_test(csv, csv_json_and_timestamp_as_text);
    tcase_add_test(csv, csv_large_field);
    tcase_add_test(csv, csv_many_rows_exact);
    suite_add_tcase(s, csv);

    tcase_add_test(jl, jsonl_types);
    tcase_add_test(jl, jsonl_escaping);
    tcase_add_test(jl, jsonl_utf8);
    tcase_add_test(jl, jsonl_random_text_is_valid_json);
    tcase_add_test(jl, jsonl_json_cells);
    tcase_add_test(jl, jsonl_json_cell_too_deep);
    tcase_add_test(jl, jsonl_non_finite_doubles);
    tcase_add_test(jl, jsonl_zero_rows_empty);
    tcase_add_test(jl, jsonl_keys);
    tcase_add_test(jl, zero_columns);
    tcase_add_test(jl, jsonl_many_rows_parse);
    tcase_add_test(jl, doubles_round_trip);
    tcase_add_test(jl, doubles_decimal_like);
    tcase_add_test(jl, double_text_fixed_cases);
    tcase_add_test(jl, double_text_cells_as_doubles);
    /* a million doubles with three reference conversions each */
    tcase_set_timeout(dbl, 300);
    tcase_add_test(dbl, double_text_random_shortest);
    suite_add_tcase(s, dbl);
    suite_add_tcase(s, jl);

    tcase_add_test(err, cell_count_mismatch);
    tcase_add_test(err, protocol_errors);
    tcase_add_test(err, double_text_not_a_number);
    tcase_add_test(err, output_failure_mid_stream);
    tcase_add_test(err, output_failure_at_finish);
    suite_add_tcase(s, err);

    tcase_add_test(misc, columns_deep_copy);
    tcase_add_test(misc, names_and_base64);
    tcase_add_test(misc, large_bytes_cell);
    suite_add_tcase(s, misc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(format_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
