/* SPDX-License-Identifier: Apache-2.0 */
/* isolate.c -- the proxy driver and the supervision of workers (see
 * isolate.h; the worker's side is worker.c). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dsrc/plugin_util.h>

#include "base/ctx.h"
#include "base/log.h"
#include "isolate/isolate.h"
#include "isolate/wire.h"

extern char **environ;

/* A proxy connection: one worker process. */
struct dsrc_conn {
    pid_t pid;
    int fd;                   /* the host's end of the socketpair         */
    int wake;                 /* eventfd: the driver's cancel() was called */
    atomic_int cancel_req;
    pthread_mutex_t send_mu;  /* requests vs. cancel() from another thread */
    int dead;                 /* the worker is gone                       */
    char *source, *plugin;
    wire_buf in;
    dsrc_cell *cells;
    size_t n_cells;
};

/* A proxy driver, per plugin. */
typedef struct iso_proxy {
    dsrc_driver drv;
    const loader_plugin *plugin;
    struct iso_proxy *next;
} iso_proxy;

/* A source's supervision record. */
typedef struct iso_sup {
    char *source;
    double deaths[ISOLATE_CRASH_LOOP]; /* the last ones, a ring            */
    size_t n_deaths;
    int quarantined;
    double next_open;         /* no open before (monotonic seconds)        */
    char last[600];           /* how the last worker died                  */
    struct iso_sup *next;
} iso_sup;

static pthread_mutex_t iso_mu = PTHREAD_MUTEX_INITIALIZER;
static iso_proxy *iso_proxies;
static iso_sup *iso_sups;
static _Atomic int64_t iso_grace_ms = ISOLATE_DEFAULT_GRACE_MS;
static _Atomic int64_t iso_memory_max;
static _Atomic int iso_syscall_filter = 1;
static atomic_int iso_allowed;

/* Set in a worker's environment: a program started as a worker that did
 * not act as one must never start workers (no recursion). */
#define ISO_ENV_MARK "DSRC_PLUGIN_WORKER"

void isolate_allow_workers(void)
{
    if (!getenv(ISO_ENV_MARK))
        atomic_store(&iso_allowed, 1);
}

int isolate_available(void)
{
    return atomic_load(&iso_allowed);
}

static double iso_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void isolate_set_grace(int64_t ms)
{
    atomic_store(&iso_grace_ms, ms > 0 ? ms : ISOLATE_DEFAULT_GRACE_MS);
}

void isolate_set_syscall_filter(int on)
{
    atomic_store(&iso_syscall_filter, on ? 1 : 0);
}

void isolate_set_memory_max(int64_t bytes)
{
    atomic_store(&iso_memory_max, bytes > 0 ? bytes : 0);
}

/* The record of `source`, made when absent; under iso_mu. */
static iso_sup *iso_sup_of(const char *source)
{
    iso_sup *s;

    for (s = iso_sups; s; s = s->next)
        if (strcmp(s->source, source) == 0)
            return s;
    if (!(s = calloc(1, sizeof *s)) || !(s->source = strdup(source))) {
        free(s);
        return NULL;
    }
    s->next = iso_sups;
    iso_sups = s;
    return s;
}

void isolate_reset(void)
{
    iso_sup *s, *next;

    pthread_mutex_lock(&iso_mu);
    for (s = iso_sups; s; s = next) {
        next = s->next;
        free(s->source);
        free(s);
    }
    iso_sups = NULL;
    pthread_mutex_unlock(&iso_mu);
}

int isolate_quarantined(const char *name)
{
    iso_sup *s;
    int q = 0;

    pthread_mutex_lock(&iso_mu);
    for (s = iso_sups; s; s = s->next)
        if (strcmp(s->source, name) == 0)
            q = s->quarantined;
    pthread_mutex_unlock(&iso_mu);
    return q;
}

void isolate_free(void)
{
    iso_proxy *p, *next;

    isolate_reset();
    pthread_mutex_lock(&iso_mu);
    for (p = iso_proxies; p; p = next) {
        next = p->next;
        free(p);
    }
    iso_proxies = NULL;
    pthread_mutex_unlock(&iso_mu);
}

/* A death of source's worker, described by `how`: logged once, counted;
 * the crash loop quarantines. */
static void iso_died(const char *source, const char *plugin, const char *how)
{
    iso_sup *s;
    double now = iso_now(), backoff;
    size_t recent = 0, i, n;
    int quarantine = 0;

    log_msg_id(DSRC_LOG_ERROR, source, plugin, LOG_MID_WORKER_DIED, "%s", how);
    pthread_mutex_lock(&iso_mu);
    if ((s = iso_sup_of(source))) {
        s->deaths[s->n_deaths++ % ISOLATE_CRASH_LOOP] = now;
        n = s->n_deaths < ISOLATE_CRASH_LOOP ? s->n_deaths : ISOLATE_CRASH_LOOP;
        for (i = 0; i < n; i++)
            recent += now - s->deaths[i] <= ISOLATE_CRASH_WINDOW_S;
        snprintf(s->last, sizeof s->last, "%s", how);
        backoff = ISOLATE_BACKOFF_MIN_MS / 1000.0;
        for (i = 1; i < recent && backoff < ISOLATE_BACKOFF_MAX_MS / 1000.0; i++)
            backoff *= 2;
        if (backoff > ISOLATE_BACKOFF_MAX_MS / 1000.0)
            backoff = ISOLATE_BACKOFF_MAX_MS / 1000.0;
        s->next_open = now + backoff;
        if (recent >= ISOLATE_CRASH_LOOP && !s->quarantined)
            quarantine = s->quarantined = 1;
    }
    pthread_mutex_unlock(&iso_mu);
    if (quarantine)
        log_msg_id(DSRC_LOG_ERROR, source, plugin, LOG_MID_WORKER_QUARANTINED,
                   "plugin '%s' crash-looped (%d deaths within %d s): quarantined until "
                   "dsrcd is reloaded", plugin, ISOLATE_CRASH_LOOP, ISOLATE_CRASH_WINDOW_S);
}

/* May source's worker start now?  DSRC_OK, or the reason in err. */
static dsrc_status iso_may_open(const char *source, const char *plugin, dsrc_error *err)
{
    iso_sup *s;
    dsrc_status st = DSRC_OK;
    double now = iso_now();

    pthread_mutex_lock(&iso_mu);
    for (s = iso_sups; s; s = s->next)
        if (strcmp(s->source, source) == 0)
            break;
    if (s && s->quarantined)
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL,
                            "plugin '%s' is quarantined for source '%s': it crash-looped "
                            "(%d deaths within %d s; last: %s); reload dsrcd to try again",
                            plugin, source, ISOLATE_CRASH_LOOP, ISOLATE_CRASH_WINDOW_S,
                            s->last);
    else if (s && now < s->next_open)
        st = dsrc_error_set(err, DSRC_E_UNREACHABLE, 1, NULL,
                            "plugin '%s' worker for source '%s' is restarting after it died "
                            "(%s): next start in %.1f s", plugin, source, s->last,
                            s->next_open - now);
    pthread_mutex_unlock(&iso_mu);
    return st;
}

/* "killed by signal SIGSEGV (Segmentation fault)" / "exited with status 3" */
static void iso_wait_text(int status, char *buf, size_t n)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig), *desc = sigdescr_np(sig);
        snprintf(buf, n, "killed by signal SIG%s (%s)", abbrev ? abbrev : "?",
                 desc ? desc : "unknown signal");
    } else if (WIFEXITED(status)) {
        snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
    } else {
        snprintf(buf, n, "ended (wait status %d)", status);
    }
}

/* Reap the worker, waiting at most wait_ms before killing it. */
static int iso_reap(pid_t pid, int64_t wait_ms)
{
    int status = 0;
    int64_t waited = 0;
    pid_t r;

    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && waited < wait_ms) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        waited += 10;
    }
    if (r == 0) {
        kill(pid, SIGKILL);
        while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
        }
    }
    return r == pid ? status : -1;
}

/* The worker is gone or must go: kill and reap it, close the socket,
 * count the death when `why` says how it failed (NULL: a clean end). */
static void iso_end(dsrc_conn *c, int kill_it)
{
    if (c->pid > 0) {
        if (kill_it)
            kill(c->pid, SIGKILL);
        (void)iso_reap(c->pid, kill_it ? 0 : 1000);
        c->pid = -1;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->dead = 1;
}

/* The worker died during `op`: reap it, say how, count it; the call's
 * error (retryable, the connection broken). */
static dsrc_status iso_death(dsrc_conn *c, const char *op, const char *extra, dsrc_error *err)
{
    char how[160], msg[512];
    int status;

    if (extra) {
        kill(c->pid, SIGKILL);
        snprintf(how, sizeof how, "%s", extra);
    }
    status = iso_reap(c->pid, 1000);
    c->pid = -1;
    if (!extra) {
        if (status < 0)
            snprintf(how, sizeof how, "ended (cannot tell how)");
        else
            iso_wait_text(status, how, sizeof how);
    }
    iso_end(c, 0);
    snprintf(msg, sizeof msg, "plugin '%s' worker for source '%s' %s during %s", c->plugin,
             c->source, how, op);
    iso_died(c->source, c->plugin, msg);
    dsrc_error_set(err, DSRC_E_INTERNAL, 1, NULL, "%s; it is restarted at the next open", msg);
    err->connection_broken = 1;
    return DSRC_E_INTERNAL;
}

/* What a call hands back: sinks to feed and results to fill. */
typedef struct iso_call {
    const char *op;
    const dsrc_item_sink *items;
    const dsrc_meta_sink *metas;
    const dsrc_row_sink *rows;
    const dsrc_byte_sink *bytes;
    int stopped;              /* a sink refused                            */
    void (*result)(struct iso_call *call, wire_rd *r);
    void *out;
} iso_call;

/* One frame of sink data: handed on unless a sink already refused; a
 * refusal tells the worker.  -1 when the frame is garbage. */
static int iso_deliver(dsrc_conn *c, iso_call *call, wire_rd *r)
{
    wire_arena a = {0};
    dsrc_item it;
    dsrc_metadata md;
    const dsrc_column *cols;
    size_t n, i;
    int stop = 0;

    switch (r->type) {
    case WIRE_ITEM:
        if (wire_get_item(r, &it) == 0 && !call->stopped && call->items)
            stop = call->items->item(call->items->user, &it);
        break;
    case WIRE_META:
        if (wire_get_meta(r, &a, &md, &it) == 0 && !call->stopped && call->metas)
            stop = call->metas->metadata(call->metas->user, &md);
        break;
    case WIRE_SCHEMA:
        if (wire_get_columns(r, &a, &cols, &n) == 0 && !call->stopped && call->rows)
            stop = call->rows->schema(call->rows->user, cols, n);
        break;
    case WIRE_ROWS:
        n = wire_get_u32(r);
        for (i = 0; i < n && !r->bad && !stop; i++) {
            long k = wire_get_row(r, &c->cells, &c->n_cells);
            if (k >= 0 && !call->stopped && call->rows)
                stop = call->rows->row(call->rows->user, c->cells, (size_t)k);
        }
        break;
    case WIRE_BYTES_BEGIN: {
        const char *media = wire_get_str(r, NULL);
        int64_t total = wire_get_i64(r);
        if (!r->bad && !call->stopped && call->bytes)
            stop = call->bytes->begin(call->bytes->user, media, total);
        break;
    }
    case WIRE_BYTES: {
        const char *data = wire_get_str(r, &n);
        if (!r->bad && !call->stopped && call->bytes)
            stop = call->bytes->write(call->bytes->user, data, n);
        break;
    }
    default:
        r->bad = 1;
    }
    wire_arena_free(&a);
    if (r->bad)
        return -1;
    if (stop && !call->stopped) {
        wire_buf b = {0};
        call->stopped = 1;
        wire_begin(&b, WIRE_STOP);
        pthread_mutex_lock(&c->send_mu);
        (void)wire_send(c->fd, &b);
        pthread_mutex_unlock(&c->send_mu);
        wire_free(&b);
    }
    return 0;
}

/* The headers aws_sign() hands back, for the worker. */
typedef struct iso_hdrs {
    wire_buf b;
    uint32_t n;
} iso_hdrs;

static int iso_sign_header(void *user, const char *name, const char *value)
{
    iso_hdrs *h = user;

    wire_str(&h->b, name);
    wire_str(&h->b, value);
    h->n++;
    return 0;
}

/* The worker's plugin asks the host to sign an AWS request (host->aws_sign
 * with the call's own context, which knows the source): sign it and send
 * the headers back.  -1 when the frame is garbage. */
static int iso_sign(const dsrc_ctx *ctx, dsrc_conn *c, wire_rd *r)
{
    wire_arena a = {0};
    dsrc_aws_request q;
    iso_hdrs h;
    dsrc_error e;
    wire_buf out = {0};
    dsrc_status st;

    if (wire_get_aws_request(r, &a, &q) != 0) {
        wire_arena_free(&a);
        return -1;
    }
    memset(&h, 0, sizeof h);
    memset(&e, 0, sizeof e);
    e.struct_size = sizeof e;
    q.header = iso_sign_header;
    q.user = &h;
    st = ctx ? ctx_host()->aws_sign(ctx, &q, &e)
             : dsrc_error_set(&e, DSRC_E_UNSUPPORTED, 0, NULL,
                              "AWS signing needs a call made for a source");
    wire_begin(&out, WIRE_SIGNED);
    wire_put_error(&out, st, &e);
    wire_u32(&out, st == DSRC_OK && !h.b.failed ? h.n : 0);
    if (st == DSRC_OK && !h.b.failed && h.b.len)
        wire_put_raw(&out, h.b.p, h.b.len);
    pthread_mutex_lock(&c->send_mu);
    (void)wire_send(c->fd, &out); /* a dead worker shows at the next read */
    pthread_mutex_unlock(&c->send_mu);
    /* a session token is a credential: wiped */
    wire_wipe(&out);
    wire_free(&out);
    wire_wipe(&h.b);
    wire_free(&h.b);
    if (e.release)
        e.release(&e);
    wire_arena_free(&a);
    return 0;
}

/* The worker's plugin asks the host for a bearer token (host->bearer_token
 * with the call's own context, which knows the source): the token goes
 * back over the socket, every copy wiped.  -1 when the frame is garbage. */
static int iso_bearer(const dsrc_ctx *ctx, dsrc_conn *c, wire_rd *r)
{
    const char *resource = wire_get_str(r, NULL);
    int64_t size = wire_get_i64(r), expires = 0;
    wire_buf out = {0};
    dsrc_error e;
    dsrc_status st;
    char *buf;

    if (r->bad || size <= 0 || size > 1024 * 1024)
        return -1;
    if (!(buf = calloc(1, (size_t)size)))
        return -1;
    memset(&e, 0, sizeof e);
    e.struct_size = sizeof e;
    st = ctx ? ctx_host()->bearer_token(ctx, resource, buf, (size_t)size, &expires, &e)
             : dsrc_error_set(&e, DSRC_E_UNSUPPORTED, 0, NULL,
                              "a bearer token needs a call made for a source");
    wire_begin(&out, WIRE_BEARER_TOKEN);
    wire_put_error(&out, st, &e);
    wire_str(&out, st == DSRC_OK ? buf : "");
    wire_i64(&out, expires);
    explicit_bzero(buf, (size_t)size);
    free(buf);
    pthread_mutex_lock(&c->send_mu);
    (void)wire_send(c->fd, &out); /* a dead worker shows at the next read */
    pthread_mutex_unlock(&c->send_mu);
    wire_wipe(&out);
    wire_free(&out);
    if (e.release)
        e.release(&e);
    return 0;
}

static int iso_cancelled(const dsrc_ctx *ctx, dsrc_conn *c)
{
    return atomic_load(&c->cancel_req) || (ctx && ctx_host()->is_cancelled(ctx));
}

/* Send the request in `req` (wiped afterwards) and serve the worker's
 * frames until its RESULT. */
static dsrc_status iso_run(const dsrc_ctx *ctx, dsrc_conn *c, wire_buf *req, iso_call *call,
                           dsrc_error *err)
{
    wire_rd r;
    double deadline = 0;
    int rc;
    dsrc_status st;

    if (c->dead) {
        wire_wipe(req);
        dsrc_error_set(err, DSRC_E_INTERNAL, 1, NULL,
                       "plugin '%s' worker for source '%s' is gone", c->plugin, c->source);
        err->connection_broken = 1;
        return DSRC_E_INTERNAL;
    }
    /* a cancel() between calls is for no call; the context's flag, still
     * raised, cancels this one */
    {
        uint64_t drain;
        atomic_store(&c->cancel_req, 0);
        while (read(c->wake, &drain, sizeof drain) > 0) {
        }
    }
    pthread_mutex_lock(&c->send_mu);
    if (iso_cancelled(ctx, c)) {
        /* cancelled already: the call starts cancelled in the worker (a
         * CANCEL after the request could come after the plugin looked) */
        wire_buf b = {0};
        wire_begin(&b, WIRE_PRECANCEL);
        (void)wire_send(c->fd, &b);
        wire_free(&b);
        deadline = iso_now() + (double)atomic_load(&iso_grace_ms) / 1000.0;
    }
    rc = wire_send(c->fd, req);
    pthread_mutex_unlock(&c->send_mu);
    wire_wipe(req);
    if (rc != 0 && errno != EPIPE && errno != ECONNRESET)
        return iso_death(c, call->op, "could not be sent its request: killed", err);
    for (;;) {
        struct pollfd pfd[3];
        nfds_t n = 0;
        int timeout = 250;

        if (!deadline && iso_cancelled(ctx, c)) {
            wire_buf b = {0};
            wire_begin(&b, WIRE_CANCEL);
            pthread_mutex_lock(&c->send_mu);
            (void)wire_send(c->fd, &b);
            pthread_mutex_unlock(&c->send_mu);
            wire_free(&b);
            deadline = iso_now() + (double)atomic_load(&iso_grace_ms) / 1000.0;
        }
        if (deadline) {
            double left = deadline - iso_now();
            if (left <= 0) {
                char how[160];
                snprintf(how, sizeof how, "ignored cancellation for %.1f s: killed",
                         (double)atomic_load(&iso_grace_ms) / 1000.0);
                st = iso_death(c, call->op, how, err);
                err->status = DSRC_E_CANCELLED;
                return DSRC_E_CANCELLED;
            }
            timeout = (int)(left * 1000) + 1;
        }
        pfd[n].fd = c->fd;
        pfd[n++].events = POLLIN;
        if (!deadline && ctx && ctx->cancel_fd >= 0) {
            pfd[n].fd = ctx->cancel_fd;
            pfd[n++].events = POLLIN;
        }
        if (!deadline) {
            pfd[n].fd = c->wake;
            pfd[n++].events = POLLIN;
        }
        if (poll(pfd, n, timeout) < 0 && errno != EINTR)
            return iso_death(c, call->op, "could not be watched: killed", err);
        if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        rc = wire_recv(c->fd, &c->in, &r);
        if (rc <= 0) {
            if (rc < 0 && errno == EPROTO)
                return iso_death(c, call->op, "sent a malformed frame: killed", err);
            return iso_death(c, call->op, NULL, err);
        }
        if (r.type == WIRE_LOG) {
            dsrc_log_level level = (dsrc_log_level)wire_get_u32(&r);
            const char *msg = wire_get_str(&r, NULL);
            if (!r.bad && msg)
                log_msg(level, c->source, c->plugin, "%s", msg);
            continue;
        }
        if (r.type == WIRE_SIGN) {
            if (iso_sign(ctx, c, &r) != 0)
                return iso_death(c, call->op, "sent a malformed frame: killed", err);
            continue;
        }
        if (r.type == WIRE_BEARER) {
            if (iso_bearer(ctx, c, &r) != 0)
                return iso_death(c, call->op, "sent a malformed frame: killed", err);
            continue;
        }
        if (r.type == WIRE_RESULT) {
            int refused;
            st = wire_get_error(&r, err);
            refused = wire_get_u8(&r);
            if (call->result && !r.bad)
                call->result(call, &r);
            if (r.bad)
                return iso_death(c, call->op, "sent a malformed result: killed", err);
            /* A sink refused, but the plugin finished before the refusal
             * reached it (it sent ahead): it ends as it would have. */
            if (call->stopped && !refused && st == DSRC_OK)
                st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                    "%s stopped by the host's sink", call->op);
            return st;
        }
        if (iso_deliver(c, call, &r) != 0)
            return iso_death(c, call->op, "sent a malformed frame: killed", err);
    }
}

/* The proxy of ctx's plugin. */
static const iso_proxy *iso_proxy_of(const char *plugin)
{
    iso_proxy *p;

    pthread_mutex_lock(&iso_mu);
    for (p = iso_proxies; p; p = p->next)
        if (strcmp(loader_name(p->plugin), plugin) == 0)
            break;
    pthread_mutex_unlock(&iso_mu);
    return p;
}

/* Start a worker: the host's own executable with ISOLATE_WORKER_ARG, the
 * socket as descriptor 3, /dev/null as standard input and output. */
static int iso_spawn(dsrc_conn *c)
{
    int sv[2], child;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    char *argv[3] = {(char *)"dsrc-plugin-worker", (char *)ISOLATE_WORKER_ARG, NULL};
    int rc;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    /* descriptor 3 must be a dup2() target distinct from the source */
    if (sv[1] <= 3) {
        child = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
        close(sv[1]);
        if (child < 0) {
            close(sv[0]);
            return -1;
        }
    } else {
        child = sv[1];
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, child, 3);
    posix_spawnattr_init(&attr);
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    {
        size_t n = 0, i;
        char **env, mem[64], filter[64];
        snprintf(mem, sizeof mem, "%s=%lld", ISOLATE_ENV_MEMORY,
                 (long long)atomic_load(&iso_memory_max));
        snprintf(filter, sizeof filter, "%s=%d", ISOLATE_ENV_FILTER,
                 atomic_load(&iso_syscall_filter));
        while (environ[n])
            n++;
        if (!(env = calloc(n + 4, sizeof *env))) {
            rc = ENOMEM;
        } else {
            for (i = 0; i < n; i++)
                env[i] = environ[i];
            env[n] = (char *)ISO_ENV_MARK "=1";
            env[n + 1] = mem;
            env[n + 2] = filter;
            rc = posix_spawn(&c->pid, "/proc/self/exe", &fa, &attr, argv, env);
            free(env);
        }
    }
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(child);
    if (rc != 0) {
        close(sv[0]);
        errno = rc;
        return -1;
    }
    c->fd = sv[0];
    return 0;
}

static void iso_conn_free(dsrc_conn *c)
{
    if (!c)
        return;
    if (c->wake >= 0)
        close(c->wake);
    pthread_mutex_destroy(&c->send_mu);
    wire_free(&c->in);
    free(c->cells);
    free(c->source);
    free(c->plugin);
    free(c);
}

static dsrc_status iso_open(const dsrc_ctx *ctx, const dsrc_open_params *p, dsrc_conn **out,
                            dsrc_error *err)
{
    const iso_proxy *px = iso_proxy_of(ctx->plugin);
    iso_call call = {.op = "open"};
    wire_buf req = {0};
    dsrc_conn *c;
    dsrc_status st;

    *out = NULL;
    if (!px)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "no proxy for plugin '%s'",
                              ctx->plugin);
    if (!isolate_available())
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL,
                              "this program cannot start plugin worker processes");
    if ((st = iso_may_open(ctx->source, ctx->plugin, err)) != DSRC_OK)
        return st;
    if (!(c = calloc(1, sizeof *c)))
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    c->fd = c->wake = -1;
    c->pid = -1;
    atomic_init(&c->cancel_req, 0);
    pthread_mutex_init(&c->send_mu, NULL);
    c->source = strdup(ctx->source);
    c->plugin = strdup(ctx->plugin);
    c->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!c->source || !c->plugin || c->wake < 0) {
        iso_conn_free(c);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    if (iso_spawn(c) != 0) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 1, NULL,
                            "cannot start a worker process for plugin '%s': %s", c->plugin,
                            strerror(errno));
        iso_conn_free(c);
        return st;
    }
    wire_begin(&req, WIRE_OPEN);
    wire_str(&req, loader_path(px->plugin));
    wire_str(&req, loader_name(px->plugin));
    wire_put_params(&req, p);
    st = iso_run(ctx, c, &req, &call, err);
    wire_free(&req);
    if (st != DSRC_OK) {
        iso_end(c, 1);
        iso_conn_free(c);
        return st;
    }
    *out = c;
    return DSRC_OK;
}

static void iso_close(dsrc_conn *c)
{
    wire_buf req = {0};
    wire_rd r;

    if (!c)
        return;
    if (!c->dead) {
        /* a clean end: the worker closes the connection and exits */
        wire_begin(&req, WIRE_CLOSE);
        pthread_mutex_lock(&c->send_mu);
        if (wire_send(c->fd, &req) == 0) {
            struct pollfd pfd = {c->fd, POLLIN, 0};
            while (poll(&pfd, 1, (int)atomic_load(&iso_grace_ms)) > 0 &&
                   wire_recv(c->fd, &c->in, &r) > 0 && r.type != WIRE_RESULT) {
            }
        }
        pthread_mutex_unlock(&c->send_mu);
        wire_free(&req);
        shutdown(c->fd, SHUT_RDWR);
        iso_end(c, 0);
    }
    iso_conn_free(c);
}

static dsrc_status iso_cancel(dsrc_conn *c)
{
    static const uint64_t one = 1;

    atomic_store(&c->cancel_req, 1);
    if (write(c->wake, &one, sizeof one) < 0) { /* already readable */
    }
    return DSRC_OK;
}

static void iso_ping_result(iso_call *call, wire_rd *r)
{
    dsrc_ping_info *info = call->out;
    const char *v, *e;

    info->role = (dsrc_role)wire_get_u32(r);
    v = wire_get_str(r, NULL);
    e = wire_get_str(r, NULL);
    snprintf(info->server_version, sizeof info->server_version, "%s", v ? v : "");
    snprintf(info->endpoint, sizeof info->endpoint, "%s", e ? e : "");
    info->server_cert_not_after = (uint32_t)wire_get_u32(r);
}

static dsrc_status iso_ping(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_ping_info *info,
                            dsrc_error *err)
{
    iso_call call = {.op = "ping", .result = iso_ping_result, .out = info};
    wire_buf req = {0};
    dsrc_status st;

    wire_begin(&req, WIRE_PING);
    st = iso_run(ctx, c, &req, &call, err);
    wire_free(&req);
    return st;
}

static dsrc_status iso_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                            const dsrc_item_sink *sink, dsrc_error *err)
{
    iso_call call = {.op = "list", .items = sink};
    wire_buf req = {0};
    dsrc_status st;

    wire_begin(&req, WIRE_LIST);
    wire_str(&req, path);
    st = iso_run(ctx, c, &req, &call, err);
    wire_free(&req);
    return st;
}

static dsrc_status iso_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                                const dsrc_meta_sink *sink, dsrc_error *err)
{
    iso_call call = {.op = "describe", .metas = sink};
    wire_buf req = {0};
    dsrc_status st;

    wire_begin(&req, WIRE_DESCRIBE);
    wire_str(&req, item);
    st = iso_run(ctx, c, &req, &call, err);
    wire_free(&req);
    return st;
}

static void iso_discover_result(iso_call *call, wire_rd *r)
{
    int64_t q = wire_get_i64(r);
    dsrc_discover_count(call->out, q);
}

static dsrc_status iso_discover(const dsrc_ctx *ctx, dsrc_conn *c,
                                const dsrc_discover_req *dreq, const dsrc_meta_sink *sink,
                                dsrc_error *err)
{
    iso_call call = {.op = "discover", .metas = sink, .result = iso_discover_result,
                     .out = (void *)dreq};
    wire_buf req = {0};
    dsrc_status st;

    wire_begin(&req, WIRE_DISCOVER);
    wire_str(&req, dreq ? dreq->path : NULL);
    wire_u8(&req, dreq && dreq->include_system ? 1 : 0);
    wire_u32(&req, (uint32_t)dsrc_discover_mode_of(dreq));
    st = iso_run(ctx, c, &req, &call, err);
    wire_free(&req);
    return st;
}

static void iso_fetch_result(iso_call *call, wire_rd *r)
{
    dsrc_fetch_result *res = call->out;
    const char *cur;

    res->mode = (dsrc_fetch_mode)wire_get_u32(r);
    res->rows = (uint64_t)wire_get_i64(r);
    res->bytes = (uint64_t)wire_get_i64(r);
    res->has_cursor = wire_get_u8(r);
    cur = wire_get_str(r, NULL);
    snprintf(res->cursor_max, sizeof res->cursor_max, "%s", cur ? cur : "");
}

static dsrc_status iso_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *freq,
                             const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                             dsrc_fetch_result *res, dsrc_error *err)
{
    iso_call call = {.op = "fetch", .rows = rows, .bytes = bytes,
                     .result = iso_fetch_result, .out = res};
    wire_buf req = {0};
    dsrc_status st;

    wire_begin(&req, WIRE_FETCH);
    wire_str(&req, freq->item);
    wire_u8(&req, freq->columns ? 1 : 0);
    wire_put_strs(&req, freq->columns, freq->n_columns);
    wire_i64(&req, freq->limit);
    wire_str(&req, freq->cursor_field);
    wire_str(&req, freq->cursor_value);
    wire_u32(&req, (uint32_t)freq->mode);
    st = iso_run(ctx, c, &req, &call, err);
    wire_free(&req);
    return st;
}

static dsrc_status iso_query(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_query_req *qreq,
                             const dsrc_row_sink *rows, dsrc_fetch_result *res, dsrc_error *err)
{
    iso_call call = {.op = "query", .rows = rows, .result = iso_fetch_result, .out = res};
    wire_buf req = {0};
    dsrc_status st;

    wire_begin(&req, WIRE_QUERY);
    wire_str(&req, qreq->text);
    wire_put_strs(&req, qreq->n_params ? qreq->params : NULL, qreq->n_params);
    wire_i64(&req, qreq->limit);
    wire_i64(&req, qreq->timeout_ms);
    st = iso_run(ctx, c, &req, &call, err);
    wire_free(&req);
    return st;
}

static void iso_storage_result(iso_call *call, wire_rd *r)
{
    dsrc_storage_info *info = call->out;

    info->used_bytes = wire_get_i64(r);
    info->free_bytes = wire_get_i64(r);
    info->items = wire_get_i64(r);
}

static dsrc_status iso_storage(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_storage_info *info,
                               dsrc_error *err)
{
    iso_call call = {.op = "storage", .result = iso_storage_result, .out = info};
    wire_buf req = {0};
    dsrc_status st;

    wire_begin(&req, WIRE_STORAGE);
    st = iso_run(ctx, c, &req, &call, err);
    wire_free(&req);
    return st;
}

const dsrc_driver *isolate_driver(const loader_plugin *plugin)
{
    iso_proxy *p;

    pthread_mutex_lock(&iso_mu);
    for (p = iso_proxies; p; p = p->next)
        if (p->plugin == plugin)
            break;
    if (!p && (p = calloc(1, sizeof *p))) {
        p->plugin = plugin;
        p->drv = *loader_driver(plugin);
        p->drv.capabilities |= DSRC_CAP_CANCEL;
        p->drv.capabilities &= ~DSRC_CAP_CONN_THREADSAFE;
        p->drv.open = iso_open;
        p->drv.close = iso_close;
        p->drv.ping = iso_ping;
        p->drv.list = iso_list;
        p->drv.describe = iso_describe;
        p->drv.discover = iso_discover;
        p->drv.fetch = iso_fetch;
        p->drv.cancel = iso_cancel;
        p->drv.storage = iso_storage;
        /* the loader gave a plugin without query() its stub: the worker's
         * plugin answers the same, so only one that runs queries is
         * proxied */
        if (p->drv.capabilities & DSRC_CAP_QUERY)
            p->drv.query = iso_query;
        p->drv.unload = NULL;
        p->next = iso_proxies;
        iso_proxies = p;
    }
    pthread_mutex_unlock(&iso_mu);
    return p ? &p->drv : NULL;
}
