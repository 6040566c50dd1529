/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_srcdoc -- a source as a JSON document (plugin/srcdoc.h) and its file
 * changed at run time (plugin/srcedit.h): rendering and reading back,
 * escapes, the field of each line, what cannot be rendered, merge patches,
 * the changed fields, names, entity tags; srcedit_apply() against the opts
 * fixture plugin: a plain secret encrypted, every error with its field,
 * If-Match, nothing written on a refusal, a read-only directory.
 */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/redact.h"
#include "plugin/loader.h"
#include "plugin/srcdoc.h"
#include "plugin/srcedit.h"
#include "unit_tmp.h"

static char *tmp;

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    char *t = NULL;

    ck_assert(asprintf(&t, "%s/test_srcdoc.XXXXXX", base ? base : "/tmp") > 0);
    ck_assert_ptr_nonnull(mkdtemp(t));
    tmp = t;
}

static void teardown(void)
{
    unit_tmp_remove(tmp);
    free(tmp);
    redact_clear();
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return buf;
}

static void spill(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(render_and_read_back)
{
    json_t *doc = json_loads(
        "{\"type\":\"opts\",\"name\":\"s1\",\"enabled\":true,\"labels\":{\"team\":\"a \\\"b\\\" \\\\ c\\n\\u00e9\\u0001\"},"
        "\"pool\":{\"max_size\":3,\"big\":5000000000,\"ratio\":2.0},"
        "\"replicas\":{\"hosts\":[\"h1\",\"h2\"]},"
        "\"fetch\":[{\"item\":\"t\",\"columns\":[\"a\",\"b\"]},{\"item\":\"u\"}]}", 0, NULL);
    json_t *errors = json_array(), *back;
    srcdoc_lines lines;
    char *text = NULL, path[4096];
    derr e = {0};

    ck_assert_ptr_nonnull(doc);
    ck_assert_int_eq(srcdoc_render(doc, "line one\nline two", &text, &lines, errors), 0);
    ck_assert_int_eq(json_array_size(errors), 0);
    /* header first, then name and type, whatever the document's order */
    ck_assert_msg(strncmp(text, "# line one\n# line two\nname = \"s1\";\ntype = \"opts\";\n", 49) == 0,
                  "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "big = 5000000000L;"));
    ck_assert_ptr_nonnull(strstr(text, "ratio = 2.0;"));
    ck_assert_ptr_nonnull(strstr(text, "\\x01"));
    ck_assert_str_eq(srcdoc_field(&lines, 3), "name");
    ck_assert_str_eq(srcdoc_field(&lines, 4), "type");
    ck_assert_ptr_null(srcdoc_field(&lines, 1));
    ck_assert_ptr_null(srcdoc_field(&lines, 999));
    {
        int l, found = 0;
        for (l = 1; srcdoc_field(&lines, l) || l < 40; l++)
            if (srcdoc_field(&lines, l) && strcmp(srcdoc_field(&lines, l), "pool.max_size") == 0)
                found = l;
        ck_assert_int_gt(found, 4);
    }
    snprintf(path, sizeof path, "%s/s1.conf", tmp);
    spill(path, text);
    back = srcdoc_read(path, &e);
    ck_assert_msg(back != NULL, "%s", e.msg ? e.msg : "?");
    ck_assert_msg(json_equal(doc, back), "%s", json_dumps(back, 0));
    srcdoc_lines_free(&lines);
    free(text);
    json_decref(back);
    json_decref(doc);
    json_decref(errors);
}
END_TEST

START_TEST(render_refuses)
{
    json_t *errors = json_array();
    json_t *doc = json_loads("{\"name\":\"x\",\"bad key\":1,\"a\":null,\"m\":[1,\"s\"],"
                             "\"g\":[{\"x\":1},2],\"n\":[[1]]}", 0, NULL);
    char *text = (char *)"untouched";
    size_t i;
    int seen = 0;

    ck_assert_int_eq(srcdoc_render(doc, NULL, &text, NULL, errors), -1);
    ck_assert_ptr_null(text);
    for (i = 0; i < json_array_size(errors); i++) {
        const char *f = json_string_value(json_object_get(json_array_get(errors, i), "field"));
        seen |= strcmp(f, "bad key") == 0 ? 1 : strcmp(f, "a") == 0 ? 2
              : strcmp(f, "m[1]") == 0 ? 4 : strcmp(f, "g[1]") == 0 ? 8
              : strcmp(f, "n[0]") == 0 ? 16 : 0;
    }
    ck_assert_int_eq(seen, 31);
    json_decref(doc);
    json_array_clear(errors);
    doc = json_array();
    ck_assert_int_eq(srcdoc_render(doc, NULL, &text, NULL, errors), -1);
    json_decref(doc);
    json_decref(errors);
}
END_TEST

START_TEST(merge_patch_and_changes)
{
    json_t *a = json_loads("{\"a\":1,\"g\":{\"x\":1,\"y\":2},\"l\":[1,2]}", 0, NULL);
    json_t *p = json_loads("{\"a\":null,\"g\":{\"y\":3,\"z\":4},\"l\":[3],\"n\":\"v\"}", 0, NULL);
    json_t *want = json_loads("{\"g\":{\"x\":1,\"y\":3,\"z\":4},\"l\":[3],\"n\":\"v\"}", 0, NULL);
    json_t *orig = json_deep_copy(a), *r, *ch, *big_a, *big_b;
    char *s;
    int i;

    r = srcdoc_merge_patch(a, p);
    ck_assert(json_equal(r, want));
    ch = srcdoc_changed(orig, r);
    s = json_dumps(ch, JSON_COMPACT);
    ck_assert_str_eq(s, "[\"a\",\"g.y\",\"g.z\",\"l\",\"n\"]");
    free(s);
    json_decref(ch);
    /* before NULL (added) and after NULL (removed): every top-level field */
    ch = srcdoc_changed(NULL, want);
    ck_assert_int_eq(json_array_size(ch), 3);
    json_decref(ch);
    ch = srcdoc_changed(want, NULL);
    ck_assert_int_eq(json_array_size(ch), 3);
    json_decref(ch);
    /* many changes in one group are named by the group */
    big_a = json_object();
    big_b = json_object();
    json_object_set_new(big_a, "labels", json_object());
    json_object_set_new(big_b, "labels", json_object());
    for (i = 0; i < 40; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        json_object_set_new(json_object_get(big_b, "labels"), k, json_integer(i));
    }
    ch = srcdoc_changed(big_a, big_b);
    s = json_dumps(ch, JSON_COMPACT);
    ck_assert_str_eq(s, "[\"labels\"]");
    free(s);
    json_decref(ch);
    json_decref(big_a);
    json_decref(big_b);
    json_decref(r);
    json_decref(p);
    json_decref(want);
    json_decref(orig);
}
END_TEST

START_TEST(names_and_tags)
{
    const char *why;
    char t1[SRCDOC_ETAG_SIZE], t2[SRCDOC_ETAG_SIZE], path[4096];

    ck_assert(srcdoc_name_ok("pg-main_1.eu", &why));
    ck_assert(!srcdoc_name_ok("a/b", &why));
    ck_assert(!srcdoc_name_ok("..", &why));
    ck_assert(!srcdoc_name_ok(".hidden", &why));
    ck_assert(!srcdoc_name_ok("", &why));
    ck_assert(!srcdoc_name_ok(NULL, &why));
    ck_assert(!srcdoc_name_ok("a b", &why));
    srcdoc_etag_text("abc", 3, t1);
    ck_assert_str_eq(t1, "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"");
    snprintf(path, sizeof path, "%s/f", tmp);
    spill(path, "abc");
    srcdoc_etag_of(path, t2);
    ck_assert_str_eq(t1, t2);
    snprintf(path, sizeof path, "%s/missing", tmp);
    srcdoc_etag_of(path, t2);
    ck_assert_str_eq(t2, "");
}
END_TEST

/* ---- srcedit_apply ---- */

static char conf[4096], dir[4096];
static loader_set *plugins;

static void edit_setup(void)
{
    const char *top = getenv("top_builddir");
    char keyp[4096], plugdir[4096], text[16384];

    setup();
    snprintf(plugdir, sizeof plugdir, "%s/tests/fixtures/plugins/.libs", top ? top : ".");
    snprintf(dir, sizeof dir, "%s/sources.d", tmp);
    snprintf(conf, sizeof conf, "%s/dsrcd.conf", tmp);
    snprintf(keyp, sizeof keyp, "%s/key", tmp);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    /* the first key of the Fernet specification's vectors */
    spill(keyp, "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=\n");
    ck_assert_int_eq(chmod(keyp, 0600), 0);
    snprintf(text, sizeof text, "plugin_dir = \"%s\";\nstate_dir = \"%s/state\";\n"
             "key_file = \"%s\";\n", plugdir, tmp, keyp);
    spill(conf, text);
    {
        const char *dirs[] = {plugdir};
        plugins = loader_new(dirs, 1);
    }
    ck_assert_ptr_nonnull(plugins);
}

static void edit_teardown(void)
{
    loader_free(plugins);
    teardown();
}

static int n_files(void)
{
    char cmd[4200];
    FILE *p;
    int n = -1;

    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -vc '^\\.dsrc-sources.lock$'", dir);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

START_TEST(edit_create_patch_delete)
{
    json_t *doc = json_pack("{s:s, s:s, s:{s:s, s:s, s:i}}", "name", "o1", "type", "opts",
                            "connection", "path", "/etc/hostname", "password", "hunter2-plain",
                            "port", 99);
    srcedit_req rq = {.op = SRCEDIT_CREATE, .doc = doc, .test = 1, .test_timeout_ms = 5000};
    srcedit_res res;
    char path[4200], *text, etag[SRCDOC_ETAG_SIZE];
    json_t *patch, *shown;
    derr e = {0};

    ck_assert_msg(srcedit_apply(conf, plugins, &rq, &res) == 0, "%s", res.message);
    ck_assert_int_eq(res.http, 201);
    ck_assert(json_is_true(json_object_get(res.test, "ok")));
    snprintf(path, sizeof path, "%s/o1.conf", dir);
    ck_assert_str_eq(res.file, path);
    text = slurp(path);
    ck_assert_ptr_nonnull(strstr(text, "password = \"fernet:"));
    ck_assert_ptr_null(strstr(text, "hunter2-plain"));
    srcdoc_etag_of(path, etag);
    ck_assert_str_eq(res.etag, etag);
    free(text);
    srcedit_res_free(&res);
    /* again: 409, nothing changed */
    ck_assert_int_eq(srcedit_apply(conf, plugins, &rq, &res), -1);
    ck_assert_int_eq(res.http, 409);
    srcedit_res_free(&res);

    /* a masked and a referenced view */
    shown = srcedit_read(conf, plugins, "o1", SRCEDIT_MASK, etag, NULL, &e);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(shown, "connection"),
                                                       "password")), "fernet:***");
    json_decref(shown);

    /* PATCH with a stale tag: 412 */
    patch = json_pack("{s:{s:i}}", "pool", "max_size", 4);
    rq.op = SRCEDIT_PATCH;
    rq.name = "o1";
    rq.doc = patch;
    rq.if_match = "\"0000\"";
    ck_assert_int_eq(srcedit_apply(conf, plugins, &rq, &res), -1);
    ck_assert_int_eq(res.http, 412);
    srcedit_res_free(&res);
    rq.if_match = etag;
    ck_assert_msg(srcedit_apply(conf, plugins, &rq, &res) == 0, "%s", res.message);
    ck_assert_str_eq(json_string_value(json_array_get(res.changed, 0)), "pool");
    srcedit_res_free(&res);
    text = slurp(path);
    ck_assert_ptr_nonnull(strstr(text, "max_size = 4;"));
    free(text);

    /* every error at once, with its field; nothing written */
    json_decref(patch);
    patch = json_pack("{s:{s:s, s:i}, s:{s:s}}", "connection", "port", "x", "bogus", 1,
                      "pool", "max_size", "many");
    rq.doc = patch;
    rq.if_match = NULL;
    ck_assert_int_eq(srcedit_apply(conf, plugins, &rq, &res), -1);
    ck_assert_int_eq(res.http, 422);
    ck_assert_int_eq(json_array_size(res.errors), 3);
    srcedit_res_free(&res);
    ck_assert_int_eq(n_files(), 1);

    /* a read-only directory: a clear error, the old file kept */
    ck_assert_int_eq(chmod(dir, 0500), 0);
    if (access(dir, W_OK) != 0) {   /* not as root */
        json_decref(patch);
        patch = json_pack("{s:{s:i}}", "pool", "max_size", 5);
        rq.doc = patch;
        ck_assert_int_eq(srcedit_apply(conf, plugins, &rq, &res), -1);
        ck_assert_int_eq(res.http, 500);
        ck_assert_ptr_nonnull(strstr(res.message, "sources.d"));
        srcedit_res_free(&res);
        text = slurp(path);
        ck_assert_ptr_nonnull(strstr(text, "max_size = 4;"));
        free(text);
    }
    ck_assert_int_eq(chmod(dir, 0700), 0);

    /* DELETE */
    rq.op = SRCEDIT_DELETE;
    rq.doc = NULL;
    ck_assert_int_eq(srcedit_apply(conf, plugins, &rq, &res), 0);
    srcedit_res_free(&res);
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(srcedit_apply(conf, plugins, &rq, &res), -1);
    ck_assert_int_eq(res.http, 404);
    srcedit_res_free(&res);
    json_decref(patch);
    json_decref(doc);
}
END_TEST

START_TEST(edit_no_key_refuses_plain)
{
    char text[8192];
    json_t *doc = json_pack("{s:s, s:s, s:{s:s, s:s}}", "name", "o2", "type", "opts",
                            "connection", "path", "/etc/hostname", "password", "plain-pw");
    srcedit_req rq = {.op = SRCEDIT_CREATE, .doc = doc};
    srcedit_res res;

    /* the same configuration without key_file, DSRC_KEY unset */
    snprintf(text, sizeof text, "plugin_dir = \"%s/tests/fixtures/plugins/.libs\";\n"
             "state_dir = \"%s/state\";\n", getenv("top_builddir") ? getenv("top_builddir") : ".",
             tmp);
    spill(conf, text);
    unsetenv("DSRC_KEY");
    ck_assert_int_eq(srcedit_apply(conf, plugins, &rq, &res), -1);
    ck_assert_int_eq(res.http, 422);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(res.errors, 0), "field")),
                     "connection.password");
    srcedit_res_free(&res);
    ck_assert_int_eq(n_files(), 0);
    /* a reference needs no key */
    json_object_set_new(json_object_get(doc, "connection"), "password", json_string("env:PW"));
    ck_assert_msg(srcedit_apply(conf, plugins, &rq, &res) == 0, "%s", res.message);
    srcedit_res_free(&res);
    json_decref(doc);
}
END_TEST

static Suite *srcdoc_suite(void)
{
    Suite *s = suite_create("srcdoc");
    TCase *t = tcase_create("doc"), *ed = tcase_create("edit");

    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, render_and_read_back);
    tcase_add_test(t, render_refuses);
    tcase_add_test(t, merge_patch_and_changes);
    tcase_add_test(t, names_and_tags);
    suite_add_tcase(s, t);
    tcase_add_checked_fixture(ed, edit_setup, edit_teardown);
    tcase_add_test(ed, edit_create_patch_delete);
    tcase_add_test(ed, edit_no_key_refuses_plain);
    suite_add_tcase(s, ed);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(srcdoc_suite());
    int failed;

    srunner_run_all(r, CK_NORMAL);
    failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
