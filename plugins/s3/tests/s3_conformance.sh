#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrc conformance passes s3.so against a real s3rver emulator: an object
# store, its items raw bytes (the cases about columns, rows and cursors
# are skipped, saying so), with nothing but the source and with a quirks
# file naming the object and a bad option value.  Skipped (77) without
# s3rver or botocore.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/s3/tests/fixture/s3rver.sh"
s3_test dsrc-s3conf
expect_timeout=120
py() { /usr/bin/python3 "$S3PY" "$@" || { echo "s3.py $* failed"; exit 99; }; }
py mb "$S3_ENDPOINT" data
head -c 300000 /dev/urandom >"$tmp/big.bin"
printf 'hello\n' >"$tmp/a.txt"
py put "$S3_ENDPOINT" data big.bin "$tmp/big.bin"
py put "$S3_ENDPOINT" data dir/a.txt "$tmp/a.txt"
s3_conf
C="-c $tmp/conf/dsrcd.conf"
# in dsrc's process, then in a worker process (isolation = "process"),
# where the plugin's requests are signed by dsrc over the worker's socket
for iso in none process; do
    expect 0 env DSRC_ISOLATION=$iso "$DSRC" $C conformance s3
    grep '^FAIL' "$tmp/out" && bad "a case failed ($iso)" || ok
    for c in open ping list_root list_container list_stop describe describe_missing fetch_full \
        sink_stop cancel errors reopen; do
        has "$tmp/out" "PASS $c"
    done
    conformance_isolation $iso
done
printf 'container = "data";\nitem = "data/big.bin";\nbad_option = "page_size=0";\n' >"$tmp/q"
expect 0 "$DSRC" $C conformance s3 --quirks "$tmp/q"
has "$tmp/out" "PASS fetch_full"
has "$tmp/out" "PASS bad_option"
hasnt "$tmp/out" "Signature="
hasnt "$tmp/err" "Signature="
finish s3_conformance
