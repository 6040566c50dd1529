#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The host's RDS IAM database token is byte-identical with botocore's
# generate_db_auth_token (Debian's python3-boto3) for the same host, port,
# user, region, credentials and a fixed clock: long-term and temporary
# credentials, a user that needs percent-encoding, the HTTPS port.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
TOOL="$top_builddir/tests/unit/sigv4_tool"
# Debian's python3 (python3-boto3), else the first python3 on PATH with botocore
PY=
for py in /usr/bin/python3 $(command -v python3); do
    if "$py" -c 'import botocore' 2>/dev/null; then PY=$py; break; fi
done
unset AWS_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_SESSION_TOKEN
export AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent

if [ -z "$PY" ]; then
    echo "FAIL: no python3 can import botocore: apt-get install python3-boto3"
    exit 1
fi
[ -x "$TOOL" ] || { echo "FAIL: $TOOL not built"; exit 1; }

fails=0
# same HOST PORT USER REGION EPOCH: both tokens, compared
same() {
    ours=$("$TOOL" "$@") || { echo "FAIL: sigv4_tool $*"; fails=$((fails + 1)); return; }
    theirs=$("$PY" "$top_srcdir/tests/fixtures/rds_token.py" "$@") ||
        { echo "FAIL: botocore $*"; fails=$((fails + 1)); return; }
    if [ "$ours" = "$theirs" ]; then
        echo "ok: $*${AWS_SESSION_TOKEN:+ (session token)}"
    else
        echo "FAIL: $*: tokens differ"
        echo "  host:     $ours"
        echo "  botocore: $theirs"
        fails=$((fails + 1))
    fi
}

export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
same mydb.abcdefghijkl.us-east-1.rds.amazonaws.com 5432 dsrc_reader us-east-1 1440938160
same 127.0.0.1 3306 "app user+1@x/y" eu-west-3 1767225599
same aurora.cluster-xyz.eu-central-1.rds.amazonaws.com 443 admin eu-central-1 2000000000
export AWS_SESSION_TOKEN='AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=='
same mydb.abcdefghijkl.us-east-1.rds.amazonaws.com 5432 dsrc_reader us-east-1 1440938160
[ "$fails" -eq 0 ] || exit 1
echo "PASS: the host's RDS tokens are botocore's"
