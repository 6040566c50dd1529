/* SPDX-License-Identifier: Apache-2.0 */
/* secret.c -- see secret.h */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/redact.h"
#include "secret/secret.h"

#define SECRET_PREFIX_FERNET "fernet:"
#define SECRET_PREFIX_ENV "env:"
#define SECRET_PREFIX_FILE "file:"

static int secret_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

secret_kind secret_kind_of(const char *value)
{
    if (!value)
        return SECRET_PLAIN;
    if (secret_has_prefix(value, SECRET_PREFIX_FERNET))
        return SECRET_FERNET;
    if (secret_has_prefix(value, SECRET_PREFIX_ENV))
        return SECRET_ENV;
    if (secret_has_prefix(value, SECRET_PREFIX_FILE))
        return SECRET_FILE;
    return SECRET_PLAIN;
}

int secret_is_reference(const char *value)
{
    return secret_kind_of(value) != SECRET_PLAIN;
}

const char *secret_kind_name(secret_kind kind)
{
    switch (kind) {
    case SECRET_PLAIN: return "plain";
    case SECRET_FERNET: return "fernet";
    case SECRET_ENV: return "env";
    case SECRET_FILE: return "file";
    }
    return "plain";
}

void secret_free_buf(char *buf, size_t len)
{
    if (!buf)
        return;
    OPENSSL_cleanse(buf, len + 1);
    free(buf);
}

void secret_free(char *value)
{
    if (value)
        secret_free_buf(value, strlen(value));
}

dsrc_status secret_read_private_file(const char *path, const char *what, size_t max,
                                     char **buf, size_t *len, derr *e)
{
    struct stat st;
    char *b = NULL;
    size_t got = 0;
    int fd, err;
    dsrc_status rc = DSRC_OK;

    *buf = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        err = errno;
        if (err == ENOENT || err == ENOTDIR)
            return derr_set(e, DSRC_E_NOT_FOUND, "%s %s does not exist", what, path);
        return derr_set(e, err == EACCES ? DSRC_E_PERMISSION : DSRC_E_INVALID_CONFIG,
                        "cannot open %s %s: %s", what, path, strerror(err));
    }
    if (fstat(fd, &st) < 0) {
        rc = derr_set(e, DSRC_E_INVALID_CONFIG, "cannot stat %s %s: %s", what, path,
                      strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = derr_set(e, DSRC_E_INVALID_CONFIG, "%s %s is not a regular file", what, path);
        goto out;
    }
    /* Group read is allowed for a file root owns: /etc/dsrc/dsrc.key is
     * root:dsrc 0640 so that the daemon and group dsrc share it. */
    if (st.st_mode & (st.st_uid == 0 ? 037 : 077)) {
        rc = derr_set(e, DSRC_E_PERMISSION,
                      "permissions %04o for %s %s are too open: it must not be accessible "
                      "by group or others (group may read it when root owns it); "
                      "fix with: chmod 600 %s",
                      (unsigned)(st.st_mode & 07777), what, path, path);
        goto out;
    }
    if ((uintmax_t)st.st_size > (uintmax_t)max) {
        rc = derr_set(e, DSRC_E_INVALID_CONFIG, "%s %s is larger than %zu bytes", what, path,
                      max);
        goto out;
    }
    if (!(b = malloc((size_t)st.st_size + 1))) {
        rc = derr_set(e, DSRC_E_INTERNAL, "out of memory reading %s %s", what, path);
        goto out;
    }
    for (;;) {
        char probe;
        ssize_t n;

        if (got < (size_t)st.st_size)
            n = read(fd, b + got, (size_t)st.st_size - got);
        else
            n = read(fd, &probe, 1); /* must be at end of file now */
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = derr_set(e, DSRC_E_INVALID_CONFIG, "cannot read %s %s: %s", what, path,
                          strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (got == (size_t)st.st_size) {
            OPENSSL_cleanse(&probe, 1);
            rc = derr_set(e, DSRC_E_INVALID_CONFIG, "%s %s changed while being read", what,
                          path);
            break;
        }
        got += (size_t)n;
    }
    if (rc != DSRC_OK) {
        secret_free_buf(b, (size_t)st.st_size);
        goto out;
    }
    if (got < (size_t)st.st_size)
        OPENSSL_cleanse(b + got, (size_t)st.st_size - got);
    b[got] = '\0';
    *buf = b;
    *len = got;
out:
    close(fd);
    return rc;
}

static int secret_env_name_ok(const char *name)
{
    const char *p;

    if (!((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') || *name == '_'))
        return 0;
    for (p = name + 1; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

static dsrc_status secret_env_ref_ok(const char *name, derr *e)
{
    if (!secret_env_name_ok(name))
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "env: reference needs a variable name ([A-Za-z_][A-Za-z0-9_]*)");
    return DSRC_OK;
}

static dsrc_status secret_from_env(const char *name, char **out, derr *e)
{
    const char *v;

    if (secret_env_ref_ok(name, e) != DSRC_OK)
        return e->status;
    if (!(v = getenv(name)))
        return derr_set(e, DSRC_E_NOT_FOUND, "environment variable %s is not set", name);
    if (!(*out = strdup(v)))
        return derr_set(e, DSRC_E_INTERNAL, "out of memory");
    return DSRC_OK;
}

static dsrc_status secret_file_path_ok(const char *path, derr *e)
{
    if (path[0] != '/')
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "file: reference needs an absolute path (file:/path/to/secret)");
    return DSRC_OK;
}

dsrc_status secret_check_reference(const char *value, derr *e)
{
    struct stat st;
    const char *arg;

    switch (secret_kind_of(value)) {
    case SECRET_ENV:
        return secret_env_ref_ok(value + strlen(SECRET_PREFIX_ENV), e);
    case SECRET_FILE:
        arg = value + strlen(SECRET_PREFIX_FILE);
        if (secret_file_path_ok(arg, e) != DSRC_OK)
            return e->status;
        if (stat(arg, &st) < 0)
            return derr_set(e, errno == ENOENT || errno == ENOTDIR ? DSRC_E_NOT_FOUND
                                                                   : DSRC_E_PERMISSION,
                            "secret file %s: %s", arg, strerror(errno));
        if (!S_ISREG(st.st_mode))
            return derr_set(e, DSRC_E_INVALID_CONFIG, "secret file %s is not a regular file",
                            arg);
        return DSRC_OK;
    case SECRET_PLAIN:
    case SECRET_FERNET:
    default:
        return DSRC_OK;
    }
}

static dsrc_status secret_from_file(const char *path, char **out, derr *e)
{
    char *buf;
    size_t len;
    dsrc_status rc;

    if (secret_file_path_ok(path, e) != DSRC_OK)
        return e->status;
    rc = secret_read_private_file(path, "secret file", SECRET_MAX_FILE, &buf, &len, e);
    if (rc != DSRC_OK)
        return rc;
    if (memchr(buf, '\0', len)) {
        secret_free_buf(buf, len);
        return derr_set(e, DSRC_E_INVALID_CONFIG, "secret file %s contains a NUL byte", path);
    }
    if (len && buf[len - 1] == '\n') {
        buf[--len] = '\0';
        if (len && buf[len - 1] == '\r')
            buf[--len] = '\0';
    }
    *out = buf;
    return DSRC_OK;
}

static dsrc_status secret_from_fernet(const char *token, const keyring *kr, const char *key_file,
                                      char **out, derr *e)
{
    keyring *own = NULL;
    unsigned char *plain = NULL;
    size_t len = 0;
    dsrc_status rc;

    if (!kr) {
        rc = keyring_load(key_file, &own, e);
        if (rc != DSRC_OK)
            return rc;
        kr = own;
    }
    rc = keyring_decrypt(kr, token, strlen(token), &plain, &len, NULL, NULL, e);
    keyring_free(own);
    if (rc != DSRC_OK)
        return rc;
    if (memchr(plain, '\0', len)) {
        fernet_free(plain, len);
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "the Fernet token decrypts to a value containing a NUL byte");
    }
    *out = (char *)plain;
    return DSRC_OK;
}

dsrc_status secret_resolve(const char *value, const keyring *kr, const char *key_file,
                           char **out, secret_kind *kind, derr *e)
{
    secret_kind k = secret_kind_of(value);
    dsrc_status rc;

    *out = NULL;
    if (kind)
        *kind = k;
    if (!value)
        return derr_set(e, DSRC_E_INVALID_CONFIG, "no value");
    switch (k) {
    case SECRET_FERNET:
        rc = secret_from_fernet(value + strlen(SECRET_PREFIX_FERNET), kr, key_file, out, e);
        break;
    case SECRET_ENV:
        rc = secret_from_env(value + strlen(SECRET_PREFIX_ENV), out, e);
        break;
    case SECRET_FILE:
        rc = secret_from_file(value + strlen(SECRET_PREFIX_FILE), out, e);
        break;
    case SECRET_PLAIN:
    default:
        rc = (*out = strdup(value)) ? DSRC_OK : derr_set(e, DSRC_E_INTERNAL, "out of memory");
        break;
    }
    if (rc != DSRC_OK)
        return rc;
    if (redact_add(*out) < 0) {
        secret_free(*out);
        *out = NULL;
        return derr_set(e, DSRC_E_INTERNAL, "out of memory");
    }
    return DSRC_OK;
}
