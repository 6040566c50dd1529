/* SPDX-License-Identifier: Apache-2.0 */
/* test_identity.c -- the host's cloud identities with an injected clock:
 * the AWS RDS token is the one sigv4 signs for the endpoint, kept while more
 * than IDENTITY_REFRESH_MARGIN seconds of it are left and made again on use
 * after that; identity_apply() hands it to the plugin's password; a missing
 * region, missing credentials or a plugin without a password are refused
 * with messages that hold no secret. */
#include <config.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "secret/identity.h"
#include "secret/secret.h"
#include "secret/sigv4.h"

#define KEY_ID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T0 ((time_t)1767225600)

static time_t now_at = T0;
static time_t test_clock(void) { return now_at; }

static cfg_value cloud[4];
static cfg_source src;

/* A source "s" (provider aws, use_iam_auth) with `region` (NULL: none). */
static void make_source(const char *name, const char *region)
{
    size_t n = 0;

    memset(&src, 0, sizeof src);
    memset(cloud, 0, sizeof cloud);
    src.name = (char *)name;
    src.type = (char *)"postgres";
    src.cloud_provider = (char *)"aws";
    cloud[n].key = (char *)"provider";
    cloud[n++].text = (char *)"aws";
    cloud[n].key = (char *)"use_iam_auth";
    cloud[n++].text = (char *)"true";
    if (region) {
        cloud[n].key = (char *)"region";
        cloud[n++].text = (char *)region;
    }
    src.cloud = cloud;
    src.n_cloud = n;
}

/* What sigv4 signs for the test endpoint at t. */
static char *expected(time_t t)
{
    sigv4_creds c = {KEY_ID, SECRET, NULL};
    return sigv4_rds_token("db.example", 5432, "reader", "eu-west-1", &c, t,
                           SIGV4_RDS_TOKEN_EXPIRES);
}

static void setup(void)
{
    setenv("AWS_ACCESS_KEY_ID", KEY_ID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_PROFILE");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
    identity_set_clock(test_clock);
    now_at = T0;
}

START_TEST(test_cached_then_refreshed)
{
    identity_info info;
    char *tok = NULL, *want = expected(T0);
    derr e = {0};

    make_source("cache", "eu-west-1");
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", "reader", &tok, &info, &e),
                     DSRC_OK);
    ck_assert_str_eq(tok, want);
    ck_assert_int_eq(info.expires, T0 + 900);
    ck_assert_str_eq(info.provider, "aws");
    ck_assert_str_eq(info.mode, "rds-iam");
    ck_assert_ptr_null(strstr(info.principal, SECRET));
    secret_free(tok);

    /* 1 s before the refresh margin: the same token */
    now_at = T0 + 900 - IDENTITY_REFRESH_MARGIN - 1;
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", "reader", &tok, NULL, &e),
                     DSRC_OK);
    ck_assert_str_eq(tok, want);
    secret_free(tok);
    sigv4_free_secret(want);

    /* within the margin: a new one, signed now */
    now_at = T0 + 900 - IDENTITY_REFRESH_MARGIN;
    want = expected(now_at);
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", "reader", &tok, &info, &e),
                     DSRC_OK);
    ck_assert_str_eq(tok, want);
    ck_assert_int_eq(info.expires, now_at + 900);
    secret_free(tok);
    sigv4_free_secret(want);

    /* several lifetimes later: fresh again */
    now_at = T0 + 5 * 900;
    want = expected(now_at);
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", "reader", &tok, NULL, &e),
                     DSRC_OK);
    ck_assert_str_eq(tok, want);
    secret_free(tok);
    sigv4_free_secret(want);
    ck_assert_int_eq(identity_last("cache", &info), 1);
    ck_assert_int_eq(identity_last("cach", &info), 0);
}
END_TEST

/* dsrcd's refresher makes a token again ahead of the margin, once, only
 * for a source still in use; a failure keeps the token in hand. */
START_TEST(test_refresh_ahead)
{
    const time_t due = T0 + 900 - IDENTITY_REFRESH_MARGIN - IDENTITY_REFRESH_AHEAD;
    identity_info info;
    char *tok = NULL, *want;
    derr e = {0};

    make_source("ahead", "eu-west-1");
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", "reader", &tok, NULL, &e),
                     DSRC_OK);
    secret_free(tok);
    now_at = due - 1;
    ck_assert_int_eq(identity_refresh_due(), 0);
    now_at = due;
    ck_assert_int_eq(identity_refresh_due(), 1);
    ck_assert_int_eq(identity_refresh_due(), 0); /* not due any more */
    ck_assert_int_eq(identity_last("ahead", &info), 1);
    ck_assert_int_eq(info.expires, due + 900);
    /* the next connection gets the new token, made at `due` */
    now_at = due + 10;
    want = expected(due);
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", "reader", &tok, NULL, &e),
                     DSRC_OK);
    ck_assert_str_eq(tok, want);
    secret_free(tok);
    sigv4_free_secret(want);

    /* a token not handed out during its life (the source is gone or
     * idle) is left to expire */
    now_at = due + 900 + 900;
    ck_assert_int_eq(identity_refresh_due(), 0);

    /* a renewal that fails keeps the token in hand and is not retried
     * by the refresher; the next use past the margin tries again */
    make_source("ahead2", "eu-west-1");
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", "reader", &tok, NULL, &e),
                     DSRC_OK);
    want = tok;
    unsetenv("AWS_ACCESS_KEY_ID");
    now_at += 900 - IDENTITY_REFRESH_MARGIN - IDENTITY_REFRESH_AHEAD;
    ck_assert_int_eq(identity_refresh_due(), 0);
    ck_assert_int_eq(identity_refresh_due(), 0);
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", "reader", &tok, NULL, &e),
                     DSRC_OK);
    ck_assert_str_eq(tok, want);
    secret_free(tok);
    secret_free(want);
    now_at += IDENTITY_REFRESH_AHEAD;
    ck_assert_int_ne(identity_token(&src, NULL, "db.example", "5432", "reader", &tok, NULL, &e),
                     DSRC_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "no AWS credentials found"));
    derr_clear(&e);
}
END_TEST

/* A changed cloud group makes its own token: the cache does not hand out
 * one made from the old settings. */
START_TEST(test_changed_config)
{
    char *a = NULL, *b = NULL;
    derr e = {0};

    make_source("conf", "eu-west-1");
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", "reader", &a, NULL, &e),
                     DSRC_OK);
    make_source("conf", "us-east-1");
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", "reader", &b, NULL, &e),
                     DSRC_OK);
    ck_assert_str_ne(a, b);
    ck_assert_ptr_nonnull(strstr(b, "us-east-1"));
    secret_free(a);
    secret_free(b);
}
END_TEST

START_TEST(test_apply_replaces_password)
{
    static const dsrc_option table[] = {
        {"host", DSRC_OPT_STRING, 0, NULL, NULL, "", {NULL, NULL}},
        {"password", DSRC_OPT_STRING, DSRC_OPT_SECRET, NULL, NULL, "", {NULL, NULL}},
        DSRC_OPTION_END
    };
    dsrc_kv opts[5] = {{"host", "db.example"}, {"port", "5432"}, {"user", "reader"}, {0, 0}};
    char *tok = NULL, *want = expected(T0);
    size_t n = 3;
    derr e = {0};

    make_source("apply", "eu-west-1");
    ck_assert_int_eq(identity_apply(&src, table, NULL, opts, &n, &tok, &e), DSRC_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(opts[3].key, "password");
    ck_assert_str_eq(opts[3].value, want);
    secret_free(tok);

    /* a configured password is replaced, not added to */
    opts[3].value = "configured";
    ck_assert_int_eq(identity_apply(&src, table, NULL, opts, &n, &tok, &e), DSRC_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(opts[3].value, want);
    secret_free(tok);
    sigv4_free_secret(want);

    /* a plugin with no secret password option */
    n = 3;
    ck_assert_int_eq(identity_apply(&src, table + 2, NULL, opts, &n, &tok, &e),
                     DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "secret 'password' option"));
    ck_assert_ptr_null(tok);
    derr_clear(&e);

    /* no cloud identity wanted: nothing changes */
    src.cloud_provider = (char *)"gcp";
    ck_assert_int_eq(identity_apply(&src, table, NULL, opts, &n, &tok, &e), DSRC_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_ptr_null(tok);
}
END_TEST

START_TEST(test_refusals)
{
    char *tok = NULL;
    derr e = {0};

    make_source("noregion", NULL);
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", "reader", &tok, NULL, &e),
                     DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "cloud.region is required"));
    derr_clear(&e);

    make_source("nocreds", "eu-west-1");
    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1); /* not the test machine's IMDS */
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", "reader", &tok, NULL, &e),
                     DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "no AWS credentials found"));
    ck_assert_ptr_null(strstr(e.msg, SECRET));
    derr_clear(&e);

    setenv("AWS_ACCESS_KEY_ID", KEY_ID, 1);
    unsetenv("AWS_SECRET_ACCESS_KEY");
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", "reader", &tok, NULL, &e),
                     DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "AWS_SECRET_ACCESS_KEY is not"));
    derr_clear(&e);

    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "0", "reader", &tok, NULL, &e),
                     DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "host, port and user"));
    derr_clear(&e);
    ck_assert_ptr_null(tok);
}
END_TEST

static Suite *identity_suite(void)
{
    Suite *s = suite_create("identity");
    TCase *tc = tcase_create("aws");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_cached_then_refreshed);
    tcase_add_test(tc, test_apply_replaces_password);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_refresh_ahead);
    tcase_add_test(tc, test_changed_config);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(identity_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
