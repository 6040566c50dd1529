/* SPDX-License-Identifier: Apache-2.0 */
/*
 * identity_int.h -- between identity.c (the cache, handing tokens to
 * plugins) and its providers, one file each: identity_aws.c,
 * identity_azure.c, identity_gcp.c.  Not for the rest of the host.
 */
#ifndef DSRC_CORE_IDENTITY_INT_H
#define DSRC_CORE_IDENTITY_INT_H

#include "secret/identity.h"

/* What a token is for: the connection's endpoint and user, from the
 * plugin's options (any may be NULL); or the resource a plugin asked for
 * through dsrc_host.bearer_token (NULL for a database's password). */
typedef struct identity_target {
    const char *host, *port, *user;
    const char *resource;
} identity_target;

typedef struct identity_provider {
    const char *name; /* the cloud group's provider: "aws"             */
    const char *what; /* what asked for it, for messages: "use_iam_auth" */
    /* 1 when cs's cloud group asks this provider for a token. */
    int (*wanted)(const cfg_source *cs);
    /* A new token for t into *token (malloc'd; the caller wipes it), and
     * info (provider, mode, principal, expires: the token's end of life);
     * or fills e naming the cause, never a secret. */
    dsrc_status (*token)(const cfg_source *cs, const char *key_file,
                         const identity_target *t, char **token, identity_info *info,
                         derr *e);
} identity_provider;

extern const identity_provider identity_aws, identity_azure, identity_gcp;

/* identity_check() of the azure provider (identity_azure.c). */
dsrc_status identity_azure_check(const cfg_source *cs, derr *e);

/* The text of cloud-group key `key`, or NULL. */
const char *identity_cloud(const cfg_source *cs, const char *key);

/* 1 when cloud-group key `key` is the boolean true. */
int identity_flag(const cfg_source *cs, const char *key);

/* The clock (identity_set_clock()). */
time_t identity_now(void);

#endif
