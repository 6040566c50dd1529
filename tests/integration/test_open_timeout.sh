#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrc test opens its connection in its own thread, the watcher thread
# guarding the pool's acquire_timeout (fault.so, hang = "open"):
#  - an open that heeds the cancellation ends at acquire_timeout: exit 75,
#    "no connection available after 1000 ms", its cancelled open as the
#    last error; the same in a worker process (isolation = "process");
#  - an open that ignores it (in dsrc's own process) ends the process after
#    acquire_timeout and the shutdown_grace period: exit 75, the source
#    named, also with --json (status timeout);
#  - SIGINT during the open still ends dsrc at once (exit 130).
# Every wait is bounded: a dsrc that hangs is killed and the test fails.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
FAULT="$top_builddir/tests/fixtures/plugins/.libs/fault.so"
[ -f "$FAULT" ] || { echo "fault.so not built (needs Check)"; exit 77; }
lib_tmpdir dsrc-opentime
mkdir -p "$tmp/plugins"
ln -s "$FAULT" "$tmp/plugins/fault.so"
lib_conf "$tmp/plugins" 'shutdown_grace = "1s";'
src() { # NAME ISOLATION CONNECTION [ACQUIRE_TIMEOUT]
    printf 'name = "%s";\ntype = "fault";\nisolation = "%s";\nconnection = { host = "h"; %s };\npool = { acquire_timeout = "%s"; };\n' \
        "$1" "$2" "$3" "${4:-1s}" >"$tmp/conf/sources.d/$1.conf"
}
src slow none 'hang = "open";'
src slowiso process 'hang = "open";'
src deaf none 'hang = "open"; ignore_cancel = true;'
src deaflong none 'hang = "open"; ignore_cancel = true;' 60s
C="-c $tmp/conf/dsrcd.conf"
expect_timeout=20

# elapsed CMD...: run it (through expect), $ms its wall time
elapsed() {
    t0=$(date +%s%N)
    expect "$@"
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
}

for s in slow slowiso; do
    elapsed 75 "$DSRC" $C test $s
    has "$tmp/err" "source '$s' (primary): no connection available after 1000 ms"
    has "$tmp/err" "last open error: source '$s': cannot open:"
    [ "$ms" -ge 900 ] && [ "$ms" -lt 15000 ] && ok || bad "test $s took $ms ms (wanted about 1 s)"
done

elapsed 75 "$DSRC" $C test deaf
has "$tmp/err" "source 'deaf': the connection was not open after 1.0 s (acquire_timeout) and its plugin did not stop within the 1 s grace period; exiting with status 75"
[ "$ms" -ge 1900 ] && [ "$ms" -lt 16000 ] && ok || bad "test deaf took $ms ms (wanted about 2 s)"
elapsed 75 "$DSRC" $C --json test deaf
jcheck "$tmp/out" 'd["error"]["status"] == "timeout" and d["error"]["exit"] == 75 and "deaf" in d["error"]["message"]'

# SIGINT during the open (once dsrc catches it, its handler installed):
# 130 at once
"$DSRC" $C test deaflong >"$tmp/o" 2>"$tmp/e" &
pid=$!
until_handled "$pid"
sleep 0.2
kill -INT "$pid"
sleep 0.3
# the second once the first was delivered (two pending ones would be one)
until_delivered "$pid"
kill -INT "$pid" 2>/dev/null
# 30 s, where the open would hold it for 60
wait_exit "$pid" 30
[ "$rc" -eq 130 ] && ok || { bad "test deaflong, two SIGINTs: exit $rc"; cat "$tmp/e"; }
has "$tmp/e" "interrupted again (SIGINT): exiting at once"

finish test_open_timeout
