#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The CSV fetch of a large table over two connections in one snapshot,
# through the real dsrc binary against a real server:
#   - byte-identical to psql's \copy, in the same order, for a table of
#     rows of varied widths with TOAST values and NULLs, a table with
#     holes (deleted rows, VACUUM-ed pages), a column list, and with
#     fetch_parallel = 1 (one COPY), when no second login can be had, and
#     with the plugin in a worker process, and from a streaming replica;
#   - typed rows (JSON Lines) over two connections the same bytes as
#     from one COPY;
#   - the debug log says which way it went;
#   - rows inserted while the fetch runs never appear, none comes twice;
#   - a cancel mid-fetch stops both server backends;
#   - the second backend killed mid-fetch: the fetch fails with the
#     server's reason, no rows twice, no output file left;
#   - the client's memory does not grow with the table.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
lib_tmpdir dsrc-pgpar
pgdir=""
bgpids=""
cleanup() {
    for p in $bgpids; do kill "$p" 2>/dev/null; done
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
}

pg_start

# wide: 60 000 rows of 2 to 3 000 bytes, every 50th with a TOAST value
# (random text that does not compress), NULLs in every column.
su_psql <<'SQL' || { echo "loading the test data failed"; exit 1; }
SELECT setseed(0.5) AS seed \gset
CREATE TABLE public.wide (id int PRIMARY KEY, name text, amount numeric(12,2),
  ratio double precision, at timestamptz, flag boolean, note text, doc jsonb);
INSERT INTO public.wide
SELECT g, CASE WHEN g % 11 = 0 THEN NULL ELSE 'n' || g END,
       CASE WHEN g % 7 = 0 THEN NULL ELSE (g * 1.25)::numeric(12,2) END,
       CASE WHEN g % 13 = 0 THEN NULL ELSE g / 7.0 END,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
       CASE WHEN g % 3 = 0 THEN NULL ELSE g % 2 = 0 END,
       CASE WHEN g % 50 = 0 THEN
                (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 200 + g % 7))
            WHEN g % 10 = 1 THEN ''
            WHEN g % 10 = 2 THEN E'a,b "quoted"\nline'
            ELSE repeat('x', (g * 37) % 3000) END,
       CASE WHEN g % 4 = 0 THEN NULL ELSE jsonb_build_object('g', g, 's', 'x"y') END
FROM generate_series(1, 60000) g;
CREATE TABLE public.holes AS SELECT * FROM public.wide;
DELETE FROM public.holes WHERE id % 3 = 0 OR id BETWEEN 10000 AND 30000;
VACUUM public.holes;
CREATE TABLE public.grow AS SELECT * FROM public.wide;
CREATE TABLE public.big3 AS
  SELECT * FROM public.wide UNION ALL SELECT * FROM public.wide
  UNION ALL SELECT * FROM public.wide UNION ALL SELECT * FROM public.wide;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO dsrc_test;
SQL

pg_dsrcd_conf "$tmp/conf" debug
pg_dsrcd_conf "$tmp/conf1" debug
source_conf() { pg_source_conf DSRC_PG_PAR_PASSWORD "$@"; }
source_conf >"$tmp/conf/sources.d/pg.conf"
{
    source_conf | sed 's/^name = "pg";/name = "pgr";/'
    echo "replicas = { hosts = [ \"localhost:$PG_REPLICA_PORT\" ]; read_policy = \"replica\"; };"
} >"$tmp/conf/sources.d/pgr.conf"
source_conf "fetch_parallel = 1;" >"$tmp/conf1/sources.d/pg.conf"
DSRC_PG_PAR_PASSWORD=$PG_PASSWORD
export DSRC_PG_PAR_PASSWORD
C="$DSRC -c $tmp/conf/dsrcd.conf"
C1="$DSRC -c $tmp/conf1/dsrcd.conf"

user_psql() {
    PGPASSWORD=$PG_PASSWORD "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 \
        "host=localhost port=$PG_PORT dbname=$PG_DATABASE user=$PG_USER sslmode=verify-full sslrootcert=$PG_CA" "$@"
}
size_mib() { su_psql -At -c "SELECT pg_relation_size('public.$1') / 1048576"; }

n=$(size_mib wide)
[ "$n" -ge 16 ] && ok || bad "public.wide is only $n MiB"
n=$(su_psql -At -c "SELECT count(*) FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid
                    WHERE c.relname = 'wide' AND pg_relation_size(t.oid) > 1048576")
[ "$n" = 1 ] && ok || bad "public.wide has no TOAST values"

# --- byte identity with \copy ---------------------------------------------
# same_copy NAME SELECT [DSRC-ARGS...]: dsrc's CSV (two connections, said at
# debug level) and psql's \copy of SELECT are the same bytes.
same_copy() {
    name=$1 sel=$2
    shift 2
    rm -f "$tmp/$name-dsrc.csv"
    expect 0 $C -vv fetch pg "$@" --format csv -o "$tmp/$name-dsrc.csv"
    has "$tmp/err" "over 2 connections"
    user_psql -c "\\copy ($sel) to '$tmp/$name-psql.csv' csv header" || bad "psql \\copy failed"
    if cmp -s "$tmp/$name-dsrc.csv" "$tmp/$name-psql.csv"; then ok; else
        bad "$name: dsrc's CSV differs from psql's \\copy"
        cmp "$tmp/$name-dsrc.csv" "$tmp/$name-psql.csv" | head -3
    fi
}
same_copy wide "SELECT * FROM public.wide" public/wide
same_copy holes "SELECT * FROM public.holes" public/holes
same_copy cols "SELECT note, id, doc FROM public.wide" public/wide -c note,id,doc
same_copy big3 "SELECT * FROM public.big3" public/big3

# The plugin in a worker process: the same.
rm -f "$tmp/wide-iso.csv"
expect 0 env DSRC_ISOLATION=process $C -vv fetch pg public/wide --format csv -o "$tmp/wide-iso.csv"
has "$tmp/err" "over 2 connections"
same "$tmp/wide-iso.csv" "$tmp/wide-psql.csv"

# From the streaming replica: a standby exports its snapshot too.
"$FIXTURE" wait-replica "$pgdir" || bad "replica did not catch up"
rm -f "$tmp/wide-replica.csv"
expect 0 $C -vv fetch pgr public/wide --format csv -o "$tmp/wide-replica.csv"
has "$tmp/err" "served by replica"
has "$tmp/err" "over 2 connections"
same "$tmp/wide-replica.csv" "$tmp/wide-psql.csv"

# fetch_parallel = 1: one COPY, the same bytes.
expect 0 $C1 -vv fetch pg public/wide --format csv -o "$tmp/wide1.csv"
hasnt "$tmp/err" "over 2 connections"
same "$tmp/wide1.csv" "$tmp/wide-psql.csv"
# Typed rows (JSON Lines from the host's cells) over two connections: the
# same bytes as from one COPY, whole table, with holes, a column list.
same_typed() {
    name=$1
    shift
    rm -f "$tmp/$name-2.jsonl" "$tmp/$name-1.jsonl"
    expect 0 $C -vv fetch pg "$@" --format jsonl -o "$tmp/$name-2.jsonl"
    has "$tmp/err" "over 2 connections"
    expect 0 $C1 -vv fetch pg "$@" --format jsonl -o "$tmp/$name-1.jsonl"
    hasnt "$tmp/err" "over 2 connections"
    same "$tmp/$name-2.jsonl" "$tmp/$name-1.jsonl"
}
same_typed wide public/wide
has "$tmp/wide-2.jsonl.manifest.json" '"rows": 60000'
same_typed holes public/holes
same_typed cols public/wide -c note,id,doc
# A cursor keeps typed rows to one COPY, in its order (not the table's:
# rows of varied widths fill its pages out of id order): the same rows.
expect 0 $C -vv fetch pg public/wide --format jsonl --cursor-field id -o "$tmp/wide-cur.jsonl"
hasnt "$tmp/err" "over 2 connections"
sort "$tmp/wide-cur.jsonl" >"$tmp/wide-cur.sorted"
sort "$tmp/wide-1.jsonl" >"$tmp/wide-1.sorted"
same "$tmp/wide-cur.sorted" "$tmp/wide-1.sorted"
# A table under the threshold: one COPY.
su_psql -c "CREATE TABLE public.small AS SELECT * FROM public.wide WHERE id <= 100;
            GRANT SELECT ON public.small TO dsrc_test" >/dev/null
expect 0 $C -vv fetch pg public/small --format csv -o "$tmp/small.csv"
hasnt "$tmp/err" "over 2 connections"
n=$(wc -l <"$tmp/small.csv")
[ "$n" -gt 100 ] && ok || bad "small.csv has $n lines"
# A limit keeps to one COPY, and to its rows.
expect 0 $C -vv fetch pg public/wide --format csv --limit 10 -o "$tmp/lim.csv"
hasnt "$tmp/err" "over 2 connections"

# No second login (the role's connection limit): one COPY, said at debug
# level, the same bytes.
su_psql -c "ALTER ROLE $PG_USER CONNECTION LIMIT 1" >/dev/null || bad "ALTER ROLE failed"
expect 0 $C -vv fetch pg public/wide --format csv -o "$tmp/wide-limit.csv"
has "$tmp/err" "one COPY: no other connection"
has "$tmp/err" "too many connections"
hasnt "$tmp/err" "over 2 connections"
same "$tmp/wide-limit.csv" "$tmp/wide-psql.csv"
expect 0 $C -vv fetch pg public/wide --format jsonl -o "$tmp/wide-limit.jsonl"
has "$tmp/err" "one COPY: no other connection"
same "$tmp/wide-limit.jsonl" "$tmp/wide-1.jsonl"
su_psql -c "ALTER ROLE $PG_USER CONNECTION LIMIT -1" >/dev/null || bad "ALTER ROLE failed"

# --- a stalled fetch --------------------------------------------------------
# start_stalled TABLE [DSRC-ARGS...]: dsrc fetch of TABLE to a pipe nobody
# reads yet, once both connections run their COPY; sets fetch_pid, and
# the reader (fetch_out) starts when `release` is called.
copies() {
    su_psql -At -c "SELECT count(*) FROM pg_stat_activity
                    WHERE query LIKE 'COPY %ctid%' AND pid <> pg_backend_pid()"
}
two_copies() { [ "$(copies)" = 2 ]; }
start_stalled() {
    rm -f "$tmp/fifo" "$tmp/go" "$tmp/stalled.csv"
    mkfifo "$tmp/fifo"
    (exec 3<"$tmp/fifo"; while [ ! -e "$tmp/go" ]; do sleep 0.1; done; cat <&3 >"$tmp/stalled.csv") &
    reader_pid=$!
    bgpids="$bgpids $reader_pid"
    $C fetch -q pg "public/$1" --format csv -o - >"$tmp/fifo" 2>"$tmp/stalled.err" &
    fetch_pid=$!
    bgpids="$bgpids $fetch_pid"
    if wait_until two_copies; then ok; else bad "no two COPYs running for $1"; fi
}
release() {
    touch "$tmp/go"
    wait "$fetch_pid"
    fetch_rc=$?
    wait "$reader_pid"
}
# dups FILE: ids (first field) that come more than once.
dups() { tail -n +2 "$1" | grep -E '^[0-9]+,' | cut -d, -f1 | sort | uniq -d | wc -l; }

# Rows inserted during the fetch: the snapshot of its start only.
user_psql -c "\\copy (SELECT * FROM public.grow) to '$tmp/grow-psql.csv' csv header" ||
    bad "psql \\copy failed"
start_stalled grow
su_psql -c "INSERT INTO public.grow SELECT id + 1000000, name, amount, ratio, at, flag, note, doc
            FROM public.wide; DELETE FROM public.grow WHERE id % 5 = 0" >/dev/null ||
    bad "changing public.grow failed"
release
[ "$fetch_rc" -eq 0 ] && ok || { bad "fetch during inserts: exit $fetch_rc"; cat "$tmp/stalled.err"; }
if cmp -s "$tmp/stalled.csv" "$tmp/grow-psql.csv"; then ok; else
    bad "the fetch during inserts is not the table at its start"
    cmp "$tmp/stalled.csv" "$tmp/grow-psql.csv" | head -3
fi
[ "$(dups "$tmp/stalled.csv")" = 0 ] && ok || bad "rows twice in the fetch during inserts"

# The second backend killed mid-fetch.
start_stalled wide
killed=$(su_psql -At -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                         WHERE query LIKE 'COPY %ctid%' AND pid <> pg_backend_pid()
                         ORDER BY backend_start DESC LIMIT 1")
[ "$killed" = t ] && ok || bad "no backend to kill"
release
[ "$fetch_rc" -ne 0 ] && ok || bad "the fetch succeeded with a backend killed"
grep -Eq "terminat|was lost" "$tmp/stalled.err" && ok || { bad "no reason for the failure"; cat "$tmp/stalled.err"; }
[ "$(dups "$tmp/stalled.csv")" = 0 ] && ok || bad "rows twice after a killed backend"
n=$(wc -l <"$tmp/stalled.csv")
m=$(wc -l <"$tmp/wide-psql.csv")
[ "$n" -lt "$m" ] && ok || bad "a failed fetch wrote all $n lines"
if wait_until sh -c "[ \"\$($FIXTURE psql $pgdir -At -c \"SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY %ctid%' AND state = 'active' AND pid <> pg_backend_pid()\")\" = 0 ]"; then ok; else
    bad "COPYs still running after the failed fetch"
fi
# To a file: nothing is left behind.
rm -f "$tmp/killed.csv"
(
    wait_until two_copies
    su_psql -At -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE query LIKE 'COPY %ctid%' AND pid <> pg_backend_pid()
                    ORDER BY backend_start DESC LIMIT 1" >/dev/null
) &
killer=$!
bgpids="$bgpids $killer"
# The file is written at full speed: only a fetch the killer caught
# (a failed one) is checked.
$C fetch pg public/big3 --format csv -o "$tmp/killed.csv" 2>"$tmp/killed.err"
rc=$?
wait "$killer"
echo "fetch to a file with a backend killed: exit $rc"
if [ "$rc" -ne 0 ]; then
    [ ! -e "$tmp/killed.csv" ] && ok || bad "a failed fetch left $tmp/killed.csv"
    grep -Eq "terminat|was lost" "$tmp/killed.err" && ok || { bad "no reason for the failure"; cat "$tmp/killed.err"; }
fi

# Cancel (SIGINT) mid-fetch: both backends stop.
start_stalled wide
kill -INT "$fetch_pid"
release
[ "$fetch_rc" -ne 0 ] && ok || bad "an interrupted fetch exited 0"
if wait_until sh -c "[ \"\$($FIXTURE psql $pgdir -At -c \"SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY %ctid%' AND state = 'active' AND pid <> pg_backend_pid()\")\" = 0 ]"; then ok; else
    bad "COPYs still running after the cancel"
fi

# --- memory ---------------------------------------------------------------
# The largest resident size of a fetch of wide and of big3 (4 times
# larger): the read-ahead is bounded, so it does not grow with the table.
maxrss() {
    python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}
r1=$(maxrss $C fetch pg public/wide --format csv -o "$tmp/m1.csv") || bad "fetch of wide failed"
r4=$(maxrss $C fetch pg public/big3 --format csv -o "$tmp/m4.csv") || bad "fetch of big3 failed"
echo "max RSS: wide ($(wc -c <"$tmp/m1.csv") bytes) ${r1} KiB, big3 ($(wc -c <"$tmp/m4.csv") bytes) ${r4} KiB"
# At most the read-ahead (16 MiB) more, for 4 times the data.
if lib_asan "$DSRC"; then
    # AddressSanitizer keeps freed memory in quarantine: its RSS says
    # nothing of dsrc's; the optimised build (the packages' test run) checks it
    echo "peak RSS not checked (AddressSanitizer build)"
else
    [ "$r4" -lt $((r1 + 16384)) ] && ok || bad "max RSS grows with the table: $r1 -> $r4 KiB"
    [ "$r4" -lt 65536 ] && ok || bad "max RSS $r4 KiB"
fi

finish pg_parallel
