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

    snprintf(key, sizeof key, "%s\n%s\n%s\n%s\n%s", cs->name, t->host ? t->host : "",
             t->port ? t->port : "", t->user ? t->user : "", t->resource ? t->resource : "");
    pthread_mutex_lock(&identity_mu);
    if (!(x = identity_entry_for(key))) {
        st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
    } else if (!x->valid || identity_now() >= x->info.expires - IDENTITY_REFRESH_MARGIN) {
        st = identity_make(x, p, cs, key_file, t, e);
        if (st != DSRC_OK)
            derr_prefix(e, "source '%s': cloud identity (%s, %s)", cs->name, p->name,
                        p->what);
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

