#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# s3.so's incremental listing against a real s3rver emulator through the
# dsrc binary: `dsrc fetch SRC BUCKET --cursor-field last_modified
# --incremental` lists every object (nested keys included, ListObjectsV2
# paged by page_size 2) with its size, ETag and last_modified, commits the
# cursor "<time> <key>", and the next run returns only the objects put or
# overwritten since, in (last_modified, key) order; nothing new, no rows; a
# prefix lists its own; a wrong cursor field or value is refused.  Skipped
# (77) without s3rver or botocore.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/s3/tests/fixture/s3rver.sh"
s3_test dsrc-s3inc
put() { printf '%s' "$2" >"$tmp/body"; /usr/bin/python3 "$S3PY" put "$S3_ENDPOINT" inc "$1" "$tmp/body" ||
        { echo "put $1 failed"; exit 99; }; }
names() { /usr/bin/python3 -c 'import json,sys; [print(json.loads(l)["name"]) for l in open(sys.argv[1])]' "$1"; }
# the listing delivers only objects of seconds before its own: wait for the next
next_second() { /usr/bin/python3 -c 'import time; time.sleep(1.05 - time.time() % 1)'; }
/usr/bin/python3 "$S3PY" mb "$S3_ENDPOINT" inc || { echo "mb failed"; exit 99; }
put a.txt "alpha"
put b.txt "bravo"
put dir/c.txt "charlie"
s3_conf "page_size = 2;"
C="-c $tmp/conf/dsrcd.conf"
INC="--cursor-field last_modified --incremental --format jsonl"

next_second
expect 0 "$DSRC" $C fetch s3 inc $INC -o "$tmp/run1.jsonl"
[ "$(names "$tmp/run1.jsonl" | sort | tr '\n' ' ')" = "inc/a.txt inc/b.txt inc/dir/c.txt " ] && ok ||
    bad "first run: $(names "$tmp/run1.jsonl" | tr '\n' ' ')"
md5=$(printf alpha | md5sum | cut -d' ' -f1)
if /usr/bin/python3 - "$tmp/run1.jsonl" "$md5" <<'PY'
import json, sys
rows = {r["name"]: r for r in map(json.loads, open(sys.argv[1]))}
a = rows["inc/a.txt"]
assert a["size"] == 5 and a["etag"] == '"%s"' % sys.argv[2], a
assert a["last_modified"].endswith("Z"), a
PY
then ok; else bad "first run rows"; cat "$tmp/run1.jsonl"; fi
m=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cursor"]["to"])' \
    "$tmp/run1.jsonl.manifest.json" 2>/dev/null)
case "$m" in
    *"Z "*) ok ;;
    *) bad "manifest cursor: '$m'"; cat "$tmp/run1.jsonl.manifest.json" ;;
esac

# the next batch, listed once its second is over
next_second
put d.txt "delta"
put a.txt "alpha, overwritten"
next_second
expect 0 "$DSRC" $C fetch s3 inc $INC -o "$tmp/run2.jsonl"
[ "$(names "$tmp/run2.jsonl" | sort | tr '\n' ' ')" = "inc/a.txt inc/d.txt " ] && ok ||
    bad "second run: $(names "$tmp/run2.jsonl" | tr '\n' ' ')"

# nothing new: no rows
expect 0 "$DSRC" $C fetch s3 inc $INC -o "$tmp/run3.jsonl"
[ ! -s "$tmp/run3.jsonl" ] && ok || bad "third run: $(cat "$tmp/run3.jsonl")"

# a prefix, from the start (its own cursor)
expect 0 "$DSRC" $C fetch s3 inc/dir $INC -o "$tmp/dir.jsonl"
[ "$(names "$tmp/dir.jsonl" | tr '\n' ' ')" = "inc/dir/c.txt " ] && ok || bad "prefix: $(cat "$tmp/dir.jsonl")"

# refusals
expect 1 "$DSRC" $C fetch s3 inc --cursor-field size --format jsonl -o "$tmp/x.jsonl"
has "$tmp/err" "cursor field is last_modified"
expect 1 "$DSRC" $C fetch s3 inc --cursor-field last_modified --after yesterday --format jsonl -o "$tmp/x.jsonl"
has "$tmp/err" "not a last_modified cursor"
finish s3_incremental
