/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_mongo.c -- mongo.so through the shared conformance suite and the
 * MongoDB-specific cases, against a scripted wire-protocol peer
 * (plugins/mongo/tests/fixture/mongo-peer, on Debian's python3-mockupdb).  The
 * peer logs every command it receives; the cases assert both what the
 * plugin sent (filter, sort, projection, batch size, read preference) and
 * what it produced.
 *
 * Skipped (exit 77, with the reason) when /usr/bin/python3 or mockupdb is
 * missing.
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bson/bson.h>

#include "conformance.h"
#include "mongo_orders.h"
#include "plugin/source.h"

#define PEER_PYTHON "/usr/bin/python3"

static pid_t mg_peer_pid = -1;
static int mg_port;
static char mg_log[PATH_MAX];


/* ------------------------------------------------------------------------ */
/* The peer                                                                  */

static int mg_start_peer(const char *tmp)
{
    const char *src = getenv("top_srcdir");
    char script[PATH_MAX], portfile[PATH_MAX];
    struct timespec ts = {0, 50 * 1000 * 1000};
    int i, status;

    if (access(PEER_PYTHON, X_OK) != 0) {
        printf("SKIP: %s not found: the MongoDB protocol tests need it\n", PEER_PYTHON);
        return 77;
    }
    if (system(PEER_PYTHON " -c 'import mockupdb' 2>/dev/null") != 0) {
        printf("SKIP: python3-mockupdb is not installed (apt-get install python3-mockupdb)\n");
        return 77;
    }
    snprintf(script, sizeof script, "%s/plugins/mongo/tests/fixture/mongo-peer",
             src && *src ? src : ".");
    snprintf(portfile, sizeof portfile, "%s/peer.port", tmp);
    snprintf(mg_log, sizeof mg_log, "%s/peer.log", tmp);
    mg_peer_pid = fork();
    if (mg_peer_pid < 0)
        return -1;
    if (mg_peer_pid == 0) {
        execl(PEER_PYTHON, PEER_PYTHON, script, "--log", mg_log, "--port-file", portfile,
              (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 400; i++) {
        FILE *fp = fopen(portfile, "r");
        if (fp) {
            int ok = fscanf(fp, "%d", &mg_port) == 1;
            fclose(fp);
            if (ok)
                return 0;
        }
        if (waitpid(mg_peer_pid, &status, WNOHANG) == mg_peer_pid) {
            fprintf(stderr, "test_mongo: the peer exited before listening\n");
            mg_peer_pid = -1;
            return -1;
        }
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "test_mongo: the peer did not start within 20 s\n");
    return -1;
}

static void mg_teardown(conf_fixture *fx)
{
    (void)fx;
    if (mg_peer_pid > 0) {
        kill(mg_peer_pid, SIGTERM);
        waitpid(mg_peer_pid, NULL, 0);
        mg_peer_pid = -1;
    }
}

/* A port nothing listens on: tcpmux, never served on a test machine's
 * loopback. */
static int mg_free_port(void)
{
    return 1;
}

static int mg_setup(conf_fixture *fx, const char *tmp)
{
    char conn[1024];
    int rc = mg_start_peer(tmp);
    if (rc != 0)
        return rc;
#define MG_BASE "host = \"127.0.0.1\"; port = %d; server_selection_timeout = \"3s\";"
    snprintf(fx->connection, sizeof fx->connection, MG_BASE, mg_port);
    snprintf(fx->bad_connection, sizeof fx->bad_connection,
             "host = \"127.0.0.1\"; port = %d; server_selection_timeout = \"300ms\";"
             " connect_timeout = \"300ms\";",
             mg_free_port());
    fx->bad_status = DSRC_E_UNREACHABLE;

    snprintf(conn, sizeof conn, MG_BASE " batch_size = 2;", mg_port);
    if (conf_write_source("batched", conn) != 0)
        return -1;
    snprintf(conn, sizeof conn, MG_BASE " output = \"document\"; json = \"canonical\";", mg_port);
    if (conf_write_source("docs", conn) != 0)
        return -1;
    snprintf(conn, sizeof conn, MG_BASE " user = \"b@d:us/er%%\"; password = \"p@ss:w/rd%%40\";",
             mg_port);
    if (conf_write_source("badauth", conn) != 0)
        return -1;
    snprintf(conn, sizeof conn, MG_BASE " socket_timeout = \"2s\";", mg_port);
    if (conf_write_source("impatient", conn) != 0)
        return -1;
    /* A replica set: the connection group is closed early to add the
     * source's replicas group. */
    snprintf(conn, sizeof conn,
             MG_BASE " app_name = \"rs-test\";\n};\nreplicas = {\n  replica_set = \"rs0\";"
                     " read_policy = \"replica_preferred\";",
             mg_port);
    if (conf_write_source("rs", conn) != 0)
        return -1;
    /* The same replica set reached only through replicas.hosts: `host`
     * is a port nothing listens on, the one live member is listed in the
     * replicas group and no `seeds` is set. */
    snprintf(conn, sizeof conn,
             "host = \"127.0.0.1\"; port = %d; server_selection_timeout = \"3s\";"
             " app_name = \"rs-test\";\n};\nreplicas = {\n  hosts = [\"127.0.0.1:%d\"];"
             " replica_set = \"rs0\";",
             mg_free_port(), mg_port);
    if (conf_write_source("rshosts", conn) != 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The peer's log                                                            */

/* The last command named `name` (optionally on collection `coll`) the peer
 * received; NULL when none.  bson_destroy() it. */
static bson_t *mg_last_sent(const char *name, const char *coll)
{
    FILE *fp = fopen(mg_log, "r");
    char *line = NULL;
    size_t cap = 0;
    bson_t *last = NULL;

    ck_assert_msg(fp != NULL, "cannot read the peer log %s", mg_log);
    while (getline(&line, &cap, fp) > 0) {
        bson_error_t be;
        bson_t *doc = bson_new_from_json((const uint8_t *)line, -1, &be);
        bson_iter_t it;
        if (!doc)
            continue;
        if (bson_iter_init(&it, doc) && bson_iter_next(&it) &&
            strcmp(bson_iter_key(&it), name) == 0 &&
            (!coll || (BSON_ITER_HOLDS_UTF8(&it) && strcmp(bson_iter_utf8(&it, NULL), coll) == 0))) {
            if (last)
                bson_destroy(last);
            last = doc;
        } else {
            bson_destroy(doc);
        }
    }
    free(line);
    fclose(fp);
    return last;
}

static size_t mg_count_sent(const char *name)
{
    FILE *fp = fopen(mg_log, "r");
    char *line = NULL, pat[128];
    size_t cap = 0, n = 0;
    snprintf(pat, sizeof pat, "{\"%s\": ", name);
    ck_assert_ptr_nonnull(fp);
    while (getline(&line, &cap, fp) > 0)
        if (strncmp(line, pat, strlen(pat)) == 0)
            n++;
    free(line);
    fclose(fp);
    return n;
}

/* The JSON of the value at dotted `path` in `doc` (relaxed), malloc'd;
 * NULL when absent. */
static char *mg_json_at(const bson_t *doc, const char *path)
{
    bson_iter_t it, d;
    bson_t tmp = BSON_INITIALIZER;
    char *s, *out = NULL;
    if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, path, &d))
        return NULL;
    bson_append_iter(&tmp, "v", 1, &d);
    s = bson_as_relaxed_extended_json(&tmp, NULL);
    out = strdup(s);
    bson_free(s);
    bson_destroy(&tmp);
    return out;
}

/* ------------------------------------------------------------------------ */
/* The MongoDB cases                                                         */

START_TEST(t_sent_find)
{
    source_conn *c = conf_conn();
    dsrc_fetch_req req;
    dsrc_fetch_result res;
    conf_rows r;
    derr e = {0};
    const char *cols[] = {"name", "amount"};
    bson_t *cmd;
    char *j;

    conf_req(&req, "shop/orders");
    req.columns = cols;
    req.n_columns = 2;
    req.cursor_field = "_id";
    req.cursor_value = "2";
    req.limit = 2;
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, &res, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 2);
    ck_assert_str_eq(r.names[0], "name");
    ck_assert_str_eq(r.text[0], "it's \"quoted\"");
    ck_assert_int_eq(res.has_cursor, 1);
    ck_assert_str_eq(res.cursor_max, "4");
    conf_rows_free(&r);

    cmd = mg_last_sent("find", "orders");
    ck_assert_ptr_nonnull(cmd);
    j = mg_json_at(cmd, "filter");
    ck_assert_str_eq(j, "{ \"v\" : { \"_id\" : { \"$gt\" : 2 } } }");
    free(j);
    j = mg_json_at(cmd, "sort");
    ck_assert_str_eq(j, "{ \"v\" : { \"_id\" : 1 } }");
    free(j);
    j = mg_json_at(cmd, "projection");
    ck_assert_str_eq(j, "{ \"v\" : { \"name\" : 1, \"amount\" : 1, \"_id\" : 1 } }");
    free(j);
    /* With a cursor, the limit ends at a whole group of equal values: the
     * plugin stops reading, the server gets batches of limit + 1. */
    ck_assert_ptr_null(mg_json_at(cmd, "limit"));
    j = mg_json_at(cmd, "batchSize");
    ck_assert_str_eq(j, "{ \"v\" : 3 }");
    free(j);
    /* A standalone server: no read preference is sent. */
    ck_assert_ptr_null(mg_json_at(cmd, "$readPreference"));
    bson_destroy(cmd);

    /* A typed cursor: dates compare as dates. */
    conf_req(&req, "shop/orders");
    req.cursor_field = "created";
    req.cursor_value = "2024-01-02T10:00:00Z";
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, &res, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 2);
    ck_assert_str_eq(res.cursor_max, "2024-01-05T10:00:00.000Z");
    conf_rows_free(&r);
    cmd = mg_last_sent("find", "orders");
    j = mg_json_at(cmd, "filter");
    ck_assert_str_eq(j, "{ \"v\" : { \"created\" : { \"$gt\" : { \"$date\" : "
                        "\"2024-01-02T10:00:00Z\" } } } }");
    free(j);
    bson_destroy(cmd);

    req.cursor_value = "yesterday";
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, &res, &e), DSRC_E_INVALID_ARGUMENT);
    ck_assert_msg(strstr(e.msg, "yesterday") != NULL, "%s", e.msg);
    conf_rows_free(&r);
    derr_clear(&e);
}
END_TEST

START_TEST(t_batches)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};
    size_t before = mg_count_sent("getMore"), i;
    bson_t *cmd;
    char *j;

    ck_assert_int_eq(conf_env_open(env, "batched", &c, &e), DSRC_OK);
    conf_req(&req, "shop/big");
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 7);
    ck_assert_uint_eq(r.n_columns, 2);
    for (i = 0; i < 7; i++) {
        char want[16];
        snprintf(want, sizeof want, "%zu", (i + 1) * 10);
        ck_assert_str_eq(r.text[i * 2 + 1], want);
    }
    conf_rows_free(&r);
    /* 7 documents in batches of 2: the first batch and 3 getMores. */
    ck_assert_uint_eq(mg_count_sent("getMore") - before, 3);
    cmd = mg_last_sent("find", "big");
    j = mg_json_at(cmd, "batchSize");
    ck_assert_str_eq(j, "{ \"v\" : 2 }");
    free(j);
    bson_destroy(cmd);
    source_close(c);
    conf_env_free(env);
}
END_TEST

/* A source whose members are only in replicas.hosts opens, as one
 * replica set connection, through the member the host handed over. */
START_TEST(t_replica_hosts)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    dsrc_ping_info info;
    derr e = {0};

    ck_assert_msg(conf_env_open(env, "rshosts", &c, &e) == DSRC_OK, "open: %s", e.msg);
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    ck_assert_int_eq(source_ping(c, &info, NULL, &e), DSRC_OK);
    ck_assert_int_eq(info.role, DSRC_ROLE_PRIMARY);
    derr_clear(&e);
    source_close(c);
    conf_env_free(env);
}
END_TEST

START_TEST(t_read_preference)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    dsrc_fetch_req req;
    dsrc_ping_info info;
    conf_rows r;
    derr e = {0};
    bson_t *cmd;
    char *j;

    ck_assert_msg(conf_env_open(env, "rs", &c, &e) == DSRC_OK, "open: %s", e.msg);
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    ck_assert_int_eq(source_ping(c, &info, NULL, &e), DSRC_OK);
    ck_assert_int_eq(info.role, DSRC_ROLE_PRIMARY);
    ck_assert_str_eq(info.server_version, "MongoDB 6.0.5");

    /* Fetch reads with the source's policy... */
    conf_req(&req, "shop/big");
    req.limit = 3;
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 3);
    conf_rows_free(&r);
    cmd = mg_last_sent("find", "big");
    j = mg_json_at(cmd, "$readPreference");
    ck_assert_str_eq(j, "{ \"v\" : { \"mode\" : \"secondaryPreferred\" } }");
    free(j);
    bson_destroy(cmd);
    /* ...discovery reads primaryPreferred. */
    cmd = mg_last_sent("aggregate", "big");
    ck_assert_ptr_nonnull(cmd);
    j = mg_json_at(cmd, "$readPreference");
    ck_assert_str_eq(j, "{ \"v\" : { \"mode\" : \"primaryPreferred\" } }");
    free(j);
    j = mg_json_at(cmd, "pipeline");
    ck_assert_str_eq(j, "{ \"v\" : [ { \"$sample\" : { \"size\" : 1000 } } ] }");
    free(j);
    bson_destroy(cmd);
    derr_clear(&e);
    source_close(c);
    conf_env_free(env);
}
END_TEST

START_TEST(t_document_output)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};
    const char *cols[] = {"amount"};

    ck_assert_int_eq(conf_env_open(env, "docs", &c, &e), DSRC_OK);
    conf_req(&req, "shop/orders");
    req.limit = 1;
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_columns, 1);
    ck_assert_str_eq(r.names[0], "document");
    ck_assert_int_eq(r.col_types[0], DSRC_T_JSON);
    ck_assert_uint_eq(r.n_rows, 1);
    ck_assert_int_eq(r.types[0], DSRC_T_JSON);
    ck_assert_msg(strstr(r.text[0], "\"_id\" : { \"$numberInt\" : \"1\" }") &&
                      strstr(r.text[0], "\"$date\" : { \"$numberLong\" : \"1704103200000\" }"),
                  "canonical JSON: %s", r.text[0]);
    conf_rows_free(&r);

    /* Columns become a projection of the document. */
    req.columns = cols;
    req.n_columns = 1;
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_OK);
    ck_assert_str_eq(r.text[0], "{ \"amount\" : { \"$numberDouble\" : \"1.5\" } }");
    conf_rows_free(&r);
    source_close(c);
    conf_env_free(env);
}
END_TEST

START_TEST(t_auth_failed)
{
    conf_env *env = conf_env_new();
    source_conn *c = NULL;
    derr e = {0};
    bson_t *cmd;

    ck_assert_int_eq(conf_env_open(env, "badauth", &c, &e), DSRC_E_AUTH);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(e.code, "18");
    ck_assert_msg(strstr(e.msg, "p@ss") == NULL && strstr(e.msg, "w/rd") == NULL,
                  "the password leaked: %s", e.msg);
    /* The user name reached the server intact (SCRAM's n=, with '=' and ','
     * escaped as RFC 5802 says). */
    cmd = mg_last_sent("saslStart", NULL);
    ck_assert_ptr_nonnull(cmd);
    bson_destroy(cmd);
    derr_clear(&e);
    conf_env_free(env);
}
END_TEST

START_TEST(t_unauthorized)
{
    source_conn *c = conf_conn();
    conf_rows r;
    dsrc_fetch_req req;
    derr e = {0};

    conf_req(&req, "locked/secret");
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_E_PERMISSION);
    ck_assert_str_eq(e.code, "13");
    ck_assert_msg(strstr(e.msg, "not authorized") != NULL, "%s", e.msg);
    conf_rows_free(&r);
    derr_clear(&e);
}
END_TEST

START_TEST(t_server_stops_answering)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    conf_rows r;
    dsrc_fetch_req req;
    derr e = {0};
    time_t t0;

    ck_assert_int_eq(conf_env_open(env, "impatient", &c, &e), DSRC_OK);
    conf_req(&req, "shop/slow");
    t0 = time(NULL);
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_E_TIMEOUT);
    ck_assert_msg(time(NULL) - t0 < 30, "the timeout took %ld s", (long)(time(NULL) - t0));
    ck_assert_int_eq(e.retryable, 1);
    ck_assert_uint_eq(r.n_rows, 0);
    conf_rows_free(&r);
    derr_clear(&e);
    source_close(c);
    conf_env_free(env);
}
END_TEST

START_TEST(t_list_kinds)
{
    source_conn *c = conf_conn();
    conf_items l;
    derr e = {0};

    ck_assert_int_eq(conf_list(c, "shop", &l, &e), DSRC_OK);
    /* sorted, system.* left out */
    ck_assert_uint_eq(l.calls, 7);
    ck_assert_str_eq(l.path[0], "shop/big");
    ck_assert_str_eq(l.path[1], "shop/metrics");
    ck_assert_int_eq(l.kind[1], DSRC_ITEM_COLLECTION);
    ck_assert_str_eq(l.comment[1], "timeseries");
    ck_assert_str_eq(l.path[2], "shop/orders");
    ck_assert_int_eq(l.rows[2], 5);
    ck_assert_int_eq(l.size[2], 5 * 4096);
    ck_assert_str_eq(l.path[3], "shop/recent_orders");
    ck_assert_int_eq(l.kind[3], DSRC_ITEM_VIEW);
    ck_assert_int_eq(l.rows[3], -1);
    ck_assert_str_eq(l.path[5], "shop/ties");
    ck_assert_str_eq(l.path[6], "shop/we%2Fird%25coll"); /* printed escaped */

    ck_assert_int_eq(conf_list(c, "", &l, &e), DSRC_OK);
    ck_assert_uint_eq(l.calls, 3);
    ck_assert_str_eq(l.path[2], "shop");
    ck_assert_int_eq(l.kind[2], DSRC_ITEM_DATABASE);
    ck_assert_int_eq(l.size[2], 3 * 8192);
    ck_assert_int_eq(conf_list(c, "nosuchdb", &l, &e), DSRC_E_NOT_FOUND);
    derr_clear(&e);
}
END_TEST

typedef struct mg_md {
    char *schema, *indexes, *native_amount;
    size_t n_cols;
    int nullable_tags, nullable_id;
} mg_md;

static int mg_md_cb(void *user, const dsrc_metadata *md)
{
    mg_md *m = user;
    size_t i;
    for (i = 0; i < md->n_properties; i++) {
        if (strcmp(md->properties[i].key, "schema") == 0)
            m->schema = strdup(md->properties[i].value);
        if (strcmp(md->properties[i].key, "indexes") == 0)
            m->indexes = strdup(md->properties[i].value);
    }
    m->n_cols = md->n_columns;
    for (i = 0; i < md->n_columns; i++) {
        if (strcmp(md->columns[i].name, "amount") == 0)
            m->native_amount = strdup(md->columns[i].native_type);
        if (strcmp(md->columns[i].name, "tags") == 0)
            m->nullable_tags = md->columns[i].nullable;
        if (strcmp(md->columns[i].name, "_id") == 0)
            m->nullable_id = md->columns[i].nullable;
    }
    return 0;
}

START_TEST(t_describe_schema)
{
    source_conn *c = conf_conn();
    mg_md m;
    dsrc_meta_sink s = {sizeof s, &m, mg_md_cb};
    derr e = {0};

    memset(&m, 0, sizeof m);
    ck_assert_int_eq(source_describe(c, "shop/orders", &s, &e), DSRC_OK);
    ck_assert_ptr_nonnull(m.schema);
    ck_assert_msg(strstr(m.schema, "{ \"path\" : \"address.city\", \"types\" : { \"string\" : 2 },"
                                   " \"present\" : 2 }") != NULL, "schema: %s", m.schema);
    ck_assert_msg(strstr(m.schema, "{ \"path\" : \"tags.k\", \"types\" : { \"int\" : 1 },"
                                   " \"present\" : 1 }") != NULL, "schema: %s", m.schema);
    ck_assert_msg(strstr(m.schema, "\"path\" : \"amount\", \"types\" : { \"double\" : 3,"
                                   " \"null\" : 1, \"long\" : 1 }") != NULL, "schema: %s", m.schema);
    ck_assert_str_eq(m.native_amount, "double:3,null:1,long:1");
    ck_assert_int_eq(m.nullable_tags, 1);
    ck_assert_int_eq(m.nullable_id, 0);
    ck_assert_ptr_nonnull(m.indexes);
    ck_assert_msg(strstr(m.indexes, "\"created_-1\""), "indexes: %s", m.indexes);
    free(m.schema);
    free(m.indexes);
    free(m.native_amount);
    derr_clear(&e);
}
END_TEST

/* A collection named with '/' and '%', as list and discover print it. */
static const char *const mg_odd_items[] = {"shop/we%2Fird%25coll", NULL};
/* "shop/slow" never answers; "admin" holds only system collections, which
 * list leaves out. */
static const char *const mg_skip_items[] = {"shop/slow", "admin", NULL};

int main(void)
{
    static conf_fixture fx;
    const char *top = getenv("top_builddir");
    TCase *tc;

    mongo_orders_fixture(&fx, top);
    fx.setup = mg_setup;
    fx.teardown = mg_teardown;
    fx.table = "shop/orders";
    fx.table_parent = "shop";
    fx.rows = 5;
    fx.ties_item = "shop/ties";
    fx.missing_item = "shop/no_such_collection";
    fx.odd_items = mg_odd_items;
    fx.skip_items = mg_skip_items;

    tc = tcase_create("mongo");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, t_sent_find);
    tcase_add_test(tc, t_batches);
    tcase_add_test(tc, t_read_preference);
    tcase_add_test(tc, t_replica_hosts);
    tcase_add_test(tc, t_document_output);
    tcase_add_test(tc, t_auth_failed);
    tcase_add_test(tc, t_unauthorized);
    tcase_add_test(tc, t_server_stops_answering);
    tcase_add_test(tc, t_list_kinds);
    tcase_add_test(tc, t_describe_schema);
    return conf_main(&fx, tc);
}
