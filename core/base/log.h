/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h -- logging for dsrcd and dsrc.
 *
 * Lines go to stderr ("TIME dsrcd: LEVEL [source/plugin] message") or to the
 * journal (with SOURCE= and PLUGIN= fields and PRIORITY=).  Every message is
 * passed through redact_dup() before it is written.
 */
#ifndef DSRC_CORE_LOG_H
#define DSRC_CORE_LOG_H

#include <dsrc/plugin.h>

typedef enum log_target {
    LOG_TARGET_STDERR = 0,
    LOG_TARGET_JOURNAL = 1
} log_target;

/* Set the program name, target and the most verbose level written. */
void log_init(const char *ident, log_target target, dsrc_log_level level);
void log_set_level(dsrc_log_level level);

/* Whether lines on stderr start with an ISO 8601 UTC time
 * (2024-01-31T12:00:00.123Z).  Default: yes, unless stderr is the
 * journal's stream ($JOURNAL_STREAM), which stamps lines itself.  With the
 * journal as target and no journal to write to, lines go to stderr. */
void log_set_timestamps(int on);
dsrc_log_level log_get_level(void);

/* "error", "warning", "notice", "info", "debug" -> level; -1 when unknown. */
int log_level_parse(const char *name);
const char *log_level_name(dsrc_log_level level);

/* "stderr" / "journal" -> target; -1 when unknown (or journal without
 * systemd support). */
int log_target_parse(const char *name);

/* The run the calling thread works for (0: none): until it is set back to
 * 0, its messages carry the id, as "run N: " on stderr and as the
 * journal field DSRC_RUN_ID. */
void log_set_run(int64_t id);

/* For a program that reports errors itself (dsrc): remember the last few
 * lines written on stderr, so that log_recent(TEXT) tells whether one of
 * them contained TEXT; and log_suppress(TEXT) (TEXT copied; NULL: none)
 * keeps a later line that contains TEXT off stderr, as already said.
 * Each error is then printed once, by whichever comes first. */
void log_keep_recent(int on);
int log_recent(const char *text);
void log_suppress(const char *text);

/* Write one line.  source and plugin may be NULL. */
void log_msg(dsrc_log_level level, const char *source, const char *plugin,
             const char *fmt, ...) DSRC_PRINTF(4, 5);
void log_vmsg(dsrc_log_level level, const char *source, const char *plugin,
              const char *fmt, va_list ap);

/* Hand every line, redacted, to `fn` instead of writing it (NULL: write
 * again).  A plugin worker process (core/isolate) forwards its lines to
 * the host this way. */
typedef void (*log_forward_fn)(dsrc_log_level level, const char *source,
                               const char *plugin, const char *msg);
void log_set_forward(log_forward_fn fn);

/* What writes a line to the journal: sd_journal_sendv(), set by dsrcd,
 * the one program that links libsystemd (dsrc and a plugin worker never
 * log to the journal).  Without it, LOG_TARGET_JOURNAL writes to stderr
 * as when no journald is running. */
struct iovec;
typedef int (*log_journal_fn)(const struct iovec *iov, int n);
void log_set_journal(log_journal_fn fn);

/* The MESSAGE_IDs (sd-id128, fixed for ever; dsrcd(8)) of the events an
 * operator alerts on.  Drift has one per kind of change (catalog.h). */
#define LOG_MID_SOURCE_DOWN "5678c36e1b8f44bcac33a59f83787101"  /* health -> down     */
#define LOG_MID_SOURCE_UP "1bcb628256d84d5dbdc897afab6ba44b"    /* health -> healthy  */
#define LOG_MID_BREAKER_OPEN "4a59811ad7924d0b86a331308f2760ad" /* a breaker opened   */
#define LOG_MID_RUN_FAILED "f250d3b3f6e442edb4f2189541dfe214"   /* a run failed       */
#define LOG_MID_WORKER_DIED "9d1f3c2e7a6b4e58b0c4d2a17e35f6c8"  /* a plugin worker died */
#define LOG_MID_WORKER_QUARANTINED "3e8a5b71c0d94f26a1b7e4c9d6028f53" /* crash loop */

/* log_msg() with a journal MESSAGE_ID (32 hex digits, e.g. a catalog
 * change kind's, catalog.h), so that journalctl MESSAGE_ID=... finds every
 * message of its kind; on stderr the line is the same as log_msg()'s. */
void log_msg_id(dsrc_log_level level, const char *source, const char *plugin,
                const char *message_id, const char *fmt, ...) DSRC_PRINTF(5, 6);

#endif
