#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Microsoft Entra ID authentication to Azure Database for PostgreSQL made by
# the host, against a real PostgreSQL: a role whose password is the access
# token a loopback Entra ID / IMDS stand-in (plugins/azure_blob/tests/
# fixture/token_server.py) issues for the OSS RDBMS resource
# (https://ossrdbms-aad.database.windows.net), so that the server accepts
# the login only if that token reached it as the password.  The source is a
# cloud one (TLS verified with the test CA), without a password; the token
# comes from client credentials (tenant_id, client_id, client_secret as
# env:) and from a managed identity (IMDS, with and without client_id).  A
# wrong client secret is an auth error, exit 1; dsrc test names the
# identity; neither the secret nor the token is ever printed.  The same
# source fetched in a worker process (isolation = "process") too.
# Skipped (77) when no PostgreSQL server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
lib_tmpdir dsrc-pgazure
pgdir=""
SRV_PID=
cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
}
dsrc() { "$DSRC" -c "$tmp/conf/dsrcd.conf" "$@"; }

TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47
CLIENT=11111111-2222-3333-4444-555555555555
AZ_SECRET="cs~$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
AZ_BADSECRET="wrong-$AZ_SECRET"
export AZ_SECRET AZ_BADSECRET
# an Entra ID token is a JWT of 1-2 kB: the password is as long
TOKEN="eyJ0eXAiOiJKV1Qi.$(od -An -N700 -tx1 /dev/urandom | tr -d ' \n')"
RESOURCE=https://ossrdbms-aad.database.windows.net

pg_start --no-replica
su_psql -q -c "CREATE ROLE entra_reader LOGIN PASSWORD '$TOKEN'" \
    -c "GRANT CONNECT ON DATABASE $PG_DATABASE TO entra_reader" \
    -c "CREATE TABLE public.az_items (id int PRIMARY KEY, name text)" \
    -c "INSERT INTO public.az_items VALUES (1, 'alpha'), (2, 'beta'), (3, 'gamma')" \
    -c "GRANT SELECT ON public.az_items TO entra_reader" >/dev/null ||
    { echo "cannot create the Entra ID role"; exit 99; }

: >"$tmp/log"
/usr/bin/python3 "$top_srcdir/plugins/azure_blob/tests/fixture/token_server.py" \
    "$tmp/port" "$tmp/log" "$TENANT" "$CLIENT" "$AZ_SECRET" "$TOKEN" "$RESOURCE" 3599 &
SRV_PID=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$tmp/port" ] || { echo "token server did not start"; exit 99; }
URL="http://127.0.0.1:$(cat "$tmp/port")"
count() { grep -cx -- "$1" "$tmp/log"; }

lib_conf "$top_builddir/plugins/postgres/.libs"
# azsrc NAME ISOLATION [CLOUD-LINE...]: a cloud source logging in as
# entra_reader
azsrc() {
    name=$1 iso=$2
    shift 2
    {
        cat <<EOF2
name = "$name";
type = "postgres";
location = "cloud";
isolation = "$iso";
connection = {
    host = "127.0.0.1";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "entra_reader";
    connect_timeout = "5s";
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
cloud = {
    provider = "azure";
EOF2
        for line in "$@"; do printf '    %s\n' "$line"; done
        echo "};"
    } >"$tmp/conf/sources.d/$name.conf"
}
# no_secret: neither the token nor the client secret in the last output
no_secret() {
    for s in "$TOKEN" "$AZ_SECRET" "eyJ0eXAiOiJKV1Qi"; do
        hasnt "$tmp/out" "$s"; hasnt "$tmp/err" "$s"
    done
}
azsrc cc none "tenant_id = \"$TENANT\";" "client_id = \"$CLIENT\";" \
    'client_secret = "env:AZ_SECRET";' "authority_host = \"$URL/\";"
azsrc ccproc process "tenant_id = \"$TENANT\";" "client_id = \"$CLIENT\";" \
    'client_secret = "env:AZ_SECRET";' "token_endpoint = \"$URL/$TENANT/oauth2/v2.0/token\";"
azsrc msi none 'use_managed_identity = true;' "imds_endpoint = \"$URL\";"
azsrc msiid process 'use_managed_identity = true;' "client_id = \"$CLIENT\";" \
    "imds_endpoint = \"$URL\";"
azsrc bad none "tenant_id = \"$TENANT\";" "client_id = \"$CLIENT\";" \
    'client_secret = "env:AZ_BADSECRET";' "authority_host = \"$URL\";"
azsrc https none "tenant_id = \"$TENANT\";" "client_id = \"$CLIENT\";" \
    'client_secret = "env:AZ_SECRET";' "authority_host = \"http://login.example.com\";"

expect 0 dsrc check-config

# ---- client credentials ----
expect 0 dsrc test cc
has "$tmp/out" "cc: ok"
has "$tmp/out" "cc: identity azure client-credentials: client $CLIENT of tenant $TENANT for $RESOURCE; token valid until "
no_secret
expect 0 dsrc test cc --json
has "$tmp/out" '"provider": "azure"'
has "$tmp/out" '"mode": "client-credentials"'
has "$tmp/out" '"expires": "'
no_secret
# a real session, not only a ping: the rows come back
expect 0 dsrc fetch -q -o - cc public.az_items
has "$tmp/out" "gamma"
no_secret
[ "$(count 'token-cc ok')" -eq 3 ] && ok || bad "client credentials: $(count 'token-cc ok') token requests, wanted 3"
# in a worker process, the token endpoint named verbatim
expect 0 dsrc fetch -q -o - ccproc public.az_items
has "$tmp/out" "beta"
no_secret

# ---- managed identity ----
expect 0 dsrc test msi
has "$tmp/out" "msi: identity azure managed-identity: system-assigned managed identity for $RESOURCE; token valid until "
no_secret
expect 0 dsrc fetch -q -o - msiid public.az_items
has "$tmp/out" "alpha"
no_secret
expect 0 dsrc test msiid
has "$tmp/out" "msiid: identity azure managed-identity: managed identity, client $CLIENT for $RESOURCE"
no_secret
[ "$(count 'token-msi ok')" -eq 1 ] && ok || bad "managed identity: $(count 'token-msi ok') token requests, wanted 1"
[ "$(count 'token-msi+client_id ok')" -eq 2 ] && ok || bad "managed identity with client_id: $(count 'token-msi+client_id ok') token requests, wanted 2"
if grep -q refused "$tmp/log"; then bad "refused requests: $(grep refused "$tmp/log")"; else ok; fi

# ---- a wrong client secret: the endpoint refuses, an auth error ----
expect 1 dsrc test bad
has "$tmp/err" "source 'bad': cloud identity (azure, Entra ID): Microsoft Entra ID: the token endpoint refused the request: HTTP 401"
has "$tmp/err" "invalid_client: AADSTS7000215: Invalid client secret provided."
hasnt "$tmp/err" "$AZ_BADSECRET"; hasnt "$tmp/out" "$AZ_BADSECRET"
no_secret
expect 1 dsrc test bad --json
has "$tmp/out" '"status": "auth"'
hasnt "$tmp/out" "$AZ_BADSECRET"
no_secret

# ---- plain http to anything but loopback is refused ----
expect 1 dsrc test https
has "$tmp/err" "plain http:// is allowed only for a loopback test endpoint"
no_secret

# ---- incomplete client credentials: found by check-config ----
azsrc half none "tenant_id = \"$TENANT\";" 'client_secret = "env:AZ_SECRET";'
expect 78 dsrc check-config
has "$tmp/err" "half.conf"
has "$tmp/err" "source 'half': cloud.provider \"azure\" needs tenant_id, client_id and client_secret"
no_secret
rm -f "$tmp/conf/sources.d/half.conf"

# ---- the token server gone: unreachable, retryable (exit 75) ----
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null; SRV_PID=
expect 75 dsrc test cc --json
has "$tmp/out" '"status": "unreachable"'
has "$tmp/out" '"retryable": true'
no_secret

finish pg_azure.sh
