#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# AWS RDS IAM database authentication made by the host, through mysql.so,
# against a real MariaDB: a user whose password is the token botocore's
# generate_db_auth_token makes for it at a fixed clock, and who must use
# TLS (REQUIRE SSL), so that dsrc test and a fetch succeed only if the
# host's token reached the server intact, inside TLS.  A token made at
# another time is refused.  The mysql_clear_password client plugin (what
# RDS asks for) is used only for a cloud identity's token over TLS: a user
# authenticated by PAM with pam_use_cleartext_plugin (the server asks for
# the password in clear) is answered by the identity source (PAM then
# refuses it: there is no such PAM service), refused by the client for a
# source with an ordinary password and for an identity over "prefer".
# No token or key in any output.
# Skipped (77) when no MariaDB server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/tests/fixtures/dsrc_fixed_clock"
FIXTURE="$top_srcdir/plugins/mysql/tests/fixture/mariadb-fixture"
lib_tmpdir dsrc-myiam
mdir=""
cleanup() { [ -n "$mdir" ] && "$FIXTURE" stop "$mdir" >/dev/null 2>&1; }
dsrc() { "$DSRC" -c "$tmp/conf/dsrcd.conf" "$@"; }
PY=
for py in /usr/bin/python3 $(command -v python3); do
    if "$py" -c 'import botocore' 2>/dev/null; then PY=$py; break; fi
done
[ -n "$PY" ] || { echo "no python3 can import botocore: apt-get install python3-boto3"; exit 99; }
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
export AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent HOME="$tmp" \
    AWS_EC2_METADATA_DISABLED=true

KEY_ID=AKIDEXAMPLE
SECRET=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
REGION=eu-west-1
DSRC_TEST_CLOCK=1767225600   # 2026-01-01T00:00:00Z
export DSRC_TEST_CLOCK

# the primary with PAM authentication asking for the password in clear
mdir=$(MARIADB_FIXTURE_ARGS="--plugin-load-add=auth_pam --pam-use-cleartext-plugin=ON" \
    "$FIXTURE" start --no-replica --owner $$)
rc=$?
if [ "$rc" -eq 77 ]; then mdir=""; exit 77; fi
[ "$rc" -eq 0 ] && [ -n "$mdir" ] || { mdir=""; echo "the MariaDB fixture did not start"; exit 99; }
. "$mdir/fixture.env"
my() { "$FIXTURE" sql "$mdir" primary "$@"; }

token=$(AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET AWS_SHARED_CREDENTIALS_FILE= \
    "$PY" "$top_srcdir/tests/fixtures/rds_token.py" 127.0.0.1 "$MARIADB_PRIMARY_PORT" \
    iam_reader "$REGION" "$DSRC_TEST_CLOCK") || { echo "botocore made no token"; exit 99; }
my -e "CREATE DATABASE shop;
CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(20));
INSERT INTO shop.items VALUES (1, 'alpha'), (2, 'beta');
CREATE USER 'iam_reader'@'%' IDENTIFIED BY '$token' REQUIRE SSL;
GRANT SELECT ON shop.* TO 'iam_reader'@'%';
CREATE USER 'pam_user'@'%' IDENTIFIED VIA pam USING 'dsrc-no-such-service' REQUIRE SSL;
GRANT SELECT ON shop.* TO 'pam_user'@'%';" || { echo "cannot create the users"; exit 99; }

# REQUIRE SSL holds: the right token without TLS is refused
mariadb --no-defaults -h 127.0.0.1 -P "$MARIADB_PRIMARY_PORT" --skip-ssl -u iam_reader \
    -p"$token" -e 'SELECT 1' >/dev/null 2>&1 && bad "iam_reader logged in without TLS" || ok
mariadb --no-defaults -h 127.0.0.1 -P "$MARIADB_PRIMARY_PORT" --ssl --ssl-ca="$MARIADB_CA" \
    -u iam_reader -p"$token" -e 'SELECT 1' >/dev/null 2>&1 && ok ||
    bad "iam_reader cannot log in with the token over TLS"

lib_conf "$top_builddir/plugins/mysql/.libs"
# mysrc NAME USER LOCATION TLS-LINE [EXTRA-LINES...]: a source with the
# cloud group's credentials (the secret key as env:)
mysrc() {
    name=$1 user=$2 location=$3 tls=$4
    shift 4
    {
        cat <<EOF2
name = "$name";
type = "mysql";
location = "$location";
connection = {
    host = "127.0.0.1";
    port = $MARIADB_PRIMARY_PORT;
    database = "shop";
    user = "$user";
    connect_timeout = "5s";
};
$tls
EOF2
        for line in "$@"; do printf '%s\n' "$line"; done
    } >"$tmp/conf/sources.d/$name.conf"
}
IAM="cloud = { provider = \"aws\"; use_iam_auth = true; region = \"$REGION\";
    access_key_id = \"$KEY_ID\"; secret_access_key = \"env:DSRC_IAM_SECRET\"; };"
DSRC_IAM_SECRET=$SECRET
DSRC_MY_PW=not-a-token
export DSRC_IAM_SECRET DSRC_MY_PW
no_secret() {
    hasnt "$tmp/out" "$token"; hasnt "$tmp/err" "$token"
    hasnt "$tmp/out" "X-Amz-Signature"; hasnt "$tmp/err" "X-Amz-Signature"
    hasnt "$tmp/out" "$SECRET"; hasnt "$tmp/err" "$SECRET"
}

# ---- the token logs in, inside TLS ----
mysrc iam iam_reader cloud "tls = { mode = \"verify-full\"; ca = \"$MARIADB_CA\"; };" "$IAM"
expect 0 dsrc check-config
expect 0 dsrc test iam
has "$tmp/out" "iam: ok"
has "$tmp/out" "iam: identity aws rds-iam: iam_reader in $REGION via access key AKID...MPLE (the source's cloud group); token valid until 2026-01-01T00:15:00Z"
no_secret
expect 0 dsrc fetch iam items -o "$tmp/items.csv"
no_secret
has "$tmp/items.csv" "alpha"
has "$tmp/items.csv" "beta"
# at another time the token differs: refused
DSRC_TEST_CLOCK=1767229200 expect 1 dsrc test iam
has "$tmp/err" "Access denied for user 'iam_reader'"
no_secret

# ---- mysql_clear_password: only for the identity over TLS ----
mysrc pamiam pam_user cloud "tls = { mode = \"verify-full\"; ca = \"$MARIADB_CA\"; };" "$IAM"
expect 1 dsrc test pamiam
has "$tmp/err" "Access denied for user 'pam_user'"
hasnt "$tmp/err" "restricted_auth"
no_secret
mysrc pampw pam_user cloud "tls = { mode = \"verify-full\"; ca = \"$MARIADB_CA\"; };"
sed -i 's/    user = "pam_user";/&\n    password = "env:DSRC_MY_PW";/' "$tmp/conf/sources.d/pampw.conf"
expect 1 dsrc test pampw
has "$tmp/err" "restricted_auth plugin list"
hasnt "$tmp/err" "Access denied"
# an identity with a TLS mode that allows plain text: the host refuses the
# source before any connection (and the plugin would not send the token)
mysrc pamprefer pam_user on_prem "tls = { mode = \"prefer\"; };" "$IAM"
expect 78 dsrc test pamprefer
has "$tmp/err" "its cloud identity (aws) is a credential and is never sent in plain text, but tls.mode is 'prefer'"
hasnt "$tmp/err" "Access denied"
no_secret

finish mysql_iam.sh
