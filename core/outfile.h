/*
 * outfile.h -- durable output files.
 *
 * An outfile is written to a temporary name in the destination's directory
 * (".NAME.XXXXXX.tmp"), hashed with SHA-256 as it is written, and on commit
 * fsynced, renamed over NAME and the directory fsynced, so a reader sees
 * either the old file or the whole new one, never a part.  Abort removes the
 * temporary file.  Large files are written by a thread of their own while
 * the caller goes on, with O_DIRECT where the file system allows it (see
 * outfile.c); the caller sees the same calls and errors.  The same object can write to stdout ("-"): no temporary,
 * no rename, still counted and hashed.
 */
#ifndef DSRC_CORE_OUTFILE_H
#define DSRC_CORE_OUTFILE_H

#include <stdint.h>
#include "error.h"

typedef struct outfile outfile;

/* Open for writing; path "-" means stdout.  Creates missing parent
 * directories (mode 0750).  Returns NULL with e filled on failure. */
outfile *outfile_open(const char *path, derr *e);

/* Write; returns 0 or -1 (errno set). Matches fmt_out_fn. */
int outfile_write(void *of, const void *data, size_t len);

/* Make it durable under its final name.  Frees of in every case. */
dsrc_status outfile_commit(outfile *of, derr *e);

/* Discard: remove the temporary file.  Frees of.  NULL is fine. */
void outfile_abort(outfile *of);

/* For a process about to exit without finishing its outfiles (dsrc fetch
 * past its grace period after a signal): remove the temporary file of every
 * outfile being written.  Final names are untouched; the outfiles stay
 * allocated, later writes go to the unlinked files and a later commit
 * fails.  Async-signal-safe; it knows at most 8 temporaries at once. */
void outfile_discard_temps(void);

uint64_t outfile_bytes(const outfile *of);
/* Lowercase hex SHA-256 of everything written so far (65 bytes with NUL).
 * Waits until those bytes are written; writing may go on afterwards. */
void outfile_sha256(outfile *of, char hex[65]);
const char *outfile_path(const outfile *of);

/* Write a whole small file atomically with the same protocol (mode 0640).
 * Used for manifests and state. */
dsrc_status outfile_write_all(const char *path, const void *data, size_t len, derr *e);

/* mkdir -p with mode; returns 0 or -1 (errno set). */
int outfile_mkdirs(const char *dir, unsigned mode);

#endif
