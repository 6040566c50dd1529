/* SPDX-License-Identifier: Apache-2.0 */
/* lazylib.c -- see lazylib.h */
#include <config.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "base/lazylib.h"

int lazylib_open(const char *soname, const char *what, const char *package,
                 const char *const *names, void **syms, size_t n, derr *e)
{
    const char *why;
    void *h;
    size_t i;

    dlerror();
    if (!(h = dlopen(soname, RTLD_NOW | RTLD_LOCAL))) {
        why = dlerror();
        derr_set(e, DSRC_E_INTERNAL,
                 "%s needs the shared library %s, which cannot be loaded (%s): install "
                 "it (Debian package '%s')",
                 what, soname, why ? why : "not found", package);
        return -1;
    }
    for (i = 0; i < n; i++) {
        dlerror();
        if (!(syms[i] = dlsym(h, names[i]))) {
            why = dlerror();
            derr_set(e, DSRC_E_INTERNAL,
                     "%s needs the shared library %s, which has no %s (%s): install a "
                     "newer one (Debian package '%s')",
                     what, soname, names[i], why ? why : "symbol not found", package);
            dlclose(h);
            return -1;
        }
    }
    return 0; /* h stays open for the life of the process */
}

/* state: 0 not tried yet, 1 loaded, -1 failed (err says why); set once
 * under lazy_mu, read without the lock after. */
static pthread_mutex_t lazy_mu = PTHREAD_MUTEX_INITIALIZER;

int lazylib_load(lazylib_def *l, derr *e)
{
    int st = atomic_load_explicit(&l->state, memory_order_acquire);
    void *syms[LAZYLIB_MAX_SYMS];

    if (st == 0) {
        pthread_mutex_lock(&lazy_mu);
        if ((st = atomic_load_explicit(&l->state, memory_order_relaxed)) == 0) {
            if (l->n > LAZYLIB_MAX_SYMS) {
                derr_set(&l->err, DSRC_E_INTERNAL, "%s: too many symbols", l->soname);
                st = -1;
            } else
                st = lazylib_open(l->soname, l->what, l->package, l->names, syms, l->n,
                                  &l->err) == 0 ? 1 : -1;
            if (st > 0)
                l->fill(syms);
            atomic_store_explicit(&l->state, st, memory_order_release);
        }
        pthread_mutex_unlock(&lazy_mu);
    }
    if (st < 0)
        derr_set(e, l->err.status, "%s", l->err.msg ? l->err.msg : "cannot load a library");
    return st > 0 ? 0 : -1;
}

static const char *const curl_names[] = {
    "curl_easy_init", "curl_easy_setopt", "curl_easy_perform", "curl_easy_getinfo",
    "curl_easy_cleanup", "curl_easy_strerror", "curl_easy_escape", "curl_free",
    "curl_slist_append", "curl_slist_free_all"};
static lazy_curl_api curl_api;

static void curl_fill(void **s)
{
    LAZY_SET(curl_api.easy_init, s[0]);
    LAZY_SET(curl_api.easy_setopt, s[1]);
    LAZY_SET(curl_api.easy_perform, s[2]);
    LAZY_SET(curl_api.easy_getinfo, s[3]);
    LAZY_SET(curl_api.easy_cleanup, s[4]);
    LAZY_SET(curl_api.easy_strerror, s[5]);
    LAZY_SET(curl_api.easy_escape, s[6]);
    LAZY_SET(curl_api.free, s[7]);
    LAZY_SET(curl_api.slist_append, s[8]);
    LAZY_SET(curl_api.slist_free_all, s[9]);
}

static lazylib_def curl_lib = {
    "libcurl.so.4", "HTTP (the control API client, cloud identities)", "libcurl4",
    curl_names, sizeof curl_names / sizeof *curl_names, curl_fill, 0, {0}};

const lazy_curl_api *lazy_curl(derr *e)
{
    return lazylib_load(&curl_lib, e) == 0 ? &curl_api : NULL;
}

static const char *const expat_names[] = {
    "XML_ParserCreate", "XML_SetUserData", "XML_SetElementHandler",
    "XML_SetCharacterDataHandler", "XML_Parse", "XML_ParserFree"};
static lazy_expat_api expat_api;

static void expat_fill(void **s)
{
    LAZY_SET(expat_api.ParserCreate, s[0]);
    LAZY_SET(expat_api.SetUserData, s[1]);
    LAZY_SET(expat_api.SetElementHandler, s[2]);
    LAZY_SET(expat_api.SetCharacterDataHandler, s[3]);
    LAZY_SET(expat_api.Parse, s[4]);
    LAZY_SET(expat_api.ParserFree, s[5]);
}

static lazylib_def expat_lib = {
    "libexpat.so.1", "Reading AWS STS answers (XML)", "libexpat1", expat_names,
    sizeof expat_names / sizeof *expat_names, expat_fill, 0, {0}};

const lazy_expat_api *lazy_expat(derr *e)
{
    return lazylib_load(&expat_lib, e) == 0 ? &expat_api : NULL;
}

static const char *const seccomp_names[] = {
    "seccomp_init", "seccomp_syscall_resolve_name", "seccomp_rule_add", "seccomp_load",
    "seccomp_release"};
static lazy_seccomp_api seccomp_api;

static void seccomp_fill(void **s)
{
    LAZY_SET(seccomp_api.init, s[0]);
    LAZY_SET(seccomp_api.syscall_resolve_name, s[1]);
    LAZY_SET(seccomp_api.rule_add, s[2]);
    LAZY_SET(seccomp_api.load, s[3]);
    LAZY_SET(seccomp_api.release, s[4]);
}

static lazylib_def seccomp_lib = {
    "libseccomp.so.2", "The plugin worker's system call filter", "libseccomp2",
    seccomp_names, sizeof seccomp_names / sizeof *seccomp_names, seccomp_fill, 0, {0}};

const lazy_seccomp_api *lazy_seccomp(derr *e)
{
    return lazylib_load(&seccomp_lib, e) == 0 ? &seccomp_api : NULL;
}
