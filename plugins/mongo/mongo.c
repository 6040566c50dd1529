/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mongo.c -- the MongoDB connector's entry point: open, close, ping and
 * cancel on mongo-c-driver, and the driver struct (the option table is in
 * mg_uri.c; the other files: see mg.h).
 *
 * One mongoc_client_t per dsrc_conn (clients are not thread-safe, and the
 * host never shares a conn between threads).  mongoc_init() runs once in
 * dsrc_plugin_init(), mongoc_cleanup() in unload().
 *
 * Reads: list, describe, discover and ping read primaryPreferred; fetch
 * reads with the source's read_policy (see mg_uri.c).
 *
 * Cancellation: fetch and the catalog calls poll the host's flag and the
 * connection's own (set by cancel()) between documents, so a cursor stops
 * before its next getMore.  A request already on the wire is bounded by
 * socket_timeout.
 */
#include "mg.h"

#include <stdatomic.h>

DSRC_PLUGIN_ABI();

#define MG_VERSION "1.0.0"

const dsrc_host *mg_host;

/* ------------------------------------------------------------------------ */
/* open / close / ping / cancel                                              */

dsrc_status mg_command(dsrc_conn *c, const char *db, const bson_t *cmd, bson_t *reply,
                       bson_error_t *be)
{
    if (mongoc_client_read_command_with_opts(c->client, db, cmd, c->set.discovery_prefs, NULL,
                                             reply, be))
        return DSRC_OK;
    return DSRC_E_BACKEND;
}

static void mg_close(dsrc_conn *c)
{
    if (!c)
        return;
    if (c->client)
        mongoc_client_destroy(c->client);
    mg_settings_free(&c->set);
    bson_free(c->hosts);
    bson_free(c);
}

/* How long one try of mg_reach() waits for the servers' answer. */
#define MG_TRY_MS 200

static int64_t mg_now_ms(void)
{
    return bson_get_monotonic_time() / 1000;
}

/* Wait until the servers answer (server selection), in tries of
 * MG_TRY_MS with the host's cancellation checked between them, for at
 * most connect_timeout: mongo-c-driver cannot interrupt a call, and a
 * single-threaded client waits for a handshake up to connectTimeoutMS, a
 * cancelled call too.  DSRC_OK once they answered or failed for another
 * reason than time (the real connection then reports it); cancelled, or
 * the time-out's error. */
static dsrc_status mg_reach(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_error *err)
{
    mongoc_uri_t *u = mongoc_uri_copy(c->set.uri);
    int64_t limit, t0 = mg_now_ms(), t;
    bson_error_t be;
    dsrc_status st = DSRC_OK;

    if (!u)
        return DSRC_OK;
    limit = mongoc_uri_get_option_as_int32(u, MONGOC_URI_CONNECTTIMEOUTMS, 10000);
    mongoc_uri_set_option_as_int32(u, MONGOC_URI_CONNECTTIMEOUTMS, MG_TRY_MS);
    mongoc_uri_set_option_as_int32(u, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, MG_TRY_MS);
    for (;;) {
        mongoc_client_t *probe;
        mongoc_server_description_t *sd;

        if (mg_cancelled(ctx, c)) {
            st = mg_cancel_err(err, "connecting");
            break;
        }
        t = mg_now_ms();
        if (!(probe = mongoc_client_new_from_uri(u)))
            break;
        mongoc_client_set_error_api(probe, MONGOC_ERROR_API_VERSION_2);
        sd = mongoc_client_select_server(probe, false, c->set.discovery_prefs, &be);
        mongoc_client_destroy(probe);
        if (sd) {
            mongoc_server_description_destroy(sd);
            break;
        }
        if (mg_now_ms() - t < MG_TRY_MS / 2)
            break; /* refused, not a matter of time: reported by the real connection */
        if (mg_now_ms() - t0 >= limit) {
            st = mg_fail(err, &be, "connecting to %s",
                         c->hosts && *c->hosts ? c->hosts : "MongoDB");
            break;
        }
    }
    mongoc_uri_destroy(u);
    return st;
}

static dsrc_status mg_open(const dsrc_ctx *ctx, const dsrc_open_params *p, dsrc_conn **out,
                           dsrc_error *err)
{
    dsrc_conn *c;
    bson_error_t be;
    bson_t cmd = BSON_INITIALIZER, reply;
    dsrc_status st;

    *out = NULL;
    c = bson_malloc0(sizeof *c);
    atomic_init(&c->cancel, 0);
    st = mg_settings_build(p, &c->set, err);
    if (st != DSRC_OK) {
        bson_free(c);
        return st;
    }
    c->hosts = mg_uri_hosts(c->set.uri);
    c->client = mongoc_client_new_from_uri_with_error(c->set.uri, &be);
    if (!c->client) {
        st = dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                            "the driver refused the connection settings: %s", be.message);
        mg_close(c);
        return st;
    }
    mongoc_client_set_error_api(c->client, MONGOC_ERROR_API_VERSION_2);
    if ((st = mg_reach(ctx, c, err)) != DSRC_OK) {
        mg_close(c);
        return st;
    }
    /* A real round-trip: server selection, handshake and authentication. */
    BSON_APPEND_INT32(&cmd, "ping", 1);
    if (mg_command(c, "admin", &cmd, &reply, &be) != DSRC_OK) {
        st = mg_fail(err, &be, "connecting to %s", c->hosts && *c->hosts ? c->hosts : "MongoDB");
        bson_destroy(&reply);
        bson_destroy(&cmd);
        mg_close(c);
        return st;
    }
    bson_destroy(&reply);
    bson_destroy(&cmd);
    *out = c;
    return DSRC_OK;
}

static dsrc_status mg_cancel(dsrc_conn *c)
{
    if (c)
        atomic_store(&c->cancel, 1);
    return DSRC_OK;
}

static int mg_bool(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, key) && bson_iter_as_bool(&it);
}

static dsrc_status mg_ping(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_ping_info *info,
                           dsrc_error *err)
{
    bson_t cmd = BSON_INITIALIZER, reply;
    bson_error_t be;
    bson_iter_t it;
    dsrc_status st = DSRC_OK;

    (void)ctx;
    atomic_store(&c->cancel, 0);
    BSON_APPEND_INT32(&cmd, "hello", 1);
    if (mg_command(c, "admin", &cmd, &reply, &be) != DSRC_OK) {
        /* Servers before 4.4.2 (wire 9) know only isMaster. */
        bson_destroy(&reply);
        bson_reinit(&cmd);
        BSON_APPEND_INT32(&cmd, "isMaster", 1);
        if (mg_command(c, "admin", &cmd, &reply, &be) != DSRC_OK) {
            st = mg_fail(err, &be, "ping");
            goto out;
        }
    }
    if (info) {
        if (bson_iter_init_find(&it, &reply, "msg") && BSON_ITER_HOLDS_UTF8(&it) &&
            strcmp(bson_iter_utf8(&it, NULL), "isdbgrid") == 0)
            info->role = DSRC_ROLE_STANDALONE; /* a mongos routes for the whole cluster */
        else if (mg_bool(&reply, "secondary"))
            info->role = DSRC_ROLE_REPLICA;
        else if (bson_iter_init_find(&it, &reply, "setName") &&
                 (mg_bool(&reply, "isWritablePrimary") || mg_bool(&reply, "ismaster")))
            info->role = DSRC_ROLE_PRIMARY;
        else if (mg_bool(&reply, "isWritablePrimary") || mg_bool(&reply, "ismaster"))
            info->role = DSRC_ROLE_STANDALONE;
        else
            info->role = DSRC_ROLE_UNKNOWN;
        if (bson_iter_init_find(&it, &reply, "me") && BSON_ITER_HOLDS_UTF8(&it))
            snprintf(info->endpoint, sizeof info->endpoint, "%s", bson_iter_utf8(&it, NULL));
        else
            snprintf(info->endpoint, sizeof info->endpoint, "%s", c->hosts ? c->hosts : "");
        bson_destroy(&reply);
        bson_reinit(&cmd);
        BSON_APPEND_INT32(&cmd, "buildInfo", 1);
        if (mg_command(c, "admin", &cmd, &reply, &be) == DSRC_OK &&
            bson_iter_init_find(&it, &reply, "version") && BSON_ITER_HOLDS_UTF8(&it))
            snprintf(info->server_version, sizeof info->server_version, "MongoDB %s",
                     bson_iter_utf8(&it, NULL));
        else
            snprintf(info->server_version, sizeof info->server_version, "MongoDB");
    }
out:
    bson_destroy(&reply);
    bson_destroy(&cmd);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */

/* The driver's own log lines go to the host's log (which redacts known
 * secrets); its debug and trace chatter is dropped. */
static void mg_driver_log(mongoc_log_level_t level, const char *domain, const char *message,
                          void *user)
{
    dsrc_log_level l;
    (void)user;
    switch (level) {
    case MONGOC_LOG_LEVEL_ERROR:
    case MONGOC_LOG_LEVEL_CRITICAL: l = DSRC_LOG_ERROR; break;
    case MONGOC_LOG_LEVEL_WARNING: l = DSRC_LOG_WARNING; break;
    case MONGOC_LOG_LEVEL_MESSAGE: l = DSRC_LOG_NOTICE; break;
    case MONGOC_LOG_LEVEL_INFO: l = DSRC_LOG_INFO; break;
    default: return;
    }
    if (mg_host && mg_host->log)
        mg_host->log(NULL, l, "mongo-c-driver %s: %s", domain, message);
}

/* mongoc_init() once, and the driver's log to the host's. */
static dsrc_status mg_setup(dsrc_error *err)
{
    (void)err;
    mongoc_init();
    mongoc_log_set_handler(mg_driver_log, NULL);
    return DSRC_OK;
}

static void mg_unload(void)
{
    mongoc_log_set_handler(NULL, NULL);
    mongoc_cleanup();
}

/* Limits on single values (ABI 1.1), checked by the host with file:line. */
static const dsrc_option_limit mg_limits[] = {
    {"port", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 1, 65535, NULL, NULL, {NULL, NULL}},
    {"server_selection_timeout", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 0, 2147483647,
     NULL, NULL, {NULL, NULL}},
    {"connect_timeout", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 0, 2147483647,
     NULL, NULL, {NULL, NULL}},
    {"socket_timeout", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 0, 2147483647,
     NULL, NULL, {NULL, NULL}},
    {"sample_size", DSRC_LIMIT_MIN, 1, 0, NULL, NULL, {NULL, NULL}},
    {"batch_size", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 1, 2147483647, NULL, NULL, {NULL, NULL}},
    DSRC_OPTION_LIMIT_END,
};

static const dsrc_driver mg_driver = {
    .abi_version = DSRC_ABI_VERSION,
    .name = "mongo",
    .option_limits = mg_limits,
    .version = MG_VERSION,
    .description = "MongoDB databases and collections (mongo-c-driver)",
    .capabilities = DSRC_CAP_CANCEL | DSRC_CAP_DISCOVER | DSRC_CAP_CURSOR | DSRC_CAP_REPLICAS |
                    DSRC_CAP_QUERY,
    .options = mg_options,
    DSRC_DRIVER_CALLS(mg),
    .describe = mg_describe,
    .discover = mg_discover,
    .cancel = mg_cancel,
    .query = mg_run_query,
    .unload = mg_unload,
};

DSRC_PLUGIN_INIT(mg_driver, &mg_host, mg_setup)
