#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrc conformance passes http.so against json-server on loopback: items
# at the root (no container, no discover: skipped, saying so), typed rows
# sampled from the records, a cursor on "id"; first with nothing but the
# source, then with a quirks file naming the item, its cursor field and a
# bad option value.  Skipped (77) when json-server is not on PATH.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/http/tests/fixture/jsonserver.sh"
hp_test dsrc-hpconf
lib_conf "$top_builddir/plugins/http/.libs"
export HP_TOKEN=not-needed-here
printf 'name = "js";\ntype = "http";\nconnection = { base_url = "%s"; auth = "bearer"; token = "env:HP_TOKEN"; items = "posts path=/posts paging=link page_param=_page limit_param=_limit page_size=500 cursor_field=id since_param=id_gte; tags path=/tags"; };\n' \
    "$JS_URL" >"$tmp/conf/sources.d/js.conf"
C="-c $tmp/conf/dsrcd.conf"
# in dsrc's process, then in a worker process (isolation = "process")
for iso in none process; do
    expect 0 env DSRC_ISOLATION=$iso "$DSRC" $C conformance js
    grep '^FAIL' "$tmp/out" && bad "a case failed ($iso)" || ok
    for c in open ping list_root list_stop describe describe_missing fetch_full fetch_columns \
        fetch_limit fetch_unknown_column sink_stop cancel errors reopen; do
        has "$tmp/out" "PASS $c"
    done
    conformance_isolation $iso
    has "$tmp/out" "SKIP list_container: the root holds no container"
done
printf 'item = "posts";\ncursor_field = "id";\nbad_option = "page_size=0";\n' >"$tmp/q"
expect 0 "$DSRC" $C conformance js --quirks "$tmp/q"
grep '^FAIL' "$tmp/out" && bad "a case failed with the quirks file" || ok
has "$tmp/out" "PASS cursor"
has "$tmp/out" "PASS bad_option"
hasnt "$tmp/out" "$HP_TOKEN"
hasnt "$tmp/err" "$HP_TOKEN"
finish http_conformance
