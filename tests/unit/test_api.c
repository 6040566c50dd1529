/* SPDX-License-Identifier: Apache-2.0 */
/* test_api.c -- dsrcd's control API: route matching, the status table,
 * problem documents, roles, the server on a socket with its client, and on
 * TCP with the token hook and the audit hook. */
#include <config.h>

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "api/api.h"

/* ------------------------------------------------------------------------ */
/* Routes and errors                                                         */

START_TEST(test_match)
{
    api_params p;
    char allow[64];
    int http = 0;
    const api_route *r;

    r = api_route_match("GET", "/v1/sources/demo", &p, &http, allow, sizeof allow);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->id, API_R_SOURCE);
    ck_assert_uint_eq(p.n, 1);
    ck_assert_str_eq(p.value[0], "demo");
    ck_assert_int_eq(strncmp(p.name[0], "name", p.name_len[0]), 0);

    r = api_route_match("DELETE", "/v1/runs/42", &p, &http, allow, sizeof allow);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->id, API_R_RUN_CANCEL);
    ck_assert_str_eq(p.value[0], "42");

    ck_assert_ptr_null(api_route_match("GET", "/v1/nothing", &p, &http, allow, sizeof allow));
    ck_assert_int_eq(http, 404);
    ck_assert_ptr_null(api_route_match("GET", "/v1/sources/", &p, &http, allow, sizeof allow));
    ck_assert_int_eq(http, 404);
    ck_assert_ptr_null(api_route_match("GET", "/v1/sources/a/b", &p, &http, allow,
                                       sizeof allow));
    ck_assert_int_eq(http, 404);
    ck_assert_ptr_null(api_route_match("PUT", "/v1/runs/7", &p, &http, allow, sizeof allow));
    ck_assert_int_eq(http, 405);
    ck_assert_str_eq(allow, "GET, DELETE");
    ck_assert_ptr_null(api_route_match("DELETE", "/v1/health", &p, &http, allow,
                                       sizeof allow));
    ck_assert_str_eq(allow, "GET");

    /* an item's '/' is %2F inside its segment (the server leaves %2F and
       %25 escaped for the matcher); %25 is '%' */
    r = api_route_match("GET", "/v1/sources/demo/items/main%2Ft%2fx/data", &p, &http, allow,
                        sizeof allow);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->id, API_R_ITEM_DATA);
    ck_assert_uint_eq(p.n, 2);
    ck_assert_str_eq(p.value[1], "main/t/x");
    r = api_route_match("GET", "/v1/sources/demo/items/a%252Fb", &p, &http, allow, sizeof allow);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->id, API_R_ITEM);
    ck_assert_str_eq(p.value[1], "a%2Fb");
    ck_assert_str_eq(p.value[0], "demo");
    ck_assert_ptr_null(api_route_match("POST", "/v1/sources/demo/items/t/data", &p, &http,
                                       allow, sizeof allow));
    ck_assert_int_eq(http, 405);
}
END_TEST

/* Every route: a unique id below API_R_COUNT, a method, a /-pattern, a
 * role, a summary; no two rows with the same method and pattern. */
START_TEST(test_table)
{
    size_t n, i, k;
    const api_route *t = api_routes(&n);
    int seen[API_R_COUNT] = {0};

    ck_assert_uint_eq(n, API_R_COUNT);
    for (i = 0; i < n; i++) {
        ck_assert_int_lt(t[i].id, API_R_COUNT);
        ck_assert_int_eq(seen[t[i].id]++, 0);
        ck_assert(t[i].pattern[0] == '/');
        ck_assert(t[i].role >= API_ROLE_VIEWER && t[i].role <= API_ROLE_ADMIN);
        ck_assert(t[i].summary && *t[i].summary);
        for (k = 0; k < i; k++)
            ck_assert(strcmp(t[i].method, t[k].method) != 0 ||
                      strcmp(t[i].pattern, t[k].pattern) != 0);
        /* Changes need operator at least. */
        if (strcmp(t[i].method, "GET") != 0)
            ck_assert_int_ge(t[i].role, API_ROLE_OPERATOR);
    }
}
END_TEST

START_TEST(test_status_map)
{
    json_t *p;

    ck_assert_int_eq(api_http_status(DSRC_E_NOT_FOUND), 404);
    ck_assert_int_eq(api_http_status(DSRC_E_AUTH), 401);
    ck_assert_int_eq(api_http_status(DSRC_E_PERMISSION), 403);
    ck_assert_int_eq(api_http_status(DSRC_E_INVALID_ARGUMENT), 400);
    ck_assert_int_eq(api_http_status(DSRC_E_CANCELLED), 409);
    ck_assert_int_eq(api_http_status(DSRC_E_UNREACHABLE), 503);
    ck_assert_int_eq(api_http_status(DSRC_E_INTERNAL), 500);
    ck_assert(api_status_retryable(DSRC_E_TIMEOUT));
    ck_assert(!api_status_retryable(DSRC_E_NOT_FOUND));
    p = api_problem(404, DSRC_E_NOT_FOUND, "no source named 'x'");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "status")), 404);
    ck_assert_str_eq(json_string_value(json_object_get(p, "title")), "Not Found");
    ck_assert_str_eq(json_string_value(json_object_get(p, "dsrc_status")), "not-found");
    ck_assert_str_eq(json_string_value(json_object_get(p, "detail")), "no source named 'x'");
    ck_assert_str_eq(json_string_value(json_object_get(p, "type")), "urn:dsrc:problem:not-found");
    ck_assert(json_is_false(json_object_get(p, "retryable")));
    json_decref(p);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Roles                                                                     */

static cfg_api roles_cfg(void)
{
    cfg_api a;
    memset(&a, 0, sizeof a);
    a.max_connections = 16;
    a.idle_timeout_ms = 5000;
    a.max_header = 8192;
    a.max_body = 256;
    return a;
}

START_TEST(test_roles)
{
    cfg_api a = roles_cfg();
    static char *nobody_user[] = {"nobody"};
    struct group *g = getgrnam("nogroup");

    /* root and this process's uid are always admin; others nothing. */
    ck_assert_int_eq(api_role_for_peer(&a, 0, 0), API_ROLE_ADMIN);
    ck_assert_int_eq(api_role_for_peer(&a, geteuid(), getegid()), API_ROLE_ADMIN);
    if (geteuid() != 65534) {
        ck_assert_int_eq(api_role_for_peer(&a, 65534, 65534), API_ROLE_NONE);
        a.users[0] = nobody_user;
        a.n_users[0] = 1;
        ck_assert_int_eq(api_role_for_peer(&a, 65534, 65534), API_ROLE_VIEWER);
        a.users[2] = nobody_user;
        a.n_users[2] = 1;
        ck_assert_int_eq(api_role_for_peer(&a, 65534, 65534), API_ROLE_ADMIN);
        if (g) {
            static char *nogroup[] = {"nogroup"};
            a = roles_cfg();
            a.groups[1] = nogroup;
            a.n_groups[1] = 1;
            ck_assert_int_eq(api_role_for_peer(&a, 65534, g->gr_gid), API_ROLE_OPERATOR);
        }
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Server and client                                                         */

static char dir[64];
static char sock[96];
static int handled;

static json_t *h_sources(void *user, api_request *r, derr *e)
{
    const char *src = api_query(r, "source");
    (void)user;
    handled++;
    if (src && strcmp(src, "missing") == 0) {
        derr_set(e, DSRC_E_NOT_FOUND, "no source named '%s'", src);
        return NULL;
    }
    return json_pack("[{s:s}]", "name", src ? src : "all");
}

static json_t *h_run_create(void *user, api_request *r, derr *e)
{
    (void)user;
    (void)e;
    handled++;
    r->http = 202;
    snprintf(r->location, sizeof r->location, "/v1/runs/7");
    return json_pack("{s:i, s:O}", "id", 7, "echo", r->body ? r->body : json_null());
}

static int audits;
static void audit(void *user, const api_audit_event *ev)
{
    (void)user;
    audits++;
    ck_assert_str_eq(ev->from, "socket");
}

static api_server *start(const cfg_api *a, derr *e)
{
    api_config c;

    memset(&c, 0, sizeof c);
    c.socket_path = sock;
    c.api = a;
    c.handlers[API_R_SOURCES] = h_sources;
    c.handlers[API_R_RUN_CREATE] = h_run_create;
    c.audit = audit;
    return api_server_start(&c, e);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/dsrc-api.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    /* A parent directory that does not exist yet: the server makes it. */
    snprintf(sock, sizeof sock, "%.60s/run/d.sock", dir);
    handled = 0;
    audits = 0;
}

static void teardown(void)
{
    char p[160];
    snprintf(p, sizeof p, "%s/run/d.sock", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/run", dir);
    rmdir(p);
    snprintf(p, sizeof p, "%s/file", dir);
    unlink(p);
    rmdir(dir);
}

START_TEST(test_round_trip)
{
    cfg_api a = roles_cfg();
    derr e = {0};
    api_server *s = start(&a, &e);
    json_t *res = NULL, *body;
    struct stat st;

    ck_assert_msg(s != NULL, "%s", e.msg ? e.msg : "");
    ck_assert_int_eq(stat(sock, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_int_eq(st.st_mode & 0777, 0660);

    ck_assert_int_eq(api_client_call(sock, "GET", "/v1/sources?source=db", NULL, 5000, &res,
                                     &e), DSRC_OK);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(res, 0), "name")), "db");
    json_decref(res);

    /* The handler's error comes back with its status. */
    ck_assert_int_eq(api_client_call(sock, "GET", "/v1/sources?source=missing", NULL, 5000,
                                     &res, &e), DSRC_E_NOT_FOUND);
    ck_assert_ptr_null(res);
    ck_assert_str_eq(e.msg, "no source named 'missing'");
    derr_clear(&e);

    /* A body is handed over parsed. */
    body = json_pack("{s:s}", "source", "db");
    ck_assert_int_eq(api_client_call(sock, "POST", "/v1/runs", body, 5000, &res, &e), DSRC_OK);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(res, "echo"),
                                                       "source")), "db");
    json_decref(res);
    json_decref(body);
    ck_assert_int_eq(audits, 1);

    /* Routing and limits never reach a handler. */
    ck_assert_int_eq(api_client_call(sock, "GET", "/v1/nope", NULL, 5000, &res, &e),
                     DSRC_E_NOT_FOUND);
    ck_assert(strstr(e.msg, "no route /v1/nope") != NULL);
    derr_clear(&e);
    ck_assert_int_eq(api_client_call(sock, "PUT", "/v1/sources", NULL, 5000, &res, &e),
                     DSRC_E_INVALID_ARGUMENT);
    ck_assert(strstr(e.msg, "not allowed") != NULL);
    derr_clear(&e);
    {
        char pad[400];
        memset(pad, 'x', sizeof pad - 1);
        pad[sizeof pad - 1] = '\0';
        body = json_pack("{s:s}", "pad", pad);    /* over max_body (256) */
    }
    ck_assert_int_eq(api_client_call(sock, "POST", "/v1/runs", body, 5000, &res, &e),
                     DSRC_E_INVALID_ARGUMENT);
    ck_assert(strstr(e.msg, "max_body") != NULL);
    derr_clear(&e);
    json_decref(body);
    /* A route the server has no handler for. */
    ck_assert_int_eq(api_client_call(sock, "GET", "/v1/status", NULL, 5000, &res, &e),
                     DSRC_E_UNSUPPORTED);
    derr_clear(&e);
    ck_assert_int_eq(handled, 3);

    api_server_stop(s);
    ck_assert_int_eq(access(sock, F_OK), -1);
}
END_TEST

START_TEST(test_no_daemon)
{
    cfg_api a = roles_cfg();
    derr e = {0};
    json_t *res = NULL;
    api_server *s;
    char file[160];
    FILE *fp;
    api_config c;

    ck_assert_int_eq(api_client_call(sock, "GET", "/v1/status", NULL, 1000, &res, &e),
                     DSRC_E_UNREACHABLE);
    ck_assert_ptr_null(res);
    ck_assert(strstr(e.msg, "dsrcd is not running (no answer on ") != NULL);
    derr_clear(&e);

    /* A stale socket (nobody listening) is refused by the client and
     * replaced by the server. */
    s = start(&a, &e);
    ck_assert_ptr_nonnull(s);
    {
        /* Simulate a crash: the file stays while nobody listens. */
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa;
        api_server_stop(s);
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        close(fd);
    }
    ck_assert_int_eq(api_client_call(sock, "GET", "/v1/sources", NULL, 1000, &res, &e),
                     DSRC_E_UNREACHABLE);
    derr_clear(&e);
    s = start(&a, &e);
    ck_assert_msg(s != NULL, "%s", e.msg ? e.msg : "");
    ck_assert_int_eq(api_client_call(sock, "GET", "/v1/sources", NULL, 5000, &res, &e),
                     DSRC_OK);
    json_decref(res);
    /* A live one is never taken over. */
    ck_assert_ptr_null(start(&a, &e));
    ck_assert(strstr(e.msg, "listens on it") != NULL);
    derr_clear(&e);
    api_server_stop(s);

    /* Another kind of file is never replaced. */
    snprintf(file, sizeof file, "%s/file", dir);
    fp = fopen(file, "w");
    ck_assert_ptr_nonnull(fp);
    fclose(fp);
    memset(&c, 0, sizeof c);
    c.socket_path = file;
    c.api = &a;
    ck_assert_ptr_null(api_server_start(&c, &e));
    ck_assert_int_eq(e.status, DSRC_E_INVALID_CONFIG);
    ck_assert(strstr(e.msg, "not a socket") != NULL);
    ck_assert_int_eq(access(file, F_OK), 0);
    derr_clear(&e);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* TCP: bearer tokens through the hook, the audit trail                      */

static int tcp_audits, tcp_denied;
static char tcp_who[128], tcp_from[80];

static void tcp_audit(void *user, const api_audit_event *ev)
{
    (void)user;
    tcp_audits++;
    if (ev->status == 401 || ev->status == 403)
        tcp_denied++;
    snprintf(tcp_who, sizeof tcp_who, "%s", ev->who);
    snprintf(tcp_from, sizeof tcp_from, "%s", ev->from);
}

/* "good": an operator named "ci"; "old": expired; "storefail": the store
 * cannot answer; anything else unknown. */
static int tcp_tokens(void *user, const char *token, api_caller *out, derr *e)
{
    (void)user;
    if (strcmp(token, "good") == 0) {
        out->role = API_ROLE_OPERATOR;
        snprintf(out->who, sizeof out->who, "token ci");
        return 0;
    }
    if (strcmp(token, "storefail") == 0)
        derr_set(e, DSRC_E_INTERNAL, "cannot read the API tokens");
    else if (strcmp(token, "old") == 0)
        derr_set(e, DSRC_E_AUTH, "token expired");
    else
        derr_set(e, DSRC_E_AUTH, "unknown token");
    return -1;
}

static size_t tcp_sink(char *d, size_t s, size_t n, void *u)
{
    (void)d;
    (void)u;
    return s * n;
}

/* One request on 127.0.0.1:port: the HTTP status. */
static long tcp_call(int port, const char *method, const char *path, const char *token)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char url[128], auth[128];
    long code = 0;

    ck_assert_ptr_nonnull(h);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, tcp_sink);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "{\"source\":\"db\"}");
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hdr = curl_slist_append(hdr, auth);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    }
    ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return code;
}

/* A free port on 127.0.0.1. */
static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

START_TEST(test_tcp_tokens)
{
    cfg_api a = roles_cfg();
    api_config c;
    api_server *s;
    derr e = {0};
    int port = free_port();

    a.listen_host = "127.0.0.1";
    a.listen_port = port;
    memset(&c, 0, sizeof c);
    c.api = &a;
    c.handlers[API_R_SOURCES] = h_sources;
    c.handlers[API_R_RUN_CREATE] = h_run_create;
    c.audit = tcp_audit;
    tcp_audits = tcp_denied = 0;

    /* Without a token hook, every TCP request is 401. */
    s = api_server_start(&c, &e);
    ck_assert_msg(s != NULL, "%s", e.msg ? e.msg : "");
    ck_assert_int_eq(tcp_call(port, "GET", "/v1/sources", "good"), 401);
    api_server_stop(s);

    c.token_check = tcp_tokens;
    s = api_server_start(&c, &e);
    ck_assert_msg(s != NULL, "%s", e.msg ? e.msg : "");
    ck_assert_int_eq(tcp_call(port, "GET", "/v1/sources", NULL), 401);
    ck_assert_int_eq(tcp_call(port, "GET", "/v1/sources", "old"), 401);
    ck_assert_int_eq(tcp_call(port, "GET", "/v1/sources", "nope"), 401);
    /* a store that cannot check tokens is the server's failure: retry */
    ck_assert_int_eq(tcp_call(port, "GET", "/v1/sources", "storefail"), 503);
    ck_assert_int_eq(tcp_call(port, "GET", "/v1/nothing", NULL), 401);
    ck_assert_int_eq(tcp_call(port, "GET", "/v1/sources", "good"), 200);
    ck_assert_int_eq(tcp_call(port, "POST", "/v1/runs", "good"), 202);
    ck_assert_str_eq(tcp_who, "token ci");
    ck_assert(strncmp(tcp_from, "127.0.0.1:", 10) == 0);
    /* An operator may not reload. */
    ck_assert_int_eq(tcp_call(port, "POST", "/v1/reload", "good"), 403);
    api_server_stop(s);
    /* Denials (6) and the change (1) audited, reads not. */
    ck_assert_int_eq(tcp_denied, 6);
    ck_assert_int_eq(tcp_audits, 7);
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *t = tcase_create("routes");

    tcase_add_test(t, test_match);
    tcase_add_test(t, test_table);
    tcase_add_test(t, test_status_map);
    tcase_add_test(t, test_roles);
    suite_add_tcase(s, t);

    t = tcase_create("socket");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, test_round_trip);
    tcase_add_test(t, test_no_daemon);
    tcase_add_test(t, test_tcp_tokens);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(api_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
