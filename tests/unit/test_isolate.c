/* SPDX-License-Identifier: Apache-2.0 */
/* test_isolate.c -- the framed encoding (core/isolate/wire.h): records
 * round-trip; truncated, oversized and garbage frames are refused cleanly;
 * and the proxy driver (core/isolate/isolate.h) with crashy.so in a worker
 * process: rows arrive in order many to a frame, a sink's refusal stops
 * the worker's fetch, a worker's death fails the call naming the signal. */
#include <config.h>

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ctx.h"
#include "isolate/isolate.h"
#include "isolate/wire.h"

/* ---- the encoding ---- */

static const char *const fk_cols[] = {"a", "b"};
static const char *const fk_refs[] = {"x", "y"};

/* A metadata frame with every kind of member, into b. */
static void meta_frame(wire_buf *b)
{
    dsrc_item it = {sizeof it, "s/t", "t", DSRC_ITEM_TABLE, 0, 42, 1, -1, 1700000000, "c"};
    dsrc_column cols[2] = {{"id", DSRC_T_INT64, "bigint", 0, 1, NULL, NULL, {NULL, NULL}},
                           {"v", DSRC_T_TEXT, "text", 1, 0, "'x'", "a comment", {NULL, NULL}}};
    dsrc_kv props[1] = {{"engine", "mem"}};
    dsrc_foreign_key fk = {"fk1", fk_cols, "s/u", fk_refs, 2, DSRC_FK_CASCADE, NULL,
                           {NULL, NULL}};
    dsrc_metadata md = {sizeof md, &it, cols, 2, props, 1, &fk, 1};

    wire_begin(b, WIRE_META);
    wire_put_meta(b, &md);
}

START_TEST(records_round_trip)
{
    wire_buf b = {0};
    wire_rd r;
    wire_arena a = {0};
    dsrc_metadata md;
    dsrc_item it;
    dsrc_kv opts[2] = {{"host", "h"}, {"password", "s3cret"}};
    const char *const hosts[] = {"r1:5432", "[::1]:5433"};
    dsrc_open_params p, q;
    dsrc_cell cells[5], *got = NULL;
    size_t cap = 0;
    dsrc_error e = {sizeof e, DSRC_E_AUTH, 1, 0, "28P01", (char *)"no", NULL, NULL}, e2;

    meta_frame(&b);
    ck_assert_int_eq(wire_parse(b.p, b.len, &r), -1); /* length 0, not set yet: garbage */
    wire_close(&b, 0);
    ck_assert_int_eq(wire_parse(b.p, b.len, &r), (long)b.len);
    ck_assert_int_eq(r.type, WIRE_META);
    ck_assert_int_eq(wire_get_meta(&r, &a, &md, &it), 0);
    ck_assert_str_eq(md.item->path, "s/t");
    ck_assert_int_eq(md.item->rows, 42);
    ck_assert_int_eq(md.item->mtime, 1700000000);
    ck_assert_uint_eq(md.n_columns, 2);
    ck_assert_str_eq(md.columns[1].default_value, "'x'");
    ck_assert_ptr_null(md.columns[0].comment);
    ck_assert_str_eq(md.properties[0].value, "mem");
    ck_assert_uint_eq(md.n_foreign_keys, 1);
    ck_assert_str_eq(md.foreign_keys[0].ref_columns[1], "y");
    ck_assert_str_eq(md.foreign_keys[0].on_update, "CASCADE");
    ck_assert_ptr_null(md.foreign_keys[0].on_delete);
    ck_assert_uint_eq(r.off, r.len);
    wire_arena_free(&a);

    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.source = "src";
    p.options = opts;
    p.n_options = 2;
    p.endpoint = 2;
    p.tls_mode = "verify-full";
    p.replica_hosts = hosts;
    p.n_replica_hosts = 2;
    wire_begin(&b, WIRE_OPEN);
    wire_put_params(&b, &p);
    wire_close(&b, 0);
    ck_assert_int_gt(wire_parse(b.p, b.len, &r), 0);
    ck_assert_int_eq(wire_get_params(&r, &a, &q), 0);
    ck_assert_str_eq(q.options[1].value, "s3cret");
    ck_assert_int_eq(q.endpoint, 2);
    ck_assert_ptr_null(q.tls_ca);
    ck_assert_str_eq(q.replica_hosts[1], "[::1]:5433");
    wire_arena_free(&a);
    wire_wipe(&b);
    ck_assert_ptr_null(memmem(b.p, b.cap, "s3cret", 6)); /* the secret is gone */

    cells[0].type = DSRC_T_NULL;
    cells[1].type = DSRC_T_BOOL;
    cells[1].v.b = 1;
    cells[2].type = DSRC_T_INT64;
    cells[2].v.i = INT64_MIN;
    cells[3].type = DSRC_T_DOUBLE;
    cells[3].v.d = -0.125;
    cells[4].type = DSRC_T_BYTES;
    cells[4].v.s.ptr = "a\0b";
    cells[4].v.s.len = 3;
    wire_begin(&b, WIRE_RESULT);
    wire_put_row(&b, cells, 5);
    wire_put_error(&b, DSRC_E_AUTH, &e);
    wire_close(&b, 0);
    ck_assert_int_gt(wire_parse(b.p, b.len, &r), 0);
    ck_assert_int_eq(wire_get_row(&r, &got, &cap), 5);
    ck_assert_int_eq(got[1].v.b, 1);
    ck_assert(got[2].v.i == INT64_MIN);
    ck_assert(got[3].v.d == -0.125);
    ck_assert_uint_eq(got[4].v.s.len, 3);
    ck_assert_int_eq(memcmp(got[4].v.s.ptr, "a\0b", 3), 0);
    memset(&e2, 0, sizeof e2);
    e2.struct_size = sizeof e2;
    ck_assert_int_eq(wire_get_error(&r, &e2), DSRC_E_AUTH);
    ck_assert_int_eq(e2.retryable, 1);
    ck_assert_str_eq(e2.backend_code, "28P01");
    ck_assert_str_eq(e2.message, "no");
    e2.release(&e2);
    ck_assert(!r.bad);
    free(got);
    wire_free(&b);
}
END_TEST

/* Every truncation of a valid frame, and the same bytes with their
 * length patched to cover them: refused, never read past. */
START_TEST(truncated_frames)
{
    wire_buf b = {0};
    unsigned char *copy;
    size_t cut;
    wire_rd r;

    meta_frame(&b);
    wire_close(&b, 0);
    for (cut = 0; cut < b.len; cut++) {
        wire_arena a = {0};
        dsrc_metadata md;
        dsrc_item it;
        uint32_t body = (uint32_t)(cut - 4);

        ck_assert_int_eq(wire_parse(b.p, cut, &r), 0); /* not whole yet */
        if (cut < 6)
            continue;
        /* a frame that claims to end there: its body is cut short */
        copy = malloc(cut); /* exactly: ASan sees a read past it */
        memcpy(copy, b.p, cut);
        copy[0] = (unsigned char)body;
        copy[1] = (unsigned char)(body >> 8);
        copy[2] = copy[3] = 0;
        ck_assert_int_eq(wire_parse(copy, cut, &r), (long)cut);
        ck_assert_int_eq(wire_get_meta(&r, &a, &md, &it), -1);
        ck_assert(r.bad);
        wire_arena_free(&a);
        free(copy);
    }
    wire_free(&b);
}
END_TEST

START_TEST(garbage_frames)
{
    static const unsigned char empty[] = {0, 0, 0, 0, 9};
    static const unsigned char huge[] = {0xff, 0xff, 0xff, 0x7f, WIRE_ROWS};
    /* a string that claims 3 bytes and has no NUL after them */
    static const unsigned char nonul[] = {9, 0, 0, 0, WIRE_LOG, 3, 0, 0, 0, 'a', 'b', 'c', 'd'};
    unsigned char junk[512];
    unsigned seed = 12345;
    int round;
    wire_rd r;
    dsrc_cell *cells = NULL;
    size_t cap = 0, i;

    ck_assert_int_eq(wire_parse(empty, sizeof empty, &r), -1);
    ck_assert_int_eq(wire_parse(huge, sizeof huge, &r), -1);
    ck_assert_int_eq(wire_parse(nonul, sizeof nonul, &r), (long)sizeof nonul);
    ck_assert_ptr_null(wire_get_str(&r, NULL));
    ck_assert(r.bad);
    /* random bodies through every decoder: refused or decoded, no crash */
    for (round = 0; round < 2000; round++) {
        size_t n = 5 + (size_t)(seed % (sizeof junk - 5));
        wire_arena a = {0};
        dsrc_metadata md;
        dsrc_item it;
        dsrc_open_params p;
        dsrc_error e;

        for (i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            junk[i] = (unsigned char)(seed >> 16);
            if (seed & 0x100000)
                junk[i] &= 0x07; /* small counts and lengths, more often */
        }
        junk[0] = (unsigned char)(n - 4);
        junk[1] = (unsigned char)((n - 4) >> 8);
        junk[2] = junk[3] = 0;
        ck_assert_int_eq(wire_parse(junk, n, &r), (long)n);
        (void)wire_get_meta(&r, &a, &md, &it);
        r.off = 0, r.bad = 0;
        (void)wire_get_params(&r, &a, &p);
        r.off = 0, r.bad = 0;
        (void)wire_get_row(&r, &cells, &cap);
        r.off = 0, r.bad = 0;
        memset(&e, 0, sizeof e);
        (void)wire_get_error(&r, &e);
        if (e.release)
            e.release(&e);
        wire_arena_free(&a);
    }
    free(cells);
}
END_TEST

/* ---- the proxy, with crashy.so in a worker ---- */

static loader_set *set;
static const loader_plugin *crashy;

static void proxy_setup(void)
{
    loader_plugin *p = NULL;
    derr e = {0};

    set = loader_new(NULL, 0);
    ck_assert_ptr_nonnull(set);
    if (loader_load_file(set, ISO_TEST_BUILDDIR "/tests/fixtures/plugins/.libs/crashy.so",
                         "crashy", &p, &e) != DSRC_OK)
        ck_abort_msg("crashy.so: %s", e.msg);
    crashy = p;
}

static void proxy_teardown(void)
{
    isolate_free();
    loader_free(set);
}

static dsrc_conn *proxy_open_how(const dsrc_driver *d, struct dsrc_ctx *ctx, const char *fail_in,
                                 const char *how, const char *rows)
{
    dsrc_kv opts[3] = {{"fail_in", fail_in}, {"how", how}, {"rows", rows}};
    dsrc_open_params p;
    dsrc_conn *c = NULL;
    dsrc_error err = {sizeof err, DSRC_OK, 0, 0, "", NULL, NULL, NULL};

    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.source = "src";
    p.options = opts;
    p.n_options = 3;
    ctx_init(ctx, "src", "crashy", NULL);
    ck_assert_int_eq(d->open(ctx, &p, &c, &err), DSRC_OK);
    ck_assert_ptr_nonnull(c);
    return c;
}

static dsrc_conn *proxy_open(const dsrc_driver *d, struct dsrc_ctx *ctx, const char *fail_in,
                             const char *rows)
{
    return proxy_open_how(d, ctx, fail_in, "segv", rows);
}

typedef struct counter {
    int64_t rows, stop_at;
    int order_ok, schema;
    atomic_long seen; /* rows, for another thread to read */
} counter;

static int count_schema(void *u, const dsrc_column *c, size_t n)
{
    counter *k = u;
    k->schema = n == 2 && strcmp(c[0].name, "id") == 0;
    return 0;
}

static int count_row(void *u, const dsrc_cell *c, size_t n)
{
    counter *k = u;
    k->rows++;
    atomic_store(&k->seen, (long)k->rows);
    if (n != 2 || c[0].type != DSRC_T_INT64 || c[0].v.i != k->rows)
        k->order_ok = 0;
    return k->stop_at && k->rows >= k->stop_at;
}

START_TEST(proxy_fetch_and_stop)
{
    const dsrc_driver *d = isolate_driver(crashy);
    struct dsrc_ctx ctx;
    dsrc_conn *c;
    counter k = {0, 0, 1, 0, 0};
    dsrc_row_sink rows = {sizeof rows, &k, count_schema, count_row};
    dsrc_byte_sink bytes = {sizeof bytes, NULL, NULL, NULL};
    dsrc_fetch_req req = {sizeof req, "t1", NULL, 0, -1, NULL, NULL, DSRC_FETCH_ROWS};
    dsrc_fetch_result res;
    dsrc_error err;

    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->name, "crashy");
    ck_assert(d->capabilities & DSRC_CAP_CANCEL);
    c = proxy_open(d, &ctx, "none", "100000");
    memset(&res, 0, sizeof res);
    res.struct_size = sizeof res;
    memset(&err, 0, sizeof err);
    err.struct_size = sizeof err;
    ck_assert_int_eq(d->fetch(&ctx, c, &req, &rows, &bytes, &res, &err), DSRC_OK);
    ck_assert(k.schema);
    ck_assert_int_eq(k.rows, 100000);
    ck_assert(k.order_ok);
    ck_assert_uint_eq(res.rows, 100000);
    /* a sink that refuses: the worker's fetch stops (the plugin says so) */
    memset(&k, 0, sizeof k);
    k.order_ok = 1;
    k.stop_at = 10;
    memset(&res, 0, sizeof res);
    res.struct_size = sizeof res;
    ck_assert_int_eq(d->fetch(&ctx, c, &req, &rows, &bytes, &res, &err), DSRC_E_CANCELLED);
    ck_assert_int_eq(k.rows, 10);
    ck_assert_uint_lt(res.rows, 100000);
    if (err.release)
        err.release(&err);
    d->close(c);
}
END_TEST

START_TEST(proxy_worker_death)
{
    const dsrc_driver *d = isolate_driver(crashy);
    struct dsrc_ctx ctx;
    dsrc_conn *c = proxy_open(d, &ctx, "ping", "3");
    dsrc_ping_info info;
    dsrc_error err;

    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    memset(&err, 0, sizeof err);
    err.struct_size = sizeof err;
    ck_assert_int_eq(d->ping(&ctx, c, &info, &err), DSRC_E_INTERNAL);
    ck_assert(err.retryable);
    ck_assert(err.connection_broken);
    ck_assert_ptr_nonnull(strstr(err.message, "plugin 'crashy' worker for source 'src' killed "
                                              "by signal SIGSEGV"));
    err.release(&err);
    ck_assert_int_eq(isolate_quarantined("src"), 0);
    d->close(c);
}
END_TEST

typedef struct canceller {
    const dsrc_driver *d;
    dsrc_conn *c;
    counter *k;
    long seen_at_cancel;
} canceller;

/* Waits until the fetch's first row arrived (the worker's flusher sends
 * it although the plugin hangs after it; 30 s at most), then cancels from
 * this thread. */
static void *cancel_later(void *arg)
{
    canceller *x = arg;
    int i;

    for (i = 0; i < 3000 && atomic_load(&x->k->seen) < 1; i++)
        usleep(10 * 1000);
    x->seen_at_cancel = atomic_load(&x->k->seen);
    x->d->cancel(x->c);
    return NULL;
}

/* A fetch hanging after its first row, cancelled by another thread: the
 * row arrived during the hang; the worker, deaf to cancel(), is killed
 * after the grace and the call ends cancelled, naming what happened. */
START_TEST(proxy_cancel_from_another_thread)
{
    const dsrc_driver *d = isolate_driver(crashy);
    struct dsrc_ctx ctx;
    dsrc_conn *c;
    counter k = {0, 0, 1, 0, 0};
    dsrc_row_sink rows = {sizeof rows, &k, count_schema, count_row};
    dsrc_byte_sink bytes = {sizeof bytes, NULL, NULL, NULL};
    dsrc_fetch_req req = {sizeof req, "t1", NULL, 0, -1, NULL, NULL, DSRC_FETCH_ROWS};
    dsrc_fetch_result res;
    dsrc_error err;
    canceller x;
    pthread_t t;

    isolate_set_grace(300);
    c = proxy_open_how(d, &ctx, "fetch", "hang", "3");
    memset(&res, 0, sizeof res);
    res.struct_size = sizeof res;
    memset(&err, 0, sizeof err);
    err.struct_size = sizeof err;
    x.d = d;
    x.c = c;
    x.k = &k;
    x.seen_at_cancel = -1;
    ck_assert_int_eq(pthread_create(&t, NULL, cancel_later, &x), 0);
    ck_assert_int_eq(d->fetch(&ctx, c, &req, &rows, &bytes, &res, &err), DSRC_E_CANCELLED);
    pthread_join(t, NULL);
    ck_assert_int_eq(x.seen_at_cancel, 1);
    ck_assert_int_eq(k.rows, 1);
    ck_assert_ptr_nonnull(strstr(err.message, "ignored cancellation for 0.3 s: killed"));
    ck_assert(err.connection_broken);
    err.release(&err);
    d->close(c);
    isolate_set_grace(0);
}
END_TEST

static Suite *isolate_suite(void)
{
    Suite *s = suite_create("isolate");
    TCase *tc = tcase_create("wire"), *px = tcase_create("proxy");

    tcase_add_test(tc, records_round_trip);
    tcase_add_test(tc, truncated_frames);
    tcase_add_test(tc, garbage_frames);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(px, proxy_setup, proxy_teardown);
    tcase_add_test(px, proxy_fetch_and_stop);
    tcase_add_test(px, proxy_worker_death);
    tcase_add_test(px, proxy_cancel_from_another_thread);
    suite_add_tcase(s, px);
    return s;
}

int main(int argc, char **argv)
{
    SRunner *sr;
    int failed, rc = isolate_worker_main(argc, argv); /* the proxy's workers */

    if (rc >= 0)
        return rc;
#if defined(__SANITIZE_ADDRESS__)
    {
        /* AddressSanitizer turns a segfault into a report and exit status
         * 1: let the signal end the workers, as it does without it */
        const char *o = getenv("ASAN_OPTIONS");
        char buf[1024];
        snprintf(buf, sizeof buf, "%s%shandle_segv=0", o ? o : "", o && *o ? ":" : "");
        setenv("ASAN_OPTIONS", buf, 1);
    }
#endif
    sr = srunner_create(isolate_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
