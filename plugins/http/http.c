/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.c -- the connector for JSON REST APIs (libcurl for HTTP, jansson
 * for JSON).
 *
 * A source is a base URL, its auth (none, basic, bearer token, API key
 * header, OAuth2 client credentials) and its items.  The host hands a
 * plugin flat key/values only (a `connection` option is a single value),
 * so the items are one option, `items`: entries separated by ';', each
 * the item's name followed by key=value words (no blanks inside a value):
 *
 *   items = "users path=/users paging=link page_param=_page limit_param=_limit;"
 *           "events path=/v1/events records=/data paging=cursor next=/next";
 *
 * Keys: path (required; below base_url), query (fixed parameters),
 * records (JSON pointer to the records array; "" the whole body), paging
 * (none, page, offset, cursor, link), page_size, page_param, limit_param,
 * offset_param, cursor_param and next (the cursor token's query parameter
 * and its JSON pointer in the body), rate_limit (requests per second),
 * cursor_field and since_param (incremental fetch: the record field, and
 * the query parameter its last value is sent as).  See dsrc-connectors(7).
 *
 * Items are leaves at the root: list("") gives them; describe samples the
 * first sample_pages pages; fetch streams page by page (hp_fetch.c).
 *
 * Errors: backend_code is the HTTP status or "curl-N" ("tls" for TLS
 * failures), "json" for a body that is not JSON.  No secret reaches a
 * message: URLs are printed without their query.
 *
 * This file: the entry point, the option table and limits, validate, the
 * items option, open / ping / close / cancel.  hp.h lists the others.
 */
#include "hp.h"
#include "../common/dsrc_curl.h"

#include <ctype.h>
#include <strings.h>

DSRC_PLUGIN_ABI();

static const dsrc_host *hp_host;

static const dsrc_option hp_options[] = {
    {"base_url", DSRC_OPT_STRING, DSRC_OPT_REQUIRED, NULL, NULL,
     "the API's base URL, http:// or https:// (item paths are below it)", {NULL, NULL}},
    {"items", DSRC_OPT_STRING, DSRC_OPT_REQUIRED, NULL, NULL,
     "the items: 'NAME path=/p [key=value...]' entries separated by ';' "
     "(see dsrc-connectors(7))", {NULL, NULL}},
    {"auth", DSRC_OPT_ENUM, 0, "none", "none|basic|bearer|api_key|oauth2",
     "how requests are authorised", {NULL, NULL}},
    {"username", DSRC_OPT_STRING, 0, NULL, NULL, "auth = basic: the user name", {NULL, NULL}},
    {"password", DSRC_OPT_STRING, DSRC_OPT_SECRET, NULL, NULL, "auth = basic: the password",
     {NULL, NULL}},
    {"token", DSRC_OPT_STRING, DSRC_OPT_SECRET, NULL, NULL,
     "auth = bearer: the token sent as Authorization: Bearer", {NULL, NULL}},
    {"api_key", DSRC_OPT_STRING, DSRC_OPT_SECRET, NULL, NULL,
     "auth = api_key: the key sent in api_key_header", {NULL, NULL}},
    {"api_key_header", DSRC_OPT_STRING, 0, "X-API-Key", NULL,
     "auth = api_key: the header that carries the key", {NULL, NULL}},
    {"token_url", DSRC_OPT_STRING, 0, NULL, NULL,
     "auth = oauth2: the token endpoint (client credentials grant)", {NULL, NULL}},
    {"client_id", DSRC_OPT_STRING, 0, NULL, NULL, "auth = oauth2: the client id", {NULL, NULL}},
    {"client_secret", DSRC_OPT_STRING, DSRC_OPT_SECRET, NULL, NULL,
     "auth = oauth2: the client secret", {NULL, NULL}},
    {"scope", DSRC_OPT_STRING, 0, NULL, NULL, "auth = oauth2: the scope asked for",
     {NULL, NULL}},
    {"page_size", DSRC_OPT_INT, 0, "100", NULL,
     "records asked for per page (an item's page_size overrides it)", {NULL, NULL}},
    {"rate_limit", DSRC_OPT_DOUBLE, 0, "0", NULL,
     "requests per second at most, 0 for no limit (an item's rate_limit overrides it)",
     {NULL, NULL}},
    {"max_retries", DSRC_OPT_INT, 0, "5", NULL,
     "429 and 503 answers honoured in a row (waiting Retry-After) before failing",
     {NULL, NULL}},
    {"max_retry_wait", DSRC_OPT_DURATION, 0, "60s", NULL,
     "longest Retry-After honoured; a longer one fails the call (retryable)", {NULL, NULL}},
    {"sample_pages", DSRC_OPT_INT, 0, "1", NULL,
     "pages whose records give an item's schema", {NULL, NULL}},
    {"max_page_size", DSRC_OPT_INT, 0, "67108864", NULL,
     "bytes of one response at most", {NULL, NULL}},
    {"ping_path", DSRC_OPT_STRING, 0, "/", NULL, "the path ping requests below base_url",
     {NULL, NULL}},
    {"connect_timeout", DSRC_OPT_DURATION, 0, "10s", NULL,
     "time limit for establishing a connection", {NULL, NULL}},
    {"timeout", DSRC_OPT_DURATION, 0, "5m", NULL, "time limit for one request", {NULL, NULL}},
    DSRC_OPTION_END
};

static const dsrc_option_limit hp_limits[] = {
    {"base_url", 0, 0, 0, "[Hh][Tt][Tt][Pp][Ss]?://[^/?#[:space:]]+(/[^?#[:space:]]*)?",
     "an http:// or https:// URL without a query", {NULL, NULL}},
    {"page_size", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 1, 100000, NULL, NULL, {NULL, NULL}},
    {"max_retries", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 0, 100, NULL, NULL, {NULL, NULL}},
    {"max_retry_wait", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 0, 3600000, NULL, NULL, {NULL, NULL}},
    {"sample_pages", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 1, 100, NULL, NULL, {NULL, NULL}},
    {"max_page_size", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 1024, 1073741824, NULL, NULL,
     {NULL, NULL}},
    {"rate_limit", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 0, 10000, NULL, NULL, {NULL, NULL}},
    {"ping_path", 0, 0, 0, "/[^[:space:]]*", "a path starting with '/'", {NULL, NULL}},
    DSRC_OPTION_LIMIT_END
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

int hp_cancelled(const dsrc_ctx *ctx, dsrc_conn *c)
{
    if (c && atomic_load(&c->cancel))
        return 1;
    return dsrc_cancelled(hp_host, ctx);
}

int hp_cancel_fd(const dsrc_ctx *ctx)
{
    return dsrc_cancel_fd(hp_host, ctx);
}

static void hp_free_secret(char *s)
{
    if (s)
        dsrc_wipe(s, strlen(s));
    free(s);
}

const hp_item *hp_item_find(const dsrc_conn *c, const char *name)
{
    size_t i;

    for (i = 0; name && i < c->n_items; i++)
        if (strcmp(c->items[i].name, name) == 0)
            return &c->items[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The items option                                                          */

static void hp_item_free(hp_item *it)
{
    free(it->name);
    free(it->path);
    free(it->query);
    free(it->records);
    free(it->page_param);
    free(it->limit_param);
    free(it->offset_param);
    free(it->cursor_param);
    free(it->next);
    free(it->cursor_field);
    free(it->since_param);
}

static void hp_items_free(hp_item *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        hp_item_free(&v[i]);
    free(v);
}

/* Set the string member `*dst` to s[0..n) (replacing a default). */
static int hp_set(char **dst, const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (!d)
        return -1;
    memcpy(d, s, n);
    d[n] = '\0';
    free(*dst);
    *dst = d;
    return 0;
}

/* One key=value word of an entry into `it`; 0, or -1 with `why`. */
static int hp_item_key(hp_item *it, const char *w, size_t n, char *why, size_t cap)
{
    static const char *const pagings[] = {"none", "page", "offset", "cursor", "link"};
    static const struct {
        const char *key;
        size_t off;
    } strs[] = {
        {"path", offsetof(hp_item, path)},           {"query", offsetof(hp_item, query)},
        {"records", offsetof(hp_item, records)},     {"page_param", offsetof(hp_item, page_param)},
        {"limit_param", offsetof(hp_item, limit_param)},
        {"offset_param", offsetof(hp_item, offset_param)},
        {"cursor_param", offsetof(hp_item, cursor_param)}, {"next", offsetof(hp_item, next)},
        {"cursor_field", offsetof(hp_item, cursor_field)},
        {"since_param", offsetof(hp_item, since_param)},
    };
    const char *eq = memchr(w, '=', n), *v;
    size_t k, kn, vn;
    char num[64], *end;

    if (!eq) {
        snprintf(why, cap, "item '%s': '%.*s' is not key=value", it->name, (int)n, w);
        return -1;
    }
    kn = (size_t)(eq - w);
    v = eq + 1;
    vn = n - kn - 1;
    for (k = 0; k < sizeof strs / sizeof strs[0]; k++)
        if (strlen(strs[k].key) == kn && memcmp(strs[k].key, w, kn) == 0)
            return hp_set((char **)((char *)it + strs[k].off), v, vn);
    if (kn == 6 && memcmp(w, "paging", 6) == 0) {
        for (k = 0; k < sizeof pagings / sizeof pagings[0]; k++)
            if (strlen(pagings[k]) == vn && memcmp(pagings[k], v, vn) == 0) {
                it->paging = (hp_paging)k;
                return 0;
            }
        snprintf(why, cap, "item '%s': paging '%.*s' is not one of none, page, offset, "
                 "cursor, link", it->name, (int)vn, v);
        return -1;
    }
    snprintf(num, sizeof num, "%.*s", (int)(vn < 63 ? vn : 63), v);
    if (kn == 9 && memcmp(w, "page_size", 9) == 0) {
        it->page_size = strtol(num, &end, 10);
        if (vn && vn < 63 && !*end && it->page_size >= 1 && it->page_size <= 100000)
            return 0;
        snprintf(why, cap, "item '%s': page_size '%.*s' is not a number from 1 to 100000",
                 it->name, (int)vn, v);
        return -1;
    }
    if (kn == 10 && memcmp(w, "rate_limit", 10) == 0) {
        it->rate_limit = strtod(num, &end);
        if (vn && vn < 63 && !*end && it->rate_limit >= 0 && it->rate_limit <= 10000)
            return 0;
        snprintf(why, cap, "item '%s': rate_limit '%.*s' is not a number from 0 to 10000",
                 it->name, (int)vn, v);
        return -1;
    }
    snprintf(why, cap, "item '%s': unknown key '%.*s' (path, query, records, paging, "
             "page_size, page_param, limit_param, offset_param, cursor_param, next, "
             "rate_limit, cursor_field, since_param)", it->name, (int)kn, w);
    return -1;
}

/* Defaults of an item before its words are read. */
static int hp_item_init(hp_item *it, long page_size, double rate)
{
    it->page_size = page_size;
    it->rate_limit = rate;
    it->records = dsrc_strdup("");
    it->page_param = dsrc_strdup("page");
    it->limit_param = dsrc_strdup("limit");
    it->offset_param = dsrc_strdup("offset");
    it->cursor_param = dsrc_strdup("cursor");
    it->next = dsrc_strdup("/next");
    return it->records && it->page_param && it->limit_param && it->offset_param &&
                   it->cursor_param && it->next
               ? 0
               : -1;
}

/* The checks of a whole entry once its words are read. */
static int hp_item_check(const hp_item *it, char *why, size_t cap)
{
    if (!it->path || it->path[0] != '/') {
        snprintf(why, cap, "item '%s': path= is missing or does not start with '/'", it->name);
        return -1;
    }
    if (it->records[0] && it->records[0] != '/') {
        snprintf(why, cap, "item '%s': records '%s' is not a JSON pointer (\"\" or /a/b)",
                 it->name, it->records);
        return -1;
    }
    if (it->paging == HP_PAGE_CURSOR && it->next[0] != '/') {
        snprintf(why, cap, "item '%s': next '%s' is not a JSON pointer (/a/b)", it->name,
                 it->next);
        return -1;
    }
    if (!it->cursor_field != !it->since_param) {
        snprintf(why, cap, "item '%s': cursor_field and since_param go together", it->name);
        return -1;
    }
    return 0;
}

/* Parse the items option into *out (n in *n).  0, or -1 with `why` ("" when
 * out of memory). */
static int hp_items_parse(const char *spec, long page_size, double rate, hp_item **out,
                          size_t *n_out, char *why, size_t cap)
{
    hp_item *v = NULL;
    size_t n = 0, k;
    const char *p = spec;

    why[0] = '\0';
    while (*p) {
        const char *e = strchr(p, ';'), *w;
        hp_item *it, *nv;
        size_t wn;

        if (!e)
            e = p + strlen(p);
        while (p < e && isspace((unsigned char)*p))
            p++;
        if (p == e) {
            p = *e ? e + 1 : e;
            continue;
        }
        if (!(nv = realloc(v, (n + 1) * sizeof *v)))
            goto fail;
        v = nv;
        it = &v[n++];
        memset(it, 0, sizeof *it);
        for (wn = 0; p + wn < e && !isspace((unsigned char)p[wn]); wn++)
            ;
        if (hp_set(&it->name, p, wn) < 0 || hp_item_init(it, page_size, rate) < 0)
            goto fail;
        if (strspn(it->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
                != wn || strchr(it->name, '=')) {
            snprintf(why, cap, "item name '%s' must be letters, digits, '_', '.' or '-'",
                     it->name);
            goto fail;
        }
        for (k = 0; k + 1 < n; k++)
            if (strcmp(v[k].name, it->name) == 0) {
                snprintf(why, cap, "item '%s' is named twice", it->name);
                goto fail;
            }
        for (p += wn;; p = w + wn) {
            for (w = p; w < e && isspace((unsigned char)*w); w++)
                ;
            if (w == e)
                break;
            for (wn = 0; w + wn < e && !isspace((unsigned char)w[wn]); wn++)
                ;
            if (hp_item_key(it, w, wn, why, cap) < 0)
                goto fail;
        }
        if (hp_item_check(it, why, cap) < 0)
            goto fail;
        p = *e ? e + 1 : e;
    }
    if (!n) {
        snprintf(why, cap, "no item: write at least one 'NAME path=/p' entry");
        goto fail;
    }
    *out = v;
    *n_out = n;
    return 0;
fail:
    hp_items_free(v, n);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Validate, open, ping, close                                               */

static long hp_opt_long(const dsrc_open_params *p, const char *name, long def)
{
    const char *v = dsrc_opt(p, name);
    return v ? strtol(v, NULL, 10) : def;
}

static const char *const hp_auths[] = {"none", "basic", "bearer", "api_key", "oauth2"};

static int hp_auth_of(const dsrc_open_params *p)
{
    const char *a = dsrc_opt(p, "auth");
    int i;

    for (i = 0; a && i < 5; i++)
        if (strcmp(a, hp_auths[i]) == 0)
            return i;
    return HP_AUTH_NONE;
}

/* The options each auth needs (a secret is present or absent only). */
static dsrc_status hp_check(const dsrc_open_params *p, hp_item **items, size_t *n_items,
                            dsrc_error *err)
{
    static const char *const needs[][3] = {
        {NULL, NULL, NULL}, {"username", "password", NULL}, {"token", NULL, NULL},
        {"api_key", NULL, NULL}, {"token_url", "client_id", "client_secret"}};
    int auth = hp_auth_of(p), k;
    char why[512];
    const char *items_opt = dsrc_opt(p, "items");
    hp_item *v = NULL;
    size_t n = 0;

    static const struct {
        const char *name;
        int64_t min, max;
    } ranges[] = {{"page_size", 1, 100000}, {"max_retries", 0, 100},
                  {"max_retry_wait", 0, 3600000}, {"sample_pages", 1, 100},
                  {"max_page_size", 1024, 1073741824}};
    const char *rate = dsrc_opt(p, "rate_limit");
    char *end;
    int64_t num;

    /* the host checks the limits when it reads a config; open() may be
     * handed options that did not come from one */
    for (k = 0; k < (int)(sizeof ranges / sizeof ranges[0]); k++)
        if (dsrc_opt_int(p, ranges[k].name, 0, ranges[k].min, ranges[k].max, &num) < 0)
            return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                  "option '%s' must be a whole number from %lld to %lld",
                                  ranges[k].name, (long long)ranges[k].min,
                                  (long long)ranges[k].max);
    if (rate && (strtod(rate, &end) < 0 || *end || end == rate || strtod(rate, NULL) > 10000))
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'rate_limit' must be a number from 0 to 10000");
    for (k = 0; k < 3; k++)
        if (needs[auth][k] && !dsrc_kv_get(p->options, p->n_options, needs[auth][k]))
            return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                  "option '%s' is required with auth = %s", needs[auth][k],
                                  hp_auths[auth]);
    if (!dsrc_opt(p, "base_url"))
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'base_url' is required");
    if (!items_opt)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL, "option 'items' is required");
    if (hp_items_parse(items_opt, hp_opt_long(p, "page_size", 100),
                       rate ? strtod(rate, NULL) : 0,
                       &v, &n, why, sizeof why) < 0)
        return why[0] ? dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL, "option 'items': %s",
                                       why)
                      : dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    if (items) {
        *items = v;
        *n_items = n;
    } else {
        hp_items_free(v, n);
    }
    return DSRC_OK;
}

static dsrc_status hp_validate(const dsrc_ctx *ctx, const dsrc_open_params *p, dsrc_error *err)
{
    dsrc_status st = dsrc_curl_tls_rule(p, dsrc_opt(p, "base_url"), "base_url", err);
    (void)ctx;
    return st != DSRC_OK ? st : hp_check(p, NULL, NULL, err);
}

static void hp_close(dsrc_conn *c)
{
    if (!c)
        return;
    dsrc_curl_free(c->multi, c->curl);
    free(c->base);
    free(c->user);
    hp_free_secret(c->secret);
    free(c->key_header);
    free(c->token_url);
    free(c->client_id);
    hp_free_secret(c->client_secret);
    free(c->scope);
    free(c->ping_path);
    hp_free_secret(c->token);
    hp_items_free(c->items, c->n_items);
    free(c);
}

/* TLS from the source's tls group (verify-full when none). */
static void hp_tls(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_open_params *p)
{
    if (p->tls_ca && *p->tls_ca)
        curl_easy_setopt(c->curl, CURLOPT_CAINFO, p->tls_ca);
    if (p->tls_cert && *p->tls_cert)
        curl_easy_setopt(c->curl, CURLOPT_SSLCERT, p->tls_cert);
    if (p->tls_key && *p->tls_key)
        curl_easy_setopt(c->curl, CURLOPT_SSLKEY, p->tls_key);
    if (p->tls_key_passphrase && *p->tls_key_passphrase)
        curl_easy_setopt(c->curl, CURLOPT_KEYPASSWD, p->tls_key_passphrase);
    if (p->tls_mode && (strcmp(p->tls_mode, "require") == 0 ||
                        strcmp(p->tls_mode, "disable") == 0)) {
        curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 0L);
        if (hp_host && hp_host->log && strncasecmp(c->base, "https:", 6) == 0)
            hp_host->log(ctx, DSRC_LOG_WARNING,
                         "tls.mode '%s': the server certificate is not verified", p->tls_mode);
    } else if (p->tls_mode && strcmp(p->tls_mode, "verify-ca") == 0) {
        curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

static dsrc_status hp_open(const dsrc_ctx *ctx, const dsrc_open_params *p, dsrc_conn **out,
                           dsrc_error *err)
{
    dsrc_conn *c = calloc(1, sizeof *c);
    const char *base = dsrc_opt(p, "base_url"), *s, *secret;
    size_t n;
    dsrc_status st;

    *out = NULL;
    if (!c)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    atomic_init(&c->cancel, 0);
    if ((st = dsrc_curl_tls_rule(p, base, "base_url", err)) != DSRC_OK ||
        (st = hp_check(p, &c->items, &c->n_items, err)) != DSRC_OK)
        goto fail;
    if (strncasecmp(base, "http://", 7) != 0 && strncasecmp(base, "https://", 8) != 0) {
        st = dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                            "option 'base_url' must start with http:// or https://");
        goto fail;
    }
    n = strlen(base);
    while (n > 8 && base[n - 1] == '/')
        n--;
    s = strchr(strstr(base, "://") + 3, '/');
    snprintf(c->origin, sizeof c->origin, "%.*s",
             (int)(s && (size_t)(s - base) < n ? (size_t)(s - base) : n), base);
    c->base = malloc(n + 1);
    if (c->base) {
        memcpy(c->base, base, n);
        c->base[n] = '\0';
    }
    c->auth = hp_auth_of(p);
    secret = c->auth == HP_AUTH_BASIC    ? dsrc_opt(p, "password")
             : c->auth == HP_AUTH_BEARER ? dsrc_opt(p, "token")
             : c->auth == HP_AUTH_API_KEY ? dsrc_opt(p, "api_key")
                                          : NULL;
    c->secret = dsrc_strdup(secret);
    c->user = dsrc_strdup(dsrc_opt(p, "username"));
    c->key_header = dsrc_strdup(dsrc_opt(p, "api_key_header") ? dsrc_opt(p, "api_key_header")
                                                              : "X-API-Key");
    c->token_url = dsrc_strdup(dsrc_opt(p, "token_url"));
    c->client_id = dsrc_strdup(dsrc_opt(p, "client_id"));
    c->client_secret = dsrc_strdup(dsrc_opt(p, "client_secret"));
    c->scope = dsrc_strdup(dsrc_opt(p, "scope"));
    c->ping_path = dsrc_strdup(dsrc_opt(p, "ping_path") ? dsrc_opt(p, "ping_path") : "/");
    c->max_retries = hp_opt_long(p, "max_retries", 5);
    c->max_wait_ms = hp_opt_long(p, "max_retry_wait", 60000);
    c->sample_pages = hp_opt_long(p, "sample_pages", 1);
    c->max_page = hp_opt_long(p, "max_page_size", 67108864);
    c->curl = curl_easy_init();
    if (!c->base || (secret && !c->secret) || !c->key_header || !c->ping_path || !c->curl) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto fail;
    }
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, hp_opt_long(p, "connect_timeout", 10000));
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, hp_opt_long(p, "timeout", 300000));
    curl_easy_setopt(c->curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "dsrc-http/" HP_VERSION);
    hp_tls(ctx, c, p);
    *out = c;
    return DSRC_OK;
fail:
    hp_close(c);
    return st;
}

static dsrc_status hp_ping(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_ping_info *info,
                           dsrc_error *err)
{
    dsrc_buf url = {0};
    hp_resp r;
    dsrc_status st;
    char what[300];

    memset(&r, 0, sizeof r);
    dsrc_buf_printf(&url, "%s%s", c->base, c->ping_path);
    if (url.failed)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    snprintf(what, sizeof what, "ping of %s", c->origin);
    st = hp_get(ctx, c, url.s, 0, &r, what, err);
    if (st == DSRC_OK && info) {
        info->role = DSRC_ROLE_STANDALONE;
        snprintf(info->server_version, sizeof info->server_version, "HTTP %ld", r.status);
        snprintf(info->endpoint, sizeof info->endpoint, "%.127s", c->origin);
    }
    hp_resp_free(&r);
    dsrc_buf_free(&url);
    return st;
}

static dsrc_status hp_cancel(dsrc_conn *c)
{
    atomic_store(&c->cancel, 1);
    return DSRC_OK;
}

static dsrc_status hp_setup(dsrc_error *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "libcurl failed to initialise");
    return DSRC_OK;
}

static const dsrc_driver hp_driver = {
    .abi_version = DSRC_ABI_VERSION,
    .name = "http",
    .version = HP_VERSION,
    .description = "JSON REST APIs over HTTP(S): paged records as typed rows or JSON Lines",
    .capabilities = DSRC_CAP_CANCEL | DSRC_CAP_CURSOR | DSRC_CAP_RAW,
    .options = hp_options,
    DSRC_DRIVER_CALLS(hp),
    .describe = hp_describe,
    .cancel = hp_cancel,
    .option_limits = hp_limits,
    .validate = hp_validate,
};

DSRC_PLUGIN_INIT(hp_driver, &hp_host, hp_setup)
