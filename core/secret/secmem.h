/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secmem.h -- memory for secrets that outlive a call (Fernet keys, the
 * values redaction looks for).
 *
 * Each allocation is its own page-aligned anonymous mapping, marked
 * MADV_DONTDUMP (left out of core dumps) and locked with mlock() when the
 * RLIMIT_MEMLOCK allows it (never written to swap; best effort, silently
 * skipped otherwise).  dsrcd is also not dumpable (dsrcd.c); this covers a
 * core taken anyway (gcore as root, a kernel core_pattern pipe) and every
 * other program that links the core.
 *
 * Ownership: whoever allocates frees with secmem_free(), which wipes the
 * whole allocation before unmapping it.
 */
#ifndef DSRC_CORE_SECMEM_H
#define DSRC_CORE_SECMEM_H

#include <stddef.h>

/* n zeroed bytes (n may be 0), or NULL with errno set. */
void *secmem_alloc(size_t n);

/* A copy of s in secmem, or NULL (s NULL, or no memory). */
char *secmem_strdup(const char *s);

/* Wipe and release; NULL is ignored. */
void secmem_free(void *p);

#endif
