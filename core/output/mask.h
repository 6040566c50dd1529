/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mask.h -- column masking in the host's row path.
 *
 * A fetch rule's `mask = { column = "mode"; ... }` and `dsrc fetch --mask
 * column=mode,...` name columns whose values never leave in clear.  The
 * masking happens where the plugin's rows reach the host's formatter
 * (fetch.c), so it applies to every plugin, in-process or in a worker
 * process, whoever starts the fetch; a masked fetch always asks the plugin
 * for typed rows (never its own CSV).  Modes:
 *
 *   hash           the lower-case hex (64 characters) of HMAC-SHA-256 under
 *                  the mask key of the value's text (a bool as true/false,
 *                  an integer in decimal, a double as the CSV writes it,
 *                  text, timestamps and JSON as they come, bytes as they
 *                  are): the same value gives the same hash in every file
 *                  and from every source under one key, so joins still
 *                  work; the column becomes text.  Any column type.
 *   redact         NULL.  Any column type.
 *   truncate:UNIT  a date or timestamp cut down to its year, month, day,
 *                  hour or minute: the smaller fields become their first
 *                  value (month and day 01, hours, minutes and seconds 00),
 *                  fractional seconds are dropped, the rest keeps its form
 *                  ("2024-05-17" -> "2024-01-01" by year,
 *                  "2024-05-17T10:42:07.25Z" -> "2024-05-17T10:00:00Z" by
 *                  hour); a date cut by hour or minute stays as it is.
 *                  Timestamps with a time zone are cut as the plugin sends
 *                  them (in UTC).  "infinity" and "-infinity" stay; any
 *                  other value that is not an ISO 8601 date becomes NULL.
 *                  Only for date and timestamp columns.
 *   last4          the last 4 characters (UTF-8 characters, not bytes) of
 *                  the value's text, nothing before them; a value of 4
 *                  characters or fewer would be kept whole, so it becomes
 *                  the empty string.  The column becomes text.  For text
 *                  and integer columns.
 *
 * NULL stays NULL in every mode.  The key is the `mask_key` setting of the
 * daemon file, a secret reference (fernet:, env: or file:; never plain),
 * of at least MASK_KEY_MIN bytes; the manifest records the masked columns,
 * their modes and the key's id (the hex of the first 8 bytes of
 * HMAC-SHA-256(key, "dsrc mask key id")), never the key.
 */
#ifndef DSRC_CORE_MASK_H
#define DSRC_CORE_MASK_H

#include <stddef.h>
#include <dsrc/plugin.h>
#include "base/error.h"

#define MASK_KEY_MIN 16
#define MASK_KEY_ID_LABEL "dsrc mask key id"

typedef enum mask_mode {
    MASK_HASH = 1,
    MASK_REDACT = 2,
    MASK_TRUNCATE = 3,
    MASK_LAST4 = 4
} mask_mode;

typedef enum mask_unit {
    MASK_UNIT_NONE = 0,
    MASK_YEAR = 1,
    MASK_MONTH = 2,
    MASK_DAY = 3,
    MASK_HOUR = 4,
    MASK_MINUTE = 5
} mask_unit;

typedef struct mask_rule {
    char *column;
    mask_mode mode;
    mask_unit unit;              /* MASK_TRUNCATE only                      */
} mask_rule;

/* "hash", "redact", "truncate:year" (month, day, hour, minute), "last4"
 * -> *mode and *unit.  Returns 0, or -1 with the reason in *why (a static
 * string). */
int mask_parse_mode(const char *text, mask_mode *mode, mask_unit *unit, const char **why);

/* The mode as written: "hash", "truncate:month", ...  A static string. */
const char *mask_mode_name(mask_mode mode, mask_unit unit);

/* Add column = mode to the rules *v (*n of them; realloc'd), replacing the
 * mode of a rule for the same column.  Returns 0, or -1 with a malloc'd
 * message in *why (NULL when out of memory). */
int mask_rules_add(mask_rule **v, size_t *n, const char *column, const char *mode, char **why);

/* The --mask option: "column=mode[,column=mode...]" added to *v as
 * mask_rules_add() does.  Returns 0, or -1 with a malloc'd message in
 * *why (NULL when out of memory). */
int mask_parse_option(const char *arg, mask_rule **v, size_t *n, char **why);

void mask_rules_free(mask_rule *v, size_t n);

/* The masking of one fetch: the rules, the key, and once the schema has
 * come, the masked schema and per-column scratch.  One per fetch (not
 * shared between threads). */
typedef struct mask_applier mask_applier;

/* A masker of rules v[0..n) under the key (len bytes, at least
 * MASK_KEY_MIN; the applier keeps no copy of it once this returns, only
 * its HMAC state).  NULL with e set. */
mask_applier *mask_new(const mask_rule *v, size_t n, const void *key, size_t len, derr *e);
void mask_free(mask_applier *m);

/* The key's id: 16 lower-case hex characters. */
const char *mask_key_id(const mask_applier *m);

/* Match the rules to the schema of `item`: every masked column must be in
 * it, truncate only on date/timestamp columns, last4 only on text and
 * integer ones.  Returns DSRC_OK, or DSRC_E_INVALID_ARGUMENT with a
 * message naming the column. */
dsrc_status mask_bind(mask_applier *m, const char *item, const dsrc_column *cols, size_t n,
                      derr *e);

/* The schema to write after mask_bind(): a hashed or last4 column is text. */
const dsrc_column *mask_columns(const mask_applier *m, size_t *n);

/* The masked row of cells[0..n) (n is the schema's count).  The result
 * and the values it points to are valid until the next call.  NULL when
 * the HMAC failed. */
const dsrc_cell *mask_row(mask_applier *m, const dsrc_cell *cells, size_t n);

/* The masking of one value of type `type` (tests): out points into the
 * applier's scratch for column `col` of the bound schema. */
int mask_cell(mask_applier *m, size_t col, const dsrc_cell *in, dsrc_cell *out);

/* Cut the ISO 8601 date or timestamp s[0..len) to `unit` into out (at
 * least len bytes).  Returns the length written, or -1 when s is not one
 * (callers keep "infinity" themselves). */
int mask_truncate_text(const char *s, size_t len, mask_unit unit, char *out);

/* The last 4 UTF-8 characters of s[0..len): their offset in s, or len
 * (nothing) when s has 4 characters or fewer. */
size_t mask_last4_offset(const char *s, size_t len);

#endif
