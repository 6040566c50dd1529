/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyring.h -- the host's Fernet keys.
 *
 * A key file holds one key a line, each the 44-character URL-safe base64
 * text of 32 bytes (as `dsrc secret genkey` prints it); blank lines and lines
 * starting with '#' are ignored, surrounding blanks too.  The first key
 * encrypts; every key decrypts, so a key is rotated by adding the new key as
 * the first line, running `dsrc secret rotate`, then removing the old one.
 *
 * keyring_load() looks, in this order, at
 *   1. the key_file setting (when given),
 *   2. $CREDENTIALS_DIRECTORY/dsrc.key when that file exists (systemd
 *      LoadCredential=dsrc.key:...),
 *   3. the DSRC_KEY environment variable (one key, or several separated by
 *      commas, first encrypts).
 * The first place that is set (for 2: that exists) is used; a problem with
 * it is an error (the later places are not tried).  A key file that group or others may read or
 * write is refused, as ssh refuses a private key.  Messages name files and
 * line numbers, never a key.  Loaded key texts are registered with
 * redact_add().
 *
 * Ownership: the caller owns the keyring and releases it with
 * keyring_free(), which wipes the keys.
 */
#ifndef DSRC_CORE_KEYRING_H
#define DSRC_CORE_KEYRING_H

#include <stddef.h>

#include "base/error.h"
#include "secret/fernet.h"

#define KEYRING_ENV "DSRC_KEY"
#define KEYRING_CREDENTIAL "dsrc.key"
#define KEYRING_MAX_FILE (64 * 1024)

typedef struct keyring {
    fernet_key *keys;   /* keys[0] encrypts; all decrypt                     */
    size_t n_keys;      /* >= 1                                              */
    char *origin;       /* where the keys came from, for messages: a file
                           path or "the DSRC_KEY environment variable"      */
} keyring;

/* Find and load the keys (see above).  key_file is the key_file setting, or
 * NULL when not set.  Returns DSRC_OK and a new keyring in *out, or fills e
 * (DSRC_E_NOT_FOUND when no place holds keys, DSRC_E_INVALID_CONFIG for a
 * refused or malformed file or variable, DSRC_E_INTERNAL on allocation
 * failure) and sets *out to NULL. */
dsrc_status keyring_load(const char *key_file, keyring **out, derr *e);

/* Load one key file, checking its permissions.  As keyring_load(); a
 * missing file is DSRC_E_NOT_FOUND. */
dsrc_status keyring_load_file(const char *path, keyring **out, derr *e);

/* Parse keys separated by commas (the DSRC_KEY format).  `origin` names
 * the place in messages.  As keyring_load(). */
dsrc_status keyring_parse_list(const char *text, const char *origin, keyring **out, derr *e);

/* Wipe and free; NULL is ignored. */
void keyring_free(keyring *kr);

/* Encrypt len bytes with the first key.  Returns DSRC_OK and a malloc'd
 * token (without the "fernet:" prefix) in *token, or fills e. */
dsrc_status keyring_encrypt(const keyring *kr, const void *msg, size_t len, char **token,
                            derr *e);

/* Decrypt a token (without prefix) with any key, no age limit.  Returns
 * DSRC_OK with *out (len bytes + NUL, release with fernet_free()) and the
 * index of the key that worked in *key_index (may be NULL), or fills e
 * with a message saying why (never the token or the plaintext); *fst (may
 * be NULL) receives the fernet_status. */
dsrc_status keyring_decrypt(const keyring *kr, const char *token, size_t token_len,
                            unsigned char **out, size_t *out_len, size_t *key_index,
                            fernet_status *fst, derr *e);

#endif
