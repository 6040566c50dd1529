#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The PostgreSQL fixture against a port taken between its check and its
# start: another process listens on 127.0.0.1:PORT (a server of a test
# running beside this one, under make -j or distcheck).  PostgreSQL starts
# anyway on the addresses it could bind (127.0.0.2); the fixture must not
# take that half start: it moves to another port, where 127.0.0.1 still
# accepts once the other process is gone.  Skipped (77) when no
# PostgreSQL server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "python3 missing"; exit 77; }
lib_tmpdir dsrc-pgfixture
pgdir="" lpid=""
cleanup() {
    [ -n "$lpid" ] && kill "$lpid" 2>/dev/null
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
}
port_open() { bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; }

# another process listens on 127.0.0.1 only, on a port of its choosing
"$PY" - "$tmp/port" <<'PY' &
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
with open(sys.argv[1] + ".new", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".new", sys.argv[1])
time.sleep(120)
PY
lpid=$!
n=100
until [ -s "$tmp/port" ] || [ $n -eq 0 ]; do sleep 0.1; n=$((n - 1)); done
taken=$(cat "$tmp/port" 2>/dev/null)
[ -n "$taken" ] || { echo "the listener did not start"; exit 99; }

pgdir=$(PG_FIXTURE_PORT=$taken "$FIXTURE" start --no-replica --watch $$)
rc=$?
[ "$rc" -eq 77 ] && { pgdir=""; exit 77; }
[ "$rc" -eq 0 ] && [ -n "$pgdir" ] || { echo "the PostgreSQL fixture did not start"; exit 99; }
. "$pgdir/env"
kill "$lpid"; wait "$lpid" 2>/dev/null; lpid=""
echo "taken: $taken, the fixture's port: $PG_PORT"
[ "$PG_PORT" != "$taken" ] && ok || bad "the fixture kept port $taken, taken on 127.0.0.1"
port_open 127.0.0.1 "$PG_PORT" && ok ||
    { bad "nothing accepts on 127.0.0.1:$PG_PORT"; grep -i "bind\|listening" "$PG_DIR/log/primary.log"; }

finish "pg fixture"
