#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrcd's jobs and runs, end to end, with sqlite sources and the fault test
# plugin (tests/fixtures/plugins/fault: hang = "fetch" delivers one row,
# then waits until the call is cancelled):
#  1. schedules run: discover and an incremental fetch @every 2s while rows
#     are inserted; every row is in exactly one committed file; dsrc jobs
#     (table and JSON) shows next and last; runs are recorded with trigger
#     "schedule"; sd_notify STATUS= counts the jobs;
#  2. catch-up: dsrcd stopped for several intervals makes one catch-up run
#     per job at start, not one per missed slot;
#  3. stall: a fetch without progress is cancelled after stall_timeout,
#     logged with source, item and run id, retried, and leaves no file;
#  4. cancel and stop: dsrc run --cancel, a second dsrc run of a job in
#     flight (exit 75), SIGTERM with a run in flight (cancelled after
#     shutdown_grace, exit 0, no file), the plugin waiting on the host's
#     cancel descriptor alone;
#  5. reload: a changed schedule is applied; a removed source's queued runs
#     are dropped (cancelled) and it gets no new run;
#  6. concurrency: per_source = 1 keeps one source's runs apart while
#     another source's run goes on beside them;
#  7. the commands' errors: no daemon, unknown source, bad arguments.
# Every wait polls for what the store, the log or the files say, with a
# generous bound; no sleep is an assertion.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
top_builddir=$(cd "$top_builddir" && pwd)
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
SQLITE_DIR="$top_builddir/plugins/sqlite/.libs"
FAULT="$top_builddir/tests/fixtures/plugins/.libs/fault.so"
[ -f "$FAULT" ] || { echo "fault.so not built (needs Check)"; exit 77; }
[ -f "$SQLITE_DIR/sqlite.so" ] || { echo "sqlite.so not built"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
command -v sqlite3 >/dev/null || { echo "sqlite3 missing"; exit 77; }
lib_tmpdir dsrc-jobs
pid= lpid= ipid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    [ -n "$lpid" ] && kill "$lpid" 2>/dev/null
    [ -n "$ipid" ] && kill "$ipid" 2>/dev/null
}
mkdir -p "$tmp/plugins"
ln -s "$SQLITE_DIR/sqlite.so" "$tmp/plugins/sqlite.so"
ln -s "$FAULT" "$tmp/plugins/fault.so"

# The configuration of one part: $tmp/NAME/dsrcd.conf, its own state,
# workspace and socket; LINE... are more settings.
conf=
setup() {
    d="$tmp/$1"
    shift
    mkdir -p "$d/sources.d"
    {
        printf 'plugin_dir = "%s/plugins";\nstate_dir = "%s/state";\n' "$tmp" "$d"
        printf 'workspace = "%s/ws";\ncontrol_socket = "%s/dsrcd.sock";\n' "$d" "$d"
        for line in "$@"; do printf '%s\n' "$line"; done
    } >"$d/dsrcd.conf"
    conf="$d/dsrcd.conf"
}
D() { "$DSRC" -c "$conf" "$@"; }
# Start dsrcd on $conf, its log in $d/log (appended); wait until it answers.
start() {
    "$DSRCD" -c "$conf" --foreground --log-target stderr --log-level debug \
        >>"$d/log" 2>&1 &
    pid=$!
    n=300
    until D jobs >/dev/null 2>&1 || ! kill -0 "$pid" 2>/dev/null || [ $n -eq 0 ]; do
        sleep 0.1; n=$((n - 1))
    done
    D jobs >/dev/null 2>&1 || { echo "dsrcd does not answer"; cat "$d/log"; exit 99; }
}
# SIGTERM dsrcd and wait (at most 30 s) for it to exit; $rc is its status.
stop() {
    kill -TERM "$pid"
    n=300
    while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    if kill -0 "$pid" 2>/dev/null; then
        bad "dsrcd still running 30 s after SIGTERM"
        kill -KILL "$pid"
    fi
    wait "$pid"
    rc=$?
    pid=
}
# Poll until the shell condition COND holds, every 0.2 s, at most 30 s.
poll() {
    n=150
    until eval "$1"; do
        [ $n -eq 0 ] && return 1
        sleep 0.2; n=$((n - 1))
    done
}
# py FILE EXPR: print a Python expression over the JSON document r of FILE.
py() {
    /usr/bin/python3 -c 'import json, sys
from datetime import datetime
t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
r = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}
# runs [ARGS...]: dsrc --json runs --limit 1000 ARGS into $d/runs.json
runs() { D --json runs --limit 1000 "$@" >"$d/runs.json" 2>"$d/runs.err"; }
# q EXPR: py over $d/runs.json after refreshing it (runs of every source)
q() { runs; py "$d/runs.json" "$1"; }
# Files in a workspace that are not committed output: temporaries.
tmps() { find "$1" -name '.*.tmp' 2>/dev/null | wc -l; }

# ---------------------------------------------------------------------------
# 1. Schedules run: discover and an incremental fetch @every 2s.
setup sched 'jobs = { jitter_max = 0; };'
sqlite3 "$d/a.db" "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
INSERT INTO t(v) VALUES ('r1'), ('r2'), ('r3');" >/dev/null
cat >"$d/sources.d/a.conf" <<EOF2
name = "a";
type = "sqlite";
connection = { path = "$d/a.db"; };
schedule = { discover = "@every 2s"; };
fetch = ( { item = "t"; cursor_field = "id"; schedule = "@every 2s"; } );
EOF2
# sd_notify listener
/usr/bin/python3 - "$d/notify.sock" "$d/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a", buffering=1) as log:
    try:
        while True:
            log.write(s.recv(4096).decode() + "\n")
    except socket.timeout:
        pass
PY
lpid=$!
n=50; while [ ! -S "$d/notify.sock" ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
NOTIFY_SOCKET="$d/notify.sock"
export NOTIFY_SOCKET
start
unset NOTIFY_SOCKET
# rows keep coming while the daemon fetches
(
    i=4
    while [ $i -le 40 ]; do
        sqlite3 "$d/a.db" "INSERT INTO t(v) VALUES ('r$i');" 2>/dev/null || exit 1
        sleep 0.25
        i=$((i + 1))
    done
) &
ipid=$!
# four fetch runs succeed, the discover runs as well
poll '[ "$(q "sum(1 for x in r if x[\"kind\"] == \"fetch\" and x[\"state\"] == \"succeeded\")")" -ge 4 ]' &&
    ok || { bad "fewer than 4 fetch runs in 30 s"; cat "$d/runs.json" "$d/log"; }
wait "$ipid"
ipid=
# one more run after the last insert: it takes whatever is left
last=$(q 'max(x["id"] for x in r)')
poll '[ "$(q "sum(1 for x in r if x[\"kind\"] == \"fetch\" and x[\"state\"] == \"succeeded\" and x[\"id\"] > $last)")" -ge 1 ]' &&
    ok || { bad "no fetch run after the inserts"; cat "$d/runs.json"; }
# dsrc jobs: both jobs, scheduled, with their next run and a last result
jobs_ready() {
    D --json jobs >"$d/jobs.json" 2>&1 &&
    [ "$(py "$d/jobs.json" '" ".join("%s:%s:%s:%s" % (j["kind"], j["state"], j["next"] is not None, (j["last"] or {}).get("result")) for j in r)')" = \
      "discover:scheduled:True:succeeded fetch:scheduled:True:succeeded" ]
}
poll jobs_ready && ok ||
    { bad "dsrc --json jobs does not show both jobs scheduled with next and last"; cat "$d/jobs.json"; }
[ "$(py "$d/jobs.json" '[(j["key"], j["schedule"], j["last"]["trigger"]) for j in r]')" = \
  "[('a/discover', '@every 2s', 'schedule'), ('a/fetch/t', '@every 2s', 'schedule')]" ] &&
    ok || { bad "jobs' keys, schedules or last triggers"; cat "$d/jobs.json"; }
expect 0 D jobs
has "$tmp/out" "SOURCE  KIND"
grep -Eq '^a +discover +- +@every 2s +(scheduled|queued|running) ' "$tmp/out" && ok ||
    { bad "dsrc jobs: no discover row"; cat "$tmp/out"; }
grep -Eq '^a +fetch +t +@every 2s +(scheduled|queued|running) .* succeeded' "$tmp/out" && ok ||
    { bad "dsrc jobs: no fetch row with a last result"; cat "$tmp/out"; }
expect 0 D jobs a
has "$tmp/out" "@every 2s"
# every run so far came from the schedule, and none failed
[ "$(q 'sorted(set((x["trigger"], x["state"]) for x in r if x["state"] not in ("queued", "running")))')" = \
  "[('schedule', 'succeeded')]" ] && ok || { bad "runs other than scheduled successes"; cat "$d/runs.json"; }
expect 0 D runs a
grep -Eq '^ *[0-9]+ +a +fetch +t +schedule +succeeded ' "$tmp/out" && ok ||
    { bad "dsrc runs: no scheduled fetch"; cat "$tmp/out"; }
# STATUS= says what the daemon does
wait_for "$d/notify.log" "STATUS=serving 1 source(s), 0 down; " 100 && grep -q "held of 2 job(s)" "$d/notify.log" && ok ||
    { bad "sd_notify STATUS= does not count the jobs"; cat "$d/notify.log"; }
# once WS DB RUNS: every row of table t of DB is in exactly one committed
# file (the files of the succeeded fetch runs of RUNS), and the workspace
# holds those files and their manifests only.  Prints what is wrong.
once() {
    /usr/bin/python3 - "$@" <<'PY'
import csv, json, os, sqlite3, sys
ws, db, runs = sys.argv[1:4]
r = json.load(open(runs))
committed = {x["file"] for x in r if x["kind"] == "fetch" and x["state"] == "succeeded"}
found = set()
for top, dirs, files in os.walk(ws):
    for f in files:
        p = os.path.join(top, f)
        if f.endswith(".manifest.json"):
            if p[:-len(".manifest.json")] not in committed:
                print("stray manifest", p)
        else:
            found.add(p)
if found != committed:
    print("files not committed:", sorted(found - committed),
          "committed but missing:", sorted(committed - found))
ids = []
for f in sorted(committed & found):
    with open(f, newline="") as fp:
        rows = list(csv.reader(fp))
        if rows[:1] != [["id", "v"]]:
            print("bad header in", f, rows[:1])
        ids += [int(row[0]) for row in rows[1:]]
want = [i for (i,) in sqlite3.connect(db).execute("SELECT id FROM t ORDER BY id")]
if sorted(ids) != want:
    dup = sorted({i for i in ids if ids.count(i) > 1})
    print("rows %d in files, %d in the table; duplicated %s, missing %s"
          % (len(ids), len(want), dup[:10], sorted(set(want) - set(ids))[:10]))
PY
}

stop
[ "$rc" -eq 0 ] && ok || { bad "dsrcd exited $rc on SIGTERM"; tail -20 "$d/log"; }
runs
msg=$(once "$d/ws" "$d/a.db" "$d/runs.json")
[ -z "$msg" ] && ok || { bad "part 1, rows and files: $msg"; cat "$d/runs.json"; }
[ "$(sqlite3 "$d/a.db" 'SELECT count(*) FROM t')" -eq 40 ] && ok || bad "the inserts did not all happen"

# ---------------------------------------------------------------------------
# 2. Catch-up: stopped for several intervals, one catch-up run per job.
last=$(py "$d/runs.json" 'max(x["id"] for x in r)')
sqlite3 "$d/a.db" "INSERT INTO t(v) VALUES ('down1'), ('down2');"
# dsrcd is down for at least three slots of @every 2s; it starts just after
# an odd second, so that the next slot comes less than a second after the
# catch-up runs ended: they end before it, that slot is no missed one
sleep 6.5
/usr/bin/python3 -c 'import time
t = time.time()
n = int(t) + 1
time.sleep(n + (n % 2 == 0) + 0.05 - t)'
start
# the first runs after the start are catch-ups, then the schedule goes on
poll '[ "$(q "sum(1 for x in r if x[\"id\"] > $last and x[\"trigger\"] == \"schedule\" and x[\"state\"] == \"succeeded\")")" -ge 2 ]' &&
    ok || { bad "the schedule did not resume after the restart"; cat "$d/runs.json" "$d/log"; }
# (those queued before the first slot after the start: on a loaded machine
# a catch-up may still run at that slot, which then is caught up as well)
[ "$(py "$d/runs.json" "(lambda new: (lambda b: sorted((x['kind'], x['trigger']) for x in new
    if x['trigger'] != 'schedule' and t(x['queued_at']) < b))((int(min(t(x['queued_at']) for x in new)) // 2 + 1) * 2))(
    [x for x in r if x['id'] > $last])")" = "[('discover', 'catch-up'), ('fetch', 'catch-up')]" ] &&
    ok || { bad "not exactly one catch-up run per job"; cat "$d/runs.json"; }
# each job's catch-up came before its scheduled runs
[ "$(py "$d/runs.json" "all(min((x for x in r if x['id'] > $last and x['kind'] == k), key=lambda x: x['id'])['trigger'] == 'catch-up' for k in ('discover', 'fetch'))")" = True ] &&
    ok || { bad "a scheduled run came before the catch-up"; cat "$d/runs.json"; }
stop
[ "$rc" -eq 0 ] && ok || { bad "dsrcd exited $rc on SIGTERM"; tail -20 "$d/log"; }
runs
msg=$(once "$d/ws" "$d/a.db" "$d/runs.json")
[ -z "$msg" ] && ok || { bad "part 2, rows and files: $msg"; cat "$d/runs.json"; }
kill "$lpid" 2>/dev/null
lpid=

# ---------------------------------------------------------------------------
# 3. Stall: a scheduled fetch that hangs after its first row is cancelled
#    for no progress, retried once (retry_attempts = 2), then waits for
#    its next fire time; nothing is left behind.
setup stall 'jobs = { stall_timeout = "1s"; retry_backoff = "200ms"; retry_attempts = 2; jitter_max = 0; };'
cat >"$d/sources.d/s.conf" <<EOF2
name = "s";
type = "fault";
connection = { host = "s"; hang = "fetch"; };
fetch = ( { item = "items"; schedule = "@every 6s"; } );
EOF2
start
# attempt 1 and its retry fail as stalled (1 s each, and the 200 ms
# backoff: the cycle leaves them room on a loaded machine); the next run is
# the next cycle's
stall_done() {
    [ "$(q "' '.join('%s:%s:%s:%s' % (x['attempt'], x['trigger'], x['state'], x['retryable']) for x in sorted(r, key=lambda x: x['id'])[:3])")" = \
      "1:schedule:failed:True 2:retry:failed:True 1:schedule:failed:True" ]
}
poll stall_done && ok ||
    { bad "the stalled run is not failed, retried once, then left to its schedule"; cat "$d/runs.json"; }
[ "$(py "$d/runs.json" 'all(x["status"] == "timeout" and x["error"] == "stalled: no rows or bytes for 1000 ms; cancelled" for x in r if x["state"] == "failed")')" = True ] &&
    ok || { bad "the runs do not say they stalled"; cat "$d/runs.json"; }
id1=$(py "$d/runs.json" 'min(x["id"] for x in r)')
has "$d/log" "run $id1: [s/fault] fetch items: no progress for 1000 ms; cancelling it"
has "$d/log" "run $((id1 + 1)): [s/fault] fetch items: no progress for 1000 ms; cancelling it"
has "$d/log" "s/fetch/items: attempt 2 in"
hasnt "$d/log" "s/fetch/items: attempt 3 in"
stop
[ "$rc" -eq 0 ] && ok || { bad "dsrcd exited $rc on SIGTERM"; tail -20 "$d/log"; }
[ -z "$(find "$d/ws" -type f 2>/dev/null)" ] && ok || { bad "a stalled run left files:"; find "$d/ws"; }

# ---------------------------------------------------------------------------
# 4. Cancel and stop: runs of a fetch that hangs until it is cancelled
# (waiting on the host's cancel descriptor only: the cancellations below
# must make it readable).
setup cancel 'shutdown_grace = "1s";' 'jobs = { jitter_max = 0; };'
cat >"$d/sources.d/c.conf" <<EOF2
name = "c";
type = "fault";
connection = { host = "c"; hang = "fetch"; wait_cancel_fd = true; };
fetch = ( { item = "items"; schedule = "@every 1h"; } );
EOF2
start
expect 0 D --json run c items
id=$(py "$tmp/out" 'r["id"]')
[ "$(py "$tmp/out" 'r["state"]')" = queued ] && ok || { bad "dsrc run --json"; cat "$tmp/out"; }
# the row is written to a temporary file, then the plugin hangs
hung() { [ "$(tmps "$d/ws")" -eq 1 ] && [ "$(q "r[0]['state']")" = running ]; }
poll hung && ok || { bad "run $id does not hang in its fetch"; cat "$d/runs.json"; }
# a run of a job in flight is refused: try again later
expect 75 D run c items
has "$tmp/err" "job 'c/fetch/items' is busy: already running"
expect 0 D run --cancel "$id"
has "$tmp/out" "run $id: cancel asked"
ended() { [ "$(q "r[0]['state']")" = cancelled ]; }
poll ended && ok || { bad "run $id not cancelled"; cat "$d/runs.json"; }
[ "$(py "$d/runs.json" 'len(r), r[0]["file"], r[0]["status"]')" = "(1, None, 'cancelled')" ] &&
    ok || { bad "the cancelled run"; cat "$d/runs.json"; }
[ -z "$(find "$d/ws" -type f)" ] && ok || { bad "a cancelled run left files:"; find "$d/ws"; }
# a cancelled run is not retried; the job is free to run again: --wait
# gives the run's result, cancelled by SIGTERM after shutdown_grace
poll 'D --json jobs >"$d/jobs.json" 2>&1 && [ "$(py "$d/jobs.json" "r[0][\"state\"]")" = scheduled ]' &&
    ok || { bad "the job of the cancelled run is not scheduled again"; cat "$d/jobs.json"; }
D run --wait c items >"$d/wait.out" 2>"$d/wait.err" &
wpid=$!
poll 'hung && [ "$(q "len(r)")" -eq 2 ]' && ok || { bad "the second run does not hang"; cat "$d/runs.json"; }
id=$(py "$d/runs.json" 'r[0]["id"]')
expect 1 D run --cancel 999999
has "$tmp/err" "run 999999 is not queued or running in dsrcd"
stop
[ "$rc" -eq 0 ] && ok || { bad "dsrcd exited $rc on SIGTERM with a run in flight"; tail -20 "$d/log"; }
has "$d/log" "1 run(s) still running after 1.0 s (shutdown_grace): cancelling them"
# read with dsrcd gone: the run was recorded cancelled, nothing committed
runs c
[ "$(py "$d/runs.json" 'r[0]["id"], r[0]["state"], r[0]["file"]')" = "($id, 'cancelled', None)" ] &&
    ok || { bad "the run in flight at SIGTERM is not recorded cancelled"; cat "$d/runs.json"; }
[ -z "$(find "$d/ws" -type f)" ] && ok || { bad "a run cancelled at SIGTERM left files:"; find "$d/ws"; }
# dsrc run --wait ends with the run: cancelled, exit 1
n=150
while kill -0 "$wpid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.2; n=$((n - 1)); done
if kill -0 "$wpid" 2>/dev/null; then
    bad "dsrc run --wait still waits for a cancelled run"
    kill "$wpid"
fi
wait "$wpid"
[ $? -eq 1 ] && ok || { bad "dsrc run --wait of a cancelled run"; cat "$d/wait.err"; }
has "$d/wait.err" "run $id cancelled: cancelled"

# ---------------------------------------------------------------------------
# 5. Reload: a changed schedule is applied; the queued runs of removed
#    sources are dropped, their running ones go on, and they get no new run.
setup reload 'shutdown_grace = "1s";' 'jobs = { per_source = 1; jitter_max = 0; };'
sqlite3 "$d/a.db" "CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);"
cat >"$d/sources.d/a.conf" <<EOF2
name = "a";
type = "sqlite";
connection = { path = "$d/a.db"; };
fetch = ( { item = "t"; schedule = "@every 1h"; } );
EOF2
# g: a discover @every 2s that queues behind a hanging fetch (per_source 1);
# h: no job at all, only runs asked for with dsrc run
for s in g h; do
    cat >"$d/sources.d/$s.conf" <<EOF2
name = "$s";
type = "fault";
connection = { host = "$s"; hang = "fetch"; };
EOF2
done
echo 'schedule = { discover = "@every 2s"; };' >>"$d/sources.d/g.conf"
start
for s in g h; do
    expect 0 D --json run "$s" x
    eval "x_$s=\$(py \"\$tmp/out\" 'r[\"id\"]')"
done
running_x() { [ "$(q "sorted(x['source'] for x in r if x['item'] == 'x' and x['state'] == 'running')")" = "['g', 'h']" ]; }
poll running_x && ok || { bad "the fetches of x do not hang"; cat "$d/runs.json"; }
expect 0 D --json run h y
y_h=$(py "$tmp/out" 'r["id"]')
queued_g() { [ "$(q "sum(1 for x in r if x['source'] == 'g' and x['kind'] == 'discover' and x['state'] == 'queued')")" -eq 1 ]; }
poll queued_g && ok || { bad "g's discover is not queued behind its fetch"; cat "$d/runs.json"; }
[ "$(q "[x['state'] for x in r if x['id'] == $y_h]")" = "['queued']" ] && ok ||
    { bad "h's second run is not queued"; cat "$d/runs.json"; }
before=$(py "$d/runs.json" 'max(x["id"] for x in r)')
rm "$d/sources.d/g.conf" "$d/sources.d/h.conf"
sed -i 's/@every 1h/@every 2s/' "$d/sources.d/a.conf"
kill -HUP "$pid"
wait_for "$d/log" "reloaded: 1 source(s)" 300 && ok || { bad "no reload"; cat "$d/log"; }
disc_g=$(py "$d/runs.json" '[x["id"] for x in r if x["source"] == "g" and x["state"] == "queued"][0]')
dropped() { [ "$(q "' '.join(x['state'] for x in sorted(r, key=lambda x: x['id']) if x['id'] in ($disc_g, $y_h))")" = "cancelled cancelled" ]; }
poll dropped && ok || { bad "the queued runs of the removed sources are not dropped"; cat "$d/runs.json" "$d/log"; }
[ "$(py "$d/runs.json" "all('its source is no longer served' in x['error'] for x in r if x['id'] in ($disc_g, $y_h))")" = True ] &&
    ok || { bad "the dropped runs do not say why"; cat "$d/runs.json"; }
has "$d/log" "[g] 1 queued run(s) dropped: the source is no longer served"
has "$d/log" "[h] 1 queued run(s) dropped: the source is no longer served"
# dsrc jobs shows the new schedule, and runs follow it
expect 0 D --json jobs
[ "$(py "$tmp/out" '" ".join(j["key"] + "=" + j["schedule"] for j in r)')" = "a/fetch/t=@every 2s" ] &&
    ok || { bad "dsrc jobs after the reload"; cat "$tmp/out"; }
expect 1 D jobs g
has "$tmp/err" "no source named 'g'"
follows() { [ "$(q "sum(1 for x in r if x['source'] == 'a' and x['trigger'] == 'schedule' and x['state'] == 'succeeded' and x['id'] > $before)")" -ge 2 ]; }
poll follows && ok || { bad "no runs on the new schedule"; cat "$d/runs.json"; }
# the running fetches of the removed sources go on; no new run came
[ "$(py "$d/runs.json" "sorted((x['source'], x['state']) for x in r if x['source'] != 'a' and x['id'] > $before)")" = "[]" ] &&
    ok || { bad "a removed source got new runs"; cat "$d/runs.json"; }
[ "$(py "$d/runs.json" "[x['state'] for x in r if x['id'] in ($x_g, $x_h)]")" = "['running', 'running']" ] &&
    ok || { bad "the running runs of the removed sources did not go on"; cat "$d/runs.json"; }
expect 0 D run --cancel "$x_g"
x_ended() { [ "$(q "[x['state'] for x in r if x['id'] == $x_g]")" = "['cancelled']" ]; }
poll x_ended && ok || { bad "the removed source's run is not cancelled"; cat "$d/runs.json"; }
stop
[ "$rc" -eq 0 ] && ok || { bad "dsrcd exited $rc on SIGTERM"; tail -20 "$d/log"; }
[ "$(q "[x['state'] for x in r if x['id'] == $x_h]")" = "['cancelled']" ] && ok ||
    { bad "the removed source's run is not cancelled at SIGTERM"; cat "$d/runs.json"; }

# ---------------------------------------------------------------------------
# 6. Concurrency: two workers, one run at a time per source.  busy has three
#    fetch jobs that hang (each stalls after 1 s, not retried); other has
#    one: it runs beside busy's, never waiting for them.
setup conc 'shutdown_grace = "1s";' \
    'jobs = { workers = 2; per_source = 1; stall_timeout = "1s"; retry_attempts = 1; jitter_max = 0; };'
cat >"$d/sources.d/busy.conf" <<EOF2
name = "busy";
type = "fault";
connection = { host = "busy"; hang = "fetch"; };
fetch = ( { item = "a"; schedule = "@every 2s"; }, { item = "b"; schedule = "@every 2s"; },
          { item = "c"; schedule = "@every 2s"; } );
EOF2
cat >"$d/sources.d/other.conf" <<EOF2
name = "other";
type = "fault";
connection = { host = "other"; hang = "fetch"; };
fetch = ( { item = "o"; schedule = "@every 2s"; } );
EOF2
start
# watch the running runs until busy has ended four and both sources were
# seen running at once (at most 30 s)
most=0 both=0 waited=0 n=150
while [ $n -gt 0 ]; do
    D --json runs --state running --limit 100 >"$d/running.json" 2>&1 || break
    busy=$(py "$d/running.json" 'sum(1 for x in r if x["source"] == "busy")')
    other=$(py "$d/running.json" 'sum(1 for x in r if x["source"] == "other")')
    [ "${busy:-9}" -gt "$most" ] && most=$busy && cp "$d/running.json" "$d/most.json"
    [ "${busy:-0}" -ge 1 ] && [ "${other:-0}" -ge 1 ] && both=1
    D --json runs --state queued busy >"$d/queued.json" 2>&1
    if [ "$(py "$d/queued.json" 'len(r)')" -ge 1 ] && [ "${busy:-0}" -ge 1 ] && [ $waited -eq 0 ]; then
        # a job with a run queued (or, a moment later, running) is busy;
        # on a loaded machine that run may have ended before the request
        # came (it is then accepted, 0): try again at the next queued run
        item=$(py "$d/queued.json" 'r[0]["item"]')
        D run busy "$item" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        if [ $rc -eq 75 ]; then
            waited=1
            ok
            has "$tmp/err" "job 'busy/fetch/$item' is busy: already"
        elif [ $rc -ne 0 ]; then
            waited=1
            bad "dsrc run busy $item: exit $rc (wanted 75)"
            cat "$tmp/err"
        fi
    fi
    ended=$(q 'sum(1 for x in r if x["source"] == "busy" and x["state"] == "failed")')
    [ "${ended:-0}" -ge 4 ] && [ $both -eq 1 ] && [ $waited -eq 1 ] && break
    sleep 0.1
    n=$((n - 1))
done
[ "$most" -eq 1 ] && ok || { bad "busy had $most runs running at once (per_source = 1)"; cat "$d/most.json"; }
[ $both -eq 1 ] && ok || { bad "other never ran beside busy"; cat "$d/runs.json"; }
[ $waited -eq 1 ] && ok || { bad "no run of busy ever waited for another"; cat "$d/runs.json"; }
[ "${ended:-0}" -ge 4 ] && ok || { bad "busy's queued runs did not go on"; cat "$d/runs.json"; }
stop
[ "$rc" -eq 0 ] && ok || { bad "dsrcd exited $rc on SIGTERM"; tail -20 "$d/log"; }
# the store agrees: busy's runs never overlapped; other's overlapped them
runs
[ "$(py "$d/runs.json" 'all(a["started_at"] >= b["finished_at"] for a, b in zip(*(lambda v: (v[1:], v))(sorted((x for x in r if x["source"] == "busy" and x["started_at"]), key=lambda x: x["started_at"]))))')" = True ] &&
    ok || { bad "runs of busy overlap in the store"; cat "$d/runs.json"; }
[ "$(py "$d/runs.json" 'any(o["started_at"] < b["finished_at"] and b["started_at"] < o["finished_at"] for o in r if o["source"] == "other" and o["started_at"] for b in r if b["source"] == "busy" and b["started_at"])')" = True ] &&
    ok || { bad "other never ran beside busy in the store"; cat "$d/runs.json"; }

# ---------------------------------------------------------------------------
# 7. The commands' errors.
# no daemon: exit 75 (it may pass: the daemon may be starting), "not running" (part 6's has stopped)
for args in "jobs" "jobs busy" "run busy a" "run busy discover" "run --cancel 1"; do
    expect 75 D $args
    has "$tmp/err" "dsrcd is not running"
done
# bad arguments: exit 2, with the usage
for args in "run" "run busy" "run busy a b" "run --cancel x" "run --cancel 0" \
    "run --cancel 1 busy a" "jobs busy other" "jobs --bogus" "runs --state bogus" \
    "runs --limit 0" "runs busy 2"; do
    expect 2 D $args
done
# unknown source: exit 1, named
start
expect 1 D run nosuch a
has "$tmp/err" "source 'nosuch' is not served"
expect 1 D run nosuch discover
has "$tmp/err" "source 'nosuch' is not served"
expect 1 D jobs nosuch
has "$tmp/err" "no source named 'nosuch'"
expect 0 D runs nosuch
has "$tmp/out" "no runs of nosuch"
stop

finish jobs
