/*
 * test_plugin_util.c -- the item path escaping of <dsrc/plugin_util.h>:
 * what dsrc_path_add() writes, dsrc_path_split() reads back, and every
 * malformed escape is refused with a message naming it.
 */
#include <config.h>

#include <check.h>
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

int main(void)
{
    Suite *s = suite_create("plugin_util");
    TCase *tc = tcase_create("paths");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, t_escape);
    tcase_add_test(tc, t_join_tail);
    tcase_add_test(tc, t_round_trip);
    tcase_add_test(tc, t_split);
    tcase_add_test(tc, t_malformed);
    tcase_add_test(tc, t_container);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
