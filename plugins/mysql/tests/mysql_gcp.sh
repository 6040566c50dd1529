#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# GCP Cloud SQL IAM login made by the host for the mysql plugin, against a
# real MariaDB: the stand-in of Google's token endpoint and metadata server
# (tests/fixtures/gcp_standin.py, which verifies the JWT's RS256 signature)
# makes each token it issues the password of the IAM user, named as Cloud
# SQL for MySQL names it (the service account's email without its domain).
# A service-account key and workload identity log in and fetch; no key, JWT
# or token in any output.  Skipped (77) when no MariaDB server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/tests/fixtures/dsrc_fixed_clock"
FIXTURE="$top_srcdir/plugins/mysql/tests/fixture/mariadb-fixture"
STANDIN="$top_srcdir/tests/fixtures/gcp_standin.py"
lib_tmpdir dsrc-mygcp
mdir="" spid=""
cleanup() {
    [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
    [ -n "$mdir" ] && "$FIXTURE" stop "$mdir" >/dev/null 2>&1
}
dsrc() { "$DSRC" -c "$tmp/conf/dsrcd.conf" "$@"; }
PY=/usr/bin/python3
"$PY" -c 'import cryptography' 2>/dev/null ||
    { echo "python3 cannot import cryptography: apt-get install python3-cryptography"; exit 99; }
EMAIL=dsrc-reader@test-proj.iam.gserviceaccount.com
DBUSER=dsrc-reader
DSRC_TEST_CLOCK=1767225600   # 2026-01-01T00:00:00Z
export DSRC_TEST_CLOCK

mdir=$("$FIXTURE" start --no-replica --owner $$)
rc=$?
if [ "$rc" -eq 77 ]; then mdir=""; exit 77; fi
[ "$rc" -eq 0 ] && [ -n "$mdir" ] || { mdir=""; echo "the MariaDB fixture did not start"; exit 99; }
. "$mdir/fixture.env"
"$FIXTURE" sql "$mdir" primary <<EOF2 || { echo "cannot create the IAM user"; exit 99; }
CREATE DATABASE gcp;
CREATE TABLE gcp.rows_ (id INT);
INSERT INTO gcp.rows_ VALUES (1), (2), (3);
CREATE USER '$DBUSER'@'%' IDENTIFIED BY 'not-a-token';
GRANT SELECT ON gcp.* TO '$DBUSER'@'%';
EOF2

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/key.pem" 2>/dev/null &&
    openssl pkey -in "$tmp/key.pem" -pubout -out "$tmp/pub.pem" ||
    { echo "openssl made no key"; exit 99; }
"$PY" - "$tmp/sa.json" "$tmp/key.pem" "$EMAIL" <<'EOF2'
import json, sys
json.dump({"type": "service_account", "project_id": "test-proj",
           "private_key_id": "k1", "private_key": open(sys.argv[2]).read(),
           "client_email": sys.argv[3],
           "token_uri": "https://oauth2.googleapis.com/token"}, open(sys.argv[1], "w"))
EOF2
chmod 600 "$tmp/sa.json"
KEYLINE=$(sed -n 5p "$tmp/key.pem")
cat >"$tmp/hook.sh" <<EOF2
"$FIXTURE" sql "$mdir" primary -e "ALTER USER '$DBUSER'@'%' IDENTIFIED BY '\$DSRC_GCP_TOKEN'"
EOF2
mkdir -p "$tmp/sa"
"$PY" "$STANDIN" --dir "$tmp/sa" --pubkey "$tmp/pub.pem" --email "$EMAIL" --kid k1 \
    --clock "$DSRC_TEST_CLOCK" --hook "sh $tmp/hook.sh" 2>"$tmp/sa/log" &
spid=$!
n=100
while [ ! -s "$tmp/sa/port" ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
[ -s "$tmp/sa/port" ] || { echo "the stand-in did not start"; cat "$tmp/sa/log"; exit 99; }
PORT=$(cat "$tmp/sa/port")

lib_conf "$top_builddir/plugins/mysql/.libs"
# mysrc NAME CLOUD-LINE...: a cloud source logging in as the IAM user
mysrc() {
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
    database = "gcp";
    user = "$DBUSER";
};
tls = { mode = "verify-ca"; ca = "$MARIADB_CA"; };
cloud = {
    provider = "gcp";
EOF2
        for line in "$@"; do printf '    %s\n' "$line"; done
        echo "};"
    } >"$tmp/conf/sources.d/$name.conf"
}
no_secret() {
    for f in "$tmp/out" "$tmp/err"; do
        hasnt "$f" "$KEYLINE"; hasnt "$f" "PRIVATE KEY"; hasnt "$f" "eyJ"; hasnt "$f" "ya29."
    done
}

mysrc sa "service_account_file = \"$tmp/sa.json\";" \
    "token_uri = \"http://127.0.0.1:$PORT/token\";"
expect 0 dsrc test sa
has "$tmp/out" "sa: ok"
has "$tmp/out" "sa: identity gcp service-account: $EMAIL"
no_secret
expect 0 dsrc fetch -q -o - sa rows_
has "$tmp/out" "3"
no_secret

mysrc wl "use_workload_identity = true;" "metadata_endpoint = \"http://127.0.0.1:$PORT\";"
expect 0 dsrc test wl
has "$tmp/out" "wl: identity gcp workload-identity: $EMAIL (metadata server)"
no_secret
expect 0 dsrc fetch -q -o - wl rows_
has "$tmp/out" "2"
no_secret
# one token per dsrc run, each the password it logged in with
[ "$(cat "$tmp/sa/count")" -eq 4 ] && ok || bad "four tokens issued, not $(cat "$tmp/sa/count")"
finish mysql_gcp.sh
