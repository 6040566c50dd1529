#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrcd with --log-target journal against a real systemd-journald and a real
# PostgreSQL: the events an operator alerts on reach the journal with their
# MESSAGE_ID (dsrcd(8)) and the DSRC_SOURCE field: the source up, schema
# drift, the server stopped (the source down, its circuit breaker open, a
# scheduled fetch failed).  journald runs in a private mount namespace (its
# own /run/systemd and journal directories on tmpfs), so the host's
# journal, if any, is left alone.  Skipped (77) when not root, without
# unshare or journald, or when no PostgreSQL server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
JOURNALD=/lib/systemd/systemd-journald
[ "$(id -u)" -eq 0 ] || { echo "not root: skipped"; exit 77; }
for t in unshare journalctl python3; do
    command -v $t >/dev/null || { echo "$t missing: skipped"; exit 77; }
done
[ -x "$JOURNALD" ] || { echo "no systemd-journald: skipped"; exit 77; }
if [ -z "${DSRC_TEST_IN_NS:-}" ]; then
    DSRC_TEST_IN_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi
DSRCD="$top_builddir/dsrcd"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
lib_tmpdir dsrcd-journal
pgdir="" jpid="" pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
    [ -n "$jpid" ] && kill "$jpid" 2>/dev/null && wait "$jpid" 2>/dev/null
}

for d in /run/systemd /run/log /var/log/journal; do
    [ -d "$d" ] || [ "$d" != /var/log/journal ] || continue
    mkdir -p "$d" && mount -t tmpfs tmpfs "$d" || { echo "cannot mount a tmpfs on $d: skipped"; exit 77; }
done
mkdir -p /run/systemd/journal
"$JOURNALD" >"$tmp/journald.log" 2>&1 &
jpid=$!
wait_until test -S /run/systemd/journal/socket && ok ||
    { bad "journald did not start"; cat "$tmp/journald.log"; finish pg_journal; exit 1; }

pg_start --no-replica
su_psql -c "CREATE TABLE public.t(x integer); INSERT INTO public.t VALUES (1);
            GRANT SELECT ON public.t TO $PG_USER;" >/dev/null

mkdir -p "$tmp/sources.d"
cat >"$tmp/dsrcd.conf" <<EOC
plugin_dir = "$top_builddir/plugins/postgres/.libs";
state_dir = "$tmp/state";
control_socket = "$tmp/dsrcd.sock";
EOC
cat >"$tmp/sources.d/pg.conf" <<EOC
name = "pg";
type = "postgres";
connection = {
    host = "localhost";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "$PG_USER";
    password = "env:DSRC_PGJ_PASSWORD";
    connect_timeout = "2s";
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
pool = { max_size = 2; validate_after = "0s"; };
schedule = { health = "@every 1s"; discover = "@every 1s"; };
fetch = ( { item = "$PG_DATABASE/public/t"; schedule = "@every 1s"; } );
EOC
DSRC_PGJ_PASSWORD=$PG_PASSWORD
export DSRC_PGJ_PASSWORD

"$DSRCD" -c "$tmp/dsrcd.conf" --foreground --log-target journal >"$tmp/stderr" 2>&1 &
pid=$!

# journal MATCH...: dsrcd's entries for source pg matching MATCH, as JSON
journal() { journalctl --no-pager -o json _COMM=dsrcd DSRC_SOURCE=pg "$@" 2>/dev/null; }
# mid WHAT ID: wait up to 40 s for an entry with MESSAGE_ID=ID
mid() {
    n=400
    while [ $n -gt 0 ]; do
        journal MESSAGE_ID="$2" >"$tmp/j"
        [ -s "$tmp/j" ] && { ok; return 0; }
        sleep 0.1; n=$((n - 1))
    done
    bad "no '$1' entry (MESSAGE_ID=$2) in the journal"
    journalctl --no-pager -o short _COMM=dsrcd | tail -20
    return 1
}

mid "source up" 1bcb628256d84d5dbdc897afab6ba44b
# drift: a column added between two discovers; each kind of change has a
# MESSAGE_ID of its own (catalog.h)
su_psql -c "ALTER TABLE public.t ADD COLUMN y text;" >/dev/null
n=400
while [ $n -gt 0 ]; do
    journal | grep 'schema drift' >"$tmp/j"
    [ -s "$tmp/j" ] && break
    sleep 0.1; n=$((n - 1))
done
python3 -c 'import json,sys; e=json.loads(open(sys.argv[1]).readline()); sys.exit(0 if len(e.get("MESSAGE_ID",""))==32 and "column_added" in e["MESSAGE"] else 1)' "$tmp/j" &&
    ok || { bad "no schema drift entry with a MESSAGE_ID"; cat "$tmp/j"; }

# the server stopped: down, breaker open, the scheduled fetch failed
pg_as_server "$PG_BINDIR/pg_ctl" -D "$PG_DIR/primary" -m immediate -w stop >/dev/null 2>&1 ||
    bad "could not stop the server"
mid "source down" 5678c36e1b8f44bcac33a59f83787101
mid "breaker open" 4a59811ad7924d0b86a331308f2760ad
mid "run failed" f250d3b3f6e442edb4f2189541dfe214
# the entries carry the priority of their kind and never the password
journal MESSAGE_ID=5678c36e1b8f44bcac33a59f83787101 | grep -q '"PRIORITY":"3"' && ok ||
    bad "source down is not logged at priority err"
journal | grep -q "$PG_PASSWORD" && bad "password in the journal" || ok
grep -q "the journal cannot be written to" "$tmp/stderr" &&
    { bad "dsrcd fell back to stderr with journald running"; cat "$tmp/stderr"; } || ok
kill -TERM "$pid"; wait "$pid"; st=$?; pid=
[ "$st" -eq 0 ] && ok || bad "dsrcd exit status $st"
finish pg_journal
