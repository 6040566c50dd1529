/* SPDX-License-Identifier: Apache-2.0 */
/* test_identity_gcp.c -- the gcp identity with a service-account key, at a
 * fixed clock, against a token endpoint on a thread of this test that
 * verifies the JWT's RS256 signature with the public half of a key made
 * here and reads its header and claims: the JWT is well formed (base64url
 * without padding, alg RS256, kid, iss, scope, aud, iat, exp), the answer's
 * token and expiry are used; a key file's plain-http token_uri, a missing,
 * world-readable or malformed file, a bad PEM, a wrong key and a failing
 * or absent endpoint are refused with the right status and a message that
 * names the file and the field, never the key. */
#include <config.h>

#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret/identity.h"
#include "secret/secret.h"

#define T0 ((time_t)1767225600)
#define EMAIL "reader@proj.iam.gserviceaccount.com"
#define KID "0123456789abcdef"

static time_t test_clock(void) { return T0; }

static EVP_PKEY *key, *other;
static char dir[64], url[64], pem[8192], other_pem[8192];
static int ep_fd = -1, ep_status; /* ep_status: 0 verify; else answer it */
static char ep_head[1024], ep_claims[1024];
static int ep_requests, ep_padded;

/* ---- the token endpoint ---- */

static int b64url_dec(const char *in, size_t n, unsigned char *out, size_t *len)
{
    char buf[2048] = "";
    size_t i;
    int r;

    if (n + 4 >= sizeof buf)
        return -1;
    for (i = 0; i < n; i++)
        buf[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    while (i % 4)
        buf[i++] = '=';
    r = EVP_DecodeBlock(out, (unsigned char *)buf, (int)i);
    if (r < 0)
        return -1;
    *len = (size_t)r - (n % 4 == 2 ? 2 : n % 4 == 3 ? 1 : 0);
    out[*len] = 0;
    return 0;
}

/* 1 when the assertion's signature is the test key's */
static int ep_verify(const char *jwt)
{
    const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    unsigned char sig[1024];
    size_t sig_len, n;
    EVP_MD_CTX *ctx;
    int ok;

    if (!d2)
        return 0;
    ep_padded = strchr(jwt, '=') != NULL;
    if (b64url_dec(jwt, (size_t)(d1 - jwt), (unsigned char *)ep_head, &n) < 0 ||
        b64url_dec(d1 + 1, (size_t)(d2 - d1 - 1), (unsigned char *)ep_claims, &n) < 0 ||
        b64url_dec(d2 + 1, strlen(d2 + 1), sig, &sig_len) < 0)
        return 0;
    ctx = EVP_MD_CTX_new();
    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
         EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)jwt,
                          (size_t)(d2 - jwt)) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static void *ep_serve(void *arg)
{
    (void)arg;
    for (;;) {
        static char req[16384];
        char ans[1024], body[512];
        const char *b, *a, *cl;
        size_t n = 0, want = 0;
        ssize_t r;
        int c = accept(ep_fd, NULL, NULL), status = 200;

        if (c < 0)
            return NULL;
        while (n + 1 < sizeof req && (r = read(c, req + n, sizeof req - 1 - n)) > 0) {
            n += (size_t)r;
            req[n] = '\0';
            if ((b = strstr(req, "\r\n\r\n")) && (cl = strstr(req, "Content-Length: ")) &&
                n >= (size_t)(b + 4 - req) + (want = strtoul(cl + 16, NULL, 10)))
                break;
        }
        ep_requests++;
        b = strstr(req, "\r\n\r\n");
        a = b ? strstr(b, "&assertion=") : NULL;
        if (ep_status) {
            status = ep_status;
            snprintf(body, sizeof body, "{\"error\":\"internal_failure\"}");
        } else if (!b || strncmp(b + 4, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type"
                                         "%3Ajwt-bearer&assertion=", 68) != 0 ||
                   !strstr(req, "Content-Type: application/x-www-form-urlencoded")) {
            status = 400;
            snprintf(body, sizeof body, "{\"error\":\"unsupported_grant_type\"}");
        } else if (!ep_verify(a + 11)) {
            status = 400;
            snprintf(body, sizeof body, "{\"error\":\"invalid_grant\",\"error_description\":"
                                        "\"Invalid JWT Signature.\"}");
        } else {
            snprintf(body, sizeof body, "{\"access_token\":\"ya29.unit-%d\",\"expires_in\":"
                                        "3599,\"token_type\":\"Bearer\"}", ep_requests);
        }
        snprintf(ans, sizeof ans, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status, strlen(body),
                 body);
        if (write(c, ans, strlen(ans)) < 0)
            perror("write");
        close(c);
    }
}

/* ---- key files ---- */

static void key_pem(EVP_PKEY *k, char *out, size_t size)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p;
    long n;

    ck_assert_int_eq(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
    n = BIO_get_mem_data(b, &p);
    ck_assert_int_lt(n, (long)size);
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    BIO_free(b);
}

/* dir/name: a key file with `pemtext`, token_uri `uri` (NULL: none), one
 * field dropped (`drop`, may be NULL), mode `mode`; its path. */
static const char *key_file(const char *name, const char *pemtext, const char *uri,
                            const char *drop, mode_t mode)
{
    static char path[128];
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "service_account",
                            "project_id", "proj", "private_key_id", KID, "private_key",
                            pemtext, "client_email", EMAIL);

    if (uri)
        json_object_set_new(doc, "token_uri", json_string(uri));
    if (drop)
        json_object_del(doc, drop);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_int_eq(json_dump_file(doc, path, 0), 0);
    json_decref(doc);
    ck_assert_int_eq(chmod(path, mode), 0);
    return path;
}

static cfg_value cloud[4];
static cfg_source src;

/* Source `name` with key file `file` and cloud.token_uri `uri` (or none). */
static void make_source(const char *name, const char *file, const char *uri)
{
    size_t n = 0;

    memset(&src, 0, sizeof src);
    memset(cloud, 0, sizeof cloud);
    src.name = (char *)name;
    src.type = (char *)"postgres";
    src.cloud_provider = (char *)"gcp";
    cloud[n].key = (char *)"provider";
    cloud[n++].text = (char *)"gcp";
    cloud[n].key = (char *)"service_account_file";
    cloud[n++].text = (char *)file;
    if (uri) {
        cloud[n].key = (char *)"token_uri";
        cloud[n++].text = (char *)uri;
    }
    src.cloud = cloud;
    src.n_cloud = n;
}

/* identity_token for the source; the status, e filled, no token leaked. */
static dsrc_status token(char **tok, identity_info *info, derr *e)
{
    dsrc_status st;

    *tok = NULL;
    derr_clear(e);
    st = identity_token(&src, NULL, "db", "5432", "reader@proj.iam", tok, info, e);
    if (st != DSRC_OK) {
        ck_assert_ptr_null(*tok);
        ck_assert_ptr_null(strstr(e->msg, "PRIVATE KEY"));
        ck_assert_ptr_null(strstr(e->msg, "eyJ"));
        ck_assert_ptr_null(strstr(e->msg, "ya29."));
    }
    return st;
}

static void setup(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    pthread_t th;

    identity_set_clock(test_clock);
    ck_assert_ptr_nonnull(key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
    ck_assert_ptr_nonnull(other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
    key_pem(key, pem, sizeof pem);
    key_pem(other, other_pem, sizeof other_pem);
    snprintf(dir, sizeof dir, "/tmp/test_identity_gcp.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ge(ep_fd = socket(AF_INET, SOCK_STREAM, 0), 0);
    ck_assert_int_eq(bind(ep_fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(ep_fd, 8), 0);
    ck_assert_int_eq(getsockname(ep_fd, (struct sockaddr *)&a, &len), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/token", ntohs(a.sin_port));
    ck_assert_int_eq(pthread_create(&th, NULL, ep_serve, NULL), 0);
    pthread_detach(th);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_jwt_exchanged)
{
    identity_info info;
    json_t *h, *c;
    char *tok;
    derr e = {0};

    make_source("good", key_file("good.json", pem, "https://oauth2.googleapis.com/token",
                                 NULL, 0600), url);
    ck_assert_int_eq(token(&tok, &info, &e), DSRC_OK);
    ck_assert_str_eq(tok, "ya29.unit-1");
    ck_assert_str_eq(info.provider, "gcp");
    ck_assert_str_eq(info.mode, "service-account");
    ck_assert_ptr_nonnull(strstr(info.principal, EMAIL));
    ck_assert_int_eq(info.expires, T0 + 3599);
    secret_free(tok);
    ck_assert_int_eq(ep_padded, 0);
    ck_assert_ptr_nonnull(h = json_loads(ep_head, 0, NULL));
    ck_assert_ptr_nonnull(c = json_loads(ep_claims, 0, NULL));
    ck_assert_str_eq(json_string_value(json_object_get(h, "alg")), "RS256");
    ck_assert_str_eq(json_string_value(json_object_get(h, "typ")), "JWT");
    ck_assert_str_eq(json_string_value(json_object_get(h, "kid")), KID);
    ck_assert_str_eq(json_string_value(json_object_get(c, "iss")), EMAIL);
    ck_assert_str_eq(json_string_value(json_object_get(c, "aud")), url);
    ck_assert_str_eq(json_string_value(json_object_get(c, "scope")),
                     "https://www.googleapis.com/auth/sqlservice.login");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "iat")), T0);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "exp")), T0 + 3600);
    json_decref(h);
    json_decref(c);
    /* kept: no second request */
    ck_assert_int_eq(token(&tok, NULL, &e), DSRC_OK);
    ck_assert_int_eq(ep_requests, 1);
    secret_free(tok);
}
END_TEST

START_TEST(test_refused)
{
    const char *f;
    char *tok, broken[8192], *cut;
    derr e = {0};

    /* the key file's own plain-http token_uri: refused without a request */
    make_source("httpuri", key_file("httpuri.json", pem, url, NULL, 0600), NULL);
    ck_assert_int_eq(token(&tok, NULL, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "httpuri.json: field 'token_uri'"));
    ck_assert_int_eq(ep_requests, 0);

    make_source("missing", "/nonexistent/key.json", url);
    ck_assert_int_eq(token(&tok, NULL, &e), DSRC_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/key.json"));

    /* both modes: ambiguous */
    cloud[src.n_cloud].key = (char *)"use_workload_identity";
    cloud[src.n_cloud++].text = (char *)"true";
    ck_assert_int_eq(token(&tok, NULL, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "not both"));

    make_source("open", key_file("open.json", pem, NULL, NULL, 0644), url);
    ck_assert_int_eq(token(&tok, NULL, &e), DSRC_E_PERMISSION);
    ck_assert_ptr_nonnull(strstr(e.msg, "chmod 600"));

    f = key_file("nofield.json", pem, NULL, "private_key", 0600);
    make_source("nofield", f, url);
    ck_assert_int_eq(token(&tok, NULL, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "nofield.json: field 'private_key' is missing"));

    make_source("noemail", key_file("noemail.json", pem, NULL, "client_email", 0600), url);
    ck_assert_int_eq(token(&tok, NULL, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "field 'client_email' is missing"));

    /* not JSON: the place named, not the bytes */
    f = key_file("notjson.json", pem, NULL, NULL, 0600);
    ck_assert_int_eq(truncate(f, 100), 0);
    make_source("notjson", f, url);
    ck_assert_int_eq(token(&tok, NULL, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "notjson.json is not valid JSON"));

    /* a PEM with a line cut out */
    snprintf(broken, sizeof broken, "%s", pem);
    cut = strchr(strchr(broken, '\n') + 1, '\n');
    memmove(cut, strchr(cut + 1, '\n'), strlen(strchr(cut + 1, '\n')) + 1);
    make_source("badpem", key_file("badpem.json", broken, NULL, NULL, 0600), url);
    ck_assert_int_eq(token(&tok, NULL, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "badpem.json: field 'private_key' is not"));
    ck_assert_int_eq(ep_requests, 0);

    /* another key: the endpoint refuses the signature */
    make_source("wrongkey", key_file("wrongkey.json", other_pem, NULL, NULL, 0600), url);
    ck_assert_int_eq(token(&tok, NULL, &e), DSRC_E_AUTH);
    ck_assert_ptr_nonnull(strstr(e.msg, "HTTP 400: invalid_grant: Invalid JWT Signature."));
    ck_assert_int_eq(e.retryable, 0);
    ck_assert_int_eq(ep_requests, 1);

    /* a failing endpoint, then none */
    ep_status = 500;
    make_source("failing", key_file("failing.json", pem, NULL, NULL, 0600), url);
    ck_assert_int_eq(token(&tok, NULL, &e), DSRC_E_UNREACHABLE);
    ck_assert_ptr_nonnull(strstr(e.msg, "failed: HTTP 500: internal_failure"));
    ck_assert_int_eq(e.retryable, 1);
    shutdown(ep_fd, SHUT_RDWR);
    close(ep_fd);
    ck_assert_int_eq(token(&tok, NULL, &e), DSRC_E_UNREACHABLE);
    ck_assert_ptr_nonnull(strstr(e.msg, "Google token endpoint at http://127.0.0.1:"));
    ck_assert_int_eq(e.retryable, 1);
    derr_clear(&e);
}
END_TEST

static Suite *gcp_suite(void)
{
    Suite *s = suite_create("identity_gcp");
    TCase *tc = tcase_create("service-account");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_jwt_exchanged);
    tcase_add_test(tc, test_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(gcp_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
