#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# s3.so fetching a 200 MiB object from a real s3rver emulator through the
# dsrc binary: the file written is byte-identical to the source (its
# SHA-256 and the manifest's equal the source's, the ETag's MD5 verified on
# the way) and dsrc's peak resident memory (GNU time) stays under 64 MiB,
# since the object is streamed to disk range by range.  Skipped (77)
# without s3rver, botocore, openssl or /usr/bin/time.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/s3/tests/fixture/s3rver.sh"
command -v openssl >/dev/null 2>&1 || { echo "openssl missing"; exit 77; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing"; exit 77; }
s3_test dsrc-s3big
SIZE=209715200           # 200 MiB
RSS_LIMIT_KB=65536       # 64 MiB

# deterministic pseudo-random bytes: AES-CTR over zeros with a fixed key
openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f \
    -iv 00000000000000000000000000000000 </dev/zero 2>/dev/null |
    head -c "$SIZE" >"$tmp/src.bin"
[ "$(wc -c <"$tmp/src.bin")" -eq "$SIZE" ] || { echo "could not generate the source"; exit 99; }
want=$(sha256sum "$tmp/src.bin" | cut -d' ' -f1)
/usr/bin/python3 "$S3PY" mb "$S3_ENDPOINT" big &&
    /usr/bin/python3 "$S3PY" put "$S3_ENDPOINT" big huge.bin "$tmp/src.bin" ||
    { echo "upload failed"; exit 99; }
rm -f "$tmp/src.bin"     # s3rver keeps its own copy: save the space
s3_conf

out="$tmp/huge.bin"
/usr/bin/time -f '%M' -o "$tmp/rss" "$DSRC" -c "$tmp/conf/dsrcd.conf" \
    fetch s3 big/huge.bin --format raw -o "$out" >"$tmp/out" 2>"$tmp/err"
rc=$?
rss=$(tail -n 1 "$tmp/rss")
if [ "$rc" -eq 0 ]; then ok; else bad "fetch exited $rc"; sed 's/^/  err: /' "$tmp/err" | head -20; fi
case $rss in
    ''|*[!0-9]*) bad "no peak RSS measured ($rss)" ;;
    *) if [ "$rss" -gt 0 ] && [ "$rss" -lt "$RSS_LIMIT_KB" ]; then ok
       else bad "peak RSS $rss kB (limit $RSS_LIMIT_KB kB)"; fi ;;
esac
echo "peak RSS of dsrc fetch: ${rss} kB"
got=$(sha256sum "$out" 2>/dev/null | cut -d' ' -f1)
[ "$got" = "$want" ] && ok || bad "SHA-256 of the fetched object $got, source $want"
jcheck "$out.manifest.json" 'd["sha256"] == "'"$want"'" and d["bytes"] == '"$SIZE"
finish s3_big
