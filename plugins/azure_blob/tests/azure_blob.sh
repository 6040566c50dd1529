#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# azure_blob.so end to end against a real Azurite Blob emulator, through the
# dsrc binary: list (containers, blobs, virtual directories, paging with a
# small page size), describe (metadata, MD5), fetch (multi-range blob,
# 0-byte blob, odd names, Content-MD5 mismatch), Shared Key, connection
# string and SAS auth, and errors (wrong key, expired or under-privileged
# SAS, missing blob, unreachable endpoint) with no credential in any output.
# Seeding uses plugins/azure_blob/tests/fixture/azure.py, a signer independent of the
# plugin.  Skipped (77) when azurite-blob is not installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/azure_blob/tests/fixture/azurite.sh"
az_test dsrc-azure

# no credential in stdout or stderr of the last command
clean() {
    for s in "$AZ_KEY" "$AZ_BADKEY" "$AZ_SAS_SIG" "$AZ_OLDSAS_SIG"; do
        hasnt "$tmp/out" "$s"; hasnt "$tmp/err" "$s"
    done
}


BIG=3000123      # more than eleven 256 KiB ranges
AZ_BIG_COPY="$tmp/big.ref" /usr/bin/python3 "$AZPY" seed "$AZ_ENDPOINT" "$AZ_ACCOUNT" "$AZ_KEY" "$BIG" ||
    { echo "seeding failed"; exit 99; }
/usr/bin/python3 "$AZPY" set-md5 "$AZ_ENDPOINT" "$AZ_ACCOUNT" "$AZ_KEY" data badmd5.bin \
    "AAAAAAAAAAAAAAAAAAAAAA==" || { echo "seeding failed"; exit 99; }

AZ_BADKEY=$(printf 'not-the-account-key-at-all' | base64)
AZ_SAS=$(/usr/bin/python3 "$AZPY" sas "$AZ_ACCOUNT" "$AZ_KEY" rl 2099-01-01T00:00:00Z)
AZ_OLDSAS=$(/usr/bin/python3 "$AZPY" sas "$AZ_ACCOUNT" "$AZ_KEY" rl 2001-01-01T00:00:00Z)
AZ_LSAS=$(/usr/bin/python3 "$AZPY" sas "$AZ_ACCOUNT" "$AZ_KEY" l 2099-01-01T00:00:00Z)
AZ_SAS_SIG=${AZ_SAS##*sig=}
AZ_OLDSAS_SIG=${AZ_OLDSAS##*sig=}
AZ_CS="DefaultEndpointsProtocol=http;AccountName=$AZ_ACCOUNT;AccountKey=$AZ_KEY;BlobEndpoint=$AZ_ENDPOINT;"
export AZ_KEY AZ_BADKEY AZ_SAS AZ_OLDSAS AZ_LSAS AZ_CS
DOWN_PORT=$(az_free_port)

lib_conf "$top_builddir/plugins/azure_blob/.libs"
src() { # src NAME CONNECTION-BODY
    printf 'name = "%s";\ntype = "azure_blob";\nconnection = { %s };\n' "$1" "$2" \
        >"$tmp/conf/sources.d/$1.conf"
}
EP="account = \"$AZ_ACCOUNT\"; endpoint = \"$AZ_ENDPOINT\";"
src az "$EP account_key = \"env:AZ_KEY\"; page_size = 3; range_size = 262144;"
src cs "connection_string = \"env:AZ_CS\"; container = \"data\";"
src sas "$EP sas_token = \"env:AZ_SAS\";"
src oldsas "$EP sas_token = \"env:AZ_OLDSAS\";"
src lsas "$EP sas_token = \"env:AZ_LSAS\";"
src wrongkey "$EP account_key = \"env:AZ_BADKEY\";"
src down "account = \"$AZ_ACCOUNT\"; endpoint = \"http://127.0.0.1:$DOWN_PORT/$AZ_ACCOUNT\"; account_key = \"env:AZ_KEY\"; connect_timeout = \"2s\";"
C="-c $tmp/conf/dsrcd.conf"

# ping
expect 0 "$DSRC" $C test az;            has "$tmp/out" "Azurite"; clean
expect 0 "$DSRC" $C check-config

# list: containers, blobs and directories, paging (page_size 3)
expect 0 "$DSRC" $C --json ls az
has "$tmp/out" '"path": "data"'; has "$tmp/out" '"path": "empty"'; has "$tmp/out" '"kind": "container"'
expect 0 "$DSRC" $C --json ls az data
cp "$tmp/out" "$tmp/ls_data.json"
if /usr/bin/python3 - "$tmp/ls_data.json" <<'PY'
import json, sys
items = {i["path"]: i for i in json.load(open(sys.argv[1]))}
assert items["data/dir1"]["kind"] == "directory", items
assert items["data/page"]["kind"] == "directory", items
assert items["data/a.txt"]["kind"] == "blob" and items["data/a.txt"]["size_bytes"] == 12, items
assert items["data/zero.bin"]["size_bytes"] == 0, items
assert items["data/big.bin"]["size_bytes"] == 3000123, items
assert items["data/a.txt"]["mtime"], items
assert "text/plain" in items["data/a.txt"]["comment"] and "etag" in items["data/a.txt"]["comment"]
assert "data/with space \u00fcn\u00efc\u00f6de 100%25.txt" in items, items
assert "data/dir1/b.csv" not in items, "the delimiter must hide nested blobs"
assert len(items) == 8, sorted(items)
PY
then ok; else bad "ls data content"; fi
expect 0 "$DSRC" $C --json ls az data/page/
n=$(grep -c '"kind": "blob"' "$tmp/out"); [ "$n" -eq 8 ] && ok || bad "paging: $n of 8 blobs"
has "$tmp/out" '"path": "data/page/p00.txt"'; has "$tmp/out" '"path": "data/page/p07.txt"'
expect 0 "$DSRC" $C --json ls az data/dir1
has "$tmp/out" '"path": "data/dir1/b.csv"'; has "$tmp/out" '"path": "data/dir1/sub"'
expect 0 "$DSRC" $C --json ls az empty;    [ "$(tr -d ' \n' <"$tmp/out")" = "[]" ] && ok || bad "empty container: $(cat "$tmp/out")"
expect 0 "$DSRC" $C --json ls cs dir1
has "$tmp/out" '"path": "dir1/b.csv"'

# describe: properties, MD5, metadata
expect 0 "$DSRC" $C --json describe az data/a.txt
cp "$tmp/out" "$tmp/desc.json"
if /usr/bin/python3 - "$tmp/desc.json" <<'PY'
import base64, hashlib, json, sys
d = json.load(open(sys.argv[1]))
p = {k.lower(): v for k, v in d["properties"].items()}
assert d["kind"] == "blob" and d["size_bytes"] == 12, d
assert p["content_type"] == "text/plain", p
assert p["content_md5"] == base64.b64encode(hashlib.md5(b"hello azure\n").digest()).decode(), p
assert p["md5"] == hashlib.md5(b"hello azure\n").hexdigest(), p
assert p["blob_type"] == "BlockBlob" and p["etag"] and p["last_modified"] and p["creation_time"], p
assert p["meta.owner"] == "alice" and p["meta.project"] == "dsrc", p
PY
then ok; else bad "describe content"; cat "$tmp/desc.json"; fi
expect 0 "$DSRC" $C --json describe az data; has "$tmp/out" '"kind": "container"'

# fetch: a blob of many ranges, byte-identical, manifest sha256 right
expect 0 "$DSRC" $C fetch az data/big.bin --format raw -o "$tmp/big.bin"
cmp -s "$tmp/big.bin" "$tmp/big.ref" && ok || bad "big.bin differs from the source"
if /usr/bin/python3 -c '
import hashlib, json, sys
m = json.load(open(sys.argv[1] + ".manifest.json"))
data = open(sys.argv[1], "rb").read()
assert m["sha256"] == hashlib.sha256(data).hexdigest() and m["bytes"] == len(data) == 3000123, m
' "$tmp/big.bin"; then ok; else bad "big.bin manifest"; fi
expect 0 "$DSRC" $C fetch az data/zero.bin --format raw -o "$tmp/zero.bin"
[ -f "$tmp/zero.bin" ] && [ ! -s "$tmp/zero.bin" ] && ok || bad "0-byte blob"
# a '%' in a blob name is printed %25, and the printed path is what
# describe and fetch take; a '%' that is no escape is refused
expect 0 "$DSRC" $C fetch az "data/with space ünïcöde 100%25.txt" --format raw -o -
has "$tmp/out" "odd name"
expect 1 "$DSRC" $C fetch az "data/with space ünïcöde 100%.txt" --format raw -o -
has "$tmp/err" "'%.t' is not an escape"
expect 0 "$DSRC" $C --json describe az "data/with%20space ünïcöde 100%25.txt"
has "$tmp/out" '100%25.txt'
# round trip: every blob ls printed is described and fetched as printed
/usr/bin/python3 -c 'import json, sys
for i in json.load(open(sys.argv[1])):
    if i["kind"] == "blob" and not i["path"].endswith("badmd5.bin"):
        print(i["path"])' "$tmp/ls_data.json" >"$tmp/blobs"
[ -s "$tmp/blobs" ] && ok || bad "no blob to round-trip"
while IFS= read -r p; do
    expect 0 "$DSRC" $C --json describe az "$p"
    /usr/bin/python3 -c 'import json, sys
assert json.load(open(sys.argv[1]))["path"] == sys.argv[2]' "$tmp/out" "$p" && ok ||
        bad "describe '$p' gave another path"
    expect 0 "$DSRC" $C fetch az "$p" --format raw -o "$tmp/rt.bin"
    rm -f "$tmp"/rt.bin*
done <"$tmp/blobs"
expect 0 "$DSRC" $C fetch cs dir1/b.csv --format raw -o -; has "$tmp/out" "1,x"
# a stored MD5 that does not match: an error, and no file left behind
expect 1 "$DSRC" $C fetch az data/badmd5.bin --format raw -o "$tmp/badmd5.bin"
has "$tmp/err" "MD5 mismatch"
ls "$tmp"/badmd5.bin* >/dev/null 2>&1 && bad "partial file kept after an MD5 mismatch" || ok
expect 1 "$DSRC" $C fetch az data/a.txt --format jsonl -o -; has "$tmp/err" "--format raw"

# SAS: works; expired -> auth; under-privileged -> permission
expect 0 "$DSRC" $C fetch sas data/a.txt --format raw -o -; has "$tmp/out" "hello azure"; clean
expect 1 "$DSRC" $C --json test oldsas; has "$tmp/out" '"status": "auth"'; has "$tmp/out" "SAS"; clean
expect 1 "$DSRC" $C fetch lsas data/a.txt --format raw -o -
has "$tmp/err" "403 AuthorizationPermissionMismatch"; clean

# errors: wrong key, missing blob, unreachable
expect 1 "$DSRC" $C --json test wrongkey; has "$tmp/out" '"status": "auth"'; has "$tmp/out" '"code": "403"'; clean
expect 1 "$DSRC" $C ls wrongkey; clean
expect 1 "$DSRC" $C describe az data/nope.txt; has "$tmp/err" "404 BlobNotFound"
expect 1 "$DSRC" $C fetch az data/nope.txt --format raw -o "$tmp/nope"; has "$tmp/err" "404 BlobNotFound"
expect 1 "$DSRC" $C --json ls az nosuchcontainer
expect 75 "$DSRC" $C --json test down; has "$tmp/out" '"status": "unreachable"'; has "$tmp/out" '"retryable": true'; clean

finish azure_blob
