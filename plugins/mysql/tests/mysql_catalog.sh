#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The catalog against a real MariaDB server: a 2 000-table catalog
# discovered 100 times (4 in a sanitizer build) with no change (rows and
# statistics moving in between) gives no drift event; a type change, a dropped NOT NULL, a
# dropped column and a table replaced by a view each give exactly one event
# of the right kind and class.  The server comes from
# plugins/mysql/tests/fixture/mariadb-fixture (skipped, 77, when none is
# installed).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/mysql/tests/fixture/mariadb-fixture"
lib_tmpdir dsrc-mycat
mdir=""
cleanup() { [ -n "$mdir" ] && "$FIXTURE" stop "$mdir" >/dev/null 2>&1; }

mdir=$("$FIXTURE" start --no-replica --owner $$)
rc=$?
if [ "$rc" -eq 77 ]; then mdir=""; exit 77; fi
[ "$rc" -eq 0 ] && [ -n "$mdir" ] || { mdir=""; echo "the MariaDB fixture did not start"; exit 99; }
. "$mdir/fixture.env"
my() { "$FIXTURE" sql "$mdir" primary -e "$1"; }
PW=Cat-$$-pw
{
    echo "CREATE DATABASE cat;"
    i=1
    while [ $i -le 2000 ]; do
        printf 'CREATE TABLE cat.t%04d (id BIGINT PRIMARY KEY, name VARCHAR(40) NOT NULL, price DECIMAL(10,2) DEFAULT 0, at DATETIME);\n' $i
        i=$((i + 1))
    done
    echo "CREATE TABLE cat.src (x INT, y VARCHAR(10)); CREATE TABLE cat.swap (x INT, y VARCHAR(10));"
    echo "CREATE USER 'cat_reader'@'%' IDENTIFIED BY '$PW'; GRANT SELECT, SHOW VIEW ON cat.* TO 'cat_reader'@'%';"
} >"$tmp/load.sql"
"$FIXTURE" sql "$mdir" primary <"$tmp/load.sql" || { echo "loading the test data failed"; exit 99; }

lib_conf "$top_builddir/plugins/mysql/.libs" 'log_level = "warning";'
CONF="$tmp/conf/dsrcd.conf"
cat >"$tmp/conf/sources.d/my.conf" <<EOF
name = "my";
type = "mysql";
connection = {
    host = "127.0.0.1";
    port = $MARIADB_PRIMARY_PORT;
    database = "cat";
    user = "cat_reader";
    password = "env:DSRC_MY_CAT_PASSWORD";
};
tls = { mode = "verify-ca"; ca = "$MARIADB_CA"; };
EOF
DSRC_MY_CAT_PASSWORD=$PW
export DSRC_MY_CAT_PASSWORD
. "$top_srcdir/tests/integration/catalog_lib.sh"

expect 0 "$DSRC" -c "$CONF" discover my
has "$tmp/out" "catalog changed (snapshot 1)"
# The certificate the server presents (the fixture's: 365 days), read
# through the TLS connection by the health probe.
expect 0 "$DSRC" -c "$CONF" --json health my
d=$(python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["endpoints"][0]["server_cert_expiry_days"])' <"$tmp/out" 2>&1)
python3 -c 'import sys; sys.exit(0 if 363 < float(sys.argv[1]) <= 366 else 1)' "$d" 2>/dev/null && ok ||
    bad "server certificate expiry days: $d"
expect 0 "$DSRC" -c "$CONF" health my
has "$tmp/out" "server certificate: expires in 36"
for i in 1 2 3 4; do
    my "INSERT INTO cat.t0001 (id, name) VALUES ($i, 'n'); ANALYZE TABLE cat.t0001;" >/dev/null
    no_false_alarm my 25
done

my "ALTER TABLE cat.t0002 MODIFY at VARCHAR(10)" >/dev/null
expect_change my column_type_changed breaking cat/t0002
my "ALTER TABLE cat.t0003 MODIFY name VARCHAR(80) NOT NULL" >/dev/null
expect_change my column_type_changed non-breaking cat/t0003
my "ALTER TABLE cat.t0004 MODIFY name VARCHAR(40) NULL" >/dev/null
expect_change my column_nullability_changed non-breaking cat/t0004
my "ALTER TABLE cat.t0005 DROP COLUMN at" >/dev/null
expect_change my column_removed breaking cat/t0005
my "DROP TABLE cat.swap; CREATE VIEW cat.swap AS SELECT x, y FROM cat.src" >/dev/null
expect_change my item_kind_changed non-breaking cat/swap
my "DROP TABLE cat.t0006" >/dev/null
expect_change my item_removed breaking cat/t0006
grep -rqF "$PW" "$tmp/out" "$tmp/err" "$tmp/state" 2>/dev/null && bad "password leaked" || ok

finish mysql_catalog
