/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token.h -- the control API's bearer tokens, kept in the state store
 * (store.h, table `api_tokens`, schema version 3).
 *
 * A token is "dsrc_" followed by 43 base64url characters: 32 random bytes
 * (RAND_bytes).  It is shown once, when it is made; the store keeps only
 * its SHA-256 (lower-case hex), never the token.  Each token has a name
 * (unique among the tokens not revoked: [A-Za-z0-9._-], 1 to 64
 * characters), a role, when it was made, when it expires (or never), when
 * it was revoked and when it was last used (updated at most once a minute
 * per token, without waiting for the disk: a power loss may lose a
 * last-used time, nothing else).
 *
 * Roles, each including the one before: viewer (reads everything but
 * data), operator (+ tests, runs, cancels, reads data), admin (+ reload,
 * tokens, source changes).
 */
#ifndef DSRC_CORE_TOKEN_H
#define DSRC_CORE_TOKEN_H

#include <stdint.h>

#include <jansson.h>

#include "store/store.h"

#define STORE_TOKEN_PREFIX "dsrc_"
#define STORE_TOKEN_NAME_MAX 64

typedef enum store_role {
    STORE_ROLE_VIEWER = 0,
    STORE_ROLE_OPERATOR = 1,
    STORE_ROLE_ADMIN = 2
} store_role;

/* "viewer", "operator", "admin"; the role named `name`, or -1. */
const char *store_role_name(store_role r);
int store_role_parse(const char *name);

/* Make a token named `name` with `role`, expiring at expires_at (ms since
 * the epoch; 0: never).  *token_out (malloc'd; the caller wipes and frees
 * it) is the token, to be shown once.  Errors: DSRC_E_INVALID_ARGUMENT (a
 * bad name, role or an expiry in the past), DSRC_E_BACKEND with code
 * "exists" (a token of that name is not revoked), or a store error
 * (DSRC_E_PERMISSION when the database cannot be written). */
dsrc_status store_token_create(store *s, const char *name, store_role role, int64_t expires_at,
                               char **token_out, derr *e);

/* Revoke the token named `name` (the one not revoked).
 * DSRC_E_NOT_FOUND when there is none. */
dsrc_status store_token_revoke(store *s, const char *name, derr *e);

/* One token, as store_token_check() and store_token_list() describe it.
 * Times are ms since the epoch, 0 when none. */
typedef struct store_token_info {
    int64_t id;
    char name[STORE_TOKEN_NAME_MAX + 1];
    store_role role;
    int64_t created_at, expires_at, revoked_at, last_used_at;
} store_token_info;

/* Why store_token_check() refused a token. */
typedef enum store_token_verdict {
    STORE_TOKEN_OK = 0,
    STORE_TOKEN_UNKNOWN = 1,   /* malformed, or no such token                 */
    STORE_TOKEN_EXPIRED = 2,   /* its expiry has passed                       */
    STORE_TOKEN_REVOKED = 3    /* it was revoked                              */
} store_token_verdict;

/* Check a token presented by a client (as sent: "dsrc_..."), comparing
 * hashes in constant time.  DSRC_OK with *out filled (name, role...);
 * DSRC_E_AUTH when refused, with *verdict saying why, e->code set to
 * "unknown-token", "expired-token" or "revoked-token" and *out filled for
 * an expired or revoked token (the name, for the audit trail); or a store
 * error (the server answers 503).  verdict may be NULL. */
dsrc_status store_token_check(store *s, const char *token, store_token_info *out,
                              store_token_verdict *verdict, derr *e);

/* Accepted tokens, remembered for a server that checks one on every
 * request: store_token_check_cached() answers from here, without the
 * database, for a token the store accepted less than ttl_ms ago (keyed by
 * the token's hash; never the token).  A token revoked in the store stops
 * working within ttl_ms; an expiry is exact.  Thread-safe.  NULL when out
 * of memory. */
typedef struct store_token_cache store_token_cache;
store_token_cache *store_token_cache_new(int64_t ttl_ms);
void store_token_cache_free(store_token_cache *c);

/* store_token_check() through `c` (NULL: straight to the store). */
dsrc_status store_token_check_cached(store *s, store_token_cache *c, const char *token,
                                     store_token_info *out, store_token_verdict *verdict,
                                     derr *e);

/* Every token (revoked ones too), oldest first, as a JSON array of
 * objects: name, role, created_at, expires_at, revoked_at, last_used_at
 * (ms, null when none) and state ("active", "expired", "revoked").  Never
 * a hash.  NULL with `e` set. */
json_t *store_token_list(store *s, derr *e);

#endif
