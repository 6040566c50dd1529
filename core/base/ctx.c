/* SPDX-License-Identifier: Apache-2.0 */
/* ctx.c -- the call context and the host services table (see ctx.h). */
#include <config.h>

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "base/ctx.h"
#include "base/log.h"
#include "secret/identity.h"
#include "secret/secret.h"
#include "secret/secret.h"

/* The flag every ctx created from now on watches (set from a signal
 * handler).  An atomic pointer: ctx_set_signal_flag() may run while worker
 * threads create contexts. */
static const volatile sig_atomic_t *_Atomic ctx_signal_flag;

void ctx_init(struct dsrc_ctx *ctx, const char *source, const char *plugin,
              atomic_int *cancel_flag)
{
    ctx->source = source ? source : "";
    ctx->plugin = plugin ? plugin : "";
    ctx->cancel_flag = cancel_flag;
    ctx->signal_flag = atomic_load(&ctx_signal_flag);
    ctx->cancel_fd = -1;
    ctx->cfg = NULL;
    ctx->key_file = NULL;
    ctx->aws_sign_fwd = NULL;
    ctx->bearer_fwd = NULL;
}

void ctx_set_signal_flag(const volatile sig_atomic_t *flag)
{
    atomic_store(&ctx_signal_flag, flag);
}

int ctx_signalled(void)
{
    const volatile sig_atomic_t *flag = atomic_load(&ctx_signal_flag);
    return flag && *flag;
}

/* A plugin may pass any number as a level: clamp it to the known range so a
 * line is never lost or written with a meaningless priority. */
static dsrc_log_level ctx_clamp_level(dsrc_log_level level)
{
    if ((int)level < (int)DSRC_LOG_ERROR)
        return DSRC_LOG_ERROR;
    if ((int)level > (int)DSRC_LOG_DEBUG)
        return DSRC_LOG_DEBUG;
    return level;
}

static DSRC_PRINTF(3, 4) void ctx_log(const dsrc_ctx *ctx, dsrc_log_level level,
                                      const char *fmt, ...)
{
    va_list ap;
    const char *source = NULL, *plugin = NULL;

    if (!fmt)
        return;
    if (ctx) {
        source = ctx->source && *ctx->source ? ctx->source : NULL;
        plugin = ctx->plugin && *ctx->plugin ? ctx->plugin : NULL;
    }
    va_start(ap, fmt);
    log_vmsg(ctx_clamp_level(level), source, plugin, fmt, ap);
    va_end(ap);
}

static int ctx_is_cancelled(const dsrc_ctx *ctx)
{
    if (!ctx)
        return 0;
    if (ctx->cancel_flag && atomic_load(ctx->cancel_flag))
        return 1;
    if (ctx->signal_flag && *ctx->signal_flag)
        return 1;
    return 0;
}

static const char *ctx_source_name(const dsrc_ctx *ctx)
{
    return ctx && ctx->source ? ctx->source : "";
}

static int ctx_cancel_fd(const dsrc_ctx *ctx)
{
    return ctx ? ctx->cancel_fd : -1;
}

static dsrc_status ctx_aws_sign(const dsrc_ctx *ctx, const dsrc_aws_request *req,
                                dsrc_error *err)
{
    derr e = {0};
    dsrc_status st;

    if (ctx && !ctx->cfg && ctx->aws_sign_fwd)
        return ctx->aws_sign_fwd(ctx, req, err);
    if (!ctx || !ctx->cfg)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "AWS signing needs a call made for a source");
    st = identity_aws_sign(ctx->cfg, ctx->key_file, req, &e);
    if (st != DSRC_OK)
        dsrc_error_set(err, st, e.retryable, NULL, "%s", e.msg ? e.msg : "AWS signing failed");
    derr_clear(&e);
    return st;
}

static dsrc_status ctx_bearer_token(const dsrc_ctx *ctx, const char *resource, char *buf,
                                    size_t size, int64_t *expires, dsrc_error *err)
{
    identity_info info;
    derr e = {0};
    char *tok = NULL;
    dsrc_status st;
    size_t n;

    if (buf && size)
        buf[0] = '\0';
    if (ctx && !ctx->cfg && ctx->bearer_fwd)
        return ctx->bearer_fwd(ctx, resource, buf, size, expires, err);
    if (!ctx || !ctx->cfg)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "a bearer token needs a call made for a source");
    if (!buf)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "bearer_token: no buffer");
    st = identity_bearer(ctx->cfg, ctx->key_file, resource, &tok, &info, &e);
    if (st == DSRC_OK && (n = strlen(tok)) >= size) {
        st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                            "bearer_token: the token needs a buffer of %zu bytes, not %zu",
                            n + 1, size);
    } else if (st == DSRC_OK) {
        memcpy(buf, tok, n + 1);
        if (expires)
            *expires = (int64_t)info.expires;
    } else {
        dsrc_error_set(err, st, e.retryable, e.code[0] ? e.code : NULL, "%s",
                       e.msg ? e.msg : "no bearer token");
    }
    secret_free(tok);
    derr_clear(&e);
    return st;
}

static const dsrc_host ctx_host_table = {
    .struct_size = sizeof(dsrc_host),
    .abi_version = DSRC_ABI_VERSION,
    .log = ctx_log,
    .is_cancelled = ctx_is_cancelled,
    .source_name = ctx_source_name,
    .cancel_fd = ctx_cancel_fd,
    .aws_sign = ctx_aws_sign,
    .bearer_token = ctx_bearer_token,
};

const dsrc_host *ctx_host(void)
{
    return &ctx_host_table;
}
