/* SPDX-License-Identifier: Apache-2.0 */
/*
 * identity.h -- cloud identities: short-lived credentials the host obtains
 * for a source and hands to its plugin as the secret it declares.
 *
 * A cloud identity is a credential like any other secret option, only
 * computed instead of configured; it lives beside secret.h for that reason
 * (the same rules: resolved at connect time, registered with redact_add(),
 * never logged, printed or written anywhere, wiped when dropped).
 *
 * Providers:
 *   aws, use_iam_auth = true   an RDS / Aurora IAM database token
 *                              (sigv4_rds_token) for the endpoint's host,
 *                              port and user, in cloud.region, signed with
 *                              the first AWS credentials found in order:
 *                              the cloud group's access_key_id /
 *                              secret_access_key / session_token; the
 *                              environment (AWS_ACCESS_KEY_ID,
 *                              AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)
 *                              unless cloud.profile is set; the shared
 *                              credentials file ($AWS_SHARED_CREDENTIALS_FILE,
 *                              else ~/.aws/credentials; a private file) and
 *                              its profile (cloud.profile, else $AWS_PROFILE,
 *                              else "default"); the EC2 instance profile
 *                              (IMDSv2).  With cloud.role_arn, the role
 *                              assumed with them (STS AssumeRole).
 *   azure, use_managed_identity = true, or client_id + client_secret
 *                              a Microsoft Entra ID access token
 *                              (identity_azure.c) for Azure Database for
 *                              PostgreSQL / MySQL, from the tenant's token
 *                              endpoint (client credentials) or the
 *                              instance metadata service (managed
 *                              identity); a plugin without a secret
 *                              "password" option asks for a token to its
 *                              own resource (identity_bearer(),
 *                              dsrc_host.bearer_token).
 *   gcp, service_account_file  an OAuth 2.0 access token for Cloud SQL IAM
 *                              database login (scope sqlservice.login): a
 *                              JWT signed RS256 with the key file's
 *                              private key, exchanged at cloud.token_uri,
 *                              else the file's token_uri (https only)
 *   gcp, use_workload_identity the metadata server's token for the default
 *                              service account (cloud.metadata_endpoint,
 *                              else http://metadata.google.internal)
 * The token replaces the value of the plugin's secret option "password".
 *
 * Tokens are cached per source, endpoint, user and cloud group, made again
 * on use once less than IDENTITY_REFRESH_MARGIN seconds of their life are
 * left (a third of its life for a token that lives less than twice that),
 * so every connection a pool opens gets a valid one, and ahead of that by
 * dsrcd's refresher (identity_refresher_start()).  Thread-safe.
 */
#ifndef DSRC_CORE_IDENTITY_H
#define DSRC_CORE_IDENTITY_H

#include <time.h>

#include <dsrc/plugin.h>

#include "base/error.h"
#include "config/config.h"

#define IDENTITY_REFRESH_MARGIN 300 /* seconds before expiry: made again */
#define IDENTITY_REFRESH_AHEAD 60   /* the refresher: this much before that   */
#define IDENTITY_REFRESH_PERIOD 15  /* the refresher's round, seconds         */

/* What dsrc test shows of the identity used: never a token or a key. */
typedef struct identity_info {
    char provider[16];   /* "aws"                                        */
    char mode[32];       /* "rds-iam"                                    */
    char principal[256]; /* "dsrc_reader via access key AKIA...WXYZ (environment)" */
    time_t expires;      /* the token's end of life                      */
} identity_info;

/* 1 when cs's cloud group asks the host for an identity, else 0. */
int identity_wanted(const cfg_source *cs);

/* What configuration checks can tell of cs's cloud group without the
 * network or a secret's value (azure: client credentials complete, a
 * well-formed tenant).  DSRC_OK, or e filled (DSRC_E_INVALID_CONFIG). */
dsrc_status identity_check(const cfg_source *cs, derr *e);

/* The token for source cs connecting to host:port as user (key_file: for
 * fernet: references in the cloud group, may be NULL).  From the cache
 * while it has more than IDENTITY_REFRESH_MARGIN seconds left, else made
 * again.  Returns DSRC_OK with the token in *token (release with
 * secret_free()) and, when info is not NULL, what was used; or fills e
 * (DSRC_E_INVALID_CONFIG: no region, no credentials found, a malformed
 * credentials file; DSRC_E_AUTH / DSRC_E_NOT_FOUND / DSRC_E_PERMISSION
 * from a secret reference; DSRC_E_INTERNAL), naming the source and the
 * cause, never a credential. */
dsrc_status identity_token(const cfg_source *cs, const char *key_file, const char *host,
                           const char *port, const char *user, char **token,
                           identity_info *info, derr *e);

/* For source_open(): when cs wants an identity, put its token in the
 * option list opts (*n entries, room for one more) as the value of the
 * plugin's secret option "password" (in `table`), reading host, port and
 * user from opts.  *token gets the value to wipe after the call (NULL when
 * cs wants no identity).  Returns DSRC_OK, or fills e as identity_token()
 * does, or with DSRC_E_INVALID_CONFIG when the plugin declares no secret
 * "password" option. */
dsrc_status identity_apply(const cfg_source *cs, const dsrc_option *table, const char *key_file,
                           dsrc_kv *opts, size_t *n, char **token, derr *e);

/* Sign req (the host service dsrc_host.aws_sign, ABI 1.2) for source cs
 * with AWS Signature Version 4: the first credentials of the chain above
 * (the one place that looks them up), in req->region, else cloud.region,
 * at the clock of identity_set_clock(); for service "s3" the payload hash
 * is sent as x-amz-content-sha256 and signed.  Each header to add goes to
 * req->header: x-amz-date, x-amz-content-sha256 (s3),
 * x-amz-security-token (temporary credentials), Authorization.  DSRC_OK,
 * or e filled as identity_token() does (DSRC_E_INVALID_ARGUMENT for a
 * malformed request, DSRC_E_CANCELLED when req->header asked to stop),
 * never with a credential. */
dsrc_status identity_aws_sign(const cfg_source *cs, const char *key_file,
                              const dsrc_aws_request *req, derr *e);

/* For the host service dsrc_host.bearer_token (ABI 1.3): an access token
 * to `resource` (an https:// URI, e.g. "https://storage.azure.com") from
 * the provider of cs's cloud group (azure: Microsoft Entra ID, client
 * credentials or managed identity), cached as identity_token() does.
 * DSRC_OK with the token in *token (secret_free()), or e filled as
 * identity_token() does; DSRC_E_UNSUPPORTED when the provider gives no
 * bearer tokens, DSRC_E_INVALID_ARGUMENT for a malformed resource. */
dsrc_status identity_bearer(const cfg_source *cs, const char *key_file, const char *resource,
                            char **token, identity_info *info, derr *e);

/* The identity last used for source `name`: 1 with *info filled, else 0. */
int identity_last(const char *name, identity_info *info);

/* Make again, ahead of need, every cached token that will be due within
 * IDENTITY_REFRESH_AHEAD seconds (at most its margin) and was handed out
 * during its life (a source still in use), with what it was made from
 * (not a token that lives less than 4 rounds of the refresher: made on
 * use only); the provider is asked
 * outside the cache's lock, so connections keep getting the token in hand
 * meanwhile.  A failure is logged (a warning naming the source and the
 * cause, never a secret) and leaves the token in hand, valid until its
 * end; each token is tried once.  Returns the number made. */
int identity_refresh_due(void);

/* dsrcd: a thread that calls identity_refresh_due() every
 * IDENTITY_REFRESH_PERIOD seconds, so that a pool's connections do not wait
 * for a token endpoint and a brief outage of one goes unnoticed.  0, or -1
 * when the thread cannot be started (tokens are then made on use only). */
int identity_refresher_start(void);
void identity_refresher_stop(void);

/* Tests only: the clock tokens are signed with (NULL: time()). */
void identity_set_clock(time_t (*now)(void));

#endif
