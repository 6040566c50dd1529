#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Column masking against a real MariaDB server (tests/mask_lib.sh: the rows
# and the checks every SQL plugin's mask test shares): the fetch rule's
# mask in CSV and JSON Lines, in dsrc's process and in a worker process,
# and the same through dsrc fetch --mask: every mode, NULLs stay NULL, the
# hashes are Python's HMAC-SHA-256 under the key (so the same as from any
# other source), another key gives other hashes; truncate on a text column
# is refused; no masked value is in clear in the files, manifests or the
# debug log.  The server comes from plugins/mysql/tests/fixture/
# mariadb-fixture (skipped, 77, when none is installed).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/mask_lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/mysql/tests/fixture/mariadb-fixture"
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
lib_tmpdir dsrc-mymask
mdir=""
cleanup() { [ -n "$mdir" ] && "$FIXTURE" stop "$mdir" >/dev/null 2>&1; }
unset CREDENTIALS_DIRECTORY DSRC_ISOLATION

mdir=$("$FIXTURE" start --no-replica --owner $$)
rc=$?
if [ "$rc" -eq 77 ]; then mdir=""; exit 77; fi
[ "$rc" -eq 0 ] && [ -n "$mdir" ] || { mdir=""; echo "the MariaDB fixture did not start"; exit 99; }
. "$mdir/fixture.env"
PW=Mask-$$-pw
"$FIXTURE" sql "$mdir" primary <<EOF || { echo "loading the test data failed"; exit 99; }
CREATE DATABASE shop;
CREATE TABLE shop.people (id INT PRIMARY KEY, email VARCHAR(80), phone VARCHAR(20), born DATE,
  seen DATETIME(2), card BIGINT);
INSERT INTO shop.people VALUES
  (1, 'alice@example.com', '+1 555-123-4567', '1990-06-15', '2024-05-17 10:42:07.25', 4111111111111111),
  (2, NULL, NULL, NULL, NULL, NULL),
  (3, 'bob@example.org', '12', '1985-12-31', '2023-01-02 03:04:05', 42);
CREATE USER 'mask_reader'@'%' IDENTIFIED BY '$PW';
GRANT SELECT ON shop.* TO 'mask_reader'@'%';
EOF
mask_keys
lib_conf "$top_builddir/plugins/mysql/.libs" 'log_level = "debug";' "mask_key = \"$TOK1\";"
C="$DSRC -c $tmp/conf/dsrcd.conf"
my_source() {
    cat <<EOF
name = "$1";
type = "mysql";
connection = {
    host = "127.0.0.1";
    port = $MARIADB_PRIMARY_PORT;
    database = "shop";
    user = "mask_reader";
    password = "env:DSRC_MY_MASK_PASSWORD";
};
tls = { mode = "verify-ca"; ca = "$MARIADB_CA"; };
EOF
}
{ my_source my; echo "fetch = ( { item = \"shop/people\"; $MASK_RULE } );"; } \
    >"$tmp/conf/sources.d/my.conf"
my_source bare >"$tmp/conf/sources.d/bare.conf"
DSRC_MY_MASK_PASSWORD=$PW
export DSRC_MY_MASK_PASSWORD
: >"$tmp/log"

for iso in none process; do
    expect 0 env DSRC_ISOLATION=$iso $C -vv fetch my shop/people -f csv -o "$tmp/$iso.csv"
    cat "$tmp/err" >>"$tmp/log"
    mask_check_csv "$tmp/$iso.csv" "$MK1"
    mask_check_manifest "$tmp/$iso.csv.manifest.json" "$MK1"
    jcheck "$tmp/$iso.csv.manifest.json" "d['format'] == 'csv' and d['rows'] == 3"
    expect 0 env DSRC_ISOLATION=$iso $C -vv fetch my shop/people -f jsonl -o "$tmp/$iso.jsonl"
    cat "$tmp/err" >>"$tmp/log"
    mask_check_jsonl "$tmp/$iso.jsonl" "$MK1"
    mask_check_manifest "$tmp/$iso.jsonl.manifest.json" "$MK1"
    expect 0 env DSRC_ISOLATION=$iso $C -vv fetch bare shop/people -f jsonl --mask "$MASK_OPTION" \
        -o "$tmp/$iso-opt.jsonl"
    cat "$tmp/err" >>"$tmp/log"
    mask_check_jsonl "$tmp/$iso-opt.jsonl" "$MK1"
    mask_check_manifest "$tmp/$iso-opt.jsonl.manifest.json" "$MK1"
    mask_no_clear "$tmp/$iso.csv" "$tmp/$iso.csv.manifest.json" "$tmp/$iso.jsonl" \
        "$tmp/$iso.jsonl.manifest.json" "$tmp/$iso-opt.jsonl" "$tmp/$iso-opt.jsonl.manifest.json"
done
# unmasked, the values are there (the checks above can fail)
expect 0 $C fetch bare shop/people -f csv -o "$tmp/plain.csv"
has "$tmp/plain.csv" "alice@example.com"
jcheck "$tmp/plain.csv.manifest.json" "d['mask'] is None"
sed "s|^mask_key = .*|mask_key = \"$TOK2\";|" "$tmp/conf/dsrcd.conf" >"$tmp/conf/k2.conf"
expect 0 "$DSRC" -c "$tmp/conf/k2.conf" fetch my shop/people -f csv -o "$tmp/k2.csv"
mask_check_csv "$tmp/k2.csv" "$MK2"
expect 1 $C fetch bare shop/people --mask phone=truncate:month -o "$tmp/e1.csv"
has "$tmp/err" "mask: column 'phone' of 'shop/people' is text"
has "$tmp/err" "truncate:month applies to date and timestamp columns only"
[ -e "$tmp/e1.csv" ] && bad "a failed fetch left a file" || ok
mask_no_clear "$tmp/log"
grep -rqF "$PW" "$tmp/log" && bad "password leaked" || ok

finish mysql_mask
