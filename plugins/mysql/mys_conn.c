/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mys_conn.c -- connections of the mysql plugin: queries, options, TLS,
 * open, close, ping (with the endpoint's replication role), cancel with
 * KILL QUERY from a second connection.
 */
#define _GNU_SOURCE
#include "mys.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Where Debian keeps the system's trusted CAs (hashed), used to check a
 * server's chain for verify-ca when the source names no CA. */
#define MYS_SYSTEM_CAPATH "/etc/ssl/certs"

/* ------------------------------------------------------------------------ */
/* Queries                                                                   */

dsrc_status mys_query(dsrc_conn *c, const char *sql, size_t len, const char *what,
                      dsrc_error *err)
{
    errno = 0;
    if (mysql_real_query(c->my, sql, (unsigned long)len) != 0) {
        c->last_errno = errno;
        return mys_fail(err, c, what);
    }
    return DSRC_OK;
}

dsrc_status mys_query_store(dsrc_conn *c, const char *sql, size_t len, MYSQL_RES **res,
                            const char *what, dsrc_error *err)
{
    dsrc_status st = mys_query(c, sql, len, what, err);

    *res = NULL;
    if (st != DSRC_OK)
        return st;
    errno = 0;
    *res = mysql_store_result(c->my);
    if (!*res && mysql_field_count(c->my) != 0) {
        c->last_errno = errno;
        return mys_fail(err, c, what);
    }
    return DSRC_OK;
}

MYSQL_ROW mys_next_row(dsrc_conn *c, MYSQL_RES *res)
{
    MYSQL_ROW row;

    errno = 0;
    row = mysql_fetch_row(res);
    if (!row && mysql_errno(c->my))
        c->last_errno = errno;
    return row;
}

/* ------------------------------------------------------------------------ */
/* Connecting                                                                */

void mys_session_sql(const mys_params *p, char *out, size_t n)
{
    snprintf(out, n,
             "SET time_zone = '+00:00', net_write_timeout = GREATEST("
             "@@session.net_write_timeout, %u)",
             p->read_timeout_s ? p->read_timeout_s : 86400u);
}

static uint64_t mys_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void mys_params_free(mys_params *p)
{
    free(p->host);
    free(p->unix_socket);
    free(p->user);
    mys_wipe_free(p->password);
    free(p->database);
    free(p->charset);
    free(p->tls_ca);
    free(p->tls_capath);
    free(p->tls_cert);
    free(p->tls_key);
    memset(p, 0, sizeof *p);
}

/* A non-negative decimal option no larger than `max`. */
static int mys_parse_ulong(const char *v, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long n;

    if (!v || !*v || *v == '-' || *v == '+' || *v == ' ')
        return -1;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno || *end || n > max)
        return -1;
    *out = n;
    return 0;
}

/* Milliseconds to whole seconds, rounded up (the client counts seconds). */
static unsigned mys_ms_to_s(unsigned long long ms)
{
    unsigned long long s = (ms + 999) / 1000;
    return s > UINT_MAX / 2 ? UINT_MAX / 2 : (unsigned)s;
}

static int mys_valid_charset(const char *s)
{
    size_t i;
    if (!*s || strlen(s) > 32)
        return 0;
    for (i = 0; s[i]; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

/* 1 when the source's cloud group has the host hand a cloud identity's
 * token as the password: aws use_iam_auth, azure use_managed_identity or
 * client_id, gcp service_account_file or use_workload_identity. */
static int mys_cloud_identity(const dsrc_open_params *params)
{
    const char *provider = dsrc_kv_get(params->cloud, params->n_cloud, "provider"), *v;

#define MYS_CLOUD_TRUE(k) ((v = dsrc_kv_get(params->cloud, params->n_cloud, k)) && \
                           strcmp(v, "true") == 0)
#define MYS_CLOUD_SET(k) ((v = dsrc_kv_get(params->cloud, params->n_cloud, k)) && *v)
    if (!provider)
        return 0;
    if (strcmp(provider, "aws") == 0)
        return MYS_CLOUD_TRUE("use_iam_auth");
    if (strcmp(provider, "azure") == 0)
        return MYS_CLOUD_TRUE("use_managed_identity") || MYS_CLOUD_SET("client_id");
    if (strcmp(provider, "gcp") == 0)
        return MYS_CLOUD_SET("service_account_file") || MYS_CLOUD_TRUE("use_workload_identity");
#undef MYS_CLOUD_TRUE
#undef MYS_CLOUD_SET
    return 0;
}

/* Read the options and TLS settings of `params` into `p`. */
static dsrc_status mys_params_read(const dsrc_ctx *ctx, const dsrc_open_params *params,
                                   mys_params *p, dsrc_error *err)
{
    const dsrc_kv *o = params->options;
    size_t n = params->n_options;
    const char *v, *mode;
    unsigned long long num;
    int remote = params->location == DSRC_LOC_CLOUD || params->location == DSRC_LOC_HYBRID;

    memset(p, 0, sizeof *p);
    p->port = 3306;
    p->connect_timeout_s = 10;
    p->read_timeout_s = 1800;
    p->fetch_binary = 1;

    v = dsrc_kv_get(o, n, "host");
    p->host = strdup(v && *v ? v : "localhost");
    v = dsrc_kv_get(o, n, "port");
    if (v) {
        if (mys_parse_ulong(v, 65535, &num) != 0 || num == 0)
            return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                  "option 'port': '%s' is not a port number (1-65535)", v);
        p->port = (unsigned)num;
    }
    v = dsrc_kv_get(o, n, "unix_socket");
    /* A replica is reached at its own host and port, never through the
     * primary's local socket. */
    if (v && *v && params->endpoint == 0)
        p->unix_socket = strdup(v);
    v = dsrc_kv_get(o, n, "user");
    if (v && *v)
        p->user = strdup(v);
    v = dsrc_kv_get(o, n, "password");
    if (v && !(p->password = strdup(v)))
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    v = dsrc_kv_get(o, n, "database");
    if (v && *v)
        p->database = strdup(v);
    v = dsrc_kv_get(o, n, "charset");
    if (v && !mys_valid_charset(v))
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'charset': '%s' is not a character set name"
                              " (e.g. utf8mb4)", v);
    p->charset = strdup(v ? v : "utf8mb4");
    v = dsrc_kv_get(o, n, "fetch_binary");
    if (v) {
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
            return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                  "option 'fetch_binary': '%s' is not true or false", v);
        p->fetch_binary = strcmp(v, "true") == 0;
    }
    v = dsrc_kv_get(o, n, "connect_timeout");
    if (v) {
        if (mys_parse_ulong(v, ULLONG_MAX, &num) != 0)
            return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                  "option 'connect_timeout': '%s' is not a duration in"
                                  " milliseconds", v);
        p->connect_timeout_s = mys_ms_to_s(num);
    }
    v = dsrc_kv_get(o, n, "read_timeout");
    if (v) {
        if (mys_parse_ulong(v, ULLONG_MAX, &num) != 0)
            return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                  "option 'read_timeout': '%s' is not a duration in"
                                  " milliseconds", v);
        p->read_timeout_s = mys_ms_to_s(num);
    }

    /* TLS, in the mode the host resolved (a 1.0 host sends none: the
     * host's rule, prefer on premises, verify-full for cloud and hybrid
     * sources, which never talk in plain text: disable and prefer, which
     * falls back to it, are refused there). */
    mode = params->tls_mode;
    if (!mode || !*mode)
        mode = remote ? "verify-full" : "prefer";
    if (strcmp(mode, "disable") == 0 || strcmp(mode, "prefer") == 0) {
        if (remote)
            return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                  "tls mode '%s' is refused for a %s source: it could"
                                  " send credentials and data in plain text (use require,"
                                  " verify-ca or verify-full)", mode,
                                  params->location == DSRC_LOC_CLOUD ? "cloud" : "hybrid");
        p->use_tls = mode[0] == 'p' ? 2 : 0;
    } else if (strcmp(mode, "require") == 0) {
        p->use_tls = 1;
    } else if (strcmp(mode, "verify-ca") == 0) {
        p->use_tls = 1;
        if (!params->tls_ca || !*params->tls_ca)
            p->tls_capath = strdup(MYS_SYSTEM_CAPATH);
    } else if (strcmp(mode, "verify-full") == 0) {
        p->use_tls = 1;
        p->verify_host = 1;
    } else {
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "tls mode '%s' is unknown (disable, prefer, require, verify-ca"
                              " or verify-full)", mode);
    }
    /* A cloud token is sent as it is (RDS asks for mysql_clear_password),
     * and only inside TLS that cannot fall back to plain text. */
    p->cleartext = p->use_tls == 1 && p->password && mys_cloud_identity(params);
    if (p->use_tls) {
        if (p->use_tls == 1 && params->tls_ca && *params->tls_ca)
            p->tls_ca = strdup(params->tls_ca);
        if (params->tls_cert && *params->tls_cert)
            p->tls_cert = strdup(params->tls_cert);
        if (params->tls_key && *params->tls_key)
            p->tls_key = strdup(params->tls_key);
    } else if ((params->tls_cert && *params->tls_cert) || (params->tls_ca && *params->tls_ca)) {
        if (mys_host && mys_host->log)
            mys_host->log(ctx, DSRC_LOG_WARNING, "tls mode is 'disable': the tls ca/cert/key"
                          " settings are not used");
    }
    /* Every option given must have been copied. */
    if (!p->host || !p->charset ||
        (params->endpoint == 0 && (v = dsrc_kv_get(o, n, "unix_socket")) && *v &&
         !p->unix_socket) ||
        ((v = dsrc_kv_get(o, n, "user")) && *v && !p->user) ||
        ((v = dsrc_kv_get(o, n, "database")) && *v && !p->database) ||
        (mode && strcmp(mode, "verify-ca") == 0 && !p->tls_ca && !p->tls_capath) ||
        (p->use_tls == 1 && params->tls_ca && *params->tls_ca && !p->tls_ca) ||
        (p->use_tls && params->tls_cert && *params->tls_cert && !p->tls_cert) ||
        (p->use_tls && params->tls_key && *params->tls_key && !p->tls_key))
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    return DSRC_OK;
}

/* mysql_real_connect() through Connector/C's non-blocking API, waiting in
 * poll() on the socket and on the host's cancel descriptor, so that a
 * cancelled call stops at once even while the server does not answer.
 * The connect timeout stays the library's (MYSQL_WAIT_TIMEOUT).  Returns
 * the handle, or NULL (the error in `my`; *cancelled set when the call was
 * cancelled: `my` is then closed and the caller must not touch it). */
static MYSQL *mys_connect_cancellable(const dsrc_ctx *ctx, MYSQL *my, const char *host,
                                      const mys_params *p, int *cancelled)
{
    MYSQL *ret = NULL;
    int status;

    *cancelled = 0;
    mysql_optionsv(my, MYSQL_OPT_NONBLOCK, 0);
    status = mysql_real_connect_start(&ret, my, host, p->user, p->password, p->database,
                                      p->port, p->unix_socket, 0);
    while (status) {
        struct pollfd pfd[2];
        int rc, timeout = status & MYSQL_WAIT_TIMEOUT ? (int)mysql_get_timeout_value_ms(my) : -1;

        pfd[0].fd = mysql_get_socket(my);
        pfd[0].events = (short)((status & MYSQL_WAIT_READ ? POLLIN : 0) |
                                (status & MYSQL_WAIT_WRITE ? POLLOUT : 0) |
                                (status & MYSQL_WAIT_EXCEPT ? POLLPRI : 0));
        pfd[1].fd = dsrc_cancel_fd(mys_host, ctx);
        pfd[1].events = POLLIN;
        pfd[0].revents = pfd[1].revents = 0;
        /* without a descriptor (a 1.0 host) the flag is polled every 100 ms */
        rc = poll(pfd, pfd[1].fd >= 0 ? 2 : 1,
                  pfd[1].fd >= 0 || (timeout >= 0 && timeout < 100) ? timeout : 100);
        if (dsrc_cancelled(mys_host, ctx)) {
            mysql_close(my); /* aborts the connection attempt */
            *cancelled = 1;
            return NULL;
        }
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc == 0 && !(status & MYSQL_WAIT_TIMEOUT))
            continue; /* a tick of the flag polling */
        status = rc == 0 ? MYSQL_WAIT_TIMEOUT
                         : (pfd[0].revents & (POLLIN | POLLHUP | POLLERR) ? MYSQL_WAIT_READ : 0) |
                               (pfd[0].revents & (POLLOUT | POLLERR) ? MYSQL_WAIT_WRITE : 0) |
                               (pfd[0].revents & POLLPRI ? MYSQL_WAIT_EXCEPT : 0);
        status = mysql_real_connect_cont(&ret, my, status);
    }
    return ret;
}

/* The client authentication plugins of Connector/C but mysql_clear_password. */
#define MYS_AUTH_NO_CLEARTEXT                                                          \
    "mysql_native_password,mysql_old_password,caching_sha2_password,sha256_password,"  \
    "client_ed25519,dialog,auth_gssapi_client,parsec"

/* Connect a new handle with the parameters.  `session` adds the session
 * settings every plugin connection runs with (time zone UTC, a server write
 * timeout that outlasts a slow reader); the cancel connection skips them.
 * `ctx` (NULL: none) is the call to watch for cancellation while
 * connecting.  On failure *out is NULL, *sys_errno is errno after the
 * attempt and err is filled (when not NULL).  Thread-safe: cancel() uses
 * it from any thread. */
static dsrc_status mys_connect(const dsrc_ctx *ctx, const mys_params *p, int session,
                               MYSQL **out, int *sys_errno, dsrc_error *err)
{
    int cancelled = 0;
    MYSQL *done;
    MYSQL *my = mysql_init(NULL);
    my_bool on = 1, off = 0;
    unsigned int zero = 0;
    const char *host;
    char init[160];

    *out = NULL;
    *sys_errno = 0;
    if (!my)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    mysql_optionsv(my, MYSQL_OPT_CONNECT_TIMEOUT, &p->connect_timeout_s);
    if (p->read_timeout_s) {
        mysql_optionsv(my, MYSQL_OPT_READ_TIMEOUT, &p->read_timeout_s);
        mysql_optionsv(my, MYSQL_OPT_WRITE_TIMEOUT, &p->read_timeout_s);
    }
    mysql_optionsv(my, MYSQL_SET_CHARSET_NAME, p->charset);
    mysql_optionsv(my, MYSQL_OPT_LOCAL_INFILE, &zero);
    mysql_optionsv(my, MYSQL_OPT_RECONNECT, &off);
    if (!p->unix_socket && strcmp(p->host, "localhost") != 0) {
        unsigned int tcp = MYSQL_PROTOCOL_TCP;
        mysql_optionsv(my, MYSQL_OPT_PROTOCOL, &tcp);
    }
    if (p->use_tls) {
        /* Connector/C asks for TLS whenever the server offers it; without
         * the certificate check it goes on in plain text when the server
         * offers none, which is what prefer means. */
        mysql_optionsv(my, MYSQL_OPT_SSL_ENFORCE, &on);
        mysql_optionsv(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, p->verify_host ? &on : &off);
        if (p->tls_ca)
            mysql_optionsv(my, MYSQL_OPT_SSL_CA, p->tls_ca);
        if (p->tls_capath)
            mysql_optionsv(my, MYSQL_OPT_SSL_CAPATH, p->tls_capath);
        if (p->tls_cert)
            mysql_optionsv(my, MYSQL_OPT_SSL_CERT, p->tls_cert);
        if (p->tls_key)
            mysql_optionsv(my, MYSQL_OPT_SSL_KEY, p->tls_key);
    }
    /* Connector/C answers a server that asks for mysql_clear_password
     * whatever MYSQL_ENABLE_CLEARTEXT_PLUGIN says: every other client
     * plugin stays allowed, that one only for a cloud token over TLS. */
    if (p->cleartext)
        mysql_optionsv(my, MYSQL_ENABLE_CLEARTEXT_PLUGIN, &on);
    else
        mysql_optionsv(my, MARIADB_OPT_RESTRICTED_AUTH, MYS_AUTH_NO_CLEARTEXT);
    if (session) {
        mys_session_sql(p, init, sizeof init);
        mysql_optionsv(my, MYSQL_INIT_COMMAND, init);
    }
    host = p->unix_socket ? "localhost" : p->host;
    errno = 0;
    done = ctx ? mys_connect_cancellable(ctx, my, host, p, &cancelled)
               : mysql_real_connect(my, host, p->user, p->password, p->database, p->port,
                                    p->unix_socket, 0);
    if (cancelled)
        return mys_cancelled_error(err, "connecting");
    if (!done) {
        *sys_errno = errno;
        if (err) {
            char where[300];
            if (p->unix_socket)
                snprintf(where, sizeof where, "socket %s", p->unix_socket);
            else
                snprintf(where, sizeof where, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
                         p->port);
            char what[512];
            snprintf(what, sizeof what, "cannot connect to %s as '%s'", where,
                     p->user ? p->user : "(login name)");
            mys_fail_raw(err, mysql_errno(my), mysql_sqlstate(my), mysql_error(my),
                         *sys_errno, what);
        }
        mysql_close(my);
        return err ? err->status : DSRC_E_UNREACHABLE;
    }
    *out = my;
    return DSRC_OK;
}

dsrc_status mys_open(const dsrc_ctx *ctx, const dsrc_open_params *params, dsrc_conn **out,
                     dsrc_error *err)
{
    dsrc_conn *c;
    dsrc_status st;
    int sys_errno;
    unsigned long v;
    const char *info, *cipher;

    *out = NULL;
    if (!params || !DSRC_HAS_MEMBER(params, dsrc_open_params, tls_key))
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "open: no parameters");
    c = calloc(1, sizeof *c);
    if (!c)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    atomic_init(&c->side_thread_id, 0);
    c->srv_not_after = -1;
    st = mys_params_read(ctx, params, &c->p, err);
    if (st == DSRC_OK && !(c->source = strdup(params->source ? params->source : "")))
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    if (st == DSRC_OK) {
        uint64_t t0 = mys_now_us();
        st = mys_connect(ctx, &c->p, 1, &c->my, &sys_errno, err);
        c->connect_us = (unsigned long)(mys_now_us() - t0);
    }
    if (st != DSRC_OK) {
        mys_params_free(&c->p);
        free(c->source);
        free(c);
        return st;
    }
    c->thread_id = mysql_thread_id(c->my);
    info = mysql_get_server_info(c->my);
    c->is_mariadb = info && strstr(info, "MariaDB") != NULL;
    v = mysql_get_server_version(c->my);
    c->server_num = v;
    snprintf(c->server_version, sizeof c->server_version, "%s %lu.%lu.%lu",
             c->is_mariadb ? "MariaDB" : "MySQL", v / 10000, (v / 100) % 100, v % 100);
    if (c->p.unix_socket)
        snprintf(c->endpoint, sizeof c->endpoint, "%s", c->p.unix_socket);
    else if (strchr(c->p.host, ':'))
        snprintf(c->endpoint, sizeof c->endpoint, "[%s]:%u", c->p.host, c->p.port);
    else
        snprintf(c->endpoint, sizeof c->endpoint, "%s:%u", c->p.host, c->p.port);
    cipher = mysql_get_ssl_cipher(c->my);
    if (mys_host && mys_host->log)
        mys_host->log(ctx, DSRC_LOG_DEBUG, "connected to %s (%s) in %lu.%03lu ms, connection"
                      " %lu, %s%s", c->endpoint, c->server_version, c->connect_us / 1000,
                      c->connect_us % 1000, c->thread_id, cipher ? "TLS " : "no TLS",
                      cipher ? cipher : "");
    *out = c;
    return DSRC_OK;
}

void mys_close(dsrc_conn *c)
{
    if (!c)
        return;
    if (c->my)
        mysql_close(c->my);
    mys_params_free(&c->p);
    free(c->source);
    free(c);
}

/* ------------------------------------------------------------------------ */
/* ping                                                                      */

/* The end of validity of the server's certificate on a TLS connection, from
 * the server's own Ssl_server_not_after ("Jan  2 03:04:05 2027 GMT": the
 * certificate it presents); 0 without TLS, or when the server does not
 * tell.  The client library does not hand out the peer certificate. */
static int64_t mys_server_cert_not_after(dsrc_conn *c)
{
    static const char q[] = "SHOW SESSION STATUS LIKE 'Ssl_server_not_after'";
    MYSQL_RES *res;
    MYSQL_ROW row;
    struct tm tm;
    int64_t t = 0;

    if (!mysql_get_ssl_cipher(c->my) || mysql_real_query(c->my, q, sizeof q - 1) != 0)
        return 0;
    if (!(res = mysql_store_result(c->my)))
        return 0;
    memset(&tm, 0, sizeof tm);
    if ((row = mysql_fetch_row(res)) && row[1] && strptime(row[1], "%b %d %H:%M:%S %Y", &tm))
        t = (int64_t)timegm(&tm);
    mysql_free_result(res);
    return t > 0 ? t : 0;
}

dsrc_status mys_ping(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_ping_info *info, dsrc_error *err)
{
    static const char q_ro[] = "SELECT @@global.read_only";
    MYSQL_RES *res;
    MYSQL_ROW row;
    dsrc_status st;
    int read_only = 0, replicating = 0;
    const char *q_repl;

    if (dsrc_cancelled(mys_host, ctx))
        return mys_cancelled_error(err, "ping");
    /* The round trip, and whether the server refuses writes. */
    st = mys_query_store(c, q_ro, sizeof q_ro - 1, &res, "ping", err);
    if (st != DSRC_OK)
        return st;
    row = res ? mysql_fetch_row(res) : NULL;
    if (!row) {
        if (res)
            mysql_free_result(res);
        return dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL, "ping: the server sent no row");
    }
    read_only = row[0] && strcmp(row[0], "0") != 0;
    mysql_free_result(res);

    /* Whether it replicates from another server.  Without the privilege
     * to ask (REPLICATION CLIENT / SLAVE MONITOR), read_only decides. */
    if (c->is_mariadb)
        q_repl = "SHOW ALL SLAVES STATUS";
    else if (c->server_num >= 80022)
        q_repl = "SHOW REPLICA STATUS";
    else
        q_repl = "SHOW SLAVE STATUS";
    errno = 0;
    if (mysql_real_query(c->my, q_repl, (unsigned long)strlen(q_repl)) == 0) {
        res = mysql_store_result(c->my);
        if (res) {
            replicating = mysql_num_rows(res) > 0;
            mysql_free_result(res);
        } else if (mysql_errno(c->my)) {
            c->last_errno = errno;
            return mys_fail(err, c, "ping: reading the replication status");
        }
    } else {
        unsigned code = mysql_errno(c->my);
        c->last_errno = errno;
        if (code != 1227 && code != 1142 && code != 1044)
            return mys_fail(err, c, "ping: reading the replication status");
    }

    if (info) {
        if (DSRC_HAS_MEMBER(info, dsrc_ping_info, role))
            info->role = (replicating || read_only) ? DSRC_ROLE_REPLICA : DSRC_ROLE_PRIMARY;
        if (DSRC_HAS_MEMBER(info, dsrc_ping_info, server_version))
            snprintf(info->server_version, sizeof info->server_version, "%s",
                     c->server_version);
        if (DSRC_HAS_MEMBER(info, dsrc_ping_info, endpoint))
            snprintf(info->endpoint, sizeof info->endpoint, "%s", c->endpoint);
        if (DSRC_HAS_MEMBER(info, dsrc_ping_info, server_cert_not_after)) {
            if (c->srv_not_after < 0)
                c->srv_not_after = mys_server_cert_not_after(c);
            info->server_cert_not_after = dsrc_cert_time(c->srv_not_after);
        }
    }
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* Cancellation                                                              */

/* KILL QUERY `id` on the endpoint of `p`, from a connection of its own. */
static int mys_kill_id(const mys_params *p, unsigned long id)
{
    MYSQL *k;
    int sys_errno, rc;
    char q[64];

    if (mys_connect(NULL, p, 0, &k, &sys_errno, NULL) != DSRC_OK)
        return -1;
    snprintf(q, sizeof q, "KILL QUERY %lu", id);
    rc = mysql_real_query(k, q, (unsigned long)strlen(q)) == 0 ? 0 : -1;
    mysql_close(k);
    return rc;
}

int mys_kill_query(const dsrc_conn *c)
{
    return mys_kill_id(&c->p, c->thread_id);
}

dsrc_status mys_cancel(dsrc_conn *c)
{
    unsigned long side;
    int rc;

    if (!c)
        return DSRC_OK;
    rc = mys_kill_query(c);
    side = atomic_load(&c->side_thread_id);
    if (side)
        mys_kill_id(&c->p, side);
    return rc == 0 ? DSRC_OK : DSRC_E_UNREACHABLE;
}

dsrc_status mys_side_open(dsrc_conn *c, dsrc_conn *side, dsrc_error *err)
{
    int sys_errno;
    dsrc_status st;
    uint64_t t0 = mys_now_us();

    memset(side, 0, sizeof *side);
    atomic_init(&side->side_thread_id, 0);
    st = mys_connect(NULL, &c->p, 0, &side->my, &sys_errno, err);
    if (st != DSRC_OK)
        return st;
    side->connect_us = (unsigned long)(mys_now_us() - t0);
    side->p = c->p;
    side->source = c->source;
    side->thread_id = mysql_thread_id(side->my);
    memcpy(side->endpoint, c->endpoint, sizeof side->endpoint);
    memcpy(side->server_version, c->server_version, sizeof side->server_version);
    side->is_mariadb = c->is_mariadb;
    side->server_num = c->server_num;
    atomic_store(&c->side_thread_id, side->thread_id);
    return DSRC_OK;
}

void mys_side_close(dsrc_conn *c, dsrc_conn *side)
{
    if (!side->my)
        return;
    atomic_store(&c->side_thread_id, 0);
    mysql_close(side->my);
    memset(side, 0, sizeof *side);
}

void mys_abandon_result(dsrc_conn *c, MYSQL_RES *res)
{
    int i;

    /* A small rest is cheaper to read than a second connection. */
    for (i = 0; i < 4096; i++) {
        if (!mysql_fetch_row(res)) {
            mysql_free_result(res);
            return;
        }
    }
    mys_kill_query(c);
    mysql_free_result(res);
}
