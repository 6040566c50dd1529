/* SPDX-License-Identifier: Apache-2.0 */
/*
 * abi_v1_1.h -- a frozen copy of what the dsrc plugin ABI 1.1 added to 1.0
 * (abi_v1_0.h, which holds everything else).
 *
 * DO NOT EDIT to follow changes of <dsrc/plugin.h>.  This is what plugins
 * built against ABI 1.1 were compiled with: the structs 1.1 grew, in full,
 * and the ones it introduced.  test_abi.c checks that the live header still
 * lays every 1.1 member out at the same offset with the same size, and that
 * the 1.1 constants and enumeration values keep their values.  When ABI 1.2
 * appends members, add an abi_v1_2.h beside this file; never change this
 * one.
 */
#ifndef DSRC_TEST_ABI_V1_1_H
#define DSRC_TEST_ABI_V1_1_H

#include "abi_v1_0.h"

#define DSRC_V1_1_ABI_MINOR 1
#define DSRC_V1_1_ABI_VERSION 10001

#define DSRC_V1_1_FK_NO_ACTION "NO ACTION"
#define DSRC_V1_1_FK_RESTRICT "RESTRICT"
#define DSRC_V1_1_FK_CASCADE "CASCADE"
#define DSRC_V1_1_FK_SET_NULL "SET NULL"
#define DSRC_V1_1_FK_SET_DEFAULT "SET DEFAULT"

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
} dsrc_v1_1_abi_info;

#endif
