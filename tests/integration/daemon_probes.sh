#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrcd probes sources' health on threads of their own: a source whose
# server accepts connections and then never answers (its probe waits for the
# 60 s connect timeout) holds up neither the probes of another source nor the
# daemon's main loop.  While that probe hangs, the other source is probed
# again and again and reported healthy by the daemon, and a SIGHUP is
# answered ("reloaded"); SIGTERM cancels the hanging probe and stops the
# daemon at once.  Needs the sqlite and
# postgres plugins (77 when the postgres plugin is not built).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
[ -f "$top_builddir/plugins/postgres/.libs/postgres.so" ] || { echo "postgres plugin not built"; exit 77; }
[ -f "$top_builddir/plugins/sqlite/.libs/sqlite.so" ] || { echo "sqlite plugin not built"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
lib_tmpdir dsrcd-probes
pid= spid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    [ -n "$spid" ] && kill "$spid" 2>/dev/null
}

# a server that accepts TCP connections and never says a word
/usr/bin/python3 - "$tmp/port" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(64)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
s.settimeout(1)
end = time.time() + 300
while time.time() < end:
    try:
        held.append(s.accept()[0])
        with open(sys.argv[1] + ".n.tmp", "w") as f:
            f.write(str(len(held)))
        os.rename(sys.argv[1] + ".n.tmp", sys.argv[1] + ".n")
    except socket.timeout:
        pass
PY
spid=$!
n=50
while [ ! -s "$tmp/port" ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
[ -s "$tmp/port" ] || { echo "the silent server did not start"; exit 99; }
port=$(cat "$tmp/port")

mkdir -p "$tmp/plugins" "$tmp/sources.d"
ln -s "$top_builddir/plugins/postgres/.libs/postgres.so" "$tmp/plugins/postgres.so"
ln -s "$top_builddir/plugins/sqlite/.libs/sqlite.so" "$tmp/plugins/sqlite.so"
sqlite3 "$tmp/a.db" "CREATE TABLE t(x INTEGER);" 2>/dev/null ||
    /usr/bin/python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("CREATE TABLE t(x INTEGER)")' "$tmp/a.db"
cat >"$tmp/dsrcd.conf" <<EOF2
plugin_dir = "$tmp/plugins";
state_dir = "$tmp/state";
control_socket = "$tmp/dsrcd.sock";
EOF2
# "a-silent" sorts first: a daemon probing in order would start with it
cat >"$tmp/sources.d/a-silent.conf" <<EOF2
name = "silent";
type = "postgres";
connection = { host = "127.0.0.1"; port = $port; database = "x"; user = "x";
               connect_timeout = "60s"; };
tls = { mode = "disable"; };
schedule = { health = "@every 1s"; };
EOF2
cat >"$tmp/sources.d/b-lite.conf" <<EOF2
name = "lite";
type = "sqlite";
connection = { path = "$tmp/a.db"; };
schedule = { health = "@every 1s"; };
EOF2

"$DSRCD" -c "$tmp/dsrcd.conf" --foreground --log-target stderr >"$tmp/log" 2>&1 &
pid=$!
# the daemon's first probe of the silent source is under way (and hangs)
n=100
until [ -s "$tmp/port.n" ] || [ $n -eq 0 ]; do sleep 0.1; n=$((n - 1)); done
[ -s "$tmp/port.n" ] && ok || { bad "the silent source was never probed"; cat "$tmp/log"; }
hang=$(date +%s)
# meanwhile the daemon probes the other source, again and again
samples=0
n=120
while [ $n -gt 0 ]; do
    "$DSRC" -c "$tmp/dsrcd.conf" --json pools >/dev/null 2>&1 || { sleep 0.1; n=$((n - 1)); continue; }
    "$DSRC" -c "$tmp/dsrcd.conf" --json health lite >"$tmp/health" 2>&1
    samples=$(/usr/bin/python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(r[0]["endpoints"][0]["samples"] if r[0]["status"] == "healthy" else 0)' "$tmp/health" 2>/dev/null || echo 0)
    [ "$samples" -ge 2 ] && break
    sleep 0.25; n=$((n - 1))
done
t=$(( $(date +%s) - hang ))
[ "$samples" -ge 2 ] && ok || { bad "lite not probed twice by dsrcd"; cat "$tmp/health" "$tmp/log"; }
# (probes one after the other would wait out the 60 s connect timeout)
[ "$t" -lt 30 ] && ok || bad "lite probed twice only $t s into the silent source's hang"
# the silent source's probe is still running: no verdict for it yet
"$DSRC" -c "$tmp/dsrcd.conf" --json health silent >"$tmp/silent" 2>&1
grep -q '"samples": 0' "$tmp/silent" && ok || { bad "silent already has a verdict"; cat "$tmp/silent"; }
# the main loop answers a reload at once
kill -HUP "$pid"
n=200
until grep -q "reloaded" "$tmp/log" || [ $n -eq 0 ]; do sleep 0.1; n=$((n - 1)); done
grep -q "reloaded" "$tmp/log" && ok || { bad "SIGHUP not answered within 20 s"; cat "$tmp/log"; }
# SIGTERM: the hanging probe is cancelled, the daemon exits 0 at once
kill -TERM "$pid"
tterm=$(date +%s)
n=300
while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
if kill -0 "$pid" 2>/dev/null; then
    bad "dsrcd still running 30 s after SIGTERM"
else
    wait "$pid"
    [ $? -eq 0 ] && ok || bad "dsrcd exit status after SIGTERM"
    pid=
    t=$(( $(date +%s) - tterm ))
    # a probe not cancelled would hold it up to the 60 s connect timeout
    [ "$t" -lt 20 ] && ok || bad "dsrcd took $t s to stop (the hanging probe was not cancelled)"
fi
grep -q "stopped" "$tmp/log" && ok || { bad "no stop log"; cat "$tmp/log"; }

finish daemon_probes
