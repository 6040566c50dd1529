/* SPDX-License-Identifier: Apache-2.0 */
/* api.c -- see api.h */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/api.h"
#include "ctl/instance.h"
#include "base/log.h"
#include "base/redact.h"

struct api_server {
    char *path;
    int fd;              /* listening socket                                */
    int stop[2];         /* self-pipe: writing to stop[1] ends the thread   */
    api_handler fn;
    void *user;
    pthread_t thread;
    char *buf;           /* API_MAX_LINE bytes                              */
};

static const char *const api_names[] = {"ping", "sources", "pools", "health",
                                        "jobs", "run", "cancel"};
#define API_NAMES "ping, sources, pools, health, jobs, run, cancel"

const char *api_cmd_name(api_cmd c)
{
    return (unsigned)c < sizeof api_names / sizeof api_names[0] ? api_names[c] : "?";
}

/* ------------------------------------------------------------------------ */
/* Requests and responses                                                    */

/* The members of "run" ({"source", "kind": "discover"} or {"source",
 * "item"}) and "cancel" ({"id"}). */
static dsrc_status api_parse_run_args(json_t *root, api_request *out, derr *e)
{
    json_t *item = json_object_get(root, "item"), *kind = json_object_get(root, "kind");
    json_t *id = json_object_get(root, "id");

    if (item && !json_is_null(item)) {
        if (!json_is_string(item) || !json_string_length(item))
            return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                            "malformed request: \"item\" must be a non-empty string");
        if (!(out->item = strdup(json_string_value(item))))
            return derr_set(e, DSRC_E_INTERNAL, "out of memory");
    }
    if (kind && !json_is_null(kind)) {
        if (!json_is_string(kind) || (strcmp(json_string_value(kind), "discover") != 0 &&
                                      strcmp(json_string_value(kind), "fetch") != 0))
            return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                            "malformed request: \"kind\" must be \"discover\" or \"fetch\"");
        out->discover = strcmp(json_string_value(kind), "discover") == 0;
    }
    if (id && !json_is_null(id)) {
        if (!json_is_integer(id) || json_integer_value(id) <= 0)
            return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                            "malformed request: \"id\" must be a positive integer");
        out->id = (int64_t)json_integer_value(id);
    }
    if (out->cmd == API_RUN && (!out->source || out->discover == !!out->item))
        return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                        "malformed request: \"run\" needs a \"source\" and either "
                        "\"kind\": \"discover\" or an \"item\"");
    if (out->cmd == API_CANCEL && !out->id)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                        "malformed request: \"cancel\" needs the run's \"id\"");
    return DSRC_OK;
}

dsrc_status api_parse_request(const char *line, size_t len, api_request *out, derr *e)
{
    json_error_t jerr;
    json_t *root, *cmd, *src;
    size_t i;
    dsrc_status st = DSRC_OK;

    memset(out, 0, sizeof *out);
    root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT, "malformed request: %s (column %d)",
                        jerr.text, jerr.column);
    if (!json_is_object(root)) {
        st = derr_set(e, DSRC_E_INVALID_ARGUMENT, "malformed request: not a JSON object");
        goto out;
    }
    cmd = json_object_get(root, "cmd");
    if (!json_is_string(cmd)) {
        st = derr_set(e, DSRC_E_INVALID_ARGUMENT,
                      "malformed request: \"cmd\" must be a string (" API_NAMES ")");
        goto out;
    }
    for (i = 0; i < sizeof api_names / sizeof api_names[0]; i++)
        if (strcmp(json_string_value(cmd), api_names[i]) == 0)
            break;
    if (i == sizeof api_names / sizeof api_names[0]) {
        st = derr_set(e, DSRC_E_INVALID_ARGUMENT,
                      "unknown command '%.64s' (" API_NAMES ")",
                      json_string_value(cmd));
        goto out;
    }
    out->cmd = (api_cmd)i;
    src = json_object_get(root, "source");
    if (src && !json_is_null(src)) {
        if (!json_is_string(src) || !json_string_length(src)) {
            st = derr_set(e, DSRC_E_INVALID_ARGUMENT,
                          "malformed request: \"source\" must be a non-empty string");
            goto out;
        }
        if (!(out->source = strdup(json_string_value(src)))) {
            st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
            goto out;
        }
    }
    if ((st = api_parse_run_args(root, out, e)) != DSRC_OK)
        goto out;
out:
    json_decref(root);
    if (st != DSRC_OK)
        api_request_free(out);
    return st;
}

void api_request_free(api_request *r)
{
    if (!r)
        return;
    free(r->source);
    free(r->item);
    memset(r, 0, sizeof *r);
}

char *api_response_line(json_t *result, const derr *e)
{
    json_t *o = json_object();
    char *s, *line = NULL;

    if (!o) {
        json_decref(result);
        return NULL;
    }
    if (e && e->status != DSRC_OK) {
        char *msg = redact_dup(e->msg ? e->msg : error_status_name(e->status));
        json_object_set_new(o, "ok", json_false());
        json_object_set_new(o, "status", json_string(error_status_name(e->status)));
        json_object_set_new(o, "error", json_string(msg ? msg : "out of memory"));
        free(msg);
        json_decref(result);
    } else {
        json_object_set_new(o, "ok", json_true());
        json_object_set_new(o, "result", result ? result : json_null());
    }
    s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(o);
    if (s && asprintf(&line, "%s\n", s) < 0)
        line = NULL;
    free(s);
    return line;
}

/* ------------------------------------------------------------------------ */
/* I/O helpers                                                               */

static int64_t api_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write all of buf before `deadline` (monotonic ms).  0 or -1. */
static int api_write_all(int fd, const char *buf, size_t n, int64_t deadline)
{
    while (n) {
        struct pollfd p = {fd, POLLOUT, 0};
        int64_t left = deadline - api_now_ms();
        ssize_t w;

        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Server                                                                    */

static void api_answer(api_server *s, int fd, const char *line, size_t len)
{
    api_request req;
    derr e = {0};
    json_t *res = NULL;
    char *out;

    if (api_parse_request(line, len, &req, &e) == DSRC_OK) {
        res = s->fn(s->user, &req, &e);
        if (!res && e.status == DSRC_OK)
            derr_set(&e, DSRC_E_INTERNAL, "out of memory");
        api_request_free(&req);
    }
    out = api_response_line(res, &e);
    if (out)
        api_write_all(fd, out, strlen(out), api_now_ms() + API_IDLE_MS);
    free(out);
    derr_clear(&e);
}

/* Serve one client until it hangs up, idles or we stop.  A line longer than
 * API_MAX_LINE gets an error answer and is skipped up to its newline.
 * Returns 1 when the server must stop. */
static int api_serve_client(api_server *s, int fd)
{
    size_t have = 0;
    int skipping = 0;

    for (;;) {
        struct pollfd p[2] = {{fd, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
        char *nl;
        ssize_t r;
        int n = poll(p, 2, API_IDLE_MS);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return 0;
        if (p[1].revents)
            return 1;
        if (n == 0)
            return 0; /* idle */
        r = recv(fd, s->buf + have, API_MAX_LINE - have, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0)
            return 0;
        have += (size_t)r;
        while ((nl = memchr(s->buf, '\n', have))) {
            size_t len = (size_t)(nl - s->buf);
            if (len && !skipping)
                api_answer(s, fd, s->buf, len);
            skipping = 0;
            have -= len + 1;
            memmove(s->buf, nl + 1, have);
        }
        if (have == API_MAX_LINE) {
            if (!skipping) {
                derr e = {0};
                char *out;
                derr_set(&e, DSRC_E_INVALID_ARGUMENT, "request longer than %d bytes",
                         API_MAX_LINE - 1);
                out = api_response_line(NULL, &e);
                if (out)
                    api_write_all(fd, out, strlen(out), api_now_ms() + API_IDLE_MS);
                free(out);
                derr_clear(&e);
            }
            skipping = 1;
            have = 0;
        }
    }
}

static void *api_thread(void *arg)
{
    api_server *s = arg;

    for (;;) {
        struct pollfd p[2] = {{s->fd, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
        int fd;

        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_msg(DSRC_LOG_ERROR, NULL, NULL, "control socket: poll: %s", strerror(errno));
            break;
        }
        if (p[1].revents)
            break;
        if (!p[0].revents)
            continue;
        fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
                log_msg(DSRC_LOG_WARNING, NULL, NULL, "control socket: accept: %s",
                        strerror(errno));
            if (errno == EMFILE || errno == ENFILE)
                poll(NULL, 0, 100);
            continue;
        }
        if (api_serve_client(s, fd)) {
            close(fd);
            break;
        }
        close(fd);
    }
    return NULL;
}

/* mkdir -p of the directory part of `path` (mode 0755). */
static int api_make_parent(const char *path)
{
    char *dir = strdup(path), *p;
    int rc = 0;

    if (!dir)
        return -1;
    for (p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
            rc = -1;
            break;
        }
        *p = '/';
    }
    free(dir);
    return rc;
}

api_server *api_server_start(const char *path, api_handler fn, void *user, derr *e)
{
    api_server *s;
    struct sockaddr_un sa;
    int err;

    if (!path || !*path || strlen(path) >= sizeof sa.sun_path) {
        derr_set(e, DSRC_E_INVALID_CONFIG, "control socket path '%s' is empty or longer "
                 "than %zu bytes", path ? path : "", sizeof sa.sun_path - 1);
        return NULL;
    }
    if (!(s = calloc(1, sizeof *s)) || !(s->buf = malloc(API_MAX_LINE)) ||
        !(s->path = strdup(path))) {
        if (s)
            free(s->buf);
        free(s);
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return NULL;
    }
    s->fd = s->stop[0] = s->stop[1] = -1;
    s->fn = fn;
    s->user = user;
    if (api_make_parent(path) < 0) {
        derr_set(e, DSRC_E_PERMISSION, "control socket %s: cannot make its directory: %s",
                 path, strerror(errno));
        goto fail;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->fd < 0) {
        derr_set(e, DSRC_E_INTERNAL, "control socket: %s", strerror(errno));
        goto fail;
    }
    {
        struct stat st;
        pid_t other;
        /* Only a stale socket is replaced, never another kind of file, nor
         * a socket a live process listens on. */
        if (lstat(path, &st) == 0) {
            if (!S_ISSOCK(st.st_mode)) {
                derr_set(e, DSRC_E_INVALID_CONFIG,
                         "control socket %s: exists and is not a socket", path);
                goto fail;
            }
            if (instance_socket_live(path, &other)) {
                derr_set(e, DSRC_E_PERMISSION,
                         "control socket %s: another process%s%.0ld%s listens on it", path,
                         other ? " (pid " : "", (long)other, other ? ")" : "");
                goto fail;
            }
            unlink(path);
        }
    }
    {
        mode_t old = umask(0117);
        err = bind(s->fd, (struct sockaddr *)&sa, sizeof sa);
        umask(old);
    }
    if (err < 0 || chmod(path, 0660) < 0 || listen(s->fd, 16) < 0) {
        derr_set(e, errno == EACCES || errno == EPERM ? DSRC_E_PERMISSION : DSRC_E_INTERNAL,
                 "control socket %s: %s", path, strerror(errno));
        goto fail;
    }
    if (pipe2(s->stop, O_CLOEXEC) < 0) {
        derr_set(e, DSRC_E_INTERNAL, "control socket: %s", strerror(errno));
        goto fail_unlink;
    }
    if ((err = pthread_create(&s->thread, NULL, api_thread, s)) != 0) {
        derr_set(e, DSRC_E_INTERNAL, "control socket: cannot start its thread: %s",
                 strerror(err));
        goto fail_unlink;
    }
    return s;
fail_unlink:
    unlink(path);
fail:
    if (s->fd >= 0)
        close(s->fd);
    if (s->stop[0] >= 0)
        close(s->stop[0]);
    if (s->stop[1] >= 0)
        close(s->stop[1]);
    free(s->buf);
    free(s->path);
    free(s);
    return NULL;
}

void api_server_stop(api_server *s)
{
    ssize_t w;

    if (!s)
        return;
    do
        w = write(s->stop[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(s->thread, NULL);
    close(s->fd);
    close(s->stop[0]);
    close(s->stop[1]);
    unlink(s->path);
    free(s->buf);
    free(s->path);
    free(s);
}

/* ------------------------------------------------------------------------ */
/* Client                                                                    */

static dsrc_status api_status_parse(const char *name)
{
    int i;

    for (i = DSRC_E_INVALID_CONFIG; name && i <= DSRC_E_INTERNAL; i++)
        if (strcmp(error_status_name((dsrc_status)i), name) == 0)
            return (dsrc_status)i;
    return DSRC_E_BACKEND;
}

dsrc_status api_call(const char *path, const json_t *req, int timeout_ms, json_t **result,
                     derr *e)
{
    struct sockaddr_un sa;
    int fd = -1;
    int64_t deadline = api_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    char *line = NULL, *buf = NULL, *nl;
    size_t have = 0;
    json_t *resp = NULL, *ok;
    json_error_t jerr;
    dsrc_status st = DSRC_OK;

    *result = NULL;
    if (!path || !*path || strlen(path) >= sizeof sa.sun_path)
        return derr_set(e, DSRC_E_INVALID_CONFIG, "control socket path '%s' is empty or too "
                        "long", path ? path : "");
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return derr_set(e, DSRC_E_INTERNAL, "socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int err = errno;
        close(fd);
        if (err == EACCES || err == EPERM)
            return derr_set(e, DSRC_E_PERMISSION, "control socket %s: %s", path,
                            strerror(err));
        if (err == ENOENT || err == ECONNREFUSED || err == ENOTDIR)
            return derr_set(e, DSRC_E_UNREACHABLE, "dsrcd is not running (no answer on %s)",
                            path);
        return derr_set(e, DSRC_E_UNREACHABLE, "dsrcd is not running (no answer on %s: %s)",
                        path, strerror(err));
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    {
        char *s = json_dumps(req, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!s || asprintf(&line, "%s\n", s) < 0) {
            free(s);
            line = NULL;
            st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
            goto out;
        }
        free(s);
    }
    if (api_write_all(fd, line, strlen(line), deadline) < 0) {
        st = derr_set(e, DSRC_E_TIMEOUT, "dsrcd did not take the request on %s", path);
        goto out;
    }
    /* Answers can be large (every pool of every source): grow as needed. */
    for (;;) {
        size_t cap = have + 65536;
        char *nb = realloc(buf, cap + 1);
        struct pollfd p = {fd, POLLIN, 0};
        int64_t left = deadline - api_now_ms();
        ssize_t r;

        if (!nb) {
            st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
            goto out;
        }
        buf = nb;
        if (left <= 0 || poll(&p, 1, (int)left) == 0) {
            st = derr_set(e, DSRC_E_TIMEOUT, "dsrcd did not answer on %s within %d ms", path,
                          timeout_ms);
            goto out;
        }
        r = recv(fd, buf + have, cap - have, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0) {
            st = derr_set(e, DSRC_E_UNREACHABLE, "dsrcd closed the connection on %s without "
                          "an answer", path);
            goto out;
        }
        have += (size_t)r;
        buf[have] = '\0';
        if ((nl = memchr(buf, '\n', have)))
            break;
    }
    resp = json_loadb(buf, (size_t)(nl - buf), 0, &jerr);
    ok = resp ? json_object_get(resp, "ok") : NULL;
    if (!json_is_boolean(ok)) {
        st = derr_set(e, DSRC_E_INTERNAL, "malformed answer from dsrcd on %s", path);
    } else if (json_is_true(ok)) {
        *result = json_incref(json_object_get(resp, "result"));
        if (!*result)
            *result = json_null();
    } else {
        const char *msg = json_string_value(json_object_get(resp, "error"));
        st = derr_set(e, api_status_parse(json_string_value(json_object_get(resp, "status"))),
                      "%s", msg ? msg : "dsrcd refused the request");
    }
out:
    json_decref(resp);
    free(buf);
    free(line);
    close(fd);
    return st;
}
