/* SPDX-License-Identifier: Apache-2.0 */
/* state.c -- committed incremental cursors; see state.h */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "output/manifest.h"
#include "output/outfile.h"
#include "output/state.h"

/* A state file is small; anything larger is not one of ours. */
#define STATE_MAX_FILE (256u * 1024u)

static int state_safe_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* Append component s[0..n) to out at *len, encoded: kept as it is when it is
 * made of safe characters only and is not "." or "..", else every unsafe
 * character (and, for "." and "..", each dot) becomes %XX.  out has room
 * for 3 * n bytes. */
static void state_encode(char *out, size_t *len, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    int dots = (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (state_safe_char(c) && !dots) {
            out[(*len)++] = (char)c;
        } else {
            out[(*len)++] = '%';
            out[(*len)++] = hex[c >> 4];
            out[(*len)++] = hex[c & 15];
        }
    }
}

char *state_item_path(const char *item)
{
    size_t n, len = 0;
    const char *p, *q;
    char *out;

    if (!item)
        item = "";
    n = strlen(item);
    out = malloc(3 * n + 2);
    if (!out)
        return NULL;
    for (p = item; *p; p = q) {
        q = strchr(p, '/');
        if (!q)
            q = p + strlen(p);
        if (q > p) {
            if (len)
                out[len++] = '/';
            state_encode(out, &len, p, (size_t)(q - p));
        }
        if (*q == '/')
            q++;
    }
    if (len == 0)
        out[len++] = '%'; /* no component: a name no real component maps to */
    out[len] = '\0';
    return out;
}

/* <state_dir>/cursors/<source>/<item path>.json, malloc'd; NULL with e set. */
static char *state_file(const char *state_dir, const char *source, const char *item,
                        derr *e)
{
    char *ip, *src, *path = NULL;
    size_t len = 0, n;

    if (!state_dir || !*state_dir || !source || !*source || !item) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT,
                 "state: a state directory, a source name and an item are required");
        return NULL;
    }
    n = strlen(source);
    src = malloc(3 * n + 1);
    ip = state_item_path(item);
    if (!src || !ip) {
        free(src);
        free(ip);
        derr_set(e, DSRC_E_INTERNAL, "state: out of memory");
        return NULL;
    }
    /* The source name is one component: a '/' in it is encoded too. */
    state_encode(src, &len, source, n);
    src[len] = '\0';
    if (asprintf(&path, "%s/cursors/%s/%s.json", state_dir, src, ip) < 0) {
        path = NULL;
        derr_set(e, DSRC_E_INTERNAL, "state: out of memory");
    }
    free(src);
    free(ip);
    return path;
}

/* Read a whole small file.  0 and *data (malloc'd, NUL-terminated) on
 * success; 1 when it does not exist; -1 with e set on error. */
static int state_read(const char *path, char **data, size_t *len, derr *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t cap = 4096, n = 0;
    char *buf;

    *data = NULL;
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        derr_set(e, errno == EACCES ? DSRC_E_PERMISSION : DSRC_E_INTERNAL,
                 "cannot read state file %s: %s", path, strerror(errno));
        return -1;
    }
    buf = malloc(cap);
    for (;;) {
        ssize_t r;
        if (!buf) {
            close(fd);
            derr_set(e, DSRC_E_INTERNAL, "cannot read state file %s: out of memory", path);
            return -1;
        }
        if (n == cap) {
            char *nb;
            if (cap >= STATE_MAX_FILE) {
                free(buf);
                close(fd);
                derr_set(e, DSRC_E_INTERNAL,
                         "corrupt state file %s: larger than %u bytes; remove it to "
                         "fetch the item from the start", path, STATE_MAX_FILE);
                return -1;
            }
            cap *= 2;
            nb = realloc(buf, cap);
            if (!nb)
                free(buf);
            buf = nb;
            continue;
        }
        r = read(fd, buf + n, cap - n);
        if (r < 0) {
            int err = errno;
            if (err == EINTR)
                continue;
            free(buf);
            close(fd);
            derr_set(e, DSRC_E_INTERNAL, "cannot read state file %s: %s", path,
                     strerror(err));
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    *data = buf;
    *len = n;
    return 0;
}

/* Resolve the record state_prepare_cursor left in root when the process
 * that wrote it is gone (it died between putting its files in place and
 * committing the cursor): its manifest in place means the files are
 * complete, and the cursor moves (root gets its field and value); else
 * what it may have put in place without a manifest is removed and the
 * cursor stays.  The resolved record is written back when possible.
 * Returns 1 when no committed cursor remains, else 0. */
static int state_resolve(json_t *root, const char *path)
{
    json_t *p = json_object_get(root, "pending");
    const char *pf, *pv, *file, *mf, *fid;
    json_int_t pid;
    struct stat st;
    char id[OUTFILE_ID_MAX];
    char *s;

    if (!json_is_object(p))
        return 0;
    pid = json_integer_value(json_object_get(p, "pid"));
    if (pid <= 0 || (pid_t)pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
        return 0; /* a fetch in progress, or its own failure already undone */
    pf = json_string_value(json_object_get(p, "field"));
    pv = json_string_value(json_object_get(p, "value"));
    file = json_string_value(json_object_get(p, "file"));
    mf = json_string_value(json_object_get(p, "manifest"));
    fid = json_string_value(json_object_get(p, "file_id"));
    if (pf && pv &&
        manifest_matches(mf, json_string_value(json_object_get(p, "sha256")), pv)) {
        json_object_set_new(root, "field", json_string(pf));
        json_object_set_new(root, "value", json_string(pv));
    } else if (file && fid && (!mf || lstat(mf, &st) != 0) && lstat(file, &st) == 0 &&
               S_ISREG(st.st_mode)) {
        outfile_stat_id(&st, id);
        if (strcmp(id, fid) == 0)
            unlink(file); /* its data file, without its manifest */
    }
    json_object_del(root, "pending");
    if (!json_object_get(root, "value")) {
        unlink(path);
        return 1;
    }
    s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s)
        (void)outfile_write_all(path, s, strlen(s), NULL);
    free(s);
    return 0;
}

dsrc_status state_get_cursor(const char *state_dir, const char *source, const char *item,
                             const char *field, char **value, derr *e)
{
    char *path, *data = NULL;
    size_t len = 0;
    json_t *root;
    json_error_t jerr;
    const char *f, *v;
    dsrc_status st = DSRC_OK;
    int rc;

    if (!value)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT, "state: no place for the cursor value");
    *value = NULL;
    if (!field || !*field)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT, "state: a cursor field is required");
    path = state_file(state_dir, source, item, e);
    if (!path)
        return e ? e->status : DSRC_E_INVALID_ARGUMENT;
    rc = state_read(path, &data, &len, e);
    if (rc != 0) {
        free(path);
        return rc > 0 ? DSRC_OK : (e ? e->status : DSRC_E_INTERNAL);
    }
    root = json_loadb(data, len, 0, &jerr);
    free(data);
    if (!root) {
        st = derr_set(e, DSRC_E_INTERNAL,
                      "corrupt state file %s: line %d: %s; remove it to fetch the item "
                      "from the start", path, jerr.line, jerr.text);
        free(path);
        return st;
    }
    if (state_resolve(root, path) != 0 ||
        (json_is_object(json_object_get(root, "pending")) &&
         !json_object_get(root, "value"))) {
        /* no cursor committed yet */
        json_decref(root);
        free(path);
        return DSRC_OK;
    }
    f = json_string_value(json_object_get(root, "field"));
    v = json_string_value(json_object_get(root, "value"));
    if (!json_is_object(root) || !f || !v) {
        st = derr_set(e, DSRC_E_INTERNAL,
                      "corrupt state file %s: expected an object with string members "
                      "\"field\" and \"value\"; remove it to fetch the item from the start",
                      path);
    } else if (strcmp(f, field) == 0) {
        *value = strdup(v);
        if (!*value)
            st = derr_set(e, DSRC_E_INTERNAL, "state: out of memory");
    }
    json_decref(root);
    free(path);
    return st;
}

/* Write a cursor file atomically from `o` (its reference is taken) and free
 * path. */
static dsrc_status state_write_json(char *path, json_t *o, derr *e)
{
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    dsrc_status st;

    json_decref(o);
    if (!s) {
        free(path);
        return derr_set(e, DSRC_E_INTERNAL, "state: out of memory");
    }
    st = outfile_write_all(path, s, strlen(s), e);
    free(s);
    free(path);
    return st;
}

dsrc_status state_put_cursor(const char *state_dir, const char *source, const char *item,
                             const char *field, const char *value, derr *e)
{
    char *path;
    json_t *o;
    struct timespec now;
    char t[32];
    dsrc_status st;

    if (!field || !*field || !value)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                        "state: a cursor field and a value are required");
    path = state_file(state_dir, source, item, e);
    if (!path)
        return e ? e->status : DSRC_E_INVALID_ARGUMENT;
    clock_gettime(CLOCK_REALTIME, &now);
    manifest_time(&now, t);
    o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "source", source, "item", item,
                  "field", field, "value", value, "committed_at", t);
    if (!o) {
        st = derr_set(e, DSRC_E_INVALID_ARGUMENT,
                      "state: cannot record the cursor for %s (not valid UTF-8?)", path);
        free(path);
        return st;
    }
    return state_write_json(path, o, e);
}

dsrc_status state_prepare_cursor(const char *state_dir, const char *source, const char *item,
                                 const char *field, const char *value, const char *sha256,
                                 const char *file_id, const char *file,
                                 const char *manifest_path, derr *e)
{
    char *path, *data = NULL;
    size_t len = 0;
    json_t *root = NULL, *p;
    dsrc_status st;
    int rc;

    if (!field || !*field || !value)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                        "state: a cursor field and a value are required");
    path = state_file(state_dir, source, item, e);
    if (!path)
        return e ? e->status : DSRC_E_INVALID_ARGUMENT;
    rc = state_read(path, &data, &len, e);
    if (rc < 0) {
        free(path);
        return e ? e->status : DSRC_E_INTERNAL;
    }
    if (rc == 0)
        root = json_loadb(data, len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        root = NULL;
    }
    free(data);
    if (!root)
        root = json_pack("{s:s, s:s}", "source", source, "item", item);
    p = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:I}", "field", field, "value", value,
                  "sha256", sha256, "file", file, "file_id", file_id,
                  "manifest", manifest_path, "pid", (json_int_t)getpid());
    if (!root || !p || json_object_set_new(root, "pending", json_incref(p)) != 0) {
        json_decref(p);
        json_decref(root);
        st = derr_set(e, DSRC_E_INVALID_ARGUMENT,
                      "state: cannot record the cursor for %s (not valid UTF-8?)", path);
        free(path);
        return st;
    }
    json_decref(p); /* root holds it */
    return state_write_json(path, root, e);
}
