/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mysql.c -- the mysql connector: MySQL and MariaDB servers through
 * MariaDB Connector/C (libmariadb).
 *
 * Built only against <dsrc/plugin.h> and libmariadb.  See README.md beside
 * this file for the options, TLS behaviour, item paths, types and errors.
 *
 * Items:
 *   ""              the databases (schemas) the user can see
 *   "shop"          its tables and views, with row estimates and sizes
 *   "shop/orders"   a table or view; a bare "orders" means the source's
 *                   `database`.  Only the first '/' separates, so table
 *                   names that contain '/' stay addressable.
 */
#include "mys.h"

DSRC_PLUGIN_ABI();

const dsrc_host *mys_host;
static int mys_library_ready;

static const dsrc_option mys_options[] = {
    {"host", DSRC_OPT_STRING, 0, "localhost", NULL,
     "server host name or address (\"localhost\" means the local socket)", {NULL, NULL}},
    {"port", DSRC_OPT_INT, 0, "3306", NULL, "TCP port", {NULL, NULL}},
    {"database", DSRC_OPT_STRING, 0, NULL, NULL,
     "default database: bare item names are tables in it", {NULL, NULL}},
    {"user", DSRC_OPT_STRING, 0, NULL, NULL, "user name (default: the login name)",
     {NULL, NULL}},
    {"password", DSRC_OPT_STRING, DSRC_OPT_SECRET, NULL, NULL,
     "password (a secret: fernet:, env: or file: reference)", {NULL, NULL}},
    {"unix_socket", DSRC_OPT_PATH, 0, NULL, NULL,
     "connect through this Unix socket instead of TCP (primary only)", {NULL, NULL}},
    {"connect_timeout", DSRC_OPT_DURATION, 0, "10s", NULL,
     "how long to wait for the connection and login", {NULL, NULL}},
    {"read_timeout", DSRC_OPT_DURATION, 0, "30m", NULL,
     "how long to wait for the server's next answer (0: forever)", {NULL, NULL}},
    {"charset", DSRC_OPT_STRING, 0, "utf8mb4", NULL,
     "connection character set: text arrives in it", {NULL, NULL}},
    {"fetch_binary", DSRC_OPT_BOOL, 0, "true", NULL,
     "fetch rows with the binary protocol (prepared statement) where every column allows it",
     {NULL, NULL}},
    DSRC_OPTION_END
};

/* The client library, once per process (mysql_library_end() in unload). */
static dsrc_status mys_setup(dsrc_error *err)
{
    if (!mys_library_ready) {
        if (mysql_library_init(0, NULL, NULL) != 0)
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL,
                                  "cannot initialise the MariaDB client library");
        mys_library_ready = 1;
    }
    return DSRC_OK;
}

static void mys_unload(void)
{
    if (mys_library_ready) {
        mysql_library_end();
        mys_library_ready = 0;
    }
}

/* Limits on single values (ABI 1.1), checked by the host with file:line. */
static const dsrc_option_limit mys_limits[] = {
    {"port", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 1, 65535, NULL, NULL, {NULL, NULL}},
    {"connect_timeout", DSRC_LIMIT_MIN, 0, 0, NULL, NULL, {NULL, NULL}},
    {"read_timeout", DSRC_LIMIT_MIN, 0, 0, NULL, NULL, {NULL, NULL}},
    DSRC_OPTION_LIMIT_END,
};

static const dsrc_driver mys_driver = {
    .abi_version = DSRC_ABI_VERSION,
    .name = "mysql",
    .option_limits = mys_limits,
    .version = MYS_VERSION,
    .description = "MySQL and MariaDB servers (MariaDB Connector/C)",
    .capabilities = DSRC_CAP_CANCEL | DSRC_CAP_DISCOVER | DSRC_CAP_CURSOR | DSRC_CAP_REPLICAS |
                    DSRC_CAP_QUERY,
    .options = mys_options,
    DSRC_DRIVER_CALLS(mys),
    .describe = mys_describe,
    .discover = mys_discover,
    .cancel = mys_cancel,
    .query = mys_run_query,
    .unload = mys_unload,
};

DSRC_PLUGIN_INIT(mys_driver, &mys_host, mys_setup)
