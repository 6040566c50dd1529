/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_registry -- connection options validated against a plugin's option
 * table: unknown options, wrong types, enums, durations, required options,
 * defaults, normalisation, secrets, a missing plugin.
 *
 * The plugin is tests/fixtures/plugins/opts (opts.so in
 * $top_builddir/tests/fixtures/plugins/.libs).  Its table:
 *   path PATH required | host STRING "localhost" | port INT "5432" |
 *   compress BOOL "false" | timeout DURATION "1m30s" |
 *   mode ENUM "safe" (fast|safe|paranoid) | ratio DOUBLE "0.25" |
 *   password STRING secret | token STRING secret "default-token-value" |
 *   note STRING (no default)
 */
#include <config.h>

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "base/diag.h"
#include "plugin/loader.h"
#include "base/redact.h"
#include "plugin/registry.h"

static char *tmp;
static char *plugin_dir;
static diag_list diags;
static cfg_config *cfg;
static loader_set *plugins;
static registry *reg;

static void setup(void)
{
    const char *base = getenv("TMPDIR"), *top = getenv("top_builddir");
    char *tmpl;

    ck_assert_msg(top != NULL, "top_builddir is not set");
    ck_assert_int_ge(asprintf(&plugin_dir, "%s/tests/fixtures/plugins/.libs", top), 0);
    ck_assert_int_ge(asprintf(&tmpl, "%s/dsrc-registry-XXXXXX", base && *base ? base : "/tmp"),
                     0);
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    tmp = tmpl;
    unsetenv("DSRC_PLUGIN_PATH");
    memset(&diags, 0, sizeof diags);
    cfg = NULL;
    plugins = NULL;
    reg = NULL;
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
    registry_free(reg);
    loader_free(plugins);
    cfg_free(cfg);
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(tmp);
    free(plugin_dir);
    diag_free(&diags);
}

/* Write tmp/sources.d/NAME; returns the path. */
static char *put_source(const char *name, const char *text)
{
    char *dir, *p;
    FILE *fp;

    ck_assert_int_ge(asprintf(&dir, "%s/sources.d", tmp), 0);
    mkdir(dir, 0755);
    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
    free(dir);
    fp = fopen(p, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    ck_assert_int_eq(fclose(fp), 0);
    return p;
}

/* Write dsrcd.conf pointing at the fixture plugin dir, load, build. */
static void build(void)
{
    char *d;
    FILE *fp;

    ck_assert_int_ge(asprintf(&d, "%s/dsrcd.conf", tmp), 0);
    fp = fopen(d, "w");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp, "plugin_dir = \"%s\";\n", plugin_dir);
    ck_assert_int_eq(fclose(fp), 0);
    cfg = cfg_load(d, &diags);
    free(d);
    ck_assert_ptr_nonnull(cfg);
    plugins = loader_new((const char *const *)cfg->plugin_dirs, cfg->n_plugin_dirs);
    ck_assert_ptr_nonnull(plugins);
    reg = registry_build(cfg, plugins, &diags);
    ck_assert_ptr_nonnull(reg);
}

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

#define ck_errors(n_)                                                           \
    do {                                                                        \
        if (diags.n_errors != (size_t)(n_))                                     \
            diag_print(&diags, stderr);                                         \
        ck_assert_uint_eq(diags.n_errors, (n_));                                \
    } while (0)

static const registry_option *opt(const registry_source *s, const char *name)
{
    size_t i;
    for (i = 0; i < s->n_options; i++)
        if (strcmp(s->options[i].def->name, name) == 0)
            return &s->options[i];
    return NULL;
}

static void ck_opt(const registry_source *s, const char *name, const char *value, int from_default,
                   int line)
{
    const registry_option *o = opt(s, name);
    ck_assert_msg(o != NULL, "option '%s' missing", name);
    ck_assert_str_eq(o->value, value);
    ck_assert_int_eq(o->from_default, from_default);
    ck_assert_int_eq(o->line, line);
}

/* ------------------------------------------------------------------------ */

START_TEST(all_types_normalised)
{
    char *p = put_source("s.conf",
                         "name = \"s\";\n"                      /* 1 */
                         "type = \"opts\";\n"                   /* 2 */
                         "connection = {\n"                     /* 3 */
                         "  path = \"data/x.db\";\n"            /* 4 */
                         "  host = \"db.local\";\n"             /* 5 */
                         "  port = 6543;\n"                     /* 6 */
                         "  compress = true;\n"                 /* 7 */
                         "  timeout = \"2m\";\n"                /* 8 */
                         "  mode = \"fast\";\n"                 /* 9 */
                         "  ratio = 0.5;\n"                     /* 10 */
                         "  password = \"pw-all-types\";\n"     /* 11 */
                         "};\n");
    char *abs, *red;
    const registry_source *s;

    build();
    ck_errors(0);
    ck_assert_uint_eq(reg->n_sources, 1);
    s = registry_find(reg, "s");
    ck_assert_ptr_eq(s, &reg->sources[0]);
    ck_assert_ptr_eq(s->cfg, cfg_find_source(cfg, "s"));
    ck_assert_str_eq(loader_name(s->plugin), "opts");
    ck_assert_uint_eq(s->n_options, 9);
    /* in the order of the plugin's table */
    ck_assert_str_eq(s->options[0].def->name, "path");
    ck_assert_str_eq(s->options[8].def->name, "token");
    /* a relative path is resolved against the source file's directory */
    ck_assert_int_ge(asprintf(&abs, "%.*s/data/x.db", (int)(strrchr(p, '/') - p), p), 0);
    ck_opt(s, "path", abs, 0, 4);
    free(abs);
    ck_opt(s, "host", "db.local", 0, 5);
    ck_opt(s, "port", "6543", 0, 6);
    ck_opt(s, "compress", "true", 0, 7);
    ck_opt(s, "timeout", "120000", 0, 8);
    ck_opt(s, "mode", "fast", 0, 9);
    ck_opt(s, "ratio", "0.5", 0, 10);
    ck_opt(s, "password", "pw-all-types", 0, 11);
    ck_opt(s, "token", "default-token-value", 1, 0);
    ck_assert_ptr_null(opt(s, "note"));
    /* both secrets, the configured one and the default, are redacted */
    red = redact_dup("a pw-all-types b default-token-value c");
    ck_assert_str_eq(red, "a *** b *** c");
    free(red);
    ck_assert_ptr_null(registry_find(reg, "nosuch"));
    free(p);
}
END_TEST

START_TEST(defaults_applied)
{
    char *p = put_source("s.conf",
                         "name = \"s\";\n"
                         "type = \"opts\";\n"
                         "connection = {\n"
                         "  path = \"/abs/x.db\";\n"
                         "  timeout = 45;\n"            /* integer: seconds */
                         "  ratio = 2;\n"               /* an integer is a number */
                         "  port = -1;\n"
                         "  note = \"\";\n"
                         "};\n");
    const registry_source *s;

    build();
    ck_errors(0);
    s = registry_find(reg, "s");
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->n_options, 9);
    ck_opt(s, "path", "/abs/x.db", 0, 4);
    ck_opt(s, "timeout", "45000", 0, 5);
    ck_opt(s, "ratio", "2", 0, 6);
    ck_opt(s, "port", "-1", 0, 7);
    ck_opt(s, "note", "", 0, 8);
    ck_opt(s, "host", "localhost", 1, 0);
    ck_opt(s, "compress", "false", 1, 0);
    ck_opt(s, "mode", "safe", 1, 0);
    ck_opt(s, "token", "default-token-value", 1, 0);
    ck_assert_ptr_null(opt(s, "password"));
    free(p);
}
END_TEST

START_TEST(unknown_option)
{
    char *p = put_source("s.conf",
                         "name = \"s\";\n"               /* 1 */
                         "type = \"opts\";\n"            /* 2 */
                         "connection = {\n"              /* 3 */
                         "  path = \"/x\";\n"            /* 4 */
                         "  colour = \"blue\";\n"        /* 5 */
                         "};\n");
    build();
    ck_errors(1);
    ck_diag(0, p, 5, "source 's': unknown connection option 'colour' for plugin 'opts' "
                     "(valid: path, host, port, compress, timeout, mode, ratio, password, "
                     "token, note)");
    ck_assert_uint_eq(reg->n_sources, 0);
    free(p);
}
END_TEST

START_TEST(wrong_types)
{
    char *p = put_source("s.conf",
                         "name = \"s\";\n"               /* 1 */
                         "type = \"opts\";\n"            /* 2 */
                         "connection = {\n"              /* 3 */
                         "  path = 5;\n"                 /* 4 */
                         "  port = \"5432\";\n"          /* 5 */
                         "  compress = \"yes\";\n"       /* 6 */
                         "  timeout = 1.5;\n"            /* 7 */
                         "  mode = 1;\n"                 /* 8 */
                         "  ratio = \"half\";\n"         /* 9 */
                         "  host = true;\n"              /* 10 */
                         "};\n");
    build();
    ck_errors(7);
    /* reported in the order of the plugin's table */
    ck_diag(0, p, 4, "source 's': connection option 'path' must be a string, got an integer");
    ck_diag(1, p, 10, "connection option 'host' must be a string, got a boolean");
    ck_diag(2, p, 5, "connection option 'port' must be an integer, got a string");
    ck_diag(3, p, 6, "connection option 'compress' must be a boolean (true or false, without "
                     "quotes), got a string");
    ck_diag(4, p, 7, "connection option 'timeout' must be a duration such as \"30s\" or an "
                     "integer number of seconds, got a floating-point number");
    ck_diag(5, p, 8, "connection option 'mode' must be a string, got an integer");
    ck_diag(6, p, 9, "connection option 'ratio' must be a number, got a string");
    ck_assert_uint_eq(reg->n_sources, 0);
    free(p);
}
END_TEST

START_TEST(bool_from_integer)
{
    char *p = put_source("s.conf",
                         "name = \"s\";\ntype = \"opts\";\n"
                         "connection = { path = \"/x\";\n"        /* 3 */
                         "  compress = 1; };\n");                 /* 4 */
    build();
    ck_errors(1);
    ck_diag(0, p, 4, "connection option 'compress' must be a boolean (true or false, without "
                     "quotes), got an integer");
    free(p);
}
END_TEST

START_TEST(enum_not_in_choices)
{
    char *p = put_source("s.conf",
                         "name = \"s\";\ntype = \"opts\";\n"
                         "connection = {\n"                       /* 3 */
                         "  path = \"/x\";\n"                     /* 4 */
                         "  mode = \"reckless\";\n"               /* 5 */
                         "};\n");
    build();
    ck_errors(1);
    ck_diag(0, p, 5, "source 's': connection option 'mode' must be one of fast, safe, "
                     "paranoid (got 'reckless')");
    free(p);
}
END_TEST

START_TEST(malformed_duration)
{
    char *a = put_source("a.conf",
                         "name = \"a\";\ntype = \"opts\";\n"
                         "connection = {\n"                       /* 3 */
                         "  path = \"/x\";\n"                     /* 4 */
                         "  timeout = \"10 minutes\";\n"          /* 5 */
                         "};\n");
    char *b = put_source("b.conf",
                         "name = \"b\";\ntype = \"opts\";\n"
                         "connection = { path = \"/x\";\n"        /* 3 */
                         "  timeout = -3; };\n");                 /* 4 */
    build();
    ck_errors(2);
    ck_diag(0, a, 5, "source 'a': connection option 'timeout' is not a valid duration: "
                     "'10 minutes' (use e.g. 250ms, 30s, 5m, 1h)");
    ck_diag(1, b, 4, "source 'b': connection option 'timeout' is not a valid duration "
                     "(a number of seconds must be 0 or more)");
    ck_assert_uint_eq(reg->n_sources, 0);
    free(a);
    free(b);
}
END_TEST

START_TEST(missing_required)
{
    char *a = put_source("a.conf",
                         "name = \"a\";\n"                        /* 1 */
                         "type = \"opts\";\n"                     /* 2 */
                         "\n"                                     /* 3 */
                         "connection = {\n"                       /* 4 */
                         "  host = \"h\";\n"                      /* 5 */
                         "};\n");
    char *b = put_source("b.conf",
                         "# no connection group at all\n"         /* 1 */
                         "type = \"opts\";\n"                     /* 2 */
                         "name = \"b\";\n");                      /* 3 */
    build();
    ck_errors(2);
    ck_diag(0, a, 4, "source 'a': missing required connection option 'path' "
                     "(the file to read)");
    ck_diag(1, b, 3, "source 'b': missing required connection option 'path'");
    ck_assert_uint_eq(reg->n_sources, 0);
    free(a);
    free(b);
}
END_TEST

START_TEST(plugin_not_found)
{
    char *p = put_source("s.conf",
                         "name = \"s\";\n"                        /* 1 */
                         "\n"                                     /* 2 */
                         "type = \"nosuch\";\n"                   /* 3 */
                         "connection = { whatever = 1; };\n");
    build();
    ck_errors(1);
    ck_diag(0, p, 3, "source 's': ");
    ck_diag(0, p, 3, "'nosuch'");
    ck_diag(0, p, 3, plugin_dir);       /* names where it looked */
    ck_assert_uint_eq(reg->n_sources, 0);
    free(p);
}
END_TEST

START_TEST(disabled_not_validated)
{
    char *a = put_source("a.conf",
                         "name = \"a\";\ntype = \"nosuch\";\nenabled = false;\n");
    char *b = put_source("b.conf",
                         "name = \"b\";\ntype = \"opts\";\nenabled = false;\n"
                         "connection = { bogus = 1; };\n");
    char *c = put_source("c.conf",
                         "name = \"c\";\ntype = \"opts\";\nenabled = true;\n"
                         "connection = { path = \"/c.db\"; };\n");
    build();
    ck_errors(0);
    ck_assert_uint_eq(reg->n_sources, 1);
    ck_assert_ptr_null(registry_find(reg, "a"));
    ck_assert_ptr_null(registry_find(reg, "b"));
    ck_assert_ptr_nonnull(registry_find(reg, "c"));
    free(a);
    free(b);
    free(c);
}
END_TEST

/* Errors in several sources: each reported, the good sources kept. */
START_TEST(several_sources)
{
    char *a = put_source("a.conf",
                         "name = \"a\";\ntype = \"opts\";\n"
                         "connection = { path = \"/a.db\"; };\n");
    char *b = put_source("b.conf",
                         "name = \"b\";\ntype = \"opts\";\n"
                         "connection = {\n"               /* 3 */
                         "  port = \"x\";\n"              /* 4 */
                         "  mode = \"y\";\n"              /* 5 */
                         "  extra = 1;\n"                 /* 6 */
                         "};\n");
    char *c = put_source("c.conf",
                         "name = \"c\";\ntype = \"nosuch\";\n");
    char *d = put_source("d.conf",
                         "name = \"d\";\ntype = \"opts\";\n"
                         "connection = { path = \"/d.db\"; };\n");
    build();
    ck_errors(5);
    ck_diag(0, b, 6, "unknown connection option 'extra'");
    ck_diag(1, b, 3, "missing required connection option 'path'");
    ck_diag(2, b, 4, "'port' must be an integer");
    ck_diag(3, b, 5, "'mode' must be one of");
    ck_diag(4, c, 2, "source 'c': ");
    ck_assert_uint_eq(reg->n_sources, 2);
    ck_assert_str_eq(reg->sources[0].cfg->name, "a");
    ck_assert_str_eq(reg->sources[1].cfg->name, "d");
    free(a);
    free(b);
    free(c);
    free(d);
}
END_TEST

/* A list given as a connection value is reported once, by the config. */
START_TEST(aggregate_value_reported_once)
{
    char *p = put_source("s.conf",
                         "name = \"s\";\ntype = \"opts\";\n"
                         "connection = {\n"                       /* 3 */
                         "  path = [ \"/a\", \"/b\" ];\n"         /* 4 */
                         "};\n");
    build();
    ck_errors(1);
    ck_diag(0, p, 4, "connection option 'path' must be a single value");
    ck_assert_uint_eq(reg->n_sources, 0);
    free(p);
}
END_TEST

/* file: references that cannot work (relative, missing, not a file) and
 * env: references without a valid name are errors at check time, with the
 * option's line, for connection options and the host's own secrets. */
START_TEST(secret_references_checked)
{
    char *p, *text;
    char *ok;
    FILE *fp;

    ck_assert_int_ge(asprintf(&ok, "%s/pw", tmp), 0);
    fp = fopen(ok, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("pw\n", fp);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_int_ge(asprintf(&text,
                              "name = \"s\";\ntype = \"opts\";\n"
                              "connection = {\n"                            /* 3 */
                              "  path = \"/x\";\n"                          /* 4 */
                              "  password = \"file:secrets/pw\";\n"         /* 5 */
                              "  token = \"file:%s/missing\";\n"            /* 6 */
                              "};\n"
                              "cloud = {\n"                                 /* 8 */
                              "  provider = \"azure\";\n"
                              "  client_secret = \"file:%s\";\n"            /* 10 */
                              "};\n"
                              "tls = { key_passphrase = \"env:1BAD\"; };\n", /* 12 */
                              tmp, tmp), 0);
    p = put_source("s.conf", text);
    free(text);
    build();
    ck_errors(4);
    ck_diag(0, p, 10, "cloud.client_secret");
    ck_diag(0, p, 10, "is not a regular file");
    ck_diag(1, p, 12, "tls.key_passphrase: env: reference needs a variable name");
    ck_diag(2, p, 5, "connection option 'password': file: reference needs an absolute path");
    ck_diag(3, p, 6, "connection option 'token'");
    ck_diag(3, p, 6, "/missing: No such file");
    free(p);

    /* an existing file passes */
    registry_free(reg);
    loader_free(plugins);
    cfg_free(cfg);
    diag_free(&diags);
    memset(&diags, 0, sizeof diags);
    ck_assert_int_ge(asprintf(&text, "name = \"s\";\ntype = \"opts\";\n"
                                     "connection = { path = \"/x\"; password = \"file:%s\"; };\n",
                              ok), 0);
    p = put_source("s.conf", text);
    free(text);
    build();
    ck_errors(0);
    ck_assert_uint_eq(reg->n_sources, 1);
    free(p);
    free(ok);
}
END_TEST

/* A secret never appears in a message, even echoed by another option. */
START_TEST(secret_never_printed)
{
    char *p = put_source("s.conf",
                         "name = \"s\";\ntype = \"opts\";\n"
                         "connection = {\n"                       /* 3 */
                         "  path = \"/x\";\n"                     /* 4 */
                         "  timeout = \"sw0rdfish-99\";\n"        /* 5 */
                         "  password = \"sw0rdfish-99\";\n"       /* 6 */
                         "};\n");
    build();
    ck_errors(1);
    ck_diag(0, p, 5, "is not a valid duration: '***'");
    ck_assert_ptr_null(strstr(diags.v[0].msg, "sw0rdfish"));
    free(p);
}
END_TEST

START_TEST(normalise_direct)
{
    static const dsrc_option d_int = {"n", DSRC_OPT_INT, 0, NULL, NULL, NULL, {NULL, NULL}};
    static const dsrc_option d_bool = {"b", DSRC_OPT_BOOL, 0, NULL, NULL, NULL, {NULL, NULL}};
    static const dsrc_option d_dur = {"d", DSRC_OPT_DURATION, 0, NULL, NULL, NULL,
                                      {NULL, NULL}};
    static const dsrc_option d_dbl = {"x", DSRC_OPT_DOUBLE, 0, NULL, NULL, NULL, {NULL, NULL}};
    static const dsrc_option d_path = {"p", DSRC_OPT_PATH, 0, NULL, NULL, NULL, {NULL, NULL}};
    static const dsrc_option d_enum = {"e", DSRC_OPT_ENUM, 0, NULL, "a|bb|ccc", NULL,
                                       {NULL, NULL}};
    static const dsrc_option d_free = {"f", DSRC_OPT_ENUM, 0, NULL, NULL, NULL, {NULL, NULL}};
    static const struct {
        const dsrc_option *def;
        const char *text;
        cfg_vtype type;
        const char *want;   /* NULL: refused, with `why` containing... */
        const char *why;
    } cases[] = {
        {&d_int, "42", CFG_V_INT, "42", NULL},
        {&d_int, "-7", CFG_V_INT, "-7", NULL},
        {&d_int, "42", CFG_V_STRING, NULL, "must be an integer"},
        {&d_int, "4.2", CFG_V_FLOAT, NULL, "must be an integer"},
        {&d_bool, "true", CFG_V_BOOL, "true", NULL},
        {&d_bool, "false", CFG_V_BOOL, "false", NULL},
        {&d_bool, "true", CFG_V_STRING, NULL, "must be a boolean"},
        {&d_dur, "1h", CFG_V_STRING, "3600000", NULL},
        {&d_dur, "250ms", CFG_V_STRING, "250", NULL},
        {&d_dur, "2", CFG_V_INT, "2000", NULL},
        {&d_dur, "0", CFG_V_INT, "0", NULL},
        {&d_dur, "1 h", CFG_V_STRING, NULL, "not a valid duration"},
        {&d_dur, "true", CFG_V_BOOL, NULL, "must be a duration"},
        {&d_dbl, "2.5", CFG_V_FLOAT, "2.5", NULL},
        {&d_dbl, "3", CFG_V_INT, "3", NULL},
        {&d_dbl, "3", CFG_V_STRING, NULL, "must be a number"},
        {&d_path, "/etc/x", CFG_V_STRING, "/etc/x", NULL},
        {&d_path, "", CFG_V_STRING, NULL, "must not be empty"},
        {&d_path, "1", CFG_V_INT, NULL, "must be a string"},
        {&d_enum, "bb", CFG_V_STRING, "bb", NULL},
        {&d_enum, "ccc", CFG_V_STRING, "ccc", NULL},
        {&d_enum, "b", CFG_V_STRING, NULL, "not one of the allowed values"},
        {&d_enum, "cccc", CFG_V_STRING, NULL, "not one of the allowed values"},
        {&d_free, "anything", CFG_V_STRING, "anything", NULL},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cfg_value v;
        const char *why = NULL;
        char *r;

        memset(&v, 0, sizeof v);
        v.key = (char *)cases[i].def->name;
        v.text = (char *)cases[i].text;
        v.type = cases[i].type;
        v.line = 1;
        r = registry_normalise(cases[i].def, &v, &why);
        if (cases[i].want) {
            ck_assert_msg(r != NULL, "case %zu refused: %s", i, why ? why : "?");
            ck_assert_str_eq(r, cases[i].want);
        } else {
            ck_assert_msg(r == NULL, "case %zu accepted as '%s'", i, r ? r : "");
            ck_assert_ptr_nonnull(why);
            ck_assert_msg(strstr(why, cases[i].why) != NULL, "case %zu: '%s' lacks '%s'", i,
                          why, cases[i].why);
        }
        free(r);
    }
}
END_TEST

static Suite *registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("options");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, all_types_normalised);
    tcase_add_test(tc, defaults_applied);
    tcase_add_test(tc, unknown_option);
    tcase_add_test(tc, wrong_types);
    tcase_add_test(tc, bool_from_integer);
    tcase_add_test(tc, enum_not_in_choices);
    tcase_add_test(tc, malformed_duration);
    tcase_add_test(tc, missing_required);
    tcase_add_test(tc, plugin_not_found);
    tcase_add_test(tc, disabled_not_validated);
    tcase_add_test(tc, several_sources);
    tcase_add_test(tc, aggregate_value_reported_once);
    tcase_add_test(tc, secret_never_printed);
    tcase_add_test(tc, secret_references_checked);
    tcase_add_test(tc, normalise_direct);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(registry_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
