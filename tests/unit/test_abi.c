/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_abi.c -- the live <dsrc/plugin.h> against the frozen ABI 1.0 copy.
 *
 * Every member of every 1.0 struct must keep its offset, size and type;
 * self-sized structs may only have grown; array-element structs must not
 * have changed at all; constants and enumeration values must not move.  A
 * removed or renamed member does not even compile.  Any failure here means
 * plugins built against 1.0 would be misread by this host.
 *
 * The same for what 1.1 added, against the frozen <dsrc/abi/v1_1.h>.
 *
 * ABI 1.1: a plugin built against the frozen 1.0 header alone
 * (tests/fixtures/plugins/v10.c) still loads, describes and discovers,
 * with no foreign keys, and the host never reads past its struct_size; a
 * 1.1 plugin (fk11.c) has its foreign keys, query count and mode hint
 * carried through core/plugin/source.c.
 */
#include <config.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <dsrc/plugin.h>
#include <dsrc/plugin_util.h>
#include <dsrc/abi/v1_0.h>
#include <dsrc/abi/v1_1.h>

#include "base/ctx.h"
#include "config/config.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "plugin/source.h"

#ifndef LOADER_TEST_BUILDDIR
#define LOADER_TEST_BUILDDIR "."
#endif

/* The 1.0 signatures of the function members, spelled with the live types:
 * a changed parameter or return type fails the type checks below. */
typedef void (*v10_release_fn)(dsrc_error *);
typedef void (*v10_log_fn)(const dsrc_ctx *, dsrc_log_level, const char *, ...);
typedef int (*v10_is_cancelled_fn)(const dsrc_ctx *);
typedef const char *(*v10_source_name_fn)(const dsrc_ctx *);
typedef int (*v10_item_fn)(void *, const dsrc_item *);
typedef int (*v10_metadata_fn)(void *, const dsrc_metadata *);
typedef int (*v10_schema_fn)(void *, const dsrc_column *, size_t);
typedef int (*v10_row_fn)(void *, const dsrc_cell *, size_t);
typedef int (*v10_begin_fn)(void *, const char *, int64_t);
typedef int (*v10_write_fn)(void *, const void *, size_t);
typedef dsrc_status (*v10_open_fn)(const dsrc_ctx *, const dsrc_open_params *,
                                   dsrc_conn **, dsrc_error *);
typedef void (*v10_close_fn)(dsrc_conn *);
typedef dsrc_status (*v10_ping_fn)(const dsrc_ctx *, dsrc_conn *, dsrc_ping_info *,
                                   dsrc_error *);
typedef dsrc_status (*v10_list_fn)(const dsrc_ctx *, dsrc_conn *, const char *,
                                   const dsrc_item_sink *, dsrc_error *);
typedef dsrc_status (*v10_describe_fn)(const dsrc_ctx *, dsrc_conn *, const char *,
                                       const dsrc_meta_sink *, dsrc_error *);
typedef dsrc_status (*v10_discover_fn)(const dsrc_ctx *, dsrc_conn *,
                                       const dsrc_discover_req *,
                                       const dsrc_meta_sink *, dsrc_error *);
typedef dsrc_status (*v10_fetch_fn)(const dsrc_ctx *, dsrc_conn *, const dsrc_fetch_req *,
                                    const dsrc_row_sink *, const dsrc_byte_sink *,
                                    dsrc_fetch_result *, dsrc_error *);
typedef dsrc_status (*v10_cancel_fn)(dsrc_conn *);
typedef void (*v10_unload_fn)(void);
typedef dsrc_status (*v10_storage_fn)(const dsrc_ctx *, dsrc_conn *, dsrc_storage_info *,
                                      dsrc_error *);
typedef const dsrc_abi_info *(*v10_plugin_abi_fn)(void);
typedef dsrc_status (*v10_plugin_init_fn)(uint32_t, const dsrc_host *, dsrc_driver *,
                                          dsrc_error *);

typedef struct abi_member {
    const char *name;
    size_t off, size;               /* live header  */
    size_t frozen_off, frozen_size; /* ABI 1.0      */
    int type_ok;
} abi_member;

#define ABI_REAL(S) dsrc_##S
#define ABI_FROZEN(S) dsrc_v1_0_##S
#define ABI_MSIZE(T, m) sizeof(((T *)0)->m)
#define ABI_MTYPE(T, m) __typeof__(((T *)0)->m)

/* A member whose type is spelled the same in both copies (integers, plain
 * pointers, char arrays). */
#define M(S, m)                                                               \
    {#S "." #m, offsetof(ABI_REAL(S), m), ABI_MSIZE(ABI_REAL(S), m),          \
     offsetof(ABI_FROZEN(S), m), ABI_MSIZE(ABI_FROZEN(S), m),                 \
     __builtin_types_compatible_p(ABI_MTYPE(ABI_REAL(S), m),                  \
                                  ABI_MTYPE(ABI_FROZEN(S), m))}
/* A member whose 1.0 type is T in live names (enums, pointers to ABI
 * structs, function pointers). */
#define MT(S, m, T)                                                           \
    {#S "." #m, offsetof(ABI_REAL(S), m), ABI_MSIZE(ABI_REAL(S), m),          \
     offsetof(ABI_FROZEN(S), m), ABI_MSIZE(ABI_FROZEN(S), m),                 \
     __builtin_types_compatible_p(ABI_MTYPE(ABI_REAL(S), m), T)}

/* An unnamed union or struct member: never type-compatible with another
 * declaration, so only its place is checked here; its members are listed
 * one by one. */
#define MA(S, m)                                                              \
    {#S "." #m, offsetof(ABI_REAL(S), m), ABI_MSIZE(ABI_REAL(S), m),          \
     offsetof(ABI_FROZEN(S), m), ABI_MSIZE(ABI_FROZEN(S), m), 1}

static const abi_member abi_members[] = {
    M(error, struct_size), MT(error, status, dsrc_status), M(error, retryable),
    M(error, connection_broken), M(error, backend_code), M(error, message),
    MT(error, release, v10_release_fn), M(error, private_data),

    M(kv, key), M(kv, value),

    M(option, name), MT(option, type, dsrc_option_type), M(option, flags),
    M(option, default_value), M(option, choices), M(option, doc), M(option, reserved),

    M(host, struct_size), M(host, abi_version), MT(host, log, v10_log_fn),
    MT(host, is_cancelled, v10_is_cancelled_fn),
    MT(host, source_name, v10_source_name_fn),

    M(open_params, struct_size), M(open_params, source),
    MT(open_params, options, const dsrc_kv *), M(open_params, n_options),
    MT(open_params, location, dsrc_location), M(open_params, endpoint),
    M(open_params, tls_mode), M(open_params, tls_ca), M(open_params, tls_cert),
    M(open_params, tls_key), MT(open_params, cloud, const dsrc_kv *),
    M(open_params, n_cloud), M(open_params, replica_set), M(open_params, read_policy),
    M(open_params, tls_key_passphrase), M(open_params, replica_hosts),
    M(open_params, n_replica_hosts),

    M(ping_info, struct_size), MT(ping_info, role, dsrc_role),
    M(ping_info, server_version), M(ping_info, endpoint),

    M(item, struct_size), M(item, path), M(item, name), MT(item, kind, dsrc_item_kind),
    M(item, container), M(item, rows), M(item, rows_estimated), M(item, size_bytes),
    M(item, mtime), M(item, comment),

    M(item_sink, struct_size), M(item_sink, user), MT(item_sink, item, v10_item_fn),

    M(column, name), MT(column, type, dsrc_type), M(column, native_type),
    M(column, nullable), M(column, primary_key), M(column, default_value),
    M(column, comment), M(column, reserved),

    M(metadata, struct_size), MT(metadata, item, const dsrc_item *),
    MT(metadata, columns, const dsrc_column *), M(metadata, n_columns),
    MT(metadata, properties, const dsrc_kv *), M(metadata, n_properties),

    M(meta_sink, struct_size), M(meta_sink, user),
    MT(meta_sink, metadata, v10_metadata_fn),

    M(discover_req, struct_size), M(discover_req, path), M(discover_req, include_system),

    MT(cell, type, dsrc_type), MA(cell, v), M(cell, v.b), M(cell, v.i), M(cell, v.d),
    MA(cell, v.s), M(cell, v.s.ptr), M(cell, v.s.len),

    M(row_sink, struct_size), M(row_sink, user), MT(row_sink, schema, v10_schema_fn),
    MT(row_sink, row, v10_row_fn),

    M(byte_sink, struct_size), M(byte_sink, user), MT(byte_sink, begin, v10_begin_fn),
    MT(byte_sink, write, v10_write_fn),

    M(fetch_req, struct_size), M(fetch_req, item), M(fetch_req, columns),
    M(fetch_req, n_columns), M(fetch_req, limit), M(fetch_req, cursor_field),
    M(fetch_req, cursor_value), MT(fetch_req, mode, dsrc_fetch_mode),

    M(fetch_result, struct_size), MT(fetch_result, mode, dsrc_fetch_mode),
    M(fetch_result, rows), M(fetch_result, bytes), M(fetch_result, has_cursor),
    M(fetch_result, cursor_max),

    M(driver, struct_size), M(driver, abi_version), M(driver, name), M(driver, version),
    M(driver, description), M(driver, capabilities),
    MT(driver, options, const dsrc_option *), MT(driver, open, v10_open_fn),
    MT(driver, close, v10_close_fn), MT(driver, ping, v10_ping_fn),
    MT(driver, list, v10_list_fn), MT(driver, describe, v10_describe_fn),
    MT(driver, discover, v10_discover_fn), MT(driver, fetch, v10_fetch_fn),
    MT(driver, cancel, v10_cancel_fn), MT(driver, unload, v10_unload_fn),
    MT(driver, storage, v10_storage_fn),

    M(storage_info, struct_size), M(storage_info, used_bytes),
    M(storage_info, free_bytes), M(storage_info, items),

    M(abi_info, struct_size), M(abi_info, magic), M(abi_info, abi_major),
    M(abi_info, abi_minor), M(abi_info, driver_size), M(abi_info, host_size),
    M(abi_info, option_size), M(abi_info, column_size), M(abi_info, cell_size),
    M(abi_info, error_size),
};

typedef struct abi_struct {
    const char *name;
    size_t size, frozen_size;
    size_t align, frozen_align;
    int frozen; /* 1: an array element, must not change at all */
} abi_struct;

#define S_SELF(S)                                                             \
    {#S, sizeof(ABI_REAL(S)), sizeof(ABI_FROZEN(S)), _Alignof(ABI_REAL(S)),  \
     _Alignof(ABI_FROZEN(S)), 0}
#define S_FROZEN(S)                                                           \
    {#S, sizeof(ABI_REAL(S)), sizeof(ABI_FROZEN(S)), _Alignof(ABI_REAL(S)),  \
     _Alignof(ABI_FROZEN(S)), 1}

static const abi_struct abi_structs[] = {
    S_SELF(error),       S_SELF(host),         S_SELF(open_params),
    S_SELF(ping_info),   S_SELF(item),         S_SELF(item_sink),
    S_SELF(metadata),    S_SELF(meta_sink),    S_SELF(discover_req),
    S_SELF(row_sink),    S_SELF(byte_sink),    S_SELF(fetch_req),
    S_SELF(fetch_result), S_SELF(driver),      S_SELF(abi_info),
    S_SELF(storage_info),
    S_FROZEN(kv),        S_FROZEN(option),     S_FROZEN(column),
    S_FROZEN(cell),
};

START_TEST(test_members_keep_their_place)
{
    const abi_member *m = &abi_members[_i];

    ck_assert_msg(m->off == m->frozen_off, "%s moved: offset %zu, ABI 1.0 has %zu",
                  m->name, m->off, m->frozen_off);
    ck_assert_msg(m->size == m->frozen_size, "%s changed size: %zu, ABI 1.0 has %zu",
                  m->name, m->size, m->frozen_size);
    ck_assert_msg(m->type_ok, "%s changed type", m->name);
}
END_TEST

START_TEST(test_struct_sizes)
{
    const abi_struct *s = &abi_structs[_i];

    if (s->frozen)
        ck_assert_msg(s->size == s->frozen_size,
                      "dsrc_%s is frozen for ABI major 1 but is %zu bytes, ABI 1.0 "
                      "has %zu",
                      s->name, s->size, s->frozen_size);
    else
        ck_assert_msg(s->size >= s->frozen_size,
                      "dsrc_%s shrank: %zu bytes, ABI 1.0 has %zu", s->name, s->size,
                      s->frozen_size);
    ck_assert_msg(s->align == s->frozen_align, "dsrc_%s changed alignment: %zu, was %zu",
                  s->name, s->align, s->frozen_align);
}
END_TEST

/* The 1.0 driver ends with storage, the optional member added last; the
 * loader still accepts drivers that end with unload (built before storage
 * was added: their storage reads as NULL), so unload must stay right before
 * storage and storage must stay the last 1.0 member. */
START_TEST(test_driver_1_0_size)
{
    size_t end = offsetof(dsrc_v1_0_driver, storage) + sizeof(void (*)(void));
    size_t min = offsetof(dsrc_v1_0_driver, unload) + sizeof(void (*)(void));

    ck_assert_uint_eq(end, sizeof(dsrc_v1_0_driver));
    ck_assert_uint_ge(sizeof(dsrc_driver), end);
    ck_assert_uint_eq(offsetof(dsrc_driver, storage) + sizeof(void (*)(void)), end);
    ck_assert_uint_eq(offsetof(dsrc_driver, storage), min);
}
END_TEST

START_TEST(test_constants)
{
    ck_assert_int_eq(DSRC_ABI_MAJOR, DSRC_V1_0_ABI_MAJOR);
    ck_assert_int_ge(DSRC_ABI_MINOR, DSRC_V1_0_ABI_MINOR);
    ck_assert_int_eq(DSRC_ABI_VERSION_1_0, DSRC_V1_0_ABI_VERSION);
    ck_assert_int_eq(DSRC_ABI_VERSION, DSRC_ABI_MAJOR * 10000 + DSRC_ABI_MINOR);
    ck_assert_str_eq(DSRC_ABI_SYMBOL, DSRC_V1_0_ABI_SYMBOL);
    ck_assert_str_eq(DSRC_INIT_SYMBOL, DSRC_V1_0_INIT_SYMBOL);
    ck_assert_uint_eq(DSRC_ABI_MAGIC, DSRC_V1_0_ABI_MAGIC);
    ck_assert_int_eq(DSRC_BACKEND_CODE_MAX, DSRC_V1_0_BACKEND_CODE_MAX);
    ck_assert_int_eq(DSRC_CURSOR_MAX, DSRC_V1_0_CURSOR_MAX);

    ck_assert_uint_eq(DSRC_OPT_REQUIRED, DSRC_V1_0_OPT_REQUIRED);
    ck_assert_uint_eq(DSRC_OPT_SECRET, DSRC_V1_0_OPT_SECRET);

    ck_assert_uint_eq(DSRC_CAP_CANCEL, DSRC_V1_0_CAP_CANCEL);
    ck_assert_uint_eq(DSRC_CAP_CONN_THREADSAFE, DSRC_V1_0_CAP_CONN_THREADSAFE);
    ck_assert_uint_eq(DSRC_CAP_DISCOVER, DSRC_V1_0_CAP_DISCOVER);
    ck_assert_uint_eq(DSRC_CAP_CURSOR, DSRC_V1_0_CAP_CURSOR);
    ck_assert_uint_eq(DSRC_CAP_CSV, DSRC_V1_0_CAP_CSV);
    ck_assert_uint_eq(DSRC_CAP_RAW, DSRC_V1_0_CAP_RAW);
    ck_assert_uint_eq(DSRC_CAP_REPLICAS, DSRC_V1_0_CAP_REPLICAS);
    ck_assert_uint_eq(DSRC_CAP_STORAGE, DSRC_V1_0_CAP_STORAGE);
}
END_TEST

START_TEST(test_enums)
{
    ck_assert_uint_eq(sizeof(dsrc_status), sizeof(dsrc_v1_0_status));
    ck_assert_int_eq(DSRC_OK, DSRC_V1_0_OK);
    ck_assert_int_eq(DSRC_E_INVALID_CONFIG, DSRC_V1_0_E_INVALID_CONFIG);
    ck_assert_int_eq(DSRC_E_AUTH, DSRC_V1_0_E_AUTH);
    ck_assert_int_eq(DSRC_E_PERMISSION, DSRC_V1_0_E_PERMISSION);
    ck_assert_int_eq(DSRC_E_UNREACHABLE, DSRC_V1_0_E_UNREACHABLE);
    ck_assert_int_eq(DSRC_E_TIMEOUT, DSRC_V1_0_E_TIMEOUT);
    ck_assert_int_eq(DSRC_E_NOT_FOUND, DSRC_V1_0_E_NOT_FOUND);
    ck_assert_int_eq(DSRC_E_UNSUPPORTED, DSRC_V1_0_E_UNSUPPORTED);
    ck_assert_int_eq(DSRC_E_CANCELLED, DSRC_V1_0_E_CANCELLED);
    ck_assert_int_eq(DSRC_E_INVALID_ARGUMENT, DSRC_V1_0_E_INVALID_ARGUMENT);
    ck_assert_int_eq(DSRC_E_BACKEND, DSRC_V1_0_E_BACKEND);
    ck_assert_int_eq(DSRC_E_INTERNAL, DSRC_V1_0_E_INTERNAL);

    ck_assert_uint_eq(sizeof(dsrc_option_type), sizeof(dsrc_v1_0_option_type));
    ck_assert_int_eq(DSRC_OPT_STRING, DSRC_V1_0_OPT_STRING);
    ck_assert_int_eq(DSRC_OPT_INT, DSRC_V1_0_OPT_INT);
    ck_assert_int_eq(DSRC_OPT_BOOL, DSRC_V1_0_OPT_BOOL);
    ck_assert_int_eq(DSRC_OPT_DURATION, DSRC_V1_0_OPT_DURATION);
    ck_assert_int_eq(DSRC_OPT_PATH, DSRC_V1_0_OPT_PATH);
    ck_assert_int_eq(DSRC_OPT_ENUM, DSRC_V1_0_OPT_ENUM);
    ck_assert_int_eq(DSRC_OPT_DOUBLE, DSRC_V1_0_OPT_DOUBLE);

    ck_assert_uint_eq(sizeof(dsrc_log_level), sizeof(dsrc_v1_0_log_level));
    ck_assert_int_eq(DSRC_LOG_ERROR, DSRC_V1_0_LOG_ERROR);
    ck_assert_int_eq(DSRC_LOG_WARNING, DSRC_V1_0_LOG_WARNING);
    ck_assert_int_eq(DSRC_LOG_NOTICE, DSRC_V1_0_LOG_NOTICE);
    ck_assert_int_eq(DSRC_LOG_INFO, DSRC_V1_0_LOG_INFO);
    ck_assert_int_eq(DSRC_LOG_DEBUG, DSRC_V1_0_LOG_DEBUG);

    ck_assert_uint_eq(sizeof(dsrc_location), sizeof(dsrc_v1_0_location));
    ck_assert_int_eq(DSRC_LOC_ON_PREM, DSRC_V1_0_LOC_ON_PREM);
    ck_assert_int_eq(DSRC_LOC_CLOUD, DSRC_V1_0_LOC_CLOUD);
    ck_assert_int_eq(DSRC_LOC_HYBRID, DSRC_V1_0_LOC_HYBRID);

    ck_assert_uint_eq(sizeof(dsrc_role), sizeof(dsrc_v1_0_role));
    ck_assert_int_eq(DSRC_ROLE_UNKNOWN, DSRC_V1_0_ROLE_UNKNOWN);
    ck_assert_int_eq(DSRC_ROLE_PRIMARY, DSRC_V1_0_ROLE_PRIMARY);
    ck_assert_int_eq(DSRC_ROLE_REPLICA, DSRC_V1_0_ROLE_REPLICA);
    ck_assert_int_eq(DSRC_ROLE_STANDALONE, DSRC_V1_0_ROLE_STANDALONE);

    ck_assert_uint_eq(sizeof(dsrc_item_kind), sizeof(dsrc_v1_0_item_kind));
    ck_assert_int_eq(DSRC_ITEM_OTHER, DSRC_V1_0_ITEM_OTHER);
    ck_assert_int_eq(DSRC_ITEM_DATABASE, DSRC_V1_0_ITEM_DATABASE);
    ck_assert_int_eq(DSRC_ITEM_SCHEMA, DSRC_V1_0_ITEM_SCHEMA);
    ck_assert_int_eq(DSRC_ITEM_TABLE, DSRC_V1_0_ITEM_TABLE);
    ck_assert_int_eq(DSRC_ITEM_VIEW, DSRC_V1_0_ITEM_VIEW);
    ck_assert_int_eq(DSRC_ITEM_MATERIALIZED_VIEW, DSRC_V1_0_ITEM_MATERIALIZED_VIEW);
    ck_assert_int_eq(DSRC_ITEM_FOREIGN_TABLE, DSRC_V1_0_ITEM_FOREIGN_TABLE);
    ck_assert_int_eq(DSRC_ITEM_PARTITIONED_TABLE, DSRC_V1_0_ITEM_PARTITIONED_TABLE);
    ck_assert_int_eq(DSRC_ITEM_COLLECTION, DSRC_V1_0_ITEM_COLLECTION);
    ck_assert_int_eq(DSRC_ITEM_CONTAINER, DSRC_V1_0_ITEM_CONTAINER);
    ck_assert_int_eq(DSRC_ITEM_DIRECTORY, DSRC_V1_0_ITEM_DIRECTORY);
    ck_assert_int_eq(DSRC_ITEM_BLOB, DSRC_V1_0_ITEM_BLOB);
    ck_assert_int_eq(DSRC_ITEM_FILE, DSRC_V1_0_ITEM_FILE);

    ck_assert_uint_eq(sizeof(dsrc_type), sizeof(dsrc_v1_0_type));
    ck_assert_int_eq(DSRC_T_NULL, DSRC_V1_0_T_NULL);
    ck_assert_int_eq(DSRC_T_BOOL, DSRC_V1_0_T_BOOL);
    ck_assert_int_eq(DSRC_T_INT64, DSRC_V1_0_T_INT64);
    ck_assert_int_eq(DSRC_T_DOUBLE, DSRC_V1_0_T_DOUBLE);
    ck_assert_int_eq(DSRC_T_TEXT, DSRC_V1_0_T_TEXT);
    ck_assert_int_eq(DSRC_T_BYTES, DSRC_V1_0_T_BYTES);
    ck_assert_int_eq(DSRC_T_TIMESTAMP, DSRC_V1_0_T_TIMESTAMP);
    ck_assert_int_eq(DSRC_T_JSON, DSRC_V1_0_T_JSON);

    ck_assert_uint_eq(sizeof(dsrc_fetch_mode), sizeof(dsrc_v1_0_fetch_mode));
    ck_assert_int_eq(DSRC_FETCH_ROWS, DSRC_V1_0_FETCH_ROWS);
    ck_assert_int_eq(DSRC_FETCH_CSV, DSRC_V1_0_FETCH_CSV);
    ck_assert_int_eq(DSRC_FETCH_RAW, DSRC_V1_0_FETCH_RAW);
}
END_TEST

START_TEST(test_entry_points)
{
    ck_assert(__builtin_types_compatible_p(dsrc_plugin_abi_fn, v10_plugin_abi_fn));
    ck_assert(__builtin_types_compatible_p(dsrc_plugin_init_fn, v10_plugin_init_fn));
    ck_assert(__builtin_types_compatible_p(__typeof__(&dsrc_plugin_init),
                                           v10_plugin_init_fn));
}
END_TEST

/* The magic block a plugin defines with DSRC_PLUGIN_ABI(), compiled here as
 * a plugin would compile it. */
DSRC_PLUGIN_ABI();

START_TEST(test_magic_block_macro)
{
    const dsrc_abi_info *info = dsrc_plugin_abi();

    ck_assert_uint_eq(info->struct_size, sizeof(dsrc_abi_info));
    ck_assert_uint_eq(info->magic, DSRC_V1_0_ABI_MAGIC);
    ck_assert_uint_eq(info->abi_major, DSRC_V1_0_ABI_MAJOR);
    ck_assert_uint_eq(info->abi_minor, DSRC_ABI_MINOR);
    ck_assert_uint_eq(info->driver_size, sizeof(dsrc_driver));
    ck_assert_uint_eq(info->host_size, sizeof(dsrc_host));
    ck_assert_uint_eq(info->option_size, sizeof(dsrc_v1_0_option));
    ck_assert_uint_eq(info->column_size, sizeof(dsrc_v1_0_column));
    ck_assert_uint_eq(info->cell_size, sizeof(dsrc_v1_0_cell));
    ck_assert_uint_eq(info->error_size, sizeof(dsrc_error));
    ck_assert_uint_eq(info->foreign_key_size, sizeof(dsrc_v1_1_foreign_key));
    ck_assert_uint_eq(info->option_limit_size, sizeof(dsrc_v1_1_option_limit));
}
END_TEST

static dsrc_status abi_cancel(dsrc_conn *conn)
{
    return DSRC_OK;
}

static void abi_unload(void)
{
}

/* A host that knows a smaller driver must not have members past its size
 * written: DSRC_DRIVER_SET() and DSRC_HAS_MEMBER() enforce it. */
START_TEST(test_driver_set_respects_struct_size)
{
    union {
        dsrc_driver d;
        unsigned char bytes[sizeof(dsrc_driver)];
    } u;

    memset(&u, 0, sizeof u);
    u.d.struct_size = (uint32_t)offsetof(dsrc_driver, unload);
    DSRC_DRIVER_SET(&u.d, cancel, abi_cancel);
    DSRC_DRIVER_SET(&u.d, unload, abi_unload);
    ck_assert_ptr_eq(u.d.cancel, abi_cancel);
    ck_assert_ptr_null(u.d.unload);
    ck_assert(DSRC_HAS_MEMBER(&u.d, dsrc_driver, cancel));
    ck_assert(!DSRC_HAS_MEMBER(&u.d, dsrc_driver, unload));

    u.d.struct_size = sizeof(dsrc_driver);
    DSRC_DRIVER_SET(&u.d, unload, abi_unload);
    ck_assert_ptr_eq(u.d.unload, abi_unload);
}
END_TEST

START_TEST(test_option_end_is_all_zero)
{
    static const dsrc_option end = DSRC_OPTION_END;
    static const unsigned char zero[sizeof(dsrc_option)];

    ck_assert_int_eq(memcmp(&end, zero, sizeof end), 0);
}
END_TEST

/* The SDK's inline error helper: message, code truncation, release. */
START_TEST(test_error_set_and_release)
{
    dsrc_error err;
    dsrc_status st;

    memset(&err, 0, sizeof err);
    err.struct_size = sizeof err;
    st = dsrc_error_set(&err, DSRC_E_AUTH, 1, "28P01-and-a-very-long-code",
                        "password authentication failed for user %s", "alice");
    ck_assert_int_eq(st, DSRC_E_AUTH);
    ck_assert_int_eq(err.status, DSRC_E_AUTH);
    ck_assert_int_eq(err.retryable, 1);
    ck_assert_uint_eq(strlen(err.backend_code), DSRC_BACKEND_CODE_MAX - 1);
    ck_assert_str_eq(err.message, "password authentication failed for user alice");
    ck_assert_ptr_nonnull(err.release);

    st = dsrc_error_set(&err, DSRC_E_TIMEOUT, 0, NULL, "second");
    ck_assert_int_eq(st, DSRC_E_TIMEOUT);
    ck_assert_str_eq(err.backend_code, "");
    ck_assert_str_eq(err.message, "second");
    err.release(&err);
    ck_assert_ptr_null(err.message);
    ck_assert_ptr_null(err.release);
    ck_assert_int_eq(dsrc_error_set(NULL, DSRC_E_BACKEND, 0, NULL, "x"), DSRC_E_BACKEND);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* ABI 1.1 through the host                                                  */

/* The live header against the frozen 1.1 additions (<dsrc/abi/v1_1.h>), the same
 * checks as for 1.0. */
#define ABI_FROZEN11(S) dsrc_v1_1_##S
typedef int (*v11_cancel_fd_fn)(const dsrc_ctx *);
typedef dsrc_status (*v11_validate_fn)(const dsrc_ctx *, const dsrc_open_params *,
                                       dsrc_error *);
#define M11(S, m)                                                             \
    {#S "." #m, offsetof(ABI_REAL(S), m), ABI_MSIZE(ABI_REAL(S), m),          \
     offsetof(ABI_FROZEN11(S), m), ABI_MSIZE(ABI_FROZEN11(S), m),             \
     __builtin_types_compatible_p(ABI_MTYPE(ABI_REAL(S), m),                  \
                                  ABI_MTYPE(ABI_FROZEN11(S), m))}
#define MT11(S, m, T)                                                         \
    {#S "." #m, offsetof(ABI_REAL(S), m), ABI_MSIZE(ABI_REAL(S), m),          \
     offsetof(ABI_FROZEN11(S), m), ABI_MSIZE(ABI_FROZEN11(S), m),             \
     __builtin_types_compatible_p(ABI_MTYPE(ABI_REAL(S), m), T)}

static const abi_member abi_members_1_1[] = {
    M11(foreign_key, name), M11(foreign_key, columns), M11(foreign_key, ref_item),
    M11(foreign_key, ref_columns), M11(foreign_key, n_columns), M11(foreign_key, on_update),
    M11(foreign_key, on_delete), M11(foreign_key, reserved),

    M11(metadata, struct_size), MT11(metadata, item, const dsrc_item *),
    MT11(metadata, columns, const dsrc_column *), M11(metadata, n_columns),
    MT11(metadata, properties, const dsrc_kv *), M11(metadata, n_properties),
    MT11(metadata, foreign_keys, const dsrc_foreign_key *), M11(metadata, n_foreign_keys),

    M11(discover_result, struct_size), M11(discover_result, queries),

    M11(discover_req, struct_size), M11(discover_req, path), M11(discover_req, include_system),
    MT11(discover_req, result, dsrc_discover_result *),
    MT11(discover_req, mode, dsrc_discover_mode),

    M11(abi_info, struct_size), M11(abi_info, magic), M11(abi_info, abi_major),
    M11(abi_info, abi_minor), M11(abi_info, driver_size), M11(abi_info, host_size),
    M11(abi_info, option_size), M11(abi_info, column_size), M11(abi_info, cell_size),
    M11(abi_info, error_size), M11(abi_info, foreign_key_size),
    M11(abi_info, option_limit_size),

    M11(option_limit, name), M11(option_limit, flags), M11(option_limit, min),
    M11(option_limit, max), M11(option_limit, pattern), M11(option_limit, pattern_doc),
    M11(option_limit, reserved),

    M11(host, struct_size), M11(host, abi_version), MT11(host, log, v10_log_fn),
    MT11(host, is_cancelled, v10_is_cancelled_fn),
    MT11(host, source_name, v10_source_name_fn), MT11(host, cancel_fd, v11_cancel_fd_fn),

    M11(driver, struct_size), M11(driver, abi_version), M11(driver, name),
    M11(driver, version), M11(driver, description), M11(driver, capabilities),
    MT11(driver, options, const dsrc_option *), MT11(driver, open, v10_open_fn),
    MT11(driver, close, v10_close_fn), MT11(driver, ping, v10_ping_fn),
    MT11(driver, list, v10_list_fn), MT11(driver, describe, v10_describe_fn),
    MT11(driver, discover, v10_discover_fn), MT11(driver, fetch, v10_fetch_fn),
    MT11(driver, cancel, v10_cancel_fn), MT11(driver, unload, v10_unload_fn),
    MT11(driver, storage, v10_storage_fn),
    MT11(driver, option_limits, const dsrc_option_limit *),
    MT11(driver, validate, v11_validate_fn),
};

START_TEST(test_1_1_members_keep_their_place)
{
    const abi_member *m = &abi_members_1_1[_i];

    ck_assert_msg(m->off == m->frozen_off, "%s moved: offset %zu, ABI 1.1 has %zu",
                  m->name, m->off, m->frozen_off);
    ck_assert_msg(m->size == m->frozen_size, "%s changed size: %zu, ABI 1.1 has %zu",
                  m->name, m->size, m->frozen_size);
    ck_assert_msg(m->type_ok, "%s changed type", m->name);
}
END_TEST

START_TEST(test_1_1_sizes_and_constants)
{
    /* dsrc_foreign_key is an array element: frozen from 1.1 on. */
    ck_assert_uint_eq(sizeof(dsrc_foreign_key), sizeof(dsrc_v1_1_foreign_key));
    ck_assert_uint_eq(_Alignof(dsrc_foreign_key), _Alignof(dsrc_v1_1_foreign_key));
    /* So is dsrc_option_limit. */
    ck_assert_uint_eq(sizeof(dsrc_option_limit), sizeof(dsrc_v1_1_option_limit));
    ck_assert_uint_eq(_Alignof(dsrc_option_limit), _Alignof(dsrc_v1_1_option_limit));
    ck_assert_uint_ge(sizeof(dsrc_host), sizeof(dsrc_v1_1_host));
    ck_assert_uint_ge(sizeof(dsrc_driver), sizeof(dsrc_v1_1_driver));
    ck_assert_uint_eq(DSRC_LIMIT_MIN, DSRC_V1_1_LIMIT_MIN);
    ck_assert_uint_eq(DSRC_LIMIT_MAX, DSRC_V1_1_LIMIT_MAX);
    ck_assert_uint_ge(sizeof(dsrc_metadata), sizeof(dsrc_v1_1_metadata));
    ck_assert_uint_ge(sizeof(dsrc_discover_req), sizeof(dsrc_v1_1_discover_req));
    ck_assert_uint_ge(sizeof(dsrc_discover_result), sizeof(dsrc_v1_1_discover_result));
    ck_assert_uint_ge(sizeof(dsrc_abi_info), sizeof(dsrc_v1_1_abi_info));
    ck_assert_int_ge(DSRC_ABI_MINOR, DSRC_V1_1_ABI_MINOR);
    ck_assert_int_eq(DSRC_ABI_VERSION_1_1, DSRC_V1_1_ABI_VERSION);
    ck_assert_str_eq(DSRC_FK_NO_ACTION, DSRC_V1_1_FK_NO_ACTION);
    ck_assert_str_eq(DSRC_FK_RESTRICT, DSRC_V1_1_FK_RESTRICT);
    ck_assert_str_eq(DSRC_FK_CASCADE, DSRC_V1_1_FK_CASCADE);
    ck_assert_str_eq(DSRC_FK_SET_NULL, DSRC_V1_1_FK_SET_NULL);
    ck_assert_str_eq(DSRC_FK_SET_DEFAULT, DSRC_V1_1_FK_SET_DEFAULT);
    ck_assert_uint_eq(sizeof(dsrc_discover_mode), sizeof(dsrc_v1_1_discover_mode));
    ck_assert_int_eq(DSRC_DISCOVER_BALANCED, DSRC_V1_1_DISCOVER_BALANCED);
    ck_assert_int_eq(DSRC_DISCOVER_CONSERVATIVE, DSRC_V1_1_DISCOVER_CONSERVATIVE);
    ck_assert_int_eq(DSRC_DISCOVER_AGGRESSIVE, DSRC_V1_1_DISCOVER_AGGRESSIVE);
}
END_TEST

/* Every member 1.1 appended lies wholly past the 1.0 struct, padding
 * included: a 1.0 struct_size never covers any byte of it, so
 * DSRC_HAS_MEMBER() is false for it on a 1.0 struct. */
START_TEST(test_1_1_members_past_1_0)
{
    ck_assert_uint_ge(offsetof(dsrc_metadata, foreign_keys), sizeof(dsrc_v1_0_metadata));
    ck_assert_uint_ge(offsetof(dsrc_metadata, n_foreign_keys), sizeof(dsrc_v1_0_metadata));
    ck_assert_uint_ge(offsetof(dsrc_discover_req, result), sizeof(dsrc_v1_0_discover_req));
    ck_assert_uint_ge(offsetof(dsrc_discover_req, mode), sizeof(dsrc_v1_0_discover_req));
    ck_assert_uint_ge(offsetof(dsrc_abi_info, foreign_key_size), sizeof(dsrc_v1_0_abi_info));
    ck_assert_uint_ge(offsetof(dsrc_abi_info, option_limit_size), sizeof(dsrc_v1_0_abi_info));
    ck_assert_uint_ge(offsetof(dsrc_host, cancel_fd), sizeof(dsrc_v1_0_host));
    ck_assert_uint_ge(offsetof(dsrc_driver, option_limits), sizeof(dsrc_v1_0_driver));
    ck_assert_uint_ge(offsetof(dsrc_driver, validate), sizeof(dsrc_v1_0_driver));
    ck_assert_int_eq(DSRC_ABI_VERSION_1_1, 10001);
}
END_TEST

/* What 1.2 appended: aws_sign after the whole 1.1 host, the live host's
 * table fills it, and a 1.1-sized host does not have it. */
START_TEST(test_1_2_members_past_1_1)
{
    dsrc_host h11;

    ck_assert_uint_ge(offsetof(dsrc_host, aws_sign), sizeof(dsrc_v1_1_host));
    ck_assert_int_eq(DSRC_ABI_VERSION_1_2, 10002);
    ck_assert_int_ge(DSRC_ABI_MINOR, 2);
    ck_assert_ptr_nonnull(ctx_host()->aws_sign);
    ck_assert(DSRC_HAS_MEMBER(ctx_host(), dsrc_host, aws_sign));
    memset(&h11, 0, sizeof h11);
    h11.struct_size = (uint32_t)sizeof(dsrc_v1_1_host);
    ck_assert(!DSRC_HAS_MEMBER(&h11, dsrc_host, aws_sign));
    ck_assert(DSRC_HAS_MEMBER(&h11, dsrc_host, cancel_fd));
}
END_TEST

/* What 1.3 appended: bearer_token after aws_sign, the live host's table
 * fills it, and a 1.2-sized host does not have it. */
START_TEST(test_1_3_members_past_1_2)
{
    dsrc_host h12;
    size_t end12 = offsetof(dsrc_host, aws_sign) + sizeof(((dsrc_host *)0)->aws_sign);

    ck_assert_uint_ge(offsetof(dsrc_host, bearer_token), end12);
    ck_assert_int_eq(DSRC_ABI_VERSION_1_3, 10003);
    ck_assert_int_ge(DSRC_ABI_MINOR, 3);
    ck_assert_ptr_nonnull(ctx_host()->bearer_token);
    ck_assert(DSRC_HAS_MEMBER(ctx_host(), dsrc_host, bearer_token));
    memset(&h12, 0, sizeof h12);
    h12.struct_size = (uint32_t)end12;
    ck_assert(!DSRC_HAS_MEMBER(&h12, dsrc_host, bearer_token));
    ck_assert(DSRC_HAS_MEMBER(&h12, dsrc_host, aws_sign));
}
END_TEST

/* What 1.4 appended: query after validate in the driver (the host table
 * is 1.3's), and a 1.3-sized driver does not have it. */
START_TEST(test_1_4_members_past_1_3)
{
    dsrc_driver d13;
    size_t end13 = offsetof(dsrc_driver, validate) + sizeof(((dsrc_driver *)0)->validate);

    ck_assert_uint_ge(offsetof(dsrc_driver, query), end13);
    ck_assert_int_eq(DSRC_ABI_VERSION_1_4, 10004);
    ck_assert_int_ge(DSRC_ABI_MINOR, 4);
    ck_assert_uint_eq(DSRC_CAP_QUERY, 0x100u);
    memset(&d13, 0, sizeof d13);
    d13.struct_size = (uint32_t)end13;
    ck_assert(!DSRC_HAS_MEMBER(&d13, dsrc_driver, query));
    ck_assert(DSRC_HAS_MEMBER(&d13, dsrc_driver, validate));
}
END_TEST

/* What 1.5 appended: a cell type, DSRC_T_DOUBLE_TEXT, after the last
 * column type; it stands in a double (or a text or json) column only, and
 * its text must be a number. */
START_TEST(test_1_5_double_text)
{
    ck_assert_int_eq(DSRC_ABI_VERSION_1_5, 10005);
    ck_assert_int_ge(DSRC_ABI_MINOR, 5);
    ck_assert_int_eq(DSRC_T_DOUBLE_TEXT, DSRC_T_JSON + 1);
    ck_assert(dsrc_cell_fits(DSRC_T_DOUBLE, DSRC_T_DOUBLE_TEXT));
    ck_assert(dsrc_cell_fits(DSRC_T_TEXT, DSRC_T_DOUBLE_TEXT));
    ck_assert(dsrc_cell_fits(DSRC_T_JSON, DSRC_T_DOUBLE_TEXT));
    ck_assert(!dsrc_cell_fits(DSRC_T_INT64, DSRC_T_DOUBLE_TEXT));
    ck_assert(!dsrc_cell_fits(DSRC_T_TIMESTAMP, DSRC_T_DOUBLE_TEXT));
    ck_assert(!dsrc_cell_fits(DSRC_T_DOUBLE_TEXT, DSRC_T_DOUBLE_TEXT)); /* no column type */
    ck_assert(!dsrc_cell_fits(DSRC_T_DOUBLE, (dsrc_type)9));
    ck_assert_str_eq(dsrc_type_name(DSRC_T_DOUBLE_TEXT), "double");
    ck_assert(dsrc_double_text_valid("0.14285714285714285", 19));
    ck_assert(dsrc_double_text_valid("-0", 2));
    ck_assert(dsrc_double_text_valid("1e-05", 5));
    ck_assert(dsrc_double_text_valid("1.2345678901234568e+20", 22));
    ck_assert(dsrc_double_text_valid("NaN", 3));
    ck_assert(dsrc_double_text_valid("-Infinity", 9));
    ck_assert(dsrc_double_text_valid("12", 1)); /* "1": the length decides */
    ck_assert(!dsrc_double_text_valid("", 0));
    ck_assert(!dsrc_double_text_valid(NULL, 3));
    ck_assert(!dsrc_double_text_valid("nan", 3));
    ck_assert(!dsrc_double_text_valid("-NaN", 4));
    ck_assert(!dsrc_double_text_valid("01", 2));
    ck_assert(!dsrc_double_text_valid("1.", 2));
    ck_assert(!dsrc_double_text_valid(".5", 2));
    ck_assert(!dsrc_double_text_valid("1e", 2));
    ck_assert(!dsrc_double_text_valid("1e+", 3));
    ck_assert(!dsrc_double_text_valid("+1", 2));
    ck_assert(!dsrc_double_text_valid("1,5", 3));
    ck_assert(!dsrc_double_text_valid("1\"}", 3));
    ck_assert(!dsrc_double_text_valid("1 ", 2));
    ck_assert(!dsrc_double_text_valid("123456789012345678901234567890123", 33));
}
END_TEST

/* What a host receiver got from describe() or discover(). */
typedef struct abi_got {
    int records;
    uint32_t struct_size;
    size_t n_fk;
    char fk[256];      /* the first key: "name(c,c)->item(r,r) UPD/DEL" */
    char comment[32];
} abi_got;

static int abi_meta(void *user, const dsrc_metadata *md)
{
    abi_got *g = user;

    g->records++;
    g->struct_size = md->struct_size;
    g->n_fk = md->n_foreign_keys;
    if (md->n_foreign_keys) {
        const dsrc_foreign_key *k = md->foreign_keys;
        ck_assert_uint_eq(k->n_columns, 2);
        snprintf(g->fk, sizeof g->fk, "%s(%s,%s)->%s(%s,%s) %s/%s", k->name, k->columns[0],
                 k->columns[1], k->ref_item, k->ref_columns[0], k->ref_columns[1],
                 k->on_update, k->on_delete);
    }
    snprintf(g->comment, sizeof g->comment, "%s",
             md->item && md->item->comment ? md->item->comment : "");
    return 0;
}

/* The test plugin `name` loaded by the host's loader, opened as a source
 * of that name (the parts a registry would hold, in `rs`/`cs`). */
typedef struct abi_src {
    loader_set *set;
    cfg_source cs;
    registry_source rs;
    source_conn sc;
} abi_src;

static void abi_open(abi_src *a, const char *name)
{
    char dir[4096];
    const char *dirs[1] = {dir};
    const char *top = getenv("abs_top_builddir");
    loader_plugin *p = NULL;
    derr e = {0};
    dsrc_error perr;

    snprintf(dir, sizeof dir, "%s/tests/fixtures/plugins/.libs",
             top && *top ? top : LOADER_TEST_BUILDDIR);
    memset(a, 0, sizeof *a);
    a->set = loader_new(dirs, 1);
    ck_assert_ptr_nonnull(a->set);
    ck_assert_msg(loader_get(a->set, name, &p, &e) == DSRC_OK, "%s: %s", name,
                  e.msg ? e.msg : "");
    a->cs.name = (char *)name;
    a->rs.cfg = &a->cs;
    a->rs.plugin = p;
    a->sc.src = &a->rs;
    a->sc.drv = loader_driver(p);
    memset(&perr, 0, sizeof perr);
    perr.struct_size = sizeof perr;
    ck_assert_int_eq(a->sc.drv->open(NULL, NULL, &a->sc.conn, &perr), DSRC_OK);
}

static void abi_close(abi_src *a)
{
    a->sc.drv->close(a->sc.conn);
    loader_free(a->set);
}

/* The frozen-1.0 plugin loads, says 1.0, describes and discovers: the
 * host hands each record on at its own size with no foreign keys (the
 * plugin's bait past its 1.0 record is never read) and reports no query
 * count. */
START_TEST(test_v1_0_plugin_has_no_foreign_keys)
{
    abi_src a;
    abi_got g;
    dsrc_meta_sink sink;
    dsrc_discover_req req;
    dsrc_discover_result res;
    derr e = {0};

    abi_open(&a, "v10");
    ck_assert_uint_eq(loader_abi(a.rs.plugin)->abi_minor, 0);
    ck_assert_uint_eq(loader_abi(a.rs.plugin)->foreign_key_size, 0);
    ck_assert_uint_eq(a.sc.drv->abi_version, DSRC_ABI_VERSION_1_0);
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = &g;
    sink.metadata = abi_meta;

    memset(&g, 0, sizeof g);
    ck_assert_int_eq(source_describe(&a.sc, "t", &sink, &e), DSRC_OK);
    ck_assert_int_eq(g.records, 1);
    ck_assert_uint_eq(g.struct_size, sizeof(dsrc_metadata));
    ck_assert_uint_eq(g.n_fk, 0);

    memset(&g, 0, sizeof g);
    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.mode = DSRC_DISCOVER_AGGRESSIVE;
    req.result = &res;
    ck_assert_int_eq(source_discover(&a.sc, &req, &sink, &e), DSRC_OK);
    ck_assert_int_eq(g.records, 1);
    ck_assert_uint_eq(g.struct_size, sizeof(dsrc_metadata));
    ck_assert_uint_eq(g.n_fk, 0);
    ck_assert_uint_eq(res.struct_size, sizeof res);
    ck_assert_int_eq(res.queries, -1);

    /* And with no request at all. */
    memset(&g, 0, sizeof g);
    ck_assert_int_eq(source_discover(&a.sc, NULL, &sink, &e), DSRC_OK);
    ck_assert_int_eq(g.records, 1);
    ck_assert_uint_eq(g.n_fk, 0);
    derr_clear(&e);
    abi_close(&a);
}
END_TEST

/* A 1.1 plugin's foreign keys, query count and mode hint get through. */
START_TEST(test_v1_1_plugin_foreign_keys)
{
    static const char *const modes[] = {"balanced", "conservative", "aggressive"};
    abi_src a;
    abi_got g;
    dsrc_meta_sink sink;
    dsrc_discover_req req;
    dsrc_discover_result res;
    derr e = {0};
    int m;

    abi_open(&a, "fk11");
    ck_assert_uint_eq(loader_abi(a.rs.plugin)->abi_minor, DSRC_ABI_MINOR);
    ck_assert_uint_eq(loader_abi(a.rs.plugin)->foreign_key_size, sizeof(dsrc_foreign_key));
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = &g;
    sink.metadata = abi_meta;

    memset(&g, 0, sizeof g);
    ck_assert_int_eq(source_describe(&a.sc, "child", &sink, &e), DSRC_OK);
    ck_assert_int_eq(g.records, 1);
    ck_assert_uint_eq(g.n_fk, 1);
    ck_assert_str_eq(g.fk, "child_parent(b,a)->parent(y,x) CASCADE/SET NULL");

    for (m = 0; m < 3; m++) {
        memset(&g, 0, sizeof g);
        memset(&req, 0, sizeof req);
        req.struct_size = sizeof req;
        req.mode = (dsrc_discover_mode)m;
        req.result = &res;
        res.queries = 99;
        ck_assert_int_eq(source_discover(&a.sc, &req, &sink, &e), DSRC_OK);
        ck_assert_int_eq(g.records, 1);
        ck_assert_uint_eq(g.n_fk, 1);
        ck_assert_str_eq(g.fk, "child_parent(b,a)->parent(y,x) CASCADE/SET NULL");
        ck_assert_int_eq(res.queries, 3);
        ck_assert_str_eq(g.comment, modes[m]);
    }
    /* A request sized for 1.0 (an older host's) reads as balanced, and the
     * count goes nowhere. */
    memset(&g, 0, sizeof g);
    memset(&req, 0, sizeof req);
    req.struct_size = (uint32_t)sizeof(dsrc_v1_0_discover_req);
    ck_assert_int_eq(dsrc_discover_mode_of(&req), DSRC_DISCOVER_BALANCED);
    req.mode = DSRC_DISCOVER_AGGRESSIVE;
    ck_assert_int_eq(dsrc_discover_mode_of(&req), DSRC_DISCOVER_BALANCED);
    dsrc_discover_count(&req, 5); /* no result member: nothing to write */
    req.struct_size = sizeof req;
    req.mode = (dsrc_discover_mode)42;
    ck_assert_int_eq(dsrc_discover_mode_of(&req), DSRC_DISCOVER_BALANCED);
    derr_clear(&e);
    abi_close(&a);
}
END_TEST

/* A host of ABI 1.0, simulated with loader_set_host_abi(): a plugin that
 * needs 1.1 (need11, DSRC_PLUGIN_MIN_ABI) is refused with a message naming
 * both versions; a plugin that sets 1.1 members without looking at the
 * host's driver size (lies10) has them ignored, as a 1.0 host would never
 * read them; and the frozen-1.0 plugin loads and works. */
START_TEST(test_1_0_host)
{
    abi_src a;
    abi_got g;
    dsrc_meta_sink sink;
    loader_plugin *p = NULL;
    derr e = {0};

    loader_set_host_abi(DSRC_ABI_VERSION_1_0);
    abi_open(&a, "v10");
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = &g;
    sink.metadata = abi_meta;
    memset(&g, 0, sizeof g);
    ck_assert_int_eq(source_describe(&a.sc, "t", &sink, &e), DSRC_OK);
    ck_assert_int_eq(g.records, 1);

    ck_assert_int_eq(loader_get(a.set, "need11", &p, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(e.msg);
    ck_assert_msg(strstr(e.msg, "plugin 'need11' is built for ABI 1.1; this host has ABI 1.0"),
                  "%s", e.msg);
    derr_clear(&e);

    ck_assert_int_eq(loader_get(a.set, "lies10", &p, &e), DSRC_OK);
    ck_assert_ptr_null(loader_driver(p)->option_limits);
    ck_assert_ptr_null(loader_driver(p)->validate);
    abi_close(&a);
    loader_set_host_abi(0);
}
END_TEST

/* The same plugins under this host, of ABI 1.1. */
START_TEST(test_1_1_host)
{
    abi_src a;
    loader_plugin *p = NULL;
    derr e = {0};

    abi_open(&a, "need11");
    ck_assert_int_eq(loader_get(a.set, "lies10", &p, &e), DSRC_OK);
    ck_assert_ptr_nonnull(loader_driver(p)->option_limits);
    ck_assert_ptr_nonnull(loader_driver(p)->validate);
    abi_close(&a);
}
END_TEST

static int abi_no_schema(void *user, const dsrc_column *cols, size_t n)
{
    (void)cols;
    (void)n;
    (*(int *)user)++;
    return 0;
}

static int abi_no_row(void *user, const dsrc_cell *cells, size_t n)
{
    (void)cells;
    (void)n;
    (*(int *)user)++;
    return 0;
}

/* A host of ABI 1.3 (loader_set_host_abi()) loads a plugin of the live
 * header; without query() it gets the stub: DSRC_E_UNSUPPORTED, no row,
 * the capability off. */
START_TEST(test_1_3_host)
{
    abi_src a;
    int calls = 0;
    dsrc_row_sink sink = {sizeof sink, &calls, abi_no_schema, abi_no_row};
    dsrc_query_req q;
    derr e = {0};

    loader_set_host_abi(DSRC_ABI_VERSION_1_3);
    abi_open(&a, "fk11");
    ck_assert_ptr_nonnull(loader_driver(a.rs.plugin)->query);
    ck_assert(!(loader_driver(a.rs.plugin)->capabilities & DSRC_CAP_QUERY));
    memset(&q, 0, sizeof q);
    q.struct_size = sizeof q;
    q.text = "SELECT 1";
    q.limit = -1;
    ck_assert_int_eq(source_query(&a.sc, &q, &sink, NULL, &e), DSRC_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(e.msg);
    ck_assert_msg(strstr(e.msg, "plugin fk11 does not run queries"), "%s", e.msg);
    ck_assert_int_eq(calls, 0);
    derr_clear(&e);
    abi_close(&a);
    loader_set_host_abi(0);
}
END_TEST

/* The TLS mode open() gets: a plugin of 1.1 or later always one, "prefer"
 * included; a 1.0 plugin, which knows no "prefer", NULL in its place (what
 * 1.0 gave a source asking nothing of TLS) and every 1.0 mode as it is. */
START_TEST(test_tls_mode_by_plugin_abi)
{
    static const struct {
        dsrc_location loc;
        const char *mode; /* the source's resolved mode */
        const char *want10, *want11;
    } cases[] = {
        {DSRC_LOC_ON_PREM, "prefer", NULL, "prefer"},
        {DSRC_LOC_CLOUD, "verify-full", "verify-full", "verify-full"},
        {DSRC_LOC_HYBRID, "verify-full", "verify-full", "verify-full"},
        {DSRC_LOC_ON_PREM, "disable", "disable", "disable"},
        {DSRC_LOC_CLOUD, "require", "require", "require"},
        {DSRC_LOC_ON_PREM, "verify-ca", "verify-ca", "verify-ca"},
        {DSRC_LOC_ON_PREM, NULL, NULL, "prefer"},     /* not resolved yet: the rule */
        {DSRC_LOC_HYBRID, NULL, "verify-full", "verify-full"},
    };
    abi_src v10, v11;
    dsrc_open_params p;
    size_t i;

    abi_open(&v10, "v10");
    abi_open(&v11, "fk11");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cfg_source cs;

        memset(&cs, 0, sizeof cs);
        cs.name = (char *)"s";
        cs.location = cases[i].loc;
        cs.tls_mode = (char *)cases[i].mode;
        registry_open_params(&cs, v10.rs.plugin, &p);
        if (cases[i].want10)
            ck_assert_msg(p.tls_mode && strcmp(p.tls_mode, cases[i].want10) == 0,
                          "case %zu, 1.0: %s", i, p.tls_mode ? p.tls_mode : "NULL");
        else
            ck_assert_msg(p.tls_mode == NULL, "case %zu, 1.0: %s", i, p.tls_mode);
        registry_open_params(&cs, v11.rs.plugin, &p);
        ck_assert_msg(p.tls_mode && strcmp(p.tls_mode, cases[i].want11) == 0,
                      "case %zu, 1.1: %s", i, p.tls_mode ? p.tls_mode : "NULL");
        registry_open_params(&cs, NULL, &p);
        ck_assert_msg(p.tls_mode && strcmp(p.tls_mode, cases[i].want11) == 0,
                      "case %zu, no plugin: %s", i, p.tls_mode ? p.tls_mode : "NULL");
    }
    abi_close(&v11);
    abi_close(&v10);
}
END_TEST

/* The referential actions as backends name them. */
START_TEST(test_fk_action_words)
{
    ck_assert_str_eq(dsrc_fk_action("cascade"), DSRC_FK_CASCADE);
    ck_assert_str_eq(dsrc_fk_action("SET NULL"), DSRC_FK_SET_NULL);
    ck_assert_str_eq(dsrc_fk_action("set_default"), DSRC_FK_SET_DEFAULT);
    ck_assert_str_eq(dsrc_fk_action("NO ACTION"), DSRC_FK_NO_ACTION);
    ck_assert_str_eq(dsrc_fk_action("Restrict"), DSRC_FK_RESTRICT);
    ck_assert_str_eq(dsrc_fk_action("a"), DSRC_FK_NO_ACTION);
    ck_assert_str_eq(dsrc_fk_action("r"), DSRC_FK_RESTRICT);
    ck_assert_str_eq(dsrc_fk_action("c"), DSRC_FK_CASCADE);
    ck_assert_str_eq(dsrc_fk_action("n"), DSRC_FK_SET_NULL);
    ck_assert_str_eq(dsrc_fk_action("d"), DSRC_FK_SET_DEFAULT);
    ck_assert_ptr_null(dsrc_fk_action("x"));
    ck_assert_ptr_null(dsrc_fk_action("SET"));
    ck_assert_ptr_null(dsrc_fk_action("CASCADES"));
    ck_assert_ptr_null(dsrc_fk_action(NULL));
}
END_TEST

static Suite *abi_suite(void)
{
    Suite *s = suite_create("abi");
    TCase *tc = tcase_create("v1.0");

    tcase_add_loop_test(tc, test_members_keep_their_place, 0,
                        (int)(sizeof abi_members / sizeof abi_members[0]));
    tcase_add_loop_test(tc, test_struct_sizes, 0,
                        (int)(sizeof abi_structs / sizeof abi_structs[0]));
    tcase_add_test(tc, test_driver_1_0_size);
    tcase_add_test(tc, test_constants);
    tcase_add_test(tc, test_enums);
    tcase_add_test(tc, test_entry_points);
    tcase_add_test(tc, test_magic_block_macro);
    tcase_add_test(tc, test_driver_set_respects_struct_size);
    tcase_add_test(tc, test_option_end_is_all_zero);
    tcase_add_test(tc, test_error_set_and_release);
    suite_add_tcase(s, tc);

    tc = tcase_create("v1.1");
    tcase_add_test(tc, test_1_1_members_past_1_0);
    tcase_add_test(tc, test_1_2_members_past_1_1);
    tcase_add_test(tc, test_1_3_members_past_1_2);
    tcase_add_test(tc, test_1_4_members_past_1_3);
    tcase_add_test(tc, test_1_5_double_text);
    tcase_add_loop_test(tc, test_1_1_members_keep_their_place, 0,
                        (int)(sizeof abi_members_1_1 / sizeof abi_members_1_1[0]));
    tcase_add_test(tc, test_1_1_sizes_and_constants);
    tcase_add_test(tc, test_v1_0_plugin_has_no_foreign_keys);
    tcase_add_test(tc, test_v1_1_plugin_foreign_keys);
    tcase_add_test(tc, test_fk_action_words);
    tcase_add_test(tc, test_1_0_host);
    tcase_add_test(tc, test_1_1_host);
    tcase_add_test(tc, test_1_3_host);
    tcase_add_test(tc, test_tls_mode_by_plugin_abi);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(abi_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
