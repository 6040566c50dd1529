/* SPDX-License-Identifier: Apache-2.0 */
/* test_cluster.c -- several nodes sharing one state store: one run per job
 * slot, claims handed to exactly one process, the node on runs, heartbeats
 * and leases, and who resolves a dead node's runs.  On SQLite, or on the
 * PostgreSQL store of DSRC_TEST_STORE_URL (store_env.h). */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store_env.h"
#include "unit_tmp.h"
#include "output/outfile.h"
#include "store/audit.h"
#include "store/db.h"
#include "store/store.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/dsrc-cluster-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    unit_tmp_remove(dir);
}

static store *open_node(const char *node)
{
    derr e = {0};
    store *s = unit_store_open(dir, &e);

    ck_assert_msg(s != NULL, "store_open: %s", e.msg ? e.msg : "?");
    if (node)
        ck_assert_int_eq(store_set_node(s, node), 0);
    return s;
}

/* Member `key` of run `id` as a string ("" when null). */
static const char *run_str(store *s, int64_t id, const char *key)
{
    static char buf[256];
    derr e = {0};
    json_t *o = store_run_json(s, id, &e);

    ck_assert_ptr_nonnull(o);
    snprintf(buf, sizeof buf, "%s",
             json_string_value(json_object_get(o, key)) ? json_string_value(json_object_get(o, key))
                                                         : "");
    json_decref(o);
    return buf;
}

START_TEST(node_names_are_checked_and_carried_by_the_owner)
{
    store *s = open_node(NULL);
    char want[80];

    ck_assert_int_eq(store_set_node(s, ""), -1);
    ck_assert_int_eq(store_set_node(s, "a/b"), -1);
    ck_assert_int_eq(store_set_node(s, "node-1"), 0);
    ck_assert_str_eq(store_node(s), "node-1");
    snprintf(want, sizeof want, "node-1/");
    ck_assert_msg(strncmp(store_owner(s), want, strlen(want)) == 0, "owner %s",
                  store_owner(s));
    store_close(s);
}
END_TEST

START_TEST(one_run_per_job_slot_and_attempt)
{
    store *a = open_node("a"), *b = open_node("b");
    store_run_spec sp = {.source = "pg", .kind = RUN_FETCH, .item = "t",
                         .trigger = RUN_TRIGGER_SCHEDULE, .attempt = 1,
                         .job = "pg/fetch/t", .slot_ms = 1700000000000};
    int64_t ia = 0, ib = -1, ic = 0, id = 0;
    derr e = {0};

    ck_assert_int_eq(store_run_queue(a, &sp, &ia, &e), DSRC_OK);
    ck_assert_int_gt(ia, 0);
    /* the other node computed the same slot: nothing queued */
    ck_assert_int_eq(store_run_queue(b, &sp, &ib, &e), DSRC_OK);
    ck_assert_int_eq(ib, 0);
    /* a retry of that slot (attempt 2) and the next slot are runs of their own */
    sp.attempt = 2;
    ck_assert_int_eq(store_run_queue(b, &sp, &ic, &e), DSRC_OK);
    ck_assert_int_gt(ic, ia);
    sp.attempt = 1;
    sp.slot_ms += 2000;
    ck_assert_int_eq(store_run_queue(b, &sp, &id, &e), DSRC_OK);
    ck_assert_int_gt(id, ic);
    /* runs without a job never collide */
    sp.job = NULL;
    ck_assert_int_eq(store_run_queue(a, &sp, &ib, &e), DSRC_OK);
    ck_assert_int_eq(store_run_queue(a, &sp, &ic, &e), DSRC_OK);
    ck_assert_int_ne(ib, ic);
    ck_assert_int_gt(ib, 0);
    /* the node is recorded; a run is started once, by whoever claims it
     * first */
    ck_assert_str_eq(run_str(a, ia, "node"), "a");
    ck_assert_str_eq(run_str(a, id, "node"), "b");
    ck_assert_int_eq(store_run_start(a, ia, "primary", 60000, &e), DSRC_OK);
    ck_assert_int_eq(store_run_start(b, ia, NULL, 60000, &e), DSRC_E_NOT_FOUND);
    derr_clear(&e);
    ck_assert_str_eq(run_str(b, ia, "state"), "running");
    ck_assert_str_eq(run_str(b, ia, "owner"), store_owner(a));
    store_close(a);
    store_close(b);
}
END_TEST

/* Processes claiming at once: every run queued for any node goes to
 * exactly one of them. */
START_TEST(claims_hand_each_run_to_one_process)
{
    enum { NRUNS = 120, NPROC = 3 };
    store *s = open_node("q");
    store_run_spec sp = {.source = "pg", .kind = RUN_DISCOVER, .trigger = RUN_TRIGGER_MANUAL,
                         .any_node = 1};
    int fds[NPROC][2];
    pid_t pids[NPROC];
    int seen[NRUNS + 1];
    int64_t first = 0, id;
    derr e = {0};
    int i, total = 0;

    for (i = 0; i < NRUNS; i++) {
        ck_assert_int_eq(store_run_queue(s, &sp, &id, &e), DSRC_OK);
        if (!first)
            first = id;
    }
    /* a run queued for any node is nobody's: recovery leaves it queued */
    ck_assert_int_eq(store_recover(s, NULL, NULL, &e), 0);
    ck_assert_str_eq(run_str(s, first, "state"), "queued");
    store_close(s);
    for (i = 0; i < NPROC; i++) {
        ck_assert_int_eq(pipe(fds[i]), 0);
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            char name[16];
            store *c;
            close(fds[i][0]);
            snprintf(name, sizeof name, "n%d", i);
            if (!(c = unit_store_open(dir, &e)) || store_set_node(c, name) < 0)
                _exit(1);
            for (;;) {
                int64_t got = 0;
                if (store_run_claim(c, NULL, 60000, &got, &e) != DSRC_OK)
                    _exit(2);
                if (!got)
                    break;
                if (write(fds[i][1], &got, sizeof got) != sizeof got)
                    _exit(3);
            }
            store_close(c);
            _exit(0);
        }
        close(fds[i][1]);
    }
    memset(seen, 0, sizeof seen);
    for (i = 0; i < NPROC; i++) {
        int status;
        int64_t got;
        while (read(fds[i][0], &got, sizeof got) == (ssize_t)sizeof got) {
            ck_assert_int_ge(got, first);
            ck_assert_int_lt(got - first, NRUNS);
            seen[got - first]++;
            total++;
        }
        close(fds[i][0]);
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert_int_eq(WEXITSTATUS(status), 0);
    }
    ck_assert_int_eq(total, NRUNS);
    for (i = 0; i < NRUNS; i++)
        ck_assert_int_eq(seen[i], 1);
    s = open_node("q");
    ck_assert_str_eq(run_str(s, first, "state"), "running");
    ck_assert_msg(run_str(s, first, "node")[0] == 'n', "node %s", run_str(s, first, "node"));
    store_close(s);
}
END_TEST

START_TEST(heartbeats_list_nodes_and_renew_leases)
{
    store *a = open_node("a"), *b = open_node("b");
    store_run_spec sp = {.source = "pg", .kind = RUN_DISCOVER, .trigger = RUN_TRIGGER_MANUAL};
    int64_t id;
    derr e = {0};
    json_t *arr, *o;
    size_t i;
    int found = 0;

    time_t t = time(NULL) + 300;
    char later[32];

    strftime(later, sizeof later, "%Y-%m-%dT%H:%M:%S", gmtime(&t));
    ck_assert_int_eq(store_run_begin(a, &sp, NULL, 1000, &id, &e), DSRC_OK);
    ck_assert_int_eq(store_node_beat(a, 600000, &e), DSRC_OK);
    ck_assert_int_eq(store_node_beat(b, 600000, &e), DSRC_OK);
    arr = store_nodes_json(b, 10000, &e);
    ck_assert_ptr_nonnull(arr);
    ck_assert_int_eq(json_array_size(arr), 2);
    json_array_foreach(arr, i, o) {
        const char *name = json_string_value(json_object_get(o, "name"));
        ck_assert(json_is_true(json_object_get(o, "live")));
        ck_assert_str_eq(json_string_value(json_object_get(o, "version")), PACKAGE_VERSION);
        if (strcmp(name, "a") == 0) {
            found++;
            ck_assert_int_eq(json_integer_value(json_object_get(o, "leases")), 1);
            ck_assert_str_eq(json_string_value(json_object_get(o, "owner")), store_owner(a));
            /* the beat renewed the run's lease (1 s) to 10 minutes */
            ck_assert_str_gt(json_string_value(json_object_get(o, "lease_until")), later);
        } else {
            ck_assert_str_eq(name, "b");
            found++;
            ck_assert_int_eq(json_integer_value(json_object_get(o, "leases")), 0);
            ck_assert(json_is_null(json_object_get(o, "lease_until")));
        }
    }
    ck_assert_int_eq(found, 2);
    json_decref(arr);
    /* a node that stops beating is no longer live */
    usleep(30000);
    arr = store_nodes_json(b, 10, &e);
    ck_assert_ptr_nonnull(arr);
    json_array_foreach(arr, i, o)
        ck_assert(json_is_false(json_object_get(o, "live")));
    json_decref(arr);
    store_close(a);
    store_close(b);
}
END_TEST

/* A node that died leaving a run with output on its own workspace: with a
 * node-local workspace only that node resolves it; with a shared one any
 * node does. */
static int64_t dead_prepared_run(const char *node, const char *file)
{
    int fds[2];
    pid_t pid;
    int status;
    int64_t id = 0;

    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        derr e = {0};
        store *s = unit_store_open(dir, &e);
        store_run_spec sp = {.source = "pg", .kind = RUN_FETCH, .item = "t",
                             .trigger = RUN_TRIGGER_SCHEDULE, .cursor_field = "id"};
        store_run_output out = {.file = file, .sha256 = "00", .cursor_to = "9"};
        char fid[OUTFILE_ID_MAX];
        struct stat sb;

        if (!s || store_set_node(s, node) < 0 ||
            store_run_begin(s, &sp, NULL, 60000, &id, &e) != DSRC_OK)
            _exit(1);
        if (stat(file, &sb) == 0) {
            outfile_stat_id(&sb, fid);
            out.file_id = fid;
        }
        if (store_run_prepare(s, id, &out, &e) != DSRC_OK ||
            write(fds[1], &id, sizeof id) != sizeof id)
            _exit(2);
        _exit(0);
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &id, sizeof id), (ssize_t)sizeof id);
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    return id;
}

START_TEST(a_dead_nodes_files_are_resolved_by_who_can_see_them)
{
    char file[128];
    FILE *f;
    store *b, *a;
    int64_t id;
    derr e = {0};

    snprintf(file, sizeof file, "%s/data.csv", dir);
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs("id\n9\n", f);
    fclose(f);
    id = dead_prepared_run("a", file);
    /* node b, node-local workspace: not its files */
    b = open_node("b");
    ck_assert_int_eq(store_recover(b, NULL, NULL, &e), 0);
    ck_assert_str_eq(run_str(b, id, "state"), "running");
    ck_assert_int_eq(access(file, F_OK), 0);
    /* node a again (restarted): its own files, resolved (no manifest: the
     * data file is removed, the run failed) */
    a = open_node("a");
    ck_assert_int_eq(store_recover(a, NULL, NULL, &e), 1);
    ck_assert_str_eq(run_str(a, id, "state"), "failed");
    ck_assert_int_ne(access(file, F_OK), 0);
    store_close(a);
    /* with a shared workspace, node b resolves a's run itself */
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs("id\n9\n", f);
    fclose(f);
    id = dead_prepared_run("a", file);
    store_set_shared_workspace(b, 1);
    ck_assert_int_eq(store_recover(b, NULL, NULL, &e), 1);
    ck_assert_str_eq(run_str(b, id, "state"), "failed");
    ck_assert_int_ne(access(file, F_OK), 0);
    store_close(b);
}
END_TEST

/* The audit trail records the node of each record, inside the hash: the
 * chain stays intact, and changing a record's node breaks it. */
START_TEST(the_audit_trail_records_the_node)
{
    store *a = open_node("a"), *b = open_node("b");
    store_audit_rec r = {.who = "uid 0", .origin = "cli", .action = "fetch", .result = "ok",
                         .rows = -1, .bytes = -1};
    store_audit_filter f = {0};
    store_audit_check c;
    derr e = {0};
    json_t *arr;

    ck_assert_int_eq(store_audit_append(a, &r, NULL, &e), DSRC_OK);
    ck_assert_int_eq(store_audit_append(b, &r, NULL, &e), DSRC_OK);
    arr = store_audit_json(a, &f, &e);
    ck_assert_ptr_nonnull(arr);
    ck_assert_int_eq(json_array_size(arr), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 0), "node")), "a");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 1), "node")), "b");
    json_decref(arr);
    ck_assert_int_eq(store_audit_verify(a, &c, &e), DSRC_OK);
    ck_assert_int_eq(c.records, 2);
    ck_assert_int_eq(c.bad_id, 0);
    unit_store_exec(dir, "UPDATE audit SET node = 'c' WHERE node = 'b'");
    ck_assert_int_eq(store_audit_verify(a, &c, &e), DSRC_OK);
    ck_assert_int_ne(c.bad_id, 0);
    store_close(a);
    store_close(b);
}
END_TEST

static Suite *cluster_suite(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tcase_create("store");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, node_names_are_checked_and_carried_by_the_owner);
    tcase_add_test(tc, one_run_per_job_slot_and_attempt);
    tcase_add_test(tc, claims_hand_each_run_to_one_process);
    tcase_add_test(tc, heartbeats_list_nodes_and_renew_leases);
    tcase_add_test(tc, a_dead_nodes_files_are_resolved_by_who_can_see_them);
    tcase_add_test(tc, the_audit_trail_records_the_node);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(cluster_suite());
    int failed;

    srunner_run_all(r, CK_NORMAL);
    failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
