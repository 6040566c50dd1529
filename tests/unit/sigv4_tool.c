/* SPDX-License-Identifier: Apache-2.0 */
/* sigv4_tool.c -- the host's RDS IAM database token for the arguments, for
 * tests/integration/rds_token.sh (which compares it with botocore's).
 *
 *   sigv4_tool HOST PORT USER REGION EPOCH
 *
 * Credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN (optional).  A test tool: it prints the token. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>

#include "secret/sigv4.h"

int main(int argc, char **argv)
{
    sigv4_creds c;
    char *tok;

    if (argc != 6) {
        fprintf(stderr, "usage: sigv4_tool HOST PORT USER REGION EPOCH\n");
        return 2;
    }
    c.access_key_id = getenv("AWS_ACCESS_KEY_ID");
    c.secret_access_key = getenv("AWS_SECRET_ACCESS_KEY");
    c.session_token = getenv("AWS_SESSION_TOKEN");
    if (!c.access_key_id || !c.secret_access_key) {
        fprintf(stderr, "sigv4_tool: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n");
        return 2;
    }
    tok = sigv4_rds_token(argv[1], atoi(argv[2]), argv[3], argv[4], &c,
                          (time_t)strtoll(argv[5], NULL, 10), SIGV4_RDS_TOKEN_EXPIRES);
    if (!tok)
        return 1;
    puts(tok);
    sigv4_free_secret(tok);
    return 0;
}
