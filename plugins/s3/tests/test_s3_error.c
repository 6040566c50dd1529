/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_s3_error.c -- how s3.so maps S3's answers to dsrc statuses: S3's
 * XML error body read for its Code and Message (and nothing else of it,
 * such as the StringToSign S3 echoes), 403 SignatureDoesNotMatch /
 * InvalidAccessKeyId to auth (not retryable), AccessDenied to permission,
 * NoSuchBucket / NoSuchKey to not found, 5xx, 429 and SlowDown retryable,
 * a dropped connection retryable and unreachable, a cancelled transfer
 * cancelled.
 */
#include <config.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../s3.h"

typedef struct mapped {
    dsrc_status st;
    int retryable;
    char code[DSRC_BACKEND_CODE_MAX];
    char msg[512];
} mapped;

/* s3_fail() of an answer with `status` and the error body `xml`. */
static mapped fail_http(long status, const char *xml)
{
    dsrc_conn c;
    s3_resp r;
    dsrc_error e;
    mapped m;

    memset(&c, 0, sizeof c);
    snprintf(c.hostport, sizeof c.hostport, "s3.example:443");
    memset(&r, 0, sizeof r);
    r.status = status;
    if (xml)
        dsrc_buf_add(&r.errbody, xml);
    s3_parse_error_body(&r);
    memset(&e, 0, sizeof e);
    e.struct_size = sizeof e;
    m.st = s3_fail(&c, &r, "fetch 'b/k'", &e);
    m.retryable = e.retryable;
    snprintf(m.code, sizeof m.code, "%s", e.backend_code);
    snprintf(m.msg, sizeof m.msg, "%s", e.message ? e.message : "");
    if (e.release)
        e.release(&e);
    dsrc_buf_free(&r.errbody);
    return m;
}

#define S3ERR(code, msg)                                                          \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" code "</Code><Message>" msg \
    "</Message><AWSAccessKeyId>AKIDEXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256 "  \
    "x</StringToSign><RequestId>1</RequestId></Error>"

START_TEST(t_signature)
{
    mapped m = fail_http(403, S3ERR("SignatureDoesNotMatch", "The request signature we "
                                    "calculated does not match.\nSecond line"));
    ck_assert_int_eq(m.st, DSRC_E_AUTH);
    ck_assert_int_eq(m.retryable, 0);
    ck_assert_str_eq(m.code, "403");
    ck_assert_ptr_nonnull(strstr(m.msg, "fetch 'b/k': HTTP 403 SignatureDoesNotMatch: The "
                                        "request signature we calculated does not match."));
    ck_assert_ptr_null(strstr(m.msg, "Second line"));
    ck_assert_ptr_null(strstr(m.msg, "AKIDEXAMPLE"));
    ck_assert_ptr_null(strstr(m.msg, "AWS4-HMAC-SHA256"));
}
END_TEST

START_TEST(t_statuses)
{
    static const struct {
        long status;
        const char *xml;
        dsrc_status st;
        int retryable;
        const char *says;
    } cases[] = {
        {403, S3ERR("InvalidAccessKeyId", "no such key"), DSRC_E_AUTH, 0, "InvalidAccessKeyId"},
        {403, S3ERR("ExpiredToken", "expired"), DSRC_E_AUTH, 0, "ExpiredToken"},
        {403, S3ERR("AccessDenied", "Access Denied"), DSRC_E_PERMISSION, 0, "AccessDenied"},
        {404, S3ERR("NoSuchBucket", "The specified bucket does not exist"), DSRC_E_NOT_FOUND, 0,
         "NoSuchBucket"},
        {404, S3ERR("NoSuchKey", "The specified key does not exist."), DSRC_E_NOT_FOUND, 0,
         "NoSuchKey"},
        {404, NULL, DSRC_E_NOT_FOUND, 0, "HTTP 404"},
        {503, S3ERR("SlowDown", "Please reduce your request rate."), DSRC_E_BACKEND, 1,
         "throttling"},
        {500, S3ERR("InternalError", "We encountered an internal error."), DSRC_E_BACKEND, 1,
         "InternalError"},
        {429, NULL, DSRC_E_BACKEND, 1, "HTTP 429"},
        {412, S3ERR("PreconditionFailed", "At least one of the pre-conditions you specified "
                    "did not hold"), DSRC_E_BACKEND, 1, "changed while it was being read"},
        {400, S3ERR("AuthorizationHeaderMalformed", "the region 'us-east-1' is wrong"),
         DSRC_E_AUTH, 0, "connection.region"},
        {301, S3ERR("PermanentRedirect", "use the bucket's endpoint"), DSRC_E_INVALID_CONFIG, 0,
         "another region"},
        {400, S3ERR("InvalidArgument", "bad"), DSRC_E_INVALID_ARGUMENT, 0, "InvalidArgument"},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mapped m = fail_http(cases[i].status, cases[i].xml);
        ck_assert_msg(m.st == cases[i].st, "case %zu: status %d, want %d (%s)", i, (int)m.st,
                      (int)cases[i].st, m.msg);
        ck_assert_msg(m.retryable == cases[i].retryable, "case %zu: retryable %d (%s)", i,
                      m.retryable, m.msg);
        ck_assert_msg(strstr(m.msg, cases[i].says), "case %zu: '%s' lacks '%s'", i, m.msg,
                      cases[i].says);
    }
}
END_TEST

START_TEST(t_transport)
{
    dsrc_conn c;
    s3_resp r;
    dsrc_error e;

    memset(&c, 0, sizeof c);
    snprintf(c.hostport, sizeof c.hostport, "s3.example:443");
    memset(&r, 0, sizeof r);
    memset(&e, 0, sizeof e);
    e.struct_size = sizeof e;
    r.cc = CURLE_PARTIAL_FILE;
    ck_assert_int_eq(s3_fail(&c, &r, "fetch 'b/k'", &e), DSRC_E_UNREACHABLE);
    ck_assert_int_eq(e.retryable, 1);
    ck_assert_str_eq(e.backend_code, "curl-18");
    e.release(&e);
    r.cc = CURLE_ABORTED_BY_CALLBACK;
    ck_assert_int_eq(s3_fail(&c, &r, "fetch 'b/k'", &e), DSRC_E_CANCELLED);
    e.release(&e);
    r.cc = CURLE_COULDNT_CONNECT;
    ck_assert_int_eq(s3_fail(&c, &r, "fetch 'b/k'", &e), DSRC_E_UNREACHABLE);
    ck_assert_ptr_nonnull(strstr(e.message, "s3.example:443"));
    e.release(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("s3_error");
    TCase *tc = tcase_create("mapping");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, t_signature);
    tcase_add_test(tc, t_statuses);
    tcase_add_test(tc, t_transport);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
