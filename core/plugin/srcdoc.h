/* SPDX-License-Identifier: Apache-2.0 */
/*
 * srcdoc.h -- a source as a JSON document: the settings of its source file,
 * one for one (dsrc.conf(5)).
 *
 * A libconfig group is a JSON object, an array or a list a JSON array, a
 * string, integer, float or boolean the same JSON scalar.  The document is
 * what `POST /v1/sources` takes and `dsrc source export` prints; it is
 * written to a file with srcdoc_render() and read back with srcdoc_read(),
 * so that a file written through the API and one written by hand are
 * checked by the same code (config.h, registry.h).
 *
 * Rendering checks only what libconfig itself needs (setting names, no
 * null, arrays of one scalar type, lists of groups); everything else is
 * left to the configuration checks, whose messages give a line that
 * srcdoc_field() turns back into the document's field ("pool.max_size",
 * "fetch[1].item").
 */
#ifndef DSRC_CORE_SRCDOC_H
#define DSRC_CORE_SRCDOC_H

#include <stddef.h>

#include <jansson.h>

#include "base/error.h"

/* The line of each setting in a rendered text. */
typedef struct srcdoc_lines {
    char **field;    /* field[i]: the setting on line i + 1, or NULL       */
    size_t n;
} srcdoc_lines;

/* Render `doc` (an object) as a libconfig source file, `header` (may be
 * NULL: lines of text, each written as a "# " comment) first.  Returns 0
 * with *text (malloc'd) and, when `lines` is not NULL, the field of each
 * line; or -1 with one {"field", "message"} object per problem appended to
 * `errors` (all of them, not the first only). */
int srcdoc_render(const json_t *doc, const char *header, char **text, srcdoc_lines *lines,
                  json_t *errors);

/* The field rendered at `line` (1-based), or NULL. */
const char *srcdoc_field(const srcdoc_lines *l, int line);
void srcdoc_lines_free(srcdoc_lines *l);

/* Read a source file (its @include files too) as a document: a new
 * reference, or NULL with `e` set (DSRC_E_NOT_FOUND when missing,
 * DSRC_E_INVALID_CONFIG with file:line on a syntax error). */
json_t *srcdoc_read(const char *path, derr *e);

/* RFC 7386 JSON merge patch: `patch` applied to `target` (changed in
 * place; a non-object patch replaces it).  Returns the result, a new
 * reference (`target`'s when it stays the object). */
json_t *srcdoc_merge_patch(json_t *target, const json_t *patch);

/* The fields that differ between two documents (either may be NULL), as a
 * JSON array of sorted paths ("connection.password", "pool"); a field whose
 * value is an object is followed into, an array is compared whole. */
json_t *srcdoc_changed(const json_t *before, const json_t *after);

/* "fields a, b, c" of srcdoc_changed()'s array into buf (n bytes; "" when
 * empty; "..." at the end when cut), for the audit trail: names only. */
void srcdoc_changed_text(const json_t *changed, char *buf, size_t n);

/* A source name that can be a file name: [A-Za-z0-9_.-]+, at most 128
 * bytes, not starting with '.'.  1 or 0 with a reason in *why (static). */
int srcdoc_name_ok(const char *name, const char **why);

/* The entity tag of a file: "\"" + SHA-256 hex of its bytes + "\"", or ""
 * when it cannot be read.  `out` holds SRCDOC_ETAG_SIZE bytes. */
#define SRCDOC_ETAG_SIZE 68
void srcdoc_etag_of(const char *path, char out[SRCDOC_ETAG_SIZE]);
void srcdoc_etag_text(const char *text, size_t len, char out[SRCDOC_ETAG_SIZE]);

#endif
