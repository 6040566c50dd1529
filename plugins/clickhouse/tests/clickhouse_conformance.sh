#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrc conformance passes clickhouse.so against a real ClickHouse server:
# with nothing but the source (the program picks a database, a table and
# its key as the cursor), and with a quirks file naming them and a bad
# option value.  The server comes from
# plugins/clickhouse/tests/fixture/clickhouse-fixture (skipped, 77, when
# none is installed).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/clickhouse/tests/fixture/clickhouse-fixture"
lib_tmpdir dsrc-chconf
cdir=""
cleanup() { [ -n "$cdir" ] && "$FIXTURE" stop "$cdir" >/dev/null 2>&1; }

. "$top_srcdir/plugins/clickhouse/tests/ch_start.sh"
"$FIXTURE" sql "$cdir" <<'SQL' || { echo "loading the test data failed"; exit 99; }
CREATE DATABASE shop;
CREATE TABLE shop.customers (id Int64, name String, email Nullable(String))
  ENGINE = MergeTree ORDER BY id;
CREATE TABLE shop.orders (id Int64, customer_id Nullable(Int64), amount Decimal(12, 2),
  ratio Float64, at DateTime, flag UInt8, data FixedString(4)) ENGINE = MergeTree ORDER BY id;
INSERT INTO shop.customers SELECT number + 1, concat('c', toString(number + 1)),
  if((number + 1) % 3 = 0, concat('c', toString(number + 1), '@example.org'), NULL)
  FROM system.numbers LIMIT 50;
INSERT INTO shop.orders SELECT number + 1, (number + 1) % 50 + 1, (number + 1) * 1.25,
  (number + 1) / 7.0, toDateTime('2024-01-01 00:00:00') + (number + 1) * 60,
  (number + 1) % 2 = 0, toFixedString(hex(number % 65536), 4) FROM system.numbers LIMIT 20000;
CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE amount > 100;
SQL

lib_conf "$top_builddir/plugins/clickhouse/.libs"
cat >"$tmp/conf/sources.d/ch.conf" <<EOF
name = "ch";
type = "clickhouse";
connection = {
    host = "127.0.0.1";
    port = $CLICKHOUSE_HTTP_PORT;
    database = "shop";
    user = "reader";
    password = "env:DSRC_CHCONF_PASSWORD";
};
EOF
DSRC_CHCONF_PASSWORD=$CLICKHOUSE_READER_PASSWORD
export DSRC_CHCONF_PASSWORD
C="-c $tmp/conf/dsrcd.conf"

conformance_sql ch "$CLICKHOUSE_READER_PASSWORD"
finish clickhouse_conformance
