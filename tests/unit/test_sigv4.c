/* SPDX-License-Identifier: Apache-2.0 */
/* test_sigv4.c -- AWS Signature Version 4 against AWS's published test
 * suite (tests/fixtures/sigv4, see its README): for each case the canonical
 * request and the string to sign when the suite gives them, and always the
 * Authorization header. */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret/sigv4.h"

#define SUITE_REGION "us-east-1"
#define SUITE_SERVICE "service"

static const sigv4_creds suite_creds = {"AKIDEXAMPLE",
                                        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};

/* The cases used, by name: a missing file fails the test. */
static const char *const cases[] = {
    "get-vanilla", "get-vanilla-query-order-key-case", "get-vanilla-query-order-key",
    "get-vanilla-query-unreserved", "post-vanilla", "post-header-key-sort",
    "post-x-www-form-urlencoded", "post-sts-header-before",
};

/* NAME.EXT from the fixtures, or NULL when absent (and required is 0). */
static char *load(const char *name, const char *ext, int required)
{
    const char *top = getenv("top_srcdir");
    char path[4096], *buf;
    FILE *f;
    long n;

    snprintf(path, sizeof path, "%s/tests/fixtures/sigv4/%s.%s",
             top && *top ? top : SIGV4_VECTORS_TOP, name, ext);
    f = fopen(path, "rb");
    if (!f) {
        ck_assert_msg(!required, "cannot open the SigV4 vector %s", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

START_TEST(test_suite_case)
{
    const char *name = cases[_i];
    char *req = load(name, "req", 1), *authz = load(name, "authz", 1);
    char *creq_want = load(name, "creq", 0), *sts_want = load(name, "sts", 0);
    char *line, *save = NULL, *target, *sp, *body, *amz_date = NULL, *creq, *sts, *got;
    char hash[65], scope[128];
    sigv4_header h[16];
    sigv4_request r;

    memset(&r, 0, sizeof r);
    /* the body follows the first blank line */
    body = strstr(req, "\n\n");
    if (body) {
        *body = '\0';
        body += 2;
    } else {
        body = "";
    }
    ck_assert_int_eq(sigv4_sha256_hex(body, strlen(body), hash), 0);
    r.payload_hash = hash;
    line = strtok_r(req, "\n", &save);
    ck_assert_ptr_nonnull(line);
    sp = strchr(line, ' ');
    ck_assert_ptr_nonnull(sp);
    *sp = '\0';
    r.method = line;
    target = sp + 1;
    sp = strrchr(target, ' '); /* " HTTP/1.1" */
    ck_assert_ptr_nonnull(sp);
    *sp = '\0';
    if ((sp = strchr(target, '?'))) {
        *sp = '\0';
        r.query = sp + 1;
    }
    r.path = target;
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *colon = strchr(line, ':');
        ck_assert_ptr_nonnull(colon);
        ck_assert_uint_lt(r.n_headers, sizeof h / sizeof h[0]);
        *colon = '\0';
        h[r.n_headers].name = line;
        h[r.n_headers].value = colon + 1;
        if (strcasecmp(line, "X-Amz-Date") == 0)
            amz_date = colon + 1;
        r.n_headers++;
    }
    r.headers = h;
    ck_assert_ptr_nonnull(amz_date);

    creq = sigv4_canonical_request(&r, NULL);
    ck_assert_ptr_nonnull(creq);
    if (creq_want)
        ck_assert_str_eq(creq, creq_want);
    snprintf(scope, sizeof scope, "%.8s/%s/%s/aws4_request", amz_date, SUITE_REGION,
             SUITE_SERVICE);
    sts = sigv4_string_to_sign(amz_date, scope, creq);
    ck_assert_ptr_nonnull(sts);
    if (sts_want)
        ck_assert_str_eq(sts, sts_want);
    got = sigv4_authorization(&r, &suite_creds, SUITE_REGION, SUITE_SERVICE, amz_date);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, authz);

    free(got);
    free(sts);
    free(creq);
    free(req);
    free(authz);
    free(creq_want);
    free(sts_want);
}
END_TEST

START_TEST(test_uri_encode)
{
    char *s = sigv4_uri_encode("a b/c~d_e.f-g+h=é");
    ck_assert_str_eq(s, "a%20b%2Fc~d_e.f-g%2Bh%3D%C3%A9");
    free(s);
}
END_TEST

START_TEST(test_amz_date)
{
    char d[17];
    sigv4_amz_date(1440938160, d);
    ck_assert_str_eq(d, "20150830T123600Z");
}
END_TEST

static Suite *sigv4_suite(void)
{
    Suite *s = suite_create("sigv4");
    TCase *tc = tcase_create("aws-sig-v4-test-suite");

    tcase_add_loop_test(tc, test_suite_case, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_uri_encode);
    tcase_add_test(tc, test_amz_date);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sigv4_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
