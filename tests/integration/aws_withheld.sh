#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The AWS credentials of a source's cloud group (secret_access_key,
# session_token) stay with the host: it signs with them (dsrc_host.aws_sign,
# RDS IAM tokens) and never hands them to the plugin, whose cloud group
# holds the other keys (provider, region, access_key_id) as before.  The
# opts test plugin, with note = "cloud-keys", refuses to open naming the
# keys it got.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
lib_tmpdir dsrc-awswh
lib_conf "$top_builddir/tests/fixtures/plugins/.libs"
export WH_SECRET=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY WH_TOKEN=session-token-value
cat >"$tmp/conf/sources.d/o.conf" <<EOF2
name = "o";
type = "opts";
connection = { path = "/dev/null"; note = "cloud-keys"; };
cloud = { provider = "aws"; region = "eu-west-1"; access_key_id = "AKIDEXAMPLE";
          secret_access_key = "env:WH_SECRET"; session_token = "env:WH_TOKEN"; };
EOF2
expect 1 "$DSRC" -c "$tmp/conf/dsrcd.conf" test o
cat "$tmp/out" "$tmp/err" >"$tmp/all"
has "$tmp/all" "cloud keys: provider,region,access_key_id"
hasnt "$tmp/all" "secret_access_key"
hasnt "$tmp/all" "session_token"
finish aws_withheld
