/* SPDX-License-Identifier: Apache-2.0 */
/* identity.c -- see identity.h */
#include <config.h>

#include <ctype.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/redact.h"
#include "secret/identity.h"
#include "secret/secret.h"
#include "secret/sigv4.h"

static time_t (*identity_clock)(void);

void identity_set_clock(time_t (*now)(void))
{
    identity_clock = now;
}

static time_t identity_now(void)
{
    return identity_clock ? identity_clock() : time(NULL);
}

static const char *identity_cloud(const cfg_source *cs, const char *key)
{
    size_t i;
    for (i = 0; i < cs->n_cloud; i++)
        if (strcmp(cs->cloud[i].key, key) == 0)
            return cs->cloud[i].text;
    return NULL;
}

int identity_wanted(const cfg_source *cs)
{
    const char *v;

    if (!cs->cloud_provider || strcmp(cs->cloud_provider, "aws") != 0)
        return 0;
    v = identity_cloud(cs, "use_iam_auth");
    return v && strcmp(v, "true") == 0;
}

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

/* ------------------------------------------------------------------------ */
/* The cache                                                                 */

typedef struct identity_entry {
    struct identity_entry *next;
    char *key;   /* "source\nhost\nport\nuser" */
    char *token; /* secret_free() */
    identity_info info;
    int valid;   /* token set (0: only info, of the last attempt) */
} identity_entry;

static pthread_mutex_t identity_mu = PTHREAD_MUTEX_INITIALIZER;
static identity_entry *identity_cache;

/* The entry for key (made when missing), under identity_mu; NULL on OOM. */
static identity_entry *identity_entry_for(const char *key)
{
    identity_entry *x;
    for (x = identity_cache; x; x = x->next)
        if (strcmp(x->key, key) == 0)
            return x;
    if (!(x = calloc(1, sizeof *x)) || !(x->key = strdup(key))) {
        free(x);
        return NULL;
    }
    x->next = identity_cache;
    identity_cache = x;
    return x;
}

int identity_last(const char *name, identity_info *info)
{
    size_t n = strlen(name);
    identity_entry *x;
    int found = 0;

    pthread_mutex_lock(&identity_mu);
    for (x = identity_cache; x; x = x->next)
        if (x->valid && strncmp(x->key, name, n) == 0 && x->key[n] == '\n') {
            *info = x->info;
            found = 1;
            break;
        }
    pthread_mutex_unlock(&identity_mu);
    return found;
}

/* A new RDS token into x (under identity_mu). */
static dsrc_status identity_make_aws(identity_entry *x, const cfg_source *cs,
                                     const char *key_file, const char *host, const char *port,
                                     const char *user, derr *e)
{
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
    if (!tok || redact_add(tok) < 0) {
        sigv4_free_secret(tok);
        aws_creds_free(&c);
        return derr_set(e, DSRC_E_INTERNAL, "cannot sign the RDS IAM token (out of memory)");
    }
    secret_free(x->token);
    x->token = tok;
    x->valid = 1;
    snprintf(x->info.provider, sizeof x->info.provider, "aws");
    snprintf(x->info.mode, sizeof x->info.mode, "rds-iam");
    n = strlen(c.key_id);
    snprintf(x->info.principal, sizeof x->info.principal,
             "%s in %s via access key %.4s...%s (%s%s)", user, region, c.key_id,
             n > 8 ? c.key_id + n - 4 : "", c.from, c.token ? ", temporary" : "");
    x->info.expires = now + SIGV4_RDS_TOKEN_EXPIRES;
    aws_creds_free(&c);
    return DSRC_OK;
}

dsrc_status identity_token(const cfg_source *cs, const char *key_file, const char *host,
                           const char *port, const char *user, char **token,
                           identity_info *info, derr *e)
{
    char key[2048];
    identity_entry *x;
    dsrc_status st = DSRC_OK;

    *token = NULL;
    snprintf(key, sizeof key, "%s\n%s\n%s\n%s", cs->name, host ? host : "", port ? port : "",
             user ? user : "");
    pthread_mutex_lock(&identity_mu);
    if (!(x = identity_entry_for(key))) {
        st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
    } else if (!x->valid || identity_now() >= x->info.expires - IDENTITY_REFRESH_MARGIN) {
        st = identity_make_aws(x, cs, key_file, host, port, user, e);
        if (st != DSRC_OK)
            derr_prefix(e, "source '%s': cloud identity (aws, use_iam_auth)", cs->name);
    }
    if (st == DSRC_OK) {
        if (!(*token = strdup(x->token)))
            st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
        else if (info)
            *info = x->info;
    }
    pthread_mutex_unlock(&identity_mu);
    return st;
}

static const char *identity_opt(const dsrc_kv *opts, size_t n, const char *key)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (strcmp(opts[i].key, key) == 0)
            return opts[i].value;
    return NULL;
}

dsrc_status identity_apply(const cfg_source *cs, const dsrc_option *table, const char *key_file,
                           dsrc_kv *opts, size_t *n, char **token, derr *e)
{
    const dsrc_option *pw = NULL;
    dsrc_status st;
    size_t i;

    *token = NULL;
    if (!identity_wanted(cs))
        return DSRC_OK;
    for (; table && table->name; table++)
        if (strcmp(table->name, "password") == 0 && (table->flags & DSRC_OPT_SECRET))
            pw = table;
    if (!pw)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "source '%s': cloud.use_iam_auth needs a plugin with a secret "
                        "'password' option to hand the token to; plugin '%s' has none",
                        cs->name, cs->type);
    st = identity_token(cs, key_file, identity_opt(opts, *n, "host"),
                        identity_opt(opts, *n, "port"), identity_opt(opts, *n, "user"), token,
                        NULL, e);
    if (st != DSRC_OK)
        return st;
    for (i = 0; i < *n && strcmp(opts[i].key, pw->name) != 0; i++)
        ;
    opts[i].key = pw->name;
    opts[i].value = *token;
    if (i == *n)
        (*n)++;
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
