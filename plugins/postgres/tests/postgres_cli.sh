#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# postgres.so through the real dsrc binary against a real server:
#   - a 1 000 000-row table with several column types fetched as CSV is
#     byte-identical to what psql's \copy (...) to FILE csv header writes;
#   - incremental fetches after inserts return exactly the new rows;
#   - a table without columns comes out as psql writes it;
#   - NaN and infinities in JSON Lines are what the server's to_json() writes;
#   - server notices reach dsrc's log, redacted, never raw on stderr;
#   - incremental fetches with a limit that ends inside a group of equal
#     cursor values bring every row exactly once;
#   - a wrong password fails with the auth error and never shows up.
# The server comes from plugins/postgres/tests/fixture/pg-fixture (skipped, 77, when no
# PostgreSQL server is installed).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
lib_tmpdir dsrc-pgcli
pgdir=""
cleanup() {
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
    mountpoint -q "$tmp/small" 2>/dev/null && umount "$tmp/small"
}


pg_start --no-replica

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
CREATE TABLE public.ties (id int PRIMARY KEY, ts int, v text);
INSERT INTO public.ties SELECT g, (g + 1) / 2, 'v' || g FROM generate_series(1, 10) g;
CREATE TABLE public.ties_b AS SELECT * FROM public.ties;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO dsrc_test;
SQL
printf 'loaded 1 000 000 rows in %s s\n' $(( $(date +%s) - t0 ))

pg_dsrcd_conf "$tmp/conf" warning
pg_source_conf DSRC_PG_CLI_PASSWORD >"$tmp/conf/sources.d/pg.conf"
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

# --- a table without columns: its rows as psql writes them; server ---------
# --- notices: in dsrc's log, redacted, never raw on stderr -----------------
su_psql <<SQL || bad "loading the notice and no-column tables failed"
CREATE TABLE public.nocols ();
INSERT INTO public.nocols SELECT FROM generate_series(1, 3);
CREATE FUNCTION public.chatty() RETURNS int LANGUAGE plpgsql AS \$f\$
BEGIN
  RAISE WARNING 'the server says hello; pw=%', \$pw\$$PG_PASSWORD\$pw\$;
  RETURN 1;
END \$f\$;
CREATE VIEW public.noisy AS SELECT public.chatty() AS v;
GRANT SELECT ON public.nocols, public.noisy TO $PG_USER;
SQL
expect 0 $C fetch -q pg public/nocols -o "$tmp/nocols.csv"
user_psql -c "\\copy (SELECT * FROM public.nocols) to '$tmp/nocols-psql.csv' csv header" ||
    bad "psql \\copy failed"
same "$tmp/nocols.csv" "$tmp/nocols-psql.csv"
has "$tmp/nocols.csv.manifest.json" '"rows": 3'
expect 0 $C fetch -q pg public/nocols -f jsonl -o "$tmp/nocols.jsonl"
[ "$(cat "$tmp/nocols.jsonl")" = "$(printf '{}\n{}\n{}')" ] && ok ||
    bad "no-column rows as JSON Lines: $(cat "$tmp/nocols.jsonl")"
has "$tmp/nocols.jsonl.manifest.json" '"rows": 3'
expect 0 $C fetch -q pg public/noisy -f jsonl -o -
has "$tmp/out" '{"v":1}'
grep -q '^dsrc: warning: \[pg/postgres\] server .*: WARNING: the server says hello' "$tmp/err" &&
    ok || { bad "the server's warning is not in dsrc's log"; sed 's/^/  err: /' "$tmp/err"; }
hasnt "$tmp/err" "$PG_PASSWORD"

# --- NaN and infinities: what the server's own to_json() writes ------------
su_psql <<SQL || bad "loading the float table failed"
CREATE TABLE public.floats (k int PRIMARY KEY, f float8, r real);
INSERT INTO public.floats VALUES (1, 'NaN', 'NaN'), (2, 'Infinity', '-Infinity'),
  (3, '-Infinity', 'Infinity'), (4, NULL, NULL), (5, 1.5, -0.25);
GRANT SELECT ON public.floats TO $PG_USER;
SQL
expect 0 $C fetch -q pg public/floats -f jsonl -o "$tmp/floats.jsonl"
user_psql -At -c "SELECT coalesce(to_json(f)::text, 'null') FROM public.floats ORDER BY k" >"$tmp/floats-pg.txt" ||
    bad "psql to_json failed"
user_psql -At -c "SELECT coalesce(to_json(r)::text, 'null') FROM public.floats ORDER BY k" >>"$tmp/floats-pg.txt" ||
    bad "psql to_json failed"
/usr/bin/python3 -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
pg = [json.loads(l) for l in open(sys.argv[2])]
mine = [r["f"] for r in rows] + [r["r"] for r in rows]
sys.exit(0 if mine == pg and pg[0] == "NaN" and pg[3] is None else "dsrc %r, to_json %r" % (mine, pg))' \
    "$tmp/floats.jsonl" "$tmp/floats-pg.txt" && ok || bad "NaN and infinities differ from to_json()"
expect 0 $C fetch -q pg public/floats -o "$tmp/floats.csv"
user_psql -c "\\copy (SELECT * FROM public.floats) to '$tmp/floats-psql.csv' csv header" ||
    bad "psql \\copy failed"
same "$tmp/floats.csv" "$tmp/floats-psql.csv"

# --- incremental fetches with a limit inside groups of equal values --------
# ts = 1,1,2,2,...,5,5: each run of -n 3 ends with the whole group of its
# last value, so four runs bring ids 1 to 10 exactly once and a fifth none.
# public/ties_b: the cursor column is not among the columns sent (the
# cursor_max then comes from a query of its own).
# ties_runs ITEM [ARGS...]: the first field of every data line of four runs,
# one a line, on stdout; then the fifth run, which must send no row.
ties_runs() {
    item=$1
    shift
    for run in 1 2 3 4; do
        expect 0 $C fetch -q pg "$item" -k ts --incremental -n 3 "$@" -o -
        tail -n +2 "$tmp/out" | cut -d, -f1
    done
}
for item in public/ties public/ties_b; do
    if [ "$item" = public/ties ]; then cols=id,ts,v; else cols=id,v; fi
    ties_runs "$item" -c "$cols" >"$tmp/ties.ids"
    got=$(sort -n "$tmp/ties.ids" | tr '\n' ' ')
    [ "$got" = "1 2 3 4 5 6 7 8 9 10 " ] && ok || bad "$item: four runs of -n 3 brought ids: $got"
    expect 0 $C fetch -q pg "$item" -k ts --incremental -n 3 -c "$cols" -o -
    [ "$(wc -l < "$tmp/out")" -le 1 ] && ok || bad "$item: a fifth run brought rows"
done

# --- a wrong password ------------------------------------------------------
DSRC_PG_CLI_PASSWORD=not-the-password-4711
expect 1 $C test pg
DSRC_PG_CLI_PASSWORD=$PG_PASSWORD
has "$tmp/err" "password authentication failed"
hasnt "$tmp/err" "not-the-password-4711"
hasnt "$tmp/err" "$PG_PASSWORD"

finish postgres_cli
