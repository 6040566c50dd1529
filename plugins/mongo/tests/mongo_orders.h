/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mongo_orders.h -- what the conformance suite expects of the orders
 * collection both mongo tests serve: the mockupdb peer's catalog
 * (test_mongo.c) and the same documents loaded into a real mongod
 * (test_mongo_real.c).  Included by those two files only.
 */
#ifndef DSRC_TESTS_MONGO_ORDERS_H
#define DSRC_TESTS_MONGO_ORDERS_H

#include "conformance.h"

static const char *const mongo_orders_columns[] = {"_id", "name", "amount", "created", "flag",
                                         "address", "tags"};
static const dsrc_type mongo_orders_types[] = {DSRC_T_INT64, DSRC_T_TEXT,  DSRC_T_DOUBLE, DSRC_T_TIMESTAMP,
                                     DSRC_T_BOOL,  DSRC_T_JSON, DSRC_T_JSON};
static const conf_value mongo_orders_values[] = {
    {"1", "name", DSRC_T_TEXT, "plain"},
    {"1", "amount", DSRC_T_DOUBLE, "1.5"},
    {"1", "created", DSRC_T_TIMESTAMP, "2024-01-01T10:00:00.000Z"},
    {"1", "flag", DSRC_T_BOOL, "true"},
    {"1", "address", DSRC_T_JSON, "{ \"city\" : \"Oslo\", \"zip\" : \"0150\" }"},
    {"1", "tags", DSRC_T_JSON, "[ \"a\", \"b\" ]"},
    {"2", "name", DSRC_T_NULL, NULL},
    {"2", "tags", DSRC_T_NULL, NULL}, /* absent */
    {"3", "name", DSRC_T_TEXT, "it's \"quoted\""},
    {"3", "amount", DSRC_T_NULL, NULL},
    {"3", "created", DSRC_T_NULL, NULL},
    {"3", "address", DSRC_T_NULL, NULL},
    {"4", "name", DSRC_T_TEXT, "line1\nline2"},
    {"4", "amount", DSRC_T_INT64, "-4"}, /* a long among doubles keeps its type */
    {"4", "flag", DSRC_T_NULL, NULL},
    {"5", "amount", DSRC_T_DOUBLE, "50000000000"},
    {"5", "flag", DSRC_T_BOOL, "false"},
};

#endif
