/* SPDX-License-Identifier: Apache-2.0 */
/* loader.c -- finding, checking and loading plugins (see loader.h). */
#include <config.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <regex.h>
#include <ltdl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/ctx.h"
#include "plugin/loader.h"
#include "base/log.h"
#include "base/nearest.h"

/* The smallest ABI 1.0 dsrc_driver accepted: the end of unload.  storage,
 * the last 1.0 member, was added before the ABI was released; a driver
 * that ends before it has no storage() (the stub is used). */
#define LOADER_DRIVER_V1_0_SIZE                                                   \
    (offsetof(dsrc_driver, unload) + sizeof(((dsrc_driver *)0)->unload))
/* The same for the other self-sized structs the magic block reports. */
#define LOADER_ABI_V1_0_SIZE                                                      \
    (offsetof(dsrc_abi_info, error_size) + sizeof(uint32_t))
#define LOADER_HOST_V1_0_SIZE                                                     \
    (offsetof(dsrc_host, source_name) + sizeof(((dsrc_host *)0)->source_name))
#define LOADER_HOST_V1_1_SIZE                                                     \
    (offsetof(dsrc_host, cancel_fd) + sizeof(((dsrc_host *)0)->cancel_fd))
#define LOADER_HOST_V1_2_SIZE                                                     \
    (offsetof(dsrc_host, aws_sign) + sizeof(((dsrc_host *)0)->aws_sign))
#define LOADER_ERROR_V1_0_SIZE                                                    \
    (offsetof(dsrc_error, private_data) + sizeof(void *))
/* Enough of a magic block to read its magic, major and minor. */
#define LOADER_ABI_HEAD_SIZE (offsetof(dsrc_abi_info, abi_minor) + sizeof(uint32_t))
/* Sanity bounds: a larger value is a corrupt magic block, not a new minor. */
#define LOADER_STRUCT_SIZE_MAX 65536u
/* An option table longer than this has lost its DSRC_OPTION_END. */
#define LOADER_OPTIONS_MAX 1024

/* A loaded plugin.  The same library (device and inode) is loaded and
 * initialised once per process and shared by every set that asks for it;
 * the last set to let go calls unload() and closes it.  This keeps a reload
 * (new set built while the old one still serves) from running a plugin's
 * init twice or its unload under the new set's feet. */
struct loader_plugin {
    loader_plugin *next;      /* loader_loaded list                                */
    unsigned refs;        /* sets holding it                               */
    dev_t dev;
    ino_t ino;
    char *name;
    char *path;
    lt_dlhandle handle;
    void *entry;          /* dsrc_plugin_init: identifies the instance     */
    dsrc_abi_info abi;    /* copy of the magic block, zero-extended        */
    dsrc_driver driver;   /* complete: optional members are stubs          */
};

struct loader_set {
    char **dirs;
    size_t n_dirs;
    loader_plugin **plugins;  /* the plugins this set holds a reference to     */
    size_t n_plugins;
    size_t cap_plugins;
};

static loader_plugin *loader_loaded;

/* The ABI version this host presents to plugins: DSRC_ABI_VERSION, or an
 * older one set by loader_set_host_abi() (tests). */
static uint32_t loader_host_abi = DSRC_ABI_VERSION;

static const dsrc_option loader_no_options[] = {DSRC_OPTION_END};

/* ------------------------------------------------------------------------ */
/* Stubs for missing optional members                                        */

static dsrc_status loader_stub_discover(const dsrc_ctx *ctx, dsrc_conn *conn,
                                    const dsrc_discover_req *req,
                                    const dsrc_meta_sink *sink, dsrc_error *err)
{
    const char *name = ctx && ctx->plugin && *ctx->plugin ? ctx->plugin : "?";

    return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                          "plugin %s does not support discover", name);
}

static dsrc_status loader_stub_cancel(dsrc_conn *conn)
{
    return DSRC_E_UNSUPPORTED;
}

static void loader_stub_unload(void)
{
}

static dsrc_status loader_stub_storage(const dsrc_ctx *ctx, dsrc_conn *conn,
                                   dsrc_storage_info *info, dsrc_error *err)
{
    const char *name = ctx && ctx->plugin && *ctx->plugin ? ctx->plugin : "?";

    (void)conn;
    (void)info;
    return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                          "plugin %s cannot report its storage size", name);
}

static dsrc_status loader_stub_query(const dsrc_ctx *ctx, dsrc_conn *conn,
                                     const dsrc_query_req *req, const dsrc_row_sink *rows,
                                     dsrc_fetch_result *result, dsrc_error *err)
{
    const char *name = ctx && ctx->plugin && *ctx->plugin ? ctx->plugin : "?";

    (void)conn;
    (void)req;
    (void)rows;
    (void)result;
    return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                          "plugin %s does not run queries", name);
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static int loader_name_valid(const char *name)
{
    const char *p;

    if (!name || !*name)
        return 0;
    for (p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-'))
            return 0;
    return 1;
}

int loader_option_name_valid(const char *name)
{
    const char *p;

    if (!name || !(*name >= 'a' && *name <= 'z'))
        return 0;
    for (p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

char *loader_name_from_path(const char *path)
{
    const char *base = strrchr(path, '/');
    size_t len;

    base = base ? base + 1 : path;
    len = strlen(base);
    if (len > 3 && strcmp(base + len - 3, ".so") == 0)
        len -= 3;
    return strndup(base, len);
}

static char *loader_join(const char *dir, const char *name)
{
    char *path = NULL;
    size_t len = strlen(dir);
    const char *sep = len > 0 && dir[len - 1] == '/' ? "" : "/";

    if (asprintf(&path, "%s%s%s.so", dir, sep, name) < 0)
        return NULL;
    return path;
}

static loader_plugin *loader_set_find(const loader_set *set, const char *name)
{
    size_t i;

    for (i = 0; i < set->n_plugins; i++)
        if (strcmp(set->plugins[i]->name, name) == 0)
            return set->plugins[i];
    return NULL;
}

static int loader_set_add(loader_set *set, loader_plugin *p)
{
    if (set->n_plugins == set->cap_plugins) {
        size_t cap = set->cap_plugins ? set->cap_plugins * 2 : 8;
        loader_plugin **v = realloc(set->plugins, cap * sizeof *v);
        if (!v)
            return -1;
        set->plugins = v;
        set->cap_plugins = cap;
    }
    set->plugins[set->n_plugins++] = p;
    p->refs++;
    return 0;
}

static int loader_dir_add(loader_set *set, const char *dir, size_t len)
{
    size_t i;
    char *copy;

    if (len == 0)
        return 0;
    for (i = 0; i < set->n_dirs; i++)
        if (strlen(set->dirs[i]) == len && strncmp(set->dirs[i], dir, len) == 0)
            return 0;
    copy = strndup(dir, len);
    if (!copy)
        return -1;
    set->dirs[set->n_dirs++] = copy;
    return 0;
}

/* Open `path` with the system loader, binding every symbol now.  libltdl
 * opens lazily and keeps only "file not found" as the reason for any
 * failure; this probe refuses a library with unresolved symbols up front
 * (instead of the process aborting at the first call into it) and gives the
 * real reason.  Returns the handle, to be closed once libltdl holds the
 * library too, or NULL with *why set to the reason without a leading
 * "PATH: " (malloc'd; the caller's message names the file already). */
static void *loader_probe(const char *path, char **why)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    const char *msg;
    size_t plen = strlen(path);

    *why = NULL;
    if (h)
        return h;
    msg = dlerror();
    if (!msg)
        msg = "unknown error";
    if (strncmp(msg, path, plen) == 0 && strncmp(msg + plen, ": ", 2) == 0)
        msg += plen + 2;
    *why = strdup(msg);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Checks                                                                    */

/* Step 1a: a regular, non-empty file that begins like an ELF object.  Fills
 * dev/ino for the sharing of loaded libraries. */
static dsrc_status loader_check_file(const char *path, dev_t *dev, ino_t *ino, derr *e)
{
    unsigned char head[4];
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return derr_set(e, DSRC_E_NOT_FOUND, "%s: no such file", path);
        return derr_set(e, DSRC_E_INVALID_CONFIG, "%s: cannot open: %s", path,
                        strerror(errno));
    }
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return derr_set(e, DSRC_E_INVALID_CONFIG, "%s: cannot stat: %s", path,
                        strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: not a shared library (not a regular file)", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: not a shared library (file is empty)", path);
    }
    do
        n = read(fd, head, sizeof head);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        int err = errno;
        close(fd);
        return derr_set(e, DSRC_E_INVALID_CONFIG, "%s: cannot read: %s", path,
                        strerror(err));
    }
    close(fd);
    if (n < (ssize_t)sizeof head || memcmp(head, "\177ELF", 4) != 0)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: not a shared library (not an ELF file)", path);
    *dev = st.st_dev;
    *ino = st.st_ino;
    return DSRC_OK;
}

/* Step 2: the magic block.  Copies it into p->abi. */
static dsrc_status loader_check_abi(loader_plugin *p, derr *e)
{
    const char *path = p->path;
    dsrc_plugin_abi_fn abi_fn;
    const dsrc_abi_info *info;
    void *sym;

    sym = lt_dlsym(p->handle, DSRC_ABI_SYMBOL);
    if (!sym)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: no " DSRC_ABI_SYMBOL " symbol: not a dsrc plugin "
                        "(a plugin defines its magic block with DSRC_PLUGIN_ABI())",
                        path);
    abi_fn = (dsrc_plugin_abi_fn)sym;
    info = abi_fn();
    if (!info)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: " DSRC_ABI_SYMBOL "() returned no magic block", path);
    if (info->struct_size < LOADER_ABI_HEAD_SIZE || info->struct_size > LOADER_STRUCT_SIZE_MAX)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: malformed magic block (struct_size %u)", path,
                        (unsigned)info->struct_size);
    if (info->magic != DSRC_ABI_MAGIC)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: bad magic value 0x%08x in the magic block (expected "
                        "0x%08x): not a dsrc plugin",
                        path, (unsigned)info->magic, (unsigned)DSRC_ABI_MAGIC);
    if (info->abi_major != DSRC_ABI_MAJOR)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: built for dsrc plugin ABI %u.%u, this host speaks ABI "
                        "%d.%d; rebuild the plugin against this host's <dsrc/plugin.h>",
                        path, (unsigned)info->abi_major, (unsigned)info->abi_minor,
                        DSRC_ABI_MAJOR, DSRC_ABI_MINOR);
    if (info->struct_size < LOADER_ABI_V1_0_SIZE)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: malformed magic block (struct_size %u, ABI 1.0 has %zu)",
                        path, (unsigned)info->struct_size, (size_t)LOADER_ABI_V1_0_SIZE);

    memset(&p->abi, 0, sizeof p->abi);
    memcpy(&p->abi, info,
           info->struct_size < sizeof p->abi ? info->struct_size : sizeof p->abi);

    if (p->abi.driver_size < LOADER_DRIVER_V1_0_SIZE || p->abi.driver_size > LOADER_STRUCT_SIZE_MAX)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: magic block gives sizeof(dsrc_driver) = %u, ABI 1.0 "
                        "needs at least %zu: corrupt magic block",
                        path, (unsigned)p->abi.driver_size, (size_t)LOADER_DRIVER_V1_0_SIZE);
    if (p->abi.host_size < LOADER_HOST_V1_0_SIZE || p->abi.host_size > LOADER_STRUCT_SIZE_MAX)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: magic block gives sizeof(dsrc_host) = %u, ABI 1.0 "
                        "needs at least %zu: corrupt magic block",
                        path, (unsigned)p->abi.host_size, (size_t)LOADER_HOST_V1_0_SIZE);
    if (p->abi.error_size < LOADER_ERROR_V1_0_SIZE || p->abi.error_size > LOADER_STRUCT_SIZE_MAX)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: magic block gives sizeof(dsrc_error) = %u, ABI 1.0 "
                        "needs at least %zu: corrupt magic block",
                        path, (unsigned)p->abi.error_size, (size_t)LOADER_ERROR_V1_0_SIZE);
    /* Array elements are frozen for the whole major: a different size means
     * a different compiler ABI (e.g. 32-bit) or an edited header. */
    if (p->abi.option_size != sizeof(dsrc_option) ||
        p->abi.column_size != sizeof(dsrc_column) ||
        p->abi.cell_size != sizeof(dsrc_cell))
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: struct sizes differ from this host's (dsrc_option %u/%zu, "
                        "dsrc_column %u/%zu, dsrc_cell %u/%zu): built with an "
                        "incompatible compiler or a modified <dsrc/plugin.h>",
                        path, (unsigned)p->abi.option_size, sizeof(dsrc_option),
                        (unsigned)p->abi.column_size, sizeof(dsrc_column),
                        (unsigned)p->abi.cell_size, sizeof(dsrc_cell));
    /* since 1.1: a 1.0 magic block ends before foreign_key_size (read as 0
     * from the zero-extended copy); the plugin then reports no keys. */
    if (p->abi.foreign_key_size && p->abi.foreign_key_size != sizeof(dsrc_foreign_key))
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: struct sizes differ from this host's (dsrc_foreign_key %u/%zu): "
                        "built with an incompatible compiler or a modified <dsrc/plugin.h>",
                        path, (unsigned)p->abi.foreign_key_size, sizeof(dsrc_foreign_key));
    return DSRC_OK;
}

/* The size of the driver a host of loader_host_abi has: 1.0's ends with
 * storage. */
#define LOADER_DRIVER_V1_0_FULL_SIZE                                              \
    (offsetof(dsrc_driver, storage) + sizeof(((dsrc_driver *)0)->storage))
/* The driver of 1.1 to 1.3: it ends with validate (1.4 appended query). */
#define LOADER_DRIVER_V1_3_SIZE                                                   \
    (offsetof(dsrc_driver, validate) + sizeof(((dsrc_driver *)0)->validate))

static size_t loader_driver_size(void)
{
    return loader_host_abi < DSRC_ABI_VERSION_1_1   ? LOADER_DRIVER_V1_0_FULL_SIZE
           : loader_host_abi < DSRC_ABI_VERSION_1_4 ? LOADER_DRIVER_V1_3_SIZE
                                                    : sizeof(dsrc_driver);
}

/* The host services as a host of loader_host_abi has them. */
static const dsrc_host *loader_host(void)
{
    static dsrc_host older;
    size_t size;

    if (loader_host_abi >= DSRC_ABI_VERSION)
        return ctx_host();
    memset(&older, 0, sizeof older);
    /* 1.4 changed the driver only: a 1.3 host's table is the live one */
    size = loader_host_abi < DSRC_ABI_VERSION_1_1   ? LOADER_HOST_V1_0_SIZE
           : loader_host_abi < DSRC_ABI_VERSION_1_2 ? LOADER_HOST_V1_1_SIZE
           : loader_host_abi < DSRC_ABI_VERSION_1_3 ? LOADER_HOST_V1_2_SIZE
                                                    : sizeof(dsrc_host);
    memcpy(&older, ctx_host(), size);
    older.struct_size = (uint32_t)size;
    older.abi_version = loader_host_abi;
    return &older;
}

void loader_set_host_abi(uint32_t version)
{
    loader_host_abi = version >= DSRC_ABI_VERSION_1_0 && version < DSRC_ABI_VERSION
                          ? version
                          : DSRC_ABI_VERSION;
}

/* Step 3: the entry point. */
static dsrc_status loader_init(loader_plugin *p, derr *e)
{
    dsrc_plugin_init_fn init_fn;
    dsrc_error perr;
    dsrc_status st;
    void *sym;

    sym = lt_dlsym(p->handle, DSRC_INIT_SYMBOL);
    if (!sym)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: no " DSRC_INIT_SYMBOL " symbol: not a dsrc plugin", p->path);
    init_fn = (dsrc_plugin_init_fn)sym;
    p->entry = sym;

    memset(&p->driver, 0, sizeof p->driver);
    p->driver.struct_size = (uint32_t)loader_driver_size();
    error_init(&perr);
    st = init_fn(loader_host_abi, loader_host(), &p->driver, &perr);
    /* What lies past the driver an older host has is not the plugin's to
     * set: such a host would not read it. */
    memset((char *)&p->driver + loader_driver_size(), 0, sizeof p->driver - loader_driver_size());
    p->driver.struct_size = sizeof p->driver;
    if (st != DSRC_OK) {
        char *prefix = NULL;

        if (perr.status == DSRC_OK)
            perr.status = st;
        if (asprintf(&prefix, "%s: " DSRC_INIT_SYMBOL " failed", p->path) < 0)
            prefix = NULL;
        derr_from_plugin(e, &perr, p->name, DSRC_INIT_SYMBOL, prefix ? prefix : p->path);
        free(prefix);
        /* Whatever the plugin's own status, to the caller this is a refused
         * file; the plugin's reason is in the message. */
        e->status = DSRC_E_INVALID_CONFIG;
        return DSRC_E_INVALID_CONFIG;
    }
    derr_plugin_ok(&perr, NULL, p->name, DSRC_INIT_SYMBOL);
    return DSRC_OK;
}

/* Step 5b: the option table, which the configuration code walks. */
static dsrc_status loader_check_options(loader_plugin *p, derr *e)
{
    const dsrc_option *opt = p->driver.options;
    size_t n, i, j;

    for (n = 0; n < LOADER_OPTIONS_MAX && opt[n].name; n++)
        ;
    if (n == LOADER_OPTIONS_MAX)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: option table has no end (more than %d entries; "
                        "terminate it with DSRC_OPTION_END)",
                        p->path, LOADER_OPTIONS_MAX - 1);
    for (i = 0; i < n; i++) {
        if (!loader_option_name_valid(opt[i].name))
            return derr_set(e, DSRC_E_INVALID_CONFIG,
                            "%s: option '%s' has an invalid name (use lower_snake_case)",
                            p->path, opt[i].name);
        for (j = 0; j < i; j++)
            if (strcmp(opt[i].name, opt[j].name) == 0)
                return derr_set(e, DSRC_E_INVALID_CONFIG,
                                "%s: option '%s' is declared twice", p->path,
                                opt[i].name);
        if (opt[i].type == DSRC_OPT_ENUM && (!opt[i].choices || !*opt[i].choices))
            return derr_set(e, DSRC_E_INVALID_CONFIG,
                            "%s: option '%s' is an enum without choices", p->path,
                            opt[i].name);
    }
    return DSRC_OK;
}

/* Step 5c (since 1.1): the option limits, which the configuration code
 * applies.  Each names an option of the table once; a minimum or maximum
 * only on an int, duration or double option, min <= max; a pattern only
 * on a string or path option, and it compiles. */
static dsrc_status loader_check_limits(loader_plugin *p, derr *e)
{
    const dsrc_option_limit *lim = p->driver.option_limits;
    size_t n, i, j;

    if (!lim)
        return DSRC_OK;
    if (p->abi.option_limit_size != sizeof(dsrc_option_limit))
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: sets option_limits, but its magic block gives "
                        "sizeof(dsrc_option_limit) = %u (this host's is %zu)",
                        p->path, (unsigned)p->abi.option_limit_size, sizeof(dsrc_option_limit));
    for (n = 0; n < LOADER_OPTIONS_MAX && lim[n].name; n++)
        ;
    if (n == LOADER_OPTIONS_MAX)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: option limit table has no end (more than %d entries; "
                        "terminate it with DSRC_OPTION_LIMIT_END)",
                        p->path, LOADER_OPTIONS_MAX - 1);
    for (i = 0; i < n; i++) {
        const dsrc_option *o = loader_option(p, lim[i].name);
        int range = (lim[i].flags & (DSRC_LIMIT_MIN | DSRC_LIMIT_MAX)) != 0;
        regex_t re;
        int rc;

        if (!o)
            return derr_set(e, DSRC_E_INVALID_CONFIG,
                            "%s: option limit for '%s', which is not in the option table",
                            p->path, lim[i].name);
        for (j = 0; j < i; j++)
            if (strcmp(lim[i].name, lim[j].name) == 0)
                return derr_set(e, DSRC_E_INVALID_CONFIG,
                                "%s: option '%s' has two limits", p->path, lim[i].name);
        if (lim[i].flags & ~(DSRC_LIMIT_MIN | DSRC_LIMIT_MAX))
            return derr_set(e, DSRC_E_INVALID_CONFIG,
                            "%s: option limit for '%s' has unknown flags 0x%x", p->path,
                            lim[i].name, lim[i].flags);
        if (!range && !lim[i].pattern)
            return derr_set(e, DSRC_E_INVALID_CONFIG,
                            "%s: option limit for '%s' limits nothing (no minimum, maximum "
                            "or pattern)", p->path, lim[i].name);
        if (range && o->type != DSRC_OPT_INT && o->type != DSRC_OPT_DURATION &&
            o->type != DSRC_OPT_DOUBLE)
            return derr_set(e, DSRC_E_INVALID_CONFIG,
                            "%s: option limit for '%s': a minimum or maximum applies only to "
                            "int, duration and double options", p->path, lim[i].name);
        if ((lim[i].flags & DSRC_LIMIT_MIN) && (lim[i].flags & DSRC_LIMIT_MAX) &&
            lim[i].min > lim[i].max)
            return derr_set(e, DSRC_E_INVALID_CONFIG,
                            "%s: option limit for '%s': minimum %lld is above maximum %lld",
                            p->path, lim[i].name, (long long)lim[i].min,
                            (long long)lim[i].max);
        if (!lim[i].pattern)
            continue;
        if (o->type != DSRC_OPT_STRING && o->type != DSRC_OPT_PATH)
            return derr_set(e, DSRC_E_INVALID_CONFIG,
                            "%s: option limit for '%s': a pattern applies only to string and "
                            "path options", p->path, lim[i].name);
        if ((rc = loader_regcomp(&re, lim[i].pattern)) != 0) {
            char why[128];
            regerror(rc, &re, why, sizeof why);
            return derr_set(e, DSRC_E_INVALID_CONFIG,
                            "%s: option limit for '%s': pattern '%s' does not compile: %s",
                            p->path, lim[i].name, lim[i].pattern, why);
        }
        regfree(&re);
    }
    return DSRC_OK;
}

/* Steps 4 and 5: name and members. */
static dsrc_status loader_check_driver(loader_plugin *p, derr *e)
{
    dsrc_driver *d = &p->driver;
    static const struct {
        const char *name;
        size_t offset;
    } required[] = {
        {"open", offsetof(dsrc_driver, open)},
        {"close", offsetof(dsrc_driver, close)},
        {"ping", offsetof(dsrc_driver, ping)},
        {"list", offsetof(dsrc_driver, list)},
        {"describe", offsetof(dsrc_driver, describe)},
        {"fetch", offsetof(dsrc_driver, fetch)},
    };
    size_t i;

    if (!d->name)
        return derr_set(e, DSRC_E_INVALID_CONFIG, "%s: required member 'name' is missing",
                        p->path);
    if (strcmp(d->name, p->name) != 0)
        return derr_set(e, DSRC_E_INVALID_CONFIG, "%s: declares name '%s', expected '%s'",
                        p->path, d->name, p->name);
    if (d->abi_version / 10000 != DSRC_ABI_MAJOR)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s: driver implements ABI %u.%u, this host speaks ABI %d.%d "
                        "(set driver->abi_version = DSRC_ABI_VERSION)",
                        p->path, (unsigned)(d->abi_version / 10000),
                        (unsigned)(d->abi_version % 10000), DSRC_ABI_MAJOR,
                        DSRC_ABI_MINOR);
    for (i = 0; i < sizeof required / sizeof required[0]; i++) {
        void (*fn)(void);
        memcpy(&fn, (const char *)d + required[i].offset, sizeof fn);
        if (!fn)
            return derr_set(e, DSRC_E_INVALID_CONFIG,
                            "%s: required member '%s' is missing", p->path,
                            required[i].name);
    }
    if (!d->options)
        d->options = loader_no_options;
    if (loader_check_options(p, e) != DSRC_OK || loader_check_limits(p, e) != DSRC_OK)
        return e->status;
    if (!d->version)
        d->version = "";
    if (!d->description)
        d->description = "";
    if (!d->discover) {
        d->discover = loader_stub_discover;
        if (d->capabilities & DSRC_CAP_DISCOVER)
            log_msg(DSRC_LOG_WARNING, NULL, p->name,
                    "%s declares the discover capability but has no discover(); "
                    "ignoring the capability", p->path);
        d->capabilities &= ~DSRC_CAP_DISCOVER;
    }
    if (!d->cancel) {
        d->cancel = loader_stub_cancel;
        if (d->capabilities & DSRC_CAP_CANCEL)
            log_msg(DSRC_LOG_WARNING, NULL, p->name,
                    "%s declares the cancel capability but has no cancel(); "
                    "ignoring the capability", p->path);
        d->capabilities &= ~DSRC_CAP_CANCEL;
    }
    if (!d->unload)
        d->unload = loader_stub_unload;
    if (!d->storage) {
        d->storage = loader_stub_storage;
        if (d->capabilities & DSRC_CAP_STORAGE)
            log_msg(DSRC_LOG_WARNING, NULL, p->name,
                    "%s declares the storage capability but has no storage(); "
                    "ignoring the capability", p->path);
        d->capabilities &= ~DSRC_CAP_STORAGE;
    }
    if (!d->query || !(d->capabilities & DSRC_CAP_QUERY)) {
        if (!d->query && (d->capabilities & DSRC_CAP_QUERY))
            log_msg(DSRC_LOG_WARNING, NULL, p->name,
                    "%s declares the query capability but has no query(); "
                    "ignoring the capability", p->path);
        d->query = loader_stub_query;
        d->capabilities &= ~DSRC_CAP_QUERY;
    }
    return DSRC_OK;
}

static void loader_plugin_destroy(loader_plugin *p)
{
    if (p->handle)
        lt_dlclose(p->handle);
    free(p->name);
    free(p->path);
    free(p);
}

/* The system loader identifies a library by its path before its inode: a
 * plugin file replaced on disk (a package upgrade) and opened again by the
 * same path is the instance already in memory.  That instance must not be
 * initialised twice; find it by its entry point.  Returns 0 when `p` is a
 * new instance, 1 with *out set to the loaded one, or -1 with e filled when
 * the loaded one has another name. */
static int loader_find_instance(loader_plugin *p, loader_plugin **out, derr *e)
{
    void *entry = lt_dlsym(p->handle, DSRC_INIT_SYMBOL);
    loader_plugin *q;

    if (!entry)
        return 0;
    for (q = loader_loaded; q; q = q->next)
        if (q->entry == entry)
            break;
    if (!q)
        return 0;
    if (strcmp(q->name, p->name) != 0) {
        derr_set(e, DSRC_E_INVALID_CONFIG, "%s: declares name '%s', expected '%s'",
                 p->path, q->driver.name, p->name);
        return -1;
    }
    if (strcmp(q->path, p->path) == 0)
        log_msg(DSRC_LOG_WARNING, NULL, q->name,
                "%s was replaced on disk since it was loaded; the loaded version "
                "stays in use until the program restarts",
                p->path);
    else
        log_msg(DSRC_LOG_WARNING, NULL, q->name,
                "%s is the library already loaded from %s, which was replaced on "
                "disk since; the loaded version stays in use until the program "
                "restarts",
                p->path, q->path);
    *out = q;
    return 1;
}

/* Open and check `path`; on success *out is the plugin, initialised and on
 * the process-wide list (a new one has no reference yet). */
static dsrc_status loader_open(const char *path, const char *name, dev_t dev, ino_t ino,
                           loader_plugin **out, derr *e)
{
    loader_plugin *p = calloc(1, sizeof *p);
    lt_dladvise advise;
    void *probe;
    char *why;

    if (!p || !(p->name = strdup(name)) || !(p->path = strdup(path))) {
        if (p)
            loader_plugin_destroy(p);
        return derr_set(e, DSRC_E_INTERNAL, "%s: out of memory", path);
    }
    p->dev = dev;
    p->ino = ino;

    probe = loader_probe(path, &why);
    if (!probe) {
        derr_set(e, DSRC_E_INVALID_CONFIG, "%s: cannot load: %s", path,
                 why ? why : "out of memory");
        free(why);
        loader_plugin_destroy(p);
        return DSRC_E_INVALID_CONFIG;
    }
    if (lt_dladvise_init(&advise) == 0) {
        if (lt_dladvise_local(&advise) == 0)
            p->handle = lt_dlopenadvise(path, advise);
        lt_dladvise_destroy(&advise);
    }
    dlclose(probe);
    if (!p->handle) {
        const char *lt = lt_dlerror();
        derr_set(e, DSRC_E_INVALID_CONFIG, "%s: cannot load: %s", path,
                 lt ? lt : "unknown error");
        loader_plugin_destroy(p);
        return DSRC_E_INVALID_CONFIG;
    }
    switch (loader_find_instance(p, out, e)) {
    case 1:
        loader_plugin_destroy(p); /* drops only this open's reference */
        return DSRC_OK;
    case -1:
        loader_plugin_destroy(p);
        return DSRC_E_INVALID_CONFIG;
    default:
        break;
    }
    if (loader_check_abi(p, e) != DSRC_OK || loader_init(p, e) != DSRC_OK) {
        loader_plugin_destroy(p);
        return e->status;
    }
    if (loader_check_driver(p, e) != DSRC_OK) {
        /* init succeeded: let the plugin release what it set up. */
        if (p->driver.unload)
            p->driver.unload();
        loader_plugin_destroy(p);
        return e->status;
    }
    p->next = loader_loaded;
    loader_loaded = p;
    *out = p;
    return DSRC_OK;
}

/* Drop one reference; the last one unloads the plugin. */
static void loader_release(loader_plugin *p)
{
    loader_plugin **pp;

    if (--p->refs > 0)
        return;
    for (pp = &loader_loaded; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    p->driver.unload();
    loader_plugin_destroy(p);
}

/* ------------------------------------------------------------------------ */
/* Public functions                                                          */

/* libltdl keeps process-wide state and is not thread-safe, and a set grows
 * when a plugin is loaded: every public function that may load, unload or
 * add runs under this lock (recursive: loader_scan's callback may call
 * back), so that a thread may check a source (registry_build) with the
 * daemon's plugin set while the main thread reloads. */
static pthread_mutex_t loader_mu;
static pthread_once_t loader_mu_once = PTHREAD_ONCE_INIT;

static void loader_mu_init(void)
{
    pthread_mutexattr_t a;

    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&loader_mu, &a);
    pthread_mutexattr_destroy(&a);
}

static void loader_lock(void)
{
    pthread_once(&loader_mu_once, loader_mu_init);
    pthread_mutex_lock(&loader_mu);
}

static void loader_unlock(void)
{
    pthread_mutex_unlock(&loader_mu);
}

loader_set *loader_new(const char *const *dirs, size_t n_dirs)
{
    const char *env = getenv("DSRC_PLUGIN_PATH");
    size_t max = n_dirs, i;
    const char *s;
    loader_set *set;

    if (env)
        for (s = env; *s; s++)
            max += *s == ':';
    max += env ? 1 : 0;

    set = calloc(1, sizeof *set);
    if (!set)
        return NULL;
    set->dirs = calloc(max ? max : 1, sizeof *set->dirs);
    if (!set->dirs) {
        free(set);
        return NULL;
    }
    if (env) {
        for (s = env;;) {
            const char *end = strchr(s, ':');
            size_t len = end ? (size_t)(end - s) : strlen(s);
            if (loader_dir_add(set, s, len) != 0)
                goto fail;
            if (!end)
                break;
            s = end + 1;
        }
    }
    for (i = 0; i < n_dirs; i++)
        if (dirs[i] && loader_dir_add(set, dirs[i], strlen(dirs[i])) != 0)
            goto fail;
    loader_lock();
    if (lt_dlinit() != 0) {
        loader_unlock();
        goto fail;
    }
    loader_unlock();
    return set;

fail:
    for (i = 0; i < set->n_dirs; i++)
        free(set->dirs[i]);
    free(set->dirs);
    free(set);
    return NULL;
}

void loader_free(loader_set *set)
{
    size_t i;

    if (!set)
        return;
    loader_lock();
    for (i = set->n_plugins; i > 0; i--)
        loader_release(set->plugins[i - 1]);
    free(set->plugins);
    for (i = 0; i < set->n_dirs; i++)
        free(set->dirs[i]);
    free(set->dirs);
    free(set);
    lt_dlexit();
    loader_unlock();
}

static dsrc_status loader_load(loader_set *set, const char *path, const char *expected_name,
                           loader_plugin **out, derr *e)
{
    char *derived = NULL, *local = NULL;
    const char *name = expected_name;
    loader_plugin *p;
    dev_t dev = 0;
    ino_t ino = 0;
    dsrc_status st;

    if (!path || !*path)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT, "no plugin file given");
    /* A bare file name would make the system loader search its library
     * path instead of opening this file. */
    if (!strchr(path, '/')) {
        if (asprintf(&local, "./%s", path) < 0)
            return derr_set(e, DSRC_E_INTERNAL, "%s: out of memory", path);
        path = local;
    }
    if (!name) {
        derived = loader_name_from_path(path);
        if (!derived)
            return derr_set(e, DSRC_E_INTERNAL, "%s: out of memory", path);
        name = derived;
    }
    if (!loader_name_valid(name)) {
        derr_set(e, DSRC_E_INVALID_CONFIG,
                 "%s: invalid plugin name '%s' (use lower-case letters, digits, "
                 "'_' and '-')",
                 path, name);
        free(derived);
        return DSRC_E_INVALID_CONFIG;
    }
    st = loader_check_file(path, &dev, &ino, e);
    if (st != DSRC_OK)
        goto done;

    p = loader_set_find(set, name);
    if (p) {
        if (p->dev == dev && p->ino == ino)
            *out = p;
        else
            st = derr_set(e, DSRC_E_INVALID_CONFIG,
                          "%s: plugin '%s' is already loaded from %s", path, name,
                          p->path);
        goto done;
    }
    for (p = loader_loaded; p; p = p->next)
        if (p->dev == dev && p->ino == ino)
            break;
    if (p && strcmp(p->name, name) != 0) {
        st = derr_set(e, DSRC_E_INVALID_CONFIG, "%s: declares name '%s', expected '%s'",
                      path, p->driver.name, name);
        goto done;
    }
    if (!p) {
        st = loader_open(path, name, dev, ino, &p, e);
        if (st != DSRC_OK)
            goto done;
    }
    if (loader_set_add(set, p) != 0) {
        if (p->refs == 0) {
            p->refs = 1;
            loader_release(p);
        }
        st = derr_set(e, DSRC_E_INTERNAL, "%s: out of memory", path);
        goto done;
    }
    *out = p;
done:
    free(derived);
    free(local);
    return st;
}

dsrc_status loader_load_file(loader_set *set, const char *path, const char *expected_name,
                         loader_plugin **out, derr *e)
{
    derr local = {0};
    dsrc_status st;

    loader_lock();
    st = loader_load(set, path, expected_name, out, e ? e : &local);
    loader_unlock();
    derr_clear(&local);
    return st;
}
/* The name of the NAME.so in set's directories nearest to `name` ("did
 * you mean"), into buf: 1, or 0 when none is near. */
static int loader_nearest(const loader_set *set, const char *name, char *buf, size_t n)
{
    char *names[64];
    size_t i, k = 0;
    const char *best;
    int found = 0;

    for (i = 0; i < set->n_dirs; i++) {
        DIR *d = opendir(set->dirs[i]);
        struct dirent *de;
        while (d && k < sizeof names / sizeof names[0] && (de = readdir(d)) != NULL) {
            size_t len = strlen(de->d_name);
            if (len > 3 && strcmp(de->d_name + len - 3, ".so") == 0 &&
                (names[k] = strndup(de->d_name, len - 3)) != NULL)
                k++;
        }
        if (d)
            closedir(d);
    }
    if ((best = nearest_name(name, (const char *const *)names, k)) != NULL) {
        snprintf(buf, n, "%s", best);
        found = 1;
    }
    for (i = 0; i < k; i++)
        free(names[i]);
    return found;
}


static dsrc_status loader_find(loader_set *set, const char *name, loader_plugin **out, derr *e)
{
    loader_plugin *p;
    char *list = NULL;
    size_t i, len = 0;
    dsrc_status st;

    if (!loader_name_valid(name))
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "invalid plugin name '%s' (use lower-case letters, digits, "
                        "'_' and '-')",
                        name ? name : "");
    p = loader_set_find(set, name);
    if (p) {
        *out = p;
        return DSRC_OK;
    }
    for (i = 0; i < set->n_dirs; i++) {
        struct stat st_buf;
        char *path = loader_join(set->dirs[i], name);

        if (!path)
            return derr_set(e, DSRC_E_INTERNAL, "out of memory");
        if (stat(path, &st_buf) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
            free(path);
            continue;
        }
        st = loader_load(set, path, name, out, e);
        free(path);
        return st;
    }

    if (set->n_dirs == 0)
        return derr_set(e, DSRC_E_NOT_FOUND,
                        "no plugin '%s' (no plugin directory is configured; set "
                        "plugin_dir or DSRC_PLUGIN_PATH)",
                        name);
    for (i = 0; i < set->n_dirs; i++)
        len += strlen(set->dirs[i]) + 2;
    list = malloc(len + 1);
    if (!list)
        return derr_set(e, DSRC_E_NOT_FOUND, "no plugin '%s'", name);
    list[0] = '\0';
    for (i = 0; i < set->n_dirs; i++) {
        if (i)
            strcat(list, ", ");
        strcat(list, set->dirs[i]);
    }
    {
        char near[256];
        int has_near = loader_nearest(set, name, near, sizeof near);
        st = derr_set(e, DSRC_E_NOT_FOUND, "no plugin '%s' (looked for %s.so in %s)%s%s%s",
                      name, name, list, has_near ? "; did you mean '" : "",
                      has_near ? near : "", has_near ? "'?" : "");
    }
    free(list);
    return st;
}

dsrc_status loader_get(loader_set *set, const char *name, loader_plugin **out, derr *e)
{
    derr local = {0};
    dsrc_status st;

    loader_lock();
    st = loader_find(set, name, out, e ? e : &local);
    loader_unlock();
    derr_clear(&local);
    return st;
}

static int loader_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The NAME.so entries of `dir`, sorted; *n set.  NULL with *n == 0 when the
 * directory cannot be read (a missing directory is not an error: the
 * default directories need not all exist). */
static char **loader_list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t cap = 0;

    *n = 0;
    if (!d)
        return NULL;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len <= 3 || strcmp(de->d_name + len - 3, ".so") != 0)
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **v = realloc(names, ncap * sizeof *v);
            if (!v)
                break;
            names = v;
            cap = ncap;
        }
        names[*n] = strndup(de->d_name, len - 3);
        if (!names[*n])
            break;
        (*n)++;
    }
    closedir(d);
    if (*n > 1)
        qsort(names, *n, sizeof *names, loader_cmp_names);
    return names;
}

size_t loader_scan(loader_set *set, loader_scan_fn fn, void *user)
{
    char **seen = NULL;
    size_t n_seen = 0, cap_seen = 0, i, j, k;

    loader_lock();
    for (i = 0; i < set->n_dirs; i++) {
        size_t n;
        char **names = loader_list_dir(set->dirs[i], &n);

        for (j = 0; j < n; j++) {
            loader_plugin *p = NULL;
            derr e = {0};
            char *path;

            for (k = 0; k < n_seen; k++)
                if (strcmp(seen[k], names[j]) == 0)
                    break;
            if (k < n_seen)
                continue; /* an earlier directory has this name */
            if (n_seen == cap_seen) {
                size_t ncap = cap_seen ? cap_seen * 2 : 16;
                char **v = realloc(seen, ncap * sizeof *v);
                if (!v)
                    continue;
                seen = v;
                cap_seen = ncap;
            }
            seen[n_seen++] = names[j];
            names[j] = NULL;

            path = loader_join(set->dirs[i], seen[n_seen - 1]);
            if (!path)
                continue;
            if (!loader_name_valid(seen[n_seen - 1]))
                derr_set(&e, DSRC_E_INVALID_CONFIG,
                         "%s: invalid plugin name '%s' (use lower-case letters, "
                         "digits, '_' and '-')",
                         path, seen[n_seen - 1]);
            else if (!(p = loader_set_find(set, seen[n_seen - 1])))
                loader_load(set, path, seen[n_seen - 1], &p, &e);
            if (e.status != DSRC_OK)
                p = NULL;
            if (fn)
                fn(user, seen[n_seen - 1], path, p, p ? NULL : &e);
            derr_clear(&e);
            free(path);
        }
        for (j = 0; j < n; j++)
            free(names[j]);
        free(names);
    }
    loader_unlock();
    for (k = 0; k < n_seen; k++)
        free(seen[k]);
    free(seen);
    return n_seen;
}

const dsrc_driver *loader_driver(const loader_plugin *p)
{
    return &p->driver;
}

const char *loader_name(const loader_plugin *p)
{
    return p->name;
}

const char *loader_path(const loader_plugin *p)
{
    return p->path;
}

const dsrc_abi_info *loader_abi(const loader_plugin *p)
{
    return &p->abi;
}

size_t loader_dirs(const loader_set *set, const char *const **dirs)
{
    if (dirs)
        *dirs = (const char *const *)set->dirs;
    return set->n_dirs;
}

const dsrc_option *loader_option(const loader_plugin *p, const char *name)
{
    const dsrc_option *o;

    if (!name)
        return NULL;
    for (o = p->driver.options; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

int loader_regcomp(regex_t *re, const char *pattern)
{
    char *anchored = NULL;
    int rc;

    if (asprintf(&anchored, "^(%s)$", pattern) < 0)
        return REG_ESPACE;
    rc = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    return rc;
}

const dsrc_option_limit *loader_option_limit(const loader_plugin *p, const char *name)
{
    const dsrc_option_limit *l;

    if (!name || !p->driver.option_limits)
        return NULL;
    for (l = p->driver.option_limits; l->name; l++)
        if (strcmp(l->name, name) == 0)
            return l;
    return NULL;
}
