#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Three dsrcd on loopback as one cluster: one PostgreSQL state store
# (state_store, schema "dsrc_store" of the fixture's database) and one
# workspace directory (shared_workspace = true), 50 sources -- tables
# t1..t50 of the same server, each growing all the time -- fetched
# incrementally "@every 2s" by every node.  Nodes are killed with SIGKILL
# and started again at random 10 times, and the server (the store's and
# the sources') is restarted once.  Then the inserts stop, the nodes run
# until every table's last row is fetched and are stopped.
# Asserted: every row of every table is in exactly one committed file (a
# data file with its manifest, named by a succeeded run); no job, slot and
# attempt has two runs and each run ran on one node (its owner begins with
# its node); no run is left queued or running; each of the three nodes ran
# fetches; the manifests name the node of their run; dsrc nodes lists the
# three nodes.  Skipped (77) when no PostgreSQL server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
top_builddir=$(cd "$top_builddir" && pwd)
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "python3 missing"; exit 77; }
NSRC=50
NODES="n1 n2 n3"
lib_tmpdir dsrc-pgcluster
pgdir="" ipid="" pid_n1="" pid_n2="" pid_n3=""
cleanup() {
    : >"$tmp/stop"
    for n in $NODES; do
        eval "p=\$pid_$n"
        [ -n "$p" ] && kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    [ -n "$ipid" ] && kill "$ipid" 2>/dev/null && wait "$ipid" 2>/dev/null
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
}
psql_q() { "$FIXTURE" psql "$pgdir" -At -c "$1"; }
# rnd LO HI: $r, a random number between LO and HI (from $seed)
rnd() {
    r=$(awk -v s="$seed" -v lo="$1" -v hi="$2" \
        'BEGIN { srand(s); printf "%d %.3f\n", int(rand() * 2147483647), lo + rand() * (hi - lo) }')
    seed=${r% *}
    r=${r#* }
}

pg_start --no-replica
# 3 nodes x 50 sources: more connections than the fixture's 40
psql_q "ALTER SYSTEM SET max_connections = 300" >/dev/null || { echo "cannot raise max_connections"; exit 99; }
pg_as_server "$PG_BINDIR/pg_ctl" -D "$PG_DIR/primary" -m fast -w stop >/dev/null 2>&1
pg_restart || { echo "the server did not start again"; exit 99; }
i=1
sql="CREATE SCHEMA dsrc_store AUTHORIZATION $PG_USER;"
while [ $i -le $NSRC ]; do
    sql="$sql CREATE TABLE t$i (id serial PRIMARY KEY, v text NOT NULL);
GRANT SELECT ON t$i TO $PG_USER; INSERT INTO t$i (v) VALUES ('a'), ('b');"
    i=$((i + 1))
done
psql_q "$sql" >/dev/null || { echo "cannot make the tables"; exit 99; }
DSRC_PGC_PASSWORD=$PG_PASSWORD
export DSRC_PGC_PASSWORD

# The nodes: the same sources, store and workspace; each its name, state
# directory, socket and log.
mkdir -p "$tmp/sources.d" "$tmp/ws"
for n in $NODES; do
    mkdir -p "$tmp/$n"
    cat >"$tmp/$n/dsrcd.conf" <<EOF
plugin_dir = "$top_builddir/plugins/postgres/.libs";
state_dir = "$tmp/$n/state";
workspace = "$tmp/ws";
shared_workspace = true;
node_name = "$n";
sources_dir = "$tmp/sources.d";
control_socket = "$tmp/$n/dsrcd.sock";
shutdown_grace = "5s";
state_store = {
    url = "postgresql://$PG_USER@localhost:$PG_PORT/$PG_DATABASE";
    password = "env:DSRC_PGC_PASSWORD";
    schema = "dsrc_store";
    tls = { mode = "verify-full"; ca = "$PG_CA"; };
};
jobs = { jitter_max = 0; retry_backoff = "200ms"; workers = 6; per_source = 1; };
EOF
done
i=1
while [ $i -le $NSRC ]; do
    cat >"$tmp/sources.d/s$i.conf" <<EOF
name = "s$i";
type = "postgres";
connection = {
    host = "localhost";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "$PG_USER";
    password = "env:DSRC_PGC_PASSWORD";
    connect_timeout = "5s";
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
pool = { max_size = 1; min_idle = 0; idle_timeout = "5s"; };
schedule = { health = "@every 1h"; };
fetch = ( { item = "public.t$i"; cursor_field = "id"; schedule = "@every 2s"; } );
EOF
    i=$((i + 1))
done

D() { n=$1; shift; "$DSRC" -c "$tmp/$n/dsrcd.conf" "$@"; }
start() {
    "$DSRCD" -c "$tmp/$1/dsrcd.conf" --foreground --log-target stderr >>"$tmp/$1/log" 2>&1 &
    eval "pid_$1=$!"
}
kill9() {
    eval "p=\$pid_$1"
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    eval "pid_$1="
}
# inserts: one psql session, rows into random tables (ids commit in order
# per table), until $tmp/stop or $tmp/pause exists
inserts() {
    rm -f "$tmp/pause"
    (
        k=0
        while [ ! -e "$tmp/stop" ] && [ ! -e "$tmp/pause" ] && [ $k -lt 20000 ]; do
            t=$(( (k * 7919) % NSRC + 1 ))
            echo "INSERT INTO t$t (v) SELECT md5(random()::text) FROM generate_series(1, 3);"
            sleep 0.03
            k=$((k + 1))
        done
    ) | "$FIXTURE" psql "$pgdir" >>"$tmp/inserts.log" 2>&1 &
    ipid=$!
}
pause_inserts() {
    : >"$tmp/pause"
    wait "$ipid"
    ipid=""
}

for n in $NODES; do start "$n"; done
inserts
seed=$(date +%s%N | cut -c6-15)
echo "random seed $seed"
k=1
while [ $k -le 10 ]; do
    rnd 2 6
    sleep "$r"
    rnd 0 3
    victim=n$(( ${r%.*} % 3 + 1 ))
    kill9 "$victim"
    echo "kill $k: $victim"
    if [ $k -eq 5 ]; then
        # the store's server restarts while the nodes work
        pause_inserts
        pg_as_server "$PG_BINDIR/pg_ctl" -D "$PG_DIR/primary" -m fast -w stop >/dev/null 2>&1
        sleep 1
        pg_restart || { bad "the server did not start again"; exit 99; }
        echo "server restarted"
        inserts
    fi
    rnd 0.2 2
    sleep "$r"
    start "$victim"
    k=$((k + 1))
done
# the inserts stop; the nodes run until every table's last row is fetched
: >"$tmp/stop"
wait "$ipid"
ipid=""
lasts=$(psql_q "SELECT string_agg('s' || n || '=' || m, ' ') FROM (
$(i=1; while [ $i -le $NSRC ]; do [ $i -gt 1 ] && echo "UNION ALL"; echo "SELECT $i AS n, max(id) AS m FROM t$i"; i=$((i + 1)); done)) x")
covered() {
    psql_q "SELECT count(*) FROM dsrc_store.runs WHERE state = 'succeeded' AND cursor_to IS NOT NULL
            AND (source || '=' || cursor_to) = ANY (string_to_array('$lasts', ' '))" \
        2>/dev/null
}
n=120
while [ "$(covered)" != "$NSRC" ] && [ $n -gt 0 ]; do sleep 1; n=$((n - 1)); done
if [ "$(covered)" = "$NSRC" ]; then
    ok
else
    bad "not every table's last row was fetched within 120 s ($(covered) of $NSRC)"
    for n in $NODES; do echo "--- $n"; grep -v ' debug: ' "$tmp/$n/log" | tail -15; done
fi
D n1 nodes >"$tmp/nodes.out" 2>&1
for n in $NODES; do
    grep -Eq "^$n +yes " "$tmp/nodes.out" && ok || { bad "dsrc nodes: $n not live"; cat "$tmp/nodes.out"; }
done
for n in $NODES; do
    eval "p=\$pid_$n"
    kill -TERM "$p"
done
for n in $NODES; do
    eval "p=\$pid_$n"
    w=300
    while kill -0 "$p" 2>/dev/null && [ $w -gt 0 ]; do sleep 0.1; w=$((w - 1)); done
    wait "$p"
    rc=$?
    eval "pid_$n="
    [ "$rc" -eq 0 ] && ok || { bad "dsrcd $n exited $rc after SIGTERM"; tail -20 "$tmp/$n/log"; }
done

# The store and the files as the nodes left them.
psql_q "COPY (SELECT id, source, state, node, owner, job, slot, attempt, file FROM dsrc_store.runs
        ORDER BY id) TO STDOUT WITH (FORMAT csv)" >"$tmp/runs.csv" || bad "cannot read the runs"
i=1
: >"$tmp/rows.csv"
while [ $i -le $NSRC ]; do
    psql_q "COPY (SELECT 's$i', id FROM t$i) TO STDOUT WITH (FORMAT csv)" >>"$tmp/rows.csv"
    i=$((i + 1))
done
"$PY" - "$tmp/runs.csv" "$tmp/rows.csv" "$tmp/ws" >"$tmp/check" 2>&1 <<'EOF2'
import collections, csv, json, os, sys
runs = list(csv.reader(open(sys.argv[1])))
rows = collections.defaultdict(list)
for s, i in csv.reader(open(sys.argv[2])):
    rows[s].append(int(i))
ws = sys.argv[3]
fails = []
open_runs = [r[0] for r in runs if r[2] in ("queued", "running")]
if open_runs:
    fails.append("runs left open: %r" % open_runs[:10])
keys = collections.Counter((r[5], r[6], r[7]) for r in runs if r[5])
dup = [k for k, c in keys.items() if c > 1]
if dup:
    fails.append("job slots with more than one run: %r" % dup[:5])
for r in runs:
    if r[2] in ("succeeded", "failed") and r[4] and not r[4].startswith(r[3] + "/"):
        fails.append("run %s: node %s, owner %s" % (r[0], r[3], r[4]))
by_node = collections.Counter(r[3] for r in runs if r[2] == "succeeded")
if set(by_node) != {"n1", "n2", "n3"}:
    fails.append("succeeded runs by node: %r" % dict(by_node))
succeeded = {r[8]: r for r in runs if r[2] == "succeeded" and r[8]}
seen = collections.defaultdict(list)
for top, dirs, files in os.walk(ws):
    for f in files:
        p = os.path.join(top, f)
        if f.endswith(".manifest.json"):
            d = p[:-len(".manifest.json")]
            if d not in succeeded:
                fails.append("manifest of no succeeded run: %s" % p)
            elif json.load(open(p)).get("node") != succeeded[d][3]:
                fails.append("manifest %s does not name node %s" % (p, succeeded[d][3]))
        elif f.endswith(".tmp"):
            continue
        elif p not in succeeded:
            fails.append("data file of no succeeded run: %s" % p)
        else:
            src = succeeded[p][1]
            seen[src] += [int(x[0]) for x in list(csv.reader(open(p, newline="")))[1:]]
for s, want in rows.items():
    got = seen.get(s, [])
    if sorted(got) != sorted(want):
        c = collections.Counter(got)
        fails.append("%s: %d rows in files, %d in the table; twice %r; missing %r"
                     % (s, len(got), len(want), [i for i in c if c[i] > 1][:5],
                        sorted(set(want) - set(got))[:5]))
print("runs by node: %r, rows %d" % (dict(by_node), sum(len(v) for v in rows.values())))
for f in fails:
    print("FAIL: " + f)
EOF2
cat "$tmp/check"
grep -q '^FAIL' "$tmp/check" && bad "rows, files and runs" || ok
finish pg_cluster
