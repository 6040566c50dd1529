/* SPDX-License-Identifier: Apache-2.0 */
/* test_identity_azure.c -- the azure provider of the host's cloud
 * identities against a loopback Entra ID / IMDS stand-in
 * (plugins/azure_blob/tests/fixture/token_server.py), with an injected
 * clock: the client-credentials form and the IMDS query reach it as it
 * checks them, the token is kept while more than IDENTITY_REFRESH_MARGIN
 * seconds of it are left and asked for again after that, expires_in and
 * expires_on (numbers or strings) give its end of life, a refusal is an
 * auth error quoting the AADSTS code, a 500 a retryable backend error, an
 * endpoint gone unreachable, and no message holds the secret or the
 * token; identity_bearer() and identity_apply() hand the token to a
 * plugin. */
#include <config.h>

#include <check.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/ctx.h"
#include "secret/identity.h"
#include "secret/secret.h"

extern char **environ;

#define TENANT "contoso.onmicrosoft.com"
#define CLIENT "11111111-2222-3333-4444-555555555555"
#define SECRET "cs~unit-test-secret-0123456789"
#define TOKEN "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.unit-test-token.c2lnbmF0dXJl"
#define DB_RESOURCE "https://ossrdbms-aad.database.windows.net"
#define T0 ((time_t)1767225600)

static time_t now_at = T0;
static time_t test_clock(void) { return now_at; }

static char dir[] = "/tmp/dsrc-idaz.XXXXXX";
static char url[128], logpath[256];
static pid_t server = -1;

/* Start the stand-in once for the suite (an unchecked fixture). */
static void server_start(void)
{
    char portfile[256], port[32] = "";
    char *argv[] = {(char *)"python3",
                    (char *)TOP_SRCDIR "/plugins/azure_blob/tests/fixture/token_server.py",
                    portfile, logpath, (char *)TENANT, (char *)CLIENT, (char *)SECRET,
                    (char *)TOKEN, (char *)DB_RESOURCE, (char *)"3599", NULL};
    FILE *f = NULL;
    int i;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(portfile, sizeof portfile, "%s/port", dir);
    snprintf(logpath, sizeof logpath, "%s/log", dir);
    ck_assert_int_eq(posix_spawn(&server, "/usr/bin/python3", NULL, NULL, argv, environ), 0);
    for (i = 0; i < 200 && !(f = fopen(portfile, "r")); i++)
        usleep(50000);
    ck_assert_msg(f != NULL, "the token server did not start");
    ck_assert_ptr_nonnull(fgets(port, sizeof port, f));
    fclose(f);
    snprintf(url, sizeof url, "http://127.0.0.1:%s", port);
}

static void server_stop(void)
{
    char cmd[300];

    if (server > 0) {
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

/* How many lines of the server's log are exactly `line`. */
static int logged(const char *line)
{
    FILE *f = fopen(logpath, "r");
    char buf[512];
    int n = 0;

    if (!f)
        return 0;
    while (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = '\0';
        n += strcmp(buf, line) == 0;
    }
    fclose(f);
    return n;
}

static cfg_value cloud[8];
static cfg_source src;

/* A source `name` of type postgres, cloud provider azure, with the
 * key/value pairs of kv (NULL-terminated). */
static void make_source(const char *name, const char *const *kv)
{
    size_t n = 0;

    memset(&src, 0, sizeof src);
    memset(cloud, 0, sizeof cloud);
    src.name = (char *)name;
    src.type = (char *)"postgres";
    src.cloud_provider = (char *)"azure";
    cloud[n].key = (char *)"provider";
    cloud[n++].text = (char *)"azure";
    for (; kv && kv[0]; kv += 2) {
        cloud[n].key = (char *)kv[0];
        cloud[n++].text = (char *)kv[1];
    }
    src.cloud = cloud;
    src.n_cloud = n;
}

/* Client credentials against tenant `tenant` of the stand-in. */
static void cc_source(const char *name, const char *tenant, const char *secret)
{
    static char authority[160];
    const char *kv[] = {"tenant_id", tenant, "client_id", CLIENT, "client_secret", secret,
                        "authority_host", authority, NULL};
    snprintf(authority, sizeof authority, "%s/", url);
    make_source(name, kv);
}

static void setup(void)
{
    setenv("IDAZ_SECRET", SECRET, 1);
    setenv("IDAZ_BAD", "wrong-" SECRET, 1);
    identity_set_clock(test_clock);
    now_at = T0;
}

static void no_secret_in(const derr *e)
{
    ck_assert_ptr_nonnull(e->msg);
    ck_assert_ptr_null(strstr(e->msg, SECRET));
    ck_assert_ptr_null(strstr(e->msg, TOKEN));
}

START_TEST(test_client_credentials_cached_then_refreshed)
{
    identity_info info;
    char *tok = NULL;
    derr e = {0};
    int before = logged("token-cc ok");

    cc_source("cc", TENANT, "env:IDAZ_SECRET");
    ck_assert(identity_wanted(&src));
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", "reader", &tok, &info, &e),
                     DSRC_OK);
    ck_assert_str_eq(tok, TOKEN);
    secret_free(tok);
    ck_assert_str_eq(info.provider, "azure");
    ck_assert_str_eq(info.mode, "client-credentials");
    ck_assert_str_eq(info.principal, "client " CLIENT " of tenant " TENANT " for " DB_RESOURCE);
    ck_assert_int_eq(info.expires, T0 + 3599);
    ck_assert_int_eq(logged("token-cc ok"), before + 1);
    /* kept while more than the margin is left */
    now_at = T0 + 3599 - IDENTITY_REFRESH_MARGIN - 1;
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", "reader", &tok, NULL, &e),
                     DSRC_OK);
    secret_free(tok);
    ck_assert_int_eq(logged("token-cc ok"), before + 1);
    /* then asked for again, its life counted from the new clock */
    now_at = T0 + 3599 - IDENTITY_REFRESH_MARGIN;
    ck_assert_int_eq(identity_token(&src, NULL, "db.example", "5432", "reader", &tok, &info, &e),
                     DSRC_OK);
    secret_free(tok);
    ck_assert_int_eq(logged("token-cc ok"), before + 2);
    ck_assert_int_eq(info.expires, now_at + 3599);
    ck_assert(identity_last("cc", &info));
    ck_assert_str_eq(info.mode, "client-credentials");
}
END_TEST

START_TEST(test_managed_identity)
{
    identity_info info;
    char *tok = NULL;
    derr e = {0};
    const char *kv[] = {"use_managed_identity", "true", "imds_endpoint", url, NULL};
    const char *kv_id[] = {"use_managed_identity", "true", "client_id", CLIENT,
                           "imds_endpoint", url, NULL};
    int before = logged("token-msi ok"), before_id = logged("token-msi+client_id ok");

    make_source("msi", kv);
    ck_assert(identity_wanted(&src));
    ck_assert_int_eq(identity_token(&src, NULL, NULL, NULL, NULL, &tok, &info, &e), DSRC_OK);
    ck_assert_str_eq(tok, TOKEN);
    secret_free(tok);
    ck_assert_str_eq(info.mode, "managed-identity");
    ck_assert_str_eq(info.principal, "system-assigned managed identity for " DB_RESOURCE);
    ck_assert_int_eq(info.expires, T0 + 3599); /* IMDS: a numeric string */
    ck_assert_int_eq(logged("token-msi ok"), before + 1);
    make_source("msiid", kv_id);
    ck_assert_int_eq(identity_token(&src, NULL, NULL, NULL, NULL, &tok, &info, &e), DSRC_OK);
    secret_free(tok);
    ck_assert_str_eq(info.principal, "managed identity, client " CLIENT " for " DB_RESOURCE);
    ck_assert_int_eq(logged("token-msi+client_id ok"), before_id + 1);
}
END_TEST

START_TEST(test_wrong_secret_is_auth)
{
    char *tok = NULL;
    derr e = {0};

    cc_source("bad", TENANT, "env:IDAZ_BAD");
    ck_assert_int_eq(identity_token(&src, NULL, NULL, NULL, NULL, &tok, NULL, &e), DSRC_E_AUTH);
    ck_assert_ptr_null(tok);
    no_secret_in(&e);
    ck_assert_ptr_null(strstr(e.msg, "wrong-"));
    ck_assert_msg(strstr(e.msg, "HTTP 401: invalid_client: AADSTS7000215") != NULL, "%s",
                  e.msg);
    ck_assert_msg(strstr(e.msg, "source 'bad': cloud identity (azure, Entra ID)") != NULL,
                  "%s", e.msg);
    ck_assert_int_eq(e.retryable, 0);
    derr_clear(&e);
}
END_TEST

START_TEST(test_server_errors)
{
    char *tok = NULL;
    identity_info info;
    derr e = {0};

    cc_source("busy", "t-500", "env:IDAZ_SECRET");
    ck_assert_int_eq(identity_token(&src, NULL, NULL, NULL, NULL, &tok, NULL, &e),
                     DSRC_E_BACKEND);
    ck_assert_int_eq(e.retryable, 1);
    ck_assert_msg(strstr(e.msg, "HTTP 500: temporarily_unavailable") != NULL, "%s", e.msg);
    no_secret_in(&e);
    derr_clear(&e);
    cc_source("noexp", "t-noexp", "env:IDAZ_SECRET");
    ck_assert_int_eq(identity_token(&src, NULL, NULL, NULL, NULL, &tok, NULL, &e),
                     DSRC_E_BACKEND);
    ck_assert_ptr_nonnull(strstr(e.msg, "neither expires_in nor expires_on"));
    no_secret_in(&e);
    derr_clear(&e);
    cc_source("notoken", "t-notoken", "env:IDAZ_SECRET");
    ck_assert_int_eq(identity_token(&src, NULL, NULL, NULL, NULL, &tok, NULL, &e),
                     DSRC_E_BACKEND);
    ck_assert_ptr_nonnull(strstr(e.msg, "no access_token"));
    derr_clear(&e);
    cc_source("expon", "t-expon", "env:IDAZ_SECRET");
    ck_assert_int_eq(identity_token(&src, NULL, NULL, NULL, NULL, &tok, &info, &e), DSRC_OK);
    ck_assert_int_eq(info.expires, 1767229200);
    secret_free(tok);
}
END_TEST

START_TEST(test_config_errors)
{
    char *tok = NULL;
    derr e = {0};
    const char *no_tenant[] = {"client_id", CLIENT, "client_secret", "env:IDAZ_SECRET", NULL};
    const char *plain[] = {"tenant_id", TENANT, "client_id", CLIENT, "client_secret",
                           "env:IDAZ_SECRET", "authority_host", "http://login.example.com",
                           NULL};
    const char *gone[] = {"use_managed_identity", "true", "imds_endpoint",
                          "http://127.0.0.1:1", NULL};
    const char *nothing[] = {"tenant_id", TENANT, NULL};

    const char *bad_tenant[] = {"tenant_id", "contoso/../x", "client_id", CLIENT,
                                "client_secret", "env:IDAZ_SECRET", NULL};
    const char *msi[] = {"use_managed_identity", "true", NULL};

    make_source("nothing", nothing);
    ck_assert(!identity_wanted(&src));
    /* what check-config tells (identity_check) */
    ck_assert_int_eq(identity_check(&src, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "it has tenant_id"));
    derr_clear(&e);
    make_source("badtenant", bad_tenant);
    ck_assert_int_eq(identity_check(&src, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "is not a tenant id or domain"));
    derr_clear(&e);
    make_source("msicheck", msi);
    ck_assert_int_eq(identity_check(&src, &e), DSRC_OK);
    make_source("nocloud", NULL);
    ck_assert_int_eq(identity_check(&src, &e), DSRC_OK);
    make_source("notenant", no_tenant);
    ck_assert(identity_wanted(&src));
    ck_assert_int_eq(identity_token(&src, NULL, NULL, NULL, NULL, &tok, NULL, &e),
                     DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "needs tenant_id, client_id and client_secret"));
    derr_clear(&e);
    make_source("plain", plain);
    ck_assert_int_eq(identity_token(&src, NULL, NULL, NULL, NULL, &tok, NULL, &e),
                     DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "only for a loopback test endpoint"));
    derr_clear(&e);
    make_source("gone", gone);
    ck_assert_int_eq(identity_token(&src, NULL, NULL, NULL, NULL, &tok, NULL, &e),
                     DSRC_E_UNREACHABLE);
    ck_assert_ptr_nonnull(strstr(e.msg, "Azure Instance Metadata Service"));
    ck_assert_int_eq(e.retryable, 1);
    derr_clear(&e);
}
END_TEST

/* The token a plugin asks for (dsrc_host.bearer_token), and the password of
 * a database plugin; a plugin with neither gets nothing at open. */
START_TEST(test_bearer_and_apply)
{
    static const dsrc_option with_pw[] = {
        {"host", DSRC_OPT_STRING, 0, NULL, NULL, "", {NULL, NULL}},
        {"password", DSRC_OPT_STRING, DSRC_OPT_SECRET, NULL, NULL, "", {NULL, NULL}},
        DSRC_OPTION_END};
    static const dsrc_option without_pw[] = {
        {"account", DSRC_OPT_STRING, 0, NULL, NULL, "", {NULL, NULL}}, DSRC_OPTION_END};
    dsrc_kv opts[3] = {{"host", "db.example"}, {"password", "configured"}, {NULL, NULL}};
    identity_info info;
    char *tok = NULL;
    size_t n = 2;
    derr e = {0};

    cc_source("apply", TENANT, "env:IDAZ_SECRET");
    ck_assert_int_eq(identity_bearer(&src, NULL, DB_RESOURCE, &tok, &info, &e), DSRC_OK);
    ck_assert_str_eq(tok, TOKEN);
    secret_free(tok);
    ck_assert_int_eq(identity_bearer(&src, NULL, "http://storage.example", &tok, NULL, &e),
                     DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(identity_apply(&src, with_pw, NULL, opts, &n, &tok, &e), DSRC_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(opts[1].value, TOKEN);
    secret_free(tok);
    n = 1;
    ck_assert_int_eq(identity_apply(&src, without_pw, NULL, opts, &n, &tok, &e), DSRC_OK);
    ck_assert_ptr_null(tok);
    ck_assert_uint_eq(n, 1);
    /* another provider gives no bearer tokens */
    src.cloud_provider = (char *)"aws";
    ck_assert_int_eq(identity_bearer(&src, NULL, DB_RESOURCE, &tok, NULL, &e),
                     DSRC_E_UNSUPPORTED);
    derr_clear(&e);
}
END_TEST

/* The host service itself (dsrc_host.bearer_token): the token into the
 * plugin's buffer with its expiry; a buffer too small says the size it
 * needs; a call without a source is unsupported. */
START_TEST(test_host_service)
{
    struct dsrc_ctx ctx;
    dsrc_error err;
    char buf[512], tiny[8] = "x";
    int64_t expires = 0;

    cc_source("service", TENANT, "env:IDAZ_SECRET");
    ctx_init(&ctx, "service", "postgres", NULL);
    ctx.cfg = &src;
    memset(&err, 0, sizeof err);
    err.struct_size = sizeof err;
    ck_assert_int_eq(ctx_host()->bearer_token(&ctx, DB_RESOURCE, buf, sizeof buf, &expires,
                                              &err), DSRC_OK);
    ck_assert_str_eq(buf, TOKEN);
    ck_assert_int_eq(expires, T0 + 3599);
    ck_assert_int_eq(ctx_host()->bearer_token(&ctx, DB_RESOURCE, tiny, sizeof tiny, NULL, &err),
                     DSRC_E_INVALID_ARGUMENT);
    ck_assert_msg(strstr(err.message, "needs a buffer of 66 bytes, not 8") != NULL, "%s",
                  err.message);
    ck_assert_ptr_null(strstr(err.message, TOKEN));
    ck_assert_str_eq(tiny, "");
    err.release(&err);
    ctx.cfg = NULL;
    ck_assert_int_eq(ctx_host()->bearer_token(&ctx, DB_RESOURCE, buf, sizeof buf, NULL, &err),
                     DSRC_E_UNSUPPORTED);
    err.release(&err);
}
END_TEST

static Suite *identity_azure_suite(void)
{
    Suite *s = suite_create("identity_azure");
    TCase *tc = tcase_create("entra");

    tcase_add_unchecked_fixture(tc, server_start, server_stop);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_client_credentials_cached_then_refreshed);
    tcase_add_test(tc, test_managed_identity);
    tcase_add_test(tc, test_wrong_secret_is_auth);
    tcase_add_test(tc, test_server_errors);
    tcase_add_test(tc, test_config_errors);
    tcase_add_test(tc, test_bearer_and_apply);
    tcase_add_test(tc, test_host_service);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    if (access("/usr/bin/python3", X_OK) != 0) {
        printf("python3 missing\n");
        return 77;
    }
    sr = srunner_create(identity_azure_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
