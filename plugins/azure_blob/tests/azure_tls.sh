#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# azure_blob.so over https (a real Azurite serving a throwaway self-signed
# certificate for 127.0.0.1) with the TLS mode the host resolves:
#   - a cloud source without a tls group gets verify-full and refuses the
#     unknown certificate, naming the problem; with the certificate as its
#     tls.ca it connects;
#   - an on_prem source without a tls group gets prefer, which for a
#     service that always speaks TLS is verified https: refused the same
#     way, and connects with the CA;
#   - require connects without checking (and says so in a warning);
#   - the health probe reports the days until the service's certificate
#     expires.
# Skipped (77) when azurite-blob or openssl is not installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/azure_blob/tests/fixture/azurite.sh"
command -v openssl >/dev/null || { echo "openssl missing"; exit 77; }
[ -f "$top_builddir/plugins/azure_blob/.libs/azure_blob.so" ] || { echo "azure_blob.so not built"; exit 99; }
DSRC="$top_builddir/dsrc"
lib_tmpdir dsrc-aztls
cleanup() { az_stop; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>"$tmp/openssl.err" ||
    { cat "$tmp/openssl.err"; exit 99; }
AZ_TLS_CERT=$tmp/cert.pem
AZ_TLS_KEY=$tmp/key.pem
az_start "$tmp/az" || exit $?
export AZ_KEY

lib_conf "$top_builddir/plugins/azure_blob/.libs"
src() { # src NAME TOP-LEVEL-SETTINGS
    printf 'name = "%s";\ntype = "azure_blob";\n%s\nconnection = { account = "%s"; endpoint = "%s"; account_key = "env:AZ_KEY"; max_retries = 0; };\n' \
        "$1" "$2" "$AZ_ACCOUNT" "$AZ_ENDPOINT" >"$tmp/conf/sources.d/$1.conf"
}
src cloud_default 'location = "cloud";'
src cloud_ca "location = \"cloud\";
tls = { ca = \"$tmp/cert.pem\"; };"
src onprem_default ''
src onprem_ca "tls = { mode = \"prefer\"; ca = \"$tmp/cert.pem\"; };"
src onprem_require 'tls = { mode = "require"; };'
C="-c $tmp/conf/dsrcd.conf"

expect 0 "$DSRC" $C sources cloud_default;  has "$tmp/out" "mode verify-full (no tls group"
expect 0 "$DSRC" $C sources onprem_default; has "$tmp/out" "mode prefer (no tls group"
expect 1 "$DSRC" $C test cloud_default;     has "$tmp/err" "certificate"
expect 0 "$DSRC" $C test cloud_ca;          has "$tmp/out" "cloud_ca: ok"
expect 1 "$DSRC" $C test onprem_default;    has "$tmp/err" "certificate"
expect 0 "$DSRC" $C test onprem_ca;         has "$tmp/out" "onprem_ca: ok"
expect 0 "$DSRC" $C -v test onprem_require; has "$tmp/out" "onprem_require: ok"
has "$tmp/err" "not verified"
# the certificate the service presented (365 days), through the health probe
expect 0 "$DSRC" $C --json health cloud_ca
d=$(python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["endpoints"][0]["server_cert_expiry_days"])' <"$tmp/out" 2>&1)
python3 -c 'import sys; sys.exit(0 if 363 < float(sys.argv[1]) <= 366 else 1)' "$d" 2>/dev/null && ok ||
    bad "server certificate expiry days: $d"
expect 0 "$DSRC" $C health cloud_ca
has "$tmp/out" "server certificate: expires in 36"

finish azure_tls
