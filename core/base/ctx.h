/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctx.h -- the call context handed to plugins (struct dsrc_ctx) and the host
 * services table (dsrc_host).
 *
 * A ctx is owned by the code making the call, usually on its stack, and lives
 * for the duration of one plugin call.  Cancellation: the flags may be set
 * from any thread (or a signal handler); plugins poll them through
 * host->is_cancelled(), or wait on host->cancel_fd(): the descriptor of the
 * source_conn the call runs on (core/plugin/source.h), made readable by
 * source_cancel().  host->aws_sign() signs with the credentials of the
 * ctx's source (cfg), through secret/identity.h.
 */
#ifndef DSRC_CORE_CTX_H
#define DSRC_CORE_CTX_H

#include <signal.h>
#include <stdatomic.h>
#include <dsrc/plugin.h>

struct dsrc_ctx {
    const char *source;          /* never NULL ("" for plugin-wide calls)  */
    const char *plugin;          /* never NULL                             */
    atomic_int *cancel_flag;     /* shared flag, may be NULL               */
    const volatile sig_atomic_t *signal_flag; /* e.g. set by SIGINT; NULL */
    int cancel_fd;               /* readable once cancelled; -1: none       */
    const struct cfg_source *cfg; /* the source, for aws_sign(); NULL: none */
    const char *key_file;        /* its fernet key file (may be NULL)       */
    /* Without cfg: who signs instead (a plugin worker asks its host). */
    dsrc_status (*aws_sign_fwd)(const struct dsrc_ctx *ctx, const dsrc_aws_request *req,
                                dsrc_error *err);
    /* Likewise for bearer_token(). */
    dsrc_status (*bearer_fwd)(const struct dsrc_ctx *ctx, const char *resource, char *buf,
                              size_t size, int64_t *expires, dsrc_error *err);
};

struct cfg_source;

/* Fill a ctx (without a cancel descriptor: cancel_fd -1, nor a source:
 * cfg NULL). */
void ctx_init(struct dsrc_ctx *ctx, const char *source, const char *plugin,
              atomic_int *cancel_flag);

/* The host services table passed to every plugin's init. */
const dsrc_host *ctx_host(void);

/* Make every ctx created afterwards also watch `flag` (set from a signal
 * handler).  NULL to stop. */
void ctx_set_signal_flag(const volatile sig_atomic_t *flag);

/* 1 when the flag set by ctx_set_signal_flag() is raised. */
int ctx_signalled(void);

#endif
