/* SPDX-License-Identifier: Apache-2.0 */
/* test_identity.c -- the host's cloud identities with an injected clock:
 * the AWS RDS token is the one sigv4 signs for the endpoint, kept while more
 * than IDENTITY_REFRESH_MARGIN seconds of it are left and made again on use
 * after that; identity_apply() hands it to the plugin's password; a missing
 * region, missing credentials or a plugin without a password are refused
 * with messages that hold no secret.  A token that lives less than twice
 * the margin (from a GCP metadata stand-in on a thread of this test) is
 * kept for two thirds of its life. */
#include <config.h>

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* ---- a GCP metadata server on 127.0.0.1, on a thread ---- */

static int md_fd = -1, md_port;
static volatile int md_life = 9, md_tokens;

static void *md_serve(void *arg)
{
    (void)arg;
    for (;;) {
        char req[4096], body[256], ans[512];
        size_t n = 0;
        ssize_t r;
        int c = accept(md_fd, NULL, NULL);

        if (c < 0)
            return NULL;
        while (n + 1 < sizeof req && (r = read(c, req + n, sizeof req - 1 - n)) > 0) {
            n += (size_t)r;
            req[n] = '\0';
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        req[n] = '\0';
        if (!strstr(req, "Metadata-Flavor: Google"))
            snprintf(body, sizeof body, "missing Metadata-Flavor");
        else if (strstr(req, "GET /computeMetadata/v1/instance/service-accounts/default/email"))
            snprintf(body, sizeof body, "reader@proj.iam.gserviceaccount.com");
        else
            snprintf(body, sizeof body,
                     "{\"access_token\":\"ya29.tok-%d\",\"expires_in\":%d,"
                     "\"token_type\":\"Bearer\"}", ++md_tokens, md_life);
        snprintf(ans, sizeof ans, "HTTP/1.1 %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                 strstr(req, "Metadata-Flavor: Google") ? "200 OK" : "403 Forbidden",
                 strlen(body), body);
        if (write(c, ans, strlen(ans)) < 0)
            perror("write");
        close(c);
    }
}

static void md_start(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    pthread_t th;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ge(md_fd = socket(AF_INET, SOCK_STREAM, 0), 0);
    ck_assert_int_eq(bind(md_fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(md_fd, 8), 0);
    ck_assert_int_eq(getsockname(md_fd, (struct sockaddr *)&a, &len), 0);
    md_port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&th, NULL, md_serve, NULL), 0);
    pthread_detach(th);
}

/* The token of the gcp source, and the stand-in's count after it. */
static int md_token(char *want)
{
    char *tok = NULL;
    derr e = {0};
    int n;

    ck_assert_int_eq(identity_token(&src, NULL, "db", "5432", "reader", &tok, NULL, &e),
                     DSRC_OK);
    n = atoi(strrchr(tok, '-') + 1);
    if (want)
        ck_assert_str_eq(tok, want);
    secret_free(tok);
    return n;
}

START_TEST(test_short_lived_margin)
{
    char url[64], want[32];
    int first;

    md_start();
    snprintf(url, sizeof url, "http://127.0.0.1:%d", md_port);
    memset(&src, 0, sizeof src);
    memset(cloud, 0, sizeof cloud);
    src.name = (char *)"short";
    src.type = (char *)"postgres";
    src.cloud_provider = (char *)"gcp";
    cloud[0].key = (char *)"provider";
    cloud[0].text = (char *)"gcp";
    cloud[1].key = (char *)"use_workload_identity";
    cloud[1].text = (char *)"true";
    cloud[2].key = (char *)"metadata_endpoint";
    cloud[2].text = url;
    src.cloud = cloud;
    src.n_cloud = 3;

    /* 9 s of life: kept for 6 (margin 3), made again after */
    md_life = 9;
    first = md_token(NULL);
    snprintf(want, sizeof want, "ya29.tok-%d", first);
    now_at = T0 + 5;
    ck_assert_int_eq(md_token(want), first);
    now_at = T0 + 6;
    ck_assert_int_eq(md_token(NULL), first + 1);
    /* three lives later: one new token per use past two thirds */
    now_at = T0 + 6 + 5;
    ck_assert_int_eq(md_token(NULL), first + 1);
    now_at = T0 + 6 + 6;
    ck_assert_int_eq(md_token(NULL), first + 2);

    /* 1 s of life: a margin of 0, kept for its second */
    md_life = 1;
    now_at = T0 + 100;
    first = md_token(NULL);
    ck_assert_int_eq(md_token(NULL), first);
    now_at = T0 + 101;
    ck_assert_int_eq(md_token(NULL), first + 1);

    /* 599 s: margin 199; 600 s and more: IDENTITY_REFRESH_MARGIN */
    md_life = 599;
    now_at = T0 + 1000;
    first = md_token(NULL);
    now_at = T0 + 1000 + 599 - 199 - 1;
    ck_assert_int_eq(md_token(NULL), first);
    now_at = T0 + 1000 + 599 - 199;
    ck_assert_int_eq(md_token(NULL), first + 1);
    md_life = 600;
    now_at = T0 + 3000;
    first = md_token(NULL);
    now_at = T0 + 3000 + 600 - IDENTITY_REFRESH_MARGIN - 1;
    ck_assert_int_eq(md_token(NULL), first);
    now_at = T0 + 3000 + 600 - IDENTITY_REFRESH_MARGIN;
    ck_assert_int_eq(md_token(NULL), first + 1);
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
    tc = tcase_create("margin");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_short_lived_margin);
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
