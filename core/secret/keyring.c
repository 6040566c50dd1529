/* SPDX-License-Identifier: Apache-2.0 */
/* keyring.c -- see keyring.h */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "secret/keyring.h"
#include "base/redact.h"
#include "secret/secmem.h"
#include "secret/secret.h"

static keyring *keyring_new(const char *origin)
{
    keyring *kr = calloc(1, sizeof *kr);

    if (kr && !(kr->origin = strdup(origin))) {
        free(kr);
        kr = NULL;
    }
    return kr;
}

void keyring_free(keyring *kr)
{
    if (!kr)
        return;
    secmem_free(kr->keys);
    free(kr->origin);
    free(kr);
}

/* Decode `text` (NUL-terminated, trimmed) and append it.  Returns
 * FERNET_OK, FERNET_E_KEY or FERNET_E_INTERNAL. */
static fernet_status keyring_push(keyring *kr, char *text)
{
    fernet_key *v, key;
    fernet_status st = fernet_key_decode(text, strlen(text), &key);

    if (st != FERNET_OK)
        return st;
    v = secmem_alloc((kr->n_keys + 1) * sizeof *v); /* out of core dumps */
    if (!v) {
        fernet_key_wipe(&key);
        return FERNET_E_INTERNAL;
    }
    if (kr->n_keys)
        memcpy(v, kr->keys, kr->n_keys * sizeof *v);
    secmem_free(kr->keys);
    kr->keys = v;
    kr->keys[kr->n_keys++] = key;
    fernet_key_wipe(&key);
    if (redact_add(text) < 0)
        return FERNET_E_INTERNAL;
    return FERNET_OK;
}

/* Trim blanks (and a CR) at both ends, in place; returns the start. */
static char *keyring_trim(char *s, size_t len)
{
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    s[len] = '\0';
    return s;
}

dsrc_status keyring_parse_list(const char *text, const char *origin, keyring **out, derr *e)
{
    keyring *kr;
    char *copy;
    size_t len, start, i, n = 0;
    dsrc_status rc = DSRC_OK;

    *out = NULL;
    if (!(kr = keyring_new(origin)) || !(copy = strdup(text))) {
        keyring_free(kr);
        return derr_set(e, DSRC_E_INTERNAL, "%s: out of memory", origin);
    }
    len = strlen(copy);
    for (start = 0, i = 0; i <= len && rc == DSRC_OK; i++) {
        fernet_status st;
        char *item;

        if (i < len && copy[i] != ',')
            continue;
        n++;
        copy[i] = '\0';
        item = keyring_trim(copy + start, i - start);
        start = i + 1;
        if (!*item) {
            rc = derr_set(e, DSRC_E_INVALID_CONFIG,
                          "%s: key %zu is empty (separate keys with single commas)", origin, n);
            break;
        }
        st = keyring_push(kr, item);
        if (st == FERNET_E_INTERNAL)
            rc = derr_set(e, DSRC_E_INTERNAL, "%s: out of memory", origin);
        else if (st != FERNET_OK)
            rc = derr_set(e, DSRC_E_INVALID_CONFIG, "%s: key %zu is malformed: %s", origin, n,
                          fernet_strerror(st));
    }
    OPENSSL_cleanse(copy, len);
    free(copy);
    if (rc != DSRC_OK) {
        keyring_free(kr);
        return rc;
    }
    *out = kr;
    return DSRC_OK;
}

dsrc_status keyring_load_file(const char *path, keyring **out, derr *e)
{
    keyring *kr;
    char *buf = NULL;
    size_t len = 0, start, i;
    int line = 0;
    dsrc_status rc;

    *out = NULL;
    rc = secret_read_private_file(path, "key file", KEYRING_MAX_FILE, &buf, &len, e);
    if (rc != DSRC_OK)
        return rc;
    if (!(kr = keyring_new(path))) {
        secret_free_buf(buf, len);
        return derr_set(e, DSRC_E_INTERNAL, "%s: out of memory", path);
    }
    for (start = 0, i = 0; i <= len && rc == DSRC_OK; i++) {
        fernet_status st;
        char *item;

        if (i < len && buf[i] != '\n')
            continue;
        line++;
        buf[i] = '\0'; /* buf has room for the NUL at len */
        item = keyring_trim(buf + start, i - start);
        start = i + 1;
        if (!*item || *item == '#')
            continue;
        st = keyring_push(kr, item);
        if (st == FERNET_E_INTERNAL)
            rc = derr_set(e, DSRC_E_INTERNAL, "%s: out of memory", path);
        else if (st != FERNET_OK)
            rc = derr_set(e, DSRC_E_INVALID_CONFIG,
                          "%s:%d: not a Fernet key: %s (create one with 'dsrc secret genkey')",
                          path, line, fernet_strerror(st));
    }
    secret_free_buf(buf, len);
    if (rc == DSRC_OK && kr->n_keys == 0)
        rc = derr_set(e, DSRC_E_INVALID_CONFIG,
                      "%s: no key in the file (create one with 'dsrc secret genkey')", path);
    if (rc != DSRC_OK) {
        keyring_free(kr);
        return rc;
    }
    *out = kr;
    return DSRC_OK;
}

dsrc_status keyring_load(const char *key_file, keyring **out, derr *e)
{
    const char *dir = getenv("CREDENTIALS_DIRECTORY"), *env = getenv(KEYRING_ENV);
    dsrc_status rc;

    *out = NULL;
    if (key_file && *key_file)
        return keyring_load_file(key_file, out, e);
    if (dir && *dir) {
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, KEYRING_CREDENTIAL) < 0)
            return derr_set(e, DSRC_E_INTERNAL, "out of memory");
        rc = keyring_load_file(path, out, e);
        free(path);
        if (rc != DSRC_E_NOT_FOUND)
            return rc;
        derr_clear(e);
    }
    if (env && *env)
        return keyring_parse_list(env, "the " KEYRING_ENV " environment variable", out, e);
    return derr_set(e, DSRC_E_NOT_FOUND,
                    "no Fernet key found: set key_file in the daemon configuration, provide "
                    "the systemd credential " KEYRING_CREDENTIAL " ($CREDENTIALS_DIRECTORY/"
                    KEYRING_CREDENTIAL ", LoadCredential=" KEYRING_CREDENTIAL ":PATH), or set "
                    "the " KEYRING_ENV " environment variable; create a key with "
                    "'dsrc secret genkey'");
}

dsrc_status keyring_encrypt(const keyring *kr, const void *msg, size_t len, char **token,
                            derr *e)
{
    fernet_status st;

    *token = NULL;
    if (!kr || !kr->n_keys)
        return derr_set(e, DSRC_E_INVALID_CONFIG, "%s", fernet_strerror(FERNET_E_NO_KEY));
    st = fernet_encrypt(&kr->keys[0], msg, len, token);
    if (st != FERNET_OK)
        return derr_set(e, DSRC_E_INTERNAL, "cannot encrypt: %s", fernet_strerror(st));
    return DSRC_OK;
}

dsrc_status keyring_decrypt(const keyring *kr, const char *token, size_t token_len,
                            unsigned char **out, size_t *out_len, size_t *key_index,
                            fernet_status *fst, derr *e)
{
    fernet_status st;

    *out = NULL;
    *out_len = 0;
    if (!kr || !kr->n_keys) {
        if (fst)
            *fst = FERNET_E_NO_KEY;
        return derr_set(e, DSRC_E_INVALID_CONFIG, "%s", fernet_strerror(FERNET_E_NO_KEY));
    }
    st = fernet_decrypt(kr->keys, kr->n_keys, token, token_len, FERNET_NO_TTL, out, out_len,
                        key_index);
    if (fst)
        *fst = st;
    switch (st) {
    case FERNET_OK:
        return DSRC_OK;
    case FERNET_E_MAC:
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "cannot decrypt the Fernet token: none of the %zu key(s) from %s "
                        "matches (wrong key, or the token was altered)",
                        kr->n_keys, kr->origin);
    case FERNET_E_INTERNAL:
        return derr_set(e, DSRC_E_INTERNAL, "cannot decrypt the Fernet token: %s",
                        fernet_strerror(st));
    default:
        return derr_set(e, DSRC_E_INVALID_CONFIG, "cannot decrypt the Fernet token: %s",
                        fernet_strerror(st));
    }
}
