/* SPDX-License-Identifier: Apache-2.0 */
/*
 * contract.h -- the host's check of the rows a plugin sends.
 *
 * Every typed row a plugin sends through a fetch's row sink is checked
 * against the schema() it declared before it is handed on: the row has
 * exactly one cell per column, each cell is of a known type that its
 * column's declared type allows, and a NULL cell is only in a column whose
 * nullable is not 0.  The types allowed:
 *
 *   declared      cells allowed besides NULL
 *   bool          bool
 *   int64         int64
 *   double        double, int64 (an integer is a valid double)
 *   bytes         bytes
 *   timestamp     timestamp
 *   text, json    any: the generic types, for a backend whose values carry
 *                 their own types (SQLite's untyped columns, a number too
 *                 large for int64); each cell is written as its own type
 *   null          none (a column declared null only carries NULL)
 *
 * A NULL cell is allowed where nullable is 1 or -1 (unknown).  The first
 * violation stops the fetch (the sink returns nonzero and keeps refusing)
 * and the fetch fails with DSRC_E_INTERNAL and a message such as
 *   "plugin 'x' bug: row 3, column 'n' is declared int64 but the cell is text"
 *   "plugin 'x' bug: row 3, column 'id' is not nullable but the cell is NULL"
 * (rows counted from 1).  A row before any schema is handed on unchecked:
 * the writer behind refuses it with its own reason (rows after the
 * plugin's own CSV, say).  The check allocates once per schema(), never
 * per row.
 */
#ifndef DSRC_CORE_CONTRACT_H
#define DSRC_CORE_CONTRACT_H

#include <stdint.h>
#include <dsrc/plugin.h>

typedef struct contract_col {
    const char *name;             /* in contract_rows.names                 */
    dsrc_type type;
    int nullable;
    int typed;                    /* type is a column type: a cell of the
                                     same type fits without more checks  */
} contract_col;

/* The state of one fetch's check; on the caller's stack.  Zeroed by
 * contract_rows_init(), freed by contract_rows_free(). */
typedef struct contract_rows {
    const dsrc_row_sink *inner;   /* the caller's sink                      */
    dsrc_row_sink sink;           /* the one the plugin gets                */
    const char *plugin;
    contract_col *cols;
    char *names;
    size_t n_cols;
    int have_schema;
    uint64_t rows;                /* rows checked so far                    */
    char *bug;                    /* the first violation (malloc'd); NULL   */
} contract_rows;

/* The sink to hand plugin `plugin` for a fetch into `inner`: `inner`
 * itself when it is NULL or has no row(), or when the check is switched
 * off (only bench/postgres does, with DSRC_BENCH_NO_CONTRACT=1 in the
 * environment, read once); else cr->sink, which checks and forwards. */
const dsrc_row_sink *contract_rows_init(contract_rows *cr, const char *plugin,
                                        const dsrc_row_sink *inner);

/* The first violation ("plugin 'x' bug: ..."), or NULL. */
const char *contract_rows_bug(const contract_rows *cr);

void contract_rows_free(contract_rows *cr);

#endif
