/* SPDX-License-Identifier: Apache-2.0 */
/* outfile.c -- durable output files; see outfile.h */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/fdlimit.h"
#include "output/outfile.h"

/* Mode of finished files: the daemon's user and group may read them. */
#define OUTFILE_MODE 0640
#define OUTFILE_DIR_MODE 0750 /* group-writable in a shared directory */

/*
 * A regular file is written through OUTFILE_NBUF staging buffers of
 * OUTFILE_BUF bytes.  The caller's thread only copies bytes into the buffer
 * being filled; full buffers go, in file order, to two threads (started
 * with the first full buffer, so small files never start them): the hasher,
 * which hashes them, and the putter, which writes each at its offset, so
 * that the disk's time and the hash's CPU overlap each other and the
 * caller's filling; a buffer is filled again once both are done with it.
 * Full buffers are aligned in memory and on disk, so they are written with
 * O_DIRECT where the file system allows it: no copy into the page cache and
 * no writeback left for the fsync at commit.  Elsewhere they are written
 * through the page cache, and the kernel is asked to start writing them out
 * at once (sync_file_range), so the disk works while data still arrives.
 * Nothing is fsynced before commit: an fdatasync while the putter writes
 * holds that write up for as long as the disk takes to flush its cache
 * (on the virtio disk measured, 60 to 130 ms for each 64 MiB), and the
 * caller soon after, whereas the fsync at commit, after O_DIRECT writes,
 * has little left to do.  The last, partial buffer is written by the
 * caller's thread after both have finished (outfile_sha256, commit),
 * without O_DIRECT.  Standard output redirected to a regular file (`-o - >
 * FILE`) is staged the same way, so that the hasher, not the caller,
 * hashes it; its buffers are written in order with write() at the file's
 * own position (it may be opened for appending), without O_DIRECT
 * (standard output is not fsynced).  Any other standard output (a
 * terminal, a pipe) is written directly, as it comes, so that a reader
 * sees the rows as they arrive.
 */
#define OUTFILE_BUF (2u << 20)
#define OUTFILE_NBUF 6
/* Buffers are aligned on their size (a multiple of the 4 KiB O_DIRECT
 * needs) and, but for the first (a small file touches only a few pages of
 * it), backed by one huge page each where the kernel allows: 512 page
 * faults fewer per buffer, each costly in a virtual machine. */
#define OUTFILE_ALIGN OUTFILE_BUF

/* one of the two threads that take a file's full buffers */
struct outfile_worker {
    struct outfile *of;
    int hash;        /* 1: the hasher; 0: the putter                      */
};

struct outfile {
    char *path;      /* final name, or "-"                               */
    char *tmp;       /* temporary name; NULL for a stream                 */
    char *dir;       /* directory holding both; NULL for a stream         */
    char *old;       /* the file it replaced, kept until finish; or NULL  */
    int fd;
    int is_stdout;   /* a stream: stdout, a device, a FIFO or a socket    */
    int seq;         /* a stream staged all the same: stdout to a regular
                      * file, written in order at the file's position    */
    int own_fd;      /* a stream we opened (closed at the end)            */
    int published;   /* renamed to its final name                         */
    int failed;      /* a write failed: commit refuses                    */
    int err;         /* its errno                                         */
    uint64_t bytes;  /* accepted from the caller                          */
    EVP_MD_CTX *md;  /* the hasher's while it runs, then the caller's */
    /* staging (regular files) */
    unsigned char *buf[OUTFILE_NBUF];
    int fill;        /* the buffer being filled                           */
    size_t fill_len;
    uint64_t fill_off; /* its offset in the file                          */
    int plain;       /* staging is over: write at once (after a drain)    */
    int direct;      /* O_DIRECT is set on fd                             */
    /* the hasher and the putter (see outfile_worker_main) */
    int thread_on;
    pthread_t th[2];
    struct outfile_worker worker[2];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t start_off;          /* offset of the first buffer submitted  */
    uint64_t submitted;          /* full buffers handed over, in order;   */
    uint64_t hashed, put;        /* of which hashed, written (buffer n is
                                  * buf[n % OUTFILE_NBUF])               */
    int quit;
    int werr;                    /* the first errno of either, or 0       */
    int live;                    /* 1 + its slot in outfile_live; 0 none  */
};

/* The temporary names being written, for outfile_discard_temps(): each
 * slot owns a copy (NULL: free).  Lock-free, so the discard may run in a
 * signal handler or while an owner is inside any outfile call. */
#define OUTFILE_LIVE_MAX 8
static char *_Atomic outfile_live[OUTFILE_LIVE_MAX];

static void outfile_track(outfile *of)
{
    char *copy = strdup(of->tmp);
    int i;

    for (i = 0; copy && i < OUTFILE_LIVE_MAX && !of->live; i++) {
        char *none = NULL;
        if (atomic_compare_exchange_strong(&outfile_live[i], &none, copy))
            of->live = i + 1;
    }
    if (!of->live)
        free(copy);
}

static void outfile_untrack(outfile *of)
{
    if (of->live)
        free(atomic_exchange(&outfile_live[of->live - 1], NULL));
    of->live = 0;
}

void outfile_discard_temps(void)
{
    int i;

    /* the copies are left allocated: free() is not async-signal-safe */
    for (i = 0; i < OUTFILE_LIVE_MAX; i++) {
        char *p = atomic_exchange(&outfile_live[i], NULL);
        if (p)
            unlink(p);
    }
}

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

static void outfile_stop_writer(outfile *of, int discard);

static void outfile_free(outfile *of)
{
    int i;

    if (!of)
        return;
    outfile_untrack(of);
    outfile_stop_writer(of, 1);
    if (of->fd >= 0 && (!of->is_stdout || of->own_fd))
        close(of->fd);
    for (i = 0; i < OUTFILE_NBUF; i++)
        free(of->buf[i]);
    EVP_MD_CTX_free(of->md);
    free(of->path);
    free(of->tmp);
    free(of->dir);
    free(of->old);
    free(of);
}

/* Run as root, what is made in a directory owned by another user (the
 * daemon's workspace) gets that owner and the directory's group, so that
 * root leaves nothing there its owner cannot replace.  1 with *st the
 * directory's when so; else 0. */
static int outfile_owner(const char *dir, struct stat *st)
{
    return geteuid() == 0 && stat(dir, st) == 0 && st->st_uid != 0;
}

int outfile_share(const char *path, const struct stat *dir)
{
    struct stat st;
    mode_t want;

    if (!(dir->st_mode & S_ISGID) || !(dir->st_mode & S_IWGRP))
        return 0;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (st.st_uid != geteuid() || S_ISLNK(st.st_mode))
        return 0;
    want = (st.st_mode & 07777) | ((st.st_mode & S_IRWXU) >> 3);
    return want == (st.st_mode & 07777) ? 0 : chmod(path, want);
}

/* The directory `path` was just made: share it with the group of a shared
 * parent (outfile_share), then give it its parent's owner (outfile_owner).
 * 0, or -1 with errno. */
static int outfile_give_dir(char *path)
{
    char *slash = strrchr(path, '/');
    const char *parent = !slash ? "." : slash == path ? "/" : path;
    struct stat st;
    int rc = 0;

    if (slash && slash != path)
        *slash = '\0';
    if (stat(parent, &st) != 0)
        rc = -1;
    if (slash && slash != path)
        *slash = '/';
    if (rc == 0 && outfile_share(path, &st) != 0)
        rc = -1;
    if (rc == 0 && geteuid() == 0 && st.st_uid != 0)
        rc = lchown(path, st.st_uid, st.st_gid);
    return rc;
}

/* The mode to make directory `path` with: `mode`, and in a shared parent
 * (setgid, group-writable) the group's bits as the owner's, so that no
 * chmod is needed afterwards when the umask lets them through (dsrcd's unit
 * forbids setting the setgid bit, which a chmod of a directory that
 * inherited it would do). */
static mode_t outfile_dir_mode(char *path, unsigned mode)
{
    char *slash = strrchr(path, '/');
    struct stat st;
    int shared;

    if (!slash)
        shared = stat(".", &st) == 0;
    else if (slash == path)
        shared = stat("/", &st) == 0;
    else {
        *slash = '\0';
        shared = stat(path, &st) == 0;
        *slash = '/';
    }
    shared = shared && (st.st_mode & S_ISGID) && (st.st_mode & S_IWGRP);
    return (mode_t)(shared ? mode | ((mode & S_IRWXU) >> 3) : mode);
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
            if (mkdir(buf, outfile_dir_mode(buf, mode)) != 0) {
                int err = errno;
                /* An existing directory is fine whatever mkdir said (it
                 * may say EACCES or EROFS before EEXIST). */
                if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
                    errno = err == EEXIST ? ENOTDIR : err;
                    rc = -1;
                }
            } else if (outfile_give_dir(buf) != 0) {
                rc = -1;
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

/* Connect to a Unix stream socket at path.  An fd, or -1 with errno. */
static int outfile_connect(const char *path)
{
    struct sockaddr_un sa;
    int fd, err;

    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

/* path names something other than a regular file (st): a character
 * device, FIFO or socket is opened to be written directly (1); anything
 * else is refused (-1, e set).  0: a regular file, or nothing yet. */
static int outfile_open_special(outfile *of, const char *path, const struct stat *st,
                                derr *e)
{
    int err;

    if (S_ISREG(st->st_mode))
        return 0;
    if (S_ISDIR(st->st_mode)) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "cannot write %s: %s", path, strerror(EISDIR));
        return -1;
    }
    if (!S_ISCHR(st->st_mode) && !S_ISFIFO(st->st_mode) && !S_ISSOCK(st->st_mode)) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT,
                 "cannot write %s: not a regular file, a character device, a FIFO or a "
                 "socket", path);
        return -1;
    }
    of->fd = S_ISSOCK(st->st_mode) ? outfile_connect(path)
                                   : open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (of->fd < 0) {
        char why[320];
        err = errno;
        derr_set(e, outfile_status(err), "cannot open %s: %s", path,
                 fd_strerror(err, why, sizeof why));
        return -1;
    }
    of->is_stdout = 1;
    of->own_fd = 1;
    return 1;
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
        struct stat st;
        of->is_stdout = 1;
        of->fd = STDOUT_FILENO;
        of->seq = fstat(of->fd, &st) == 0 && S_ISREG(st.st_mode);
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
        int special = stat(path, &st) == 0 ? outfile_open_special(of, path, &st, e) : 0;
        if (special != 0) {
            if (special < 0) {
                outfile_free(of);
                return NULL;
            }
            free(of->dir);
            of->dir = NULL;
            return of;
        }
    }
    if (outfile_mkdirs(of->dir, OUTFILE_DIR_MODE) != 0) {
        err = errno;
        derr_set(e, outfile_status(err), "cannot create directory %s for %s: %s",
                 of->dir, path, strerror(err));
        outfile_free(of);
        return NULL;
    }
    (void)outfile_sweep(of->dir);
    if (asprintf(&of->tmp, "%s/.%s.%ld.XXXXXX.tmp", of->dir, base, (long)getpid()) < 0) {
        of->tmp = NULL;
        derr_set(e, DSRC_E_INTERNAL, "cannot open %s: out of memory", path);
        outfile_free(of);
        return NULL;
    }
    of->fd = mkostemps(of->tmp, 4, O_CLOEXEC);
    if (of->fd < 0) {
        char why[320];
        err = errno;
        derr_set(e, outfile_status(err), "cannot create a temporary file in %s for %s: %s",
                 of->dir, path, fd_strerror(err, why, sizeof why));
        outfile_free(of);
        return NULL;
    }
    outfile_track(of);
    /* Held until the file is finished or abandoned: a sweep removes only
     * the temporary files no process holds (outfile_sweep). */
    if (flock(of->fd, LOCK_EX) != 0 || fchmod(of->fd, OUTFILE_MODE) != 0) {
        err = errno;
        derr_set(e, outfile_status(err), "cannot lock or set the mode of %s: %s", of->tmp,
                 strerror(err));
        outfile_abort(of);
        return NULL;
    }
    {
        struct stat st;
        if (outfile_owner(of->dir, &st) && fchown(of->fd, st.st_uid, st.st_gid) != 0) {
            err = errno;
            derr_set(e, outfile_status(err), "cannot give %s to the owner of %s: %s", of->tmp,
                     of->dir, strerror(err));
            outfile_abort(of);
            return NULL;
        }
    }
    return of;
}

/* Write all of data at off (the file's own position is not used).  In
 * direct mode a refusal (EINVAL: the file system does not do O_DIRECT after
 * all) or a short write turns O_DIRECT off and the rest goes through the
 * page cache.  0, or -1 with errno. */
static int outfile_pwrite(outfile *of, const unsigned char *p, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = of->seq ? write(of->fd, p, len) : pwrite(of->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EINVAL && of->direct) {
            of->direct = 0;
            if (fcntl(of->fd, F_SETFL, fcntl(of->fd, F_GETFL) & ~O_DIRECT) != 0)
                return -1;
            continue;
        }
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
        if (len > 0 && of->direct) {
            of->direct = 0;
            if (fcntl(of->fd, F_SETFL, fcntl(of->fd, F_GETFL) & ~O_DIRECT) != 0)
                return -1;
        }
    }
    return 0;
}

/* Hash one block: in file order, by the hasher while it runs, else by the
 * caller.  0, or -1 with errno. */
static int outfile_hash(outfile *of, const unsigned char *p, size_t len)
{
    if (EVP_DigestUpdate(of->md, p, len) != 1) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* Write one block at off.  0, or -1 with errno. */
static int outfile_put(outfile *of, const unsigned char *p, size_t len, uint64_t off)
{
    if (outfile_pwrite(of, p, len, off) != 0)
        return -1;
    if (!of->direct && !of->seq && len >= OUTFILE_BUF)
        /* Only a hint: the fsync at commit is what makes the file durable,
         * so a file system without sync_file_range loses nothing. */
        (void)sync_file_range(of->fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
    return 0;
}

/* Hash and write one block of the file on the caller's thread.  0, or -1
 * with errno. */
static int outfile_block(outfile *of, const unsigned char *p, size_t len, uint64_t off)
{
    if (outfile_hash(of, p, len) != 0)
        return -1;
    return outfile_put(of, p, len, off);
}

/* The hasher (hash = 1) and the putter (hash = 0): each takes the
 * submitted buffers in file order, the hasher to hash them, the putter to
 * write them; a buffer is free again once both are done with it.  After a
 * failure both drop the rest (the file has failed). */
static void *outfile_worker_main(void *arg)
{
    const struct outfile_worker *w = arg;
    outfile *of = w->of;
    uint64_t *done = w->hash ? &of->hashed : &of->put;

    pthread_mutex_lock(&of->mu);
    for (;;) {
        uint64_t seq;
        int b, rc;
        while (*done == of->submitted && !of->quit)
            pthread_cond_wait(&of->cv, &of->mu);
        if (*done == of->submitted)
            break;
        seq = *done;
        b = (int)(seq % OUTFILE_NBUF);
        if (!of->werr) {
            uint64_t off = of->start_off + seq * OUTFILE_BUF;
            pthread_mutex_unlock(&of->mu);
            rc = w->hash ? outfile_hash(of, of->buf[b], OUTFILE_BUF)
                         : outfile_put(of, of->buf[b], OUTFILE_BUF, off);
            pthread_mutex_lock(&of->mu);
            if (rc != 0 && !of->werr)
                of->werr = errno ? errno : EIO;
        }
        (*done)++;
        pthread_cond_broadcast(&of->cv);
    }
    pthread_mutex_unlock(&of->mu);
    return NULL;
}

/* Wait for the hasher and the putter to finish (or, discarding, drop)
 * what they hold and end them; their failure becomes the file's. */
static void outfile_stop_writer(outfile *of, int discard)
{
    if (!of->thread_on)
        return;
    pthread_mutex_lock(&of->mu);
    if (discard && !of->werr)
        of->werr = ECANCELED;
    of->quit = 1;
    pthread_cond_broadcast(&of->cv);
    pthread_mutex_unlock(&of->mu);
    pthread_join(of->th[0], NULL);
    pthread_join(of->th[1], NULL);
    pthread_cond_destroy(&of->cv);
    pthread_mutex_destroy(&of->mu);
    of->thread_on = 0;
    if (of->werr && !discard && !of->failed) {
        of->failed = 1;
        of->err = of->werr;
    }
}

/* Start the hasher and the putter.  0, or -1 when they cannot be had
 * (nothing is left started). */
static int outfile_start_writer(outfile *of)
{
    if (pthread_mutex_init(&of->mu, NULL) != 0)
        return -1;
    if (pthread_cond_init(&of->cv, NULL) != 0) {
        pthread_mutex_destroy(&of->mu);
        return -1;
    }
    of->quit = 0;
    of->submitted = of->hashed = of->put = 0;
    of->start_off = of->fill_off;
    of->worker[0].of = of;
    of->worker[0].hash = 1;
    of->worker[1].of = of;
    of->worker[1].hash = 0;
    if (pthread_create(&of->th[0], NULL, outfile_worker_main, &of->worker[0]) != 0)
        goto fail;
    if (pthread_create(&of->th[1], NULL, outfile_worker_main, &of->worker[1]) != 0) {
        pthread_mutex_lock(&of->mu);
        of->quit = 1;
        pthread_cond_broadcast(&of->cv);
        pthread_mutex_unlock(&of->mu);
        pthread_join(of->th[0], NULL);
        goto fail;
    }
    of->thread_on = 1;
    return 0;
fail:
    pthread_cond_destroy(&of->cv);
    pthread_mutex_destroy(&of->mu);
    return -1;
}

/* Hand the full buffer to the hasher and the putter (starting them on the
 * first) and take the next free one.  0, or -1 with the file failed. */
static int outfile_submit(outfile *of)
{
    int b = of->fill;

    if (!of->thread_on) {
        if (of->fill_off == 0 && !of->seq &&
            fcntl(of->fd, F_SETFL, fcntl(of->fd, F_GETFL) | O_DIRECT) == 0)
            of->direct = 1;
        if (outfile_start_writer(of) != 0) {
            if (of->direct) {
                of->direct = 0;
                if (fcntl(of->fd, F_SETFL, fcntl(of->fd, F_GETFL) & ~O_DIRECT) != 0) {
                    of->failed = 1;
                    of->err = errno;
                    return -1;
                }
            }
            goto inline_write;
        }
    }
    pthread_mutex_lock(&of->mu);
    if (of->werr) {
        of->failed = 1;
        of->err = of->werr;
        pthread_mutex_unlock(&of->mu);
        return -1;
    }
    of->submitted++;
    pthread_cond_broadcast(&of->cv);
    /* the next buffer is free once both are past its previous use */
    while (of->submitted >= OUTFILE_NBUF &&
           (of->hashed <= of->submitted - OUTFILE_NBUF || of->put <= of->submitted - OUTFILE_NBUF))
        pthread_cond_wait(&of->cv, &of->mu);
    of->fill = (int)(of->submitted % OUTFILE_NBUF);
    pthread_mutex_unlock(&of->mu);
    of->fill_len = 0;
    of->fill_off += OUTFILE_BUF;
    return 0;

inline_write:
    /* no thread to be had: write it here, through the page cache */
    if (outfile_block(of, of->buf[b], OUTFILE_BUF, of->fill_off) != 0) {
        of->failed = 1;
        of->err = errno;
        return -1;
    }
    of->fill_len = 0;
    of->fill_off += OUTFILE_BUF;
    return 0;
}

/* End staging: the writer finishes, then the partial buffer is written
 * here; later writes go straight to the file.  0, or -1 (failed). */
static int outfile_drain(outfile *of)
{
    if ((of->is_stdout && !of->seq) || of->plain)
        return of->failed ? -1 : 0;
    outfile_stop_writer(of, 0);
    of->plain = 1;
    if (of->failed)
        return -1;
    if (of->direct) {
        of->direct = 0;
        if (fcntl(of->fd, F_SETFL, fcntl(of->fd, F_GETFL) & ~O_DIRECT) != 0) {
            of->failed = 1;
            of->err = errno;
            return -1;
        }
    }
    if (of->fill_len > 0 &&
        outfile_block(of, of->buf[of->fill], of->fill_len, of->fill_off) != 0) {
        of->failed = 1;
        of->err = errno;
        return -1;
    }
    of->fill_off += of->fill_len;
    of->fill_len = 0;
    return 0;
}

int outfile_write(void *v, const void *data, size_t len)
{
    outfile *of = v;
    const unsigned char *p = data;

    if (of->failed) {
        errno = of->err;
        return -1;
    }
    if (len == 0)
        return 0;
    if (of->is_stdout && !of->seq) {
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
        return 0;
    }
    if (of->plain) {
        if (outfile_block(of, p, len, of->fill_off) != 0) {
            of->failed = 1;
            of->err = errno;
            return -1;
        }
        of->fill_off += len;
        of->bytes += len;
        return 0;
    }
    while (len > 0) {
        size_t n;
        if (!of->buf[of->fill]) {
            of->buf[of->fill] = aligned_alloc(OUTFILE_ALIGN, OUTFILE_BUF);
            if (of->buf[of->fill] && of->fill_off > 0)
                (void)madvise(of->buf[of->fill], OUTFILE_BUF, MADV_HUGEPAGE); /* a hint */
            if (!of->buf[of->fill]) {
                of->failed = 1;
                of->err = errno = ENOMEM;
                return -1;
            }
        }
        n = OUTFILE_BUF - of->fill_len;
        if (n > len)
            n = len;
        memcpy(of->buf[of->fill] + of->fill_len, p, n);
        of->fill_len += n;
        of->bytes += n;
        p += n;
        len -= n;
        if (of->fill_len == OUTFILE_BUF && outfile_submit(of) != 0) {
            errno = of->err;
            return -1;
        }
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

dsrc_status outfile_prepare(outfile *of, derr *e)
{
    int err;

    if (!of)
        return derr_set(e, DSRC_E_INTERNAL, "no output file to commit");
    if (of->is_stdout) {
        if (!of->failed)
            (void)outfile_drain(of);
        if (of->failed)
            return derr_set(e, outfile_status(of->err), "cannot write %s: %s",
                            of->own_fd ? of->path : "to standard output", strerror(of->err));
        return DSRC_OK;
    }
    if (of->failed || outfile_drain(of) != 0)
        return derr_set(e, outfile_status(of->err), "cannot write %s: %s", of->path,
                        strerror(of->err));
    if (fsync(of->fd) != 0) {
        err = errno;
        of->failed = 1;
        of->err = err;
        return derr_set(e, outfile_status(err), "cannot flush %s to disk: %s", of->path,
                        strerror(err));
    }
    return DSRC_OK;
}

dsrc_status outfile_publish(outfile *of, derr *e)
{
    struct stat st;
    int err;

    if (!of)
        return derr_set(e, DSRC_E_INTERNAL, "no output file to commit");
    if (of->is_stdout || of->published)
        return DSRC_OK;
    /* An older file of that name is kept under a name of ours until the
     * new one is finished, so that an undo can put it back. */
    if (lstat(of->path, &st) == 0 && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
        if (asprintf(&of->old, "%.*s.old.tmp", (int)(strlen(of->tmp) - 4), of->tmp) < 0) {
            of->old = NULL;
            return derr_set(e, DSRC_E_INTERNAL, "cannot commit %s: out of memory", of->path);
        }
        /* a file system without hard links: moved aside instead (for a
         * moment the name is free) */
        if (link(of->path, of->old) != 0 && rename(of->path, of->old) != 0) {
            err = errno;
            free(of->old);
            of->old = NULL;
            return derr_set(e, outfile_status(err), "cannot keep the older %s: %s", of->path,
                            strerror(err));
        }
    } else if (lstat(of->path, &st) == 0) {
        /* it became a device, FIFO or directory since it was opened */
        return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                        "cannot write %s: no longer a regular file", of->path);
    }
    if (rename(of->tmp, of->path) != 0) {
        err = errno;
        if (of->old) {
            if (access(of->path, F_OK) == 0)
                unlink(of->old);
            else
                (void)rename(of->old, of->path);
            free(of->old);
            of->old = NULL;
        }
        return derr_set(e, outfile_status(err), "cannot rename %s to %s: %s", of->tmp,
                        of->path, strerror(err));
    }
    of->published = 1;
    if (outfile_sync_dir(of->dir) != 0) {
        /* The file is in place, but might not be after a crash: the caller
         * undoes it (outfile_abort) rather than count on it. */
        err = errno;
        return derr_set(e, outfile_status(err), "cannot flush directory %s to disk: %s",
                        of->dir, strerror(err));
    }
    return DSRC_OK;
}

void outfile_finish(outfile *of)
{
    if (!of)
        return;
    if (of->old)
        unlink(of->old);
    outfile_free(of);
}

dsrc_status outfile_commit(outfile *of, derr *e)
{
    dsrc_status st = outfile_prepare(of, e);

    if (st == DSRC_OK)
        st = outfile_publish(of, e);
    if (st != DSRC_OK)
        outfile_abort(of);
    else
        outfile_finish(of);
    return st;
}

void outfile_abort(outfile *of)
{
    if (!of)
        return;
    if (of->seq)
        (void)outfile_drain(of); /* a stream keeps what it was given */
    outfile_stop_writer(of, 1);
    if (of->published) {
        /* undo the rename: the older file back, or nothing */
        if (of->old ? rename(of->old, of->path) == 0 : unlink(of->path) == 0)
            (void)outfile_sync_dir(of->dir);
        free(of->old);
        of->old = NULL;
    } else if (!of->is_stdout && of->tmp) {
        unlink(of->tmp);
    }
    outfile_free(of);
}

/* A name outfile_open gives its temporary files, ".NAME.PID.XXXXXX.tmp",
 * or a kept older file, ".NAME.PID.XXXXXX.old.tmp": the writer's pid, or 0
 * when name is neither. */
static long outfile_tmp_owner(const char *name)
{
    size_t len = strlen(name);
    const char *p;
    long pid = 0, mul = 1;

    if (name[0] != '.' || len < 16 || strcmp(name + len - 4, ".tmp") != 0)
        return 0;
    len -= 4;
    if (len > 4 && strncmp(name + len - 4, ".old", 4) == 0)
        len -= 4;
    if (len < 10 || name[len - 7] != '.')
        return 0; /* the 6 characters mkostemps chose */
    for (p = name + len - 8; p > name && *p >= '0' && *p <= '9' && mul <= 1000000000L; p--) {
        pid += (*p - '0') * mul;
        mul *= 10;
    }
    if (p <= name + 1 || *p != '.' || p == name + len - 8)
        return 0;
    return pid;
}

int outfile_sweep(const char *dir)
{
    DIR *d;
    struct dirent *de;
    int dfd, n = 0;

    if (!dir || !(d = opendir(dir)))
        return -1;
    dfd = dirfd(d);
    while ((de = readdir(d))) {
        long pid = outfile_tmp_owner(de->d_name);
        struct stat st;
        int fd;

        /* A live process's files are never touched, nor any file a process
         * holds locked (a writer in another pid namespace). */
        if (pid <= 0 || (pid_t)pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
            unlinkat(dfd, de->d_name, 0) == 0)
            n++;
        close(fd);
    }
    closedir(d);
    return n;
}

static int outfile_sweep_total;

static int outfile_sweep_one(const char *path, const struct stat *st, int flag,
                             struct FTW *ftw)
{
    int n;

    (void)st;
    (void)ftw;
    if (flag == FTW_D && (n = outfile_sweep(path)) > 0)
        outfile_sweep_total += n;
    return 0;
}

int outfile_sweep_tree(const char *root)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    int n;

    if (!root || !*root)
        return 0;
    pthread_mutex_lock(&mu);
    outfile_sweep_total = 0;
    n = nftw(root, outfile_sweep_one, 16, FTW_PHYS) == 0 ? outfile_sweep_total : -1;
    pthread_mutex_unlock(&mu);
    return n;
}

uint64_t outfile_bytes(const outfile *of)
{
    return of ? of->bytes : 0;
}

void outfile_sha256(outfile *of, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    EVP_MD_CTX *c;

    hex[0] = '\0';
    if (of)
        (void)outfile_drain(of); /* a failure shows at commit */
    c = EVP_MD_CTX_new();
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

outfile *outfile_stage_all(const char *path, const void *data, size_t len, derr *e)
{
    outfile *of;
    struct stat st;
    int err;

    if (path && strcmp(path, "-") == 0) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "cannot write a state or manifest file to standard output");
        return NULL;
    }
    /* never opened: a FIFO would wait for a reader */
    if (path && stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "cannot write %s: not a regular file", path);
        return NULL;
    }
    of = outfile_open(path, e);
    if (!of)
        return NULL;
    if (outfile_write(of, data, len) != 0) {
        err = errno;
        derr_set(e, outfile_status(err), "cannot write %s: %s", path, strerror(err));
        outfile_abort(of);
        return NULL;
    }
    if (outfile_prepare(of, e) != DSRC_OK) {
        outfile_abort(of);
        return NULL;
    }
    return of;
}

dsrc_status outfile_write_all(const char *path, const void *data, size_t len, derr *e)
{
    outfile *of = outfile_stage_all(path, data, len, e);

    if (!of)
        return e ? e->status : DSRC_E_INTERNAL;
    return outfile_commit(of, e);
}

int outfile_is_stream(const outfile *of)
{
    return of ? of->is_stdout : 0;
}

void outfile_stat_id(const struct stat *st, char buf[OUTFILE_ID_MAX])
{
    snprintf(buf, OUTFILE_ID_MAX, "%llu:%llu", (unsigned long long)st->st_dev,
             (unsigned long long)st->st_ino);
}

void outfile_id(const outfile *of, char buf[OUTFILE_ID_MAX])
{
    struct stat st;

    buf[0] = '\0';
    if (of && !of->is_stdout && of->fd >= 0 && fstat(of->fd, &st) == 0)
        outfile_stat_id(&st, buf);
}
