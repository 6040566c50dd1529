/* SPDX-License-Identifier: Apache-2.0 */
/* api.c -- the control API's server (libmicrohttpd); see api.h */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/api.h"
#include "api/instance.h"
#include "base/log.h"

#define API_THREAD_STACK (512 * 1024)
#define API_MAX_GROUPS 256
#define API_STOP_GRACE_MS 1000
#define API_OVERFLOW 64         /* connections beyond max_connections that
                                   are answered 503 before any is refused */

/* One listener: the socket or TCP. */
typedef struct api_listener {
    struct api_server *srv;
    struct MHD_Daemon *mhd;
    int tcp;
    int active;                  /* connections open (under srv->wd.mu)     */
} api_listener;

/* A connection the header watchdog follows: its request line and headers
 * must be whole by `deadline` (monotonic ms; 0: not waiting for them). */
typedef struct api_track {
    int fd;
    int over;                    /* opened beyond max_connections: 503     */
    int64_t deadline;
    struct api_track *prev, *next;
} api_track;

/* The header watchdog: shuts down a connection whose request line and
 * headers are not whole within idle_timeout of its start or of the end of
 * its previous request, even when its bytes trickle in (libmicrohttpd's
 * timeout only counts silence). */
typedef struct api_watchdog {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int running, stop;
    int64_t limit_ms;
    api_track *list;
} api_watchdog;

/* The role lists resolved to ids at start. */
typedef struct api_ids {
    uid_t *uids;  size_t n_uids;
    gid_t *gids;  size_t n_gids;
} api_ids;

struct api_server {
    api_config cfg;              /* cfg.api is NULL after start             */
    char *path;                  /* the socket's, or NULL                   */
    api_listener sock, tcp;
    char *cert, *key;            /* PEM, read at start                      */
    int64_t max_body, max_header;
    int max_conns;
    api_ids roles[CFG_API_ROLES];
    api_watchdog wd;
    atomic_int stopping;         /* api_request.stopping                    */
};

/* A request's state between libmicrohttpd's calls. */
typedef struct api_conn {
    char *body;
    size_t len;
    int too_big;
    api_params params;
    api_caller caller;
    const api_route *route;
} api_conn;

/* ------------------------------------------------------------------------ */
/* Roles                                                                     */

static int api_ids_has_uid(const api_ids *r, uid_t u)
{
    size_t i;

    for (i = 0; i < r->n_uids; i++)
        if (r->uids[i] == u)
            return 1;
    return 0;
}

static int api_ids_has_gid(const api_ids *r, const gid_t *g, int ng)
{
    size_t i;
    int k;

    for (i = 0; i < r->n_gids; i++)
        for (k = 0; k < ng; k++)
            if (r->gids[i] == g[k])
                return 1;
    return 0;
}

/* The uid's groups (its primary gid first); returns how many. */
static int api_groups_of(uid_t uid, gid_t gid, gid_t *out, int max, char *name,
                         size_t name_len)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    int n = max;

    out[0] = gid;
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) != 0 || !res) {
        snprintf(name, name_len, "?");
        return 1;
    }
    snprintf(name, name_len, "%s", pw.pw_name);
    if (getgrouplist(pw.pw_name, gid, out, &n) < 0)
        n = max;
    return n > 0 ? n : 1;
}

static api_role api_role_lookup(const api_ids roles[CFG_API_ROLES], uid_t uid, gid_t gid,
                                char *name, size_t name_len)
{
    gid_t groups[API_MAX_GROUPS];
    int ng = api_groups_of(uid, gid, groups, API_MAX_GROUPS, name, name_len), r;

    if (uid == 0 || uid == geteuid())
        return API_ROLE_ADMIN;
    for (r = CFG_API_ROLES - 1; r >= 0; r--)
        if (api_ids_has_uid(&roles[r], uid) || api_ids_has_gid(&roles[r], groups, ng))
            return (api_role)(r + 1);
    return API_ROLE_NONE;
}

static void api_ids_free(api_ids *r)
{
    free(r->uids);
    free(r->gids);
    r->uids = NULL;
    r->gids = NULL;
    r->n_uids = r->n_gids = 0;
}

/* Resolve the names of one role (an unknown name is logged and skipped). */
static int api_ids_resolve(const cfg_api *api, int r, api_ids *out)
{
    size_t i;

    out->uids = calloc(api->n_users[r] + 1, sizeof *out->uids);
    out->gids = calloc(api->n_groups[r] + 1, sizeof *out->gids);
    if (!out->uids || !out->gids)
        return -1;
    for (i = 0; i < api->n_users[r]; i++) {
        struct passwd *pw = getpwnam(api->users[r][i]);
        if (pw)
            out->uids[out->n_uids++] = pw->pw_uid;
        else
            log_msg(DSRC_LOG_WARNING, NULL, NULL, "api: no user named '%s' (in %s_users)",
                    api->users[r][i], api_role_name((api_role)(r + 1)));
    }
    for (i = 0; i < api->n_groups[r]; i++) {
        struct group *gr = getgrnam(api->groups[r][i]);
        if (gr)
            out->gids[out->n_gids++] = gr->gr_gid;
        else if (strcmp(api->groups[r][i], "dsrc") != 0)
            log_msg(DSRC_LOG_WARNING, NULL, NULL, "api: no group named '%s' (in %s_groups)",
                    api->groups[r][i], api_role_name((api_role)(r + 1)));
    }
    return 0;
}

api_role api_role_for_peer(const cfg_api *api, uid_t uid, gid_t gid)
{
    api_ids roles[CFG_API_ROLES];
    api_role role = API_ROLE_NONE;
    char name[64];
    int r, ok = 1;

    memset(roles, 0, sizeof roles);
    for (r = 0; r < CFG_API_ROLES; r++)
        if (api_ids_resolve(api, r, &roles[r]) < 0)
            ok = 0;
    if (ok)
        role = api_role_lookup(roles, uid, gid, name, sizeof name);
    for (r = 0; r < CFG_API_ROLES; r++)
        api_ids_free(&roles[r]);
    return role;
}

/* The caller on this connection. */
static void api_identify(api_listener *l, struct MHD_Connection *c, api_caller *who)
{
    memset(who, 0, sizeof *who);
    if (!l->tcp) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct ucred cr;
        socklen_t len = sizeof cr;
        char name[64];

        snprintf(who->from, sizeof who->from, "socket");
        snprintf(who->who, sizeof who->who, "-");
        if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
            return;
        who->role = api_role_lookup(l->srv->roles, cr.uid, cr.gid, name, sizeof name);
        snprintf(who->who, sizeof who->who, "uid %ld (%s)", (long)cr.uid, name);
    } else {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        char host[INET6_ADDRSTRLEN] = "?";
        int port = 0;

        snprintf(who->who, sizeof who->who, "-");
        if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)ci->client_addr;
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
            port = ntohs(a->sin_port);
            snprintf(who->from, sizeof who->from, "%s:%d", host, port);
        } else if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ci->client_addr;
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
            port = ntohs(a->sin6_port);
            snprintf(who->from, sizeof who->from, "[%s]:%d", host, port);
        } else {
            snprintf(who->from, sizeof who->from, "tcp");
        }
    }
}

/* On TCP: the bearer token's caller.  DSRC_OK, or DSRC_E_AUTH with e. */
static dsrc_status api_token(api_listener *l, struct MHD_Connection *c, api_caller *who,
                             derr *e)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    api_caller got;
    const api_config *cfg = &l->srv->cfg;

    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7])
        return derr_set(e, DSRC_E_AUTH, "no credentials: send \"Authorization: Bearer "
                        "TOKEN\" (made by 'dsrc token create')");
    if (!cfg->token_check)
        return derr_set(e, DSRC_E_AUTH, "unknown token: this dsrcd has no API tokens");
    memset(&got, 0, sizeof got);
    if (cfg->token_check(cfg->token_user, h + 7, &got, e) != 0) {
        if (got.who[0])     /* a known token, expired or revoked */
            snprintf(who->who, sizeof who->who, "%s", got.who);
        if (!e->msg)
            derr_set(e, DSRC_E_AUTH, "unknown token");
        /* a refused token is the caller's (401); a store that cannot
           answer is the server's (503: retry) */
        if (e->status != DSRC_E_AUTH)
            e->status = DSRC_E_UNREACHABLE;
        return e->status;
    }
    who->role = got.role;
    snprintf(who->who, sizeof who->who, "%s", got.who[0] ? got.who : "token");
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* Header watchdog                                                           */

static int64_t api_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The watchdog's record of a connection, or NULL (not followed). */
static api_track *api_track_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci ? ci->socket_context : NULL;
}

/* Give the connection `c` idle_timeout from now for its next request line
 * and headers (on), or no deadline (off: they are whole). */
static void api_track_arm(api_server *s, struct MHD_Connection *c, int on)
{
    api_track *t = api_track_of(c);

    if (!t)
        return;
    pthread_mutex_lock(&s->wd.mu);
    t->deadline = on ? api_now_ms() + s->wd.limit_ms : 0;
    pthread_mutex_unlock(&s->wd.mu);
}

/* libmicrohttpd's connection start and end: follow it, or stop. */
static void api_notify_conn(void *cls, struct MHD_Connection *c, void **ctx,
                            enum MHD_ConnectionNotificationCode code)
{
    api_listener *l = cls;
    api_watchdog *wd = &l->srv->wd;
    api_track *t = *ctx;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || !(t = calloc(1, sizeof *t)))
            return;    /* not followed: the idle timeout still holds */
        t->fd = ci->connect_fd;
        pthread_mutex_lock(&wd->mu);
        t->over = ++l->active > l->srv->max_conns;
        t->deadline = api_now_ms() + wd->limit_ms;
        t->next = wd->list;
        if (wd->list)
            wd->list->prev = t;
        else
            pthread_cond_signal(&wd->cv); /* the watchdog sleeps while none */
        wd->list = t;
        pthread_mutex_unlock(&wd->mu);
        *ctx = t;
        return;
    }
    if (!t)
        return;
    pthread_mutex_lock(&wd->mu);   /* before libmicrohttpd closes the fd */
    l->active--;
    if (t->prev)
        t->prev->next = t->next;
    else
        wd->list = t->next;
    if (t->next)
        t->next->prev = t->prev;
    pthread_mutex_unlock(&wd->mu);
    free(t);
    *ctx = NULL;
}

/* Every 100 ms while there are connections: shut down those past their
 * deadline (their threads then see the end of the stream and close them).
 * Without any it sleeps until one starts: an idle daemon is not woken ten
 * times a second. */
static void *api_watchdog_main(void *arg)
{
    api_watchdog *wd = arg;

    pthread_mutex_lock(&wd->mu);
    while (!wd->stop) {
        struct timespec ts;
        int64_t now = api_now_ms();
        api_track *t;

        for (t = wd->list; t; t = t->next)
            if (t->deadline && t->deadline <= now) {
                t->deadline = 0;
                shutdown(t->fd, SHUT_RDWR);
                log_msg(DSRC_LOG_DEBUG, NULL, NULL, "api: a connection closed: its request "
                        "line and headers took longer than idle_timeout");
            }
        if (!wd->list) {
            pthread_cond_wait(&wd->cv, &wd->mu);
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&wd->cv, &wd->mu, &ts);
    }
    pthread_mutex_unlock(&wd->mu);
    return NULL;
}

static int api_watchdog_start(api_watchdog *wd, int64_t limit_ms)
{
    pthread_condattr_t ca;

    wd->limit_ms = limit_ms;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&wd->mu, NULL);
    pthread_cond_init(&wd->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&wd->thread, NULL, api_watchdog_main, wd) != 0) {
        pthread_cond_destroy(&wd->cv);
        pthread_mutex_destroy(&wd->mu);
        return -1;
    }
    wd->running = 1;
    return 0;
}

/* After the listeners (their connections are gone). */
static void api_watchdog_stop(api_watchdog *wd)
{
    if (!wd->running)
        return;
    pthread_mutex_lock(&wd->mu);
    wd->stop = 1;
    pthread_cond_signal(&wd->cv);
    pthread_mutex_unlock(&wd->mu);
    pthread_join(wd->thread, NULL);
    while (wd->list) {
        api_track *t = wd->list;
        wd->list = t->next;
        free(t);
    }
    pthread_cond_destroy(&wd->cv);
    pthread_mutex_destroy(&wd->mu);
    wd->running = 0;
}

/* ------------------------------------------------------------------------ */
/* Answers                                                                   */

const char *api_param(const api_request *r, const char *name)
{
    size_t i, len = strlen(name);

    for (i = 0; r->params && i < r->params->n; i++)
        if (r->params->name_len[i] == len && strncmp(r->params->name[i], name, len) == 0)
            return r->params->value[i];
    return NULL;
}

/* A hex digit's value, or -1. */
static int api_hex(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

const char *api_header(const api_request *r, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)r->conn_, MHD_HEADER_KIND,
                                       name);
}

const char *api_query(const api_request *r, const char *key)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)r->conn_,
                                       MHD_GET_ARGUMENT_KIND, key);
}

int api_client_gone(const api_request *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info((struct MHD_Connection *)r->conn_,
                                MHD_CONNECTION_INFO_CONNECTION_FD);
    struct pollfd p;
    char b;

    if (!ci)
        return 0;
    p.fd = ci->connect_fd;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, 0) <= 0)
        return 0;
    if (p.revents & (POLLHUP | POLLERR))
        return 1;
    return recv(p.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* Send `doc` (stolen) with `http`; returns the body's size or 0. */
static size_t api_send(struct MHD_Connection *c, int http, json_t *doc, const char *allow,
                       const char *location, const char *etag)
{
    char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    struct MHD_Response *resp;
    size_t len;

    if (!s)
        s = strdup("{\"status\":500,\"title\":\"Internal Server Error\"}");
    if (!s) {
        json_decref(doc);
        return 0;
    }
    len = strlen(s);
    {
        char *t = realloc(s, len + 2);   /* a final newline, for terminals */
        if (t) {
            s = t;
            s[len++] = '\n';
            s[len] = '\0';
        }
    }
    resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(s);
        json_decref(doc);
        return 0;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            http >= 400 ? "application/problem+json" : "application/json");
    if (allow && *allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (location && *location)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
    if (etag && *etag)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    if (http == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    MHD_queue_response(c, (unsigned)http, resp);
    MHD_destroy_response(resp);
    json_decref(doc);
    return len;
}

/* Send `text` (malloc'd, taken) as a `type` body. */
static size_t api_send_text(struct MHD_Connection *c, int http, char *text, size_t len,
                            const char *type)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);

    if (!resp) {
        free(text);
        return 0;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type ? type : "text/plain");
    MHD_queue_response(c, (unsigned)http, resp);
    MHD_destroy_response(resp);
    return len;
}

static void api_audit(api_listener *l, const api_conn *st, const char *method,
                      const char *url, const api_request *r, int http, size_t bytes)
{
    const api_config *cfg = &l->srv->cfg;
    api_audit_event ev;

    if (!cfg->audit)
        return;
    /* a GET of a route below operator (one that reads no data) is not */
    if ((strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) && http != 401 &&
        http != 403 && !(st->route && st->route->role >= API_ROLE_OPERATOR))
        return;
    memset(&ev, 0, sizeof ev);
    ev.who = st->caller.who[0] ? st->caller.who : "-";
    ev.from = st->caller.from;
    ev.method = method;
    ev.route = st->route ? st->route->pattern : NULL;
    ev.path = url;
    ev.source = r && r->source[0] ? r->source : NULL;
    ev.item = r && r->item[0] ? r->item : NULL;
    ev.detail = r && r->detail[0] ? r->detail : NULL;
    ev.status = http;
    ev.bytes = bytes;
    cfg->audit(cfg->audit_user, &ev);
}

/* A streamed answer: the handler's reader and what its audit needs once
 * the stream is over (the request's state is gone by then). */
typedef struct api_stream {
    api_listener *l;
    api_conn conn;              /* caller and route (no body)               */
    api_request req;            /* source and item                          */
    char method[16];
    char *url;
    uint64_t bytes;
    int state;                  /* 0 streaming, 1 complete, -1 failed       */
} api_stream;

static ssize_t api_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    api_stream *w = cls;
    long n = w->req.stream_read(w->req.stream_user, buf, max);

    (void)pos;
    if (n > 0) {
        w->bytes += (uint64_t)n;
        return (ssize_t)n;
    }
    w->state = n == 0 ? 1 : -1;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void api_stream_free(void *cls)
{
    api_stream *w = cls;

    w->req.stream_free(w->req.stream_user, w->state == 1);
    api_audit(w->l, &w->conn, w->method, w->url ? w->url : "?", &w->req,
              w->state == 1 ? 200 : w->state < 0 ? 500 : 499, w->bytes);
    free(w->url);
    free(w);
}

/* Send the handler's stream (chunked); 0 when queued, else -1 (the
 * stream freed, nothing sent). */
static int api_send_stream(api_listener *l, struct MHD_Connection *c, const api_conn *st,
                           const char *method, const char *url, const api_request *r)
{
    api_stream *w = calloc(1, sizeof *w);
    struct MHD_Response *resp = NULL;

    if (w && (w->url = strdup(url)))
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
                                                 api_stream_read, w, api_stream_free);
    if (!resp) {
        r->stream_free(r->stream_user, 0);
        if (w)
            free(w->url);
        free(w);
        return -1;
    }
    w->l = l;
    w->conn.caller = st->caller;
    w->conn.route = st->route;
    w->req = *r;
    snprintf(w->method, sizeof w->method, "%s", method);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->stream_type ? r->stream_type : "application/octet-stream");
    MHD_queue_response(c, (unsigned)r->http, resp);
    MHD_destroy_response(resp);
    return 0;
}

/* A problem answer (and its audit). */
static enum MHD_Result api_fail(api_listener *l, struct MHD_Connection *c, api_conn *st,
                                const char *method, const char *url, int http,
                                dsrc_status ds, const char *detail, const char *allow)
{
    size_t n = api_send(c, http, api_problem(http, ds, detail), allow, NULL, NULL);

    api_audit(l, st, method, url, NULL, http, n);
    return MHD_YES;
}

/* Route, identify, authorize: 0 to go on, 1 when answered. */
static int api_admit(api_listener *l, struct MHD_Connection *c, api_conn *st,
                     const char *method, const char *url)
{
    char allow[64], msg[256];
    int http = 404;
    derr e = {0};

    api_identify(l, c, &st->caller);
    st->route = api_route_match(method, url, &st->params, &http, allow, sizeof allow);
    if (l->tcp && api_token(l, c, &st->caller, &e) != DSRC_OK) {
        api_fail(l, c, st, method, url, e.status == DSRC_E_AUTH ? 401 : 503, e.status, e.msg,
                 NULL);
        derr_clear(&e);
        return 1;
    }
    if (!st->route) {
        if (http == 405)
            snprintf(msg, sizeof msg, "%s is not allowed on %s (allowed: %s)", method, url,
                     allow);
        else
            snprintf(msg, sizeof msg, "no route %s (see dsrcd(8) or GET /openapi.json)", url);
        api_fail(l, c, st, method, url, http, http == 405 ? DSRC_E_INVALID_ARGUMENT
                                                          : DSRC_E_NOT_FOUND, msg, allow);
        return 1;
    }
    if (st->caller.role < st->route->role) {
        snprintf(msg, sizeof msg, "%s %s needs the %s role; %s has %s", method,
                 st->route->pattern, api_role_name(st->route->role), st->caller.who,
                 st->caller.role ? api_role_name(st->caller.role)
                                 : "none (see Control API in dsrcd(8))");
        api_fail(l, c, st, method, url, 403, DSRC_E_PERMISSION, msg, NULL);
        return 1;
    }
    return 0;
}

/* The URL as the unescape callback leaves it: every %XX decoded but %2F
 * and %25, so that an encoded '/' stays inside its path segment (decoded
 * by api_route_match).  Returns the new length. */
static size_t api_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    char *in = s, *out = s;

    (void)cls;
    (void)c;
    while (*in) {
        int hi, lo;
        if (in[0] == '%' && (hi = api_hex(in[1])) >= 0 && (lo = api_hex(in[2])) >= 0 &&
            !((hi == 2 && lo == 15) || (hi == 2 && lo == 5))) {
            *out++ = (char)(hi * 16 + lo);
            in += 3;
            continue;
        }
        *out++ = *in++;
    }
    *out = '\0';
    return (size_t)(out - s);
}

/* A query argument's last escapes (%2F, %25), decoded in place, once per
 * request before the handler runs (MHD's copy is in the connection's
 * writable buffer). */
static enum MHD_Result api_arg_decode(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)cls;
    (void)kind;
    (void)key;
    if (value)
        api_decode_kept((char *)value, value, strlen(value));
    return MHD_YES;
}

/* The request is whole: run its handler and answer. */
static enum MHD_Result api_dispatch(api_listener *l, struct MHD_Connection *c, api_conn *st,
                                    const char *method, const char *url)
{
    const api_config *cfg = &l->srv->cfg;
    api_handler fn = cfg->handlers[st->route->id];
    api_request r;
    derr e = {0};
    json_t *res;
    size_t n;
    int http;

    memset(&r, 0, sizeof r);
    r.route = st->route;
    r.params = &st->params;
    r.caller = &st->caller;
    r.path = url;
    r.conn_ = c;
    r.stopping = &l->srv->stopping;
    r.http = 200;
    if (st->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request body is larger than max_body (%lld bytes)",
                 (long long)l->srv->max_body);
        return api_fail(l, c, st, method, url, 413, DSRC_E_INVALID_ARGUMENT, msg, NULL);
    }
    if (st->len) {
        json_error_t jerr;
        if (!(r.body = json_loadb(st->body, st->len, 0, &jerr))) {
            char msg[256];
            snprintf(msg, sizeof msg, "the request body is not JSON: %s (line %d, column %d)",
                     jerr.text, jerr.line, jerr.column);
            return api_fail(l, c, st, method, url, 400, DSRC_E_INVALID_ARGUMENT, msg, NULL);
        }
    }
    if (!fn) {
        json_decref(r.body);
        return api_fail(l, c, st, method, url, 501, DSRC_E_UNSUPPORTED,
                        "this dsrcd does not serve that route", NULL);
    }
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, api_arg_decode, NULL);
    res = fn(cfg->user, &r, &e);
    json_decref(r.body);
    if (!res && e.status == DSRC_OK)
        derr_set(&e, DSRC_E_INTERNAL, "out of memory");
    if (res && r.stream_read) {
        json_decref(res);
        if (api_send_stream(l, c, st, method, url, &r) == 0)
            return MHD_YES;    /* audited when the stream is over */
        http = 500;
        n = api_send(c, http, api_problem(http, DSRC_E_INTERNAL, "out of memory"), NULL, NULL, NULL);
    } else if (res && r.text) {
        json_decref(res);
        http = r.http;
        n = api_send_text(c, http, r.text, r.text_len, r.text_type);
    } else if (res) {
        http = r.http;
        n = api_send(c, http, res, NULL, r.location, r.etag);
    } else {
        free(r.text);
        http = api_http_status(e.status);
        n = api_send(c, http, api_problem(http, e.status, e.msg), NULL, NULL, NULL);
    }
    derr_clear(&e);
    api_audit(l, st, method, url, &r, http, n);
    return MHD_YES;
}

static enum MHD_Result api_count_header(void *cls, enum MHD_ValueKind kind,
                                        const char *key, const char *value)
{
    size_t *n = cls;

    (void)kind;
    *n += strlen(key) + (value ? strlen(value) : 0) + 4;   /* ": ", CRLF */
    return MHD_YES;
}

/* The bytes of the request line and headers, as sent (about). */
static size_t api_header_size(struct MHD_Connection *c, const char *method, const char *url)
{
    size_t n = strlen(method) + strlen(url) + 13;   /* " ", " HTTP/1.1\r\n", CRLF */

    MHD_get_connection_values(c, MHD_HEADER_KIND, api_count_header, &n);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, api_count_header, &n);
    return n;
}

static enum MHD_Result api_access(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_len, void **con_cls)
{
    api_listener *l = cls;
    api_conn *st = *con_cls;

    if (!st) {
        const char *cl;
        if (!(st = calloc(1, sizeof *st)))
            return MHD_NO;
        *con_cls = st;
        api_track_arm(l->srv, c, 0);   /* the headers are whole */
        if (api_track_of(c) && api_track_of(c)->over) {
            char msg[128];
            snprintf(msg, sizeof msg, "dsrcd serves %d connections at once "
                     "(max_connections); retry later", l->srv->max_conns);
            api_identify(l, c, &st->caller);
            return api_fail(l, c, st, method, url, 503, DSRC_E_UNREACHABLE, msg, NULL);
        }
        if (api_header_size(c, method, url) > (size_t)l->srv->max_header) {
            char msg[128];
            snprintf(msg, sizeof msg, "the request line and headers are larger than "
                     "max_header (%lld bytes)", (long long)l->srv->max_header);
            api_identify(l, c, &st->caller);
            return api_fail(l, c, st, method, url, 431, DSRC_E_INVALID_ARGUMENT, msg, NULL);
        }
        if (api_admit(l, c, st, method, url)) {
            st->route = NULL;  /* answered: no handler, the body is dropped */
            return MHD_YES;
        }
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoll(cl, NULL, 10) > l->srv->max_body) {
            enum MHD_Result rc;
            st->too_big = 1;
            rc = api_dispatch(l, c, st, method, url);
            st->route = NULL;  /* answered */
            return rc;
        }
        return MHD_YES;
    }
    if (!st->route) {          /* answered already; the body is dropped */
        *upload_len = 0;
        return MHD_YES;
    }
    if (*upload_len) {
        if (!st->too_big && st->len + *upload_len <= (size_t)l->srv->max_body) {
            char *b = realloc(st->body, st->len + *upload_len);
            if (!b)
                return MHD_NO;
            st->body = b;
            memcpy(st->body + st->len, upload, *upload_len);
            st->len += *upload_len;
        } else {
            st->too_big = 1;
        }
        *upload_len = 0;
        return MHD_YES;
    }
    {
        enum MHD_Result rc = api_dispatch(l, c, st, method, url);
        st->route = NULL;      /* answered */
        return rc;
    }
}

static void api_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                          enum MHD_RequestTerminationCode toe)
{
    api_listener *l = cls;
    api_conn *st = *con_cls;

    (void)toe;
    api_track_arm(l->srv, c, 1);   /* the next request's headers, if any */
    if (st) {
        free(st->body);
        free(st);
    }
    *con_cls = NULL;
}

static void api_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];

    vsnprintf(buf, sizeof buf, fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    log_msg(DSRC_LOG_DEBUG, NULL, NULL, "api: %s", buf);
}

/* ------------------------------------------------------------------------ */
/* Listeners                                                                 */

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

/* The control socket, listening: its fd, or -1 with e set. */
static int api_socket_listen(const char *path, derr *e)
{
    struct sockaddr_un sa;
    struct stat st;
    pid_t other;
    mode_t old;
    int fd, err;

    if (!path || !*path || strlen(path) >= sizeof sa.sun_path) {
        derr_set(e, DSRC_E_INVALID_CONFIG, "control socket path '%s' is empty or longer "
                 "than %zu bytes", path ? path : "", sizeof sa.sun_path - 1);
        return -1;
    }
    if (api_make_parent(path) < 0) {
        derr_set(e, DSRC_E_PERMISSION, "control socket %s: cannot make its directory: %s",
                 path, strerror(errno));
        return -1;
    }
    /* Only a stale socket is replaced, never another kind of file, nor a
     * socket a live process listens on. */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            derr_set(e, DSRC_E_INVALID_CONFIG, "control socket %s: exists and is not a socket",
                     path);
            return -1;
        }
        if (instance_socket_live(path, &other)) {
            derr_set(e, DSRC_E_PERMISSION,
                     "control socket %s: another process%s%.0ld%s listens on it", path,
                     other ? " (pid " : "", (long)other, other ? ")" : "");
            return -1;
        }
        unlink(path);
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        derr_set(e, DSRC_E_INTERNAL, "control socket: %s", strerror(errno));
        return -1;
    }
    old = umask(0117);
    err = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (err < 0 || chmod(path, 0660) < 0 || listen(fd, 128) < 0) {
        derr_set(e, errno == EACCES || errno == EPERM ? DSRC_E_PERMISSION : DSRC_E_INTERNAL,
                 "control socket %s: %s", path, strerror(errno));
        if (err == 0)
            unlink(path);
        close(fd);
        return -1;
    }
    return fd;
}

/* A whole file (a PEM), NUL-terminated; NULL with e set. */
static char *api_read_file(const char *path, const char *what, derr *e)
{
    FILE *f = fopen(path, "re");
    char *buf = NULL;
    size_t len = 0, cap = 0, r;

    if (!f) {
        derr_set(e, DSRC_E_INVALID_CONFIG, "api %s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (cap - len < 4097) {
            char *nb = cap > (1 << 20) ? NULL : realloc(buf, cap + 65536);
            if (!nb) {
                derr_set(e, DSRC_E_INVALID_CONFIG, "api %s %s: too large or out of memory",
                         what, path);
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap += 65536;
        }
        r = fread(buf + len, 1, cap - len - 1, f);
        len += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static struct MHD_Daemon *api_mhd_start(api_listener *l, unsigned flags, const cfg_api *api,
                                        int fd, const struct sockaddr *addr)
{
    struct MHD_OptionItem ops[13];
    int n = 0;

    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                       (intptr_t)api->max_connections + API_OVERFLOW, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                       (intptr_t)((api->idle_timeout_ms + 999) / 1000), NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                       (intptr_t)(api->max_header + 16384), NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_STACK_SIZE,
                                       (intptr_t)API_THREAD_STACK, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED,
                                       (intptr_t)api_completed, l};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION,
                                       (intptr_t)api_notify_conn, l};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)api_mhd_log,
                                       NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)api_unescape,
                                       NULL};
    if (fd >= 0)
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, fd, NULL};
    if (addr)
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, (void *)addr};
    if (flags & MHD_USE_TLS) {
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, l->srv->cert};
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, l->srv->key};
    }
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return MHD_start_daemon(flags | MHD_USE_THREAD_PER_CONNECTION |
                                MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
                                MHD_USE_ERROR_LOG,
                            0, NULL, NULL, api_access, l, MHD_OPTION_ARRAY, ops,
                            MHD_OPTION_END);
}

/* The TCP listener (TLS when a certificate is set). */
static int api_tcp_start(api_server *s, const cfg_api *api, derr *e)
{
    struct sockaddr_storage ss;
    unsigned flags = 0;

    memset(&ss, 0, sizeof ss);
    if (inet_pton(AF_INET, api->listen_host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)api->listen_port);
    } else if (inet_pton(AF_INET6, api->listen_host,
                         &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)api->listen_port);
        flags |= MHD_USE_IPv6;
    } else {
        derr_set(e, DSRC_E_INVALID_CONFIG, "api listen %s: not a numeric address",
                 api->listen);
        return -1;
    }
    if (api->tls_cert) {
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            derr_set(e, DSRC_E_UNSUPPORTED, "api listen %s: this libmicrohttpd has no TLS",
                     api->listen);
            return -1;
        }
        if (!(s->cert = api_read_file(api->tls_cert, "tls_cert", e)) ||
            !(s->key = api_read_file(api->tls_key, "tls_key", e)))
            return -1;
        flags |= MHD_USE_TLS;
    }
    s->tcp.srv = s;
    s->tcp.tcp = 1;
    if (!(s->tcp.mhd = api_mhd_start(&s->tcp, flags, api, -1, (struct sockaddr *)&ss))) {
        derr_set(e, DSRC_E_INTERNAL, "api listen %s: cannot listen (address in use, or a "
                 "bad certificate or key)", api->listen);
        return -1;
    }
    return 0;
}

api_server *api_server_start(const api_config *cfg, derr *e)
{
    api_server *s = calloc(1, sizeof *s);
    const cfg_api *api = cfg->api;
    int r, fd;

    if (!s) {
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->cfg.api = NULL;
    s->max_body = api->max_body;
    s->max_header = api->max_header;
    s->max_conns = api->max_connections;
    if (api_watchdog_start(&s->wd, api->idle_timeout_ms) < 0) {
        derr_set(e, DSRC_E_INTERNAL, "api: cannot start a thread");
        goto fail;
    }
    for (r = 0; r < CFG_API_ROLES; r++)
        if (api_ids_resolve(api, r, &s->roles[r]) < 0) {
            derr_set(e, DSRC_E_INTERNAL, "out of memory");
            goto fail;
        }
    if (cfg->socket_path) {
        if ((fd = api_socket_listen(cfg->socket_path, e)) < 0)
            goto fail;
        if (!(s->path = strdup(cfg->socket_path))) {
            close(fd);
            unlink(cfg->socket_path);
            derr_set(e, DSRC_E_INTERNAL, "out of memory");
            goto fail;
        }
        s->sock.srv = s;
        if (!(s->sock.mhd = api_mhd_start(&s->sock, 0, api, fd, NULL))) {
            close(fd);
            derr_set(e, DSRC_E_INTERNAL, "control socket %s: cannot serve it",
                     cfg->socket_path);
            goto fail;
        }
    }
    if (api->listen_host && api_tcp_start(s, api, e) < 0)
        goto fail;
    return s;
fail:
    api_server_stop(s);
    return NULL;
}

/* Stop accepting, give the connections in progress API_STOP_GRACE_MS to
 * finish (an answer being sent, such as a reload's), then close them all. */
static void api_listener_stop(api_listener *l)
{
    MHD_socket fd;
    int n;

    if (!l->mhd)
        return;
    fd = MHD_quiesce_daemon(l->mhd);
    for (n = 0; n < API_STOP_GRACE_MS / 10; n++) {
        const union MHD_DaemonInfo *di =
            MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!di || di->num_connections == 0)
            break;
        usleep(10000);
    }
    MHD_stop_daemon(l->mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    l->mhd = NULL;
}

void api_server_stop(api_server *s)
{
    int r;

    if (!s)
        return;
    atomic_store(&s->stopping, 1);
    api_listener_stop(&s->sock);
    api_listener_stop(&s->tcp);
    api_watchdog_stop(&s->wd);
    if (s->path)
        unlink(s->path);
    for (r = 0; r < CFG_API_ROLES; r++)
        api_ids_free(&s->roles[r]);
    if (s->key) {
        explicit_bzero(s->key, strlen(s->key));
        free(s->key);
    }
    free(s->cert);
    free(s->path);
    free(s);
}
