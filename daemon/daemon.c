/* SPDX-License-Identifier: Apache-2.0 */
/* daemon.c -- see daemon.h */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <sys/uio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#endif

#include "api/api.h"
#include "config/config.h"
#include "base/ctx.h"
#include "control.h"
#include "daemon.h"
#include "generation.h"
#include "metrics.h"
#include "probes.h"
#include "plugin/srcedit.h"
#include "reload.h"
#include "scheduler.h"
#include "units.h"
#include "base/diag.h"
#include "api/instance.h"
#include "plugin/loader.h"
#include "base/log.h"
#include "secret/identity.h"
#include "output/outfile.h"
#include "base/redact.h"
#include "store/store.h"
#include "store/token.h"
#include "plugin/registry.h"
#include "plugin/source.h"

#define DEFAULT_CONF DSRC_SYSCONFDIR "/dsrcd.conf"

/* Set when the daemon stops: every plugin call in progress (a probe
 * waiting for a server that does not answer) sees itself cancelled. */
static volatile sig_atomic_t stopping;

/* The STATUS= last sent by daemon_notify_status(); emptied when another
 * STATUS= went out. */
static char notify_status_last[256];

/* sd_notify() `state`; a STATUS= in it replaces the last one sent. */
static void notify(const char *state)
{
#ifdef HAVE_SYSTEMD
    if (strstr(state, "STATUS="))
        notify_status_last[0] = '\0';
    sd_notify(0, state);
#else
    (void)state;
#endif
}

static int64_t daemon_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The watchdog's keep-alive period: half of WATCHDOG_USEC when the service
 * manager asks for keep-alives (WatchdogSec=), else 0. */
static int64_t daemon_watchdog_ms(void)
{
#ifdef HAVE_SYSTEMD
    uint64_t usec = 0;

    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        return usec >= 4000 ? (int64_t)(usec / 2000) : 1;
#endif
    return 0;
}

/* STATUS= when it changed ("serving N source(s), D down; R run(s) in
 * progress, ..."), and the watchdog's keep-alive when due (every
 * watchdog_ms; *kicked: when it was last sent). */
static void daemon_notify_status(const control_state *d, int64_t watchdog_ms, int64_t *kicked)
{
#ifdef HAVE_SYSTEMD
    char line[256], msg[300];
    size_t i, down = 0, n;
    int64_t now = daemon_mono_ms();

    for (i = 0; i < d->n_units; i++)
        if (d->units[i].rt && d->units[i].status == HEALTH_DOWN)
            down++;
    n = (size_t)snprintf(line, sizeof line, "serving %zu source(s), %zu down; ", d->n_units,
                         down);
    if (n < sizeof line)
        scheduler_status(d->sched, line + n, sizeof line - n);
    if (strcmp(line, notify_status_last) != 0) {
        snprintf(msg, sizeof msg, "STATUS=%s", line);
        sd_notify(0, msg);
        memcpy(notify_status_last, line, sizeof notify_status_last);
    }
    if (watchdog_ms > 0 && now - *kicked >= watchdog_ms) {
        sd_notify(0, "WATCHDOG=1");
        *kicked = now;
    }
#else
    (void)d;
    (void)watchdog_ms;
    (void)kicked;
#endif
}

/* The state store could not be reached at start (`e`, cleared here): say
 * so, then wait before the next try -- 1 s, doubling up to 30 s -- taking
 * the signals meanwhile.  SIGHUP reads the configuration again (a fixed
 * state_store setting is used at the next try).  Returns the stopping
 * signal taken, or 0 to try again. */
static int store_wait(const sigset_t *set, const char *path, generation **cur,
                      control_state *d, derr *e, unsigned *waits)
{
    int64_t wait_ms = (int64_t)1000 << (*waits < 5 ? *waits : 5);
    int64_t until;
    char st[320];

    if (wait_ms > 30000)
        wait_ms = 30000;
    log_msg(DSRC_LOG_WARNING, NULL, NULL,
            "state store unreachable: %s; trying again in %lld s (SIGTERM stops)",
            e->msg ? e->msg : "?", (long long)(wait_ms / 1000));
    snprintf(st, sizeof st, "STATUS=waiting for the state store\nEXTEND_TIMEOUT_USEC=%lld",
             (long long)(wait_ms + 30000) * 1000LL);
    notify(st);
    derr_clear(e);
    (*waits)++;
    until = daemon_mono_ms() + wait_ms;
    for (;;) {
        int64_t left = until - daemon_mono_ms();
        struct timespec ts;
        int sig;

        if (left <= 0)
            return 0;
        ts.tv_sec = (time_t)(left / 1000);
        ts.tv_nsec = (long)(left % 1000) * 1000000L;
        sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            return sig;
        if (sig == SIGHUP) {
            generation *ng = NULL;
            diag_list diags = {0};
            if (gen_load(path, NULL, &ng, &diags) != 0) {
                gen_log_diags(&diags);
                log_msg(DSRC_LOG_ERROR, NULL, NULL, "%s: %zu configuration error(s); the "
                        "old configuration stays", path, diags.n_errors);
                gen_unref(ng);
            } else {
                gen_log_diags(&diags);
                units_free(d->units, d->n_units);
                gen_unref(*cur);
                *cur = ng;
                d->cur = ng;
                units_build(ng, NULL, 0, &d->units, &d->n_units);
                log_msg(DSRC_LOG_NOTICE, NULL, NULL, "configuration read again from %s", path);
                diag_free(&diags);
                return 0;
            }
            diag_free(&diags);
        }
    }
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: dsrcd [-c FILE] [--foreground] [--check-config]\n"
            "             [--log-target stderr|journal] [--log-level LEVEL]\n\n"
            "The dsrc daemon: hosts the configured data sources.\n\n"
            "  -c, --config FILE      configuration (default %s)\n"
            "  -f, --foreground       do not detach (use under systemd)\n"
            "  -t, --check-config     validate the configuration and exit\n"
            "                         (0 valid, 78 errors)\n"
            "      --log-target T     stderr or journal (default: journal under\n"
            "                         systemd, else stderr)\n"
            "      --log-level L      error, warning, notice, info or debug\n"
            "  -h, --help             this help\n"
            "  -V, --version          print the version\n\n"
            "Signals: SIGHUP reloads (the old configuration stays if the new one is\n"
            "wrong), SIGTERM and SIGINT stop.  See dsrcd(8).\n",
            DEFAULT_CONF);
}

static int detach(void)
{
    pid_t pid = fork();
    int fd;

    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    if (chdir("/") < 0)
        return -1;
    fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    return 0;
}

int daemon_main(int argc, char **argv)
{
    enum { OPT_TARGET = 1000, OPT_LEVEL };
    static const struct option longs[] = {
        {"config", required_argument, NULL, 'c'},
        {"foreground", no_argument, NULL, 'f'},
        {"check-config", no_argument, NULL, 't'},
        {"log-target", required_argument, NULL, OPT_TARGET},
        {"log-level", required_argument, NULL, OPT_LEVEL},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    const char *path = getenv("DSRC_CONFIG");
    int opt, foreground = 0, check = 0, target = -1, level = -1, rc = 0;
    generation *cur = NULL;
    char *abs_path = NULL, *api_path = NULL;
    diag_list diags = {0};
    sigset_t set;
    control_state d;
    api_server *srv = NULL;
    instance *inst = NULL;
    derr ie = {0};
    int64_t watchdog_ms = 0, kicked = 0;
    unsigned store_waits = 0;
    int64_t last_tick = 0;

    if (!path)
        path = DEFAULT_CONF;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "c:fthV", longs, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 'f': foreground = 1; break;
        case 't': check = 1; break;
        case OPT_TARGET:
            if ((target = log_target_parse(optarg)) < 0) {
                fprintf(stderr, "dsrcd: unknown log target '%s' (stderr or journal)\n", optarg);
                return 2;
            }
            break;
        case OPT_LEVEL:
            if ((level = log_level_parse(optarg)) < 0) {
                fprintf(stderr, "dsrcd: unknown log level '%s' "
                                "(error, warning, notice, info, debug)\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        case 'V':
            printf("dsrcd %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, DSRC_ABI_MAJOR,
                   DSRC_ABI_MINOR);
            return 0;
        default:
            fprintf(stderr, "dsrcd: unknown option or missing argument: '%s'\n",
                    argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dsrcd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    /* A relative path would break reloads once detached (chdir "/"). */
    if (path[0] != '/') {
        abs_path = realpath(path, NULL);
        if (abs_path)
            path = abs_path;
    }
#ifdef HAVE_SYSTEMD
    log_set_journal(sd_journal_sendv);
#endif
    log_init("dsrcd",
             target >= 0 ? (log_target)target
             : (getenv("JOURNAL_STREAM") && log_target_parse("journal") >= 0)
                 ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR,
             level >= 0 ? (dsrc_log_level)level : DSRC_LOG_INFO);

    if (check) {
        rc = gen_load(path, NULL, &cur, &diags);
        diag_print(&diags, stderr);
        if (rc == 0)
            printf("%s: configuration OK (%zu source(s))\n", path, cur->cfg->n_sources);
        else
            fprintf(stderr, "dsrcd: %s: %zu error(s)\n", path, diags.n_errors);
        gen_unref(cur);
        diag_free(&diags);
        redact_clear();
        free(abs_path);
        return rc == 0 ? 0 : 78;
    }

    /* Block the signals we handle; they are taken synchronously below. */
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SCHED_WAKE_SIGNAL); /* a run ended: tick at once */
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (gen_load(path, NULL, &cur, &diags) != 0) {
        gen_log_diags(&diags);
        log_msg(DSRC_LOG_ERROR, NULL, NULL,
                "%s: %zu configuration error(s); not starting (check with "
                "'dsrcd --check-config')", path, diags.n_errors);
        gen_unref(cur);
        diag_free(&diags);
        free(abs_path);
        return 78;
    }
    gen_log_diags(&diags); /* warnings */
    diag_free(&diags);
    gen_apply_log_settings(cur->cfg, target, level);
    /* Before detaching, so that a refusal is the exit status. */
    if ((rc = instance_claim(cur->cfg->state_dir,
                             cur->cfg->node_name_set ? cur->cfg->node_name : NULL,
                             cur->cfg->control_socket, &inst, &ie))) {
        log_msg(DSRC_LOG_ERROR, NULL, NULL, "not starting: %s", ie.msg ? ie.msg : "?");
        derr_clear(&ie);
        gen_unref(cur);
        free(abs_path);
        return rc > 0 ? DAEMON_EXIT_RUNNING : 1;
    }
    if (!foreground && detach() < 0) {
        log_msg(DSRC_LOG_ERROR, NULL, NULL, "cannot detach: %s", strerror(errno));
        instance_release(inst);
        gen_unref(cur);
        free(abs_path);
        return 1;
    }
    if (instance_set_pid(inst, getpid(), &ie) < 0) {
        log_msg(DSRC_LOG_WARNING, NULL, NULL, "%s", ie.msg ? ie.msg : "?");
        derr_clear(&ie);
    }
    /* The temporary files of fetches that died with their process. */
    {
        const char *dirs[2];
        int k, n;
        dirs[0] = cur->cfg->workspace;
        dirs[1] = cur->cfg->state_dir;
        for (k = 0; k < 2; k++)
            if ((n = outfile_sweep_tree(dirs[k])) > 0)
                log_msg(DSRC_LOG_NOTICE, NULL, NULL,
                        "removed %d temporary file(s) left in %s by fetches that died", n,
                        dirs[k]);
    }
    {
        int swept = srcedit_sweep(cur->cfg->sources_dir);
        if (swept > 0)
            log_msg(DSRC_LOG_NOTICE, NULL, NULL, "removed %d temporary source file(s) left "
                    "in %s by a change that died", swept, cur->cfg->sources_dir);
    }
    /* Threads (pools, the control socket) start only after detaching. */
    metrics_start();
    memset(&d, 0, sizeof d);
    pthread_mutex_init(&d.mu, NULL);
    pthread_cond_init(&d.reloaded, NULL);
    d.conf_path = path;
    d.cur = cur;
    units_build(cur, NULL, 0, &d.units, &d.n_units);
    /* The state store and the jobs: a daemon that cannot record its runs
     * does not start. */
    while (!(d.sched = scheduler_new(cur, d.units, d.n_units, &ie)) &&
           ie.status == DSRC_E_UNREACHABLE) {
        /* A store that cannot be reached (its server restarting, the
         * network not up yet) is waited for, as a node of a cluster
         * must; a wrong setting or password is not. */
        int sig = store_wait(&set, path, &cur, &d, &ie, &store_waits);
        if (sig == SIGTERM || sig == SIGINT) {
            log_msg(DSRC_LOG_NOTICE, NULL, NULL, "received %s while waiting for the state "
                    "store, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            units_free(d.units, d.n_units);
            pthread_mutex_destroy(&d.mu);
            pthread_cond_destroy(&d.reloaded);
            metrics_free();
            instance_release(inst);
            gen_unref(cur);
            redact_clear();
            free(abs_path);
            return 0;
        }
    }
    if (!d.sched) {
        log_msg(DSRC_LOG_ERROR, NULL, NULL, "not starting: %s", ie.msg ? ie.msg : "?");
        derr_clear(&ie);
        units_free(d.units, d.n_units);
        pthread_mutex_destroy(&d.mu);
        pthread_cond_destroy(&d.reloaded);
        instance_release(inst);
        gen_unref(cur);
        free(abs_path);
        return 1;
    }
    stopping = 0;
    ctx_set_signal_flag(&stopping);
    probes_start(cur->cfg->probe_timeout_ms);
    control_apply(&d, cur->cfg, &srv, &api_path);
    log_msg(DSRC_LOG_NOTICE, NULL, NULL, "dsrcd %s started: %zu source(s) from %s",
            PACKAGE_VERSION, cur->reg->n_sources, path);
    notify("READY=1");
    watchdog_ms = daemon_watchdog_ms();
    /* cloud identities' tokens made ahead of need (identity.h) */
    if (identity_refresher_start() != 0)
        log_msg(DSRC_LOG_WARNING, NULL, NULL,
                "cannot start the cloud identity refresher: tokens are made on use only");

    for (;;) {
        int64_t wait_ms = scheduler_tick(d.sched, d.units, d.n_units);
        struct timespec tick;
        int sig;

        /* woken often enough for a keep-alive every watchdog_ms */
        if (watchdog_ms > 0 && wait_ms > watchdog_ms / 2)
            wait_ms = watchdog_ms / 2;
        tick.tv_sec = (time_t)(wait_ms / 1000);
        tick.tv_nsec = (long)(wait_ms % 1000) * 1000000L;
        daemon_notify_status(&d, watchdog_ms, &kicked);
        sig = sigtimedwait(&set, NULL, &tick);
        if (sig < 0 || sig == SCHED_WAKE_SIGNAL) {
            if ((sig > 0 || errno == EAGAIN) && daemon_mono_ms() - last_tick >= 1000) {
                units_tick(d.units, d.n_units);
                last_tick = daemon_mono_ms();
            }
            continue;
        }
        if (sig == SIGHUP) {
            uint64_t asked = control_reload_begin(&d);
            json_t *res;
            notify("RELOADING=1\nSTATUS=reloading");
            res = reload_run(path, target, level, &cur, &d);
            /* under the control lock: scheduler_request() reads the
             * configuration the scheduler holds */
            pthread_mutex_lock(&d.mu);
            scheduler_sync(d.sched, cur, d.units, d.n_units);
            pthread_mutex_unlock(&d.mu);
            /* Answered before the API may restart (control_apply waits
             * for its connections). */
            control_reload_end(&d, asked, res);
            control_apply(&d, cur->cfg, &srv, &api_path);
            notify_status_last[0] = '\0';
            notify("READY=1");
        } else {
            notify("STOPPING=1\nSTATUS=stopping");
            log_msg(DSRC_LOG_NOTICE, NULL, NULL, "received %s, stopping",
                    sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
    }
    api_server_stop(srv); /* removes the control socket */
    free(api_path);
    /* Runs first: no new one starts, the running ones have shutdown_grace
     * to finish, then are cancelled (a cancelled run commits nothing). */
    if (scheduler_stop(d.sched, cur->cfg->shutdown_grace_ms) != 0) {
        log_msg(DSRC_LOG_ERROR, NULL, NULL,
                "stopped without waiting for runs that ignore cancellation; they are "
                "resolved at the next start");
        instance_release(inst);
        fflush(NULL);
        _exit(1);
    }
    stopping = 1;
    identity_refresher_stop();
    source_cancel_all(); /* wakes the calls blocked on their cancel descriptor */
    if (units_stop(d.units, d.n_units, cur->cfg->shutdown_grace_ms) != 0) {
        /* A thread is stuck in a plugin call: nothing it uses can be
         * freed, and the process cannot wait for it.  dsrcd keeps no file
         * open for writing, so exiting now leaves everything consistent;
         * the pid file goes as in a clean stop. */
        log_msg(DSRC_LOG_ERROR, NULL, NULL,
                "stopped without waiting for the calls above (shutdown_grace %.1f s)",
                (double)cur->cfg->shutdown_grace_ms / 1000.0);
        instance_release(inst);
        fflush(NULL);
        _exit(1);
    }
    scheduler_free(d.sched);
    units_free(d.units, d.n_units);
    units_reap_free();
    ctx_set_signal_flag(NULL);
    probes_free();
    metrics_free();
    json_decref(d.reload_result);
    store_close(d.api_store);
    store_token_cache_free(d.tokens);
    pthread_cond_destroy(&d.reloaded);
    pthread_mutex_destroy(&d.mu);
    gen_unref(cur);
    redact_clear();
    instance_release(inst);
    log_msg(DSRC_LOG_NOTICE, NULL, NULL, "stopped");
    free(abs_path);
    return 0;
}
