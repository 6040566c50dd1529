#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# azure_blob.so with Microsoft Entra ID bearer tokens (cloud.provider =
# "azure") that the host obtains and hands to the plugin (dsrc_host.
# bearer_token), through the dsrc binary, against plugins/azure_blob/tests/
# fixture/token_server.py: a local token endpoint (client credentials and
# managed identity) that checks the form fields and the Metadata header, and
# a Blob endpoint (over https, as a cloud source's must be) that accepts only
# "Authorization: Bearer <the token>".
# Checks that one token serves several requests of a connection (cached),
# also with the plugin in a worker process (isolation = "process"), that
# dsrc test names the identity, that a refused token request is an auth
# error, and that neither the token nor the client secret appears in any
# output.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
[ -f "$top_builddir/plugins/azure_blob/.libs/azure_blob.so" ] || { echo "azure_blob.so not built"; exit 99; }
lib_tmpdir dsrc-azentra
SRV_PID=
SRV2_PID=
cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
    [ -n "$SRV2_PID" ] && kill "$SRV2_PID" 2>/dev/null
}
count() { grep -cx -- "$1" "$tmp/log"; }
clean() {
    for s in "$TOKEN" "$AZ_SECRET"; do hasnt "$tmp/out" "$s"; hasnt "$tmp/err" "$s"; done
}

TENANT=contoso.onmicrosoft.com
CLIENT=11111111-2222-3333-4444-555555555555
AZ_SECRET="cs-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
TOKEN="tok-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export AZ_SECRET
AZ_BADSECRET="wrong-$AZ_SECRET"
export AZ_BADSECRET
# a cloud source's Blob endpoint is https: the stand-in serves it with a
# throwaway certificate, the token endpoints on plain loopback http
command -v openssl >/dev/null || { echo "openssl missing"; exit 77; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>"$tmp/openssl.err" ||
    { cat "$tmp/openssl.err"; exit 99; }
TOKEN_SERVER_TLS_CERT=$tmp/cert.pem TOKEN_SERVER_TLS_KEY=$tmp/key.pem
export TOKEN_SERVER_TLS_CERT TOKEN_SERVER_TLS_KEY
: >"$tmp/log"
/usr/bin/python3 "$top_srcdir/plugins/azure_blob/tests/fixture/token_server.py" \
    "$tmp/port" "$tmp/log" "$TENANT" "$CLIENT" "$AZ_SECRET" "$TOKEN" &
SRV_PID=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$tmp/port" ] || { echo "token server did not start"; exit 99; }
PORT=$(cat "$tmp/port")
URL="http://127.0.0.1:$PORT"
BLOB="https://127.0.0.1:$(cat "$tmp/port.tls")"

lib_conf "$top_builddir/plugins/azure_blob/.libs"
src() { # src NAME CLOUD-BODY [EXTRA-CONNECTION [TOP-LEVEL-SETTING]]
    printf 'name = "%s";\ntype = "azure_blob";\nlocation = "cloud";\ntls = { ca = "%s"; };\nconnection = { account = "devstoreaccount1"; endpoint = "%s/devstoreaccount1"; %s };\ncloud = { provider = "azure"; %s };\n%s\n' \
        "$1" "$tmp/cert.pem" "$BLOB" "${3:-}" "$2" "${4:-}" >"$tmp/conf/sources.d/$1.conf"
}
src cc "tenant_id = \"$TENANT\"; client_id = \"$CLIENT\"; client_secret = \"env:AZ_SECRET\"; authority_host = \"$URL/\";"
src cc2 "tenant_id = \"$TENANT\"; client_id = \"$CLIENT\"; client_secret = \"env:AZ_SECRET\"; token_endpoint = \"$URL/$TENANT/oauth2/v2.0/token\";"
src msi "use_managed_identity = true; imds_endpoint = \"$URL\";"
src msiid "use_managed_identity = true; client_id = \"$CLIENT\"; imds_endpoint = \"$URL\";"
src badsecret "tenant_id = \"$TENANT\"; client_id = \"$CLIENT\"; client_secret = \"env:AZ_BADSECRET\"; authority_host = \"$URL\";"
src incomplete "tenant_id = \"$TENANT\"; client_id = \"$CLIENT\";"
src oldver "use_managed_identity = true; imds_endpoint = \"$URL\";" 'api_version = "2017-07-29";'
src ccproc "tenant_id = \"$TENANT\"; client_id = \"$CLIENT\"; client_secret = \"env:AZ_SECRET\"; authority_host = \"$URL/\";" "" 'isolation = "process";'
src msiproc "use_managed_identity = true; imds_endpoint = \"$URL\";" "" 'isolation = "process";'
C="-c $tmp/conf/dsrcd.conf"

# client credentials: open (HEAD-less list ping) and list are two Blob
# requests with one token request between them
expect 0 "$DSRC" $C --json ls cc
has "$tmp/out" '"path": "bearer-ok"'; clean
[ "$(count 'token-cc ok')" -eq 1 ] && ok || bad "client credentials: $(count 'token-cc ok') token requests, wanted 1"
[ "$(count 'blob ok')" -eq 2 ] && ok || bad "client credentials: $(count 'blob ok') accepted Blob requests, wanted 2"
expect 0 "$DSRC" $C --json ls cc2; has "$tmp/out" '"path": "bearer-ok"'; clean
[ "$(count 'token-cc ok')" -eq 2 ] && ok || bad "token_endpoint: $(count 'token-cc ok') token requests, wanted 2"

# managed identity, with and without client_id
expect 0 "$DSRC" $C --json ls msi; has "$tmp/out" '"path": "bearer-ok"'; clean
[ "$(count 'token-msi ok')" -eq 1 ] && ok || bad "managed identity: $(count 'token-msi ok') token requests"
expect 0 "$DSRC" $C test msiid; clean
[ "$(count 'token-msi+client_id ok')" -eq 1 ] && ok || bad "managed identity with client_id not seen"
[ "$(count 'blob ok')" -eq 8 ] && ok || bad "$(count 'blob ok') accepted Blob requests, wanted 8"
if grep -q refused "$tmp/log"; then bad "refused requests: $(grep refused "$tmp/log")"; else ok; fi

# a wrong secret: auth error from the token endpoint, nothing leaked
expect 1 "$DSRC" $C --json test badsecret
has "$tmp/out" '"status": "auth"'; has "$tmp/out" "token endpoint refused"
hasnt "$tmp/out" "$AZ_BADSECRET"; hasnt "$tmp/err" "$AZ_BADSECRET"; clean
# configuration errors
# (found by check-config already: azure_blob's validate())
expect 78 "$DSRC" $C --json test incomplete; has "$tmp/out" "client_secret"
expect 78 "$DSRC" $C check-config; has "$tmp/err" "incomplete.conf"
has "$tmp/err" "needs tenant_id, client_id and client_secret"
expect 1 "$DSRC" $C --json test oldver; has "$tmp/out" "too old"

# dsrc test names the identity the host used, never the token
expect 0 "$DSRC" $C test cc; clean
has "$tmp/out" "cc: identity azure client-credentials: client $CLIENT of tenant $TENANT for https://storage.azure.com; token valid until "
expect 0 "$DSRC" $C --json test msi; clean
has "$tmp/out" '"provider": "azure"'; has "$tmp/out" '"mode": "managed-identity"'
has "$tmp/out" "system-assigned managed identity for https://storage.azure.com"

# the plugin in a worker process: the worker asks the host for the token
: >"$tmp/log"
expect 0 "$DSRC" $C --json ls ccproc; has "$tmp/out" '"path": "bearer-ok"'; clean
expect 0 "$DSRC" $C --json ls msiproc; has "$tmp/out" '"path": "bearer-ok"'; clean
[ "$(count 'token-cc ok')" -eq 1 ] && ok || bad "worker, client credentials: $(count 'token-cc ok') token requests, wanted 1"
[ "$(count 'token-msi ok')" -eq 1 ] && ok || bad "worker, managed identity: $(count 'token-msi ok') token requests, wanted 1"
[ "$(count 'blob ok')" -eq 4 ] && ok || bad "worker: $(count 'blob ok') accepted Blob requests, wanted 4"
AZ_SECRET=$AZ_BADSECRET expect 1 "$DSRC" $C --json test ccproc
has "$tmp/out" '"status": "auth"'; has "$tmp/out" "token endpoint refused"
hasnt "$tmp/out" "$AZ_BADSECRET"; hasnt "$tmp/err" "$AZ_BADSECRET"; clean

# tokens that live less than twice the 5-minute margin: the connection asks
# the host before each request, and the host keeps such a token for two
# thirds of its life (here 200 s: both requests get the first one; when
# it is stale the host asks Entra ID again, so a pooled connection never
# sends an expired token)
: >"$tmp/log2"
/usr/bin/python3 "$top_srcdir/plugins/azure_blob/tests/fixture/token_server.py" \
    "$tmp/port2" "$tmp/log2" "$TENANT" "$CLIENT" "$AZ_SECRET" "$TOKEN" \
    https://storage.azure.com 200 &
SRV2_PID=$!
i=0
while [ ! -s "$tmp/port2" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$tmp/port2" ] || { echo "token server did not start"; exit 99; }
URL2="http://127.0.0.1:$(cat "$tmp/port2")"
BLOB2="https://127.0.0.1:$(cat "$tmp/port2.tls")"
printf 'name = "short";\ntype = "azure_blob";\nlocation = "cloud";\ntls = { ca = "%s"; };\nconnection = { account = "devstoreaccount1"; endpoint = "%s/devstoreaccount1"; };\ncloud = { provider = "azure"; tenant_id = "%s"; client_id = "%s"; client_secret = "env:AZ_SECRET"; authority_host = "%s"; };\n' \
    "$tmp/cert.pem" "$BLOB2" "$TENANT" "$CLIENT" "$URL2" >"$tmp/conf/sources.d/short.conf"
expect 0 "$DSRC" $C --json ls short; has "$tmp/out" '"path": "bearer-ok"'; clean
n=$(grep -cx 'token-cc ok' "$tmp/log2")
[ "$n" -eq 1 ] && ok || bad "short-lived tokens: $n token requests for 2 Blob requests, wanted 1"
n=$(grep -cx 'blob ok' "$tmp/log2")
[ "$n" -eq 2 ] && ok || bad "short-lived tokens: $n accepted Blob requests, wanted 2"

# a cloud source is never sent in plain text: an http:// Blob endpoint (or
# one a connection string makes) is refused before any request
printf 'name = "plain";\ntype = "azure_blob";\nlocation = "cloud";\nconnection = { account = "devstoreaccount1"; endpoint = "%s/devstoreaccount1"; };\ncloud = { provider = "azure"; use_managed_identity = true; imds_endpoint = "%s"; };\n' \
    "$URL" "$URL" >"$tmp/conf/sources.d/plain.conf"
: >"$tmp/log"
expect 78 "$DSRC" $C test plain
has "$tmp/err" "option 'endpoint' is a plain http:// URL, not allowed for a cloud source"
printf 'name = "plain";\ntype = "azure_blob";\nlocation = "hybrid";\nconnection = { connection_string = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;EndpointSuffix=127.0.0.1"; };\ncloud = { provider = "azure"; use_managed_identity = true; imds_endpoint = "%s"; };\n' \
    "$URL" >"$tmp/conf/sources.d/plain.conf"
expect 1 "$DSRC" $C test plain
has "$tmp/err" "option 'endpoint' is a plain http:// URL, not allowed for a hybrid source"
[ ! -s "$tmp/log" ] && ok || bad "requests were made: $(cat "$tmp/log")"
rm -f "$tmp/conf/sources.d/plain.conf"

finish azure_entra
