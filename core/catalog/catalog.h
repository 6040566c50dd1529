/* SPDX-License-Identifier: Apache-2.0 */
/*
 * catalog.h -- one item of a discovered catalog in its normal form, its
 * schema hash, and the typed difference between two catalogs.
 *
 * Normal form.  An item's schema is canonical JSON (keys sorted, no
 * spaces, ASCII): its path and kind, its columns in ordinal order (the
 * order the plugin reports them) with name, type (the plugin's native type
 * name as reported, else the cell type's name), nullability (true, false
 * or null when unknown), default (null when none) and key position (0 when
 * not in the primary key), and its primary key as the list of column names
 * in key order; foreign keys, when the metadata carries them, are one more
 * member, "foreign_keys", a list of canonical objects sorted by their text
 * (absent when the item has none, so that an item without foreign keys
 * hashes the same before and after plugins report them).  The schema hash
 * is the SHA-256 of that text, in lowercase hex.
 *
 * Every string a plugin reports is redacted (redact.h) before it is kept.
 *
 * What may change without the schema changing -- row estimates, sizes,
 * modification times, comments, backend properties -- is kept apart, in the
 * item's volatile JSON, and never enters the hash: discovering an unchanged
 * catalog twice gives the same hashes, whatever the counts did.
 *
 * Diff.  catalog_diff() compares two catalogs (lists sorted by path) and
 * lists the changes, each with its class:
 *   item added                       non-breaking
 *   item removed                     breaking
 *   item kind changed (table/view)   non-breaking
 *   column added                     non-breaking
 *   column removed                   breaking
 *   column type changed              breaking, unless the new type holds
 *                                    every value of the old one (a wider
 *                                    integer, a longer char/varchar, text
 *                                    for char/varchar, double for real, a
 *                                    numeric with no fewer integer digits
 *                                    and no fewer decimals)
 *   column nullability changed       breaking when nullable -> not null,
 *                                    else non-breaking
 *   column default changed           non-breaking
 *   primary key changed              breaking
 *   foreign key added / removed      non-breaking
 * Columns are matched by name (a rename is a removal and an addition).
 * Only items whose hashes differ are compared in detail.
 */
#ifndef DSRC_CORE_CATALOG_H
#define DSRC_CORE_CATALOG_H

#include <stddef.h>

#include <dsrc/plugin.h>

#define CATALOG_HASH_LEN 64

/* One item: path, schema hash, canonical schema, volatile fields. */
typedef struct catalog_entry {
    char *path;
    char hash[CATALOG_HASH_LEN + 1];
    char *schema;                 /* canonical JSON                         */
    char *vol;                    /* volatile JSON (may be NULL)            */
} catalog_entry;

/* A catalog: entries, sorted by path (strcmp) once catalog_list_sort()
 * ran.  Zero-initialise; free with catalog_list_free(). */
typedef struct catalog_list {
    catalog_entry *v;
    size_t n, cap;
} catalog_list;

typedef enum catalog_change_kind {
    CATALOG_ITEM_ADDED = 0,
    CATALOG_ITEM_REMOVED,
    CATALOG_ITEM_KIND_CHANGED,
    CATALOG_COLUMN_ADDED,
    CATALOG_COLUMN_REMOVED,
    CATALOG_COLUMN_TYPE_CHANGED,
    CATALOG_COLUMN_NULLABILITY_CHANGED,
    CATALOG_COLUMN_DEFAULT_CHANGED,
    CATALOG_PRIMARY_KEY_CHANGED,
    CATALOG_FOREIGN_KEY_ADDED,
    CATALOG_FOREIGN_KEY_REMOVED,
    CATALOG_N_CHANGE_KINDS
} catalog_change_kind;

/* One change.  before/after are JSON texts (the item, the column, the
 * type...), NULL where there is nothing (before of an addition). */
typedef struct catalog_change {
    catalog_change_kind kind;
    int breaking;
    char *item;
    char *column;                 /* NULL for an item-level change          */
    char *before, *after;
} catalog_change;

typedef struct catalog_diff {
    catalog_change *v;
    size_t n, cap;
} catalog_diff;

/* "item_added", "column_type_changed", ...; -1 / "?" when unknown. */
const char *catalog_change_name(catalog_change_kind k);
int catalog_change_parse(const char *name);

/* The journal's MESSAGE_ID of a change kind: 32 lowercase hex digits,
 * fixed for ever (see dsrcd(8)). */
const char *catalog_change_message_id(catalog_change_kind k);

/* "table", "view", "materialized-view", ... for an item kind, and back
 * (DSRC_ITEM_OTHER for a name it does not know). */
const char *catalog_kind_name(dsrc_item_kind k);
dsrc_item_kind catalog_kind_parse(const char *name);

/* Append `md` in normal form to `l` (copies everything).  0, or -1 when
 * memory ran out or the item has no path. */
int catalog_list_add(catalog_list *l, const dsrc_metadata *md);

/* Append an entry from its parts (copied; vol may be NULL).  0 or -1. */
int catalog_list_push(catalog_list *l, const char *path, const char *hash,
                      const char *schema, const char *vol);

/* Sort by path; of a path seen twice, one entry is kept. */
void catalog_list_sort(catalog_list *l);
void catalog_list_free(catalog_list *l);

/* 1 when a and b (both sorted) have the same paths with the same hashes. */
int catalog_list_same(const catalog_list *a, const catalog_list *b);

/* The changes from `a` to `b` (both sorted) appended to `d`, in path
 * order.  0, or -1 when memory ran out or a schema is not valid JSON. */
int catalog_diff_lists(const catalog_list *a, const catalog_list *b, catalog_diff *d);
void catalog_diff_free(catalog_diff *d);

/* 1 when a column of native type `from` changed to `to` loses no value
 * (see the table above), else 0. */
int catalog_type_widens(const char *from, const char *to);

#endif
