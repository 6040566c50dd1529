/* SPDX-License-Identifier: Apache-2.0 */
/* srcedit.c -- see srcedit.h */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/redact.h"
#include "config/config.h"
#include "plugin/registry.h"
#include "plugin/source.h"
#include "plugin/srcedit.h"
#include "secret/keyring.h"
#include "secret/secret.h"

#define SRCEDIT_LOCK_FILE ".dsrc-sources.lock"
#define SRCEDIT_HEADER                                                                \
    "Managed through the dsrc control API (dsrc source, /v1/sources).\n"              \
    "It may be edited by hand too: the API sees such a change (its ETag) and\n"        \
    "never overwrites it unknowingly.  Secrets are encrypted with the host's key."

static pthread_mutex_t srcedit_mu = PTHREAD_MUTEX_INITIALIZER;

static int srcedit_fail(srcedit_res *res, int http, dsrc_status st, const char *fmt, ...)
    DSRC_PRINTF(4, 5);
static int srcedit_fail(srcedit_res *res, int http, dsrc_status st, const char *fmt, ...)
{
    va_list ap;
    char buf[sizeof res->message], *r;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r = redact_dup(buf);
    snprintf(res->message, sizeof res->message, "%s", r ? r : "");
    free(r);
    res->http = http;
    res->status = st;
    return -1;
}

static void srcedit_field_err(srcedit_res *res, const char *field, const char *msg)
{
    char *r = redact_dup(msg);

    json_array_append_new(res->errors, json_pack("{s:s?, s:s}", "field", field, "message",
                                                 r ? r : ""));
    free(r);
}

void srcedit_res_free(srcedit_res *res)
{
    if (!res)
        return;
    json_decref(res->errors);
    json_decref(res->test);
    json_decref(res->changed);
    res->errors = res->test = res->changed = NULL;
}

/* ------------------------------------------------------------------------ */
/* Secrets                                                                   */

typedef struct srcedit_keys {
    const char *key_file;
    keyring *kr;
    int tried;
    derr why;
} srcedit_keys;

/* obj[key] is a secret: a plain value becomes "fernet:TOKEN". */
static void srcedit_seal(json_t *obj, const char *key, const char *field, srcedit_keys *k,
                         srcedit_res *res)
{
    json_t *v = json_object_get(obj, key);
    char num[64], *token = NULL, *sealed = NULL;
    const char *plain;
    derr e = {0};

    if (!v)
        return;
    if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        plain = num;
    } else if (json_is_string(v)) {
        plain = json_string_value(v);
    } else {
        srcedit_field_err(res, field, "a secret is text");
        return;
    }
    if (secret_is_reference(plain))
        return;
    redact_add(plain);
    if (!k->tried) {
        k->tried = 1;
        keyring_load(k->key_file, &k->kr, &k->why);
    }
    if (!k->kr) {
        char msg[512];
        snprintf(msg, sizeof msg, "a secret given in plain text is stored encrypted, and "
                 "there is no key to encrypt it with (%s); give a fernet:, env: or file: "
                 "reference instead, or set key_file", k->why.msg ? k->why.msg : "no key");
        srcedit_field_err(res, field, msg);
        return;
    }
    if (keyring_encrypt(k->kr, plain, strlen(plain), &token, &e) != DSRC_OK ||
        asprintf(&sealed, "fernet:%s", token) < 0) {
        srcedit_field_err(res, field, e.msg ? e.msg : "cannot encrypt the secret");
        sealed = NULL;
    } else {
        json_object_set_new(obj, key, json_string(sealed));
    }
    derr_clear(&e);
    free(token);
    free(sealed);
}

/* Apply fn to every secret of doc (p: the source's plugin, NULL when
 * unknown: then every connection option is taken as one). */
static void srcedit_secrets(json_t *doc, loader_plugin *p,
                            void (*fn)(json_t *obj, const char *key, const char *field,
                                       void *user),
                            void *user)
{
    json_t *conn = json_object_get(doc, "connection"), *cloud = json_object_get(doc, "cloud"),
           *tls = json_object_get(doc, "tls"), *v;
    const char *k;
    void *it;
    char field[300];

    if (json_is_object(conn))
        for (it = json_object_iter(conn); it; it = json_object_iter_next(conn, it)) {
            const dsrc_option *def;
            k = json_object_iter_key(it);
            def = p ? loader_option(p, k) : NULL;
            if (p && !(def && (def->flags & DSRC_OPT_SECRET)))
                continue;
            snprintf(field, sizeof field, "connection.%s", k);
            fn(conn, k, field, user);
        }
    if (json_is_object(cloud))
        json_object_foreach(cloud, k, v) {
            if (!cfg_cloud_key_is_secret(k))
                continue;
            snprintf(field, sizeof field, "cloud.%s", k);
            fn(cloud, k, field, user);
        }
    if (json_is_object(tls) && json_object_get(tls, "key_passphrase"))
        fn(tls, "key_passphrase", "tls.key_passphrase", user);
}

typedef struct srcedit_seal_ctx {
    srcedit_keys *keys;
    srcedit_res *res;
} srcedit_seal_ctx;

static void srcedit_seal_fn(json_t *obj, const char *key, const char *field, void *user)
{
    srcedit_seal_ctx *c = user;
    srcedit_seal(obj, key, field, c->keys, c->res);
}

/* Register every plain secret with the redaction before anything is said. */
static void srcedit_redact_fn(json_t *obj, const char *key, const char *field, void *user)
{
    json_t *v = json_object_get(obj, key);

    (void)field;
    (void)user;
    if (json_is_string(v) && !secret_is_reference(json_string_value(v)))
        redact_add(json_string_value(v));
}

static void srcedit_mask_fn(json_t *obj, const char *key, const char *field, void *user)
{
    srcedit_show show = *(srcedit_show *)user;
    json_t *v = json_object_get(obj, key);
    const char *s = json_string_value(v);
    secret_kind kind = secret_kind_of(s);
    char buf[32];

    (void)field;
    if (!s || kind == SECRET_PLAIN) {
        json_object_set_new(obj, key, json_string(REDACTED));
    } else if (show == SRCEDIT_MASK) {
        snprintf(buf, sizeof buf, "%s:%s", secret_kind_name(kind), REDACTED);
        json_object_set_new(obj, key, json_string(buf));
    }
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

/* fsync a directory. */
static int srcedit_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

static int srcedit_write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Write `text` into a new hidden file of `dir` (its name in tmp); the file
 * is synced.  0, or -1 with errno set (and no file left). */
static int srcedit_write_tmp(const char *dir, const char *name, const char *text, mode_t mode,
                             char tmp[PATH_MAX])
{
    int fd, err;

    if (snprintf(tmp, PATH_MAX, "%s/.%s.conf.XXXXXX", dir, name) >= PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
        return -1;
    if (fchmod(fd, mode) < 0 || srcedit_write_all(fd, text, strlen(text)) < 0 ||
        fsync(fd) < 0) {
        err = errno;
        close(fd);
        unlink(tmp);
        errno = err;
        return -1;
    }
    if (close(fd) < 0) {
        err = errno;
        unlink(tmp);
        errno = err;
        return -1;
    }
    return 0;
}

/* The lock every process that edits sources_dir takes. */
static int srcedit_lock(const char *dir, int create_dir)
{
    char path[PATH_MAX];
    int fd;

    if (create_dir && mkdir(dir, 0750) < 0 && errno != EEXIST)
        return -1;
    if (snprintf(path, sizeof path, "%s/%s", dir, SRCEDIT_LOCK_FILE) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    /* Read-only and 0644: whoever made it, every user who may edit the
     * directory (the daemon, members of a shared group) can lock it. */
    if ((fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
        return -1;
    while (flock(fd, LOCK_EX) < 0)
        if (errno != EINTR) {
            int err = errno;
            close(fd);
            errno = err;
            return -1;
        }
    return fd;
}

/* 1 when the If-Match header `want` matches the entity tag `have` ("" for
 * no file). */
static int srcedit_match(const char *want, const char *have)
{
    const char *p = want;

    if (!want)
        return 1;
    while (*p) {
        size_t n;
        while (*p == ' ' || *p == ',')
            p++;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        n = strcspn(p, ", ");
        if (n == 1 && *p == '*' && *have)
            return 1;
        if (n && n == strlen(have) && strncmp(p, have, n) == 0)
            return 1;
        p += n;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Checking                                                                  */

/* Check the configuration with `tmp` in place of `old`: the errors of the
 * new file, each with its field.  Returns the new configuration and
 * registry (to test with) or -1. */
static int srcedit_check(const char *conf_path, loader_set *plugins, const char *old,
                         const char *tmp, const srcdoc_lines *lines, cfg_config **cfg_out,
                         registry **reg_out, srcedit_res *res)
{
    diag_list diags = {0};
    cfg_config *cfg = cfg_load_with(conf_path, old, tmp, &diags);
    registry *reg = NULL;
    size_t i, n = 0;

    if (cfg)
        reg = registry_build(cfg, plugins, &diags);
    for (i = 0; i < diags.n; i++) {
        const diag *x = &diags.v[i];
        if (x->severity != DIAG_ERROR || !x->file || strcmp(x->file, tmp) != 0)
            continue;
        srcedit_field_err(res, srcdoc_field(lines, x->line), x->msg ? x->msg : "");
        n++;
    }
    if (!cfg || !reg || n) {
        if (!cfg || !reg)
            srcedit_fail(res, 500, DSRC_E_INVALID_CONFIG, "cannot read the configuration %s",
                         conf_path);
        else
            srcedit_fail(res, 422, DSRC_E_INVALID_CONFIG, "the source has %zu error(s)", n);
        registry_free(reg);
        cfg_free(cfg);
        diag_free(&diags);
        return -1;
    }
    diag_free(&diags);
    *cfg_out = cfg;
    *reg_out = reg;
    return 0;
}

/* Open and ping the source; res->test says how it went. */
static int srcedit_test(const registry *reg, const char *name, int64_t limit_ms,
                        srcedit_res *res)
{
    const registry_source *rs = registry_find(reg, name);
    source_conn *c = NULL;
    dsrc_ping_info info;
    double ms = 0;
    derr e = {0};
    char *ep, *ver;

    if (!rs) {
        res->test = json_pack("{s:b, s:s}", "ok", 0, "skipped", "the source is disabled");
        return 0;
    }
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    if (source_open(rs, 0, &c, &e) == DSRC_OK) {
        source_ping_within(c, limit_ms > 0 ? limit_ms : 30000, &info, &ms, &e);
        source_close(c);
    }
    if (e.status != DSRC_OK) {
        res->test = json_pack("{s:b, s:s, s:s}", "ok", 0, "dsrc_status",
                              error_status_name(e.status), "error", e.msg ? e.msg : "");
        srcedit_fail(res, 422, e.status, "the source was not stored: the test failed: %s",
                     e.msg ? e.msg : "?");
        derr_clear(&e);
        return -1;
    }
    ep = redact_dup(info.endpoint);
    ver = redact_dup(info.server_version);
    res->test = json_pack("{s:b, s:f, s:s?, s:s?}", "ok", 1, "latency_ms", ms, "endpoint", ep,
                          "server_version", ver);
    free(ep);
    free(ver);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Applying                                                                  */

/* The document the request makes, or NULL (res says why). */
static json_t *srcedit_doc(const srcedit_req *rq, const char *old, srcedit_res *res)
{
    json_t *doc, *name;
    derr e = {0};

    if (rq->op == SRCEDIT_PATCH) {
        if (!json_is_object(rq->doc)) {
            srcedit_fail(res, 400, DSRC_E_INVALID_ARGUMENT, "a merge patch is a JSON object");
            return NULL;
        }
        if (!(doc = srcdoc_read(old, &e))) {
            srcedit_fail(res, 409, e.status, "cannot read the source's file: %s",
                         e.msg ? e.msg : "?");
            derr_clear(&e);
            return NULL;
        }
        doc = srcdoc_merge_patch(doc, rq->doc);
    } else if (!json_is_object(rq->doc)) {
        srcedit_fail(res, 400, DSRC_E_INVALID_ARGUMENT, "a source is a JSON object");
        return NULL;
    } else {
        doc = json_deep_copy(rq->doc);
    }
    if (!doc) {
        srcedit_fail(res, 500, DSRC_E_INTERNAL, "out of memory");
        return NULL;
    }
    name = json_object_get(doc, "name");
    if (rq->op != SRCEDIT_CREATE) {
        if (!name)
            json_object_set_new(doc, "name", json_string(rq->name));
        else if (!json_is_string(name) || strcmp(json_string_value(name), rq->name) != 0) {
            srcedit_field_err(res, "name", "a source's name cannot change: add the source "
                              "under the new name and remove the old one");
            srcedit_fail(res, 400, DSRC_E_INVALID_ARGUMENT, "the name does not match the "
                         "path");
            json_decref(doc);
            return NULL;
        }
    }
    return doc;
}

int srcedit_apply(const char *conf_path, loader_set *plugins, const srcedit_req *rq,
                  srcedit_res *res)
{
    diag_list diags = {0};
    cfg_config *now = NULL, *cfg = NULL;
    registry *reg = NULL;
    const cfg_source *cs;
    json_t *doc = NULL, *before = NULL, *type;
    srcedit_keys keys;
    srcdoc_lines lines = {0};
    loader_plugin *plugin = NULL;
    char tmp[PATH_MAX] = "", have[SRCDOC_ETAG_SIZE] = "", *text = NULL, *old = NULL;
    const char *name = rq->name, *why;
    struct stat st;
    mode_t mode = 0640;
    derr e = {0};
    int lockfd = -1, rc = -1;

    memset(res, 0, sizeof *res);
    memset(&keys, 0, sizeof keys);
    res->errors = json_array();
    if (rq->op == SRCEDIT_CREATE) {
        json_t *n = json_is_object(rq->doc) ? json_object_get(rq->doc, "name") : NULL;
        name = json_string_value(n);
        if (!json_is_object(rq->doc))
            return srcedit_fail(res, 400, DSRC_E_INVALID_ARGUMENT, "a source is a JSON object");
    }
    if (!srcdoc_name_ok(name, &why)) {
        srcedit_field_err(res, "name", why);
        return srcedit_fail(res, 400, DSRC_E_INVALID_ARGUMENT, "%s", why);
    }
    snprintf(res->name, sizeof res->name, "%s", name);

    pthread_mutex_lock(&srcedit_mu);
    if (!(now = cfg_load(conf_path, &diags))) {
        srcedit_fail(res, 500, DSRC_E_INVALID_CONFIG, "cannot read the configuration %s",
                     conf_path);
        goto out;
    }
    if ((lockfd = srcedit_lock(now->sources_dir, rq->op == SRCEDIT_CREATE)) < 0) {
        srcedit_fail(res, 500, errno == EACCES ? DSRC_E_PERMISSION : DSRC_E_INTERNAL,
                     "cannot lock %s: %s", now->sources_dir, strerror(errno));
        goto out;
    }
    /* what is on disk now, hand edits included */
    cfg_free(now);
    diag_free(&diags);
    if (!(now = cfg_load(conf_path, &diags))) {
        srcedit_fail(res, 500, DSRC_E_INVALID_CONFIG, "cannot read the configuration %s",
                     conf_path);
        goto out;
    }
    cs = cfg_find_source(now, name);
    if (rq->op == SRCEDIT_CREATE) {
        if (cs) {
            srcedit_fail(res, 409, DSRC_E_INVALID_ARGUMENT, "a source named '%s' exists (%s)", name,
                         cs->file);
            goto out;
        }
        if (asprintf(&old, "%s/%s.conf", now->sources_dir, name) < 0) {
            old = NULL;
            srcedit_fail(res, 500, DSRC_E_INTERNAL, "out of memory");
            goto out;
        }
        if (lstat(old, &st) == 0) {
            srcedit_fail(res, 409, DSRC_E_INVALID_ARGUMENT, "%s exists and defines no source named "
                         "'%s' (see dsrcd --check-config)", old, name);
            goto out;
        }
    } else {
        if (!cs) {
            srcedit_fail(res, 404, DSRC_E_NOT_FOUND, "no source named '%s' in %s", name,
                         now->sources_dir);
            goto out;
        }
        if (!(old = strdup(cs->file))) {
            srcedit_fail(res, 500, DSRC_E_INTERNAL, "out of memory");
            goto out;
        }
        srcdoc_etag_of(old, have);
        if (stat(old, &st) == 0)
            mode = st.st_mode & 07777;
    }
    snprintf(res->file, sizeof res->file, "%s", old);
    if (rq->if_match && !srcedit_match(rq->if_match, have)) {
        srcedit_fail(res, 412, DSRC_E_INVALID_ARGUMENT, "%s changed since it was read (its entity tag "
                     "is now %s): read it again", old, have[0] ? have : "none");
        goto out;
    }
    before = rq->op == SRCEDIT_CREATE ? NULL : srcdoc_read(old, &e);
    derr_clear(&e);

    if (rq->op == SRCEDIT_DELETE) {
        if (unlink(old) < 0) {
            srcedit_fail(res, 500, errno == EACCES ? DSRC_E_PERMISSION : DSRC_E_INTERNAL,
                         "cannot remove %s: %s", old, strerror(errno));
            goto out;
        }
        srcedit_sync_dir(now->sources_dir);
        res->changed = srcdoc_changed(before, NULL);
        res->http = 200;
        rc = 0;
        goto out;
    }

    if (!(doc = srcedit_doc(rq, old, res)))
        goto out;
    type = json_object_get(doc, "type");
    if (json_is_string(type) && loader_get(plugins, json_string_value(type), &plugin, &e) != DSRC_OK) {
        srcedit_field_err(res, "type", e.msg ? e.msg : "unknown plugin");
        srcedit_fail(res, 422, DSRC_E_INVALID_CONFIG, "no plugin for type '%s'",
                     json_string_value(type));
        derr_clear(&e);
        goto out;
    }
    /* before any message could show a plain secret */
    srcedit_secrets(doc, plugin, srcedit_redact_fn, NULL);
    keys.key_file = now->key_file;
    {
        srcedit_seal_ctx sc = {&keys, res};
        srcedit_secrets(doc, plugin, srcedit_seal_fn, &sc);
    }
    if (json_array_size(res->errors)) {
        srcedit_fail(res, 422, DSRC_E_INVALID_CONFIG, "the source has %zu error(s)",
                     json_array_size(res->errors));
        goto out;
    }
    if (srcdoc_render(doc, SRCEDIT_HEADER, &text, &lines, res->errors) < 0) {
        srcedit_fail(res, 400, DSRC_E_INVALID_ARGUMENT, "the source cannot be written as a "
                     "file: %zu error(s)", json_array_size(res->errors));
        goto out;
    }
    if (srcedit_write_tmp(now->sources_dir, name, text, mode, tmp) < 0) {
        srcedit_fail(res, 500, errno == EACCES ? DSRC_E_PERMISSION : DSRC_E_INTERNAL,
                     "cannot write into %s: %s", now->sources_dir, strerror(errno));
        tmp[0] = '\0';
        goto out;
    }
    if (srcedit_check(conf_path, plugins, rq->op == SRCEDIT_CREATE ? NULL : old, tmp, &lines,
                      &cfg, &reg, res) < 0)
        goto out;
    if (rq->test && srcedit_test(reg, name, rq->test_timeout_ms, res) < 0)
        goto out;
    if (rename(tmp, old) < 0) {
        srcedit_fail(res, 500, errno == EACCES ? DSRC_E_PERMISSION : DSRC_E_INTERNAL,
                     "cannot rename %s to %s: %s", tmp, old, strerror(errno));
        goto out;
    }
    tmp[0] = '\0';
    if (srcedit_sync_dir(now->sources_dir) < 0) {
        srcedit_fail(res, 500, DSRC_E_INTERNAL, "%s was written, but syncing %s failed: %s",
                     old, now->sources_dir, strerror(errno));
        goto out;
    }
    srcdoc_etag_text(text, strlen(text), res->etag);
    res->changed = srcdoc_changed(before, doc);
    res->http = rq->op == SRCEDIT_CREATE ? 201 : 200;
    rc = 0;

out:
    if (tmp[0])
        unlink(tmp);
    if (lockfd >= 0)
        close(lockfd);
    pthread_mutex_unlock(&srcedit_mu);
    srcdoc_lines_free(&lines);
    registry_free(reg);
    cfg_free(cfg);
    cfg_free(now);
    diag_free(&diags);
    keyring_free(keys.kr);
    derr_clear(&keys.why);
    json_decref(doc);
    json_decref(before);
    if (text) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
    free(old);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */

json_t *srcedit_read(const char *conf_path, loader_set *plugins, const char *name,
                     srcedit_show show, char etag[SRCDOC_ETAG_SIZE], char **file, derr *e)
{
    diag_list diags = {0};
    cfg_config *cfg = cfg_load(conf_path, &diags);
    const cfg_source *cs = cfg ? cfg_find_source(cfg, name) : NULL;
    loader_plugin *p = NULL;
    json_t *doc = NULL, *type;
    derr pe = {0};

    etag[0] = '\0';
    if (file)
        *file = NULL;
    if (!cfg)
        derr_set(e, DSRC_E_INVALID_CONFIG, "cannot read the configuration %s", conf_path);
    else if (!cs)
        derr_set(e, DSRC_E_NOT_FOUND, "no source named '%s' in %s", name, cfg->sources_dir);
    else if ((doc = srcdoc_read(cs->file, e))) {
        srcdoc_etag_of(cs->file, etag);
        type = json_object_get(doc, "type");
        if (!json_is_string(type) ||
            loader_get(plugins, json_string_value(type), &p, &pe) != DSRC_OK)
            p = NULL;
        derr_clear(&pe);
        srcedit_secrets(doc, p, srcedit_mask_fn, &show);
        if (file)
            *file = strdup(cs->file);
    }
    cfg_free(cfg);
    diag_free(&diags);
    return doc;
}

char *srcedit_text(const json_t *doc, derr *e)
{
    json_t *errors = json_array();
    char *text = NULL;

    if (srcdoc_render(doc, NULL, &text, NULL, errors) < 0) {
        json_t *first = json_array_get(errors, 0);
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "%s: %s",
                 json_string_value(json_object_get(first, "field")),
                 json_string_value(json_object_get(first, "message")));
        text = NULL;
    }
    json_decref(errors);
    return text;
}

/* ".NAME.conf.XXXXXX": a temporary file of srcedit_write_tmp(). */
static int srcedit_is_tmp(const char *f)
{
    const char *p = strstr(f, ".conf.");

    return f[0] == '.' && p && p > f + 1 && strlen(p + 6) == 6 && !strchr(p + 6, '.');
}

int srcedit_sweep(const char *sources_dir)
{
    DIR *d;
    struct dirent *de;
    int lockfd, n = 0;

    if (!sources_dir || (lockfd = srcedit_lock(sources_dir, 0)) < 0)
        return 0;
    if ((d = opendir(sources_dir))) {
        while ((de = readdir(d)))
            if (srcedit_is_tmp(de->d_name) && unlinkat(dirfd(d), de->d_name, 0) == 0)
                n++;
        closedir(d);
    }
    if (n)
        srcedit_sync_dir(sources_dir);
    close(lockfd);
    return n;
}
