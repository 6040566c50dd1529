/* SPDX-License-Identifier: Apache-2.0 */
/*
 * diag.h -- a list of configuration diagnostics, each naming file and line.
 *
 * Config loading and validation never stop at the first problem: they add
 * every error (and warning) they find here so that check-config can print
 * them all.  Printed as "FILE:LINE: error: MESSAGE".
 */
#ifndef DSRC_CORE_DIAG_H
#define DSRC_CORE_DIAG_H

#include <stdio.h>
#include <dsrc/plugin.h>

typedef enum diag_severity { DIAG_ERROR = 0, DIAG_WARNING = 1 } diag_severity;

typedef struct diag {
    diag_severity severity;
    char *file;  /* may be NULL */
    int line;    /* 0 when unknown */
    char *msg;   /* redacted */
} diag;

typedef struct diag_list {
    diag *v;
    size_t n, cap;
    size_t n_errors;
} diag_list;

void diag_add(diag_list *l, diag_severity sev, const char *file, int line,
              const char *fmt, ...) DSRC_PRINTF(5, 6);
#define diag_error(l, file, line, ...) diag_add((l), DIAG_ERROR, (file), (line), __VA_ARGS__)
#define diag_warn(l, file, line, ...) diag_add((l), DIAG_WARNING, (file), (line), __VA_ARGS__)

/* Print every diagnostic, one per line, to fp. */
void diag_print(const diag_list *l, FILE *fp);
void diag_free(diag_list *l);

#endif
