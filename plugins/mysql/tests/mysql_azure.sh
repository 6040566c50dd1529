#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Microsoft Entra ID authentication to Azure Database for MySQL made by the
# host, against a real MariaDB: a user whose password is the access token a
# loopback Entra ID / IMDS stand-in (plugins/azure_blob/tests/fixture/
# token_server.py) issues for the OSS RDBMS resource, so that the server
# accepts the login only if that token reached mysql.so as the password.  A
# cloud source (TLS verified with the test CA) without a password, with
# client credentials and with a managed identity; a wrong client secret is
# an auth error; dsrc test names the identity; neither the secret nor the
# token is ever printed.  The server comes from
# plugins/mysql/tests/fixture/mariadb-fixture (skipped, 77, when none is
# installed).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/mysql/tests/fixture/mariadb-fixture"
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
lib_tmpdir dsrc-myazure
mdir=""
SRV_PID=
cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
    [ -n "$mdir" ] && "$FIXTURE" stop "$mdir" >/dev/null 2>&1
}
dsrc() { "$DSRC" -c "$tmp/conf/dsrcd.conf" "$@"; }

TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47
CLIENT=11111111-2222-3333-4444-555555555555
AZ_SECRET="cs~$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
AZ_BADSECRET="wrong-$AZ_SECRET"
export AZ_SECRET AZ_BADSECRET
TOKEN="eyJ0eXAiOiJKV1Qi.$(od -An -N700 -tx1 /dev/urandom | tr -d ' \n')"
RESOURCE=https://ossrdbms-aad.database.windows.net

mdir=$("$FIXTURE" start --no-replica --owner $$)
rc=$?
if [ "$rc" -eq 77 ]; then mdir=""; exit 77; fi
[ "$rc" -eq 0 ] && [ -n "$mdir" ] || { mdir=""; echo "the MariaDB fixture did not start"; exit 99; }
. "$mdir/fixture.env"
"$FIXTURE" sql "$mdir" primary <<EOF2 || { echo "loading the test data failed"; exit 99; }
CREATE DATABASE azdb;
CREATE TABLE azdb.items (id INT PRIMARY KEY, name VARCHAR(20));
INSERT INTO azdb.items VALUES (1, 'alpha'), (2, 'beta'), (3, 'gamma');
CREATE USER 'entra_reader'@'%' IDENTIFIED BY '$TOKEN';
GRANT SELECT ON azdb.* TO 'entra_reader'@'%';
EOF2

: >"$tmp/log"
/usr/bin/python3 "$top_srcdir/plugins/azure_blob/tests/fixture/token_server.py" \
    "$tmp/port" "$tmp/log" "$TENANT" "$CLIENT" "$AZ_SECRET" "$TOKEN" "$RESOURCE" 3599 &
SRV_PID=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$tmp/port" ] || { echo "token server did not start"; exit 99; }
URL="http://127.0.0.1:$(cat "$tmp/port")"

lib_conf "$top_builddir/plugins/mysql/.libs"
# azsrc NAME [CLOUD-LINE...]: a cloud source logging in as entra_reader
azsrc() {
    name=$1
    shift
    {
        cat <<EOF2
name = "$name";
type = "mysql";
location = "cloud";
connection = {
    host = "127.0.0.1";
    port = $MARIADB_PRIMARY_PORT;
    database = "azdb";
    user = "entra_reader";
    connect_timeout = "5s";
};
tls = { mode = "verify-full"; ca = "$MARIADB_CA"; };
cloud = {
    provider = "azure";
EOF2
        for line in "$@"; do printf '    %s\n' "$line"; done
        echo "};"
    } >"$tmp/conf/sources.d/$name.conf"
}
no_secret() {
    for s in "$TOKEN" "$AZ_SECRET" "eyJ0eXAiOiJKV1Qi"; do
        hasnt "$tmp/out" "$s"; hasnt "$tmp/err" "$s"
    done
}
azsrc cc "tenant_id = \"$TENANT\";" "client_id = \"$CLIENT\";" \
    'client_secret = "env:AZ_SECRET";' "authority_host = \"$URL\";"
azsrc msi 'use_managed_identity = true;' "imds_endpoint = \"$URL\";"
azsrc bad "tenant_id = \"$TENANT\";" "client_id = \"$CLIENT\";" \
    'client_secret = "env:AZ_BADSECRET";' "authority_host = \"$URL\";"

expect 0 dsrc check-config
expect 0 dsrc test cc
has "$tmp/out" "cc: ok"
has "$tmp/out" "cc: identity azure client-credentials: client $CLIENT of tenant $TENANT for $RESOURCE; token valid until "
no_secret
expect 0 dsrc fetch -q -o - cc azdb/items
has "$tmp/out" "gamma"
no_secret
expect 0 dsrc test msi
has "$tmp/out" "msi: identity azure managed-identity: system-assigned managed identity for $RESOURCE"
no_secret
expect 0 dsrc fetch -q -o - msi azdb/items
has "$tmp/out" "alpha"
no_secret
[ "$(grep -cx 'token-cc ok' "$tmp/log")" -eq 2 ] && ok || bad "client credentials: $(grep -cx 'token-cc ok' "$tmp/log") token requests, wanted 2"
[ "$(grep -cx 'token-msi ok' "$tmp/log")" -eq 2 ] && ok || bad "managed identity: $(grep -cx 'token-msi ok' "$tmp/log") token requests, wanted 2"

expect 1 dsrc test bad --json
has "$tmp/out" '"status": "auth"'
has "$tmp/out" "AADSTS7000215"
hasnt "$tmp/out" "$AZ_BADSECRET"; hasnt "$tmp/err" "$AZ_BADSECRET"
no_secret

finish mysql_azure.sh
