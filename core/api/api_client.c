/* SPDX-License-Identifier: Apache-2.0 */
/* api_client.c -- calling the control API on its socket (libcurl); see
 * api.h */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <curl/curl.h>

#include "api/api.h"
#include "base/lazylib.h"

#define API_CLIENT_MAX_ANSWER (256u << 20)

typedef struct api_buf {
    char *p;
    size_t len;
    int too_big;
} api_buf;

static size_t api_client_write(char *data, size_t size, size_t n, void *user)
{
    api_buf *b = user;
    size_t add = size * n;
    char *nb;

    if (b->len + add > API_CLIENT_MAX_ANSWER) {
        b->too_big = 1;
        return 0;
    }
    if (!(nb = realloc(b->p, b->len + add + 1)))
        return 0;
    b->p = nb;
    memcpy(b->p + b->len, data, add);
    b->len += add;
    b->p[b->len] = '\0';
    return add;
}

static dsrc_status api_status_parse(const char *name)
{
    int i;

    for (i = DSRC_E_INVALID_CONFIG; name && i <= DSRC_E_INTERNAL; i++)
        if (strcmp(error_status_name((dsrc_status)i), name) == 0)
            return (dsrc_status)i;
    return DSRC_E_BACKEND;
}

/* A transport failure as the CLI has always said it. */
static dsrc_status api_client_transport(const lazy_curl_api *cu, CURL *h, CURLcode rc,
                                        const char *sock, int timeout_ms, const char *what, derr *e)
{
    long oserr = 0;

    dsrc_status st;

    cu->easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        st = derr_set(e, DSRC_E_TIMEOUT, "dsrcd did not answer on %s within %d ms", sock,
                      timeout_ms);
    else if (rc == CURLE_COULDNT_CONNECT && (oserr == EACCES || oserr == EPERM))
        return derr_set(e, DSRC_E_PERMISSION, "control socket %s: %s", sock,
                        strerror((int)oserr));
    else if (rc == CURLE_COULDNT_CONNECT &&
             (oserr == 0 || oserr == ENOENT || oserr == ECONNREFUSED || oserr == ENOTDIR))
        st = derr_set(e, DSRC_E_UNREACHABLE, "dsrcd is not running (no answer on %s)", sock);
    else if (rc == CURLE_COULDNT_CONNECT)
        st = derr_set(e, DSRC_E_UNREACHABLE, "dsrcd is not running (no answer on %s: %s)",
                      sock, strerror((int)oserr));
    else
        st = derr_set(e, DSRC_E_UNREACHABLE, "%s on %s: %s", what, sock,
                      cu->easy_strerror(rc));
    /* A daemon that is not running, starting or busy may answer later. */
    if (e)
        e->retryable = 1;
    return st;
}

dsrc_status api_client_call(const char *sock, const char *method, const char *path,
                            const json_t *body, int timeout_ms, json_t **result, derr *e)
{
    return api_client_call_problem(sock, method, path, body, timeout_ms, result, NULL, e);
}

dsrc_status api_client_call_problem(const char *sock, const char *method, const char *path,
                                    const json_t *body, int timeout_ms, json_t **result,
                                    json_t **problem, derr *e)
{
    const lazy_curl_api *cu;
    CURL *h;
    CURLcode rc;
    struct curl_slist *hdr = NULL;
    api_buf b = {0};
    char *url = NULL, *req = NULL;
    long http = 0;
    dsrc_status st = DSRC_OK;
    json_t *doc = NULL;

    *result = NULL;
    if (problem)
        *problem = NULL;
    if (!sock || !*sock || strlen(sock) >= sizeof((struct sockaddr_un *)0)->sun_path)
        return derr_set(e, DSRC_E_INVALID_CONFIG, "control socket path '%s' is empty or too "
                        "long", sock ? sock : "");
    if (!(cu = lazy_curl(e)))
        return e->status;
    if (!(h = cu->easy_init()) || asprintf(&url, "http://localhost%s", path) < 0) {
        if (h)
            cu->easy_cleanup(h);
        return derr_set(e, DSRC_E_INTERNAL, "out of memory");
    }
    cu->easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
    cu->easy_setopt(h, CURLOPT_URL, url);
    cu->easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    cu->easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 0));
    cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, api_client_write);
    cu->easy_setopt(h, CURLOPT_WRITEDATA, &b);
    hdr = cu->slist_append(hdr, "Accept: application/json, application/problem+json");
    if (body) {
        if (!(req = json_dumps(body, JSON_COMPACT))) {
            st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
            goto out;
        }
        hdr = cu->slist_append(hdr, "Content-Type: application/json");
        cu->easy_setopt(h, CURLOPT_POSTFIELDS, req);
    }
    cu->easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    if ((rc = cu->easy_perform(h)) != CURLE_OK) {
        st = b.too_big ? derr_set(e, DSRC_E_INTERNAL, "dsrcd's answer on %s is too large",
                                  sock)
                       : api_client_transport(cu, h, rc, sock, timeout_ms, "calling dsrcd", e);
        goto out;
    }
    cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
    if (b.len && !(doc = json_loadb(b.p, b.len, 0, NULL))) {
        st = derr_set(e, DSRC_E_INTERNAL, "malformed answer from dsrcd on %s (HTTP %ld)", sock,
                      http);
        goto out;
    }
    if (http >= 200 && http < 300) {
        *result = doc ? doc : json_null();
        doc = NULL;
    } else {
        const char *detail = json_string_value(json_object_get(doc, "detail"));
        const char *name = json_string_value(json_object_get(doc, "dsrc_status"));
        st = derr_set(e, name ? api_status_parse(name)
                      : http == 401 ? DSRC_E_AUTH : http == 403 ? DSRC_E_PERMISSION
                      : http == 404 ? DSRC_E_NOT_FOUND : DSRC_E_INTERNAL,
                      "%s", detail ? detail : "dsrcd refused the request");
        if (problem && json_is_object(doc)) {
            *problem = doc;
            doc = NULL;
        }
    }
out:
    json_decref(doc);
    cu->slist_free_all(hdr);
    cu->easy_cleanup(h);
    free(req);
    free(url);
    free(b.p);
    return st;
}
