/* SPDX-License-Identifier: Apache-2.0 */
/*
 * <dsrc/abi/v1_1.h> -- what the dsrc plugin ABI 1.1 added to 1.0, frozen.
 *
 * FROZEN: this file never changes.  It is what plugins built against ABI
 * 1.1 were compiled with: the structs 1.1 grew, in full, and the ones it
 * introduced, every name prefixed dsrc_v1_1_; everything else is as in
 * <dsrc/abi/v1_0.h>, which this file includes.  The host's tests check that
 * the live <dsrc/plugin.h> still lays every 1.1 member out at the same
 * offset with the same size, and that the 1.1 constants and enumeration
 * values keep their values; `dsrc abi-check --target 1.1` hands a plugin a
 * driver and host of the sizes below.  When ABI 1.2 appends members, a
 * <dsrc/abi/v1_2.h> is added beside this file; this one never changes.
 */
#ifndef DSRC_ABI_V1_1_H
#define DSRC_ABI_V1_1_H

#include "v1_0.h"

#define DSRC_V1_1_ABI_MINOR 1
#define DSRC_V1_1_ABI_VERSION 10001

#define DSRC_V1_1_FK_NO_ACTION "NO ACTION"
#define DSRC_V1_1_FK_RESTRICT "RESTRICT"
#define DSRC_V1_1_FK_CASCADE "CASCADE"
#define DSRC_V1_1_FK_SET_NULL "SET NULL"
#define DSRC_V1_1_FK_SET_DEFAULT "SET DEFAULT"

#define DSRC_V1_1_LIMIT_MIN 0x1u
#define DSRC_V1_1_LIMIT_MAX 0x2u

typedef enum dsrc_v1_1_discover_mode {
    DSRC_V1_1_DISCOVER_BALANCED = 0,
    DSRC_V1_1_DISCOVER_CONSERVATIVE = 1,
    DSRC_V1_1_DISCOVER_AGGRESSIVE = 2
} dsrc_v1_1_discover_mode;

/* ---- frozen structs (array elements: never change within major 1) ---- */

typedef struct dsrc_v1_1_foreign_key {
    const char *name;
    const char *const *columns;
    const char *ref_item;
    const char *const *ref_columns;
    size_t n_columns;
    const char *on_update;
    const char *on_delete;
    const void *reserved[2];
} dsrc_v1_1_foreign_key;

typedef struct dsrc_v1_1_option_limit {
    const char *name;
    unsigned flags;
    int64_t min;
    int64_t max;
    const char *pattern;
    const char *pattern_doc;
    const void *reserved[2];
} dsrc_v1_1_option_limit;

/* ---- self-sized structs (may grow by appending after 1.1) ---- */

typedef struct dsrc_v1_1_metadata {
    uint32_t struct_size;
    const dsrc_v1_0_item *item;
    const dsrc_v1_0_column *columns;
    size_t n_columns;
    const dsrc_v1_0_kv *properties;
    size_t n_properties;
    const dsrc_v1_1_foreign_key *foreign_keys;
    size_t n_foreign_keys;
} dsrc_v1_1_metadata;

typedef struct dsrc_v1_1_discover_result {
    uint32_t struct_size;
    int64_t queries;
} dsrc_v1_1_discover_result;

typedef struct dsrc_v1_1_discover_req {
    uint32_t struct_size;
    const char *path;
    int include_system;
    dsrc_v1_1_discover_result *result;
    dsrc_v1_1_discover_mode mode;
} dsrc_v1_1_discover_req;

typedef struct dsrc_v1_1_host {
    uint32_t struct_size;
    uint32_t abi_version;
    void (*log)(const dsrc_v1_0_ctx *ctx, dsrc_v1_0_log_level level, const char *fmt, ...);
    int (*is_cancelled)(const dsrc_v1_0_ctx *ctx);
    const char *(*source_name)(const dsrc_v1_0_ctx *ctx);
    int (*cancel_fd)(const dsrc_v1_0_ctx *ctx);
} dsrc_v1_1_host;

typedef struct dsrc_v1_1_driver {
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
                                 const dsrc_v1_1_discover_req *req,
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
    const dsrc_v1_1_option_limit *option_limits;
    dsrc_v1_0_status (*validate)(const dsrc_v1_0_ctx *ctx,
                                 const dsrc_v1_0_open_params *params,
                                 dsrc_v1_0_error *err);
} dsrc_v1_1_driver;

typedef struct dsrc_v1_1_abi_info {
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
    uint32_t foreign_key_size;
    uint32_t option_limit_size;
} dsrc_v1_1_abi_info;

/* The entry points' signatures. */
typedef const dsrc_v1_1_abi_info *(*dsrc_v1_1_plugin_abi_fn)(void);
typedef dsrc_v1_0_status (*dsrc_v1_1_plugin_init_fn)(uint32_t host_abi_version,
                                                     const dsrc_v1_1_host *host,
                                                     dsrc_v1_1_driver *driver,
                                                     dsrc_v1_0_error *err);

#endif
