/* SPDX-License-Identifier: Apache-2.0 */
/* dsrc -- the command-line tool (see dsrc(1)); the commands are in cli.c. */
#include <config.h>

#include "cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
