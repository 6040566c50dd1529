/* SPDX-License-Identifier: Apache-2.0 */
/* token.c -- the control API's tokens in the state store; see token.h */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include "store/db.h"

#include "store/token.h"

#define TOKEN_RAW_BYTES 32
#define TOKEN_B64_LEN 43            /* base64url of 32 bytes, unpadded */
#define TOKEN_TOUCH_MS 60000        /* last_used_at at most this often */

static const char *const token_role_names[] = {"viewer", "operator", "admin"};

const char *store_role_name(store_role r)
{
    return (unsigned)r < 3 ? token_role_names[r] : "?";
}

int store_role_parse(const char *name)
{
    int i;

    for (i = 0; name && i < 3; i++)
        if (strcmp(name, token_role_names[i]) == 0)
            return i;
    return -1;
}

/* The SHA-256 of token as lower-case hex (65 bytes). */
static void token_hash(const char *token, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char d[SHA256_DIGEST_LENGTH];
    int i;

    SHA256((const unsigned char *)token, strlen(token), d);
    for (i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[2 * SHA256_DIGEST_LENGTH] = '\0';
    OPENSSL_cleanse(d, sizeof d);
}

static int token_name_ok(const char *name)
{
    size_t i, n = name ? strlen(name) : 0;

    if (n == 0 || n > STORE_TOKEN_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

/* A fresh token: "dsrc_" + base64url(32 random bytes); NULL on failure. */
static char *token_make(void)
{
    unsigned char raw[TOKEN_RAW_BYTES];
    char b64[4 * ((TOKEN_RAW_BYTES + 2) / 3) + 1], *tok;
    int n, i;

    if (RAND_bytes(raw, sizeof raw) != 1)
        return NULL;
    n = EVP_EncodeBlock((unsigned char *)b64, raw, sizeof raw);
    OPENSSL_cleanse(raw, sizeof raw);
    if (n < TOKEN_B64_LEN || !(tok = malloc(strlen(STORE_TOKEN_PREFIX) + TOKEN_B64_LEN + 1))) {
        OPENSSL_cleanse(b64, sizeof b64);
        return NULL;
    }
    for (i = 0; i < TOKEN_B64_LEN; i++)
        b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    memcpy(tok, STORE_TOKEN_PREFIX, strlen(STORE_TOKEN_PREFIX));
    memcpy(tok + strlen(STORE_TOKEN_PREFIX), b64, TOKEN_B64_LEN);
    tok[strlen(STORE_TOKEN_PREFIX) + TOKEN_B64_LEN] = '\0';
    OPENSSL_cleanse(b64, sizeof b64);
    return tok;
}

/* Prepare sql on the locked store; NULL with `e` set. */
static sdb_stmt *token_prep(store *s, sdb *db, const char *sql, derr *e)
{
    sdb_stmt *st = NULL;

    if (sdb_prepare(db, sql, &st) != 0) {
        store_error(s, e, "cannot read the API tokens");
        return NULL;
    }
    return st;
}

static int64_t token_col_time(sdb_stmt *st, int k)
{
    return sdb_column_type(st, k) == SDB_NULL ? 0 : sdb_column_int64(st, k);
}

/* The columns of a token row, in the order token_row() reads them. */
#define TOKEN_COLS "id, name, role, created_at, expires_at, revoked_at, last_used_at"

static void token_row(sdb_stmt *st, store_token_info *out)
{
    int role = store_role_parse(sdb_column_text(st, 2));

    memset(out, 0, sizeof *out);
    out->id = sdb_column_int64(st, 0);
    snprintf(out->name, sizeof out->name, "%s",
             sdb_column_text(st, 1) ? sdb_column_text(st, 1) : "");
    out->role = role < 0 ? STORE_ROLE_VIEWER : (store_role)role;
    out->created_at = token_col_time(st, 3);
    out->expires_at = token_col_time(st, 4);
    out->revoked_at = token_col_time(st, 5);
    out->last_used_at = token_col_time(st, 6);
}

dsrc_status store_token_create(store *s, const char *name, store_role role, int64_t expires_at,
                               char **token_out, derr *e)
{
    char hex[2 * SHA256_DIGEST_LENGTH + 1], *tok;
    sdb *db;
    sdb_stmt *st;
    int64_t now = store_now();
    dsrc_status rs = DSRC_OK;

    *token_out = NULL;
    if (!token_name_ok(name))
        return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                        "token name '%s': use 1 to %d letters, digits, '.', '_' or '-'",
                        name ? name : "", STORE_TOKEN_NAME_MAX);
    if ((unsigned)role > STORE_ROLE_ADMIN)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT, "token %s: unknown role", name);
    if (expires_at < 0 || (expires_at > 0 && expires_at <= now))
        return derr_set(e, DSRC_E_INVALID_ARGUMENT, "token %s: the expiry is in the past", name);
    if (!(tok = token_make()))
        return derr_set(e, DSRC_E_INTERNAL, "token %s: cannot make random bytes", name);
    token_hash(tok, hex);
    db = store_lock(s);
    if (!(st = token_prep(s, db, "INSERT INTO api_tokens (name, role, hash, created_at, "
                                 "expires_at) VALUES (?, ?, ?, ?, ?)", e))) {
        rs = e->status;
    } else {
        sdb_bind_text(st, 1, name);
        sdb_bind_text(st, 2, store_role_name(role));
        sdb_bind_text(st, 3, hex);
        sdb_bind_int64(st, 4, now);
        if (expires_at > 0)
            sdb_bind_int64(st, 5, expires_at);
        else
            sdb_bind_null(st, 5);
        if (sdb_step(st) != SDB_DONE) {
            if (sdb_errcode(db) == SDB_E_CONSTRAINT) {
                rs = derr_set(e, DSRC_E_BACKEND, "a token named %s exists (not revoked); "
                                                 "revoke it first or choose another name",
                              name);
                snprintf(e->code, sizeof e->code, "exists");
            } else {
                rs = store_error(s, e, "cannot record the API token");
            }
        }
        sdb_finalize(st);
    }
    store_unlock(s);
    if (rs != DSRC_OK) {
        OPENSSL_cleanse(tok, strlen(tok));
        free(tok);
        return rs;
    }
    *token_out = tok;
    return DSRC_OK;
}

dsrc_status store_token_revoke(store *s, const char *name, derr *e)
{
    sdb *db = store_lock(s);
    sdb_stmt *st;
    dsrc_status rs = DSRC_OK;

    if (!(st = token_prep(s, db, "UPDATE api_tokens SET revoked_at = ? "
                                 "WHERE name = ? AND revoked_at IS NULL", e))) {
        rs = e->status;
    } else {
        sdb_bind_int64(st, 1, store_now());
        sdb_bind_text(st, 2, name ? name : "");
        if (sdb_step(st) != SDB_DONE)
            rs = store_error(s, e, "cannot revoke the API token");
        else if (sdb_changes(db) == 0)
            rs = derr_set(e, DSRC_E_NOT_FOUND, "no token named %s (or it is already revoked)",
                          name ? name : "");
        sdb_finalize(st);
    }
    store_unlock(s);
    return rs;
}

/* With the store locked: record that token `id` was used now, without
 * waiting for the disk (a lost last-used time costs nothing). */
static void token_touch(sdb *db, int64_t id, int64_t now)
{
    sdb_stmt *st = NULL;

    sdb_lazy(db, 1);
    if (sdb_prepare(db, "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", &st) == 0) {
        sdb_bind_int64(st, 1, now);
        sdb_bind_int64(st, 2, id);
        (void)sdb_step(st);
    }
    sdb_finalize(st);
    sdb_lazy(db, 0);
}

static dsrc_status token_refuse(derr *e, store_token_verdict v, store_token_verdict *verdict,
                                const char *name)
{
    static const char *const codes[] = {"", "unknown-token", "expired-token", "revoked-token"};

    if (verdict)
        *verdict = v;
    if (v == STORE_TOKEN_UNKNOWN)
        derr_set(e, DSRC_E_AUTH, "unknown API token");
    else
        derr_set(e, DSRC_E_AUTH, "API token %s is %s", name,
                 v == STORE_TOKEN_EXPIRED ? "expired" : "revoked");
    snprintf(e->code, sizeof e->code, "%s", codes[v]);
    return DSRC_E_AUTH;
}

dsrc_status store_token_check(store *s, const char *token, store_token_info *out,
                              store_token_verdict *verdict, derr *e)
{
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    const size_t plen = strlen(STORE_TOKEN_PREFIX);
    sdb *db;
    sdb_stmt *st;
    int64_t now = store_now();
    int step, found = 0;
    dsrc_status rs = DSRC_OK;

    memset(out, 0, sizeof *out);
    if (verdict)
        *verdict = STORE_TOKEN_UNKNOWN;
    if (!token || strlen(token) != plen + TOKEN_B64_LEN || strncmp(token, STORE_TOKEN_PREFIX, plen))
        return token_refuse(e, STORE_TOKEN_UNKNOWN, verdict, NULL);
    token_hash(token, hex);
    db = store_lock(s);
    if (!(st = token_prep(s, db, "SELECT " TOKEN_COLS ", hash FROM api_tokens WHERE hash = ?",
                          e))) {
        store_unlock(s);
        return e->status;
    }
    sdb_bind_text(st, 1, hex);
    if ((step = sdb_step(st)) == SDB_ROW) {
        const char *h = sdb_column_text(st, 7);
        /* the index found it; the comparison that decides takes constant time */
        if (h && strlen(h) == strlen(hex) && CRYPTO_memcmp(h, hex, strlen(hex)) == 0) {
            token_row(st, out);
            found = 1;
        }
    } else if (step != SDB_DONE) {
        rs = store_error(s, e, "cannot read the API tokens");
    }
    sdb_finalize(st);
    if (found && !out->revoked_at && (!out->expires_at || out->expires_at > now) &&
        now - out->last_used_at >= TOKEN_TOUCH_MS) {
        token_touch(db, out->id, now);
        out->last_used_at = now;
    }
    store_unlock(s);
    OPENSSL_cleanse(hex, sizeof hex);
    if (rs != DSRC_OK)
        return rs;
    if (!found)
        return token_refuse(e, STORE_TOKEN_UNKNOWN, verdict, NULL);
    if (out->revoked_at)
        return token_refuse(e, STORE_TOKEN_REVOKED, verdict, out->name);
    if (out->expires_at && out->expires_at <= now)
        return token_refuse(e, STORE_TOKEN_EXPIRED, verdict, out->name);
    if (verdict)
        *verdict = STORE_TOKEN_OK;
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* The cache of accepted tokens                                              */

#define TOKEN_CACHE_SLOTS 64

struct store_token_cache {
    pthread_mutex_t mu;
    int64_t ttl_ms;
    size_t next;                /* the slot the next miss fills              */
    struct {
        char hex[2 * SHA256_DIGEST_LENGTH + 1]; /* "" when empty             */
        int64_t until;          /* ms since the epoch                        */
        store_token_info info;
    } slot[TOKEN_CACHE_SLOTS];
};

store_token_cache *store_token_cache_new(int64_t ttl_ms)
{
    store_token_cache *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->ttl_ms = ttl_ms;
    return c;
}

void store_token_cache_free(store_token_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    OPENSSL_cleanse(c, sizeof *c);
    free(c);
}

/* The slot of `hex` still valid at `now`, or -1 (c->mu held). */
static int token_cache_find(store_token_cache *c, const char *hex, int64_t now)
{
    size_t i, n = strlen(hex);

    for (i = 0; i < TOKEN_CACHE_SLOTS; i++)
        if (c->slot[i].until > now && strlen(c->slot[i].hex) == n &&
            CRYPTO_memcmp(c->slot[i].hex, hex, n) == 0)
            return (int)i;
    return -1;
}

dsrc_status store_token_check_cached(store *s, store_token_cache *c, const char *token,
                                     store_token_info *out, store_token_verdict *verdict,
                                     derr *e)
{
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    int64_t now = store_now();
    dsrc_status rs;
    int k;

    if (!c || !token)
        return store_token_check(s, token, out, verdict, e);
    token_hash(token, hex);
    pthread_mutex_lock(&c->mu);
    if ((k = token_cache_find(c, hex, now)) >= 0 &&
        (!c->slot[k].info.expires_at || c->slot[k].info.expires_at > now)) {
        *out = c->slot[k].info;
        pthread_mutex_unlock(&c->mu);
        OPENSSL_cleanse(hex, sizeof hex);
        if (verdict)
            *verdict = STORE_TOKEN_OK;
        return DSRC_OK;
    }
    pthread_mutex_unlock(&c->mu);
    rs = store_token_check(s, token, out, verdict, e);
    if (rs == DSRC_OK) {
        pthread_mutex_lock(&c->mu);
        if ((k = token_cache_find(c, hex, now)) < 0) {
            k = (int)c->next;
            c->next = (c->next + 1) % TOKEN_CACHE_SLOTS;
        }
        memcpy(c->slot[k].hex, hex, sizeof hex);
        c->slot[k].until = now + c->ttl_ms;
        c->slot[k].info = *out;
        pthread_mutex_unlock(&c->mu);
    }
    OPENSSL_cleanse(hex, sizeof hex);
    return rs;
}

static json_t *token_jtime(int64_t ms)
{
    return ms ? json_integer((json_int_t)ms) : json_null();
}

json_t *store_token_list(store *s, derr *e)
{
    sdb *db = store_lock(s);
    sdb_stmt *st;
    json_t *arr = json_array();
    int64_t now = store_now();
    int step;

    if (!arr || !(st = token_prep(s, db, "SELECT " TOKEN_COLS " FROM api_tokens ORDER BY id",
                                  e))) {
        if (!arr)
            derr_set(e, DSRC_E_INTERNAL, "API tokens: out of memory");
        store_unlock(s);
        json_decref(arr);
        return NULL;
    }
    while ((step = sdb_step(st)) == SDB_ROW) {
        store_token_info t;
        token_row(st, &t);
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:I, s:o, s:o, s:o, s:s}", "name", t.name, "role",
                           store_role_name(t.role), "created_at", (json_int_t)t.created_at,
                           "expires_at", token_jtime(t.expires_at), "revoked_at",
                           token_jtime(t.revoked_at), "last_used_at",
                           token_jtime(t.last_used_at), "state",
                           t.revoked_at ? "revoked"
                           : t.expires_at && t.expires_at <= now ? "expired" : "active"));
    }
    if (step != SDB_DONE) {
        store_error(s, e, "cannot read the API tokens");
        json_decref(arr);
        arr = NULL;
    }
    sdb_finalize(st);
    store_unlock(s);
    return arr;
}
