/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clickhouse.c -- the clickhouse connector: ClickHouse servers over their
 * HTTP interface (libcurl).
 *
 * Built only against <dsrc/plugin.h> and libcurl.  See README.md beside
 * this file for the options, TLS behaviour, item paths, types and errors.
 *
 * Items:
 *   ""              the databases
 *   "db"            its tables and views, with rows and bytes
 *   "db/t"          a table or view; a bare "t" means the source's
 *                   `database`.  Only the first '/' separates.
 */
#include "ch.h"

DSRC_PLUGIN_ABI();

const dsrc_host *ch_host;
static int ch_curl_ready;

static const dsrc_option ch_options[] = {
    {"host", DSRC_OPT_STRING, 0, "localhost", NULL, "server host name or address",
     {NULL, NULL}},
    {"port", DSRC_OPT_INT, 0, "8123", NULL,
     "HTTP interface port (8443 is usual with TLS)", {NULL, NULL}},
    {"database", DSRC_OPT_STRING, 0, "default", NULL,
     "default database: bare item names are tables in it", {NULL, NULL}},
    {"user", DSRC_OPT_STRING, 0, "default", NULL, "user name", {NULL, NULL}},
    {"password", DSRC_OPT_STRING, DSRC_OPT_SECRET, NULL, NULL,
     "password (a secret: fernet:, env: or file: reference); sent as a header",
     {NULL, NULL}},
    {"connect_timeout", DSRC_OPT_DURATION, 0, "10s", NULL,
     "how long to wait for the TCP (and TLS) connection", {NULL, NULL}},
    {"query_timeout", DSRC_OPT_DURATION, 0, "0", NULL,
     "longest a query may run, on the server and here (0: no limit)", {NULL, NULL}},
    DSRC_OPTION_END
};

static const dsrc_option_limit ch_limits[] = {
    {"port", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 1, 65535, NULL, NULL, {NULL, NULL}},
    {"connect_timeout", DSRC_LIMIT_MIN, 1, 0, NULL, NULL, {NULL, NULL}},
    {"query_timeout", DSRC_LIMIT_MIN, 0, 0, NULL, NULL, {NULL, NULL}},
    {"host", 0, 0, 0, "[A-Za-z0-9._:-]+|\\[[0-9A-Fa-f:.]+\\]", "a host name or an address",
     {NULL, NULL}},
    DSRC_OPTION_LIMIT_END,
};

/* libcurl, once per process (curl_global_cleanup() in unload). */
static dsrc_status ch_setup(dsrc_error *err)
{
    if (!ch_curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL,
                                  "cannot initialise libcurl");
        ch_curl_ready = 1;
    }
    return DSRC_OK;
}

static void ch_unload(void)
{
    if (ch_curl_ready) {
        curl_global_cleanup();
        ch_curl_ready = 0;
    }
}

static const dsrc_driver ch_driver = {
    .abi_version = DSRC_ABI_VERSION,
    .name = "clickhouse",
    .version = CH_VERSION,
    .description = "ClickHouse servers over the HTTP interface (libcurl)",
    .capabilities = DSRC_CAP_CANCEL | DSRC_CAP_DISCOVER | DSRC_CAP_CURSOR | DSRC_CAP_CSV |
                    DSRC_CAP_QUERY,
    .options = ch_options,
    .option_limits = ch_limits,
    DSRC_DRIVER_CALLS(ch),
    .describe = ch_describe,
    .discover = ch_discover,
    .cancel = ch_cancel,
    .query = ch_run_query,
    .unload = ch_unload,
    .validate = ch_validate,
};

DSRC_PLUGIN_INIT(ch_driver, &ch_host, ch_setup)
