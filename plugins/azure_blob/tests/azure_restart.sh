#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# azure_blob.so when the service goes away in the middle of a download: a
# real Azurite emulator is killed (SIGKILL: a graceful stop would wait for
# the answer in flight) while `dsrc fetch` is part-way through a
# 48 MiB blob (32 MiB ranges, far more than the socket buffers hold, so the
# range in flight is cut; Content-MD5 verified on the worker thread), and
# started again on the same port and data directory.
#   - with retries left, the fetch resumes from the last byte received and
#     the bytes are identical to the source;
#   - with too few retries, the fetch fails with exit status 75 (a retryable
#     error, EX_TEMPFAIL), and once Azurite is back the same fetch succeeds
#     with identical bytes and no leftover files;
#   - a fetch into a file while Azurite is down exits 75 and leaves no file;
#   - a wrong stored Content-MD5 on this large blob is caught (exit 1).
# The transfer is held at a known point by reading dsrc's standard output
# through plugins/azure_blob/tests/fixture/pause_reader.py.  Skipped (77) when
# azurite-blob is not installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
READER="$top_srcdir/plugins/azure_blob/tests/fixture/pause_reader.py"
. "$top_srcdir/plugins/azure_blob/tests/fixture/azurite.sh"
az_test dsrc-azrst
wait_file() { # wait_file FILE: up to 60 s
    i=0
    while [ ! -e "$1" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    [ -e "$1" ]
}

head -c 50331648 /dev/urandom >"$tmp/src.bin"
/usr/bin/python3 "$AZPY" put "$AZ_ENDPOINT" "$AZ_ACCOUNT" "$AZ_KEY" res blob.bin "$tmp/src.bin" ||
    { echo "upload failed"; exit 99; }
# a clean stop and start writes Azurite's metadata to disk, so that the
# kills below lose nothing the upload stored
az_stop
az_start "$tmp/az" "$AZ_PORT" >"$tmp/restart.out" || { cat "$tmp/restart.out"; exit 99; }
export AZ_KEY

lib_conf "$top_builddir/plugins/azure_blob/.libs"
src() { # src NAME EXTRA
    printf 'name = "%s";\ntype = "azure_blob";\nconnection = { account = "%s"; endpoint = "%s"; account_key = "env:AZ_KEY"; range_size = 33554432; %s };\n' \
        "$1" "$AZ_ACCOUNT" "$AZ_ENDPOINT" "$2" >"$tmp/conf/sources.d/$1.conf"
}
src az 'max_retries = 8; retry_backoff = "250ms";'
src fragile 'max_retries = 1; retry_backoff = "50ms";'
C="-c $tmp/conf/dsrcd.conf"

# fetch_paused NAME TAG: start `dsrc fetch NAME` to standard output, held
# after 3 MiB; its exit status lands in $tmp/TAG.rc
fetch_paused() {
    rm -f "$tmp/$2.paused" "$tmp/$2.go"
    ( "$DSRC" -v $C fetch "$1" res/blob.bin --format raw -o - 2>"$tmp/$2.err"
      echo $? >"$tmp/$2.rc" ) |
        /usr/bin/python3 "$READER" "$tmp/$2.bin" 3145728 "$tmp/$2.paused" "$tmp/$2.go" &
    FETCH_PID=$!
    wait_file "$tmp/$2.paused" || { bad "$2: the transfer never reached 3 MiB"; return 1; }
}

# 1. stopped and restarted in the middle: the fetch resumes
if fetch_paused az resume; then
    az_kill
    sleep 0.5
    az_start "$tmp/az" "$AZ_PORT" >"$tmp/restart.out" || { cat "$tmp/restart.out"; exit 99; }
    touch "$tmp/resume.go"
    wait "$FETCH_PID"
    [ "$(cat "$tmp/resume.rc" 2>/dev/null)" = 0 ] && ok ||
        { bad "resume: exit $(cat "$tmp/resume.rc" 2>/dev/null)"; sed 's/^/  err: /' "$tmp/resume.err"; }
    cmp -s "$tmp/resume.bin" "$tmp/src.bin" && ok || bad "resume: the bytes differ from the source"
    has "$tmp/resume.err" "resuming"
fi

# 2. stopped for longer than the retries last: a retryable failure (75)...
if fetch_paused fragile fail; then
    az_kill
    touch "$tmp/fail.go"
    wait "$FETCH_PID"
    [ "$(cat "$tmp/fail.rc" 2>/dev/null)" = 75 ] && ok ||
        { bad "fail: exit $(cat "$tmp/fail.rc" 2>/dev/null), wanted 75"; sed 's/^/  err: /' "$tmp/fail.err"; }
    has "$tmp/fail.err" "fetch 'res/blob.bin'"
    cmp -s "$tmp/fail.bin" "$tmp/src.bin" && bad "fail: a failed fetch delivered every byte" || ok

    # ... a fetch into a file while the service is down: 75, no file ...
    "$DSRC" $C fetch fragile res/blob.bin --format raw -o "$tmp/down.bin" 2>"$tmp/down.err"
    rc=$?
    [ "$rc" -eq 75 ] && ok || { bad "down: exit $rc, wanted 75"; sed 's/^/  err: /' "$tmp/down.err"; }
    ls "$tmp"/down.bin* "$tmp"/.down.bin* >/dev/null 2>&1 && bad "down: a file was left behind" || ok

    # ... and once it is back, the same fetch succeeds with the same bytes
    az_start "$tmp/az" "$AZ_PORT" >"$tmp/restart.out" || { cat "$tmp/restart.out"; exit 99; }
    "$DSRC" $C fetch fragile res/blob.bin --format raw -o "$tmp/again.bin" >"$tmp/again.out" 2>&1
    rc=$?
    [ "$rc" -eq 0 ] && ok || { bad "again: exit $rc"; sed 's/^/  | /' "$tmp/again.out"; }
    cmp -s "$tmp/again.bin" "$tmp/src.bin" && ok || bad "again: the bytes differ from the source"
    ls -a "$tmp" | grep -q '^\.again\.bin\..*\.tmp$' && bad "again: a temporary file was left" || ok
fi

# the digest computed on the worker thread catches a wrong stored MD5 too
/usr/bin/python3 "$AZPY" set-md5 "$AZ_ENDPOINT" "$AZ_ACCOUNT" "$AZ_KEY" res blob.bin \
    "AAAAAAAAAAAAAAAAAAAAAA==" || { echo "set-md5 failed"; exit 99; }
"$DSRC" $C fetch az res/blob.bin --format raw -o "$tmp/badmd5.bin" 2>"$tmp/badmd5.err"
rc=$?
[ "$rc" -eq 1 ] && ok || bad "bad MD5: exit $rc, wanted 1"
has "$tmp/badmd5.err" "Content-MD5 mismatch"
ls -a "$tmp" | grep -q 'badmd5\.bin' && bad "bad MD5: a file was left behind" || ok

finish azure_restart
