# SPDX-License-Identifier: Apache-2.0
# Sourced by the postgres plugin's shell tests, after tests/lib.sh and after
# setting FIXTURE (fixture/pg-fixture) and pgdir="" (which their cleanup
# stops).

# pg_start [FIXTURE-OPTION...]: start a server for this test (watched: it
# stops when the test's shell is gone) and read its env (PG_PORT, PG_USER,
# PG_PASSWORD...).  Exits 77 when no PostgreSQL server is installed, 99
# when the server does not start.
pg_start() {
    pgdir=$("$FIXTURE" start "$@" --watch $$)
    pg_rc=$?
    if [ "$pg_rc" -eq 77 ]; then
        pgdir=""
        exit 77
    fi
    if [ "$pg_rc" -ne 0 ] || [ -z "$pgdir" ]; then
        pgdir=""
        echo "the PostgreSQL fixture did not start"
        exit 99
    fi
    # shellcheck disable=SC1091
    . "$pgdir/env"
}

# su_psql ARG...: psql as the server's superuser.
su_psql() { "$FIXTURE" psql "$pgdir" "$@"; }
