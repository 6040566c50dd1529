/* SPDX-License-Identifier: Apache-2.0 */
/* test_audit.c -- the audit trail (its hash chain, tampering found,
 * appends from several processes) and the API tokens (hashed, checked,
 * expired, revoked) in the state store. */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "unit_tmp.h"
#include "store_env.h"
#include "base/redact.h"
#include "store/audit.h"
#include "store/token.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/dsrc-audit-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    unit_tmp_remove(dir);
    redact_clear();
}

static store *open_ok(void)
{
    derr e = {0};
    store *s = unit_store_open(dir, &e);

    ck_assert_msg(s != NULL, "store_open: %s", e.msg ? e.msg : "?");
    return s;
}

/* Run sql on the database behind the store's back, as someone who can
 * write the file would. */
static void tamper(const char *sql)
{
    char path[128];
    sqlite3 *db;

    if (unit_store_is_pg()) {
        unit_store_exec(dir, sql);
        return;
    }
    snprintf(path, sizeof path, "%s/" STORE_FILE, dir);
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(db));
    sqlite3_close(db);
}

static int64_t append(store *s, const char *source, const char *detail, int64_t rows)
{
    store_audit_rec r = {.who = "uid 1000 (alice)", .origin = "cli", .action = "fetch",
                         .source = source, .item = "public/orders", .result = "ok",
                         .rows = rows, .bytes = rows * 10, .detail = detail};
    derr e = {0};
    int64_t id = 0;

    ck_assert_msg(store_audit_append(s, &r, &id, &e) == DSRC_OK, "append: %s",
                  e.msg ? e.msg : "?");
    ck_assert_int_gt(id, 0);
    return id;
}

static store_audit_check verify(store *s)
{
    store_audit_check ck;
    derr e = {0};

    ck_assert_int_eq(store_audit_verify(s, &ck, &e), DSRC_OK);
    return ck;
}

START_TEST(test_chain_intact)
{
    store *s = open_ok();
    store_audit_check ck = verify(s);
    json_t *all;
    derr e = {0};
    int i;

    ck_assert_int_eq(ck.records, 0);
    ck_assert_int_eq(ck.bad_id, 0);
    for (i = 0; i < 20; i++)
        append(s, i % 2 ? "pg" : "my", i == 3 ? NULL : "a detail", i == 5 ? -1 : i);
    ck = verify(s);
    ck_assert_int_eq(ck.records, 20);
    ck_assert_int_eq(ck.bad_id, 0);
    ck_assert_ptr_null(ck.why);
    ck_assert_int_eq((int)strlen(ck.last_hash), STORE_AUDIT_HASH_LEN);
    /* each record names the one before it */
    all = store_audit_json(s, NULL, &e);
    ck_assert_ptr_nonnull(all);
    ck_assert_int_eq(json_array_size(all), 20);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(all, 0), "prev_hash")),
                     "0000000000000000000000000000000000000000000000000000000000000000");
    for (i = 1; i < 20; i++)
        ck_assert_str_eq(
            json_string_value(json_object_get(json_array_get(all, i), "prev_hash")),
            json_string_value(json_object_get(json_array_get(all, i - 1), "hash")));
    ck_assert(json_is_null(json_object_get(json_array_get(all, 5), "rows")));
    ck_assert(json_is_null(json_object_get(json_array_get(all, 3), "detail")));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(all, 19), "hash")),
                     ck.last_hash);
    json_decref(all);
    store_close(s);
}
END_TEST

START_TEST(test_changed_field_named)
{
    static const char *const edits[] = {
        "UPDATE audit SET result = '200' WHERE id = 7",
        "UPDATE audit SET rows = 999 WHERE id = 7",
        "UPDATE audit SET detail = NULL WHERE id = 7",
        "UPDATE audit SET detail = '' WHERE id = 7",
        "UPDATE audit SET who = 'uid 0 (root)' WHERE id = 7",
        "UPDATE audit SET at = at + 1 WHERE id = 7",
        "UPDATE audit SET source = NULL WHERE id = 7",
    };
    size_t k;

    for (k = 0; k < sizeof edits / sizeof edits[0]; k++) {
        store *s = open_ok();
        store_audit_check ck;
        int i;

        tamper(unit_store_is_pg()
                   ? "DELETE FROM audit; ALTER TABLE audit ALTER COLUMN id RESTART"
                   : "DELETE FROM audit; DELETE FROM sqlite_sequence WHERE name = 'audit'");
        for (i = 0; i < 12; i++)
            append(s, "pg", "x", i);
        ck_assert_int_eq(verify(s).bad_id, 0);
        tamper(edits[k]);
        ck = verify(s);
        ck_assert_msg(ck.bad_id == 7, "%s: named %lld", edits[k], (long long)ck.bad_id);
        ck_assert_int_eq(ck.records, 12);
        ck_assert_str_eq(ck.bad_action, "fetch");
        ck_assert_ptr_nonnull(strstr(ck.why, "hash does not match"));
        store_close(s);
    }
}
END_TEST

START_TEST(test_deleted_and_moved_named)
{
    store *s = open_ok();
    store_audit_check ck;
    int i;

    for (i = 0; i < 10; i++)
        append(s, "pg", NULL, i);
    /* a record deleted in the middle: the next one is named */
    tamper("DELETE FROM audit WHERE id = 4");
    ck = verify(s);
    ck_assert_int_eq(ck.bad_id, 5);
    ck_assert_ptr_nonnull(strstr(ck.why, "prev_hash"));
    ck_assert_int_eq(ck.records, 9);
    /* the first one deleted: the new first is named */
    tamper("DELETE FROM audit WHERE id < 4");
    ck_assert_int_eq(verify(s).bad_id, 5);
    store_close(s);

    /* a record moved to the end (renumbered) */
    tamper("DELETE FROM audit");
    s = open_ok();
    for (i = 0; i < 10; i++)
        append(s, "pg", NULL, i);
    tamper("UPDATE audit SET id = 100 WHERE id = (SELECT min(id) + 2 FROM audit)");
    ck = verify(s);
    ck_assert_int_gt(ck.bad_id, 0);
    ck_assert_int_lt(ck.bad_id, 100);
    store_close(s);
}
END_TEST

START_TEST(test_concurrent_processes)
{
    enum { KIDS = 3, EACH = 40 };
    pid_t pid[KIDS];
    store *s;
    store_audit_check ck;
    int k, status;

    for (k = 0; k < KIDS; k++) {
        pid[k] = fork();
        ck_assert_int_ge(pid[k], 0);
        if (pid[k] == 0) {
            derr e = {0};
            store *c = unit_store_open(dir, &e);
            int i;
            for (i = 0; c && i < EACH; i++) {
                store_audit_rec r = {.who = "uid 1 (kid)", .origin = "cli",
                                     .action = "secret decrypt", .result = "ok",
                                     .rows = -1, .bytes = -1};
                if (store_audit_append(c, &r, NULL, &e) != DSRC_OK) {
                    fprintf(stderr, "kid %d: append %d: %s\n", k, i, e.msg ? e.msg : "?");
                    _exit(1);
                }
            }
            if (!c)
                fprintf(stderr, "kid %d: open: %s\n", k, e.msg ? e.msg : "?");
            store_close(c);
            _exit(c ? 0 : 2);
        }
    }
    for (k = 0; k < KIDS; k++) {
        ck_assert_int_eq(waitpid(pid[k], &status, 0), pid[k]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    s = open_ok();
    ck = verify(s);
    ck_assert_int_eq(ck.records, KIDS * EACH);
    ck_assert_int_eq(ck.bad_id, 0);
    store_close(s);
}
END_TEST

static int count_rec(void *user, const store_audit_rec *r)
{
    int *n = user;

    ck_assert_str_eq(r->source, "pg");
    (*n)++;
    return 0;
}

START_TEST(test_list_filter_and_redaction)
{
    store *s = open_ok();
    store_audit_filter f = {0};
    store_audit_rec bad = {.who = "x", .origin = "cli", .action = "fetch"};
    json_t *a;
    derr e = {0};
    int n = 0, i;

    for (i = 0; i < 6; i++)
        append(s, i < 4 ? "pg" : "my", NULL, i);
    f.source = "pg";
    ck_assert_int_eq(store_audit_list(s, &f, count_rec, &n, &e), DSRC_OK);
    ck_assert_int_eq(n, 4);
    /* the newest two of pg, oldest first */
    f.limit = 2;
    a = store_audit_json(s, &f, &e);
    ck_assert_int_eq(json_array_size(a), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 0), "rows")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 1), "rows")), 3);
    json_decref(a);
    f.source = NULL;
    f.limit = 0;
    f.since = store_now() + 60000;
    a = store_audit_json(s, &f, &e);
    ck_assert_int_eq(json_array_size(a), 0);
    json_decref(a);

    /* a registered secret never reaches the trail */
    redact_add("hunter2-secret");
    append(s, "pg", "password was hunter2-secret", 1);
    f.since = 0;
    f.limit = 1;
    a = store_audit_json(s, &f, &e);
    ck_assert_ptr_null(strstr(json_string_value(json_object_get(json_array_get(a, 0), "detail")),
                              "hunter2"));
    json_decref(a);
    ck_assert_int_eq(verify(s).bad_id, 0);

    ck_assert_int_eq(store_audit_append(s, &bad, NULL, &e), DSRC_E_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(e.msg, "required"));
    derr_clear(&e);
    store_close(s);
}
END_TEST

START_TEST(test_who_uid)
{
    char buf[64];

    store_audit_who_uid(0, buf, sizeof buf);
    ck_assert_str_eq(buf, "uid 0 (root)");
    store_audit_who_uid(4000000000u, buf, sizeof buf);
    ck_assert_str_eq(buf, "uid 4000000000");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tokens                                                                    */

static char *create_ok(store *s, const char *name, store_role role, int64_t expires)
{
    char *tok = NULL;
    derr e = {0};

    ck_assert_msg(store_token_create(s, name, role, expires, &tok, &e) == DSRC_OK,
                  "create: %s", e.msg ? e.msg : "?");
    ck_assert_ptr_nonnull(tok);
    return tok;
}

static store_token_verdict check(store *s, const char *tok, store_token_info *info)
{
    store_token_verdict v = STORE_TOKEN_OK;
    derr e = {0};
    dsrc_status st = store_token_check(s, tok, info, &v, &e);

    ck_assert_int_eq(st, v == STORE_TOKEN_OK ? DSRC_OK : DSRC_E_AUTH);
    if (v == STORE_TOKEN_UNKNOWN)
        ck_assert_str_eq(e.code, "unknown-token");
    if (v == STORE_TOKEN_EXPIRED)
        ck_assert_str_eq(e.code, "expired-token");
    if (v == STORE_TOKEN_REVOKED)
        ck_assert_str_eq(e.code, "revoked-token");
    derr_clear(&e);
    return v;
}

/* Whether `needle` is anywhere in the file. */
static int file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    int hit;

    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    hit = memmem(buf, (size_t)n, needle, strlen(needle)) != NULL;
    free(buf);
    return hit;
}

START_TEST(test_token_lifecycle)
{
    store *s = open_ok();
    store_token_info info;
    char *tok = create_ok(s, "ci-reader", STORE_ROLE_OPERATOR, 0), *tok2, *other, path[128];
    const char *suffix[] = {"", "-wal"};
    derr e = {0};
    json_t *l;
    size_t k;

    ck_assert_int_eq((int)strlen(tok), 5 + 43);
    ck_assert(strncmp(tok, "dsrc_", 5) == 0);
    ck_assert(strspn(tok + 5, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43);
    ck_assert_int_eq(check(s, tok, &info), STORE_TOKEN_OK);
    ck_assert_str_eq(info.name, "ci-reader");
    ck_assert_int_eq(info.role, STORE_ROLE_OPERATOR);
    ck_assert_int_gt(info.last_used_at, 0);

    /* unknown: malformed, or well-formed and never made */
    other = strdup(tok);
    other[10] = other[10] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(check(s, other, &info), STORE_TOKEN_UNKNOWN);
    ck_assert_int_eq(check(s, "dsrc_short", &info), STORE_TOKEN_UNKNOWN);
    ck_assert_int_eq(check(s, "", &info), STORE_TOKEN_UNKNOWN);
    ck_assert_int_eq(check(s, NULL, &info), STORE_TOKEN_UNKNOWN);
    free(other);

    /* the name is taken while the token lives */
    ck_assert_int_eq(store_token_create(s, "ci-reader", STORE_ROLE_ADMIN, 0, &other, &e),
                     DSRC_E_BACKEND);
    ck_assert_str_eq(e.code, "exists");
    ck_assert_ptr_null(other);
    derr_clear(&e);

    /* expired */
    tok2 = create_ok(s, "nightly", STORE_ROLE_VIEWER, store_now() + 3600000);
    ck_assert_int_eq(check(s, tok2, &info), STORE_TOKEN_OK);
    ck_assert_int_eq(info.role, STORE_ROLE_VIEWER);
    tamper("UPDATE api_tokens SET expires_at = 1000 WHERE name = 'nightly'");
    ck_assert_int_eq(check(s, tok2, &info), STORE_TOKEN_EXPIRED);
    ck_assert_str_eq(info.name, "nightly");

    /* revoked; the name is free again; revoking twice is not found */
    ck_assert_int_eq(store_token_revoke(s, "ci-reader", &e), DSRC_OK);
    ck_assert_int_eq(check(s, tok, &info), STORE_TOKEN_REVOKED);
    ck_assert_int_eq(store_token_revoke(s, "ci-reader", &e), DSRC_E_NOT_FOUND);
    derr_clear(&e);
    other = create_ok(s, "ci-reader", STORE_ROLE_ADMIN, 0);
    ck_assert_int_eq(check(s, other, &info), STORE_TOKEN_OK);
    ck_assert_int_eq(info.role, STORE_ROLE_ADMIN);
    ck_assert_int_eq(check(s, tok, &info), STORE_TOKEN_REVOKED);

    l = store_token_list(s, &e);
    ck_assert_int_eq(json_array_size(l), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(l, 0), "state")), "revoked");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(l, 1), "state")), "expired");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(l, 2), "state")), "active");
    ck_assert_ptr_null(json_object_get(json_array_get(l, 0), "hash"));
    json_decref(l);

    /* no token is anywhere in the database's files */
    store_close(s);
    for (k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/" STORE_FILE "%s", dir, suffix[k]);
        ck_assert(!file_has(path, tok + 5));
        ck_assert(!file_has(path, tok2 + 5));
        ck_assert(!file_has(path, other + 5));
    }
    free(tok);
    free(tok2);
    free(other);
}
END_TEST

START_TEST(test_token_bad_input)
{
    store *s = open_ok();
    char *tok = NULL;
    derr e = {0};

    ck_assert_int_eq(store_token_create(s, "", STORE_ROLE_VIEWER, 0, &tok, &e),
                     DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(store_token_create(s, "a b", STORE_ROLE_VIEWER, 0, &tok, &e),
                     DSRC_E_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(e.msg, "a b"));
    derr_clear(&e);
    ck_assert_int_eq(store_token_create(s, "old", STORE_ROLE_VIEWER, 1000, &tok, &e),
                     DSRC_E_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(e.msg, "past"));
    derr_clear(&e);
    ck_assert_int_eq(store_token_create(s, "r", (store_role)7, 0, &tok, &e),
                     DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_ptr_null(tok);
    ck_assert_int_eq(store_role_parse("operator"), STORE_ROLE_OPERATOR);
    ck_assert_int_eq(store_role_parse("root"), -1);
    ck_assert_str_eq(store_role_name(STORE_ROLE_ADMIN), "admin");
    store_close(s);
}
END_TEST

/* The cache answers for an accepted token until its time is up, then
 * asks the store again (a revoked token is refused); it remembers no
 * refused token, and an expiry is exact. */
START_TEST(test_token_cache)
{
    store *s = open_ok();
    /* 2 s: the check, the revocation (a write with fsync) and the second
     * check fit in it on a loaded machine */
    store_token_cache *c = store_token_cache_new(2000);
    store_token_info info;
    store_token_verdict v;
    char *tok = create_ok(s, "cached", STORE_ROLE_OPERATOR, 0), *bad;
    derr e = {0};

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(store_token_check_cached(s, c, tok, &info, &v, &e), DSRC_OK);
    ck_assert_str_eq(info.name, "cached");
    ck_assert_int_eq(info.role, STORE_ROLE_OPERATOR);
    ck_assert_int_eq(store_token_revoke(s, "cached", &e), DSRC_OK);
    /* within the time: from the cache */
    ck_assert_int_eq(store_token_check_cached(s, c, tok, &info, &v, &e), DSRC_OK);
    ck_assert_int_eq(v, STORE_TOKEN_OK);
    usleep(2100 * 1000);
    ck_assert_int_eq(store_token_check_cached(s, c, tok, &info, &v, &e), DSRC_E_AUTH);
    ck_assert_int_eq(v, STORE_TOKEN_REVOKED);
    derr_clear(&e);
    /* refused tokens are not remembered */
    bad = create_ok(s, "later", STORE_ROLE_VIEWER, 0);
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(store_token_check_cached(s, c, bad, &info, &v, &e), DSRC_E_AUTH);
    ck_assert_int_eq(v, STORE_TOKEN_UNKNOWN);
    derr_clear(&e);
    /* no cache: straight to the store */
    ck_assert_int_eq(store_token_check_cached(s, NULL, tok, &info, &v, &e), DSRC_E_AUTH);
    derr_clear(&e);
    free(bad);
    free(tok);
    store_token_cache_free(c);
    store_close(s);
}
END_TEST

/* A database of schema version 2 gets the audit, token and discovery
 * tables when it is opened, and keeps what it held. */
START_TEST(test_upgrade_from_2)
{
    store *s = open_ok();
    store_run_spec spec = {.source = "pg", .kind = RUN_DISCOVER, .trigger = RUN_TRIGGER_CLI};
    store_token_info info;
    char *tok;
    derr e = {0};
    int64_t run = 0;
    json_t *r;

    ck_assert_int_eq(store_run_queue(s, &spec, &run, &e), DSRC_OK);
    store_close(s);
    tamper(unit_store_is_pg()
               ? "DROP TABLE queries; DROP TABLE audit; DROP TABLE api_tokens;"
                 " DROP TABLE discoveries;"
                 " DROP TABLE nodes; DROP INDEX runs_one_per_slot; DROP INDEX runs_by_node;"
                 " ALTER TABLE runs DROP COLUMN node; ALTER TABLE runs DROP COLUMN job;"
                 " ALTER TABLE runs DROP COLUMN slot; UPDATE store_schema SET version = 2"
               : "DROP TABLE queries; DROP TABLE audit; DROP TABLE api_tokens;"
                 " DROP TABLE discoveries;"
                 " DROP TABLE nodes; DROP INDEX runs_one_per_slot; DROP INDEX runs_by_node;"
                 " ALTER TABLE runs DROP COLUMN node; ALTER TABLE runs DROP COLUMN job;"
                 " ALTER TABLE runs DROP COLUMN slot; PRAGMA user_version = 2");
    s = open_ok();
    r = store_run_json(s, run, &e);
    ck_assert_ptr_nonnull(r);
    json_decref(r);
    append(s, "pg", NULL, 1);
    ck_assert_int_eq(verify(s).records, 1);
    tok = create_ok(s, "t", STORE_ROLE_VIEWER, 0);
    ck_assert_int_eq(check(s, tok, &info), STORE_TOKEN_OK);
    free(tok);
    store_close(s);
}
END_TEST

static Suite *audit_suite(void)
{
    Suite *s = suite_create("audit");
    TCase *tc = tcase_create("audit");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_chain_intact);
    tcase_add_test(tc, test_changed_field_named);
    tcase_add_test(tc, test_deleted_and_moved_named);
    tcase_add_test(tc, test_concurrent_processes);
    tcase_add_test(tc, test_list_filter_and_redaction);
    tcase_add_test(tc, test_who_uid);
    tcase_add_test(tc, test_token_lifecycle);
    tcase_add_test(tc, test_token_bad_input);
    tcase_add_test(tc, test_token_cache);
    tcase_add_test(tc, test_upgrade_from_2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(audit_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
