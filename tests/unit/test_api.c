/* SPDX-License-Identifier: Apache-2.0 */
/* test_api.c -- dsrcd's control API: request parsing, response lines, and
 * the socket server with its client. */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl/api.h"

static dsrc_status parse(const char *line, api_request *r, derr *e)
{
    return api_parse_request(line, strlen(line), r, e);
}

START_TEST(test_parse_valid)
{
    api_request r;
    derr e = {0};

    ck_assert_int_eq(parse("{\"cmd\":\"ping\"}", &r, &e), DSRC_OK);
    ck_assert_int_eq(r.cmd, API_PING);
    ck_assert_ptr_null(r.source);
    api_request_free(&r);

    ck_assert_int_eq(parse(" {\"cmd\":\"health\", \"source\":\"db-1\"} ", &r, &e), DSRC_OK);
    ck_assert_int_eq(r.cmd, API_HEALTH);
    ck_assert_str_eq(r.source, "db-1");
    api_request_free(&r);

    ck_assert_int_eq(parse("{\"source\":null,\"cmd\":\"pools\"}", &r, &e), DSRC_OK);
    ck_assert_int_eq(r.cmd, API_POOLS);
    ck_assert_ptr_null(r.source);
    api_request_free(&r);

    ck_assert_int_eq(parse("{\"cmd\":\"sources\",\"extra\":[1]}", &r, &e), DSRC_OK);
    ck_assert_int_eq(r.cmd, API_SOURCES);
    api_request_free(&r);
    ck_assert_str_eq(api_cmd_name(API_HEALTH), "health");

    ck_assert_int_eq(parse("{\"cmd\":\"run\",\"source\":\"pg\",\"item\":\"public/t\"}",
                           &r, &e), DSRC_OK);
    ck_assert_int_eq(r.cmd, API_RUN);
    ck_assert_str_eq(r.item, "public/t");
    ck_assert_int_eq(r.discover, 0);
    api_request_free(&r);
    ck_assert_int_eq(parse("{\"cmd\":\"run\",\"source\":\"pg\",\"kind\":\"discover\"}",
                           &r, &e), DSRC_OK);
    ck_assert_int_eq(r.discover, 1);
    ck_assert_ptr_null(r.item);
    api_request_free(&r);
    ck_assert_int_eq(parse("{\"cmd\":\"cancel\",\"id\":42}", &r, &e), DSRC_OK);
    ck_assert_int_eq(r.cmd, API_CANCEL);
    ck_assert_int_eq(r.id, 42);
    api_request_free(&r);
    ck_assert_int_eq(parse("{\"cmd\":\"jobs\",\"source\":\"pg\"}", &r, &e), DSRC_OK);
    ck_assert_int_eq(r.cmd, API_JOBS);
    api_request_free(&r);
}
END_TEST

/* Each malformed request is refused with a reason naming the problem. */
static const struct {
    const char *line, *why;
} bad_requests[] = {
    {"", "malformed request"},
    {"not json", "malformed request"},
    {"{\"cmd\":\"ping\"", "malformed request"},
    {"[\"ping\"]", "not a JSON object"},
    {"\"ping\"", "not a JSON object"},
    {"{}", "\"cmd\" must be a string"},
    {"{\"cmd\":1}", "\"cmd\" must be a string"},
    {"{\"cmd\":\"PING\"}", "unknown command 'PING'"},
    {"{\"cmd\":\"pools\",\"source\":3}", "\"source\" must be a non-empty string"},
    {"{\"cmd\":\"pools\",\"source\":\"\"}", "\"source\" must be a non-empty string"},
    {"{\"cmd\":\"ping\",\"cmd\":\"pools\"}", "malformed request"},
    {"{\"cmd\":\"run\"}", "\"run\" needs a \"source\""},
    {"{\"cmd\":\"run\",\"source\":\"pg\"}", "either \"kind\": \"discover\" or an \"item\""},
    {"{\"cmd\":\"run\",\"source\":\"pg\",\"kind\":\"discover\",\"item\":\"t\"}",
     "either \"kind\": \"discover\" or an \"item\""},
    {"{\"cmd\":\"run\",\"source\":\"pg\",\"kind\":\"reboot\"}", "\"kind\" must be"},
    {"{\"cmd\":\"run\",\"source\":\"pg\",\"item\":\"\"}", "\"item\" must be a non-empty"},
    {"{\"cmd\":\"run\",\"source\":\"pg\",\"item\":7}", "\"item\" must be a non-empty"},
    {"{\"cmd\":\"cancel\"}", "\"cancel\" needs the run's \"id\""},
    {"{\"cmd\":\"cancel\",\"id\":0}", "\"id\" must be a positive integer"},
    {"{\"cmd\":\"cancel\",\"id\":\"3\"}", "\"id\" must be a positive integer"},
};

START_TEST(test_parse_invalid)
{
    api_request r;
    derr e = {0};

    ck_assert_int_eq(parse(bad_requests[_i].line, &r, &e), DSRC_E_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(e.msg);
    ck_assert_msg(strstr(e.msg, bad_requests[_i].why), "'%s': got '%s'", bad_requests[_i].line,
                  e.msg);
    ck_assert_ptr_null(r.source);
    derr_clear(&e);
}
END_TEST

START_TEST(test_parse_not_terminated)
{
    /* The length counts, not a NUL: trailing bytes are not read. */
    const char buf[] = "{\"cmd\":\"ping\"}GARBAGE";
    api_request r;
    derr e = {0};

    ck_assert_int_eq(api_parse_request(buf, 14, &r, &e), DSRC_OK);
    ck_assert_int_eq(r.cmd, API_PING);
    ck_assert_int_eq(api_parse_request(buf, sizeof buf - 1, &r, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
}
END_TEST

START_TEST(test_response_lines)
{
    derr e = {0};
    char *s = api_response_line(json_pack("{s:i}", "n", 3), NULL);

    ck_assert_str_eq(s, "{\"ok\":true,\"result\":{\"n\":3}}\n");
    free(s);
    s = api_response_line(NULL, NULL);
    ck_assert_str_eq(s, "{\"ok\":true,\"result\":null}\n");
    free(s);
    derr_set(&e, DSRC_E_NOT_FOUND, "no source named 'x'");
    s = api_response_line(json_integer(1), &e);
    ck_assert_str_eq(s, "{\"ok\":false,\"status\":\"not-found\",\"error\":\"no source named "
                        "'x'\"}\n");
    free(s);
    derr_clear(&e);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Server and client                                                         */

static char dir[64];
static char sock[96];
static int handled;

static json_t *handler(void *user, const api_request *req, derr *e)
{
    (void)user;
    handled++;
    if (req->source && strcmp(req->source, "missing") == 0) {
        derr_set(e, DSRC_E_NOT_FOUND, "no source named '%s'", req->source);
        return NULL;
    }
    {
        json_t *o = json_pack("{s:s}", "cmd", api_cmd_name(req->cmd));
        if (o && req->source)
            json_object_set_new(o, "source", json_string(req->source));
        return o;
    }
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/dsrc-api.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    /* A parent directory that does not exist yet: the server makes it. */
    snprintf(sock, sizeof sock, "%.60s/run/d.sock", dir);
    handled = 0;
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

static json_t *req_of(const char *cmd, const char *source)
{
    json_t *r = json_pack("{s:s}", "cmd", cmd);
    if (source)
        json_object_set_new(r, "source", json_string(source));
    return r;
}

START_TEST(test_round_trip)
{
    derr e = {0};
    api_server *s = api_server_start(sock, handler, NULL, &e);
    json_t *req, *res = NULL;
    struct stat st;

    ck_assert_msg(s != NULL, "%s", e.msg ? e.msg : "");
    ck_assert_int_eq(stat(sock, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_int_eq(st.st_mode & 0777, 0660);

    req = req_of("pools", "db");
    ck_assert_int_eq(api_call(sock, req, 5000, &res, &e), DSRC_OK);
    ck_assert_str_eq(json_string_value(json_object_get(res, "cmd")), "pools");
    ck_assert_str_eq(json_string_value(json_object_get(res, "source")), "db");
    json_decref(res);
    json_decref(req);

    /* The daemon's error comes back with its status. */
    req = req_of("health", "missing");
    ck_assert_int_eq(api_call(sock, req, 5000, &res, &e), DSRC_E_NOT_FOUND);
    ck_assert_ptr_null(res);
    ck_assert_str_eq(e.msg, "no source named 'missing'");
    derr_clear(&e);
    json_decref(req);

    /* A bad request never reaches the handler. */
    req = req_of("reboot", NULL);
    ck_assert_int_eq(api_call(sock, req, 5000, &res, &e), DSRC_E_INVALID_ARGUMENT);
    ck_assert(strstr(e.msg, "unknown command 'reboot'") != NULL);
    derr_clear(&e);
    json_decref(req);
    ck_assert_int_eq(handled, 2);

    api_server_stop(s);
    ck_assert_int_eq(access(sock, F_OK), -1);
}
END_TEST

/* Raw socket: several lines on one connection, garbage, an overlong line. */
START_TEST(test_raw_lines)
{
    derr e = {0};
    api_server *s = api_server_start(sock, handler, NULL, &e);
    struct sockaddr_un sa;
    int fd;
    FILE *fp;
    char line[512];
    static char big[API_MAX_LINE + 16];

    ck_assert_ptr_nonnull(s);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    fp = fdopen(fd, "r+");
    ck_assert_ptr_nonnull(fp);

    fputs("{\"cmd\":\"ping\"}\n\n{oops\n{\"cmd\":\"sources\"}\n", fp);
    fflush(fp);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    ck_assert_str_eq(line, "{\"ok\":true,\"result\":{\"cmd\":\"ping\"}}\n");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    ck_assert(strncmp(line, "{\"ok\":false,\"status\":\"invalid-argument\",\"error\":"
                            "\"malformed request:", 67) == 0);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    ck_assert_str_eq(line, "{\"ok\":true,\"result\":{\"cmd\":\"sources\"}}\n");

    memset(big, 'x', sizeof big - 2);
    big[sizeof big - 2] = '\n';
    fwrite(big, 1, sizeof big - 1, fp);
    fflush(fp);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    ck_assert(strstr(line, "request longer than") != NULL);
    /* ...the rest of that line is skipped; the connection still serves. */
    fputs("{\"cmd\":\"health\"}\n", fp);
    fflush(fp);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    ck_assert_str_eq(line, "{\"ok\":true,\"result\":{\"cmd\":\"health\"}}\n");
    fclose(fp);

    /* The server still answers. */
    {
        json_t *req = req_of("ping", NULL), *res = NULL;
        ck_assert_int_eq(api_call(sock, req, 5000, &res, &e), DSRC_OK);
        json_decref(res);
        json_decref(req);
    }
    api_server_stop(s);
}
END_TEST

START_TEST(test_no_daemon)
{
    derr e = {0};
    json_t *req = req_of("ping", NULL), *res = NULL;
    api_server *s;
    char file[160];
    FILE *fp;

    ck_assert_int_eq(api_call(sock, req, 1000, &res, &e), DSRC_E_UNREACHABLE);
    ck_assert_ptr_null(res);
    ck_assert(strstr(e.msg, "dsrcd is not running (no answer on ") != NULL);
    derr_clear(&e);

    /* A stale socket (nobody listening) is refused by the client and
     * replaced by the server. */
    s = api_server_start(sock, handler, NULL, &e);
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
    ck_assert_int_eq(api_call(sock, req, 1000, &res, &e), DSRC_E_UNREACHABLE);
    derr_clear(&e);
    s = api_server_start(sock, handler, NULL, &e);
    ck_assert_msg(s != NULL, "%s", e.msg ? e.msg : "");
    ck_assert_int_eq(api_call(sock, req, 5000, &res, &e), DSRC_OK);
    json_decref(res);
    api_server_stop(s);

    /* Another kind of file is never replaced. */
    snprintf(file, sizeof file, "%s/file", dir);
    fp = fopen(file, "w");
    ck_assert_ptr_nonnull(fp);
    fclose(fp);
    ck_assert_ptr_null(api_server_start(file, handler, NULL, &e));
    ck_assert_int_eq(e.status, DSRC_E_INVALID_CONFIG);
    ck_assert(strstr(e.msg, "not a socket") != NULL);
    ck_assert_int_eq(access(file, F_OK), 0);
    derr_clear(&e);
    json_decref(req);
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *t = tcase_create("parse");

    tcase_add_test(t, test_parse_valid);
    tcase_add_loop_test(t, test_parse_invalid, 0,
                        (int)(sizeof bad_requests / sizeof bad_requests[0]));
    tcase_add_test(t, test_parse_not_terminated);
    tcase_add_test(t, test_response_lines);
    suite_add_tcase(s, t);

    t = tcase_create("socket");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, test_round_trip);
    tcase_add_test(t, test_raw_lines);
    tcase_add_test(t, test_no_daemon);
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
