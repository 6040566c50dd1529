/* SPDX-License-Identifier: Apache-2.0 */
/*
 * table.h -- plain-text tables for the command line.
 *
 * Collects rows of strings (copied) and prints them with aligned columns,
 * the header in capitals, two spaces between columns.  Widths count UTF-8
 * characters, not bytes.  Control characters in cells are printed as '?'
 * so a hostile name cannot move the cursor.  Registered secrets are
 * replaced by *** (redact.h).
 */
#ifndef DSRC_CORE_TABLE_H
#define DSRC_CORE_TABLE_H

#include <stdio.h>

typedef struct table table;

/* A table with n columns and these headers (copied). NULL on OOM. */
table *table_new(size_t n, const char *const *headers);
/* Right-align column i (numbers). */
void table_right(table *t, size_t i);
/* Append a row of n cells (NULL cells print as "-"). Returns 0 or -1. */
int table_add(table *t, const char *const *cells);
size_t table_rows(const table *t);
void table_print(const table *t, FILE *fp);
void table_free(table *t);

#endif
