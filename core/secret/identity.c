/* SPDX-License-Identifier: Apache-2.0 */
/* identity.c -- see identity.h */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/log.h"
#include "base/redact.h"
#include "secret/identity.h"
#include "secret/secret.h"
#include "secret/identity_int.h"

static time_t (*identity_clock)(void);

void identity_set_clock(time_t (*now)(void))
{
    identity_clock = now;
}

time_t identity_now(void)
{
    return identity_clock ? identity_clock() : time(NULL);
}

const char *identity_cloud(const cfg_source *cs, const char *key)
{
    size_t i;
    for (i = 0; i < cs->n_cloud; i++)
        if (strcmp(cs->cloud[i].key, key) == 0)
            return cs->cloud[i].text;
    return NULL;
}

int identity_flag(const cfg_source *cs, const char *key)
{
    const char *v = identity_cloud(cs, key);
    return v && strcmp(v, "true") == 0;
}

/* The providers, by the cloud group's provider. */
static const identity_provider *const identity_providers[] = {
    &identity_aws, &identity_azure, &identity_gcp, NULL
};

/* Those that also hand tokens to plugins that ask (dsrc_host.bearer_token,
 * ABI 1.3): a plugin without a secret "password" option gets none at open
 * and asks when it needs one. */
static const identity_provider *const identity_bearers[] = {&identity_azure, NULL};

static int identity_gives_bearer(const identity_provider *p)
{
    size_t i;
    for (i = 0; identity_bearers[i]; i++)
        if (identity_bearers[i] == p)
            return 1;
    return 0;
}

static const identity_provider *identity_provider_of(const cfg_source *cs)
{
    size_t i;

    if (!cs->cloud_provider)
        return NULL;
    for (i = 0; identity_providers[i]; i++)
        if (strcmp(cs->cloud_provider, identity_providers[i]->name) == 0)
            return identity_providers[i]->wanted(cs) ? identity_providers[i] : NULL;
    return NULL;
}

int identity_wanted(const cfg_source *cs)
{
    return identity_provider_of(cs) != NULL;
}

dsrc_status identity_check(const cfg_source *cs, derr *e)
{
    if (cs->cloud_provider && strcmp(cs->cloud_provider, "azure") == 0)
        return identity_azure_check(cs, e);
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* The cache                                                                 */

/* What the background refresher needs to make a token again without the
 * configuration it came from: the source's name and cloud group, the key
 * file, the target.  Providers read nothing else of a cfg_source. */
typedef struct identity_recipe {
    cfg_source cs;  /* name, cloud_provider, cloud[] only */
    char *key_file, *host, *port, *user, *resource;
} identity_recipe;

typedef struct identity_entry {
    struct identity_entry *next;
    char *key;   /* "source\nhost\nport\nuser" */
    char *token; /* secret_free() */
    identity_info info;
    int valid;   /* token set (0: only info, of the last attempt) */
    time_t made, used; /* when the token was made, last handed out */
    int busy;    /* the refresher is making a token for it */
    time_t tried; /* `made` of the token the refresher last tried to renew */
    identity_recipe *recipe;
} identity_entry;

static void identity_recipe_free(identity_recipe *r)
{
    size_t i;

    if (!r)
        return;
    free(r->cs.name);
    free(r->cs.cloud_provider);
    for (i = 0; i < r->cs.n_cloud; i++) {
        free(r->cs.cloud[i].key);
        free(r->cs.cloud[i].text);
    }
    free(r->cs.cloud);
    free(r->key_file);
    free(r->host);
    free(r->port);
    free(r->user);
    free(r->resource);
    free(r);
}

static char *identity_dup(const char *s, int *failed)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *failed = 1;
    return d;
}

/* A copy of what make needs (cloud values are references, never plain
 * secrets once validated; copied as the configuration holds them); NULL
 * on OOM. */
static identity_recipe *identity_recipe_new(const cfg_source *cs, const char *key_file,
                                            const identity_target *t)
{
    identity_recipe *r = calloc(1, sizeof *r);
    int failed = 0;
    size_t i;

    if (!r)
        return NULL;
    r->cs.name = identity_dup(cs->name, &failed);
    r->cs.cloud_provider = identity_dup(cs->cloud_provider, &failed);
    r->cs.location = cs->location;
    if (cs->n_cloud && !(r->cs.cloud = calloc(cs->n_cloud, sizeof *r->cs.cloud)))
        failed = 1;
    for (i = 0; !failed && i < cs->n_cloud; i++) {
        r->cs.cloud[i].key = identity_dup(cs->cloud[i].key, &failed);
        r->cs.cloud[i].text = identity_dup(cs->cloud[i].text, &failed);
        r->cs.cloud[i].type = cs->cloud[i].type;
        r->cs.cloud[i].line = cs->cloud[i].line;
        r->cs.n_cloud++;
    }
    r->key_file = identity_dup(key_file, &failed);
    r->host = identity_dup(t->host, &failed);
    r->port = identity_dup(t->port, &failed);
    r->user = identity_dup(t->user, &failed);
    r->resource = identity_dup(t->resource, &failed);
    if (failed) {
        identity_recipe_free(r);
        return NULL;
    }
    return r;
}

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

/* How long before its end x's token is made again: IDENTITY_REFRESH_MARGIN,
 * or a third of the life of a token that lives less than twice that (one
 * that lives seconds is still used for two thirds of them). */
static time_t identity_margin(const identity_entry *x)
{
    time_t life = x->info.expires - x->made;

    if (life < 2 * IDENTITY_REFRESH_MARGIN)
        return life > 0 ? life / 3 : 0;
    return IDENTITY_REFRESH_MARGIN;
}

/* The first 16 hex digits of a SHA-256 of what makes the token (the cloud
 * group, the key file), so that a changed configuration makes a new one;
 * into out. */
static void identity_fingerprint(const cfg_source *cs, const char *key_file, char *out,
                                 size_t size)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    size_t k;

    *out = '\0';
    if (!h)
        return;
    if (EVP_DigestInit_ex(h, EVP_sha256(), NULL) == 1) {
        for (k = 0; k < cs->n_cloud; k++) {
            EVP_DigestUpdate(h, cs->cloud[k].key, strlen(cs->cloud[k].key) + 1);
            if (cs->cloud[k].text)
                EVP_DigestUpdate(h, cs->cloud[k].text, strlen(cs->cloud[k].text) + 1);
        }
        if (key_file)
            EVP_DigestUpdate(h, key_file, strlen(key_file) + 1);
        if (EVP_DigestFinal_ex(h, md, &n) != 1)
            n = 0;
    }
    EVP_MD_CTX_free(h);
    for (i = 0; i < n && i < 8 && 2 * i + 2 < size; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* How long before the margin the refresher makes x's token again:
 * IDENTITY_REFRESH_AHEAD, at most the margin itself (a token that lives
 * seconds is not made again the moment it is made). */
static time_t identity_ahead(const identity_entry *x)
{
    time_t m = identity_margin(x);
    return m < IDENTITY_REFRESH_AHEAD ? m : IDENTITY_REFRESH_AHEAD;
}

/* A new token into x (under identity_mu). */
static dsrc_status identity_make(identity_entry *x, const identity_provider *p,
                                 const cfg_source *cs, const char *key_file,
                                 const identity_target *t, derr *e)
{
    identity_info info;
    char *tok = NULL;
    dsrc_status st;

    memset(&info, 0, sizeof info);
    st = p->token(cs, key_file, t, &tok, &info, e);
    if (st != DSRC_OK) {
        secret_free(tok);
        return st;
    }
    if (!tok || redact_add(tok) < 0) {
        secret_free(tok);
        return derr_set(e, DSRC_E_INTERNAL, "cannot keep the token (out of memory)");
    }
    secret_free(x->token);
    x->token = tok;
    x->valid = 1;
    x->info = info;
    x->made = identity_now();
    if (!x->recipe)
        x->recipe = identity_recipe_new(cs, key_file, t); /* NULL: no refresh ahead */
    return DSRC_OK;
}

/* The token of provider p for t, from the cache or made (identity_token()). */
static dsrc_status identity_get(const identity_provider *p, const cfg_source *cs,
                                const char *key_file, const identity_target *t, char **token,
                                identity_info *info, derr *e)
{
    char key[2048];
    identity_entry *x;
    dsrc_status st = DSRC_OK;

    snprintf(key, sizeof key, "%s\n%s\n%s\n%s\n%s\n", cs->name, t->host ? t->host : "",
             t->port ? t->port : "", t->user ? t->user : "", t->resource ? t->resource : "");
    identity_fingerprint(cs, key_file, key + strlen(key), sizeof key - strlen(key));
    pthread_mutex_lock(&identity_mu);
    if (!(x = identity_entry_for(key))) {
        st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
    } else if (!x->valid || identity_now() >= x->info.expires - identity_margin(x)) {
        st = identity_make(x, p, cs, key_file, t, e);
        if (st != DSRC_OK)
            derr_prefix(e, "source '%s': cloud identity (%s, %s)", cs->name, p->name,
                        p->what);
    }
    if (st == DSRC_OK) {
        x->used = identity_now();
        if (!(*token = strdup(x->token)))
            st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
        else if (info)
            *info = x->info;
    }
    pthread_mutex_unlock(&identity_mu);
    return st;
}

dsrc_status identity_token(const cfg_source *cs, const char *key_file, const char *host,
                           const char *port, const char *user, char **token,
                           identity_info *info, derr *e)
{
    const identity_provider *p = identity_provider_of(cs);
    identity_target t;

    *token = NULL;
    if (!p)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "source '%s': its cloud group asks for no identity", cs->name);
    t.host = host;
    t.port = port;
    t.user = user;
    t.resource = NULL;
    return identity_get(p, cs, key_file, &t, token, info, e);
}

dsrc_status identity_bearer(const cfg_source *cs, const char *key_file, const char *resource,
                            char **token, identity_info *info, derr *e)
{
    const identity_provider *p = NULL;
    identity_target t;
    size_t i;

    *token = NULL;
    for (i = 0; cs->cloud_provider && identity_providers[i]; i++)
        if (strcmp(cs->cloud_provider, identity_providers[i]->name) == 0)
            p = identity_providers[i];
    if (!p || !identity_gives_bearer(p))
        return derr_set(e, DSRC_E_UNSUPPORTED,
                        "source '%s': its cloud group (provider %s) gives no bearer tokens",
                        cs->name, cs->cloud_provider ? cs->cloud_provider : "none");
    if (!resource || !*resource || strlen(resource) > 512 ||
        strncmp(resource, "https://", 8) != 0 || strpbrk(resource, " \t\r\n"))
        return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                        "source '%s': a bearer token needs a resource (an https:// URI)",
                        cs->name);
    memset(&t, 0, sizeof t);
    t.resource = resource;
    return identity_get(p, cs, key_file, &t, token, info, e);
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
    const identity_provider *p = identity_provider_of(cs);
    const dsrc_option *pw = NULL;
    dsrc_status st;
    size_t i;

    *token = NULL;
    if (!p)
        return DSRC_OK;
    for (; table && table->name; table++)
        if (strcmp(table->name, "password") == 0 && (table->flags & DSRC_OPT_SECRET))
            pw = table;
    if (!pw && identity_gives_bearer(p)) /* the plugin asks itself (dsrc_host.bearer_token) */
        return DSRC_OK;
    if (!pw)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "source '%s': a cloud identity needs a plugin with a secret "
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
/* Making tokens ahead of need                                               */

int identity_refresh_due(void)
{
    int n = 0;

    for (;;) {
        identity_entry *x, *pick = NULL;
        const identity_provider *p = NULL;
        identity_info info;
        identity_target t;
        char *tok = NULL;
        time_t now = identity_now();
        dsrc_status st;
        derr e;

        pthread_mutex_lock(&identity_mu);
        for (x = identity_cache; x && !pick; x = x->next) {
            time_t life = x->info.expires - x->made;
            /* a token that lives a few rounds at most is made on use only */
            if (!x->valid || x->busy || !x->recipe || x->tried == x->made ||
                life < 4 * IDENTITY_REFRESH_PERIOD ||
                now < x->info.expires - identity_margin(x) - identity_ahead(x) ||
                x->used < now - (life > 0 ? life : 0))
                continue;
            pick = x;
        }
        if (pick) {
            size_t i;
            pick->busy = 1;
            pick->tried = pick->made;
            for (i = 0; identity_providers[i]; i++)
                if (strcmp(pick->recipe->cs.cloud_provider, identity_providers[i]->name) == 0)
                    p = identity_providers[i];
        }
        pthread_mutex_unlock(&identity_mu);
        if (!pick)
            return n;
        if (!p) { /* cannot happen: the recipe asked for it once */
            pthread_mutex_lock(&identity_mu);
            pick->busy = 0;
            pthread_mutex_unlock(&identity_mu);
            continue;
        }
        memset(&e, 0, sizeof e);
        memset(&info, 0, sizeof info);
        memset(&t, 0, sizeof t);
        t.host = pick->recipe->host;
        t.port = pick->recipe->port;
        t.user = pick->recipe->user;
        t.resource = pick->recipe->resource;
        st = p->token(&pick->recipe->cs, pick->recipe->key_file, &t, &tok, &info, &e);
        if (st == DSRC_OK && (!tok || redact_add(tok) < 0)) {
            derr_set(&e, DSRC_E_INTERNAL, "out of memory");
            st = DSRC_E_INTERNAL;
        }
        pthread_mutex_lock(&identity_mu);
        pick->busy = 0;
        if (st == DSRC_OK) {
            secret_free(pick->token);
            pick->token = tok;
            tok = NULL;
            pick->info = info;
            pick->made = identity_now();
            n++;
        }
        pthread_mutex_unlock(&identity_mu);
        secret_free(tok);
        if (st != DSRC_OK) {
            /* the token in hand stays valid until it expires; the next use
             * after the margin tries again and fails the call if need be */
            log_msg(DSRC_LOG_WARNING, pick->recipe->cs.name, NULL,
                    "cannot renew the cloud identity (%s, %s) ahead of its expiry: %s",
                    p->name, p->what, e.msg ? e.msg : "failed");
            derr_clear(&e);
        }
    }
}

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int running, quit;
} identity_refresher = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};

static void *identity_refresher_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&identity_refresher.mu);
    while (!identity_refresher.quit) {
        struct timespec until;
        pthread_mutex_unlock(&identity_refresher.mu);
        identity_refresh_due();
        pthread_mutex_lock(&identity_refresher.mu);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += IDENTITY_REFRESH_PERIOD;
        while (!identity_refresher.quit &&
               pthread_cond_timedwait(&identity_refresher.cv, &identity_refresher.mu,
                                      &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&identity_refresher.mu);
    return NULL;
}

int identity_refresher_start(void)
{
    int rc = 0;

    pthread_mutex_lock(&identity_refresher.mu);
    if (!identity_refresher.running) {
        identity_refresher.quit = 0;
        rc = pthread_create(&identity_refresher.th, NULL, identity_refresher_main, NULL);
        identity_refresher.running = rc == 0;
    }
    pthread_mutex_unlock(&identity_refresher.mu);
    return rc == 0 ? 0 : -1;
}

void identity_refresher_stop(void)
{
    int was;

    pthread_mutex_lock(&identity_refresher.mu);
    was = identity_refresher.running;
    identity_refresher.quit = 1;
    identity_refresher.running = 0;
    pthread_cond_broadcast(&identity_refresher.cv);
    pthread_mutex_unlock(&identity_refresher.mu);
    if (was)
        pthread_join(identity_refresher.th, NULL);
}
