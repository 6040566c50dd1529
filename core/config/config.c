/* SPDX-License-Identifier: Apache-2.0 */
/* config.c -- reading dsrcd.conf and sources.d/; see config.h. */
#include <config.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/config.h"
#include "base/diag.h"
#include "base/log.h"
#include "base/redact.h"
#include "config/schedule.h"
#include "secret/secret.h"
#include "secret/cloud_http.h"
#include "secret/secret.h"

#define CFG_DEFAULT_SOCKET "/run/dsrc/dsrcd.sock"
#define CFG_MAX_FILE (1024 * 1024) /* largest configuration file            */
#define CFG_MAX_FILE_TEXT "1 MiB (1048576 bytes)"
#define CFG_SUN_PATH sizeof(((struct sockaddr_un *)0)->sun_path)
#define CFG_MAX_INCLUDE_DEPTH 10   /* libconfig 1.5's own limit             */
#define CFG_DEFAULT_PROBE_TIMEOUT_MS 30000
#define CFG_DEFAULT_SHUTDOWN_GRACE_MS 10000
#define CFG_DEFAULT_ISOLATION_MEMORY_MAX ((int64_t)1 << 30) /* 1 GiB a worker */

/* Reading state for one file. */
typedef struct cfg_rd {
    diag_list *diags;
    const char *file;       /* the file as named in messages                */
    char *dir;              /* its directory, absolute                      */
    size_t n_errors;        /* errors reported for this file                */
    int oom;                /* an allocation failed                         */
} cfg_rd;

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

static void cfg_err(cfg_rd *rd, int line, const char *fmt, ...) DSRC_PRINTF(3, 4);
static void cfg_err(cfg_rd *rd, int line, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    diag_error(rd->diags, rd->file, line, "%s", msg ? msg : "out of memory");
    free(msg);
    rd->n_errors++;
}

static char *cfg_strdup(cfg_rd *rd, const char *s)
{
    char *d;
    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        rd->oom = 1;
    return d;
}

/* Make room for one more (zeroed) element at arr[n].  0, or -1 with the
 * allocation failure recorded.  The arrays grown here are grown only
 * here, from empty, so their room is the power of two at or above n: they
 * double when n reaches it (one realloc per element made reading a
 * source of thousands of labels quadratic). */
#define CFG_GROW(rd, arr, n)                                                  \
    __extension__({                                                           \
        size_t n_ = (size_t)(n);                                              \
        void *nv_ = (arr);                                                    \
        if ((n_ & (n_ - 1)) == 0)                                             \
            nv_ = realloc((arr), (n_ ? 2 * n_ : 1) * sizeof *(arr));          \
        if (nv_) {                                                            \
            (arr) = nv_;                                                      \
            memset(&(arr)[n_], 0, sizeof *(arr));                             \
        } else {                                                              \
            (rd)->oom = 1;                                                    \
        }                                                                     \
        nv_ ? 0 : -1;                                                         \
    })

static int cfg_line(const config_setting_t *s)
{
    return s ? (int)config_setting_source_line(s) : 0;
}

static const char *cfg_type_name(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP: return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a floating-point number";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    default: return "an unknown value";
    }
}

/* "a, b, c" from a NULL-terminated list; NULL on allocation failure. */
static char *cfg_join(const char *const *names)
{
    size_t i, len = 1;
    char *s;

    for (i = 0; names[i]; i++)
        len += strlen(names[i]) + 2;
    s = malloc(len);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (i = 0; names[i]; i++) {
        if (i)
            strcat(s, ", ");
        strcat(s, names[i]);
    }
    return s;
}

static int cfg_in(const char *const *names, const char *s)
{
    size_t i;
    for (i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return 1;
    return 0;
}

/* Report every member of grp not in `allowed`.  `where` completes
 * "unknown setting 'X' ...", e.g. "in group 'pool'". */
static void cfg_check_keys(cfg_rd *rd, const config_setting_t *grp,
                           const char *const *allowed, const char *where)
{
    int i, n = config_setting_length(grp);

    for (i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
        const char *name = config_setting_name(s);
        if (name && !cfg_in(allowed, name)) {
            char *list = cfg_join(allowed);
            cfg_err(rd, cfg_line(s), "unknown setting '%s' %s (allowed: %s)",
                    name, where, list ? list : "?");
            free(list);
        }
    }
}

/* The absolute directory of `path`; NULL on allocation failure. */
static char *cfg_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir, *cwd, *abs;

    if (!slash)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (!dir || dir[0] == '/')
        return dir;
    cwd = getcwd(NULL, 0);
    if (!cwd) {
        free(dir);
        return NULL;
    }
    if (strcmp(dir, ".") == 0) {
        free(dir);
        return cwd;
    }
    if (asprintf(&abs, "%s/%s", cwd, dir) < 0)
        abs = NULL;
    free(cwd);
    free(dir);
    return abs;
}

/* `p` made absolute against the file's directory (malloc'd). */
static char *cfg_resolve(cfg_rd *rd, const char *p)
{
    char *r;
    if (p[0] == '/' || !rd->dir)
        return cfg_strdup(rd, p);
    if (asprintf(&r, "%s/%s", strcmp(rd->dir, "/") == 0 ? "" : rd->dir, p) < 0) {
        rd->oom = 1;
        return NULL;
    }
    return r;
}

/* The text form of a scalar: string as-is, integer in decimal, boolean
 * "true"/"false", float in the shortest form that reads back the same. */
static char *cfg_scalar_text(cfg_rd *rd, const config_setting_t *s, cfg_vtype *type)
{
    char buf[64];

    switch (config_setting_type(s)) {
    case CONFIG_TYPE_STRING:
        *type = CFG_V_STRING;
        return cfg_strdup(rd, config_setting_get_string(s));
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        *type = CFG_V_INT;
        snprintf(buf, sizeof buf, "%lld", (long long)config_setting_get_int64(s));
        return cfg_strdup(rd, buf);
    case CONFIG_TYPE_BOOL:
        *type = CFG_V_BOOL;
        return cfg_strdup(rd, config_setting_get_bool(s) ? "true" : "false");
    case CONFIG_TYPE_FLOAT: {
        double d = config_setting_get_float(s);
        int prec;
        *type = CFG_V_FLOAT;
        for (prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
        return cfg_strdup(rd, buf);
    }
    default:
        *type = CFG_V_OTHER;
        return cfg_strdup(rd, "");
    }
}

static void cfg_value_set(cfg_rd *rd, cfg_value *v, const config_setting_t *s)
{
    v->key = cfg_strdup(rd, config_setting_name(s));
    v->text = cfg_scalar_text(rd, s, &v->type);
    v->line = cfg_line(s);
}

static void cfg_values_free(cfg_value *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        free(v[i].key);
        free(v[i].text);
    }
    free(v);
}

static void cfg_strv_free(char **v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ------------------------------------------------------------------------ */
/* Typed getters.  Each returns 1 when the value was stored, 0 when the key
 * is absent, -1 when an error was reported.                                */

static int cfg_get_str(cfg_rd *rd, const config_setting_t *grp, const char *key,
                       int nonempty, const char **out)
{
    const config_setting_t *s = config_setting_get_member(grp, key);

    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        cfg_err(rd, cfg_line(s), "'%s' must be a string, got %s", key, cfg_type_name(s));
        return -1;
    }
    *out = config_setting_get_string(s);
    if (nonempty && !**out) {
        cfg_err(rd, cfg_line(s), "'%s' must not be empty", key);
        return -1;
    }
    return 1;
}

/* A string stored as a malloc'd copy in *out (replacing what was there). */
static int cfg_get_strdup(cfg_rd *rd, const config_setting_t *grp, const char *key,
                          int nonempty, char **out)
{
    const char *v;
    int r = cfg_get_str(rd, grp, key, nonempty, &v);
    if (r == 1) {
        free(*out);
        *out = cfg_strdup(rd, v);
    }
    return r;
}

/* A path resolved against the file's directory. */
static int cfg_get_path(cfg_rd *rd, const config_setting_t *grp, const char *key,
                        char **out)
{
    const char *v;
    int r = cfg_get_str(rd, grp, key, 1, &v);
    if (r == 1) {
        free(*out);
        *out = cfg_resolve(rd, v);
    }
    return r;
}

static int cfg_get_bool(cfg_rd *rd, const config_setting_t *grp, const char *key, int *out)
{
    const config_setting_t *s = config_setting_get_member(grp, key);

    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
        cfg_err(rd, cfg_line(s), "'%s' must be a boolean (true or false), got %s",
                key, cfg_type_name(s));
        return -1;
    }
    *out = config_setting_get_bool(s);
    return 1;
}

static int cfg_get_int(cfg_rd *rd, const config_setting_t *grp, const char *key,
                       int64_t min, int64_t max, int64_t *out)
{
    const config_setting_t *s = config_setting_get_member(grp, key);
    long long v;

    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_INT &&
        config_setting_type(s) != CONFIG_TYPE_INT64) {
        cfg_err(rd, cfg_line(s), "'%s' must be an integer, got %s", key, cfg_type_name(s));
        return -1;
    }
    v = config_setting_get_int64(s);
    if (v < min || v > max) {
        if (max == INT64_MAX)
            cfg_err(rd, cfg_line(s), "'%s' must be at least %lld, got %lld", key,
                    (long long)min, v);
        else
            cfg_err(rd, cfg_line(s), "'%s' must be between %lld and %lld, got %lld",
                    key, (long long)min, (long long)max, v);
        return -1;
    }
    *out = v;
    return 1;
}

/* A string that must be one of `choices`; *out points into libconfig's
 * storage (copy it). */
static int cfg_get_enum(cfg_rd *rd, const config_setting_t *grp, const char *key,
                        const char *const *choices, const char **out)
{
    const char *v;
    int r = cfg_get_str(rd, grp, key, 0, &v);

    if (r != 1)
        return r;
    if (!cfg_in(choices, v)) {
        char *list = cfg_join(choices);
        cfg_err(rd, cfg_line(config_setting_get_member(grp, key)),
                "'%s' must be one of %s (got '%s')", key, list ? list : "?", v);
        free(list);
        return -1;
    }
    *out = v;
    return 1;
}

/* A duration: a string such as "30s" or an integer number of seconds. */
static int cfg_get_duration(cfg_rd *rd, const config_setting_t *grp, const char *key,
                            int64_t *ms)
{
    const config_setting_t *s = config_setting_get_member(grp, key);

    if (!s)
        return 0;
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_STRING: {
        const char *v = config_setting_get_string(s);
        if (cfg_parse_duration(v, ms) < 0) {
            cfg_err(rd, cfg_line(s),
                    "'%s' is not a valid duration: '%s' (use e.g. 250ms, 30s, 5m, 1h, 1h30m, 2d)",
                    key, v);
            return -1;
        }
        return 1;
    }
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: {
        long long v = config_setting_get_int64(s);
        if (v < 0 || v > INT64_MAX / 1000) {
            cfg_err(rd, cfg_line(s), "'%s' is not a valid duration: %lld seconds is out of range",
                    key, v);
            return -1;
        }
        *ms = (int64_t)v * 1000;
        return 1;
    }
    default:
        cfg_err(rd, cfg_line(s),
                "'%s' must be a duration such as \"30s\" or an integer number of seconds, got %s",
                key, cfg_type_name(s));
        return -1;
    }
}

/* "512M", "2G", "1048576": bytes in *out (K, M, G, T are powers of 1024);
 * 0, or -1 when it is not one. */
static int cfg_parse_size(const char *v, int64_t *out)
{
    char *end;
    unsigned long long n;
    int shift = 0;

    if (!v || !*v || *v == '-' || *v == '+' || *v == ' ')
        return -1;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno || end == v)
        return -1;
    switch (*end) {
    case '\0': break;
    case 'K': shift = 10; end++; break;
    case 'M': shift = 20; end++; break;
    case 'G': shift = 30; end++; break;
    case 'T': shift = 40; end++; break;
    default: return -1;
    }
    if (*end || n > (unsigned long long)(INT64_MAX >> shift))
        return -1;
    *out = (int64_t)(n << shift);
    return 0;
}

/* A size in bytes: a string with a unit or an integer. */
static int cfg_get_size(cfg_rd *rd, const config_setting_t *grp, const char *key,
                        int64_t *out)
{
    const config_setting_t *s = config_setting_get_member(grp, key);

    if (!s)
        return 0;
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_STRING: {
        const char *v = config_setting_get_string(s);
        if (cfg_parse_size(v, out) < 0) {
            cfg_err(rd, cfg_line(s), "'%s' is not a valid size: '%s' (use e.g. 512M, 2G, or 0)",
                    key, v);
            return -1;
        }
        return 1;
    }
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: {
        long long v = config_setting_get_int64(s);
        if (v < 0) {
            cfg_err(rd, cfg_line(s), "'%s' is not a valid size: %lld bytes", key, v);
            return -1;
        }
        *out = (int64_t)v;
        return 1;
    }
    default:
        cfg_err(rd, cfg_line(s), "'%s' must be a size such as \"512M\" or an integer number of "
                                 "bytes, got %s", key, cfg_type_name(s));
        return -1;
    }
}

static int cfg_get_schedule(cfg_rd *rd, const config_setting_t *grp, const char *key,
                            char **out)
{
    const char *v, *why = NULL;
    int r = cfg_get_str(rd, grp, key, 0, &v);

    if (r != 1)
        return r;
    if (cfg_check_schedule(v, &why) < 0) {
        cfg_err(rd, cfg_line(config_setting_get_member(grp, key)),
                "'%s' is not a valid schedule: %s (got '%s')", key, why, v);
        return -1;
    }
    free(*out);
    *out = cfg_strdup(rd, v);
    return 1;
}

/* A list or array of non-empty strings (at least one).  With `resolve`,
 * each is a path made absolute. */
static int cfg_get_strlist(cfg_rd *rd, const config_setting_t *grp, const char *key,
                           int resolve, char ***out, size_t *n_out)
{
    const config_setting_t *s = config_setting_get_member(grp, key);
    char **v = NULL;
    size_t n = 0;
    int i, len, bad = 0;

    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
        config_setting_type(s) != CONFIG_TYPE_LIST) {
        cfg_err(rd, cfg_line(s), "'%s' must be a list of strings [\"a\", \"b\"], got %s",
                key, cfg_type_name(s));
        return -1;
    }
    len = config_setting_length(s);
    if (len == 0) {
        cfg_err(rd, cfg_line(s), "'%s' must not be an empty list", key);
        return -1;
    }
    for (i = 0; i < len; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *str;
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            cfg_err(rd, cfg_line(e), "'%s' must be a list of strings, element %d is %s",
                    key, i + 1, cfg_type_name(e));
            bad = 1;
            continue;
        }
        str = config_setting_get_string(e);
        if (!*str) {
            cfg_err(rd, cfg_line(e), "'%s': element %d must not be empty", key, i + 1);
            bad = 1;
            continue;
        }
        if (CFG_GROW(rd, v, n) < 0)
            break;
        v[n] = resolve ? cfg_resolve(rd, str) : cfg_strdup(rd, str);
        n++;
    }
    if (bad) {
        cfg_strv_free(v, n);
        return -1;
    }
    cfg_strv_free(*out, *n_out);
    *out = v;
    *n_out = n;
    return 1;
}

/* The group `key`, or NULL when absent or (reported) not a group. */
static const config_setting_t *cfg_group(cfg_rd *rd, const config_setting_t *parent,
                                         const char *key)
{
    const config_setting_t *s = config_setting_get_member(parent, key);

    if (!s)
        return NULL;
    if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
        cfg_err(rd, cfg_line(s), "'%s' must be a group { ... }, got %s", key, cfg_type_name(s));
        return NULL;
    }
    return s;
}

/* Open `path` for reading without blocking (a FIFO must not hang the
 * reader) and check that it is a regular file of at most CFG_MAX_FILE
 * bytes.  Returns the descriptor, or -1 with the reason in *why (static
 * text, or strerror()). */
static int cfg_open_checked(const char *path, const char **why)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        *why = strerror(errno);
    } else if (S_ISDIR(st.st_mode)) {
        *why = "it is a directory, not a regular file";
    } else if (!S_ISREG(st.st_mode)) {
        *why = "not a regular file (a FIFO, socket or device is never read)";
    } else if (st.st_size > CFG_MAX_FILE) {
        *why = "larger than " CFG_MAX_FILE_TEXT;
    } else {
        return fd;
    }
    close(fd);
    return -1;
}

/* The whole of a checked file, NUL-terminated (malloc'd); NULL with the
 * reason in *why. */
static char *cfg_slurp(const char *path, const char **why)
{
    char *buf;
    size_t len = 0;
    int fd = cfg_open_checked(path, why);

    if (fd < 0)
        return NULL;
    if (!(buf = malloc(CFG_MAX_FILE + 2))) {
        close(fd);
        *why = "out of memory";
        return NULL;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, CFG_MAX_FILE + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *why = strerror(errno);
            break;
        }
        if (n == 0) {
            close(fd);
            buf[len] = '\0';
            return buf;
        }
        len += (size_t)n;
        if (len > CFG_MAX_FILE) {
            *why = "larger than " CFG_MAX_FILE_TEXT;
            break;
        }
    }
    close(fd);
    free(buf);
    return NULL;
}

/* Check, recursively, every file that the @include directives of `text`
 * (the content of `file`) name, before libconfig opens them: libconfig
 * 1.5 has no include hook, and it would block on a FIFO and exit the
 * process on a directory.  Directives are found as libconfig's scanner
 * finds them: "@include" at the start of a line (after blanks), outside
 * comments and strings.  A name is read with the \\ and \" escapes and
 * resolved as libconfig does with an include directory: always appended
 * to rd->dir.  A file that does not exist is left to libconfig, which
 * reports it; a file that exists and is refused is reported at the
 * directive's file and line.  Returns the number of files refused. */
static size_t cfg_check_includes(cfg_rd *rd, const char *file, const char *text, int depth)
{
    const char *p = text;
    int line = 1, bol = 1;
    size_t bad = 0;

    while (*p) {
        if (*p == '\n') {
            line++;
            bol = 1;
            p++;
        } else if (*p == ' ' || *p == '\t' || *p == '\r') {
            p++;
        } else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
            p += strcspn(p, "\n");
        } else if (p[0] == '/' && p[1] == '*') {
            for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
                line += *p == '\n';
            p += *p ? 2 : 0;
            bol = 0;
        } else if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1])
                    p++;
                line += *p == '\n';
            }
            p += *p ? 1 : 0;
            bol = 0;
        } else if (bol && strncmp(p, "@include", 8) == 0 && (p[8] == ' ' || p[8] == '\t') &&
                   p[8 + strspn(p + 8, " \t")] == '"') {
            char *name = NULL, *full = NULL, *sub;
            size_t n = 0;
            const char *q, *why;
            struct stat st;

            p += 8 + strspn(p + 8, " \t") + 1;
            for (q = p; *q && *q != '"'; q++)
                q += (*q == '\\' && (q[1] == '\\' || q[1] == '"'));
            if (!(name = malloc((size_t)(q - p) + 1))) {
                rd->oom = 1;
                return bad;
            }
            for (; p < q; p++) {
                if (*p == '\\' && (p[1] == '\\' || p[1] == '"'))
                    p++;
                name[n++] = *p;
            }
            name[n] = '\0';
            p += *p ? 1 : 0;
            bol = 0;
            if (asprintf(&full, "%s/%s", rd->dir, name) < 0) {
                free(name);
                rd->oom = 1;
                return bad;
            }
            if (stat(full, &st) == 0) {
                if (!(sub = cfg_slurp(full, &why))) {
                    diag_error(rd->diags, file, line, "@include \"%s\" (%s): %s", name, full,
                               why);
                    rd->n_errors++;
                    bad++;
                } else {
                    if (depth < CFG_MAX_INCLUDE_DEPTH)
                        bad += cfg_check_includes(rd, full, sub, depth + 1);
                    free(sub);
                }
            }
            free(full);
            free(name);
        } else {
            p++;
            bol = 0;
        }
    }
    return bad;
}

/* Parse one file into lc, after checking it and the files it includes
 * (regular files of at most CFG_MAX_FILE bytes).  Returns 0, or -1 with the
 * error reported. */
static int cfg_read_file(cfg_rd *rd, config_t *lc, const char *path)
{
    const char *why = NULL;
    char *text;

    config_init(lc);
    if (!(text = cfg_slurp(path, &why))) {
        cfg_err(rd, 0, "cannot read the file: %s", why);
        config_destroy(lc);
        return -1;
    }
    if (cfg_check_includes(rd, path, text, 1) > 0 || rd->oom) {
        free(text);
        config_destroy(lc);
        return -1;
    }
    if (rd->dir)
        config_set_include_dir(lc, rd->dir);
    /* What was checked is what is parsed: the text, not the path again. */
    if (!config_read_string(lc, text)) {
        const char *efile = config_error_file(lc);
        const char *etext = config_error_text(lc);
        diag_error(rd->diags, efile ? efile : rd->file, config_error_line(lc), "%s",
                   etext ? etext : "cannot parse the file");
        rd->n_errors++;
        free(text);
        config_destroy(lc);
        return -1;
    }
    free(text);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* A source file                                                             */

static const char *const cfg_source_keys[] = {
    "name", "type", "enabled", "location", "labels", "connection", "cloud",
    "tls", "replicas", "pool", "schedule", "fetch", "isolation", NULL
};
static const char *const cfg_locations[] = {"on_prem", "cloud", "hybrid", NULL};
static const char *const cfg_isolations[] = {"process", "none", NULL};

/* `isolation` in grp, when set and valid, into *out. */
static void cfg_read_isolation(cfg_rd *rd, const config_setting_t *grp, cfg_isolation *out)
{
    const char *str;

    if (cfg_get_enum(rd, grp, "isolation", cfg_isolations, &str) == 1)
        *out = strcmp(str, "none") == 0 ? CFG_ISOLATION_NONE : CFG_ISOLATION_PROCESS;
}
static const char *const cfg_providers[] = {"aws", "azure", "gcp", NULL};
static const char *const cfg_aws_keys[] = {
    "provider", "region", "use_iam_auth", "role_arn", "access_key_id",
    "secret_access_key", "session_token", "profile", "external_id", "sts_endpoint",
    "imds_endpoint", NULL
};
static const char *const cfg_azure_keys[] = {
    "provider", "tenant_id", "client_id", "client_secret", "use_managed_identity",
    "authority_host", "token_endpoint", "imds_endpoint", NULL
};
static const char *const cfg_gcp_keys[] = {
    "provider", "project_id", "service_account_file", "use_workload_identity", "token_uri",
    "metadata_endpoint", NULL
};
static const char *const cfg_cloud_bools[] = {
    "use_iam_auth", "use_managed_identity", "use_workload_identity", NULL
};
static const char *const cfg_cloud_secrets[] = {
    "secret_access_key", "session_token", "client_secret", NULL
};
static const char *const cfg_tls_keys[] = {"mode", "ca", "cert", "key", "key_passphrase", NULL};
static const char *const cfg_tls_modes[] = {"disable", "prefer", "require", "verify-ca",
                                            "verify-full", NULL};
static const char *const cfg_replica_keys[] = {"hosts", "replica_set", "read_policy", NULL};
const char *const cfg_read_policies[] = {
    "primary", "primary_preferred", "replica", "replica_preferred", "nearest", NULL
};
static const char *const cfg_pool_keys[] = {
    "max_size", "min_idle", "acquire_timeout", "idle_timeout", "max_lifetime",
    "keepalive", "validate_after", "leak_threshold", NULL
};
static const char *const cfg_schedule_keys[] = {"discover", "health", "discover_mode", NULL};
/* schedule.discover_mode, in cfg_discover_mode order */
static const char *const cfg_discover_modes[] = {"adaptive", "balanced", "conservative",
                                                 "aggressive", NULL};
static const char *const cfg_fetch_keys[] = {
    "item", "format", "columns", "limit", "cursor_field", "schedule", "on_breaking_change",
    "mask", NULL
};
static const char *const cfg_formats[] = {"csv", "jsonl", NULL};
static const char *const cfg_on_breaking[] = {"continue", "pause", NULL};

static void cfg_source_free(cfg_source *s)
{
    size_t i;

    free(s->name);
    free(s->type);
    free(s->file);
    cfg_values_free(s->labels, s->n_labels);
    cfg_values_free(s->connection, s->n_connection);
    free(s->cloud_provider);
    cfg_values_free(s->cloud, s->n_cloud);
    free(s->tls_mode);
    free(s->tls_ca);
    free(s->tls_cert);
    free(s->tls_key);
    free(s->tls_key_passphrase);
    cfg_strv_free(s->replica_hosts, s->n_replica_hosts);
    free(s->replica_set);
    free(s->read_policy);
    free(s->schedule_discover);
    free(s->schedule_health);
    for (i = 0; i < s->n_fetch; i++) {
        cfg_fetch_rule *f = &s->fetch[i];
        free(f->item);
        free(f->format);
        cfg_strv_free(f->columns, f->n_columns);
        free(f->cursor_field);
        free(f->schedule);
        mask_rules_free(f->mask, f->n_mask);
    }
    free(s->fetch);
    memset(s, 0, sizeof *s);
}

static int cfg_valid_source_name(const char *s)
{
    const char *p;
    if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    for (p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
            return 0;
    return 1;
}

static int cfg_valid_plugin_name(const char *s)
{
    const char *p;
    if (!*s)
        return 0;
    for (p = s; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

static void cfg_read_labels(cfg_rd *rd, const config_setting_t *root, cfg_source *src)
{
    const config_setting_t *g = cfg_group(rd, root, "labels");
    int i, n;

    if (!g)
        return;
    n = config_setting_length(g);
    for (i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        int t = config_setting_type(s);
        if (t != CONFIG_TYPE_STRING && t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64 &&
            t != CONFIG_TYPE_BOOL) {
            cfg_err(rd, cfg_line(s), "label '%s' must be a string, an integer or a boolean, got %s",
                    config_setting_name(s), cfg_type_name(s));
            continue;
        }
        if (CFG_GROW(rd, src->labels, src->n_labels) < 0)
            return;
        cfg_value_set(rd, &src->labels[src->n_labels++], s);
    }
}

static void cfg_read_connection(cfg_rd *rd, const config_setting_t *root, cfg_source *src)
{
    const config_setting_t *g = cfg_group(rd, root, "connection");
    int i, n;

    if (!g)
        return;
    src->connection_line = cfg_line(g);
    n = config_setting_length(g);
    for (i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        if (config_setting_is_aggregate(s))
            /* Kept as CFG_V_OTHER so the registry knows the option is
             * present; the error is reported here, once. */
            cfg_err(rd, cfg_line(s),
                    "connection option '%s' must be a single value (string, number or boolean), got %s",
                    config_setting_name(s), cfg_type_name(s));
        if (CFG_GROW(rd, src->connection, src->n_connection) < 0)
            return;
        cfg_value_set(rd, &src->connection[src->n_connection++], s);
    }
}

static void cfg_read_cloud(cfg_rd *rd, const config_setting_t *root, cfg_source *src)
{
    const config_setting_t *g = cfg_group(rd, root, "cloud");
    const char *const *keys;
    const char *provider = NULL;
    char where[64];
    int i, n, r;

    if (!g)
        return;
    r = cfg_get_enum(rd, g, "provider", cfg_providers, &provider);
    if (r == 0)
        cfg_err(rd, cfg_line(g), "missing required setting 'provider' in group 'cloud' "
                "(one of aws, azure, gcp)");
    if (r != 1)
        return;
    keys = strcmp(provider, "aws") == 0 ? cfg_aws_keys
         : strcmp(provider, "azure") == 0 ? cfg_azure_keys : cfg_gcp_keys;
    snprintf(where, sizeof where, "in group 'cloud' for provider '%s'", provider);
    cfg_check_keys(rd, g, keys, where);
    src->cloud_provider = cfg_strdup(rd, provider);

    n = config_setting_length(g);
    for (i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(s);
        cfg_value *v;

        if (!cfg_in(keys, name))
            continue;
        if (cfg_in(cfg_cloud_bools, name)) {
            int b;
            if (cfg_get_bool(rd, g, name, &b) != 1)
                continue;
        } else {
            const char *str;
            if (cfg_get_str(rd, g, name, 1, &str) != 1)
                continue;
            if (cfg_in(cfg_cloud_secrets, name) && redact_add(str) < 0)
                rd->oom = 1;
        }
        if (CFG_GROW(rd, src->cloud, src->n_cloud) < 0)
            return;
        v = &src->cloud[src->n_cloud++];
        cfg_value_set(rd, v, s);
        if (strcmp(provider, "aws") == 0 && v->text &&
            (strcmp(name, "sts_endpoint") == 0 || strcmp(name, "imds_endpoint") == 0)) {
            /* https, or plain http on a loopback (a test stand-in) or,
             * for IMDS, the metadata service's own address */
            derr ue = {0};
            if (!cloud_http_url_ok(v->text, CLOUD_HTTP_CONFIGURED |
                                   (name[0] == 'i' ? CLOUD_HTTP_METADATA : 0),
                                   name[0] == 'i' ? "cloud.imds_endpoint" : "cloud.sts_endpoint",
                                   &ue))
                cfg_err(rd, cfg_line(s), "%s", ue.msg ? ue.msg : "not a URL");
            derr_clear(&ue);
        }
        if (strcmp(name, "service_account_file") == 0 && v->text) {
            char *abs = cfg_resolve(rd, v->text);
            free(v->text);
            v->text = abs;
        }
    }
}

static void cfg_read_tls(cfg_rd *rd, const config_setting_t *root, cfg_source *src)
{
    const config_setting_t *g = cfg_group(rd, root, "tls");
    const char *mode = "verify-full", *pass;

    if (!g) {
        src->tls_mode = cfg_strdup(rd, cfg_tls_default_mode(src->location));
        return;
    }
    src->tls_line = cfg_line(g);
    cfg_check_keys(rd, g, cfg_tls_keys, "in group 'tls'");
    cfg_get_enum(rd, g, "mode", cfg_tls_modes, &mode);
    src->tls_mode = cfg_strdup(rd, mode);
    cfg_get_path(rd, g, "ca", &src->tls_ca);
    cfg_get_path(rd, g, "cert", &src->tls_cert);
    cfg_get_path(rd, g, "key", &src->tls_key);
    if (cfg_get_str(rd, g, "key_passphrase", 1, &pass) == 1) {
        src->tls_key_passphrase = cfg_strdup(rd, pass);
        if (redact_add(pass) < 0)
            rd->oom = 1;
    }
    if (!config_setting_get_member(g, "cert") != !config_setting_get_member(g, "key"))
        cfg_err(rd, cfg_line(g), "'cert' and 'key' must be set together in group 'tls'");
}

static void cfg_read_replicas(cfg_rd *rd, const config_setting_t *root, cfg_source *src)
{
    const config_setting_t *g = cfg_group(rd, root, "replicas");
    const char *policy = "primary";

    if (!g)
        return;
    cfg_check_keys(rd, g, cfg_replica_keys, "in group 'replicas'");
    cfg_get_strlist(rd, g, "hosts", 0, &src->replica_hosts, &src->n_replica_hosts);
    cfg_get_strdup(rd, g, "replica_set", 1, &src->replica_set);
    cfg_get_enum(rd, g, "read_policy", cfg_read_policies, &policy);
    src->read_policy = cfg_strdup(rd, policy);
}

static void cfg_read_pool(cfg_rd *rd, const config_setting_t *root, cfg_pool *p)
{
    const config_setting_t *g = cfg_group(rd, root, "pool");
    int64_t v;

    if (!g)
        return;
    cfg_check_keys(rd, g, cfg_pool_keys, "in group 'pool'");
    if (cfg_get_int(rd, g, "max_size", 1, INT_MAX, &v) == 1)
        p->max_size = (int)v;
    if (cfg_get_int(rd, g, "min_idle", 0, p->max_size, &v) == 1)
        p->min_idle = (int)v;
    cfg_get_duration(rd, g, "acquire_timeout", &p->acquire_timeout_ms);
    cfg_get_duration(rd, g, "idle_timeout", &p->idle_timeout_ms);
    cfg_get_duration(rd, g, "max_lifetime", &p->max_lifetime_ms);
    cfg_get_duration(rd, g, "keepalive", &p->keepalive_ms);
    cfg_get_duration(rd, g, "validate_after", &p->validate_after_ms);
    cfg_get_duration(rd, g, "leak_threshold", &p->leak_threshold_ms);
}

static void cfg_read_schedule(cfg_rd *rd, const config_setting_t *root, cfg_source *src)
{
    const config_setting_t *g = cfg_group(rd, root, "schedule");
    const char *mode;
    int i;

    if (!g)
        return;
    cfg_check_keys(rd, g, cfg_schedule_keys, "in group 'schedule'");
    cfg_get_schedule(rd, g, "discover", &src->schedule_discover);
    cfg_get_schedule(rd, g, "health", &src->schedule_health);
    if (cfg_get_enum(rd, g, "discover_mode", cfg_discover_modes, &mode) == 1)
        for (i = 0; cfg_discover_modes[i]; i++)
            if (strcmp(cfg_discover_modes[i], mode) == 0)
                src->discover_mode = i;
}

/* mask = { column = "mode"; ... } of fetch entry `entry`. */
static void cfg_read_mask(cfg_rd *rd, const config_setting_t *g, cfg_fetch_rule *f, int entry)
{
    const config_setting_t *m = config_setting_get_member(g, "mask");
    int i, n;
    size_t k;

    if (!m)
        return;
    if (config_setting_type(m) != CONFIG_TYPE_GROUP) {
        cfg_err(rd, cfg_line(m),
                "'mask' in fetch entry %d must be a group: mask = { column = \"hash\"; }, got %s",
                entry, cfg_type_name(m));
        return;
    }
    n = config_setting_length(m);
    if (n == 0)
        cfg_err(rd, cfg_line(m), "'mask' in fetch entry %d names no column", entry);
    for (i = 0; i < n; i++) {
        const config_setting_t *c = config_setting_get_elem(m, (unsigned)i);
        const char *name = config_setting_name(c);
        char *why = NULL;

        if (config_setting_type(c) != CONFIG_TYPE_STRING) {
            cfg_err(rd, cfg_line(c), "mask of column '%s' in fetch entry %d must be a string "
                    "(hash, redact, truncate:UNIT or last4), got %s", name ? name : "?", entry,
                    cfg_type_name(c));
            continue;
        }
        if (mask_rules_add(&f->mask, &f->n_mask, name, config_setting_get_string(c),
                           &why) != 0) {
            if (why)
                cfg_err(rd, cfg_line(c), "mask in fetch entry %d%s%s: %s", entry,
                        f->item ? " for " : "", f->item ? f->item : "", why);
            else
                rd->oom = 1;
            free(why);
        }
    }
    for (k = 0; f->cursor_field && k < f->n_mask; k++)
        if (strcmp(f->mask[k].column, f->cursor_field) == 0)
            cfg_err(rd, cfg_line(m), "fetch entry %d masks its cursor field '%s': the cursor's "
                    "values are recorded in clear (manifest, state store); mask another column "
                    "or use another cursor", entry, f->cursor_field);
}

static void cfg_read_fetch(cfg_rd *rd, const config_setting_t *root, cfg_source *src)
{
    const config_setting_t *l = config_setting_get_member(root, "fetch");
    int i, n;
    size_t k;

    if (!l)
        return;
    if (config_setting_type(l) != CONFIG_TYPE_LIST) {
        cfg_err(rd, cfg_line(l),
                "'fetch' must be a list of groups: fetch = ( { item = \"...\"; }, ... ), got %s",
                cfg_type_name(l));
        return;
    }
    n = config_setting_length(l);
    for (i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
        const char *format = "csv", *on_breaking;
        char where[64];
        cfg_fetch_rule *f;
        int64_t limit;

        if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
            cfg_err(rd, cfg_line(g), "fetch entry %d must be a group { item = \"...\"; }, got %s",
                    i + 1, cfg_type_name(g));
            continue;
        }
        if (CFG_GROW(rd, src->fetch, src->n_fetch) < 0)
            return;
        f = &src->fetch[src->n_fetch++];
        f->line = cfg_line(g);
        f->limit = -1;
        snprintf(where, sizeof where, "in fetch entry %d", i + 1);
        cfg_check_keys(rd, g, cfg_fetch_keys, where);
        if (cfg_get_strdup(rd, g, "item", 1, &f->item) == 0)
            cfg_err(rd, f->line, "missing required setting 'item' in fetch entry %d", i + 1);
        for (k = 0; f->item && k + 1 < src->n_fetch; k++)
            if (src->fetch[k].item && strcmp(src->fetch[k].item, f->item) == 0) {
                /* one rule per item: its defaults and its job are one */
                cfg_err(rd, f->line, "a second fetch rule for item '%s' (the first is at line %d)",
                        f->item, src->fetch[k].line);
                break;
            }
        cfg_get_enum(rd, g, "format", cfg_formats, &format);
        f->format = cfg_strdup(rd, format);
        cfg_get_strlist(rd, g, "columns", 0, &f->columns, &f->n_columns);
        if (cfg_get_int(rd, g, "limit", 0, INT64_MAX, &limit) == 1)
            f->limit = limit;
        cfg_get_strdup(rd, g, "cursor_field", 1, &f->cursor_field);
        cfg_get_schedule(rd, g, "schedule", &f->schedule);
        on_breaking = "continue";
        cfg_get_enum(rd, g, "on_breaking_change", cfg_on_breaking, &on_breaking);
        f->pause_on_breaking = strcmp(on_breaking, "pause") == 0;
        cfg_read_mask(rd, g, f, i + 1);
    }
}

static void cfg_pool_defaults(cfg_pool *p)
{
    p->max_size = 10;
    p->min_idle = 0; /* as PgBouncer's min_pool_size: nothing held open idle */
    p->acquire_timeout_ms = 30 * 1000;
    p->idle_timeout_ms = 10 * 60 * 1000;
    p->max_lifetime_ms = 30 * 60 * 1000;
    p->keepalive_ms = 0;
    p->validate_after_ms = 500;
    p->leak_threshold_ms = 0;
}

/* Read one source file and append the source to cfg when it has a usable
 * name and type. */
static void cfg_read_source(cfg_config *cfg, diag_list *diags, const char *path, int *oom)
{
    cfg_rd rd;
    config_t lc;
    const config_setting_t *root, *s;
    cfg_source src;
    const char *str;
    int ok = 1, r;
    size_t i;

    memset(&rd, 0, sizeof rd);
    memset(&src, 0, sizeof src);
    rd.diags = diags;
    rd.file = path;
    rd.dir = cfg_dir_of(path);
    if (cfg_read_file(&rd, &lc, path) < 0) {
        free(rd.dir);
        return;
    }
    root = config_root_setting(&lc);
    src.file = cfg_strdup(&rd, path);
    src.location = DSRC_LOC_ON_PREM;
    src.enabled = 1;
    cfg_pool_defaults(&src.pool);

    cfg_check_keys(&rd, root, cfg_source_keys, "at top level");

    r = cfg_get_str(&rd, root, "name", 1, &str);
    s = config_setting_get_member(root, "name");
    if (r == 0)
        cfg_err(&rd, 0, "missing required setting 'name'");
    if (r != 1) {
        ok = 0;
    } else if (!cfg_valid_source_name(str)) {
        cfg_err(&rd, cfg_line(s), "invalid source name '%s': use letters, digits, "
                "'_', '.' and '-' only", str);
        ok = 0;
    } else {
        src.name = cfg_strdup(&rd, str);
        src.line = cfg_line(s);
        for (i = 0; i < cfg->n_sources; i++) {
            if (strcmp(cfg->sources[i].name, str) == 0) {
                cfg_err(&rd, src.line, "duplicate source name '%s': already defined at %s:%d",
                        str, cfg->sources[i].file, cfg->sources[i].line);
                ok = 0;
                break;
            }
        }
    }

    r = cfg_get_str(&rd, root, "type", 1, &str);
    s = config_setting_get_member(root, "type");
    if (r == 0)
        cfg_err(&rd, 0, "missing required setting 'type' (the plugin, e.g. \"sqlite\")");
    if (r != 1) {
        ok = 0;
    } else if (!cfg_valid_plugin_name(str)) {
        cfg_err(&rd, cfg_line(s), "'type' must be a plugin name (lower-case letters, digits, "
                "'_' and '-'), got '%s'", str);
        ok = 0;
    } else {
        src.type = cfg_strdup(&rd, str);
        src.type_line = cfg_line(s);
    }

    cfg_get_bool(&rd, root, "enabled", &src.enabled);
    cfg_read_isolation(&rd, root, &src.isolation);
    if (cfg_get_enum(&rd, root, "location", cfg_locations, &str) == 1)
        src.location = strcmp(str, "cloud") == 0 ? DSRC_LOC_CLOUD
                     : strcmp(str, "hybrid") == 0 ? DSRC_LOC_HYBRID : DSRC_LOC_ON_PREM;
    cfg_read_labels(&rd, root, &src);
    cfg_read_connection(&rd, root, &src);
    cfg_read_cloud(&rd, root, &src);
    cfg_read_tls(&rd, root, &src);
    cfg_read_replicas(&rd, root, &src);
    cfg_read_pool(&rd, root, &src.pool);
    cfg_read_schedule(&rd, root, &src);
    cfg_read_fetch(&rd, root, &src);

    config_destroy(&lc);
    free(rd.dir);
    if (rd.oom)
        *oom = 1;
    src.n_errors = rd.n_errors;
    if (ok && !rd.oom && CFG_GROW(&rd, cfg->sources, cfg->n_sources) == 0)
        cfg->sources[cfg->n_sources++] = src;
    else
        cfg_source_free(&src);
}

/* ------------------------------------------------------------------------ */
/* sources.d                                                                 */

static int cfg_conf_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

static int cfg_name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void cfg_read_sources(cfg_config *cfg, cfg_rd *rd, int explicit_dir, int dir_line,
                             const char *skip, const char *extra)
{
    struct dirent **list = NULL;
    int i, n;

    n = scandir(cfg->sources_dir, &list, cfg_conf_filter, cfg_name_cmp);
    if (n < 0) {
        if (explicit_dir || errno != ENOENT)
            cfg_err(rd, dir_line, "cannot read sources_dir '%s': %s", cfg->sources_dir,
                    strerror(errno));
        if (extra)
            cfg_read_source(cfg, rd->diags, extra, &rd->oom);
        return;
    }
    for (i = 0; i < n; i++) {
        char *path = NULL;
        struct stat st;

        if (asprintf(&path, "%s/%s", cfg->sources_dir, list[i]->d_name) < 0) {
            rd->oom = 1;
            path = NULL;
        } else if (skip && strcmp(path, skip) == 0) {
            /* the file being replaced (cfg_load_with) */
        } else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
            diag_warn(rd->diags, path, 0, "not a regular file, skipped");
        } else {
            cfg_read_source(cfg, rd->diags, path, &rd->oom);
        }
        free(path);
        free(list[i]);
    }
    free(list);
    if (extra)
        cfg_read_source(cfg, rd->diags, extra, &rd->oom);
}

/* ------------------------------------------------------------------------ */
/* The daemon file                                                           */

static const char *const cfg_daemon_keys[] = {
    "plugin_dir", "state_dir", "workspace", "node_name", "shared_workspace", "sources_dir",
    "key_file",
    "control_socket", "log_level", "log_target", "probe_timeout", "shutdown_grace", "jobs",
    "catalog", "api", "isolation", "isolation_memory_max", "isolation_syscall_filter",
    "mask_key", "state_store", NULL
};
static const char *const cfg_jobs_keys[] = {
    "workers", "per_source", "jitter_max", "retry_attempts", "retry_backoff",
    "retry_backoff_max", "stall_timeout", "retention", NULL
};

/* jobs = { ... }: unset values keep their defaults. */
static void cfg_read_jobs(cfg_rd *rd, const config_setting_t *root, cfg_jobs *j)
{
    const config_setting_t *g = cfg_group(rd, root, "jobs");
    int64_t v;

    j->workers = 4;
    j->per_source = 2;
    j->jitter_max_ms = 60000;
    j->retry_attempts = 5;
    j->retry_backoff_ms = 1000;
    j->retry_backoff_max_ms = 300000;
    j->stall_timeout_ms = 300000;
    j->retention_ms = 30LL * 86400000;
    if (!g)
        return;
    cfg_check_keys(rd, g, cfg_jobs_keys, "in group 'jobs'");
    if (cfg_get_int(rd, g, "workers", 1, 256, &v) == 1)
        j->workers = (int)v;
    if (cfg_get_int(rd, g, "per_source", 1, 256, &v) == 1)
        j->per_source = (int)v;
    if (cfg_get_int(rd, g, "retry_attempts", 1, 100, &v) == 1)
        j->retry_attempts = (int)v;
    cfg_get_duration(rd, g, "jitter_max", &j->jitter_max_ms);
    if (cfg_get_duration(rd, g, "retry_backoff", &j->retry_backoff_ms) == 1 &&
        j->retry_backoff_ms < 10) {
        cfg_err(rd, cfg_line(config_setting_get_member(g, "retry_backoff")),
                "'retry_backoff' must be at least 10ms");
        j->retry_backoff_ms = 1000;
    }
    cfg_get_duration(rd, g, "retry_backoff_max", &j->retry_backoff_max_ms);
    if (j->retry_backoff_max_ms < j->retry_backoff_ms) {
        cfg_err(rd, cfg_line(config_setting_get_member(g, "retry_backoff_max")),
                "'retry_backoff_max' must not be shorter than 'retry_backoff'");
        j->retry_backoff_max_ms = j->retry_backoff_ms;
    }
    if (cfg_get_duration(rd, g, "stall_timeout", &j->stall_timeout_ms) == 1 &&
        j->stall_timeout_ms < 1000) {
        cfg_err(rd, cfg_line(config_setting_get_member(g, "stall_timeout")),
                "'stall_timeout' must be at least 1s");
        j->stall_timeout_ms = 300000;
    }
    if (cfg_get_duration(rd, g, "retention", &j->retention_ms) == 1 &&
        j->retention_ms < 60000) {
        cfg_err(rd, cfg_line(config_setting_get_member(g, "retention")),
                "'retention' must be at least 1m");
        j->retention_ms = 30LL * 86400000;
    }
}
static const char *const cfg_catalog_keys[] = {"retention", NULL};

/* catalog = { retention = "90d"; } */
static void cfg_read_catalog(cfg_rd *rd, const config_setting_t *root, cfg_catalog *c)
{
    const config_setting_t *g = cfg_group(rd, root, "catalog");

    c->retention_ms = 90LL * 86400000;
    if (!g)
        return;
    cfg_check_keys(rd, g, cfg_catalog_keys, "in group 'catalog'");
    if (cfg_get_duration(rd, g, "retention", &c->retention_ms) == 1 &&
        c->retention_ms < 60000) {
        cfg_err(rd, cfg_line(config_setting_get_member(g, "retention")),
                "'retention' must be at least 1m");
        c->retention_ms = 90LL * 86400000;
    }
}

static const char *const cfg_state_store_keys[] = {
    "url", "password", "schema", "tls", "pool_size", "connect_timeout", NULL};
static const char *const cfg_state_store_tls_keys[] = {"mode", "ca", "cert", "key", NULL};

/* state_store = { url = "postgresql://..."; password = "fernet:..."; ... } */
static void cfg_read_state_store(cfg_rd *rd, const config_setting_t *root, cfg_state_store *st)
{
    const config_setting_t *g = cfg_group(rd, root, "state_store"), *t;
    const char *url, *pw, *mode = "verify-full", *schema, *c, *auth, *at;
    int64_t v;
    derr e = {0};

    st->pool_size = 4;
    st->connect_timeout_ms = 10000;
    if (!g)
        return;
    st->line = cfg_line(g);
    cfg_check_keys(rd, g, cfg_state_store_keys, "in group 'state_store'");
    if (cfg_get_str(rd, g, "url", 1, &url) != 1) {
        if (!config_setting_get_member(g, "url"))
            cfg_err(rd, cfg_line(g), "group 'state_store' needs 'url' "
                                     "(\"postgresql://USER@HOST:PORT/DATABASE\")");
        return;
    }
    if (strncmp(url, "postgresql://", 13) != 0 && strncmp(url, "postgres://", 11) != 0) {
        cfg_err(rd, cfg_line(config_setting_get_member(g, "url")),
                "'state_store.url' must be a PostgreSQL URL (\"postgresql://USER@HOST:PORT/"
                "DATABASE\"); the SQLite store needs no state_store group");
        return;
    }
    auth = url + (strncmp(url, "postgresql://", 13) == 0 ? 13 : 11);
    at = strchr(auth, '@');
    c = strchr(auth, '/');
    if ((at && (!c || at < c) && memchr(auth, ':', (size_t)(at - auth))) ||
        strstr(url, "password=")) {
        /* never echo the URL: it holds a password */
        cfg_err(rd, cfg_line(config_setting_get_member(g, "url")),
                "'state_store.url' holds a password: put it in 'state_store.password' "
                "(encrypted with dsrc secret encrypt) and remove it from the URL");
        return;
    }
    st->url = cfg_strdup(rd, url);
    if (cfg_get_str(rd, g, "password", 1, &pw) == 1) {
        if (secret_check_reference(pw, &e) != DSRC_OK)
            cfg_err(rd, cfg_line(config_setting_get_member(g, "password")),
                    "'state_store.password': %s", e.msg ? e.msg : "not a usable reference");
        else if (!secret_is_reference(pw) && redact_add(pw) < 0)
            rd->oom = 1;
        derr_clear(&e);
        st->password = cfg_strdup(rd, pw);
    }
    if (cfg_get_str(rd, g, "schema", 1, &schema) == 1) {
        for (c = schema; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
                break;
        if (*c || strlen(schema) > 63)
            cfg_err(rd, cfg_line(config_setting_get_member(g, "schema")),
                    "'state_store.schema' must be 1 to 63 lower-case letters, digits or '_'");
        else
            st->schema = cfg_strdup(rd, schema);
    }
    if (cfg_get_int(rd, g, "pool_size", 1, 64, &v) == 1)
        st->pool_size = (int)v;
    if (cfg_get_duration(rd, g, "connect_timeout", &st->connect_timeout_ms) == 1 &&
        st->connect_timeout_ms < 1000) {
        cfg_err(rd, cfg_line(config_setting_get_member(g, "connect_timeout")),
                "'state_store.connect_timeout' must be at least 1s");
        st->connect_timeout_ms = 10000;
    }
    if ((t = cfg_group(rd, g, "tls"))) {
        cfg_check_keys(rd, t, cfg_state_store_tls_keys, "in group 'state_store.tls'");
        cfg_get_enum(rd, t, "mode", cfg_tls_modes, &mode);
        cfg_get_path(rd, t, "ca", &st->tls_ca);
        cfg_get_path(rd, t, "cert", &st->tls_cert);
        cfg_get_path(rd, t, "key", &st->tls_key);
        if (!config_setting_get_member(t, "cert") != !config_setting_get_member(t, "key"))
            cfg_err(rd, cfg_line(t), "'cert' and 'key' must be set together in group "
                                     "'state_store.tls'");
    }
    st->tls_mode = cfg_strdup(rd, mode);
}

static void cfg_state_store_free(cfg_state_store *st)
{
    free(st->url);
    if (st->password)
        memset(st->password, 0, strlen(st->password));
    free(st->password);
    free(st->schema);
    free(st->tls_mode);
    free(st->tls_ca);
    free(st->tls_cert);
    free(st->tls_key);
}

static const char *const cfg_api_keys[] = {
    "listen", "tls_cert", "tls_key", "max_connections", "idle_timeout", "max_header",
    "max_body", "viewer_users", "viewer_groups", "operator_users", "operator_groups",
    "admin_users", "admin_groups", NULL
};
static const char *const cfg_api_roles[CFG_API_ROLES] = {"viewer", "operator", "admin"};

/* "ADDR:PORT" or "[ADDR6]:PORT", numeric address, port 1..65535: 0 with
 * api->listen_host and listen_port set, -1 when malformed. */
static int cfg_api_parse_listen(cfg_rd *rd, cfg_api *api)
{
    const char *s = api->listen, *colon;
    char host[INET6_ADDRSTRLEN + 1];
    unsigned char buf[sizeof(struct in6_addr)];
    size_t hl;
    char *end;
    long port;

    if (s[0] == '[') {
        colon = strstr(s, "]:");
        if (!colon)
            return -1;
        hl = (size_t)(colon - s - 1);
        s++;
        colon++;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= sizeof host)
        return -1;
    memcpy(host, s, hl);
    host[hl] = '\0';
    if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1)
        return -1;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
        return -1;
    api->listen_host = cfg_strdup(rd, host);
    api->listen_port = (int)port;
    return 0;
}

/* 127.0.0.0/8 or ::1. */
static int cfg_api_loopback(const char *host)
{
    struct in6_addr a6;

    if (strncmp(host, "127.", 4) == 0)
        return 1;
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* A user or group list that may be empty ([] = nobody). */
static void cfg_api_names(cfg_rd *rd, const config_setting_t *g, const char *key,
                          char ***out, size_t *n)
{
    const config_setting_t *s = config_setting_get_member(g, key);

    if (s && (config_setting_type(s) == CONFIG_TYPE_ARRAY ||
              config_setting_type(s) == CONFIG_TYPE_LIST) && config_setting_length(s) == 0) {
        cfg_strv_free(*out, *n);
        *out = NULL;
        *n = 0;
        return;
    }
    if (s) {
        cfg_strv_free(*out, *n);
        *out = NULL;
        *n = 0;
        cfg_get_strlist(rd, g, key, 0, out, n);
    }
}

/* api = { listen; tls_cert; tls_key; limits; role lists }. */
static void cfg_read_api(cfg_rd *rd, const config_setting_t *root, cfg_api *api)
{
    const config_setting_t *g = cfg_group(rd, root, "api");
    int64_t v;
    int r;
    char key[32];

    api->max_connections = 256;
    api->idle_timeout_ms = 30000;
    api->max_header = 16384;
    api->max_body = 1 << 20;
    if ((api->groups[1] = calloc(1, sizeof(char *))) &&
        (api->groups[1][0] = cfg_strdup(rd, "dsrc")))
        api->n_groups[1] = 1;
    else
        rd->oom = 1;
    if (!g)
        return;
    cfg_check_keys(rd, g, cfg_api_keys, "in group 'api'");
    if (cfg_get_strdup(rd, g, "listen", 1, &api->listen) == 1 &&
        cfg_api_parse_listen(rd, api) < 0) {
        cfg_err(rd, cfg_line(config_setting_get_member(g, "listen")),
                "'listen' must be \"ADDRESS:PORT\" with a numeric address (\"127.0.0.1:8443\", "
                "\"[::1]:8443\"), got \"%s\"", api->listen);
        free(api->listen);
        api->listen = NULL;
    }
    cfg_get_path(rd, g, "tls_cert", &api->tls_cert);
    cfg_get_path(rd, g, "tls_key", &api->tls_key);
    if (!api->tls_cert != !api->tls_key)
        cfg_err(rd, cfg_line(g), "group 'api' needs both 'tls_cert' and 'tls_key', or neither");
    else if (api->tls_cert && access(api->tls_cert, R_OK) < 0)
        cfg_err(rd, cfg_line(config_setting_get_member(g, "tls_cert")),
                "'tls_cert' %s: %s", api->tls_cert, strerror(errno));
    else if (api->tls_key && access(api->tls_key, R_OK) < 0)
        cfg_err(rd, cfg_line(config_setting_get_member(g, "tls_key")),
                "'tls_key' %s: %s", api->tls_key, strerror(errno));
    if (api->listen_host && !api->tls_cert && !cfg_api_loopback(api->listen_host))
        cfg_err(rd, cfg_line(config_setting_get_member(g, "listen")),
                "'listen' \"%s\" is not a loopback address: a listener reachable from other "
                "hosts without TLS is refused; set 'tls_cert' and 'tls_key', or listen on "
                "127.0.0.1 or [::1]", api->listen);
    if ((r = cfg_get_int(rd, g, "max_connections", 1, 100000, &v)) == 1)
        api->max_connections = (int)v;
    cfg_get_duration(rd, g, "idle_timeout", &api->idle_timeout_ms);
    if (api->idle_timeout_ms < 1000) {
        cfg_err(rd, cfg_line(config_setting_get_member(g, "idle_timeout")),
                "'idle_timeout' must be at least 1s");
        api->idle_timeout_ms = 30000;
    }
    if (cfg_get_int(rd, g, "max_header", 1024, 1 << 20, &v) == 1)
        api->max_header = v;
    if (cfg_get_int(rd, g, "max_body", 0, 1 << 30, &v) == 1)
        api->max_body = v;
    for (r = 0; r < CFG_API_ROLES; r++) {
        snprintf(key, sizeof key, "%s_users", cfg_api_roles[r]);
        cfg_api_names(rd, g, key, &api->users[r], &api->n_users[r]);
        snprintf(key, sizeof key, "%s_groups", cfg_api_roles[r]);
        cfg_api_names(rd, g, key, &api->groups[r], &api->n_groups[r]);
    }
}

static void cfg_api_free(cfg_api *api)
{
    int r;

    free(api->listen);
    free(api->listen_host);
    free(api->tls_cert);
    free(api->tls_key);
    for (r = 0; r < CFG_API_ROLES; r++) {
        cfg_strv_free(api->users[r], api->n_users[r]);
        cfg_strv_free(api->groups[r], api->n_groups[r]);
    }
}

static const char *const cfg_log_levels[] = {"error", "warning", "notice", "info", "debug", NULL};
static const dsrc_log_level cfg_log_level_values[] = {
    DSRC_LOG_ERROR, DSRC_LOG_WARNING, DSRC_LOG_NOTICE, DSRC_LOG_INFO, DSRC_LOG_DEBUG
};
static const char *const cfg_log_targets[] = {"stderr", "journal", "auto", NULL};

static void cfg_read_plugin_dirs(cfg_rd *rd, const config_setting_t *root, cfg_config *cfg)
{
    const config_setting_t *s = config_setting_get_member(root, "plugin_dir");

    if (s && config_setting_type(s) == CONFIG_TYPE_STRING) {
        char *dir = NULL;
        if (cfg_get_path(rd, root, "plugin_dir", &dir) == 1 &&
            (cfg->plugin_dirs = malloc(sizeof *cfg->plugin_dirs))) {
            cfg->plugin_dirs[0] = dir;
            cfg->n_plugin_dirs = 1;
        } else {
            free(dir);
        }
    } else if (s && (config_setting_type(s) == CONFIG_TYPE_ARRAY ||
                     config_setting_type(s) == CONFIG_TYPE_LIST)) {
        cfg_get_strlist(rd, root, "plugin_dir", 1, &cfg->plugin_dirs, &cfg->n_plugin_dirs);
    } else if (s) {
        cfg_err(rd, cfg_line(s), "'plugin_dir' must be a string or a list of strings, got %s",
                cfg_type_name(s));
    }
    if (cfg->n_plugin_dirs == 0 && (cfg->plugin_dirs = malloc(sizeof *cfg->plugin_dirs))) {
        cfg->plugin_dirs[0] = cfg_strdup(rd, DSRC_PLUGINDIR);
        cfg->n_plugin_dirs = 1;
    }
    if (!cfg->plugin_dirs)
        rd->oom = 1;
}

/* key_file must name an existing regular file (its permissions and keys
 * are checked when the keys are loaded, see keyring.h). */
static void cfg_check_key_file(cfg_rd *rd, const char *path, int line)
{
    struct stat st;

    if (!path)
        return;
    if (stat(path, &st) < 0)
        cfg_err(rd, line, "'key_file' %s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        cfg_err(rd, line, "'key_file' %s is not a regular file", path);
}

cfg_config *cfg_load(const char *path, diag_list *diags)
{
    return cfg_load_with(path, NULL, NULL, diags);
}

/* mask_key: a secret reference, never plain text (output/mask.h). */
static void cfg_read_mask_key(cfg_rd *rd, const config_setting_t *root, cfg_config *cfg)
{
    const config_setting_t *s = config_setting_get_member(root, "mask_key");
    const char *v;
    derr e = {0};

    if (cfg_get_str(rd, root, "mask_key", 1, &v) != 1)
        return;
    if (!secret_is_reference(v)) {
        if (redact_add(v) < 0)
            rd->oom = 1;
        cfg_err(rd, cfg_line(s), "'mask_key' is plain text: write it as fernet:TOKEN (encrypt "
                "the key with 'dsrc secret encrypt'), env:NAME or file:PATH");
        return;
    }
    if (secret_check_reference(v, &e) != DSRC_OK) {
        cfg_err(rd, cfg_line(s), "'mask_key': %s", e.msg ? e.msg : "cannot be resolved");
        derr_clear(&e);
        return;
    }
    cfg->mask_key = cfg_strdup(rd, v);
}

/* A fetch rule that masks columns needs the daemon file's mask_key. */
static void cfg_check_masks(cfg_config *cfg, diag_list *diags)
{
    size_t i, k;

    if (cfg->mask_key)
        return;
    for (i = 0; i < cfg->n_sources; i++)
        for (k = 0; k < cfg->sources[i].n_fetch; k++)
            if (cfg->sources[i].fetch[k].n_mask)
                diag_error(diags, cfg->sources[i].file, cfg->sources[i].fetch[k].line,
                           "the fetch rule for '%s' masks columns, but no mask_key is set in "
                           "%s (the key of the hashes; see dsrc.conf(5))",
                           cfg->sources[i].fetch[k].item ? cfg->sources[i].fetch[k].item : "?",
                           cfg->path ? cfg->path : "the daemon file");
}

cfg_config *cfg_load_with(const char *path, const char *skip, const char *extra,
                          diag_list *diags)
{
    cfg_rd rd;
    config_t lc;
    const config_setting_t *root;
    cfg_config *cfg;
    const char *str;
    int explicit_dir, dir_line;
    size_t i;

    memset(&rd, 0, sizeof rd);
    rd.diags = diags;
    rd.file = path;
    rd.dir = cfg_dir_of(path);
    if (!rd.dir) {
        diag_error(diags, path, 0, "out of memory");
        return NULL;
    }
    if (cfg_read_file(&rd, &lc, path) < 0) {
        free(rd.dir);
        return NULL;
    }
    cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        config_destroy(&lc);
        free(rd.dir);
        diag_error(diags, path, 0, "out of memory");
        return NULL;
    }
    cfg->path = cfg_strdup(&rd, path);
    cfg->log_level = DSRC_LOG_INFO;
    cfg->log_target = -1;
    cfg->probe_timeout_ms = CFG_DEFAULT_PROBE_TIMEOUT_MS;
    cfg->shutdown_grace_ms = CFG_DEFAULT_SHUTDOWN_GRACE_MS;
    cfg->isolation_memory_max = CFG_DEFAULT_ISOLATION_MEMORY_MAX;
    cfg->isolation_syscall_filter = 1;
    root = config_root_setting(&lc);

    cfg_check_keys(&rd, root, cfg_daemon_keys, "at top level");
    cfg_read_plugin_dirs(&rd, root, cfg);
    if (cfg_get_path(&rd, root, "state_dir", &cfg->state_dir) != 1)
        cfg->state_dir = cfg_strdup(&rd, DSRC_LOCALSTATEDIR "/lib/dsrc");
    if (cfg_get_path(&rd, root, "workspace", &cfg->workspace) != 1 && cfg->state_dir &&
        asprintf(&cfg->workspace, "%s/workspace", cfg->state_dir) < 0) {
        cfg->workspace = NULL;
        rd.oom = 1;
    }
    if (cfg_get_strdup(&rd, root, "node_name", 1, &cfg->node_name) == 1) {
        const char *why;
        cfg->node_name_set = 1;
        if (cfg_check_node_name(cfg->node_name, &why) < 0)
            cfg_err(&rd, cfg_line(config_setting_get_member(root, "node_name")),
                    "'node_name' is not a valid node name: %s", why);
    } else {
        char host[64];
        cfg->node_name = cfg_strdup(&rd, cfg_default_node_name(host, sizeof host));
    }
    (void)cfg_get_bool(&rd, root, "shared_workspace", &cfg->shared_workspace);
    explicit_dir = cfg_get_path(&rd, root, "sources_dir", &cfg->sources_dir) == 1;
    dir_line = cfg_line(config_setting_get_member(root, "sources_dir"));
    if (!cfg->sources_dir)
        cfg->sources_dir = cfg_resolve(&rd, "sources.d");
    if (cfg_get_path(&rd, root, "key_file", &cfg->key_file) == 1)
        cfg_check_key_file(&rd, cfg->key_file,
                           cfg_line(config_setting_get_member(root, "key_file")));
    if (cfg_get_path(&rd, root, "control_socket", &cfg->control_socket) != 1)
        cfg->control_socket = cfg_strdup(&rd, CFG_DEFAULT_SOCKET);
    else if (cfg->control_socket && strlen(cfg->control_socket) >= CFG_SUN_PATH)
        cfg_err(&rd, cfg_line(config_setting_get_member(root, "control_socket")),
                "'control_socket' is %zu bytes long (%s); a socket path holds at most %zu: "
                "choose a shorter one", strlen(cfg->control_socket), cfg->control_socket,
                CFG_SUN_PATH - 1);
    if (cfg_get_enum(&rd, root, "log_level", cfg_log_levels, &str) == 1)
        for (i = 0; cfg_log_levels[i]; i++)
            if (strcmp(cfg_log_levels[i], str) == 0)
                cfg->log_level = cfg_log_level_values[i];
    if (cfg_get_enum(&rd, root, "log_target", cfg_log_targets, &str) == 1) {
        if (strcmp(str, "stderr") == 0) {
            cfg->log_target = LOG_TARGET_STDERR;
        } else if (strcmp(str, "journal") == 0) {
#ifdef HAVE_SYSTEMD
            cfg->log_target = LOG_TARGET_JOURNAL;
#else
            cfg_err(&rd, cfg_line(config_setting_get_member(root, "log_target")),
                    "'log_target' cannot be \"journal\": dsrc was built without systemd");
#endif
        }
    }
    if (cfg_get_duration(&rd, root, "probe_timeout", &cfg->probe_timeout_ms) == 1 &&
        cfg->probe_timeout_ms < 1000) {
        cfg_err(&rd, cfg_line(config_setting_get_member(root, "probe_timeout")),
                "'probe_timeout' must be at least 1s");
        cfg->probe_timeout_ms = CFG_DEFAULT_PROBE_TIMEOUT_MS;
    }
    cfg_get_duration(&rd, root, "shutdown_grace", &cfg->shutdown_grace_ms);
    cfg_read_isolation(&rd, root, &cfg->isolation);
    cfg_get_size(&rd, root, "isolation_memory_max", &cfg->isolation_memory_max);
    cfg_get_bool(&rd, root, "isolation_syscall_filter", &cfg->isolation_syscall_filter);
    cfg_read_jobs(&rd, root, &cfg->jobs);
    cfg_read_mask_key(&rd, root, cfg);
    cfg_read_catalog(&rd, root, &cfg->catalog);
    cfg_read_api(&rd, root, &cfg->api);
    cfg_read_state_store(&rd, root, &cfg->state_store);
    config_destroy(&lc);

    if (cfg->sources_dir)
        cfg_read_sources(cfg, &rd, explicit_dir, dir_line, skip, extra);
    cfg_check_masks(cfg, diags);
    if (rd.oom)
        diag_error(diags, path, 0, "out of memory while reading the configuration");
    free(rd.dir);
    return cfg;
}

void cfg_free(cfg_config *cfg)
{
    size_t i;

    if (!cfg)
        return;
    free(cfg->path);
    cfg_strv_free(cfg->plugin_dirs, cfg->n_plugin_dirs);
    free(cfg->state_dir);
    free(cfg->workspace);
    free(cfg->node_name);
    free(cfg->sources_dir);
    free(cfg->key_file);
    free(cfg->mask_key);
    free(cfg->control_socket);
    cfg_api_free(&cfg->api);
    cfg_state_store_free(&cfg->state_store);
    for (i = 0; i < cfg->n_sources; i++)
        cfg_source_free(&cfg->sources[i]);
    free(cfg->sources);
    free(cfg);
}

static int cfg_node_char(int c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
}

int cfg_check_node_name(const char *name, const char **why)
{
    const char *reason = NULL;
    size_t i, n = name ? strlen(name) : 0;

    if (n == 0)
        reason = "it is empty";
    else if (n > 63)
        reason = "it is longer than 63 characters";
    else if (!isalnum((unsigned char)name[0]))
        reason = "it must start with a letter or a digit";
    for (i = 0; !reason && i < n; i++)
        if (!cfg_node_char(name[i]))
            reason = "only letters, digits, '.', '_' and '-' are allowed";
    if (why)
        *why = reason;
    return reason ? -1 : 0;
}

char *cfg_default_node_name(char *buf, size_t n)
{
    size_t i = 0;

    if (n == 0)
        return buf;
    if (gethostname(buf, n) != 0)
        buf[0] = '\0';
    buf[n - 1] = '\0';
    while (buf[i] && cfg_node_char(buf[i]) && i < 63)
        i++;
    buf[i] = '\0';
    if (cfg_check_node_name(buf, NULL) < 0)
        snprintf(buf, n, "localhost");
    return buf;
}

const cfg_source *cfg_find_source(const cfg_config *cfg, const char *name)
{
    size_t i;

    if (!cfg || !name)
        return NULL;
    for (i = 0; i < cfg->n_sources; i++)
        if (strcmp(cfg->sources[i].name, name) == 0)
            return &cfg->sources[i];
    return NULL;
}

const char *cfg_location_name(dsrc_location loc)
{
    switch (loc) {
    case DSRC_LOC_ON_PREM: return "on_prem";
    case DSRC_LOC_CLOUD: return "cloud";
    case DSRC_LOC_HYBRID: return "hybrid";
    }
    return "on_prem";
}

const char *cfg_tls_default_mode(dsrc_location loc)
{
    return loc == DSRC_LOC_ON_PREM ? "prefer" : "verify-full";
}

int cfg_cloud_key_is_secret(const char *key)
{
    return key && cfg_in(cfg_cloud_secrets, key);
}
