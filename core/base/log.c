/* SPDX-License-Identifier: Apache-2.0 */
/* log.c -- see log.h */
#include <config.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#endif

#include "base/log.h"
#include "base/redact.h"

static const char *log_ident = "dsrc";
static log_target target = LOG_TARGET_STDERR;
static dsrc_log_level max_level = DSRC_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(const char *ident, log_target t, dsrc_log_level level)
{
    log_ident = ident ? ident : "dsrc";
    target = t;
    max_level = level;
}

void log_set_level(dsrc_log_level level) { max_level = level; }
dsrc_log_level log_get_level(void) { return max_level; }

static const char *const level_names[] = {
    [DSRC_LOG_ERROR] = "error",   [DSRC_LOG_WARNING] = "warning",
    [DSRC_LOG_NOTICE] = "notice", [DSRC_LOG_INFO] = "info",
    [DSRC_LOG_DEBUG] = "debug",
};

int log_level_parse(const char *name)
{
    int i;
    if (!name)
        return -1;
    for (i = DSRC_LOG_ERROR; i <= DSRC_LOG_DEBUG; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    if (strcasecmp(name, "warn") == 0)
        return DSRC_LOG_WARNING;
    return -1;
}

const char *log_level_name(dsrc_log_level level)
{
    if (level < DSRC_LOG_ERROR || level > DSRC_LOG_DEBUG)
        return "unknown";
    return level_names[level];
}

int log_target_parse(const char *name)
{
    if (!name)
        return -1;
    if (strcmp(name, "stderr") == 0)
        return LOG_TARGET_STDERR;
#ifdef HAVE_SYSTEMD
    if (strcmp(name, "journal") == 0)
        return LOG_TARGET_JOURNAL;
#endif
    return -1;
}

/* The run this thread works for: its messages carry its id. */
static _Thread_local int64_t log_run_id;

void log_set_run(int64_t id)
{
    log_run_id = id;
}

static void log_emit(dsrc_log_level level, const char *source, const char *plugin,
                     const char *message_id, const char *fmt, va_list ap)
{
    char *raw = NULL, *msg;

    if (level > max_level)
        return;
    if (vasprintf(&raw, fmt, ap) < 0)
        return;
    msg = redact_dup(raw);
    free(raw);
    if (!msg)
        return;
    if (source && !*source)
        source = NULL;

#ifdef HAVE_SYSTEMD
    if (target == LOG_TARGET_JOURNAL) {
        /* MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, then the fields that are
         * set: DSRC_SOURCE, DSRC_PLUGIN, DSRC_RUN_ID, MESSAGE_ID */
        char *f[7] = {NULL};
        struct iovec iov[7];
        int n = 0, ok = 1, i;
        const char *who = source ? source : plugin;

        ok &= (who ? asprintf(&f[n], "MESSAGE=%s: %s", who, msg)
                   : asprintf(&f[n], "MESSAGE=%s", msg)) >= 0;
        n++;
        ok &= asprintf(&f[n++], "PRIORITY=%d", (int)level) >= 0;
        ok &= asprintf(&f[n++], "SYSLOG_IDENTIFIER=%s", log_ident) >= 0;
        if (source)
            ok &= asprintf(&f[n++], "DSRC_SOURCE=%s", source) >= 0;
        if (plugin)
            ok &= asprintf(&f[n++], "DSRC_PLUGIN=%s", plugin) >= 0;
        if (log_run_id > 0)
            ok &= asprintf(&f[n++], "DSRC_RUN_ID=%lld", (long long)log_run_id) >= 0;
        if (message_id)
            ok &= asprintf(&f[n++], "MESSAGE_ID=%s", message_id) >= 0;
        for (i = 0; i < n; i++) {
            iov[i].iov_base = f[i];
            iov[i].iov_len = f[i] ? strlen(f[i]) : 0;
        }
        if (ok)
            sd_journal_sendv(iov, n);
        for (i = 0; i < n; i++)
            free(f[i]);
        free(msg);
        return;
    }
#endif
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s: %s: ", log_ident, log_level_name(level));
    if (log_run_id > 0)
        fprintf(stderr, "run %lld: ", (long long)log_run_id);
    if (source && plugin)
        fprintf(stderr, "[%s/%s] ", source, plugin);
    else if (source)
        fprintf(stderr, "[%s] ", source);
    else if (plugin)
        fprintf(stderr, "[%s] ", plugin);
    fprintf(stderr, "%s\n", msg);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
    free(msg);
}

void log_vmsg(dsrc_log_level level, const char *source, const char *plugin,
              const char *fmt, va_list ap)
{
    log_emit(level, source, plugin, NULL, fmt, ap);
}

void log_msg_id(dsrc_log_level level, const char *source, const char *plugin,
                const char *message_id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit(level, source, plugin, message_id, fmt, ap);
    va_end(ap);
}

void log_msg(dsrc_log_level level, const char *source, const char *plugin,
             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, source, plugin, fmt, ap);
    va_end(ap);
}
