#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Column masking against a real PostgreSQL (tests/mask_lib.sh: the rows and
# the checks every SQL plugin's mask test shares): the fetch rule's mask in
# CSV and JSON Lines, in dsrc's process and in a worker process, and the
# same through dsrc fetch --mask: every mode, NULLs stay NULL, the hashes
# are Python's HMAC-SHA-256 under the key (so the same as from any other
# source); a masked CSV fetch is written by the host, not the server's COPY
# (neither over one connection nor two), while the same fetch unmasked
# still is; truncate on a text column is refused; no masked value is in
# clear in the files, manifests or the debug log.
# Skipped (77) when no PostgreSQL server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/mask_lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
lib_tmpdir dsrc-pgmask
pgdir=""
cleanup() { [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"; }
unset CREDENTIALS_DIRECTORY DSRC_ISOLATION

pg_start --no-replica
su_psql <<'SQL' || { echo "loading the test data failed"; exit 99; }
CREATE TABLE public.people (id int PRIMARY KEY, email text, phone varchar(20), born date,
  seen timestamp(2), card bigint);
INSERT INTO public.people VALUES
  (1, 'alice@example.com', '+1 555-123-4567', '1990-06-15', '2024-05-17 10:42:07.25', 4111111111111111),
  (2, NULL, NULL, NULL, NULL, NULL),
  (3, 'bob@example.org', '12', '1985-12-31', '2023-01-02 03:04:05', 42);
CREATE TABLE public.crowd AS
  SELECT g AS id, 'user' || g || '@example.com' AS email, repeat('x', 100) AS pad
  FROM generate_series(1, 100000) g;
GRANT SELECT ON public.people, public.crowd TO dsrc_test;
SQL
mask_keys
pg_dsrcd_conf "$tmp/conf" debug
echo "mask_key = \"$TOK1\";" >>"$tmp/conf/dsrcd.conf"
{
    pg_source_conf DSRC_PG_MASK_PASSWORD
    echo "fetch = ( { item = \"public/people\"; $MASK_RULE } );"
} >"$tmp/conf/sources.d/pg.conf"
# the same server without a rule
pg_source_conf DSRC_PG_MASK_PASSWORD | sed 's/^name = "pg";/name = "bare";/' \
    >"$tmp/conf/sources.d/bare.conf"
DSRC_PG_MASK_PASSWORD=$PG_PASSWORD
export DSRC_PG_MASK_PASSWORD
C="$DSRC -c $tmp/conf/dsrcd.conf"
: >"$tmp/log"

for iso in none process; do
    expect 0 env DSRC_ISOLATION=$iso $C -vv fetch pg public/people -f csv -o "$tmp/$iso.csv"
    cat "$tmp/err" >>"$tmp/log"
    mask_check_csv "$tmp/$iso.csv" "$MK1"
    mask_check_manifest "$tmp/$iso.csv.manifest.json" "$MK1"
    jcheck "$tmp/$iso.csv.manifest.json" "d['format'] == 'csv' and d['rows'] == 3"
    expect 0 env DSRC_ISOLATION=$iso $C -vv fetch pg public/people -f jsonl -o "$tmp/$iso.jsonl"
    cat "$tmp/err" >>"$tmp/log"
    mask_check_jsonl "$tmp/$iso.jsonl" "$MK1"
    mask_check_manifest "$tmp/$iso.jsonl.manifest.json" "$MK1"
    # the option, on a source without a rule
    expect 0 env DSRC_ISOLATION=$iso $C -vv fetch bare public/people -f csv --mask "$MASK_OPTION" \
        -o "$tmp/$iso-opt.csv"
    cat "$tmp/err" >>"$tmp/log"
    mask_check_csv "$tmp/$iso-opt.csv" "$MK1"
    mask_check_manifest "$tmp/$iso-opt.csv.manifest.json" "$MK1"
    mask_no_clear "$tmp/$iso.csv" "$tmp/$iso.csv.manifest.json" "$tmp/$iso.jsonl" \
        "$tmp/$iso.jsonl.manifest.json" "$tmp/$iso-opt.csv" "$tmp/$iso-opt.csv.manifest.json"
done
# unmasked, the server's own CSV is still used, over two connections for
# a large table; masked, never: dsrc writes the CSV from typed rows (which
# may themselves be read over two connections)
expect 0 $C -vv fetch bare public/people -f csv -o "$tmp/plain.csv"
jcheck "$tmp/plain.csv.manifest.json" "d['format'] == 'csv-native' and d['mask'] is None"
has "$tmp/plain.csv" "alice@example.com"
expect 0 $C -vv fetch bare public/crowd -f csv -o "$tmp/crowd.csv"
has "$tmp/err" "over 2 connections"
jcheck "$tmp/crowd.csv.manifest.json" "d['format'] == 'csv-native'"
expect 0 $C -vv fetch bare public/crowd -f csv --mask email=hash -o "$tmp/crowdm.csv"
jcheck "$tmp/crowdm.csv.manifest.json" "d['format'] == 'csv' and d['rows'] == 100000"
hasnt "$tmp/crowdm.csv" "@example.com"
has "$tmp/crowdm.csv" "7,$(mask_hmac "$MK1" user7@example.com),xxxx"
# with another key, other hashes
sed "s|^mask_key = .*|mask_key = \"$TOK2\";|" "$tmp/conf/dsrcd.conf" >"$tmp/conf/k2.conf"
expect 0 "$DSRC" -c "$tmp/conf/k2.conf" fetch pg public/people -f csv -o "$tmp/k2.csv"
mask_check_csv "$tmp/k2.csv" "$MK2"
# errors
expect 1 $C fetch bare public/people --mask email=truncate:year -o "$tmp/e1.csv"
has "$tmp/err" "mask: column 'email' of 'public/people' is text (text): truncate:year applies to date and timestamp columns only"
expect 1 $C fetch bare public/people --mask born=last4 -o "$tmp/e2.csv"
has "$tmp/err" "column 'born' of 'public/people' is a date/timestamp (date): last4 applies to text and integer columns only"
[ -e "$tmp/e1.csv" ] || [ -e "$tmp/e2.csv" ] && bad "a failed fetch left a file" || ok
mask_no_clear "$tmp/log"

finish pg_mask
