/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lazylib.h -- shared libraries the host loads on the first call that
 * needs them.
 *
 * dsrc and dsrcd link only what every run needs.  A library used by a few
 * commands is opened with dlopen() the first time one of them runs, so
 * that a run that does not need it does not pay for loading it (and for
 * the libraries it brings):
 *   - libcurl: the API client (dsrc --api, the commands that talk to
 *     dsrcd) and the cloud identities' token endpoints (cloud_http.h);
 *   - expat: AWS STS answers (identity_aws.c);
 *   - libseccomp: the system call filter of a plugin worker process;
 *   - libcrypto: secrets, hashes, signatures (lazycrypto.c defines the
 *     functions the host calls, each calling the real one).
 *
 * Each accessor returns the library's functions, or NULL with an error
 * that names the library, why it could not be loaded and the Debian
 * package that provides it (DSRC_E_INTERNAL).  A library is opened once
 * per process (thread-safe); a failure is remembered and reported again
 * on every later call.
 */
#ifndef DSRC_CORE_LAZYLIB_H
#define DSRC_CORE_LAZYLIB_H

#include <stdatomic.h>

#include <curl/curl.h>
#include <expat.h>
#include <seccomp.h>

#include "base/error.h"

typedef struct lazy_curl_api {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *h);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *h);
    const char *(*easy_strerror)(CURLcode rc);
    char *(*easy_escape)(CURL *h, const char *s, int len);
    void (*free)(void *p);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
} lazy_curl_api;

typedef struct lazy_expat_api {
    XML_Parser (*ParserCreate)(const XML_Char *encoding);
    void (*SetUserData)(XML_Parser p, void *user);
    void (*SetElementHandler)(XML_Parser p, XML_StartElementHandler start,
                              XML_EndElementHandler end);
    void (*SetCharacterDataHandler)(XML_Parser p, XML_CharacterDataHandler h);
    enum XML_Status (*Parse)(XML_Parser p, const char *s, int len, int is_final);
    void (*ParserFree)(XML_Parser p);
} lazy_expat_api;

typedef struct lazy_seccomp_api {
    scmp_filter_ctx (*init)(uint32_t def_action);
    int (*syscall_resolve_name)(const char *name);
    int (*rule_add)(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt,
                    ...);
    int (*load)(const scmp_filter_ctx ctx);
    void (*release)(scmp_filter_ctx ctx);
} lazy_seccomp_api;

const lazy_curl_api *lazy_curl(derr *e);
const lazy_expat_api *lazy_expat(derr *e);
const lazy_seccomp_api *lazy_seccomp(derr *e);

/* One library loaded on first use: its soname, what it is for (the
 * message's start), its Debian package, the n symbols to look up (at most
 * LAZYLIB_MAX_SYMS), and fill(), called once with their addresses (in the
 * order of names) before any caller sees the library loaded.  state and
 * err: zero-initialised, lazylib_load()'s own. */
#define LAZYLIB_MAX_SYMS 64

/* In fill(): set a function pointer field from dlsym()'s void *, the way
 * POSIX prescribes (through a void ** to the pointer). */
#define LAZY_SET(field, sym) (*(void **)(&(field)) = (sym))
typedef struct lazylib_def {
    const char *soname, *what, *package;
    const char *const *names;
    size_t n;
    void (*fill)(void **syms);
    atomic_int state;
    derr err;
} lazylib_def;

/* Load l once per process (thread-safe): 0, or -1 with e set (the same
 * error every time after a failure). */
int lazylib_load(lazylib_def *l, derr *e);

/* The mechanism, for the tests: open `soname` and look up the n symbols of
 * `names` into syms[].  0, or -1 with e set as above ("what" says what the
 * library is for, `package` which Debian package has it). */
int lazylib_open(const char *soname, const char *what, const char *package,
                 const char *const *names, void **syms, size_t n, derr *e);

#endif
