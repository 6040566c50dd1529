/* SPDX-License-Identifier: Apache-2.0 */
/* instance.c -- one dsrcd per state directory and control socket; see
 * instance.h. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/instance.h"

struct instance {
    int fd;         /* the locked pid file                                 */
    char *path;
};

int instance_socket_live(const char *path, pid_t *pid)
{
    struct sockaddr_un sa;
    struct ucred cred;
    socklen_t len = sizeof cred;
    int fd, r;

    *pid = 0;
    if (!path || strlen(path) >= sizeof sa.sun_path)
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    /* Non-blocking: a listener with a full backlog answers EAGAIN at once
     * instead of holding us up. */
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
        return 0;
    do
        r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    while (r < 0 && errno == EINTR);
    /* A full backlog (EAGAIN) is a live listener too. */
    if (r < 0 && errno != EAGAIN) {
        close(fd);
        return 0;
    }
    if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
        *pid = cred.pid;
    close(fd);
    return 1;
}

/* The pid written in the file open as fd, or 0. */
static pid_t instance_read_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    long v;

    if (n <= 0)
        return 0;
    buf[n] = '\0';
    v = strtol(buf, NULL, 10);
    return v > 0 ? (pid_t)v : 0;
}

/* mkdir -p, mode 0750 for what is made.  0, or -1 with errno set. */
static int instance_mkdirs(const char *dir)
{
    char *copy = strdup(dir), *p;
    int rc = 0;

    if (!copy)
        return -1;
    for (p = copy; *p; ) {
        char c;
        p += 1 + strcspn(p + 1, "/");
        c = *p;
        *p = '\0';
        if (mkdir(copy, 0750) < 0 && errno != EEXIST) {
            rc = -1;
            break;
        }
        *p = c;
    }
    free(copy);
    return rc;
}

/* Open and lock in->path into in->fd.  0, or -1 with errno set
 * (EWOULDBLOCK: another process holds the lock; in->fd is then open).  A
 * file removed by its previous owner between our open and our lock is
 * opened again, so two daemons never hold locks on different files. */
static int instance_lock(instance *in)
{
    struct stat a, b;
    int tries;

    for (tries = 0; tries < 10; tries++) {
        in->fd = open(in->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
        if (in->fd < 0)
            return -1;
        if (flock(in->fd, LOCK_EX | LOCK_NB) < 0)
            return -1;
        if (fstat(in->fd, &a) == 0 && stat(in->path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino)
            return 0;
        close(in->fd);
        in->fd = -1;
    }
    errno = EBUSY;
    return -1;
}

int instance_claim(const char *state_dir, const char *node, const char *control_socket,
                   instance **out, derr *e)
{
    instance *in;
    pid_t other;

    *out = NULL;
    if (!(in = calloc(1, sizeof *in))) {
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return -1;
    }
    in->fd = -1;
    if (state_dir) {
        if (instance_mkdirs(state_dir) < 0) {
            derr_set(e, DSRC_E_PERMISSION, "cannot make state_dir %s: %s", state_dir,
                     strerror(errno));
            goto fail;
        }
        if ((node ? asprintf(&in->path, "%s/dsrcd.%s.pid", state_dir, node)
                  : asprintf(&in->path, "%s/%s", state_dir, INSTANCE_PID_FILE)) < 0) {
            in->path = NULL;
            derr_set(e, DSRC_E_INTERNAL, "out of memory");
            goto fail;
        }
        if (instance_lock(in) < 0) {
            if (errno != EWOULDBLOCK) {
                derr_set(e, DSRC_E_PERMISSION, "cannot lock the pid file %s: %s", in->path,
                         strerror(errno));
                goto fail;
            }
            other = instance_read_pid(in->fd);
            if (other)
                derr_set(e, DSRC_E_PERMISSION,
                         "another dsrcd (pid %ld) is running with state_dir %s (it holds "
                         "%s); stop it first", (long)other, state_dir, in->path);
            else
                derr_set(e, DSRC_E_PERMISSION,
                         "another dsrcd is running with state_dir %s (it holds %s); stop "
                         "it first", state_dir, in->path);
            close(in->fd);
            in->fd = -1;  /* not ours: never removed */
            free(in->path);
            free(in);
            return 1;
        }
    }
    if (control_socket && instance_socket_live(control_socket, &other)) {
        if (other)
            derr_set(e, DSRC_E_PERMISSION,
                     "another dsrcd (pid %ld) is listening on the control socket %s; stop "
                     "it first or choose another control_socket", (long)other, control_socket);
        else
            derr_set(e, DSRC_E_PERMISSION,
                     "another process is listening on the control socket %s; stop it first "
                     "or choose another control_socket", control_socket);
        instance_release(in);
        return 1;
    }
    *out = in;
    return 0;
fail:
    if (in->fd >= 0)
        close(in->fd);
    free(in->path);
    free(in);
    return -1;
}

int instance_set_pid(instance *in, pid_t pid, derr *e)
{
    char buf[32];
    int n;

    if (!in || in->fd < 0)
        return 0;
    n = snprintf(buf, sizeof buf, "%ld\n", (long)pid);
    if (ftruncate(in->fd, 0) < 0 || pwrite(in->fd, buf, (size_t)n, 0) != n) {
        derr_set(e, DSRC_E_INTERNAL, "cannot write the pid file %s: %s", in->path,
                 strerror(errno));
        return -1;
    }
    return 0;
}

void instance_release(instance *in)
{
    if (!in)
        return;
    if (in->fd >= 0) {
        /* Removed while still locked, so a new daemon cannot have locked
         * the file we remove. */
        unlink(in->path);
        close(in->fd);
    }
    free(in->path);
    free(in);
}
