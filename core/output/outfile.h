/* SPDX-License-Identifier: Apache-2.0 */
/*
 * outfile.h -- durable output files.
 *
 * An outfile is written to a temporary name in the destination's directory
 * (".NAME.PID.XXXXXX.tmp", PID the writer's, the file flock'ed while it is
 * open), hashed with SHA-256 as it is written, and on commit fsynced,
 * renamed over NAME and the directory fsynced, so a reader sees either the
 * old file or the whole new one, never a part.  Commit is also three steps
 * (prepare, publish, finish) for a caller that puts several files in place
 * together: until finish, abort undoes a publish (the older file comes
 * back, or nothing is left under NAME).  Abort removes the temporary file.
 * The temporary files of writers that died (SIGKILL, a crash) are removed
 * by the next open in the same directory (outfile_sweep).  Run as root, a
 * file or directory made in a directory owned by another user (the
 * daemon's workspace, owned by dsrc) gets that owner and that directory's
 * group: root leaves nothing there its owner cannot replace.  Large files are hashed and written by threads of their own while
 * the caller goes on, with O_DIRECT where the file system allows it (see
 * outfile.c); the caller sees the same calls and errors.  The same object can write to stdout ("-"): no temporary,
 * no rename, still counted and hashed; so can a character device, a FIFO or
 * a Unix socket named as the path (outfile_is_stream): written to as it is,
 * never replaced or removed.
 */
#ifndef DSRC_CORE_OUTFILE_H
#define DSRC_CORE_OUTFILE_H

#include <stdint.h>
#include "base/error.h"

typedef struct outfile outfile;

/* Open for writing; path "-" means stdout.  A path naming a character
 * device, FIFO or socket is opened and written directly; a directory or any
 * other non-regular file is refused.  Otherwise creates missing parent
 * directories (mode 0750), sweeps the directory and makes a temporary file
 * there.  Returns NULL with e filled on failure. */
outfile *outfile_open(const char *path, derr *e);

/* Write; returns 0 or -1 (errno set). Matches format_out_fn. */
int outfile_write(void *of, const void *data, size_t len);

/* 1 when of is written directly (stdout, a device, a FIFO, a socket): no
 * temporary file, nothing renamed, no manifest beside it. */
int outfile_is_stream(const outfile *of);

/* Make it durable under its final name: prepare, publish, finish (or
 * abort on a failure).  Frees of in every case. */
dsrc_status outfile_commit(outfile *of, derr *e);

/* Commit in steps.  prepare: write what is staged and fsync the temporary
 * file (a stream: report a failed write).  publish: rename it over its
 * final name (an older regular file of that name is kept aside) and fsync
 * the directory.  On failure of either, of is left for outfile_abort.
 * finish: drop the older file and free of. */
dsrc_status outfile_prepare(outfile *of, derr *e);
dsrc_status outfile_publish(outfile *of, derr *e);
void outfile_finish(outfile *of);

/* Discard: remove the temporary file, or undo a publish (the older file
 * back under the final name, or nothing there).  Frees of.  NULL is fine. */
void outfile_abort(outfile *of);

/* For a process about to exit without finishing its outfiles (dsrc fetch
 * past its grace period after a signal): remove the temporary file of every
 * outfile being written.  Final names are untouched; the outfiles stay
 * allocated, later writes go to the unlinked files and a later commit
 * fails.  Async-signal-safe; it knows at most 8 temporaries at once. */
void outfile_discard_temps(void);

/* The identity of a file ("DEV:INO") into buf, for telling later that a
 * name still holds that very file (a rename keeps it).  outfile_id: the
 * file of, "" for a stream. */
#define OUTFILE_ID_MAX 48
struct stat;
void outfile_stat_id(const struct stat *st, char buf[OUTFILE_ID_MAX]);
void outfile_id(const outfile *of, char buf[OUTFILE_ID_MAX]);

uint64_t outfile_bytes(const outfile *of);
/* Lowercase hex SHA-256 of everything written so far (65 bytes with NUL).
 * Waits until those bytes are written; writing may go on afterwards. */
void outfile_sha256(outfile *of, char hex[65]);
const char *outfile_path(const outfile *of);

/* Write a whole small file atomically with the same protocol (mode 0640).
 * Used for manifests and state.  A path that is not a regular file (or
 * none yet) is refused. */
dsrc_status outfile_write_all(const char *path, const void *data, size_t len, derr *e);

/* The same, up to and including outfile_prepare: the file is durable under
 * its temporary name, for the caller to publish or abort.  NULL with e set
 * on failure (nothing left behind). */
outfile *outfile_stage_all(const char *path, const void *data, size_t len, derr *e);

/* Remove from dir the temporary files of writers that are gone: names of
 * outfile's pattern whose pid is no live process and that no process holds
 * locked.  Returns how many were removed, or -1 (errno) when dir cannot be
 * read. */
int outfile_sweep(const char *dir);

/* outfile_sweep in root and every directory below it (not following
 * symbolic links).  Returns how many were removed, -1 when root cannot be
 * read. */
int outfile_sweep_tree(const char *root);

/* mkdir -p with mode; returns 0 or -1 (errno set).  Each directory made
 * in a shared directory is shared too (outfile_share).  Run as root, each
 * directory made in a directory owned by another user gets that owner and
 * group (as outfile_open's files do). */
int outfile_mkdirs(const char *dir, unsigned mode);

/* When `dir` (stat'ed by the caller) is shared with its group, as the
 * packages make the state directory (setgid and group-writable, like a git
 * repository with core.sharedRepository=group): give `path`, made by this
 * process in `dir`, the group permissions its owner has, so that the
 * daemon's user and every member of the group can write or replace it
 * whatever their umask.  Nothing when `dir` is not shared, or `path` is
 * absent, a symbolic link or another user's.  0, or -1 with errno. */
struct stat;
int outfile_share(const char *path, const struct stat *dir);

#endif
