/* SPDX-License-Identifier: Apache-2.0 */
/*
 * postgres.c -- the postgres connector: one PostgreSQL database as a
 * source, through libpq.  Entry point, options, open, close, ping, cancel.
 *
 * Built only against <dsrc/plugin.h> and libpq.  A connection is made with
 * PQconnectStartParams() from the validated options (never a conninfo
 * string pasted together) and driven with PQconnectPoll(), so that the
 * connect timeout and the host's cancellation are honoured.  The session
 * is then set up in one round trip: DateStyle ISO, bytea_output hex,
 * extra_float_digits 3, default_transaction_read_only on, the
 * statement_timeout, and pg_is_in_recovery() for the endpoint's role.
 *
 * TLS: the mode the host resolved (disable / prefer / require / verify-ca
 * / verify-full), ca, cert, key map to libpq's sslmode / sslrootcert /
 * sslcert / sslkey.  A cloud or hybrid source never talks plain text:
 * `disable` and `prefer` (which falls back to plain text) are configuration
 * errors there.  verify-ca / verify-full without a CA use the system's CA
 * bundle.  A host of ABI 1.0 sends no mode: the host's rule by location
 * (prefer on premises, verify-full in the cloud) applies.
 *
 * The other files: see pgc.h.
 */
#define _GNU_SOURCE /* dladdr(), RTLD_NODELETE */
#include "pgc.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

DSRC_PLUGIN_ABI();

#define PGC_VERSION "1.0.0"
#define PGC_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"
#define PGC_TICK_MS 100
#define PGC_PARALLEL_MAX 8

static const dsrc_option pgc_options[] = {
    {"host", DSRC_OPT_STRING, 0, "localhost", NULL,
     "server host name or IP address, or a Unix socket directory", {NULL, NULL}},
    {"port", DSRC_OPT_INT, 0, "5432", NULL, "server TCP port", {NULL, NULL}},
    {"database", DSRC_OPT_STRING, DSRC_OPT_REQUIRED, NULL, NULL, "the database to read",
     {NULL, NULL}},
    {"user", DSRC_OPT_STRING, DSRC_OPT_REQUIRED, NULL, NULL, "the role to connect as",
     {NULL, NULL}},
    {"password", DSRC_OPT_STRING, DSRC_OPT_SECRET, NULL, NULL,
     "the role's password (not needed with a client certificate or peer/trust auth)",
     {NULL, NULL}},
    {"application_name", DSRC_OPT_STRING, 0, "dsrc", NULL,
     "the name the server shows in pg_stat_activity", {NULL, NULL}},
    {"connect_timeout", DSRC_OPT_DURATION, 0, "10s", NULL,
     "give up connecting (TCP, TLS and authentication) after this long", {NULL, NULL}},
    {"statement_timeout", DSRC_OPT_DURATION, 0, NULL, NULL,
     "cancel any statement running longer than this (default: the server's setting)",
     {NULL, NULL}},
    {"options", DSRC_OPT_STRING, 0, NULL, NULL,
     "extra server settings sent at connect time, e.g. \"-c search_path=sales\"",
     {NULL, NULL}},
    {"fetch_parallel", DSRC_OPT_INT, 0, "2", NULL,
     "connections reading a large table at once in a CSV or typed fetch (1: one COPY)",
     {NULL, NULL}},
    {"fetch_parallel_min_mib", DSRC_OPT_INT, 0, "8", NULL,
     "size in MiB from which a table is read over fetch_parallel connections", {NULL, NULL}},
    {"pgbouncer", DSRC_OPT_ENUM, 0, "none", "none|session|transaction",
     "PgBouncer in front of the server: none or session (sessions kept), transaction "
     "(settings sent in each transaction, one connection per fetch)",
     {NULL, NULL}},
    DSRC_OPTION_END
};

/* ------------------------------------------------------------------------ */
/* Options                                                                   */

/* A non-negative decimal number of milliseconds (or a port); -1 when bad. */
static long long pgc_number(const char *v)
{
    char *end;
    long long x;
    if (!v || !*v)
        return -1;
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno || *end || x < 0)
        return -1;
    return x;
}

static int pgc_readable(const char *path)
{
    return access(path, R_OK) == 0;
}

/* The sslmode for the source's TLS settings and location, or NULL (err
 * set). */
static const char *pgc_sslmode(const dsrc_open_params *p, const char *mode, const char *ca,
                               dsrc_error *err)
{
    static const char *const modes[] = {"disable", "prefer", "require", "verify-ca",
                                        "verify-full"};
    int hosted = p->location == DSRC_LOC_CLOUD || p->location == DSRC_LOC_HYBRID;
    size_t i;

    if (!mode)
        return ca || hosted ? "verify-full" : "prefer";
    for (i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(mode, modes[i]) == 0)
            break;
    if (i == sizeof modes / sizeof modes[0]) {
        dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                       "tls.mode '%s' is not one of disable, prefer, require, verify-ca, "
                       "verify-full", mode);
        return NULL;
    }
    if (hosted && i <= 1) {
        dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                       "tls.mode '%s' is not allowed for a %s source: it could send the "
                       "password and the data in plain text; use require or verify-full",
                       mode, p->location == DSRC_LOC_CLOUD ? "cloud" : "hybrid");
        return NULL;
    }
    return modes[i];
}

/* ------------------------------------------------------------------------ */
/* open                                                                      */

static double pgc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Drive PQconnectPoll() until connected, failed, timed out or cancelled. */
static dsrc_status pgc_handshake(const dsrc_ctx *ctx, PGconn *pg, long long timeout_ms,
                                 const char *endpoint, const char *user, const char *db,
                                 dsrc_error *err)
{
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
    double deadline = pgc_now_ms() + (double)timeout_ms;

    for (;;) {
        double left;
        int rc, sock;
        short rev = 0;

        if (ps == PGRES_POLLING_OK)
            return DSRC_OK;
        if (ps == PGRES_POLLING_FAILED)
            return pgc_fail_connect(pg, endpoint, user, db, err);
        if (dsrc_cancelled(pgc_host, ctx))
            return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                  "connecting to %s: cancelled", endpoint);
        left = deadline - pgc_now_ms();
        if (timeout_ms > 0 && left <= 0) {
            dsrc_status s = dsrc_error_set(err, DSRC_E_TIMEOUT, 1, "08001",
                                           "%s: no connection within connection.connect_timeout"
                                           " (%lld ms); check that the host and port are right "
                                           "and that no firewall drops the packets",
                                           endpoint, timeout_ms);
            if (err)
                err->connection_broken = 1;
            return s;
        }
        sock = PQsocket(pg);
        if (sock < 0)
            return pgc_fail_connect(pg, endpoint, user, db, err);
        /* the host's cancel descriptor wakes it at once */
        rc = pgc_poll(sock, ps == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                      dsrc_cancel_fd(pgc_host, ctx),
                      timeout_ms > 0 && left < PGC_TICK_MS ? (int)left + 1 : PGC_TICK_MS, &rev);
        if (rc < 0 && errno != EINTR)
            return pgc_fail_connect(pg, endpoint, user, db, err);
        if (rc > 0 && rev)
            ps = PQconnectPoll(pg);
    }
}

/* Set the session up; learn the role. */
static dsrc_status pgc_session(const dsrc_ctx *ctx, dsrc_conn *c, long long stmt_ms,
                               dsrc_error *err)
{
    dsrc_buf q = {0};
    PGresult *res;
    dsrc_status s;

    /* Through a transaction pooler the session is not this connection's:
     * settings made here would stay on a server connection other clients
     * then get; each transaction sets them (pgc_tx_settings()). */
    if (!c->tx_pooled) {
        dsrc_buf_add(&q, "SET DateStyle = ISO; SET bytea_output = hex; "
                        "SET extra_float_digits = 3; SET default_transaction_read_only = on; ");
        if (stmt_ms >= 0)
            dsrc_buf_printf(&q, "SET statement_timeout = %lld; ", stmt_ms);
    }
    dsrc_buf_add(&q, "SELECT pg_catalog.pg_is_in_recovery()");
    if (q.failed) {
        dsrc_buf_free(&q);
        return pgc_oom(err);
    }
    s = pgc_exec(c, ctx, q.s, -1, NULL, &res, "setting up the session", err);
    dsrc_buf_free(&q);
    if (s != DSRC_OK)
        return s;
    c->role = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't' ? DSRC_ROLE_REPLICA
                                                                      : DSRC_ROLE_PRIMARY;
    PQclear(res);
    return DSRC_OK;
}

static dsrc_status pgc_open(const dsrc_ctx *ctx, const dsrc_open_params *params,
                            dsrc_conn **out, dsrc_error *err)
{
    const char *kw[20], *val[20];
    const char *host, *port, *db, *user, *pw, *app, *opts, *v, *mode, *ca, *cert, *key;
    const char *sslmode, *rootcert;
    long long port_n, connect_ms = 10000, stmt_ms = -1, par = 2, par_min = 8;
    int tx_pooled = 0;
    char endpoint[128];
    size_t n = 0;
    PGconn *pg;
    dsrc_conn *c;
    dsrc_status s;

    *out = NULL;
    if (!params || !params->options)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL, "no connection options");
    host = dsrc_kv_get(params->options, params->n_options, "host");
    port = dsrc_kv_get(params->options, params->n_options, "port");
    db = dsrc_kv_get(params->options, params->n_options, "database");
    user = dsrc_kv_get(params->options, params->n_options, "user");
    pw = dsrc_kv_get(params->options, params->n_options, "password");
    app = dsrc_kv_get(params->options, params->n_options, "application_name");
    opts = dsrc_kv_get(params->options, params->n_options, "options");
    if (!host || !*host)
        host = "localhost";
    if (!port || !*port)
        port = "5432";
    if (!db || !*db)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'database' is required");
    if (!user || !*user)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL, "option 'user' is required");
    port_n = pgc_number(port);
    if (port_n < 1 || port_n > 65535)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'port': '%s' is not a TCP port (1-65535)", port);
    if ((v = dsrc_kv_get(params->options, params->n_options, "connect_timeout")) != NULL &&
        (connect_ms = pgc_number(v)) < 0)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'connect_timeout': '%s' is not a duration in milliseconds",
                              v);
    if ((v = dsrc_kv_get(params->options, params->n_options, "statement_timeout")) != NULL &&
        (stmt_ms = pgc_number(v)) < 0)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'statement_timeout': '%s' is not a duration in "
                              "milliseconds", v);
    if ((v = dsrc_kv_get(params->options, params->n_options, "fetch_parallel")) != NULL &&
        ((par = pgc_number(v)) < 1 || par > PGC_PARALLEL_MAX))
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'fetch_parallel': '%s' is not a number of connections "
                              "from 1 to %d", v, PGC_PARALLEL_MAX);
    if ((v = dsrc_kv_get(params->options, params->n_options, "fetch_parallel_min_mib")) !=
            NULL && ((par_min = pgc_number(v)) < 0 || par_min > (1LL << 40)))
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'fetch_parallel_min_mib': '%s' is not a size in MiB", v);
    if ((v = dsrc_kv_get(params->options, params->n_options, "pgbouncer")) != NULL && *v) {
        if (strcmp(v, "transaction") == 0)
            tx_pooled = 1;
        else if (strcmp(v, "none") != 0 && strcmp(v, "session") != 0)
            return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                  "option 'pgbouncer': '%s' is not one of none, session, "
                                  "transaction", v);
    }

    mode = DSRC_HAS_MEMBER(params, dsrc_open_params, tls_mode) ? params->tls_mode : NULL;
    ca = DSRC_HAS_MEMBER(params, dsrc_open_params, tls_ca) ? params->tls_ca : NULL;
    cert = DSRC_HAS_MEMBER(params, dsrc_open_params, tls_cert) ? params->tls_cert : NULL;
    key = DSRC_HAS_MEMBER(params, dsrc_open_params, tls_key) ? params->tls_key : NULL;
    sslmode = pgc_sslmode(params, mode, ca, err);
    if (!sslmode)
        return err ? err->status : DSRC_E_INVALID_CONFIG;
    if (ca && !pgc_readable(ca))
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL, "tls.ca '%s': %s", ca,
                              strerror(errno));
    if (cert && !pgc_readable(cert))
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL, "tls.cert '%s': %s", cert,
                              strerror(errno));
    if (key && !pgc_readable(key))
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL, "tls.key '%s': %s", key,
                              strerror(errno));
    rootcert = ca;
    if (!rootcert && strncmp(sslmode, "verify-", 7) == 0 && pgc_readable(PGC_SYSTEM_CA))
        rootcert = PGC_SYSTEM_CA;

    if (strchr(host, ':') && host[0] != '/')
        snprintf(endpoint, sizeof endpoint, "[%s]:%s", host, port);
    else
        snprintf(endpoint, sizeof endpoint, "%s:%s", host, port);

#define PGC_KW(k, v)                                                          \
    do {                                                                      \
        kw[n] = (k);                                                          \
        val[n] = (v);                                                         \
        n++;                                                                  \
    } while (0)
    PGC_KW("host", host);
    PGC_KW("port", port);
    PGC_KW("dbname", db);
    PGC_KW("user", user);
    if (pw)
        PGC_KW("password", pw);
    PGC_KW("application_name", app ? app : "dsrc");
    PGC_KW("client_encoding", "UTF8");
    PGC_KW("sslmode", sslmode);
    if (rootcert)
        PGC_KW("sslrootcert", rootcert);
    if (cert)
        PGC_KW("sslcert", cert);
    if (key)
        PGC_KW("sslkey", key);
    if (opts && *opts)
        PGC_KW("options", opts);
    PGC_KW("keepalives", "1");
    PGC_KW(NULL, NULL);
#undef PGC_KW

    c = calloc(1, sizeof *c);
    if (!c)
        return pgc_oom(err);
    atomic_init(&c->cancel_requested, 0);
    snprintf(c->endpoint, sizeof c->endpoint, "%s", endpoint);
    snprintf(c->user, sizeof c->user, "%s", user);
    c->ctx = ctx;
    c->connect_ms = connect_ms;
    c->stmt_ms = stmt_ms;
    c->fetch_parallel = (int)par;
    c->parallel_min = (int64_t)par_min * 1024 * 1024;
    c->tx_pooled = tx_pooled;
    pg = PQconnectStartParams(kw, val, 0);
    if (!pg) {
        free(c);
        return pgc_oom(err);
    }
    c->pg = pg;
    /* Server notices go to the host's log from the handshake on. */
    PQsetNoticeReceiver(pg, pgc_notice, c);
    if (PQstatus(pg) == CONNECTION_BAD) {
        s = pgc_fail_connect(pg, endpoint, user, db, err);
        goto fail;
    }
    /* Verbose: handshake errors then carry the server's SQLSTATE. */
    PQsetErrorVerbosity(pg, PQERRORS_VERBOSE);
    s = pgc_handshake(ctx, pg, connect_ms, endpoint, user, db, err);
    if (s != DSRC_OK)
        goto fail;
    PQsetErrorVerbosity(pg, PQERRORS_DEFAULT);
    if (PQserverVersion(pg) < 100000) {
        s = dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                           "%s runs PostgreSQL %s; version 10 or later is needed", endpoint,
                           PQparameterStatus(pg, "server_version"));
        goto fail;
    }

    c->cancel = PQgetCancel(pg);
    s = pgc_session(ctx, c, stmt_ms, err);
    if (s != DSRC_OK)
        goto fail;
    if (pgc_host && pgc_host->log) {
        int endpoint_no = DSRC_HAS_MEMBER(params, dsrc_open_params, endpoint)
                              ? params->endpoint : 0;
        pgc_host->log(ctx, DSRC_LOG_DEBUG, "connected to %s as '%s' (PostgreSQL %s, %s, %s)",
                      endpoint, user, PQparameterStatus(pg, "server_version"),
                      c->role == DSRC_ROLE_REPLICA ? "in recovery" : "primary",
                      PQsslInUse(pg) ? "TLS" : "no TLS");
        if (endpoint_no > 0 && c->role != DSRC_ROLE_REPLICA)
            pgc_host->log(ctx, DSRC_LOG_WARNING,
                          "replica endpoint %d (%s) is not in recovery: it is a primary now",
                          endpoint_no, endpoint);
    }
    *out = c;
    return DSRC_OK;

fail:
    PQfreeCancel(c->cancel);
    PQfinish(pg);
    free(c);
    return s;
}

static void pgc_close(dsrc_conn *c)
{
    if (!c)
        return;
    PQfreeCancel(c->cancel);
    PQfinish(c->pg);
    free(c);
}

void pgc_drop(dsrc_conn *c)
{
    pgc_close(c);
}

dsrc_status pgc_clone(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_conn **out, dsrc_error *err)
{
    PQconninfoOption *info = PQconninfo(c->pg), *o;
    const char **kw = NULL, **val = NULL;
    size_t n = 0;
    dsrc_conn *d = NULL;
    dsrc_status s;

    *out = NULL;
    if (!info)
        return pgc_oom(err);
    for (o = info; o->keyword; o++)
        n++;
    kw = calloc(n + 1, sizeof *kw);
    val = calloc(n + 1, sizeof *val);
    d = calloc(1, sizeof *d);
    if (!kw || !val || !d) {
        s = pgc_oom(err);
        goto out;
    }
    n = 0;
    for (o = info; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        kw[n] = o->keyword;
        val[n] = o->val;
        n++;
    }
    atomic_init(&d->cancel_requested, 0);
    memcpy(d->endpoint, c->endpoint, sizeof d->endpoint);
    memcpy(d->user, c->user, sizeof d->user);
    d->ctx = ctx;
    d->connect_ms = c->connect_ms;
    d->stmt_ms = c->stmt_ms;
    d->fetch_parallel = 1;
    d->parallel_min = c->parallel_min;
    d->tx_pooled = c->tx_pooled;
    d->pg = PQconnectStartParams(kw, val, 0);
    if (!d->pg) {
        s = pgc_oom(err);
        goto out;
    }
    PQsetNoticeReceiver(d->pg, pgc_notice, d);
    if (PQstatus(d->pg) == CONNECTION_BAD) {
        s = pgc_fail_connect(d->pg, c->endpoint, c->user, PQdb(c->pg), err);
        goto out;
    }
    s = pgc_handshake(ctx, d->pg, c->connect_ms, c->endpoint, c->user, PQdb(c->pg), err);
    if (s != DSRC_OK)
        goto out;
    d->cancel = PQgetCancel(d->pg);
    s = pgc_session(ctx, d, d->stmt_ms, err);
    if (s == DSRC_OK) {
        *out = d;
        d = NULL;
    }
out:
    if (d)
        pgc_close(d);
    free(kw);
    free(val);
    PQconninfoFree(info);
    return s;
}

static dsrc_status pgc_cancel(dsrc_conn *c)
{
    char errbuf[256];
    if (!c)
        return DSRC_OK;
    atomic_store(&c->cancel_requested, 1);
    if (c->cancel && !PQcancel(c->cancel, errbuf, (int)sizeof errbuf))
        return DSRC_E_UNREACHABLE;
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* ping                                                                      */

/* The end of validity (epoch seconds) of the certificate the server
 * presented on this connection; 0 without TLS or when it cannot be read.
 * libpq's TLS is OpenSSL's: its SSL object holds the peer certificate. */
static int64_t pgc_server_cert_not_after(PGconn *pg)
{
    SSL *ssl;
    const X509 *x;
    int days = 0, secs = 0;

    if (!PQsslInUse(pg) || !(ssl = PQsslStruct(pg, "OpenSSL")) ||
        !(x = SSL_get0_peer_certificate(ssl)) ||
        !ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)))
        return 0;
    return (int64_t)time(NULL) + (int64_t)days * 86400 + secs;
}

static dsrc_status pgc_ping(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_ping_info *info,
                            dsrc_error *err)
{
    PGresult *res;
    dsrc_status s;

    s = pgc_op_begin(c, ctx, err);
    if (s != DSRC_OK)
        return s;
    s = pgc_exec(c, ctx, "SELECT 1, pg_catalog.pg_is_in_recovery()", 0, NULL, &res, "ping",
                 err);
    if (s != DSRC_OK)
        return s;
    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "1") != 0) {
        PQclear(res);
        return dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL, "ping: unexpected answer");
    }
    c->role = PQgetvalue(res, 0, 1)[0] == 't' ? DSRC_ROLE_REPLICA : DSRC_ROLE_PRIMARY;
    PQclear(res);
    if (info) {
        if (DSRC_HAS_MEMBER(info, dsrc_ping_info, role))
            info->role = c->role;
        if (DSRC_HAS_MEMBER(info, dsrc_ping_info, server_version)) {
            const char *v = PQparameterStatus(c->pg, "server_version");
            snprintf(info->server_version, sizeof info->server_version, "PostgreSQL %s",
                     v ? v : "(unknown)");
        }
        if (DSRC_HAS_MEMBER(info, dsrc_ping_info, endpoint))
            snprintf(info->endpoint, sizeof info->endpoint, "%s", c->endpoint);
        if (DSRC_HAS_MEMBER(info, dsrc_ping_info, server_cert_not_after))
            info->server_cert_not_after = dsrc_cert_time(pgc_server_cert_not_after(c->pg));
    }
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */

/* The setup (DSRC_PLUGIN_INIT): keep libpq mapped for the life of the
 * process, even after the host unloads this plugin: libpq keeps
 * process-wide state (its OpenSSL BIO method, OpenSSL's own
 * initialisation) that must not vanish while OpenSSL, which the host uses
 * too, stays loaded. */
static dsrc_status pgc_pin_libpq(dsrc_error *err)
{
    Dl_info info;
    union {
        int (*fn)(void);
        void *p;
    } sym;

    (void)err;
    sym.fn = PQlibVersion;
    if (dladdr(sym.p, &info) && info.dli_fname)
        (void)dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
    return DSRC_OK;
}

/* Limits on single values (ABI 1.1), checked by the host with file:line. */
static const dsrc_option_limit pgc_limits[] = {
    {"port", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 1, 65535, NULL, NULL, {NULL, NULL}},
    {"connect_timeout", DSRC_LIMIT_MIN, 0, 0, NULL, NULL, {NULL, NULL}},
    {"statement_timeout", DSRC_LIMIT_MIN, 0, 0, NULL, NULL, {NULL, NULL}},
    {"fetch_parallel", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 1, PGC_PARALLEL_MAX, NULL, NULL,
     {NULL, NULL}},
    {"fetch_parallel_min_mib", DSRC_LIMIT_MIN, 0, 0, NULL, NULL, {NULL, NULL}},
    DSRC_OPTION_LIMIT_END,
};

static const dsrc_driver pgc_driver = {
    .abi_version = DSRC_ABI_VERSION,
    .name = "postgres",
    .option_limits = pgc_limits,
    .version = PGC_VERSION,
    .description = "PostgreSQL databases through libpq (COPY CSV, TLS, replicas)",
    .capabilities =
        DSRC_CAP_CANCEL | DSRC_CAP_DISCOVER | DSRC_CAP_CURSOR | DSRC_CAP_CSV | DSRC_CAP_REPLICAS |
        DSRC_CAP_QUERY,
    .options = pgc_options,
    DSRC_DRIVER_CALLS(pgc),
    .describe = pgc_describe,
    .discover = pgc_discover,
    .cancel = pgc_cancel,
    .query = pgc_query,
};

DSRC_PLUGIN_INIT(pgc_driver, &pgc_host, pgc_pin_libpq)
