/* SPDX-License-Identifier: Apache-2.0 */
/* cli_plugins.c -- dsrc plugins; see cli.h */
#include <config.h>

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "table.h"

/* ------------------------------------------------------------------------ */
/* plugins                                                                   */

typedef struct plugins_state {
    table *t;
    json_t *arr;
    size_t refused;
} plugins_state;

static void plugins_cb(void *user, const char *name, const char *path, loader_plugin *p,
                       const derr *e)
{
    plugins_state *ps = user;
    char caps[128], abi[32];

    if (!p) {
        ps->refused++;
        fprintf(stderr, "dsrc: warning: %s\n", e && e->msg ? e->msg : path);
        if (ps->arr) {
            json_t *o = json_object();
            json_object_set_new(o, "name", cli_jstr(name));
            json_object_set_new(o, "path", cli_jstr(path));
            json_object_set_new(o, "error", cli_jstr(e && e->msg ? e->msg : "refused"));
            json_array_append_new(ps->arr, o);
        }
        return;
    }
    const dsrc_driver *d = loader_driver(p);
    const dsrc_abi_info *ai = loader_abi(p);
    cli_caps_string(d->capabilities, caps, sizeof caps);
    snprintf(abi, sizeof abi, "%u.%u", ai->abi_major, ai->abi_minor);
    if (ps->arr) {
        json_t *o = json_object();
        json_object_set_new(o, "name", cli_jstr(d->name));
        json_object_set_new(o, "version", cli_jstr(d->version));
        json_object_set_new(o, "abi", cli_jstr(abi));
        json_object_set_new(o, "capabilities", cli_caps_json(d->capabilities));
        json_object_set_new(o, "path", cli_jstr(path));
        json_object_set_new(o, "description", cli_jstr(d->description));
        json_array_append_new(ps->arr, o);
    } else {
        const char *row[] = {d->name, d->version ? d->version : "-", abi, caps,
                             d->description ? d->description : "-", path};
        table_add(ps->t, row);
    }
}

/* An option's limits as one line ("1..65535", ">= 0 ms", "a DNS name"), or
 * "-" when it has none. */
static const char *limit_text(const dsrc_option *o, const dsrc_option_limit *l, char *buf,
                              size_t size)
{
    const char *unit = o->type == DSRC_OPT_DURATION ? " ms" : "";
    unsigned f = l ? l->flags & (DSRC_LIMIT_MIN | DSRC_LIMIT_MAX) : 0;

    if (!l || (!f && !l->pattern))
        return "-";
    if (l->pattern)
        snprintf(buf, size, "%s%s%s", l->pattern_doc ? "" : "/",
                 l->pattern_doc ? l->pattern_doc : l->pattern, l->pattern_doc ? "" : "/");
    else if (f == (DSRC_LIMIT_MIN | DSRC_LIMIT_MAX))
        snprintf(buf, size, "%" PRId64 "..%" PRId64 "%s", l->min, l->max, unit);
    else if (f == DSRC_LIMIT_MIN)
        snprintf(buf, size, ">= %" PRId64 "%s", l->min, unit);
    else
        snprintf(buf, size, "<= %" PRId64 "%s", l->max, unit);
    return buf;
}

/* The same as a JSON object (min, max, pattern, pattern_doc as they
 * apply), or NULL when the option has none. */
static json_t *limit_json(const dsrc_option_limit *l)
{
    json_t *j;

    if (!l || (!(l->flags & (DSRC_LIMIT_MIN | DSRC_LIMIT_MAX)) && !l->pattern))
        return NULL;
    j = json_object();
    if (l->flags & DSRC_LIMIT_MIN)
        json_object_set_new(j, "min", json_integer(l->min));
    if (l->flags & DSRC_LIMIT_MAX)
        json_object_set_new(j, "max", json_integer(l->max));
    if (l->pattern)
        json_object_set_new(j, "pattern", cli_jstr(l->pattern));
    if (l->pattern_doc)
        json_object_set_new(j, "pattern_doc", cli_jstr(l->pattern_doc));
    return j;
}

static int plugin_options(cli *c, const char *name)
{
    loader_plugin *p;
    derr e = {0};
    const dsrc_option *o;

    if (loader_get(c->plugins, name, &p, &e) != DSRC_OK) {
        cli_err_print(c, &e);
        derr_clear(&e);
        return CLI_EXIT_FAIL;
    }
    const dsrc_driver *d = loader_driver(p);
    if (c->json) {
        json_t *arr = json_array();
        for (o = d->options; o && o->name; o++) {
            json_t *j = json_object();
            json_object_set_new(j, "name", cli_jstr(o->name));
            json_object_set_new(j, "type", cli_jstr(cli_opt_type_name(o->type)));
            json_object_set_new(j, "required", json_boolean(o->flags & DSRC_OPT_REQUIRED));
            json_object_set_new(j, "secret", json_boolean(o->flags & DSRC_OPT_SECRET));
            json_object_set_new(j, "default", cli_jstr(o->default_value));
            if (o->choices)
                json_object_set_new(j, "choices", cli_jstr(o->choices));
            json_t *lim = limit_json(loader_option_limit(p, o->name));
            if (lim)
                json_object_set_new(j, "limits", lim);
            json_object_set_new(j, "doc", cli_jstr(o->doc));
            json_array_append_new(arr, j);
        }
        cli_json_print(arr);
        return CLI_EXIT_OK;
    }
    const char *hdr[] = {"option", "type",   "limits",
                         "required", "default", "secret", "description"};
    table *t = table_new(7, hdr);
    if (!t)
        return CLI_EXIT_FAIL;
    for (o = d->options; o && o->name; o++) {
        char type[160], limits[160];
        if (o->type == DSRC_OPT_ENUM && o->choices)
            snprintf(type, sizeof type, "enum(%s)", o->choices);
        else
            snprintf(type, sizeof type, "%s", cli_opt_type_name(o->type));
        const char *row[] = {o->name, type,
                             limit_text(o, loader_option_limit(p, o->name), limits, sizeof limits),
                             (o->flags & DSRC_OPT_REQUIRED) ? "yes" : "no",
                             o->default_value ? o->default_value : "-",
                             (o->flags & DSRC_OPT_SECRET) ? "yes" : "no",
                             o->doc ? o->doc : "-"};
        table_add(t, row);
    }
    printf("%s %s: %s\n\n", d->name, d->version ? d->version : "",
           d->description ? d->description : "");
    table_print(t, stdout);
    table_free(t);
    return CLI_EXIT_OK;
}

static int plugins_opt(cli *c, int opt, const char *arg, void *user)
{
    (void)c;
    if (opt == 'o')
        *(const char **)user = arg;
    return 0;
}

int cli_cmd_plugins(cli *c, int argc, char **argv);
int cli_cmd_plugins(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {
        CLI_COMMON_LONGS, {"options", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("plugins");
    const char *options = NULL;
    plugins_state ps = {0};
    int rc = 0, i;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "ho:", longs, plugins_opt, &options, &rc)) < 0)
        return rc;
    if (i < argc)
        return cli_usage_error(c, cmd, "unexpected argument");
    if ((rc = cli_load_config(c, 1)))
        return rc;
    if (options)
        return plugin_options(c, options);
    if (c->json) {
        ps.arr = json_array();
    } else {
        const char *hdr[] = {"name", "version", "abi", "capabilities", "description", "path"};
        if (!(ps.t = table_new(6, hdr)))
            return CLI_EXIT_FAIL;
    }
    size_t n = loader_scan(c->plugins, plugins_cb, &ps);
    if (ps.arr) {
        cli_json_print(ps.arr);
    } else {
        if (table_rows(ps.t))
            table_print(ps.t, stdout);
        table_free(ps.t);
    }
    if (n == 0) {
        const char *const *dirs;
        size_t nd = loader_dirs(c->plugins, &dirs), k;
        fprintf(stderr, "%s: no plugins found in", c->prog);
        for (k = 0; k < nd; k++)
            fprintf(stderr, "%s %s", k ? "," : "", dirs[k]);
        fputc('\n', stderr);
        return CLI_EXIT_FAIL;
    }
    return ps.refused ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
