/* SPDX-License-Identifier: Apache-2.0 */
/* unit_tmp.h -- removing a test's temporary directory with all it holds. */
#ifndef DSRC_TESTS_UNIT_TMP_H
#define DSRC_TESTS_UNIT_TMP_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

static int unit_tmp_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag != FTW_SL && flag != FTW_SLN)
        chmod(path, 0700); /* a test may have made it read-only */
    return remove(path);
}

/* Remove `dir` and everything below it (symbolic links are not followed). */
static inline void unit_tmp_remove(const char *dir)
{
    nftw(dir, unit_tmp_rm, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
