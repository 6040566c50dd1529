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

#include <stdio.h>
#include <string.h>

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


/* Start `fx` with what both programs expect: the plugin, built under
 * `top` ($top_builddir, or "."), the orders collection's columns, values
 * and cursor cases (cursor on _id, ties on ts).  The caller adds the
 * items (table, parent, ties, missing...), the row count and its
 * set-up. */
static void mongo_orders_fixture(conf_fixture *fx, const char *top)
{
    memset(fx, 0, sizeof *fx);
    fx->plugin = "mongo";
    snprintf(fx->plugin_dir, sizeof fx->plugin_dir, "%s/plugins/mongo/.libs",
             top && *top ? top : ".");
    fx->table_name = "orders";
    fx->table_kind = DSRC_ITEM_COLLECTION;
    fx->columns = mongo_orders_columns;
    fx->column_types = mongo_orders_types;
    fx->n_columns = sizeof mongo_orders_columns / sizeof mongo_orders_columns[0];
    fx->pk_column = "_id";
    fx->values = mongo_orders_values;
    fx->n_values = sizeof mongo_orders_values / sizeof mongo_orders_values[0];
    fx->cursor_field = "_id";
    fx->cursor_value = "2";
    fx->cursor_rows = 3;
    fx->cursor_max = "5";
    fx->ties_key = "_id";
    fx->ties_cursor = "ts";
    fx->quirks = 0;
}

#endif
