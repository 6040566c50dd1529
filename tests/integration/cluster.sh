#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Two dsrcd sharing one state store and one workspace as two nodes of a
# cluster (node_name a and b, one state_dir on this machine: the embedded
# SQLite store; shared_workspace = true), with sqlite sources whose tables
# grow while both fetch them incrementally @every 2s:
#  1. both nodes beat: dsrc nodes (table and JSON) lists a and b, live,
#     with their leases; a third daemon named like a live node is refused;
#  2. one node is killed with SIGKILL and started again, in turn, several
#     times while rows keep coming;
#  3. at the end every row is in exactly one committed file, no job's slot
#     has two runs (each run made and run by one node), every run records
#     the node that ran it (its owner begins with it), both nodes ran
#     fetches, and the manifests record the node that wrote them.
# Every wait polls for what the store, the log or the files say; no sleep
# is an assertion.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
top_builddir=$(cd "$top_builddir" && pwd)
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
SQLITE_DIR="$top_builddir/plugins/sqlite/.libs"
[ -f "$SQLITE_DIR/sqlite.so" ] || { echo "sqlite.so not built"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
command -v sqlite3 >/dev/null || { echo "sqlite3 missing"; exit 77; }
lib_tmpdir dsrc-cluster
pida= pidb= ipid=
cleanup() {
    [ -n "$pida" ] && kill -KILL "$pida" 2>/dev/null
    [ -n "$pidb" ] && kill -KILL "$pidb" 2>/dev/null
    [ -n "$ipid" ] && kill "$ipid" 2>/dev/null
}
mkdir -p "$tmp/plugins" "$tmp/sources.d" "$tmp/data"
ln -s "$SQLITE_DIR/sqlite.so" "$tmp/plugins/sqlite.so"
NSRC=5

# One daemon file per node: the same state, workspace and sources, its own
# name, socket and log.
for n in a b c; do
    cat >"$tmp/$n.conf" <<EOF
plugin_dir = "$tmp/plugins";
state_dir = "$tmp/state";
workspace = "$tmp/ws";
sources_dir = "$tmp/sources.d";
control_socket = "$tmp/$n.sock";
node_name = "$n";
shared_workspace = true;
jobs = { jitter_max = 0; };
EOF
done
# the third file names itself "a" too: refused while a runs
sed -i 's/node_name = "c";/node_name = "a";/' "$tmp/c.conf"
i=1
while [ $i -le $NSRC ]; do
    sqlite3 "$tmp/data/s$i.db" "PRAGMA journal_mode=WAL;
CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES ('r1'), ('r2');" >/dev/null
    cat >"$tmp/sources.d/s$i.conf" <<EOF
name = "s$i";
type = "sqlite";
connection = { path = "$tmp/data/s$i.db"; };
fetch = ( { item = "t"; cursor_field = "id"; schedule = "@every 2s"; } );
EOF
    i=$((i + 1))
done

D() { n=$1; shift; "$DSRC" -c "$tmp/$n.conf" "$@"; }
# start N: dsrcd of node N, its log appended to $tmp/N.log; waits until it
# answers.  Its pid in $pida or $pidb.
start() {
    "$DSRCD" -c "$tmp/$1.conf" --foreground --log-target stderr --log-level debug \
        >>"$tmp/$1.log" 2>&1 &
    eval "pid$1=$!"
    k=300
    until D "$1" jobs >/dev/null 2>&1 || [ $k -eq 0 ]; do sleep 0.1; k=$((k - 1)); done
    D "$1" jobs >/dev/null 2>&1 || { echo "dsrcd $1 does not answer"; cat "$tmp/$1.log"; exit 99; }
}
# kill9 N: SIGKILL node N and reap it.
kill9() {
    eval "p=\$pid$1"
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    eval "pid$1="
}
# stop N: SIGTERM node N, at most 30 s; $rc is its status.
stop() {
    eval "p=\$pid$1"
    kill -TERM "$p"
    k=300
    while kill -0 "$p" 2>/dev/null && [ $k -gt 0 ]; do sleep 0.1; k=$((k - 1)); done
    kill -0 "$p" 2>/dev/null && { bad "dsrcd $1 still running 30 s after SIGTERM"; kill -KILL "$p"; }
    wait "$p"
    rc=$?
    eval "pid$1="
}
poll() {
    k=150
    until eval "$1"; do
        [ $k -eq 0 ] && return 1
        sleep 0.2; k=$((k - 1))
    done
}
py() {
    /usr/bin/python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}
q() { D "$1" --json runs --limit 100000 >"$tmp/runs.json" 2>/dev/null; py "$tmp/runs.json" "$2"; }

# ---------------------------------------------------------------------------
# 1. Two nodes beat; a third with a live node's name is refused.
start a
start b
poll '[ "$(D a --json nodes 2>/dev/null | /usr/bin/python3 -c "import json,sys; print(sorted(n[\"name\"] for n in json.load(sys.stdin) if n[\"live\"]))")" = "['"'"'a'"'"', '"'"'b'"'"']" ]' &&
    ok || { bad "dsrc nodes does not list a and b live"; D a --json nodes; }
expect 0 D b nodes
grep -Eq '^a +yes ' "$tmp/out" && grep -Eq '^b +yes ' "$tmp/out" && ok ||
    { bad "dsrc nodes: no live rows for a and b"; cat "$tmp/out"; }
"$DSRCD" -c "$tmp/c.conf" --foreground --log-target stderr >"$tmp/c.log" 2>&1
rc=$?
[ "$rc" -eq 75 ] && grep -q "dsrcd.a.pid" "$tmp/c.log" && ok ||
    { bad "a second node named a was not refused (exit $rc)"; cat "$tmp/c.log"; }

# ---------------------------------------------------------------------------
# 2. Rows keep coming; the nodes are killed and started again in turn.
(
    j=3
    while [ $j -le 60 ]; do
        s=1
        while [ $s -le $NSRC ]; do
            sqlite3 "$tmp/data/s$s.db" "INSERT INTO t(v) VALUES ('r$j');" 2>/dev/null || exit 1
            s=$((s + 1))
        done
        sleep 0.4
        j=$((j + 1))
    done
) &
ipid=$!
round=0
for victim in a b a b; do
    round=$((round + 1))
    # both run fetches before each kill
    before=$(q a 'sum(1 for x in r if x["state"] == "succeeded")')
    poll '[ "$(q a "sum(1 for x in r if x[\"state\"] == \"succeeded\")")" -ge $((before + 3)) ]' ||
        bad "round $round: no fetches succeed"
    sleep 0.$(( (round * 37) % 9 + 1 ))
    kill9 "$victim"
    sleep 1
    start "$victim"
done
wait "$ipid"
ipid=
# one more run of every item after the last insert
last=$(q a 'max(x["id"] for x in r)')
drained() {
    [ "$(q a "len(set(x[\"source\"] for x in r if x[\"state\"] == \"succeeded\" and x[\"id\"] > $last))")" -ge $NSRC ]
}
poll drained && ok || { bad "not every source fetched after the inserts"; cat "$tmp/runs.json"; }
stop a
[ "$rc" -eq 0 ] && ok || bad "dsrcd a exited $rc on SIGTERM"
stop b
[ "$rc" -eq 0 ] && ok || bad "dsrcd b exited $rc on SIGTERM"

# ---------------------------------------------------------------------------
# 3. Every row in exactly one committed file; each slot run once, by one
#    node; both nodes worked; manifests name their node.
D a --json runs --limit 100000 >"$tmp/runs.json" || bad "dsrc runs"
msg=$(/usr/bin/python3 - "$tmp/ws" "$tmp/data" "$tmp/runs.json" "$NSRC" <<'PY'
import csv, json, os, sqlite3, sys
ws, data, runs, nsrc = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
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
                m = json.load(open(p))
                run = [x for x in r if x["file"] == p[:-len(".manifest.json")]][0]
                if m.get("node") != run["node"]:
                    print("manifest", p, "node", m.get("node"), "run node", run["node"])
        elif not f.endswith(".tmp"):
            found.add(p)
if found != committed:
    print("files not committed:", sorted(found - committed)[:5],
          "committed but missing:", sorted(committed - found)[:5])
for s in range(1, nsrc + 1):
    ids = []
    for f in sorted(committed & found):
        if "/s%d/" % s not in f:
            continue
        with open(f, newline="") as fp:
            ids += [int(row[0]) for row in list(csv.reader(fp))[1:]]
    want = [i for (i,) in sqlite3.connect(os.path.join(data, "s%d.db" % s)).execute(
        "SELECT id FROM t ORDER BY id")]
    if sorted(ids) != want:
        dup = sorted({i for i in ids if ids.count(i) > 1})
        print("s%d: rows %d in files, %d in the table; duplicated %s, missing %s"
              % (s, len(ids), len(want), dup[:10], sorted(set(want) - set(ids))[:10]))
for x in r:
    if x["state"] in ("succeeded", "failed") and x["started_at"]:
        if x["node"] not in ("a", "b") or not (x["owner"] or "").startswith(x["node"] + "/"):
            print("run", x["id"], "node", x["node"], "owner", x["owner"])
nodes = {x["node"] for x in r if x["state"] == "succeeded"}
if nodes != {"a", "b"}:
    print("succeeded runs on nodes", sorted(nodes))
PY
)
[ -z "$msg" ] && ok || bad "rows, files and runs: $msg"
# one run per job, slot and attempt (the store's unique key), whoever made it
dups=$(sqlite3 "$tmp/state/dsrc.db" "SELECT count(*) FROM (SELECT job, slot, attempt FROM runs
WHERE job IS NOT NULL GROUP BY job, slot, attempt HAVING count(*) > 1)")
slots=$(sqlite3 "$tmp/state/dsrc.db" "SELECT count(*) FROM runs WHERE job IS NOT NULL")
[ "$dups" -eq 0 ] && [ "$slots" -gt 10 ] && ok || bad "slots with two runs: $dups (of $slots)"
# both nodes took slots the other computed too: each logs slots it left
grep -q "its run is another node's" "$tmp/a.log" && grep -q "its run is another node's" "$tmp/b.log" &&
    ok || bad "a node never found a slot taken by the other"
# the dead node's runs were resolved, nothing left open
[ "$(sqlite3 "$tmp/state/dsrc.db" "SELECT count(*) FROM runs WHERE state IN ('queued', 'running')")" -eq 0 ] &&
    ok || bad "runs left open"
finish cluster
