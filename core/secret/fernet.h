/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fernet.h -- Fernet tokens (OpenSSL 3).
 *
 * A token is the URL-safe base64 encoding, with '=' padding, of
 *   0x80 | timestamp (64-bit big-endian seconds) | IV (16) |
 *   AES-128-CBC ciphertext with PKCS#7 padding | HMAC-SHA256 (32)
 * where the HMAC covers every byte before it.  A 32-byte key is split in a
 * signing key (first 16 bytes) and an encryption key (last 16).  Decryption
 * checks the MAC, in constant time, before anything is decrypted.
 *
 * Tokens are decoded as Python's base64.urlsafe_b64decode decodes them, with
 * '=' padding required, except that characters outside the URL-safe
 * alphabet and non-zero unused trailing bits are refused instead of being
 * skipped: no Fernet implementation produces them.
 *
 * Errors are fernet_status codes; fernet_strerror() gives a message that
 * never contains a key, a token or a plaintext.  Key material held in a
 * fernet_key must be wiped with fernet_key_wipe(); plaintexts returned by
 * fernet_decrypt() must be released with fernet_free().
 */
#ifndef DSRC_CORE_FERNET_H
#define DSRC_CORE_FERNET_H

#include <stddef.h>
#include <stdint.h>

#define FERNET_KEY_BYTES 32     /* raw key                                  */
#define FERNET_KEY_TEXT_LEN 44  /* its URL-safe base64 form                 */
#define FERNET_IV_BYTES 16
#define FERNET_MAX_CLOCK_SKEW 60 /* seconds, as Python's cryptography      */
#define FERNET_NO_TTL (-1)       /* ttl argument: no age limit              */

typedef enum fernet_status {
    FERNET_OK = 0,
    FERNET_E_ENCODING = 1,  /* not padded URL-safe base64                   */
    FERNET_E_VERSION = 2,   /* first byte is not 0x80                       */
    FERNET_E_SHORT = 3,     /* shorter than version, timestamp, IV and HMAC */
    FERNET_E_MAC = 4,       /* HMAC mismatch: wrong key, or token altered   */
    FERNET_E_LENGTH = 5,    /* ciphertext empty or not whole AES blocks     */
    FERNET_E_PADDING = 6,   /* bad PKCS#7 padding after decryption          */
    FERNET_E_EXPIRED = 7,   /* older than the TTL                           */
    FERNET_E_FUTURE = 8,    /* timestamp more than 60 s in the future       */
    FERNET_E_KEY = 9,       /* a key is not base64 of exactly 32 bytes      */
    FERNET_E_NO_KEY = 10,   /* an empty key list                            */
    FERNET_E_INTERNAL = 11  /* allocation or OpenSSL failure                */
} fernet_status;

typedef struct fernet_key {
    unsigned char signing[16];
    unsigned char encryption[16];
} fernet_key;

/* A short message for a status (static string, never containing data). */
const char *fernet_strerror(fernet_status st);

/* Decode a key from its URL-safe base64 text (len bytes, not necessarily
 * NUL-terminated).  Returns FERNET_OK, or FERNET_E_KEY when the text is
 * not canonical padded base64 of exactly 32 bytes. */
fernet_status fernet_key_decode(const char *text, size_t len, fernet_key *out);

/* Make a new random key (RAND_bytes).  Returns FERNET_OK or
 * FERNET_E_INTERNAL. */
fernet_status fernet_key_generate(fernet_key *out);

/* The 44-character text of a key, NUL-terminated, in `out` (45 bytes).
 * The caller wipes `out` when done. */
void fernet_key_encode(const fernet_key *key, char out[FERNET_KEY_TEXT_LEN + 1]);

/* Wipe a key (OPENSSL_cleanse). */
void fernet_key_wipe(fernet_key *key);

/* Encrypt `len` bytes with an explicit timestamp and IV (for the spec's
 * vectors and tests).  On FERNET_OK, *token is a malloc'd NUL-terminated
 * token the caller frees; on error *token is NULL. */
fernet_status fernet_encrypt_at(const fernet_key *key, const void *msg, size_t len,
                                uint64_t timestamp, const unsigned char iv[FERNET_IV_BYTES],
                                char **token);

/* Encrypt with the current time and a random IV.  As fernet_encrypt_at(). */
fernet_status fernet_encrypt(const fernet_key *key, const void *msg, size_t len,
                             char **token);

/* Decrypt `token` (token_len bytes) with the first of `keys` whose MAC
 * verifies.  With ttl >= 0, a token whose timestamp + ttl < now is
 * FERNET_E_EXPIRED and one more than 60 s after now is FERNET_E_FUTURE; with
 * FERNET_NO_TTL the timestamp is not checked (as Python's cryptography).
 * On FERNET_OK, *out is a malloc'd buffer of *out_len bytes plus a NUL the
 * caller releases with fernet_free(), and *key_index (may be NULL) is the
 * index of the key that verified.  On error *out is NULL and *out_len 0. */
fernet_status fernet_decrypt_at(const fernet_key *keys, size_t n_keys, const char *token,
                                size_t token_len, int64_t ttl, uint64_t now,
                                unsigned char **out, size_t *out_len, size_t *key_index);

/* fernet_decrypt_at() with now = the current time. */
fernet_status fernet_decrypt(const fernet_key *keys, size_t n_keys, const char *token,
                             size_t token_len, int64_t ttl, unsigned char **out,
                             size_t *out_len, size_t *key_index);

/* Wipe `len` bytes of a buffer from fernet_decrypt() (and its NUL) and
 * free it.  NULL is ignored. */
void fernet_free(void *buf, size_t len);

/* 1 when c may appear in a token (URL-safe base64 alphabet or '='). */
int fernet_token_char(int c);

#endif
