/* SPDX-License-Identifier: Apache-2.0 */
/* nearest.c -- see nearest.h */
#include <config.h>

#include <string.h>

#include "base/nearest.h"

/* The edit distance of a and b (insertions, deletions, substitutions and
 * swaps of two neighbours), or SIZE_MAX for long words. */
static size_t edit_distance(const char *a, const char *b)
{
    unsigned char d[33][33];
    size_t la = strlen(a), lb = strlen(b), i, j;

    if (la > 32 || lb > 32)
        return (size_t)-1;
    for (i = 0; i <= la; i++)
        d[i][0] = (unsigned char)i;
    for (j = 0; j <= lb; j++)
        d[0][j] = (unsigned char)j;
    for (i = 1; i <= la; i++)
        for (j = 1; j <= lb; j++) {
            unsigned v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1u < v)
                v = d[i - 1][j] + 1u;
            if (d[i][j - 1] + 1u < v)
                v = d[i][j - 1] + 1u;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1u < v)
                v = d[i - 2][j - 2] + 1u;
            d[i][j] = (unsigned char)v;
        }
    return d[la][lb];
}

const char *nearest_name(const char *word, const char *const *v, size_t n)
{
    const char *best = NULL;
    size_t i, d, best_d = (size_t)-1, limit = word && strlen(word) > 5 ? 2 : 1;

    for (i = 0; word && i < n; i++) {
        if (!v[i])
            continue;
        d = edit_distance(word, v[i]);
        if (d < best_d) {
            best_d = d;
            best = v[i];
        }
    }
    return best && best_d > 0 && best_d <= limit ? best : NULL;
}
