#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# read_policy through the real dsrc binary against a MariaDB primary and its
# replica: reads with read_policy = "replica" are served by the replica
# (reported as the endpoint, recorded in the manifest), "primary" reads go
# to the primary, and `test --all` reports each endpoint's role.
# Skipped (77) without MariaDB.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/mysql/tests/fixture/mariadb-fixture"
lib_tmpdir dsrc-myrep
mdir=""
cleanup() {
    [ -n "$mdir" ] && "$FIXTURE" stop "$mdir" >/dev/null 2>&1
}
. "$top_srcdir/tests/fixtures/replica.sh"

mdir=$("$FIXTURE" start --owner $$)
rc=$?
if [ "$rc" -eq 77 ]; then mdir=""; exit 77; fi
[ "$rc" -eq 0 ] && [ -n "$mdir" ] || { echo "the MariaDB fixture did not start"; exit 1; }
. "$mdir/fixture.env"
PW=Rep-$$-pw
"$FIXTURE" sql "$mdir" primary -e "CREATE DATABASE shop;
  CREATE TABLE shop.t(id INT PRIMARY KEY, v VARCHAR(20));
  INSERT INTO shop.t VALUES (1,'a'),(2,'b'),(3,'c');
  CREATE USER 'rep_reader'@'%' IDENTIFIED BY '$PW';
  GRANT SELECT ON shop.* TO 'rep_reader'@'%';" || bad "cannot create the data"
"$FIXTURE" sync "$mdir" || bad "replica did not catch up"

replica_sources mysql 127.0.0.1 "$MARIADB_PRIMARY_PORT" "$MARIADB_REPLICA_PORT" shop rep_reader \
    DSRC_MYR_PASSWORD verify-ca "$MARIADB_CA"
DSRC_MYR_PASSWORD=$PW
export DSRC_MYR_PASSWORD

replica_checks shop/t 3
grep -rqF "$PW" "$tmp/out" "$tmp/ws" "$tmp"/*.json 2>/dev/null && bad "password leaked" || ok
finish "mysql replica"
