#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# RDS IAM database tokens signed with temporary AWS credentials the host
# fetched itself, against a real PostgreSQL: from the EC2 instance metadata
# service (IMDSv2) and from STS AssumeRole, through loopback stand-ins
# (tests/fixtures/aws_standin.py: the IMDS one refuses a GET without its
# session token and a token PUT without a TTL; the STS one checks the
# request's SigV4 signature with botocore).  Each role's password is the
# token botocore makes for the same temporary credentials (session token
# included) at a fixed clock, so a login proves the host used them intact.
# An AccessDenied, a wrong base key and a disabled IMDS fail with a clear
# message and a non-zero status; no key, session token, IMDS token or RDS
# token appears in any output.  dsrc check-config refuses a plain-http STS
# endpoint that is not on a loopback address.
# Skipped (77) when no PostgreSQL server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/tests/fixtures/dsrc_fixed_clock"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
STANDIN="$top_srcdir/tests/fixtures/aws_standin.py"
lib_tmpdir dsrc-pgiamtmp
pgdir=""
imds_pid="" sts_pid=""
cleanup() {
    [ -n "$imds_pid" ] && kill "$imds_pid" 2>/dev/null
    [ -n "$sts_pid" ] && kill "$sts_pid" 2>/dev/null
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
}
dsrc() { "$DSRC" -c "$tmp/conf/dsrcd.conf" "$@"; }
PY=
for py in /usr/bin/python3 $(command -v python3); do
    if "$py" -c 'import botocore' 2>/dev/null; then PY=$py; break; fi
done
[ -n "$PY" ] || { echo "no python3 can import botocore: apt-get install python3-boto3"; exit 99; }
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
    AWS_EC2_METADATA_DISABLED
export AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent HOME="$tmp"

REGION=eu-west-1
DSRC_TEST_CLOCK=1767225600   # 2026-01-01T00:00:00Z
export DSRC_TEST_CLOCK
ROLE_ARN=arn:aws:iam::123456789012:role/reader
# the long-lived caller (environment) and the temporary credentials the
# stand-ins hand out
BASE_ID=AKIAIOSFODNN7EXAMPLE
BASE_SECRET=base/K7MDENG+bPxRfiCYEXAMPLEKEYbase
IMDS_ID=ASIAIMDSEXAMPLE00001
IMDS_SECRET=imds/secretKEY+forTheInstanceProfile01
IMDS_TOKEN="IQoJb3JpZ2luX2VjEImds$(printf 'x%.0s' $(seq 1 300))/sessionTokenOfImds=="
STS_ID=ASIASTSEXAMPLE000002
STS_SECRET=sts/secretKEY+ofTheAssumedRole0000002
STS_TOKEN="FwoGZXIvYXdzEStsToken$(printf 'y%.0s' $(seq 1 400))+assumedRoleToken=="

# start_standin MODE CONFIG-JSON: a stand-in on a free loopback port
start_standin() {
    printf '%s\n' "$2" >"$tmp/$1.json"
    "$PY" "$STANDIN" "$1" "$tmp/$1.port" "$tmp/$1.log" "$tmp/$1.json" &
    eval "$1_pid=$!"
    wait_for "$tmp/$1.port" "" 100 || { echo "the $1 stand-in did not start"; exit 99; }
    : >"$tmp/$1.log"
}
start_standin imds "{\"role\": \"dsrc-test-role\", \"key_id\": \"$IMDS_ID\",
  \"secret\": \"$IMDS_SECRET\", \"token\": \"$IMDS_TOKEN\",
  \"expiration\": \"2026-01-01T06:00:00Z\"}"
IMDS="http://127.0.0.1:$(cat "$tmp/imds.port")"
start_standin sts "{\"region\": \"$REGION\",
  \"callers\": [{\"key_id\": \"$BASE_ID\", \"secret\": \"$BASE_SECRET\", \"token\": null},
                {\"key_id\": \"$IMDS_ID\", \"secret\": \"$IMDS_SECRET\", \"token\": \"$IMDS_TOKEN\"}],
  \"key_id\": \"$STS_ID\", \"secret\": \"$STS_SECRET\", \"token\": \"$STS_TOKEN\",
  \"expiration\": \"2026-01-01T01:00:00Z\"}"
STS="http://127.0.0.1:$(cat "$tmp/sts.port")/"

# ---- the stand-ins are strict: no TTL, no session token, a wrong one ----
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$IMDS/latest/api/token")
[ "$code" = 400 ] && ok || bad "a token PUT without TTL got HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$IMDS/latest/meta-data/iam/security-credentials/")
[ "$code" = 401 ] && ok || bad "a GET without session token got HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-aws-ec2-metadata-token: forged' \
    "$IMDS/latest/meta-data/iam/security-credentials/")
[ "$code" = 401 ] && ok || bad "a GET with a forged session token got HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -d 'Action=AssumeRole' "$STS")
[ "$code" = 403 ] && ok || bad "an unsigned AssumeRole got HTTP $code"
: >"$tmp/imds.log"
: >"$tmp/sts.log"

pg_start --no-replica
# botocore's token for ROLE with the credentials KEY SECRET [TOKEN]
boto_token() {
    AWS_ACCESS_KEY_ID=$2 AWS_SECRET_ACCESS_KEY=$3 AWS_SESSION_TOKEN=${4:-} \
        AWS_SHARED_CREDENTIALS_FILE= "$PY" "$top_srcdir/tests/fixtures/rds_token.py" \
        127.0.0.1 "$PG_PORT" "$1" "$REGION" "$DSRC_TEST_CLOCK"
}
imds_rds=$(boto_token imds_reader "$IMDS_ID" "$IMDS_SECRET" "$IMDS_TOKEN") &&
    sts_rds=$(boto_token sts_reader "$STS_ID" "$STS_SECRET" "$STS_TOKEN") ||
    { echo "botocore made no token"; exit 99; }
case $imds_rds in *X-Amz-Security-Token=*) ;; *) echo "no session token in botocore's token"; exit 99 ;; esac
su_psql -q -c "CREATE ROLE imds_reader LOGIN PASSWORD '$imds_rds'" \
    -c "CREATE ROLE sts_reader LOGIN PASSWORD '$sts_rds'" \
    -c "GRANT CONNECT ON DATABASE $PG_DATABASE TO imds_reader, sts_reader" >/dev/null ||
    { echo "cannot create the IAM roles"; exit 99; }

lib_conf "$top_builddir/plugins/postgres/.libs"
# iamsrc NAME USER [CLOUD-LINE...]: a cloud source logging in as USER
iamsrc() {
    name=$1 user=$2
    shift 2
    {
        cat <<EOF2
name = "$name";
type = "postgres";
location = "cloud";
connection = {
    host = "127.0.0.1";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "$user";
    connect_timeout = "5s";
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
cloud = {
    provider = "aws";
    use_iam_auth = true;
    region = "$REGION";
EOF2
        for line in "$@"; do printf '    %s\n' "$line"; done
        echo "};"
    } >"$tmp/conf/sources.d/$name.conf"
}
# no_secret: no credential of any kind in the last output
no_secret() {
    for s in "$imds_rds" "$sts_rds" X-Amz-Signature "$BASE_SECRET" "$IMDS_SECRET" \
        "$IMDS_TOKEN" "$STS_SECRET" "$STS_TOKEN" imds-session-; do
        hasnt "$tmp/out" "$s"; hasnt "$tmp/err" "$s"
    done
}
# rounds FILE PATTERN: how many lines of the stand-in's log match
rounds() { grep -c -- "$2" "$tmp/$1.log"; }

# ---- IMDSv2: the chain's last link ----
iamsrc fromimds imds_reader "imds_endpoint = \"$IMDS\";"
expect 0 dsrc check-config
expect 0 dsrc test fromimds
has "$tmp/out" "fromimds: ok"
has "$tmp/out" "fromimds: identity aws rds-iam: imds_reader in $REGION via access key ASIA...0001 (instance profile dsrc-test-role via IMDSv2, temporary); token valid until 2026-01-01T00:15:00Z"
no_secret
[ "$(rounds imds 'PUT /latest/api/token ttl=21600')" -eq 1 ] && ok ||
    bad "not one session token PUT with its TTL: $(cat "$tmp/imds.log")"
[ "$(rounds imds 'GET /latest/meta-data/iam/security-credentials/ token=ok')" -eq 1 ] &&
    [ "$(rounds imds 'GET /latest/meta-data/iam/security-credentials/dsrc-test-role token=ok')" -eq 1 ] &&
    ok || bad "the GETs did not carry the session token: $(cat "$tmp/imds.log")"
grep -q 'token=missing\|token=bad' "$tmp/imds.log" && bad "a GET without a valid session token" || ok
# a fetch: a real session on the token
expect 0 dsrc ls fromimds
no_secret
# credentials from the environment come first: IMDS is not asked
: >"$tmp/imds.log"
AWS_ACCESS_KEY_ID=$BASE_ID AWS_SECRET_ACCESS_KEY=$BASE_SECRET expect 1 dsrc test fromimds
has "$tmp/err" 'password authentication failed for user "imds_reader"'
[ -s "$tmp/imds.log" ] && bad "IMDS asked although the environment has credentials" || ok
no_secret
# disabled: a clear message listing what was tried, nothing asked
AWS_EC2_METADATA_DISABLED=true expect 1 dsrc test fromimds
has "$tmp/err" "no AWS credentials found; tried, in order: cloud.access_key_id, AWS_ACCESS_KEY_ID in the environment, profile [default] of the shared credentials file, the instance metadata service (IMDSv2 disabled by AWS_EC2_METADATA_DISABLED)"
[ -s "$tmp/imds.log" ] && bad "IMDS asked although disabled" || ok
# nobody listening: fails fast, names the endpoint
iamsrc noimds imds_reader 'imds_endpoint = "http://127.0.0.1:9/";'
start=$(date +%s)
expect 1 dsrc test noimds
[ $(($(date +%s) - start)) -le 5 ] && ok || bad "an absent IMDS took more than 5 s"
has "$tmp/err" "no AWS credentials found"
has "$tmp/err" "instance metadata service"
no_secret

# ---- STS AssumeRole on top of the environment's credentials ----
iamsrc assumed sts_reader "role_arn = \"$ROLE_ARN\";" "sts_endpoint = \"$STS\";" \
    'external_id = "dsrc-ext-42";'
expect 0 dsrc check-config
AWS_ACCESS_KEY_ID=$BASE_ID AWS_SECRET_ACCESS_KEY=$BASE_SECRET expect 0 dsrc test assumed
has "$tmp/out" "assumed: ok"
has "$tmp/out" "sts_reader in $REGION via access key ASIA...0002 (role $ROLE_ARN via STS on top of the environment, temporary)"
no_secret
has "$tmp/sts.log" "ok POST RoleArn=$ROLE_ARN RoleSessionName=dsrc-assumed DurationSeconds=3600 ExternalId=dsrc-ext-42 token=no"
[ "$(rounds sts '^ok ')" -eq 1 ] && ok || bad "not one AssumeRole: $(cat "$tmp/sts.log")"
grep -q '^bad' "$tmp/sts.log" && bad "a wrongly signed AssumeRole: $(cat "$tmp/sts.log")" || ok

# ---- on top of IMDS: the instance profile's session token is signed ----
: >"$tmp/imds.log"
iamsrc assumedimds sts_reader "role_arn = \"$ROLE_ARN\";" "sts_endpoint = \"$STS\";" \
    "imds_endpoint = \"$IMDS\";"
expect 0 dsrc test assumedimds
has "$tmp/out" "(role $ROLE_ARN via STS on top of instance profile dsrc-test-role via IMDSv2, temporary)"
has "$tmp/sts.log" "ok POST RoleArn=$ROLE_ARN RoleSessionName=dsrc-assumedimds DurationSeconds=3600 ExternalId=- token=yes"
[ "$(rounds imds 'PUT /latest/api/token')" -eq 1 ] && ok || bad "IMDS not asked once: $(cat "$tmp/imds.log")"
no_secret

# ---- refusals: AccessDenied, a wrong secret key, an unknown key ----
iamsrc denied sts_reader 'role_arn = "arn:aws:iam::123456789012:role/denied";' \
    "sts_endpoint = \"$STS\";"
AWS_ACCESS_KEY_ID=$BASE_ID AWS_SECRET_ACCESS_KEY=$BASE_SECRET expect 1 dsrc test denied
has "$tmp/err" "AWS STS refused AssumeRole of arn:aws:iam::123456789012:role/denied (on top of the environment): HTTP 403: AccessDenied: User: arn:aws:iam::123456789012:user/caller is not authorized"
no_secret
AWS_ACCESS_KEY_ID=$BASE_ID AWS_SECRET_ACCESS_KEY=${BASE_SECRET}wrong expect 1 dsrc test assumed
has "$tmp/err" "HTTP 403: SignatureDoesNotMatch"
hasnt "$tmp/err" "${BASE_SECRET}wrong"
no_secret
AWS_ACCESS_KEY_ID=AKIAUNKNOWNEXAMPLE01 AWS_SECRET_ACCESS_KEY=$BASE_SECRET expect 1 dsrc test assumed
has "$tmp/err" "InvalidClientTokenId"
no_secret
# the JSON answer says the same, with its status
AWS_ACCESS_KEY_ID=$BASE_ID AWS_SECRET_ACCESS_KEY=$BASE_SECRET expect 1 dsrc test denied --json
has "$tmp/out" "AccessDenied"
no_secret

# ---- check-config: the endpoints' scheme ----
iamsrc plainsts sts_reader "role_arn = \"$ROLE_ARN\";" 'sts_endpoint = "http://sts.example.com/";'
expect 78 dsrc check-config
has "$tmp/err" "cloud.sts_endpoint endpoint http://sts.example.com/: plain http:// is allowed only for a loopback"
iamsrc plainsts sts_reader "role_arn = \"$ROLE_ARN\";" 'sts_endpoint = "https://sts.example.com/";'
iamsrc plainimds imds_reader 'imds_endpoint = "http://imds.example.com";'
expect 78 dsrc check-config
has "$tmp/err" "cloud.imds_endpoint endpoint http://imds.example.com"
rm -f "$tmp/conf/sources.d/plainimds.conf"
expect 0 dsrc check-config

# ---- nothing secret in the stand-ins' logs either ----
for s in "$BASE_SECRET" "$IMDS_SECRET" "$IMDS_TOKEN" "$STS_SECRET" "$STS_TOKEN"; do
    hasnt "$tmp/imds.log" "$s"; hasnt "$tmp/sts.log" "$s"
done

finish pg_iam_temp.sh
