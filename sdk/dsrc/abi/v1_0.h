/* SPDX-License-Identifier: Apache-2.0 */
/*
 * <dsrc/abi/v1_0.h> -- the dsrc plugin ABI 1.0, frozen.
 *
 * FROZEN: this file never changes.  It is what plugins built against ABI
 * 1.0 were compiled with, every name prefixed dsrc_v1_0_ so that it can be
 * included beside <dsrc/plugin.h>.  The host's tests check that the live
 * <dsrc/plugin.h> still lays every 1.0 member out at the same offset with
 * the same size, and that constants and enumerations keep their values;
 * `dsrc abi-check --target 1.0` hands a plugin a driver and host of the
 * sizes below.  A plugin that must run on 1.0 hosts can be built against
 * this header alone.  What 1.1 appended is in <dsrc/abi/v1_1.h>; a later
 * minor adds its own file and never changes this one.
 */
#ifndef DSRC_ABI_V1_0_H
#define DSRC_ABI_V1_0_H

#include <stddef.h>
#include <stdint.h>

#define DSRC_V1_0_ABI_MAJOR 1
#define DSRC_V1_0_ABI_MINOR 0
#define DSRC_V1_0_ABI_VERSION 10000
#define DSRC_V1_0_ABI_SYMBOL "dsrc_plugin_abi"
#define DSRC_V1_0_INIT_SYMBOL "dsrc_plugin_init"
#define DSRC_V1_0_ABI_MAGIC 0x44535243u
#define DSRC_V1_0_BACKEND_CODE_MAX 16
#define DSRC_V1_0_CURSOR_MAX 1024

#define DSRC_V1_0_OPT_REQUIRED 0x1u
#define DSRC_V1_0_OPT_SECRET 0x2u

#define DSRC_V1_0_CAP_CANCEL 0x01u
#define DSRC_V1_0_CAP_CONN_THREADSAFE 0x02u
#define DSRC_V1_0_CAP_DISCOVER 0x04u
#define DSRC_V1_0_CAP_CURSOR 0x08u
#define DSRC_V1_0_CAP_CSV 0x10u
#define DSRC_V1_0_CAP_RAW 0x20u
#define DSRC_V1_0_CAP_REPLICAS 0x40u
#define DSRC_V1_0_CAP_STORAGE 0x80u

typedef enum dsrc_v1_0_status {
    DSRC_V1_0_OK = 0,
    DSRC_V1_0_E_INVALID_CONFIG = 1,
    DSRC_V1_0_E_AUTH = 2,
    DSRC_V1_0_E_PERMISSION = 3,
    DSRC_V1_0_E_UNREACHABLE = 4,
    DSRC_V1_0_E_TIMEOUT = 5,
    DSRC_V1_0_E_NOT_FOUND = 6,
    DSRC_V1_0_E_UNSUPPORTED = 7,
    DSRC_V1_0_E_CANCELLED = 8,
    DSRC_V1_0_E_INVALID_ARGUMENT = 9,
    DSRC_V1_0_E_BACKEND = 10,
    DSRC_V1_0_E_INTERNAL = 11
} dsrc_v1_0_status;

typedef enum dsrc_v1_0_option_type {
    DSRC_V1_0_OPT_STRING = 0,
    DSRC_V1_0_OPT_INT = 1,
    DSRC_V1_0_OPT_BOOL = 2,
    DSRC_V1_0_OPT_DURATION = 3,
    DSRC_V1_0_OPT_PATH = 4,
    DSRC_V1_0_OPT_ENUM = 5,
    DSRC_V1_0_OPT_DOUBLE = 6
} dsrc_v1_0_option_type;

typedef enum dsrc_v1_0_log_level {
    DSRC_V1_0_LOG_ERROR = 3,
    DSRC_V1_0_LOG_WARNING = 4,
    DSRC_V1_0_LOG_NOTICE = 5,
    DSRC_V1_0_LOG_INFO = 6,
    DSRC_V1_0_LOG_DEBUG = 7
} dsrc_v1_0_log_level;

typedef enum dsrc_v1_0_location {
    DSRC_V1_0_LOC_ON_PREM = 0,
    DSRC_V1_0_LOC_CLOUD = 1,
    DSRC_V1_0_LOC_HYBRID = 2
} dsrc_v1_0_location;

typedef enum dsrc_v1_0_role {
    DSRC_V1_0_ROLE_UNKNOWN = 0,
    DSRC_V1_0_ROLE_PRIMARY = 1,
    DSRC_V1_0_ROLE_REPLICA = 2,
    DSRC_V1_0_ROLE_STANDALONE = 3
} dsrc_v1_0_role;

typedef enum dsrc_v1_0_item_kind {
    DSRC_V1_0_ITEM_OTHER = 0,
    DSRC_V1_0_ITEM_DATABASE = 1,
    DSRC_V1_0_ITEM_SCHEMA = 2,
    DSRC_V1_0_ITEM_TABLE = 3,
    DSRC_V1_0_ITEM_VIEW = 4,
    DSRC_V1_0_ITEM_MATERIALIZED_VIEW = 5,
    DSRC_V1_0_ITEM_FOREIGN_TABLE = 6,
    DSRC_V1_0_ITEM_PARTITIONED_TABLE = 7,
    DSRC_V1_0_ITEM_COLLECTION = 8,
    DSRC_V1_0_ITEM_CONTAINER = 9,
    DSRC_V1_0_ITEM_DIRECTORY = 10,
    DSRC_V1_0_ITEM_BLOB = 11,
    DSRC_V1_0_ITEM_FILE = 12
} dsrc_v1_0_item_kind;

typedef enum dsrc_v1_0_type {
    DSRC_V1_0_T_NULL = 0,
    DSRC_V1_0_T_BOOL = 1,
    DSRC_V1_0_T_INT64 = 2,
    DSRC_V1_0_T_DOUBLE = 3,
    DSRC_V1_0_T_TEXT = 4,
    DSRC_V1_0_T_BYTES = 5,
    DSRC_V1_0_T_TIMESTAMP = 6,
    DSRC_V1_0_T_JSON = 7
} dsrc_v1_0_type;

typedef enum dsrc_v1_0_fetch_mode {
    DSRC_V1_0_FETCH_ROWS = 0,
    DSRC_V1_0_FETCH_CSV = 1,
    DSRC_V1_0_FETCH_RAW = 2
} dsrc_v1_0_fetch_mode;

/* Opaque types: only pointers to them cross the boundary. */
typedef struct dsrc_v1_0_ctx dsrc_v1_0_ctx;
typedef struct dsrc_v1_0_conn dsrc_v1_0_conn;

/* ---- self-sized structs (may grow by appending after 1.0) ---- */

typedef struct dsrc_v1_0_error {
    uint32_t struct_size;
    dsrc_v1_0_status status;
    int retryable;
    int connection_broken;
    char backend_code[DSRC_V1_0_BACKEND_CODE_MAX];
    char *message;
    void (*release)(struct dsrc_v1_0_error *err);
    void *private_data;
} dsrc_v1_0_error;

typedef struct dsrc_v1_0_host {
    uint32_t struct_size;
    uint32_t abi_version;
    void (*log)(const dsrc_v1_0_ctx *ctx, dsrc_v1_0_log_level level, const char *fmt, ...);
    int (*is_cancelled)(const dsrc_v1_0_ctx *ctx);
    const char *(*source_name)(const dsrc_v1_0_ctx *ctx);
} dsrc_v1_0_host;

/* ---- frozen structs (array elements: never change within major 1) ---- */

typedef struct dsrc_v1_0_kv {
    const char *key;
    const char *value;
} dsrc_v1_0_kv;

typedef struct dsrc_v1_0_option {
    const char *name;
    dsrc_v1_0_option_type type;
    unsigned flags;
    const char *default_value;
    const char *choices;
    const char *doc;
    const void *reserved[2];
} dsrc_v1_0_option;

typedef struct dsrc_v1_0_column {
    const char *name;
    dsrc_v1_0_type type;
    const char *native_type;
    int nullable;
    int primary_key;
    const char *default_value;
    const char *comment;
    const void *reserved[2];
} dsrc_v1_0_column;

typedef struct dsrc_v1_0_cell {
    dsrc_v1_0_type type;
    union {
        int b;
        int64_t i;
        double d;
        struct {
            const char *ptr;
            size_t len;
        } s;
    } v;
} dsrc_v1_0_cell;

/* ---- self-sized structs, continued ---- */

typedef struct dsrc_v1_0_open_params {
    uint32_t struct_size;
    const char *source;
    const dsrc_v1_0_kv *options;
    size_t n_options;
    dsrc_v1_0_location location;
    int endpoint;
    const char *tls_mode;
    const char *tls_ca;
    const char *tls_cert;
    const char *tls_key;
    const dsrc_v1_0_kv *cloud;
    size_t n_cloud;
    const char *replica_set;
    const char *read_policy;
    const char *tls_key_passphrase;
    const char *const *replica_hosts;
    size_t n_replica_hosts;
} dsrc_v1_0_open_params;

typedef struct dsrc_v1_0_ping_info {
    uint32_t struct_size;
    dsrc_v1_0_role role;
    char server_version[64];
    char endpoint[128];
} dsrc_v1_0_ping_info;

typedef struct dsrc_v1_0_item {
    uint32_t struct_size;
    const char *path;
    const char *name;
    dsrc_v1_0_item_kind kind;
    int container;
    int64_t rows;
    int rows_estimated;
    int64_t size_bytes;
    int64_t mtime;
    const char *comment;
} dsrc_v1_0_item;

typedef struct dsrc_v1_0_item_sink {
    uint32_t struct_size;
    void *user;
    int (*item)(void *user, const dsrc_v1_0_item *item);
} dsrc_v1_0_item_sink;

typedef struct dsrc_v1_0_metadata {
    uint32_t struct_size;
    const dsrc_v1_0_item *item;
    const dsrc_v1_0_column *columns;
    size_t n_columns;
    const dsrc_v1_0_kv *properties;
    size_t n_properties;
} dsrc_v1_0_metadata;

typedef struct dsrc_v1_0_meta_sink {
    uint32_t struct_size;
    void *user;
    int (*metadata)(void *user, const dsrc_v1_0_metadata *md);
} dsrc_v1_0_meta_sink;

typedef struct dsrc_v1_0_discover_req {
    uint32_t struct_size;
    const char *path;
    int include_system;
} dsrc_v1_0_discover_req;

typedef struct dsrc_v1_0_row_sink {
    uint32_t struct_size;
    void *user;
    int (*schema)(void *user, const dsrc_v1_0_column *columns, size_t n_columns);
    int (*row)(void *user, const dsrc_v1_0_cell *cells, size_t n_cells);
} dsrc_v1_0_row_sink;

typedef struct dsrc_v1_0_byte_sink {
    uint32_t struct_size;
    void *user;
    int (*begin)(void *user, const char *media_type, int64_t total_size);
    int (*write)(void *user, const void *data, size_t len);
} dsrc_v1_0_byte_sink;

typedef struct dsrc_v1_0_fetch_req {
    uint32_t struct_size;
    const char *item;
    const char *const *columns;
    size_t n_columns;
    int64_t limit;
    const char *cursor_field;
    const char *cursor_value;
    dsrc_v1_0_fetch_mode mode;
} dsrc_v1_0_fetch_req;

typedef struct dsrc_v1_0_fetch_result {
    uint32_t struct_size;
    dsrc_v1_0_fetch_mode mode;
    uint64_t rows;
    uint64_t bytes;
    int has_cursor;
    char cursor_max[DSRC_V1_0_CURSOR_MAX];
} dsrc_v1_0_fetch_result;

typedef struct dsrc_v1_0_storage_info {
    uint32_t struct_size;
    int64_t used_bytes;
    int64_t free_bytes;
    int64_t items;
} dsrc_v1_0_storage_info;

typedef struct dsrc_v1_0_driver {
    uint32_t struct_size;
    uint32_t abi_version;
    const char *name;
    const char *version;
    const char *description;
    uint32_t capabilities;
    const dsrc_v1_0_option *options;
    dsrc_v1_0_status (*open)(const dsrc_v1_0_ctx *ctx, const dsrc_v1_0_open_params *params,
                             dsrc_v1_0_conn **out, dsrc_v1_0_error *err);
    void (*close)(dsrc_v1_0_conn *conn);
    dsrc_v1_0_status (*ping)(const dsrc_v1_0_ctx *ctx, dsrc_v1_0_conn *conn,
                             dsrc_v1_0_ping_info *info, dsrc_v1_0_error *err);
    dsrc_v1_0_status (*list)(const dsrc_v1_0_ctx *ctx, dsrc_v1_0_conn *conn,
                             const char *path, const dsrc_v1_0_item_sink *sink,
                             dsrc_v1_0_error *err);
    dsrc_v1_0_status (*describe)(const dsrc_v1_0_ctx *ctx, dsrc_v1_0_conn *conn,
                                 const char *item, const dsrc_v1_0_meta_sink *sink,
                                 dsrc_v1_0_error *err);
    dsrc_v1_0_status (*discover)(const dsrc_v1_0_ctx *ctx, dsrc_v1_0_conn *conn,
                                 const dsrc_v1_0_discover_req *req,
                                 const dsrc_v1_0_meta_sink *sink, dsrc_v1_0_error *err);
    dsrc_v1_0_status (*fetch)(const dsrc_v1_0_ctx *ctx, dsrc_v1_0_conn *conn,
                              const dsrc_v1_0_fetch_req *req,
                              const dsrc_v1_0_row_sink *rows,
                              const dsrc_v1_0_byte_sink *bytes,
                              dsrc_v1_0_fetch_result *result, dsrc_v1_0_error *err);
    dsrc_v1_0_status (*cancel)(dsrc_v1_0_conn *conn);
    void (*unload)(void);
    dsrc_v1_0_status (*storage)(const dsrc_v1_0_ctx *ctx, dsrc_v1_0_conn *conn,
                                dsrc_v1_0_storage_info *info, dsrc_v1_0_error *err);
} dsrc_v1_0_driver;

typedef struct dsrc_v1_0_abi_info {
    uint32_t struct_size;
    uint32_t magic;
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t driver_size;
    uint32_t host_size;
    uint32_t option_size;
    uint32_t column_size;
    uint32_t cell_size;
    uint32_t error_size;
} dsrc_v1_0_abi_info;

/* The entry points' signatures. */
typedef const dsrc_v1_0_abi_info *(*dsrc_v1_0_plugin_abi_fn)(void);
typedef dsrc_v1_0_status (*dsrc_v1_0_plugin_init_fn)(uint32_t host_abi_version,
                                                     const dsrc_v1_0_host *host,
                                                     dsrc_v1_0_driver *driver,
                                                     dsrc_v1_0_error *err);

#endif
