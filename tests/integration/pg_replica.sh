#!/bin/sh
# read_policy through the real dsrc binary against a PostgreSQL primary and
# its streaming replica: reads with read_policy = "replica" are served by the
# standby (reported as the endpoint, recorded in the manifest), "primary"
# reads go to the primary, discover always goes to the primary, and `test
# --all` reports each endpoint's role.  Skipped (77) without PostgreSQL.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/tests/fixtures/pg/pg-fixture"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dsrc-pgrep.XXXXXX")
pgdir=""
cleanup() {
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
has() { if grep -qF -- "$2" "$1"; then ok; else bad "'$2' not in $1"; sed 's/^/  | /' "$1" | head -20; fi; }

pgdir=$("$FIXTURE" start --watch $$)
rc=$?
if [ "$rc" -eq 77 ]; then pgdir=""; exit 77; fi
[ "$rc" -eq 0 ] && [ -n "$pgdir" ] || { echo "the PostgreSQL fixture did not start"; exit 1; }
. "$pgdir/env"
"$FIXTURE" psql "$pgdir" -c "CREATE TABLE public.t(id int PRIMARY KEY, v text);
  INSERT INTO public.t SELECT g, 'row ' || g FROM generate_series(1, 10) g;
  GRANT SELECT ON public.t TO $PG_USER;" >/dev/null || bad "cannot create the table"
"$FIXTURE" wait-replica "$pgdir" || bad "replica did not catch up"

mkdir -p "$tmp/sources.d"
cat >"$tmp/dsrcd.conf" <<EOF2
plugin_dir = "$top_builddir/plugins/postgres/.libs";
state_dir = "$tmp/state";
workspace = "$tmp/ws";
EOF2
src() { # name policy
    cat >"$tmp/sources.d/$1.conf" <<EOF2
name = "$1";
type = "postgres";
connection = {
    host = "localhost";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "$PG_USER";
    password = "env:DSRC_PGR_PASSWORD";
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
replicas = { hosts = [ "localhost:$PG_REPLICA_PORT" ]; read_policy = "$2"; };
EOF2
}
src onrep replica
src onprim primary
DSRC_PGR_PASSWORD=$PG_PASSWORD
export DSRC_PGR_PASSWORD
C="-c $tmp/dsrcd.conf"

"$DSRC" $C test onrep --all >"$tmp/out" 2>&1 || bad "test --all"
has "$tmp/out" "(primary"
has "$tmp/out" "(replica"

"$DSRC" $C --json fetch onrep public/t -o "$tmp/rep.csv" >"$tmp/out" 2>&1 || bad "fetch on replica"
has "$tmp/out" "localhost:$PG_REPLICA_PORT"
has "$tmp/out" '"rows": 10'
has "$tmp/rep.csv.manifest.json" "localhost:$PG_REPLICA_PORT"

"$DSRC" $C --json fetch onprim public/t -o "$tmp/prim.csv" >"$tmp/out" 2>&1 || bad "fetch on primary"
has "$tmp/out" "\"endpoint\": \"primary\""
grep -q "localhost:$PG_REPLICA_PORT" "$tmp/out" && bad "primary policy read from the replica" || ok
cmp -s "$tmp/rep.csv" "$tmp/prim.csv" && ok || bad "replica and primary data differ"

echo "pg replica: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
