/* SPDX-License-Identifier: Apache-2.0 */
/* cli_cancel.c -- SIGINT and SIGTERM during a command's plugin calls; see
 * cli.h.
 *
 * The handler only writes: the first signal raises the flag plugins poll
 * and wakes the watcher thread through a pipe; the watcher cancels every
 * plugin call of the process (source_cancel_all(), which runs plugin code,
 * on a thread of its own) and gives the calls the grace period.  A second signal, or
 * the end of the grace period, removes the temporary output files and
 * ends the process: from the handler, with async-signal-safe calls only. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "base/ctx.h"
#include "output/outfile.h"
#include "plugin/source.h"

static volatile sig_atomic_t cancel_sig;  /* the first signal; 0: none       */
static int cancel_pipe[2] = {-1, -1};     /* handler (and end) -> watcher    */
static int cancel_on;                     /* between begin and end           */
static pthread_t cancel_th;
static int cancel_th_on;
static int64_t cancel_grace_ms;
static const cli *cancel_cli;
static const char *cancel_detail;
static struct sigaction cancel_old_int, cancel_old_term;
/* The open that dsrc runs in its own thread (cli_cancel_guard()): its
 * deadline on CLOCK_MONOTONIC in ms (-1: none), its limit and source. */
static pthread_mutex_t guard_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t guard_until = -1, guard_limit_ms;
static char guard_what[256];
/* What the handler writes after a second signal (made beforehand). */
static char cancel_again[2][320];
static size_t cancel_again_len[2];

/* The process ends now with status 128 + sig: the unfinished output goes
 * first.  Async-signal-safe. */
static void cancel_exit_now(int sig)
{
    int k = sig == SIGTERM;
    ssize_t n;

    outfile_discard_temps();
    n = write(STDERR_FILENO, cancel_again[k], cancel_again_len[k]);
    (void)n;
    _exit(128 + sig);
}

static void cancel_on_signal(int sig)
{
    int saved = errno;
    ssize_t n;

    if (cancel_sig)
        cancel_exit_now(sig);
    cancel_sig = sig;
    n = write(cancel_pipe[1], "s", 1);
    (void)n;
    errno = saved;
}

static const char *cancel_sig_name(int sig)
{
    return sig == SIGTERM ? "SIGTERM" : "SIGINT";
}

/* Wait for one byte on the pipe for at most ms (< 0: no limit): the byte,
 * or 0 when the time is over. */
static char cancel_wait(int64_t ms)
{
    struct timespec t0, t;
    int64_t left = ms;
    struct pollfd pfd = {.fd = cancel_pipe[0], .events = POLLIN};
    char b;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int rc = poll(&pfd, 1, left < 0 ? -1 : left > 1000000 ? 1000000 : (int)left);
        if (rc > 0 && read(cancel_pipe[0], &b, 1) == 1)
            return b;
        if (rc < 0 && errno != EINTR)
            return 'e'; /* cannot wait: let the command finish on its own */
        if (ms >= 0) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            left = ms - ((int64_t)(t.tv_sec - t0.tv_sec) * 1000 +
                         (t.tv_nsec - t0.tv_nsec) / 1000000);
            if (left <= 0)
                return 0;
        }
    }
}

/* Cancels every plugin call, on a thread of its own: a plugin's cancel()
 * that never returns (a client library's cancel request to a server that
 * stopped answering) must not hold up the grace period. */
static void *cancel_calls(void *arg)
{
    (void)arg;
    source_cancel_all();
    return NULL;
}

/* Cancel every plugin call from a thread of its own (source_cancel_all()
 * here when none can start). */
static void cancel_all_calls(void)
{
    pthread_attr_t attr;
    pthread_t th;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, cancel_calls, NULL) != 0)
        source_cancel_all();
    pthread_attr_destroy(&attr);
}

/* The milliseconds left to the guarded open's deadline (0 when past), or
 * -1 when no open is guarded. */
static int64_t guard_left(void)
{
    struct timespec t;
    int64_t left = -1;

    pthread_mutex_lock(&guard_mu);
    if (guard_until >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        left = guard_until - ((int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000);
        if (left < 0)
            left = 0;
    }
    pthread_mutex_unlock(&guard_mu);
    return left;
}

/* The guarded open outlived its deadline: cancel it, and when it has not
 * returned within the grace period either, end the process (its plugin
 * ignores the cancellation).  Returns 's' when a signal came meanwhile,
 * 'e' when the command ended, 0 when the open returned. */
static char guard_fire(void)
{
    char msg[1024];
    char b;

    cancel_all_calls();
    for (;;) {
        b = cancel_wait(cancel_grace_ms);
        if (b == 's' || (b != 0 && b != 'g'))
            return b;
        if (guard_left() < 0)
            return 0; /* the open returned */
        if (b == 0)
            break;
    }
    pthread_mutex_lock(&guard_mu);
    snprintf(msg, sizeof msg, "source '%s': the connection was not open after %.1f s "
             "(acquire_timeout) and its plugin did not stop within the %g s grace period; "
             "exiting with status %d", guard_what, (double)guard_limit_ms / 1000.0,
             (double)cancel_grace_ms / 1000.0, CLI_EXIT_TEMPFAIL);
    pthread_mutex_unlock(&guard_mu);
    fprintf(stderr, "%s: %s\n", cancel_cli->prog, msg);
    if (cancel_cli->json) {
        cli_note("timeout", msg, NULL);
        cli_finish(cancel_cli, NULL, CLI_EXIT_TEMPFAIL);
    }
    fflush(NULL);
    _exit(CLI_EXIT_TEMPFAIL);
}

static void *cancel_watch(void *arg)
{
    char who[600] = "", msg[1024];
    int sig;
    char b;

    (void)arg;
    for (;;) {
        b = cancel_wait(guard_left());
        if (b == 0 && guard_left() == 0)
            b = guard_fire();
        if (b == 's')
            break;
        if (b != 0 && b != 'g')
            return NULL; /* the command ended */
    }
    sig = cancel_sig;
    cancel_all_calls();
    if (cancel_wait(cancel_grace_ms) != 0)
        return NULL; /* the command ended (or a byte that is not ours) */
    /* The grace period is over: the call ignores the cancellation. */
    if (source_busy_name(who, sizeof who) != 0)
        snprintf(who, sizeof who, "a plugin call");
    snprintf(msg, sizeof msg, "interrupted; %s did not stop within the %g s grace period: "
             "its unfinished output was removed; exiting with status %d", who,
             (double)cancel_grace_ms / 1000.0, 128 + sig);
    outfile_discard_temps();
    fprintf(stderr, "%s: %s\n", cancel_cli->prog, msg);
    if (cancel_cli->json) {
        cli_note("cancelled", msg, NULL);
        cli_finish(cancel_cli, NULL, 128 + sig);
    }
    fflush(NULL);
    _exit(128 + sig);
}

void cli_cancel_begin(const cli *c, double grace_s, const char *detail)
{
    struct sigaction sa;
    int k;

    if (cancel_on)
        return;
    cancel_cli = c;
    cancel_detail = detail;
    cancel_grace_ms = grace_s >= 0 ? (int64_t)(grace_s * 1000.0)
                      : c->cfg ? c->cfg->shutdown_grace_ms : 10000;
    for (k = 0; k < 2; k++) {
        int sig = k ? SIGTERM : SIGINT;
        if (c->json)
            snprintf(cancel_again[k], sizeof cancel_again[k],
                     "%s: interrupted again (%s): exiting at once\n{\"error\": {\"status\": "
                     "\"cancelled\", \"message\": \"interrupted\", \"exit\": %d, \"retryable\": "
                     "false}}\n", c->prog, cancel_sig_name(sig), 128 + sig);
        else
            snprintf(cancel_again[k], sizeof cancel_again[k],
                     "%s: interrupted again (%s): exiting at once\n", c->prog,
                     cancel_sig_name(sig));
        cancel_again_len[k] = strlen(cancel_again[k]);
    }
    if (cancel_pipe[0] < 0 && pipe2(cancel_pipe, O_CLOEXEC) != 0)
        return; /* without a pipe, signals keep their default action */
    if (!cancel_th_on)
        cancel_th_on = pthread_create(&cancel_th, NULL, cancel_watch, NULL) == 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cancel_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &cancel_old_int);
    sigaction(SIGTERM, &sa, &cancel_old_term);
    ctx_set_signal_flag(&cancel_sig);
    cancel_on = 1;
}

void cli_cancel_end(void)
{
    ssize_t n;

    if (!cancel_on)
        return;
    if (!cancel_sig) {
        /* a signal from now on has its default action */
        sigaction(SIGINT, &cancel_old_int, NULL);
        sigaction(SIGTERM, &cancel_old_term, NULL);
    }
    /* Without a signal the watcher stays, waiting, until the process ends
     * (or serves the next cli_cancel_begin()): waiting for it to end would
     * cost the command a hand-over between threads. */
    if (cancel_th_on && cancel_sig) {
        n = write(cancel_pipe[1], "e", 1);
        (void)n;
        pthread_join(cancel_th, NULL);
        cancel_th_on = 0;
    }
    cancel_on = 0;
}

void cli_cancel_guard(void *user, int64_t ms_left)
{
    struct timespec t;
    ssize_t n;

    if (!cancel_th_on)
        return; /* no watcher: the open is not guarded */
    pthread_mutex_lock(&guard_mu);
    if (ms_left >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        guard_until = (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000 + ms_left;
        guard_limit_ms = ms_left;
        snprintf(guard_what, sizeof guard_what, "%s", user ? (const char *)user : "?");
    } else {
        guard_until = -1;
    }
    pthread_mutex_unlock(&guard_mu);
    /* The watcher learns of a deadline at once; of its end when it comes
     * (it then finds none and waits on): no wake-up for an open that
     * returns in time. */
    if (ms_left >= 0) {
        n = write(cancel_pipe[1], "g", 1);
        (void)n;
    }
}

int cli_interrupted(void)
{
    return cancel_sig;
}

int cli_interrupted_exit(const cli *c)
{
    char msg[256];
    int sig = cancel_sig;

    snprintf(msg, sizeof msg, "interrupted (%s)%s%s", cancel_sig_name(sig),
             cancel_detail ? "; " : "", cancel_detail ? cancel_detail : "");
    fprintf(stderr, "%s: %s\n", c->prog, msg);
    cli_note("cancelled", msg, NULL);
    return 128 + sig;
}
