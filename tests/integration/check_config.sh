#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Configuration files that are not what they should be, end to end:
# an @include of a directory or a FIFO, a FIFO as the daemon file, settings
# that would fail only when used (control_socket too long, key_file or a
# file: secret missing), option values outside the limits a plugin declares
# or refused by its validate(), and messages quoting bytes that are not UTF-8.
# Each is an error with file:line and exit 78, from `dsrc check-config`,
# `dsrcd --check-config` and a reload, which keeps the running
# configuration.  Every command runs under timeout(1): a hang is a failure.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
lib_tmpdir dsrc-checkconf
expect_timeout=20
pid=
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
}

sqlite3 "$tmp/a.db" "CREATE TABLE t(x INTEGER);"
mkdir -p "$tmp/sources.d" "$tmp/sources.d/incdir"
cat >"$tmp/dsrcd.conf" <<EOF
plugin_dir = "$top_builddir/plugins/sqlite/.libs";
state_dir = "$tmp/state";
control_socket = "$tmp/run/dsrcd.sock";
EOF
cat >"$tmp/sources.d/a.conf" <<EOF
name = "a";
type = "sqlite";
connection = { path = "$tmp/a.db"; };
EOF
C="-c $tmp/dsrcd.conf"
expect 0 "$DSRC" $C check-config

# ---------------------------------------------------------------- @include
printf 'name = "b";\ntype = "sqlite";\n@include "incdir"\n' >"$tmp/sources.d/b.conf"
expect 78 "$DSRC" $C check-config;        has "$tmp/err" "$tmp/sources.d/b.conf:3:"
has "$tmp/err" "is a directory"
expect 78 "$DSRCD" $C --check-config;     has "$tmp/err" "$tmp/sources.d/b.conf:3:"
mkfifo "$tmp/sources.d/fifo.inc"
printf 'name = "b";\ntype = "sqlite";\n\n@include "fifo.inc"\n' >"$tmp/sources.d/b.conf"
expect 78 "$DSRC" $C check-config;        has "$tmp/err" "$tmp/sources.d/b.conf:4:"
has "$tmp/err" "not a regular file"
expect 78 "$DSRCD" $C --check-config;     has "$tmp/err" "$tmp/sources.d/b.conf:4:"
rm "$tmp/sources.d/b.conf"

# A FIFO as the daemon file.
mkfifo "$tmp/fifo.conf"
expect 78 "$DSRC" -c "$tmp/fifo.conf" check-config;  has "$tmp/err" "not a regular file"
expect 78 "$DSRCD" -c "$tmp/fifo.conf" --check-config; has "$tmp/err" "$tmp/fifo.conf: error: cannot read the file: not a regular file"

# A reload with an @include of a directory keeps the running configuration
# and the daemon (and its socket) alive.
"$DSRCD" $C --foreground --log-target stderr >"$tmp/log" 2>&1 &
pid=$!
wait_for "$tmp/log" "1 source(s)" && ok || { bad "dsrcd did not start"; cat "$tmp/log"; }
printf 'name = "b";\ntype = "sqlite";\n@include "incdir"\n' >"$tmp/sources.d/b.conf"
kill -HUP "$pid"
wait_for "$tmp/log" "keeping the previous configuration" && ok || { bad "bad reload not refused"; cat "$tmp/log"; }
has "$tmp/log" "b.conf:3:"
kill -0 "$pid" 2>/dev/null && ok || bad "dsrcd died on a reload with an @include of a directory"
[ -S "$tmp/run/dsrcd.sock" ] && ok || bad "control socket gone"
kill -TERM "$pid"; wait "$pid"; pid=
rm "$tmp/sources.d/b.conf"

# ---------------------------------------------------------------- paths
long=$(printf "$tmp/%0120d.sock" 0)
printf 'control_socket = "%s";\nkey_file = "%s/no.key";\n' "$long" "$tmp" >"$tmp/paths.conf"
expect 78 "$DSRC" -c "$tmp/paths.conf" check-config
has "$tmp/err" "$tmp/paths.conf:1:"; has "$tmp/err" "at most 107"
has "$tmp/err" "$tmp/paths.conf:2:"; has "$tmp/err" "'key_file'"
mkdir -p "$tmp/s2"
printf 'name = "s";\ntype = "sqlite";\ntls = { key_passphrase = "file:pass.txt"; };\n' >"$tmp/s2/s.conf"
printf 'plugin_dir = "%s";\nsources_dir = "s2";\n' "$top_builddir/plugins/sqlite/.libs" >"$tmp/s2.conf"
expect 78 "$DSRC" -c "$tmp/s2.conf" check-config
has "$tmp/err" "$tmp/s2/s.conf:3:"; has "$tmp/err" "absolute path"
expect 78 "$DSRCD" -c "$tmp/s2.conf" --check-config; has "$tmp/err" "$tmp/s2/s.conf:3:"

# ---------------------------------------------------------------- limits
# Option limits and validate() (tests/fixtures/plugins/limits): a value
# out of range or not matching a pattern, and a refusal by the plugin's
# validate(), each at its file:line, from both programs; secrets reach
# validate() as a placeholder only.
lim="$top_builddir/tests/fixtures/plugins/.libs/limits.so"
mkdir -p "$tmp/lp" "$tmp/l.d"
ln -sf "$lim" "$tmp/lp/limits.so"
printf 'plugin_dir = "%s";\nsources_dir = "l.d";\nstate_dir = "%s/lstate";\n' "$tmp/lp" "$tmp" \
    >"$tmp/l.conf"
cat >"$tmp/l.d/ok.conf" <<EOF
name = "ok";
type = "limits";
connection = { host = "db-1.example.org"; port = 65535; timeout = "1s"; ratio = 1.0;
               label = "abc"; key = "env:HOME"; };
EOF
expect 0 "$DSRC" -c "$tmp/l.conf" check-config
cat >"$tmp/l.d/bad.conf" <<EOF
name = "bad";
type = "limits";
connection = {
  port = 70000;
  timeout = "50ms";
  ratio = -0.5;
  host = "no spaces allowed";
  label = "ABC";
};
EOF
for prog in "$DSRC" "$DSRCD"; do
    if [ "$prog" = "$DSRC" ]; then expect 78 "$prog" -c "$tmp/l.conf" check-config
    else expect 78 "$prog" -c "$tmp/l.conf" --check-config; fi
    has "$tmp/err" "$tmp/l.d/bad.conf:4: error: option 'port' of source 'bad': 70000 is above the maximum 65535"
    has "$tmp/err" "$tmp/l.d/bad.conf:5: error: option 'timeout' of source 'bad': 50ms is below the minimum 100ms"
    has "$tmp/err" "$tmp/l.d/bad.conf:6: error: option 'ratio' of source 'bad': -0.5 is below the minimum 0"
    has "$tmp/err" "$tmp/l.d/bad.conf:7: error: option 'host' of source 'bad': 'no spaces allowed' is not a host name"
    has "$tmp/err" "$tmp/l.d/bad.conf:8: error: option 'label' of source 'bad': 'ABC' does not match the pattern '[a-z]+'"
    hasnt "$tmp/err" "ok.conf"
done
rm "$tmp/l.d/bad.conf"
# validate(): a message naming an option is reported at its line, another
# at the connection group's; the secrets it saw were placeholders
cat >"$tmp/l.d/both.conf" <<EOF
name = "both";
type = "limits";
connection = {
  key = "env:HOME";
  token = "env:PATH";
};
EOF
cat >"$tmp/l.d/whole.conf" <<EOF
name = "whole";
type = "limits";
connection = { ratio = 1; timeout = "500ms"; };
EOF
expect 78 "$DSRC" -c "$tmp/l.conf" check-config
has "$tmp/err" "$tmp/l.d/both.conf:5: error: source 'both': option 'token': set either key or token, not both"
has "$tmp/err" "$tmp/l.d/whole.conf:3: error: source 'whole': a ratio of 1 needs a timeout of 1s or more"
hasnt "$tmp/err" "was given a secret"
expect 78 "$DSRCD" -c "$tmp/l.conf" --check-config
has "$tmp/err" "$tmp/l.d/both.conf:5:"
has "$tmp/err" "$tmp/l.d/whole.conf:3:"
rm "$tmp/l.d/both.conf" "$tmp/l.d/whole.conf"
expect 0 "$DSRCD" -c "$tmp/l.conf" --check-config

# ... the shipped plugins declare theirs: postgres's port, azure_blob's
# account name, and azure_blob's validate() of its credentials; s3's page
# size and its validate() of the endpoint
mkdir -p "$tmp/sp" "$tmp/s.d"
ln -sf "$top_builddir/plugins/postgres/.libs/postgres.so" "$tmp/sp/postgres.so"
ln -sf "$top_builddir/plugins/azure_blob/.libs/azure_blob.so" "$tmp/sp/azure_blob.so"
ln -sf "$top_builddir/plugins/s3/.libs/s3.so" "$tmp/sp/s3.so"
printf 'plugin_dir = "%s";\nsources_dir = "s.d";\nstate_dir = "%s/sstate";\n' "$tmp/sp" "$tmp" \
    >"$tmp/s.conf"
cat >"$tmp/s.d/pg.conf" <<EOF
name = "pg";
type = "postgres";
connection = { database = "d"; user = "u";
               port = 70000; };
EOF
cat >"$tmp/s.d/az.conf" <<EOF
name = "az";
type = "azure_blob";
connection = { account = "My_Account"; };
EOF
cat >"$tmp/s.d/entra.conf" <<EOF
name = "entra";
type = "azure_blob";
cloud = { provider = "azure"; client_id = "c"; };
connection = {
  account = "acct"; };
EOF
cat >"$tmp/s.d/s3.conf" <<EOF
name = "s3";
type = "s3";
connection = { page_size = 5000; };
EOF
cat >"$tmp/s.d/s3v.conf" <<EOF
name = "s3v";
type = "s3";
connection = {
  endpoint = "ftp://minio.example"; };
EOF
expect 78 "$DSRC" -c "$tmp/s.conf" check-config
has "$tmp/err" "$tmp/s.d/s3.conf:3: error: option 'page_size' of source 's3': 5000 is above the maximum 1000"
has "$tmp/err" "$tmp/s.d/s3v.conf:4: error: source 's3v': option 'endpoint': must start with http:// or https://"
has "$tmp/err" "$tmp/s.d/pg.conf:4: error: option 'port' of source 'pg': 70000 is above the maximum 65535"
has "$tmp/err" "$tmp/s.d/az.conf:3: error: option 'account' of source 'az': 'My_Account' is not a storage account name"
has "$tmp/err" "$tmp/s.d/entra.conf:3: error: source 'entra': cloud.provider \"azure\" needs tenant_id, client_id and client_secret (client credentials) or use_managed_identity = true; it has client_id"

# ---------------------------------------------------------------- identity
# A cloud identity's token is never sent in plain text: refused with a TLS
# mode that allows it (an on_prem source's default is prefer), accepted on
# a cloud source (verify-full by default).
cat >"$tmp/sources.d/iam.conf" <<EOF
name = "iam";
type = "sqlite";
connection = { path = "$tmp/a.db"; };
cloud = { provider = "aws"; region = "eu-west-1"; use_iam_auth = true; };
EOF
expect 78 "$DSRC" $C check-config
has "$tmp/err" "$tmp/sources.d/iam.conf:4: error: source 'iam': its cloud identity (aws) is a credential and is never sent in plain text, but tls.mode is 'prefer' (the on_prem default)"
printf 'name = "iam";\ntype = "sqlite";\nlocation = "hybrid";\ntls = { mode = "disable"; };\ncloud = { provider = "aws"; region = "eu-west-1"; use_iam_auth = true; };\n' >"$tmp/sources.d/iam.conf"
expect 78 "$DSRC" $C check-config
has "$tmp/err" "$tmp/sources.d/iam.conf:4: error: source 'iam': its cloud identity (aws) is a credential and is never sent in plain text, but tls.mode is 'disable'"
rm "$tmp/sources.d/iam.conf"

# ---------------------------------------------------------------- --json
# A message quoting bytes that are not UTF-8 keeps its text.
printf 'name = "caf\351";\ntype = "sqlite";\n' >"$tmp/sources.d/c.conf"
expect 78 "$DSRC" $C --json check-config
has "$tmp/out" '"line": 1'
has "$tmp/out" "invalid source name 'caf\\\\xE9'"
rm "$tmp/sources.d/c.conf"

finish check_config
