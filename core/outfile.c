/* outfile.c -- durable output files; see outfile.h */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "outfile.h"

/* Mode of finished files: the daemon's user and group may read them. */
#define OUTFILE_MODE 0640
#define OUTFILE_DIR_MODE 0750

struct outfile {
    char *path;      /* final name, or "-"                               */
    char *tmp;       /* temporary name; NULL for stdout                   */
    char *dir;       /* directory holding both; NULL for stdout           */
    int fd;
    int is_stdout;
    int failed;      /* a write failed: commit refuses                    */
    int err;         /* its errno                                         */
    uint64_t bytes;
    uint64_t flushed; /* bytes handed to the kernel's writeback so far     */
    EVP_MD_CTX *md;
};

/* Write-behind: once this many bytes are written past the last hand-off,
 * ask the kernel to start writing them to disk (sync_file_range), so the
 * disk works while the data still arrives and the fsync at commit has
 * little left to do. */
#define OUTFILE_WRITE_BEHIND (8u << 20)

static dsrc_status outfile_status(int err)
{
    switch (err) {
    case EACCES:
    case EPERM:
    case EROFS:
        return DSRC_E_PERMISSION;
    default:
        return DSRC_E_INTERNAL;
    }
}

static void outfile_free(outfile *of)
{
    if (!of)
        return;
    EVP_MD_CTX_free(of->md);
    free(of->path);
    free(of->tmp);
    free(of->dir);
    free(of);
}

int outfile_mkdirs(const char *dir, unsigned mode)
{
    char *buf, *p;
    struct stat st;
    int rc = 0;

    if (!dir || !*dir) {
        errno = ENOENT;
        return -1;
    }
    buf = strdup(dir);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    /* Each prefix ending before a '/', then the whole path. */
    for (p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, (mode_t)mode) != 0) {
                int err = errno;
                /* An existing directory is fine whatever mkdir said (it
                 * may say EACCES or EROFS before EEXIST). */
                if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
                    errno = err == EEXIST ? ENOTDIR : err;
                    rc = -1;
                }
            }
            *p = saved;
        }
        if (rc != 0 || *p == '\0')
            break;
        while (p[1] == '/')
            p++;
        if (p[1] == '\0')
            break;
    }
    free(buf);
    return rc;
}

/* Split path into a malloc'd directory ("." when none) and a pointer to the
 * base name inside path.  Returns -1 (errno) on a bad path. */
static int outfile_split(const char *path, char **dir, const char **base)
{
    const char *slash = strrchr(path, '/');

    if (!slash) {
        *dir = strdup(".");
        *base = path;
    } else {
        *base = slash + 1;
        if (slash == path)
            *dir = strdup("/");
        else
            *dir = strndup(path, (size_t)(slash - path));
    }
    if (!*dir) {
        errno = ENOMEM;
        return -1;
    }
    if (**base == '\0' || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0) {
        free(*dir);
        *dir = NULL;
        errno = EISDIR;
        return -1;
    }
    return 0;
}

outfile *outfile_open(const char *path, derr *e)
{
    outfile *of;
    const char *base;
    int err;

    if (!path || !*path) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "output path is empty");
        return NULL;
    }
    of = calloc(1, sizeof *of);
    if (!of || !(of->path = strdup(path)) || !(of->md = EVP_MD_CTX_new()) ||
        EVP_DigestInit_ex(of->md, EVP_sha256(), NULL) != 1) {
        outfile_free(of);
        derr_set(e, DSRC_E_INTERNAL, "cannot open %s: out of memory", path);
        return NULL;
    }
    of->fd = -1;
    if (strcmp(path, "-") == 0) {
        of->is_stdout = 1;
        of->fd = STDOUT_FILENO;
        return of;
    }
    if (outfile_split(path, &of->dir, &base) != 0) {
        err = errno;
        derr_set(e, err == ENOMEM ? DSRC_E_INTERNAL : DSRC_E_INVALID_ARGUMENT,
                 "cannot write %s: %s", path,
                 strerror(err));
        outfile_free(of);
        return NULL;
    }
    {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            derr_set(e, DSRC_E_INVALID_ARGUMENT, "cannot write %s: %s", path,
                     strerror(EISDIR));
            outfile_free(of);
            return NULL;
        }
    }
    if (outfile_mkdirs(of->dir, OUTFILE_DIR_MODE) != 0) {
        err = errno;
        derr_set(e, outfile_status(err), "cannot create directory %s for %s: %s",
                 of->dir, path, strerror(err));
        outfile_free(of);
        return NULL;
    }
    if (asprintf(&of->tmp, "%s/.%s.XXXXXX.tmp", of->dir, base) < 0) {
        of->tmp = NULL;
        derr_set(e, DSRC_E_INTERNAL, "cannot open %s: out of memory", path);
        outfile_free(of);
        return NULL;
    }
    of->fd = mkostemps(of->tmp, 4, O_CLOEXEC);
    if (of->fd < 0) {
        err = errno;
        derr_set(e, outfile_status(err), "cannot create a temporary file in %s for %s: %s",
                 of->dir, path, strerror(err));
        outfile_free(of);
        return NULL;
    }
    if (fchmod(of->fd, OUTFILE_MODE) != 0) {
        err = errno;
        derr_set(e, outfile_status(err), "cannot set the mode of %s: %s", of->tmp,
                 strerror(err));
        outfile_abort(of);
        return NULL;
    }
    return of;
}

int outfile_write(void *v, const void *data, size_t len)
{
    outfile *of = v;
    const char *p = data;

    if (of->failed) {
        errno = of->err;
        return -1;
    }
    if (len == 0)
        return 0;
    if (EVP_DigestUpdate(of->md, data, len) != 1) {
        of->failed = 1;
        of->err = errno = ENOMEM;
        return -1;
    }
    while (len > 0) {
        ssize_t n = write(of->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            of->failed = 1;
            of->err = errno;
            return -1;
        }
        if (n == 0) {
            of->failed = 1;
            of->err = errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        of->bytes += (uint64_t)n;
    }
    if (!of->is_stdout && of->bytes - of->flushed >= OUTFILE_WRITE_BEHIND) {
        /* Only a hint: the fsync at commit is what makes the file durable,
         * so a file system without sync_file_range loses nothing. */
        (void)sync_file_range(of->fd, (off_t)of->flushed, (off_t)(of->bytes - of->flushed),
                              SYNC_FILE_RANGE_WRITE);
        of->flushed = of->bytes;
    }
    return 0;
}

/* fsync a directory so a rename in it is durable. */
static int outfile_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc, err;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    err = errno;
    close(fd);
    errno = err;
    /* Some file systems cannot fsync a directory; that is not a failure. */
    if (rc != 0 && (err == EINVAL || err == EROFS))
        rc = 0;
    return rc;
}

dsrc_status outfile_commit(outfile *of, derr *e)
{
    dsrc_status st = DSRC_OK;
    int err;

    if (!of)
        return derr_set(e, DSRC_E_INTERNAL, "no output file to commit");
    if (of->is_stdout) {
        if (of->failed)
            st = derr_set(e, outfile_status(of->err), "cannot write to standard output: %s",
                          strerror(of->err));
        outfile_free(of);
        return st;
    }
    if (of->failed) {
        st = derr_set(e, outfile_status(of->err), "cannot write %s: %s", of->path,
                      strerror(of->err));
        outfile_abort(of);
        return st;
    }
    if (fsync(of->fd) != 0) {
        err = errno;
        st = derr_set(e, outfile_status(err), "cannot flush %s to disk: %s", of->path,
                      strerror(err));
        outfile_abort(of);
        return st;
    }
    err = close(of->fd) != 0 ? errno : 0;
    of->fd = -1;
    if (err) {
        st = derr_set(e, outfile_status(err), "cannot write %s: %s", of->path, strerror(err));
        outfile_abort(of);
        return st;
    }
    if (rename(of->tmp, of->path) != 0) {
        err = errno;
        st = derr_set(e, outfile_status(err), "cannot rename %s to %s: %s", of->tmp,
                      of->path, strerror(err));
        outfile_abort(of);
        return st;
    }
    if (outfile_sync_dir(of->dir) != 0) {
        /* The file is in place; only its durability across a crash is in
         * doubt, and the caller must not advance a cursor over it. */
        err = errno;
        st = derr_set(e, outfile_status(err), "cannot flush directory %s to disk: %s",
                      of->dir, strerror(err));
    }
    outfile_free(of);
    return st;
}

void outfile_abort(outfile *of)
{
    if (!of)
        return;
    if (!of->is_stdout) {
        if (of->fd >= 0)
            close(of->fd);
        if (of->tmp)
            unlink(of->tmp);
    }
    outfile_free(of);
}

uint64_t outfile_bytes(const outfile *of)
{
    return of ? of->bytes : 0;
}

void outfile_sha256(const outfile *of, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    hex[0] = '\0';
    if (!c || !of || EVP_MD_CTX_copy_ex(c, of->md) != 1 ||
        EVP_DigestFinal_ex(c, md, &n) != 1 || n != 32) {
        EVP_MD_CTX_free(c);
        return;
    }
    EVP_MD_CTX_free(c);
    for (i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

const char *outfile_path(const outfile *of)
{
    return of ? of->path : NULL;
}

dsrc_status outfile_write_all(const char *path, const void *data, size_t len, derr *e)
{
    outfile *of;
    int err;

    if (path && strcmp(path, "-") == 0)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT, "cannot write a state or manifest file to standard output");
    of = outfile_open(path, e);
    if (!of)
        return e ? e->status : DSRC_E_INTERNAL;
    if (outfile_write(of, data, len) != 0) {
        err = errno;
        dsrc_status st = derr_set(e, outfile_status(err), "cannot write %s: %s", path,
                                  strerror(err));
        outfile_abort(of);
        return st;
    }
    return outfile_commit(of, e);
}
