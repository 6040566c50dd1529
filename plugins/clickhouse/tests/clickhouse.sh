#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# clickhouse.so against a real ClickHouse server (the fixture's):
#   - every type the server has (Int/UInt 8..64 with UInt64 above
#     INT64_MAX as exact text, Float32/64 with nan and inf, Decimal, Date,
#     DateTime as UTC timestamps, String with escapes, FixedString as
#     bytes, UUID, Enum8/16, Nullable, Array, LowCardinality, Tuple, Nested,
#     DateTime with a time zone, Decimal32/128) fetched as
#     typed rows (JSON Lines) with the values checked one by one;
#   - hostile identifiers (quotes, back-quotes, spaces, backslashes,
#     unicode) in database, table and column names: ls, describe, fetch;
#   - a wrong password (auth, exit 1, the password nowhere), a missing
#     table and database (not found);
#   - 1 000 000 rows fetched as CSV, byte for byte what `clickhouse-client
#     --query "SELECT * ... FORMAT CSVWithNames"` prints, and as JSON Lines;
#   - dsrc fetch of a long query interrupted by SIGINT: exit 130 within 1 s,
#     and the query is gone from the server (KILL QUERY by its id).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/clickhouse/tests/fixture/clickhouse-fixture"
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
lib_tmpdir dsrc-ch
cdir="" pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    [ -n "$cdir" ] && "$FIXTURE" stop "$cdir" >/dev/null 2>&1
}

. "$top_srcdir/plugins/clickhouse/tests/ch_start.sh"
"$FIXTURE" sql "$cdir" <<'SQL' || { echo "loading the test data failed"; exit 99; }
SET allow_experimental_low_cardinality_type = 1;
CREATE DATABASE t;
CREATE TABLE t.types (
  i8 Int8, i16 Int16, i32 Int32, i64 Int64, u8 UInt8, u16 UInt16, u32 UInt32, u64 UInt64,
  f32 Float32, f64 Float64, d Decimal(18, 4), dt Date, ts DateTime, s String,
  fs FixedString(3), u UUID, e8 Enum8('a' = 1, 'b\'q' = 2), e16 Enum16('x' = 1000),
  n Nullable(Int32), ns Nullable(String), arr Array(Int32), arrs Array(String),
  lc LowCardinality(String), arrn Array(Nullable(String))) ENGINE = MergeTree ORDER BY i64;
INSERT INTO t.types VALUES (-128, -32768, -2147483648, -9223372036854775808, 255, 65535, 4294967295, 18446744073709551615, nan, inf, 12345.6789, '2024-02-29', '2024-02-29 23:59:59', 'tab\there\nnew "q" \\ back \'s\' ü', 'ab', '61f0c404-5cb3-11e7-907b-a6006ad3dba0', 'b\'q', 'x', NULL, 'ü', [1, -2], ['a', 'b\'c', 'q"\\z', 't\tn\ne', 'ü'], 'lc', ['\\', NULL]);
INSERT INTO t.types VALUES (127, 32767, 2147483647, 9223372036854775807, 0, 0, 0, 9223372036854775808, -inf, -0.5, -1.5, '1970-01-02', '1970-01-02 00:00:00', '', 'xyz', '00000000-0000-0000-0000-000000000000', 'a', 'x', 42, NULL, [], [], '', []);
CREATE TABLE t.more (id Int32, tp Tuple(Int32, String), tz DateTime('Asia/Tokyo'),
  d128 Decimal(38, 10), d32 Decimal(9, 2), nn Nested(a Int32, b String))
  ENGINE = MergeTree ORDER BY id;
INSERT INTO t.more VALUES (1, (1, 'x\'y\t'), '2024-01-01 09:00:00', 12345678901234567890.0123456789, -1.25, [1, 2], ['p\'', 'q']);
CREATE DATABASE `we"ird db`;
CREATE TABLE `we"ird db`.`ta\`b 'q' \\ ü` (`co l` Int64, `c\`q` String, `ü'"` Nullable(Float64))
  ENGINE = MergeTree ORDER BY `co l`;
INSERT INTO `we"ird db`.`ta\`b 'q' \\ ü` VALUES (1, 'one', 1.5);
INSERT INTO `we"ird db`.`ta\`b 'q' \\ ü` VALUES (2, 'two', NULL);
CREATE TABLE t.big (id UInt64, name String, at DateTime, v Nullable(Float64), d Decimal(12, 2))
  ENGINE = MergeTree ORDER BY id;
INSERT INTO t.big SELECT number, concat('name "', toString(number), '", x'),
  toDateTime('2024-01-01 00:00:00') + number, if(number % 7 = 0, NULL, number / 3),
  number / 100 FROM system.numbers LIMIT 1000000;
CREATE VIEW t.slow AS SELECT sum(cityHash64(number)) AS s
  FROM (SELECT number FROM system.numbers LIMIT 100000000000);
SQL

lib_conf "$top_builddir/plugins/clickhouse/.libs"
src() { # src NAME PASSWORD-REFERENCE [MORE SETTINGS]
    cat >"$tmp/conf/sources.d/$1.conf" <<EOF
name = "$1";
type = "clickhouse";
${3:-}
connection = {
    host = "127.0.0.1";
    port = $CLICKHOUSE_HTTP_PORT;
    database = "t";
    user = "reader";
    password = "$2";
};
EOF
}
src ch "env:DSRC_CH_PASSWORD"
src wrong "env:DSRC_CH_WRONG"
src cloudplain "env:DSRC_CH_PASSWORD" 'location = "cloud"; tls = { mode = "disable"; };'
src tlsplain "env:DSRC_CH_PASSWORD" 'tls = { mode = "require"; };'
DSRC_CH_PASSWORD=$CLICKHOUSE_READER_PASSWORD
DSRC_CH_WRONG="not-$CLICKHOUSE_READER_PASSWORD"
export DSRC_CH_PASSWORD DSRC_CH_WRONG
C="-c $tmp/conf/dsrcd.conf"

# ping: /ping and SELECT version()
expect 0 "$DSRC" $C test ch
has "$tmp/out" "ClickHouse $CLICKHOUSE_VERSION"

# TLS: the on-premises default (prefer) is plain HTTP on the port given, as
# above; require is https: the fixture's HTTP port answers a TLS hello with
# an HTTP error or not at all (a TLS failure or the handshake's timeout); a
# cloud source never talks plain text
"$DSRC" $C --json test tlsplain >"$tmp/out" 2>"$tmp/err" && bad "require over the HTTP port worked" || ok
jcheck "$tmp/out" 'd["ok"] is False and (d["error"]["code"] == "tls" or "SSL" in d["error"]["message"])'
expect 1 "$DSRC" $C test cloudplain
has "$tmp/err" "tls.mode 'disable' is not allowed for a cloud source"

# every type, as typed rows
expect 0 "$DSRC" $C fetch ch types -f jsonl -o "$tmp/types.jsonl"
/usr/bin/python3 - "$tmp/types.jsonl" <<'PY' && ok || bad "the typed values differ"
import json, math, sys
rows = sorted((json.loads(l) for l in open(sys.argv[1])), key=lambda r: r["i8"])
want = [
    {"i8": -128, "i16": -32768, "i32": -2147483648, "i64": -9223372036854775808,
     "u8": 255, "u16": 65535, "u32": 4294967295, "u64": "18446744073709551615",
     "d": "12345.6789", "dt": "2024-02-29", "ts": "2024-02-29T23:59:59Z",
     "s": "tab\there\nnew \"q\" \\ back 's' \u00fc", "u": "61f0c404-5cb3-11e7-907b-a6006ad3dba0",
     "e8": "b'q", "e16": "x", "n": None, "ns": "\u00fc", "arr": "[1,-2]",
     "arrs": "['a','b\\'c','q\"\\\\z','t\\tn\\ne','\u00fc']", "lc": "lc",
     "arrn": "['\\\\',NULL]", "f64": "inf"},
    {"i8": 127, "i16": 32767, "i32": 2147483647, "i64": 9223372036854775807,
     "u8": 0, "u16": 0, "u32": 0, "u64": "9223372036854775808", "d": "-1.5000",
     "dt": "1970-01-02", "ts": "1970-01-02T00:00:00Z", "s": "",
     "u": "00000000-0000-0000-0000-000000000000", "e8": "a", "e16": "x", "n": 42,
     "ns": None, "arr": "[]", "arrs": "[]", "lc": "", "arrn": "[]", "f64": -0.5},
]
bad = 0
for got, w in zip(rows, want):
    for k, v in w.items():
        g = got.get(k)
        if k == "f64" and v == "inf":
            ok = g in ("inf", "Infinity", None) or (isinstance(g, float) and math.isinf(g))
        else:
            ok = g == v
        if not ok:
            print("  %s: got %r, want %r" % (k, g, v)); bad = 1
if len(rows) != 2:
    print("  %d rows" % len(rows)); bad = 1
print("  f32 (nan, -inf):", rows[0].get("f32"), rows[1].get("f32"), " fs:", rows[0].get("fs"))
sys.exit(bad)
PY
# the schema in the manifest: SDK types and the server's own
jcheck "$tmp/types.jsonl.manifest.json" '[(c["name"], c["type"]) for c in d["schema"]] == [("i8","int64"),("i16","int64"),("i32","int64"),("i64","int64"),("u8","int64"),("u16","int64"),("u32","int64"),("u64","text"),("f32","double"),("f64","double"),("d","text"),("dt","text"),("ts","timestamp"),("s","text"),("fs","bytes"),("u","text"),("e8","text"),("e16","text"),("n","int64"),("ns","text"),("arr","text"),("arrs","text"),("lc","text"),("arrn","text")]'
# a Tuple, a Nested (arrays), a DateTime with its own time zone, Decimal32
# and Decimal128
expect 0 "$DSRC" $C fetch ch t/more -f jsonl -o "$tmp/more.jsonl"
/usr/bin/python3 - "$tmp/more.jsonl" <<'PY' && ok || bad "t.more: the typed values differ"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
want = [{"id": 1, "tp": "(1,'x\\'y\\t')", "tz": "2024-01-01T00:00:00Z",
         "d128": "12345678901234567890.0123456789", "d32": "-1.25", "nn.a": "[1,2]",
         "nn.b": "['p\\'','q']"}]
print("  t.more:", rows)
sys.exit(0 if rows == want else 1)
PY
jcheck "$tmp/more.jsonl.manifest.json" '[c["type"] for c in d["schema"]] == ["int64","text","timestamp","text","text","text","text"]'
expect 0 "$DSRC" $C describe ch t/types
has "$tmp/out" "LowCardinality(String)"
has "$tmp/out" "Nullable(Int32)"
has "$tmp/out" "engine: MergeTree"
has "$tmp/out" "sorting_key: i64"
# the CSV fast path of the same table is the server's own CSV
expect 0 "$DSRC" $C fetch ch t/types -o "$tmp/types.csv"
"$FIXTURE" sql "$cdir" --query "SELECT * FROM t.types FORMAT CSVWithNames" >"$tmp/types.ref.csv"
same "$tmp/types.csv" "$tmp/types.ref.csv"
# an Array cell of the typed rows is the server's own text of the array
# (its CSV field), the elements' quotes, backslashes, tabs, newlines as stored
/usr/bin/python3 - "$tmp/types.jsonl" "$tmp/types.ref.csv" <<'PY' && ok || bad "Array cells are not the server's text"
import csv, json, sys
rows = {r["i8"]: r for r in map(json.loads, open(sys.argv[1]))}
ref = {int(r["i8"]): r for r in csv.DictReader(open(sys.argv[2], newline=""))}
bad = 0
for i8, r in ref.items():
    for k in ("arr", "arrs", "arrn"):
        if rows[i8][k] != r[k]:
            print("  i8=%d %s: got %r, the server's %r" % (i8, k, rows[i8][k], r[k])); bad = 1
sys.exit(bad if len(ref) == 2 else 1)
PY

# hostile identifiers
expect 0 "$DSRC" $C ls ch
has "$tmp/out" 'we"ird db'
expect 0 "$DSRC" $C --json ls ch 'we"ird db'
jcheck "$tmp/out" 'any(i["name"] == "ta`b '"'"'q'"'"' \\ ü" and i["kind"] == "table" for i in d)'
HOSTILE='we"ird db/ta`b '"'"'q'"'"' \ ü'
expect 0 "$DSRC" $C describe ch "$HOSTILE"
has "$tmp/out" 'co l'
has "$tmp/out" 'c`q'
expect 0 "$DSRC" $C fetch ch "$HOSTILE" -f jsonl -o "$tmp/h.jsonl"
/usr/bin/python3 - "$tmp/h.jsonl" <<'PY' && ok || bad "hostile identifiers: wrong rows"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if rows == [{"co l": 1, "c`q": "one", "ü'\"": 1.5}, {"co l": 2, "c`q": "two", "ü'\"": None}] else 1)
PY
expect 0 "$DSRC" $C fetch ch "$HOSTILE" -c 'c`q' -k 'co l' -a 1 -f jsonl -o "$tmp/h2.jsonl"
has "$tmp/h2.jsonl" '{"c`q":"two"}'
expect 0 "$DSRC" $C discover ch
has "$tmp/out" 'ta`b'

# errors: wrong password, missing table, missing database
expect 1 "$DSRC" $C test wrong
has "$tmp/err" "Wrong password"
hasnt "$tmp/err" "$CLICKHOUSE_READER_PASSWORD"
hasnt "$tmp/out" "$CLICKHOUSE_READER_PASSWORD"
expect 1 "$DSRC" $C --json fetch wrong types -o "$tmp/x.csv"
jcheck "$tmp/out" 'd["error"]["status"] == "auth"'
expect 1 "$DSRC" $C --json fetch ch t/nope -o "$tmp/x.csv"
jcheck "$tmp/out" 'd["error"]["status"] == "not-found"'
expect 1 "$DSRC" $C --json describe ch nodb/nope
jcheck "$tmp/out" 'd["error"]["status"] == "not-found"'
expect 1 "$DSRC" $C --json ls ch nodb
jcheck "$tmp/out" 'd["error"]["status"] == "not-found"'
[ -e "$tmp/x.csv" ] && bad "a failed fetch left its file" || ok

# 1 000 000 rows: the server's CSV, byte for byte; and typed rows
expect 0 "$DSRC" $C fetch ch t/big -o "$tmp/big.csv"
"$FIXTURE" sql "$cdir" --query "SELECT * FROM t.big FORMAT CSVWithNames" >"$tmp/big.ref.csv"
same "$tmp/big.csv" "$tmp/big.ref.csv"
jcheck "$tmp/big.csv.manifest.json" 'd["rows"] == 1000000'
expect 0 "$DSRC" $C fetch ch t/big -f jsonl -o "$tmp/big.jsonl"
n=$(wc -l <"$tmp/big.jsonl")
[ "$n" -eq 1000000 ] && ok || bad "big.jsonl has $n lines"
/usr/bin/python3 - "$tmp/big.jsonl" <<'PY' && ok || bad "big.jsonl: rows 999998 and 999999 differ"
import json, sys
last = sorted((json.loads(l) for l in open(sys.argv[1]) if l.startswith('{"id":"99999')),
              key=lambda r: r["id"])[-2:]
want = [{"id": "999998", "name": 'name "999998", x', "at": "2024-01-12T13:46:38Z",
         "v": 999998 / 3, "d": "9999.98"},
        {"id": "999999", "name": 'name "999999", x', "at": "2024-01-12T13:46:39Z",
         "v": None, "d": "9999.99"}]
print("  last rows:", last)
sys.exit(0 if last == want else 1)
PY
rm -f "$tmp/big.csv" "$tmp/big.ref.csv" "$tmp/big.jsonl"

# SIGINT during a long query: 130 soon after (within 15 s: about 0.5 s on a
# quiet machine, while the view would run for minutes), and the server's
# query killed
"$DSRC" $C fetch ch t/slow -o "$tmp/slow.csv" >"$tmp/o" 2>"$tmp/e" &
pid=$!
until_handled "$pid"
server_running() {
    "$FIXTURE" sql "$cdir" --query "SELECT count() FROM system.processes WHERE query_id LIKE 'dsrc-%'"
}
n=100
until [ "$(server_running)" = 1 ] || [ $n -eq 0 ]; do sleep 0.1; n=$((n - 1)); done
[ "$(server_running)" = 1 ] && ok || bad "the slow query never ran"
t0=$(date +%s%N)
kill -INT "$pid"
wait_exit "$pid" 20
t1=$(date +%s%N)
pid=""
ms=$(( (t1 - t0) / 1000000 ))
[ "$rc" -eq 130 ] && ok || { bad "fetch after SIGINT: exit $rc, not 130"; sed 's/^/  | /' "$tmp/e" "$tmp/hung" 2>/dev/null; }
[ "$ms" -lt 15000 ] && ok || bad "fetch exited $ms ms after SIGINT"
n=300
until [ "$(server_running)" = 0 ] || [ $n -eq 0 ]; do sleep 0.1; n=$((n - 1)); done
[ "$(server_running)" = 0 ] && ok || bad "the server still runs the query 30 s after the cancel"
[ -e "$tmp/slow.csv" ] && bad "the cancelled fetch left its file" || ok

finish clickhouse
