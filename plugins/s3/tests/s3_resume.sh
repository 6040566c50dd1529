#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# s3.so resumes a fetch after a dropped connection: a proxy in front of a
# real s3rver emulator (azure_blob's cut_proxy.py, which cuts the first
# ranged GET answers after a few bytes) drops two answers; `dsrc fetch`
# must resume from the last byte received (the proxy's log shows the
# resumed Range), pinned to the ETag, and write a file byte-identical to
# the source, whose ETag (MD5) is verified.  With max_retries = 0 the same
# cut is a retryable error (exit 75) and no file is left behind.  Skipped
# (77) without s3rver or botocore.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/s3/tests/fixture/s3rver.sh"
s3_test dsrc-s3res
PX_PID=
cleanup() { [ -n "$PX_PID" ] && kill "$PX_PID" 2>/dev/null; s3_stop; }
start_proxy() { # start_proxy CUTS
    [ -n "$PX_PID" ] && { kill "$PX_PID" 2>/dev/null; wait "$PX_PID" 2>/dev/null; }
    rm -f "$tmp/pxport"; : >"$tmp/pxlog"
    /usr/bin/python3 "$top_srcdir/plugins/azure_blob/tests/fixture/cut_proxy.py" \
        "$tmp/pxport" "$tmp/pxlog" "$S3_PORT" 100000 "$1" &
    PX_PID=$!
    i=0
    while [ ! -s "$tmp/pxport" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$tmp/pxport" ] || { echo "proxy did not start"; exit 99; }
    PX_PORT=$(cat "$tmp/pxport")
}
head -c 1500000 /dev/urandom >"$tmp/src.bin"
/usr/bin/python3 "$S3PY" mb "$S3_ENDPOINT" res && \
    /usr/bin/python3 "$S3PY" put "$S3_ENDPOINT" res blob.bin "$tmp/src.bin" ||
    { echo "upload failed"; exit 99; }
src() { # src NAME EXTRA
    printf 'name = "%s";\ntype = "s3";\nconnection = { endpoint = "http://127.0.0.1:%s"; region = "us-east-1"; range_size = 1048576; retry_backoff = "50ms"; %s };\n' \
        "$1" "$PX_PORT" "$2" >"$tmp/conf/sources.d/$1.conf"
}
C="-c $tmp/conf/dsrcd.conf"

# two cuts (the first range twice): resumed at byte 100000, then 200000
start_proxy 2
src s3 ""
expect 0 "$DSRC" $C fetch s3 res/blob.bin --format raw -o "$tmp/got.bin"
cmp -s "$tmp/got.bin" "$tmp/src.bin" && ok || bad "the resumed fetch differs from the source"
[ "$(grep -c ' cut$' "$tmp/pxlog")" -eq 2 ] && ok || bad "cuts: $(cat "$tmp/pxlog")"
has "$tmp/pxlog" "GET bytes=0-1048575 cut"
has "$tmp/pxlog" "GET bytes=100000-1148575 cut"
has "$tmp/pxlog" "GET bytes=200000-1248575"
has "$tmp/pxlog" "GET bytes=1248576-1499999"
# no resumption allowed: a retryable error (exit 75), no file
start_proxy 1
src noretry "max_retries = 0;"
expect 75 "$DSRC" $C fetch noretry res/blob.bin --format raw -o "$tmp/no.bin"
has "$tmp/err" "transfer closed with"
ls "$tmp"/no.bin* >/dev/null 2>&1 && bad "partial file kept" || ok
finish s3_resume
