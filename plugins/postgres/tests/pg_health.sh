#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Health and the circuit breaker against a real PostgreSQL: dsrcd probes a
# source every second; the server is killed (the source turns down, the
# breaker opens, the report recommends checks) and started again (the
# source comes back healthy after the cool-down).  Skipped (77) when no
# PostgreSQL server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
lib_tmpdir dsrc-pghealth
pgdir="" pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
}
# until_health STATUS: wait up to 40 s for `dsrc health pg` to say STATUS
until_health() {
    n=80
    while [ $n -gt 0 ]; do
        "$DSRC" -c "$tmp/dsrcd.conf" health pg >"$tmp/health" 2>&1
        grep -q "$1" "$tmp/health" && return 0
        sleep 0.5; n=$((n - 1))
    done
    return 1
}
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_start --no-replica

mkdir -p "$tmp/sources.d"
cat >"$tmp/dsrcd.conf" <<EOF2
plugin_dir = "$top_builddir/plugins/postgres/.libs";
state_dir = "$tmp/state";
control_socket = "$tmp/dsrcd.sock";
EOF2
cat >"$tmp/sources.d/pg.conf" <<EOF2
name = "pg";
type = "postgres";
connection = {
    host = "localhost";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "$PG_USER";
    password = "env:DSRC_PGH_PASSWORD";
    connect_timeout = "2s";
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
pool = { max_size = 2; min_idle = 0; validate_after = "0s"; };
schedule = { health = "@every 1s"; };
EOF2
DSRC_PGH_PASSWORD=$PG_PASSWORD
export DSRC_PGH_PASSWORD

# the server answers before the daemon starts probing
n=40
until "$DSRC" -c "$tmp/dsrcd.conf" test pg >/dev/null 2>&1 || [ $n -eq 0 ]; do sleep 0.5; n=$((n - 1)); done
"$DSRCD" -c "$tmp/dsrcd.conf" --foreground --log-target stderr >"$tmp/log" 2>&1 &
pid=$!
until_health healthy && ok || { bad "never healthy"; cat "$tmp/health" "$tmp/log"; }

# kill the server: down, with the last error and a recommendation
as_pg "$PG_BINDIR/pg_ctl" -D "$PG_DIR/primary" -m immediate -w stop >/dev/null 2>&1 ||
    bad "could not stop the server"
until_health down && ok || { bad "never down"; cat "$tmp/health"; }
"$DSRC" -c "$tmp/dsrcd.conf" health pg >"$tmp/health" 2>&1
[ $? -eq 1 ] && ok || bad "health of a down source should exit 1"
grep -qi "unreachable\|connect" "$tmp/health" && ok || { bad "no last error"; cat "$tmp/health"; }
# after five failed probes in a row the breaker opens
n=60
while [ $n -gt 0 ]; do
    "$DSRC" -c "$tmp/dsrcd.conf" --json pools >"$tmp/pools" 2>&1
    grep -q '"opens": [1-9]' "$tmp/pools" && break
    sleep 0.5; n=$((n - 1))
done
grep -q '"opens": [1-9]' "$tmp/pools" && ok || { bad "breaker did not open"; cat "$tmp/pools"; }
# logged by the daemon's next housekeeping tick (probes run on threads)
n=60
until grep -q "circuit breaker open" "$tmp/log" || [ $n -eq 0 ]; do sleep 0.25; n=$((n - 1)); done
grep -q "circuit breaker open" "$tmp/log" && ok || { bad "breaker opening not logged"; cat "$tmp/log"; }
grep -q "$PG_PASSWORD" "$tmp/health" "$tmp/pools" "$tmp/log" && bad "password leaked" || ok

# start it again: healthy after the cool-down
pg_restart || bad "could not restart the server"
# back up: probes succeed again; the status leaves "down" (it reads degraded
# while failed probes remain in the window) and operations work
until_health "pg: \(healthy\|degraded\)" && ok || { bad "never recovered"; cat "$tmp/health" "$tmp/log"; }
"$DSRC" -c "$tmp/dsrcd.conf" test pg >/dev/null 2>&1 && ok || bad "test after recovery"
n=60
while [ $n -gt 0 ] && ! grep -q "circuit breaker closed" "$tmp/log"; do sleep 0.5; n=$((n - 1)); done
grep -q "circuit breaker closed" "$tmp/log" && ok || { bad "breaker closing not logged"; cat "$tmp/log"; }

finish "pg health"
