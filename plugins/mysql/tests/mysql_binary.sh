#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The mysql fetch in the binary protocol (a prepared statement, the
# default) writes the same bytes as in the text protocol (fetch_binary =
# false), as CSV and as JSON Lines: integers at their limits, signed and
# unsigned, ZEROFILL, YEAR, doubles (shortest text, extremes, NULL),
# decimals, dates with and without fractions (zero dates too), text in
# several scripts, JSON, ENUM and SET, binary values and strings longer
# than a first buffer (1 MiB), an empty table, a column subset and a
# limit.  The server's Com_stmt_execute counter shows that the binary
# protocol really ran, and that it did not where it would change the text:
# TIME, FLOAT, BIT and DOUBLE(M,D) columns, and incremental fetches (their
# cursor is read from the text protocol's values).  A missing table fails
# the same way in both; SIGINT during a prepared statement ends the fetch
# (exit 130) without running it again as text.  The server comes from
# plugins/mysql/tests/fixture/mariadb-fixture (skipped, 77, when none is
# installed).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/mysql/tests/fixture/mariadb-fixture"
lib_tmpdir dsrc-mybin
mdir=""
cleanup() { [ -n "$mdir" ] && "$FIXTURE" stop "$mdir" >/dev/null 2>&1; }

mdir=$("$FIXTURE" start --no-replica --owner $$)
rc=$?
if [ "$rc" -eq 77 ]; then mdir=""; exit 77; fi
[ "$rc" -eq 0 ] && [ -n "$mdir" ] || { mdir=""; echo "the MariaDB fixture did not start"; exit 99; }
. "$mdir/fixture.env"
PW=Bin-$$-pw
"$FIXTURE" sql "$mdir" primary <<SQL || { echo "loading the test data failed"; exit 99; }
SET NAMES utf8mb4;
CREATE DATABASE ty;
CREATE TABLE ty.nums (id INT PRIMARY KEY, t TINYINT, tu TINYINT UNSIGNED, sm SMALLINT,
  me MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, b BIGINT, bu BIGINT UNSIGNED,
  z INT(6) ZEROFILL, y YEAR, bo BOOLEAN, f DOUBLE, d DECIMAL(30,10), dz DECIMAL(5,0));
INSERT INTO ty.nums VALUES
  (1, -128, 255, -32768, -8388608, 16777215, -2147483648, 4294967295,
   -9223372036854775808, 18446744073709551615, 5, 2024, 1, 0.1e0 + 0.2e0,
   -12345678901234567890.0123456789, 0),
  (2, 127, 0, 32767, 8388607, 0, 2147483647, 0, 9223372036854775807,
   9223372036854775808, 123456, 0, 0, -1.2345678901234567e-300, 0.0000000001, -99999),
  (3, 0, 1, 0, 0, 1, 0, 1, 0, 9223372036854775807, 0, 1901, NULL, 5e-324, 1, 1),
  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 2155, 1, -1.7976931348623157e308, 2.5, 3),
  (6, -1, 3, -3, -4, 6, -6, 8, -8, 0, 7, 1999, 0, 1e0 / 3e0, -0.5, -3),
  (7, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 2000, 1, 123456789012345678e0, 7, 7),
  (8, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 2001, 0, 2.2250738585072014e-308, 8, 8),
  (9, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 2002, 1, 1.5e15, 9, 9),
  (10, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 2003, 0, 0e0, 10, 10);
SET SESSION sql_mode = '';
CREATE TABLE ty.times (id INT PRIMARY KEY, d DATE, dt DATETIME, dt3 DATETIME(3),
  dt6 DATETIME(6), ts TIMESTAMP NULL, ts2 TIMESTAMP(2) NULL);
INSERT INTO ty.times VALUES
  (1, '2024-02-29', '2024-02-29 23:59:59', '2024-02-29 23:59:59.123',
   '2024-02-29 23:59:59.000001', '2024-02-29 12:00:00', '2024-02-29 12:00:00.5'),
  (2, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00.000',
   '0000-00-00 00:00:00', NULL, NULL),
  (3, '1000-01-01', '1000-01-01 00:00:00', '1000-01-01 00:00:00.000',
   '9999-12-31 23:59:59.999999', '1970-01-01 00:00:01', '2038-01-19 03:14:07.99'),
  (4, NULL, NULL, NULL, NULL, NULL, NULL),
  (5, '2020-00-00', '2020-01-00 10:00:00', '2020-01-01 00:00:00.010', '2020-01-01 00:00:00.100000',
   '2001-09-09 01:46:40', '2001-09-09 01:46:40.01');
SET SESSION sql_mode = DEFAULT;
CREATE TABLE ty.texts (id INT PRIMARY KEY, v VARCHAR(40), c CHAR(5), t TEXT, lt LONGTEXT,
  vb VARBINARY(20), bl LONGBLOB, j JSON, e ENUM('a', 'b,c', 'ü'), s SET('x', 'y', 'z'))
  DEFAULT CHARSET utf8mb4;
INSERT INTO ty.texts VALUES
  (1, 'plain', 'ab', 'line1\nline2\ttab', REPEAT('x', 1048576), UNHEX('00FF10'),
   UNHEX(REPEAT('00FF7F80', 300000)), '{"a": [1, 2.5, null], "b": "ü"}', 'b,c', 'x,z'),
  (2, 'Grüße, "quoted"', 'çé', '日本語のテキスト', 'Ωμέγα 😀', '', '', '[]', 'ü', ''),
  (3, '', '', '', '', NULL, NULL, NULL, NULL, NULL),
  (4, NULL, NULL, NULL, NULL, NULL, NULL, 'null', 'a', 'y'),
  (5, REPEAT('é', 40), 'abcde', REPEAT('ab', 30000), 'short', UNHEX('41'), UNHEX('42'),
   '"str"', 'a', 'x,y,z');
CREATE TABLE ty.empty (id INT PRIMARY KEY, v VARCHAR(10), f DOUBLE);
CREATE TABLE ty.others (id INT PRIMARY KEY, tm TIME, fl FLOAT, bi BIT(10), dd DOUBLE(10,3));
INSERT INTO ty.others VALUES (1, '-838:59:59', 1.1, b'1010101010', 2.5),
  (2, '12:34:56', 3.4028234e38, b'1', -1.125), (3, NULL, NULL, NULL, NULL);
CREATE VIEW ty.slow AS SELECT SLEEP(60) AS s;
CREATE USER 'bin_reader'@'%' IDENTIFIED BY '$PW';
GRANT SELECT ON ty.* TO 'bin_reader'@'%';
SQL

lib_conf "$top_builddir/plugins/mysql/.libs"
for s in bin:true txt:false; do
    cat >"$tmp/conf/sources.d/${s%%:*}.conf" <<EOF
name = "${s%%:*}";
type = "mysql";
connection = {
    host = "127.0.0.1";
    port = $MARIADB_PRIMARY_PORT;
    database = "ty";
    user = "bin_reader";
    password = "env:DSRC_MYBIN_PASSWORD";
    fetch_binary = ${s#*:};
};
EOF
done
DSRC_MYBIN_PASSWORD=$PW
export DSRC_MYBIN_PASSWORD
C="-c $tmp/conf/dsrcd.conf"

# The server's count of prepared statements run.
executes() {
    "$FIXTURE" sql "$mdir" primary -N -e "SHOW GLOBAL STATUS LIKE 'Com_stmt_execute'" |
        awk '{ print $2 }'
}

# compare WANT_BINARY LABEL FETCH-ARGS...: the same bytes from both
# sources; WANT_BINARY 1 when the binary source must have run a prepared
# statement, 0 when it must not have.
compare() {
    bw=$1 label=$2
    shift 2
    before=$(executes)
    expect 0 "$DSRC" $C fetch bin "$@" -o "$tmp/bin.out" -q
    after=$(executes)
    expect 0 "$DSRC" $C fetch txt "$@" -o "$tmp/txt.out" -q
    if cmp -s "$tmp/bin.out" "$tmp/txt.out"; then ok; else
        bad "$label: the binary and the text protocol wrote different bytes"
        diff "$tmp/bin.out" "$tmp/txt.out" | cut -c1-200 | head -20
    fi
    if [ "$bw" = 1 ] && [ "$((after - before))" -ge 1 ]; then ok
    elif [ "$bw" = 0 ] && [ "$after" -eq "$before" ]; then ok
    else bad "$label: Com_stmt_execute went from $before to $after (binary wanted: $bw)"; fi
}

for fmt in csv jsonl; do
    for t in nums times texts empty; do
        compare 1 "$t as $fmt" "ty/$t" -f "$fmt"
        [ "$t" = empty ] || [ -s "$tmp/bin.out" ] && ok || bad "$t as $fmt: nothing written"
    done
    compare 0 "others as $fmt" ty/others -f "$fmt"
    compare 1 "a column subset as $fmt" ty/texts --columns lt,id,j -f "$fmt"
    compare 1 "a limit as $fmt" ty/nums --limit 3 -f "$fmt"
    compare 0 "an incremental fetch as $fmt" ty/nums --cursor-field id --after 3 -f "$fmt"
done

# the values themselves, not only their agreement
expect 0 "$DSRC" $C fetch bin ty/nums -f csv -o "$tmp/nums.csv" -q
has "$tmp/nums.csv" "1,-128,255,-32768,-8388608,16777215,-2147483648,4294967295,-9223372036854775808,18446744073709551615,5,2024,1,0.30000000000000004,-12345678901234567890.0123456789,0"
has "$tmp/nums.csv" "2,127,0,32767,8388607,0,2147483647,0,9223372036854775807,9223372036854775808,123456,0,0,-1.2345678901234568e-300,"
expect 0 "$DSRC" $C fetch bin ty/times -f csv -o "$tmp/times.csv" -q
has "$tmp/times.csv" "1,2024-02-29,2024-02-29T23:59:59,2024-02-29T23:59:59.123,2024-02-29T23:59:59.000001,2024-02-29T12:00:00Z,2024-02-29T12:00:00.50Z"
has "$tmp/times.csv" "2,0000-00-00,0000-00-00 00:00:00,0000-00-00 00:00:00.000,0000-00-00 00:00:00.000000,,"
expect 0 "$DSRC" $C fetch bin ty/texts -f csv --columns id,lt -o "$tmp/lt.csv" -q
[ "$(head -c 200000000 "$tmp/lt.csv" | wc -c)" -gt 1048576 ] && ok || bad "the 1 MiB text was cut"

# a missing table: the same failure from both
expect 1 "$DSRC" $C fetch bin ty/nosuch -o - -q
sed "s/'bin'/'SOURCE'/g" "$tmp/err" >"$tmp/bin.err"
expect 1 "$DSRC" $C fetch txt ty/nosuch -o - -q
sed "s/'txt'/'SOURCE'/g" "$tmp/err" >"$tmp/txt.err"
has "$tmp/bin.err" "no table or view 'ty/nosuch'"
same "$tmp/bin.err" "$tmp/txt.err"

# SIGINT while the prepared statement runs: its KILL QUERY ends the fetch
# (130 within seconds), which does not run the statement again as text
"$DSRC" $C fetch bin ty/slow -o "$tmp/slow.csv" >"$tmp/o" 2>"$tmp/e" &
pid=$!
n=100
until [ "$("$FIXTURE" sql "$mdir" primary -N -e "SELECT COUNT(*) FROM information_schema.PROCESSLIST
  WHERE USER = 'bin_reader' AND COMMAND = 'Execute'")" = 1 ] || [ $n -eq 0 ]; do
    sleep 0.1; n=$((n - 1))
done
t0=$(date +%s%N)
kill -INT "$pid"
wait_exit "$pid" 20
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$rc" -eq 130 ] && ok || { bad "fetch of a slow view after SIGINT: exit $rc, not 130"; cat "$tmp/e" "$tmp/hung" 2>/dev/null; }
[ "$ms" -lt 15000 ] && ok || bad "fetch of a slow view: exited $ms ms after SIGINT"
[ ! -e "$tmp/slow.csv" ] && ok || bad "a cancelled fetch left $tmp/slow.csv"

# a value of fetch_binary that is not a boolean
sed 's/fetch_binary = true/fetch_binary = "maybe"/' "$tmp/conf/sources.d/bin.conf" >"$tmp/conf/sources.d/bad.conf"
sed -i 's/name = "bin"/name = "bad"/' "$tmp/conf/sources.d/bad.conf"
expect 78 "$DSRC" $C test bad
has "$tmp/err" "fetch_binary"
rm -f "$tmp/conf/sources.d/bad.conf"

finish mysql_binary
