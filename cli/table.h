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

typedef struct tbl tbl;

/* A table with n columns and these headers (copied). NULL on OOM. */
tbl *tbl_new(size_t n, const char *const *headers);
/* Right-align column i (numbers). */
void tbl_right(tbl *t, size_t i);
/* Append a row of n cells (NULL cells print as "-"). Returns 0 or -1. */
int tbl_add(tbl *t, const char *const *cells);
size_t tbl_rows(const tbl *t);
void tbl_print(const tbl *t, FILE *fp);
void tbl_free(tbl *t);

#endif
