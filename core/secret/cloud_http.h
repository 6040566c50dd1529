/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cloud_http.h -- the one HTTP client of the host's cloud identities
 * (identity.h): token endpoints (AWS STS, Microsoft Entra ID, Google's
 * token URI) and the instance metadata services (AWS IMDSv2, Azure IMDS,
 * the GCP metadata server).
 *
 * Rules, the same for every provider:
 *   - https:// is verified (peer and host name) against the system's CA
 *     store, always;
 *   - http:// is refused, except for a metadata service's link-local
 *     address (169.254.169.254, fd00:ec2::254, metadata.google.internal:
 *     plain HTTP by design, never routed) and for a loopback address
 *     (127.0.0.0/8, ::1, localhost) that the configuration names
 *     explicitly (CLOUD_HTTP_CONFIGURED: test stand-ins);
 *   - no redirect is followed, no proxy is used for a metadata service;
 *   - the answer's body is kept in memory wiped when freed
 *     (secret_free_buf()): it holds tokens; at most CLOUD_HTTP_BODY_MAX
 *     bytes;
 *   - an error names the endpoint (scheme, host, port, path: never a query
 *     string, header or body) and the cause.
 */
#ifndef DSRC_CORE_CLOUD_HTTP_H
#define DSRC_CORE_CLOUD_HTTP_H

#include <stddef.h>

#include "base/error.h"

#define CLOUD_HTTP_BODY_MAX (1024 * 1024)
#define CLOUD_HTTP_TIMEOUT_MS 10000 /* whole request, unless the call sets one */

/* cloud_http_req.flags */
#define CLOUD_HTTP_CONFIGURED 0x1 /* the URL comes from the configuration */
#define CLOUD_HTTP_METADATA 0x2   /* an instance metadata service: no proxy */

typedef struct cloud_http_req {
    const char *method;          /* "GET", "POST", "PUT"                   */
    const char *url;
    const char *const *headers;  /* "Name: value" each, NULL-terminated; may be NULL */
    const char *body;            /* may be NULL                            */
    size_t body_len;
    long timeout_ms;             /* 0: CLOUD_HTTP_TIMEOUT_MS               */
    unsigned flags;
    const char *what;            /* names the endpoint in messages: "AWS STS" */
} cloud_http_req;

typedef struct cloud_http_resp {
    long status;                 /* the HTTP status                        */
    char *body;                  /* NUL-terminated; cloud_http_resp_free() */
    size_t len;                  /* the body's length                      */
    size_t cap;                  /* private: the buffer's size             */
} cloud_http_resp;

/* 1 when url's scheme and host may be used under the rules above (flags
 * as in the request), else 0 with the reason in e (DSRC_E_INVALID_CONFIG). */
int cloud_http_url_ok(const char *url, unsigned flags, const char *what, derr *e);

/* Send r and read the whole answer into *resp (any HTTP status: the
 * caller judges it).  DSRC_OK, or fills e: DSRC_E_INVALID_CONFIG for a URL
 * the rules refuse, DSRC_E_UNREACHABLE when the endpoint cannot be reached,
 * DSRC_E_TIMEOUT when it does not answer in time (both retryable),
 * DSRC_E_BACKEND for an answer larger than CLOUD_HTTP_BODY_MAX,
 * DSRC_E_INTERNAL. */
dsrc_status cloud_http(const cloud_http_req *r, cloud_http_resp *resp, derr *e);

/* Wipe and free resp's body; resp may be zeroed or NULL. */
void cloud_http_resp_free(cloud_http_resp *resp);

/* A short, secret-free description of a refused answer for messages:
 * "HTTP 401" plus, when the body is JSON with an "error" /
 * "error_description" / "Code" / "Message" member or XML with <Code> and
 * <Message>, those (at most 200 bytes, control characters dropped), into
 * buf.  Token endpoints put no secret in an error; the caller still runs
 * the text through redaction. */
const char *cloud_http_why(const cloud_http_resp *resp, char *buf, size_t size);

#endif
