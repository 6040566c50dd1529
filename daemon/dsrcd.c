/* SPDX-License-Identifier: Apache-2.0 */
/* dsrcd -- the dsrc daemon (see dsrcd(8)); all the work is in daemon.c. */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/prctl.h>

#include "daemon.h"
#include "isolate/isolate.h"

int main(int argc, char **argv)
{
    int rc = isolate_worker_main(argc, argv); /* a plugin worker process */

    if (rc >= 0)
        return rc;
    /* The daemon holds decrypted secrets: no core dump, and no ptrace or
     * /proc/PID/mem for its own user (dsrcd(8), SECURITY). */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        fprintf(stderr, "dsrcd: warning: cannot disable core dumps: %s\n", strerror(errno));
    return daemon_main(argc, argv);
}
