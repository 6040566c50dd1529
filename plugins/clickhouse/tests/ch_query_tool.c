/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ch_query_tool.c -- run one query on a source through the host's
 * source_query(), for the clickhouse tests:
 *
 *   ch_query_tool DSRCD.CONF SOURCE SQL [-p VALUE | -n]... [-l LIMIT]
 *                 [-t TIMEOUT_MS]
 *
 * -p binds a parameter, -n a NULL one.  Prints the schema (one line of
 * "name:type" fields) and the rows as tab-separated text (NULL as \N),
 * then exits 0; on failure prints "status: message" on stderr and exits
 * 10 + the status.
 */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/error.h"
#include "config/config.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "plugin/source.h"

static int cq_schema(void *user, const dsrc_column *cols, size_t n)
{
    size_t i;

    (void)user;
    for (i = 0; i < n; i++)
        printf("%s%s:%d", i ? "\t" : "", cols[i].name, (int)cols[i].type);
    printf("\n");
    return 0;
}

static int cq_row(void *user, const dsrc_cell *cells, size_t n)
{
    size_t i;

    (void)user;
    for (i = 0; i < n; i++) {
        const dsrc_cell *c = &cells[i];
        if (i)
            putchar('\t');
        switch (c->type) {
        case DSRC_T_NULL:
            fputs("\\N", stdout);
            break;
        case DSRC_T_INT64:
            printf("%" PRId64, c->v.i);
            break;
        case DSRC_T_DOUBLE:
            printf("%.17g", c->v.d);
            break;
        case DSRC_T_BOOL:
            fputs(c->v.b ? "true" : "false", stdout);
            break;
        default:
            fwrite(c->v.s.ptr, 1, c->v.s.len, stdout);
            break;
        }
    }
    putchar('\n');
    return 0;
}

int main(int argc, char **argv)
{
    const char **params;
    size_t n_params = 0;
    dsrc_query_req req;
    dsrc_row_sink sink;
    diag_list diags;
    cfg_config *cfg;
    loader_set *plugins;
    registry *reg;
    const registry_source *s;
    source_conn *c = NULL;
    derr e = {0};
    dsrc_status st;
    int opt;

    if (argc < 4) {
        fprintf(stderr, "usage: ch_query_tool CONF SOURCE SQL [-p V | -n]... [-l N] [-t MS]\n");
        return 2;
    }
    params = calloc((size_t)argc, sizeof *params);
    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.text = argv[3];
    req.limit = -1;
    optind = 4;
    while ((opt = getopt(argc, argv, "p:nl:t:")) != -1) {
        switch (opt) {
        case 'p': params[n_params++] = optarg; break;
        case 'n': params[n_params++] = NULL; break;
        case 'l': req.limit = strtoll(optarg, NULL, 10); break;
        case 't': req.timeout_ms = strtoll(optarg, NULL, 10); break;
        default: return 2;
        }
    }
    req.params = params;
    req.n_params = n_params;
    memset(&diags, 0, sizeof diags);
    cfg = cfg_load(argv[1], &diags);
    if (!cfg || diags.n_errors) {
        fprintf(stderr, "ch_query_tool: cannot load %s\n", argv[1]);
        return 2;
    }
    plugins = loader_new((const char *const *)cfg->plugin_dirs, cfg->n_plugin_dirs);
    reg = plugins ? registry_build(cfg, plugins, &diags) : NULL;
    s = reg ? registry_find(reg, argv[2]) : NULL;
    if (!s) {
        fprintf(stderr, "ch_query_tool: no source '%s'\n", argv[2]);
        return 2;
    }
    st = source_open(s, 0, &c, &e);
    if (st == DSRC_OK) {
        memset(&sink, 0, sizeof sink);
        sink.struct_size = sizeof sink;
        sink.schema = cq_schema;
        sink.row = cq_row;
        st = source_query(c, &req, &sink, NULL, &e);
        fflush(stdout);
        source_close(c);
    }
    if (st != DSRC_OK)
        fprintf(stderr, "%s: %s\n", error_status_name(st), e.msg ? e.msg : "");
    derr_clear(&e);
    registry_free(reg);
    loader_free(plugins);
    cfg_free(cfg);
    diag_free(&diags);
    free(params);
    return st == DSRC_OK ? 0 : 10 + (int)st;
}
