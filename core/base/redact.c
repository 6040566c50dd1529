/* SPDX-License-Identifier: Apache-2.0 */
/* redact.c -- see redact.h */
#include <config.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/redact.h"
#include "secret/secmem.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char **secrets;
static size_t n_secrets, cap_secrets;

int redact_add(const char *secret)
{
    size_t i;
    int rc = 0;

    if (!secret || strlen(secret) < 3)
        return 0;
    pthread_mutex_lock(&lock);
    for (i = 0; i < n_secrets; i++)
        if (strcmp(secrets[i], secret) == 0)
            goto out;
    if (n_secrets == cap_secrets) {
        size_t cap = cap_secrets ? cap_secrets * 2 : 8;
        char **v = realloc(secrets, cap * sizeof *v);
        if (!v) {
            rc = -1;
            goto out;
        }
        secrets = v;
        cap_secrets = cap;
    }
    /* Kept out of core dumps: these are the plain values. */
    if (!(secrets[n_secrets] = secmem_strdup(secret)))
        rc = -1;
    else
        n_secrets++;
out:
    pthread_mutex_unlock(&lock);
    return rc;
}

void redact_clear(void)
{
    size_t i;
    pthread_mutex_lock(&lock);
    for (i = 0; i < n_secrets; i++)
        secmem_free(secrets[i]);
    free(secrets);
    secrets = NULL;
    n_secrets = cap_secrets = 0;
    pthread_mutex_unlock(&lock);
}

/* Replace every occurrence of one secret in *s (malloc'd); returns 0/-1. */
static int replace_all(char **s, const char *secret)
{
    size_t slen = strlen(secret), rlen = strlen(REDACTED), count = 0;
    const char *p;
    char *out, *o;

    for (p = strstr(*s, secret); p; p = strstr(p + slen, secret))
        count++;
    if (!count)
        return 0;
    out = malloc(strlen(*s) - count * slen + count * rlen + 1);
    if (!out)
        return -1;
    o = out;
    p = *s;
    for (;;) {
        const char *hit = strstr(p, secret);
        if (!hit)
            break;
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        memcpy(o, REDACTED, rlen);
        o += rlen;
        p = hit + slen;
    }
    strcpy(o, p);
    OPENSSL_cleanse(*s, strlen(*s));
    free(*s);
    *s = out;
    return 0;
}

char *redact_dup(const char *s)
{
    char *out;
    size_t i;

    if (!s)
        return NULL;
    if (!(out = strdup(s)))
        return NULL;
    pthread_mutex_lock(&lock);
    for (i = 0; i < n_secrets && out; i++)
        if (replace_all(&out, secrets[i]) < 0) {
            free(out);
            out = NULL;
        }
    pthread_mutex_unlock(&lock);
    return out;
}
