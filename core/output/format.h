/* SPDX-License-Identifier: Apache-2.0 */
/*
 * format.h -- CSV (RFC 4180) and JSON Lines writers fed by a row sink.
 *
 * A writer turns the rows a plugin sends into bytes and hands them to an
 * output function in chunks (it buffers; call format_finish() at the end).
 *
 * CSV: header line of column names; fields quoted when they contain a comma,
 * quote, CR or LF (quotes doubled); lines end with CRLF per RFC 4180; NULL is
 * an empty field, an empty string is "" (quoted) so the two stay apart; bytes
 * as base64; bool as true/false; double as PostgreSQL's float8 output
 * writes it (see format_double_text; NaN, Infinity, -Infinity when not
 * finite); text passed through as bytes.
 * JSON Lines: one object per row, keys in column order; NULL as null; text
 * escaped to valid JSON (invalid UTF-8 replaced by U+FFFD); bytes as base64
 * strings; json cells embedded as-is when they are valid JSON (line breaks
 * between tokens dropped so a row stays one line), else as a string;
 * timestamps as strings; non-finite doubles as the strings "NaN",
 * "Infinity" and "-Infinity" (as PostgreSQL's to_json() writes them), so
 * they never read as NULL.  Lines end with LF;
 * zero rows give an empty file.
 */
#ifndef DSRC_CORE_FORMAT_H
#define DSRC_CORE_FORMAT_H

#include <stdint.h>
#include <dsrc/plugin.h>

typedef enum format_kind { FORMAT_CSV = 0, FORMAT_JSONL = 1 } format_kind;

/* Output function: write len bytes; return 0 or -1 (errno set). */
typedef int (*format_out_fn)(void *user, const void *data, size_t len);

typedef struct format_writer format_writer;

/* A writer of `kind` handing its bytes to out(user, ...).  Returns NULL on
 * allocation failure or a bad argument.  Free with format_free() (NULL is
 * fine); the writer never frees `user`. */
format_writer *format_new(format_kind kind, format_out_fn out, void *user);
void format_free(format_writer *w);

/* The row sink to hand to a plugin; valid while w lives. */
const dsrc_row_sink *format_sink(format_writer *w);

/* Flush buffered output.  Returns 0, or -1 if any output call failed or the
 * plugin broke the sink protocol (see format_error()). */
int format_finish(format_writer *w);

uint64_t format_rows(const format_writer *w);
/* 1 when an output call failed (errno saved in format_errno()). */
int format_failed(const format_writer *w);
int format_errno(const format_writer *w);
/* What the plugin did wrong when it broke the sink protocol (a row whose
 * cell count differs from the schema's column count, a row before the
 * schema, a second schema, an unknown cell type), else NULL.  The sink's
 * callbacks return nonzero from then on.  Owned by w. */
const char *format_error(const format_writer *w);

/* The schema seen (copied from the plugin's schema() call); NULL before. */
const dsrc_column *format_columns(const format_writer *w, size_t *n);

/* "csv" / "jsonl" -> kind; -1 when unknown. */
int format_parse(const char *name);
const char *format_name(format_kind k);
const char *format_extension(format_kind k);  /* "csv", "jsonl" */

/* A finite double d as PostgreSQL's float8 output writes it with the
 * default extra_float_digits: the shortest digits that read back as d,
 * fixed notation when the decimal exponent is in [-4, 15), otherwise
 * "%g"-like exponential ("1e+15", "1e-05", "5e-324"); "-0" for negative
 * zero.  Returns the length written into out (NUL-terminated). */
int format_double_text(double d, char out[32]);

/* "NaN", "Infinity" or "-Infinity" for a double that is not finite, as
 * both formats write it (JSON Lines in double quotes). */
const char *format_non_finite(double d);

/* Base64 (standard alphabet, padded) of len bytes into a malloc'd string. */
char *format_base64(const void *data, size_t len);

#endif
