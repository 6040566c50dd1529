#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# s3.so signed by the host with temporary credentials: those of the EC2
# instance profile (IMDSv2) and those of a role assumed with STS AssumeRole,
# from the loopback stand-ins of tests/fixtures/aws_standin.py, against a
# real s3rver behind the SigV4 proxy (plugins/s3/tests/fixture/
# sigv4_proxy.py), which checks every request's signature with botocore and
# that it carries and signs the session token.  One metadata or STS round
# serves every request of a run (the host caches the credentials); a wrong
# session token is refused as an authentication error; no key or token is
# ever printed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/s3/tests/fixture/s3rver.sh"
s3_test dsrc-s3id
expect_timeout=120
C="-c $tmp/conf/dsrcd.conf"
STANDIN="$top_srcdir/tests/fixtures/aws_standin.py"
IMDS_TOKEN="IQoJimdsSessionToken$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')=="
STS_TOKEN="FwoGstsSessionToken$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')=="
CALLER_ID=AKIACALLEREXAMPLE001
CALLER_SECRET="caller/secret+$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
py() { /usr/bin/python3 "$S3PY" "$@" || { echo "s3.py $* failed"; exit 99; }; }
py mb "$S3_ENDPOINT" data
head -c 2500000 /dev/urandom >"$tmp/big.bin"
py put "$S3_ENDPOINT" data big.bin "$tmp/big.bin"

PIDS=
stop_all() { s3_stop; for p in $PIDS; do kill "$p" 2>/dev/null; done; }
cleanup() { stop_all; }
# start_standin MODE CONFIG-JSON
start_standin() {
    printf '%s\n' "$2" >"$tmp/$1.json"
    /usr/bin/python3 "$STANDIN" "$1" "$tmp/$1.port" "$tmp/$1.log" "$tmp/$1.json" &
    PIDS="$PIDS $!"
    wait_for "$tmp/$1.port" "" 100 || { echo "the $1 stand-in did not start"; exit 99; }
    : >"$tmp/$1.log"
}
# s3rver knows one key (S3RVER / S3RVER): the temporary credentials are it,
# with a session token the proxy insists on
start_standin imds "{\"role\": \"dsrc-s3-role\", \"key_id\": \"$S3_KEY_ID\",
  \"secret\": \"$S3_SECRET\", \"token\": \"$IMDS_TOKEN\", \"expiration\": \"2099-01-01T00:00:00Z\"}"
IMDS="http://127.0.0.1:$(cat "$tmp/imds.port")"
start_standin sts "{\"region\": \"us-east-1\",
  \"callers\": [{\"key_id\": \"$CALLER_ID\", \"secret\": \"$CALLER_SECRET\", \"token\": null}],
  \"key_id\": \"$S3_KEY_ID\", \"secret\": \"$S3_SECRET\", \"token\": \"$STS_TOKEN\",
  \"expiration\": \"2099-01-01T00:00:00Z\"}"
STS="http://127.0.0.1:$(cat "$tmp/sts.port")/"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_EC2_METADATA_DISABLED

# src CLOUD-EXTRA: the source "s3" behind the checking proxy
src() {
    cat >"$tmp/conf/sources.d/s3.conf" <<EOF2
name = "s3";
type = "s3";
connection = { endpoint = "$S3_SOURCE_ENDPOINT"; region = "us-east-1"; range_size = 1048576; };
cloud = { provider = "aws"; region = "us-east-1"; $1 };
EOF2
}
no_secret() {
    for f in "$tmp/out" "$tmp/err" "$tmp/imds.log" "$tmp/sts.log" "$tmp/sigv4.log"; do
        for s in "$IMDS_TOKEN" "$STS_TOKEN" "$CALLER_SECRET" "$S3_SECRET:"; do
            hasnt "$f" "$s"
        done
    done
}

# ---- the instance profile's credentials (IMDSv2) ----
S3_CHECK_TOKEN=$IMDS_TOKEN s3_checked
src "imds_endpoint = \"$IMDS\";"
expect 0 "$DSRC" $C fetch s3 data/big.bin --format raw -o "$tmp/got.bin"
same "$tmp/big.bin" "$tmp/got.bin"
n=$(grep -c '^ok ' "$tmp/sigv4.log"); [ "$n" -ge 3 ] && ok || bad "only $n signed requests"
[ "$(grep -c '^bad' "$tmp/sigv4.log")" -eq 0 ] && ok || bad "refused: $(grep '^bad' "$tmp/sigv4.log")"
[ "$(grep -c '^PUT /latest/api/token ttl=' "$tmp/imds.log")" -eq 1 ] && ok ||
    bad "IMDS session tokens asked: $(cat "$tmp/imds.log")"
[ "$(grep -c 'security-credentials/dsrc-s3-role token=ok' "$tmp/imds.log")" -eq 1 ] && ok ||
    bad "credentials not asked exactly once for $n requests: $(cat "$tmp/imds.log")"
if grep -q 'token=missing\|token=bad' "$tmp/imds.log"; then bad "an IMDS GET without its session token"; else ok; fi
expect 0 "$DSRC" $C test s3
has "$tmp/out" "s3: ok"
no_secret

# ---- a role assumed with STS on top of the environment's keys ----
S3_CHECK_TOKEN=$STS_TOKEN s3_checked
: >"$tmp/imds.log"
src "role_arn = \"arn:aws:iam::123456789012:role/s3-reader\"; sts_endpoint = \"$STS\";"
AWS_ACCESS_KEY_ID=$CALLER_ID AWS_SECRET_ACCESS_KEY=$CALLER_SECRET \
    expect 0 "$DSRC" $C fetch s3 data/big.bin --format raw -o "$tmp/got2.bin"
same "$tmp/big.bin" "$tmp/got2.bin"
[ "$(grep -c '^bad' "$tmp/sigv4.log")" -eq 0 ] && ok || bad "refused: $(grep '^bad' "$tmp/sigv4.log")"
[ "$(grep -c '^ok POST RoleArn=arn:aws:iam::123456789012:role/s3-reader RoleSessionName=dsrc-s3 ' "$tmp/sts.log")" -eq 1 ] && ok ||
    bad "AssumeRole not asked exactly once: $(cat "$tmp/sts.log")"
[ ! -s "$tmp/imds.log" ] && ok || bad "the environment's keys come before IMDS: $(cat "$tmp/imds.log")"
no_secret

# ---- temporary credentials whose token the service refuses ----
S3_CHECK_TOKEN="another-token" s3_checked
src "imds_endpoint = \"$IMDS\";"
expect 1 "$DSRC" $C --json test s3
has "$tmp/out" '"status": "auth"'
has "$tmp/out" "SignatureDoesNotMatch"
no_secret
finish s3_identity
