/* SPDX-License-Identifier: Apache-2.0 */
/* test_tlswatch.c -- a source's TLS files watched by content hash, their
 * validation and the certificates' expiry (core/conn/tlswatch.c), with
 * certificates made by the openssl command. */
#include <config.h>

#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn/tlswatch.h"
#include "unit_tmp.h"

static char dir[64];
static char ca[128], cert[128], key[128];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    int r;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    r = system(cmd);
    ck_assert_msg(r == 0, "command failed (%d): %s", r, cmd);
}

/* A key and a self-signed certificate valid for `days`, as DIR/NAME.crt
 * and DIR/NAME.key. */
static void make_cert(const char *name, int days)
{
    sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
       "-subj /CN=%s -days %d -keyout %s.key -out %s.crt 2>/dev/null",
       dir, name, days, name, name);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/dsrc-tlsw-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    make_cert("ca", 3650);
    make_cert("c1", 365);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(cert, sizeof cert, "%s/client.crt", dir);
    snprintf(key, sizeof key, "%s/client.key", dir);
    sh("cd %s && cp ca.crt ca.pem && cp c1.crt client.crt && cp c1.key client.key", dir);
}

static void teardown(void)
{
    unit_tmp_remove(dir);
}

START_TEST(sha256_of_a_file)
{
    unsigned char h[32];
    char path[128];
    derr e = {0};
    FILE *f;
    static const unsigned char abc[4] = {0xba, 0x78, 0x16, 0xbf};

    snprintf(path, sizeof path, "%s/abc", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("abc", f);
    fclose(f);
    ck_assert_int_eq(tlsw_sha256_file(path, h, &e), 0);
    ck_assert_mem_eq(h, abc, 4);
    snprintf(path, sizeof path, "%s/missing", dir);
    ck_assert_int_eq(tlsw_sha256_file(path, h, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "missing"));
    derr_clear(&e);
}
END_TEST

START_TEST(days_until_expiry)
{
    static const char junk[] = "-----BEGIN CERTIFICATE-----\nnot base64\n";
    char path[128];
    double d = 0;
    derr e = {0};
    tlswatch *w;

    make_cert("soon", 20);
    snprintf(path, sizeof path, "%s/soon.crt", dir);
    w = tlswatch_new(NULL, path, NULL, NULL);
    ck_assert_int_eq(tlswatch_check(w, time(NULL)), TLSW_SAME);
    d = tlswatch_days(w, TLSW_CERT);
    ck_assert_msg(d > 19.9 && d <= 20.0, "days %f", d);
    ck_assert(isnan(tlswatch_days(w, TLSW_CA)));
    /* the clock moves on: 15 days later */
    ck_assert_int_eq(tlswatch_check(w, time(NULL) + 15 * 86400), TLSW_SAME);
    d = tlswatch_days(w, TLSW_CERT);
    ck_assert_msg(d > 4.9 && d <= 5.0, "days %f", d);
    tlswatch_free(w);

    ck_assert_int_eq(tlsw_cert_days(junk, sizeof junk - 1, time(NULL), &d, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "PEM"));
    derr_clear(&e);
}
END_TEST

START_TEST(a_ca_bundle_expires_with_its_last_certificate)
{
    tlswatch *w;
    double d;

    make_cert("short", 10);
    sh("cd %s && cat short.crt ca.crt short.crt > ca.pem", dir);
    w = tlswatch_new(ca, NULL, NULL, NULL);
    ck_assert_int_eq(tlswatch_check(w, time(NULL)), TLSW_SAME);
    d = tlswatch_days(w, TLSW_CA);
    ck_assert_msg(d > 3649 && d <= 3650, "days %f", d);
    sh("cd %s && cp short.crt ca.pem", dir);
    ck_assert_int_eq(tlswatch_check(w, time(NULL)), TLSW_CHANGED);
    d = tlswatch_days(w, TLSW_CA);
    ck_assert_msg(d > 9.9 && d <= 10, "days %f", d);
    tlswatch_free(w);
}
END_TEST

START_TEST(a_replaced_file_is_a_change)
{
    tlswatch *w = tlswatch_new(ca, cert, key, NULL);

    ck_assert(tlswatch_active(w));
    ck_assert_int_eq(tlswatch_check(w, time(NULL)), TLSW_SAME);
    ck_assert_ptr_null(tlswatch_error(w));
    ck_assert_int_eq(tlswatch_check(w, time(NULL)), TLSW_SAME);
    /* a new pair, written beside and renamed over the old files */
    make_cert("c2", 90);
    sh("cd %s && cp c2.crt t.crt && cp c2.key t.key && mv t.key client.key && "
       "mv t.crt client.crt", dir);
    ck_assert_int_eq(tlswatch_check(w, time(NULL)), TLSW_CHANGED);
    ck_assert_ptr_nonnull(strstr(tlswatch_changed(w), "tls.cert"));
    ck_assert_ptr_nonnull(strstr(tlswatch_changed(w), "tls.key"));
    ck_assert_ptr_null(strstr(tlswatch_changed(w), "tls.ca"));
    ck_assert_msg(tlswatch_days(w, TLSW_CERT) < 91 && tlswatch_days(w, TLSW_CERT) > 89,
                  "days %f", tlswatch_days(w, TLSW_CERT));
    ck_assert_int_eq(tlswatch_check(w, time(NULL)), TLSW_SAME);
    tlswatch_free(w);
}
END_TEST

START_TEST(a_swapped_symlink_is_a_change)
{
    tlswatch *w;

    make_cert("ca2", 3650);
    sh("cd %s && rm ca.pem && ln -s ca.crt ca.pem", dir);
    w = tlswatch_new(ca, NULL, NULL, NULL);
    ck_assert_int_eq(tlswatch_check(w, time(NULL)), TLSW_SAME);
    /* the link itself is replaced, its target files untouched */
    sh("cd %s && ln -s ca2.crt ca.new && mv -T ca.new ca.pem", dir);
    ck_assert_int_eq(tlswatch_check(w, time(NULL)), TLSW_CHANGED);
    ck_assert_ptr_nonnull(strstr(tlswatch_changed(w), "tls.ca"));
    tlswatch_free(w);
}
END_TEST

START_TEST(a_broken_file_is_refused_until_fixed)
{
    tlswatch *w = tlswatch_new(ca, cert, key, NULL);

    ck_assert_int_eq(tlswatch_check(w, time(NULL)), TLSW_SAME);
    sh("cd %s && cp client.crt good.crt && echo garbage > client.crt", dir);
    ck_assert_int_eq(tlswatch_check(w, time(NULL)), TLSW_BROKEN);
    ck_assert_ptr_nonnull(tlswatch_error(w));
    ck_assert_ptr_nonnull(strstr(tlswatch_error(w), "tls.cert"));
    ck_assert_ptr_null(strstr(tlswatch_error(w), "garbage"));
    /* still refused at the next check */
    ck_assert_int_eq(tlswatch_check(w, time(NULL)), TLSW_BROKEN);
    /* a certificate that does not match the key */
    make_cert("other", 30);
    sh("cd %s && cp other.crt client.crt", dir);
    ck_assert_int_eq(tlswatch_check(w, time(NULL)), TLSW_BROKEN);
    ck_assert_ptr_nonnull(strstr(tlswatch_error(w), "does not match"));
    /* back to the accepted files: valid again, nothing to recycle */
    sh("cd %s && cp good.crt client.crt", dir);
    ck_assert_int_eq(tlswatch_check(w, time(NULL)), TLSW_SAME);
    ck_assert_ptr_null(tlswatch_error(w));
    /* a missing file is refused too */
    sh("cd %s && rm client.key", dir);
    ck_assert_int_eq(tlswatch_check(w, time(NULL)), TLSW_BROKEN);
    ck_assert_ptr_nonnull(strstr(tlswatch_error(w), "tls.key"));
    tlswatch_free(w);
}
END_TEST

static Suite *tlswatch_suite(void)
{
    Suite *s = suite_create("tlswatch");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sha256_of_a_file);
    tcase_add_test(tc, days_until_expiry);
    tcase_add_test(tc, a_ca_bundle_expires_with_its_last_certificate);
    tcase_add_test(tc, a_replaced_file_is_a_change);
    tcase_add_test(tc, a_swapped_symlink_is_a_change);
    tcase_add_test(tc, a_broken_file_is_refused_until_fixed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tlswatch_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
