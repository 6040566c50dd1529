/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_catalog.c -- the catalog benchmark.  Built and run by
 * bench/catalog/run; not a test.
 *
 * Usage: bench_catalog STATE_DIR [ITEMS [DISCOVERS]]
 *
 *   - normalises ITEMS (default 10 000) tables of 10 columns twice, the
 *     second time with 1% of them changed (a column's type), and times the
 *     diff of the two catalogs (sort + compare, best of 5; goal < 100 ms)
 *     with the memory the two catalogs and the diff hold;
 *   - records the unchanged catalog DISCOVERS (default 100) times in a
 *     state store in STATE_DIR and prints the store's size after the first
 *     and after the last (goal: about one snapshot's size).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "catalog/catalog.h"
#include "catalog/snapshot.h"

static double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ITEMS tables; every 100th one changed when `changed`. */
static void bench_make(catalog_list *l, long items, int changed)
{
    static const char *const types[] = {"integer", "text", "numeric(10,2)", "timestamp",
                                        "boolean", "varchar(64)", "bigint", "date", "jsonb",
                                        "double precision"};
    char path[64], names[10][16];
    dsrc_column cols[10];
    dsrc_item it;
    dsrc_metadata md;
    long i;
    int k;

    for (i = 0; i < items; i++) {
        snprintf(path, sizeof path, "public/t%05ld", i);
        memset(&it, 0, sizeof it);
        it.struct_size = sizeof it;
        it.path = path;
        it.name = path + 7;
        it.kind = DSRC_ITEM_TABLE;
        it.rows = 1000 + i;
        it.rows_estimated = 1;
        it.size_bytes = 8192 * (i + 1);
        it.mtime = -1;
        for (k = 0; k < 10; k++) {
            snprintf(names[k], sizeof names[k], "c%d", k);
            memset(&cols[k], 0, sizeof cols[k]);
            cols[k].name = names[k];
            cols[k].type = DSRC_T_TEXT;
            cols[k].native_type = types[k];
            cols[k].nullable = k != 0;
            cols[k].primary_key = k == 0;
        }
        if (changed && i % 100 == 0)
            cols[5].native_type = "varchar(32)";
        memset(&md, 0, sizeof md);
        md.struct_size = sizeof md;
        md.item = &it;
        md.columns = cols;
        md.n_columns = 10;
        if (catalog_list_add(l, &md) < 0) {
            fprintf(stderr, "bench_catalog: out of memory\n");
            exit(1);
        }
    }
}

static size_t bench_bytes(const catalog_list *l)
{
    size_t i, n = l->cap * sizeof *l->v;

    for (i = 0; i < l->n; i++)
        n += strlen(l->v[i].path) + 1 + strlen(l->v[i].schema) + 1 +
             (l->v[i].vol ? strlen(l->v[i].vol) + 1 : 0);
    return n;
}

static long long bench_db_size(const char *dir)
{
    const char *const files[] = {"dsrc.db", "dsrc.db-wal", NULL};
    char p[512];
    struct stat sb;
    long long n = 0;
    int i;

    for (i = 0; files[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        if (stat(p, &sb) == 0)
            n += sb.st_size;
    }
    return n;
}

int main(int argc, char **argv)
{
    long items = argc > 2 ? atol(argv[2]) : 10000;
    long discovers = argc > 3 ? atol(argv[3]) : 100;
    catalog_list a = {0}, b = {0};
    catalog_diff d = {0};
    double t0, best = 1e9, norm;
    size_t i, breaking = 0;
    long r, k;
    long long one = 0, all;
    struct rusage ru;
    store *s;
    derr e = {0};
    snapshot_result res;

    if (argc < 2 || items < 100 || discovers < 1) {
        fprintf(stderr, "usage: bench_catalog STATE_DIR [ITEMS>=100 [DISCOVERS]]\n");
        return 2;
    }
    t0 = bench_now();
    bench_make(&a, items, 0);
    norm = bench_now() - t0;
    bench_make(&b, items, 1);
    for (r = 0; r < 5; r++) {
        catalog_diff_free(&d);
        t0 = bench_now();
        catalog_list_sort(&a);
        catalog_list_sort(&b);
        if (catalog_diff_lists(&a, &b, &d) < 0) {
            fprintf(stderr, "bench_catalog: diff failed\n");
            return 1;
        }
        t0 = bench_now() - t0;
        if (t0 < best)
            best = t0;
    }
    for (i = 0; i < d.n; i++)
        breaking += d.v[i].breaking != 0;
    getrusage(RUSAGE_SELF, &ru);
    printf("catalog of %ld tables x 10 columns\n", items);
    printf("  normalise + hash        %8.1f ms (%.1f us per item)\n", norm * 1e3,
           norm * 1e6 / (double)items);
    printf("  diff, %ld%% changed       %8.1f ms (best of 5; goal < 100 ms): %zu change(s), "
           "%zu breaking\n", 1L, best * 1e3, d.n, breaking);
    printf("  memory: two catalogs    %8.1f MiB; process max RSS %.1f MiB\n",
           (double)(bench_bytes(&a) + bench_bytes(&b)) / 1048576.0,
           (double)ru.ru_maxrss / 1024.0);
    catalog_diff_free(&d);
    catalog_list_free(&b);

    if (!(s = store_open(argv[1], &e))) {
        fprintf(stderr, "bench_catalog: %s\n", e.msg);
        return 1;
    }
    t0 = bench_now();
    for (k = 0; k < discovers; k++) {
        if (snapshot_record(s, "bench", &a, 0, 0, 0, &res, &e) != DSRC_OK) {
            fprintf(stderr, "bench_catalog: %s\n", e.msg);
            return 1;
        }
        if (k == 0) {
            store_close(s);
            one = bench_db_size(argv[1]);
            if (!(s = store_open(argv[1], &e))) {
                fprintf(stderr, "bench_catalog: %s\n", e.msg);
                return 1;
            }
        }
    }
    t0 = bench_now() - t0;
    store_close(s);
    all = bench_db_size(argv[1]);
    printf("store after 1 discover    %8.1f MiB\n", (double)one / 1048576.0);
    printf("store after %ld discovers %8.1f MiB (%.2fx one; goal about 1x), "
           "%.1f ms per unchanged discover recorded\n", discovers, (double)all / 1048576.0,
           (double)all / (double)(one ? one : 1), t0 * 1e3 / (double)discovers);
    catalog_list_free(&a);
    return 0;
}
