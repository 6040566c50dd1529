/* SPDX-License-Identifier: Apache-2.0 */
/*
 * identity_aws.c -- the AWS provider of identity.h: the credential chain
 * (the cloud group's keys, the environment, the shared credentials file,
 * the EC2 instance profile through IMDSv2; then, with cloud.role_arn, STS
 * AssumeRole with what was found), RDS / Aurora IAM database tokens and
 * SigV4 signing for plugins (dsrc_host.aws_sign).  Temporary credentials
 * (IMDS, STS) are cached per source until IDENTITY_REFRESH_MARGIN before
 * their expiry; every credential is registered for redaction and wiped
 * when dropped.
 */
#include <config.h>

#include <ctype.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <expat.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "base/lazylib.h"
#include "base/redact.h"
#include "secret/cloud_http.h"
#include "secret/identity_int.h"
#include "secret/secret.h"
#include "secret/sigv4.h"

/* ------------------------------------------------------------------------ */
/* AWS credentials                                                           */

typedef struct aws_creds {
    char *key_id, *secret, *token; /* secret_free() each */
    char from[256];                /* "the source's cloud group", ... */
    time_t expires;                /* temporary credentials' end, else 0 */
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
    snprintf(c->from, sizeof c->from, "the source's cloud group");
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
    snprintf(c->from, sizeof c->from, "the environment");
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
    snprintf(c->from, sizeof c->from, "the shared credentials file");
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Temporary credentials: IMDSv2 and STS AssumeRole, cached per source        */

#define AWS_IMDS_DEFAULT "http://169.254.169.254"
#define AWS_IMDS_TTL "21600"          /* seconds of an IMDSv2 session token */
#define AWS_IMDS_TIMEOUT_MS 2000L     /* per request: off EC2, fail fast    */
#define AWS_STS_DURATION 3600         /* seconds asked of AssumeRole         */
#define AWS_STS_TIMEOUT_MS 10000L
#define AWS_FIELD_MAX 4096            /* a session token is ~1 KB            */

/* Wipe n bytes. */
static void aws_wipe(void *p, size_t n)
{
    if (p)
        OPENSSL_cleanse(p, n);
}

/* A malloc'd string that may hold a secret, wiped and freed. */
static void aws_free_secret(char *s)
{
    if (s) {
        aws_wipe(s, strlen(s));
        free(s);
    }
}

/* "2026-01-01T06:00:00Z" (a fraction and "+00:00" allowed) as a time, or -1. */
static time_t aws_parse_time(const char *s)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof tm);
    if (!s || !(end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
        return (time_t)-1;
    if (*end == '.')
        for (end++; isdigit((unsigned char)*end); end++)
            ;
    if (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0)
        return (time_t)-1;
    return timegm(&tm);
}

/* Credentials made of three strings (copied, registered for redaction). */
static int aws_creds_set(aws_creds *c, const char *id, const char *secret, const char *token)
{
    if (aws_keep(&c->key_id, id) < 0 || aws_keep(&c->secret, secret) < 0 ||
        aws_keep(&c->token, token) < 0)
        return -1;
    return 0;
}

static int aws_creds_copy(aws_creds *dst, const aws_creds *src)
{
    memset(dst, 0, sizeof *dst);
    if (!(dst->key_id = strdup(src->key_id)) || !(dst->secret = strdup(src->secret)) ||
        (src->token && !(dst->token = strdup(src->token)))) {
        aws_creds_free(dst);
        return -1;
    }
    memcpy(dst->from, src->from, sizeof dst->from);
    dst->expires = src->expires;
    return 0;
}

/* The cache: temporary credentials by "source\nkind\nsettings", kept until
 * IDENTITY_REFRESH_MARGIN seconds before their expiry. */
typedef struct aws_cached {
    struct aws_cached *next;
    char *key;
    aws_creds c;    /* key_id NULL: nothing kept */
    time_t fetched; /* when they came */
} aws_cached;

/* Credentials that came already inside the margin (the service has not
 * rotated them yet) are used as they are for this long before asking
 * again, so that the last minutes of their life do not make a round per
 * use. */
#define AWS_RETRY_INSIDE_MARGIN 30

static pthread_mutex_t aws_mu = PTHREAD_MUTEX_INITIALIZER;
static aws_cached *aws_cache;

/* The slot for key (made when missing), under aws_mu; NULL on OOM. */
static aws_cached *aws_slot(const char *key)
{
    aws_cached *x;

    for (x = aws_cache; x; x = x->next)
        if (strcmp(x->key, key) == 0)
            return x;
    if (!(x = calloc(1, sizeof *x)) || !(x->key = strdup(key))) {
        free(x);
        return NULL;
    }
    x->next = aws_cache;
    aws_cache = x;
    return x;
}

static int aws_fresh(const aws_cached *x)
{
    time_t now = identity_now();

    return x->c.key_id && (now < x->c.expires - IDENTITY_REFRESH_MARGIN ||
                           (now < x->c.expires && now >= x->fetched &&
                            now - x->fetched < AWS_RETRY_INSIDE_MARGIN));
}

/* Keep c in slot x (a copy). */
static void aws_remember(aws_cached *x, const aws_creds *c)
{
    aws_creds_free(&x->c);
    if (aws_creds_copy(&x->c, c) < 0)
        memset(&x->c, 0, sizeof x->c);
    x->fetched = identity_now();
}

/* An endpoint without its trailing slashes into buf; 0, or -1 too long. */
static int aws_base_url(const char *url, char *buf, size_t size)
{
    size_t n = strlen(url);

    while (n > 0 && url[n - 1] == '/')
        n--;
    if (n + 1 > size)
        return -1;
    memcpy(buf, url, n);
    buf[n] = '\0';
    return 0;
}

/* ---- IMDSv2 ---- */

/* One request to the metadata service; DSRC_OK with the answer (any
 * status), or e filled. */
static dsrc_status aws_imds_call(const char *method, const char *url, const char *header,
                                 unsigned flags, cloud_http_resp *resp, derr *e)
{
    const char *hdrs[2] = {header, NULL};
    cloud_http_req r;

    memset(&r, 0, sizeof r);
    r.method = method;
    r.url = url;
    r.headers = hdrs;
    r.timeout_ms = AWS_IMDS_TIMEOUT_MS;
    r.flags = flags;
    r.what = "the EC2 instance metadata service (IMDSv2)";
    return cloud_http(&r, resp, e);
}

/* A role name as IMDS lists it: letters, digits and +=,.@_- only. */
static int aws_role_name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > 128)
        return 0;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("+=,.@_-", s[i]))
            return 0;
    return 1;
}

/* The string member `name` of o, or NULL. */
static const char *aws_json_str(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Wipe the string members of o (they hold credentials) before it goes. */
static void aws_json_wipe(json_t *o)
{
    const char *k;
    json_t *v;

    json_object_foreach(o, k, v)
        if (json_is_string(v))
            aws_wipe((char *)json_string_value(v), json_string_length(v));
}

/* Credentials from IMDSv2 at base: 1 found, 0 none (why says what the
 * service answered), -1 with e set (a URL the rules refuse, memory). */
static int aws_imds_fetch(const char *base, unsigned flags, aws_creds *c, char *why,
                          size_t why_size, derr *e)
{
    char url[1400], role[129], *hdr = NULL;
    cloud_http_resp resp = {0};
    derr he = {0};
    json_t *doc = NULL;
    const char *code, *id, *sk, *tok, *exp;
    size_t n;
    int r = 0;

    /* 1. a session token (PUT, with its time to live) */
    snprintf(url, sizeof url, "%s/latest/api/token", base);
    if (aws_imds_call("PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: " AWS_IMDS_TTL, flags,
                      &resp, &he) != DSRC_OK) {
        if (he.status == DSRC_E_INVALID_CONFIG || he.status == DSRC_E_INTERNAL) {
            derr_set(e, he.status, "%s", he.msg ? he.msg : "IMDSv2");
            r = -1;
        } else {
            snprintf(why, why_size, "%s", he.msg ? he.msg : "unreachable");
        }
        goto out;
    }
    if (resp.status != 200 || resp.len == 0) {
        char w[300];
        snprintf(why, why_size, "IMDSv2 at %.200s gave no session token (%s)", base,
                 cloud_http_why(&resp, w, sizeof w));
        goto out;
    }
    n = strcspn(resp.body, "\r\n");
    resp.body[n] = '\0';
    if (!(hdr = malloc(n + 40))) {
        r = -1;
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        goto out;
    }
    snprintf(hdr, n + 40, "X-aws-ec2-metadata-token: %s", resp.body);
    cloud_http_resp_free(&resp);

    /* 2. the instance profile's role */
    snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/", base);
    if (aws_imds_call("GET", url, hdr, flags, &resp, &he) != DSRC_OK) {
        snprintf(why, why_size, "%s", he.msg ? he.msg : "unreachable");
        goto out;
    }
    n = resp.body ? strcspn(resp.body, "\r\n") : 0;
    if (resp.status != 200 || !aws_role_name_ok(resp.body, n)) {
        char w[300];
        snprintf(why, why_size, "IMDSv2 at %.200s names no instance profile role (%s)", base,
                 resp.status == 200 ? "a malformed role name"
                                    : cloud_http_why(&resp, w, sizeof w));
        goto out;
    }
    memcpy(role, resp.body, n);
    role[n] = '\0';
    cloud_http_resp_free(&resp);

    /* 3. its credentials */
    snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/%s", base, role);
    if (aws_imds_call("GET", url, hdr, flags, &resp, &he) != DSRC_OK) {
        snprintf(why, why_size, "%s", he.msg ? he.msg : "unreachable");
        goto out;
    }
    if (resp.status != 200) {
        char w[300];
        snprintf(why, why_size, "IMDSv2 at %.200s gave no credentials for role %s (%s)", base,
                 role, cloud_http_why(&resp, w, sizeof w));
        goto out;
    }
    doc = json_loadb(resp.body, resp.len, 0, NULL);
    code = doc ? aws_json_str(doc, "Code") : NULL;
    id = doc ? aws_json_str(doc, "AccessKeyId") : NULL;
    sk = doc ? aws_json_str(doc, "SecretAccessKey") : NULL;
    tok = doc ? aws_json_str(doc, "Token") : NULL;
    exp = doc ? aws_json_str(doc, "Expiration") : NULL;
    if (!json_is_object(doc) || !code || strcmp(code, "Success") != 0 || !id || !*id || !sk ||
        !*sk || !tok || !*tok || aws_parse_time(exp) == (time_t)-1) {
        snprintf(why, why_size,
                 "IMDSv2 at %.200s: the credentials of role %s are not usable (Code %s; "
                 "AccessKeyId, SecretAccessKey, Token and Expiration are required)",
                 base, role, code ? code : "missing");
        goto out;
    }
    if (aws_creds_set(c, id, sk, tok) < 0) {
        r = -1;
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        goto out;
    }
    c->expires = aws_parse_time(exp);
    snprintf(c->from, sizeof c->from, "instance profile %s via IMDSv2", role);
    r = 1;
out:
    if (doc) {
        aws_json_wipe(doc);
        json_decref(doc);
    }
    aws_free_secret(hdr);
    cloud_http_resp_free(&resp);
    derr_clear(&he);
    return r;
}

/* The instance profile's credentials, from the cache while fresh: 1, 0
 * (why set), -1 (e set). */
static int aws_from_imds(const cfg_source *cs, aws_creds *c, char *why, size_t why_size,
                         derr *e)
{
    const char *conf = identity_cloud(cs, "imds_endpoint");
    const char *off = getenv("AWS_EC2_METADATA_DISABLED");
    char base[1024], key[1400];
    aws_cached *x;
    int r;

    if (off && strcasecmp(off, "true") == 0) {
        snprintf(why, why_size, "IMDSv2 disabled by AWS_EC2_METADATA_DISABLED");
        return 0;
    }
    if (aws_base_url(conf && *conf ? conf : AWS_IMDS_DEFAULT, base, sizeof base) < 0)
        return derr_set(e, DSRC_E_INVALID_CONFIG, "cloud.imds_endpoint is too long"), -1;
    snprintf(key, sizeof key, "%s\nimds\n%s", cs->name, base);
    pthread_mutex_lock(&aws_mu);
    if (!(x = aws_slot(key))) {
        r = -1;
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
    } else if (aws_fresh(x)) {
        r = aws_creds_copy(c, &x->c) < 0 ? -1 : 1;
        if (r < 0)
            derr_set(e, DSRC_E_INTERNAL, "out of memory");
    } else {
        r = aws_imds_fetch(base,
                           CLOUD_HTTP_METADATA | (conf && *conf ? CLOUD_HTTP_CONFIGURED : 0),
                           c, why, why_size, e);
        if (r == 1)
            aws_remember(x, c);
    }
    pthread_mutex_unlock(&aws_mu);
    return r;
}

/* ---- STS AssumeRole ---- */

/* What an STS answer holds, from expat. */
typedef struct aws_sts_doc {
    char path[256]; /* the open elements, "/"-separated */
    char *text;     /* the element whose text is being read, or NULL */
    size_t len;
    char key_id[256], secret[256], token[AWS_FIELD_MAX], expiration[64];
    char arn[512], code[128], message[512];
} aws_sts_doc;

/* The buffer for the element at path p, or NULL. */
static char *aws_sts_field(aws_sts_doc *d, size_t *size)
{
    static const struct {
        const char *suffix;
        size_t off, size;
    } f[] = {
        {"/Credentials/AccessKeyId", offsetof(aws_sts_doc, key_id), sizeof(((aws_sts_doc *)0)->key_id)},
        {"/Credentials/SecretAccessKey", offsetof(aws_sts_doc, secret), sizeof(((aws_sts_doc *)0)->secret)},
        {"/Credentials/SessionToken", offsetof(aws_sts_doc, token), sizeof(((aws_sts_doc *)0)->token)},
        {"/Credentials/Expiration", offsetof(aws_sts_doc, expiration), sizeof(((aws_sts_doc *)0)->expiration)},
        {"/AssumedRoleUser/Arn", offsetof(aws_sts_doc, arn), sizeof(((aws_sts_doc *)0)->arn)},
        {"/Error/Code", offsetof(aws_sts_doc, code), sizeof(((aws_sts_doc *)0)->code)},
        {"/Error/Message", offsetof(aws_sts_doc, message), sizeof(((aws_sts_doc *)0)->message)},
    };
    size_t i, n = strlen(d->path);

    for (i = 0; i < sizeof f / sizeof f[0]; i++) {
        size_t m = strlen(f[i].suffix);
        if (n >= m && strcmp(d->path + n - m, f[i].suffix) == 0) {
            *size = f[i].size;
            return (char *)d + f[i].off;
        }
    }
    return NULL;
}

static void XMLCALL aws_sts_start(void *user, const XML_Char *name, const XML_Char **attrs)
{
    aws_sts_doc *d = user;
    size_t n = strlen(d->path), size;

    (void)attrs;
    if (n + 1 + strlen(name) < sizeof d->path)
        snprintf(d->path + n, sizeof d->path - n, "/%s", name);
    d->text = aws_sts_field(d, &size);
    d->len = 0;
    if (d->text)
        d->text[0] = '\0';
}

static void XMLCALL aws_sts_end(void *user, const XML_Char *name)
{
    aws_sts_doc *d = user;
    char *slash = strrchr(d->path, '/');

    (void)name;
    if (slash)
        *slash = '\0';
    d->text = NULL;
}

static void XMLCALL aws_sts_chars(void *user, const XML_Char *s, int len)
{
    aws_sts_doc *d = user;
    size_t size;

    if (!d->text || len <= 0 || !aws_sts_field(d, &size))
        return;
    if (d->len + (size_t)len >= size) { /* too long: not a credential we know */
        d->text[0] = '\0';
        d->text = NULL;
        return;
    }
    memcpy(d->text + d->len, s, (size_t)len);
    d->len += (size_t)len;
    d->text[d->len] = '\0';
}

/* Parse an STS answer into d; 0, -1 when it is not XML, or -2 (e set)
 * when expat cannot be loaded. */
static int aws_sts_parse(const char *body, size_t len, aws_sts_doc *d, derr *e)
{
    const lazy_expat_api *x;
    XML_Parser p;
    int ok;

    memset(d, 0, sizeof *d);
    if (!(x = lazy_expat(e)))
        return -2;
    if (!(p = x->ParserCreate("UTF-8")))
        return -1;
    x->SetUserData(p, d);
    x->SetElementHandler(p, aws_sts_start, aws_sts_end);
    x->SetCharacterDataHandler(p, aws_sts_chars);
    ok = x->Parse(p, body, (int)len, 1) == XML_STATUS_OK;
    x->ParserFree(p);
    return ok ? 0 : -1;
}

/* "host[:port]" and the path of an https URL into host and path. */
static int aws_url_parts(const char *url, char *host, size_t hsize, char *path, size_t psize)
{
    const char *p = strstr(url, "://"), *slash;
    size_t n;

    if (!p)
        return -1;
    p += 3;
    slash = p + strcspn(p, "/?#");
    n = (size_t)(slash - p);
    if (n == 0 || n >= hsize || memchr(p, '@', n))
        return -1;
    memcpy(host, p, n);
    host[n] = '\0';
    if (*slash == '?' || *slash == '#' || strlen(slash) >= psize)
        return -1;
    snprintf(path, psize, "%s", *slash ? slash : "/");
    return strpbrk(path, "?#") ? -1 : 0;
}

/* RoleSessionName: "dsrc-SOURCE", what STS allows ([\w+=,.@-], 64 at most). */
static void aws_session_name(const char *source, char *out, size_t size)
{
    size_t i, n;

    snprintf(out, size < 65 ? size : 65, "dsrc-%s", source);
    n = strlen(out);
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)out[i]) && !strchr("_+=,.@-", out[i]))
            out[i] = '-';
}

/* An x-www-form-urlencoded "&name=value" appended to *body. */
static int aws_form_add(char **body, size_t *len, const char *name, const char *value)
{
    char *v = sigv4_uri_encode(value), *n;
    size_t add;

    if (!v)
        return -1;
    add = strlen(name) + strlen(v) + 2;
    if (!(n = realloc(*body, *len + add + 1))) {
        free(v);
        return -1;
    }
    *body = n;
    snprintf(n + *len, add + 1, "%s%s=%s", *len ? "&" : "", name, v);
    *len += strlen(n + *len);
    free(v);
    return 0;
}

/* The status of an STS error code. */
static dsrc_status aws_sts_status(const char *code, long http)
{
    static const char *const auth[] = {"InvalidClientTokenId", "SignatureDoesNotMatch",
                                       "ExpiredToken", "IncompleteSignature",
                                       "InvalidAccessKeyId", "MissingAuthenticationToken",
                                       "UnrecognizedClientException", NULL};
    size_t i;

    if (strcmp(code, "AccessDenied") == 0 || strcmp(code, "RegionDisabledException") == 0)
        return DSRC_E_PERMISSION;
    for (i = 0; auth[i]; i++)
        if (strcmp(code, auth[i]) == 0)
            return DSRC_E_AUTH;
    if (http == 401)
        return DSRC_E_AUTH;
    if (http == 403)
        return DSRC_E_PERMISSION;
    if (http == 400)
        return DSRC_E_INVALID_CONFIG;
    return DSRC_E_BACKEND;
}

/* Assume role_arn with base credentials into c: 0, or -1 with e set. */
static int aws_sts_fetch(const cfg_source *cs, const char *role_arn, const char *url,
                         const char *region, const aws_creds *base, aws_creds *c, derr *e)
{
    const char *ext = identity_cloud(cs, "external_id");
    char host[512], path[512], amz_date[17], hash[65], session[80], dur[16];
    char h_host[600], h_date[40], *h_token = NULL, *h_auth = NULL, *auth = NULL;
    char *body = NULL;
    const char *hdrs[6];
    size_t blen = 0, nh = 0;
    sigv4_header sh[4];
    sigv4_request sr;
    sigv4_creds sc;
    cloud_http_req r;
    cloud_http_resp resp = {0};
    aws_sts_doc *d = NULL;
    time_t exp;
    int ret = -1, xml;

    if (aws_url_parts(url, host, sizeof host, path, sizeof path) < 0) {
        derr_set(e, DSRC_E_INVALID_CONFIG,
                 "cloud.sts_endpoint is not a URL of the form https://HOST[:PORT][/PATH]");
        return -1;
    }
    aws_session_name(cs->name, session, sizeof session);
    snprintf(dur, sizeof dur, "%d", AWS_STS_DURATION);
    if (aws_form_add(&body, &blen, "Action", "AssumeRole") < 0 ||
        aws_form_add(&body, &blen, "Version", "2011-06-15") < 0 ||
        aws_form_add(&body, &blen, "RoleArn", role_arn) < 0 ||
        aws_form_add(&body, &blen, "RoleSessionName", session) < 0 ||
        aws_form_add(&body, &blen, "DurationSeconds", dur) < 0 ||
        (ext && *ext && aws_form_add(&body, &blen, "ExternalId", ext) < 0)) {
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        goto out;
    }
    sigv4_amz_date(identity_now(), amz_date);
    if (sigv4_sha256_hex(body, blen, hash) < 0) {
        derr_set(e, DSRC_E_INTERNAL, "cannot hash the AssumeRole request");
        goto out;
    }
    sh[0].name = "content-type";
    sh[0].value = "application/x-www-form-urlencoded; charset=utf-8";
    sh[1].name = "host";
    sh[1].value = host;
    sh[2].name = "x-amz-date";
    sh[2].value = amz_date;
    sh[3].name = "x-amz-security-token";
    sh[3].value = base->token;
    memset(&sr, 0, sizeof sr);
    sr.method = "POST";
    sr.path = path;
    sr.headers = sh;
    sr.n_headers = base->token ? 4 : 3;
    sr.payload_hash = hash;
    sc.access_key_id = base->key_id;
    sc.secret_access_key = base->secret;
    sc.session_token = base->token;
    if (!(auth = sigv4_authorization(&sr, &sc, region, "sts", amz_date))) {
        derr_set(e, DSRC_E_INTERNAL, "cannot sign the AssumeRole request (out of memory)");
        goto out;
    }
    snprintf(h_host, sizeof h_host, "Host: %s", host);
    snprintf(h_date, sizeof h_date, "X-Amz-Date: %s", amz_date);
    if (asprintf(&h_auth, "Authorization: %s", auth) < 0 ||
        (base->token && asprintf(&h_token, "X-Amz-Security-Token: %s", base->token) < 0)) {
        h_auth = h_token = NULL;
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        goto out;
    }
    hdrs[nh++] = "Content-Type: application/x-www-form-urlencoded; charset=utf-8";
    hdrs[nh++] = h_host;
    hdrs[nh++] = h_date;
    if (h_token)
        hdrs[nh++] = h_token;
    hdrs[nh++] = h_auth;
    hdrs[nh] = NULL;
    memset(&r, 0, sizeof r);
    r.method = "POST";
    r.url = url;
    r.headers = hdrs;
    r.body = body;
    r.body_len = blen;
    r.timeout_ms = AWS_STS_TIMEOUT_MS;
    r.flags = identity_cloud(cs, "sts_endpoint") ? CLOUD_HTTP_CONFIGURED : 0;
    r.what = "AWS STS";
    if (cloud_http(&r, &resp, e) != DSRC_OK) {
        derr_prefix(e, "AssumeRole of %s", role_arn);
        goto out;
    }
    if (!(d = calloc(1, sizeof *d))) {
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        goto out;
    }
    if (resp.status != 200) {
        char why[400];
        derr ignored = {0};
        aws_sts_parse(resp.body, resp.len, d, &ignored); /* d->code, when there is one */
        derr_clear(&ignored);
        derr_set(e, aws_sts_status(d->code, resp.status),
                 "AWS STS refused AssumeRole of %s (on top of %s): %s", role_arn, base->from,
                 cloud_http_why(&resp, why, sizeof why));
        e->retryable = resp.status >= 500 || resp.status == 429 ||
                       strcmp(d->code, "Throttling") == 0;
        goto out;
    }
    if ((xml = aws_sts_parse(resp.body, resp.len, d, e)) == -2)
        goto out;
    if (xml < 0 || !d->key_id[0] || !d->secret[0] ||
        !d->token[0] || (exp = aws_parse_time(d->expiration)) == (time_t)-1) {
        derr_set(e, DSRC_E_BACKEND,
                 "AWS STS answered AssumeRole of %s without usable credentials (AccessKeyId, "
                 "SecretAccessKey, SessionToken and Expiration are required)", role_arn);
        goto out;
    }
    if (aws_creds_set(c, d->key_id, d->secret, d->token) < 0) {
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        goto out;
    }
    c->expires = exp;
    snprintf(c->from, sizeof c->from, "role %.100s via STS on top of %.90s", role_arn, base->from);
    ret = 0;
out:
    if (d) {
        aws_wipe(d, sizeof *d);
        free(d);
    }
    cloud_http_resp_free(&resp);
    aws_free_secret(h_auth);
    aws_free_secret(h_token);
    sigv4_free_secret(auth);
    free(body);
    return ret;
}

/* c replaced by the credentials of cloud.role_arn assumed with them, from
 * the cache while fresh: 0, or -1 with e set. */
static int aws_assume(const cfg_source *cs, const char *role_arn, aws_creds *c, derr *e)
{
    const char *conf = identity_cloud(cs, "sts_endpoint");
    const char *region = identity_cloud(cs, "region");
    const char *ext = identity_cloud(cs, "external_id");
    char url[1024], key[3000];
    aws_creds out = {0};
    aws_cached *x;
    int r = 0;

    if (conf && *conf)
        snprintf(url, sizeof url, "%s", conf);
    else if (region && *region)
        snprintf(url, sizeof url, "https://sts.%s.amazonaws.com/", region);
    else
        snprintf(url, sizeof url, "https://sts.amazonaws.com/");
    if (!region || !*region)
        region = "us-east-1";
    snprintf(key, sizeof key, "%s\nsts\n%s\n%s\n%s\n%s", cs->name, role_arn, url,
             ext ? ext : "", c->key_id);
    pthread_mutex_lock(&aws_mu);
    if (!(x = aws_slot(key))) {
        r = -1;
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
    } else if (aws_fresh(x)) {
        if ((r = aws_creds_copy(&out, &x->c)) < 0)
            derr_set(e, DSRC_E_INTERNAL, "out of memory");
    } else if ((r = aws_sts_fetch(cs, role_arn, url, region, c, &out, e)) == 0) {
        aws_remember(x, &out);
    }
    pthread_mutex_unlock(&aws_mu);
    if (r < 0)
        return -1;
    aws_creds_free(c);
    *c = out;
    return 0;
}

/* ---- the chain ---- */

/* The first credentials of the chain (identity.h), the role of
 * cloud.role_arn assumed with them when set; or -1 with e set. */
static int aws_credentials(const cfg_source *cs, const char *key_file, aws_creds *c, derr *e)
{
    const char *profile = identity_cloud(cs, "profile");
    const char *role_arn = identity_cloud(cs, "role_arn");
    char why[600] = "";
    int r;

    if ((r = aws_from_source(cs, key_file, c, e)) == 0 && !profile)
        r = aws_from_env(c, e);
    if (r == 0) {
        if (!profile)
            profile = getenv("AWS_PROFILE") && *getenv("AWS_PROFILE") ? getenv("AWS_PROFILE")
                                                                      : "default";
        r = aws_from_file(profile, c, e);
    }
    if (r == 0)
        r = aws_from_imds(cs, c, why, sizeof why, e);
    if (r < 0) {
        aws_creds_free(c);
        return -1;
    }
    if (r == 0) {
        derr_set(e, DSRC_E_INVALID_CONFIG,
                 "no AWS credentials found; tried, in order: cloud.access_key_id, %s"
                 "profile [%s] of the shared credentials file, the instance metadata "
                 "service (%s); set cloud.access_key_id and cloud.secret_access_key, "
                 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile [%s] in the "
                 "shared credentials file, or run on EC2 with an instance profile",
                 identity_cloud(cs, "profile") ? "" : "AWS_ACCESS_KEY_ID in the environment, ",
                 profile, why, profile);
        return -1;
    }
    if (role_arn && *role_arn && aws_assume(cs, role_arn, c, e) < 0) {
        aws_creds_free(c);
        return -1;
    }
    return 1;
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
             "%s in %s via access key %.4s...%s (%.180s%s)", user, region, c.key_id,
             n > 8 ? c.key_id + n - 4 : "", c.from, c.token ? ", temporary" : "");
    info->expires = now + SIGV4_RDS_TOKEN_EXPIRES;
    /* a token signed with temporary credentials dies with them */
    if (c.expires && c.expires < info->expires)
        info->expires = c.expires;
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
