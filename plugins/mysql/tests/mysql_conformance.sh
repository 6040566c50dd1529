#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrc conformance passes mysql.so against a real MariaDB server: with
# nothing but the source (the program picks a database, a table and its key
# as the cursor), and with a quirks file naming them and a bad option
# value.  The server comes from plugins/mysql/tests/fixture/mariadb-fixture
# (skipped, 77, when none is installed).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/mysql/tests/fixture/mariadb-fixture"
lib_tmpdir dsrc-myconf
mdir=""
cleanup() { [ -n "$mdir" ] && "$FIXTURE" stop "$mdir" >/dev/null 2>&1; }

mdir=$("$FIXTURE" start --no-replica --owner $$)
rc=$?
if [ "$rc" -eq 77 ]; then mdir=""; exit 77; fi
[ "$rc" -eq 0 ] && [ -n "$mdir" ] || { mdir=""; echo "the MariaDB fixture did not start"; exit 99; }
. "$mdir/fixture.env"
PW=Conf-$$-pw
"$FIXTURE" sql "$mdir" primary <<SQL || { echo "loading the test data failed"; exit 99; }
CREATE DATABASE shop;
USE shop;
CREATE TABLE shop.customers (id BIGINT PRIMARY KEY, name VARCHAR(40) NOT NULL, email VARCHAR(80));
CREATE TABLE shop.orders (id BIGINT PRIMARY KEY, customer_id BIGINT, amount DECIMAL(12,2),
  ratio DOUBLE, at DATETIME, flag BOOLEAN, data VARBINARY(16),
  FOREIGN KEY (customer_id) REFERENCES shop.customers (id));
INSERT INTO shop.customers SELECT seq, CONCAT('c', seq), IF(seq % 3 = 0, CONCAT('c', seq, '@example.org'), NULL)
FROM seq_1_to_50;
INSERT INTO shop.orders SELECT seq, seq % 50 + 1, seq * 1.25, seq / 7.0,
  TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq MINUTE, seq % 2 = 0, UNHEX(HEX(seq))
FROM seq_1_to_20000;
CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE amount > 100;
CREATE USER 'conf_reader'@'%' IDENTIFIED BY '$PW';
GRANT SELECT, SHOW VIEW ON shop.* TO 'conf_reader'@'%';
SQL

lib_conf "$top_builddir/plugins/mysql/.libs"
cat >"$tmp/conf/sources.d/my.conf" <<EOF
name = "my";
type = "mysql";
connection = {
    host = "127.0.0.1";
    port = $MARIADB_PRIMARY_PORT;
    database = "shop";
    user = "conf_reader";
    password = "env:DSRC_MYCONF_PASSWORD";
};
tls = { mode = "verify-ca"; ca = "$MARIADB_CA"; };
EOF
DSRC_MYCONF_PASSWORD=$PW
export DSRC_MYCONF_PASSWORD
C="-c $tmp/conf/dsrcd.conf"

conformance_sql my "$PW"
finish mysql_conformance
