/* SPDX-License-Identifier: Apache-2.0 */
/* breaker.c -- see breaker.h */
#include <config.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn/breaker.h"

struct breaker {
    char *name;
    breaker_config cfg;
    breaker_clock_fn clock;
    void *clock_user;
    pthread_mutex_t mu;

    breaker_state state;
    int consecutive;
    int level;
    int probe_out;          /* half-open: the probe is in flight           */
    int64_t open_until;
    int64_t open_for;       /* the cool-down of the last opening           */
    int64_t since;
    int64_t closed_at;      /* when it last closed; INT64_MIN: never opened */
    uint64_t opens, rejected;
    derr last;
};

static int64_t breaker_mono_ms(void *user)
{
    struct timespec ts;

    (void)user;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void breaker_config_default(breaker_config *c)
{
    c->failure_threshold = 5;
    c->base_cooldown_ms = 1000;
    c->max_cooldown_ms = 60000;
    c->stable_ms = 60000;
    c->auth_cooldown_ms = 0;
}

breaker *breaker_new(const char *name, const breaker_config *cfg, breaker_clock_fn clock, void *clock_user)
{
    breaker *b = calloc(1, sizeof *b);
    breaker_config def;

    if (!b)
        return NULL;
    if (!(b->name = strdup(name ? name : "endpoint"))) {
        free(b);
        return NULL;
    }
    breaker_config_default(&def);
    b->cfg = cfg ? *cfg : def;
    if (b->cfg.failure_threshold <= 0)
        b->cfg.failure_threshold = def.failure_threshold;
    if (b->cfg.base_cooldown_ms <= 0)
        b->cfg.base_cooldown_ms = def.base_cooldown_ms;
    if (b->cfg.max_cooldown_ms <= 0)
        b->cfg.max_cooldown_ms = def.max_cooldown_ms;
    if (b->cfg.max_cooldown_ms < b->cfg.base_cooldown_ms)
        b->cfg.max_cooldown_ms = b->cfg.base_cooldown_ms;
    if (b->cfg.stable_ms <= 0)
        b->cfg.stable_ms = b->cfg.max_cooldown_ms;
    if (b->cfg.auth_cooldown_ms < 0)
        b->cfg.auth_cooldown_ms = 0;
    b->clock = clock ? clock : breaker_mono_ms;
    b->clock_user = clock_user;
    b->closed_at = INT64_MIN;
    b->since = b->clock(b->clock_user);
    pthread_mutex_init(&b->mu, NULL);
    return b;
}

void breaker_free(breaker *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->mu);
    derr_clear(&b->last);
    free(b->name);
    free(b);
}

static int64_t cooldown(const breaker *b, int level)
{
    int64_t c = b->cfg.base_cooldown_ms;
    int i;

    for (i = 0; i < level && c < b->cfg.max_cooldown_ms; i++)
        c *= 2;
    return c < b->cfg.max_cooldown_ms ? c : b->cfg.max_cooldown_ms;
}

static void copy_err(derr *dst, const derr *src)
{
    derr_clear(dst);
    if (!src || src->status == DSRC_OK)
        return;
    derr_set(dst, src->status, "%s", src->msg ? src->msg : error_status_name(src->status));
    dst->retryable = src->retryable;
    dst->connection_broken = src->connection_broken;
    memcpy(dst->code, src->code, sizeof dst->code);
}

/* Under the lock.  auth: opened by an authentication failure. */
static void trip(breaker *b, int64_t now, int level, int auth)
{
    int64_t top = 0, c;

    /* Never grow the level past the cap: it would only delay the reset. */
    while (top < 62 && cooldown(b, (int)top) < b->cfg.max_cooldown_ms)
        top++;
    b->level = level < (int)top ? level : (int)top;
    b->state = BREAKER_OPEN;
    b->probe_out = 0;
    c = cooldown(b, b->level);
    if (auth && b->cfg.auth_cooldown_ms > c)
        c = b->cfg.auth_cooldown_ms;
    b->open_until = now + c;
    b->open_for = c;
    b->since = now;
    b->opens++;
}

int breaker_allow(breaker *b, int *probe, derr *e)
{
    int64_t now = b->clock(b->clock_user);
    int ok = 0;

    if (probe)
        *probe = 0;
    pthread_mutex_lock(&b->mu);
    switch (b->state) {
    case BREAKER_CLOSED:
        ok = 1;
        break;
    case BREAKER_OPEN:
        if (now >= b->open_until) {
            b->state = BREAKER_HALF_OPEN;
            b->since = now;
            b->probe_out = 1;
            if (probe)
                *probe = 1;
            ok = 1;
        }
        break;
    case BREAKER_HALF_OPEN:
        if (!b->probe_out) {
            b->probe_out = 1;
            if (probe)
                *probe = 1;
            ok = 1;
        }
        break;
    }
    if (!ok) {
        b->rejected++;
        if (e) {
            dsrc_status st = b->last.status != DSRC_OK ? b->last.status : DSRC_E_UNREACHABLE;
            int64_t left = b->state == BREAKER_OPEN ? b->open_until - now : 0;
            if (b->state == BREAKER_OPEN)
                derr_set(e, st,
                         "%s: circuit open after repeated failures, next attempt in %.1f s; "
                         "last error: %s",
                         b->name, (double)left / 1000.0,
                         b->last.msg ? b->last.msg : error_status_name(st));
            else
                derr_set(e, st,
                         "%s: circuit half-open, a probe is in progress; last error: %s",
                         b->name, b->last.msg ? b->last.msg : error_status_name(st));
            e->retryable = st != DSRC_E_AUTH;
            memcpy(e->code, b->last.code, sizeof e->code);
        }
    }
    pthread_mutex_unlock(&b->mu);
    return ok;
}

void breaker_success(breaker *b)
{
    int64_t now = b->clock(b->clock_user);

    pthread_mutex_lock(&b->mu);
    switch (b->state) {
    case BREAKER_HALF_OPEN:
        /* The probe worked: close, keeping the level (probation). */
        b->state = BREAKER_CLOSED;
        b->consecutive = 0;
        b->probe_out = 0;
        b->since = b->closed_at = now;
        break;
    case BREAKER_CLOSED:
        b->consecutive = 0;
        if (b->level && b->closed_at != INT64_MIN && now - b->closed_at >= b->cfg.stable_ms)
            b->level = 0;
        break;
    case BREAKER_OPEN:
        /* A call that started before the breaker opened: proves little. */
        break;
    }
    pthread_mutex_unlock(&b->mu);
}

void breaker_failure(breaker *b, const derr *e)
{
    int64_t now = b->clock(b->clock_user);
    int auth = e && e->status == DSRC_E_AUTH;

    pthread_mutex_lock(&b->mu);
    if (e && e->status != DSRC_OK)
        copy_err(&b->last, e);
    else if (b->last.status == DSRC_OK)
        derr_set(&b->last, DSRC_E_UNREACHABLE, "%s: call failed", b->name);
    switch (b->state) {
    case BREAKER_HALF_OPEN:
        b->consecutive++;
        trip(b, now, b->level + 1, auth);
        break;
    case BREAKER_CLOSED:
        /* The count is kept while open (what opened it, for the logs and
         * the reports); a success resets it.  An authentication failure
         * opens it at once. */
        if (++b->consecutive >= b->cfg.failure_threshold || auth) {
            /* Soon after a recovery: longer than last time; else from 0. */
            int level = 0;
            if (b->closed_at != INT64_MIN && now - b->closed_at < b->cfg.stable_ms)
                level = b->level + 1;
            trip(b, now, level, auth);
        }
        break;
    case BREAKER_OPEN:
        break;
    }
    pthread_mutex_unlock(&b->mu);
}

void breaker_abandon(breaker *b, int probe)
{
    if (!probe)
        return;
    pthread_mutex_lock(&b->mu);
    if (b->state == BREAKER_HALF_OPEN)
        b->probe_out = 0;
    pthread_mutex_unlock(&b->mu);
}

void breaker_get(breaker *b, breaker_info *out)
{
    int64_t now = b->clock(b->clock_user);

    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&b->mu);
    out->state = b->state;
    out->consecutive_failures = b->consecutive;
    out->level = b->level;
    out->cooldown_ms = b->state == BREAKER_OPEN ? b->open_for : cooldown(b, b->level);
    out->retry_in_ms = b->state == BREAKER_OPEN && b->open_until > now ? b->open_until - now : 0;
    out->since_ms = b->since;
    out->opens = b->opens;
    out->rejected = b->rejected;
    copy_err(&out->last_error, &b->last);
    pthread_mutex_unlock(&b->mu);
}

void breaker_set_auth_cooldown(breaker *b, int64_t ms)
{
    pthread_mutex_lock(&b->mu);
    b->cfg.auth_cooldown_ms = ms > 0 ? ms : 0;
    pthread_mutex_unlock(&b->mu);
}

void breaker_reset(breaker *b)
{
    int64_t now = b->clock(b->clock_user);

    pthread_mutex_lock(&b->mu);
    b->state = BREAKER_CLOSED;
    b->consecutive = 0;
    b->level = 0;
    b->probe_out = 0;
    b->since = now;
    b->closed_at = INT64_MIN;
    pthread_mutex_unlock(&b->mu);
}

const char *breaker_state_name(breaker_state s)
{
    switch (s) {
    case BREAKER_CLOSED:
        return "closed";
    case BREAKER_OPEN:
        return "open";
    case BREAKER_HALF_OPEN:
        return "half-open";
    }
    return "unknown";
}

int breaker_is_endpoint_failure(const derr *e)
{
    if (!e || e->status == DSRC_OK)
        return 0;
    if (e->connection_broken)
        return 1;
    switch (e->status) {
    case DSRC_E_UNREACHABLE:
    case DSRC_E_TIMEOUT:
    case DSRC_E_AUTH:
        return 1;
    default:
        return 0;
    }
}

json_t *breaker_info_json(const breaker_info *info)
{
    json_t *o = json_object();

    if (!o)
        return NULL;
    json_object_set_new(o, "state", json_string(breaker_state_name(info->state)));
    json_object_set_new(o, "consecutive_failures", json_integer(info->consecutive_failures));
    json_object_set_new(o, "level", json_integer(info->level));
    json_object_set_new(o, "cooldown_ms", json_integer((json_int_t)info->cooldown_ms));
    json_object_set_new(o, "retry_in_ms", json_integer((json_int_t)info->retry_in_ms));
    json_object_set_new(o, "opens", json_integer((json_int_t)info->opens));
    json_object_set_new(o, "rejected", json_integer((json_int_t)info->rejected));
    json_object_set_new(o, "last_error",
                        info->last_error.msg ? json_string(info->last_error.msg) : json_null());
    return o;
}
