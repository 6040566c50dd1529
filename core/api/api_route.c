/* SPDX-License-Identifier: Apache-2.0 */
/* api_route.c -- the control API's routes, their matching and its errors;
 * see api.h */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "base/redact.h"

static const api_route api_route_table[] = {
    {API_R_STATUS, "GET", "/v1/status", API_ROLE_VIEWER,
     "The daemon: version, pid, configuration file, sources served"},
    {API_R_HEALTH, "GET", "/v1/health", API_ROLE_VIEWER,
     "Health reports of every source, or of ?source=NAME"},
    {API_R_POOLS, "GET", "/v1/pools", API_ROLE_VIEWER,
     "Endpoints, pools and breakers of every source, or of ?source=NAME"},
    {API_R_SOURCES, "GET", "/v1/sources", API_ROLE_VIEWER,
     "The sources being served: name, type, endpoints, status"},
    {API_R_SOURCE, "GET", "/v1/sources/{name}", API_ROLE_VIEWER,
     "One source's configuration, every secret shown as ***"},
    {API_R_SOURCE_DRIFT, "GET", "/v1/sources/{name}/drift", API_ROLE_VIEWER,
     "A source's schema drift events (?since=MS, milliseconds since the epoch)"},
    {API_R_JOBS, "GET", "/v1/jobs", API_ROLE_VIEWER,
     "Scheduled jobs: next and last run, of every source or of ?source=NAME"},
    {API_R_RUNS, "GET", "/v1/runs", API_ROLE_VIEWER,
     "Recorded runs, newest first (?source=, ?state=, ?limit=)"},
    {API_R_RUN_CREATE, "POST", "/v1/runs", API_ROLE_OPERATOR,
     "Queue a run now: {\"source\", \"kind\": \"discover\"|\"fetch\", \"item\"}"},
    {API_R_RUN, "GET", "/v1/runs/{id}", API_ROLE_VIEWER, "One run"},
    {API_R_NODES, "GET", "/v1/nodes", API_ROLE_VIEWER,
     "The nodes sharing the state store: live or not, last heartbeat, leases"},
    {API_R_RUN_CANCEL, "DELETE", "/v1/runs/{id}", API_ROLE_OPERATOR,
     "Cancel a queued or running run"},
    {API_R_QUERIES, "GET", "/v1/queries", API_ROLE_VIEWER,
     "The history of read-only queries, newest first (?source=, ?limit=)"},
    {API_R_METRICS, "GET", "/metrics", API_ROLE_VIEWER,
     "Prometheus metrics, in the text exposition format"},
    {API_R_OPENAPI, "GET", "/openapi.json", API_ROLE_VIEWER,
     "This API's OpenAPI 3.1 document (docs/openapi.json)"},
    {API_R_ITEMS, "GET", "/v1/sources/{name}/items", API_ROLE_VIEWER,
     "The items under ?path=P of a source (its plugin's list, as 'dsrc ls')"},
    {API_R_ITEM, "GET", "/v1/sources/{name}/items/{item}", API_ROLE_VIEWER,
     "One item's metadata (as 'dsrc describe'); a '/' in the item is %2F"},
    {API_R_ITEM_DATA, "GET", "/v1/sources/{name}/items/{item}/data", API_ROLE_OPERATOR,
     "An item's data, streamed (?format=csv|jsonl&columns=&limit=&after=&cursor_field=)"},
    {API_R_SOURCE_QUERY, "POST", "/v1/sources/{name}/query", API_ROLE_OPERATOR,
     "Run one read-only query on a source, its rows streamed as csv or jsonl"},
    {API_R_SOURCE_TEST, "POST", "/v1/sources/{name}/test", API_ROLE_OPERATOR,
     "Ping a source on a connection of its pool: latency, endpoint, role"},
    {API_R_SOURCE_CATALOG, "GET", "/v1/sources/{name}/catalog", API_ROLE_VIEWER,
     "A source's stored catalog (?item=, ?snapshot=ID, ?at=MS), as dsrc catalog"},
    {API_R_SOURCE_STATS, "GET", "/v1/sources/{name}/stats", API_ROLE_VIEWER,
     "A source's stored catalog figures and last discover, as dsrc stats"},
    {API_R_SOURCE_CREATE, "POST", "/v1/sources", API_ROLE_ADMIN,
     "Add a source: checked, tested (unless ?test=false), secrets encrypted, stored, served"},
    {API_R_SOURCE_REPLACE, "PUT", "/v1/sources/{name}", API_ROLE_ADMIN,
     "Replace a source's settings (If-Match: its ETag), with the same steps as adding"},
    {API_R_SOURCE_PATCH, "PATCH", "/v1/sources/{name}", API_ROLE_ADMIN,
     "Change some of a source's settings (a JSON merge patch; If-Match: its ETag)"},
    {API_R_SOURCE_DELETE, "DELETE", "/v1/sources/{name}", API_ROLE_ADMIN,
     "Remove a source (?cancel=true cancels its runs, ?purge=true drops its state)"},
    {API_R_RELOAD, "POST", "/v1/reload", API_ROLE_ADMIN,
     "Reload the configuration (as SIGHUP) and answer with the result"},
};

const api_route *api_routes(size_t *n)
{
    *n = sizeof api_route_table / sizeof api_route_table[0];
    return api_route_table;
}

const char *api_role_name(api_role r)
{
    static const char *const names[] = {"none", "viewer", "operator", "admin"};
    return (unsigned)r < 4 ? names[r] : "none";
}

void api_decode_kept(char *out, const char *in, size_t len)
{
    size_t i, o = 0;

    for (i = 0; i < len; i++) {
        if (in[i] == '%' && i + 3 <= len &&
            (strncasecmp(in + i, "%2F", 3) == 0 || strncmp(in + i, "%25", 3) == 0)) {
            out[o++] = in[i + 2] == '5' ? '%' : '/';
            i += 2;
            continue;
        }
        out[o++] = in[i];
    }
    out[o] = '\0';
}

/* Match one pattern against a path: 1 (params filled) or 0. */
static int api_pattern_match(const char *pat, const char *path, api_params *p)
{
    p->n = 0;
    while (*pat && *path) {
        if (*pat == '{') {
            const char *close = strchr(pat, '}');
            size_t len = strcspn(path, "/");
            if (!close || len == 0 || len >= API_MAX_SEGMENT || p->n >= API_MAX_PARAMS)
                return 0;
            p->name[p->n] = pat + 1;
            p->name_len[p->n] = (size_t)(close - pat - 1);
            api_decode_kept(p->value[p->n], path, len);
            p->n++;
            pat = close + 1;
            path += len;
            continue;
        }
        if (*pat != *path)
            return 0;
        pat++;
        path++;
    }
    return *pat == '\0' && *path == '\0';
}

const api_route *api_route_match(const char *method, const char *path, api_params *p,
                                 int *http, char *allow, size_t allow_len)
{
    size_t i, n, used = 0;
    int path_known = 0;
    api_params tmp;

    if (allow_len)
        allow[0] = '\0';
    api_routes(&n);
    for (i = 0; i < n; i++) {
        const api_route *r = &api_route_table[i];
        if (!api_pattern_match(r->pattern, path, &tmp))
            continue;
        if (strcmp(r->method, method) == 0) {
            *p = tmp;
            return r;
        }
        path_known = 1;
        if (used < allow_len) {
            int w = snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "",
                             r->method);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    *http = path_known ? 405 : 404;
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

/* One table: host status -> HTTP status, retryable. */
static const struct {
    dsrc_status st;
    int http;
    int retryable;
} api_status_map[] = {
    {DSRC_E_INVALID_CONFIG, 400, 0},  {DSRC_E_AUTH, 401, 0},
    {DSRC_E_PERMISSION, 403, 0},      {DSRC_E_UNREACHABLE, 503, 1},
    {DSRC_E_TIMEOUT, 503, 1},         {DSRC_E_NOT_FOUND, 404, 0},
    {DSRC_E_UNSUPPORTED, 501, 0},     {DSRC_E_CANCELLED, 409, 0},
    {DSRC_E_INVALID_ARGUMENT, 400, 0}, {DSRC_E_BACKEND, 503, 1},
    {DSRC_E_INTERNAL, 500, 0},
};

int api_http_status(dsrc_status st)
{
    size_t i;

    for (i = 0; i < sizeof api_status_map / sizeof api_status_map[0]; i++)
        if (api_status_map[i].st == st)
            return api_status_map[i].http;
    return 500;
}

int api_status_retryable(dsrc_status st)
{
    size_t i;

    for (i = 0; i < sizeof api_status_map / sizeof api_status_map[0]; i++)
        if (api_status_map[i].st == st)
            return api_status_map[i].retryable;
    return 0;
}

static const char *api_http_title(int http)
{
    switch (http) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

json_t *api_problem(int http, dsrc_status st, const char *detail)
{
    char type[64];
    char *red = redact_dup(detail ? detail : "");
    json_t *o;

    snprintf(type, sizeof type, "urn:dsrc:problem:%s", error_status_name(st));
    o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:b}", "type", type, "title",
                  api_http_title(http), "status", http, "detail",
                  red ? red : "(out of memory)", "dsrc_status", error_status_name(st),
                  "retryable", api_status_retryable(st) || http == 429 || http == 503);
    free(red);
    return o;
}
