/* SPDX-License-Identifier: Apache-2.0 */
/* source.c -- see source.h */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/ctx.h"
#include "base/fdlimit.h"
#include "secret/identity.h"
#include "secret/secret.h"
#include "plugin/contract.h"
#include "plugin/source.h"
#include "isolate/isolate.h"

static const char *source_name(const source_conn *c) { return c->src->cfg->name; }

/* The live source_conns (from before their open() to source_close()),
 * for source_cancel_all().  The lock also keeps a connection from being
 * freed while another thread cancels it. */
static pthread_mutex_t source_live_mu = PTHREAD_MUTEX_INITIALIZER;
static source_conn *source_live;

static void source_live_add(source_conn *c)
{
    pthread_mutex_lock(&source_live_mu);
    c->live_prev = NULL;
    c->live_next = source_live;
    if (source_live)
        source_live->live_prev = c;
    source_live = c;
    pthread_mutex_unlock(&source_live_mu);
}

static void source_live_remove(source_conn *c)
{
    pthread_mutex_lock(&source_live_mu);
    if (c->live_prev)
        c->live_prev->live_next = c->live_next;
    else if (source_live == c)
        source_live = c->live_next;
    if (c->live_next)
        c->live_next->live_prev = c->live_prev;
    c->live_prev = c->live_next = NULL;
    pthread_mutex_unlock(&source_live_mu);
}

/* "; N connection(s) of M source(s) open, the most: 'a' K, 'b' L" (the
 * three sources holding the most), for an error that says the process is
 * out of descriptors.  Allocates nothing: counts with a quadratic walk of
 * the live list, bounded to its first 4096 connections. */
static void source_live_summary(char *buf, size_t n)
{
    const source_conn *c, *d;
    const char *top[3] = {NULL, NULL, NULL};
    size_t topn[3] = {0, 0, 0}, conns = 0, srcs = 0, k, walked = 0;
    int len;

    buf[0] = '\0';
    pthread_mutex_lock(&source_live_mu);
    for (c = source_live; c && walked < 4096; c = c->live_next, walked++) {
        size_t same = 0, first = 1;
        conns++;
        for (d = source_live; d != c; d = d->live_next)
            if (d->src->cfg->name == c->src->cfg->name ||
                strcmp(d->src->cfg->name, c->src->cfg->name) == 0) {
                first = 0;
                break;
            }
        if (!first)
            continue;
        srcs++;
        for (d = c; d; d = d->live_next)
            same += strcmp(d->src->cfg->name, c->src->cfg->name) == 0;
        for (k = 0; k < 3; k++)
            if (same > topn[k]) {
                size_t j;
                for (j = 2; j > k; j--) {
                    top[j] = top[j - 1];
                    topn[j] = topn[j - 1];
                }
                top[k] = c->src->cfg->name;
                topn[k] = same;
                break;
            }
    }
    len = snprintf(buf, n, "; %zu%s source connection(s) of %zu source(s) open", conns,
                   c ? "+" : "", srcs);
    for (k = 0; k < 3 && top[k] && len > 0 && (size_t)len < n; k++)
        len += snprintf(buf + len, n - (size_t)len, "%s'%s' %zu", k ? ", " : ", the most: ",
                        top[k], topn[k]);
    pthread_mutex_unlock(&source_live_mu);
}

/* Set the flag, then make the descriptor readable (in this order: a
 * plugin woken by the descriptor finds is_cancelled() nonzero, as
 * plugin.h promises).  No plugin code runs. */
static void source_mark(source_conn *c)
{
    static const uint64_t one = 1;
    ssize_t n;

    atomic_store(&c->cancel, 1);
    if (c->cancel_fd >= 0) {
        n = write(c->cancel_fd, &one, sizeof one); /* only fails when already readable */
        (void)n;
    }
}

void source_ctx(struct dsrc_ctx *ctx, source_conn *c)
{
    ctx_init(ctx, source_name(c), loader_name(c->src->plugin), &c->cancel);
    ctx->cancel_fd = c->cancel_fd;
    ctx->cfg = c->src->cfg;
    ctx->key_file = c->src->key_file;
    /* The process was told to stop after this connection was cancelled
     * (or before it was made): the descriptor must say so too. */
    if (ctx_signalled() && !atomic_load(&c->cancel))
        source_mark(c);
}

/* The context of a call on c, which is running from now to finish(). */
static void call_ctx(struct dsrc_ctx *ctx, source_conn *c)
{
    source_ctx(ctx, c);
    atomic_store(&c->busy, 1);
}

/* Unlist and free a connection whose dsrc_conn is closed (or none). */
static void source_free(source_conn *c)
{
    source_live_remove(c);
    if (c->cancel_fd >= 0)
        close(c->cancel_fd);
    free(c);
}

/* 1 when `key` of cs's cloud group is an AWS credential the host keeps. */
static int source_aws_withheld(const cfg_source *cs, const char *key)
{
    return cs->cloud_provider && strcmp(cs->cloud_provider, "aws") == 0 &&
           (strcmp(key, "secret_access_key") == 0 || strcmp(key, "session_token") == 0);
}

/* 1 when `key` of cs's cloud group is an Azure credential the host keeps
 * (it gets Entra ID tokens with it: identity.h, bearer_token). */
static int source_azure_withheld(const cfg_source *cs, const char *key)
{
    return cs->cloud_provider && strcmp(cs->cloud_provider, "azure") == 0 &&
           strcmp(key, "client_secret") == 0;
}

/* Split "host:port" / "[v6]:port" / "host" of a replica entry. */
static void split_hostport(const char *hp, char **host, char **port)
{
    const char *colon;

    *host = *port = NULL;
    if (hp[0] == '[') {
        const char *end = strchr(hp, ']');
        if (end) {
            *host = strndup(hp + 1, (size_t)(end - hp - 1));
            if (end[1] == ':')
                *port = strdup(end + 2);
            return;
        }
    }
    colon = strrchr(hp, ':');
    if (colon && strchr(hp, ':') == colon) {
        *host = strndup(hp, (size_t)(colon - hp));
        *port = strdup(colon + 1);
    } else {
        *host = strdup(hp);
    }
}

const dsrc_driver *source_driver(const registry_source *s)
{
    const dsrc_driver *proxy =
        s->isolated && isolate_available() ? isolate_driver(s->plugin) : NULL;
    return proxy ? proxy : loader_driver(s->plugin);
}

/* e := "source 'NAME': cannot open: too many open files (...)", with the
 * limit and what holds the descriptors. */
static dsrc_status source_out_of_fds(derr *e, const char *name, int err)
{
    char fds[320], conns[320];

    fd_describe(fds, sizeof fds, err);
    source_live_summary(conns, sizeof conns);
    derr_clear(e);
    return derr_set(e, DSRC_E_INTERNAL,
                    "source '%s': cannot open: %s%s; raise the limit (LimitNOFILE= in "
                    "dsrcd.service, ulimit -n) or lower the pools' sizes",
                    name, fds, conns);
}

dsrc_status source_open(const registry_source *s, int endpoint, source_conn **out, derr *e)
{
    const cfg_source *cs = s->cfg;
    const dsrc_driver *drv = source_driver(s);
    dsrc_open_params p;
    dsrc_kv *opts = NULL, *cloud = NULL;
    char **owned = NULL; /* values to wipe after the call */
    size_t n_owned = 0, i, n = 0, nc = 0;
    char *rhost = NULL, *rport = NULL;
    struct dsrc_ctx ctx;
    int open_errno = 0;
    dsrc_error perr;
    source_conn *c;
    dsrc_conn *pconn = NULL;
    dsrc_status st;

    *out = NULL;
    if (endpoint < 0 || (size_t)endpoint > cs->n_replica_hosts)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                        "source '%s' has no endpoint %d (it has %zu replica(s))",
                        cs->name, endpoint, cs->n_replica_hosts);
    if (!(c = calloc(1, sizeof *c)))
        return derr_set(e, DSRC_E_INTERNAL, "out of memory");
    c->src = s;
    c->drv = drv;
    c->endpoint = endpoint;
    atomic_init(&c->cancel, 0);
    atomic_init(&c->busy, 0);
    /* Before open(): a cancellation during open() wakes the plugin. */
    c->cancel_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (c->cancel_fd < 0 && (errno == EMFILE || errno == ENFILE)) {
        /* no descriptor left: the plugin's open would fail with a vaguer
         * message */
        source_live_add(c);
        st = source_out_of_fds(e, cs->name, errno);
        goto done;
    }
    source_live_add(c);

    opts = calloc(s->n_options + 2, sizeof *opts);
    cloud = calloc(cs->n_cloud + 1, sizeof *cloud);
    owned = calloc(s->n_options + cs->n_cloud + 2, sizeof *owned);
    if (!opts || !cloud || !owned) {
        st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
        goto done;
    }
    if (endpoint > 0)
        split_hostport(cs->replica_hosts[endpoint - 1], &rhost, &rport);

    for (i = 0; i < s->n_options; i++) {
        const registry_option *o = &s->options[i];
        const char *v = o->value;
        if (!v)
            continue;
        if (endpoint > 0 && rhost && strcmp(o->def->name, "host") == 0)
            v = rhost;
        else if (endpoint > 0 && rport && strcmp(o->def->name, "port") == 0)
            v = rport;
        if (o->def->flags & DSRC_OPT_SECRET) {
            /* Resolved just for this call, wiped afterwards. */
            char *plain = NULL;
            st = secret_resolve(v, NULL, s->key_file, &plain, NULL, e);
            if (st != DSRC_OK) {
                derr_prefix(e, "source '%s': option '%s'", cs->name, o->def->name);
                goto done;
            }
            owned[n_owned++] = plain;
            v = plain;
        }
        opts[n].key = o->def->name;
        opts[n].value = v;
        n++;
    }
    /* A cloud identity's token replaces the password (identity.h). */
    st = identity_apply(cs, drv->options, s->key_file, opts, &n, &owned[n_owned], e);
    if (st != DSRC_OK)
        goto done;
    if (owned[n_owned])
        n_owned++;
    for (i = 0, nc = 0; i < cs->n_cloud; i++) {
        /* AWS credentials stay with the host, which signs with them
         * (aws_sign, identity.h): the plugin never holds them. */
        if (source_aws_withheld(cs, cs->cloud[i].key) ||
            source_azure_withheld(cs, cs->cloud[i].key))
            continue;
        cloud[nc].key = cs->cloud[i].key;
        cloud[nc].value = cs->cloud[i].text;
        if (cfg_cloud_key_is_secret(cs->cloud[i].key) && cs->cloud[i].text) {
            char *plain = NULL;
            st = secret_resolve(cs->cloud[i].text, NULL, s->key_file, &plain, NULL, e);
            if (st != DSRC_OK) {
                derr_prefix(e, "source '%s': cloud.%s", cs->name, cs->cloud[i].key);
                goto done;
            }
            owned[n_owned++] = plain;
            cloud[nc].value = plain;
        }
        nc++;
    }

    registry_open_params(cs, s->plugin, &p);
    p.options = opts;
    p.n_options = n;
    p.endpoint = endpoint;
    p.cloud = cloud;
    p.n_cloud = nc;
    if (cs->tls_key_passphrase) {
        char *plain = NULL;
        st = secret_resolve(cs->tls_key_passphrase, NULL, s->key_file, &plain, NULL, e);
        if (st != DSRC_OK) {
            derr_prefix(e, "source '%s': tls.key_passphrase", cs->name);
            goto done;
        }
        owned[n_owned++] = plain;
        p.tls_key_passphrase = plain;
    }

    call_ctx(&ctx, c);
    error_init(&perr);
    errno = 0;
    st = drv->open(&ctx, &p, &pconn, &perr);
    open_errno = errno;
    atomic_store(&c->busy, 0);
    if (st != DSRC_OK || !pconn) {
        if (st == DSRC_OK) {
            derr_plugin_ok(&perr, cs->name, loader_name(s->plugin), "open");
            dsrc_error_set(&perr, DSRC_E_INTERNAL, 0, NULL,
                           "plugin '%s' bug: open returned DSRC_OK without a connection",
                           loader_name(s->plugin));
        }
        st = derr_from_plugin(e, &perr, loader_name(s->plugin), "open", NULL);
        derr_prefix(e, "source '%s': cannot open", cs->name);
        /* The plugin's own text for it is vague ("unable to open database
         * file"): say the process is out of descriptors. */
        if ((open_errno = fd_exhausted(open_errno)) != 0)
            st = source_out_of_fds(e, cs->name, open_errno);
    } else {
        /* under the lock: source_cancel_all() reads it */
        pthread_mutex_lock(&source_live_mu);
        c->conn = pconn;
        pthread_mutex_unlock(&source_live_mu);
        derr_plugin_ok(&perr, cs->name, loader_name(s->plugin), "open");
    }
done:
    for (i = 0; i < n_owned; i++)
        secret_free(owned[i]);
    free(owned);
    free(opts);
    free(cloud);
    free(rhost);
    free(rport);
    if (st != DSRC_OK) {
        source_free(c);
        return st;
    }
    *out = c;
    return DSRC_OK;
}

void source_close(source_conn *c)
{
    if (!c)
        return;
    source_live_remove(c); /* no source_cancel_all() reaches it any more */
    if (c->conn)
        c->drv->close(c->conn);
    source_free(c);
}

/* Finish a plugin call `op` ("ping"): on failure take its error with a
 * prefix ("source 'S': WHAT 'ITEM'", without WHAT when NULL); a status
 * and an error that do not match are the plugin's bug (derr_from_plugin,
 * derr_plugin_ok). */
static dsrc_status finish(source_conn *c, dsrc_status st, dsrc_error *perr, derr *e,
                          const char *op, const char *what, const char *item)
{
    char prefix[512];

    atomic_store(&c->busy, 0);
    if (st == DSRC_OK) {
        derr_plugin_ok(perr, source_name(c), loader_name(c->src->plugin), op);
        return DSRC_OK;
    }
    if (perr->status == DSRC_OK)
        perr->status = st;
    if (!what)
        snprintf(prefix, sizeof prefix, "source '%s'", source_name(c));
    else if (item && *item)
        snprintf(prefix, sizeof prefix, "source '%s': %s '%s'", source_name(c), what, item);
    else
        snprintf(prefix, sizeof prefix, "source '%s': %s", source_name(c), what);
    return derr_from_plugin(e, perr, loader_name(c->src->plugin), op, prefix);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

dsrc_status source_ping(source_conn *c, dsrc_ping_info *info, double *latency_ms, derr *e)
{
    struct dsrc_ctx ctx;
    dsrc_error perr;
    dsrc_ping_info local;
    double t0;
    dsrc_status st;

    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    call_ctx(&ctx, c);
    error_init(&perr);
    t0 = now_ms();
    st = c->drv->ping(&ctx, c->conn, info, &perr);
    if (latency_ms)
        *latency_ms = now_ms() - t0;
    info->server_version[sizeof info->server_version - 1] = '\0';
    info->endpoint[sizeof info->endpoint - 1] = '\0';
    return finish(c, st, &perr, e, "ping", "ping failed", NULL);
}

dsrc_status source_storage(source_conn *c, dsrc_storage_info *info, derr *e)
{
    struct dsrc_ctx ctx;
    dsrc_error perr;
    dsrc_status st;

    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    info->used_bytes = info->free_bytes = info->items = -1;
    if (!c->drv->storage)
        return DSRC_E_UNSUPPORTED;
    call_ctx(&ctx, c);
    error_init(&perr);
    st = c->drv->storage(&ctx, c->conn, info, &perr);
    return finish(c, st, &perr, e, "storage", "storage size", NULL);
}

dsrc_status source_list(source_conn *c, const char *path, const dsrc_item_sink *sink, derr *e)
{
    struct dsrc_ctx ctx;
    dsrc_error perr;

    call_ctx(&ctx, c);
    error_init(&perr);
    return finish(c, c->drv->list(&ctx, c->conn, path ? path : "", sink, &perr), &perr,
                  e, "list", "cannot list", path);
}

/* The caller's sink behind source_meta(). */
typedef struct source_meta_fwd {
    const dsrc_meta_sink *sink;
} source_meta_fwd;

/* Hand a plugin's metadata on with every member this host knows: a
 * record sized for an older ABI (a 1.0 plugin's has no foreign keys) is
 * copied as far as its struct_size goes and zero-extended, so the
 * receiver never reads past what the plugin filled; foreign keys
 * announced without an array count as none. */
static int source_meta(void *user, const dsrc_metadata *md)
{
    const source_meta_fwd *f = user;
    dsrc_metadata full;

    if (md && (md->struct_size < sizeof full || (md->n_foreign_keys && !md->foreign_keys))) {
        memset(&full, 0, sizeof full);
        memcpy(&full, md, md->struct_size < sizeof full ? md->struct_size : sizeof full);
        full.struct_size = sizeof full;
        if (!full.foreign_keys)
            full.n_foreign_keys = 0;
        md = &full;
    }
    return f->sink->metadata(f->sink->user, md);
}

/* The sink the plugin gets: source_meta() in front of `sink`. */
static const dsrc_meta_sink *source_meta_sink(const dsrc_meta_sink *sink, source_meta_fwd *f,
                                              dsrc_meta_sink *out)
{
    if (!sink || !sink->metadata)
        return sink;
    f->sink = sink;
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->user = f;
    out->metadata = source_meta;
    return out;
}

dsrc_status source_describe(source_conn *c, const char *item, const dsrc_meta_sink *sink, derr *e)
{
    struct dsrc_ctx ctx;
    dsrc_error perr;
    source_meta_fwd f;
    dsrc_meta_sink s;

    call_ctx(&ctx, c);
    error_init(&perr);
    return finish(c, c->drv->describe(&ctx, c->conn, item, source_meta_sink(sink, &f, &s),
                                      &perr),
                  &perr, e, "describe", "cannot describe", item);
}

dsrc_status source_discover(source_conn *c, const dsrc_discover_req *req,
                         const dsrc_meta_sink *sink, derr *e)
{
    struct dsrc_ctx ctx;
    dsrc_error perr;
    dsrc_discover_req all;
    dsrc_discover_result local;
    source_meta_fwd f;
    dsrc_meta_sink s;

    memset(&all, 0, sizeof all);
    if (req)
        memcpy(&all, req, req->struct_size < sizeof all ? req->struct_size : sizeof all);
    all.struct_size = sizeof all;
    if (!all.result)
        all.result = &local;
    memset(all.result, 0, sizeof *all.result);
    all.result->struct_size = sizeof *all.result;
    all.result->queries = -1;
    call_ctx(&ctx, c);
    error_init(&perr);
    return finish(c, c->drv->discover(&ctx, c->conn, &all, source_meta_sink(sink, &f, &s),
                                      &perr),
                  &perr, e, "discover", "discover failed", NULL);
}

/* A call that sends rows (fetch, query): `req` is the fetch request, or
 * the query's when `qreq` is set.  The rows go through the host's checks
 * (contract.h); a sink the plugin kept calling after it refused makes the
 * call a plugin bug whatever it returned. */
static dsrc_status source_rows_call(source_conn *c, const dsrc_fetch_req *freq,
                                    const dsrc_query_req *qreq, const dsrc_row_sink *rows,
                                    const dsrc_byte_sink *bytes, dsrc_fetch_result *res, derr *e)
{
    struct dsrc_ctx ctx;
    dsrc_error perr;
    dsrc_fetch_result local;
    contract_rows cr;
    const dsrc_row_sink *checked;
    dsrc_status st;

    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    res->struct_size = sizeof *res;
    call_ctx(&ctx, c);
    error_init(&perr);
    checked = contract_rows_init(&cr, loader_name(c->src->plugin), rows);
    if (qreq) {
        st = c->drv->query(&ctx, c->conn, qreq, checked, res, &perr);
        /* the plugins' messages already say "query: ..." */
        st = finish(c, st, &perr, e, "query",
                    perr.message && strncmp(perr.message, "query:", 6) == 0 ? NULL
                                                                            : "query failed",
                    NULL);
    } else {
        st = finish(c, c->drv->fetch(&ctx, c->conn, freq, checked, bytes, res, &perr), &perr,
                    e, "fetch", "cannot fetch", freq->item);
    }
    if (contract_rows_bug(&cr)) {
        /* whatever the plugin returned after the sink refused */
        derr_clear(e);
        if (qreq)
            st = derr_set(e, DSRC_E_INTERNAL, "source '%s': query: %s", source_name(c),
                          contract_rows_bug(&cr));
        else
            st = derr_set(e, DSRC_E_INTERNAL, "source '%s': cannot fetch '%s': %s",
                          source_name(c), freq->item, contract_rows_bug(&cr));
    }
    contract_rows_free(&cr);
    return st;
}

dsrc_status source_fetch(source_conn *c, const dsrc_fetch_req *req, const dsrc_row_sink *rows,
                      const dsrc_byte_sink *bytes, dsrc_fetch_result *res, derr *e)
{
    return source_rows_call(c, req, NULL, rows, bytes, res, e);
}

dsrc_status source_query(source_conn *c, const dsrc_query_req *req, const dsrc_row_sink *rows,
                         dsrc_fetch_result *res, derr *e)
{
    return source_rows_call(c, NULL, req, rows, NULL, res, e);
}

void source_cancel(source_conn *c)
{
    source_mark(c);
    if (c->conn && c->drv->cancel)
        c->drv->cancel(c->conn);
}

/* The connection whose cancel() source_cancel_all() is in, as
 * source_busy_name() writes it ("" when none): the live list stays locked
 * while a cancel() runs, and one that never returns must still be named. */
static pthread_mutex_t source_cancelling_mu = PTHREAD_MUTEX_INITIALIZER;
static char source_cancelling[600];

static void set_cancelling(source_conn *c)
{
    pthread_mutex_lock(&source_cancelling_mu);
    if (c)
        snprintf(source_cancelling, sizeof source_cancelling, "source '%s' (plugin '%s')",
                 source_name(c), loader_name(c->src->plugin));
    else
        source_cancelling[0] = '\0';
    pthread_mutex_unlock(&source_cancelling_mu);
}

void source_cancel_all(void)
{
    source_conn *c;

    pthread_mutex_lock(&source_live_mu);
    /* Every flag and descriptor first: a slow cancel() delays no other. */
    for (c = source_live; c; c = c->live_next)
        source_mark(c);
    for (c = source_live; c; c = c->live_next)
        if (c->conn && atomic_load(&c->busy) && c->drv->cancel) {
            set_cancelling(c);
            c->drv->cancel(c->conn);
        }
    set_cancelling(NULL);
    pthread_mutex_unlock(&source_live_mu);
}

int source_busy_name(char *buf, size_t n)
{
    source_conn *c;
    struct timespec until;
    int rc = -1;

    /* The list is held by a cancel() that does not return: name it. */
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 200 * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    if (pthread_mutex_timedlock(&source_live_mu, &until) != 0) {
        pthread_mutex_lock(&source_cancelling_mu);
        if (source_cancelling[0]) {
            snprintf(buf, n, "%s", source_cancelling);
            rc = 0;
        }
        pthread_mutex_unlock(&source_cancelling_mu);
        return rc;
    }
    for (c = source_live; c && rc; c = c->live_next)
        if (atomic_load(&c->busy)) {
            snprintf(buf, n, "source '%s' (plugin '%s')", source_name(c),
                     loader_name(c->src->plugin));
            rc = 0;
        }
    pthread_mutex_unlock(&source_live_mu);
    return rc;
}

/* source_ping_within()'s watchdog: cancels the ping when it has not returned
 * within the limit. */
typedef struct source_watch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, fired;
    source_conn *conn;
    struct timespec until;
} source_watch;

static void *source_watchdog(void *p)
{
    source_watch *w = p;

    pthread_mutex_lock(&w->mu);
    while (!w->done)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &w->until) == ETIMEDOUT) {
            if (!w->done) {
                w->fired = 1;
                source_cancel(w->conn);
            }
            break;
        }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

dsrc_status source_ping_within(source_conn *c, int64_t limit_ms, dsrc_ping_info *info,
                               double *ms, derr *e)
{
    source_watch w = {.conn = c};
    pthread_t t;
    dsrc_status st;
    int watching;

    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    clock_gettime(CLOCK_REALTIME, &w.until);
    w.until.tv_sec += (time_t)(limit_ms / 1000);
    w.until.tv_nsec += (long)(limit_ms % 1000) * 1000000L;
    if (w.until.tv_nsec >= 1000000000L) {
        w.until.tv_sec++;
        w.until.tv_nsec -= 1000000000L;
    }
    watching = pthread_create(&t, NULL, source_watchdog, &w) == 0;
    st = source_ping(c, info, ms, e);
    pthread_mutex_lock(&w.mu);
    w.done = 1;
    pthread_cond_signal(&w.cv);
    pthread_mutex_unlock(&w.mu);
    if (watching)
        pthread_join(t, NULL);
    if (w.fired) {
        derr_clear(e);
        st = derr_set(e, DSRC_E_TIMEOUT, "the ping did not return within probe_timeout "
                      "(%.1f s)", (double)limit_ms / 1000.0);
    }
    if (w.fired) /* a cancelled connection is not used again */
        e->connection_broken = 1;
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return st;
}
