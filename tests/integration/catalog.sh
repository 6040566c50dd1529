#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The catalog, end to end on real SQLite files: a 2 000-table catalog
# discovered again and again (100 times, 4 in a sanitizer build) with no
# change gives no drift event and one snapshot; each change made by DDL
# gives exactly one event of the right kind and class; dsrc catalog, drift,
# stats, discover --cached; and on_breaking_change = "pause" holds dsrcd's
# scheduled fetch of the item until dsrc drift ack.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
lib_tmpdir dsrc-catalog
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; }

lib_conf "$top_builddir/plugins/sqlite/.libs" "control_socket = \"$tmp/dsrcd.sock\";"
CONF="$tmp/conf/dsrcd.conf"
DB="$tmp/big.db"
cat >"$tmp/conf/sources.d/big.conf" <<EOF2
name = "big";
type = "sqlite";
connection = { path = "$DB"; };
EOF2

. "$top_srcdir/tests/integration/catalog_lib.sh"
snapshots() { sqlite3 "$tmp/state/dsrc.db" "SELECT COUNT(*) FROM catalog_snapshots WHERE source = '$1'"; }

# ---- 2 000 tables, discovered 100 times (20 under a sanitizer), rows changing ----
/usr/bin/python3 - "$DB" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("BEGIN;" + "".join(
    f"CREATE TABLE t{i:04d} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    f"price NUMERIC(10,2) DEFAULT 0, at TIMESTAMP);" for i in range(2000)) +
    "CREATE VIEW v_all AS SELECT id, name FROM t0000; COMMIT;")
PY
expect 0 "$DSRC" -c "$CONF" discover big
has "$tmp/out" "2001 item(s)"
has "$tmp/out" "catalog changed (snapshot 1)"
for i in 1 2 3 4; do
    sqlite3 "$DB" "INSERT INTO t0001 (name) VALUES ('r$i')"
    no_false_alarm big 25
done
[ "$(snapshots big)" = 1 ] && ok || bad "$(snapshots big) snapshots of an unchanged catalog"
[ "$(sqlite3 "$tmp/state/dsrc.db" "SELECT COUNT(*) FROM catalog_items")" = 2001 ] && ok ||
    bad "items not stored once"

# ---- each change kind by DDL: exactly one event, right kind and class ----
# change DDL KIND CLASS ITEM: run DDL, then expect_change
change() {
    sqlite3 "$DB" "$1" || { bad "DDL failed: $1"; return; }
    expect_change big "$2" "$3" "$4"
}
change "ALTER TABLE t0002 ADD COLUMN extra TEXT" column_added non-breaking main/t0002
change "ALTER TABLE t0003 DROP COLUMN at" column_removed breaking main/t0003
change "CREATE TABLE n (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(10,2) DEFAULT 0, at TEXT);
        DROP TABLE t0004; ALTER TABLE n RENAME TO t0004" column_type_changed breaking main/t0004
change "CREATE TABLE n (id INTEGER PRIMARY KEY, name TEXT, price NUMERIC(10,2) DEFAULT 0, at TIMESTAMP);
        DROP TABLE t0005; ALTER TABLE n RENAME TO t0005" column_nullability_changed non-breaking main/t0005
change "CREATE TABLE n (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(10,2) DEFAULT 1, at TIMESTAMP);
        DROP TABLE t0006; ALTER TABLE n RENAME TO t0006" column_default_changed non-breaking main/t0006
change "CREATE TABLE n (id INTEGER NOT NULL, name TEXT NOT NULL, price NUMERIC(10,2) DEFAULT 0, at TIMESTAMP, PRIMARY KEY (id, name));
        DROP TABLE t0007; ALTER TABLE n RENAME TO t0007" primary_key_changed breaking main/t0007
change "CREATE TABLE n (id INTEGER PRIMARY KEY REFERENCES t0000 (id) ON DELETE CASCADE, name TEXT NOT NULL, price NUMERIC(10,2) DEFAULT 0, at TIMESTAMP);
        DROP TABLE t0009; ALTER TABLE n RENAME TO t0009" foreign_key_added non-breaking main/t0009
change "CREATE TABLE n (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(10,2) DEFAULT 0, at TIMESTAMP);
        DROP TABLE t0009; ALTER TABLE n RENAME TO t0009" foreign_key_removed non-breaking main/t0009
change "DROP TABLE t0008" item_removed breaking main/t0008
change "CREATE TABLE fresh (x INTEGER)" item_added non-breaking main/fresh
sqlite3 "$DB" "CREATE TABLE src (x INTEGER, y TEXT); CREATE TABLE swap (x INTEGER, y TEXT)"
expect 0 "$DSRC" -c "$CONF" discover big
change "DROP TABLE swap; CREATE VIEW swap AS SELECT x, y FROM src" item_kind_changed non-breaking main/swap
# breaking first
jfield "$tmp/drift.json" '",".join(e["class"] for e in j)' >"$tmp/classes"
grep -q '^\(breaking,\)*\(non-breaking,\?\)*$' "$tmp/classes" && ok || bad "not breaking first: $(cat "$tmp/classes")"
expect 0 "$DSRC" -c "$CONF" drift big --since 1h
has "$tmp/out" "column_type_changed"
expect 0 "$DSRC" -c "$CONF" drift big --since 2030-01-01
has "$tmp/out" "no schema drift recorded for big"
expect 2 "$DSRC" -c "$CONF" drift big --since yesterday
has "$tmp/err" "--since needs a time"

# ---- the stored catalog ----
expect 0 "$DSRC" -c "$CONF" catalog big main/t0004
has "$tmp/out" "main/t0004 (table)"
has "$tmp/out" "TEXT"
expect 0 "$DSRC" -c "$CONF" --json catalog big main/t0004 --snapshot 1
[ "$(jfield "$tmp/out" 'j["item"]["columns"][3]["type"]')" = TIMESTAMP ] && ok || bad "snapshot 1 lost"
expect 1 "$DSRC" -c "$CONF" catalog big main/nope
has "$tmp/err" "no item 'main/nope'"
expect 1 "$DSRC" -c "$CONF" catalog nosuch
has "$tmp/err" "no stored catalog of nosuch"
expect 1 "$DSRC" -c "$CONF" catalog big --snapshot 999
expect 2 "$DSRC" -c "$CONF" catalog big --snapshot 1 --at 1h
expect 0 "$DSRC" -c "$CONF" --json catalog --search extra
[ "$(jfield "$tmp/out" '[(h["item"], h["column"]) for h in j]')" = "[('main/t0002', 'extra')]" ] &&
    ok || bad "search: $(cat "$tmp/out")"
expect 0 "$DSRC" -c "$CONF" --json stats big
[ "$(jfield "$tmp/out" '(j["tables"], j["views"], j["changes_30d"])')" = "(2001, 2, $(events big))" ] &&
    ok || bad "stats: $(cat "$tmp/out")"
expect 0 "$DSRC" -c "$CONF" stats big
has "$tmp/out" "last discover"

# ---- discover --cached: only when the live one fails, and says so ----
mv "$DB" "$DB.away"
expect 1 "$DSRC" -c "$CONF" discover big
expect 0 "$DSRC" -c "$CONF" discover big --cached
has "$tmp/err" "answering from the stored catalog: snapshot"
has "$tmp/out" "main/t0004"
expect 0 "$DSRC" -c "$CONF" --json discover big --cached
[ "$(jfield "$tmp/out" 'len(j)')" = 2003 ] && ok || bad "cached JSON: $(head -c 300 "$tmp/out")"
mv "$DB.away" "$DB"
expect 2 "$DSRC" -c "$CONF" discover big main --cached

# ---- bad settings: named with file and line ----
cp "$CONF" "$tmp/conf.bak"
echo 'catalog = { retention = "10s"; keep = 1; };' >>"$CONF"
printf 'name = "bad";\ntype = "sqlite";\nconnection = { path = "%s"; };\nfetch = ( { item = "main/t"; on_breaking_change = "stop"; } );\n' \
    "$DB" >"$tmp/conf/sources.d/bad.conf"
expect 78 "$DSRC" -c "$CONF" check-config
has "$tmp/err" "dsrcd.conf:6: error: 'retention' must be at least 1m"
has "$tmp/err" "unknown setting 'keep' in group 'catalog'"
has "$tmp/err" "bad.conf:4: error: 'on_breaking_change' must be one of continue, pause (got 'stop')"
cp "$tmp/conf.bak" "$CONF"
rm "$tmp/conf/sources.d/bad.conf"

# ---- on_breaking_change = "pause", with dsrcd ----
P="$tmp/p.db"
sqlite3 "$P" "CREATE TABLE p (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO p VALUES (1, 'a');"
cat >"$tmp/conf/sources.d/p.conf" <<EOF2
name = "p";
type = "sqlite";
connection = { path = "$P"; };
schedule = { discover = "@every 1s"; };
fetch = ( { item = "main/p"; schedule = "@every 1s"; on_breaking_change = "pause"; } );
EOF2
fetched() { sqlite3 "$tmp/state/dsrc.db" "SELECT COUNT(*) FROM runs WHERE source = 'p' AND kind = 'fetch' AND state = '$1'"; }
# wait_sql SQL VALUE: until the store answers VALUE (20 s)
wait_n() { n=200; while [ "$($1 "$2")" -lt "$3" ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done; [ $n -gt 0 ]; }
"$DSRCD" -c "$CONF" --foreground --log-target stderr >"$tmp/log" 2>&1 &
pid=$!
wait_n fetched succeeded 2 && ok || { bad "no scheduled fetch ran"; tail "$tmp/log"; }
[ "$(snapshots p)" -ge 1 ] && ok || bad "dsrcd's discover stored no snapshot"
sqlite3 "$P" "ALTER TABLE p DROP COLUMN v"
wait_n fetched cancelled 1 && ok || { bad "the fetch was not paused"; tail "$tmp/log"; }
sqlite3 "$tmp/state/dsrc.db" "SELECT error FROM runs WHERE source = 'p' AND state = 'cancelled'" >"$tmp/why"
has "$tmp/why" "not run: paused after a breaking schema change (column_removed v"
has "$tmp/why" "dsrc drift ack p main/p"
has "$tmp/log" "schema drift (breaking): column_removed main/p column v"
before=$(fetched succeeded)
sleep 2.5
[ "$(fetched succeeded)" -le $((before + 1)) ] && ok || bad "fetches ran while paused"
expect 0 "$DSRC" -c "$CONF" drift ack p main/p
has "$tmp/out" "1 breaking change(s) acknowledged"
after=$(fetched succeeded)
wait_n fetched succeeded $((after + 2)) && ok || { bad "ack did not resume the fetch"; tail "$tmp/log"; }
expect 1 "$DSRC" -c "$CONF" drift ack p main/other
has "$tmp/err" "no drift event of item 'main/other'"
kill "$pid"; wait "$pid"; pid=

finish catalog
