/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_mongo_real.c -- mongo.so through the shared conformance suite
 * against a real mongod named by DSRC_TEST_MONGO_URI, e.g.
 *
 *   DSRC_TEST_MONGO_URI=mongodb://user:pw@host:27017/?authSource=admin \
 *       make check TESTS=plugins/mongo/tests/test_mongo_real
 *
 * Setup connects with libmongoc itself, creates a fresh database
 * dsrc_conformance_<pid> holding the collection "orders" with the same
 * five documents (and the same index) as the scripted peer's shop.orders
 * in test_mongo.c, and the collection "ties" as the peer's shop.ties
 * (incremental fetches over tied cursor values), so the same fixture
 * expectations hold; the source's connection is that URI with `database`
 * set to the fresh database.
 * Teardown drops the database.  The user needs readWrite on it (or on any
 * database) and dropDatabase.
 *
 * Without DSRC_TEST_MONGO_URI (or with it empty) the program prints SKIP
 * and exits 77.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mongoc/mongoc.h>

#include "conformance.h"
#include "mongo_orders.h"

#define MR_ENV "DSRC_TEST_MONGO_URI"
#define MR_COLLECTION "orders"

static const char *mr_uri_text;
static char mr_db[64];
static int mr_created; /* the database may exist on the server: drop it */


/* The documents, in Extended JSON: _id and tags.k are 32-bit ints as the
 * peer's Python ints are, -4 a 64-bit long, dates UTC. */
static const char *const mr_docs[] = {
    "{\"_id\": {\"$numberInt\": \"1\"}, \"name\": \"plain\", \"amount\": 1.5,"
    " \"created\": {\"$date\": \"2024-01-01T10:00:00Z\"}, \"flag\": true,"
    " \"address\": {\"city\": \"Oslo\", \"zip\": \"0150\"}, \"tags\": [\"a\", \"b\"]}",
    "{\"_id\": {\"$numberInt\": \"2\"}, \"name\": null, \"amount\": 2.25,"
    " \"created\": {\"$date\": \"2024-01-02T10:00:00Z\"}, \"flag\": false,"
    " \"address\": {\"city\": \"Bergen\"}}",
    "{\"_id\": {\"$numberInt\": \"3\"}, \"name\": \"it's \\\"quoted\\\"\", \"amount\": null,"
    " \"flag\": true, \"address\": null, \"tags\": [{\"k\": {\"$numberInt\": \"1\"}}]}",
    "{\"_id\": {\"$numberInt\": \"4\"}, \"name\": \"line1\\nline2\","
    " \"amount\": {\"$numberLong\": \"-4\"}, \"created\": {\"$date\": \"2024-01-04T10:00:00Z\"}}",
    "{\"_id\": {\"$numberInt\": \"5\"}, \"name\": \"a,b;c\", \"amount\": {\"$numberDouble\": \"5e10\"},"
    " \"created\": {\"$date\": \"2024-01-05T10:00:00Z\"}, \"flag\": false}",
};
#define MR_N_DOCS (sizeof mr_docs / sizeof mr_docs[0])

/* The ties collection: _id 1..10 with ts 1,1,2,2,...,5,5 (32-bit ints),
 * 11 with a null ts and 12 without one. */
#define MR_TIES "ties"
static const char *const mr_ties[] = {
    "{\"_id\": 1, \"ts\": 1}", "{\"_id\": 2, \"ts\": 1}", "{\"_id\": 3, \"ts\": 2}",
    "{\"_id\": 4, \"ts\": 2}", "{\"_id\": 5, \"ts\": 3}", "{\"_id\": 6, \"ts\": 3}",
    "{\"_id\": 7, \"ts\": 4}", "{\"_id\": 8, \"ts\": 4}", "{\"_id\": 9, \"ts\": 5}",
    "{\"_id\": 10, \"ts\": 5}", "{\"_id\": 11, \"ts\": null}", "{\"_id\": 12}",
};
#define MR_N_TIES (sizeof mr_ties / sizeof mr_ties[0])
#define MR_MAX_DOCS 16

/* ------------------------------------------------------------------------ */
/* The server                                                                */

/* A client for the test's own URI; NULL (with the reason printed) when the
 * URI is bad.  The URI is never printed: it may hold a password. */
static mongoc_client_t *mr_client(void)
{
    bson_error_t be;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(mr_uri_text, &be);
    mongoc_client_t *cl;

    if (!uri) {
        fprintf(stderr, "test_mongo_real: %s is not a valid MongoDB URI\n", MR_ENV);
        return NULL;
    }
#if MONGOC_CHECK_VERSION(1, 22, 0)
    cl = mongoc_client_new_from_uri_with_error(uri, &be);
    if (!cl)
        fprintf(stderr, "test_mongo_real: cannot create a client: %s\n", be.message);
#else
    cl = mongoc_client_new_from_uri(uri);
    if (!cl)
        fprintf(stderr, "test_mongo_real: cannot create a client for %s\n", MR_ENV);
#endif
    mongoc_uri_destroy(uri);
    if (cl)
        mongoc_client_set_appname(cl, "dsrc-conformance");
    return cl;
}

/* opts = { writeConcern: { w: "majority" } }: the cases read what setup
 * wrote, whatever member they are sent to. */
static void mr_majority(bson_t *opts)
{
    mongoc_write_concern_t *wc = mongoc_write_concern_new();
    mongoc_write_concern_set_w(wc, MONGOC_WRITE_CONCERN_W_MAJORITY);
    mongoc_write_concern_append(wc, opts);
    mongoc_write_concern_destroy(wc);
}

static int mr_drop(mongoc_client_t *cl)
{
    mongoc_database_t *db = mongoc_client_get_database(cl, mr_db);
    bson_t opts = BSON_INITIALIZER;
    bson_error_t be;
    int rc = 0;

    mr_majority(&opts);
    if (!mongoc_database_drop_with_opts(db, &opts, &be)) {
        fprintf(stderr, "test_mongo_real: dropping database %s: %s\n", mr_db, be.message);
        rc = -1;
    }
    bson_destroy(&opts);
    mongoc_database_destroy(db);
    return rc;
}

/* Insert the `n` (at most MR_MAX_DOCS) Extended JSON documents `json`
 * into collection `name` of `db`.  0, or -1 (printed). */
static int mr_insert(mongoc_database_t *db, const char *name, const char *const *json, size_t n,
                     const bson_t *opts)
{
    mongoc_collection_t *coll = mongoc_database_get_collection(db, name);
    const bson_t *docs[MR_MAX_DOCS];
    bson_t *owned[MR_MAX_DOCS];
    bson_t reply;
    bson_error_t be;
    size_t i, made = 0;
    int rc = -1;

    for (i = 0; i < n && i < MR_MAX_DOCS; i++) {
        owned[i] = bson_new_from_json((const uint8_t *)json[i], -1, &be);
        if (!owned[i]) {
            fprintf(stderr, "test_mongo_real: %s document %zu: %s\n", name, i + 1, be.message);
            goto out;
        }
        docs[i] = owned[i];
        made++;
    }
    if (!mongoc_collection_insert_many(coll, docs, made, opts, &reply, &be)) {
        fprintf(stderr, "test_mongo_real: inserting into %s.%s: %s\n", mr_db, name, be.message);
        bson_destroy(&reply);
        goto out;
    }
    bson_destroy(&reply);
    rc = 0;
out:
    for (i = 0; i < made; i++)
        bson_destroy(owned[i]);
    mongoc_collection_destroy(coll);
    return rc;
}

/* Create the database: the documents, then the index on created, and the
 * ties collection. */
static int mr_fill(mongoc_client_t *cl)
{
    mongoc_database_t *db = mongoc_client_get_database(cl, mr_db);
    bson_t opts = BSON_INITIALIZER, reply, *cmd = NULL;
    bson_error_t be;
    int rc = -1;

    mr_majority(&opts);
    if (mr_insert(db, MR_COLLECTION, mr_docs, MR_N_DOCS, &opts) != 0 ||
        mr_insert(db, MR_TIES, mr_ties, MR_N_TIES, &opts) != 0)
        goto out;
    cmd = BCON_NEW("createIndexes", BCON_UTF8(MR_COLLECTION), "indexes", "[", "{", "key", "{",
                   "created", BCON_INT32(-1), "}", "name", BCON_UTF8("created_-1"), "}", "]");
    if (!mongoc_database_write_command_with_opts(db, cmd, &opts, &reply, &be)) {
        fprintf(stderr, "test_mongo_real: creating the index on %s.%s: %s\n", mr_db,
                MR_COLLECTION, be.message);
        bson_destroy(&reply);
        goto out;
    }
    bson_destroy(&reply);
    rc = 0;
out:
    if (cmd)
        bson_destroy(cmd);
    bson_destroy(&opts);
    mongoc_database_destroy(db);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The fixture                                                               */

/* Append `s` to `out` as a libconfig string literal; -1 when it does not
 * fit. */
static int mr_quote(char *out, size_t cap, const char *s)
{
    size_t len = strlen(out);
    const char *p;

    if (len + 1 >= cap)
        return -1;
    out[len++] = '"';
    for (p = s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            if (len + 1 >= cap)
                return -1;
            out[len++] = '\\';
        }
        if (len + 1 >= cap)
            return -1;
        out[len++] = *p;
    }
    if (len + 2 >= cap)
        return -1;
    out[len++] = '"';
    out[len] = '\0';
    return 0;
}

/* The source's connection body: the URI, the fresh database and, when the
 * URI carries a password-based user, its authentication database pinned
 * (the `database` option would otherwise become the default one). */
static int mr_connection(char *out, size_t cap)
{
    mongoc_uri_t *uri = mongoc_uri_new_with_error(mr_uri_text, NULL);
    const char *mech, *auth = NULL;
    int rc = -1;

    if (!uri) {
        fprintf(stderr, "test_mongo_real: %s is not a valid MongoDB URI\n", MR_ENV);
        return -1;
    }
    mech = mongoc_uri_get_auth_mechanism(uri);
    if (mongoc_uri_get_username(uri) && (!mech || strncmp(mech, "SCRAM-", 6) == 0)) {
        auth = mongoc_uri_get_auth_source(uri);
        if (!auth || !*auth)
            auth = mongoc_uri_get_database(uri);
        if (!auth || !*auth)
            auth = "admin";
    }
    out[0] = '\0';
    if (snprintf(out, cap, "uri = ") < (int)cap && mr_quote(out, cap, mr_uri_text) == 0 &&
        strlen(out) + 64 + sizeof mr_db < cap) {
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "; database = \"%s\"; server_selection_timeout = \"10s\";",
                 mr_db);
        rc = 0;
        if (auth) {
            len = strlen(out);
            if (len + 16 < cap) {
                snprintf(out + len, cap - len, " auth_source = ");
                rc = mr_quote(out, cap, auth);
                if (rc == 0 && strlen(out) + 2 < cap)
                    strcat(out, ";");
                else
                    rc = -1;
            } else {
                rc = -1;
            }
        }
    }
    mongoc_uri_destroy(uri);
    if (rc != 0)
        fprintf(stderr, "test_mongo_real: %s is too long for the fixture\n", MR_ENV);
    return rc;
}

static int mr_setup(conf_fixture *fx, const char *tmp)
{
    mongoc_client_t *cl;
    bson_t *ping;
    bson_t reply;
    bson_error_t be;
    int ok;

    (void)tmp;
    if (mr_connection(fx->connection, sizeof fx->connection) != 0)
        return -1;
    /* A closed port (tcpmux is not served): open must fail as unreachable. */
    snprintf(fx->bad_connection, sizeof fx->bad_connection,
             "host = \"127.0.0.1\"; port = 1; server_selection_timeout = \"300ms\";"
             " connect_timeout = \"300ms\";");
    fx->bad_status = DSRC_E_UNREACHABLE;

    cl = mr_client();
    if (!cl)
        return -1;
    ping = BCON_NEW("ping", BCON_INT32(1));
    ok = mongoc_client_command_simple(cl, "admin", ping, NULL, &reply, &be);
    bson_destroy(&reply);
    bson_destroy(ping);
    if (!ok) {
        fprintf(stderr, "test_mongo_real: the server named by %s does not answer: %s\n", MR_ENV,
                be.message);
        mongoc_client_destroy(cl);
        return -1;
    }
    /* A database left behind by an earlier run with the same pid. */
    mr_created = 1;
    if (mr_drop(cl) != 0 || mr_fill(cl) != 0) {
        mr_drop(cl);
        mr_created = 0;
        mongoc_client_destroy(cl);
        return -1;
    }
    /* No client is kept: the cases run in forked children. */
    mongoc_client_destroy(cl);
    printf("test_mongo_real: database %s created\n", mr_db);
    return 0;
}

static void mr_teardown(conf_fixture *fx)
{
    mongoc_client_t *cl;

    (void)fx;
    if (!mr_created)
        return;
    cl = mr_client();
    if (cl) {
        if (mr_drop(cl) == 0)
            printf("test_mongo_real: database %s dropped\n", mr_db);
        mongoc_client_destroy(cl);
    }
    mr_created = 0;
}

/* Databases that may hold only system collections, which list leaves out
 * (listing them then says "not found"). */
static const char *const mr_skip_items[] = {"admin", "config", "local", NULL};

int main(void)
{
    static conf_fixture fx;
    static char table[sizeof mr_db + sizeof MR_COLLECTION + 1];
    static char missing[sizeof mr_db + 32];
    static char ties[sizeof mr_db + sizeof MR_TIES + 1];
    const char *top = getenv("top_builddir");
    int rc;

    mr_uri_text = getenv(MR_ENV);
    if (!mr_uri_text || !*mr_uri_text) {
        printf("SKIP: set %s=mongodb://... to run the conformance suite against a real mongod\n",
               MR_ENV);
        return 77;
    }
    snprintf(mr_db, sizeof mr_db, "dsrc_conformance_%ld", (long)getpid());
    snprintf(table, sizeof table, "%s/%s", mr_db, MR_COLLECTION);
    snprintf(missing, sizeof missing, "%s/no_such_collection", mr_db);
    snprintf(ties, sizeof ties, "%s/%s", mr_db, MR_TIES);

    mongo_orders_fixture(&fx, top);
    fx.setup = mr_setup;
    fx.teardown = mr_teardown;
    fx.table = table;
    fx.table_parent = mr_db;
    fx.rows = (int64_t)MR_N_DOCS;
    fx.ties_item = ties;
    fx.missing_item = missing;
    fx.skip_items = mr_skip_items;

    mongoc_init();
    rc = conf_main(&fx, NULL);
    mongoc_cleanup();
    return rc;
}
