/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nearest.h -- "did you mean": the known name nearest to a mistyped one.
 */
#ifndef DSRC_CORE_NEAREST_H
#define DSRC_CORE_NEAREST_H

#include <stddef.h>

/* Of the n names in v (NULL entries skipped), the one nearest to `word`
 * by edit distance (insertions, deletions, substitutions and swaps of two
 * neighbours) when it is near enough to be a typo: at most 1 for a word
 * of up to 5 characters, 2 for a longer one, and not word itself.  NULL
 * when none is; the result points into v. */
const char *nearest_name(const char *word, const char *const *v, size_t n);

#endif
