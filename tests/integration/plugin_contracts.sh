#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The contracts the host enforces on what a plugin sends back
# (tests/fixtures/plugins/sinks): every cell is checked against its
# column's declared type and nullability (a text cell in an int64 column,
# NULL in a column that is not nullable, a cell of an unknown type, a row
# of the wrong width, a double's text that is not a number: the fetch
# fails naming the plugin, the row and the
# column, exit 1, no file left, also when the plugin ignores the sink's
# refusal); and a status that does not match its error (an error status
# without a message, DSRC_OK with a message left set) is the plugin's bug.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
so="$top_builddir/tests/fixtures/plugins/.libs/sinks.so"
[ -f "$so" ] || { echo "sinks.so not built"; exit 99; }
lib_tmpdir dsrc-contracts
# nothing NAME: no file in the workspace or $tmp/o for item NAME
nothing() {
    [ -z "$(find "$tmp/o" "$tmp/ws" -type f -name "*$1*" 2>/dev/null)" ] && ok ||
        { bad "files left behind for $1:"; find "$tmp/o" "$tmp/ws" -type f -name "*$1*"; }
}

mkdir -p "$tmp/plugins" "$tmp/o"
ln -s "$so" "$tmp/plugins/sinks.so"
lib_conf "$tmp/plugins"
sed -i "s|^workspace = .*|workspace = \"$tmp/ws\";|" "$tmp/conf/dsrcd.conf"
printf 'name = "s";\ntype = "sinks";\nconnection = { };\n' >"$tmp/conf/sources.d/s.conf"
C="-c $tmp/conf/dsrcd.conf"

# cells that keep the contract: NULL where nullable is 1 or -1 (unknown)
expect 0 "$DSRC" $C fetch s nulls --format jsonl -o "$tmp/o/nulls.jsonl"
has "$tmp/o/nulls.jsonl" '{"a":null,"b":null}'
expect 0 "$DSRC" $C fetch s rows --format jsonl -o "$tmp/o/rows.jsonl"
has "$tmp/o/rows.jsonl" '{"id":2,"name":"two"}'

for fmt in csv jsonl; do
    # a text cell in an int64 column, on the third row
    expect 1 "$DSRC" $C fetch s bad-type --format $fmt -o "$tmp/o/bad-type.$fmt"
    has "$tmp/err" "plugin 'sinks' bug: row 3, column 'id' is declared int64 but the cell is text"
    nothing bad-type
    # ... into the workspace
    expect 1 "$DSRC" $C fetch s bad-type --format $fmt
    nothing bad-type
    # NULL where the column is not nullable, on the second row
    expect 1 "$DSRC" $C fetch s bad-null --format $fmt -o "$tmp/o/bad-null.$fmt"
    has "$tmp/err" "plugin 'sinks' bug: row 2, column 'id' is not nullable but the cell is NULL"
    nothing bad-null
done
# a cell of a type no ABI has
expect 1 "$DSRC" $C fetch s bad-unknown -o "$tmp/o/bad-unknown.csv"
has "$tmp/err" "plugin 'sinks' bug: row 1, column 'name' is declared text but the cell is of unknown type 42"
nothing bad-unknown
# a double given as its text (ABI 1.5): written as it is, the same as a
# double, in CSV and JSON Lines, in dsrc's process and through a worker's
# socket pair; a text that is not a number, or in an int64 column, refused
for iso in none process; do
    expect 0 env DSRC_ISOLATION=$iso "$DSRC" $C fetch s doubles -o "$tmp/o/doubles.csv"
    printf 'id,x\r\n1,0.1\r\n2,-0\r\n3,1e+20\r\n4,1e-05\r\n5,NaN\r\n6,-Infinity\r\n7,0.5\r\n' >"$tmp/want.csv"
    cmp -s "$tmp/o/doubles.csv" "$tmp/want.csv" && ok || { bad "doubles.csv ($iso):"; cat "$tmp/o/doubles.csv"; }
    expect 0 env DSRC_ISOLATION=$iso "$DSRC" $C fetch s doubles --format jsonl -o "$tmp/o/doubles.jsonl"
    has "$tmp/o/doubles.jsonl" '{"id":2,"x":-0}'
    has "$tmp/o/doubles.jsonl" '{"id":3,"x":1e+20}'
    has "$tmp/o/doubles.jsonl" '{"id":5,"x":"NaN"}'
    has "$tmp/o/doubles.jsonl" '{"id":6,"x":"-Infinity"}'
    has "$tmp/o/doubles.jsonl" '{"id":7,"x":0.5}'
    rm -f "$tmp/o/doubles".*
    expect 1 env DSRC_ISOLATION=$iso "$DSRC" $C fetch s bad-double --format jsonl -o "$tmp/o/bad-double.jsonl"
    has "$tmp/err" "plugin 'sinks' bug: row 2, column 'x': the double's text is not a number (3 byte(s))"
    nothing bad-double
    expect 1 env DSRC_ISOLATION=$iso "$DSRC" $C fetch s bad-double-col -o "$tmp/o/bad-double-col.csv"
    has "$tmp/err" "plugin 'sinks' bug: row 1, column 'id' is declared int64 but the cell is a double's text"
    nothing bad-double-col
done
# a row of one cell for two columns
expect 1 "$DSRC" $C fetch s bad-count -o "$tmp/o/bad-count.csv"
has "$tmp/err" "plugin 'sinks' bug: row 2 has 1 cell(s), the schema has 2 column(s)"
nothing bad-count
# the sink's refusal ignored, DSRC_OK returned: still a failure
expect 1 "$DSRC" $C fetch s bad-ignore -o "$tmp/o/bad-ignore.csv"
has "$tmp/err" "plugin 'sinks' bug: row 3, column 'id' is declared int64 but the cell is text"
nothing bad-ignore

# an error status without a message: the status stays, the message says why
expect 1 "$DSRC" $C fetch s no-message -o "$tmp/o/no-message.csv"
has "$tmp/err" "plugin 'sinks' bug: fetch returned DSRC_E_AUTH without a message"
hasnt "$tmp/err" ": auth"
nothing no-message
# DSRC_OK with a message left set: a warning, the fetch stands
expect 0 "$DSRC" $C fetch s ok-message -o "$tmp/o/ok-message.csv"
has "$tmp/err" "plugin 'sinks' bug: fetch returned DSRC_OK with an error message set (\"sinks: a warning left behind\")"
[ -s "$tmp/o/ok-message.csv" ] && ok || bad "ok-message.csv not written"

# dsrcd's health probe asks for the storage size: an error without a
# message is named as the plugin's bug in the daemon's log, the source
# stays healthy (its ping works) and its size unknown.
SOCK="$tmp/dsrcd.sock"
printf 'control_socket = "%s";\n' "$SOCK" >>"$tmp/conf/dsrcd.conf"
"$top_builddir/dsrcd" $C --foreground >"$tmp/log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null; }
wait_for "$tmp/log" "storage returned" 150 && ok || bad "no storage call logged"
has "$tmp/log" "plugin 'sinks' bug: storage returned DSRC_E_INTERNAL without a message"
expect 0 "$DSRC" $C --json health s
jcheck "$tmp/out" 'd[0]["status"] == "healthy" and d[0]["storage_bytes"] is None'
kill "$pid"; wait "$pid" 2>/dev/null; pid=

finish plugin_contracts
