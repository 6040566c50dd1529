/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_loader.c -- the plugin loader and the host services it hands out.
 *
 * The test plugins are built in tests/fixtures/plugins/ (libtool puts the
 * .so files in its .libs/ directory); files that are not libraries at all
 * are written by the tests into a temporary directory.  Every refusal is
 * checked for its status, for the file's path and for its specific reason,
 * and for the library having been closed again.
 */
#include <config.h>

#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/ctx.h"
#include "base/error.h"
#include "plugin/loader.h"

#ifndef LOADER_TEST_BUILDDIR
#define LOADER_TEST_BUILDDIR "."
#endif

static char *t_fixdir; /* .../tests/fixtures/plugins/.libs */
static char t_tmpdir[4096]; /* $TMPDIR/dsrc-loader-XXXXXX */
static int t_have_tmpdir;

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static char *t_strdup_printf(const char *fmt, ...) DSRC_PRINTF(1, 2);
static char *t_strdup_printf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    return s;
}

static char *t_fixture(const char *name)
{
    return t_strdup_printf("%s/%s.so", t_fixdir, name);
}

static char *t_tmpfile(const char *name)
{
    return t_strdup_printf("%s/%s", t_tmpdir, name);
}

static void t_write(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    ck_assert_msg(fd >= 0, "cannot create %s: %s", path, strerror(errno));
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* Copy a file (a fresh inode, unlike a link). */
static void t_copy(const char *from, const char *to)
{
    char buf[65536];
    ssize_t n;
    int in = open(from, O_RDONLY), out;

    ck_assert_msg(in >= 0, "cannot open %s: %s", from, strerror(errno));
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    ck_assert_msg(out >= 0, "cannot create %s: %s", to, strerror(errno));
    while ((n = read(in, buf, sizeof buf)) > 0)
        ck_assert_int_eq(write(out, buf, (size_t)n), n);
    ck_assert_int_eq(n, 0);
    close(in);
    close(out);
}

/* 1 when the system loader has `path` mapped in this process. */
static int t_resident(const char *path)
{
    void *h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);

    if (!h)
        return 0;
    dlclose(h);
    return 1;
}

#define t_assert_msg_has(e, needle)                                           \
    ck_assert_msg((e)->msg && strstr((e)->msg, (needle)),                     \
                  "message \"%s\" lacks \"%s\"", (e)->msg ? (e)->msg : "(null)", \
                  (needle))

/* Load `path` as plugin `name` through a fresh set searching `dir`, and
 * check it is refused with `reason`, naming the path, and left unloaded. */
static void t_assert_refused(const char *dir, const char *name, const char *reason)
{
    const char *dirs[1] = {dir};
    char *path = t_strdup_printf("%s/%s.so", dir, name);
    loader_set *set = loader_new(dirs, 1);
    loader_plugin *p = NULL;
    derr e = {0};
    dsrc_status st;

    ck_assert_ptr_nonnull(set);
    st = loader_get(set, name, &p, &e);
    ck_assert_msg(st == DSRC_E_INVALID_CONFIG, "%s: status %s, expected invalid-config (%s)",
                  path, error_status_name(st), e.msg ? e.msg : "no message");
    ck_assert_int_eq(e.status, DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_null(p);
    t_assert_msg_has(&e, path);
    t_assert_msg_has(&e, reason);
    ck_assert_msg(strncmp(e.msg, path, strlen(path)) == 0,
                  "message \"%s\" does not start with the path", e.msg);
    ck_assert_msg(!t_resident(path), "%s is still loaded after the refusal", path);
    derr_clear(&e);

    /* Loading the file directly gives the same refusal. */
    st = loader_load_file(set, path, NULL, &p, &e);
    ck_assert_int_eq(st, DSRC_E_INVALID_CONFIG);
    t_assert_msg_has(&e, path);
    t_assert_msg_has(&e, reason);
    derr_clear(&e);

    loader_free(set);
    free(path);
}

static int t_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_DP || flag == FTW_D)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static void t_setup(void)
{
    const char *top = getenv("top_builddir");
    const char *tmp = getenv("TMPDIR");

    t_fixdir = t_strdup_printf("%s/tests/fixtures/plugins/.libs",
                               top && *top ? top : LOADER_TEST_BUILDDIR);
    snprintf(t_tmpdir, sizeof t_tmpdir, "%s/dsrc-loader-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(t_tmpdir));
    t_have_tmpdir = 1;
    unsetenv("DSRC_PLUGIN_PATH");
}

static void t_teardown(void)
{
    if (t_have_tmpdir)
        nftw(t_tmpdir, t_rm, 8, FTW_DEPTH | FTW_PHYS);
    t_have_tmpdir = 0;
    free(t_fixdir);
    t_fixdir = NULL;
    unsetenv("DSRC_PLUGIN_PATH");
}

/* ------------------------------------------------------------------------ */
/* Refusals of files that are not libraries                                  */

START_TEST(test_refuse_empty_file)
{
    char *path = t_tmpfile("empty.so");

    t_write(path, "", 0);
    t_assert_refused(t_tmpdir, "empty", "not a shared library (file is empty)");
    free(path);
}
END_TEST

START_TEST(test_refuse_text_file)
{
    static const char text[] = "this is not a library\n";
    char *path = t_tmpfile("junk.so");

    t_write(path, text, sizeof text - 1);
    t_assert_refused(t_tmpdir, "junk", "not a shared library (not an ELF file)");
    free(path);
}
END_TEST

START_TEST(test_refuse_short_file)
{
    char *path = t_tmpfile("tiny.so");

    t_write(path, "\177E", 2);
    t_assert_refused(t_tmpdir, "tiny", "not a shared library (not an ELF file)");
    free(path);
}
END_TEST

/* An ELF header and nothing usable after it: the system loader's own
 * reason is reported, not libltdl's "file not found". */
START_TEST(test_refuse_truncated_elf)
{
    static const char elf[] = "\177ELF\002\001\001\000garbage after the header";
    char *path = t_tmpfile("trunc.so");
    const char *dirs[1] = {t_tmpdir};
    loader_set *set = loader_new(dirs, 1);
    loader_plugin *p = NULL;
    derr e = {0};

    t_write(path, elf, sizeof elf - 1);
    t_assert_refused(t_tmpdir, "trunc", "cannot load: ");
    ck_assert_int_eq(loader_get(set, "trunc", &p, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_msg(!strstr(e.msg, "file not found"), "unhelpful reason: %s", e.msg);
    ck_assert_uint_gt(strlen(e.msg), strlen(path) + strlen(": cannot load: "));
    derr_clear(&e);
    loader_free(set);
    free(path);
}
END_TEST

START_TEST(test_refuse_directory)
{
    char *path = t_tmpfile("dir.so");

    ck_assert_int_eq(mkdir(path, 0755), 0);
    t_assert_refused(t_tmpdir, "dir", "not a shared library (not a regular file)");
    free(path);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Refusals of libraries (fixtures)                                          */

static const struct {
    const char *name;
    const char *reason;
} t_refusals[] = {
    {"noabi", "no dsrc_plugin_abi symbol: not a dsrc plugin"},
    {"nullabi", "dsrc_plugin_abi() returned no magic block"},
    {"shortabi", "malformed magic block (struct_size 8)"},
    {"badmagic", "bad magic value 0x12345678 in the magic block"},
    {"abi2", "built for dsrc plugin ABI 2.0, this host speaks ABI 1.5"},
    {"smalldriver", "magic block gives sizeof(dsrc_driver) = 16"},
    {"cellsize", "struct sizes differ from this host's"},
    {"noentry", "no dsrc_plugin_init symbol: not a dsrc plugin"},
    {"initfail", "dsrc_plugin_init failed: initfail: cannot start the backend library"},
    {"wrongname", "declares name 'other', expected 'wrongname'"},
    {"noabiversion", "driver implements ABI 0.0, this host speaks ABI 1.5"},
    {"nofetch", "required member 'fetch' is missing"},
    {"dupoption", "option 'path' is declared twice"},
    {"nochoices", "option 'mode' is an enum without choices"},
    {"badoptionname", "option 'Bad Name' has an invalid name"},
    {"endless", "option table has no end"},
    {"limitname", "option limit for 'nosuch', which is not in the option table"},
    {"limitminmax", "option limit for 'port': minimum 10 is above maximum 1"},
    {"limitregex", "option limit for 'path': pattern '(unclosed' does not compile"},
    {"limittype", "option limit for 'path': a minimum or maximum applies only to int, "
                  "duration and double options"},
    {"unresolved", "undefined symbol: fixture_symbol_defined_nowhere"},
};
#define T_N_REFUSALS (sizeof t_refusals / sizeof t_refusals[0])

START_TEST(test_refuse_fixture)
{
    t_assert_refused(t_fixdir, t_refusals[_i].name, t_refusals[_i].reason);
}
END_TEST

/* A plugin's own error from init is kept: its backend code survives. */
START_TEST(test_initfail_keeps_plugin_code)
{
    char *path = t_fixture("initfail");
    loader_set *set = loader_new(NULL, 0);
    loader_plugin *p = NULL;
    derr e = {0};

    ck_assert_int_eq(loader_load_file(set, path, "initfail", &p, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_str_eq(e.code, "E42");
    derr_clear(&e);
    loader_free(set);
    free(path);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Names and search                                                          */

START_TEST(test_invalid_names)
{
    static const char *const bad[] = {"", "Good", "../good", "good.so", "a b", "x/y"};
    const char *dirs[1] = {t_fixdir};
    loader_set *set = loader_new(dirs, 1);
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        loader_plugin *p = NULL;
        derr e = {0};
        char *quoted = t_strdup_printf("invalid plugin name '%s'", bad[i]);

        ck_assert_int_eq(loader_get(set, bad[i], &p, &e), DSRC_E_INVALID_CONFIG);
        ck_assert_ptr_null(p);
        t_assert_msg_has(&e, quoted);
        derr_clear(&e);
        free(quoted);
    }
    ck_assert_int_eq(loader_get(set, NULL, NULL, NULL), DSRC_E_INVALID_CONFIG);
    loader_free(set);
}
END_TEST

/* A file whose name is not a valid plugin name is refused before it is
 * opened. */
START_TEST(test_invalid_file_name)
{
    char *good = t_fixture("good");
    char *path = t_tmpfile("Good.so");
    loader_set *set = loader_new(NULL, 0);
    loader_plugin *p = NULL;
    derr e = {0};

    t_copy(good, path);
    ck_assert_int_eq(loader_load_file(set, path, NULL, &p, &e), DSRC_E_INVALID_CONFIG);
    t_assert_msg_has(&e, path);
    t_assert_msg_has(&e, "invalid plugin name 'Good'");
    ck_assert(!t_resident(path));
    derr_clear(&e);
    loader_free(set);
    free(path);
    free(good);
}
END_TEST

START_TEST(test_not_found_names_dirs)
{
    const char *dirs[2] = {t_tmpdir, t_fixdir};
    loader_set *set = loader_new(dirs, 2);
    loader_plugin *p = NULL;
    derr e = {0};
    char *want = t_strdup_printf("no plugin 'nosuch' (looked for nosuch.so in %s, %s)",
                                 t_tmpdir, t_fixdir);

    ck_assert_int_eq(loader_get(set, "nosuch", &p, &e), DSRC_E_NOT_FOUND);
    ck_assert_ptr_null(p);
    ck_assert_str_eq(e.msg, want);
    derr_clear(&e);
    loader_free(set);
    free(want);

    set = loader_new(NULL, 0);
    ck_assert_int_eq(loader_get(set, "nosuch", &p, &e), DSRC_E_NOT_FOUND);
    t_assert_msg_has(&e, "no plugin 'nosuch' (no plugin directory is configured");
    derr_clear(&e);
    loader_free(set);
}
END_TEST

START_TEST(test_load_missing_file)
{
    char *path = t_tmpfile("absent.so");
    loader_set *set = loader_new(NULL, 0);
    loader_plugin *p = NULL;
    derr e = {0};

    ck_assert_int_eq(loader_load_file(set, path, NULL, &p, &e), DSRC_E_NOT_FOUND);
    t_assert_msg_has(&e, path);
    t_assert_msg_has(&e, "no such file");
    derr_clear(&e);
    loader_free(set);
    free(path);
}
END_TEST

/* The first directory holding NAME.so wins, even when its file is bad. */
START_TEST(test_first_dir_wins)
{
    const char *dirs[2] = {t_tmpdir, t_fixdir};
    char *junk = t_tmpfile("good.so"), *good;
    loader_set *set;
    loader_plugin *p = NULL;
    derr e = {0};

    t_write(junk, "junk", 4);
    set = loader_new(dirs, 2);
    ck_assert_int_eq(loader_get(set, "good", &p, &e), DSRC_E_INVALID_CONFIG);
    t_assert_msg_has(&e, junk);
    derr_clear(&e);
    loader_free(set);

    dirs[0] = t_fixdir;
    dirs[1] = t_tmpdir;
    set = loader_new(dirs, 2);
    ck_assert_int_eq(loader_get(set, "good", &p, &e), DSRC_OK);
    good = t_fixture("good");
    ck_assert_str_eq(loader_path(p), good);
    loader_free(set);
    free(good);
    free(junk);
}
END_TEST

START_TEST(test_plugin_path_env)
{
    const char *conf[1] = {"/nonexistent/dsrc-plugins"};
    const char *const *dirs;
    char *env = t_strdup_printf("%s::%s:", t_tmpdir, t_fixdir);
    char *junk = t_tmpfile("good.so");
    loader_set *set;
    loader_plugin *p = NULL;
    derr e = {0};

    ck_assert_int_eq(setenv("DSRC_PLUGIN_PATH", env, 1), 0);
    set = loader_new(conf, 1);
    ck_assert_uint_eq(loader_dirs(set, &dirs), 3);
    ck_assert_str_eq(dirs[0], t_tmpdir);
    ck_assert_str_eq(dirs[1], t_fixdir);
    ck_assert_str_eq(dirs[2], conf[0]);
    ck_assert_int_eq(loader_get(set, "good", &p, &e), DSRC_OK);
    ck_assert_ptr_nonnull(strstr(loader_path(p), t_fixdir));
    loader_free(set);

    /* The environment's directories come before the configured ones. */
    t_write(junk, "junk", 4);
    set = loader_new(conf, 1);
    ck_assert_int_eq(loader_get(set, "good", &p, &e), DSRC_E_INVALID_CONFIG);
    t_assert_msg_has(&e, junk);
    derr_clear(&e);
    loader_free(set);

    /* Without the variable only the configured directory is searched. */
    unsetenv("DSRC_PLUGIN_PATH");
    set = loader_new(conf, 1);
    ck_assert_uint_eq(loader_dirs(set, &dirs), 1);
    ck_assert_int_eq(loader_get(set, "good", &p, &e), DSRC_E_NOT_FOUND);
    t_assert_msg_has(&e, conf[0]);
    derr_clear(&e);
    loader_free(set);
    free(junk);
    free(env);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */

static int t_items;
static char t_item_name[64];

static int t_item(void *user, const dsrc_item *item)
{
    t_items++;
    snprintf(t_item_name, sizeof t_item_name, "%s", item->name);
    return 0;
}

START_TEST(test_good_loads)
{
    const char *dirs[2] = {t_tmpdir, t_fixdir};
    char *path = t_fixture("good");
    loader_set *set = loader_new(dirs, 2);
    loader_plugin *p = NULL, *again = NULL;
    const dsrc_driver *d;
    const dsrc_option *o;
    derr e = {0};

    ck_assert_int_eq(loader_get(set, "good", &p, &e), DSRC_OK);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(loader_name(p), "good");
    ck_assert_str_eq(loader_path(p), path);
    ck_assert(t_resident(path));

    ck_assert_uint_eq(loader_abi(p)->magic, DSRC_ABI_MAGIC);
    ck_assert_uint_eq(loader_abi(p)->abi_major, DSRC_ABI_MAJOR);
    ck_assert_uint_eq(loader_abi(p)->driver_size, sizeof(dsrc_driver));

    d = loader_driver(p);
    ck_assert_str_eq(d->name, "good");
    ck_assert_uint_eq(d->struct_size, sizeof(dsrc_driver));
    ck_assert_ptr_nonnull(d->open);
    ck_assert_ptr_nonnull(d->discover);
    ck_assert_ptr_nonnull(d->cancel);
    ck_assert_ptr_nonnull(d->unload);

    o = loader_option(p, "mode");
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(o->type, DSRC_OPT_ENUM);
    ck_assert_str_eq(o->choices, "ro|rw");
    ck_assert_ptr_nonnull(loader_option(p, "password"));
    ck_assert_ptr_null(loader_option(p, "nosuch"));
    ck_assert_ptr_null(loader_option(p, NULL));

    /* A second request returns the same plugin. */
    ck_assert_int_eq(loader_get(set, "good", &again, &e), DSRC_OK);
    ck_assert_ptr_eq(again, p);
    ck_assert_int_eq(loader_load_file(set, path, NULL, &again, &e), DSRC_OK);
    ck_assert_ptr_eq(again, p);

    loader_free(set);
    ck_assert_msg(!t_resident(path), "%s is still loaded after loader_free()", path);
    free(path);
}
END_TEST

START_TEST(test_good_stubs)
{
    const char *dirs[1] = {t_fixdir};
    loader_set *set = loader_new(dirs, 1);
    loader_plugin *p = NULL;
    const dsrc_driver *d;
    struct dsrc_ctx ctx;
    dsrc_discover_req req;
    dsrc_meta_sink sink;
    dsrc_error perr;
    derr e = {0};

    ck_assert_int_eq(loader_get(set, "good", &p, &e), DSRC_OK);
    d = loader_driver(p);
    ck_assert_uint_eq(d->capabilities & (DSRC_CAP_DISCOVER | DSRC_CAP_CANCEL), 0);

    ctx_init(&ctx, "demo", loader_name(p), NULL);
    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    error_init(&perr);
    ck_assert_int_eq(d->discover(&ctx, NULL, &req, &sink, &perr), DSRC_E_UNSUPPORTED);
    ck_assert_int_eq(perr.status, DSRC_E_UNSUPPORTED);
    ck_assert_str_eq(perr.message, "plugin good does not support discover");
    ck_assert_int_eq(derr_from_plugin(&e, &perr, "good", "discover", NULL), DSRC_E_UNSUPPORTED);
    ck_assert_str_eq(e.msg, "plugin good does not support discover");
    derr_clear(&e);

    ck_assert_int_eq(d->cancel(NULL), DSRC_E_UNSUPPORTED);
    d->unload(); /* the no-op stub */
    loader_free(set);
}
END_TEST

/* The host services, seen from a loaded plugin: cancellation, the source
 * name, logging. */
START_TEST(test_good_uses_host_services)
{
    static volatile sig_atomic_t sigflag;
    const char *dirs[1] = {t_fixdir};
    loader_set *set = loader_new(dirs, 1);
    loader_plugin *p = NULL;
    const dsrc_driver *d;
    struct dsrc_ctx ctx;
    atomic_int cancel = 0;
    dsrc_open_params params;
    dsrc_ping_info info;
    dsrc_item_sink sink;
    dsrc_conn *conn = NULL;
    dsrc_error perr;
    derr e = {0};

    ck_assert_int_eq(loader_get(set, "good", &p, &e), DSRC_OK);
    d = loader_driver(p);
    ctx_init(&ctx, "shop", "good", &cancel);
    memset(&params, 0, sizeof params);
    params.struct_size = sizeof params;
    params.source = "shop";
    error_init(&perr);
    ck_assert_int_eq(d->open(&ctx, &params, &conn, &perr), DSRC_OK);

    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    ck_assert_int_eq(d->ping(&ctx, conn, &info, &perr), DSRC_OK);
    ck_assert_str_eq(info.endpoint, "fixture");

    atomic_store(&cancel, 1);
    ck_assert_int_eq(d->ping(&ctx, conn, &info, &perr), DSRC_E_CANCELLED);
    perr.release(&perr);
    error_init(&perr);
    atomic_store(&cancel, 0);

    /* A signal flag installed before the ctx is made is watched too. */
    ctx_set_signal_flag(&sigflag);
    ctx_init(&ctx, "shop", "good", &cancel);
    ctx_set_signal_flag(NULL);
    ck_assert_int_eq(d->ping(&ctx, conn, &info, &perr), DSRC_OK);
    sigflag = 1;
    ck_assert_int_eq(d->ping(&ctx, conn, &info, &perr), DSRC_E_CANCELLED);
    perr.release(&perr);
    error_init(&perr);
    sigflag = 0;

    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.item = t_item;
    t_items = 0;
    ck_assert_int_eq(d->list(&ctx, conn, NULL, &sink, &perr), DSRC_OK);
    ck_assert_int_eq(t_items, 1);
    ck_assert_str_eq(t_item_name, "shop");

    d->close(conn);
    loader_free(set);
}
END_TEST

START_TEST(test_ctx_and_host_table)
{
    const dsrc_host *h = ctx_host();
    struct dsrc_ctx ctx;
    atomic_int cancel = 0;

    ck_assert_uint_eq(h->struct_size, sizeof(dsrc_host));
    ck_assert_uint_eq(h->abi_version, DSRC_ABI_VERSION);
    ck_assert_ptr_nonnull(h->log);
    ck_assert_ptr_eq(ctx_host(), h);

    ctx_init(&ctx, NULL, NULL, NULL);
    ck_assert_str_eq(ctx.source, "");
    ck_assert_str_eq(ctx.plugin, "");
    ck_assert(ctx.signal_flag == NULL);
    ck_assert_int_eq(h->is_cancelled(&ctx), 0);
    ck_assert_str_eq(h->source_name(&ctx), "");
    ck_assert_int_eq(h->is_cancelled(NULL), 0);
    ck_assert_str_eq(h->source_name(NULL), "");

    ctx_init(&ctx, "warehouse", "sqlite", &cancel);
    ck_assert_str_eq(h->source_name(&ctx), "warehouse");
    ck_assert_int_eq(h->is_cancelled(&ctx), 0);
    atomic_store(&cancel, 1);
    ck_assert_int_eq(h->is_cancelled(&ctx), 1);

    /* Logging never fails, whatever a plugin passes. */
    h->log(&ctx, DSRC_LOG_DEBUG, "debug line %d", 1);
    h->log(NULL, DSRC_LOG_DEBUG, "plugin-wide line");
    h->log(&ctx, (dsrc_log_level)99, "out-of-range level");
    h->log(&ctx, (dsrc_log_level)-5, "test line: a level below the range is an error");
    h->log(&ctx, DSRC_LOG_DEBUG, NULL);
}
END_TEST

/* A plugin with every optional member keeps them; it is initialised once
 * per process and unloaded once, when the last set lets go of it. */
START_TEST(test_full_lifecycle)
{
    const char *dirs[1] = {t_fixdir};
    char *path = t_fixture("full");
    void *keep = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    int *inits, *unloads;
    loader_set *a, *b;
    loader_plugin *pa = NULL, *pb = NULL;
    const dsrc_driver *d;
    derr e = {0};

    ck_assert_msg(keep, "%s", dlerror());
    inits = dlsym(keep, "fixture_init_calls");
    unloads = dlsym(keep, "fixture_unload_calls");
    ck_assert_ptr_nonnull(inits);
    ck_assert_ptr_nonnull(unloads);

    a = loader_new(dirs, 1);
    b = loader_new(dirs, 1);
    ck_assert_int_eq(loader_get(a, "full", &pa, &e), DSRC_OK);
    ck_assert_int_eq(loader_get(b, "full", &pb, &e), DSRC_OK);
    ck_assert_ptr_eq(pa, pb);
    ck_assert_int_eq(*inits, 1);

    d = loader_driver(pa);
    ck_assert_uint_eq(d->capabilities & (DSRC_CAP_DISCOVER | DSRC_CAP_CANCEL),
                      DSRC_CAP_DISCOVER | DSRC_CAP_CANCEL);
    ck_assert_int_eq(d->cancel(NULL), DSRC_OK);
    ck_assert_int_eq(d->discover(NULL, NULL, NULL, NULL, NULL), DSRC_OK);

    loader_free(a);
    ck_assert_int_eq(*unloads, 0);
    ck_assert_str_eq(loader_name(pb), "full");
    loader_free(b);
    ck_assert_int_eq(*unloads, 1);
    ck_assert_int_eq(*inits, 1);

    dlclose(keep);
    ck_assert(!t_resident(path));
    free(path);
}
END_TEST

/* The same file reached through a symbolic link is the same plugin; another
 * file for an already loaded name is refused. */
START_TEST(test_same_name_other_file)
{
    char *good = t_fixture("good");
    char *link = t_tmpfile("good.so");
    char *other_dir = t_tmpfile("other");
    char *copy = t_strdup_printf("%s/good.so", other_dir);
    loader_set *set = loader_new(NULL, 0);
    loader_plugin *p = NULL, *q = NULL;
    derr e = {0};

    ck_assert_int_eq(symlink(good, link), 0);
    ck_assert_int_eq(mkdir(other_dir, 0755), 0);
    t_copy(good, copy);

    ck_assert_int_eq(loader_load_file(set, good, NULL, &p, &e), DSRC_OK);
    ck_assert_int_eq(loader_load_file(set, link, NULL, &q, &e), DSRC_OK);
    ck_assert_ptr_eq(p, q);

    q = NULL;
    ck_assert_int_eq(loader_load_file(set, copy, NULL, &q, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_null(q);
    t_assert_msg_has(&e, copy);
    t_assert_msg_has(&e, "plugin 'good' is already loaded from");
    t_assert_msg_has(&e, good);
    derr_clear(&e);

    /* A loaded file asked for under another name is refused too. */
    ck_assert_int_eq(loader_load_file(set, good, "notgood", &q, &e), DSRC_E_INVALID_CONFIG);
    t_assert_msg_has(&e, "declares name 'good', expected 'notgood'");
    derr_clear(&e);

    loader_free(set);
    free(copy);
    free(other_dir);
    free(link);
    free(good);
}
END_TEST

/* A bare file name is the file in the current directory, not a name for
 * the system loader to search its library path with. */
START_TEST(test_load_relative_name)
{
    char cwd[4096];
    loader_set *set = loader_new(NULL, 0);
    loader_plugin *p = NULL;
    derr e = {0};

    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(t_fixdir), 0);
    ck_assert_int_eq(loader_load_file(set, "good.so", NULL, &p, &e), DSRC_OK);
    ck_assert_str_eq(loader_name(p), "good");
    ck_assert_str_eq(loader_path(p), "./good.so");
    loader_free(set);
    ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

/* A plugin file replaced on disk while loaded (a package upgrade) and
 * loaded again by another set is the instance in memory: not initialised
 * twice, unloaded once. */
START_TEST(test_replaced_file_same_instance)
{
    char *full = t_fixture("full");
    char *dir = t_tmpfile("upgrade");
    char *path = t_strdup_printf("%s/full.so", dir);
    char *next = t_strdup_printf("%s/full.so.new", dir);
    const char *dirs[1] = {dir};
    void *keep;
    int *inits, *unloads;
    loader_set *a, *b;
    loader_plugin *pa = NULL, *pb = NULL;
    derr e = {0};

    ck_assert_int_eq(mkdir(dir, 0755), 0);
    t_copy(full, path);
    keep = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(keep, "%s", dlerror());
    inits = dlsym(keep, "fixture_init_calls");
    unloads = dlsym(keep, "fixture_unload_calls");
    ck_assert_ptr_nonnull(inits);
    ck_assert_ptr_nonnull(unloads);

    a = loader_new(dirs, 1);
    ck_assert_int_eq(loader_get(a, "full", &pa, &e), DSRC_OK);
    t_copy(full, next);
    ck_assert_int_eq(rename(next, path), 0);
    b = loader_new(dirs, 1);
    ck_assert_int_eq(loader_get(b, "full", &pb, &e), DSRC_OK);
    ck_assert_ptr_eq(pa, pb);
    ck_assert_int_eq(*inits, 1);

    loader_free(a);
    ck_assert_int_eq(*unloads, 0);
    loader_free(b);
    ck_assert_int_eq(*unloads, 1);
    dlclose(keep);
    free(next);
    free(path);
    free(dir);
    free(full);
}
END_TEST

/* Capabilities a plugin declares without the members behind them are
 * dropped, so callers never rely on a stub. */
START_TEST(test_capabilities_without_members)
{
    const char *dirs[1] = {t_fixdir};
    loader_set *set = loader_new(dirs, 1);
    loader_plugin *p = NULL;
    derr e = {0};

    ck_assert_int_eq(loader_get(set, "capsonly", &p, &e), DSRC_OK);
    ck_assert_uint_eq(loader_driver(p)->capabilities, DSRC_CAP_CURSOR);
    ck_assert_int_eq(loader_driver(p)->cancel(NULL), DSRC_E_UNSUPPORTED);
    loader_free(set);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Scanning                                                                  */

/* In name order; the ones that load are marked. */
static const struct {
    const char *name;
    int loads;
} t_all_fixtures[] = {
    {"abi2", 0},         {"badmagic", 0},  {"badoptionname", 0}, {"capsonly", 1},
    {"cellsize", 0},     {"dupoption", 0}, {"endless", 0},       {"full", 1},
    {"good", 1},         {"initfail", 0},  {"noabi", 0},         {"noabiversion", 0},
    {"nochoices", 0},    {"noentry", 0},   {"nofetch", 0},       {"nullabi", 0},
    {"shortabi", 0},     {"smalldriver", 0}, {"unresolved", 0},  {"wrongname", 0},
};
#define T_N_FIXTURES (sizeof t_all_fixtures / sizeof t_all_fixtures[0])

typedef struct t_scan {
    size_t n;
    char *names[64];
    char *paths[64];
    int loaded[64];
    char *errors[64];
} t_scan;

static void t_scan_cb(void *user, const char *name, const char *path, loader_plugin *plugin,
                      const derr *e)
{
    t_scan *s = user;

    ck_assert_uint_lt(s->n, 64);
    s->names[s->n] = strdup(name);
    s->paths[s->n] = strdup(path);
    s->loaded[s->n] = plugin != NULL;
    s->errors[s->n] = e && e->msg ? strdup(e->msg) : NULL;
    if (plugin)
        ck_assert_str_eq(loader_name(plugin), name);
    else
        ck_assert_ptr_nonnull(e);
    s->n++;
}

static void t_scan_free(t_scan *s)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        free(s->names[i]);
        free(s->paths[i]);
        free(s->errors[i]);
    }
}

/* A directory of links to this file's test plugins only (the fixture
 * directory is shared with other tests' plugins). */
static char *t_link_fixtures(void)
{
    char *dir = t_tmpfile("scan");
    size_t i;

    ck_assert_int_eq(mkdir(dir, 0755), 0);
    for (i = 0; i < T_N_FIXTURES; i++) {
        char *target = t_fixture(t_all_fixtures[i].name);
        char *link = t_strdup_printf("%s/%s.so", dir, t_all_fixtures[i].name);
        ck_assert_msg(symlink(target, link) == 0, "%s: %s", link, strerror(errno));
        free(link);
        free(target);
    }
    return dir;
}

START_TEST(test_scan_fixtures)
{
    char *dir = t_link_fixtures();
    const char *dirs[1] = {dir};
    loader_set *set = loader_new(dirs, 1);
    t_scan s;
    size_t i, n;

    memset(&s, 0, sizeof s);
    n = loader_scan(set, t_scan_cb, &s);
    ck_assert_uint_eq(n, T_N_FIXTURES);
    ck_assert_uint_eq(s.n, T_N_FIXTURES);
    for (i = 0; i < s.n; i++) {
        char *path = t_strdup_printf("%s/%s.so", dir, t_all_fixtures[i].name);
        int good = t_all_fixtures[i].loads;

        ck_assert_str_eq(s.names[i], t_all_fixtures[i].name); /* sorted by name */
        ck_assert_str_eq(s.paths[i], path);
        ck_assert_int_eq(s.loaded[i], good);
        if (!good) {
            ck_assert_ptr_nonnull(s.errors[i]);
            ck_assert_msg(strncmp(s.errors[i], path, strlen(path)) == 0,
                          "error \"%s\" does not name %s", s.errors[i], path);
        }
        free(path);
    }
    t_scan_free(&s);

    /* The scan loaded the good ones into the set. */
    {
        loader_plugin *p = NULL;
        char *path = t_fixture("good");
        ck_assert_int_eq(loader_get(set, "good", &p, NULL), DSRC_OK);
        ck_assert(t_resident(path));
        loader_free(set);
        ck_assert(!t_resident(path));
        free(path);
    }
    free(dir);
}
END_TEST

START_TEST(test_scan_first_dir_wins)
{
    char *dir = t_link_fixtures();
    const char *dirs[3] = {t_tmpdir, "/nonexistent/dsrc-plugins", dir};
    char *junk = t_tmpfile("good.so");
    char *extra = t_tmpfile("Bad Name.so");
    char *other = t_tmpfile("readme.txt");
    loader_set *set;
    t_scan s;
    size_t i, n;
    int seen_good = 0, seen_bad = 0;

    t_write(junk, "junk", 4);
    t_write(extra, "junk", 4);
    t_write(other, "junk", 4);
    set = loader_new(dirs, 3);
    memset(&s, 0, sizeof s);
    n = loader_scan(set, t_scan_cb, &s);
    ck_assert_uint_eq(n, T_N_FIXTURES + 1);
    for (i = 0; i < s.n; i++) {
        if (strcmp(s.names[i], "good") == 0) {
            seen_good++;
            ck_assert_str_eq(s.paths[i], junk);
            ck_assert_int_eq(s.loaded[i], 0);
            ck_assert_ptr_nonnull(strstr(s.errors[i], "not an ELF file"));
        }
        if (strcmp(s.names[i], "Bad Name") == 0) {
            seen_bad++;
            ck_assert_ptr_nonnull(strstr(s.errors[i], "invalid plugin name 'Bad Name'"));
        }
    }
    ck_assert_int_eq(seen_good, 1);
    ck_assert_int_eq(seen_bad, 1);
    t_scan_free(&s);
    loader_free(set);

    /* A scan with no callback still counts. */
    set = loader_new(dirs, 3);
    ck_assert_uint_eq(loader_scan(set, NULL, NULL), T_N_FIXTURES + 1);
    loader_free(set);
    free(other);
    free(extra);
    free(junk);
    free(dir);
}
END_TEST

START_TEST(test_free_null)
{
    loader_free(NULL);
}
END_TEST

static Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *refuse = tcase_create("refusals");
    TCase *search = tcase_create("search");
    TCase *load = tcase_create("load");

    tcase_add_checked_fixture(refuse, t_setup, t_teardown);
    tcase_add_test(refuse, test_refuse_empty_file);
    tcase_add_test(refuse, test_refuse_text_file);
    tcase_add_test(refuse, test_refuse_short_file);
    tcase_add_test(refuse, test_refuse_truncated_elf);
    tcase_add_test(refuse, test_refuse_directory);
    tcase_add_loop_test(refuse, test_refuse_fixture, 0, (int)T_N_REFUSALS);
    tcase_add_test(refuse, test_initfail_keeps_plugin_code);
    suite_add_tcase(s, refuse);

    tcase_add_checked_fixture(search, t_setup, t_teardown);
    tcase_add_test(search, test_invalid_names);
    tcase_add_test(search, test_invalid_file_name);
    tcase_add_test(search, test_not_found_names_dirs);
    tcase_add_test(search, test_load_missing_file);
    tcase_add_test(search, test_first_dir_wins);
    tcase_add_test(search, test_plugin_path_env);
    tcase_add_test(search, test_scan_fixtures);
    tcase_add_test(search, test_scan_first_dir_wins);
    suite_add_tcase(s, search);

    tcase_add_checked_fixture(load, t_setup, t_teardown);
    tcase_add_test(load, test_good_loads);
    tcase_add_test(load, test_good_stubs);
    tcase_add_test(load, test_good_uses_host_services);
    tcase_add_test(load, test_ctx_and_host_table);
    tcase_add_test(load, test_full_lifecycle);
    tcase_add_test(load, test_same_name_other_file);
    tcase_add_test(load, test_load_relative_name);
    tcase_add_test(load, test_replaced_file_same_instance);
    tcase_add_test(load, test_capabilities_without_members);
    tcase_add_test(load, test_free_null);
    suite_add_tcase(s, load);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(loader_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
