#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# azure_blob.so fetching a 200 MB blob from a real Azurite Blob emulator
# through the dsrc binary: the file written is byte-identical to the source
# (its SHA-256 and the manifest's equal the source's) and dsrc's peak
# resident memory stays small (under 64 MB), since a blob is streamed to
# disk range by range, never held whole.  The blob is deterministic
# pseudo-random data, uploaded with Put Block / Put Block List by
# plugins/azure_blob/tests/fixture/azure.py.  Skipped (77) when azurite-blob is not
# installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/azure_blob/tests/fixture/azurite.sh"
command -v openssl >/dev/null 2>&1 || { echo "openssl missing"; exit 77; }
az_test dsrc-azbig
SIZE=209715200           # 200 MiB
RSS_LIMIT_KB=65536       # 64 MiB

# deterministic pseudo-random bytes: AES-CTR over zeros with a fixed key
openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f \
    -iv 00000000000000000000000000000000 </dev/zero 2>/dev/null |
    head -c "$SIZE" >"$tmp/src.bin"
[ "$(wc -c <"$tmp/src.bin")" -eq "$SIZE" ] || { echo "could not generate the source"; exit 99; }
want=$(sha256sum "$tmp/src.bin" | cut -d' ' -f1)
/usr/bin/python3 "$AZPY" put-blocks "$AZ_ENDPOINT" "$AZ_ACCOUNT" "$AZ_KEY" big huge.bin \
    "$tmp/src.bin" 8 || { echo "upload failed"; exit 99; }
rm -f "$tmp/src.bin"     # Azurite keeps its own copy: save the space

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
case $rss in
    ''|*[!0-9]*) bad "no peak RSS measured ($rss)" ;;
    *) if [ "$rss" -gt 0 ] && [ "$rss" -lt "$RSS_LIMIT_KB" ]; then ok
       else bad "peak RSS $rss kB (limit $RSS_LIMIT_KB kB)"; fi ;;
esac
echo "peak RSS of dsrc fetch: ${rss} kB"

got=$(sha256sum "$out" 2>/dev/null | cut -d' ' -f1)
[ "$got" = "$want" ] && ok || bad "SHA-256 of the fetched blob $got, source $want"
if /usr/bin/python3 -c '
import json, sys
m = json.load(open(sys.argv[1] + ".manifest.json"))
assert m["sha256"] == sys.argv[2] and m["bytes"] == int(sys.argv[3]), m
' "$out" "$want" "$SIZE"; then ok; else bad "manifest sha256/bytes"; fi

finish azure_big
