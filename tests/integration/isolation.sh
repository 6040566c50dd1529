#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Plugins that crash, exit, leak or hang run in supervised worker processes
# (isolation = "process", the default for a plugin not shipped with dsrc),
# with the test plugin crashy.so:
#  - dsrc: for each of open, ping, list, describe, discover and fetch, a
#    plugin that segfaults, aborts, calls exit() or allocates without
#    bound leaves dsrc with a clear error naming the plugin, the source and
#    how its worker ended, a status below 128, and no file behind; one that
#    hangs ignoring cancellation is ended after shutdown_grace by SIGINT;
#  - dsrcd: sources whose plugin dies in open or ping, or hangs in ping
#    past probe_timeout, cost that source only: the daemon keeps probing a
#    healthy source on its schedule and answers `dsrc health`, the bad
#    sources are down with the reason, their workers are restarted, and a
#    crash loop is quarantined until a reload;
#  - the worker's system call filter: unshare() and personality() fail with
#    EPERM in a worker, not in dsrc's own process nor with
#    isolation_syscall_filter = false.
# Every wait is bounded; a worker's memory is capped (isolation_memory_max)
# so that the leak ends in the worker; builds with AddressSanitizer, which
# set no cap (their shadow memory would exceed it), skip the leaks.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
CRASHY="$top_builddir/tests/fixtures/plugins/.libs/crashy.so"
[ -f "$CRASHY" ] || { echo "crashy.so not built (needs Check)"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
lib_tmpdir dsrc-isolation
pid= hpid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    [ -n "$hpid" ] && kill -KILL "$hpid" 2>/dev/null
}
mkdir -p "$tmp/plugins" "$tmp/o"
ln -s "$CRASHY" "$tmp/plugins/crashy.so"
# asan: 1 when dsrc is built with AddressSanitizer
asan=0
for f in "$DSRC" "$top_builddir/.libs/dsrc" "$top_builddir/.libs/lt-dsrc"; do
    [ -f "$f" ] && grep -q __asan_init "$f" 2>/dev/null && asan=1
done
leak=leak
[ "$asan" -eq 0 ] || leak=
# AddressSanitizer turns a segfault into a report and exit status 1: let the
# signal end the worker, as it does without a sanitizer
if [ "$asan" -eq 1 ]; then
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"
    export ASAN_OPTIONS
fi
lib_conf "$tmp/plugins" "control_socket = \"$tmp/dsrcd.sock\";" 'probe_timeout = "1s";' \
    'shutdown_grace = "1s";' 'isolation_memory_max = "256M";'
C="-c $tmp/conf/dsrcd.conf"
# bad_source OP HOW: the source "bad" misbehaves as HOW in OP
bad_source() {
    printf 'name = "bad";\ntype = "crashy";\nconnection = { fail_in = "%s"; how = "%s"; };\n' \
        "$1" "$2" >"$tmp/conf/sources.d/bad.conf"
}
# the command of dsrc that calls OP
cmd_of() {
    case $1 in
    open | ping) echo "test bad" ;;
    list) echo "ls bad" ;;
    describe) echo "describe bad t1" ;;
    discover) echo "discover bad" ;;
    fetch) echo "fetch bad t1 -o $tmp/o/t1.csv" ;;
    esac
}

# ---- check-config: the setting, with its file and line ----
printf 'name = "bad";\ntype = "crashy";\nisolation = "thread";\n' >"$tmp/conf/sources.d/bad.conf"
expect 78 "$DSRC" $C check-config
has "$tmp/err" "sources.d/bad.conf:3: error: 'isolation' must be one of process, none (got 'thread')"
printf 'isolation = "container";\n' >>"$tmp/conf/dsrcd.conf"
expect 78 "$DSRC" $C check-config
has "$tmp/err" "dsrcd.conf:9: error: 'isolation' must be one of process, none (got 'container')"
sed -i '$d' "$tmp/conf/dsrcd.conf"
sed -i 's/^isolation_memory_max = "256M";$/isolation_memory_max = "12X";/' "$tmp/conf/dsrcd.conf"
expect 78 "$DSRC" $C check-config
has "$tmp/err" "dsrcd.conf:8: error: 'isolation_memory_max' is not a valid size: '12X' (use e.g. 512M, 2G, or 0)"
sed -i 's/^isolation_memory_max = "12X";$/isolation_memory_max = "256M";/' "$tmp/conf/dsrcd.conf"
# isolation = "none" as asked: the plugin is in dsrc's own process
printf 'name = "bad";\ntype = "crashy";\nisolation = "none";\nconnection = { fail_in = "ping"; how = "exit"; };\n' \
    >"$tmp/conf/sources.d/bad.conf"
expect 3 "$DSRC" $C test bad

# ---- the worker's system call filter (isolation_syscall_filter) ----
# in a worker the plugin cannot unshare or change its personality; in
# dsrc's own process, or with the filter off, it can
printf 'name = "bad";\ntype = "crashy";\nconnection = { fail_in = "ping"; how = "escape"; };\n' \
    >"$tmp/conf/sources.d/bad.conf"
expect 1 "$DSRC" $C test bad
has "$tmp/err" "refused: unshare (Operation not permitted) personality (Operation not permitted)"
printf 'isolation_syscall_filter = false;\n' >>"$tmp/conf/dsrcd.conf"
expect 0 "$DSRC" $C -v test bad
has "$tmp/out" "escaped"
sed -i '$d' "$tmp/conf/dsrcd.conf"
printf 'isolation_syscall_filter = "yes";\n' >>"$tmp/conf/dsrcd.conf"
expect 78 "$DSRC" $C check-config
has "$tmp/err" "isolation_syscall_filter"
sed -i '$d' "$tmp/conf/dsrcd.conf"
printf 'name = "bad";\ntype = "crashy";\nisolation = "none";\nconnection = { fail_in = "ping"; how = "escape"; };\n' \
    >"$tmp/conf/sources.d/bad.conf"
expect 0 "$DSRC" $C -v test bad
has "$tmp/out" "escaped"

# ---- dsrc: a plugin that dies in each call ----
[ -n "${ISOLATION_DAEMON_ONLY:-}" ] ||
for op in open ping list describe discover fetch; do
    for how in segv abort exit $leak; do
        bad_source "$op" "$how"
        rm -rf "$tmp/o"; mkdir -p "$tmp/o"
        timeout -s KILL 60 "$DSRC" $C $(cmd_of "$op") \
            >"$tmp/cli.out" 2>"$tmp/cli.err"
        rc=$?
        if [ "$rc" -ge 1 ] && [ "$rc" -lt 128 ]; then ok; else
            bad "$op/$how: dsrc exited $rc, not a clean failure"; head -5 "$tmp/cli.err"
        fi
        case $how in
        segv | leak) why="killed by signal SIGSEGV" ;;
        abort) why="killed by signal SIGABRT" ;;
        exit) why="exited with status 3" ;;
        esac
        grep -q "source 'bad'.*plugin 'crashy' .*worker.* $why" "$tmp/cli.err" && ok ||
            { bad "$op/$how: no error naming the source, the plugin and '$why'"; head -5 "$tmp/cli.err"; }
        [ -z "$(ls -A "$tmp/o")" ] && ok || { bad "$op/$how: output left behind:"; ls -la "$tmp/o"; }
    done
done

# ---- dsrc: a fetch that hangs ignoring cancellation, then SIGINT ----
bad_source fetch hang
rm -rf "$tmp/o"; mkdir -p "$tmp/o"
"$DSRC" $C fetch bad t1 -o "$tmp/o/t1.csv" >"$tmp/cli.out" 2>"$tmp/cli.err" &
hpid=$!
n=100
until ls -a "$tmp/o" | grep -q '^\.t1\.csv\..*\.tmp$' || [ $n -eq 0 ]; do sleep 0.1; n=$((n - 1)); done
kill -INT "$hpid"
# (the plugin would hang for ever)
n=200
while kill -0 "$hpid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
if kill -0 "$hpid" 2>/dev/null; then
    bad "dsrc fetch still running 20 s after SIGINT (shutdown_grace 1 s)"
else
    wait "$hpid"; rc=$?; hpid=
    [ "$rc" -eq 130 ] && ok || { bad "hung fetch: exit $rc, not 130"; cat "$tmp/cli.err"; }
    [ -z "$(ls -A "$tmp/o")" ] && ok || { bad "hung fetch: output left behind:"; ls -la "$tmp/o"; }
fi

# ---- dsrcd: bad sources cost only themselves ----
rm -f "$tmp/conf/sources.d/bad.conf"
cat >"$tmp/conf/sources.d/good.conf" <<EOF2
name = "good";
type = "crashy";
schedule = { health = "@every 1s"; };
EOF2
i=0
for case in open:segv ping:abort ping:exit ping:${leak:-segv} ping:hang; do
    i=$((i + 1))
    cat >"$tmp/conf/sources.d/bad$i.conf" <<EOF2
name = "bad$i";
type = "crashy";
connection = { fail_in = "${case%%:*}"; how = "${case#*:}"; };
schedule = { health = "@every 1s"; };
EOF2
done
"$DSRCD" $C --foreground --log-target stderr >"$tmp/log" 2>&1 &
pid=$!
wait_until "$DSRC" $C --json pools || { bad "dsrcd does not answer"; cat "$tmp/log"; }
sleep 10
# good is probed every second: 6 samples or more, within 30 s more on a
# loaded machine
n=30
while "$DSRC" $C --json health >"$tmp/health.json" 2>/dev/null
    ! /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if [s for s in d if s['source'] == 'good'][0]['endpoints'][0]['samples'] >= 6 else 1)" \
        "$tmp/health.json" 2>/dev/null && [ $n -gt 0 ]; do
    sleep 1; n=$((n - 1))
done
kill -0 "$pid" 2>/dev/null && ok || { bad "dsrcd died"; tail -20 "$tmp/log"; pid=; }
expect 1 "$DSRC" $C --json health
cp "$tmp/out" "$tmp/health.json"
jcheck "$tmp/health.json" '[s for s in d if s["source"] == "good"][0]["status"] == "healthy"'
jcheck "$tmp/health.json" '[s for s in d if s["source"] == "good"][0]["endpoints"][0]["samples"] >= 6'
# a source is down after two failed probes in a row; on a loaded machine a
# worker filling its memory cap, or one killed after probe_timeout, takes
# seconds a probe, so the bad sources get up to a minute more
n=60
until /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if all(s['status'] == 'down' for s in d if s['source'] != 'good') else 1)" \
        "$tmp/health.json" 2>/dev/null || [ $n -eq 0 ]; do
    sleep 1; n=$((n - 1))
    "$DSRC" $C --json health >"$tmp/health.json" 2>/dev/null
done
for i in 1 2 3 4 5; do
    f=$fail
    jcheck "$tmp/health.json" "[s for s in d if s['source'] == 'bad$i'][0]['status'] == 'down'"
    [ "$fail" -eq "$f" ] || grep "bad$i" "$tmp/log" | tail -15
done
jcheck "$tmp/health.json" "'SIGSEGV' in [s for s in d if s['source'] == 'bad1'][0]['endpoints'][0]['last_error']"
jcheck "$tmp/health.json" "'exited with status 3' in [s for s in d if s['source'] == 'bad3'][0]['endpoints'][0]['last_error']"
# the deaths count in the sources' breakers: bad3 (exit in every ping)
# opened its breaker; the good source's stays closed
expect 0 "$DSRC" $C --json pools
cp "$tmp/out" "$tmp/pools.json"
jcheck "$tmp/pools.json" "[s for s in d if s['source'] == 'bad3'][0]['endpoints'][0]['breaker']['opens'] >= 1"
jcheck "$tmp/pools.json" "[s for s in d if s['source'] == 'good'][0]['endpoints'][0]['breaker']['state'] == 'closed'"
# a crash loop: five deaths within a minute, then no more restarts
has "$tmp/log" "[bad2/crashy] plugin 'crashy' worker for source 'bad2' killed by signal SIGABRT"
has "$tmp/log" "[bad2/crashy] plugin 'crashy' crash-looped (5 deaths within 60 s): quarantined until dsrcd is reloaded"
jcheck "$tmp/health.json" "'quarantined' in [s for s in d if s['source'] == 'bad2'][0]['endpoints'][0]['last_error']"
# the hung ping: cancelled at probe_timeout, its worker killed half a
# shutdown_grace later (the other half is for a shutdown to end in)
has "$tmp/log" "[bad5/crashy] plugin 'crashy' worker for source 'bad5' ignored cancellation for 0.5 s: killed"
if [ -n "$pid" ]; then
    kill -TERM "$pid"
    n=100
    while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    if kill -0 "$pid" 2>/dev/null; then bad "dsrcd still running 10 s after SIGTERM"; else
        wait "$pid"; rc=$?; pid=
        [ "$rc" -eq 0 ] && ok || { bad "dsrcd exited $rc after SIGTERM"; tail -20 "$tmp/log"; }
    fi
fi
[ ! -e "$tmp/dsrcd.sock" ] && ok || bad "control socket left behind"
finish isolation
