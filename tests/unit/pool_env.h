/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pool_env.h -- a test environment for the pool, breaker, router and
 * health tests: a temporary configuration with one source of type "fault"
 * (the fault-injecting plugin), the registry built from it, the plugin's
 * control table, a clock the test moves by hand, and a log sink that keeps
 * the lines the pool writes.
 *
 * Included by one test file each; everything is static.
 */
#ifndef DSRC_TEST_POOL_ENV_H
#define DSRC_TEST_POOL_ENV_H

#include <check.h>
#include <dlfcn.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "base/diag.h"
#include "fault.h"
#include "plugin/loader.h"
#include "plugin/registry.h"

/* Not every test file uses every helper. */
#define ENV_FN static __attribute__((unused))

#ifndef POOL_TEST_BUILDDIR
#define POOL_TEST_BUILDDIR "."
#endif

static char env_tmp[256];
static cfg_config *env_cfg;
static loader_set *env_plugins;
static registry *env_reg;
static diag_list env_diags;
static const registry_source *env_src;
static const fault_api *F;

/* ---- the hand-moved clock (milliseconds) ---- */
static _Atomic int64_t env_now_ms;

ENV_FN int64_t env_clock(void *user)
{
    (void)user;
    return atomic_load(&env_now_ms);
}

ENV_FN void env_advance(int64_t ms)
{
    atomic_fetch_add(&env_now_ms, ms);
}

/* ---- the log sink ---- */
static pthread_mutex_t env_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char env_log_buf[16384];
static int env_log_lines;

ENV_FN void env_log(void *user, dsrc_log_level level, const char *msg)
{
    size_t n;

    (void)user;
    pthread_mutex_lock(&env_log_mu);
    n = strlen(env_log_buf);
    snprintf(env_log_buf + n, sizeof env_log_buf - n, "%d %s\n", (int)level, msg);
    env_log_lines++;
    pthread_mutex_unlock(&env_log_mu);
}

ENV_FN int env_log_has(const char *needle)
{
    int r;

    pthread_mutex_lock(&env_log_mu);
    r = strstr(env_log_buf, needle) != NULL;
    pthread_mutex_unlock(&env_log_mu);
    return r;
}

ENV_FN int env_log_count(void)
{
    int n;

    pthread_mutex_lock(&env_log_mu);
    n = env_log_lines;
    pthread_mutex_unlock(&env_log_mu);
    return n;
}

ENV_FN void env_log_clear(void)
{
    pthread_mutex_lock(&env_log_mu);
    env_log_buf[0] = '\0';
    env_log_lines = 0;
    pthread_mutex_unlock(&env_log_mu);
}

/* ---- real time ---- */
ENV_FN int64_t env_real_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

ENV_FN void env_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/* Poll `cond` every millisecond for up to `ms`; true when it held. */
#define env_wait_for(cond, ms)                                                  \
    ({                                                                          \
        int64_t end_ = env_real_ms() + (ms);                                    \
        while (!(cond) && env_real_ms() < end_)                                 \
            env_sleep_ms(1);                                                    \
        (cond) ? 1 : 0;                                                         \
    })

/* ---- set-up ---- */
ENV_FN int env_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* Build a configuration whose only source, "s", has type "fault" and the
 * settings in `extra` (libconfig text, e.g. replicas or pool groups), and
 * load it.  The plugin's control table lands in F, reset. */
ENV_FN void env_start(const char *extra)
{
    const char *top = getenv("top_builddir");
    const char *t = getenv("TMPDIR");
    char path[512];
    FILE *fp;
    void *h;
    fault_api_fn fn;

    snprintf(env_tmp, sizeof env_tmp, "%s/dsrc-pool-XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(env_tmp));
    snprintf(path, sizeof path, "%s/dsrcd.conf", env_tmp);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp, "plugin_dir = \"%s/tests/fixtures/plugins/.libs\";\n",
            top && *top ? top : POOL_TEST_BUILDDIR);
    fclose(fp);
    snprintf(path, sizeof path, "%s/sources.d", env_tmp);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/sources.d/s.conf", env_tmp);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp, "name = \"s\";\ntype = \"fault\";\nconnection = { host = \"primary\"; };\n%s\n",
            extra ? extra : "");
    fclose(fp);

    snprintf(path, sizeof path, "%s/dsrcd.conf", env_tmp);
    memset(&env_diags, 0, sizeof env_diags);
    env_cfg = cfg_load(path, &env_diags);
    ck_assert_ptr_nonnull(env_cfg);
    env_plugins = loader_new((const char *const *)env_cfg->plugin_dirs, env_cfg->n_plugin_dirs);
    ck_assert_ptr_nonnull(env_plugins);
    env_reg = registry_build(env_cfg, env_plugins, &env_diags);
    ck_assert_ptr_nonnull(env_reg);
    if (env_diags.n_errors)
        diag_print(&env_diags, stderr);
    ck_assert_uint_eq(env_diags.n_errors, 0);
    env_src = registry_find(env_reg, "s");
    ck_assert_ptr_nonnull(env_src);

    h = dlopen(loader_path(env_src->plugin), RTLD_NOW | RTLD_NOLOAD);
    ck_assert_msg(h != NULL, "fault.so is not loaded: %s", dlerror());
    *(void **)&fn = dlsym(h, FAULT_API_SYMBOL);
    ck_assert_ptr_nonnull(fn);
    F = fn();
    dlclose(h);
    F->reset();
    atomic_store(&env_now_ms, 1000000);
    env_log_clear();
}

ENV_FN void env_stop(void)
{
    if (F)
        F->release();
    registry_free(env_reg);
    loader_free(env_plugins);
    cfg_free(env_cfg);
    diag_free(&env_diags);
    env_reg = NULL;
    env_plugins = NULL;
    env_cfg = NULL;
    env_src = NULL;
    F = NULL;
    if (env_tmp[0])
        nftw(env_tmp, env_rm, 8, FTW_DEPTH | FTW_PHYS);
    env_tmp[0] = '\0';
}

/* Pool knobs for tests: small, no timers unless a test sets them. */
ENV_FN cfg_pool env_pool_cfg(int max_size, int min_idle)
{
    cfg_pool c;

    memset(&c, 0, sizeof c);
    c.max_size = max_size;
    c.min_idle = min_idle;
    c.acquire_timeout_ms = 10000;
    c.idle_timeout_ms = 0;
    c.max_lifetime_ms = 0;
    c.keepalive_ms = 0;
    c.validate_after_ms = 500;
    c.leak_threshold_ms = 0;
    return c;
}

ENV_FN fault_stats env_fstats(const char *host)
{
    fault_stats st;

    F->stats(host, &st);
    return st;
}

#define ck_msg_has(msg, needle)                                                 \
    ck_assert_msg((msg) && strstr((msg), (needle)), "message \"%s\" lacks \"%s\"", \
                  (msg) ? (msg) : "(null)", (needle))

#endif
