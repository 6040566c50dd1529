/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pgc_error.c -- turning what libpq and the server report into dsrc errors.
 *
 * The status comes from the SQLSTATE class where the server sent one
 * (query errors, and connection errors, whose message libpq builds in
 * verbose form during the handshake so that it carries the SQLSTATE), else
 * from what libpq says (refused, TLS, timeout).  backend_code is the
 * SQLSTATE; client-side connection failures use 08001 (unable to
 * establish) and lost connections 08006 (connection failure).
 *
 * Messages are one line, built from the server's primary message, detail
 * and hint plus what to check.  They never contain the conninfo; the
 * password is scrubbed from them should a server ever echo it.
 */
#include "pgc.h"

#include <ctype.h>

dsrc_status pgc_oom(dsrc_error *err)
{
    return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
}

const char *pgc_sqlstate(const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

/* Replace every occurrence of `secret` in `msg` (in place) by '*'. */
static void pgc_scrub(char *msg, const char *secret)
{
    size_t n;
    char *p;
    if (!msg || !secret || (n = strlen(secret)) < 3)
        return;
    while ((p = strstr(msg, secret)) != NULL)
        memset(p, '*', n);
}

/* Make a message one line: line breaks become "; ", trailing space goes. */
static void pgc_one_line(char *s)
{
    char *r, *w;
    size_t n;
    if (!s)
        return;
    for (r = w = s; *r; r++) {
        if (*r == '\n' || *r == '\r') {
            while (r[1] == '\n' || r[1] == '\r' || r[1] == ' ' || r[1] == '\t')
                r++;
            if (r[1] && w > s && w[-1] != ' ') {
                *w++ = ';';
                *w++ = ' ';
            }
            continue;
        }
        *w++ = *r;
    }
    *w = '\0';
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == ';'))
        s[--n] = '\0';
}

/* Status, retryable and connection_broken for a SQLSTATE. */
static dsrc_status pgc_classify(const char *st, int *retryable, int *broken)
{
    *retryable = 0;
    *broken = 0;
    if (!st || strlen(st) != 5)
        return DSRC_E_BACKEND;
    if (strncmp(st, "08", 2) == 0) {
        *retryable = 1;
        *broken = 1;
        return DSRC_E_UNREACHABLE;
    }
    if (strncmp(st, "28", 2) == 0)
        return DSRC_E_AUTH;
    if (strcmp(st, "42501") == 0)
        return DSRC_E_PERMISSION;
    if (strcmp(st, "42P01") == 0 || strcmp(st, "3F000") == 0 || strcmp(st, "42704") == 0)
        return DSRC_E_NOT_FOUND;
    if (strcmp(st, "3D000") == 0)
        return DSRC_E_INVALID_CONFIG;
    if (strcmp(st, "42703") == 0 || strcmp(st, "42883") == 0 || strncmp(st, "22", 2) == 0)
        return DSRC_E_INVALID_ARGUMENT;
    if (strcmp(st, "57014") == 0)
        return DSRC_E_TIMEOUT;
    if (strcmp(st, "55P03") == 0) {
        *retryable = 1;
        return DSRC_E_TIMEOUT;
    }
    if (strncmp(st, "57P", 3) == 0 || strcmp(st, "53300") == 0) {
        /* shutting down, starting up, too many connections */
        *retryable = 1;
        *broken = strcmp(st, "53300") != 0;
        return DSRC_E_UNREACHABLE;
    }
    if (strncmp(st, "53", 2) == 0 || strncmp(st, "40", 2) == 0) {
        *retryable = 1;
        return DSRC_E_BACKEND;
    }
    if (strcmp(st, "0A000") == 0)
        return DSRC_E_UNSUPPORTED;
    return DSRC_E_BACKEND;
}

/* What to check, for a status. */
static const char *pgc_advice(dsrc_status s, const char *st)
{
    switch (s) {
    case DSRC_E_AUTH:
        return "check connection.user and connection.password (or the client certificate "
               "in tls.cert / tls.key) and the server's pg_hba.conf";
    case DSRC_E_PERMISSION:
        return "grant the privilege to the connection's user";
    case DSRC_E_INVALID_CONFIG:
        if (st && strcmp(st, "3D000") == 0)
            return "check connection.database";
        return NULL;
    case DSRC_E_UNREACHABLE:
        if (st && strcmp(st, "53300") == 0)
            return "the server has no free connection slot; retry later or raise "
                   "max_connections";
        return NULL;
    default:
        return NULL;
    }
}

dsrc_status pgc_fail_result(dsrc_conn *c, const dsrc_ctx *ctx, const PGresult *res,
                            const char *what, dsrc_error *err)
{
    const char *st = pgc_sqlstate(res);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
    const char *advice;
    dsrc_buf m = {0};
    int retryable, broken;
    dsrc_status s;

    if (!*st && PQstatus(c->pg) != CONNECTION_OK)
        return pgc_fail_conn(c, what, err);
    if (!primary || !*primary)
        primary = PQresultErrorMessage(res);
    if (!primary || !*primary)
        primary = PQresStatus(PQresultStatus(res));
    s = pgc_classify(st, &retryable, &broken);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        s = DSRC_E_UNREACHABLE;
        retryable = 1;
        broken = 1;
    }
    if (strcmp(st, "57014") == 0) {
        if (c->interrupted || atomic_load(&c->cancel_requested) || dsrc_cancelled(pgc_host, ctx))
            return dsrc_error_set(err, DSRC_E_CANCELLED, 0, st, "%s: cancelled", what);
        advice = "the query ran longer than connection.statement_timeout";
    } else {
        advice = pgc_advice(s, st);
    }
    dsrc_buf_printf(&m, "%s: %s", what, primary);
    if (detail)
        dsrc_buf_printf(&m, " (%s)", detail);
    if (hint)
        dsrc_buf_printf(&m, "; hint: %s", hint);
    if (advice)
        dsrc_buf_printf(&m, "; %s", advice);
    s = dsrc_error_set(err, s, retryable, *st ? st : NULL, "%s", m.failed ? primary : m.s);
    dsrc_buf_free(&m);
    if (err) {
        err->connection_broken = broken;
        pgc_one_line(err->message);
        pgc_scrub(err->message, PQpass(c->pg));
    }
    return s;
}

void pgc_notice(void *arg, const PGresult *res)
{
    dsrc_conn *c = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *shown = PQresultErrorField(res, PG_DIAG_SEVERITY);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
    dsrc_log_level level = DSRC_LOG_DEBUG;
    dsrc_buf m = {0};

    if (!pgc_host || !pgc_host->log)
        return;
    if (!sev)
        sev = shown ? shown : "NOTICE";
    if (strcmp(sev, "WARNING") == 0)
        level = DSRC_LOG_WARNING;
    else if (strcmp(sev, "NOTICE") == 0)
        level = DSRC_LOG_NOTICE;
    else if (strcmp(sev, "INFO") == 0)
        level = DSRC_LOG_INFO;
    if (!primary || !*primary)
        primary = PQresultErrorMessage(res);
    dsrc_buf_printf(&m, "server %s: %s: %s", c->endpoint, shown ? shown : sev,
                    primary ? primary : "");
    if (detail)
        dsrc_buf_printf(&m, " (%s)", detail);
    if (hint)
        dsrc_buf_printf(&m, "; hint: %s", hint);
    if (!m.failed) {
        pgc_one_line(m.s);
        pgc_scrub(m.s, PQpass(c->pg));
        pgc_host->log(c->ctx, level, "%s", m.s);
    }
    dsrc_buf_free(&m);
}

/* Whether a libpq reason says only that nothing answered at an address
 * (another address of the same name may have answered and said more). */
static int pgc_transport_only(const char *reason, size_t n)
{
    static const char *const t[] = {"Connection refused", "Network is unreachable",
                                    "No route to host", "Cannot assign requested address",
                                    "timeout expired", "Connection timed out"};
    size_t i, k;

    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t tl = strlen(t[i]);
        for (k = 0; k + tl <= n; k++)
            if (memcmp(reason + k, t[i], tl) == 0)
                return 1;
    }
    return 0;
}

void pgc_reason(const char *msg, char *out, size_t outsz)
{
    const char *p = msg ? msg : "", *best = NULL, *line;
    size_t n, best_n = 0;

    while (*p == ' ' || *p == '\n')
        p++;
    /* libpq tries each address of a name in turn and reports every attempt
     * as "connection to server at ... failed: REASON": take the first reason
     * that is more than "refused" (a TLS or login failure at 127.0.0.1 says
     * more than ::1 refusing), else the first. */
    for (line = p; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *f, *end;
        if (strncmp(line, "connection to server", 20) != 0)
            continue;
        end = strchr(line, '\n');
        f = strstr(line, " failed: ");
        if (!f || (end && f > end))
            continue;
        f += 9;
        n = end ? (size_t)(end - f) : strlen(f);
        if (!best) {
            best = f;
            best_n = n;
        }
        if (!pgc_transport_only(f, n)) {
            best = f;
            best_n = n;
            break;
        }
    }
    if (!best) {
        const char *end = strchr(p, '\n');
        best = p;
        best_n = end ? (size_t)(end - p) : strlen(p);
    }
    if (best_n >= outsz)
        best_n = outsz - 1;
    memcpy(out, best, best_n);
    out[best_n] = '\0';
    if (!*out)
        snprintf(out, outsz, "%s", "no error message");
}

dsrc_status pgc_fail_conn(dsrc_conn *c, const char *what, dsrc_error *err)
{
    char line[512];
    dsrc_status s;

    pgc_reason(PQerrorMessage(c->pg), line, sizeof line);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        s = dsrc_error_set(err, DSRC_E_UNREACHABLE, 1, "08006",
                           "%s: the connection to %s was lost: %s", what, c->endpoint, line);
        if (err)
            err->connection_broken = 1;
    } else {
        s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: %s", what, line);
    }
    if (err)
        pgc_scrub(err->message, PQpass(c->pg));
    return s;
}

/* Find "FATAL:  XXXXX: " (or ERROR) in a verbose handshake message: copy
 * the SQLSTATE to `state` and return where the text after it starts. */
static const char *pgc_find_state(const char *msg, char state[6])
{
    static const char *const sev[] = {"FATAL:  ", "ERROR:  ", "PANIC:  "};
    size_t i;

    state[0] = '\0';
    for (i = 0; i < sizeof sev / sizeof sev[0]; i++) {
        const char *p = msg;
        while ((p = strstr(p, sev[i])) != NULL) {
            const char *q = p + strlen(sev[i]);
            int k, ok = 1;
            for (k = 0; k < 5; k++)
                if (!isalnum((unsigned char)q[k]) || islower((unsigned char)q[k]))
                    ok = 0;
            if (ok && q[5] == ':' && q[6] == ' ') {
                memcpy(state, q, 5);
                state[5] = '\0';
                return q + 7;
            }
            p = q;
        }
    }
    return NULL;
}

dsrc_status pgc_fail_connect(PGconn *pg, const char *endpoint, const char *user,
                             const char *database, dsrc_error *err)
{
    return pgc_fail_connect_text(pg ? PQerrorMessage(pg) : "out of memory",
                                 pg && PQconnectionNeedsPassword(pg), pg ? PQpass(pg) : NULL,
                                 endpoint, user, database, err);
}

dsrc_status pgc_fail_connect_text(const char *msg, int needs_password, const char *password,
                                  const char *endpoint, const char *user,
                                  const char *database, dsrc_error *err)
{
    char state[6], line[512];
    const char *text, *advice = NULL;
    dsrc_status s;
    int retryable = 1, broken = 1;

    if (!msg)
        msg = "";
    text = pgc_find_state(msg, state);

    if (text) {
        /* The server refused: take its message (up to the LOCATION line). */
        const char *end = strchr(text, '\n');
        size_t n = end ? (size_t)(end - text) : strlen(text);
        if (n >= sizeof line)
            n = sizeof line - 1;
        memcpy(line, text, n);
        line[n] = '\0';
        s = pgc_classify(state, &retryable, &broken);
        if (s == DSRC_E_BACKEND || s == DSRC_E_TIMEOUT)
            s = DSRC_E_UNREACHABLE;
        advice = pgc_advice(s, state);
    } else {
        pgc_reason(msg, line, sizeof line);
        snprintf(state, sizeof state, "%s", "08001");
        if (needs_password) {
            s = DSRC_E_AUTH;
            retryable = 0;
            snprintf(line, sizeof line, "the server asks for a password and none is configured");
            advice = "set connection.password";
        } else if (strstr(msg, "certificate") || strstr(msg, "SSL") || strstr(msg, "ssl")) {
            s = DSRC_E_UNREACHABLE;
            retryable = 0;
            advice = "check tls.mode and tls.ca, and that connection.host is a name the "
                     "server certificate is issued for";
        } else {
            s = DSRC_E_UNREACHABLE;
            advice = "check connection.host and connection.port, and that the server runs and "
                     "accepts TCP connections from here";
        }
    }
    s = dsrc_error_set(err, s, retryable, state, "%s (user '%s', database '%s'): %s%s%s",
                       endpoint, user ? user : "", database ? database : "", line,
                       advice ? "; " : "", advice ? advice : "");
    if (err) {
        err->connection_broken = broken;
        pgc_one_line(err->message);
        pgc_scrub(err->message, password);
    }
    return s;
}
