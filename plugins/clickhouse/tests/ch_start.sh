# SPDX-License-Identifier: Apache-2.0
# ch_start.sh -- sourced by the clickhouse tests after tests/lib.sh, with
# FIXTURE set: starts the fixture's server (cdir: its directory, which the
# test's cleanup stops), loads fixture.env; exits 77 when ClickHouse is not
# installed, 99 when it does not start.
cdir=$("$FIXTURE" start --owner $$)
rc=$?
if [ "$rc" -eq 77 ]; then cdir=""; exit 77; fi
[ "$rc" -eq 0 ] && [ -n "$cdir" ] || { cdir=""; echo "the ClickHouse fixture did not start"; exit 99; }
. "$cdir/fixture.env"
