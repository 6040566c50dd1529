/* SPDX-License-Identifier: Apache-2.0 */
/* cli_secret.c -- see cli_secret.h */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "cli_secret.h"
#include "secret/fernet.h"
#include "secret/keyring.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "secret/secret.h"
#include "store/audit.h"

#define SEC_EXIT_OK 0
#define SEC_EXIT_FAIL 1
#define SEC_EXIT_USAGE 2

#define SEC_PREFIX "fernet:"
#define SEC_MAX_CONFIG_FILE (16 * 1024 * 1024)

typedef struct sec_ctx {
    const cfg_config *cfg;
    const char *prog;
    const char *key_file;  /* -k, else the key_file setting, else NULL */
    int json;              /* --json: one JSON document                   */
} sec_ctx;

typedef struct sec_cmd {
    const char *name;
    int (*run)(sec_ctx *c, const struct sec_cmd *cmd, int argc, char **argv);
    const char *usage;
    const char *summary;
    const char *help;
} sec_cmd;

/* A growable byte buffer whose old copies are wiped when it grows. */
typedef struct sec_buf {
    char *p;
    size_t len, cap;
} sec_buf;

static int sec_buf_reserve(sec_buf *b, size_t more)
{
    size_t cap;
    char *p;

    if (b->len + more + 1 <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    if (!(p = malloc(cap)))
        return -1;
    if (b->p) {
        memcpy(p, b->p, b->len);
        OPENSSL_cleanse(b->p, b->cap);
        free(b->p);
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static int sec_buf_add(sec_buf *b, const void *data, size_t n)
{
    if (sec_buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static void sec_buf_wipe(sec_buf *b)
{
    if (b->p) {
        OPENSSL_cleanse(b->p, b->cap);
        free(b->p);
    }
    memset(b, 0, sizeof *b);
}

static int sec_write_all(int fd, const void *data, size_t n)
{
    const char *p = data;

    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* 1 when the n bytes at s are UTF-8 text. */
static int sec_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0, k, len;

    while (i < n) {
        unsigned char c = s[i];
        len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
            : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!len || i + len > n || (len == 2 && c < 0xc2))
            return 0;
        for (k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += len;
    }
    return 1;
}

/* With --json: {"MEMBER": "PREFIX" + the n bytes at value} on stdout, the
 * value escaped as it is written (never copied into a JSON library's
 * memory, which is not wiped).  0, or -1 (reason printed). */
static int sec_json_value(const sec_ctx *c, const char *member, const char *prefix,
                          const char *value, size_t n)
{
    char esc[8];
    size_t i, from = 0;
    int rc = 0;

    if (!sec_utf8((const unsigned char *)value, n)) {
        fprintf(stderr, "%s: the value is not UTF-8 text and cannot be a JSON string; run "
                "without --json\n", c->prog);
        return -1;
    }
    cli_json_started();
    rc |= sec_write_all(STDOUT_FILENO, "{\"", 2);
    rc |= sec_write_all(STDOUT_FILENO, member, strlen(member));
    rc |= sec_write_all(STDOUT_FILENO, "\": \"", 4);
    rc |= sec_write_all(STDOUT_FILENO, prefix, strlen(prefix));
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)value[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\' && ch != 0x7f)
            continue;
        rc |= sec_write_all(STDOUT_FILENO, value + from, i - from);
        snprintf(esc, sizeof esc, "\\u%04x", ch);
        rc |= sec_write_all(STDOUT_FILENO, esc, 6);
        from = i + 1;
    }
    rc |= sec_write_all(STDOUT_FILENO, value + from, n - from);
    rc |= sec_write_all(STDOUT_FILENO, "\"}\n", 3);
    OPENSSL_cleanse(esc, sizeof esc);
    if (rc) {
        fprintf(stderr, "%s: cannot write to standard output: %s\n", c->prog, strerror(errno));
        return -1;
    }
    return 0;
}

static void sec_err(const sec_ctx *c, const derr *e)
{
    fprintf(stderr, "%s: %s\n", c->prog, e->msg ? e->msg : error_status_name(e->status));
}

static int sec_usage_error(const sec_ctx *c, const sec_cmd *cmd, const char *what)
{
    fprintf(stderr, "%s secret %s: %s\nusage: %s secret %s\n", c->prog, cmd->name, what,
            c->prog, cmd->usage);
    return SEC_EXIT_USAGE;
}

/* Parse a subcommand's options.  fn handles each one (returns -1 on a bad
 * value, after printing why).  Returns the index of the first operand, or
 * -1 with *rc set (help printed, or a usage error). */
typedef int (*sec_opt_fn)(sec_ctx *c, int opt, const char *arg, void *user);

static int sec_parse(sec_ctx *c, const sec_cmd *cmd, int argc, char **argv, const char *shorts,
                     const struct option *longs, sec_opt_fn fn, void *user, int *rc)
{
    int opt;

    optind = 0; /* full re-initialisation (GNU getopt) */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        if (opt == 'h') {
            printf("usage: %s secret %s\n\n%s\n", c->prog, cmd->usage, cmd->help);
            *rc = SEC_EXIT_OK;
            return -1;
        }
        if (opt == 'k') {
            c->key_file = optarg;
            continue;
        }
        if (opt == '?' || opt == ':') {
            if (optopt && optopt < 256)
                fprintf(stderr, "%s secret %s: %s option '-%c'\n", c->prog, cmd->name,
                        opt == ':' ? "missing argument for" : "unknown", optopt);
            else
                fprintf(stderr, "%s secret %s: unknown option or missing argument: '%s'\n",
                        c->prog, cmd->name, argv[optind - 1]);
            fprintf(stderr, "usage: %s secret %s\n", c->prog, cmd->usage);
            *rc = SEC_EXIT_USAGE;
            return -1;
        }
        if (!fn || fn(c, opt, optarg, user) < 0) {
            *rc = SEC_EXIT_USAGE;
            return -1;
        }
    }
    return optind;
}

static keyring *sec_keyring(sec_ctx *c)
{
    keyring *kr = NULL;
    derr e = {0};

    if (keyring_load(c->key_file, &kr, &e) != DSRC_OK) {
        sec_err(c, &e);
        derr_clear(&e);
        return NULL;
    }
    return kr;
}

/* ------------------------------------------------------------------------ */
/* genkey                                                                    */

static int sec_genkey_opt(sec_ctx *c, int opt, const char *arg, void *user)
{
    (void)c;
    if (opt != 'o')
        return -1;
    *(const char **)user = arg;
    return 0;
}

/* fsync directory `dir`, so that an entry made or renamed in it survives
 * a crash: 0, or -1 with errno set.  A file system that cannot fsync a
 * directory (EINVAL) is not a failure. */
static int sec_fsync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc, err;

    if (dfd < 0)
        return -1;
    rc = fsync(dfd);
    err = errno;
    close(dfd);
    if (rc < 0 && err == EINVAL)
        rc = 0;
    errno = err;
    return rc;
}

/* Create path with mode 0600 holding `text`; never replaces a file.  The
 * file and then its directory are fsynced: a key lost in a crash would
 * lose every secret encrypted with it. */
static int sec_write_new_key(sec_ctx *c, const char *path, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    char *dir, *parent;

    if (fd < 0) {
        if (errno == EEXIST)
            fprintf(stderr, "%s: %s already exists; refusing to overwrite it (to rotate keys, "
                    "put a new key on the first line of the existing file and run "
                    "'%s secret rotate')\n", c->prog, path, c->prog);
        else
            fprintf(stderr, "%s: cannot create %s: %s\n", c->prog, path, strerror(errno));
        return -1;
    }
    if (fchmod(fd, 0600) < 0 || sec_write_all(fd, text, len) < 0 || fsync(fd) < 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", c->prog, path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    if (close(fd) < 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", c->prog, path, strerror(errno));
        unlink(path);
        return -1;
    }
    if (!(dir = strdup(path))) {
        fprintf(stderr, "%s: out of memory\n", c->prog);
        unlink(path);
        return -1;
    }
    if (sec_fsync_dir((parent = dirname(dir))) < 0) {
        fprintf(stderr, "%s: cannot make %s durable (fsync of its directory %s: %s)\n",
                c->prog, path, parent, strerror(errno));
        free(dir);
        unlink(path);
        return -1;
    }
    free(dir);
    return 0;
}

static int sec_genkey(sec_ctx *c, const sec_cmd *cmd, int argc, char **argv)
{
    static const struct option longs[] = {{"output", required_argument, NULL, 'o'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *out = NULL;
    char text[FERNET_KEY_TEXT_LEN + 2];
    fernet_key key;
    int rc = SEC_EXIT_OK, first;

    if ((first = sec_parse(c, cmd, argc, argv, ":o:h", longs, sec_genkey_opt, &out, &rc)) < 0)
        return rc;
    if (first < argc)
        return sec_usage_error(c, cmd, "unexpected argument");
    if (fernet_key_generate(&key) != FERNET_OK) {
        fprintf(stderr, "%s: cannot generate a key: %s\n", c->prog,
                fernet_strerror(FERNET_E_INTERNAL));
        return SEC_EXIT_FAIL;
    }
    fernet_key_encode(&key, text);
    fernet_key_wipe(&key);
    strcat(text, "\n");
    if (out) {
        if (sec_write_new_key(c, out, text, strlen(text)) < 0)
            rc = SEC_EXIT_FAIL;
        else if (c->json)
            cli_json_print(json_pack("{s:o}", "written", cli_jstr(out)));
        else
            fprintf(stderr, "%s: wrote a new key to %s (mode 0600)\n", c->prog, out);
    } else if (c->json) {
        if (sec_json_value(c, "key", "", text, strlen(text) - 1) < 0)
            rc = SEC_EXIT_FAIL;
    } else if (sec_write_all(STDOUT_FILENO, text, strlen(text)) < 0) {
        fprintf(stderr, "%s: cannot write to standard output: %s\n", c->prog, strerror(errno));
        rc = SEC_EXIT_FAIL;
    }
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Reading a secret from standard input                                      */

static struct termios sec_saved_tio;
static volatile sig_atomic_t sec_tio_saved;

static void sec_tty_signal(int sig)
{
    if (sec_tio_saved)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &sec_saved_tio);
    raise(sig); /* SA_RESETHAND: the default action now */
}

/* Read the secret: on a terminal one line with echo off (after `prompt`),
 * otherwise all of standard input, or its next line when `one_line`; one
 * trailing newline ("\n" or "\r\n") is stripped.  Returns 0, or -1 with the
 * reason printed. */
static int sec_read(const char *prog, const char *prompt, int one_line, sec_buf *b)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    struct sigaction sa, old[4];
    struct termios tio;
    int tty = isatty(STDIN_FILENO), rc = 0;
    size_t i;

    if (tty) {
        if (tcgetattr(STDIN_FILENO, &sec_saved_tio) < 0) {
            fprintf(stderr, "%s: cannot read the terminal settings: %s\n", prog,
                    strerror(errno));
            return -1;
        }
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = sec_tty_signal;
        sa.sa_flags = SA_RESETHAND | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        for (i = 0; i < 4; i++)
            sigaction(sigs[i], &sa, &old[i]);
        sec_tio_saved = 1;
        tio = sec_saved_tio;
        tio.c_lflag &= ~(tcflag_t)ECHO;
        tio.c_lflag |= ECHONL | ICANON;
        fprintf(stderr, "%s (not echoed; end with Enter): ", prompt);
        fflush(stderr);
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio) < 0) {
            fprintf(stderr, "\n%s: cannot turn off echo: %s\n", prog, strerror(errno));
            rc = -1;
            goto restore;
        }
    }
    for (;;) {
        ssize_t n;

        if (b->len >= SECRET_MAX_FILE) {
            fprintf(stderr, "%s: the secret is longer than %d bytes\n", prog,
                    SECRET_MAX_FILE);
            rc = -1;
            break;
        }
        if (sec_buf_reserve(b, 4096) < 0) {
            fprintf(stderr, "%s: out of memory\n", prog);
            rc = -1;
            break;
        }
        /* the next line only: byte by byte, so that what follows stays */
        n = read(STDIN_FILENO, b->p + b->len,
                 one_line && !tty ? 1 : b->cap - b->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "%s: cannot read standard input: %s\n", prog, strerror(errno));
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        b->len += (size_t)n;
        b->p[b->len] = '\0';
        if ((tty || one_line) && memchr(b->p, '\n', b->len)) {
            /* One line from the terminal; drop anything typed after it. */
            b->len = (size_t)((char *)memchr(b->p, '\n', b->len) - b->p) + 1;
            break;
        }
    }
restore:
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &sec_saved_tio);
        sec_tio_saved = 0;
        for (i = 0; i < 4; i++)
            sigaction(sigs[i], &old[i], NULL);
    }
    if (rc < 0)
        return -1;
    if (b->len && b->p[b->len - 1] == '\n') {
        b->len--;
        if (b->len && b->p[b->len - 1] == '\r')
            b->len--;
    }
    if (b->p)
        OPENSSL_cleanse(b->p + b->len, b->cap - b->len);
    if (!b->len) {
        fprintf(stderr, "%s: the secret is empty\n", prog);
        return -1;
    }
    if (memchr(b->p, '\0', b->len)) {
        fprintf(stderr, "%s: the secret contains a NUL byte\n", prog);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* encrypt                                                                   */

static int sec_encrypt(sec_ctx *c, const sec_cmd *cmd, int argc, char **argv)
{
    static const struct option longs[] = {{"key-file", required_argument, NULL, 'k'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    sec_buf b = {0};
    keyring *kr;
    char *token = NULL;
    derr e = {0};
    int rc = SEC_EXIT_OK, first;

    if ((first = sec_parse(c, cmd, argc, argv, ":k:h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (first < argc)
        return sec_usage_error(c, cmd, "the secret is read from standard input, never from "
                                       "the command line");
    if (!(kr = sec_keyring(c)))
        return SEC_EXIT_FAIL;
    if (sec_read(c->prog, "Secret to encrypt", 0, &b) < 0) {
        rc = SEC_EXIT_FAIL;
    } else if (keyring_encrypt(kr, b.p, b.len, &token, &e) != DSRC_OK) {
        sec_err(c, &e);
        rc = SEC_EXIT_FAIL;
    } else if (c->json) {
        if (sec_json_value(c, "token", SEC_PREFIX, token, strlen(token)) < 0)
            rc = SEC_EXIT_FAIL;
    } else if (printf("%s%s\n", SEC_PREFIX, token) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "%s: cannot write to standard output\n", c->prog);
        rc = SEC_EXIT_FAIL;
    }
    free(token);
    derr_clear(&e);
    sec_buf_wipe(&b);
    keyring_free(kr);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The audit trail                                                           */

/* Record the use of a secret by `action` in the audit trail of the
 * configuration's state store (none without a configuration): failed with
 * status name `error`, or succeeded (error NULL) with the keys of kr (may
 * be NULL) or `detail` -- never a value.  0, or -1 with a warning printed. */
static int sec_audit_rec(const sec_ctx *c, const char *action, const char *error,
                         const char *detail)
{
    store_audit_rec r = {.action = action, .result = "ok", .rows = -1, .bytes = -1,
                         .detail = detail};
    char result[64];

    if (error) {
        snprintf(result, sizeof result, "error: %s", error);
        r.result = result;
    }
    return cli_audit_record(c->cfg, c->prog, &r);
}

static int sec_audit(const sec_ctx *c, const char *action, const char *error,
                     const keyring *kr)
{
    char detail[PATH_MAX + 64];

    if (kr)
        snprintf(detail, sizeof detail, "%zu key(s) from %s", kr->n_keys,
                 kr->origin ? kr->origin : "?");
    return sec_audit_rec(c, action, error, kr ? detail : NULL);
}

/* ------------------------------------------------------------------------ */
/* decrypt                                                                   */

enum { SEC_OPT_SHOW = 1000 };

static int sec_decrypt_opt(sec_ctx *c, int opt, const char *arg, void *user)
{
    (void)c;
    (void)arg;
    if (opt != SEC_OPT_SHOW)
        return -1;
    *(int *)user = 1;
    return 0;
}

/* Trim blanks and newlines at both ends; returns the start, sets *len. */
static const char *sec_trim(const char *s, size_t *len)
{
    size_t n = *len;

    while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    *len = n;
    return s;
}

static int sec_decrypt(sec_ctx *c, const sec_cmd *cmd, int argc, char **argv)
{
    static const struct option longs[] = {{"show-plaintext", no_argument, NULL, SEC_OPT_SHOW},
                                          {"key-file", required_argument, NULL, 'k'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    sec_buf in = {0};
    keyring *kr = NULL;
    unsigned char *plain = NULL;
    const char *tok;
    size_t len, plain_len = 0, key_index = 0;
    derr e = {0};
    int rc = SEC_EXIT_OK, first, show = 0;

    if ((first = sec_parse(c, cmd, argc, argv, ":k:h", longs, sec_decrypt_opt, &show, &rc)) < 0)
        return rc;
    if (argc - first > 1)
        return sec_usage_error(c, cmd, "give at most one token");
    if (!show)
        return sec_usage_error(c, cmd, "refusing to print a secret in clear without "
                                       "--show-plaintext");
    if (first < argc) {
        tok = argv[first];
        len = strlen(tok);
    } else {
        for (;;) {
            ssize_t n;
            if (in.len > SEC_MAX_CONFIG_FILE || sec_buf_reserve(&in, 4096) < 0) {
                fprintf(stderr, "%s: the token on standard input is too long\n", c->prog);
                sec_buf_wipe(&in);
                return SEC_EXIT_FAIL;
            }
            n = read(STDIN_FILENO, in.p + in.len, in.cap - in.len - 1);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                fprintf(stderr, "%s: cannot read standard input: %s\n", c->prog,
                        strerror(errno));
                sec_buf_wipe(&in);
                return SEC_EXIT_FAIL;
            }
            if (n == 0)
                break;
            in.len += (size_t)n;
        }
        tok = in.p ? in.p : "";
        len = in.len;
    }
    tok = sec_trim(tok, &len);
    if (len >= strlen(SEC_PREFIX) && strncmp(tok, SEC_PREFIX, strlen(SEC_PREFIX)) == 0) {
        tok += strlen(SEC_PREFIX);
        len -= strlen(SEC_PREFIX);
    }
    if (!len) {
        sec_buf_wipe(&in);
        return sec_usage_error(c, cmd, "no token given (as an argument or on standard input)");
    }
    if (!(kr = sec_keyring(c))) {
        sec_buf_wipe(&in);
        return SEC_EXIT_FAIL;
    }
    if (keyring_decrypt(kr, tok, len, &plain, &plain_len, &key_index, NULL, &e) != DSRC_OK) {
        sec_err(c, &e);
        rc = SEC_EXIT_FAIL;
        (void)sec_audit(c, "secret decrypt", error_status_name(e.status), NULL);
    } else if (sec_audit(c, "secret decrypt", NULL, kr) < 0) {
        /* a secret whose use cannot be recorded is not shown */
        fprintf(stderr, "%s: the plaintext is not shown: its use could not be audited\n",
                c->prog);
        rc = SEC_EXIT_FAIL;
    } else {
        if (c->json) {
            if (sec_json_value(c, "value", "", (const char *)plain, plain_len) < 0)
                rc = SEC_EXIT_FAIL;
        } else if (sec_write_all(STDOUT_FILENO, plain, plain_len) < 0 ||
                   sec_write_all(STDOUT_FILENO, "\n", 1) < 0) {
            fprintf(stderr, "%s: cannot write to standard output: %s\n", c->prog,
                    strerror(errno));
            rc = SEC_EXIT_FAIL;
        }
        if (key_index > 0)
            fprintf(stderr, "%s: note: decrypted with key %zu of %zu from %s, not the first; "
                    "run '%s secret rotate' on the files holding it\n",
                    c->prog, key_index + 1, kr->n_keys, kr->origin, c->prog);
    }
    fernet_free(plain, plain_len);
    derr_clear(&e);
    keyring_free(kr);
    sec_buf_wipe(&in);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* rotate                                                                    */

static int sec_word_char(int ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
}

static int sec_line_of(const char *buf, size_t off)
{
    int line = 1;
    size_t i;

    for (i = 0; i < off; i++)
        if (buf[i] == '\n')
            line++;
    return line;
}

static int sec_read_file(sec_ctx *c, const char *path, sec_buf *b, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0) {
        fprintf(stderr, "%s: cannot open %s: %s\n", c->prog, path, strerror(errno));
        return -1;
    }
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        fprintf(stderr, "%s: %s is not a regular file\n", c->prog, path);
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t n;
        if (b->len > SEC_MAX_CONFIG_FILE) {
            fprintf(stderr, "%s: %s is larger than %d bytes\n", c->prog, path,
                    SEC_MAX_CONFIG_FILE);
            close(fd);
            return -1;
        }
        if (sec_buf_reserve(b, 65536) < 0) {
            fprintf(stderr, "%s: out of memory\n", c->prog);
            close(fd);
            return -1;
        }
        n = read(fd, b->p + b->len, b->cap - b->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "%s: cannot read %s: %s\n", c->prog, path, strerror(errno));
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        b->len += (size_t)n;
    }
    if (b->p)
        b->p[b->len] = '\0';
    close(fd);
    return 0;
}

/* Write `data` to a new file beside `path` with path's mode and owner, then
 * rename it over path and sync the directory.  Returns 0 or -1 (printed;
 * path unchanged). */
static int sec_replace_file(sec_ctx *c, const char *path, const struct stat *st,
                            const char *data, size_t len)
{
    char *dir = strdup(path), *tmp = NULL, *slash;
    const char *base;
    int fd = -1, rc = -1;

    if (!dir) {
        fprintf(stderr, "%s: out of memory\n", c->prog);
        return -1;
    }
    /* path is absolute (from realpath), so it has a slash. */
    slash = strrchr(dir, '/');
    base = path + (slash - dir) + 1;
    slash[slash == dir ? 1 : 0] = '\0';
    if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
        tmp = NULL;
        fprintf(stderr, "%s: out of memory\n", c->prog);
        goto out;
    }
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        fprintf(stderr, "%s: cannot create a temporary file beside %s: %s\n", c->prog, path,
                strerror(errno));
        goto out;
    }
    if (fchmod(fd, st->st_mode & 07777) < 0) {
        fprintf(stderr, "%s: cannot set the mode of a temporary file beside %s: %s\n",
                c->prog, path, strerror(errno));
        goto fail;
    }
    if ((st->st_uid != geteuid() || st->st_gid != getegid()) &&
        fchown(fd, st->st_uid, st->st_gid) < 0) {
        fprintf(stderr, "%s: cannot keep the owner of %s (%s); run as its owner or root\n",
                c->prog, path, strerror(errno));
        goto fail;
    }
    if (sec_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        fprintf(stderr, "%s: cannot write a temporary file beside %s: %s\n", c->prog, path,
                strerror(errno));
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        fprintf(stderr, "%s: cannot write a temporary file beside %s: %s\n", c->prog, path,
                strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        fprintf(stderr, "%s: cannot replace %s: %s\n", c->prog, path, strerror(errno));
        goto fail;
    }
    (void)sec_fsync_dir(dir);
    rc = 0;
    goto out;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
out:
    free(tmp);
    free(dir);
    return rc;
}

/* Rotate the tokens of one file.  Returns 0 or -1 (printed; file unchanged). */
static int sec_rotate_file(sec_ctx *c, const keyring *kr, const char *arg, size_t *n_done,
                           size_t *n_current)
{
    static const char prefix[] = SEC_PREFIX;
    const size_t plen = sizeof prefix - 1;
    sec_buf in = {0}, out = {0};
    struct stat st;
    char *path = realpath(arg, NULL);
    size_t pos = 0, done = 0, current = 0;
    int rc = -1;

    if (!path) {
        fprintf(stderr, "%s: cannot open %s: %s\n", c->prog, arg, strerror(errno));
        return -1;
    }
    if (sec_read_file(c, path, &in, &st) < 0)
        goto out;
    while (in.p && pos < in.len) {
        const char *hit = memmem(in.p + pos, in.len - pos, prefix, plen);
        size_t at, tok, end, plain_len = 0, key_index = 0;
        unsigned char *plain = NULL;
        char *fresh = NULL;
        fernet_status fst;
        derr e = {0};

        if (!hit)
            break;
        at = (size_t)(hit - in.p);
        tok = end = at + plen;
        while (end < in.len && fernet_token_char((unsigned char)in.p[end]))
            end++;
        if ((at > 0 && sec_word_char((unsigned char)in.p[at - 1])) || end == tok) {
            /* Not a token: part of a word, or "fernet:" followed by text. */
            if (sec_buf_add(&out, in.p + pos, end - pos) < 0)
                goto oom;
            pos = end;
            continue;
        }
        if (keyring_decrypt(kr, in.p + tok, end - tok, &plain, &plain_len, &key_index, &fst,
                            &e) != DSRC_OK) {
            fprintf(stderr, "%s: %s:%d: %s; file left unchanged\n", c->prog, arg,
                    sec_line_of(in.p, at), e.msg ? e.msg : "cannot decrypt the token");
            derr_clear(&e);
            goto out;
        }
        if (key_index == 0) {
            current++;
            fernet_free(plain, plain_len);
            if (sec_buf_add(&out, in.p + pos, end - pos) < 0)
                goto oom;
            pos = end;
            continue;
        }
        if (keyring_encrypt(kr, plain, plain_len, &fresh, &e) != DSRC_OK) {
            fernet_free(plain, plain_len);
            fprintf(stderr, "%s: %s:%d: %s; file left unchanged\n", c->prog, arg,
                    sec_line_of(in.p, at), e.msg ? e.msg : "cannot encrypt");
            derr_clear(&e);
            goto out;
        }
        fernet_free(plain, plain_len);
        if (sec_buf_add(&out, in.p + pos, tok - pos) < 0 ||
            sec_buf_add(&out, fresh, strlen(fresh)) < 0) {
            free(fresh);
            goto oom;
        }
        free(fresh);
        done++;
        pos = end;
    }
    if (pos < in.len && sec_buf_add(&out, in.p + pos, in.len - pos) < 0)
        goto oom;
    if (done && sec_replace_file(c, path, &st, out.p, out.len) < 0)
        goto out;
    /* with --json the document says it; this line goes to stderr then */
    fprintf(c->json ? stderr : stdout,
            "%s: %zu token(s) re-encrypted with the first key, %zu already under it\n", arg,
            done, current);
    *n_done = done;
    *n_current = current;
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "%s: out of memory; %s left unchanged\n", c->prog, arg);
out:
    sec_buf_wipe(&in);
    sec_buf_wipe(&out);
    free(path);
    return rc;
}

static int sec_rotate(sec_ctx *c, const sec_cmd *cmd, int argc, char **argv)
{
    static const struct option longs[] = {{"key-file", required_argument, NULL, 'k'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    keyring *kr;
    json_t *files;
    int rc = SEC_EXIT_OK, first, i;

    if ((first = sec_parse(c, cmd, argc, argv, ":k:h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (first >= argc)
        return sec_usage_error(c, cmd, "name at least one file");
    if (!(kr = sec_keyring(c)))
        return SEC_EXIT_FAIL;
    files = c->json ? json_array() : NULL;   /* --json: one {file, ok, ...} each */
    for (i = first; i < argc; i++) {
        char detail[PATH_MAX + 128];
        size_t done = 0, current = 0;
        int r = sec_rotate_file(c, kr, argv[i], &done, &current);

        snprintf(detail, sizeof detail, "%s: %zu re-encrypted, %zu already under the first key",
                 argv[i], done, current);
        if (r < 0)
            rc = SEC_EXIT_FAIL;
        if (files)
            json_array_append_new(files, json_pack("{s:o, s:b, s:I, s:I}", "file",
                                                   cli_jstr(argv[i]), "ok", r == 0,
                                                   "reencrypted", (json_int_t)done,
                                                   "current", (json_int_t)current));
        if (sec_audit_rec(c, "secret rotate", r < 0 ? "failed" : NULL, detail) < 0)
            rc = SEC_EXIT_FAIL;
    }
    if (files)
        cli_json_print(json_pack("{s:o}", "files", files));
    fflush(stdout);
    keyring_free(kr);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* check                                                                     */

typedef struct sec_checker {
    sec_ctx *c;
    keyring *kr;
    derr kr_err;     /* why the keyring could not be loaded                  */
    int kr_tried;
    size_t checked, failed;
    json_t *arr;     /* with --json, a {source, option, ok, ...} per secret */
} sec_checker;

static void sec_check_one(sec_checker *ck, const char *source, const char *group,
                          const char *option, const char *value, int from_default)
{
    secret_kind kind = secret_kind_of(value);
    char *plain = NULL;
    derr e = {0};
    const char *why = NULL;

    ck->checked++;
    if (kind == SECRET_FERNET && !ck->kr_tried) {
        ck->kr_tried = 1;
        keyring_load(ck->c->key_file, &ck->kr, &ck->kr_err);
    }
    if (kind == SECRET_FERNET && !ck->kr)
        why = ck->kr_err.msg ? ck->kr_err.msg : "no Fernet key";
    else if (secret_resolve(value, ck->kr, ck->c->key_file, &plain, &kind, &e) != DSRC_OK)
        why = e.msg ? e.msg : error_status_name(e.status);
    if (ck->arr) {
        char opt[256];
        json_t *o = json_object();
        snprintf(opt, sizeof opt, "%s%s%s", group ? group : "", group ? "." : "", option);
        json_object_set_new(o, "source", cli_jstr(source));
        json_object_set_new(o, "option", cli_jstr(opt));
        json_object_set_new(o, "ok", json_boolean(!why));
        json_object_set_new(o, "kind", why ? json_null() : cli_jstr(secret_kind_name(kind)));
        json_object_set_new(o, "default", json_boolean(!why && from_default));
        json_object_set_new(o, "error", why ? cli_jstr(why) : json_null());
        json_array_append_new(ck->arr, o);
        ck->failed += why != NULL;
    } else {
        printf("%s: %s%s%s: ", source, group ? group : "", group ? "." : "", option);
        if (why) {
            ck->failed++;
            printf("FAILED: %s\n", why);
        } else if (kind == SECRET_PLAIN && from_default) {
            printf("ok (the plugin's default)\n");
        } else if (kind == SECRET_PLAIN) {
            printf("ok (plain text in the configuration; encrypt it with "
                   "'%s secret encrypt')\n", ck->c->prog);
        } else {
            printf("ok (%s)\n", secret_kind_name(kind));
        }
    }
    secret_free(plain);
    derr_clear(&e);
}

static int sec_cloud_secret(const char *key)
{
    static const char *const keys[] = {"client_secret", "secret_access_key", "session_token",
                                       NULL};
    size_t i;

    for (i = 0; keys[i]; i++)
        if (strcmp(keys[i], key) == 0)
            return 1;
    return 0;
}

static int sec_check(sec_ctx *c, const sec_cmd *cmd, int argc, char **argv)
{
    static const struct option longs[] = {{"key-file", required_argument, NULL, 'k'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    sec_checker ck;
    diag_list diags = {0};
    loader_set *plugins;
    registry *reg;
    size_t i, j, invalid = 0;
    int rc = SEC_EXIT_OK, first;

    if ((first = sec_parse(c, cmd, argc, argv, ":k:h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (first < argc)
        return sec_usage_error(c, cmd, "unexpected argument");
    if (!c->cfg) {
        fprintf(stderr, "%s: secret check needs a configuration that loads (see '%s "
                "check-config')\n", c->prog, c->prog);
        return SEC_EXIT_FAIL;
    }
    memset(&ck, 0, sizeof ck);
    ck.c = c;
    if (c->json)
        ck.arr = json_array();
    plugins = loader_new((const char *const *)c->cfg->plugin_dirs, c->cfg->n_plugin_dirs);
    reg = plugins ? registry_build(c->cfg, plugins, &diags) : NULL;
    if (!reg) {
        fprintf(stderr, "%s: out of memory\n", c->prog);
        loader_free(plugins);
        diag_free(&diags);
        return SEC_EXIT_FAIL;
    }
    for (i = 0; i < c->cfg->n_sources; i++) {
        const cfg_source *cs = &c->cfg->sources[i];
        const registry_source *rs;

        if (!cs->enabled) {
            if (!ck.arr)
                printf("%s: disabled, not checked\n", cs->name);
            continue;
        }
        rs = registry_find(reg, cs->name);
        if (!rs) {
            invalid++;
            if (ck.arr)
                json_array_append_new(ck.arr,
                                      json_pack("{s:o, s:n, s:b, s:s}", "source",
                                                cli_jstr(cs->name), "option", "ok", 0,
                                                "error", "the source is not valid"));
            else
                printf("%s: FAILED: the source is not valid, so its connection secrets cannot be "
                   "checked (see '%s check-config')\n", cs->name, c->prog);
        } else {
            for (j = 0; j < rs->n_options; j++) {
                const registry_option *o = &rs->options[j];
                if ((o->def->flags & DSRC_OPT_SECRET) && o->value)
                    sec_check_one(&ck, cs->name, NULL, o->def->name, o->value,
                                  o->from_default);
            }
        }
        for (j = 0; j < cs->n_cloud; j++)
            if (cs->cloud[j].key && cs->cloud[j].text && sec_cloud_secret(cs->cloud[j].key))
                sec_check_one(&ck, cs->name, "cloud", cs->cloud[j].key, cs->cloud[j].text,
                              0);
        if (cs->tls_key_passphrase)
            sec_check_one(&ck, cs->name, "tls", "key_passphrase", cs->tls_key_passphrase,
                          0);
    }
    if (ck.arr) {
        cli_json_print(json_pack("{s:I, s:I, s:I, s:o}", "checked", (json_int_t)ck.checked,
                                 "failed", (json_int_t)ck.failed, "invalid_sources",
                                 (json_int_t)invalid, "secrets", ck.arr));
    } else {
        printf("%zu secret(s) checked, %zu failed", ck.checked, ck.failed);
        if (invalid)
            printf(", %zu source(s) not valid", invalid);
        printf("\n");
    }
    fflush(stdout);
    if (ck.failed || invalid)
        rc = SEC_EXIT_FAIL;
    keyring_free(ck.kr);
    derr_clear(&ck.kr_err);
    registry_free(reg);
    loader_free(plugins);
    diag_free(&diags);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                  */

#define SEC_KEYS_HELP                                                                     \
    "Keys are read from -k FILE, else from the key_file setting, else from\n"             \
    "$CREDENTIALS_DIRECTORY/dsrc.key, else from the DSRC_KEY environment variable\n"     \
    "(keys separated by commas).  The first key encrypts; every key decrypts.\n"

static const sec_cmd sec_cmds[] = {
    {"genkey", sec_genkey, "genkey [-o FILE]", "make a new key",
     "Make a new random Fernet key.  Without -o the key is printed on standard\n"
     "output; with -o FILE it is written to FILE, created with mode 0600 (an\n"
     "existing file is never overwritten).\n\n"
     "  -o, --output FILE   write the key to FILE\n"
     "\nTo rotate keys, put a new key on the first line of the key file, keep the\n"
     "old one below it, run 'secret rotate' on the configuration files, then\n"
     "remove the old key."},
    {"encrypt", sec_encrypt, "encrypt [-k FILE] < SECRET", "encrypt standard input",
     "Encrypt the secret read from standard input with the first key and print\n"
     "fernet:TOKEN, to be used as the value of a secret option.  On a terminal\n"
     "the input is not echoed and ends with Enter; otherwise all of standard\n"
     "input is read.  One trailing newline is stripped.  The secret is never\n"
     "taken from the command line.\n\n"
     "  -k, --key-file FILE   read the keys from FILE\n\n" SEC_KEYS_HELP},
    {"decrypt", sec_decrypt, "decrypt --show-plaintext [-k FILE] [TOKEN]",
     "print the plaintext of a token",
     "Decrypt TOKEN (with or without its fernet: prefix; read from standard\n"
     "input when not given) and print the plaintext.  Refused unless\n"
     "--show-plaintext is given.\n\n"
     "  --show-plaintext      confirm that the secret may be printed\n"
     "  -k, --key-file FILE   read the keys from FILE\n\n" SEC_KEYS_HELP},
    {"rotate", sec_rotate, "rotate [-k FILE] FILE...",
     "re-encrypt fernet: tokens in files",
     "Re-encrypt every fernet: token in each FILE that is not already under the\n"
     "first key, decrypting with any key.  Each file is rewritten atomically\n"
     "(a temporary file in the same directory, synced, renamed over it, with\n"
     "the same mode and owner); every byte outside the tokens is kept.  A\n"
     "token that no key decrypts leaves its file unchanged and is an error.\n\n"
     "  -k, --key-file FILE   read the keys from FILE\n\n" SEC_KEYS_HELP},
    {"check", sec_check, "check [-k FILE]", "resolve and report every secret",
     "Resolve every secret of every enabled source (secret connection options,\n"
     "cloud secrets, the TLS key passphrase) and print, for each, ok or why it\n"
     "fails.  Values are never printed.  Exit status 1 when any fails.\n\n"
     "  -k, --key-file FILE   read the keys from FILE\n\n" SEC_KEYS_HELP},
};
#define SEC_N_CMDS (sizeof sec_cmds / sizeof sec_cmds[0])

static const sec_cmd *sec_find(const char *name)
{
    size_t i;

    if (strcmp(name, "keygen") == 0)
        name = "genkey";
    for (i = 0; i < SEC_N_CMDS; i++)
        if (strcmp(sec_cmds[i].name, name) == 0)
            return &sec_cmds[i];
    return NULL;
}

static void sec_usage(FILE *fp, const char *prog)
{
    size_t i;

    fprintf(fp, "usage: %s secret COMMAND [OPTIONS]\n\nFernet keys and encrypted secret "
            "values.\n\nCommands:\n", prog);
    for (i = 0; i < SEC_N_CMDS; i++)
        fprintf(fp, "  %-42s %s\n", sec_cmds[i].usage, sec_cmds[i].summary);
    fprintf(fp, "\n" SEC_KEYS_HELP "\nRun '%s secret COMMAND --help' for details.\n"
            "Exit status: 0 ok, 1 failure, 2 usage error.\n", prog);
}

int cli_secret(int argc, char **argv, const cfg_config *cfg, const char *prog, int json)
{
    sec_ctx c;
    const sec_cmd *cmd;

    memset(&c, 0, sizeof c);
    c.cfg = cfg;
    c.prog = prog ? prog : "dsrc";
    c.key_file = cfg ? cfg->key_file : NULL;
    c.json = json;
    if (argc < 2) {
        sec_usage(stderr, c.prog);
        return SEC_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        sec_usage(stdout, c.prog);
        return SEC_EXIT_OK;
    }
    if (strcmp(argv[1], "help") == 0) {
        if (argc > 2 && (cmd = sec_find(argv[2]))) {
            printf("usage: %s secret %s\n\n%s\n", c.prog, cmd->usage, cmd->help);
            return SEC_EXIT_OK;
        }
        sec_usage(argc > 2 ? stderr : stdout, c.prog);
        return argc > 2 ? SEC_EXIT_USAGE : SEC_EXIT_OK;
    }
    if (!(cmd = sec_find(argv[1]))) {
        fprintf(stderr, "%s secret: unknown command '%s'\n", c.prog, argv[1]);
        sec_usage(stderr, c.prog);
        return SEC_EXIT_USAGE;
    }
    return cmd->run(&c, cmd, argc - 1, argv + 1);
}

/* ------------------------------------------------------------------------ */
/* secret                                                                    */

int cli_cmd_secret(cli *c, int argc, char **argv)
{
    int rc;

    int help = 0, k;

    for (k = 1; k < argc; k++)
        if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0)
            help = 1;
    if (argc >= 2 && strcmp(argv[1], "check") == 0 && !help) {
        /* check resolves every secret: it needs a valid configuration. */
        if ((rc = cli_load_config(c, 0)))
            return rc;
    } else {
        /* The config, when there is one, only tells where the keys are. */
        if (!c->conf_path)
            c->conf_path = getenv("DSRC_CONFIG");
        if (!c->conf_path)
            c->conf_path = CLI_DEFAULT_CONF;
        if (c->conf_explicit || access(c->conf_path, F_OK) == 0) {
            c->cfg = cfg_load(c->conf_path, &c->diags);
            if (!c->cfg) {
                diag_print(&c->diags, stderr);
                return CLI_EXIT_CONFIG;
            }
        }
    }
    return cli_secret(argc, argv, c->cfg, c->prog, c->json);
}

char *cli_secret_read_line(const char *prog, const char *prompt)
{
    sec_buf b = {0};

    if (sec_read(prog, prompt, 1, &b) < 0) {
        sec_buf_wipe(&b);
        return NULL;
    }
    return b.p;
}
