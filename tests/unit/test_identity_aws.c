/* SPDX-License-Identifier: Apache-2.0 */
/* test_identity_aws.c -- the AWS provider's temporary credentials, against
 * the loopback stand-ins of tests/fixtures/aws_standin.py (IMDSv2, and STS
 * checking each AssumeRole's signature with botocore), with an injected
 * clock: any number of signatures and RDS tokens of a source within the
 * credentials' life make one IMDS / STS round, from several threads at
 * once too; IDENTITY_REFRESH_MARGIN before their Expiration the next use
 * makes a new round and signs with the new credentials; each source has
 * its own.  Skipped (77) without python3 and botocore. */
#include <config.h>

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "secret/identity.h"
#include "secret/secret.h"

#define T0 ((time_t)1767225600)      /* 2026-01-01T00:00:00Z */
#define EXPIRES ((time_t)1767229200) /* 2026-01-01T01:00:00Z */
#define BASE_ID "AKIAIOSFODNN7EXAMPLE"
#define BASE_SECRET "base/K7MDENG+bPxRfiCYEXAMPLEKEYbase"

static time_t now_at = T0;
static time_t test_clock(void) { return now_at; }

static char dir[256];
static pid_t pids[2];
static char endpoint[2][64]; /* imds, sts */

/* The stand-in's credentials: generation g of mode's. */
static void write_config(const char *mode, int g)
{
    char path[300];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s.json", dir, mode);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    if (strcmp(mode, "imds") == 0)
        fprintf(f, "{\"role\": \"unit-role\", \"key_id\": \"ASIAIMDS%012d\", "
                   "\"secret\": \"imds-secret-%d\", \"token\": \"imds-session-token-%d\", "
                   "\"expiration\": \"2026-01-01T0%d:00:00Z\"}\n", g, g, g, g);
    else
        fprintf(f, "{\"region\": \"eu-west-1\", \"callers\": [{\"key_id\": \"" BASE_ID
                   "\", \"secret\": \"" BASE_SECRET "\", \"token\": null}], "
                   "\"key_id\": \"ASIASTS0%012d\", \"secret\": \"sts-secret-%d\", "
                   "\"token\": \"sts-session-token-%d\", "
                   "\"expiration\": \"2026-01-01T0%d:00:00Z\"}\n", g, g, g, g);
    fclose(f);
}

static void start_standin(int i, const char *mode)
{
    char script[512], portfile[300], log[300], conf[300], port[16] = "";
    FILE *f;
    int n;

    snprintf(script, sizeof script, "%s/tests/fixtures/aws_standin.py", TOP_SRCDIR);
    snprintf(portfile, sizeof portfile, "%s/%s.port", dir, mode);
    snprintf(log, sizeof log, "%s/%s.log", dir, mode);
    snprintf(conf, sizeof conf, "%s/%s.json", dir, mode);
    write_config(mode, 1);
    pids[i] = fork();
    if (pids[i] == 0) {
        execlp("python3", "python3", script, mode, portfile, log, conf, (char *)NULL);
        _exit(127);
    }
    for (n = 0; n < 200 && !(f = fopen(portfile, "r")); n++)
        usleep(50000);
    ck_assert_msg(f, "the %s stand-in did not start", mode);
    ck_assert_ptr_nonnull(fgets(port, sizeof port, f));
    fclose(f);
    snprintf(endpoint[i], sizeof endpoint[i], "http://127.0.0.1:%d/", atoi(port));
}

static void standins_up(void)
{
    snprintf(dir, sizeof dir, "%s/dsrc-idaws.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    start_standin(0, "imds");
    start_standin(1, "sts");
}

static void standins_down(void)
{
    char cmd[400];
    int i;

    for (i = 0; i < 2; i++)
        if (pids[i] > 0) {
            kill(pids[i], SIGTERM);
            waitpid(pids[i], NULL, 0);
        }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

/* Lines of mode's log starting with prefix. */
static int rounds(const char *mode, const char *prefix)
{
    char path[300], line[1024];
    FILE *f;
    int n = 0;

    snprintf(path, sizeof path, "%s/%s.log", dir, mode);
    if (!(f = fopen(path, "r")))
        return 0;
    while (fgets(line, sizeof line, f))
        n += strncmp(line, prefix, strlen(prefix)) == 0;
    fclose(f);
    return n;
}

static cfg_value cloud[8];
static cfg_source src;

/* A source NAME (aws, use_iam_auth, eu-west-1) taking its credentials from
 * IMDS (sts 0) or assuming a role with the environment's (sts 1). */
static void make_source(const char *name, int sts)
{
    size_t n = 0;

    memset(&src, 0, sizeof src);
    memset(cloud, 0, sizeof cloud);
    src.name = (char *)name;
    src.type = (char *)"s3";
    src.cloud_provider = (char *)"aws";
#define KV(k, v) (cloud[n].key = (char *)(k), cloud[n++].text = (char *)(v))
    KV("provider", "aws");
    KV("use_iam_auth", "true");
    KV("region", "eu-west-1");
    if (sts) {
        KV("role_arn", "arn:aws:iam::123456789012:role/reader");
        KV("sts_endpoint", endpoint[1]);
    } else {
        KV("imds_endpoint", endpoint[0]);
    }
#undef KV
    src.cloud = cloud;
    src.n_cloud = n;
}

static void setup(void)
{
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
    identity_set_clock(test_clock);
    now_at = T0;
}

/* What a signature handed over. */
typedef struct signed_out {
    char auth[512], token[128];
} signed_out;

static int on_header(void *user, const char *name, const char *value)
{
    signed_out *o = user;
    if (strcmp(name, "Authorization") == 0)
        snprintf(o->auth, sizeof o->auth, "%s", value);
    else if (strcmp(name, "x-amz-security-token") == 0)
        snprintf(o->token, sizeof o->token, "%s", value);
    return 0;
}

/* Sign a GET for src; the Authorization and session token into *o. */
static void sign(signed_out *o)
{
    dsrc_aws_request r;
    derr e = {0};

    memset(&r, 0, sizeof r);
    memset(o, 0, sizeof *o);
    r.struct_size = sizeof r;
    r.service = "s3";
    r.method = "GET";
    r.host = "bucket.s3.eu-west-1.amazonaws.com";
    r.path = "/key";
    r.payload_hash = "UNSIGNED-PAYLOAD";
    r.header = on_header;
    r.user = o;
    ck_assert_msg(identity_aws_sign(&src, NULL, &r, &e) == DSRC_OK, "%s",
                  e.msg ? e.msg : "?");
}

/* The credential scope's key id is `id`. */
static void signed_by(const signed_out *o, const char *id)
{
    char want[128];
    snprintf(want, sizeof want, "Credential=%s/", id);
    ck_assert_msg(strstr(o->auth, want), "%s not in %s", want, o->auth);
}

START_TEST(test_imds_cached_then_refreshed)
{
    static const char *const users[] = {"a", "b", "c"};
    identity_info info;
    signed_out o;
    char *tok;
    derr e = {0};
    int i;

    write_config("imds", 1);
    make_source("imds1", 0);
    for (i = 0; i < 5; i++) {
        sign(&o);
        signed_by(&o, "ASIAIMDS000000000001");
        ck_assert_str_eq(o.token, "imds-session-token-1");
    }
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", users[i], &tok, &info,
                                        &e), DSRC_OK);
        ck_assert_ptr_nonnull(strstr(tok, "X-Amz-Security-Token=imds-session-token-1"));
        ck_assert_ptr_nonnull(strstr(info.principal, "instance profile unit-role via IMDSv2"));
        secret_free(tok);
    }
    ck_assert_int_eq(rounds("imds", "PUT /latest/api/token ttl=21600"), 1);
    ck_assert_int_eq(rounds("imds", "GET /latest/meta-data/iam/security-credentials/unit-role "
                                    "token=ok"), 1);
    /* one second before the margin: still the cached ones */
    now_at = EXPIRES - IDENTITY_REFRESH_MARGIN - 1;
    write_config("imds", 2);
    sign(&o);
    signed_by(&o, "ASIAIMDS000000000001");
    ck_assert_int_eq(rounds("imds", "PUT "), 1);
    /* at the margin: a new round, the new credentials */
    now_at = EXPIRES - IDENTITY_REFRESH_MARGIN;
    sign(&o);
    signed_by(&o, "ASIAIMDS000000000002");
    ck_assert_str_eq(o.token, "imds-session-token-2");
    sign(&o);
    ck_assert_int_eq(rounds("imds", "PUT "), 2);
    ck_assert_int_eq(rounds("imds", "GET /latest/meta-data/iam/security-credentials/unit-role "
                                    "token=ok"), 2);
    /* inside the margin of credentials the service has not rotated yet:
     * used as they are, asked again at most every 30 seconds */
    now_at = EXPIRES + 3600 - IDENTITY_REFRESH_MARGIN;
    sign(&o);
    ck_assert_int_eq(rounds("imds", "PUT "), 3);
    now_at += 29;
    sign(&o);
    signed_by(&o, "ASIAIMDS000000000002");
    ck_assert_int_eq(rounds("imds", "PUT "), 3);
    now_at += 1;
    sign(&o);
    ck_assert_int_eq(rounds("imds", "PUT "), 4);
    /* another source asks on its own */
    make_source("imds2", 0);
    sign(&o);
    ck_assert_int_eq(rounds("imds", "PUT "), 5);
}
END_TEST

START_TEST(test_sts_cached_then_refreshed)
{
    signed_out o;
    int i;

    setenv("AWS_ACCESS_KEY_ID", BASE_ID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", BASE_SECRET, 1);
    write_config("sts", 1);
    make_source("sts1", 1);
    for (i = 0; i < 5; i++) {
        sign(&o);
        signed_by(&o, "ASIASTS0000000000001");
        ck_assert_str_eq(o.token, "sts-session-token-1");
    }
    ck_assert_int_eq(rounds("sts", "ok POST RoleArn=arn:aws:iam::123456789012:role/reader "
                                   "RoleSessionName=dsrc-sts1 DurationSeconds=3600"), 1);
    ck_assert_int_eq(rounds("sts", "bad "), 0);
    write_config("sts", 2);
    now_at = EXPIRES - IDENTITY_REFRESH_MARGIN;
    sign(&o);
    signed_by(&o, "ASIASTS0000000000002");
    ck_assert_int_eq(rounds("sts", "ok POST RoleArn=arn:aws:iam::123456789012:role/reader "
                                   "RoleSessionName=dsrc-sts1 "), 2);
    ck_assert_int_eq(rounds("sts", "bad "), 0);
}
END_TEST

static void *sign_thread(void *arg)
{
    signed_out o;
    int i;

    (void)arg;
    for (i = 0; i < 10; i++)
        sign(&o);
    return NULL;
}

START_TEST(test_threads_one_round)
{
    pthread_t t[4];
    int i;

    setenv("AWS_ACCESS_KEY_ID", BASE_ID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", BASE_SECRET, 1);
    write_config("sts", 1);
    make_source("threads", 1);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, sign_thread, NULL), 0);
    for (i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(rounds("sts", "ok POST RoleArn=arn:aws:iam::123456789012:role/reader "
                                   "RoleSessionName=dsrc-threads"), 1);
}
END_TEST

START_TEST(test_refused_not_cached)
{
    signed_out o;
    dsrc_aws_request r;
    derr e = {0};

    setenv("AWS_ACCESS_KEY_ID", BASE_ID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret", 1);
    make_source("refused", 1);
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.service = "s3";
    r.method = "GET";
    r.host = "bucket.s3.eu-west-1.amazonaws.com";
    r.path = "/";
    r.payload_hash = "UNSIGNED-PAYLOAD";
    r.header = on_header;
    r.user = &o;
    ck_assert_int_eq(identity_aws_sign(&src, NULL, &r, &e), DSRC_E_AUTH);
    ck_assert_ptr_nonnull(strstr(e.msg, "SignatureDoesNotMatch"));
    ck_assert_ptr_null(strstr(e.msg, "wrong-secret"));
    derr_clear(&e);
    /* the right key: a new round, not a cached refusal */
    setenv("AWS_SECRET_ACCESS_KEY", BASE_SECRET, 1);
    sign(&o);
    signed_by(&o, "ASIASTS0000000000001");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("identity_aws");
    TCase *tc = tcase_create("temporary");
    SRunner *sr;
    int failed;

    if (system("python3 -c 'import botocore' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "no python3 with botocore: skipped\n");
        return 77;
    }
    tcase_add_unchecked_fixture(tc, standins_up, standins_down);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_imds_cached_then_refreshed);
    tcase_add_test(tc, test_sts_cached_then_refreshed);
    tcase_add_test(tc, test_threads_one_round);
    tcase_add_test(tc, test_refused_not_cached);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
