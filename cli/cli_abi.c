/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_abi.c -- dsrc abi-check: a plugin author's check of a built .so
 * against one released ABI minor (see dsrc(1), dsrc-plugin(3)).
 *
 * The plugin is loaded as a host of the target version would load it: its
 * magic block is read, then dsrc_plugin_init() gets that version's number,
 * a host table of that version's size and a driver whose struct_size is
 * that version's (the sizes come from the frozen <dsrc/abi/v1_N.h>).  The
 * bytes of the driver past that size are poisoned: a plugin that writes
 * them sets members its target does not have, which an older host would
 * take for its own memory.  Then the driver is checked as the loader
 * checks it, but strictly, every problem reported rather than the first:
 * required members, capabilities without their member, the option table
 * (lower_snake_case names, no duplicate, an enum with choices, reserved
 * members zero) and, for 1.1, the option limits.  Nothing here is used by
 * the loader: it never changes what a host accepts.
 */
#include <config.h>

#include <dlfcn.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dsrc/abi/v1_0.h>
#include <dsrc/abi/v1_1.h>

#include "cli.h"
#include "base/ctx.h"
#include "base/error.h"

/* Bytes poisoned past the target's driver. */
#define ABI_POISON_LEN 256
#define ABI_POISON 0xA5
/* An option table longer than this has lost its end (as in the loader). */
#define ABI_OPTIONS_MAX 1024

/* One released minor: its number and the sizes its frozen header gives. */
typedef struct abi_target {
    unsigned minor;
    uint32_t version;
    size_t driver_size, host_size, abi_info_size, option_size, column_size, cell_size,
        error_size, foreign_key_size, option_limit_size;
} abi_target;

/* The driver of 1.1 to 1.3, which ends with validate (1.4 appended query). */
#define ABI_DRIVER_V1_3_SIZE                                                      \
    (offsetof(dsrc_driver, validate) + sizeof(((dsrc_driver *)0)->validate))

static const abi_target abi_targets[] = {
    {0, DSRC_V1_0_ABI_VERSION, sizeof(dsrc_v1_0_driver), sizeof(dsrc_v1_0_host),
     sizeof(dsrc_v1_0_abi_info), sizeof(dsrc_v1_0_option), sizeof(dsrc_v1_0_column),
     sizeof(dsrc_v1_0_cell), sizeof(dsrc_v1_0_error), 0, 0},
    {1, DSRC_V1_1_ABI_VERSION, sizeof(dsrc_v1_1_driver), sizeof(dsrc_v1_1_host),
     sizeof(dsrc_v1_1_abi_info), sizeof(dsrc_v1_0_option), sizeof(dsrc_v1_0_column),
     sizeof(dsrc_v1_0_cell), sizeof(dsrc_v1_0_error), sizeof(dsrc_v1_1_foreign_key),
     sizeof(dsrc_v1_1_option_limit)},
    /* 1.2: 1.3's structs, but a host that ends with aws_sign */
    {2, DSRC_ABI_VERSION_1_2, ABI_DRIVER_V1_3_SIZE,
     offsetof(dsrc_host, aws_sign) + sizeof(((dsrc_host *)0)->aws_sign), sizeof(dsrc_abi_info),
     sizeof(dsrc_option), sizeof(dsrc_column), sizeof(dsrc_cell), sizeof(dsrc_error),
     sizeof(dsrc_foreign_key), sizeof(dsrc_option_limit)},
    /* 1.3: 1.4's structs, but a driver that ends with validate */
    {3, DSRC_ABI_VERSION_1_3, ABI_DRIVER_V1_3_SIZE, sizeof(dsrc_host), sizeof(dsrc_abi_info),
     sizeof(dsrc_option), sizeof(dsrc_column), sizeof(dsrc_cell), sizeof(dsrc_error),
     sizeof(dsrc_foreign_key), sizeof(dsrc_option_limit)},
    /* 1.4: 1.5's structs (1.5 added a cell type, DSRC_T_DOUBLE_TEXT) */
    {4, DSRC_ABI_VERSION_1_4, sizeof(dsrc_driver), sizeof(dsrc_host), sizeof(dsrc_abi_info),
     sizeof(dsrc_option), sizeof(dsrc_column), sizeof(dsrc_cell), sizeof(dsrc_error),
     sizeof(dsrc_foreign_key), sizeof(dsrc_option_limit)},
    /* 1.5, the live header's minor (frozen in its own header on release) */
    {5, DSRC_ABI_VERSION_1_5, sizeof(dsrc_driver), sizeof(dsrc_host), sizeof(dsrc_abi_info),
     sizeof(dsrc_option), sizeof(dsrc_column), sizeof(dsrc_cell), sizeof(dsrc_error),
     sizeof(dsrc_foreign_key), sizeof(dsrc_option_limit)},
};
#define ABI_N_TARGETS (sizeof abi_targets / sizeof abi_targets[0])

/* The driver's members, to name what a plugin wrote past its target. */
#define ABI_DM(m) {#m, offsetof(dsrc_driver, m), sizeof(((dsrc_driver *)0)->m)}
static const struct abi_driver_member {
    const char *name;
    size_t off, size;
} abi_driver_members[] = {
    ABI_DM(struct_size), ABI_DM(abi_version), ABI_DM(name),     ABI_DM(version),
    ABI_DM(description), ABI_DM(capabilities), ABI_DM(options), ABI_DM(open),
    ABI_DM(close),       ABI_DM(ping),        ABI_DM(list),     ABI_DM(describe),
    ABI_DM(discover),    ABI_DM(fetch),       ABI_DM(cancel),   ABI_DM(unload),
    ABI_DM(storage),     ABI_DM(option_limits), ABI_DM(validate), ABI_DM(query),
};

/* The report: every problem found, for text or JSON. */
typedef struct abi_report {
    json_t *problems; /* with --json */
    size_t n;
    unsigned target;  /* the minor checked against */
} abi_report;

static DSRC_PRINTF(2, 3) void abi_problem(abi_report *r, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->n++;
    if (r->problems)
        json_array_append_new(r->problems, cli_jstr(msg));
    else
        printf("problem: %s\n", msg);
}

/* A host service a plugin of the target must not call: set in the host
 * table past the target's struct_size, it records the call. */
static int abi_trap_called;

static int abi_trap_cancel_fd(const dsrc_ctx *ctx)
{
    (void)ctx;
    abi_trap_called = 1;
    return -1;
}

static dsrc_status abi_trap_aws_sign(const dsrc_ctx *ctx, const dsrc_aws_request *req,
                                     dsrc_error *err)
{
    (void)ctx;
    (void)req;
    abi_trap_called = 1;
    return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL, "no aws_sign in this host");
}

static dsrc_status abi_trap_bearer_token(const dsrc_ctx *ctx, const char *resource, char *buf,
                                         size_t size, int64_t *expires, dsrc_error *err)
{
    (void)ctx;
    (void)resource;
    (void)buf;
    (void)size;
    (void)expires;
    abi_trap_called = 1;
    return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL, "no bearer_token in this host");
}

/* The magic block against the sizes its declared minor has. */
static void abi_check_magic(abi_report *r, const dsrc_abi_info *info, const abi_target *t)
{
    const abi_target *own = info->abi_minor < ABI_N_TARGETS ? &abi_targets[info->abi_minor]
                                                            : NULL;
#define ABI_SIZE(field, what, want)                                               \
    do {                                                                          \
        if (info->struct_size >= offsetof(dsrc_abi_info, field) + sizeof(uint32_t) && \
            info->field != (want))                                                \
            abi_problem(r, "the magic block gives sizeof(%s) = %u, ABI 1.%u has %zu: " \
                        "built with a modified or mixed <dsrc/plugin.h>",          \
                        what, (unsigned)info->field, own->minor, (size_t)(want));   \
    } while (0)

    if (info->abi_minor > t->minor)
        abi_problem(r, "the magic block declares ABI 1.%u, above the target 1.%u: hosts "
                    "of ABI 1.%u may refuse it or misread it; build against "
                    "<dsrc/abi/v1_%u.h> or target 1.%u",
                    (unsigned)info->abi_minor, t->minor, t->minor, t->minor,
                    (unsigned)info->abi_minor);
    if (!own)
        return; /* a minor newer than this dsrc knows: no sizes to compare */
    if (info->struct_size != own->abi_info_size)
        abi_problem(r, "the magic block is %u bytes, ABI 1.%u's is %zu",
                    (unsigned)info->struct_size, own->minor, own->abi_info_size);
    ABI_SIZE(driver_size, "dsrc_driver", own->driver_size);
    ABI_SIZE(host_size, "dsrc_host", own->host_size);
    ABI_SIZE(option_size, "dsrc_option", own->option_size);
    ABI_SIZE(column_size, "dsrc_column", own->column_size);
    ABI_SIZE(cell_size, "dsrc_cell", own->cell_size);
    ABI_SIZE(error_size, "dsrc_error", own->error_size);
    if (own->minor >= 1) {
        ABI_SIZE(foreign_key_size, "dsrc_foreign_key", own->foreign_key_size);
        ABI_SIZE(option_limit_size, "dsrc_option_limit", own->option_limit_size);
    }
#undef ABI_SIZE
}

/* The bytes past the target's driver that are no longer poison, named by
 * the members of the live driver they fall in. */
static void abi_check_poison(abi_report *r, const unsigned char *drv, const abi_target *t)
{
    size_t i, k, end = sizeof(dsrc_driver) + ABI_POISON_LEN;
    int beyond = 0;

    for (k = 0; k < sizeof abi_driver_members / sizeof abi_driver_members[0]; k++) {
        const struct abi_driver_member *m = &abi_driver_members[k];
        if (m->off < t->driver_size)
            continue;
        for (i = m->off; i < m->off + m->size; i++)
            if (drv[i] != ABI_POISON) {
                abi_problem(r, "dsrc_plugin_init() set driver member '%s', which ABI 1.%u "
                            "does not have (it lies past the host's struct_size, %zu): "
                            "set members with DSRC_DRIVER_SET() or dsrc_driver_fill()",
                            m->name, t->minor, t->driver_size);
                break;
            }
    }
    for (i = sizeof(dsrc_driver); i < end; i++)
        beyond |= drv[i] != ABI_POISON;
    if (beyond)
        abi_problem(r, "dsrc_plugin_init() wrote past the end of this dsrc's dsrc_driver "
                    "(%zu bytes): built against another <dsrc/plugin.h>?",
                    sizeof(dsrc_driver));
}

static void abi_check_options(abi_report *r, const dsrc_option *opt, size_t *n_out)
{
    size_t n, i, j;

    for (n = 0; n < ABI_OPTIONS_MAX && opt[n].name; n++)
        ;
    *n_out = n;
    if (n == ABI_OPTIONS_MAX) {
        abi_problem(r, "the option table has no end (more than %d entries): terminate "
                    "it with DSRC_OPTION_END", ABI_OPTIONS_MAX - 1);
        return;
    }
    for (i = 0; i < n; i++) {
        const dsrc_option *o = &opt[i];
        if (!loader_option_name_valid(o->name))
            abi_problem(r, "option '%s': the name is not lower_snake_case", o->name);
        for (j = 0; j < i; j++)
            if (strcmp(o->name, opt[j].name) == 0) {
                abi_problem(r, "option '%s' is declared twice", o->name);
                break;
            }
        if ((unsigned)o->type > DSRC_OPT_DOUBLE)
            abi_problem(r, "option '%s': unknown type %d", o->name, (int)o->type);
        if (o->type == DSRC_OPT_ENUM && (!o->choices || !*o->choices))
            abi_problem(r, "option '%s' is an enum without choices", o->name);
        if (o->flags & ~(DSRC_OPT_REQUIRED | DSRC_OPT_SECRET))
            abi_problem(r, "option '%s': unknown flags 0x%x", o->name,
                        o->flags & ~(DSRC_OPT_REQUIRED | DSRC_OPT_SECRET));
        if (o->reserved[0] || o->reserved[1])
            abi_problem(r, "option '%s': reserved members are not zero", o->name);
    }
}

/* The option limits (since 1.1): each names an option of the table, once,
 * with limits its type has. */
static void abi_check_limits(abi_report *r, const dsrc_option_limit *lim,
                             const dsrc_option *opt, size_t n_opt)
{
    size_t n, i, j;

    for (n = 0; n < ABI_OPTIONS_MAX && lim[n].name; n++) {
        const dsrc_option_limit *l = &lim[n];
        const dsrc_option *o = NULL;
        for (i = 0; i < n_opt && !o; i++)
            if (opt[i].name && strcmp(opt[i].name, l->name) == 0)
                o = &opt[i];
        if (!o) {
            abi_problem(r, "option limit %zu names option '%s', which the option table "
                        "does not have", n + 1, l->name);
            continue;
        }
        for (j = 0; j < n; j++)
            if (strcmp(lim[j].name, l->name) == 0) {
                abi_problem(r, "option '%s' has two limits", l->name);
                break;
            }
        if (l->flags & ~(DSRC_LIMIT_MIN | DSRC_LIMIT_MAX))
            abi_problem(r, "option '%s': unknown limit flags 0x%x", l->name,
                        l->flags & ~(DSRC_LIMIT_MIN | DSRC_LIMIT_MAX));
        if (l->reserved[0] || l->reserved[1])
            abi_problem(r, "option '%s': the limit's reserved members are not zero",
                        l->name);
        if (l->flags && o->type != DSRC_OPT_INT && o->type != DSRC_OPT_DURATION &&
            o->type != DSRC_OPT_DOUBLE)
            abi_problem(r, "option '%s': min/max on an option of type %s", l->name,
                        cli_opt_type_name(o->type));
        if ((l->flags & DSRC_LIMIT_MIN) && (l->flags & DSRC_LIMIT_MAX) && l->min > l->max)
            abi_problem(r, "option '%s': min %lld is above max %lld", l->name,
                        (long long)l->min, (long long)l->max);
        if (l->pattern) {
            regex_t re;
            if (o->type != DSRC_OPT_STRING && o->type != DSRC_OPT_PATH)
                abi_problem(r, "option '%s': a pattern on an option of type %s", l->name,
                            cli_opt_type_name(o->type));
            else if (regcomp(&re, l->pattern, REG_EXTENDED | REG_NOSUB) != 0)
                abi_problem(r, "option '%s': the pattern '%s' is not a POSIX extended "
                            "regular expression", l->name, l->pattern);
            else
                regfree(&re);
        }
    }
    if (n == ABI_OPTIONS_MAX)
        abi_problem(r, "the option limit table has no end: terminate it with "
                    "DSRC_OPTION_LIMIT_END");
}

/* The driver the plugin filled, as a host of the target reads it. */
static void abi_check_driver(abi_report *r, const dsrc_driver *d, const abi_target *t,
                             const char *file_name)
{
    static const struct {
        const char *name;
        size_t off;
    } required[] = {
        {"open", offsetof(dsrc_driver, open)},         {"close", offsetof(dsrc_driver, close)},
        {"ping", offsetof(dsrc_driver, ping)},         {"list", offsetof(dsrc_driver, list)},
        {"describe", offsetof(dsrc_driver, describe)}, {"fetch", offsetof(dsrc_driver, fetch)},
    };
    static const struct {
        uint32_t cap;
        const char *cap_name, *member;
        size_t off;
    } caps[] = {
        {DSRC_CAP_DISCOVER, "DSRC_CAP_DISCOVER", "discover", offsetof(dsrc_driver, discover)},
        {DSRC_CAP_CANCEL, "DSRC_CAP_CANCEL", "cancel", offsetof(dsrc_driver, cancel)},
        {DSRC_CAP_STORAGE, "DSRC_CAP_STORAGE", "storage", offsetof(dsrc_driver, storage)},
        {DSRC_CAP_QUERY, "DSRC_CAP_QUERY", "query", offsetof(dsrc_driver, query)},
    };
    size_t i, n_opt = 0;
    void (*fn)(void);

    if (d->struct_size != t->driver_size)
        abi_problem(r, "dsrc_plugin_init() changed driver->struct_size from %zu to %u",
                    t->driver_size, (unsigned)d->struct_size);
    if (d->abi_version / 10000 != DSRC_ABI_MAJOR)
        abi_problem(r, "driver->abi_version is %u, not an ABI %d version (set it to "
                    "DSRC_ABI_VERSION)", (unsigned)d->abi_version, DSRC_ABI_MAJOR);
    else if (d->abi_version % 10000 > t->minor)
        abi_problem(r, "driver->abi_version says ABI 1.%u, above the target 1.%u",
                    (unsigned)(d->abi_version % 10000), t->minor);
    if (!d->name)
        abi_problem(r, "required member 'name' is missing");
    else if (strcmp(d->name, file_name) != 0)
        abi_problem(r, "the driver's name is '%s' but the file is %s.so: a host refuses it",
                    d->name, file_name);
    for (i = 0; i < sizeof required / sizeof required[0]; i++) {
        memcpy(&fn, (const char *)d + required[i].off, sizeof fn);
        if (!fn)
            abi_problem(r, "required member '%s' is missing", required[i].name);
    }
    for (i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        if (caps[i].off >= t->driver_size) {
            /* the member is past the target's driver: so is the capability */
            if (d->capabilities & caps[i].cap)
                abi_problem(r, "declares %s, which ABI 1.%u does not have (its %s() is past "
                            "the target's driver)", caps[i].cap_name, t->minor, caps[i].member);
            continue;
        }
        memcpy(&fn, (const char *)d + caps[i].off, sizeof fn);
        if ((d->capabilities & caps[i].cap) && !fn)
            abi_problem(r, "declares %s but has no %s()", caps[i].cap_name, caps[i].member);
    }
    if (d->options)
        abi_check_options(r, d->options, &n_opt);
    if (t->minor >= 1 && d->option_limits) {
        if (!d->options)
            abi_problem(r, "option_limits without an option table");
        else if (n_opt < ABI_OPTIONS_MAX)
            abi_check_limits(r, d->option_limits, d->options, n_opt);
    }
}

static int abi_opt(cli *c, int opt, const char *arg, void *user)
{
    (void)c;
    if (opt == 't')
        *(const char **)user = arg;
    return 0;
}

/* Load, init and check; the report's problems are counted in r->n.  0, or
 * an exit status when the file cannot be checked at all (printed). */
static int abi_run(cli *c, const char *path, const char *target_arg, abi_report *r,
                   json_t *out)
{
    union {
        dsrc_driver d;
        unsigned char bytes[sizeof(dsrc_driver) + ABI_POISON_LEN];
    } drv;
    union {
        dsrc_host h;
        unsigned char bytes[sizeof(dsrc_host)];
    } host;
    const dsrc_abi_info *info;
    const abi_target *t = NULL;
    dsrc_plugin_abi_fn abi_fn;
    dsrc_plugin_init_fn init_fn;
    dsrc_error err;
    dsrc_status st;
    char built[32], *name;
    void *h, *sym;
    size_t i;

    if (!(h = dlopen(path, RTLD_NOW | RTLD_LOCAL)))
        return cli_error(c, CLI_EXIT_FAIL, "invalid-config", "%s: cannot load: %s", path,
                         dlerror());
    if (!(sym = dlsym(h, DSRC_ABI_SYMBOL))) {
        dlclose(h);
        return cli_error(c, CLI_EXIT_FAIL, "invalid-config",
                         "%s: no " DSRC_ABI_SYMBOL " symbol: not a dsrc plugin (define the "
                         "magic block with DSRC_PLUGIN_ABI())", path);
    }
    abi_fn = (dsrc_plugin_abi_fn)sym;
    info = abi_fn();
    if (!info || info->struct_size < offsetof(dsrc_abi_info, driver_size) ||
        info->magic != DSRC_ABI_MAGIC || info->abi_major != DSRC_ABI_MAJOR) {
        /* the magic block is the library's: read it before closing */
        int other = info && info->magic == DSRC_ABI_MAGIC &&
                    info->struct_size >= offsetof(dsrc_abi_info, driver_size);
        unsigned major = other ? info->abi_major : 0, minor = other ? info->abi_minor : 0;

        dlclose(h);
        if (other)
            return cli_error(c, CLI_EXIT_FAIL, "invalid-config",
                             "%s: built for dsrc plugin ABI %u.%u; this dsrc checks ABI "
                             "%d.x", path, major, minor, DSRC_ABI_MAJOR);
        return cli_error(c, CLI_EXIT_FAIL, "invalid-config",
                         "%s: " DSRC_ABI_SYMBOL "() returned no valid magic block", path);
    }
    snprintf(built, sizeof built, "%u.%u", (unsigned)info->abi_major,
             (unsigned)info->abi_minor);
    if (target_arg) {
        for (i = 0; i < ABI_N_TARGETS; i++) {
            char v[16];
            snprintf(v, sizeof v, "1.%u", abi_targets[i].minor);
            if (strcmp(target_arg, v) == 0)
                t = &abi_targets[i];
        }
        if (!t) {
            dlclose(h);
            return cli_error(c, CLI_EXIT_USAGE, "usage",
                             "abi-check: --target must be 1.0, 1.1, 1.2, 1.3, 1.4 or 1.5, not '%s'",
                             target_arg);
        }
    } else {
        t = &abi_targets[info->abi_minor < ABI_N_TARGETS ? info->abi_minor
                                                         : ABI_N_TARGETS - 1];
    }
    r->target = t->minor;
    if (!(name = loader_name_from_path(path))) {
        dlclose(h);
        return cli_error(c, CLI_EXIT_FAIL, "internal", "out of memory");
    }
    if (out) {
        json_object_set_new(out, "plugin", cli_jstr(path));
        json_object_set_new(out, "built_for", cli_jstr(built));
        json_object_set_new(out, "target", json_sprintf("1.%u", t->minor));
    } else {
        printf("%s: built for dsrc plugin ABI %s\n", path, built);
        printf("checked as a host of ABI 1.%u loads it (dsrc_driver of %zu bytes, "
               "dsrc_host of %zu)\n", t->minor, t->driver_size, t->host_size);
    }
    abi_check_magic(r, info, t);

    if (!(sym = dlsym(h, DSRC_INIT_SYMBOL))) {
        abi_problem(r, "no " DSRC_INIT_SYMBOL " symbol");
        goto done;
    }
    init_fn = (dsrc_plugin_init_fn)sym;
    /* The host of the target: its services up to its size, a trap after. */
    memset(&host, 0, sizeof host);
    memcpy(&host, ctx_host(), t->host_size);
    host.h.struct_size = (uint32_t)t->host_size;
    host.h.abi_version = t->version;
    if (offsetof(dsrc_host, cancel_fd) >= t->host_size)
        host.h.cancel_fd = abi_trap_cancel_fd;
    if (offsetof(dsrc_host, aws_sign) >= t->host_size)
        host.h.aws_sign = abi_trap_aws_sign;
    if (offsetof(dsrc_host, bearer_token) >= t->host_size)
        host.h.bearer_token = abi_trap_bearer_token;
    memset(&drv, 0, t->driver_size);
    memset(drv.bytes + t->driver_size, ABI_POISON, sizeof drv.bytes - t->driver_size);
    drv.d.struct_size = (uint32_t)t->driver_size;
    error_init(&err);
    abi_trap_called = 0;
    st = init_fn(t->version, &host.h, &drv.d, &err);
    if (st != DSRC_OK) {
        abi_problem(r, "dsrc_plugin_init() refused a host of ABI 1.%u: %s", t->minor,
                    err.message ? err.message : error_status_name(st));
        if (err.release)
            err.release(&err);
        goto done;
    }
    if (err.release)
        err.release(&err);
    if (abi_trap_called)
        abi_problem(r, "dsrc_plugin_init() called host->cancel_fd, aws_sign or bearer_token, which "
                    "ABI 1.%u's host does not have: check DSRC_HAS_MEMBER() (or use "
                    "dsrc_cancel_fd())",
                    t->minor);
    abi_check_poison(r, drv.bytes, t);
    /* What lies past the target's size is not the driver's for that host. */
    memset(drv.bytes + t->driver_size, 0, sizeof(dsrc_driver) - t->driver_size);
    abi_check_driver(r, &drv.d, t, name);
    if (out)
        json_object_set_new(out, "name", cli_jstr(drv.d.name));
    if (offsetof(dsrc_driver, unload) < t->driver_size && drv.d.unload)
        drv.d.unload();
done:
    free(name);
    dlclose(h);
    return 0;
}

int cli_cmd_abi_check(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {
        CLI_COMMON_LONGS, {"target", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("abi-check");
    const char *target = NULL;
    abi_report r = {0};
    json_t *out = NULL;
    int rc = 0, i;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "ht:", longs, abi_opt, &target, &rc)) < 0)
        return rc;
    if (i >= argc)
        return cli_usage_error(c, cmd, "missing PLUGIN.so");
    if (i + 1 < argc)
        return cli_usage_error(c, cmd, "unexpected argument");
    if (c->json) {
        out = json_object();
        r.problems = json_array();
    }
    rc = abi_run(c, argv[i], target, &r, out);
    if (rc) {
        json_decref(out);
        json_decref(r.problems);
        return rc;
    }
    if (out) {
        json_object_set_new(out, "ok", json_boolean(r.n == 0));
        json_object_set_new(out, "problems", r.problems);
        if (r.n) {
            char msg[512];
            json_t *e;
            snprintf(msg, sizeof msg, "%s: %zu problem(s) for ABI 1.%u", argv[i], r.n,
                     r.target);
            cli_note("invalid-config", msg, NULL);
            e = cli_error_json(cmd->name, CLI_EXIT_FAIL);
            json_object_update(out, e);
            json_decref(e);
        }
        cli_json_print(out);
    } else if (r.n) {
        fflush(stdout);
        cli_error(c, CLI_EXIT_FAIL, "invalid-config", "%s: %zu problem(s) for ABI 1.%u",
                  argv[i], r.n, r.target);
    } else {
        printf("%s: ok for ABI 1.%u\n", argv[i], r.target);
    }
    return r.n ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
