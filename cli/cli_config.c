/* SPDX-License-Identifier: Apache-2.0 */
/* cli_config.c -- dsrc sources, dsrc check-config; see cli.h */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "cli.h"
#include "base/redact.h"
#include "plugin/source.h"
#include "table.h"

/* ------------------------------------------------------------------------ */
/* sources / check-config                                                    */

static void source_detail(const cfg_source *cs, const registry_source *s)
{
    size_t i;
    printf("name:      %s\n", cs->name);
    printf("type:      %s\n", cs->type ? cs->type : "-");
    printf("location:  %s\n", cfg_location_name(cs->location));
    printf("file:      %s:%d\n", cs->file, cs->line);
    printf("status:    %s\n", !cs->enabled ? "disabled" : s ? "valid" : "invalid");
    for (i = 0; i < cs->n_labels; i++)
        printf("label:     %s = %s\n", cs->labels[i].key, cs->labels[i].text);
    printf("connection:\n");
    if (s) {
        for (i = 0; i < s->n_options; i++)
            printf("  %-20s %s%s\n", s->options[i].def->name,
                   (s->options[i].def->flags & DSRC_OPT_SECRET)
                       ? REDACTED
                       : (s->options[i].value ? s->options[i].value : "-"),
                   s->options[i].from_default ? "  (default)" : "");
    } else {
        for (i = 0; i < cs->n_connection; i++)
            printf("  %-20s %s\n", cs->connection[i].key, REDACTED);
    }
    if (cs->cloud_provider)
        for (i = 0; i < cs->n_cloud; i++)
            printf("cloud.%-14s %s\n", cs->cloud[i].key,
                   cfg_cloud_key_is_secret(cs->cloud[i].key) ? REDACTED : cs->cloud[i].text);
    if (cs->tls_mode)
        printf("tls:       mode %s%s%s%s\n", cs->tls_mode,
               cs->tls_line ? "" : " (no tls group: the location's default)",
               cs->tls_ca ? ", ca " : "", cs->tls_ca ? cs->tls_ca : "");
    for (i = 0; i < cs->n_replica_hosts; i++)
        printf("replica:   %s\n", cs->replica_hosts[i]);
    printf("pool:      max_size %d, min_idle %d, acquire_timeout %" PRId64 "ms\n",
           cs->pool.max_size, cs->pool.min_idle, cs->pool.acquire_timeout_ms);
    if (cs->schedule_discover)
        printf("schedule:  discover \"%s\"\n", cs->schedule_discover);
    if (cs->schedule_health)
        printf("schedule:  health \"%s\"\n", cs->schedule_health);
    for (i = 0; i < cs->n_fetch; i++)
        printf("fetch:     %s (%s%s%s)\n", cs->fetch[i].item,
               cs->fetch[i].format ? cs->fetch[i].format : "csv",
               cs->fetch[i].cursor_field ? ", cursor " : "",
               cs->fetch[i].cursor_field ? cs->fetch[i].cursor_field : "");
}

int cli_cmd_sources(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {CLI_COMMON_LONGS, {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("sources");
    int rc = 0, i;
    size_t k;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (argc - i > 1)
        return cli_usage_error(c, cmd, "too many arguments");
    if ((rc = cli_load_config(c, 0)))
        return rc;
    if (i < argc) {
        const cfg_source *cs = cfg_find_source(c->cfg, argv[i]);
        if (!cs) {
            fprintf(stderr, "%s: no source named '%s'\n", c->prog, argv[i]);
            return CLI_EXIT_FAIL;
        }
        if (c->json)
            cli_json_print(registry_source_json(cs, cli_valid_source(c, cs)));
        else
            source_detail(cs, cli_valid_source(c, cs));
        return CLI_EXIT_OK;
    }
    if (c->json) {
        json_t *arr = json_array();
        for (k = 0; k < c->cfg->n_sources; k++)
            json_array_append_new(arr, registry_source_json(&c->cfg->sources[k],
                                                   cli_valid_source(c, &c->cfg->sources[k])));
        cli_json_print(arr);
    } else {
        const char *hdr[] = {"name", "type", "location", "status", "endpoint", "labels"};
        table *t = table_new(6, hdr);
        if (!t)
            return CLI_EXIT_FAIL;
        for (k = 0; k < c->cfg->n_sources; k++) {
            const cfg_source *cs = &c->cfg->sources[k];
            const registry_source *s = cli_valid_source(c, cs);
            char labels[256] = "", endpoint[256];
            size_t len = 0, j;
            const char *host = NULL, *port = NULL, *path = NULL;
            for (j = 0; j < cs->n_labels; j++) {
                int w = snprintf(labels + len, sizeof labels - len, "%s%s=%s", j ? "," : "",
                                 cs->labels[j].key, cs->labels[j].text);
                if (w < 0 || (size_t)w >= sizeof labels - len)
                    break;
                len += (size_t)w;
            }
            for (j = 0; s && j < s->n_options; j++) {
                const registry_option *o = &s->options[j];
                if (o->def->flags & DSRC_OPT_SECRET)
                    continue;
                if (strcmp(o->def->name, "host") == 0) host = o->value;
                else if (strcmp(o->def->name, "port") == 0) port = o->value;
                else if (strcmp(o->def->name, "path") == 0 || strcmp(o->def->name, "dir") == 0 ||
                         strcmp(o->def->name, "endpoint") == 0) path = o->value;
            }
            if (host)
                snprintf(endpoint, sizeof endpoint, "%s%s%s%s", host, port ? ":" : "",
                         port ? port : "",
                         cs->n_replica_hosts ? " (+replicas)" : "");
            else
                snprintf(endpoint, sizeof endpoint, "%s", path ? path : "-");
            const char *row[] = {cs->name, cs->type ? cs->type : "-",
                                 cfg_location_name(cs->location),
                                 !cs->enabled ? "disabled" : s ? "ok" : "invalid", endpoint,
                                 len ? labels : "-"};
            table_add(t, row);
        }
        table_print(t, stdout);
        table_free(t);
    }
    if (c->diags.n_errors)
        fprintf(stderr, "%s: the configuration has %zu error(s); run '%s check-config'\n",
                c->prog, c->diags.n_errors, c->prog);
    return CLI_EXIT_OK;
}

int cli_cmd_check_config(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {CLI_COMMON_LONGS, {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("check-config");
    int rc = 0, i;
    size_t k;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (i < argc)
        return cli_usage_error(c, cmd, "unexpected argument");
    rc = cli_load_config(c, 0);
    if (rc && rc != CLI_EXIT_CONFIG)
        return rc;
    if (c->json) {
        json_t *o = json_object(), *arr = json_array();
        for (k = 0; k < c->diags.n; k++) {
            json_t *d = json_object();
            json_object_set_new(d, "severity", cli_jstr(c->diags.v[k].severity == DIAG_ERROR
                                                               ? "error" : "warning"));
            json_object_set_new(d, "file", cli_jstr(c->diags.v[k].file));
            json_object_set_new(d, "line", json_integer(c->diags.v[k].line));
            json_object_set_new(d, "message", cli_jstr(c->diags.v[k].msg));
            json_array_append_new(arr, d);
        }
        json_object_set_new(o, "valid", json_boolean(c->diags.n_errors == 0 && c->cfg));
        json_object_set_new(o, "errors", json_integer((json_int_t)c->diags.n_errors));
        json_object_set_new(o, "sources", json_integer(c->cfg ? (json_int_t)c->cfg->n_sources : 0));
        json_object_set_new(o, "diagnostics", arr);
        if (c->diags.n_errors || !c->cfg) {
            char msg[512];
            json_t *err;
            snprintf(msg, sizeof msg, "%s: %zu error(s)", c->conf_path, c->diags.n_errors);
            cli_note("config", msg, NULL);
            err = cli_error_json(cmd->name, CLI_EXIT_CONFIG);
            json_object_update(o, err);
            json_decref(err);
        }
        cli_json_print(o);
    } else if (rc == 0) {
        diag_print(&c->diags, stderr);
    }
    if (c->diags.n_errors || !c->cfg) {
        if (!c->json)
            fprintf(stderr, "%s: %s: %zu error(s)\n", c->prog, c->conf_path, c->diags.n_errors);
        return CLI_EXIT_CONFIG;
    }
    if (!c->json)
        printf("%s: configuration OK (%zu source(s))\n", c->conf_path, c->cfg->n_sources);
    return CLI_EXIT_OK;
}
