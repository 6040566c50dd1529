#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrc conformance passes azure_blob.so against a real Azurite Blob
# emulator: a blob store, its items raw bytes (the cases about columns,
# rows and cursors are skipped, saying so), with nothing but the source and
# with a quirks file naming the blob and a bad option value.  Skipped (77)
# when azurite-blob is not installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/azure_blob/tests/fixture/azurite.sh"
az_test dsrc-azconf
/usr/bin/python3 "$AZPY" seed "$AZ_ENDPOINT" "$AZ_ACCOUNT" "$AZ_KEY" 300000 ||
    { echo "seeding failed"; exit 99; }
export AZ_KEY
lib_conf "$top_builddir/plugins/azure_blob/.libs"
printf 'name = "az";\ntype = "azure_blob";\nconnection = { account = "%s"; endpoint = "%s"; account_key = "env:AZ_KEY"; };\n' \
    "$AZ_ACCOUNT" "$AZ_ENDPOINT" >"$tmp/conf/sources.d/az.conf"
C="-c $tmp/conf/dsrcd.conf"
# in dsrc's process, then in a worker process (isolation = "process")
for iso in none process; do
    expect 0 env DSRC_ISOLATION=$iso "$DSRC" $C conformance az
    grep '^FAIL' "$tmp/out" && bad "a case failed ($iso)" || ok
    for c in open ping list_root list_container list_stop describe describe_missing fetch_full \
        sink_stop cancel errors reopen; do
        has "$tmp/out" "PASS $c"
    done
    conformance_isolation $iso
    has "$tmp/out" "SKIP fetch_columns: 'data/"
    has "$tmp/out" "' has no columns: it is fetched as raw bytes"
done
printf 'container = "data";\nitem = "data/big.bin";\nbad_option = "page_size=0";\n' >"$tmp/q"
expect 0 "$DSRC" $C conformance az --quirks "$tmp/q"
has "$tmp/out" "PASS fetch_full"
has "$tmp/out" "PASS bad_option"
has "$tmp/out" "item 'data/big.bin' in 'data', 13 passed, 0 failed, 5 skipped"
hasnt "$tmp/out" "$AZ_KEY"
hasnt "$tmp/err" "$AZ_KEY"
finish azure_conformance
