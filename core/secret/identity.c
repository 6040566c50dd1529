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

/* ------------------------------------------------------------------------ */
/* The cache                                                                 */

typedef struct identity_entry {
    struct identity_entry *next;
    char *key;   /* "source\nhost\nport\nuser" */
    char *token; /* secret_free() */
    identity_info info;
    time_t made; /* when the token was obtained */
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
    x->made = identity_now();
    return DSRC_OK;
}

/* 1 when x's token is to be made again now: less than the margin of its
 * life left, the margin being IDENTITY_REFRESH_MARGIN, or a third of the
 * life of a token that lives less than twice that (one that lives seconds
 * is still used for two thirds of them). */
static int identity_stale(const identity_entry *x)
{
    time_t life = x->info.expires - x->made, margin = IDENTITY_REFRESH_MARGIN;

    if (!x->valid)
        return 1;
    if (life < 2 * IDENTITY_REFRESH_MARGIN)
        margin = life > 0 ? life / 3 : 0;
    return identity_now() >= x->info.expires - margin;
}

dsrc_status identity_token(const cfg_source *cs, const char *key_file, const char *host,
                           const char *port, const char *user, char **token,
                           identity_info *info, derr *e)
{
    const identity_provider *p = identity_provider_of(cs);
    identity_target t;
    char key[2048];
    identity_entry *x;
    dsrc_status st = DSRC_OK;

    *token = NULL;
    snprintf(key, sizeof key, "%s\n%s\n%s\n%s", cs->name, host ? host : "", port ? port : "",
             user ? user : "");
    if (!p)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "source '%s': its cloud group asks for no identity", cs->name);
    t.host = host;
    t.port = port;
    t.user = user;
    pthread_mutex_lock(&identity_mu);
    if (!(x = identity_entry_for(key))) {
        st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
    } else if (identity_stale(x)) {
        st = identity_make(x, p, cs, key_file, &t, e);
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

