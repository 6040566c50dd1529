/* SPDX-License-Identifier: Apache-2.0 */
/* secmem.c -- see secmem.h */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "secret/secmem.h"

/* Stored at the start of the mapping; the caller's bytes follow. */
typedef struct secmem_head {
    size_t map_len;
    size_t pad;             /* keeps the caller's bytes 16-byte aligned   */
} secmem_head;

void *secmem_alloc(size_t n)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t len;
    secmem_head *h;

    if (page <= 0)
        page = 4096;
    if (n > SIZE_MAX - sizeof *h - (size_t)page) {
        errno = ENOMEM;
        return NULL;
    }
    len = (n + sizeof *h + (size_t)page - 1) / (size_t)page * (size_t)page;
    h = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (h == MAP_FAILED)
        return NULL;
    if (madvise(h, len, MADV_DONTDUMP) < 0) {
        int err = errno;
        munmap(h, len);
        errno = err;
        return NULL;
    }
    (void)mlock(h, len);    /* best effort: RLIMIT_MEMLOCK may refuse */
    h->map_len = len;
    return h + 1;
}

char *secmem_strdup(const char *s)
{
    size_t n;
    char *d;

    if (!s)
        return NULL;
    n = strlen(s) + 1;
    if ((d = secmem_alloc(n)))
        memcpy(d, s, n);
    return d;
}

void secmem_free(void *p)
{
    secmem_head *h;
    size_t len;

    if (!p)
        return;
    h = (secmem_head *)p - 1;
    len = h->map_len;
    OPENSSL_cleanse(h, len);
    munlock(h, len);
    munmap(h, len);
}
