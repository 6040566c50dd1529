/* SPDX-License-Identifier: Apache-2.0 */
/* test_catalog.c -- the catalog: normal form and schema hash, typed diffs
 * and their classes, snapshots and drift events in a real state store. */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "unit_tmp.h"
#include "store_env.h"
#include "catalog/catalog.h"
#include "catalog/discovery.h"
#include "catalog/drift.h"
#include "catalog/snapshot.h"

/* A table "s/t": id integer primary key, name varchar(20) not null,
 * price numeric(10,2) default 0. */
typedef struct tab {
    dsrc_item it;
    dsrc_column cols[4];
    dsrc_kv props[1];
    dsrc_metadata md;
} tab;

static void tab_init(tab *t, const char *path)
{
    memset(t, 0, sizeof *t);
    t->it.struct_size = sizeof t->it;
    t->it.path = path;
    t->it.name = strrchr(path, '/') + 1;
    t->it.kind = DSRC_ITEM_TABLE;
    t->it.rows = 100;
    t->it.rows_estimated = 1;
    t->it.size_bytes = 8192;
    t->it.mtime = 1700000000;
    t->cols[0] = (dsrc_column){"id", DSRC_T_INT64, "integer", 0, 1, NULL, NULL, {NULL, NULL}};
    t->cols[1] = (dsrc_column){"name", DSRC_T_TEXT, "varchar(20)", 0, 0, NULL, "who",
                               {NULL, NULL}};
    t->cols[2] = (dsrc_column){"price", DSRC_T_TEXT, "numeric(10,2)", 1, 0, "0", NULL,
                               {NULL, NULL}};
    t->props[0] = (dsrc_kv){"engine", "InnoDB"};
    t->md.struct_size = sizeof t->md;
    t->md.item = &t->it;
    t->md.columns = t->cols;
    t->md.n_columns = 3;
    t->md.properties = t->props;
    t->md.n_properties = 1;
}

static void hash_of(tab *t, char out[CATALOG_HASH_LEN + 1])
{
    catalog_list l = {0};

    ck_assert_int_eq(catalog_list_add(&l, &t->md), 0);
    ck_assert_uint_eq(strlen(l.v[0].hash), CATALOG_HASH_LEN);
    memcpy(out, l.v[0].hash, CATALOG_HASH_LEN + 1);
    catalog_list_free(&l);
}

START_TEST(volatile_fields_leave_the_hash)
{
    tab t;
    char a[CATALOG_HASH_LEN + 1], b[CATALOG_HASH_LEN + 1];

    tab_init(&t, "s/t");
    hash_of(&t, a);
    t.it.rows = 123456;
    t.it.rows_estimated = 0;
    t.it.size_bytes = 1 << 30;
    t.it.mtime = 1800000000;
    t.it.comment = "now with a comment";
    t.cols[1].comment = "another";
    t.props[0].value = "MyISAM";
    hash_of(&t, b);
    ck_assert_str_eq(a, b);
    /* a real change does move it */
    t.cols[2].nullable = 0;
    hash_of(&t, b);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(normal_form_is_canonical)
{
    tab t;
    catalog_list l = {0};

    tab_init(&t, "s/t");
    t.cols[3] = (dsrc_column){"tenant", DSRC_T_INT64, NULL, -1, 0, NULL, NULL, {NULL, NULL}};
    t.md.n_columns = 4;
    /* a two-column key whose second column comes first in the table */
    t.cols[0].primary_key = 2;
    t.cols[3].primary_key = 1;
    ck_assert_int_eq(catalog_list_add(&l, &t.md), 0);
    ck_assert_str_eq(
        l.v[0].schema,
        "{\"columns\":[{\"default\":null,\"key\":2,\"name\":\"id\",\"nullable\":false,"
        "\"ordinal\":1,\"type\":\"integer\"},{\"default\":null,\"key\":0,\"name\":\"name\","
        "\"nullable\":false,\"ordinal\":2,\"type\":\"varchar(20)\"},{\"default\":\"0\","
        "\"key\":0,\"name\":\"price\",\"nullable\":true,\"ordinal\":3,\"type\":"
        "\"numeric(10,2)\"},{\"default\":null,\"key\":1,\"name\":\"tenant\",\"nullable\":null,"
        "\"ordinal\":4,\"type\":\"int64\"}],\"kind\":\"table\",\"path\":\"s/t\","
        "\"primary_key\":[\"tenant\",\"id\"]}");
    ck_assert_ptr_nonnull(strstr(l.v[0].vol, "\"rows\":100"));
    ck_assert_ptr_nonnull(strstr(l.v[0].vol, "\"engine\":\"InnoDB\""));
    ck_assert_ptr_nonnull(strstr(l.v[0].vol, "\"name\":\"who\""));
    catalog_list_free(&l);
}
END_TEST

START_TEST(sorted_and_compared_by_path)
{
    tab a, b, c;
    catalog_list x = {0}, y = {0};

    tab_init(&a, "s/a");
    tab_init(&b, "s/b");
    tab_init(&c, "s/c");
    ck_assert_int_eq(catalog_list_add(&x, &c.md), 0);
    ck_assert_int_eq(catalog_list_add(&x, &a.md), 0);
    ck_assert_int_eq(catalog_list_add(&x, &b.md), 0);
    ck_assert_int_eq(catalog_list_add(&y, &a.md), 0);
    ck_assert_int_eq(catalog_list_add(&y, &b.md), 0);
    a.it.rows = 5; /* volatile only */
    ck_assert_int_eq(catalog_list_add(&y, &c.md), 0);
    catalog_list_sort(&x);
    catalog_list_sort(&y);
    ck_assert_str_eq(x.v[0].path, "s/a");
    ck_assert_str_eq(x.v[2].path, "s/c");
    ck_assert_int_eq(catalog_list_same(&x, &y), 1);
    catalog_list_free(&y);
    ck_assert_int_eq(catalog_list_add(&y, &a.md), 0);
    ck_assert_int_eq(catalog_list_same(&x, &y), 0);
    catalog_list_free(&x);
    catalog_list_free(&y);
}
END_TEST

/* The one change between t as made by tab_init and t after `edit`. */
typedef void (*edit_fn)(tab *t);

static void diff_one(edit_fn edit, catalog_change_kind want, int breaking, const char *column)
{
    tab t;
    catalog_list a = {0}, b = {0};
    catalog_diff d = {0};

    tab_init(&t, "s/t");
    ck_assert_int_eq(catalog_list_add(&a, &t.md), 0);
    edit(&t);
    ck_assert_int_eq(catalog_list_add(&b, &t.md), 0);
    ck_assert_int_eq(catalog_diff_lists(&a, &b, &d), 0);
    ck_assert_uint_eq(d.n, 1);
    ck_assert_str_eq(catalog_change_name(d.v[0].kind), catalog_change_name(want));
    ck_assert_int_eq(d.v[0].breaking, breaking);
    ck_assert_str_eq(d.v[0].item, "s/t");
    if (column)
        ck_assert_str_eq(d.v[0].column, column);
    else
        ck_assert_ptr_null(d.v[0].column);
    catalog_diff_free(&d);
    catalog_list_free(&a);
    catalog_list_free(&b);
}

static void add_column(tab *t)
{
    t->cols[3] = (dsrc_column){"extra", DSRC_T_TEXT, "text", 1, 0, NULL, NULL, {NULL, NULL}};
    t->md.n_columns = 4;
}
static void drop_column(tab *t) { t->md.n_columns = 2; }
static void narrow_type(tab *t) { t->cols[1].native_type = "varchar(10)"; }
static void widen_type(tab *t) { t->cols[1].native_type = "varchar(200)"; }
static void to_text(tab *t) { t->cols[0].native_type = "text"; }
static void set_not_null(tab *t) { t->cols[2].nullable = 0; }
static void drop_not_null(tab *t) { t->cols[1].nullable = 1; }
static void new_default(tab *t) { t->cols[2].default_value = "1"; }
static void new_key(tab *t) { t->cols[1].primary_key = 2; }
static void to_view(tab *t) { t->it.kind = DSRC_ITEM_VIEW; }

START_TEST(each_change_kind_and_class)
{
    diff_one(add_column, CATALOG_COLUMN_ADDED, 0, "extra");
    diff_one(drop_column, CATALOG_COLUMN_REMOVED, 1, "price");
    diff_one(narrow_type, CATALOG_COLUMN_TYPE_CHANGED, 1, "name");
    diff_one(widen_type, CATALOG_COLUMN_TYPE_CHANGED, 0, "name");
    diff_one(to_text, CATALOG_COLUMN_TYPE_CHANGED, 1, "id");
    diff_one(set_not_null, CATALOG_COLUMN_NULLABILITY_CHANGED, 1, "price");
    diff_one(drop_not_null, CATALOG_COLUMN_NULLABILITY_CHANGED, 0, "name");
    diff_one(new_default, CATALOG_COLUMN_DEFAULT_CHANGED, 0, "price");
    diff_one(new_key, CATALOG_PRIMARY_KEY_CHANGED, 1, NULL);
    diff_one(to_view, CATALOG_ITEM_KIND_CHANGED, 0, NULL);
}
END_TEST

START_TEST(items_added_and_removed)
{
    tab a, b, c;
    catalog_list x = {0}, y = {0};
    catalog_diff d = {0};

    tab_init(&a, "s/a");
    tab_init(&b, "s/b");
    tab_init(&c, "s/c");
    catalog_list_add(&x, &a.md);
    catalog_list_add(&x, &b.md);
    catalog_list_add(&y, &b.md);
    catalog_list_add(&y, &c.md);
    ck_assert_int_eq(catalog_diff_lists(&x, &y, &d), 0);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_int_eq(d.v[0].kind, CATALOG_ITEM_REMOVED);
    ck_assert_int_eq(d.v[0].breaking, 1);
    ck_assert_str_eq(d.v[0].item, "s/a");
    ck_assert_ptr_nonnull(d.v[0].before);
    ck_assert_ptr_null(d.v[0].after);
    ck_assert_int_eq(d.v[1].kind, CATALOG_ITEM_ADDED);
    ck_assert_int_eq(d.v[1].breaking, 0);
    ck_assert_str_eq(d.v[1].item, "s/c");
    catalog_diff_free(&d);
    catalog_list_free(&x);
    catalog_list_free(&y);
}
END_TEST

START_TEST(foreign_keys_diff_as_sets)
{
    catalog_list x = {0}, y = {0};
    catalog_diff d = {0};
    const char *h = "0000000000000000000000000000000000000000000000000000000000000000";
    const char *g = "1111111111111111111111111111111111111111111111111111111111111111";

    ck_assert_int_eq(catalog_list_push(&x, "s/t", h, "{\"kind\":\"table\",\"columns\":[],"
                                       "\"primary_key\":[],\"foreign_keys\":[{\"columns\":[\"a\"],"
                                       "\"references\":\"s/u\"}]}", NULL), 0);
    ck_assert_int_eq(catalog_list_push(&y, "s/t", g, "{\"kind\":\"table\",\"columns\":[],"
                                       "\"primary_key\":[],\"foreign_keys\":[{\"columns\":[\"b\"],"
                                       "\"references\":\"s/u\"}]}", NULL), 0);
    ck_assert_int_eq(catalog_diff_lists(&x, &y, &d), 0);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_int_eq(d.v[0].kind, CATALOG_FOREIGN_KEY_REMOVED);
    ck_assert_int_eq(d.v[1].kind, CATALOG_FOREIGN_KEY_ADDED);
    ck_assert_int_eq(d.v[0].breaking + d.v[1].breaking, 0);
    catalog_diff_free(&d);
    catalog_list_free(&x);
    catalog_list_free(&y);
}
END_TEST

START_TEST(type_widening)
{
    ck_assert_int_eq(catalog_type_widens("integer", "bigint"), 1);
    ck_assert_int_eq(catalog_type_widens("int(11)", "bigint(20)"), 1);
    ck_assert_int_eq(catalog_type_widens("smallint", "int4"), 1);
    ck_assert_int_eq(catalog_type_widens("bigint", "integer"), 0);
    ck_assert_int_eq(catalog_type_widens("int unsigned", "int"), 0);
    ck_assert_int_eq(catalog_type_widens("int unsigned", "bigint"), 1);
    ck_assert_int_eq(catalog_type_widens("int", "int unsigned"), 0);
    ck_assert_int_eq(catalog_type_widens("character varying(10)", "character varying(20)"), 1);
    ck_assert_int_eq(catalog_type_widens("varchar(20)", "varchar(10)"), 0);
    ck_assert_int_eq(catalog_type_widens("varchar(20)", "text"), 1);
    ck_assert_int_eq(catalog_type_widens("text", "varchar(20)"), 0);
    ck_assert_int_eq(catalog_type_widens("text", "longtext"), 1);
    ck_assert_int_eq(catalog_type_widens("real", "double precision"), 1);
    ck_assert_int_eq(catalog_type_widens("double precision", "real"), 0);
    ck_assert_int_eq(catalog_type_widens("numeric(10,2)", "numeric(12,2)"), 1);
    ck_assert_int_eq(catalog_type_widens("numeric(10,2)", "numeric(10,3)"), 0);
    ck_assert_int_eq(catalog_type_widens("numeric(10,2)", "numeric"), 1);
    ck_assert_int_eq(catalog_type_widens("integer", "text"), 0);
    ck_assert_int_eq(catalog_type_widens("timestamp", "date"), 0);
}
END_TEST

START_TEST(change_names_and_ids)
{
    int k, j;

    for (k = 0; k < CATALOG_N_CHANGE_KINDS; k++) {
        const char *id = catalog_change_message_id((catalog_change_kind)k);
        ck_assert_int_eq(catalog_change_parse(catalog_change_name((catalog_change_kind)k)), k);
        ck_assert_uint_eq(strspn(id, "0123456789abcdef"), 32);
        ck_assert_uint_eq(strlen(id), 32);
        for (j = 0; j < k; j++)
            ck_assert_str_ne(id, catalog_change_message_id((catalog_change_kind)j));
    }
    ck_assert_int_eq(catalog_change_parse("nope"), -1);
    ck_assert_int_eq(catalog_kind_parse("materialized-view"), DSRC_ITEM_MATERIALIZED_VIEW);
    ck_assert_int_eq(catalog_kind_parse("what"), DSRC_ITEM_OTHER);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Snapshots in a real store                                                 */

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/dsrc-catalog-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    unit_tmp_remove(dir);
}

/* Record the catalog {a, b} (b edited by `edit` when not NULL). */
static snapshot_result record(store *s, edit_fn edit, int64_t retention_ms)
{
    tab a, b;
    catalog_list l = {0};
    snapshot_result r;
    derr e = {0};

    tab_init(&a, "s/a");
    tab_init(&b, "s/b");
    if (edit)
        edit(&b);
    catalog_list_add(&l, &b.md);
    catalog_list_add(&l, &a.md);
    ck_assert_int_eq(snapshot_record(s, "src", &l, 5, 0, retention_ms, &r, &e), DSRC_OK);
    catalog_list_free(&l);
    return r;
}

static int64_t count(const char *table)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    char path[128], sql[128];
    int64_t n;

    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", table);
    if (unit_store_is_pg())
        return unit_store_int(dir, sql);
    snprintf(path, sizeof path, "%s/dsrc.db", dir);
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

START_TEST(unchanged_catalog_is_one_snapshot)
{
    derr e = {0};
    store *s = unit_store_open(dir, &e);
    snapshot_result r;
    snapshot_info info;
    int i;

    ck_assert_ptr_nonnull(s);
    r = record(s, NULL, 0);
    ck_assert_int_eq(r.changed, 1);
    ck_assert_uint_eq(r.changes, 0); /* the first one is no drift */
    for (i = 0; i < 50; i++) {
        r = record(s, NULL, 0);
        ck_assert_int_eq(r.changed, 0);
        ck_assert_uint_eq(r.changes, 0);
    }
    ck_assert_int_eq(count("catalog_snapshots"), 1);
    ck_assert_int_eq(count("catalog_entries"), 2);
    ck_assert_int_eq(count("catalog_items"), 2);
    ck_assert_int_eq(count("drift_events"), 0);
    ck_assert_int_eq(snapshot_find(s, "src", 0, 0, &info, &e), 0);
    ck_assert_int_eq(info.items, 2);
    ck_assert_int_ge(info.verified_at, info.taken_at);
    ck_assert_int_eq(snapshot_find(s, "other", 0, 0, &info, &e), 1);
    store_close(s);
}
END_TEST

START_TEST(a_change_is_one_event_and_pauses)
{
    derr e = {0};
    store *s = unit_store_open(dir, &e);
    snapshot_result r;
    snapshot_info info;
    catalog_list l = {0};
    json_t *ev, *found;
    char *why = NULL;
    int64_t n;

    ck_assert_ptr_nonnull(s);
    record(s, NULL, 0);
    r = record(s, narrow_type, 0);
    ck_assert_int_eq(r.changed, 1);
    ck_assert_uint_eq(r.changes, 1);
    ck_assert_uint_eq(r.breaking, 1);
    /* discovered again, unchanged: no second event */
    r = record(s, narrow_type, 0);
    ck_assert_int_eq(r.changed, 0);
    ck_assert_int_eq(count("drift_events"), 1);
    /* the unchanged item is stored once across both snapshots */
    ck_assert_int_eq(count("catalog_snapshots"), 2);
    ck_assert_int_eq(count("catalog_items"), 3);
    ev = drift_events_json(s, "src", 0, &e);
    ck_assert_uint_eq(json_array_size(ev), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ev, 0), "change")),
                     "column_type_changed");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ev, 0), "before")),
                     "varchar(20)");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ev, 0), "class")),
                     "breaking");
    json_decref(ev);
    ck_assert_int_eq(drift_count(s, "src", 0, &e), 1);
    ck_assert_int_eq(drift_paused(s, "src", "s/b", &why, &e), 1);
    ck_assert_ptr_nonnull(strstr(why, "dsrc drift ack src s/b"));
    free(why);
    ck_assert_int_eq(drift_paused(s, "src", "s/a", NULL, &e), 0);
    ck_assert_int_eq(drift_ack(s, "src", "s/b", &n, &e), DSRC_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(drift_paused(s, "src", "s/b", NULL, &e), 0);
    ck_assert_int_eq(drift_ack(s, "src", "s/a", &n, &e), DSRC_E_NOT_FOUND);
    derr_clear(&e);
    /* the first snapshot is still there, as it was */
    ck_assert_int_eq(snapshot_find(s, "src", 1, 0, &info, &e), 0);
    ck_assert_int_eq(snapshot_load(s, info.id, &l, &e), DSRC_OK);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_ptr_nonnull(strstr(l.v[1].schema, "varchar(20)"));
    catalog_list_free(&l);
    found = snapshot_search(s, "pri", &e);
    ck_assert_uint_eq(json_array_size(found), 2); /* price in s/a and s/b */
    json_decref(found);
    store_close(s);
}
END_TEST

START_TEST(retention_keeps_the_latest)
{
    derr e = {0};
    store *s = unit_store_open(dir, &e);
    snapshot_info info;

    ck_assert_ptr_nonnull(s);
    record(s, NULL, 0);
    record(s, add_column, 0);
    record(s, drop_column, 0);
    ck_assert_int_eq(count("catalog_snapshots"), 3);
    /* a retention of 1 ms: only the latest stays, with its items */
    usleep(5000);
    record(s, drop_column, 1);
    ck_assert_int_eq(count("catalog_snapshots"), 1);
    ck_assert_int_eq(count("catalog_items"), 2);
    /* the unacknowledged breaking events (price and extra removed) are
     * kept, the non-breaking one (extra added) is not */
    ck_assert_int_eq(count("drift_events"), 2);
    ck_assert_int_eq(snapshot_find(s, "src", 0, 0, &info, &e), 0);
    ck_assert_int_eq(info.id, 3);
    store_close(s);
}
END_TEST

/* The host's choice of a discover's mode, case by case: one endpoint with
 * (samples, failures, saturated, p95, breaker, pool max_size, active), the
 * health's defaults (latency_warn_ms 250, error_rate_warn 0.1). */
START_TEST(discover_mode_choice)
{
    static const struct {
        int configured;
        int samples, failures, saturated;
        double p95;
        breaker_state brk;
        int max_size, active;
        dsrc_discover_mode want;
        const char *why;
    } t[] = {
        {CFG_DISCOVER_ADAPTIVE, 0, 0, 0, 0, BREAKER_CLOSED, 10, 0,
         DSRC_DISCOVER_BALANCED, "no samples"},
        {CFG_DISCOVER_ADAPTIVE, 60, 0, 0, 10, BREAKER_CLOSED, 10, 0,
         DSRC_DISCOVER_AGGRESSIVE, "healthy, fast, spare connections"},
        {CFG_DISCOVER_ADAPTIVE, 60, 0, 0, 10, BREAKER_CLOSED, 10, 9,
         DSRC_DISCOVER_BALANCED, "one connection left"},
        {CFG_DISCOVER_ADAPTIVE, 60, 0, 0, 50, BREAKER_CLOSED, 10, 0,
         DSRC_DISCOVER_BALANCED, "p95 at a fifth of the warning"},
        {CFG_DISCOVER_ADAPTIVE, 60, 1, 0, 10, BREAKER_CLOSED, 10, 0,
         DSRC_DISCOVER_BALANCED, "one failure, below the warning rate"},
        {CFG_DISCOVER_ADAPTIVE, 60, 0, 2, 10, BREAKER_CLOSED, 10, 0,
         DSRC_DISCOVER_BALANCED, "the pool was saturated"},
        {CFG_DISCOVER_ADAPTIVE, 60, 6, 0, 10, BREAKER_CLOSED, 10, 0,
         DSRC_DISCOVER_CONSERVATIVE, "error rate at the warning"},
        {CFG_DISCOVER_ADAPTIVE, 60, 0, 0, 251, BREAKER_CLOSED, 10, 0,
         DSRC_DISCOVER_CONSERVATIVE, "p95 above the warning"},
        {CFG_DISCOVER_ADAPTIVE, 60, 0, 0, 10, BREAKER_OPEN, 10, 0,
         DSRC_DISCOVER_CONSERVATIVE, "breaker open"},
        {CFG_DISCOVER_ADAPTIVE, 0, 0, 0, 0, BREAKER_HALF_OPEN, 10, 0,
         DSRC_DISCOVER_CONSERVATIVE, "breaker half-open, no samples"},
        {CFG_DISCOVER_BALANCED, 60, 0, 0, 10, BREAKER_CLOSED, 10, 0,
         DSRC_DISCOVER_BALANCED, "fixed balanced"},
        {CFG_DISCOVER_AGGRESSIVE, 60, 0, 0, 10, BREAKER_OPEN, 10, 0,
         DSRC_DISCOVER_AGGRESSIVE, "fixed aggressive"},
        {CFG_DISCOVER_CONSERVATIVE, 60, 0, 0, 10, BREAKER_CLOSED, 10, 0,
         DSRC_DISCOVER_CONSERVATIVE, "fixed conservative"},
    };
    health_endpoint_report ep[2];
    health_report rep;
    size_t i;

    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        memset(&rep, 0, sizeof rep);
        memset(ep, 0, sizeof ep);
        ep[0].role = DSRC_ROLE_PRIMARY;
        ep[0].samples = t[i].samples;
        ep[0].failures = t[i].failures;
        ep[0].saturated = t[i].saturated;
        ep[0].latency_p95_ms = t[i].p95;
        ep[0].error_rate = t[i].samples ? (double)t[i].failures / t[i].samples : 0;
        ep[0].breaker.state = t[i].brk;
        ep[0].pool.max_size = t[i].max_size;
        ep[0].pool.active = t[i].active;
        rep.endpoints = ep;
        rep.n_endpoints = 1;
        ck_assert_msg(discovery_choose(t[i].configured, &rep, NULL) == t[i].want,
                      "%s: got %s, want %s", t[i].why,
                      discovery_mode_name(discovery_choose(t[i].configured, &rep, NULL)),
                      discovery_mode_name(t[i].want));
        /* a replica in trouble does not slow the primary's discover */
        ep[1] = ep[0];
        ep[1].role = DSRC_ROLE_REPLICA;
        ep[1].breaker.state = BREAKER_OPEN;
        ep[1].latency_p95_ms = 1000;
        rep.n_endpoints = 2;
        ck_assert_msg(discovery_choose(t[i].configured, &rep, NULL) == t[i].want,
                      "%s, with a replica down", t[i].why);
    }
    /* no report at all: adaptive is balanced */
    ck_assert_int_eq(discovery_choose(CFG_DISCOVER_ADAPTIVE, NULL, NULL),
                     DSRC_DISCOVER_BALANCED);
    ck_assert_str_eq(discovery_mode_name(DSRC_DISCOVER_CONSERVATIVE), "conservative");
}
END_TEST

/* Each discover is one row; the last DISCOVERY_KEEP of a source stay. */
START_TEST(discoveries_recorded_and_kept)
{
    derr e = {0};
    store *s = unit_store_open(dir, &e);
    discovery_rec r;
    json_t *last;
    int i;

    ck_assert_ptr_nonnull(s);
    last = discovery_last_json(s, "src", &e);
    ck_assert(json_is_null(last));
    json_decref(last);
    memset(&r, 0, sizeof r);
    r.source = "src";
    r.started_at = 1700000000000;
    r.duration_ms = 12;
    r.items = 3;
    r.queries = 2;
    r.mode = DSRC_DISCOVER_CONSERVATIVE;
    r.result = "ok";
    for (i = 0; i < DISCOVERY_KEEP + 5; i++) {
        r.retries = i;
        ck_assert_int_eq(discovery_record(s, &r, &e), DSRC_OK);
    }
    r.source = "other";
    r.run_id = 7;
    r.errors = 1;
    r.queries = -1;
    r.result = "timeout";
    ck_assert_int_eq(discovery_record(s, &r, &e), DSRC_OK);
    ck_assert_int_eq(count("discoveries"), DISCOVERY_KEEP + 1);
    last = discovery_last_json(s, "src", &e);
    ck_assert_ptr_nonnull(last);
    ck_assert_int_eq(json_integer_value(json_object_get(last, "retries")), DISCOVERY_KEEP + 4);
    ck_assert_int_eq(json_integer_value(json_object_get(last, "queries")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(last, "items")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(last, "mode")), "conservative");
    ck_assert_str_eq(json_string_value(json_object_get(last, "started_at")),
                     "2023-11-14T22:13:20.000Z");
    ck_assert(json_is_null(json_object_get(last, "run_id")));
    json_decref(last);
    last = discovery_last_json(s, "other", &e);
    ck_assert_int_eq(json_integer_value(json_object_get(last, "run_id")), 7);
    ck_assert_int_eq(json_integer_value(json_object_get(last, "errors")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(last, "result")), "timeout");
    json_decref(last);
    store_close(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("catalog");
    TCase *tc = tcase_create("normal form and diff");
    TCase *ts = tcase_create("snapshots");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, volatile_fields_leave_the_hash);
    tcase_add_test(tc, normal_form_is_canonical);
    tcase_add_test(tc, sorted_and_compared_by_path);
    tcase_add_test(tc, each_change_kind_and_class);
    tcase_add_test(tc, items_added_and_removed);
    tcase_add_test(tc, foreign_keys_diff_as_sets);
    tcase_add_test(tc, type_widening);
    tcase_add_test(tc, change_names_and_ids);
    tcase_add_test(tc, discover_mode_choice);
    tcase_add_checked_fixture(ts, setup, teardown);
    tcase_add_test(ts, unchanged_catalog_is_one_snapshot);
    tcase_add_test(ts, a_change_is_one_event_and_pauses);
    tcase_add_test(ts, retention_keeps_the_latest);
    tcase_add_test(ts, discoveries_recorded_and_kept);
    suite_add_tcase(su, tc);
    suite_add_tcase(su, ts);
    sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
