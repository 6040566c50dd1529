#!/bin/sh
# postgres.so through the real dsrc binary against a real server:
#   - a 1 000 000-row table with several column types fetched as CSV is
#     byte-identical to what psql's \copy (...) to FILE csv header writes;
#   - incremental fetches after inserts return exactly the new rows;
#   - a wrong password fails with the auth error and never shows up.
# The server comes from tests/fixtures/pg/pg-fixture (skipped, 77, when no
# PostgreSQL server is installed).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/tests/fixtures/pg/pg-fixture"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dsrc-pgcli.XXXXXX")
pgdir=""
cleanup() {
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
    mountpoint -q "$tmp/small" 2>/dev/null && umount "$tmp/small"
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect STATUS CMD... : run, keep stdout/stderr in $tmp/out $tmp/err
expect() {
    want=$1; shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok; else
        bad "exit $got (wanted $want): $*"; sed 's/^/  err: /' "$tmp/err" | head -20
    fi
}
has() { # has FILE TEXT
    if grep -qF -- "$2" "$1"; then ok; else bad "'$2' not in $1"; sed 's/^/  | /' "$1" | head -20; fi
}
hasnt() {
    if grep -qF -- "$2" "$1"; then bad "'$2' unexpectedly in $1"; else ok; fi
}
same() { # same FILE1 FILE2
    if cmp "$1" "$2"; then ok; else bad "$1 and $2 differ"; fi
}

pgdir=$("$FIXTURE" start --no-replica --watch $$)
rc=$?
if [ "$rc" -eq 77 ]; then
    pgdir=""
    exit 77
fi
if [ "$rc" -ne 0 ] || [ -z "$pgdir" ]; then
    pgdir=""
    echo "the PostgreSQL fixture did not start"
    exit 1
fi
# shellcheck disable=SC1091
. "$pgdir/env"
su_psql() { "$FIXTURE" psql "$pgdir" "$@"; }

t0=$(date +%s)
su_psql <<'SQL' || { echo "loading the test data failed"; exit 1; }
CREATE TABLE public.big (id bigint PRIMARY KEY, name text, amount numeric(12,2),
  ratio double precision, at timestamptz, day date, flag boolean, note text,
  data bytea, doc jsonb);
INSERT INTO public.big
SELECT g, 'name ' || g, (g * 1.25)::numeric(12,2), g / 7.0,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
       date '2020-01-01' + (g % 2000),
       CASE WHEN g % 3 = 0 THEN NULL ELSE g % 2 = 0 END,
       CASE g % 10 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'a,b "quoted"'
                   WHEN 3 THEN E'line\nbreak' WHEN 4 THEN 'tab	and, comma'
                   ELSE 'plain ' || (g % 97) END,
       CASE WHEN g % 5 = 0 THEN NULL ELSE int8send(g) END,
       CASE WHEN g % 4 = 0 THEN NULL ELSE jsonb_build_object('g', g, 's', 'x"y') END
FROM generate_series(1, 1000000) g;
CREATE TABLE public.events (id bigserial PRIMARY KEY, v text, at timestamptz);
INSERT INTO public.events (v, at) SELECT 'e' || g, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour'
FROM generate_series(1, 10) g;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO dsrc_test;
SQL
printf 'loaded 1 000 000 rows in %s s\n' $(( $(date +%s) - t0 ))

mkdir -p "$tmp/conf/sources.d" "$tmp/state" "$tmp/ws"
cat >"$tmp/conf/dsrcd.conf" <<EOF
plugin_dir = "$top_builddir/plugins/postgres/.libs";
state_dir = "$tmp/state";
workspace = "$tmp/ws";
sources_dir = "$tmp/conf/sources.d";
log_level = "warning";
EOF
cat >"$tmp/conf/sources.d/pg.conf" <<EOF
name = "pg";
type = "postgres";
connection = {
    host = "localhost";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "$PG_USER";
    password = "env:DSRC_PG_CLI_PASSWORD";
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
EOF
DSRC_PG_CLI_PASSWORD=$PG_PASSWORD
export DSRC_PG_CLI_PASSWORD
C="$DSRC -c $tmp/conf/dsrcd.conf"

# psql as the same user over the same kind of connection.
user_psql() {
    PGPASSWORD=$PG_PASSWORD "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 \
        "host=localhost port=$PG_PORT dbname=$PG_DATABASE user=$PG_USER sslmode=verify-full sslrootcert=$PG_CA" "$@"
}

# --- 1 000 000 rows: dsrc fetch vs psql \copy, byte for byte ---------------
t0=$(date +%s)
expect 0 $C fetch -q pg public/big -o "$tmp/dsrc.csv"
printf 'dsrc fetch: %s s\n' $(( $(date +%s) - t0 ))
t0=$(date +%s)
user_psql -c "\\copy (SELECT * FROM public.big) to '$tmp/psql.csv' csv header" ||
    bad "psql \\copy failed"
printf 'psql \\copy: %s s\n' $(( $(date +%s) - t0 ))
same "$tmp/dsrc.csv" "$tmp/psql.csv"
lines=$(wc -l < "$tmp/psql.csv")
[ "$lines" -gt 1000000 ] && ok || bad "psql wrote only $lines lines"
has "$tmp/dsrc.csv.manifest.json" '"rows": 1000000'
has "$tmp/dsrc.csv.manifest.json" '"format": "csv-native"'
rm -f "$tmp/dsrc.csv" "$tmp/psql.csv"
# A reader that goes away, a file system that fills: the cause, not the
# plugin's "stopped by the receiver"
( trap '' PIPE; $C fetch pg public/big -o - 2>"$tmp/epipe.err"; echo $? >"$tmp/epipe.rc" ) |
    head -c 1 >/dev/null
[ "$(cat "$tmp/epipe.rc")" = 1 ] && ok || bad "exit $(cat "$tmp/epipe.rc") on a broken pipe"
has "$tmp/epipe.err" "cannot write standard output: Broken pipe"
mkdir "$tmp/small"
if mount -t tmpfs -o size=1m tmpfs "$tmp/small" 2>/dev/null; then
    expect 1 $C -v -v fetch pg public/big -o "$tmp/small/big.csv"
    has "$tmp/err" "cannot write $tmp/small/big.csv: No space left on device"
    grep -q "stopped by" "$tmp/err" && bad "the plugin's 'stopped' hides ENOSPC" || ok
    [ -z "$(ls -A "$tmp/small")" ] && ok || bad "left on a full file system: $(ls -A "$tmp/small")"
    umount "$tmp/small"
fi

# A column list and a limit give what the same query gives psql.
expect 0 $C fetch -q pg public/big -c note,id,doc -n 1000 -k id -a 499000 -o "$tmp/part.csv"
user_psql -c "\\copy (SELECT note, id, doc FROM public.big WHERE id > 499000 ORDER BY id LIMIT 1000) to '$tmp/part-psql.csv' csv header" ||
    bad "psql \\copy failed"
same "$tmp/part.csv" "$tmp/part-psql.csv"
has "$tmp/part.csv.manifest.json" '"to": "500000"'
# the native CSV's manifest names its columns, in the order asked for
/usr/bin/python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
names = [c["name"] for c in m["schema"]]
sys.exit(0 if m["format"] == "csv-native" and names == ["note", "id", "doc"] and
         m["schema"][1]["primary_key"] == 1 else "manifest schema: %r" % m["schema"])' \
    "$tmp/part.csv.manifest.json" && ok || bad "the native CSV's manifest has no schema"

# --- incremental fetches after inserts -------------------------------------
expect 0 $C fetch -q pg public/events -k id --incremental -o "$tmp/inc1.csv"
[ "$(wc -l < "$tmp/inc1.csv")" -eq 11 ] && ok || bad "first incremental fetch: $(wc -l < "$tmp/inc1.csv") lines"
su_psql -c "INSERT INTO public.events (v, at) VALUES ('new1', now()), ('new, 2', NULL), (E'new\n3', now())" ||
    bad "insert failed"
expect 0 $C fetch -q pg public/events -k id --incremental -o "$tmp/inc2.csv"
user_psql -c "\\copy (SELECT * FROM public.events WHERE id > 10 ORDER BY id) to '$tmp/inc2-psql.csv' csv header" ||
    bad "psql \\copy failed"
same "$tmp/inc2.csv" "$tmp/inc2-psql.csv"
has "$tmp/inc2.csv.manifest.json" '"from": "10"'
has "$tmp/inc2.csv.manifest.json" '"to": "13"'
# Nothing new: only the header.
expect 0 $C fetch -q pg public/events -k id --incremental -o "$tmp/inc3.csv"
[ "$(wc -l < "$tmp/inc3.csv")" -eq 1 ] && ok || bad "third incremental fetch: $(wc -l < "$tmp/inc3.csv") lines"
# The same as JSON Lines, typed.
expect 0 $C fetch -q pg public/events -k id -a 12 -f jsonl -o "$tmp/inc.jsonl"
has "$tmp/inc.jsonl" '{"id":13,"v":"new\n3","at":"'

# --- a wrong password ------------------------------------------------------
DSRC_PG_CLI_PASSWORD=not-the-password-4711
expect 1 $C test pg
DSRC_PG_CLI_PASSWORD=$PG_PASSWORD
has "$tmp/err" "password authentication failed"
hasnt "$tmp/err" "not-the-password-4711"
hasnt "$tmp/err" "$PG_PASSWORD"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
