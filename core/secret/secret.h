/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secret.h -- resolving the value of a secret option.
 *
 * A secret option's value as written in the configuration is one of
 *   fernet:TOKEN  a Fernet token, decrypted with the keyring (keyring.h);
 *   env:NAME      the environment variable NAME (must be set);
 *   file:PATH     the content of the file PATH (an absolute path to a
 *                 regular file that group and others cannot access), one
 *                 trailing newline ("\n" or "\r\n") stripped;
 *   anything else a plain value, used as it is; the caller warns once that
 *                 it should be encrypted.
 * A value starting with one of these prefixes is always a reference.
 *
 * Every resolved value is registered with redact_add() before it is
 * returned, so no log line or message can show it.  Messages name the kind
 * of reference, the variable or the file, never a value or a token.
 *
 * Ownership: a resolved value belongs to the caller, who wipes and frees it
 * with secret_free() as soon as it is no longer needed.
 */
#ifndef DSRC_CORE_SECRET_H
#define DSRC_CORE_SECRET_H

#include <stddef.h>

#include "base/error.h"
#include "secret/keyring.h"

#define SECRET_MAX_FILE (1024 * 1024) /* largest file: value               */

typedef enum secret_kind {
    SECRET_PLAIN = 0,
    SECRET_FERNET = 1,
    SECRET_ENV = 2,
    SECRET_FILE = 3
} secret_kind;

/* The kind of a configured value, by its prefix; NULL is SECRET_PLAIN. */
secret_kind secret_kind_of(const char *value);

/* 1 when value is a reference (fernet:, env: or file:), else 0.  The
 * registry uses it to refuse a reference in an option that is not secret. */
int secret_is_reference(const char *value);

/* "plain", "fernet", "env" or "file". */
const char *secret_kind_name(secret_kind kind);

/* Resolve `value`.  A fernet: value is decrypted with `kr` when not NULL;
 * otherwise the keyring is found with keyring_load(key_file) for this call
 * only (key_file may be NULL).  Returns DSRC_OK with the NUL-terminated
 * value in *out (release with secret_free()) and its kind in *kind (may be
 * NULL; SECRET_PLAIN tells the caller to warn), or fills e with the reason
 * (DSRC_E_INVALID_CONFIG, DSRC_E_NOT_FOUND for a missing variable or file,
 * DSRC_E_PERMISSION for a file that is not private or not readable,
 * DSRC_E_INTERNAL) and sets *out to NULL.  A value containing a NUL byte is
 * refused. */
dsrc_status secret_resolve(const char *value, const keyring *kr, const char *key_file,
                           char **out, secret_kind *kind, derr *e);

/* Check, without resolving it, what configuration checks can tell of a
 * reference: a file: reference must be an absolute path to an existing
 * regular file, an env: reference must name a valid variable (whether it
 * is set is known only where the value is resolved).  Plain and fernet:
 * values pass.  Returns DSRC_OK, or fills e as secret_resolve() would
 * (the message names the file or variable, never a value). */
dsrc_status secret_check_reference(const char *value, derr *e);

/* Wipe (OPENSSL_cleanse) and free a value from secret_resolve(); NULL is
 * ignored. */
void secret_free(char *value);

/* Read a private file: a regular file that group and others can neither
 * read nor write (except that group may read a file owned by root), at
 * most `max` bytes.  `what` names it in messages ("key
 * file").  Returns DSRC_OK with a malloc'd buffer of *len bytes plus a NUL
 * in *buf (release with secret_free_buf()), or fills e: DSRC_E_NOT_FOUND
 * when missing, DSRC_E_PERMISSION when unreadable or too open (the message
 * says to run chmod 600), DSRC_E_INVALID_CONFIG when not a regular file or
 * too large. */
dsrc_status secret_read_private_file(const char *path, const char *what, size_t max,
                                     char **buf, size_t *len, derr *e);

/* Wipe len + 1 bytes of buf and free it; NULL is ignored. */
void secret_free_buf(char *buf, size_t len);

#endif
