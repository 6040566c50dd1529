#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# azure_blob.so incremental mode against a real Azurite emulator, through
# the dsrc binary: `dsrc fetch SRC CONTAINER --cursor-field last_modified
# --incremental` writes the blobs modified since the last committed run as
# rows (name, size, etag, last_modified, content_md5); the host commits the
# cursor, so a second run returns only the blobs uploaded or overwritten in
# between, and a third run with nothing new returns no rows.  A blob
# written in the second of the committed cursor, its name sorting before
# the cursor's, still comes exactly once (a listing delivers only the
# seconds that ended before it began); a limit splits a listing into runs
# that together deliver each blob once.  Also: a prefix, --after with a
# bare timestamp, a wrong cursor field and a bad cursor value.  Skipped
# (77) when azurite-blob is not installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/azure_blob/tests/fixture/azurite.sh"
az_test dsrc-azinc
PX_PID=
cleanup() { [ -n "$PX_PID" ] && kill "$PX_PID" && wait "$PX_PID"; az_stop; }
# names FILE: the "name" column of a JSON Lines file, one per line, sorted
names() { /usr/bin/python3 -c '
import json, sys
print("\n".join(sorted(json.loads(l)["name"] for l in open(sys.argv[1]) if l.strip())))' "$1"; }
putc() { # putc CONTAINER NAME CONTENT
    printf '%s' "$3" >"$tmp/blob"
    /usr/bin/python3 "$AZPY" put "$AZ_ENDPOINT" "$AZ_ACCOUNT" "$AZ_KEY" "$1" "$2" "$tmp/blob" ||
        { echo "upload of $1/$2 failed"; exit 99; }
}
put() { putc inc "$@"; } # put NAME CONTENT
# next_second: sleep until just past the next second of the clock (shared
# with Azurite, on this host).  A listing delivers only the blobs of
# seconds that ended before it began: those of the current second may
# still gain company, so they wait for the next fetch.
next_second() { /usr/bin/python3 -c 'import time; time.sleep(1.05 - time.time() % 1)'; }


put a.txt "alpha"
put b.txt "bravo"
put dir/c.txt "charlie"

lib_conf "$top_builddir/plugins/azure_blob/.libs"
printf 'name = "az";\ntype = "azure_blob";\nconnection = { account = "%s"; endpoint = "%s"; account_key = "env:AZ_KEY"; page_size = 2; };\n' \
    "$AZ_ACCOUNT" "$AZ_ENDPOINT" >"$tmp/conf/sources.d/az.conf"
export AZ_KEY
C="-c $tmp/conf/dsrcd.conf"
INC="--cursor-field last_modified --incremental --format jsonl"

# first run: every blob, nested ones included (no delimiter), with the
# listing's properties
next_second
expect 0 "$DSRC" $C fetch az inc $INC -o "$tmp/run1.jsonl"
[ "$(names "$tmp/run1.jsonl" | tr '\n' ' ')" = "inc/a.txt inc/b.txt inc/dir/c.txt " ] && ok ||
    bad "first run: $(names "$tmp/run1.jsonl" | tr '\n' ' ')"
if /usr/bin/python3 - "$tmp/run1.jsonl" <<'PY'
import base64, hashlib, json, sys
rows = {r["name"]: r for r in map(json.loads, open(sys.argv[1]))}
a = rows["inc/a.txt"]
assert a["size"] == 5, a
assert a["content_md5"] == base64.b64encode(hashlib.md5(b"alpha").digest()).decode(), a
assert a["etag"] and a["last_modified"].endswith("Z"), a
PY
then ok; else bad "first run rows"; cat "$tmp/run1.jsonl"; fi
m=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cursor"]["to"])' \
    "$tmp/run1.jsonl.manifest.json" 2>/dev/null)
case "$m" in
    *"Z "*) ok ;;
    *) bad "manifest cursor: '$m'"; cat "$tmp/run1.jsonl.manifest.json" ;;
esac

# the next batch, listed once its second is over
put d.txt "delta"
put a.txt "alpha, overwritten"
next_second
expect 0 "$DSRC" $C fetch az inc $INC -o "$tmp/run2.jsonl"
[ "$(names "$tmp/run2.jsonl" | tr '\n' ' ')" = "inc/a.txt inc/d.txt " ] && ok ||
    bad "second run: $(names "$tmp/run2.jsonl" | tr '\n' ' ')"

# nothing new: no rows
expect 0 "$DSRC" $C fetch az inc $INC -o "$tmp/run3.jsonl"
[ ! -s "$tmp/run3.jsonl" ] && ok || bad "third run: $(cat "$tmp/run3.jsonl")"

# A blob written in the second of the committed cursor, with a name sorting
# before the cursor's, still comes, exactly once: m.csv, a fetch, then a.csv
# in one second (tried in fresh containers until the three fall in one
# second, at most 30 times: a loaded machine may need several), then the
# next second: a.csv (and m.csv, if the first fetch held it back) come once,
# and a third fetch brings nothing.
t=1 tie=
while [ $t -le 30 ] && [ -z "$tie" ]; do
    /usr/bin/python3 "$AZPY" race "$AZ_ENDPOINT" "$AZ_ACCOUNT" "$AZ_KEY" "tie$t" m.csv a.csv \
        "$DSRC" $C fetch -q az "tie$t" $INC -o "$tmp/tie1.jsonl"
    case $? in
        0) tie=tie$t ;;
        3) ;;
        *) bad "the same-second race in tie$t failed"; break ;;
    esac
    t=$((t + 1))
done
if [ -n "$tie" ]; then
    next_second
    expect 0 "$DSRC" $C fetch az "$tie" $INC -o "$tmp/tie2.jsonl"
    expect 0 "$DSRC" $C fetch az "$tie" $INC -o "$tmp/tie3.jsonl"
    [ "$(names "$tmp/tie2.jsonl" | tr '\n' ' ')" = "$tie/a.csv " ] ||
        [ "$(names "$tmp/tie2.jsonl" | tr '\n' ' ')" = "$tie/a.csv $tie/m.csv " ] && ok ||
        bad "same-second blob after the cursor's: $(names "$tmp/tie2.jsonl" | tr '\n' ' ')"
    [ "$(cat "$tmp/tie1.jsonl" "$tmp/tie2.jsonl" | wc -l)" -eq 2 ] && ok ||
        bad "same-second blobs not exactly once: $(cat "$tmp/tie1.jsonl" "$tmp/tie2.jsonl")"
    [ ! -s "$tmp/tie3.jsonl" ] && ok || bad "after the same-second blobs: $(cat "$tmp/tie3.jsonl")"
else
    bad "m.csv, a fetch and a.csv never fell in one second in 30 tries"
fi

# a limit: three blobs (of one second, mostly) in runs of at most two,
# each blob exactly once
putc lim x3.csv "3"; putc lim x1.csv "1"; putc lim x2.csv "2"
next_second
expect 0 "$DSRC" $C fetch az lim $INC --limit 2 -o "$tmp/lim1.jsonl"
expect 0 "$DSRC" $C fetch az lim $INC --limit 2 -o "$tmp/lim2.jsonl"
expect 0 "$DSRC" $C fetch az lim $INC --limit 2 -o "$tmp/lim3.jsonl"
[ "$(wc -l <"$tmp/lim1.jsonl") $(wc -l <"$tmp/lim2.jsonl")" = "2 1" ] && ok ||
    bad "limit 2 over three blobs: $(cat "$tmp/lim1.jsonl" "$tmp/lim2.jsonl")"
[ "$(cat "$tmp/lim1.jsonl" "$tmp/lim2.jsonl" | names /dev/stdin | tr '\n' ' ')" = \
    "lim/x1.csv lim/x2.csv lim/x3.csv " ] && ok ||
    bad "limit 2, both runs: $(cat "$tmp/lim1.jsonl" "$tmp/lim2.jsonl")"
[ ! -s "$tmp/lim3.jsonl" ] && ok || bad "limit 2, third run: $(cat "$tmp/lim3.jsonl")"

# a prefix, from the start (its own cursor)
expect 0 "$DSRC" $C fetch az inc/dir $INC -o "$tmp/dir.jsonl"
[ "$(names "$tmp/dir.jsonl" | tr '\n' ' ')" = "inc/dir/c.txt " ] && ok ||
    bad "prefix: $(names "$tmp/dir.jsonl" | tr '\n' ' ')"

# --after with a bare timestamp far in the past / future
expect 0 "$DSRC" $C fetch az inc --cursor-field last_modified --after 2000-01-01T00:00:00Z --format jsonl -o "$tmp/all.jsonl"
[ "$(names "$tmp/all.jsonl" | wc -l)" -eq 4 ] && ok || bad "after 2000: $(names "$tmp/all.jsonl" | tr '\n' ' ')"
expect 0 "$DSRC" $C fetch az inc --cursor-field last_modified --after 2999-01-01T00:00:00Z --format jsonl -o "$tmp/none.jsonl"
[ ! -s "$tmp/none.jsonl" ] && ok || bad "after 2999: $(cat "$tmp/none.jsonl")"

# errors
expect 1 "$DSRC" $C fetch az inc --cursor-field size --format jsonl -o "$tmp/x.jsonl"
has "$tmp/err" "last_modified"
expect 1 "$DSRC" $C fetch az inc --cursor-field last_modified --after yesterday --format jsonl -o "$tmp/x.jsonl"
has "$tmp/err" "not a last_modified cursor"
expect 1 "$DSRC" $C fetch az "" --cursor-field last_modified --format jsonl -o "$tmp/x.jsonl"

# a listing without a Date header (through a proxy that drops it): its time
# is unknown, so an incremental fetch is an error and no cursor moves
/usr/bin/python3 "$top_srcdir/plugins/azure_blob/tests/fixture/cut_proxy.py" \
    "$tmp/pxport" "$tmp/pxlog" "$AZ_PORT" 0 0 Date &
PX_PID=$!
i=0; while [ ! -s "$tmp/pxport" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$tmp/pxport" ] || { echo "proxy did not start"; exit 99; }
printf 'name = "nodate";\ntype = "azure_blob";\nconnection = { account = "%s"; endpoint = "http://127.0.0.1:%s/%s"; account_key = "env:AZ_KEY"; };\n' \
    "$AZ_ACCOUNT" "$(cat "$tmp/pxport")" "$AZ_ACCOUNT" >"$tmp/conf/sources.d/nodate.conf"
expect 1 "$DSRC" $C fetch nodate inc $INC -o "$tmp/nodate.jsonl"
has "$tmp/err" "no valid Date header"
[ ! -e "$tmp/nodate.jsonl" ] && [ ! -e "$tmp/state/cursors/nodate" ] && ok ||
    bad "a failed fetch left a file or a cursor: $(ls "$tmp/state/cursors")"

finish azure_incremental
