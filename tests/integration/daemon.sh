#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrcd: --check-config, start, sd_notify READY/RELOADING/STOPPING, SIGHUP
# with a broken config keeps the old one, SIGHUP with a good one swaps,
# SIGTERM exits 0.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRCD="$top_builddir/dsrcd"
lib_tmpdir dsrcd-test
pid= lpid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    [ -n "$lpid" ] && kill "$lpid" 2>/dev/null
}

sqlite3 "$tmp/a.db" "CREATE TABLE t(x INTEGER);"
mkdir -p "$tmp/sources.d"
cat >"$tmp/dsrcd.conf" <<EOF2
plugin_dir = "$top_builddir/plugins/sqlite/.libs";
state_dir = "$tmp/state";
control_socket = "$tmp/run/dsrcd.sock";
EOF2
cat >"$tmp/sources.d/a.conf" <<EOF2
name = "a";
type = "sqlite";
connection = { path = "$tmp/a.db"; };
EOF2

# --check-config
"$DSRCD" -c "$tmp/dsrcd.conf" --check-config >"$tmp/out" 2>&1 && ok || bad "check-config valid"
cp "$tmp/sources.d/a.conf" "$tmp/good.conf"
printf 'name = "b";\ntype = "sqlite";\nconnection = { path = 42; };\n' >"$tmp/sources.d/b.conf"
"$DSRCD" -c "$tmp/dsrcd.conf" --check-config >"$tmp/out" 2>&1
[ $? -eq 78 ] && ok || bad "check-config invalid should exit 78"
grep -q 'b.conf:3:' "$tmp/out" && ok || { bad "error without file:line"; cat "$tmp/out"; }
# refuses to start on a broken config
"$DSRCD" -c "$tmp/dsrcd.conf" --foreground >"$tmp/out" 2>&1
[ $? -eq 78 ] && ok || bad "start with broken config should exit 78"
rm "$tmp/sources.d/b.conf"
"$DSRCD" --bogus >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "unknown option should exit 2"

# sd_notify listener
/usr/bin/python3 - "$tmp/notify.sock" "$tmp/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "a", buffering=1) as log:
    try:
        while True:
            log.write(s.recv(4096).decode() + "\n")
    except socket.timeout:
        pass
PY
lpid=$!
n=50; while [ ! -S "$tmp/notify.sock" ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n-1)); done

# temporary files of fetches: one of a process that is gone, one of a live
# one (this shell); the start removes the first only
sh -c 'exit 0' &
gone=$!
wait "$gone"
mkdir -p "$tmp/state/workspace/a/t"
: >"$tmp/state/workspace/a/t/.x.csv.$gone.AbC123.tmp"
: >"$tmp/state/workspace/a/t/.y.csv.$$.AbC123.tmp"

NOTIFY_SOCKET="$tmp/notify.sock" "$DSRCD" -c "$tmp/dsrcd.conf" --foreground \
    --log-target stderr >"$tmp/log" 2>&1 &
pid=$!
wait_for "$tmp/notify.log" "READY=1" && ok || { bad "no READY=1"; cat "$tmp/log"; }
wait_for "$tmp/log" "1 source(s)" && ok || bad "start log"
[ ! -e "$tmp/state/workspace/a/t/.x.csv.$gone.AbC123.tmp" ] && ok ||
    bad "a dead fetch's temporary file survived the start"
[ -e "$tmp/state/workspace/a/t/.y.csv.$$.AbC123.tmp" ] && ok ||
    bad "a live process's temporary file was removed at the start"
grep -q "removed 1 temporary file(s) left in $tmp/state/workspace" "$tmp/log" && ok ||
    { bad "the start did not say what it removed"; cat "$tmp/log"; }

# broken reload: keeps the old config
printf 'name = "b";\ntype = "sqlite";\nconnection = { path = 42; };\n' >"$tmp/sources.d/b.conf"
kill -HUP "$pid"
wait_for "$tmp/log" "keeping the previous configuration" && ok || { bad "bad reload not refused"; cat "$tmp/log"; }
wait_for "$tmp/notify.log" "RELOADING=1" && ok || bad "no RELOADING=1"
kill -0 "$pid" 2>/dev/null && ok || bad "daemon died on a bad reload"

# good reload: swaps
sed "s/\"a\"/\"b\"/" "$tmp/good.conf" >"$tmp/sources.d/b.conf"
kill -HUP "$pid"
wait_for "$tmp/log" "reloaded: 2 source(s)" && ok || { bad "good reload"; cat "$tmp/log"; }
# the control socket serves the reloaded sources
"$top_builddir/dsrc" -c "$tmp/dsrcd.conf" pools >"$tmp/pools" 2>&1 && ok || { bad "dsrc pools"; cat "$tmp/pools"; }
grep -q "^b  *primary" "$tmp/pools" && ok || { bad "source b not in pools"; cat "$tmp/pools"; }

kill -TERM "$pid"
wait "$pid"; st=$?; pid=
[ "$st" -eq 0 ] && ok || bad "SIGTERM exit status $st"
wait_for "$tmp/notify.log" "STOPPING=1" && ok || bad "no STOPPING=1"
grep -q "stopped" "$tmp/log" && ok || bad "no stop log"
[ ! -e "$tmp/run/dsrcd.sock" ] && ok || bad "control socket left behind"

finish daemon
