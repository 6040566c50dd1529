#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrcd killed at random moments while it fetches a growing PostgreSQL
# table incrementally: a table with a serial primary key gets rows all the
# time (one psql session, one statement after another, so ids commit in
# order) while dsrcd runs a fetch rule "@every 2s" with cursor_field = "id"
# on it.  dsrcd is killed with SIGKILL 20 times -- after random delays, half
# of them aimed just after a fire time so that they land in the middle of a
# run -- and started again each time.  Then the inserts stop, dsrcd runs
# until a fetch has covered the last row and is stopped with SIGTERM.
# Asserted: the committed files (a data file with its manifest) hold every
# inserted id exactly once; no data file without its manifest, no manifest
# without its data file, no temporary file; the store has no run left
# queued or running (the restarted daemon resolved them), its cursor is the
# last id, and its succeeded runs name exactly the committed files.
# Prints how the runs cut short were resolved.  Skipped (77) when no
# PostgreSQL server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "python3 missing"; exit 77; }
lib_tmpdir dsrc-pgkill
pgdir="" pid="" ipid=""
cleanup() {
    : >"$tmp/stop"
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$ipid" ] && kill "$ipid" 2>/dev/null && wait "$ipid" 2>/dev/null
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
}
now_ms() { date +%s%3N; }
# rnd LO HI: $r, a random number of seconds between LO and HI (from $seed)
rnd() {
    r=$(awk -v s="$seed" -v lo="$1" -v hi="$2" \
        'BEGIN { srand(s); printf "%d %.3f\n", int(rand() * 2147483647), lo + rand() * (hi - lo) }')
    seed=${r% *}
    r=${r#* }
}
# start_daemon: dsrcd in the background, its log appended to $tmp/log
start_daemon() {
    "$DSRCD" -c "$tmp/conf/dsrcd.conf" --foreground --log-target stderr >>"$tmp/log" 2>&1 &
    pid=$!
}
# wait_started N: until the log says dsrcd started N times (at most 10 s):
# the kills count from then, however long a loaded machine takes to start
wait_started() {
    w=100
    while [ "$(grep -c 'dsrcd .* started: ' "$tmp/log")" -lt "$1" ] && [ $w -gt 0 ]; do
        sleep 0.1
        w=$((w - 1))
    done
}
psql_q() { "$FIXTURE" psql "$pgdir" -At -c "$1"; }

pg_start --no-replica

# 50 000 rows to begin with, so that the first runs take a while
psql_q "CREATE TABLE events (id serial PRIMARY KEY, pad text NOT NULL);
        GRANT SELECT ON events TO $PG_USER;
        INSERT INTO events (pad) SELECT repeat(md5(g::text), 6) FROM generate_series(1, 50000) g;" ||
    { echo "cannot make the table"; exit 99; }

lib_conf "$top_builddir/plugins/postgres/.libs" \
    "control_socket = \"$tmp/dsrcd.sock\";" \
    "shutdown_grace = \"5s\";" \
    "jobs = { jitter_max = 0; retry_backoff = \"200ms\"; };"
cat >"$tmp/conf/sources.d/pg.conf" <<EOF2
name = "pg";
type = "postgres";
connection = {
    host = "localhost";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "$PG_USER";
    password = "env:DSRC_PGK_PASSWORD";
    connect_timeout = "5s";
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
schedule = { health = "@every 1h"; };
fetch = ( { item = "public.events"; cursor_field = "id"; schedule = "@every 2s"; } );
EOF2
DSRC_PGK_PASSWORD=$PG_PASSWORD
export DSRC_PGK_PASSWORD
ws="$tmp/ws/pg/public.events"

# rows arrive all the time: 3 per statement, about 20 statements a second,
# until $tmp/stop exists (bounded: at most 6 000 statements)
(
    i=0
    while [ ! -e "$tmp/stop" ] && [ $i -lt 6000 ]; do
        echo "INSERT INTO events (pad) SELECT md5(random()::text) FROM generate_series(1, 3);"
        sleep 0.05
        i=$((i + 1))
    done
) | "$FIXTURE" psql "$pgdir" >"$tmp/inserts.log" 2>&1 &
ipid=$!

seed=$(date +%s%N | cut -c6-15)
echo "random seed $seed"
: >"$tmp/kills"
k=1
while [ $k -le 20 ]; do
    start_daemon
    wait_started $k
    if [ $((k % 2)) -eq 0 ]; then
        # aimed: just after the next fire time (every even second, no jitter)
        rnd 0.2 0.6
        sleep "$r"
        rnd 0 0.12
        sleep "$(awk -v ms="$(now_ms)" -v r="$r" \
            'BEGIN { printf "%.3f", (2000 - ms % 2000) / 1000 + r }')"
    else
        rnd 0.2 3
        sleep "$r"
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        bad "dsrcd (start $k) was not running when it was to be killed"
        tail -5 "$tmp/log"
    fi
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    echo "$pid $(now_ms)" >>"$tmp/kills"
    pid=""
    k=$((k + 1))
done

# the inserts stop; the daemon runs until a fetch has covered the last row
: >"$tmp/stop"
wait "$ipid"
rc=$?
ipid=""
[ "$rc" -eq 0 ] && ok || { bad "the inserts failed ($rc)"; tail -5 "$tmp/inserts.log"; }
last=$(psql_q "SELECT max(id) FROM events")
total=$(psql_q "SELECT count(*) FROM events")
echo "$total rows inserted, ids 1 to $last"
start_daemon
n=300
covered=""
while [ $n -gt 0 ]; do
    "$DSRC" -c "$tmp/conf/dsrcd.conf" --json runs pg --state succeeded --limit 1000 >"$tmp/runs.json" 2>&1
    covered=$("$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(any(x.get("cursor_to") == sys.argv[2] for x in r))' "$tmp/runs.json" "$last" 2>/dev/null)
    [ "$covered" = True ] && break
    sleep 0.2; n=$((n - 1))
done
[ "$covered" = True ] && ok || { bad "no fetch reached id $last within 60 s"; cat "$tmp/runs.json"; tail -20 "$tmp/log"; }
kill -TERM "$pid"
n=300
while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
if kill -0 "$pid" 2>/dev/null; then
    bad "dsrcd still running 30 s after SIGTERM"
else
    wait "$pid"
    rc=$?
    pid=""
    [ "$rc" -eq 0 ] && ok || { bad "dsrcd exited $rc after SIGTERM"; tail -20 "$tmp/log"; }
fi

# the store as the daemons left it (read before any dsrc command, which
# would resolve open runs itself)
"$PY" - "$tmp/state/dsrc.db" "$ws" "$last" "$total" "$tmp/kills" >"$tmp/check" 2>&1 <<'EOF2'
import csv, os, sqlite3, sys
db, ws, last, total, kills = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
fails = []
con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
open_runs = con.execute("SELECT id, state FROM runs WHERE state IN ('queued', 'running')").fetchall()
if open_runs:
    fails.append("runs left open: %r" % open_runs)
cur = con.execute("SELECT field, value FROM cursors WHERE source = 'pg' AND item = 'public.events'").fetchall()
if cur != [("id", str(last))]:
    fails.append("the committed cursor is %r, not id %d" % (cur, last))
runs = con.execute("SELECT id, state, owner, finished_at, error, file FROM runs "
                   "WHERE source = 'pg' ORDER BY id").fetchall()
names = os.listdir(ws)
temps = [n for n in names if n.startswith(".")]
data = sorted(n for n in names if n.endswith(".csv"))
manifests = sorted(n for n in names if n.endswith(".csv.manifest.json"))
if temps:
    fails.append("temporary files left: %r" % temps)
for n in data:
    if n + ".manifest.json" not in manifests:
        fails.append("data file without its manifest: %s" % n)
for m in manifests:
    if m[:-len(".manifest.json")] not in data:
        fails.append("manifest without its data file: %s" % m)
others = [n for n in names if n not in data and n not in manifests and n not in temps]
if others:
    fails.append("unexpected files: %r" % others)
committed = sorted(os.path.join(ws, n) for n in data if n + ".manifest.json" in manifests)
recorded = sorted(r[5] for r in runs if r[1] == "succeeded")
if committed != recorded:
    fails.append("succeeded runs and committed files differ: %d runs, %d files; only runs: %r; "
                 "only files: %r" % (len(recorded), len(committed),
                                     sorted(set(recorded) - set(committed))[:5],
                                     sorted(set(committed) - set(recorded))[:5]))
seen = {}
for path in committed:
    with open(path, newline="") as f:
        rows = csv.reader(f)
        head = next(rows, None)
        if head != ["id", "pad"]:
            fails.append("%s: header %r" % (path, head))
            continue
        for row in rows:
            seen[int(row[0])] = seen.get(int(row[0]), 0) + 1
missing = [i for i in range(1, last + 1) if i not in seen]
twice = sorted(i for i, c in seen.items() if c > 1)
extra = sorted(i for i in seen if i < 1 or i > last)
if len(seen) != total or missing or twice or extra:
    fails.append("ids: %d distinct of %d; missing %d %r; more than once %d %r; unknown %r"
                 % (len(seen), total, len(missing), missing[:10], len(twice), twice[:10], extra[:10]))
# how the runs cut short by a SIGKILL were resolved (by the next daemon)
killed = {}
for line in open(kills):
    p, t = line.split()
    killed[p] = int(t)
interrupted = sum(1 for r in runs if r[1] == "failed" and (r[4] or "").startswith("interrupted"))
completed = sum(1 for r in runs if r[1] == "succeeded" and r[2].split("/")[1] in killed
                and r[3] >= killed[r[2].split("/")[1]])
dropped = sum(1 for r in runs if r[1] == "cancelled" and (r[4] or "").startswith("dropped"))
other_failed = [r[4] for r in runs if r[1] == "failed" and not (r[4] or "").startswith("interrupted")]
print("%d runs, %d committed files, %d rows; cut short by SIGKILL: %d interrupted (failed), "
      "%d completed (their manifest was in place: succeeded), %d queued dropped; "
      "other failures: %d %r" % (len(runs), len(committed), sum(seen.values()), interrupted,
                                 completed, dropped, len(other_failed), other_failed[:3]))
for f in fails:
    print("FAIL: " + f)
sys.exit(1 if fails else 0)
EOF2
rc=$?
cat "$tmp/check"
[ "$rc" -eq 0 ] && ok || bad "the committed files, the cursor and the runs do not agree"

# dsrc runs says the same: nothing running, nothing queued
"$DSRC" -c "$tmp/conf/dsrcd.conf" runs pg --state running >"$tmp/running" 2>&1
"$DSRC" -c "$tmp/conf/dsrcd.conf" --json runs pg --state running >"$tmp/running.json" 2>&1
[ "$(tr -d ' \n' <"$tmp/running.json")" = "[]" ] && ok || { bad "dsrc runs shows running runs"; cat "$tmp/running"; }
grep -q "resolved [0-9]* run(s) left open" "$tmp/log" && ok || bad "no restart resolved a run"
grep -qF "$PG_PASSWORD" "$tmp/log" "$tmp/runs.json" && bad "password leaked" || ok

finish "pg jobs kill"
