#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrcd: --check-config, start, sd_notify READY/RELOADING/STOPPING, STATUS=
# and the watchdog's keep-alive (WATCHDOG=1 at half of WATCHDOG_USEC), SIGHUP
# and `dsrc reload` with a broken config keep the old one (dsrc reload exits
# 78 and lists the errors), with a good one swap, SIGTERM exits 0.
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

# (no daemon yet: dsrc reload says so, and that it may work later)
"$top_builddir/dsrc" -c "$tmp/dsrcd.conf" reload >"$tmp/out" 2>&1
[ $? -eq 75 ] && ok || { bad "dsrc reload without a daemon should exit 75"; cat "$tmp/out"; }
grep -q "not running" "$tmp/out" && ok || { bad "dsrc reload does not say why"; cat "$tmp/out"; }

# WatchdogSec=600ms: a keep-alive every 300 ms
NOTIFY_SOCKET="$tmp/notify.sock" WATCHDOG_USEC=600000 "$DSRCD" -c "$tmp/dsrcd.conf" \
    --foreground --log-target stderr >"$tmp/log" 2>&1 &
pid=$!
wait_for "$tmp/notify.log" "READY=1" && ok || { bad "no READY=1"; cat "$tmp/log"; }
wait_for "$tmp/notify.log" "STATUS=serving 1 source(s), 0 down; 0 run(s) in progress" && ok ||
    { bad "STATUS= does not say what the daemon does"; cat "$tmp/notify.log"; }
# (at least 6 in 3 s: a keep-alive once a second would not do)
sleep 3
[ "$(grep -c '^WATCHDOG=1$' "$tmp/notify.log")" -ge 6 ] && ok ||
    { bad "fewer than 6 WATCHDOG=1 in 3 s at WATCHDOG_USEC=600000"; cat "$tmp/notify.log"; }
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
# the same through dsrc reload: refused, every error with its file and line
"$top_builddir/dsrc" -c "$tmp/dsrcd.conf" reload >"$tmp/out" 2>"$tmp/err"
[ $? -eq 78 ] && ok || { bad "dsrc reload of a broken config should exit 78"; cat "$tmp/out" "$tmp/err"; }
grep -q "b.conf:3: error: " "$tmp/err" && ok || { bad "dsrc reload: no error with file:line"; cat "$tmp/err"; }
"$top_builddir/dsrc" -c "$tmp/dsrcd.conf" --json reload >"$tmp/out" 2>"$tmp/err"
[ $? -eq 78 ] && ok || bad "dsrc --json reload of a broken config should exit 78"
jcheck "$tmp/out" 'd["errors"][0]["line"] == 3 and d["errors"][0]["file"].endswith("b.conf")'

# good reload: swaps
sed "s/\"a\"/\"b\"/" "$tmp/good.conf" >"$tmp/sources.d/b.conf"
kill -HUP "$pid"
wait_for "$tmp/log" "reloaded: 2 source(s)" && ok || { bad "good reload"; cat "$tmp/log"; }
wait_for "$tmp/notify.log" "STATUS=serving 2 source(s)" && ok ||
    { bad "STATUS= after the reload"; cat "$tmp/notify.log"; }
"$top_builddir/dsrc" -c "$tmp/dsrcd.conf" reload >"$tmp/out" 2>&1 && ok ||
    { bad "dsrc reload of a good config should exit 0"; cat "$tmp/out"; }
has "$tmp/out" "reloaded: 2 source(s)"
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
