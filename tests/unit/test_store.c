/* SPDX-License-Identifier: Apache-2.0 */
/* test_store.c -- the state store: schema, import, cursors, runs, claims
 * and the recovery of runs whose process died. */
#include <config.h>

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "unit_tmp.h"
#include "store_env.h"
#include "output/outfile.h"
#include "output/state.h"
#include "store/store.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/dsrc-store-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    unit_tmp_remove(dir);
}

static store *open_ok(void)
{
    derr e = {0};
    store *s = unit_store_open(dir, &e);

    ck_assert_msg(s != NULL, "store_open: %s", e.msg ? e.msg : "?");
    return s;
}

static char *cursor_of(store *s, const char *src, const char *item, const char *field)
{
    derr e = {0};
    char *v = NULL;

    ck_assert_int_eq(store_cursor_get(s, src, item, field, &v, &e), DSRC_OK);
    return v;
}

/* The state of run `id`, from its JSON. */
static const char *run_state_of(store *s, int64_t id)
{
    static char buf[32];
    derr e = {0};
    json_t *o = store_run_json(s, id, &e);

    ck_assert_ptr_nonnull(o);
    snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(o, "state")));
    json_decref(o);
    return buf;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static const store_run_spec inc_spec = {.source = "pg", .kind = RUN_FETCH,
                                        .item = "public/orders",
                                        .trigger = RUN_TRIGGER_CLI, .cursor_field = "id"};

START_TEST(schema_made_and_reopened)
{
    store *s = open_ok();
    char path[128];
    sqlite3 *db;
    sqlite3_stmt *st;

    store_close(s);
    if (unit_store_is_pg()) {
        ck_assert_int_eq(unit_store_int(dir, "SELECT version FROM store_schema"),
                         STORE_SCHEMA_VERSION);
        ck_assert_int_eq(unit_store_int(dir, "SELECT COUNT(*) FROM store_schema"), 1);
        s = open_ok();
        store_close(s);
        return;
    }
    snprintf(path, sizeof path, "%s/" STORE_FILE, dir);
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), STORE_SCHEMA_VERSION);
    sqlite3_finalize(st);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    s = open_ok(); /* opening again changes nothing */
    store_close(s);
}
END_TEST

START_TEST(newer_schema_refused)
{
    store *s = open_ok();
    char path[128];
    sqlite3 *db;
    derr e = {0};

    store_close(s);
    if (unit_store_is_pg()) {
        unit_store_exec(dir, "UPDATE store_schema SET version = 99");
    } else {
        snprintf(path, sizeof path, "%s/" STORE_FILE, dir);
        ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
        ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
    }
    ck_assert_ptr_null(unit_store_open(dir, &e));
    ck_assert_int_eq(e.status, DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "schema version 99"));
    ck_assert_ptr_nonnull(strstr(e.msg, "newer"));
    derr_clear(&e);
}
END_TEST

START_TEST(not_a_database_refused)
{
    char path[128];
    derr e = {0};

    if (unit_store_is_pg())
        return; /* a file of the SQLite store */
    snprintf(path, sizeof path, "%s/" STORE_FILE, dir);
    write_file(path, "this is not an SQLite database, but it is long enough to be read "
                     "as a header by SQLite, which then says so plainly..............");
    ck_assert_ptr_null(unit_store_open(dir, &e));
    ck_assert_ptr_nonnull(e.msg);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    derr_clear(&e);
}
END_TEST

/* A process that writes the database file while the store opens it
 * for the first time: SQLite refuses the switch to WAL at once, without
 * its busy handler, and the store waits for the writer instead of
 * failing ("database is locked"). */
START_TEST(first_open_waits_for_a_writer)
{
    char path[128], c;
    int fds[2];
    pid_t pid;
    int status;
    store *s;

    if (unit_store_is_pg())
        return; /* SQLite's journal mode */
    snprintf(path, sizeof path, "%s/" STORE_FILE, dir);
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        sqlite3 *db;

        close(fds[0]);
        if (sqlite3_open(path, &db) != SQLITE_OK ||
            sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            _exit(1);
        if (write(fds[1], "x", 1) != 1)
            _exit(2);
        usleep(300 * 1000);
        _exit(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK &&
                      sqlite3_close(db) == SQLITE_OK
                  ? 0
                  : 3);
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &c, 1), 1); /* the writer holds its lock */
    close(fds[0]);
    s = open_ok();
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    store_close(s);
}
END_TEST

START_TEST(json_cursors_imported_once)
{
    derr e = {0};
    store *s;
    char *v;

    ck_assert_int_eq(state_put_cursor(dir, "pg", "public/orders", "id", "42", &e), DSRC_OK);
    ck_assert_int_eq(state_put_cursor(dir, "my", "shop/items", "ts", "2024-01-01", &e), DSRC_OK);
    s = open_ok();
    v = cursor_of(s, "pg", "public/orders", "id");
    ck_assert_str_eq(v, "42");
    free(v);
    v = cursor_of(s, "my", "shop/items", "ts");
    ck_assert_str_eq(v, "2024-01-01");
    free(v);
    ck_assert_ptr_null(cursor_of(s, "my", "shop/items", "other_field"));
    store_close(s);
    /* the files stay as a backup, and are not read again */
    ck_assert_int_eq(state_put_cursor(dir, "pg", "public/orders", "id", "7", &e), DSRC_OK);
    s = open_ok();
    v = cursor_of(s, "pg", "public/orders", "id");
    ck_assert_str_eq(v, "42");
    free(v);
    store_close(s);
}
END_TEST

START_TEST(run_commits_cursor_with_success)
{
    store *s = open_ok();
    derr e = {0};
    int64_t id;
    store_run_output out = {.file = "/nonexistent/x.csv", .sha256 = "ab", .cursor_to = "10",
                            .rows = 10, .bytes = 100};
    json_t *o;

    ck_assert_int_eq(store_run_begin(s, &inc_spec, "primary", 60000, &id, &e), DSRC_OK);
    ck_assert_str_eq(run_state_of(s, id), "running");
    ck_assert_ptr_null(cursor_of(s, "pg", "public/orders", "id"));
    ck_assert_int_eq(store_run_succeed(s, id, &out, "id", &e), DSRC_OK);
    ck_assert_str_eq(run_state_of(s, id), "succeeded");
    {
        char *v = cursor_of(s, "pg", "public/orders", "id");
        ck_assert_str_eq(v, "10");
        free(v);
    }
    o = store_run_json(s, id, &e);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "rows")), 10);
    ck_assert_str_eq(json_string_value(json_object_get(o, "trigger")), "cli");
    ck_assert_str_eq(json_string_value(json_object_get(o, "endpoint")), "primary");
    ck_assert_str_eq(json_string_value(json_object_get(o, "cursor_to")), "10");
    ck_assert_ptr_nonnull(json_string_value(json_object_get(o, "finished_at")));
    json_decref(o);
    /* a run that ended cannot succeed again */
    ck_assert_int_ne(store_run_succeed(s, id, &out, "id", &e), DSRC_OK);
    derr_clear(&e);
    store_close(s);
}
END_TEST

START_TEST(failed_run_moves_nothing)
{
    store *s = open_ok();
    derr e = {0}, why = {0};
    int64_t id;
    json_t *o;

    ck_assert_int_eq(store_run_begin(s, &inc_spec, NULL, 60000, &id, &e), DSRC_OK);
    derr_set(&why, DSRC_E_UNREACHABLE, "connection refused");
    why.retryable = 1;
    ck_assert_int_eq(store_run_end(s, id, RUN_FAILED, &why, &e), DSRC_OK);
    ck_assert_ptr_null(cursor_of(s, "pg", "public/orders", "id"));
    o = store_run_json(s, id, &e);
    ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "failed");
    ck_assert_str_eq(json_string_value(json_object_get(o, "status")), "unreachable");
    ck_assert(json_is_true(json_object_get(o, "retryable")));
    ck_assert_str_eq(json_string_value(json_object_get(o, "error")), "connection refused");
    json_decref(o);
    derr_clear(&why);
    store_close(s);
}
END_TEST

START_TEST(one_incremental_writer_per_item)
{
    store *s = open_ok(), *s2 = open_ok();
    derr e = {0};
    int64_t a, b, c;
    store_run_spec other = inc_spec;

    ck_assert_int_eq(store_run_begin(s, &inc_spec, NULL, 60000, &a, &e), DSRC_OK);
    /* another handle (another command, the daemon) on the same item: busy */
    ck_assert_int_eq(store_run_begin(s2, &inc_spec, NULL, 60000, &b, &e), DSRC_E_BACKEND);
    ck_assert_str_eq(e.code, "busy");
    ck_assert_int_eq(e.retryable, 1);
    ck_assert_ptr_nonnull(strstr(e.msg, "public/orders"));
    ck_assert_str_eq(run_state_of(s, b), "failed");
    derr_clear(&e);
    /* another item is free */
    other.item = "public/customers";
    ck_assert_int_eq(store_run_begin(s2, &other, NULL, 60000, &c, &e), DSRC_OK);
    /* a full fetch of the same item is not a cursor writer */
    other.item = inc_spec.item;
    other.cursor_field = NULL;
    ck_assert_int_eq(store_run_begin(s2, &other, NULL, 60000, &c, &e), DSRC_OK);
    /* once the first has ended, the item is free again */
    ck_assert_int_eq(store_run_end(s, a, RUN_CANCELLED, NULL, &e), DSRC_OK);
    ck_assert_int_eq(store_run_begin(s2, &inc_spec, NULL, 60000, &b, &e), DSRC_OK);
    store_close(s);
    store_close(s2);
}
END_TEST

/* In a child process: begin an incremental run, prepare it with `file`
 * and `manifest` (when not NULL), and die without ending it. */
static void die_mid_run(const char *file, const char *manifest, const char *sha,
                        const char *to, int64_t *id_out)
{
    int fds[2];
    pid_t pid;
    int status;

    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        derr e = {0};
        store *s = unit_store_open(dir, &e);
        int64_t id = 0;
        store_run_output out = {.file = file, .manifest = manifest, .sha256 = sha,
                                .cursor_to = to};
        char fid[OUTFILE_ID_MAX];
        struct stat sb;

        if (!s || store_run_begin(s, &inc_spec, NULL, 60000, &id, &e) != DSRC_OK)
            _exit(1);
        if (file && stat(file, &sb) == 0) {
            outfile_stat_id(&sb, fid);
            out.file_id = fid;
        }
        if (file && store_run_prepare(s, id, &out, &e) != DSRC_OK)
            _exit(2);
        if (write(fds[1], &id, sizeof id) != sizeof id)
            _exit(3);
        _exit(0); /* no end, no close: as if killed */
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], id_out, sizeof *id_out), (ssize_t)sizeof *id_out);
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}

START_TEST(dead_run_with_manifest_is_committed)
{
    char file[128], manifest[160];
    store *s;
    int64_t id;
    char *v;

    snprintf(file, sizeof file, "%s/data.csv", dir);
    snprintf(manifest, sizeof manifest, "%s/data.csv.manifest.json", dir);
    write_file(file, "id\n1\n2\n");
    write_file(manifest, "{\"sha256\": \"cafe\", \"cursor\": {\"field\": \"id\", \"to\": \"2\"}}");
    die_mid_run(file, manifest, "cafe", "2", &id);
    s = open_ok();
    v = cursor_of(s, "pg", "public/orders", "id");
    ck_assert_str_eq(v, "2");
    free(v);
    ck_assert_str_eq(run_state_of(s, id), "succeeded");
    ck_assert_int_eq(access(file, F_OK), 0);
    store_close(s);
}
END_TEST

/* A run whose success's COMMIT was in doubt, its files left in place,
 * then ended as failed by its process: it did succeed, and is committed
 * so (its cursor moved), never failed with its files delivered. */
START_TEST(ended_run_with_files_in_place_is_committed)
{
    char file[128], manifest[160], fid[OUTFILE_ID_MAX];
    store *s = open_ok();
    int64_t id;
    derr e = {0}, why = {0};
    struct stat sb;
    char *v;

    snprintf(file, sizeof file, "%s/data.csv", dir);
    snprintf(manifest, sizeof manifest, "%s/data.csv.manifest.json", dir);
    write_file(file, "id\n1\n2\n");
    write_file(manifest, "{\"sha256\": \"cafe\", \"cursor\": {\"field\": \"id\", \"to\": \"2\"}}");
    ck_assert_int_eq(stat(file, &sb), 0);
    outfile_stat_id(&sb, fid);
    {
        store_run_output out = {.file = file, .manifest = manifest, .file_id = fid,
                                .sha256 = "cafe", .cursor_to = "2"};
        ck_assert_int_eq(store_run_begin(s, &inc_spec, NULL, 60000, &id, &e), DSRC_OK);
        ck_assert_int_eq(store_run_prepare(s, id, &out, &e), DSRC_OK);
    }
    derr_set(&why, DSRC_E_UNREACHABLE, "in doubt");
    ck_assert_int_eq(store_run_end(s, id, RUN_FAILED, &why, &e), DSRC_OK);
    derr_clear(&why);
    ck_assert_str_eq(run_state_of(s, id), "succeeded");
    v = cursor_of(s, "pg", "public/orders", "id");
    ck_assert_str_eq(v, "2");
    free(v);
    ck_assert_int_eq(access(file, F_OK), 0);
    /* a run whose files are not in place ends failed, as before */
    unlink(manifest);
    ck_assert_int_eq(store_run_begin(s, &inc_spec, NULL, 60000, &id, &e), DSRC_OK);
    ck_assert_int_eq(store_run_end(s, id, RUN_FAILED, NULL, &e), DSRC_OK);
    ck_assert_str_eq(run_state_of(s, id), "failed");
    store_close(s);
}
END_TEST

START_TEST(dead_run_without_manifest_is_undone)
{
    char file[128], manifest[160];
    store *s;
    int64_t id;
    derr e = {0};
    json_t *o;

    snprintf(file, sizeof file, "%s/data.csv", dir);
    snprintf(manifest, sizeof manifest, "%s/data.csv.manifest.json", dir);
    write_file(file, "id\n1\n2\n");
    die_mid_run(file, manifest, "cafe", "2", &id);
    s = open_ok();
    ck_assert_ptr_null(cursor_of(s, "pg", "public/orders", "id"));
    ck_assert_int_ne(access(file, F_OK), 0); /* the orphan data file is gone */
    o = store_run_json(s, id, &e);
    ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "failed");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(o, "error")), "interrupted"));
    json_decref(o);
    store_close(s);
}
END_TEST

START_TEST(dead_run_keeps_a_file_that_is_not_its_own)
{
    char file[128], manifest[160];
    store *s;
    int64_t id;

    snprintf(file, sizeof file, "%s/data.csv", dir);
    snprintf(manifest, sizeof manifest, "%s/data.csv.manifest.json", dir);
    write_file(file, "id\n1\n");
    die_mid_run(file, manifest, "cafe", "2", &id);
    /* someone else's file now has that name (the old one is kept under
     * another, so that its inode number cannot be reused) */
    {
        char old[160];
        snprintf(old, sizeof old, "%s/moved-away.csv", dir);
        ck_assert_int_eq(rename(file, old), 0);
    }
    write_file(file, "another file entirely\n");
    s = open_ok();
    ck_assert_int_eq(store_recover(s, NULL, NULL, NULL) >= 0, 1);
    ck_assert_int_eq(access(file, F_OK), 0);
    ck_assert_str_eq(run_state_of(s, id), "failed");
    store_close(s);
}
END_TEST

START_TEST(dead_run_frees_its_item)
{
    store *s;
    int64_t id, id2;
    derr e = {0};

    die_mid_run(NULL, NULL, NULL, NULL, &id);
    s = open_ok();
    /* the claim of the dead process does not block: it is resolved */
    ck_assert_int_eq(store_run_begin(s, &inc_spec, NULL, 60000, &id2, &e), DSRC_OK);
    ck_assert_str_eq(run_state_of(s, id), "failed");
    store_close(s);
}
END_TEST

START_TEST(runs_listed_filtered_and_pruned)
{
    store *s = open_ok();
    derr e = {0};
    int64_t ids[4];
    store_run_spec d = {.source = "pg", .kind = RUN_DISCOVER, .trigger = RUN_TRIGGER_SCHEDULE};
    store_run_spec f = {.source = "my", .kind = RUN_FETCH, .item = "t",
                        .trigger = RUN_TRIGGER_MANUAL};
    json_t *a;
    int i;

    for (i = 0; i < 3; i++)
        ck_assert_int_eq(store_run_queue(s, i < 2 ? &d : &f, &ids[i], &e), DSRC_OK);
    ck_assert_int_eq(store_run_start(s, ids[0], "primary", 60000, &e), DSRC_OK);
    ck_assert_int_eq(store_run_succeed(s, ids[0], NULL, NULL, &e), DSRC_OK);
    ck_assert_int_eq(store_run_start(s, ids[0], NULL, 60000, &e), DSRC_E_NOT_FOUND);
    derr_clear(&e);
    a = store_runs_json(s, NULL, -1, 0, &e);
    ck_assert_msg(a != NULL, "store_runs_json: %s", e.msg ? e.msg : "?");
    ck_assert_int_eq(json_array_size(a), 3);
    /* newest first */
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 0), "id")), ids[2]);
    json_decref(a);
    a = store_runs_json(s, "pg", -1, 0, &e);
    ck_assert_int_eq(json_array_size(a), 2);
    json_decref(a);
    a = store_runs_json(s, NULL, RUN_SUCCEEDED, 0, &e);
    ck_assert_int_eq(json_array_size(a), 1);
    json_decref(a);
    a = store_runs_json(s, NULL, -1, 1, &e);
    ck_assert_int_eq(json_array_size(a), 1);
    json_decref(a);
    ck_assert_ptr_null(store_run_json(s, 999, &e));
    ck_assert_int_eq(e.status, DSRC_E_NOT_FOUND);
    derr_clear(&e);
    /* only ended runs are pruned */
    ck_assert_int_eq(store_prune(s, INT64_MAX, &e), 1);
    a = store_runs_json(s, NULL, -1, 0, &e);
    ck_assert_int_eq(json_array_size(a), 2);
    json_decref(a);
    store_close(s);
}
END_TEST

START_TEST(names_round_trip)
{
    int i;

    for (i = 0; i <= RUN_CANCELLED; i++)
        ck_assert_int_eq(store_state_parse(store_state_name((run_state)i)), i);
    ck_assert_int_eq(store_state_parse("bogus"), -1);
    ck_assert_str_eq(store_trigger_name(RUN_TRIGGER_CATCHUP), "catch-up");
    ck_assert_str_eq(store_kind_name(RUN_DISCOVER), "discover");
}
END_TEST

/* Milliseconds since the epoch, as the store counts them. */
static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Queue a run and end it in `state` (RUN_SUCCEEDED, RUN_FAILED or
 * RUN_CANCELLED; RUN_RUNNING: started, not ended; RUN_QUEUED: left so). */
static int64_t run_ended(store *s, const store_run_spec *spec, run_state state)
{
    derr e = {0}, why = {0};
    int64_t id = 0;

    ck_assert_int_eq(store_run_queue(s, spec, &id, &e), DSRC_OK);
    if (state == RUN_QUEUED)
        return id;
    ck_assert_int_eq(store_run_start(s, id, "primary", 60000, &e), DSRC_OK);
    if (state == RUN_SUCCEEDED) {
        ck_assert_int_eq(store_run_succeed(s, id, NULL, NULL, &e), DSRC_OK);
    } else if (state != RUN_RUNNING) {
        derr_set(&why, DSRC_E_UNREACHABLE, "down");
        ck_assert_int_eq(store_run_end(s, id, state, &why, &e), DSRC_OK);
        derr_clear(&why);
    }
    return id;
}

START_TEST(last_run_of_each_job)
{
    store *s = open_ok();
    store_run_spec fetch = {.source = "pg", .kind = RUN_FETCH, .item = "t",
                            .trigger = RUN_TRIGGER_SCHEDULE, .attempt = 1};
    store_run_spec disc = {.source = "pg", .kind = RUN_DISCOVER,
                           .trigger = RUN_TRIGGER_CATCHUP};
    store_run_spec other = {.source = "pg", .kind = RUN_FETCH, .item = "u",
                            .trigger = RUN_TRIGGER_MANUAL};
    store_run_spec elsewhere = {.source = "my", .kind = RUN_FETCH, .item = "t",
                                .trigger = RUN_TRIGGER_MANUAL};
    int64_t queued = -1, ended = -1, before, after;
    run_state state = RUN_QUEUED;
    run_trigger trigger = RUN_TRIGGER_CLI;
    int attempt = 0;

    /* nothing yet; then only runs that have not ended */
    ck_assert_int_eq(store_last_run(s, "pg", RUN_FETCH, "t", &queued, &ended, &state,
                                    &trigger, &attempt), 1);
    run_ended(s, &fetch, RUN_QUEUED);
    run_ended(s, &fetch, RUN_RUNNING);
    ck_assert_int_eq(store_last_run(s, "pg", RUN_FETCH, "t", &queued, &ended, &state,
                                    &trigger, &attempt), 1);
    ck_assert_int_eq(queued, -1);
    /* an ended run of the job, between runs of other jobs */
    before = now_ms();
    run_ended(s, &fetch, RUN_SUCCEEDED);
    after = now_ms();
    run_ended(s, &other, RUN_FAILED);
    run_ended(s, &elsewhere, RUN_CANCELLED);
    run_ended(s, &disc, RUN_SUCCEEDED);
    ck_assert_int_eq(store_last_run(s, "pg", RUN_FETCH, "t", &queued, &ended, &state,
                                    &trigger, &attempt), 0);
    ck_assert_int_ge(queued, before);
    ck_assert_int_le(queued, ended);
    ck_assert_int_le(ended, after);
    ck_assert_int_eq(state, RUN_SUCCEEDED);
    ck_assert_int_eq(trigger, RUN_TRIGGER_SCHEDULE);
    ck_assert_int_eq(attempt, 1);
    /* the newest ended run wins; a later one still in flight does not count */
    fetch.trigger = RUN_TRIGGER_RETRY;
    fetch.attempt = 3;
    run_ended(s, &fetch, RUN_FAILED);
    fetch.trigger = RUN_TRIGGER_SCHEDULE;
    fetch.attempt = 1;
    run_ended(s, &fetch, RUN_QUEUED);
    ck_assert_int_eq(store_last_run(s, "pg", RUN_FETCH, "t", &queued, &ended, &state,
                                    &trigger, &attempt), 0);
    ck_assert_int_eq(state, RUN_FAILED);
    ck_assert_int_eq(trigger, RUN_TRIGGER_RETRY);
    ck_assert_int_eq(attempt, 3);
    /* a discover has no item; every out pointer may be NULL */
    ck_assert_int_eq(store_last_run(s, "pg", RUN_DISCOVER, NULL, NULL, NULL, &state,
                                    &trigger, NULL), 0);
    ck_assert_int_eq(state, RUN_SUCCEEDED);
    ck_assert_int_eq(trigger, RUN_TRIGGER_CATCHUP);
    ck_assert_int_eq(store_last_run(s, "pg", RUN_FETCH, "u", NULL, NULL, &state, NULL,
                                    NULL), 0);
    ck_assert_int_eq(state, RUN_FAILED);
    ck_assert_int_eq(store_last_run(s, "my", RUN_FETCH, "t", NULL, NULL, &state, &trigger,
                                    NULL), 0);
    ck_assert_int_eq(state, RUN_CANCELLED);
    ck_assert_int_eq(trigger, RUN_TRIGGER_MANUAL);
    /* other kinds, items and sources are not this job's */
    ck_assert_int_eq(store_last_run(s, "pg", RUN_DISCOVER, "t", NULL, NULL, NULL, NULL,
                                    NULL), 1);
    ck_assert_int_eq(store_last_run(s, "pg", RUN_FETCH, NULL, NULL, NULL, NULL, NULL,
                                    NULL), 1);
    ck_assert_int_eq(store_last_run(s, "nosuch", RUN_FETCH, "t", NULL, NULL, NULL, NULL,
                                    NULL), 1);
    store_close(s);
    /* it is in the store, not in the handle */
    s = open_ok();
    ck_assert_int_eq(store_last_run(s, "pg", RUN_FETCH, "t", NULL, NULL, &state, NULL,
                                    &attempt), 0);
    ck_assert_int_eq(state, RUN_FAILED);
    ck_assert_int_eq(attempt, 3);
    store_close(s);
}
END_TEST

/* Two processes claim the same queued runs, one from the first, the other
 * from the last: each run is claimed by exactly one of them. */
START_TEST(each_run_claimed_once)
{
    enum { RUNS = 120, KIDS = 2 };
    store *s = open_ok();
    store_run_spec spec = {.source = "pg", .kind = RUN_FETCH, .item = "t",
                           .trigger = RUN_TRIGGER_SCHEDULE};
    int64_t ids[RUNS], got;
    int claims[RUNS] = {0}, fds[KIDS][2], k, i, status, per_kid[KIDS] = {0};
    pid_t pid[KIDS];
    derr e = {0};

    for (i = 0; i < RUNS; i++)
        ck_assert_int_eq(store_run_queue(s, &spec, &ids[i], &e), DSRC_OK);
    store_close(s);
    for (k = 0; k < KIDS; k++) {
        ck_assert_int_eq(pipe(fds[k]), 0);
        pid[k] = fork();
        ck_assert_int_ge(pid[k], 0);
        if (pid[k] == 0) {
            store *c = unit_store_open(dir, &e);
            int j;
            close(fds[k][0]);
            if (!c)
                _exit(2);
            for (j = 0; j < RUNS; j++) {
                int64_t id = ids[k ? RUNS - 1 - j : j];
                dsrc_status rs = store_run_start(c, id, NULL, 60000, &e);
                if (rs == DSRC_OK && write(fds[k][1], &id, sizeof id) != sizeof id)
                    _exit(3);
                if (rs != DSRC_OK && rs != DSRC_E_NOT_FOUND)
                    _exit(4);
                derr_clear(&e);
            }
            /* dying leaves the runs running: store_close only */
            store_close(c);
            _exit(0);
        }
        close(fds[k][1]);
    }
    for (k = 0; k < KIDS; k++) {
        while (read(fds[k][0], &got, sizeof got) == (ssize_t)sizeof got) {
            for (i = 0; i < RUNS && ids[i] != got; i++)
                ;
            ck_assert_int_lt(i, RUNS);
            claims[i]++;
            per_kid[k]++;
        }
        close(fds[k][0]);
        ck_assert_int_eq(waitpid(pid[k], &status, 0), pid[k]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %d", k,
                      status);
    }
    for (i = 0; i < RUNS; i++)
        ck_assert_msg(claims[i] == 1, "run %lld claimed %d times", (long long)ids[i],
                      claims[i]);
    ck_assert_int_eq(per_kid[0] + per_kid[1], RUNS);
}
END_TEST

/* PostgreSQL: the connection is lost inside a transaction (its backend
 * terminated): the statements after it fail, nothing of the transaction
 * is kept, and the next call reconnects; lost between calls, the call
 * fails retryable or succeeds on a new connection, never half done. */
START_TEST(connection_lost_nothing_half_done)
{
    store *s, *killer;
    sdb *db, *kdb;
    sdb_stmt *st = NULL;
    derr e = {0};
    char sql[160];
    int64_t pid = 0, id;
    int rc;

    if (!unit_store_is_pg())
        return;
    s = open_ok();
    killer = open_ok();
    db = store_lock(s);
    ck_assert_int_eq(sdb_exec(db, "CREATE TABLE t_lost (v INTEGER)"), 0);
    ck_assert_int_eq(sdb_prepare(db, "SELECT pg_backend_pid()", &st), 0);
    ck_assert_int_eq(sdb_step(st), SDB_ROW);
    pid = sdb_column_int64(st, 0);
    sdb_finalize(st);
    ck_assert_int_eq(sdb_begin(db), 0);
    ck_assert_int_eq(sdb_exec(db, "INSERT INTO t_lost VALUES (1)"), 0);
    /* the server ends this connection (a restart, a failover, a kill) */
    kdb = store_lock(killer);
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld)", (long long)pid);
    ck_assert_int_eq(sdb_exec(kdb, sql), 0);
    store_unlock(killer);
    rc = sdb_exec(db, "INSERT INTO t_lost VALUES (2)");
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(sdb_errcode(db), SDB_E_CONN);
    /* no reconnection inside the transaction: this one is not run alone */
    ck_assert_int_eq(sdb_exec(db, "INSERT INTO t_lost VALUES (3)"), -1);
    ck_assert_int_eq(sdb_errcode(db), SDB_E_CONN);
    ck_assert_int_eq(sdb_commit(db), -1);
    /* the next call is on a new connection */
    ck_assert_int_eq(sdb_exec(db, "INSERT INTO t_lost VALUES (4)"), 0);
    store_unlock(s);
    ck_assert_int_eq(unit_store_int(dir, "SELECT COUNT(*) FROM t_lost"), 1);
    ck_assert_int_eq(unit_store_int(dir, "SELECT MAX(v) FROM t_lost"), 4);

    /* lost between two calls of the store: the call that finds it lost
     * fails retryable and did nothing, the next one works */
    db = store_lock(s);
    ck_assert_int_eq(sdb_prepare(db, "SELECT pg_backend_pid()", &st), 0);
    ck_assert_int_eq(sdb_step(st), SDB_ROW);
    pid = sdb_column_int64(st, 0);
    sdb_finalize(st);
    store_unlock(s);
    kdb = store_lock(killer);
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld)", (long long)pid);
    ck_assert_int_eq(sdb_exec(kdb, sql), 0);
    store_unlock(killer);
    if (store_run_begin(s, &inc_spec, NULL, 60000, &id, &e) != DSRC_OK) {
        ck_assert_int_eq(e.status, DSRC_E_UNREACHABLE);
        ck_assert_int_eq(e.retryable, 1);
        ck_assert_ptr_nonnull(strstr(e.msg, "state store"));
        derr_clear(&e);
        ck_assert_int_eq(unit_store_int(dir, "SELECT COUNT(*) FROM runs"), 0);
        ck_assert_int_eq(store_run_begin(s, &inc_spec, NULL, 60000, &id, &e), DSRC_OK);
    }
    ck_assert_str_eq(run_state_of(s, id), "running");
    ck_assert_int_eq(unit_store_int(dir, "SELECT COUNT(*) FROM runs"), 1);
    store_close(killer);
    store_close(s);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *su = suite_create("store");
    TCase *tc = tcase_create("store");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, schema_made_and_reopened);
    tcase_add_test(tc, newer_schema_refused);
    tcase_add_test(tc, not_a_database_refused);
    tcase_add_test(tc, first_open_waits_for_a_writer);
    tcase_add_test(tc, json_cursors_imported_once);
    tcase_add_test(tc, run_commits_cursor_with_success);
    tcase_add_test(tc, failed_run_moves_nothing);
    tcase_add_test(tc, one_incremental_writer_per_item);
    tcase_add_test(tc, dead_run_with_manifest_is_committed);
    tcase_add_test(tc, dead_run_without_manifest_is_undone);
    tcase_add_test(tc, dead_run_keeps_a_file_that_is_not_its_own);
    tcase_add_test(tc, dead_run_frees_its_item);
    tcase_add_test(tc, runs_listed_filtered_and_pruned);
    tcase_add_test(tc, each_run_claimed_once);
    tcase_add_test(tc, ended_run_with_files_in_place_is_committed);
    tcase_add_test(tc, connection_lost_nothing_half_done);
    tcase_add_test(tc, names_round_trip);
    tcase_add_test(tc, last_run_of_each_job);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
