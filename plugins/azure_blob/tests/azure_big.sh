#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# azure_blob.so fetching a 200 MB blob from a real Azurite Blob emulator
# through the dsrc binary, its Content-MD5 verified on the plugin's hashing
# thread while the host hashes (SHA-256) and writes the file on threads of
# its own: the file written is byte-identical to the source (compared byte
# for byte; the manifest's SHA-256 and size equal the source's) and dsrc's
# peak resident memory stays small (under 64 MB; not checked under
# AddressSanitizer), since a blob is streamed
# to disk range by range, never held whole.  The size is not a whole number
# of MiB, so the last staging buffer of each thread is a partial one.  Then
# what a failure leaves, over that good file:
#   - dsrc killed with SIGKILL in the middle of a fetch: the file under the
#     final name is still the whole older one (no partial file put in place),
#     and the dead writer's temporary file is removed by the next fetch;
#   - the blob's stored Content-MD5 replaced by the MD5 of other bytes: the
#     fetch fails (exit 1, "Content-MD5 mismatch"), the older file and its
#     manifest are untouched and no temporary file is left.
# The blob is deterministic pseudo-random data, uploaded with Put Block /
# Put Block List (with its Content-MD5) by
# plugins/azure_blob/tests/fixture/azure.py.  Skipped (77) when azurite-blob
# is not installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/azure_blob/tests/fixture/azurite.sh"
command -v openssl >/dev/null 2>&1 || { echo "openssl missing"; exit 77; }
az_test dsrc-azbig
SIZE=209719297           # 200 MiB and 4097 bytes
RSS_LIMIT_KB=65536       # 64 MiB

# deterministic pseudo-random bytes: AES-CTR over zeros with a fixed key
openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f \
    -iv 00000000000000000000000000000000 </dev/zero 2>/dev/null |
    head -c "$SIZE" >"$tmp/src.bin"
[ "$(wc -c <"$tmp/src.bin")" -eq "$SIZE" ] || { echo "could not generate the source"; exit 99; }
want=$(sha256sum "$tmp/src.bin" | cut -d' ' -f1)
/usr/bin/python3 "$AZPY" put-blocks "$AZ_ENDPOINT" "$AZ_ACCOUNT" "$AZ_KEY" big huge.bin \
    "$tmp/src.bin" 8 || { echo "upload failed"; exit 99; }

export AZ_KEY
lib_conf "$top_builddir/plugins/azure_blob/.libs"
cat >"$tmp/conf/sources.d/az.conf" <<EOF2
name = "az";
type = "azure_blob";
connection = { account = "$AZ_ACCOUNT"; endpoint = "$AZ_ENDPOINT"; account_key = "env:AZ_KEY"; };
EOF2

# fetch, measuring the peak RSS: GNU time when installed, else VmHWM
# sampled from /proc while dsrc runs (a lower bound, sampled every 50 ms)
out="$tmp/huge.bin"
if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$tmp/rss" "$DSRC" -c "$tmp/conf/dsrcd.conf" \
        fetch az big/huge.bin --format raw -o "$out" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    rss=$(tail -n 1 "$tmp/rss")
else
    "$DSRC" -c "$tmp/conf/dsrcd.conf" fetch az big/huge.bin --format raw -o "$out" \
        >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    rss=0
    while kill -0 "$pid" 2>/dev/null; do
        v=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$pid/status" 2>/dev/null)
        [ -n "$v" ] && [ "$v" -gt "$rss" ] && rss=$v
        sleep 0.05
    done
    wait "$pid"
    rc=$?
fi
if [ "$rc" -eq 0 ]; then ok; else bad "fetch exited $rc"; sed 's/^/  err: /' "$tmp/err" | head -20; fi
if lib_asan "$DSRC"; then
    # AddressSanitizer keeps freed memory in quarantine and adds its
    # shadow: its RSS says nothing of dsrc's; the optimised build (the
    # packages' test run) checks it
    echo "peak RSS not checked (AddressSanitizer build)"
else
    case $rss in
        ''|*[!0-9]*) bad "no peak RSS measured ($rss)" ;;
        *) if [ "$rss" -gt 0 ] && [ "$rss" -lt "$RSS_LIMIT_KB" ]; then ok
           else bad "peak RSS $rss kB (limit $RSS_LIMIT_KB kB)"; fi ;;
    esac
fi
echo "peak RSS of dsrc fetch: ${rss} kB"

cmp -s "$out" "$tmp/src.bin" && ok || bad "the fetched blob differs from the source"
got=$(sha256sum "$out" 2>/dev/null | cut -d' ' -f1)
[ "$got" = "$want" ] && ok || bad "SHA-256 of the fetched blob $got, source $want"
if /usr/bin/python3 -c '
import json, sys
m = json.load(open(sys.argv[1] + ".manifest.json"))
assert m["sha256"] == sys.argv[2] and m["bytes"] == int(sys.argv[3]), m
' "$out" "$want" "$SIZE"; then ok; else bad "manifest sha256/bytes"; fi

# the fetch above verified a Content-MD5: the blob carries one
"$DSRC" -c "$tmp/conf/dsrcd.conf" describe az big/huge.bin >"$tmp/describe.out" 2>&1
has "$tmp/describe.out" "content_md5:"

# tmp_of NAME: the temporary files of a writer of NAME in $tmp
tmp_of() { ls -a "$tmp" | grep "^\.$1\..*\.tmp$"; }
manifest_before=$(cat "$out.manifest.json")

# SIGKILL in the middle of a fetch over the good file
"$DSRC" -c "$tmp/conf/dsrcd.conf" fetch az big/huge.bin --format raw -o "$out" \
    >/dev/null 2>"$tmp/kill.err" &
pid=$!
n=0 size=0
while [ "$size" -lt 8388608 ] && [ $n -lt 3000 ] && kill -0 "$pid" 2>/dev/null; do
    t=$(tmp_of huge.bin | head -n 1)
    [ -n "$t" ] && size=$(stat -c %s "$tmp/$t" 2>/dev/null || echo 0)
    sleep 0.02
    n=$((n + 1))
done
if kill -KILL "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null
    [ "$size" -ge 8388608 ] && ok || bad "killed before 8 MiB were written ($size bytes)"
    [ -n "$(tmp_of huge.bin)" ] && ok || bad "SIGKILL left no temporary file to sweep"
else
    bad "the fetch ended before it could be killed"
fi
cmp -s "$out" "$tmp/src.bin" && ok || bad "after SIGKILL the file under its final name changed"
[ "$(cat "$out.manifest.json")" = "$manifest_before" ] && ok ||
    bad "after SIGKILL the manifest changed"

# a stored Content-MD5 of other bytes: the fetch fails and leaves nothing
other=$(printf 'other bytes' | openssl dgst -md5 -binary | base64)
/usr/bin/python3 "$AZPY" set-md5 "$AZ_ENDPOINT" "$AZ_ACCOUNT" "$AZ_KEY" big huge.bin "$other" ||
    { echo "set-md5 failed"; exit 99; }
"$DSRC" -c "$tmp/conf/dsrcd.conf" fetch az big/huge.bin --format raw -o "$out" \
    >/dev/null 2>"$tmp/md5.err"
rc=$?
[ "$rc" -eq 1 ] && ok || bad "a wrong Content-MD5: exit $rc, wanted 1"
has "$tmp/md5.err" "Content-MD5 mismatch"
cmp -s "$out" "$tmp/src.bin" && ok || bad "a failed fetch changed the file under its final name"
[ "$(cat "$out.manifest.json")" = "$manifest_before" ] && ok ||
    bad "a failed fetch changed the manifest"
[ -z "$(tmp_of huge.bin)" ] && ok || { bad "temporary files left:"; tmp_of huge.bin; }

finish azure_big
