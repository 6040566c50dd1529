/* SPDX-License-Identifier: Apache-2.0 */
/* test_lazylib.c -- libraries loaded on first use (core/base/lazylib.h): a
 * missing library or symbol is an error naming it and its package; libcurl,
 * expat and libseccomp, once loaded, work. */
#include <config.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "base/lazylib.h"

START_TEST(missing_library_named)
{
    static const char *const names[] = {"f"};
    void *syms[1];
    derr e = {0};

    ck_assert_int_eq(lazylib_open("libdsrc-absent.so.7", "Testing", "libdsrc-absent7", names,
                                  syms, 1, &e), -1);
    ck_assert_int_eq(e.status, DSRC_E_INTERNAL);
    ck_assert_ptr_nonnull(e.msg);
    ck_assert_ptr_nonnull(strstr(e.msg, "Testing needs the shared library libdsrc-absent.so.7"));
    ck_assert_ptr_nonnull(strstr(e.msg, "Debian package 'libdsrc-absent7'"));
    derr_clear(&e);
}
END_TEST

START_TEST(missing_symbol_named)
{
    static const char *const names[] = {"curl_easy_init", "curl_no_such_function"};
    void *syms[2];
    derr e = {0};

    ck_assert_int_eq(lazylib_open("libcurl.so.4", "Testing", "libcurl4", names, syms, 2, &e),
                     -1);
    ck_assert_ptr_nonnull(e.msg);
    ck_assert_ptr_nonnull(strstr(e.msg, "libcurl.so.4, which has no curl_no_such_function"));
    derr_clear(&e);
}
END_TEST

START_TEST(curl_loaded)
{
    derr e = {0};
    const lazy_curl_api *cu = lazy_curl(&e);
    CURL *h;
    char *x;

    ck_assert_ptr_nonnull(cu);
    ck_assert_ptr_eq(lazy_curl(&e), cu); /* once */
    ck_assert_ptr_nonnull(h = cu->easy_init());
    ck_assert_int_eq(cu->easy_setopt(h, CURLOPT_TIMEOUT_MS, 5L), CURLE_OK);
    ck_assert_ptr_nonnull(x = cu->easy_escape(h, "a b/ü", 0));
    ck_assert_str_eq(x, "a%20b%2F%C3%BC");
    cu->free(x);
    ck_assert_str_eq(cu->easy_strerror(CURLE_OPERATION_TIMEDOUT), "Timeout was reached");
    cu->easy_cleanup(h);
    ck_assert_int_eq(e.status, DSRC_OK);
}
END_TEST

static void XMLCALL count_start(void *user, const XML_Char *name, const XML_Char **attrs)
{
    (void)name;
    (void)attrs;
    (*(int *)user)++;
}

static void XMLCALL count_end(void *user, const XML_Char *name)
{
    (void)user;
    (void)name;
}

START_TEST(expat_loaded)
{
    static const char doc[] = "<a><b/><c>x</c></a>";
    derr e = {0};
    const lazy_expat_api *x = lazy_expat(&e);
    XML_Parser p;
    int n = 0;

    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(p = x->ParserCreate("UTF-8"));
    x->SetUserData(p, &n);
    x->SetElementHandler(p, count_start, count_end);
    ck_assert_int_eq(x->Parse(p, doc, (int)strlen(doc), 1), XML_STATUS_OK);
    x->ParserFree(p);
    ck_assert_int_eq(n, 3);
}
END_TEST

START_TEST(seccomp_loaded)
{
    derr e = {0};
    const lazy_seccomp_api *sc = lazy_seccomp(&e);
    scmp_filter_ctx f;

    ck_assert_ptr_nonnull(sc);
    ck_assert_int_eq(sc->syscall_resolve_name("openat"), SYS_openat);
    ck_assert_ptr_nonnull(f = sc->init(SCMP_ACT_ALLOW));
    ck_assert_int_eq(sc->rule_add(f, SCMP_ACT_ERRNO(1), SCMP_SYS(clone), 1,
                                  SCMP_A0(SCMP_CMP_MASKED_EQ, 0x10000000, 0x10000000)), 0);
    sc->release(f);
}
END_TEST

static Suite *lazylib_suite(void)
{
    Suite *s = suite_create("lazylib");
    TCase *tc = tcase_create("load");

    tcase_add_test(tc, missing_library_named);
    tcase_add_test(tc, missing_symbol_named);
    tcase_add_test(tc, curl_loaded);
    tcase_add_test(tc, expat_loaded);
    tcase_add_test(tc, seccomp_loaded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(lazylib_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
