/* SPDX-License-Identifier: Apache-2.0 */
/* fernet.c -- see fernet.h */
#include <config.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "secret/fernet.h"

#define FERNET_VERSION 0x80
#define FERNET_HMAC_BYTES 32
#define FERNET_BLOCK 16
/* version + timestamp + IV */
#define FERNET_HEADER (1 + 8 + FERNET_IV_BYTES)
/* The shortest well-formed token has one block of ciphertext; anything
 * shorter than header + HMAC cannot even be checked. */
#define FERNET_MIN_BYTES (FERNET_HEADER + FERNET_HMAC_BYTES)

const char *fernet_strerror(fernet_status st)
{
    switch (st) {
    case FERNET_OK: return "ok";
    case FERNET_E_ENCODING: return "the token is not padded URL-safe base64";
    case FERNET_E_VERSION: return "the token does not start with the Fernet version byte 0x80";
    case FERNET_E_SHORT: return "the token is too short to hold a Fernet token (truncated?)";
    case FERNET_E_MAC: return "the token's HMAC does not match (wrong key, or the token was altered)";
    case FERNET_E_LENGTH: return "the token's ciphertext is empty or not a whole number of "
                                 "AES blocks";
    case FERNET_E_PADDING: return "the token decrypts to badly padded data";
    case FERNET_E_EXPIRED: return "the token has expired";
    case FERNET_E_FUTURE: return "the token's timestamp is too far in the future";
    case FERNET_E_KEY: return "a Fernet key must be URL-safe base64 of exactly 32 bytes "
                              "(44 characters ending in '=')";
    case FERNET_E_NO_KEY: return "no Fernet key to use";
    case FERNET_E_INTERNAL: return "out of memory or cryptographic library failure";
    }
    return "unknown Fernet error";
}

/* ------------------------------------------------------------------------ */
/* URL-safe base64 on top of OpenSSL's standard base64                       */

static int fernet_b64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int fernet_token_char(int c)
{
    return c == '=' || fernet_b64_value(c) >= 0;
}

/* Decode canonical padded URL-safe base64.  Returns 0 and a malloc'd *out
 * (the caller wipes and frees it), or -1 (malformed) / -2 (no memory). */
static int fernet_b64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
    size_t pads = 0, i, data;
    unsigned char *tmp, *buf;
    int last, n;

    *out = NULL;
    *out_len = 0;
    if (len == 0 || len % 4 != 0 || len > (size_t)INT_MAX)
        return -1;
    while (pads < len && in[len - 1 - pads] == '=')
        pads++;
    if (pads > 2)
        return -1;
    data = len - pads;
    for (i = 0; i < data; i++)
        if (fernet_b64_value((unsigned char)in[i]) < 0)
            return -1;
    /* Unused bits of the last character must be zero (canonical form). */
    last = fernet_b64_value((unsigned char)in[data - 1]);
    if ((pads == 1 && (last & 0x3)) || (pads == 2 && (last & 0xf)))
        return -1;

    tmp = malloc(len + 1);
    buf = malloc(len / 4 * 3 + 1);
    if (!tmp || !buf) {
        free(tmp);
        free(buf);
        return -2;
    }
    for (i = 0; i < len; i++)
        tmp[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : (unsigned char)in[i];
    n = EVP_DecodeBlock(buf, tmp, (int)len);
    OPENSSL_cleanse(tmp, len);
    free(tmp);
    if (n < 0 || (size_t)n != len / 4 * 3) {
        OPENSSL_cleanse(buf, len / 4 * 3 + 1);
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = (size_t)n - pads;
    return 0;
}

/* Encode n bytes as padded URL-safe base64 into out (4 * ceil(n / 3) + 1
 * bytes). */
static void fernet_b64_encode(const unsigned char *in, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    int i;

    for (i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    out[len] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */

fernet_status fernet_key_decode(const char *text, size_t len, fernet_key *out)
{
    unsigned char *raw;
    size_t n;
    int rc = fernet_b64_decode(text, len, &raw, &n);

    if (rc == -2)
        return FERNET_E_INTERNAL;
    if (rc < 0)
        return FERNET_E_KEY;
    if (n != FERNET_KEY_BYTES) {
        OPENSSL_cleanse(raw, n);
        free(raw);
        return FERNET_E_KEY;
    }
    memcpy(out->signing, raw, 16);
    memcpy(out->encryption, raw + 16, 16);
    OPENSSL_cleanse(raw, n);
    free(raw);
    return FERNET_OK;
}

fernet_status fernet_key_generate(fernet_key *out)
{
    unsigned char raw[FERNET_KEY_BYTES];

    if (RAND_bytes(raw, sizeof raw) != 1) {
        OPENSSL_cleanse(raw, sizeof raw);
        return FERNET_E_INTERNAL;
    }
    memcpy(out->signing, raw, 16);
    memcpy(out->encryption, raw + 16, 16);
    OPENSSL_cleanse(raw, sizeof raw);
    return FERNET_OK;
}

void fernet_key_encode(const fernet_key *key, char out[FERNET_KEY_TEXT_LEN + 1])
{
    unsigned char raw[FERNET_KEY_BYTES];

    memcpy(raw, key->signing, 16);
    memcpy(raw + 16, key->encryption, 16);
    fernet_b64_encode(raw, sizeof raw, out);
    OPENSSL_cleanse(raw, sizeof raw);
}

void fernet_key_wipe(fernet_key *key)
{
    if (key)
        OPENSSL_cleanse(key, sizeof *key);
}

/* ------------------------------------------------------------------------ */
/* Tokens                                                                    */

static int fernet_hmac(const fernet_key *key, const unsigned char *data, size_t len,
                       unsigned char mac[FERNET_HMAC_BYTES])
{
    unsigned int mac_len = 0;

    if (!HMAC(EVP_sha256(), key->signing, (int)sizeof key->signing, data, len, mac, &mac_len))
        return -1;
    return mac_len == FERNET_HMAC_BYTES ? 0 : -1;
}

fernet_status fernet_encrypt_at(const fernet_key *key, const void *msg, size_t len,
                                uint64_t timestamp, const unsigned char iv[FERNET_IV_BYTES],
                                char **token)
{
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char *buf = NULL;
    size_t ct_max, total, i;
    int n1 = 0, n2 = 0;
    fernet_status st = FERNET_E_INTERNAL;

    *token = NULL;
    if (len > (size_t)INT_MAX - 2 * FERNET_BLOCK)
        return FERNET_E_INTERNAL;
    ct_max = (len / FERNET_BLOCK + 1) * FERNET_BLOCK;
    total = FERNET_HEADER + ct_max + FERNET_HMAC_BYTES;
    if (!(buf = malloc(total)) || !(ctx = EVP_CIPHER_CTX_new()))
        goto out;
    buf[0] = FERNET_VERSION;
    for (i = 0; i < 8; i++)
        buf[1 + i] = (unsigned char)(timestamp >> (56 - 8 * i));
    memcpy(buf + 9, iv, FERNET_IV_BYTES);
    if (EVP_EncryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, key->encryption, iv) != 1 ||
        EVP_EncryptUpdate(ctx, buf + FERNET_HEADER, &n1, msg, (int)len) != 1 ||
        EVP_EncryptFinal_ex(ctx, buf + FERNET_HEADER + n1, &n2) != 1)
        goto out;
    if ((size_t)n1 + (size_t)n2 != ct_max)
        goto out;
    if (fernet_hmac(key, buf, FERNET_HEADER + ct_max, buf + FERNET_HEADER + ct_max) < 0)
        goto out;
    if (!(*token = malloc((total + 2) / 3 * 4 + 1)))
        goto out;
    fernet_b64_encode(buf, total, *token);
    st = FERNET_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    if (buf) {
        OPENSSL_cleanse(buf, total);
        free(buf);
    }
    return st;
}

fernet_status fernet_encrypt(const fernet_key *key, const void *msg, size_t len, char **token)
{
    unsigned char iv[FERNET_IV_BYTES];
    time_t now = time(NULL);

    *token = NULL;
    if (RAND_bytes(iv, sizeof iv) != 1 || now < 0)
        return FERNET_E_INTERNAL;
    return fernet_encrypt_at(key, msg, len, (uint64_t)now, iv, token);
}

/* Decrypt the verified token `data` with `key`. */
static fernet_status fernet_open(const fernet_key *key, const unsigned char *data, size_t len,
                                 unsigned char **out, size_t *out_len)
{
    size_t ct_len = len - FERNET_HEADER - FERNET_HMAC_BYTES, cap = ct_len + FERNET_BLOCK + 1;
    EVP_CIPHER_CTX *ctx;
    unsigned char *buf;
    int n1 = 0, n2 = 0;
    fernet_status st = FERNET_OK;

    if (ct_len == 0 || ct_len % FERNET_BLOCK != 0)
        return FERNET_E_LENGTH;
    if (ct_len > (size_t)INT_MAX - FERNET_BLOCK)
        return FERNET_E_INTERNAL;
    if (!(buf = malloc(cap)))
        return FERNET_E_INTERNAL;
    if (!(ctx = EVP_CIPHER_CTX_new())) {
        free(buf);
        return FERNET_E_INTERNAL;
    }
    if (EVP_DecryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, key->encryption, data + 9) != 1 ||
        EVP_DecryptUpdate(ctx, buf, &n1, data + FERNET_HEADER, (int)ct_len) != 1)
        st = FERNET_E_INTERNAL;
    else if (EVP_DecryptFinal_ex(ctx, buf + n1, &n2) != 1)
        st = FERNET_E_PADDING;
    EVP_CIPHER_CTX_free(ctx);
    if (st != FERNET_OK) {
        OPENSSL_cleanse(buf, cap);
        free(buf);
        return st;
    }
    *out_len = (size_t)n1 + (size_t)n2;
    /* Keep only the plaintext and its NUL; wipe whatever else was there. */
    OPENSSL_cleanse(buf + *out_len, cap - *out_len);
    buf[*out_len] = '\0';
    *out = buf;
    return FERNET_OK;
}

fernet_status fernet_decrypt_at(const fernet_key *keys, size_t n_keys, const char *token,
                                size_t token_len, int64_t ttl, uint64_t now,
                                unsigned char **out, size_t *out_len, size_t *key_index)
{
    unsigned char *data = NULL, mac[FERNET_HMAC_BYTES];
    size_t len = 0, k;
    uint64_t ts = 0;
    fernet_status st;
    int rc, i;

    *out = NULL;
    *out_len = 0;
    if (n_keys == 0 || !keys)
        return FERNET_E_NO_KEY;
    rc = fernet_b64_decode(token, token_len, &data, &len);
    if (rc == -2)
        return FERNET_E_INTERNAL;
    if (rc < 0)
        return FERNET_E_ENCODING;
    if (len < 1 || data[0] != FERNET_VERSION) {
        st = FERNET_E_VERSION;
        goto out;
    }
    if (len < FERNET_MIN_BYTES) {
        st = FERNET_E_SHORT;
        goto out;
    }
    st = FERNET_E_MAC;
    for (k = 0; k < n_keys; k++) {
        if (fernet_hmac(&keys[k], data, len - FERNET_HMAC_BYTES, mac) < 0) {
            st = FERNET_E_INTERNAL;
            goto out;
        }
        if (CRYPTO_memcmp(mac, data + len - FERNET_HMAC_BYTES, FERNET_HMAC_BYTES) == 0) {
            st = FERNET_OK;
            break;
        }
    }
    if (st != FERNET_OK)
        goto out;
    for (i = 0; i < 8; i++)
        ts = ts << 8 | data[1 + i];
    if (ttl >= 0) {
        if (ts < now && now - ts > (uint64_t)ttl) {
            st = FERNET_E_EXPIRED;
            goto out;
        }
        if (ts > now && ts - now > FERNET_MAX_CLOCK_SKEW) {
            st = FERNET_E_FUTURE;
            goto out;
        }
    }
    st = fernet_open(&keys[k], data, len, out, out_len);
    if (st == FERNET_OK && key_index)
        *key_index = k;
out:
    OPENSSL_cleanse(mac, sizeof mac);
    OPENSSL_cleanse(data, len);
    free(data);
    return st;
}

fernet_status fernet_decrypt(const fernet_key *keys, size_t n_keys, const char *token,
                             size_t token_len, int64_t ttl, unsigned char **out,
                             size_t *out_len, size_t *key_index)
{
    time_t now = time(NULL);

    return fernet_decrypt_at(keys, n_keys, token, token_len, ttl, now < 0 ? 0 : (uint64_t)now,
                             out, out_len, key_index);
}

void fernet_free(void *buf, size_t len)
{
    if (!buf)
        return;
    OPENSSL_cleanse(buf, len + 1);
    free(buf);
}
