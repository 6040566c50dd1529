/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conform.h -- what the plugin conformance checks share: the quirks a
 * plugin declares, the quirks file of `dsrc conformance`, and how a cell
 * and a cursor value are compared.
 *
 * Two programs run the shared conformance cases: `dsrc conformance`
 * (cli/cli_conformance.c) against any configured source, and the Check
 * suite of tests/conformance/ against each shipped plugin with a fixture
 * that knows what the backend holds.  Both name a quirk the same way and
 * render cells the same way, from here.
 */
#ifndef DSRC_CORE_CONFORM_H
#define DSRC_CORE_CONFORM_H

#include <dsrc/plugin.h>

#include "base/error.h"

/* Quirks a plugin declares instead of failing a case. */
#define CONF_QUIRK_NO_DISCOVER      0x0001u /* discover() is unsupported     */
#define CONF_QUIRK_NO_CURSOR        0x0002u /* incremental fetch unsupported */
#define CONF_QUIRK_ROWS_ESTIMATED   0x0004u /* row counts are estimates      */
#define CONF_QUIRK_NO_LIST_ROWS     0x0008u /* list() reports no row counts  */
#define CONF_QUIRK_NO_CANCEL        0x0010u /* no cancel() capability        */
#define CONF_QUIRK_CURSOR_UNSORTED  0x0020u /* cursor fetch is not ordered   */
#define CONF_QUIRK_NO_PK            0x0040u /* no primary keys               */
#define CONF_QUIRK_NO_TYPES         0x0080u /* describe() types are not
                                               comparable to column_types   */
#define CONF_QUIRK_NO_FK_NAMES      0x0100u /* foreign keys have no names    */

/* The name of a single quirk bit ("no_discover" for CONF_QUIRK_NO_DISCOVER),
 * NULL for anything else; the bit of a name, 0 when there is none. */
const char *conform_quirk_name(unsigned bit);
unsigned conform_quirk_bit(const char *name);

/* A quirks file (libconfig, see QUIRKS FILE in dsrc(1)):
 *     quirks = ["no_discover", "rows_estimated"];
 *     item = "public/orders";      the tabular item the cases use
 *     container = "public";        the container listed
 *     cursor_field = "id";         the cursor column of `item`
 *     missing_item = "public/nope";an item that does not exist
 *     bad_option = "port=70000";   a value open() must refuse
 * Every key is optional.  Strings are malloc'd (NULL when absent). */
typedef struct conform_quirks {
    unsigned bits;
    char *item, *container, *cursor_field, *missing_item, *bad_option;
} conform_quirks;

/* Read `path` into *q (zeroed first).  DSRC_OK, or DSRC_E_INVALID_CONFIG
 * with "FILE:LINE: WHY" in e for a syntax error, an unknown key or quirk
 * (naming the valid ones) or a value of the wrong type, DSRC_E_NOT_FOUND /
 * DSRC_E_PERMISSION when it cannot be read. */
dsrc_status conform_quirks_load(const char *path, conform_quirks *q, derr *e);
void conform_quirks_free(conform_quirks *q);

/* A cell as text: BOOL "true"/"false", INT64 decimal, DOUBLE "%.15g",
 * BYTES lower-case hex, the other types as they are; NULL for a NULL cell
 * or when out of memory (*oom set then, when oom is not NULL).
 * malloc'd. */
char *conform_render(const dsrc_cell *cell, int *oom);

/* 1 when a DSRC_T_DOUBLE_TEXT cell's text is what the host writes for the
 * double it reads back as (format_double_text()), or NaN, Infinity,
 * -Infinity: a plugin that passes its backend's text through keeps the
 * output the same as the double would make it. */
int conform_double_text_exact(const dsrc_cell *cell);

/* Compare two values of a cursor column as the backend orders them:
 * numerically when both are numbers, else as text (ISO 8601 times sort as
 * text).  <0, 0, >0. */
int conform_cmp(const char *a, const char *b);

#endif
