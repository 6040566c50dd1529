/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fdlimit.h -- running out of file descriptors, told as such.
 *
 * When a process reaches its descriptor limit (RLIMIT_NOFILE) every open,
 * socket, accept or pipe fails with EMFILE (ENFILE: the whole system is
 * out), and a library that calls them reports something vague ("unable
 * to open database file").  fd_exhausted() tells whether that is the
 * cause and fd_describe() says what holds the descriptors, so that the
 * error names the limit to raise.
 *
 * Every function is thread-safe and opens no descriptor.
 */
#ifndef DSRC_BASE_FDLIMIT_H
#define DSRC_BASE_FDLIMIT_H

#include <stddef.h>

/* EMFILE or ENFILE when the process cannot have one more descriptor now:
 * `err` (the errno a failed call left, 0 when unknown) is one of them, or
 * a duplicate of descriptor 0 fails with one of them.  0 otherwise. */
int fd_exhausted(int err);

/* "too many open files (EMFILE: N open, limit SOFT, hard limit HARD; A
 * files, B sockets, C pipes, D other)" in buf (always terminated), for
 * err (EMFILE or ENFILE).  The counts come from fstat() of every
 * descriptor below the limit (at most 1 048 576 are looked at). */
void fd_describe(char *buf, size_t n, int err);

/* strerror(err), or fd_describe() in buf when err is EMFILE or ENFILE:
 * for "cannot open X: %s" messages. */
const char *fd_strerror(int err, char *buf, size_t n);

#endif
