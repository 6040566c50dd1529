/* dsrcd -- the dsrc daemon (see dsrcd(8)); all the work is in core/daemon.c. */
#include <config.h>

#include "daemon.h"

int main(int argc, char **argv)
{
    return daemon_main(argc, argv);
}
