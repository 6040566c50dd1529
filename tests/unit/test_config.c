/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_config -- dsrcd.conf and sources.d: every setting parsed, every
 * error class reported with file and line, durations and schedules.
 *
 * Error cases write their files into a fresh temporary directory; the line
 * numbers asserted are those of the strings below (one "\n" per line).
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "base/diag.h"
#include "base/log.h"
#include "base/redact.h"
#include "config/schedule.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static char *tmp;          /* the test's temporary directory */
static diag_list diags;

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl;

    ck_assert_int_ge(asprintf(&tmpl, "%s/dsrc-config-XXXXXX", base && *base ? base : "/tmp"), 0);
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    tmp = tmpl;
    memset(&diags, 0, sizeof diags);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(tmp);
    diag_free(&diags);
}

/* tmp/rel (malloc'd). */
static char *tpath(const char *rel)
{
    char *p;
    ck_assert_int_ge(asprintf(&p, "%s/%s", tmp, rel), 0);
    return p;
}

/* Write tmp/rel (creating tmp/sources.d when needed); returns the path. */
static char *put(const char *rel, const char *text)
{
    char *p = tpath(rel);
    FILE *fp;

    if (strncmp(rel, "sources.d/", 10) == 0) {
        char *d = tpath("sources.d");
        mkdir(d, 0755);
        free(d);
    }
    fp = fopen(p, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    ck_assert_int_eq(fclose(fp), 0);
    return p;
}

/* Write an empty dsrcd.conf plus one source file, load. */
static cfg_config *load_source(const char *text, char **src_path)
{
    char *d = put("dsrcd.conf", "# defaults\n");
    cfg_config *cfg;

    *src_path = put("sources.d/src.conf", text);
    cfg = cfg_load(d, &diags);
    free(d);
    ck_assert_ptr_nonnull(cfg);
    return cfg;
}

/* Assert diagnostic i: file, line, and a phrase of the message. */
#define ck_diag(i, file_, line_, phrase)                                       \
    do {                                                                        \
        size_t i_ = (i);                                                        \
        ck_assert_msg(diags.n > i_, "expected diagnostic %zu, have %zu", i_,    \
                      diags.n);                                                 \
        ck_assert_str_eq(diags.v[i_].file, (file_));                            \
        ck_assert_int_eq(diags.v[i_].line, (line_));                            \
        ck_assert_msg(strstr(diags.v[i_].msg, (phrase)) != NULL,                \
                      "diagnostic %zu is '%s', expected it to contain '%s'",    \
                      i_, diags.v[i_].msg, (phrase));                           \
    } while (0)

/* Assert the number of errors (and of all diagnostics). */
#define ck_errors(n_)                                                           \
    do {                                                                        \
        if (diags.n_errors != (size_t)(n_))                                     \
            diag_print(&diags, stderr);                                         \
        ck_assert_uint_eq(diags.n_errors, (n_));                                \
    } while (0)

static time_t utc(int y, int mon, int d, int h, int min, int s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = min;
    tm.tm_sec = s;
    return timegm(&tm);
}

static const cfg_value *find_value(const cfg_value *v, size_t n, const char *key)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (strcmp(v[i].key, key) == 0)
            return &v[i];
    return NULL;
}

static void ck_value(const cfg_value *v, size_t n, const char *key, const char *text,
                     cfg_vtype type, int line)
{
    const cfg_value *x = find_value(v, n, key);
    ck_assert_msg(x != NULL, "no value '%s'", key);
    ck_assert_str_eq(x->text, text);
    ck_assert_int_eq(x->type, type);
    ck_assert_int_eq(x->line, line);
}

/* ------------------------------------------------------------------------ */
/* The full, valid configuration (tests/fixtures/config/full)                */

START_TEST(full_config)
{
    const char *srcdir = getenv("top_srcdir");
    char *dir, *path, *p;
    cfg_config *cfg;
    const cfg_source *s;
    const cfg_fetch_rule *f;

    ck_assert_msg(srcdir != NULL, "top_srcdir is not set");
    ck_assert_int_ge(asprintf(&dir, "%s/tests/fixtures/config/full", srcdir), 0);
    ck_assert_int_ge(asprintf(&path, "%s/dsrcd.conf", dir), 0);
    cfg = cfg_load(path, &diags);
    ck_assert_ptr_nonnull(cfg);
    ck_errors(0);
    ck_assert_uint_eq(diags.n, 0);

    /* daemon settings, relative paths resolved against the file's dir */
    ck_assert_str_eq(cfg->path, path);
    ck_assert_uint_eq(cfg->n_plugin_dirs, 2);
    ck_assert_int_ge(asprintf(&p, "%s/plugins", dir), 0);
    ck_assert_str_eq(cfg->plugin_dirs[0], p);
    free(p);
    ck_assert_str_eq(cfg->plugin_dirs[1], "/opt/dsrc/plugins");
    ck_assert_int_ge(asprintf(&p, "%s/state", dir), 0);
    ck_assert_str_eq(cfg->state_dir, p);
    free(p);
    ck_assert_str_eq(cfg->workspace, "/srv/dsrc/workspace");
    ck_assert_int_ge(asprintf(&p, "%s/sources.d", dir), 0);
    ck_assert_str_eq(cfg->sources_dir, p);
    free(p);
    ck_assert_int_ge(asprintf(&p, "%s/keys/dsrc.key", dir), 0);
    ck_assert_str_eq(cfg->key_file, p);
    free(p);
    ck_assert_int_ge(asprintf(&p, "%s/run/dsrcd.sock", dir), 0);
    ck_assert_str_eq(cfg->control_socket, p);
    free(p);
    ck_assert_int_eq(cfg->log_level, DSRC_LOG_DEBUG);
    ck_assert_int_eq(cfg->log_target, LOG_TARGET_STDERR);

    /* three sources, in file-name order; hidden and non-.conf files skipped */
    ck_assert_uint_eq(cfg->n_sources, 3);
    ck_assert_str_eq(cfg->sources[0].name, "orders-db");
    ck_assert_str_eq(cfg->sources[1].name, "blobs");
    ck_assert_str_eq(cfg->sources[2].name, "warehouse");

    /* 10-orders.conf: every source setting */
    s = cfg_find_source(cfg, "orders-db");
    ck_assert_ptr_eq(s, &cfg->sources[0]);
    ck_assert_int_ge(asprintf(&p, "%s/sources.d/10-orders.conf", dir), 0);
    ck_assert_str_eq(s->file, p);
    free(p);
    ck_assert_int_eq(s->line, 2);
    ck_assert_str_eq(s->type, "postgres");
    ck_assert_int_eq(s->type_line, 3);
    ck_assert_int_eq(s->enabled, 1);
    ck_assert_int_eq(s->location, DSRC_LOC_HYBRID);
    ck_assert_uint_eq(s->n_errors, 0);

    ck_assert_uint_eq(s->n_labels, 3);
    ck_value(s->labels, s->n_labels, "owner", "data-team", CFG_V_STRING, 7);
    ck_value(s->labels, s->n_labels, "tier", "2", CFG_V_INT, 8);
    ck_value(s->labels, s->n_labels, "pii", "true", CFG_V_BOOL, 9);

    ck_assert_int_eq(s->connection_line, 11);
    ck_assert_uint_eq(s->n_connection, 5);
    ck_assert_str_eq(s->connection[0].key, "host");  /* file order kept */
    ck_value(s->connection, s->n_connection, "host", "db.example.com", CFG_V_STRING, 12);
    ck_value(s->connection, s->n_connection, "port", "5432", CFG_V_INT, 13);
    ck_value(s->connection, s->n_connection, "compress", "false", CFG_V_BOOL, 14);
    ck_value(s->connection, s->n_connection, "ratio", "0.75", CFG_V_FLOAT, 15);
    ck_value(s->connection, s->n_connection, "password", "env:ORDERS_PASSWORD",
             CFG_V_STRING, 16);

    ck_assert_str_eq(s->cloud_provider, "aws");
    ck_assert_uint_eq(s->n_cloud, 8);
    ck_value(s->cloud, s->n_cloud, "provider", "aws", CFG_V_STRING, 19);
    ck_value(s->cloud, s->n_cloud, "region", "eu-west-1", CFG_V_STRING, 20);
    ck_value(s->cloud, s->n_cloud, "use_iam_auth", "true", CFG_V_BOOL, 21);
    ck_value(s->cloud, s->n_cloud, "role_arn", "arn:aws:iam::123456789012:role/dsrc",
             CFG_V_STRING, 22);
    ck_value(s->cloud, s->n_cloud, "access_key_id", "AKIAEXAMPLE", CFG_V_STRING, 23);
    ck_value(s->cloud, s->n_cloud, "secret_access_key", "env:AWS_SECRET_ACCESS_KEY",
             CFG_V_STRING, 24);
    ck_value(s->cloud, s->n_cloud, "session_token", "file:/run/secrets/aws_session",
             CFG_V_STRING, 25);
    ck_value(s->cloud, s->n_cloud, "profile", "prod", CFG_V_STRING, 26);

    ck_assert_int_eq(s->tls_line, 28);
    ck_assert_str_eq(s->tls_mode, "verify-ca");
    ck_assert_int_ge(asprintf(&p, "%s/sources.d/certs/ca.pem", dir), 0);
    ck_assert_str_eq(s->tls_ca, p);
    free(p);
    ck_assert_str_eq(s->tls_cert, "/etc/dsrc/client.pem");
    ck_assert_int_ge(asprintf(&p, "%s/sources.d/certs/client.key", dir), 0);
    ck_assert_str_eq(s->tls_key, p);
    free(p);
    ck_assert_str_eq(s->tls_key_passphrase, "env:ORDERS_TLS_PASSPHRASE");

    ck_assert_uint_eq(s->n_replica_hosts, 2);
    ck_assert_str_eq(s->replica_hosts[0], "replica1.example.com:5432");
    ck_assert_str_eq(s->replica_hosts[1], "replica2.example.com");
    ck_assert_str_eq(s->replica_set, "rs0");
    ck_assert_str_eq(s->read_policy, "replica_preferred");

    ck_assert_int_eq(s->pool.max_size, 20);
    ck_assert_int_eq(s->pool.min_idle, 2);
    ck_assert_int_eq(s->pool.acquire_timeout_ms, 5000);
    ck_assert_int_eq(s->pool.idle_timeout_ms, 300000);
    ck_assert_int_eq(s->pool.max_lifetime_ms, 5400000);
    ck_assert_int_eq(s->pool.keepalive_ms, 60000);
    ck_assert_int_eq(s->pool.validate_after_ms, 250);
    ck_assert_int_eq(s->pool.leak_threshold_ms, 120000);

    ck_assert_str_eq(s->schedule_discover, "0 */6 * * *");
    ck_assert_str_eq(s->schedule_health, "@every 30s");

    ck_assert_uint_eq(s->n_fetch, 2);
    f = &s->fetch[0];
    ck_assert_int_eq(f->line, 55);
    ck_assert_str_eq(f->item, "public/orders");
    ck_assert_str_eq(f->format, "jsonl");
    ck_assert_uint_eq(f->n_columns, 3);
    ck_assert_str_eq(f->columns[0], "id");
    ck_assert_str_eq(f->columns[1], "customer_id");
    ck_assert_str_eq(f->columns[2], "total");
    ck_assert_int_eq(f->limit, 1000);
    ck_assert_str_eq(f->cursor_field, "updated_at");
    ck_assert_str_eq(f->schedule, "*/15 * * * mon-fri");
    f = &s->fetch[1];
    ck_assert_int_eq(f->line, 63);
    ck_assert_str_eq(f->item, "public/customers");
    ck_assert_str_eq(f->format, "csv");
    ck_assert_ptr_null(f->columns);
    ck_assert_uint_eq(f->n_columns, 0);
    ck_assert_int_eq(f->limit, -1);
    ck_assert_ptr_null(f->cursor_field);
    ck_assert_ptr_null(f->schedule);

    /* 20-blobs.conf: azure, disabled */
    s = cfg_find_source(cfg, "blobs");
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->enabled, 0);
    ck_assert_int_eq(s->location, DSRC_LOC_CLOUD);
    ck_assert_str_eq(s->cloud_provider, "azure");
    ck_assert_uint_eq(s->n_cloud, 8);
    ck_value(s->cloud, s->n_cloud, "tenant_id", "00000000-0000-0000-0000-000000000001",
             CFG_V_STRING, 8);
    ck_value(s->cloud, s->n_cloud, "client_id", "00000000-0000-0000-0000-000000000002",
             CFG_V_STRING, 9);
    ck_value(s->cloud, s->n_cloud, "client_secret", "env:AZURE_CLIENT_SECRET",
             CFG_V_STRING, 10);
    ck_value(s->cloud, s->n_cloud, "use_managed_identity", "false", CFG_V_BOOL, 11);
    ck_value(s->cloud, s->n_cloud, "authority_host", "https://login.microsoftonline.com",
             CFG_V_STRING, 12);
    ck_value(s->cloud, s->n_cloud, "token_endpoint", "https://login.example.com/token",
             CFG_V_STRING, 13);
    ck_value(s->cloud, s->n_cloud, "imds_endpoint",
             "http://169.254.169.254/metadata/identity/oauth2/token", CFG_V_STRING, 14);

    /* 30-warehouse.conf: gcp, everything else at its default */
    s = cfg_find_source(cfg, "warehouse");
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->enabled, 1);
    ck_assert_str_eq(s->cloud_provider, "gcp");
    ck_assert_uint_eq(s->n_cloud, 4);
    ck_value(s->cloud, s->n_cloud, "project_id", "acme-analytics", CFG_V_STRING, 7);
    ck_assert_int_ge(asprintf(&p, "%s/sources.d/keys/sa.json", dir), 0);
    ck_value(s->cloud, s->n_cloud, "service_account_file", p, CFG_V_STRING, 8);
    free(p);
    ck_value(s->cloud, s->n_cloud, "use_workload_identity", "true", CFG_V_BOOL, 9);
    ck_assert_uint_eq(s->n_labels, 0);
    ck_assert_uint_eq(s->n_connection, 0);
    ck_assert_int_eq(s->connection_line, 0);
    ck_assert_str_eq(s->tls_mode, "verify-full"); /* cloud without a tls group */
    ck_assert_ptr_null(s->tls_ca);
    ck_assert_int_eq(s->tls_line, 0);
    ck_assert_uint_eq(s->n_replica_hosts, 0);
    ck_assert_ptr_null(s->replica_set);
    ck_assert_ptr_null(s->read_policy);
    ck_assert_int_eq(s->pool.max_size, 10);
    ck_assert_int_eq(s->pool.min_idle, 0);
    ck_assert_int_eq(s->pool.acquire_timeout_ms, 30000);
    ck_assert_int_eq(s->pool.idle_timeout_ms, 600000);
    ck_assert_int_eq(s->pool.max_lifetime_ms, 1800000);
    ck_assert_int_eq(s->pool.keepalive_ms, 0);
    ck_assert_int_eq(s->pool.validate_after_ms, 500);
    ck_assert_int_eq(s->pool.leak_threshold_ms, 0);
    ck_assert_ptr_null(s->schedule_discover);
    ck_assert_ptr_null(s->schedule_health);
    ck_assert_int_eq(s->discover_mode, CFG_DISCOVER_ADAPTIVE);
    ck_assert_uint_eq(s->n_fetch, 0);

    ck_assert_ptr_null(cfg_find_source(cfg, "nosuch"));
    ck_assert_ptr_null(cfg_find_source(cfg, NULL));

    /* secrets of the cloud and tls groups are registered for redaction */
    p = redact_dup("a env:AWS_SECRET_ACCESS_KEY b env:ORDERS_TLS_PASSPHRASE "
                   "c env:AZURE_CLIENT_SECRET d file:/run/secrets/aws_session");
    ck_assert_str_eq(p, "a *** b *** c *** d ***");
    free(p);

    cfg_free(cfg);
    free(path);
    free(dir);
}
END_TEST

/* Many elements in each list the reader grows: every one kept, in file
 * order (the arrays grow by doubling; an element lost or written past the
 * end at a power of two shows here, or to AddressSanitizer). */
START_TEST(many_elements)
{
    size_t len = 0, cap = 1 << 20, i;
    char *text = malloc(cap), *d, *p;
    cfg_config *cfg;
    const cfg_source *s;
    FILE *fp;

    ck_assert_ptr_nonnull(text);
    fp = fmemopen(text, cap, "w");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp, "name = \"big\";\ntype = \"sqlite\";\nlabels = {\n");
    for (i = 0; i < 1500; i++)
        fprintf(fp, "  l%zu = \"v%zu\";\n", i, i * 7);
    fprintf(fp, "};\nconnection = {\n");
    for (i = 0; i < 300; i++)
        fprintf(fp, "  o%zu = %zu;\n", i, i * 3);
    fprintf(fp, "};\n");
    len = (size_t)ftell(fp);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_uint_lt(len, cap);
    text[len] = '\0';
    d = put("dsrcd.conf", "# defaults\n");
    p = put("sources.d/big.conf", text);
    free(p);
    for (i = 0; i < 40; i++) {
        char rel[64], body[96];
        snprintf(rel, sizeof rel, "sources.d/s%02zu.conf", i);
        snprintf(body, sizeof body, "name = \"s%02zu\";\ntype = \"sqlite\";\n", i);
        free(put(rel, body));
    }
    free(text);
    cfg = cfg_load(d, &diags);
    free(d);
    ck_assert_ptr_nonnull(cfg);
    ck_errors(0);
    ck_assert_uint_eq(cfg->n_sources, 41);
    for (i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%02zu", i);
        ck_assert_msg(cfg_find_source(cfg, name) != NULL, "no source %s", name);
    }
    s = cfg_find_source(cfg, "big");
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->n_labels, 1500);
    ck_assert_uint_eq(s->n_connection, 300);
    for (i = 0; i < 1500; i++) {
        char key[16], val[16];
        snprintf(key, sizeof key, "l%zu", i);
        snprintf(val, sizeof val, "v%zu", i * 7);
        ck_assert_str_eq(s->labels[i].key, key);
        ck_value(s->labels, s->n_labels, key, val, CFG_V_STRING, (int)i + 4);
        if (i >= 300)
            continue;
        snprintf(key, sizeof key, "o%zu", i);
        snprintf(val, sizeof val, "%zu", i * 3);
        ck_assert_str_eq(s->connection[i].key, key);
        ck_value(s->connection, s->n_connection, key, val, CFG_V_INT, (int)i + 1506);
    }
    cfg_free(cfg);
}
END_TEST

START_TEST(defaults)
{
    char *d = put("dsrcd.conf", "# nothing set\n");
    char *p;
    cfg_config *cfg = cfg_load(d, &diags);

    ck_assert_ptr_nonnull(cfg);
    ck_errors(0);
    ck_assert_uint_eq(cfg->n_plugin_dirs, 1);
    ck_assert_str_eq(cfg->plugin_dirs[0], DSRC_PLUGINDIR);
    ck_assert_str_eq(cfg->state_dir, DSRC_LOCALSTATEDIR "/lib/dsrc");
    ck_assert_str_eq(cfg->workspace, DSRC_LOCALSTATEDIR "/lib/dsrc/workspace");
    p = tpath("sources.d");
    ck_assert_str_eq(cfg->sources_dir, p);   /* absent: simply no sources */
    free(p);
    ck_assert_ptr_null(cfg->key_file);
    ck_assert_str_eq(cfg->control_socket, "/run/dsrc/dsrcd.sock");
    ck_assert_int_eq(cfg->log_level, DSRC_LOG_INFO);
    ck_assert_int_eq(cfg->log_target, -1);
    ck_assert_int_eq(cfg->probe_timeout_ms, 30000);
    ck_assert_int_eq(cfg->shutdown_grace_ms, 10000);
    ck_assert_int_eq(cfg->isolation_memory_max, (int64_t)1 << 30);
    ck_assert_uint_eq(cfg->n_sources, 0);
    cfg_free(cfg);
    free(d);
}
END_TEST

/* isolation_memory_max: a size with a unit or bytes; 0 for no limit. */
START_TEST(isolation_memory_sizes)
{
    static const struct {
        const char *text;
        int64_t bytes; /* -1: refused */
    } cases[] = {
        {"\"512M\"", (int64_t)512 << 20}, {"\"2G\"", (int64_t)2 << 30},
        {"\"64K\"", 64 << 10},           {"\"1T\"", (int64_t)1 << 40},
        {"\"1048576\"", 1048576},        {"1048576", 1048576},
        {"0", 0},                         {"\"0\"", 0},
        {"\"12X\"", -1},                 {"\"-1M\"", -1},
        {"\"\"", -1},                    {"\"M\"", -1},
        {"\"1.5G\"", -1},                {"\"99999999999T\"", -1},
        {"-5", -1},                       {"true", -1},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[128], *d;
        cfg_config *cfg;

        snprintf(text, sizeof text, "isolation_memory_max = %s;\n", cases[i].text);
        d = put("dsrcd.conf", text);
        cfg = cfg_load(d, &diags);
        if (cases[i].bytes >= 0) {
            ck_assert_msg(cfg && diags.n == 0, "%s refused", cases[i].text);
            ck_assert_int_eq(cfg->isolation_memory_max, cases[i].bytes);
        } else {
            ck_assert_msg(diags.n == 1 && strstr(diags.v[0].msg, "isolation_memory_max"),
                          "%s accepted", cases[i].text);
        }
        cfg_free(cfg);
        free(d);
        diag_free(&diags);
    }
}
END_TEST

/* A relative daemon path: paths resolve against its (absolute) directory. */
START_TEST(relative_paths)
{
    char *d, *cwd = getcwd(NULL, 0), *sub = tpath("etc"), *real, *expect;
    cfg_config *cfg;

    ck_assert_int_eq(mkdir(sub, 0755), 0);
    d = put("etc/dsrcd.conf", "state_dir = \"../var\";\nplugin_dir = \"p\";\n"
                              "sources_dir = \"/nonexistent-dsrc-dir\";\n");
    ck_assert_int_eq(chdir(tmp), 0);
    real = getcwd(NULL, 0);
    free(sub);
    ck_assert_int_ge(asprintf(&sub, "%s/etc", real), 0);
    free(real);
    cfg = cfg_load("etc/dsrcd.conf", &diags);
    ck_assert_ptr_nonnull(cfg);
    /* the explicitly set, missing sources_dir is the only error */
    ck_errors(1);
    ck_diag(0, "etc/dsrcd.conf", 3, "cannot read sources_dir '/nonexistent-dsrc-dir'");
    ck_assert_str_eq(cfg->path, "etc/dsrcd.conf");
    ck_assert_int_ge(asprintf(&expect, "%s/../var", sub), 0);
    ck_assert_str_eq(cfg->state_dir, expect);
    free(expect);
    ck_assert_int_ge(asprintf(&expect, "%s/../var/workspace", sub), 0);
    ck_assert_str_eq(cfg->workspace, expect);
    free(expect);
    ck_assert_int_ge(asprintf(&expect, "%s/p", sub), 0);
    ck_assert_str_eq(cfg->plugin_dirs[0], expect);
    free(expect);
    ck_assert_int_eq(chdir(cwd), 0);
    cfg_free(cfg);
    free(cwd);
    free(sub);
    free(d);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The daemon file                                                           */

START_TEST(daemon_missing_file)
{
    char *d = tpath("nope.conf");
    ck_assert_ptr_null(cfg_load(d, &diags));
    ck_errors(1);
    ck_diag(0, d, 0, "cannot read the file");
    ck_diag(0, d, 0, "No such file");
    free(d);
}
END_TEST

START_TEST(daemon_syntax_error)
{
    char *d = put("dsrcd.conf", "state_dir = \"/var/lib/dsrc\";\n"
                                "log_level = ;\n");
    ck_assert_ptr_null(cfg_load(d, &diags));
    ck_errors(1);
    ck_diag(0, d, 2, "syntax error");
    free(d);
}
END_TEST

START_TEST(node_name_checked_and_defaulted)
{
    char *d = put("dsrcd.conf", "node_name = \"db/1\";\nshared_workspace = \"yes\";\n");
    cfg_config *cfg = cfg_load(d, &diags);
    char host[64];
    const char *why;

    ck_assert_ptr_nonnull(cfg);
    ck_errors(2);
    ck_diag(0, d, 1, "'node_name' is not a valid node name: only letters, digits, '.', '_' "
                     "and '-' are allowed");
    ck_diag(1, d, 2, "'shared_workspace' must be a boolean (true or false), got a string");
    cfg_free(cfg);
    diag_free(&diags);
    free(d);
    d = put("dsrcd.conf", "node_name = \"eu-1.b_2\";\nshared_workspace = true;\n");
    cfg = cfg_load(d, &diags);
    ck_errors(0);
    ck_assert_str_eq(cfg->node_name, "eu-1.b_2");
    ck_assert_int_eq(cfg->node_name_set, 1);
    ck_assert_int_eq(cfg->shared_workspace, 1);
    cfg_free(cfg);
    diag_free(&diags);
    free(d);
    /* unset: the host name, valid, and the workspace is the node's own */
    d = put("dsrcd.conf", "log_level = \"info\";\n");
    cfg = cfg_load(d, &diags);
    ck_errors(0);
    ck_assert_str_eq(cfg->node_name, cfg_default_node_name(host, sizeof host));
    ck_assert_int_eq(cfg_check_node_name(cfg->node_name, NULL), 0);
    ck_assert_int_eq(cfg->node_name_set, 0);
    ck_assert_int_eq(cfg->shared_workspace, 0);
    cfg_free(cfg);
    free(d);
    ck_assert_int_eq(cfg_check_node_name("-a", &why), -1);
    ck_assert_str_eq(why, "it must start with a letter or a digit");
    ck_assert_int_eq(cfg_check_node_name("", &why), -1);
    ck_assert_int_eq(cfg_check_node_name("a234567890123456789012345678901234567890"
                                         "123456789012345678901234", &why), -1);
    ck_assert_str_eq(why, "it is longer than 63 characters");
}
END_TEST

START_TEST(daemon_errors_all_reported)
{
    char *d = put("dsrcd.conf",
                  "plugins_dir = \"/x\";\n"        /* 1: unknown */
                  "plugin_dir = 5;\n"              /* 2: type */
                  "log_level = \"loud\";\n"        /* 3: enum */
                  "log_target = \"syslog\";\n"     /* 4: enum */
                  "state_dir = \"\";\n"            /* 5: empty */
                  "key_file = true;\n"             /* 6: type */
                  "sources_dir = \"missing\";\n"   /* 7: missing dir */
                  "probe_timeout = \"500ms\";\n"   /* 8: too short */
                  "shutdown_grace = \"soon\";\n"); /* 9: not a duration */
    char *missing = tpath("missing");
    cfg_config *cfg = cfg_load(d, &diags);

    ck_assert_ptr_nonnull(cfg);
    ck_errors(9);
    ck_diag(0, d, 1, "unknown setting 'plugins_dir' at top level (allowed: plugin_dir, "
                     "state_dir, workspace, node_name, shared_workspace, sources_dir, "
                     "key_file, control_socket, "
                     "log_level, log_target, probe_timeout, shutdown_grace, jobs, catalog, api, "
                     "isolation, isolation_memory_max, isolation_syscall_filter, mask_key, state_store)");
    ck_diag(1, d, 2, "'plugin_dir' must be a string or a list of strings, got an integer");
    ck_diag(2, d, 5, "'state_dir' must not be empty");
    ck_diag(3, d, 6, "'key_file' must be a string, got a boolean");
    ck_diag(4, d, 3, "'log_level' must be one of error, warning, notice, info, debug "
                     "(got 'loud')");
    ck_diag(5, d, 4, "'log_target' must be one of stderr, journal, auto");
    ck_diag(6, d, 8, "'probe_timeout' must be at least 1s");
    ck_diag(7, d, 9, "'shutdown_grace' is not a valid duration: 'soon'");
    ck_diag(8, d, 7, "cannot read sources_dir");
    ck_diag(8, d, 7, missing);
    /* what was wrong keeps its default */
    ck_assert_int_eq(cfg->log_level, DSRC_LOG_INFO);
    ck_assert_int_eq(cfg->probe_timeout_ms, 30000);
    ck_assert_int_eq(cfg->shutdown_grace_ms, 10000);
    ck_assert_str_eq(cfg->plugin_dirs[0], DSRC_PLUGINDIR);
    cfg_free(cfg);
    free(missing);
    free(d);
}
END_TEST

START_TEST(daemon_jobs_group)
{
    char *d = put("dsrcd.conf", "jobs = { workers = 8; per_source = 3; jitter_max = \"10s\";\n"
                                "  retry_attempts = 2; retry_backoff = \"250ms\";\n"
                                "  retry_backoff_max = \"2s\"; stall_timeout = \"90s\";\n"
                                "  retention = \"7d\"; };\n");
    cfg_config *cfg = cfg_load(d, &diags);

    ck_assert_ptr_nonnull(cfg);
    ck_errors(0);
    ck_assert_int_eq(cfg->jobs.workers, 8);
    ck_assert_int_eq(cfg->jobs.per_source, 3);
    ck_assert_int_eq(cfg->jobs.jitter_max_ms, 10000);
    ck_assert_int_eq(cfg->jobs.retry_attempts, 2);
    ck_assert_int_eq(cfg->jobs.retry_backoff_ms, 250);
    ck_assert_int_eq(cfg->jobs.retry_backoff_max_ms, 2000);
    ck_assert_int_eq(cfg->jobs.stall_timeout_ms, 90000);
    ck_assert_int_eq(cfg->jobs.retention_ms, 7LL * 86400000);
    cfg_free(cfg);
    free(d);
    /* unset: the defaults */
    d = put("dsrcd.conf", "log_level = \"info\";\n");
    cfg = cfg_load(d, &diags);
    ck_errors(0);
    ck_assert_int_eq(cfg->jobs.workers, 4);
    ck_assert_int_eq(cfg->jobs.per_source, 2);
    ck_assert_int_eq(cfg->jobs.retry_attempts, 5);
    ck_assert_int_eq(cfg->jobs.stall_timeout_ms, 300000);
    cfg_free(cfg);
    free(d);
}
END_TEST

START_TEST(fetch_rule_item_twice)
{
    char *d = put("dsrcd.conf", "log_level = \"info\";\n");
    char *f = put("sources.d/a.conf", "name = \"a\";\ntype = \"sqlite\";\n"
                                "connection = { path = \"/x.db\"; };\n"
                                "fetch = ( { item = \"t\"; schedule = \"@hourly\"; },\n"
                                "  { item = \"t\"; schedule = \"@daily\"; } );\n");
    cfg_config *cfg = cfg_load(d, &diags);

    ck_assert_ptr_nonnull(cfg);
    ck_errors(1);
    ck_diag(0, f, 5, "a second fetch rule for item 't' (the first is at line 4)");
    cfg_free(cfg);
    free(f);
    free(d);
}
END_TEST

START_TEST(fetch_rule_mask)
{
    char *d = put("dsrcd.conf", "mask_key = \"env:DSRC_TEST_MASK_KEY\";\n");
    char *f = put("sources.d/a.conf", "name = \"a\";\ntype = \"sqlite\";\n"
                                "connection = { path = \"/x.db\"; };\n"
                                "fetch = ( { item = \"t\"; cursor_field = \"id\";\n"
                                "  mask = { email = \"hash\"; phone = \"redact\";\n"
                                "           born = \"truncate:year\"; card = \"last4\"; }; } );\n");
    cfg_config *cfg = cfg_load(d, &diags);
    const cfg_fetch_rule *r;

    ck_assert_ptr_nonnull(cfg);
    ck_errors(0);
    ck_assert_str_eq(cfg->mask_key, "env:DSRC_TEST_MASK_KEY");
    r = &cfg->sources[0].fetch[0];
    ck_assert_uint_eq(r->n_mask, 4);
    ck_assert_str_eq(r->mask[0].column, "email");
    ck_assert_int_eq(r->mask[0].mode, MASK_HASH);
    ck_assert_int_eq(r->mask[1].mode, MASK_REDACT);
    ck_assert_str_eq(r->mask[2].column, "born");
    ck_assert_int_eq(r->mask[2].mode, MASK_TRUNCATE);
    ck_assert_int_eq(r->mask[2].unit, MASK_YEAR);
    ck_assert_int_eq(r->mask[3].mode, MASK_LAST4);
    cfg_free(cfg);
    free(f);
    free(d);
}
END_TEST

START_TEST(fetch_rule_mask_errors)
{
    char *d = put("dsrcd.conf", "mask_key = \"env:DSRC_TEST_MASK_KEY\";\n");
    char *f = put("sources.d/a.conf", "name = \"a\";\ntype = \"sqlite\";\n"
                                "connection = { path = \"/x.db\"; };\n"
                                "fetch = ( { item = \"t\"; mask = { email = \"sha1\"; }; },\n"
                                "  { item = \"u\"; mask = { born = \"truncate\"; }; },\n"
                                "  { item = \"v\"; mask = [ \"email\" ]; },\n"
                                "  { item = \"w\"; mask = { email = 1; }; },\n"
                                "  { item = \"x\"; cursor_field = \"id\"; mask = { id = \"hash\"; }; } );\n");
    cfg_config *cfg = cfg_load(d, &diags);

    ck_assert_ptr_nonnull(cfg);
    ck_errors(5);
    ck_diag(0, f, 4, "mask in fetch entry 1 for t: column 'email': 'sha1' is an unknown mode "
                     "(use hash, redact, truncate:UNIT or last4)");
    ck_diag(1, f, 5, "column 'born': 'truncate' is a truncate without its unit");
    ck_diag(2, f, 6, "'mask' in fetch entry 3 must be a group");
    ck_diag(3, f, 7, "mask of column 'email' in fetch entry 4 must be a string");
    ck_diag(4, f, 8, "fetch entry 5 masks its cursor field 'id'");
    cfg_free(cfg);
    free(f);
    free(d);
}
END_TEST

START_TEST(mask_key_errors)
{
    char *d = put("dsrcd.conf", "log_level = \"info\";\n");
    char *f = put("sources.d/a.conf", "name = \"a\";\ntype = \"sqlite\";\n"
                                "connection = { path = \"/x.db\"; };\n"
                                "fetch = ( { item = \"t\"; mask = { email = \"hash\"; }; } );\n");
    cfg_config *cfg = cfg_load(d, &diags);

    /* a mask without a key */
    ck_assert_ptr_nonnull(cfg);
    ck_errors(1);
    ck_diag(0, f, 4, "the fetch rule for 't' masks columns, but no mask_key is set in");
    cfg_free(cfg);
    diag_free(&diags);
    free(d);

    /* a plain key: refused, and never shown */
    d = put("dsrcd.conf", "mask_key = \"my very secret mask key\";\n");
    cfg = cfg_load(d, &diags);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_uint_ge(diags.n_errors, 1);
    ck_diag(0, d, 1, "'mask_key' is plain text: write it as fernet:TOKEN");
    ck_assert_ptr_null(strstr(diags.v[0].msg, "my very secret"));
    ck_assert_ptr_null(cfg->mask_key);
    cfg_free(cfg);
    free(f);
    free(d);
}
END_TEST

START_TEST(daemon_jobs_errors)
{
    char *d = put("dsrcd.conf", "jobs = { workers = 0;\n"          /* 1 */
                                "  retry_backoff = \"1s\"; retry_backoff_max = \"10ms\";\n" /* 2 */
                                "  stall_timeout = \"10ms\";\n"   /* 3 */
                                "  retries = 3; };\n");            /* 4 */
    cfg_config *cfg = cfg_load(d, &diags);

    ck_assert_ptr_nonnull(cfg);
    ck_errors(4);
    ck_diag(0, d, 4, "unknown setting 'retries' in group 'jobs'");
    ck_diag(1, d, 1, "'workers' must be between 1 and 256, got 0");
    ck_diag(2, d, 2, "'retry_backoff_max' must not be shorter than 'retry_backoff'");
    ck_diag(3, d, 3, "'stall_timeout' must be at least 1s");
    ck_assert_int_eq(cfg->jobs.workers, 4);
    cfg_free(cfg);
    free(d);
}
END_TEST

START_TEST(daemon_api_group)
{
    char *d = put("dsrcd.conf", "api = { listen = \"[::1]:8443\"; max_connections = 10;\n"
                                "  idle_timeout = \"5s\"; max_header = 4096; max_body = 100;\n"
                                "  admin_users = [\"alice\"]; operator_groups = [];\n"
                                "  viewer_groups = [\"mon\", \"ops\"]; };\n");
    cfg_config *cfg = cfg_load(d, &diags);

    ck_assert_ptr_nonnull(cfg);
    ck_errors(0);
    ck_assert_str_eq(cfg->api.listen_host, "::1");
    ck_assert_int_eq(cfg->api.listen_port, 8443);
    ck_assert_ptr_null(cfg->api.tls_cert);
    ck_assert_int_eq(cfg->api.max_connections, 10);
    ck_assert_int_eq(cfg->api.idle_timeout_ms, 5000);
    ck_assert_int_eq(cfg->api.max_header, 4096);
    ck_assert_int_eq(cfg->api.max_body, 100);
    ck_assert_uint_eq(cfg->api.n_users[2], 1);
    ck_assert_str_eq(cfg->api.users[2][0], "alice");
    ck_assert_uint_eq(cfg->api.n_groups[1], 0);   /* [] = nobody */
    ck_assert_uint_eq(cfg->api.n_groups[0], 2);
    cfg_free(cfg);
    free(d);
    /* unset: no TCP, operator_groups ["dsrc"] */
    d = put("dsrcd.conf", "log_level = \"info\";\n");
    cfg = cfg_load(d, &diags);
    ck_errors(0);
    ck_assert_ptr_null(cfg->api.listen);
    ck_assert_uint_eq(cfg->api.n_groups[1], 1);
    ck_assert_str_eq(cfg->api.groups[1][0], "dsrc");
    ck_assert_int_eq(cfg->api.max_body, 1 << 20);
    cfg_free(cfg);
    free(d);
}
END_TEST

START_TEST(daemon_api_errors)
{
    char *d = put("dsrcd.conf", "api = { listen = \"10.1.2.3:80\";\n"    /* 1 */
                                "  tls_key = \"/nonexistent/k.pem\";\n"  /* 2 */
                                "  idle_timeout = \"10ms\";\n"           /* 3 */
                                "  admins = [\"x\"]; };\n"               /* 4 */
                                "catalog = { };\n");
    cfg_config *cfg = cfg_load(d, &diags);

    ck_assert_ptr_nonnull(cfg);
    ck_errors(4);
    ck_diag(0, d, 4, "unknown setting 'admins' in group 'api'");
    ck_diag(1, d, 1, "group 'api' needs both 'tls_cert' and 'tls_key', or neither");
    ck_diag(2, d, 1, "'listen' \"10.1.2.3:80\" is not a loopback address");
    ck_diag(3, d, 3, "'idle_timeout' must be at least 1s");
    cfg_free(cfg);
    free(d);
    diag_free(&diags);
    d = put("dsrcd.conf", "api = { listen = \"localhost:80\"; };\n");
    cfg = cfg_load(d, &diags);
    ck_errors(1);
    ck_diag(0, d, 1, "'listen' must be \"ADDRESS:PORT\" with a numeric address");
    cfg_free(cfg);
    free(d);
    diag_free(&diags);
    d = put("dsrcd.conf", "api = { listen = \"127.0.0.1:99999\"; };\n");
    cfg = cfg_load(d, &diags);
    ck_errors(1);
    cfg_free(cfg);
    free(d);
}
END_TEST

START_TEST(daemon_state_store)
{
    char *d = put("dsrcd.conf", "state_store = { url = \"postgresql://dsrc@db:5432/dsrc\";\n"
                                "  password = \"env:DSRC_STORE_PW\"; schema = \"dsrc_1\";\n"
                                "  tls = { mode = \"verify-ca\"; ca = \"ca.pem\"; };\n"
                                "  pool_size = 8; connect_timeout = \"3s\"; };\n");
    cfg_config *cfg = cfg_load(d, &diags);

    ck_assert_ptr_nonnull(cfg);
    ck_errors(0);
    ck_assert_str_eq(cfg->state_store.url, "postgresql://dsrc@db:5432/dsrc");
    ck_assert_str_eq(cfg->state_store.password, "env:DSRC_STORE_PW");
    ck_assert_str_eq(cfg->state_store.schema, "dsrc_1");
    ck_assert_str_eq(cfg->state_store.tls_mode, "verify-ca");
    ck_assert_ptr_nonnull(strstr(cfg->state_store.tls_ca, "/ca.pem"));
    ck_assert_int_eq(cfg->state_store.pool_size, 8);
    ck_assert_int_eq(cfg->state_store.connect_timeout_ms, 3000);
    cfg_free(cfg);
    free(d);
    /* unset: the SQLite store */
    d = put("dsrcd.conf", "log_level = \"info\";\n");
    cfg = cfg_load(d, &diags);
    ck_errors(0);
    ck_assert_ptr_null(cfg->state_store.url);
    cfg_free(cfg);
    free(d);
    /* a password in the URL is refused without being shown */
    d = put("dsrcd.conf", "state_store = { url = \"postgresql://dsrc:S3cr3t-pw@db/dsrc\"; };\n");
    cfg = cfg_load(d, &diags);
    ck_errors(1);
    ck_diag(0, d, 1, "'state_store.url' holds a password");
    ck_assert_ptr_null(strstr(diags.v[0].msg, "S3cr3t-pw"));
    cfg_free(cfg);
    free(d);
    diag_free(&diags);
    d = put("dsrcd.conf", "state_store = { url = \"sqlite:///x.db\"; pool_size = 0;\n"
                          "  schema = \"Bad-Name\"; tls = { mode = \"maybe\"; }; };\n");
    cfg = cfg_load(d, &diags);
    ck_errors(1);
    ck_diag(0, d, 1, "'state_store.url' must be a PostgreSQL URL");
    cfg_free(cfg);
    free(d);
    diag_free(&diags);
    d = put("dsrcd.conf", "state_store = { url = \"postgres://dsrc@db/dsrc\"; pool_size = 0;\n"
                          "  schema = \"Bad-Name\"; tls = { mode = \"maybe\"; }; };\n");
    cfg = cfg_load(d, &diags);
    ck_errors(3);
    cfg_free(cfg);
    free(d);
    diag_free(&diags);
    d = put("dsrcd.conf", "state_store = { password = \"x\"; };\n");
    cfg = cfg_load(d, &diags);
    ck_errors(1);
    ck_diag(0, d, 1, "group 'state_store' needs 'url'");
    cfg_free(cfg);
    free(d);
}
END_TEST

START_TEST(daemon_plugin_dir_list)
{
    char *d = put("dsrcd.conf", "plugin_dir = ( \"a\",\n  7 );\n");
    cfg_config *cfg = cfg_load(d, &diags);

    ck_assert_ptr_nonnull(cfg);
    ck_errors(1);
    ck_diag(0, d, 2, "'plugin_dir' must be a list of strings, element 2 is an integer");
    cfg_free(cfg);
    free(d);
}
END_TEST

START_TEST(daemon_log_levels)
{
    static const char *const names[] = {"error", "warning", "notice", "info", "debug"};
    static const dsrc_log_level levels[] = {
        DSRC_LOG_ERROR, DSRC_LOG_WARNING, DSRC_LOG_NOTICE, DSRC_LOG_INFO, DSRC_LOG_DEBUG
    };
    size_t i;

    for (i = 0; i < 5; i++) {
        char text[64], *d;
        cfg_config *cfg;
        snprintf(text, sizeof text, "log_level = \"%s\";\nlog_target = \"auto\";\n", names[i]);
        d = put("dsrcd.conf", text);
        cfg = cfg_load(d, &diags);
        ck_assert_ptr_nonnull(cfg);
        ck_assert_int_eq(cfg->log_level, levels[i]);
        ck_assert_int_eq(cfg->log_target, -1);
        cfg_free(cfg);
        free(d);
    }
    ck_errors(0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Source files: one test per error class                                    */

START_TEST(source_syntax_error_others_load)
{
    char *d = put("dsrcd.conf", "");
    char *a = put("sources.d/a.conf", "name = \"a\";\ntype = \"sqlite\";\n");
    char *b = put("sources.d/b.conf", "name = \"b\";\n"
                                      "type = \"sqlite\";\n"
                                      "enabled = yes;\n");      /* not a value */
    char *c = put("sources.d/c.conf", "name = \"c\";\ntype = \"sqlite\";\n");
    cfg_config *cfg = cfg_load(d, &diags);

    ck_assert_ptr_nonnull(cfg);
    ck_errors(1);
    ck_diag(0, b, 3, "syntax error");
    ck_assert_uint_eq(cfg->n_sources, 2);
    ck_assert_str_eq(cfg->sources[0].name, "a");
    ck_assert_str_eq(cfg->sources[1].name, "c");
    cfg_free(cfg);
    free(a);
    free(b);
    free(c);
    free(d);
}
END_TEST

START_TEST(source_duplicate_setting)
{
    char *p;
    cfg_config *cfg = load_source("name = \"a\";\n"
                                  "type = \"sqlite\";\n"
                                  "type = \"postgres\";\n", &p);
    ck_errors(1);
    ck_diag(0, p, 3, "duplicate setting name");
    ck_assert_uint_eq(cfg->n_sources, 0);
    cfg_free(cfg);
    free(p);
}
END_TEST

START_TEST(source_include)
{
    char *d = put("dsrcd.conf", "");
    char *inc = put("sources.d/common.inc", "type = \"sqlite\";\n");
    char *a = put("sources.d/a.conf", "name = \"a\";\n@include \"common.inc\"\n");
    char *b = put("sources.d/b.conf", "name = \"b\";\n\n@include \"nope.inc\"\n");
    cfg_config *cfg = cfg_load(d, &diags);

    ck_assert_ptr_nonnull(cfg);
    ck_errors(1);
    ck_diag(0, b, 3, "cannot open include file");
    ck_assert_uint_eq(cfg->n_sources, 1);
    ck_assert_str_eq(cfg->sources[0].type, "sqlite");
    cfg_free(cfg);
    free(inc);
    free(a);
    free(b);
    free(d);
}
END_TEST

/* Every file read (daemon file, sources, includes at any depth) must be a
 * regular file of at most 1 MiB: a directory made libconfig's scanner exit
 * the process, a FIFO blocked it for ever.  Each is reported at the
 * directive's file and line, and the other sources still load. */
START_TEST(include_not_regular)
{
    char *d = put("dsrcd.conf", "");
    char *dir = tpath("sources.d/incdir");
    char *fifo = tpath("sources.d/fifo.inc");
    char *a = put("sources.d/a.conf", "name = \"a\";\ntype = \"sqlite\";\n@include \"incdir\"\n");
    char *b = put("sources.d/b.conf", "name = \"b\";\n  @include \"fifo.inc\"\n");
    char *c = put("sources.d/c.conf", "name = \"c\";\n@include \"nested.inc\"\n");
    char *n = put("sources.d/nested.inc", "type = \"sqlite\";\n/* @include \"incdir\" */\n"
                                          "# @include \"incdir\"\n@include \"incdir\"\n");
    char *e = put("sources.d/e.conf", "name = \"e\";\ntype = \"sqlite\";\n"
                                      "labels = { note = \"\n@include \\\"incdir\\\"\"; };\n");
    cfg_config *cfg;

    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(mkfifo(fifo, 0644), 0);
    cfg = cfg_load(d, &diags);
    ck_assert_ptr_nonnull(cfg);
    ck_errors(3);
    ck_diag(0, a, 3, "@include \"incdir\"");
    ck_diag(0, a, 3, "is a directory");
    ck_diag(1, b, 2, "not a regular file");
    ck_diag(2, n, 4, "is a directory");
    /* only e, whose @include is inside a string, is kept */
    ck_assert_uint_eq(cfg->n_sources, 1);
    ck_assert_str_eq(cfg->sources[0].name, "e");
    cfg_free(cfg);
    free(d);
    free(dir);
    free(fifo);
    free(a);
    free(b);
    free(c);
    free(n);
    free(e);
}
END_TEST

START_TEST(daemon_file_not_regular)
{
    char *d = tpath("dsrcd.conf");
    char *inc = tpath("conf.d");

    /* a FIFO as the daemon file */
    ck_assert_int_eq(mkfifo(d, 0644), 0);
    ck_assert_ptr_null(cfg_load(d, &diags));
    ck_errors(1);
    ck_diag(0, d, 0, "not a regular file");
    ck_assert_int_eq(unlink(d), 0);

    /* a directory included by the daemon file */
    ck_assert_int_eq(mkdir(inc, 0755), 0);
    free(put("dsrcd.conf", "log_level = \"info\";\n@include \"conf.d\"\n"));
    ck_assert_ptr_null(cfg_load(d, &diags));
    ck_errors(2);
    ck_diag(1, d, 2, "is a directory");
    free(d);
    free(inc);
}
END_TEST

/* Write tmp/rel as 1 MiB of comments plus one line; returns the path. */
static char *put_big(const char *rel, const char *last)
{
    char *p = put(rel, "");
    FILE *fp = fopen(p, "w");
    int i;

    ck_assert_ptr_nonnull(fp);
    for (i = 0; i < 1024 * 1024 / 8; i++)
        fputs("# 45678\n", fp);
    fputs(last, fp);
    ck_assert_int_eq(fclose(fp), 0);
    return p;
}

/* libconfig 1.5 is quadratic in the file size: a file larger than 1 MiB is
 * refused before it is parsed, included or not. */
START_TEST(file_too_large)
{
    char *d = put("dsrcd.conf", "");
    char *a = put_big("sources.d/a.conf", "name = \"a\";\ntype = \"sqlite\";\n");
    char *big = put_big("sources.d/big.inc", "type = \"sqlite\";\n");
    char *b = put("sources.d/b.conf", "name = \"b\";\n@include \"big.inc\"\n");
    cfg_config *cfg = cfg_load(d, &diags);

    ck_assert_ptr_nonnull(cfg);
    ck_errors(2);
    ck_diag(0, a, 0, "larger than 1 MiB");
    ck_diag(1, b, 2, "larger than 1 MiB");
    ck_assert_uint_eq(cfg->n_sources, 0);
    cfg_free(cfg);
    free(d);
    free(a);
    free(big);
    free(b);
}
END_TEST

/* Settings that would fail only when used are refused at check time. */
START_TEST(daemon_paths_checked)
{
    char long_sock[160];
    char *d, *text;

    memset(long_sock, 'x', sizeof long_sock - 1);
    long_sock[0] = '/';
    long_sock[108] = '\0'; /* 108 bytes: one more than sun_path holds */
    ck_assert_int_ge(asprintf(&text, "key_file = \"no-such.key\";\n"
                                     "control_socket = \"%s\";\n", long_sock), 0);
    d = put("dsrcd.conf", text);
    free(text);
    cfg_free(cfg_load(d, &diags));
    ck_errors(2);
    ck_diag(0, d, 1, "'key_file'");
    ck_diag(0, d, 1, "No such file");
    ck_diag(1, d, 2, "at most 107");
    diag_free(&diags);
    memset(&diags, 0, sizeof diags);

    long_sock[107] = '\0'; /* 107 bytes fit */
    ck_assert_int_ge(asprintf(&text, "control_socket = \"%s\";\n", long_sock), 0);
    free(put("dsrcd.conf", text));
    free(text);
    cfg_free(cfg_load(d, &diags));
    ck_errors(0);
    free(d);
}
END_TEST

START_TEST(source_unknown_keys)
{
    char *p;
    cfg_config *cfg = load_source(
        "name = \"a\";\n"                          /* 1 */
        "type = \"sqlite\";\n"                     /* 2 */
        "nmae = \"typo\";\n"                       /* 3 */
        "pool = { max_sise = 3; };\n"              /* 4 */
        "tls = {\n"                                /* 5 */
        "  mode = \"require\";\n"                  /* 6 */
        "  cafile = \"x\";\n"                      /* 7 */
        "};\n"                                     /* 8 */
        "replicas = { host = \"x\"; };\n"          /* 9 */
        "schedule = { scan = \"@daily\"; };\n"     /* 10 */
        "cloud = {\n"                              /* 11 */
        "  provider = \"aws\";\n"                  /* 12 */
        "  tenant_id = \"x\";\n"                   /* 13 */
        "};\n"                                     /* 14 */
        "fetch = ( { item = \"t\"; cols = [\"a\"]; } );\n", /* 15 */
        &p);

    ck_errors(7);
    ck_diag(0, p, 3, "unknown setting 'nmae' at top level (allowed: name, type, enabled, "
                     "location, labels, connection, cloud, tls, replicas, pool, schedule, fetch, "
                     "isolation)");
    ck_diag(1, p, 11 + 2, "unknown setting 'tenant_id' in group 'cloud' for provider 'aws' "
                          "(allowed: provider, region, use_iam_auth, role_arn, access_key_id, "
                          "secret_access_key, session_token, profile, external_id, "
                          "sts_endpoint, imds_endpoint)");
    ck_diag(2, p, 7, "unknown setting 'cafile' in group 'tls' (allowed: mode, ca, cert, key, "
                     "key_passphrase)");
    ck_diag(3, p, 9, "unknown setting 'host' in group 'replicas' (allowed: hosts, "
                     "replica_set, read_policy)");
    ck_diag(4, p, 4, "unknown setting 'max_sise' in group 'pool'");
    ck_diag(5, p, 10, "unknown setting 'scan' in group 'schedule' (allowed: discover, health, discover_mode)");
    ck_diag(6, p, 15, "unknown setting 'cols' in fetch entry 1");
    /* unknown keys do not drop the source */
    ck_assert_uint_eq(cfg->n_sources, 1);
    ck_assert_uint_eq(cfg->sources[0].n_errors, 7);
    cfg_free(cfg);
    free(p);
}
END_TEST

START_TEST(source_wrong_types)
{
    char *p;
    cfg_config *cfg = load_source(
        "name = \"a\";\n"                              /* 1 */
        "type = \"sqlite\";\n"                         /* 2 */
        "enabled = \"yes\";\n"                         /* 3 */
        "pool = {\n"                                   /* 4 */
        "  max_size = \"ten\";\n"                      /* 5 */
        "  min_idle = 1.5;\n"                          /* 6 */
        "};\n"                                         /* 7 */
        "labels = \"x\";\n"                            /* 8 */
        "tls = { ca = 5; };\n"                         /* 9 */
        "replicas = { hosts = \"h1\"; };\n"            /* 10 */
        "fetch = ( { item = \"t\"; columns = [ 1 ]; limit = \"5\"; } );\n", /* 11 */
        &p);

    ck_errors(8);
    ck_diag(0, p, 3, "'enabled' must be a boolean (true or false), got a string");
    ck_diag(1, p, 8, "'labels' must be a group { ... }, got a string");
    ck_diag(2, p, 9, "'ca' must be a string, got an integer");
    ck_diag(3, p, 10, "'hosts' must be a list of strings [\"a\", \"b\"], got a string");
    ck_diag(4, p, 5, "'max_size' must be an integer, got a string");
    ck_diag(5, p, 6, "'min_idle' must be an integer, got a floating-point number");
    ck_diag(6, p, 11, "'columns' must be a list of strings, element 1 is an integer");
    ck_diag(7, p, 11, "'limit' must be an integer, got a string");
    ck_assert_int_eq(cfg->sources[0].enabled, 1);
    ck_assert_int_eq(cfg->sources[0].pool.max_size, 10);
    cfg_free(cfg);
    free(p);
}
END_TEST

START_TEST(source_cloud_values)
{
    char *p;
    cfg_config *cfg = load_source(
        "name = \"a\";\n"                          /* 1 */
        "type = \"sqlite\";\n"                     /* 2 */
        "cloud = {\n"                               /* 3 */
        "  provider = \"azure\";\n"                /* 4 */
        "  use_managed_identity = \"yes\";\n"      /* 5 */
        "  tenant_id = 42;\n"                       /* 6 */
        "  client_id = \"\";\n"                     /* 7 */
        "  client_secret = \"azure-s3cret\";\n"    /* 8 */
        "  region = \"westeurope\";\n"             /* 9 */
        "};\n",
        &p);
    const cfg_source *s = &cfg->sources[0];
    char *red;

    ck_errors(4);
    ck_diag(0, p, 9, "unknown setting 'region' in group 'cloud' for provider 'azure' "
                     "(allowed: provider, tenant_id, client_id, client_secret, "
                     "use_managed_identity, authority_host, token_endpoint, imds_endpoint)");
    ck_diag(1, p, 5, "'use_managed_identity' must be a boolean (true or false), got a string");
    ck_diag(2, p, 6, "'tenant_id' must be a string, got an integer");
    ck_diag(3, p, 7, "'client_id' must not be empty");
    /* what is valid is kept */
    ck_assert_str_eq(s->cloud_provider, "azure");
    ck_assert_uint_eq(s->n_cloud, 2);
    ck_value(s->cloud, s->n_cloud, "provider", "azure", CFG_V_STRING, 4);
    ck_value(s->cloud, s->n_cloud, "client_secret", "azure-s3cret", CFG_V_STRING, 8);
    red = redact_dup("secret=azure-s3cret");
    ck_assert_str_eq(red, "secret=***");
    free(red);
    cfg_free(cfg);
    free(p);
}
END_TEST

START_TEST(source_name_and_type)
{
    char *d = put("dsrcd.conf", "");
    char *a = put("sources.d/a.conf", "name = \"bad name!\";\ntype = \"sqlite\";\n");
    char *b = put("sources.d/b.conf", "# no name\ntype = \"sqlite\";\n");
    char *c = put("sources.d/c.conf", "name = \"c\";\n\n");
    char *e = put("sources.d/e.conf", "name = \"..\";\ntype = \"sqlite\";\n");
    char *f = put("sources.d/f.conf", "name = 5;\ntype = \"Sq/lite\";\n");
    char *g = put("sources.d/g.conf", "name = \"ok_Name-1.2\";\ntype = \"my-plugin_2\";\n");
    cfg_config *cfg = cfg_load(d, &diags);

    ck_assert_ptr_nonnull(cfg);
    ck_errors(6);
    ck_diag(0, a, 1, "invalid source name 'bad name!': use letters, digits, '_', '.' and '-'");
    ck_diag(1, b, 0, "missing required setting 'name'");
    ck_diag(2, c, 0, "missing required setting 'type'");
    ck_diag(3, e, 1, "invalid source name '..'");
    ck_diag(4, f, 1, "'name' must be a string, got an integer");
    ck_diag(5, f, 2, "'type' must be a plugin name (lower-case letters, digits, '_' and '-'), "
                     "got 'Sq/lite'");
    ck_assert_uint_eq(cfg->n_sources, 1);
    ck_assert_str_eq(cfg->sources[0].name, "ok_Name-1.2");
    ck_assert_str_eq(cfg->sources[0].type, "my-plugin_2");
    cfg_free(cfg);
    free(a);
    free(b);
    free(c);
    free(e);
    free(f);
    free(g);
    free(d);
}
END_TEST

START_TEST(source_bad_enums)
{
    char *p;
    cfg_config *cfg = load_source(
        "name = \"a\";\n"                                     /* 1 */
        "type = \"sqlite\";\n"                                /* 2 */
        "location = \"moon\";\n"                              /* 3 */
        "cloud = { provider = \"ibm\"; };\n"                  /* 4 */
        "tls = { mode = \"strict\"; };\n"                     /* 5 */
        "replicas = { read_policy = \"random\"; };\n"         /* 6 */
        "fetch = ( { item = \"t\"; format = \"xml\"; } );\n", /* 7 */
        &p);

    ck_errors(5);
    ck_diag(0, p, 3, "'location' must be one of on_prem, cloud, hybrid (got 'moon')");
    ck_diag(1, p, 4, "'provider' must be one of aws, azure, gcp (got 'ibm')");
    ck_diag(2, p, 5, "'mode' must be one of disable, prefer, require, verify-ca, verify-full "
                     "(got 'strict')");
    ck_diag(3, p, 6, "'read_policy' must be one of primary, primary_preferred, replica, "
                     "replica_preferred, nearest (got 'random')");
    ck_diag(4, p, 7, "'format' must be one of csv, jsonl (got 'xml')");
    ck_assert_int_eq(cfg->sources[0].location, DSRC_LOC_ON_PREM);
    ck_assert_ptr_null(cfg->sources[0].cloud_provider);
    cfg_free(cfg);
    free(p);
}
END_TEST

/* The TLS mode a source ends with, for every location (and none) with and
 * without a tls group: the group's mode when it names one, verify-full when
 * the group has none, and without a group the location's rule. */
START_TEST(source_tls_mode_by_location)
{
    static const struct {
        const char *location; /* NULL: no location setting (on_prem) */
        const char *tls;      /* NULL: no tls group */
        const char *want;
    } cases[] = {
        {NULL, NULL, "prefer"},
        {"on_prem", NULL, "prefer"},
        {"cloud", NULL, "verify-full"},
        {"hybrid", NULL, "verify-full"},
        {NULL, "tls = { ca = \"/etc/ssl/ca.pem\"; };", "verify-full"},
        {"on_prem", "tls = { ca = \"/etc/ssl/ca.pem\"; };", "verify-full"},
        {"cloud", "tls = { ca = \"/etc/ssl/ca.pem\"; };", "verify-full"},
        {"hybrid", "tls = { ca = \"/etc/ssl/ca.pem\"; };", "verify-full"},
        {NULL, "tls = { mode = \"disable\"; };", "disable"},
        {"on_prem", "tls = { mode = \"require\"; };", "require"},
        {"cloud", "tls = { mode = \"verify-ca\"; };", "verify-ca"},
        {"hybrid", "tls = { mode = \"prefer\"; };", "prefer"},
        {"on_prem", "tls = { mode = \"prefer\"; };", "prefer"},
        {"cloud", "tls = { mode = \"require\"; };", "require"},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text, *p;
        cfg_config *cfg;
        const cfg_source *s;

        ck_assert_int_ge(asprintf(&text, "name = \"a\";\ntype = \"sqlite\";\n%s%s%s%s\n",
                                  cases[i].location ? "location = \"" : "",
                                  cases[i].location ? cases[i].location : "",
                                  cases[i].location ? "\";\n" : "",
                                  cases[i].tls ? cases[i].tls : ""), 0);
        cfg = load_source(text, &p);
        ck_errors(0);
        ck_assert_uint_eq(cfg->n_sources, 1);
        s = &cfg->sources[0];
        ck_assert_msg(s->tls_mode && strcmp(s->tls_mode, cases[i].want) == 0,
                      "location %s, %s: tls mode %s, expected %s",
                      cases[i].location ? cases[i].location : "(none)",
                      cases[i].tls ? cases[i].tls : "no tls group",
                      s->tls_mode ? s->tls_mode : "NULL", cases[i].want);
        ck_assert_int_eq(s->tls_line != 0, cases[i].tls != NULL);
        cfg_free(cfg);
        free(p);
        free(text);
    }
    ck_assert_str_eq(cfg_tls_default_mode(DSRC_LOC_ON_PREM), "prefer");
    ck_assert_str_eq(cfg_tls_default_mode(DSRC_LOC_CLOUD), "verify-full");
    ck_assert_str_eq(cfg_tls_default_mode(DSRC_LOC_HYBRID), "verify-full");
}
END_TEST

START_TEST(source_bad_durations)
{
    char *p;
    cfg_config *cfg = load_source(
        "name = \"a\";\n"                        /* 1 */
        "type = \"sqlite\";\n"                   /* 2 */
        "pool = {\n"                             /* 3 */
        "  acquire_timeout = \"30x\";\n"         /* 4 */
        "  idle_timeout = -5;\n"                 /* 5 */
        "  max_lifetime = 1.5;\n"                /* 6 */
        "  keepalive = \"-1s\";\n"               /* 7 */
        "  validate_after = \"\";\n"             /* 8 */
        "  leak_threshold = \"30m1h\";\n"        /* 9 */
        "};\n",
        &p);

    ck_errors(6);
    ck_diag(0, p, 4, "'acquire_timeout' is not a valid duration: '30x' (use e.g. 250ms, "
                     "30s, 5m, 1h");
    ck_diag(1, p, 5, "'idle_timeout' is not a valid duration: -5 seconds is out of range");
    ck_diag(2, p, 6, "'max_lifetime' must be a duration such as \"30s\" or an integer "
                     "number of seconds, got a floating-point number");
    ck_diag(3, p, 7, "'keepalive' is not a valid duration: '-1s'");
    ck_diag(4, p, 8, "'validate_after' is not a valid duration: ''");
    ck_diag(5, p, 9, "'leak_threshold' is not a valid duration: '30m1h'");
    ck_assert_int_eq(cfg->sources[0].pool.acquire_timeout_ms, 30000);
    cfg_free(cfg);
    free(p);
}
END_TEST

START_TEST(source_bad_schedules)
{
    char *p;
    cfg_config *cfg = load_source(
        "name = \"a\";\n"                                              /* 1 */
        "type = \"sqlite\";\n"                                         /* 2 */
        "schedule = {\n"                                               /* 3 */
        "  discover = \"61 * * * *\";\n"                               /* 4 */
        "  health = \"@every 0s\";\n"                                  /* 5 */
        "};\n"                                                         /* 6 */
        "fetch = (\n"                                                  /* 7 */
        "  { item = \"t\"; schedule = \"0 0 30 feb *\"; },\n"          /* 8 */
        "  { item = \"u\"; schedule = \"* * *\"; },\n"                 /* 9 */
        "  { item = \"v\"; schedule = 5; }\n"                          /* 10 */
        ");\n",
        &p);

    ck_errors(5);
    ck_diag(0, p, 4, "'discover' is not a valid schedule: minute out of range (0-59) "
                     "(got '61 * * * *')");
    ck_diag(1, p, 5, "'health' is not a valid schedule: @every needs a duration greater "
                     "than zero");
    ck_diag(2, p, 8, "'schedule' is not a valid schedule: the day of month never occurs");
    ck_diag(3, p, 9, "'schedule' is not a valid schedule: expected 5 fields");
    ck_diag(4, p, 10, "'schedule' must be a string, got an integer");
    ck_assert_ptr_null(cfg->sources[0].schedule_discover);
    cfg_free(cfg);
    free(p);
}
END_TEST

/* schedule.discover_mode: each name its mode; anything else an error at
 * its line, the source kept with the default (adaptive). */
START_TEST(source_discover_mode)
{
    static const struct {
        const char *name;
        int mode;
    } ok[] = {{"adaptive", CFG_DISCOVER_ADAPTIVE}, {"balanced", CFG_DISCOVER_BALANCED},
              {"conservative", CFG_DISCOVER_CONSERVATIVE},
              {"aggressive", CFG_DISCOVER_AGGRESSIVE}};
    char text[160], *p;
    cfg_config *cfg;
    size_t i;

    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        snprintf(text, sizeof text, "name = \"a\";\ntype = \"sqlite\";\n"
                 "schedule = { discover_mode = \"%s\"; };\n", ok[i].name);
        cfg = load_source(text, &p);
        ck_errors(0);
        ck_assert_int_eq(cfg->sources[0].discover_mode, ok[i].mode);
        cfg_free(cfg);
        free(p);
    }
    cfg = load_source("name = \"a\";\n"                                   /* 1 */
                      "type = \"sqlite\";\n"                              /* 2 */
                      "schedule = {\n"                                     /* 3 */
                      "  discover = \"@hourly\";\n"                       /* 4 */
                      "  discover_mode = \"gentle\";\n"                   /* 5 */
                      "};\n", &p);
    ck_errors(1);
    ck_diag(0, p, 5, "'discover_mode' must be one of adaptive, balanced, conservative, "
                     "aggressive (got 'gentle')");
    ck_assert_int_eq(cfg->sources[0].discover_mode, CFG_DISCOVER_ADAPTIVE);
    cfg_free(cfg);
    free(p);
}
END_TEST

START_TEST(source_duplicate_names)
{
    char *d = put("dsrcd.conf", "");
    char *a = put("sources.d/a.conf", "# first\nname = \"shop\";\ntype = \"sqlite\";\n");
    char *b = put("sources.d/b.conf", "type = \"sqlite\";\n\n\nname = \"shop\";\n");
    char *c = put("sources.d/c.conf", "name = \"other\";\ntype = \"sqlite\";\n");
    char *expect;
    cfg_config *cfg = cfg_load(d, &diags);

    ck_assert_ptr_nonnull(cfg);
    ck_errors(1);
    ck_assert_int_ge(asprintf(&expect, "duplicate source name 'shop': already defined at %s:2",
                              a), 0);
    ck_diag(0, b, 4, expect);
    ck_assert_uint_eq(cfg->n_sources, 2);
    ck_assert_str_eq(cfg_find_source(cfg, "shop")->file, a);
    ck_assert_str_eq(cfg->sources[1].name, "other");
    cfg_free(cfg);
    free(expect);
    free(a);
    free(b);
    free(c);
    free(d);
}
END_TEST

START_TEST(source_missing_required)
{
    char *p;
    cfg_config *cfg = load_source(
        "name = \"a\";\n"                        /* 1 */
        "type = \"sqlite\";\n"                   /* 2 */
        "cloud = {\n"                            /* 3 */
        "  region = \"eu-west-1\";\n"            /* 4 */
        "};\n"                                   /* 5 */
        "fetch = (\n"                            /* 6 */
        "  { format = \"csv\"; },\n"             /* 7 */
        "  \"orders\" );\n",                     /* 8 */
        &p);

    ck_errors(3);
    ck_diag(0, p, 3, "missing required setting 'provider' in group 'cloud'");
    ck_diag(1, p, 7, "missing required setting 'item' in fetch entry 1");
    ck_diag(2, p, 8, "fetch entry 2 must be a group { item = \"...\"; }, got a string");
    cfg_free(cfg);
    free(p);
}
END_TEST

START_TEST(source_values)
{
    char *p;
    cfg_config *cfg = load_source(
        "name = \"a\";\n"                                      /* 1 */
        "type = \"sqlite\";\n"                                 /* 2 */
        "labels = { ok = \"x\"; ratio = 0.5; };\n"             /* 3 */
        "connection = {\n"                                     /* 4 */
        "  path = \"/x.db\";\n"                                /* 5 */
        "  hosts = [ \"a\", \"b\" ];\n"                        /* 6 */
        "  big = 12345678901L;\n"                              /* 7 */
        "};\n"                                                 /* 8 */
        "pool = { max_size = 0; };\n"                          /* 9 */
        "tls = { cert = \"c.pem\"; };\n"                       /* 10 */
        "replicas = { hosts = []; replica_set = \"\"; };\n"    /* 11 */
        "fetch = { item = \"t\"; };\n",                        /* 12 */
        &p);
    const cfg_source *s = &cfg->sources[0];

    ck_errors(7);
    ck_diag(0, p, 3, "label 'ratio' must be a string, an integer or a boolean, got a "
                     "floating-point number");
    ck_diag(1, p, 6, "connection option 'hosts' must be a single value (string, number or "
                     "boolean), got an array");
    ck_diag(2, p, 10, "'cert' and 'key' must be set together in group 'tls'");
    ck_diag(3, p, 11, "'hosts' must not be an empty list");
    ck_diag(4, p, 11, "'replica_set' must not be empty");
    ck_diag(5, p, 9, "'max_size' must be between 1 and");
    ck_diag(6, p, 12, "'fetch' must be a list of groups");
    ck_assert_uint_eq(s->n_labels, 1);
    /* the connection group keeps every option, the bad one as CFG_V_OTHER */
    ck_assert_uint_eq(s->n_connection, 3);
    ck_value(s->connection, s->n_connection, "hosts", "", CFG_V_OTHER, 6);
    ck_value(s->connection, s->n_connection, "big", "12345678901", CFG_V_INT, 7);
    ck_assert_str_eq(s->tls_mode, "verify-full");   /* the default mode */
    ck_assert_str_eq(s->read_policy, "primary");
    cfg_free(cfg);
    free(p);
}
END_TEST

START_TEST(source_pool_limits)
{
    char *p;
    cfg_config *cfg = load_source(
        "name = \"a\";\n"                                   /* 1 */
        "type = \"sqlite\";\n"                              /* 2 */
        "pool = { max_size = 4;\n"                          /* 3 */
        "         min_idle = 5; };\n"                       /* 4 */
        "fetch = ( { item = \"t\"; limit = -1; },\n"        /* 5 */
        "          { item = \"u\"; limit = 0; } );\n",      /* 6 */
        &p);

    ck_errors(2);
    ck_diag(0, p, 4, "'min_idle' must be between 0 and 4, got 5");
    ck_diag(1, p, 5, "'limit' must be at least 0, got -1");
    ck_assert_int_eq(cfg->sources[0].pool.max_size, 4);
    ck_assert_int_eq(cfg->sources[0].pool.min_idle, 0);   /* the default */
    ck_assert_int_eq(cfg->sources[0].fetch[1].limit, 0);
    cfg_free(cfg);
    free(p);
}
END_TEST

/* Many errors in several files: every one reported, others still loaded. */
START_TEST(errors_all_reported)
{
    char *d = put("dsrcd.conf", "log_level = \"verbose\";\n");
    char *a = put("sources.d/a.conf",
                  "name = \"a\";\n"                          /* 1 */
                  "type = \"sqlite\";\n"                     /* 2 */
                  "colour = \"blue\";\n"                     /* 3 */
                  "pool = { max_size = \"x\";\n"             /* 4 */
                  "  idle_timeout = \"forever\"; };\n"       /* 5 */
                  "schedule = { health = \"@weekly x\"; };\n"); /* 6 */
    char *b = put("sources.d/b.conf", "name = \"a\";\ntype = \"sqlite\";\n");
    char *c = put("sources.d/c.conf", "name = \"c\";\ntype = ;\n");
    char *e = put("sources.d/e.conf", "name = \"e\";\ntype = \"sqlite\";\nlocation = 1;\n");
    cfg_config *cfg = cfg_load(d, &diags);

    ck_assert_ptr_nonnull(cfg);
    ck_errors(8);
    ck_diag(0, d, 1, "'log_level' must be one of");
    ck_diag(1, a, 3, "unknown setting 'colour'");
    ck_diag(2, a, 4, "'max_size' must be an integer, got a string");
    ck_diag(3, a, 5, "'idle_timeout' is not a valid duration");
    ck_diag(4, a, 6, "'health' is not a valid schedule");
    ck_diag(5, b, 1, "duplicate source name 'a'");
    ck_diag(6, c, 2, "syntax error");
    ck_diag(7, e, 3, "'location' must be a string, got an integer");
    ck_assert_uint_eq(cfg->n_sources, 2);
    ck_assert_str_eq(cfg->sources[0].name, "a");
    ck_assert_str_eq(cfg->sources[0].file, a);
    ck_assert_uint_eq(cfg->sources[0].n_errors, 4);
    ck_assert_str_eq(cfg->sources[1].name, "e");
    ck_assert_uint_eq(cfg->sources[1].n_errors, 1);
    cfg_free(cfg);
    free(a);
    free(b);
    free(c);
    free(e);
    free(d);
}
END_TEST

/* sources.d is read in byte order of the file names, not by source name;
 * hidden files, non-.conf files and directories are skipped. */
START_TEST(sources_name_order)
{
    char *d = put("dsrcd.conf", "sources_dir = \"srcs\";\n");
    char *dir = tpath("srcs"), *sub = tpath("srcs/dir.conf"), *expect;
    static const char *const files[][2] = {
        {"srcs/b.conf", "first-by-name"}, {"srcs/a.conf", "zulu"},
        {"srcs/10.conf", "ten"}, {"srcs/9.conf", "nine"},
        {"srcs/B.conf", "upper"}, {"srcs/a.conf.bak", "backup"},
        {"srcs/.a.conf", "hidden"}, {"srcs/notes", "notes"},
    };
    size_t i;
    cfg_config *cfg;

    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "name = \"%s\";\ntype = \"sqlite\";\n", files[i][1]);
        free(put(files[i][0], text));
    }
    cfg = cfg_load(d, &diags);
    ck_assert_ptr_nonnull(cfg);
    ck_errors(0);
    ck_assert_uint_eq(diags.n, 1);     /* the directory: a warning */
    ck_assert_int_eq(diags.v[0].severity, DIAG_WARNING);
    ck_diag(0, sub, 0, "not a regular file, skipped");
    ck_assert_str_eq(cfg->sources_dir, dir);
    ck_assert_uint_eq(cfg->n_sources, 5);
    ck_assert_str_eq(cfg->sources[0].name, "ten");
    ck_assert_str_eq(cfg->sources[1].name, "nine");
    ck_assert_str_eq(cfg->sources[2].name, "upper");
    ck_assert_str_eq(cfg->sources[3].name, "zulu");
    ck_assert_str_eq(cfg->sources[4].name, "first-by-name");
    ck_assert_int_ge(asprintf(&expect, "%s/9.conf", dir), 0);
    ck_assert_str_eq(cfg->sources[1].file, expect);
    free(expect);
    cfg_free(cfg);
    free(sub);
    free(dir);
    free(d);
}
END_TEST

START_TEST(location_names)
{
    ck_assert_str_eq(cfg_location_name(DSRC_LOC_ON_PREM), "on_prem");
    ck_assert_str_eq(cfg_location_name(DSRC_LOC_CLOUD), "cloud");
    ck_assert_str_eq(cfg_location_name(DSRC_LOC_HYBRID), "hybrid");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Durations                                                                 */

START_TEST(durations_valid)
{
    static const struct { const char *s; int64_t ms; } ok[] = {
        {"250ms", 250}, {"30s", 30000}, {"5m", 300000}, {"1h", 3600000},
        {"2d", 172800000}, {"1h30m", 5400000}, {"45", 45000}, {"0", 0}, {"0s", 0},
        {"1d2h3m4s5ms", 93784005}, {"90s", 90000}, {"007m", 420000},
        {"9223372036854775ms", 9223372036854775LL},
        {"106751991167d", 106751991167LL * 86400000},
        {"9223372036854775807ms", INT64_MAX},
    };
    size_t i;

    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ms = -42;
        ck_assert_msg(cfg_parse_duration(ok[i].s, &ms) == 0, "'%s' refused", ok[i].s);
        ck_assert_msg(ms == ok[i].ms, "'%s' -> %lld", ok[i].s, (long long)ms);
    }
}
END_TEST

START_TEST(durations_invalid)
{
    static const char *const bad[] = {
        "", "-5", "-5s", "+5s", "5x", "5 s", " 5s", "5s ", "s", "ms", "1.5h", "5S",
        "30m1h", "1s1s", "1h30", "5mm", "1e3", "0x10",
        "9223372036854775807",         /* seconds: overflows as milliseconds */
        "99999999999999999999s",       /* overflows int64 */
        "106751991168d",               /* overflows as milliseconds */
        "106751991167d1d",
    };
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = -42;
        ck_assert_msg(cfg_parse_duration(bad[i], &ms) == -1, "'%s' accepted", bad[i]);
        ck_assert_int_eq(ms, -42);
    }
    ck_assert_int_eq(cfg_parse_duration(NULL, NULL), -1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Schedules                                                                 */

START_TEST(schedules_valid)
{
    static const char *const ok[] = {
        "* * * * *", "0 */6 * * *", "0-59/15 0-23 1-31 1-12 0-7", "5 4 * * sun",
        "0 0 1 jan,jul *", "0 9 * * MON-FRI", "1,2,3 * * * *", "0 0 29 2 *",
        "0 0 30 2 1", "30 2/4 * * *", "  0   1 * * *  ", "0\t1\t*\t*\t*",
        "@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually",
        "@every 30s", "@every 1h30m", "@every 250ms", "@every  5", " @daily ",
    };
    size_t i;

    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        const char *why = NULL;
        ck_assert_msg(cfg_check_schedule(ok[i], &why) == 0, "'%s' refused: %s", ok[i],
                      why ? why : "?");
    }
}
END_TEST

START_TEST(schedules_invalid)
{
    static const struct { const char *expr, *why; } bad[] = {
        {"", "empty"}, {"   ", "empty"},
        {"* * * *", "expected 5 fields"}, {"* * * * * *", "expected 5 fields"},
        {"60 * * * *", "minute out of range"}, {"* 24 * * *", "hour out of range"},
        {"* * 0 * *", "day of month out of range"}, {"* * 32 * *", "day of month out"},
        {"* * * 13 *", "month out of range"}, {"* * * 0 *", "month out of range"},
        {"* * * * 8", "day of week out of range"}, {"5-1 * * * *", "backwards"},
        {"*/0 * * * *", "step must be between"}, {"*/61 * * * *", "step must be between"},
        {"*/ * * * *", "step must be a positive number"}, {"a * * * *", "minute is not"},
        {"* * * foo *", "month is not"}, {"* * * * funday", "day of week is not"},
        {"* * * * mon-", "day of week is not"}, {"1,,2 * * * *", "minute is not"},
        {"1, * * * *", "ends with a comma"}, {"1-2-3 * * * *", "unexpected character"},
        {"1x * * * *", "unexpected character"}, {"*-5 * * * *", "unexpected character"},
        {"0 0 30 2 *", "never occurs"}, {"0 0 31 4,6,9,11 *", "never occurs"},
        {"@reboot", "unknown shortcut"}, {"@hourlyx", "unknown shortcut"},
        {"@every", "@every needs a duration"}, {"@every ", "@every needs a duration"},
        {"@everyday", "unknown shortcut"},
        {"@every 0s", "greater than zero"}, {"@every -5s", "needs a duration such as"},
        {"@every 5x", "needs a duration such as"}, {"@every 5s 5s", "needs a duration"},
        {"* * * * jan", "day of week is not"}, {"* * * mon *", "month is not"},
    };
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *why = NULL;
        ck_assert_msg(cfg_check_schedule(bad[i].expr, &why) == -1, "'%s' accepted",
                      bad[i].expr);
        ck_assert_ptr_nonnull(why);
        ck_assert_msg(strstr(why, bad[i].why) != NULL, "'%s': reason '%s' lacks '%s'",
                      bad[i].expr, why, bad[i].why);
    }
    ck_assert_int_eq(cfg_check_schedule(NULL, NULL), -1);
}
END_TEST

START_TEST(schedule_parsed_form)
{
    schedule_spec s;

    ck_assert_int_eq(schedule_parse("0,30 9-17/4 1,15 jan-mar sat-7", &s, NULL), 0);
    ck_assert_int_eq(s.kind, SCHEDULE_CRON);
    ck_assert_uint_eq(s.minutes, (1ull << 0) | (1ull << 30));
    ck_assert_uint_eq(s.hours, (1u << 9) | (1u << 13) | (1u << 17));
    ck_assert_uint_eq(s.mdays, (1u << 1) | (1u << 15));
    ck_assert_uint_eq(s.months, (1u << 1) | (1u << 2) | (1u << 3));
    ck_assert_uint_eq(s.wdays, (1u << 6) | (1u << 0));
    ck_assert_int_eq(s.mday_star, 0);
    ck_assert_int_eq(s.wday_star, 0);

    ck_assert_int_eq(schedule_parse("*/20 0 */10 * *", &s, NULL), 0);
    ck_assert_uint_eq(s.minutes, (1ull << 0) | (1ull << 20) | (1ull << 40));
    ck_assert_uint_eq(s.mdays, (1u << 1) | (1u << 11) | (1u << 21) | (1u << 31));
    ck_assert_uint_eq(s.months, 0x1ffeu);
    ck_assert_uint_eq(s.wdays, 0x7fu);
    ck_assert_int_eq(s.mday_star, 1);
    ck_assert_int_eq(s.wday_star, 1);

    ck_assert_int_eq(schedule_parse("@every 1h30m", &s, NULL), 0);
    ck_assert_int_eq(s.kind, SCHEDULE_EVERY);
    ck_assert_int_eq(s.every_ms, 5400000);
}
END_TEST

static time_t next_of(const char *expr, time_t after)
{
    schedule_spec s;
    const char *why = NULL;
    ck_assert_msg(schedule_parse(expr, &s, &why) == 0, "'%s': %s", expr, why ? why : "?");
    return schedule_next(&s, after);
}

START_TEST(schedule_next_fire)
{
    /* 2024-01-01 is a Monday */
    ck_assert_int_eq(next_of("0 */6 * * *", utc(2024, 1, 1, 5, 59, 59)),
                     utc(2024, 1, 1, 6, 0, 0));
    ck_assert_int_eq(next_of("0 */6 * * *", utc(2024, 1, 1, 6, 0, 0)),
                     utc(2024, 1, 1, 12, 0, 0));
    ck_assert_int_eq(next_of("0 */6 * * *", utc(2024, 12, 31, 18, 0, 1)),
                     utc(2025, 1, 1, 0, 0, 0));
    ck_assert_int_eq(next_of("* * * * *", utc(2024, 1, 1, 0, 0, 30)),
                     utc(2024, 1, 1, 0, 1, 0));
    ck_assert_int_eq(next_of("30 2 * * *", utc(2024, 1, 31, 3, 0, 0)),
                     utc(2024, 2, 1, 2, 30, 0));
    ck_assert_int_eq(next_of("0 0 29 2 *", utc(2023, 3, 1, 0, 0, 0)),
                     utc(2024, 2, 29, 0, 0, 0));
    ck_assert_int_eq(next_of("0 0 31 * *", utc(2024, 4, 1, 0, 0, 0)),
                     utc(2024, 5, 31, 0, 0, 0));
    /* day of month OR day of week when both are restricted */
    ck_assert_int_eq(next_of("0 0 1,15 * mon", utc(2024, 1, 1, 0, 0, 0)),
                     utc(2024, 1, 8, 0, 0, 0));
    ck_assert_int_eq(next_of("0 0 1,15 * mon", utc(2024, 1, 9, 0, 0, 0)),
                     utc(2024, 1, 15, 0, 0, 0));
    /* AND when one of them starts with '*' */
    ck_assert_int_eq(next_of("0 0 */2 * mon", utc(2024, 1, 1, 0, 0, 0)),
                     utc(2024, 1, 15, 0, 0, 0));
    ck_assert_int_eq(next_of("*/15 * * * mon-fri", utc(2024, 1, 5, 23, 50, 0)),
                     utc(2024, 1, 8, 0, 0, 0));
    ck_assert_int_eq(next_of("0 12 * * 7", utc(2024, 1, 1, 0, 0, 0)),
                     utc(2024, 1, 7, 12, 0, 0));
    ck_assert_int_eq(next_of("@hourly", utc(2024, 1, 1, 10, 0, 1)),
                     utc(2024, 1, 1, 11, 0, 0));
    ck_assert_int_eq(next_of("@daily", utc(2024, 2, 28, 23, 59, 0)),
                     utc(2024, 2, 29, 0, 0, 0));
    ck_assert_int_eq(next_of("@weekly", utc(2024, 1, 1, 0, 0, 0)),
                     utc(2024, 1, 7, 0, 0, 0));
    ck_assert_int_eq(next_of("@monthly", utc(2024, 1, 15, 0, 0, 0)),
                     utc(2024, 2, 1, 0, 0, 0));
    ck_assert_int_eq(next_of("@yearly", utc(2024, 6, 1, 0, 0, 0)),
                     utc(2025, 1, 1, 0, 0, 0));
    ck_assert_int_eq(next_of("0 0 1 jan-mar,oct *", utc(2024, 3, 1, 0, 0, 0)),
                     utc(2024, 10, 1, 0, 0, 0));
    /* 2100 is not a leap year */
    ck_assert_int_eq(next_of("0 0 29 2 *", utc(2096, 3, 1, 0, 0, 0)),
                     utc(2104, 2, 29, 0, 0, 0));
    /* before the epoch */
    ck_assert_int_eq(next_of("0 0 * * *", utc(1969, 12, 31, 12, 0, 0)), 0);
    /* @every: after + interval, rounded up to whole seconds */
    ck_assert_int_eq(next_of("@every 90s", 1000), 1090);
    ck_assert_int_eq(next_of("@every 250ms", 1000), 1001);
    ck_assert_int_eq(next_of("@every 1500ms", 1000), 1002);
}
END_TEST

START_TEST(schedule_next_never)
{
    schedule_spec s;

    memset(&s, 0, sizeof s);        /* nothing selected: never */
    s.kind = SCHEDULE_CRON;
    ck_assert_int_eq(schedule_next(&s, 0), (time_t)-1);
    /* 30 February with the weekday as '*' (built by hand, parse refuses it) */
    ck_assert_int_eq(schedule_parse("0 0 1 2 *", &s, NULL), 0);
    s.mdays = 1u << 30;
    ck_assert_int_eq(schedule_next(&s, utc(2024, 1, 1, 0, 0, 0)), (time_t)-1);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("files");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, full_config);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, many_elements);
    tcase_add_test(tc, isolation_memory_sizes);
    tcase_add_test(tc, relative_paths);
    tcase_add_test(tc, daemon_missing_file);
    tcase_add_test(tc, daemon_syntax_error);
    tcase_add_test(tc, daemon_errors_all_reported);
    tcase_add_test(tc, node_name_checked_and_defaulted);
    tcase_add_test(tc, daemon_plugin_dir_list);
    tcase_add_test(tc, daemon_jobs_group);
    tcase_add_test(tc, daemon_jobs_errors);
    tcase_add_test(tc, daemon_api_group);
    tcase_add_test(tc, daemon_api_errors);
    tcase_add_test(tc, daemon_state_store);
    tcase_add_test(tc, fetch_rule_item_twice);
    tcase_add_test(tc, fetch_rule_mask);
    tcase_add_test(tc, fetch_rule_mask_errors);
    tcase_add_test(tc, mask_key_errors);
    tcase_add_test(tc, daemon_log_levels);
    tcase_add_test(tc, source_syntax_error_others_load);
    tcase_add_test(tc, source_duplicate_setting);
    tcase_add_test(tc, source_include);
    tcase_add_test(tc, include_not_regular);
    tcase_add_test(tc, daemon_file_not_regular);
    tcase_add_test(tc, file_too_large);
    tcase_add_test(tc, daemon_paths_checked);
    tcase_add_test(tc, source_unknown_keys);
    tcase_add_test(tc, source_wrong_types);
    tcase_add_test(tc, source_cloud_values);
    tcase_add_test(tc, source_name_and_type);
    tcase_add_test(tc, source_bad_enums);
    tcase_add_test(tc, source_tls_mode_by_location);
    tcase_add_test(tc, source_bad_durations);
    tcase_add_test(tc, source_bad_schedules);
    tcase_add_test(tc, source_discover_mode);
    tcase_add_test(tc, source_duplicate_names);
    tcase_add_test(tc, source_missing_required);
    tcase_add_test(tc, source_values);
    tcase_add_test(tc, source_pool_limits);
    tcase_add_test(tc, errors_all_reported);
    tcase_add_test(tc, sources_name_order);
    suite_add_tcase(s, tc);

    tc = tcase_create("parsers");
    tcase_add_test(tc, location_names);
    tcase_add_test(tc, durations_valid);
    tcase_add_test(tc, durations_invalid);
    tcase_add_test(tc, schedules_valid);
    tcase_add_test(tc, schedules_invalid);
    tcase_add_test(tc, schedule_parsed_form);
    tcase_add_test(tc, schedule_next_fire);
    tcase_add_test(tc, schedule_next_never);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
