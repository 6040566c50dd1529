#!/bin/sh
# read_policy through the real dsrc binary against a MariaDB primary and its
# replica: reads with read_policy = "replica" are served by the replica
# (reported as the endpoint, recorded in the manifest), "primary" reads go
# to the primary, and `test --all` reports each endpoint's role.
# Skipped (77) without MariaDB.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/tests/fixtures/mariadb/mariadb-fixture"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dsrc-myrep.XXXXXX")
mdir=""
cleanup() {
    [ -n "$mdir" ] && "$FIXTURE" stop "$mdir" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
has() { if grep -qF -- "$2" "$1"; then ok; else bad "'$2' not in $1"; sed 's/^/  | /' "$1" | head -20; fi; }

mdir=$("$FIXTURE" start --owner $$)
rc=$?
if [ "$rc" -eq 77 ]; then mdir=""; exit 77; fi
[ "$rc" -eq 0 ] && [ -n "$mdir" ] || { echo "the MariaDB fixture did not start"; exit 1; }
. "$mdir/fixture.env"
PW=Rep-$$-pw
"$FIXTURE" sql "$mdir" primary -e "CREATE DATABASE shop;
  CREATE TABLE shop.t(id INT PRIMARY KEY, v VARCHAR(20));
  INSERT INTO shop.t VALUES (1,'a'),(2,'b'),(3,'c');
  CREATE USER 'rep_reader'@'%' IDENTIFIED BY '$PW';
  GRANT SELECT ON shop.* TO 'rep_reader'@'%';" || bad "cannot create the data"
"$FIXTURE" sync "$mdir" || bad "replica did not catch up"

mkdir -p "$tmp/sources.d"
cat >"$tmp/dsrcd.conf" <<EOF2
plugin_dir = "$top_builddir/plugins/mysql/.libs";
state_dir = "$tmp/state";
workspace = "$tmp/ws";
EOF2
src() { # name policy
    cat >"$tmp/sources.d/$1.conf" <<EOF2
name = "$1";
type = "mysql";
connection = {
    host = "127.0.0.1";
    port = $MARIADB_PRIMARY_PORT;
    database = "shop";
    user = "rep_reader";
    password = "env:DSRC_MYR_PASSWORD";
};
tls = { mode = "verify-ca"; ca = "$MARIADB_CA"; };
replicas = { hosts = [ "127.0.0.1:$MARIADB_REPLICA_PORT" ]; read_policy = "$2"; };
EOF2
}
src onrep replica
src onprim primary
DSRC_MYR_PASSWORD=$PW
export DSRC_MYR_PASSWORD
C="-c $tmp/dsrcd.conf"

"$DSRC" $C test onrep --all >"$tmp/out" 2>&1 || { bad "test --all"; cat "$tmp/out"; }
has "$tmp/out" "(primary"
has "$tmp/out" "(replica"

"$DSRC" $C --json fetch onrep shop/t -o "$tmp/rep.csv" >"$tmp/out" 2>&1 || bad "fetch on replica"
has "$tmp/out" "127.0.0.1:$MARIADB_REPLICA_PORT"
has "$tmp/out" '"rows": 3'
has "$tmp/rep.csv.manifest.json" "127.0.0.1:$MARIADB_REPLICA_PORT"

"$DSRC" $C --json fetch onprim shop/t -o "$tmp/prim.csv" >"$tmp/out" 2>&1 || bad "fetch on primary"
has "$tmp/out" "\"endpoint\": \"primary\""
cmp -s "$tmp/rep.csv" "$tmp/prim.csv" && ok || bad "replica and primary data differ"
grep -rqF "$PW" "$tmp/out" "$tmp/ws" "$tmp"/*.json 2>/dev/null && bad "password leaked" || ok

echo "mysql replica: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
