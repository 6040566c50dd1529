/* SPDX-License-Identifier: Apache-2.0 */
/* log.c -- see log.h */
#include <config.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <sys/uio.h>

#include "base/log.h"
#include "base/redact.h"

static const char *log_ident = "dsrc";
static log_target target = LOG_TARGET_STDERR;
static dsrc_log_level max_level = DSRC_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* -1: not decided yet (see log_stamped()); 0 or 1 once decided. */
static int stamps = -1;
static int journal_lost;

void log_init(const char *ident, log_target t, dsrc_log_level level)
{
    log_ident = ident ? ident : "dsrc";
    target = t;
    max_level = level;
    journal_lost = 0;
}

void log_set_timestamps(int on) { stamps = on; }

/* Whether stderr lines start with a time: yes unless stderr is the
 * journal's stream ($JOURNAL_STREAM names its device and inode), which
 * stamps every line itself. */
static int log_stamped(void)
{
    if (stamps < 0) {
        const char *js = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        stamps = !(js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
                   fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
                   (unsigned long long)st.st_ino == ino);
    }
    return stamps;
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

/* The last lines written on stderr (when kept) and the text not to repeat. */
#define LOG_RECENT 8
static int keep_recent;
static char *recent[LOG_RECENT];
static size_t recent_next;
static char *suppressed;

void log_keep_recent(int on)
{
    size_t i;
    pthread_mutex_lock(&log_lock);
    keep_recent = on;
    for (i = 0; !on && i < LOG_RECENT; i++) {
        free(recent[i]);
        recent[i] = NULL;
    }
    if (!on) {
        free(suppressed);
        suppressed = NULL;
    }
    pthread_mutex_unlock(&log_lock);
}

int log_recent(const char *text)
{
    size_t i;
    int found = 0;
    char *r = text ? redact_dup(text) : NULL;
    pthread_mutex_lock(&log_lock);
    for (i = 0; r && *r && i < LOG_RECENT && !found; i++)
        found = recent[i] && strstr(recent[i], r);
    pthread_mutex_unlock(&log_lock);
    free(r);
    return found;
}

void log_suppress(const char *text)
{
    char *r = text ? redact_dup(text) : NULL;
    pthread_mutex_lock(&log_lock);
    free(suppressed);
    suppressed = r && *r ? r : NULL;
    if (suppressed != r)
        free(r);
    pthread_mutex_unlock(&log_lock);
}

#ifdef HAVE_SYSTEMD
/* Whether journald's socket is there to send to. */
static int journal_socket_ok(void)
{
    struct stat st;
    return stat("/run/systemd/journal/socket", &st) == 0 && S_ISSOCK(st.st_mode);
}
#endif

/* "2024-01-31T12:00:00.123Z " on stderr when lines are stamped (under
 * log_lock). */
static void log_stamp_prefix(void)
{
    struct timeval tv;
    struct tm tm;
    char buf[32];
    time_t t;

    if (!log_stamped() || gettimeofday(&tv, NULL) != 0)
        return;
    t = tv.tv_sec;
    if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm))
        return;
    fprintf(stderr, "%s.%03dZ ", buf, (int)(tv.tv_usec / 1000));
}

static _Atomic log_forward_fn log_forward;
static _Atomic log_journal_fn log_journal;

void log_set_journal(log_journal_fn fn)
{
    atomic_store(&log_journal, fn);
}

void log_set_forward(log_forward_fn fn)
{
    atomic_store(&log_forward, fn);
}

static void log_emit(dsrc_log_level level, const char *source, const char *plugin,
                     const char *message_id, const char *fmt, va_list ap)
{
    log_forward_fn fwd;

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
    if ((fwd = atomic_load(&log_forward))) {
        fwd(level, source, plugin, msg);
        free(msg);
        return;
    }

#ifdef HAVE_SYSTEMD
    if (target == LOG_TARGET_JOURNAL) {
        /* MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, then the fields that are
         * set: DSRC_SOURCE, DSRC_PLUGIN, DSRC_RUN_ID, MESSAGE_ID */
        char *f[7] = {NULL};
        struct iovec iov[7];
        int n = 0, ok = 1, i;
        const char *who = source ? source : plugin;
        log_journal_fn send = atomic_load(&log_journal);

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
        /* No journal to write to (no writer set, or no journald running:
         * sd_journal_sendv() then drops the line and returns 0): the line
         * goes to stderr, and the first time, a line says so. */
        if (ok && (!send || !journal_socket_ok() || send(iov, n) < 0))
            ok = 0;
        for (i = 0; i < n; i++)
            free(f[i]);
        if (ok) {
            free(msg);
            return;
        }
        pthread_mutex_lock(&log_lock);
        if (!journal_lost) {
            journal_lost = 1; /* said once */
            log_stamp_prefix();
            fprintf(stderr, "%s: warning: the journal cannot be written to; logging to "
                            "stderr\n", log_ident);
        }
        pthread_mutex_unlock(&log_lock);
    }
#endif
    pthread_mutex_lock(&log_lock);
    if (suppressed && strstr(msg, suppressed)) {
        pthread_mutex_unlock(&log_lock);
        free(msg);
        return;
    }
    if (keep_recent) {
        free(recent[recent_next]);
        recent[recent_next] = strdup(msg);
        recent_next = (recent_next + 1) % LOG_RECENT;
    }
    log_stamp_prefix();
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
