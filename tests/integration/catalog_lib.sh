# SPDX-License-Identifier: Apache-2.0
# tests/integration/catalog_lib.sh -- what the catalog's scripts share
# (tests/integration/catalog.sh, plugins/*/tests/*_catalog.sh), sourced
# after tests/lib.sh once $DSRC and $CONF (the daemon file) are set.
#   jfield FILE EXPR       print a Python expression on the JSON in FILE (j)
#   events SOURCE          how many drift events SOURCE has (the JSON is left
#                          in $tmp/drift.json)
#   no_false_alarm SOURCE N  discover SOURCE N times (N/25 times, at least
#                          once, in a sanitizer build): still no drift event
#                          and one snapshot
#   expect_change SOURCE KIND CLASS ITEM  discover SOURCE (after the caller's
#                          DDL): exactly one new drift event, of KIND and
#                          CLASS, on ITEM
jfield() { /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
events() { "$DSRC" -c "$CONF" --json drift "$1" >"$tmp/drift.json" && jfield "$tmp/drift.json" 'len(j)'; }
# A sanitizer build checks the memory of a discover in its first rounds
# and takes seconds a round; the many rounds that look for a false alarm
# run in full in the optimised build (UNSANITIZED_TESTS in Makefile.am).
if lib_asan "$DSRC"; then
    catalog_rounds_div=25
else
    catalog_rounds_div=1
fi
no_false_alarm() {
    i=0
    n=$(($2 / catalog_rounds_div))
    [ "$n" -ge 1 ] || n=1
    while [ "$i" -lt "$n" ]; do
        "$DSRC" -c "$CONF" discover "$1" >"$tmp/out" 2>"$tmp/err" ||
            { bad "discover $1 ($i) failed"; cat "$tmp/err"; return; }
        i=$((i + 1))
    done
    has "$tmp/out" "catalog unchanged (snapshot 1)"
    [ "$(events "$1")" = 0 ] && ok || bad "false alarms: $(cat "$tmp/drift.json")"
}
expect_change() {
    n_before=$(events "$1")
    expect 0 "$DSRC" -c "$CONF" discover "$1"
    n_after=$(events "$1")
    [ "$n_after" = $((n_before + 1)) ] && ok ||
        { bad "$2: $((n_after - n_before)) event(s), wanted 1"; cat "$tmp/drift.json"; }
    jfield "$tmp/drift.json" 'max(j, key=lambda e: e["id"])' >"$tmp/last"
    has "$tmp/last" "'change': '$2'"
    has "$tmp/last" "'class': '$3'"
    has "$tmp/last" "'item': '$4'"
}
