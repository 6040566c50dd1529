#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrcd's log lines: on stderr each starts with an ISO 8601 UTC time, unless
# stderr is the journal's stream ($JOURNAL_STREAM names it: the journal
# stamps lines itself); with --log-target journal and no journald to write
# to, the lines go to stderr instead of nowhere.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRCD="$top_builddir/dsrcd"
lib_tmpdir dsrcd-log
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
}

sqlite3 "$tmp/a.db" "CREATE TABLE t(x INTEGER);"
mkdir -p "$tmp/sources.d"
cat >"$tmp/dsrcd.conf" <<EOC
plugin_dir = "$top_builddir/plugins/sqlite/.libs";
state_dir = "$tmp/state";
control_socket = "$tmp/run/dsrcd.sock";
EOC
cat >"$tmp/sources.d/a.conf" <<EOC
name = "a";
type = "sqlite";
connection = { path = "$tmp/a.db"; };
EOC

# run_daemon LOG [ARGS...]: start dsrcd with stderr in LOG (kept: the same
# inode), wait for its start line, stop it
run_daemon() {
    log=$1; shift
    "$DSRCD" -c "$tmp/dsrcd.conf" --foreground "$@" 2>>"$log" >&2 &
    pid=$!
    wait_for "$log" "1 source(s)" && ok || { bad "dsrcd $*: no start line"; cat "$log"; }
    kill -TERM "$pid"
    wait "$pid"; st=$?; pid=
    [ "$st" -eq 0 ] && ok || bad "dsrcd $*: exit status $st"
}
stamp='^[0-9]\{4\}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]\{3\}Z dsrcd: '

# stderr, not the journal's: every line stamped
: >"$tmp/log1"
run_daemon "$tmp/log1" --log-target stderr
n=$(wc -l <"$tmp/log1"); s=$(grep -c "$stamp" "$tmp/log1")
[ "$n" -gt 0 ] && [ "$s" -eq "$n" ] && ok || { bad "$s of $n lines stamped"; cat "$tmp/log1"; }

# stderr is the journal's stream: no stamps
: >"$tmp/log2"
JOURNAL_STREAM=$(stat -c '%d:%i' "$tmp/log2") run_daemon "$tmp/log2" --log-target stderr
if grep -q "$stamp" "$tmp/log2" || ! grep -q '^dsrcd: ' "$tmp/log2"; then
    bad "stamped lines on the journal's stream"; cat "$tmp/log2"
else
    ok
fi

# the journal as target with no journald: the lines reach stderr
if [ -S /run/systemd/journal/socket ]; then
    echo "journald runs here: the fallback is not checked"
elif "$DSRCD" -c "$tmp/dsrcd.conf" --check-config --log-target journal >"$tmp/out" 2>&1; then
    : >"$tmp/log3"
    run_daemon "$tmp/log3" --log-target journal
    has "$tmp/log3" "the journal cannot be written to; logging to stderr"
    [ "$(grep -c 'the journal cannot be written to' "$tmp/log3")" -eq 1 ] && ok ||
        bad "the fallback said more than once"
else
    echo "dsrcd has no journal support: the fallback is not checked"
fi
finish daemon_log
