/* SPDX-License-Identifier: Apache-2.0 */
/* test_mask.c -- column masking: modes, the option, HMAC, truncation, last4. */
#include <config.h>

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "output/mask.h"

static const char key1[] = "0123456789abcdef0123456789abcdef";
static const char key2[] = "fedcba9876543210fedcba9876543210";

static dsrc_cell text_cell(const char *s)
{
    dsrc_cell c;
    memset(&c, 0, sizeof c);
    c.type = DSRC_T_TEXT;
    c.v.s.ptr = s;
    c.v.s.len = strlen(s);
    return c;
}

static char *cell_str(const dsrc_cell *c)
{
    static char buf[256];
    if (c->type == DSRC_T_NULL)
        return strcpy(buf, "(null)");
    snprintf(buf, sizeof buf, "%.*s", (int)c->v.s.len, c->v.s.ptr);
    return buf;
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

START_TEST(parse_modes)
{
    mask_mode m;
    mask_unit u;
    const char *why = NULL;
    static const char *const units[] = {"year", "month", "day", "hour", "minute"};
    char buf[32];
    int i;

    ck_assert_int_eq(mask_parse_mode("hash", &m, &u, &why), 0);
    ck_assert_int_eq(m, MASK_HASH);
    ck_assert_int_eq(mask_parse_mode("redact", &m, &u, &why), 0);
    ck_assert_int_eq(m, MASK_REDACT);
    ck_assert_int_eq(mask_parse_mode("last4", &m, &u, &why), 0);
    ck_assert_int_eq(m, MASK_LAST4);
    for (i = 0; i < 5; i++) {
        snprintf(buf, sizeof buf, "truncate:%s", units[i]);
        ck_assert_int_eq(mask_parse_mode(buf, &m, &u, &why), 0);
        ck_assert_int_eq(m, MASK_TRUNCATE);
        ck_assert_int_eq(u, MASK_YEAR + i);
        ck_assert_str_eq(mask_mode_name(m, u), buf);
    }
    ck_assert_int_eq(mask_parse_mode("sha1", &m, &u, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "unknown mode"));
    ck_assert_int_eq(mask_parse_mode("truncate", &m, &u, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "without its unit"));
    ck_assert_int_eq(mask_parse_mode("truncate:week", &m, &u, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "unit"));
    ck_assert_int_eq(mask_parse_mode("", &m, &u, &why), -1);
    ck_assert_int_eq(mask_parse_mode("HASH", &m, &u, &why), -1);
}
END_TEST

START_TEST(parse_option)
{
    mask_rule *v = NULL;
    size_t n = 0;
    char *why = NULL;

    ck_assert_int_eq(mask_parse_option("email=hash,phone=redact,birth_date=truncate:year",
                                       &v, &n, &why), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(v[0].column, "email");
    ck_assert_int_eq(v[0].mode, MASK_HASH);
    ck_assert_str_eq(v[1].column, "phone");
    ck_assert_int_eq(v[1].mode, MASK_REDACT);
    ck_assert_str_eq(v[2].column, "birth_date");
    ck_assert_int_eq(v[2].mode, MASK_TRUNCATE);
    ck_assert_int_eq(v[2].unit, MASK_YEAR);
    /* a second mode for a column replaces the first */
    ck_assert_int_eq(mask_parse_option("phone=last4,,", &v, &n, &why), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(v[1].mode, MASK_LAST4);

    ck_assert_int_eq(mask_parse_option("email", &v, &n, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "not COLUMN=MODE"));
    free(why);
    ck_assert_int_eq(mask_parse_option("=hash", &v, &n, &why), -1);
    free(why);
    ck_assert_int_eq(mask_parse_option("", &v, &n, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "at least one"));
    free(why);
    ck_assert_int_eq(mask_parse_option("email=scramble", &v, &n, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "column 'email': 'scramble' is an unknown mode"));
    free(why);
    ck_assert_uint_eq(n, 3);
    mask_rules_free(v, n);
}
END_TEST

/* One text column masked with `mode`, bound. */
static mask_applier *one_col(const char *mode, const char *key, dsrc_type type)
{
    mask_rule *v = NULL;
    size_t n = 0;
    char *why = NULL;
    mask_applier *m;
    dsrc_column col;
    derr e = {0};

    ck_assert_int_eq(mask_rules_add(&v, &n, "c", mode, &why), 0);
    m = mask_new(v, n, key, strlen(key), &e);
    ck_assert_ptr_nonnull(m);
    memset(&col, 0, sizeof col);
    col.name = "c";
    col.type = type;
    ck_assert_int_eq(mask_bind(m, "t", &col, 1, &e), DSRC_OK);
    mask_rules_free(v, n);
    return m;
}

START_TEST(hash_is_hmac_sha256)
{
    /* RFC 4231 test case 1: key 0x0b x 20, "Hi There" */
    unsigned char k[20];
    char kk[21];
    mask_applier *m;
    dsrc_cell in = text_cell("Hi There"), out;

    memset(k, 0x0b, sizeof k);
    memcpy(kk, k, 20);
    kk[20] = '\0';
    m = one_col("hash", kk, DSRC_T_TEXT);
    ck_assert_int_eq(mask_cell(m, 0, &in, &out), 0);
    ck_assert_int_eq(out.type, DSRC_T_TEXT);
    ck_assert_str_eq(cell_str(&out),
                     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    mask_free(m);
}
END_TEST

/* Every value length from 0 to 200 bytes, across the one-block edge
 * (55, 56 bytes) and the block size, equals libcrypto's HMAC(). */
START_TEST(hash_every_length)
{
    mask_applier *m = one_col("hash", key1, DSRC_T_TEXT);
    unsigned char v[200], d[32];
    unsigned int dlen = 0;
    char want[65];
    dsrc_cell in, out;
    size_t n;

    for (n = 0; n < sizeof v; n++)
        v[n] = (unsigned char)('a' + n % 26);
    for (n = 0; n <= sizeof v; n++) {
        memset(&in, 0, sizeof in);
        in.type = DSRC_T_TEXT;
        in.v.s.ptr = (const char *)v;
        in.v.s.len = n;
        ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key1, (int)strlen(key1), v, n, d, &dlen));
        ck_assert_uint_eq(dlen, 32);
        hex(d, 32, want);
        ck_assert_int_eq(mask_cell(m, 0, &in, &out), 0);
        ck_assert_msg(strcmp(cell_str(&out), want) == 0, "length %zu: %s, want %s", n,
                      cell_str(&out), want);
    }
    mask_free(m);
}
END_TEST

START_TEST(hash_keyed_and_stable)
{
    mask_applier *a = one_col("hash", key1, DSRC_T_TEXT), *b = one_col("hash", key1, DSRC_T_TEXT);
    mask_applier *c = one_col("hash", key2, DSRC_T_TEXT), *i = one_col("hash", key1, DSRC_T_INT64);
    dsrc_cell in = text_cell("alice@example.com"), num, out;
    char ha[65], hb[65], hc[65];
    unsigned char id[32];
    unsigned int idlen = 0;
    char idhex[17];
    derr e = {0};

    ck_assert_int_eq(mask_cell(a, 0, &in, &out), 0);
    strcpy(ha, cell_str(&out));
    ck_assert_uint_eq(strlen(ha), 64);
    ck_assert_uint_eq(strspn(ha, "0123456789abcdef"), 64);
    ck_assert_int_eq(mask_cell(b, 0, &in, &out), 0);
    strcpy(hb, cell_str(&out));
    ck_assert_str_eq(ha, hb);
    /* again through the same context */
    ck_assert_int_eq(mask_cell(a, 0, &in, &out), 0);
    ck_assert_str_eq(cell_str(&out), ha);
    ck_assert_int_eq(mask_cell(c, 0, &in, &out), 0);
    strcpy(hc, cell_str(&out));
    ck_assert_str_ne(ha, hc);

    /* an integer hashes as its decimal text */
    memset(&num, 0, sizeof num);
    num.type = DSRC_T_INT64;
    num.v.i = -42;
    ck_assert_int_eq(mask_cell(i, 0, &num, &out), 0);
    strcpy(hb, cell_str(&out));
    in = text_cell("-42");
    ck_assert_int_eq(mask_cell(a, 0, &in, &out), 0);
    ck_assert_str_eq(cell_str(&out), hb);
    ck_assert_int_eq(mask_columns(i, &(size_t){0})[0].type, DSRC_T_TEXT);

    /* a double hashes as the text dsrc writes for it, whether it came as
     * a double or as that text (DSRC_T_DOUBLE_TEXT); the non-finite ones
     * as NaN, Infinity, -Infinity */
    {
        mask_applier *d = one_col("hash", key1, DSRC_T_DOUBLE);
        static const struct {
            double v;
            const char *text;
        } dbl[] = {{0.1, "0.1"}, {-0.0, "-0"}, {1e20, "1e+20"}, {1e-5, "1e-05"},
                   {NAN, "NaN"}, {INFINITY, "Infinity"}, {-INFINITY, "-Infinity"}};
        size_t k;
        for (k = 0; k < sizeof dbl / sizeof dbl[0]; k++) {
            dsrc_cell dc, tc;
            char hd[65];
            memset(&dc, 0, sizeof dc);
            dc.type = DSRC_T_DOUBLE;
            dc.v.d = dbl[k].v;
            tc = text_cell(dbl[k].text);
            tc.type = DSRC_T_DOUBLE_TEXT;
            ck_assert_int_eq(mask_cell(d, 0, &dc, &out), 0);
            strcpy(hd, cell_str(&out));
            ck_assert_int_eq(mask_cell(d, 0, &tc, &out), 0);
            ck_assert_msg(strcmp(cell_str(&out), hd) == 0, "%s", dbl[k].text);
            in = text_cell(dbl[k].text);
            ck_assert_int_eq(mask_cell(a, 0, &in, &out), 0);
            ck_assert_msg(strcmp(cell_str(&out), hd) == 0, "%s as text", dbl[k].text);
        }
        mask_free(d);
    }

    /* the key id: HMAC(key, label), 8 bytes */
    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key1, (int)strlen(key1),
                               (const unsigned char *)MASK_KEY_ID_LABEL,
                               strlen(MASK_KEY_ID_LABEL), id, &idlen));
    hex(id, 8, idhex);
    ck_assert_str_eq(mask_key_id(a), idhex);
    ck_assert_str_ne(mask_key_id(a), mask_key_id(c));
    ck_assert_ptr_null(strstr(mask_key_id(a), "0123456789abcdef"));

    /* a short key is refused */
    ck_assert_ptr_null(mask_new(NULL, 0, "short", 5, &e));
    ck_assert_int_eq(e.status, DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "at least 16"));
    derr_clear(&e);
    mask_free(a);
    mask_free(b);
    mask_free(c);
    mask_free(i);
}
END_TEST

static const char *cut(const char *s, mask_unit u)
{
    static char out[128];
    int n = mask_truncate_text(s, strlen(s), u, out);
    if (n < 0)
        return "(bad)";
    out[n] = '\0';
    return out;
}

START_TEST(truncate_text)
{
    ck_assert_str_eq(cut("2024-05-17", MASK_YEAR), "2024-01-01");
    ck_assert_str_eq(cut("2024-05-17", MASK_MONTH), "2024-05-01");
    ck_assert_str_eq(cut("2024-05-17", MASK_DAY), "2024-05-17");
    ck_assert_str_eq(cut("2024-05-17", MASK_HOUR), "2024-05-17");
    ck_assert_str_eq(cut("2024-05-17T10:42:07.25Z", MASK_YEAR), "2024-01-01T00:00:00Z");
    ck_assert_str_eq(cut("2024-05-17T10:42:07.25Z", MASK_MONTH), "2024-05-01T00:00:00Z");
    ck_assert_str_eq(cut("2024-05-17T10:42:07.25Z", MASK_DAY), "2024-05-17T00:00:00Z");
    ck_assert_str_eq(cut("2024-05-17T10:42:07.25Z", MASK_HOUR), "2024-05-17T10:00:00Z");
    ck_assert_str_eq(cut("2024-05-17T10:42:07.25Z", MASK_MINUTE), "2024-05-17T10:42:00Z");
    ck_assert_str_eq(cut("2024-05-17T10:42:07", MASK_HOUR), "2024-05-17T10:00:00");
    ck_assert_str_eq(cut("2024-05-17 10:42", MASK_MINUTE), "2024-05-17 10:42");
    ck_assert_str_eq(cut("2024-05-17T10:42:07+02:00", MASK_DAY), "2024-05-17T00:00:00+02:00");
    ck_assert_str_eq(cut("-0043-03-15", MASK_YEAR), "-0043-01-01");
    ck_assert_str_eq(cut("+12024-03-15", MASK_MONTH), "+12024-03-01");
    ck_assert_str_eq(cut("infinity", MASK_YEAR), "(bad)");
    ck_assert_str_eq(cut("17/05/2024", MASK_YEAR), "(bad)");
    ck_assert_str_eq(cut("2024-05", MASK_YEAR), "(bad)");
    ck_assert_str_eq(cut("2024-05-17 and more", MASK_YEAR), "(bad)");
    ck_assert_str_eq(cut("2024-05-17T10:42:07Zx", MASK_YEAR), "(bad)");
}
END_TEST

START_TEST(truncate_cells)
{
    mask_applier *m = one_col("truncate:month", key1, DSRC_T_TIMESTAMP);
    dsrc_cell in, out;

    in = text_cell("2023-11-30T23:59:59.999999Z");
    in.type = DSRC_T_TIMESTAMP;
    ck_assert_int_eq(mask_cell(m, 0, &in, &out), 0);
    ck_assert_int_eq(out.type, DSRC_T_TIMESTAMP);
    ck_assert_str_eq(cell_str(&out), "2023-11-01T00:00:00Z");
    in = text_cell("infinity");
    in.type = DSRC_T_TIMESTAMP;
    ck_assert_int_eq(mask_cell(m, 0, &in, &out), 0);
    ck_assert_str_eq(cell_str(&out), "infinity");
    /* not a date (SQLite's dynamic types): NULL, never in clear */
    in = text_cell("next tuesday");
    ck_assert_int_eq(mask_cell(m, 0, &in, &out), 0);
    ck_assert_int_eq(out.type, DSRC_T_NULL);
    memset(&in, 0, sizeof in);
    in.type = DSRC_T_INT64;
    in.v.i = 1700000000;
    ck_assert_int_eq(mask_cell(m, 0, &in, &out), 0);
    ck_assert_int_eq(out.type, DSRC_T_NULL);
    mask_free(m);
}
END_TEST

START_TEST(last4)
{
    mask_applier *m = one_col("last4", key1, DSRC_T_TEXT);
    dsrc_cell in, out;

    in = text_cell("+1 555-123-4567");
    ck_assert_int_eq(mask_cell(m, 0, &in, &out), 0);
    ck_assert_int_eq(out.type, DSRC_T_TEXT);
    ck_assert_str_eq(cell_str(&out), "4567");
    in = text_cell("h\xc3\xa9llo w\xc3\xb6rld");
    ck_assert_int_eq(mask_cell(m, 0, &in, &out), 0);
    ck_assert_str_eq(cell_str(&out), "\xc3\xb6rld");
    in = text_cell("abcd");
    ck_assert_int_eq(mask_cell(m, 0, &in, &out), 0);
    ck_assert_int_eq(out.type, DSRC_T_TEXT);
    ck_assert_uint_eq(out.v.s.len, 0);
    in = text_cell("ab");
    ck_assert_int_eq(mask_cell(m, 0, &in, &out), 0);
    ck_assert_uint_eq(out.v.s.len, 0);
    memset(&in, 0, sizeof in);
    in.type = DSRC_T_INT64;
    in.v.i = 4111111111111111LL;
    ck_assert_int_eq(mask_cell(m, 0, &in, &out), 0);
    ck_assert_int_eq(out.type, DSRC_T_TEXT);
    ck_assert_str_eq(cell_str(&out), "1111");
    ck_assert_uint_eq(mask_last4_offset("12345", 5), 1);
    ck_assert_uint_eq(mask_last4_offset("1234", 4), 4);
    ck_assert_uint_eq(mask_last4_offset("", 0), 0);
    mask_free(m);
}
END_TEST

START_TEST(rows_and_nulls)
{
    mask_rule *v = NULL;
    size_t n = 0, nc;
    char *why = NULL;
    mask_applier *m;
    dsrc_column cols[5];
    dsrc_cell row[5];
    const dsrc_cell *out;
    const dsrc_column *mc;
    derr e = {0};
    int i;

    ck_assert_int_eq(mask_parse_option("Email=hash,phone=last4,born=truncate:year,ssn=redact",
                                       &v, &n, &why), 0);
    m = mask_new(v, n, key1, strlen(key1), &e);
    ck_assert_ptr_nonnull(m);
    memset(cols, 0, sizeof cols);
    cols[0].name = "id";
    cols[0].type = DSRC_T_INT64;
    cols[1].name = "email"; /* matched without regard to case */
    cols[1].type = DSRC_T_TEXT;
    cols[2].name = "phone";
    cols[2].type = DSRC_T_TEXT;
    cols[3].name = "born";
    cols[3].type = DSRC_T_TIMESTAMP;
    cols[4].name = "ssn";
    cols[4].type = DSRC_T_TEXT;
    ck_assert_int_eq(mask_bind(m, "people", cols, 5, &e), DSRC_OK);
    mc = mask_columns(m, &nc);
    ck_assert_uint_eq(nc, 5);
    ck_assert_int_eq(mc[1].type, DSRC_T_TEXT);
    ck_assert_int_eq(mc[3].type, DSRC_T_TIMESTAMP);

    /* NULL stays NULL in every mode */
    memset(row, 0, sizeof row);
    row[0].type = DSRC_T_INT64;
    row[0].v.i = 7;
    out = mask_row(m, row, 5);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(out[0].type, DSRC_T_INT64);
    ck_assert_int_eq(out[0].v.i, 7);
    for (i = 1; i < 5; i++)
        ck_assert_int_eq(out[i].type, DSRC_T_NULL);

    row[1] = text_cell("alice@example.com");
    row[2] = text_cell("555-0100");
    row[3] = text_cell("1990-06-15");
    row[3].type = DSRC_T_TIMESTAMP;
    row[4] = text_cell("078-05-1120");
    out = mask_row(m, row, 5);
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(out[1].v.s.len, 64);
    ck_assert_str_eq(cell_str(&out[2]), "0100");
    ck_assert_str_eq(cell_str(&out[3]), "1990-01-01");
    ck_assert_int_eq(out[4].type, DSRC_T_NULL);
    /* the input is untouched */
    ck_assert_str_eq(cell_str(&row[1]), "alice@example.com");
    ck_assert_ptr_null(mask_row(m, row, 4));
    mask_free(m);
    mask_rules_free(v, n);
}
END_TEST

START_TEST(bind_errors)
{
    mask_rule *v = NULL;
    size_t n = 0;
    char *why = NULL;
    mask_applier *m;
    dsrc_column cols[3];
    derr e = {0};

    memset(cols, 0, sizeof cols);
    cols[0].name = "name";
    cols[0].type = DSRC_T_TEXT;
    cols[0].native_type = "text";
    cols[1].name = "photo";
    cols[1].type = DSRC_T_BYTES;
    cols[1].native_type = "bytea";
    cols[2].name = "NAME";
    cols[2].type = DSRC_T_TEXT;

    ck_assert_int_eq(mask_parse_option("nosuch=hash", &v, &n, &why), 0);
    m = mask_new(v, n, key1, strlen(key1), &e);
    ck_assert_int_eq(mask_bind(m, "people", cols, 2, &e), DSRC_E_INVALID_ARGUMENT);
    ck_assert_str_eq(e.msg, "mask: column 'nosuch' is not among the columns of 'people' (a "
                            "column that is masked must be fetched)");
    derr_clear(&e);
    mask_free(m);
    mask_rules_free(v, n);
    v = NULL;
    n = 0;

    ck_assert_int_eq(mask_parse_option("name=truncate:day", &v, &n, &why), 0);
    m = mask_new(v, n, key1, strlen(key1), &e);
    ck_assert_int_eq(mask_bind(m, "people", cols, 2, &e), DSRC_E_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(e.msg, "column 'name' of 'people' is text (text): "
                                        "truncate:day applies to date and timestamp"));
    derr_clear(&e);
    mask_free(m);
    mask_rules_free(v, n);
    v = NULL;
    n = 0;

    ck_assert_int_eq(mask_parse_option("photo=last4", &v, &n, &why), 0);
    m = mask_new(v, n, key1, strlen(key1), &e);
    ck_assert_int_eq(mask_bind(m, "people", cols, 2, &e), DSRC_E_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(e.msg, "is bytes (bytea): last4 applies to text and integer"));
    derr_clear(&e);
    mask_free(m);
    mask_rules_free(v, n);
    v = NULL;
    n = 0;

    /* "Name" matches two columns by case only: neither */
    ck_assert_int_eq(mask_parse_option("Name=hash", &v, &n, &why), 0);
    m = mask_new(v, n, key1, strlen(key1), &e);
    ck_assert_int_eq(mask_bind(m, "people", cols, 3, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    /* exactly named: that one */
    ck_assert_int_eq(mask_bind(m, "people", cols + 2, 1, &e), DSRC_OK);
    mask_free(m);
    mask_rules_free(v, n);
}
END_TEST

static Suite *mask_suite(void)
{
    Suite *s = suite_create("mask");
    TCase *tc = tcase_create("mask");

    tcase_add_test(tc, parse_modes);
    tcase_add_test(tc, parse_option);
    tcase_add_test(tc, hash_is_hmac_sha256);
    tcase_add_test(tc, hash_every_length);
    tcase_add_test(tc, hash_keyed_and_stable);
    tcase_add_test(tc, truncate_text);
    tcase_add_test(tc, truncate_cells);
    tcase_add_test(tc, last4);
    tcase_add_test(tc, rows_and_nulls);
    tcase_add_test(tc, bind_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(mask_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
