/* SPDX-License-Identifier: Apache-2.0 */
/*
 * identity_aws.c -- the AWS provider of identity.h: the credential chain,
 * RDS / Aurora IAM database tokens and SigV4 signing for plugins
 * (dsrc_host.aws_sign).
 */
#include <config.h>

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/redact.h"
#include "secret/identity_int.h"
#include "secret/secret.h"
#include "secret/sigv4.h"

/* ------------------------------------------------------------------------ */
/* AWS credentials                                                           */

typedef struct aws_creds {
    char *key_id, *secret, *token; /* secret_free() each */
    const char *from;              /* "the source's cloud group", ... */
} aws_creds;

static void aws_creds_free(aws_creds *c)
{
    secret_free(c->key_id);
    secret_free(c->secret);
    secret_free(c->token);
    memset(c, 0, sizeof *c);
}

/* A copy of a credential, registered for redaction; NULL stays NULL. */
static int aws_keep(char **dst, const char *v)
{
    if (!v || !*v)
        return 0;
    if (!(*dst = strdup(v)) || redact_add(v) < 0)
        return -1;
    return 0;
}

/* The cloud group's credentials: 1 found, 0 none, -1 error (e set). */
static int aws_from_source(const cfg_source *cs, const char *key_file, aws_creds *c, derr *e)
{
    static const char *const keys[] = {"secret_access_key", "session_token"};
    const char *id = identity_cloud(cs, "access_key_id");
    char **dst[] = {&c->secret, &c->token};
    size_t i;

    if (!id || !*id)
        return 0;
    if (!identity_cloud(cs, "secret_access_key"))
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "cloud.access_key_id is set but cloud.secret_access_key is not"),
               -1;
    if (!(c->key_id = strdup(id)))
        return derr_set(e, DSRC_E_INTERNAL, "out of memory"), -1;
    for (i = 0; i < 2; i++) {
        const char *ref = identity_cloud(cs, keys[i]);
        if (!ref)
            continue;
        if (secret_resolve(ref, NULL, key_file, dst[i], NULL, e) != DSRC_OK) {
            derr_prefix(e, "cloud.%s", keys[i]);
            return -1;
        }
    }
    c->from = "the source's cloud group";
    return 1;
}

static int aws_from_env(aws_creds *c, derr *e)
{
    const char *id = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");

    if (!id || !*id)
        return 0;
    if (!sk || !*sk)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"), -1;
    if (aws_keep(&c->key_id, id) < 0 || aws_keep(&c->secret, sk) < 0 ||
        aws_keep(&c->token, getenv("AWS_SESSION_TOKEN")) < 0)
        return derr_set(e, DSRC_E_INTERNAL, "out of memory"), -1;
    c->from = "the environment";
    return 1;
}

/* s without leading and trailing blanks, in place. */
static char *aws_trim(char *s)
{
    char *end;
    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* The shared credentials file's profile: 1 found, 0 no file, -1 error. */
static int aws_from_file(const char *profile, aws_creds *c, derr *e)
{
    const char *path = getenv("AWS_SHARED_CREDENTIALS_FILE"), *home = getenv("HOME");
    char pbuf[4096], *buf = NULL, *line, *save = NULL;
    size_t len = 0;
    int in = 0, seen = 0;
    dsrc_status st;

    if (!path || !*path) {
        if (!home || !*home)
            return 0;
        snprintf(pbuf, sizeof pbuf, "%s/.aws/credentials", home);
        path = pbuf;
    }
    st = secret_read_private_file(path, "AWS shared credentials file", SECRET_MAX_FILE, &buf,
                                  &len, e);
    if (st == DSRC_E_NOT_FOUND) {
        derr_clear(e);
        return 0;
    }
    if (st != DSRC_OK)
        return -1;
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *l = aws_trim(line), *eq;
        if (!*l || *l == '#' || *l == ';')
            continue;
        if (*l == '[') {
            char *end = strchr(l, ']');
            if (end)
                *end = '\0';
            in = strcmp(aws_trim(l + 1), profile) == 0;
            seen |= in;
            continue;
        }
        if (!in || !(eq = strchr(l, '=')))
            continue;
        *eq = '\0';
        l = aws_trim(l);
        eq = aws_trim(eq + 1);
        if ((strcmp(l, "aws_access_key_id") == 0 && aws_keep(&c->key_id, eq) < 0) ||
            (strcmp(l, "aws_secret_access_key") == 0 && aws_keep(&c->secret, eq) < 0) ||
            (strcmp(l, "aws_session_token") == 0 && aws_keep(&c->token, eq) < 0)) {
            secret_free_buf(buf, len);
            return derr_set(e, DSRC_E_INTERNAL, "out of memory"), -1;
        }
    }
    secret_free_buf(buf, len);
    if (!seen)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "AWS shared credentials file %s has no profile [%s]", path, profile), -1;
    if (!c->key_id || !c->secret)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "profile [%s] of the AWS shared credentials file %s lacks "
                        "aws_access_key_id or aws_secret_access_key", profile, path), -1;
    c->from = "the shared credentials file";
    return 1;
}

/* The first credentials of the chain (identity.h), or -1 with e set. */
static int aws_credentials(const cfg_source *cs, const char *key_file, aws_creds *c, derr *e)
{
    const char *profile = identity_cloud(cs, "profile");
    int r;

    if ((r = aws_from_source(cs, key_file, c, e)) != 0)
        return r;
    if (!profile && (r = aws_from_env(c, e)) != 0)
        return r;
    if (!profile)
        profile = getenv("AWS_PROFILE") && *getenv("AWS_PROFILE") ? getenv("AWS_PROFILE")
                                                                  : "default";
    if ((r = aws_from_file(profile, c, e)) != 0)
        return r;
    derr_set(e, DSRC_E_INVALID_CONFIG,
             "no AWS credentials found: set cloud.access_key_id and cloud.secret_access_key, "
             "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile [%s] in the shared "
             "credentials file", profile);
    return -1;
}

/* An RDS IAM database token for t (identity_provider.token). */
static dsrc_status aws_db_token(const cfg_source *cs, const char *key_file,
                                const identity_target *t, char **token, identity_info *info,
                                derr *e)
{
    const char *host = t->host, *port = t->port, *user = t->user;
    const char *region = identity_cloud(cs, "region");
    aws_creds c = {0};
    sigv4_creds sc;
    char *tok, *end;
    long p = strtol(port ? port : "", &end, 10);
    time_t now = identity_now();
    size_t n;

    if (!region || !*region)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "cloud.region is required with use_iam_auth (the database's region, "
                        "e.g. \"eu-west-1\")");
    if (!host || !*host || !user || !*user || !port || *end || p <= 0 || p > 65535)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "use_iam_auth needs the connection's host, port and user");
    if (aws_credentials(cs, key_file, &c, e) < 0)
        return e->status ? e->status : DSRC_E_INVALID_CONFIG;
    sc.access_key_id = c.key_id;
    sc.secret_access_key = c.secret;
    sc.session_token = c.token;
    tok = sigv4_rds_token(host, (int)p, user, region, &sc, now, SIGV4_RDS_TOKEN_EXPIRES);
    if (!tok || !(*token = strdup(tok))) {
        sigv4_free_secret(tok);
        aws_creds_free(&c);
        return derr_set(e, DSRC_E_INTERNAL, "cannot sign the RDS IAM token (out of memory)");
    }
    sigv4_free_secret(tok);
    snprintf(info->provider, sizeof info->provider, "aws");
    snprintf(info->mode, sizeof info->mode, "rds-iam");
    n = strlen(c.key_id);
    snprintf(info->principal, sizeof info->principal,
             "%s in %s via access key %.4s...%s (%s%s)", user, region, c.key_id,
             n > 8 ? c.key_id + n - 4 : "", c.from, c.token ? ", temporary" : "");
    info->expires = now + SIGV4_RDS_TOKEN_EXPIRES;
    aws_creds_free(&c);
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* Signing for plugins (dsrc_host.aws_sign)                                  */

#define IDENTITY_SIGN_HEADERS_MAX 32

/* The signed headers' names and values, and the Authorization value, handed
 * to req->header; 0, or -1 when it asked to stop. */
static int identity_hand_over(const dsrc_aws_request *req, const sigv4_header *add, size_t n,
                              const char *auth)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (req->header(req->user, add[i].name, add[i].value) != 0)
            return -1;
    return req->header(req->user, "Authorization", auth) != 0 ? -1 : 0;
}

dsrc_status identity_aws_sign(const cfg_source *cs, const char *key_file,
                              const dsrc_aws_request *req, derr *e)
{
    sigv4_header h[IDENTITY_SIGN_HEADERS_MAX + 4], *add;
    const char *region;
    aws_creds c = {0};
    sigv4_creds sc;
    sigv4_request r;
    char amz_date[17], *auth;
    size_t i, n = 0, n_add;
    int s3, stopped;

    if (!req || req->struct_size < offsetof(dsrc_aws_request, user) + sizeof(void *) ||
        !req->service || !*req->service || !req->method || !*req->method || !req->host ||
        !*req->host || !req->path || req->path[0] != '/' || !req->payload_hash ||
        !*req->payload_hash || !req->header || req->n_headers > IDENTITY_SIGN_HEADERS_MAX ||
        (req->n_headers && !req->headers))
        return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                        "source '%s': AWS signing: a malformed request (service, method, "
                        "host, a path starting with '/', payload hash and header callback "
                        "are required; at most %d headers)",
                        cs->name, IDENTITY_SIGN_HEADERS_MAX);
    region = req->region && *req->region ? req->region : identity_cloud(cs, "region");
    if (!region || !*region)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "source '%s': cloud.region is required to sign AWS requests (e.g. "
                        "\"us-east-1\")", cs->name);
    if (aws_credentials(cs, key_file, &c, e) < 0) {
        derr_prefix(e, "source '%s': AWS credentials", cs->name);
        return e->status ? e->status : DSRC_E_INVALID_CONFIG;
    }
    sigv4_amz_date(identity_now(), amz_date);
    s3 = strcmp(req->service, "s3") == 0;
    for (i = 0; i < req->n_headers; i++) {
        h[n].name = req->headers[i].key;
        h[n++].value = req->headers[i].value;
    }
    h[n].name = "host";
    h[n++].value = req->host;
    add = &h[n];
    h[n].name = "x-amz-date";
    h[n++].value = amz_date;
    if (s3) {
        h[n].name = "x-amz-content-sha256";
        h[n++].value = req->payload_hash;
    }
    if (c.token) {
        h[n].name = "x-amz-security-token";
        h[n++].value = c.token;
    }
    n_add = (size_t)(&h[n] - add);
    memset(&r, 0, sizeof r);
    r.method = req->method;
    r.path = req->path;
    r.query = req->query;
    r.headers = h;
    r.n_headers = n;
    r.payload_hash = req->payload_hash;
    sc.access_key_id = c.key_id;
    sc.secret_access_key = c.secret;
    sc.session_token = c.token;
    auth = sigv4_authorization(&r, &sc, region, req->service, amz_date);
    if (!auth) {
        aws_creds_free(&c);
        return derr_set(e, DSRC_E_INTERNAL,
                        "source '%s': cannot sign the AWS request (out of memory)", cs->name);
    }
    stopped = identity_hand_over(req, add, n_add, auth) != 0;
    sigv4_free_secret(auth);
    aws_creds_free(&c);
    if (stopped)
        return derr_set(e, DSRC_E_CANCELLED, "source '%s': AWS signing stopped by the plugin",
                        cs->name);
    return DSRC_OK;
}

static int aws_wanted(const cfg_source *cs)
{
    return identity_flag(cs, "use_iam_auth");
}

const identity_provider identity_aws = {"aws", "use_iam_auth", aws_wanted, aws_db_token};
