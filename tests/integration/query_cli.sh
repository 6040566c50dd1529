#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrc query end to end on sqlite sources (no server), in dsrc's process
# and in a plugin worker process (isolation):
#  1. the rows of a query are byte for byte what dsrc fetch writes of the
#     same table, CSV and JSON Lines;
#  2. --param binds values (an injection attempt is a value, NULL by
#     --null-param), --limit, --timeout;
#  3. -o FILE writes the file and its manifest: the query's text and a hash
#     of its parameters, never their values;
#  4. --mask masks a query's columns;
#  5. writes are refused with SQLite's own error and change nothing; bad
#     sources, bad SQL, a second statement, bad options: clear errors and
#     non-zero statuses; SIGINT cancels a running statement;
#  6. the audit trail records every query (action "query"), without the
#     parameters' values.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/mask_lib.sh"
top_builddir=$(cd "$top_builddir" && pwd)
DSRC="$top_builddir/dsrc"
SQLITE_DIR="$top_builddir/plugins/sqlite/.libs"
[ -f "$SQLITE_DIR/sqlite.so" ] || { echo "sqlite.so not built"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
command -v sqlite3 >/dev/null || { echo "sqlite3 missing"; exit 77; }
lib_tmpdir dsrc-query
unset CREDENTIALS_DIRECTORY DSRC_ISOLATION
expect_timeout=60
mask_keys
mkdir -p "$tmp/plugins"
ln -s "$SQLITE_DIR/sqlite.so" "$tmp/plugins/sqlite.so"
ln -s "$top_builddir/tests/fixtures/plugins/.libs/good.so" "$tmp/plugins/good.so"
lib_conf "$tmp/plugins" "mask_key = \"$TOK1\";"
C="-c $tmp/conf/dsrcd.conf"
sqlite3 "$tmp/shop.db" "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, email TEXT,
    score REAL, born DATE, vip BOOLEAN, photo BLOB);
  INSERT INTO t VALUES (1, 'Ann', 'ann@example.com', 1.5, '1990-06-15', 1, x'00ff');
  INSERT INTO t VALUES (2, 'Bob \"the\" builder', NULL, NULL, NULL, 0, NULL);
  INSERT INTO t VALUES (3, 'Cy, Jr.', 'cy@example.org', -2, '2001-01-31', NULL, x'');
  INSERT INTO t VALUES (4, 'Dee' || char(10) || 'line', 'dee@example.net', 1e10, NULL, 1, NULL);"
cp "$tmp/shop.db" "$tmp/shop.orig"
cat >"$tmp/conf/sources.d/shop.conf" <<EOF
name = "shop";
type = "sqlite";
connection = { path = "$tmp/shop.db"; };
EOF
cat >"$tmp/conf/sources.d/noq.conf" <<EOF
name = "noq";
type = "good";
connection = { path = "$tmp/shop.orig"; };
EOF
DB="$tmp/state/dsrc.db"
# dsrc plugins names the capability
expect 0 "$DSRC" $C --json plugins
jcheck "$tmp/out" "'query' in [p for p in d if p['name'] == 'sqlite'][0]['capabilities'] and 'query' not in [p for p in d if p['name'] == 'good'][0]['capabilities']"
unchanged() { cmp -s "$tmp/shop.db" "$tmp/shop.orig" && ok || bad "shop.db changed ($1)"; }
SECRET_PARAM="s3cret-needle-7781"

for iso in none process; do
    export DSRC_ISOLATION=$iso
    # ---- 1. the same bytes as dsrc fetch
    expect 0 "$DSRC" $C fetch shop main/t -f csv -o "$tmp/fetch.csv"
    expect 0 "$DSRC" $C query shop 'SELECT * FROM t' -f csv
    same "$tmp/out" "$tmp/fetch.csv"
    expect 0 "$DSRC" $C fetch shop main/t -f jsonl -o "$tmp/fetch.jsonl"
    expect 0 "$DSRC" $C query shop 'SELECT * FROM t' --format jsonl -o -
    same "$tmp/out" "$tmp/fetch.jsonl"
    has "$tmp/out" '"name":"Bob \"the\" builder"'
    # csv is the default, stdout the default output
    expect 0 "$DSRC" $C query shop 'SELECT * FROM t'
    same "$tmp/out" "$tmp/fetch.csv"

    # ---- 2. parameters, limit, timeout
    expect 0 "$DSRC" $C query shop 'SELECT id, name FROM t WHERE name = ?' --param "Cy, Jr."
    [ "$(cat "$tmp/out")" = "$(printf 'id,name\r\n3,"Cy, Jr."\r')" ] && ok ||
        bad "one row by a parameter: $(cat "$tmp/out")"
    expect 0 "$DSRC" $C query shop 'SELECT id FROM t WHERE name = ?' --param "' OR 1=1 --"
    [ "$(cat "$tmp/out")" = "$(printf 'id\r')" ] && ok || bad "injection matched: $(cat "$tmp/out")"
    expect 0 "$DSRC" $C query shop "SELECT id FROM t WHERE name = ?1 OR email = ?1" \
        -p "x'; DROP TABLE t; --"
    [ "$(cat "$tmp/out")" = "$(printf 'id\r')" ] && ok || bad "injection matched: $(cat "$tmp/out")"
    unchanged "injection $iso"
    expect 0 "$DSRC" $C query shop 'SELECT count(*) AS n FROM t WHERE id > ? AND email IS NOT ?' \
        -p 1 --null-param -f jsonl
    has "$tmp/out" '{"n":2}'
    expect 0 "$DSRC" $C query shop 'SELECT ? IS NULL AS a, ? AS b' -N -p '' -f jsonl
    has "$tmp/out" '{"a":1,"b":""}'
    expect 0 "$DSRC" $C query shop 'SELECT id FROM t ORDER BY id' --limit 2 -f jsonl
    [ "$(wc -l <"$tmp/out")" -eq 2 ] && ok || bad "--limit 2: $(cat "$tmp/out")"
    expect 0 "$DSRC" $C query shop 'SELECT id FROM t' --limit 0
    [ "$(cat "$tmp/out")" = "$(printf 'id\r')" ] && ok || bad "--limit 0: $(cat "$tmp/out")"
    t0=$(date +%s)
    expect 1 "$DSRC" $C query shop 'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c)
        SELECT count(*) FROM c' --timeout 0.3
    has "$tmp/err" "time limit (300 ms)"
    [ $(($(date +%s) - t0)) -lt 15 ] && ok || bad "--timeout 0.3 took $(($(date +%s) - t0)) s"

    # Ctrl-C cancels the statement in the backend (through the worker too)
    t0=$(date +%s)
    "$DSRC" $C query shop 'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c)
        SELECT count(*) FROM c' --timeout 0 -o "$tmp/int.csv" >"$tmp/out" 2>"$tmp/err" &
    qpid=$!
    sleep 1
    kill -INT $qpid
    wait $qpid
    rc=$?
    [ $rc -eq 130 ] && ok || bad "interrupted query ($iso): exit $rc, $(cat "$tmp/err")"
    [ $(($(date +%s) - t0)) -lt 15 ] && ok || bad "the interrupt took $(($(date +%s) - t0)) s ($iso)"
    [ -e "$tmp/int.csv" ] && bad "an interrupted query left its file ($iso)" || ok

    # ---- 3. a file and its manifest
    expect 0 "$DSRC" $C query shop 'SELECT id, name FROM t WHERE id >= ? AND name <> ?' \
        -p 2 -p "$SECRET_PARAM" -o "$tmp/q.csv"
    has "$tmp/out" "query: 3 rows"
    [ "$(head -1 "$tmp/q.csv")" = "$(printf 'id,name\r')" ] && ok || bad "q.csv: $(head -1 "$tmp/q.csv")"
    want=$(/usr/bin/python3 -c '
import hashlib, struct, sys
h = hashlib.sha256()
for v in sys.argv[1:]:
    b = v.encode(); h.update(b"\x01" + struct.pack("<Q", len(b)) + b)
print(h.hexdigest())' 2 "$SECRET_PARAM")
    jcheck "$tmp/q.csv.manifest.json" "d['query'] == 'SELECT id, name FROM t WHERE id >= ? AND name <> ?' and d['params_sha256'] == '$want' and 'item' not in d and d['rows'] == 3 and d['format'] == 'csv' and d['source'] == 'shop' and d['cursor'] is None"
    hasnt "$tmp/q.csv.manifest.json" "$SECRET_PARAM"
    hasnt "$tmp/out" "$SECRET_PARAM"
    hasnt "$tmp/err" "$SECRET_PARAM"
    expect 0 "$DSRC" $C --json query shop 'SELECT * FROM t' -f jsonl -o "$tmp/q.jsonl"
    same "$tmp/q.jsonl" "$tmp/fetch.jsonl"
    # no parameter: the hash of nothing
    jcheck "$tmp/out" "d['rows'] == 4 and d['file'] == '$tmp/q.jsonl' and d['params_sha256'] == 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'"
    jcheck "$tmp/q.jsonl.manifest.json" "d['format'] == 'jsonl' and d['rows'] == 4 and d['limit'] is None"
    expect 2 "$DSRC" $C query shop 'SELECT 1' -f raw; has "$tmp/err" "use csv or jsonl"
    # --json with the data on standard output: the summary, or the error
    # object, on standard error
    expect 0 "$DSRC" $C --json query shop 'SELECT id FROM t WHERE id = 1'
    [ "$(cat "$tmp/out")" = "$(printf 'id\r\n1\r')" ] && ok || bad "--json data: $(cat "$tmp/out")"
    tail -1 "$tmp/err" >"$tmp/errj"
    jcheck "$tmp/errj" "d['rows'] == 1 and d['file'] is None"
    expect 1 "$DSRC" $C --json query shop 'DELETE FROM t'
    [ -s "$tmp/out" ] && bad "--json error on stdout: $(cat "$tmp/out")" || ok
    tail -1 "$tmp/err" >"$tmp/errj"
    jcheck "$tmp/errj" "'readonly' in d['error']['message'] and d['error']['exit'] == 1"

    # ---- 4. masking
    expect 0 "$DSRC" $C query shop 'SELECT id, email, born FROM t WHERE id = ?' -p 1 \
        --mask email=hash,born=truncate:year -f jsonl
    h=$(mask_hmac "$MK1" "ann@example.com")
    has "$tmp/out" "{\"id\":1,\"email\":\"$h\",\"born\":\"1990-01-01\"}"
    hasnt "$tmp/out" "ann@example.com"
    expect 1 "$DSRC" $C query shop 'SELECT id FROM t' --mask email=hash
    has "$tmp/err" "email"

    # ---- 5. writes refused, errors
    for w in "DELETE FROM t" "UPDATE t SET name = 'x'" "INSERT INTO t (id) VALUES (9)" \
        "CREATE TABLE u (a)" "DROP TABLE t" "CREATE TEMP TABLE u (a)"; do
        expect 1 "$DSRC" $C query shop "$w"
        has "$tmp/err" "attempt to write a readonly database"
    done
    expect 1 "$DSRC" $C query shop "ATTACH '$tmp/other.db' AS o"
    has "$tmp/err" "not authorized"
    [ -e "$tmp/other.db" ] && bad "ATTACH created a file" || ok
    expect 1 "$DSRC" $C query shop 'SELECT 1; DELETE FROM t'
    has "$tmp/err" "more than one statement"
    unchanged "writes $iso"
    expect 1 "$DSRC" $C query shop 'SELEKT 1';  has "$tmp/err" "syntax error"
    expect 1 "$DSRC" $C query shop 'SELECT * FROM nosuch'; has "$tmp/err" "no such table: nosuch"
    expect 1 "$DSRC" $C query shop 'SELECT ?';  has "$tmp/err" "1 parameter, 0 given"
    expect 1 "$DSRC" $C query shop 'SELECT 1' -p x; has "$tmp/err" "0 parameters, 1 given"
    expect 1 "$DSRC" $C query noq 'SELECT 1'
    has "$tmp/err" "source 'noq' (plugin good) does not run queries"
    expect 1 "$DSRC" $C query nosuch 'SELECT 1'; has "$tmp/err" "nosuch"
    expect 2 "$DSRC" $C query shop;            has "$tmp/err" "a source name and a statement"
    expect 2 "$DSRC" $C query shop '';         has "$tmp/err" "the statement is empty"
    expect 2 "$DSRC" $C query shop 'SELECT 1' --limit -1; has "$tmp/err" "--limit"
    expect 2 "$DSRC" $C query shop 'SELECT 1' --timeout soon; has "$tmp/err" "--timeout"
    expect 2 "$DSRC" $C query shop 'SELECT 1' -f xml; has "$tmp/err" "unknown format"
    # a failed query to a file leaves nothing behind
    expect 1 "$DSRC" $C query shop 'SELECT id, 1 / 0 + abs(-9223372036854775808) FROM t' -o "$tmp/fail.csv"
    [ -e "$tmp/fail.csv" ] || [ -e "$tmp/fail.csv.manifest.json" ] && bad "a failed query left a file" || ok
done
unset DSRC_ISOLATION

# ---- 6. the audit trail
q() { sqlite3 "$DB" "$1"; }
n=$(q "SELECT count(*) FROM audit WHERE action = 'query'")
[ "$n" -ge 40 ] && ok || bad "only $n query records"
q "SELECT source, result, rows FROM audit WHERE action = 'query' AND detail LIKE '%WHERE id >= ? AND name <> ?%'" >"$tmp/a"
has "$tmp/a" "shop|ok|3"
q "SELECT detail FROM audit WHERE action = 'query'" >"$tmp/a"
has "$tmp/a" "2 params, sha256 $(printf %s "$want" | cut -c1-16)"
has "$tmp/a" "csv -> $tmp/q.csv"
hasnt "$tmp/a" "$SECRET_PARAM"
q "SELECT result FROM audit WHERE action = 'query' AND detail LIKE '%DELETE FROM t'" >"$tmp/a"
has "$tmp/a" "error: permission"
expect 0 "$DSRC" $C audit --verify; has "$tmp/out" "chain intact"
expect 0 "$DSRC" $C audit --source shop; has "$tmp/out" "query"
for f in "$DB" "$DB-wal"; do
    [ -f "$f" ] && { grep -aqF "$SECRET_PARAM" "$f" && bad "the parameter's value is in $f" || ok; }
done

finish query_cli
