/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h -- logging for dsrcd and dsrc.
 *
 * Lines go to stderr ("dsrcd[pid]: LEVEL [source/plugin] message") or to the
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

/* Write one line.  source and plugin may be NULL. */
void log_msg(dsrc_log_level level, const char *source, const char *plugin,
             const char *fmt, ...) DSRC_PRINTF(4, 5);
void log_vmsg(dsrc_log_level level, const char *source, const char *plugin,
              const char *fmt, va_list ap);

/* log_msg() with a journal MESSAGE_ID (32 hex digits, e.g. a catalog
 * change kind's, catalog.h), so that journalctl MESSAGE_ID=... finds every
 * message of its kind; on stderr the line is the same as log_msg()'s. */
void log_msg_id(dsrc_log_level level, const char *source, const char *plugin,
                const char *message_id, const char *fmt, ...) DSRC_PRINTF(5, 6);

#endif
