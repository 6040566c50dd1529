/* daemon.c -- see daemon.h */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "config.h"
#include "daemon.h"
#include "diag.h"
#include "loader.h"
#include "log.h"
#include "redact.h"
#include "registry.h"

#define DEFAULT_CONF DSRC_SYSCONFDIR "/dsrcd.conf"

/* One loaded generation of the configuration. */
typedef struct generation {
    cfg_config *cfg;
    ld_set *plugins;
    reg_registry *reg;
} generation;

static void gen_free(generation *g)
{
    reg_free(g->reg);
    ld_free(g->plugins);
    cfg_free(g->cfg);
    memset(g, 0, sizeof *g);
}

static void notify(const char *state)
{
#ifdef HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

static void log_diags(const diag_list *d)
{
    size_t i;
    for (i = 0; i < d->n; i++) {
        const diag *x = &d->v[i];
        log_msg(x->severity == DIAG_ERROR ? DSRC_LOG_ERROR : DSRC_LOG_WARNING, NULL, NULL,
                "%s:%d: %s", x->file ? x->file : "?", x->line, x->msg ? x->msg : "");
    }
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

/* Load a generation.  `reuse` (may be NULL) lends its plugin set when the
 * plugin directories did not change.  Returns 0 when valid. */
static int gen_load(const char *path, const generation *reuse, generation *out,
                    diag_list *diags)
{
    memset(out, 0, sizeof *out);
    out->cfg = cfg_load(path, diags);
    if (!out->cfg) {
        if (!diags->n)
            diag_error(diags, path, 0, "cannot read the configuration");
        return -1;
    }
    if (reuse && reuse->plugins && same_dirs(reuse->cfg, out->cfg))
        out->plugins = reuse->plugins;
    else
        out->plugins = ld_new((const char *const *)out->cfg->plugin_dirs,
                              out->cfg->n_plugin_dirs);
    if (!out->plugins)
        return -1;
    out->reg = reg_build(out->cfg, out->plugins, diags);
    if (!out->reg)
        return -1;
    return diags->n_errors ? -1 : 0;
}

/* Free a generation that may share its plugin set with `keep`. */
static void gen_discard(generation *g, const generation *keep)
{
    if (keep && g->plugins == keep->plugins)
        g->plugins = NULL;
    gen_free(g);
}

/* The config's log_level and log_target apply unless given on the command
 * line. */
static void apply_log_settings(const cfg_config *cfg, int cli_target, int cli_level)
{
    if (cli_level < 0 && cfg->log_level)
        log_set_level(cfg->log_level);
    if (cli_target < 0 && cfg->log_target >= 0)
        log_init("dsrcd", (log_target)cfg->log_target,
                 cli_level >= 0 ? (dsrc_log_level)cli_level
                                : (cfg->log_level ? cfg->log_level : log_get_level()));
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
    generation cur, next;
    char *abs_path = NULL;
    diag_list diags = {0};
    sigset_t set;

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
    log_init("dsrcd",
             target >= 0 ? (log_target)target
             : (getenv("JOURNAL_STREAM") && log_target_parse("journal") >= 0)
                 ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR,
             level >= 0 ? (dsrc_log_level)level : DSRC_LOG_INFO);

    if (check) {
        rc = gen_load(path, NULL, &cur, &diags);
        diag_print(&diags, stderr);
        if (rc == 0)
            printf("%s: configuration OK (%zu source(s))\n", path, cur.cfg->n_sources);
        else
            fprintf(stderr, "dsrcd: %s: %zu error(s)\n", path, diags.n_errors);
        gen_free(&cur);
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
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (gen_load(path, NULL, &cur, &diags) != 0) {
        log_diags(&diags);
        log_msg(DSRC_LOG_ERROR, NULL, NULL,
                "%s: %zu configuration error(s); not starting (check with "
                "'dsrcd --check-config')", path, diags.n_errors);
        gen_free(&cur);
        diag_free(&diags);
        free(abs_path);
        return 78;
    }
    log_diags(&diags); /* warnings */
    diag_free(&diags);
    apply_log_settings(cur.cfg, target, level);
    if (!foreground && detach() < 0) {
        log_msg(DSRC_LOG_ERROR, NULL, NULL, "cannot detach: %s", strerror(errno));
        gen_free(&cur);
        free(abs_path);
        return 1;
    }
    log_msg(DSRC_LOG_NOTICE, NULL, NULL, "dsrcd %s started: %zu source(s) from %s",
            PACKAGE_VERSION, cur.reg->n_sources, path);
    notify("READY=1\nSTATUS=running");

    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            notify("RELOADING=1\nSTATUS=reloading");
            log_msg(DSRC_LOG_NOTICE, NULL, NULL, "reloading %s", path);
            if (gen_load(path, &cur, &next, &diags) == 0) {
                log_diags(&diags);
                gen_discard(&cur, &next);
                cur = next;
                apply_log_settings(cur.cfg, target, level);
                log_msg(DSRC_LOG_NOTICE, NULL, NULL, "reloaded: %zu source(s)",
                        cur.reg->n_sources);
            } else {
                log_diags(&diags);
                log_msg(DSRC_LOG_ERROR, NULL, NULL,
                        "reload failed with %zu error(s); keeping the previous "
                        "configuration (%zu source(s))",
                        diags.n_errors, cur.reg->n_sources);
                gen_discard(&next, &cur);
            }
            diag_free(&diags);
            notify("READY=1\nSTATUS=running");
        } else {
            notify("STOPPING=1\nSTATUS=stopping");
            log_msg(DSRC_LOG_NOTICE, NULL, NULL, "received %s, stopping",
                    sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
    }
    gen_free(&cur);
    redact_clear();
    log_msg(DSRC_LOG_NOTICE, NULL, NULL, "stopped");
    free(abs_path);
    return 0;
}
