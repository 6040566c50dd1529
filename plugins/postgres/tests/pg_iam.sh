#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# AWS RDS IAM database authentication made by the host, against a real
# PostgreSQL: a role whose password is the token botocore's
# generate_db_auth_token makes for it at a fixed clock, so that the server
# accepts the login only if the host's token reached it intact.  The source
# is a cloud one (TLS verified with the test CA), without a password; the
# credentials come from the cloud group, the environment, then a shared
# credentials file's profile.  A wrong region, a wrong key, a missing
# region and missing credentials fail with a clear message that holds no
# token and no key.  dsrc test names the identity, never the token.
# Skipped (77) when no PostgreSQL server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
# dsrc with the identities' clock fixed at $DSRC_TEST_CLOCK
DSRC="$top_builddir/tests/fixtures/dsrc_fixed_clock"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
lib_tmpdir dsrc-pgiam
pgdir=""
cleanup() { [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"; }
dsrc() { "$DSRC" -c "$tmp/conf/dsrcd.conf" "$@"; }
PY=
for py in /usr/bin/python3 $(command -v python3); do
    if "$py" -c 'import botocore' 2>/dev/null; then PY=$py; break; fi
done
[ -n "$PY" ] || { echo "no python3 can import botocore: apt-get install python3-boto3"; exit 99; }
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
export AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent HOME="$tmp"
# not this machine's instance metadata service (pg_iam_temp.sh tests IMDSv2)
export AWS_EC2_METADATA_DISABLED=true

KEY_ID=AKIDEXAMPLE
SECRET=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
REGION=eu-west-1
DSRC_TEST_CLOCK=1767225600   # 2026-01-01T00:00:00Z
export DSRC_TEST_CLOCK

pg_start --no-replica
token=$(AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET AWS_SHARED_CREDENTIALS_FILE= \
    "$PY" "$top_srcdir/tests/fixtures/rds_token.py" 127.0.0.1 "$PG_PORT" iam_reader "$REGION" \
    "$DSRC_TEST_CLOCK") || { echo "botocore made no token"; exit 99; }
su_psql -q -c "CREATE ROLE iam_reader LOGIN PASSWORD '$token'" \
    -c "GRANT CONNECT ON DATABASE $PG_DATABASE TO iam_reader" >/dev/null ||
    { echo "cannot create the IAM role"; exit 99; }

lib_conf "$top_builddir/plugins/postgres/.libs"
# iamsrc NAME [CLOUD-LINE...]: a cloud source logging in as iam_reader
iamsrc() {
    name=$1
    shift
    {
        cat <<EOF2
name = "$name";
type = "postgres";
location = "cloud";
connection = {
    host = "127.0.0.1";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "iam_reader";
    connect_timeout = "5s";
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
cloud = {
    provider = "aws";
    use_iam_auth = true;
EOF2
        for line in "$@"; do printf '    %s\n' "$line"; done
        echo "};"
    } >"$tmp/conf/sources.d/$name.conf"
}
# no_secret: neither the token nor the secret key in the last output
no_secret() {
    hasnt "$tmp/out" "$token"; hasnt "$tmp/err" "$token"
    hasnt "$tmp/out" "X-Amz-Signature"; hasnt "$tmp/err" "X-Amz-Signature"
    hasnt "$tmp/out" "$SECRET"; hasnt "$tmp/err" "$SECRET"
}
DSRC_IAM_SECRET=$SECRET
export DSRC_IAM_SECRET

# ---- credentials in the cloud group (the secret key as env:) ----
iamsrc fromsrc "region = \"$REGION\";" "access_key_id = \"$KEY_ID\";" \
    'secret_access_key = "env:DSRC_IAM_SECRET";'
expect 0 dsrc check-config
expect 0 dsrc test fromsrc
has "$tmp/out" "fromsrc: ok"
has "$tmp/out" "fromsrc: identity aws rds-iam: iam_reader in $REGION via access key AKID...MPLE (the source's cloud group); token valid until 2026-01-01T00:15:00Z"
no_secret
expect 0 dsrc test fromsrc --json
has "$tmp/out" '"identity": {'
has "$tmp/out" '"provider": "aws"'
has "$tmp/out" '"expires": "2026-01-01T00:15:00Z"'
no_secret
# the same source fetched: a real session, not only a ping
expect 0 dsrc ls fromsrc
no_secret

# ---- at another time the token differs: the server refuses it ----
DSRC_TEST_CLOCK=1767229200 expect 1 dsrc test fromsrc
has "$tmp/err" 'password authentication failed for user "iam_reader"'
no_secret

# ---- credentials from the environment ----
iamsrc fromenv "region = \"$REGION\";"
AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET expect 0 dsrc test fromenv
has "$tmp/out" "via access key AKID...MPLE (the environment)"
no_secret
# a wrong secret key: refused, the message names the cause, not the key
AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=wrong$SECRET expect 1 dsrc test fromenv
has "$tmp/err" 'password authentication failed for user "iam_reader"'
hasnt "$tmp/err" "wrong$SECRET"
no_secret
# none at all
expect 1 dsrc test fromenv
has "$tmp/err" "source 'fromenv': cloud identity (aws, use_iam_auth): no AWS credentials found"
no_secret

# ---- a profile of the shared credentials file (private, 0600) ----
iamsrc fromfile "region = \"$REGION\";" 'profile = "reader";'
printf '[default]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n\n[reader]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "$KEY_ID" "$SECRET" >"$tmp/credentials"
chmod 600 "$tmp/credentials"
AWS_SHARED_CREDENTIALS_FILE=$tmp/credentials expect 0 dsrc test fromfile
has "$tmp/out" "(the shared credentials file)"
no_secret
chmod 644 "$tmp/credentials"
AWS_SHARED_CREDENTIALS_FILE=$tmp/credentials expect 1 dsrc test fromfile
has "$tmp/err" "chmod 600"
chmod 600 "$tmp/credentials"
iamsrc noprofile "region = \"$REGION\";" 'profile = "missing";'
AWS_SHARED_CREDENTIALS_FILE=$tmp/credentials expect 1 dsrc test noprofile
has "$tmp/err" "has no profile [missing]"

# ---- a wrong region: another token, refused ----
iamsrc wrongregion 'region = "us-east-1";' "access_key_id = \"$KEY_ID\";" \
    'secret_access_key = "env:DSRC_IAM_SECRET";'
expect 1 dsrc test wrongregion
has "$tmp/err" 'password authentication failed for user "iam_reader"'
no_secret

# ---- no region ----
iamsrc noregion "access_key_id = \"$KEY_ID\";" 'secret_access_key = "env:DSRC_IAM_SECRET";'
expect 1 dsrc test noregion
has "$tmp/err" "cloud.region is required with use_iam_auth"

finish pg_iam.sh
