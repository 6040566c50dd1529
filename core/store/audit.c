/* SPDX-License-Identifier: Apache-2.0 */
/* audit.c -- the hash-chained audit trail in the state store; see audit.h */
#include <config.h>

#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include "store/db.h"

#include "base/redact.h"
#include "store/audit.h"

#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* The columns every reader selects, in the order of the serialisation
 * (prev_hash first), then the stored hash. */
#define AUDIT_COLS "prev_hash, id, at, who, origin, action, source, item, result, rows, " \
                   "bytes, detail, hash, node"
#define AUDIT_N_FIELDS 12 /* prev_hash .. detail */

/* Feed one field: "-" for NULL, else "<length>:<bytes>". */
static void audit_feed(EVP_MD_CTX *md, const char *v, size_t len)
{
    char head[32];

    if (!v) {
        EVP_DigestUpdate(md, "-", 1);
        return;
    }
    snprintf(head, sizeof head, "%zu:", len);
    EVP_DigestUpdate(md, head, strlen(head));
    EVP_DigestUpdate(md, v, len);
}

/* The hash of the fields f[0..AUDIT_N_FIELDS) (NULL entries are NULL
 * fields) and, when not NULL, of the node that recorded them (records
 * made before nodes were recorded hash as they did) into hex (65 bytes).
 * 0, or -1 when the digest fails. */
static int audit_hash(const char *const *f, const size_t *len, const char *node, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dn = 0, i;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int k;

    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return -1;
    }
    EVP_DigestUpdate(md, "dsrc-audit-1", 12);
    for (k = 0; k < AUDIT_N_FIELDS; k++)
        audit_feed(md, f[k], len[k]);
    if (node) {
        EVP_DigestUpdate(md, "node", 4);
        audit_feed(md, node, strlen(node));
    }
    if (EVP_DigestFinal_ex(md, d, &dn) != 1 || dn != STORE_AUDIT_HASH_LEN / 2) {
        EVP_MD_CTX_free(md);
        return -1;
    }
    EVP_MD_CTX_free(md);
    for (i = 0; i < dn; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[2 * dn] = '\0';
    return 0;
}

/* The hash of the row `st` is on (selected with AUDIT_COLS), into hex. */
static int audit_row_hash(sdb_stmt *st, char *hex)
{
    const char *f[AUDIT_N_FIELDS];
    size_t len[AUDIT_N_FIELDS];
    int k;

    for (k = 0; k < AUDIT_N_FIELDS; k++) {
        f[k] = sdb_column_type(st, k) == SDB_NULL
                   ? NULL : sdb_column_text(st, k);
        len[k] = f[k] ? (size_t)sdb_column_bytes(st, k) : 0;
    }
    return audit_hash(f, len, sdb_column_text(st, AUDIT_N_FIELDS + 1), hex);
}

static void audit_bind_text(sdb_stmt *st, int i, const char *v)
{
    if (v)
        sdb_bind_text(st, i, v);
    else
        sdb_bind_null(st, i);
}

static void audit_bind_count(sdb_stmt *st, int i, int64_t v)
{
    if (v >= 0)
        sdb_bind_int64(st, i, v);
    else
        sdb_bind_null(st, i);
}

/* With the store locked and a write transaction open: insert r after the
 * last record, then set its hash.  0, or -1 (the database's error). */
static int audit_insert(sdb *db, const store_audit_rec *r, const char *detail, const char *node,
                        int64_t *id_out)
{
    sdb_stmt *st = NULL;
    char prev[STORE_AUDIT_HASH_LEN + 1] = AUDIT_GENESIS, hex[STORE_AUDIT_HASH_LEN + 1];
    int rc = -1, step;

    if (sdb_prepare(db, "SELECT hash FROM audit ORDER BY id DESC LIMIT 1", &st) != 0)
        goto out;
    step = sdb_step(st);
    if (step == SDB_ROW && sdb_column_text(st, 0))
        snprintf(prev, sizeof prev, "%s", sdb_column_text(st, 0));
    else if (step != SDB_ROW && step != SDB_DONE)
        goto out;
    sdb_finalize(st);
    if (sdb_prepare(db, "INSERT INTO audit (at, who, origin, action, source, item, "
                               "result, rows, bytes, detail, prev_hash, hash, node) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?) RETURNING id",
                    &st) != 0)
        goto out;
    sdb_bind_int64(st, 1, r->at > 0 ? r->at : store_now());
    audit_bind_text(st, 2, r->who);
    audit_bind_text(st, 3, r->origin);
    audit_bind_text(st, 4, r->action);
    audit_bind_text(st, 5, r->source);
    audit_bind_text(st, 6, r->item);
    audit_bind_text(st, 7, r->result);
    audit_bind_count(st, 8, r->rows);
    audit_bind_count(st, 9, r->bytes);
    audit_bind_text(st, 10, detail);
    audit_bind_text(st, 11, prev);
    audit_bind_text(st, 12, node);
    if (sdb_step_id(st, id_out) != SDB_DONE)
        goto out;
    sdb_finalize(st);
    /* the hash over the fields as stored, read back the way verify reads */
    if (sdb_prepare(db, "SELECT " AUDIT_COLS " FROM audit WHERE id = ?", &st) != 0)
        goto out;
    sdb_bind_int64(st, 1, *id_out);
    if (sdb_step(st) != SDB_ROW || audit_row_hash(st, hex) < 0)
        goto out;
    sdb_finalize(st);
    if (sdb_prepare(db, "UPDATE audit SET hash = ? WHERE id = ?", &st) != 0)
        goto out;
    sdb_bind_text(st, 1, hex);
    sdb_bind_int64(st, 2, *id_out);
    if (sdb_step(st) == SDB_DONE)
        rc = 0;
out:
    sdb_finalize(st);
    return rc;
}

dsrc_status store_audit_append(store *s, const store_audit_rec *r, int64_t *id, derr *e)
{
    sdb *db;
    char *detail = NULL;
    int64_t new_id = 0;
    dsrc_status rs = DSRC_OK;

    if (!r || !r->who || !*r->who || !r->origin || !*r->origin || !r->action ||
        !*r->action || !r->result || !*r->result)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                        "audit record: who, origin, action and result are required");
    if (r->detail && !(detail = redact_dup(r->detail)))
        return derr_set(e, DSRC_E_INTERNAL, "audit record: out of memory");
    db = store_lock(s);
    if (sdb_begin(db) != 0 || sdb_lock_table(db, "audit") != 0) {
        rs = store_error(s, e, "cannot lock the database for the audit record");
        sdb_rollback(db);
    } else if (audit_insert(db, r, detail, store_node(s), &new_id) < 0) {
        rs = store_error(s, e, "cannot write the audit record");
        sdb_rollback(db);
    } else if (sdb_commit(db) != 0) {
        rs = store_error(s, e, "cannot commit the audit record");
        sdb_rollback(db);
    }
    store_unlock(s);
    free(detail);
    if (rs == DSRC_OK && id)
        *id = new_id;
    return rs;
}

/* The record on the row `st` (selected with AUDIT_COLS) into *r. */
static void audit_row(sdb_stmt *st, store_audit_rec *r)
{
#define AUDIT_TEXT(k) (sdb_column_text(st, k))
#define AUDIT_COUNT(k) (sdb_column_type(st, k) == SDB_NULL ? -1 : sdb_column_int64(st, k))
    memset(r, 0, sizeof *r);
    r->prev_hash = AUDIT_TEXT(0);
    r->id = sdb_column_int64(st, 1);
    r->at = sdb_column_int64(st, 2);
    r->who = AUDIT_TEXT(3);
    r->origin = AUDIT_TEXT(4);
    r->action = AUDIT_TEXT(5);
    r->source = AUDIT_TEXT(6);
    r->item = AUDIT_TEXT(7);
    r->result = AUDIT_TEXT(8);
    r->rows = AUDIT_COUNT(9);
    r->bytes = AUDIT_COUNT(10);
    r->detail = AUDIT_TEXT(11);
    r->hash = AUDIT_TEXT(12);
    r->node = AUDIT_TEXT(13);
#undef AUDIT_TEXT
#undef AUDIT_COUNT
}

dsrc_status store_audit_list(store *s, const store_audit_filter *f,
                             int (*fn)(void *user, const store_audit_rec *r), void *user,
                             derr *e)
{
    static const store_audit_filter all = {0, NULL, 0};
    sdb *db;
    sdb_stmt *st = NULL;
    dsrc_status rs = DSRC_OK;
    int step;

    if (!f)
        f = &all;
    db = store_lock(s);
    /* the newest `limit`, handed over oldest first */
    if (sdb_prepare(db, "SELECT * FROM (SELECT " AUDIT_COLS " FROM audit"
                               " WHERE at >= ?1 AND (CAST(?2 AS TEXT) IS NULL OR source = ?2)"
                               " ORDER BY id DESC LIMIT ?3) AS a ORDER BY id", &st) != 0) {
        rs = store_error(s, e, "cannot read the audit trail");
        goto out;
    }
    sdb_bind_int64(st, 1, f->since);
    audit_bind_text(st, 2, f->source);
    sdb_bind_int64(st, 3, f->limit > 0 ? f->limit : INT64_MAX);
    while ((step = sdb_step(st)) == SDB_ROW) {
        store_audit_rec r;
        audit_row(st, &r);
        if (fn(user, &r) != 0) {
            rs = derr_set(e, DSRC_E_CANCELLED, "audit listing stopped");
            goto out;
        }
    }
    if (step != SDB_DONE)
        rs = store_error(s, e, "cannot read the audit trail");
out:
    sdb_finalize(st);
    store_unlock(s);
    return rs;
}

static json_t *audit_jtext(const char *v)
{
    return v ? json_string(v) : json_null();
}

static json_t *audit_jcount(int64_t v)
{
    return v >= 0 ? json_integer((json_int_t)v) : json_null();
}

static int audit_json_one(void *user, const store_audit_rec *r)
{
    json_t *o = json_object();

    if (!o)
        return -1;
    json_object_set_new(o, "id", json_integer((json_int_t)r->id));
    json_object_set_new(o, "at", json_integer((json_int_t)r->at));
    json_object_set_new(o, "who", audit_jtext(r->who));
    json_object_set_new(o, "origin", audit_jtext(r->origin));
    json_object_set_new(o, "action", audit_jtext(r->action));
    json_object_set_new(o, "source", audit_jtext(r->source));
    json_object_set_new(o, "item", audit_jtext(r->item));
    json_object_set_new(o, "result", audit_jtext(r->result));
    json_object_set_new(o, "rows", audit_jcount(r->rows));
    json_object_set_new(o, "bytes", audit_jcount(r->bytes));
    json_object_set_new(o, "detail", audit_jtext(r->detail));
    json_object_set_new(o, "node", audit_jtext(r->node));
    json_object_set_new(o, "prev_hash", audit_jtext(r->prev_hash));
    json_object_set_new(o, "hash", audit_jtext(r->hash));
    return json_array_append_new(user, o);
}

json_t *store_audit_json(store *s, const store_audit_filter *f, derr *e)
{
    json_t *arr = json_array();

    if (!arr) {
        derr_set(e, DSRC_E_INTERNAL, "audit trail: out of memory");
        return NULL;
    }
    if (store_audit_list(s, f, audit_json_one, arr, e) != DSRC_OK) {
        if (e->status == DSRC_E_CANCELLED)
            derr_set(e, DSRC_E_INTERNAL, "audit trail: out of memory");
        json_decref(arr);
        return NULL;
    }
    return arr;
}

dsrc_status store_audit_verify(store *s, store_audit_check *out, derr *e)
{
    char prev[STORE_AUDIT_HASH_LEN + 1] = AUDIT_GENESIS, hex[STORE_AUDIT_HASH_LEN + 1];
    sdb *db;
    sdb_stmt *st = NULL;
    dsrc_status rs = DSRC_OK;
    int step;

    memset(out, 0, sizeof *out);
    db = store_lock(s);
    if (sdb_prepare(db, "SELECT " AUDIT_COLS " FROM audit ORDER BY id", &st) != 0) {
        rs = store_error(s, e, "cannot read the audit trail");
        goto out;
    }
    while ((step = sdb_step(st)) == SDB_ROW) {
        const char *p = sdb_column_text(st, 0);
        const char *h = sdb_column_text(st, 12);

        out->records++;
        if (audit_row_hash(st, hex) < 0) {
            rs = derr_set(e, DSRC_E_INTERNAL, "audit trail: cannot compute a SHA-256");
            goto out;
        }
        if (!out->bad_id && (!p || strcmp(p, prev) != 0))
            out->why = "its prev_hash is not the hash of the record before it (a record "
                       "was deleted, inserted or moved, or the one before was rewritten)";
        else if (!out->bad_id && (!h || strcmp(h, hex) != 0))
            out->why = "its hash does not match its fields (the record was changed)";
        if (out->why && !out->bad_id) {
            out->bad_id = sdb_column_int64(st, 1);
            out->bad_at = sdb_column_int64(st, 2);
            snprintf(out->bad_action, sizeof out->bad_action, "%s",
                     sdb_column_text(st, 5) ? sdb_column_text(st, 5)
                                                : "");
        }
        snprintf(prev, sizeof prev, "%s", h ? h : "");
    }
    if (step != SDB_DONE)
        rs = store_error(s, e, "cannot read the audit trail");
    else if (out->records)
        snprintf(out->last_hash, sizeof out->last_hash, "%s", prev);
out:
    sdb_finalize(st);
    store_unlock(s);
    return rs;
}

void store_audit_who_uid(uid_t uid, char *buf, size_t n)
{
    struct passwd pw, *res = NULL;
    char tmp[1024];

    if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res && res->pw_name)
        snprintf(buf, n, "uid %lu (%s)", (unsigned long)uid, res->pw_name);
    else
        snprintf(buf, n, "uid %lu", (unsigned long)uid);
}
