#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The dsrc command line end to end on a real SQLite database: exit codes,
# output formats, durable files with manifests, incremental cursors.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
lib_tmpdir dsrc-cli


command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing"; exit 99; }
sqlite3 "$tmp/shop.db" <<'SQL'
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, updated_at TIMESTAMP);
INSERT INTO customers VALUES (1,'Ann','ann@example.org','2024-01-01T10:00:00Z'),
 (2,'Bob, Jr.',NULL,'2024-01-02T10:00:00Z'), (3,'Cé "quoted"','',  '2024-01-03T10:00:00Z');
CREATE TABLE "odd name"(k INTEGER PRIMARY KEY, "a col" TEXT);
INSERT INTO "odd name" VALUES (1,'x');
CREATE VIEW names AS SELECT name FROM customers;
CREATE TABLE notes(id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers ON DELETE CASCADE, body TEXT);
CREATE TABLE orphans(id INTEGER PRIMARY KEY, x INTEGER REFERENCES nowhere);
SQL

mkdir -p "$tmp/bad/sources.d"
lib_conf "$top_builddir/plugins/sqlite/.libs"
cat >"$tmp/conf/sources.d/demo.conf" <<EOF2
name = "demo";
type = "sqlite";
labels = { owner = "shop"; };
connection = { path = "$tmp/shop.db"; };
fetch = ( { item = "customers"; cursor_field = "updated_at"; } );
EOF2
cat >"$tmp/conf/sources.d/gone.conf" <<EOF2
name = "gone";
type = "sqlite";
connection = { path = "$tmp/does-not-exist.db"; };
EOF2
C="-c $tmp/conf/dsrcd.conf"

# Usage and help
expect 0 "$DSRC" --help;               has "$tmp/out" "Commands:"
expect 0 "$DSRC" fetch --help;         has "$tmp/out" "--incremental"
expect 2 "$DSRC"
expect 2 "$DSRC" frobnicate;           has "$tmp/err" "unknown command 'frobnicate'"
expect 2 "$DSRC" $C fetch demo
expect 2 "$DSRC" $C fetch demo customers --limit abc; has "$tmp/err" "--limit"
expect 2 "$DSRC" $C fetch demo customers --format xml; has "$tmp/err" "unknown format"
expect 2 "$DSRC" $C ls
expect 2 "$DSRC" $C test demo --bogus
expect 0 "$DSRC" --version;            has "$tmp/out" "plugin ABI 1.5"

# Configuration errors
expect 78 "$DSRC" -c "$tmp/missing.conf" sources
expect 0 "$DSRC" $C check-config;      has "$tmp/out" "configuration OK (2 source(s))"
cp "$tmp/conf/dsrcd.conf" "$tmp/bad/dsrcd.conf"
sed -i "s|sources.d\"|$tmp/bad/sources.d\"|" "$tmp/bad/dsrcd.conf"
cat >"$tmp/bad/sources.d/a.conf" <<EOF2
name = "a";
type = "sqlite";
colour = "blue";
connection = { path = "$tmp/shop.db"; };
EOF2
cat >"$tmp/bad/sources.d/b.conf" <<EOF2
name = "b";
type = "sqlite";
connection = { path = "$tmp/shop.db"; busy_timeout = "soon"; };
pool = { max_size = "ten"; };
EOF2
cat >"$tmp/bad/sources.d/c.conf" <<EOF2
name = "c";
type = "nosuchplugin";
connection = { };
EOF2
expect 78 "$DSRC" -c "$tmp/bad/dsrcd.conf" check-config
has "$tmp/err" "a.conf:3:"
has "$tmp/err" "colour"
has "$tmp/err" "b.conf:3:"
has "$tmp/err" "b.conf:4:"
has "$tmp/err" "c.conf:2:"
has "$tmp/err" "nosuchplugin"
expect 78 "$DSRC" -c "$tmp/bad/dsrcd.conf" test a
expect 78 "$DSRC" -c "$tmp/bad/dsrcd.conf" check-config --json; has "$tmp/out" '"valid": false'

# plugins and sources
expect 0 "$DSRC" $C plugins;           has "$tmp/out" "sqlite"; has "$tmp/out" "1.0"
expect 0 "$DSRC" $C plugins --options sqlite; has "$tmp/out" "path"; has "$tmp/out" "busy_timeout"
# The limits check-config applies are shown with the options.
has "$tmp/out" "0..2147483647"
expect 0 "$DSRC" $C --json plugins --options sqlite
has "$tmp/out" '"limits": {'; has "$tmp/out" '"max": 2147483647'
expect 1 "$DSRC" $C plugins --options nosuch; has "$tmp/err" "nosuch"
expect 0 "$DSRC" $C sources;           has "$tmp/out" "demo"; has "$tmp/out" "owner=shop"
expect 0 "$DSRC" $C --json sources;    has "$tmp/out" '"name": "demo"'
# the TLS mode the plugin gets, resolved by location without a tls group
expect 0 "$DSRC" $C sources demo;      has "$tmp/out" "tls:       mode prefer (no tls group"
expect 0 "$DSRC" $C --json sources demo; has "$tmp/out" '"mode": "prefer"'
expect 1 "$DSRC" $C sources nosuch

# test / ls / describe / discover
expect 0 "$DSRC" $C test demo;         has "$tmp/out" "demo: ok"; has "$tmp/out" "shop.db"
has "$tmp/out" "primary: endpoint"
expect 0 "$DSRC" $C --json test demo;  has "$tmp/out" '"ok": true'; has "$tmp/out" '"latency_ms"'
expect 1 "$DSRC" $C test gone;         has "$tmp/err" "gone"
expect 1 "$DSRC" $C test nosuch;       has "$tmp/err" "no source named 'nosuch'"
expect 0 "$DSRC" $C ls demo;           has "$tmp/out" "main"
expect 0 "$DSRC" $C ls demo main;      has "$tmp/out" "customers"; has "$tmp/out" "odd name"; has "$tmp/out" "view"
expect 0 "$DSRC" $C --json ls demo main; has "$tmp/out" '"kind": "table"'
expect 0 "$DSRC" $C describe demo customers; has "$tmp/out" "email"; has "$tmp/out" "INTEGER"
expect 1 "$DSRC" $C describe demo nosuchtable; has "$tmp/err" "nosuchtable"
expect 0 "$DSRC" $C discover demo;     has "$tmp/out" "customers"; has "$tmp/out" "odd name"
expect 0 "$DSRC" $C --json discover demo
if /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert any(x["name"]=="customers" and len(x["columns"])==4 for x in d)' "$tmp/out"; then ok; else bad "discover --json"; fi
# Foreign keys: describe's section and --json member, the same in discover
# (a key naming no parent column references the parent's primary key)
FK_JSON='{"name": null, "columns": ["customer_id"], "references": {"item": "main/customers", "columns": ["id"]}, "on_update": "NO ACTION", "on_delete": "CASCADE"}'
expect 0 "$DSRC" $C describe demo notes; has "$tmp/out" "foreign keys:"
has "$tmp/out" "(customer_id) -> main/customers (id) on update NO ACTION on delete CASCADE"
expect 0 "$DSRC" $C describe demo customers; hasnt "$tmp/out" "foreign keys"
expect 0 "$DSRC" $C --json describe demo notes
if /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["foreign_keys"]==[json.loads(sys.argv[2])], d["foreign_keys"]' "$tmp/out" "$FK_JSON"; then ok; else bad "describe --json foreign_keys"; fi
expect 0 "$DSRC" $C --json discover demo
if /usr/bin/python3 -c 'import json,sys; d={x["path"]: x for x in json.load(open(sys.argv[1]))}; assert d["main/notes"]["foreign_keys"]==[json.loads(sys.argv[2])]; assert d["main/customers"]["foreign_keys"]==[]' "$tmp/out" "$FK_JSON"; then ok; else bad "discover --json foreign_keys"; fi
expect 0 "$DSRC" $C discover demo;     has "$tmp/out" "item(s) in 3 queries"
# SQLite lets a key name a parent that does not exist: its column is unknown
expect 0 "$DSRC" $C describe demo orphans; has "$tmp/out" "(x) -> main/nowhere () on update NO ACTION"

# fetch to stdout
expect 0 "$DSRC" $C fetch demo customers -o -
has "$tmp/out" "id,name,email,updated_at"
has "$tmp/out" '2,"Bob, Jr.",,2024-01-02T10:00:00Z'
has "$tmp/out" '3,"Cé ""quoted""","",2024-01-03T10:00:00Z'
expect 0 "$DSRC" $C fetch demo customers --columns id,name --limit 1 -o -
[ "$(cat "$tmp/out" | tr -d '\r')" = "$(printf 'id,name\n1,Ann')" ] && ok || bad "columns+limit: $(cat "$tmp/out")"
expect 0 "$DSRC" $C fetch demo customers --format jsonl -o -
if /usr/bin/python3 -c '
import json,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
assert len(rows)==3, rows
assert rows[1]["email"] is None and rows[2]["email"]=="" and rows[0]["id"]==1, rows
' "$tmp/out"; then ok; else bad "jsonl content"; fi
expect 1 "$DSRC" $C fetch demo nosuchtable -o -; has "$tmp/err" "nosuchtable"
expect 1 "$DSRC" $C fetch demo customers --columns nope -o -; has "$tmp/err" "nope"

# fetch to the workspace: file + manifest, checksum matches
expect 0 "$DSRC" $C fetch demo "odd name" -q
f=$(ls "$tmp/ws/demo/odd%20name/"*.csv 2>/dev/null | head -1)
m="$f.manifest.json"
if [ -n "$f" ] && [ -f "$m" ]; then ok; else bad "no file/manifest in workspace"; ls -R "$tmp/ws"; fi
if [ -n "$f" ] && /usr/bin/python3 -c '
import json,sys,hashlib
m=json.load(open(sys.argv[2])); data=open(sys.argv[1],"rb").read()
assert m["sha256"]==hashlib.sha256(data).hexdigest(), m
assert m["rows"]==1 and m["bytes"]==len(data) and m["source"]=="demo" and m["item"]=="odd name", m
assert [c["name"] for c in m["schema"]]==["k","a col"], m
assert m["endpoint"]=="primary", m
' "$f" "$m"; then ok; else bad "manifest content"; fi
ls -a "$tmp/ws/demo/odd%20name/" | grep -q '\.tmp' && bad "temporary file left behind" || ok

# a failing output leaves nothing and says why
expect 1 "$DSRC" $C fetch demo customers -o /proc/self/no/such/file.csv; has "$tmp/err" "/proc/self/no/such"

# incremental: only new rows the second time; the cursor is committed
expect 0 "$DSRC" $C --json fetch demo customers --incremental -o "$tmp/inc1.csv"
has "$tmp/out" '"rows": 3'; has "$tmp/out" '"cursor_to": "2024-01-03T10:00:00Z"'
sqlite3 "$tmp/shop.db" "INSERT INTO customers VALUES (4,'Dee',NULL,'2024-02-01T00:00:00Z');"
expect 0 "$DSRC" $C --json fetch demo customers --incremental -o "$tmp/inc2.csv"
has "$tmp/out" '"rows": 1'; has "$tmp/out" '"cursor_from": "2024-01-03T10:00:00Z"'
has "$tmp/inc2.csv" "Dee"; hasnt "$tmp/inc2.csv" "Ann"
expect 0 "$DSRC" $C --json fetch demo customers --incremental -o "$tmp/inc3.csv"
has "$tmp/out" '"rows": 0'
expect 0 "$DSRC" $C fetch demo customers --cursor-field id --after 2 -o -
has "$tmp/out" "Dee"; hasnt "$tmp/out" "Ann"
expect 2 "$DSRC" $C fetch demo names --incremental -o -; has "$tmp/err" "cursor field"

# the record of runs: three incremental fetches, newest first
expect 0 "$DSRC" $C runs
has "$tmp/out" "ID"; has "$tmp/out" "TRIGGER"; has "$tmp/out" "succeeded"
[ "$(grep -c ' demo  *fetch  *customers  *cli  *succeeded' "$tmp/out")" -eq 3 ] && ok ||
    { bad "not three succeeded runs listed:"; cat "$tmp/out"; }
expect 0 "$DSRC" $C --json runs demo --limit 1
has "$tmp/out" '"cursor_from": "2024-02-01T00:00:00Z"'; has "$tmp/out" '"rows": 0'
[ "$(grep -c '"id":' "$tmp/out")" -eq 1 ] && ok || bad "--limit 1 gave more than one run"
id=$(sed -n 's/.*"id": \([0-9]*\).*/\1/p' "$tmp/out" | head -1)
expect 0 "$DSRC" $C runs "$id"
has "$tmp/out" "sha256"; has "$tmp/out" "inc3.csv"
expect 0 "$DSRC" $C runs demo --state failed; has "$tmp/out" "no runs of demo"
expect 1 "$DSRC" $C runs 99999; has "$tmp/err" "no run 99999"
expect 2 "$DSRC" $C runs --state nope; has "$tmp/err" "unknown state 'nope'"
expect 2 "$DSRC" $C runs --limit 0; has "$tmp/err" "--limit"

# progress: on a terminal (a pty made by script(1)) only, never otherwise
sqlite3 "$tmp/shop.db" "CREATE TABLE big(i INTEGER PRIMARY KEY, s TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 5000)
INSERT INTO big SELECT i, 'row ' || i FROM n;"
DSRC_PROGRESS_AFTER=0 "$DSRC" $C fetch demo big -o "$tmp/big.csv" >"$tmp/out" 2>"$tmp/err"
[ -s "$tmp/err" ] && bad "progress written to a non-terminal: $(cat "$tmp/err")" || ok
if command -v script >/dev/null; then
    DSRC_PROGRESS_AFTER=0 script -qec "$DSRC $C fetch demo big -o $tmp/big2.csv" /dev/null >"$tmp/tty" 2>&1
    has "$tmp/tty" "5000 rows"
    has "$tmp/tty" "rows/s"
fi

# values come back as stored: JSON embedded, 0 and 1 as booleans,
# infinities as strings (not null), in JSON Lines; CSV as psql writes them
sqlite3 "$tmp/shop.db" "CREATE TABLE vals(k INTEGER PRIMARY KEY, j JSON, b BOOLEAN, r REAL);
INSERT INTO vals VALUES (1, '{\"a\":[1,2]}', 1, 9e999), (2, 'not json', 0, -9e999),
 (3, NULL, NULL, NULL), (4, '[]', 0, 0.5), (5, '\"s\"', 1, NULL);"
expect 0 "$DSRC" $C fetch demo vals --format jsonl -o -
cat >"$tmp/want" <<'EOF2'
{"k":1,"j":{"a":[1,2]},"b":true,"r":"Infinity"}
{"k":2,"j":"not json","b":false,"r":"-Infinity"}
{"k":3,"j":null,"b":null,"r":null}
{"k":4,"j":[],"b":false,"r":0.5}
{"k":5,"j":"s","b":true,"r":null}
EOF2
cmp -s "$tmp/out" "$tmp/want" && ok || { bad "values in JSON Lines"; diff "$tmp/want" "$tmp/out"; }
expect 0 "$DSRC" $C fetch demo vals -o -
[ "$(tr -d '\r' <"$tmp/out" | sed -n '2,3p')" = "$(printf '1,"{""a"":[1,2]}",true,Infinity\n2,not json,false,-Infinity')" ] &&
    ok || bad "values in CSV: $(cat "$tmp/out")"
# a value a BOOLEAN column cannot carry (SQLite does not enforce types):
# the fetch fails naming the row and the column, and writes nothing
sqlite3 "$tmp/shop.db" "UPDATE vals SET b = 'yes' WHERE k = 3;"
expect 1 "$DSRC" $C fetch demo vals -o "$tmp/vals.csv"
has "$tmp/err" "'vals' row 3: column 'b' is declared BOOLEAN but holds text"
[ -e "$tmp/vals.csv" ] && bad "vals.csv written" || ok

finish cli
