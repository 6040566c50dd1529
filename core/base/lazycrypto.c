/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lazycrypto.c -- the host's libcrypto calls, with libcrypto opened on the
 * first one (see lazylib.h).
 *
 * libcrypto is the largest library the host uses, and Debian builds it
 * with -z now: loaded at start, its 3 000 symbol bindings cost more than
 * everything else a short dsrc command does.  Few commands need it
 * (secrets, hashes of files and catalogs, signatures, masked columns), so
 * dsrc and dsrcd do not link it: each function the host calls is defined here with
 * OpenSSL's prototype and calls the real one, looked up once.  These
 * definitions are not exported (the programs export no symbol), so a
 * plugin that links libcrypto itself uses the real functions.
 *
 * libcrypto that cannot be loaded is fatal: the message names the library
 * and its package on stderr and the process exits 70 (EX_SOFTWARE).  Two
 * calls do not load it: OPENSSL_thread_stop() (when libcrypto is not in
 * the process, no thread used it; when a plugin's client library loaded
 * it, the thread's state is freed through the real call) and OPENSSL_cleanse() before it is loaded
 * (explicit_bzero(), which does the same).
 */
#include <config.h>

/* SHA256_Init/Update/Final (output/mask.c) are deprecated in OpenSSL 3.0 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <link.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "base/lazylib.h"

/* X(name): every function the host calls, in one list for the names and
 * their indexes. */
#define LAZY_CRYPTO_FUNCS                                                                  \
    X(BIO_free) X(BIO_new_mem_buf) X(CRYPTO_memcmp) X(EVP_CIPHER_CTX_free)                 \
    X(EVP_CIPHER_CTX_new) X(EVP_DecodeBlock) X(EVP_DecryptFinal_ex) X(EVP_DecryptInit_ex)  \
    X(EVP_DecryptUpdate) X(EVP_Digest) X(EVP_DigestFinal_ex) X(EVP_DigestInit_ex)          \
    X(EVP_DigestSign) X(EVP_DigestSignInit) X(EVP_DigestUpdate) X(EVP_EncodeBlock)         \
    X(EVP_EncryptFinal_ex) X(EVP_EncryptInit_ex) X(EVP_EncryptUpdate) X(EVP_MD_CTX_copy_ex) \
    X(EVP_MD_CTX_free) X(EVP_MD_CTX_new) X(EVP_PKEY_free) X(EVP_PKEY_is_a)                 \
    X(EVP_aes_128_cbc) X(EVP_sha256) X(HMAC) X(OPENSSL_cleanse) X(OPENSSL_thread_stop)     \
    X(PEM_read_bio_PrivateKey) X(RAND_bytes) X(SHA256) X(SHA256_Final) X(SHA256_Init)   \
    X(SHA256_Update) X(SHA256_Transform) X(PEM_read_bio_X509) X(X509_free) X(X509_get0_notAfter)           \
    X(ASN1_TIME_to_tm) X(X509_check_private_key) X(ERR_clear_error)

enum {
#define X(f) LC_##f,
    LAZY_CRYPTO_FUNCS
#undef X
    LC_N
};

static const char *const crypto_names[LC_N] = {
#define X(f) #f,
    LAZY_CRYPTO_FUNCS
#undef X
};

static void *crypto_syms[LC_N];
static atomic_int crypto_loaded;

static void crypto_fill(void **s)
{
    memcpy(crypto_syms, s, sizeof crypto_syms);
}

static lazylib_def crypto_lib = {
    "libcrypto.so.3", "Cryptography (secrets, hashes, signatures)", "libssl3", crypto_names,
    LC_N, crypto_fill, 0, {0}};

/* The address of function i, libcrypto loaded if it is not yet. */
static void *crypto_fn(int i)
{
    derr e = {0};

    if (!atomic_load_explicit(&crypto_loaded, memory_order_acquire)) {
        if (lazylib_load(&crypto_lib, &e) != 0) {
            fprintf(stderr, "dsrc: %s\n", e.msg ? e.msg : "cannot load libcrypto.so.3");
            exit(70);
        }
        atomic_store_explicit(&crypto_loaded, 1, memory_order_release);
    }
    return crypto_syms[i];
}

/* f: the real function `name` (of the type of its prototype above). */
#define REAL(name, f)                                                                      \
    __typeof__(&name) f;                                                                   \
    do {                                                                                   \
        void *p_ = crypto_fn(LC_##name);                                                   \
        memcpy(&f, &p_, sizeof f);                                                         \
    } while (0)

int BIO_free(BIO *a)
{
    REAL(BIO_free, f);
    return f(a);
}

BIO *BIO_new_mem_buf(const void *buf, int len)
{
    REAL(BIO_new_mem_buf, f);
    return f(buf, len);
}

int CRYPTO_memcmp(const void *a, const void *b, size_t len)
{
    REAL(CRYPTO_memcmp, f);
    return f(a, b, len);
}

void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *c)
{
    REAL(EVP_CIPHER_CTX_free, f);
    f(c);
}

EVP_CIPHER_CTX *EVP_CIPHER_CTX_new(void)
{
    REAL(EVP_CIPHER_CTX_new, f);
    return f();
}

int EVP_DecodeBlock(unsigned char *t, const unsigned char *fr, int n)
{
    REAL(EVP_DecodeBlock, f);
    return f(t, fr, n);
}

int EVP_DecryptFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *outm, int *outl)
{
    REAL(EVP_DecryptFinal_ex, f);
    return f(ctx, outm, outl);
}

int EVP_DecryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher, ENGINE *impl,
                       const unsigned char *key, const unsigned char *iv)
{
    REAL(EVP_DecryptInit_ex, f);
    return f(ctx, cipher, impl, key, iv);
}

int EVP_DecryptUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl,
                      const unsigned char *in, int inl)
{
    REAL(EVP_DecryptUpdate, f);
    return f(ctx, out, outl, in, inl);
}

int EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
               const EVP_MD *type, ENGINE *impl)
{
    REAL(EVP_Digest, f);
    return f(data, count, md, size, type, impl);
}

int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s)
{
    REAL(EVP_DigestFinal_ex, f);
    return f(ctx, md, s);
}

int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl)
{
    REAL(EVP_DigestInit_ex, f);
    return f(ctx, type, impl);
}

int EVP_DigestSign(EVP_MD_CTX *ctx, unsigned char *sigret, size_t *siglen,
                   const unsigned char *tbs, size_t tbslen)
{
    REAL(EVP_DigestSign, f);
    return f(ctx, sigret, siglen, tbs, tbslen);
}

int EVP_DigestSignInit(EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e,
                       EVP_PKEY *pkey)
{
    REAL(EVP_DigestSignInit, f);
    return f(ctx, pctx, type, e, pkey);
}

int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt)
{
    REAL(EVP_DigestUpdate, f);
    return f(ctx, d, cnt);
}

int EVP_EncodeBlock(unsigned char *t, const unsigned char *fr, int n)
{
    REAL(EVP_EncodeBlock, f);
    return f(t, fr, n);
}

int EVP_EncryptFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl)
{
    REAL(EVP_EncryptFinal_ex, f);
    return f(ctx, out, outl);
}

int EVP_EncryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher, ENGINE *impl,
                       const unsigned char *key, const unsigned char *iv)
{
    REAL(EVP_EncryptInit_ex, f);
    return f(ctx, cipher, impl, key, iv);
}

int EVP_EncryptUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl,
                      const unsigned char *in, int inl)
{
    REAL(EVP_EncryptUpdate, f);
    return f(ctx, out, outl, in, inl);
}

int EVP_MD_CTX_copy_ex(EVP_MD_CTX *out, const EVP_MD_CTX *in)
{
    REAL(EVP_MD_CTX_copy_ex, f);
    return f(out, in);
}

void EVP_MD_CTX_free(EVP_MD_CTX *ctx)
{
    REAL(EVP_MD_CTX_free, f);
    f(ctx);
}

EVP_MD_CTX *EVP_MD_CTX_new(void)
{
    REAL(EVP_MD_CTX_new, f);
    return f();
}

void EVP_PKEY_free(EVP_PKEY *pkey)
{
    REAL(EVP_PKEY_free, f);
    f(pkey);
}

int EVP_PKEY_is_a(const EVP_PKEY *pkey, const char *name)
{
    REAL(EVP_PKEY_is_a, f);
    return f(pkey, name);
}

const EVP_CIPHER *EVP_aes_128_cbc(void)
{
    REAL(EVP_aes_128_cbc, f);
    return f();
}

const EVP_MD *EVP_sha256(void)
{
    REAL(EVP_sha256, f);
    return f();
}

unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len,
                    const unsigned char *data, size_t data_len, unsigned char *md,
                    unsigned int *md_len)
{
    REAL(HMAC, f);
    return f(evp_md, key, key_len, data, data_len, md, md_len);
}

void OPENSSL_cleanse(void *ptr, size_t len)
{
    if (!atomic_load_explicit(&crypto_loaded, memory_order_acquire)) {
        explicit_bzero(ptr, len);
        return;
    }
    {
        REAL(OPENSSL_cleanse, f);
        f(ptr, len);
    }
}

/* dl_iterate_phdr() callback: 1 when the object is libcrypto (looked for
 * among the loaded objects rather than with dlopen(RTLD_NOLOAD), which
 * would search the library path at every thread's end). */
static int crypto_is_loaded(struct dl_phdr_info *info, size_t size, void *arg)
{
    const char *slash;

    (void)size;
    (void)arg;
    if (!info->dlpi_name || !*info->dlpi_name)
        return 0;
    slash = strrchr(info->dlpi_name, '/');
    return strcmp(slash ? slash + 1 : info->dlpi_name, crypto_lib.soname) == 0;
}

void OPENSSL_thread_stop(void)
{
    if (!atomic_load_explicit(&crypto_loaded, memory_order_acquire)) {
        /* Not loaded by the host, but maybe by a plugin's client library
         * (libpq, libcurl through libssl), whose calls on this thread
         * left state that only this frees. */
        if (dl_iterate_phdr(crypto_is_loaded, NULL) == 0)
            return; /* not in the process: the thread never used it */
    }
    {
        REAL(OPENSSL_thread_stop, f);
        f();
    }
}

EVP_PKEY *PEM_read_bio_PrivateKey(BIO *bp, EVP_PKEY **x, pem_password_cb *cb, void *u)
{
    REAL(PEM_read_bio_PrivateKey, f);
    return f(bp, x, cb, u);
}

int RAND_bytes(unsigned char *buf, int num)
{
    REAL(RAND_bytes, f);
    return f(buf, num);
}

unsigned char *SHA256(const unsigned char *d, size_t n, unsigned char *md)
{
    REAL(SHA256, f);
    return f(d, n, md);
}

int SHA256_Final(unsigned char *md, SHA256_CTX *c)
{
    REAL(SHA256_Final, f);
    return f(md, c);
}

int SHA256_Init(SHA256_CTX *c)
{
    REAL(SHA256_Init, f);
    return f(c);
}

int SHA256_Update(SHA256_CTX *c, const void *data, size_t len)
{
    REAL(SHA256_Update, f);
    return f(c, data, len);
}

void SHA256_Transform(SHA256_CTX *c, const unsigned char *data)
{
    REAL(SHA256_Transform, f);
    f(c, data);
}

X509 *PEM_read_bio_X509(BIO *bp, X509 **x, pem_password_cb *cb, void *u)
{
    REAL(PEM_read_bio_X509, f);
    return f(bp, x, cb, u);
}

void X509_free(X509 *a)
{
    REAL(X509_free, f);
    f(a);
}

const ASN1_TIME *X509_get0_notAfter(const X509 *x)
{
    REAL(X509_get0_notAfter, f);
    return f(x);
}

int ASN1_TIME_to_tm(const ASN1_TIME *s, struct tm *tm)
{
    REAL(ASN1_TIME_to_tm, f);
    return f(s, tm);
}

int X509_check_private_key(const X509 *x, const EVP_PKEY *k)
{
    REAL(X509_check_private_key, f);
    return f(x, k);
}

void ERR_clear_error(void)
{
    REAL(ERR_clear_error, f);
    f();
}
