#!/bin/sh
# azure_blob.so incremental mode against a real Azurite emulator, through
# the dsrc binary: `dsrc fetch SRC CONTAINER --cursor-field last_modified
# --incremental` writes the blobs modified since the last committed run as
# rows (name, size, etag, last_modified, content_md5); the host commits the
# cursor, so a second run returns only the blobs uploaded or overwritten in
# between, and a third run with nothing new returns no rows.  Also: a
# prefix, --after with a bare timestamp, a wrong cursor field and a bad
# cursor value.  Skipped (77) when azurite-blob is not installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
DSRC="$top_builddir/dsrc"
AZPY="$top_srcdir/tests/fixtures/azurite/azure.py"
. "$top_srcdir/tests/fixtures/azurite/azurite.sh"
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
[ -f "$top_builddir/plugins/azure_blob/.libs/azure_blob.so" ] || { echo "azure_blob.so not built"; exit 99; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dsrc-azinc.XXXXXX")
trap 'az_stop; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect() {
    want=$1; shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok; else
        bad "exit $got (wanted $want): $*"; sed 's/^/  err: /' "$tmp/err" | head -20
    fi
}
has() {
    if grep -qF -- "$2" "$1"; then ok; else bad "'$2' not in $1"; sed 's/^/  | /' "$1" | head -20; fi
}
# names FILE: the "name" column of a JSON Lines file, one per line, sorted
names() { /usr/bin/python3 -c '
import json, sys
print("\n".join(sorted(json.loads(l)["name"] for l in open(sys.argv[1]) if l.strip())))' "$1"; }
put() { # put NAME CONTENT
    printf '%s' "$2" >"$tmp/blob"
    /usr/bin/python3 "$AZPY" put "$AZ_ENDPOINT" "$AZ_ACCOUNT" "$AZ_KEY" inc "$1" "$tmp/blob" ||
        { echo "upload of $1 failed"; exit 99; }
}

az_start "$tmp/az"
rc=$?
[ "$rc" -eq 0 ] || exit "$rc"

put a.txt "alpha"
put b.txt "bravo"
put dir/c.txt "charlie"

mkdir -p "$tmp/conf/sources.d"
cat >"$tmp/conf/dsrcd.conf" <<EOF2
plugin_dir = "$top_builddir/plugins/azure_blob/.libs";
state_dir = "$tmp/state";
workspace = "$tmp/ws";
sources_dir = "sources.d";
EOF2
printf 'name = "az";\ntype = "azure_blob";\nconnection = { account = "%s"; endpoint = "%s"; account_key = "env:AZ_KEY"; page_size = 2; };\n' \
    "$AZ_ACCOUNT" "$AZ_ENDPOINT" >"$tmp/conf/sources.d/az.conf"
export AZ_KEY
C="-c $tmp/conf/dsrcd.conf"
INC="--cursor-field last_modified --incremental --format jsonl"

# first run: every blob, nested ones included (no delimiter), with the
# listing's properties
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

# Last-Modified has one-second resolution and ties are broken by name, so
# upload the next batch in a later second than the committed cursor
sleep 1.1
put d.txt "delta"
put a.txt "alpha, overwritten"
expect 0 "$DSRC" $C fetch az inc $INC -o "$tmp/run2.jsonl"
[ "$(names "$tmp/run2.jsonl" | tr '\n' ' ')" = "inc/a.txt inc/d.txt " ] && ok ||
    bad "second run: $(names "$tmp/run2.jsonl" | tr '\n' ' ')"

# nothing new: no rows
expect 0 "$DSRC" $C fetch az inc $INC -o "$tmp/run3.jsonl"
[ ! -s "$tmp/run3.jsonl" ] && ok || bad "third run: $(cat "$tmp/run3.jsonl")"

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

echo "azure_incremental: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
