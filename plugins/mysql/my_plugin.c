/*
 * my_plugin.c -- the mysql connector: MySQL and MariaDB servers through
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
#include "my.h"

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
    DSRC_OPTION_END
};

static void mys_unload(void)
{
    if (mys_library_ready) {
        mysql_library_end();
        mys_library_ready = 0;
    }
}

DSRC_EXPORT dsrc_status dsrc_plugin_init(uint32_t host_abi_version, const dsrc_host *host,
                                         dsrc_driver *drv, dsrc_error *err)
{
    if (host_abi_version / 10000 != DSRC_ABI_MAJOR)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "mysql plugin implements ABI %d.%d, host has %u.%u",
                              DSRC_ABI_MAJOR, DSRC_ABI_MINOR, host_abi_version / 10000,
                              host_abi_version % 10000);
    if (!drv)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "no driver struct");
    if (!mys_library_ready) {
        if (mysql_library_init(0, NULL, NULL) != 0)
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL,
                                  "cannot initialise the MariaDB client library");
        mys_library_ready = 1;
    }
    mys_host = host;
    DSRC_DRIVER_SET(drv, abi_version, DSRC_ABI_VERSION);
    DSRC_DRIVER_SET(drv, name, "mysql");
    DSRC_DRIVER_SET(drv, version, MYS_VERSION);
    DSRC_DRIVER_SET(drv, description, "MySQL and MariaDB servers (MariaDB Connector/C)");
    DSRC_DRIVER_SET(drv, capabilities,
                    DSRC_CAP_CANCEL | DSRC_CAP_DISCOVER | DSRC_CAP_CURSOR | DSRC_CAP_REPLICAS);
    DSRC_DRIVER_SET(drv, options, mys_options);
    DSRC_DRIVER_SET(drv, open, mys_open);
    DSRC_DRIVER_SET(drv, close, mys_close);
    DSRC_DRIVER_SET(drv, ping, mys_ping);
    DSRC_DRIVER_SET(drv, list, mys_list);
    DSRC_DRIVER_SET(drv, describe, mys_describe);
    DSRC_DRIVER_SET(drv, discover, mys_discover);
    DSRC_DRIVER_SET(drv, fetch, mys_fetch);
    DSRC_DRIVER_SET(drv, cancel, mys_cancel);
    DSRC_DRIVER_SET(drv, unload, mys_unload);
    return DSRC_OK;
}
