#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Adaptive discovery on a real SQLite source: schedule.discover_mode
# (checked with file and line), the mode dsrc discover uses and prints,
# one `discoveries` row per discover (by dsrc discover, failed or not, and
# by dsrcd's schedule) with its items, queries, retries, errors and mode,
# and dsrc stats showing the last one; with the fault test plugin, a
# conservative scheduled discover that hangs is given twice the stall
# timeout, and its retry is recorded as one.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
FAULT="$top_builddir/tests/fixtures/plugins/.libs/fault.so"
[ -f "$FAULT" ] || { echo "fault.so not built (needs Check)"; exit 77; }
lib_tmpdir dsrc-discovery
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; }

mkdir -p "$tmp/plugins"
ln -s "$top_builddir/plugins/sqlite/.libs/sqlite.so" "$tmp/plugins/sqlite.so"
ln -s "$FAULT" "$tmp/plugins/fault.so"
lib_conf "$tmp/plugins" "control_socket = \"$tmp/dsrcd.sock\";"
CONF="$tmp/conf/dsrcd.conf"
DB="$tmp/s.db"
sqlite3 "$DB" "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE b (x INTEGER);
               CREATE VIEW c AS SELECT id FROM a;"
cat >"$tmp/conf/sources.d/s.conf" <<EOF2
name = "s";
type = "sqlite";
connection = { path = "$DB"; };
schedule = { discover_mode = "conservative"; };
EOF2
. "$top_srcdir/tests/integration/catalog_lib.sh"
# rows SOURCE COLUMNS: the columns of the source's discoveries, oldest first
rows() { sqlite3 -separator ' ' "$tmp/state/dsrc.db" "SELECT $2 FROM discoveries WHERE source = '$1' ORDER BY id"; }

# ---- a bad mode: an error naming the file and line ----
printf 'name = "bad";\ntype = "sqlite";\nconnection = { path = "%s"; };\nschedule = {\n  discover_mode = "gentle";\n};\n' \
    "$DB" >"$tmp/conf/sources.d/bad.conf"
expect 78 "$DSRC" -c "$CONF" check-config
has "$tmp/err" "bad.conf:5: error: 'discover_mode' must be one of adaptive, balanced, conservative, aggressive (got 'gentle')"
rm "$tmp/conf/sources.d/bad.conf"

# ---- dsrc discover: the configured mode, printed and recorded ----
expect 0 "$DSRC" -c "$CONF" discover s
has "$tmp/out" "3 item(s) in "
has "$tmp/out" ", mode conservative"
[ "$(rows s 'COUNT(*)')" = 1 ] && ok || bad "$(rows s 'COUNT(*)') discoveries rows after one discover"
rows s "items, queries > 0, retries, errors, mode, result, run_id IS NULL, duration_ms >= 0" >"$tmp/row"
[ "$(cat "$tmp/row")" = "3 1 0 0 conservative ok 1 1" ] && ok || bad "row: $(cat "$tmp/row")"
# the queries recorded are those printed
q=$(rows s queries)
has "$tmp/out" "in $q quer"

# ---- dsrc stats: the last discover ----
expect 0 "$DSRC" -c "$CONF" --json stats s
[ "$(jfield "$tmp/out" '(j["items"], j["last_discovery"]["items"], j["last_discovery"]["queries"], j["last_discovery"]["retries"], j["last_discovery"]["errors"], j["last_discovery"]["mode"], j["last_discovery"]["result"], j["last_discovery"]["run_id"], j["last_discovery"]["duration_ms"] >= 0)')" = \
  "(3, 3, $q, 0, 0, 'conservative', 'ok', None, True)" ] && ok || bad "stats: $(cat "$tmp/out")"
expect 0 "$DSRC" -c "$CONF" stats s
has "$tmp/out" "discover mode   conservative (ok)"
has "$tmp/out" "queries         $q"
has "$tmp/out" "retries         0"
has "$tmp/out" "errors          0"

# ---- adaptive (the default) in a fresh dsrc process: balanced ----
sed -i '/discover_mode/d' "$tmp/conf/sources.d/s.conf"
expect 0 "$DSRC" -c "$CONF" discover s
has "$tmp/out" ", mode balanced"
# a discover of one schema is no catalog: not recorded
expect 0 "$DSRC" -c "$CONF" discover s main
[ "$(rows s 'COUNT(*)')" = 2 ] && ok || bad "$(rows s 'COUNT(*)') rows after two discovers of the source"

# ---- a failed discover is recorded too ----
mv "$DB" "$DB.away"
expect 1 "$DSRC" -c "$CONF" discover s
mv "$DB.away" "$DB"
rows s "errors, result != 'ok', mode" | tail -n 1 >"$tmp/row"
[ "$(cat "$tmp/row")" = "1 1 balanced" ] && ok || bad "failed row: $(cat "$tmp/row")"
expect 0 "$DSRC" -c "$CONF" --json stats s
[ "$(jfield "$tmp/out" '(j["last_discovery"]["errors"], j["last_discovery"]["result"] != "ok")')" = "(1, True)" ] &&
    ok || bad "stats after a failure: $(cat "$tmp/out")"

# ---- dsrcd's scheduled discover: one row per run, with its run ----
cat >>"$tmp/conf/sources.d/s.conf" <<EOF2
schedule = { discover = "@every 1s"; discover_mode = "aggressive"; };
EOF2
"$DSRCD" -c "$CONF" --foreground --log-target stderr >"$tmp/log" 2>&1 &
pid=$!
n=200
while [ "$(rows s 'COUNT(*)')" -lt 5 ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
kill "$pid"; wait "$pid"; pid=
rows s "items, queries > 0, retries, errors, mode, result, run_id IS NOT NULL" | sed -n 5p >"$tmp/row"
[ "$(cat "$tmp/row")" = "3 1 0 0 aggressive ok 1" ] && ok || { bad "scheduled row: $(cat "$tmp/row")"; tail "$tmp/log"; }
[ "$(sqlite3 "$tmp/state/dsrc.db" "SELECT COUNT(*) FROM discoveries d JOIN runs r ON r.id = d.run_id WHERE r.kind = 'discover' AND r.state = 'succeeded' AND r.rows = d.items")" -ge 2 ] &&
    ok || bad "rows not tied to their runs"

# ---- a conservative scheduled discover that hangs: twice the stall
# timeout, retried once (the retry's row says so) ----
rm "$tmp/conf/sources.d/s.conf"
echo 'jobs = { stall_timeout = "1s"; retry_backoff = "200ms"; retry_attempts = 2; jitter_max = 0; };' >>"$CONF"
cat >"$tmp/conf/sources.d/h.conf" <<EOF2
name = "h";
type = "fault";
connection = { host = "h"; hang = "discover"; };
schedule = { discover = "@every 2s"; discover_mode = "conservative"; };
EOF2
"$DSRCD" -c "$CONF" --foreground --log-target stderr >"$tmp/log" 2>&1 &
pid=$!
n=200
while [ "$(rows h 'COUNT(*)')" -lt 2 ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
kill "$pid"; wait "$pid"; pid=
rows h "items, queries, retries, errors, mode, result, run_id IS NOT NULL" | head -n 2 >"$tmp/rows"
printf '0 -1 0 1 conservative timeout 1\n0 -1 1 1 conservative timeout 1\n' >"$tmp/want"
same "$tmp/want" "$tmp/rows" || { cat "$tmp/rows"; tail "$tmp/log"; }
has "$tmp/log" "discover: no progress for 2000 ms; cancelling it"
sqlite3 "$tmp/state/dsrc.db" "SELECT DISTINCT error FROM runs WHERE source = 'h' AND state = 'failed'" >"$tmp/why"
has "$tmp/why" "stalled: no rows or bytes for 2000 ms; cancelled"

finish discovery
