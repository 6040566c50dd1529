/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ch_error.c -- what went wrong, as dsrc statuses: curl's failures of the
 * transfer, and ClickHouse's exceptions, which the HTTP interface sends as
 * the body "Code: N, e.displayText() = DB::Exception: MESSAGE, e.what() =
 * DB::Exception" (the server's own message is kept; a credential never).
 */
#include "ch.h"
#include "../common/dsrc_curl.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int ch_parse_exception(const char *s, size_t n, char *msg, size_t cap)
{
    static const char code_tag[] = "Code: ", disp[] = "e.displayText() = ",
                      tail[] = ", e.what() = ";
    const char *p, *end = s + n, *m, *me;
    int code = 0;

    if (!s || n < sizeof code_tag || memcmp(s, code_tag, sizeof code_tag - 1) != 0)
        return -1;
    p = s + sizeof code_tag - 1;
    if (p >= end || !isdigit((unsigned char)*p))
        return -1;
    while (p < end && isdigit((unsigned char)*p) && code < 100000)
        code = code * 10 + (*p++ - '0');
    if (!msg || !cap)
        return code;
    m = p;
    while (m < end && (*m == ',' || *m == ' '))
        m++;
    if ((size_t)(end - m) >= sizeof disp - 1 && memcmp(m, disp, sizeof disp - 1) == 0)
        m += sizeof disp - 1;
    if ((size_t)(end - m) >= 15 && memcmp(m, "DB::Exception: ", 15) == 0)
        m += 15;
    me = m;
    while (me < end && *me != '\n' && *me != '\r') {
        if ((size_t)(end - me) >= sizeof tail - 1 && memcmp(me, tail, sizeof tail - 1) == 0)
            break;
        me++;
    }
    snprintf(msg, cap, "%.*s", (int)(me - m), m);
    return code;
}

dsrc_status ch_status_of(int code, int *retryable)
{
    *retryable = 0;
    switch (code) {
    case 192: /* UNKNOWN_USER */
    case 193: /* WRONG_PASSWORD */
    case 194: /* REQUIRED_PASSWORD */
    case 195: /* IP_ADDRESS_NOT_ALLOWED */
    case 516: /* AUTHENTICATION_FAILED (later versions) */
        return DSRC_E_AUTH;
    case 164: /* READONLY */
    case 291: /* DATABASE_ACCESS_DENIED */
    case 497: /* ACCESS_DENIED */
        return DSRC_E_PERMISSION;
    case 60:  /* UNKNOWN_TABLE */
    case 81:  /* UNKNOWN_DATABASE */
        return DSRC_E_NOT_FOUND;
    case 16:  /* NO_SUCH_COLUMN_IN_TABLE */
    case 47:  /* UNKNOWN_IDENTIFIER */
    case 62:  /* SYNTAX_ERROR */
    case 6:   /* CANNOT_PARSE_TEXT */
    case 27:  /* CANNOT_PARSE_INPUT_ASSERTION_FAILED */
    case 38:  /* CANNOT_PARSE_DATE */
    case 41:  /* CANNOT_PARSE_DATETIME */
    case 43:  /* ILLEGAL_TYPE_OF_ARGUMENT */
    case 53:  /* TYPE_MISMATCH */
    case 69:  /* ARGUMENT_OUT_OF_BOUND */
    case 72:  /* CANNOT_PARSE_NUMBER */
    case 386: /* NO_COMMON_TYPE */
        return DSRC_E_INVALID_ARGUMENT;
    case 159: /* TIMEOUT_EXCEEDED */
    case 209: /* SOCKET_TIMEOUT */
        *retryable = 1;
        return DSRC_E_TIMEOUT;
    case 394: /* QUERY_WAS_CANCELLED */
        return DSRC_E_CANCELLED;
    case 202: /* TOO_MANY_SIMULTANEOUS_QUERIES */
    case 241: /* MEMORY_LIMIT_EXCEEDED */
    case 210: /* NETWORK_ERROR */
        *retryable = 1;
        return DSRC_E_BACKEND;
    default:
        return DSRC_E_BACKEND;
    }
}

int ch_leaks(const dsrc_conn *c, const char *msg)
{
    return c->password && *c->password && strstr(msg, c->password) != NULL;
}

static dsrc_status ch_fail_curl(const dsrc_conn *c, const ch_resp *r, const char *what,
                                dsrc_error *err)
{
    const char *cmsg = c->curl_err[0] ? c->curl_err : curl_easy_strerror(r->cc);

    if (ch_leaks(c, cmsg))
        cmsg = curl_easy_strerror(r->cc);
    if (r->cc == CURLE_WRITE_ERROR && r->stopped)
        return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: stopped by the receiver",
                              what);
    return dsrc_curl_fail(err, r->cc, what, cmsg, c->hostport,
                          "; check connection.host and connection.port (the HTTP interface, "
                          "8123 by default) and that the server runs",
                          "; TLS failed: check tls.mode and tls.ca, and that the server's "
                          "certificate is issued for its host name",
                          "; check connection.host");
}

dsrc_status ch_fail(const dsrc_conn *c, const ch_resp *r, const char *what, dsrc_error *err)
{
    char msg[1024], code_s[DSRC_BACKEND_CODE_MAX];
    const char *body = r->errbody.s ? r->errbody.s : "";
    int code, retryable = 0;
    dsrc_status st;

    if (r->cc != CURLE_OK)
        return ch_fail_curl(c, r, what, err);
    msg[0] = '\0';
    code = ch_parse_exception(body, r->errbody.len, msg, sizeof msg);
    if (ch_leaks(c, msg))
        snprintf(msg, sizeof msg, "%s", "(the server's message is not shown: it holds a "
                                        "credential)");
    if (code < 0) {
        snprintf(code_s, sizeof code_s, "%ld", r->status);
        st = r->status == 401 || r->status == 403 ? DSRC_E_AUTH
             : r->status == 404                   ? DSRC_E_NOT_FOUND
             : r->status == 503                   ? DSRC_E_BACKEND
                                                  : DSRC_E_BACKEND;
        retryable = r->status >= 500;
        snprintf(msg, sizeof msg, "%.*s", (int)strcspn(body, "\r\n"), body);
        if (ch_leaks(c, msg))
            msg[0] = '\0';
        return dsrc_error_set(err, st, retryable, code_s, "%s: HTTP %ld from %s%s%s", what,
                              r->status, c->hostport, msg[0] ? ": " : "", msg);
    }
    snprintf(code_s, sizeof code_s, "%d", code);
    st = ch_status_of(code, &retryable);
    if (st == DSRC_E_AUTH)
        return dsrc_error_set(err, st, 0, code_s,
                              "%s: %s (ClickHouse error %d); check connection.user and "
                              "connection.password", what, msg, code);
    return dsrc_error_set(err, st, retryable, code_s, "%s: %s (ClickHouse error %d)", what, msg,
                          code);
}
