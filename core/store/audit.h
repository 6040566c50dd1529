/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit.h -- the audit trail: who did what, from where, with what result,
 * kept in the state store (store.h, table `audit`, schema version 3).
 *
 * What is recorded: every API request that changes something, reads data
 * or uses a secret, every denied request, and the in-process commands of
 * `dsrc` that do the same (fetch, secret decrypt and rotate, token create
 * and revoke).  A record never holds a secret: the caller passes names,
 * routes and counts, and `detail` is passed through redaction (redact.h)
 * before it is stored.
 *
 * Tamper-evident: each record carries prev_hash, the hash of the record
 * before it (64 zeros for the first), and hash, the SHA-256 (lower-case
 * hex) of prev_hash and every field of the record, id included, in a
 * length-prefixed serialisation:
 *     "dsrc-audit-1" then, for each of prev_hash, id, at, who, origin,
 *     action, source, item, result, rows, bytes, detail in that order,
 *     "-" when NULL or "<decimal length>:<bytes>" (numbers as decimal text).
 * So a changed field breaks that record's hash; a deleted, inserted or
 * reordered record breaks the next record's prev_hash.  The chain cannot
 * tell that the newest records were removed (nothing follows them), nor
 * stop someone who can write the database from rebuilding the whole chain:
 * keep a copy of `dsrc audit --verify`'s last hash elsewhere for that.
 *
 * Appends from several threads and processes (dsrcd and any number of
 * `dsrc`) chain correctly: each reads the last hash and inserts in one
 * BEGIN IMMEDIATE transaction, committed with synchronous=FULL, so a
 * record reported written is durable.
 */
#ifndef DSRC_CORE_AUDIT_H
#define DSRC_CORE_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "store/store.h"

#define STORE_AUDIT_HASH_LEN 64 /* hex characters of a SHA-256 */

/* One record.  Strings are borrowed: from the caller for an append, from
 * the store for the duration of a list callback. */
typedef struct store_audit_rec {
    int64_t id;            /* list: the record's id; append: ignored          */
    int64_t at;            /* ms since the epoch; append: 0 means now          */
    const char *who;       /* "uid 1000 (alice)", "token ci-reader"; required  */
    const char *origin;    /* "socket", "cli", "192.0.2.7:50412"; required     */
    const char *action;    /* "POST /v1/runs", "fetch", "secret decrypt";
                              required                                          */
    const char *source;    /* NULL when none                                   */
    const char *item;      /* NULL when none                                   */
    const char *result;    /* "200", "403", "ok", "error: not-found"; required */
    int64_t rows, bytes;   /* < 0: none                                        */
    const char *detail;    /* short, never a secret; NULL when none            */
    const char *prev_hash; /* list only                                        */
    const char *hash;      /* list only                                        */
    const char *node;      /* list only: the node that recorded it (store_node
                              of the appender; NULL for older records)        */
} store_audit_rec;

/* Append r to the chain.  *id (may be NULL) is the new record's id.
 * DSRC_E_INVALID_ARGUMENT when a required field is missing; a store error
 * otherwise (DSRC_E_PERMISSION when the database cannot be written). */
dsrc_status store_audit_append(store *s, const store_audit_rec *r, int64_t *id, derr *e);

/* Which records a listing returns: since `since` (ms; 0: any time), of
 * `source` (NULL: any), the newest `limit` of them (<= 0: all). */
typedef struct store_audit_filter {
    int64_t since;
    const char *source;
    int limit;
} store_audit_filter;

/* Call fn for each record that f selects (f NULL: all), oldest first; fn
 * returning nonzero stops the listing (DSRC_E_CANCELLED).  The store is
 * locked during the calls: fn must not call the store. */
dsrc_status store_audit_list(store *s, const store_audit_filter *f,
                             int (*fn)(void *user, const store_audit_rec *r), void *user,
                             derr *e);

/* The records that f selects as a JSON array, oldest first, each an
 * object with the members id, at (ms), who, origin, action, source, item,
 * result, rows, bytes, detail (null when none), prev_hash and hash.  NULL
 * with `e` set. */
json_t *store_audit_json(store *s, const store_audit_filter *f, derr *e);

/* What store_audit_verify() found. */
typedef struct store_audit_check {
    int64_t records;       /* how many records were checked                   */
    int64_t bad_id;        /* 0: the chain is intact; else its first broken
                              record                                           */
    int64_t bad_at;        /* that record's time                              */
    char bad_action[128];  /* that record's action (cut to fit)               */
    const char *why;       /* why it is broken (static text), or NULL         */
    char last_hash[STORE_AUDIT_HASH_LEN + 1];  /* the last record's hash ("" when
                                                  there is none)                */
} store_audit_check;

/* Walk the chain in id order and find the first record whose hash does
 * not match its fields or whose prev_hash is not the previous record's
 * hash.  DSRC_OK (the chain's state in *out), or a store error. */
dsrc_status store_audit_verify(store *s, store_audit_check *out, derr *e);

/* "uid 1000 (alice)" for a user id into buf (n bytes): the who of a
 * command run by, or a request on the socket from, that user. */
void store_audit_who_uid(uid_t uid, char *buf, size_t n);

#endif
