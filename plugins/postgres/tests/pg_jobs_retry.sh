#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrcd's retries against a real PostgreSQL:
#  (a) the server stops: the scheduled incremental fetch fails as
#      retryable and is retried (trigger "retry", attempt 2, 3...) after
#      backoffs that grow (retry_backoff = 500ms, doubling, equal jitter);
#      once the server is back a later attempt of the same cycle succeeds,
#      and the committed files hold every row once, with the cursor at the
#      last id;
#  (b) a wrong password: one failed run (status auth, not retryable), the
#      job held, no more runs, at most one failed login in the server's log
#      besides the health probe's -- no retry storm; the password fixed and SIGHUP: the hold is
#      released and a run succeeds.
# Skipped (77) when no PostgreSQL server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "python3 missing"; exit 77; }
lib_tmpdir dsrc-pgretry
pgdir="" pid=""
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
}
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
dsrc() { "$DSRC" -c "$tmp/conf/dsrcd.conf" "$@"; }
psql_q() { "$FIXTURE" psql "$pgdir" -At -c "$1"; }
# py FILE EXPR: a Python expression over r, the JSON in FILE, printed
py() {
    "$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}
# until_runs SOURCE EXPR [TRIES]: poll `dsrc runs SOURCE` (the runs as r,
# oldest first) every 0.2 s until EXPR is true (default 150 tries: 30 s)
until_runs() {
    n=${3:-150}
    while [ "$n" -gt 0 ]; do
        dsrc --json runs "$1" --limit 1000 >"$tmp/runs.json" 2>&1
        [ "$(py "$tmp/runs.json" "(lambda r: $2)(r[::-1])")" = True ] && return 0
        sleep 0.2; n=$((n - 1))
    done
    return 1
}
failed_logins() { grep -c 'password authentication failed for user "dsrc_test"' "$PG_DIR/log/primary.log"; }

pg_start --no-replica
psql_q "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);
        GRANT SELECT ON items TO $PG_USER;
        INSERT INTO items (name) SELECT 'item ' || g FROM generate_series(1, 100) g;" ||
    { echo "cannot make the table"; exit 99; }

lib_conf "$top_builddir/plugins/postgres/.libs" \
    "control_socket = \"$tmp/dsrcd.sock\";" \
    "jobs = { jitter_max = 0; retry_backoff = \"500ms\"; retry_attempts = 10; };"
# pgsrc NAME PASSWORD SCHEDULE: the source file of NAME on the table
pgsrc() {
    cat >"$tmp/conf/sources.d/$1.conf" <<EOF2
name = "$1";
type = "postgres";
connection = {
    host = "127.0.0.1";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "$PG_USER";
    password = "$2";
    connect_timeout = "2s";
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
pool = { max_size = 2; min_idle = 0; };
schedule = { health = "@every 1h"; };
fetch = ( { item = "public.items"; cursor_field = "id"; schedule = "$3"; } );
EOF2
}
DSRC_PGR_PASSWORD=$PG_PASSWORD
export DSRC_PGR_PASSWORD
pgsrc pg "env:DSRC_PGR_PASSWORD" "@every 3s"

"$DSRCD" -c "$tmp/conf/dsrcd.conf" --foreground --log-target stderr >"$tmp/log" 2>&1 &
pid=$!

# ---- (a) the server stops while the job runs every 3 s ----
until_runs pg 'any(x["state"] == "succeeded" and x["cursor_to"] == "100" for x in r)' &&
    ok || { bad "the first fetch did not succeed"; cat "$tmp/runs.json" "$tmp/log"; }
# (committed synchronously: the fixture's server commits asynchronously,
# and it is about to be stopped in immediate mode)
"$FIXTURE" psql "$pgdir" -c "SET synchronous_commit = on" \
    -c "INSERT INTO items (name) SELECT 'late ' || g FROM generate_series(1, 50) g"
as_pg "$PG_BINDIR/pg_ctl" -D "$PG_DIR/primary" -m immediate -w stop >/dev/null 2>&1 ||
    bad "could not stop the server"
# the next scheduled run fails, then is retried: wait for attempt 4's failure
until_runs pg 'any(x["state"] == "failed" and x["attempt"] >= 4 for x in r)' 150 &&
    ok || { bad "no fourth failed attempt within 30 s"; cat "$tmp/runs.json"; tail -20 "$tmp/log"; }
pg_restart || bad "could not start the server again"
until_runs pg 'any(x["state"] == "succeeded" and x["trigger"] == "retry" for x in r)' 200 &&
    ok || { bad "no retry succeeded within 40 s of the restart"; cat "$tmp/runs.json"; tail -20 "$tmp/log"; }
# one cycle: attempt 1 (schedule) failed, then attempts 2..N (retry), the
# last succeeded; each retry is queued its backoff after the previous
# attempt ended: after attempt k, between 250 * 2^(k-1) ms and twice that
# (equal jitter), give or take 400 ms for a loaded machine
"$PY" - "$tmp/runs.json" >"$tmp/cycle" 2>&1 <<'EOF2'
import datetime, json, sys
def ms(t):
    d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp() * 1000)
runs = json.load(open(sys.argv[1]))[::-1]
start = max(i for i, x in enumerate(runs) if x["state"] == "failed" and x["attempt"] == 1)
cyc = runs[start:]
end = next(i for i, x in enumerate(cyc) if x["state"] == "succeeded")
cyc = cyc[:end + 1]
fails = []
for k, x in enumerate(cyc, 1):
    want = ("schedule" if k == 1 else "retry", k)
    if (x["trigger"], x["attempt"]) != want:
        fails.append("run %d: %s attempt %d, not %s attempt %d" % ((x["id"], x["trigger"], x["attempt"]) + want))
    if k < len(cyc) and (x["state"], x["retryable"]) != ("failed", True):
        fails.append("run %d: %s (%s), retryable %s" % (x["id"], x["state"], x["status"], x["retryable"]))
gaps = [ms(b["queued_at"]) - ms(a["finished_at"]) for a, b in zip(cyc, cyc[1:])]
for k, g in enumerate(gaps, 1):
    lo = 250 * 2 ** (k - 1)
    if g < lo - 20 or g > 2 * lo + 400:
        fails.append("backoff after attempt %d: %d ms, not in [%d, %d]" % (k, g, lo, 2 * lo))
for k in range(len(gaps) - 2):
    if gaps[k + 2] <= gaps[k]:
        fails.append("backoffs do not grow: %r" % gaps)
        break
print("cycle: %s; backoffs %s ms; statuses %s; errors: %s" % (
    " ".join("%s/%d:%s" % (x["trigger"], x["attempt"], x["state"]) for x in cyc), gaps,
    sorted(set(x["status"] for x in cyc if x["status"])),
    sorted(set(x["error"] for x in cyc if x["error"]))[:2]))
for f in fails:
    print("FAIL: " + f)
sys.exit(1 if fails or len(cyc) < 4 else 0)
EOF2
rc=$?
cat "$tmp/cycle"
[ "$rc" -eq 0 ] && ok || { bad "the retries of the cycle are not as they should be"; cat "$tmp/runs.json"; }
# the data: every id once in the committed files, the cursor at the last one
"$PY" - "$tmp/ws/pg/public.items" 150 >"$tmp/data" 2>&1 <<'EOF2'
import csv, os, sys
ws, last = sys.argv[1], int(sys.argv[2])
ids = []
for n in sorted(os.listdir(ws)):
    if n.endswith(".csv") and os.path.exists(os.path.join(ws, n + ".manifest.json")):
        ids += [int(r[0]) for r in list(csv.reader(open(os.path.join(ws, n))))[1:]]
    elif n.startswith(".") and n.endswith(".tmp"):
        pass    # a run writing now (@every 1s); none is left after the stop
    elif not n.endswith(".csv.manifest.json"):
        print("FAIL: unexpected file %s" % n)
        sys.exit(1)
print("%d rows fetched" % len(ids))
sys.exit(0 if sorted(ids) == list(range(1, last + 1)) else 1)
EOF2
[ $? -eq 0 ] && ok || { bad "the committed files do not hold ids 1..150 once each"; cat "$tmp/data"; }
until_runs pg 'r[-1]["state"] == "succeeded"' && [ "$(py "$tmp/runs.json" \
    '[x["cursor_to"] for x in r if x["cursor_to"]][0]')" = 150 ] && ok ||
    { bad "the cursor did not reach 150"; cat "$tmp/runs.json"; }
grep -q "fetch public.items failed: .*(retryable)" "$tmp/log" && ok ||
    { bad "the failures are not logged as retryable"; cat "$tmp/log"; }

# ---- (b) a wrong password: one failed run, held, no retry storm ----
logins0=$(failed_logins)
pgsrc bad "wrong-$PG_PASSWORD" "@every 1s"
kill -HUP "$pid"
until_runs bad 'len(r) >= 1 and r[0]["state"] not in ("queued", "running")' &&
    ok || { bad "the source with a wrong password never ran"; cat "$tmp/runs.json"; tail -20 "$tmp/log"; }
# a few fire times go by: nothing more should happen
sleep 8
dsrc --json runs bad >"$tmp/bad.json" 2>&1
[ "$(py "$tmp/bad.json" 'len(r)')" = 1 ] && ok ||
    { bad "not one run over 8 s at @every 1s"; cat "$tmp/bad.json"; }
[ "$(py "$tmp/bad.json" '(r[0]["state"], r[0]["status"], r[0]["retryable"])')" = \
  "('failed', 'auth', False)" ] && ok || { bad "the run did not fail as auth, not retryable"; cat "$tmp/bad.json"; }
dsrc --json jobs bad >"$tmp/jobs.json" 2>&1
[ "$(py "$tmp/jobs.json" 'r[0]["state"]')" = held ] && ok || { bad "the job is not held"; cat "$tmp/jobs.json"; }
dsrc jobs bad >"$tmp/jobs.txt" 2>&1
has "$tmp/jobs.txt" held
# the server refused dsrcd's logins: the source's first health probe
# (a new source is probed at once, whatever its schedule), which opens the
# breaker until the next probe, and the run's only when it came first
logins=$(($(failed_logins) - logins0))
dsrc --json health bad >"$tmp/health.json" 2>&1
probes=$(py "$tmp/health.json" 'r[0]["endpoints"][0]["samples"]')
opens=$(py "$tmp/health.json" 'r[0]["endpoints"][0]["pool"]["failed_opens"]')
echo "failed logins in the server's log: $logins ($probes health probe(s), the rest runs)"
[ "$logins" -eq "${opens:-x}" ] && [ "$logins" -ge 1 ] && [ $((logins - ${probes:-0})) -le 1 ] && ok ||
    { bad "$logins failed logins: more than one run's and ${probes:-?} probe(s)"; cat "$tmp/health.json"
      grep 'password authentication' "$PG_DIR/log/primary.log"; }
n=$(grep -c "run [0-9]*: \[bad\] fetch public.items failed" "$tmp/log")
[ "$n" -eq 1 ] && ok || { bad "the failure is logged $n times, not once"; cat "$tmp/log"; }

# the password fixed, SIGHUP: released, and a run succeeds
pgsrc bad "env:DSRC_PGR_PASSWORD" "@every 1s"
kill -HUP "$pid"
# (any run: at @every 1s a later run with nothing new may already be the last)
until_runs bad 'any(x["state"] == "succeeded" and x["cursor_to"] == "150" for x in r)' &&
    ok || { bad "no run succeeded after the fix"; cat "$tmp/runs.json"; tail -20 "$tmp/log"; }
dsrc --json jobs bad >"$tmp/jobs.json" 2>&1
[ "$(py "$tmp/jobs.json" 'r[0]["state"] != "held" and r[0]["held"] is None')" = True ] && ok ||
    { bad "the job is still held"; cat "$tmp/jobs.json"; }

grep -qF "$PG_PASSWORD" "$tmp/log" "$tmp/runs.json" "$tmp/bad.json" "$tmp/jobs.json" &&
    bad "password leaked" || ok
kill -TERM "$pid"
n=300
while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
kill -0 "$pid" 2>/dev/null && bad "dsrcd still running 30 s after SIGTERM" ||
    { wait "$pid"; rc=$?; pid=""; [ "$rc" -eq 0 ] && ok || bad "dsrcd exited $rc after SIGTERM"; }
left=$(find "$tmp/ws" -name '.*.tmp' | head -3)
[ -z "$left" ] && ok || bad "temporary files left after the stop: $left"

finish "pg jobs retry"
