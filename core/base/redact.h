/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redact.h -- the process-wide list of secret values, and scrubbing.
 *
 * Every secret the host resolves (or reads from a config) is registered
 * here; redact_dup() replaces each occurrence of any registered secret in a
 * string by "***".  The logger, derr and every printer use it, so a secret
 * echoed by a backend's error message never reaches an operator.
 * Thread-safe.  Secrets shorter than 3 bytes are not registered (they would
 * mangle ordinary text); they are still never printed because nothing prints
 * a secret option's value in the first place.
 */
#ifndef DSRC_CORE_REDACT_H
#define DSRC_CORE_REDACT_H

#include <stddef.h>

#define REDACTED "***"

/* Register a secret value (copied).  Returns 0, or -1 on allocation failure. */
int redact_add(const char *secret);

/* Forget all registered secrets (wiping the copies). */
void redact_clear(void);

/* A malloc'd copy of s with every registered secret replaced by "***".
 * Returns NULL only on allocation failure or when s is NULL. */
char *redact_dup(const char *s);

#endif
