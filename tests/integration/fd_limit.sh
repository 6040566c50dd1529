#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Out of file descriptors, said as such.  `dsrc test` of a SQLite source run
# under lower and lower `ulimit -n`: where opening the database fails, the
# error says "too many open files (EMFILE" with the limit, never SQLite's
# "unable to open database file", the status is not 0 and nothing crashes.
# dsrcd with 80 SQLite sources under a soft limit of 64: the probes that
# cannot open are logged the same way (with the limit and what holds the
# descriptors), the daemon keeps running, and once its limit is raised
# (prlimit) every source is probed healthy again.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
[ -f "$top_builddir/plugins/sqlite/.libs/sqlite.so" ] || { echo "sqlite plugin not built"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
command -v prlimit >/dev/null || { echo "prlimit missing"; exit 77; }
lib_tmpdir dsrc-fdlimit
pid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
}

mkdir -p "$tmp/sources.d" "$tmp/db"
/usr/bin/python3 - "$tmp" <<'PY'
import os, sqlite3, sys
tmp = sys.argv[1]
for k in range(1, 81):
    name = "s%03d" % k
    path = os.path.join(tmp, "db", name + ".db")
    c = sqlite3.connect(path)
    c.execute("CREATE TABLE t (x INTEGER)")
    c.commit()
    c.close()
    with open(os.path.join(tmp, "sources.d", name + ".conf"), "w") as f:
        f.write('name = "%s";\ntype = "sqlite";\nconnection = { path = "%s"; };\n'
                'schedule = { health = "@every 1s"; };\n' % (name, path))
PY
cat >"$tmp/dsrcd.conf" <<EOF2
plugin_dir = "$top_builddir/plugins/sqlite/.libs";
state_dir = "$tmp/state";
workspace = "$tmp/ws";
sources_dir = "$tmp/sources.d";
EOF2

# ---- dsrc: the limit where the database cannot be opened ----
expect 0 "$DSRC" -c "$tmp/dsrcd.conf" test s001
said=0 vague=0 crashed=0 zero=0
n=40
while [ $n -ge 6 ]; do
    ( ulimit -Sn $n && exec "$DSRC" -c "$tmp/dsrcd.conf" test s001 ) >"$tmp/o.$n" 2>&1
    st=$?
    if grep -q 'too many open files (EMFILE' "$tmp/o.$n"; then
        said=$((said + 1))
        [ $st -ne 0 ] || zero=$((zero + 1))
        [ $said -gt 1 ] || cp "$tmp/o.$n" "$tmp/said"
    fi
    grep -q 'unable to open database file' "$tmp/o.$n" && vague=$((vague + 1))
    [ $st -lt 128 ] || { crashed=$((crashed + 1)); cat "$tmp/o.$n"; }
    n=$((n - 1))
done
[ $said -gt 0 ] && ok || bad "no limit between 6 and 40 made dsrc say 'too many open files (EMFILE'"
[ $vague -eq 0 ] && ok || bad "$vague run(s) said only SQLite's 'unable to open database file'"
[ $zero -eq 0 ] && ok || bad "dsrc test exited 0 while saying it could not open"
[ $crashed -eq 0 ] && ok || bad "dsrc died of a signal $crashed time(s)"
if [ -f "$tmp/said" ]; then
    has "$tmp/said" "limit "
    has "$tmp/said" "hard limit"
    has "$tmp/said" "ulimit -n"
fi

# ---- dsrcd: 80 sources, 64 descriptors ----
echo 'control_socket = "'"$tmp"'/dsrcd.sock";' >>"$tmp/dsrcd.conf"
( ulimit -Sn 64 && exec "$DSRCD" -c "$tmp/dsrcd.conf" --foreground --log-target stderr ) \
    >"$tmp/log" 2>&1 &
pid=$!
wait_for "$tmp/log" "too many open files (EMFILE" 150 && ok ||
    { bad "dsrcd did not report running out of descriptors"; tail -5 "$tmp/log"; }
has "$tmp/log" "limit 64"
has "$tmp/log" "source connection(s) of"
hasnt "$tmp/log" "unable to open database file"
sleep 1
kill -0 "$pid" 2>/dev/null && ok || bad "dsrcd died when out of descriptors"
# descriptors free up: the limit raised, every source healthy again
prlimit --pid "$pid" --nofile=4096: && ok || bad "prlimit failed"
healthy=0
n=90
while [ $n -gt 0 ]; do
    "$DSRC" -c "$tmp/dsrcd.conf" --json health >"$tmp/health" 2>"$tmp/health.err" &&
        healthy=$(/usr/bin/python3 -c 'import json, sys
print(sum(1 for s in json.load(open(sys.argv[1])) if s["status"] == "healthy"))' "$tmp/health" 2>/dev/null ||
            echo 0)
    [ "$healthy" -eq 80 ] && break
    sleep 1
    n=$((n - 1))
done
[ "$healthy" -eq 80 ] && ok || { bad "$healthy of 80 sources healthy after the limit was raised"; tail -3 "$tmp/log"; cat "$tmp/health.err"; }
kill -TERM "$pid"
wait "$pid"
st=$?
pid=
[ $st -eq 0 ] && ok || bad "dsrcd exited $st on SIGTERM"

finish fd_limit
