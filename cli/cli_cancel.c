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

static void *cancel_watch(void *arg)
{
    char who[600] = "", msg[1024];
    pthread_attr_t attr;
    pthread_t th;
    int sig;

    (void)arg;
    if (cancel_wait(-1) != 's')
        return NULL;
    sig = cancel_sig;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, cancel_calls, NULL) != 0)
        source_cancel_all();
    pthread_attr_destroy(&attr);
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
    if (cancel_th_on) {
        n = write(cancel_pipe[1], "e", 1);
        (void)n;
        pthread_join(cancel_th, NULL);
        cancel_th_on = 0;
    }
    cancel_on = 0;
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
