#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# One dsrcd per state directory and control socket: a second daemon on the
# same state_dir, or on the socket of a live daemon, refuses to start (exit
# 75, naming the first one's pid) and leaves the first one's socket and pid
# file alone; after a crash (SIGKILL) the stale socket and pid file do not
# stop the next start.  And the daemon is not dumpable: no core dump, no
# /proc/PID/mem for its own user (proc(5): the files of a process that is
# not dumpable belong to root), checked on a daemon run as nobody.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
lib_tmpdir dsrcd-single
expect_timeout=20
pid=
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
}
# start LOG CONF [PREFIX...]: dsrcd in the foreground, in the background; pid in $pid
start() {
    log=$1 conf=$2; shift 2
    "$@" "$DSRCD" -c "$conf" --foreground --log-target stderr >"$log" 2>&1 &
    pid=$!
    wait_for "$log" "started:" && ok || { bad "dsrcd did not start"; cat "$log"; }
}

sqlite3 "$tmp/a.db" "CREATE TABLE t(x INTEGER);"
mkdir -p "$tmp/sources.d"
cat >"$tmp/sources.d/a.conf" <<EOF
name = "a";
type = "sqlite";
connection = { path = "$tmp/a.db"; };
EOF
# one.conf and two.conf: the same state_dir, other sockets;
# three.conf: another state_dir, one.conf's socket.
# four.conf (made below): another state_dir and socket.
for c in one:state:one two:state:two three:state3:one; do
    IFS=: read -r n st so <<EOF
$c
EOF
    cat >"$tmp/$n.conf" <<EOF
plugin_dir = "$top_builddir/plugins/sqlite/.libs";
state_dir = "$tmp/$st";
control_socket = "$tmp/run/$so.sock";
sources_dir = "sources.d";
EOF
done

start "$tmp/log1" "$tmp/one.conf"
first=$pid
[ "$(cat "$tmp/state/dsrcd.pid" 2>/dev/null)" = "$first" ] && ok || bad "no pid file with $first"

# The same state_dir: refused, naming the first.
expect 75 "$DSRCD" -c "$tmp/two.conf" --foreground --log-target stderr
has "$tmp/err" "pid $first"
has "$tmp/err" "$tmp/state"
[ -e "$tmp/run/two.sock" ] && bad "the refused daemon made its socket" || ok
# The same socket, another state_dir: refused, naming the first.
expect 75 "$DSRCD" -c "$tmp/three.conf" --foreground --log-target stderr
has "$tmp/err" "pid $first"
has "$tmp/err" "$tmp/run/one.sock"
# The first daemon still has its socket and pid file, and answers.
[ -S "$tmp/run/one.sock" ] && ok || bad "the first daemon's socket is gone"
[ "$(cat "$tmp/state/dsrcd.pid" 2>/dev/null)" = "$first" ] && ok || bad "pid file changed"
expect 0 "$DSRC" -c "$tmp/one.conf" pools
kill -0 "$first" 2>/dev/null && ok || bad "the first daemon died"
# A running daemon reloaded onto the first one's socket leaves it alone.
sed -e "s|$tmp/state3|$tmp/state4|" -e "s|$tmp/run/one.sock|$tmp/run/four.sock|" \
    "$tmp/three.conf" >"$tmp/four.conf"
start "$tmp/log4" "$tmp/four.conf"
sed -i "s|$tmp/run/four.sock|$tmp/run/one.sock|" "$tmp/four.conf"
kill -HUP "$pid"
wait_for "$tmp/log4" "listens on it" && ok || { bad "reload took over a live socket"; cat "$tmp/log4"; }
has "$tmp/log4" "pid $first"
expect 0 "$DSRC" -c "$tmp/one.conf" pools
kill -TERM "$pid"; wait "$pid"; pid=

# A clean stop removes the socket and the pid file.
kill -TERM "$first"; wait "$first"; pid=
[ -e "$tmp/run/one.sock" ] && bad "socket left after a clean stop" || ok
[ -e "$tmp/state/dsrcd.pid" ] && bad "pid file left after a clean stop" || ok

# After a crash the stale socket and pid file are taken over.
start "$tmp/log5" "$tmp/one.conf"
kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=
[ -S "$tmp/run/one.sock" ] && ok || bad "expected a stale socket after SIGKILL"
start "$tmp/log6" "$tmp/one.conf"
kill -TERM "$pid"; wait "$pid"; pid=

# ---------------------------------------------------------------- not dumpable
# As nobody, so that ownership of /proc/PID tells (files of a process that
# is not dumpable belong to root).
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
    chmod 755 "$tmp"
    mkdir -p "$tmp/nobody"
    chown nobody "$tmp/nobody"
    sed -e "s|$tmp/state|$tmp/nobody/state|" -e "s|$tmp/run|$tmp/nobody/run|" \
        "$tmp/one.conf" >"$tmp/nobody.conf"
    chmod 644 "$tmp/nobody.conf" "$tmp/sources.d/a.conf" "$tmp/a.db"
    start "$tmp/log7" "$tmp/nobody.conf" setpriv --reuid=nobody --regid=nogroup --clear-groups
    owner=$(stat -c %u "/proc/$pid/mem" 2>/dev/null)
    [ "$owner" = 0 ] && ok || bad "dsrcd run as nobody is dumpable (/proc/$pid/mem owned by uid $owner)"
    kill -TERM "$pid"; wait "$pid"; pid=
else
    echo "SKIP: not dumpable (needs root, setpriv and the user nobody)"
fi

finish daemon_single
