#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# clickhouse.so's query() against a real ClickHouse server (the fixture's),
# through the host's source_query() (ch_query_tool):
#   - rows and their types; a limit on an endless statement stops it;
#   - every write refused by the server under readonly=1 (INSERT, CREATE,
#     DROP, ALTER ... DELETE, TRUNCATE, a settings change) for the
#     `default` user, which may write: nothing changes;
#   - a time limit ends a long statement with a timeout;
#   - parameters: bound by the server from 19.11; an older server refuses
#     the query (unsupported) rather than have them spliced.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
TOOL="$top_builddir/plugins/clickhouse/tests/ch_query_tool"
FIXTURE="$top_srcdir/plugins/clickhouse/tests/fixture/clickhouse-fixture"
lib_tmpdir dsrc-chq
cdir=""
cleanup() { [ -n "$cdir" ] && "$FIXTURE" stop "$cdir" >/dev/null 2>&1; }

. "$top_srcdir/plugins/clickhouse/tests/ch_start.sh"
"$FIXTURE" sql "$cdir" <<'SQL' || { echo "loading the test data failed"; exit 99; }
CREATE DATABASE q;
CREATE TABLE q.t (id Int64, name String, n Nullable(Float64)) ENGINE = MergeTree ORDER BY id;
INSERT INTO q.t VALUES (1, 'one', 1.5), (2, 'it''s', NULL), (3, 'three', -2);
SQL

lib_conf "$top_builddir/plugins/clickhouse/.libs"
src() { # src NAME USER PASSWORD-LINE
    cat >"$tmp/conf/sources.d/$1.conf" <<EOF
name = "$1";
type = "clickhouse";
connection = {
    host = "127.0.0.1";
    port = $CLICKHOUSE_HTTP_PORT;
    database = "q";
    user = "$2";
    $3
};
EOF
}
src ch reader 'password = "env:DSRC_CHQ_PASSWORD";'
src writer default ''
DSRC_CHQ_PASSWORD=$CLICKHOUSE_READER_PASSWORD
export DSRC_CHQ_PASSWORD
CONF="$tmp/conf/dsrcd.conf"

# q SOURCE SQL [tool options]: exit status in $rc, rows in $tmp/out
q() {
    s=$1 sql=$2
    shift 2
    rc=0
    timeout 60 "$TOOL" "$CONF" "$s" "$sql" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
}
count() { "$FIXTURE" sql "$cdir" --query "SELECT count() FROM q.t"; }

# rows and types (DSRC_T_INT64 2, DOUBLE 3, TEXT 4 in the schema line)
q ch "SELECT id, name, n FROM t ORDER BY id"
[ "$rc" -eq 0 ] && ok || { bad "select: exit $rc"; cat "$tmp/err"; }
printf 'id:2\tname:4\tn:3\n1\tone\t1.5\n2\tit'"'"'s\t\\N\n3\tthree\t-2\n' >"$tmp/want"
cmp -s "$tmp/out" "$tmp/want" && ok || { bad "rows differ"; cat "$tmp/out"; }

# a limit stops an endless statement at once
start=$(date +%s)
q ch "SELECT number FROM system.numbers" -l 5
[ "$rc" -eq 0 ] && ok || { bad "limit: exit $rc"; cat "$tmp/err"; }
[ "$(wc -l <"$tmp/out")" -eq 6 ] && ok || bad "limit 5: $(wc -l <"$tmp/out") lines"
[ $(($(date +%s) - start)) -lt 20 ] && ok || bad "the limit took too long"
# and the server's statement is gone (killed by its query id)
left=1
for i in 1 2 3 4 5 6 7 8 9 10; do
    left=$("$FIXTURE" sql "$cdir" --query "SELECT count() FROM system.processes WHERE query LIKE 'SELECT number FROM system.numbers%'")
    [ "$left" = "0" ] && break
    sleep 0.5
done
[ "$left" = "0" ] && ok || bad "the limited statement still runs on the server"
q ch "SELECT id FROM t" -l 0
[ "$rc" -eq 0 ] && [ "$(cat "$tmp/out")" = "id:2" ] && ok || bad "limit 0: exit $rc, $(cat "$tmp/out")"

# writes: refused by the server (permission, exit 10 + 3) for a user that
# may write; nothing changes
before=$(count)
for sql in "INSERT INTO t VALUES (9, 'nine', 0)" \
           "CREATE TABLE q.made (i Int32) ENGINE = Memory" \
           "DROP TABLE t" \
           "ALTER TABLE t DELETE WHERE 1" \
           "TRUNCATE TABLE t" \
           "SELECT 1 SETTINGS readonly = 0" \
           "SET readonly = 0"; do
    q writer "$sql"
    [ "$rc" -eq 13 ] && ok || { bad "'$sql': exit $rc"; cat "$tmp/err"; }
    grep -qi "readonly" "$tmp/err" && ok || { bad "'$sql': not the server's readonly error"; cat "$tmp/err"; }
done
[ "$(count)" = "$before" ] && ok || bad "the table changed"
"$FIXTURE" sql "$cdir" --query "EXISTS TABLE q.made" >"$tmp/ex"
[ "$(cat "$tmp/ex")" = "0" ] && ok || bad "q.made was created"

# a bad statement is the caller's (invalid argument, exit 10 + 9)
q ch "SELEC 1"
[ "$rc" -eq 19 ] && ok || { bad "syntax error: exit $rc"; cat "$tmp/err"; }

# a time limit: the server stops the statement (timeout, exit 10 + 5)
start=$(date +%s)
q ch "SELECT count() FROM system.numbers" -t 200
[ "$rc" -eq 15 ] && ok || { bad "timeout: exit $rc"; cat "$tmp/err"; }
[ $(($(date +%s) - start)) -lt 20 ] && ok || bad "the timeout took too long"

# parameters
major=${CLICKHOUSE_VERSION%%.*}
rest=${CLICKHOUSE_VERSION#*.}
minor=${rest%%.*}
if [ "$major" -gt 19 ] || { [ "$major" -eq 19 ] && [ "$minor" -ge 11 ]; }; then
    q ch "SELECT id FROM t WHERE name = {p1:String}" -p "' OR 1=1 --"
    [ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 1 ] && ok || bad "injection: exit $rc"
    q ch "SELECT id FROM t WHERE name = {p1:String}" -p "it's"
    [ "$rc" -eq 0 ] && [ "$(sed -n 2p "$tmp/out")" = "2" ] && ok || bad "parameter: exit $rc"
else
    q ch "SELECT id FROM t WHERE name = {p1:String}" -p "it's"
    [ "$rc" -eq 17 ] && ok || { bad "parameters on $CLICKHOUSE_VERSION: exit $rc"; cat "$tmp/err"; }
    has "$tmp/err" "does not bind query parameters"
fi
[ "$(count)" = "$before" ] && ok || bad "the table changed"

finish clickhouse_query "(ClickHouse $CLICKHOUSE_VERSION)"
