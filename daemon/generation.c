/* SPDX-License-Identifier: Apache-2.0 */
/* generation.c -- see generation.h */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "isolate/isolate.h"
#include "generation.h"
#include "base/log.h"
#include "plugin/loader.h"

/* A plugin set shared by the generations loaded from the same plugin
 * directories. */
struct plugset {
    loader_set *set;
    atomic_int refs;
};

static void plugset_unref(plugset *p)
{
    if (p && --p->refs == 0) {
        loader_free(p->set);
        free(p);
    }
}

static void gen_free(generation *g)
{
    if (!g)
        return;
    registry_free(g->reg);
    plugset_unref(g->plugins);
    cfg_free(g->cfg);
    free(g);
}

loader_set *gen_plugin_set(const generation *g)
{
    return g->plugins->set;
}

void gen_unref(generation *g)
{
    if (g && --g->refs == 0)
        gen_free(g);
}

static int same_dirs(const cfg_config *a, const cfg_config *b)
{
    size_t i;
    if (a->n_plugin_dirs != b->n_plugin_dirs)
        return 0;
    for (i = 0; i < a->n_plugin_dirs; i++)
        if (strcmp(a->plugin_dirs[i], b->plugin_dirs[i]) != 0)
            return 0;
    return 1;
}

int gen_load(const char *path, const generation *reuse, generation **out,
                    diag_list *diags)
{
    generation *g = calloc(1, sizeof *g);

    *out = g;
    if (!g)
        return -1;
    g->refs = 1;
    g->cfg = cfg_load(path, diags);
    if (!g->cfg) {
        if (!diags->n)
            diag_error(diags, path, 0, "cannot read the configuration");
        return -1;
    }
    if (reuse && reuse->plugins && same_dirs(reuse->cfg, g->cfg)) {
        g->plugins = reuse->plugins;
        g->plugins->refs++;
    } else {
        if (!(g->plugins = calloc(1, sizeof *g->plugins)))
            return -1;
        g->plugins->refs = 1;
        g->plugins->set = loader_new((const char *const *)g->cfg->plugin_dirs,
                                 g->cfg->n_plugin_dirs);
        if (!g->plugins->set)
            return -1;
    }
    g->reg = registry_build(g->cfg, g->plugins->set, diags);
    if (!g->reg)
        return -1;
    isolate_set_grace(g->cfg->shutdown_grace_ms / 2);
    isolate_set_memory_max(g->cfg->isolation_memory_max);
    isolate_set_syscall_filter(g->cfg->isolation_syscall_filter);
    return diags->n_errors ? -1 : 0;
}

void gen_log_diags(const diag_list *d)
{
    size_t i;
    for (i = 0; i < d->n; i++) {
        const diag *x = &d->v[i];
        log_msg(x->severity == DIAG_ERROR ? DSRC_LOG_ERROR : DSRC_LOG_WARNING, NULL, NULL,
                "%s:%d: %s", x->file ? x->file : "?", x->line, x->msg ? x->msg : "");
    }
}

void gen_apply_log_settings(const cfg_config *cfg, int cli_target, int cli_level)
{
    if (cli_level < 0 && cfg->log_level)
        log_set_level(cfg->log_level);
    if (cli_target < 0 && cfg->log_target >= 0)
        log_init("dsrcd", (log_target)cfg->log_target,
                 cli_level >= 0 ? (dsrc_log_level)cli_level
                                : (cfg->log_level ? cfg->log_level : log_get_level()));
}
