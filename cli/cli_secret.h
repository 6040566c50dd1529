/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_secret.h -- `dsrc secret`: keys, encrypted values, rotation, checks.
 *
 *   secret genkey [-o FILE]      print a new key, or write it to FILE
 *                                (created with mode 0600, never overwritten)
 *   secret encrypt [-k FILE]     encrypt standard input (no echo on a
 *                                terminal; one trailing newline stripped);
 *                                prints fernet:TOKEN
 *   secret decrypt --show-plaintext [-k FILE] [TOKEN]
 *                                print the plaintext of a token (argument or
 *                                standard input); refused without the flag
 *   secret rotate [-k FILE] FILE...
 *                                re-encrypt every fernet: token in each FILE
 *                                with the first key, rewriting the file
 *                                atomically; every other byte is kept
 *   secret check [-k FILE]       resolve every secret of every source and
 *                                report ok or why not, never a value
 *
 * Keys come from -k FILE, else as keyring_load() finds them, with the
 * key_file setting of `cfg` when a configuration is given.  With a
 * configuration, decrypt and rotate append a record to the audit trail of
 * its state store (cli_audit_record(), cli.h): decrypt shows nothing when
 * the record cannot be written.
 */
#ifndef DSRC_CORE_CLI_SECRET_H
#define DSRC_CORE_CLI_SECRET_H

#include "config/config.h"

/* Run `secret` with its arguments: argv[0] is the command name ("secret"),
 * argv[1] the subcommand.  cfg may be NULL (no configuration: `check`
 * fails, the others use $CREDENTIALS_DIRECTORY or DSRC_KEY); it is only
 * read.  prog names the program in messages.  Returns the exit status:
 * 0 ok, 1 failure, 2 usage error.  json: `check` prints one JSON document
 * (the others print keys and tokens as they are). */
int cli_secret(int argc, char **argv, const cfg_config *cfg, const char *prog, int json);

/* One secret from standard input: on a terminal a line typed without echo
 * after "PROMPT (not echoed; end with Enter): ", otherwise the next line.
 * The value (malloc'd: wipe it with OPENSSL_cleanse before free), or NULL
 * with the reason printed (empty, NUL byte, read error). */
char *cli_secret_read_line(const char *prog, const char *prompt);

#endif
