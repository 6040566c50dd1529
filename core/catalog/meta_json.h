/* SPDX-License-Identifier: Apache-2.0 */
/*
 * meta_json.h -- what a plugin's list() and describe() give, as JSON: the
 * documents `dsrc ls --json` and `dsrc describe --json` print and the
 * control API answers (GET /v1/sources/{name}/items[/{item}]).  Every
 * string goes through meta_jstr().
 */
#ifndef DSRC_CORE_META_JSON_H
#define DSRC_CORE_META_JSON_H

#include <jansson.h>

#include <dsrc/plugin.h>

/* A JSON string with every registered secret replaced by *** (redact.h);
 * null for NULL.  Plugins' names, comments and properties can carry what a
 * backend echoed.  Bytes that are not UTF-8 are shown as the text \xNN
 * (JSON strings must be UTF-8, and a file name may not be). */
json_t *meta_jstr(const char *s);

/* One item: {path, name, kind, container, rows, rows_estimated,
 * size_bytes, mtime (ISO 8601 UTC or null), comment}.  New reference. */
json_t *meta_item_json(const dsrc_item *it);

/* An item's metadata: the item's members, then columns [{name, type,
 * native_type, nullable, primary_key, default, comment}], foreign_keys
 * [{name, columns, references {item, columns}, on_update, on_delete}] and
 * properties {key: value}.  New reference. */
json_t *meta_metadata_json(const dsrc_metadata *md);

#endif
