#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrc conformance against plugins built outside the host, as a third
# party's are:
#   - the SDK example plugin (sdk/example/csvdir) passes every case, in text
#     and as one JSON document;
#   - quirky.so (tests/fixtures/plugins/conform) passes only with its quirks
#     file: without it the case its quirk excuses fails, naming the quirk;
#   - broken.so fails, each fault named: the cancel it ignores, the error
#     without a message, the secret in a message (never shown), a discover
#     that does not match describe; the text
#     cell in an int64 column is the host's to find (its message says
#     "plugin 'broken' bug:"), checked once the host checks cells;
#   - a quirks file with an unknown key or quirk is refused with file:line
#     (exit 78), a missing one with exit 1, a missing operand with exit 2.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
libs="$top_builddir/tests/fixtures/plugins/.libs"
for so in "$top_builddir/tests/conformance/.libs/csvdir.so" "$libs/quirky.so" "$libs/broken.so"; do
    [ -f "$so" ] || { echo "$so not built"; exit 99; }
done
lib_tmpdir dsrc-conformance
mkdir -p "$tmp/plugins" "$tmp/data"
ln -s "$top_builddir/tests/conformance/.libs/csvdir.so" "$libs/quirky.so" "$libs/broken.so" \
    "$tmp/plugins/"
lib_conf "$tmp/plugins"
C="-c $tmp/conf/dsrcd.conf"
# no FAIL line, and PASS for each named case
all_pass() {
    grep '^FAIL' "$tmp/out" && bad "$1: a case failed" || ok
    shift
    for c in "$@"; do has "$tmp/out" "PASS $c"; done
}

# the example plugin: a directory of CSV files, 5000 rows (the plugin polls
# for a cancel every 1000)
{
    echo 'id,name,updated'
    i=1
    while [ $i -le 5000 ]; do
        echo "$i,name $i,2024-01-$((i % 28 + 10))"
        i=$((i + 1))
    done
} >"$tmp/data/orders.csv"
printf 'id,v\n1,a\n2,b\n' >"$tmp/data/small.csv"
printf 'name = "ex";\ntype = "csvdir";\nconnection = { dir = "%s/data"; };\n' "$tmp" \
    >"$tmp/conf/sources.d/ex.conf"
cat >"$tmp/ex.quirks" <<'EOF'
# the example plugin's quirks file
item = "orders.csv";
cursor_field = "id";
bad_option = "delimiter=;;";
EOF
expect 0 "$DSRC" $C conformance ex --quirks "$tmp/ex.quirks"
all_pass csvdir open ping list_root list_stop describe describe_missing discover fetch_full \
    fetch_columns fetch_limit fetch_unknown_column cursor sink_stop cancel bad_option errors reopen
has "$tmp/out" "17 passed, 0 failed, 1 skipped"
has "$tmp/out" "SKIP list_container: the root holds no container"
expect 0 "$DSRC" $C --json conformance ex --quirks "$tmp/ex.quirks"
python3 - "$tmp/out" <<'EOP' && ok || bad "the JSON document of the example plugin"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["source"] == "ex" and d["plugin"] == "csvdir", d
assert d["failed"] == 0 and d["passed"] == 17 and d["skipped"] == 1, d
names = [c["name"] for c in d["cases"]]
assert names[0] == "open" and "cancel" in names and len(names) == 18, names
assert all(c["result"] == "pass" or c["result"] == "skip" and c["why"] for c in d["cases"]), d
EOP
# without its quirks file the example plugin picks its own item (the
# first CSV that has rows) and finds no cursor field: skipped, not failed
expect 0 "$DSRC" $C conformance ex
has "$tmp/out" "SKIP cursor: no cursor field"
has "$tmp/out" "SKIP bad_option: no bad_option in the quirks file"

# quirky: its row counts are estimates it does not flag
printf 'name = "q";\ntype = "quirky";\nconnection = { };\n' >"$tmp/conf/sources.d/q.conf"
expect 1 "$DSRC" $C conformance q
has "$tmp/out" "FAIL fetch_full: fetched 3000 rows, describe of 'main/orders' reports 4000"
has "$tmp/out" "declare the quirk rows_estimated"
has "$tmp/out" "1 failed"
printf 'quirks = ["rows_estimated"];\nbad_option = "rows=-1";\n' >"$tmp/q.quirks"
expect 0 "$DSRC" $C conformance q --quirks "$tmp/q.quirks"
all_pass quirky open ping list_root list_container list_stop describe describe_missing discover \
    fetch_full fetch_columns fetch_limit fetch_unknown_column cursor sink_stop cancel bad_option \
    errors reopen
has "$tmp/out" "18 passed, 0 failed, 0 skipped"

# broken: each fault named; its secret never shown
secret=conformance-secret-4711
printf '%s\n' "$secret" >"$tmp/pw"
chmod 600 "$tmp/pw"
printf 'name = "b";\ntype = "broken";\nconnection = { password = "file:%s/pw"; };\n' "$tmp" \
    >"$tmp/conf/sources.d/b.conf"
expect 1 "$DSRC" $C conformance b --quirks "$tmp/q.quirks"
has "$tmp/out" "FAIL discover: discover gives 'main/events' 3 columns, describe 4"
# (the cancel it ignores: rows came; the host stops the fetch at the bad
# cell of row 3, so it returned internal with the 2 rows before it)
has "$tmp/out" "FAIL cancel: a fetch started with the call already cancelled returned internal with 2 row(s)"
# the error without a message: found by the errors case, or by the host
# ("plugin 'broken' bug: describe returned ... without a message") in the
# case where it happens
grep -Eq "^FAIL (errors|describe_missing): .*without a message" "$tmp/out" && ok ||
    bad "no case names the error without a message"
has "$tmp/out" "fetch of an unknown column: the message held a secret of the source, which the host hid as ***"
hasnt "$tmp/out" "$secret"
hasnt "$tmp/err" "$secret"
has "$tmp/out" "FAIL fetch_full: fetch of 'main/orders' failed (internal): source 'b': cannot fetch 'main/orders': plugin 'broken' bug: row 3, column 'n' is declared int64 but the cell is text"
expect 1 "$DSRC" $C --json conformance b
python3 - "$tmp/out" <<'EOP' && ok || bad "the JSON document of the broken plugin"
import json, sys
d = json.load(open(sys.argv[1]))
r = {c["name"]: c for c in d["cases"]}
assert r["cancel"]["result"] == "fail" and r["fetch_full"]["result"] == "fail", d
assert r["errors"]["result"] == "fail" and r["describe_missing"]["result"] == "fail", d
assert "without a message" in r["describe_missing"]["why"] + r["errors"]["why"], d
EOP
hasnt "$tmp/out" "$secret"

# bad quirks files, bad command lines
printf 'item = "orders.csv";\ncursor = "id";\n' >"$tmp/bad.quirks"
expect 78 "$DSRC" $C conformance ex --quirks "$tmp/bad.quirks"
has "$tmp/err" "$tmp/bad.quirks:2: unknown key 'cursor' (valid: quirks, item, container, cursor_field"
printf 'quirks = ["no_discover",\n  "rows_guessed"];\n' >"$tmp/bad.quirks"
expect 78 "$DSRC" $C conformance ex --quirks "$tmp/bad.quirks"
has "$tmp/err" "$tmp/bad.quirks:2: unknown quirk 'rows_guessed' (valid: no_discover,"
printf 'item = ;\n' >"$tmp/bad.quirks"
expect 78 "$DSRC" $C conformance ex --quirks "$tmp/bad.quirks"
has "$tmp/err" "$tmp/bad.quirks:1: syntax error"
printf 'bad_option = "rows";\n' >"$tmp/bad.quirks"
expect 78 "$DSRC" $C conformance ex --quirks "$tmp/bad.quirks"
has "$tmp/err" "bad_option must be written NAME=VALUE"
expect 1 "$DSRC" $C conformance ex --quirks "$tmp/none.quirks"
has "$tmp/err" "cannot read the quirks file $tmp/none.quirks"
expect 2 "$DSRC" $C conformance
expect 1 "$DSRC" $C conformance nosuch
has "$tmp/err" "no source named 'nosuch'"
finish conformance
