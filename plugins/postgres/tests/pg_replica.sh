#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# read_policy through the real dsrc binary against a PostgreSQL primary and
# its streaming replica: reads with read_policy = "replica" are served by the
# standby (reported as the endpoint, recorded in the manifest), "primary"
# reads go to the primary, discover always goes to the primary, and `test
# --all` reports each endpoint's role.  Skipped (77) without PostgreSQL.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
lib_tmpdir dsrc-pgrep
pgdir=""
cleanup() {
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
}
. "$top_srcdir/tests/fixtures/replica.sh"

pg_start
"$FIXTURE" psql "$pgdir" -c "CREATE TABLE public.t(id int PRIMARY KEY, v text);
  INSERT INTO public.t SELECT g, 'row ' || g FROM generate_series(1, 10) g;
  GRANT SELECT ON public.t TO $PG_USER;" >/dev/null || bad "cannot create the table"
"$FIXTURE" wait-replica "$pgdir" || bad "replica did not catch up"

replica_sources postgres localhost "$PG_PORT" "$PG_REPLICA_PORT" "$PG_DATABASE" "$PG_USER" \
    DSRC_PGR_PASSWORD verify-full "$PG_CA"
DSRC_PGR_PASSWORD=$PG_PASSWORD
export DSRC_PGR_PASSWORD

replica_checks public/t 10
finish "pg replica"
