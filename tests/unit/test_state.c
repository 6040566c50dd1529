/* SPDX-License-Identifier: Apache-2.0 */
/* test_state.c -- the cursor state store and its safe item paths. */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_tmp.h"
#include "output/outfile.h"
#include "output/state.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/dsrc-state-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    unit_tmp_remove(dir);
}

#define PATH_EQ(item, expect)                                                 \
    do {                                                                      \
        char *p_ = state_item_path(item);                                     \
        ck_assert_ptr_nonnull(p_);                                            \
        ck_assert_str_eq(p_, expect);                                         \
        free(p_);                                                             \
    } while (0)

START_TEST(item_paths)
{
    PATH_EQ("public/orders", "public/orders");
    PATH_EQ("orders", "orders");
    PATH_EQ("v1.2_x-y", "v1.2_x-y");
    PATH_EQ("../../etc/passwd", "%2E%2E/%2E%2E/etc/passwd");
    PATH_EQ("a/./b", "a/%2E/b");
    PATH_EQ("a/../b", "a/%2E%2E/b");
    PATH_EQ("..", "%2E%2E");
    PATH_EQ("...", "...");
    PATH_EQ(".hidden", ".hidden");
    PATH_EQ("", "%");
    PATH_EQ("/", "%");
    PATH_EQ(NULL, "%");
    PATH_EQ("%", "%25");
    PATH_EQ("%2E%2E", "%252E%252E");
    PATH_EQ("/abs//double/", "abs/double");
    PATH_EQ("a b", "a%20b");
    PATH_EQ("a\\b", "a%5Cb");
    PATH_EQ("caf\xc3\xa9", "caf%C3%A9");
    PATH_EQ("\xe6\x97\xa5\xe6\x9c\xac/x", "%E6%97%A5%E6%9C%AC/x");
    PATH_EQ("c:\\x\n", "c%3A%5Cx%0A");
}
END_TEST

/* Whatever the item, the result has no "." or ".." component, no empty
 * one, is relative, and distinct items give distinct paths. */
START_TEST(item_paths_random)
{
    static const char alphabet[] = "./%a\\ \xc3\xa9-_";
    uint32_t x = 7;
    char items[400][12];
    char *paths[400];
    int i, k;

    for (i = 0; i < 400; i++) {
        size_t n = (size_t)(i % 11), j;
        char *p, *comp;
        for (j = 0; j < n; j++) {
            x = x * 1664525u + 1013904223u;
            items[i][j] = alphabet[(x >> 24) % (sizeof alphabet - 1)];
        }
        items[i][n] = '\0';
        paths[i] = state_item_path(items[i]);
        ck_assert_ptr_nonnull(paths[i]);
        ck_assert_int_ne(paths[i][0], '/');
        ck_assert_int_ne(paths[i][0], '\0');
        p = strdup(paths[i]);
        for (comp = strtok(p, "/"); comp; comp = strtok(NULL, "/")) {
            ck_assert_str_ne(comp, ".");
            ck_assert_str_ne(comp, "..");
        }
        free(p);
        ck_assert_ptr_null(strstr(paths[i], "//"));
        ck_assert_int_ne(paths[i][strlen(paths[i]) - 1], '/');
    }
    /* injective up to dropped empty components */
    for (i = 0; i < 400; i++) {
        for (k = i + 1; k < 400; k++) {
            if (strcmp(paths[i], paths[k]) == 0) {
                char a[16], b[16], *p, *q;
                /* normalise: collapse '/' runs, trim ends */
                for (p = items[i], q = a; *p; p++)
                    if (*p != '/' || (q > a && q[-1] != '/'))
                        *q++ = *p;
                if (q > a && q[-1] == '/')
                    q--;
                *q = '\0';
                for (p = items[k], q = b; *p; p++)
                    if (*p != '/' || (q > b && q[-1] != '/'))
                        *q++ = *p;
                if (q > b && q[-1] == '/')
                    q--;
                *q = '\0';
                ck_assert_msg(strcmp(a, b) == 0, "'%s' and '%s' both map to '%s'", items[i],
                              items[k], paths[i]);
            }
        }
    }
    for (i = 0; i < 400; i++)
        free(paths[i]);
}
END_TEST

START_TEST(put_get)
{
    derr e = {0};
    char *v = (char *)1;

    /* nothing committed yet */
    ck_assert_int_eq(state_get_cursor(dir, "demo", "main/orders", "id", &v, &e), DSRC_OK);
    ck_assert_ptr_null(v);

    ck_assert_int_eq(state_put_cursor(dir, "demo", "main/orders", "id", "1234", &e), DSRC_OK);
    ck_assert_int_eq(state_get_cursor(dir, "demo", "main/orders", "id", &v, &e), DSRC_OK);
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, "1234");
    free(v);

    /* overwrite */
    ck_assert_int_eq(state_put_cursor(dir, "demo", "main/orders", "id", "99999", &e), DSRC_OK);
    ck_assert_int_eq(state_get_cursor(dir, "demo", "main/orders", "id", &v, &e), DSRC_OK);
    ck_assert_str_eq(v, "99999");
    free(v);

    /* another field counts as none */
    ck_assert_int_eq(state_get_cursor(dir, "demo", "main/orders", "updated_at", &v, &e),
                     DSRC_OK);
    ck_assert_ptr_null(v);

    /* other items and sources are separate */
    ck_assert_int_eq(state_get_cursor(dir, "demo", "main/customers", "id", &v, &e), DSRC_OK);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(state_get_cursor(dir, "other", "main/orders", "id", &v, &e), DSRC_OK);
    ck_assert_ptr_null(v);

    /* values are kept exactly */
    ck_assert_int_eq(state_put_cursor(dir, "demo", "t", "ts",
                                      "2024-01-31 12:00:00.5+01 \"q\" caf\xc3\xa9", &e),
                     DSRC_OK);
    ck_assert_int_eq(state_get_cursor(dir, "demo", "t", "ts", &v, &e), DSRC_OK);
    ck_assert_str_eq(v, "2024-01-31 12:00:00.5+01 \"q\" caf\xc3\xa9");
    free(v);
    ck_assert_int_eq(state_put_cursor(dir, "demo", "t", "ts", "", &e), DSRC_OK);
    ck_assert_int_eq(state_get_cursor(dir, "demo", "t", "ts", &v, &e), DSRC_OK);
    ck_assert_str_eq(v, "");
    free(v);
}
END_TEST

/* A process that records a cursor's move (state_prepare_cursor) for the
 * data file `file` (its identity taken now, when it exists) and dies before
 * committing it, as a SIGKILL would. */
static void prepare_and_die(const char *value, const char *file, const char *mf)
{
    char id[OUTFILE_ID_MAX] = "";
    struct stat st;
    int status;
    pid_t pid;

    if (lstat(file, &st) == 0)
        outfile_stat_id(&st, id);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        derr e = {0};
        _exit(state_prepare_cursor(dir, "demo", "orders", "id", value, "abc123", id, file, mf,
                                   &e) == DSRC_OK ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void put_file(const char *path, const char *text)
{
    derr e = {0};
    ck_assert_int_eq(outfile_write_all(path, text, strlen(text), &e), DSRC_OK);
}

static void cursor_is(const char *want)
{
    derr e = {0};
    char *v = NULL;

    ck_assert_int_eq(state_get_cursor(dir, "demo", "orders", "id", &v, &e), DSRC_OK);
    if (!want) {
        ck_assert_ptr_null(v);
    } else {
        ck_assert_ptr_nonnull(v);
        ck_assert_str_eq(v, want);
    }
    free(v);
}

/* A crash between the files put in place and the cursor committed: the
 * next reader moves the cursor when the manifest is there, else removes the
 * fetch's data file left without its manifest and keeps the old value. */
START_TEST(crash_before_commit_resolved)
{
    derr e = {0};
    char data[128], mf[160];

    snprintf(data, sizeof data, "%s/ws/1.csv", dir);
    snprintf(mf, sizeof mf, "%s.manifest.json", data);
    /* none committed; died before anything was in place */
    prepare_and_die("10", data, mf);
    cursor_is(NULL);
    /* died with the data file in place, not its manifest */
    ck_assert_int_eq(state_put_cursor(dir, "demo", "orders", "id", "5", &e), DSRC_OK);
    put_file(data, "6\n10\n");
    prepare_and_die("10", data, mf);
    cursor_is("5");
    ck_assert_int_eq(access(data, F_OK), -1);
    /* another file under that name (the older one) is not the fetch's */
    prepare_and_die("10", data, mf);
    put_file(data, "older\n");
    cursor_is("5");
    ck_assert_int_eq(access(data, F_OK), 0);
    /* an older manifest of another fetch under that name does not count */
    put_file(mf, "{\"sha256\": \"fff\", \"cursor\": {\"to\": \"10\"}}\n");
    prepare_and_die("10", data, mf);
    cursor_is("5");
    ck_assert_int_eq(access(data, F_OK), 0);
    /* died with both in place: the cursor moves, for good */
    put_file(mf, "{\"sha256\": \"abc123\", \"cursor\": {\"to\": \"10\"}}\n");
    prepare_and_die("10", data, mf);
    cursor_is("10");
    unlink(mf);
    cursor_is("10");
    /* a live process's record is its own business: the old value */
    ck_assert_int_eq(state_prepare_cursor(dir, "demo", "orders", "id", "20", "abc", "1:2", data,
                                          mf, &e), DSRC_OK);
    cursor_is("10");
    ck_assert_int_eq(access(data, F_OK), 0);
}
END_TEST

START_TEST(file_location_is_contained)
{
    derr e = {0};
    char *want, *v = NULL;
    struct stat st;

    ck_assert_int_eq(state_put_cursor(dir, "demo", "../../escape", "id", "1", &e), DSRC_OK);
    ck_assert_int_ge(asprintf(&want, "%s/cursors/demo/%%2E%%2E/%%2E%%2E/escape.json", dir), 0);
    ck_assert_msg(stat(want, &st) == 0, "%s: %s", want, strerror(errno));
    free(want);
    ck_assert_int_ge(asprintf(&want, "%s/escape.json", dir), 0);
    ck_assert_int_ne(stat(want, &st), 0);
    free(want);
    ck_assert_int_eq(state_get_cursor(dir, "demo", "../../escape", "id", &v, &e), DSRC_OK);
    ck_assert_str_eq(v, "1");
    free(v);

    /* a '/' or ".." in the source name cannot climb out either */
    ck_assert_int_eq(state_put_cursor(dir, "../x", "i", "id", "2", &e), DSRC_OK);
    ck_assert_int_ge(asprintf(&want, "%s/cursors/..%%2Fx/i.json", dir), 0);
    ck_assert_msg(stat(want, &st) == 0, "%s: %s", want, strerror(errno));
    free(want);
    ck_assert_int_eq(state_put_cursor(dir, "..", "i", "id", "3", &e), DSRC_OK);
    ck_assert_int_ge(asprintf(&want, "%s/cursors/%%2E%%2E/i.json", dir), 0);
    ck_assert_msg(stat(want, &st) == 0, "%s: %s", want, strerror(errno));
    free(want);

    /* the empty item has a file of its own */
    ck_assert_int_eq(state_put_cursor(dir, "demo", "", "id", "4", &e), DSRC_OK);
    ck_assert_int_ge(asprintf(&want, "%s/cursors/demo/%%.json", dir), 0);
    ck_assert_msg(stat(want, &st) == 0, "%s: %s", want, strerror(errno));
    free(want);
}
END_TEST

static void write_raw(const char *source, const char *item, const char *text)
{
    char *ip = state_item_path(item), *path;
    derr e = {0};
    ck_assert_int_ge(asprintf(&path, "%s/cursors/%s/%s.json", dir, source, ip), 0);
    ck_assert_int_eq(outfile_write_all(path, text, strlen(text), &e), DSRC_OK);
    free(ip);
    free(path);
}

START_TEST(corrupt_files)
{
    static const char *const bad[] = {
        "{\"field\": \"id\", \"value\": ",   /* truncated */
        "",                                  /* empty */
        "[1, 2]",                            /* not an object */
        "{\"field\": \"id\"}",               /* no value */
        "{\"field\": \"id\", \"value\": 5}", /* value not a string */
        "{\"value\": \"5\"}",                /* no field */
        "\x01garbage",
    };
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        derr e = {0};
        char *v = (char *)1;
        write_raw("demo", "t", bad[i]);
        ck_assert_int_ne(state_get_cursor(dir, "demo", "t", "id", &v, &e), DSRC_OK);
        ck_assert_ptr_null(v);
        ck_assert_ptr_nonnull(e.msg);
        ck_assert_msg(strstr(e.msg, "corrupt state file") != NULL, "case %zu: %s", i, e.msg);
        ck_assert_msg(strstr(e.msg, "/cursors/demo/t.json") != NULL, "case %zu: %s", i,
                      e.msg);
        derr_clear(&e);
    }
    /* a good write repairs it */
    {
        derr e = {0};
        char *v = NULL;
        ck_assert_int_eq(state_put_cursor(dir, "demo", "t", "id", "7", &e), DSRC_OK);
        ck_assert_int_eq(state_get_cursor(dir, "demo", "t", "id", &v, &e), DSRC_OK);
        ck_assert_str_eq(v, "7");
        free(v);
    }
}
END_TEST

START_TEST(unreadable_and_bad_args)
{
    derr e = {0};
    char *v = NULL, *path;

    /* a directory where the file should be */
    ck_assert_int_ge(asprintf(&path, "%s/cursors/demo/d.json", dir), 0);
    ck_assert_int_eq(outfile_mkdirs(path, 0750), 0);
    ck_assert_int_ne(state_get_cursor(dir, "demo", "d", "id", &v, &e), DSRC_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    derr_clear(&e);
    ck_assert_int_ne(state_put_cursor(dir, "demo", "d", "id", "1", &e), DSRC_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    derr_clear(&e);
    free(path);

    ck_assert_int_eq(state_get_cursor(dir, "", "t", "id", &v, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(state_get_cursor(NULL, "s", "t", "id", &v, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(state_get_cursor(dir, "s", "t", "", &v, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(state_put_cursor(dir, "s", "t", "id", NULL, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    /* a value that is not UTF-8 cannot be stored as JSON text */
    ck_assert_int_ne(state_put_cursor(dir, "s", "t", "id", "\xff", &e), DSRC_OK);
    derr_clear(&e);
}
END_TEST

static Suite *state_suite(void)
{
    Suite *s = suite_create("state");
    TCase *paths = tcase_create("paths"), *store = tcase_create("store");

    tcase_add_test(paths, item_paths);
    tcase_add_test(paths, item_paths_random);
    suite_add_tcase(s, paths);

    tcase_add_checked_fixture(store, setup, teardown);
    tcase_add_test(store, put_get);
    tcase_add_test(store, crash_before_commit_resolved);
    tcase_add_test(store, file_location_is_contained);
    tcase_add_test(store, corrupt_files);
    tcase_add_test(store, unreadable_and_bad_args);
    suite_add_tcase(s, store);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(state_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
