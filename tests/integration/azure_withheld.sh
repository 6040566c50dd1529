#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The Azure client secret of a source's cloud group (client_secret) stays
# with the host: it gets Microsoft Entra ID tokens with it (identity.h,
# dsrc_host.bearer_token) and never hands it to the plugin, whose cloud
# group holds the other keys (provider, tenant_id, client_id, ...) as
# before.  The opts test plugin, with note = "cloud-keys", refuses to open
# naming the keys it got.  Its secret "password" option gets the token of
# Azure Database for PostgreSQL / MySQL, which the host asks the token
# stand-in (plugins/azure_blob/tests/fixture/token_server.py) for.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
lib_tmpdir dsrc-azwh
SRV_PID=
cleanup() { [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null; }
lib_conf "$top_builddir/tests/fixtures/plugins/.libs"
TENANT=contoso.onmicrosoft.com
CLIENT=11111111-2222-3333-4444-555555555555
WH_SECRET="cs-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
TOKEN="tok-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export WH_SECRET
: >"$tmp/log"
/usr/bin/python3 "$top_srcdir/plugins/azure_blob/tests/fixture/token_server.py" \
    "$tmp/port" "$tmp/log" "$TENANT" "$CLIENT" "$WH_SECRET" "$TOKEN" \
    https://ossrdbms-aad.database.windows.net &
SRV_PID=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$tmp/port" ] || { echo "token server did not start"; exit 99; }
URL="http://127.0.0.1:$(cat "$tmp/port")"

for iso in none process; do
    cat >"$tmp/conf/sources.d/o.conf" <<EOF2
name = "o";
type = "opts";
isolation = "$iso";
location = "cloud";
connection = { path = "/dev/null"; note = "cloud-keys"; };
cloud = { provider = "azure"; tenant_id = "$TENANT"; client_id = "$CLIENT";
          client_secret = "env:WH_SECRET"; authority_host = "$URL"; };
EOF2
    expect 1 "$DSRC" -c "$tmp/conf/dsrcd.conf" test o
    cat "$tmp/out" "$tmp/err" >"$tmp/all"
    has "$tmp/all" "cloud keys: provider,tenant_id,client_id,authority_host"
    hasnt "$tmp/all" "client_secret"
    hasnt "$tmp/all" "$WH_SECRET"
    hasnt "$tmp/all" "$TOKEN"
done
# the host asked for the database token, once per run
n=$(grep -cx 'token-cc ok' "$tmp/log")
[ "$n" -eq 2 ] && ok || bad "$n token requests, wanted 2: $(cat "$tmp/log")"
finish azure_withheld
