/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h -- the `dsrc` command line.
 *
 * cli_main() parses the global options and runs one command in-process from
 * the configuration: plugins, sources, check-config, test, ls, describe,
 * discover, fetch.  It returns the process exit status:
 */
#ifndef DSRC_CORE_CLI_H
#define DSRC_CORE_CLI_H

#define CLI_EXIT_OK 0       /* success                                      */
#define CLI_EXIT_FAIL 1     /* the operation failed (source, plugin, I/O)   */
#define CLI_EXIT_USAGE 2    /* bad command line                             */
#define CLI_EXIT_TEMPFAIL 75 /* failed for a reason that may pass (EX_TEMPFAIL) */
#define CLI_EXIT_CONFIG 78  /* configuration error (EX_CONFIG)              */

int cli_main(int argc, char **argv);

#endif
