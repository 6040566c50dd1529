/* SPDX-License-Identifier: Apache-2.0 */
/* test_sigv4.c -- AWS Signature Version 4 against AWS's published test
 * suite (tests/fixtures/sigv4, see its README): for each case the canonical
 * request and the string to sign when the suite gives them, and always the
 * Authorization header; then the same cases through the host service
 * dsrc_host.aws_sign (ABI 1.2), with credentials the host resolves, and its
 * refusals, which never name a credential. */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/ctx.h"
#include "config/config.h"
#include "secret/identity.h"
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

/* A vector's request parsed in place into r (headers in h, at most 16):
 * the body's hash in hash, *amz_date the X-Amz-Date header's value. */
static void parse_req(char *req, sigv4_request *r, sigv4_header *h, char hash[65],
                      char **amz_date)
{
    char *line, *save = NULL, *target, *sp, *body;

    memset(r, 0, sizeof *r);
    *amz_date = NULL;
    /* the body follows the first blank line */
    body = strstr(req, "\n\n");
    if (body) {
        *body = '\0';
        body += 2;
    } else {
        body = "";
    }
    ck_assert_int_eq(sigv4_sha256_hex(body, strlen(body), hash), 0);
    r->payload_hash = hash;
    line = strtok_r(req, "\n", &save);
    ck_assert_ptr_nonnull(line);
    sp = strchr(line, ' ');
    ck_assert_ptr_nonnull(sp);
    *sp = '\0';
    r->method = line;
    target = sp + 1;
    sp = strrchr(target, ' '); /* " HTTP/1.1" */
    ck_assert_ptr_nonnull(sp);
    *sp = '\0';
    if ((sp = strchr(target, '?'))) {
        *sp = '\0';
        r->query = sp + 1;
    }
    r->path = target;
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *colon = strchr(line, ':');
        ck_assert_ptr_nonnull(colon);
        ck_assert_uint_lt(r->n_headers, 16);
        *colon = '\0';
        h[r->n_headers].name = line;
        h[r->n_headers].value = colon + 1;
        if (strcasecmp(line, "X-Amz-Date") == 0)
            *amz_date = colon + 1;
        r->n_headers++;
    }
    r->headers = h;
    ck_assert_ptr_nonnull(*amz_date);
}

START_TEST(test_suite_case)
{
    const char *name = cases[_i];
    char *req = load(name, "req", 1), *authz = load(name, "authz", 1);
    char *creq_want = load(name, "creq", 0), *sts_want = load(name, "sts", 0);
    char *amz_date, *creq, *sts, *got;
    char hash[65], scope[128];
    sigv4_header h[16];
    sigv4_request r;

    parse_req(req, &r, h, hash, &amz_date);
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

/* ------------------------------------------------------------------------ */
/* The host service dsrc_host.aws_sign (ABI 1.2) on the same vectors         */

static time_t suite_clock(void) { return 1440938160; } /* 20150830T123600Z */

/* What aws_sign handed back: the headers to add, as "name: value" lines. */
typedef struct signed_out {
    char lines[4096];
    char auth[512];
    char date[32];
    int n;
} signed_out;

static int on_header(void *user, const char *name, const char *value)
{
    signed_out *o = user;
    size_t len = strlen(o->lines);
    snprintf(o->lines + len, sizeof o->lines - len, "%s: %s\n", name, value);
    if (strcmp(name, "Authorization") == 0)
        snprintf(o->auth, sizeof o->auth, "%s", value);
    else if (strcmp(name, "x-amz-date") == 0)
        snprintf(o->date, sizeof o->date, "%s", value);
    o->n++;
    return 0;
}

static cfg_value host_cloud[4];
static cfg_source host_src;

/* A source "signer" with cloud.region `region` (NULL: none), credentials
 * from the environment (a session token when `token` is not NULL). */
static void host_source(struct dsrc_ctx *ctx, const char *region, const char *token)
{
    memset(&host_src, 0, sizeof host_src);
    memset(host_cloud, 0, sizeof host_cloud);
    host_src.name = (char *)"signer";
    host_src.type = (char *)"s3";
    host_src.cloud_provider = (char *)"aws";
    host_cloud[0].key = (char *)"provider";
    host_cloud[0].text = (char *)"aws";
    host_src.n_cloud = 1;
    if (region) {
        host_cloud[1].key = (char *)"region";
        host_cloud[1].text = (char *)region;
        host_src.n_cloud = 2;
    }
    host_src.cloud = host_cloud;
    setenv("AWS_ACCESS_KEY_ID", suite_creds.access_key_id, 1);
    setenv("AWS_SECRET_ACCESS_KEY", suite_creds.secret_access_key, 1);
    if (token)
        setenv("AWS_SESSION_TOKEN", token, 1);
    else
        unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_PROFILE");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1); /* not the test machine's IMDS */
    identity_set_clock(suite_clock);
    ctx_init(ctx, "signer", "s3", NULL);
    ctx->cfg = &host_src;
}

/* Each vector through the host service: the plugin passes its headers
 * without Host, X-Amz-Date and X-Amz-Security-Token (the host adds them,
 * the token from the credentials), and gets the suite's Authorization. */
START_TEST(test_host_sign_case)
{
    const char *name = cases[_i];
    char *req = load(name, "req", 1), *authz = load(name, "authz", 1);
    char *amz_date, hash[65];
    const char *host = NULL, *token = NULL;
    sigv4_header h[16];
    sigv4_request r;
    dsrc_kv kv[16];
    dsrc_aws_request ar;
    dsrc_error err;
    signed_out out;
    struct dsrc_ctx ctx;
    size_t i, n = 0;

    parse_req(req, &r, h, hash, &amz_date);
    for (i = 0; i < r.n_headers; i++) {
        if (strcasecmp(h[i].name, "Host") == 0)
            host = h[i].value;
        else if (strcasecmp(h[i].name, "X-Amz-Security-Token") == 0)
            token = h[i].value;
        else if (strcasecmp(h[i].name, "X-Amz-Date") != 0) {
            kv[n].key = h[i].name;
            kv[n++].value = h[i].value;
        }
    }
    ck_assert_ptr_nonnull(host);
    host_source(&ctx, SUITE_REGION, token);
    memset(&ar, 0, sizeof ar);
    ar.struct_size = sizeof ar;
    ar.service = SUITE_SERVICE;
    ar.method = r.method;
    ar.host = host;
    ar.path = r.path;
    ar.query = r.query;
    ar.headers = kv;
    ar.n_headers = n;
    ar.payload_hash = hash;
    ar.header = on_header;
    memset(&out, 0, sizeof out);
    ar.user = &out;
    memset(&err, 0, sizeof err);
    err.struct_size = sizeof err;
    ck_assert_int_eq(ctx_host()->aws_sign(&ctx, &ar, &err), DSRC_OK);
    ck_assert_str_eq(out.auth, authz);
    ck_assert_str_eq(out.date, amz_date);
    if (token)
        ck_assert_ptr_nonnull(strstr(out.lines, "x-amz-security-token: "));
    ck_assert_ptr_null(strstr(out.lines, suite_creds.secret_access_key));
    free(req);
    free(authz);
}
END_TEST

/* For s3 the payload hash is sent and signed as x-amz-content-sha256. */
START_TEST(test_host_sign_s3)
{
    dsrc_aws_request ar;
    dsrc_error err;
    signed_out out;
    struct dsrc_ctx ctx;

    host_source(&ctx, "eu-west-1", NULL);
    memset(&ar, 0, sizeof ar);
    ar.struct_size = sizeof ar;
    ar.service = "s3";
    ar.method = "GET";
    ar.host = "bucket.s3.eu-west-1.amazonaws.com";
    ar.path = "/a%20b";
    ar.payload_hash = "UNSIGNED-PAYLOAD";
    ar.header = on_header;
    memset(&out, 0, sizeof out);
    ar.user = &out;
    memset(&err, 0, sizeof err);
    err.struct_size = sizeof err;
    ck_assert_int_eq(ctx_host()->aws_sign(&ctx, &ar, &err), DSRC_OK);
    ck_assert_ptr_nonnull(strstr(out.lines, "x-amz-content-sha256: UNSIGNED-PAYLOAD\n"));
    ck_assert_ptr_nonnull(strstr(out.auth, "/20150830/eu-west-1/s3/aws4_request, "
                                           "SignedHeaders=host;x-amz-content-sha256;"
                                           "x-amz-date, Signature="));
    ck_assert_int_eq(out.n, 3);
}
END_TEST

/* Refusals: no region, no credentials, no source, a malformed request;
 * never a credential in the message. */
START_TEST(test_host_sign_refused)
{
    dsrc_aws_request ar;
    dsrc_error err;
    signed_out out;
    struct dsrc_ctx ctx;

    memset(&ar, 0, sizeof ar);
    ar.struct_size = sizeof ar;
    ar.service = "s3";
    ar.method = "GET";
    ar.host = "example.com";
    ar.path = "/";
    ar.payload_hash = "UNSIGNED-PAYLOAD";
    ar.header = on_header;
    memset(&out, 0, sizeof out);
    ar.user = &out;

#define REFUSED(status, text)                                                    \
    do {                                                                       \
        memset(&err, 0, sizeof err);                                           \
        err.struct_size = sizeof err;                                          \
        ck_assert_int_eq(ctx_host()->aws_sign(&ctx, &ar, &err), status);       \
        ck_assert_ptr_nonnull(err.message);                                    \
        ck_assert_msg(strstr(err.message, text), "%s", err.message);           \
        ck_assert_ptr_null(strstr(err.message, suite_creds.secret_access_key)); \
        ck_assert_ptr_null(strstr(err.message, suite_creds.access_key_id));    \
        err.release(&err);                                                     \
    } while (0)

    host_source(&ctx, NULL, NULL);
    REFUSED(DSRC_E_INVALID_CONFIG, "cloud.region is required");
    host_source(&ctx, "us-east-1", NULL);
    unsetenv("AWS_ACCESS_KEY_ID");
    REFUSED(DSRC_E_INVALID_CONFIG, "no AWS credentials found");
    setenv("AWS_ACCESS_KEY_ID", suite_creds.access_key_id, 1);
    unsetenv("AWS_SECRET_ACCESS_KEY");
    REFUSED(DSRC_E_INVALID_CONFIG, "AWS_SECRET_ACCESS_KEY is not");
    host_source(&ctx, "us-east-1", NULL);
    ar.path = "no-slash";
    REFUSED(DSRC_E_INVALID_ARGUMENT, "malformed request");
    ar.path = "/";
    ctx.cfg = NULL;
    REFUSED(DSRC_E_UNSUPPORTED, "needs a call made for a source");
    ck_assert_int_eq(out.n, 0);
#undef REFUSED
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
    tc = tcase_create("host-service");
    tcase_add_loop_test(tc, test_host_sign_case, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_host_sign_s3);
    tcase_add_test(tc, test_host_sign_refused);
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
