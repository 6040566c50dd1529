/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_plugin_util.c -- the helpers of <dsrc/plugin_util.h>: the item path
 * escaping (what dsrc_path_add() writes, dsrc_path_split() reads back, and
 * every malformed escape is refused with a message naming it), strdup and
 * wipe, the option getters, the cancellation check, the cursor-max tracker and its warning,
 * and the entry point's ABI check and driver fill against host structs
 * smaller and larger than the plugin's.
 */
#include <config.h>

#include <check.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dsrc/plugin_util.h>

/* The escaped form of one component (malloc'd). */
static char *esc(const char *s)
{
    dsrc_buf b = {0};
    dsrc_buf_add(&b, "");
    dsrc_path_add(&b, s);
    ck_assert(!b.failed);
    return b.s;
}

/* A certificate's end of validity as ping reports it: unknown and past
 * 2106 are 0. */
START_TEST(t_cert_time)
{
    ck_assert_uint_eq(dsrc_cert_time(0), 0);
    ck_assert_uint_eq(dsrc_cert_time(-5), 0);
    ck_assert_uint_eq(dsrc_cert_time(1796600000), 1796600000u);
    ck_assert_uint_eq(dsrc_cert_time(4294967295LL), 4294967295u);
    ck_assert_uint_eq(dsrc_cert_time(4294967296LL), 0);
}
END_TEST

START_TEST(t_escape)
{
    static const char *const cases[][2] = {
        {"orders", "orders"},
        {"we\"ird/schema", "we\"ird%2Fschema"},
        {"100%", "100%25"},
        {"%2F", "%252F"},
        {"a b.c-d_é", "a b.c-d_é"},
        {"/", "%2F"},
        {"", ""},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *e = esc(cases[i][0]);
        ck_assert_str_eq(e, cases[i][1]);
        free(e);
    }
}
END_TEST

START_TEST(t_join_tail)
{
    const char *parts[3] = {"peer/slash", NULL, "t%1"};
    char *p = dsrc_path_join(parts, 3);
    dsrc_buf b = {0};

    ck_assert_str_eq(p, "peer%2Fslash/t%251");
    free(p);
    p = dsrc_path_join2("db", NULL);
    ck_assert_str_eq(p, "db");
    free(p);
    dsrc_buf_add(&b, "box/");
    dsrc_path_add_tail(&b, "dir/100% sure.csv");
    ck_assert_str_eq(b.s, "box/dir/100%25 sure.csv");
    dsrc_buf_free(&b);
}
END_TEST

/* Every component survives escaping, joining and splitting unchanged. */
START_TEST(t_round_trip)
{
    static const char *const names[] = {"we\"ird/schema", "%", "%25", "a/b/c", "//",
                                        "100%zz", "plain", "", "x%2fy", "tab\there"};
    size_t n = sizeof names / sizeof names[0], i, j;

    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) {
            char *p = dsrc_path_join2(names[i], names[j]);
            dsrc_path sp;
            dsrc_error err = {sizeof err, DSRC_OK, 0, 0, "", NULL, NULL, NULL};
            ck_assert_ptr_nonnull(p);
            ck_assert_int_eq(dsrc_path_split(p, 0, &sp, &err), DSRC_OK);
            ck_assert_uint_eq(sp.n, 2);
            ck_assert_str_eq(sp.part[0], names[i]);
            ck_assert_str_eq(sp.part[1], names[j]);
            ck_assert_ptr_null(sp.part[2]);
            dsrc_path_free(&sp);
            free(p);
        }
}
END_TEST

START_TEST(t_split)
{
    dsrc_path sp;
    dsrc_error err = {sizeof err, DSRC_OK, 0, 0, "", NULL, NULL, NULL};

    ck_assert_int_eq(dsrc_path_split(NULL, 0, &sp, &err), DSRC_OK);
    ck_assert_uint_eq(sp.n, 0);
    ck_assert_ptr_null(sp.part[0]);
    dsrc_path_free(&sp);

    ck_assert_int_eq(dsrc_path_split("a/", 0, &sp, &err), DSRC_OK);
    ck_assert_uint_eq(sp.n, 2);
    ck_assert_str_eq(sp.part[0], "a");
    ck_assert_str_eq(sp.part[1], "");
    dsrc_path_free(&sp);

    ck_assert_int_eq(dsrc_path_split("/a", 0, &sp, &err), DSRC_OK);
    ck_assert_uint_eq(sp.n, 2);
    ck_assert_str_eq(sp.part[0], "");
    ck_assert_str_eq(sp.part[1], "a");
    dsrc_path_free(&sp);

    /* max: the last component keeps its '/' and is decoded too. */
    ck_assert_int_eq(dsrc_path_split("box/dir/x%25%2f.csv", 2, &sp, &err), DSRC_OK);
    ck_assert_uint_eq(sp.n, 2);
    ck_assert_str_eq(sp.part[0], "box");
    ck_assert_str_eq(sp.part[1], "dir/x%/.csv");
    dsrc_path_free(&sp);

    /* Other bytes may be escaped too; a decoded '/' does not split. */
    ck_assert_int_eq(dsrc_path_split("a%20b%2Fc/d", 0, &sp, &err), DSRC_OK);
    ck_assert_uint_eq(sp.n, 2);
    ck_assert_str_eq(sp.part[0], "a b/c");
    ck_assert_str_eq(sp.part[1], "d");
    dsrc_path_free(&sp);
    ck_assert_ptr_null(err.message);
}
END_TEST

START_TEST(t_malformed)
{
    static const char *const bad[][2] = {
        {"public/100%", "'%'"},  {"a%zz/b", "'%zz'"},   {"a%2", "'%2'"},
        {"x%00y", "'%00'"},      {"db/t%g1", "'%g1'"},  {"%", "'%'"},
        {"s/%2", "'%2'"},
    };
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dsrc_path sp;
        dsrc_error err = {sizeof err, DSRC_OK, 0, 0, "", NULL, NULL, NULL};
        ck_assert_int_eq(dsrc_path_split(bad[i][0], 0, &sp, &err), DSRC_E_INVALID_ARGUMENT);
        ck_assert_ptr_null(sp.part);
        ck_assert_uint_eq(sp.n, 0);
        ck_assert_ptr_nonnull(err.message);
        ck_assert_msg(strstr(err.message, bad[i][0]) && strstr(err.message, bad[i][1]) &&
                          strstr(err.message, "is not an escape"),
                      "%s: %s", bad[i][0], err.message);
        err.release(&err);
        dsrc_path_free(&sp);
    }
}
END_TEST

START_TEST(t_container)
{
    static const char *const cases[][2] = {
        {"peer%2Fslash", "peer/slash"}, {"peer%2Fslash/", "peer/slash"},
        {"public/orders", NULL},        {"", NULL},
        {"a/b/", NULL},
    };
    dsrc_error err = {sizeof err, DSRC_OK, 0, 0, "", NULL, NULL, NULL};
    size_t i;
    char *name;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(dsrc_path_container(cases[i][0], &name, &err), DSRC_OK);
        if (cases[i][1])
            ck_assert_str_eq(name, cases[i][1]);
        else
            ck_assert_ptr_null(name);
        free(name);
    }
    ck_assert_int_eq(dsrc_path_container("db%", &name, &err), DSRC_E_INVALID_ARGUMENT);
    ck_assert_ptr_null(name);
    err.release(&err);
}
END_TEST

START_TEST(t_strdup_wipe)
{
    char *d = dsrc_strdup("s3cret");
    char buf[8] = "abcdefg";

    ck_assert_ptr_null(dsrc_strdup(NULL));
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d, "s3cret");
    dsrc_wipe(d, strlen(d));
    ck_assert_mem_eq(d, "\0\0\0\0\0\0", 7);
    free(d);
    dsrc_wipe(buf + 2, 3);
    ck_assert_mem_eq(buf, "ab\0\0\0fg", 8);
    dsrc_wipe(NULL, 0);
}
END_TEST

START_TEST(t_options)
{
    static const dsrc_kv kv[] = {{"name", "orders"}, {"empty", ""},      {"n", "42"},
                                 {"neg", "-3"},      {"junk", "12abc"}, {"sign", "+"},
                                 {"big", "99999999999999999999"}};
    dsrc_open_params p;
    int64_t v;

    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.options = kv;
    p.n_options = sizeof kv / sizeof kv[0];
    ck_assert_str_eq(dsrc_opt(&p, "name"), "orders");
    ck_assert_ptr_null(dsrc_opt(&p, "empty"));
    ck_assert_ptr_null(dsrc_opt(&p, "absent"));

    ck_assert_int_eq(dsrc_opt_int(&p, "n", 7, 0, 100, &v), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(dsrc_opt_int(&p, "absent", 7, 0, 100, &v), 0);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(dsrc_opt_int(&p, "empty", 8, 0, 100, &v), 0);
    ck_assert_int_eq(v, 8);
    ck_assert_int_eq(dsrc_opt_int(&p, "neg", 7, -5, 5, &v), 0);
    ck_assert_int_eq(v, -3);
    v = 1234;
    ck_assert_int_eq(dsrc_opt_int(&p, "neg", 7, 0, 5, &v), -1);
    ck_assert_int_eq(dsrc_opt_int(&p, "n", 7, 0, 41, &v), -1);
    ck_assert_int_eq(dsrc_opt_int(&p, "junk", 7, 0, 100, &v), -1);
    ck_assert_int_eq(dsrc_opt_int(&p, "sign", 7, 0, 100, &v), -1);
    ck_assert_int_eq(dsrc_opt_int(&p, "big", 7, 0, INT64_MAX, &v), -1);
    ck_assert_int_eq(v, 1234);
}
END_TEST

/* A host whose is_cancelled() says yes for the context `stop_ctx`, and whose
 * log() keeps the last line. */
static char stop_here;
static char logged[2048];
static int nlogged;

static int fake_is_cancelled(const dsrc_ctx *ctx)
{
    return (const void *)ctx == (const void *)&stop_here;
}

static void fake_log(const dsrc_ctx *ctx, dsrc_log_level level, const char *fmt, ...)
{
    va_list ap;
    (void)ctx;
    ck_assert_int_eq(level, DSRC_LOG_WARNING);
    va_start(ap, fmt);
    vsnprintf(logged, sizeof logged, fmt, ap);
    va_end(ap);
    nlogged++;
}

static const dsrc_host fake_host = {sizeof(dsrc_host), DSRC_ABI_VERSION, fake_log,
                                    fake_is_cancelled, NULL, NULL, NULL, NULL};

/* dsrc_aws_sign() on a host without aws_sign (1.2-sized, NULL) and on a
 * 1.1-sized host: unsupported, saying so, the member past 1.1 never read. */
static dsrc_status trap_sign(const dsrc_ctx *ctx, const dsrc_aws_request *req, dsrc_error *err)
{
    (void)ctx;
    (void)req;
    (void)err;
    ck_abort_msg("aws_sign past the host's struct_size was called");
    return DSRC_OK;
}

START_TEST(t_aws_sign_needs_1_2)
{
    dsrc_host h = fake_host;
    dsrc_aws_request req;
    dsrc_error err;

    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    memset(&err, 0, sizeof err);
    err.struct_size = sizeof err;
    ck_assert_int_eq(dsrc_aws_sign(&h, NULL, &req, &err), DSRC_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.message, "does not sign AWS requests"));
    err.release(&err);
    h.struct_size = (uint32_t)offsetof(dsrc_host, aws_sign);
    h.aws_sign = trap_sign;
    ck_assert_int_eq(dsrc_aws_sign(&h, NULL, &req, &err), DSRC_E_UNSUPPORTED);
    err.release(&err);
    ck_assert_int_eq(dsrc_aws_sign(NULL, NULL, &req, &err), DSRC_E_UNSUPPORTED);
    err.release(&err);
}
END_TEST

/* dsrc_bearer_token() on a host without bearer_token (1.3-sized, NULL)
 * and on a 1.2-sized host: unsupported, saying so, never read past. */
static dsrc_status trap_bearer(const dsrc_ctx *ctx, const char *resource, char *buf,
                               size_t size, int64_t *expires, dsrc_error *err)
{
    (void)ctx;
    (void)resource;
    (void)buf;
    (void)size;
    (void)expires;
    (void)err;
    ck_abort_msg("bearer_token past the host's struct_size was called");
    return DSRC_OK;
}

START_TEST(t_bearer_token_needs_1_3)
{
    dsrc_host h = fake_host;
    dsrc_error err;
    char buf[64] = "untouched";
    int64_t exp = 7;

    memset(&err, 0, sizeof err);
    err.struct_size = sizeof err;
    ck_assert_int_eq(dsrc_bearer_token(&h, NULL, "https://storage.azure.com", buf, sizeof buf,
                                       &exp, &err), DSRC_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.message, "hands out no bearer tokens"));
    ck_assert_ptr_nonnull(strstr(err.message, "ABI 1.3 or later"));
    err.release(&err);
    h.struct_size = (uint32_t)offsetof(dsrc_host, bearer_token);
    h.bearer_token = trap_bearer;
    ck_assert_int_eq(dsrc_bearer_token(&h, NULL, "https://storage.azure.com", buf, sizeof buf,
                                       &exp, &err), DSRC_E_UNSUPPORTED);
    err.release(&err);
    ck_assert_int_eq(dsrc_bearer_token(NULL, NULL, "x", buf, sizeof buf, NULL, &err),
                     DSRC_E_UNSUPPORTED);
    err.release(&err);
    ck_assert_str_eq(buf, "untouched");
    ck_assert_int_eq(exp, 7);
}
END_TEST

START_TEST(t_cancelled)
{
    const dsrc_ctx *stop = (const dsrc_ctx *)(const void *)&stop_here;
    const dsrc_ctx *go = (const dsrc_ctx *)(const void *)&logged;
    dsrc_host none = fake_host;
    dsrc_host old = fake_host;

    none.is_cancelled = NULL;
    old.struct_size = offsetof(dsrc_host, is_cancelled); /* predates the member */
    ck_assert_int_ne(dsrc_cancelled(&fake_host, stop), 0);
    ck_assert_int_eq(dsrc_cancelled(&fake_host, go), 0);
    ck_assert_int_eq(dsrc_cancelled(&fake_host, NULL), 0);
    ck_assert_int_eq(dsrc_cancelled(NULL, stop), 0);
    ck_assert_int_eq(dsrc_cancelled(&none, stop), 0);
    ck_assert_int_eq(dsrc_cancelled(&old, stop), 0);
}
END_TEST

START_TEST(t_cursor_max)
{
    dsrc_cursor_max *t = malloc(sizeof *t);
    dsrc_fetch_result *r = calloc(1, sizeof *r);
    char *big = malloc(DSRC_CURSOR_MAX + 1);

    ck_assert(t && r && big);
    r->struct_size = sizeof *r;

    /* Values sent in order: the last one is reported, nothing logged. */
    nlogged = 0;
    dsrc_cursor_max_init(t, "updated_at", "column", "binary or");
    dsrc_cursor_max_offer(t, "2024-01-01", 10);
    dsrc_cursor_max_offer(t, "2024-01-02xx", 10);
    dsrc_cursor_max_report(t, &fake_host, NULL, r);
    ck_assert_int_eq(r->has_cursor, 1);
    ck_assert_str_eq(r->cursor_max, "2024-01-02");
    ck_assert_int_eq(nlogged, 0);

    /* One value too long: no cursor, and the warning names the column. */
    memset(r, 0, sizeof *r);
    memset(big, 'x', DSRC_CURSOR_MAX);
    dsrc_cursor_max_init(t, "updated_at", "column", "binary or");
    dsrc_cursor_max_offer(t, "1", 1);
    dsrc_cursor_max_offer(t, big, DSRC_CURSOR_MAX);
    dsrc_cursor_max_offer(t, "2", 1);
    dsrc_cursor_max_report(t, &fake_host, NULL, r);
    ck_assert_int_eq(r->has_cursor, 0);
    ck_assert_int_eq(nlogged, 1);
    ck_assert_str_eq(logged, "cursor column 'updated_at' holds a value that cannot serve as a"
                             " cursor (binary or longer than 1023 bytes); no cursor reported");

    /* A value with a NUL, noted by a plugin that writes `value` itself:
     * the warning without a reason. */
    dsrc_cursor_max_init(t, "ts", "field", NULL);
    dsrc_cursor_max_offer(t, "a\0b", 3);
    memcpy(t->value, "9", 2);
    dsrc_cursor_max_note(t, 1);
    dsrc_cursor_max_report(t, &fake_host, NULL, r);
    ck_assert_int_eq(r->has_cursor, 0);
    ck_assert_int_eq(nlogged, 2);
    ck_assert_str_eq(logged, "cursor field 'ts' holds a value that cannot serve as a cursor;"
                             " no cursor reported");

    /* No value (every row NULL), or no cursor asked: nothing at all. */
    dsrc_cursor_max_init(t, "ts", "field", NULL);
    dsrc_cursor_max_report(t, &fake_host, NULL, r);
    dsrc_cursor_max_init(t, NULL, "field", NULL);
    dsrc_cursor_max_offer(t, "7", 1);
    dsrc_cursor_max_report(t, &fake_host, NULL, r);
    dsrc_cursor_max_report(t, &fake_host, NULL, NULL);
    ck_assert_int_eq(r->has_cursor, 0);
    ck_assert_int_eq(nlogged, 2);
    free(big);
    free(r);
    free(t);
}
END_TEST

START_TEST(t_plugin_check)
{
    dsrc_driver drv;
    dsrc_error err = {sizeof err, DSRC_OK, 0, 0, "", NULL, NULL, NULL};

    memset(&drv, 0, sizeof drv);

    ck_assert_int_eq(dsrc_plugin_check("demo", DSRC_ABI_VERSION, &drv, &err), DSRC_OK);
    ck_assert_int_eq(dsrc_plugin_check("demo", DSRC_ABI_MAJOR * 10000 + 7, &drv, &err),
                     DSRC_OK);
    ck_assert_int_eq(dsrc_plugin_check("demo", 20003, &drv, &err), DSRC_E_UNSUPPORTED);
    {
        char want[80];
        snprintf(want, sizeof want, "demo plugin implements ABI %d.%d, host has 2.3",
                 DSRC_ABI_MAJOR, DSRC_ABI_MINOR);
        ck_assert_str_eq(err.message, want);
    }
    ck_assert_int_eq(dsrc_plugin_check("demo", DSRC_ABI_VERSION, NULL, &err), DSRC_E_INTERNAL);
    ck_assert_str_eq(err.message, "no driver struct");
    err.release(&err);
}
END_TEST

static dsrc_status drv_fetch(const dsrc_ctx *ctx, dsrc_conn *conn, const dsrc_fetch_req *req,
                             const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                             dsrc_fetch_result *result, dsrc_error *err)
{
    (void)ctx, (void)conn, (void)req, (void)rows, (void)bytes, (void)result, (void)err;
    return DSRC_OK;
}

static void drv_unload(void)
{
}

static const dsrc_driver demo_driver = {
    .abi_version = DSRC_ABI_VERSION,
    .name = "demo",
    .capabilities = DSRC_CAP_CURSOR,
    .fetch = drv_fetch,
    .unload = drv_unload,
};

START_TEST(t_driver_fill)
{
    /* The host's struct, with guard bytes after it. */
    union {
        dsrc_driver d;
        unsigned char b[sizeof(dsrc_driver) + 64];
    } u;
    unsigned char *mem = u.b;
    dsrc_driver *d = &u.d;
    size_t i, older = offsetof(dsrc_driver, fetch) + sizeof d->fetch;

    /* The same size: every member. */
    memset(mem, 0, sizeof u.b);
    d->struct_size = sizeof *d;
    dsrc_driver_fill(d, &demo_driver);
    ck_assert_uint_eq(d->struct_size, sizeof *d);
    ck_assert_uint_eq(d->abi_version, DSRC_ABI_VERSION);
    ck_assert_str_eq(d->name, "demo");
    ck_assert_uint_eq(d->capabilities, DSRC_CAP_CURSOR);
    ck_assert(d->fetch == drv_fetch && d->unload == drv_unload && d->open == NULL);

    /* An older host that ends after fetch: nothing written past it. */
    memset(mem, 0xA5, sizeof u.b);
    d->struct_size = (uint32_t)older;
    dsrc_driver_fill(d, &demo_driver);
    ck_assert_uint_eq(d->struct_size, older);
    ck_assert_str_eq(d->name, "demo");
    ck_assert(d->fetch == drv_fetch);
    for (i = older; i < sizeof u.b; i++)
        ck_assert_uint_eq(mem[i], 0xA5);

    /* A newer, larger host: what it zeroed past our struct stays zero. */
    memset(mem, 0, sizeof u.b);
    d->struct_size = (uint32_t)sizeof u.b;
    dsrc_driver_fill(d, &demo_driver);
    ck_assert_uint_eq(d->struct_size, sizeof u.b);
    ck_assert(d->unload == drv_unload);
    for (i = sizeof *d; i < sizeof u.b; i++)
        ck_assert_uint_eq(mem[i], 0);

    /* A struct that holds only struct_size: untouched. */
    memset(mem, 0xA5, sizeof u.b);
    d->struct_size = sizeof d->struct_size;
    dsrc_driver_fill(d, &demo_driver);
    for (i = sizeof d->struct_size; i < sizeof u.b; i++)
        ck_assert_uint_eq(mem[i], 0xA5);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plugin_util");
    TCase *tc = tcase_create("paths");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, t_escape);
    tcase_add_test(tc, t_cert_time);
    tcase_add_test(tc, t_join_tail);
    tcase_add_test(tc, t_round_trip);
    tcase_add_test(tc, t_split);
    tcase_add_test(tc, t_malformed);
    tcase_add_test(tc, t_container);
    tcase_add_test(tc, t_strdup_wipe);
    tcase_add_test(tc, t_options);
    tcase_add_test(tc, t_cancelled);
    tcase_add_test(tc, t_aws_sign_needs_1_2);
    tcase_add_test(tc, t_bearer_token_needs_1_3);
    tcase_add_test(tc, t_cursor_max);
    tcase_add_test(tc, t_plugin_check);
    tcase_add_test(tc, t_driver_fill);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
