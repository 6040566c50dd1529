/* SPDX-License-Identifier: Apache-2.0 */
/* reload.c -- see reload.h */
#include <config.h>

#include <pthread.h>

#include "isolate/isolate.h"
#include "base/log.h"
#include "metrics.h"
#include "probes.h"
#include "reload.h"

/* The diagnostics of one severity, as JSON. */
static json_t *reload_diags(const diag_list *dl, diag_severity sev)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a && i < dl->n; i++)
        if (dl->v[i].severity == sev)
            json_array_append_new(a, json_pack("{s:s?, s:i, s:s}", "file", dl->v[i].file,
                                               "line", dl->v[i].line, "message",
                                               dl->v[i].msg ? dl->v[i].msg : ""));
    return a;
}

json_t *reload_run(const char *path, int cli_target, int cli_level, generation **cur,
                   control_state *d)
{
    generation *next = NULL;
    diag_list diags = {0};
    json_t *res;
    int ok;

    log_msg(DSRC_LOG_NOTICE, NULL, NULL, "reloading %s", path);
    if ((ok = gen_load(path, *cur, &next, &diags) == 0)) {
        unit *nv = NULL, *ov;
        size_t nn = 0, on;
        gen_log_diags(&diags);
        units_build(next, d->units, d->n_units, &nv, &nn);
        pthread_mutex_lock(&d->mu);
        ov = d->units;
        on = d->n_units;
        d->units = nv;
        d->n_units = nn;
        d->cur = next;
        pthread_mutex_unlock(&d->mu);
        /* Routers not carried over are freed with their generation
         * reference. */
        units_free(ov, on);
        gen_unref(*cur);
        *cur = next;
        next = NULL;
        gen_apply_log_settings((*cur)->cfg, cli_target, cli_level);
        probes_set_limit((*cur)->cfg->probe_timeout_ms);
        isolate_reset(); /* quarantined plugin workers may start again */
        log_msg(DSRC_LOG_NOTICE, NULL, NULL, "reloaded: %zu source(s)",
                (*cur)->reg->n_sources);
        metrics_reload(1);
    } else {
        gen_log_diags(&diags);
        log_msg(DSRC_LOG_ERROR, NULL, NULL,
                "reload failed with %zu error(s); keeping the previous "
                "configuration (%zu source(s))",
                diags.n_errors, (*cur)->reg->n_sources);
        gen_unref(next);
        next = NULL;
        metrics_reload(0);
    }
    res = json_pack("{s:b, s:i, s:o, s:o}", "reloaded", ok, "sources",
                    (int)(*cur)->reg->n_sources, "errors", reload_diags(&diags, DIAG_ERROR),
                    "warnings", reload_diags(&diags, DIAG_WARNING));
    diag_free(&diags);
    return res;
}
