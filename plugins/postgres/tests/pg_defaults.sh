#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrcd's default pools and wrong passwords against a real PostgreSQL:
#  (a) three sources with no pool group keep no more open connections than
#      their health probes use (min_idle defaults to 0): counted in the
#      server's pg_stat_activity;
#  (b) a source with a wrong password (and min_idle = 1, so that its pool
#      would open connections between probes) costs at most one login per
#      health interval: its breaker opens at the first authentication
#      failure and lets a login through only at the next probe; counted in
#      the server's log.
# Skipped (77) when no PostgreSQL server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
lib_tmpdir dsrc-pgdefaults
pgdir="" pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
}
dsrc() { "$DSRC" -c "$tmp/conf/dsrcd.conf" "$@"; }
failed_logins() { grep -c 'password authentication failed for user "dsrc_test"' "$PG_DIR/log/primary.log"; }
# backends of the test's user, as the server counts them
backends() { "$FIXTURE" psql "$pgdir" -At -c "SELECT count(*) FROM pg_stat_activity WHERE usename = '$PG_USER'"; }

pg_start --no-replica
lib_conf "$top_builddir/plugins/postgres/.libs" "control_socket = \"$tmp/dsrcd.sock\";"
# pgsrc NAME PASSWORD [MORE...]: the source file of NAME
pgsrc() {
    name=$1 pw=$2
    shift 2
    {
        cat <<EOF2
name = "$name";
type = "postgres";
connection = {
    host = "127.0.0.1";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "$PG_USER";
    password = "$pw";
    connect_timeout = "2s";
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
EOF2
        for line in "$@"; do printf '%s\n' "$line"; done
    } >"$tmp/conf/sources.d/$name.conf"
}
DSRC_PGD_PASSWORD=$PG_PASSWORD
export DSRC_PGD_PASSWORD

# ---- (a) three sources, no pool group ----
for s in p1 p2 p3; do
    pgsrc "$s" "env:DSRC_PGD_PASSWORD" 'schedule = { health = "@every 1s"; };'
done
dsrc sources p1 >"$tmp/show" 2>&1
grep -q "min_idle 0" "$tmp/show" && ok || { bad "min_idle does not default to 0"; cat "$tmp/show"; }
"$DSRCD" -c "$tmp/conf/dsrcd.conf" --foreground --log-target stderr >"$tmp/log" 2>&1 &
pid=$!
# (the daemon's verdict: until it answers, dsrc health probes by itself)
healthy() {
    dsrc health >"$tmp/health" 2>&1 && grep -q "from dsrcd" "$tmp/health" &&
    [ "$(grep -c '^p[123]: healthy' "$tmp/health")" -eq 3 ]
}
n=80
until healthy || [ $n -eq 0 ]; do sleep 0.5; n=$((n - 1)); done
healthy && ok || { bad "the three sources never healthy"; cat "$tmp/health" "$tmp/log"; }
# a few probe and maintenance rounds go by; then the count, once a
# connection being closed has left the server (5 s more at most)
sleep 4
n=10
while conns=$(backends) && [ "${conns:-99}" -gt 3 ] && [ $n -gt 0 ]; do sleep 0.5; n=$((n - 1)); done
echo "backends of $PG_USER with three sources and default pools: $conns"
[ "${conns:-99}" -le 3 ] && ok ||
    { bad "$conns connections open for three sources' health probes (at most 3 wanted)"; dsrc pools; }

# ---- (b) a wrong password: at most one login per health interval ----
logins0=$(failed_logins)
pgsrc bad "wrong-$PG_PASSWORD" 'pool = { min_idle = 1; };' 'schedule = { health = "@every 2s"; };'
kill -HUP "$pid"
n=100
until [ "$(failed_logins)" -gt "$logins0" ] || [ $n -eq 0 ]; do sleep 0.1; n=$((n - 1)); done
first=$(failed_logins)
[ "$first" -gt "$logins0" ] && ok || { bad "the wrong password was never tried"; tail -20 "$tmp/log"; }
# the breaker is open at once, on the first failure
n=20
while [ $n -gt 0 ]; do
    dsrc --json pools bad >"$tmp/pools" 2>&1
    grep -q '"opens": [1-9]' "$tmp/pools" && break
    sleep 0.1; n=$((n - 1))
done
grep -q '"opens": [1-9]' "$tmp/pools" && ok ||
    { bad "the breaker did not open at the authentication failure"; cat "$tmp/pools"; }
sleep 12
logins=$(($(failed_logins) - first))
echo "failed logins in 12 s at @every 2s: $logins"
# six intervals, and one more for a probe that straddles the ends
[ "$logins" -le 7 ] && ok ||
    { bad "$logins failed logins in 12 s: more than one per health interval"
      grep 'password authentication' "$PG_DIR/log/primary.log" | tail -30; }
dsrc health bad >"$tmp/health" 2>&1
[ $? -eq 1 ] && ok || { bad "dsrc health bad should exit 1"; cat "$tmp/health"; }
grep -qi "password\|auth" "$tmp/health" && ok || { bad "health does not say why"; cat "$tmp/health"; }
grep -qF "$PG_PASSWORD" "$tmp/log" "$tmp/health" "$tmp/pools" && bad "password leaked" || ok

finish "pg defaults"
