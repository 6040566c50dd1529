/* SPDX-License-Identifier: Apache-2.0 */
/* fdlimit.c -- see fdlimit.h */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdlimit.h"

#define FD_SCAN_MAX (1L << 20)

int fd_exhausted(int err)
{
    int fd;

    if (err == EMFILE || err == ENFILE)
        return err;
    fd = fcntl(0, F_DUPFD_CLOEXEC, 0);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    if (errno == EMFILE || errno == ENFILE)
        return errno;
    return 0;
}

static void rlim_str(char *buf, size_t n, rlim_t v)
{
    if (v == RLIM_INFINITY)
        snprintf(buf, n, "unlimited");
    else
        snprintf(buf, n, "%llu", (unsigned long long)v);
}

void fd_describe(char *buf, size_t n, int err)
{
    struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
    long top, fd, open = 0, files = 0, socks = 0, pipes = 0, other = 0;
    char soft[32], hard[32];

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
    top = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)FD_SCAN_MAX
              ? FD_SCAN_MAX : (long)rl.rlim_cur;
    for (fd = 0; fd < top; fd++) {
        struct stat st;
        if (fstat((int)fd, &st) != 0)
            continue;
        open++;
        if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
            files++;
        else if (S_ISSOCK(st.st_mode))
            socks++;
        else if (S_ISFIFO(st.st_mode))
            pipes++;
        else
            other++;
    }
    rlim_str(soft, sizeof soft, rl.rlim_cur);
    rlim_str(hard, sizeof hard, rl.rlim_max);
    snprintf(buf, n,
             "too many open files (%s: %ld open, limit %s, hard limit %s; %ld files, "
             "%ld sockets, %ld pipes, %ld other)",
             err == ENFILE ? "ENFILE, the system's table is full" : "EMFILE", open, soft, hard,
             files, socks, pipes, other);
}

const char *fd_strerror(int err, char *buf, size_t n)
{
    if (err != EMFILE && err != ENFILE)
        return strerror(err);
    fd_describe(buf, n, err);
    return buf;
}
