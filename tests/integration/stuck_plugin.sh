#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A plugin stuck in a call that ignores cancellation (fault.so with
# hang = "ping"/"fetch" and ignore_cancel = true):
#  - dsrcd: five sources whose ping hangs do not starve a healthy one of
#    probes (probe_timeout gives up on them, their prober threads are
#    replaced, at most one stuck thread per source); they are reported down
#    with the timeout; SIGTERM ends the daemon after shutdown_grace, naming
#    the stuck source and plugin, with the control socket removed and a
#    non-zero status;
#  - dsrc fetch: SIGTERM ends it after --grace with status 143, the
#    unfinished output removed and no cursor moved.
# The plugin runs in dsrcd's own process (isolation = "none", as the
# plugins shipped with dsrc do); isolation.sh has it in a worker process.
# Every wait is bounded: on a host that cannot stop, the test fails.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
FAULT="$top_builddir/tests/fixtures/plugins/.libs/fault.so"
[ -f "$FAULT" ] || { echo "fault.so not built (needs Check)"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
lib_tmpdir dsrc-stuck
pid= fpid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    [ -n "$fpid" ] && kill -KILL "$fpid" 2>/dev/null
}
# stops PID within TRIES tenths of a second? (0: it did)
gone_within() {
    n=$2
    while kill -0 "$1" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    ! kill -0 "$1" 2>/dev/null
}
jget() { # jget FILE EXPR: a Python expression over the JSON array r
    /usr/bin/python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}

mkdir -p "$tmp/plugins" "$tmp/sources.d" "$tmp/out"
ln -s "$FAULT" "$tmp/plugins/fault.so"
cat >"$tmp/dsrcd.conf" <<EOF2
plugin_dir = "$tmp/plugins";
state_dir = "$tmp/state";
control_socket = "$tmp/dsrcd.sock";
probe_timeout = "2s";
shutdown_grace = "2s";
isolation = "none";
EOF2
# the hanging sources sort first: a daemon probing in order meets them first
for i in 1 2 3 4 5; do
    cat >"$tmp/sources.d/a-hang$i.conf" <<EOF2
name = "hang$i";
type = "fault";
connection = { host = "h$i"; hang = "ping"; ignore_cancel = true; };
schedule = { health = "@every 1s"; };
EOF2
done
cat >"$tmp/sources.d/z-ok.conf" <<EOF2
name = "ok";
type = "fault";
connection = { host = "ok"; };
schedule = { health = "@every 1s"; };
EOF2
cat >"$tmp/sources.d/g.conf" <<EOF2
name = "slowfetch";
type = "fault";
connection = { host = "g"; hang = "fetch"; };
schedule = { health = "@every 1h"; };
EOF2
cat >"$tmp/sources.d/f.conf" <<EOF2
name = "stuckfetch";
type = "fault";
connection = { host = "f"; hang = "fetch"; ignore_cancel = true; };
schedule = { health = "@every 1h"; };
EOF2

# ---- dsrcd: hanging pings do not starve the others ----
"$DSRCD" -c "$tmp/dsrcd.conf" --foreground --log-target stderr >"$tmp/log" 2>&1 &
pid=$!
n=100
until "$DSRC" -c "$tmp/dsrcd.conf" --json pools >/dev/null 2>&1 || [ $n -eq 0 ]; do
    sleep 0.1; n=$((n - 1))
done
sleep 8
# probed every second: 8 samples in 8 s, give or take a tick; on a loaded
# machine 5 within 20 s (a daemon whose probers the hanging pings hold
# would probe it once in probe_timeout, 2 s, at best)
n=12
while :; do
    "$DSRC" -c "$tmp/dsrcd.conf" --json health ok >"$tmp/ok.json" 2>&1
    samples=$(jget "$tmp/ok.json" 'r[0]["endpoints"][0]["samples"]')
    [ "${samples:-0}" -ge 5 ] || [ $n -eq 0 ] && break
    sleep 1; n=$((n - 1))
done
status=$(jget "$tmp/ok.json" 'r[0]["status"]')
[ "${samples:-0}" -ge 5 ] && ok || { bad "ok probed ${samples:-0} time(s) in 20 s, not about 20"; cat "$tmp/ok.json" "$tmp/log"; }
[ "$status" = healthy ] && ok || bad "ok is '$status', not healthy"
"$DSRC" -c "$tmp/dsrcd.conf" --json health hang3 >"$tmp/hang.json" 2>&1
status=$(jget "$tmp/hang.json" 'r[0]["status"]')
err=$(jget "$tmp/hang.json" 'r[0]["endpoints"][0]["last_error"]')
[ "$status" = down ] && ok || { bad "hang3 is '$status', not down"; cat "$tmp/hang.json"; }
case "$err" in
*"health probe did not return within probe_timeout (2.0 s)"*) ok ;;
*) bad "hang3's last error: '$err'" ;;
esac
grep -q '\[hang1/fault\] health probe did not return within probe_timeout' "$tmp/log" && ok ||
    { bad "no log line names hang1, its plugin and the timeout"; cat "$tmp/log"; }
# at most 4 probers, one stuck thread per hanging source, the main thread,
# the control socket's, the 4 run workers (jobs.workers) and a few
# short-lived ones
threads=$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status")
echo "ok: ${samples:-0} probe(s); dsrcd threads: ${threads:-?}"
# (unbounded, they would grow by about five a second)
[ "${threads:-99}" -le 25 ] && ok || bad "dsrcd runs ${threads:-?} threads (stuck ones not bounded)"

# ---- dsrcd: a reload that replaces a source whose ping hangs ----
# (its router stays until the call returns; the reload does not wait)
sed -i 's/host = "h1"/host = "h1b"/' "$tmp/sources.d/a-hang1.conf"
kill -HUP "$pid"
n=200
until grep -q "reloaded" "$tmp/log" || [ $n -eq 0 ]; do sleep 0.1; n=$((n - 1)); done
grep -q "reloaded" "$tmp/log" && ok || { bad "SIGHUP not answered within 20 s"; tail -5 "$tmp/log"; }
"$DSRC" -c "$tmp/dsrcd.conf" --json health ok >"$tmp/ok.json" 2>&1
[ "$(jget "$tmp/ok.json" 'r[0]["status"]')" = healthy ] && ok ||
    { bad "ok not healthy after the reload"; cat "$tmp/ok.json"; }

# ---- dsrcd: SIGTERM with pings that ignore cancellation ----
kill -TERM "$pid"
if gone_within "$pid" 100; then
    wait "$pid"
    rc=$?
    pid=
    [ "$rc" -ne 0 ] && ok || bad "dsrcd exited 0 although calls were left hanging"
    grep -q "\[hang3/fault\] a call has not returned 2.0 s after SIGTERM (shutdown_grace): plugin 'fault' ignores cancellation" "$tmp/log" && ok ||
        { bad "the stuck source and plugin are not named at exit"; cat "$tmp/log"; }
    [ ! -e "$tmp/dsrcd.sock" ] && ok || bad "control socket left behind"
    [ ! -e "$tmp/state/dsrcd.pid" ] && ok || bad "pid file left behind"
else
    bad "dsrcd still running 10 s after SIGTERM (shutdown_grace 2 s)"
    tail -5 "$tmp/log"
fi

# ---- dsrc fetch: SIGTERM while the plugin ignores cancellation ----
"$DSRC" -c "$tmp/dsrcd.conf" fetch --grace 1 --incremental --cursor-field host \
    stuckfetch items -o "$tmp/out/items.csv" >"$tmp/fetch.out" 2>"$tmp/fetch.err" &
fpid=$!
# the row is written to the temporary file, then the plugin hangs
n=100
until ls -a "$tmp/out" | grep -q '^\.items\.csv\..*\.tmp$' || [ $n -eq 0 ]; do
    sleep 0.1; n=$((n - 1))
done
ls -a "$tmp/out" | grep -q '^\.items\.csv\..*\.tmp$' && ok ||
    { bad "no temporary file while the fetch hangs"; cat "$tmp/fetch.err"; }
# meanwhile, a second incremental fetch of the same item is refused: busy,
# exit 75 (try again later), and it writes nothing
"$DSRC" -c "$tmp/dsrcd.conf" fetch --incremental --cursor-field host \
    stuckfetch items -o "$tmp/out/items2.csv" >"$tmp/fetch2.out" 2>"$tmp/fetch2.err"
rc=$?
[ "$rc" -eq 75 ] && ok || { bad "a second incremental fetch exited $rc, not 75"; cat "$tmp/fetch2.err"; }
grep -q "busy: item 'items' of source 'stuckfetch' is being fetched incrementally by run" \
    "$tmp/fetch2.err" && ok || { bad "no busy message"; cat "$tmp/fetch2.err"; }
[ ! -e "$tmp/out/items2.csv" ] && ok || bad "the refused fetch wrote a file"
kill -TERM "$fpid"
if gone_within "$fpid" 100; then
    wait "$fpid"
    rc=$?
    fpid=
    [ "$rc" -eq 143 ] && ok || { bad "dsrc fetch exited $rc, not 143"; cat "$tmp/fetch.err"; }
    grep -q "source 'stuckfetch' (plugin 'fault') did not stop within the 1 s grace period" \
        "$tmp/fetch.err" && ok || { bad "no grace message"; cat "$tmp/fetch.err"; }
    [ -z "$(ls -A "$tmp/out")" ] && ok || { bad "output left behind:"; ls -la "$tmp/out"; }
    # the run is recorded, and resolved as interrupted once its process is
    # gone; no cursor moved
    "$DSRC" -c "$tmp/dsrcd.conf" --json runs stuckfetch >"$tmp/runs.json" 2>&1
    grep -q '"state": "failed"' "$tmp/runs.json" && grep -q 'interrupted' "$tmp/runs.json" &&
        ok || { bad "the interrupted run is not recorded as failed:"; cat "$tmp/runs.json"; }
    grep -q '"state": "succeeded"' "$tmp/runs.json" && bad "a run succeeded" || ok
else
    bad "dsrc fetch still running 10 s after SIGTERM (--grace 1)"
fi

# ---- dsrc fetch: a plugin that honours the cancellation stops at once ----
rm -rf "$tmp/out"; mkdir -p "$tmp/out"
"$DSRC" -c "$tmp/dsrcd.conf" fetch --grace 30 slowfetch items -o "$tmp/out/items.csv" \
    >"$tmp/fetch.out" 2>"$tmp/fetch.err" &
fpid=$!
n=100
until ls -a "$tmp/out" | grep -q '^\.items\.csv\..*\.tmp$' || [ $n -eq 0 ]; do
    sleep 0.1; n=$((n - 1))
done
kill -INT "$fpid"
# (a fetch that waited for its plugin would take the 30 s grace)
if gone_within "$fpid" 150; then
    wait "$fpid"
    rc=$?
    fpid=
    [ "$rc" -eq 130 ] && grep -q "interrupted (SIGINT); nothing was written" "$tmp/fetch.err" && ok ||
        { bad "cancelled fetch: exit $rc"; cat "$tmp/fetch.err"; }
    [ -z "$(ls -A "$tmp/out")" ] && ok || { bad "output left behind:"; ls -la "$tmp/out"; }
else
    bad "dsrc fetch still running 15 s after SIGINT although its plugin honours cancel"
fi

finish stuck_plugin
